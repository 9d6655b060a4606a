//! The MQTT 3.1.1 / 5.0 packet codec.
//!
//! - [`Packet`] holds any of the fifteen control packets, for either protocol
//!   version and either direction, so the codec serves clients, brokers,
//!   proxies and test tools alike.
//! - [`decode`] reads one packet from a [`Bytes`] buffer without copying:
//!   strings, binary fields and payloads are slices of the input.
//! - [`decode_view`] reads a PUBLISH in place as a [`PublishView`] that
//!   borrows the input: the same checks, no reference counts, no allocation
//!   (other packets come out owned).
//! - [`Decoder`] frames a byte stream that arrives in arbitrary chunks, and
//!   refuses a packet whose Remaining Length exceeds its limit from the fixed
//!   header alone; [`Decoder::next_view`] gives each PUBLISH borrowed from
//!   its buffer, as [`decode_view`] does.
//! - [`Packet::encode`] writes a packet after computing its exact length
//!   ([`Packet::encoded_len`]); [`Packet::encode_within`] drops Reason String
//!   and User Properties where MQTT 5.0 allows it to fit a Maximum Packet Size.
//!
//! Validation is strict in both directions and every refusal carries the
//! reason code the standard gives for it: Malformed Packet (0x81) for bytes
//! that cannot be parsed by the grammar (bad flags, QoS 3, over-long or
//! non-minimal Variable Byte Integers, bad UTF-8, lengths that overrun, reserved
//! bits, wildcards in a Topic Name or misplaced in a Topic Filter, a property
//! identifier not valid for the packet type, as 5.0 §2.2.2.2 says), Protocol
//! Error (0x82) for parsed data the protocol forbids (packet identifier 0, a
//! property repeated, out-of-range property values, a reason code the packet
//! may not carry, Maximum QoS or Retain Handling 3 in 5.0 subscription
//! options), Unsupported Protocol Version (0x84) and Packet too large (0x95).
//!
//! With the `serde` feature every packet has a JSON form: `"type"` names the
//! packet, keys are the standard's field names in snake_case, binary fields are
//! lowercase hex under a key ending in `_hex`, User Properties are a list of
//! `[name, value]` pairs.

mod ack;
mod auth;
mod bytestr;
mod connack;
mod connect;
mod decoder;
mod disconnect;
mod error;
#[cfg(feature = "serde")]
mod json;
mod properties;
mod publish;
mod reason;
mod suback;
mod subscribe;
mod unsuback;
mod unsubscribe;
mod view;
pub(crate) mod wire;

pub use ack::PubAck;
pub use auth::Auth;
pub use bytestr::ByteStr;
pub use connack::Connack;
pub use connect::{Connect, Will};
pub use decoder::Decoder;
pub use disconnect::Disconnect;
pub use error::{DecodeError, EncodeError};
pub use properties::{Properties, PropertyFields};
pub use publish::Publish;
pub use reason::ReasonCode;
pub use suback::Suback;
pub use subscribe::{RetainHandling, Subscribe, Subscription};
pub use unsuback::Unsuback;
pub use unsubscribe::Unsubscribe;
pub use view::{decode_view, PacketView, PublishProperties, PublishProperty, PublishView};
pub use wire::FixedHeader;

use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};

/// The largest Remaining Length MQTT can express (§2.1.4).
pub const MAX_REMAINING_LENGTH: u32 = wire::VBI_MAX;

/// The protocol version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// MQTT 3.1.1, protocol level 4.
    V311 = 4,
    /// MQTT 5.0, protocol level 5.
    V5 = 5,
}

impl Protocol {
    /// The protocol level byte of CONNECT.
    pub fn level(self) -> u8 {
        self as u8
    }

    /// The version for a protocol level byte, if it is one this codec speaks.
    pub fn from_level(level: u8) -> Option<Protocol> {
        match level {
            4 => Some(Protocol::V311),
            5 => Some(Protocol::V5),
            _ => None,
        }
    }
}

