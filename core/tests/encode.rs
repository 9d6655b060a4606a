//! Encoding validation: the encoder refuses what the decoder refuses, with the
//! same reason code, and writes nothing when it does (DESIGN §4). Each test
//! names the normative statement it checks ([MQTT-x.y.z-n] of MQTT 5.0 unless
//! marked `v311`), or the section when the rule has no number. Where the faulty
//! packet can be put on the wire, the test also feeds those bytes to the decoder.

use mqtt_engine::codec::{
    decode, Auth, ByteStr, Connack, Connect, Disconnect, Packet, Properties, PropertyFields,
    Protocol, PubAck, Publish, Suback, Subscribe, Subscription, Unsuback, Unsubscribe, Will,
};
use mqtt_engine::{Bytes, QoS, ReasonCode};

const MALFORMED: ReasonCode = ReasonCode::MALFORMED_PACKET;
const PROTOCOL_ERROR: ReasonCode = ReasonCode::PROTOCOL_ERROR;
/// A property the packet type does not allow. MQTT 5.0 §2.2.2.2: "A Control
/// Packet which contains an Identifier which is not valid for its packet type
/// ... is a Malformed Packet."
const PROPERTY_NOT_ALLOWED: ReasonCode = ReasonCode::MALFORMED_PACKET;

const BOTH: [Protocol; 2] = [Protocol::V311, Protocol::V5];

/// Asserts every way of encoding `p` for `protocol` fails with `code` and
/// writes nothing.
#[track_caller]
fn refused(protocol: Protocol, p: impl Into<Packet>, code: ReasonCode) {
    let p = p.into();
    let e = p.encoded_len(protocol).expect_err("encoded_len accepted an invalid packet");
    assert_eq!(e.reason_code, code, "encoded_len: {e} for {p:?}");
    let mut out = Vec::new();
    let e = p.encode(protocol, &mut out).expect_err("encode accepted an invalid packet");
    assert_eq!(e.reason_code, code, "encode: {e} for {p:?}");
    assert!(out.is_empty(), "encode wrote {} bytes of an invalid packet", out.len());
    let e = p.encode_within(protocol, u32::MAX, &mut out).expect_err("encode_within accepted it");
    assert_eq!(e.reason_code, code, "encode_within: {e}");
    assert!(out.is_empty(), "encode_within wrote {} bytes of an invalid packet", out.len());
}

/// Asserts the decoder refuses `hex` with `code`.
#[track_caller]
fn decode_refused(protocol: Protocol, hex: &str, code: ReasonCode) {
    let bytes = Bytes::from(hex::decode(hex.replace(' ', "")).expect("test hex"));
    match decode(protocol, &bytes, u32::MAX) {
        Err(e) => assert_eq!(e.reason_code, code, "decode of {hex}: {e}"),
        Ok(p) => panic!("decode of {hex} accepted {p:?}"),
    }
}

/// Asserts `p` encodes and decodes back (a positive control next to a refusal).
#[track_caller]
fn accepted(protocol: Protocol, p: impl Into<Packet>) {
    let p = p.into();
    let bytes = p.encode_to_bytes(protocol).expect("a valid packet was refused");
    let (back, _) = decode(protocol, &bytes, u32::MAX).expect("decodes").expect("complete");
    assert_eq!(back, p);
}

fn qos1(topic: &'static str, packet_id: Option<u16>) -> Publish {
    Publish { qos: QoS::AtLeastOnce, packet_id, ..Publish::new(topic, &b"x"[..]) }
}

fn puback_with(properties: Properties) -> PubAck {
    PubAck { properties, ..PubAck::new(1) }
}

fn subscribe(filters: Vec<Subscription>) -> Subscribe {
    Subscribe { packet_id: 1, properties: Properties::default(), filters }
}

fn unsubscribe(filters: Vec<&'static str>) -> Unsubscribe {
    Unsubscribe {
        packet_id: 1,
        properties: Properties::default(),
        filters: filters.into_iter().map(ByteStr::from).collect(),
    }
}

fn will(topic: &'static str) -> Will {
    Will {
        topic: topic.into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Properties::default(),
    }
}

// ---------------------------------------------------------------------------
// Strings and topic names.

