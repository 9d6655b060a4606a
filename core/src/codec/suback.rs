//! SUBACK (§3.9): one reason code per requested filter.

use super::connect::no_properties;
use super::properties::Context;
use super::reason::allowed;
use super::wire::Reader;
use super::{check_reason, DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use alloc::vec::Vec;
use bytes::BufMut;

/// SUBACK. In MQTT 3.1.1 the codes are the return codes 0, 1, 2 and 0x80.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Suback {
    /// Packet Identifier of the SUBSCRIBE.
    #[cfg_attr(feature = "serde", serde(rename = "packet_identifier"))]
    pub packet_id: u16,
    /// SUBACK properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
    /// One code per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
}

impl Suback {
    fn allowed(protocol: Protocol) -> &'static [u8] {
        match protocol {
            Protocol::V5 => allowed::SUBACK,
            Protocol::V311 => allowed::SUBACK_V4,
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V5 => Properties::read(r, Context::Ack)?,
            Protocol::V311 => Properties::default(),
        };
        let reason_codes = read_codes(r, Self::allowed(protocol))?;
        Ok(Suback { packet_id, properties, reason_codes })
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        codes_len(
            self.packet_id,
            &self.properties,
            &self.reason_codes,
            protocol,
            Self::allowed(protocol),
        )
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        write_codes(self.packet_id, &self.properties, &self.reason_codes, protocol, out);
    }
}

/// Reads the list of one-byte reason codes that ends SUBACK and UNSUBACK.
pub(crate) fn read_codes(
    r: &mut Reader<'_>,
    allowed: &[u8],
) -> Result<Vec<ReasonCode>, DecodeError> {
    if r.remaining() == 0 {
        return Err(DecodeError::protocol(r.offset(), "acknowledgement without reason codes"));
    }
    let mut codes = Vec::with_capacity(r.remaining());
    while r.remaining() > 0 {
        let at = r.offset();
        let c = ReasonCode(r.u8()?);
        check_reason(c, allowed).map_err(|m| DecodeError::protocol(at, m))?;
        codes.push(c);
    }
    Ok(codes)
}

/// Validates and measures a SUBACK / UNSUBACK body.
pub(crate) fn codes_len(
    packet_id: u16,
    properties: &Properties,
    codes: &[ReasonCode],
    protocol: Protocol,
    allowed: &[u8],
) -> Result<usize, EncodeError> {
    if packet_id == 0 {
        return Err(EncodeError::new(ReasonCode::PROTOCOL_ERROR, "packet identifier is 0"));
    }
    if codes.is_empty() {
        return Err(EncodeError::new(
            ReasonCode::PROTOCOL_ERROR,
            "acknowledgement without reason codes",
        ));
    }
    for &c in codes {
        check_reason(c, allowed).map_err(|m| EncodeError::new(ReasonCode::PROTOCOL_ERROR, m))?;
    }
    let props = match protocol {
        Protocol::V5 => {
            properties.check_encode(Context::Ack)?;
            properties.encoded_len()
        }
        Protocol::V311 if !properties.is_empty() => return Err(no_properties()),
        Protocol::V311 => 0,
    };
    Ok(2 + props + codes.len())
}

/// Writes a SUBACK / UNSUBACK body.
pub(crate) fn write_codes<B: BufMut>(
    packet_id: u16,
    properties: &Properties,
    codes: &[ReasonCode],
    protocol: Protocol,
    out: &mut B,
) {
    out.put_u16(packet_id);
    if protocol == Protocol::V5 {
        properties.write(out);
    }
    for c in codes {
        out.put_u8(c.0);
    }
}
