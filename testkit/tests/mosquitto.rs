//! The client session against a real mosquitto broker: connect options,
//! CONNACK limits, QoS 0/1/2 both ways, retained messages, the will, session
//! takeover, authentication. Each test starts its own broker on a free
//! loopback port with a generated configuration (see `testkit::mosquitto`).
//!
//! Test names end with the normative statement they check where one applies.

// A failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mqtt_engine::client::{Client, DisconnectCause, Event, LocalErrorKind, Options};
use mqtt_engine::codec::{
    ByteStr, Disconnect, Protocol, QoS, ReasonCode, RetainHandling, Subscription, Unsubscribe, Will,
};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::mosquitto::Mosquitto;
use mqtt_engine_testkit::net::Driver;
use std::process::Command;

const LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

#[test]
fn connect_clean_start_session_not_present_mqtt_3_2_2_2() {
    let _d = Deadline::new("connect_clean_start_session_not_present_mqtt_3_2_2_2", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let id = format!("plain-{}", tag(p));
        let mut c = Driver::new(broker.port(), opts(&id, p));
        let connected = c.connect();
        assert!(!connected.session_present, "{p:?}");
        assert!(c.client().is_connected());
        c.disconnect(ReasonCode::SUCCESS);
        assert!(!c.client().is_connected());
        wait_log(&broker, &format!("Client {id} disconnected."), secs(5));
    }
}

#[test]
fn assigned_client_identifier_for_empty_id_mqtt_3_2_2_16() {
    let _d = Deadline::new("assigned_client_identifier_for_empty_id_mqtt_3_2_2_16", LIMIT);
    let broker = Mosquitto::start("");
    let mut c = Driver::new(broker.port(), opts("", Protocol::V5));
    let connected = c.connect();
    let assigned = connected.properties.assigned_client_identifier.clone().expect("an assigned id");
    assert!(!assigned.is_empty());
    assert_eq!(c.client().client_id(), &assigned);
    assert_eq!(c.client().server().assigned_client_identifier.as_ref(), Some(&assigned));
    // 3.1.1: a zero-byte ClientId with Clean Session 1 is accepted, no id is reported.
    let mut c = Driver::new(broker.port(), opts("", Protocol::V311));
    c.connect();
    assert!(c.client().client_id().is_empty());
}

#[test]
fn session_resumes_with_subscription_and_queued_message_mqtt_3_2_2_3() {
    let _d =
        Deadline::new("session_resumes_with_subscription_and_queued_message_mqtt_3_2_2_3", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("resume/{}", tag(p));
        let id = format!("resumer-{}", tag(p));
        let mut sub = connected(&broker, persistent(&id, p));
        sub.subscribe(&topic, QoS::AtLeastOnce);
        sub.disconnect(ReasonCode::SUCCESS);
        wait_log(&broker, &format!("Client {id} disconnected."), secs(5));
        // Published while the subscriber is away: the broker queues it in the session.
        let mut publ = connected(&broker, opts(&format!("pub-{}", tag(p)), p));
        publ.publish(msg(&topic, "while away", QoS::AtLeastOnce));
        let again = sub.reconnect();
        assert!(again.session_present, "{p:?}: the session was kept [MQTT-3.1.2-23]");
        let m = sub.next_message(secs(5));
        assert_eq!(text(&m), "while away");
        assert_eq!(m.qos, QoS::AtLeastOnce);
    }
}

#[test]
fn clean_start_discards_session_mqtt_3_1_2_4() {
    let _d = Deadline::new("clean_start_discards_session_mqtt_3_1_2_4", LIMIT);
    let broker = Mosquitto::start("");
    let mut sub = connected(&broker, persistent("cleaner", Protocol::V5));
    sub.subscribe("clean/t", QoS::AtLeastOnce);
    sub.disconnect(ReasonCode::SUCCESS);
    wait_log(&broker, "Client cleaner disconnected.", secs(5));
    // A new client with the same identifier and Clean Start 1.
    let mut fresh = Driver::new(broker.port(), opts("cleaner", Protocol::V5));
    assert!(!fresh.connect().session_present);
    // The subscription went with the session: nobody matches any more.
    let mut publ = connected(&broker, opts("clean-pub", Protocol::V5));
    let done = publ.publish(msg("clean/t", "x", QoS::AtLeastOnce)).unwrap();
    assert_eq!(done.reason_code, ReasonCode::NO_MATCHING_SUBSCRIBERS);
}

