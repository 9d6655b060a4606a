//! Session tests on simulated time: resuming a session after a cut, losing
//! it, snapshots across a restart, and the offline queue.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing
#![allow(clippy::field_reassign_with_default)] // properties are built field by field, as users do

use mqtt_engine::client::{
    Client, DisconnectCause, DropReason, Event, LocalErrorKind, Options, State,
};
use mqtt_engine::codec::{
    Packet, Properties, Protocol, PubAck, Publish, QoS, ReasonCode, Subscribe, Subscription,
};
use mqtt_engine_testkit::pair::Pair;

fn persistent(protocol: Protocol) -> Options {
    Options {
        protocol,
        client_id: "dev-1".into(),
        session_expiry_interval: 3600,
        // 3.1.1 keeps a session only with Clean Session 0.
        clean_start: protocol == Protocol::V5,
        ..Options::default()
    }
}

fn msg(topic: &'static str, qos: QoS) -> Publish {
    let mut m = Publish::new(topic, topic.as_bytes());
    m.qos = qos;
    m
}

/// Three flows cut at different stages: QoS 1 unacked, QoS 2 PUBREC'd, QoS 2
/// unacked.
fn three_flows_then_cut(p: &mut Pair) -> (u16, u16, u16) {
    let a = p.client.publish(p.now, msg("a", QoS::AtLeastOnce)).unwrap().unwrap();
    let b = p.client.publish(p.now, msg("b", QoS::ExactlyOnce)).unwrap().unwrap();
    let c = p.client.publish(p.now, msg("c", QoS::ExactlyOnce)).unwrap().unwrap();
    assert_eq!(p.recv_all().len(), 3);
    p.send(Packet::Pubrec(PubAck::new(b)));
    assert_eq!(p.expect(), Packet::Pubrel(PubAck::new(b)));
    p.cut();
    let events = p.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected(d)] if d.cause == DisconnectCause::ConnectionLost)
    );
    assert_eq!(p.client.inflight(), 3, "session state survives the connection");
    (a, b, c)
}

/// [MQTT-4.4.0-1] With Session Present, unacknowledged PUBLISH (DUP set,
/// [MQTT-3.3.1-1]) and PUBREL are re-sent with their original identifiers, in
/// the original order [MQTT-4.6.0-1]; a QoS 2 message that had its PUBREC
/// resumes with PUBREL, not PUBLISH [MQTT-4.3.3-6].
#[test]
fn resume_resends_publish_and_pubrel_in_order_mqtt_4_4_0_1_4_6_0_1() {
    for protocol in [Protocol::V5, Protocol::V311] {
        let mut p = Pair::connected(persistent(protocol), Properties::default());
        let (a, b, c) = three_flows_then_cut(&mut p);
        let connect = p.connect_with(Properties::default(), true);
        assert!(!connect.clean_start, "{protocol:?}: asks to resume");
        let resent = p.recv_all();
        let summary: Vec<(String, Option<u16>, bool)> = resent
            .iter()
            .map(|pk| match pk {
                Packet::Publish(m) => (m.topic.to_string(), m.packet_id, m.dup),
                Packet::Pubrel(r) => ("PUBREL".into(), Some(r.packet_id), false),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a".into(), Some(a), true),
                ("PUBREL".into(), Some(b), false),
                ("c".into(), Some(c), true),
            ],
            "{protocol:?}"
        );
        // The flows then complete normally.
        p.send(Packet::Puback(PubAck::new(a)));
        p.send(Packet::Pubcomp(PubAck::new(b)));
        p.send(Packet::Pubrec(PubAck::new(c)));
        p.send(Packet::Pubcomp(PubAck::new(c)));
        let done: Vec<u16> = p
            .take_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Published(x) => Some(x.packet_id),
                _ => None,
            })
            .collect();
        assert_eq!(done, vec![a, b, c]);
        assert_eq!(p.client.inflight(), 0);
    }
}

