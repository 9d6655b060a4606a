//! Arbitrary sequences of client commands, inbound bytes (raw and
//! well-formed server packets), time jumps and closes against one `Client`.
//!
//! Input: byte 0 picks the protocol (bit 0) and options (bits 1..); then a
//! sequence of operations, each an opcode byte and its arguments, read until
//! the input runs out.
//!
//! Checked after every operation:
//! - nothing panics;
//! - everything the client sends decodes as valid MQTT for its protocol, and
//!   a CONNECT starts every connection;
//! - in-flight packet identifiers are non-zero and unique, and no more are in
//!   flight than the server's Receive Maximum allows (except re-sent ones);
//! - queues stay within their bounds;
//! - after `handle_timeout(now)`, `poll_timeout()` is never at or before `now`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mqtt_engine::client::{Client, Event, Options, State};
use mqtt_engine::codec::{
    Auth, Connack, Decoder, Disconnect, Packet, Properties, Protocol, PubAck, Publish, QoS,
    ReasonCode, Suback, Subscribe, Subscription, Unsuback, Unsubscribe,
};
use mqtt_engine::time::Instant;
use mqtt_engine_fuzz::Input;
use std::collections::HashSet;
use std::time::Duration;

const TOPICS: [&str; 4] = ["a", "a/b", "sensors/kitchen/temperature", "$SYS/x"];
const FILTERS: [&str; 5] = ["a", "a/+", "#", "$share/g/a/#", "a/#/b"];
const MAX_QUEUED: usize = 8;
const MAX_EVENTS: usize = 16;

struct Harness {
    client: Client,
    opts: Options,
    now: Instant,
    /// The server's side of the current connection, decoding what the client sends.
    server: Decoder,
    saw_connect: bool,
    receive_maximum: u16,
    /// Messages in flight when the connection was accepted (re-sent on resume).
    carried: usize,
}

impl Harness {
    fn qos(b: u8) -> QoS {
        QoS::from_u8(b % 3).unwrap_or_default()
    }

    /// Drains transmit and checks every byte is a valid packet.
    fn drain(&mut self) {
        while let Some(out) = self.client.poll_transmit() {
            if let Err(e) = self.server.push(&out) {
                panic!("client sent a bad fixed header: {e}");
            }
            loop {
                match self.server.next_packet() {
                    Ok(Some(Packet::Connect(c))) => {
                        assert!(!self.saw_connect, "second CONNECT on one connection");
                        assert_eq!(c.protocol, self.opts.protocol);
                        self.saw_connect = true;
                    }
                    Ok(Some(p)) => assert!(self.saw_connect, "{p:?} before CONNECT"),
                    Ok(None) => break,
                    Err(e) => panic!("client sent an invalid packet: {e}"),
                }
            }
        }
    }

