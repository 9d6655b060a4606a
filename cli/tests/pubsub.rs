//! `mqtt-engine pub` and `mqtt-engine sub` against a real mosquitto broker,
//! with mosquitto_pub and mosquitto_sub on the other side.
//!
//! Every child process runs under a hard deadline: a hang kills it and fails
//! the test. Readiness is read from the processes themselves (`-d` prints the
//! SUBACK), never guessed with a sleep.

// Tests fail loudly: an unwrap is an assertion.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{Done, Input, Proc, BIN};
use mqtt_engine_testkit::mosquitto::Mosquitto;

/// Runs our binary to the end.
fn run(args: &[&str]) -> Done {
    Proc::ours(args).finish()
}

/// Runs our binary with `stdin` to the end.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Done {
    Proc::spawn(BIN, args, Input::Data(stdin)).finish()
}

/// Our `sub` with `-d`, once its SUBACK has arrived.
fn our_sub(args: &[&str]) -> Proc {
    let mut all = vec!["sub", "-d"];
    all.extend_from_slice(args);
    let mut p = Proc::ours(&all);
    p.wait_stderr("<- SUBACK");
    p
}

/// mosquitto_sub with client id `id`, once the broker has sent it SUBACK
/// (mosquitto_sub prints its debug lines on stdout, so the broker log tells).
fn mosquitto_sub(broker: &Mosquitto, id: &str, args: &[&str]) -> Proc {
    let mut all = vec!["-i", id];
    all.extend_from_slice(args);
    let mut p = Proc::spawn("mosquitto_sub", &all, Input::None);
    let needle = format!("Sending SUBACK to {id}\n");
    while !broker.log().contains(&needle) {
        if p.left().is_zero() || p.child.try_wait().unwrap().is_some() {
            let _ = p.child.kill();
            panic!("mosquitto_sub {all:?} did not subscribe; broker log:\n{}", broker.log());
        }
        // Waiting for another process, not for engine time.
        thread::sleep(Duration::from_millis(5));
    }
    p
}

fn mosquitto_pub(args: &[&str]) -> Done {
    let d = Proc::spawn("mosquitto_pub", args, Input::None).finish();
    assert!(d.status.success(), "mosquitto_pub failed: {d:#?}");
    d
}

/// Our -V value and mosquitto's for each protocol version.
const VERSIONS: [(&str, &str); 2] = [("5", "mqttv5"), ("311", "mqttv311")];

#[test]
fn pub_reaches_mosquitto_sub_at_qos_0_1_2_over_5_and_311() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    for (ours, theirs) in VERSIONS {
        let topic = format!("it/pub/{ours}/#");
        let sub = mosquitto_sub(
            &broker,
            &format!("msub-{ours}"),
            &["-p", &port, "-V", theirs, "-q", "2", "-C", "3", "-t", &topic, "-F", "%q %t %p"],
        );
        for qos in ["0", "1", "2"] {
            let t = format!("it/pub/{ours}/q{qos}");
            let id = format!("pub-v{ours}-q{qos}");
            let payload = format!("message at qos {qos}");
            run(&["pub", "-p", &port, "-V", ours, "-i", &id, "-q", qos, "-t", &t, "-m", &payload])
                .ok();
            // The broker received it from us at that QoS.
            let log = broker.log();
            assert!(
                log.contains(&format!("Received PUBLISH from {id} (d0, q{qos}")),
                "broker log lacks our q{qos} PUBLISH:\n{log}"
            );
        }
        let got = sub.finish();
        got.ok();
        let mut lines = got.lines();
        lines.sort();
        assert_eq!(
            lines,
            [0, 1, 2].map(|q| format!("{q} it/pub/{ours}/q{q} message at qos {q}")),
            "v{ours}"
        );
    }
}