/// The limits mosquitto announces in CONNACK are read, and a command beyond
/// them is refused locally with the server's reason code, sending nothing.
#[test]
fn connack_limits_honoured_locally_mqtt_3_2_2_9_3_2_2_14_3_2_2_15() {
    let _d = Deadline::new("connack_limits_honoured_locally_mqtt_3_2_2_9_3_2_2_14_3_2_2_15", LIMIT);
    let broker = Mosquitto::start(
        "max_inflight_messages 3\nmax_packet_size 2048\nmax_keepalive 10\nmax_qos 1\n\
         retain_available false\nmax_topic_alias 2\n",
    );
    let mut c = connected(&broker, opts("limited", Protocol::V5));
    let s = c.client().server().clone();
    assert_eq!(s.receive_maximum, 3);
    assert_eq!(s.maximum_packet_size, Some(2048));
    assert_eq!(s.keep_alive, 10, "Server Keep Alive replaces our 60 [MQTT-3.2.2-21]");
    assert_eq!(s.maximum_qos, QoS::AtLeastOnce);
    assert!(!s.retain_available);
    assert_eq!(s.topic_alias_maximum, 2);

    let sent = c.bytes_out();
    let e = c.try_publish(msg("lim/t", "q2", QoS::ExactlyOnce)).unwrap_err();
    assert_eq!(
        (e.kind, e.reason_code),
        (LocalErrorKind::NotSupported, ReasonCode::QOS_NOT_SUPPORTED)
    );
    let mut retained = msg("lim/t", "r", QoS::AtMostOnce);
    retained.retain = true;
    let e = c.try_publish(retained).unwrap_err();
    assert_eq!(
        (e.kind, e.reason_code),
        (LocalErrorKind::NotSupported, ReasonCode::RETAIN_NOT_SUPPORTED)
    );
    let e = c.try_publish(msg("lim/t", vec![b'x'; 3000], QoS::AtLeastOnce)).unwrap_err();
    assert_eq!(
        (e.kind, e.reason_code),
        (LocalErrorKind::NotSupported, ReasonCode::PACKET_TOO_LARGE)
    );
    assert_eq!(c.bytes_out(), sent, "a refused command sends nothing");
    assert!(c.client().is_connected());

    // [MQTT-3.2.2-10]: a QoS 2 subscription is still accepted (granted QoS 1),
    // and what the limits allow goes through.
    let acked = c.subscribe("lim/#", QoS::ExactlyOnce);
    assert_eq!(acked.reason_codes, vec![ReasonCode(1)]);
    let done = c.publish(msg("lim/t", vec![b'y'; 1900], QoS::AtLeastOnce)).unwrap();
    assert_eq!(done.reason_code, ReasonCode::SUCCESS);
    assert_eq!(c.next_message(secs(5)).payload.len(), 1900);
}

/// Keep Alive: the Server Keep Alive is the one in effect; with a short one
/// of our own the client sends PINGREQ when idle and stays connected.
#[test]
fn keep_alive_pings_when_idle_mqtt_3_1_2_20_mqtt_3_2_2_21() {
    let _d = Deadline::new("keep_alive_pings_when_idle_mqtt_3_1_2_20_mqtt_3_2_2_21", LIMIT);
    let broker = Mosquitto::start("max_keepalive 10\n");
    let c = connected(&broker, opts("ka-server", Protocol::V5));
    let due = c.client().poll_timeout().unwrap().as_millis() - c.now().as_millis();
    assert!((9_000..=10_000).contains(&due), "next PINGREQ in {due} ms, not 10 s");
    // Both protocols at once, each on its own thread (real time passes).
    std::thread::scope(|scope| {
        for p in PROTOCOLS {
            let broker = &broker;
            scope.spawn(move || {
                let o = Options { keep_alive: 1, ..opts(&format!("ka-{}", tag(p)), p) };
                let mut c = connected(broker, o);
                c.run_for(ms(2_600));
                assert!(c.packets_in(13) >= 2, "{p:?}: {} PINGRESP in 2.6 s", c.packets_in(13));
                assert!(c.client().is_connected(), "{p:?}");
                // Still usable.
                c.subscribe("ka/t", QoS::AtLeastOnce);
            });
        }
    });
}

/// QoS 0, 1 and 2 both ways between two of our clients: every combination of
/// publish QoS and subscription QoS arrives once, at the lower of the two.
#[test]
fn qos_0_1_2_both_ways_delivered_at_min_qos_mqtt_3_3_4_1() {
    let _d = Deadline::new("qos_0_1_2_both_ways_delivered_at_min_qos_mqtt_3_3_4_1", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let mut sub = connected(&broker, opts(&format!("qsub-{}", tag(p)), p));
        let mut publ = connected(&broker, opts(&format!("qpub-{}", tag(p)), p));
        for s in QOS {
            let acked = sub.subscribe(&format!("q/{}/{}", tag(p), s as u8), s);
            assert_eq!(acked.reason_codes, vec![ReasonCode(s as u8)]);
        }
        for s in QOS {
            for q in QOS {
                let topic = format!("q/{}/{}", tag(p), s as u8);
                let mut m = msg(&topic, format!("{} {}", s as u8, q as u8), q);
                if p == Protocol::V5 {
                    m.properties.user_properties = vec![
                        ("k".into(), "1".into()),
                        ("a".into(), "2".into()),
                        ("k".into(), "3".into()),
                    ];
                }
                let done = publ.publish(m);
                assert_eq!(done.is_some(), q != QoS::AtMostOnce);
                if let Some(done) = done {
                    assert_eq!(done.reason_code, ReasonCode::SUCCESS);
                    assert_eq!(done.qos, q);
                }
                let got = sub.next_message(secs(5));
                assert_eq!(got.topic, topic.as_str());
                assert_eq!(text(&got), format!("{} {}", s as u8, q as u8));
                assert_eq!(got.qos, s.min(q), "{p:?} sub {s:?} pub {q:?}");
                assert!(!got.dup && !got.retain);
                if p == Protocol::V5 {
                    // [MQTT-3.3.2-17], [MQTT-3.3.2-18]: unaltered, in order.
                    let props: Vec<(&str, &str)> = got
                        .properties
                        .user_properties
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    assert_eq!(props, vec![("k", "1"), ("a", "2"), ("k", "3")]);
                }
            }
        }
        assert_eq!(sub.client().stats().duplicate_qos2, 0);
    }
}

