"""mqtt_engine.aio against a real mosquitto (and, for refusals mosquitto never
sends, a scripted broker made with the package's own codec)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Optional

import pytest

import mqtt_engine as m
from conftest import Broker, Proxy, run, wait_until
from mqtt_engine import aio

FAST = aio.Backoff(initial=0.01, maximum=0.05, jitter=0.5)

TRANSPORTS = ["mqtt", "mqtts", "ws", "wss"]


def connect(broker: Broker, kind: str = "mqtt", **kw: Any) -> aio.Client:
    ssl = broker.ssl_context() if kind in ("mqtts", "wss") else None
    return aio.connect(broker.url(kind), ssl=ssl, **kw)


async def next_msg(sub: aio.Subscription, timeout: float = 5.0) -> m.Message:
    return await asyncio.wait_for(sub.__anext__(), timeout)


# ----- pure parts ------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic_filter, topic, expected",
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/+/c", "a//c", True),
        ("a/+", "a/", True),
        ("a/+", "a", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/#", "b/a", False),
        ("#", "a/b", True),
        ("+/+", "a/b", True),
        ("+/+", "a/b/c", False),
        ("#", "$SYS/broker/uptime", False),
        ("+/broker/uptime", "$SYS/broker/uptime", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("$SYS/+/uptime", "$SYS/broker/uptime", True),
        ("$share/g/a/+", "a/b", True),
        ("$share/g/#", "$SYS/x", False),
        ("$share/g/a/b", "a/c", False),
    ],
)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert aio.topic_matches(topic_filter, topic) is expected


def test_urls() -> None:
    t = aio._Target("mqtt://h")
    assert (t.kind, t.host, t.port) == ("tcp", "h", 1883)
    assert aio._Target("tcp://h:1").port == 1
    t = aio._Target("mqtts://u%40x:p%3Aw@broker.example:8884")
    assert (t.kind, t.port, t.username, t.password) == ("tls", 8884, "u@x", "p:w")
    assert aio._Target("ssl://h").port == 8883
    t = aio._Target("ws://h:9001")
    assert (t.kind, t.url) == ("ws", "ws://h:9001/mqtt")
    t = aio._Target("wss://[::1]/custom/path?x=1")
    assert (t.port, t.url) == (443, "wss://[::1]:443/custom/path?x=1")
    with pytest.raises(ValueError):
        aio._Target("http://h")
    with pytest.raises(ValueError):
        aio.Client("mqtt://h", ssl=__import__("ssl").create_default_context())


def test_backoff() -> None:
    b = aio.Backoff(initial=1, maximum=10, factor=2, jitter=0)
    assert [b.delay(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    j = aio.Backoff(initial=1, maximum=10, factor=2, jitter=0.5)
    assert all(2 <= j.delay(2) <= 4 for _ in range(100))
    with pytest.raises(ValueError):
        aio.Backoff(factor=0.5)


# ----- publish / subscribe -------------------------------------------------------------


@pytest.mark.parametrize("kind", TRANSPORTS)
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_subscribe(broker: Broker, topic: str, kind: str, qos: int) -> None:
    async def main() -> None:
        async with connect(broker, kind, client_id=f"ps-{kind}-{qos}") as c:
            async with c.subscribe(f"{topic}/#", qos=qos) as sub:
                assert sub.granted == [qos]
                result = await c.publish(f"{topic}/x", f"hello {qos}", qos=qos)
                if qos == 0:
                    assert result is None
                else:
                    assert result is not None and result.reason_code == 0 and result.qos == qos
                msg = await next_msg(sub)
                assert (msg.topic, msg.payload, msg.qos, msg.retain) == (f"{topic}/x", f"hello {qos}".encode(), qos, False)

    run(main())


def test_many_messages_in_order(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as pub, connect(broker) as sub_client:
            sub = await sub_client.subscribe(topic, qos=1, queue_size=0)
            results = await asyncio.gather(*(pub.publish(topic, str(i), qos=1) for i in range(500)))
            assert all(r is not None and r.reason_code == 0 for r in results)
            got = [int((await next_msg(sub)).payload) for _ in range(500)]
            assert got == list(range(500))

    run(main())


def test_retained(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            await c.publish(f"{topic}/r", b"kept", qos=1, retain=True)
            async with c.subscribe(f"{topic}/#") as sub:
                msg = await next_msg(sub)
                assert (msg.payload, msg.retain) == (b"kept", True)
                await c.publish(f"{topic}/r", b"", qos=1, retain=True)  # clears it
                cleared = await next_msg(sub)
                assert cleared.payload == b""
            async with c.subscribe(f"{topic}/#") as sub:
                await c.publish(f"{topic}/live", b"now", qos=1)
                assert (await next_msg(sub)).payload == b"now"  # nothing retained came first

    run(main())


def test_messages_go_to_every_matching_subscription(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            subs = {f: c.subscribe(f"{topic}/{f}") for f in ("+/x", "#", "a/x", "b/#", "a/y")}
            for s in subs.values():
                await s
            shared = await c.subscribe(f"$share/grp/{topic}/a/+")
            await c.publish(f"{topic}/a/x", b"1", qos=1)
            await c.publish(f"{topic}/b/x", b"2", qos=1)
            await c.publish(f"{topic}/done", b"3", qos=1)
            # "#" sees all three, in order
            assert [(await next_msg(subs["#"])).payload for _ in range(3)] == [b"1", b"2", b"3"]
            assert [(await next_msg(subs["+/x"])).payload for _ in range(2)] == [b"1", b"2"]
            assert (await next_msg(subs["a/x"])).payload == b"1"
            assert (await next_msg(subs["b/#"])).payload == b"2"
            assert (await next_msg(shared)).payload == b"1"
            assert len(subs["a/y"]) == 0 and len(subs["a/x"]) == 0 and len(shared) == 0

    run(main())


def test_properties_round_trip(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c, c.subscribe(topic) as sub:
            props = m.Properties(
                content_type="text/plain",
                user_properties=[("k", "v1"), ("k", "v2")],
                payload_format_indicator=1,
            )
            await c.publish(topic, "props", qos=1, properties=props)
            msg = await next_msg(sub)
            assert msg.properties.content_type == "text/plain"
            assert msg.properties.user_properties == [("k", "v1"), ("k", "v2")]

    run(main())


def test_publish_refused_by_the_broker(acl_broker: Broker) -> None:
    """mosquitto with an ACL that denies writing: PUBACK 0x87."""

    async def main() -> None:
        async with connect(acl_broker) as c:
            with pytest.raises(aio.PublishError) as e:
                await c.publish("denied/x", b"no", qos=1)
            assert e.value.reason_code == 0x87
            assert "0x87" in str(e.value)
            ok = await c.publish("allowed/x", b"yes", qos=1)  # still usable
            assert ok is not None and ok.reason_code == 0x10  # nobody subscribed

    run(main())


def test_local_misuse_raises_at_once(broker: Broker) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            with pytest.raises(m.LocalProtocolError):
                await c.publish("bad/+/topic", b"")
            with pytest.raises(m.LocalProtocolError):
                await c.publish("x", b"", qos=3)
            assert (await c.publish("ok", b"", qos=1)) is not None

    run(main())


def test_leaving_the_iterator_unsubscribes(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            await c.publish(topic, b"first", qos=1, retain=True)
            async for msg in c.subscribe(topic):
                assert msg.payload == b"first"
                break
            await wait_until(lambda: topic not in c.subscriptions)
            # the broker forgot it too: a QoS 1 publish finds no subscriber
            await c.publish(topic, b"", qos=1, retain=True)
            later = await c.publish(topic, b"again", qos=1)
            assert later is not None and later.reason_code == 0x10

    run(main())


def test_async_with_unsubscribes_but_shared_filters_stay(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            keep = await c.subscribe(topic)
            async with c.subscribe(topic) as temporary:
                await c.publish(topic, b"1", qos=1)
                assert (await next_msg(temporary)).payload == b"1"
            assert not temporary.active and keep.active
            assert c.subscriptions == [topic]  # still subscribed for `keep`
            await c.publish(topic, b"2", qos=1)
            assert [(await next_msg(keep)).payload for _ in range(2)] == [b"1", b"2"]
            await keep.unsubscribe()
            assert c.subscriptions == []

    run(main())


def test_a_full_queue_holds_back_reading_and_loses_nothing(broker: Broker, topic: str) -> None:
    """The default overflow policy, ``block``: a full queue stops the client
    reading, so the broker holds the rest (QoS 1: unacknowledged, at most its
    in-flight window read ahead); nothing is dropped, and everything arrives
    in order once the consumer catches up."""

    async def main() -> None:
        async with connect(broker) as pub, connect(broker) as c:
            small = await c.subscribe(topic, qos=1, queue_size=5)
            other = await c.subscribe(topic, qos=1, queue_size=0)
            results = await asyncio.gather(*(pub.publish(topic, str(i), qos=1) for i in range(300)))
            assert all(r is not None and r.reason_code == 0 for r in results)
            await wait_until(lambda: len(small) >= 5)
            await asyncio.sleep(0.3)  # the network's time, not the engine's: let more arrive if it would
            # reading stopped for every subscription of the client, not just the full one
            assert len(small) < 100 and len(other) == len(small)
            got = [int((await next_msg(small)).payload) for _ in range(300)]
            assert got == list(range(300)) and small.dropped == 0
            await wait_until(lambda: len(other) == 300)
            assert other.dropped == 0

    run(main())


@pytest.mark.parametrize("overflow, kept", [("drop_oldest", [b"7", b"8", b"9"]), ("drop_newest", [b"0", b"1", b"2"])])
def test_bounded_queue_overflow(broker: Broker, topic: str, overflow: str, kept: list[bytes]) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            small = await c.subscribe(topic, queue_size=3, overflow=overflow)
            counter = await c.subscribe(topic, queue_size=0)
            for i in range(10):
                await c.publish(topic, str(i), qos=1)
            await wait_until(lambda: len(counter) == 10)
            assert small.dropped == 7 and counter.dropped == 0
            assert [(await next_msg(small)).payload for _ in range(3)] == kept
            assert small.get_nowait() is None

    run(main())


def test_subscription_ends_when_the_client_closes(broker: Broker, topic: str) -> None:
    async def main() -> None:
        c = await connect(broker)
        sub = await c.subscribe(topic)
        got: list[m.Message] = []

        async def reader() -> None:
            async for msg in sub:
                got.append(msg)

        task = asyncio.ensure_future(reader())
        await c.publish(topic, b"x", qos=1)
        await wait_until(lambda: len(got) == 1)
        await c.close()
        await asyncio.wait_for(task, 5)  # ended, no error
        with pytest.raises(aio.ClientClosedError):
            await c.publish(topic, b"late")

    run(main())


# ----- connecting -----------------------------------------------------------------------


def test_options_go_to_the_engine(broker: Broker) -> None:
    async def main() -> None:
        async with connect(broker, client_id="opts-1", keep_alive=7, session_expiry_interval=30) as c:
            assert c.client_id == "opts-1"
            assert c.engine.server["keep_alive"] == 7
            assert c.engine.server["session_expiry_interval"] == 30
            assert c.connected and c.connections == 1 and not c.session_present
        async with connect(broker) as auto:
            assert auto.client_id.startswith("auto-")  # assigned by mosquitto

    run(main())


def test_first_connection_failure_raises(broker: Broker) -> None:
    async def main() -> None:
        dead = Proxy(broker.port)
        port = dead.port
        dead.close()
        with pytest.raises(OSError):
            async with aio.connect(f"mqtt://127.0.0.1:{port}"):
                pass
        with pytest.raises(aio.ConnectError) as e:
            async with connect(broker, authentication_method="NOPE"):
                pass
        assert e.value.reason_code == 0x8C  # mosquitto: Bad authentication method

    run(main())


def test_clean_disconnect_sends_disconnect_and_no_will(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as watcher, watcher.subscribe(f"{topic}/will") as wills:
            will = m.Will(f"{topic}/will", b"gone", qos=1)
            async with connect(broker, client_id="will-clean", will=will):
                pass
            await watcher.publish(f"{topic}/will", b"marker", qos=1)
            assert (await next_msg(wills)).payload == b"marker"  # no will came before it
            # DISCONNECT 0x04 asks the broker to publish the will
            c = await connect(broker, client_id="will-04", will=will)
            await c.close(reason_code=0x04)
            assert (await next_msg(wills)).payload == b"gone"
        assert "Client will-clean disconnected." in broker.log()

    run(main())


def test_a_lost_connection_publishes_the_will(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as watcher, watcher.subscribe(f"{topic}/will") as wills:
            will = m.Will(f"{topic}/will", b"lost", qos=1)
            async with aio.connect(proxy.url(), will=will, reconnect=FAST):
                proxy.cut()
                assert (await next_msg(wills)).payload == b"lost"

    run(main())


# ----- request / response -------------------------------------------------------------------


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_call_serve_round_trip(broker: Broker, topic: str, kind: str) -> None:
    async def main() -> None:
        seen: list[m.Request] = []

        def handler(req: m.Request) -> bytes:
            seen.append(req)
            return b"echo:" + req.payload

        async with connect(broker, kind) as server, connect(broker, kind) as client:
            await server.serve(f"{topic}/echo", handler)
            props = m.Properties(user_properties=[("trace", "t1")], content_type="x/y")
            resp = await client.call(f"{topic}/echo", b"ping", timeout=5, properties=props)
            assert (resp.payload, resp.status, resp.more) == (b"echo:ping", 200, False)
            req = seen[0]
            assert (req.topic, req.payload) == (f"{topic}/echo", b"ping")
            assert req.response_topic == client.engine.response_topic
            assert req.correlation_data is not None and len(req.correlation_data) == 16
            assert ("trace", "t1") in req.properties.user_properties
            assert req.properties.content_type == "x/y"
            assert req.deadline_ms is not None

    run(main())


def test_a_client_calls_a_service_it_serves(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as c:
            await c.serve(f"{topic}/self", lambda req: b"me: " + req.payload)
            assert (await c.call(f"{topic}/self", b"hi", timeout=5)).payload == b"me: hi"

    run(main())


def test_handlers_sync_async_and_their_results(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async def upper(req: m.Request) -> str:
            await asyncio.sleep(0)
            return req.payload.decode().upper()

        async with connect(broker) as server, connect(broker) as client:
            await server.serve(f"{topic}/upper", upper)
            await server.serve(f"{topic}/none", lambda req: None)
            await server.serve(f"{topic}/reply", lambda req: aio.Reply(b"made", status=201))
            await server.serve(f"{topic}/wild/+", lambda req: req.topic)
            assert (await client.call(f"{topic}/upper", "abc")).payload == b"ABC"
            assert (await client.call(f"{topic}/none")).payload == b""
            made = await client.call(f"{topic}/reply")
            assert (made.payload, made.status) == (b"made", 201)
            assert (await client.call(f"{topic}/wild/7")).payload == f"{topic}/wild/7".encode()

    run(main())


def test_handler_errors_become_error_responses(broker: Broker, topic: str) -> None:
    async def main() -> None:
        def fails(req: m.Request) -> bytes:
            raise ValueError("bad input")

        async def fails_async(req: m.Request) -> bytes:
            raise aio.HandlerError(404, "no such thing")

        async with connect(broker) as server, connect(broker) as client:
            svc = await server.serve(f"{topic}/fail", fails)
            await server.serve(f"{topic}/missing", fails_async)
            await server.serve(f"{topic}/wrong-type", lambda req: 42)
            with pytest.raises(aio.ErrorResponse) as e:
                await client.call(f"{topic}/fail", b"x")
            assert e.value.status == 500 and e.value.message == "ValueError: bad input"
            resp = await client.call(f"{topic}/fail", b"x", check=False)
            assert (resp.status, resp.message) == (500, "ValueError: bad input")
            with pytest.raises(aio.ErrorResponse) as e:
                await client.call(f"{topic}/missing")
            assert (e.value.status, e.value.message) == (404, "no such thing")
            with pytest.raises(aio.ErrorResponse) as e:
                await client.call(f"{topic}/wrong-type")
            assert e.value.status == 500 and "TypeError" in (e.value.message or "")
            assert svc.failed == 2
            assert isinstance(e.value, m.MqttError)

    run(main())


def test_async_handlers_run_concurrently(broker: Broker, topic: str) -> None:
    """Each handler waits until all ten are running: only concurrency ends it."""

    async def main() -> None:
        running = 0
        all_in = asyncio.Event()

        async def handler(req: m.Request) -> bytes:
            nonlocal running
            running += 1
            if running == 10:
                all_in.set()
            await all_in.wait()
            return req.payload

        async with connect(broker) as server, connect(broker) as client:
            await server.serve(f"{topic}/barrier", handler)
            answers = await asyncio.gather(*(client.call(f"{topic}/barrier", str(i)) for i in range(10)))
            assert [a.payload for a in answers] == [str(i).encode() for i in range(10)]

    run(main())


def test_call_stream(broker: Broker, topic: str) -> None:
    async def main() -> None:
        def counts(req: m.Request) -> Iterator[str]:
            for i in range(int(req.payload)):
                yield str(i)

        async def letters(req: m.Request) -> AsyncIterator[bytes]:
            for ch in b"abc":
                await asyncio.sleep(0)
                yield bytes([ch])

        def broken(req: m.Request) -> Iterator[bytes]:
            yield b"one"
            raise RuntimeError("stream broke")

        async with connect(broker) as server, connect(broker) as client:
            await server.serve(f"{topic}/count", counts)
            await server.serve(f"{topic}/letters", letters)
            await server.serve(f"{topic}/broken", broken)
            parts = [r async for r in client.call_stream(f"{topic}/count", b"4", timeout=5)]
            assert [p.payload for p in parts] == [b"0", b"1", b"2", b"3"]
            assert [p.more for p in parts] == [True, True, True, False]
            assert [r.payload async for r in client.call_stream(f"{topic}/letters")] == [b"a", b"b", b"c"]
            got: list[bytes] = []
            with pytest.raises(aio.ErrorResponse) as e:
                async for r in client.call_stream(f"{topic}/broken"):
                    got.append(r.payload)
            assert got == [b"one"] and e.value.message == "RuntimeError: stream broke"
            with pytest.raises(aio.NoResponders):
                async for _ in client.call_stream(f"{topic}/nobody"):
                    pass

    run(main())


def test_collect_from_two_responders(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as a, connect(broker) as b, connect(broker) as client:
            await a.serve(f"{topic}/who", lambda req: b"a")
            await b.serve(f"{topic}/who", lambda req: b"b")
            answers = await client.collect(f"{topic}/who", max_responses=2, timeout=5)
            assert sorted(r.payload for r in answers) == [b"a", b"b"]
            # the end by a quiet gap: both answer, then nothing for 0.3 s
            started = time.monotonic()
            quiet = await client.collect(f"{topic}/who", quiet=0.3, timeout=10)
            assert sorted(r.payload for r in quiet) == [b"a", b"b"]
            assert time.monotonic() - started < 5
            # nobody serves: an empty list, at once
            started = time.monotonic()
            assert await client.collect(f"{topic}/nobody", timeout=10) == []
            assert time.monotonic() - started < 5

    run(main())


def test_shared_group_spreads_requests(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as a, connect(broker) as b, connect(broker) as client:
            sa = await a.serve(f"{topic}/work", lambda req: b"a", group="workers")
            sb = await b.serve(f"{topic}/work", lambda req: b"b", group="workers")
            answers = [await client.call(f"{topic}/work", str(i)) for i in range(10)]
            assert len(answers) == 10
            assert sa.handled + sb.handled == 10 and sa.handled > 0 and sb.handled > 0

    run(main())


def test_no_responders_fails_fast(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as client:
            started = time.monotonic()
            with pytest.raises(aio.NoResponders) as e:
                await client.call(f"{topic}/nobody", b"?", timeout=30)
            assert time.monotonic() - started < 5
            assert e.value.reason_code == 0x10 and e.value.end == "no_responders"

    run(main())


def test_stopped_service_unsubscribes_and_can_serve_again(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker) as server, connect(broker) as client:
            for _ in range(3):
                async with server.serve(f"{topic}/svc", lambda req: b"up"):
                    assert (await client.call(f"{topic}/svc", b"", timeout=5)).payload == b"up"
                with pytest.raises(aio.NoResponders):
                    await client.call(f"{topic}/svc", b"", timeout=5)
            assert server.engine.rpc_stats["busy"] == 0

    run(main())


def test_call_timeout(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async def never(req: m.Request) -> bytes:
            await asyncio.Event().wait()
            return b""

        async with connect(broker) as server, connect(broker) as client:
            await server.serve(f"{topic}/slow", never)
            with pytest.raises(aio.RequestTimeout) as e:
                await client.call(f"{topic}/slow", b"", timeout=0.3)
            assert isinstance(e.value, TimeoutError) and e.value.end == "timeout"
            assert client.engine.rpc_stats["pending"] == 0

    run(main())


def test_cancelling_a_call_cancels_the_request(broker: Broker, topic: str) -> None:
    async def main() -> None:
        entered = asyncio.Event()
        release = asyncio.Event()

        async def held(req: m.Request) -> bytes:
            entered.set()
            await release.wait()
            return b"late"

        async with connect(broker) as server, connect(broker) as client:
            await server.serve(f"{topic}/held", held)
            await server.serve(f"{topic}/quick", lambda req: b"ok")
            task = asyncio.ensure_future(client.call(f"{topic}/held", b"", timeout=30))
            await asyncio.wait_for(entered.wait(), 5)
            assert client.engine.rpc_stats["pending"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.engine.rpc_stats["pending"] == 0
            release.set()  # its answer now comes late and is dropped
            await wait_until(lambda: client.engine.rpc_stats["late_responses"] == 1)
            assert (await client.call(f"{topic}/quick")).payload == b"ok"  # still usable

    run(main())


def test_cancelling_a_publish_leaves_the_client_usable(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        async with aio.connect(proxy.url()) as c, connect(broker) as watcher, watcher.subscribe(topic) as sub:
            proxy.hold_downstream = True  # PUBACKs from the broker are swallowed
            task = asyncio.ensure_future(c.publish(topic, b"stuck", qos=1))
            assert (await next_msg(sub)).payload == b"stuck"  # the broker has it
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert c._pub_waiters == {}
            proxy.hold_downstream = False
            done = await asyncio.wait_for(c.publish(topic, b"next", qos=1), 5)
            assert done is not None and done.reason_code == 0

    run(main())


# ----- reconnecting -------------------------------------------------------------------------------


class Watch:
    """Connection events of a client, for waiting on them without sleeping."""

    def __init__(self) -> None:
        self.connected: list[m.Connected] = []
        self.disconnected: list[m.Disconnected] = []
        self.changed = asyncio.Event()

    def on_connect(self, c: aio.Client, ev: m.Connected) -> None:
        self.connected.append(ev)
        self.changed.set()

    def on_disconnect(self, c: aio.Client, ev: m.Disconnected) -> None:
        self.disconnected.append(ev)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


def test_reconnect_resumes_the_session_and_loses_no_qos1_message(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        w = Watch()
        async with aio.connect(
            proxy.url(),
            client_id="resume-sub",
            session_expiry_interval=60,
            reconnect=FAST,
            on_connect=w.on_connect,
            on_disconnect=w.on_disconnect,
        ) as c, connect(broker) as publisher:
            sub = await c.subscribe(topic, qos=1, queue_size=0)
            await publisher.publish(topic, b"before", qos=1)
            assert (await next_msg(sub)).payload == b"before"
            proxy.refuse = True
            proxy.cut()
            await w.until(lambda: len(w.disconnected) == 1)
            assert w.disconnected[0].cause == "connection_lost"
            for i in range(20):  # queued by the broker for the offline session
                await publisher.publish(topic, str(i), qos=1)
            proxy.refuse = False
            await w.until(lambda: len(w.connected) == 2)
            assert w.connected[1].session_present and c.session_present and c.connections == 2
            got: list[bytes] = []
            while len(got) < 20:
                msg = await next_msg(sub)
                if msg.payload == b"before":
                    # at least once: our PUBACK may not have reached the
                    # broker before the cut, so it sends it again
                    assert msg.dup
                    continue
                got.append(msg.payload)
            assert got == [str(i).encode() for i in range(20)]

    run(main())


@pytest.mark.parametrize("qos", [1, 2])
def test_a_publish_in_flight_completes_across_a_reconnect(broker: Broker, proxy: Proxy, topic: str, qos: int) -> None:
    async def main() -> None:
        w = Watch()
        async with aio.connect(
            proxy.url(), client_id=f"inflight-{qos}", session_expiry_interval=60, reconnect=FAST, on_connect=w.on_connect
        ) as c, connect(broker) as watcher, watcher.subscribe(topic, qos=1) as sub:
            proxy.hold_downstream = True
            task = asyncio.ensure_future(c.publish(topic, b"in flight", qos=qos))
            if qos == 1:
                assert (await next_msg(sub)).payload == b"in flight"
            else:  # mosquitto forwards a QoS 2 message at PUBREL: see it arrive
                await wait_until(lambda: f"Received PUBLISH from inflight-{qos}" in broker.log())
            assert not task.done()  # its PUBACK / PUBREC was swallowed
            proxy.hold_downstream = False
            proxy.cut()
            result = await asyncio.wait_for(task, 10)  # re-sent with DUP, acknowledged
            assert result is not None and result.reason_code == 0
            assert result.qos == qos
            assert w.connected[-1].session_present and c.connections == 2
            if qos == 1:
                # the broker got it twice (the re-sent PUBLISH had DUP set)
                # and, at QoS 1, forwards it twice
                assert (await next_msg(sub)).payload == b"in flight"
            else:
                # exactly once: the broker knew the packet identifier
                assert (await next_msg(sub)).payload == b"in flight"
                await c.publish(topic, b"marker", qos=1)
                assert (await next_msg(sub)).payload == b"marker"

    run(main())


def test_subscriptions_are_remade_when_the_session_is_lost(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        w = Watch()
        async with aio.connect(proxy.url(), reconnect=FAST, on_connect=w.on_connect) as c, connect(broker) as pub:
            sub = await c.subscribe(topic, qos=1)
            svc = await c.serve(f"{topic}/svc", lambda req: b"served")
            proxy.cut()
            await w.until(lambda: len(w.connected) == 2)
            assert not c.session_present
            # the SUBSCRIBEs are on their way again: a QoS 1 publish finds a
            # subscriber once the broker has them (0x10 before)
            for _ in range(200):
                r = await pub.publish(topic, b"after", qos=1)
                if r is not None and r.reason_code == 0:
                    break
            else:
                raise AssertionError("never re-subscribed")
            assert (await next_msg(sub)).payload == b"after"
            assert (await pub.call(f"{topic}/svc", timeout=5)).payload == b"served"
            assert svc.active

    run(main())


def test_reconnect_after_a_broker_restart(own_broker: Broker, topic: str) -> None:
    async def main() -> None:
        w = Watch()
        async with connect(own_broker, reconnect=FAST, on_connect=w.on_connect) as c:
            sub = await c.subscribe(topic, qos=1)
            own_broker.restart()
            await w.until(lambda: len(w.connected) == 2)
            for _ in range(200):
                r = await c.publish(topic, b"back", qos=1)
                if r is not None and r.reason_code == 0:
                    break
            assert (await next_msg(sub)).payload == b"back"

    run(main())


def test_calls_wait_for_the_connection_while_reconnecting(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        w = Watch()
        async with connect(broker) as server, aio.connect(
            proxy.url(), reconnect=FAST, on_connect=w.on_connect, on_disconnect=w.on_disconnect
        ) as client:
            await server.serve(f"{topic}/svc", lambda req: b"ok")
            proxy.refuse = True
            proxy.cut()
            await w.until(lambda: len(w.disconnected) == 1)
            call = asyncio.ensure_future(client.call(f"{topic}/svc", timeout=10))
            queued = asyncio.ensure_future(client.publish(f"{topic}/q", b"queued", qos=1))
            await asyncio.sleep(0)
            assert not call.done() and not queued.done()
            proxy.refuse = False
            assert (await asyncio.wait_for(call, 10)).payload == b"ok"
            assert (await asyncio.wait_for(queued, 10)) is not None

    run(main())


def test_a_silent_broker_is_detected_by_keep_alive(broker: Broker, proxy: Proxy) -> None:
    """No PINGRESP: the engine declares the connection dead on its own timer,
    the adapter closes it and connects again."""

    async def main() -> None:
        w = Watch()
        async with aio.connect(
            proxy.url(),
            keep_alive=1,
            connect_timeout=1,
            reconnect=FAST,
            on_connect=w.on_connect,
            on_disconnect=w.on_disconnect,
        ) as c:
            proxy.hold_downstream = True
            await w.until(lambda: len(w.disconnected) == 1)
            assert w.disconnected[0].cause == "keep_alive_timeout"
            assert w.disconnected[0].reason_code == 0x8D
            proxy.hold_downstream = False
            await w.until(lambda: c.connected and c.connections >= 2, timeout=15)

    run(main())


def test_without_reconnect_a_lost_connection_ends_everything(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        async with aio.connect(proxy.url(), reconnect=False) as c:
            sub = await c.subscribe(topic)
            proxy.cut()
            with pytest.raises(aio.ConnectionLostError) as e:
                await next_msg(sub)
            assert e.value.disconnected is not None and e.value.disconnected.cause == "connection_lost"
            assert c.closed
            with pytest.raises(aio.ClientClosedError):
                await c.publish(topic, b"x")

    run(main())


def test_reconnect_gives_up_after_max_attempts(broker: Broker, proxy: Proxy, topic: str) -> None:
    async def main() -> None:
        async with aio.connect(proxy.url(), reconnect=aio.Backoff(initial=0.01, max_attempts=3)) as c:
            sub = await c.subscribe(topic)
            proxy.refuse = True
            proxy.cut()
            with pytest.raises(aio.ConnectionLostError) as e:
                await next_msg(sub)
            assert "3 reconnect attempts failed" in str(e.value)

    run(main())


# ----- refusals mosquitto does not send: a scripted broker ----------------------------------------------


class Scripted:
    """A minimal MQTT 5 broker on a loopback port, written with the package's
    codec: accepts CONNECT, answers SUBSCRIBE with `suback(filter)` codes,
    PUBLISH QoS 1 with `puback(topic)`, PINGREQ."""

    def __init__(
        self,
        suback: Callable[[str], int] = lambda f: 1,
        puback: Callable[[str], int] = lambda t: 0,
    ) -> None:
        self.suback = suback
        self.puback = puback
        self.server: Optional[asyncio.base_events.Server] = None
        self.port = 0
        self.received: list[m.Packet] = []
        self.pinged = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> "Scripted":
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()

    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        decoder = m.Decoder(5)
        try:
            while data := await reader.read(65536):
                for p in decoder.feed(data):
                    self.received.append(p)
                    out = self._answer(p)
                    if out is not None:
                        writer.write(m.encode(out))
        except (ConnectionError, m.MqttError):
            pass
        finally:
            writer.close()

    def _answer(self, p: m.Packet) -> Optional[m.Packet]:
        if isinstance(p, m.Connect):
            method = p.properties.authentication_method
            if method is not None:  # enhanced authentication: one challenge
                return m.Auth(0x18, m.Properties(authentication_method=method, authentication_data=b"challenge"))
            return m.Connack(False, 0)
        if isinstance(p, m.Auth):
            method = p.properties.authentication_method
            if p.properties.authentication_data == b"answer":
                return m.Connack(False, 0, m.Properties(authentication_method=method))
            return m.Connack(False, 0x87)
        if isinstance(p, m.Subscribe):
            return m.Suback(p.packet_id, [self.suback(s.topic_filter) for s in p.subscriptions])
        if isinstance(p, m.Publish) and p.qos == 1:
            return m.PubAck(p.packet_id or 0, self.puback(p.topic))
        if isinstance(p, m.PingReq):
            self.pinged.set()
            return m.PingResp()
        return None


def test_subscription_refused() -> None:
    async def main() -> None:
        async with Scripted(suback=lambda f: 0x87 if f.startswith("secret") else 1) as s:
            async with aio.connect(s.url()) as c:
                with pytest.raises(aio.SubscribeError) as e:
                    await c.subscribe("secret/x")
                assert e.value.reason_code == 0x87 and "0x87 Not authorized" in str(e.value)
                with pytest.raises(aio.SubscribeError):
                    async for _ in c.subscribe(["ok/x", "secret/y"]):
                        pass
                assert (await c.subscribe("ok/z")).granted == [1]
                with pytest.raises(aio.SubscribeError):
                    await c.serve("secret/svc", lambda req: b"")

    run(main())


def test_requests_fail_with_the_reason_code() -> None:
    async def main() -> None:
        async with Scripted(
            suback=lambda f: 0x87 if f.startswith("replies/denied") else 1,
            puback=lambda t: 0x97 if t == "quota" else 0,
        ) as s:
            async with aio.connect(s.url(), client_id="ok") as c:
                with pytest.raises(aio.RequestRefused) as e:
                    await c.call("quota", b"", timeout=5)
                assert (e.value.end, e.value.reason_code) == ("refused", 0x97)
            async with aio.connect(s.url(), client_id="denied") as c:
                with pytest.raises(aio.RequestRefused) as e:
                    await c.call("anything", b"", timeout=5)
                assert (e.value.end, e.value.reason_code) == ("subscription_refused", 0x87)

    run(main())


def test_keep_alive_pings_on_engine_time() -> None:
    """keep_alive=1: the engine's timer makes the adapter send PINGREQ."""

    async def main() -> None:
        async with Scripted() as s:
            async with aio.connect(s.url(), keep_alive=1):
                await asyncio.wait_for(s.pinged.wait(), 5)
            assert isinstance(s.received[-1], m.Disconnect)

    run(main())


def test_enhanced_authentication_challenge() -> None:
    async def main() -> None:
        challenges: list[m.Auth] = []

        def on_auth(c: aio.Client, ev: m.Auth) -> None:
            challenges.append(ev)
            c.auth(0x18, data=b"answer")

        async with Scripted() as s:
            async with aio.connect(s.url(), authentication_method="TEST", on_auth=on_auth) as c:
                assert c.connected
            assert challenges[0].properties.authentication_data == b"challenge"
            with pytest.raises(aio.ConnectError) as e:
                async with aio.connect(s.url(), authentication_method="TEST", on_auth=lambda c, ev: c.auth(data=b"no")):
                    pass
            assert e.value.reason_code == 0x87

    run(main())


def test_manual_acks(broker: Broker, topic: str) -> None:
    async def main() -> None:
        async with connect(broker, manual_ack=True) as c, c.subscribe(topic, qos=1) as sub:
            await c.publish(topic, b"one", qos=1)
            msg = await next_msg(sub)
            assert c.engine.inbound_pending == 1  # not acknowledged yet
            c.ack(msg)
            assert c.engine.inbound_pending == 0

    run(main())
