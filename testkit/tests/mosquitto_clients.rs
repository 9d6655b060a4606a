//! Interoperability with clients nobody here wrote: mosquitto_pub,
//! mosquitto_sub and mosquitto_rr exchange messages with our client through
//! a real mosquitto, at every QoS, in MQTT 5.0 and 3.1.1, with User
//! Properties (order and duplicates kept), Content Type, Response Topic,
//! Correlation Data, Payload Format Indicator and Message Expiry intact
//! ([MQTT-3.3.2-15] .. [MQTT-3.3.2-20]).

// A failed unwrap is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mqtt_engine::codec::{ByteStr, Protocol, QoS};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::mosquitto::Mosquitto;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(40);

/// A mosquitto client process whose stdout lines arrive on a channel; killed
/// on drop if still running.
struct Tool {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Tool {
    fn spawn(program: &str, args: &[String]) -> Tool {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program}: {e} (package mosquitto-clients, installed by `make test`)")
            });
        let (tx, lines) = mpsc::channel();
        for out in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Tool { child, lines, seen: Vec::new() }
    }

    /// The next output line satisfying `f`, waiting at most `timeout`.
    fn line(&mut self, timeout: Duration, f: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if f(&l) {
                        return l;
                    }
                }
                Err(_) => panic!("no expected line within {timeout:?}; output: {:#?}", self.seen),
            }
        }
    }

    /// Waits for the process to exit (at most `timeout`); panics unless it
    /// succeeded.
    fn wait_success(&mut self, timeout: Duration) {
        let until = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(l) = self.lines.recv_timeout(ms(100)) {
                    self.seen.push(l);
                }
                assert!(status.success(), "exit {status}; output: {:#?}", self.seen);
                return;
            }
            assert!(Instant::now() < until, "still running after {timeout:?}: {:#?}", self.seen);
            // Waiting for an external process.
            std::thread::sleep(ms(10));
        }
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn version_arg(p: Protocol) -> String {
    match p {
        Protocol::V5 => "mqttv5".into(),
        Protocol::V311 => "mqttv311".into(),
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(ByteStr, ByteStr)> {
    list.iter().map(|(k, v)| (ByteStr::from(k.to_string()), ByteStr::from(v.to_string()))).collect()
}

#[test]
fn mosquitto_pub_to_our_subscriber_properties_intact_mqtt_3_3_2_15_to_mqtt_3_3_2_20() {
    let _d = Deadline::new(
        "mosquitto_pub_to_our_subscriber_properties_intact_mqtt_3_3_2_15_to_mqtt_3_3_2_20",
        LIMIT,
    );
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let mut sub = connected(&broker, opts(&format!("interop-sub-{}", tag(p)), p));
        sub.subscribe(&format!("from-pub/{}/#", tag(p)), QoS::ExactlyOnce);
        for q in QOS {
            let topic = format!("from-pub/{}/{}", tag(p), q as u8);
            let payload = format!("hello {} q{}", tag(p), q as u8);
            let mut a = args(&["-h", "127.0.0.1", "-p", &broker.port().to_string()]);
            a.extend(args(&["-V", &version_arg(p), "-q", &(q as u8).to_string()]));
            a.extend(args(&["-i", &format!("mpub-{}-{}", tag(p), q as u8), "-t", &topic]));
            a.extend(args(&["-m", &payload]));
            if p == Protocol::V5 {
                for d in [
                    &["user-property", "k", "v1"][..],
                    &["user-property", "a", "b"],
                    &["user-property", "k", "v2"],
                    &["content-type", "text/plain; charset=utf-8"],
                    &["response-topic", "replies/here"],
                    &["correlation-data", "corr-42"],
                    &["payload-format-indicator", "1"],
                    &["message-expiry-interval", "300"],
                ] {
                    a.extend(args(&["-D", "publish"]));
                    a.extend(args(d));
                }
            }
            let mut tool = Tool::spawn("mosquitto_pub", &a);
            let m = sub.next_message(secs(10));
            tool.wait_success(secs(10));
            assert_eq!(m.topic, topic.as_str());
            assert_eq!(text(&m), payload);
            assert_eq!(m.qos, q, "{p:?}");
            let props = &m.properties;
            if p == Protocol::V5 {
                assert_eq!(
                    props.user_properties,
                    pairs(&[("k", "v1"), ("a", "b"), ("k", "v2")]),
                    "[MQTT-3.3.2-17], [MQTT-3.3.2-18]"
                );
                assert_eq!(props.content_type.as_deref(), Some("text/plain; charset=utf-8"));
                assert_eq!(props.response_topic.as_deref(), Some("replies/here"));
                assert_eq!(props.correlation_data.as_deref(), Some(&b"corr-42"[..]));
                assert_eq!(props.payload_format_indicator, Some(1));
                let expiry = props.message_expiry_interval.unwrap();
                assert!((290..=300).contains(&expiry), "{expiry}");
            } else {
                assert!(props.is_empty(), "3.1.1 carries no properties: {props:?}");
            }
        }
    }
}

#[test]
fn our_publisher_to_mosquitto_sub_properties_intact_mqtt_3_3_2_15_to_mqtt_3_3_2_20() {
    let _d = Deadline::new(
        "our_publisher_to_mosquitto_sub_properties_intact_mqtt_3_3_2_15_to_mqtt_3_3_2_20",
        LIMIT,
    );
    let broker = Mosquitto::start("");
    for p in PROTOCOLS {
        let filter = format!("to-sub/{}/#", tag(p));
        let mut a = args(&["-h", "127.0.0.1", "-p", &broker.port().to_string()]);
        a.extend(args(&["-V", &version_arg(p), "-q", "2", "-t", &filter, "-C", "3", "-W", "20"]));
        a.extend(args(&[
            "-i",
            &format!("msub-{}", tag(p)),
            "-F",
            "MSG|%t|%q|%r|%C|%R|%D|%F|%P|%x",
        ]));
        let mut tool = Tool::spawn("mosquitto_sub", &a);
        // Subscribed once the broker has sent SUBACK (the tool's own output
        // is block-buffered on a pipe until it exits).
        wait_log(&broker, &format!("Sending SUBACK to msub-{}", tag(p)), secs(10));
        let mut publ = connected(&broker, opts(&format!("interop-pub-{}", tag(p)), p));
        for q in QOS {
            let mut m =
                msg(&format!("to-sub/{}/{}", tag(p), q as u8), vec![0u8, 1, 0xFE, q as u8], q);
            if p == Protocol::V5 {
                let props = &mut m.properties;
                props.user_properties = pairs(&[("k", "v1"), ("a", "b"), ("k", "v2")]);
                props.content_type = Some("application/octet-stream".into());
                props.response_topic = Some("answers/me".into());
                props.correlation_data = Some(Bytes::from_static(b"id-7"));
                props.payload_format_indicator = Some(0);
            }
            publ.publish(m);
        }
        for q in QOS {
            let line = tool.line(secs(10), |l| l.starts_with("MSG|"));
            let f: Vec<&str> = line.split('|').collect();
            let hex = format!("0001fe0{}", q as u8);
            let expect = match p {
                Protocol::V5 => vec![
                    "MSG".to_string(),
                    format!("to-sub/{}/{}", tag(p), q as u8),
                    (q as u8).to_string(),
                    "0".into(),
                    "application/octet-stream".into(),
                    "answers/me".into(),
                    "id-7".into(),
                    "0".into(),
                    "k:v1 a:b k:v2".into(),
                    hex,
                ],
                Protocol::V311 => vec![
                    "MSG".to_string(),
                    format!("to-sub/{}/{}", tag(p), q as u8),
                    (q as u8).to_string(),
                    "0".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    hex,
                ],
            };
            assert_eq!(f, expect, "{p:?} q{}", q as u8);
        }
        tool.wait_success(secs(10));
    }
}

/// mosquitto_rr sends a request with a Response Topic and Correlation Data;
/// our client answers on that topic with the same Correlation Data, and
/// mosquitto_rr prints the answer (5.0 request/response, §4.10).
#[test]
fn mosquitto_rr_request_answered_by_our_client_correlation_intact() {
    let _d = Deadline::new("mosquitto_rr_request_answered_by_our_client_correlation_intact", LIMIT);
    let broker = Mosquitto::start("");
    let mut responder = connected(&broker, opts("responder", Protocol::V5));
    responder.subscribe("rr/req", QoS::ExactlyOnce);
    for q in QOS {
        let mut a = args(&["-h", "127.0.0.1", "-p", &broker.port().to_string(), "-V", "mqttv5"]);
        a.extend(args(&["-t", "rr/req", "-e", &format!("rr/resp/{}", q as u8)]));
        a.extend(args(&["-q", &(q as u8).to_string(), "-m", "question", "-W", "20"]));
        a.extend(args(&["-D", "publish", "correlation-data", &format!("c-{}", q as u8)]));
        a.extend(args(&["-F", "ANSWER|%p|%D|%q"]));
        let mut tool = Tool::spawn("mosquitto_rr", &a);
        let req = responder.next_message(secs(10));
        assert_eq!(text(&req), "question");
        assert_eq!(req.qos, q);
        let reply_to = req.properties.response_topic.clone().expect("a Response Topic");
        assert_eq!(reply_to.as_str(), format!("rr/resp/{}", q as u8));
        let corr = req.properties.correlation_data.clone().expect("Correlation Data");
        assert_eq!(&corr[..], format!("c-{}", q as u8).as_bytes());
        let mut answer = msg(reply_to.as_str(), "answer", q);
        answer.properties.correlation_data = Some(corr);
        responder.publish(answer);
        let line = tool.line(secs(10), |l| l.starts_with("ANSWER|"));
        assert_eq!(line, format!("ANSWER|answer|c-{}|{}", q as u8, q as u8));
        tool.wait_success(secs(10));
    }
}