#[test]
fn puback_no_matching_subscribers_is_success_0x10() {
    let _d = Deadline::new("puback_no_matching_subscribers_is_success_0x10", LIMIT);
    let broker = Mosquitto::start("");
    let mut c = connected(&broker, opts("lonely", Protocol::V5));
    let done = c.publish(msg("nobody/listens", "x", QoS::AtLeastOnce)).unwrap();
    assert_eq!(done.reason_code, ReasonCode::NO_MATCHING_SUBSCRIBERS);
    assert!(!done.reason_code.is_error());
    let done = c.publish(msg("nobody/listens", "x", QoS::ExactlyOnce)).unwrap();
    assert!(!done.reason_code.is_error());
    assert_eq!(c.client().inflight(), 0);
}

/// Receive Maximum from CONNACK caps the messages in flight; the rest wait
/// in order and all arrive, in order.
#[test]
fn receive_maximum_caps_inflight_in_order_mqtt_3_3_4_7_mqtt_4_6_0_5() {
    let _d =
        Deadline::new("receive_maximum_caps_inflight_in_order_mqtt_3_3_4_7_mqtt_4_6_0_5", LIMIT);
    let broker = Mosquitto::start("max_inflight_messages 2\n");
    let mut sub = connected(&broker, opts("rm-sub", Protocol::V5));
    sub.subscribe("rm/t", QoS::ExactlyOnce);
    let mut publ = connected(&broker, opts("rm-pub", Protocol::V5));
    assert_eq!(publ.client().server().receive_maximum, 2);
    let mut ids = Vec::new();
    for i in 0..30 {
        let q = if i % 2 == 0 { QoS::AtLeastOnce } else { QoS::ExactlyOnce };
        let id = publ.try_publish(msg("rm/t", format!("{i}"), q)).unwrap().unwrap();
        ids.push((q, id));
        assert!(publ.client().inflight() <= 2, "{} in flight", publ.client().inflight());
    }
    let mut done = Vec::new();
    while done.len() < ids.len() {
        let p = publ.run_until(secs(10), |e| match e {
            Event::Published(p) => Some(p.clone()),
            _ => None,
        });
        assert!(publ.client().inflight() <= 2);
        assert_eq!(p.reason_code, ReasonCode::SUCCESS);
        done.push((p.qos, p.packet_id));
    }
    for q in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let sent: Vec<_> = ids.iter().filter(|(x, _)| *x == q).collect();
        let ended: Vec<_> = done.iter().filter(|(x, _)| *x == q).collect();
        assert_eq!(ended, sent, "{q:?} flows end in the order the messages were published");
    }
    // [MQTT-4.6.0-5]: in order per topic and QoS.
    let got: Vec<_> = (0..30).map(|_| sub.next_message(secs(5))).collect();
    for q in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let seen: Vec<String> = got.iter().filter(|m| m.qos == q).map(text).collect();
        let sent: Vec<String> = (0..30)
            .filter(|i| (i % 2 == 0) == (q == QoS::AtLeastOnce))
            .map(|i| i.to_string())
            .collect();
        assert_eq!(seen, sent, "{q:?}");
    }
}

/// Our Receive Maximum bounds what the broker sends us unacknowledged: the
/// first window holds exactly two messages and nothing more comes until we
/// ack. After acks, mosquitto 2.0.11 releases two messages per PUBACK (a
/// broker defect); the engine must then report the violation precisely, as
/// DISCONNECT 0x93, rather than accept a third unacknowledged message. A
/// broker without the defect delivers all six in order.
#[test]
fn our_receive_maximum_bounds_broker_or_0x93_reported_mqtt_3_3_4_9() {
    let _d =
        Deadline::new("our_receive_maximum_bounds_broker_or_0x93_reported_mqtt_3_3_4_9", LIMIT);
    let broker = Mosquitto::start("");
    let o = Options { receive_maximum: 2, manual_ack: true, ..opts("rm-small", Protocol::V5) };
    let mut sub = connected(&broker, o);
    sub.subscribe("rmx/t", QoS::AtLeastOnce);
    let mut publ = connected(&broker, opts("rmx-pub", Protocol::V5));
    for i in 0..6 {
        publ.publish(msg("rmx/t", format!("{i}"), QoS::AtLeastOnce));
    }
    let mut got = Vec::new();
    let mut unacked = Vec::new();
    while got.len() < 6 {
        let next = sub.run_until(secs(5), |e| match e {
            Event::Message(m) => Some(Ok(m.clone())),
            Event::Disconnected(d) => Some(Err(d.clone())),
            _ => None,
        });
        match next {
            Ok(m) => {
                got.push(text(&m));
                unacked.push(m.packet_id.unwrap());
            }
            Err(d) => {
                assert_eq!(d.cause, DisconnectCause::ProtocolViolation, "{d:?}");
                assert_eq!(d.reason_code, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED, "{d:?}");
                assert_eq!(unacked.len(), 2, "reported only when a third was unacknowledged");
                assert!(got.len() >= 2);
                return;
            }
        }
        if unacked.len() == 2 {
            if got.len() == 2 {
                // The first window: the broker must wait for an ack.
                sub.run_for(ms(200));
                assert!(sub.take_messages().is_empty(), "a third message before any ack");
            }
            let acked = unacked.iter().all(|&id| sub.cmd(|c, now| c.ack(now, id)).is_ok());
            if acked {
                unacked.clear();
            } else {
                // The engine has closed meanwhile: its Disconnected event is next.
                assert!(!sub.client().is_connected());
            }
        }
    }
    assert_eq!(got, ["0", "1", "2", "3", "4", "5"]);
}

