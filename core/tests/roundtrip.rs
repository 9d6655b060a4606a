//! Property tests of the codec on whole packets (DESIGN §4, §8):
//!
//! - every valid packet of both versions encodes to exactly `encoded_len`
//!   bytes and decodes back to itself, and those bytes re-encode unchanged;
//! - `Packet::encode_within` drops the Reason String, then the User
//!   Properties, only where MQTT 5.0 allows it, and otherwise refuses with
//!   Packet too large (0x95) without writing anything;
//! - arbitrary bytes never make `decode` panic: they are incomplete, or a
//!   packet that survives a round trip, or refused with 0x81, 0x82, 0x84 or 0x95.

mod strategies;

use mqtt_engine::codec::{decode, decode_exact, Encoder, FixedHeader, Packet, Protocol, Publish};
use mqtt_engine::{Bytes, QoS, ReasonCode};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{
    any_packet, apply_edits, config, for_each_protocol_and_limit, packet, packet_edits,
    sheddable_properties, vbi,
};

/// The codes a decode error may carry.
const DECODE_CODES: [u8; 4] = [0x81, 0x82, 0x84, 0x95];

fn fail(what: &str, e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e}"))
}

/// The whole round trip of one valid packet.
fn check_roundtrip(protocol: Protocol, p: &Packet) -> Result<(), TestCaseError> {
    let len = p.encoded_len(protocol).map_err(|e| fail("encoded_len", e))?;

    let mut out = Vec::new();
    let n = p.encode(protocol, &mut out).map_err(|e| fail("encode", e))?;
    prop_assert_eq!(n, len, "encode returned a length other than encoded_len");
    prop_assert_eq!(out.len(), len, "encode wrote a length other than encoded_len");

    // The fixed header announces exactly the rest of the bytes.
    let header = FixedHeader::parse(&out).map_err(|e| fail("fixed header", e))?;
    prop_assert_eq!(header.map(|h| h.packet_length()), Some(len));

    let bytes = Bytes::from(out);
    let back = decode_exact(protocol, &bytes).map_err(|e| fail("decode", e))?;
    prop_assert_eq!(&back, p);

    if let (Packet::Publish(msg), Packet::Publish(decoded)) = (p, &back) {
        // The vectored form: the header, then the payload as it is.
        let mut head = Vec::new();
        let h = msg.encode_header(protocol, &mut head).map_err(|e| fail("encode_header", e))?;
        prop_assert_eq!(h, head.len());
        prop_assert_eq!(h + msg.payload.len(), len);
        head.extend_from_slice(&msg.payload);
        prop_assert_eq!(&head[..], &bytes[..]);
        // Decoding a Property Length of 0 leaves the properties unallocated.
        prop_assert_eq!(decoded.properties.fields().is_none(), decoded.properties.is_empty());
    }

    // Validated once by `encoder`, then written as header + payload: the
    // same bytes; a buffer one byte short of the header gets nothing.
    let enc = p.encoder(protocol).map_err(|e| fail("encoder", e))?;
    let mut parts = Vec::new();
    let h = enc.write_header(&mut parts).map_err(|e| fail("write_header", e))?;
    prop_assert_eq!(h, parts.len());
    let mut short = vec![0u8; h - 1];
    prop_assert!(enc.write_header(&mut &mut short[..]).is_err());
    prop_assert!(short.iter().all(|&b| b == 0), "write_header wrote into a short buffer");
    parts.extend_from_slice(enc.payload());
    prop_assert_eq!(&parts[..], &bytes[..]);
    check_header_into(&enc, &parts[..h])?;

    // encode(decode(b)) == b.
    let again = back.encode_to_bytes(protocol).map_err(|e| fail("re-encode", e))?;
    prop_assert_eq!(&again, &bytes);
    prop_assert_eq!(p.encode_to_vec(protocol).map_err(|e| fail("encode_to_vec", e))?, &bytes[..]);

    // A limit of exactly the packet's size admits it, one byte less refuses it.
    let exact = decode(protocol, &bytes, len as u32).map_err(|e| fail("decode at limit", e))?;
    prop_assert_eq!(exact, Some((p.clone(), len)));
    let small = decode(protocol, &bytes, len as u32 - 1);
    prop_assert_eq!(small.map_err(|e| e.reason_code), Err(ReasonCode::PACKET_TOO_LARGE));

    // Bytes after the packet are left alone.
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(&[0xC0, 0x00, 0xFF]);
    let longer = Bytes::from(longer);
    let first = decode(protocol, &longer, u32::MAX).map_err(|e| fail("decode with a tail", e))?;
    prop_assert_eq!(first, Some((p.clone(), len)));
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn roundtrip_v311(p in packet(Protocol::V311)) {
        check_roundtrip(Protocol::V311, &p)?;
    }

    #[test]
    fn roundtrip_v5(p in packet(Protocol::V5)) {
        check_roundtrip(Protocol::V5, &p)?;
    }
}

