"""MCP over MQTT on the asyncio client.

This follows the EMQX "MCP over MQTT" specification, as the Rust roles in
``mqtt_engine::rpc::mcp`` do (see ``docs/MCP.md``), so a Python server talks
to a Rust client and the other way round.

Two levels:

- Helpers that speak MCP for you (:class:`Server`, :func:`serve`,
  :func:`connect`, :class:`Client`, :class:`Session`). A server with tools::

      from mqtt_engine import mcp

      server = mcp.Server("calc-1", "demo/calculator", description="Adds numbers")

      @server.tool(description="Adds two numbers")
      def add(a: float, b: float) -> float:
          return a + b

      async with mcp.serve(server, "mqtt://127.0.0.1:1883"):
          ...                      # online: discoverable and callable

  and a client that discovers it, initializes it and calls a tool::

      async with mcp.connect("mqtt://127.0.0.1:1883") as client:
          await client.wait_for_server("demo/calculator", timeout=5)
          async with client.session("demo/calculator") as s:
              tools = await s.list_tools()
              result = await s.call_tool("add", {"a": 1, "b": 2})

- Channels, for bridges such as :mod:`mqtt_engine.mcp_sdk`: a
  :class:`ServerConnection` accepts MCP clients and gives one
  :class:`Channel` per client; a :class:`ClientConnection` discovers servers
  and opens one :class:`Channel` per server instance. A channel carries
  JSON-RPC messages (dicts) of one MCP session both ways; the topics,
  presence, subscriptions and User Properties are handled underneath.

Topics (``{server-id}`` and ``{mcp-client-id}`` are MQTT client identifiers):

- ``$mcp-server/{server-id}/{server-name}``: ``initialize`` requests, to the server
- ``$mcp-server/presence/{server-id}/{server-name}``: the retained
  ``notifications/server/online``; empty when the server goes offline
- ``$mcp-server/capability/{server-id}/{server-name}``: the server's list-changed notifications
- ``$mcp-client/presence/{mcp-client-id}``: the client's ``notifications/disconnected``
- ``$mcp-client/capability/{mcp-client-id}``: the client's list-changed notifications
- ``$mcp-rpc/{mcp-client-id}/{server-id}/{server-name}``: everything else of a session, both ways

MQTT 5.0 only. Every PUBLISH is QoS 1 with the User Properties
``MCP-COMPONENT-TYPE`` and ``MCP-MQTT-CLIENT-ID``; the RPC topic is subscribed
with No Local.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import random
import secrets
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

if TYPE_CHECKING:
    from . import aio

__all__ = [
    "PROTOCOL_VERSION",
    "Channel",
    "ClientConnection",
    "Client",
    "McpError",
    "Server",
    "Session",
    "RpcError",
    "ServerConnection",
    "ServerInstance",
    "SessionClosed",
    "Tool",
    "client_connection",
    "connect",
    "serve",
    "server_connection",
]

#: The MCP protocol version these helpers speak (and the Rust roles default to).
PROTOCOL_VERSION = "2025-06-18"
#: The versions a :class:`Server` accepts from a client's ``initialize``.
SUPPORTED_PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18")

COMPONENT_TYPE = "MCP-COMPONENT-TYPE"
META = "MCP-META"
MQTT_CLIENT_ID = "MCP-MQTT-CLIENT-ID"
SERVER_NAME = "MCP-SERVER-NAME"
SERVER_NAME_FILTERS = "MCP-SERVER-NAME-FILTERS"
MCP_SERVER = "mcp-server"
MCP_CLIENT = "mcp-client"

METHOD_SERVER_ONLINE = "notifications/server/online"
METHOD_DISCONNECTED = "notifications/disconnected"
METHOD_INITIALIZED = "notifications/initialized"
METHOD_INITIALIZE = "initialize"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

JsonObject = Dict[str, Any]
UserProperties = List[Tuple[str, str]]


# -- topics ---------------------------------------------------------------


def control_topic(server_id: str, server_name: str) -> str:
    """``$mcp-server/{server-id}/{server-name}``: where ``initialize`` goes."""
    return f"$mcp-server/{server_id}/{server_name}"


def server_presence_topic(server_id: str, server_name: str) -> str:
    """``$mcp-server/presence/{server-id}/{server-name}``."""
    return f"$mcp-server/presence/{server_id}/{server_name}"


def server_capability_topic(server_id: str, server_name: str) -> str:
    """``$mcp-server/capability/{server-id}/{server-name}``."""
    return f"$mcp-server/capability/{server_id}/{server_name}"


def client_presence_topic(client_id: str) -> str:
    """``$mcp-client/presence/{mcp-client-id}``."""
    return f"$mcp-client/presence/{client_id}"


def client_capability_topic(client_id: str) -> str:
    """``$mcp-client/capability/{mcp-client-id}``."""
    return f"$mcp-client/capability/{client_id}"


def rpc_topic(client_id: str, server_id: str, server_name: str) -> str:
    """``$mcp-rpc/{mcp-client-id}/{server-id}/{server-name}``."""
    return f"$mcp-rpc/{client_id}/{server_id}/{server_name}"


_PRESENCE_PREFIX = "$mcp-server/presence/"


def _valid_id(s: str) -> bool:
    return bool(s) and not any(c in s for c in "/+#\0")


def _valid_name(s: str) -> bool:
    return bool(s) and not any(c in s for c in "+#\0") and "" not in s.split("/")


def new_client_id(prefix: str = "mcp-client") -> str:
    """A fresh mcp-client-id (the specification wants one per session)."""
    return f"{prefix}-{secrets.token_hex(8)}"


# -- errors ---------------------------------------------------------------


class McpError(Exception):
    """Base of the errors of this module."""


class RpcError(McpError):
    """A JSON-RPC error answered by the peer (or made for it)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> JsonObject:
        """The JSON-RPC ``error`` object."""
        d: JsonObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            d["data"] = self.data
        return d


