//! Session tests on simulated time: CONNECT / CONNACK, server limits,
//! keep-alive, DISCONNECT and enhanced authentication.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing
#![allow(clippy::field_reassign_with_default)] // properties are built field by field, as users do

use mqtt_engine::client::{DisconnectCause, Error, Event, LocalErrorKind, Options, State};
use mqtt_engine::codec::{
    Auth, ByteStr, Connack, Disconnect, Packet, Properties, Protocol, Publish, QoS, ReasonCode,
    Will,
};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::pair::Pair;
use std::time::Duration;

fn v5() -> Options {
    Options { client_id: "c1".into(), ..Options::default() }
}

fn v311() -> Options {
    Options { protocol: Protocol::V311, client_id: "c1".into(), ..Options::default() }
}

fn disconnected(p: &mut Pair) -> mqtt_engine::client::Disconnected {
    match p.take_events().into_iter().find_map(|e| match e {
        Event::Disconnected(d) => Some(d),
        _ => None,
    }) {
        Some(d) => d,
        None => panic!("no Disconnected event"),
    }
}

/// [MQTT-3.1.0-1] CONNECT is the first packet, and it carries every option:
/// [MQTT-3.1.2-9] the will with its properties, [MQTT-3.1.2-17]/[MQTT-3.1.2-19]
/// user name and password, and each MQTT 5.0 CONNECT property.
#[test]
fn connect_carries_every_option_mqtt_3_1_0_1() {
    let mut will = Will {
        topic: "status/c1".into(),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: Properties::default(),
    };
    will.properties.will_delay_interval = Some(5);
    will.properties.content_type = Some("text/plain".into());
    let opts = Options {
        keep_alive: 30,
        clean_start: true,
        session_expiry_interval: 3600,
        receive_maximum: 10,
        maximum_packet_size: 4096,
        topic_alias_maximum: 8,
        request_response_information: true,
        request_problem_information: false,
        user_properties: vec![("app".into(), "test".into()), ("app".into(), "dup".into())],
        will: Some(will.clone()),
        username: Some("user".into()),
        password: Some(Bytes::from_static(b"secret")),
        ..v5()
    };
    let mut p = Pair::new(opts);
    p.client.connect(p.now).unwrap();
    let Packet::Connect(c) = p.expect() else { panic!("first packet is not CONNECT") };
    assert_eq!(c.protocol, Protocol::V5);
    assert_eq!(c.client_id, "c1");
    assert!(c.clean_start);
    assert_eq!(c.keep_alive, 30);
    assert_eq!(c.will, Some(will));
    assert_eq!(c.username.as_deref(), Some("user"));
    assert_eq!(c.password.as_deref(), Some(&b"secret"[..]));
    let props = &c.properties;
    assert_eq!(props.session_expiry_interval, Some(3600));
    assert_eq!(props.receive_maximum, Some(10));
    assert_eq!(props.maximum_packet_size, Some(4096));
    assert_eq!(props.topic_alias_maximum, Some(8));
    assert_eq!(props.request_response_information, Some(1));
    assert_eq!(props.request_problem_information, Some(0));
    assert_eq!(props.user_properties.len(), 2, "duplicates kept in order");
    assert_eq!(p.client.state(), State::Connecting);
    p.expect_silence();
}

/// MQTT 3.1.1 CONNECT: level 4, no properties; without a user name or password
/// neither is present [MQTT-3.1.2-16], [MQTT-3.1.2-18].
#[test]
fn connect_v311_has_no_properties() {
    let mut p = Pair::new(v311());
    let c = p.connect_with(Properties::default(), false);
    assert_eq!(c.protocol, Protocol::V311);
    assert!(c.properties.is_empty());
    assert!(p.client.is_connected());
}

