//! AUTH (§3.15): enhanced authentication exchange, MQTT 5.0 only.

use super::ack::{
    read_reason_and_properties, reason_and_properties_len, write_reason_and_properties,
};
use super::properties::Context;
use super::reason::allowed;
use super::wire::Reader;
use super::{DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use bytes::BufMut;

/// AUTH.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Auth {
    /// Authenticate Reason Code: Success, Continue authentication or Re-authenticate.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason_code: ReasonCode,
    /// AUTH properties: Authentication Method and Data, Reason String, User Properties.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

impl Auth {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (reason_code, properties) =
            read_reason_and_properties(r, Protocol::V5, allowed::AUTH, Context::Auth)?;
        Ok(Auth { reason_code, properties })
    }

    pub(crate) fn checked_len(&self) -> Result<usize, EncodeError> {
        reason_and_properties_len(
            self.reason_code,
            &self.properties,
            Protocol::V5,
            allowed::AUTH,
            Context::Auth,
        )
    }

    pub(crate) fn write<B: BufMut>(&self, out: &mut B) {
        write_reason_and_properties(self.reason_code, &self.properties, Protocol::V5, out);
    }
}
