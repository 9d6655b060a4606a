//! Request/response on simulated time (DESIGN §6): the requester's
//! correlation, deadlines and outcomes, and the responder's answers and
//! idempotency cache, against a scripted broker.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing
#![allow(clippy::field_reassign_with_default)] // properties are built field by field, as users do

use mqtt_engine::client::{Event, LocalErrorKind, Options};
use mqtt_engine::codec::{
    Connack, Packet, Properties, Protocol, PubAck, Publish, QoS, ReasonCode, Suback,
};
use mqtt_engine::rpc::{Collect, End, Request, RequestDone, RequestId, Response};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::pair::Pair;
use std::time::Duration;

fn v5() -> Options {
    Options { client_id: "c1".into(), session_expiry_interval: 300, ..Options::default() }
}

fn user(p: &Properties, name: &str) -> Option<String> {
    p.user_properties.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_string())
}

/// A connected requester whose response subscription is acknowledged; returns
/// the first request's id and its PUBLISH.
fn requester(req: Request) -> (Pair, RequestId, Publish) {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.request(p.now, req).unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!("no SUBSCRIBE") };
    p.expect_silence();
    p.send(Suback {
        packet_id: s.packet_id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        ..Suback::default()
    });
    let Packet::Publish(m) = p.expect() else { panic!("no request PUBLISH") };
    assert!(p.take_events().is_empty(), "the response SUBACK is the engine's own");
    (p, id, m)
}

/// The broker delivers an answer to `request` (a PUBLISH to its Response
/// Topic with its Correlation Data), with extra User Properties.
fn answer(
    request: &Publish,
    payload: &'static [u8],
    props: &[(&'static str, &'static str)],
) -> Publish {
    let mut m = Publish::new(request.properties.response_topic.clone().unwrap(), payload);
    m.properties.correlation_data = request.properties.correlation_data.clone();
    for (k, v) in props {
        m.properties.user_properties.push(((*k).into(), (*v).into()));
    }
    m
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

/// The response subscription goes first (QoS 1, without No Local so that a
/// client can call itself); the request waits
/// for its SUBACK, then carries Response Topic, 16 bytes of Correlation Data,
/// a Message Expiry of the timeout rounded up to whole seconds and the timeout
/// in milliseconds.
#[test]
fn request_waits_for_the_response_subscription_and_carries_its_metadata() {
    let mut p = Pair::connected(v5(), Properties::default());
    let mut req = Request::new("svc/calc", &b"1+1"[..], Duration::from_millis(1500));
    req.properties.content_type = Some("text/plain".into());
    p.client.request(p.now, req).unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!() };
    assert_eq!(s.filters[0].filter, "replies/c1");
    assert_eq!(s.filters[0].qos, QoS::AtLeastOnce);
    assert!(!s.filters[0].no_local);
    p.expect_silence();
    p.send(Suback {
        packet_id: s.packet_id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        ..Suback::default()
    });
    let Packet::Publish(m) = p.expect() else { panic!() };
    assert_eq!(m.topic, "svc/calc");
    assert_eq!(m.qos, QoS::AtLeastOnce);
    assert_eq!(m.properties.response_topic.as_deref(), Some("replies/c1"));
    assert_eq!(m.properties.correlation_data.as_ref().map(Bytes::len), Some(16));
    assert_eq!(m.properties.message_expiry_interval, Some(2));
    assert_eq!(user(&m.properties, "rpc-timeout-ms").as_deref(), Some("1500"));
    assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
    // A second request goes at once, with other Correlation Data.
    p.client.request(p.now, Request::new("svc/calc", &b"2+2"[..], Duration::from_secs(1))).unwrap();
    let Packet::Publish(m2) = p.expect() else { panic!() };
    assert_ne!(m2.properties.correlation_data, m.properties.correlation_data);
}

