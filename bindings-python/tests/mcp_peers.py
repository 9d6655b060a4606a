"""Helpers of the MCP tests: the broker's URL (from conftest's mosquitto), and
the native Rust MCP roles (``mqtt_engine.McpServer`` / ``McpClient``) driven over
a real TCP connection by a small asyncio loop, as peers of the Python
helpers and of the SDK bridge.

Nothing here sleeps to wait for engine time: the loop reads until the
client's next deadline, and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Optional, TypeVar, Union

import pytest

import mqtt_engine as m
from conftest import Broker

T = TypeVar("T")
Role = Union[m.McpServer, m.McpClient]
WAIT = 10.0


@pytest.fixture
def mcp_broker(broker: Broker) -> str:
    """The mqtt:// URL of the suite's mosquitto (conftest's ``broker``)."""
    return broker.url()


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Runs a test body on a fresh event loop, bounded by ``timeout``."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def now_ms() -> int:
    return int(time.monotonic() * 1000)


def host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    return host, int(port)


class NativePeer:
    """A native sans-IO ``Client``, with an attached MCP role or none, over TCP.

    ``role_events`` collects what the role reports; ``wait_for`` waits (with a
    timeout) for the first one matching a predicate.
    """

    def __init__(self, url: str, role: Optional[Role] = None, **options: Any) -> None:
        self.url = url
        self.role = role
        self.client = m.Client(now_ms(), seed=7, **options)
        if role is not None:
            self.client.attach_mcp(role)
        self.role_events: list[Any] = []
        self.events: list[Any] = []
        self._changed = asyncio.Event()
        self._writer: Optional[asyncio.StreamWriter] = None
        self._task: Optional[asyncio.Task[None]] = None
        self._stopping = False

    async def start(self) -> None:
        host, port = host_port(self.url)
        reader, self._writer = await asyncio.wait_for(asyncio.open_connection(host, port), WAIT)
        self.client.connect(now_ms())
        self._task = asyncio.ensure_future(self._run(reader))
        await self.wait_for(lambda e: isinstance(e, m.Connected), source="client")

    def flush(self) -> None:
        data = self.client.transmit_all()
        if data and self._writer is not None:
            self._writer.write(data)

    def _drain(self) -> None:
        for e in self.client.events():
            self.events.append(e)
        if self.role is not None:
            self.role_events.extend(self.role.events())
        self._changed.set()

    async def _run(self, reader: asyncio.StreamReader) -> None:
        try:
            while not self._stopping:
                # Events first: the role acts on them (it starts on Connected)
                # and what it queues goes out in the same turn.
                self._drain()
                self.flush()
                deadline = self.client.poll_timeout()
                wait = None if deadline is None else max(0, deadline - now_ms()) / 1000
                try:
                    data = await asyncio.wait_for(reader.read(65536), wait)
                except asyncio.TimeoutError:
                    self.client.handle_timeout(now_ms())
                    continue
                if not data:
                    self.client.handle_closed(now_ms())
                    self._drain()
                    return
                self.client.handle_bytes(now_ms(), data)
        finally:
            self._changed.set()

    async def wait_for(
        self, pred: Callable[[Any], bool], *, source: str = "role", timeout: float = WAIT
    ) -> Any:
        """The first event (of the role, or of the client) matching ``pred``."""

        async def wait() -> Any:
            seen = 0
            while True:
                items = self.role_events if source == "role" else self.events
                for e in items[seen:]:
                    if pred(e):
                        return e
                seen = len(items)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    def act(self, f: Callable[[m.Client, int], T]) -> T:
        """Runs a role command (given the client and now) and sends what it queued."""
        out = f(self.client, now_ms())
        self._drain()
        self.flush()
        return out

    async def close(self) -> None:
        """Drops the connection (no DISCONNECT: like a crash, so wills fire)."""
        self._stopping = True
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            # Closing the socket ends the read; cancelling covers the rest (a
            # cancellation can be lost inside asyncio.wait_for on 3.11, so the
            # flag above also stops the loop).
            self._task.cancel()
            await asyncio.wait([self._task], timeout=WAIT)


class NativeError(Exception):
    """Raised by an answer function of :func:`answer_natively` to reply with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def answer_natively(peer: NativePeer, answer: Callable[[str, Any], Any]) -> "asyncio.Task[None]":
    """Answers every ``initialize`` and request reaching a native ``McpServer``
    with ``answer(method, params)`` (a result, or raise :class:`NativeError`)."""
    role = peer.role
    assert isinstance(role, m.McpServer)

    async def loop() -> None:
        seen = 0
        while True:
            for e in peer.role_events[seen:]:
                if isinstance(e, (m.McpInitialize, m.McpClientRequest)):
                    method = "initialize" if isinstance(e, m.McpInitialize) else e.method
                    client, id = e.client, e.id
                    try:
                        result = answer(method, e.params)
                        peer.act(lambda c, t: role.respond(c, t, client, id, result))
                    except NativeError as err:
                        spec = (err.code, err.message)
                        peer.act(lambda c, t: role.respond(c, t, client, id, error=spec))
            seen = len(peer.role_events)
            peer._changed.clear()
            await peer._changed.wait()

    return asyncio.ensure_future(loop())


def calculator(method: str, params: Any) -> Any:
    """The answers of a small calculator server with one tool, ``add``."""
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "rust-calculator", "version": "1.0"},
        }
    if method == "tools/list":
        schema = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}
        return {"tools": [{"name": "add", "description": "Adds two numbers", "inputSchema": schema}]}
    if method == "tools/call" and params.get("name") == "add":
        total = params["arguments"]["a"] + params["arguments"]["b"]
        return {"content": [{"type": "text", "text": str(total)}], "isError": False}
    raise NativeError(-32601, "no such method")
