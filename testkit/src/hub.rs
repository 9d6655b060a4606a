//! Several [`Client`]s and a small in-memory broker, on simulated time: for
//! tests of clients talking to each other (a requester and its responders)
//! without a real broker, deterministically.
//!
//! The broker does what the tests need and no more: CONNACK (Session Present
//! 0), SUBACK granting the requested QoS, UNSUBACK, PINGRESP; PUBLISH routed
//! to every matching subscription at the lower of the two QoS, `$share`
//! groups served round-robin, No Local honoured; the QoS 1 and 2 flows of
//! both directions; PUBACK 0x10 (No matching subscribers) in 5.0 when nobody
//! matches. No retained messages, no sessions, no will.

use bytes::BytesMut;
use mqtt_engine::client::{Client, Event, Options};
use mqtt_engine::codec::{
    Connack, Decoder, Packet, Protocol, PubAck, Publish, QoS, ReasonCode, Suback, Unsuback,
};
use mqtt_engine::time::Instant;
use std::collections::{BTreeMap, VecDeque};

/// One subscription held by the broker.
#[derive(Clone, Debug)]
struct Sub {
    filter: String,
    group: Option<String>,
    qos: QoS,
    no_local: bool,
}

/// A client and the broker's side of its connection.
#[derive(Debug)]
struct Node {
    client: Client,
    decoder: Decoder,
    protocol: Protocol,
    subs: Vec<Sub>,
    to_client: BytesMut,
    events: VecDeque<Event>,
    next_id: u16,
    connected: bool,
}

/// A broker and its clients on simulated time.
#[derive(Debug)]
pub struct Hub {
    /// Simulated time.
    pub now: Instant,
    nodes: Vec<Node>,
    /// Round-robin position of each shared group.
    turns: BTreeMap<String, usize>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// An empty hub at time 1000 ms.
    pub fn new() -> Hub {
        Hub { now: Instant::from_millis(1000), nodes: Vec::new(), turns: BTreeMap::new() }
    }

    /// Adds a client with `options`, connects it and drives until it is
    /// connected. Returns its index.
    pub fn add(&mut self, options: Options) -> usize {
        let protocol = options.protocol;
        let mut client = Client::new(options, self.now);
        client.connect(self.now).expect("connect refused");
        self.nodes.push(Node {
            client,
            decoder: Decoder::new(protocol),
            protocol,
            subs: Vec::new(),
            to_client: BytesMut::new(),
            events: VecDeque::new(),
            next_id: 0,
            connected: false,
        });
        let i = self.nodes.len() - 1;
        self.drive();
        match self.nodes[i].events.pop_front() {
            Some(Event::Connected(_)) => i,
            other => panic!("client {i} did not connect: {other:?}"),
        }
    }

    /// Client `i`, for commands (then call [`Hub::drive`]).
    pub fn client(&mut self, i: usize) -> &mut Client {
        &mut self.nodes[i].client
    }

    /// The events client `i` reported, taken.
    pub fn events(&mut self, i: usize) -> Vec<Event> {
        self.drive();
        self.nodes[i].events.drain(..).collect()
    }

