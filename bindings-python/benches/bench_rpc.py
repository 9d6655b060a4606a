"""Request/response round trips per second through mosquitto:
mqtt_engine.aio (`call` / `serve`) beside a paho-mqtt requester/responder
pair speaking plain MQTT 5 request/response (Response Topic + Correlation
Data), QoS 1 both ways for both (mqtt_engine's default for requests and
responses).

One run = one pair (a responder process and a requester process of the same
library, MQTT 5.0, private mosquitto) and one concurrency C: the requester
keeps C requests in flight (C = 1: strictly one after another) until M round
trips have completed; every answer is checked to carry the request's payload
back. The figure is M divided by the time from the first request to the last
answer.

The paho-mqtt requester is written for speed, not convenience: each answer's
`on_message` callback publishes the next request on the network thread
(no hand-off to another thread), correlation by a dict of Correlation Data.
mqtt_engine's requester is the plain user code: C asyncio tasks, each
`await client.call(topic, payload)` in a loop; its responder is
`client.serve(filter, handler)` with a plain function as handler. (Our
requests also carry what DESIGN §6 adds: a Message Expiry Interval and the
deadline in a User Property; answers carry a status User Property.)

Run: `python bindings-python/benches/bench_rpc.py [--rounds 3]`.
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

LIBS = ["mqtt_engine", "paho-mqtt"]
# (concurrency, round trips per run)
SHAPES = [(1, 3000), (16, 10000), (64, 15000)]
RUN_TIMEOUT = 180.0
REQ_TOPIC = "bench/rpc/{tag}/echo"


# ================================================================ paho-mqtt

def paho_connect(cid: str, port: int) -> Any:
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
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


def _paho_subscribe(c: Any, topic: str) -> None:
    done = threading.Event()
    c.on_subscribe = lambda cl, u, mid, rcs, p: done.set()
    c.subscribe(topic, qos=1)
    if not done.wait(10):
        raise RuntimeError("paho-mqtt: no SUBACK")


def paho_responder(a: argparse.Namespace) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    c = paho_connect(f"rpc-srv-{os.getpid()}", a.port)

    def on_message(cl: Any, u: Any, m: Any) -> None:
        rt = getattr(m.properties, "ResponseTopic", None)
        if not rt:
            return
        p = Properties(PacketTypes.PUBLISH)
        p.CorrelationData = m.properties.CorrelationData
        cl.publish(rt, m.payload, qos=1, properties=p)

    c.on_message = on_message
    _paho_subscribe(c, a.topic)
    H.child_ready()
    H.child_wait_go()  # "stop"
    c.disconnect()
    c.loop_stop()


def paho_requester(a: argparse.Namespace) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    cid = f"rpc-cli-{os.getpid()}"
    c = paho_connect(cid, a.port)
    reply_to = f"replies/{cid}"
    total, conc, topic = a.m, a.c, a.topic
    pending: dict[bytes, bytes] = {}
    issued = completed = bad = 0
    done = threading.Event()
    t_end = 0.0

    def issue() -> None:
        nonlocal issued
        corr = os.urandom(16)
        body = issued.to_bytes(4, "big") * 8
        issued += 1
        p = Properties(PacketTypes.PUBLISH)
        p.ResponseTopic = reply_to
        p.CorrelationData = corr
        pending[corr] = body
        c.publish(topic, body, qos=1, properties=p)

    lock = threading.Lock()

    def on_message(cl: Any, u: Any, m: Any) -> None:
        nonlocal completed, bad, t_end
        want = pending.pop(getattr(m.properties, "CorrelationData", b""), None)
        if want is None:
            return  # not ours: dropped
        if m.payload != want:
            bad += 1
        with lock:  # the first requests may still be being issued by the main thread
            completed += 1
            if issued < total:
                issue()
            elif completed == total:
                t_end = time.perf_counter()
                done.set()

    c.on_message = on_message
    _paho_subscribe(c, reply_to)
    H.child_ready()
    H.child_wait_go()
    t0 = time.perf_counter()
    with lock:
        for _ in range(min(conc, total)):
            issue()
    done.wait(RUN_TIMEOUT - 10)
    H.child_result(dict(t0=t0, t_end=t_end or time.perf_counter(), completed=completed, bad=bad))
    c.disconnect()
    c.loop_stop()


# ================================================================ mqtt_engine.aio

def engine_url(port: int) -> str:
    return f"mqtt://127.0.0.1:{port}"


async def _stdin_line() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def engine_responder(a: argparse.Namespace) -> None:
    import mqtt_engine.aio as aio

    # Default options: the responder's cache (max_cached 16,384) holds every
    # answer of a run, and evicts answers whose request has expired.
    async with aio.connect(engine_url(a.port), client_id=f"rpc-srv-{os.getpid()}") as c:
        def echo(req: Any) -> bytes:
            return req.payload

        # Awaiting serve() returns once the request subscription is acknowledged.
        await c.serve(a.topic, echo)
        H.child_ready()
        await _stdin_line()  # "stop"


async def engine_requester(a: argparse.Namespace) -> None:
    import mqtt_engine.aio as aio

    total, conc, topic = a.m, a.c, a.topic
    async with aio.connect(engine_url(a.port), client_id=f"rpc-cli-{os.getpid()}") as c:
        # One call before "ready": the response subscription is made by the
        # first request (DESIGN §6), which is setup, not what is measured.
        r = await c.call(topic, b"warm-up", timeout=10)
        assert _payload(r) == b"warm-up", r
        H.child_ready()
        await _stdin_line()
        completed = bad = 0
        counter = iter(range(total))

        async def worker() -> None:
            nonlocal completed, bad
            call = c.call
            for i in counter:
                body = i.to_bytes(4, "big") * 8
                r = await call(topic, body, timeout=30)
                if _payload(r) != body:
                    bad += 1
                completed += 1

        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(min(conc, total)))), RUN_TIMEOUT - 10)
        t_end = time.perf_counter()
        H.child_result(dict(t0=t0, t_end=t_end, completed=completed, bad=bad))


def _payload(r: Any) -> bytes:
    return r if isinstance(r, (bytes, bytearray)) else r.payload


ROLES = {
    ("paho-mqtt", "responder"): paho_responder, ("paho-mqtt", "requester"): paho_requester,
    ("mqtt_engine", "responder"): engine_responder, ("mqtt_engine", "requester"): engine_requester,
}


def role_main(a: argparse.Namespace) -> None:
    fn = ROLES[(a.lib, a.role)]
    if asyncio.iscoroutinefunction(fn):
        asyncio.run(fn(a))
    else:
        fn(a)


# ================================================================ orchestration


def run_one(broker: H.Mosquitto, lib: str, conc: int, m: int, tag: str) -> dict[str, Any]:
    topic = REQ_TOPIC.format(tag=tag)
    me = Path(__file__).resolve()
    common = ["--lib", lib, "--port", str(broker.port), "--topic", topic]
    srv = H.Child(me, ["--role", "responder", *common])
    cli = None
    try:
        srv.read(30)
        cli = H.Child(me, ["--role", "requester", *common, "--c", str(conc), "--m", str(m)])
        cli.read(30)
        cpu0 = broker.cpu_seconds()
        cli.send()
        r = cli.read(RUN_TIMEOUT)
        cpu1 = broker.cpu_seconds()
        srv.send("stop")
    finally:
        for ch in (cli, srv):
            if ch is not None:
                ch.close()
    elapsed = r["t_end"] - r["t0"]
    ok = r["completed"] == m and r["bad"] == 0
    return dict(lib=lib, c=conc, m=m, elapsed=elapsed, rate=m / elapsed if ok else None,
                completed=r["completed"], bad=r["bad"], broker_cpu=cpu1 - cpu0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["requester", "responder"])
    ap.add_argument("--lib", choices=LIBS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--topic")
    ap.add_argument("--c", type=int, default=1)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the round-trip counts")
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
    shapes = [(c, max(c, int(m * a.scale))) for c, m in SHAPES]
    results: list[dict[str, Any]] = []
    load0 = H.load()
    with H.Mosquitto() as broker:
        for conc, m in shapes:
            for r in range(a.rounds):
                order = libs[r % len(libs):] + libs[: r % len(libs)]
                for lib in order:
                    tag = f"{lib}-c{conc}-r{r}"
                    try:
                        res = run_one(broker, lib, conc, m, tag)
                    except Exception as exc:
                        res = dict(lib=lib, c=conc, m=m, rate=None, error=f"{type(exc).__name__}: {exc}"[:2000])
                    res["round"] = r
                    results.append(res)
                    print(f"  c={conc:<3} round {r} {lib:12} "
                          + (f"{res['rate']:,.0f} round trips/s" if res.get("rate") else
                             f"FAILED {res.get('error') or (res.get('completed'), res.get('bad'))}"),
                          file=sys.stderr, flush=True)
    load1 = H.load()
    print(report(results, libs, shapes, err))
    print(f"\nload average before / after: {load0} / {load1}")
    if a.json:
        a.json.write_text(json.dumps(dict(results=results, engine_error=err, load=[load0, load1]), indent=1))


def report(results: list[dict[str, Any]], libs: list[str], shapes: list[tuple[int, int]], err: str | None) -> str:
    rows = []
    for conc, m in shapes:
        med: dict[str, float | None] = {}
        cells: dict[str, str] = {}
        for lib in LIBS:
            rs = [r for r in results if r["lib"] == lib and r["c"] == conc]
            rates = [r["rate"] for r in rs if r.get("rate")]
            med[lib] = statistics.median(rates) if rates else None
            if lib not in libs:
                cells[lib] = "n/a"
                continue
            bad = [r for r in rs if not r.get("rate")]
            cell = ""
            if rates:
                cpu = statistics.median(r["broker_cpu"] for r in rs if r.get("rate"))
                cell = (f"{med[lib]:,.0f}/s (runs {', '.join(f'{x:,.0f}' for x in rates)}; "
                        f"broker CPU {cpu:.1f} s)")
            if bad:
                why = bad[0].get("error") or f"completed {bad[0].get('completed')}, wrong {bad[0].get('bad')}"
                cell += f" {len(bad)}/{len(rs)} runs failed ({why[:160]})"
            cells[lib] = cell
        label = "sequential (1 in flight)" if conc == 1 else f"{conc} in flight"
        rows.append([f"{label}, {m:,} round trips", cells["mqtt_engine"], cells["paho-mqtt"],
                     H.ratio(med.get("mqtt_engine"), med.get("paho-mqtt"))])
    out = H.table(["request/response, QoS 1", "mqtt_engine.aio call/serve", "paho-mqtt pair", "ratio"], rows)
    if err:
        out += f"\n\nmqtt_engine not measured: {err}"
    return out


if __name__ == "__main__":
    main()
