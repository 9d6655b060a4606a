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
    DecodeError,
    Decoder,
    Disconnect,
    Disconnected,
    LocalProtocolError,
    Message,
    MqttError,
    PingReq,
    PingResp,
    Properties,
    PubAck,
    PubComp,
    PubRec,
    PubRel,
    Publish,
    PublishDropped,
    Published,
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
    decode,
    encode,
    packet_from_dict,
)
from ._native import Event as Event
from ._native import Packet as Packet

__all__ = [
    "Auth",
    "Client",
    "Connack",
    "Connect",
    "Connected",
    "DecodeError",
    "Decoder",
    "Disconnect",
    "Disconnected",
    "Event",
    "LocalProtocolError",
    "Message",
    "MqttError",
    "Packet",
    "PingReq",
    "PingResp",
    "Properties",
    "PubAck",
    "PubComp",
    "PubRec",
    "PubRel",
    "Publish",
    "PublishDropped",
    "Published",
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
    "__version__",
    "decode",
    "encode",
    "packet_from_dict",
]
