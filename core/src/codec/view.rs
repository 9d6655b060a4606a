//! Borrowed decoding: a PUBLISH read in place from a byte slice.
//!
//! [`decode`](super::decode) gives owned packets whose strings and payload
//! are [`Bytes`] slices of the input: nothing is copied, but every slice holds
//! a reference count on the buffer (an atomic increment when the packet is
//! made, a decrement when it is dropped) and a PUBLISH with properties
//! allocates its property set. [`decode_view`] gives a PUBLISH as a
//! [`PublishView`] that borrows the input instead: no reference counts, no
//! allocation, the same validation. It suits code that looks at a message and
//! is done with it before the buffer is reused: routing on the topic in a
//! broker or proxy, firmware without a heap to spare, filtering before
//! keeping. [`PublishView::to_publish`] makes an owned copy when one is needed.
//! [`Decoder::next_view`](super::Decoder::next_view) does the same for a
//! stream, lending each PUBLISH from the decoder's buffer.
//!
//! Other packets, rare and small next to PUBLISH traffic, come out of
//! [`decode_view`] as an owned [`Packet`] decoded from a copy of their bytes.

use super::properties::{
    self, Context, CONTENT_TYPE, CORRELATION_DATA, MESSAGE_EXPIRY_INTERVAL,
    PAYLOAD_FORMAT_INDICATOR, RESPONSE_TOPIC, SUBSCRIPTION_IDENTIFIER, TOPIC_ALIAS, USER_PROPERTY,
};
use super::publish;
use super::wire::{self, SliceReader};
use super::{ByteStr, DecodeError, Packet, Properties, Protocol, Publish, QoS};
use bytes::Bytes;

/// One packet decoded by [`decode_view`] or
/// [`Decoder::next_view`](super::Decoder::next_view): a PUBLISH borrowed
/// from the input, or any other packet owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketView<'a> {
    /// A PUBLISH, borrowing the input.
    Publish(PublishView<'a>),
    /// Any other packet: from [`decode_view`] decoded from a copy of its
    /// bytes, from the decoder sharing its buffer.
    Other(Packet),
}

impl PacketView<'_> {
    /// The packet, owned: a PUBLISH copied out with
    /// [`PublishView::to_publish`], any other packet as it is.
    pub fn into_packet(self) -> Packet {
        match self {
            PacketView::Publish(p) => Packet::Publish(p.to_publish()),
            PacketView::Other(p) => p,
        }
    }
}

/// A PUBLISH that borrows the bytes it was decoded from.
///
/// Made by [`decode_view`], which has checked everything [`decode`](super::decode)
/// checks: the fields and properties here are those of a valid PUBLISH.
/// Properties (MQTT 5.0) are read from the packet's bytes when asked for,
/// through the accessors or [`PublishView::properties`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishView<'a> {
    /// DUP flag: this may be a re-delivery.
    pub dup: bool,
    /// QoS level.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic Name. In MQTT 5.0 it may be empty when a Topic Alias is given.
    pub topic: &'a str,
    /// Packet Identifier: present exactly when QoS is 1 or 2.
    pub packet_id: Option<u16>,
    /// Payload.
    pub payload: &'a [u8],
    /// The property list after its Property Length; empty in MQTT 3.1.1.
    properties: &'a [u8],
}

