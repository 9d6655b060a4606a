//! A [`Client`] and a scripted broker over an in-memory link, on simulated time.
//!
//! The test plays the broker: it reads what the client sent with
//! [`Pair::expect`] and answers with [`Pair::send`]. [`Pair::drive`] moves bytes
//! both ways until nothing moves, splitting every write into chunks as the
//! [`Split`] policy says and holding each chunk for the link's latency, and
//! collects the client's events and errors. Time only moves when the test
//! moves it, with [`Pair::advance`], by jumping to the client's own deadline
//! with [`Pair::jump_to_timeout`], or to whatever comes next with
//! [`Pair::settle`]: no test sleeps.

use bytes::{Bytes, BytesMut};
use mqtt_engine::client::{Client, Error, Event, Options};
use mqtt_engine::codec::{Connack, Connect, Decoder, Packet, Properties, Protocol, ReasonCode};
use mqtt_engine::time::Instant;
use std::collections::VecDeque;

/// How the link splits each write before delivering it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Deliver each write whole.
    Whole,
    /// Deliver in chunks of at most this many bytes.
    Fixed(usize),
    /// Deliver in chunks of pseudo-random length 1..=16 from this seed.
    Random(u64),
}

/// One direction of an in-memory connection: writes are cut into chunks and
/// each chunk is delivered `latency` milliseconds after it was written.
#[derive(Debug)]
pub struct Link {
    split: Split,
    latency: u64,
    rng: u64,
    chunks: VecDeque<(Instant, Bytes)>,
}

impl Link {
    /// An empty link with a split policy and a latency in milliseconds.
    pub fn new(split: Split, latency: u64) -> Link {
        let rng = match split {
            Split::Random(seed) => seed | 1,
            _ => 1,
        };
        Link { split, latency, rng, chunks: VecDeque::new() }
    }

    /// Queues a write made at `now`, cut into chunks.
    pub fn write(&mut self, now: Instant, mut data: Bytes) {
        let due = now + self.latency;
        while !data.is_empty() {
            let n = match self.split {
                Split::Whole => data.len(),
                Split::Fixed(n) => n.max(1),
                Split::Random(_) => {
                    // xorshift64: deterministic for a seed.
                    self.rng ^= self.rng << 13;
                    self.rng ^= self.rng >> 7;
                    self.rng ^= self.rng << 17;
                    1 + (self.rng % 16) as usize
                }
            };
            self.chunks.push_back((due, data.split_to(n.min(data.len()))));
        }
    }

    /// The next chunk due by `now`, in order.
    pub fn read(&mut self, now: Instant) -> Option<Bytes> {
        match self.chunks.front() {
            Some(&(due, _)) if due <= now => self.chunks.pop_front().map(|(_, b)| b),
            _ => None,
        }
    }

    /// When the next chunk is due, if any is in transit.
    pub fn next_due(&self) -> Option<Instant> {
        self.chunks.front().map(|&(due, _)| due)
    }

    /// Drops everything in transit (the connection broke).
    pub fn clear(&mut self) {
        self.chunks.clear();
    }
}

/// The server side of the connection, scripted by the test.
#[derive(Debug)]
pub struct Broker {
    decoder: Decoder,
    protocol: Protocol,
    received: VecDeque<Packet>,
    outbox: BytesMut,
}

impl Broker {
    fn new(protocol: Protocol) -> Broker {
        Broker {
            decoder: Decoder::new(protocol),
            protocol,
            received: VecDeque::new(),
            outbox: BytesMut::new(),
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.decoder.push(data).expect("the client sent a malformed fixed header");
        while let Some(p) = self.decoder.next_packet().expect("the client sent a bad packet") {
            if let Packet::Connect(c) = &p {
                self.protocol = c.protocol;
            }
            self.received.push_back(p);
        }
    }

    fn reset(&mut self) {
        self.decoder.reset();
        self.received.clear();
        self.outbox.clear();
    }
}

/// A client and a scripted broker on simulated time.
#[derive(Debug)]
pub struct Pair {
    /// The engine under test.
    pub client: Client,
    /// Simulated time.
    pub now: Instant,
    broker: Broker,
    to_broker: Link,
    to_client: Link,
    /// Events the client reported, in order, not yet taken.
    pub events: VecDeque<Event>,
    /// Errors `handle_bytes` returned, in order.
    pub errors: Vec<Error>,
}

impl Pair {
    /// A closed client with `options`, at time 1000 ms, links delivering writes whole.
    pub fn new(options: Options) -> Pair {
        Pair::with_split(options, Split::Whole)
    }

    /// Like [`Pair::new`], both links splitting writes by `split`.
    pub fn with_split(options: Options, split: Split) -> Pair {
        Pair::with_link(options, split, 0)
    }

    /// Like [`Pair::new`], both links splitting writes by `split` and
    /// delivering each chunk `latency` milliseconds after it was written.
    pub fn with_link(options: Options, split: Split, latency: u64) -> Pair {
        let now = Instant::from_millis(1000);
        let protocol = options.protocol;
        let reverse = match split {
            Split::Random(seed) => Split::Random(seed.wrapping_mul(31).wrapping_add(7)),
            s => s,
        };
        Pair {
            client: Client::new(options, now),
            now,
            broker: Broker::new(protocol),
            to_broker: Link::new(split, latency),
            to_client: Link::new(reverse, latency),
            events: VecDeque::new(),
            errors: Vec::new(),
        }
    }

