//! Arbitrary request/response traffic against one connected `Client`:
//! requests of every kind, answers (right, duplicated, late, unknown, streamed),
//! SUBACKs and PUBACKs of every outcome, served requests and their duplicates,
//! answers from the application, time jumps, cuts and reconnects with or
//! without the session.
//!
//! Checked:
//! - every request ends exactly once (one `RequestDone` per id, never two),
//!   and all have ended once time has passed every deadline;
//! - answers are reported only for pending requests, before their end;
//! - the pending table and the responder cache stay within their bounds;
//! - everything the client sends decodes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mqtt_engine::client::{Client, Event, Options, State};
use mqtt_engine::codec::{
    Connack, Decoder, Packet, Properties, Protocol, PubAck, Publish, QoS, ReasonCode, Suback,
};
use mqtt_engine::rpc::{Collect, Request, RequestId, Response, RpcOptions};
use mqtt_engine::time::Instant;
use mqtt_engine_fuzz::Input;
use std::collections::BTreeSet;
use std::time::Duration;

const MAX_PENDING: usize = 6;
const MAX_CACHED: usize = 4;

/// A request the client sent: its Correlation Data, PUBLISH identifier and
/// Response Topic, as the broker saw them.
#[derive(Clone)]
struct Sent {
    correlation: Bytes,
    packet_id: Option<u16>,
    response_topic: String,
}

struct Harness {
    client: Client,
    now: Instant,
    server: Decoder,
    /// Requests issued and not yet ended / ended.
    open: BTreeSet<RequestId>,
    ended: BTreeSet<RequestId>,
    /// Requests the broker has seen, in order.
    sent: Vec<Sent>,
    /// The response subscription's SUBSCRIBE identifier, when seen.
    response_sub: Option<u16>,
    /// Served requests the application has not answered yet.
    incoming: Vec<RequestId>,
}

