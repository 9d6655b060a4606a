//! The borrowed decoder, `decode_view`, against the owned one:
//!
//! - a valid PUBLISH reads the same through its [`PublishView`] (fields,
//!   every property accessor, wire order of the properties), and its topic
//!   and payload are the input's own bytes, not copies;
//! - on any bytes, valid, mutated or arbitrary, `decode_view` gives what
//!   `decode` gives: the same packet, the same length, or the same error
//!   (reason code, offset and message);
//! - each property rule of a PUBLISH is reached and refused alike.

mod strategies;

use mqtt_engine::codec::{
    decode, decode_view, FixedHeader, Packet, PacketView, Protocol, Publish, PublishProperty,
};
use mqtt_engine::{Bytes, ReasonCode};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{
    any_packet, apply_edits, config, for_each_protocol_and_limit, packet_edits, protocol, publish,
    vbi,
};

fn fail(what: &str, e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e}"))
}

/// `decode_view` and `decode` agree on `bytes`.
fn check_same(protocol: Protocol, bytes: &[u8], max: u32) -> Result<(), TestCaseError> {
    let owned = decode(protocol, &Bytes::copy_from_slice(bytes), max);
    let view = decode_view(protocol, bytes, max);
    match (&owned, &view) {
        (Ok(Some((Packet::Publish(p), n))), Ok(Some((PacketView::Publish(w), m)))) => {
            prop_assert_eq!(n, m);
            prop_assert_eq!(&w.to_publish(), p);
        }
        (Ok(Some((p, n))), Ok(Some((PacketView::Other(q), m)))) => {
            prop_assert_eq!(n, m);
            prop_assert_eq!(p, q);
            prop_assert!(!matches!(p, Packet::Publish(_)), "a PUBLISH came out owned");
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => prop_assert_eq!(a, b),
        _ => prop_assert!(false, "decode gave {:?}, decode_view {:?}", owned, view),
    }
    Ok(())
}

/// Everything a view offers, compared with the owned packet it came from.
fn check_view_of(protocol: Protocol, p: &Publish) -> Result<(), TestCaseError> {
    let bytes =
        Packet::Publish(p.clone()).encode_to_vec(protocol).map_err(|e| fail("encode", e))?;
    let Ok(Some((PacketView::Publish(w), n))) = decode_view(protocol, &bytes, u32::MAX) else {
        return Err(fail("decode_view", "no PUBLISH"));
    };
    prop_assert_eq!(n, bytes.len());
    prop_assert_eq!((w.dup, w.qos, w.retain, w.packet_id), (p.dup, p.qos, p.retain, p.packet_id));
    prop_assert_eq!(w.topic, p.topic.as_str());
    prop_assert_eq!(w.payload, &p.payload[..]);
    // Zero copy: topic and payload lie inside the input.
    let inside = |s: &[u8]| bytes.as_ptr_range().contains(&s.as_ptr()) || s.is_empty();
    prop_assert!(inside(w.topic.as_bytes()) && inside(w.payload), "a field was copied");

    let props = &p.properties;
    prop_assert_eq!(w.payload_format_indicator(), props.payload_format_indicator);
    prop_assert_eq!(w.message_expiry_interval(), props.message_expiry_interval);
    prop_assert_eq!(w.content_type(), props.content_type.as_deref());
    prop_assert_eq!(w.response_topic(), props.response_topic.as_deref());
    prop_assert_eq!(w.correlation_data(), props.correlation_data.as_deref());
    prop_assert_eq!(w.topic_alias(), props.topic_alias);
    prop_assert_eq!(
        w.subscription_identifiers().collect::<Vec<_>>(),
        &props.subscription_identifiers[..]
    );
    let users: Vec<(&str, &str)> =
        props.user_properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    prop_assert_eq!(w.user_properties().collect::<Vec<_>>(), users);
    prop_assert_eq!(w.properties().count(), count_properties(p));
    prop_assert_eq!(&w.to_publish(), p);
    Ok(())
}

fn count_properties(p: &Publish) -> usize {
    let f = &p.properties;
    [
        f.payload_format_indicator.is_some(),
        f.message_expiry_interval.is_some(),
        f.content_type.is_some(),
        f.response_topic.is_some(),
        f.correlation_data.is_some(),
        f.topic_alias.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count()
        + f.subscription_identifiers.len()
        + f.user_properties.len()
}

/// A PUBLISH (QoS 1, topic "a/b", packet identifier 1) whose MQTT 5.0
/// property list is `props`, with a 2-byte payload.
fn publish_with_properties(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00, 0x03, b'a', b'/', b'b', 0x00, 0x01];
    body.extend(vbi(props.len() as u32));
    body.extend_from_slice(props);
    body.extend_from_slice(b"hi");
    let mut bytes = vec![0x32];
    bytes.extend(vbi(body.len() as u32));
    bytes.extend(body);
    bytes
}

/// Each rule on PUBLISH properties, as the owned decoder enforces it, is
/// enforced by `decode_view` with the same reason code, offset and message.
#[test]
fn each_publish_property_rule_is_refused_alike() {
    let cases: [(&str, &[u8], u8); 12] = [
        ("Payload Format Indicator twice (§3.3.2.3.2)", &[0x01, 0, 0x01, 1], 0x82),
        ("Payload Format Indicator 2", &[0x01, 2], 0x82),
        ("Topic Alias 0 [MQTT-3.3.2-8]", &[0x23, 0, 0], 0x82),
        ("Subscription Identifier 0", &[0x0B, 0], 0x82),
        ("Response Topic with a wildcard [MQTT-3.3.2-14]", &[0x08, 0, 3, b'a', b'/', b'#'], 0x82),
        ("empty Response Topic", &[0x08, 0, 0], 0x82),
        ("Session Expiry Interval, not allowed in PUBLISH", &[0x11, 0, 0, 0, 1], 0x81),
        ("unknown identifier 0x7F", &[0x7F, 0], 0x81),
        ("Content Type holding U+0000 [MQTT-1.5.4-2]", &[0x03, 0, 1, 0], 0x81),
        ("Content Type not UTF-8 [MQTT-1.5.4-1]", &[0x03, 0, 1, 0xFF], 0x81),
        ("Correlation Data longer than the packet", &[0x09, 0, 9, 1], 0x81),
        ("User Property with a name and no value", &[0x26, 0, 1, b'k'], 0x81),
    ];
    for (what, props, code) in cases {
        let bytes = publish_with_properties(props);
        let owned = decode(Protocol::V5, &Bytes::copy_from_slice(&bytes), u32::MAX);
        let view = decode_view(Protocol::V5, &bytes, u32::MAX);
        assert_eq!(owned.as_ref().err().map(|e| e.reason_code), Some(ReasonCode(code)), "{what}");
        assert_eq!(view.err(), owned.err(), "{what}");
    }
    // And the same list shape, valid, is accepted by both.
    let ok = publish_with_properties(&[0x01, 1, 0x0B, 7, 0x0B, 9, 0x26, 0, 1, b'k', 0, 0]);
    let Ok(Some((PacketView::Publish(w), _))) = decode_view(Protocol::V5, &ok, u32::MAX) else {
        panic!("valid properties refused");
    };
    let all: Vec<PublishProperty<'_>> = w.properties().collect();
    assert_eq!(
        all,
        [
            PublishProperty::PayloadFormatIndicator(1),
            PublishProperty::SubscriptionIdentifier(7),
            PublishProperty::SubscriptionIdentifier(9),
            PublishProperty::UserProperty("k", ""),
        ]
    );
    assert_eq!(w.properties_bytes(), &ok[ok.len() - 2 - 12..ok.len() - 2]);
}

/// An empty Topic Name needs a Topic Alias in 5.0 and is Malformed in 3.1.1
/// [MQTT-4.7.3-1]; both decoders say so in the same words.
#[test]
fn an_empty_topic_is_refused_alike_mqtt_4_7_3_1() {
    for (protocol, bytes) in [
        (Protocol::V311, &[0x30, 0x03, 0x00, 0x00, b'x'][..]),
        (Protocol::V5, &[0x30, 0x04, 0x00, 0x00, 0x00, b'x'][..]),
    ] {
        let owned = decode(protocol, &Bytes::copy_from_slice(bytes), u32::MAX);
        assert!(owned.is_err(), "{protocol:?}");
        assert_eq!(decode_view(protocol, bytes, u32::MAX).err(), owned.err());
    }
}

/// A packet that is not a PUBLISH comes out owned and whole; a partial one is
/// incomplete; an oversized one is refused from its fixed header (0x95).
#[test]
fn other_packets_partial_and_oversized_input() {
    let pingreq = [0xC0, 0x00];
    assert_eq!(
        decode_view(Protocol::V5, &pingreq, u32::MAX),
        Ok(Some((PacketView::Other(Packet::Pingreq), 2)))
    );
    let bytes = publish_with_properties(&[]);
    for cut in 0..bytes.len() {
        assert_eq!(decode_view(Protocol::V5, &bytes[..cut], u32::MAX), Ok(None), "prefix {cut}");
    }
    let header = FixedHeader::parse(&bytes).ok().flatten().map(|h| h.header_length);
    assert_eq!(header, Some(2));
    let err = decode_view(Protocol::V5, &bytes[..2], 4).err().map(|e| e.reason_code);
    assert_eq!(err, Some(ReasonCode::PACKET_TOO_LARGE));
}

proptest! {
    #![proptest_config(config(512))]

    /// Every valid PUBLISH reads the same through its view.
    #[test]
    fn a_valid_publish_reads_the_same_through_its_view(
        (protocol, p) in protocol().prop_flat_map(|v| (Just(v), publish(v))),
    ) {
        check_view_of(protocol, &p)?;
    }

    /// Valid packets of every type, PUBLISH among them, and then the same
    /// packets with a few bytes changed, inserted or cut off.
    #[test]
    fn valid_and_mutated_packets_decode_the_same(
        (protocol, p) in any_packet(),
        edits in packet_edits(0),
    ) {
        let mut bytes = p.encode_to_vec(protocol).map_err(|e| fail("encode", e))?;
        check_same(protocol, &bytes, u32::MAX)?;
        apply_edits(&mut bytes, &edits);
        for_each_protocol_and_limit(&bytes, check_same)?;
    }

    /// PUBLISH packets with a few bytes of their body changed and the
    /// Remaining Length rewritten to fit, so that the change reaches the
    /// topic, packet identifier and property checks.
    #[test]
    fn mutated_publish_bodies_decode_the_same(
        (protocol, p) in protocol().prop_flat_map(|v| (Just(v), publish(v))),
        edits in packet_edits(1),
    ) {
        let bytes = Packet::Publish(p).encode_to_vec(protocol).map_err(|e| fail("encode", e))?;
        let h = FixedHeader::parse(&bytes).map_err(|e| fail("header", e))?
            .ok_or_else(|| fail("header", "incomplete"))?;
        let mut body = bytes[h.header_length..].to_vec();
        apply_edits(&mut body, &edits);
        let mut framed = vec![bytes[0]];
        framed.extend(vbi(body.len() as u32));
        framed.extend(body);
        for_each_protocol_and_limit(&framed, check_same)?;
    }

    /// A PUBLISH fixed header (any flags) over an arbitrary body.
    #[test]
    fn arbitrary_publish_bodies_decode_the_same(flags in 0u8..16, body in vec(any::<u8>(), 0..96)) {
        let mut bytes = vec![0x30 | flags];
        bytes.extend(vbi(body.len() as u32));
        bytes.extend(body);
        for_each_protocol_and_limit(&bytes, check_same)?;
    }
}
