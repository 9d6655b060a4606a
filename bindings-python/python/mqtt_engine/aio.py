"""An asyncio MQTT client on the mqtt-engine.

Five minutes with it::

    import asyncio
    from mqtt_engine import aio

    async def main() -> None:
        async with aio.connect("mqtt://localhost:1883", client_id="demo") as c:
            # publish: resolves when the broker acknowledged it (QoS 1 / 2)
            await c.publish("sensors/1/temp", b"21.5", qos=1)

            # subscribe: an async iterator of messages; leaving it unsubscribes
            async with c.subscribe("sensors/+/temp", qos=1) as sub:
                async for msg in sub:
                    print(msg.topic, msg.payload)
                    break

            # serve: answer requests on a topic (the handler may be async)
            await c.serve("svc/echo", lambda req: req.payload)

            # call: send a request, get its response
            resp = await c.call("svc/echo", b"hi", timeout=5)
            print(resp.payload)

    asyncio.run(main())

URLs: ``mqtt://`` or ``tcp://`` (TCP, port 1883), ``mqtts://`` or ``ssl://``
(TLS, port 8883, with the ``ssl`` argument or a default context), ``ws://``
and ``wss://`` (MQTT over WebSocket with the subprotocol ``mqtt``, path
``/mqtt`` unless the URL has one; needs the ``websockets`` package). A user
name and password in the URL go into CONNECT.

Every keyword argument of :func:`connect` that is not one of the adapter's own
is an option of the engine (:class:`mqtt_engine.Client`): ``keep_alive``,
``session_expiry_interval``, ``will``, ``username``, ``receive_maximum``,
``manual_ack``... The adapter turns on ``offline_queue`` unless told
otherwise, so that messages published while it reconnects are sent once the
connection is back.

The engine does the protocol; this module only moves bytes and time: received
bytes go to ``handle_bytes``, everything from ``poll_transmit`` is written after
every input or command, events are drained and dispatched, and a timer calls
``handle_timeout`` at ``poll_timeout``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import random
import ssl as _ssl
import threading
import time
import urllib.parse
import weakref
from types import TracebackType
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    Generator,
    Generic,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from ._native import Client as _Engine
from ._native import Auth as AuthEvent
from ._native import (
    Connected,
    Disconnected,
    LocalProtocolError,
    Message,
    MqttError,
    Properties,
    PublishDropped,
    Published,
    RemoteProtocolError,
    Request,
    RequestDone,
    Response,
    Subscribed,
    Unsubscribed,
)

__all__ = [
    "connect",
    "Client",
    "Backoff",
    "Subscription",
    "Service",
    "ResponseStream",
    "Reply",
    "HandlerError",
    "topic_matches",
    "ConnectError",
    "ConnectionLostError",
    "ClientClosedError",
    "PublishError",
    "PublishDroppedError",
    "SubscribeError",
    "RequestError",
    "RequestTimeout",
    "NoResponders",
    "RequestRefused",
    "RequestSessionLost",
    "ErrorResponse",
    "Message",
    "Request",
    "Response",
]

log = logging.getLogger("mqtt_engine.aio")

T = TypeVar("T")
Payload = Union[bytes, bytearray, memoryview, str]
"""What a payload may be given as; ``str`` is sent as UTF-8."""
HandlerResult = Union[Payload, "Reply", None]
Handler = Callable[[Request], Any]
"""A request handler: called with the :class:`mqtt_engine.Request`, returns
(or, if async, resolves to) bytes, str, a :class:`Reply` or None; a generator
(sync or async) streams its items as a multi-part response."""

_READ_SIZE = 1 << 16
_CLOSE_TIMEOUT = 2.0
_COALESCE = 1 << 16


def _now() -> int:
    """The engine's clock: monotonic milliseconds."""
    return time.monotonic_ns() // 1_000_000


# ----- reason codes ------------------------------------------------------------

_REASON_NAMES: Dict[int, str] = {
    0x00: "Success",
    0x01: "Granted QoS 1",
    0x02: "Granted QoS 2",
    0x04: "Disconnect with Will Message",
    0x10: "No matching subscribers",
    0x11: "No subscription existed",
    0x18: "Continue authentication",
    0x19: "Re-authenticate",
    0x80: "Unspecified error",
    0x81: "Malformed Packet",
    0x82: "Protocol Error",
    0x83: "Implementation specific error",
    0x84: "Unsupported Protocol Version",
    0x85: "Client Identifier not valid",
    0x86: "Bad User Name or Password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8C: "Bad authentication method",
    0x8D: "Keep Alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic Filter invalid",
    0x90: "Topic Name invalid",
    0x91: "Packet Identifier in use",
    0x92: "Packet Identifier not found",
    0x93: "Receive Maximum exceeded",
    0x94: "Topic Alias invalid",
    0x95: "Packet too large",
    0x96: "Message rate too high",
    0x97: "Quota exceeded",
    0x98: "Administrative action",
    0x99: "Payload format invalid",
    0x9A: "Retain not supported",
    0x9B: "QoS not supported",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared Subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA0: "Maximum connect time",
    0xA1: "Subscription Identifiers not supported",
    0xA2: "Wildcard Subscriptions not supported",
}


def _reason_name(code: Optional[int]) -> str:
    if code is None:
        return "none"
    return _REASON_NAMES.get(code, "Unknown reason code")


def _code(code: Optional[int]) -> str:
    return "" if code is None else f"0x{code:02X} {_reason_name(code)}"


# ----- exceptions --------------------------------------------------------------


class ConnectError(MqttError):
    """The connection could not be made: the transport failed, or the broker
    refused CONNECT (``reason_code`` then holds its CONNACK reason code, e.g.
    0x87 Not authorized), or no CONNACK came in time."""

    def __init__(self, message: str, reason_code: Optional[int] = None) -> None:
        self.reason_code = reason_code
        self.reason_name = _reason_name(reason_code) if reason_code is not None else None
        text = f"{message} ({_code(reason_code)})" if reason_code is not None else message
        super().__init__(text)


class ClientClosedError(MqttError):
    """The client is closed (or not yet connected): nothing can be sent."""


class ConnectionLostError(ClientClosedError):
    """The connection ended and the client will not reconnect (reconnecting
    is disabled or gave up); what was pending fails with this error.
    ``disconnected`` is the engine's :class:`mqtt_engine.Disconnected` event."""

    def __init__(self, message: str, disconnected: Optional[Disconnected] = None) -> None:
        self.disconnected = disconnected
        super().__init__(message)


class PublishError(MqttError):
    """The broker refused a QoS 1 / 2 message: its PUBACK, PUBREC or PUBCOMP
    carried an error reason code (0x80 and above), e.g. 0x87 Not authorized."""

    def __init__(
        self,
        message: str,
        reason_code: int,
        packet_id: Optional[int] = None,
        reason_string: Optional[str] = None,
    ) -> None:
        self.reason_code = reason_code
        self.reason_name = _reason_name(reason_code)
        self.packet_id = packet_id
        self.reason_string = reason_string
        extra = f": {reason_string}" if reason_string else ""
        super().__init__(f"{message} ({_code(reason_code)}){extra}")


class PublishDroppedError(PublishError):
    """The engine dropped an accepted message: the broker did not resume the
    session it was in flight in (``reason`` ``"session_lost"``), or the
    server's limits learnt at CONNACK do not allow it (``"not_allowed"``)."""

    def __init__(self, message: str, reason: str, reason_code: int, packet_id: Optional[int]) -> None:
        self.reason = reason
        super().__init__(message, reason_code, packet_id)


class SubscribeError(MqttError):
    """The broker refused a subscription: ``reason_code`` is the first error
    code of its SUBACK (e.g. 0x87 Not authorized, 0x8F Topic Filter invalid);
    ``reason_codes`` has one code per filter."""

    def __init__(self, filters: Sequence[str], reason_codes: Sequence[int]) -> None:
        self.filters = list(filters)
        self.reason_codes = list(reason_codes)
        bad = [(f, c) for f, c in zip(filters, reason_codes) if c >= 0x80]
        self.reason_code = bad[0][1] if bad else 0x80
        self.reason_name = _reason_name(self.reason_code)
        listed = ", ".join(f"{f!r}: {_code(c)}" for f, c in bad)
        super().__init__(f"subscription refused by the broker ({listed})")


class RequestError(MqttError):
    """A request (:meth:`Client.call`, :meth:`Client.call_stream`,
    :meth:`Client.collect`) ended without its answer. ``end`` is the engine's
    outcome (``"timeout"``, ``"no_responders"``, ``"refused"``,
    ``"subscription_refused"``, ``"session_lost"``), ``reason_code`` the MQTT
    code behind it when there is one, ``responses`` how many answers came."""

    def __init__(self, message: str, end: str, reason_code: Optional[int] = None, responses: int = 0) -> None:
        self.end = end
        self.reason_code = reason_code
        self.reason_name = _reason_name(reason_code) if reason_code is not None else None
        self.responses = responses
        suffix = f" ({_code(reason_code)})" if reason_code is not None else ""
        super().__init__(f"{message}{suffix}")


