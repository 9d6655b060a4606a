//! Stream framing (DESIGN §3, §4, §8):
//!
//! - every proper prefix of a packet is "incomplete", for `decode` and for `Decoder`;
//! - a stream of packets split at every single point, at random points, or a
//!   byte at a time, decodes through `Decoder::push` to the same packets in order,
//!   taken by `Decoder::next_packet` or, borrowed, by `Decoder::next_view`;
//! - on damaged streams `next_view` gives the packets and the error
//!   `next_packet` gives;
//! - a fixed header announcing more than the maximum packet size is refused
//!   with Packet too large (0x95) as soon as it is complete, keeping nothing;
//! - decoded topics and payloads are slices of the input, not copies.

mod strategies;

use mqtt_engine::codec::{
    decode, DecodeError, Decoder, Packet, PacketView, Properties, PropertyFields, Protocol, Publish,
};
use mqtt_engine::{Bytes, QoS, ReasonCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use strategies::{any_packet, apply_edits, config, packet_edits, packets, publish, vbi};

fn fail(what: &str, e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {e}"))
}

fn encode_all(protocol: Protocol, packets: &[Packet]) -> Result<Vec<u8>, TestCaseError> {
    let mut out = Vec::new();
    for p in packets {
        p.encode(protocol, &mut out).map_err(|e| fail("encode", e))?;
    }
    Ok(out)
}

/// Feeds `chunks` to a fresh decoder, taking every packet after each push;
/// checks nothing is left buffered at the end.
fn feed<'a>(
    protocol: Protocol,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Packet>, TestCaseError> {
    let mut d = Decoder::new(protocol);
    let mut out = Vec::new();
    for chunk in chunks {
        d.push(chunk).map_err(|e| fail("push", e))?;
        while let Some(p) = d.next_packet().map_err(|e| fail("next_packet", e))? {
            out.push(p);
        }
    }
    prop_assert_eq!(d.buffered(), 0, "bytes left in the decoder");
    prop_assert_eq!(d.next_packet().map_err(|e| fail("next_packet", e))?, None);
    Ok(out)
}

/// One packet from [`Decoder::next_view`], owned so that it compares with
/// what [`Decoder::next_packet`] gives.
fn next_view_owned(d: &mut Decoder) -> Result<Option<Packet>, DecodeError> {
    Ok(d.next_view()?.map(PacketView::into_packet))
}

/// As [`feed`], taking packets alternately through [`Decoder::next_view`] and
/// [`Decoder::next_packet`]. With `one_per_push` at most one packet is taken
/// after each push, so that the next push comes while the bytes of a view
/// are still in the buffer.
fn feed_views<'a>(
    protocol: Protocol,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    one_per_push: bool,
) -> Result<Vec<Packet>, TestCaseError> {
    let mut d = Decoder::new(protocol);
    let mut out = Vec::new();
    let take = |d: &mut Decoder, out: &mut Vec<Packet>| -> Result<bool, TestCaseError> {
        let next = if out.len() % 2 == 0 { next_view_owned(d) } else { d.next_packet() };
        let Some(p) = next.map_err(|e| fail("next_view / next_packet", e))? else {
            return Ok(false);
        };
        out.push(p);
        Ok(true)
    };
    for chunk in chunks {
        d.push(chunk).map_err(|e| fail("push", e))?;
        while take(&mut d, &mut out)? && !one_per_push {}
    }
    while take(&mut d, &mut out)? {}
    prop_assert_eq!(d.buffered(), 0, "bytes left in the decoder");
    Ok(out)
}

/// One step's result and the bytes buffered after it.
type Outcome = (Result<Option<Packet>, DecodeError>, usize);

/// Everything a decoder gives for `chunks`: each push's error, then each
/// packet taken with `next` until it gives `None` or an error, and the bytes
/// buffered after each step.
fn outcomes(
    protocol: Protocol,
    chunks: &[&[u8]],
    next: fn(&mut Decoder) -> Result<Option<Packet>, DecodeError>,
) -> Vec<Outcome> {
    let mut d = Decoder::new(protocol);
    let mut seen = Vec::new();
    for chunk in chunks {
        if let Err(e) = d.push(chunk) {
            seen.push((Err(e), d.buffered()));
        }
        loop {
            let r = next(&mut d);
            let end = !matches!(r, Ok(Some(_)));
            seen.push((r, d.buffered()));
            if end {
                break;
            }
        }
    }
    // A broken stream stays broken.
    seen.push((next(&mut d), d.buffered()));
    seen
}