/// One MQTT 5.0 PUBLISH property, borrowed from the packet (§3.3.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishProperty<'a> {
    /// 0x01 Payload Format Indicator: 0 unspecified bytes, 1 UTF-8.
    PayloadFormatIndicator(u8),
    /// 0x02 Message Expiry Interval, seconds.
    MessageExpiryInterval(u32),
    /// 0x03 Content Type.
    ContentType(&'a str),
    /// 0x08 Response Topic.
    ResponseTopic(&'a str),
    /// 0x09 Correlation Data.
    CorrelationData(&'a [u8]),
    /// 0x0B Subscription Identifier; a PUBLISH may carry several.
    SubscriptionIdentifier(u32),
    /// 0x23 Topic Alias.
    TopicAlias(u16),
    /// 0x26 User Property: name and value, in wire order, duplicates kept.
    UserProperty(&'a str, &'a str),
}

/// The properties of a [`PublishView`], in wire order.
#[derive(Clone, Debug)]
pub struct PublishProperties<'a> {
    rest: &'a [u8],
}

/// Decodes one packet from the start of `buf`, a PUBLISH without copying or
/// reference counting anything.
///
/// Framing, limits and errors are those of [`decode`](super::decode): `Ok(None)`
/// while `buf` holds only part of a packet, Packet too large (0x95) from the
/// fixed header, and for every malformed input the same reason code, offset
/// and message. On success the second value is the bytes the packet took.
#[inline]
pub fn decode_view(
    protocol: Protocol,
    buf: &[u8],
    max_packet_size: u32,
) -> Result<Option<(PacketView<'_>, usize)>, DecodeError> {
    let Some((header, total)) = super::frame(buf, max_packet_size)? else {
        return Ok(None);
    };
    if header.first_byte >> 4 != 3 {
        // Framed and size-checked above: only the body is left to decode.
        let owned = Bytes::copy_from_slice(&buf[..total]);
        let packet = super::decode_body(protocol, header, &owned, total)?;
        return Ok(Some((PacketView::Other(packet), total)));
    }
    let view = publish_view(protocol, header, &buf[..total])?;
    Ok(Some((PacketView::Publish(view), total)))
}

/// The body of a framed PUBLISH, `packet` being exactly its bytes, fixed
/// header included: what [`decode_view`] and
/// [`Decoder::next_view`](super::Decoder::next_view) share.
#[inline]
pub(super) fn publish_view(
    protocol: Protocol,
    header: super::FixedHeader,
    packet: &[u8],
) -> Result<PublishView<'_>, DecodeError> {
    let mut r = SliceReader::new(packet, header.header_length, packet.len());
    let view = PublishView::read(&mut r, protocol, header.first_byte & 0x0F)?;
    r.finish()?;
    Ok(view)
}

impl<'a> PublishView<'a> {
    /// The checks of the owned PUBLISH decoder, in its order, with its reason
    /// codes, offsets and messages (a test holds the two decoders together).
    #[inline]
    fn read(r: &mut SliceReader<'a>, protocol: Protocol, flags: u8) -> Result<Self, DecodeError> {
        let (qos, dup) = publish::read_flags(flags)?;
        let topic_at = r.offset();
        // [MQTT-3.3.2-2]: no wildcards, checked with the string rules.
        let topic = r.topic_name_str()?;
        let packet_id = if qos == QoS::AtMostOnce { None } else { Some(r.packet_id()?) };
        let (properties, topic_alias) = match protocol {
            Protocol::V5 => check_properties(r)?,
            Protocol::V311 => (&[][..], None),
        };
        if topic.is_empty() {
            publish::check_empty_topic(protocol, topic_alias.is_some(), topic_at)?;
        }
        Ok(PublishView {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            payload: r.rest_ref(),
            properties,
        })
    }