    /// Moves bytes between the clients and the broker until nothing moves.
    pub fn drive(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(bytes) = self.nodes[i].client.poll_transmit() {
                    moved = true;
                    let n = &mut self.nodes[i];
                    n.decoder.push(&bytes).expect("a client sent a bad fixed header");
                    while let Some(p) =
                        self.nodes[i].decoder.next_packet().expect("a client sent a bad packet")
                    {
                        self.on_packet(i, p);
                    }
                }
            }
            for n in &mut self.nodes {
                if !n.to_client.is_empty() {
                    moved = true;
                    let bytes = n.to_client.split();
                    let _ = n.client.handle_bytes(self.now, &bytes);
                }
                while let Some(e) = n.client.poll_event() {
                    n.events.push_back(e);
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Moves time to the earliest deadline of any client, handles it and
    /// drives; returns it, or `None` if no client has a timer.
    pub fn jump_to_timeout(&mut self) -> Option<Instant> {
        let at = self.nodes.iter().filter_map(|n| n.client.poll_timeout()).min()?;
        self.now = self.now.max(at);
        for n in &mut self.nodes {
            n.client.handle_timeout(self.now);
        }
        self.drive();
        Some(self.now)
    }

    /// Moves time forward by `ms`, handling every timer on the way.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        while self
            .nodes
            .iter()
            .filter_map(|n| n.client.poll_timeout())
            .min()
            .is_some_and(|t| t <= until)
        {
            self.jump_to_timeout();
        }
        self.now = until;
        for n in &mut self.nodes {
            n.client.handle_timeout(self.now);
        }
        self.drive();
    }

    fn send(&mut self, i: usize, p: Packet) {
        let n = &mut self.nodes[i];
        p.encode(n.protocol, &mut n.to_client).expect("the hub made a bad packet");
    }

    fn on_packet(&mut self, i: usize, p: Packet) {
        match p {
            Packet::Connect(c) => {
                self.nodes[i].protocol = c.protocol;
                self.nodes[i].decoder.set_protocol(c.protocol);
                self.nodes[i].connected = true;
                self.send(i, Packet::Connack(Connack::default()));
            }
            Packet::Subscribe(s) => {
                let mut codes = Vec::new();
                for f in &s.filters {
                    let (group, filter) = match mqtt_engine::topic::parse_shared(&f.filter) {
                        Some((g, inner)) => (Some(g.to_string()), inner.to_string()),
                        None => (None, f.filter.to_string()),
                    };
                    self.nodes[i].subs.retain(|x| !(x.filter == filter && x.group == group));
                    self.nodes[i].subs.push(Sub {
                        filter,
                        group,
                        qos: f.qos,
                        no_local: f.no_local,
                    });
                    codes.push(ReasonCode(f.qos as u8));
                }
                let ack =
                    Suback { packet_id: s.packet_id, reason_codes: codes, ..Suback::default() };
                self.send(i, Packet::Suback(ack));
            }
            Packet::Unsubscribe(u) => {
                let n = u.filters.len();
                for f in &u.filters {
                    self.nodes[i].subs.retain(|x| {
                        let full = match &x.group {
                            Some(g) => format!("$share/{g}/{}", x.filter),
                            None => x.filter.clone(),
                        };
                        full != f.as_str()
                    });
                }
                let codes = if self.nodes[i].protocol == Protocol::V5 {
                    vec![ReasonCode::SUCCESS; n]
                } else {
                    Vec::new()
                };
                self.send(
                    i,
                    Packet::Unsuback(Unsuback {
                        packet_id: u.packet_id,
                        reason_codes: codes,
                        ..Unsuback::default()
                    }),
                );
            }
            Packet::Publish(m) => {
                let delivered = self.route(i, &m);
                if let Some(id) = m.packet_id {
                    let mut ack = PubAck::new(id);
                    if delivered == 0 && self.nodes[i].protocol == Protocol::V5 {
                        ack.reason_code = ReasonCode::NO_MATCHING_SUBSCRIBERS;
                    }
                    let ack = match m.qos {
                        QoS::ExactlyOnce => Packet::Pubrec(ack),
                        _ => Packet::Puback(ack),
                    };
                    self.send(i, ack);
                }
            }
            Packet::Pubrel(r) => self.send(i, Packet::Pubcomp(PubAck::new(r.packet_id))),
            Packet::Pubrec(r) => self.send(i, Packet::Pubrel(PubAck::new(r.packet_id))),
            Packet::Pingreq => self.send(i, Packet::Pingresp),
            Packet::Disconnect(_) => self.nodes[i].connected = false,
            _ => {} // PUBACK and PUBCOMP end flows the hub does not track
        }
    }

    /// Delivers `m` from client `from` to every matching subscription; returns
    /// how many deliveries were made.
    fn route(&mut self, from: usize, m: &Publish) -> usize {
        let topic = m.topic.as_str();
        let mut targets: Vec<(usize, QoS)> = Vec::new();
        let mut groups: BTreeMap<String, Vec<(usize, QoS)>> = BTreeMap::new();
        for (j, n) in self.nodes.iter().enumerate() {
            if !n.connected {
                continue;
            }
            for s in &n.subs {
                if !mqtt_engine::topic::matches(&s.filter, topic) || (s.no_local && j == from) {
                    continue;
                }
                match &s.group {
                    Some(g) => groups.entry(g.clone()).or_default().push((j, s.qos)),
                    None => targets.push((j, s.qos)),
                }
            }
        }
        for (g, members) in groups {
            let turn = self.turns.entry(g).or_default();
            targets.push(members[*turn % members.len()]);
            *turn += 1;
        }
        for &(j, sub_qos) in &targets {
            let mut out = m.clone();
            out.qos = out.qos.min(sub_qos);
            out.dup = false;
            out.retain = false;
            out.properties.topic_alias = None;
            if self.nodes[j].protocol == Protocol::V311 {
                out.properties = Default::default();
            }
            out.packet_id = (out.qos != QoS::AtMostOnce).then(|| {
                let n = &mut self.nodes[j];
                n.next_id = n.next_id % u16::MAX + 1;
                n.next_id
            });
            self.send(j, Packet::Publish(out));
        }
        targets.len()
    }
}
