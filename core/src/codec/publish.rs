//! PUBLISH (§3.3): an application message, in either direction.

use super::connect::no_properties;
use super::properties::Context;
use super::wire::{self, Reader};
use super::{ByteStr, DecodeError, EncodeError, PacketType, Properties, Protocol, QoS, ReasonCode};
use bytes::{BufMut, Bytes};

/// PUBLISH.
///
/// `topic` and `payload` are slices of the buffer the packet was decoded from.
/// In MQTT 5.0 `topic` may be empty when `properties.topic_alias` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Publish {
    /// DUP flag: this may be a re-delivery.
    #[cfg_attr(feature = "serde", serde(default))]
    pub dup: bool,
    /// QoS level.
    #[cfg_attr(feature = "serde", serde(default))]
    pub qos: QoS,
    /// RETAIN flag.
    #[cfg_attr(feature = "serde", serde(default))]
    pub retain: bool,
    /// Topic Name.
    #[cfg_attr(feature = "serde", serde(rename = "topic_name"))]
    pub topic: ByteStr,
    /// Packet Identifier: present exactly when QoS is 1 or 2.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "packet_identifier", default, skip_serializing_if = "Option::is_none")
    )]
    pub packet_id: Option<u16>,
    /// PUBLISH properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
    /// Payload.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "payload_hex", with = "super::json::hex", default)
    )]
    pub payload: Bytes,
}

impl Publish {
    /// A QoS 0 message with no properties.
    pub fn new(topic: impl Into<ByteStr>, payload: impl Into<Bytes>) -> Self {
        Publish { topic: topic.into(), payload: payload.into(), ..Publish::default() }
    }

    pub(crate) fn flags(&self) -> u8 {
        (self.dup as u8) << 3 | (self.qos as u8) << 1 | self.retain as u8
    }

    pub(crate) fn read(
        r: &mut Reader<'_>,
        protocol: Protocol,
        flags: u8,
    ) -> Result<Self, DecodeError> {
        let mut p = Publish::default();
        p.read_into(r, protocol, flags)?;
        Ok(p)
    }

    /// [`Publish::read`] into `self`, which is `Publish::default()`: decoding
    /// fills the value in place instead of moving a `Publish` out through
    /// each `Result`.
    pub(crate) fn read_into(
        &mut self,
        r: &mut Reader<'_>,
        protocol: Protocol,
        flags: u8,
    ) -> Result<(), DecodeError> {
        let (qos, dup) = read_flags(flags)?;
        let topic_at = r.offset();
        // [MQTT-3.3.2-2]: no wildcards, checked in the same pass as the string rules.
        let topic = r.topic_name()?;
        let packet_id = if qos == QoS::AtMostOnce { None } else { Some(r.packet_id()?) };
        if protocol == Protocol::V5 {
            self.properties = Properties::read(r, Context::Publish)?;
        }
        if topic.is_empty() {
            check_empty_topic(protocol, self.properties.topic_alias.is_some(), topic_at)?;
        }
        self.dup = dup;
        self.qos = qos;
        self.retain = flags & 1 != 0;
        self.topic = topic;
        self.packet_id = packet_id;
        self.payload = r.rest_bytes();
        Ok(())
    }

