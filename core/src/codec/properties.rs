//! MQTT 5.0 properties (§2.2.2): one struct for all packets, validated per packet.

use super::wire::{self, Reader};
use super::{ByteStr, DecodeError, EncodeError, ReasonCode};
use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes};
use core::fmt;
use core::ops::{Deref, DerefMut};

/// The property values of an MQTT 5.0 packet or Will, one field per property.
///
/// One struct serves every packet so that code handling properties is written
/// once; which fields a packet may carry is checked on decode and on encode
/// (a property that is not allowed in a packet is a Protocol Error). Fields are
/// `None` (or empty) when absent. In MQTT 3.1.1 packets every field is absent.
///
/// Packets hold these through [`Properties`], which keeps them out of line
/// and allocates only for a packet that has some; build a value here and
/// convert it with `Properties::from` (or `.into()`).
///
/// On the wire the codec writes properties in ascending identifier order, with
/// User Properties in the order of [`PropertyFields::user_properties`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct PropertyFields {
    /// 0x01 Payload Format Indicator: 0 unspecified bytes, 1 UTF-8.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub payload_format_indicator: Option<u8>,
    /// 0x02 Message Expiry Interval, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub message_expiry_interval: Option<u32>,
    /// 0x03 Content Type.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub content_type: Option<ByteStr>,
    /// 0x08 Response Topic.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub response_topic: Option<ByteStr>,
    /// 0x09 Correlation Data.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "correlation_data_hex",
            with = "super::json::opt_hex",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub correlation_data: Option<Bytes>,
    /// 0x0B Subscription Identifier(s). A PUBLISH may carry several, a SUBSCRIBE one.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub subscription_identifiers: Vec<u32>,
    /// 0x11 Session Expiry Interval, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub session_expiry_interval: Option<u32>,
    /// 0x12 Assigned Client Identifier.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub assigned_client_identifier: Option<ByteStr>,
    /// 0x13 Server Keep Alive, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub server_keep_alive: Option<u16>,
    /// 0x15 Authentication Method.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub authentication_method: Option<ByteStr>,
    /// 0x16 Authentication Data.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "authentication_data_hex",
            with = "super::json::opt_hex",
            skip_serializing_if = "Option::is_none"
        )
    )]
    pub authentication_data: Option<Bytes>,
    /// 0x17 Request Problem Information (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub request_problem_information: Option<u8>,
    /// 0x18 Will Delay Interval, seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub will_delay_interval: Option<u32>,
    /// 0x19 Request Response Information (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub request_response_information: Option<u8>,
    /// 0x1A Response Information.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub response_information: Option<ByteStr>,
    /// 0x1C Server Reference.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub server_reference: Option<ByteStr>,
    /// 0x1F Reason String.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub reason_string: Option<ByteStr>,
    /// 0x21 Receive Maximum (not 0).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub receive_maximum: Option<u16>,
    /// 0x22 Topic Alias Maximum.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub topic_alias_maximum: Option<u16>,
    /// 0x23 Topic Alias (not 0).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub topic_alias: Option<u16>,
    /// 0x24 Maximum QoS (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub maximum_qos: Option<u8>,
    /// 0x25 Retain Available (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub retain_available: Option<u8>,
    /// 0x26 User Properties, in order, duplicates kept.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub user_properties: Vec<(ByteStr, ByteStr)>,
    /// 0x27 Maximum Packet Size (not 0).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub maximum_packet_size: Option<u32>,
    /// 0x28 Wildcard Subscription Available (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub wildcard_subscription_available: Option<u8>,
    /// 0x29 Subscription Identifier Available (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub subscription_identifiers_available: Option<u8>,
    /// 0x2A Shared Subscription Available (0 or 1).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub shared_subscription_available: Option<u8>,
}

/// Which packet (or the Will) a property list belongs to; decides which
/// properties are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Connect,
    Will,
    Connack,
    Publish,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK: Reason String and User Properties.
    Ack,
    Subscribe,
    Unsubscribe,
    Disconnect,
    Auth,
}