proptest! {
    #![proptest_config(config(256))]

    /// Every proper prefix of an encoded packet is incomplete: `decode` says
    /// `Ok(None)`, also under a limit equal to the packet's size, and a
    /// `Decoder` fed the bytes one at a time yields nothing until the last.
    #[test]
    fn every_proper_prefix_is_incomplete((protocol, p) in any_packet()) {
        let bytes = p.encode_to_bytes(protocol).map_err(|e| fail("encode", e))?;
        let len = bytes.len();
        for i in 0..len {
            let prefix = bytes.slice(..i);
            prop_assert_eq!(decode(protocol, &prefix, u32::MAX).map_err(|e| e.reason_code), Ok(None), "prefix of {} bytes", i);
            prop_assert_eq!(decode(protocol, &prefix, len as u32).map_err(|e| e.reason_code), Ok(None), "prefix of {} bytes", i);
        }
        let mut d = Decoder::new(protocol).with_max_packet_size(len as u32);
        for (i, b) in bytes.iter().enumerate() {
            d.push(&[*b]).map_err(|e| fail("push", e))?;
            let next = d.next_packet().map_err(|e| fail("next_packet", e))?;
            if i + 1 < len {
                prop_assert_eq!(next, None, "packet after {} of {} bytes", i + 1, len);
                prop_assert_eq!(d.buffered(), i + 1);
            } else {
                prop_assert_eq!(next.as_ref(), Some(&p));
                prop_assert_eq!(d.buffered(), 0);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// The same bytes split at every single point decode to the same packets
    /// in the same order.
    #[test]
    fn stream_split_at_every_point_yields_the_same_packets((protocol, ps) in packets(5)) {
        let bytes = encode_all(protocol, &ps)?;
        prop_assert_eq!(&feed(protocol, [&bytes[..]])?, &ps);
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            prop_assert_eq!(&feed(protocol, [a, b])?, &ps, "split at {}", at);
        }
        // And a byte at a time.
        prop_assert_eq!(&feed(protocol, bytes.chunks(1))?, &ps);
        // The same through next_view, taking every packet after each push,
        // and one packet per push.
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            prop_assert_eq!(&feed_views(protocol, [a, b], false)?, &ps, "split at {}", at);
        }
        prop_assert_eq!(&feed_views(protocol, bytes.chunks(1), true)?, &ps);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A stream of packets with a few bytes changed, inserted or cut, in two
    /// chunks: `next_view` gives the packets, the error (reason code, offset
    /// and message) and the buffered byte counts that `next_packet` gives, and
    /// stays failed after the error as it does.
    #[test]
    fn next_view_and_next_packet_agree_on_damaged_streams(
        (protocol, ps) in packets(4),
        edits in packet_edits(1),
        cut in any::<Index>(),
    ) {
        let mut bytes = encode_all(protocol, &ps)?;
        apply_edits(&mut bytes, &edits);
        let (a, b) = bytes.split_at(cut.index(bytes.len() + 1));
        let chunks = [a, b];
        let owned = outcomes(protocol, &chunks, Decoder::next_packet);
        let viewed = outcomes(protocol, &chunks, next_view_owned);
        prop_assert_eq!(viewed, owned);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// The same bytes split at several random points (chunks of any size,
    /// empty ones included) decode to the same packets in the same order.
    #[test]
    fn stream_split_at_random_points_yields_the_same_packets(
        (protocol, ps) in packets(8),
        cuts in vec(any::<Index>(), 0..12),
    ) {
        let bytes = encode_all(protocol, &ps)?;
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for &to in &points {
            chunks.push(&bytes[from..to]);
            from = to;
        }
        chunks.push(&bytes[from..]);
        prop_assert_eq!(&feed(protocol, chunks.iter().copied())?, &ps);
        prop_assert_eq!(&feed_views(protocol, chunks.iter().copied(), true)?, &ps);

        // `decode` over the whole buffer, packet after packet, agrees.
        let all = Bytes::from(bytes);
        let mut at = 0;
        let mut decoded = Vec::new();
        while at < all.len() {
            let rest = all.slice(at..);
            let (p, n) = decode(protocol, &rest, u32::MAX)
                .map_err(|e| fail("decode", e))?
                .ok_or_else(|| TestCaseError::fail("complete packet reported incomplete"))?;
            decoded.push(p);
            at += n;
        }
        prop_assert_eq!(decoded, ps);
    }
}

// ---------------------------------------------------------------------------
// Maximum packet size.

/// First bytes of real packet types.
fn first_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![0x10, 0x20, 0x30, 0x32, 0x3D, 0x40, 0x62, 0x82, 0x90, 0xE0, 0xF0])
}

proptest! {
    #![proptest_config(config(512))]

    /// A packet whose fixed header announces more than the limit is refused
    /// with 0x95 as soon as the header is complete, and nothing of it is kept
    /// (DESIGN §3: refused from its fixed header, before any of it is buffered).
    #[test]
    fn oversized_packet_is_refused_from_its_fixed_header(
        protocol in strategies::protocol(),
        first in first_byte(),
        remaining in prop_oneof![0u32..300, 0u32..=strategies::VBI_MAX],
        under in 1u32..1000,
        prefix in prop::option::of(any_packet()),
    ) {
        let mut header = vec![first];
        header.extend(vbi(remaining));
        let total = header.len() as u32 + remaining;
        let max = total.saturating_sub(under);

        // decode() refuses from the header alone too.
        let refused = decode(protocol, &Bytes::from(header.clone()), max);
        prop_assert_eq!(refused.map_err(|e| e.reason_code), Err(ReasonCode::PACKET_TOO_LARGE));

        // Header bytes one at a time: accepted until the header is complete.
        let mut d = Decoder::new(protocol).with_max_packet_size(max);
        let (last, head) = header.split_last().ok_or_else(|| TestCaseError::fail("empty header"))?;
        for (i, b) in head.iter().enumerate() {
            d.push(&[*b]).map_err(|e| fail("incomplete header refused", e))?;
            prop_assert_eq!(d.buffered(), i + 1);
        }
        let err = d.push(&[*last]).map_err(|e| e.reason_code);
        prop_assert_eq!(err, Err(ReasonCode::PACKET_TOO_LARGE));
        prop_assert_eq!(d.buffered(), 0, "bytes of a refused packet kept");

        // The whole header and some body in one push, possibly after a
        // complete packet that fits: refused; the refused packet's bytes are
        // dropped, the complete packet before it is kept and comes out first.
        let mut d = Decoder::new(protocol).with_max_packet_size(max.max(1));
        let mut data = Vec::new();
        let mut before = None;
        if let Some((p_protocol, p)) = &prefix {
            if *p_protocol == protocol && p.encoded_len(protocol).is_ok_and(|l| l as u32 <= max) {
                p.encode(protocol, &mut data).map_err(|e| fail("encode", e))?;
                before = Some(p.clone());
            }
        }
        let kept = data.len();
        data.extend(&header);
        data.extend(std::iter::repeat_n(0u8, remaining.min(64) as usize));
        let err = d.push(&data).map_err(|e| e.reason_code);
        prop_assert_eq!(err, Err(ReasonCode::PACKET_TOO_LARGE));
        prop_assert_eq!(d.buffered(), kept, "bytes of the refused packet kept");
        if let Some(p) = before {
            prop_assert_eq!(d.next_packet().map_err(|e| fail("next_packet", e))?, Some(p));
        }
        prop_assert_eq!(d.next_packet().map_err(|e| e.reason_code), Err(ReasonCode::PACKET_TOO_LARGE));
    }

    /// A packet of exactly the maximum size is accepted.
    #[test]
    fn packet_of_exactly_the_maximum_size_is_accepted((protocol, p) in any_packet()) {
        let bytes = p.encode_to_vec(protocol).map_err(|e| fail("encode", e))?;
        let mut d = Decoder::new(protocol).with_max_packet_size(bytes.len() as u32);
        d.push(&bytes).map_err(|e| fail("push", e))?;
        prop_assert_eq!(d.next_packet().map_err(|e| fail("next_packet", e))?, Some(p));
    }
}

/// The Decoder's limit applies to each packet, fixed header included.
#[test]
fn decoder_limit_counts_the_fixed_header() {
    // A 3.1.1 PUBLISH of 1 + 1 (fixed header) + 2 + 3 (topic) + 10 (payload) = 17 bytes.
    let p = Packet::Publish(Publish::new("a/b", vec![7u8; 10]));
    let bytes = p.encode_to_vec(Protocol::V311).expect("valid PUBLISH");
    assert_eq!(bytes.len(), 17);
    let mut d = Decoder::new(Protocol::V311).with_max_packet_size(17);
    d.push(&bytes).expect("fits");
    d.push(&bytes).expect("fits");
    assert_eq!(d.next_packet().expect("decodes"), Some(p.clone()));
    assert_eq!(d.next_packet().expect("decodes"), Some(p));
    let mut d = Decoder::new(Protocol::V311).with_max_packet_size(16);
    assert_eq!(d.push(&bytes[..2]).map_err(|e| e.reason_code), Err(ReasonCode::PACKET_TOO_LARGE));
    assert_eq!(d.buffered(), 0);
}

// ---------------------------------------------------------------------------
// Zero copy.

/// True if `inner` lies entirely within `outer`'s memory.
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    i >= o && i + inner.len() <= o + outer.len()
}