/// The broker honours the Maximum Packet Size we announce: a larger message
/// is dropped for us, a smaller one after it arrives.
#[test]
fn announced_maximum_packet_size_server_discards_larger_mqtt_3_1_2_24_mqtt_3_1_2_25() {
    let _d = Deadline::new(
        "announced_maximum_packet_size_server_discards_larger_mqtt_3_1_2_24_mqtt_3_1_2_25",
        LIMIT,
    );
    let broker = Mosquitto::start("");
    let o = Options { maximum_packet_size: 512, ..opts("small-pkts", Protocol::V5) };
    let mut sub = connected(&broker, o);
    sub.subscribe("mps/t", QoS::AtLeastOnce);
    let mut publ = connected(&broker, opts("mps-pub", Protocol::V5));
    publ.publish(msg("mps/t", vec![b'x'; 1000], QoS::AtLeastOnce));
    publ.publish(msg("mps/t", "small", QoS::AtLeastOnce));
    assert_eq!(text(&sub.next_message(secs(5))), "small");
    assert!(sub.client().is_connected());
}

/// Outbound Topic Aliases stay within the server's Topic Alias Maximum (the
/// broker would disconnect with 0x94 otherwise) and every message reaches the
/// subscriber under its own topic.
#[test]
fn topic_aliases_within_server_maximum_mqtt_3_2_2_17_mqtt_3_3_2_9() {
    let _d = Deadline::new("topic_aliases_within_server_maximum_mqtt_3_2_2_17_mqtt_3_3_2_9", LIMIT);
    let broker = Mosquitto::start("max_topic_alias 2\n");
    let mut sub = connected(&broker, opts("alias-sub", Protocol::V5));
    sub.subscribe("alias/#", QoS::AtLeastOnce);
    let mut publ = connected(&broker, opts("alias-pub", Protocol::V5));
    let topics = ["alias/a/long/topic/name", "alias/b", "alias/c", "alias/a/long/topic/name"];
    let mut expect = Vec::new();
    for round in 0..3 {
        for (i, t) in topics.iter().enumerate() {
            let q = QOS[(round + i) % 3];
            publ.publish(msg(t, format!("{round}-{i}"), q));
            expect.push((t.to_string(), format!("{round}-{i}")));
        }
    }
    for (t, body) in expect {
        let m = sub.next_message(secs(5));
        assert_eq!((m.topic.as_str(), text(&m).as_str()), (t.as_str(), body.as_str()));
    }
    assert!(publ.client().is_connected(), "{}", broker.log());
}

#[test]
fn retained_message_replaced_and_sent_to_new_subscriber_mqtt_3_3_1_5_mqtt_3_3_1_9() {
    let _d = Deadline::new(
        "retained_message_replaced_and_sent_to_new_subscriber_mqtt_3_3_1_5_mqtt_3_3_1_9",
        LIMIT,
    );
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("ret/{}", tag(p));
        let mut publ = connected(&broker, opts(&format!("ret-pub-{}", tag(p)), p));
        for body in ["first", "second"] {
            let mut m = msg(&topic, body, QoS::AtLeastOnce);
            m.retain = true;
            publ.publish(m);
        }
        // [MQTT-3.3.1-8]: a non-retained message leaves the retained one alone.
        publ.publish(msg(&topic, "live", QoS::AtLeastOnce));
        let mut sub = connected(&broker, opts(&format!("ret-sub-{}", tag(p)), p));
        sub.subscribe(&topic, QoS::AtLeastOnce);
        let m = sub.next_message(secs(5));
        assert_eq!(text(&m), "second");
        assert!(m.retain, "a retained message sent for a new subscription has RETAIN 1");
        assert_next_is_marker(&broker, &mut sub, &topic, p);
        // [MQTT-3.3.1-6], [MQTT-3.3.1-7]: an empty retained message clears it.
        let mut clear = msg(&topic, "", QoS::AtLeastOnce);
        clear.retain = true;
        publ.publish(clear);
        let _ = sub.next_message(secs(5)); // the clearing message itself, live
        let mut later = connected(&broker, opts(&format!("ret-later-{}", tag(p)), p));
        later.subscribe(&topic, QoS::AtLeastOnce);
        assert_next_is_marker(&broker, &mut later, &topic, p);
    }
}