/// A refused CONNACK ends the connection with its reason code and Reason String.
#[test]
fn refused_connack_reports_reason_code_v5() {
    let mut p = Pair::new(v5());
    p.client.connect(p.now).unwrap();
    p.expect();
    let mut props = Properties::default();
    props.reason_string = Some("go away".into());
    props.server_reference = Some("other:1883".into());
    p.send(Connack {
        session_present: false,
        reason_code: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
        properties: props,
    });
    let d = disconnected(&mut p);
    assert_eq!(d.cause, DisconnectCause::Refused);
    assert_eq!(d.reason_code, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    assert_eq!(d.reason_string.as_deref(), Some("go away"));
    assert_eq!(d.server_reference.as_deref(), Some("other:1883"));
    assert_eq!(p.client.state(), State::Closed);
    assert_eq!(p.client.poll_timeout(), None);
}

/// 3.1.1 return codes surface as the equivalent 5.0 reason code with the
/// 3.1.1 text.
#[test]
fn refused_connack_v311_return_code_maps_to_reason_code() {
    let mut p = Pair::new(v311());
    p.client.connect(p.now).unwrap();
    p.expect();
    p.send(Connack { session_present: false, reason_code: ReasonCode(4), ..Connack::default() });
    let d = disconnected(&mut p);
    assert_eq!(d.reason_code, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    assert!(d.reason_string.unwrap().contains("bad user name or password"));
}

/// [MQTT-3.2.2-11] Maximum QoS, [MQTT-3.2.2-14] Retain Available,
/// [MQTT-3.2.2-15] Maximum Packet Size: a publish beyond them is refused
/// locally with the reason code, and nothing changes.
#[test]
fn server_limits_refuse_locally_and_change_nothing_mqtt_3_2_2_11_14_15() {
    let mut props = Properties::default();
    props.maximum_qos = Some(1);
    props.retain_available = Some(0);
    props.maximum_packet_size = Some(64);
    let mut p = Pair::connected(v5(), props);
    let cases = [
        (QoS::ExactlyOnce, false, 4, ReasonCode::QOS_NOT_SUPPORTED),
        (QoS::AtMostOnce, true, 4, ReasonCode::RETAIN_NOT_SUPPORTED),
        (QoS::AtLeastOnce, false, 100, ReasonCode::PACKET_TOO_LARGE),
    ];
    for (qos, retain, size, code) in cases {
        let mut m = Publish::new("t", vec![0u8; size]);
        m.qos = qos;
        m.retain = retain;
        let e = p.client.publish(p.now, m).unwrap_err();
        assert_eq!(e.reason_code, code);
        assert_eq!(e.kind, LocalErrorKind::NotSupported);
        p.expect_silence();
        assert!(p.take_events().is_empty());
        assert_eq!(p.client.inflight(), 0);
    }
    // Within the limits it goes.
    let mut m = Publish::new("t", &b"ok"[..]);
    m.qos = QoS::AtLeastOnce;
    assert_eq!(p.client.publish(p.now, m).unwrap(), Some(1));
    assert!(matches!(p.expect(), Packet::Publish(_)));
}

/// [MQTT-3.1.2-21], [MQTT-3.2.2-21] The Server Keep Alive replaces ours, and
/// [MQTT-3.1.2-20] a PINGREQ goes when nothing else was sent for that long.
#[test]
fn server_keep_alive_replaces_ours_and_pingreq_goes_when_idle_mqtt_3_1_2_20_21() {
    let mut props = Properties::default();
    props.server_keep_alive = Some(5);
    let mut p = Pair::connected(Options { keep_alive: 60, ..v5() }, props);
    assert_eq!(p.client.server().keep_alive, 5);
    let connected_at = p.now;
    assert_eq!(p.client.poll_timeout(), Some(connected_at + 5000));
    p.advance(4999);
    p.expect_silence();
    p.jump_to_timeout();
    assert_eq!(p.now, connected_at + 5000);
    assert_eq!(p.expect(), Packet::Pingreq);
    p.send(Packet::Pingresp);
    // The next PINGREQ is due a keep-alive after the last packet sent.
    assert_eq!(p.client.poll_timeout(), Some(connected_at + 10_000));
}

/// Keep-alive counts from the last packet sent, not received.
#[test]
fn keep_alive_counts_from_the_last_packet_sent() {
    let mut p = Pair::connected(Options { keep_alive: 10, ..v5() }, Properties::default());
    let t0 = p.now;
    p.advance(3000);
    p.client.publish(p.now, Publish::new("t", &b"x"[..])).unwrap();
    p.recv_all();
    assert_eq!(p.client.poll_timeout(), Some(t0 + 13_000));
    // Receiving does not postpone it.
    p.advance(5000);
    p.send(Publish::new("in", &b"y"[..]));
    assert_eq!(p.client.poll_timeout(), Some(t0 + 13_000));
}

/// A PINGREQ without PINGRESP within the timeout (a server breaking
/// [MQTT-3.12.4-1], or a dead link) is a dead connection, reported, never
/// hidden.
#[test]
fn missing_pingresp_reports_a_dead_connection() {
    let opts = Options { keep_alive: 10, pingresp_timeout: Some(Duration::from_secs(3)), ..v5() };
    let mut p = Pair::connected(opts, Properties::default());
    p.jump_to_timeout();
    assert_eq!(p.expect(), Packet::Pingreq);
    let sent = p.now;
    assert_eq!(p.client.poll_timeout(), Some(sent + 3000));
    p.jump_to_timeout();
    let d = disconnected(&mut p);
    assert_eq!(d.cause, DisconnectCause::KeepAliveTimeout);
    assert_eq!(d.reason_code, ReasonCode::KEEP_ALIVE_TIMEOUT);
    assert_eq!(p.client.state(), State::Closed);
    assert_eq!(p.client.poll_timeout(), None);
}

/// No CONNACK within the connect timeout is reported.
#[test]
fn missing_connack_times_out() {
    let mut p = Pair::new(Options { connect_timeout: Duration::from_secs(2), ..v5() });
    p.client.connect(p.now).unwrap();
    p.expect();
    let at = p.jump_to_timeout().unwrap();
    assert_eq!(at, Instant::from_millis(3000));
    assert_eq!(disconnected(&mut p).cause, DisconnectCause::ConnectTimeout);
}

use mqtt_engine::time::Instant;

/// Keep Alive 0 turns keep-alive off: no timer at all once connected.
#[test]
fn keep_alive_zero_means_no_timer() {
    let p = Pair::connected(Options { keep_alive: 0, ..v5() }, Properties::default());
    assert_eq!(p.client.poll_timeout(), None);
}

/// Time that goes backwards counts as no time passing.
#[test]
fn time_going_backwards_is_no_time_passing() {
    let mut p = Pair::connected(Options { keep_alive: 10, ..v5() }, Properties::default());
    let due = p.client.poll_timeout().unwrap();
    p.client.handle_timeout(Instant::from_millis(0));
    p.client.publish(Instant::from_millis(0), Publish::new("t", &b""[..])).unwrap();
    assert_eq!(p.client.poll_timeout(), Some(due), "sending at an earlier time moved nothing");
    p.client.handle_timeout(due);
    p.drive();
    assert!(p.recv_all().contains(&Packet::Pingreq));
}

/// The Assigned Client Identifier is used from then on, and reconnects use it.
#[test]
fn assigned_client_identifier_is_kept() {
    let mut props = Properties::default();
    props.assigned_client_identifier = Some("auto-42".into());
    props.session_expiry_interval = Some(60);
    let opts = Options { client_id: ByteStr::new(), session_expiry_interval: 60, ..v5() };
    let mut p = Pair::connected(opts, props);
    assert_eq!(p.client.client_id(), "auto-42");
    p.cut();
    assert_eq!(disconnected(&mut p).cause, DisconnectCause::ConnectionLost);
    let c = p.connect_with(Properties::default(), true);
    assert_eq!(c.client_id, "auto-42");
    assert!(!c.clean_start, "the session can resume, so Clean Start is 0");
}

/// A packet other than CONNACK or AUTH before CONNACK is a Protocol Error.
#[test]
fn publish_before_connack_is_a_protocol_error() {
    let mut p = Pair::new(v5());
    p.client.connect(p.now).unwrap();
    p.expect();
    p.send(Publish::new("t", &b"x"[..]));
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
    let Packet::Disconnect(d) = p.expect() else { panic!("no DISCONNECT") };
    assert_eq!(d.reason_code, ReasonCode::PROTOCOL_ERROR);
    assert_eq!(disconnected(&mut p).cause, DisconnectCause::ProtocolViolation);
}

/// [MQTT-3.2.2-2] Session Present 1 in answer to Clean Start 1 is a Protocol Error.
#[test]
fn session_present_after_clean_start_is_a_protocol_error() {
    let mut p = Pair::new(v5());
    p.client.connect(p.now).unwrap();
    p.expect();
    p.send(Connack { session_present: true, ..Connack::default() });
    assert!(
        matches!(p.errors[0], Error::Protocol(ref e) if e.reason_code == ReasonCode::PROTOCOL_ERROR)
    );
    assert_eq!(p.client.state(), State::Closed);
}

/// Clean Start 0 on a new client declares an empty session state, so the
/// server's session is resumed, not refused ([MQTT-3.2.2-4] concerns a client
/// that lost its state; the engine never asks to resume without holding one).
/// Later connections keep resuming.
#[test]
fn clean_start_0_on_a_new_client_resumes_the_servers_session() {
    let mut p = Pair::new(Options { clean_start: false, session_expiry_interval: 60, ..v5() });
    p.client.connect(p.now).unwrap();
    let Packet::Connect(c) = p.expect() else { panic!() };
    assert!(!c.clean_start);
    p.send(Connack { session_present: true, ..Connack::default() });
    let Event::Connected(connected) = p.event() else { panic!("not connected") };
    assert!(connected.session_present);
    p.send(Publish::new("queued/while/away", &b"x"[..]));
    assert!(matches!(p.event(), Event::Message(_)));
    p.cut();
    p.take_events();
    let c = p.connect_with(Properties::default(), true);
    assert!(!c.clean_start);
}

/// [MQTT-3.1.2-30] With an Authentication Method, nothing but AUTH or
/// DISCONNECT goes before CONNACK: a publish waits for it.
#[test]
fn nothing_but_auth_before_connack_mqtt_3_1_2_30() {
    let opts = Options { authentication_method: Some("SCRAM-SHA-1".into()), ..v5() };
    let mut p = Pair::new(opts);
    p.client.connect(p.now).unwrap();
    p.expect();
    let mut m = Publish::new("t", &b"early"[..]);
    m.qos = QoS::AtLeastOnce;
    assert_eq!(p.client.publish(p.now, m).unwrap(), Some(1));
    p.expect_silence();
    let mut props = Properties::default();
    props.authentication_method = Some("SCRAM-SHA-1".into());
    p.send(Connack { properties: props, ..Connack::default() });
    assert!(matches!(p.event(), Event::Connected(_)));
    let Packet::Publish(m) = p.expect() else { panic!() };
    assert_eq!(&m.payload[..], b"early");
}

/// Enhanced authentication at connect: a challenge (AUTH 0x18,
/// [MQTT-4.12.0-2]) surfaces as an event, the answer goes as AUTH 0x18
/// [MQTT-4.12.0-3] with the same method [MQTT-4.12.0-5], then CONNACK.
#[test]
fn enhanced_auth_challenge_and_answer_mqtt_4_12_0_3_and_5() {
    let opts = Options {
        authentication_method: Some("TOKEN".into()),
        authentication_data: Some(Bytes::from_static(b"client-first")),
        ..v5()
    };
    let mut p = Pair::new(opts);
    p.client.connect(p.now).unwrap();
    let Packet::Connect(c) = p.expect() else { panic!() };
    assert_eq!(c.properties.authentication_method.as_deref(), Some("TOKEN"));
    assert_eq!(c.properties.authentication_data.as_deref(), Some(&b"client-first"[..]));
    let mut challenge =
        Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() };
    challenge.properties.authentication_method = Some("TOKEN".into());
    challenge.properties.authentication_data = Some(Bytes::from_static(b"server-first"));
    p.send(challenge);
    let Event::Auth(a) = p.event() else { panic!("no Auth event") };
    assert_eq!(a.reason_code, ReasonCode::CONTINUE_AUTHENTICATION);
    assert_eq!(a.properties.authentication_data.as_deref(), Some(&b"server-first"[..]));
    let mut answer = Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() };
    answer.properties.authentication_data = Some(Bytes::from_static(b"client-final"));
    p.client.auth(p.now, answer).unwrap();
    let Packet::Auth(sent) = p.expect() else { panic!("no AUTH") };
    assert_eq!(sent.reason_code, ReasonCode::CONTINUE_AUTHENTICATION);
    assert_eq!(sent.properties.authentication_method.as_deref(), Some("TOKEN"));
    let mut props = Properties::default();
    props.authentication_method = Some("TOKEN".into());
    p.send(Connack { properties: props, ..Connack::default() });
    assert!(matches!(p.event(), Event::Connected(_)));
}

