"""A blocking MQTT client on the mqtt-engine, for code without asyncio.

Five minutes with it::

    from mqtt_engine import sync

    with sync.connect("mqtt://localhost:1883", client_id="demo") as c:
        c.publish("sensors/1/temp", b"21.5", qos=1)   # returns once acknowledged

        with c.subscribe("sensors/+/temp", qos=1) as sub:
            msg = sub.next(timeout=5)                # or: for msg in sub: ...
            print(msg.topic, msg.payload)

        c.serve("svc/echo", lambda req: req.payload)    # handlers run in worker threads
        print(c.call("svc/echo", b"hi", timeout=5).payload)

The client runs :mod:`mqtt_engine.aio` on an event loop in a background
thread of its own; every method hands its work to that loop and waits for
the outcome, so a client may be used from several threads at once. The
exceptions, options and URLs are those of :mod:`mqtt_engine.aio`. Do not
call a client's methods from its own callbacks (``on_connect``,
``on_disconnect``), which run on its loop thread; request handlers run in a
thread pool and may use the client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl as _ssl
import threading
from types import TracebackType
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from ._native import Connected, Disconnected, Message, Properties, Published, Request, Response
from .aio import (
    Backoff,
    ClientClosedError,
    ConnectError,
    ConnectionLostError,
    ErrorResponse,
    HandlerError,
    NoResponders,
    Payload,
    PublishDroppedError,
    PublishError,
    Reply,
    RequestError,
    RequestRefused,
    RequestSessionLost,
    RequestTimeout,
    SubscribeError,
    _as_reply,
    _Ended,
    _SyncBuffer,
    topic_matches,
)
from .aio import Client as AsyncClient
from .aio import ResponseStream as _AsyncResponseStream
from .aio import Service as _AsyncService
from .aio import Subscription as _AsyncSubscription

__all__ = [
    "connect",
    "Client",
    "Subscription",
    "Service",
    "ResponseIterator",
    "Backoff",
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
]

T = TypeVar("T")

_MARGIN = 5.0  # seconds granted beyond a request's own timeout before giving up on the loop


class Subscription:
    """Messages on one or more topic filters, from :meth:`Client.subscribe`
    (which returns once the broker acknowledged it).

    ``sub.next(timeout=...)`` returns the next message or raises
    ``TimeoutError``; ``for msg in sub:`` blocks for each message and ends when
    the client closes. ``with c.subscribe(...) as sub:`` unsubscribes on exit,
    as do :meth:`unsubscribe` and dropping the object. The queue bound and
    overflow policy are those of :class:`mqtt_engine.aio.Subscription`.
    """

    def __init__(self, client: "Client", inner: _AsyncSubscription, buffer: "_SyncBuffer[Message]") -> None:
        self._client = client
        self._inner = inner
        self._buffer = buffer

    @property
    def filters(self) -> List[str]:
        """The topic filters, as subscribed."""
        return self._inner.filters

    @property
    def granted(self) -> Optional[List[int]]:
        """The SUBACK's reason codes (granted QoS per filter)."""
        return self._inner.granted

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full."""
        return self._buffer.dropped

    def __len__(self) -> int:
        """Messages waiting in the queue."""
        return len(self._buffer)

    def next(self, timeout: Optional[float] = None) -> Message:
        """The next message; waits up to ``timeout`` seconds (None: for ever).
        Raises ``TimeoutError`` when none came, ``StopIteration`` when the
        subscription or the client ended, :class:`ConnectionLostError` if the
        connection was lost for good."""
        try:
            return self._buffer.get_blocking(timeout)
        except _Ended:
            raise StopIteration from None

    def get(self, timeout: Optional[float] = None) -> Optional[Message]:
        """Like :meth:`next` but returns None on timeout or at the end."""
        try:
            return self._buffer.get_blocking(timeout)
        except (_Ended, TimeoutError):
            return None

    def __iter__(self) -> Iterator[Message]:
        return self

    def __next__(self) -> Message:
        return self.next(None)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.unsubscribe()

    def unsubscribe(self, timeout: Optional[float] = None) -> None:
        """Unsubscribes (waits for the UNSUBACK up to ``timeout``); queued
        messages stay readable with :meth:`get`."""
        if self._client.closed:
            self._buffer.close()
            return
        self._client._run(self._inner.unsubscribe(), timeout if timeout is not None else self._client.timeout)

    def __repr__(self) -> str:
        return f"<sync.Subscription {self.filters}>"


class Service:
    """Requests served on a topic filter, from :meth:`Client.serve`: runs
    until :meth:`stop` (or ``with`` exit) or the client closes."""

    def __init__(self, client: "Client", inner: _AsyncService) -> None:
        self._client = client
        self._inner = inner

    @property
    def filter(self) -> str:
        """The topic filter served."""
        return self._inner.filter

    @property
    def handled(self) -> int:
        """Requests answered by the handler."""
        return self._inner.handled

    @property
    def failed(self) -> int:
        """Requests whose handler raised (answered with an error status)."""
        return self._inner.failed

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stops serving (unsubscribes)."""
        if not self._client.closed:
            self._client._run(self._inner.stop(), timeout if timeout is not None else self._client.timeout)

    def __enter__(self) -> "Service":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<sync.Service {self.filter!r} handled={self.handled}>"