#[test]
fn retain_handling_and_retain_as_published_mqtt_3_3_1_11_mqtt_3_3_1_12_mqtt_3_3_1_13() {
    let _d = Deadline::new(
        "retain_handling_and_retain_as_published_mqtt_3_3_1_11_mqtt_3_3_1_12_mqtt_3_3_1_13",
        LIMIT,
    );
    let broker = Mosquitto::start("");
    let mut publ = connected(&broker, opts("rh-pub", Protocol::V5));
    let mut r = msg("rh/t", "stored", QoS::AtLeastOnce);
    r.retain = true;
    publ.publish(r.clone());
    // Retain Handling 2: no retained message at subscribe time.
    let mut sub = connected(&broker, opts("rh-sub", Protocol::V5));
    sub.subscribe_with(Subscription {
        retain_handling: RetainHandling::DoNotSend,
        ..Subscription::new("rh/t", QoS::AtLeastOnce)
    });
    assert_next_is_marker(&broker, &mut sub, "rh/t", Protocol::V5);
    // Retain As Published 0: a live retained message is forwarded with RETAIN 0.
    publ.publish(r.clone());
    assert!(!sub.next_message(secs(5)).retain);
    // Retain As Published 1: with RETAIN as sent.
    let mut rap = connected(&broker, opts("rh-rap", Protocol::V5));
    rap.subscribe_with(Subscription {
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
        ..Subscription::new("rh/t", QoS::AtLeastOnce)
    });
    publ.publish(r);
    assert!(rap.next_message(secs(5)).retain);
}

/// A will with properties, as the watcher should see it.
fn will(topic: &str, p: Protocol) -> Will {
    let mut w = Will {
        topic: topic.to_owned().into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    };
    if p == Protocol::V5 {
        w.properties.content_type = Some("text/plain".into());
        w.properties.response_topic = Some("will/reply".into());
        w.properties.correlation_data = Some(Bytes::from_static(&[0, 1, 2, 0xFF]));
        w.properties.user_properties =
            vec![("who".into(), "me".into()), ("who".into(), "again".into())];
    }
    w
}

fn check_will(m: &mqtt_engine::codec::Publish, p: Protocol) {
    assert_eq!(text(m), "gone");
    if p == Protocol::V5 {
        let props = &m.properties;
        assert_eq!(props.content_type.as_deref(), Some("text/plain"));
        assert_eq!(props.response_topic.as_deref(), Some("will/reply"));
        assert_eq!(props.correlation_data.as_deref(), Some(&[0u8, 1, 2, 0xFF][..]));
        let ups: Vec<(ByteStr, ByteStr)> =
            vec![("who".into(), "me".into()), ("who".into(), "again".into())];
        assert_eq!(props.user_properties, ups, "[MQTT-3.1.3-10]");
    }
}

#[test]
fn will_published_on_abrupt_close_mqtt_3_1_2_8() {
    let _d = Deadline::new("will_published_on_abrupt_close_mqtt_3_1_2_8", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("will/cut/{}", tag(p));
        let mut watcher = connected(&broker, opts(&format!("watch-cut-{}", tag(p)), p));
        watcher.subscribe(&topic, QoS::AtLeastOnce);
        let o = Options { will: Some(will(&topic, p)), ..opts(&format!("dies-{}", tag(p)), p) };
        let mut dying = connected(&broker, o);
        let d = dying.cut().unwrap();
        assert_eq!(d.cause, DisconnectCause::ConnectionLost);
        let m = watcher.next_message(secs(5));
        check_will(&m, p);
        assert!(!m.retain, "[MQTT-3.1.2-14]");
    }
}

#[test]
fn will_not_published_after_normal_disconnect_mqtt_3_14_4_3() {
    let _d = Deadline::new("will_not_published_after_normal_disconnect_mqtt_3_14_4_3", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("will/clean/{}", tag(p));
        let mut watcher = connected(&broker, opts(&format!("watch-clean-{}", tag(p)), p));
        watcher.subscribe(&topic, QoS::AtLeastOnce);
        let id = format!("leaves-{}", tag(p));
        let mut leaving =
            connected(&broker, Options { will: Some(will(&topic, p)), ..opts(&id, p) });
        leaving.disconnect(ReasonCode::SUCCESS);
        wait_log(&broker, &format!("Client {id} disconnected."), secs(5));
        assert_next_is_marker(&broker, &mut watcher, &topic, p);
    }
}

#[test]
fn will_published_on_disconnect_with_will_0x04() {
    let _d = Deadline::new("will_published_on_disconnect_with_will_0x04", LIMIT);
    let broker = Mosquitto::start("");
    let mut watcher = connected(&broker, opts("watch-04", Protocol::V5));
    watcher.subscribe("will/04", QoS::AtLeastOnce);
    let o =
        Options { will: Some(will("will/04", Protocol::V5)), ..opts("leaves-04", Protocol::V5) };
    let mut leaving = connected(&broker, o);
    leaving.disconnect(ReasonCode::DISCONNECT_WITH_WILL);
    check_will(&watcher.next_message(secs(5)), Protocol::V5);
}

