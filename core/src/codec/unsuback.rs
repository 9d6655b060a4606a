//! UNSUBACK (§3.11).

use super::connect::no_properties;
use super::reason::allowed;
use super::suback::{codes_len, read_codes, write_codes};
use super::wire::Reader;
use super::{DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use alloc::vec::Vec;
use bytes::BufMut;

/// UNSUBACK. In MQTT 3.1.1 it carries only the packet identifier and
/// `reason_codes` is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Unsuback {
    /// Packet Identifier of the UNSUBSCRIBE.
    #[cfg_attr(feature = "serde", serde(rename = "packet_identifier"))]
    pub packet_id: u16,
    /// UNSUBACK properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
    /// One code per filter, in order (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub reason_codes: Vec<ReasonCode>,
}

impl Unsuback {
    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        match protocol {
            Protocol::V311 => Ok(Unsuback { packet_id, ..Unsuback::default() }),
            Protocol::V5 => {
                let properties = Properties::read(r, super::properties::Context::Ack)?;
                let reason_codes = read_codes(r, allowed::UNSUBACK)?;
                Ok(Unsuback { packet_id, properties, reason_codes })
            }
        }
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        match protocol {
            Protocol::V5 => codes_len(
                self.packet_id,
                &self.properties,
                &self.reason_codes,
                protocol,
                allowed::UNSUBACK,
            ),
            Protocol::V311 => {
                if self.packet_id == 0 {
                    return Err(EncodeError::new(
                        ReasonCode::PROTOCOL_ERROR,
                        "packet identifier is 0",
                    ));
                }
                if !self.properties.is_empty() {
                    return Err(no_properties());
                }
                if !self.reason_codes.is_empty() {
                    return Err(EncodeError::new(
                        ReasonCode::PROTOCOL_ERROR,
                        "MQTT 3.1.1 UNSUBACK carries no reason codes",
                    ));
                }
                Ok(2)
            }
        }
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        match protocol {
            Protocol::V5 => {
                write_codes(self.packet_id, &self.properties, &self.reason_codes, protocol, out)
            }
            Protocol::V311 => out.put_u16(self.packet_id),
        }
    }
}