class SessionClosed(McpError):
    """The MCP session ended; ``reason`` says how.

    Reasons: ``"closed"`` (we closed it), ``"server_offline"`` (the server's
    presence was cleared), ``"disconnected"`` (the peer sent
    ``notifications/disconnected``), ``"connection_lost"`` (our MQTT
    connection ended), ``"subscription_refused"``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"MCP session closed: {reason}")
        self.reason = reason


# -- JSON-RPC -------------------------------------------------------------


def _request(id: Any, method: str, params: Any = None) -> JsonObject:
    m: JsonObject = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return m


def _notification(method: str, params: Any = None) -> JsonObject:
    m: JsonObject = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return m


def _result(id: Any, result: Any) -> JsonObject:
    return {"jsonrpc": "2.0", "id": id, "result": result}


def _error(id: Any, err: RpcError) -> JsonObject:
    return {"jsonrpc": "2.0", "id": id, "error": err.to_dict()}


def _parse(payload: bytes) -> Optional[JsonObject]:
    """A JSON-RPC 2.0 message, or None when the payload is not one."""
    try:
        m = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
        return None
    if "method" in m:
        return m if isinstance(m["method"], str) else None
    if "id" in m and ("result" in m or isinstance(m.get("error"), dict)):
        return m
    return None


def _dumps(m: Any) -> bytes:
    return json.dumps(m, separators=(",", ":")).encode()


def _is_request(m: Mapping[str, Any]) -> bool:
    return "method" in m and "id" in m


def _is_notification(m: Mapping[str, Any], method: Optional[str] = None) -> bool:
    return "method" in m and "id" not in m and (method is None or m["method"] == method)


def _user_property(props: Sequence[Tuple[str, str]], name: str) -> Optional[str]:
    for k, v in props:
        if k == name:
            return v
    return None


# -- the MQTT underneath --------------------------------------------------

MessageHandler = Callable[[str, bytes, UserProperties], None]


class _Link:
    """One MQTT connection of an MCP component over :mod:`mqtt_engine.aio`.

    Publishes QoS 1 with the MCP User Properties; subscriptions deliver to a
    handler called in order, one task per subscription. When the connection
    is lost for good, the ``on_lost`` callbacks run once.
    """

    def __init__(self, client: "aio.Client", component: str, client_id: str) -> None:
        self._client = client
        self.component = component
        self.client_id = client_id
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_lost: List[Callable[[], None]] = []
        self.lost = False

    @property
    def connack_user_properties(self) -> UserProperties:
        props = self._client.connack_properties
        return list(props.user_properties) if props is not None and props.user_properties else []

    def user_properties(self) -> UserProperties:
        return [(COMPONENT_TYPE, self.component), (MQTT_CLIENT_ID, self.client_id)]

    async def publish(self, topic: str, message: Optional[JsonObject], *, retain: bool = False) -> None:
        from . import Properties

        payload = b"" if message is None else _dumps(message)
        props = Properties(user_properties=self.user_properties())
        await self._client.publish(topic, payload, qos=1, retain=retain, properties=props)

    async def subscribe(
        self, filters: Sequence[Tuple[str, bool]], handler: MessageHandler
    ) -> Callable[[], Awaitable[None]]:
        """Subscribes (QoS 1) and returns once acknowledged; the returned
        coroutine function unsubscribes. Raises :class:`SessionClosed` with
        ``"subscription_refused"`` when the broker refuses one."""
        from . import aio

        subs: List[aio.Subscription] = []
        for f, no_local in filters:
            # No bound on the queue: MCP messages are never dropped here (the
            # pump below moves them to the session at once).
            sub = self._client.subscribe(f, qos=1, no_local=no_local, queue_size=0)
            subs.append(sub)
        try:
            for sub in subs:
                await sub.wait_subscribed()
        except aio.SubscribeError as e:
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            raise SessionClosed("subscription_refused") from e

        async def pump(sub: aio.Subscription) -> None:
            try:
                async for msg in sub:
                    props = list(msg.properties.user_properties or [])
                    if _user_property(props, MQTT_CLIENT_ID) == self.client_id:
                        continue  # our own message, from a broker without No Local
                    handler(msg.topic, bytes(msg.payload), props)
            except aio.ConnectionLostError:
                self._lost()

        tasks = [asyncio.ensure_future(pump(s)) for s in subs]
        self._tasks.update(tasks)

        async def unsubscribe() -> None:
            for t in tasks:
                t.cancel()
                self._tasks.discard(t)
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

        return unsubscribe

    def _lost(self) -> None:
        if not self.lost:
            self.lost = True
            for f in self.on_lost:
                f()

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        self._tasks.clear()


@contextlib.asynccontextmanager
async def _open_link(
    url: str,
    *,
    component: str,
    client_id: str,
    meta: Any,
    will_topic: str,
    will_payload: bytes,
    will_retain: bool,
    **options: Any,
) -> AsyncIterator[_Link]:
    """Connects with what MCP needs in CONNECT: MQTT 5, our id, Clean Start,
    no session, ``MCP-COMPONENT-TYPE`` and ``MCP-META``, and the will.

    Reconnecting is off unless ``reconnect`` is given: the sessions of MCP
    over MQTT do not outlive a connection (the will tells the peers it
    ended), so a lost connection ends them with ``"connection_lost"``."""
    from . import Properties, Will, aio

    ups = [(COMPONENT_TYPE, component), (MQTT_CLIENT_ID, client_id)]
    will = Will(will_topic, will_payload, qos=1, retain=will_retain, properties=Properties(user_properties=ups))
    connect_ups = list(options.pop("user_properties", None) or [])
    connect_ups += [(COMPONENT_TYPE, component), (META, json.dumps(meta if meta is not None else {}))]
    options.setdefault("reconnect", False)
    async with aio.connect(
        url,
        client_id=client_id,
        version=5,
        clean_start=True,
        session_expiry_interval=0,
        user_properties=connect_ups,
        will=will,
        **options,
    ) as client:
        link = _Link(client, component, client_id)
        try:
            yield link
        finally:
            await link.close()


# -- channels -------------------------------------------------------------


_CLOSED = object()


class Channel:
    """The JSON-RPC messages of one MCP session, both ways.

    On the server side, :attr:`peer` is the mcp-client-id and the first
    message received is the client's ``initialize`` request; on the client
    side, :attr:`peer` is the server-id and the first message to send is
    ``initialize`` (it goes to the server's control topic, everything else to
    the RPC topic).
    """

    def __init__(
        self,
        peer: str,
        server_name: str,
        send: Callable[[JsonObject], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.peer = peer
        self.server_name = server_name
        self._send = send
        self._close = close
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.close_reason: Optional[str] = None
        self._unsub: Optional[Callable[[], Awaitable[None]]] = None

    @property
    def closed(self) -> bool:
        """True once the session ended (see :attr:`close_reason`)."""
        return self.close_reason is not None

    async def send(self, message: JsonObject) -> None:
        """Publishes one JSON-RPC message to the peer.

        Raises :class:`SessionClosed` once the session ended."""
        if self.close_reason is not None:
            raise SessionClosed(self.close_reason)
        await self._send(message)

    async def receive(self) -> JsonObject:
        """The next JSON-RPC message from the peer.

        Raises :class:`SessionClosed` once the session ended and every
        message that came before was received."""
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)
            raise SessionClosed(self.close_reason or "closed")
        assert isinstance(item, dict)
        return item

    def __aiter__(self) -> AsyncIterator[JsonObject]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[JsonObject]:
        while True:
            try:
                yield await self.receive()
            except SessionClosed:
                return

    async def close(self) -> None:
        """Ends the session: ``notifications/disconnected`` to the peer, then
        the session's subscriptions are undone. Idempotent."""
        if self.close_reason is None:
            self._ended("closed")
            await self._close()

    # internal
    def _deliver(self, message: JsonObject) -> None:
        if self.close_reason is None:
            self._queue.put_nowait(message)

    def _ended(self, reason: str) -> bool:
        if self.close_reason is not None:
            return False
        self.close_reason = reason
        self._queue.put_nowait(_CLOSED)
        return True

    def _take_unsubscribe(self) -> Optional[Callable[[], Awaitable[None]]]:
        unsub, self._unsub = self._unsub, None
        return unsub


