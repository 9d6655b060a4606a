"""The sans-IO Client against scripted exchanges and through the in-test broker.

Server packets are built with `encode`, what the client transmits is read back
with a `Decoder`, and time jumps straight to `poll_timeout()`: no sockets, no
sleeping. Tests that exist because of a normative statement name it.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

import mqtt_engine as m
from broker import Broker, Hub


def sent(c: m.Client) -> list[m.Packet]:
    """Everything the client transmitted since the last call, decoded."""
    data = c.transmit_all()
    packets = m.Decoder(c.version, max_packet_size=1 << 28).feed(data)
    return packets


def feed(c: m.Client, now: int, *packets: m.Packet) -> None:
    c.handle_bytes(now, b"".join(m.encode(p, c.version) for p in packets))


def connected(
    now: int = 0, connack: Optional[m.Connack] = None, **options: Any
) -> m.Client:
    options.setdefault("client_id", "dev-1")
    options.setdefault("seed", 7)
    c = m.Client(now, **options)
    c.connect(now)
    [connect] = sent(c)
    assert isinstance(connect, m.Connect)
    feed(c, now, connack or m.Connack())
    assert isinstance(c.poll_event(), m.Connected)
    assert c.poll_event() is None
    return c


def state(c: m.Client) -> str:
    """The state, read afresh (mypy narrows `c.state` across commands)."""
    return c.state


# ----- Connecting -------------------------------------------------------------


def test_connect_builds_connect_from_the_options() -> None:
    will = m.Will("dev/status", b"gone", qos=1, retain=True, properties=m.Properties(will_delay_interval=5))
    c = m.Client(
        0,
        client_id="dev-1",
        keep_alive=30,
        session_expiry_interval=120,
        username="u",
        password=b"p",
        will=will,
        user_properties=[("a", "1"), ("a", "2")],
        seed=1,
    )
    assert c.state == "closed" and not c.is_connected
    c.connect(0)
    assert state(c) == "connecting"
    [p] = sent(c)
    assert isinstance(p, m.Connect)
    assert p.client_identifier == "dev-1" and p.keep_alive == 30 and p.clean_start
    assert p.user_name == "u" and p.password == b"p"
    assert p.will == will
    assert p.properties.session_expiry_interval == 120
    assert p.properties.user_properties == [("a", "1"), ("a", "2")]
    with pytest.raises(m.LocalProtocolError) as e:
        c.connect(0)
    assert e.value.kind == "already_connected"


def test_connack_success_connects_and_reports_server_limits() -> None:
    props = m.Properties(
        maximum_qos=1,
        retain_available=0,
        receive_maximum=5,
        server_keep_alive=20,
        assigned_client_identifier="given",
    )
    c = m.Client(0, seed=1)
    c.connect(0)
    sent(c)
    feed(c, 0, m.Connack(False, 0, props))
    [ev] = c.events()
    match ev:
        case m.Connected(session_present=False, properties=p):
            assert p.assigned_client_identifier == "given"
        case _:
            pytest.fail(f"unexpected {ev!r}")
    assert c.is_connected and c.state == "connected"
    assert c.client_id == "given"
    s = c.server
    assert s["maximum_qos"] == 1 and s["retain_available"] is False
    assert s["receive_maximum"] == 5 and s["keep_alive"] == 20


def test_refused_connack_reports_disconnected_with_the_code() -> None:
    c = m.Client(0, client_id="x", seed=1)
    c.connect(0)
    sent(c)
    feed(c, 5, m.Connack(False, 0x87, m.Properties(reason_string="no")))
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected)
    assert (ev.cause, ev.reason_code, ev.reason_name, ev.reason_string) == (
        "refused",
        0x87,
        "Not authorized",
        "no",
    )
    assert c.state == "closed"


def test_connect_timeout_closes_without_connack() -> None:
    c = m.Client(0, client_id="x", connect_timeout_ms=5000, seed=1)
    c.connect(0)
    sent(c)
    assert c.poll_timeout() == 5000
    c.handle_timeout(4999)
    assert c.events() == []
    c.handle_timeout(5000)
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected) and ev.cause == "connect_timeout"


def test_mqtt_3_1_1_connect_and_no_reason_codes() -> None:
    c = connected(version=4, client_id="old")
    assert c.version == 4
    pid = c.publish(0, "t", b"x", qos=1)
    [p] = sent(c)
    assert isinstance(p, m.Publish) and p.packet_id == pid
    with pytest.raises(m.LocalProtocolError) as e:
        c.request(0, "svc", b"")
    assert e.value.reason_code == 0x82 and e.value.kind == "not_supported"


# ----- Keep alive ------------------------------------------------------------


def test_keep_alive_pingreq_then_timeout_MQTT_3_1_2_20() -> None:
    # [MQTT-3.1.2-20] with nothing else sent, the client sends PINGREQ.
    c = connected(now=0, keep_alive=10)
    assert c.poll_timeout() == 10_000
    c.handle_timeout(9_999)
    assert sent(c) == []
    c.handle_timeout(10_000)
    assert sent(c) == [m.PingReq()]
    # No PINGRESP within the timeout (the keep-alive): the connection is dead.
    deadline = c.poll_timeout()
    assert deadline == 20_000
    c.handle_timeout(deadline)
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected)
    assert ev.cause == "keep_alive_timeout" and ev.reason_code == 0x8D
    assert c.state == "closed"


def test_pingresp_keeps_the_connection() -> None:
    c = connected(now=0, keep_alive=10)
    c.handle_timeout(10_000)
    assert sent(c) == [m.PingReq()]
    feed(c, 10_050, m.PingResp())
    assert c.poll_timeout() == 20_000
    assert c.is_connected


def test_server_keep_alive_replaces_ours_MQTT_3_1_2_21() -> None:
    c = connected(now=0, keep_alive=60, connack=m.Connack(False, 0, m.Properties(server_keep_alive=5)))
    assert c.poll_timeout() == 5_000


# ----- Publishing ------------------------------------------------------------


def test_qos0_publish_has_no_packet_id() -> None:
    c = connected()
    assert c.publish(1, "a/b", "text", retain=True) is None
    [p] = sent(c)
    assert p == m.Publish("a/b", b"text", 0, True)


def test_qos1_publish_and_puback_MQTT_4_3_2_4() -> None:
    c = connected()
    props = m.Properties(content_type="text/plain", user_properties=[("k", "v"), ("k", "w")])
    pid = c.publish(1, "a/b", b"x", qos=1, properties=props)
    assert pid is not None and c.inflight == 1
    [p] = sent(c)
    assert isinstance(p, m.Publish)
    assert (p.qos, p.packet_id, p.dup) == (1, pid, False)
    assert p.properties.content_type == "text/plain"
    assert p.properties.user_properties == [("k", "v"), ("k", "w")]
    feed(c, 2, m.PubAck(pid, 0x10, m.Properties(reason_string="nobody")))
    [ev] = c.events()
    match ev:
        case m.Published(packet_id, 1, 0x10):
            assert packet_id == pid and ev.reason_string == "nobody"
        case _:
            pytest.fail(repr(ev))
    assert c.inflight == 0


def test_qos2_publish_flow_MQTT_4_3_3_3() -> None:
    # [MQTT-4.3.3-3] unacknowledged until PUBREC; then PUBREL until PUBCOMP.
    c = connected()
    pid = c.publish(1, "a", b"x", qos=2)
    assert pid is not None
    [p] = sent(c)
    assert isinstance(p, m.Publish) and p.qos == 2
    feed(c, 2, m.PubRec(pid))
    assert sent(c) == [m.PubRel(pid)]
    assert c.events() == []
    feed(c, 3, m.PubComp(pid))
    [ev] = c.events()
    assert isinstance(ev, m.Published) and ev.packet_id == pid and ev.qos == 2


def test_qos_above_server_maximum_is_refused_MQTT_3_2_2_11() -> None:
    c = connected(connack=m.Connack(False, 0, m.Properties(maximum_qos=1)))
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(1, "a", b"x", qos=2)
    assert e.value.reason_code == 0x9B and e.value.reason_name == "QoS not supported"
    assert e.value.kind == "not_supported"
    assert "0x9B" in str(e.value)
    assert sent(c) == [] and c.events() == []


def test_retain_without_retain_available_is_refused_MQTT_3_2_2_14() -> None:
    c = connected(connack=m.Connack(False, 0, m.Properties(retain_available=0)))
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(1, "a", b"x", retain=True)
    assert e.value.reason_code == 0x9A
    assert sent(c) == []


def test_topic_name_with_wildcard_is_refused() -> None:
    c = connected()
    for bad in ("a/+", "a/#", ""):
        with pytest.raises(m.LocalProtocolError) as e:
            c.publish(1, bad, b"x")
        assert e.value.reason_code == 0x90, bad
    assert sent(c) == []


def test_publish_larger_than_server_maximum_packet_size() -> None:
    c = connected(connack=m.Connack(False, 0, m.Properties(maximum_packet_size=100)))
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(1, "a", b"x" * 200)
    assert e.value.reason_code == 0x95


def test_publish_subscription_identifier_is_refused_MQTT_3_3_4_6() -> None:
    c = connected()
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(1, "a", b"x", properties=m.Properties(subscription_identifiers=[1]))
    assert e.value.reason_code == 0x82


def test_publish_while_closed_needs_offline_queue() -> None:
    c = m.Client(0, client_id="x", seed=1)
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(0, "a", b"x", qos=1)
    assert e.value.kind == "not_connected"
    q = m.Client(0, client_id="x", offline_queue=True, seed=1)
    pid = q.publish(0, "a", b"x", qos=1)
    assert q.queued == 1
    q.connect(0)
    [connect] = sent(q)
    assert isinstance(connect, m.Connect)
    feed(q, 1, m.Connack())
    [p] = sent(q)
    assert isinstance(p, m.Publish) and p.packet_id == pid


def test_receive_maximum_limits_inflight_MQTT_3_3_4_7() -> None:
    # [MQTT-3.3.4-7] no more than Receive Maximum QoS 1/2 PUBLISH unacknowledged.
    c = connected(connack=m.Connack(False, 0, m.Properties(receive_maximum=2)))
    ids = [c.publish(1, "a", bytes([i]), qos=1) for i in range(3)]
    assert len(sent(c)) == 2 and c.inflight == 2 and c.queued == 1
    first = ids[0]
    assert first is not None
    feed(c, 2, m.PubAck(first))
    [p] = sent(c)
    assert isinstance(p, m.Publish) and p.packet_id == ids[2]


def test_bad_arguments_raise_clear_errors() -> None:
    c = connected()
    with pytest.raises(m.LocalProtocolError) as e:
        c.publish(1, "a", b"x", qos=3)
    assert e.value.kind == "invalid"
    with pytest.raises(TypeError):
        c.publish(1, "a", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown Client option"):
        m.Client(0, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        c.publish(-1, "a", b"x")
    with pytest.raises(m.LocalProtocolError):
        m.Client(0, version=6)
    assert sent(c) == []


# ----- Receiving --------------------------------------------------------------


def test_qos1_message_is_acked_MQTT_4_3_2_4() -> None:
    c = connected()
    props = m.Properties(user_properties=[("x", "1"), ("x", "1")], correlation_data=b"\x00\x01")
    feed(c, 1, m.Publish("s/t", b"21.5", qos=1, packet_id=5, properties=props))
    [ev] = c.events()
    match ev:
        case m.Message("s/t", b"21.5", 1, False, False, 5, p):
            assert p.user_properties == [("x", "1"), ("x", "1")]
            assert p.correlation_data == b"\x00\x01"
        case _:
            pytest.fail(repr(ev))
    assert sent(c) == [m.PubAck(5)]
    assert c.stats["messages_received"] == 1


def test_qos2_message_delivered_once_MQTT_4_3_3_10() -> None:
    # [MQTT-4.3.3-10] until PUBREL, a PUBLISH with the same id is acknowledged
    # with PUBREC again and not delivered a second time.
    c = connected()
    feed(c, 1, m.Publish("a", b"x", qos=2, packet_id=9))
    assert len(c.events()) == 1
    assert sent(c) == [m.PubRec(9)]
    feed(c, 2, m.Publish("a", b"x", qos=2, dup=True, packet_id=9))
    assert c.events() == []
    assert sent(c) == [m.PubRec(9)]
    assert c.stats["duplicate_qos2"] == 1
    feed(c, 3, m.PubRel(9))
    assert sent(c) == [m.PubComp(9)]


def test_manual_ack_keeps_arrival_order_MQTT_4_6_0_2() -> None:
    c = connected(manual_ack=True)
    feed(c, 1, m.Publish("a", b"1", qos=1, packet_id=1), m.Publish("a", b"2", qos=1, packet_id=2))
    assert len(c.events()) == 2 and sent(c) == []
    assert c.inbound_pending == 2
    c.ack(2, 2)
    assert sent(c) == []  # waits for the earlier message
    c.ack(2, 1)
    assert sent(c) == [m.PubAck(1), m.PubAck(2)]
    with pytest.raises(m.LocalProtocolError) as e:
        c.ack(3, 1)
    assert e.value.kind == "unknown_packet_id"


def test_manual_ack_with_a_refusal_code() -> None:
    c = connected(manual_ack=True)
    feed(c, 1, m.Publish("a", b"1", qos=1, packet_id=3))
    c.events()
    c.ack(2, 3, 0x87)
    assert sent(c) == [m.PubAck(3, 0x87)]


def test_inbound_topic_alias_is_resolved() -> None:
    c = connected(topic_alias_maximum=4)
    feed(c, 1, m.Publish("long/topic", b"1", properties=m.Properties(topic_alias=2)))
    feed(c, 1, m.Publish("", b"2", properties=m.Properties(topic_alias=2)))
    topics = [e.topic for e in c.events() if isinstance(e, m.Message)]
    assert topics == ["long/topic", "long/topic"]


def test_topic_alias_above_maximum_is_a_protocol_violation() -> None:
    c = connected(topic_alias_maximum=1)
    with pytest.raises(m.RemoteProtocolError) as e:
        feed(c, 1, m.Publish("t", b"x", properties=m.Properties(topic_alias=3)))
    assert e.value.reason_code == 0x94
    assert not isinstance(e.value, m.DecodeError)
    [d] = sent(c)
    assert isinstance(d, m.Disconnect) and d.reason_code == 0x94
    assert d.properties.reason_string  # says why
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected) and ev.cause == "protocol_violation"


def test_malformed_bytes_close_with_0x81() -> None:
    c = connected()
    with pytest.raises(m.DecodeError) as e:
        c.handle_bytes(1, bytes.fromhex("3606000161000100"))  # PUBLISH QoS 3
    assert e.value.reason_code == 0x81 and e.value.reason_name == "Malformed Packet"
    [d] = sent(c)
    assert isinstance(d, m.Disconnect) and d.reason_code == 0x81
    assert c.state == "closed"
    # Bytes after the close are ignored.
    c.handle_bytes(2, b"\x30\x00")


def test_packet_above_our_maximum_packet_size_is_refused_MQTT_3_1_2_24() -> None:
    c = connected(maximum_packet_size=64)
    with pytest.raises(m.RemoteProtocolError) as e:
        c.handle_bytes(1, m.encode(m.Publish("a", b"x" * 100)))
    assert e.value.reason_code == 0x95


def test_bytes_in_any_split() -> None:
    c = connected()
    data = b"".join(m.encode(m.Publish("a", bytes([i]), qos=1, packet_id=i + 1)) for i in range(3))
    for b in data:
        c.handle_bytes(1, bytes([b]))
    msgs = [e for e in c.events() if isinstance(e, m.Message)]
    assert [x.payload for x in msgs] == [b"\x00", b"\x01", b"\x02"]


def test_max_events_refuses_input_until_drained() -> None:
    c = connected(max_events=2)
    feed(c, 1, m.Publish("a", b"1"), m.Publish("a", b"2"))
    with pytest.raises(m.LocalProtocolError) as e:
        feed(c, 1, m.Publish("a", b"3"))
    assert e.value.kind == "queue_full"
    assert len(c.events()) == 2
    feed(c, 1, m.Publish("a", b"3"))
    assert len(c.events()) == 1


def test_server_disconnect_is_reported() -> None:
    c = connected()
    props = m.Properties(reason_string="bye", server_reference="other:1883", user_properties=[("a", "b")])
    feed(c, 1, m.Disconnect(0x9C, props))
    [ev] = c.events()
    match ev:
        case m.Disconnected("server", 0x9C, "Use another server", "bye"):
            assert ev.server_reference == "other:1883" and ev.user_properties == [("a", "b")]
        case _:
            pytest.fail(repr(ev))


def test_handle_closed_reports_connection_lost() -> None:
    c = connected()
    c.handle_closed(1)
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected) and ev.cause == "connection_lost"
    c.handle_closed(2)
    assert c.events() == []


# ----- Subscribing ------------------------------------------------------------


def test_subscribe_and_suback() -> None:
    c = connected()
    pid = c.subscribe(
        1,
        ["a/+", ("b/#", 2), m.Subscription("c", qos=0, retain_handling=2)],
        qos=1,
        no_local=True,
        properties=m.Properties(subscription_identifiers=[7]),
    )
    [p] = sent(c)
    assert isinstance(p, m.Subscribe) and p.packet_id == pid
    subs = p.subscriptions
    assert [(s.topic_filter, s.qos, s.no_local) for s in subs] == [("a/+", 1, True), ("b/#", 2, False), ("c", 0, False)]
    assert subs[2].retain_handling == 2
    assert p.properties.subscription_identifiers == [7]
    feed(c, 2, m.Suback(pid, [1, 0x80, 0]))
    [ev] = c.events()
    assert isinstance(ev, m.Subscribed) and ev.reason_codes == [1, 0x80, 0]


def test_subscribe_one_filter_string_and_unsubscribe() -> None:
    c = connected()
    pid = c.subscribe(1, "x/y", qos=2)
    [p] = sent(c)
    assert isinstance(p, m.Subscribe) and [s.qos for s in p.subscriptions] == [2]
    feed(c, 1, m.Suback(pid, [2]))
    upid = c.unsubscribe(2, ["x/y", "z"])
    [u] = sent(c)
    assert u == m.Unsubscribe(upid, ["x/y", "z"])
    feed(c, 3, m.Unsuback(upid, [0, 0x11]))
    evs = c.events()
    assert isinstance(evs[-1], m.Unsubscribed) and evs[-1].reason_codes == [0, 0x11]


def test_bad_filters_are_refused_MQTT_4_7_1_2() -> None:
    c = connected()
    for bad in ("a/#/b", "a+", ""):
        with pytest.raises(m.LocalProtocolError) as e:
            c.subscribe(1, bad)
        assert e.value.reason_code == 0x8F, bad
    with pytest.raises(m.LocalProtocolError) as e:
        c.subscribe(1, "$share/g/a", no_local=True)  # [MQTT-3.8.3-4]
    assert e.value.reason_code == 0x82
    with pytest.raises(m.LocalProtocolError):
        c.subscribe(1, [])
    assert sent(c) == []


# ----- Disconnect, auth, session ----------------------------------------------


def test_disconnect_sends_the_reason_and_properties() -> None:
    c = connected(session_expiry_interval=60)
    c.disconnect(1, 0x04, session_expiry_interval=0, reason_string="going")
    [d] = sent(c)
    assert isinstance(d, m.Disconnect) and d.reason_code == 0x04
    assert d.properties.session_expiry_interval == 0 and d.properties.reason_string == "going"
    [ev] = c.events()
    assert isinstance(ev, m.Disconnected) and ev.cause == "client"
    with pytest.raises(m.LocalProtocolError) as e:
        c.disconnect(2)
    assert e.value.kind == "not_connected"


def test_disconnect_may_not_set_expiry_from_zero() -> None:
    c = connected(session_expiry_interval=0)
    with pytest.raises(m.LocalProtocolError) as e:
        c.disconnect(1, session_expiry_interval=30)
    assert e.value.reason_code == 0x82
    assert c.is_connected


def test_enhanced_authentication_MQTT_4_12_0_5() -> None:
    c = m.Client(0, client_id="a", authentication_method="SCRAM", authentication_data=b"first", seed=1)
    c.connect(0)
    [connect] = sent(c)
    assert isinstance(connect, m.Connect)
    assert connect.properties.authentication_method == "SCRAM"
    feed(c, 1, m.Auth(0x18, m.Properties(authentication_method="SCRAM", authentication_data=b"challenge")))
    [ev] = c.events()
    match ev:
        case m.Auth(0x18, p):
            assert p.authentication_data == b"challenge"
        case _:
            pytest.fail(repr(ev))
    c.auth(2, data=b"answer")
    [a] = sent(c)
    assert isinstance(a, m.Auth) and a.reason_code == 0x18
    assert a.properties.authentication_method == "SCRAM"  # filled in [MQTT-4.12.0-5]
    assert a.properties.authentication_data == b"answer"
    with pytest.raises(m.LocalProtocolError) as e:
        c.auth(2, method="OTHER")
    assert e.value.kind == "auth"
    feed(c, 3, m.Connack(False, 0, m.Properties(authentication_method="SCRAM")))
    assert c.is_connected


def test_auth_without_a_method_is_refused() -> None:
    c = connected()
    with pytest.raises(m.LocalProtocolError) as e:
        c.auth(1, 0x19)
    assert e.value.kind == "auth" and e.value.reason_code == 0x82


def test_snapshot_restore_resends_with_dup_MQTT_4_4_0_1() -> None:
    # [MQTT-4.4.0-1] and [MQTT-3.3.1-1]: unacknowledged PUBLISH is re-sent with DUP.
    c = connected(session_expiry_interval=300, client_id="keeper")
    pid = c.publish(1, "a", b"x", qos=1)
    sent(c)
    snap = c.snapshot()
    r = m.Client.restore(10, snap, session_expiry_interval=300, seed=2)
    assert r.client_id == "keeper" and r.state == "closed"
    r.connect(10)
    [connect] = sent(r)
    assert isinstance(connect, m.Connect) and not connect.clean_start
    feed(r, 11, m.Connack(True))
    [again] = sent(r)
    assert isinstance(again, m.Publish) and again.packet_id == pid and again.dup
    feed(r, 12, m.PubAck(again.packet_id or 0))
    assert any(isinstance(e, m.Published) for e in r.events())


def test_session_not_present_drops_messages_in_flight_MQTT_3_2_2_5() -> None:
    c = connected(session_expiry_interval=300, client_id="keeper")
    pid = c.publish(1, "a", b"x", qos=1)
    r = m.Client.restore(10, c.snapshot(), session_expiry_interval=300, seed=2)
    r.connect(10)
    sent(r)
    feed(r, 11, m.Connack(False))
    evs = r.events()
    dropped = [e for e in evs if isinstance(e, m.PublishDropped)]
    assert len(dropped) == 1
    match dropped[0]:
        case m.PublishDropped(packet_id, "a", "session_lost", code):
            assert packet_id == pid and code >= 0x80
        case other:
            pytest.fail(repr(other))


def test_restore_refuses_garbage() -> None:
    with pytest.raises(m.LocalProtocolError) as e:
        m.Client.restore(0, b"not a snapshot")
    assert e.value.kind == "snapshot"


# ----- Request/response, scripted ----------------------------------------------


def test_request_subscribes_then_publishes_and_correlates() -> None:
    c = connected(client_id="req")
    assert c.response_topic == "replies/req"
    rid = c.request(1, "svc/echo", b"ping", timeout_ms=5_000, properties=m.Properties(content_type="text/plain"))
    [sub] = sent(c)
    assert isinstance(sub, m.Subscribe)
    # Not No Local: a client may call a service it serves itself.
    assert [(s.topic_filter, s.no_local) for s in sub.subscriptions] == [("replies/req", False)]
    feed(c, 2, m.Suback(sub.packet_id, [1]))
    [req] = sent(c)
    assert isinstance(req, m.Publish) and req.topic == "svc/echo" and req.qos == 1
    props = req.properties
    assert props.response_topic == "replies/req"
    assert props.correlation_data is not None and len(props.correlation_data) == 16
    assert props.message_expiry_interval == 5
    assert ("rpc-timeout-ms", "5000") in props.user_properties
    assert props.content_type == "text/plain"
    assert req.packet_id is not None
    feed(c, 3, m.PubAck(req.packet_id))
    answer = m.Properties(correlation_data=props.correlation_data, user_properties=[("rpc-status", "200")])
    feed(c, 4, m.Publish("replies/req", b"pong", qos=1, packet_id=1, properties=answer))
    evs = [e for e in c.events() if not isinstance(e, (m.Subscribed, m.Published))]
    assert len(evs) == 2
    match evs:
        case [m.Response(r1, b"pong", 200, None, False), m.RequestDone(r2, "completed", None, 1)]:
            assert r1 == r2 == rid
        case _:
            pytest.fail(repr(evs))
    assert c.rpc_stats["pending"] == 0


def test_request_timeout_ends_once() -> None:
    c = connected(client_id="req")
    rid = c.request(0, "svc", b"", timeout_ms=1_000)
    [sub] = sent(c)
    assert isinstance(sub, m.Subscribe)
    feed(c, 0, m.Suback(sub.packet_id, [1]))
    sent(c)
    c.events()
    assert c.poll_timeout() == 1_000
    c.handle_timeout(1_000)
    [done] = c.events()
    assert done == done and isinstance(done, m.RequestDone)
    assert (done.request_id, done.end, done.responses) == (rid, "timeout", 0)
    with pytest.raises(m.LocalProtocolError) as e:
        c.cancel(2_000, rid)
    assert e.value.kind == "unknown_request"


def test_request_no_responders_from_puback_0x10() -> None:
    c = connected(client_id="req")
    rid = c.request(0, "svc", b"")
    [sub] = sent(c)
    assert isinstance(sub, m.Subscribe)
    feed(c, 0, m.Suback(sub.packet_id, [1]))
    [req] = sent(c)
    assert isinstance(req, m.Publish) and req.packet_id is not None
    feed(c, 1, m.PubAck(req.packet_id, 0x10))
    done = [e for e in c.events() if isinstance(e, m.RequestDone)]
    assert [(d.request_id, d.end) for d in done] == [(rid, "no_responders")]


def test_request_refused_and_subscription_refused_carry_the_code() -> None:
    c = connected(client_id="req")
    rid = c.request(0, "svc", b"")
    [sub] = sent(c)
    assert isinstance(sub, m.Subscribe)
    feed(c, 0, m.Suback(sub.packet_id, [0x87]))
    [done] = [e for e in c.events() if isinstance(e, m.RequestDone)]
    assert (done.request_id, done.end, done.reason_code) == (rid, "subscription_refused", 0x87)


def test_request_cancel() -> None:
    c = connected(client_id="req")
    rid = c.request(0, "svc", b"")
    c.cancel(1, rid)
    done = [e for e in c.events() if isinstance(e, m.RequestDone)]
    assert [(d.request_id, d.end) for d in done] == [(rid, "cancelled")]


def test_request_arguments_are_checked() -> None:
    c = connected(client_id="req")
    with pytest.raises(ValueError):
        c.request(0, "svc", b"", collect="all")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        c.request(0, "svc", b"", max_responses=3)
    with pytest.raises(m.LocalProtocolError) as e:
        c.request(0, "svc/+", b"")
    assert e.value.kind == "invalid" and e.value.reason_code is not None
    assert sent(c) == []


def test_requests_need_a_connection() -> None:
    c = m.Client(0, client_id="x", seed=1)
    with pytest.raises(m.LocalProtocolError) as e:
        c.request(0, "svc", b"")
    assert e.value.kind == "not_connected"


# ----- Request/response between two clients through the broker ----------------


def served_hub() -> tuple[Hub, m.Client, m.Client]:
    hub = Hub()
    server = hub.add("server")
    client = hub.add("client")
    server.serve(hub.now, "svc/echo")
    hub.pump()
    assert [type(e) for e in hub.events("server")] == [m.Connected, m.Subscribed]
    hub.events("client")
    return hub, server, client


def test_request_response_round_trip_between_two_clients() -> None:
    hub, server, client = served_hub()
    rid = client.request(hub.now, "svc/echo", b"hello", timeout_ms=2_000)
    hub.pump()
    [req] = hub.events("server")
    assert isinstance(req, m.Request)
    assert req.payload == b"hello" and req.topic == "svc/echo"
    assert req.response_topic == "replies/client" and req.correlation_data is not None
    assert req.deadline_ms == hub.now + 2_000
    server.respond(hub.now, req.request_id, b"HELLO")
    hub.pump()
    evs = [e for e in hub.events("client") if isinstance(e, (m.Response, m.RequestDone))]
    match evs:
        case [m.Response(r, b"HELLO", 200, None, False), m.RequestDone(r2, "completed", None, 1)]:
            assert r == r2 == rid
        case _:
            pytest.fail(repr(evs))


def test_error_response_carries_status_and_message() -> None:
    hub, server, client = served_hub()
    client.request(hub.now, "svc/echo", b"?")
    hub.pump()
    [req] = hub.events("server")
    assert isinstance(req, m.Request)
    server.respond(hub.now, req.request_id, status=404, message="no such thing")
    hub.pump()
    [resp] = [e for e in hub.events("client") if isinstance(e, m.Response)]
    assert (resp.status, resp.message, resp.payload) == (404, "no such thing", b"")
    with pytest.raises(m.LocalProtocolError) as e:
        server.respond(hub.now, req.request_id, b"again")
    assert e.value.kind == "unknown_request"


def test_streamed_response() -> None:
    hub, server, client = served_hub()
    rid = client.request(hub.now, "svc/echo", b"count", collect="stream")
    hub.pump()
    [req] = hub.events("server")
    assert isinstance(req, m.Request)
    for i in range(3):
        server.respond(hub.now, req.request_id, str(i), more=i < 2)
    hub.pump()
    evs = [e for e in hub.events("client") if isinstance(e, (m.Response, m.RequestDone))]
    assert [(type(e).__name__, getattr(e, "payload", None), getattr(e, "more", None)) for e in evs] == [
        ("Response", b"0", True),
        ("Response", b"1", True),
        ("Response", b"2", False),
        ("RequestDone", None, None),
    ]
    done = evs[-1]
    assert isinstance(done, m.RequestDone) and done.request_id == rid and done.responses == 3


def test_broadcast_query_collects_many_until_quiet() -> None:
    hub = Hub()
    servers = [hub.add(f"s{i}") for i in range(3)]
    for s in servers:
        s.serve(hub.now, "who")
    client = hub.add("client")
    hub.pump()
    rid = client.request(hub.now, "who", b"", timeout_ms=10_000, collect="many", quiet_ms=500)
    hub.pump()
    for i, s in enumerate(servers):
        [req] = [e for e in hub.events(f"s{i}") if isinstance(e, m.Request)]
        s.respond(hub.now, req.request_id, f"s{i}")
    hub.pump()
    assert len([e for e in hub.events("client") if isinstance(e, m.Response)]) == 3
    hub.advance(500)
    [done] = [e for e in hub.events("client") if isinstance(e, m.RequestDone)]
    assert (done.request_id, done.end, done.responses) == (rid, "completed", 3)


def test_shared_group_spreads_requests() -> None:
    hub = Hub()
    a = hub.add("a")
    b = hub.add("b")
    a.serve(hub.now, "svc", group="g")
    b.serve(hub.now, "svc", group="g")
    client = hub.add("client")
    hub.pump()
    sub = hub.broker.conns[0].received
    assert any(
        isinstance(p, m.Subscribe) and p.subscriptions[0].topic_filter == "$share/g/svc" for p in sub
    )
    for _ in range(4):
        client.request(hub.now, "svc", b"")
    hub.pump()
    got = {n: [e for e in hub.events(n) if isinstance(e, m.Request)] for n in ("a", "b")}
    assert len(got["a"]) == 2 and len(got["b"]) == 2


def test_request_to_nobody_ends_no_responders() -> None:
    hub = Hub()
    client = hub.add("client")
    rid = client.request(hub.now, "nobody/home", b"")
    hub.pump()
    [done] = [e for e in hub.events("client") if isinstance(e, m.RequestDone)]
    assert (done.request_id, done.end) == (rid, "no_responders")


def test_late_answer_after_timeout_is_counted() -> None:
    hub, server, client = served_hub()
    client.request(hub.now, "svc/echo", b"", timeout_ms=1_000)
    hub.pump()
    [req] = hub.events("server")
    assert isinstance(req, m.Request)
    hub.advance(1_000)
    [done] = [e for e in hub.events("client") if isinstance(e, m.RequestDone)]
    assert done.end == "timeout"
    # The responder's deadline has passed too: it gives no answer.
    server.respond(hub.now, req.request_id, b"late")
    hub.pump()
    assert server.rpc_stats["expired_requests"] == 1
    assert [e for e in hub.events("client") if isinstance(e, m.Response)] == []


def test_serve_qos_must_match_rpc_qos() -> None:
    c = connected(rpc_qos=1)
    c.serve(0, "a", qos=1)
    with pytest.raises(m.LocalProtocolError) as e:
        c.serve(0, "b", qos=2)
    assert e.value.kind == "not_supported"


def test_unserve_unsubscribes_the_served_filter() -> None:
    c = connected()
    c.serve(0, "svc/+", group="g")
    [sub] = sent(c)
    assert isinstance(sub, m.Subscribe)
    assert [s.topic_filter for s in sub.subscriptions] == ["$share/g/svc/+"]
    with pytest.raises(m.LocalProtocolError) as e:
        c.unserve(0, "svc/+")  # served in group g, not alone
    assert e.value.reason_code == 0x11
    pid = c.unserve(0, "svc/+", group="g")
    [unsub] = sent(c)
    assert isinstance(unsub, m.Unsubscribe) and unsub.packet_id == pid
    assert unsub.topic_filters == ["$share/g/svc/+"]


def test_json_rpc_device_round_trip_over_mqtt_3_1_1() -> None:
    hub = Hub()
    device = hub.add("dev", version=4)
    device.serve_device(hub.now, "lamp-1")
    caller = hub.add("caller", version=4)
    hub.pump()
    hub.events("dev")
    rid = caller.call_device(hub.now, "lamp-1", "set", {"on": True, "level": 0.5}, timeout_ms=3_000)
    hub.pump()
    [req] = [e for e in hub.events("dev") if isinstance(e, m.Request)]
    body = json.loads(req.payload)
    assert body["method"] == "set" and body["params"] == {"on": True, "level": 0.5}
    assert body["id"] == rid and body["jsonrpc"] == "2.0"
    device.respond(hub.now, req.request_id, json.dumps({"ok": True}))
    hub.pump()
    evs = [e for e in hub.events("caller") if isinstance(e, (m.Response, m.RequestDone))]
    assert isinstance(evs[0], m.Response) and json.loads(evs[0].payload)["result"] == {"ok": True}
    assert isinstance(evs[1], m.RequestDone) and evs[1].end == "completed"


def test_call_device_error_answer_is_status_500() -> None:
    hub = Hub()
    device = hub.add("dev")
    device.serve_device(hub.now, "lamp-1")
    caller = hub.add("caller")
    hub.pump()
    hub.events("dev")
    caller.call_device(hub.now, "lamp-1", "explode")
    hub.pump()
    [req] = [e for e in hub.events("dev") if isinstance(e, m.Request)]
    device.respond(hub.now, req.request_id, status=500, message="no")
    hub.pump()
    [resp] = [e for e in hub.events("caller") if isinstance(e, m.Response)]
    assert resp.status == 500 and resp.message == "no"


def test_call_device_checks_its_arguments() -> None:
    c = connected()
    with pytest.raises(m.LocalProtocolError) as e:
        c.call_device(0, "a/b", "m")
    assert e.value.reason_code == 0x90
    with pytest.raises(TypeError):
        c.call_device(0, "dev", "m", {b"bytes": 1})


# ----- Through the broker: QoS both ways, wills --------------------------------


def test_pubsub_qos_both_ways_through_the_broker() -> None:
    hub = Hub()
    sub = hub.add("sub")
    pub = hub.add("pub")
    sub.subscribe(hub.now, [("q/1", 1), ("q/2", 2)])
    hub.pump()
    hub.events("sub")
    i1 = pub.publish(hub.now, "q/1", b"one", qos=1)
    i2 = pub.publish(hub.now, "q/2", b"two", qos=2)
    hub.pump()
    msgs = [(e.topic, e.payload, e.qos) for e in hub.events("sub") if isinstance(e, m.Message)]
    assert msgs == [("q/1", b"one", 1), ("q/2", b"two", 2)]
    done = sorted((e.packet_id, e.qos) for e in hub.events("pub") if isinstance(e, m.Published))
    assert done == sorted([(i1, 1), (i2, 2)])
    assert pub.inflight == 0 and sub.inbound_pending == 0


def test_no_local_subscription_MQTT_3_8_3_3() -> None:
    hub = Hub()
    c = hub.add("c")
    c.subscribe(hub.now, "loop", no_local=True)
    hub.pump()
    c.publish(hub.now, "loop", b"x")
    hub.pump()
    assert [e for e in hub.events("c") if isinstance(e, m.Message)] == []


def test_will_is_published_when_the_connection_breaks() -> None:
    hub = Hub()
    watcher = hub.add("watcher")
    watcher.subscribe(hub.now, "status/#")
    hub.add("dev", will=m.Will("status/dev", b"offline", qos=1))
    hub.pump()
    hub.events("watcher")
    hub.drop("dev")
    msgs = [e for e in hub.events("watcher") if isinstance(e, m.Message)]
    assert [(x.topic, x.payload) for x in msgs] == [("status/dev", b"offline")]
    ev = hub.events("dev")[-1]
    assert isinstance(ev, m.Disconnected) and ev.cause == "connection_lost"


def test_event_reprs_and_equality() -> None:
    a = m.Message("t", b"x", 1, False, False, 3)
    b = m.Message("t", "x", 1, packet_id=3)
    assert a == b and a != m.Message("t", b"y")
    assert repr(a).startswith("Message(topic='t', payload=b'x', qos=1")
    assert m.Connected() == m.Connected(False, None)
    assert "Client" in repr(m.Client(0, client_id="r", seed=1))
