//! Shared proptest strategies: arbitrary *valid* MQTT packets of all fifteen
//! types, for protocol level 4 (3.1.1) and 5 (5.0).
//!
//! Everything generated here is something the codec must encode and decode
//! back unchanged: strings are well-formed UTF-8 without U+0000 (with
//! multi-byte characters and empty strings where the field allows them),
//! topic names carry no wildcard, topic filters place `+` and `#` correctly
//! (including `$share/{group}/...`), every property a packet allows appears
//! with a valid value, reason codes are the ones the packet may carry, and
//! 3.1.1 packets hold only what 3.1.1 has.
//!
//! Included with `mod strategies;` by several test crates, each of which uses
//! only part of it.
#![allow(dead_code)]

use mqtt_engine::codec::{
    Auth, ByteStr, Connack, Connect, Disconnect, Packet, Properties, PropertyFields, Protocol,
    PubAck, Publish, QoS, ReasonCode, RetainHandling, Suback, Subscribe, Subscription, Unsuback,
    Unsubscribe, Will,
};
use mqtt_engine::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::Config;

/// The largest Variable Byte Integer (§1.5.5).
pub const VBI_MAX: u32 = 268_435_455;

/// The reason codes each MQTT 5.0 packet may carry (§3.x.2.1 tables), written
/// out again here from the standard rather than taken from the crate.
pub mod codes {
    /// CONNACK (5.0).
    pub const CONNACK: &[u8] = &[
        0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95,
        0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
    ];
    /// CONNACK return codes (3.1.1).
    pub const CONNACK_V4: &[u8] = &[0, 1, 2, 3, 4, 5];
    /// PUBACK and PUBREC.
    pub const PUBACK: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    /// PUBREL and PUBCOMP.
    pub const PUBREL: &[u8] = &[0x00, 0x92];
    /// SUBACK (5.0).
    pub const SUBACK: &[u8] =
        &[0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2];
    /// SUBACK return codes (3.1.1).
    pub const SUBACK_V4: &[u8] = &[0x00, 0x01, 0x02, 0x80];
    /// UNSUBACK (5.0).
    pub const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
    /// DISCONNECT (5.0).
    pub const DISCONNECT: &[u8] = &[
        0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
        0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
    ];
    /// AUTH.
    pub const AUTH: &[u8] = &[0x00, 0x18, 0x19];
}

/// A proptest configuration with `cases` cases (or `PROPTEST_CASES` from the
/// environment, for longer runs), no regression files written next to the
/// sources, and bounded shrinking.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, max_shrink_iters: 4096, ..Config::default() }
}

/// Runs `check` on `bytes` for both protocol versions, each with no size
/// limit and then ever tighter maximum packet sizes, stopping at the first
/// failure: how the decode tests feed one input everywhere.
pub fn for_each_protocol_and_limit(
    bytes: &[u8],
    mut check: impl FnMut(Protocol, &[u8], u32) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    for protocol in [Protocol::V311, Protocol::V5] {
        for max in [u32::MAX, 64, 8, 2] {
            check(protocol, bytes, max)?;
        }
    }
    Ok(())
}

/// One edit of an encoded packet: where (an index into the bytes as they
/// are when it applies), the byte, and what to do (0 or 1: overwrite, 2:
/// insert, 3: remove).
pub type Edit = (prop::sample::Index, u8, u8);

/// Edits to apply to a valid packet's bytes, `min` to 3 of them.
pub fn packet_edits(min: usize) -> impl Strategy<Value = Vec<Edit>> {
    vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), min..4)
}

/// Applies `edits` in order to `bytes`, which is not empty and never becomes
/// empty (an edit that empties it is followed by its byte): close enough to
/// a valid packet to reach the deep checks.
pub fn apply_edits(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for &(at, value, kind) in edits {
        let i = at.index(bytes.len());
        match kind {
            0 | 1 => bytes[i] = value,
            2 => bytes.insert(i, value),
            _ => {
                bytes.remove(i);
            }
        }
        if bytes.is_empty() {
            bytes.push(value);
        }
    }
}

/// Both protocol versions.
pub fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::V311), Just(Protocol::V5)]
}

