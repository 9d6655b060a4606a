//! Request/response through a real mosquitto: our requester and our
//! responders, each a `Client` on its own connection and thread.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

mod common;

use common::{ms, secs, Deadline};
use mqtt_engine::client::{Event, Options};
use mqtt_engine::rpc::{Collect, End, Request, RequestDone, RequestId, Response, RpcOptions};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::mosquitto::Mosquitto;
use mqtt_engine_testkit::net::Driver;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

fn opts(id: &str, seed: u64) -> Options {
    Options {
        client_id: id.to_string().into(),
        rpc: RpcOptions { seed, ..RpcOptions::default() },
        ..Options::default()
    }
}

/// A responder on its own thread, answering each request with `answer`,
/// until `stop` is set. Returns how many requests it answered.
fn responder(
    port: u16,
    id: &'static str,
    group: Option<&'static str>,
    stop: Arc<AtomicBool>,
    answer: fn(&[u8]) -> Vec<u8>,
) -> thread::JoinHandle<usize> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let mut d = Driver::new(port, opts(id, 7));
        d.connect();
        d.cmd(|c, now| c.serve(now, "svc/+", group)).unwrap();
        d.run_until(secs(5), |e| matches!(e, Event::Subscribed(_)).then_some(()));
        ready_tx.send(()).unwrap();
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            let got = d.try_run_until(ms(50), |e| match e {
                Event::Request(r) => Some(r.clone()),
                _ => None,
            });
            if let Some(r) = got {
                let body = answer(&r.publish.payload);
                d.cmd(|c, now| c.respond(now, r.id, Response::ok(body))).unwrap();
                answered += 1;
            }
        }
        answered
    });
    ready_rx.recv_timeout(secs(10)).expect("responder did not get ready");
    handle
}

fn echo(p: &[u8]) -> Vec<u8> {
    p.to_vec()
}

/// Runs the requester until every id in `ids` is done; returns the ends and
/// the answers' payloads by request.
fn collect_all(
    d: &mut Driver,
    ids: &[RequestId],
) -> (BTreeMap<RequestId, RequestDone>, BTreeMap<RequestId, Vec<Bytes>>) {
    let mut ends = BTreeMap::new();
    let mut answers: BTreeMap<RequestId, Vec<Bytes>> = BTreeMap::new();
    while ends.len() < ids.len() {
        let e = d.run_until(secs(10), |e| match e {
            Event::Response(_) | Event::RequestDone(_) => Some(e.clone()),
            _ => None,
        });
        match e {
            Event::Response(r) => answers.entry(r.request).or_default().push(r.publish.payload),
            Event::RequestDone(x) => {
                assert!(ends.insert(x.request, x).is_none(), "{:?} ended twice", x.request);
            }
            _ => {}
        }
    }
    (ends, answers)
}

/// 200 concurrent requests over one connection, all answered with their own
/// payload: correlation through a real broker.
#[test]
fn concurrent_requests_are_each_answered_once() {
    let _deadline = Deadline::new("concurrent_requests_are_each_answered_once", secs(60));
    let broker = Mosquitto::start("");
    let stop = Arc::new(AtomicBool::new(false));
    let server = responder(broker.port(), "echo-1", None, stop.clone(), echo);
    let mut d = Driver::new(broker.port(), opts("caller-1", 99));
    d.connect();
    let ids: Vec<RequestId> = (0..200)
        .map(|i| {
            let req = Request::new("svc/echo", format!("n={i}"), secs(10));
            d.cmd(|c, now| c.request(now, req)).unwrap()
        })
        .collect();
    let (ends, answers) = collect_all(&mut d, &ids);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(ends[id].end, End::Completed);
        assert_eq!(answers[id], vec![Bytes::from(format!("n={i}"))]);
    }
    stop.store(true, Ordering::Relaxed);
    assert_eq!(server.join().unwrap(), 200);
    assert_eq!(d.client().rpc_stats().unknown_responses, 0);
}

/// A request nobody serves fails at once with No responders (mosquitto's
/// PUBACK 0x10), long before its 30 s deadline.
#[test]
fn a_missing_service_fails_fast() {
    let _deadline = Deadline::new("a_missing_service_fails_fast", secs(20));
    let broker = Mosquitto::start("");
    let mut d = Driver::new(broker.port(), opts("caller-2", 3));
    d.connect();
    let id = d.cmd(|c, now| c.request(now, Request::new("svc/nobody", "?", secs(30)))).unwrap();
    let done = d.run_until(secs(5), |e| match e {
        Event::RequestDone(x) => Some(*x),
        _ => None,
    });
    assert_eq!((done.request, done.end), (id, End::NoResponders));
}