#[test]
fn mosquitto_pub_reaches_sub_at_qos_0_1_2_over_5_and_311() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    for (ours, theirs) in VERSIONS {
        let topic = format!("it/sub/{ours}/#");
        let sub = our_sub(&["-p", &port, "-V", ours, "-q", "2", "-C", "3", "--json", "-t", &topic]);
        for qos in ["0", "1", "2"] {
            let t = format!("it/sub/{ours}/q{qos}");
            mosquitto_pub(&["-p", &port, "-V", theirs, "-q", qos, "-t", &t, "-m", qos]);
        }
        let got = sub.finish();
        got.ok();
        let mut msgs = got.json();
        msgs.sort_by_key(|m| m["qos"].as_u64());
        for (q, m) in msgs.iter().enumerate() {
            assert_eq!(m["topic"], format!("it/sub/{ours}/q{q}"), "{got:#?}");
            assert_eq!(m["qos"], q, "{got:#?}");
            assert_eq!(m["payload"], q.to_string(), "{got:#?}");
            assert_eq!(m["retain"], false);
        }
        assert_eq!(msgs.len(), 3, "{got:#?}");
        // The QoS 2 flow ran to its end on our side, and we closed cleanly.
        assert!(got.stderr.contains("-> PUBREC"), "{}", got.stderr);
        assert!(got.stderr.contains("-> PUBCOMP"), "{}", got.stderr);
        assert!(got.stderr.contains("-> DISCONNECT 0x00"), "{}", got.stderr);
    }
}

#[test]
fn message_properties_survive_pub_to_mosquitto_sub() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    let sub = mosquitto_sub(
        &broker,
        "msub-props",
        &[
            "-p",
            &port,
            "-V",
            "mqttv5",
            "-q",
            "1",
            "-C",
            "1",
            "-t",
            "props/#",
            "-F",
            "%t|%q|%C|%D|%E|%R|%P|%p",
        ],
    );
    run(&[
        "pub",
        "-p",
        &port,
        "-q",
        "1",
        "-t",
        "props/a",
        "-m",
        "payload text",
        "--user-property",
        "k",
        "v",
        "--user-property",
        "k",
        "w",
        "--user-property",
        "other",
        "x y",
        "--content-type",
        "text/plain",
        "--response-topic",
        "props/reply",
        "--correlation-data",
        "corr-1",
        "--message-expiry",
        "300",
    ])
    .ok();
    let got = sub.finish();
    got.ok();
    assert_eq!(
        got.lines(),
        ["props/a|1|text/plain|corr-1|300|props/reply|k:v k:w other:x y|payload text"]
    );
}

#[test]
fn sub_json_carries_properties_and_subscription_identifier() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    let sub = our_sub(&[
        "-p",
        &port,
        "-q",
        "2",
        "-C",
        "2",
        "--json",
        "--subscription-identifier",
        "42",
        "-t",
        "json/#",
    ]);
    mosquitto_pub(&[
        "-p",
        &port,
        "-V",
        "mqttv5",
        "-q",
        "2",
        "-t",
        "json/text",
        "-m",
        "héllo",
        "-D",
        "publish",
        "user-property",
        "k",
        "v",
        "-D",
        "publish",
        "user-property",
        "k",
        "w",
        "-D",
        "publish",
        "content-type",
        "text/plain",
        "-D",
        "publish",
        "response-topic",
        "json/reply",
        "-D",
        "publish",
        "correlation-data",
        "abc",
        "-D",
        "publish",
        "message-expiry-interval",
        "300",
    ]);
    let binary = broker.dir().join("binary.bin");
    std::fs::write(&binary, [0xff, 0x00, 0x80]).unwrap();
    mosquitto_pub(&[
        "-p",
        &port,
        "-V",
        "mqttv5",
        "-q",
        "1",
        "-t",
        "json/bin",
        "-f",
        binary.to_str().unwrap(),
    ]);
    let got = sub.finish();
    got.ok();
    let msgs = got.json();
    assert_eq!(msgs.len(), 2, "{got:#?}");
    let text = &msgs[0];
    assert_eq!(text["topic"], "json/text");
    assert_eq!(text["qos"], 2);
    assert_eq!(text["retain"], false);
    assert_eq!(text["payload"], "héllo");
    assert_eq!(text["user_properties"], serde_json::json!([["k", "v"], ["k", "w"]]));
    assert_eq!(text["content_type"], "text/plain");
    assert_eq!(text["response_topic"], "json/reply");
    assert_eq!(text["correlation_data_hex"], "616263");
    let expiry = text["message_expiry_interval"].as_u64().unwrap();
    assert!((295..=300).contains(&expiry), "{expiry}");
    assert_eq!(text["subscription_identifiers"], serde_json::json!([42]));
    let bin = &msgs[1];
    assert_eq!(bin["topic"], "json/bin");
    assert_eq!(bin["qos"], 1);
    assert_eq!(bin["payload_hex"], "ff0080");
    assert!(bin.get("payload").is_none());
    assert!(bin.get("user_properties").is_none());
}