def _spawn(tasks: "set[asyncio.Task[None]]", aw: Awaitable[None]) -> None:
    """Runs ``aw`` in the background, keeping a reference until it is done."""
    t = asyncio.ensure_future(aw)
    tasks.add(t)
    t.add_done_callback(tasks.discard)


async def _quietly(f: Optional[Callable[[], Awaitable[None]]]) -> None:
    if f is not None:
        with contextlib.suppress(Exception):
            await f()


@dataclass(frozen=True)
class ServerInstance:
    """An online MCP server instance, from its retained presence."""

    server_id: str
    server_name: str
    description: str = ""
    meta: Any = None


class ServerConnection:
    """The MQTT connection of one MCP server instance.

    Made by :func:`server_connection`. Once started it is subscribed to its
    control topic and announces itself with a retained presence; each MCP
    client that initializes with it becomes a :class:`Channel`, given by
    :meth:`accept` once the client's topics are subscribed (so the answer to
    ``initialize`` always follows the subscriptions).
    """

    def __init__(
        self,
        link: _Link,
        server_id: str,
        server_name: str,
        *,
        description: str = "",
        meta: Any = None,
    ) -> None:
        self._link = link
        self.server_id = server_id
        self.server_name = server_name
        self.description = description
        self.meta = meta
        self._clients: Dict[str, Channel] = {}
        self._accepted: asyncio.Queue[Optional[Channel]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsub_control: Optional[Callable[[], Awaitable[None]]] = None
        self.online = False
        self.malformed = 0
        link.on_lost.append(self._connection_lost)

    def _connection_lost(self) -> None:
        self.online = False
        for ch in list(self._clients.values()):
            ch._ended("connection_lost")
        self._clients.clear()
        self._accepted.put_nowait(None)

    @property
    def clients(self) -> List[str]:
        """The mcp-client-ids with an open session."""
        return sorted(self._clients)

    async def start(self) -> None:
        """Subscribes the control topic, then publishes the retained presence."""
        suggested = _user_property(self._link.connack_user_properties, SERVER_NAME)
        if suggested and _valid_name(suggested):
            self.server_name = suggested
        control = control_topic(self.server_id, self.server_name)
        self._unsub_control = await self._link.subscribe([(control, False)], self._on_control)
        params: JsonObject = {"server_name": self.server_name, "description": self.description}
        if self.meta is not None:
            params["meta"] = self.meta
        presence = server_presence_topic(self.server_id, self.server_name)
        await self._link.publish(presence, _notification(METHOD_SERVER_ONLINE, params), retain=True)
        self.online = True

    async def accept(self) -> Channel:
        """The next MCP client that initialized with us. Raises
        :class:`SessionClosed` after :meth:`shutdown`."""
        ch = await self._accepted.get()
        if ch is None:
            self._accepted.put_nowait(None)
            raise SessionClosed("closed")
        return ch

    def __aiter__(self) -> AsyncIterator[Channel]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Channel]:
        while True:
            try:
                yield await self.accept()
            except SessionClosed:
                return

    async def shutdown(self) -> None:
        """Clears the retained presence (clients see the server go offline)
        and ends every session. The connection is closed by the caller."""
        for t in list(self._tasks):
            t.cancel()
        for ch in list(self._clients.values()):
            ch._ended("closed")
        self._clients.clear()
        if self.online:
            self.online = False
            presence = server_presence_topic(self.server_id, self.server_name)
            with contextlib.suppress(Exception):
                await self._link.publish(presence, None, retain=True)
        self._accepted.put_nowait(None)

    # internal

    def _on_control(self, topic: str, payload: bytes, props: UserProperties) -> None:
        cid = _user_property(props, MQTT_CLIENT_ID)
        m = _parse(payload)
        if cid is None or not _valid_id(cid) or m is None:
            self.malformed += 1
            return
        if not (_is_request(m) and m["method"] == METHOD_INITIALIZE):
            return
        ch = self._clients.get(cid)
        if ch is not None:
            ch._deliver(m)  # a client initializing again on an open session
            return
        ch = self._new_channel(cid)
        self._clients[cid] = ch
        ch._deliver(m)
        t = asyncio.ensure_future(self._open(ch))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _new_channel(self, cid: str) -> Channel:
        rpc = rpc_topic(cid, self.server_id, self.server_name)

        async def send(m: JsonObject) -> None:
            await self._link.publish(rpc, m)

        async def close() -> None:
            with contextlib.suppress(Exception):
                await self._link.publish(rpc, _notification(METHOD_DISCONNECTED))
            await _quietly(self._release(ch))

        ch = Channel(cid, self.server_name, send, close)
        return ch

    async def _open(self, ch: Channel) -> None:
        cid = ch.peer
        rpc = rpc_topic(cid, self.server_id, self.server_name)

        def on_message(topic: str, payload: bytes, props: UserProperties) -> None:
            m = _parse(payload)
            if m is None:
                self.malformed += 1
                return
            if topic == client_presence_topic(cid) or _is_notification(m, METHOD_DISCONNECTED):
                if _is_notification(m, METHOD_DISCONNECTED):
                    self._client_gone(cid, "disconnected")
                return
            ch._deliver(m)

        filters = [
            (client_capability_topic(cid), False),
            (client_presence_topic(cid), False),
            (rpc, True),
        ]
        try:
            ch._unsub = await self._link.subscribe(filters, on_message)
        except SessionClosed:
            init = await ch.receive()
            err = RpcError(INTERNAL_ERROR, "the server could not subscribe to this client's topics")
            with contextlib.suppress(Exception):
                await self._link.publish(rpc, _error(init.get("id"), err))
            ch._ended("subscription_refused")
            self._release(ch)
            return
        if ch.closed:  # the client left while we subscribed
            await _quietly(self._release(ch))
            return
        self._accepted.put_nowait(ch)

    def _client_gone(self, cid: str, reason: str) -> None:
        ch = self._clients.get(cid)
        if ch is not None and ch._ended(reason):
            _spawn(self._tasks, _quietly(self._release(ch)))

    def _release(self, ch: Channel) -> Optional[Callable[[], Awaitable[None]]]:
        """Forgets a channel at once (a new ``initialize`` from the same client
        opens a new one); returns what undoes its subscriptions."""
        if self._clients.get(ch.peer) is ch:
            del self._clients[ch.peer]
        return ch._take_unsubscribe()


