//! JSON-RPC over per-device topics on simulated time: requests to
//! `devices/{id}/rx`, answers on `devices/{id}/tx`, correlated by the JSON-RPC
//! `id`, over MQTT 3.1.1 (no properties needed) and 5.0.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use mqtt_engine::client::{Event, Options};
use mqtt_engine::codec::{Packet, Properties, Protocol, Publish, QoS, ReasonCode, Suback};
use mqtt_engine::rpc::jsonrpc::parse_request;
use mqtt_engine::rpc::{End, RequestDone, Response};
use mqtt_engine_testkit::pair::Pair;
use serde_json::{json, Value};
use std::time::Duration;

fn opts(protocol: Protocol) -> Options {
    Options { protocol, client_id: "gateway".into(), ..Options::default() }
}

fn json_of(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload).unwrap()
}

fn done(events: &[Event]) -> Vec<RequestDone> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::RequestDone(d) => Some(*d),
            _ => None,
        })
        .collect()
}

/// A caller connected with `protocol` whose first call to `d1` went out;
/// returns the call's PUBLISH.
fn caller(protocol: Protocol) -> (Pair, mqtt_engine::rpc::RequestId, Publish) {
    let mut p = Pair::connected(opts(protocol), Properties::default());
    let id = p
        .client
        .call_device(
            p.now,
            "d1",
            "get_temperature",
            Some(r#"{"unit":"C"}"#),
            Duration::from_secs(5),
        )
        .unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!("no SUBSCRIBE") };
    assert_eq!(s.filters[0].filter, "devices/d1/tx");
    p.expect_silence();
    p.send(Suback {
        packet_id: s.packet_id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        ..Suback::default()
    });
    let Packet::Publish(m) = p.expect() else { panic!("no request") };
    (p, id, m)
}

/// The call goes to devices/{id}/rx as a JSON-RPC 2.0 request, after the tx
/// subscription is acknowledged, with no MQTT 5 property (3.1.1 works); the
/// answer with its id completes it.
#[test]
fn a_call_over_311_is_answered_by_id() {
    let (mut p, id, m) = caller(Protocol::V311);
    assert_eq!(m.topic, "devices/d1/rx");
    assert_eq!(m.qos, QoS::AtLeastOnce);
    assert!(m.properties.is_empty());
    let req = json_of(&m);
    assert_eq!(req["jsonrpc"], "2.0");
    assert_eq!(req["method"], "get_temperature");
    assert_eq!(req["params"], json!({"unit": "C"}));
    let rpc_id = req["id"].clone();
    p.send(Publish::new(
        "devices/d1/tx",
        json!({"jsonrpc": "2.0", "id": rpc_id, "result": 21.5}).to_string(),
    ));
    let events = p.take_events();
    let Event::Response(r) = &events[0] else { panic!("{events:?}") };
    assert_eq!((r.request, r.status), (id, Some(200)));
    assert_eq!(json_of(&r.publish)["result"], 21.5);
    assert_eq!(done(&events), vec![RequestDone { request: id, end: End::Completed, responses: 1 }]);
}

/// An error answer ends the call with status 500 and the error's message.
#[test]
fn an_error_answer_carries_its_message() {
    let (mut p, id, m) = caller(Protocol::V5);
    let rpc_id = json_of(&m)["id"].clone();
    let err = json!({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32601, "message": "no such method"}});
    p.send(Publish::new("devices/d1/tx", err.to_string()));
    let events = p.take_events();
    let Event::Response(r) = &events[0] else { panic!() };
    assert_eq!((r.status, r.message.as_deref()), (Some(500), Some("no such method")));
    assert_eq!(done(&events)[0].request, id);
}

/// Answers with another id, or not JSON-RPC at all, are dropped and counted;
/// the call then times out at its deadline.
#[test]
fn foreign_answers_are_dropped_and_the_call_times_out() {
    let (mut p, id, _) = caller(Protocol::V311);
    p.send(Publish::new(
        "devices/d1/tx",
        json!({"jsonrpc": "2.0", "id": 999_999, "result": 1}).to_string(),
    ));
    p.send(Publish::new("devices/d1/tx", "not json"));
    assert!(p.take_events().is_empty());
    assert_eq!(p.client.rpc_stats().unknown_responses, 2);
    p.jump_to_timeout();
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Timeout, responses: 0 }]
    );
}