class RequestTimeout(RequestError, TimeoutError):
    """No (complete) answer before the timeout."""


class NoResponders(RequestError):
    """Nobody serves the topic: the broker answered the request's PUBLISH with
    PUBACK 0x10 No matching subscribers, so the call fails at once."""


class RequestRefused(RequestError):
    """The broker refused the request's PUBLISH (``end`` ``"refused"``) or our
    response subscription (``"subscription_refused"``)."""


class RequestSessionLost(RequestError):
    """The connection dropped and the broker did not resume the session: the
    answer can no longer arrive."""


class ErrorResponse(MqttError):
    """The responder answered with an error status (400 and above), e.g. 500
    when its handler raised. ``status``, ``message`` and the whole
    :class:`mqtt_engine.Response` (``response``) are attributes."""

    def __init__(self, response: Response) -> None:
        self.response = response
        self.status: int = response.status if response.status is not None else 0
        self.message: Optional[str] = response.message
        super().__init__(f"error response {self.status}: {response.message or '(no message)'}")


class HandlerError(Exception):
    """Raise in a :meth:`Client.serve` handler to answer with this status and
    message (any other exception answers 500 with the exception's text)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


def _request_error(done: RequestDone) -> RequestError:
    end = done.end
    rc = done.reason_code
    if end == "timeout":
        return RequestTimeout("request timed out", end, rc, done.responses)
    if end == "no_responders":
        return NoResponders("no responders: nobody serves this topic", end, rc if rc is not None else 0x10)
    if end in ("refused", "subscription_refused"):
        what = "the request" if end == "refused" else "the response subscription"
        return RequestRefused(f"the broker refused {what}", end, rc, done.responses)
    if end == "session_lost":
        return RequestSessionLost("the session was lost before the answer came", end, rc, done.responses)
    return RequestError(f"request ended: {end}", end, rc, done.responses)


# ----- replies -----------------------------------------------------------------


class Reply:
    """A handler's answer with a status other than 200, a message, or
    properties: ``return Reply(b"not here", status=404, message="no such key")``.
    Statuses of 400 and above make the caller's :meth:`Client.call` raise
    :class:`ErrorResponse`."""

    __slots__ = ("payload", "status", "message", "properties")

    def __init__(
        self,
        payload: Payload = b"",
        status: int = 200,
        message: Optional[str] = None,
        properties: Optional[Properties] = None,
    ) -> None:
        self.payload = payload
        self.status = status
        self.message = message
        self.properties = properties

    def __repr__(self) -> str:
        return f"Reply({self.payload!r}, status={self.status}, message={self.message!r})"


def _as_reply(value: object) -> Reply:
    if isinstance(value, Reply):
        return value
    if value is None:
        return Reply(b"")
    if isinstance(value, (bytes, str)):
        return Reply(value)
    if isinstance(value, (bytearray, memoryview)):
        return Reply(bytes(value))
    raise TypeError(f"a handler returns bytes, str, Reply or None, not {type(value).__name__}")


def _error_reply(exc: BaseException) -> Reply:
    if isinstance(exc, HandlerError):
        return Reply(b"", status=exc.status, message=exc.message)
    text = str(exc)
    return Reply(b"", status=500, message=f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _bytes(payload: Optional[Payload]) -> Union[bytes, str]:
    if payload is None:
        return b""
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    return payload


# ----- topic filters -------------------------------------------------------------


def _strip_share(topic_filter: str) -> str:
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        if len(parts) == 3:
            return parts[2]
    return topic_filter


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True if ``topic`` matches ``topic_filter`` by the MQTT rules: ``+``
    matches one level, ``#`` the rest (and the parent: ``a/#`` matches
    ``a``), a shared subscription ``$share/group/filter`` matches as
    ``filter``, and topics starting with ``$`` are not matched by filters
    starting with a wildcard [MQTT-4.7.2-1]."""
    return _Filter(topic_filter).matches(topic)


class _Filter:
    """A parsed topic filter, for routing messages."""

    __slots__ = ("text", "exact", "levels", "wild_first")

    def __init__(self, topic_filter: str) -> None:
        self.text = topic_filter
        plain = _strip_share(topic_filter)
        self.levels = tuple(plain.split("/"))
        self.exact = plain if ("+" not in self.levels and "#" not in self.levels) else None
        self.wild_first = self.levels[0] in ("+", "#")

    def matches(self, topic: str) -> bool:
        if self.exact is not None:
            return topic == self.exact
        if self.wild_first and topic.startswith("$"):
            return False
        t = topic.split("/")
        n = len(t)
        for i, level in enumerate(self.levels):
            if level == "#":
                return True
            if i >= n:
                return False
            if level != "+" and level != t[i]:
                return False
        return n == len(self.levels)


# ----- buffers -------------------------------------------------------------------

_OVERFLOW = ("block", "drop_oldest", "drop_newest")


class _Ended(Exception):
    """A buffer is closed and empty."""


