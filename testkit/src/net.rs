//! A small blocking driver that runs a [`Client`] over a real TCP connection
//! with the real clock, for tests against a real broker.
//!
//! [`Driver`] owns the engine and, while connected, a [`TcpStream`]. After
//! every input or command it drains the engine's three outputs: it writes
//! everything [`Client::poll_transmit`] gives to the socket, moves every
//! [`Client::poll_event`] into its own queue, and blocks on the socket read
//! no longer than [`Client::poll_timeout`], calling [`Client::handle_timeout`]
//! when that deadline passes. It never sleeps to wait for engine time.
//!
//! Inbound bytes are split into whole packets before they reach the engine,
//! one packet per [`Client::handle_bytes`] call, so that a test can stop
//! after exactly `k` packets ([`Driver::step_packets`]) and [`Driver::cut`]
//! the connection at a precise point of a QoS flow.
//!
//! `now` is milliseconds since the driver was created.

use mqtt_engine::client::{
    Acked, Client, Connected, DisconnectCause, Disconnected, Error, Event, LocalError, Options,
    Published,
};
use mqtt_engine::codec::{Disconnect, Publish, QoS, ReasonCode, Subscribe, Subscription};
use mqtt_engine::time::Instant;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// The longest single blocking read; bounds how late a deadline is noticed.
const MAX_BLOCK: Duration = Duration::from_millis(200);

/// A [`Client`] driven over TCP with the real clock. See the module docs.
#[derive(Debug)]
pub struct Driver {
    client: Client,
    addr: SocketAddr,
    stream: Option<TcpStream>,
    origin: std::time::Instant,
    /// Bytes read and not yet a whole packet.
    inbound: Vec<u8>,
    /// Events drained from the engine and not yet taken by the test.
    events: VecDeque<Event>,
    /// Inbound packets handed to the engine, by packet type (index 0..16).
    packets_in: [u64; 16],
    /// Bytes written to the socket over the driver's life.
    bytes_out: u64,
}

impl Driver {
    /// A driver for `options`, to connect to `127.0.0.1:port`. Nothing is
    /// opened until [`Driver::connect`].
    pub fn new(port: u16, options: Options) -> Driver {
        let origin = std::time::Instant::now();
        Driver {
            client: Client::new(options, Instant::from_millis(0)),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stream: None,
            origin,
            inbound: Vec::new(),
            events: VecDeque::new(),
            packets_in: [0; 16],
            bytes_out: 0,
        }
    }

    /// A driver around an existing client (for example one restored from a
    /// snapshot). Its clock starts at the client's last `now` or later.
    pub fn with_client(port: u16, client: Client, now: Instant) -> Driver {
        let mut d = Driver::new(port, client.options().clone());
        d.client = client;
        d.origin = d.origin.checked_sub(Duration::from_millis(now.as_millis())).unwrap_or(d.origin);
        d
    }