/// [MQTT-4.12.1-1] Re-authentication while connected: AUTH 0x19, a
/// challenge answered, Success reported.
#[test]
fn reauthentication_while_connected_mqtt_4_12_1_1() {
    let opts = Options { authentication_method: Some("TOKEN".into()), ..v5() };
    let mut props = Properties::default();
    props.authentication_method = Some("TOKEN".into());
    let mut p = Pair::connected(opts, props);
    // 0x18 is only an answer: refused with nothing to answer.
    let cont = Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() };
    assert_eq!(p.client.auth(p.now, cont.clone()).unwrap_err().kind, LocalErrorKind::Auth);
    let start = Auth { reason_code: ReasonCode::REAUTHENTICATE, ..Auth::default() };
    p.client.auth(p.now, start).unwrap();
    let Packet::Auth(a) = p.expect() else { panic!() };
    assert_eq!(a.reason_code, ReasonCode::REAUTHENTICATE);
    assert_eq!(a.properties.authentication_method.as_deref(), Some("TOKEN"));
    let mut challenge =
        Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() };
    challenge.properties.authentication_method = Some("TOKEN".into());
    p.send(challenge);
    assert!(matches!(p.event(), Event::Auth(_)));
    p.client.auth(p.now, cont).unwrap();
    assert!(matches!(p.expect(), Packet::Auth(_)));
    let mut done = Auth::default();
    done.properties.authentication_method = Some("TOKEN".into());
    p.send(done);
    let Event::Auth(a) = p.event() else { panic!() };
    assert_eq!(a.reason_code, ReasonCode::SUCCESS);
    assert!(p.client.is_connected());
}