/// With Response Information from the server, the response topic lives under it.
#[test]
fn response_topic_under_response_information() {
    let mut props = Properties::default();
    props.response_information = Some("resp/c1/".into());
    let opts = Options { request_response_information: true, ..v5() };
    let p = Pair::connected(opts, props);
    assert_eq!(p.client.response_topic(), "resp/c1/replies");
}

/// One answer ends a request: the Response event with its status, then one
/// RequestDone. Answers after that are late, answers nobody asked for are
/// unknown: both are dropped and counted, never delivered.
#[test]
fn one_answer_ends_the_request_late_and_unknown_answers_are_dropped() {
    let (mut p, id, req) = requester(Request::new("svc", &b"q"[..], Duration::from_secs(5)));
    p.send(Packet::Puback(PubAck::new(req.packet_id.unwrap())));
    p.send(answer(&req, b"42", &[("rpc-status", "200")]));
    let events = p.take_events();
    let Event::Response(r) = &events[0] else { panic!("{events:?}") };
    assert_eq!((r.request, r.status, &r.publish.payload[..]), (id, Some(200), &b"42"[..]));
    assert_eq!(done(&events), vec![RequestDone { request: id, end: End::Completed, responses: 1 }]);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Published(_))),
        "the request's PUBACK is the engine's"
    );
    p.send(answer(&req, b"again", &[]));
    let mut stranger = answer(&req, b"?", &[]);
    stranger.properties.correlation_data = Some(Bytes::from_static(b"not ours"));
    p.send(stranger);
    assert!(p.take_events().is_empty());
    assert_eq!(p.client.rpc_stats().late_responses, 1);
    assert_eq!(p.client.rpc_stats().unknown_responses, 1);
}

/// No answer by the deadline: RequestDone Timeout exactly at `now + timeout`.
#[test]
fn no_answer_times_out_at_the_deadline() {
    let (mut p, id, _) = requester(Request::new("svc", &b"q"[..], Duration::from_millis(750)));
    let start = p.now;
    assert_eq!(p.client.poll_timeout(), Some(start + 750));
    p.jump_to_timeout();
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Timeout, responses: 0 }]
    );
}

/// PUBACK 0x10 No matching subscribers: the request fails at once, not at
/// its deadline.
#[test]
fn no_responders_fails_at_once() {
    let (mut p, id, req) = requester(Request::new("nobody", &b"q"[..], Duration::from_secs(30)));
    let mut ack = PubAck::new(req.packet_id.unwrap());
    ack.reason_code = ReasonCode::NO_MATCHING_SUBSCRIBERS;
    p.send(Packet::Puback(ack));
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::NoResponders, responses: 0 }]
    );
    assert_eq!(p.client.poll_timeout(), Some(p.now + 60_000), "only the keep-alive timer is left");
}

/// A refused response subscription fails the requests waiting for it with
/// the reason code.
#[test]
fn refused_response_subscription_fails_waiting_requests() {
    let mut p = Pair::connected(v5(), Properties::default());
    let a =
        p.client.request(p.now, Request::new("svc", &b"1"[..], Duration::from_secs(5))).unwrap();
    let b =
        p.client.request(p.now, Request::new("svc", &b"2"[..], Duration::from_secs(5))).unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!() };
    p.expect_silence();
    p.send(Suback {
        packet_id: s.packet_id,
        reason_codes: vec![ReasonCode::NOT_AUTHORIZED],
        ..Suback::default()
    });
    let ends = done(&p.take_events());
    assert_eq!(ends.len(), 2);
    for (d, id) in ends.iter().zip([a, b]) {
        assert_eq!((d.request, d.end), (id, End::SubscriptionRefused(ReasonCode::NOT_AUTHORIZED)));
    }
    p.expect_silence();
}