/// `v` as a Variable Byte Integer (written here independently of the codec).
pub fn vbi(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            return out;
        }
    }
}

// ---------------------------------------------------------------------------
// Strings, topics, binary data.

/// Any character but U+0000, mostly ASCII, often multi-byte (2, 3 and 4 bytes).
pub fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        2 => prop::char::range('\u{1}', '\u{7F}'),
        1 => prop::sample::select(vec!['é', 'ß', 'Ω', '€', '✓', '中', '\u{FEFF}', '😀', '\u{10FFFF}']),
        1 => any::<char>().prop_filter("U+0000 is not allowed", |c| *c != '\0'),
    ]
}

fn collect(chars: Vec<char>) -> ByteStr {
    ByteStr::from(chars.into_iter().collect::<String>())
}

/// A UTF-8 Encoded String of up to `max` characters, possibly empty.
pub fn string(max: usize) -> impl Strategy<Value = ByteStr> {
    vec(text_char(), 0..=max).prop_map(collect)
}

/// Binary Data of up to `max` bytes, possibly empty.
pub fn binary(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// An application payload: usually short, sometimes long enough that the
/// Remaining Length takes two bytes.
pub fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        6 => vec(any::<u8>(), 0..24).prop_map(Bytes::from),
        1 => vec(any::<u8>(), 100..300).prop_map(Bytes::from),
    ]
}

/// A character of a topic level: no wildcard, no separator.
fn level_char() -> impl Strategy<Value = char> {
    text_char().prop_filter("not a wildcard or separator", |c| !matches!(c, '+' | '#' | '/'))
}

/// One topic level without wildcards, possibly empty.
pub fn level() -> impl Strategy<Value = String> {
    vec(level_char(), 0..6).prop_map(|v| v.into_iter().collect())
}

/// A Topic Name: at least one character, no wildcard; levels may be empty
/// (`a//b`, `/a`, `a/`) and may start with `$`.
pub fn topic_name() -> impl Strategy<Value = ByteStr> {
    (vec(level(), 1..5), prop::sample::select(vec!["", "$SYS/", "$"])).prop_map(
        |(levels, prefix)| {
            let mut s = format!("{prefix}{}", levels.join("/"));
            if s.is_empty() {
                s.push('/');
            }
            ByteStr::from(s)
        },
    )
}

/// A Topic Filter without the shared-subscription prefix: `+` whole levels
/// anywhere, `#` only as the whole last level.
pub fn plain_filter() -> impl Strategy<Value = String> {
    (vec(prop_oneof![3 => level(), 1 => Just("+".to_string())], 0..5), any::<bool>()).prop_map(
        |(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_string());
            }
            let s = levels.join("/");
            if s.is_empty() {
                "+".to_string()
            } else {
                s
            }
        },
    )
}

/// A shared subscription's filter, `$share/{ShareName}/{filter}`.
pub fn shared_filter() -> impl Strategy<Value = String> {
    (vec(level_char(), 1..6), plain_filter()).prop_map(|(group, filter)| {
        format!("$share/{}/{filter}", group.into_iter().collect::<String>())
    })
}

/// Any valid Topic Filter, shared or not.
pub fn topic_filter() -> impl Strategy<Value = ByteStr> {
    prop_oneof![4 => plain_filter(), 1 => shared_filter()].prop_map(ByteStr::from)
}

// ---------------------------------------------------------------------------
// Small values.

/// Any QoS.
pub fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
}

/// A non-zero Packet Identifier, often at the edges.
pub fn packet_id() -> impl Strategy<Value = u16> {
    prop_oneof![3 => 1..=u16::MAX, 1 => prop::sample::select(vec![1u16, 0x7F, 0x80, 0xFF, 0x100, u16::MAX])]
}

/// One of `codes`, as a reason code.
pub fn reason(codes: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    prop::sample::select(codes).prop_map(ReasonCode)
}

/// 0 or 1, for the boolean-like properties.
fn flag() -> impl Strategy<Value = u8> {
    0u8..=1
}

/// A u32, often at the edges.
fn u32_edge() -> impl Strategy<Value = u32> {
    prop_oneof![3 => any::<u32>(), 1 => prop::sample::select(vec![0, 1, u32::MAX])]
}