/// [MQTT-3.3.2-7] A message first sent with a Topic Alias (topic empty) is
/// re-sent with its topic name and no alias on the new connection.
#[test]
fn replay_carries_the_topic_name_not_the_alias_mqtt_3_3_2_7() {
    let mut props = Properties::default();
    props.topic_alias_maximum = Some(5);
    let mut p = Pair::connected(persistent(Protocol::V5), props);
    p.client.publish(p.now, msg("long/topic/name", QoS::AtMostOnce)).unwrap();
    let id = p.client.publish(p.now, msg("long/topic/name", QoS::AtLeastOnce)).unwrap().unwrap();
    let sent = p.recv_all();
    let Packet::Publish(second) = &sent[1] else { panic!() };
    assert_eq!((second.topic.as_str(), second.properties.topic_alias), ("", Some(1)));
    p.cut();
    p.take_events();
    p.connect_with(Properties::default(), true);
    let Packet::Publish(resent) = p.expect() else { panic!() };
    assert_eq!(resent.packet_id, Some(id));
    assert_eq!(resent.topic, "long/topic/name");
    assert_eq!(resent.properties.topic_alias, None);
    assert!(resent.dup);
}

/// [MQTT-3.2.2-5] Session Present 0 when we hold state: the state is
/// discarded and every message in flight is reported lost, nothing re-sent.
#[test]
fn session_not_present_discards_and_reports_each_message_mqtt_3_2_2_5() {
    let mut p = Pair::connected(persistent(Protocol::V5), Properties::default());
    let (a, b, c) = three_flows_then_cut(&mut p);
    p.client.connect(p.now).unwrap();
    p.expect();
    p.send(mqtt_engine::codec::Connack::default());
    let events = p.take_events();
    let lost: Vec<(Option<u16>, DropReason)> = events
        .iter()
        .filter_map(|e| match e {
            Event::PublishDropped(d) => Some((d.packet_id, d.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        vec![
            (Some(a), DropReason::SessionLost),
            (Some(b), DropReason::SessionLost),
            (Some(c), DropReason::SessionLost)
        ]
    );
    assert!(matches!(events.last(), Some(Event::Connected(c)) if !c.session_present));
    p.expect_silence();
    assert_eq!(p.client.inflight(), 0);
    // Identifiers are free again.
    assert_eq!(p.client.publish(p.now, msg("d", QoS::AtLeastOnce)).unwrap(), Some(1));
}

/// Session Expiry 0 (5.0) or Clean Session 1 (3.1.1): the session ends with
/// the connection, its messages are reported lost at once and the next
/// CONNECT starts clean.
#[test]
fn a_session_that_cannot_survive_is_discarded_at_the_cut() {
    for protocol in [Protocol::V5, Protocol::V311] {
        let opts =
            Options { session_expiry_interval: 0, clean_start: true, ..persistent(protocol) };
        let mut p = Pair::connected(opts, Properties::default());
        let id = p.client.publish(p.now, msg("a", QoS::AtLeastOnce)).unwrap();
        p.recv_all();
        p.cut();
        let events = p.take_events();
        assert!(
            matches!(&events[..], [Event::PublishDropped(d), Event::Disconnected(_)] if d.packet_id == id),
            "{protocol:?}: {events:?}"
        );
        let c = p.connect_with(Properties::default(), false);
        assert!(c.clean_start);
    }
}

/// A CONNACK Session Expiry Interval overrides ours: 0 from the server means
/// the session does not outlive the connection.
#[test]
fn server_session_expiry_overrides_ours() {
    let mut props = Properties::default();
    props.session_expiry_interval = Some(0);
    let mut p = Pair::connected(persistent(Protocol::V5), props);
    assert_eq!(p.client.server().session_expiry_interval, 0);
    p.cut();
    p.take_events();
    let c = p.connect_with(Properties::default(), false);
    assert!(c.clean_start);
}

/// Inbound QoS 2 state survives a cut: a re-delivery of a message received
/// before the cut is acknowledged, not delivered twice, and its PUBREL
/// completes it [MQTT-4.3.3-10].
#[test]
fn inbound_qos2_is_not_delivered_twice_across_a_resume_mqtt_4_3_3_10() {
    let mut p = Pair::connected(persistent(Protocol::V5), Properties::default());
    let mut m = msg("in", QoS::ExactlyOnce);
    m.packet_id = Some(7);
    p.send(m.clone());
    assert!(matches!(p.event(), Event::Message(_)));
    // The PUBREC is lost with the connection.
    p.cut();
    p.take_events();
    p.connect_with(Properties::default(), true);
    m.dup = true;
    p.send(m);
    assert!(p.take_events().is_empty(), "no second delivery");
    assert_eq!(p.expect(), Packet::Pubrec(PubAck::new(7)));
    p.send(Packet::Pubrel(PubAck::new(7)));
    assert_eq!(p.expect(), Packet::Pubcomp(PubAck::new(7)));
}

/// A device that restarts: the snapshot taken before the power cut restores
/// the session in a new Client, which resumes it and re-sends what was in
/// flight, and still recognises an inbound QoS 2 re-delivery.
#[test]
fn snapshot_restores_a_session_after_a_restart() {
    let opts = persistent(Protocol::V5);
    let mut p = Pair::connected(opts.clone(), Properties::default());
    let (a, b, c) = three_flows_then_cut(&mut p);
    let mut inbound = msg("in", QoS::ExactlyOnce);
    inbound.packet_id = Some(9);
    // (received on an earlier connection; simulate it with a fresh connection)
    p.connect_with(Properties::default(), true);
    p.recv_all();
    p.send(inbound.clone());
    p.take_events();
    p.recv_all();
    let snapshot = p.client.snapshot();

    // Power cut: a new process with a new Client.
    let restored = Client::restore(opts.clone(), p.now, &snapshot).unwrap();
    assert_eq!(restored.state(), State::Closed);
    assert_eq!(restored.inflight(), 3);
    let mut q = Pair::new(opts);
    q.client = restored;
    let c2 = q.connect_with(Properties::default(), true);
    assert!(!c2.clean_start, "a restored session asks to resume");
    let resent: Vec<u16> = q
        .recv_all()
        .iter()
        .map(|pk| match pk {
            Packet::Publish(m) => {
                assert!(m.dup);
                m.packet_id.unwrap()
            }
            Packet::Pubrel(r) => r.packet_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(resent, vec![a, b, c]);
    inbound.dup = true;
    q.send(inbound);
    assert!(q.take_events().is_empty(), "the restored client knows message 9");
    assert_eq!(q.expect(), Packet::Pubrec(PubAck::new(9)));
}

/// A snapshot that is not one, truncated, or for the other protocol is
/// refused with a clear error, never a panic.
#[test]
fn bad_snapshots_are_refused() {
    let opts = persistent(Protocol::V5);
    let mut p = Pair::connected(opts.clone(), Properties::default());
    three_flows_then_cut(&mut p);
    let good = p.client.snapshot();
    for n in 0..good.len() {
        let e = Client::restore(opts.clone(), p.now, &good[..n]).unwrap_err();
        assert_eq!(e.kind, LocalErrorKind::Snapshot);
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(Client::restore(opts.clone(), p.now, &longer).is_err());
    let v311 = Options { protocol: Protocol::V311, ..opts.clone() };
    assert!(Client::restore(v311, p.now, &good).is_err());
    let mut flipped = good.clone();
    flipped[0] ^= 0xFF;
    assert!(Client::restore(opts.clone(), p.now, &flipped).is_err());
    assert!(Client::restore(opts, p.now, &good).is_ok());
}

/// With offline_queue, commands while closed are queued and go, in order,
/// once connected (subscriptions before the messages); without it they are
/// refused.
#[test]
fn offline_queue_sends_in_order_after_connect() {
    let mut p = Pair::new(Options { offline_queue: true, ..persistent(Protocol::V5) });
    assert_eq!(p.client.publish(p.now, msg("a", QoS::AtMostOnce)).unwrap(), None);
    let id = p.client.publish(p.now, msg("b", QoS::AtLeastOnce)).unwrap().unwrap();
    let sub = p
        .client
        .subscribe(p.now, Subscribe::new(vec![Subscription::new("s", QoS::AtLeastOnce)]))
        .unwrap();
    assert_eq!(p.client.queued(), 3);
    p.expect_silence();
    p.connect_with(Properties::default(), false);
    let sent = p.recv_all();
    assert!(matches!(&sent[0], Packet::Subscribe(s) if s.packet_id == sub));
    assert!(matches!(&sent[1], Packet::Publish(m) if m.topic == "a"));
    assert!(matches!(&sent[2], Packet::Publish(m) if m.packet_id == Some(id)));
    assert_eq!(p.client.queued(), 0);
}

/// Messages queued before CONNACK that the server's limits turn out not to
/// allow are reported, not sent.
#[test]
fn queued_messages_beyond_server_limits_are_reported() {
    let mut p = Pair::new(Options { offline_queue: true, ..persistent(Protocol::V5) });
    let id = p.client.publish(p.now, msg("a", QoS::ExactlyOnce)).unwrap();
    let mut props = Properties::default();
    props.maximum_qos = Some(1);
    p.connect_with(props, false);
    let events = p.take_events();
    assert!(matches!(&events[..], [Event::PublishDropped(d)]
        if d.packet_id == id && d.reason == DropReason::NotAllowed && d.reason_code == ReasonCode::QOS_NOT_SUPPORTED));
    p.expect_silence();
}

/// A SUBSCRIBE sent but not acknowledged when the connection broke goes again
/// on the next connection, with its identifier.
#[test]
fn unacknowledged_subscribe_is_sent_again_after_reconnect() {
    let mut p = Pair::connected(persistent(Protocol::V5), Properties::default());
    let id = p
        .client
        .subscribe(p.now, Subscribe::new(vec![Subscription::new("s/#", QoS::ExactlyOnce)]))
        .unwrap();
    p.recv_all();
    p.cut();
    p.take_events();
    p.connect_with(Properties::default(), true);
    assert!(matches!(p.expect(), Packet::Subscribe(s) if s.packet_id == id));
}

/// Resume many times over with random cuts: every QoS 1/2 message completes
/// exactly once, in order of first publication, whatever stage the cut hit.
#[test]
fn repeated_cuts_lose_nothing() {
    let mut p = Pair::connected(persistent(Protocol::V5), Properties::default());
    let mut rng = 99u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut published = Vec::new();
    let mut completed = Vec::new();
    for round in 0..300 {
        if round < 200 {
            let qos = if next() % 2 == 0 { QoS::AtLeastOnce } else { QoS::ExactlyOnce };
            published.push(p.client.publish(p.now, msg("t", qos)).unwrap().unwrap());
        }
        for packet in p.recv_all() {
            if next() % 3 == 0 {
                continue; // the broker "misses" this packet's answer
            }
            match packet {
                Packet::Publish(m) if m.qos == QoS::AtLeastOnce => {
                    p.send(Packet::Puback(PubAck::new(m.packet_id.unwrap())))
                }
                Packet::Publish(m) => p.send(Packet::Pubrec(PubAck::new(m.packet_id.unwrap()))),
                Packet::Pubrel(r) => p.send(Packet::Pubcomp(PubAck::new(r.packet_id))),
                _ => {}
            }
        }
        for e in p.take_events() {
            if let Event::Published(x) = e {
                completed.push(x.packet_id);
            }
        }
        if next() % 4 == 0 || round >= 200 {
            p.cut();
            p.take_events();
            p.connect_with(Properties::default(), true);
        }
    }
    assert_eq!(p.client.inflight(), 0, "everything completed");
    // Identifiers are reused once free, so compare them as multisets.
    published.sort_unstable();
    completed.sort_unstable();
    assert_eq!(completed, published, "each flow completed exactly once");
}

/// A reconnect attempt that fails before CONNACK does not end the session:
/// the next attempt still asks to resume and re-sends what was in flight.
#[test]
fn a_failed_reconnect_attempt_keeps_the_session() {
    let mut p = Pair::connected(persistent(Protocol::V5), Properties::default());
    let id = p.client.publish(p.now, msg("a", QoS::AtLeastOnce)).unwrap().unwrap();
    p.recv_all();
    p.cut();
    p.client.connect(p.now).unwrap();
    p.expect();
    p.jump_to_timeout(); // no CONNACK: the attempt times out
    let events = p.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected(_), Event::Disconnected(d)]
        if d.cause == DisconnectCause::ConnectTimeout),
        "{events:?}"
    );
    p.reset_broker();
    let c = p.connect_with(Properties::default(), true);
    assert!(!c.clean_start);
    assert!(matches!(p.expect(), Packet::Publish(m) if m.packet_id == Some(id) && m.dup));
}
