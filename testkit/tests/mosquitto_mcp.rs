//! MCP over MQTT through a real mosquitto: an MCP server on its own thread
//! and connection, discovered, initialized and called by an MCP client.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

mod common;

use common::{ms, secs, Deadline};
use mqtt_engine::client::{Event, Options};
use mqtt_engine::codec::{Publish, QoS};
use mqtt_engine::rpc::mcp::{
    CallOutcome, CloseReason, McpClient, McpClientEvent, McpClientOptions, McpServer,
    McpServerEvent, McpServerOptions, RpcError, METHOD_NOT_FOUND,
};
use mqtt_engine_testkit::mosquitto::Mosquitto;
use mqtt_engine_testkit::net::Driver;
use serde_json::{json, Value};
use std::sync::mpsc;
use std::thread;

const NAME: &str = "demo/calculator";

/// The answer of the calculator server to one request.
fn answer(method: &str, params: &Value) -> Result<Value, RpcError> {
    match method {
        "tools/list" => Ok(json!({"tools": [{"name": "add", "inputSchema": {"type": "object"}}]})),
        "tools/call" if params["name"] == "add" => {
            let a = params["arguments"]["a"].as_i64().unwrap_or(0);
            let b = params["arguments"]["b"].as_i64().unwrap_or(0);
            Ok(json!({"content": [{"type": "text", "text": (a + b).to_string()}]}))
        }
        _ => Err(RpcError::new(METHOD_NOT_FOUND, "no such method")),
    }
}

/// Runs an MCP server until `stop` says so, then shuts it down. Reports
/// when it is online.
fn calculator(
    port: u16,
    online: mpsc::Sender<()>,
    stop: mpsc::Receiver<()>,
) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut s = McpServer::new(McpServerOptions::new("calc-1", NAME, "Adds numbers")).unwrap();
        let mut d = Driver::new(port, s.options(Options::default()));
        let connected = d.connect();
        let now = d.now();
        // The Connected event was taken by the driver; hand it over too.
        s.handle_event(d.client_mut(), now, Event::Connected(connected));
        d.cmd(|c, now| s.start(c, now)).unwrap();
        let mut served = 0;
        let mut shutting_down = false;
        loop {
            if !shutting_down && stop.try_recv().is_ok() {
                d.cmd(|c, now| s.shutdown(c, now)).unwrap();
                shutting_down = true;
            }
            let Some(e) = d.try_run_until(ms(50), |e| Some(e.clone())) else {
                if shutting_down && !d.has_stream() {
                    return served;
                }
                continue;
            };
            if let Some(Event::Disconnected(_)) = d.cmd(|c, now| s.handle_event(c, now, e)) {
                return served;
            }
            while let Some(m) = s.poll_event() {
                match m {
                    McpServerEvent::Online => online.send(()).unwrap(),
                    McpServerEvent::Initialize { client, id, .. } => {
                        let result = json!({"protocolVersion": "2025-06-18",
                            "capabilities": {"tools": {}}, "serverInfo": {"name": "calc", "version": "1"}});
                        d.cmd(|c, now| s.respond(c, now, &client, id, Ok(result))).unwrap();
                    }
                    McpServerEvent::Request { client, id, method, params } => {
                        let out = answer(&method, &params);
                        d.cmd(|c, now| s.respond(c, now, &client, id, out)).unwrap();
                        served += 1;
                    }
                    _ => {}
                }
            }
        }
    })
}

/// Runs the MCP client until `f` picks an MCP event; panics after 10 s.
fn run_until<T>(
    d: &mut Driver,
    c: &mut McpClient,
    mut f: impl FnMut(&McpClientEvent) -> Option<T>,
) -> T {
    let give_up = std::time::Instant::now() + secs(10);
    let mut seen = Vec::new();
    loop {
        while let Some(m) = c.poll_event() {
            if let Some(v) = f(&m) {
                return v;
            }
            seen.push(m);
        }
        assert!(std::time::Instant::now() < give_up, "no matching MCP event; saw {seen:#?}");
        if let Some(e) = d.try_run_until(ms(50), |e| Some(e.clone())) {
            d.cmd(|cl, now| c.handle_event(cl, now, e));
        }
        d.cmd(|cl, now| c.handle_timeout(cl, now));
    }
}

