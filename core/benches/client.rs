//! Client engine benchmarks: messages through a connected `Client` in memory,
//! beside the bare codec doing the same packet work and beside the session
//! state of a peer, all in one process (DESIGN §9). `make bench` runs them;
//! `docs/BENCHMARKS.md` records the ratios.
//!
//! Per message, in each group:
//! - `qos0_publish`: accept a QoS 0 message and produce its bytes.
//!   codec: `Publish::encode` into a reused buffer.
//!   engine: `Client::publish` + `poll_transmit`.
//!   peer: rumqttc 0.25.1 `MqttState::handle_outgoing_packet` + `Packet::write`.
//! - `qos1_publish_ack`: a QoS 1 flow out: the PUBLISH bytes, then its PUBACK
//!   bytes in, the flow's completion out.
//!   codec: encode the PUBLISH, decode the PUBACK.
//!   engine: `publish` + `poll_transmit` + `handle_bytes(PUBACK)` + `poll_event`.
//!   peer: `handle_outgoing_packet` + `write`, then `Packet::read` +
//!   `handle_incoming_packet` + draining its event queue.
//! - `qos1_receive_ack`: a QoS 1 message in, delivered, its PUBACK out.
//!   codec: decode the PUBLISH, encode a PUBACK.
//!   engine: `handle_bytes(PUBLISH)` + `poll_event` + `poll_transmit`.
//!   peer: `Packet::read` + `handle_incoming_packet` + `write` of the PUBACK +
//!   draining its event queue.
//!
//! Every side starts from an owned message, cloned from a prepared one in the
//! loop: the engine and the peer take messages by value, as an application
//! builds a new one per publish.
//!
//! The peer's state is MQTT 3.1.1 only, so it is compared with the engine at
//! 3.1.1; the engine at 5.0 is shown beside it. Inputs are 16-byte payloads on
//! a 22-byte topic. The peer copies its input bytes into a `BytesMut` (its
//! read API needs one) inside the loop, as the engine's decoder does.

#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used)] // setup panics on failure, as tests do

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use mqtt_engine::client::{Client, Event, Options};
use mqtt_engine::codec::{decode, Packet, Protocol, PubAck, Publish, QoS};
use mqtt_engine::time::Instant;
use rumqttc::mqttbytes::v4 as r4;

const TOPIC: &str = "sensors/kitchen/temp/1";
const PAYLOAD: &[u8; 16] = b"0123456789abcdef";

fn message(qos: QoS) -> Publish {
    let mut m = Publish::new(TOPIC, Bytes::from_static(PAYLOAD));
    m.qos = qos;
    m
}

/// A client connected to an imaginary server that allows everything.
fn connected(protocol: Protocol) -> Client {
    let now = Instant::from_millis(0);
    let opts = Options { protocol, client_id: "bench".into(), keep_alive: 0, ..Options::default() };
    let mut c = Client::new(opts, now);
    c.connect(now).unwrap();
    c.poll_transmit().unwrap();
    let connack = match protocol {
        Protocol::V5 => vec![0x20, 0x03, 0x00, 0x00, 0x00],
        Protocol::V311 => vec![0x20, 0x02, 0x00, 0x00],
    };
    c.handle_bytes(now, &connack).unwrap();
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    c
}

fn peer_state() -> rumqttc::MqttState {
    // One message in flight at a time, as in the engine runs: the peer's
    // packet identifier is then always 1 too.
    rumqttc::MqttState::new(1, false)
}

fn puback_bytes(protocol: Protocol, id: u16) -> Vec<u8> {
    Packet::Puback(PubAck::new(id)).encode_to_vec(protocol).unwrap()
}

fn inbound_bytes(protocol: Protocol) -> Vec<u8> {
    let mut m = message(QoS::AtLeastOnce);
    m.packet_id = Some(1);
    Packet::Publish(m).encode_to_vec(protocol).unwrap()
}

fn bench_qos0(c: &mut Criterion) {
    let mut g = c.benchmark_group("client/qos0_publish");
    g.throughput(Throughput::Elements(1));
    let msg = message(QoS::AtMostOnce);
    for (name, protocol) in [("codec-v311", Protocol::V311), ("codec-v5", Protocol::V5)] {
        g.bench_function(name, |b| {
            let mut out = BytesMut::with_capacity(256);
            b.iter(|| {
                out.clear();
                let owned = black_box(&msg).clone();
                owned.encode(protocol, &mut out).unwrap();
            })
        });
    }
    for (name, protocol) in [("engine-v311", Protocol::V311), ("engine-v5", Protocol::V5)] {
        let mut client = connected(protocol);
        let now = Instant::from_millis(1);
        g.bench_function(name, |b| {
            b.iter(|| {
                client.publish(now, black_box(&msg).clone()).unwrap();
                black_box(client.poll_transmit());
            })
        });
    }
    let peer_msg = r4::Publish::new(TOPIC, rumqttc::QoS::AtMostOnce, PAYLOAD.to_vec());
    let mut state = peer_state();
    let mut out = BytesMut::with_capacity(256);
    g.bench_function("rumqttc-state-v311", |b| {
        b.iter(|| {
            out.clear();
            let p = state
                .handle_outgoing_packet(rumqttc::Request::Publish(black_box(&peer_msg).clone()))
                .unwrap()
                .unwrap();
            p.write(&mut out, usize::MAX).unwrap();
        })
    });
    g.finish();
}

