"""Fixtures for the client suites: a real mosquitto, TLS certificates, a TCP
proxy that can cut connections, and `run` for asyncio tests.

The broker is started with a generated configuration on free loopback ports:
plain MQTT, MQTT over TLS, MQTT over WebSocket and over secure WebSocket. Its
certificates are made with the `openssl` command. Nothing here sleeps for the
engine's time: waiting is for a port to accept or an event to happen.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, Optional, TypeVar

import pytest

T = TypeVar("T")

START_TIMEOUT = 10.0


def _mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("mosquitto is not installed: `make test` installs it (apt-get install mosquitto)")


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(directory: Path) -> None:
    """A CA and a server certificate for localhost / 127.0.0.1 (EC P-256)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        directory, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=mqtt-engine test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(directory, "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip
    for key in ("ca.key", "server.key"):
        os.chmod(directory / key, 0o644)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Broker:
    """A running mosquitto with four listeners on 127.0.0.1: `port` (MQTT),
    `tls_port`, `ws_port` (WebSocket), `wss_port` (WebSocket over TLS)."""

    def __init__(self, directory: Path, certs: Path, extra: str = "") -> None:
        self.dir = directory
        self.extra = extra
        self.certs = certs
        self.host = "127.0.0.1"
        self.port, self.tls_port, self.ws_port, self.wss_port = _free_ports(4)
        self.log_path = directory / "mosquitto.log"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.start()

    def config(self) -> str:
        tls = f"cafile {self.certs}/ca.pem\ncertfile {self.certs}/server.pem\nkeyfile {self.certs}/server.key\n"
        return (
            "per_listener_settings false\n"
            "allow_anonymous true\n"
            "persistence false\n"
            f"listener {self.port} 127.0.0.1\n"
            f"listener {self.tls_port} 127.0.0.1\n{tls}"
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n"
            f"listener {self.wss_port} 127.0.0.1\nprotocol websockets\n{tls}"
            "log_dest stderr\nlog_type all\nconnection_messages true\nset_tcp_nodelay true\n"
            f"{self.extra}\n"
        )

    def start(self) -> None:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(self.config())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [_mosquitto_binary(), "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT
        for port in (self.port, self.tls_port, self.ws_port, self.wss_port):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited ({self.proc.returncode}):\n{self.log()}")
                try:
                    socket.create_connection((self.host, port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"mosquitto did not listen on {port}:\n{self.log()}") from None
                    time.sleep(0.02)  # waiting for the broker process to listen

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        """Stops and starts the broker on the same ports (sessions are lost)."""
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def url(self, kind: str = "mqtt") -> str:
        """mqtt://, mqtts://, ws:// or wss:// URL of the matching listener."""
        port = {"mqtt": self.port, "tcp": self.port, "mqtts": self.tls_port, "ssl": self.tls_port,
                "ws": self.ws_port, "wss": self.wss_port}[kind]  # fmt: skip
        host = "localhost" if kind in ("mqtts", "ssl", "wss") else self.host
        return f"{kind}://{host}:{port}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA."""
        return ssl.create_default_context(cafile=str(self.certs / "ca.pem"))


@pytest.fixture(scope="session")
def certs() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="mqtt-engine-certs-"))
    # mosquitto started as root reads them after dropping to its own user
    os.chmod(directory, 0o755)
    try:
        make_certs(directory)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _broker(certs: Path, acl: Optional[str] = None) -> Iterator[Broker]:
    directory = Path(tempfile.mkdtemp(prefix="mqtt-engine-mosquitto-"))
    os.chmod(directory, 0o755)
    extra = ""
    if acl is not None:
        (directory / "acl").write_text(acl)
        os.chmod(directory / "acl", 0o644)
        extra = f"acl_file {directory / 'acl'}\n"
    broker = Broker(directory, certs, extra)
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def broker(certs: Path) -> Iterator[Broker]:
    """One mosquitto for the session (tests use their own topics)."""
    yield from _broker(certs)


@pytest.fixture
def own_broker(certs: Path) -> Iterator[Broker]:
    """A mosquitto for one test, which it may restart or stop."""
    yield from _broker(certs)


@pytest.fixture
def acl_broker(certs: Path) -> Iterator[Broker]:
    """A mosquitto that denies publishing under `denied/` (PUBACK 0x87)."""
    yield from _broker(certs, "topic deny denied/#\ntopic readwrite #\n")


@pytest.fixture
def topic() -> str:
    """A topic prefix no other test uses."""
    return f"test/{uuid.uuid4().hex[:12]}"


# ----- a TCP proxy that can cut connections --------------------------------------


class Proxy:
    """Forwards 127.0.0.1:`port` to the broker, one thread per direction.

    `cut()` closes every connection through it (the broker sees the client
    vanish without DISCONNECT); `refuse` closes new connections at once;
    `hold_downstream` swallows what the broker sends (e.g. a PUBACK).
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.refuse = False
        self.hold_downstream = False
        self.accepted = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        self._accepting.start()

    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.accepted += 1
                self._socks += [client, upstream]
            for src, dst, down in ((client, upstream, False), (upstream, client, True)):
                t = threading.Thread(target=self._pump, args=(src, dst, down), daemon=True)
                self._threads.append(t)
                t.start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if downstream and self.hold_downstream:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Closes every connection through the proxy."""
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._listener.close()
        self.cut()
        self._accepting.join(5)
        for t in self._threads:
            t.join(5)


@pytest.fixture
def proxy(broker: Broker) -> Iterator[Proxy]:
    p = Proxy(broker.port)
    try:
        yield p
    finally:
        p.close()


# ----- running asyncio tests ----------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Runs an asyncio test with a timeout, then checks that it left no task
    running and that asyncio reported no destroyed pending task or
    unretrieved exception."""
    capture = _Capture()
    logger = logging.getLogger("asyncio")
    logger.addHandler(capture)

    async def main() -> T:
        result = await asyncio.wait_for(coro, timeout)
        await asyncio.sleep(0)
        me = asyncio.current_task()
        left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        assert not left, f"tasks left running: {left}"
        return result

    try:
        result = asyncio.run(main())
        gc.collect()
    finally:
        logger.removeHandler(capture)
    # (debug mode's "Executing <Task ...> took 0.2 seconds" is no leak)
    bad = [r.getMessage() for r in capture.records if not r.getMessage().startswith("Executing ")]
    assert not bad, f"asyncio complained: {bad}"
    return result


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    """Waits (yielding to the loop) until `predicate()` is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.005)


def wait_until_sync(predicate: Any, timeout: float = 10.0) -> None:
    """Polls `predicate()` until true (for conditions set by other threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.005)


_TIME_LIMITED = {"test_aio.py", "test_sync.py", "test_paho_interop.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A hard time limit (pytest-timeout, when installed) on every client
    test, beyond the awaits' own timeouts: nothing hangs CI."""
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.path.name in _TIME_LIMITED and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))