/// A Subscription Identifier (1 to 268,435,455), often at the Variable Byte
/// Integer length boundaries.
pub fn subscription_identifier() -> impl Strategy<Value = u32> {
    prop_oneof![
        2 => 1..=VBI_MAX,
        1 => prop::sample::select(vec![1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, VBI_MAX]),
    ]
}

/// User Properties: an ordered list that often holds duplicate names and
/// duplicate pairs.
pub fn user_properties() -> impl Strategy<Value = Vec<(ByteStr, ByteStr)>> {
    (vec((string(6), string(6)), 0..4), any::<bool>(), any::<bool>()).prop_map(
        |(mut v, dup_pair, dup_name)| {
            if let Some(first) = v.first().cloned() {
                if dup_pair {
                    v.push(first.clone());
                }
                if dup_name {
                    v.push((first.0, ByteStr::from_static("another value")));
                }
            }
            v
        },
    )
}

// ---------------------------------------------------------------------------
// Properties.

/// Which packet (or the Will) a property list is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    /// CONNECT.
    Connect,
    /// The Will of a CONNECT.
    Will,
    /// CONNACK.
    Connack,
    /// PUBLISH.
    Publish,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK.
    Ack,
    /// SUBSCRIBE.
    Subscribe,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// DISCONNECT.
    Disconnect,
    /// AUTH.
    Auth,
}

/// Every property with a valid value, each present about half the time;
/// [`properties`] then keeps those the packet allows.
fn all_properties() -> impl Strategy<Value = Properties> {
    let a = (
        option::of(flag()),
        option::of(u32_edge()),
        option::of(string(8)),
        option::of(topic_name()),
        option::of(binary(12)),
        vec(subscription_identifier(), 0..4),
        option::of(u32_edge()),
        option::of(string(8)),
        option::of(any::<u16>()),
    );
    let b = (
        option::of(string(8)),
        option::of(binary(12)),
        option::of(flag()),
        option::of(u32_edge()),
        option::of(flag()),
        option::of(string(8)),
        option::of(string(8)),
        option::of(string(12)),
        option::of(1..=u16::MAX),
    );
    let c = (
        option::of(any::<u16>()),
        option::of(1..=u16::MAX),
        option::of(flag()),
        option::of(flag()),
        user_properties(),
        option::of(prop_oneof![1..=u32::MAX, Just(u32::MAX)]),
        option::of(flag()),
        option::of(flag()),
        option::of(flag()),
    );
    (a, b, c).prop_map(|(a, b, c)| {
        Properties::from(PropertyFields {
            payload_format_indicator: a.0,
            message_expiry_interval: a.1,
            content_type: a.2,
            response_topic: a.3,
            correlation_data: a.4,
            subscription_identifiers: a.5,
            session_expiry_interval: a.6,
            assigned_client_identifier: a.7,
            server_keep_alive: a.8,
            authentication_method: b.0,
            authentication_data: b.1,
            request_problem_information: b.2,
            will_delay_interval: b.3,
            request_response_information: b.4,
            response_information: b.5,
            server_reference: b.6,
            reason_string: b.7,
            receive_maximum: b.8,
            topic_alias_maximum: c.0,
            topic_alias: c.1,
            maximum_qos: c.2,
            retain_available: c.3,
            user_properties: c.4,
            maximum_packet_size: c.5,
            wildcard_subscription_available: c.6,
            subscription_identifiers_available: c.7,
            shared_subscription_available: c.8,
        })
    })
}