    /// Milliseconds since the driver was created.
    pub fn now(&self) -> Instant {
        let ms = self.origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The engine, for getters.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The engine, for anything else. Call [`Driver::flush`] after a command
    /// issued this way (or use [`Driver::cmd`]).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// True while a TCP connection is open.
    pub fn has_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// How many packets of MQTT control packet type `kind` (3 PUBLISH,
    /// 4 PUBACK, ..., 13 PINGRESP) the engine was given so far.
    pub fn packets_in(&self, kind: u8) -> u64 {
        self.packets_in[usize::from(kind & 15)]
    }

    /// Bytes written to the socket so far, over all connections.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// Inbound packets of every type so far.
    pub fn packets_in_total(&self) -> u64 {
        self.packets_in.iter().sum()
    }

    /// Opens a TCP connection, calls [`Client::connect`] and runs until the
    /// CONNACK outcome: `Ok` with the [`Connected`] event, or `Err` with the
    /// [`Disconnected`] one (a refusal, or the broker closing). Panics after
    /// `timeout`. Earlier events stay queued.
    pub fn connect_within(&mut self, timeout: Duration) -> Result<Connected, Disconnected> {
        if self.client.state() == mqtt_engine::client::State::Closed {
            // A connection the engine already closed (server DISCONNECT, a
            // refusal) may still have its socket: it is done with.
            self.drop_stream();
        }
        assert!(self.stream.is_none(), "connect while a connection is open");
        let stream = TcpStream::connect_timeout(&self.addr, timeout)
            .unwrap_or_else(|e| panic!("TCP connect to {}: {e}", self.addr));
        let _ = stream.set_nodelay(true);
        self.stream = Some(stream);
        self.inbound.clear();
        let now = self.now();
        self.client.connect(now).unwrap_or_else(|e| panic!("Client::connect refused: {e}"));
        self.flush();
        let outcome = self.run_until(timeout, |e| match e {
            Event::Connected(c) => Some(Ok(c.clone())),
            Event::Disconnected(d) => Some(Err(d.clone())),
            _ => None,
        });
        if outcome.is_err() {
            self.drop_stream();
        }
        outcome
    }

    /// [`Driver::connect_within`] with 10 seconds, panicking unless connected.
    pub fn connect(&mut self) -> Connected {
        self.connect_within(Duration::from_secs(10))
            .unwrap_or_else(|d| panic!("connection refused or closed: {d:?}"))
    }

    /// A new TCP connection for the same engine, so that the session resumes;
    /// like [`Driver::connect`].
    pub fn reconnect(&mut self) -> Connected {
        self.connect()
    }

    /// Drops the TCP connection abruptly, without DISCONNECT, and tells the
    /// engine ([`Client::handle_closed`]). Bytes the engine produced and the
    /// driver has not written yet are lost, as on a real cut. The
    /// `Disconnected` event is consumed and returned (if the client was open).
    pub fn cut(&mut self) -> Option<Disconnected> {
        let _ = self.client.poll_transmit();
        self.drop_stream();
        let now = self.now();
        self.client.handle_closed(now);
        let _ = self.client.poll_transmit();
        self.drain_events();
        let at = self.events.iter().rposition(|e| matches!(e, Event::Disconnected(_)))?;
        match self.events.remove(at) {
            Some(Event::Disconnected(d)) => Some(d),
            _ => None,
        }
    }

    /// Runs a command on the engine with the current time, then drains the
    /// outputs (writes what it produced).
    pub fn cmd<R>(&mut self, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        let r = self.cmd_unflushed(f);
        self.flush();
        r
    }

    /// Runs a command on the engine without writing what it produced, so that
    /// a test can [`Driver::cut`] before the bytes leave or write only part
    /// of them ([`Driver::flush_partial`]).
    pub fn cmd_unflushed<R>(&mut self, f: impl FnOnce(&mut Client, Instant) -> R) -> R {
        let now = self.now();
        let r = f(&mut self.client, now);
        self.drain_events();
        r
    }

    /// Writes everything the engine has to send and collects its events.
    /// A write error closes the connection (as the engine is told).
    pub fn flush(&mut self) {
        while let Some(bytes) = self.client.poll_transmit() {
            self.write(&bytes);
        }
        self.drain_events();
    }

    /// Writes at most `max` of the bytes the engine has to send and discards
    /// the rest: follow with [`Driver::cut`] to model a connection that broke
    /// in the middle of a packet.
    pub fn flush_partial(&mut self, max: usize) {
        let mut all = Vec::new();
        while let Some(bytes) = self.client.poll_transmit() {
            all.extend_from_slice(&bytes);
        }
        all.truncate(max);
        self.write(&all);
        self.drain_events();
    }

    /// Runs the connection until `f` maps a queued or new event to `Some`;
    /// that event is removed from the queue and the value returned, other
    /// events stay queued in order. `None` when `timeout` passes, or when the
    /// connection is closed and no queued event matches.
    pub fn try_run_until<T>(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&Event) -> Option<T>,
    ) -> Option<T> {
        let until = self.now() + timeout;
        let mut scanned = 0;
        loop {
            while scanned < self.events.len() {
                if let Some(v) = f(&self.events[scanned]) {
                    self.events.remove(scanned);
                    return Some(v);
                }
                scanned += 1;
            }
            let now = self.now();
            if now >= until || (self.stream.is_none() && self.client.poll_timeout().is_none()) {
                return None;
            }
            self.pump(until, None);
        }
    }

