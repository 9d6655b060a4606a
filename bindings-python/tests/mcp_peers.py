"""Helpers of the MCP tests: a mosquitto on a free loopback port, and the
native Rust MCP roles (``mqtt_engine.McpServer`` / ``McpClient``) driven over
a real TCP connection by a small asyncio loop, as peers of the Python
helpers and of the SDK bridge.

Nothing here sleeps to wait for engine time: the loop reads until the
client's next deadline, and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, Optional, TypeVar, Union

import pytest

import mqtt_engine as m

T = TypeVar("T")
Role = Union[m.McpServer, m.McpClient]
WAIT = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _mosquitto() -> str:
    for c in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if c and os.path.exists(c):
            return c
    pytest.fail("mosquitto is not installed (apt-get install mosquitto)")


def start_mosquitto() -> Iterator[str]:
    """A mosquitto on a free loopback port; yields its mqtt:// URL."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        proc = subprocess.Popen([_mosquitto(), "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            give_up = time.monotonic() + WAIT
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > give_up:
                        pytest.fail("mosquitto did not start")
                    # polling a child process's listening socket, not engine time
                    time.sleep(0.02)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def now_ms() -> int:
    return int(time.monotonic() * 1000)


def host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    return host, int(port)


class NativePeer:
    """A native sans-IO ``Client`` with an attached MCP role over TCP.

    ``role_events`` collects what the role reports; ``wait_for`` waits (with a
    timeout) for the first one matching a predicate.
    """

    def __init__(self, url: str, role: Role) -> None:
        self.url = url
        self.role = role
        self.client = m.Client(now_ms(), seed=7)
        self.client.attach_mcp(role)
        self.role_events: list[Any] = []
        self.events: list[Any] = []
        self._changed = asyncio.Event()
        self._writer: Optional[asyncio.StreamWriter] = None
        self._task: Optional[asyncio.Task[None]] = None

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
        for r in self.role.events():
            self.role_events.append(r)
        self._changed.set()

    async def _run(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
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
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._writer is not None:
            self._writer.close()