    /// Validates the PUBLISH for `protocol` and measures it, once: the
    /// checks of decoding, in the same order, with the same reason codes.
    pub(crate) fn checked_layout(&self, protocol: Protocol) -> Result<Layout, EncodeError> {
        let malformed = |m| EncodeError::new(ReasonCode::MALFORMED_PACKET, m);
        // The string rules, then no wildcards, in one pass; a `ByteStr` is
        // UTF-8 by construction, so only U+0000, wildcards and length remain.
        let topic = self.topic.as_bytes();
        wire::check_utf8_topic_name(topic).map_err(malformed)?;
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(malformed("DUP set on a QoS 0 PUBLISH"));
        }
        let id_len = match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) => 0,
            (QoS::AtMostOnce, Some(_)) => {
                return Err(EncodeError::new(
                    ReasonCode::PROTOCOL_ERROR,
                    "QoS 0 PUBLISH with a packet identifier",
                ))
            }
            (_, None) | (_, Some(0)) => {
                return Err(EncodeError::new(
                    ReasonCode::PROTOCOL_ERROR,
                    "QoS 1 or 2 PUBLISH needs a non-zero packet identifier",
                ))
            }
            (_, Some(_)) => 2,
        };
        let (props, props_len) = match protocol {
            Protocol::V5 => {
                self.properties.check_encode(Context::Publish)?;
                if topic.is_empty() && self.properties.topic_alias.is_none() {
                    return Err(EncodeError::new(
                        ReasonCode::PROTOCOL_ERROR,
                        "topic name is empty and no Topic Alias is given",
                    ));
                }
                let l = self.properties.wire_len();
                (l, wire::vbi_len(l as u32) + l)
            }
            Protocol::V311 => {
                if !self.properties.is_empty() {
                    return Err(no_properties());
                }
                if topic.is_empty() {
                    return Err(malformed("topic name is empty"));
                }
                (0, 0)
            }
        };
        let body = 2 + topic.len() + id_len + props_len + self.payload.len();
        if body > wire::VBI_MAX as usize {
            return Err(EncodeError::new(
                ReasonCode::PACKET_TOO_LARGE,
                "remaining length above 268,435,455 bytes",
            ));
        }
        Ok(Layout { body, props })
    }

    /// Measures a PUBLISH known to be valid, without validating it.
    pub(crate) fn layout_unchecked(&self, protocol: Protocol) -> Layout {
        let (props, props_len) = match protocol {
            Protocol::V5 => {
                let l = self.properties.wire_len();
                (l, wire::vbi_len(l as u32) + l)
            }
            Protocol::V311 => (0, 0),
        };
        let id_len = if self.packet_id.is_some() { 2 } else { 0 };
        Layout { body: 2 + self.topic.len() + id_len + props_len + self.payload.len(), props }
    }

    /// Writes everything before the payload: fixed header (unless
    /// `fixed_header` is false), Topic Name, Packet Identifier, properties.
    ///
    /// A header with properties of up to [`STACK_HEADER`] bytes (nearly all
    /// of them) is assembled in a stack array and handed to `out` in one
    /// `put_slice`: writing into a `&mut [u8]` inlines to plain stores, while
    /// each small write into a `BytesMut` is a call with its own capacity
    /// check and `memcpy` (a 5.0 PUBLISH with six properties made about 25
    /// of them; assembled, its header is written in 40% of the time). A
    /// header without properties is three writes at most and goes straight
    /// to `out`: zeroing and copying the array would cost more.
    pub(crate) fn write_header<B: BufMut>(
        &self,
        protocol: Protocol,
        layout: Layout,
        fixed_header: bool,
        out: &mut B,
    ) {
        if layout.props > 0 && layout.total() - self.payload.len() <= STACK_HEADER {
            self.write_header_stacked(protocol, layout, fixed_header, out);
        } else {
            self.write_header_parts(protocol, layout, fixed_header, out);
        }
    }

    /// [`Publish::write_header`] through a stack array. Kept out of line so
    /// that the common header without properties stays small and inlined.
    #[inline(never)]
    fn write_header_stacked<B: BufMut>(
        &self,
        protocol: Protocol,
        layout: Layout,
        fixed_header: bool,
        out: &mut B,
    ) {
        let mut stack = [0u8; STACK_HEADER];
        let mut rest = &mut stack[..];
        self.write_header_parts(protocol, layout, fixed_header, &mut rest);
        let written = STACK_HEADER - rest.len();
        out.put_slice(&stack[..written]);
    }

    /// [`Publish::write_header`]'s bytes, written part by part: the head
    /// and tail words of [`Publish::header_words`] around the Topic Name,
    /// each in one `put_slice` whose copy reads it back from a single store
    /// (see [`wire::vbi_word`]), then any properties.
    #[inline]
    fn write_header_parts<B: BufMut>(
        &self,
        protocol: Protocol,
        layout: Layout,
        fixed_header: bool,
        out: &mut B,
    ) {
        let w = self.header_words(protocol, layout);
        let head = w.head.to_le_bytes();
        let from = if fixed_header { 0 } else { w.head_len - 2 };
        out.put_slice(&head[from..w.head_len]);
        out.put_slice(self.topic.as_bytes());
        if w.tail_len > 0 {
            out.put_slice(&w.tail.to_le_bytes()[..w.tail_len]);
        }
        if protocol == Protocol::V5 && layout.props > 0 {
            self.properties.write_fields(out);
        }
    }

    /// The header fields around the Topic Name, packed little-endian in
    /// registers: the head is the first byte, Remaining Length and topic
    /// length; the tail is the Packet Identifier and, in 5.0, the Property
    /// Length.
    #[inline(always)]
    fn header_words(&self, protocol: Protocol, layout: Layout) -> HeaderWords {
        let (vbi, n) = wire::vbi_word(layout.body as u32);
        let first = u64::from((PacketType::Publish as u8) << 4 | self.flags());
        // Big-endian on the wire: swapped, so that `to_le_bytes` lays it out
        // high byte first.
        let topic_len = u64::from((self.topic.len() as u16).swap_bytes());
        let head = first | u64::from(vbi) << 8 | topic_len << (8 * (1 + n));
        let mut tail = 0u64;
        let mut tail_len = 0;
        if let Some(id) = self.packet_id {
            tail = u64::from(id.swap_bytes());
            tail_len = 2;
        }
        if protocol == Protocol::V5 {
            let (vbi, n) = wire::vbi_word(layout.props as u32);
            tail |= u64::from(vbi) << (8 * tail_len);
            tail_len += n;
        }
        HeaderWords { head, head_len: 3 + n, tail, tail_len }
    }

    /// [`Publish::write_header`] into the first `header` bytes of `buf`,
    /// `header` being the length of all but the payload; nothing after them
    /// is touched.
    ///
    /// A header without properties whose head and topic fill eight bytes is
    /// three writes whose order lets two of them be whole eight-byte stores:
    /// the tail word into the last eight bytes, the head word into the first
    /// eight, then the Topic Name over the stray bytes of both. Written in
    /// order into a `BufMut`, the head and tail are copies of a length known
    /// only at run time, each a call to `memcpy`.
    #[inline]
    pub(crate) fn write_header_into(
        &self,
        protocol: Protocol,
        layout: Layout,
        header: usize,
        buf: &mut [u8],
    ) {
        let buf = &mut buf[..header];
        let topic = self.topic.as_bytes();
        let w = self.header_words(protocol, layout);
        if layout.props == 0 && w.head_len + topic.len() >= 8 {
            // The tail ends the header (at least eight bytes long): its word
            // goes into the last eight bytes with the tail in its high
            // bytes. What it writes before the tail lies in the head and
            // topic, written next.
            if w.tail_len > 0 {
                let tail = w.tail << (8 * (8 - w.tail_len));
                buf[header - 8..].copy_from_slice(&tail.to_le_bytes());
            }
            // The head word's bytes past the head lie in the topic, which
            // reaches at least byte 8.
            buf[..8].copy_from_slice(&w.head.to_le_bytes());
            buf[w.head_len..w.head_len + topic.len()].copy_from_slice(topic);
        } else {
            self.write_header(protocol, layout, true, &mut &mut buf[..]);
        }
    }
}

