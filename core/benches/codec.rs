//! Codec benchmarks: mqtt-engine against the Rust peer codecs, side by side in
//! one process on the same inputs (DESIGN §9). `make bench` runs them;
//! `scripts/bench-report.sh` turns the results into the ratio tables of
//! `docs/BENCHMARKS.md`.
//!
//! Peers (versions pinned in `core/Cargo.toml`):
//! - `rumqttc` 0.25.1, its packet modules `rumqttc::mqttbytes::v4` (3.1.1) and
//!   `rumqttc::v5::mqttbytes::v5` (5.0);
//! - `mqtt-protocol-core` 0.7.9, `mqtt::packet::{v3_1_1, v5_0}`.
//!
//! Equal work, and where a choice had to be made it favours the peer:
//! - Decode starts from one whole packet already held in each codec's own input
//!   type: a `Bytes` for mqtt-engine and rumqttc, an `Arc<[u8]>` of the body
//!   (PUBLISH) or a `&[u8]` (other packets) for mqtt-protocol-core. Each does
//!   its fixed-header framing and packet-size check (`decode`; `check` then
//!   `Packet::read`'s dispatch for rumqttc; `VariableByteInteger::decode_stream`
//!   then `parse` and `RawPacket::parse_exact`'s length check for
//!   mqtt-protocol-core). Copying socket bytes into the input type is left
//!   out for everyone: rumqttc's `BytesMut::split_to().freeze()` and
//!   mqtt-protocol-core's `PacketBuilder` copy into a fresh `Arc<[u8]>` are
//!   not timed, which only makes the peers look faster.
//! - Decoded packets are dropped inside the timed loop for everyone.
//! - Encode starts from a packet built beforehand in each codec's own type and
//!   writes it into one reused, cleared `BytesMut` with enough capacity. The
//!   peers use their cheapest public call that yields the packet's bytes:
//!   `Publish::write`, `Connect::write`, `Subscribe::write` for rumqttc;
//!   `to_buffers()` gathered into the buffer for mqtt-protocol-core (its
//!   `to_continuous_buffer()` returns a new `Vec` each time instead).
//!   mqtt-engine goes through its only public path, `Packet::encode`, which
//!   validates the packet and computes its exact length first.
//! - Two more modes for PUBLISH have no peer counterpart, so the peers' usual
//!   calls stand in: the borrowed decode (`decode_view`, every property then
//!   read once) and encoding a packet validated before the loop
//!   (`Encoder::write`, `Encoder::write_header`), serialization against the
//!   peers' serialization, which validates nothing.
//! - Before timing, every peer's decode of the shared input is checked field
//!   by field, and every peer's encoding is decoded by mqtt-engine and
//!   compared with mqtt-engine's own packet, so all three do the same job.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
// Setup and the equivalence checks panic on failure, as tests do.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use mqtt_engine::codec::{
    decode, decode_view, ByteStr, Connect, Packet, PacketView, Properties, PropertyFields,
    Protocol, Publish, PublishView, QoS, RetainHandling, Subscribe, Subscription, Will,
};
use std::io::IoSlice;
use std::sync::Arc;

use mqtt_protocol_core::mqtt::packet as mpc;
use rumqttc::mqttbytes as r4b;
use rumqttc::mqttbytes::v4 as r4;
use rumqttc::v5::mqttbytes as r5b;
use rumqttc::v5::mqttbytes::v5 as r5;

const OURS: &str = "mqtt-engine";
const RUMQTTC: &str = "rumqttc";
const MPC: &str = "mqtt-protocol-core";

const TOPIC: &str = "sensors/building-7/floor-3/room-42/temperature";
const CONTENT_TYPE: &str = "application/json";
const RESPONSE_TOPIC: &str = "replies/client-4711/req";
const CORRELATION: &[u8] = b"\x8e\x1d\x02\x7a\x55\x90\x4b\x3e\xa1\x09\xc2\x66\x0f\xd4\x31\x7b";
const USER_PROPS: [(&str, &str); 2] = [("trace-id", "4bf92f3577b34da6"), ("tenant", "acme")];
const EXPIRY: u32 = 3600;
const PKID: u16 = 4711;

const SIZES: [(usize, &str); 3] = [(16, "16B"), (1024, "1KiB"), (65536, "64KiB")];

fn payload(n: usize) -> Bytes {
    // Deterministic, not all one byte value.
    (0..n).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect::<Vec<u8>>().into()
}

// ---------------------------------------------------------------------------
// PUBLISH built in each codec's own types.

/// A PUBLISH case: protocol, and either QoS 0 without properties or QoS 1 with
/// properties (5.0: Message Expiry, Content Type, Response Topic, Correlation
/// Data, two User Properties; 3.1.1: plain QoS 1).
#[derive(Clone, Copy)]
struct PubCase {
    v5: bool,
    qos1: bool,
}

impl PubCase {
    fn name(self) -> &'static str {
        match (self.v5, self.qos1) {
            (false, false) => "v311_qos0",
            (false, true) => "v311_qos1",
            (true, false) => "v5_qos0",
            (true, true) => "v5_qos1_props",
        }
    }
    fn protocol(self) -> Protocol {
        if self.v5 {
            Protocol::V5
        } else {
            Protocol::V311
        }
    }
}

fn ours_publish(c: PubCase, payload: &Bytes) -> Packet {
    let mut p = Publish::new(TOPIC, payload.clone());
    if c.qos1 {
        p.qos = QoS::AtLeastOnce;
        p.packet_id = Some(PKID);
        if c.v5 {
            p.properties = Properties::from(PropertyFields {
                message_expiry_interval: Some(EXPIRY),
                content_type: Some(ByteStr::from(CONTENT_TYPE)),
                response_topic: Some(ByteStr::from(RESPONSE_TOPIC)),
                correlation_data: Some(Bytes::from_static(CORRELATION)),
                user_properties: USER_PROPS
                    .iter()
                    .map(|&(k, v)| (ByteStr::from(k), ByteStr::from(v)))
                    .collect(),
                ..PropertyFields::default()
            });
        }
    }
    Packet::Publish(p)
}

