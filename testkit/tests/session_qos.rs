//! Session tests on simulated time: QoS 0/1/2 both ways, acks in order,
//! Receive Maximum both ways, topic aliases both ways, (un)subscriptions.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing
#![allow(clippy::field_reassign_with_default)] // properties are built field by field, as users do

use mqtt_engine::client::{Event, LocalErrorKind, Options, State};
use mqtt_engine::codec::{
    Packet, Properties, Protocol, PubAck, Publish, QoS, ReasonCode, RetainHandling, Suback,
    Subscribe, Subscription, Unsuback, Unsubscribe,
};
use mqtt_engine_testkit::pair::{Pair, Split};

fn v5() -> Options {
    Options { client_id: "c1".into(), ..Options::default() }
}

fn msg(topic: &'static str, qos: QoS) -> Publish {
    let mut m = Publish::new(topic, &b"payload"[..]);
    m.qos = qos;
    m
}

fn inbound(topic: &'static str, qos: QoS, id: u16) -> Publish {
    let mut m = msg(topic, qos);
    m.packet_id = (qos != QoS::AtMostOnce).then_some(id);
    m
}

fn published(p: &Publish) -> (QoS, bool, Option<u16>) {
    (p.qos, p.dup, p.packet_id)
}

fn expect_publish(p: &mut Pair) -> Publish {
    match p.expect() {
        Packet::Publish(m) => m,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// [MQTT-4.3.1-1] QoS 0: one PUBLISH, DUP 0, no identifier, no event after.
#[test]
fn qos0_publish_is_sent_once_with_dup_0_mqtt_4_3_1_1() {
    let mut p = Pair::connected(v5(), Properties::default());
    assert_eq!(p.client.publish(p.now, msg("t", QoS::AtMostOnce)).unwrap(), None);
    let m = expect_publish(&mut p);
    assert_eq!(published(&m), (QoS::AtMostOnce, false, None));
    assert!(p.take_events().is_empty());
    assert_eq!(p.client.inflight(), 0);
}

/// [MQTT-4.3.2-1] an unused identifier, [MQTT-4.3.2-2] DUP 0, [MQTT-4.3.2-3]
/// unacknowledged until PUBACK, whose reason code is reported.
#[test]
fn qos1_flow_until_puback_mqtt_4_3_2_1_2_3() {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.publish(p.now, msg("t", QoS::AtLeastOnce)).unwrap().unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(published(&m), (QoS::AtLeastOnce, false, Some(id)));
    assert_eq!(p.client.inflight(), 1);
    let mut ack = PubAck::new(id);
    ack.reason_code = ReasonCode::NO_MATCHING_SUBSCRIBERS;
    ack.properties.reason_string = Some("nobody".into());
    p.send(Packet::Puback(ack));
    let Event::Published(done) = p.event() else { panic!() };
    assert_eq!(done.packet_id, id);
    assert_eq!(done.reason_code, ReasonCode::NO_MATCHING_SUBSCRIBERS);
    assert_eq!(done.reason_string.as_deref(), Some("nobody"));
    assert_eq!(p.client.inflight(), 0);
}

/// QoS 2: PUBLISH with an unused identifier and DUP 0 [MQTT-4.3.3-1],
/// [MQTT-4.3.3-2], unacknowledged until PUBREC [MQTT-4.3.3-3], PUBREC answered
/// by PUBREL with the same identifier [MQTT-4.3.3-4], unacknowledged until
/// PUBCOMP [MQTT-4.3.3-5]; the PUBLISH is never sent again after PUBREL
/// [MQTT-4.3.3-6]. The session state is kept while connected [MQTT-4.1.0-1].
#[test]
fn qos2_flow_publish_pubrec_pubrel_pubcomp_mqtt_4_3_3_1_to_6() {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.publish(p.now, msg("t", QoS::ExactlyOnce)).unwrap().unwrap();
    assert_eq!(published(&expect_publish(&mut p)), (QoS::ExactlyOnce, false, Some(id)));
    p.send(Packet::Pubrec(PubAck::new(id)));
    assert_eq!(p.expect(), Packet::Pubrel(PubAck::new(id)));
    assert!(p.take_events().is_empty(), "not complete before PUBCOMP");
    // A repeated PUBREC gets PUBREL again, never the PUBLISH.
    p.send(Packet::Pubrec(PubAck::new(id)));
    assert_eq!(p.expect(), Packet::Pubrel(PubAck::new(id)));
    p.send(Packet::Pubcomp(PubAck::new(id)));
    let Event::Published(done) = p.event() else { panic!() };
    assert_eq!(
        (done.packet_id, done.qos, done.reason_code),
        (id, QoS::ExactlyOnce, ReasonCode::SUCCESS)
    );
    assert_eq!(p.client.inflight(), 0);
}

/// [MQTT-4.4.0-2] A PUBREC with an error ends the flow: reported, quota
/// released, no PUBREL, never re-sent.
#[test]
fn pubrec_with_error_ends_the_flow_mqtt_4_4_0_2() {
    let opts = v5();
    let mut props = Properties::default();
    props.receive_maximum = Some(1);
    let mut p = Pair::connected(opts, props);
    let a = p.client.publish(p.now, msg("t", QoS::ExactlyOnce)).unwrap().unwrap();
    let b = p.client.publish(p.now, msg("t", QoS::ExactlyOnce)).unwrap().unwrap();
    assert_eq!(p.recv_all().len(), 1, "quota 1: the second waits");
    let mut rec = PubAck::new(a);
    rec.reason_code = ReasonCode::QUOTA_EXCEEDED;
    p.send(Packet::Pubrec(rec));
    let Event::Published(done) = p.event() else { panic!() };
    assert_eq!((done.packet_id, done.reason_code), (a, ReasonCode::QUOTA_EXCEEDED));
    let next = expect_publish(&mut p);
    assert_eq!(next.packet_id, Some(b), "the freed quota sends the next message, no PUBREL");
    p.expect_silence();
}

/// PUBREC for an identifier we do not hold gets PUBREL 0x92.
#[test]
fn pubrec_for_unknown_identifier_gets_pubrel_0x92() {
    let mut p = Pair::connected(v5(), Properties::default());
    p.send(Packet::Pubrec(PubAck::new(77)));
    let Packet::Pubrel(r) = p.expect() else { panic!() };
    assert_eq!((r.packet_id, r.reason_code), (77, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND));
    assert_eq!(p.client.stats().unknown_acks, 1);
    assert!(p.client.is_connected());
}

/// A PUBACK for a QoS 2 message is a Protocol Error.
#[test]
fn puback_for_qos2_message_is_a_protocol_error() {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.publish(p.now, msg("t", QoS::ExactlyOnce)).unwrap().unwrap();
    p.recv_all();
    p.send(Packet::Puback(PubAck::new(id)));
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
    assert_eq!(p.client.state(), State::Closed);
}

/// [MQTT-4.3.2-1], [MQTT-4.3.3-1] Identifiers in use never collide, whatever
/// order acks come in; a freed one may be reused.
#[test]
fn packet_identifiers_never_collide_mqtt_4_3_2_1() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut live = std::collections::BTreeSet::new();
    let mut rng = 12345u64;
    for round in 0..2000 {
        let qos = if round % 3 == 0 { QoS::ExactlyOnce } else { QoS::AtLeastOnce };
        let id = p.client.publish(p.now, msg("t", qos)).unwrap().unwrap();
        assert_ne!(id, 0);
        assert!(live.insert((id, qos)), "identifier {id} handed out twice");
        if round % 4 == 3 {
            let id = p
                .client
                .subscribe(p.now, Subscribe::new(vec![Subscription::new("x", QoS::AtMostOnce)]))
                .unwrap();
            assert!(!live.iter().any(|&(l, _)| l == id), "SUBSCRIBE reused {id}");
            p.send(Suback {
                packet_id: id,
                reason_codes: vec![ReasonCode::SUCCESS],
                ..Suback::default()
            });
        }
        p.recv_all();
        // Acknowledge a pseudo-random live message half of the time.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if rng % 2 == 0 {
            let pick = *live.iter().nth((rng / 2) as usize % live.len()).unwrap();
            live.remove(&pick);
            match pick.1 {
                QoS::AtLeastOnce => p.send(Packet::Puback(PubAck::new(pick.0))),
                _ => {
                    p.send(Packet::Pubrec(PubAck::new(pick.0)));
                    p.send(Packet::Pubcomp(PubAck::new(pick.0)));
                }
            }
        }
    }
    assert_eq!(p.client.inflight(), live.len());
    assert!(p.errors.is_empty());
}