class _AsyncBuffer(Generic[T]):
    """A bounded queue filled on the loop and read by one async consumer.

    When full, ``block`` keeps every item and reports itself :meth:`full`, so
    that the client stops reading from the broker until the consumer has
    taken one (``on_room`` is then called once); ``drop_oldest`` discards the
    oldest item to make room and ``drop_newest`` discards the new one; either
    way ``dropped`` counts it.
    """

    def __init__(self, maxsize: int, overflow: str) -> None:
        if overflow not in _OVERFLOW:
            raise ValueError(f"overflow must be one of {_OVERFLOW}, not {overflow!r}")
        self.maxsize = maxsize
        self.overflow = overflow
        self.dropped = 0
        self._items: Deque[T] = collections.deque()
        self._error: Optional[BaseException] = None
        self._closed = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._blocks = overflow == "block" and maxsize > 0
        self.on_room: Optional[Callable[[], None]] = None

    def attach(self, on_room: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
        """Calls ``on_room`` (on the loop) when a full blocking queue has room."""
        self.on_room = on_room

    def full(self) -> bool:
        """True when this queue holds back reading: ``block``, and full."""
        return self._blocks and not self._closed and len(self._items) >= self.maxsize

    def _pop(self) -> T:
        """Takes the oldest item; when that ends a blocking queue's being
        full, tells the client it may read again (once, not per item: from
        a thread, each call is a wake-up of the loop)."""
        item = self._items.popleft()
        if self._blocks and self.on_room is not None and len(self._items) == self.maxsize - 1:
            self.on_room()
        return item

    def put(self, item: T) -> None:
        if self._closed:
            return
        if self.maxsize > 0 and len(self._items) >= self.maxsize and not self._blocks:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("a subscription queue is full (%d): dropping messages (%s)", self.maxsize, self.overflow)
            if self.overflow == "drop_newest":
                return
            self._items.popleft()
        self._items.append(item)
        self._wake()

    def close(self, error: Optional[BaseException] = None) -> None:
        if self._closed:
            return
        self._closed = True
        self._error = error
        self._wake()
        if self._blocks and self.on_room is not None:
            self.on_room()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def get_nowait(self) -> T:
        if self._items:
            return self._pop()
        if self._closed:
            if self._error is not None:
                raise self._error
            raise _Ended()
        raise LookupError("empty")

    async def get(self) -> T:
        while not self._items:
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise _Ended()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._pop()


class _SyncBuffer(_AsyncBuffer[T]):
    """The same queue read by blocking threads (``get_blocking``)."""

    def __init__(self, maxsize: int, overflow: str) -> None:
        super().__init__(maxsize, overflow)
        self._cond = threading.Condition()

    def attach(self, on_room: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
        # items are taken on other threads: hand the call to the loop
        self.on_room = lambda: loop.call_soon_threadsafe(on_room)

    def put(self, item: T) -> None:
        with self._cond:
            super().put(item)
            self._cond.notify_all()

    def close(self, error: Optional[BaseException] = None) -> None:
        with self._cond:
            super().close(error)
            self._cond.notify_all()

    def get_blocking(self, timeout: Optional[float]) -> T:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                try:
                    return self.get_nowait()
                except LookupError:
                    pass
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no message within the timeout")
                self._cond.wait(remaining)


# ----- reconnecting ---------------------------------------------------------------


class Backoff:
    """How the client reconnects after a lost connection.

    The n-th attempt (from 0) waits ``min(maximum, initial * factor**n)``
    seconds, of which a random fraction up to ``jitter`` is taken off (so that
    many clients do not come back at once), and ``max_attempts`` (None: no
    limit) bounds the attempts before the client gives up and closes with
    :class:`ConnectionLostError`. The count starts again after each
    successful connection. Pass ``reconnect=False`` to :func:`connect` to never
    reconnect.
    """

    __slots__ = ("initial", "maximum", "factor", "jitter", "max_attempts")

    def __init__(
        self,
        initial: float = 0.1,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        max_attempts: Optional[int] = None,
    ) -> None:
        if initial < 0 or maximum < 0 or factor < 1 or not 0 <= jitter <= 1:
            raise ValueError("Backoff needs initial, maximum >= 0, factor >= 1, 0 <= jitter <= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.max_attempts = max_attempts

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (from 0)."""
        base = min(self.maximum, self.initial * (self.factor ** min(attempt, 64)))
        return base * (1.0 - self.jitter * random.random())

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial}, maximum={self.maximum}, factor={self.factor}, "
            f"jitter={self.jitter}, max_attempts={self.max_attempts})"
        )


# ----- transports -------------------------------------------------------------------


class _Target:
    """A parsed broker URL."""

    __slots__ = ("kind", "host", "port", "path", "username", "password", "url")

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        kinds = {"mqtt": "tcp", "tcp": "tcp", "mqtts": "tls", "ssl": "tls", "tls": "tls", "ws": "ws", "wss": "wss"}
        if scheme not in kinds:
            raise ValueError(f"unsupported URL scheme {scheme!r}: use mqtt://, mqtts://, tcp://, ssl://, ws:// or wss://")
        self.kind = kinds[scheme]
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        self.host = parts.hostname
        default = {"tcp": 1883, "tls": 8883, "ws": 80, "wss": 443}[self.kind]
        self.port = parts.port if parts.port is not None else default
        self.path = parts.path or "/mqtt"
        if parts.query:
            self.path += "?" + parts.query
        self.username = urllib.parse.unquote(parts.username) if parts.username else None
        self.password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{self.kind}://{host}:{self.port}{self.path}"

    @property
    def secure(self) -> bool:
        return self.kind in ("tls", "wss")


class _Transport:
    """Bytes to and from the broker: a stream (TCP, TLS) or a WebSocket."""

    async def read(self) -> bytes:
        """The next bytes received; b"" when the connection is over."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Queues bytes to send, in order."""
        raise NotImplementedError

    async def drain(self) -> None:
        """Waits while too much is queued."""
        raise NotImplementedError

    def close_soon(self) -> None:
        """Sends what is queued, then closes."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Closes and waits (bounded) until closed."""
        raise NotImplementedError

    def abort(self) -> None:
        """Closes at once, dropping what is queued."""
        raise NotImplementedError

    def congested(self) -> bool:
        """True when so much waits to be sent that writers should drain."""
        raise NotImplementedError

    _abort_timer: Optional[asyncio.TimerHandle] = None

    def close_soon_or_abort(self, loop: asyncio.AbstractEventLoop) -> None:
        """:meth:`close_soon`, and :meth:`abort` if that has not closed the
        connection in time (a dead peer never takes what is queued)."""
        self.close_soon()
        if self._abort_timer is None:
            self._abort_timer = loop.call_later(_CLOSE_TIMEOUT, self.abort)

    def _cancel_abort(self) -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None


class _StreamTransport(_Transport):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        try:
            return await self._reader.read(_READ_SIZE)
        except (OSError, _ssl.SSLError):
            return b""

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (OSError, _ssl.SSLError):
            pass

    def close_soon(self) -> None:
        self._writer.close()

    async def aclose(self) -> None:
        self._cancel_abort()
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError, _ssl.SSLError):
            self._writer.transport.abort()

    def abort(self) -> None:
        self._writer.transport.abort()

    def congested(self) -> bool:
        return self._writer.transport.get_write_buffer_size() > _COALESCE


class _WsTransport(_Transport):
    """MQTT over a ``websockets`` connection: binary frames both ways; a
    writer task sends what :meth:`write` queued, one frame per batch."""

    _HIGH_WATER = 1 << 16

    def __init__(self, ws: Any, closed_error: Type[BaseException]) -> None:
        self._ws = ws
        self._closed_error = closed_error
        self._out = bytearray()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def read(self) -> bytes:
        try:
            data = await self._ws.recv()
        except self._closed_error:
            return b""
        except OSError:
            return b""
        if isinstance(data, str):
            log.warning("a text WebSocket frame from the broker: closing (MQTT uses binary frames)")
            return b""
        return bytes(data)

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        self._out += data
        self._idle.clear()
        self._wake.set()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._out:
                    chunk = bytes(self._out)
                    self._out.clear()
                    await self._ws.send(chunk)
                self._idle.set()
                if self._closing:
                    break
        except (self._closed_error, OSError):
            pass
        finally:
            self._out.clear()
            self._idle.set()
        try:
            await self._ws.close()
        except (self._closed_error, OSError):
            pass

    async def drain(self) -> None:
        if len(self._out) > self._HIGH_WATER:
            await self._idle.wait()

    def congested(self) -> bool:
        return len(self._out) > self._HIGH_WATER

    def close_soon(self) -> None:
        self._closing = True
        self._wake.set()

    async def aclose(self) -> None:
        self._cancel_abort()
        self.close_soon()
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, Exception):
            self.abort()
            try:
                await self._writer
            except BaseException:
                pass

    def abort(self) -> None:
        self._writer.cancel()
        transport = getattr(self._ws, "transport", None)
        if transport is not None:
            transport.abort()


async def _open_transport(
    target: _Target,
    ssl_context: Optional[_ssl.SSLContext],
    ws_headers: Optional[Dict[str, str]],
    timeout: float,
) -> _Transport:
    ctx = ssl_context
    if target.secure and ctx is None:
        ctx = _ssl.create_default_context()
    if target.kind in ("tcp", "tls"):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                target.host,
                target.port,
                ssl=ctx if target.secure else None,
                server_hostname=target.host if target.secure else None,
            ),
            timeout,
        )
        return _StreamTransport(reader, writer)
    try:
        from websockets.asyncio.client import connect as ws_connect
        from websockets.exceptions import ConnectionClosed
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ConnectError("ws:// and wss:// need the websockets package (pip install websockets>=13)") from e
    kwargs: Dict[str, Any] = {
        "subprotocols": ["mqtt"],
        "compression": None,
        "max_size": None,
        "ping_interval": None,
        "open_timeout": timeout,
        "close_timeout": _CLOSE_TIMEOUT,
        "proxy": None,
    }
    if ws_headers:
        kwargs["additional_headers"] = ws_headers
    if target.secure:
        kwargs["ssl"] = ctx
    ws = await asyncio.wait_for(ws_connect(target.url, **kwargs), timeout + 1)
    if ws.subprotocol != "mqtt":
        await ws.close()
        raise ConnectError(f"the WebSocket server did not accept the subprotocol mqtt ({ws.subprotocol!r})")
    return _WsTransport(ws, ConnectionClosed)


# ----- subscriptions ----------------------------------------------------------------