/// A stream: answers marked `rpc-stream: more` keep it open, the first
/// without ends it.
#[test]
fn a_stream_ends_with_the_first_answer_without_more() {
    let mut req = Request::new("svc/stream", &b"q"[..], Duration::from_secs(5));
    req.collect = Collect::Stream;
    let (mut p, id, m) = requester(req);
    p.send(answer(&m, b"1", &[("rpc-stream", "more")]));
    p.send(answer(&m, b"2", &[("rpc-stream", "more")]));
    assert!(done(&p.take_events()).is_empty());
    p.send(answer(&m, b"3", &[]));
    let events = p.take_events();
    assert!(matches!(&events[0], Event::Response(r) if &r.publish.payload[..] == b"3"));
    assert_eq!(done(&events), vec![RequestDone { request: id, end: End::Completed, responses: 3 }]);
}

/// A broadcast query collects answers from many responders: until a count,
/// until a quiet gap, or until the deadline (with none: Timeout).
#[test]
fn many_answers_until_count_quiet_gap_or_deadline() {
    let mut req = Request::new("who", &b"?"[..], Duration::from_secs(10));
    req.collect = Collect::Many { max: Some(3), quiet: None };
    let (mut p, id, m) = requester(req);
    for _ in 0..3 {
        p.send(answer(&m, b"me", &[]));
    }
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Completed, responses: 3 }]
    );

    let mut req = Request::new("who", &b"?"[..], Duration::from_secs(10));
    req.collect = Collect::Many { max: None, quiet: Some(Duration::from_millis(300)) };
    let (mut p, id, m) = requester(req);
    p.send(answer(&m, b"a", &[]));
    p.advance(200);
    p.send(answer(&m, b"b", &[]));
    let t = p.now;
    p.jump_to_timeout();
    assert_eq!(p.now, t + 300, "300 ms after the last answer");
    let events = p.take_events();
    assert_eq!(done(&events), vec![RequestDone { request: id, end: End::Completed, responses: 2 }]);

    let mut req = Request::new("who", &b"?"[..], Duration::from_secs(2));
    req.collect = Collect::Many { max: None, quiet: None };
    let (mut p, id, _) = requester(req);
    p.jump_to_timeout();
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Timeout, responses: 0 }]
    );
}

/// Cancel ends a request at once; its answers are then late.
#[test]
fn cancel_ends_the_request() {
    let (mut p, id, m) = requester(Request::new("svc", &b"q"[..], Duration::from_secs(5)));
    p.client.cancel(p.now, id).unwrap();
    p.drive();
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Cancelled, responses: 0 }]
    );
    assert_eq!(p.client.cancel(p.now, id).unwrap_err().kind, LocalErrorKind::UnknownRequest);
    p.send(answer(&m, b"too late", &[]));
    assert!(p.take_events().is_empty());
    assert_eq!(p.client.rpc_stats().late_responses, 1);
}

/// A resumed session keeps requests pending: the answer that comes after the
/// reconnect completes them. A lost session ends them at once.
#[test]
fn requests_survive_a_resumed_session_and_end_with_a_lost_one() {
    let (mut p, id, m) = requester(Request::new("svc", &b"q"[..], Duration::from_secs(30)));
    p.cut();
    p.take_events();
    p.connect_with(Properties::default(), true);
    p.recv_all(); // the request PUBLISH again, DUP set
    p.send(answer(&m, b"ok", &[]));
    assert_eq!(
        done(&p.take_events()),
        vec![RequestDone { request: id, end: End::Completed, responses: 1 }]
    );

    let (mut p, id, _) = requester(Request::new("svc", &b"q"[..], Duration::from_secs(30)));
    p.cut();
    p.take_events();
    p.client.connect(p.now).unwrap();
    p.expect();
    p.send(Connack::default()); // Session Present 0
    let events = p.take_events();
    assert_eq!(
        done(&events),
        vec![RequestDone { request: id, end: End::SessionLost, responses: 0 }]
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::PublishDropped(_))),
        "the request's PUBLISH is the engine's"
    );
}