/// Keeps only the properties `ctx` allows (MQTT 5.0 §2.2.2.2 table).
pub fn restrict(p: Properties, ctx: Ctx) -> Properties {
    let p = p.into_fields();
    let mut out =
        PropertyFields { user_properties: p.user_properties, ..PropertyFields::default() };
    match ctx {
        Ctx::Connect => {
            out.session_expiry_interval = p.session_expiry_interval;
            out.receive_maximum = p.receive_maximum;
            out.maximum_packet_size = p.maximum_packet_size;
            out.topic_alias_maximum = p.topic_alias_maximum;
            out.request_response_information = p.request_response_information;
            out.request_problem_information = p.request_problem_information;
            out.authentication_method = p.authentication_method;
            out.authentication_data = p.authentication_data;
        }
        Ctx::Will => {
            out.will_delay_interval = p.will_delay_interval;
            out.payload_format_indicator = p.payload_format_indicator;
            out.message_expiry_interval = p.message_expiry_interval;
            out.content_type = p.content_type;
            out.response_topic = p.response_topic;
            out.correlation_data = p.correlation_data;
        }
        Ctx::Connack => {
            out.session_expiry_interval = p.session_expiry_interval;
            out.receive_maximum = p.receive_maximum;
            out.maximum_qos = p.maximum_qos;
            out.retain_available = p.retain_available;
            out.maximum_packet_size = p.maximum_packet_size;
            out.assigned_client_identifier = p.assigned_client_identifier;
            out.topic_alias_maximum = p.topic_alias_maximum;
            out.reason_string = p.reason_string;
            out.wildcard_subscription_available = p.wildcard_subscription_available;
            out.subscription_identifiers_available = p.subscription_identifiers_available;
            out.shared_subscription_available = p.shared_subscription_available;
            out.server_keep_alive = p.server_keep_alive;
            out.response_information = p.response_information;
            out.server_reference = p.server_reference;
            out.authentication_method = p.authentication_method;
            out.authentication_data = p.authentication_data;
        }
        Ctx::Publish => {
            out.payload_format_indicator = p.payload_format_indicator;
            out.message_expiry_interval = p.message_expiry_interval;
            out.content_type = p.content_type;
            out.response_topic = p.response_topic;
            out.correlation_data = p.correlation_data;
            // Several Subscription Identifiers: a server's PUBLISH matching
            // several subscriptions [MQTT-3.3.4-4].
            out.subscription_identifiers = p.subscription_identifiers;
            out.topic_alias = p.topic_alias;
        }
        Ctx::Ack | Ctx::Unsubscribe => {
            if ctx == Ctx::Ack {
                out.reason_string = p.reason_string;
            }
        }
        Ctx::Subscribe => {
            out.subscription_identifiers = p.subscription_identifiers.into_iter().take(1).collect();
        }
        Ctx::Disconnect => {
            out.session_expiry_interval = p.session_expiry_interval;
            out.reason_string = p.reason_string;
            out.server_reference = p.server_reference;
        }
        Ctx::Auth => {
            out.authentication_method = p.authentication_method;
            out.authentication_data = p.authentication_data;
            out.reason_string = p.reason_string;
        }
    }
    // Authentication Data only comes with an Authentication Method.
    if out.authentication_method.is_none() {
        out.authentication_data = None;
    }
    Properties::from(out)
}

/// Valid properties for `ctx`.
pub fn properties(ctx: Ctx) -> BoxedStrategy<Properties> {
    all_properties().prop_map(move |p| restrict(p, ctx)).boxed()
}

/// Properties for `ctx` in `protocol`: none at all in 3.1.1.
pub fn props_for(protocol: Protocol, ctx: Ctx) -> BoxedStrategy<Properties> {
    match protocol {
        Protocol::V311 => Just(Properties::default()).boxed(),
        Protocol::V5 => properties(ctx),
    }
}

// ---------------------------------------------------------------------------
// Packets.

/// A Will Message.
pub fn will(protocol: Protocol) -> impl Strategy<Value = Will> {
    (topic_name(), binary(32), qos(), any::<bool>(), props_for(protocol, Ctx::Will)).prop_map(
        |(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        },
    )
}

/// CONNECT; its `protocol` field is `protocol`.
pub fn connect(protocol: Protocol) -> impl Strategy<Value = Connect> {
    (
        any::<bool>(),
        any::<u16>(),
        string(12),
        option::of(will(protocol)),
        option::of(string(10)),
        option::of(binary(16)),
        props_for(protocol, Ctx::Connect),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                // 3.1.1 allows a Password only with a User Name [MQTT-3.1.2-22].
                let password =
                    if protocol == Protocol::V311 && username.is_none() { None } else { password };
                Connect {
                    protocol,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }
            },
        )
}