fn r4_publish(c: PubCase, payload: &Bytes) -> r4::Publish {
    let qos = if c.qos1 { r4b::QoS::AtLeastOnce } else { r4b::QoS::AtMostOnce };
    let mut p = r4::Publish::from_bytes(TOPIC, qos, payload.clone());
    if c.qos1 {
        p.pkid = PKID;
    }
    p
}

fn r5_publish(c: PubCase, payload: &Bytes) -> r5::Publish {
    let qos = if c.qos1 { r5b::QoS::AtLeastOnce } else { r5b::QoS::AtMostOnce };
    let props = c.qos1.then(|| r5::PublishProperties {
        message_expiry_interval: Some(EXPIRY),
        content_type: Some(CONTENT_TYPE.into()),
        response_topic: Some(RESPONSE_TOPIC.into()),
        correlation_data: Some(Bytes::from_static(CORRELATION)),
        user_properties: USER_PROPS.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
        ..Default::default()
    });
    let mut p = r5::Publish::new(TOPIC, qos, payload.clone(), props);
    if c.qos1 {
        p.pkid = PKID;
    }
    p
}

fn mpc_publish_props() -> mpc::Properties {
    let mut props = vec![
        mpc::Property::MessageExpiryInterval(mpc::MessageExpiryInterval::new(EXPIRY).unwrap()),
        mpc::Property::ContentType(mpc::ContentType::new(CONTENT_TYPE).unwrap()),
        mpc::Property::ResponseTopic(mpc::ResponseTopic::new(RESPONSE_TOPIC).unwrap()),
        mpc::Property::CorrelationData(mpc::CorrelationData::new(CORRELATION.to_vec()).unwrap()),
    ];
    for (k, v) in USER_PROPS {
        props.push(mpc::Property::UserProperty(mpc::UserProperty::new(k, v).unwrap()));
    }
    props
}

enum MpcPublish {
    V3(mpc::v3_1_1::Publish),
    V5(mpc::v5_0::Publish),
}

fn mpc_publish(c: PubCase, payload: &Bytes) -> MpcPublish {
    let qos = if c.qos1 { mpc::Qos::AtLeastOnce } else { mpc::Qos::AtMostOnce };
    let data: Arc<[u8]> = Arc::from(&payload[..]);
    if c.v5 {
        let mut b = mpc::v5_0::Publish::builder().topic_name(TOPIC).unwrap().qos(qos).payload(data);
        if c.qos1 {
            b = b.packet_id(PKID).props(mpc_publish_props());
        }
        MpcPublish::V5(b.build().unwrap())
    } else {
        let mut b =
            mpc::v3_1_1::Publish::builder().topic_name(TOPIC).unwrap().qos(qos).payload(data);
        if c.qos1 {
            b = b.packet_id(PKID);
        }
        MpcPublish::V3(b.build().unwrap())
    }
}

// ---------------------------------------------------------------------------
// Decoding through each peer's public API, with its framing.

/// `rumqttc::mqttbytes::v4::Packet::read` from a `Bytes` holding one packet:
/// the same `check` and dispatch, without its `BytesMut::split_to().freeze()`.
fn r4_read(wire: &Bytes) -> Result<r4::Packet, r4b::Error> {
    let fh = r4b::check(wire.iter(), usize::MAX)?;
    let frame = wire.slice(..fh.frame_length());
    Ok(match fh.packet_type()? {
        r4b::PacketType::Publish => r4::Packet::Publish(r4::Publish::read(fh, frame)?),
        r4b::PacketType::Connect => r4::Packet::Connect(r4::Connect::read(fh, frame)?),
        r4b::PacketType::Subscribe => r4::Packet::Subscribe(r4::Subscribe::read(fh, frame)?),
        _ => return Err(r4b::Error::MalformedPacket),
    })
}

/// `rumqttc::v5::mqttbytes::v5::Packet::read` likewise.
fn r5_read(wire: &Bytes) -> Result<r5::Packet, r5b::Error> {
    let fh = r5::check(wire.iter(), None)?;
    let frame = wire.slice(..fh.frame_length());
    Ok(match fh.packet_type()? {
        r5::PacketType::Publish => r5::Packet::Publish(r5::Publish::read(fh, frame)?),
        r5::PacketType::Connect => {
            let (c, w, l) = r5::Connect::read(fh, frame)?;
            r5::Packet::Connect(c, w, l)
        }
        r5::PacketType::Subscribe => r5::Packet::Subscribe(r5::Subscribe::read(fh, frame)?),
        _ => return Err(r5b::Error::MalformedPacket),
    })
}

/// One packet as mqtt-protocol-core's connection receives it: the first byte,
/// and the body (after the fixed header) in the form its `parse` takes.
struct MpcInput {
    wire: Bytes,
    body: Arc<[u8]>,
}

impl MpcInput {
    fn new(wire: &Bytes) -> Self {
        let (_, hl) = mpc_frame(wire).unwrap();
        MpcInput { wire: wire.clone(), body: Arc::from(&wire[hl..]) }
    }
}

