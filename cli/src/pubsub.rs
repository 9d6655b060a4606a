//! `mqtt-engine pub` and `mqtt-engine sub`: mosquitto_pub and mosquitto_sub
//! on the engine, over TCP or TLS.

use std::collections::HashSet;
use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use clap::Args;
use mqtt_engine::client::{DisconnectCause, Event, LocalErrorKind};
use mqtt_engine::codec::{
    ByteStr, Protocol, Publish, QoS, RetainHandling, Subscribe, Subscription,
};
use serde_json::{json, Map, Value};

use crate::args::{parse_qos, ConnArgs};
use crate::hexfmt;
use crate::net::Session;

/// Set by the Ctrl-C (and SIGTERM) handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit status when -W ran out, as mosquitto_sub's (MOSQ_ERR_TIMEOUT).
const EXIT_TIMED_OUT: u8 = 27;

/// Notes Ctrl-C (and SIGTERM) in a flag that [`interrupted`] reads.
pub(crate) fn install_interrupt_handler() -> Result<(), String> {
    ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))
}

/// Ctrl-C (or SIGTERM) has come.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `mqtt-engine pub`: publish one message, a file, stdin, or stdin line by line.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("payload").required(true).multiple(false))]
pub struct PubArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Topic to publish to (or the path of -L).
    #[arg(short = 't', long, value_name = "TOPIC")]
    topic: Option<String>,
    /// The message payload.
    #[arg(
        short = 'm',
        long,
        value_name = "MESSAGE",
        group = "payload",
        allow_hyphen_values = true
    )]
    message: Option<String>,
    /// Send the contents of a file as the message.
    #[arg(short = 'f', long, value_name = "FILE", group = "payload")]
    file: Option<PathBuf>,
    /// Send all of stdin as one message.
    #[arg(short = 's', long = "stdin-file", group = "payload")]
    stdin_file: bool,
    /// Send each line of stdin as a message, as it is read.
    #[arg(short = 'l', long = "stdin-line", group = "payload")]
    stdin_line: bool,
    /// Send an empty (zero-length) message.
    #[arg(short = 'n', long = "null-message", group = "payload")]
    null_message: bool,
    /// QoS of the messages.
    #[arg(short = 'q', long, value_name = "QOS", default_value = "0", value_parser = parse_qos)]
    qos: QoS,
    /// Retain the messages.
    #[arg(short = 'r', long)]
    retain: bool,
    /// Publish the -m / -f / -s message this many times.
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u64,
    /// Seconds between repeated messages.
    #[arg(long = "repeat-delay", value_name = "SECONDS", default_value_t = 0.0)]
    repeat_delay: f64,
    /// At most this many QoS 1 and 2 messages in flight at once.
    #[arg(short = 'M', long = "max-inflight", value_name = "N")]
    max_inflight: Option<u16>,
    /// User Property of the message (MQTT 5); repeatable, order and duplicates kept.
    #[arg(long = "user-property", num_args = 2, value_names = ["KEY", "VALUE"], action = clap::ArgAction::Append)]
    user_property: Vec<String>,
    /// Content Type of the message (MQTT 5).
    #[arg(long = "content-type", value_name = "TYPE")]
    content_type: Option<String>,
    /// Response Topic of the message (MQTT 5).
    #[arg(long = "response-topic", value_name = "TOPIC")]
    response_topic: Option<String>,
    /// Correlation Data of the message, as text (MQTT 5).
    #[arg(long = "correlation-data", value_name = "TEXT", conflicts_with = "correlation_data_hex")]
    correlation_data: Option<String>,
    /// Correlation Data of the message, as hex (MQTT 5).
    #[arg(long = "correlation-data-hex", value_name = "HEX")]
    correlation_data_hex: Option<String>,
    /// Message Expiry Interval in seconds (MQTT 5).
    #[arg(long = "message-expiry", alias = "message-expiry-interval", value_name = "SECONDS")]
    message_expiry: Option<u32>,
    /// Payload Format Indicator 1: the payload is UTF-8 text (MQTT 5).
    #[arg(long = "utf8-payload")]
    utf8_payload: bool,
    /// Print this help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// `mqtt-engine sub`: subscribe and print messages.
