"""A tiny in-memory MQTT 5.0 broker and a hub of sans-IO clients on simulated time.

Only what the sans-IO tests need, written with the package's own codec: CONNECT
/ CONNACK (with configurable properties), SUBSCRIBE with No Local, shared
subscriptions and retained delivery, UNSUBSCRIBE, QoS 0/1/2 both ways (PUBACK
0x10 when nobody is subscribed), wills, PINGREQ. No sockets, no threads, no
sleeping: `Hub.pump()` moves bytes until nothing moves, `Hub.advance()` jumps
time to the next deadline.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional

import mqtt_engine as m

NO_SUBSCRIBERS = 0x10


def matches(filt: str, topic: str) -> bool:
    """Topic filter matching (MQTT 5.0 §4.7), with `$` topics kept from wildcards."""
    f = filt.split("/")
    t = topic.split("/")
    if topic.startswith("$") and f[0] in ("+", "#"):
        return False
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t):
            return False
        if part != "+" and part != t[i]:
            return False
    return len(f) == len(t)


@dataclass
class Sub:
    conn: "Conn"
    filter: str
    qos: int
    no_local: bool
    group: Optional[str] = None


@dataclass
class Conn:
    broker: "Broker"
    decoder: m.Decoder = field(default_factory=lambda: m.Decoder(5, max_packet_size=1 << 28))
    client_id: str = ""
    out: bytearray = field(default_factory=bytearray)
    will: Optional[m.Will] = None
    open: bool = True
    ids: Any = field(default_factory=lambda: itertools.count(1))
    received: list[m.Packet] = field(default_factory=list)
    version: int = 5

    def send(self, packet: m.Packet) -> None:
        self.out += m.encode(packet, self.version)

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data


class Broker:
    def __init__(self, connack_properties: Optional[m.Properties] = None, *, refuse: tuple[str, ...] = ()):
        self.connack_properties = connack_properties
        self.refuse = refuse
        self.conns: list[Conn] = []
        self.subs: list[Sub] = []
        self.retained: dict[str, m.Publish] = {}
        self.rr = itertools.count()

    def open(self) -> Conn:
        c = Conn(self)
        self.conns.append(c)
        return c

    def close(self, conn: Conn, *, will: bool = True) -> None:
        if not conn.open:
            return
        conn.open = False
        self.subs = [s for s in self.subs if s.conn is not conn]
        if will and conn.will is not None:
            w = conn.will
            self.route(None, m.Publish(w.topic, w.payload, w.qos, w.retain, properties=w.properties))

    def receive(self, conn: Conn, data: bytes) -> None:
        for p in conn.decoder.feed(data):
            conn.received.append(p)
            self.handle(conn, p)

    def handle(self, conn: Conn, p: m.Packet) -> None:
        match p:
            case m.Connect():
                conn.client_id = p.client_identifier
                conn.will = p.will
                conn.version = p.protocol_version
                conn.decoder.version = p.protocol_version
                props = self.connack_properties if conn.version == 5 else None
                conn.send(m.Connack(False, 0, props))
            case m.Subscribe():
                codes = []
                for s in p.subscriptions:
                    f = s.topic_filter
                    if f in self.refuse:
                        codes.append(0x87)
                        continue
                    group = None
                    if f.startswith("$share/"):
                        _, group, f = f.split("/", 2)
                    self.subs = [x for x in self.subs if not (x.conn is conn and x.filter == f and x.group == group)]
                    self.subs.append(Sub(conn, f, s.qos, s.no_local, group))
                    codes.append(s.qos)
                conn.send(m.Suback(p.packet_id, codes))
                for s in p.subscriptions:
                    for topic, r in self.retained.items():
                        if s.topic_filter not in self.refuse and matches(s.topic_filter, topic):
                            self.deliver(conn, r, min(r.qos, s.qos), retain=True)
            case m.Unsubscribe():
                codes = []
                for f in p.topic_filters:
                    before = len(self.subs)
                    self.subs = [x for x in self.subs if not (x.conn is conn and x.filter == f)]
                    codes.append(0 if len(self.subs) < before else 0x11)
                conn.send(m.Unsuback(p.packet_id, codes))
            case m.Publish():
                n = self.route(conn, p)
                code = 0 if n else NO_SUBSCRIBERS
                if p.qos == 1:
                    conn.send(m.PubAck(p.packet_id or 0, code))
                elif p.qos == 2:
                    conn.send(m.PubRec(p.packet_id or 0, code))
            case m.PubRel():
                conn.send(m.PubComp(p.packet_id))
            case m.PubRec():
                conn.send(m.PubRel(p.packet_id))
            case m.PingReq():
                conn.send(m.PingResp())
            case m.Disconnect():
                self.close(conn, will=p.reason_code == 0x04)
            case _:
                pass

    def route(self, sender: Optional[Conn], p: m.Publish) -> int:
        """Delivers to every matching subscription; returns how many got it."""
        if p.retain:
            if p.payload:
                self.retained[p.topic] = p
            else:
                # [MQTT-3.3.1-7] an empty retained message is not stored.
                self.retained.pop(p.topic, None)
        n = 0
        groups: dict[tuple[str, str], list[Sub]] = {}
        for s in self.subs:
            if not s.conn.open or not matches(s.filter, p.topic):
                continue
            if s.group is not None:
                groups.setdefault((s.group, s.filter), []).append(s)
                continue
            if s.no_local and s.conn is sender:
                continue
            self.deliver(s.conn, p, min(p.qos, s.qos))
            n += 1
        for members in groups.values():
            s = members[next(self.rr) % len(members)]
            self.deliver(s.conn, p, min(p.qos, s.qos))
            n += 1
        return n

    def deliver(self, conn: Conn, p: m.Publish, qos: int, retain: bool = False) -> None:
        pid = next(conn.ids) if qos else None
        conn.send(m.Publish(p.topic, p.payload, qos, retain, False, pid, p.properties))


@dataclass
class Peer:
    client: m.Client
    conn: Conn
    events: list[m.Event] = field(default_factory=list)
    connected: bool = True


class Hub:
    """Clients and a broker on simulated time."""

    def __init__(self, broker: Optional[Broker] = None, now: int = 1_000):
        self.broker = broker or Broker()
        self.now = now
        self.peers: dict[str, Peer] = {}

    def add(self, name: str, client: Optional[m.Client] = None, *, connect: bool = True, **options: Any) -> m.Client:
        c = client or m.Client(self.now, client_id=name, seed=len(self.peers) + 1, **options)
        peer = Peer(c, self.broker.open())
        self.peers[name] = peer
        if connect:
            c.connect(self.now)
            self.pump()
        return c

    def events(self, name: str) -> list[m.Event]:
        ev = self.peers[name].events
        out = list(ev)
        ev.clear()
        return out

    def pump(self) -> None:
        for _ in range(10_000):
            moved = False
            for peer in self.peers.values():
                data = peer.client.transmit_all()
                if data and peer.conn.open:
                    self.broker.receive(peer.conn, data)
                    moved = True
                back = peer.conn.take()
                if back and peer.connected:
                    peer.client.handle_bytes(self.now, back)
                    moved = True
                peer.events.extend(peer.client.events())
            if not moved:
                return
        raise AssertionError("the hub did not settle")

    def drop(self, name: str) -> None:
        """The connection of `name` breaks (its will is published)."""
        peer = self.peers[name]
        self.broker.close(peer.conn, will=True)
        peer.client.handle_closed(self.now)
        peer.connected = False
        self.pump()

    def next_deadline(self) -> Optional[int]:
        ds = [d for p in self.peers.values() if (d := p.client.poll_timeout()) is not None]
        return min(ds) if ds else None

    def advance(self, ms: int) -> None:
        """Lets `ms` pass, firing every deadline on the way."""
        end = self.now + ms
        while True:
            d = self.next_deadline()
            if d is None or d > end:
                break
            self.now = max(self.now, d)
            for p in self.peers.values():
                p.client.handle_timeout(self.now)
            self.pump()
        self.now = end
        for p in self.peers.values():
            p.client.handle_timeout(self.now)
        self.pump()