    fn check(&mut self) {
        self.drain();
        let ids: Vec<u16> = self.client.inflight_ids().collect();
        let unique: HashSet<u16> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "in-flight identifiers collide: {ids:?}");
        assert!(!unique.contains(&0));
        if self.client.is_connected() {
            // Re-sent messages may exceed a Receive Maximum the server lowered
            // since they were sent; new ones never do.
            let allowed = usize::from(self.receive_maximum).max(self.carried);
            assert!(
                ids.len() <= allowed,
                "{} in flight, receive maximum {}",
                ids.len(),
                self.receive_maximum
            );
        }
        assert!(self.client.queued() <= 2 * MAX_QUEUED, "queued {}", self.client.queued());
    }

    /// Encodes a server packet for the client's protocol; packets the codec
    /// refuses (e.g. AUTH in 3.1.1) are skipped.
    fn feed_packet(&mut self, p: Packet) {
        if let Ok(bytes) = p.encode_to_vec(self.opts.protocol) {
            self.feed(&bytes);
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let _ = self.client.handle_bytes(self.now, bytes);
        if self.client.state() == State::Closed {
            self.drain();
        }
    }

    fn connack(&mut self, flags: u8, receive_maximum: u16) {
        let mut props = Properties::default();
        if self.opts.protocol == Protocol::V5 {
            if flags & 0x04 != 0 {
                props.receive_maximum = Some(receive_maximum.max(1));
            }
            if flags & 0x08 != 0 {
                props.topic_alias_maximum = Some(u16::from(flags >> 4));
            }
            if flags & 0x10 != 0 {
                props.maximum_qos = Some(1);
            }
            if flags & 0x20 != 0 {
                props.maximum_packet_size = Some(64);
            }
            if flags & 0x40 != 0 {
                props.server_keep_alive = Some(u16::from(flags & 3));
            }
        }
        let reason = if flags & 0x80 != 0 { ReasonCode(0x87) } else { ReasonCode::SUCCESS };
        let reason = if self.opts.protocol == Protocol::V311 && reason.0 != 0 {
            ReasonCode(5)
        } else {
            reason
        };
        let connack = Connack {
            session_present: flags & 0x01 != 0 && reason == ReasonCode::SUCCESS,
            reason_code: reason,
            properties: props.clone(),
        };
        let was = self.client.state();
        self.feed_packet(Packet::Connack(connack));
        if was == State::Connecting && self.client.is_connected() {
            self.receive_maximum = props.receive_maximum.unwrap_or(u16::MAX);
            self.carried = self.client.inflight();
        }
    }

    fn run(&mut self, input: &mut Input<'_>) -> Option<()> {
        loop {
            let op = input.u8()?;
            match op % 18 {
                0 => {
                    if self.client.connect(self.now).is_ok() {
                        self.server = Decoder::new(self.opts.protocol);
                        self.saw_connect = false;
                    }
                }
                1 => {
                    let flags = input.u8()?;
                    let len = usize::from(input.u8()?);
                    let mut m = Publish::new(
                        TOPICS[usize::from(flags & 3)],
                        Bytes::copy_from_slice(input.bytes(len)),
                    );
                    m.qos = Self::qos(flags >> 2);
                    m.retain = flags & 0x10 != 0;
                    if flags & 0x20 != 0 && self.opts.protocol == Protocol::V5 {
                        m.properties.correlation_data = Some(Bytes::from_static(b"c"));
                        m.properties.user_properties.push(("k".into(), "v".into()));
                    }
                    let before = self.client.inflight() + self.client.queued();
                    match self.client.publish(self.now, m) {
                        Ok(_) => {}
                        Err(_) => assert_eq!(before, self.client.inflight() + self.client.queued()),
                    }
                }
                2 => {
                    let f = input.u8()?;
                    let mut s = Subscription::new(
                        FILTERS[usize::from(f) % FILTERS.len()],
                        Self::qos(f >> 3),
                    );
                    s.no_local = f & 0x40 != 0 && self.opts.protocol == Protocol::V5;
                    let _ = self.client.subscribe(self.now, Subscribe::new(vec![s]));
                }
                3 => {
                    let f = input.u8()?;
                    let _ = self.client.unsubscribe(
                        self.now,
                        Unsubscribe::new(vec![FILTERS[usize::from(f) % FILTERS.len()].into()]),
                    );
                }
                4 => {
                    let id = input.u16()?;
                    let _ = self.client.ack(self.now, id);
                }
                5 => {
                    let _ = self.client.disconnect(self.now, Disconnect::new(ReasonCode::SUCCESS));
                }
                6 => {
                    let len = usize::from(input.u8()?);
                    let raw = input.bytes(len).to_vec();
                    self.feed(&raw);
                }
                7 => {
                    let flags = input.u8()?;
                    let rm = input.u16()?;
                    self.connack(flags, rm);
                }
                8 => {
                    let id = input.u16()?.max(1);
                    self.feed_packet(Packet::Puback(PubAck::new(id)));
                }
                9 => {
                    let id = input.u16()?.max(1);
                    let code = input.u8()?;
                    let mut a = PubAck::new(id);
                    if self.opts.protocol == Protocol::V5 && code & 1 == 1 {
                        a.reason_code = ReasonCode::QUOTA_EXCEEDED;
                    }
                    self.feed_packet(Packet::Pubrec(a));
                }
                10 => {
                    let id = input.u16()?.max(1);
                    self.feed_packet(Packet::Pubcomp(PubAck::new(id)));
                }
                11 => {
                    let id = input.u16()?.max(1);
                    self.feed_packet(Packet::Pubrel(PubAck::new(id)));
                }
                12 => {
                    let flags = input.u8()?;
                    let id = input.u16()?.max(1);
                    let mut m =
                        Publish::new(TOPICS[usize::from(flags & 3)], Bytes::from_static(b"in"));
                    m.qos = Self::qos(flags >> 2);
                    m.packet_id = (m.qos != QoS::AtMostOnce).then_some(id);
                    m.dup = flags & 0x10 != 0 && m.qos != QoS::AtMostOnce;
                    if flags & 0x20 != 0 && self.opts.protocol == Protocol::V5 {
                        m.properties.topic_alias = Some(u16::from(flags >> 6) + 1);
                        if flags & 0x01 != 0 {
                            m.topic = Default::default();
                        }
                    }
                    self.feed_packet(Packet::Publish(m));
                }
                13 => {
                    let id = input.u16()?.max(1);
                    let n = usize::from(input.u8()? % 3) + 1;
                    let kind = input.u8()?;
                    if kind & 1 == 0 {
                        self.feed_packet(Packet::Suback(Suback {
                            packet_id: id,
                            reason_codes: vec![ReasonCode::SUCCESS; n],
                            properties: Properties::default(),
                        }));
                    } else {
                        self.feed_packet(Packet::Unsuback(Unsuback {
                            packet_id: id,
                            reason_codes: vec![ReasonCode::SUCCESS; n],
                            properties: Properties::default(),
                        }));
                    }
                }
                14 => {
                    let k = input.u8()?;
                    match k % 3 {
                        0 => self.feed_packet(Packet::Pingresp),
                        1 => self.feed_packet(Packet::Disconnect(Disconnect::new(
                            ReasonCode::SERVER_SHUTTING_DOWN,
                        ))),
                        _ => {
                            let mut a = Auth {
                                reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
                                ..Auth::default()
                            };
                            a.properties.authentication_method = Some("M".into());
                            self.feed_packet(Packet::Auth(a));
                        }
                    }
                }
                15 => {
                    let ms = u64::from(input.u16()?) * 37;
                    self.now = self.now + ms;
                    self.client.handle_timeout(self.now);
                    if let Some(t) = self.client.poll_timeout() {
                        assert!(t > self.now, "poll_timeout {t} not after now {}", self.now);
                    }
                }
                16 => {
                    if let Some(t) = self.client.poll_timeout() {
                        self.now = self.now.max(t);
                        self.client.handle_timeout(self.now);
                        if let Some(t2) = self.client.poll_timeout() {
                            assert!(t2 > self.now, "poll_timeout {t2} not after now {}", self.now);
                        }
                    }
                }
                _ => {
                    match input.u8()? % 3 {
                        0 => self.client.handle_closed(self.now),
                        1 => {
                            // A restart: the session survives through a snapshot.
                            let snap = self.client.snapshot();
                            match Client::restore(self.opts.clone(), self.now, &snap) {
                                Ok(c) => {
                                    let ids: Vec<u16> = self.client.inflight_ids().collect();
                                    assert_eq!(c.inflight_ids().collect::<Vec<_>>(), ids);
                                    // (Un)subscriptions awaiting their ack are
                                    // queued again in the restored client.
                                    assert!(c.queued() >= self.client.queued());
                                    self.client = c;
                                }
                                Err(e) => panic!("own snapshot refused: {e}"),
                            }
                        }
                        _ => while self.client.poll_event().is_some() {},
                    }
                }
            }
            self.check();
            // Hosts drain events; a fuzz run keeps some to exercise the bound.
            let mut kept = 0;
            while kept < MAX_EVENTS * 4 {
                match self.client.poll_event() {
                    Some(Event::Message(_)) | Some(Event::Published(_)) => kept += 1,
                    Some(_) => {}
                    None => break,
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(sel) = input.u8() else { return };
    let opts = Options {
        protocol: if sel & 1 == 0 { Protocol::V311 } else { Protocol::V5 },
        client_id: "fuzz".into(),
        clean_start: sel & 2 == 0,
        session_expiry_interval: if sel & 4 != 0 { 60 } else { 0 },
        keep_alive: u16::from(sel >> 5),
        manual_ack: sel & 8 != 0,
        offline_queue: sel & 16 != 0,
        receive_maximum: 4,
        topic_alias_maximum: 2,
        maximum_packet_size: 256,
        max_queued: MAX_QUEUED,
        max_events: MAX_EVENTS,
        authentication_method: (sel & 0x80 != 0 && sel & 1 == 1).then(|| "M".into()),
        pingresp_timeout: Some(Duration::from_millis(500)),
        ..Options::default()
    };
    let mut h = Harness {
        client: Client::new(opts.clone(), Instant::from_millis(0)),
        opts,
        now: Instant::from_millis(0),
        server: Decoder::new(Protocol::V5),
        saw_connect: false,
        receive_maximum: u16::MAX,
        carried: 0,
    };
    let _ = h.run(&mut input);
});