class Subscription:
    """Messages on one or more topic filters, from :meth:`Client.subscribe`.

    The SUBSCRIBE is sent when :meth:`Client.subscribe` is called; messages
    are queued from then on. Use it as:

    - an async iterator: ``async for msg in c.subscribe("a/+/c", qos=1):``
      (the first step waits for the SUBACK and raises :class:`SubscribeError`
      if the broker refused); when the iterator is left and dropped, the
      subscription is undone;
    - an async context manager: ``async with c.subscribe("a/#") as sub:``
      waits for the SUBACK on entry and unsubscribes on exit (deterministic);
    - an awaitable: ``sub = await c.subscribe("a/#")`` waits for the SUBACK.

    Every message whose topic matches one of the filters is delivered,
    including to other subscriptions that match it too. The queue holds
    ``queue_size`` messages (0: unbounded). When it is full, ``overflow``
    ``"block"`` (the default) loses nothing: the client stops reading from
    the broker until the consumer takes a message, so the broker and TCP
    hold the rest (and QoS 1 and 2 messages not yet read are not yet
    acknowledged); the queue may then hold up to one read's worth beyond
    ``queue_size``. While it waits, no other subscription, answer or
    acknowledgement is read either: consume every subscription you keep. A
    queue left full for longer than the keep-alive makes the ping go
    unanswered; the connection is then declared dead and resumed, and the
    broker redelivers the QoS 1 and 2 messages it held.
    ``"drop_oldest"`` drops the oldest queued message and ``"drop_newest"``
    the new one, for telemetry where only recent values matter;
    :attr:`dropped` counts them.

    When the client closes, iteration ends (``StopAsyncIteration``); when the
    connection is lost for good, it raises :class:`ConnectionLostError`.
    """

    def __init__(self, client: "Client", route: "_Route") -> None:
        self._client = client
        self._route = route
        self._finalizer = weakref.finalize(self, client._release_soon, route)

    @property
    def filters(self) -> List[str]:
        """The topic filters, as subscribed."""
        return [f.text for f in self._route.filters]

    @property
    def granted(self) -> Optional[List[int]]:
        """The SUBACK's reason codes (granted QoS per filter), once it came."""
        return self._route.granted

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full."""
        return self._route.buffer.dropped

    @property
    def active(self) -> bool:
        """True until unsubscribed (or the client closed)."""
        return not self._route.released

    def __len__(self) -> int:
        """Messages waiting in the queue."""
        return len(self._route.buffer)

    async def wait_subscribed(self) -> List[int]:
        """Waits for the SUBACK and returns its reason codes (the granted
        QoS, one per filter); raises :class:`SubscribeError` on refusal."""
        return await self._route.wait_acked()

    def __await__(self) -> Generator[Any, None, "Subscription"]:
        return self._await_self().__await__()

    async def _await_self(self) -> "Subscription":
        await self._route.wait_acked()
        return self

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> Message:
        route = self._route
        if route.granted is None:
            await route.wait_acked()
        try:
            return await route.buffer.get()
        except _Ended:
            raise StopAsyncIteration from None

    def get_nowait(self) -> Optional[Message]:
        """The next queued message, or None if none is queued."""
        try:
            return self._route.buffer.get_nowait()
        except LookupError:
            return None
        except _Ended:
            return None

    async def __aenter__(self) -> "Subscription":
        await self._route.wait_acked()
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.unsubscribe()

    async def unsubscribe(self) -> None:
        """Undoes the subscription: no more messages are queued; the
        UNSUBSCRIBE goes to the broker (and is awaited) unless another live
        subscription uses the same filter. Messages already queued can still
        be read with :meth:`get_nowait`."""
        self._finalizer.detach()
        await self._client._release(self._route)

    def __repr__(self) -> str:
        return f"<Subscription {self.filters} active={self.active}>"


class _Route:
    """What the client keeps of a subscription: filters, options, queue."""

    def __init__(
        self,
        filters: List[Tuple[str, int]],
        options: Dict[str, Any],
        buffer: _AsyncBuffer[Message],
        deliver: bool = True,
    ) -> None:
        self.filters = [_Filter(f) for f, _ in filters]
        self.specs = filters
        self.options = options
        self.buffer = buffer
        self.deliver = deliver
        self.granted: Optional[List[int]] = None
        self.error: Optional[BaseException] = None
        self.released = False
        self._acked = asyncio.Event()

    def matches(self, topic: str) -> bool:
        for f in self.filters:
            if f.matches(topic):
                return True
        return False

    def on_suback(self, ev: Subscribed) -> None:
        codes = list(ev.reason_codes)
        if any(c >= 0x80 for c in codes):
            self.error = SubscribeError([f for f, _ in self.specs], codes)
            self.buffer.close(self.error)
        if self.granted is None or self.error is None:
            self.granted = codes
        self._acked.set()

    def fail(self, error: Optional[BaseException]) -> None:
        if self.error is None:
            self.error = error
        self.buffer.close(error)
        self._acked.set()

    async def wait_acked(self) -> List[int]:
        await self._acked.wait()
        if self.error is not None:
            raise self.error
        if self.granted is None:
            raise ClientClosedError("the client closed before the SUBACK")
        return self.granted


# ----- services ------------------------------------------------------------------------


class Service:
    """Requests served on a topic filter, from :meth:`Client.serve`.

    The SUBSCRIBE is sent when :meth:`Client.serve` is called and requests are
    handled from then on, until :meth:`stop` or the client closes (dropping
    the object does not stop it). ``await`` it to wait for the SUBACK (raises
    :class:`SubscribeError` on refusal); ``async with`` it to stop serving on
    exit. :attr:`handled` and :attr:`failed` count the requests.
    """

    def __init__(self, client: "Client", topic_filter: str, handler: Handler, group: Optional[str], qos: int) -> None:
        self._client = client
        self.filter = topic_filter
        self.group = group
        self.qos = qos
        self.handler = handler
        self.full_filter = f"$share/{group}/{topic_filter}" if group else topic_filter
        self._match = _Filter(topic_filter)
        self.route = _Route([(self.full_filter, qos)], {}, _AsyncBuffer(1, "drop_newest"), deliver=False)
        self.handled = 0
        self.failed = 0

    def matches(self, topic: str) -> bool:
        """True if a request on ``topic`` is for this service."""
        return self._match.matches(topic)

    @property
    def active(self) -> bool:
        """True until stopped (or the client closed)."""
        return not self.route.released

    def __await__(self) -> Generator[Any, None, "Service"]:
        return self._await_self().__await__()

    async def _await_self(self) -> "Service":
        await self.route.wait_acked()
        return self

    async def __aenter__(self) -> "Service":
        await self.route.wait_acked()
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stops serving: unsubscribes (the engine's ``unserve``). Handlers
        running now finish; a request the broker sent before it saw the
        UNSUBSCRIBE is not handled, and its caller times out."""
        self._client._services = [s for s in self._client._services if s is not self]
        await self._client._release(self.route, self)

    def __repr__(self) -> str:
        return f"<Service {self.full_filter!r} handled={self.handled} failed={self.failed}>"


# ----- requests ----------------------------------------------------------------------


class _Call:
    """A request of ours in flight: its answers and its end."""

    __slots__ = ("responses", "buffer", "done", "end")

    def __init__(self, buffer: Optional[_AsyncBuffer[Response]]) -> None:
        self.responses: List[Response] = []
        self.buffer = buffer
        self.done: asyncio.Future[RequestDone] = asyncio.get_running_loop().create_future()
        self.end: Optional[RequestDone] = None

    def on_response(self, ev: Response) -> None:
        if self.buffer is not None:
            self.buffer.put(ev)
        else:
            self.responses.append(ev)

    def on_done(self, ev: RequestDone) -> None:
        self.end = ev
        if self.buffer is not None:
            if ev.end == "completed":
                self.buffer.close()
            else:
                self.buffer.close(_request_error(ev))
        if not self.done.done():
            self.done.set_result(ev)

    def fail(self, error: BaseException) -> None:
        if self.buffer is not None:
            self.buffer.close(error)
        if not self.done.done():
            self.done.set_exception(error)
            # retrieved by the awaiting caller; mark it so a caller that is
            # already gone produces no "never retrieved" warning
            self.done.exception()