/// Quality of Service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QoS {
    /// 0: at most once.
    #[default]
    AtMostOnce = 0,
    /// 1: at least once.
    AtLeastOnce = 1,
    /// 2: exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a two-bit value; `None` for 3, which is Malformed.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// The kind of a control packet, the high nibble of its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1 CONNECT.
    Connect = 1,
    /// 2 CONNACK.
    Connack = 2,
    /// 3 PUBLISH.
    Publish = 3,
    /// 4 PUBACK.
    Puback = 4,
    /// 5 PUBREC.
    Pubrec = 5,
    /// 6 PUBREL.
    Pubrel = 6,
    /// 7 PUBCOMP.
    Pubcomp = 7,
    /// 8 SUBSCRIBE.
    Subscribe = 8,
    /// 9 SUBACK.
    Suback = 9,
    /// 10 UNSUBSCRIBE.
    Unsubscribe = 10,
    /// 11 UNSUBACK.
    Unsuback = 11,
    /// 12 PINGREQ.
    Pingreq = 12,
    /// 13 PINGRESP.
    Pingresp = 13,
    /// 14 DISCONNECT.
    Disconnect = 14,
    /// 15 AUTH (MQTT 5.0 only).
    Auth = 15,
}

/// Any MQTT control packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum Packet {
    /// CONNECT, client to server. Boxed: it is sent once per connection and
    /// is the largest packet value, so the others need not carry its size.
    Connect(Box<Connect>),
    /// CONNACK, server to client.
    Connack(Connack),
    /// PUBLISH, both ways.
    Publish(Publish),
    /// PUBACK, both ways.
    Puback(PubAck),
    /// PUBREC, both ways.
    Pubrec(PubAck),
    /// PUBREL, both ways.
    Pubrel(PubAck),
    /// PUBCOMP, both ways.
    Pubcomp(PubAck),
    /// SUBSCRIBE, client to server.
    Subscribe(Subscribe),
    /// SUBACK, server to client.
    Suback(Suback),
    /// UNSUBSCRIBE, client to server.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK, server to client.
    Unsuback(Unsuback),
    /// PINGREQ, client to server.
    Pingreq,
    /// PINGRESP, server to client.
    Pingresp,
    /// DISCONNECT, both ways (server to client in 5.0 only).
    Disconnect(Disconnect),
    /// AUTH, both ways, MQTT 5.0 only.
    Auth(Auth),
}

/// Decodes one packet from the start of `buf`.
///
/// Returns `Ok(None)` while `buf` holds only part of a packet, and
/// `Ok(Some((packet, length)))` once it holds a whole one, `length` being the
/// bytes it took. A packet whose total length exceeds `max_packet_size` is
/// refused with Packet too large (0x95) as soon as its fixed header is
/// complete. Every string, binary field and payload in the packet is a slice
/// of `buf`: nothing is copied.
///
/// A CONNECT is decoded by the protocol level it carries, whatever `protocol`
/// says; every other packet by `protocol`.
pub fn decode(
    protocol: Protocol,
    buf: &Bytes,
    max_packet_size: u32,
) -> Result<Option<(Packet, usize)>, DecodeError> {
    let Some((header, total)) = frame(buf, max_packet_size)? else {
        return Ok(None);
    };
    if header.first_byte >> 4 == 3 {
        return decode_publish(protocol, header, buf, total);
    }
    let packet = decode_body(protocol, header, buf, total)?;
    Ok(Some((packet, total)))
}

/// The framing of [`decode`] and [`decode_view`]: the fixed header and the
/// packet's total length once `buf` holds the whole packet, `None` before;
/// Packet too large (0x95) from the fixed header alone.
#[inline]
pub(crate) fn frame(
    buf: &[u8],
    max_packet_size: u32,
) -> Result<Option<(FixedHeader, usize)>, DecodeError> {
    let Some(header) = FixedHeader::parse(buf)? else {
        return Ok(None);
    };
    let total = header.packet_length();
    if total > max_packet_size as usize {
        return Err(DecodeError::new(
            ReasonCode::PACKET_TOO_LARGE,
            0,
            "packet is larger than the maximum packet size",
        ));
    }
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some((header, total)))
}