#[test]
fn will_retain_published_as_retained_mqtt_3_1_2_15() {
    let _d = Deadline::new("will_retain_published_as_retained_mqtt_3_1_2_15", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("will/ret/{}", tag(p));
        let mut w = will(&topic, p);
        w.retain = true;
        let id = format!("dies-ret-{}", tag(p));
        let mut dying = connected(&broker, Options { will: Some(w), ..opts(&id, p) });
        dying.cut();
        wait_log(&broker, &format!("Client {id} closed its connection."), secs(5));
        let mut later = connected(&broker, opts(&format!("later-{}", tag(p)), p));
        later.subscribe(&topic, QoS::AtLeastOnce);
        let m = later.next_message(secs(5));
        check_will(&m, p);
        assert!(m.retain);
    }
}

/// A second connection with the same client identifier takes the session
/// over: the first gets DISCONNECT 0x8E (5.0) or a closed socket (3.1.1), and
/// the new connection, restored from a snapshot, resumes the session.
#[test]
fn session_takeover_disconnects_first_with_0x8e_mqtt_3_1_4_3() {
    let _d = Deadline::new("session_takeover_disconnects_first_with_0x8e_mqtt_3_1_4_3", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let id = format!("twin-{}", tag(p));
        let mut first = connected(&broker, persistent(&id, p));
        first.subscribe("twin/t", QoS::AtLeastOnce);
        // The second connection resumes from a snapshot of the first's
        // session, as a restarted process would.
        let snapshot = first.client().snapshot();
        let restored = Client::restore(persistent(&id, p), first.now(), &snapshot).unwrap();
        let mut second = Driver::with_client(broker.port(), restored, first.now());
        let c = second.connect();
        assert!(c.session_present, "{p:?}: the session moved to the new connection");
        let d = first.run_until(secs(5), |e| match e {
            Event::Disconnected(d) => Some(d.clone()),
            _ => None,
        });
        match p {
            Protocol::V5 => {
                if mosquitto_at_least(2, 0, 15) {
                    assert_eq!(d.cause, DisconnectCause::Server, "{d:?}");
                    assert_eq!(d.reason_code, ReasonCode::SESSION_TAKEN_OVER, "{d:?}");
                } else {
                    // mosquitto before 2.0.15 closes the old connection
                    // without sending DISCONNECT 0x8E (its issue #2607).
                    assert_eq!(d.cause, DisconnectCause::ConnectionLost, "{d:?}");
                }
            }
            Protocol::V311 => assert_eq!(d.cause, DisconnectCause::ConnectionLost),
        }
        // The subscription came along with the session.
        let mut publ = connected(&broker, opts(&format!("twin-pub-{}", tag(p)), p));
        publ.publish(msg("twin/t", "to the new one", QoS::AtLeastOnce));
        assert_eq!(text(&second.next_message(secs(5))), "to the new one");
    }
}

/// User Name and Password checked against a `password_file` made with
/// `mosquitto_passwd -b`; a refusal is surfaced as a `Disconnected` event
/// with the CONNACK code (3.1.1 return codes mapped to their 5.0 codes).
#[test]
fn username_password_accepted_and_refused_mqtt_3_2_2_6() {
    let _d = Deadline::new("username_password_accepted_and_refused_mqtt_3_2_2_6", LIMIT);
    let broker = Mosquitto::start_custom(1, |ports, dir| {
        let file = dir.join("passwd");
        let status = Command::new("mosquitto_passwd")
            .arg("-c")
            .arg("-b")
            .arg(&file)
            .args(["alice", "s3cret"])
            .status()
            .expect("mosquitto_passwd (package mosquitto) is installed by `make test`");
        assert!(status.success());
        format!(
            "per_listener_settings false\nlistener {} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
            ports[0],
            file.display()
        )
    });
    for p in PROTOCOLS {
        let creds = |user: &str, pass: &str| Options {
            username: Some(user.to_owned().into()),
            password: Some(Bytes::copy_from_slice(pass.as_bytes())),
            ..opts(&format!("auth-{}-{user}-{pass}", tag(p)), p)
        };
        let mut good = Driver::new(broker.port(), creds("alice", "s3cret"));
        good.connect();
        good.publish(msg("auth/t", "ok", QoS::AtLeastOnce));

        let mut bad = Driver::new(broker.port(), creds("alice", "wrong"));
        let d = bad.connect_within(secs(5)).unwrap_err();
        assert_eq!(d.cause, DisconnectCause::Refused, "{p:?}");
        // 0x86 Bad User Name or Password or 0x87 Not authorized (mosquitto 2.0
        // answers 0x87, and 3.1.1 return code 5); the connection is closed
        // [MQTT-3.2.2-7] and 3.1.1 codes are mapped to their 5.0 equivalents.
        assert!(
            [ReasonCode::BAD_USER_NAME_OR_PASSWORD, ReasonCode::NOT_AUTHORIZED]
                .contains(&d.reason_code),
            "{p:?}: {d:?}"
        );
        if p == Protocol::V311 {
            assert!(d.reason_string.is_some(), "the 3.1.1 return code is named: {d:?}");
        }
        assert!(!bad.client().is_connected());

        let mut anonymous = Driver::new(broker.port(), opts(&format!("anon-{}", tag(p)), p));
        let d = anonymous.connect_within(secs(5)).unwrap_err();
        assert_eq!(d.cause, DisconnectCause::Refused, "{p:?}");
        assert!(d.reason_code.is_error(), "{p:?}: {d:?}");
    }
}

