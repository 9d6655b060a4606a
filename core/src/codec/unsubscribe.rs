//! UNSUBSCRIBE (§3.10).

use super::connect::no_properties;
use super::properties::Context;
use super::wire::{self, Reader};
use super::{ByteStr, DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use alloc::vec::Vec;
use bytes::BufMut;

/// UNSUBSCRIBE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Unsubscribe {
    /// Packet Identifier.
    #[cfg_attr(feature = "serde", serde(rename = "packet_identifier"))]
    pub packet_id: u16,
    /// UNSUBSCRIBE properties (MQTT 5.0): User Properties.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
    /// The topic filters, at least one.
    #[cfg_attr(feature = "serde", serde(rename = "topic_filters"))]
    pub filters: Vec<ByteStr>,
}

impl Unsubscribe {
    /// An UNSUBSCRIBE for `filters` with no properties; the packet identifier is
    /// 0 until set (a client engine sets it).
    pub fn new(filters: Vec<ByteStr>) -> Self {
        Unsubscribe { packet_id: 0, properties: Properties::default(), filters }
    }

    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V5 => Properties::read(r, Context::Unsubscribe)?,
            Protocol::V311 => Properties::default(),
        };
        if r.remaining() == 0 {
            // [MQTT-3.10.3-2]
            return Err(DecodeError::protocol(r.offset(), "UNSUBSCRIBE without a topic filter"));
        }
        let mut filters = Vec::new();
        while r.remaining() > 0 {
            let at = r.offset();
            let f = r.string()?;
            crate::topic::check_filter_for_bytes(f.as_bytes(), protocol)
                .map_err(|m| DecodeError::malformed(at, m))?;
            filters.push(f);
        }
        Ok(Unsubscribe { packet_id, properties, filters })
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::new(ReasonCode::PROTOCOL_ERROR, "packet identifier is 0"));
        }
        if self.filters.is_empty() {
            return Err(EncodeError::new(
                ReasonCode::PROTOCOL_ERROR,
                "UNSUBSCRIBE without a topic filter",
            ));
        }
        let mut len = 2;
        match protocol {
            Protocol::V5 => {
                self.properties.check_encode(Context::Unsubscribe)?;
                len += self.properties.encoded_len();
            }
            Protocol::V311 if !self.properties.is_empty() => return Err(no_properties()),
            Protocol::V311 => {}
        }
        for f in &self.filters {
            let malformed = |m| EncodeError::new(ReasonCode::MALFORMED_PACKET, m);
            wire::check_utf8_string(f.as_bytes()).map_err(malformed)?;
            crate::topic::check_filter_for_bytes(f.as_bytes(), protocol).map_err(malformed)?;
            len += 2 + f.len();
        }
        Ok(len)
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        out.put_u16(self.packet_id);
        if protocol == Protocol::V5 {
            self.properties.write(out);
        }
        for f in &self.filters {
            wire::put_bin(out, f.as_bytes());
        }
    }
}