#[test]
fn publish_topic_with_wildcard_is_refused_mqtt_3_3_2_2() {
    for protocol in BOTH {
        for topic in ["a/+", "a/#", "+", "#", "a+b", "sport/#/x"] {
            refused(protocol, Publish::new(topic, &b"x"[..]), MALFORMED);
        }
        accepted(protocol, Publish::new("a/b", &b"x"[..]));
    }
    decode_refused(Protocol::V311, "30 05 0003 612f23", MALFORMED);
    decode_refused(Protocol::V5, "30 06 0003 612f2b 00", MALFORMED);
}

#[test]
fn will_topic_with_wildcard_is_refused_mqtt_4_7_0_1() {
    for protocol in BOTH {
        let c = Connect { will: Some(will("last/+/will")), ..Connect::new(protocol, "c") };
        refused(protocol, c, MALFORMED);
    }
}

#[test]
fn string_with_null_character_is_refused_mqtt_1_5_4_2() {
    for protocol in BOTH {
        refused(protocol, Publish::new(ByteStr::from("a\0b".to_string()), &b""[..]), MALFORMED);
        refused(protocol, Connect::new(protocol, ByteStr::from("id\0".to_string())), MALFORMED);
        refused(protocol, subscribe(vec![Subscription::new("a/\0", QoS::AtMostOnce)]), MALFORMED);
    }
    let properties = Properties::from(PropertyFields {
        user_properties: vec![("k".into(), ByteStr::from("v\0".to_string()))],
        ..PropertyFields::default()
    });
    refused(Protocol::V5, Packet::Puback(puback_with(properties)), MALFORMED);
    decode_refused(Protocol::V311, "30 05 0003 610062", MALFORMED);
}

/// The encoder cannot be given ill-formed UTF-8 (`ByteStr` holds UTF-8 only);
/// the decoder refuses it, surrogates included.
#[test]
fn ill_formed_utf8_is_refused_mqtt_1_5_4_1() {
    assert!(ByteStr::from_utf8(Bytes::from_static(b"\xed\xa0\x80")).is_err());
    decode_refused(Protocol::V311, "30 05 0003 eda080", MALFORMED); // U+D800
    decode_refused(Protocol::V5, "30 05 0002 c328 00", MALFORMED);
}

#[test]
fn string_longer_than_65535_bytes_is_refused_section_1_5_4() {
    let long = ByteStr::from("a".repeat(65_536));
    for protocol in BOTH {
        refused(protocol, Publish::new(long.clone(), &b""[..]), MALFORMED);
        refused(protocol, Connect::new(protocol, long.clone()), MALFORMED);
    }
    accepted(Protocol::V5, Publish::new(ByteStr::from("a".repeat(65_535)), &b""[..]));
}

#[test]
fn empty_topic_name_is_refused_in_v311_mqtt311_4_7_3_1() {
    refused(Protocol::V311, Publish::new("", &b"x"[..]), MALFORMED);
    decode_refused(Protocol::V311, "30 02 0000", MALFORMED);
}

/// 5.0 §3.3.2.1: a zero-length Topic Name is allowed only with a Topic Alias.
#[test]
fn empty_topic_name_without_topic_alias_is_refused_section_3_3_2_1() {
    refused(Protocol::V5, Publish::new("", &b"x"[..]), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "30 03 0000 00", PROTOCOL_ERROR);
    let with_alias = Publish {
        properties: Properties::from(PropertyFields {
            topic_alias: Some(3),
            ..PropertyFields::default()
        }),
        ..Publish::new("", &b"x"[..])
    };
    accepted(Protocol::V5, with_alias);
}

#[test]
fn topic_alias_zero_is_refused_mqtt_3_3_2_8() {
    let p = Publish {
        properties: Properties::from(PropertyFields {
            topic_alias: Some(0),
            ..PropertyFields::default()
        }),
        ..Publish::new("a", &b""[..])
    };
    refused(Protocol::V5, p, PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "30 07 0001 61 03 230000", PROTOCOL_ERROR);
}