/// [MQTT-4.3.2-4] inbound QoS 1 gets PUBACK, whatever the application does
/// with it [MQTT-4.5.0-2]; [MQTT-4.3.2-5] after it the same identifier is a
/// new message.
#[test]
fn inbound_qos1_is_acked_and_identifier_reusable_mqtt_4_3_2_4_5() {
    let mut p = Pair::connected(v5(), Properties::default());
    p.send(inbound("a", QoS::AtLeastOnce, 9));
    assert!(matches!(p.event(), Event::Message(m) if m.topic == "a"));
    assert_eq!(p.expect(), Packet::Puback(PubAck::new(9)));
    let mut again = inbound("a", QoS::AtLeastOnce, 9);
    again.dup = true;
    p.send(again);
    assert!(matches!(p.event(), Event::Message(_)), "a new message after PUBACK");
    assert_eq!(p.expect(), Packet::Puback(PubAck::new(9)));
}

/// [MQTT-4.3.3-8] PUBREC, [MQTT-4.3.3-10] a re-delivery before PUBREL is
/// acknowledged again and not delivered twice, [MQTT-4.3.3-11] PUBREL gets
/// PUBCOMP, [MQTT-4.3.3-12] after it the identifier is a new message.
#[test]
fn inbound_qos2_exactly_once_mqtt_4_3_3_8_10_11_12() {
    let mut p = Pair::connected(v5(), Properties::default());
    p.send(inbound("a", QoS::ExactlyOnce, 5));
    assert!(matches!(p.event(), Event::Message(_)));
    assert_eq!(p.expect(), Packet::Pubrec(PubAck::new(5)));
    let mut dup = inbound("a", QoS::ExactlyOnce, 5);
    dup.dup = true;
    p.send(dup);
    assert!(p.take_events().is_empty(), "not delivered twice");
    assert_eq!(p.expect(), Packet::Pubrec(PubAck::new(5)));
    assert_eq!(p.client.stats().duplicate_qos2, 1);
    p.send(Packet::Pubrel(PubAck::new(5)));
    assert_eq!(p.expect(), Packet::Pubcomp(PubAck::new(5)));
    p.send(inbound("a", QoS::ExactlyOnce, 5));
    assert!(matches!(p.event(), Event::Message(_)), "a new message after PUBCOMP");
}