impl Harness {
    fn drain(&mut self) {
        while let Some(out) = self.client.poll_transmit() {
            self.server.push(&out).expect("client sent a bad fixed header");
            while let Some(p) = self.server.next_packet().expect("client sent an invalid packet") {
                match p {
                    Packet::Publish(m)
                        if m.properties.correlation_data.is_some()
                            && !m.topic.starts_with("replies/other") =>
                    {
                        if let Some(rt) = &m.properties.response_topic {
                            self.sent.push(Sent {
                                correlation: m
                                    .properties
                                    .correlation_data
                                    .clone()
                                    .unwrap_or_default(),
                                packet_id: m.packet_id,
                                response_topic: rt.to_string(),
                            });
                        }
                    }
                    Packet::Subscribe(s) if s.filters[0].filter.starts_with("replies/") => {
                        self.response_sub = Some(s.packet_id)
                    }
                    _ => {}
                }
            }
        }
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::RequestDone(d) => {
                    assert!(
                        self.open.remove(&d.request),
                        "{:?} ended twice or never began",
                        d.request
                    );
                    self.ended.insert(d.request);
                }
                Event::Response(r) => {
                    assert!(
                        self.open.contains(&r.request),
                        "answer for {:?}, not pending",
                        r.request
                    )
                }
                Event::Request(r) => self.incoming.push(r.id),
                _ => {}
            }
        }
        let load = self.client.rpc_load();
        assert!(load.pending <= MAX_PENDING);
        assert!(load.cached <= MAX_CACHED);
        assert_eq!(load.pending, self.open.len(), "pending table and open requests disagree");
    }

    fn feed(&mut self, p: Packet) {
        let bytes = p.encode_to_vec(Protocol::V5).expect("harness packet invalid");
        let _ = self.client.handle_bytes(self.now, &bytes);
    }

    fn connect(&mut self, session_present: bool) {
        if self.client.connect(self.now).is_ok() {
            self.server = Decoder::new(Protocol::V5);
            self.drain();
            self.feed(Packet::Connack(Connack { session_present, ..Connack::default() }));
        }
    }

    fn run(&mut self, input: &mut Input<'_>) -> Option<()> {
        loop {
            let op = input.u8()?;
            let arg = input.u8()?;
            match op % 14 {
                0 | 1 => {
                    let timeout = Duration::from_millis(u64::from(arg) * 40 + 1);
                    let mut req = Request::new("svc/x", Bytes::from_static(b"q"), timeout);
                    req.collect = match arg % 3 {
                        0 => Collect::One,
                        1 => Collect::Stream,
                        _ => Collect::Many {
                            max: (arg & 4 != 0).then_some(2),
                            quiet: (arg & 8 != 0).then(|| Duration::from_millis(100)),
                        },
                    };
                    if arg & 0x10 != 0 {
                        req.correlation_data = Some(Bytes::copy_from_slice(&[arg & 3]));
                    }
                    if let Ok(id) = self.client.request(self.now, req) {
                        assert!(self.open.insert(id) && !self.ended.contains(&id));
                    }
                }
                2 => {
                    if let Some(&id) =
                        self.open.iter().nth(usize::from(arg) % self.open.len().max(1))
                    {
                        self.client.cancel(self.now, id).expect("cancel of a pending request");
                    } else {
                        let _ = self.client.cancel(self.now, RequestId(u64::from(arg)));
                    }
                }
                3 | 4 => {
                    // An answer to a request the broker saw (possibly again, late).
                    if let Some(s) =
                        self.sent.get(usize::from(arg) % self.sent.len().max(1)).cloned()
                    {
                        let mut m = Publish::new(s.response_topic, Bytes::from_static(b"a"));
                        m.properties.correlation_data = Some(s.correlation);
                        if arg & 0x20 != 0 {
                            m.properties.user_properties.push(("rpc-stream".into(), "more".into()));
                        }
                        if arg & 0x40 != 0 {
                            m.qos = QoS::AtLeastOnce;
                            m.packet_id = Some(u16::from(arg) + 1);
                        }
                        self.feed(Packet::Publish(m));
                    }
                }
                5 => {
                    let mut m = Publish::new("replies/fuzz", Bytes::from_static(b"?"));
                    m.properties.correlation_data = Some(Bytes::copy_from_slice(&[arg]));
                    self.feed(Packet::Publish(m));
                }
                6 => {
                    if let Some(id) = self.response_sub {
                        let code = match arg % 3 {
                            0 => ReasonCode::NOT_AUTHORIZED,
                            _ => ReasonCode::GRANTED_QOS_1,
                        };
                        self.feed(Packet::Suback(Suback {
                            packet_id: id,
                            reason_codes: vec![code],
                            properties: Properties::default(),
                        }));
                    }
                }
                7 => {
                    if let Some(s) =
                        self.sent.get(usize::from(arg) % self.sent.len().max(1)).cloned()
                    {
                        if let Some(pid) = s.packet_id {
                            let mut a = PubAck::new(pid);
                            a.reason_code = [
                                ReasonCode::SUCCESS,
                                ReasonCode::NO_MATCHING_SUBSCRIBERS,
                                ReasonCode::NOT_AUTHORIZED,
                            ][usize::from(arg) % 3];
                            self.feed(Packet::Puback(a));
                        }
                    }
                }
                8 => {
                    // A request for our responder, with a small set of
                    // Correlation Data so that duplicates happen.
                    let mut m = Publish::new("svc/in", Bytes::from_static(b"r"));
                    m.properties.response_topic = Some("replies/other".into());
                    m.properties.correlation_data = Some(Bytes::copy_from_slice(&[arg % 6]));
                    m.properties
                        .user_properties
                        .push(("rpc-timeout-ms".into(), (u32::from(arg) * 20).to_string().into()));
                    self.feed(Packet::Publish(m));
                }
                9 => {
                    if !self.incoming.is_empty() {
                        let id = self.incoming.remove(usize::from(arg) % self.incoming.len());
                        let more = arg & 1 == 1;
                        if self
                            .client
                            .respond(
                                self.now,
                                id,
                                Response { more, ..Response::ok(Bytes::from_static(b"r")) },
                            )
                            .is_ok()
                            && more
                        {
                            self.incoming.push(id);
                        }
                    }
                }
                10 => {
                    self.now = self.now + u64::from(arg) * 30;
                    self.client.handle_timeout(self.now);
                }
                11 => {
                    if let Some(t) = self.client.poll_timeout() {
                        self.now = self.now.max(t);
                        self.client.handle_timeout(self.now);
                    }
                }
                12 => {
                    self.client.handle_closed(self.now);
                    self.drain();
                    self.connect(arg & 1 == 1);
                }
                _ => {
                    let mut m = Publish::new("svc/plain", Bytes::from_static(b"m"));
                    m.qos = QoS::from_u8(arg % 3).unwrap_or_default();
                    m.packet_id = (m.qos != QoS::AtMostOnce).then_some(u16::from(arg) + 1);
                    self.feed(Packet::Publish(m));
                }
            }
            self.drain();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        client_id: "fuzz".into(),
        session_expiry_interval: 60,
        keep_alive: 0,
        rpc: RpcOptions {
            max_pending: MAX_PENDING,
            max_cached: MAX_CACHED,
            cache_ttl: Duration::from_millis(500),
            ..RpcOptions::default()
        },
        ..Options::default()
    };
    let now = Instant::from_millis(0);
    let mut h = Harness {
        client: Client::new(opts, now),
        now,
        server: Decoder::new(Protocol::V5),
        open: BTreeSet::new(),
        ended: BTreeSet::new(),
        sent: Vec::new(),
        response_sub: None,
        incoming: Vec::new(),
    };
    h.connect(false);
    h.drain();
    if h.client.state() == State::Connected {
        h.client.serve(h.now, "svc/in", None).expect("serve");
        h.drain();
    }
    let _ = h.run(&mut Input(data));
    // Past every deadline, every request has ended.
    h.now = h.now + 1_000_000;
    h.client.handle_timeout(h.now);
    h.drain();
    assert!(h.open.is_empty(), "requests never ended: {:?}", h.open);
});