#[test]
fn response_topic_with_wildcard_is_refused_mqtt_3_3_2_14() {
    let p = Publish {
        properties: Properties::from(PropertyFields {
            response_topic: Some("reply/#".into()),
            ..PropertyFields::default()
        }),
        ..Publish::new("a", &b""[..])
    };
    refused(Protocol::V5, p, PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "30 08 0001 61 04 08000123", PROTOCOL_ERROR);
}

// ---------------------------------------------------------------------------
// Topic filters.

#[test]
fn multi_level_wildcard_not_last_is_refused_mqtt_4_7_1_1() {
    for protocol in BOTH {
        for f in ["a/#/b", "a#", "#/a", "a/b#"] {
            refused(protocol, subscribe(vec![Subscription::new(f, QoS::AtMostOnce)]), MALFORMED);
            refused(protocol, unsubscribe(vec![f]), MALFORMED);
        }
        accepted(protocol, subscribe(vec![Subscription::new("a/#", QoS::AtMostOnce)]));
        accepted(protocol, unsubscribe(vec!["#"]));
    }
    decode_refused(Protocol::V5, "82 08 0001 00 0002 6123 00", MALFORMED);
    decode_refused(Protocol::V311, "a2 06 0001 0002 6123", MALFORMED);
}

#[test]
fn single_level_wildcard_not_a_whole_level_is_refused_mqtt_4_7_1_2() {
    for protocol in BOTH {
        for f in ["a+/b", "a/+b", "++"] {
            refused(protocol, subscribe(vec![Subscription::new(f, QoS::AtLeastOnce)]), MALFORMED);
            refused(protocol, unsubscribe(vec![f]), MALFORMED);
        }
        accepted(protocol, subscribe(vec![Subscription::new("+/a/+", QoS::AtLeastOnce)]));
    }
    decode_refused(Protocol::V311, "82 09 0001 0004 612b2f62 01", MALFORMED);
}

#[test]
fn empty_topic_filter_is_refused_mqtt_4_7_3_1() {
    for protocol in BOTH {
        refused(protocol, subscribe(vec![Subscription::new("", QoS::AtMostOnce)]), MALFORMED);
        refused(protocol, unsubscribe(vec![""]), MALFORMED);
    }
    decode_refused(Protocol::V311, "a2 04 0001 0000", MALFORMED);
}

/// Shared subscriptions exist in 5.0 only; in 3.1.1 `$share/...` is an
/// ordinary filter.
#[test]
fn shared_subscription_with_empty_share_name_is_refused_mqtt_4_8_2_1() {
    let v = Protocol::V5;
    refused(v, subscribe(vec![Subscription::new("$share//a", QoS::AtMostOnce)]), MALFORMED);
    refused(v, unsubscribe(vec!["$share//a"]), MALFORMED);
    accepted(v, subscribe(vec![Subscription::new("$share/g/a/#", QoS::ExactlyOnce)]));
    accepted(Protocol::V311, subscribe(vec![Subscription::new("$share//a", QoS::AtMostOnce)]));
    decode_refused(v, "82 0f 0001 00 0009 2473686172652f2f61 00", MALFORMED);
}

#[test]
fn share_name_with_wildcard_or_without_filter_is_refused_mqtt_4_8_2_2() {
    for f in ["$share/g", "$share/g/", "$share/g+/a", "$share/#/a"] {
        refused(Protocol::V5, subscribe(vec![Subscription::new(f, QoS::AtMostOnce)]), MALFORMED);
        refused(Protocol::V5, unsubscribe(vec![f]), MALFORMED);
    }
    accepted(Protocol::V5, unsubscribe(vec!["$share/g/+"]));
    accepted(Protocol::V311, unsubscribe(vec!["$share/g"]));
    decode_refused(Protocol::V5, "a2 0b 0001 00 0008 2473686172652f67", MALFORMED);
}

// ---------------------------------------------------------------------------
// Packet identifiers.

#[test]
fn qos0_publish_with_packet_identifier_is_refused_mqtt_2_2_1_2() {
    for protocol in BOTH {
        let p = Publish { packet_id: Some(1), ..Publish::new("a", &b"x"[..]) };
        refused(protocol, p, PROTOCOL_ERROR);
    }
}

