//! The golden vectors of `tests/vectors/*.json` (DESIGN §8), which the Rust,
//! Python, JavaScript and C suites all run. The format is described in
//! `tests/vectors/README.md`; the files are written by
//! `tests/vectors/generate.py` and their valid hex is confirmed by an
//! independent codec in `tests/peer/`.
//!
//! - A valid vector decodes (whole, and fed to [`Decoder`] a byte at a time)
//!   to the packet its JSON form describes, and that packet serializes back to
//!   exactly that JSON. A canonical one also encodes to exactly its hex, in
//!   `encoded_len` bytes; a non-canonical one (another valid wire form) encodes
//!   to bytes that decode to the same packet.
//! - An invalid vector is refused with exactly its reason code, both by
//!   `decode_exact` (or `decode` with its `max_packet_size`) and by a
//!   [`Decoder`] fed a byte at a time. Failures name the vector and the
//!   normative statement it checks, e.g. `[MQTT-3.3.1-4] v5-publish-qos-3`.

use mqtt_engine::codec::{
    decode, decode_exact, decode_view, DecodeError, Decoder, Packet, PacketView, Protocol,
};
use mqtt_engine::{Bytes, ReasonCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The suite may grow, never silently shrink.
const MIN_VALID: usize = 200;
const MIN_INVALID: usize = 150;

/// The reason codes a decode error may carry.
const DECODE_CODES: [u8; 4] = [0x81, 0x82, 0x84, 0x95];

struct Vector {
    file: String,
    name: String,
    protocol: Protocol,
    bytes: Bytes,
    json: Value,
}

impl Vector {
    fn is_valid(&self) -> bool {
        self.json.get("packet").is_some()
    }

    fn canonical(&self) -> bool {
        self.json.get("canonical").and_then(Value::as_bool).unwrap_or(true)
    }

    /// `(reason code, statement id)` of an invalid vector.
    fn error(&self) -> (u8, &str) {
        let e = &self.json["error"];
        let code = e["reason_code"].as_u64().and_then(|c| u8::try_from(c).ok());
        (code.unwrap_or(0), e["statement"].as_str().unwrap_or("?"))
    }

    fn max_packet_size(&self) -> Option<u32> {
        self.json.get("max_packet_size").and_then(Value::as_u64).map(|m| m as u32)
    }

    /// How failures name the vector: `[statement] name` for invalid vectors.
    fn label(&self) -> String {
        if self.is_valid() {
            format!("{} ({})", self.name, self.file)
        } else {
            format!("[{}] {} ({})", self.error().1, self.name, self.file)
        }
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn load_file(path: &Path, out: &mut Vec<Vector>) -> Result<(), String> {
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    if !doc["description"].is_string() {
        return Err(format!("{file}: no \"description\""));
    }
    let list = doc["vectors"].as_array().ok_or_else(|| format!("{file}: no \"vectors\" list"))?;
    for json in list {
        let name = json["name"].as_str().ok_or_else(|| format!("{file}: a vector has no name"))?;
        let protocol = match json["protocol"].as_u64() {
            Some(4) => Protocol::V311,
            Some(5) => Protocol::V5,
            other => return Err(format!("{file}: {name}: protocol {other:?} is not 4 or 5")),
        };
        let hex_str = json["hex"].as_str().ok_or_else(|| format!("{file}: {name}: no hex"))?;
        if hex_str.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("{file}: {name}: hex must be lowercase"));
        }
        let bytes = hex::decode(hex_str).map_err(|e| format!("{file}: {name}: hex: {e}"))?;
        let has_packet = json.get("packet").is_some();
        let has_error = json.get("error").is_some();
        if has_packet == has_error {
            return Err(format!("{file}: {name}: needs exactly one of \"packet\" and \"error\""));
        }
        if has_error && !json["why"].is_string() {
            return Err(format!("{file}: {name}: an invalid vector needs a \"why\""));
        }
        out.push(Vector {
            file: file.clone(),
            name: name.to_owned(),
            protocol,
            bytes: Bytes::from(bytes),
            json: json.clone(),
        });
    }
    Ok(())
}

/// Every vector of every `*.json` file, loaded once for all tests.
fn vectors() -> &'static [Vector] {
    static VECTORS: OnceLock<Vec<Vector>> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let dir = vectors_dir();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for p in &paths {
            if let Err(e) = load_file(p, &mut out) {
                panic!("{e}");
            }
        }
        out
    })
}

fn valid() -> impl Iterator<Item = &'static Vector> {
    vectors().iter().filter(|v| v.is_valid())
}

fn invalid() -> impl Iterator<Item = &'static Vector> {
    vectors().iter().filter(|v| !v.is_valid())
}