/// PUBREL for an identifier we do not hold gets PUBCOMP 0x92 (5.0).
#[test]
fn pubrel_for_unknown_identifier_gets_pubcomp_0x92() {
    let mut p = Pair::connected(v5(), Properties::default());
    p.send(Packet::Pubrel(PubAck::new(3)));
    let Packet::Pubcomp(c) = p.expect() else { panic!() };
    assert_eq!(c.reason_code, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND);
}

/// [MQTT-4.6.0-2], [MQTT-4.6.0-3] In manual-ack mode acks still go out in
/// arrival order, whatever order the application acks in.
#[test]
fn manual_acks_go_out_in_arrival_order_mqtt_4_6_0_2_3() {
    let mut p = Pair::connected(Options { manual_ack: true, ..v5() }, Properties::default());
    p.send(inbound("a", QoS::AtLeastOnce, 1));
    p.send(inbound("b", QoS::ExactlyOnce, 2));
    p.send(inbound("c", QoS::AtLeastOnce, 3));
    assert_eq!(p.take_events().len(), 3);
    p.expect_silence();
    p.client.ack(p.now, 3).unwrap();
    p.expect_silence();
    p.client.ack(p.now, 2).unwrap();
    p.expect_silence();
    p.client.ack(p.now, 1).unwrap();
    assert_eq!(
        p.recv_all(),
        vec![
            Packet::Puback(PubAck::new(1)),
            Packet::Pubrec(PubAck::new(2)),
            Packet::Puback(PubAck::new(3)),
        ]
    );
    assert_eq!(p.client.ack(p.now, 1).unwrap_err().kind, LocalErrorKind::UnknownPacketId);
}