class ResponseStream:
    """The answers to a streamed request, from :meth:`Client.call_stream`:
    ``async for resp in c.call_stream("svc/list", b"")``. The request is sent
    on the first step; iteration ends after the last part and raises a
    :class:`RequestError` subclass if the request ended otherwise (timeout,
    no responders...) and :class:`ErrorResponse` for a part with an error
    status (when ``check`` is true). Leaving the loop early (and dropping the
    stream) or :meth:`aclose` cancels the request."""

    def __init__(
        self,
        client: "Client",
        topic: str,
        payload: Optional[Payload],
        timeout: float,
        properties: Optional[Properties],
        correlation_data: Optional[bytes],
        check: bool,
        buffer: Optional[_AsyncBuffer[Response]] = None,
    ) -> None:
        self._client = client
        self._args = (topic, payload, timeout, properties, correlation_data)
        self._check = check
        self._buffer: _AsyncBuffer[Response] = buffer if buffer is not None else _AsyncBuffer(0, "drop_oldest")
        self._request_id: Optional[int] = None
        self._started = False
        self._state: Dict[str, Optional[int]] = {"id": None}
        self._finalizer = weakref.finalize(self, client._cancel_soon, self._state)

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        topic, payload, timeout, properties, correlation = self._args
        rid, _ = await self._client._start_request(
            topic, payload, timeout, "stream", None, None, correlation, properties, self._buffer
        )
        self._request_id = rid
        self._state["id"] = rid

    def __aiter__(self) -> "ResponseStream":
        return self

    async def __anext__(self) -> Response:
        await self._start()
        try:
            resp = await self._buffer.get()
        except _Ended:
            self._state["id"] = None
            raise StopAsyncIteration from None
        except BaseException:
            self._state["id"] = None
            raise
        if self._check and resp.status is not None and resp.status >= 400:
            await self.aclose()
            raise ErrorResponse(resp)
        return resp

    async def __aenter__(self) -> "ResponseStream":
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancels the request if it is still pending."""
        rid = self._state["id"]
        self._state["id"] = None
        if rid is not None:
            self._client._cancel_request(rid)


# ----- the client -----------------------------------------------------------------------

class Client:
    """An MQTT client connected over asyncio; make one with :func:`connect`.

    All methods must be called from the event loop the client was started
    on. Commands (publish, subscribe, call, serve) are handed to the engine
    at once; their awaitables resolve when the protocol flow completes.
    """

    def __init__(
        self,
        url: str,
        *,
        ssl: Optional[_ssl.SSLContext] = None,
        reconnect: Union[bool, Backoff] = True,
        connect_timeout: float = 10.0,
        ws_headers: Optional[Dict[str, str]] = None,
        queue_size: int = 1000,
        overflow: str = "block",
        on_connect: Optional[Callable[["Client", Connected], Any]] = None,
        on_disconnect: Optional[Callable[["Client", Disconnected], Any]] = None,
        on_auth: Optional[Callable[["Client", AuthEvent], Any]] = None,
        **options: Any,
    ) -> None:
        self.url = url
        self._target = _Target(url)
        if ssl is not None and not self._target.secure:
            raise ValueError("an ssl context needs an mqtts://, ssl:// or wss:// URL")
        if overflow not in _OVERFLOW:
            raise ValueError(f"overflow must be one of {_OVERFLOW}, not {overflow!r}")
        self._ssl = ssl
        self._backoff: Optional[Backoff]
        if reconnect is True:
            self._backoff = Backoff()
        elif reconnect is False or reconnect is None:
            self._backoff = None
        else:
            self._backoff = reconnect
        self._connect_timeout = connect_timeout
        self._ws_headers = ws_headers
        self._queue_size = queue_size
        self._overflow = overflow
        self._room_waiter: Optional[asyncio.Future[None]] = None
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.on_auth = on_auth
        opts = dict(options)
        if self._target.username is not None:
            opts.setdefault("username", self._target.username)
        if self._target.password is not None:
            opts.setdefault("password", self._target.password.encode())
        opts.setdefault("offline_queue", True)
        opts.setdefault("connect_timeout_ms", int(connect_timeout * 1000))
        self._options = opts
        self._engine = _Engine(_now(), **opts)

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._transport: Optional[_Transport] = None
        self._reader: Optional[asyncio.Task[None]] = None
        self._supervisor: Optional[asyncio.Task[None]] = None
        self._conn_waiter: Optional[asyncio.Future[Connected]] = None
        self._conn_ended: Optional[asyncio.Future[None]] = None
        self._connected_event: Optional[asyncio.Event] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._timer_at: Optional[int] = None
        self._in_kick = False
        self._kick_again = False
        self._out: List[bytes] = []
        self._out_len = 0
        self._flush_pending = False

        self._pub_waiters: Dict[int, asyncio.Future[Published]] = {}
        self._suback: Dict[int, _Route] = {}
        self._unsuback: Dict[int, asyncio.Future[Unsubscribed]] = {}
        self._routes: List[_Route] = []
        self._filter_refs: Dict[str, int] = {}
        self._id_filters: Dict[int, List[str]] = {}
        self._next_sub_id = 1
        self._services: List[Service] = []
        self._calls: Dict[int, _Call] = {}
        self._handler_tasks: Set[asyncio.Task[None]] = set()

        self._started = False
        self._closing = False
        self._closed = False
        self._close_error: Optional[BaseException] = None
        self._ever_connected = False
        self.connected = False
        """True while a connection is open (CONNACK received)."""
        self.session_present = False
        """Session Present of the last CONNACK."""
        self.connack_properties: Optional[Properties] = None
        """The properties of the last CONNACK (5.0)."""
        self.last_disconnect: Optional[Disconnected] = None
        """The engine's last :class:`mqtt_engine.Disconnected` event."""
        self.connections = 0
        """How many connections were made (1 after connecting, +1 per reconnect)."""
        self.unrouted = 0
        """Messages that matched no live subscription (dropped)."""

    # -- properties --

    @property
    def engine(self) -> _Engine:
        """The sans-IO engine underneath (for its getters: ``stats``,
        ``server``, ``inflight``...). Do not call its commands directly."""
        return self._engine

    @property
    def client_id(self) -> str:
        """The client identifier (the one the server assigned, if it did)."""
        return self._engine.client_id

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran or the connection was lost for good."""
        return self._closed

    @property
    def subscriptions(self) -> List[str]:
        """The topic filters subscribed to now (subscriptions and services)."""
        return [f for f, n in self._filter_refs.items() if n > 0]

    # -- life cycle --

    async def start(self) -> "Client":
        """Connects (first attempt, no retry: errors raise
        :class:`ConnectError` or ``OSError``) and starts the background work.
        :func:`connect` calls it for you."""
        if self._started:
            raise RuntimeError("the client was already started")
        self._started = True
        self._loop = asyncio.get_running_loop()
        self._connected_event = asyncio.Event()
        try:
            await self._connect_once()
        except BaseException:
            self._closing = True
            transport = self._transport
            if transport is not None:
                self._flush_out()
                self._transport = None
                transport.close_soon()
            await self._stop_tasks()
            self._finish(None)
            raise
        self._supervisor = self._loop.create_task(self._supervise())
        return self

    def __await__(self) -> Generator[Any, None, "Client"]:
        return self.start().__await__()

    async def __aenter__(self) -> "Client":
        if not self._started:
            await self.start()
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    async def close(self, reason_code: int = 0, *, session_expiry_interval: Optional[int] = None) -> None:
        """Disconnects cleanly: DISCONNECT (with ``reason_code``; 0x04 asks the
        broker to publish the Will) is sent, the connection closed, handler
        tasks and background tasks cancelled and awaited; pending publishes
        and calls fail with :class:`ClientClosedError` and subscription
        iterators end. Safe to call twice."""
        if self._closing:
            if self._supervisor is not None and not self._supervisor.done():
                await asyncio.wait({self._supervisor})
            return
        self._closing = True
        self._room_made()
        for t in list(self._handler_tasks):
            t.cancel()
        if self._handler_tasks:
            await asyncio.wait(set(self._handler_tasks), timeout=_CLOSE_TIMEOUT)
        if self._engine.state != "closed":
            try:
                self._engine.disconnect(_now(), reason_code, session_expiry_interval=session_expiry_interval)
            except LocalProtocolError as e:
                log.debug("disconnect: %s", e)
            self._kick()
        transport = self._transport
        if transport is not None:
            self._flush_out()
            self._transport = None
            transport.close_soon()
        await self._stop_tasks()
        self._finish(None)

    async def _stop_tasks(self) -> None:
        """Lets the reader finish closing its transport, then stops the
        supervisor."""
        reader = self._reader
        if reader is not None and not reader.done():
            await asyncio.wait({reader}, timeout=_CLOSE_TIMEOUT + 1)
        for task in (reader, self._supervisor):
            if task is not None and not task.done():
                task.cancel()
        for task in (reader, self._supervisor):
            if task is not None and task is not asyncio.current_task():
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass

    def _finish(self, error: Optional[BaseException]) -> None:
        """The client is over: fail or end everything pending."""
        self._closed = True
        self.connected = False
        self._room_made()
        self._cancel_timer()
        exc: BaseException = error if error is not None else ClientClosedError("the client is closed")
        self._close_error = exc
        for fut in self._pub_waiters.values():
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()
        self._pub_waiters.clear()
        for ufut in self._unsuback.values():
            if not ufut.done():
                ufut.set_exception(exc)
                ufut.exception()
        self._unsuback.clear()
        for route in self._routes:
            route.fail(error)
        for route in self._suback.values():
            route.fail(error if error is not None else exc)
        self._suback.clear()
        for call in self._calls.values():
            call.fail(exc)
        self._calls.clear()
        for t in list(self._handler_tasks):
            t.cancel()
        if self._connected_event is not None:
            self._connected_event.set()
        if self._conn_waiter is not None and not self._conn_waiter.done():
            self._conn_waiter.set_exception(exc)
            self._conn_waiter.exception()

    def _check_open(self) -> None:
        if not self._started:
            raise ClientClosedError("not connected: use `async with aio.connect(...)` or `await client.start()`")
        if self._closed or self._closing:
            raise self._close_error if self._close_error is not None else ClientClosedError("the client is closed")

    async def wait_connected(self, timeout: Optional[float] = None) -> None:
        """Waits until a connection is open (returns at once if one is);
        raises ``asyncio.TimeoutError`` after ``timeout`` seconds and
        :class:`ClientClosedError` if the client closed."""
        self._check_open()
        assert self._connected_event is not None
        if not self.connected:
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        self._check_open()

    # -- connections --

    async def _connect_once(self) -> Connected:
        loop = asyncio.get_running_loop()
        transport = await _open_transport(self._target, self._ssl, self._ws_headers, self._connect_timeout)
        if self._closing:
            await transport.aclose()
            raise ClientClosedError("the client is closing")
        self._drop_out()
        self._transport = transport
        self._conn_waiter = loop.create_future()
        self._conn_ended = loop.create_future()
        self._reader = loop.create_task(self._read_loop(transport, self._conn_ended))
        try:
            self._engine.connect(_now())
        except LocalProtocolError:
            self._drop_out()
            self._transport = None
            transport.close_soon()
            raise
        self._kick()
        return await self._conn_waiter

    def _held_back(self) -> bool:
        """True while a subscription's ``block`` queue is full: reading
        waits, so that the broker (and TCP) hold the messages instead."""
        return any(r.buffer.full() for r in self._routes)

    def _room_made(self) -> None:
        w = self._room_waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def _wait_room(self) -> None:
        assert self._loop is not None
        self._room_waiter = self._loop.create_future()
        try:
            await self._room_waiter
        finally:
            self._room_waiter = None

    async def _read_loop(self, transport: _Transport, ended: "asyncio.Future[None]") -> None:
        try:
            while self._transport is transport:
                if self._held_back():
                    await self._wait_room()
                    continue
                data = await transport.read()
                if not data or self._transport is not transport:
                    break
                try:
                    self._engine.handle_bytes(_now(), data)
                except RemoteProtocolError as e:
                    log.warning("the broker broke the protocol: %s", e)
                except LocalProtocolError as e:  # events not drained: cannot happen here
                    log.error("handle_bytes: %s", e)
                self._kick()
        finally:
            if self._transport is transport:
                self._drop_out()
                self._transport = None
                self._engine.handle_closed(_now())
                self._kick()
            if self._conn_waiter is not None and not self._conn_waiter.done():
                self._conn_waiter.set_exception(ConnectError("the connection closed before CONNACK"))
                self._conn_waiter.exception()
            await transport.aclose()
            if not ended.done():
                ended.set_result(None)

    async def _supervise(self) -> None:
        """Waits for each connection to end and makes the next one."""
        while True:
            ended = self._conn_ended
            if ended is not None:
                await ended
            if self._closing:
                return
            backoff = self._backoff
            if backoff is None:
                self._finish(self._lost_error("the connection was lost (reconnect disabled)"))
                return
            attempt = 0
            while True:
                if backoff.max_attempts is not None and attempt >= backoff.max_attempts:
                    self._finish(self._lost_error(f"the connection was lost; {attempt} reconnect attempts failed"))
                    return
                await asyncio.sleep(backoff.delay(attempt))
                attempt += 1
                if self._closing:
                    return
                try:
                    await self._connect_once()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.info("reconnect attempt %d to %s failed: %s", attempt, self.url, e)
                    ended = self._conn_ended
                    if ended is not None:
                        await ended

    def _lost_error(self, message: str) -> ConnectionLostError:
        d = self.last_disconnect
        if d is not None:
            message += f": {d.cause} ({_code(d.reason_code)})"
            if d.reason_string:
                message += f" {d.reason_string}"
        return ConnectionLostError(message, d)

    # -- the drive loop --

    def _kick(self) -> None:
        """After every input or command: write what the engine has to send,
        dispatch its events, and schedule its next timeout."""
        if self._in_kick:
            self._kick_again = True
            return
        self._in_kick = True
        engine = self._engine
        try:
            while True:
                self._kick_again = False
                data = engine.transmit_all()
                if data:
                    self._send(data)
                ev = engine.poll_event()
                while ev is not None:
                    try:
                        self._on_event(ev)
                    except Exception:  # a bug or a user callback: never stop the loop
                        log.exception("while handling %r", ev)
                    ev = engine.poll_event()
                if not self._kick_again:
                    data = engine.transmit_all()
                    if data:
                        self._send(data)
                    if not self._kick_again:
                        break
            self._arm_timer()
        finally:
            self._in_kick = False

    def _after_publish(self) -> None:
        """The short form of :meth:`_kick` after a publish: it adds no timer
        (an earlier keep-alive timer only fires early) and normally no event."""
        engine = self._engine
        data = engine.transmit_all()
        if data:
            self._send(data)
        if not self._in_kick:
            ev = engine.poll_event()
            if ev is not None:
                self._on_event(ev)
                self._kick()

    def _send(self, data: bytes) -> None:
        """Queues bytes for the transport. Bytes from one turn of the event
        loop go out in one write (one system call for many packets); past
        _COALESCE bytes they go at once."""
        if self._transport is None:
            return
        self._out.append(data)
        self._out_len += len(data)
        if self._out_len >= _COALESCE:
            self._flush_out()
        elif not self._flush_pending:
            self._flush_pending = True
            assert self._loop is not None
            self._loop.call_soon(self._flush_out)

    def _flush_out(self) -> None:
        self._flush_pending = False
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._drop_out()
        transport = self._transport
        if transport is not None:
            transport.write(data)

    def _drop_out(self) -> None:
        self._out.clear()
        self._out_len = 0

    def _arm_timer(self) -> None:
        at = self._engine.poll_timeout()
        if self._timer is not None and self._timer_at is not None and at is not None and self._timer_at <= at:
            # A timer as early or earlier is set: keep it (the keep-alive
            # deadline moves with every packet sent; a timer that fires
            # early only re-arms).
            return
        if at is None and self._timer is None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is None or self._closed or self._loop is None:
            return
        delay = max(0, at - _now() + 1) / 1000.0
        self._timer = self._loop.call_later(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._engine.handle_timeout(_now())
        self._kick()

    def _on_event(self, ev: object) -> None:
        if isinstance(ev, Message):
            self._on_message(ev)
        elif isinstance(ev, Published):
            fut = self._pub_waiters.pop(ev.packet_id, None)
            if fut is not None and not fut.done():
                if ev.reason_code >= 0x80:
                    fut.set_exception(
                        PublishError("the broker refused the message", ev.reason_code, ev.packet_id, ev.reason_string)
                    )
                else:
                    fut.set_result(ev)
        elif isinstance(ev, Response):
            call = self._calls.get(ev.request_id)
            if call is not None:
                call.on_response(ev)
        elif isinstance(ev, RequestDone):
            call = self._calls.pop(ev.request_id, None)
            if call is not None:
                call.on_done(ev)
        elif isinstance(ev, Request):
            self._on_request(ev)
        elif isinstance(ev, Subscribed):
            route = self._suback.pop(ev.packet_id, None)
            if route is not None:
                route.on_suback(ev)
        elif isinstance(ev, Unsubscribed):
            ufut = self._unsuback.pop(ev.packet_id, None)
            if ufut is not None and not ufut.done():
                ufut.set_result(ev)
        elif isinstance(ev, PublishDropped):
            if ev.packet_id is not None:
                fut = self._pub_waiters.pop(ev.packet_id, None)
                if fut is not None and not fut.done():
                    fut.set_exception(
                        PublishDroppedError(
                            f"the message to {ev.topic!r} was dropped ({ev.reason})",
                            ev.reason,
                            ev.reason_code,
                            ev.packet_id,
                        )
                    )
            else:
                log.info("a QoS 0 message to %r was dropped (%s)", ev.topic, ev.reason)
        elif isinstance(ev, Connected):
            self._on_connected(ev)
        elif isinstance(ev, Disconnected):
            self._on_disconnected(ev)
        elif isinstance(ev, AuthEvent):
            if self.on_auth is not None:
                self._callback(self.on_auth, ev)
            else:
                log.warning("an AUTH challenge from the broker and no on_auth callback: %r", ev)
        else:
            log.debug("event not handled: %r", ev)

    def _on_connected(self, ev: Connected) -> None:
        resumed = self._ever_connected
        self._ever_connected = True
        self.connected = True
        self.connections += 1
        self.session_present = ev.session_present
        self.connack_properties = ev.properties
        if self._conn_waiter is not None and not self._conn_waiter.done():
            self._conn_waiter.set_result(ev)
        if resumed and not ev.session_present:
            self._resubscribe()
        if self._connected_event is not None:
            self._connected_event.set()
        if self.on_connect is not None:
            self._callback(self.on_connect, ev)

    def _on_disconnected(self, ev: Disconnected) -> None:
        self.connected = False
        self.last_disconnect = ev
        if self._connected_event is not None and not self._closed:
            self._connected_event.clear()
        if self._conn_waiter is not None and not self._conn_waiter.done():
            text = f"connection ended before it was open: {ev.cause}"
            if ev.reason_string:
                text += f": {ev.reason_string}"
            code = ev.reason_code if ev.cause == "refused" or ev.reason_code >= 0x80 else None
            self._conn_waiter.set_exception(ConnectError(text, code))
            self._conn_waiter.exception()
        transport = self._transport
        if transport is not None and ev.cause != "connection_lost":
            # the engine ended it (our DISCONNECT, theirs, a violation, a
            # timeout): send what it queued and close
            self._flush_out()
            self._transport = None
            self._room_made()
            transport.write(self._engine.transmit_all())
            assert self._loop is not None
            transport.close_soon_or_abort(self._loop)
        if ev.cause != "client":
            log.info("disconnected from %s: %s %s", self.url, ev.cause, _code(ev.reason_code))
        if self.on_disconnect is not None:
            self._callback(self.on_disconnect, ev)

    def _callback(self, fn: Callable[["Client", Any], Any], ev: Any) -> None:
        try:
            result = fn(self, ev)
            if inspect.isawaitable(result):
                self._spawn(_await_quietly(result))
        except Exception:
            log.exception("in a connection callback")

    def _resubscribe(self) -> None:
        """The broker did not keep our session: make the subscriptions again
        (those still awaiting their SUBACK are re-sent by the engine)."""
        for route in self._routes:
            if route.released or route.granted is None:
                continue
            self._send_subscribe(route)

    # -- enhanced authentication, manual acks --

    def auth(self, reason_code: int = 0x18, *, method: Optional[str] = None, data: Optional[bytes] = None) -> None:
        """Sends AUTH (MQTT 5 enhanced authentication): 0x18 answers a
        challenge received by ``on_auth(client, Auth)`` (also during
        connect), 0x19 starts a re-authentication. The method defaults to
        the ``authentication_method`` option."""
        if self._closed:
            raise ClientClosedError("the client is closed")
        self._engine.auth(_now(), reason_code, method=method, data=data)
        self._kick()

    def ack(self, msg: Message, reason_code: int = 0) -> None:
        """With the ``manual_ack=True`` option: acknowledges a QoS 1 / 2
        message (a reason code of 0x80 or more refuses it, 5.0). Acks go out
        in the order the messages arrived."""
        if msg.packet_id is None:
            return
        self._engine.ack(_now(), msg.packet_id, reason_code)
        self._kick()

    # -- messages --

    def _on_message(self, msg: Message) -> None:
        topic = msg.topic
        hits = [r for r in self._routes if r.deliver and r.matches(topic)]
        if not hits:
            self.unrouted += 1
            return
        if len(hits) > 1 and self._id_filters:
            texts = {f.text for r in hits for f in r.filters if f.matches(topic)}
            ids = msg.properties.subscription_identifiers if len(texts) > 1 else None
            if ids:
                # Overlapping filters: the broker sends a copy per matching
                # subscription, each with its Subscription Identifier; each
                # copy goes only to the routes of the filters it was sent
                # for, so nothing is delivered twice.
                wanted: Set[str] = set()
                for i in ids:
                    wanted.update(self._id_filters.get(i, ()))
                hits = [r for r in hits if any(f.text in wanted and f.matches(topic) for f in r.filters)]
        for route in hits:
            route.buffer.put(msg)

    async def publish(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[Properties] = None,
    ) -> Optional[Published]:
        """Publishes a message.

        QoS 0 resolves once the message is handed to the transport (or
        queued while reconnecting) and returns None. QoS 1 and 2 resolve when
        the flow completes (PUBACK, PUBCOMP), also across a reconnect that
        resumes the session, and return the :class:`mqtt_engine.Published`
        event (``reason_code`` 0x10 means nobody was subscribed). Raises
        :class:`PublishError` if the broker refused it (reason code 0x80 and
        above), :class:`PublishDroppedError` if the session it was in was
        lost, ``mqtt_engine.LocalProtocolError`` for an invalid message
        (nothing sent). Cancelling the awaiting task does not un-send the
        message; the client stays usable.
        """
        if self._closed or self._closing or not self._started:
            self._check_open()
        if type(payload) is not bytes and not isinstance(payload, str):
            payload = _bytes(payload)
        pid = self._engine.publish(_now(), topic, payload, qos, retain, properties=properties)
        if pid is None:
            self._after_publish()
            transport = self._transport
            if transport is not None and transport.congested():
                await transport.drain()
            return None
        assert self._loop is not None
        fut: asyncio.Future[Published] = self._loop.create_future()
        self._pub_waiters[pid] = fut
        self._after_publish()
        try:
            return await fut
        except asyncio.CancelledError:
            if self._pub_waiters.get(pid) is fut:
                del self._pub_waiters[pid]
            raise

    def subscribe(
        self,
        topic_filter: Union[str, Sequence[Union[str, Tuple[str, int]]]],
        qos: int = 1,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
        properties: Optional[Properties] = None,
        queue_size: Optional[int] = None,
        overflow: Optional[str] = None,
    ) -> Subscription:
        """Subscribes to one filter or a list (strings, or ``(filter, qos)``
        pairs) and returns a :class:`Subscription`: iterate it with
        ``async for``, or use it with ``async with``. The SUBSCRIBE is sent
        now. Filters may use ``+`` and ``#`` and be shared
        (``$share/group/filter``). ``queue_size`` and ``overflow`` override
        the client's defaults for this subscription."""
        return self._subscribe(
            topic_filter,
            qos,
            no_local,
            retain_as_published,
            retain_handling,
            properties,
            _AsyncBuffer(
                self._queue_size if queue_size is None else queue_size,
                self._overflow if overflow is None else overflow,
            ),
        )

    def _subscribe(
        self,
        topic_filter: Union[str, Sequence[Union[str, Tuple[str, int]]]],
        qos: int,
        no_local: bool,
        retain_as_published: bool,
        retain_handling: int,
        properties: Optional[Properties],
        buffer: _AsyncBuffer[Message],
    ) -> Subscription:
        self._check_open()
        specs: List[Tuple[str, int]]
        if isinstance(topic_filter, str):
            specs = [(topic_filter, qos)]
        else:
            specs = [(f, qos) if isinstance(f, str) else (f[0], f[1]) for f in topic_filter]
        if not specs:
            raise ValueError("subscribe needs at least one topic filter")
        options: Dict[str, Any] = {
            "no_local": no_local,
            "retain_as_published": retain_as_published,
            "retain_handling": retain_handling,
            "properties": properties,
        }
        assert self._loop is not None
        buffer.attach(self._room_made, self._loop)
        route = _Route(specs, options, buffer)
        self._send_subscribe(route)
        self._routes.append(route)
        for f, _ in specs:
            self._filter_refs[f] = self._filter_refs.get(f, 0) + 1
        return Subscription(self, route)

    def _send_subscribe(self, route: _Route) -> None:
        options = route.options
        sid = 0
        if route.deliver and self._engine.version == 5 and self._engine.server.get("subscription_identifiers_available"):
            sid = self._next_sub_id
            self._next_sub_id = sid + 1 if sid < 268_435_455 else 1
            given: Optional[Properties] = options.get("properties")
            options = dict(options)
            options["properties"] = Properties(
                subscription_identifiers=[sid],
                user_properties=given.user_properties if given is not None else None,
            )
        pid = self._engine.subscribe(_now(), list(route.specs), **options)
        self._suback[pid] = route
        if sid:
            self._id_filters[sid] = [f for f, _ in route.specs]
        self._kick()

    def _release_soon(self, route: _Route) -> None:
        """A Subscription object was dropped: unsubscribe from the loop."""
        loop = self._loop
        if loop is None or route.released or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._release_now, route)
        except RuntimeError:
            pass

    def _release_now(self, route: _Route, service: Optional["Service"] = None) -> Optional[int]:
        """Stops routing to ``route``; sends UNSUBSCRIBE for the filters no
        other route uses (for a ``service``, through the engine's ``unserve``,
        so that it stops taking the filter's messages for requests). Returns
        its packet id, if one was sent."""
        if route.released:
            return None
        route.released = True
        route.buffer.close()
        if route in self._routes:
            self._routes.remove(route)
        gone: List[str] = []
        for f, _ in route.specs:
            n = self._filter_refs.get(f, 0) - 1
            if n <= 0:
                self._filter_refs.pop(f, None)
                gone.append(f)
            else:
                self._filter_refs[f] = n
        if gone and self._id_filters:
            for sid in list(self._id_filters):
                left = [f for f in self._id_filters[sid] if f not in gone]
                if left:
                    self._id_filters[sid] = left
                else:
                    del self._id_filters[sid]
        if not gone or self._closed or self._closing:
            return None
        try:
            if service is not None and gone == [service.full_filter]:
                pid = self._engine.unserve(_now(), service.filter, group=service.group)
            else:
                pid = self._engine.unsubscribe(_now(), gone)
        except LocalProtocolError as e:
            log.debug("unsubscribe %s: %s", gone, e)
            return None
        self._kick()
        return pid

    async def _release(self, route: _Route, service: Optional["Service"] = None) -> None:
        pid = self._release_now(route, service)
        if pid is None or self._loop is None:
            return
        fut: asyncio.Future[Unsubscribed] = self._loop.create_future()
        self._unsuback[pid] = fut
        try:
            await fut
        except ClientClosedError:
            pass

    # -- request / response --

    async def _start_request(
        self,
        topic: str,
        payload: Optional[Payload],
        timeout: float,
        collect: str,
        max_responses: Optional[int],
        quiet: Optional[float],
        correlation_data: Optional[bytes],
        properties: Optional[Properties],
        buffer: Optional[_AsyncBuffer[Response]],
    ) -> Tuple[int, _Call]:
        self._check_open()
        started = time.monotonic()
        if not self.connected:
            try:
                await self.wait_connected(timeout)
            except asyncio.TimeoutError:
                raise RequestTimeout("request timed out waiting for a connection", "timeout") from None
        remaining = max(0.001, timeout - (time.monotonic() - started))
        rid = self._engine.request(
            _now(),
            topic,
            _bytes(payload),
            max(1, int(remaining * 1000)),
            collect=collect,  # type: ignore[arg-type]
            max_responses=max_responses,
            quiet_ms=None if quiet is None else max(1, int(quiet * 1000)),
            correlation_data=correlation_data,
            properties=properties,
        )
        call = _Call(buffer)
        self._calls[rid] = call
        self._kick()
        return rid, call

    def _cancel_request(self, rid: int) -> None:
        if self._calls.pop(rid, None) is None or self._closed:
            return
        try:
            self._engine.cancel(_now(), rid)
        except LocalProtocolError:
            pass
        self._kick()

    def _cancel_soon(self, state: Dict[str, Optional[int]]) -> None:
        rid = state.get("id")
        loop = self._loop
        if rid is None or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._cancel_request, rid)
        except RuntimeError:
            pass

    async def _await_call(self, rid: int, call: _Call) -> RequestDone:
        try:
            return await call.done
        except asyncio.CancelledError:
            self._cancel_request(rid)
            raise

    async def call(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
        correlation_data: Optional[bytes] = None,
        check: bool = True,
    ) -> Response:
        """Sends a request to ``topic`` and returns its
        :class:`mqtt_engine.Response` (``payload``, ``status``, ``message``,
        ``properties``).

        Raises :class:`RequestTimeout` after ``timeout`` seconds,
        :class:`NoResponders` at once when the broker says nobody serves the
        topic, :class:`RequestRefused` / :class:`RequestSessionLost` for the
        other ends, and :class:`ErrorResponse` for an answer with a status of
        400 or more (unless ``check`` is false). Cancelling the awaiting task
        cancels the request in the engine; a late answer is then dropped.
        While reconnecting, the call first waits (within ``timeout``) for the
        connection. Needs MQTT 5.0. A client may call a service it serves
        itself.
        """
        rid, c = await self._start_request(
            topic, payload, timeout, "one", None, None, correlation_data, properties, None
        )
        done = await self._await_call(rid, c)
        if done.end != "completed" or not c.responses:
            raise _request_error(done)
        resp = c.responses[0]
        if check and resp.status is not None and resp.status >= 400:
            raise ErrorResponse(resp)
        return resp

    def call_stream(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
        correlation_data: Optional[bytes] = None,
        check: bool = True,
    ) -> ResponseStream:
        """Sends a request whose answer is a stream of parts and returns an
        async iterator of them (:class:`ResponseStream`):
        ``async for part in c.call_stream("svc/logs", b"tail")``. ``timeout``
        bounds the whole stream."""
        self._check_open()
        return ResponseStream(self, topic, payload, timeout, properties, correlation_data, check)

    async def collect(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        max_responses: Optional[int] = None,
        quiet: Optional[float] = None,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
    ) -> List[Response]:
        """Sends a request to many responders (a broadcast query) and returns
        the answers that came: until ``max_responses`` answered, until
        ``quiet`` seconds pass without an answer (after the first), or until
        ``timeout``. Returns an empty list when nobody answered in time or
        the broker reported no responders; raises :class:`RequestRefused` /
        :class:`RequestSessionLost` otherwise. Error answers are included."""
        rid, c = await self._start_request(
            topic, payload, timeout, "many", max_responses, quiet, None, properties, None
        )
        done = await self._await_call(rid, c)
        if done.end in ("completed", "timeout", "no_responders"):
            return c.responses
        raise _request_error(done)

    def serve(
        self,
        topic_filter: str,
        handler: Handler,
        *,
        group: Optional[str] = None,
        qos: int = 1,
    ) -> Service:
        """Serves requests on ``topic_filter`` (wildcards allowed) with
        ``handler`` and returns the :class:`Service` (``await`` it to wait for
        the SUBACK).

        The handler gets the :class:`mqtt_engine.Request` (``payload``,
        ``topic``, ``properties``, ``correlation_data``, ``deadline_ms``) and
        returns bytes, str, None (empty) or a :class:`Reply` (status, message,
        properties); it may be ``async`` (requests are then handled
        concurrently, one task each) and may be a generator (sync or async)
        whose items are sent as the parts of a streamed answer. An exception
        becomes an error answer: status 500 and the exception's text, or the
        status and message of a :class:`HandlerError`. Sync handlers run on
        the event loop: keep them short. With ``group``, instances in the same
        group share the requests (``$share/group/filter``). Messages on the
        filter without a Response Topic are not requests and are not passed
        to the handler.
        """
        self._check_open()
        svc = Service(self, topic_filter, handler, group, qos)
        pid = self._engine.serve(_now(), topic_filter, group=group, qos=qos)
        self._suback[pid] = svc.route
        self._routes.append(svc.route)
        self._filter_refs[svc.full_filter] = self._filter_refs.get(svc.full_filter, 0) + 1
        self._services.append(svc)
        self._kick()
        return svc

    def _on_request(self, req: Request) -> None:
        svc: Optional[Service] = None
        for s in self._services:
            if s.matches(req.topic):
                svc = s
                break
        if svc is None:
            self._respond(req.request_id, Reply(b"", status=404, message="not served here"), False)
            return
        try:
            result = svc.handler(req)
        except Exception as e:
            svc.failed += 1
            self._respond(req.request_id, _error_reply(e), False)
            return
        if inspect.isawaitable(result) or hasattr(result, "__anext__"):
            self._spawn(self._finish_handler(svc, req, result))
        elif isinstance(result, Iterator) and not isinstance(result, (bytes, str)):
            self._stream_sync(svc, req, result)
        else:
            self._answer(svc, req, result)

    def _answer(self, svc: Service, req: Request, result: object) -> None:
        try:
            reply = _as_reply(result)
            svc.handled += 1
        except TypeError as e:
            svc.failed += 1
            reply = _error_reply(e)
        self._respond(req.request_id, reply, False)

    def _stream_sync(self, svc: Service, req: Request, parts: Iterator[object]) -> None:
        prev: Any = _NOTHING
        try:
            for part in parts:
                if prev is not _NOTHING:
                    self._respond(req.request_id, _as_reply(prev), True)
                prev = part
        except Exception as e:
            svc.failed += 1
            if prev is not _NOTHING:
                self._respond(req.request_id, _as_reply(prev), True)
            self._respond(req.request_id, _error_reply(e), False)
            return
        self._answer(svc, req, b"" if prev is _NOTHING else prev)

    async def _finish_handler(self, svc: Service, req: Request, result: Any) -> None:
        prev: Any = _NOTHING
        try:
            if hasattr(result, "__anext__"):
                async for part in result:
                    if prev is not _NOTHING:
                        self._respond(req.request_id, _as_reply(prev), True)
                    prev = part
                value: object = b"" if prev is _NOTHING else prev
            else:
                value = await result
        except asyncio.CancelledError:
            raise
        except Exception as e:
            svc.failed += 1
            if prev is not _NOTHING:
                self._respond(req.request_id, _as_reply(prev), True)
            self._respond(req.request_id, _error_reply(e), False)
            return
        self._answer(svc, req, value)

    def _respond(self, request_id: int, reply: Reply, more: bool) -> None:
        if self._closed:
            return
        try:
            self._engine.respond(
                _now(),
                request_id,
                _bytes(reply.payload),
                status=reply.status,
                message=reply.message,
                more=more,
                properties=reply.properties,
            )
        except LocalProtocolError as e:
            log.info("could not answer request %d: %s", request_id, e)
        self._kick()

    def _spawn(self, coro: Awaitable[None]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(_as_coroutine(coro))
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_done)

    def _handler_done(self, task: "asyncio.Task[None]") -> None:
        self._handler_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a handler task failed", exc_info=task.exception())

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self.connected else "connecting")
        return f"<mqtt_engine.aio.Client {self.url} {self.client_id!r} {state}>"


