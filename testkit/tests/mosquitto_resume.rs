//! Resume against a real mosquitto: the client's connection is cut in the
//! middle of QoS 1 and QoS 2 flows, in both directions, many times over, at a
//! different point each time (before the PUBLISH left, in the middle of it,
//! after exactly k acknowledgement packets, with or without our answer to the
//! last one); after every cut the client reconnects and the session resumes.
//! Nothing may be lost, and no QoS 2 message may arrive twice.
//!
//! Statements: [MQTT-4.4.0-1] (re-send unacknowledged PUBLISH and PUBREL on
//! resume), [MQTT-3.3.1-1] (DUP on re-delivery), [MQTT-4.3.3-6] (PUBREL, not
//! PUBLISH, once PUBREC came), [MQTT-4.3.3-10] (inbound QoS 2 delivered once),
//! [MQTT-3.3.2-7] (no Topic Alias across connections).

// A failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mqtt_engine::client::Event;
use mqtt_engine::codec::{Protocol, QoS};
use mqtt_engine_testkit::mosquitto::Mosquitto;
use mqtt_engine_testkit::net::Driver;
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
/// Messages published per iteration.
const W: usize = 3;
/// Iterations per loop.
const N: usize = 100;

/// Which side's connection is cut in every iteration.
#[derive(Clone, Copy, Debug)]
struct Cuts {
    publisher: bool,
    subscriber: bool,
}

/// The broker for resume loops: small receive maximum and topic aliases, so
/// that flow control and aliases are in play when connections are cut.
fn broker() -> Mosquitto {
    Mosquitto::start("max_inflight_messages 4\nmax_topic_alias 4\nmax_queued_messages 10000\n")
}

/// Packets the peer sends per message of a flow at `qos` (PUBACK; PUBREC and
/// PUBCOMP; or PUBLISH and PUBREL towards a subscriber).
fn packets_per_message(qos: QoS) -> usize {
    match qos {
        QoS::ExactlyOnce => 2,
        _ => 1,
    }
}

/// Runs `N` iterations of: publish `W` messages at `qos`, cut the chosen
/// sides at a point that depends on the iteration, reconnect them, wait for
/// every flow to end. Then checks what the subscriber got.
fn resume_loop(p: Protocol, qos: QoS, cuts: Cuts) {
    let broker = broker();
    let name = format!("{}-q{}-p{}-s{}", tag(p), qos as u8, cuts.publisher, cuts.subscriber);
    let topic = format!("resume/{name}");
    let mut sub = connected(&broker, persistent(&format!("sub-{name}"), p));
    sub.subscribe(&topic, qos);
    let mut publ = connected(&broker, persistent(&format!("pub-{name}"), p));
    let per = packets_per_message(qos);
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let collect = |sub: &mut Driver, received: &mut BTreeMap<String, usize>| {
        for m in sub.take_messages() {
            assert_eq!(m.topic, topic.as_str(), "{name}");
            assert_eq!(m.qos, qos, "{name}");
            *received.entry(text(&m)).or_default() += 1;
        }
    };

    for i in 0..N {
        // Alternate topic aliases in use (5.0): a replay must carry the name.
        let ids: Vec<u16> = (0..W)
            .map(|j| {
                let m = msg(&topic, format!("{i:03}-{j}"), qos);
                publ.cmd_unflushed(|c, now| c.publish(now, m)).unwrap().unwrap()
            })
            .collect();
        if cuts.publisher {
            match i % 3 {
                // The bytes never left, or only part of them did.
                0 => publ.flush_partial((i * 7) % (W * 30)),
                // After exactly k acknowledgement packets, with or without
                // our answer (PUBREL) to the last one.
                _ => {
                    publ.flush();
                    let k = (i / 3) % (W * per);
                    let flush_last = (i / 3) % 2 == 0;
                    assert_eq!(publ.step_packets(k as u64, flush_last, secs(5)), k as u64);
                }
            }
            publ.cut().expect("the publisher was connected");
            let c = publ.reconnect();
            assert!(c.session_present, "{name} iteration {i}: session resumed");
        } else {
            publ.flush();
        }
        for id in ids {
            let done = publ.run_until(secs(10), |e| match e {
                Event::Published(d) if d.packet_id == id => Some(d.clone()),
                Event::PublishDropped(d) => panic!("{name} iteration {i}: dropped {d:?}"),
                _ => None,
            });
            assert!(!done.reason_code.is_error(), "{name} iteration {i}: {done:?}");
        }
        if cuts.subscriber {
            let k = i % (W * per + 1);
            let flush_last = (i / (W * per + 1)) % 2 == 0;
            sub.step_packets(k as u64, flush_last, secs(5));
            sub.cut().expect("the subscriber was connected");
            collect(&mut sub, &mut received);
            let c = sub.reconnect();
            assert!(c.session_present, "{name} iteration {i}: session resumed");
        }
        collect(&mut sub, &mut received);
    }
    assert_eq!(publ.client().inflight(), 0, "{name}");
    assert_eq!(publ.client().queued(), 0, "{name}");

    // Everything arrives in the end.
    let total = N * W;
    let until = std::time::Instant::now() + secs(20);
    while received.len() < total && std::time::Instant::now() < until {
        sub.run_for(ms(50));
        collect(&mut sub, &mut received);
    }
    let missing: Vec<String> = (0..N)
        .flat_map(|i| (0..W).map(move |j| format!("{i:03}-{j}")))
        .filter(|k| !received.contains_key(k))
        .collect();
    assert!(missing.is_empty(), "{name}: lost {missing:?}\n{}", broker.log());
    if qos == QoS::ExactlyOnce {
        let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{name}: QoS 2 delivered more than once: {twice:?}");
        if cuts.subscriber {
            // The broker re-sent PUBLISH for messages we had (our PUBREC was
            // lost): the engine acknowledged them again without delivering.
            assert!(sub.client().stats().duplicate_qos2 > 0, "{name}: cut points not reached");
        }
    }
    if cuts.publisher {
        // Re-sends happened: more PUBLISH packets than messages.
        assert!(publ.client().stats().publishes_sent > total as u64, "{name}");
    }
    // A settled session: another message goes through end to end. (QoS 1
    // re-deliveries of earlier messages may still come first; QoS 2 ones may not.)
    publ.publish(msg(&topic, "after", qos));
    loop {
        let m = text(&sub.next_message(secs(5)));
        if m == "after" {
            break;
        }
        assert!(qos == QoS::AtLeastOnce && received.contains_key(&m), "{name}: unexpected {m}");
    }
}