/// CONNACK.
pub fn connack(protocol: Protocol) -> impl Strategy<Value = Connack> {
    let codes = match protocol {
        Protocol::V311 => codes::CONNACK_V4,
        Protocol::V5 => codes::CONNACK,
    };
    (any::<bool>(), reason(codes), props_for(protocol, Ctx::Connack)).prop_map(
        |(session_present, reason_code, properties)| Connack {
            // Session Present only on an accepted connection [MQTT-3.2.2-6].
            session_present: session_present && reason_code == ReasonCode::SUCCESS,
            reason_code,
            properties,
        },
    )
}

/// PUBLISH: a packet identifier exactly when QoS > 0, DUP only then; in 5.0
/// sometimes an empty topic name with a Topic Alias.
pub fn publish(protocol: Protocol) -> impl Strategy<Value = Publish> {
    let topic = match protocol {
        Protocol::V311 => topic_name().boxed(),
        Protocol::V5 => prop_oneof![6 => topic_name(), 1 => Just(ByteStr::new())].boxed(),
    };
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        topic,
        packet_id(),
        props_for(protocol, Ctx::Publish),
        1..=u16::MAX,
        payload(),
    )
        .prop_map(|(qos, dup, retain, topic, id, mut properties, alias, payload)| {
            if topic.is_empty() && properties.topic_alias.is_none() {
                properties.topic_alias = Some(alias);
            }
            let qos0 = qos == QoS::AtMostOnce;
            Publish {
                dup: dup && !qos0,
                qos,
                retain,
                topic,
                packet_id: if qos0 { None } else { Some(id) },
                properties,
                payload,
            }
        })
}

/// The body of PUBACK / PUBREC (`codes::PUBACK`) or PUBREL / PUBCOMP (`codes::PUBREL`).
pub fn puback(protocol: Protocol, codes: &'static [u8]) -> impl Strategy<Value = PubAck> {
    let code = match protocol {
        Protocol::V311 => Just(ReasonCode::SUCCESS).boxed(),
        Protocol::V5 => reason(codes).boxed(),
    };
    (packet_id(), code, props_for(protocol, Ctx::Ack)).prop_map(
        |(packet_id, reason_code, properties)| PubAck { packet_id, reason_code, properties },
    )
}

/// One subscription; in 3.1.1 only the QoS option, in 5.0 all options (No
/// Local never on a shared subscription [MQTT-3.8.3-4]).
pub fn subscription(protocol: Protocol) -> impl Strategy<Value = Subscription> {
    (
        topic_filter(),
        qos(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(RetainHandling::SendAtSubscribe),
            Just(RetainHandling::SendIfNew),
            Just(RetainHandling::DoNotSend)
        ],
    )
        .prop_map(move |(filter, qos, no_local, retain_as_published, retain_handling)| {
            match protocol {
                Protocol::V311 => Subscription::new(filter, qos),
                Protocol::V5 => Subscription {
                    no_local: no_local && !mqtt_engine::topic::is_shared(&filter),
                    filter,
                    qos,
                    retain_as_published,
                    retain_handling,
                },
            }
        })
}

/// SUBSCRIBE with one to four filters.
pub fn subscribe(protocol: Protocol) -> impl Strategy<Value = Subscribe> {
    (packet_id(), props_for(protocol, Ctx::Subscribe), vec(subscription(protocol), 1..5))
        .prop_map(|(packet_id, properties, filters)| Subscribe { packet_id, properties, filters })
}

/// SUBACK with one to five codes.
pub fn suback(protocol: Protocol) -> impl Strategy<Value = Suback> {
    let codes = match protocol {
        Protocol::V311 => codes::SUBACK_V4,
        Protocol::V5 => codes::SUBACK,
    };
    (packet_id(), props_for(protocol, Ctx::Ack), vec(reason(codes), 1..6)).prop_map(
        |(packet_id, properties, reason_codes)| Suback { packet_id, properties, reason_codes },
    )
}

/// UNSUBSCRIBE with one to four filters.
pub fn unsubscribe(protocol: Protocol) -> impl Strategy<Value = Unsubscribe> {
    (packet_id(), props_for(protocol, Ctx::Unsubscribe), vec(topic_filter(), 1..5))
        .prop_map(|(packet_id, properties, filters)| Unsubscribe { packet_id, properties, filters })
}

