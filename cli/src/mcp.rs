//! MCP over MQTT from the command line: `mqtt-engine discover` lists the MCP
//! servers that announce their presence, and the demo's MCP step. Both run
//! the engine's MCP layers (`mqtt_engine::rpc::mcp`) on a [`Session`].

use crate::args::ConnArgs;
use crate::net::{Endpoint, Session};
use clap::Args;
use mqtt_engine::client::{Event, Options};
use mqtt_engine::rpc::mcp::{
    CallOutcome, CloseReason, McpClient, McpClientEvent, McpClientOptions, McpServer,
    McpServerEvent, McpServerOptions, RpcError, METHOD_NOT_FOUND,
};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant as StdInstant};

/// `mqtt-engine discover`: list MCP servers and their instances.
#[derive(Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Server-name filter of the servers to list (MQTT wildcards allowed).
    #[arg(long, value_name = "FILTER", default_value = "#")]
    filter: String,
    /// How long to listen for presence, in milliseconds (retained presence
    /// arrives at once; this also catches servers coming online meanwhile).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    wait: u64,
    /// One JSON object per instance: {"server_name", "server_id", "description", "meta"}.
    #[arg(long)]
    json: bool,
    /// Print this help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Feeds the session's next event (or timer) to an MCP client and returns
/// its next MCP event, if any came before `until`.
fn pump_client(
    s: &mut Session,
    c: &mut McpClient,
    until: StdInstant,
) -> Result<Option<McpClientEvent>, String> {
    loop {
        if let Some(e) = c.poll_event() {
            return Ok(Some(e));
        }
        if StdInstant::now() >= until {
            return Ok(None);
        }
        let event = s.next(Some(until))?;
        let now = s.now();
        if let Some(e) = event {
            c.handle_event(s.client(), now, e);
        }
        c.handle_timeout(s.client(), now);
        s.flush()?;
    }
}

/// Opens a session for an MCP client and starts discovery.
fn open_client(
    endpoint: &Endpoint,
    options: McpClientOptions,
    base: Options,
    debug: bool,
) -> Result<(Session, McpClient), String> {
    let mut c = McpClient::new(options).map_err(|e| format!("{e:?}"))?;
    let (mut s, connected) = Session::open(endpoint, c.options(base), debug)?;
    let now = s.now();
    c.handle_event(s.client(), now, Event::Connected(connected));
    c.start(s.client(), now).map_err(|e| format!("cannot start discovery: {e:?}"))?;
    s.flush()?;
    Ok((s, c))
}

/// Runs `discover`.
pub fn run_discover(args: DiscoverArgs) -> ExitCode {
    match discover(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-engine: {e}");
            ExitCode::FAILURE
        }
    }
}

fn discover(args: &DiscoverArgs) -> Result<(), String> {
    let conn = args.conn.connection("discover")?;
    let mut options = McpClientOptions::new(conn.options.client_id.to_string());
    options.server_name_filters = vec![args.filter.clone()];
    let (mut s, mut c) = open_client(&conn.endpoint, options, conn.options, conn.debug)?;
    let until = StdInstant::now() + Duration::from_millis(args.wait);
    while pump_client(&mut s, &mut c, until)?.is_some() {}
    let mut names: Vec<String> = c.server_names().map(str::to_string).collect();
    names.sort();
    if names.is_empty() && !args.json {
        println!("no MCP server announced its presence under {:?}", args.filter);
    }
    for name in &names {
        let instances: Vec<_> = c.instances(name).cloned().collect();
        if args.json {
            for i in &instances {
                let line = json!({"server_name": i.server_name, "server_id": i.server_id,
                    "description": i.description, "meta": i.meta});
                println!("{line}");
            }
        } else {
            let n = instances.len();
            println!("{name} ({n} instance{})", if n == 1 { "" } else { "s" });
            for i in &instances {
                println!("  {}  {}", i.server_id, i.description);
            }
        }
    }
    let now = s.now();
    let _ = c.shutdown(s.client(), now);
    s.flush()?;
    s.disconnect()
}