#[derive(Args, Debug)]
pub struct SubArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Topic filter to subscribe to; repeatable (the path of -L is one too).
    #[arg(short = 't', long, value_name = "FILTER")]
    topic: Vec<String>,
    /// Do not print messages whose topic matches this filter; repeatable.
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER")]
    filter_out: Vec<String>,
    /// Maximum QoS of the subscriptions.
    #[arg(short = 'q', long, value_name = "QOS", default_value = "0", value_parser = parse_qos)]
    qos: QoS,
    /// Print "topic payload" instead of the payload alone.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Do not add a newline after each payload.
    #[arg(short = 'N', long = "no-eol")]
    no_eol: bool,
    /// Print each message as one JSON object per line.
    #[arg(long, conflicts_with_all = ["verbose", "no_eol"])]
    json: bool,
    /// Exit after this many messages.
    #[arg(short = 'C', long, value_name = "N")]
    count: Option<u64>,
    /// Exit after this many seconds ("Timed out", status 27, as mosquitto_sub).
    #[arg(short = 'W', long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Do not print stale messages (those with the retain flag set).
    #[arg(short = 'R', long = "no-retained")]
    no_retained: bool,
    /// Print only retained messages; exit at the first one that is not.
    #[arg(long = "retained-only", conflicts_with = "no_retained")]
    retained_only: bool,
    /// Exit once the subscriptions are acknowledged.
    #[arg(short = 'E', long = "exit-after-subscribe")]
    exit_after_subscribe: bool,
    /// No Local: do not receive our own messages (MQTT 5).
    #[arg(long = "no-local")]
    no_local: bool,
    /// Retain As Published: keep the retain flag of forwarded messages (MQTT 5).
    #[arg(long = "retain-as-published")]
    retain_as_published: bool,
    /// Retain Handling: 0 send retained messages, 1 only for a new subscription, 2 never (MQTT 5).
    #[arg(long = "retain-handling", value_name = "0|1|2", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=2))]
    retain_handling: u8,
    /// Subscription Identifier of the subscriptions (MQTT 5; 1 to 268,435,455).
    #[arg(long = "subscription-identifier", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=268_435_455))]
    subscription_identifier: Option<u32>,
    /// Print this help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// An error already worth a whole line, or a status to exit with.
fn fail(quiet: bool, message: &str) -> ExitCode {
    if !quiet {
        eprintln!("mqtt-engine: {message}");
    }
    ExitCode::FAILURE
}

/// Runs `pub`.
pub fn run_pub(args: PubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    match publish_all(args) {
        Ok(code) => code,
        Err(message) => fail(quiet, &message),
    }
}

/// Runs `sub`.
pub fn run_sub(args: SubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    match subscribe_and_print(args) {
        Ok(code) => code,
        Err(message) => fail(quiet, &message),
    }
}

/// Where the payloads of `pub` come from.
enum Source {
    /// The same payload `remaining` more times, `delay` apart.
    Fixed { payload: Bytes, remaining: u64, delay: Duration, next_at: StdInstant },
    /// Lines of stdin, read by a thread; the channel closes at the end.
    Lines(mpsc::Receiver<Result<Vec<u8>, String>>),
    /// Nothing more to send.
    Done,
}

impl Source {
    /// The next payload if one is ready now; `Ok(None)` when none is ready
    /// (or the source is done).
    fn ready(&mut self) -> Result<Option<Bytes>, String> {
        match self {
            Source::Fixed { payload, remaining, delay, next_at } => {
                if *remaining == 0 {
                    *self = Source::Done;
                    return Ok(None);
                }
                let now = StdInstant::now();
                if now < *next_at {
                    return Ok(None);
                }
                *remaining -= 1;
                *next_at = now + *delay;
                Ok(Some(payload.clone()))
            }
            Source::Lines(rx) => match rx.try_recv() {
                Ok(Ok(line)) => Ok(Some(Bytes::from(line))),
                Ok(Err(e)) => Err(e),
                Err(mpsc::TryRecvError::Empty) => Ok(None),
                Err(mpsc::TryRecvError::Disconnected) => {
                    *self = Source::Done;
                    Ok(None)
                }
            },
            Source::Done => Ok(None),
        }
    }

    fn done(&self) -> bool {
        matches!(self, Source::Done)
    }

    /// When the next payload is due, for a source that knows.
    fn next_at(&self) -> Option<StdInstant> {
        match self {
            Source::Fixed { next_at, remaining, .. } if *remaining > 0 => Some(*next_at),
            _ => None,
        }
    }
}

fn stdin_lines() -> mpsc::Receiver<Result<Vec<u8>, String>> {
    let (tx, rx) = mpsc::sync_channel(256);
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    if tx.send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot read stdin: {e}")));
                    break;
                }
            }
        }
    });
    rx
}