/// Pointer of `b` minus pointer of `a`.
fn distance(a: &[u8], b: &[u8]) -> isize {
    b.as_ptr() as isize - a.as_ptr() as isize
}

fn a_publish() -> Publish {
    Publish {
        qos: QoS::AtLeastOnce,
        packet_id: Some(7),
        properties: Properties::from(PropertyFields {
            content_type: Some("text/plain".into()),
            correlation_data: Some(Bytes::from_static(b"corr")),
            user_properties: vec![("k".into(), "v".into())],
            ..PropertyFields::default()
        }),
        ..Publish::new("sensors/ünïcode/temperature", vec![0x5A; 300])
    }
}

/// `decode` returns a topic, payload, strings and binary properties that are
/// slices of the input buffer: the same allocation, no copy.
#[test]
fn decode_shares_the_input_buffer() {
    let p = Packet::Publish(a_publish());
    let mut input = p.encode_to_vec(Protocol::V5).expect("valid PUBLISH");
    input.extend_from_slice(&[0xD0, 0x00]); // a PINGRESP after it
    let input = Bytes::from(input);
    let (decoded, _) = decode(Protocol::V5, &input, u32::MAX).expect("valid").expect("complete");
    let Packet::Publish(got) = decoded else { panic!("not a PUBLISH: {decoded:?}") };
    assert!(within(&got.payload, &input), "payload copied");
    assert!(within(got.topic.as_bytes(), &input), "topic copied");
    let props = &got.properties;
    assert!(within(props.content_type.as_ref().expect("content type").as_bytes(), &input));
    assert!(within(props.correlation_data.as_ref().expect("correlation data"), &input));
    let (k, v) = &props.user_properties[0];
    assert!(within(k.as_bytes(), &input) && within(v.as_bytes(), &input));
}