/// The demo's MCP server: a calculator with one tool, `add`.
fn demo_answer(method: &str, params: &Value) -> Result<Value, RpcError> {
    match method {
        "tools/list" => Ok(json!({"tools": [{"name": "add",
            "description": "Adds two numbers", "inputSchema": {"type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}]})),
        "tools/call" if params["name"] == "add" => {
            let sum = params["arguments"]["a"].as_f64().unwrap_or(0.0)
                + params["arguments"]["b"].as_f64().unwrap_or(0.0);
            Ok(json!({"content": [{"type": "text", "text": crate::calc::format(sum)}]}))
        }
        _ => Err(RpcError::new(METHOD_NOT_FOUND, "no such method")),
    }
}

/// Runs the demo's MCP server until `stop`, then shuts it down (clearing its
/// presence). Sends `Ok` once it is online.
fn demo_server(
    endpoint: Endpoint,
    online: mpsc::Sender<Result<(), String>>,
    stop: mpsc::Receiver<()>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let run = || -> Result<(), String> {
            let options = McpServerOptions::new("calc-mcp-1", "demo/calculator", "Adds numbers");
            let mut server = McpServer::new(options).map_err(|e| format!("{e:?}"))?;
            let (mut s, connected) =
                Session::open(&endpoint, server.options(Options::default()), false)?;
            let now = s.now();
            server.handle_event(s.client(), now, Event::Connected(connected));
            server.start(s.client(), now).map_err(|e| format!("{e:?}"))?;
            let mut stopping = false;
            loop {
                if !stopping && stop.try_recv().is_ok() {
                    let now = s.now();
                    server.shutdown(s.client(), now).map_err(|e| format!("{e:?}"))?;
                    s.flush()?;
                    stopping = true;
                }
                let event = match s.next(Some(StdInstant::now() + Duration::from_millis(50))) {
                    Ok(e) => e,
                    Err(_) if stopping => return Ok(()),
                    Err(e) => return Err(e),
                };
                let now = s.now();
                if let Some(e) = event {
                    if let Some(Event::Disconnected(_)) = server.handle_event(s.client(), now, e) {
                        return Ok(());
                    }
                }
                while let Some(m) = server.poll_event() {
                    match m {
                        McpServerEvent::Online => {
                            let _ = online.send(Ok(()));
                        }
                        McpServerEvent::Initialize { client, id, .. } => {
                            let result = json!({"protocolVersion": "2025-06-18",
                                "capabilities": {"tools": {}},
                                "serverInfo": {"name": "demo-calculator", "version": "1.0"}});
                            server
                                .respond(s.client(), now, &client, id, Ok(result))
                                .map_err(|e| format!("{e:?}"))?;
                        }
                        McpServerEvent::Request { client, id, method, params } => {
                            let out = demo_answer(&method, &params);
                            server
                                .respond(s.client(), now, &client, id, out)
                                .map_err(|e| format!("{e:?}"))?;
                        }
                        _ => {}
                    }
                }
                s.flush()?;
            }
        };
        if let Err(e) = run() {
            let _ = online.send(Err(format!("MCP server: {e}")));
        }
    })
}

/// The demo's MCP step: a server comes online, a client discovers it from
/// its retained presence, initializes it, lists and calls its tool; the
/// server shuts down and the client sees it go offline.
pub fn demo(endpoint: &Endpoint) -> Result<(), String> {
    println!("\n6. MCP over MQTT: a server discovered and initialized by a client");
    let (online_tx, online_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel();
    let server = demo_server(endpoint.clone(), online_tx, stop_rx);
    online_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the MCP server did not come online")??;

    let options = McpClientOptions::new(format!("demo-mcp-client-{}", std::process::id()));
    let (mut s, mut c) = open_client(endpoint, options, Options::default(), false)?;
    let give_up = StdInstant::now() + Duration::from_secs(10);
    let next = |s: &mut Session, c: &mut McpClient| -> Result<McpClientEvent, String> {
        pump_client(s, c, give_up)?
            .ok_or_else(|| "the MCP exchange did not finish in 10 s".to_string())
    };
    let found = loop {
        if let McpClientEvent::ServerOnline(i) = next(&mut s, &mut c)? {
            break i;
        }
    };
    println!(
        "   discovered {} (instance {}): {}",
        found.server_name, found.server_id, found.description
    );
    let now = s.now();
    let session =
        c.initialize(s.client(), now, &found.server_name).map_err(|e| format!("{e:?}"))?;
    s.flush()?;
    let info = loop {
        match next(&mut s, &mut c)? {
            McpClientEvent::Initialized { result, .. } => break result,
            McpClientEvent::SessionClosed { reason, .. } => {
                return Err(format!("initialize failed: {reason:?}"))
            }
            _ => {}
        }
    };
    let field = |k: &str| info["serverInfo"][k].as_str().unwrap_or("?").to_string();
    println!("   initialized: server {} {}", field("name"), field("version"));
    let call = |s: &mut Session,
                c: &mut McpClient,
                method: &str,
                params: Value|
     -> Result<Value, String> {
        let now = s.now();
        let id =
            c.call(s.client(), now, session, method, params, None).map_err(|e| format!("{e:?}"))?;
        s.flush()?;
        loop {
            if let McpClientEvent::CallDone { call, outcome, .. } = next(s, c)? {
                if call == id {
                    return match outcome {
                        CallOutcome::Result(v) => Ok(v),
                        other => Err(format!("{method} failed: {other:?}")),
                    };
                }
            }
        }
    };
    let tools = call(&mut s, &mut c, "tools/list", json!({}))?;
    println!("   tools/list: {}", tools["tools"].as_array().map_or(0, Vec::len));
    let sum =
        call(&mut s, &mut c, "tools/call", json!({"name": "add", "arguments": {"a": 40, "b": 2}}))?;
    println!("   tools/call add(40, 2) = {}", sum["content"][0]["text"].as_str().unwrap_or("?"));
    let _ = stop_tx.send(());
    loop {
        if let McpClientEvent::SessionClosed { reason, .. } = next(&mut s, &mut c)? {
            let why = if reason == CloseReason::ServerOffline {
                "the server went offline"
            } else {
                "closed"
            };
            println!("   server shut down: the client saw its presence cleared ({why})");
            break;
        }
    }
    let _ = server.join();
    let now = s.now();
    let _ = c.shutdown(s.client(), now);
    s.flush()?;
    s.disconnect()
}