    /// A client that has connected: CONNECT sent, CONNACK Success with
    /// `properties` answered, the Connected event taken.
    pub fn connected(options: Options, properties: Properties) -> Pair {
        let mut p = Pair::new(options);
        p.connect_with(properties, false);
        p
    }

    /// Calls `connect`, takes the CONNECT, answers CONNACK Success with
    /// `properties` and `session_present`, and takes the Connected event.
    /// Returns the CONNECT.
    pub fn connect_with(&mut self, properties: Properties, session_present: bool) -> Connect {
        self.client.connect(self.now).expect("connect refused");
        let connect = match self.expect() {
            Packet::Connect(c) => *c,
            other => panic!("expected CONNECT, got {other:?}"),
        };
        self.send(Connack { session_present, reason_code: ReasonCode::SUCCESS, properties });
        match self.events.pop_front() {
            Some(Event::Connected(_)) => {}
            other => panic!("expected Connected, got {other:?} (errors {:?})", self.errors),
        }
        connect
    }

    /// Moves the bytes that are due both ways, chunk by chunk, until nothing
    /// moves; collects events and errors. Time does not move.
    pub fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit() {
                self.to_broker.write(self.now, b);
            }
            while let Some(chunk) = self.to_broker.read(self.now) {
                self.broker.feed(&chunk);
                moved = true;
            }
            if !self.broker.outbox.is_empty() {
                let b = self.broker.outbox.split().freeze();
                self.to_client.write(self.now, b);
            }
            while let Some(chunk) = self.to_client.read(self.now) {
                if let Err(e) = self.client.handle_bytes(self.now, &chunk) {
                    self.errors.push(e);
                }
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push_back(e);
            }
            if !moved {
                break;
            }
        }
    }

    /// The broker sends `packet` (encoded for the connection's protocol);
    /// then [`Pair::drive`].
    pub fn send(&mut self, packet: impl Into<Packet>) {
        let packet = packet.into();
        packet.encode(self.broker.protocol, &mut self.broker.outbox).expect("test packet invalid");
        self.drive();
    }

    /// The broker sends raw bytes; then [`Pair::drive`].
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.broker.outbox.extend_from_slice(bytes);
        self.drive();
    }

    /// The next packet the client sent, if any (after driving).
    pub fn recv(&mut self) -> Option<Packet> {
        self.drive();
        self.broker.received.pop_front()
    }

    /// The next packet the client sent; panics if there is none.
    pub fn expect(&mut self) -> Packet {
        self.recv().expect("the client sent nothing")
    }

    /// Every packet the client sent and the broker has not taken.
    pub fn recv_all(&mut self) -> Vec<Packet> {
        self.drive();
        self.broker.received.drain(..).collect()
    }

    /// Asserts the client sent nothing.
    pub fn expect_silence(&mut self) {
        let sent = self.recv_all();
        assert!(sent.is_empty(), "expected no packets, the client sent {sent:?}");
    }

    /// The next event; panics if there is none.
    pub fn event(&mut self) -> Event {
        self.drive();
        self.events.pop_front().expect("no event")
    }

    /// Every event not yet taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.drive();
        self.events.drain(..).collect()
    }

    /// Moves simulated time forward by `ms` and calls `handle_timeout`.
    pub fn advance(&mut self, ms: u64) {
        self.now = self.now + ms;
        self.client.handle_timeout(self.now);
        self.drive();
    }

    /// Jumps simulated time to the client's deadline and calls
    /// `handle_timeout`; returns the deadline, or `None` if there was none.
    pub fn jump_to_timeout(&mut self) -> Option<Instant> {
        let at = self.client.poll_timeout()?;
        assert!(at > self.now, "poll_timeout {at} is not after now {}", self.now);
        self.now = at;
        self.client.handle_timeout(at);
        self.drive();
        Some(at)
    }

    /// Moves time to whatever comes first, the next chunk's delivery or the
    /// client's deadline, handles it and drives. Returns the new time, or
    /// `None` when nothing is pending at all.
    pub fn settle(&mut self) -> Option<Instant> {
        self.drive();
        let next =
            [self.to_broker.next_due(), self.to_client.next_due(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min()?;
        self.now = self.now.max(next);
        if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
            self.client.handle_timeout(self.now);
        }
        self.drive();
        Some(self.now)
    }

    /// The connection breaks: bytes in transit are lost, the client is told,
    /// and the broker's side starts afresh for the next connection.
    pub fn cut(&mut self) {
        self.to_broker.clear();
        self.to_client.clear();
        // Bytes the client had produced but the host had not written are lost too.
        while self.client.poll_transmit().is_some() {}
        self.client.handle_closed(self.now);
        self.broker.reset();
        self.drive();
    }

    /// After the client closed (DISCONNECT or violation): what it wrote last
    /// is delivered, then the broker side starts afresh.
    pub fn reset_broker(&mut self) {
        self.drive();
        self.broker.reset();
    }
}
