"""Publish/receive throughput through mosquitto: mqtt_engine.aio beside
paho-mqtt and aiomqtt.

One run = one library, one QoS: a subscriber process (subscribed at that
QoS before anything is sent) and a publisher process, both of that library,
MQTT 5.0, on a private mosquitto. The publisher sends N messages of 64 bytes
to one topic with up to WINDOW publishes outstanding, then waits until every
publish has completed (QoS 1: its PUBACK; QoS 0: handed to the socket, as
each library reports it). The figure is N divided by the time from the first
publish to the later of "last message received by the subscriber" and "last
publish completed". Both ends read the same system-wide monotonic clock
(`time.perf_counter`, CLOCK_MONOTONIC on Linux).

Libraries run in turns (the order rotated every round) in one session; the
median of the rounds is reported with the ratio mqtt_engine / peer.

Run: `python bindings-python/benches/bench_throughput.py [--n 100000] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

PAYLOAD = bytes(range(64))
WINDOW = 100
LIBS = ["mqtt_engine", "paho-mqtt", "aiomqtt"]
RUN_TIMEOUT = 180.0


# ================================================================ roles

async def _stdin_line() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def _deadline_s(n: int) -> float:
    return RUN_TIMEOUT - 10


# ---------------------------------------------------------------- paho-mqtt

def paho_connect(cid: str, port: int, inflight: int | None = None) -> Any:
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    if inflight:
        c.max_inflight_messages_set(inflight)
    c.max_queued_messages_set(0)
    connected = threading.Event()
    c.on_connect = lambda cl, u, f, rc, p: connected.set()
    c.connect("127.0.0.1", port, keepalive=60)
    # paho-mqtt leaves Nagle's algorithm on; asyncio (so mqtt_engine.aio)
    # turns it off. Turned off here too, in the peer's favour.
    c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.loop_start()
    if not connected.wait(10):
        raise RuntimeError("paho-mqtt: no CONNACK")
    return c


def paho_sub(a: argparse.Namespace) -> None:
    n = a.n
    got = 0
    t_first = t_last = 0.0
    done = threading.Event()
    subscribed = threading.Event()
    c = paho_connect(f"tp-sub-{os.getpid()}", a.port)

    def on_message(cl: Any, u: Any, m: Any) -> None:
        nonlocal got, t_first, t_last
        got += 1
        if got == 1:
            t_first = time.perf_counter()
        if got == n:
            t_last = time.perf_counter()
            done.set()

    c.on_message = on_message
    c.on_subscribe = lambda cl, u, mid, rcs, p: subscribed.set()
    c.subscribe(a.topic, qos=a.qos)
    if not subscribed.wait(10):
        raise RuntimeError("paho-mqtt: no SUBACK")
    H.child_ready()
    done.wait(_deadline_s(n))
    H.child_result(dict(received=got, t_first=t_first, t_last=t_last or time.perf_counter()))
    c.disconnect()
    c.loop_stop()


def paho_pub(a: argparse.Namespace) -> None:
    n, qos, topic = a.n, a.qos, a.topic
    done_n = 0
    t_done = 0.0
    done = threading.Event()
    c = paho_connect(f"tp-pub-{os.getpid()}", a.port, inflight=WINDOW)
    # The publishing thread keeps at most WINDOW publishes outstanding, as the
    # asyncio publishers do. Without it, paho-mqtt queues everything beyond
    # its in-flight limit in `_out_messages` and walks that whole dict on
    # every PUBACK (`_update_inflight`): quadratic, 100,000 QoS 1 messages
    # then take minutes (about 70,000 were done after 170 s in a first run).
    window = threading.BoundedSemaphore(WINDOW)

    def on_publish(cl: Any, u: Any, mid: int, rc: Any, p: Any) -> None:
        nonlocal done_n, t_done
        done_n += 1
        window.release()
        if done_n == n:
            t_done = time.perf_counter()
            done.set()

    c.on_publish = on_publish
    H.child_ready()
    H.child_wait_go()
    t0 = time.perf_counter()
    publish, acquire = c.publish, window.acquire
    for _ in range(n):
        acquire()
        publish(topic, PAYLOAD, qos)
    t_sent = time.perf_counter()
    done.wait(_deadline_s(n))
    H.child_result(dict(t0=t0, t_sent=t_sent, t_done=t_done or time.perf_counter(), completed=done_n))
    c.disconnect()
    c.loop_stop()


# ---------------------------------------------------------------- aiomqtt

def aiomqtt_client(cid: str, port: int, **kw: Any) -> Any:
    import logging

    import aiomqtt

    # aiomqtt logs a warning for every publish made while more than
    # `pending_calls_threshold` (10) are pending; with a window of 100 that
    # is every publish. Raised to the window, so that no time goes to logging.
    # TCP_NODELAY as for paho-mqtt (aiomqtt's socket is paho-mqtt's).
    c = aiomqtt.Client("127.0.0.1", port, identifier=cid, protocol=aiomqtt.ProtocolVersion.V5,
                       timeout=60, logger=logging.getLogger("bench.aiomqtt"),
                       socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),), **kw)
    c.pending_calls_threshold = WINDOW + 1
    return c


async def aiomqtt_sub(a: argparse.Namespace) -> None:
    n = a.n
    got = 0
    t_first = t_last = 0.0
    async with aiomqtt_client(f"tp-sub-{os.getpid()}", a.port) as c:
        await c.subscribe(a.topic, qos=a.qos)
        H.child_ready()

        async def consume() -> None:
            nonlocal got, t_first, t_last
            async for _m in c.messages:
                got += 1
                if got == 1:
                    t_first = time.perf_counter()
                if got == n:
                    t_last = time.perf_counter()
                    return

        try:
            await asyncio.wait_for(consume(), _deadline_s(n))
        except asyncio.TimeoutError:
            pass
        H.child_result(dict(received=got, t_first=t_first, t_last=t_last or time.perf_counter()))


async def aiomqtt_pub(a: argparse.Namespace) -> None:
    n, qos, topic = a.n, a.qos, a.topic
    async with aiomqtt_client(f"tp-pub-{os.getpid()}", a.port, max_inflight_messages=WINDOW) as c:
        H.child_ready()
        await _stdin_line()
        completed = 0

        async def worker(k: int) -> None:
            nonlocal completed
            publish = c.publish
            for _ in range(k):
                await publish(topic, PAYLOAD, qos)
                completed += 1

        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker(k) for k in _shares(n, WINDOW))), _deadline_s(n))
        t_done = time.perf_counter()
        H.child_result(dict(t0=t0, t_sent=t_done, t_done=t_done, completed=completed))


# ---------------------------------------------------------------- mqtt_engine.aio

def engine_url(port: int) -> str:
    return f"mqtt://127.0.0.1:{port}"


async def engine_sub(a: argparse.Namespace) -> None:
    import mqtt_engine.aio as aio

    n = a.n
    got = 0
    t_first = t_last = 0.0
    async with aio.connect(engine_url(a.port), client_id=f"tp-sub-{os.getpid()}") as c:
        # Default options: a queue of 1,000 messages that, when full, stops
        # the client reading from the broker until the consumer catches up.
        sub = c.subscribe(a.topic, qos=a.qos)
        # The subscription is made (SUBACK received) before "ready".
        await _subscribed(sub)
        H.child_ready()

        async def consume() -> None:
            nonlocal got, t_first, t_last
            async for _m in sub:
                got += 1
                if got == 1:
                    t_first = time.perf_counter()
                if got == n:
                    t_last = time.perf_counter()
                    return

        try:
            await asyncio.wait_for(consume(), _deadline_s(n))
        except asyncio.TimeoutError:
            pass
        H.child_result(dict(received=got, t_first=t_first, t_last=t_last or time.perf_counter(),
                            dropped=sub.dropped))


async def _subscribed(sub: Any) -> None:
    """Wait for the SUBACK of an mqtt_engine.aio subscription."""
    await sub.wait_subscribed()


async def engine_pub(a: argparse.Namespace) -> None:
    import mqtt_engine.aio as aio

    n, qos, topic = a.n, a.qos, a.topic
    async with aio.connect(engine_url(a.port), client_id=f"tp-pub-{os.getpid()}") as c:
        H.child_ready()
        await _stdin_line()
        completed = 0

        async def worker(k: int) -> None:
            nonlocal completed
            publish = c.publish
            for _ in range(k):
                await publish(topic, PAYLOAD, qos=qos)
                completed += 1

        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker(k) for k in _shares(n, WINDOW))), _deadline_s(n))
        t_done = time.perf_counter()
        H.child_result(dict(t0=t0, t_sent=t_done, t_done=t_done, completed=completed))


def _shares(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


ROLES = {
    ("paho-mqtt", "sub"): paho_sub, ("paho-mqtt", "pub"): paho_pub,
    ("aiomqtt", "sub"): aiomqtt_sub, ("aiomqtt", "pub"): aiomqtt_pub,
    ("mqtt_engine", "sub"): engine_sub, ("mqtt_engine", "pub"): engine_pub,
}


def role_main(a: argparse.Namespace) -> None:
    fn = ROLES[(a.lib, a.role)]
    if asyncio.iscoroutinefunction(fn):
        asyncio.run(fn(a))
    else:
        fn(a)


# ================================================================ orchestration


def run_one(broker: H.Mosquitto, lib: str, qos: int, n: int, tag: str) -> dict[str, Any]:
    topic = f"bench/tp/{tag}"
    common = ["--lib", lib, "--port", str(broker.port), "--topic", topic, "--qos", str(qos), "--n", str(n)]
    me = Path(__file__).resolve()
    sub = Child(me, ["--role", "sub", *common])
    pub = None
    try:
        sub.read(30)
        pub = Child(me, ["--role", "pub", *common])
        pub.read(30)
        cpu0 = broker.cpu_seconds()
        pub.send()
        p = pub.read(RUN_TIMEOUT)
        s = sub.read(RUN_TIMEOUT)
        cpu1 = broker.cpu_seconds()
    finally:
        for c in (pub, sub):
            if c is not None:
                c.close()
    end = max(p["t_done"], s["t_last"])
    elapsed = end - p["t0"]
    ok = s["received"] == n and p["completed"] == n
    return dict(lib=lib, qos=qos, n=n, elapsed=elapsed, rate=n / elapsed if ok else None,
                received=s["received"], completed=p["completed"], broker_cpu=cpu1 - cpu0,
                dropped=s.get("dropped"),
                pub_rate=p["completed"] / (p["t_done"] - p["t0"]))


Child = H.Child


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["pub", "sub"])
    ap.add_argument("--lib", choices=LIBS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--topic")
    ap.add_argument("--qos", type=int, default=0)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if a.role:
        role_main(a)
        return

    libs = a.libs.split(",")
    err = H.engine_status()
    if err and "mqtt_engine" in libs:
        libs.remove("mqtt_engine")
    results: list[dict[str, Any]] = []
    load0 = H.load()
    with H.Mosquitto() as broker:
        for qos in (0, 1):
            for r in range(a.rounds):
                order = libs[r % len(libs):] + libs[: r % len(libs)]
                for lib in order:
                    tag = f"{lib}/q{qos}/r{r}"
                    try:
                        res = run_one(broker, lib, qos, a.n, tag)
                    except Exception as exc:  # reported, never hidden
                        res = dict(lib=lib, qos=qos, n=a.n, rate=None, error=f"{type(exc).__name__}: {exc}"[:2000])
                    res["round"] = r
                    results.append(res)
                    print(f"  qos {qos} round {r} {lib:12} "
                          + (f"{res['rate']:,.0f} msg/s" if res.get("rate") else
                             f"FAILED {res.get('error') or (res.get('received'), res.get('completed'), res.get('dropped'))}"),
                          file=sys.stderr, flush=True)
    load1 = H.load()
    print(report(results, libs, a.n, err))
    print(f"\nload average before / after: {load0} / {load1}")
    if a.json:
        a.json.write_text(json.dumps(dict(results=results, engine_error=err, load=[load0, load1]), indent=1))


def report(results: list[dict[str, Any]], libs: list[str], n: int, err: str | None) -> str:
    rows = []
    for qos in (0, 1):
        med: dict[str, float | None] = {}
        cells: dict[str, str] = {}
        for lib in LIBS:
            rs = [r for r in results if r["lib"] == lib and r["qos"] == qos]
            rates = [r["rate"] for r in rs if r.get("rate")]
            if lib not in libs:
                med[lib] = None
                cells[lib] = "n/a"
                continue
            if len(rates) < len(rs) or not rates:
                bad = [r for r in rs if not r.get("rate")]
                why = bad[0].get("error") or (f"received {bad[0].get('received')}, completed "
                                              f"{bad[0].get('completed')}, dropped by the client "
                                              f"{bad[0].get('dropped')}")
                cells[lib] = f"{len(bad)}/{len(rs)} runs failed ({why[:120]})"
            med[lib] = statistics.median(rates) if rates else None
            if rates:
                cpu = statistics.median(r["broker_cpu"] for r in rs if r.get("rate"))
                cells[lib] = (f"{med[lib]:,.0f} msg/s (runs {', '.join(f'{x / 1000:.1f}k' for x in rates)}; "
                              f"broker CPU {cpu:.1f} s)" + (f"; {cells[lib]}" if lib in cells else ""))
        ours = med.get("mqtt_engine")
        rows.append([f"QoS {qos}, {n:,} × 64 B", cells["mqtt_engine"], cells["paho-mqtt"], cells["aiomqtt"],
                     H.ratio(ours, med.get("paho-mqtt")), H.ratio(ours, med.get("aiomqtt"))])
    out = H.table(["messages", "mqtt_engine.aio", "paho-mqtt (threaded loop)", "aiomqtt",
                   "ratio vs paho-mqtt", "ratio vs aiomqtt"], rows)
    if err:
        out += f"\n\nmqtt_engine not measured: {err}"
    return out


if __name__ == "__main__":
    main()