class ClientConnection:
    """The MQTT connection of one MCP client.

    Made by :func:`client_connection`. Once started it discovers servers from
    their retained presence (:meth:`servers`, :meth:`wait_for_server`) and
    opens sessions with them (:meth:`open`).
    """

    def __init__(
        self,
        link: _Link,
        *,
        server_name_filters: Sequence[str] = ("#",),
        choice: str = "random",
    ) -> None:
        if choice not in ("random", "round_robin"):
            raise ValueError("choice must be 'random' or 'round_robin'")
        self._link = link
        self.client_id = link.client_id
        self.filters = list(server_name_filters)
        self.choice = choice
        self._registry: Dict[str, Dict[str, ServerInstance]] = {}
        self._cursor: Dict[str, int] = {}
        self._sessions: Dict[Tuple[str, str], Channel] = {}
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self.malformed = 0
        link.on_lost.append(self._connection_lost)

    def _connection_lost(self) -> None:
        self._registry.clear()
        for ch in list(self._sessions.values()):
            ch._ended("connection_lost")
        self._sessions.clear()

    async def start(self) -> None:
        """Subscribes the presence of the servers under the filters (the
        broker's ``MCP-SERVER-NAME-FILTERS`` replace ours)."""
        suggested = _user_property(self._link.connack_user_properties, SERVER_NAME_FILTERS)
        if suggested:
            try:
                names = json.loads(suggested)
                if isinstance(names, list) and all(isinstance(n, str) for n in names):
                    self.filters = names
            except ValueError:
                self.malformed += 1
        filters = [(f"{_PRESENCE_PREFIX}+/{f}", False) for f in self.filters]
        await self._link.subscribe(filters, self._on_presence)

    def servers(self, server_name: Optional[str] = None) -> List[ServerInstance]:
        """The online instances (of ``server_name``, or all), by name then id."""
        out: List[ServerInstance] = []
        for name in sorted(self._registry):
            if server_name is None or name == server_name:
                out.extend(self._registry[name][sid] for sid in sorted(self._registry[name]))
        return out

    async def wait_for_server(
        self, server_name: str, timeout: float = 10.0, *, server_id: Optional[str] = None
    ) -> ServerInstance:
        """The first online instance of ``server_name`` (the one with
        ``server_id``, when given), waiting up to ``timeout`` seconds for one
        to announce itself (``TimeoutError``)."""

        def found() -> Optional[ServerInstance]:
            for i in self.servers(server_name):
                if server_id is None or i.server_id == server_id:
                    return i
            return None

        async def wait() -> ServerInstance:
            async with self._changed:
                while True:
                    i = found()
                    if i is not None:
                        return i
                    await self._changed.wait()

        inst: ServerInstance = await _timeout(wait(), timeout, f"no MCP server {server_name!r} came online")
        return inst

    def choose(self, server_name: str) -> Optional[ServerInstance]:
        """Picks an online instance of ``server_name`` with no session with us."""
        free = [i for i in self.servers(server_name) if (i.server_id, i.server_name) not in self._sessions]
        if not free:
            return None
        if self.choice == "round_robin":
            n = self._cursor.get(server_name, 0)
            self._cursor[server_name] = n + 1
            return free[n % len(free)]
        return random.choice(free)

    async def open(self, server_name: str, server_id: Optional[str] = None) -> Channel:
        """Opens a session with an instance of ``server_name`` (the given
        ``server_id``, or one picked by :meth:`choose`): subscribes its RPC
        (No Local) and capability topics, and returns the channel, on which
        the first message to send is ``initialize``.

        Raises :class:`McpError` when no instance is online and free."""
        if server_id is None:
            inst = self.choose(server_name)
            if inst is None:
                raise McpError(f"no online MCP server {server_name!r} is free to initialize")
            server_id = inst.server_id
        key = (server_id, server_name)
        if key in self._sessions:
            raise McpError(f"a session with {server_id!r} is already open")
        rpc = rpc_topic(self.client_id, server_id, server_name)
        control = control_topic(server_id, server_name)

        async def send(m: JsonObject) -> None:
            topic = control if _is_request(m) and m["method"] == METHOD_INITIALIZE else rpc
            await self._link.publish(topic, m)

        async def close() -> None:
            with contextlib.suppress(Exception):
                await self._link.publish(rpc, _notification(METHOD_DISCONNECTED))
            await _quietly(self._release(key, ch))

        ch = Channel(server_id, server_name, send, close)
        self._sessions[key] = ch

        def on_message(topic: str, payload: bytes, props: UserProperties) -> None:
            m = _parse(payload)
            if m is None:
                self.malformed += 1
            elif topic == rpc and _is_notification(m, METHOD_DISCONNECTED):
                self._session_gone(key, "disconnected")
            else:
                ch._deliver(m)

        filters = [(server_capability_topic(server_id, server_name), False), (rpc, True)]
        try:
            ch._unsub = await self._link.subscribe(filters, on_message)
        except SessionClosed:
            self._release(key, ch)
            raise
        if ch.closed:  # the server went offline while we subscribed
            await _quietly(self._release(key, ch))
        return ch

    async def shutdown(self) -> None:
        """Ends every session and says goodbye on our presence topic. The
        connection is closed by the caller."""
        for t in list(self._tasks):
            t.cancel()
        for ch in list(self._sessions.values()):
            ch._ended("closed")
        self._sessions.clear()
        with contextlib.suppress(Exception):
            await self._link.publish(client_presence_topic(self.client_id), _notification(METHOD_DISCONNECTED))

    # internal

    def _on_presence(self, topic: str, payload: bytes, props: UserProperties) -> None:
        rest = topic[len(_PRESENCE_PREFIX) :]
        sid, _, name = rest.partition("/")
        if not sid or not name:
            return
        if not payload:
            known = self._registry.get(name, {}).pop(sid, None) is not None
            if name in self._registry and not self._registry[name]:
                del self._registry[name]
            self._session_gone((sid, name), "server_offline")
            if known:
                self._notify()
            return
        m = _parse(payload)
        if m is None or not _is_notification(m, METHOD_SERVER_ONLINE):
            self.malformed += 1
            return
        params = m.get("params") if isinstance(m.get("params"), dict) else {}
        assert isinstance(params, dict)
        desc = params.get("description")
        inst = ServerInstance(sid, name, desc if isinstance(desc, str) else "", params.get("meta"))
        self._registry.setdefault(name, {})[sid] = inst
        self._notify()

    def _notify(self) -> None:
        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        t = asyncio.ensure_future(wake())
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _session_gone(self, key: Tuple[str, str], reason: str) -> None:
        ch = self._sessions.get(key)
        if ch is not None and ch._ended(reason):
            _spawn(self._tasks, _quietly(self._release(key, ch)))

    def _release(self, key: Tuple[str, str], ch: Channel) -> Optional[Callable[[], Awaitable[None]]]:
        if self._sessions.get(key) is ch:
            del self._sessions[key]
        return ch._take_unsubscribe()