/// [MQTT-4.12.0-7] No AUTH without an Authentication Method: refused locally,
/// and an AUTH from the server is a Protocol Error.
#[test]
fn auth_without_method_is_refused_both_ways_mqtt_4_12_0_7() {
    let mut p = Pair::connected(v5(), Properties::default());
    let start = Auth { reason_code: ReasonCode::REAUTHENTICATE, ..Auth::default() };
    assert_eq!(p.client.auth(p.now, start.clone()).unwrap_err().kind, LocalErrorKind::Auth);
    p.expect_silence();
    // AUTH does not exist in 3.1.1, whatever the options say.
    let opts = Options { authentication_method: Some("X".into()), ..v311() };
    let mut q = Pair::connected(opts, Properties::default());
    assert_eq!(q.client.auth(q.now, start).unwrap_err().kind, LocalErrorKind::Auth);
    q.expect_silence();
    let mut challenge =
        Auth { reason_code: ReasonCode::CONTINUE_AUTHENTICATION, ..Auth::default() };
    challenge.properties.authentication_method = Some("X".into());
    p.send(challenge);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
    assert_eq!(p.client.state(), State::Closed);
}

/// A server DISCONNECT surfaces its reason code, Reason String, Server
/// Reference and User Properties.
#[test]
fn server_disconnect_is_surfaced_with_its_details() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut d = Disconnect::new(ReasonCode::SERVER_MOVED);
    d.properties.reason_string = Some("moved".into());
    d.properties.server_reference = Some("b2:1883".into());
    d.properties.user_properties.push(("k".into(), "v".into()));
    p.send(d);
    let got = disconnected(&mut p);
    assert_eq!(got.cause, DisconnectCause::Server);
    assert_eq!(got.reason_code, ReasonCode::SERVER_MOVED);
    assert_eq!(got.reason_string.as_deref(), Some("moved"));
    assert_eq!(got.server_reference.as_deref(), Some("b2:1883"));
    assert_eq!(got.user_properties, vec![("k".into(), "v".into())]);
}