/// Panics with every failure at once, so one run shows the whole picture.
fn report(what: &str, failures: Vec<String>) {
    if !failures.is_empty() {
        panic!("{} {what}:\n  {}", failures.len(), failures.join("\n  "));
    }
}

/// Feeds `bytes` to a fresh [`Decoder`] one byte at a time and returns what it
/// made of them: the packets it yielded, then the error that stopped it, if any.
fn stream(
    protocol: Protocol,
    max: Option<u32>,
    bytes: &[u8],
) -> (Vec<Packet>, Option<DecodeError>) {
    let mut d = Decoder::new(protocol);
    if let Some(m) = max {
        d = d.with_max_packet_size(m);
    }
    let mut packets = Vec::new();
    for b in bytes.chunks(1) {
        if let Err(e) = d.push(b) {
            return (packets, Some(e));
        }
        loop {
            match d.next_packet() {
                Ok(Some(p)) => packets.push(p),
                Ok(None) => break,
                Err(e) => return (packets, Some(e)),
            }
        }
    }
    (packets, None)
}

fn expected_packet(v: &Vector) -> Result<Packet, String> {
    serde_json::from_value(v.json["packet"].clone())
        .map_err(|e| format!("{}: \"packet\" is not a valid JSON form: {e}", v.label()))
}

#[test]
fn vector_files_hold_enough_vectors() {
    let all = vectors();
    let names: BTreeSet<&str> = all.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names.len(), all.len(), "vector names must be unique across all files");

    let count = |valid: bool, p: Protocol| {
        all.iter().filter(|v| v.is_valid() == valid && v.protocol == p).count()
    };
    let (v4, v5) = (count(true, Protocol::V311), count(true, Protocol::V5));
    let (i4, i5) = (count(false, Protocol::V311), count(false, Protocol::V5));
    println!("valid: {v4} MQTT 3.1.1 + {v5} MQTT 5.0; invalid: {i4} MQTT 3.1.1 + {i5} MQTT 5.0");
    assert!(v4 + v5 >= MIN_VALID, "only {} valid vectors, at least {MIN_VALID} expected", v4 + v5);
    assert!(i4 + i5 >= MIN_INVALID, "only {} invalid vectors, {MIN_INVALID} expected", i4 + i5);
    assert!(v4 > 0 && v5 > 0 && i4 > 0 && i5 > 0, "each version needs valid and invalid vectors");

    // Every packet type is covered in each version where it exists.
    let mut types: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for v in valid() {
        let t = v.json["packet"]["type"].as_str().unwrap_or("?").to_owned();
        types.entry(v.json["protocol"].as_u64().unwrap_or(0)).or_default().insert(t);
    }
    let all_types = [
        "connect",
        "connack",
        "publish",
        "puback",
        "pubrec",
        "pubrel",
        "pubcomp",
        "subscribe",
        "suback",
        "unsubscribe",
        "unsuback",
        "pingreq",
        "pingresp",
        "disconnect",
        "auth",
    ];
    for (level, expected) in [(4u64, &all_types[..14]), (5, &all_types[..])] {
        for t in expected {
            assert!(
                types.get(&level).is_some_and(|s| s.contains(*t)),
                "no valid {t} vector for protocol {level}"
            );
        }
    }
}