#[test]
fn publish_qos_above_0_without_packet_identifier_is_refused_mqtt_2_2_1_3() {
    for protocol in BOTH {
        refused(protocol, qos1("a", None), PROTOCOL_ERROR);
        refused(protocol, qos1("a", Some(0)), PROTOCOL_ERROR);
        let qos2 = Publish { qos: QoS::ExactlyOnce, ..qos1("a", None) };
        refused(protocol, qos2, PROTOCOL_ERROR);
        accepted(protocol, qos1("a", Some(1)));
    }
    decode_refused(Protocol::V311, "32 05 0001 61 0000", PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "34 06 0001 61 0000 00", PROTOCOL_ERROR);
}

#[test]
fn packet_identifier_zero_is_refused_mqtt_2_2_1_3() {
    for protocol in BOTH {
        let ack = PubAck::new(0);
        refused(protocol, Packet::Puback(ack.clone()), PROTOCOL_ERROR);
        refused(protocol, Packet::Pubrec(ack.clone()), PROTOCOL_ERROR);
        refused(protocol, Packet::Pubrel(ack.clone()), PROTOCOL_ERROR);
        refused(protocol, Packet::Pubcomp(ack), PROTOCOL_ERROR);
        let mut s = subscribe(vec![Subscription::new("a", QoS::AtMostOnce)]);
        s.packet_id = 0;
        refused(protocol, s, PROTOCOL_ERROR);
        let mut u = unsubscribe(vec!["a"]);
        u.packet_id = 0;
        refused(protocol, u, PROTOCOL_ERROR);
        let suback =
            Suback { packet_id: 0, reason_codes: vec![ReasonCode::SUCCESS], ..Suback::default() };
        refused(protocol, suback, PROTOCOL_ERROR);
        let codes = if protocol == Protocol::V5 { vec![ReasonCode::SUCCESS] } else { vec![] };
        let unsuback = Unsuback { packet_id: 0, reason_codes: codes, ..Unsuback::default() };
        refused(protocol, unsuback, PROTOCOL_ERROR);
    }
    decode_refused(Protocol::V5, "40 02 0000", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "62 02 0000", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "82 06 0000 0001 61 00", PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "a2 06 0000 00 0001 61", PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "90 04 0000 00 00", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "b0 02 0000", PROTOCOL_ERROR);
}

// ---------------------------------------------------------------------------
// Properties.

#[test]
fn property_not_allowed_in_the_packet_is_refused_section_2_2_2_2() {
    let alias =
        Properties::from(PropertyFields { topic_alias: Some(1), ..PropertyFields::default() });
    refused(Protocol::V5, Packet::Puback(puback_with(alias)), PROPERTY_NOT_ALLOWED);
    decode_refused(Protocol::V5, "40 07 0001 00 03 230001", PROPERTY_NOT_ALLOWED);

    let expiry = Properties::from(PropertyFields {
        session_expiry_interval: Some(10),
        ..PropertyFields::default()
    });
    refused(
        Protocol::V5,
        Publish { properties: expiry, ..Publish::new("a", &b""[..]) },
        PROPERTY_NOT_ALLOWED,
    );
    decode_refused(Protocol::V5, "30 09 0001 61 05 110000000a", PROPERTY_NOT_ALLOWED);

    let reason = Properties::from(PropertyFields {
        reason_string: Some("why".into()),
        ..PropertyFields::default()
    });
    let c = Connect { properties: reason.clone(), ..Connect::new(Protocol::V5, "c") };
    refused(Protocol::V5, c, PROPERTY_NOT_ALLOWED);
    let w = Will { properties: reason.clone(), ..will("w") };
    refused(
        Protocol::V5,
        Connect { will: Some(w), ..Connect::new(Protocol::V5, "c") },
        PROPERTY_NOT_ALLOWED,
    );
    let mut u = unsubscribe(vec!["a"]);
    u.properties = reason;
    refused(Protocol::V5, u, PROPERTY_NOT_ALLOWED);

    // Several Subscription Identifiers are a PUBLISH's right, not an AUTH's.
    let ids = Properties::from(PropertyFields {
        subscription_identifiers: vec![1, 2],
        ..PropertyFields::default()
    });
    accepted(Protocol::V5, Publish { properties: ids.clone(), ..Publish::new("a", &b""[..]) });
    refused(
        Protocol::V5,
        Auth { reason_code: ReasonCode::SUCCESS, properties: ids },
        PROPERTY_NOT_ALLOWED,
    );
}

