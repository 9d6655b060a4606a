//! `mqtt-engine call` and `mqtt-engine serve` against a real mosquitto
//! broker, with each other and with peers nobody here wrote: mosquitto_rr,
//! and a requester and a responder written with paho-mqtt
//! (`cli/tests/peers/`, run with `<repo>/.venv/bin/python`, which
//! `make test` creates).
//!
//! Every child process runs under a hard deadline: a hang kills it and fails
//! the test. Readiness is read from the processes themselves (`serve` says
//! "serving" once its SUBACK has come, the paho responder says "ready"),
//! never guessed with a sleep.

// Tests fail loudly: an unwrap is an assertion.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Done, Input, Proc, BIN};
use mqtt_engine_testkit::mosquitto::Mosquitto;
use serde_json::{json, Value};

/// `mqtt-engine call -p PORT ARGS...` to the end.
fn call(port: u16, args: &[&str]) -> Done {
    call_with_stdin(port, args, None)
}

fn call_with_stdin(port: u16, args: &[&str], stdin: Option<&[u8]>) -> Done {
    let port = port.to_string();
    let mut all = vec!["call", "-p", &port];
    all.extend_from_slice(args);
    Proc::spawn(BIN, &all, stdin.map_or(Input::None, Input::Data)).finish()
}

/// `mqtt-engine serve -p PORT ARGS...`, once its subscription is acknowledged.
fn serve(port: u16, args: &[&str]) -> Proc {
    let port = port.to_string();
    let mut all = vec!["serve", "-p", &port];
    all.extend_from_slice(args);
    let mut p = Proc::ours(&all);
    p.wait_stderr("mqtt-engine: serving ");
    p
}

/// The interpreter of the virtual environment `make test` makes with paho-mqtt.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let py = root.join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `make test` (its pydeps step creates .venv with paho-mqtt 2.1.0), \
         or `make pydeps`",
        py.display()
    );
    py
}

/// A Python peer from `cli/tests/peers/`.
fn peer(script: &str, args: &[&str]) -> Proc {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(script);
    let path = path.to_str().unwrap().to_string();
    let mut all = vec![path.as_str()];
    all.extend_from_slice(args);
    Proc::spawn(python().to_str().unwrap(), &all, Input::None)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn call_and_serve_echo_plain_and_json_with_properties() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let server = serve(port, &["svc/echo", "--echo", "-C", "2", "--json"]);
    let got = call(port, &["svc/echo", "hello there"]);
    got.ok();
    assert_eq!(got.stdout, "hello there\n");

    // A binary payload from stdin, fixed Correlation Data, User Properties.
    let got = call_with_stdin(
        port,
        &[
            "svc/echo",
            "--stdin",
            "--json",
            "--correlation-data",
            "corr-1",
            "--user-property",
            "k",
            "v",
            "--content-type",
            "application/octet-stream",
        ],
        Some(b"\xff\x00\x01"),
    );
    got.ok();
    let lines = got.json();
    assert_eq!(lines.len(), 2, "{got:#?}");
    let a = &lines[0];
    assert_eq!(a["status"], 200);
    assert_eq!(a["message"], Value::Null);
    assert_eq!(a["payload_hex"], "ff0001");
    assert!(a.get("payload").is_none());
    assert_eq!(a["correlation_data_hex"], hex(b"corr-1"));
    assert_eq!(a["user_properties"], json!([["rpc-status", "200"]]));
    assert_eq!(lines[1], json!({"end": "completed", "responses": 1}));

    // The server's own account, one JSON object per request.
    let served = server.finish();
    served.ok();
    let log = served.json();
    assert_eq!(log.len(), 2, "{served:#?}");
    assert_eq!(log[0]["topic"], "svc/echo");
    assert_eq!(log[0]["payload"], "hello there");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["answered"], true);
    assert_eq!(log[0]["correlation_data_hex"].as_str().unwrap().len(), 32, "16 random bytes");
    assert_eq!(log[1]["payload_hex"], "ff0001");
    assert_eq!(log[1]["answer_hex"], "ff0001");
    assert_eq!(log[1]["correlation_data_hex"], hex(b"corr-1"));
}