/// PUBLISH, the packet that carries the traffic, read in place into the value
/// returned instead of moving it out through each `Result` layer.
fn decode_publish(
    protocol: Protocol,
    header: FixedHeader,
    buf: &Bytes,
    total: usize,
) -> Result<Option<(Packet, usize)>, DecodeError> {
    let mut out = Ok(Some((Packet::Publish(Publish::default()), total)));
    if let Ok(Some((Packet::Publish(p), _))) = &mut out {
        let mut r = wire::Reader::new(buf, header.header_length, total);
        let read = p.read_into(&mut r, protocol, header.first_byte & 0x0F);
        if let Err(e) = read.and_then(|()| r.finish()) {
            out = Err(e);
        }
    }
    out
}

/// Decodes a buffer that must hold exactly one whole packet.
pub fn decode_exact(protocol: Protocol, buf: &Bytes) -> Result<Packet, DecodeError> {
    match decode(protocol, buf, u32::MAX)? {
        Some((p, n)) if n == buf.len() => Ok(p),
        Some((_, n)) => Err(DecodeError::malformed(n, "bytes follow the end of the packet")),
        None => Err(DecodeError::malformed(buf.len(), "input ends inside the packet")),
    }
}

fn decode_body(
    protocol: Protocol,
    header: FixedHeader,
    buf: &Bytes,
    total: usize,
) -> Result<Packet, DecodeError> {
    let flags = header.first_byte & 0x0F;
    let mut r = wire::Reader::new(buf, header.header_length, total);
    let fixed_flags = |expected: u8| {
        if flags == expected {
            Ok(())
        } else {
            // [MQTT-2.1.3-1]: flags marked reserved must be as the table says.
            Err(DecodeError::malformed(
                0,
                "fixed header flags are not the ones the packet type requires",
            ))
        }
    };
    let v5 = protocol == Protocol::V5;
    let packet = match header.first_byte >> 4 {
        1 => {
            fixed_flags(0)?;
            Packet::Connect(Box::new(Connect::read(&mut r)?))
        }
        2 => {
            fixed_flags(0)?;
            Packet::Connack(Connack::read(&mut r, protocol)?)
        }
        3 => Packet::Publish(Publish::read(&mut r, protocol, flags)?),
        4 => {
            fixed_flags(0)?;
            Packet::Puback(PubAck::read(&mut r, protocol, reason::allowed::PUBACK)?)
        }
        5 => {
            fixed_flags(0)?;
            Packet::Pubrec(PubAck::read(&mut r, protocol, reason::allowed::PUBACK)?)
        }
        6 => {
            fixed_flags(2)?;
            Packet::Pubrel(PubAck::read(&mut r, protocol, reason::allowed::PUBREL)?)
        }
        7 => {
            fixed_flags(0)?;
            Packet::Pubcomp(PubAck::read(&mut r, protocol, reason::allowed::PUBREL)?)
        }
        8 => {
            fixed_flags(2)?;
            Packet::Subscribe(Subscribe::read(&mut r, protocol)?)
        }
        9 => {
            fixed_flags(0)?;
            Packet::Suback(Suback::read(&mut r, protocol)?)
        }
        10 => {
            fixed_flags(2)?;
            Packet::Unsubscribe(Unsubscribe::read(&mut r, protocol)?)
        }
        11 => {
            fixed_flags(0)?;
            Packet::Unsuback(Unsuback::read(&mut r, protocol)?)
        }
        12 | 13 => {
            fixed_flags(0)?;
            if header.remaining_length != 0 {
                return Err(DecodeError::malformed(1, "PINGREQ and PINGRESP have no body"));
            }
            if header.first_byte >> 4 == 12 {
                Packet::Pingreq
            } else {
                Packet::Pingresp
            }
        }
        14 => {
            fixed_flags(0)?;
            Packet::Disconnect(Disconnect::read(&mut r, protocol)?)
        }
        15 if v5 => {
            fixed_flags(0)?;
            Packet::Auth(Auth::read(&mut r)?)
        }
        _ => return Err(DecodeError::malformed(0, "reserved packet type")),
    };
    r.finish()?;
    Ok(packet)
}

/// Refuses to encode `total` bytes into a buffer without room for them.
fn check_room<B: BufMut>(out: &B, total: usize) -> Result<(), EncodeError> {
    if out.remaining_mut() < total {
        return Err(EncodeError::new(
            ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
            "output buffer too small",
        ));
    }
    Ok(())
}