/// 5.0 §3.8.2.1.2: "It is a Protocol Error to include the Subscription
/// Identifier more than once"; §2.2.2.2: the value 0 is a Protocol Error.
#[test]
fn subscribe_subscription_identifier_twice_or_zero_is_refused_section_3_8_2_1_2() {
    let mut s = subscribe(vec![Subscription::new("a", QoS::AtMostOnce)]);
    s.properties.subscription_identifiers = vec![1, 2];
    refused(Protocol::V5, s.clone(), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "82 0b 0001 04 0b01 0b02 0001 61 00", PROTOCOL_ERROR);
    s.properties.subscription_identifiers = vec![0];
    refused(Protocol::V5, s.clone(), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "82 09 0001 02 0b00 0001 61 00", PROTOCOL_ERROR);
    s.properties.subscription_identifiers = vec![268_435_456];
    refused(Protocol::V5, s.clone(), PROTOCOL_ERROR);
    s.properties.subscription_identifiers = vec![268_435_455];
    accepted(Protocol::V5, s);
}

/// 5.0 §3.1.2.11: Receive Maximum 0, Maximum Packet Size 0, a Request Problem
/// Information other than 0 or 1, Authentication Data without a Method are
/// Protocol Errors.
#[test]
fn out_of_range_property_values_are_refused_section_3_1_2_11() {
    let cases = [
        Properties::from(PropertyFields { receive_maximum: Some(0), ..PropertyFields::default() }),
        Properties::from(PropertyFields {
            maximum_packet_size: Some(0),
            ..PropertyFields::default()
        }),
        Properties::from(PropertyFields {
            request_problem_information: Some(2),
            ..PropertyFields::default()
        }),
        Properties::from(PropertyFields {
            request_response_information: Some(7),
            ..PropertyFields::default()
        }),
        Properties::from(PropertyFields {
            authentication_data: Some(Bytes::from_static(b"d")),
            ..PropertyFields::default()
        }),
    ];
    for properties in cases {
        refused(
            Protocol::V5,
            Connect { properties, ..Connect::new(Protocol::V5, "c") },
            PROTOCOL_ERROR,
        );
    }
    // CONNECT with Receive Maximum 0.
    decode_refused(
        Protocol::V5,
        "10 11 0004 4d515454 05 02 003c 03 210000 0001 63",
        PROTOCOL_ERROR,
    );
    let pfi = Properties::from(PropertyFields {
        payload_format_indicator: Some(2),
        ..PropertyFields::default()
    });
    refused(
        Protocol::V5,
        Publish { properties: pfi, ..Publish::new("a", &b""[..]) },
        PROTOCOL_ERROR,
    );
    let max_qos =
        Properties::from(PropertyFields { maximum_qos: Some(2), ..PropertyFields::default() });
    refused(Protocol::V5, Connack { properties: max_qos, ..Connack::default() }, PROTOCOL_ERROR);
}

#[test]
fn properties_in_a_v311_packet_are_refused() {
    let v = Protocol::V311;
    let up = Properties::from(PropertyFields {
        user_properties: vec![("k".into(), "v".into())],
        ..PropertyFields::default()
    });
    refused(v, Connect { properties: up.clone(), ..Connect::new(v, "c") }, PROTOCOL_ERROR);
    let w = Will { properties: up.clone(), ..will("w") };
    refused(v, Connect { will: Some(w), ..Connect::new(v, "c") }, PROTOCOL_ERROR);
    refused(v, Connack { properties: up.clone(), ..Connack::default() }, PROTOCOL_ERROR);
    refused(v, Publish { properties: up.clone(), ..Publish::new("a", &b""[..]) }, PROTOCOL_ERROR);
    refused(v, Packet::Pubrel(puback_with(up.clone())), PROTOCOL_ERROR);
    let mut s = subscribe(vec![Subscription::new("a", QoS::AtMostOnce)]);
    s.properties = up.clone();
    refused(v, s, PROTOCOL_ERROR);
    let suback =
        Suback { packet_id: 1, properties: up.clone(), reason_codes: vec![ReasonCode::SUCCESS] };
    refused(v, suback, PROTOCOL_ERROR);
    let mut u = unsubscribe(vec!["a"]);
    u.properties = up.clone();
    refused(v, u, PROTOCOL_ERROR);
    refused(
        v,
        Unsuback { packet_id: 1, properties: up.clone(), reason_codes: vec![] },
        PROTOCOL_ERROR,
    );
    refused(v, Disconnect { properties: up, ..Disconnect::default() }, PROTOCOL_ERROR);
}