/// mqtt-protocol-core's fixed-header framing: first byte, Remaining Length as a
/// Variable Byte Integer, packet-size check. Returns (first byte, header length).
fn mpc_frame(wire: &[u8]) -> Result<(u8, usize), mpc::DecodeResult<()>> {
    match mpc::VariableByteInteger::decode_stream(&wire[1..]) {
        mpc::DecodeResult::Ok(len, n) => {
            if 1 + n + len.to_u32() as usize > wire.len() {
                return Err(mpc::DecodeResult::Incomplete);
            }
            Ok((wire[0], 1 + n))
        }
        mpc::DecodeResult::Incomplete => Err(mpc::DecodeResult::Incomplete),
        mpc::DecodeResult::Err(e) => Err(mpc::DecodeResult::Err(e)),
    }
}

fn exact<T>(
    r: Result<(T, usize), mqtt_protocol_core::mqtt::result_code::MqttError>,
    len: usize,
) -> Option<T> {
    match r {
        Ok((p, n)) if n == len => Some(p),
        _ => None,
    }
}

fn mpc_decode_publish(v5: bool, input: &MpcInput) -> Option<MpcPublish> {
    let (first, _) = mpc_frame(&input.wire).ok()?;
    let len = input.body.len();
    if v5 {
        exact(mpc::v5_0::Publish::parse(first & 0x0F, input.body.clone()), len).map(MpcPublish::V5)
    } else {
        exact(mpc::v3_1_1::Publish::parse(first & 0x0F, input.body.clone()), len)
            .map(MpcPublish::V3)
    }
}