#[test]
fn sub_exits_after_count_timeout_and_subscribe_and_skips_stale_retained() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    // Retained messages are there before anyone subscribes.
    for (t, m) in [("ret/a", "1"), ("ret/b", "2"), ("ret/c", "3")] {
        run(&["pub", "-p", &port, "-r", "-q", "1", "-t", t, "-m", m]).ok();
    }
    // -C 2: exits 0 after two of the three.
    let got = run(&["sub", "-p", &port, "-t", "ret/#", "-C", "2", "-v"]);
    got.ok();
    assert_eq!(got.lines().len(), 2, "{got:#?}");
    assert!(got.lines().iter().all(|l| l.starts_with("ret/")));

    // --json shows the retain flag of a retained message.
    let got = run(&["sub", "-p", &port, "-t", "ret/a", "-C", "1", "--json"]);
    got.ok();
    assert_eq!(got.json()[0]["retain"], true);

    // -W: nothing new arrives; -R skips the stale retained ones. Exit 27
    // "Timed out", as mosquitto_sub.
    let started = Instant::now();
    let got = run(&["sub", "-p", &port, "-t", "ret/#", "-R", "-W", "1", "-v"]);
    let took = started.elapsed();
    assert_eq!(got.status.code(), Some(27), "{got:#?}");
    assert!(got.stderr.contains("Timed out"), "{got:#?}");
    assert_eq!(got.stdout, "", "-R must skip retained messages");
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(5), "{took:?}");

    // -E: exits 0 once subscribed.
    let got = run(&["sub", "-p", &port, "-t", "nothing/here", "-E", "-d"]);
    got.ok();
    assert!(got.stderr.contains("<- SUBACK"), "{got:#?}");

    // Clear the retained messages (empty retained payloads), then nothing is left.
    for t in ["ret/a", "ret/b", "ret/c"] {
        run(&["pub", "-p", &port, "-r", "-n", "-t", t]).ok();
    }
    let got = run(&["sub", "-p", &port, "-t", "ret/#", "-W", "1"]);
    assert_eq!(got.status.code(), Some(27), "{got:#?}");
    assert_eq!(got.stdout, "");
}

#[test]
fn pub_payload_sources_lines_stdin_file_null_and_url() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    let sub = mosquitto_sub(
        &broker,
        "msub-sources",
        &["-p", &port, "-V", "mqttv5", "-q", "1", "-C", "6", "-t", "src/#", "-v"],
    );
    // -l: one message per line, in order; -L gives host, port and topic.
    let url = format!("mqtt://127.0.0.1:{port}/src/lines");
    run_with_stdin(&["pub", "-L", &url, "-q", "1", "-l"], b"one\ntwo\r\nthree\n").ok();
    // -s: all of stdin.
    run_with_stdin(&["pub", "-p", &port, "-t", "src/stdin", "-s"], b"all\nof it").ok();
    // -f: a file.
    let file = broker.dir().join("payload.txt");
    std::fs::write(&file, "from a file").unwrap();
    run(&["pub", "-p", &port, "-q", "2", "-t", "src/file", "-f", file.to_str().unwrap()]).ok();
    // -n: an empty message (mosquitto_sub -v shows "(null)").
    run(&["pub", "-p", &port, "-t", "src/null", "-n", "-q", "1"]).ok();
    let got = sub.finish();
    got.ok();
    assert_eq!(
        got.stdout,
        "src/lines one\nsrc/lines two\nsrc/lines three\nsrc/stdin all\nof it\n\
         src/file from a file\nsrc/null (null)\n"
    );
}

