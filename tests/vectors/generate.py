#!/usr/bin/env python3
"""Generates the golden vectors in tests/vectors/*.json.

Every byte here is produced by the small MQTT encoder in this file, written
from the standards (MQTT 3.1.1 and MQTT 5.0) and sharing no code with the Rust
codec, so a vector checks the codec rather than restating it. The valid hex is
confirmed a second time by an independent peer (mqtt-packet, see tests/peer/).

    python3 tests/vectors/generate.py           # (re)write the JSON files
    python3 tests/vectors/generate.py --check   # fail if they are out of date

The format is documented in tests/vectors/README.md.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STATEMENTS_5 = os.path.join(HERE, "..", "..", "..", "shared", "spec", "mqtt5-statements.json")

# --------------------------------------------------------------------------
# Wire primitives (MQTT 5.0 §1.5, MQTT 3.1.1 §1.5)
# --------------------------------------------------------------------------


def u8(v):
    return bytes([v])


def u16(v):
    return v.to_bytes(2, "big")


def u32(v):
    return v.to_bytes(4, "big")


def vbi(v):
    """Variable Byte Integer in its shortest form."""
    assert 0 <= v <= 268_435_455, v
    out = bytearray()
    while True:
        b, v = v % 128, v // 128
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def raw(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


def string(s):
    """UTF-8 Encoded String; `s` may be bytes to build invalid strings."""
    b = raw(s)
    return u16(len(b)) + b


def binary(b):
    return u16(len(b)) + bytes(b)


def frame(first, body):
    """Fixed header (first byte, Remaining Length) followed by `body`."""
    return u8(first) + vbi(len(body)) + body


# --------------------------------------------------------------------------
# Properties (MQTT 5.0 §2.2.2): JSON key -> (identifier, data type)
# --------------------------------------------------------------------------

PROPS = {
    "payload_format_indicator": (0x01, "byte"),
    "message_expiry_interval": (0x02, "u32"),
    "content_type": (0x03, "str"),
    "response_topic": (0x08, "str"),
    "correlation_data_hex": (0x09, "bin"),
    "subscription_identifiers": (0x0B, "vbi*"),
    "session_expiry_interval": (0x11, "u32"),
    "assigned_client_identifier": (0x12, "str"),
    "server_keep_alive": (0x13, "u16"),
    "authentication_method": (0x15, "str"),
    "authentication_data_hex": (0x16, "bin"),
    "request_problem_information": (0x17, "byte"),
    "will_delay_interval": (0x18, "u32"),
    "request_response_information": (0x19, "byte"),
    "response_information": (0x1A, "str"),
    "server_reference": (0x1C, "str"),
    "reason_string": (0x1F, "str"),
    "receive_maximum": (0x21, "u16"),
    "topic_alias_maximum": (0x22, "u16"),
    "topic_alias": (0x23, "u16"),
    "maximum_qos": (0x24, "byte"),
    "retain_available": (0x25, "byte"),
    "user_properties": (0x26, "pair*"),
    "maximum_packet_size": (0x27, "u32"),
    "wildcard_subscription_available": (0x28, "byte"),
    "subscription_identifiers_available": (0x29, "byte"),
    "shared_subscription_available": (0x2A, "byte"),
}


def prop(pid, kind, v):
    """One property on the wire."""
    enc = {
        "byte": u8,
        "u16": u16,
        "u32": u32,
        "vbi": vbi,
        "str": string,
        "bin": lambda h: binary(bytes.fromhex(h) if isinstance(h, str) else h),
        "pair": lambda kv: string(kv[0]) + string(kv[1]),
    }[kind]
    return u8(pid) + enc(v)


def prop_items(p, order=None):
    """The wire items of a JSON property object, in ascending identifier order
    (the order our encoder writes) unless `order` lists the keys otherwise."""
    keys = order if order is not None else sorted(p, key=lambda k: PROPS[k][0])
    assert sorted(keys) == sorted(p), (keys, list(p))
    out = []
    for k in keys:
        pid, kind = PROPS[k]
        if kind.endswith("*"):
            for v in p[k]:
                out.append(prop(pid, kind[:-1], v))
        else:
            out.append(prop(pid, kind, p[k]))
    return out


def props(p, order=None, items=None):
    """Property Length and the properties."""
    body = b"".join(items if items is not None else prop_items(p or {}, order))
    return vbi(len(body)) + body


# Raw property builders for invalid vectors.
def pb(pid, v):
    return u8(pid) + u8(v)


def p16(pid, v):
    return u8(pid) + u16(v)


def p32(pid, v):
    return u8(pid) + u32(v)


def pvbi(pid, v):
    return u8(pid) + vbi(v)


def pstr(pid, s):
    return u8(pid) + string(s)


def pbin(pid, b):
    return u8(pid) + binary(b)


def ppair(k, v):
    return u8(0x26) + string(k) + string(v)


def plist(*items):
    body = b"".join(items)
    return vbi(len(body)) + body


# --------------------------------------------------------------------------
# Packets: the JSON form (DESIGN §4) and an encoder for it
# --------------------------------------------------------------------------

PUBACK_LIKE = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62, "pubcomp": 0x70}


def full(pkt):
    """The JSON form exactly as the Rust serializer writes it: defaults filled
    in, empty optional members dropped."""
    p = dict(pkt)
    t = p["type"]

    def props_of(d):
        pr = {k: v for k, v in d.get("properties", {}).items() if v not in ([], None)}
        d.pop("properties", None)
        if pr:
            d["properties"] = pr

    if t == "connect":
        out = {
            "type": t,
            "protocol_version": p["protocol_version"],
            "clean_start": p.get("clean_start", True),
            "keep_alive": p.get("keep_alive", 60),
            "client_identifier": p.get("client_identifier", "c"),
        }
        if "will" in p:
            w = p["will"]
            will = {
                "topic": w["topic"],
                "payload_hex": w.get("payload_hex", ""),
                "qos": w.get("qos", 0),
                "retain": w.get("retain", False),
                "properties": w.get("properties", {}),
            }
            props_of(will)
            out["will"] = will
        for k in ("user_name", "password_hex"):
            if k in p:
                out[k] = p[k]
        out["properties"] = p.get("properties", {})
    elif t == "connack":
        out = {
            "type": t,
            "session_present": p.get("session_present", False),
            "reason_code": p.get("reason_code", 0),
            "properties": p.get("properties", {}),
        }
    elif t == "publish":
        out = {
            "type": t,
            "dup": p.get("dup", False),
            "qos": p.get("qos", 0),
            "retain": p.get("retain", False),
            "topic_name": p["topic_name"],
        }
        if "packet_identifier" in p:
            out["packet_identifier"] = p["packet_identifier"]
        out["properties"] = p.get("properties", {})
        out["payload_hex"] = p.get("payload_hex", "")
    elif t in PUBACK_LIKE:
        out = {
            "type": t,
            "packet_identifier": p["packet_identifier"],
            "reason_code": p.get("reason_code", 0),
            "properties": p.get("properties", {}),
        }
    elif t == "subscribe":
        subs = []
        for s in p["subscriptions"]:
            subs.append({
                "topic_filter": s["topic_filter"],
                "qos": s.get("qos", 0),
                "no_local": s.get("no_local", False),
                "retain_as_published": s.get("retain_as_published", False),
                "retain_handling": s.get("retain_handling", 0),
            })
        out = {
            "type": t,
            "packet_identifier": p["packet_identifier"],
            "properties": p.get("properties", {}),
            "subscriptions": subs,
        }
    elif t == "suback":
        out = {
            "type": t,
            "packet_identifier": p["packet_identifier"],
            "properties": p.get("properties", {}),
            "reason_codes": p["reason_codes"],
        }
    elif t == "unsubscribe":
        out = {
            "type": t,
            "packet_identifier": p["packet_identifier"],
            "properties": p.get("properties", {}),
            "topic_filters": p["topic_filters"],
        }
    elif t == "unsuback":
        out = {
            "type": t,
            "packet_identifier": p["packet_identifier"],
            "properties": p.get("properties", {}),
        }
        if p.get("reason_codes"):
            out["reason_codes"] = p["reason_codes"]
    elif t in ("pingreq", "pingresp"):
        out = {"type": t}
    elif t in ("disconnect", "auth"):
        out = {"type": t, "reason_code": p.get("reason_code", 0), "properties": p.get("properties", {})}
    else:
        raise ValueError(t)
    if "properties" in out:
        props_of(out)
    if "payload_hex" in out:
        out["payload_hex"] = out.pop("payload_hex")  # last, for reading
    return out


def encode(pkt, v, order=None, will_order=None, form=None):
    """Encodes a JSON-form packet for protocol version `v` (4 or 5).

    `order` / `will_order` give a non-ascending property order; `form` asks
    for a longer-than-needed ending of PUBACK-like packets, DISCONNECT and AUTH:
    "rc" writes the Reason Code even when it is Success without properties,
    "rc+props" also writes a Property Length of 0."""
    p = full(pkt)
    t = p["type"]
    v5 = v == 5
    pr = p.get("properties", {})

    def ending(rc):
        """The Reason Code / Property Length ending that 5.0 lets a sender shorten."""
        if not v5:
            return b""
        if pr or form == "rc+props":
            return u8(rc) + props(pr, order)
        if rc != 0 or form == "rc":
            return u8(rc)
        return b""

    if t == "connect":
        assert p["protocol_version"] == v
        w = p.get("will")
        flags = (0x02 if p["clean_start"] else 0)
        if w:
            flags |= 0x04 | (w["qos"] << 3) | (0x20 if w["retain"] else 0)
        if "password_hex" in p:
            flags |= 0x40
        if "user_name" in p:
            flags |= 0x80
        body = string("MQTT") + u8(v) + u8(flags) + u16(p["keep_alive"])
        if v5:
            body += props(pr, order)
        body += string(p["client_identifier"])
        if w:
            if v5:
                body += props(w.get("properties", {}), will_order)
            body += string(w["topic"]) + binary(bytes.fromhex(w["payload_hex"]))
        if "user_name" in p:
            body += string(p["user_name"])
        if "password_hex" in p:
            body += binary(bytes.fromhex(p["password_hex"]))
        return frame(0x10, body)
    if t == "connack":
        body = u8(1 if p["session_present"] else 0) + u8(p["reason_code"])
        if v5:
            body += props(pr, order)
        return frame(0x20, body)
    if t == "publish":
        first = 0x30 | (0x08 if p["dup"] else 0) | (p["qos"] << 1) | (1 if p["retain"] else 0)
        body = string(p["topic_name"])
        if p["qos"]:
            body += u16(p["packet_identifier"])
        if v5:
            body += props(pr, order)
        return frame(first, body + bytes.fromhex(p["payload_hex"]))
    if t in PUBACK_LIKE:
        return frame(PUBACK_LIKE[t], u16(p["packet_identifier"]) + ending(p["reason_code"]))
    if t == "subscribe":
        body = u16(p["packet_identifier"])
        if v5:
            body += props(pr, order)
        for s in p["subscriptions"]:
            opts = s["qos"] | (0x04 if s["no_local"] else 0) | (0x08 if s["retain_as_published"] else 0)
            opts |= s["retain_handling"] << 4
            body += string(s["topic_filter"]) + u8(opts)
        return frame(0x82, body)
    if t == "suback":
        body = u16(p["packet_identifier"]) + (props(pr, order) if v5 else b"")
        return frame(0x90, body + bytes(p["reason_codes"]))
    if t == "unsubscribe":
        body = u16(p["packet_identifier"]) + (props(pr, order) if v5 else b"")
        return frame(0xA2, body + b"".join(string(f) for f in p["topic_filters"]))
    if t == "unsuback":
        body = u16(p["packet_identifier"])
        if v5:
            body += props(pr, order) + bytes(p.get("reason_codes", []))
        return frame(0xB0, body)
    if t == "pingreq":
        return frame(0xC0, b"")
    if t == "pingresp":
        return frame(0xD0, b"")
    if t == "disconnect":
        return frame(0xE0, ending(p["reason_code"]))
    if t == "auth":
        assert v5
        return frame(0xF0, ending(p["reason_code"]))
    raise ValueError(t)


# --------------------------------------------------------------------------
# Vector collections
# --------------------------------------------------------------------------


class Set:
    def __init__(self):
        self.valid = {4: [], 5: []}
        self.large = []
        self.invalid = {4: [], 5: []}
        self.names = set()

    def _name(self, name):
        assert name not in self.names, f"duplicate vector name {name}"
        self.names.add(name)

    def ok(self, name, v, pkt, canonical=True, note=None, large=False, **enc):
        """A valid packet: `pkt` in JSON form, hex from our encoder."""
        name = f"v{v}-{name}"
        self._name(name)
        pkt = full(pkt)
        hx = encode(pkt, v, **enc).hex()
        if enc:
            assert not canonical or enc == {}, name
            assert encode(pkt, v).hex() != hx, f"{name}: not actually a non-canonical form"
        vec = {"name": name, "protocol": v, "hex": hx, "packet": pkt}
        if not canonical:
            vec["canonical"] = False
        if note:
            vec["note"] = note
        (self.large if large else self.valid[v]).append(vec)

    def ok_raw(self, name, v, hexbytes, pkt, note):
        """A valid but non-canonical wire form built by hand."""
        name = f"v{v}-{name}"
        self._name(name)
        pkt = full(pkt)
        assert encode(pkt, v) != hexbytes, name
        self.valid[v].append({"name": name, "protocol": v, "hex": hexbytes.hex(), "packet": pkt,
                              "canonical": False, "note": note})

    def bad(self, name, v, data, code, statement, why, max_packet_size=None):
        name = f"v{v}-{name}"
        self._name(name)
        vec = {"name": name, "protocol": v, "hex": data.hex(),
               "error": {"reason_code": code, "statement": statement}, "why": why}
        if max_packet_size is not None:
            vec["max_packet_size"] = max_packet_size
        self.invalid[v].append(vec)


MALFORMED, PROTOCOL, UNSUPPORTED, TOO_LARGE = 0x81, 0x82, 0x84, 0x95


def hx(b):
    return bytes(b).hex()


def pattern(n):
    """`n` bytes of a fixed, easily compressed pattern."""
    return bytes(i % 251 for i in range(n))


# Reason codes each MQTT 5.0 packet may carry (§3.x.2.1 tables).
CONNACK_RC = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
              0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F]
PUBACK_RC = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
PUBREL_RC = [0x00, 0x92]
SUBACK_RC = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2]
UNSUBACK_RC = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91]
DISCONNECT_RC = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
                 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
                 0xA2]
AUTH_RC = [0x00, 0x18, 0x19]


def connect(v, **kw):
    return {"type": "connect", "protocol_version": v, **kw}


def publish(topic, payload=b"", **kw):
    return {"type": "publish", "topic_name": topic, "payload_hex": hx(payload), **kw}


def sub(f, **kw):
    return {"topic_filter": f, **kw}


# --------------------------------------------------------------------------
# Valid packets
# --------------------------------------------------------------------------


def valid_common(S, v):
    """Packets that exist in both versions, without properties."""
    # CONNECT
    S.ok("connect-minimal", v, connect(v))
    S.ok("connect-empty-client-identifier", v, connect(v, client_identifier="", keep_alive=0))
    S.ok("connect-clean-start-0", v, connect(v, clean_start=False, client_identifier="client-1",
                                             keep_alive=30))
    S.ok("connect-keep-alive-max", v, connect(v, keep_alive=65535))
    S.ok("connect-client-identifier-23-chars", v,
         connect(v, client_identifier="0123456789abcdefghijKLM"))
    S.ok("connect-client-identifier-utf8", v,
         connect(v, client_identifier="cli\u00e9nt-\u2713-\U0001d11e"))
    S.ok("connect-user-name", v, connect(v, user_name="user"))
    S.ok("connect-user-name-password", v, connect(v, user_name="user", password_hex=hx(b"secret")))
    S.ok("connect-empty-user-name-password", v, connect(v, user_name="", password_hex=""))
    S.ok("connect-password-binary", v, connect(v, user_name="u", password_hex=hx(range(256))))
    S.ok("connect-will-qos0", v, connect(v, will={"topic": "will/t", "payload_hex": hx(b"bye")}))
    S.ok("connect-will-qos1", v, connect(v, will={"topic": "will/t", "payload_hex": hx(b"bye"),
                                                 "qos": 1}))
    S.ok("connect-will-qos2-retain", v, connect(v, will={"topic": "will/t",
                                                         "payload_hex": hx(b"bye"), "qos": 2,
                                                         "retain": True}))
    S.ok("connect-will-retain-qos0", v, connect(v, will={"topic": "w", "payload_hex": "",
                                                         "retain": True}))
    S.ok("connect-will-empty-payload", v, connect(v, will={"topic": "w", "payload_hex": ""}))
    S.ok("connect-will-binary-payload", v, connect(v, will={"topic": "w",
                                                            "payload_hex": "00ff80c0"}))
    S.ok("connect-all-fields", v, connect(v, clean_start=False, keep_alive=10,
                                          client_identifier="all",
                                          will={"topic": "w/t", "payload_hex": hx(b"gone"),
                                                "qos": 1, "retain": True},
                                          user_name="user", password_hex=hx(b"pw")))

    # PUBLISH
    S.ok("publish-qos0", v, publish("a/b", b"hello"))
    S.ok("publish-qos0-empty-payload", v, publish("a/b"))
    S.ok("publish-qos0-retain", v, publish("a/b", b"r", retain=True))
    S.ok("publish-qos1", v, publish("a/b", b"one", qos=1, packet_identifier=1))
    S.ok("publish-qos1-dup", v, publish("a/b", b"one", qos=1, dup=True, packet_identifier=2))
    S.ok("publish-qos1-retain", v, publish("a/b", b"one", qos=1, retain=True,
                                           packet_identifier=0x1234))
    S.ok("publish-qos2", v, publish("a/b", b"two", qos=2, packet_identifier=65535))
    S.ok("publish-qos2-dup-retain", v, publish("a/b", b"two", qos=2, dup=True, retain=True,
                                               packet_identifier=7))
    S.ok("publish-topic-one-char", v, publish("a", b"x"))
    S.ok("publish-topic-slash", v, publish("/", b"x"))
    S.ok("publish-topic-empty-levels", v, publish("a//b/", b"x"))
    S.ok("publish-topic-dollar", v, publish("$SYS/broker/uptime", b"1"))
    S.ok("publish-topic-spaces", v, publish(" a b ", b"x"))
    S.ok("publish-topic-utf8", v, publish("temp\u00e9rature/\u00b0C/\U0001d11e", b"x"))
    S.ok("publish-topic-bom-kept", v, publish("\ufeffbom", b"x"),
         note="U+FEFF must not be stripped (MQTT-1.5.4-3 / 3.1.1 MQTT-1.5.3-3)")
    S.ok("publish-topic-noncharacter", v, publish("a/\uffff", b"x"),
         note="U+FFFF is well-formed UTF-8; a receiver may but need not refuse it")
    S.ok("publish-topic-control-char", v, publish("a\u0001b", b"x"))
    S.ok("publish-payload-binary", v, publish("bin", bytes(range(256)), qos=1,
                                              packet_identifier=3))
    S.ok("publish-payload-not-utf8", v, publish("bin", b"\xff\xfe\x00\xc0"))

    # Remaining Length boundaries (1 to 3 bytes here; 4 bytes in the large file).
    for rl in (127, 128, 16383, 16384):
        overhead = 2 + 1 + (1 if v == 5 else 0)
        S.ok(f"publish-remaining-length-{rl}", v, publish("t", pattern(rl - overhead)))

    # Acknowledgements
    for t in ("puback", "pubrec", "pubrel", "pubcomp"):
        S.ok(f"{t}", v, {"type": t, "packet_identifier": 1})
        S.ok(f"{t}-packet-identifier-max", v, {"type": t, "packet_identifier": 65535})

    # SUBSCRIBE
    S.ok("subscribe-qos0", v, {"type": "subscribe", "packet_identifier": 1,
                               "subscriptions": [sub("a/b")]})
    S.ok("subscribe-qos1-plus", v, {"type": "subscribe", "packet_identifier": 2,
                                    "subscriptions": [sub("a/+", qos=1)]})
    S.ok("subscribe-qos2-hash", v, {"type": "subscribe", "packet_identifier": 65535,
                                    "subscriptions": [sub("a/#", qos=2)]})
    S.ok("subscribe-many-filters", v, {"type": "subscribe", "packet_identifier": 10,
                                       "subscriptions": [sub("#"), sub("+", qos=1),
                                                         sub("+/+/#", qos=2), sub("/"),
                                                         sub("$SYS/#", qos=1), sub("a/b/c", qos=2),
                                                         sub("+/a/+"), sub("a/+/+/#", qos=1)]})
    S.ok("subscribe-filter-utf8", v, {"type": "subscribe", "packet_identifier": 3,
                                      "subscriptions": [sub("\u00fc/+/\U0001d11e", qos=1)]})
    S.ok("subscribe-filter-leading-slash-hash", v,
         {"type": "subscribe", "packet_identifier": 4, "subscriptions": [sub("/#")]})

    # SUBACK (3.1.1 return codes, also valid 5.0 reason codes)
    for rc in (0x00, 0x01, 0x02, 0x80):
        S.ok(f"suback-{rc:02x}", v, {"type": "suback", "packet_identifier": 1,
                                     "reason_codes": [rc]})
    S.ok("suback-many", v, {"type": "suback", "packet_identifier": 9,
                            "reason_codes": [0, 1, 2, 0x80, 2, 1, 0]})

    # UNSUBSCRIBE
    S.ok("unsubscribe", v, {"type": "unsubscribe", "packet_identifier": 1,
                            "topic_filters": ["a/b"]})
    S.ok("unsubscribe-many", v, {"type": "unsubscribe", "packet_identifier": 2,
                                 "topic_filters": ["#", "a/+", "$SYS/#", "x/y/z"]})

    # PINGREQ, PINGRESP
    S.ok("pingreq", v, {"type": "pingreq"})
    S.ok("pingresp", v, {"type": "pingresp"})


def valid_v4(S):
    v = 4
    valid_common(S, v)
    for rc in range(6):
        S.ok(f"connack-return-code-{rc}", v, {"type": "connack", "reason_code": rc})
    S.ok("connack-session-present", v, {"type": "connack", "session_present": True})
    S.ok("unsuback", v, {"type": "unsuback", "packet_identifier": 1})
    S.ok("unsuback-packet-identifier-max", v, {"type": "unsuback", "packet_identifier": 65535})
    S.ok("disconnect", v, {"type": "disconnect"})
    S.ok("publish-topic-max-length", v, publish("t" * 65535, b"x"),
         note="Topic Name of 65,535 bytes, the largest a UTF-8 string can be")
    S.ok("subscribe-share-prefix-is-ordinary", v,
         {"type": "subscribe", "packet_identifier": 3,
          "subscriptions": [sub("$share/g"), sub("$share//a", qos=1)]},
         note="shared subscriptions exist only in 5.0: in 3.1.1 '$share/g' is a plain filter")
    S.ok("unsubscribe-share-prefix-is-ordinary", v,
         {"type": "unsubscribe", "packet_identifier": 3, "topic_filters": ["$share/g"]},
         note="shared subscriptions exist only in 5.0: in 3.1.1 '$share/g' is a plain filter")
    S.ok("connect-client-identifier-empty-clean-0-wire-valid", v,
         connect(v, client_identifier="", clean_start=False),
         note="well-formed; a server refuses it with return code 2 (MQTT-3.1.3-8), not as malformed")
    # The smallest 4-byte Remaining Length, kept in its own file for size. A
    # SUBSCRIBE of long filters costs less file than a PUBLISH (its bulk is
    # written once as hex and once as plain text, not twice as hex). The other
    # 3-/4-byte boundaries are checked from fixed headers alone in the invalid
    # files (Packet too large) and as Subscription Identifier values.
    rl = 2_097_152
    lengths = [65535] * 31
    lengths.append(rl - 2 - sum(3 + n for n in lengths) - 3)
    filters = [sub(chr(ord("a") + i % 26) * n, qos=i % 3) for i, n in enumerate(lengths)]
    S.ok(f"subscribe-remaining-length-{rl}", v,
         {"type": "subscribe", "packet_identifier": 1, "subscriptions": filters}, large=True,
         note="Remaining Length 2,097,152, the smallest that takes four bytes (80 80 80 01)")


def valid_v5(S):
    v = 5
    valid_common(S, v)
    UP = [["a", "1"], ["b", "2"], ["a", "3"], ["a", "1"]]

    # CONNECT properties, one at a time, then together.
    one = [
        ("session-expiry-interval-0", {"session_expiry_interval": 0}),
        ("session-expiry-interval-max", {"session_expiry_interval": 0xFFFFFFFF}),
        ("receive-maximum-1", {"receive_maximum": 1}),
        ("receive-maximum-65535", {"receive_maximum": 65535}),
        ("maximum-packet-size-1", {"maximum_packet_size": 1}),
        ("maximum-packet-size-max", {"maximum_packet_size": 268_435_460}),
        ("topic-alias-maximum-0", {"topic_alias_maximum": 0}),
        ("topic-alias-maximum-65535", {"topic_alias_maximum": 65535}),
        ("request-response-information-0", {"request_response_information": 0}),
        ("request-response-information-1", {"request_response_information": 1}),
        ("request-problem-information-0", {"request_problem_information": 0}),
        ("request-problem-information-1", {"request_problem_information": 1}),
        ("user-properties-duplicates-in-order", {"user_properties": UP}),
        ("user-property-empty-strings", {"user_properties": [["", ""]]}),
        ("authentication-method", {"authentication_method": "SCRAM-SHA-1"}),
        ("authentication-method-and-data", {"authentication_method": "SCRAM-SHA-1",
                                            "authentication_data_hex": "0102fffe"}),
        ("authentication-data-empty", {"authentication_method": "m",
                                       "authentication_data_hex": ""}),
    ]
    for n, pr in one:
        S.ok(f"connect-{n}", v, connect(v, properties=pr))
    all_connect = {
        "session_expiry_interval": 120, "receive_maximum": 20, "maximum_packet_size": 1024,
        "topic_alias_maximum": 10, "request_response_information": 1,
        "request_problem_information": 0, "user_properties": [["k", "v"], ["k", "v2"]],
        "authentication_method": "PLAIN", "authentication_data_hex": hx(b"\x00u\x00p"),
    }
    S.ok("connect-all-properties", v, connect(v, properties=all_connect))
    S.ok("connect-properties-reverse-order", v, connect(v, properties=all_connect),
         canonical=False, order=sorted(all_connect, key=lambda k: -PROPS[k][0]),
         note="properties in descending identifier order: order carries no meaning (§2.2.2.2)")
    S.ok("connect-password-without-user-name", v, connect(v, password_hex=hx(b"token")),
         note="5.0 allows a Password without a User Name (§3.1.2.9)")

    # Will properties
    will_one = [
        ("will-delay-interval-0", {"will_delay_interval": 0}),
        ("will-delay-interval", {"will_delay_interval": 60}),
        ("will-payload-format-indicator-0", {"payload_format_indicator": 0}),
        ("will-payload-format-indicator-1", {"payload_format_indicator": 1}),
        ("will-message-expiry-interval", {"message_expiry_interval": 3600}),
        ("will-content-type", {"content_type": "text/plain"}),
        ("will-response-topic", {"response_topic": "reply/to"}),
        ("will-correlation-data", {"correlation_data_hex": "c0ffee"}),
        ("will-user-properties", {"user_properties": UP}),
    ]
    for n, pr in will_one:
        S.ok(f"connect-{n}", v, connect(v, will={"topic": "w", "payload_hex": hx(b"x"),
                                                 "properties": pr}))
    all_will = {"will_delay_interval": 5, "payload_format_indicator": 1,
                "message_expiry_interval": 10, "content_type": "application/json",
                "response_topic": "r/t", "correlation_data_hex": "01",
                "user_properties": [["x", "y"]]}
    S.ok("connect-will-all-properties", v,
         connect(v, will={"topic": "w/t", "payload_hex": hx(b"{}"), "qos": 2, "retain": True,
                          "properties": all_will}))
    S.ok("connect-will-properties-reverse-order", v,
         connect(v, will={"topic": "w/t", "payload_hex": hx(b"{}"), "properties": all_will}),
         canonical=False, will_order=sorted(all_will, key=lambda k: -PROPS[k][0]),
         note="Will properties in descending identifier order")
    S.ok("connect-everything", v,
         connect(v, clean_start=False, keep_alive=300, client_identifier="everything",
                 properties=all_connect,
                 will={"topic": "w/t", "payload_hex": hx(b"bye"), "qos": 1, "retain": True,
                       "properties": all_will},
                 user_name="user", password_hex=hx(b"pass")))

    # CONNACK: every reason code, then every property.
    for rc in CONNACK_RC:
        S.ok(f"connack-reason-{rc:02x}", v, {"type": "connack", "reason_code": rc})
    S.ok("connack-session-present", v, {"type": "connack", "session_present": True})
    connack_one = [
        ("session-expiry-interval", {"session_expiry_interval": 0xFFFFFFFF}),
        ("receive-maximum", {"receive_maximum": 100}),
        ("maximum-qos-0", {"maximum_qos": 0}),
        ("maximum-qos-1", {"maximum_qos": 1}),
        ("retain-available-0", {"retain_available": 0}),
        ("retain-available-1", {"retain_available": 1}),
        ("maximum-packet-size", {"maximum_packet_size": 65536}),
        ("assigned-client-identifier", {"assigned_client_identifier": "auto-7F3A"}),
        ("topic-alias-maximum", {"topic_alias_maximum": 65535}),
        ("reason-string", {"reason_string": "welcome"}),
        ("reason-string-empty", {"reason_string": ""}),
        ("user-properties", {"user_properties": UP}),
        ("wildcard-subscription-available-0", {"wildcard_subscription_available": 0}),
        ("wildcard-subscription-available-1", {"wildcard_subscription_available": 1}),
        ("subscription-identifiers-available-0", {"subscription_identifiers_available": 0}),
        ("subscription-identifiers-available-1", {"subscription_identifiers_available": 1}),
        ("shared-subscription-available-0", {"shared_subscription_available": 0}),
        ("shared-subscription-available-1", {"shared_subscription_available": 1}),
        ("server-keep-alive-0", {"server_keep_alive": 0}),
        ("server-keep-alive", {"server_keep_alive": 65535}),
        ("response-information", {"response_information": "resp/base"}),
        ("server-reference", {"server_reference": "other.example:1883"}),
        ("authentication-method", {"authentication_method": "SCRAM-SHA-256"}),
        ("authentication-method-and-data", {"authentication_method": "SCRAM-SHA-256",
                                            "authentication_data_hex": hx(b"v=abc")}),
    ]
    for n, pr in connack_one:
        S.ok(f"connack-{n}", v, {"type": "connack", "properties": pr})
    all_connack = {
        "session_expiry_interval": 60, "receive_maximum": 10, "maximum_qos": 1,
        "retain_available": 0, "maximum_packet_size": 4096,
        "assigned_client_identifier": "id-1", "topic_alias_maximum": 5,
        "reason_string": "ok", "user_properties": [["a", "b"]],
        "wildcard_subscription_available": 0, "subscription_identifiers_available": 1,
        "shared_subscription_available": 0, "server_keep_alive": 30,
        "response_information": "r/", "server_reference": "srv",
        "authentication_method": "M", "authentication_data_hex": "00",
    }
    S.ok("connack-all-properties", v, {"type": "connack", "session_present": True,
                                       "properties": all_connack})
    S.ok("connack-use-another-server", v, {"type": "connack", "reason_code": 0x9C,
                                           "properties": {"server_reference": "b:1883",
                                                          "reason_string": "moved"}})
    S.ok("connack-properties-reverse-order", v, {"type": "connack", "properties": all_connack},
         canonical=False, order=sorted(all_connack, key=lambda k: -PROPS[k][0]),
         note="CONNACK properties in descending identifier order")

    # PUBLISH properties
    pub_one = [
        ("payload-format-indicator-0", {"payload_format_indicator": 0}),
        ("payload-format-indicator-1", {"payload_format_indicator": 1}),
        ("message-expiry-interval", {"message_expiry_interval": 86400}),
        ("message-expiry-interval-0", {"message_expiry_interval": 0}),
        ("topic-alias", {"topic_alias": 1}),
        ("topic-alias-max", {"topic_alias": 65535}),
        ("response-topic", {"response_topic": "reply/here"}),
        ("correlation-data", {"correlation_data_hex": hx(b"req-42")}),
        ("correlation-data-empty", {"correlation_data_hex": ""}),
        ("user-properties-duplicates-in-order", {"user_properties": UP}),
        ("subscription-identifier", {"subscription_identifiers": [1]}),
        ("subscription-identifiers-many", {"subscription_identifiers": [
            1, 127, 128, 16383, 16384, 2_097_151, 2_097_152, 268_435_455]}),
        ("content-type", {"content_type": "application/cbor"}),
        ("content-type-empty", {"content_type": ""}),
    ]
    for n, pr in pub_one:
        S.ok(f"publish-{n}", v, publish("a/b", b"p", properties=pr))
    S.ok("publish-topic-alias-empty-topic", v, publish("", b"p", properties={"topic_alias": 3}),
         note="an empty Topic Name with a Topic Alias (§3.3.2.3.4)")
    S.ok("publish-topic-alias-empty-topic-qos1", v,
         publish("", b"p", qos=1, packet_identifier=5, properties={"topic_alias": 65535}))
    all_pub = {"payload_format_indicator": 1, "message_expiry_interval": 30,
               "content_type": "text/plain", "response_topic": "resp",
               "correlation_data_hex": "abcd", "subscription_identifiers": [7, 300],
               "topic_alias": 2, "user_properties": [["u", "1"], ["u", "2"]]}
    S.ok("publish-all-properties", v, publish("a/b", b"hello", qos=2, dup=True, retain=True,
                                              packet_identifier=9, properties=all_pub))
    S.ok("publish-properties-reverse-order", v,
         publish("a/b", b"hello", qos=1, packet_identifier=9, properties=all_pub),
         canonical=False, order=sorted(all_pub, key=lambda k: -PROPS[k][0]),
         note="PUBLISH properties in descending identifier order")
    # User Properties interleaved with other properties keep their own order.
    S.ok_raw("publish-user-properties-interleaved", v,
             frame(0x30, string("a/b") + plist(ppair("a", "1"), pstr(0x03, "t"), ppair("b", "2"),
                                               pvbi(0x0B, 4), ppair("a", "3"), pvbi(0x0B, 2))
                   + b"p"),
             publish("a/b", b"p", properties={"content_type": "t",
                                              "subscription_identifiers": [4, 2],
                                              "user_properties": [["a", "1"], ["b", "2"],
                                                                  ["a", "3"]]}),
             note="User Properties and Subscription Identifiers interleaved with other "
                  "properties; each list keeps its wire order")
    S.ok("publish-user-property-max-length", v,
         publish("big", b"", properties={"user_properties": [["k", "v" * 65535]]}),
         note="a User Property value of 65,535 bytes")
    S.ok("publish-correlation-data-max-length", v,
         publish("big", b"", properties={"correlation_data_hex": hx(pattern(65535))}),
         note="Binary Data of 65,535 bytes")
    S.ok("publish-properties-empty-payload-qos2", v,
         publish("a", b"", qos=2, packet_identifier=1, properties={"message_expiry_interval": 1}))

    # PUBACK-like: every reason code, with and without properties.
    for t, codes in (("puback", PUBACK_RC), ("pubrec", PUBACK_RC), ("pubrel", PUBREL_RC),
                     ("pubcomp", PUBREL_RC)):
        for rc in codes:
            if rc:
                S.ok(f"{t}-reason-{rc:02x}", v, {"type": t, "packet_identifier": 10,
                                                 "reason_code": rc})
        S.ok(f"{t}-reason-string", v, {"type": t, "packet_identifier": 11,
                                       "reason_code": codes[-1],
                                       "properties": {"reason_string": "why"}})
        S.ok(f"{t}-user-properties", v, {"type": t, "packet_identifier": 12,
                                         "properties": {"user_properties": UP}})
        S.ok(f"{t}-success-with-properties", v,
             {"type": t, "packet_identifier": 13,
              "properties": {"reason_string": "", "user_properties": [["k", "v"]]}})
        S.ok(f"{t}-success-reason-code-written", v, {"type": t, "packet_identifier": 14},
             canonical=False, form="rc",
             note="Success written out although it may be omitted (Remaining Length 3)")
        S.ok(f"{t}-success-property-length-written", v, {"type": t, "packet_identifier": 15},
             canonical=False, form="rc+props",
             note="Success and a zero Property Length written out (Remaining Length 4)")
        S.ok(f"{t}-failure-property-length-written", v,
             {"type": t, "packet_identifier": 16, "reason_code": codes[-1]},
             canonical=False, form="rc+props",
             note="a Reason Code followed by a zero Property Length (Remaining Length 4)")

    # SUBSCRIBE: every subscription option, shared subscriptions, properties.
    S.ok("subscribe-no-local", v, {"type": "subscribe", "packet_identifier": 1,
                                   "subscriptions": [sub("a", no_local=True)]})
    S.ok("subscribe-retain-as-published", v,
         {"type": "subscribe", "packet_identifier": 1,
          "subscriptions": [sub("a", retain_as_published=True)]})
    S.ok("subscribe-retain-handling-1", v, {"type": "subscribe", "packet_identifier": 1,
                                            "subscriptions": [sub("a", retain_handling=1)]})
    S.ok("subscribe-retain-handling-2", v, {"type": "subscribe", "packet_identifier": 1,
                                            "subscriptions": [sub("a", retain_handling=2)]})
    S.ok("subscribe-all-options-set", v,
         {"type": "subscribe", "packet_identifier": 1,
          "subscriptions": [sub("a/#", qos=2, no_local=True, retain_as_published=True,
                                retain_handling=2)]})
    combos = []
    for q in range(3):
        for nl in (False, True):
            for rap in (False, True):
                for rh in range(3):
                    combos.append(sub(f"o/{q}{int(nl)}{int(rap)}{rh}", qos=q, no_local=nl,
                                      retain_as_published=rap, retain_handling=rh))
    S.ok("subscribe-every-option-combination", v,
         {"type": "subscribe", "packet_identifier": 36, "subscriptions": combos},
         note="all 36 combinations of QoS, No Local, Retain As Published, Retain Handling")
    S.ok("subscribe-subscription-identifier-1", v,
         {"type": "subscribe", "packet_identifier": 2,
          "properties": {"subscription_identifiers": [1]}, "subscriptions": [sub("a")]})
    S.ok("subscribe-subscription-identifier-max", v,
         {"type": "subscribe", "packet_identifier": 2,
          "properties": {"subscription_identifiers": [268_435_455]}, "subscriptions": [sub("a")]})
    S.ok("subscribe-user-properties", v,
         {"type": "subscribe", "packet_identifier": 3, "properties": {"user_properties": UP},
          "subscriptions": [sub("a")]})
    sub_props = {"subscription_identifiers": [16384], "user_properties": [["k", "v"]]}
    S.ok("subscribe-all-properties", v,
         {"type": "subscribe", "packet_identifier": 4, "properties": sub_props,
          "subscriptions": [sub("a/+", qos=1), sub("b/#", qos=2, retain_handling=1)]})
    S.ok("subscribe-properties-reverse-order", v,
         {"type": "subscribe", "packet_identifier": 4, "properties": sub_props,
          "subscriptions": [sub("a")]},
         canonical=False, order=["user_properties", "subscription_identifiers"],
         note="User Property before Subscription Identifier")
    S.ok("subscribe-shared", v,
         {"type": "subscribe", "packet_identifier": 5,
          "subscriptions": [sub("$share/group/a/+", qos=1, retain_as_published=True)]})
    S.ok("subscribe-shared-hash", v,
         {"type": "subscribe", "packet_identifier": 5,
          "subscriptions": [sub("$share/g/#", qos=2, retain_handling=2)]})
    S.ok("subscribe-share-without-slash-not-shared", v,
         {"type": "subscribe", "packet_identifier": 5,
          "subscriptions": [sub("$sharex/a", no_local=True)]},
         note="'$sharex/a' is not a shared subscription, so No Local is allowed")

    # SUBACK: every reason code, properties.
    for rc in SUBACK_RC:
        if rc > 2 and rc != 0x80:
            S.ok(f"suback-reason-{rc:02x}", v, {"type": "suback", "packet_identifier": 1,
                                                "reason_codes": [rc]})
    S.ok("suback-every-reason-code", v, {"type": "suback", "packet_identifier": 2,
                                         "reason_codes": SUBACK_RC})
    S.ok("suback-reason-string", v, {"type": "suback", "packet_identifier": 3,
                                     "properties": {"reason_string": "no"},
                                     "reason_codes": [0x87]})
    S.ok("suback-user-properties", v, {"type": "suback", "packet_identifier": 3,
                                       "properties": {"user_properties": UP},
                                       "reason_codes": [1]})

    # UNSUBSCRIBE, UNSUBACK
    S.ok("unsubscribe-user-properties", v,
         {"type": "unsubscribe", "packet_identifier": 3, "properties": {"user_properties": UP},
          "topic_filters": ["a"]})
    S.ok("unsubscribe-shared", v, {"type": "unsubscribe", "packet_identifier": 4,
                                   "topic_filters": ["$share/g/a/#"]})
    for rc in UNSUBACK_RC:
        S.ok(f"unsuback-reason-{rc:02x}", v, {"type": "unsuback", "packet_identifier": 1,
                                              "reason_codes": [rc]})
    S.ok("unsuback-many", v, {"type": "unsuback", "packet_identifier": 2,
                              "reason_codes": UNSUBACK_RC})
    S.ok("unsuback-properties", v, {"type": "unsuback", "packet_identifier": 3,
                                    "properties": {"reason_string": "r",
                                                   "user_properties": [["k", "v"]]},
                                    "reason_codes": [0x11, 0x00]})

    # DISCONNECT: every reason code, properties, long forms.
    for rc in DISCONNECT_RC:
        S.ok(f"disconnect-reason-{rc:02x}", v, {"type": "disconnect", "reason_code": rc})
    S.ok("disconnect-session-expiry-interval", v,
         {"type": "disconnect", "properties": {"session_expiry_interval": 0}})
    S.ok("disconnect-reason-string", v,
         {"type": "disconnect", "reason_code": 0x8B, "properties": {"reason_string": "bye"}})
    S.ok("disconnect-user-properties", v,
         {"type": "disconnect", "reason_code": 0x04, "properties": {"user_properties": UP}})
    S.ok("disconnect-server-reference", v,
         {"type": "disconnect", "reason_code": 0x9D,
          "properties": {"server_reference": "new.example"}})
    S.ok("disconnect-all-properties", v,
         {"type": "disconnect", "reason_code": 0x80,
          "properties": {"session_expiry_interval": 10, "reason_string": "r",
                         "user_properties": [["a", "b"]], "server_reference": "s"}})
    S.ok("disconnect-success-reason-code-written", v, {"type": "disconnect"},
         canonical=False, form="rc", note="Remaining Length 1: Success written out")
    S.ok("disconnect-success-property-length-written", v, {"type": "disconnect"},
         canonical=False, form="rc+props", note="Remaining Length 2: Success and Property Length 0")
    S.ok("disconnect-failure-property-length-written", v,
         {"type": "disconnect", "reason_code": 0x8E},
         canonical=False, form="rc+props", note="a Reason Code and a zero Property Length")

    # AUTH
    S.ok("auth-success-abbreviated", v, {"type": "auth"},
         note="Remaining Length 0: Success with no properties (§3.15.2.1)")
    S.ok("auth-continue", v, {"type": "auth", "reason_code": 0x18,
                              "properties": {"authentication_method": "SCRAM-SHA-1",
                                             "authentication_data_hex": hx(b"r=abc,s=xyz")}})
    S.ok("auth-reauthenticate", v, {"type": "auth", "reason_code": 0x19,
                                    "properties": {"authentication_method": "SCRAM-SHA-1"}})
    S.ok("auth-success-with-method", v, {"type": "auth",
                                         "properties": {"authentication_method": "SCRAM-SHA-1",
                                                        "authentication_data_hex": "00"}})
    S.ok("auth-all-properties", v,
         {"type": "auth", "reason_code": 0x18,
          "properties": {"authentication_method": "K", "authentication_data_hex": "",
                         "reason_string": "step 2", "user_properties": UP}})


# --------------------------------------------------------------------------
# Invalid packets
# --------------------------------------------------------------------------

# Statement ids of MQTT 3.1.1 (OASIS Standard, 29 October 2014) used below.
STATEMENTS_311 = {
    "MQTT-1.5.3-1": "UTF-8 data MUST be well-formed; no encodings of U+D800..U+DFFF",
    "MQTT-1.5.3-2": "A UTF-8 encoded string MUST NOT include an encoding of U+0000",
    "MQTT-2.2.2-1": "Reserved flag bits MUST be set to the value listed in Table 2.2",
    "MQTT-2.3.1-1": "SUBSCRIBE, UNSUBSCRIBE and PUBLISH (QoS > 0) MUST contain a non-zero "
                    "Packet Identifier",
    "MQTT-3.1.2-1": "The protocol name MUST be \"MQTT\" or the Server MUST NOT continue",
    "MQTT-3.1.2-2": "An unsupported Protocol Level is answered with return code 0x01",
    "MQTT-3.1.2-3": "The reserved flag in CONNECT MUST be zero",
    "MQTT-3.1.2-9": "If the Will Flag is 1, the Will Topic and Will Message MUST be present",
    "MQTT-3.1.2-13": "If the Will Flag is 0, the Will QoS MUST be 0",
    "MQTT-3.1.2-14": "If the Will Flag is 1, the Will QoS MUST NOT be 3",
    "MQTT-3.1.2-15": "If the Will Flag is 0, the Will Retain Flag MUST be 0",
    "MQTT-3.1.2-19": "If the User Name Flag is 1, a user name MUST be present",
    "MQTT-3.1.2-21": "If the Password Flag is 1, a password MUST be present",
    "MQTT-3.1.2-22": "If the User Name Flag is 0, the Password Flag MUST be 0",
    "MQTT-3.1.3-3": "The Client Identifier MUST be present and the first field of the payload",
    "MQTT-3.1.3-4": "The ClientId MUST be a UTF-8 encoded string",
    "MQTT-3.1.3-10": "The Will Topic MUST be a UTF-8 encoded string",
    "MQTT-3.1.3-11": "The User Name MUST be a UTF-8 encoded string",
    "MQTT-3.1.4-1": "The Server MUST validate that CONNECT conforms to section 3.1",
    "MQTT-3.2.2-4": "A CONNACK with a non-zero return code MUST have Session Present 0",
    "MQTT-3.3.1-2": "The DUP flag MUST be 0 for all QoS 0 messages",
    "MQTT-3.3.1-4": "A PUBLISH MUST NOT have both QoS bits set to 1",
    "MQTT-3.3.2-1": "The Topic Name MUST be a UTF-8 encoded string",
    "MQTT-3.3.2-2": "The Topic Name in PUBLISH MUST NOT contain wildcard characters",
    "MQTT-3.6.1-1": "PUBREL fixed header flags MUST be 0,0,1,0",
    "MQTT-3.8.1-1": "SUBSCRIBE fixed header flags MUST be 0,0,1,0",
    "MQTT-3.8.3-1": "Topic Filters in SUBSCRIBE MUST be UTF-8 encoded strings",
    "MQTT-3.8.3-3": "SUBSCRIBE MUST contain at least one Topic Filter / QoS pair",
    "MQTT-3.8.3-4": "Reserved bits of the requested QoS byte MUST be zero, QoS 0, 1 or 2",
    "MQTT-3.8.4-5": "SUBACK MUST contain a return code for each Topic Filter",
    "MQTT-3.9.3-2": "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 MUST NOT be used",
    "MQTT-3.10.1-1": "UNSUBSCRIBE fixed header flags MUST be 0,0,1,0",
    "MQTT-3.10.3-1": "Topic Filters in UNSUBSCRIBE MUST be UTF-8 encoded strings",
    "MQTT-3.10.3-2": "UNSUBSCRIBE MUST contain at least one Topic Filter",
    "MQTT-3.14.1-1": "Reserved bits of DISCONNECT MUST be zero",
    "MQTT-4.7.1-1": "Wildcards MUST NOT be used within a Topic Name",
    "MQTT-4.7.1-2": "'#' MUST be on its own or after '/', and last in the filter",
    "MQTT-4.7.1-3": "'+' MUST occupy an entire level of the filter",
    "MQTT-4.7.3-1": "Topic Names and Topic Filters MUST be at least one character long",
    "MQTT-4.7.3-2": "Topic Names and Topic Filters MUST NOT include U+0000",
}

# Ill-formed UTF-8 and the rule each breaks: (label, bytes, 3.1.1 id, 5.0 id).
BAD_UTF8 = [
    ("invalid-byte", b"a\xffb", "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("truncated-sequence", b"a\xe2\x82", "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("overlong", b"\xc0\xaf", "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("surrogate", b"a\xed\xa0\x80", "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("above-10ffff", b"\xf4\x90\x80\x80", "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("nul", b"a\x00b", "MQTT-1.5.3-2", "MQTT-1.5.4-2"),
]


def connect_body(v, flags=0x02, keep=60, props_b=None, payload=None, name=b"MQTT", level=None):
    body = string(name) + u8(level if level is not None else v) + u8(flags) + u16(keep)
    if v == 5:
        body += b"\x00" if props_b is None else props_b
    return body + (string("c") if payload is None else payload)


def invalid_common(S, v):
    v5 = v == 5
    P0 = b"\x00" if v5 else b""  # an empty property list, in 5.0 only
    s = (lambda a, b: b) if v5 else (lambda a, b: a)  # pick the statement for this version
    sect_str = s("§1.5.3", "§1.5.4")
    sect_rl = s("§2.2.3", "§2.1.4")

    # Reserved fixed-header flags of every packet type that has them.
    fh = s("MQTT-2.2.2-1", "MQTT-2.1.3-1")
    good = {
        "connect": (0x10, connect_body(v)),
        "connack": (0x20, b"\x00\x00" + P0),
        "puback": (0x40, b"\x00\x01"),
        "pubrec": (0x50, b"\x00\x01"),
        "pubrel": (0x62, b"\x00\x01"),
        "pubcomp": (0x70, b"\x00\x01"),
        "subscribe": (0x82, b"\x00\x01" + P0 + string("a") + b"\x00"),
        "suback": (0x90, b"\x00\x01" + P0 + b"\x00"),
        "unsubscribe": (0xA2, b"\x00\x01" + P0 + string("a")),
        "unsuback": (0xB0, b"\x00\x01" + (P0 + b"\x00" if v5 else b"")),
        "pingreq": (0xC0, b""),
        "pingresp": (0xD0, b""),
        "disconnect": (0xE0, b""),
    }
    stmt = {"pubrel": "MQTT-3.6.1-1", "subscribe": "MQTT-3.8.1-1",
            "unsubscribe": "MQTT-3.10.1-1", "disconnect": "MQTT-3.14.1-1"}
    bad_flags = {"connect": [1], "connack": [8], "puback": [2], "pubrec": [1],
                 "pubrel": [0, 3, 0xA], "pubcomp": [4], "subscribe": [0, 3],
                 "suback": [1], "unsubscribe": [0, 6], "unsuback": [2], "pingreq": [1],
                 "pingresp": [8], "disconnect": [2]}
    for t, (first, body) in good.items():
        for f in bad_flags[t]:
            S.bad(f"{t}-reserved-flags-{f:x}", v, frame((first & 0xF0) | f, body), MALFORMED,
                  stmt.get(t, fh), f"{t.upper()} with fixed-header flags {f:04b}, "
                                   f"not the {first & 0xF:04b} the standard reserves.")

    S.bad("reserved-packet-type-0", v, b"\x00\x00", MALFORMED, s("§2.2.1", "§2.1.2"),
          "Packet type 0 is reserved (forbidden).")
    S.bad("publish-qos-3", v, frame(0x36, string("a") + u16(1) + P0), MALFORMED, "MQTT-3.3.1-4",
          "PUBLISH with both QoS bits set.")
    S.bad("publish-qos-3-dup-retain", v, frame(0x3F, string("a") + u16(1) + P0), MALFORMED,
          "MQTT-3.3.1-4", "PUBLISH with QoS 3, DUP and RETAIN.")
    S.bad("publish-dup-qos-0", v, frame(0x38, string("a") + P0 + b"x"), MALFORMED,
          "MQTT-3.3.1-2", "DUP set on a QoS 0 PUBLISH.")
    S.bad("publish-dup-qos-0-retain", v, frame(0x39, string("a") + P0), MALFORMED,
          "MQTT-3.3.1-2", "DUP set on a retained QoS 0 PUBLISH.")

    # Variable Byte Integers in the fixed header.
    S.bad("remaining-length-5-bytes", v, bytes.fromhex("30ffffffff7f"), MALFORMED,
          s("§2.2.3", "§1.5.5"), "A Remaining Length of five bytes (at most four are allowed).")
    S.bad("remaining-length-5-bytes-zero-tail", v, bytes.fromhex("c08080808000"), MALFORMED,
          s("§2.2.3", "§1.5.5"), "Four continuation bytes: the length would need a fifth byte.")
    S.bad("remaining-length-non-minimal-zero", v, bytes.fromhex("c08000"), MALFORMED,
          s("§2.2.3", "MQTT-1.5.5-1"), "Remaining Length 0 written in two bytes.")
    S.bad("remaining-length-non-minimal", v,
          b"\x30\x86\x00" + string("a") + P0 + b"x" * (3 - len(P0)), MALFORMED,
          s("§2.2.3", "MQTT-1.5.5-1"), "Remaining Length 6 written in two bytes (0x86 0x00).")
    S.bad("remaining-length-non-minimal-4-bytes", v,
          b"\x30\x86\x80\x80\x00" + string("a") + P0 + b"x" * (3 - len(P0)), MALFORMED,
          s("§2.2.3", "MQTT-1.5.5-1"), "Remaining Length 6 written in four bytes.")

    # Fields that overrun the packet.
    S.bad("publish-topic-overruns", v, frame(0x30, b"\x00\x05ab"), MALFORMED, sect_str,
          "Topic Name length 5 with only 2 bytes left in the packet.")
    S.bad("publish-topic-length-truncated", v, frame(0x30, b"\x00"), MALFORMED, sect_str,
          "The packet ends inside the Topic Name's two-byte length.")
    S.bad("publish-qos1-packet-identifier-missing", v, frame(0x32, string("abc")), MALFORMED,
          sect_rl, "QoS 1 PUBLISH that ends before its Packet Identifier.")
    S.bad("publish-qos1-packet-identifier-truncated", v, frame(0x32, string("abc") + b"\x01"),
          MALFORMED, sect_rl, "QoS 1 PUBLISH with one byte of Packet Identifier.")
    S.bad("connect-truncated-protocol-name", v, frame(0x10, b"\x00\x04MQ"), MALFORMED, sect_str,
          "CONNECT that ends inside the Protocol Name.")
    S.bad("connect-truncated-after-level", v, frame(0x10, string("MQTT") + u8(v)), MALFORMED,
          sect_rl, "CONNECT that ends before the Connect Flags.")
    S.bad("connect-truncated-keep-alive", v, frame(0x10, string("MQTT") + u8(v) + b"\x02\x00"),
          MALFORMED, sect_rl, "CONNECT that ends inside Keep Alive.")
    S.bad("connect-client-identifier-missing", v,
          frame(0x10, string("MQTT") + u8(v) + b"\x02\x00\x3c" + P0), MALFORMED,
          s("MQTT-3.1.3-3", "MQTT-3.1.3-3"), "CONNECT without the Client Identifier.")
    S.bad("connect-client-identifier-overruns", v,
          frame(0x10, connect_body(v, payload=b"\x00\x09abc")), MALFORMED, sect_str,
          "Client Identifier length 9 with 3 bytes left.")
    S.bad("connect-will-topic-missing", v, frame(0x10, connect_body(v, flags=0x06,
                                                                    payload=string("c") + P0)),
          MALFORMED, "MQTT-3.1.2-9", "Will Flag set but the packet ends after the "
                                                  "Client Identifier.")
    S.bad("connect-will-payload-overruns", v,
          frame(0x10, connect_body(v, flags=0x06, payload=string("c") + P0 + string("w")
                                   + b"\x00\x10ab")), MALFORMED, sect_str,
          "Will Payload length 16 with 2 bytes left.")
    S.bad("connect-user-name-missing", v, frame(0x10, connect_body(v, flags=0x82)), MALFORMED,
          s("MQTT-3.1.2-19", "MQTT-3.1.2-17"), "User Name Flag set but no User Name follows.")
    S.bad("connect-password-overruns", v,
          frame(0x10, connect_body(v, flags=0xC2, payload=string("c") + string("u")
                                   + b"\x00\x08pw")), MALFORMED, sect_str,
          "Password length 8 with 2 bytes left.")
    S.bad("connect-password-missing", v,
          frame(0x10, connect_body(v, flags=0xC2, payload=string("c") + string("u"))), MALFORMED,
          s("MQTT-3.1.2-21", "MQTT-3.1.2-19"), "Password Flag set but no Password follows.")
    S.bad("connack-truncated", v, frame(0x20, b"\x00"), MALFORMED, sect_rl,
          "CONNACK with one byte of variable header.")
    S.bad("puback-truncated", v, frame(0x40, b"\x00"), MALFORMED, sect_rl,
          "PUBACK with one byte of Packet Identifier.")
    S.bad("pubrel-empty", v, frame(0x62, b""), MALFORMED, sect_rl,
          "PUBREL without a Packet Identifier.")
    S.bad("subscribe-options-missing", v, frame(0x82, b"\x00\x01" + P0 + string("a")), MALFORMED,
          sect_rl, "Topic Filter without its Subscription Options byte.")
    S.bad("subscribe-filter-overruns", v, frame(0x82, b"\x00\x01" + P0 + b"\x00\x07a\x00"),
          MALFORMED, sect_str, "Topic Filter length 7 with 2 bytes left.")
    S.bad("unsubscribe-filter-overruns", v, frame(0xA2, b"\x00\x01" + P0 + b"\x00\x07ab"),
          MALFORMED, sect_str, "Topic Filter length 7 with 2 bytes left.")

    # Bytes left over after the last field.
    S.bad("pingreq-with-body", v, frame(0xC0, b"\x00"), MALFORMED, s("§3.12", "§3.12.2"),
          "PINGREQ has no variable header or payload; Remaining Length must be 0.")
    S.bad("pingresp-with-body", v, frame(0xD0, b"\x00\x00"), MALFORMED, s("§3.13", "§3.13.2"),
          "PINGRESP has no variable header or payload; Remaining Length must be 0.")
    S.bad("connect-bytes-left-over", v, frame(0x10, connect_body(v) + b"\x00"), MALFORMED,
          s("MQTT-3.1.4-1", "MQTT-3.1.4-1"), "A byte after the last field the flags announce.")
    S.bad("connack-bytes-left-over", v, frame(0x20, b"\x00\x00" + P0 + b"\x00"), MALFORMED,
          sect_rl, "A byte after the end of CONNACK.")

    # Ill-formed strings in every kind of string field.
    for label, bs, i4, i5 in BAD_UTF8:
        st = s(i4, i5)
        S.bad(f"publish-topic-utf8-{label}", v, frame(0x30, string(bs) + P0 + b"x"), MALFORMED,
              st, f"Topic Name that is not well-formed UTF-8 ({label}).")
    for label, bs, i4, i5 in (BAD_UTF8[3], BAD_UTF8[5]):
        st = s(i4, i5)
        S.bad(f"connect-client-identifier-utf8-{label}", v,
              frame(0x10, connect_body(v, payload=string(bs))), MALFORMED, st,
              f"Client Identifier that is not a valid UTF-8 string ({label}).")
        S.bad(f"connect-will-topic-utf8-{label}", v,
              frame(0x10, connect_body(v, flags=0x06, payload=string("c") + P0 + string(bs)
                                       + binary(b""))),
              MALFORMED, st, f"Will Topic that is not a valid UTF-8 string ({label}).")
        S.bad(f"connect-user-name-utf8-{label}", v,
              frame(0x10, connect_body(v, flags=0x82, payload=string("c") + string(bs))),
              MALFORMED, st, f"User Name that is not a valid UTF-8 string ({label}).")
        S.bad(f"subscribe-filter-utf8-{label}", v,
              frame(0x82, b"\x00\x01" + P0 + string(bs) + b"\x00"), MALFORMED, st,
              f"Topic Filter that is not a valid UTF-8 string ({label}).")
        S.bad(f"unsubscribe-filter-utf8-{label}", v,
              frame(0xA2, b"\x00\x01" + P0 + string(bs)), MALFORMED, st,
              f"Topic Filter that is not a valid UTF-8 string ({label}).")

    # Topic Names with wildcards; empty Topic Names and Filters.
    wc = s("MQTT-3.3.2-2", "MQTT-3.3.2-2")
    for label, t in (("plus", "a/+"), ("hash", "#"), ("hash-in-level", "sport/tennis#"),
                     ("plus-in-level", "a+b")):
        S.bad(f"publish-topic-wildcard-{label}", v, frame(0x30, string(t) + P0 + b"x"),
              MALFORMED, wc, f"Topic Name '{t}' contains a wildcard character.")
    S.bad("connect-will-topic-wildcard", v,
          frame(0x10, connect_body(v, flags=0x06, payload=string("c") + P0 + string("w/#")
                                   + binary(b"x"))),
          MALFORMED, s("MQTT-4.7.1-1", "MQTT-4.7.0-1"), "Will Topic 'w/#' contains a wildcard.")
    S.bad("connect-will-topic-empty", v,
          frame(0x10, connect_body(v, flags=0x06, payload=string("c") + P0 + string("")
                                   + binary(b"x"))),
          MALFORMED, "MQTT-4.7.3-1", "Will Topic of zero length.")
    bad_filters = [
        ("hash-not-last", "a/#/b", s("MQTT-4.7.1-2", "MQTT-4.7.1-1")),
        ("hash-not-alone", "a/b#", s("MQTT-4.7.1-2", "MQTT-4.7.1-1")),
        ("hash-prefix", "#a", s("MQTT-4.7.1-2", "MQTT-4.7.1-1")),
        ("plus-not-alone", "a/b+", s("MQTT-4.7.1-3", "MQTT-4.7.1-2")),
        ("plus-prefix", "+a/b", s("MQTT-4.7.1-3", "MQTT-4.7.1-2")),
        ("plus-plus", "a/++", s("MQTT-4.7.1-3", "MQTT-4.7.1-2")),
        ("empty", "", "MQTT-4.7.3-1"),
    ]
    for label, f, st in bad_filters:
        S.bad(f"subscribe-filter-{label}", v, frame(0x82, b"\x00\x01" + P0 + string(f) + b"\x01"),
              MALFORMED, st, f"Topic Filter '{f}' is not a valid filter.")
    for label, f, st in (bad_filters[0], bad_filters[3], bad_filters[6]):
        S.bad(f"unsubscribe-filter-{label}", v, frame(0xA2, b"\x00\x01" + P0 + string(f)),
              MALFORMED, st, f"Topic Filter '{f}' is not a valid filter.")

    # Packet Identifier 0.
    pid0 = s("MQTT-2.3.1-1", "MQTT-2.2.1-3")
    S.bad("publish-qos1-packet-identifier-0", v, frame(0x32, string("a") + u16(0) + P0 + b"x"),
          PROTOCOL, s(pid0, "MQTT-2.2.1-3"), "QoS 1 PUBLISH with Packet Identifier 0.")
    S.bad("publish-qos2-packet-identifier-0", v, frame(0x34, string("a") + u16(0) + P0),
          PROTOCOL, s(pid0, "MQTT-2.2.1-4"), "QoS 2 PUBLISH with Packet Identifier 0.")
    for t, first in (("puback", 0x40), ("pubrec", 0x50), ("pubrel", 0x62), ("pubcomp", 0x70)):
        S.bad(f"{t}-packet-identifier-0", v, frame(first, u16(0)), PROTOCOL,
              s("MQTT-2.3.1-1", "MQTT-2.2.1-5"),
              f"{t.upper()} with Packet Identifier 0, which no PUBLISH can have.")
    S.bad("subscribe-packet-identifier-0", v, frame(0x82, u16(0) + P0 + string("a") + b"\x00"),
          PROTOCOL, pid0, "SUBSCRIBE with Packet Identifier 0.")
    S.bad("suback-packet-identifier-0", v, frame(0x90, u16(0) + P0 + b"\x00"), PROTOCOL,
          s("MQTT-2.3.1-1", "MQTT-2.2.1-6"), "SUBACK with Packet Identifier 0.")
    S.bad("unsubscribe-packet-identifier-0", v, frame(0xA2, u16(0) + P0 + string("a")), PROTOCOL,
          pid0, "UNSUBSCRIBE with Packet Identifier 0.")
    S.bad("unsuback-packet-identifier-0", v,
          frame(0xB0, u16(0) + (P0 + b"\x00" if v5 else b"")), PROTOCOL,
          s("MQTT-2.3.1-1", "MQTT-2.2.1-6"), "UNSUBACK with Packet Identifier 0.")

    # CONNECT flags.
    S.bad("connect-reserved-flag", v, frame(0x10, connect_body(v, flags=0x03)), MALFORMED,
          "MQTT-3.1.2-3", "CONNECT with the reserved flag bit 0 set.")
    S.bad("connect-will-qos1-without-will-flag", v, frame(0x10, connect_body(v, flags=0x0A)),
          MALFORMED, s("MQTT-3.1.2-13", "MQTT-3.1.2-11"), "Will QoS 1 with the Will Flag 0.")
    S.bad("connect-will-qos2-without-will-flag", v, frame(0x10, connect_body(v, flags=0x12)),
          MALFORMED, s("MQTT-3.1.2-13", "MQTT-3.1.2-11"), "Will QoS 2 with the Will Flag 0.")
    S.bad("connect-will-retain-without-will-flag", v, frame(0x10, connect_body(v, flags=0x22)),
          MALFORMED, s("MQTT-3.1.2-15", "MQTT-3.1.2-13"), "Will Retain with the Will Flag 0.")
    S.bad("connect-will-qos-3", v,
          frame(0x10, connect_body(v, flags=0x1E, payload=string("c") + P0 + string("w")
                                   + binary(b""))),
          MALFORMED, s("MQTT-3.1.2-14", "MQTT-3.1.2-12"), "Will QoS 3.")

    # Protocol Name and Level.
    S.bad("connect-protocol-name-wrong", v, frame(0x10, connect_body(v, name=b"MQTX")), MALFORMED,
          "MQTT-3.1.2-1", "Protocol Name 'MQTX' is not 'MQTT'.")
    S.bad("connect-protocol-name-lowercase", v, frame(0x10, connect_body(v, name=b"mqtt")),
          MALFORMED, "MQTT-3.1.2-1", "Protocol Name 'mqtt': the name is case-sensitive.")
    S.bad("connect-protocol-level-3-mqisdp", v,
          frame(0x10, string("MQIsdp") + b"\x03\x02\x00\x3c" + string("c")), UNSUPPORTED,
          "MQTT-3.1.2-2", "MQTT 3.1 (MQIsdp, level 3) is not supported.")
    for lvl in (0, 3, 6, 0x80 | v):
        S.bad(f"connect-protocol-level-{lvl:02x}", v,
              frame(0x10, connect_body(v, level=lvl)), UNSUPPORTED, "MQTT-3.1.2-2",
              f"Protocol Level {lvl} (0x{lvl:02x}) is not 4 or 5.")

    # CONNACK.
    S.bad("connack-reserved-flags", v, frame(0x20, b"\x02\x00" + P0), MALFORMED,
          s("§3.2.2.1", "MQTT-3.2.2-1"), "CONNACK acknowledge flags with bit 1 set.")
    S.bad("connack-reserved-flags-high", v, frame(0x20, b"\x81\x00" + P0), MALFORMED,
          s("§3.2.2.1", "MQTT-3.2.2-1"), "CONNACK acknowledge flags with bit 7 set.")

    # SUBSCRIBE / UNSUBSCRIBE / SUBACK without entries.
    S.bad("subscribe-empty", v, frame(0x82, b"\x00\x01" + P0), PROTOCOL,
          s("MQTT-3.8.3-3", "MQTT-3.8.3-2"), "SUBSCRIBE without any Topic Filter.")
    S.bad("unsubscribe-empty", v, frame(0xA2, b"\x00\x01" + P0), PROTOCOL, "MQTT-3.10.3-2",
          "UNSUBSCRIBE without any Topic Filter.")
    S.bad("suback-empty", v, frame(0x90, b"\x00\x01" + P0), PROTOCOL,
          s("MQTT-3.8.4-5", "MQTT-3.8.4-6"), "SUBACK without any return / reason code.")
    S.bad("subscribe-reserved-option-bits-high", v,
          frame(0x82, b"\x00\x01" + P0 + string("a") + b"\xc0"), MALFORMED,
          s("MQTT-3.8.3-4", "MQTT-3.8.3-5"), "Subscription options with bits 7 and 6 set.")
    S.bad("subscribe-reserved-option-bit-6", v,
          frame(0x82, b"\x00\x01" + P0 + string("a") + b"\x41"), MALFORMED,
          s("MQTT-3.8.3-4", "MQTT-3.8.3-5"), "Subscription options with bit 6 set.")

    # Packet too large, refused from the fixed header alone: these hex strings
    # are just a fixed header, whose Remaining Length is decoded and compared
    # with the limit before any of the body is awaited (DESIGN §3). The limit is
    # one byte below the packet's size, so a misread length shows.
    for rl, enc in ((127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"),
                    (2_097_151, "ffff7f"), (2_097_152, "80808001"),
                    (268_435_455, "ffffff7f")):
        assert vbi(rl).hex() == enc
        total = 1 + len(enc) // 2 + rl
        S.bad(f"remaining-length-{rl}-above-maximum-packet-size", v, b"\x30" + vbi(rl),
              TOO_LARGE, s("§3.1.2.11.4", "MQTT-3.1.2-24"),
              f"Fixed header of a {total}-byte PUBLISH (Remaining Length {enc}) with a Maximum "
              f"Packet Size of {total - 1}: refused before the body arrives.",
              max_packet_size=total - 1)
    # Packet too large for the receiver's Maximum Packet Size.
    pkt = frame(0x30, string("a/b") + P0 + b"0123456789")
    S.bad("publish-above-maximum-packet-size", v, pkt, TOO_LARGE,
          s("§3.1.2.11.4", "MQTT-3.1.2-24"),
          f"A {len(pkt)}-byte PUBLISH received with a Maximum Packet Size of {len(pkt) - 1}.",
          max_packet_size=len(pkt) - 1)


def invalid_v4(S):
    v = 4
    invalid_common(S, v)
    S.bad("auth-packet-type", v, b"\xf0\x00", MALFORMED, "§2.2.1",
          "Packet type 15 is reserved in MQTT 3.1.1 (AUTH exists only in 5.0).")
    S.bad("auth-packet-type-with-body", v, frame(0xF0, b"\x18\x00"), MALFORMED, "§2.2.1",
          "A 5.0 AUTH packet on a 3.1.1 connection.")
    S.bad("publish-topic-empty", v, frame(0x30, string("") + b"x"), MALFORMED, "MQTT-4.7.3-1",
          "Topic Name of zero length (3.1.1 has no Topic Alias).")
    S.bad("connect-password-without-user-name", v,
          frame(0x10, connect_body(v, flags=0x42, payload=string("c") + binary(b"pw"))),
          MALFORMED, "MQTT-3.1.2-22", "Password Flag set with the User Name Flag 0.")
    for rc in (1, 5):
        S.bad(f"connack-session-present-return-code-{rc}", v, frame(0x20, b"\x01" + u8(rc)),
              PROTOCOL, "MQTT-3.2.2-4", f"Session Present 1 with return code {rc}.")
    for rc in (6, 0x80, 0xFF):
        S.bad(f"connack-return-code-{rc:02x}", v, frame(0x20, b"\x00" + u8(rc)), PROTOCOL,
              "§3.2.2.3", f"Connect return code {rc} is reserved in 3.1.1.")
    for rc in (0x03, 0x81, 0x8F):
        S.bad(f"suback-return-code-{rc:02x}", v, frame(0x90, b"\x00\x01" + u8(rc)), PROTOCOL,
              "MQTT-3.9.3-2", f"SUBACK return code 0x{rc:02x} is reserved in 3.1.1.")
    for label, o in (("no-local", 0x04), ("retain-as-published", 0x08),
                     ("retain-handling", 0x10)):
        S.bad(f"subscribe-reserved-option-bits-{label}", v,
              frame(0x82, b"\x00\x01" + string("a") + u8(o)), MALFORMED, "MQTT-3.8.3-4",
              f"Requested QoS byte 0x{o:02x}: bits 7-2 are reserved in 3.1.1.")
    S.bad("subscribe-qos-3", v, frame(0x82, b"\x00\x01" + string("a") + b"\x03"), MALFORMED,
          "MQTT-3.8.3-4", "Requested QoS 3.")
    S.bad("puback-bytes-left-over", v, frame(0x40, b"\x00\x01\x00"), MALFORMED, "§2.2.3",
          "A 3.1.1 PUBACK is exactly two bytes; a reason code belongs to 5.0.")
    S.bad("pubrel-bytes-left-over", v, frame(0x62, b"\x00\x01\x00\x00"), MALFORMED, "§2.2.3",
          "A 3.1.1 PUBREL is exactly two bytes; reason code and properties belong to 5.0.")
    S.bad("unsuback-bytes-left-over", v, frame(0xB0, b"\x00\x01\x00"), MALFORMED, "§2.2.3",
          "A 3.1.1 UNSUBACK has no payload; reason codes belong to 5.0.")
    S.bad("disconnect-with-body", v, frame(0xE0, b"\x00"), MALFORMED, "§3.14",
          "A 3.1.1 DISCONNECT has no variable header or payload.")
    S.bad("connect-will-qos-3-without-will-flag", v, frame(0x10, connect_body(v, flags=0x1A)),
          MALFORMED, "MQTT-3.1.2-13", "Will QoS 3 with the Will Flag 0.")
    S.bad("connect-v5-properties-on-v4", v,
          frame(0x10, string("MQTT") + b"\x04\x02\x00\x3c" + b"\x00" + string("c")), MALFORMED,
          "MQTT-3.1.4-1", "A 5.0-style Property Length in a level-4 CONNECT leaves a byte over.")


def invalid_v5(S):
    v = 5
    S.bad("auth-reserved-flags-1", v, frame(0xF1, b"\x18\x00"), MALFORMED, "MQTT-3.15.1-1",
          "AUTH with fixed-header flags 0001.")
    S.bad("auth-reserved-flags-8", v, frame(0xF8, b""), MALFORMED, "MQTT-3.15.1-1",
          "AUTH with fixed-header flags 1000.")
    invalid_common(S, v)
    E = b"\x00"  # empty property list

    def pub(pr, topic="a", first=0x30, pid=None, payload=b"x"):
        return frame(first, string(topic) + (u16(pid) if pid else b"") + pr + payload)

    def con(pr=E, will_pr=None, flags=0x02):
        if will_pr is None:
            return frame(0x10, connect_body(v, flags=flags, props_b=pr))
        return frame(0x10, connect_body(v, flags=flags | 0x04, props_b=pr,
                                        payload=string("c") + will_pr + string("w")
                                        + binary(b"x")))

    def connack(pr, flags=0, rc=0):
        return frame(0x20, u8(flags) + u8(rc) + pr)

    def puback(pr, rc=0, first=0x40):
        return frame(first, u16(1) + u8(rc) + pr)

    def subscribe(pr, opts=0, f="a"):
        return frame(0x82, u16(1) + pr + string(f) + u8(opts))

    def disconnect(pr, rc=0):
        return frame(0xE0, u8(rc) + pr)

    def auth(pr, rc=0x18):
        return frame(0xF0, u8(rc) + pr)

    # Fixed header / property framing.
    S.bad("publish-missing-property-length", v, frame(0x30, string("a") + b"hi"), MALFORMED,
          "§2.1.4", "A 3.1.1-shaped PUBLISH: the payload's first byte is read as a Property "
                    "Length that overruns the packet.")
    S.bad("connack-missing-property-length", v, frame(0x20, b"\x00\x00"), MALFORMED,
          "§3.2.2.3.1", "5.0 CONNACK must carry a Property Length.")
    S.bad("suback-missing-property-length", v, frame(0x90, b"\x00\x01"), MALFORMED, "§3.9.2.1.1",
          "5.0 SUBACK must carry a Property Length.")
    S.bad("unsuback-missing-property-length", v, frame(0xB0, b"\x00\x01"), MALFORMED,
          "§3.11.2.1.1", "5.0 UNSUBACK must carry a Property Length (3.1.1 form on a 5.0 "
                         "connection).")
    S.bad("property-length-overruns-packet", v, pub(b"\x10" + pb(0x01, 1), payload=b""),
          MALFORMED, "§2.2.2.1", "Property Length 16 with 2 bytes left in the packet.")
    S.bad("property-overruns-property-length", v,
          pub(b"\x03" + pstr(0x03, "text"), payload=b"xxxx"), MALFORMED, "§2.2.2.1",
          "A Content Type that runs past the Property Length into the payload.")
    S.bad("property-u32-truncated", v, pub(b"\x03\x02\x00\x00", payload=b""), MALFORMED,
          "§2.2.2.1", "Message Expiry Interval with two of its four bytes.")
    S.bad("property-length-non-minimal", v, pub(b"\x80\x00"), MALFORMED, "MQTT-1.5.5-1",
          "Property Length 0 written in two bytes.")
    S.bad("property-length-5-bytes", v, pub(b"\xff\xff\xff\xff\x7f"), MALFORMED, "§1.5.5",
          "A Property Length of five bytes.")
    S.bad("subscription-identifier-non-minimal", v, pub(plist(b"\x0b\x81\x00")), MALFORMED,
          "MQTT-1.5.5-1", "Subscription Identifier 1 written in two bytes.")
    S.bad("subscription-identifier-5-bytes", v, pub(plist(b"\x0b\xff\xff\xff\xff\x01")),
          MALFORMED, "§1.5.5", "A Subscription Identifier of five bytes.")
    S.bad("user-property-value-missing", v, pub(plist(b"\x26" + string("k")), payload=b""),
          MALFORMED, "MQTT-1.5.7-1", "A User Property with a name and no value.")
    S.bad("puback-bytes-left-over", v, frame(0x40, u16(1) + b"\x00\x00\x00"), MALFORMED,
          "§2.1.4", "A byte after the properties of PUBACK.")
    S.bad("disconnect-bytes-left-over", v, frame(0xE0, b"\x00\x00\x00"), MALFORMED, "§2.1.4",
          "A byte after the properties of DISCONNECT.")
    S.bad("auth-bytes-left-over", v, auth(plist(pstr(0x15, "m")) + b"\x00"), MALFORMED, "§2.1.4",
          "A byte after the properties of AUTH.")
    S.bad("auth-without-authentication-method", v, auth(E), PROTOCOL, "§3.15.2.2.2",
          "It is a Protocol Error to omit the Authentication Method from AUTH.")
    S.bad("auth-success-user-property-without-method", v, auth(plist(ppair("k", "v")), rc=0),
          PROTOCOL, "§3.15.2.2.2", "An AUTH with properties but no Authentication Method.")
    S.bad("auth-reason-code-without-property-length", v, frame(0xF0, b"\x18"), MALFORMED,
          "§3.15.2.2.1", "AUTH may be abbreviated only to nothing; after a Reason Code the "
          "Property Length must follow.")

    # Ill-formed strings inside properties.
    for label, bs, _, st in (BAD_UTF8[3], BAD_UTF8[5], BAD_UTF8[0]):
        S.bad(f"content-type-utf8-{label}", v, pub(plist(pstr(0x03, bs))), MALFORMED, st,
              f"Content Type that is not a valid UTF-8 string ({label}).")
        S.bad(f"user-property-name-utf8-{label}", v, pub(plist(ppair(bs, "v"))), MALFORMED,
              "MQTT-1.5.7-1", f"User Property name that is not a valid UTF-8 string ({label}).")
        S.bad(f"user-property-value-utf8-{label}", v,
              disconnect(plist(ppair("k", bs))), MALFORMED, "MQTT-1.5.7-1",
              f"User Property value that is not a valid UTF-8 string ({label}).")
    for field, pid, mk in (("response-topic", 0x08, pub), ("reason-string", 0x1F, disconnect),
                           ("assigned-client-identifier", 0x12, connack),
                           ("authentication-method", 0x15, auth),
                           ("server-reference", 0x1C, disconnect),
                           ("response-information", 0x1A, connack)):
        S.bad(f"{field}-utf8-surrogate", v, mk(plist(pstr(pid, b"\xed\xbf\xbf"))), MALFORMED,
              "MQTT-1.5.4-1", f"{field.replace('-', ' ').title()} containing a surrogate.")
    S.bad("will-content-type-utf8-nul", v, con(will_pr=plist(pstr(0x03, b"t\x00"))), MALFORMED,
          "MQTT-1.5.4-2", "Will Content Type containing U+0000.")

    S.bad("publish-topic-empty-without-alias", v, pub(E, topic=""), PROTOCOL, "§3.3.2.3.4",
          "Topic Name of zero length without a Topic Alias.")
    S.bad("response-topic-wildcard", v, pub(plist(pstr(0x08, "r/+"))), PROTOCOL, "MQTT-3.3.2-14",
          "Response Topic 'r/+' contains a wildcard.")
    S.bad("will-response-topic-wildcard", v, con(will_pr=plist(pstr(0x08, "r/#"))), PROTOCOL,
          "MQTT-3.3.2-14", "Will Response Topic 'r/#' contains a wildcard.")
    S.bad("response-topic-empty", v, pub(plist(pstr(0x08, ""))), PROTOCOL, "MQTT-4.7.3-1",
          "Response Topic of zero length (a Topic Name must have at least one character).")

    # Shared-subscription filters.
    for label, f, st in (("share-no-filter", "$share/g", "MQTT-4.8.2-2"),
                         ("share-empty-name", "$share//a", "MQTT-4.8.2-1"),
                         ("share-name-plus", "$share/g+/a", "MQTT-4.8.2-2"),
                         ("share-name-hash", "$share/#/a", "MQTT-4.8.2-2"),
                         ("share-empty-filter", "$share/g/", "MQTT-4.8.2-2"),
                         ("share-bad-filter", "$share/g/a/#/b", "MQTT-4.7.1-1")):
        S.bad(f"subscribe-filter-{label}", v, subscribe(E, 1, f), MALFORMED, st,
              f"'{f}' is not a valid shared subscription filter.")
    S.bad("unsubscribe-filter-share-no-filter", v, frame(0xA2, u16(1) + E + string("$share/g")),
          MALFORMED, "MQTT-4.8.2-2", "'$share/g' names no Topic Filter.")

    # Subscription options.
    S.bad("subscribe-reserved-option-bit-7", v, subscribe(E, 0x80), MALFORMED, "MQTT-3.8.3-5",
          "Subscription options with bit 7 set.")
    S.bad("subscribe-retain-handling-3", v, subscribe(E, 0x30), PROTOCOL, "§3.8.3.1",
          "Retain Handling 3 is a Protocol Error.")
    S.bad("subscribe-qos-3", v, subscribe(E, 0x03), PROTOCOL, "§3.8.3.1",
          "Maximum QoS 3 in the subscription options is a Protocol Error.")
    S.bad("subscribe-no-local-shared", v, subscribe(E, 0x04, "$share/g/a"), PROTOCOL,
          "MQTT-3.8.3-4", "No Local on a shared subscription.")
    S.bad("subscribe-no-local-shared-second-filter", v,
          frame(0x82, u16(1) + E + string("a") + b"\x04" + string("$share/g/#") + b"\x05"),
          PROTOCOL, "MQTT-3.8.3-4", "No Local on the second, shared, subscription.")
    S.bad("subscribe-properties-only", v, frame(0x82, u16(1) + plist(pvbi(0x0B, 1))), PROTOCOL,
          "MQTT-3.8.3-2", "SUBSCRIBE with properties but no Topic Filter.")
    S.bad("unsuback-empty", v, frame(0xB0, u16(1) + E), PROTOCOL, "MQTT-3.11.3-2",
          "UNSUBACK without any reason code.")

    # CONNECT / CONNACK.
    for rc in (0x80, 0x87):
        S.bad(f"connack-session-present-reason-{rc:02x}", v, connack(E, flags=1, rc=rc),
              PROTOCOL, "MQTT-3.2.2-6", f"Session Present 1 with reason code 0x{rc:02x}.")

    # Reason codes a packet may not carry.
    rc_cases = [
        ("connack", [0x01, 0x04, 0x10, 0x18, 0x8B, 0x8E, 0xA2, 0xFF], "MQTT-3.2.2-8",
         lambda rc: connack(E, rc=rc)),
        ("puback", [0x01, 0x11, 0x81, 0x92], "MQTT-3.4.2-1", lambda rc: puback(E, rc)),
        ("pubrec", [0x04, 0x18, 0x8F], "MQTT-3.5.2-1", lambda rc: puback(E, rc, 0x50)),
        ("pubrel", [0x10, 0x80, 0x91], "MQTT-3.6.2-1", lambda rc: puback(E, rc, 0x62)),
        ("pubcomp", [0x01, 0x80, 0x91], "MQTT-3.7.2-1", lambda rc: puback(E, rc, 0x70)),
        ("suback", [0x03, 0x04, 0x11, 0x81], "MQTT-3.9.3-2",
         lambda rc: frame(0x90, u16(1) + E + u8(rc))),
        ("unsuback", [0x01, 0x10, 0x8E], "MQTT-3.11.3-2",
         lambda rc: frame(0xB0, u16(1) + E + u8(rc))),
        ("disconnect", [0x01, 0x02, 0x10, 0x18, 0x84, 0x85, 0x86, 0x88, 0x8A, 0x8C, 0x91, 0x92,
                        0xA3], "MQTT-3.14.2-1", lambda rc: disconnect(E, rc)),
        ("auth", [0x01, 0x04, 0x80, 0x87], "MQTT-3.15.2-1", lambda rc: auth(E, rc)),
    ]
    for t, codes, st, mk in rc_cases:
        for rc in codes:
            S.bad(f"{t}-reason-code-{rc:02x}", v, mk(rc), PROTOCOL, st,
                  f"0x{rc:02x} is not one of the {t.upper()} reason codes.")
    S.bad("suback-reason-code-not-allowed-after-good", v, frame(0x90, u16(1) + E + b"\x00\x01\x05"),
          PROTOCOL, "MQTT-3.9.3-2", "The third SUBACK reason code, 0x05, is not a valid one.")

    # Properties that may appear once, repeated.
    dups = [
        ("payload-format-indicator", pub, [pb(0x01, 0), pb(0x01, 1)], "§3.3.2.3.2"),
        ("message-expiry-interval", pub, [p32(0x02, 1), p32(0x02, 2)], "§3.3.2.3.3"),
        ("content-type", pub, [pstr(0x03, "a"), pstr(0x03, "a")], "§3.3.2.3.9"),
        ("response-topic", pub, [pstr(0x08, "r"), pstr(0x08, "s")], "§3.3.2.3.5"),
        ("correlation-data", pub, [pbin(0x09, b"1"), pbin(0x09, b"2")], "§3.3.2.3.6"),
        ("topic-alias", pub, [p16(0x23, 1), p16(0x23, 2)], "§3.3.2.3.4"),
        ("session-expiry-interval", con, [p32(0x11, 1), p32(0x11, 1)], "§3.1.2.11.2"),
        ("receive-maximum", con, [p16(0x21, 1), p16(0x21, 2)], "§3.1.2.11.3"),
        ("maximum-packet-size", con, [p32(0x27, 100), p32(0x27, 200)], "§3.1.2.11.4"),
        ("topic-alias-maximum", con, [p16(0x22, 1), p16(0x22, 2)], "§3.1.2.11.5"),
        ("request-response-information", con, [pb(0x19, 1), pb(0x19, 1)], "§3.1.2.11.6"),
        ("request-problem-information", con, [pb(0x17, 0), pb(0x17, 1)], "§3.1.2.11.7"),
        ("authentication-method", con, [pstr(0x15, "a"), pstr(0x15, "b")], "§3.1.2.11.9"),
        ("authentication-data", con, [pstr(0x15, "a"), pbin(0x16, b"1"), pbin(0x16, b"2")],
         "§3.1.2.11.10"),
        ("maximum-qos", connack, [pb(0x24, 0), pb(0x24, 1)], "§3.2.2.3.4"),
        ("retain-available", connack, [pb(0x25, 0), pb(0x25, 0)], "§3.2.2.3.5"),
        ("assigned-client-identifier", connack, [pstr(0x12, "a"), pstr(0x12, "b")],
         "§3.2.2.3.7"),
        ("reason-string", connack, [pstr(0x1F, "a"), pstr(0x1F, "b")], "§3.2.2.3.9"),
        ("wildcard-subscription-available", connack, [pb(0x28, 1), pb(0x28, 1)],
         "§3.2.2.3.11"),
        ("subscription-identifiers-available", connack, [pb(0x29, 0), pb(0x29, 1)],
         "§3.2.2.3.12"),
        ("shared-subscription-available", connack, [pb(0x2A, 1), pb(0x2A, 0)], "§3.2.2.3.13"),
        ("server-keep-alive", connack, [p16(0x13, 1), p16(0x13, 2)], "§3.2.2.3.14"),
        ("response-information", connack, [pstr(0x1A, "a"), pstr(0x1A, "b")], "§3.2.2.3.15"),
        ("server-reference", connack, [pstr(0x1C, "a"), pstr(0x1C, "b")], "§3.2.2.3.16"),
        ("puback-reason-string", puback, [pstr(0x1F, "a"), pstr(0x1F, "b")], "§3.4.2.2.2"),
        ("subscription-identifier", subscribe, [pvbi(0x0B, 1), pvbi(0x0B, 2)], "§3.8.2.1.2"),
        ("disconnect-session-expiry-interval", disconnect, [p32(0x11, 0), p32(0x11, 0)],
         "§3.14.2.2.2"),
        ("auth-authentication-data", auth, [pstr(0x15, "m"), pbin(0x16, b""), pbin(0x16, b"")],
         "§3.15.2.2.3"),
    ]
    for label, mk, items, st in dups:
        S.bad(f"property-repeated-{label}", v, mk(plist(*items)), PROTOCOL, st,
              f"{label.replace('-', ' ')} appears twice; it may appear at most once.")
    S.bad("property-repeated-will-delay-interval", v,
          con(will_pr=plist(p32(0x18, 1), p32(0x18, 2))), PROTOCOL, "§3.1.3.2.2",
          "Will Delay Interval appears twice.")

    # Properties not valid in the packet (§2.2.2.2: an identifier not valid for
    # the packet type is a Malformed Packet).
    not_allowed = [
        ("connect-topic-alias", con(plist(p16(0x23, 1)))),
        ("connect-will-delay-interval", con(plist(p32(0x18, 1)))),
        ("connect-payload-format-indicator", con(plist(pb(0x01, 1)))),
        ("connect-reason-string", con(plist(pstr(0x1F, "r")))),
        ("connect-subscription-identifier", con(plist(pvbi(0x0B, 1)))),
        ("will-session-expiry-interval", con(will_pr=plist(p32(0x11, 1)))),
        ("will-topic-alias", con(will_pr=plist(p16(0x23, 1)))),
        ("publish-session-expiry-interval", pub(plist(p32(0x11, 1)))),
        ("publish-maximum-qos", pub(plist(pb(0x24, 1)))),
        ("publish-reason-string", pub(plist(pstr(0x1F, "r")))),
        ("puback-receive-maximum", puback(plist(p16(0x21, 1)))),
        ("puback-user-property-then-content-type", puback(plist(ppair("k", "v"),
                                                                pstr(0x03, "t")))),
        ("subscribe-reason-string", subscribe(plist(pstr(0x1F, "r")))),
        ("unsubscribe-subscription-identifier", frame(0xA2, u16(1) + plist(pvbi(0x0B, 1))
                                                      + string("a"))),
        ("suback-subscription-identifier", frame(0x90, u16(1) + plist(pvbi(0x0B, 1)) + b"\x00")),
        ("connack-will-delay-interval", connack(plist(p32(0x18, 1)))),
        ("disconnect-assigned-client-identifier", disconnect(plist(pstr(0x12, "c")))),
        ("disconnect-authentication-method", disconnect(plist(pstr(0x15, "m")))),
        ("auth-session-expiry-interval", auth(plist(pstr(0x15, "m"), p32(0x11, 1)))),
    ]
    for label, data in not_allowed:
        S.bad(f"property-not-allowed-{label}", v, data, MALFORMED, "§2.2.2.2",
              f"The property is not valid in this packet type ({label}).")

    # Unknown property identifiers.
    for pid in (0x00, 0x04, 0x0A, 0x14, 0x1B, 0x1E, 0x20, 0x2B, 0x7F):
        S.bad(f"property-unknown-{pid:02x}", v, pub(plist(u8(pid) + b"\x00")), MALFORMED,
              "§2.2.2.2", f"0x{pid:02x} is not a property identifier.")
    S.bad("property-unknown-two-byte-identifier", v, pub(plist(b"\x80\x01\x00")), MALFORMED,
          "§2.2.2.2", "Property identifier 128, written as a two-byte Variable Byte Integer.")

    # Out-of-range property values.
    ranges = [
        ("payload-format-indicator-2", pub(plist(pb(0x01, 2))), "§3.3.2.3.2"),
        ("will-payload-format-indicator-2", con(will_pr=plist(pb(0x01, 2))), "§3.1.3.2.3"),
        ("request-problem-information-2", con(plist(pb(0x17, 2))), "§3.1.2.11.7"),
        ("request-response-information-2", con(plist(pb(0x19, 2))), "§3.1.2.11.6"),
        ("maximum-qos-2", connack(plist(pb(0x24, 2))), "§3.2.2.3.4"),
        ("retain-available-2", connack(plist(pb(0x25, 2))), "§3.2.2.3.5"),
        ("wildcard-subscription-available-2", connack(plist(pb(0x28, 2))), "§3.2.2.3.11"),
        ("subscription-identifiers-available-2", connack(plist(pb(0x29, 0xFF))), "§3.2.2.3.12"),
        ("shared-subscription-available-2", connack(plist(pb(0x2A, 2))), "§3.2.2.3.13"),
        ("connect-receive-maximum-0", con(plist(p16(0x21, 0))), "§3.1.2.11.3"),
        ("connack-receive-maximum-0", connack(plist(p16(0x21, 0))), "§3.2.2.3.3"),
        ("connect-maximum-packet-size-0", con(plist(p32(0x27, 0))), "§3.1.2.11.4"),
        ("connack-maximum-packet-size-0", connack(plist(p32(0x27, 0))), "§3.2.2.3.6"),
        ("topic-alias-0", pub(plist(p16(0x23, 0))), "MQTT-3.3.2-8"),
        ("topic-alias-0-empty-topic", pub(plist(p16(0x23, 0)), topic=""), "MQTT-3.3.2-8"),
        ("publish-subscription-identifier-0", pub(plist(pvbi(0x0B, 0))), "§3.3.2.3.8"),
        ("subscribe-subscription-identifier-0", subscribe(plist(pvbi(0x0B, 0))), "§3.8.2.1.2"),
        ("connect-authentication-data-without-method", con(plist(pbin(0x16, b"d"))),
         "§3.1.2.11.10"),
        ("connack-authentication-data-without-method", connack(plist(pbin(0x16, b"d"))),
         "§3.2.2.3.18"),
        ("auth-authentication-data-without-method", auth(plist(pbin(0x16, b"d"))),
         "§3.15.2.2.3"),
    ]
    for label, data, st in ranges:
        S.bad(f"property-value-{label}", v, data, PROTOCOL, st,
              f"A property value the standard does not allow ({label}).")


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

FILES = {
    "valid-v4.json": "Valid MQTT 3.1.1 packets: hex and JSON form. Unless \"canonical\" is false, "
                     "encoding \"packet\" must give exactly \"hex\".",
    "valid-v5.json": "Valid MQTT 5.0 packets: hex and JSON form. Unless \"canonical\" is false, "
                     "encoding \"packet\" must give exactly \"hex\".",
    "valid-v4-large.json": "A valid MQTT 3.1.1 packet with a four-byte Remaining Length "
                           "(2,097,152). Unless \"canonical\" is false, encoding \"packet\" must "
                           "give exactly \"hex\".",
    "invalid-v4.json": "Invalid MQTT 3.1.1 inputs: each must be refused with the reason code given.",
    "invalid-v5.json": "Invalid MQTT 5.0 inputs: each must be refused with the reason code given.",
}


def build():
    S = Set()
    valid_v4(S)
    valid_v5(S)
    invalid_v4(S)
    invalid_v5(S)
    check_statements(S)
    return {
        "valid-v4.json": S.valid[4],
        "valid-v5.json": S.valid[5],
        "valid-v4-large.json": S.large,
        "invalid-v4.json": S.invalid[4],
        "invalid-v5.json": S.invalid[5],
    }


def check_statements(S):
    """Every statement id must exist: 5.0 ids in shared/spec, 3.1.1 ids in STATEMENTS_311."""
    known5 = None
    if os.path.exists(STATEMENTS_5):
        with open(STATEMENTS_5) as f:
            known5 = {s["id"] for s in json.load(f)["statements"]}
    for v in (4, 5):
        for vec in S.invalid[v]:
            st = vec["error"]["statement"]
            if st.startswith("§"):
                continue
            if v == 4:
                assert st in STATEMENTS_311, (vec["name"], st)
            elif known5 is not None:
                assert st in known5, (vec["name"], st)


def dump(vectors, description):
    lines = ['{', f'  "description": {json.dumps(description)},', '  "vectors": [']
    for i, vec in enumerate(vectors):
        sep = "," if i + 1 < len(vectors) else ""
        lines.append("    " + json.dumps(vec, ensure_ascii=False, separators=(", ", ": ")) + sep)
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def main():
    check = "--check" in sys.argv[1:]
    out = build()
    stale = []
    for fname, vectors in out.items():
        text = dump(vectors, FILES[fname])
        path = os.path.join(HERE, fname)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(fname)
            except FileNotFoundError:
                stale.append(fname)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    counts = {k: len(v) for k, v in out.items()}
    print(", ".join(f"{k}: {n}" for k, n in counts.items()))
    if stale:
        print("out of date, run tests/vectors/generate.py:", ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
