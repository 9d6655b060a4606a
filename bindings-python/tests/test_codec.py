"""The codec API: packet classes, Properties, Will, decode/encode edge cases,
the streaming Decoder split at every point, errors and their reason codes,
and a random-input run that must never panic.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

import pytest

import mqtt_engine as m

PROPS = m.Properties(
    payload_format_indicator=1,
    message_expiry_interval=60,
    content_type="application/json",
    response_topic="r/t",
    correlation_data=b"\x00\xff",
    user_properties=[("a", "1"), ("b", "2"), ("a", "1")],
)


def every_packet(version: int) -> list[m.Packet]:
    v5 = version == 5
    props = PROPS if v5 else None
    ack_props = m.Properties(reason_string="why", user_properties=[("k", "v")]) if v5 else None
    code = 0x10 if v5 else 0
    packets: list[m.Packet] = [
        m.Connect(
            "cid",
            protocol_version=version,
            clean_start=False,
            keep_alive=30,
            will=m.Will("w/t", b"bye", 1, True, m.Properties(will_delay_interval=3) if v5 else None),
            username="user",
            password=b"secret",
            properties=m.Properties(session_expiry_interval=10) if v5 else None,
        ),
        m.Connack(True, 0, m.Properties(maximum_qos=1, assigned_client_identifier="x") if v5 else None),
        m.Publish("a/b", b"payload", 1, True, True, 10, props),
        m.Publish("a/b", b"", 0),
        m.PubAck(1, code, ack_props),
        m.PubRec(2, code, ack_props),
        m.PubRel(3, 0x92 if v5 else 0, ack_props),
        m.PubComp(4, 0, ack_props),
        m.Subscribe(
            5,
            ["a/+", ("b/#", 2), m.Subscription("c", 1, v5, v5, 2 if v5 else 0)],
            m.Properties(subscription_identifiers=[9]) if v5 else None,
        ),
        m.Suback(5, [0, 1, 2, 0x80]),
        m.Unsubscribe(6, ["a/+", "b"], m.Properties(user_properties=[("u", "v")]) if v5 else None),
        m.Unsuback(6, [0, 0x11] if v5 else []),
        m.PingReq(),
        m.PingResp(),
        m.Disconnect(0x8E if v5 else 0, m.Properties(reason_string="taken over") if v5 else None),
    ]
    if v5:
        packets.append(m.Auth(0x18, m.Properties(authentication_method="M", authentication_data=b"d")))
    return packets


@pytest.mark.parametrize("version", [4, 5])
def test_every_packet_round_trips(version: int) -> None:
    for p in every_packet(version):
        data = m.encode(p, version)
        back = m.decode(data, version)
        assert back == p, p
        assert type(back) is type(p)
        d = p.to_dict()
        assert d["type"] == type(p).__name__.lower().replace("pingreq", "pingreq")
        assert m.packet_from_dict(d) == p
        assert m.encode(d, version) == data
        assert repr(p).startswith(type(p).__name__ + "(")


def test_packet_attributes() -> None:
    p = m.Publish("a/b", "héllo", qos=2, retain=True, dup=True, packet_id=3, properties=PROPS)
    assert (p.topic, p.topic_name, p.payload, p.qos, p.retain, p.dup) == ("a/b", "a/b", "héllo".encode(), 2, True, True)
    assert p.packet_id == p.packet_identifier == 3
    assert p.properties == PROPS
    c = m.Connect("me", username="u")
    assert (c.client_id, c.client_identifier, c.username, c.user_name, c.protocol_version) == ("me", "me", "u", "u", 5)
    assert c.keep_alive == 60 and c.clean_start and c.will is None and c.password is None
    s = m.Subscribe(1, [m.Subscription("f", 1, True, True, 1)])
    [sub] = s.subscriptions
    assert (sub.topic_filter, sub.qos, sub.no_local, sub.retain_as_published, sub.retain_handling) == ("f", 1, True, True, 1)
    assert m.Unsubscribe(2, ["x"]).topic_filters == ["x"]
    assert m.Unsuback(2).reason_codes == []
    assert m.PubAck(7).packet_identifier == 7


def test_publish_to_dict_is_the_json_form() -> None:
    p = m.Publish("t", b"\x01\xab", qos=1, packet_id=2, properties=m.Properties(correlation_data=b"\x0f"))
    assert p.to_dict() == {
        "type": "publish",
        "dup": False,
        "qos": 1,
        "retain": False,
        "topic_name": "t",
        "packet_identifier": 2,
        "properties": {"correlation_data_hex": "0f"},
        "payload_hex": "01ab",
    }


def test_packets_work_with_match() -> None:
    def kind(p: m.Packet) -> str:
        match p:
            case m.Publish(topic, payload, qos):
                return f"publish {topic} {payload!r} {qos}"
            case m.PubAck(packet_id, reason_code):
                return f"puback {packet_id} {reason_code}"
            case m.Suback(packet_id, [first, *_]):
                return f"suback {packet_id} {first}"
            case m.PingReq():
                return "ping"
            case _:
                return "other"

    assert kind(m.Publish("a", b"x", 1, packet_id=1)) == "publish a b'x' 1"
    assert kind(m.PubAck(4, 0x10)) == "puback 4 16"
    assert kind(m.Suback(2, [1, 0])) == "suback 2 1"
    assert kind(m.PingReq()) == "ping"
    assert kind(m.Disconnect()) == "other"


def test_packets_are_immutable_and_comparable() -> None:
    p = m.Publish("a", b"x")
    with pytest.raises(AttributeError):
        p.topic = "b"  # type: ignore[misc]
    assert p == m.Publish("a", b"x") and p != m.Publish("a", b"y")
    assert p != m.Message("a", b"x")
    assert m.PubAck(1) != m.PubRec(1)


def test_properties_every_keyword_and_alias() -> None:
    p = m.Properties(
        payload_format_indicator=1,
        message_expiry_interval=2,
        content_type="c",
        response_topic="r",
        correlation_data=bytearray(b"cd"),
        subscription_identifiers=[1, 2],
        session_expiry_interval=3,
        assigned_client_identifier="a",
        server_keep_alive=4,
        authentication_method="m",
        authentication_data=memoryview(b"ad"),
        request_problem_information=0,
        will_delay_interval=5,
        request_response_information=1,
        response_information="ri",
        server_reference="sr",
        reason_string="rs",
        receive_maximum=6,
        topic_alias_maximum=7,
        topic_alias=8,
        maximum_qos=1,
        retain_available=0,
        user_properties=[("n", "v")],
        maximum_packet_size=9,
        wildcard_subscription_available=1,
        subscription_identifier_available=0,
        shared_subscription_available=1,
    )
    assert p.correlation_data == b"cd" and p.authentication_data == b"ad"
    assert p.subscription_identifiers_available == 0 == p.subscription_identifier_available
    d = p.to_dict()
    assert d["correlation_data_hex"] == "6364" and d["user_properties"] == [["n", "v"]]
    assert len(d) == 27
    assert not p.is_empty() and m.Properties().is_empty()
    assert m.Properties().to_dict() == {}


def test_properties_are_mutable_and_checked() -> None:
    p = m.Properties()
    p.content_type = "text/plain"
    p.user_properties = [("a", "b"), ("a", "b")]
    p.subscription_identifier_available = 1
    assert p == m.Properties(content_type="text/plain", user_properties=[("a", "b"), ("a", "b")], subscription_identifiers_available=1)
    assert "content_type='text/plain'" in repr(p)
    with pytest.raises(OverflowError):
        p.receive_maximum = 70_000
    with pytest.raises(TypeError):
        m.Properties(user_properties="a=b")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        m.Properties(user_properties=[("a", 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        m.Publish("a", properties={"content_type": "x"})  # type: ignore[arg-type]


def test_packet_properties_are_copies() -> None:
    p = m.Publish("a", b"x", properties=m.Properties(content_type="x"))
    props = p.properties
    props.content_type = "changed"
    assert p.properties.content_type == "x"


def test_will() -> None:
    w = m.Will("t", "text", 2, True)
    assert (w.topic, w.payload, w.qos, w.retain) == ("t", b"text", 2, True)
    w.payload = b"bytes"
    w.qos = 1
    w.properties = m.Properties(content_type="c")
    assert w.properties.content_type == "c"
    assert w.to_dict() == {"topic": "t", "payload_hex": "6279746573", "qos": 1, "retain": True, "properties": {"content_type": "c"}}
    assert w == m.Will("t", b"bytes", 1, True, m.Properties(content_type="c"))
    assert repr(w).startswith("Will(topic='t'")
    with pytest.raises(m.LocalProtocolError):
        w.qos = 3
    with pytest.raises(m.LocalProtocolError):
        m.Will("t", qos=-1)


def test_constructor_values_are_checked() -> None:
    with pytest.raises(m.LocalProtocolError) as e:
        m.Publish("a", qos=3)
    assert e.value.kind == "invalid"
    with pytest.raises(m.LocalProtocolError) as e:
        m.PubAck(0)
    assert e.value.reason_code == 0x82
    with pytest.raises(ValueError):
        m.Disconnect(256)
    with pytest.raises(m.LocalProtocolError):
        m.Subscription("a", retain_handling=3)
    with pytest.raises(TypeError):
        m.Subscribe(1, [42])  # type: ignore[list-item]
    with pytest.raises(m.LocalProtocolError) as e:
        m.Connect(protocol_version=3 + 3)
    assert e.value.reason_code == 0x84


# ----- decode -----------------------------------------------------------------


def test_decode_takes_bytes_like() -> None:
    data = m.encode(m.Publish("a", b"x"))
    for form in (data, bytearray(data), memoryview(data)):
        assert m.decode(form) == m.Publish("a", b"x")
    with pytest.raises(TypeError):
        m.decode("text")  # type: ignore[arg-type]


def test_decode_incomplete_and_trailing() -> None:
    data = m.encode(m.Publish("a", b"xyz"))
    for cut in range(len(data)):
        with pytest.raises(m.DecodeError) as e:
            m.decode(data[:cut])
        assert e.value.reason_code == 0x81 and "incomplete" in str(e.value)
    with pytest.raises(m.DecodeError) as e:
        m.decode(data + b"\x00")
    assert e.value.reason_code == 0x81 and e.value.offset == len(data)


def test_decode_error_attributes() -> None:
    with pytest.raises(m.DecodeError) as e:
        m.decode(bytes.fromhex("3606000161000100"))  # [MQTT-3.3.1-4] QoS 3
    err = e.value
    assert (err.reason_code, err.reason_name, err.offset) == (0x81, "Malformed Packet", 0)
    assert str(err).startswith("0x81 Malformed Packet: ")
    assert isinstance(err, m.RemoteProtocolError) and isinstance(err, m.MqttError)


def test_decode_version_differences() -> None:
    auth = m.encode(m.Auth(0x18, m.Properties(authentication_method="m")))
    with pytest.raises(m.DecodeError) as e:
        m.decode(auth, 4)  # packet type 15 is reserved in 3.1.1
    assert e.value.reason_code == 0x81
    with pytest.raises(m.LocalProtocolError) as le:
        m.decode(auth, 6)
    assert le.value.reason_code == 0x84


def test_decode_max_packet_size_from_the_fixed_header() -> None:
    header_only = bytes([0x30, 0xFF, 0xFF, 0x03])  # PUBLISH announcing 65,535 bytes
    with pytest.raises(m.DecodeError) as e:
        m.decode(header_only, max_packet_size=1000)
    assert e.value.reason_code == 0x95


# ----- encode -----------------------------------------------------------------


def test_encode_refuses_invalid_packets_with_reason_codes() -> None:
    cases: list[tuple[Any, int]] = [
        (m.Publish("a/+", b""), 0x81),
        (m.Publish("a", b"", qos=1), 0x82),  # QoS 1 needs a packet identifier
        (m.Subscribe(1, []), 0x82),
        (m.Connect(properties=m.Properties(topic_alias=1)), 0x82),
    ]
    for packet, code in cases:
        with pytest.raises(m.LocalProtocolError) as e:
            m.encode(packet)
        assert e.value.kind == "invalid"
        assert e.value.reason_code in (code, 0x81, 0x82, 0x90), (packet, e.value)
    with pytest.raises(m.LocalProtocolError) as e:
        m.encode(m.Auth(), 4)
    assert e.value.reason_code == 0x81


def test_encode_from_dict_errors() -> None:
    with pytest.raises(ValueError, match="JSON form"):
        m.encode({"type": "publish", "topic_name": "a", "bogus": 1})
    with pytest.raises(ValueError):
        m.encode({"type": "nothing"})
    with pytest.raises(ValueError):
        m.encode({"topic_name": "a"})
    with pytest.raises(ValueError):
        m.encode({"type": "publish", "topic_name": "a", "payload_hex": "zz"})
    with pytest.raises(TypeError):
        m.encode(b"\xc0\x00")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        m.packet_from_dict([("type", "pingreq")])  # type: ignore[arg-type]
    assert m.encode({"type": "pingreq"}) == b"\xc0\x00"


# ----- Decoder ----------------------------------------------------------------

STREAM_PACKETS: list[m.Packet] = [
    m.Connack(False, 0, m.Properties(receive_maximum=10)),
    m.Publish("a/b", b"one", 1, packet_id=1, properties=PROPS),
    m.PingResp(),
    m.Publish("c", b"", 0),
    m.Suback(2, [1]),
    m.Disconnect(0x8B),
]
STREAM = b"".join(m.encode(p) for p in STREAM_PACKETS)


def test_decoder_every_split_point() -> None:
    for cut in range(len(STREAM) + 1):
        d = m.Decoder()
        got = d.feed(STREAM[:cut]) + d.feed(STREAM[cut:])
        assert got == STREAM_PACKETS, cut
        assert d.buffered == 0


def test_decoder_every_pair_of_split_points() -> None:
    n = len(STREAM)
    for a in range(0, n + 1, 3):
        for b in range(a, n + 1, 5):
            d = m.Decoder()
            got = d.feed(STREAM[:a]) + d.feed(STREAM[a:b]) + d.feed(STREAM[b:])
            assert got == STREAM_PACKETS, (a, b)


def test_decoder_one_byte_at_a_time() -> None:
    d = m.Decoder(5)
    got: list[m.Packet] = []
    for b in STREAM:
        got += d.feed(bytes([b]))
    assert got == STREAM_PACKETS


def test_decoder_gives_packets_before_the_fault_then_fails_until_reset() -> None:
    bad = bytes.fromhex("3606000161000100")
    d = m.Decoder()
    got = d.feed(m.encode(m.PingResp()) + bad)
    assert got == [m.PingResp()]
    with pytest.raises(m.DecodeError) as e:
        d.feed(b"")
    assert e.value.reason_code == 0x81
    with pytest.raises(m.DecodeError):
        d.feed(m.encode(m.PingResp()))
    d.reset()
    assert d.feed(m.encode(m.PingResp())) == [m.PingResp()]


def test_decoder_refuses_a_large_packet_from_its_header_DESIGN_3() -> None:
    d = m.Decoder(5, max_packet_size=100)
    assert d.max_packet_size == 100
    with pytest.raises(m.DecodeError) as e:
        d.feed(bytes([0x30, 0xE8, 0x07]))  # announces 1,000 bytes
    assert e.value.reason_code == 0x95
    assert d.buffered == 0


def test_decoder_version_switch() -> None:
    d = m.Decoder(4)
    assert d.version == 4
    assert d.feed(m.encode(m.PubAck(1), 4)) == [m.PubAck(1)]
    d.version = 5
    assert d.feed(m.encode(m.PubAck(1, 0x10), 5)) == [m.PubAck(1, 0x10)]
    with pytest.raises(m.LocalProtocolError):
        m.Decoder(7)


# ----- Exceptions, docs, type aliases -------------------------------------------


def test_exception_hierarchy_and_defaults() -> None:
    assert issubclass(m.LocalProtocolError, m.MqttError)
    assert issubclass(m.RemoteProtocolError, m.MqttError)
    assert issubclass(m.DecodeError, m.RemoteProtocolError)
    assert issubclass(m.MqttError, Exception)
    raised_by_hand = m.LocalProtocolError("mine")
    assert raised_by_hand.reason_code is None and raised_by_hand.kind == "invalid"
    assert m.DecodeError("x").offset is None


def test_every_public_name_has_a_docstring() -> None:
    for name in m.__all__:
        if name in ("Packet", "Event", "McpServerEvent", "McpClientEvent", "__version__"):
            continue
        obj = getattr(m, name)
        assert (obj.__doc__ or "").strip(), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member) and not isinstance(member, property) and not inspect.isgetsetdescriptor(member):
                    continue
                assert (getattr(member, "__doc__", None) or "").strip(), f"{name}.{attr}"


def test_type_aliases_list_every_class() -> None:
    packet_args = set(m.Packet.__args__)  # type: ignore[attr-defined]
    assert len(packet_args) == 15 and m.Publish in packet_args
    event_args = set(m.Event.__args__)  # type: ignore[attr-defined]
    assert {m.Message, m.Auth, m.RequestDone} <= event_args and len(event_args) == 11


# ----- Nothing panics -------------------------------------------------------------


def test_random_bytes_never_panic() -> None:
    rng = random.Random(5)
    seeds = [m.encode(p, v) for v in (4, 5) for p in every_packet(v)]
    client = m.Client(0, client_id="fuzz", seed=1)
    for i in range(3000):
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if base:
                base[rng.randrange(len(base))] = rng.randrange(256)
        data = bytes(base) if rng.random() < 0.8 else rng.randbytes(rng.randint(0, 40))
        version = rng.choice((4, 5))
        try:
            m.decode(data, version)
        except m.DecodeError:
            pass
        d = m.Decoder(version, max_packet_size=4096)
        try:
            for k in range(0, len(data), 3):
                d.feed(data[k : k + 3])
        except m.DecodeError:
            pass
        if client.state == "closed":
            client = m.Client(0, client_id="fuzz", seed=1)
            client.connect(0)
            client.handle_bytes(0, m.encode(m.Connack()))
            client.events()
        try:
            client.handle_bytes(i, data)
        except m.MqttError:
            pass
        client.transmit_all()
        client.events()