// Property identifiers.
pub(crate) const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
pub(crate) const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
pub(crate) const CONTENT_TYPE: u8 = 0x03;
pub(crate) const RESPONSE_TOPIC: u8 = 0x08;
pub(crate) const CORRELATION_DATA: u8 = 0x09;
pub(crate) const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
pub(crate) const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
pub(crate) const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
pub(crate) const SERVER_KEEP_ALIVE: u8 = 0x13;
pub(crate) const AUTHENTICATION_METHOD: u8 = 0x15;
pub(crate) const AUTHENTICATION_DATA: u8 = 0x16;
pub(crate) const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
pub(crate) const WILL_DELAY_INTERVAL: u8 = 0x18;
pub(crate) const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
pub(crate) const RESPONSE_INFORMATION: u8 = 0x1A;
pub(crate) const SERVER_REFERENCE: u8 = 0x1C;
pub(crate) const REASON_STRING: u8 = 0x1F;
pub(crate) const RECEIVE_MAXIMUM: u8 = 0x21;
pub(crate) const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
pub(crate) const TOPIC_ALIAS: u8 = 0x23;
pub(crate) const MAXIMUM_QOS: u8 = 0x24;
pub(crate) const RETAIN_AVAILABLE: u8 = 0x25;
pub(crate) const USER_PROPERTY: u8 = 0x26;
pub(crate) const MAXIMUM_PACKET_SIZE: u8 = 0x27;
pub(crate) const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
pub(crate) const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
pub(crate) const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

const fn bit(id: u8) -> u64 {
    1u64 << id
}

impl Context {
    /// The set of property identifiers allowed here, as a bit mask (§2.2.2.2 table).
    const fn allowed(self) -> u64 {
        match self {
            Context::Connect => {
                bit(SESSION_EXPIRY_INTERVAL)
                    | bit(RECEIVE_MAXIMUM)
                    | bit(MAXIMUM_PACKET_SIZE)
                    | bit(TOPIC_ALIAS_MAXIMUM)
                    | bit(REQUEST_RESPONSE_INFORMATION)
                    | bit(REQUEST_PROBLEM_INFORMATION)
                    | bit(USER_PROPERTY)
                    | bit(AUTHENTICATION_METHOD)
                    | bit(AUTHENTICATION_DATA)
            }
            Context::Will => {
                bit(WILL_DELAY_INTERVAL)
                    | bit(PAYLOAD_FORMAT_INDICATOR)
                    | bit(MESSAGE_EXPIRY_INTERVAL)
                    | bit(CONTENT_TYPE)
                    | bit(RESPONSE_TOPIC)
                    | bit(CORRELATION_DATA)
                    | bit(USER_PROPERTY)
            }
            Context::Connack => {
                bit(SESSION_EXPIRY_INTERVAL)
                    | bit(RECEIVE_MAXIMUM)
                    | bit(MAXIMUM_QOS)
                    | bit(RETAIN_AVAILABLE)
                    | bit(MAXIMUM_PACKET_SIZE)
                    | bit(ASSIGNED_CLIENT_IDENTIFIER)
                    | bit(TOPIC_ALIAS_MAXIMUM)
                    | bit(REASON_STRING)
                    | bit(USER_PROPERTY)
                    | bit(WILDCARD_SUBSCRIPTION_AVAILABLE)
                    | bit(SUBSCRIPTION_IDENTIFIER_AVAILABLE)
                    | bit(SHARED_SUBSCRIPTION_AVAILABLE)
                    | bit(SERVER_KEEP_ALIVE)
                    | bit(RESPONSE_INFORMATION)
                    | bit(SERVER_REFERENCE)
                    | bit(AUTHENTICATION_METHOD)
                    | bit(AUTHENTICATION_DATA)
            }
            Context::Publish => {
                bit(PAYLOAD_FORMAT_INDICATOR)
                    | bit(MESSAGE_EXPIRY_INTERVAL)
                    | bit(CONTENT_TYPE)
                    | bit(RESPONSE_TOPIC)
                    | bit(CORRELATION_DATA)
                    | bit(SUBSCRIPTION_IDENTIFIER)
                    | bit(TOPIC_ALIAS)
                    | bit(USER_PROPERTY)
            }
            Context::Ack => bit(REASON_STRING) | bit(USER_PROPERTY),
            Context::Subscribe => bit(SUBSCRIPTION_IDENTIFIER) | bit(USER_PROPERTY),
            Context::Unsubscribe => bit(USER_PROPERTY),
            Context::Disconnect => {
                bit(SESSION_EXPIRY_INTERVAL)
                    | bit(REASON_STRING)
                    | bit(USER_PROPERTY)
                    | bit(SERVER_REFERENCE)
            }
            Context::Auth => {
                bit(AUTHENTICATION_METHOD)
                    | bit(AUTHENTICATION_DATA)
                    | bit(REASON_STRING)
                    | bit(USER_PROPERTY)
            }
        }
    }

