//! Shared helpers of the mqtt-engine fuzz targets.
//!
//! Every target reads its input the same way, so one seed corpus serves all:
//!
//! ```text
//! byte 0     selector: bit 0 = protocol (0: MQTT 3.1.1, level 4; 1: MQTT 5.0, level 5)
//!                      bits 1..7 = n, a parameter each target uses its own way
//! bytes 1..  the bytes to decode (one packet, several, or garbage)
//! ```
//!
//! A golden vector of protocol 4 becomes `00 <hex>`, of protocol 5 `01 <hex>`
//! (n = 0: no size limit, no splitting quirks); see scripts/fuzz-seed.py.

use bytes::Bytes;
use mqtt_engine::codec::{
    decode, decode_view, DecodeError, Decoder, Packet, PacketView, Properties, Protocol, ReasonCode,
};

/// The first byte of a fuzz input.
#[derive(Clone, Copy, Debug)]
pub struct Selector {
    /// Protocol the bytes are decoded with.
    pub protocol: Protocol,
    /// Target-specific parameter, 0..=127.
    pub n: u8,
}

impl Selector {
    /// Splits an input into its selector and the bytes that follow.
    pub fn split(data: &[u8]) -> Option<(Selector, &[u8])> {
        let (&first, rest) = data.split_first()?;
        let protocol = if first & 1 == 0 { Protocol::V311 } else { Protocol::V5 };
        Some((Selector { protocol, n: first >> 1 }, rest))
    }

    /// A maximum packet size picked by `n`: 0 means none (u32::MAX), 1..=63
    /// that many bytes, 64..=127 powers of two from 64 to 2^31 and one less.
    pub fn max_packet_size(self) -> u32 {
        match self.n {
            0 => u32::MAX,
            n @ 1..=63 => u32::from(n),
            n => {
                let k = u32::from(n - 64); // 0..=63
                let p = 1u64 << (6 + k / 2).min(32);
                (p - u64::from(k & 1)).min(u64::from(u32::MAX)) as u32
            }
        }
    }
}

/// The borrowed decoder gives what the owned one gave for the same bytes:
/// the same packet and length (a PUBLISH as a view whose owned copy is equal
/// and whose topic and payload lie inside `bytes`), the same "incomplete",
/// or the same error with its offset and message.
pub fn check_view(
    protocol: Protocol,
    bytes: &[u8],
    max: u32,
    owned: &Result<Option<(Packet, usize)>, DecodeError>,
) {
    let view = decode_view(protocol, bytes, max);
    match (owned, &view) {
        (Ok(Some((Packet::Publish(p), n))), Ok(Some((PacketView::Publish(w), m)))) => {
            assert_eq!(n, m, "decode_view took another length");
            assert_eq!(&w.to_publish(), p, "decode_view read another PUBLISH");
            let inside = |s: &[u8]| s.is_empty() || bytes.as_ptr_range().contains(&s.as_ptr());
            assert!(inside(w.topic.as_bytes()) && inside(w.payload), "decode_view copied");
        }
        (Ok(Some((p, n))), Ok(Some((PacketView::Other(q), m)))) => {
            assert_eq!((p, n), (q, m), "decode_view read another packet");
            assert!(!matches!(p, Packet::Publish(_)), "a PUBLISH came out of decode_view owned");
        }
        (Ok(None), Ok(None)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b, "decode_view refused with another error"),
        _ => panic!("decode gave {owned:?}, decode_view gave {view:?}"),
    }
}