/// [MQTT-4.3.3-9] A QoS 2 message refused with an error PUBREC: the same
/// identifier is then a new message.
#[test]
fn refused_qos2_frees_its_identifier_mqtt_4_3_3_9() {
    let mut p = Pair::connected(Options { manual_ack: true, ..v5() }, Properties::default());
    p.send(inbound("a", QoS::ExactlyOnce, 4));
    p.take_events();
    p.client.ack_with(p.now, 4, ReasonCode::NOT_AUTHORIZED).unwrap();
    let Packet::Pubrec(r) = p.expect() else { panic!() };
    assert_eq!(r.reason_code, ReasonCode::NOT_AUTHORIZED);
    p.send(inbound("a", QoS::ExactlyOnce, 4));
    assert!(matches!(p.event(), Event::Message(_)));
}

/// [MQTT-3.3.4-7], [MQTT-4.9.0-1], [MQTT-4.9.0-2] No more QoS 1/2 in flight
/// than the server's Receive Maximum; the rest wait in order (QoS 0 behind them too) and go as
/// acks free the quota. [MQTT-3.3.4-8], [MQTT-4.9.0-3] other packets are not
/// held back.
#[test]
fn receive_maximum_quota_queues_in_order_mqtt_3_3_4_7_8() {
    let mut props = Properties::default();
    props.receive_maximum = Some(2);
    let mut p = Pair::connected(Options { keep_alive: 10, ..v5() }, props);
    let a = p.client.publish(p.now, msg("a", QoS::AtLeastOnce)).unwrap().unwrap();
    let b = p.client.publish(p.now, msg("b", QoS::ExactlyOnce)).unwrap().unwrap();
    let c = p.client.publish(p.now, msg("c", QoS::AtLeastOnce)).unwrap().unwrap();
    assert_eq!(p.client.publish(p.now, msg("d", QoS::AtMostOnce)).unwrap(), None);
    let sent = p.recv_all();
    assert_eq!(sent.len(), 2);
    assert_eq!(p.client.queued(), 2);
    // SUBSCRIBE and PINGREQ are not delayed by the quota.
    p.client
        .subscribe(p.now, Subscribe::new(vec![Subscription::new("s", QoS::AtLeastOnce)]))
        .unwrap();
    assert!(matches!(p.expect(), Packet::Subscribe(_)));
    p.jump_to_timeout();
    assert_eq!(p.expect(), Packet::Pingreq);
    p.send(Packet::Puback(PubAck::new(a)));
    let next = p.recv_all();
    assert_eq!(next.len(), 2, "c and the QoS 0 behind it");
    let Packet::Publish(m) = &next[0] else { panic!() };
    assert_eq!((m.topic.as_str(), m.packet_id), ("c", Some(c)));
    let Packet::Publish(m) = &next[1] else { panic!() };
    assert_eq!(m.topic, "d");
    assert_eq!(p.client.inflight(), 2);
    p.send(Packet::Pubrec(PubAck::new(b)));
    assert_eq!(p.expect(), Packet::Pubrel(PubAck::new(b)));
}

/// The queue of waiting messages is bounded: beyond it a command is refused
/// and nothing changes.
#[test]
fn waiting_queue_is_bounded() {
    let mut props = Properties::default();
    props.receive_maximum = Some(1);
    let mut p = Pair::connected(Options { max_queued: 2, ..v5() }, props);
    for _ in 0..3 {
        p.client.publish(p.now, msg("t", QoS::AtLeastOnce)).unwrap();
    }
    let e = p.client.publish(p.now, msg("t", QoS::AtLeastOnce)).unwrap_err();
    assert_eq!(e.kind, LocalErrorKind::QueueFull);
    assert_eq!((p.client.inflight(), p.client.queued()), (1, 2));
}

/// Inbound Receive Maximum: more unacknowledged QoS 1/2 messages than we
/// announced is answered with DISCONNECT 0x93 [MQTT-3.3.4-9].
#[test]
fn inbound_receive_maximum_exceeded_disconnects_0x93_mqtt_3_3_4_9() {
    let opts = Options { manual_ack: true, receive_maximum: 2, ..v5() };
    let mut p = Pair::connected(opts, Properties::default());
    p.send(inbound("a", QoS::AtLeastOnce, 1));
    p.send(inbound("b", QoS::ExactlyOnce, 2));
    assert!(p.errors.is_empty());
    p.send(inbound("c", QoS::AtLeastOnce, 3));
    assert_eq!(p.errors[0].reason_code(), ReasonCode::RECEIVE_MAXIMUM_EXCEEDED);
    let Packet::Disconnect(d) = p.expect() else { panic!() };
    assert_eq!(d.reason_code, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED);
}

