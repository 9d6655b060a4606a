"""mqtt_engine: a sans-IO MQTT 3.1.1 / 5.0 engine.

Bytes and the current time go in; bytes to send, events and the next deadline
come out. The engine never opens a socket and never reads a clock, so the same
`Client` runs under asyncio (`mqtt_engine.aio`), blocking sockets
(`mqtt_engine.sync`) or a test that jumps time.

- The codec: `decode`, `encode`, `Decoder`, `packet_from_dict` and the packet
  classes (`Connect`, `Connack`, `Publish`, ... `Auth`) with `to_dict()` in the
  JSON form shared by every binding.
- The sans-IO `Client` and its events (`Connected`, `Message`, `Published`, ...),
  usable with `match`.
- Request/response (`Client.request`, `serve`, `respond`, `call_device`,
  `serve_device`) and MCP over MQTT (`McpServer`, `McpClient`).
- Exceptions: `MqttError` > `LocalProtocolError`, `RemoteProtocolError` >
  `DecodeError`, each with the MQTT reason code where one applies.
"""

from ._native import (
    Auth,
    Client,
    Connack,
    Connect,
    Connected,
    decode,
    DecodeError,
    Decoder,
    Disconnect,
    Disconnected,
    encode,
    JsonRpcError,
    LocalProtocolError,
    McpCallDone,
    McpClient,
    McpClientNotification,
    McpClientOffline,
    McpClientRequest,
    McpClientResponse,
    McpDiscoveryRefused,
    McpInitialize,
    McpInitialized,
    McpOnline,
    McpServer,
    McpServerNotification,
    McpServerOffline,
    McpServerOnline,
    McpServerRequest,
    McpSessionClosed,
    McpStartFailed,
    Message,
    MqttError,
    packet_from_dict,
    PingReq,
    PingResp,
    Properties,
    PubAck,
    PubComp,
    Publish,
    PublishDropped,
    Published,
    PubRec,
    PubRel,
    RemoteProtocolError,
    Request,
    RequestDone,
    Response,
    Suback,
    Subscribe,
    Subscribed,
    Subscription,
    Unsuback,
    Unsubscribe,
    Unsubscribed,
    Will,
    __version__,
)
from ._native import Event as Event
from ._native import McpClientEvent as McpClientEvent
from ._native import McpServerEvent as McpServerEvent
from ._native import Packet as Packet

__all__ = [
    "__version__",
    "Auth",
    "Client",
    "Connack",
    "Connect",
    "Connected",
    "decode",
    "DecodeError",
    "Decoder",
    "Disconnect",
    "Disconnected",
    "encode",
    "Event",
    "JsonRpcError",
    "LocalProtocolError",
    "McpCallDone",
    "McpClient",
    "McpClientEvent",
    "McpClientNotification",
    "McpClientOffline",
    "McpClientRequest",
    "McpClientResponse",
    "McpDiscoveryRefused",
    "McpInitialize",
    "McpInitialized",
    "McpOnline",
    "McpServer",
    "McpServerEvent",
    "McpServerNotification",
    "McpServerOffline",
    "McpServerOnline",
    "McpServerRequest",
    "McpSessionClosed",
    "McpStartFailed",
    "Message",
    "MqttError",
    "Packet",
    "packet_from_dict",
    "PingReq",
    "PingResp",
    "Properties",
    "PubAck",
    "PubComp",
    "Publish",
    "PublishDropped",
    "Published",
    "PubRec",
    "PubRel",
    "RemoteProtocolError",
    "Request",
    "RequestDone",
    "Response",
    "Suback",
    "Subscribe",
    "Subscribed",
    "Subscription",
    "Unsuback",
    "Unsubscribe",
    "Unsubscribed",
    "Will",
]

_SUBMODULES = ("aio", "sync", "mcp", "mcp_sdk")


def __getattr__(name: str) -> object:
    """Imports the adapters on first use, so that ``import mqtt_engine`` then
    ``mqtt_engine.aio.connect(...)`` works without importing asyncio, threads
    or the MCP SDK for users of the sans-IO core alone."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