/// [MQTT-3.14.2-2] A server DISCONNECT with a Session Expiry Interval is a
/// Protocol Error.
#[test]
fn server_disconnect_with_session_expiry_is_a_protocol_error_mqtt_3_14_2_2() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut d = Disconnect::new(ReasonCode::SUCCESS);
    d.properties.session_expiry_interval = Some(10);
    p.send(d);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PROTOCOL_ERROR);
}

/// Client DISCONNECT: reason code and Session Expiry update go out, nothing
/// after it [MQTT-3.14.4-1]; a zero expiry at CONNECT cannot become non-zero.
#[test]
fn client_disconnect_with_reason_and_expiry_mqtt_3_14_4_1() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut bad = Disconnect::new(ReasonCode::SUCCESS);
    bad.properties.session_expiry_interval = Some(30);
    let e = p.client.disconnect(p.now, bad).unwrap_err();
    assert_eq!(e.reason_code, ReasonCode::PROTOCOL_ERROR);
    assert!(p.client.is_connected(), "a refused command changes nothing");

    let mut p =
        Pair::connected(Options { session_expiry_interval: 60, ..v5() }, Properties::default());
    let mut d = Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL);
    d.properties.session_expiry_interval = Some(0);
    p.client.disconnect(p.now, d).unwrap();
    let Packet::Disconnect(sent) = p.expect() else { panic!() };
    assert_eq!(sent.reason_code, ReasonCode::DISCONNECT_WITH_WILL);
    assert_eq!(sent.properties.session_expiry_interval, Some(0));
    assert_eq!(disconnected(&mut p).cause, DisconnectCause::Client);
    assert!(p.client.publish(p.now, Publish::new("t", &b""[..])).is_err());
    p.expect_silence();
    // The session ended with expiry 0: the next connection starts clean.
    p.reset_broker();
    p.client.connect(p.now).unwrap();
    let Packet::Connect(c) = p.expect() else { panic!() };
    assert!(c.clean_start);
}