    pub(crate) fn allows(self, id: u8) -> bool {
        id < 64 && self.allowed() & bit(id) != 0
    }
}

impl PropertyFields {
    /// No property set; the same as `PropertyFields::default()`, usable in constants.
    pub const fn new() -> Self {
        PropertyFields {
            payload_format_indicator: None,
            message_expiry_interval: None,
            content_type: None,
            response_topic: None,
            correlation_data: None,
            subscription_identifiers: Vec::new(),
            session_expiry_interval: None,
            assigned_client_identifier: None,
            server_keep_alive: None,
            authentication_method: None,
            authentication_data: None,
            request_problem_information: None,
            will_delay_interval: None,
            request_response_information: None,
            response_information: None,
            server_reference: None,
            reason_string: None,
            receive_maximum: None,
            topic_alias_maximum: None,
            topic_alias: None,
            maximum_qos: None,
            retain_available: None,
            user_properties: Vec::new(),
            maximum_packet_size: None,
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
        }
    }

    /// True when no property is set.
    pub fn is_empty(&self) -> bool {
        self.present() == 0
    }

    /// The identifiers of the properties that are set, in wire order.
    fn present(&self) -> u64 {
        let mut m = 0u64;
        let mut set = |cond: bool, id: u8| {
            if cond {
                m |= bit(id)
            }
        };
        set(self.payload_format_indicator.is_some(), PAYLOAD_FORMAT_INDICATOR);
        set(self.message_expiry_interval.is_some(), MESSAGE_EXPIRY_INTERVAL);
        set(self.content_type.is_some(), CONTENT_TYPE);
        set(self.response_topic.is_some(), RESPONSE_TOPIC);
        set(self.correlation_data.is_some(), CORRELATION_DATA);
        set(!self.subscription_identifiers.is_empty(), SUBSCRIPTION_IDENTIFIER);
        set(self.session_expiry_interval.is_some(), SESSION_EXPIRY_INTERVAL);
        set(self.assigned_client_identifier.is_some(), ASSIGNED_CLIENT_IDENTIFIER);
        set(self.server_keep_alive.is_some(), SERVER_KEEP_ALIVE);
        set(self.authentication_method.is_some(), AUTHENTICATION_METHOD);
        set(self.authentication_data.is_some(), AUTHENTICATION_DATA);
        set(self.request_problem_information.is_some(), REQUEST_PROBLEM_INFORMATION);
        set(self.will_delay_interval.is_some(), WILL_DELAY_INTERVAL);
        set(self.request_response_information.is_some(), REQUEST_RESPONSE_INFORMATION);
        set(self.response_information.is_some(), RESPONSE_INFORMATION);
        set(self.server_reference.is_some(), SERVER_REFERENCE);
        set(self.reason_string.is_some(), REASON_STRING);
        set(self.receive_maximum.is_some(), RECEIVE_MAXIMUM);
        set(self.topic_alias_maximum.is_some(), TOPIC_ALIAS_MAXIMUM);
        set(self.topic_alias.is_some(), TOPIC_ALIAS);
        set(self.maximum_qos.is_some(), MAXIMUM_QOS);
        set(self.retain_available.is_some(), RETAIN_AVAILABLE);
        set(!self.user_properties.is_empty(), USER_PROPERTY);
        set(self.maximum_packet_size.is_some(), MAXIMUM_PACKET_SIZE);
        set(self.wildcard_subscription_available.is_some(), WILDCARD_SUBSCRIPTION_AVAILABLE);
        set(self.subscription_identifiers_available.is_some(), SUBSCRIPTION_IDENTIFIER_AVAILABLE);
        set(self.shared_subscription_available.is_some(), SHARED_SUBSCRIPTION_AVAILABLE);
        m
    }