/// `Encoder::write_header_into` writes `header` into the start of a slice and
/// leaves the rest of it alone; into a slice one byte short it writes nothing.
fn check_header_into(enc: &Encoder<'_>, header: &[u8]) -> Result<(), TestCaseError> {
    let h = header.len();
    let mut buf = vec![0xEEu8; h + 9];
    let n = enc.write_header_into(&mut buf).map_err(|e| fail("write_header_into", e))?;
    prop_assert_eq!(n, h);
    prop_assert_eq!(&buf[..h], header);
    prop_assert!(buf[h..].iter().all(|&b| b == 0xEE), "wrote past the header: {:x?}", &buf);
    let mut exact = vec![0xEEu8; h];
    prop_assert_eq!(enc.write_header_into(&mut exact).ok(), Some(h));
    prop_assert_eq!(&exact[..], header);
    let mut short = vec![0xEEu8; h - 1];
    prop_assert!(enc.write_header_into(&mut short).is_err());
    prop_assert!(short.iter().all(|&b| b == 0xEE), "write_header_into wrote into a short buffer");
    Ok(())
}

/// `write_header_into` writes a PUBLISH header without properties as
/// overlapping eight-byte stores when it is long enough: every header length
/// around eight bytes, with and without a Packet Identifier, and Remaining
/// Lengths of one to four bytes, gives the bytes `write_header` gives.
#[test]
fn header_into_a_slice_at_every_short_length() {
    for protocol in [Protocol::V311, Protocol::V5] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            for topic_len in 1..=12 {
                for payload in [0usize, 200, 20_000, 2_097_152] {
                    let msg = Publish {
                        qos,
                        packet_id: (qos != QoS::AtMostOnce).then_some(0x1234),
                        ..Publish::new("t".repeat(topic_len), vec![7; payload])
                    };
                    let enc = msg.encoder(protocol).expect("valid PUBLISH");
                    let mut header = Vec::new();
                    enc.write_header(&mut header).expect("room");
                    check_header_into(&enc, &header)
                        .unwrap_or_else(|e| panic!("{protocol:?} {qos:?} topic {topic_len}: {e}"));
                }
            }
        }
    }
}

/// Large Remaining Lengths: two-, three- and four-byte Variable Byte Integers.
#[test]
fn roundtrip_of_large_publishes() {
    for size in [127usize, 128, 16_383, 16_384, 20_000, 2_097_152] {
        for protocol in [Protocol::V311, Protocol::V5] {
            let p = Packet::Publish(Publish {
                qos: QoS::AtLeastOnce,
                packet_id: Some(9),
                ..Publish::new("big/payload", vec![0xA5; size])
            });
            let len = p.encoded_len(protocol).expect("valid PUBLISH");
            let bytes = p.encode_to_bytes(protocol).expect("valid PUBLISH");
            assert_eq!(bytes.len(), len, "size {size}");
            assert_eq!(decode_exact(protocol, &bytes).expect("decodes"), p, "size {size}");
        }
    }
}

// ---------------------------------------------------------------------------
// encode_within.