    /// The properties, in wire order. Empty in MQTT 3.1.1.
    #[inline]
    pub fn properties(&self) -> PublishProperties<'a> {
        PublishProperties { rest: self.properties }
    }

    /// The property list as it is on the wire, after its Property Length.
    #[inline]
    pub fn properties_bytes(&self) -> &'a [u8] {
        self.properties
    }

    /// Payload Format Indicator, if present.
    #[inline]
    pub fn payload_format_indicator(&self) -> Option<u8> {
        self.properties().find_map(|p| match p {
            PublishProperty::PayloadFormatIndicator(v) => Some(v),
            _ => None,
        })
    }

    /// Message Expiry Interval in seconds, if present.
    #[inline]
    pub fn message_expiry_interval(&self) -> Option<u32> {
        self.properties().find_map(|p| match p {
            PublishProperty::MessageExpiryInterval(v) => Some(v),
            _ => None,
        })
    }

    /// Content Type, if present.
    #[inline]
    pub fn content_type(&self) -> Option<&'a str> {
        self.properties().find_map(|p| match p {
            PublishProperty::ContentType(v) => Some(v),
            _ => None,
        })
    }

    /// Response Topic, if present.
    #[inline]
    pub fn response_topic(&self) -> Option<&'a str> {
        self.properties().find_map(|p| match p {
            PublishProperty::ResponseTopic(v) => Some(v),
            _ => None,
        })
    }

    /// Correlation Data, if present.
    #[inline]
    pub fn correlation_data(&self) -> Option<&'a [u8]> {
        self.properties().find_map(|p| match p {
            PublishProperty::CorrelationData(v) => Some(v),
            _ => None,
        })
    }

    /// Topic Alias, if present.
    #[inline]
    pub fn topic_alias(&self) -> Option<u16> {
        self.properties().find_map(|p| match p {
            PublishProperty::TopicAlias(v) => Some(v),
            _ => None,
        })
    }

    /// The Subscription Identifiers, in wire order.
    #[inline]
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.properties().filter_map(|p| match p {
            PublishProperty::SubscriptionIdentifier(v) => Some(v),
            _ => None,
        })
    }

    /// The User Properties, in wire order, duplicates kept.
    #[inline]
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.properties().filter_map(|p| match p {
            PublishProperty::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// An owned [`Publish`] with the same contents, copied out of the input:
    /// what [`decode`](super::decode) would have given for the same bytes.
    pub fn to_publish(&self) -> Publish {
        let mut props = Properties::new();
        for p in self.properties() {
            let s = |v: &str| ByteStr::from(alloc::string::String::from(v));
            match p {
                PublishProperty::PayloadFormatIndicator(v) => {
                    props.payload_format_indicator = Some(v)
                }
                PublishProperty::MessageExpiryInterval(v) => {
                    props.message_expiry_interval = Some(v)
                }
                PublishProperty::ContentType(v) => props.content_type = Some(s(v)),
                PublishProperty::ResponseTopic(v) => props.response_topic = Some(s(v)),
                PublishProperty::CorrelationData(v) => {
                    props.correlation_data = Some(Bytes::copy_from_slice(v))
                }
                PublishProperty::SubscriptionIdentifier(v) => {
                    props.subscription_identifiers.push(v)
                }
                PublishProperty::TopicAlias(v) => props.topic_alias = Some(v),
                PublishProperty::UserProperty(k, v) => props.user_properties.push((s(k), s(v))),
            }
        }
        Publish {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: ByteStr::from(alloc::string::String::from(self.topic)),
            packet_id: self.packet_id,
            properties: props,
            payload: Bytes::copy_from_slice(self.payload),
        }
    }
}

/// Bytes the decoder has checked to be UTF-8, as a `str`. The crate has no
/// `unsafe`, so this validates again; for the ASCII strings of most topics
/// that is one fast pass.
#[inline]
fn utf8(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or_default()
}

/// Validates a PUBLISH property list as the owned decoder does (the
/// per-property rules while parsing, then the value rules in the order of
/// `PropertyFields::check`, reported at the Property Length), without
/// building anything. Gives the list after its Property Length, and the
/// Topic Alias, which the Topic Name rule needs.
fn check_properties<'a>(r: &mut SliceReader<'a>) -> Result<(&'a [u8], Option<u16>), DecodeError> {
    let start = r.offset();
    let len = r.vbi()? as usize;
    if len == 0 {
        return Ok((&[], None));
    }
    let from = r.offset();
    let end = from + len;
    if end > r.end_offset() {
        return Err(DecodeError::malformed(start, "property length overruns the packet"));
    }
    let (mut seen, mut alias) = (0u64, None);
    let (mut bad_format, mut bad_sub_id, mut bad_response_topic) = (false, false, false);
    while r.offset() < end {
        let at = r.offset();
        let id = r.u8()?;
        if !Context::Publish.allows(id) {
            // §2.2.2.2: an identifier not valid for the packet type is Malformed.
            return Err(if properties::is_known(id) {
                DecodeError::malformed(at, "property not allowed in this packet")
            } else {
                DecodeError::malformed(at, "unknown property identifier")
            });
        }
        // Once-only properties: the repeat is refused before its value is read.
        let once = id != SUBSCRIPTION_IDENTIFIER && id != USER_PROPERTY;
        if once && seen & (1u64 << id) != 0 {
            return Err(DecodeError::protocol(at, "property appears more than once"));
        }
        seen |= 1u64 << id;
        match id {
            PAYLOAD_FORMAT_INDICATOR => bad_format |= r.u8()? > 1,
            MESSAGE_EXPIRY_INTERVAL => {
                r.u32()?;
            }
            CONTENT_TYPE => {
                r.string_ref()?;
            }
            RESPONSE_TOPIC => {
                let t = r.string_ref()?;
                bad_response_topic = t.is_empty() || t.iter().any(|&c| c == b'+' || c == b'#');
            }
            CORRELATION_DATA => {
                r.binary_ref()?;
            }
            SUBSCRIPTION_IDENTIFIER => bad_sub_id |= r.vbi()? == 0,
            TOPIC_ALIAS => alias = Some(r.u16()?),
            USER_PROPERTY => {
                r.string_ref()?;
                r.string_ref()?;
            }
            _ => return Err(DecodeError::malformed(at, "unknown property identifier")),
        }
        if r.offset() > end {
            return Err(DecodeError::malformed(at, "property overruns the property length"));
        }
    }
    let pe = |m| Err(DecodeError::protocol(start, m));
    if bad_format {
        return pe("Payload Format Indicator is neither 0 nor 1");
    }
    if alias == Some(0) {
        return pe("Topic Alias is 0");
    }
    if bad_sub_id {
        return pe("Subscription Identifier is 0 or above 268,435,455");
    }
    if bad_response_topic {
        return pe("Response Topic is empty or contains a wildcard");
    }
    Ok((r.bytes(from, end), alias))
}