    /// Checks the rules that do not depend on the wire form: which properties
    /// the context allows and the value ranges the standard sets. Shared by
    /// decode (after parsing) and encode (before writing).
    pub(crate) fn check(&self, ctx: Context) -> Result<(), (ReasonCode, &'static str)> {
        let pe = |m| Err((ReasonCode::PROTOCOL_ERROR, m));
        if self.present() & !ctx.allowed() != 0 {
            // §2.2.2.2: an identifier not valid for the packet type is Malformed.
            return Err((ReasonCode::MALFORMED_PACKET, "property not allowed in this packet"));
        }
        let zero_one = |v: Option<u8>| matches!(v, None | Some(0) | Some(1));
        if !zero_one(self.payload_format_indicator) {
            return pe("Payload Format Indicator is neither 0 nor 1");
        }
        if !zero_one(self.request_problem_information) {
            return pe("Request Problem Information is neither 0 nor 1");
        }
        if !zero_one(self.request_response_information) {
            return pe("Request Response Information is neither 0 nor 1");
        }
        if !zero_one(self.maximum_qos) {
            return pe("Maximum QoS is neither 0 nor 1");
        }
        if !zero_one(self.retain_available)
            || !zero_one(self.wildcard_subscription_available)
            || !zero_one(self.subscription_identifiers_available)
            || !zero_one(self.shared_subscription_available)
        {
            return pe("an availability flag is neither 0 nor 1");
        }
        if self.receive_maximum == Some(0) {
            return pe("Receive Maximum is 0");
        }
        if self.maximum_packet_size == Some(0) {
            return pe("Maximum Packet Size is 0");
        }
        if self.topic_alias == Some(0) {
            return pe("Topic Alias is 0");
        }
        if self.subscription_identifiers.iter().any(|&s| s == 0 || s > wire::VBI_MAX) {
            return pe("Subscription Identifier is 0 or above 268,435,455");
        }
        if ctx == Context::Subscribe && self.subscription_identifiers.len() > 1 {
            return pe("Subscription Identifier appears more than once");
        }
        if self.authentication_data.is_some() && self.authentication_method.is_none() {
            return pe("Authentication Data without Authentication Method");
        }
        if let Some(t) = &self.response_topic {
            let t = t.as_bytes();
            if t.is_empty() || t.iter().any(|&c| c == b'+' || c == b'#') {
                return pe("Response Topic is empty or contains a wildcard");
            }
        }
        Ok(())
    }

    /// Length of the property list on the wire, without its own length prefix.
    pub(crate) fn wire_len(&self) -> usize {
        let s = |v: &Option<ByteStr>| v.as_ref().map_or(0, |v| 3 + v.len());
        let b = |v: &Option<Bytes>| v.as_ref().map_or(0, |v| 3 + v.len());
        let n = |present: bool, len: usize| if present { 1 + len } else { 0 };
        n(self.payload_format_indicator.is_some(), 1)
            + n(self.message_expiry_interval.is_some(), 4)
            + s(&self.content_type)
            + s(&self.response_topic)
            + b(&self.correlation_data)
            + self.subscription_identifiers.iter().map(|&v| 1 + wire::vbi_len(v)).sum::<usize>()
            + n(self.session_expiry_interval.is_some(), 4)
            + s(&self.assigned_client_identifier)
            + n(self.server_keep_alive.is_some(), 2)
            + s(&self.authentication_method)
            + b(&self.authentication_data)
            + n(self.request_problem_information.is_some(), 1)
            + n(self.will_delay_interval.is_some(), 4)
            + n(self.request_response_information.is_some(), 1)
            + s(&self.response_information)
            + s(&self.server_reference)
            + s(&self.reason_string)
            + n(self.receive_maximum.is_some(), 2)
            + n(self.topic_alias_maximum.is_some(), 2)
            + n(self.topic_alias.is_some(), 2)
            + n(self.maximum_qos.is_some(), 1)
            + n(self.retain_available.is_some(), 1)
            + self.user_properties.iter().map(|(k, v)| 5 + k.len() + v.len()).sum::<usize>()
            + n(self.maximum_packet_size.is_some(), 4)
            + n(self.wildcard_subscription_available.is_some(), 1)
            + n(self.subscription_identifiers_available.is_some(), 1)
            + n(self.shared_subscription_available.is_some(), 1)
    }

