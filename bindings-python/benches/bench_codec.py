"""Packet handling: mqtt_engine's codec and sans-IO Client against pure-Python
MQTT implementations, in one process, timed in turns.

Part 1, codec: decode and encode PUBLISH, CONNECT and SUBSCRIBE.
  - mqtt_engine: `decode(bytes, version)` / `encode(packet, version)`.
  - amqtt (3.1.1 only): the packet classes, `XPacket.from_stream` over its
    `BufferReader` (the coroutine is driven by hand, no event loop) and
    `packet.to_bytes()`.
  - gmqtt: `PublishPacket` / `LoginPackageFactor` / `SubscribePacket`
    `.build_package`; decoding PUBLISH with `MqttPackageHandler._handle_publish_packet`
    (gmqtt decodes no CONNECT or SUBSCRIBE: it is a client only).
  - paho-mqtt: its internal builders `Client._send_publish` / `_send_connect`
    / `_send_subscribe` with `_packet_queue` replaced by a function that keeps
    the bytes (so no queueing or socket write is timed), and its PUBLISH
    parser `Client._packet_handle` on a packet already read into `_in_packet`
    (no framing timed).
  Every implementation gets the same packets, and before anything is timed
  each encoder's bytes and each decoder's fields are checked equal.

Part 2, client: a PUBLISH through a whole client, no network.
  - mqtt_engine: the sans-IO `Client` (handle_bytes / poll_event /
    poll_transmit / publish) after a CONNECT / CONNACK exchange.
  - paho-mqtt: its `Client` on a fake socket after the same exchange:
    `_packet_read()` for an inbound PUBLISH (reading, parsing, `on_message`,
    and PUBACK written for QoS 1) and `publish()` for an outbound one (QoS 1
    completed by a PUBACK read back through `_packet_read()`).

Run: `python bindings-python/benches/bench_codec.py [--quick] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

# amqtt is installed beside the shared virtual environment, not into it: it
# pins websockets==15.0.1 exactly, which must not override what mqtt_engine.aio
# uses. Appended, so the venv's own packages win.
AMQTT_DIR = H.ROOT / "target" / "py-bench" / "deps"
sys.path.append(str(AMQTT_DIR))

# ---------------------------------------------------------------- the packets

TOPIC = "sensors/building-1/floor-2/temperature"
CORR = bytes(range(16))

CASES: list[dict[str, Any]] = [
    dict(name="PUBLISH 3.1.1 QoS 0, 16 B", kind="publish", v=4,
         f=dict(topic=TOPIC, payload=b"x" * 16, qos=0, retain=False, dup=False, packet_id=None, props={})),
    dict(name="PUBLISH 3.1.1 QoS 1, 1 KiB", kind="publish", v=4,
         f=dict(topic=TOPIC, payload=bytes(range(256)) * 4, qos=1, retain=False, dup=False, packet_id=4321, props={})),
    dict(name="PUBLISH 5.0 QoS 0, 64 B", kind="publish", v=5,
         f=dict(topic=TOPIC, payload=b"y" * 64, qos=0, retain=False, dup=False, packet_id=None, props={})),
    dict(name="PUBLISH 5.0 QoS 1, 64 B, 6 properties", kind="publish", v=5,
         f=dict(topic=TOPIC, payload=b"z" * 64, qos=1, retain=False, dup=False, packet_id=4321,
                props=dict(payload_format_indicator=1, message_expiry_interval=30,
                           content_type="application/json", response_topic="replies/bench-client",
                           correlation_data=CORR, user_properties=[("trace", "4bf92f3577b34da6")]))),
    dict(name="CONNECT 3.1.1, will, user, password", kind="connect", v=4,
         f=dict(client_id="bench-client-0001", keep_alive=60, clean=True, username="user", password=b"secret",
                will=dict(topic="clients/bench-client-0001/status", payload=b"offline", qos=1, retain=True),
                props={})),
    dict(name="CONNECT 5.0, will, user, password, 2 properties", kind="connect", v=5,
         f=dict(client_id="bench-client-0001", keep_alive=60, clean=True, username="user", password=b"secret",
                will=dict(topic="clients/bench-client-0001/status", payload=b"offline", qos=1, retain=True),
                props=dict(session_expiry_interval=3600, receive_maximum=100))),
    dict(name="SUBSCRIBE 3.1.1, 3 filters", kind="subscribe", v=4,
         f=dict(packet_id=7, filters=[("sensors/+/temperature", 1, False, False, 0), ("alerts/#", 2, False, False, 0),
                                       ("cmd/device-42", 0, False, False, 0)], props={})),
    dict(name="SUBSCRIBE 5.0, 3 filters, options, subscription id", kind="subscribe", v=5,
         f=dict(packet_id=7, filters=[("sensors/+/temperature", 1, True, False, 0), ("alerts/#", 2, False, True, 1),
                                       ("cmd/device-42", 0, False, False, 2)],
                props=dict(subscription_identifier=5))),
]


def canon(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """Fields in one comparable form (bytes as bytes, lists of tuples)."""
    out = dict(d)
    props = {k: v for k, v in (d.get("props") or {}).items() if v not in (None, [], {})}
    if "user_properties" in props:
        props["user_properties"] = [tuple(p) for p in props["user_properties"]]
    out["props"] = props
    if kind == "subscribe":
        out["filters"] = [tuple(x) for x in d["filters"]]
    if kind == "connect" and d.get("will"):
        out["will"] = dict(d["will"])
    for k in ("payload", "password"):
        if isinstance(out.get(k), (bytearray, memoryview)):
            out[k] = bytes(out[k])
    return out


# ---------------------------------------------------------------- paho-mqtt

import paho.mqtt.client as pm  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties as PahoProps  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402

PAHO_PROP = dict(payload_format_indicator="PayloadFormatIndicator", message_expiry_interval="MessageExpiryInterval",
                 content_type="ContentType", response_topic="ResponseTopic", correlation_data="CorrelationData",
                 user_properties="UserProperty", session_expiry_interval="SessionExpiryInterval",
                 receive_maximum="ReceiveMaximum", subscription_identifier="SubscriptionIdentifier")


def paho_props(ptype: int, props: dict[str, Any]) -> PahoProps | None:
    if not props:
        return None
    p = PahoProps(ptype)
    for k, v in props.items():
        setattr(p, PAHO_PROP[k], v)
    return p


def paho_props_back(p: PahoProps | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p is None:
        return out
    for k, name in PAHO_PROP.items():
        if hasattr(p, name):
            v = getattr(p, name)
            if k == "subscription_identifier" and isinstance(v, list):
                v = v[0]
            out[k] = v
    return out


def paho_client(v: int, client_id: str = "bench-client-0001") -> pm.Client:
    return pm.Client(pm.CallbackAPIVersion.VERSION2, client_id=client_id,
                     protocol=pm.MQTTv5 if v == 5 else pm.MQTTv311)


class Paho:
    name = "paho-mqtt"

    @staticmethod
    def _capture(c: pm.Client) -> list[bytes]:
        out: list[bytes] = [b""]

        def queue(command: int, packet: bytes, mid: int, qos: int, info: Any = None) -> int:
            out[0] = packet
            return 0

        c._packet_queue = queue  # type: ignore[method-assign]
        c._sock = ReplaySock()  # type: ignore[assignment]  # _send_publish checks there is one
        return out

    def encoder(self, case: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        f, v = case["f"], case["v"]
        c = paho_client(v, f.get("client_id", "bench-client-0001"))
        out = self._capture(c)
        if case["kind"] == "publish":
            props = paho_props(PacketTypes.PUBLISH, f["props"])
            topic = f["topic"].encode()
            args = (f["packet_id"] or 0, topic, f["payload"], f["qos"], f["retain"], f["dup"], None, props)
            send = c._send_publish
            return partial(send, *args), lambda: (send(*args), out[0])[1]
        if case["kind"] == "connect":
            c.username_pw_set(f["username"], f["password"].decode())
            w = f["will"]
            c.will_set(w["topic"], w["payload"], w["qos"], w["retain"])
            c._connect_properties = paho_props(PacketTypes.CONNECT, f["props"])
            send_c = c._send_connect
            ka = f["keep_alive"]
            return partial(send_c, ka), lambda: (send_c(ka), out[0])[1]
        if case["kind"] == "subscribe":
            if v == 5:
                topics = [(t.encode(), SubscribeOptions(qos=q, noLocal=nl, retainAsPublished=rap, retainHandling=rh))
                          for t, q, nl, rap, rh in f["filters"]]
            else:
                topics = [(t.encode(), q) for t, q, *_ in f["filters"]]
            props = paho_props(PacketTypes.SUBSCRIBE, f["props"])
            send_s = c._send_subscribe

            def result() -> bytes:
                c._last_mid = f["packet_id"] - 1  # paho numbers it: make it the case's identifier
                send_s(False, topics, props)
                return out[0]
            return partial(send_s, False, topics, props), result
        return None

    def decoder(self, case: dict[str, Any], data: bytes) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        if case["kind"] != "publish":
            return None  # paho parses no CONNECT or SUBSCRIBE: it is a client only
        c = paho_client(case["v"])
        c._manual_ack = True  # parse only: no PUBACK built for QoS 1
        got: list[Any] = [None]

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            got[0] = msg
        c.on_message = on_message
        # What _packet_read leaves in _in_packet once a packet is read.
        body = bytearray(data[_header_len(data):])
        state = {"command": data[0], "have_remaining": 1, "remaining_count": [], "remaining_mult": 1,
                 "remaining_length": len(body), "packet": body, "to_process": 0, "pos": 0}
        c._in_packet = state  # _packet_handle and _handle_publish only read it
        handle = c._packet_handle
        return handle, lambda: (handle(), got[0])[1]

    def fields(self, kind: str, m: Any) -> dict[str, Any]:
        return dict(topic=m.topic, payload=m.payload, qos=m.qos, retain=m.retain, dup=m.dup,
                    packet_id=m.mid if m.qos else None, props=paho_props_back(getattr(m, "properties", None)))


def _header_len(data: bytes) -> int:
    i = 1
    while data[i] & 0x80:
        i += 1
    return i + 1


# ---------------------------------------------------------------- gmqtt

class Gmqtt:
    name = "gmqtt"

    def __init__(self) -> None:
        import gmqtt
        from gmqtt.mqtt import package
        from gmqtt.mqtt.handler import MqttPackageHandler
        from gmqtt.mqtt.utils import ConnectionState
        self.gmqtt, self.package, self.Handler, self.State = gmqtt, package, MqttPackageHandler, ConnectionState

    PROP = dict(payload_format_indicator="payload_format_id", message_expiry_interval="message_expiry_interval",
                content_type="content_type", response_topic="response_topic", correlation_data="correlation_data",
                user_properties="user_property", session_expiry_interval="session_expiry_interval",
                receive_maximum="receive_maximum", subscription_identifier="subscription_identifier")

    def _protocol(self, v: int, pid: int | None) -> Any:
        # gmqtt's builders take the connection's protocol object for two
        # things: the version and the packet identifier allocator. A stand-in
        # hands out the case's identifier (cheaper than gmqtt's own allocator).
        return SimpleNamespace(proto_ver=v, proto_name=b"MQTT",
                               id_generator=SimpleNamespace(next_id=lambda: pid))

    def _props(self, props: dict[str, Any]) -> dict[str, Any]:
        return {self.PROP[k]: v for k, v in props.items()}

    def encoder(self, case: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        f, v, P = case["f"], case["v"], self.package
        proto = self._protocol(v, f.get("packet_id"))
        if case["kind"] == "publish":
            msg = self.gmqtt.Message(f["topic"], f["payload"], qos=f["qos"], retain=f["retain"],
                                     **self._props(f["props"]))
            build = P.PublishPacket.build_package
            return partial(build, msg, proto), lambda: build(msg, proto)[1]
        if case["kind"] == "connect":
            w = f["will"]
            will = self.gmqtt.Message(w["topic"], w["payload"], qos=w["qos"], retain=w["retain"])
            props = self._props(f["props"])
            build_c = P.LoginPackageFactor.build_package
            a = (f["client_id"], f["username"], f["password"], f["clean"], f["keep_alive"], proto, will)
            return partial(build_c, *a, **props), lambda: build_c(*a, **props)
        if case["kind"] == "subscribe":
            subs = [self.gmqtt.Subscription(t, qos=q, no_local=nl, retain_as_published=rap, retain_handling_options=rh)
                    for t, q, nl, rap, rh in f["filters"]]
            props = self._props(f["props"])
            build_s = P.SubscribePacket.build_package
            return partial(build_s, subs, proto, **props), lambda: build_s(subs, proto, **props)[1]
        return None

    def decoder(self, case: dict[str, Any], data: bytes) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        if case["kind"] != "publish":
            return None
        got: list[Any] = [None]

        def on_message(topic: str, payload: bytes, qos: int, properties: dict[str, Any]) -> None:
            got[0] = (topic, payload, qos, properties)

        def noop(*a: Any, **k: Any) -> None:
            return None

        h = self.Handler(
            connack_event=asyncio.Event(), connection_lost_event=asyncio.Event(),
            connection_state=self.State(protocol_version=case["v"]),
            reconnect_callback=noop, disconnect_callback=noop, resend_qos_callback=noop, clear_qos_callback=noop,
            connect_properties={}, subscriptions_getter=list, remove_message_callback=noop,
            store_message_callback=noop, send_command_with_mid_callback=noop)
        h.on_message = on_message
        h._logger.disabled = True  # its debug line formats nothing when disabled
        body = bytes(data[_header_len(data):])
        cmd = data[0]
        handle = h._handle_publish_packet
        self._last = (cmd, data)

        return partial(handle, cmd, body), lambda: (handle(cmd, body), got[0] + (cmd,))[1]

    def fields(self, kind: str, m: Any) -> dict[str, Any]:
        topic, payload, qos, props, cmd = m
        back = {v: k for k, v in self.PROP.items()}
        p = {back[k]: (v if k == "user_property" else v[0]) for k, v in props.items() if k in back}
        return dict(topic=topic, payload=payload, qos=qos, retain=bool(cmd & 1), dup=bool(cmd & 8),
                    packet_id=_publish_pid(self._last[1]) if qos else None, props=p)


def _publish_pid(data: bytes) -> int:
    # gmqtt hands the packet identifier of a QoS 1 PUBLISH only to its PUBACK;
    # read it from the bytes for the check.
    i = _header_len(data)
    (tl,) = struct.unpack_from("!H", data, i)
    return struct.unpack_from("!H", data, i + 2 + tl)[0]


# ---------------------------------------------------------------- amqtt

def _drive(coro: Any) -> Any:
    """Run a coroutine that never suspends (amqtt's readers over a buffer)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the coroutine suspended")


class Amqtt:
    name = "amqtt"

    def __init__(self) -> None:
        from amqtt.adapters import BufferReader
        from amqtt.mqtt import connect, publish, subscribe
        self.BufferReader, self.connect, self.publish, self.subscribe = BufferReader, connect, publish, subscribe

    def encoder(self, case: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        if case["v"] != 4:
            return None  # amqtt speaks 3.1.1 only
        f = case["f"]
        if case["kind"] == "publish":
            pkt = self.publish.PublishPacket.build(f["topic"], f["payload"], f["packet_id"], f["dup"], f["qos"],
                                                   f["retain"])
            return pkt.to_bytes, pkt.to_bytes
        if case["kind"] == "connect":
            C = self.connect
            vh = C.ConnectVariableHeader(keep_alive=f["keep_alive"], proto_name="MQTT", proto_level=4)
            w = f["will"]
            vh.clean_session_flag = f["clean"]
            vh.will_flag = True
            vh.will_qos = w["qos"]
            vh.will_retain_flag = w["retain"]
            vh.username_flag = True
            vh.password_flag = True
            pl = C.ConnectPayload(f["client_id"], w["topic"], w["payload"], f["username"], f["password"].decode())
            to_bytes = C.ConnectPacket(variable_header=vh, payload=pl).to_bytes
            return to_bytes, to_bytes
        if case["kind"] == "subscribe":
            pkt = self.subscribe.SubscribePacket.build([(t, q) for t, q, *_ in f["filters"]], f["packet_id"])
            return pkt.to_bytes, pkt.to_bytes
        return None

    def decoder(self, case: dict[str, Any], data: bytes) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        if case["v"] != 4:
            return None
        cls = {"publish": self.publish.PublishPacket, "connect": self.connect.ConnectPacket,
               "subscribe": self.subscribe.SubscribePacket}[case["kind"]]
        reader, from_stream = self.BufferReader, cls.from_stream
        def dec() -> Any:
            return _drive(from_stream(reader(data)))
        return dec, dec

    def fields(self, kind: str, p: Any) -> dict[str, Any]:
        if kind == "publish":
            return dict(topic=p.topic_name, payload=p.data, qos=p.qos, retain=p.retain_flag, dup=p.dup_flag,
                        packet_id=p.packet_id if p.qos else None, props={})
        if kind == "connect":
            pw = p.password
            return dict(client_id=p.client_id, keep_alive=p.keep_alive, clean=p.clean_session_flag,
                        username=p.username, password=pw.encode() if isinstance(pw, str) else pw,
                        will=dict(topic=p.will_topic, payload=bytes(p.will_message), qos=p.will_qos,
                                  retain=p.will_retain_flag), props={})
        return dict(packet_id=p.variable_header.packet_id,
                    filters=[(t, q, False, False, 0) for t, q in p.payload.topics], props={})


# ---------------------------------------------------------------- mqtt_engine

class Engine:
    name = "mqtt_engine"

    def __init__(self) -> None:
        import mqtt_engine as me
        self.me = me

    def encoder(self, case: dict[str, Any], data: bytes) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        # The packet object is built beforehand, as for every peer.
        pkt = self.me.decode(data, case["v"])
        enc, v = self.me.encode, case["v"]
        return partial(enc, pkt, v), partial(enc, pkt, v)

    def decoder(self, case: dict[str, Any], data: bytes) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
        dec, v = self.me.decode, case["v"]
        return partial(dec, data, v), partial(dec, data, v)

    def fields(self, kind: str, p: Any) -> dict[str, Any]:
        return from_json_form(kind, p.to_dict())


def from_json_form(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """Fields of a packet in the JSON form of DESIGN §4."""
    def hexed(obj: dict[str, Any], key: str) -> Any:
        if key + "_hex" in obj:
            return bytes.fromhex(obj[key + "_hex"])
        return obj.get(key)

    raw = d.get("properties") or {}
    props: dict[str, Any] = {}
    for k, val in raw.items():
        if k.endswith("_hex"):
            k, val = k[:-4], bytes.fromhex(val)
        if k == "subscription_identifiers":
            k, val = "subscription_identifier", val[0] if len(val) == 1 else val
        props[k] = val
    if kind == "publish":
        qos = d.get("qos", 0)
        return dict(topic=d.get("topic_name"), payload=hexed(d, "payload") or b"", qos=qos,
                    retain=d.get("retain", False), dup=d.get("dup", False),
                    packet_id=d.get("packet_identifier") if qos else None, props=props)
    if kind == "connect":
        w = d.get("will")
        will = None
        if w:
            will = dict(topic=w.get("topic"), payload=hexed(w, "payload") or b"", qos=w.get("qos", 0),
                        retain=w.get("retain", False))
        return dict(client_id=d.get("client_identifier"), keep_alive=d.get("keep_alive"),
                    clean=d.get("clean_start", d.get("clean_session")), username=d.get("user_name"),
                    password=hexed(d, "password"), will=will, props=props)
    subs = d.get("subscriptions", [])
    return dict(packet_id=d.get("packet_identifier"),
                filters=[(s["topic_filter"], s.get("qos", 0), s.get("no_local", False),
                          s.get("retain_as_published", False), s.get("retain_handling", 0)) for s in subs],
                props=props)


# ---------------------------------------------------------------- part 1


def check_encode(case: dict[str, Any], name: str, got: bytes, ref: bytes, decode_fields: Callable[[bytes], Any]) -> str:
    if got == ref:
        return "same bytes"
    # The same packet may be written with its properties in another order.
    a, b = decode_fields(got), decode_fields(ref)
    if a == b:
        return "same fields, other byte order"
    raise AssertionError(f"{case['name']}: {name} encodes\n  {got.hex()}\nwhich reads as\n  {a}\nnot\n  {b}")


def part1(peers: list[Any], engine: Engine | None, rounds: int, sample_s: float) -> list[dict[str, Any]]:
    results = []
    paho = next(p for p in peers if isinstance(p, Paho))
    for case in CASES:
        kind, want = case["kind"], canon(case["kind"], case["f"])
        # Reference bytes: paho-mqtt's (it encodes every case, both versions).
        ref = bytes(paho.encoder(case)[1]())
        if engine is not None:
            def read(b: bytes, _c: dict[str, Any] = case) -> Any:
                return canon(_c["kind"], engine.fields(_c["kind"], engine.me.decode(b, _c["v"])))
        else:
            amq = next((p for p in peers if isinstance(p, Amqtt)), None)

            def read(b: bytes, _c: dict[str, Any] = case, _a: Any = amq) -> Any:
                if _a is not None and _c["v"] == 4:
                    return canon(_c["kind"], _a.fields(_c["kind"], _a.decoder(_c, b)()))
                return b.hex()

        impls: list[Any] = ([engine] if engine else []) + peers
        for op in ("decode", "encode"):
            fns: dict[str, Callable[[], Any]] = {}
            notes: dict[str, str] = {}
            for impl in impls:
                # Each gives (the call timed, the same call returning its result).
                if op == "encode":
                    pair = impl.encoder(case, ref) if isinstance(impl, Engine) else impl.encoder(case)
                    if pair is None:
                        continue
                    fn, result = pair
                    notes[impl.name] = check_encode(case, impl.name, bytes(result()), ref, read)
                else:
                    pair = impl.decoder(case, ref)
                    if pair is None:
                        continue
                    fn, result = pair
                    got = canon(kind, impl.fields(kind, result()))
                    if got != want:
                        raise AssertionError(f"{case['name']}: {impl.name} decodes\n  {got}\nnot\n  {want}")
                    notes[impl.name] = "same fields"
                fns[impl.name] = fn
            if not set(fns) - {"mqtt_engine"}:
                continue  # no peer has this code path
            timings = H.interleaved(fns, rounds=rounds, sample_s=sample_s)
            results.append(dict(case=case["name"], op=op, size=len(ref),
                                t={k: t.per_op for k, t in timings.items()},
                                spread={k: t.spread for k, t in timings.items()}, checked=notes))
    return results


# ---------------------------------------------------------------- part 2

CONNACK5 = bytes([0x20, 0x03, 0x00, 0x00, 0x00])
PUBACKS = [bytes([0x40, 0x02, i >> 8, i & 0xFF]) for i in range(65536)]


class ReplaySock:
    """What paho's client reads from and writes to: hands out `data` again
    and again, in the pieces asked for; swallows writes."""

    def __init__(self) -> None:
        self.data = b""
        self.pos = 0
        self.sent = 0

    def load(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def recv(self, n: int) -> bytes:
        p = self.pos
        e = p + n
        if e >= len(self.data):
            self.pos = 0
            return self.data[p:]
        self.pos = e
        return self.data[p:e]

    def send(self, buf: bytes) -> int:
        self.sent += 1
        return len(buf)

    def setblocking(self, flag: bool) -> None:
        pass

    def close(self) -> None:
        pass

    def fileno(self) -> int:
        return -1


def paho_connected() -> tuple[pm.Client, ReplaySock]:
    c = paho_client(5, "bench-client-0001")
    s = ReplaySock()
    c._sock = s  # type: ignore[assignment]
    c._send_connect(60)
    s.load(CONNACK5)
    rc = c._packet_read()
    assert rc == 0 and c.is_connected(), (rc, c._state)
    return c, s


def engine_connected(me: Any) -> Any:
    c = me.Client(0, client_id="bench-client-0001")
    c.connect(0)
    first = c.poll_transmit()
    assert first and first[0] == 0x10, first
    c.handle_bytes(0, CONNACK5)
    evs = c.events()
    assert any(type(e).__name__ == "Connected" for e in evs), evs
    return c


CLIENT_CASES = [
    dict(name="receive PUBLISH 5.0 QoS 0, 64 B", dir="in", qos=0),
    dict(name="receive PUBLISH 5.0 QoS 1, 64 B (+ PUBACK out)", dir="in", qos=1),
    dict(name="publish 5.0 QoS 0, 64 B", dir="out", qos=0),
    dict(name="publish 5.0 QoS 1, 64 B (+ PUBACK in)", dir="out", qos=1),
]


def part2(me: Any | None, rounds: int, sample_s: float) -> list[dict[str, Any]]:
    results = []
    payload = b"p" * 64
    for case in CLIENT_CASES:
        qos = case["qos"]
        fns: dict[str, Callable[[], Any]] = {}
        # paho-mqtt
        pc, ps = paho_connected()
        got: list[Any] = []
        if case["dir"] == "in":
            pkt = bytes(_paho_publish_bytes(qos, payload))
            pc.on_message = lambda c, u, m: got.append(m.payload)
            ps.load(pkt)
            read = pc._packet_read

            def paho_in() -> Any:
                got.clear()
                read()
                return got[0]
            assert paho_in() == payload
            fns["paho-mqtt"] = paho_in
        else:
            done: list[int] = []
            pc.on_publish = lambda c, u, mid, rc, p: done.append(mid)
            publish, read = pc.publish, pc._packet_read

            if qos == 0:
                def paho_out() -> Any:
                    return publish(TOPIC, payload, 0)
            else:
                def paho_out() -> Any:
                    info = publish(TOPIC, payload, 1)
                    ps.load(PUBACKS[info.mid])
                    read()
                    return info
            paho_out()
            assert done and not pc._out_messages, (done, len(pc._out_messages))
            fns["paho-mqtt"] = paho_out
        # mqtt_engine
        if me is not None:
            ec = engine_connected(me)
            if case["dir"] == "in":
                pkt = bytes(_paho_publish_bytes(qos, payload))
                hb, pe, pt = ec.handle_bytes, ec.poll_event, ec.poll_transmit
                if qos == 0:
                    def eng_in() -> Any:
                        hb(0, pkt)
                        return pe()
                else:
                    def eng_in() -> Any:
                        hb(0, pkt)
                        ev = pe()
                        pt()
                        return ev
                ev = eng_in()
                assert ev.payload == payload and ev.topic == TOPIC, ev
                assert ec.poll_event() is None and ec.poll_transmit() is None
                fns["mqtt_engine"] = eng_in
            else:
                pub, pt, hb, pe = ec.publish, ec.poll_transmit, ec.handle_bytes, ec.poll_event
                if qos == 0:
                    def eng_out() -> Any:
                        pub(0, TOPIC, payload, 0)
                        return pt()
                else:
                    def eng_out() -> Any:
                        pid = pub(0, TOPIC, payload, 1)
                        out = pt()
                        hb(0, PUBACKS[pid])
                        pe()
                        return out
                out = eng_out()
                assert out and out[0] >> 4 == 3, out
                assert ec.poll_event() is None and ec.poll_transmit() is None and ec.inflight == 0
                fns["mqtt_engine"] = eng_out
        timings = H.interleaved(fns, rounds=rounds, sample_s=sample_s)
        results.append(dict(case=case["name"], t={k: t.per_op for k, t in timings.items()},
                            spread={k: t.spread for k, t in timings.items()}))
    return results


def _paho_publish_bytes(qos: int, payload: bytes) -> bytes:
    c = paho_client(5)
    out = Paho._capture(c)
    c._send_publish(1234 if qos else 0, TOPIC.encode(), payload, qos, False, False, None, None)
    return bytes(out[0])


# ---------------------------------------------------------------- report


def report(p1: list[dict[str, Any]], p2: list[dict[str, Any]], engine_err: str | None) -> str:
    lines = []
    peers = ["amqtt", "gmqtt", "paho-mqtt"]
    rows = []
    for r in p1:
        t = r["t"]
        ours = t.get("mqtt_engine")
        row = [r["case"], r["op"], r["size"], H.fmt_time(ours) if ours else "n/a"]
        for p in peers:
            row.append(f"{H.fmt_time(t[p])} ({H.ratio(t[p], ours)})" if p in t else "—")
        rows.append(row)
    lines.append(H.table(["packet", "op", "bytes", "mqtt_engine", "amqtt (ratio)", "gmqtt (ratio)",
                          "paho-mqtt (ratio)"], rows))
    lines.append("")
    lines.append("Ratio = peer time / mqtt_engine time (how many times faster mqtt_engine is). "
                 "— : the peer has no such code path.")
    if engine_err:
        lines.append(f"\nmqtt_engine not measured: {engine_err}")
    lines.append("")
    rows = []
    for r in p2:
        t = r["t"]
        ours = t.get("mqtt_engine")
        rows.append([r["case"], H.fmt_time(ours) if ours else "n/a", H.fmt_time(t["paho-mqtt"]),
                     H.ratio(t["paho-mqtt"], ours)])
    lines.append(H.table(["through a client, no network", "mqtt_engine Client", "paho-mqtt Client",
                          "ratio"], rows))
    worst = [max((r["spread"].values()), default=0) for r in p1 + p2]
    lines.append("")
    lines.append(f"Largest spread between rounds of one figure: {max(worst, default=0) * 100:.0f} %.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="3 rounds of 10 ms (a smoke test)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rounds, sample = (3, 0.01) if a.quick else (9, 0.05)
    err = H.engine_status(aio=False)
    engine = None
    if err is None:
        try:
            engine = Engine()
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}"
    peers: list[Any] = [Amqtt(), Gmqtt(), Paho()]
    load0 = H.load()
    p1 = part1(peers, engine, rounds, sample)
    p2 = part2(engine.me if engine else None, rounds, sample)
    out = report(p1, p2, err)
    print(out)
    print(f"\nload average before / after: {load0} / {H.load()}")
    if a.json:
        a.json.write_text(json.dumps(dict(part1=p1, part2=p2, engine_error=err, load=[load0, H.load()]), indent=1))


if __name__ == "__main__":
    main()