/// Encodes a packet that decoding accepted and checks that it decodes back to
/// the same packet, and that encoding is deterministic and length-exact.
/// Returns the encoding.
pub fn check_reencode(protocol: Protocol, packet: &Packet) -> Vec<u8> {
    let len = match packet.encoded_len(protocol) {
        Ok(len) => len,
        Err(e) => panic!("decoded packet refused by encoded_len: {e}\n{packet:?}"),
    };
    let enc = match packet.encode_to_vec(protocol) {
        Ok(v) => v,
        Err(e) => panic!("decoded packet refused by encode: {e}\n{packet:?}"),
    };
    assert_eq!(enc.len(), len, "encoded_len disagrees with encode for {packet:?}");
    let as_bytes = packet.encode_to_bytes(protocol).expect("encode_to_bytes");
    assert_eq!(&as_bytes[..], &enc[..], "encode_to_bytes differs from encode_to_vec");

    let buf = Bytes::from(enc.clone());
    match decode(protocol, &buf, u32::MAX) {
        Ok(Some((again, used))) => {
            assert_eq!(used, enc.len(), "re-decode used {used} of {} bytes", enc.len());
            assert_eq!(&again, packet, "packet changed through encode/decode; bytes {enc:02x?}");
            let enc2 = again.encode_to_vec(protocol).expect("re-encode");
            assert_eq!(enc2, enc, "encoding not stable");
        }
        Ok(None) => panic!("encoding of {packet:?} decodes as incomplete: {enc:02x?}"),
        Err(e) => panic!("encoding of {packet:?} does not decode: {e}; bytes {enc:02x?}"),
    }

    // Encoding into a buffer one byte too small fails and writes nothing.
    if len > 0 {
        let mut small = vec![0xAAu8; len - 1];
        let mut out: &mut [u8] = &mut small;
        assert!(packet.encode(protocol, &mut out).is_err(), "encode overran a short buffer");
        assert!(small.iter().all(|&b| b == 0xAA), "failed encode wrote bytes");
    }

    // Validated once, the header then the payload: into a `BufMut` and into
    // the start of a slice, which keeps the bytes after the header.
    let once = packet.encoder(protocol).expect("encoder");
    let mut head = Vec::new();
    let h = once.write_header(&mut head).expect("write_header");
    assert_eq!([&head[..], once.payload()].concat(), enc, "write_header + payload differs");
    let mut slice = vec![0xAAu8; h + 8];
    assert_eq!(once.write_header_into(&mut slice).ok(), Some(h), "write_header_into length");
    assert_eq!(&slice[..h], &head[..], "write_header_into differs from write_header");
    assert!(slice[h..].iter().all(|&b| b == 0xAA), "write_header_into wrote past the header");
    enc
}

/// Checks `encode_within(protocol, max, ..)`: never more than `max` bytes,
/// identical to `encode` when the packet fits, otherwise either Packet too
/// large with nothing written or the packet less its Reason String and maybe
/// its User Properties.
pub fn check_encode_within(protocol: Protocol, packet: &Packet, full: &[u8], max: u32) {
    let mut out = Vec::new();
    match packet.encode_within(protocol, max, &mut out) {
        Ok(written) => {
            assert_eq!(written, out.len(), "encode_within miscounted");
            assert!(
                written as u64 <= u64::from(max),
                "encode_within wrote {written} bytes, max {max}: {packet:?}"
            );
            if full.len() as u64 <= u64::from(max) {
                assert_eq!(out, full, "encode_within changed a packet that fits");
                return;
            }
            let buf = Bytes::from(out);
            let slim = match decode(protocol, &buf, max) {
                Ok(Some((p, used))) if used == buf.len() => p,
                other => panic!("encode_within output does not decode: {other:?}"),
            };
            let mut expect = packet.clone();
            let props = sheddable(&mut expect).expect("only sheddable packets may shrink");
            props.reason_string = None;
            if slim != expect {
                if let Some(props) = sheddable(&mut expect) {
                    props.user_properties.clear();
                }
                assert_eq!(slim, expect, "encode_within dropped more than it may");
            }
        }
        Err(e) => {
            assert!(out.is_empty(), "failed encode_within wrote bytes");
            assert_eq!(e.reason_code, ReasonCode::PACKET_TOO_LARGE, "unexpected error {e}");
            assert!(full.len() as u64 > u64::from(max), "encode_within refused a packet that fits");
            let mut stripped = packet.clone();
            if let Some(props) = sheddable(&mut stripped) {
                props.reason_string = None;
                props.user_properties.clear();
                let len = stripped.encoded_len(protocol).expect("stripped packet encodes");
                assert!(
                    len as u64 > u64::from(max),
                    "encode_within refused a packet that fits ({len} <= {max}) without its \
                     Reason String and User Properties"
                );
            }
        }
    }
}

