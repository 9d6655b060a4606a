//! CONNECT (§3.1): the first packet a client sends.

use super::properties::Context;
use super::wire::{self, Reader};
use super::{ByteStr, DecodeError, EncodeError, Properties, Protocol, QoS, ReasonCode};
use bytes::{BufMut, Bytes};

/// CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Connect {
    /// Protocol version; decides how this CONNECT (and so the connection) is encoded.
    #[cfg_attr(feature = "serde", serde(rename = "protocol_version"))]
    pub protocol: Protocol,
    /// Clean Start (MQTT 5.0) / Clean Session (MQTT 3.1.1).
    #[cfg_attr(feature = "serde", serde(default))]
    pub clean_start: bool,
    /// Keep Alive, seconds; 0 turns keep-alive off.
    #[cfg_attr(feature = "serde", serde(default))]
    pub keep_alive: u16,
    /// Client Identifier; may be empty for a server-assigned one.
    #[cfg_attr(feature = "serde", serde(rename = "client_identifier", default))]
    pub client_id: ByteStr,
    /// The Will Message, if any.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub will: Option<Will>,
    /// User Name.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "user_name", default, skip_serializing_if = "Option::is_none")
    )]
    pub username: Option<ByteStr>,
    /// Password (binary data).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "password_hex",
            with = "super::json::opt_hex",
            default,
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub password: Option<Bytes>,
    /// CONNECT properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

/// The Will Message of a CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Will {
    /// Will Topic (a Topic Name: no wildcards).
    pub topic: ByteStr,
    /// Will Payload.
    #[cfg_attr(feature = "serde", serde(rename = "payload_hex", with = "super::json::hex"))]
    pub payload: Bytes,
    /// Will QoS.
    #[cfg_attr(feature = "serde", serde(default))]
    pub qos: QoS,
    /// Will Retain.
    #[cfg_attr(feature = "serde", serde(default))]
    pub retain: bool,
    /// Will Properties (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
}