fn bench_qos1_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("client/qos1_publish_ack");
    g.throughput(Throughput::Elements(1));
    let msg = {
        let mut m = message(QoS::AtLeastOnce);
        m.packet_id = Some(1);
        m
    };
    for (name, protocol) in [("codec-v311", Protocol::V311), ("codec-v5", Protocol::V5)] {
        let ack = Bytes::from(puback_bytes(protocol, 1));
        g.bench_function(name, |b| {
            let mut out = BytesMut::with_capacity(256);
            b.iter(|| {
                out.clear();
                let owned = black_box(&msg).clone();
                owned.encode(protocol, &mut out).unwrap();
                black_box(decode(protocol, black_box(&ack), u32::MAX).unwrap());
            })
        });
    }
    for (name, protocol) in [("engine-v311", Protocol::V311), ("engine-v5", Protocol::V5)] {
        let mut client = connected(protocol);
        let now = Instant::from_millis(1);
        let ack = puback_bytes(protocol, 1);
        let msg = message(QoS::AtLeastOnce);
        g.bench_function(name, |b| {
            b.iter(|| {
                let id = client.publish(now, black_box(&msg).clone()).unwrap();
                debug_assert_eq!(id, Some(1));
                black_box(client.poll_transmit());
                client.handle_bytes(now, black_box(&ack)).unwrap();
                black_box(client.poll_event());
            })
        });
    }
    let peer_msg = r4::Publish::new(TOPIC, rumqttc::QoS::AtLeastOnce, PAYLOAD.to_vec());
    let mut state = peer_state();
    let mut out = BytesMut::with_capacity(256);
    let peer_ack = puback_bytes(Protocol::V311, 1);
    g.bench_function("rumqttc-state-v311", |b| {
        b.iter(|| {
            out.clear();
            let p = state
                .handle_outgoing_packet(rumqttc::Request::Publish(black_box(&peer_msg).clone()))
                .unwrap()
                .unwrap();
            p.write(&mut out, usize::MAX).unwrap();
            let mut input = BytesMut::from(black_box(&peer_ack[..]));
            let incoming = r4::Packet::read(&mut input, usize::MAX).unwrap();
            state.handle_incoming_packet(incoming).unwrap();
            state.events.clear();
        })
    });
    g.finish();
}

fn bench_qos1_in(c: &mut Criterion) {
    let mut g = c.benchmark_group("client/qos1_receive_ack");
    g.throughput(Throughput::Elements(1));
    for (name, protocol) in [("codec-v311", Protocol::V311), ("codec-v5", Protocol::V5)] {
        let input = Bytes::from(inbound_bytes(protocol));
        g.bench_function(name, |b| {
            let mut out = BytesMut::with_capacity(64);
            b.iter(|| {
                out.clear();
                black_box(decode(protocol, black_box(&input), u32::MAX).unwrap());
                Packet::Puback(PubAck::new(1)).encode(protocol, &mut out).unwrap();
            })
        });
    }
    let input = Bytes::from(inbound_bytes(Protocol::V311));
    for (name, protocol) in [("engine-v311", Protocol::V311), ("engine-v5", Protocol::V5)] {
        let mut client = connected(protocol);
        let now = Instant::from_millis(1);
        let input = inbound_bytes(protocol);
        g.bench_function(name, |b| {
            b.iter(|| {
                client.handle_bytes(now, black_box(&input)).unwrap();
                black_box(client.poll_event());
                black_box(client.poll_transmit());
            })
        });
    }
    let mut state = peer_state();
    let mut out = BytesMut::with_capacity(64);
    g.bench_function("rumqttc-state-v311", |b| {
        b.iter(|| {
            out.clear();
            let mut bytes = BytesMut::from(black_box(&input[..]));
            let incoming = r4::Packet::read(&mut bytes, usize::MAX).unwrap();
            if let Some(reply) = state.handle_incoming_packet(incoming).unwrap() {
                reply.write(&mut out, usize::MAX).unwrap();
            }
            state.events.clear();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench_qos0, bench_qos1_out, bench_qos1_in
}
criterion_main!(benches);