#[test]
fn persistent_session_gets_messages_sent_while_away() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    for (ours, theirs) in VERSIONS {
        let id = format!("persistent-{ours}");
        let filter = format!("away/{ours}/#");
        let topic = format!("away/{ours}/t");
        // Subscribe with a session that outlives the connection, then leave.
        run(&["sub", "-p", &port, "-V", ours, "-c", "-i", &id, "-q", "1", "-t", &filter, "-E"])
            .ok();
        mosquitto_pub(&["-p", &port, "-V", theirs, "-q", "1", "-t", &topic, "-m", "while away"]);
        // Come back: the session is resumed and the message delivered.
        let got = run(&[
            "sub", "-p", &port, "-V", ours, "-c", "-i", &id, "-q", "1", "-t", &filter, "-C", "1",
            "-v", "-d",
        ]);
        got.ok();
        assert!(got.stderr.contains("session-present=true"), "{got:#?}");
        assert_eq!(got.stdout, format!("{topic} while away\n"));
    }
    // -x 0 with -c: the session ends with the connection (MQTT 5).
    run(&["sub", "-p", &port, "-c", "-x", "0", "-i", "short", "-q", "1", "-t", "gone/#", "-E"])
        .ok();
    mosquitto_pub(&["-p", &port, "-q", "1", "-t", "gone/t", "-m", "lost"]);
    let got = run(&["sub", "-p", &port, "-c", "-i", "short", "-t", "gone/#", "-W", "1", "-d"]);
    assert_eq!(got.status.code(), Some(27), "{got:#?}");
    assert!(got.stderr.contains("session-present=false"), "{got:#?}");
    assert_eq!(got.stdout, "");
}

/// Makes a CA, a server certificate for "localhost" only, and a client
/// certificate, with the openssl command line.
fn make_certs(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    for ca in ["ca", "other-ca"] {
        let mut args = vec!["req", "-x509", "-new"];
        args.extend(ec);
        let subject = format!("/CN=mqtt-engine test {ca}");
        let (key, pem) = (format!("{ca}.key"), format!("{ca}.pem"));
        args.extend([
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args);
    }
    for (name, ext) in [
        ("server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("basicConstraints=CA:FALSE\n{ext}"),
        )
        .unwrap();
        let (key, csr, pem, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let subject = format!("/CN={name}");
        let mut args = vec!["req", "-new"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
        openssl(&args);
        // mosquitto reads the key after dropping root privileges.
        std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o644)).unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &extfile,
        ]);
    }
}

/// A broker with two TLS listeners: the first with server authentication
/// only, the second requiring a client certificate.
fn tls_broker() -> Mosquitto {
    Mosquitto::start_custom(2, |ports, dir| {
        make_certs(dir);
        let d = dir.display();
        let listener = |port: u16| {
            format!(
                "listener {port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
            )
        };
        format!(
            "per_listener_settings false\nallow_anonymous true\n{}{}require_certificate true\n",
            listener(ports[0]),
            listener(ports[1])
        )
    })
}

#[test]
fn tls_pub_and_sub_with_a_generated_ca() {
    let broker = tls_broker();
    let port = broker.ports()[0].to_string();
    let ca = broker.dir().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let sub = our_sub(&[
        "-h",
        "localhost",
        "-p",
        &port,
        "--cafile",
        ca,
        "-q",
        "1",
        "-C",
        "2",
        "-v",
        "-t",
        "tls/#",
    ]);
    run(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &port,
        "--cafile",
        ca,
        "-q",
        "1",
        "-t",
        "tls/a",
        "-m",
        "secret",
    ])
    .ok();
    // -L mqtts:// means TLS too; mosquitto_pub over TLS reaches our sub.
    let url = format!("mqtts://localhost:{port}/tls/b");
    run(&["pub", "-L", &url, "--cafile", ca, "-q", "2", "-m", "by url"]).ok();
    let got = sub.finish();
    got.ok();
    assert_eq!(got.stdout, "tls/a secret\ntls/b by url\n");

    let sub = our_sub(&["-h", "localhost", "-p", &port, "--cafile", ca, "-C", "1", "-t", "tls/c"]);
    mosquitto_pub(&[
        "-h",
        "localhost",
        "-p",
        &port,
        "--cafile",
        ca,
        "-t",
        "tls/c",
        "-m",
        "interop",
    ]);
    assert_eq!(sub.finish().ok().stdout, "interop\n");
}