async def _timeout(aw: Awaitable[Any], timeout: Optional[float], what: str) -> Any:
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(what) from None


@contextlib.asynccontextmanager
async def server_connection(
    url: str,
    server_id: str,
    server_name: str,
    *,
    description: str = "",
    meta: Any = None,
    component_meta: Any = None,
    **options: Any,
) -> AsyncIterator[ServerConnection]:
    """Connects an MCP server instance and brings it online.

    ``server_id`` is the MQTT client identifier (one topic level); instances
    of one server share its ``server_name`` (``type/sub/name``). ``options``
    go to :func:`mqtt_engine.aio.connect`. On exit the presence is cleared and
    the connection closed normally (so the empty-presence will is not sent).
    """
    if not _valid_id(server_id):
        raise ValueError("the server-id must be one topic level without wildcards")
    if not _valid_name(server_name):
        raise ValueError("the server-name must be non-empty topic levels without wildcards")
    async with _open_link(
        url,
        component=MCP_SERVER,
        client_id=server_id,
        meta=component_meta,
        will_topic=server_presence_topic(server_id, server_name),
        will_payload=b"",
        will_retain=True,
        **options,
    ) as link:
        conn = ServerConnection(link, server_id, server_name, description=description, meta=meta)
        try:
            await conn.start()
            yield conn
        finally:
            await conn.shutdown()