    /// Writes the properties, without the Property Length in front.
    fn write_list<B: BufMut>(&self, out: &mut B) {
        let byte = |out: &mut B, id: u8, v: Option<u8>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u8(v);
            }
        };
        let u16p = |out: &mut B, id: u8, v: Option<u16>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u16(v);
            }
        };
        let u32p = |out: &mut B, id: u8, v: Option<u32>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u32(v);
            }
        };
        let strp = |out: &mut B, id: u8, v: &Option<ByteStr>| {
            if let Some(v) = v {
                out.put_u8(id);
                wire::put_bin(out, v.as_bytes());
            }
        };
        let binp = |out: &mut B, id: u8, v: &Option<Bytes>| {
            if let Some(v) = v {
                out.put_u8(id);
                wire::put_bin(out, v);
            }
        };
        byte(out, PAYLOAD_FORMAT_INDICATOR, self.payload_format_indicator);
        u32p(out, MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
        strp(out, CONTENT_TYPE, &self.content_type);
        strp(out, RESPONSE_TOPIC, &self.response_topic);
        binp(out, CORRELATION_DATA, &self.correlation_data);
        for &id in &self.subscription_identifiers {
            out.put_u8(SUBSCRIPTION_IDENTIFIER);
            wire::put_vbi(out, id);
        }
        u32p(out, SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        strp(out, ASSIGNED_CLIENT_IDENTIFIER, &self.assigned_client_identifier);
        u16p(out, SERVER_KEEP_ALIVE, self.server_keep_alive);
        strp(out, AUTHENTICATION_METHOD, &self.authentication_method);
        binp(out, AUTHENTICATION_DATA, &self.authentication_data);
        byte(out, REQUEST_PROBLEM_INFORMATION, self.request_problem_information);
        u32p(out, WILL_DELAY_INTERVAL, self.will_delay_interval);
        byte(out, REQUEST_RESPONSE_INFORMATION, self.request_response_information);
        strp(out, RESPONSE_INFORMATION, &self.response_information);
        strp(out, SERVER_REFERENCE, &self.server_reference);
        strp(out, REASON_STRING, &self.reason_string);
        u16p(out, RECEIVE_MAXIMUM, self.receive_maximum);
        u16p(out, TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        u16p(out, TOPIC_ALIAS, self.topic_alias);
        byte(out, MAXIMUM_QOS, self.maximum_qos);
        byte(out, RETAIN_AVAILABLE, self.retain_available);
        for (k, v) in &self.user_properties {
            out.put_u8(USER_PROPERTY);
            wire::put_bin(out, k.as_bytes());
            wire::put_bin(out, v.as_bytes());
        }
        u32p(out, MAXIMUM_PACKET_SIZE, self.maximum_packet_size);
        byte(out, WILDCARD_SUBSCRIPTION_AVAILABLE, self.wildcard_subscription_available);
        byte(out, SUBSCRIPTION_IDENTIFIER_AVAILABLE, self.subscription_identifiers_available);
        byte(out, SHARED_SUBSCRIPTION_AVAILABLE, self.shared_subscription_available);
    }

    /// Validates for encoding in `ctx`: the rules of [`Properties::check`] plus
    /// the string and length rules that decoding enforces while parsing.
    pub(crate) fn check_encode(&self, ctx: Context) -> Result<(), EncodeError> {
        self.check(ctx).map_err(|(r, m)| EncodeError::new(r, m))?;
        self.check_wire().map_err(|(r, m)| EncodeError::new(r, m))
    }

    fn check_wire(&self) -> Result<(), (ReasonCode, &'static str)> {
        let strings = [
            &self.content_type,
            &self.response_topic,
            &self.assigned_client_identifier,
            &self.authentication_method,
            &self.response_information,
            &self.server_reference,
            &self.reason_string,
        ];
        // A `ByteStr` is UTF-8 by construction: only its length and U+0000 are left.
        let check = |s: &ByteStr| {
            wire::check_utf8_string(s.as_bytes()).map_err(|m| (ReasonCode::MALFORMED_PACKET, m))
        };
        for s in strings.into_iter().flatten() {
            check(s)?;
        }
        for (k, v) in &self.user_properties {
            check(k)?;
            check(v)?;
        }
        for b in [&self.correlation_data, &self.authentication_data].into_iter().flatten() {
            if b.len() > u16::MAX as usize {
                return Err((ReasonCode::MALFORMED_PACKET, "binary data longer than 65,535 bytes"));
            }
        }
        Ok(())
    }

    /// Parses the properties in `r` up to `end`, into `self`, which is empty;
    /// `start` is where the Property Length began (the offset errors of the
    /// final checks point at).
    fn read_fields(
        &mut self,
        r: &mut Reader<'_>,
        ctx: Context,
        start: usize,
        end: usize,
    ) -> Result<(), DecodeError> {
        let p = self;
        while r.offset() < end {
            let at = r.offset();
            let id = r.u8()?;
            if !ctx.allows(id) {
                // §2.2.2.2: "A Control Packet which contains an Identifier which is
                // not valid for its packet type ... is a Malformed Packet."
                return Err(if is_known(id) {
                    DecodeError::malformed(at, "property not allowed in this packet")
                } else {
                    DecodeError::malformed(at, "unknown property identifier")
                });
            }
            let dup = || DecodeError::protocol(at, "property appears more than once");
            macro_rules! once {
                ($field:ident, $value:expr) => {{
                    if p.$field.is_some() {
                        return Err(dup());
                    }
                    p.$field = Some($value);
                }};
            }
            match id {
                PAYLOAD_FORMAT_INDICATOR => once!(payload_format_indicator, r.u8()?),
                MESSAGE_EXPIRY_INTERVAL => once!(message_expiry_interval, r.u32()?),
                CONTENT_TYPE => once!(content_type, r.string()?),
                RESPONSE_TOPIC => once!(response_topic, r.string()?),
                CORRELATION_DATA => once!(correlation_data, r.binary()?),
                SUBSCRIPTION_IDENTIFIER => {
                    if ctx == Context::Subscribe && !p.subscription_identifiers.is_empty() {
                        return Err(dup());
                    }
                    let v = r.vbi()?;
                    p.subscription_identifiers.push(v);
                }
                SESSION_EXPIRY_INTERVAL => once!(session_expiry_interval, r.u32()?),
                ASSIGNED_CLIENT_IDENTIFIER => once!(assigned_client_identifier, r.string()?),
                SERVER_KEEP_ALIVE => once!(server_keep_alive, r.u16()?),
                AUTHENTICATION_METHOD => once!(authentication_method, r.string()?),
                AUTHENTICATION_DATA => once!(authentication_data, r.binary()?),
                REQUEST_PROBLEM_INFORMATION => once!(request_problem_information, r.u8()?),
                WILL_DELAY_INTERVAL => once!(will_delay_interval, r.u32()?),
                REQUEST_RESPONSE_INFORMATION => once!(request_response_information, r.u8()?),
                RESPONSE_INFORMATION => once!(response_information, r.string()?),
                SERVER_REFERENCE => once!(server_reference, r.string()?),
                REASON_STRING => once!(reason_string, r.string()?),
                RECEIVE_MAXIMUM => once!(receive_maximum, r.u16()?),
                TOPIC_ALIAS_MAXIMUM => once!(topic_alias_maximum, r.u16()?),
                TOPIC_ALIAS => once!(topic_alias, r.u16()?),
                MAXIMUM_QOS => once!(maximum_qos, r.u8()?),
                RETAIN_AVAILABLE => once!(retain_available, r.u8()?),
                USER_PROPERTY => {
                    let k = r.string()?;
                    let v = r.string()?;
                    p.user_properties.push((k, v));
                }
                MAXIMUM_PACKET_SIZE => once!(maximum_packet_size, r.u32()?),
                WILDCARD_SUBSCRIPTION_AVAILABLE => once!(wildcard_subscription_available, r.u8()?),
                SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                    once!(subscription_identifiers_available, r.u8()?)
                }
                SHARED_SUBSCRIPTION_AVAILABLE => once!(shared_subscription_available, r.u8()?),
                _ => return Err(DecodeError::malformed(at, "unknown property identifier")),
            }
            if r.offset() > end {
                return Err(DecodeError::malformed(at, "property overruns the property length"));
            }
        }
        p.check(ctx).map_err(|(code, m)| DecodeError::new(code, start, m))?;
        Ok(())
    }
}

