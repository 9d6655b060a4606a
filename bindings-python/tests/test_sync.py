"""mqtt_engine.sync (the blocking client) against a real mosquitto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import mqtt_engine as m
from conftest import Broker, Proxy, wait_until_sync
from mqtt_engine import sync

FAST = sync.Backoff(initial=0.01, maximum=0.05)


def connect(broker: Broker, kind: str = "mqtt", **kw: Any) -> sync.Client:
    ssl = broker.ssl_context() if kind in ("mqtts", "wss") else None
    return sync.connect(broker.url(kind), ssl=ssl, timeout=10, **kw)


@pytest.mark.parametrize("kind", ["mqtt", "mqtts", "ws", "wss"])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_subscribe(broker: Broker, topic: str, kind: str, qos: int) -> None:
    with connect(broker, kind) as c:
        with c.subscribe(f"{topic}/#", qos=qos) as sub:
            assert sub.granted == [qos]
            result = c.publish(f"{topic}/a", b"blocking", qos=qos)
            assert (result is None) == (qos == 0)
            msg = sub.next(timeout=5)
            assert (msg.topic, msg.payload, msg.qos) == (f"{topic}/a", b"blocking", qos)
            with pytest.raises(TimeoutError):
                sub.next(timeout=0.05)
            assert sub.get(timeout=0.01) is None


def test_iteration_ends_when_the_client_closes(broker: Broker, topic: str) -> None:
    c = connect(broker)
    sub = c.subscribe(topic)
    got: list[bytes] = []

    def reader() -> None:
        for msg in sub:
            got.append(msg.payload)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(3):
        c.publish(topic, str(i), qos=1)
    wait_until_sync(lambda: len(got) == 3)
    c.close()
    t.join(5)
    assert not t.is_alive() and got == [b"0", b"1", b"2"]
    assert c.closed and not c._thread.is_alive()
    with pytest.raises(sync.ClientClosedError):
        c.publish(topic, b"late")
    c.close()  # twice is fine


def test_retained_and_wildcards(broker: Broker, topic: str) -> None:
    with connect(broker) as c:
        c.publish(f"{topic}/a/x", b"r", qos=1, retain=True)
        with c.subscribe(f"{topic}/+/x") as plus, c.subscribe(f"{topic}/#") as hash_:
            assert plus.next(timeout=5).retain and hash_.next(timeout=5).retain
            c.publish(f"{topic}/b/y", b"y", qos=1)
            assert hash_.next(timeout=5).payload == b"y"
            assert len(plus) == 0
        c.publish(f"{topic}/a/x", b"", qos=1, retain=True)


def test_a_full_queue_holds_back_reading_and_loses_nothing(broker: Broker, topic: str) -> None:
    """The ``block`` policy with a consumer on another thread: the client
    waits for it to take messages, drops none, and resumes reading."""
    with connect(broker) as pub, connect(broker) as c, c.subscribe(topic, qos=1, queue_size=3) as sub:
        for i in range(100):
            r = pub.publish(topic, str(i), qos=1)
            assert r is not None and r.reason_code == 0
        got = [int(sub.next(timeout=5).payload) for _ in range(100)]
        assert got == list(range(100)) and sub.dropped == 0


def test_publish_from_many_threads(broker: Broker, topic: str) -> None:
    with connect(broker) as c, c.subscribe(topic, queue_size=0) as sub:

        def work(n: int) -> None:
            for i in range(50):
                r = c.publish(topic, f"{n}:{i}", qos=1)
                assert r is not None and r.reason_code == 0

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        got = [sub.next(timeout=5).payload.decode() for _ in range(200)]
        for n in range(4):  # each thread's messages in its order
            assert [g for g in got if g.startswith(f"{n}:")] == [f"{n}:{i}" for i in range(50)]


def test_call_and_serve(broker: Broker, topic: str) -> None:
    with connect(broker) as server, connect(broker) as client:
        callers: list[str] = []

        def handler(req: m.Request) -> bytes:
            callers.append(threading.current_thread().name)
            return req.payload[::-1]

        svc = server.serve(f"{topic}/rev", handler)
        resp = client.call(f"{topic}/rev", b"abc", timeout=5)
        assert (resp.payload, resp.status) == (b"cba", 200)
        assert svc.handled == 1 and callers[0].startswith("mqtt-engine-handler")
        svc.stop()
        with pytest.raises(sync.NoResponders):
            client.call(f"{topic}/rev", b"abc", timeout=5)


def test_handlers_run_in_parallel_threads(broker: Broker, topic: str) -> None:
    """Each handler waits at a barrier of four: only parallel handlers pass it."""
    barrier = threading.Barrier(4, timeout=10)

    def handler(req: m.Request) -> bytes:
        barrier.wait()
        return req.payload

    with connect(broker, handler_threads=4) as server, connect(broker) as client:
        server.serve(f"{topic}/barrier", handler)
        results: dict[int, bytes] = {}

        def call(i: int) -> None:
            results[i] = client.call(f"{topic}/barrier", str(i), timeout=10).payload

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert results == {i: str(i).encode() for i in range(4)}


def test_errors_streams_and_collect(broker: Broker, topic: str) -> None:
    def fails(req: m.Request) -> bytes:
        raise KeyError("k")

    def parts(req: m.Request) -> Iterator[bytes]:
        yield b"1"
        yield b"2"
        yield b"3"

    with connect(broker) as a, connect(broker) as b, connect(broker) as client:
        a.serve(f"{topic}/fail", fails)
        a.serve(f"{topic}/parts", parts)
        a.serve(f"{topic}/all", lambda req: b"a")
        b.serve(f"{topic}/all", lambda req: aio_reply(b"b"))
        with pytest.raises(sync.ErrorResponse) as e:
            client.call(f"{topic}/fail")
        assert e.value.status == 500 and e.value.message == "KeyError: 'k'"
        assert [r.payload for r in client.call_stream(f"{topic}/parts", timeout=5)] == [b"1", b"2", b"3"]
        answers = client.collect(f"{topic}/all", max_responses=2, timeout=5)
        assert sorted(r.payload for r in answers) == [b"a", b"b"]
        assert client.collect(f"{topic}/none", timeout=5) == []


def aio_reply(payload: bytes) -> sync.Reply:
    return sync.Reply(payload, status=200, message="fine")


def test_timeouts(broker: Broker, topic: str) -> None:
    release = threading.Event()

    def slow(req: m.Request) -> bytes:
        release.wait(10)
        return b"late"

    with connect(broker) as server, connect(broker) as client:
        server.serve(f"{topic}/slow", slow)
        started = time.monotonic()
        with pytest.raises(sync.RequestTimeout):
            client.call(f"{topic}/slow", timeout=0.3)
        assert time.monotonic() - started < 5
        release.set()
        started = time.monotonic()
        with pytest.raises(sync.NoResponders):
            client.call(f"{topic}/nobody", timeout=30)
        assert time.monotonic() - started < 5


def test_reconnect_resumes_the_session(broker: Broker, proxy: Proxy, topic: str) -> None:
    connected = threading.Event()
    lost = threading.Event()

    def on_connect(c: Any, ev: m.Connected) -> None:
        if ev.session_present:
            connected.set()

    with sync.connect(
        proxy.url(),
        client_id="sync-resume",
        session_expiry_interval=60,
        reconnect=FAST,
        on_connect=on_connect,
        on_disconnect=lambda c, ev: lost.set(),
    ) as c, connect(broker) as publisher:
        sub = c.subscribe(topic, qos=1, queue_size=0)
        proxy.refuse = True
        proxy.cut()
        assert lost.wait(10)
        for i in range(10):
            publisher.publish(topic, str(i), qos=1)
        proxy.refuse = False
        assert connected.wait(10)
        assert [sub.next(timeout=5).payload for _ in range(10)] == [str(i).encode() for i in range(10)]
        assert c.connections == 2 and c.session_present


def test_a_publish_times_out_without_its_ack(broker: Broker, proxy: Proxy, topic: str) -> None:
    with sync.connect(proxy.url(), timeout=10) as c:
        proxy.hold_downstream = True
        with pytest.raises(TimeoutError):
            c.publish(topic, b"x", qos=1, timeout=0.2)
        proxy.hold_downstream = False
        proxy.cut()  # the reconnect re-sends it; the client goes on
        c.wait_connected(10)
        assert c.publish(topic, b"y", qos=1) is not None


def test_connect_failure(broker: Broker) -> None:
    with pytest.raises(sync.ConnectError) as e:
        connect(broker, authentication_method="NOPE")
    assert e.value.reason_code == 0x8C
    dead = Proxy(broker.port)
    port = dead.port
    dead.close()
    before = threading.active_count()
    with pytest.raises(OSError):
        sync.connect(f"mqtt://127.0.0.1:{port}")
    assert threading.active_count() <= before  # its loop thread is gone
