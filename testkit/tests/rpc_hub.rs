//! Requesters and responders talking to each other through an in-memory
//! broker on simulated time: the whole request/response path, deterministic.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use mqtt_engine::client::{Event, Options};
use mqtt_engine::codec::Protocol;
use mqtt_engine::rpc::{Collect, End, Request, RequestDone, RequestId, Response, RpcOptions};
use mqtt_engine_testkit::hub::Hub;
use std::collections::BTreeMap;
use std::time::Duration;

fn opts(id: &str) -> Options {
    Options {
        client_id: id.to_string().into(),
        rpc: RpcOptions { seed: id.len() as u64, ..RpcOptions::default() },
        ..Options::default()
    }
}

/// Adds a responder serving `svc/+` (in `group` if given); returns its index.
fn responder(hub: &mut Hub, id: &str, group: Option<&str>) -> usize {
    let r = hub.add(opts(id));
    let now = hub.now;
    hub.client(r).serve(now, "svc/+", group).unwrap();
    assert!(matches!(hub.events(r).as_slice(), [Event::Subscribed(_)]));
    r
}

/// Answers every pending request of responder `r` with `f(payload)`;
/// returns how many it answered.
fn answer_all(hub: &mut Hub, r: usize, f: impl Fn(&[u8]) -> Vec<u8>) -> usize {
    let mut n = 0;
    for e in hub.events(r) {
        if let Event::Request(req) = e {
            let now = hub.now;
            let body = f(&req.publish.payload);
            hub.client(r).respond(now, req.id, Response::ok(body)).unwrap();
            n += 1;
        }
    }
    hub.drive();
    n
}

/// Answers by request.
type Answers = BTreeMap<RequestId, Vec<Vec<u8>>>;

/// How client `i`'s requests ended, and their answers.
fn ends(hub: &mut Hub, i: usize) -> (BTreeMap<RequestId, RequestDone>, Answers) {
    let mut done = BTreeMap::new();
    let mut answers = Answers::new();
    for e in hub.events(i) {
        match e {
            Event::Response(r) => {
                answers.entry(r.request).or_default().push(r.publish.payload.to_vec())
            }
            Event::RequestDone(d) => {
                assert!(done.insert(d.request, d).is_none(), "ended twice");
            }
            _ => {}
        }
    }
    (done, answers)
}

/// A client calls a service it serves itself and gets its own answer: the
/// response subscription is made without No Local [MQTT-3.8.3-3].
#[test]
fn a_client_calls_a_service_it_serves() {
    let mut hub = Hub::new();
    let c = responder(&mut hub, "self", None);
    let now = hub.now;
    let id =
        hub.client(c).request(now, Request::new("svc/echo", "hi", Duration::from_secs(5))).unwrap();
    hub.drive();
    assert_eq!(answer_all(&mut hub, c, |p| p.to_vec()), 1);
    let (done, answers) = ends(&mut hub, c);
    assert_eq!(done[&id].end, End::Completed);
    assert_eq!(answers[&id], vec![b"hi".to_vec()]);
}

/// After `unserve` the responder has unsubscribed: a request finds no
/// responder (PUBACK 0x10); unserving a filter not served is refused with 0x11.
#[test]
fn unserve_unsubscribes_the_service() {
    let mut hub = Hub::new();
    let r = responder(&mut hub, "calc", Some("g"));
    let q = hub.add(opts("caller"));
    let now = hub.now;
    let refused = hub.client(r).unserve(now, "svc/+", None).unwrap_err();
    assert_eq!(u8::from(refused.reason_code), 0x11, "served in group g, not alone");
    let pid = hub.client(r).unserve(now, "svc/+", Some("g")).unwrap();
    hub.drive();
    assert!(matches!(hub.events(r).as_slice(), [Event::Unsubscribed(a)] if a.packet_id == pid));
    let again = hub.client(r).unserve(now, "svc/+", Some("g")).unwrap_err();
    assert_eq!(u8::from(again.reason_code), 0x11);
    let id =
        hub.client(q).request(now, Request::new("svc/calc", "1", Duration::from_secs(5))).unwrap();
    hub.drive();
    let (done, _) = ends(&mut hub, q);
    assert_eq!(done[&id].end, End::NoResponders);
}

/// A requester and two responders in a shared group: 100 requests, each
/// answered once with its own answer, the group splitting them evenly.
#[test]
fn requests_through_a_broker_to_a_shared_group() {
    let mut hub = Hub::new();
    let a = responder(&mut hub, "calc-a", Some("calc"));
    let b = responder(&mut hub, "calc-b", Some("calc"));
    let q = hub.add(opts("caller"));
    let ids: Vec<RequestId> = (0..100)
        .map(|i| {
            let now = hub.now;
            hub.client(q)
                .request(now, Request::new("svc/calc", format!("{i}"), Duration::from_secs(5)))
                .unwrap()
        })
        .collect();
    hub.drive();
    let double = |p: &[u8]| {
        let n: u32 = std::str::from_utf8(p).unwrap().parse().unwrap();
        (n * 2).to_string().into_bytes()
    };
    let (na, nb) = (answer_all(&mut hub, a, double), answer_all(&mut hub, b, double));
    assert_eq!((na, nb), (50, 50), "round-robin in the group");
    let (done, answers) = ends(&mut hub, q);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(done[id].end, End::Completed);
        assert_eq!(answers[id], vec![(i * 2).to_string().into_bytes()]);
    }
}

