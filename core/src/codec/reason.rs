//! Reason codes (MQTT 5.0 §2.4) and the CONNACK return codes of MQTT 3.1.1.

use core::fmt;

/// A one-byte MQTT reason code.
///
/// The associated constants name every code MQTT 5.0 defines. In MQTT 3.1.1
/// packets the same type carries the CONNACK return code (0–5) and the SUBACK
/// return codes (0, 1, 2, 0x80) unchanged; see [`ReasonCode::connect_return_code_name`].
///
/// Every error this crate reports carries one of these, so all bindings expose a
/// single number for "what went wrong".
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReasonCode(pub u8);

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $text:literal;)*) => {
        impl ReasonCode {
            $($(#[$doc])* pub const $name: ReasonCode = ReasonCode($value);)*

            /// The name the standard gives this code, or `None` for a value it does
            /// not define. Codes shared by several meanings (0x00) read "Success".
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// 0x00 Success (also Normal disconnection and Granted QoS 0).
    SUCCESS = 0x00, "Success";
    /// 0x01 Granted QoS 1.
    GRANTED_QOS_1 = 0x01, "Granted QoS 1";
    /// 0x02 Granted QoS 2.
    GRANTED_QOS_2 = 0x02, "Granted QoS 2";
    /// 0x04 Disconnect with Will Message.
    DISCONNECT_WITH_WILL = 0x04, "Disconnect with Will Message";
    /// 0x10 No matching subscribers.
    NO_MATCHING_SUBSCRIBERS = 0x10, "No matching subscribers";
    /// 0x11 No subscription existed.
    NO_SUBSCRIPTION_EXISTED = 0x11, "No subscription existed";
    /// 0x18 Continue authentication.
    CONTINUE_AUTHENTICATION = 0x18, "Continue authentication";
    /// 0x19 Re-authenticate.
    REAUTHENTICATE = 0x19, "Re-authenticate";
    /// 0x80 Unspecified error (also the MQTT 3.1.1 SUBACK Failure).
    UNSPECIFIED_ERROR = 0x80, "Unspecified error";
    /// 0x81 Malformed Packet: the packet cannot be parsed according to the standard.
    MALFORMED_PACKET = 0x81, "Malformed Packet";
    /// 0x82 Protocol Error: the packet parsed but holds data the protocol forbids.
    PROTOCOL_ERROR = 0x82, "Protocol Error";
    /// 0x83 Implementation specific error.
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83, "Implementation specific error";
    /// 0x84 Unsupported Protocol Version.
    UNSUPPORTED_PROTOCOL_VERSION = 0x84, "Unsupported Protocol Version";
    /// 0x85 Client Identifier not valid.
    CLIENT_IDENTIFIER_NOT_VALID = 0x85, "Client Identifier not valid";
    /// 0x86 Bad User Name or Password.
    BAD_USER_NAME_OR_PASSWORD = 0x86, "Bad User Name or Password";
    /// 0x87 Not authorized.
    NOT_AUTHORIZED = 0x87, "Not authorized";
    /// 0x88 Server unavailable.
    SERVER_UNAVAILABLE = 0x88, "Server unavailable";
    /// 0x89 Server busy.
    SERVER_BUSY = 0x89, "Server busy";
    /// 0x8A Banned.
    BANNED = 0x8A, "Banned";
    /// 0x8B Server shutting down.
    SERVER_SHUTTING_DOWN = 0x8B, "Server shutting down";
    /// 0x8C Bad authentication method.
    BAD_AUTHENTICATION_METHOD = 0x8C, "Bad authentication method";
    /// 0x8D Keep Alive timeout.
    KEEP_ALIVE_TIMEOUT = 0x8D, "Keep Alive timeout";
    /// 0x8E Session taken over.
    SESSION_TAKEN_OVER = 0x8E, "Session taken over";
    /// 0x8F Topic Filter invalid.
    TOPIC_FILTER_INVALID = 0x8F, "Topic Filter invalid";
    /// 0x90 Topic Name invalid.
    TOPIC_NAME_INVALID = 0x90, "Topic Name invalid";
    /// 0x91 Packet Identifier in use.
    PACKET_IDENTIFIER_IN_USE = 0x91, "Packet Identifier in use";
    /// 0x92 Packet Identifier not found.
    PACKET_IDENTIFIER_NOT_FOUND = 0x92, "Packet Identifier not found";
    /// 0x93 Receive Maximum exceeded.
    RECEIVE_MAXIMUM_EXCEEDED = 0x93, "Receive Maximum exceeded";
    /// 0x94 Topic Alias invalid.
    TOPIC_ALIAS_INVALID = 0x94, "Topic Alias invalid";
    /// 0x95 Packet too large.
    PACKET_TOO_LARGE = 0x95, "Packet too large";
    /// 0x96 Message rate too high.
    MESSAGE_RATE_TOO_HIGH = 0x96, "Message rate too high";
    /// 0x97 Quota exceeded.
    QUOTA_EXCEEDED = 0x97, "Quota exceeded";
    /// 0x98 Administrative action.
    ADMINISTRATIVE_ACTION = 0x98, "Administrative action";
    /// 0x99 Payload format invalid.
    PAYLOAD_FORMAT_INVALID = 0x99, "Payload format invalid";
    /// 0x9A Retain not supported.
    RETAIN_NOT_SUPPORTED = 0x9A, "Retain not supported";
    /// 0x9B QoS not supported.
    QOS_NOT_SUPPORTED = 0x9B, "QoS not supported";
    /// 0x9C Use another server.
    USE_ANOTHER_SERVER = 0x9C, "Use another server";
    /// 0x9D Server moved.
    SERVER_MOVED = 0x9D, "Server moved";
    /// 0x9E Shared Subscriptions not supported.
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E, "Shared Subscriptions not supported";
    /// 0x9F Connection rate exceeded.
    CONNECTION_RATE_EXCEEDED = 0x9F, "Connection rate exceeded";
    /// 0xA0 Maximum connect time.
    MAXIMUM_CONNECT_TIME = 0xA0, "Maximum connect time";
    /// 0xA1 Subscription Identifiers not supported.
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1, "Subscription Identifiers not supported";
    /// 0xA2 Wildcard Subscriptions not supported.
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2, "Wildcard Subscriptions not supported";
}

impl ReasonCode {
    /// True for codes 0x80 and above, which MQTT 5.0 defines as failures.
    pub fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// The meaning of an MQTT 3.1.1 CONNACK return code (§3.2.2.3).
    pub fn connect_return_code_name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Connection Accepted",
            1 => "Connection Refused, unacceptable protocol version",
            2 => "Connection Refused, identifier rejected",
            3 => "Connection Refused, Server unavailable",
            4 => "Connection Refused, bad user name or password",
            5 => "Connection Refused, not authorized",
            _ => return None,
        })
    }

    /// The MQTT 5.0 reason code equivalent to an MQTT 3.1.1 CONNACK return code.
    pub fn from_connect_return_code(code: u8) -> Option<ReasonCode> {
        Some(match code {
            0 => ReasonCode::SUCCESS,
            1 => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            2 => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            3 => ReasonCode::SERVER_UNAVAILABLE,
            4 => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            5 => ReasonCode::NOT_AUTHORIZED,
            _ => return None,
        })
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "0x{:02X} {}", self.0, n),
            None => write!(f, "0x{:02X}", self.0),
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<ReasonCode> for u8 {
    fn from(r: ReasonCode) -> u8 {
        r.0
    }
}

/// The reason codes each MQTT 5.0 packet may carry (§3.x.2.1 tables).
pub(crate) mod allowed {
    pub(crate) const CONNACK: &[u8] = &[
        0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95,
        0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
    ];
    pub(crate) const PUBACK: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    pub(crate) const PUBREL: &[u8] = &[0x00, 0x92];
    pub(crate) const SUBACK: &[u8] =
        &[0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2];
    pub(crate) const SUBACK_V4: &[u8] = &[0x00, 0x01, 0x02, 0x80];
    pub(crate) const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
    pub(crate) const DISCONNECT: &[u8] = &[
        0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
        0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
    ];
    pub(crate) const AUTH: &[u8] = &[0x00, 0x18, 0x19];
    pub(crate) const CONNACK_V4: &[u8] = &[0, 1, 2, 3, 4, 5];
}