@contextlib.asynccontextmanager
async def client_connection(
    url: str,
    *,
    client_id: Optional[str] = None,
    server_name_filters: Sequence[str] = ("#",),
    choice: str = "random",
    component_meta: Any = None,
    **options: Any,
) -> AsyncIterator[ClientConnection]:
    """Connects an MCP client and starts discovery (retained presence arrives
    at once). ``client_id`` defaults to a fresh one. ``options`` go to
    :func:`mqtt_engine.aio.connect`."""
    cid = client_id or new_client_id()
    if not _valid_id(cid):
        raise ValueError("the client id must be one topic level without wildcards")
    async with _open_link(
        url,
        component=MCP_CLIENT,
        client_id=cid,
        meta=component_meta,
        will_topic=client_presence_topic(cid),
        will_payload=_dumps(_notification(METHOD_DISCONNECTED)),
        will_retain=False,
        **options,
    ) as link:
        conn = ClientConnection(link, server_name_filters=server_name_filters, choice=choice)
        try:
            await conn.start()
            yield conn
        finally:
            await conn.shutdown()


# -- the server helper ----------------------------------------------------


ToolFunction = Callable[..., Any]

_JSON_TYPES: Dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    dict: "object",
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


def _schema_of(fn: ToolFunction) -> JsonObject:
    """A JSON Schema for the keyword arguments of ``fn``, from its annotations."""
    props: JsonObject = {}
    required: List[str] = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        t = _JSON_TYPES.get(p.annotation)
        props[p.name] = {"type": t} if t else {}
        if p.default is p.empty:
            required.append(p.name)
    schema: JsonObject = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


@dataclass
class Tool:
    """A tool of an :class:`Server`."""

    name: str
    function: ToolFunction
    description: str = ""
    input_schema: JsonObject = field(default_factory=lambda: {"type": "object"})

    def to_dict(self) -> JsonObject:
        """The tool as ``tools/list`` lists it."""
        return {"name": self.name, "description": self.description, "inputSchema": self.input_schema}


def _content(value: Any) -> JsonObject:
    """A ``tools/call`` result from what a tool function returned."""
    if isinstance(value, dict) and "content" in value:
        return value  # already a CallToolResult
    text = value if isinstance(value, str) else json.dumps(value)
    result: JsonObject = {"content": [{"type": "text", "text": text}], "isError": False}
    if isinstance(value, dict):
        result["structuredContent"] = value
    return result


class Server:
    """An MCP server with tools (and, if need be, methods of your own).

    Register tools with :meth:`tool` (a decorator) or :meth:`add_tool`; sync
    and async functions both work, called with the call's arguments as
    keywords. What a tool returns becomes text content (strings as they are,
    anything else as JSON; a dict is also given as ``structuredContent``); an
    exception becomes a result with ``isError`` set. Put it online with
    :func:`serve`.
    """

    def __init__(
        self,
        server_id: str,
        server_name: str,
        *,
        description: str = "",
        meta: Any = None,
        name: Optional[str] = None,
        version: str = "0.1.0",
        instructions: Optional[str] = None,
    ) -> None:
        if not _valid_id(server_id):
            raise ValueError("the server-id must be one topic level without wildcards")
        if not _valid_name(server_name):
            raise ValueError("the server-name must be non-empty topic levels without wildcards")
        self.server_id = server_id
        self.server_name = server_name
        self.description = description
        self.meta = meta
        self.info: JsonObject = {"name": name or server_name, "version": version}
        self.instructions = instructions
        self.tools: Dict[str, Tool] = {}
        self.methods: Dict[str, Callable[[Any], Any]] = {}

    def add_tool(
        self,
        function: ToolFunction,
        name: Optional[str] = None,
        description: Optional[str] = None,
        input_schema: Optional[JsonObject] = None,
    ) -> Tool:
        """Registers ``function`` as a tool (name: the function's; description:
        its docstring; input schema: from its annotations)."""
        t = Tool(
            name or function.__name__,
            function,
            description if description is not None else inspect.getdoc(function) or "",
            input_schema if input_schema is not None else _schema_of(function),
        )
        self.tools[t.name] = t
        return t

    def tool(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        input_schema: Optional[JsonObject] = None,
    ) -> Callable[[ToolFunction], ToolFunction]:
        """Decorator form of :meth:`add_tool`."""

        def register(fn: ToolFunction) -> ToolFunction:
            self.add_tool(fn, name, description, input_schema)
            return fn

        return register

    def method(self, name: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """Decorator: a handler for any other JSON-RPC method, called with the
        ``params``; raise :class:`RpcError` to answer with an error."""

        def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
            self.methods[name] = fn
            return fn

        return register

    async def handle(self, method: str, params: Any) -> Any:
        """The result of one request; raises :class:`RpcError`."""
        if method == METHOD_INITIALIZE:
            asked = params.get("protocolVersion") if isinstance(params, dict) else None
            result: JsonObject = {
                # the client's version when we know it, else ours (MCP's rule)
                "protocolVersion": asked if asked in SUPPORTED_PROTOCOL_VERSIONS else PROTOCOL_VERSION,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": self.info,
            }
            if self.instructions:
                result["instructions"] = self.instructions
            return result
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": [t.to_dict() for t in self.tools.values()]}
        if method == "tools/call":
            if not isinstance(params, dict) or not isinstance(params.get("name"), str):
                raise RpcError(INVALID_PARAMS, "tools/call needs a tool name")
            tool = self.tools.get(params["name"])
            if tool is None:
                raise RpcError(INVALID_PARAMS, f"no tool named {params['name']!r}")
            args = params.get("arguments") or {}
            if not isinstance(args, dict):
                raise RpcError(INVALID_PARAMS, "tool arguments must be an object")
            try:
                value = tool.function(**args)
                if inspect.isawaitable(value):
                    value = await value
            except Exception as e:
                return {"content": [{"type": "text", "text": f"{type(e).__name__}: {e}"}], "isError": True}
            return _content(value)
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"no method {method!r}")
        value = handler(params)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def run_session(self, channel: Channel) -> None:
        """Answers one client's requests until its session ends. Requests
        run concurrently; ``notifications/cancelled`` cancels one."""
        running: Dict[str, asyncio.Task[None]] = {}

        async def answer(m: JsonObject) -> None:
            try:
                out = _result(m["id"], await self.handle(m["method"], m.get("params")))
            except RpcError as e:
                out = _error(m["id"], e)
            except Exception as e:
                out = _error(m["id"], RpcError(INTERNAL_ERROR, f"{type(e).__name__}: {e}"))
            with contextlib.suppress(SessionClosed):
                await channel.send(out)

        try:
            async for m in channel:
                if _is_request(m):
                    key = json.dumps(m["id"])
                    task = asyncio.ensure_future(answer(m))
                    running[key] = task
                    task.add_done_callback(functools.partial(_forget_task, running, key))
                elif _is_notification(m, "notifications/cancelled"):
                    params = m.get("params")
                    if isinstance(params, dict):
                        found = running.get(json.dumps(params.get("requestId")))
                        if found is not None:
                            found.cancel()
                # other notifications (initialized...) and responses: nothing to do
        finally:
            for t in list(running.values()):
                t.cancel()