/// Answers are acknowledged by the engine even in manual-ack mode: the
/// application never sees them as messages to ack.
#[test]
fn answers_are_acked_by_the_engine_in_manual_ack_mode() {
    let mut p = Pair::connected(Options { manual_ack: true, ..v5() }, Properties::default());
    p.client.request(p.now, Request::new("svc", &b"q"[..], Duration::from_secs(5))).unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!() };
    p.send(Suback {
        packet_id: s.packet_id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        ..Suback::default()
    });
    let Packet::Publish(m) = p.expect() else { panic!() };
    let mut a = answer(&m, b"ok", &[]);
    a.qos = QoS::AtLeastOnce;
    a.packet_id = Some(77);
    p.send(a);
    assert_eq!(p.expect(), Packet::Puback(PubAck::new(77)));
    assert_eq!(p.client.inbound_pending(), 0);
}

/// Requests are bounded, need MQTT 5.0 and a connection.
#[test]
fn request_refusals() {
    let mut p = Pair::connected(
        Options {
            rpc: mqtt_engine::rpc::RpcOptions { max_pending: 2, ..Default::default() },
            ..v5()
        },
        Properties::default(),
    );
    for _ in 0..2 {
        p.client.request(p.now, Request::new("svc", &b"q"[..], Duration::from_secs(5))).unwrap();
    }
    let e = p
        .client
        .request(p.now, Request::new("svc", &b"q"[..], Duration::from_secs(5)))
        .unwrap_err();
    assert_eq!(e.kind, LocalErrorKind::QueueFull);
    let mut q =
        Pair::connected(Options { protocol: Protocol::V311, ..v5() }, Properties::default());
    let e = q
        .client
        .request(q.now, Request::new("svc", &b"q"[..], Duration::from_secs(5)))
        .unwrap_err();
    assert_eq!(e.kind, LocalErrorKind::NotSupported);
    let e = q.client.request(q.now, Request::new("a/+", &b""[..], Duration::from_secs(5)));
    assert!(e.is_err());
}