/// What `encode_within(protocol, max)` must produce: the packet itself if it
/// fits; for the packets that allow it in 5.0, the packet without its Reason
/// String, else without Reason String and User Properties, if that fits;
/// otherwise nothing (Packet too large).
fn expected_within(protocol: Protocol, p: &Packet, max: usize) -> Option<Packet> {
    let fits = |q: &Packet| q.encoded_len(protocol).map(|l| l <= max).unwrap_or(false);
    if fits(p) {
        return Some(p.clone());
    }
    let mut q = p.clone();
    let props = sheddable_properties(&mut q)?;
    props.reason_string = None;
    if fits(&q) {
        return Some(q);
    }
    sheddable_properties(&mut q)?.user_properties.clear();
    fits(&q).then_some(q)
}

fn check_within(protocol: Protocol, p: &Packet, max: usize) -> Result<(), TestCaseError> {
    let expected = expected_within(protocol, p, max);
    let mut out = Vec::new();
    let result = p.encode_within(protocol, max as u32, &mut out);
    match expected {
        Some(q) => {
            let n = result.map_err(|e| fail("encode_within", e))?;
            prop_assert_eq!(n, out.len());
            prop_assert!(n <= max);
            prop_assert_eq!(&out, &q.encode_to_vec(protocol).map_err(|e| fail("encode", e))?);
            let back = decode_exact(protocol, &Bytes::from(out)).map_err(|e| fail("decode", e))?;
            prop_assert_eq!(back, q);
        }
        None => {
            prop_assert_eq!(result.map_err(|e| e.reason_code), Err(ReasonCode::PACKET_TOO_LARGE));
            prop_assert!(out.is_empty(), "a refused packet wrote {} bytes", out.len());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// MQTT 5.0 lets a sender leave out the Reason String and User Properties
    /// of CONNACK, PUBACK..PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and AUTH to
    /// stay within the receiver's Maximum Packet Size ([MQTT-3.2.2-19],
    /// [MQTT-3.2.2-20], [MQTT-3.4.2-2], [MQTT-3.4.2-3], [MQTT-3.5.2-2],
    /// [MQTT-3.5.2-3], [MQTT-3.6.2-2], [MQTT-3.6.2-3], [MQTT-3.7.2-2],
    /// [MQTT-3.7.2-3], [MQTT-3.9.2-1], [MQTT-3.9.2-2], [MQTT-3.11.2-1],
    /// [MQTT-3.11.2-2], [MQTT-3.14.2-3], [MQTT-3.14.2-4], [MQTT-3.15.2-2],
    /// [MQTT-3.15.2-3]); any other packet above the limit is not sent
    /// ([MQTT-3.1.2-24], [MQTT-3.2.2-15]).
    #[test]
    fn encode_within_drops_reason_string_then_user_properties_or_refuses_mqtt_3_1_2_24(
        (protocol, p) in any_packet(),
        below in 0usize..64,
        fraction in 0u32..=256,
        near in any::<bool>(),
    ) {
        let len = p.encoded_len(protocol).map_err(|e| fail("encoded_len", e))?;
        let max = if near { len.saturating_sub(below) } else { len * fraction as usize / 256 };
        check_within(protocol, &p, max)?;
    }
}

/// The limit where dropping the Reason String is enough only because the
/// Remaining Length then takes one byte less: the User Properties stay.
#[test]
fn encode_within_keeps_user_properties_when_reason_string_is_enough() {
    use mqtt_engine::codec::{Properties, PropertyFields, PubAck};
    for rs_len in 0..6usize {
        for up_len in 0..140usize {
            let p = Packet::Puback(PubAck {
                packet_id: 1,
                reason_code: ReasonCode::SUCCESS,
                properties: Properties::from(PropertyFields {
                    reason_string: Some("r".repeat(rs_len).into()),
                    user_properties: vec![("k".into(), "v".repeat(up_len).into())],
                    ..PropertyFields::default()
                }),
            });
            let len = p.encoded_len(Protocol::V5).expect("valid PUBACK");
            for max in len.saturating_sub(12)..=len {
                if let Err(e) = check_within(Protocol::V5, &p, max) {
                    panic!("rs {rs_len}, up {up_len}, len {len}, max {max}: {e}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Arbitrary bytes.

/// Decodes `bytes` and checks the outcome is one the codec promises.
fn check_decode_any(protocol: Protocol, bytes: &[u8], max: u32) -> Result<(), TestCaseError> {
    let buf = Bytes::copy_from_slice(bytes);
    match decode(protocol, &buf, max) {
        Ok(None) => {
            // Only a packet that has not fully arrived is incomplete.
            match FixedHeader::parse(bytes) {
                Ok(None) => {}
                Ok(Some(h)) => prop_assert!(h.packet_length() > bytes.len()),
                Err(e) => return Err(fail("decode said incomplete but the header is bad", e)),
            }
        }
        Ok(Some((p, n))) => {
            prop_assert!(n <= bytes.len());
            let encoded =
                p.encode_to_bytes(protocol).map_err(|e| fail("re-encoding a decoded packet", e))?;
            prop_assert!(
                encoded.len() <= n,
                "re-encoding grew the packet: {} > {}",
                encoded.len(),
                n
            );
            let back = decode_exact(protocol, &encoded)
                .map_err(|e| fail("decoding the re-encoded packet", e))?;
            prop_assert_eq!(back, p);
        }
        Err(e) => {
            prop_assert!(
                DECODE_CODES.contains(&e.reason_code.0),
                "unexpected reason code {:?} ({})",
                e.reason_code,
                e.message
            );
        }
    }
    Ok(())
}

/// The first byte of a packet: a real type with its required flags (or, for
/// PUBLISH, any flags), often; anything, sometimes.
fn first_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(vec![
            0x10, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x3A, 0x3B, 0x3C, 0x3D, 0x40, 0x50,
            0x62, 0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0,
        ]),
        1 => any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Bytes with no structure at all.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..96)) {
        for_each_protocol_and_limit(&bytes, check_decode_any)?;
    }

    /// A well-framed fixed header over an arbitrary body, so that the body
    /// parsers of every packet type see garbage.
    #[test]
    fn arbitrary_bodies_never_panic(first in first_byte(), body in vec(any::<u8>(), 0..96)) {
        let mut bytes = vec![first];
        bytes.extend(vbi(body.len() as u32));
        bytes.extend(body);
        for_each_protocol_and_limit(&bytes, check_decode_any)?;
    }

    /// Valid packets with a few bytes changed, inserted or cut off: close
    /// enough to valid to reach the deep checks.
    #[test]
    fn mutated_packets_never_panic(
        (protocol, p) in any_packet(),
        edits in packet_edits(1),
        fix_length in any::<bool>(),
    ) {
        let mut bytes = p.encode_to_vec(protocol).map_err(|e| fail("encode", e))?;
        apply_edits(&mut bytes, &edits);
        if fix_length && bytes.len() > 1 {
            // Rewrite the Remaining Length to match what is left, keeping the first byte.
            let first = bytes[0];
            let header_len = match FixedHeader::parse(&bytes) {
                Ok(Some(h)) => h.header_length,
                _ => 2,
            };
            let body = bytes.split_off(header_len.min(bytes.len()));
            bytes = vec![first];
            bytes.extend(vbi(body.len() as u32));
            bytes.extend(body);
        }
        check_decode_any(protocol, &bytes, u32::MAX)?;
        let other = if protocol == Protocol::V5 { Protocol::V311 } else { Protocol::V5 };
        check_decode_any(other, &bytes, u32::MAX)?;
    }
}

/// Fixed headers the standard forbids: over-long and non-minimal Variable
/// Byte Integers [MQTT-1.5.5-1] are Malformed.
#[test]
fn bad_remaining_lengths_are_malformed_mqtt_1_5_5_1() {
    for bytes in [
        &[0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0x01][..],
        &[0xC0, 0x80, 0x00],
        &[0xC0, 0x80, 0x80, 0x00],
        &[0x30, 0x81, 0x80, 0x80, 0x00],
    ] {
        let err = decode(Protocol::V5, &Bytes::copy_from_slice(bytes), u32::MAX)
            .expect_err("malformed remaining length");
        assert_eq!(err.reason_code, ReasonCode::MALFORMED_PACKET, "{bytes:02x?}");
    }
}