class ResponseIterator:
    """The parts of a streamed answer, from :meth:`Client.call_stream`: a
    blocking iterator that ends after the last part and raises a
    :class:`RequestError` subclass if the request ended otherwise. ``close()``
    (or ``with`` exit, or dropping it) cancels the request."""

    def __init__(
        self, client: "Client", inner: _AsyncResponseStream, buffer: "_SyncBuffer[Response]", check: bool
    ) -> None:
        self._client = client
        self._inner = inner
        self._buffer = buffer
        self._check = check

    def __iter__(self) -> Iterator[Response]:
        return self

    def __next__(self) -> Response:
        try:
            resp = self._buffer.get_blocking(None)
        except _Ended:
            raise StopIteration from None
        if self._check and resp.status is not None and resp.status >= 400:
            self.close()
            raise ErrorResponse(resp)
        return resp

    def close(self) -> None:
        """Cancels the request if it is still pending."""
        if not self._client.closed:
            self._client._run(self._inner.aclose(), self._client.timeout)

    def __enter__(self) -> "ResponseIterator":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class Client:
    """A blocking MQTT client; make one with :func:`connect`.

    Thread-safe: each method runs on the client's own event-loop thread and
    blocks the caller until done. ``timeout`` (seconds) bounds the methods
    that wait for the broker and take no timeout of their own.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str = "",
        ssl: Optional[_ssl.SSLContext] = None,
        reconnect: Union[bool, Backoff] = True,
        connect_timeout: float = 10.0,
        timeout: float = 30.0,
        handler_threads: int = 8,
        ws_headers: Optional[Dict[str, str]] = None,
        queue_size: int = 1000,
        overflow: str = "block",
        on_connect: Optional[Callable[[AsyncClient, Connected], Any]] = None,
        on_disconnect: Optional[Callable[[AsyncClient, Disconnected], Any]] = None,
        **options: Any,
    ) -> None:
        self.timeout = timeout
        self._handler_threads = handler_threads
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._pool_lock = threading.Lock()
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, name="mqtt-engine-sync", daemon=True)
        self._thread.start()
        kwargs: Dict[str, Any] = dict(
            client_id=client_id,
            ssl=ssl,
            reconnect=reconnect,
            connect_timeout=connect_timeout,
            ws_headers=ws_headers,
            queue_size=queue_size,
            overflow=overflow,
            on_connect=on_connect,
            on_disconnect=on_disconnect,
            **options,
        )

        async def make() -> AsyncClient:
            return AsyncClient(url, **kwargs)

        try:
            self._aio: AsyncClient = self._run(make(), timeout)
        except BaseException:
            self._stop_thread()
            raise
        self.url = url

    def _thread_main(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _stop_thread(self) -> None:
        self._closed = True
        if not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:
                pass
        if threading.current_thread() is not self._thread:
            self._thread.join(10)
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _run(self, coro: Awaitable[T], timeout: Optional[float]) -> T:
        """Runs ``coro`` on the client's loop and waits for it."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a sync client's method was called from its own event-loop thread")
        if self._loop.is_closed():
            if asyncio.iscoroutine(coro):
                coro.close()
            raise ClientClosedError("the client is closed")

        async def wrap() -> T:
            return await coro

        fut = asyncio.run_coroutine_threadsafe(wrap(), self._loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            # (RequestTimeout is a TimeoutError too: then the work is done)
            if fut.done():
                return fut.result()
            fut.cancel()
            raise TimeoutError("the operation did not complete within the timeout") from None
        except concurrent.futures.CancelledError:
            raise ClientClosedError("the client is closed") from None

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Calls ``fn`` on the client's loop and returns its result."""

        async def call() -> T:
            return fn()

        return self._run(call(), self.timeout)

    # -- life cycle --

    def start(self) -> "Client":
        """Connects (the first connection is not retried: its failure raises
        :class:`ConnectError` or ``OSError``). :func:`connect` calls it."""
        try:
            self._run(self._aio.start(), None)
        except BaseException:
            self._stop_thread()
            raise
        return self

    def close(self, reason_code: int = 0) -> None:
        """Disconnects cleanly (DISCONNECT sent), stops the background thread
        and the handler threads. Safe to call twice."""
        if self._closed:
            return
        try:
            self._run(self._aio.close(reason_code), self.timeout)
        finally:
            self._stop_thread()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], e: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once closed (or the connection was lost for good)."""
        return self._closed or self._aio.closed

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._aio.connected

    @property
    def client_id(self) -> str:
        """The client identifier (the one the server assigned, if it did)."""
        return self._aio.client_id

    @property
    def aio(self) -> AsyncClient:
        """The asyncio client underneath (use it only from its loop thread)."""
        return self._aio

    @property
    def connections(self) -> int:
        """How many connections were made (1, +1 per reconnect)."""
        return self._aio.connections

    @property
    def session_present(self) -> bool:
        """Session Present of the last CONNACK."""
        return self._aio.session_present

    def wait_connected(self, timeout: Optional[float] = None) -> None:
        """Waits until a connection is open; ``TimeoutError`` otherwise."""
        try:
            self._run(self._aio.wait_connected(timeout), None if timeout is None else timeout + _MARGIN)
        except asyncio.TimeoutError:
            raise TimeoutError("not connected within the timeout") from None

    # -- commands --

    def publish(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[Properties] = None,
        timeout: Optional[float] = None,
    ) -> Optional[Published]:
        """Publishes; blocks until written (QoS 0) or acknowledged (QoS 1 and
        2, returning the :class:`mqtt_engine.Published` event). Raises as
        :meth:`mqtt_engine.aio.Client.publish`, and ``TimeoutError`` after
        ``timeout`` (default: the client's) without an acknowledgement; the
        message may still be delivered then."""
        return self._run(
            self._aio.publish(topic, payload, qos, retain, properties=properties),
            self.timeout if timeout is None else timeout,
        )

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
        timeout: Optional[float] = None,
    ) -> Subscription:
        """Subscribes and returns once the broker acknowledged it (raises
        :class:`SubscribeError` if it refused). The returned
        :class:`Subscription` yields the matching messages."""
        aio = self._aio
        buffer: _SyncBuffer[Message] = _SyncBuffer(
            aio._queue_size if queue_size is None else queue_size,
            aio._overflow if overflow is None else overflow,
        )

        def make() -> _AsyncSubscription:
            return aio._subscribe(
                topic_filter, qos, no_local, retain_as_published, retain_handling, properties, buffer
            )

        inner = self._on_loop(make)
        sub = Subscription(self, inner, buffer)
        self._run(inner.wait_subscribed(), self.timeout if timeout is None else timeout)
        return sub

    def call(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
        correlation_data: Optional[bytes] = None,
        check: bool = True,
    ) -> Response:
        """Sends a request and returns its :class:`mqtt_engine.Response`;
        raises as :meth:`mqtt_engine.aio.Client.call` (:class:`RequestTimeout`,
        :class:`NoResponders`, :class:`ErrorResponse`...)."""
        return self._run(
            self._aio.call(
                topic,
                payload,
                timeout=timeout,
                properties=properties,
                correlation_data=correlation_data,
                check=check,
            ),
            timeout + _MARGIN,
        )

    def call_stream(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
        correlation_data: Optional[bytes] = None,
        check: bool = True,
    ) -> ResponseIterator:
        """Sends a request answered in parts; returns a blocking iterator of
        the parts (:class:`ResponseIterator`)."""
        aio = self._aio
        buffer: _SyncBuffer[Response] = _SyncBuffer(0, "drop_oldest")

        def make() -> _AsyncResponseStream:
            aio._check_open()
            return _AsyncResponseStream(aio, topic, payload, timeout, properties, correlation_data, False, buffer)

        inner = self._on_loop(make)
        it = ResponseIterator(self, inner, buffer, check)
        self._run(inner._start(), timeout + _MARGIN)
        return it

    def collect(
        self,
        topic: str,
        payload: Optional[Payload] = b"",
        *,
        max_responses: Optional[int] = None,
        quiet: Optional[float] = None,
        timeout: float = 10.0,
        properties: Optional[Properties] = None,
    ) -> List[Response]:
        """Sends a request to many responders and returns the answers that
        came (see :meth:`mqtt_engine.aio.Client.collect`)."""
        return self._run(
            self._aio.collect(
                topic, payload, max_responses=max_responses, quiet=quiet, timeout=timeout, properties=properties
            ),
            timeout + _MARGIN,
        )

    def serve(
        self,
        topic_filter: str,
        handler: Callable[[Request], Any],
        *,
        group: Optional[str] = None,
        qos: int = 1,
        timeout: Optional[float] = None,
    ) -> Service:
        """Serves requests on ``topic_filter``; returns once subscribed.

        ``handler(request)`` runs in a worker thread (``handler_threads`` of
        them, so requests are handled concurrently) and returns bytes, str,
        None or a :class:`Reply`; a generator streams its items as parts. An
        exception answers status 500 with its text (or the status of a
        :class:`HandlerError`). With ``group``, instances share the load."""
        loop = self._loop
        pool = self._executor()
        aio = self._aio

        def in_thread(req: Request) -> object:
            result = handler(req)
            if isinstance(result, Iterator):
                prev: object = _NOTHING
                try:
                    for part in result:
                        if prev is not _NOTHING:
                            loop.call_soon_threadsafe(aio._respond, req.request_id, _as_reply(prev), True)
                        prev = part
                except Exception:
                    if prev is not _NOTHING:
                        loop.call_soon_threadsafe(aio._respond, req.request_id, _as_reply(prev), True)
                    raise
                return b"" if prev is _NOTHING else prev
            return result

        def on_loop(req: Request) -> "asyncio.Future[object]":
            return loop.run_in_executor(pool, in_thread, req)

        inner = self._on_loop(lambda: aio.serve(topic_filter, on_loop, group=group, qos=qos))
        self._run(inner._await_self(), self.timeout if timeout is None else timeout)
        return Service(self, inner)

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._handler_threads, thread_name_prefix="mqtt-engine-handler"
                )
            return self._pool

    def __repr__(self) -> str:
        return f"<mqtt_engine.sync.Client {self.url} closed={self.closed}>"


_NOTHING = object()


def connect(
    url: str,
    *,
    client_id: str = "",
    ssl: Optional[_ssl.SSLContext] = None,
    reconnect: Union[bool, Backoff] = True,
    connect_timeout: float = 10.0,
    timeout: float = 30.0,
    handler_threads: int = 8,
    ws_headers: Optional[Dict[str, str]] = None,
    queue_size: int = 1000,
    overflow: str = "block",
    on_connect: Optional[Callable[[AsyncClient, Connected], Any]] = None,
    on_disconnect: Optional[Callable[[AsyncClient, Disconnected], Any]] = None,
    **options: Any,
) -> Client:
    """Connects to ``url`` and returns a connected blocking :class:`Client`;
    use it as ``with sync.connect(url) as c:`` (disconnects on exit) or call
    ``c.close()``. The arguments are those of :func:`mqtt_engine.aio.connect`,
    plus ``timeout`` (the default bound, in seconds, of blocking methods) and
    ``handler_threads`` (worker threads for :meth:`Client.serve` handlers).
    """
    client = Client(
        url,
        client_id=client_id,
        ssl=ssl,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
        timeout=timeout,
        handler_threads=handler_threads,
        ws_headers=ws_headers,
        queue_size=queue_size,
        overflow=overflow,
        on_connect=on_connect,
        on_disconnect=on_disconnect,
        **options,
    )
    return client.start()