    /// [`Driver::try_run_until`], panicking with the queued events when
    /// nothing matched in time.
    pub fn run_until<T>(&mut self, timeout: Duration, f: impl FnMut(&Event) -> Option<T>) -> T {
        match self.try_run_until(timeout, f) {
            Some(v) => v,
            None => panic!(
                "no matching event within {timeout:?} (connected: {}, state {:?}); queued: {:#?}",
                self.stream.is_some(),
                self.client.state(),
                self.events
            ),
        }
    }

    /// Runs the connection for `duration` (reading, answering, keeping alive).
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now() + duration;
        while self.now() < until {
            if self.stream.is_none() && self.client.poll_timeout().is_none() {
                return;
            }
            self.pump(until, None);
        }
    }

    /// Runs until exactly `k` more inbound packets were handed to the engine
    /// (fewer if the connection closes or `timeout` passes; the number is
    /// returned). With `flush_last` false, what the engine answered to the
    /// last of them is not written: a following [`Driver::cut`] loses it.
    pub fn step_packets(&mut self, k: u64, flush_last: bool, timeout: Duration) -> u64 {
        let until = self.now() + timeout;
        let target = self.packets_in_total() + k;
        let start = self.packets_in_total();
        while self.packets_in_total() < target && self.now() < until && self.stream.is_some() {
            self.pump(until, Some((target, flush_last)));
        }
        self.packets_in_total() - start
    }

    /// Takes every queued event.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.drain_events();
        self.events.drain(..).collect()
    }

    /// Takes the queued [`Event::Message`]s, leaving other events queued.
    pub fn take_messages(&mut self) -> Vec<Publish> {
        self.drain_events();
        let mut out = Vec::new();
        self.events.retain(|e| match e {
            Event::Message(m) => {
                out.push(m.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// The next message, waiting up to `timeout`; panics if none comes.
    pub fn next_message(&mut self, timeout: Duration) -> Publish {
        self.run_until(timeout, |e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
    }

    /// Publishes and, for QoS 1 and 2, waits up to 10 s for the flow to end.
    /// Panics on a local refusal.
    pub fn publish(&mut self, msg: Publish) -> Option<Published> {
        let id = self
            .cmd(|c, now| c.publish(now, msg))
            .unwrap_or_else(|e| panic!("publish refused: {e}"))?;
        Some(self.wait_published(id, Duration::from_secs(10)))
    }

    /// Publishes, returning the engine's answer without waiting.
    pub fn try_publish(&mut self, msg: Publish) -> Result<Option<u16>, LocalError> {
        self.cmd(|c, now| c.publish(now, msg))
    }

    /// Waits for the end of the outbound flow of packet `id`.
    pub fn wait_published(&mut self, id: u16, timeout: Duration) -> Published {
        self.run_until(timeout, |e| match e {
            Event::Published(p) if p.packet_id == id => Some(p.clone()),
            _ => None,
        })
    }

    /// Subscribes to `filter` at `qos` and waits up to 10 s for SUBACK.
    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> Acked {
        let filter = filter.to_owned();
        self.subscribe_with(Subscription::new(filter, qos))
    }

    /// Subscribes with full options and waits up to 10 s for SUBACK.
    pub fn subscribe_with(&mut self, sub: Subscription) -> Acked {
        let packet = Subscribe { filters: vec![sub], ..Subscribe::default() };
        let id = self
            .cmd(|c, now| c.subscribe(now, packet))
            .unwrap_or_else(|e| panic!("subscribe refused: {e}"));
        self.run_until(Duration::from_secs(10), |e| match e {
            Event::Subscribed(a) if a.packet_id == id => Some(a.clone()),
            _ => None,
        })
    }

    /// Sends DISCONNECT with `reason_code` and closes the TCP connection;
    /// the `Disconnected` event is consumed.
    pub fn disconnect(&mut self, reason_code: ReasonCode) {
        self.disconnect_with(Disconnect::new(reason_code));
    }

    /// Sends `packet` and closes the TCP connection; the `Disconnected` event
    /// is consumed.
    pub fn disconnect_with(&mut self, packet: Disconnect) {
        self.cmd(|c, now| c.disconnect(now, packet))
            .unwrap_or_else(|e| panic!("disconnect refused: {e}"));
        self.drop_stream();
        let _ = self.try_run_until(Duration::ZERO, |e| match e {
            Event::Disconnected(d) if d.cause == DisconnectCause::Client => Some(()),
            _ => None,
        });
    }

    /// One round: write pending bytes, block on the socket no later than the
    /// engine's deadline or `until`, feed what came (whole packets only, up
    /// to `stop`'s packet count), and fire the engine's timer when due.
    fn pump(&mut self, until: Instant, stop: Option<(u64, bool)>) {
        self.flush();
        let now = self.now();
        let deadline = self.client.poll_timeout().map_or(until, |t| t.min(until));
        if let Some(stream) = &mut self.stream {
            let wait = Duration::from_millis(deadline.as_millis().saturating_sub(now.as_millis()))
                .clamp(Duration::from_millis(1), MAX_BLOCK);
            let _ = stream.set_read_timeout(Some(wait));
            let mut buf = [0u8; 16 * 1024];
            match stream.read(&mut buf) {
                Ok(0) => self.closed_by_peer(),
                Ok(n) => self.inbound.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.closed_by_peer(),
            }
        }
        self.feed(stop);
        let now = self.now();
        if self.client.poll_timeout().is_some_and(|t| now >= t) {
            self.client.handle_timeout(now);
        }
        match stop {
            Some((target, false)) if self.packets_in_total() >= target => self.drain_events(),
            _ => self.flush(),
        }
    }

    /// Hands every whole buffered packet to the engine, one at a time.
    fn feed(&mut self, stop: Option<(u64, bool)>) {
        while let Some(len) = packet_len(&self.inbound) {
            if stop.is_some_and(|(target, _)| self.packets_in_total() >= target) {
                return;
            }
            let packet: Vec<u8> = self.inbound.drain(..len).collect();
            self.packets_in[usize::from(packet[0] >> 4)] += 1;
            let now = self.now();
            match self.client.handle_bytes(now, &packet) {
                Ok(()) => {}
                Err(Error::Protocol(e)) => {
                    // The engine queued DISCONNECT and an event; send it and close.
                    self.flush();
                    self.drop_stream();
                    eprintln!("protocol violation reported by the engine: {e}");
                    return;
                }
                Err(Error::Local(e)) => panic!("handle_bytes refused input: {e}"),
            }
            let last =
                stop.is_some_and(|(target, flush)| !flush && self.packets_in_total() >= target);
            if last {
                self.drain_events();
            } else {
                self.flush();
            }
        }
    }

    fn closed_by_peer(&mut self) {
        // Packets already buffered were sent before the close: feed them first.
        self.feed(None);
        self.drop_stream();
        let now = self.now();
        self.client.handle_closed(now);
        let _ = self.client.poll_transmit();
        self.drain_events();
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(stream) = &mut self.stream else { return };
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        match stream.write_all(bytes) {
            Ok(()) => self.bytes_out += bytes.len() as u64,
            Err(_) => {
                self.drop_stream();
                let now = self.now();
                self.client.handle_closed(now);
                let _ = self.client.poll_transmit();
            }
        }
    }

    fn drop_stream(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.inbound.clear();
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.events.push_back(e);
        }
    }
}

/// The length of the first whole packet in `buf`, if it is all there.
fn packet_len(buf: &[u8]) -> Option<usize> {
    let mut remaining = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        remaining |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            let total = 2 + i + remaining;
            return (buf.len() >= total).then_some(total);
        }
    }
    // A malformed length: hand the engine what there is and let it refuse.
    Some(buf.len())
}

/// Options for a test client: `client_id`, `protocol`, and defaults otherwise.
pub fn options(client_id: &str, protocol: mqtt_engine::codec::Protocol) -> Options {
    Options { client_id: client_id.to_owned().into(), protocol, ..Options::default() }
}