// ---------------------------------------------------------------------------
// Reason codes.

#[test]
fn reason_codes_in_v311_acks_are_refused() {
    let v = Protocol::V311;
    let ack = PubAck { reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS, ..PubAck::new(1) };
    refused(v, Packet::Puback(ack), PROTOCOL_ERROR);
    refused(v, Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL), PROTOCOL_ERROR);
    let unsuback =
        Unsuback { packet_id: 1, reason_codes: vec![ReasonCode::SUCCESS], ..Unsuback::default() };
    refused(v, unsuback, PROTOCOL_ERROR);
    // A 5.0 SUBACK code that 3.1.1 does not have.
    let suback = Suback {
        packet_id: 1,
        reason_codes: vec![ReasonCode::NOT_AUTHORIZED],
        ..Suback::default()
    };
    refused(v, suback, PROTOCOL_ERROR);
    decode_refused(v, "90 03 0001 87", PROTOCOL_ERROR);
    // A CONNACK return code above 5 (3.1.1 §3.2.2.3, Table 3.1).
    refused(v, Connack { reason_code: ReasonCode(6), ..Connack::default() }, PROTOCOL_ERROR);
    decode_refused(v, "20 02 00 06", PROTOCOL_ERROR);
}

#[test]
fn auth_reason_code_outside_its_table_is_refused_mqtt_3_15_2_1() {
    refused(
        Protocol::V5,
        Auth { reason_code: ReasonCode::UNSPECIFIED_ERROR, ..Auth::default() },
        PROTOCOL_ERROR,
    );
    decode_refused(Protocol::V5, "f0 01 80", PROTOCOL_ERROR);
    let properties = Properties::from(PropertyFields {
        authentication_method: Some("SCRAM-SHA-1".into()),
        ..PropertyFields::default()
    });
    accepted(Protocol::V5, Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, properties });
}

/// 5.0 §3.15.2.2.2: "It is a Protocol Error to omit the Authentication Method"
/// (an AUTH with Remaining Length 0 is Success with no properties).
#[test]
fn auth_without_authentication_method_is_refused_section_3_15_2_2_2() {
    refused(
        Protocol::V5,
        Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() },
        PROTOCOL_ERROR,
    );
    let properties = Properties::from(PropertyFields {
        reason_string: Some("r".into()),
        ..PropertyFields::default()
    });
    refused(Protocol::V5, Auth { reason_code: ReasonCode::SUCCESS, properties }, PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "f0 02 18 00", PROTOCOL_ERROR);
    accepted(Protocol::V5, Auth::default());
}

#[test]
fn puback_reason_code_outside_its_table_is_refused_mqtt_3_4_2_1() {
    for code in [ReasonCode::PACKET_IDENTIFIER_NOT_FOUND, ReasonCode::CONTINUE_AUTHENTICATION] {
        let ack = PubAck { reason_code: code, ..PubAck::new(1) };
        refused(Protocol::V5, Packet::Puback(ack.clone()), PROTOCOL_ERROR);
        refused(Protocol::V5, Packet::Pubrec(ack), PROTOCOL_ERROR);
    }
    decode_refused(Protocol::V5, "40 03 0001 92", PROTOCOL_ERROR);
}

#[test]
fn pubrel_reason_code_outside_its_table_is_refused_mqtt_3_6_2_1() {
    let ack = PubAck { reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS, ..PubAck::new(1) };
    refused(Protocol::V5, Packet::Pubrel(ack.clone()), PROTOCOL_ERROR);
    refused(Protocol::V5, Packet::Pubcomp(ack), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "62 03 0001 10", PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "70 03 0001 80", PROTOCOL_ERROR);
}

