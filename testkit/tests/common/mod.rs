//! Helpers shared by the tests against a real mosquitto.

#![allow(dead_code)] // each test file uses a different subset

use mqtt_engine::client::{Event, Options};
use mqtt_engine::codec::{Protocol, Publish, QoS};
use mqtt_engine_testkit::mosquitto::Mosquitto;
use mqtt_engine_testkit::net::Driver;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A hard deadline for a whole test: if the guard is still alive after
/// `limit`, the test process exits with a failure, so a hang fails CI instead
/// of blocking it. Drop (at the end of the test) disarms it.
pub struct Deadline {
    done: Option<mpsc::Sender<()>>,
}

impl Deadline {
    /// Arms the deadline for the test named `name`.
    pub fn new(name: &'static str, limit: Duration) -> Deadline {
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("test {name} exceeded its hard deadline of {limit:?}: aborting");
                std::process::exit(101);
            }
        });
        Deadline { done: Some(tx) }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}

/// The protocol's name for assertion messages and identifiers.
pub fn tag(p: Protocol) -> &'static str {
    match p {
        Protocol::V5 => "v5",
        Protocol::V311 => "v311",
    }
}

/// Options for client `id` at protocol `p`, everything else default.
pub fn opts(id: &str, p: Protocol) -> Options {
    Options { client_id: id.to_owned().into(), protocol: p, ..Options::default() }
}

/// Options for a client whose session outlives its connections: Session
/// Expiry 300 s (5.0) or Clean Session 0 (3.1.1); the first connect is clean.
pub fn persistent(id: &str, p: Protocol) -> Options {
    Options {
        session_expiry_interval: if p == Protocol::V5 { 300 } else { 0 },
        clean_start: p == Protocol::V5,
        ..opts(id, p)
    }
}

/// A connected driver.
pub fn connected(broker: &Mosquitto, o: Options) -> Driver {
    let mut d = Driver::new(broker.port(), o);
    d.connect();
    d
}

/// A message at `qos`.
pub fn msg(topic: &str, payload: impl Into<Vec<u8>>, qos: QoS) -> Publish {
    let mut m = Publish::new(topic.to_owned(), payload.into());
    m.qos = qos;
    m
}

/// All QoS levels.
pub const QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// Both protocol versions.
pub const PROTOCOLS: [Protocol; 2] = [Protocol::V5, Protocol::V311];

/// Polls the broker log until it contains `needle` (waiting for the external
/// process; short sleeps are fine here). Panics with the log after `timeout`.
pub fn wait_log(broker: &Mosquitto, needle: &str, timeout: Duration) {
    let until = Instant::now() + timeout;
    while !broker.log().contains(needle) {
        assert!(Instant::now() < until, "broker log never showed {needle:?}:\n{}", broker.log());
        std::thread::sleep(ms(10));
    }
}

/// The payload as text, for assertion messages.
pub fn text(p: &Publish) -> String {
    String::from_utf8_lossy(&p.payload).into_owned()
}

/// True for an [`Event::Message`].
pub fn is_message(e: &Event) -> bool {
    matches!(e, Event::Message(_))
}

/// Checks that `sub` (subscribed to `topic`) has nothing pending for it: a
/// marker published on `topic` by another client after everything the test
/// did must be the next message `sub` gets. The broker routes a message
/// before it acknowledges it, so anything that would have reached `sub`
/// earlier would arrive before the marker.
pub fn assert_next_is_marker(broker: &Mosquitto, sub: &mut Driver, topic: &str, p: Protocol) {
    let mut marker = connected(broker, opts(&format!("marker-{}", unique()), p));
    marker.publish(msg(topic, "marker", QoS::AtLeastOnce));
    marker.disconnect(mqtt_engine::codec::ReasonCode::SUCCESS);
    let m = sub.next_message(secs(5));
    assert_eq!(text(&m), "marker", "a message arrived before the marker: {m:?}");
}

/// A number unique within the process, for client identifiers and topics.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// True when the installed broker's version is at least `major.minor.patch`
/// (from `mosquitto -h`, whose first line is `mosquitto version X.Y.Z`).
pub fn mosquitto_at_least(major: u32, minor: u32, patch: u32) -> bool {
    let out = std::process::Command::new("mosquitto").arg("-h").output();
    let out = out
        .or_else(|_| std::process::Command::new("/usr/sbin/mosquitto").arg("-h").output())
        .expect("mosquitto is installed by `make test`");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version: Vec<u32> = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("0.0.0")
        .split('.')
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    version >= vec![major, minor, patch]
}