/// An Authentication Method the broker does not know is refused with 0x8C.
#[test]
fn unknown_authentication_method_refused_0x8c_mqtt_4_12_0_1() {
    let _d = Deadline::new("unknown_authentication_method_refused_0x8c_mqtt_4_12_0_1", LIMIT);
    let broker = Mosquitto::start("");
    let o = Options {
        authentication_method: Some("SCRAM-SHA-256".into()),
        authentication_data: Some(Bytes::from_static(b"n,,n=alice,r=abc")),
        ..opts("scram", Protocol::V5)
    };
    let mut c = Driver::new(broker.port(), o);
    let d = c.connect_within(secs(5)).unwrap_err();
    assert_eq!(d.cause, DisconnectCause::Refused);
    assert_eq!(d.reason_code, ReasonCode::BAD_AUTHENTICATION_METHOD);
}

#[test]
fn no_local_not_forwarded_to_own_connection_mqtt_3_8_3_3() {
    let _d = Deadline::new("no_local_not_forwarded_to_own_connection_mqtt_3_8_3_3", LIMIT);
    let broker = Mosquitto::start("");
    let mut c = connected(&broker, opts("self-talk", Protocol::V5));
    c.subscribe_with(Subscription {
        no_local: true,
        ..Subscription::new("nl/t", QoS::AtLeastOnce)
    });
    let done = c.publish(msg("nl/t", "mine", QoS::AtLeastOnce)).unwrap();
    assert!(!done.reason_code.is_error());
    assert_next_is_marker(&broker, &mut c, "nl/t", Protocol::V5);
}

#[test]
fn unsubscribe_stops_delivery() {
    let _d = Deadline::new("unsubscribe_stops_delivery", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("unsub/{}", tag(p));
        let mut c = connected(&broker, opts(&format!("unsub-{}", tag(p)), p));
        c.subscribe(&topic, QoS::AtLeastOnce);
        c.subscribe(&format!("{topic}/other"), QoS::AtLeastOnce);
        let unsub = Unsubscribe { filters: vec![topic.clone().into()], ..Unsubscribe::default() };
        let id = c.cmd(|cl, now| cl.unsubscribe(now, unsub)).unwrap();
        let acked = c.run_until(secs(5), |e| match e {
            Event::Unsubscribed(a) if a.packet_id == id => Some(a.clone()),
            _ => None,
        });
        assert_eq!(acked.reason_codes, vec![ReasonCode::SUCCESS]);
        let mut publ = connected(&broker, opts(&format!("unsub-pub-{}", tag(p)), p));
        publ.publish(msg(&topic, "not for you", QoS::AtLeastOnce));
        publ.publish(msg(&format!("{topic}/other"), "for you", QoS::AtLeastOnce));
        assert_eq!(text(&c.next_message(secs(5))), "for you");
    }
}

/// A DISCONNECT of ours with a new Session Expiry Interval of 0 ends the
/// session: the next connection is clean on both sides.
#[test]
fn disconnect_with_session_expiry_zero_ends_session_mqtt_3_1_2_23() {
    let _d = Deadline::new("disconnect_with_session_expiry_zero_ends_session_mqtt_3_1_2_23", LIMIT);
    let broker = Mosquitto::start("");
    let mut c = connected(&broker, persistent("expiring", Protocol::V5));
    c.subscribe("exp/t", QoS::AtLeastOnce);
    let mut d = Disconnect::new(ReasonCode::SUCCESS);
    d.properties.session_expiry_interval = Some(0);
    c.disconnect_with(d);
    wait_log(&broker, "Client expiring disconnected.", secs(5));
    let again = c.reconnect();
    assert!(!again.session_present);
}

/// A fresh client (no snapshot) configured with Clean Start 0 asks the broker
/// to resume the session it holds for the client identifier, as a restarted
/// process does to get its subscriptions and queued messages back. The
/// server's session must be resumed [MQTT-3.1.2-5]: the client holds no
/// messages in flight, so there is no state of its own to disagree with.
#[test]
fn fresh_client_clean_start_0_resumes_server_session_mqtt_3_1_2_5() {
    let _d = Deadline::new("fresh_client_clean_start_0_resumes_server_session_mqtt_3_1_2_5", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let id = format!("restarted-{}", tag(p));
        let topic = format!("restart/{}", tag(p));
        let mut before = connected(&broker, persistent(&id, p));
        before.subscribe(&topic, QoS::AtLeastOnce);
        before.disconnect(ReasonCode::SUCCESS);
        wait_log(&broker, &format!("Client {id} disconnected."), secs(5));
        let mut publ = connected(&broker, opts(&format!("restart-pub-{}", tag(p)), p));
        publ.publish(msg(&topic, "queued", QoS::AtLeastOnce));
        // The process restarts: a new Client, asking to resume.
        let mut after =
            Driver::new(broker.port(), Options { clean_start: false, ..persistent(&id, p) });
        let c = after.connect_within(secs(5));
        assert!(
            matches!(&c, Ok(c) if c.session_present),
            "{p:?}: the server's session should resume, got {c:?}"
        );
        assert_eq!(text(&after.next_message(secs(5))), "queued");
    }
}