/// UNSUBACK: in 5.0 with one to five codes, in 3.1.1 the packet identifier only.
pub fn unsuback(protocol: Protocol) -> BoxedStrategy<Unsuback> {
    match protocol {
        Protocol::V311 => {
            packet_id().prop_map(|packet_id| Unsuback { packet_id, ..Unsuback::default() }).boxed()
        }
        Protocol::V5 => (packet_id(), properties(Ctx::Ack), vec(reason(codes::UNSUBACK), 1..6))
            .prop_map(|(packet_id, properties, reason_codes)| Unsuback {
                packet_id,
                properties,
                reason_codes,
            })
            .boxed(),
    }
}

/// DISCONNECT: in 3.1.1 always empty.
pub fn disconnect(protocol: Protocol) -> BoxedStrategy<Disconnect> {
    match protocol {
        Protocol::V311 => Just(Disconnect::default()).boxed(),
        Protocol::V5 => (reason(codes::DISCONNECT), properties(Ctx::Disconnect))
            .prop_map(|(reason_code, properties)| Disconnect { reason_code, properties })
            .boxed(),
    }
}

/// AUTH (5.0 only): empty, or with an Authentication Method (§3.15.2.2.2).
pub fn auth() -> impl Strategy<Value = Auth> {
    (reason(codes::AUTH), properties(Ctx::Auth), string(10)).prop_map(
        |(reason_code, mut properties, method)| {
            let empty = reason_code == ReasonCode::SUCCESS && properties.is_empty();
            if !empty && properties.authentication_method.is_none() {
                properties.authentication_method = Some(method);
            }
            Auth { reason_code, properties }
        },
    )
}

/// Any valid packet for `protocol`: all fifteen types in 5.0, the fourteen
/// that exist in 3.1.1.
pub fn packet(protocol: Protocol) -> BoxedStrategy<Packet> {
    let mut arms: Vec<BoxedStrategy<Packet>> = vec![
        connect(protocol).prop_map(Packet::from).boxed(),
        connack(protocol).prop_map(Packet::Connack).boxed(),
        publish(protocol).prop_map(Packet::Publish).boxed(),
        puback(protocol, codes::PUBACK).prop_map(Packet::Puback).boxed(),
        puback(protocol, codes::PUBACK).prop_map(Packet::Pubrec).boxed(),
        puback(protocol, codes::PUBREL).prop_map(Packet::Pubrel).boxed(),
        puback(protocol, codes::PUBREL).prop_map(Packet::Pubcomp).boxed(),
        subscribe(protocol).prop_map(Packet::Subscribe).boxed(),
        suback(protocol).prop_map(Packet::Suback).boxed(),
        unsubscribe(protocol).prop_map(Packet::Unsubscribe).boxed(),
        unsuback(protocol).prop_map(Packet::Unsuback).boxed(),
        Just(Packet::Pingreq).boxed(),
        Just(Packet::Pingresp).boxed(),
        disconnect(protocol).prop_map(Packet::Disconnect).boxed(),
    ];
    if protocol == Protocol::V5 {
        arms.push(auth().prop_map(Packet::Auth).boxed());
    }
    Union::new(arms).boxed()
}

/// A protocol version and a valid packet for it.
pub fn any_packet() -> impl Strategy<Value = (Protocol, Packet)> {
    protocol().prop_flat_map(|p| (Just(p), packet(p)))
}

/// A protocol version and one to `max` valid packets for it.
pub fn packets(max: usize) -> impl Strategy<Value = (Protocol, Vec<Packet>)> {
    protocol().prop_flat_map(move |p| (Just(p), vec(packet(p), 1..=max)))
}

/// The packets whose Reason String and User Properties MQTT 5.0 lets a
/// sender drop to respect the receiver's Maximum Packet Size.
pub fn sheddable_properties(p: &mut Packet) -> Option<&mut Properties> {
    match p {
        Packet::Connack(c) => Some(&mut c.properties),
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            Some(&mut a.properties)
        }
        Packet::Suback(s) => Some(&mut s.properties),
        Packet::Unsuback(u) => Some(&mut u.properties),
        Packet::Disconnect(d) => Some(&mut d.properties),
        Packet::Auth(a) => Some(&mut a.properties),
        _ => None,
    }
}