/// Malformed input: DISCONNECT 0x81, then the connection is closed
/// [MQTT-4.13.2-1], [MQTT-3.14.4-2]: Closed, an event and an error.
#[test]
fn malformed_input_closes_with_0x81() {
    let mut p = Pair::connected(v5(), Properties::default());
    // PUBLISH whose topic contains a wildcard.
    p.send_raw(&[0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', 0x00]);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::MALFORMED_PACKET);
    let Packet::Disconnect(d) = p.expect() else { panic!() };
    assert_eq!(d.reason_code, ReasonCode::MALFORMED_PACKET);
    assert!(d.properties.reason_string.is_some());
    let got = disconnected(&mut p);
    assert_eq!(got.cause, DisconnectCause::ProtocolViolation);
    assert_eq!(p.client.state(), State::Closed);
}

/// [MQTT-3.1.2-24] Our Maximum Packet Size is enforced from the fixed header:
/// a larger packet is refused with 0x95 before it is buffered.
#[test]
fn inbound_packet_above_our_maximum_is_refused_0x95() {
    let mut p =
        Pair::connected(Options { maximum_packet_size: 100, ..v5() }, Properties::default());
    // A PUBLISH header announcing 200 bytes; the body never needs to arrive.
    p.send_raw(&[0x30, 0xC8, 0x01]);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::PACKET_TOO_LARGE);
    let Packet::Disconnect(d) = p.expect() else { panic!() };
    assert_eq!(d.reason_code, ReasonCode::PACKET_TOO_LARGE);
}

/// 3.1.1 has no DISCONNECT from the server and no reason codes: a protocol
/// violation just closes.
#[test]
fn v311_violation_closes_without_disconnect() {
    let mut p = Pair::connected(v311(), Properties::default());
    p.send_raw(&[0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', 0x00]);
    assert_eq!(p.errors[0].reason_code(), ReasonCode::MALFORMED_PACKET);
    p.expect_silence();
    assert_eq!(p.client.state(), State::Closed);
}

/// connect while a connection is open is refused; commands while closed are
/// refused without offline_queue.
#[test]
fn misuse_is_refused_locally() {
    let mut p = Pair::connected(v5(), Properties::default());
    assert_eq!(p.client.connect(p.now).unwrap_err().kind, LocalErrorKind::AlreadyConnected);
    let mut q = Pair::new(v5());
    let e = q.client.publish(q.now, Publish::new("t", &b""[..])).unwrap_err();
    assert_eq!(e.kind, LocalErrorKind::NotConnected);
    let e = q.client.publish(q.now, Publish::new("a/+", &b""[..])).unwrap_err();
    assert_eq!(e.reason_code, ReasonCode::TOPIC_NAME_INVALID);
    q.expect_silence();
}

/// Runs a Pair whose links have latency until `until`, the broker answering
/// CONNECT with CONNACK and PINGREQ with PINGRESP. Returns the client's events
/// with the time each was reported.
fn run_with_latency(p: &mut Pair, until: Instant) -> Vec<(Instant, Event)> {
    let mut events = Vec::new();
    while let Some(now) = p.settle() {
        for packet in p.recv_all() {
            match packet {
                Packet::Connect(_) => p.send(Connack::default()),
                Packet::Pingreq => p.send(Packet::Pingresp),
                other => panic!("unexpected {other:?}"),
            }
        }
        events.extend(p.take_events().into_iter().map(|e| (now, e)));
        if now >= until {
            break;
        }
    }
    events
}

/// Keep-alive over a slow link: a PINGRESP that takes 800 ms to come back
/// still beats a 1 s PINGRESP timeout, so pings go on and nothing is reported
/// for a minute.
#[test]
fn pingresp_within_the_timeout_over_a_slow_link_keeps_the_connection() {
    let opts = Options { keep_alive: 5, pingresp_timeout: Some(Duration::from_secs(1)), ..v5() };
    let mut p = Pair::with_link(opts, mqtt_engine_testkit::pair::Split::Random(3), 400);
    p.client.connect(p.now).unwrap();
    let until = p.now + 60_000;
    let events = run_with_latency(&mut p, until);
    assert!(matches!(&events[..], [(_, Event::Connected(_))]), "{events:?}");
    assert!(p.client.is_connected());
}

/// The same link with 600 ms each way: the PINGRESP cannot arrive within the
/// 1 s timeout, and the dead connection is reported once the timeout passes.
#[test]
fn pingresp_slower_than_the_timeout_is_a_dead_connection() {
    let opts = Options { keep_alive: 5, pingresp_timeout: Some(Duration::from_secs(1)), ..v5() };
    let mut p = Pair::with_link(opts, mqtt_engine_testkit::pair::Split::Whole, 600);
    let start = p.now;
    p.client.connect(p.now).unwrap();
    let until = p.now + 60_000;
    let events = run_with_latency(&mut p, until);
    assert!(matches!(&events[0], (t, Event::Connected(_)) if *t == start + 1200));
    let Some((at, Event::Disconnected(d))) = events.get(1) else { panic!("{events:?}") };
    assert_eq!(d.cause, DisconnectCause::KeepAliveTimeout);
    // Keep-alive counts from the last packet sent, CONNECT at the start: the
    // PINGREQ goes at +5 s and the connection is dead 1 s later, before the
    // PINGRESP (due at +6.2 s) can arrive.
    assert_eq!(*at, start + 5000 + 1000);
}