/// Acked messages no longer count towards our Receive Maximum.
#[test]
fn inbound_quota_is_released_by_acks() {
    let mut p = Pair::connected(Options { receive_maximum: 1, ..v5() }, Properties::default());
    for id in 1..=5 {
        p.send(inbound("a", QoS::AtLeastOnce, id));
    }
    assert!(p.errors.is_empty());
    assert_eq!(p.recv_all().len(), 5);
}

/// Outbound topic aliases: the first use carries topic and alias, later uses
/// the alias alone; never 0 [MQTT-3.3.2-8], never above the server's maximum
/// [MQTT-3.2.2-17], [MQTT-3.3.2-9].
#[test]
fn outbound_topic_aliases_within_server_maximum_mqtt_3_2_2_17_3_3_2_8_9() {
    let mut props = Properties::default();
    props.topic_alias_maximum = Some(2);
    let mut p = Pair::connected(v5(), props);
    let mut seen = Vec::new();
    for topic in ["a/1", "a/1", "b/2", "c/3", "b/2", "c/3"] {
        p.client.publish(p.now, msg(topic, QoS::AtMostOnce)).unwrap();
        let m = expect_publish(&mut p);
        seen.push((m.topic.to_string(), m.properties.topic_alias));
    }
    assert_eq!(
        seen,
        vec![
            ("a/1".into(), Some(1)),
            ("".into(), Some(1)),
            ("b/2".into(), Some(2)),
            ("c/3".into(), None),
            ("".into(), Some(2)),
            ("c/3".into(), None),
        ]
    );
}

/// [MQTT-3.2.2-18] No Topic Alias Maximum from the server: no aliases.
#[test]
fn no_aliases_without_server_topic_alias_maximum_mqtt_3_2_2_18() {
    let mut p = Pair::connected(v5(), Properties::default());
    for _ in 0..3 {
        p.client.publish(p.now, msg("a", QoS::AtMostOnce)).unwrap();
        let m = expect_publish(&mut p);
        assert_eq!((m.topic.as_str(), m.properties.topic_alias), ("a", None));
    }
}

/// Inbound topic aliases are resolved; 0, above our maximum or never
/// established is DISCONNECT 0x94 [MQTT-3.3.2-10].
#[test]
fn inbound_topic_aliases_resolved_and_validated_mqtt_3_3_2_10() {
    let with_alias = |topic: &'static str, alias: u16| {
        let mut m = inbound(topic, QoS::AtMostOnce, 0);
        m.properties.topic_alias = Some(alias);
        m
    };
    let opts = Options { topic_alias_maximum: 3, ..v5() };
    let mut p = Pair::connected(opts.clone(), Properties::default());
    p.send(with_alias("x/y", 3));
    p.send(with_alias("", 3));
    let topics: Vec<String> = p
        .take_events()
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => m.topic.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(topics, ["x/y", "x/y"]);
    for (topic, alias) in [("", 2), ("t", 4)] {
        let mut p = Pair::connected(opts.clone(), Properties::default());
        p.send(with_alias(topic, alias));
        assert_eq!(p.errors[0].reason_code(), ReasonCode::TOPIC_ALIAS_INVALID, "{topic:?} {alias}");
        let Packet::Disconnect(d) = p.expect() else { panic!() };
        assert_eq!(d.reason_code, ReasonCode::TOPIC_ALIAS_INVALID);
    }
    // Alias 0 is refused by the codec as a forbidden property value
    // [MQTT-3.3.2-8]: Protocol Error. The PUBLISH is built by hand because the
    // codec will not encode it.
    let mut p = Pair::connected(opts, Properties::default());
    p.send_raw(&[0x30, 0x07, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x00]);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
    let Packet::Disconnect(d) = p.expect() else { panic!() };
    assert_eq!(d.reason_code, ReasonCode::PROTOCOL_ERROR);
}

/// [MQTT-3.3.2-7] Inbound aliases do not survive the connection.
#[test]
fn inbound_aliases_do_not_survive_a_reconnect_mqtt_3_3_2_7() {
    let opts = Options { topic_alias_maximum: 3, session_expiry_interval: 60, ..v5() };
    let mut p = Pair::connected(opts, Properties::default());
    let mut m = inbound("x", QoS::AtMostOnce, 0);
    m.properties.topic_alias = Some(1);
    p.send(m);
    p.cut();
    p.take_events();
    p.connect_with(Properties::default(), true);
    let mut m = inbound("", QoS::AtMostOnce, 0);
    m.properties.topic_alias = Some(1);
    p.send(m);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::TOPIC_ALIAS_INVALID);
}