impl<'a> Iterator for PublishProperties<'a> {
    type Item = PublishProperty<'a>;

    #[inline]
    fn next(&mut self) -> Option<PublishProperty<'a>> {
        // The list was validated by `check_properties`, so it is read here
        // without error reporting. Should a read fail all the same, the
        // iteration ends instead of panicking.
        let (&id, rest) = self.rest.split_first()?;
        let item = match id {
            PAYLOAD_FORMAT_INDICATOR => {
                take::<1>(rest).map(|(v, r)| (PublishProperty::PayloadFormatIndicator(v[0]), r))
            }
            MESSAGE_EXPIRY_INTERVAL => take::<4>(rest)
                .map(|(v, r)| (PublishProperty::MessageExpiryInterval(u32::from_be_bytes(v)), r)),
            CONTENT_TYPE => string(rest).map(|(v, r)| (PublishProperty::ContentType(v), r)),
            RESPONSE_TOPIC => string(rest).map(|(v, r)| (PublishProperty::ResponseTopic(v), r)),
            CORRELATION_DATA => binary(rest).map(|(v, r)| (PublishProperty::CorrelationData(v), r)),
            SUBSCRIPTION_IDENTIFIER => match wire::vbi(rest) {
                Ok((r, v)) => Some((PublishProperty::SubscriptionIdentifier(v), r)),
                Err(_) => None,
            },
            TOPIC_ALIAS => take::<2>(rest)
                .map(|(v, r)| (PublishProperty::TopicAlias(u16::from_be_bytes(v)), r)),
            USER_PROPERTY => string(rest).and_then(|(k, r)| {
                string(r).map(|(v, r)| (PublishProperty::UserProperty(k, v), r))
            }),
            _ => None,
        };
        match item {
            Some((p, rest)) => {
                self.rest = rest;
                Some(p)
            }
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

/// `N` bytes from the front of a validated property list, and the rest.
#[inline]
fn take<const N: usize>(b: &[u8]) -> Option<([u8; N], &[u8])> {
    b.split_first_chunk::<N>().map(|(v, r)| (*v, r))
}

/// Binary Data from the front of a validated property list, and the rest.
#[inline]
fn binary(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, r) = take::<2>(b)?;
    let len = usize::from(u16::from_be_bytes(len));
    (len <= r.len()).then(|| r.split_at(len))
}

/// A UTF-8 Encoded String from the front of a validated property list, and the rest.
#[inline]
fn string(b: &[u8]) -> Option<(&str, &[u8])> {
    binary(b).map(|(s, r)| (utf8(s), r))
}