/// A served request that arrives as a PUBLISH with Response Topic becomes a
/// Request event with its deadline from `rpc-timeout-ms`.
fn served(
    p: &mut Pair,
    correlation: &'static [u8],
    timeout_ms: &'static str,
) -> mqtt_engine::rpc::IncomingRequest {
    let mut req = Publish::new("svc/calc", &b"1+1"[..]);
    req.qos = QoS::AtLeastOnce;
    req.packet_id = Some(5);
    req.properties.response_topic = Some("replies/other".into());
    req.properties.correlation_data = Some(Bytes::from_static(correlation));
    req.properties.user_properties.push(("rpc-timeout-ms".into(), timeout_ms.into()));
    p.send(req);
    match p.take_events().pop() {
        Some(Event::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn server() -> Pair {
    let mut p = Pair::connected(v5(), Properties::default());
    let id = p.client.serve(p.now, "svc/+", Some("calc")).unwrap();
    let Packet::Subscribe(s) = p.expect() else { panic!() };
    assert_eq!(s.filters[0].filter, "$share/calc/svc/+");
    p.send(Suback {
        packet_id: id,
        reason_codes: vec![ReasonCode::GRANTED_QOS_1],
        ..Suback::default()
    });
    assert!(matches!(p.event(), Event::Subscribed(_)));
    p.recv_all();
    p
}

/// The answer goes to the Response Topic with the Correlation Data echoed,
/// status 200, and a Message Expiry of the request's remaining lifetime.
#[test]
fn respond_echoes_correlation_with_status_and_remaining_expiry() {
    let mut p = server();
    let r = served(&mut p, b"c-1", "2500");
    assert_eq!(r.deadline, Some(p.now + 2500));
    p.recv_all(); // PUBACK of the request
    p.advance(1000);
    p.client.respond(p.now, r.id, Response::ok(&b"2"[..])).unwrap();
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(a.topic, "replies/other");
    assert_eq!(a.properties.correlation_data.as_deref(), Some(&b"c-1"[..]));
    assert_eq!(user(&a.properties, "rpc-status").as_deref(), Some("200"));
    assert_eq!(a.properties.message_expiry_interval, Some(2), "1.5 s left, rounded up");
    assert_eq!(&a.payload[..], b"2");
}

/// Errors are answers too: status and a readable message.
#[test]
fn errors_are_answered_with_status_and_message() {
    let mut p = server();
    let r = served(&mut p, b"c-2", "5000");
    p.recv_all();
    p.client.respond(p.now, r.id, Response::error(404, "no such method")).unwrap();
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(user(&a.properties, "rpc-status").as_deref(), Some("404"));
    assert_eq!(user(&a.properties, "rpc-message").as_deref(), Some("no such method"));
}

/// A message without Response Topic on a served filter is fire-and-forget: a
/// plain message, no answer.
#[test]
fn a_publish_without_response_topic_is_a_plain_message() {
    let mut p = server();
    p.send(Publish::new("svc/log", &b"hello"[..]));
    assert!(matches!(p.event(), Event::Message(_)));
    p.expect_silence();
}

/// Duplicates: while the first is being handled a duplicate is dropped (not
/// handled twice); once answered, a duplicate gets the same answer from the
/// cache, with no new Request event.
#[test]
fn duplicates_are_not_handled_twice_and_answered_from_the_cache() {
    let mut p = server();
    let r = served(&mut p, b"dup", "5000");
    p.recv_all();
    let mut again = Publish::new("svc/calc", &b"1+1"[..]);
    again.properties.response_topic = Some("replies/other".into());
    again.properties.correlation_data = Some(Bytes::from_static(b"dup"));
    p.send(again.clone());
    assert!(p.take_events().is_empty(), "in progress: dropped");
    assert_eq!(p.client.rpc_stats().duplicates_in_progress, 1);
    p.client.respond(p.now, r.id, Response::ok(&b"2"[..])).unwrap();
    let Packet::Publish(first) = p.expect() else { panic!() };
    p.send(again);
    assert!(p.take_events().is_empty(), "answered from the cache");
    let Packet::Publish(cached) = p.expect() else { panic!() };
    assert_eq!(
        (cached.payload, cached.properties.correlation_data.clone()),
        (first.payload, first.properties.correlation_data.clone())
    );
    assert_eq!(p.client.rpc_stats().answered_from_cache, 1);
    assert_eq!(
        p.client.respond(p.now, r.id, Response::ok(&b"x"[..])).unwrap_err().kind,
        LocalErrorKind::UnknownRequest
    );
}

/// A request that arrives with no time left gets no answer and no event; one
/// whose deadline passes while it is handled gets no answer either.
#[test]
fn expired_requests_get_no_answer() {
    let mut p = server();
    let mut req = Publish::new("svc/calc", &b"late"[..]);
    req.properties.response_topic = Some("replies/other".into());
    req.properties.correlation_data = Some(Bytes::from_static(b"e"));
    req.properties.user_properties.push(("rpc-timeout-ms".into(), "0".into()));
    p.send(req);
    assert!(p.take_events().is_empty());
    let r = served(&mut p, b"slow", "100");
    p.recv_all();
    p.advance(150);
    p.client.respond(p.now, r.id, Response::ok(&b"too late"[..])).unwrap();
    p.expect_silence();
    assert_eq!(p.client.rpc_stats().expired_requests, 2);
}

/// The cache is bounded: when it is full of live entries, new requests are
/// answered 503 at once instead of risking a second execution.
#[test]
fn a_full_cache_answers_503() {
    let rpc = mqtt_engine::rpc::RpcOptions { max_cached: 1, ..Default::default() };
    let mut p = Pair::connected(Options { rpc, ..v5() }, Properties::default());
    p.client.serve(p.now, "svc/+", None).unwrap();
    p.recv_all();
    let _first = served(&mut p, b"a", "5000");
    p.recv_all();
    let mut req = Publish::new("svc/calc", &b"2"[..]);
    req.properties.response_topic = Some("replies/other".into());
    req.properties.correlation_data = Some(Bytes::from_static(b"b"));
    p.send(req);
    assert!(p.take_events().is_empty());
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(user(&a.properties, "rpc-status").as_deref(), Some("503"));
    assert_eq!(p.client.rpc_stats().busy, 1);
}

/// A full cache makes room from answers whose request can no longer be
/// delivered (its lifetime has passed), even if they would otherwise be kept
/// for `cache_ttl`: a busy responder keeps serving at any request rate, and
/// refuses (503) only while the cache is full of requests still live.
#[test]
fn a_full_cache_evicts_answers_whose_request_has_expired() {
    let rpc = mqtt_engine::rpc::RpcOptions { max_cached: 1, ..Default::default() };
    let mut p = Pair::connected(Options { rpc, ..v5() }, Properties::default());
    p.client.serve(p.now, "svc/+", None).unwrap();
    p.recv_all();
    let first = served(&mut p, b"a", "100");
    p.client.respond(p.now, first.id, Response::ok(&b"2"[..])).unwrap();
    p.recv_all();
    // Within the first request's lifetime its answer holds the only slot.
    let mut busy = Publish::new("svc/calc", &b"2"[..]);
    busy.properties.response_topic = Some("replies/other".into());
    busy.properties.correlation_data = Some(Bytes::from_static(b"b"));
    p.send(busy);
    let Packet::Publish(a) = p.expect() else { panic!() };
    assert_eq!(user(&a.properties, "rpc-status").as_deref(), Some("503"));
    // Past it (though well within the 60 s cache_ttl) the slot is reused.
    p.advance(150);
    let second = served(&mut p, b"c", "100");
    assert_eq!(&second.publish.payload[..], b"1+1");
    assert_eq!(p.client.rpc_stats().busy, 1);
}

/// A streamed answer: parts marked `rpc-stream: more`, then the last.
#[test]
fn respond_in_a_stream() {
    let mut p = server();
    let r = served(&mut p, b"s", "5000");
    p.recv_all();
    for (part, more) in [(&b"1"[..], true), (&b"2"[..], false)] {
        p.client.respond(p.now, r.id, Response { more, ..Response::ok(part) }).unwrap();
        let Packet::Publish(a) = p.expect() else { panic!() };
        assert_eq!(user(&a.properties, "rpc-stream").as_deref(), more.then_some("more"));
    }
}

/// Only a redelivery of the same request is a duplicate: a request without
/// Correlation Data is never taken for one, and a different request that
/// reuses a Response Topic and Correlation Data is handled as new.
#[test]
fn only_the_same_request_is_a_duplicate() {
    let mut p = server();
    let request = |payload: &'static [u8], correlation: Option<&'static [u8]>| {
        let mut m = Publish::new("svc/calc", payload);
        m.properties.response_topic = Some("rr/resp".into());
        m.properties.correlation_data = correlation.map(Bytes::from_static);
        m
    };
    for correlation in [None, Some(&b"fixed"[..])] {
        for payload in [&b"1+1"[..], &b"2+2"[..]] {
            p.send(request(payload, correlation));
            let events = p.take_events();
            let Some(Event::Request(r)) = events.last() else {
                panic!(
                    "{payload:?} with {correlation:?} not delivered: {events:?}, {:?}",
                    p.client.rpc_stats()
                )
            };
            assert_eq!(&r.publish.payload[..], payload);
            p.client.respond(p.now, r.id, Response::ok(payload)).unwrap();
            let Packet::Publish(a) = p.expect() else { panic!() };
            assert_eq!(&a.payload[..], payload, "the answer to this request, not a cached one");
        }
    }
    // The same request again is still a duplicate, answered from the cache.
    p.send(request(b"2+2", Some(b"fixed")));
    assert!(p.take_events().is_empty());
    assert_eq!(p.client.rpc_stats().answered_from_cache, 1);
}