/// SUBSCRIBE with every option and a Subscription Identifier; SUBACK codes
/// surface per filter, in order.
#[test]
fn subscribe_with_all_options_and_suback_codes() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut s1 = Subscription::new("a/+", QoS::ExactlyOnce);
    s1.no_local = true;
    s1.retain_as_published = true;
    s1.retain_handling = RetainHandling::DoNotSend;
    let s2 = Subscription::new("$share/g/b/#", QoS::AtLeastOnce);
    let mut sub = Subscribe::new(vec![s1.clone(), s2.clone()]);
    sub.properties.subscription_identifiers = vec![42];
    sub.properties.user_properties.push(("k".into(), "v".into()));
    let id = p.client.subscribe(p.now, sub).unwrap();
    let Packet::Subscribe(sent) = p.expect() else { panic!() };
    assert_eq!(sent.packet_id, id);
    assert_eq!(sent.filters, vec![s1, s2]);
    assert_eq!(sent.properties.subscription_identifiers, vec![42]);
    p.send(Suback {
        packet_id: id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_2, ReasonCode::NOT_AUTHORIZED],
        ..Suback::default()
    });
    let Event::Subscribed(acked) = p.event() else { panic!() };
    assert_eq!(acked.packet_id, id);
    assert_eq!(acked.reason_codes, vec![ReasonCode::GRANTED_QOS_2, ReasonCode::NOT_AUTHORIZED]);
}

/// Bad filters and options the server does not support are refused locally:
/// [MQTT-4.7.1-1], [MQTT-4.7.1-2], [MQTT-4.8.2-1], [MQTT-4.8.2-2],
/// [MQTT-3.8.3-4] No Local on a shared subscription, and the server's
/// wildcard / shared / Subscription Identifier availability.
#[test]
fn subscribe_refusals_mqtt_4_7_1_1_4_8_2_1_3_8_3_4() {
    let mut props = Properties::default();
    props.wildcard_subscription_available = Some(0);
    props.shared_subscription_available = Some(0);
    props.subscription_identifiers_available = Some(0);
    let mut p = Pair::connected(v5(), props);
    let one = |f: &'static str| Subscribe::new(vec![Subscription::new(f, QoS::AtMostOnce)]);
    let cases: Vec<(Subscribe, ReasonCode)> = vec![
        (one("a/#/b"), ReasonCode::TOPIC_FILTER_INVALID),
        (one("a+"), ReasonCode::TOPIC_FILTER_INVALID),
        (one("$share//a"), ReasonCode::TOPIC_FILTER_INVALID),
        (one(""), ReasonCode::TOPIC_FILTER_INVALID),
        (Subscribe::new(vec![]), ReasonCode::PROTOCOL_ERROR),
        (
            {
                let mut s = Subscription::new("$share/g/a", QoS::AtMostOnce);
                s.no_local = true;
                Subscribe::new(vec![s])
            },
            ReasonCode::PROTOCOL_ERROR,
        ),
        (one("a/+"), ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED),
        (one("$share/g/a"), ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED),
        (
            {
                let mut s = one("a");
                s.properties.subscription_identifiers = vec![1];
                s
            },
            ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
        ),
    ];
    for (sub, code) in cases {
        let e = p.client.subscribe(p.now, sub.clone()).unwrap_err();
        assert_eq!(e.reason_code, code, "{sub:?}");
    }
    p.expect_silence();
}

/// [MQTT-3.8.4-2], [MQTT-3.8.4-6] A SUBACK for no SUBSCRIBE of ours, or with
/// the wrong number of codes, is a Protocol Error.
#[test]
fn bad_suback_is_a_protocol_error_mqtt_3_8_4_2_6() {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p
        .client
        .subscribe(p.now, Subscribe::new(vec![Subscription::new("a", QoS::AtMostOnce)]))
        .unwrap();
    p.recv_all();
    p.send(Suback {
        packet_id: id,
        reason_codes: vec![ReasonCode::SUCCESS; 2],
        ..Suback::default()
    });
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
    let mut p = Pair::connected(v5(), Properties::default());
    p.send(Suback { packet_id: 9, reason_codes: vec![ReasonCode::SUCCESS], ..Suback::default() });
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
}

