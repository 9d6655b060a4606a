"""MCP over MQTT for the official MCP Python SDK (PyPI ``mcp``).

A transport, in the SDK's sense, hands a session a pair of anyio memory
streams of :class:`mcp.shared.message.SessionMessage`. These give them over
MQTT, through :mod:`mqtt_engine.mcp` (the EMQX "MCP over MQTT" topics), so an
SDK client reaches an SDK server, or a Rust ``McpServer``, and the other way
round.

Client::

    from mcp import ClientSession
    from mqtt_engine.mcp_sdk import client_transport

    async with client_transport("mqtt://127.0.0.1:1883", "demo/calculator") as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("add", {"a": 1, "b": 2})

Server (a low-level ``mcp.server.lowlevel.Server`` or a ``FastMCP``)::

    from mcp.server.fastmcp import FastMCP
    from mqtt_engine.mcp_sdk import serve

    app = FastMCP("calculator")

    @app.tool()
    def add(a: float, b: float) -> float:
        return a + b

    await serve(app, "mqtt://127.0.0.1:1883", server_id="calc-1", server_name="demo/calculator")

How messages map onto MQTT:

- The client transport connects as an MCP client (a fresh client id unless
  given), waits for an instance of ``server_name`` to announce itself
  (retained presence), subscribes that instance's RPC topic (No Local) and
  capability topic, then yields the streams. The SDK's ``initialize`` request
  is published to the server's control topic
  ``$mcp-server/{server-id}/{server-name}``; every other message of the SDK
  (``notifications/initialized``, requests, responses, notifications) to
  ``$mcp-rpc/{client-id}/{server-id}/{server-name}``. Whatever arrives on the
  RPC and capability topics goes to the SDK as it is: JSON-RPC ids are the
  SDK's own, so correlation stays with the SDK. When the server goes offline
  (its presence is cleared, or it sends ``notifications/disconnected``), the
  read stream ends, so the SDK fails pending requests at once. Leaving the
  block sends ``notifications/disconnected`` and disconnects.
- The server side connects as an MCP server instance, announces a retained
  presence and runs one SDK ``Server.run`` per MCP client that initializes:
  the client's ``initialize`` (from the control topic) is the first message
  of its session, then everything on that client's RPC topic. Replies and
  server notifications and requests go back on the same RPC topic. A client
  that says ``notifications/disconnected`` (or whose will does) ends its
  session. Stopping the server clears its presence.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Optional, Union

try:
    import anyio
    from anyio.abc import TaskStatus
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from mcp.server.fastmcp import FastMCP
    from mcp.server.lowlevel import Server
    from mcp.shared.message import SessionMessage
    from mcp.types import JSONRPCMessage
except ImportError as e:  # no SDK, or its 2.x line (FastMCP and the streams changed there)
    raise ImportError(
        "mqtt_engine.mcp_sdk needs the MCP Python SDK 1.x (tested with 1.30.0): pip install 'mcp>=1.30,<2'"
    ) from e

from . import mcp as mqtt_mcp

__all__ = ["client_transport", "serve", "serving", "run_session"]

ReadStream = MemoryObjectReceiveStream[Union[SessionMessage, Exception]]
WriteStream = MemoryObjectSendStream[SessionMessage]
SdkServer = Union["Server[Any, Any]", "FastMCP[Any]"]


def _to_sdk(message: mqtt_mcp.JsonObject) -> Union[SessionMessage, Exception]:
    try:
        return SessionMessage(JSONRPCMessage.model_validate(message))
    except Exception as e:  # not a JSON-RPC message the SDK knows
        return e


def _from_sdk(message: SessionMessage) -> mqtt_mcp.JsonObject:
    out: mqtt_mcp.JsonObject = message.message.model_dump(by_alias=True, mode="json", exclude_none=True)
    return out


def _lowlevel(server: SdkServer) -> "Server[Any, Any]":
    if isinstance(server, FastMCP):
        # FastMCP keeps its low-level server private; its own runners use it so.
        low: Server[Any, Any] = getattr(server, "_mcp_server")
        return low
    return server


async def _bridge(
    channel: mqtt_mcp.Channel,
    to_sdk: MemoryObjectSendStream[Union[SessionMessage, Exception]],
    from_sdk: MemoryObjectReceiveStream[SessionMessage],
) -> None:
    """Channel -> ``to_sdk`` and ``from_sdk`` -> channel, until one side ends.

    When the channel ends, ``to_sdk`` is closed (the SDK sees end of stream);
    when the SDK closes its write stream, the bridge returns."""

    async with anyio.create_task_group() as tg:

        async def inbound() -> None:
            async with to_sdk:
                async for m in channel:
                    try:
                        await to_sdk.send(_to_sdk(m))
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        break
            # The session is over on the MQTT side: the SDK saw the end of its
            # read stream; stop taking its messages too.
            tg.cancel_scope.cancel()

        async def outbound() -> None:
            async with from_sdk:
                async for sm in from_sdk:
                    try:
                        await channel.send(_from_sdk(sm))
                    except mqtt_mcp.SessionClosed:
                        break
            tg.cancel_scope.cancel()

        tg.start_soon(inbound)
        tg.start_soon(outbound)


@contextlib.asynccontextmanager
async def client_transport(
    url: str,
    server_name: str,
    *,
    server_id: Optional[str] = None,
    client_id: Optional[str] = None,
    discovery_timeout: float = 10.0,
    **options: Any,
) -> AsyncIterator[tuple[ReadStream, WriteStream]]:
    """The streams of an SDK ``ClientSession`` with an instance of
    ``server_name`` at the broker ``url``.

    Waits up to ``discovery_timeout`` seconds for an instance to be online
    (``TimeoutError`` otherwise); picks ``server_id`` when given, else one at
    random. ``client_id`` defaults to a fresh one (the specification wants a
    new one per session). ``options`` go to :func:`mqtt_engine.aio.connect`.
    """
    async with mqtt_mcp.client_connection(
        url, client_id=client_id, server_name_filters=(server_name,), **options
    ) as conn:
        await conn.wait_for_server(server_name, discovery_timeout, server_id=server_id)
        channel = await conn.open(server_name, server_id)
        to_sdk, read = anyio.create_memory_object_stream[Union[SessionMessage, Exception]](16)
        write, from_sdk = anyio.create_memory_object_stream[SessionMessage](16)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_bridge, channel, to_sdk, from_sdk)
                try:
                    yield read, write
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await channel.close()
            for s in (read, write, to_sdk, from_sdk):
                s.close()


async def run_session(
    server: SdkServer,
    channel: mqtt_mcp.Channel,
    *,
    raise_exceptions: bool = False,
) -> None:
    """Runs one SDK server session over an accepted channel (from
    :meth:`mqtt_engine.mcp.ServerConnection.accept`) until the client leaves
    or the SDK ends it."""
    low = _lowlevel(server)
    to_sdk, read = anyio.create_memory_object_stream[Union[SessionMessage, Exception]](16)
    write, from_sdk = anyio.create_memory_object_stream[SessionMessage](16)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_bridge, channel, to_sdk, from_sdk)
            await low.run(read, write, low.create_initialization_options(), raise_exceptions=raise_exceptions)
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await channel.close()
        for s in (read, write, to_sdk, from_sdk):
            s.close()


@contextlib.asynccontextmanager
async def serving(
    server: SdkServer,
    url: str,
    *,
    server_id: str,
    server_name: str,
    description: str = "",
    meta: Any = None,
    raise_exceptions: bool = False,
    **options: Any,
) -> AsyncIterator[mqtt_mcp.ServerConnection]:
    """Serves an SDK server over MQTT while the block runs: one SDK session
    per MCP client that initializes. Yields the :class:`~mqtt_engine.mcp.ServerConnection`
    (online: its presence is out). On exit the sessions end and the presence
    is cleared. ``options`` go to :func:`mqtt_engine.aio.connect`."""
    async with mqtt_mcp.server_connection(
        url, server_id, server_name, description=description, meta=meta, **options
    ) as conn:
        async with anyio.create_task_group() as tg:

            async def accept() -> None:
                async for channel in conn:
                    tg.start_soon(_session, channel)

            async def _session(channel: mqtt_mcp.Channel) -> None:
                with contextlib.suppress(mqtt_mcp.SessionClosed):
                    await run_session(server, channel, raise_exceptions=raise_exceptions)

            tg.start_soon(accept)
            try:
                yield conn
            finally:
                tg.cancel_scope.cancel()


async def serve(
    server: SdkServer,
    url: str,
    *,
    server_id: str,
    server_name: str,
    description: str = "",
    meta: Any = None,
    raise_exceptions: bool = False,
    task_status: TaskStatus[mqtt_mcp.ServerConnection] = anyio.TASK_STATUS_IGNORED,
    **options: Any,
) -> None:
    """Serves an SDK server over MQTT until cancelled (then clears its
    presence). With ``anyio``'s ``TaskGroup.start``, returns the
    :class:`~mqtt_engine.mcp.ServerConnection` once online."""
    async with serving(
        server,
        url,
        server_id=server_id,
        server_name=server_name,
        description=description,
        meta=meta,
        raise_exceptions=raise_exceptions,
        **options,
    ) as conn:
        task_status.started(conn)
        await anyio.sleep_forever()
