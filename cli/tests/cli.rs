//! The `mqtt-engine` binary, driven as a user would drive it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mqtt-engine"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = bin();
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mqtt-engine");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).expect("a JSON object per line")).collect()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The exchange mosquitto_pub had with mosquitto, captured on loopback: bytes
/// that no one here wrote.
#[test]
fn decodes_a_captured_mosquitto_exchange() {
    let capture = std::fs::read_to_string(repo().join("tests/captures/mosquitto-pub-v5.txt"))
        .expect("capture file");
    let mut client = String::new();
    let mut server = String::new();
    for line in capture.lines().filter(|l| !l.starts_with('#')) {
        let (dir, hex) = line.split_once(' ').expect("direction and hex");
        if dir == "C" { &mut client } else { &mut server }.push_str(hex);
    }
    let out = run(&["decode", "--protocol", "5"], Some(&client));
    assert!(out.status.success(), "{}", stderr(&out));
    let packets = json_lines(&out);
    let types: Vec<&str> = packets.iter().map(|p| p["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types, ["connect", "publish", "disconnect"]);
    assert_eq!(packets[0]["client_identifier"], "demo-sensor");
    assert_eq!(packets[0]["properties"]["session_expiry_interval"], 300);
    assert_eq!(packets[1]["topic_name"], "sensors/kitchen/temperature");
    assert_eq!(packets[1]["qos"], 1);
    assert_eq!(packets[1]["properties"]["content_type"], "application/json");
    assert_eq!(
        packets[1]["properties"]["user_properties"],
        serde_json::json!([["unit", "celsius"]])
    );
    assert_eq!(packets[1]["payload_hex"], hex_of(br#"{"celsius":21.5}"#));

    let out = run(&["decode", "-p", "5", &server], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let packets = json_lines(&out);
    assert_eq!(packets[0]["type"], "connack");
    assert_eq!(packets[0]["properties"]["topic_alias_maximum"], 10);
    assert_eq!(packets[1]["type"], "puback");
    assert_eq!(packets[1]["reason_code"], 0x10);

    // Every packet the capture holds encodes back to the captured bytes.
    let out = run(&["decode", "-p", "5", &client], None);
    let enc = run(&["encode", "-p", "5"], Some(&stdout(&out)));
    assert!(enc.status.success(), "{}", stderr(&enc));
    assert_eq!(stdout(&enc).split_whitespace().collect::<String>(), client);
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn decode_ignores_whitespace_and_reads_several_arguments() {
    let out = run(&["decode", "-p", "4", "c0", "00", "d0\n00"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\"type\":\"pingreq\"}\n{\"type\":\"pingresp\"}\n");
}

#[test]
fn decode_error_names_reason_code_and_byte_offset() {
    // Second packet: a PUBLISH whose topic holds a wildcard, at byte 2 of the input.
    let out = run(&["decode", "c000 30060003612f2300"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("0x81 Malformed Packet"), "{err}");
    assert!(err.contains("topic name contains a wildcard"), "{err}");
    assert!(err.contains("at byte 4"), "{err}");
    assert!(err.contains("packet 2"), "{err}");
    // The packet before the fault is still printed.
    assert_eq!(stdout(&out), "{\"type\":\"pingreq\"}\n");
}

#[test]
fn decode_reports_truncated_input() {
    let out = run(&["decode", "3005000161"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("input ends inside packet 1"), "{}", stderr(&out));
}

#[test]
fn decode_rejects_non_hex() {
    let out = run(&["decode", "c0 0g"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not hex"), "{}", stderr(&out));
}

#[test]
fn encode_reads_lines_from_stdin() {
    let input = "{\"type\":\"pingreq\"}\n\n{\"type\":\"puback\",\"packet_identifier\":258,\"reason_code\":16}\n";
    let out = run(&["encode"], Some(input));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "c000\n4003010210\n");
}

#[test]
fn encode_refusal_names_line_and_reason_code() {
    let input = "{\"type\":\"pingreq\"}\n{\"type\":\"publish\",\"qos\":1,\"topic_name\":\"a\",\"payload_hex\":\"\"}\n";
    let out = run(&["encode"], Some(input));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("0x82 Protocol Error"), "{err}");
}

#[test]
fn encode_rejects_json_that_is_not_a_packet() {
    let out = run(&["encode", "{\"type\":\"publish\",\"topic\":\"a\"}"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 1: not a packet"), "{}", stderr(&out));
}

#[test]
fn summary_names_reason_codes() {
    let out = run(&["decode", "--summary", "4003000110"], None);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "PUBACK id=1 0x10 No matching subscribers\n");
}

/// Every golden vector through the binary: valid ones decode to their JSON
/// form and encode back, invalid ones fail with their reason code.
#[test]
fn golden_vectors_through_the_cli() {
    let dir = repo().join("tests/vectors");
    let mut valid = 0;
    let mut invalid = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/vectors") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let Some(vectors) = file["vectors"].as_array() else { continue };
        for v in vectors {
            let name = v["name"].as_str().unwrap_or("?");
            let protocol = v["protocol"].to_string();
            let hex = v["hex"].as_str().expect("hex");
            let mut args = vec!["decode".to_string(), "-p".to_string(), protocol.clone()];
            if let Some(max) = v.get("max_packet_size") {
                args.extend(["--max-packet-size".to_string(), max.to_string()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // Through stdin: a single argument is limited to 128 KiB on Linux.
            let out = run(&args, Some(hex));
            if let Some(err) = v.get("error") {
                let code = err["reason_code"].as_u64().expect("reason_code");
                assert_eq!(out.status.code(), Some(1), "{name}: accepted");
                let msg = stderr(&out);
                assert!(msg.contains(&format!("0x{code:02X}")), "{name}: {msg}");
                assert!(msg.contains("at byte"), "{name}: {msg}");
                invalid += 1;
            } else {
                assert!(out.status.success(), "{name}: {}", stderr(&out));
                let got = json_lines(&out);
                assert_eq!(got.len(), 1, "{name}");
                let expected = &v["packet"];
                let reencoded = run(&["encode", "-p", &protocol], Some(&stdout(&out)));
                assert!(reencoded.status.success(), "{name}: {}", stderr(&reencoded));
                if v.get("canonical").and_then(|c| c.as_bool()).unwrap_or(true) {
                    assert_eq!(stdout(&reencoded).trim(), hex, "{name}");
                }
                let again = run(&["decode", "-p", &protocol], Some(&stdout(&reencoded)));
                assert_eq!(json_lines(&again), got, "{name}");
                // The printed form agrees with the vector's, key for key.
                let canonical = run(&["encode", "-p", &protocol], Some(&expected.to_string()));
                assert!(canonical.status.success(), "{name}: {}", stderr(&canonical));
                let from_vector = run(&["decode", "-p", &protocol], Some(&stdout(&canonical)));
                assert_eq!(json_lines(&from_vector), got, "{name}");
                valid += 1;
            }
        }
    }
    assert!(valid >= 200 && invalid >= 150, "only {valid} valid and {invalid} invalid vectors");
}
