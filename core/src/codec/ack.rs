//! PUBACK, PUBREC, PUBREL and PUBCOMP (§3.4–3.7): one body shape for all four.

use super::connect::no_properties;
use super::properties::Context;
use super::wire::Reader;
use super::{check_reason, DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use bytes::BufMut;

/// The body of PUBACK, PUBREC, PUBREL and PUBCOMP; [`super::Packet`] says which.
///
/// In MQTT 3.1.1 only `packet_id` is on the wire; `reason_code` is Success.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct PubAck {
    /// Packet Identifier of the PUBLISH being acknowledged.
    #[cfg_attr(feature = "serde", serde(rename = "packet_identifier"))]
    pub packet_id: u16,
    /// Reason Code (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason_code: ReasonCode,
    /// Properties (MQTT 5.0): Reason String and User Properties.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

impl PubAck {
    /// A successful acknowledgement of `packet_id`.
    pub fn new(packet_id: u16) -> Self {
        PubAck { packet_id, ..PubAck::default() }
    }

    pub(crate) fn read(
        r: &mut Reader<'_>,
        protocol: Protocol,
        allowed: &[u8],
    ) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let (reason_code, properties) =
            read_reason_and_properties(r, protocol, allowed, Context::Ack)?;
        Ok(PubAck { packet_id, reason_code, properties })
    }

    pub(crate) fn checked_len(
        &self,
        protocol: Protocol,
        allowed: &[u8],
    ) -> Result<usize, EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::new(ReasonCode::PROTOCOL_ERROR, "packet identifier is 0"));
        }
        Ok(2 + reason_and_properties_len(
            self.reason_code,
            &self.properties,
            protocol,
            allowed,
            Context::Ack,
        )?)
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        out.put_u16(self.packet_id);
        write_reason_and_properties(self.reason_code, &self.properties, protocol, out);
    }
}

/// Reads the optional Reason Code and Properties that end PUBACK-like packets,
/// DISCONNECT and AUTH in MQTT 5.0: absent means Success with no properties,
/// a lone Reason Code means no properties. In MQTT 3.1.1 there is nothing.
pub(crate) fn read_reason_and_properties(
    r: &mut Reader<'_>,
    protocol: Protocol,
    allowed: &[u8],
    ctx: Context,
) -> Result<(ReasonCode, Properties), DecodeError> {
    if protocol == Protocol::V311 || r.remaining() == 0 {
        return Ok((ReasonCode::SUCCESS, Properties::default()));
    }
    let at = r.offset();
    let code = ReasonCode(r.u8()?);
    check_reason(code, allowed).map_err(|m| DecodeError::protocol(at, m))?;
    let properties =
        if r.remaining() == 0 { Properties::default() } else { Properties::read(r, ctx)? };
    Ok((code, properties))
}

/// Validates and measures what [`write_reason_and_properties`] writes.
pub(crate) fn reason_and_properties_len(
    code: ReasonCode,
    properties: &Properties,
    protocol: Protocol,
    allowed: &[u8],
    ctx: Context,
) -> Result<usize, EncodeError> {
    match protocol {
        Protocol::V311 => {
            if code != ReasonCode::SUCCESS {
                return Err(EncodeError::new(
                    ReasonCode::PROTOCOL_ERROR,
                    "MQTT 3.1.1 carries no reason code here",
                ));
            }
            if !properties.is_empty() {
                return Err(no_properties());
            }
            Ok(0)
        }
        Protocol::V5 => {
            check_reason(code, allowed)
                .map_err(|m| EncodeError::new(ReasonCode::PROTOCOL_ERROR, m))?;
            properties.check_encode(ctx)?;
            Ok(if properties.is_empty() {
                if code == ReasonCode::SUCCESS {
                    0
                } else {
                    1
                }
            } else {
                1 + properties.encoded_len()
            })
        }
    }
}

/// Writes the shortest form [`read_reason_and_properties`] reads back the same.
pub(crate) fn write_reason_and_properties<B: BufMut>(
    code: ReasonCode,
    properties: &Properties,
    protocol: Protocol,
    out: &mut B,
) {
    if protocol == Protocol::V311 {
        return;
    }
    let has_props = !properties.is_empty();
    if code != ReasonCode::SUCCESS || has_props {
        out.put_u8(code.0);
    }
    if has_props {
        properties.write(out);
    }
}