/// The properties of an MQTT 5.0 packet or Will: a [`PropertyFields`] kept
/// out of line, allocated only when some property is present.
///
/// Most packets carry no properties (every MQTT 3.1.1 packet, and most 5.0
/// PUBLISH traffic), so a packet holds one pointer instead of the whole field
/// struct, and decoding a packet whose Property Length is 0 allocates nothing.
/// The fields read and write as if they were inline:
///
/// ```
/// # use mqtt_engine::codec::{Properties, PropertyFields};
/// let mut p = Properties::default();
/// assert!(p.is_empty() && p.content_type.is_none()); // reads: no allocation
/// p.message_expiry_interval = Some(60); // first write allocates the fields
/// let q = Properties::from(PropertyFields {
///     message_expiry_interval: Some(60),
///     ..PropertyFields::default()
/// });
/// assert_eq!(p, q);
/// ```
///
/// Reading through [`Deref`] never allocates (an absent set reads as a shared
/// empty [`PropertyFields`]); the first access through [`DerefMut`] does.
/// Equality compares the fields, so an allocated empty set equals an absent
/// one. With the `serde` feature the JSON form is the one of
/// [`PropertyFields`].
#[derive(Clone, Default)]
pub struct Properties(Option<Box<PropertyFields>>);

/// What an absent property set reads as.
static NO_PROPERTIES: PropertyFields = PropertyFields::new();