/// Checks a reason code against the codes a packet may carry.
pub(crate) fn check_reason(code: ReasonCode, allowed: &[u8]) -> Result<(), &'static str> {
    if allowed.contains(&code.0) {
        Ok(())
    } else {
        Err("reason code is not one this packet may carry")
    }
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        self.as_packet_ref().packet_type()
    }

    /// The exact number of bytes [`Packet::encode`] writes for `protocol`, after
    /// validating the packet as [`Packet::encode`] does.
    pub fn encoded_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        Ok(self.encoder(protocol)?.encoded_len())
    }

    /// Validates the packet and writes it to `out`. Returns the bytes written.
    ///
    /// A CONNECT is written with the protocol level of its own `protocol` field.
    #[inline]
    pub fn encode<B: BufMut>(&self, protocol: Protocol, out: &mut B) -> Result<usize, EncodeError> {
        self.encoder(protocol)?.write(out)
    }

    /// Validates the packet once, as [`Packet::encode`] does, and returns
    /// its exact encoded length with a writer that does not validate again:
    /// for a host that allocates the output once it knows the length.
    ///
    /// ```
    /// # use mqtt_engine::codec::{Packet, Protocol, Subscribe, Subscription, QoS};
    /// let mut s = Subscribe::new(vec![Subscription::new("a/+", QoS::AtLeastOnce)]);
    /// s.packet_id = 1;
    /// let p = Packet::Subscribe(s);
    /// let enc = p.encoder(Protocol::V5)?;
    /// let mut out = Vec::with_capacity(enc.encoded_len());
    /// assert_eq!(enc.write(&mut out)?, out.len());
    /// assert_eq!(out, p.encode_to_vec(Protocol::V5)?);
    /// # Ok::<(), mqtt_engine::codec::EncodeError>(())
    /// ```
    #[inline]
    pub fn encoder(&self, protocol: Protocol) -> Result<Encoder<'_>, EncodeError> {
        self.as_packet_ref().encoder(protocol)
    }

    /// The packet borrowed, as a [`PacketRef`].
    #[inline]
    pub fn as_packet_ref(&self) -> PacketRef<'_> {
        match self {
            Packet::Connect(p) => PacketRef::Connect(p),
            Packet::Connack(p) => PacketRef::Connack(p),
            Packet::Publish(p) => PacketRef::Publish(p),
            Packet::Puback(p) => PacketRef::Puback(p),
            Packet::Pubrec(p) => PacketRef::Pubrec(p),
            Packet::Pubrel(p) => PacketRef::Pubrel(p),
            Packet::Pubcomp(p) => PacketRef::Pubcomp(p),
            Packet::Subscribe(p) => PacketRef::Subscribe(p),
            Packet::Suback(p) => PacketRef::Suback(p),
            Packet::Unsubscribe(p) => PacketRef::Unsubscribe(p),
            Packet::Unsuback(p) => PacketRef::Unsuback(p),
            Packet::Pingreq => PacketRef::Pingreq,
            Packet::Pingresp => PacketRef::Pingresp,
            Packet::Disconnect(p) => PacketRef::Disconnect(p),
            Packet::Auth(p) => PacketRef::Auth(p),
        }
    }

    /// Like [`Packet::encode`] into a new vector.
    pub fn encode_to_vec(&self, protocol: Protocol) -> Result<Vec<u8>, EncodeError> {
        Ok(self.encoder(protocol)?.to_vec())
    }

    /// Like [`Packet::encode`] into a new [`Bytes`].
    pub fn encode_to_bytes(&self, protocol: Protocol) -> Result<Bytes, EncodeError> {
        Ok(self.encoder(protocol)?.to_bytes())
    }

    /// Encodes the packet so that it is at most `max_packet_size` bytes.
    ///
    /// Where MQTT 5.0 lets a sender leave them out to respect the receiver's
    /// Maximum Packet Size (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK,
    /// UNSUBACK, DISCONNECT, AUTH), the Reason String and then the User
    /// Properties are dropped. A packet that still does not fit, or any other
    /// packet that does not fit, is refused with Packet too large (0x95) and
    /// nothing is written.
    pub fn encode_within<B: BufMut>(
        &self,
        protocol: Protocol,
        max_packet_size: u32,
        out: &mut B,
    ) -> Result<usize, EncodeError> {
        let enc = self.encoder(protocol)?;
        if enc.encoded_len() <= max_packet_size as usize {
            return enc.write(out);
        }
        let too_large = EncodeError::new(
            ReasonCode::PACKET_TOO_LARGE,
            "packet is larger than the receiver's maximum packet size",
        );
        let mut slim = self.clone();
        let Some(props) = slim.sheddable_properties() else {
            return Err(too_large);
        };
        // Drop the Reason String and measure the whole packet again: the
        // Property Length and Remaining Length may shrink with it, so the User
        // Properties go only if the packet still does not fit.
        if props.reason_string.take().is_some()
            && slim.encoded_len(protocol)? <= max_packet_size as usize
        {
            return slim.encode(protocol, out);
        }
        if let Some(props) = slim.sheddable_properties() {
            props.user_properties.clear();
        }
        if slim.encoded_len(protocol)? > max_packet_size as usize {
            return Err(too_large);
        }
        slim.encode(protocol, out)
    }

    /// The properties whose Reason String and User Properties may be dropped to fit.
    fn sheddable_properties(&mut self) -> Option<&mut Properties> {
        match self {
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
}

/// A packet borrowed: encodes a packet value where it is, without moving
/// or cloning it into a [`Packet`]. Made by [`Packet::as_packet_ref`] or
/// `From` a reference to a packet value.
///
/// ```
/// # use mqtt_engine::codec::{Packet, PacketRef, Protocol, Subscribe, Subscription, QoS};
/// let mut s = Subscribe::new(vec![Subscription::new("a/+", QoS::AtLeastOnce)]);
/// s.packet_id = 1;
/// let wire = PacketRef::from(&s).encoder(Protocol::V5)?.to_vec();
/// assert_eq!(wire, Packet::Subscribe(s).encode_to_vec(Protocol::V5)?);
/// # Ok::<(), mqtt_engine::codec::EncodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketRef<'a> {
    /// CONNECT.
    Connect(&'a Connect),
    /// CONNACK.
    Connack(&'a Connack),
    /// PUBLISH.
    Publish(&'a Publish),
    /// PUBACK.
    Puback(&'a PubAck),
    /// PUBREC.
    Pubrec(&'a PubAck),
    /// PUBREL.
    Pubrel(&'a PubAck),
    /// PUBCOMP.
    Pubcomp(&'a PubAck),
    /// SUBSCRIBE.
    Subscribe(&'a Subscribe),
    /// SUBACK.
    Suback(&'a Suback),
    /// UNSUBSCRIBE.
    Unsubscribe(&'a Unsubscribe),
    /// UNSUBACK.
    Unsuback(&'a Unsuback),
    /// PINGREQ.
    Pingreq,
    /// PINGRESP.
    Pingresp,
    /// DISCONNECT.
    Disconnect(&'a Disconnect),
    /// AUTH.
    Auth(&'a Auth),
}

impl<'a> PacketRef<'a> {
    /// The packet's type.
    pub fn packet_type(self) -> PacketType {
        match self {
            PacketRef::Connect(_) => PacketType::Connect,
            PacketRef::Connack(_) => PacketType::Connack,
            PacketRef::Publish(_) => PacketType::Publish,
            PacketRef::Puback(_) => PacketType::Puback,
            PacketRef::Pubrec(_) => PacketType::Pubrec,
            PacketRef::Pubrel(_) => PacketType::Pubrel,
            PacketRef::Pubcomp(_) => PacketType::Pubcomp,
            PacketRef::Subscribe(_) => PacketType::Subscribe,
            PacketRef::Suback(_) => PacketType::Suback,
            PacketRef::Unsubscribe(_) => PacketType::Unsubscribe,
            PacketRef::Unsuback(_) => PacketType::Unsuback,
            PacketRef::Pingreq => PacketType::Pingreq,
            PacketRef::Pingresp => PacketType::Pingresp,
            PacketRef::Disconnect(_) => PacketType::Disconnect,
            PacketRef::Auth(_) => PacketType::Auth,
        }
    }

    /// [`Packet::encoder`] for the borrowed packet.
    #[inline]
    pub fn encoder(self, protocol: Protocol) -> Result<Encoder<'a>, EncodeError> {
        if let PacketRef::Publish(p) = self {
            // The traffic: measured once and written in few pieces.
            return p.encoder(protocol);
        }
        let body = self.checked_body_len(protocol)?;
        let total = 1 + wire::vbi_len(body as u32) + body;
        Ok(Encoder { source: Source::Packet(self, body), protocol, total })
    }

    /// The first byte of the fixed header.
    fn first_byte(self) -> u8 {
        let flags = match self {
            PacketRef::Publish(p) => p.flags(),
            PacketRef::Pubrel(_) | PacketRef::Subscribe(_) | PacketRef::Unsubscribe(_) => 2,
            _ => 0,
        };
        (self.packet_type() as u8) << 4 | flags
    }

    /// Validates the packet for `protocol` and returns its Remaining Length.
    fn checked_body_len(self, protocol: Protocol) -> Result<usize, EncodeError> {
        let v5 = protocol == Protocol::V5;
        let len = match self {
            PacketRef::Connect(p) => p.checked_len()?,
            PacketRef::Connack(p) => p.checked_len(protocol)?,
            PacketRef::Publish(p) => p.checked_layout(protocol)?.body,
            PacketRef::Puback(p) | PacketRef::Pubrec(p) => {
                p.checked_len(protocol, reason::allowed::PUBACK)?
            }
            PacketRef::Pubrel(p) | PacketRef::Pubcomp(p) => {
                p.checked_len(protocol, reason::allowed::PUBREL)?
            }
            PacketRef::Subscribe(p) => p.checked_len(protocol)?,
            PacketRef::Suback(p) => p.checked_len(protocol)?,
            PacketRef::Unsubscribe(p) => p.checked_len(protocol)?,
            PacketRef::Unsuback(p) => p.checked_len(protocol)?,
            PacketRef::Pingreq | PacketRef::Pingresp => 0,
            PacketRef::Disconnect(p) => p.checked_len(protocol)?,
            PacketRef::Auth(p) => {
                if !v5 {
                    // Packet type 15 is reserved in 3.1.1: a receiver calls it malformed.
                    return Err(EncodeError::new(
                        ReasonCode::MALFORMED_PACKET,
                        "AUTH exists only in MQTT 5.0",
                    ));
                }
                p.checked_len()?
            }
        };
        if len > MAX_REMAINING_LENGTH as usize {
            return Err(EncodeError::new(
                ReasonCode::PACKET_TOO_LARGE,
                "remaining length above 268,435,455 bytes",
            ));
        }
        Ok(len)
    }

    fn write_body<B: BufMut>(self, protocol: Protocol, out: &mut B) {
        match self {
            PacketRef::Connect(p) => p.write(out),
            PacketRef::Connack(p) => p.write(protocol, out),
            PacketRef::Publish(p) => {
                // `encode` writes PUBLISH through `Publish::encode` instead.
                p.write_header(protocol, p.layout_unchecked(protocol), false, out);
                out.put_slice(&p.payload);
            }
            PacketRef::Puback(p)
            | PacketRef::Pubrec(p)
            | PacketRef::Pubrel(p)
            | PacketRef::Pubcomp(p) => p.write(protocol, out),
            PacketRef::Subscribe(p) => p.write(protocol, out),
            PacketRef::Suback(p) => p.write(protocol, out),
            PacketRef::Unsubscribe(p) => p.write(protocol, out),
            PacketRef::Unsuback(p) => p.write(protocol, out),
            PacketRef::Pingreq | PacketRef::Pingresp => {}
            PacketRef::Disconnect(p) => p.write(protocol, out),
            PacketRef::Auth(p) => p.write(out),
        }
    }
}

macro_rules! packet_ref_from {
    ($($ty:ident => $variant:ident),*) => {$(
        impl<'a> From<&'a $ty> for PacketRef<'a> {
            fn from(p: &'a $ty) -> PacketRef<'a> {
                PacketRef::$variant(p)
            }
        }
    )*};
}

packet_ref_from!(Connect => Connect, Connack => Connack, Publish => Publish,
    Subscribe => Subscribe, Suback => Suback, Unsubscribe => Unsubscribe,
    Unsuback => Unsuback, Disconnect => Disconnect, Auth => Auth);

impl<'a> From<&'a Packet> for PacketRef<'a> {
    fn from(p: &'a Packet) -> PacketRef<'a> {
        p.as_packet_ref()
    }
}

impl Publish {
    /// The exact encoded length, after validating as [`Packet::encoded_len`] does.
    pub fn encoded_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        Ok(self.checked_layout(protocol)?.total())
    }

    /// Writes a PUBLISH that is known to be valid (validated once, then
    /// changed only in ways that keep it valid: DUP, packet identifier, Topic
    /// Alias) without validating it again. Returns the bytes written.
    pub(crate) fn encode_unchecked(&self, protocol: Protocol, out: &mut BytesMut) -> usize {
        let layout = self.layout_unchecked(protocol);
        let total = layout.total();
        out.reserve(total);
        self.write_header(protocol, layout, true, out);
        out.put_slice(&self.payload);
        total
    }

    /// Encodes this PUBLISH exactly as [`Packet::encode`] would, without first
    /// moving it into a [`Packet`]. Returns the bytes written.
    #[inline]
    pub fn encode<B: BufMut>(&self, protocol: Protocol, out: &mut B) -> Result<usize, EncodeError> {
        self.encoder(protocol)?.write(out)
    }

    /// [`Packet::encoder`] for this PUBLISH, without first moving it into a
    /// [`Packet`].
    #[inline]
    pub fn encoder(&self, protocol: Protocol) -> Result<Encoder<'_>, EncodeError> {
        let layout = self.checked_layout(protocol)?;
        Ok(Encoder { source: Source::Publish(self, layout), protocol, total: layout.total() })
    }

    /// Validates this PUBLISH as [`Publish::encode`] does and writes
    /// everything but the payload to `out`: fixed header, Topic Name, Packet
    /// Identifier and properties. Returns the bytes written.
    ///
    /// The packet on the wire is these bytes followed by [`Publish::payload`],
    /// so a host with vectored writes (`writev`, `Write::write_vectored`,
    /// a `Buf::chain`, a queue of `Bytes`) sends the payload from its own
    /// buffer and it is never copied:
    ///
    /// ```
    /// # use mqtt_engine::codec::{Packet, Protocol, Publish};
    /// # use bytes::{Buf, BytesMut};
    /// let msg = Publish::new("a/b", &b"a large payload"[..]);
    /// let mut header = BytesMut::new();
    /// msg.encode_header(Protocol::V5, &mut header)?;
    /// let mut wire = header.freeze().chain(msg.payload.clone()); // no copy
    /// let whole = wire.copy_to_bytes(wire.remaining()); // (copied here only to compare)
    /// assert_eq!(whole, Packet::Publish(msg).encode_to_bytes(Protocol::V5)?);
    /// # Ok::<(), mqtt_engine::codec::EncodeError>(())
    /// ```
    ///
    /// The Remaining Length in the header counts the payload. Nothing is
    /// written when the packet is refused or `out` has no room for the
    /// header.
    pub fn encode_header<B: BufMut>(
        &self,
        protocol: Protocol,
        out: &mut B,
    ) -> Result<usize, EncodeError> {
        let layout = self.checked_layout(protocol)?;
        let header = layout.total() - self.payload.len();
        check_room(out, header)?;
        self.write_header(protocol, layout, true, out);
        Ok(header)
    }
}

/// A packet validated for encoding, with its exact length: made by
/// [`Packet::encoder`] or [`Publish::encoder`].
#[derive(Clone, Copy, Debug)]
pub struct Encoder<'a> {
    source: Source<'a>,
    protocol: Protocol,
    total: usize,
}

#[derive(Clone, Copy, Debug)]
enum Source<'a> {
    Publish(&'a Publish, publish::Layout),
    /// Any other packet, with its Remaining Length.
    Packet(PacketRef<'a>, usize),
}

impl Encoder<'_> {
    /// The exact number of bytes [`Encoder::write`] writes.
    pub fn encoded_len(&self) -> usize {
        self.total
    }

    /// Writes the packet to `out` without validating it again. Returns the
    /// bytes written; nothing is written if `out` has no room for them all.
    // Always inlined: `Packet::encode` and `Publish::encode` are this call
    // on a just-made `Encoder`, and inlined the `Source` match folds away.
    #[inline(always)]
    pub fn write<B: BufMut>(&self, out: &mut B) -> Result<usize, EncodeError> {
        check_room(out, self.total)?;
        self.write_unchecked(out);
        Ok(self.total)
    }

    /// Writes everything but a PUBLISH's payload, without validating again:
    /// what [`Publish::encode_header`] writes, for vectored writes of a
    /// packet validated once and sent many times (retransmission, fan-out to
    /// many subscribers). The packet on the wire is these bytes followed by
    /// [`Encoder::payload`]. For any other packet this writes the whole
    /// packet and the payload is empty. Returns the bytes written; nothing is
    /// written if `out` has no room for them all.
    pub fn write_header<B: BufMut>(&self, out: &mut B) -> Result<usize, EncodeError> {
        let header = self.total - self.payload().len();
        check_room(out, header)?;
        match self.source {
            Source::Publish(p, layout) => p.write_header(self.protocol, layout, true, out),
            Source::Packet(..) => self.write_unchecked(out),
        }
        Ok(header)
    }

    /// [`Encoder::write_header`] into the start of a byte slice, such as a
    /// stack array or a transmit buffer: the fastest way to get a header.
    /// A slice needs no capacity checks, and a PUBLISH header without
    /// properties is mostly two eight-byte stores and the Topic Name's copy.
    /// Returns the header's length; the bytes of `buf` after it are left as
    /// they were. Nothing is written if `buf` is shorter than the header.
    ///
    /// ```
    /// # use mqtt_engine::codec::{Packet, Protocol, Publish};
    /// let msg = Publish::new("sensors/7/temp", &b"21.5"[..]);
    /// let enc = msg.encoder(Protocol::V311)?;
    /// let mut header = [0u8; 64];
    /// let n = enc.write_header_into(&mut header)?;
    /// // Sent as two buffers, for example with `Write::write_vectored`:
    /// let wire = [&header[..n], enc.payload()].concat();
    /// assert_eq!(wire, Packet::Publish(msg).encode_to_vec(Protocol::V311)?);
    /// # Ok::<(), mqtt_engine::codec::EncodeError>(())
    /// ```
    #[inline]
    pub fn write_header_into(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let header = self.total - self.payload().len();
        check_room(&buf, header)?;
        match self.source {
            Source::Publish(p, layout) => p.write_header_into(self.protocol, layout, header, buf),
            Source::Packet(..) => self.write_unchecked(&mut &mut buf[..header]),
        }
        Ok(header)
    }

    /// The bytes that follow [`Encoder::write_header`]'s on the wire: a
    /// PUBLISH's payload, borrowed from the packet; empty for other packets.
    pub fn payload(&self) -> &[u8] {
        match self.source {
            Source::Publish(p, _) => &p.payload,
            Source::Packet(..) => &[],
        }
    }

    /// Writes the packet to `out`, which has room for it.
    #[inline(always)]
    fn write_unchecked<B: BufMut>(&self, out: &mut B) {
        match self.source {
            Source::Publish(p, layout) => {
                p.write_header(self.protocol, layout, true, out);
                out.put_slice(&p.payload);
            }
            Source::Packet(p, body) => {
                wire::put_fixed_header(out, p.first_byte(), body as u32);
                p.write_body(self.protocol, out);
            }
        }
    }

    /// The packet in a new vector of exactly its length.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.total);
        self.write_unchecked(&mut v);
        v
    }

    /// The packet in a new [`Bytes`] of exactly its length.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.total);
        self.write_unchecked(&mut b);
        b.freeze()
    }
}

macro_rules! packet_from {
    ($($ty:ident => $variant:ident),*) => {$(
        impl From<$ty> for Packet {
            fn from(p: $ty) -> Packet {
                Packet::$variant(p)
            }
        }
    )*};
}

packet_from!(Connack => Connack, Publish => Publish, Subscribe => Subscribe, Suback => Suback,
    Unsubscribe => Unsubscribe, Unsuback => Unsuback, Disconnect => Disconnect, Auth => Auth);

impl From<Connect> for Packet {
    fn from(p: Connect) -> Packet {
        Packet::Connect(Box::new(p))
    }
}