impl Connect {
    /// A CONNECT with the given version and client identifier, Clean Start set,
    /// a 60-second keep-alive and nothing else.
    pub fn new(protocol: Protocol, client_id: impl Into<ByteStr>) -> Self {
        Connect {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
            properties: Properties::default(),
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let name = r.binary()?;
        let level_at = r.offset();
        let level = r.u8()?;
        if &name[..] != b"MQTT" {
            if &name[..] == b"MQIsdp" {
                return Err(DecodeError::new(
                    ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                    level_at,
                    "MQTT 3.1 (MQIsdp) is not supported",
                ));
            }
            return Err(DecodeError::malformed(at, "protocol name is not \"MQTT\""));
        }
        let protocol = Protocol::from_level(level).ok_or(DecodeError::new(
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            level_at,
            "protocol level is neither 4 (3.1.1) nor 5 (5.0)",
        ))?;
        let v5 = protocol == Protocol::V5;
        let flags_at = r.offset();
        let flags = r.u8()?;
        let bad = |m| Err(DecodeError::malformed(flags_at, m));
        if flags & 0x01 != 0 {
            return bad("CONNECT flags reserved bit is set"); // [MQTT-3.1.2-3]
        }
        let will_flag = flags & 0x04 != 0;
        let will_qos = (flags >> 3) & 0x03;
        let will_retain = flags & 0x20 != 0;
        let password_flag = flags & 0x40 != 0;
        let username_flag = flags & 0x80 != 0;
        if will_qos == 3 {
            return bad("Will QoS is 3"); // [MQTT-3.1.2-12]
        }
        if !will_flag && (will_qos != 0 || will_retain) {
            return bad("Will QoS or Will Retain set without the Will Flag"); // [MQTT-3.1.2-11], [MQTT-3.1.2-13]
        }
        if !v5 && password_flag && !username_flag {
            return bad("Password Flag set without User Name Flag"); // 3.1.1 [MQTT-3.1.2-22]
        }
        let keep_alive = r.u16()?;
        let properties =
            if v5 { Properties::read(r, Context::Connect)? } else { Properties::default() };
        let client_id = r.string()?;
        let will = if will_flag {
            let properties =
                if v5 { Properties::read(r, Context::Will)? } else { Properties::default() };
            let topic_at = r.offset();
            let topic = r.string()?;
            crate::topic::check_name_bytes(topic.as_bytes())
                .map_err(|m| DecodeError::malformed(topic_at, m))?;
            let payload = r.binary()?;
            Some(Will {
                topic,
                payload,
                qos: QoS::from_u8(will_qos).unwrap_or_default(),
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if username_flag { Some(r.string()?) } else { None };
        let password = if password_flag { Some(r.binary()?) } else { None };
        Ok(Connect {
            protocol,
            clean_start: flags & 0x02 != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    pub(crate) fn checked_len(&self) -> Result<usize, EncodeError> {
        let v5 = self.protocol == Protocol::V5;
        let malformed = |m| EncodeError::new(ReasonCode::MALFORMED_PACKET, m);
        wire::check_utf8_string(self.client_id.as_bytes()).map_err(malformed)?;
        let mut len = 6 + 1 + 1 + 2 + 2 + self.client_id.len();
        if v5 {
            self.properties.check_encode(Context::Connect)?;
            len += self.properties.encoded_len();
        } else if !self.properties.is_empty() {
            return Err(no_properties());
        }
        if let Some(w) = &self.will {
            wire::check_utf8_string(w.topic.as_bytes()).map_err(malformed)?;
            crate::topic::check_name_bytes(w.topic.as_bytes()).map_err(malformed)?;
            if w.payload.len() > u16::MAX as usize {
                return Err(malformed("Will Payload longer than 65,535 bytes"));
            }
            if v5 {
                w.properties.check_encode(Context::Will)?;
                len += w.properties.encoded_len();
            } else if !w.properties.is_empty() {
                return Err(no_properties());
            }
            len += 2 + w.topic.len() + 2 + w.payload.len();
        }
        if let Some(u) = &self.username {
            wire::check_utf8_string(u.as_bytes()).map_err(malformed)?;
            len += 2 + u.len();
        }
        if let Some(p) = &self.password {
            if !v5 && self.username.is_none() {
                return Err(malformed("MQTT 3.1.1 allows a Password only with a User Name"));
            }
            if p.len() > u16::MAX as usize {
                return Err(malformed("Password longer than 65,535 bytes"));
            }
            len += 2 + p.len();
        }
        Ok(len)
    }

    pub(crate) fn write<B: BufMut>(&self, out: &mut B) {
        let mut flags = 0u8;
        if self.clean_start {
            flags |= 0x02;
        }
        if let Some(w) = &self.will {
            flags |= 0x04 | (w.qos as u8) << 3;
            if w.retain {
                flags |= 0x20;
            }
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        // Protocol Name ("MQTT" with its length), Protocol Level and Connect
        // Flags: eight bytes packed in a register (see `wire::vbi_word`) and
        // written in one `put_slice`.
        let name = u64::from_le_bytes([0, 4, b'M', b'Q', b'T', b'T', 0, 0]);
        let head = name | u64::from(self.protocol.level()) << 48 | u64::from(flags) << 56;
        out.put_slice(&head.to_le_bytes());
        out.put_u16(self.keep_alive);
        let v5 = self.protocol == Protocol::V5;
        if v5 {
            self.properties.write(out);
        }
        wire::put_bin(out, self.client_id.as_bytes());
        if let Some(w) = &self.will {
            if v5 {
                w.properties.write(out);
            }
            wire::put_bin(out, w.topic.as_bytes());
            wire::put_bin(out, &w.payload);
        }
        if let Some(u) = &self.username {
            wire::put_bin(out, u.as_bytes());
        }
        if let Some(p) = &self.password {
            wire::put_bin(out, p);
        }
    }
}

/// The error for properties in an MQTT 3.1.1 packet.
pub(crate) fn no_properties() -> EncodeError {
    EncodeError::new(ReasonCode::PROTOCOL_ERROR, "MQTT 3.1.1 packets carry no properties")
}