/// UNSUBSCRIBE and UNSUBACK with the same identifier [MQTT-3.10.4-4],
/// [MQTT-3.10.4-5], one code per filter in order [MQTT-3.11.3-1], both
/// versions (3.1.1 has no codes: all Success).
#[test]
fn unsubscribe_and_unsuback_both_versions() {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.unsubscribe(p.now, Unsubscribe::new(vec!["a".into(), "b/#".into()])).unwrap();
    let Packet::Unsubscribe(u) = p.expect() else { panic!() };
    assert_eq!(u.filters.len(), 2);
    p.send(Unsuback {
        packet_id: id,
        reason_codes: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
        ..Unsuback::default()
    });
    let Event::Unsubscribed(a) = p.event() else { panic!() };
    assert_eq!(a.reason_codes[1], ReasonCode::NO_SUBSCRIPTION_EXISTED);

    let mut p =
        Pair::connected(Options { protocol: Protocol::V311, ..v5() }, Properties::default());
    let id = p.client.unsubscribe(p.now, Unsubscribe::new(vec!["a".into(), "b".into()])).unwrap();
    p.recv_all();
    p.send(Unsuback { packet_id: id, ..Unsuback::default() });
    let Event::Unsubscribed(a) = p.event() else { panic!() };
    assert_eq!(a.reason_codes, vec![ReasonCode::SUCCESS; 2]);
}

/// A publish must not carry a Subscription Identifier [MQTT-3.3.4-6] or a
/// Topic Alias (the engine assigns those).
#[test]
fn publish_with_subscription_identifier_or_alias_is_refused_mqtt_3_3_4_6() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut m = msg("t", QoS::AtMostOnce);
    m.properties.subscription_identifiers = vec![1];
    assert_eq!(p.client.publish(p.now, m).unwrap_err().reason_code, ReasonCode::PROTOCOL_ERROR);
    let mut m = msg("t", QoS::AtMostOnce);
    m.properties.topic_alias = Some(1);
    assert_eq!(p.client.publish(p.now, m).unwrap_err().kind, LocalErrorKind::Invalid);
    p.expect_silence();
}

/// The event queue is bounded: with events undrained, input is refused and
/// nothing is consumed; once drained, the same bytes are accepted.
#[test]
fn undrained_events_refuse_input_without_losing_it() {
    let mut p = Pair::connected(Options { max_events: 2, ..v5() }, Properties::default());
    let mut bytes = Vec::new();
    for _ in 0..3 {
        Packet::Publish(inbound("a", QoS::AtMostOnce, 0)).encode(Protocol::V5, &mut bytes).unwrap();
    }
    let now = p.now;
    p.client.handle_bytes(now, &bytes).unwrap();
    let more = p.client.handle_bytes(now, &bytes).unwrap_err();
    assert_eq!(more.reason_code(), ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR);
    let mut n = 0;
    while p.client.poll_event().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    p.client.handle_bytes(now, &bytes).unwrap();
    let mut n = 0;
    while p.client.poll_event().is_some() {
        n += 1;
    }
    assert_eq!(n, 3, "the refused bytes were not consumed: sent again, all arrive");
}

/// The same exchange gives the same events however the links split the bytes.
#[test]
fn any_split_of_the_stream_gives_the_same_session() {
    let run = |split: Split| {
        let mut p = Pair::with_split(Options { keep_alive: 5, ..v5() }, split);
        let mut props = Properties::default();
        props.topic_alias_maximum = Some(4);
        props.receive_maximum = Some(3);
        p.connect_with(props, false);
        for i in 0..10u16 {
            let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][usize::from(i % 3)];
            p.client.publish(p.now, msg("t/x", qos)).unwrap();
            p.send(inbound("in/y", qos, i + 1));
        }
        let mut trace = Vec::new();
        for _ in 0..40 {
            for packet in p.recv_all() {
                trace.push(format!("{packet:?}"));
                match packet {
                    Packet::Publish(m) if m.qos == QoS::AtLeastOnce => {
                        p.send(Packet::Puback(PubAck::new(m.packet_id.unwrap())))
                    }
                    Packet::Publish(m) if m.qos == QoS::ExactlyOnce => {
                        p.send(Packet::Pubrec(PubAck::new(m.packet_id.unwrap())))
                    }
                    Packet::Pubrel(a) => p.send(Packet::Pubcomp(PubAck::new(a.packet_id))),
                    Packet::Pubrec(a) => p.send(Packet::Pubrel(PubAck::new(a.packet_id))),
                    Packet::Pingreq => p.send(Packet::Pingresp),
                    _ => {}
                }
            }
            p.advance(1000);
        }
        let events: Vec<String> = p.take_events().iter().map(|e| format!("{e:?}")).collect();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        (trace, events)
    };
    let whole = run(Split::Whole);
    // 10 messages in, and the 6 QoS 1/2 flows out completed.
    assert_eq!(whole.1.len(), 16, "{:#?}", whole.1);
    assert_eq!(run(Split::Fixed(1)), whole);
    for seed in 1..20 {
        assert_eq!(run(Split::Random(seed)), whole, "seed {seed}");
    }
}