impl Properties {
    /// No properties; allocates nothing.
    pub const fn new() -> Self {
        Properties(None)
    }

    /// True when no property is set. Without allocated fields this is one
    /// pointer test.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|f| f.is_empty())
    }

    /// The fields, or `None` when none were ever allocated (no property is set).
    pub fn fields(&self) -> Option<&PropertyFields> {
        self.0.as_deref()
    }

    /// Takes the fields out, leaving no properties.
    pub fn take(&mut self) -> PropertyFields {
        self.0.take().map_or_else(PropertyFields::new, |b| *b)
    }

    /// The fields, by value (to move them out).
    pub fn into_fields(self) -> PropertyFields {
        self.0.map_or_else(PropertyFields::new, |b| *b)
    }

    /// Reads a Property Length and the properties it covers. A Property
    /// Length of 0 allocates nothing.
    pub(crate) fn read(r: &mut Reader<'_>, ctx: Context) -> Result<Properties, DecodeError> {
        let start = r.offset();
        let len = r.vbi()? as usize;
        if len == 0 {
            return Ok(Properties(None));
        }
        let end = r.offset() + len;
        if end > r.end_offset() {
            return Err(DecodeError::malformed(start, "property length overruns the packet"));
        }
        let mut fields = Box::new(PropertyFields::new());
        fields.read_fields(r, ctx, start, end)?;
        Ok(Properties(Some(fields)))
    }

    /// Length of the property list on the wire, without its length prefix.
    #[inline]
    pub(crate) fn wire_len(&self) -> usize {
        self.0.as_ref().map_or(0, |f| f.wire_len())
    }

    /// Length on the wire including the Property Length prefix.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        let l = self.wire_len();
        wire::vbi_len(l as u32) + l
    }

    /// Writes the Property Length and the properties.
    pub(crate) fn write<B: BufMut>(&self, out: &mut B) {
        self.write_with_len(out, self.wire_len());
    }

    /// [`Properties::write`] when the caller has `wire_len`, the value of
    /// [`Properties::wire_len`], at hand: the fields are not measured twice.
    #[inline]
    pub(crate) fn write_with_len<B: BufMut>(&self, out: &mut B, wire_len: usize) {
        wire::put_vbi(out, wire_len as u32);
        if wire_len > 0 {
            self.write_fields(out);
        }
    }

    /// Writes the properties without the Property Length in front.
    #[inline]
    pub(crate) fn write_fields<B: BufMut>(&self, out: &mut B) {
        if let Some(f) = &self.0 {
            f.write_list(out);
        }
    }

    /// Validates for encoding in `ctx` (see [`PropertyFields`]'s checks);
    /// nothing to check when no fields were allocated.
    #[inline]
    pub(crate) fn check_encode(&self, ctx: Context) -> Result<(), EncodeError> {
        match &self.0 {
            None => Ok(()),
            Some(f) => f.check_encode(ctx),
        }
    }
}

impl Deref for Properties {
    type Target = PropertyFields;
    #[inline]
    fn deref(&self) -> &PropertyFields {
        self.0.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

impl DerefMut for Properties {
    /// Allocates the fields on first use.
    fn deref_mut(&mut self) -> &mut PropertyFields {
        self.0.get_or_insert_with(|| Box::new(PropertyFields::new()))
    }
}

impl From<PropertyFields> for Properties {
    /// Keeps the fields out of line; an empty set allocates nothing.
    fn from(f: PropertyFields) -> Self {
        if f.is_empty() {
            Properties(None)
        } else {
            Properties(Some(Box::new(f)))
        }
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Properties {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PropertyFields::deserialize(d).map(Properties::from)
    }
}

pub(crate) fn is_known(id: u8) -> bool {
    matches!(id, 0x01..=0x03 | 0x08 | 0x09 | 0x0B | 0x11..=0x13 | 0x15..=0x1A | 0x1C | 0x1F | 0x21..=0x2A)
}
