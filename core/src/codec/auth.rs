//! AUTH (§3.15): enhanced authentication exchange, MQTT 5.0 only.

use super::properties::Context;
use super::reason::allowed;
use super::wire::Reader;
use super::{check_reason, DecodeError, EncodeError, Properties, ReasonCode};
use bytes::BufMut;

/// AUTH.
///
/// On the wire an AUTH is either empty (Remaining Length 0: Success, no
/// properties, §3.15.2.1) or a Reason Code, a Property Length and properties
/// that include the Authentication Method, whose omission is a Protocol Error
/// (§3.15.2.2.2).
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

const NO_METHOD: &str = "AUTH without an Authentication Method";

impl Auth {
    fn abbreviated(&self) -> bool {
        self.reason_code == ReasonCode::SUCCESS && self.properties.is_empty()
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.remaining() == 0 {
            return Ok(Auth::default());
        }
        let at = r.offset();
        let reason_code = ReasonCode(r.u8()?);
        check_reason(reason_code, allowed::AUTH).map_err(|m| DecodeError::protocol(at, m))?;
        let props_at = r.offset();
        let properties = Properties::read(r, Context::Auth)?;
        if properties.authentication_method.is_none() {
            return Err(DecodeError::protocol(props_at, NO_METHOD));
        }
        Ok(Auth { reason_code, properties })
    }

    pub(crate) fn checked_len(&self) -> Result<usize, EncodeError> {
        if self.abbreviated() {
            return Ok(0);
        }
        check_reason(self.reason_code, allowed::AUTH)
            .map_err(|m| EncodeError::new(ReasonCode::PROTOCOL_ERROR, m))?;
        self.properties.check_encode(Context::Auth)?;
        if self.properties.authentication_method.is_none() {
            return Err(EncodeError::new(ReasonCode::PROTOCOL_ERROR, NO_METHOD));
        }
        Ok(1 + self.properties.encoded_len())
    }

    pub(crate) fn write<B: BufMut>(&self, out: &mut B) {
        if !self.abbreviated() {
            out.put_u8(self.reason_code.0);
            self.properties.write(out);
        }
    }
}