/// A server comes online and is discovered from its retained presence; the
/// client initializes it, lists and calls a tool; the server shuts down and
/// the client sees it offline, its session closed.
#[test]
fn mcp_server_is_discovered_initialized_called_and_seen_offline_after_shutdown() {
    let _deadline = Deadline::new("mcp_end_to_end", secs(60));
    let broker = Mosquitto::start("");
    let (online_tx, online_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel();
    let server = calculator(broker.port(), online_tx, stop_rx);
    online_rx.recv_timeout(secs(10)).expect("the MCP server did not come online");

    let mut c = McpClient::new(McpClientOptions::new("mcp-client-e2e")).unwrap();
    let mut d = Driver::new(broker.port(), c.options(Options::default()));
    let connected = d.connect();
    d.cmd(|cl, now| c.handle_event(cl, now, Event::Connected(connected)));
    d.cmd(|cl, now| c.start(cl, now)).unwrap();
    let found = run_until(&mut d, &mut c, |m| match m {
        McpClientEvent::ServerOnline(s) => Some(s.clone()),
        _ => None,
    });
    assert_eq!((found.server_id.as_str(), found.server_name.as_str()), ("calc-1", NAME));
    assert_eq!(found.description, "Adds numbers");

    let session = d.cmd(|cl, now| c.initialize(cl, now, NAME)).unwrap();
    let result = run_until(&mut d, &mut c, |m| match m {
        McpClientEvent::Initialized { result, .. } => Some(result.clone()),
        McpClientEvent::SessionClosed { reason, .. } => panic!("initialize failed: {reason:?}"),
        _ => None,
    });
    assert_eq!(result["serverInfo"]["name"], "calc");

    let list = d.cmd(|cl, now| c.call(cl, now, session, "tools/list", json!({}), None)).unwrap();
    let args = json!({"name": "add", "arguments": {"a": 40, "b": 2}});
    let add = d.cmd(|cl, now| c.call(cl, now, session, "tools/call", args, None)).unwrap();
    let bad = d.cmd(|cl, now| c.call(cl, now, session, "nope", Value::Null, None)).unwrap();
    let mut outcomes = std::collections::BTreeMap::new();
    while outcomes.len() < 3 {
        let (call, outcome) = run_until(&mut d, &mut c, |m| match m {
            McpClientEvent::CallDone { call, outcome, .. } => Some((*call, outcome.clone())),
            _ => None,
        });
        outcomes.insert(call, outcome);
    }
    let CallOutcome::Result(tools) = &outcomes[&list] else { panic!("{outcomes:?}") };
    assert_eq!(tools["tools"][0]["name"], "add");
    let CallOutcome::Result(sum) = &outcomes[&add] else { panic!("{outcomes:?}") };
    assert_eq!(sum["content"][0]["text"], "42");
    let CallOutcome::Error(e) = &outcomes[&bad] else { panic!("{outcomes:?}") };
    assert_eq!(e.code, METHOD_NOT_FOUND);

    stop_tx.send(()).unwrap();
    let (closed, offline) = run_until(&mut d, &mut c, |m| match m {
        McpClientEvent::SessionClosed { session: s, reason, .. } => Some((*s, reason.clone())),
        _ => None,
    });
    assert_eq!((closed, offline), (session, CloseReason::ServerOffline));
    run_until(&mut d, &mut c, |m| {
        matches!(m, McpClientEvent::ServerOffline { server_id, .. } if server_id == "calc-1")
            .then_some(())
    });
    assert_eq!(c.instances(NAME).count(), 0);
    assert_eq!(server.join().unwrap(), 3);

    // The retained presence is gone: a newcomer discovers nothing.
    let mut c2 = McpClient::new(McpClientOptions::new("mcp-client-late")).unwrap();
    let mut d2 = Driver::new(broker.port(), c2.options(Options::default()));
    let connected = d2.connect();
    d2.cmd(|cl, now| c2.handle_event(cl, now, Event::Connected(connected)));
    d2.cmd(|cl, now| c2.start(cl, now)).unwrap();
    // A marker published after the presence subscription arrives after any
    // retained presence the broker had for it.
    d2.subscribe("mcp-test/marker", QoS::AtMostOnce);
    d2.publish(Publish::new("mcp-test/marker", &b"m"[..]));
    let first = d2.next_message(secs(5));
    assert_eq!(first.topic, "mcp-test/marker", "a presence came: {first:?}");
    for e in d2.take_events() {
        d2.cmd(|cl, now| c2.handle_event(cl, now, e));
    }
    assert_eq!(c2.instances(NAME).count(), 0);
    assert_eq!(c2.poll_event(), None);

    d.cmd(|cl, now| c.shutdown(cl, now)).unwrap();
}