/// mqtt-engine's borrowed decode as a consumer uses it: `decode_view`, then
/// every property read once through the view (the peers' decoders hand all
/// of them over already parsed). Gives what was read, for `black_box`.
fn ours_decode_view(protocol: Protocol, wire: &[u8]) -> Option<(PublishView<'_>, usize)> {
    match decode_view(protocol, wire, u32::MAX) {
        Ok(Some((PacketView::Publish(v), n))) => {
            for p in v.properties() {
                black_box(p);
            }
            Some((v, n))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Encoding into a reused buffer.

fn gather(out: &mut BytesMut, parts: Vec<std::io::IoSlice<'_>>) {
    for s in &parts {
        out.extend_from_slice(s);
    }
}

fn mpc_encode_publish(p: &MpcPublish, out: &mut BytesMut) {
    match p {
        MpcPublish::V3(p) => gather(out, p.to_buffers()),
        MpcPublish::V5(p) => gather(out, p.to_buffers()),
    }
}

// ---------------------------------------------------------------------------
// Checks that every codec does the same job, run once before timing.

fn ours_decode(protocol: Protocol, wire: &Bytes) -> Packet {
    match decode(protocol, wire, u32::MAX) {
        Ok(Some((p, n))) if n == wire.len() => p,
        other => panic!("mqtt-engine failed to decode its own encoding: {other:?}"),
    }
}

fn assert_same_encoding(who: &str, protocol: Protocol, ours: &Packet, theirs: &[u8]) {
    let back = ours_decode(protocol, &Bytes::copy_from_slice(theirs));
    assert_eq!(&back, ours, "{who} encoded a different packet");
}

fn check_publish(c: PubCase, payload: &Bytes, wire: &Bytes) {
    let ours = ours_publish(c, payload);
    assert_eq!(ours_decode(c.protocol(), wire), ours);
    let (view, n) = ours_decode_view(c.protocol(), wire).expect("mqtt-engine decode_view");
    assert_eq!((Packet::Publish(view.to_publish()), n), (ours.clone(), wire.len()));
    assert_eq!(view.payload.as_ptr(), wire[wire.len() - payload.len()..].as_ptr(), "view copied");
    let mut out = BytesMut::new();
    if c.v5 {
        let Ok(r5::Packet::Publish(p)) = r5_read(wire) else { panic!("rumqttc v5 decode") };
        assert_eq!((&p.topic[..], &p.payload[..]), (TOPIC.as_bytes(), &payload[..]));
        assert_eq!(p.pkid, if c.qos1 { PKID } else { 0 });
        if c.qos1 {
            let pr = p.properties.as_ref().expect("rumqttc v5 properties");
            assert_eq!(pr.content_type.as_deref(), Some(CONTENT_TYPE));
            assert_eq!(pr.response_topic.as_deref(), Some(RESPONSE_TOPIC));
            assert_eq!(pr.correlation_data.as_deref(), Some(CORRELATION));
            assert_eq!(pr.message_expiry_interval, Some(EXPIRY));
            assert_eq!(pr.user_properties.len(), 2);
        }
        r5_publish(c, payload).write(&mut out).unwrap();
    } else {
        let Ok(r4::Packet::Publish(p)) = r4_read(wire) else { panic!("rumqttc v4 decode") };
        assert_eq!((p.topic.as_str(), &p.payload[..]), (TOPIC, &payload[..]));
        assert_eq!(p.pkid, if c.qos1 { PKID } else { 0 });
        r4_publish(c, payload).write(&mut out).unwrap();
    }
    assert_same_encoding(RUMQTTC, c.protocol(), &ours, &out);

    match mpc_decode_publish(c.v5, &MpcInput::new(wire)).expect("mqtt-protocol-core decode") {
        MpcPublish::V5(p) => {
            assert_eq!((p.topic_name(), p.payload().as_slice()), (TOPIC, &payload[..]));
            assert_eq!(p.packet_id(), c.qos1.then_some(PKID));
            assert_eq!(p.props().len(), if c.qos1 { 6 } else { 0 });
        }
        MpcPublish::V3(p) => {
            assert_eq!((p.topic_name(), p.payload().as_slice()), (TOPIC, &payload[..]));
            assert_eq!(p.packet_id(), c.qos1.then_some(PKID));
        }
    }
    out.clear();
    mpc_encode_publish(&mpc_publish(c, payload), &mut out);
    assert_same_encoding(MPC, c.protocol(), &ours, &out);
}

/// The vectored pieces give the same bytes as the contiguous encodings, and
/// the payload piece is the payload itself, not a copy.
fn check_vectored(c: PubCase, ours: &Publish, payload: &Bytes) {
    let whole = Packet::Publish(ours.clone()).encode_to_bytes(c.protocol()).unwrap();
    let mut head = BytesMut::new();
    ours.encode_header(c.protocol(), &mut head).unwrap();
    assert_eq!([&head[..], &ours.payload[..]].concat(), &whole[..]);
    assert_eq!(ours.payload.as_ptr(), payload.as_ptr(), "payload not copied");
    let joined: Vec<u8> = match mpc_publish(c, payload) {
        MpcPublish::V3(p) => p.to_buffers().iter().flat_map(|s| s.iter().copied()).collect(),
        MpcPublish::V5(p) => p.to_buffers().iter().flat_map(|s| s.iter().copied()).collect(),
    };
    assert_eq!(joined, &whole[..], "mqtt-protocol-core to_buffers");
}

// ---------------------------------------------------------------------------
// CONNECT: 5.0 with properties and a Will with properties; 3.1.1 with a Will,
// user name and password.

const CLIENT_ID: &str = "client-4711";
const WILL_TOPIC: &str = "clients/client-4711/status";
const WILL_PAYLOAD: &[u8] = b"{\"online\":false}";
const USER: &str = "device-4711";
const PASS: &str = "s3cr3t-pa55w0rd";

fn ours_connect(v5: bool) -> Packet {
    let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
    let mut c = Connect::new(protocol, CLIENT_ID);
    c.keep_alive = 30;
    c.username = Some(USER.into());
    c.password = Some(Bytes::from_static(PASS.as_bytes()));
    let mut will = Will {
        topic: WILL_TOPIC.into(),
        payload: Bytes::from_static(WILL_PAYLOAD),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: Properties::default(),
    };
    if v5 {
        c.properties = Properties::from(PropertyFields {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(100),
            maximum_packet_size: Some(1 << 20),
            topic_alias_maximum: Some(16),
            user_properties: vec![("app".into(), "bench".into())],
            ..PropertyFields::default()
        });
        will.properties = Properties::from(PropertyFields {
            will_delay_interval: Some(30),
            message_expiry_interval: Some(600),
            content_type: Some(CONTENT_TYPE.into()),
            ..PropertyFields::default()
        });
    }
    c.will = Some(will);
    Packet::Connect(Box::new(c))
}

type R5Connect = (r5::Connect, Option<r5::LastWill>, Option<r5::Login>);

fn r5_connect() -> R5Connect {
    let props = r5::ConnectProperties {
        session_expiry_interval: Some(3600),
        receive_maximum: Some(100),
        max_packet_size: Some(1 << 20),
        topic_alias_max: Some(16),
        user_properties: vec![("app".into(), "bench".into())],
        ..r5::ConnectProperties::new()
    };
    let will_props = r5::LastWillProperties {
        delay_interval: Some(30),
        payload_format_indicator: None,
        message_expiry_interval: Some(600),
        content_type: Some(CONTENT_TYPE.into()),
        response_topic: None,
        correlation_data: None,
        user_properties: vec![],
    };
    let connect = r5::Connect {
        keep_alive: 30,
        client_id: CLIENT_ID.into(),
        clean_start: true,
        properties: Some(props),
    };
    let will =
        r5::LastWill::new(WILL_TOPIC, WILL_PAYLOAD, r5b::QoS::AtLeastOnce, true, Some(will_props));
    (connect, Some(will), Some(r5::Login::new(USER, PASS)))
}

fn r4_connect() -> r4::Connect {
    let mut c = r4::Connect::new(CLIENT_ID);
    c.keep_alive = 30;
    c.clean_session = true;
    c.last_will = Some(r4::LastWill::new(WILL_TOPIC, WILL_PAYLOAD, r4b::QoS::AtLeastOnce, true));
    c.set_login(USER, PASS);
    c
}

fn mpc_connect_v5() -> mpc::v5_0::Connect {
    let props = vec![
        mpc::Property::SessionExpiryInterval(mpc::SessionExpiryInterval::new(3600).unwrap()),
        mpc::Property::ReceiveMaximum(mpc::ReceiveMaximum::new(100).unwrap()),
        mpc::Property::TopicAliasMaximum(mpc::TopicAliasMaximum::new(16).unwrap()),
        mpc::Property::UserProperty(mpc::UserProperty::new("app", "bench").unwrap()),
        mpc::Property::MaximumPacketSize(mpc::MaximumPacketSize::new(1 << 20).unwrap()),
    ];
    let will_props = vec![
        mpc::Property::MessageExpiryInterval(mpc::MessageExpiryInterval::new(600).unwrap()),
        mpc::Property::ContentType(mpc::ContentType::new(CONTENT_TYPE).unwrap()),
        mpc::Property::WillDelayInterval(mpc::WillDelayInterval::new(30).unwrap()),
    ];
    mpc::v5_0::Connect::builder()
        .client_id(CLIENT_ID)
        .unwrap()
        .clean_start(true)
        .keep_alive(30)
        .will_message(WILL_TOPIC, WILL_PAYLOAD.to_vec(), mpc::Qos::AtLeastOnce, true)
        .unwrap()
        .user_name(USER)
        .unwrap()
        .password(PASS.as_bytes().to_vec())
        .unwrap()
        .props(props)
        .will_props(will_props)
        .build()
        .unwrap()
}

fn mpc_connect_v3() -> mpc::v3_1_1::Connect {
    mpc::v3_1_1::Connect::builder()
        .client_id(CLIENT_ID)
        .unwrap()
        .clean_session(true)
        .keep_alive(30)
        .will_message(WILL_TOPIC, WILL_PAYLOAD.to_vec(), mpc::Qos::AtLeastOnce, true)
        .unwrap()
        .user_name(USER)
        .unwrap()
        .password(PASS.as_bytes().to_vec())
        .unwrap()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// SUBSCRIBE: five filters (5.0: varied options and a Subscription Identifier).

const FILTERS: [(&str, u8); 5] = [
    ("sensors/+/floor-3/+/temperature", 1),
    ("sensors/building-7/#", 0),
    ("alerts/critical", 2),
    ("$share/workers/jobs/+/pending", 1),
    ("clients/client-4711/commands/#", 1),
];
const SUB_ID: u32 = 42;

fn ours_qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap()
}

fn ours_subscribe(v5: bool) -> Packet {
    let mut filters: Vec<Subscription> =
        FILTERS.iter().map(|&(f, q)| Subscription::new(f, ours_qos(q))).collect();
    let mut properties = Properties::default();
    if v5 {
        filters[0].no_local = true;
        filters[1].retain_as_published = true;
        filters[2].retain_handling = RetainHandling::DoNotSend;
        properties.subscription_identifiers = vec![SUB_ID];
    }
    Packet::Subscribe(Subscribe { packet_id: PKID, properties, filters })
}

fn r5_qos(q: u8) -> r5b::QoS {
    r5b::qos(q).unwrap()
}

fn r5_subscribe() -> r5::Subscribe {
    let mut filters: Vec<r5::Filter> =
        FILTERS.iter().map(|&(f, q)| r5::Filter::new(f, r5_qos(q))).collect();
    filters[0].nolocal = true;
    filters[1].preserve_retain = true;
    filters[2].retain_forward_rule = r5::RetainForwardRule::Never;
    let props = r5::SubscribeProperties { id: Some(SUB_ID as usize), user_properties: vec![] };
    let mut s = r5::Subscribe::new_many(filters, Some(props));
    s.pkid = PKID;
    s
}

fn r4_subscribe() -> r4::Subscribe {
    let mut s = r4::Subscribe::new_many(
        FILTERS.iter().map(|&(f, q)| r4::SubscribeFilter::new(f.into(), r4b::qos(q).unwrap())),
    );
    s.pkid = PKID;
    s
}

fn mpc_qos(q: u8) -> mpc::Qos {
    mpc::Qos::try_from(q).unwrap()
}

fn mpc_entries(v5: bool) -> Vec<mpc::SubEntry> {
    FILTERS
        .iter()
        .enumerate()
        .map(|(i, &(f, q))| {
            let mut o = mpc::SubOpts::new().set_qos(mpc_qos(q));
            if v5 {
                match i {
                    0 => o = o.set_nl(true),
                    1 => o = o.set_rap(true),
                    2 => o = o.set_rh(mpc::RetainHandling::DoNotSendRetained),
                    _ => {}
                }
            }
            mpc::SubEntry::new(f, o).unwrap()
        })
        .collect()
}

fn mpc_subscribe_v5() -> mpc::v5_0::Subscribe {
    let props = vec![mpc::Property::SubscriptionIdentifier(
        mpc::SubscriptionIdentifier::new(SUB_ID).unwrap(),
    )];
    mpc::v5_0::Subscribe::builder()
        .packet_id(PKID)
        .entries(mpc_entries(true))
        .props(props)
        .build()
        .unwrap()
}

fn mpc_subscribe_v3() -> mpc::v3_1_1::Subscribe {
    mpc::v3_1_1::Subscribe::builder().packet_id(PKID).entries(mpc_entries(false)).build().unwrap()
}

// ---------------------------------------------------------------------------
// The benchmarks.

fn configure(g: &mut BenchmarkGroup<'_, WallTime>, wire_len: usize) {
    g.throughput(Throughput::Bytes(wire_len as u64));
}

/// The peers' decodes of one PUBLISH `wire`, as `label` in `g`: rumqttc's
/// v4 or v5 `read`, mqtt-protocol-core's `parse`.
fn bench_peer_decodes(g: &mut BenchmarkGroup<'_, WallTime>, c: PubCase, label: &str, wire: &Bytes) {
    if c.v5 {
        g.bench_with_input(BenchmarkId::new(RUMQTTC, label), wire, |b, wire| {
            b.iter(|| r5_read(black_box(wire)))
        });
    } else {
        g.bench_with_input(BenchmarkId::new(RUMQTTC, label), wire, |b, wire| {
            b.iter(|| r4_read(black_box(wire)))
        });
    }
    let input = MpcInput::new(wire);
    g.bench_with_input(BenchmarkId::new(MPC, label), &input, |b, input| {
        b.iter(|| mpc_decode_publish(c.v5, black_box(input)))
    });
}

/// The peers' encodes of the PUBLISH of case `c` with `payload`, as `label`
/// in `g`, into the reused `out`: rumqttc's `write` (it has no vectored
/// encode), and mqtt-protocol-core's `to_buffers()`, gathered into `out`
/// unless `vectored`.
fn bench_peer_encodes(
    g: &mut BenchmarkGroup<'_, WallTime>,
    c: PubCase,
    label: &str,
    payload: &Bytes,
    out: &mut BytesMut,
    vectored: bool,
) {
    if c.v5 {
        let p5 = r5_publish(c, payload);
        g.bench_with_input(BenchmarkId::new(RUMQTTC, label), &p5, |b, p| {
            b.iter(|| {
                out.clear();
                black_box(p).write(out).unwrap();
                black_box(&*out);
            })
        });
    } else {
        let p4 = r4_publish(c, payload);
        g.bench_with_input(BenchmarkId::new(RUMQTTC, label), &p4, |b, p| {
            b.iter(|| {
                out.clear();
                black_box(p).write(out).unwrap();
                black_box(&*out);
            })
        });
    }
    let pm = mpc_publish(c, payload);
    if vectored {
        g.bench_with_input(BenchmarkId::new(MPC, label), &pm, |b, p| {
            b.iter(|| match black_box(p) {
                MpcPublish::V3(p) => black_box(p.to_buffers()).len(),
                MpcPublish::V5(p) => black_box(p.to_buffers()).len(),
            })
        });
    } else {
        g.bench_with_input(BenchmarkId::new(MPC, label), &pm, |b, p| {
            b.iter(|| {
                out.clear();
                mpc_encode_publish(black_box(p), out);
                black_box(&*out);
            })
        });
    }
}

fn bench_publish(cr: &mut Criterion) {
    let cases = [
        PubCase { v5: false, qos1: false },
        PubCase { v5: false, qos1: true },
        PubCase { v5: true, qos1: false },
        PubCase { v5: true, qos1: true },
    ];
    for c in cases {
        let protocol = c.protocol();
        let mut dec = cr.benchmark_group(format!("publish_decode_{}", c.name()));
        for (size, label) in SIZES {
            let payload = payload(size);
            let ours = ours_publish(c, &payload);
            let wire = ours.encode_to_bytes(protocol).unwrap();
            check_publish(c, &payload, &wire);
            configure(&mut dec, wire.len());
            dec.bench_with_input(BenchmarkId::new(OURS, label), &wire, |b, wire| {
                b.iter(|| decode(protocol, black_box(wire), u32::MAX))
            });
            bench_peer_decodes(&mut dec, c, label, &wire);
        }
        dec.finish();

        // Borrowed decode: ours reads the PUBLISH in place (`decode_view`: no
        // reference counts, no allocation, the same validation) and then each
        // of its properties once. The peers have no borrowed decode, so their
        // owned decode stands in, timed again in this group.
        let mut bor = cr.benchmark_group(format!("publish_decode_borrowed_{}", c.name()));
        for (size, label) in SIZES {
            let wire = ours_publish(c, &payload(size)).encode_to_bytes(protocol).unwrap();
            configure(&mut bor, wire.len());
            bor.bench_with_input(BenchmarkId::new(OURS, label), &wire, |b, wire| {
                b.iter(|| ours_decode_view(protocol, black_box(&wire[..])))
            });
            bench_peer_decodes(&mut bor, c, label, &wire);
        }
        bor.finish();

        let mut enc = cr.benchmark_group(format!("publish_encode_{}", c.name()));
        for (size, label) in SIZES {
            let payload = payload(size);
            let ours = ours_publish(c, &payload);
            let wire_len = ours.encoded_len(protocol).unwrap();
            configure(&mut enc, wire_len);
            let mut out = BytesMut::with_capacity(wire_len * 2);
            enc.bench_with_input(BenchmarkId::new(OURS, label), &ours, |b, p| {
                b.iter(|| {
                    out.clear();
                    black_box(p).encode(protocol, &mut out).unwrap();
                    black_box(&out);
                })
            });
            bench_peer_encodes(&mut enc, c, label, &payload, &mut out, false);
        }
        enc.finish();

        // Vectored: the packet as the pieces a vectored write sends, the
        // payload not copied. Ours: `encode_header` into the reused buffer,
        // then the two `IoSlice`s, the payload's borrowed from the packet.
        // mqtt-protocol-core: `to_buffers()`, its native vectored path, whose
        // `IoSlice`s borrow from the packet the same way (not gathered).
        // rumqttc has no vectored encode, so its contiguous `write` stands in.
        let mut vec = cr.benchmark_group(format!("publish_encode_vectored_{}", c.name()));
        for (size, label) in SIZES {
            let payload = payload(size);
            let Packet::Publish(ours) = ours_publish(c, &payload) else { unreachable!() };
            let wire_len = ours.encoded_len(protocol).unwrap();
            configure(&mut vec, wire_len);
            let mut out = BytesMut::with_capacity(wire_len * 2);
            check_vectored(c, &ours, &payload);
            vec.bench_with_input(BenchmarkId::new(OURS, label), &ours, |b, p| {
                b.iter(|| {
                    out.clear();
                    let p = black_box(p);
                    p.encode_header(protocol, &mut out).unwrap();
                    black_box([IoSlice::new(&out), IoSlice::new(&p.payload)]);
                })
            });
            bench_peer_encodes(&mut vec, c, label, &payload, &mut out, true);
        }
        vec.finish();

        // Validated once: ours checks the packet before the loop
        // (`Publish::encoder`) and the loop only serializes it, as when one
        // message is sent many times (retransmission, fan-out to many
        // subscribers): `Encoder::write` (contiguous), `Encoder::write_header`
        // into a `BytesMut` and the borrowed payload (vectored), or
        // `Encoder::write_header_into` a stack array and the borrowed payload
        // (vectored, into a slice). Serialization against serialization: the
        // peers' encoders validate nothing, so they run exactly as in the
        // groups above, rumqttc's into a `BytesMut` as its API requires.
        for mode in [Written::Contiguous, Written::Vectored, Written::VectoredSlice] {
            let mut g = cr.benchmark_group(format!(
                "publish_encode_{}checked_once_{}",
                mode.prefix(),
                c.name()
            ));
            for (size, label) in SIZES {
                let payload = payload(size);
                let Packet::Publish(ours) = ours_publish(c, &payload) else { unreachable!() };
                let enc = ours.encoder(protocol).unwrap();
                configure(&mut g, enc.encoded_len());
                let mut out = BytesMut::with_capacity(enc.encoded_len() * 2);
                let mut slice = [0u8; 256];
                let whole = Packet::Publish(ours.clone()).encode_to_bytes(protocol).unwrap();
                enc.write_header(&mut out).unwrap();
                assert_eq!([&out[..], enc.payload()].concat(), &whole[..]);
                let n = enc.write_header_into(&mut slice).unwrap();
                assert_eq!([&slice[..n], enc.payload()].concat(), &whole[..]);
                g.bench_function(BenchmarkId::new(OURS, label), |b| match mode {
                    Written::Contiguous => b.iter(|| {
                        out.clear();
                        black_box(&enc).write(&mut out).unwrap();
                        black_box(&out);
                    }),
                    Written::Vectored => b.iter(|| {
                        out.clear();
                        let enc = black_box(&enc);
                        enc.write_header(&mut out).unwrap();
                        black_box([IoSlice::new(&out), IoSlice::new(enc.payload())]);
                    }),
                    Written::VectoredSlice => b.iter(|| {
                        let enc = black_box(&enc);
                        let n = enc.write_header_into(&mut slice).unwrap();
                        black_box([IoSlice::new(&slice[..n]), IoSlice::new(enc.payload())]);
                    }),
                });
                let vectored = mode != Written::Contiguous;
                bench_peer_encodes(&mut g, c, label, &payload, &mut out, vectored);
            }
            g.finish();
        }
    }
}

/// How the validated-once benchmarks write our PUBLISH.
#[derive(Clone, Copy, PartialEq)]
enum Written {
    /// The whole packet into a `BytesMut`.
    Contiguous,
    /// The header into a `BytesMut`, the payload borrowed.
    Vectored,
    /// The header into a stack array, the payload borrowed.
    VectoredSlice,
}

impl Written {
    /// The part of the group name that tells the mode.
    fn prefix(self) -> &'static str {
        match self {
            Written::Contiguous => "",
            Written::Vectored => "vectored_",
            Written::VectoredSlice => "vectored_slice_",
        }
    }
}

fn check_connect(v5: bool, wire: &Bytes) {
    let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
    let ours = ours_connect(v5);
    assert_eq!(ours_decode(protocol, wire), ours);
    let mut out = BytesMut::new();
    if v5 {
        let Ok(r5::Packet::Connect(c, w, l)) = r5_read(wire) else { panic!("rumqttc v5 decode") };
        let w = w.expect("rumqttc v5 will");
        assert_eq!((c.client_id.as_str(), &w.topic[..]), (CLIENT_ID, WILL_TOPIC.as_bytes()));
        assert_eq!(&w.message[..], WILL_PAYLOAD);
        assert_eq!(l.expect("rumqttc v5 login").password, PASS);
        let (c, w, l) = r5_connect();
        c.write(&w, &l, &mut out).unwrap();
        assert_same_encoding(RUMQTTC, protocol, &ours, &out);
        let (first, hl) = mpc_frame(wire).unwrap();
        assert_eq!(first, 0x10);
        let c = exact(mpc::v5_0::Connect::parse(&wire[hl..]), wire.len() - hl).unwrap();
        assert_eq!((c.client_id(), c.will_topic()), (CLIENT_ID, Some(WILL_TOPIC)));
        assert_eq!(c.will_payload(), Some(WILL_PAYLOAD));
        out.clear();
        gather(&mut out, mpc_connect_v5().to_buffers());
    } else {
        let Ok(r4::Packet::Connect(c)) = r4_read(wire) else { panic!("rumqttc v4 decode") };
        let w = c.last_will.expect("rumqttc v4 will");
        assert_eq!((c.client_id.as_str(), w.topic.as_str()), (CLIENT_ID, WILL_TOPIC));
        assert_eq!(&w.message[..], WILL_PAYLOAD);
        assert_eq!(c.login.expect("rumqttc v4 login").password, PASS);
        r4_connect().write(&mut out).unwrap();
        assert_same_encoding(RUMQTTC, protocol, &ours, &out);
        let (_, hl) = mpc_frame(wire).unwrap();
        let c = exact(mpc::v3_1_1::Connect::parse(&wire[hl..]), wire.len() - hl).unwrap();
        assert_eq!((c.client_id(), c.will_topic()), (CLIENT_ID, Some(WILL_TOPIC)));
        assert_eq!(c.will_payload(), Some(WILL_PAYLOAD));
        out.clear();
        gather(&mut out, mpc_connect_v3().to_buffers());
    }
    assert_same_encoding(MPC, protocol, &ours, &out);
}

fn check_subscribe(v5: bool, wire: &Bytes) {
    let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
    let ours = ours_subscribe(v5);
    assert_eq!(ours_decode(protocol, wire), ours);
    let mut out = BytesMut::new();
    let paths: Vec<String>;
    let mpc_paths: Vec<String>;
    if v5 {
        let Ok(r5::Packet::Subscribe(s)) = r5_read(wire) else { panic!("rumqttc v5 decode") };
        assert_eq!(s.properties.as_ref().and_then(|p| p.id), Some(SUB_ID as usize));
        paths = s.filters.iter().map(|f| f.path.clone()).collect();
        r5_subscribe().write(&mut out).unwrap();
        assert_same_encoding(RUMQTTC, protocol, &ours, &out);
        let (_, hl) = mpc_frame(wire).unwrap();
        let s = exact(mpc::v5_0::Subscribe::parse(&wire[hl..]), wire.len() - hl).unwrap();
        mpc_paths = s.entries().iter().map(|e| e.topic_filter().to_owned()).collect();
        out.clear();
        gather(&mut out, mpc_subscribe_v5().to_buffers());
    } else {
        let Ok(r4::Packet::Subscribe(s)) = r4_read(wire) else { panic!("rumqttc v4 decode") };
        paths = s.filters.iter().map(|f| f.path.clone()).collect();
        r4_subscribe().write(&mut out).unwrap();
        assert_same_encoding(RUMQTTC, protocol, &ours, &out);
        let (_, hl) = mpc_frame(wire).unwrap();
        let s = exact(mpc::v3_1_1::Subscribe::parse(&wire[hl..]), wire.len() - hl).unwrap();
        mpc_paths = s.entries().iter().map(|e| e.topic_filter().to_owned()).collect();
        out.clear();
        gather(&mut out, mpc_subscribe_v3().to_buffers());
    }
    let expected: Vec<String> = FILTERS.iter().map(|&(f, _)| f.to_owned()).collect();
    assert_eq!(paths, expected);
    assert_eq!(mpc_paths, expected);
    assert_same_encoding(MPC, protocol, &ours, &out);
}

/// Decode and encode groups for a non-PUBLISH packet type, both versions.
fn bench_other(cr: &mut Criterion, kind: &str) {
    for v5 in [false, true] {
        let protocol = if v5 { Protocol::V5 } else { Protocol::V311 };
        let ver = if v5 { "v5" } else { "v311" };
        let (ours, check): (Packet, fn(bool, &Bytes)) = match kind {
            "connect" => (ours_connect(v5), check_connect),
            _ => (ours_subscribe(v5), check_subscribe),
        };
        let wire = ours.encode_to_bytes(protocol).unwrap();
        check(v5, &wire);
        let (_, hl) = mpc_frame(&wire).unwrap();

        let mut dec = cr.benchmark_group(format!("{kind}_decode"));
        configure(&mut dec, wire.len());
        dec.bench_with_input(BenchmarkId::new(OURS, ver), &wire, |b, wire| {
            b.iter(|| decode(protocol, black_box(wire), u32::MAX))
        });
        if v5 {
            dec.bench_with_input(BenchmarkId::new(RUMQTTC, ver), &wire, |b, wire| {
                b.iter(|| r5_read(black_box(wire)))
            });
        } else {
            dec.bench_with_input(BenchmarkId::new(RUMQTTC, ver), &wire, |b, wire| {
                b.iter(|| r4_read(black_box(wire)))
            });
        }
        let body_len = wire.len() - hl;
        dec.bench_with_input(BenchmarkId::new(MPC, ver), &wire, |b, wire| {
            b.iter(|| {
                let wire = black_box(wire);
                let Ok((_, hl)) = mpc_frame(wire) else { return false };
                let body = &wire[hl..];
                match (kind, v5) {
                    ("connect", true) => {
                        black_box(exact(mpc::v5_0::Connect::parse(body), body_len)).is_some()
                    }
                    ("connect", false) => {
                        black_box(exact(mpc::v3_1_1::Connect::parse(body), body_len)).is_some()
                    }
                    (_, true) => {
                        black_box(exact(mpc::v5_0::Subscribe::parse(body), body_len)).is_some()
                    }
                    (_, false) => {
                        black_box(exact(mpc::v3_1_1::Subscribe::parse(body), body_len)).is_some()
                    }
                }
            })
        });
        dec.finish();

        let mut enc = cr.benchmark_group(format!("{kind}_encode"));
        configure(&mut enc, wire.len());
        let mut out = BytesMut::with_capacity(wire.len() * 2);
        enc.bench_with_input(BenchmarkId::new(OURS, ver), &ours, |b, p| {
            b.iter(|| {
                out.clear();
                black_box(p).encode(protocol, &mut out).unwrap();
                black_box(&out);
            })
        });
        match (kind, v5) {
            ("connect", true) => {
                let (c, w, l) = r5_connect();
                enc.bench_function(BenchmarkId::new(RUMQTTC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&c).write(black_box(&w), black_box(&l), &mut out).unwrap();
                        black_box(&out);
                    })
                });
                let m = mpc_connect_v5();
                enc.bench_function(BenchmarkId::new(MPC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        gather(&mut out, black_box(&m).to_buffers());
                        black_box(&out);
                    })
                });
            }
            ("connect", false) => {
                let c = r4_connect();
                enc.bench_function(BenchmarkId::new(RUMQTTC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&c).write(&mut out).unwrap();
                        black_box(&out);
                    })
                });
                let m = mpc_connect_v3();
                enc.bench_function(BenchmarkId::new(MPC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        gather(&mut out, black_box(&m).to_buffers());
                        black_box(&out);
                    })
                });
            }
            (_, true) => {
                let s = r5_subscribe();
                enc.bench_function(BenchmarkId::new(RUMQTTC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&s).write(&mut out).unwrap();
                        black_box(&out);
                    })
                });
                let m = mpc_subscribe_v5();
                enc.bench_function(BenchmarkId::new(MPC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        gather(&mut out, black_box(&m).to_buffers());
                        black_box(&out);
                    })
                });
            }
            (_, false) => {
                let s = r4_subscribe();
                enc.bench_function(BenchmarkId::new(RUMQTTC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&s).write(&mut out).unwrap();
                        black_box(&out);
                    })
                });
                let m = mpc_subscribe_v3();
                enc.bench_function(BenchmarkId::new(MPC, ver), |b| {
                    b.iter(|| {
                        out.clear();
                        gather(&mut out, black_box(&m).to_buffers());
                        black_box(&out);
                    })
                });
            }
        }
        enc.finish();
    }
}

fn bench_connect(cr: &mut Criterion) {
    bench_other(cr, "connect");
}

fn bench_subscribe(cr: &mut Criterion) {
    bench_other(cr, "subscribe");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = bench_publish, bench_connect, bench_subscribe
}
criterion_main!(benches);