#[test]
fn qos1_publisher_cut_resume_nothing_lost_mqtt_4_4_0_1() {
    let _d = Deadline::new("qos1_publisher_cut_resume_nothing_lost_mqtt_4_4_0_1", LIMIT);
    for p in PROTOCOLS {
        resume_loop(p, QoS::AtLeastOnce, Cuts { publisher: true, subscriber: false });
    }
}

#[test]
fn qos2_publisher_cut_resume_no_loss_no_duplicate_mqtt_4_4_0_1_mqtt_4_3_3_6() {
    let _d = Deadline::new(
        "qos2_publisher_cut_resume_no_loss_no_duplicate_mqtt_4_4_0_1_mqtt_4_3_3_6",
        LIMIT,
    );
    for p in PROTOCOLS {
        resume_loop(p, QoS::ExactlyOnce, Cuts { publisher: true, subscriber: false });
    }
}

#[test]
fn qos1_subscriber_cut_resume_nothing_lost_mqtt_4_4_0_1() {
    let _d = Deadline::new("qos1_subscriber_cut_resume_nothing_lost_mqtt_4_4_0_1", LIMIT);
    for p in PROTOCOLS {
        resume_loop(p, QoS::AtLeastOnce, Cuts { publisher: false, subscriber: true });
    }
}

#[test]
fn qos2_subscriber_cut_resume_delivered_once_mqtt_4_3_3_10() {
    let _d = Deadline::new("qos2_subscriber_cut_resume_delivered_once_mqtt_4_3_3_10", LIMIT);
    for p in PROTOCOLS {
        resume_loop(p, QoS::ExactlyOnce, Cuts { publisher: false, subscriber: true });
    }
}

#[test]
fn qos2_both_sides_cut_resume_exactly_once_mqtt_4_3_3_10_mqtt_4_4_0_1() {
    let _d =
        Deadline::new("qos2_both_sides_cut_resume_exactly_once_mqtt_4_3_3_10_mqtt_4_4_0_1", LIMIT);
    for p in PROTOCOLS {
        resume_loop(p, QoS::ExactlyOnce, Cuts { publisher: true, subscriber: true });
    }
}

#[test]
fn qos1_both_sides_cut_resume_nothing_lost_mqtt_4_4_0_1() {
    let _d = Deadline::new("qos1_both_sides_cut_resume_nothing_lost_mqtt_4_4_0_1", LIMIT);
    for p in PROTOCOLS {
        resume_loop(p, QoS::AtLeastOnce, Cuts { publisher: true, subscriber: true });
    }
}