#[test]
fn connack_reason_code_outside_its_table_is_refused_mqtt_3_2_2_8() {
    let c = Connack { reason_code: ReasonCode::GRANTED_QOS_1, ..Connack::default() };
    refused(Protocol::V5, c, PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "20 03 00 8e 00", PROTOCOL_ERROR);
}

#[test]
fn disconnect_reason_code_outside_its_table_is_refused_mqtt_3_14_2_1() {
    refused(Protocol::V5, Disconnect::new(ReasonCode::CONTINUE_AUTHENTICATION), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "e0 01 18", PROTOCOL_ERROR);
}

/// 5.0 §3.9.3 and §3.11.3: SUBACK and UNSUBACK carry codes of their own tables.
#[test]
fn suback_and_unsuback_reason_codes_outside_their_tables_are_refused_section_3_9_3() {
    let suback = Suback { packet_id: 1, reason_codes: vec![ReasonCode(0x03)], ..Suback::default() };
    refused(Protocol::V5, suback, PROTOCOL_ERROR);
    let codes = vec![ReasonCode::SUCCESS, ReasonCode::GRANTED_QOS_1];
    refused(
        Protocol::V5,
        Unsuback { packet_id: 1, reason_codes: codes, ..Unsuback::default() },
        PROTOCOL_ERROR,
    );
    decode_refused(Protocol::V5, "b0 05 0001 00 00 01", PROTOCOL_ERROR);
}

#[test]
fn suback_and_unsuback_without_reason_codes_are_refused_section_3_9_3() {
    refused(Protocol::V5, Suback { packet_id: 1, ..Suback::default() }, PROTOCOL_ERROR);
    refused(Protocol::V311, Suback { packet_id: 1, ..Suback::default() }, PROTOCOL_ERROR);
    refused(Protocol::V5, Unsuback { packet_id: 1, ..Unsuback::default() }, PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "90 03 0001 00", PROTOCOL_ERROR);
    accepted(Protocol::V311, Unsuback { packet_id: 1, ..Unsuback::default() });
}

#[test]
fn session_present_on_a_refused_connection_is_refused_mqtt_3_2_2_6() {
    for protocol in BOTH {
        let c = Connack { session_present: true, reason_code: ReasonCode(5), ..Connack::default() };
        let c = if protocol == Protocol::V5 {
            Connack { reason_code: ReasonCode::NOT_AUTHORIZED, ..c }
        } else {
            c
        };
        refused(protocol, c, PROTOCOL_ERROR);
        accepted(protocol, Connack { session_present: true, ..Connack::default() });
    }
    decode_refused(Protocol::V5, "20 03 01 87 00", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "20 02 01 05", PROTOCOL_ERROR); // 3.1.1 [MQTT-3.2.2-4]
}

// ---------------------------------------------------------------------------
// Packets and flags.

#[test]
fn auth_in_v311_is_refused() {
    // Type 15 is Reserved in 3.1.1 (§2.2.1): encoder and decoder both say Malformed.
    let e = Packet::Auth(Auth::default()).encoded_len(Protocol::V311).expect_err("AUTH in 3.1.1");
    assert_eq!(e.reason_code, MALFORMED);
    refused(Protocol::V311, Auth::default(), MALFORMED);
    decode_refused(Protocol::V311, "f0 00", MALFORMED);
    accepted(Protocol::V5, Auth::default());
}

#[test]
fn password_without_user_name_is_refused_mqtt311_3_1_2_22() {
    let c =
        Connect { password: Some(Bytes::from_static(b"p")), ..Connect::new(Protocol::V311, "a") };
    refused(Protocol::V311, c, MALFORMED);
    decode_refused(Protocol::V311, "10 10 0004 4d515454 04 42 003c 0001 61 0001 70", MALFORMED);
    // 5.0 allows it (§3.1.2.9).
    accepted(
        Protocol::V5,
        Connect { password: Some(Bytes::from_static(b"p")), ..Connect::new(Protocol::V5, "a") },
    );
}

