//! `mqtt-engine demo`: the request/response pattern end to end against a
//! broker, with a readable summary. `make demo` starts a mosquitto for it.
//!
//! The scenario, each client on its own connection and thread:
//! 1. a calculator service with two instances sharing the load through a
//!    `$share` group;
//! 2. a requester making 1000 concurrent calls over one connection, with
//!    latency percentiles;
//! 3. a broadcast "who is available" query collecting every answer;
//! 4. a duplicate request (same Correlation Data) answered from the
//!    responder's cache, the handler running once;
//! 5. a call to a service nobody offers, failing fast on the broker's PUBACK
//!    0x10 instead of waiting for its timeout;
//! 6. an MCP server discovered and initialized by an MCP client (MCP over
//!    MQTT), its tool called, then seen going offline.

use crate::net::{Endpoint, Session};
use mqtt_engine::client::{Event, Options};
use mqtt_engine::rpc::{Collect, End, Request, RequestId, Response, RpcOptions};
use mqtt_engine::Bytes;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant as StdInstant};

/// Calls made concurrently in step 2.
const CALLS: usize = 1000;

fn options(id: &str) -> Options {
    Options {
        client_id: id.to_string().into(),
        keep_alive: 30,
        rpc: RpcOptions {
            seed: crate::rpc::os_seed(),
            max_pending: CALLS + 16,
            ..Default::default()
        },
        ..Options::default()
    }
}

/// A calculator instance: serves `demo/calc` in the group, `demo/who` to all,
/// and `demo/{name}/calc` alone; counts the expressions it evaluated.
fn instance(
    endpoint: Endpoint,
    name: &'static str,
    stop: Arc<AtomicBool>,
    evaluated: Arc<AtomicUsize>,
    ready: mpsc::Sender<Result<(), String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let run = || -> Result<(), String> {
            let (mut s, _) = Session::open(&endpoint, options(name), false)?;
            let now = s.now();
            let c = s.client();
            for (filter, group) in [("demo/calc", Some("calc")), ("demo/who", None)] {
                c.serve(now, filter, group).map_err(|e| e.to_string())?;
            }
            c.serve(now, &format!("demo/{name}/calc"), None).map_err(|e| e.to_string())?;
            let mut acked = 0;
            while acked < 3 {
                if let Some(Event::Subscribed(_)) = s.next(None)? {
                    acked += 1;
                }
            }
            let _ = ready.send(Ok(()));
            while !stop.load(Ordering::Relaxed) {
                let Some(Event::Request(r)) = s.next(None)? else { continue };
                let answer = if r.publish.topic == "demo/who" {
                    Response::ok(name)
                } else {
                    evaluated.fetch_add(1, Ordering::Relaxed);
                    let text = String::from_utf8_lossy(&r.publish.payload).into_owned();
                    match crate::calc::evaluate(&text) {
                        Ok(v) => Response::ok(crate::calc::format(v)),
                        Err(e) => Response::error(400, e.0),
                    }
                };
                let now = s.now();
                s.client().respond(now, r.id, answer).map_err(|e| e.to_string())?;
            }
            s.disconnect()
        };
        if let Err(e) = run() {
            let _ = ready.send(Err(format!("{name}: {e}")));
        }
    })
}

/// Each request's answers and how it ended.
type Outcomes = BTreeMap<RequestId, (Vec<Bytes>, End)>;