fn publish_all(args: PubArgs) -> Result<ExitCode, String> {
    let mut conn = args.conn.connection("pub")?;
    let topic = args
        .topic
        .clone()
        .or(conn.url_topic.take())
        .ok_or("pub needs a topic: give -t TOPIC (or a -L URL with a path)")?;
    mqtt_engine::topic::check_name(&topic)
        .map_err(|m| format!("-t {topic:?}: 0x90 Topic Name invalid: {m}"))?;
    let template = message_template(&args, &topic, conn.options.protocol)?;
    if let Some(m) = args.max_inflight {
        conn.options.max_inflight = m.max(1);
    }
    let mut source = if args.stdin_line {
        Source::Lines(stdin_lines())
    } else {
        let payload = if let Some(m) = &args.message {
            Bytes::from(m.clone())
        } else if let Some(f) = &args.file {
            Bytes::from(std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?)
        } else if args.stdin_file {
            let mut v = Vec::new();
            io::stdin().read_to_end(&mut v).map_err(|e| format!("cannot read stdin: {e}"))?;
            Bytes::from(v)
        } else {
            Bytes::new()
        };
        let delay = Duration::try_from_secs_f64(args.repeat_delay).map_err(|_| {
            format!("--repeat-delay {}: not a number of seconds", args.repeat_delay)
        })?;
        Source::Fixed { payload, remaining: args.repeat, delay, next_at: StdInstant::now() }
    };
    // Until the connection is accepted, Ctrl-C simply ends the process.
    let (mut session, _) = Session::open(&conn.endpoint, conn.options, conn.debug)?;
    install_interrupt_handler()?;

    let mut pending: HashSet<u16> = HashSet::new();
    let mut held: Option<Bytes> = None;
    let mut failures = 0u64;
    loop {
        if interrupted() {
            let left = pending.len();
            session.disconnect()?;
            if left > 0 {
                return Err(format!("interrupted with {left} message(s) not acknowledged"));
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Publish whatever is ready, until the engine's queue is full; once
        // more after writing, in case it was the bytes waiting to be sent.
        for _ in 0..2 {
            loop {
                let payload = match held.take() {
                    Some(p) => p,
                    None => match source.ready()? {
                        Some(p) => p,
                        None => break,
                    },
                };
                let mut msg = template.clone();
                msg.payload = payload.clone();
                let now = session.now();
                match session.client().publish(now, msg) {
                    Ok(Some(id)) => {
                        pending.insert(id);
                    }
                    Ok(None) => {}
                    Err(e) if e.kind == LocalErrorKind::QueueFull => {
                        held = Some(payload);
                        break;
                    }
                    Err(e) => {
                        let mut text = format!("cannot publish to {topic:?}: {e}");
                        if e.reason_code == mqtt_engine::ReasonCode::PACKET_TOO_LARGE {
                            if let Some(max) = session.client().server().maximum_packet_size {
                                text.push_str(&format!(
                                    " (the server accepts at most {max} bytes per packet)"
                                ));
                            }
                        }
                        let _ = session.disconnect();
                        return Err(text);
                    }
                }
            }
            session.flush()?;
            if held.is_none() {
                break;
            }
        }
        if source.done() && held.is_none() && pending.is_empty() && session.client().queued() == 0 {
            session.disconnect()?;
            return Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        match session.next(source.next_at())? {
            None => {}
            Some(Event::Published(p)) => {
                pending.remove(&p.packet_id);
                if p.reason_code.is_error() {
                    failures += 1;
                    if !args.conn.quiet {
                        let mut text = format!(
                            "mqtt-engine: message {} to {topic:?} refused: {}",
                            p.packet_id, p.reason_code
                        );
                        if let Some(r) = &p.reason_string {
                            text.push_str(&format!(": {r}"));
                        }
                        eprintln!("{text}");
                    }
                }
            }
            Some(Event::PublishDropped(d)) => {
                if let Some(id) = d.packet_id {
                    pending.remove(&id);
                }
                failures += 1;
                if !args.conn.quiet {
                    eprintln!(
                        "mqtt-engine: message to {:?} not delivered: {} ({:?})",
                        d.topic.as_str(),
                        d.reason_code,
                        d.reason
                    );
                }
            }
            Some(Event::Disconnected(d)) => {
                return Err(session.describe(&d));
            }
            Some(_) => {}
        }
    }
}

/// The PUBLISH every payload goes into: topic, QoS, retain and properties.
fn message_template(args: &PubArgs, topic: &str, protocol: Protocol) -> Result<Publish, String> {
    let mut msg = Publish::new(ByteStr::from(topic.to_string()), Bytes::new());
    msg.qos = args.qos;
    msg.retain = args.retain;
    let p = &mut msg.properties;
    for kv in args.user_property.chunks(2) {
        if let [k, v] = kv {
            p.user_properties.push((ByteStr::from(k.clone()), ByteStr::from(v.clone())));
        }
    }
    p.content_type = args.content_type.clone().map(ByteStr::from);
    if let Some(t) = &args.response_topic {
        mqtt_engine::topic::check_name(t)
            .map_err(|m| format!("--response-topic {t:?}: 0x90 Topic Name invalid: {m}"))?;
        p.response_topic = Some(ByteStr::from(t.clone()));
    }
    p.correlation_data = match (&args.correlation_data, &args.correlation_data_hex) {
        (Some(t), _) => Some(Bytes::from(t.clone())),
        (None, Some(h)) => {
            Some(Bytes::from(hexfmt::parse(h).map_err(|e| format!("--correlation-data-hex: {e}"))?))
        }
        (None, None) => None,
    };
    p.message_expiry_interval = args.message_expiry;
    p.payload_format_indicator = args.utf8_payload.then_some(1);
    if protocol == Protocol::V311 && !p.is_empty() {
        return Err(
            "message properties (--user-property, --content-type, --response-topic, \
                    --correlation-data, --message-expiry, --utf8-payload) need MQTT 5: drop -V 311"
                .to_string(),
        );
    }
    Ok(msg)
}

fn subscribe_and_print(args: SubArgs) -> Result<ExitCode, String> {
    let mut conn = args.conn.connection("sub")?;
    let mut filters = args.topic.clone();
    if let Some(t) = conn.url_topic.take() {
        filters.insert(0, t);
    }
    if filters.is_empty() {
        return Err("sub needs at least one topic filter: give -t FILTER".to_string());
    }
    let protocol = conn.options.protocol;
    for f in filters.iter().chain(&args.filter_out) {
        mqtt_engine::topic::check_filter_for(f, protocol)
            .map_err(|m| format!("-t {f:?}: 0x8F Topic Filter invalid: {m}"))?;
    }
    let v5_only = args.no_local
        || args.retain_as_published
        || args.retain_handling != 0
        || args.subscription_identifier.is_some();
    if protocol == Protocol::V311 && v5_only {
        return Err("--no-local, --retain-as-published, --retain-handling and \
                    --subscription-identifier need MQTT 5: drop -V 311"
            .to_string());
    }
    let retain_handling = RetainHandling::from_u8(args.retain_handling)
        .ok_or("--retain-handling must be 0, 1 or 2")?;
    let mut sub = Subscribe::default();
    for f in &filters {
        sub.filters.push(Subscription {
            filter: ByteStr::from(f.clone()),
            qos: args.qos,
            no_local: args.no_local,
            retain_as_published: args.retain_as_published,
            retain_handling,
        });
    }
    if let Some(id) = args.subscription_identifier {
        sub.properties.subscription_identifiers.push(id);
    }

    let deadline = args.timeout.map(|s| StdInstant::now() + Duration::from_secs(s));
    // Until the connection is accepted, Ctrl-C simply ends the process.
    let (mut session, _) = Session::open(&conn.endpoint, conn.options, conn.debug)?;
    install_interrupt_handler()?;
    let now = session.now();
    let sub_id = match session.client().subscribe(now, sub) {
        Ok(id) => id,
        Err(e) => {
            let _ = session.disconnect();
            return Err(format!("cannot subscribe: {e}"));
        }
    };
    let stdout = io::stdout();
    let mut printed = 0u64;
    loop {
        if interrupted() {
            session.disconnect()?;
            return Ok(ExitCode::SUCCESS);
        }
        if deadline.is_some_and(|d| StdInstant::now() >= d) {
            session.disconnect()?;
            if !args.conn.quiet {
                eprintln!("Timed out");
            }
            return Ok(ExitCode::from(EXIT_TIMED_OUT));
        }
        match session.next(deadline)? {
            None => {}
            Some(Event::Message(m)) => {
                if args.no_retained && m.retain {
                    continue;
                }
                if args.filter_out.iter().any(|f| mqtt_engine::topic::matches(f, &m.topic)) {
                    continue;
                }
                if args.retained_only && !m.retain {
                    session.disconnect()?;
                    return Ok(ExitCode::SUCCESS);
                }
                let mut out = stdout.lock();
                let written = if args.json {
                    writeln!(out, "{}", message_json(&m))
                } else {
                    print_plain(&mut out, &m, args.verbose, args.no_eol)
                };
                if let Err(e) = written.and_then(|()| out.flush()) {
                    let _ = session.disconnect();
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(format!("cannot write to stdout: {e}"));
                }
                printed += 1;
                if args.count.is_some_and(|c| printed >= c) {
                    session.disconnect()?;
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Some(Event::Subscribed(a)) if a.packet_id == sub_id => {
                let mut refused = 0;
                for (f, code) in filters.iter().zip(&a.reason_codes) {
                    if code.is_error() {
                        refused += 1;
                        if !args.conn.quiet {
                            let mut text =
                                format!("mqtt-engine: subscription to {f:?} refused: {code}");
                            if let Some(r) = &a.properties.reason_string {
                                text.push_str(&format!(": {r}"));
                            }
                            eprintln!("{text}");
                        }
                    }
                }
                if refused == filters.len() {
                    session.disconnect()?;
                    return Err("every subscription was refused".to_string());
                }
                if args.exit_after_subscribe {
                    session.disconnect()?;
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Some(Event::Disconnected(d)) if d.cause != DisconnectCause::Client => {
                return Err(session.describe(&d));
            }
            Some(_) => {}
        }
    }
}

fn print_plain(out: &mut impl Write, m: &Publish, verbose: bool, no_eol: bool) -> io::Result<()> {
    if verbose {
        out.write_all(m.topic.as_bytes())?;
        out.write_all(b" ")?;
        if m.payload.is_empty() {
            // As mosquitto_sub -v prints an empty payload.
            out.write_all(b"(null)")?;
        }
    }
    out.write_all(&m.payload)?;
    if !no_eol {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One message as a JSON object: topic, qos, retain, payload (UTF-8) or
/// payload_hex, and the MQTT 5 properties it carries.
pub fn message_json(m: &Publish) -> String {
    let mut o = Map::new();
    o.insert("topic".into(), json!(m.topic.as_str()));
    o.insert("qos".into(), json!(m.qos as u8));
    o.insert("retain".into(), json!(m.retain));
    match std::str::from_utf8(&m.payload) {
        Ok(text) => o.insert("payload".into(), json!(text)),
        Err(_) => o.insert("payload_hex".into(), json!(hexfmt::format(&m.payload))),
    };
    let p = &m.properties;
    if let Some(v) = p.payload_format_indicator {
        o.insert("payload_format_indicator".into(), json!(v));
    }
    if let Some(v) = p.message_expiry_interval {
        o.insert("message_expiry_interval".into(), json!(v));
    }
    if let Some(v) = &p.content_type {
        o.insert("content_type".into(), json!(v.as_str()));
    }
    if let Some(v) = &p.response_topic {
        o.insert("response_topic".into(), json!(v.as_str()));
    }
    if let Some(v) = &p.correlation_data {
        o.insert("correlation_data_hex".into(), json!(hexfmt::format(v)));
    }
    if !p.user_properties.is_empty() {
        let pairs: Vec<Value> =
            p.user_properties.iter().map(|(k, v)| json!([k.as_str(), v.as_str()])).collect();
        o.insert("user_properties".into(), Value::Array(pairs));
    }
    if !p.subscription_identifiers.is_empty() {
        o.insert("subscription_identifiers".into(), json!(p.subscription_identifiers));
    }
    Value::Object(o).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;

    #[test]
    fn json_of_a_message_with_properties() {
        let mut m = Publish::new("a/b", Bytes::from_static(b"hi"));
        m.qos = QoS::AtLeastOnce;
        m.properties.user_properties.push(("k".into(), "v".into()));
        m.properties.user_properties.push(("k".into(), "w".into()));
        m.properties.correlation_data = Some(Bytes::from_static(b"\x01\xff"));
        m.properties.subscription_identifiers = vec![7];
        let v: Value = serde_json::from_str(&message_json(&m)).unwrap();
        assert_eq!(
            v,
            json!({"topic": "a/b", "qos": 1, "retain": false, "payload": "hi",
                   "user_properties": [["k", "v"], ["k", "w"]],
                   "correlation_data_hex": "01ff", "subscription_identifiers": [7]})
        );
    }

    #[test]
    fn json_of_a_binary_payload() {
        let m = Publish::new("t", Bytes::from_static(b"\xff\x00"));
        let v: Value = serde_json::from_str(&message_json(&m)).unwrap();
        assert_eq!(v["payload_hex"], "ff00");
        assert!(v.get("payload").is_none());
    }
}