#[test]
fn no_local_on_a_shared_subscription_is_refused_mqtt_3_8_3_4() {
    let s = Subscription { no_local: true, ..Subscription::new("$share/g/a", QoS::AtMostOnce) };
    refused(Protocol::V5, subscribe(vec![s.clone()]), PROTOCOL_ERROR);
    decode_refused(Protocol::V5, "82 10 0001 00 000a 2473686172652f672f61 04", PROTOCOL_ERROR);
    accepted(Protocol::V5, subscribe(vec![Subscription { filter: "a".into(), ..s }]));
}

#[test]
fn subscribe_without_topic_filter_is_refused_mqtt_3_8_3_2() {
    for protocol in BOTH {
        refused(protocol, subscribe(vec![]), PROTOCOL_ERROR);
    }
    decode_refused(Protocol::V5, "82 03 0001 00", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "82 02 0001", PROTOCOL_ERROR);
}

#[test]
fn unsubscribe_without_topic_filter_is_refused_mqtt_3_10_3_2() {
    for protocol in BOTH {
        refused(protocol, unsubscribe(vec![]), PROTOCOL_ERROR);
    }
    decode_refused(Protocol::V5, "a2 03 0001 00", PROTOCOL_ERROR);
    decode_refused(Protocol::V311, "a2 02 0001", PROTOCOL_ERROR);
}

/// 3.1.1 [MQTT-3.8.3-4]: the upper six bits of the options byte are reserved.
#[test]
fn v5_subscription_options_in_v311_are_refused_mqtt311_3_8_3_4() {
    let s = Subscription { retain_as_published: true, ..Subscription::new("a", QoS::AtMostOnce) };
    refused(Protocol::V311, subscribe(vec![s.clone()]), MALFORMED);
    decode_refused(Protocol::V311, "82 06 0001 0001 61 08", MALFORMED);
    accepted(Protocol::V5, subscribe(vec![s]));
}

#[test]
fn dup_on_a_qos0_publish_is_refused_mqtt_3_3_1_2() {
    for protocol in BOTH {
        refused(protocol, Publish { dup: true, ..Publish::new("a", &b""[..]) }, MALFORMED);
        accepted(protocol, Publish { dup: true, ..qos1("a", Some(5)) });
    }
    decode_refused(Protocol::V311, "38 03 0001 61", MALFORMED);
}

/// §2.1.4: the Remaining Length cannot exceed 268,435,455.
#[test]
fn packet_above_the_largest_remaining_length_is_refused_section_2_1_4() {
    // Zeroed memory is not touched until written: this costs no real memory.
    let payload = Bytes::from(vec![0u8; 268_435_455]);
    let p = Publish { payload, ..Publish::new("t", &b""[..]) };
    refused(Protocol::V311, p, ReasonCode::PACKET_TOO_LARGE);
}

/// `Properties` keeps its fields out of line: reading an absent set gives the
/// empty fields, the first write allocates them, equality is by value, and
/// the JSON form is the one of the fields.
#[test]
fn properties_out_of_line_behave_like_inline_fields() {
    let none = Properties::default();
    assert!(none.is_empty() && none.fields().is_none());
    assert_eq!(none.topic_alias, None);
    let mut allocated = Properties::default();
    allocated.user_properties.clear();
    assert!(allocated.fields().is_some() && allocated.is_empty());
    assert_eq!(allocated, none, "an allocated empty set equals an absent one");
    assert!(Properties::from(PropertyFields::default()).fields().is_none());
    let mut set = Properties::default();
    set.topic_alias = Some(3);
    assert_eq!(
        set,
        Properties::from(PropertyFields { topic_alias: Some(3), ..PropertyFields::default() })
    );
    assert_ne!(set, none);
    assert_eq!(set.clone().into_fields().topic_alias, Some(3));
    assert_eq!(set.take().topic_alias, Some(3));
    assert!(set.is_empty() && set.fields().is_none());
    let json = serde_json::to_string(&Properties::from(PropertyFields {
        message_expiry_interval: Some(5),
        ..PropertyFields::default()
    }))
    .expect("serialize");
    assert_eq!(json, r#"{"message_expiry_interval":5}"#);
    let back: Properties = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.message_expiry_interval, Some(5));
    let empty: Properties = serde_json::from_str("{}").expect("deserialize");
    assert!(empty.fields().is_none());
}
