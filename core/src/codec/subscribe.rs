//! SUBSCRIBE (§3.8): topic filters and their subscription options.

use super::connect::no_properties;
use super::properties::Context;
use super::wire::{self, Reader};
use super::{ByteStr, DecodeError, EncodeError, Properties, Protocol, QoS, ReasonCode};
use alloc::vec::Vec;
use bytes::BufMut;

/// Retain Handling subscription option (MQTT 5.0 §3.8.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RetainHandling {
    /// 0: send retained messages when the subscription is made.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send retained messages only if the subscription did not exist.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

impl RetainHandling {
    /// The option for a two-bit value; `None` for 3, a Protocol Error.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(RetainHandling::SendAtSubscribe),
            1 => Some(RetainHandling::SendIfNew),
            2 => Some(RetainHandling::DoNotSend),
            _ => None,
        }
    }
}

/// One topic filter of a SUBSCRIBE and its options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Subscription {
    /// Topic Filter, possibly `$share/{group}/{filter}`.
    #[cfg_attr(feature = "serde", serde(rename = "topic_filter"))]
    pub filter: ByteStr,
    /// Maximum QoS.
    #[cfg_attr(feature = "serde", serde(default))]
    pub qos: QoS,
    /// No Local (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub no_local: bool,
    /// Retain As Published (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub retain_as_published: bool,
    /// Retain Handling (MQTT 5.0).
    #[cfg_attr(feature = "serde", serde(default))]
    pub retain_handling: RetainHandling,
}

impl Subscription {
    /// A subscription to `filter` at `qos` with default options.
    pub fn new(filter: impl Into<ByteStr>, qos: QoS) -> Self {
        Subscription { filter: filter.into(), qos, ..Subscription::default() }
    }

    fn options(&self) -> u8 {
        self.qos as u8
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }

    /// The rules shared by decode and encode; `Err((code, message))`.
    fn check(&self, protocol: Protocol) -> Result<(), (ReasonCode, &'static str)> {
        crate::topic::check_filter_for_bytes(self.filter.as_bytes(), protocol)
            .map_err(|m| (ReasonCode::MALFORMED_PACKET, m))?;
        if protocol == Protocol::V311
            && (self.no_local
                || self.retain_as_published
                || self.retain_handling != RetainHandling::SendAtSubscribe)
        {
            return Err((
                ReasonCode::MALFORMED_PACKET,
                "MQTT 3.1.1 subscription options hold only QoS",
            ));
        }
        if self.no_local && crate::topic::is_shared_bytes(self.filter.as_bytes()) {
            // [MQTT-3.8.3-4]
            return Err((ReasonCode::PROTOCOL_ERROR, "No Local set on a shared subscription"));
        }
        Ok(())
    }
}

/// SUBSCRIBE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Subscribe {
    /// Packet Identifier.
    #[cfg_attr(feature = "serde", serde(rename = "packet_identifier"))]
    pub packet_id: u16,
    /// SUBSCRIBE properties (MQTT 5.0): Subscription Identifier, User Properties.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Properties::is_empty"))]
    pub properties: Properties,
    /// The filters, at least one.
    #[cfg_attr(feature = "serde", serde(rename = "subscriptions"))]
    pub filters: Vec<Subscription>,
}

impl Subscribe {
    /// A SUBSCRIBE for `filters` with no properties; the packet identifier is
    /// 0 until set (a client engine sets it).
    pub fn new(filters: Vec<Subscription>) -> Self {
        Subscribe { packet_id: 0, properties: Properties::default(), filters }
    }

    pub(crate) fn read(r: &mut Reader<'_>, protocol: Protocol) -> Result<Self, DecodeError> {
        let packet_id = r.packet_id()?;
        let properties = match protocol {
            Protocol::V5 => Properties::read(r, Context::Subscribe)?,
            Protocol::V311 => Properties::default(),
        };
        if r.remaining() == 0 {
            // [MQTT-3.8.3-2]
            return Err(DecodeError::protocol(r.offset(), "SUBSCRIBE without a topic filter"));
        }
        let mut filters = Vec::new();
        while r.remaining() > 0 {
            let at = r.offset();
            let filter = r.string()?;
            let opt_at = r.offset();
            let o = r.u8()?;
            let reserved = match protocol {
                Protocol::V311 => 0xFC, // [MQTT-3.8.3-4] (3.1.1)
                Protocol::V5 => 0xC0,   // [MQTT-3.8.3-5]
            };
            if o & reserved != 0 {
                return Err(DecodeError::malformed(
                    opt_at,
                    "subscription options reserved bits are set",
                ));
            }
            let qos = QoS::from_u8(o & 3).ok_or(match protocol {
                // 3.1.1 [MQTT-3.8.3-4]: malformed; 5.0 §3.8.3.1: "It is a Protocol
                // Error if the Maximum QoS field has the value 3".
                Protocol::V311 => DecodeError::malformed(opt_at, "subscription QoS is 3"),
                Protocol::V5 => DecodeError::protocol(opt_at, "subscription QoS is 3"),
            })?;
            let retain_handling = RetainHandling::from_u8((o >> 4) & 3)
                .ok_or(DecodeError::protocol(opt_at, "Retain Handling is 3"))?;
            let s = Subscription {
                filter,
                qos,
                no_local: o & 0x04 != 0,
                retain_as_published: o & 0x08 != 0,
                retain_handling,
            };
            s.check(protocol).map_err(|(code, m)| DecodeError::new(code, at, m))?;
            filters.push(s);
        }
        Ok(Subscribe { packet_id, properties, filters })
    }

    pub(crate) fn checked_len(&self, protocol: Protocol) -> Result<usize, EncodeError> {
        if self.packet_id == 0 {
            return Err(EncodeError::new(ReasonCode::PROTOCOL_ERROR, "packet identifier is 0"));
        }
        if self.filters.is_empty() {
            return Err(EncodeError::new(
                ReasonCode::PROTOCOL_ERROR,
                "SUBSCRIBE without a topic filter",
            ));
        }
        let mut len = 2;
        match protocol {
            Protocol::V5 => {
                self.properties.check_encode(Context::Subscribe)?;
                len += self.properties.encoded_len();
            }
            Protocol::V311 if !self.properties.is_empty() => return Err(no_properties()),
            Protocol::V311 => {}
        }
        for s in &self.filters {
            wire::check_utf8_string(s.filter.as_bytes())
                .map_err(|m| EncodeError::new(ReasonCode::MALFORMED_PACKET, m))?;
            s.check(protocol).map_err(|(code, m)| EncodeError::new(code, m))?;
            len += 2 + s.filter.len() + 1;
        }
        Ok(len)
    }

    pub(crate) fn write<B: BufMut>(&self, protocol: Protocol, out: &mut B) {
        out.put_u16(self.packet_id);
        if protocol == Protocol::V5 {
            self.properties.write(out);
        }
        for s in &self.filters {
            wire::put_bin(out, s.filter.as_bytes());
            out.put_u8(s.options());
        }
    }
}