#[test]
fn calculator_answers_and_an_error_status_is_a_one_line_failure() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let server = serve(port, &["svc/calc", "--calculator", "-C", "4"]);
    let got = call(port, &["svc/calc", "1+2*3"]);
    got.ok();
    assert_eq!(got.stdout, "7\n");
    let got = call(port, &["svc/calc", "-(1.5 + 2.5) / 8"]);
    got.ok();
    assert_eq!(got.stdout, "-0.5\n");

    let got = call(port, &["svc/calc", "1/0"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(got.stdout, "");
    assert_eq!(
        got.stderr,
        "mqtt-engine: the service answered status 400: division by zero at position 2"
    );

    let got = call(port, &["svc/calc", "2x3", "--json"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    let lines = got.json();
    assert_eq!(lines[0]["status"], 400);
    assert_eq!(lines[0]["message"], "unexpected 'x' at position 2");
    assert_eq!(lines[0]["payload"], "");
    assert_eq!(lines[1], json!({"end": "completed", "responses": 1}));

    let served = server.finish();
    served.ok();
    let log = served.lines();
    assert_eq!(log.len(), 4, "{served:#?}");
    assert!(log[0].starts_with(r#"svc/calc 200 "1+2*3" -> "7" ("#), "{log:?}");
    assert!(
        log[2].starts_with(r#"svc/calc 400 "1/0" -> division by zero at position 2 ("#),
        "{log:?}"
    );
}

#[test]
fn exec_answers_stdout_fails_with_stderr_and_stops_before_the_deadline() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let upper = serve(port, &["svc/upper", "--exec", "tr a-z A-Z", "-C", "1"]);
    let failing = serve(port, &["svc/fail", "--exec", "cat; echo oops >&2; exit 3", "-C", "1"]);
    let slow = serve(port, &["svc/slow", "--exec", "sleep 30", "-C", "1", "--json"]);

    let got = call(port, &["svc/upper", "shout"]);
    got.ok();
    assert_eq!(got.stdout, "SHOUT\n");

    // Exit status 3: 500 with stderr as the message, stdout as the payload.
    let got = call(port, &["svc/fail", "partial", "--json"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    let a = &got.json()[0];
    assert_eq!(a["status"], 500);
    assert_eq!(a["message"], "oops");
    assert_eq!(a["payload"], "partial");
    assert!(got.stderr.contains("status 500: oops"), "{got:#?}");

    // The command is stopped before the caller's deadline, which still
    // gets a 504 in time.
    let got = call(port, &["svc/slow", "--timeout", "1500"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert!(got.stderr.contains("status 504: the command did not finish within"), "{got:#?}");
    assert!(got.took < Duration::from_secs(5), "{got:#?}");

    upper.finish().ok();
    failing.finish().ok();
    let served = slow.finish();
    served.ok();
    let log = &served.json()[0];
    assert_eq!(log["status"], 504);
    assert!(log["ms"].as_u64().unwrap() < 1500, "{served:#?}");
}

#[test]
fn stream_parts_come_in_order_and_end_with_the_status() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let server = serve(
        port,
        &["svc/lines", "--exec", r#"while read l; do echo "got $l"; done"#, "--stream", "-C", "2"],
    );
    let got = call_with_stdin(port, &["svc/lines", "--stdin", "--stream"], Some(b"a\nb\nc\n"));
    got.ok();
    assert_eq!(got.lines(), ["got a", "got b", "got c"]);

    let got =
        call_with_stdin(port, &["svc/lines", "--stdin", "--stream", "--json"], Some(b"x\ny\n"));
    got.ok();
    let lines = got.json();
    assert_eq!(lines.len(), 4, "{got:#?}");
    assert_eq!((&lines[0]["payload"], &lines[0]["more"]), (&json!("got x"), &json!(true)));
    assert_eq!((&lines[1]["payload"], &lines[1]["more"]), (&json!("got y"), &json!(true)));
    assert!(lines[0]["user_properties"]
        .as_array()
        .unwrap()
        .contains(&json!(["rpc-stream", "more"])));
    assert_eq!((&lines[2]["payload"], &lines[2]["more"]), (&json!(""), &json!(false)));
    assert_eq!(lines[2]["status"], 200);
    assert_eq!(lines[3], json!({"end": "completed", "responses": 3}));
    server.finish().ok();
}

#[test]
fn collect_gathers_the_answers_of_two_servers() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let a = serve(port, &["svc/who", "--exec", "echo A", "-C", "2"]);
    let b = serve(port, &["svc/who", "--exec", "echo B", "-C", "2"]);
    let got = call(port, &["svc/who", "--collect", "2", "--json"]);
    got.ok();
    let lines = got.json();
    let mut answers: Vec<&str> =
        lines[..2].iter().map(|l| l["payload"].as_str().unwrap()).collect();
    answers.sort_unstable();
    assert_eq!(answers, ["A", "B"], "{got:#?}");
    assert_eq!(lines[0]["correlation_data_hex"], lines[1]["correlation_data_hex"]);
    assert_eq!(lines[2], json!({"end": "completed", "responses": 2}));

    // Asking for more than there are: the quiet gap ends it, long before the
    // deadline.
    let got = call(port, &["svc/who", "--collect", "5", "--quiet-ms", "300", "--timeout", "10000"]);
    got.ok();
    let mut answers = got.lines();
    answers.sort_unstable();
    assert_eq!(answers, ["A", "B"], "{got:#?}");
    assert!(got.took < Duration::from_secs(5), "{got:#?}");
    a.finish().ok();
    b.finish().ok();
}

#[test]
fn no_responders_fails_fast_on_puback_0x10() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let got = call(port, &["svc/nobody", "hi", "--timeout", "10000"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(got.stdout, "");
    assert_eq!(got.stderr, "mqtt-engine: no service is subscribed to svc/nobody (PUBACK 0x10)");
    assert!(got.took < Duration::from_secs(5), "not at the timeout: {got:#?}");

    let got = call(port, &["svc/nobody", "--json", "--timeout", "10000"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(got.json(), [json!({"end": "no_responders", "responses": 0})]);
}

#[test]
fn a_subscriber_that_never_answers_times_out_and_ctrl_c_cancels() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    // A plain subscriber: the broker has a match (no PUBACK 0x10), nobody answers.
    let mut silent = Proc::ours(&["sub", "-d", "-p", &port, "-q", "1", "-t", "svc/mute"]);
    silent.wait_stderr("<- SUBACK");

    let got = call(broker.port(), &["svc/mute", "anyone?", "--timeout", "700"]);
    assert_eq!(got.status.code(), Some(27), "{got:#?}");
    assert_eq!(got.stderr, "mqtt-engine: no answer within 700 ms");
    assert!(got.took >= Duration::from_millis(700), "{got:#?}");
    assert!(got.took < Duration::from_secs(5), "{got:#?}");

    let got = call(broker.port(), &["svc/mute", "--timeout", "300", "--json"]);
    assert_eq!(got.status.code(), Some(27), "{got:#?}");
    assert_eq!(got.json(), [json!({"end": "timeout", "responses": 0})]);

    // Ctrl-C while waiting cancels the request and says so.
    let p = broker.port().to_string();
    let mut waiting = Proc::spawn(
        BIN,
        &["call", "-d", "-p", &p, "svc/mute", "still there?", "--timeout", "15000", "--json"],
        Input::None,
    );
    waiting.wait_stderr("-> PUBLISH \"svc/mute\"");
    waiting.interrupt();
    let got = waiting.finish();
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert!(
        got.stderr.ends_with("mqtt-engine: interrupted: the request was cancelled"),
        "{got:#?}"
    );
    assert!(got.stderr.contains("-> DISCONNECT 0x00"), "{got:#?}");
    assert_eq!(got.json(), [json!({"end": "cancelled", "responses": 0})]);
    assert!(got.took < Duration::from_secs(5), "{got:#?}");

    silent.interrupt();
    let heard = silent.finish();
    heard.ok();
    assert_eq!(
        heard.lines(),
        ["anyone?", "", "still there?"],
        "the requests reached the subscriber"
    );
}

#[test]
fn mosquitto_rr_calls_serve() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let server = serve(port, &["svc/calc", "--calculator", "-C", "2", "--json"]);
    let p = port.to_string();
    let rr = |args: &[&str]| {
        let mut all = vec!["-p", &p, "-V", "mqttv5", "-W", "10"];
        all.extend_from_slice(args);
        Proc::spawn("mosquitto_rr", &all, Input::None).finish()
    };
    // mosquitto_rr sends no Correlation Data of its own.
    let got = rr(&["-t", "svc/calc", "-e", "rr/resp/1", "-m", "2*(3+4)"]);
    got.ok();
    assert_eq!(got.stdout, "14\n");
    let got = rr(&[
        "-t",
        "svc/calc",
        "-e",
        "rr/resp/2",
        "-m",
        "10/4",
        "-D",
        "publish",
        "correlation-data",
        "rr-2",
    ]);
    got.ok();
    assert_eq!(got.stdout, "2.5\n");
    let served = server.finish();
    served.ok();
    let log = served.json();
    assert_eq!(log[0]["response_topic"], "rr/resp/1");
    assert_eq!(log[0]["correlation_data_hex"], "");
    assert_eq!(log[1]["correlation_data_hex"], hex(b"rr-2"));
}

#[test]
fn a_shared_group_spreads_twenty_calls_over_two_servers_and_ctrl_c_disconnects() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let a = serve(port, &["svc/shared", "--group", "g", "--exec", "echo A", "--json", "-d"]);
    let b = serve(port, &["svc/shared", "--group", "g", "--exec", "echo B", "--json", "-d"]);
    let mut answers = Vec::new();
    for i in 0..20 {
        let got = call(port, &["svc/shared", &i.to_string()]);
        got.ok();
        answers.push(got.stdout.trim().to_string());
    }
    let from_a = answers.iter().filter(|x| *x == "A").count();
    let from_b = answers.iter().filter(|x| *x == "B").count();
    assert_eq!(from_a + from_b, 20, "{answers:?}");
    assert!(from_a > 0 && from_b > 0, "both members answer: {answers:?}");

    // Ctrl-C: DISCONNECT, exit 0; each logged the requests it answered.
    a.interrupt();
    b.interrupt();
    let (a, b) = (a.finish(), b.finish());
    for (done, n) in [(&a, from_a), (&b, from_b)] {
        done.ok();
        assert_eq!(done.json().len(), n, "{done:#?}");
        assert!(done.stderr.contains("-> DISCONNECT 0x00"), "{}", done.stderr);
    }
    assert!(a.stderr.contains("-> SUBSCRIBE id=1 $share/g/svc/shared@qos1"), "{}", a.stderr);
}

#[test]
fn a_paho_responder_answers_call_once_streamed_and_with_an_error() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let p = port.to_string();
    let mut responder = peer("responder.py", &[&p, "paho/svc", "3"]);
    responder.wait_stderr("ready");

    let got = call(port, &["paho/svc", "hello", "--json"]);
    got.ok();
    let lines = got.json();
    assert_eq!(lines[0]["payload"], "HELLO");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["user_properties"], json!([["rpc-status", "200"], ["peer", "paho"]]));
    assert_eq!(lines[1], json!({"end": "completed", "responses": 1}));

    let got = call(port, &["paho/svc", "stream:3", "--stream"]);
    got.ok();
    assert_eq!(got.lines(), ["part 1", "part 2", "part 3"]);

    let got = call(port, &["paho/svc", "fail"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(got.stderr, "mqtt-engine: the service answered status 422: refused by paho");
    responder.finish().ok();
}

#[test]
fn serve_answers_a_paho_requester() {
    let broker = Mosquitto::start("");
    let port = broker.port();
    let server = serve(port, &["svc/calc", "--calculator", "-C", "1", "--json"]);
    let got = peer("requester.py", &[&port.to_string(), "svc/calc", "(2+3)*4", "5"]).finish();
    got.ok();
    let answer: Value = serde_json::from_str(got.stdout.trim()).unwrap();
    assert_eq!(answer["payload"], "20");
    assert_eq!(answer["correlation_data_hex"], hex(b"paho-corr-1"));
    assert_eq!(answer["user_properties"], json!([["rpc-status", "200"]]));
    let served = server.finish();
    served.ok();
    let log = &served.json()[0];
    assert_eq!(log["response_topic"], "paho/replies/requester");
    assert_eq!(log["correlation_data_hex"], hex(b"paho-corr-1"));
    assert_eq!(log["status"], 200);
}

#[test]
fn call_and_serve_refuse_mqtt_3_1_1_and_stream_without_exec() {
    // Refused before any connection is attempted: no broker needed.
    let got = Proc::ours(&["call", "-V", "311", "-p", "1", "svc/x", "1"]).finish();
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(
        got.stderr,
        "mqtt-engine: call needs MQTT 5 (Response Topic, Correlation Data): drop -V 311"
    );
    let got = Proc::ours(&["serve", "-V", "mqttv311", "-p", "1", "svc/x", "--echo"]).finish();
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(
        got.stderr,
        "mqtt-engine: serve needs MQTT 5 (Response Topic, Correlation Data): drop -V 311"
    );
    let got = Proc::ours(&["serve", "-p", "1", "svc/x", "--echo", "--stream"]).finish();
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(got.stderr, "mqtt-engine: --stream streams the output of --exec CMD: give --exec");
}

/// `discover` lists MCP servers from their retained presence (published here
/// by mosquitto_pub, a peer nobody here wrote), as JSON and as text, and a
/// server-name filter narrows the list.
#[test]
fn discover_lists_mcp_servers_from_retained_presence() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    let servers = [
        ("srv-1", "tools/weather", "Weather"),
        ("srv-2", "tools/weather", "Weather"),
        ("srv-3", "tools/maps", "Maps"),
    ];
    for (id, name, description) in servers {
        let presence = json!({"jsonrpc": "2.0", "method": "notifications/server/online",
            "params": {"server_name": name, "description": description}})
        .to_string();
        let topic = format!("$mcp-server/presence/{id}/{name}");
        let args = ["-p", &port, "-V", "mqttv5", "-r", "-q", "1", "-t", &topic, "-m", &presence];
        Proc::spawn("mosquitto_pub", &args, Input::None).finish().ok();
    }
    let listed = Proc::ours(&["discover", "-p", &port, "--json", "--wait", "300"]).finish();
    let mut got: Vec<(String, String, String)> = listed
        .ok()
        .json()
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (s("server_name"), s("server_id"), s("description"))
        })
        .collect();
    got.sort();
    let want: Vec<(String, String, String)> = [servers[2], servers[0], servers[1]]
        .iter()
        .map(|(id, name, d)| (name.to_string(), id.to_string(), d.to_string()))
        .collect();
    assert_eq!(got, want);
    let weather =
        Proc::ours(&["discover", "-p", &port, "--filter", "tools/weather", "--wait", "300"])
            .finish();
    let text = &weather.ok().stdout;
    assert!(text.contains("tools/weather (2 instances)"), "{text}");
    assert!(text.contains("srv-1  Weather") && !text.contains("maps"), "{text}");
}