fn sheddable(p: &mut Packet) -> Option<&mut Properties> {
    match p {
        Packet::Connack(p) => Some(&mut p.properties),
        Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
            Some(&mut p.properties)
        }
        Packet::Suback(p) => Some(&mut p.properties),
        Packet::Unsuback(p) => Some(&mut p.properties),
        Packet::Disconnect(p) => Some(&mut p.properties),
        Packet::Auth(p) => Some(&mut p.properties),
        _ => None,
    }
}

/// What a [`Decoder`] made of a byte stream.
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a test harness: simpler than boxing
pub enum Event {
    /// A packet.
    Packet(Packet),
    /// The error that broke the stream; nothing follows it.
    Error(DecodeError),
    /// End of input with this many bytes still buffered.
    End(usize),
}

/// How packets are taken from a decoder: [`Decoder::next_packet`] or
/// [`next_view_owned`].
pub type Take = fn(&mut Decoder) -> Result<Option<Packet>, DecodeError>;

/// [`Decoder::next_view`], owned so that it compares with what
/// [`Decoder::next_packet`] gives.
pub fn next_view_owned(d: &mut Decoder) -> Result<Option<Packet>, DecodeError> {
    Ok(d.next_view()?.map(PacketView::into_packet))
}

/// Feeds `chunks` to a decoder, taking every packet after each push with
/// `take`, and records what came out up to the first error. A failed push
/// must be followed by the complete packets before the fault and then the
/// same error from `take`.
pub fn run_decoder<'a>(
    protocol: Protocol,
    max_packet_size: u32,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    take: Take,
) -> Vec<Event> {
    let mut d = Decoder::new(protocol).with_max_packet_size(max_packet_size);
    let mut events = Vec::new();
    for chunk in chunks {
        let pushed = d.push(chunk);
        loop {
            match take(&mut d) {
                Ok(Some(p)) => events.push(Event::Packet(p)),
                Ok(None) => break,
                Err(e) => {
                    events.push(Event::Error(e));
                    return events;
                }
            }
        }
        if let Err(e) = pushed {
            panic!("push failed with {e:?} but the next packet was not that error");
        }
    }
    events.push(Event::End(d.buffered()));
    events
}

/// Checks a run against the byte-at-a-time run of the same bytes: packets,
/// error and bytes left buffered must be identical however the bytes were split
/// (DESIGN §8).
pub fn check_split_run(bytewise: &[Event], run: &[Event], what: &str) {
    assert_eq!(run, bytewise, "{what}: the same bytes decode differently");
}

/// Chunk boundaries for `len` bytes, derived from `seed` and the data: a
/// small xorshift generator picks chunk lengths from 1 up to a cap that the
/// seed also picks (1, 2, 4, .. 128 bytes), so that every pattern from
/// byte-at-a-time to large reads occurs.
pub fn split_points(seed: u8, data: &[u8]) -> Vec<usize> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ (u64::from(seed) << 32) ^ data.len() as u64;
    for &b in data.iter().take(16) {
        state = state.rotate_left(5) ^ u64::from(b);
    }
    state |= 1;
    let cap = 1usize << (seed & 7);
    let mut points = Vec::new();
    let mut at = 0;
    loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        at += 1 + (state as usize % cap);
        if at >= data.len() {
            return points;
        }
        points.push(at);
    }
}

/// Reads the arguments of operation-sequence targets (`client_ops`,
/// `rpc_ops`) from the fuzz input, a byte at a time; `None` when it runs out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// The next byte.
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    /// The next `n` bytes, or what is left.
    pub fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}