/// Every CONNECT option at once is accepted by a real broker, and the
/// connection then works both ways.
#[test]
fn connect_with_every_option_accepted() {
    let _d = Deadline::new("connect_with_every_option_accepted", LIMIT);
    let broker = Mosquitto::start("");
    let mut w = will("every/will", Protocol::V5);
    w.properties.will_delay_interval = Some(30);
    w.properties.message_expiry_interval = Some(60);
    w.properties.payload_format_indicator = Some(1);
    let o = Options {
        clean_start: true,
        keep_alive: 30,
        session_expiry_interval: 60,
        receive_maximum: 10,
        maximum_packet_size: 64 * 1024,
        topic_alias_maximum: 5,
        request_response_information: true,
        request_problem_information: false,
        user_properties: vec![("app".into(), "tests".into()), ("app".into(), "again".into())],
        will: Some(w),
        username: Some("someone".into()),
        password: Some(Bytes::from_static(b"anything")),
        ..opts("every-option", Protocol::V5)
    };
    let mut c = connected(&broker, o);
    assert_eq!(c.client().server().keep_alive, 30);
    assert_eq!(c.client().server().session_expiry_interval, 60);
    c.subscribe("every/t", QoS::ExactlyOnce);
    for q in QOS {
        c.publish(msg("every/t", format!("q{}", q as u8), q));
        assert_eq!(text(&c.next_message(secs(5))), format!("q{}", q as u8));
    }
    wait_log(&broker, "New client connected from 127.0.0.1", secs(5));
    assert!(broker.log().contains("as every-option (p5, c1, k30, u'someone')"), "{}", broker.log());
}

/// With `offline_queue`, messages published before the connection exists
/// are sent, in order, once it is open.
#[test]
fn offline_queue_sent_in_order_after_connect() {
    let _d = Deadline::new("offline_queue_sent_in_order_after_connect", LIMIT);
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let topic = format!("offline/{}", tag(p));
        let mut sub = connected(&broker, opts(&format!("offline-sub-{}", tag(p)), p));
        sub.subscribe(&topic, QoS::ExactlyOnce);
        let o = Options { offline_queue: true, ..opts(&format!("offline-pub-{}", tag(p)), p) };
        let mut publ = Driver::new(broker.port(), o);
        let ids: Vec<Option<u16>> = (0..9)
            .map(|i| publ.try_publish(msg(&topic, format!("{i}"), QOS[i % 3])).unwrap())
            .collect();
        assert_eq!(publ.client().queued(), 9);
        publ.connect();
        for id in ids.into_iter().flatten() {
            publ.wait_published(id, secs(5));
        }
        // One publisher, one topic: in order per QoS [MQTT-4.6.0-5].
        let got: Vec<_> = (0..9).map(|_| sub.next_message(secs(5))).collect();
        for q in QOS {
            let seen: Vec<String> = got.iter().filter(|m| m.qos == q).map(text).collect();
            let sent: Vec<String> =
                (0..9).filter(|i| QOS[i % 3] == q).map(|i| i.to_string()).collect();
            assert_eq!(seen, sent, "{p:?} {q:?}");
        }
    }
}

/// A Will Delay Interval holds the will back [MQTT-3.1.2-8]; a reconnection
/// within it cancels the will [MQTT-3.1.3-9].
#[test]
fn will_delay_interval_and_reconnect_cancels_will_mqtt_3_1_3_9() {
    let _d = Deadline::new("will_delay_interval_and_reconnect_cancels_will_mqtt_3_1_3_9", LIMIT);
    let broker = Mosquitto::start("");
    let mut watcher = connected(&broker, opts("watch-delay", Protocol::V5));
    watcher.subscribe("will/delay/#", QoS::AtLeastOnce);
    let delayed = |topic: &str, id: &str| {
        let mut w = will(topic, Protocol::V5);
        w.properties.will_delay_interval = Some(1);
        Options { will: Some(w), ..persistent(id, Protocol::V5) }
    };
    // Cut and not back: the will comes, after the delay.
    let mut gone = connected(&broker, delayed("will/delay/gone", "delay-gone"));
    // Cut and back at once: the will is cancelled.
    let mut back = connected(&broker, delayed("will/delay/back", "delay-back"));
    let cut_at = std::time::Instant::now();
    gone.cut();
    back.cut();
    assert!(back.reconnect().session_present);
    let m = watcher.next_message(secs(10));
    assert_eq!(m.topic, "will/delay/gone", "{m:?}");
    check_will(&m, Protocol::V5);
    assert!(cut_at.elapsed() >= ms(900), "the will came {:?} after the cut", cut_at.elapsed());
    // The reconnected client's will was not sent (the broker checks delays
    // about once a second: give it two), then a marker confirms the queue.
    watcher.run_for(ms(1_200));
    assert_next_is_marker(&broker, &mut watcher, "will/delay/back", Protocol::V5);
}