#[test]
fn tls_failures_are_readable_and_insecure_skips_only_the_name() {
    let broker = tls_broker();
    let port = broker.ports()[0].to_string();
    let dir = broker.dir();
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let other = dir.join("other-ca.pem");
    let other = other.to_str().unwrap();

    // A CA that did not sign the server's certificate.
    let got =
        run(&["pub", "-h", "localhost", "-p", &port, "--cafile", other, "-t", "t", "-m", "x"]);
    assert!(!got.status.success());
    assert_eq!(got.stderr.lines().count(), 1, "one line: {got:#?}");
    assert!(got.stderr.starts_with("mqtt-engine: TLS handshake with localhost:"), "{got:#?}");
    assert!(got.stderr.contains("invalid peer certificate: UnknownIssuer"), "{got:#?}");

    // The certificate names localhost, not 127.0.0.1.
    let got = run(&["pub", "-h", "127.0.0.1", "-p", &port, "--cafile", ca, "-t", "t", "-m", "x"]);
    assert!(!got.status.success());
    assert!(got.stderr.contains("TLS handshake with 127.0.0.1:"), "{got:#?}");
    assert!(got.stderr.contains("certificate not valid for name \"127.0.0.1\""), "{got:#?}");

    // --insecure accepts the name mismatch but still verifies the chain.
    run(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "--cafile",
        ca,
        "--insecure",
        "-t",
        "t",
        "-m",
        "x",
    ])
    .ok();
    let got = run(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "--cafile",
        other,
        "--insecure",
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert!(!got.status.success());
    assert!(got.stderr.contains("UnknownIssuer"), "{got:#?}");

    // Plain MQTT to a TLS port is not a hang but an error.
    let got = run(&["pub", "-h", "127.0.0.1", "-p", &port, "-t", "t", "-m", "x"]);
    assert!(!got.status.success(), "{got:#?}");
    assert!(got.stderr.starts_with("mqtt-engine: "), "{got:#?}");

    // A listener that requires a client certificate: refused without one,
    // accepted with --cert/--key.
    let mtls = broker.ports()[1].to_string();
    let got = run(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &mtls,
        "--cafile",
        ca,
        "-q",
        "1",
        "-t",
        "t",
        "-m",
        "x",
    ]);
    assert!(!got.status.success(), "{got:#?}");
    assert!(got.stderr.starts_with("mqtt-engine: "), "{got:#?}");
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    run(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &mtls,
        "--cafile",
        ca,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "-q",
        "1",
        "-t",
        "t",
        "-m",
        "x",
    ])
    .ok();
}

#[test]
fn bad_password_is_refused_with_the_reason_code_name() {
    let broker = Mosquitto::start_custom(1, |ports, dir| {
        let file = dir.join("passwd");
        let status = Command::new("mosquitto_passwd")
            .arg("-c")
            .arg("-b")
            .arg(&file)
            .args(["alice", "s3cret"])
            .status()
            .unwrap();
        assert!(status.success());
        format!(
            "per_listener_settings false\nlistener {} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
            ports[0],
            file.display()
        )
    });
    let port = broker.port().to_string();
    for (ours, _) in VERSIONS {
        let got = run(&[
            "pub", "-p", &port, "-V", ours, "-u", "alice", "-P", "wrong", "-t", "t", "-m", "x",
        ]);
        assert!(!got.status.success(), "{got:#?}");
        assert_eq!(got.stderr.lines().count(), 1, "one line: {got:#?}");
        // mosquitto 2.0 answers 0x87 Not authorized (3.1.1: return code 5).
        assert!(
            got.stderr
                .starts_with("mqtt-engine: connection refused: 0x86 Bad User Name or Password")
                || got.stderr.starts_with("mqtt-engine: connection refused: 0x87 Not authorized"),
            "v{ours}: {got:#?}"
        );
        if ours == "311" {
            assert!(got.stderr.contains("(MQTT 3.1.1 return code "), "{got:#?}");
        }
        // -L carries the user name and password too.
        let url = format!("mqtt://alice:s3cret@127.0.0.1:{port}/t");
        run(&["pub", "-L", &url, "-V", ours, "-q", "1", "-m", "x"]).ok();
    }
    let got = run(&["sub", "-p", &port, "-t", "t"]);
    assert!(!got.status.success(), "{got:#?}");
    assert!(got.stderr.starts_with("mqtt-engine: connection refused: 0x8"), "{got:#?}");
}