/// Responders in one shared group split the requests between them.
#[test]
fn a_shared_group_splits_the_load() {
    let _deadline = Deadline::new("a_shared_group_splits_the_load", secs(60));
    let broker = Mosquitto::start("");
    let stop = Arc::new(AtomicBool::new(false));
    let a = responder(broker.port(), "calc-a", Some("calc"), stop.clone(), echo);
    let b = responder(broker.port(), "calc-b", Some("calc"), stop.clone(), echo);
    let mut d = Driver::new(broker.port(), opts("caller-3", 5));
    d.connect();
    let ids: Vec<RequestId> = (0..40)
        .map(|i| {
            d.cmd(|c, now| c.request(now, Request::new("svc/calc", format!("{i}"), secs(10))))
                .unwrap()
        })
        .collect();
    let (ends, _) = collect_all(&mut d, &ids);
    assert!(ends.values().all(|x| x.end == End::Completed));
    stop.store(true, Ordering::Relaxed);
    let (na, nb) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(na + nb, 40, "each request answered once");
    assert!(na > 0 && nb > 0, "both instances took requests: {na} and {nb}");
}

/// A broadcast query: every responder answers, the requester collects them
/// and ends after a quiet gap.
#[test]
fn a_broadcast_query_collects_every_answer() {
    let _deadline = Deadline::new("a_broadcast_query_collects_every_answer", secs(60));
    let broker = Mosquitto::start("");
    let stop = Arc::new(AtomicBool::new(false));
    let servers: Vec<_> = ["who-a", "who-b", "who-c"]
        .into_iter()
        .map(|id| responder(broker.port(), id, None, stop.clone(), |_| b"here".to_vec()))
        .collect();
    let mut d = Driver::new(broker.port(), opts("caller-4", 11));
    d.connect();
    let mut req = Request::new("svc/who", "?", secs(10));
    req.collect = Collect::Many { max: None, quiet: Some(ms(500)) };
    let id = d.cmd(|c, now| c.request(now, req)).unwrap();
    let (ends, answers) = collect_all(&mut d, &[id]);
    assert_eq!((ends[&id].end, ends[&id].responses), (End::Completed, 3));
    assert_eq!(answers[&id].len(), 3);
    stop.store(true, Ordering::Relaxed);
    for s in servers {
        assert_eq!(s.join().unwrap(), 1);
    }
}

/// JSON-RPC over per-device topics between two MQTT 3.1.1 clients through
/// mosquitto: the gateway calls, the device answers each call by its id.
#[test]
fn json_rpc_between_311_clients_through_mosquitto() {
    use mqtt_engine::codec::Protocol;
    let _deadline = Deadline::new("json_rpc_between_311_clients_through_mosquitto", secs(60));
    let broker = Mosquitto::start("");
    let v311 = |id: &str| Options { protocol: Protocol::V311, ..opts(id, 1) };
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let port = broker.port();
    let device = {
        let stop = stop.clone();
        let opts = v311("device-d7");
        thread::spawn(move || {
            let mut d = Driver::new(port, opts);
            d.connect();
            d.cmd(|c, now| c.serve_device(now, "d7")).unwrap();
            d.run_until(secs(5), |e| matches!(e, Event::Subscribed(_)).then_some(()));
            ready_tx.send(()).unwrap();
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Some(r) = d.try_run_until(ms(50), |e| match e {
                    Event::Request(r) => Some(r.clone()),
                    _ => None,
                }) {
                    let call =
                        mqtt_engine::rpc::jsonrpc::parse_request(&r.publish.payload).unwrap();
                    let answer =
                        format!("{{\"echo\":{}}}", call.params.unwrap_or_else(|| "null".into()));
                    d.cmd(|c, now| c.respond(now, r.id, Response::ok(answer))).unwrap();
                    answered += 1;
                }
            }
            answered
        })
    };
    ready_rx.recv_timeout(secs(10)).unwrap();
    let mut d = Driver::new(port, v311("gateway-1"));
    d.connect();
    let ids: Vec<RequestId> = (0..20)
        .map(|i| {
            let params = format!("[{i}]");
            d.cmd(|c, now| c.call_device(now, "d7", "echo", Some(&params), secs(10))).unwrap()
        })
        .collect();
    let (ends, answers) = collect_all(&mut d, &ids);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(ends[id].end, End::Completed);
        let v: serde_json::Value = serde_json::from_slice(&answers[id][0]).unwrap();
        assert_eq!(v["result"]["echo"][0], i);
    }
    stop.store(true, Ordering::Relaxed);
    assert_eq!(device.join().unwrap(), 20);
}