def _forget_task(running: Dict[str, "asyncio.Task[None]"], key: str, _task: "asyncio.Task[None]") -> None:
    running.pop(key, None)


@contextlib.asynccontextmanager
async def serve(server: Server, url: str, **options: Any) -> AsyncIterator[ServerConnection]:
    """Puts ``server`` online at the broker ``url`` while the block runs:
    connects, announces it, and answers every client that initializes.
    ``options`` go to :func:`mqtt_engine.aio.connect`."""
    async with server_connection(
        url, server.server_id, server.server_name, description=server.description, meta=server.meta, **options
    ) as conn:
        sessions: set[asyncio.Task[None]] = set()

        async def accept() -> None:
            async for ch in conn:
                t = asyncio.ensure_future(server.run_session(ch))
                sessions.add(t)
                t.add_done_callback(sessions.discard)

        acceptor = asyncio.ensure_future(accept())
        try:
            yield conn
        finally:
            acceptor.cancel()
            for t in list(sessions):
                t.cancel()
            await asyncio.gather(acceptor, *sessions, return_exceptions=True)


# -- the client helper ----------------------------------------------------

#: Per-method timeouts in seconds, after the specification's recommendations.
DEFAULT_TIMEOUTS: Dict[str, float] = {
    "initialize": 30.0,
    "ping": 10.0,
    "tools/call": 60.0,
    "sampling/createMessage": 60.0,
    "completion/complete": 60.0,
}
DEFAULT_TIMEOUT = 30.0



