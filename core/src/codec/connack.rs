//! CONNACK (§3.2): the server's answer to CONNECT.

use super::connect::no_properties;
use super::properties::Context;
use super::reason::allowed;
use super::wire::Reader;
use super::{check_reason, DecodeError, EncodeError, Properties, Protocol, ReasonCode};
use bytes::BufMut;

/// CONNACK.
///
/// In MQTT 3.1.1 `reason_code` carries the Connect Return Code (0–5)
/// unchanged; [`ReasonCode::from_connect_return_code`] maps it to MQTT 5.0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Connack {
    /// Session Present.
    #[cfg_attr(feature = "serde", serde(default))]
    pub session_present: bool,
    /// Connect Reason Code (5.0) or Connect Return Code (3.1.1).
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason_code: ReasonCode,
    /// CONNACK properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

impl Connack {
    fn allowed(protocol: Protocol) -> &'static [u8] {
        match protocol {
            Protocol::V5 => allowed::CONNACK,
            Protocol::V311 => allowed::CONNACK_V4,
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let flags_at = r.offset();
        let flags = r.u8()?;
        if flags & 0xFE != 0 {
            // [MQTT-3.2.2-1]
            return Err(DecodeError::malformed(flags_at, "CONNACK flags reserved bits are set"));
        }
        let code_at = r.offset();
        let reason_code = ReasonCode(r.u8()?);
        check_reason(reason_code, Self::allowed(protocol))
            .map_err(|m| DecodeError::protocol(code_at, m))?;
        let session_present = flags & 1 != 0;
        if session_present && reason_code != ReasonCode::SUCCESS {
            // [MQTT-3.2.2-6] (5.0), [MQTT-3.2.2-4] (3.1.1)
            return Err(DecodeError::protocol(
                flags_at,
                "Session Present set on a refused connection",
            ));
        }
        let properties = match protocol {
            Protocol::V5 => Properties::read(r, Context::Connack)?,
            Protocol::V311 => Properties::default(),
        };
        Ok(Connack { session_present, reason_code, properties })
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        check_reason(self.reason_code, Self::allowed(protocol))
            .map_err(|m| EncodeError::new(ReasonCode::PROTOCOL_ERROR, m))?;
        if self.session_present && self.reason_code != ReasonCode::SUCCESS {
            return Err(EncodeError::new(
                ReasonCode::PROTOCOL_ERROR,
                "Session Present set on a refused connection",
            ));
        }
        match protocol {
            Protocol::V5 => {
                self.properties.check_encode(Context::Connack)?;
                Ok(2 + self.properties.encoded_len())
            }
            Protocol::V311 if !self.properties.is_empty() => Err(no_properties()),
            Protocol::V311 => Ok(2),
        }
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        out.put_u8(self.session_present as u8);
        out.put_u8(self.reason_code.0);
        if protocol == Protocol::V5 {
            self.properties.write(out);
        }
    }
}