#[test]
fn local_refusals_packet_too_large_and_qos_not_supported() {
    let broker = Mosquitto::start("max_packet_size 200\nmax_qos 1\n");
    let port = broker.port().to_string();
    let big = "x".repeat(300);
    let got = run(&["pub", "-p", &port, "-t", "big", "-m", &big]);
    assert!(!got.status.success(), "{got:#?}");
    assert!(
        got.stderr.starts_with("mqtt-engine: cannot publish to \"big\": 0x95 Packet too large"),
        "{got:#?}"
    );
    assert!(got.stderr.contains("at most 200 bytes"), "{got:#?}");
    let got = run(&["pub", "-p", &port, "-t", "q", "-q", "2", "-m", "x"]);
    assert!(!got.status.success(), "{got:#?}");
    assert!(
        got.stderr.starts_with("mqtt-engine: cannot publish to \"q\": 0x9B QoS not supported"),
        "{got:#?}"
    );
    run(&["pub", "-p", &port, "-t", "q", "-q", "1", "-m", "x"]).ok();
    // Properties need MQTT 5: said before connecting.
    let got = run(&["pub", "-p", &port, "-V", "311", "-t", "q", "-m", "x", "--content-type", "a"]);
    assert!(!got.status.success());
    assert!(got.stderr.contains("need MQTT 5"), "{got:#?}");
}

#[test]
fn network_errors_are_one_line() {
    // A port nothing listens on: a broker's port after it is gone.
    let port = {
        let broker = Mosquitto::start("");
        broker.port().to_string()
    };
    let got = run(&["pub", "-h", "127.0.0.1", "-p", &port, "-t", "t", "-m", "x"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert_eq!(
        got.stderr,
        format!("mqtt-engine: cannot connect to 127.0.0.1:{port}: Connection refused")
    );
    let got = run(&["sub", "-h", "127.0.0.1", "-p", &port, "-t", "t"]);
    assert_eq!(got.status.code(), Some(1), "{got:#?}");
    assert!(got.stderr.contains("Connection refused"), "{got:#?}");
}

#[test]
fn ctrl_c_sends_disconnect_and_exits_0() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    for (ours, _) in VERSIONS {
        let id = format!("interrupted-{ours}");
        let sub = our_sub(&["-p", &port, "-V", ours, "-i", &id, "-t", "never/#"]);
        sub.interrupt();
        let got = sub.finish();
        assert_eq!(got.status.code(), Some(0), "{got:#?}");
        assert!(got.stderr.contains("-> DISCONNECT"), "{got:#?}");
        let log = broker.log();
        assert!(log.contains(&format!("Received DISCONNECT from {id}")), "{log}");
    }
    // pub -l reading a stdin that stays open: Ctrl-C ends it cleanly too,
    // once the line sent before is acknowledged.
    let args = ["pub", "-p", &port, "-i", "interrupted-pub", "-t", "t", "-q", "1", "-l", "-d"];
    let mut p = Proc::spawn(BIN, &args, Input::Open);
    p.stdin().write_all(b"first line\n").unwrap();
    p.wait_stderr("<- PUBACK");
    p.interrupt();
    let got = p.finish();
    assert_eq!(got.status.code(), Some(0), "{got:#?}");
    assert!(broker.log().contains("Received DISCONNECT from interrupted-pub"));
}

#[test]
fn will_is_published_when_the_connection_breaks() {
    let broker = Mosquitto::start("");
    let port = broker.port().to_string();
    for (ours, theirs) in VERSIONS {
        let will_topic = format!("will/{ours}");
        let watcher = mosquitto_sub(
            &broker,
            &format!("will-watcher-{ours}"),
            &["-p", &port, "-V", theirs, "-q", "1", "-C", "1", "-v", "-t", &will_topic],
        );
        let mut sub = our_sub(&[
            "-p",
            &port,
            "-V",
            ours,
            "-t",
            "will/unused",
            "--will-topic",
            &will_topic,
            "--will-payload",
            "gone",
            "--will-qos",
            "1",
        ]);
        // A broken connection, not a DISCONNECT: the broker publishes the Will.
        sub.child.kill().unwrap();
        let got = watcher.finish();
        got.ok();
        assert_eq!(got.stdout, format!("{will_topic} gone\n"));
    }
}