/// A device serving JSON-RPC over 3.1.1: a request with an id becomes a
/// Request event, the answer goes to devices/{id}/tx with the id echoed and
/// the result; an error status becomes a JSON-RPC error; a notification (no
/// id) is a plain message.
#[test]
fn a_device_serves_json_rpc_over_311() {
    let mut p = Pair::connected(opts(Protocol::V311), Properties::default());
    p.client.serve_device(p.now, "d1").unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!() };
    assert_eq!(s.filters[0].filter, "devices/d1/rx");
    let request = |id: Value, method: &str| {
        let mut m = Publish::new(
            "devices/d1/rx",
            json!({"jsonrpc": "2.0", "id": id, "method": method}).to_string(),
        );
        m.qos = QoS::AtLeastOnce;
        m.packet_id = Some(9);
        m
    };
    p.send(request(json!("a-1"), "get_temperature"));
    let Event::Request(r) = p.event() else { panic!("no Request event") };
    let parsed = parse_request(&r.publish.payload).unwrap();
    assert_eq!(
        (parsed.id.as_deref(), parsed.method.as_str()),
        (Some("\"a-1\""), "get_temperature")
    );
    p.recv_all(); // the PUBACK
    p.client.respond(p.now, r.id, Response::ok(json!({"t": 21.5}).to_string())).unwrap();
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(a.topic, "devices/d1/tx");
    assert_eq!(json_of(&a), json!({"jsonrpc": "2.0", "id": "a-1", "result": {"t": 21.5}}));

    p.send(request(json!(7), "reboot"));
    let Event::Request(r) = p.event() else { panic!() };
    p.recv_all();
    p.client.respond(p.now, r.id, Response::error(404, "no such method")).unwrap();
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(json_of(&a)["error"], json!({"code": -32601, "message": "no such method"}));
    assert_eq!(json_of(&a)["id"], 7);

    p.send(Publish::new("devices/d1/rx", json!({"jsonrpc": "2.0", "method": "tick"}).to_string()));
    assert!(matches!(p.event(), Event::Message(_)));
    p.expect_silence();
}

/// Duplicates of a JSON-RPC request are not handled twice, and get the cached
/// answer once answered.
#[test]
fn json_rpc_duplicates_are_answered_from_the_cache() {
    let mut p = Pair::connected(opts(Protocol::V311), Properties::default());
    p.client.serve_device(p.now, "d1").unwrap();
    p.recv_all();
    let req = Publish::new(
        "devices/d1/rx",
        json!({"jsonrpc": "2.0", "id": 1, "method": "m"}).to_string(),
    );
    p.send(req.clone());
    let Event::Request(r) = p.event() else { panic!() };
    p.send(req.clone());
    assert!(p.take_events().is_empty());
    p.client.respond(p.now, r.id, Response::ok("true")).unwrap();
    let Packet::Publish(first) = p.expect() else { panic!() };
    p.send(req);
    assert!(p.take_events().is_empty());
    let Packet::Publish(again) = p.expect() else { panic!() };
    assert_eq!(first.payload, again.payload);
    assert_eq!(p.client.rpc_stats().duplicates_in_progress, 1);
    assert_eq!(p.client.rpc_stats().answered_from_cache, 1);
}

/// Bad device ids and bad params are refused locally.
#[test]
fn bad_calls_are_refused_locally() {
    let mut p = Pair::connected(opts(Protocol::V311), Properties::default());
    assert!(p.client.call_device(p.now, "a/b", "m", None, Duration::from_secs(1)).is_err());
    assert!(p.client.call_device(p.now, "d+", "m", None, Duration::from_secs(1)).is_err());
    let e =
        p.client.call_device(p.now, "d1", "m", Some("{oops"), Duration::from_secs(1)).unwrap_err();
    assert_eq!(e.reason_code, ReasonCode::PAYLOAD_FORMAT_INVALID);
    assert!(p.client.serve_device(p.now, "#").is_err());
    p.expect_silence();
}