_NOTHING = object()


async def _as_coroutine(aw: Awaitable[None]) -> None:
    await aw


async def _await_quietly(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        log.exception("in a connection callback")


def connect(
    url: str,
    *,
    client_id: str = "",
    ssl: Optional[_ssl.SSLContext] = None,
    reconnect: Union[bool, Backoff] = True,
    connect_timeout: float = 10.0,
    ws_headers: Optional[Dict[str, str]] = None,
    queue_size: int = 1000,
    overflow: str = "block",
    on_connect: Optional[Callable[[Client, Connected], Any]] = None,
    on_disconnect: Optional[Callable[[Client, Disconnected], Any]] = None,
    on_auth: Optional[Callable[[Client, AuthEvent], Any]] = None,
    **options: Any,
) -> Client:
    """Connects to the broker at ``url``; use as ``async with connect(url) as c:``
    (disconnects on exit) or ``c = await connect(url)`` (then ``await c.close()``).

    - ``client_id``: the Client Identifier ("" lets the broker assign one).
    - ``ssl``: an ``ssl.SSLContext`` for ``mqtts://``, ``ssl://``, ``wss://``
      (default: ``ssl.create_default_context()``).
    - ``reconnect``: True (default :class:`Backoff`), a :class:`Backoff`, or
      False. The first connection is never retried: its failure raises
      :class:`ConnectError` or ``OSError``. Later connections resume the
      session when ``session_expiry_interval`` is set (Clean Start 0; the
      engine re-sends messages in flight, and their ``publish`` calls
      complete); if the broker did not keep it, the subscriptions are made
      again. Without a session expiry, QoS 1 / 2 messages in flight when the
      connection drops fail with :class:`PublishDroppedError`; messages
      published while disconnected are queued and sent after reconnecting.
    - ``connect_timeout``: seconds for the transport and for CONNACK.
    - ``ws_headers``: extra HTTP headers of the WebSocket handshake.
    - ``queue_size`` / ``overflow``: the default bound and overflow policy
      of subscription queues (see :class:`Subscription`).
    - ``on_connect(client, Connected)`` / ``on_disconnect(client,
      Disconnected)``: called (may be async) on each connection change.
    - ``on_auth(client, Auth)``: an AUTH challenge of MQTT 5 enhanced
      authentication (with ``authentication_method``); answer it with
      :meth:`Client.auth`.
    - any other keyword: an option of :class:`mqtt_engine.Client`
      (``keep_alive``, ``session_expiry_interval``, ``will``, ``username``,
      ``password``, ``version``, ``clean_start``, ``receive_maximum``...).
    """
    return Client(
        url,
        client_id=client_id,
        ssl=ssl,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
        ws_headers=ws_headers,
        queue_size=queue_size,
        overflow=overflow,
        on_connect=on_connect,
        on_disconnect=on_disconnect,
        on_auth=on_auth,
        **options,
    )