/// The packed header fields of [`Publish::header_words`], each with its
/// length in bytes.
#[derive(Clone, Copy)]
struct HeaderWords {
    head: u64,
    head_len: usize,
    tail: u64,
    tail_len: usize,
}

/// QoS and DUP from a PUBLISH's fixed-header flags, for both decoders.
#[inline]
pub(crate) fn read_flags(flags: u8) -> Result<(QoS, bool), DecodeError> {
    // [MQTT-3.3.1-4]
    let qos =
        QoS::from_u8((flags >> 1) & 3).ok_or(DecodeError::malformed(0, "PUBLISH QoS is 3"))?;
    let dup = flags & 0x08 != 0;
    if dup && qos == QoS::AtMostOnce {
        // [MQTT-3.3.1-2]
        return Err(DecodeError::malformed(0, "DUP set on a QoS 0 PUBLISH"));
    }
    Ok((qos, dup))
}

/// The rule for an empty Topic Name, whose field starts at `topic_at`, for
/// both decoders.
#[inline]
pub(crate) fn check_empty_topic(
    protocol: Protocol,
    has_alias: bool,
    topic_at: usize,
) -> Result<(), DecodeError> {
    match protocol {
        // [MQTT-4.7.3-1]
        Protocol::V311 => Err(DecodeError::malformed(topic_at, "topic name is empty")),
        // 5.0 §3.3.2.1: an empty Topic Name needs a Topic Alias.
        Protocol::V5 if !has_alias => {
            Err(DecodeError::protocol(topic_at, "topic name is empty and no Topic Alias is given"))
        }
        Protocol::V5 => Ok(()),
    }
}

/// The longest PUBLISH header (all but the payload) that
/// [`Publish::write_header`] assembles on the stack before writing it out.
const STACK_HEADER: usize = 256;

/// The lengths of one PUBLISH encoding, measured once and used to write it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    /// Remaining Length.
    pub(crate) body: usize,
    /// Length of the property list without its Property Length (0 in 3.1.1).
    pub(crate) props: usize,
}

impl Layout {
    /// The whole packet's length.
    pub(crate) fn total(self) -> usize {
        1 + wire::vbi_len(self.body as u32) + self.body
    }
}