proptest! {
    #![proptest_config(config(256))]

    /// Every decoded PUBLISH's topic and payload lie inside the input buffer.
    #[test]
    fn decoded_publish_shares_the_input_buffer(
        (version, p) in strategies::protocol().prop_flat_map(|v| (Just(v), publish(v))),
    ) {
        let input = Packet::Publish(p).encode_to_bytes(version).map_err(|e| fail("encode", e))?;
        let (decoded, n) = decode(version, &input, u32::MAX)
            .map_err(|e| fail("decode", e))?
            .ok_or_else(|| TestCaseError::fail("incomplete"))?;
        prop_assert_eq!(n, input.len());
        let Packet::Publish(got) = decoded else { return Err(TestCaseError::fail("not a PUBLISH")) };
        prop_assert!(within(&got.payload, &input));
        prop_assert!(within(got.topic.as_bytes(), &input));
        // The payload is the tail of the packet itself.
        prop_assert_eq!(got.payload.as_ptr() as usize + got.payload.len(), input.as_ptr() as usize + input.len());
    }
}

/// Through `Decoder`, the bytes are copied once into its buffer and the
/// packets are slices of that: the topic and payload of a packet sit at the
/// distance they have on the wire, and so do two packets pushed together.
#[test]
fn decoder_output_shares_its_buffer() {
    let p = Packet::Publish(a_publish());
    let one = p.encode_to_vec(Protocol::V5).expect("valid PUBLISH");
    let mut stream = one.clone();
    stream.extend_from_slice(&one);

    // Where topic and payload are in the encoded packet.
    let wire = Bytes::from(one.clone());
    let (Packet::Publish(w), _) = decode(Protocol::V5, &wire, u32::MAX).expect("ok").expect("some")
    else {
        panic!("not a PUBLISH")
    };
    let topic_to_payload = distance(w.topic.as_bytes(), &w.payload);

    // Pushed in odd chunks, both packets in the decoder before either is taken.
    let mut d = Decoder::new(Protocol::V5);
    for chunk in stream.chunks(37) {
        d.push(chunk).expect("push");
    }
    let Some(Packet::Publish(a)) = d.next_packet().expect("first") else { panic!("no PUBLISH") };
    let Some(Packet::Publish(b)) = d.next_packet().expect("second") else { panic!("no PUBLISH") };
    assert_eq!(Packet::Publish(a.clone()), p);
    assert_eq!(Packet::Publish(b.clone()), p);
    assert!(!within(&a.payload, &stream), "the decoder handed out the caller's memory");
    assert_eq!(
        distance(a.topic.as_bytes(), &a.payload),
        topic_to_payload,
        "topic or payload copied"
    );
    assert_eq!(
        distance(b.topic.as_bytes(), &b.payload),
        topic_to_payload,
        "topic or payload copied"
    );
    assert_eq!(
        distance(&a.payload, &b.payload),
        one.len() as isize,
        "packets copied out of the buffer"
    );
    let props = &a.properties;
    let ct = props.content_type.as_ref().expect("content type");
    assert_eq!(
        distance(ct.as_bytes(), &a.payload),
        distance(w.properties.content_type.as_ref().expect("content type").as_bytes(), &w.payload),
        "property copied"
    );
}