/// [MQTT-3.2.2-15] A Topic Alias adds bytes: a message that fits the server's
/// Maximum Packet Size only without one is sent without one, and no alias is
/// established for its topic.
#[test]
fn no_alias_when_it_would_exceed_the_maximum_packet_size_mqtt_3_2_2_15() {
    let plain = msg("t/x", QoS::AtMostOnce);
    let size = Packet::Publish(plain.clone()).encoded_len(Protocol::V5).unwrap() as u32;
    let mut props = Properties::default();
    props.topic_alias_maximum = Some(4);
    props.maximum_packet_size = Some(size);
    let mut p = Pair::connected(v5(), props);
    for _ in 0..2 {
        p.client.publish(p.now, plain.clone()).unwrap();
        let m = expect_publish(&mut p);
        assert_eq!((m.topic.as_str(), m.properties.topic_alias), ("t/x", None));
    }
    // A shorter message on another topic still gets an alias.
    p.client.publish(p.now, Publish::new("t/y", &b""[..])).unwrap();
    assert_eq!(expect_publish(&mut p).properties.topic_alias, Some(1));
}

/// inbound_pending counts received QoS 1 / 2 messages until their flow ends:
/// QoS 1 until our PUBACK, QoS 2 until our PUBCOMP.
#[test]
fn inbound_pending_counts_flows_until_they_end() {
    let mut p = Pair::connected(Options { manual_ack: true, ..v5() }, Properties::default());
    p.send(inbound("a", QoS::AtLeastOnce, 1));
    p.send(inbound("b", QoS::ExactlyOnce, 2));
    assert_eq!(p.client.inbound_pending(), 2);
    p.client.ack(p.now, 1).unwrap();
    assert_eq!(p.client.inbound_pending(), 1);
    p.client.ack(p.now, 2).unwrap();
    assert_eq!(p.client.inbound_pending(), 1, "PUBREC sent, PUBREL not yet received");
    p.send(Packet::Pubrel(PubAck::new(2)));
    assert_eq!(p.client.inbound_pending(), 0);
    assert_eq!(p.recv_all().last(), Some(&Packet::Pubcomp(PubAck::new(2))));
}

/// [MQTT-4.6.0-4] PUBREL goes in the order the PUBRECs arrived, not the order
/// the messages were sent.
#[test]
fn pubrel_in_pubrec_order_mqtt_4_6_0_4() {
    let mut p = Pair::connected(v5(), Properties::default());
    let a = p.client.publish(p.now, msg("a", QoS::ExactlyOnce)).unwrap().unwrap();
    let b = p.client.publish(p.now, msg("b", QoS::ExactlyOnce)).unwrap().unwrap();
    p.recv_all();
    p.send(Packet::Pubrec(PubAck::new(b)));
    p.send(Packet::Pubrec(PubAck::new(a)));
    assert_eq!(p.recv_all(), vec![Packet::Pubrel(PubAck::new(b)), Packet::Pubrel(PubAck::new(a))]);
}

/// [MQTT-3.3.1-3] DUP is set by whether our PUBLISH is a re-send, nothing
/// else: a message handed in with DUP set goes out with DUP 0.
#[test]
fn dup_is_ours_to_set_mqtt_3_3_1_3() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut m = msg("t", QoS::AtLeastOnce);
    m.dup = true;
    p.client.publish(p.now, m).unwrap();
    assert!(!expect_publish(&mut p).dup);
}