#[test]
fn valid_vectors_decode_to_their_json_form() {
    let mut failures = Vec::new();
    for v in valid() {
        let expected = match expected_packet(v) {
            Ok(p) => p,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        match decode_exact(v.protocol, &v.bytes) {
            Ok(p) if p == expected => {
                // The JSON form of what was decoded is exactly the vector's.
                match serde_json::to_value(&p) {
                    Ok(json) if json == v.json["packet"] => {}
                    Ok(json) => failures.push(format!(
                        "{}: decoded packet serializes to {json}, not to the vector's JSON",
                        v.label()
                    )),
                    Err(e) => failures.push(format!("{}: serialize: {e}", v.label())),
                }
            }
            Ok(p) => failures.push(format!("{}: decoded {p:?}, expected {expected:?}", v.label())),
            Err(e) => failures.push(format!("{}: refused: {e}", v.label())),
        }
        // A limit of exactly the packet's size admits it.
        let len = v.bytes.len() as u32;
        if let Err(e) = decode(v.protocol, &v.bytes, len) {
            failures.push(format!("{}: refused at a maximum packet size of {len}: {e}", v.label()));
        }
    }
    report("valid vectors that do not decode to their JSON form", failures);
}

#[test]
fn valid_vectors_decode_from_a_byte_stream() {
    let mut failures = Vec::new();
    for v in valid() {
        let Ok(expected) = expected_packet(v) else { continue };
        match stream(v.protocol, None, &v.bytes) {
            (packets, None) if packets == [expected.clone()] => {}
            (packets, err) => failures.push(format!(
                "{}: a byte-at-a-time Decoder gave {} packet(s) and error {err:?}",
                v.label(),
                packets.len()
            )),
        }
    }
    report("valid vectors that a Decoder fed byte by byte gets wrong", failures);
}

#[test]
fn canonical_vectors_encode_to_their_hex() {
    let mut failures = Vec::new();
    for v in valid() {
        let Ok(packet) = expected_packet(v) else { continue };
        let encoded = match packet.encode_to_vec(v.protocol) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: encode refused the packet: {e}", v.label()));
                continue;
            }
        };
        match packet.encoded_len(v.protocol) {
            Ok(n) if n == encoded.len() => {}
            other => failures.push(format!(
                "{}: encoded_len {other:?}, but encode wrote {} bytes",
                v.label(),
                encoded.len()
            )),
        }
        if v.canonical() {
            if encoded != v.bytes[..] {
                failures.push(format!(
                    "{}: encodes to {}, expected {}",
                    v.label(),
                    hex::encode(&encoded),
                    hex::encode(&v.bytes)
                ));
            }
        } else {
            // Another valid wire form: our own encoding must still mean the same packet.
            if encoded == v.bytes[..] {
                failures
                    .push(format!("{}: marked non-canonical but encodes to its hex", v.label()));
            }
            match decode_exact(v.protocol, &Bytes::from(encoded)) {
                Ok(back) if back == packet => {}
                other => failures.push(format!("{}: re-encoding decodes to {other:?}", v.label())),
            }
        }
    }
    report("valid vectors whose packet does not encode as expected", failures);
}

#[test]
fn invalid_vectors_are_refused_with_their_reason_code() {
    let mut failures = Vec::new();
    for v in invalid() {
        let (code, _) = v.error();
        let expected = ReasonCode(code);
        if !DECODE_CODES.contains(&code) {
            failures.push(format!("{}: 0x{code:02X} is not a code decoding reports", v.label()));
        }
        let got = match v.max_packet_size() {
            Some(max) => decode(v.protocol, &v.bytes, max).map(|r| format!("{r:?}")),
            None => decode_exact(v.protocol, &v.bytes).map(|p| format!("{p:?}")),
        };
        match got {
            Err(e) if e.reason_code == expected => {}
            Err(e) => failures.push(format!("{}: expected {expected}, got {e}", v.label())),
            Ok(p) => failures.push(format!("{}: expected {expected}, accepted: {p}", v.label())),
        }
    }
    report("invalid vectors not refused as expected", failures);
}

#[test]
fn invalid_vectors_are_refused_by_a_byte_stream_decoder() {
    let mut failures = Vec::new();
    for v in invalid() {
        let expected = ReasonCode(v.error().0);
        match stream(v.protocol, v.max_packet_size(), &v.bytes) {
            (_, Some(e)) if e.reason_code == expected => {}
            (_, Some(e)) => failures.push(format!("{}: expected {expected}, got {e}", v.label())),
            (packets, None) => failures.push(format!(
                "{}: expected {expected}, the Decoder gave {} packet(s) and no error",
                v.label(),
                packets.len()
            )),
        }
    }
    report("invalid vectors a Decoder fed byte by byte does not refuse as expected", failures);
}

/// The borrowed decoder agrees with the owned one on every vector: a valid
/// PUBLISH reads the same through its view, any other packet comes out owned
/// and equal, and an invalid vector is refused with the same reason code,
/// offset and message (so it, too, checks each vector's statement).
#[test]
fn every_vector_decodes_the_same_through_decode_view() {
    let mut failures = Vec::new();
    for v in vectors() {
        let max = v.max_packet_size().unwrap_or(u32::MAX);
        let owned = decode(v.protocol, &v.bytes, max);
        let view = decode_view(v.protocol, &v.bytes, max);
        let same = match (&owned, &view) {
            (Ok(Some((Packet::Publish(p), n))), Ok(Some((PacketView::Publish(w), m)))) => {
                n == m && w.to_publish() == *p
            }
            (Ok(Some((p, n))), Ok(Some((PacketView::Other(q), m)))) => {
                n == m && p == q && !matches!(p, Packet::Publish(_))
            }
            (Ok(None), Ok(None)) => true,
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        if !same {
            failures.push(format!("{}: decode gave {owned:?}, decode_view {view:?}", v.label()));
        }
    }
    report("vectors that decode and decode_view read differently", failures);
}