/// A responder that receives but never answers: the request ends with
/// Timeout exactly at its deadline, and the answer given after that is
/// dropped as late.
#[test]
fn an_unanswered_request_times_out_at_its_deadline_and_the_late_answer_is_dropped() {
    let mut hub = Hub::new();
    let r = responder(&mut hub, "slow", None);
    let q = hub.add(opts("caller"));
    let start = hub.now;
    let now = hub.now;
    let id = hub
        .client(q)
        .request(now, Request::new("svc/slow", "x", Duration::from_millis(1500)))
        .unwrap();
    hub.drive();
    let pending: Vec<_> = hub.events(r);
    let Some(Event::Request(req)) = pending.into_iter().next() else { panic!("no request") };
    assert_eq!(req.deadline, Some(start + 1500), "the responder knows the deadline");
    while hub.jump_to_timeout().is_some_and(|t| t < start + 1500) {}
    let (done, _) = ends(&mut hub, q);
    assert_eq!(done[&id].end, End::Timeout);
    assert_eq!(hub.now, start + 1500);
    // Past its deadline the responder sends nothing; the requester hears nothing.
    let now = hub.now;
    hub.client(r).respond(now, req.id, Response::ok("late")).unwrap();
    hub.drive();
    assert!(ends(&mut hub, q).0.is_empty());
    assert_eq!(hub.client(r).rpc_stats().expired_requests, 1);
}

/// Nobody serves the topic: the broker's PUBACK 0x10 ends the request at once.
#[test]
fn a_missing_service_fails_at_once() {
    let mut hub = Hub::new();
    let q = hub.add(opts("caller"));
    let now = hub.now;
    let id =
        hub.client(q).request(now, Request::new("svc/none", "x", Duration::from_secs(30))).unwrap();
    hub.drive();
    let (done, _) = ends(&mut hub, q);
    assert_eq!(done[&id].end, End::NoResponders);
    // It ended without waiting: the 30 s deadline is gone from the timers,
    // only the keep-alive is left.
    assert_eq!(hub.client(q).poll_timeout(), Some(now + 60_000));
}

/// A broadcast query: three responders each answer, the request collects the
/// three answers and ends 200 ms after the last.
#[test]
fn a_broadcast_query_collects_all_answers_then_a_quiet_gap() {
    let mut hub = Hub::new();
    let rs: Vec<usize> =
        ["r1", "r2", "r3"].into_iter().map(|id| responder(&mut hub, id, None)).collect();
    let q = hub.add(opts("caller"));
    let now = hub.now;
    let mut req = Request::new("svc/who", "?", Duration::from_secs(5));
    req.collect = Collect::Many { max: None, quiet: Some(Duration::from_millis(200)) };
    let id = hub.client(q).request(now, req).unwrap();
    hub.drive();
    for &r in &rs {
        assert_eq!(answer_all(&mut hub, r, |_| b"here".to_vec()), 1);
    }
    let answered_at = hub.now;
    assert!(ends(&mut hub, q).0.is_empty(), "still collecting");
    hub.jump_to_timeout();
    assert_eq!(hub.now, answered_at + 200);
    let (done, _) = ends(&mut hub, q);
    assert_eq!((done[&id].end, done[&id].responses), (End::Completed, 3));
}

/// JSON-RPC between two MQTT 3.1.1 clients: a gateway calls a device.
#[test]
fn json_rpc_between_311_clients() {
    let mut hub = Hub::new();
    let v311 = |id: &str| Options { protocol: Protocol::V311, ..opts(id) };
    let d = hub.add(v311("device-9"));
    let now = hub.now;
    hub.client(d).serve_device(now, "d9").unwrap();
    hub.events(d);
    let g = hub.add(v311("gateway"));
    let now = hub.now;
    let id =
        hub.client(g).call_device(now, "d9", "add", Some("[2,3]"), Duration::from_secs(5)).unwrap();
    hub.drive();
    let n = answer_all(&mut hub, d, |payload| {
        let call = mqtt_engine::rpc::jsonrpc::parse_request(payload).unwrap();
        let args: Vec<i64> = serde_json::from_str(call.params.as_deref().unwrap()).unwrap();
        args.iter().sum::<i64>().to_string().into_bytes()
    });
    assert_eq!(n, 1);
    let (done, answers) = ends(&mut hub, g);
    assert_eq!(done[&id].end, End::Completed);
    let v: serde_json::Value = serde_json::from_slice(&answers[&id][0]).unwrap();
    assert_eq!(v["result"], 5);
}
