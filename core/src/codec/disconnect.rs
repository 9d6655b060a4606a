//! DISCONNECT (§3.14): the last packet of a connection, from either side in 5.0.

use super::ack::{
    read_reason_and_properties, reason_and_properties_len, write_reason_and_properties,
};
use super::properties::Context;
use super::reason::allowed;
use super::wire::Reader;
use super::{DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use bytes::BufMut;

/// DISCONNECT. In MQTT 3.1.1 it has no body: `reason_code` is Success.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Disconnect {
    /// Disconnect Reason Code (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason_code: ReasonCode,
    /// DISCONNECT properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

impl Disconnect {
    /// A DISCONNECT with this reason code and no properties.
    pub fn new(reason_code: ReasonCode) -> Self {
        Disconnect { reason_code, properties: Properties::default() }
    }

    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let (reason_code, properties) =
            read_reason_and_properties(r, protocol, allowed::DISCONNECT, Context::Disconnect)?;
        Ok(Disconnect { reason_code, properties })
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        reason_and_properties_len(
            self.reason_code,
            &self.properties,
            protocol,
            allowed::DISCONNECT,
            Context::Disconnect,
        )
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        write_reason_and_properties(self.reason_code, &self.properties, protocol, out);
    }
}