class Session:
    """An initialized session with one server instance (from
    :meth:`Client.session` or :meth:`Client.initialize`).

    Calls are correlated by JSON-RPC ``id``; each has a timeout (per method,
    see :data:`DEFAULT_TIMEOUTS`) and fails with :class:`SessionClosed` at once
    if the server goes offline. Server notifications are kept in
    :attr:`notifications` (the latest 1,024); ``ping`` from the server is
    answered, other server requests get "method not found".
    """

    def __init__(self, channel: Channel, timeouts: Mapping[str, float], default_timeout: float) -> None:
        self.channel = channel
        self.server_id = channel.peer
        self.server_name = channel.server_name
        self.initialize_result: JsonObject = {}
        self.notifications: List[JsonObject] = []
        self._timeouts = dict(timeouts)
        self._default_timeout = default_timeout
        self._next_id = 1
        self._pending: Dict[int, asyncio.Future[Any]] = {}
        self._reader: Optional[asyncio.Task[None]] = None

    @property
    def server_info(self) -> JsonObject:
        """``serverInfo`` of the ``initialize`` result."""
        info = self.initialize_result.get("serverInfo")
        return info if isinstance(info, dict) else {}

    async def _start(self, params: JsonObject) -> None:
        self._reader = asyncio.ensure_future(self._read())
        self.initialize_result = await self.call(METHOD_INITIALIZE, params)
        await self.channel.send(_notification(METHOD_INITIALIZED))

    async def _read(self) -> None:
        try:
            async for m in self.channel:
                if "method" not in m:
                    fut = self._pending.pop(m["id"], None) if isinstance(m.get("id"), int) else None
                    if fut is None or fut.done():
                        continue
                    if "error" in m:
                        e = m["error"]
                        fut.set_exception(RpcError(int(e.get("code", INTERNAL_ERROR)), str(e.get("message", "")), e.get("data")))
                    else:
                        fut.set_result(m["result"])
                elif "id" in m:
                    if m["method"] == "ping":
                        reply = _result(m["id"], {})
                    else:
                        reply = _error(m["id"], RpcError(METHOD_NOT_FOUND, f"no method {m['method']!r}"))
                    with contextlib.suppress(SessionClosed):
                        await self.channel.send(reply)
                else:
                    self.notifications.append(m)
                    del self.notifications[:-1024]
        finally:
            reason = self.channel.close_reason or "closed"
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(SessionClosed(reason))
            self._pending.clear()

    async def call(self, method: str, params: Any = None, timeout: Optional[float] = None) -> Any:
        """Sends a request and returns its result. Raises :class:`RpcError`
        (the server's error), ``TimeoutError`` or :class:`SessionClosed`."""
        if self.channel.closed:
            raise SessionClosed(self.channel.close_reason or "closed")
        n = self._next_id
        self._next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[n] = fut
        if timeout is None:
            timeout = self._timeouts.get(method, self._default_timeout)
        try:
            await self.channel.send(_request(n, method, params))
            try:
                return await _timeout(asyncio.shield(fut), timeout, f"{method}: no answer in {timeout} s")
            except TimeoutError:
                # Tell the server to stop working on it (MCP cancellation).
                with contextlib.suppress(McpError):
                    await self.notify("notifications/cancelled", {"requestId": n, "reason": "timeout"})
                raise
        finally:
            self._pending.pop(n, None)
            if not fut.done():
                fut.cancel()

    async def notify(self, method: str, params: Any = None) -> None:
        """Sends a notification."""
        await self.channel.send(_notification(method, params))

    async def ping(self, timeout: Optional[float] = None) -> None:
        """Sends ``ping`` and waits for its answer."""
        await self.call("ping", {}, timeout)

    async def list_tools(self, timeout: Optional[float] = None) -> List[JsonObject]:
        """The server's tools (every page), as ``tools/list`` gives them."""
        tools: List[JsonObject] = []
        cursor: Optional[str] = None
        while True:
            r = await self.call("tools/list", {"cursor": cursor} if cursor else {}, timeout)
            tools.extend(r.get("tools", []))
            cursor = r.get("nextCursor")
            if not cursor:
                return tools

    async def call_tool(
        self, name: str, arguments: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None
    ) -> JsonObject:
        """Calls a tool; returns the ``tools/call`` result (``content``,
        ``isError``, maybe ``structuredContent``)."""
        r = await self.call("tools/call", {"name": name, "arguments": dict(arguments or {})}, timeout)
        return r if isinstance(r, dict) else {"content": []}

    async def close(self) -> None:
        """Ends the session (``notifications/disconnected``), staying connected."""
        await self.channel.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class Client:
    """An MCP client on its own MQTT connection (from :func:`connect`)."""

    def __init__(
        self,
        conn: ClientConnection,
        *,
        client_info: Optional[JsonObject] = None,
        capabilities: Optional[JsonObject] = None,
        timeouts: Optional[Mapping[str, float]] = None,
        default_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.connection = conn
        self.client_id = conn.client_id
        self.client_info = client_info or {"name": "mqtt-engine-python", "version": "0.1.0"}
        self.capabilities = capabilities or {}
        self.timeouts = {**DEFAULT_TIMEOUTS, **(timeouts or {})}
        self.default_timeout = default_timeout

    def servers(self, server_name: Optional[str] = None) -> List[ServerInstance]:
        """The online server instances discovered so far."""
        return self.connection.servers(server_name)

    async def wait_for_server(
        self, server_name: str, timeout: float = 10.0, *, server_id: Optional[str] = None
    ) -> ServerInstance:
        """Waits until an instance of ``server_name`` (``server_id``, when
        given) is online; ``TimeoutError`` after ``timeout`` seconds."""
        return await self.connection.wait_for_server(server_name, timeout, server_id=server_id)

    async def initialize(
        self, server_name: str, server_id: Optional[str] = None, timeout: Optional[float] = None
    ) -> Session:
        """Opens and initializes a session with an instance of ``server_name``
        (``initialize``, then ``notifications/initialized``). Waits for the
        server to be discovered first (up to ``timeout``, or the ``initialize``
        timeout) if it is not yet."""
        wait = timeout if timeout is not None else self.timeouts.get(METHOD_INITIALIZE, self.default_timeout)
        await self.connection.wait_for_server(server_name, wait, server_id=server_id)
        ch = await self.connection.open(server_name, server_id)
        s = Session(ch, self.timeouts, self.default_timeout)
        params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": self.capabilities, "clientInfo": self.client_info}
        try:
            if timeout is not None:
                s._timeouts[METHOD_INITIALIZE] = timeout
            await s._start(params)
        except BaseException:
            await s.close()
            raise
        return s

    @contextlib.asynccontextmanager
    async def session(
        self, server_name: str, server_id: Optional[str] = None, timeout: Optional[float] = None
    ) -> AsyncIterator[Session]:
        """:meth:`initialize` as a context manager that closes the session."""
        s = await self.initialize(server_name, server_id, timeout)
        try:
            yield s
        finally:
            await s.close()


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    client_id: Optional[str] = None,
    server_name_filters: Sequence[str] = ("#",),
    choice: str = "random",
    client_info: Optional[JsonObject] = None,
    timeouts: Optional[Mapping[str, float]] = None,
    **options: Any,
) -> AsyncIterator[Client]:
    """Connects an MCP client to the broker at ``url`` and starts discovery.
    ``options`` go to :func:`mqtt_engine.aio.connect`."""
    async with client_connection(
        url, client_id=client_id, server_name_filters=server_name_filters, choice=choice, **options
    ) as conn:
        yield Client(conn, client_info=client_info, timeouts=timeouts)