/// Runs the requester until `ids` have all ended; returns each request's
/// answers and end, and each answer's latency from `sent`.
fn wait_all(
    s: &mut Session,
    ids: &[RequestId],
    sent: &BTreeMap<RequestId, StdInstant>,
) -> Result<(Outcomes, Vec<Duration>), String> {
    let mut out = Outcomes::new();
    let mut latencies = Vec::new();
    let mut ended = 0;
    let until = StdInstant::now() + Duration::from_secs(30);
    while ended < ids.len() {
        if StdInstant::now() > until {
            return Err(format!("only {ended} of {} requests ended within 30 s", ids.len()));
        }
        match s.next(Some(until))? {
            Some(Event::Response(r)) => {
                if let Some(t) = sent.get(&r.request) {
                    latencies.push(t.elapsed());
                }
                out.entry(r.request)
                    .or_insert((Vec::new(), End::Completed))
                    .0
                    .push(r.publish.payload);
            }
            Some(Event::RequestDone(d)) => {
                out.entry(d.request).or_insert((Vec::new(), d.end)).1 = d.end;
                ended += 1;
            }
            _ => {}
        }
    }
    Ok((out, latencies))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the scenario against `endpoint` and prints the summary.
pub fn run(endpoint: Endpoint) -> ExitCode {
    match scenario(endpoint) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-engine demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn scenario(endpoint: Endpoint) -> Result<(), String> {
    println!("mqtt-engine request/response demo against {}\n", endpoint.display());
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let counts = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let names = ["calc-a", "calc-b"];
    let workers: Vec<_> = names
        .iter()
        .zip(&counts)
        .map(|(name, n)| {
            instance(endpoint.clone(), name, stop.clone(), n.clone(), ready_tx.clone())
        })
        .collect();
    for _ in &workers {
        ready_rx.recv_timeout(Duration::from_secs(20)).map_err(|_| "a service did not start")??;
    }
    let result = requester(&endpoint, &counts);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    result
}

fn requester(endpoint: &Endpoint, counts: &[Arc<AtomicUsize>; 2]) -> Result<(), String> {
    let (mut s, _) = Session::open(endpoint, options("demo-caller"), false)?;

    // 1 and 2: 1000 concurrent calls, shared by the two instances.
    println!("1. A calculator service, two instances sharing the load ($share/calc/demo/calc)");
    println!("2. {CALLS} concurrent calls over one connection");
    let start = StdInstant::now();
    let mut sent = BTreeMap::new();
    let mut ids = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let now = s.now();
        let req = Request::new("demo/calc", format!("{i}*2+1"), Duration::from_secs(20));
        let id = s.client().request(now, req).map_err(|e| e.to_string())?;
        sent.insert(id, StdInstant::now());
        ids.push(id);
    }
    s.flush()?;
    let (answers, mut latencies) = wait_all(&mut s, &ids, &sent)?;
    let elapsed = start.elapsed();
    let mut right = 0;
    for (i, id) in ids.iter().enumerate() {
        if let Some((payloads, End::Completed)) = answers.get(id) {
            if payloads.first().map(|p| &p[..]) == Some(format!("{}", i * 2 + 1).as_bytes()) {
                right += 1;
            }
        }
    }
    latencies.sort_unstable();
    let (a, b) = (counts[0].load(Ordering::Relaxed), counts[1].load(Ordering::Relaxed));
    println!(
        "   {right}/{CALLS} answered correctly in {} ({:.0} calls/s)",
        ms(elapsed),
        CALLS as f64 / elapsed.as_secs_f64()
    );
    println!("   shared by the instances: calc-a {a}, calc-b {b}");
    println!(
        "   latency from request to answer: p50 {}, p99 {}, max {}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0))
    );
    if right != CALLS {
        return Err(format!("{} calls were not answered correctly", CALLS - right));
    }

    // 3: a broadcast query.
    println!("\n3. A broadcast \"who is available\" query (every instance answers)");
    let now = s.now();
    let mut who = Request::new("demo/who", "?", Duration::from_secs(5));
    who.collect = Collect::Many { max: None, quiet: Some(Duration::from_millis(300)) };
    let id = s.client().request(now, who).map_err(|e| e.to_string())?;
    let (answers, _) = wait_all(&mut s, &[id], &BTreeMap::new())?;
    let mut names: Vec<String> =
        answers[&id].0.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    names.sort();
    println!("   {} answers: {}", names.len(), names.join(", "));

    // 4: the same request twice.
    println!("\n4. A duplicate request (same Correlation Data) is answered from the cache");
    let before = counts[0].load(Ordering::Relaxed);
    let mut payloads = Vec::new();
    for _ in 0..2 {
        let now = s.now();
        let mut req = Request::new("demo/calc-a/calc", "6*7", Duration::from_secs(5));
        req.correlation_data = Some(Bytes::from_static(b"demo-duplicate"));
        let id = s.client().request(now, req).map_err(|e| e.to_string())?;
        let (answers, _) = wait_all(&mut s, &[id], &BTreeMap::new())?;
        payloads.push(answers[&id].0.first().cloned().unwrap_or_default());
    }
    let ran = counts[0].load(Ordering::Relaxed) - before;
    println!(
        "   two requests, two answers ({} and {}), the handler ran {ran} time(s)",
        String::from_utf8_lossy(&payloads[0]),
        String::from_utf8_lossy(&payloads[1])
    );

    // 5: nobody serves it.
    println!("\n5. A call to a service nobody offers (timeout 10 s)");
    let t = StdInstant::now();
    let now = s.now();
    let id = s
        .client()
        .request(now, Request::new("demo/nobody", "?", Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let (answers, _) = wait_all(&mut s, &[id], &BTreeMap::new())?;
    println!(
        "   failed after {} with {} (the broker's PUBACK 0x10), not at its timeout",
        ms(t.elapsed()),
        crate::rpc::end_name(answers[&id].1)
    );
    s.disconnect()?;
    crate::mcp::demo(endpoint)
}
