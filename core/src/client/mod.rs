//! The MQTT client session state machine, sans-IO.
//!
//! [`Client`] takes bytes and time in and gives bytes, events and deadlines
//! out. It opens no socket, reads no clock and starts no thread; the host owns
//! the transport and calls, after opening a connection:
//!
//! ```
//! use mqtt_engine::client::{Client, Event, Options};
//! use mqtt_engine::codec::{Publish, QoS};
//! use mqtt_engine::time::Instant;
//!
//! let now = Instant::from_millis(0);
//! let mut client = Client::new(Options { client_id: "demo".into(), ..Options::default() }, now);
//! client.connect(now).unwrap();
//! let connect_bytes = client.poll_transmit().unwrap(); // write these to the socket
//! # let _ = connect_bytes;
//! // ... then feed what the socket reads:
//! let connack = [0x20, 0x03, 0x00, 0x00, 0x00]; // CONNACK, Success, no properties
//! client.handle_bytes(now, &connack).unwrap();
//! assert!(matches!(client.poll_event(), Some(Event::Connected(_))));
//! let mut msg = Publish::new("sensors/kitchen", &b"21.5"[..]);
//! msg.qos = QoS::AtLeastOnce;
//! let id = client.publish(now, msg).unwrap();
//! assert_eq!(id, Some(1));
//! assert!(client.poll_transmit().is_some()); // the PUBLISH
//! // Sleep until client.poll_timeout(), then call client.handle_timeout(now).
//! ```
//!
//! After every input or command, drain all three outputs: write everything
//! [`Client::poll_transmit`] gives, handle every [`Client::poll_event`], and
//! arm a timer for [`Client::poll_timeout`].

mod alias;
mod error;
mod event;
mod options;
mod rpc;
mod session;
mod snapshot;

pub use error::{Error, LocalError, LocalErrorKind, ProtocolError};
pub use event::{
    Acked, AuthEvent, Connected, DisconnectCause, Disconnected, DropReason, Event, PublishDropped,
    Published,
};
pub use options::Options;

use crate::codec::{
    Auth, ByteStr, Connack, Connect, Decoder, Disconnect, Packet, PacketType, Properties, Protocol,
    PubAck, Publish, QoS, ReasonCode, Suback, Subscribe, Unsuback, Unsubscribe,
};
use crate::time::Instant;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use core::time::Duration;
use error::LocalErrorKind as Kind;
use session::{AckKind, IdSet, InboundAck, Outgoing, Stage};

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection: before the first [`Client::connect`], and after a
    /// connection ended. Session state is kept where the session can resume.
    Closed,
    /// CONNECT sent; waiting for CONNACK (and any AUTH exchange).
    Connecting,
    /// CONNACK received with Success.
    Connected,
}

/// What the server allows, from CONNACK (MQTT 5.0) or the 3.1.1 defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Maximum QoS the server accepts from us [MQTT-3.2.2-11].
    pub maximum_qos: QoS,
    /// Retain Available [MQTT-3.2.2-14].
    pub retain_available: bool,
    /// Maximum Packet Size the server accepts [MQTT-3.2.2-15]; `None` for no limit.
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum for aliases we send [MQTT-3.2.2-17].
    pub topic_alias_maximum: u16,
    /// Receive Maximum: QoS 1 and 2 messages we may have in flight [MQTT-3.3.4-7].
    pub receive_maximum: u16,
    /// The keep-alive in effect, seconds: the Server Keep Alive if the server
    /// sent one [MQTT-3.1.2-21], else ours.
    pub keep_alive: u16,
    /// The Session Expiry Interval in effect, seconds.
    pub session_expiry_interval: u32,
    /// Wildcard Subscription Available.
    pub wildcard_subscription_available: bool,
    /// Subscription Identifiers Available.
    pub subscription_identifiers_available: bool,
    /// Shared Subscription Available.
    pub shared_subscription_available: bool,
    /// Assigned Client Identifier, when we sent an empty one.
    pub assigned_client_identifier: Option<ByteStr>,
    /// Response Information, when we asked for it.
    pub response_information: Option<ByteStr>,
    /// Server Reference.
    pub server_reference: Option<ByteStr>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            receive_maximum: u16::MAX,
            keep_alive: 0,
            session_expiry_interval: 0,
            wildcard_subscription_available: true,
            subscription_identifiers_available: true,
            shared_subscription_available: true,
            assigned_client_identifier: None,
            response_information: None,
            server_reference: None,
        }
    }
}

/// Counters of things the engine dropped or saw, for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// PUBACK, PUBCOMP or PUBREC for a packet identifier with nothing in flight.
    pub unknown_acks: u64,
    /// Inbound QoS 2 PUBLISH re-deliveries answered without a second delivery.
    pub duplicate_qos2: u64,
    /// Application messages delivered as [`Event::Message`].
    pub messages_received: u64,
    /// PUBLISH packets written (first transmissions and re-sends).
    pub publishes_sent: u64,
}

/// The packet identifier of a SUBSCRIBE or UNSUBSCRIBE (the only packets
/// the control queues hold).
fn control_id(p: &Packet) -> u16 {
    match p {
        Packet::Subscribe(s) => s.packet_id,
        Packet::Unsubscribe(u) => u.packet_id,
        _ => 0,
    }
}

/// Where enhanced authentication stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthState {
    /// No exchange in progress.
    Idle,
    /// A re-authentication we started (AUTH 0x19) is in progress.
    Reauthenticating,
}

/// An MQTT 3.1.1 / 5.0 client session, sans-IO.
///
/// Its methods come in four groups (the engine contract of the design):
///
/// 1. **Getters**: [`Client::state`], [`Client::is_connected`],
///    [`Client::server`], [`Client::client_id`], [`Client::protocol`],
///    [`Client::inflight`], [`Client::queued`], [`Client::stats`].
/// 2. **Inputs**: [`Client::handle_bytes`], [`Client::handle_timeout`],
///    [`Client::handle_closed`].
/// 3. **Commands**: [`Client::connect`], [`Client::publish`],
///    [`Client::subscribe`], [`Client::unsubscribe`], [`Client::ack`],
///    [`Client::disconnect`], [`Client::auth`]; and [`Client::snapshot`] /
///    [`Client::restore`] to persist the session.
/// 4. **Outputs**, drained after every input or command:
///    [`Client::poll_transmit`], [`Client::poll_event`], [`Client::poll_timeout`].
///
/// `now` is the first argument of every input and command: milliseconds from
/// any origin, never going backwards (a smaller value counts as no time
/// passing). A command that fails with [`LocalError`] changes nothing. A
/// protocol violation by the server closes the connection: the DISCONNECT is
/// in [`Client::poll_transmit`], the cause in [`Event::Disconnected`], and the
/// input returns [`Error::Protocol`].
#[derive(Debug)]
pub struct Client {
    opts: Options,
    state: State,
    now: Instant,
    /// The client identifier in use: configured, or assigned by the server.
    client_id: ByteStr,
    server: ServerLimits,
    decoder: Decoder,
    tx: BytesMut,
    events: VecDeque<Event>,
    stats: Stats,

    // Session state: survives connections while the session can resume.
    /// Identifiers of our messages and (un)subscriptions, queued or in flight.
    ids: IdSet,
    /// QoS 1 and 2 messages sent and not completely acknowledged, in send order.
    inflight: VecDeque<Outgoing>,
    /// Messages accepted and not yet sent (no quota, not connected), in order.
    waiting: VecDeque<Publish>,
    /// SUBSCRIBE / UNSUBSCRIBE not yet sent (not connected), in order.
    control: VecDeque<Packet>,
    /// SUBSCRIBE / UNSUBSCRIBE sent, awaiting SUBACK / UNSUBACK.
    awaiting_ack: Vec<Packet>,
    /// Inbound QoS 2 packet identifiers received and not yet released (PUBREL).
    inbound_qos2: IdSet,
    /// Inbound QoS 1 and 2 messages whose ack has not gone out, arrival order.
    inbound_acks: VecDeque<InboundAck>,
    /// Inbound QoS 1 messages among `inbound_acks`.
    inbound_qos1_unacked: usize,
    /// The client holds session state the server may resume.
    has_session: bool,

    // Request/response (see rpc.rs).
    correlations: crate::rpc::Correlations,
    /// Our requests pending.
    requests: crate::rpc::Requests,
    /// Request PUBLISH packet identifiers awaiting their ack, to request ids.
    request_packets: alloc::collections::BTreeMap<u16, u64>,
    /// Subscriptions for answers: our response topic and devices' tx topics.
    answer_subs: alloc::collections::BTreeMap<ByteStr, (rpc::ResponseSub, rpc::Via)>,
    responder: crate::rpc::Responder,
    /// The next request id, ours or one we serve.
    next_request: u64,
    rpc_stats: crate::rpc::RpcStats,
    /// The Session Expiry Interval in effect: CONNECT's, then CONNACK's, then
    /// DISCONNECT's. Decides whether the session outlives a connection.
    session_expiry: u32,
    /// Clean Start for the next CONNECT.
    next_clean_start: bool,

    // Connection state: reset with every connection.
    clean_start_sent: bool,
    aliases_out: alias::Outbound,
    aliases_in: alias::Inbound,
    last_sent: Instant,
    ping_sent: Option<Instant>,
    connect_deadline: Option<Instant>,
    auth: AuthState,
}

impl Client {
    /// A client in [`State::Closed`] with `options`; nothing is sent until
    /// [`Client::connect`].
    pub fn new(options: Options, now: Instant) -> Client {
        let options_clean_start = options.clean_start;
        let options_seed = options.rpc.seed;
        let decoder =
            Decoder::new(options.protocol).with_max_packet_size(options.maximum_packet_size);
        Client {
            client_id: options.client_id.clone(),
            next_clean_start: options.clean_start,
            opts: options,
            state: State::Closed,
            now,
            server: ServerLimits::default(),
            decoder,
            tx: BytesMut::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ids: IdSet::default(),
            inflight: VecDeque::new(),
            waiting: VecDeque::new(),
            control: VecDeque::new(),
            awaiting_ack: Vec::new(),
            inbound_qos2: IdSet::default(),
            inbound_acks: VecDeque::new(),
            inbound_qos1_unacked: 0,
            // Asking to resume (Clean Start 0) declares the session state
            // this client holds, empty for a new process: the server's
            // session (subscriptions, queued messages) is resumed.
            has_session: !options_clean_start,
            session_expiry: 0,
            correlations: crate::rpc::Correlations::new(options_seed),
            requests: crate::rpc::Requests::default(),
            request_packets: alloc::collections::BTreeMap::new(),
            answer_subs: alloc::collections::BTreeMap::new(),
            responder: crate::rpc::Responder::default(),
            next_request: 1,
            rpc_stats: crate::rpc::RpcStats::default(),
            clean_start_sent: false,
            aliases_out: alias::Outbound::default(),
            aliases_in: alias::Inbound::default(),
            last_sent: now,
            ping_sent: None,
            connect_deadline: None,
            auth: AuthState::Idle,
        }
    }

    // ----- 1. Getters -------------------------------------------------------

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// True between a successful CONNACK and the end of the connection.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// What the server allows, as negotiated by the last CONNACK.
    pub fn server(&self) -> &ServerLimits {
        &self.server
    }

    /// The client identifier: the configured one, or the one the server assigned.
    pub fn client_id(&self) -> &ByteStr {
        &self.client_id
    }

    /// The protocol version.
    pub fn protocol(&self) -> Protocol {
        self.opts.protocol
    }

    /// The options the client was created with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Outbound QoS 1 and 2 messages sent and not completely acknowledged.
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// Messages and (un)subscriptions accepted and not yet sent. Messages
    /// waiting are at most `max_queued`; so are (un)subscriptions queued or
    /// awaiting their ack.
    pub fn queued(&self) -> usize {
        self.waiting.len() + self.control.len()
    }

    /// Inbound QoS 1 and 2 messages whose flow has not finished: QoS 1 until
    /// our PUBACK is written, QoS 2 until our PUBCOMP is. A host that wants
    /// the flows under way to end before it disconnects waits for 0.
    pub fn inbound_pending(&self) -> usize {
        self.inbound_unacked()
    }

    /// Packet identifiers of outbound QoS 1 and 2 messages in flight, in the
    /// order the messages were first sent (the order a resume re-sends them).
    pub fn inflight_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.inflight.iter().map(Outgoing::id)
    }

    /// Counters of what the engine dropped or saw.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    // ----- 2. Inputs --------------------------------------------------------

    /// Feeds bytes read from the connection: part of a packet, many packets,
    /// or both. Every complete packet is processed before this returns.
    ///
    /// Returns [`Error::Local`] (with nothing consumed) when more than
    /// `max_events` events wait to be drained, and [`Error::Protocol`] when the
    /// server broke the protocol (the connection is then closed). Bytes that
    /// arrive while [`State::Closed`] are ignored.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        self.advance(now);
        if self.state == State::Closed {
            return Ok(());
        }
        if self.events.len() >= self.opts.max_events {
            return Err(LocalError::implementation(
                Kind::QueueFull,
                "too many events waiting: drain poll_event before feeding more bytes",
            )
            .into());
        }
        // A fault in the fixed header is reported by next_packet after the
        // packets before it, so the result of push can be ignored here.
        let _ = self.decoder.push(data);
        while self.state != State::Closed {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => self.handle_frame(&frame)?,
                Ok(None) => break,
                Err(e) => return Err(self.violation(e.reason_code, e.message).into()),
            }
        }
        Ok(())
    }

    /// Tells the client that `now` has come: sends PINGREQ when the keep-alive
    /// interval has passed since the last packet sent [MQTT-3.1.2-20], and
    /// declares the connection dead when PINGRESP or CONNACK is overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        self.rpc_timeout();
        let now = self.now;
        match self.state {
            State::Closed => {}
            State::Connecting => {
                if self.connect_deadline.is_some_and(|d| now >= d) {
                    self.close(
                        DisconnectCause::ConnectTimeout,
                        ReasonCode::UNSPECIFIED_ERROR,
                        Some(ByteStr::from_static("no CONNACK within the connect timeout")),
                        None,
                    );
                }
            }
            State::Connected => {
                if let Some(sent) = self.ping_sent {
                    if now >= sent + self.pingresp_timeout() {
                        self.close(
                            DisconnectCause::KeepAliveTimeout,
                            ReasonCode::KEEP_ALIVE_TIMEOUT,
                            Some(ByteStr::from_static("no PINGRESP within the timeout")),
                            None,
                        );
                    }
                } else if let Some(due) = self.keep_alive_due() {
                    if now >= due {
                        self.write_raw(&[0xC0, 0x00]);
                        self.ping_sent = Some(now);
                    }
                }
            }
        }
    }

    /// Tells the client that the connection closed (the peer closed it, or the
    /// host did). Reports [`Event::Disconnected`] unless already closed.
    pub fn handle_closed(&mut self, now: Instant) {
        self.advance(now);
        if self.state != State::Closed {
            self.close(
                DisconnectCause::ConnectionLost,
                ReasonCode::UNSPECIFIED_ERROR,
                Some(ByteStr::from_static("the connection closed without DISCONNECT")),
                None,
            );
        }
    }

    // ----- 3. Commands ------------------------------------------------------

    /// Starts a connection: queues CONNECT, built from the options, for a
    /// transport the host has just opened.
    ///
    /// Clean Start is `options.clean_start` the first time. Later connections
    /// ask to resume (Clean Start 0) whenever the session can have outlived the
    /// previous connection (a non-zero Session Expiry Interval in 5.0, Clean
    /// Session 0 in 3.1.1, or a restored snapshot), and start clean otherwise.
    pub fn connect(&mut self, now: Instant) -> Result<(), LocalError> {
        self.advance(now);
        if self.state != State::Closed {
            return Err(LocalError::implementation(
                Kind::AlreadyConnected,
                "a connection is already open or opening",
            ));
        }
        let clean_start = self.next_clean_start;
        let connect = self.build_connect(clean_start);
        if self.opts.protocol == Protocol::V311 && connect.client_id.is_empty() && !clean_start {
            // 3.1.1 [MQTT-3.1.3-7]: a zero-byte ClientId needs CleanSession 1.
            return Err(LocalError::new(
                Kind::Invalid,
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                "MQTT 3.1.1 needs a client identifier to resume a session",
            ));
        }
        let packet = Packet::Connect(alloc::boxed::Box::new(connect));
        packet.encoded_len(self.opts.protocol).map_err(invalid)?;
        if clean_start {
            // [MQTT-3.1.2-4]: Clean Start discards the session on both sides.
            self.discard_session();
        }
        self.decoder.reset();
        self.decoder.set_protocol(self.opts.protocol);
        self.server = ServerLimits::default();
        self.aliases_out.reset(0);
        self.aliases_in.clear();
        self.auth = AuthState::Idle;
        self.ping_sent = None;
        self.clean_start_sent = clean_start;
        self.session_expiry = match self.opts.protocol {
            Protocol::V5 => self.opts.session_expiry_interval,
            Protocol::V311 => 0,
        };
        self.connect_deadline = Some(self.now + self.opts.connect_timeout);
        self.state = State::Connecting;
        self.write_packet(&packet);
        Ok(())
    }

    /// Publishes a message. Returns its packet identifier for QoS 1 and 2
    /// (reported again in [`Event::Published`] when the flow completes), `None`
    /// for QoS 0.
    ///
    /// The engine sets the packet identifier, DUP and any Topic Alias itself;
    /// the message must not carry a Topic Alias or Subscription Identifier
    /// [MQTT-3.3.4-6]. While connected the message must respect the server's
    /// Maximum QoS, Retain Available and Maximum Packet Size. It is sent now,
    /// or queued in order when the send quota (Receive Maximum) is used up
    /// [MQTT-3.3.4-7], while connecting, or (with `offline_queue`) while closed.
    pub fn publish(&mut self, now: Instant, mut msg: Publish) -> Result<Option<u16>, LocalError> {
        self.advance(now);
        if msg.properties.topic_alias.is_some() {
            return Err(LocalError::new(
                Kind::Invalid,
                ReasonCode::PROTOCOL_ERROR,
                "topic aliases are assigned by the engine",
            ));
        }
        if !msg.properties.subscription_identifiers.is_empty() {
            return Err(LocalError::new(
                Kind::Invalid,
                ReasonCode::PROTOCOL_ERROR,
                "a PUBLISH from a client must not carry a Subscription Identifier",
            ));
        }
        msg.dup = false;
        msg.packet_id = (msg.qos != QoS::AtMostOnce).then_some(1);
        // The codec validates everything once here; what the engine changes
        // afterwards (identifier, DUP, alias) keeps the packet valid.
        let len =
            msg.encoded_len(self.opts.protocol).map_err(
                |e| match crate::topic::check_name_bytes(msg.topic.as_bytes()) {
                    Err(m) => LocalError::new(Kind::Invalid, ReasonCode::TOPIC_NAME_INVALID, m),
                    Ok(()) => invalid(e),
                },
            )?;
        self.check_can_queue()?;
        let send_now = self.state == State::Connected && self.waiting.is_empty();
        if self.state == State::Connected {
            self.check_server_allows(&msg, len)?;
        }
        let quota_ok = msg.qos == QoS::AtMostOnce || self.quota() > 0;
        if !(send_now && quota_ok) && self.waiting.len() >= self.opts.max_queued {
            return Err(LocalError::implementation(
                Kind::QueueFull,
                "the queue of messages waiting to be sent is full",
            ));
        }
        let id = if msg.qos == QoS::AtMostOnce {
            None
        } else {
            Some(self.ids.allocate().ok_or(LocalError::implementation(
                Kind::QueueFull,
                "all 65,535 packet identifiers are in use",
            ))?)
        };
        msg.packet_id = id;
        if send_now && quota_ok {
            self.send_new_publish(msg);
        } else {
            self.waiting.push_back(msg);
        }
        Ok(id)
    }

    /// Subscribes. The engine sets the packet identifier, which it returns and
    /// reports again in [`Event::Subscribed`] with one reason code per filter.
    ///
    /// Filters are checked ([MQTT-4.7.1-1], [MQTT-4.7.1-2], [MQTT-4.8.2-1],
    /// [MQTT-4.8.2-2]; No Local on a shared subscription [MQTT-3.8.3-4]) and,
    /// while connected, against what the server supports (wildcards, shared
    /// subscriptions, Subscription Identifiers, Maximum Packet Size).
    pub fn subscribe(&mut self, now: Instant, mut sub: Subscribe) -> Result<u16, LocalError> {
        self.advance(now);
        self.check_filters(
            sub.filters.iter().map(|s| &s.filter),
            "SUBSCRIBE needs at least one topic filter",
        )?;
        for s in &sub.filters {
            let shared = self.opts.protocol == Protocol::V5
                && crate::topic::is_shared_bytes(s.filter.as_bytes());
            if shared && s.no_local {
                return Err(LocalError::new(
                    Kind::Invalid,
                    ReasonCode::PROTOCOL_ERROR,
                    "No Local on a shared subscription",
                ));
            }
            if self.state == State::Connected {
                if shared && !self.server.shared_subscription_available {
                    return Err(not_supported(
                        ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED,
                        "the server does not support shared subscriptions",
                    ));
                }
                if crate::topic::has_wildcard(&s.filter)
                    && !self.server.wildcard_subscription_available
                {
                    return Err(not_supported(
                        ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
                        "the server does not support wildcard subscriptions",
                    ));
                }
            }
        }
        if self.state == State::Connected
            && !sub.properties.subscription_identifiers.is_empty()
            && !self.server.subscription_identifiers_available
        {
            return Err(not_supported(
                ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
                "the server does not support Subscription Identifiers",
            ));
        }
        sub.packet_id = 1;
        self.queue_control(Packet::Subscribe(sub))
    }

    /// Unsubscribes. The engine sets the packet identifier, which it returns
    /// and reports again in [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, now: Instant, mut unsub: Unsubscribe) -> Result<u16, LocalError> {
        self.advance(now);
        self.check_filters(unsub.filters.iter(), "UNSUBSCRIBE needs at least one topic filter")?;
        unsub.packet_id = 1;
        self.queue_control(Packet::Unsubscribe(unsub))
    }

    /// In manual-ack mode, acknowledges the inbound QoS 1 or 2 message with
    /// `packet_id` with Success. Acks go out in the order the messages
    /// arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3]: an ack for a later message waits
    /// for the earlier ones.
    pub fn ack(&mut self, now: Instant, packet_id: u16) -> Result<(), LocalError> {
        self.ack_with(now, packet_id, ReasonCode::SUCCESS)
    }

    /// Like [`Client::ack`] with a reason code (5.0): a PUBACK / PUBREC code
    /// such as 0x80 Unspecified error or 0x87 Not authorized to refuse the
    /// message. A QoS 2 message refused this way may be sent again as a new
    /// message [MQTT-4.3.3-9].
    pub fn ack_with(
        &mut self,
        now: Instant,
        packet_id: u16,
        reason_code: ReasonCode,
    ) -> Result<(), LocalError> {
        self.advance(now);
        if reason_code != ReasonCode::SUCCESS {
            if self.opts.protocol == Protocol::V311 {
                return Err(LocalError::new(
                    Kind::Invalid,
                    ReasonCode::PROTOCOL_ERROR,
                    "MQTT 3.1.1 acknowledgements carry no reason code",
                ));
            }
            let probe = PubAck { packet_id, reason_code, properties: Properties::default() };
            Packet::Puback(probe).encoded_len(Protocol::V5).map_err(invalid)?;
        }
        let Some(entry) =
            self.inbound_acks.iter_mut().find(|a| a.id == packet_id && a.code.is_none())
        else {
            return Err(LocalError::implementation(
                Kind::UnknownPacketId,
                "no received message with this packet identifier awaits an ack",
            ));
        };
        entry.code = Some(reason_code);
        self.flush_acks();
        Ok(())
    }

    /// Sends DISCONNECT and closes the connection: [`Event::Disconnected`]
    /// with [`DisconnectCause::Client`] follows; the host should write what
    /// [`Client::poll_transmit`] gives and close the transport.
    ///
    /// In 5.0 the packet may carry a reason code (0x04 asks the server to
    /// publish the Will) and a new Session Expiry Interval, which may not turn
    /// a zero interval into a non-zero one.
    pub fn disconnect(&mut self, now: Instant, packet: Disconnect) -> Result<(), LocalError> {
        self.advance(now);
        if self.state == State::Closed {
            return Err(LocalError::implementation(Kind::NotConnected, "no connection is open"));
        }
        let expiry = packet.properties.session_expiry_interval;
        if self.opts.protocol == Protocol::V5
            && expiry.is_some_and(|e| e != 0)
            && self.opts.session_expiry_interval == 0
        {
            return Err(LocalError::new(
                Kind::Invalid,
                ReasonCode::PROTOCOL_ERROR,
                "the session expiry was 0 at CONNECT: DISCONNECT may not set it",
            ));
        }
        let reason_code = packet.reason_code;
        let packet = Packet::Disconnect(packet);
        packet.encoded_len(self.opts.protocol).map_err(invalid)?;
        self.write_packet(&packet);
        if let Some(e) = expiry {
            self.session_expiry = e;
        }
        self.close(DisconnectCause::Client, reason_code, None, None);
        Ok(())
    }

    /// Sends AUTH (5.0 enhanced authentication). With reason code 0x18
    /// Continue authentication it answers a challenge ([`Event::Auth`]); with
    /// 0x19 Re-authenticate it starts a re-authentication while connected
    /// [MQTT-4.12.1-1]. The Authentication Method is filled in from the
    /// options when absent and must match them [MQTT-4.12.0-5].
    pub fn auth(&mut self, now: Instant, mut packet: Auth) -> Result<(), LocalError> {
        self.advance(now);
        let method = match (&self.opts.authentication_method, self.opts.protocol) {
            (Some(m), Protocol::V5) => m.clone(),
            // [MQTT-4.12.0-7]; AUTH does not exist in 3.1.1.
            _ => {
                return Err(LocalError::new(
                    Kind::Auth,
                    ReasonCode::PROTOCOL_ERROR,
                    "AUTH needs MQTT 5.0 and an Authentication Method in the options",
                ))
            }
        };
        match packet.properties.authentication_method.as_ref() {
            None => packet.properties.authentication_method = Some(method),
            Some(m) if *m == method => {}
            Some(_) => {
                return Err(LocalError::new(
                    Kind::Auth,
                    ReasonCode::PROTOCOL_ERROR,
                    "the Authentication Method differs from the one in CONNECT",
                ))
            }
        }
        let ok = match (packet.reason_code, self.state) {
            (ReasonCode::CONTINUE_AUTHENTICATION, State::Connecting) => true,
            (ReasonCode::CONTINUE_AUTHENTICATION, State::Connected) => {
                self.auth == AuthState::Reauthenticating
            }
            (ReasonCode::REAUTHENTICATE, State::Connected) => self.auth == AuthState::Idle,
            _ => false,
        };
        if !ok {
            return Err(LocalError::new(
                Kind::Auth,
                ReasonCode::PROTOCOL_ERROR,
                "AUTH 0x18 answers a challenge, 0x19 starts re-authentication while connected",
            ));
        }
        let reauthenticate = packet.reason_code == ReasonCode::REAUTHENTICATE;
        let packet = Packet::Auth(packet);
        packet.encoded_len(Protocol::V5).map_err(invalid)?;
        if reauthenticate {
            self.auth = AuthState::Reauthenticating;
        }
        self.write_packet(&packet);
        Ok(())
    }

    // ----- 4. Outputs -------------------------------------------------------

    /// Bytes to write to the connection, all that are pending, or `None`.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.tx.is_empty() {
            None
        } else {
            Some(self.tx.split().freeze())
        }
    }

    /// The next event, or `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should next be called, or `None` if no
    /// timer is running. After `handle_timeout(now)` it is never at or
    /// before `now`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = match self.state {
            State::Closed => None,
            State::Connecting => self.connect_deadline,
            State::Connected => match self.ping_sent {
                Some(sent) => Some(sent + self.pingresp_timeout()),
                None => self.keep_alive_due(),
            },
        };
        match (session, self.requests.next_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- Internals --------------------------------------------------------

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn keep_alive_due(&self) -> Option<Instant> {
        let ka = self.server.keep_alive;
        (ka != 0).then(|| self.last_sent + Duration::from_secs(u64::from(ka)))
    }

    fn pingresp_timeout(&self) -> Duration {
        let d = self
            .opts
            .pingresp_timeout
            .unwrap_or(Duration::from_secs(u64::from(self.server.keep_alive)));
        d.max(Duration::from_millis(1))
    }

    /// Send quota: QoS 1 and 2 messages that may still be put in flight.
    fn quota(&self) -> usize {
        let max = self.server.receive_maximum.min(self.opts.max_inflight).max(1) as usize;
        max.saturating_sub(self.inflight.len())
    }

    fn build_connect(&self, clean_start: bool) -> Connect {
        let o = &self.opts;
        let mut c = Connect::new(o.protocol, self.client_id.clone());
        c.clean_start = clean_start;
        c.keep_alive = o.keep_alive;
        c.will = o.will.clone();
        c.username = o.username.clone();
        c.password = o.password.clone();
        if o.protocol == Protocol::V5 {
            let p = &mut c.properties;
            p.session_expiry_interval =
                (o.session_expiry_interval != 0).then_some(o.session_expiry_interval);
            p.receive_maximum = (o.receive_maximum != u16::MAX).then_some(o.receive_maximum);
            p.maximum_packet_size = (o.maximum_packet_size
                < crate::codec::MAX_REMAINING_LENGTH + 5)
                .then_some(o.maximum_packet_size);
            p.topic_alias_maximum = (o.topic_alias_maximum != 0).then_some(o.topic_alias_maximum);
            p.request_response_information = o.request_response_information.then_some(1);
            p.request_problem_information = (!o.request_problem_information).then_some(0);
            p.user_properties = o.user_properties.clone();
            p.authentication_method = o.authentication_method.clone();
            p.authentication_data = o.authentication_data.clone();
        }
        c
    }

    /// Refuses a command when the connection state or the transmit buffer
    /// does not allow more.
    fn check_can_queue(&self) -> Result<(), LocalError> {
        if self.state == State::Closed && !self.opts.offline_queue {
            return Err(LocalError::implementation(
                Kind::NotConnected,
                "not connected (enable offline_queue to queue while closed)",
            ));
        }
        if self.tx.len() >= self.opts.max_transmit_bytes {
            return Err(LocalError::implementation(
                Kind::QueueFull,
                "too many bytes wait in poll_transmit: drain it first",
            ));
        }
        Ok(())
    }

    /// Checks a message against the server's limits [MQTT-3.2.2-11],
    /// [MQTT-3.2.2-14], [MQTT-3.2.2-15]; `len` is its encoded length.
    fn check_server_allows(&self, msg: &Publish, len: usize) -> Result<(), LocalError> {
        if msg.qos > self.server.maximum_qos {
            return Err(not_supported(
                ReasonCode::QOS_NOT_SUPPORTED,
                "QoS above the server's Maximum QoS",
            ));
        }
        if msg.retain && !self.server.retain_available {
            return Err(not_supported(
                ReasonCode::RETAIN_NOT_SUPPORTED,
                "the server does not support retained messages",
            ));
        }
        if self.server.maximum_packet_size.is_some_and(|max| len > max as usize) {
            return Err(not_supported(
                ReasonCode::PACKET_TOO_LARGE,
                "the message is larger than the server's Maximum Packet Size",
            ));
        }
        Ok(())
    }

    /// Checks the topic filters of a SUBSCRIBE or UNSUBSCRIBE: at least one
    /// (else `if_none` is the error) [MQTT-3.8.3-2], [MQTT-3.10.3-2], each
    /// valid for the protocol.
    fn check_filters<'a>(
        &self,
        filters: impl ExactSizeIterator<Item = &'a ByteStr>,
        if_none: &'static str,
    ) -> Result<(), LocalError> {
        if filters.len() == 0 {
            return Err(LocalError::new(Kind::Invalid, ReasonCode::PROTOCOL_ERROR, if_none));
        }
        for f in filters {
            crate::topic::check_filter_for(f, self.opts.protocol)
                .map_err(|m| LocalError::new(Kind::Invalid, ReasonCode::TOPIC_FILTER_INVALID, m))?;
        }
        Ok(())
    }

    /// Validates a SUBSCRIBE / UNSUBSCRIBE (with a placeholder packet
    /// identifier) and the room to send or queue it.
    fn check_control(&self, packet: &Packet) -> Result<(), LocalError> {
        let len = packet.encoded_len(self.opts.protocol).map_err(invalid)?;
        self.check_can_queue()?;
        if self.state == State::Connected
            && self.server.maximum_packet_size.is_some_and(|max| len > max as usize)
        {
            return Err(not_supported(
                ReasonCode::PACKET_TOO_LARGE,
                "the packet is larger than the server's Maximum Packet Size",
            ));
        }
        if self.control.len() + self.awaiting_ack.len() >= self.opts.max_queued {
            return Err(LocalError::implementation(
                Kind::QueueFull,
                "too many SUBSCRIBE / UNSUBSCRIBE queued or awaiting their ack",
            ));
        }
        Ok(())
    }

    /// Validates a SUBSCRIBE / UNSUBSCRIBE built with a placeholder packet
    /// identifier, gives it a real one, and sends it now if connected (they
    /// never wait for send quota [MQTT-3.3.4-8]) or queues it for the next
    /// connection. Returns the identifier.
    fn queue_control(&mut self, mut packet: Packet) -> Result<u16, LocalError> {
        self.check_control(&packet)?;
        let id = self.ids.allocate().ok_or(LocalError::implementation(
            Kind::QueueFull,
            "all 65,535 packet identifiers are in use",
        ))?;
        match &mut packet {
            Packet::Subscribe(s) => s.packet_id = id,
            Packet::Unsubscribe(u) => u.packet_id = id,
            _ => {}
        }
        if self.state == State::Connected {
            self.send_control(packet);
        } else {
            self.control.push_back(packet);
        }
        Ok(id)
    }

    fn send_control(&mut self, packet: Packet) {
        self.write_packet(&packet);
        self.awaiting_ack.push(packet);
    }

    /// Writes a packet to the transmit buffer. Packets reaching here were
    /// validated by the command that made them or are built by the engine.
    fn write_packet(&mut self, packet: &Packet) {
        let max = self.server.maximum_packet_size.unwrap_or(u32::MAX);
        // encode_within sheds Reason String and User Properties of acks to fit
        // the server's Maximum Packet Size ([MQTT-3.4.2-2] and the like).
        if packet.encode_within(self.opts.protocol, max, &mut self.tx).is_ok() {
            self.last_sent = self.now;
        }
    }

    fn write_raw(&mut self, bytes: &[u8]) {
        self.tx.put_slice(bytes);
        self.last_sent = self.now;
    }

    /// Writes PUBACK / PUBREC / PUBREL / PUBCOMP with Success and no
    /// properties: four bytes, the form the codec writes for it.
    fn write_ack(&mut self, first_byte: u8, id: u16) {
        let [hi, lo] = id.to_be_bytes();
        self.write_raw(&[first_byte, 2, hi, lo]);
    }

    /// Writes PUBACK, PUBREC, PUBREL or PUBCOMP (`kind`) with a reason code
    /// (5.0; Success, and anything in 3.1.1, takes the four-byte form).
    fn write_ack_code(&mut self, kind: PacketType, id: u16, code: ReasonCode) {
        if code == ReasonCode::SUCCESS || self.opts.protocol == Protocol::V311 {
            let flags = if kind == PacketType::Pubrel { 2 } else { 0 };
            self.write_ack((kind as u8) << 4 | flags, id);
            return;
        }
        let ack = PubAck { packet_id: id, reason_code: code, properties: Properties::default() };
        let packet = match kind {
            PacketType::Puback => Packet::Puback(ack),
            PacketType::Pubrec => Packet::Pubrec(ack),
            PacketType::Pubrel => Packet::Pubrel(ack),
            _ => Packet::Pubcomp(ack),
        };
        self.write_packet(&packet);
    }

    /// First transmission of a message (QoS 0 or with quota): with a Topic
    /// Alias where the server allows one, then, for QoS 1 and 2, in flight.
    fn send_new_publish(&mut self, mut msg: Publish) {
        let topic = match self.aliases_out.choose(&msg.topic) {
            alias::Use::Plain => None,
            alias::Use::Establish(a) => {
                // The alias adds three bytes: establish it only if the packet
                // still fits the server's Maximum Packet Size.
                msg.properties.topic_alias = Some(a);
                let max = self.server.maximum_packet_size.unwrap_or(u32::MAX) as usize;
                if msg.encoded_len(self.opts.protocol).is_ok_and(|len| len <= max) {
                    self.aliases_out.established(&msg.topic, a);
                } else {
                    msg.properties.topic_alias = None;
                }
                None
            }
            alias::Use::Alias(a) => {
                msg.properties.topic_alias = Some(a);
                Some(core::mem::take(&mut msg.topic))
            }
        };
        self.write_publish(&msg);
        if msg.qos == QoS::AtMostOnce {
            return;
        }
        // What stays in flight always carries its topic name, never an alias:
        // a re-send goes on another connection [MQTT-3.3.2-7].
        if let Some(t) = topic {
            msg.topic = t;
        }
        msg.properties.topic_alias = None;
        self.inflight.push_back(Outgoing { stage: Stage::Published, publish: msg });
    }

    /// Writes a PUBLISH validated by [`Client::publish`] (or decoded from a
    /// snapshot) and since changed only in identifier, DUP or alias.
    fn write_publish(&mut self, msg: &Publish) {
        msg.encode_unchecked(self.opts.protocol, &mut self.tx);
        self.last_sent = self.now;
        self.stats.publishes_sent += 1;
    }

    /// Sends waiting messages in order while the send quota allows.
    fn send_waiting(&mut self) {
        while self.state == State::Connected {
            let Some(front) = self.waiting.front() else { break };
            if front.qos != QoS::AtMostOnce && self.quota() == 0 {
                break;
            }
            let Some(msg) = self.waiting.pop_front() else { break };
            // Queued before CONNACK: the server's limits are known only now.
            let len = msg.encoded_len(self.opts.protocol).unwrap_or(usize::MAX);
            if let Err(e) = self.check_server_allows(&msg, len) {
                if let Some(id) = msg.packet_id {
                    self.ids.remove(id);
                }
                self.events.push_back(Event::PublishDropped(PublishDropped {
                    packet_id: msg.packet_id,
                    topic: msg.topic,
                    reason: DropReason::NotAllowed,
                    reason_code: e.reason_code,
                }));
                continue;
            }
            self.send_new_publish(msg);
        }
    }

    /// Sends acks whose turn has come: the oldest first, stopping at the
    /// first one the application has not acknowledged yet.
    fn flush_acks(&mut self) {
        if self.state != State::Connected {
            return;
        }
        while let Some(&InboundAck { id, kind, code: Some(code) }) = self.inbound_acks.front() {
            self.inbound_acks.pop_front();
            match kind {
                AckKind::Puback => {
                    self.inbound_qos1_unacked -= 1;
                    self.write_ack_code(PacketType::Puback, id, code);
                }
                AckKind::Pubrec => {
                    if code.is_error() {
                        // [MQTT-4.3.3-9]: the identifier is free for a new message.
                        self.inbound_qos2.remove(id);
                    }
                    self.write_ack_code(PacketType::Pubrec, id, code);
                }
            }
        }
    }

    /// Discards the session state: messages in flight are reported lost
    /// [MQTT-3.2.2-5]; messages never sent stay queued for the new session.
    fn discard_session(&mut self) {
        for o in core::mem::take(&mut self.inflight) {
            self.ids.remove(o.id());
            if self.request_packets.contains_key(&o.id()) {
                continue; // a request: it ends with the rest below
            }
            self.events.push_back(Event::PublishDropped(PublishDropped {
                packet_id: o.publish.packet_id,
                topic: o.publish.topic,
                reason: DropReason::SessionLost,
                reason_code: ReasonCode::UNSPECIFIED_ERROR,
            }));
        }
        self.inbound_qos2.clear();
        self.inbound_acks.clear();
        self.inbound_qos1_unacked = 0;
        self.has_session = false;
        self.rpc_session_lost();
    }

    /// Ends the connection: state, timers, aliases, then the event.
    fn close(
        &mut self,
        cause: DisconnectCause,
        reason_code: ReasonCode,
        reason_string: Option<ByteStr>,
        from_server: Option<Properties>,
    ) {
        let was = self.state;
        self.state = State::Closed;
        self.connect_deadline = None;
        self.ping_sent = None;
        self.auth = AuthState::Idle;
        self.decoder.reset();
        self.aliases_out.reset(0);
        self.aliases_in.clear();
        // Sent but unacknowledged (un)subscriptions go again on the next
        // connection, ahead of those queued since.
        for c in self.awaiting_ack.drain(..).rev() {
            self.control.push_front(c);
        }
        // Acks not sent yet: QoS 1 messages will be re-delivered by a resumed
        // session and acked then; QoS 2 acks wait for the application still.
        let mut removed_qos1 = 0;
        self.inbound_acks.retain(|a| {
            let keep = a.kind == AckKind::Pubrec;
            removed_qos1 += usize::from(!keep);
            keep
        });
        self.inbound_qos1_unacked -= removed_qos1;
        let survives = match self.opts.protocol {
            Protocol::V5 => self.session_expiry != 0,
            Protocol::V311 => !self.clean_start_sent,
        };
        if was == State::Connected || self.has_session {
            if survives {
                self.has_session = true;
            } else {
                self.discard_session();
            }
        }
        self.next_clean_start = !self.has_session;
        let (server_reference, user_properties, server_reason) = match from_server {
            Some(p) => {
                let p = p.into_fields();
                (p.server_reference, p.user_properties, p.reason_string)
            }
            None => (None, Vec::new(), None),
        };
        self.events.push_back(Event::Disconnected(Disconnected {
            cause,
            reason_code,
            reason_string: server_reason.or(reason_string),
            server_reference,
            user_properties,
        }));
    }

    /// The server broke the protocol: DISCONNECT with `code` (5.0), close.
    fn violation(&mut self, code: ReasonCode, message: &'static str) -> ProtocolError {
        if self.opts.protocol == Protocol::V5 && self.state != State::Closed {
            let mut d = Disconnect::new(code);
            d.properties.reason_string = Some(ByteStr::from_static(message));
            self.write_packet(&Packet::Disconnect(d));
        }
        self.close(
            DisconnectCause::ProtocolViolation,
            code,
            Some(ByteStr::from_static(message)),
            None,
        );
        ProtocolError { reason_code: code, message }
    }

    /// One whole packet from the server. The four-byte Success form of
    /// PUBACK, PUBREC, PUBREL and PUBCOMP, which every QoS 1 and 2 flow
    /// carries, is handled from its bytes; everything else is decoded.
    fn handle_frame(&mut self, frame: &Bytes) -> Result<(), ProtocolError> {
        if let [first, 2, hi, lo] = frame[..] {
            let id = u16::from_be_bytes([hi, lo]);
            if id != 0 && self.state == State::Connected {
                match first {
                    0x40 => return self.on_puback(id, ReasonCode::SUCCESS, None),
                    0x50 => return self.on_pubrec(id, ReasonCode::SUCCESS, None),
                    0x62 => return self.on_pubrel(id),
                    0x70 => return self.on_pubcomp(id, ReasonCode::SUCCESS, None),
                    _ => {}
                }
            }
        }
        match crate::codec::decode(self.opts.protocol, frame, u32::MAX) {
            Ok(Some((packet, _))) => self.handle_packet(packet),
            Ok(None) => Err(self.violation(ReasonCode::MALFORMED_PACKET, "packet cut short")),
            Err(e) => Err(self.violation(e.reason_code, e.message)),
        }
    }

    fn handle_packet(&mut self, packet: Packet) -> Result<(), ProtocolError> {
        match (self.state, packet) {
            (State::Connecting, Packet::Connack(c)) => self.on_connack(c),
            (State::Connected, Packet::Publish(p)) => self.on_publish(p),
            (State::Connected, Packet::Puback(a)) => {
                self.on_puback(a.packet_id, a.reason_code, Some(a.properties))
            }
            (State::Connected, Packet::Pubrec(a)) => {
                self.on_pubrec(a.packet_id, a.reason_code, Some(a.properties))
            }
            (State::Connected, Packet::Pubrel(a)) => self.on_pubrel(a.packet_id),
            (State::Connected, Packet::Pubcomp(a)) => {
                self.on_pubcomp(a.packet_id, a.reason_code, Some(a.properties))
            }
            (State::Connected, Packet::Suback(s)) => self.on_suback(s),
            (State::Connected, Packet::Unsuback(u)) => self.on_unsuback(u),
            (State::Connected, Packet::Pingresp) => {
                self.ping_sent = None;
                Ok(())
            }
            (_, Packet::Disconnect(d)) => self.on_disconnect(d),
            (_, Packet::Auth(a)) => self.on_auth(a),
            (State::Connecting, _) => Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "a packet other than CONNACK or AUTH before CONNACK",
            )),
            (_, Packet::Connack(_)) => {
                Err(self.violation(ReasonCode::PROTOCOL_ERROR, "a second CONNACK"))
            }
            (_, _) => Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "a packet a server never sends to a client",
            )),
        }
    }

    fn on_connack(&mut self, c: Connack) -> Result<(), ProtocolError> {
        let v5 = self.opts.protocol == Protocol::V5;
        if c.reason_code != ReasonCode::SUCCESS {
            let code = if v5 {
                c.reason_code
            } else {
                ReasonCode::from_connect_return_code(c.reason_code.0)
                    .unwrap_or(ReasonCode::UNSPECIFIED_ERROR)
            };
            let text = if v5 { None } else { c.reason_code.connect_return_code_name() };
            self.close(
                DisconnectCause::Refused,
                code,
                text.map(ByteStr::from_static),
                Some(c.properties),
            );
            return Ok(());
        }
        if c.session_present && self.clean_start_sent {
            // [MQTT-3.2.2-2] (5.0), [MQTT-3.2.2-1] (3.1.1)
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "Session Present in answer to Clean Start",
            ));
        }
        if v5 && c.properties.authentication_method != self.opts.authentication_method {
            // [MQTT-4.12.0-5]
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "CONNACK Authentication Method differs from CONNECT's",
            ));
        }
        let p = &c.properties;
        let o = &self.opts;
        self.server = ServerLimits {
            maximum_qos: p.maximum_qos.and_then(QoS::from_u8).unwrap_or(QoS::ExactlyOnce),
            retain_available: p.retain_available != Some(0),
            maximum_packet_size: p.maximum_packet_size,
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            keep_alive: p.server_keep_alive.unwrap_or(o.keep_alive),
            session_expiry_interval: p.session_expiry_interval.unwrap_or(if v5 {
                o.session_expiry_interval
            } else {
                0
            }),
            wildcard_subscription_available: p.wildcard_subscription_available != Some(0),
            subscription_identifiers_available: p.subscription_identifiers_available != Some(0),
            shared_subscription_available: p.shared_subscription_available != Some(0),
            assigned_client_identifier: p.assigned_client_identifier.clone(),
            response_information: p.response_information.clone(),
            server_reference: p.server_reference.clone(),
        };
        if let Some(id) = &p.assigned_client_identifier {
            self.client_id = id.clone();
        }
        if v5 {
            self.session_expiry = self.server.session_expiry_interval;
        }
        self.aliases_out.reset(if o.outbound_topic_aliases {
            self.server.topic_alias_maximum
        } else {
            0
        });
        if !c.session_present {
            self.discard_session();
        }
        self.has_session = true;
        self.state = State::Connected;
        self.connect_deadline = None;
        self.events.push_back(Event::Connected(Connected {
            session_present: c.session_present,
            properties: c.properties,
        }));
        if c.session_present {
            self.resend_inflight();
        }
        for ctl in core::mem::take(&mut self.control) {
            self.send_control(ctl);
        }
        self.flush_acks();
        self.send_waiting();
        Ok(())
    }

    /// Re-sends, in their original order [MQTT-4.6.0-1], every PUBLISH not
    /// acknowledged (DUP set [MQTT-3.3.1-1], full topic name) and every PUBREL
    /// not completed [MQTT-4.4.0-1].
    fn resend_inflight(&mut self) {
        let mut inflight = core::mem::take(&mut self.inflight);
        for o in inflight.iter_mut() {
            match o.stage {
                Stage::Published => {
                    o.publish.dup = true;
                    self.write_publish(&o.publish);
                }
                Stage::Released => self.write_ack(0x62, o.id()),
            }
        }
        self.inflight = inflight;
    }

    fn inbound_unacked(&self) -> usize {
        self.inbound_qos2.len() + self.inbound_qos1_unacked
    }

    fn on_publish(&mut self, mut p: Publish) -> Result<(), ProtocolError> {
        if let Some(alias) = p.properties.topic_alias {
            match self.aliases_in.resolve(self.opts.topic_alias_maximum, alias, &p.topic) {
                Ok(topic) => p.topic = topic,
                Err(alias::Refused::OutOfRange) => {
                    // [MQTT-3.3.2-10]: only 1..=our Topic Alias Maximum.
                    return Err(self.violation(
                        ReasonCode::TOPIC_ALIAS_INVALID,
                        "Topic Alias 0 or above our Topic Alias Maximum",
                    ));
                }
                Err(alias::Refused::Unknown) => {
                    return Err(self.violation(
                        ReasonCode::TOPIC_ALIAS_INVALID,
                        "Topic Alias not established on this connection",
                    ));
                }
            }
        }
        let Some(id) = p.packet_id else {
            self.deliver(p);
            return Ok(());
        };
        let manual = self.opts.manual_ack;
        if p.qos == QoS::ExactlyOnce && self.inbound_qos2.contains(id) {
            // A re-delivery before PUBREL: acknowledge again, deliver once
            // [MQTT-4.3.3-10]. If our PUBREC has not gone out yet (manual
            // ack), it will when the application acks.
            self.stats.duplicate_qos2 += 1;
            if !self.inbound_acks.iter().any(|a| a.id == id && a.kind == AckKind::Pubrec) {
                self.write_ack(0x50, id);
            }
            return Ok(());
        }
        if p.qos == QoS::AtLeastOnce
            && manual
            && self.inbound_acks.iter().any(|a| a.id == id && a.kind == AckKind::Puback)
        {
            // The same message again before we acked it: it is acked once.
            return Ok(());
        }
        if self.inbound_unacked() >= self.opts.receive_maximum as usize {
            // [MQTT-3.3.4-9] broken by the server.
            return Err(self.violation(
                ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                "more unacknowledged QoS 1 and 2 messages than our Receive Maximum",
            ));
        }
        let kind = if p.qos == QoS::ExactlyOnce {
            self.inbound_qos2.insert(id);
            AckKind::Pubrec
        } else {
            self.inbound_qos1_unacked += 1;
            AckKind::Puback
        };
        // Answers to our requests are the engine's to ack, in any mode.
        let code = (!manual || self.answer_via(&p).is_some()).then_some(ReasonCode::SUCCESS);
        self.inbound_acks.push_back(InboundAck { id, kind, code });
        self.deliver(p);
        // [MQTT-4.5.0-2], in arrival order [MQTT-4.6.0-2], [MQTT-4.6.0-3].
        self.flush_acks();
        Ok(())
    }

    fn deliver(&mut self, p: Publish) {
        self.stats.messages_received += 1;
        self.route(p);
    }

    fn find_inflight(&self, id: u16) -> Option<usize> {
        self.inflight.iter().position(|o| o.id() == id)
    }

    /// Ends an outbound flow: frees its identifier and quota, reports it,
    /// and sends what was waiting for quota.
    fn complete(&mut self, at: usize, code: ReasonCode, props: Option<Properties>) {
        let Some(o) = self.inflight.remove(at) else { return };
        let id = o.id();
        self.ids.remove(id);
        if self.on_request_acked(id, code) {
            self.send_waiting();
            return;
        }
        let (reason_string, user_properties) = match props {
            Some(p) => {
                let p = p.into_fields();
                (p.reason_string, p.user_properties)
            }
            None => (None, Vec::new()),
        };
        self.events.push_back(Event::Published(Published {
            packet_id: id,
            qos: o.publish.qos,
            reason_code: code,
            reason_string,
            user_properties,
        }));
        self.send_waiting();
    }

    fn on_puback(
        &mut self,
        id: u16,
        code: ReasonCode,
        props: Option<Properties>,
    ) -> Result<(), ProtocolError> {
        let Some(at) = self.find_inflight(id) else {
            self.stats.unknown_acks += 1;
            return Ok(());
        };
        if self.inflight[at].publish.qos != QoS::AtLeastOnce {
            return Err(self.violation(ReasonCode::PROTOCOL_ERROR, "PUBACK for a QoS 2 message"));
        }
        self.complete(at, code, props);
        Ok(())
    }

    fn on_pubrec(
        &mut self,
        id: u16,
        code: ReasonCode,
        props: Option<Properties>,
    ) -> Result<(), ProtocolError> {
        let Some(at) = self.find_inflight(id) else {
            // Not ours (any more): PUBREL 0x92 Packet Identifier not found.
            self.stats.unknown_acks += 1;
            self.write_ack_code(PacketType::Pubrel, id, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND);
            return Ok(());
        };
        let o = &mut self.inflight[at];
        if o.publish.qos != QoS::ExactlyOnce {
            return Err(self.violation(ReasonCode::PROTOCOL_ERROR, "PUBREC for a QoS 1 message"));
        }
        if code.is_error() {
            // [MQTT-4.4.0-2]: acknowledged, never re-sent; the quota is released.
            self.complete(at, code, props);
            return Ok(());
        }
        if o.stage == Stage::Published {
            // The payload is not needed any more [MQTT-4.3.3-6].
            o.stage = Stage::Released;
            o.publish.payload = Bytes::new();
            o.publish.properties = Properties::default();
        }
        // [MQTT-4.3.3-4], in PUBREC order [MQTT-4.6.0-4].
        self.write_ack(0x62, id);
        Ok(())
    }

    fn on_pubcomp(
        &mut self,
        id: u16,
        code: ReasonCode,
        props: Option<Properties>,
    ) -> Result<(), ProtocolError> {
        match self.find_inflight(id) {
            Some(at) if self.inflight[at].stage == Stage::Released => {
                self.complete(at, code, props)
            }
            Some(_) => {
                return Err(self.violation(ReasonCode::PROTOCOL_ERROR, "PUBCOMP before PUBREC"))
            }
            None => self.stats.unknown_acks += 1,
        }
        Ok(())
    }

    fn on_pubrel(&mut self, id: u16) -> Result<(), ProtocolError> {
        if self.inbound_acks.iter().any(|x| x.id == id && x.kind == AckKind::Pubrec) {
            return Err(self.violation(ReasonCode::PROTOCOL_ERROR, "PUBREL before our PUBREC"));
        }
        // [MQTT-4.3.3-11]; 0x92 if we hold no such message (after a restart).
        let code = if self.inbound_qos2.remove(id) {
            ReasonCode::SUCCESS
        } else {
            ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
        };
        self.write_ack_code(PacketType::Pubcomp, id, code);
        Ok(())
    }

    fn take_awaiting(&mut self, id: u16) -> Option<Packet> {
        let at = self.awaiting_ack.iter().position(|c| control_id(c) == id)?;
        self.ids.remove(id);
        Some(self.awaiting_ack.remove(at))
    }

    fn on_suback(&mut self, s: Suback) -> Result<(), ProtocolError> {
        let n = match self.awaiting_ack.iter().find(|c| control_id(c) == s.packet_id) {
            Some(Packet::Subscribe(sub)) => sub.filters.len(),
            _ => {
                // [MQTT-3.8.4-2]
                return Err(
                    self.violation(ReasonCode::PROTOCOL_ERROR, "SUBACK for no SUBSCRIBE of ours")
                );
            }
        };
        if s.reason_codes.len() != n {
            // [MQTT-3.8.4-6]
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "SUBACK with a reason code count unlike the SUBSCRIBE's filter count",
            ));
        }
        self.take_awaiting(s.packet_id);
        let first = s.reason_codes.first().copied().unwrap_or(ReasonCode::UNSPECIFIED_ERROR);
        if self.on_response_suback(s.packet_id, first) {
            return Ok(());
        }
        self.events.push_back(Event::Subscribed(Acked {
            packet_id: s.packet_id,
            reason_codes: s.reason_codes,
            properties: s.properties,
        }));
        Ok(())
    }

    fn on_unsuback(&mut self, u: Unsuback) -> Result<(), ProtocolError> {
        let n = match self.awaiting_ack.iter().find(|c| control_id(c) == u.packet_id) {
            Some(Packet::Unsubscribe(un)) => un.filters.len(),
            _ => {
                // [MQTT-3.10.4-5]
                return Err(self
                    .violation(ReasonCode::PROTOCOL_ERROR, "UNSUBACK for no UNSUBSCRIBE of ours"));
            }
        };
        let mut codes = u.reason_codes;
        if self.opts.protocol == Protocol::V311 {
            codes = alloc::vec![ReasonCode::SUCCESS; n];
        } else if codes.len() != n {
            // [MQTT-3.11.3-1]
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "UNSUBACK with a reason code count unlike the UNSUBSCRIBE's filter count",
            ));
        }
        self.take_awaiting(u.packet_id);
        self.events.push_back(Event::Unsubscribed(Acked {
            packet_id: u.packet_id,
            reason_codes: codes,
            properties: u.properties,
        }));
        Ok(())
    }

    fn on_disconnect(&mut self, d: Disconnect) -> Result<(), ProtocolError> {
        if d.properties.session_expiry_interval.is_some() {
            // [MQTT-3.14.2-2]
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "a server DISCONNECT with a Session Expiry Interval",
            ));
        }
        self.close(DisconnectCause::Server, d.reason_code, None, Some(d.properties));
        Ok(())
    }

    fn on_auth(&mut self, a: Auth) -> Result<(), ProtocolError> {
        let Some(method) = &self.opts.authentication_method else {
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "AUTH from the server without an Authentication Method in CONNECT",
            ));
        };
        if a.properties.authentication_method.as_ref() != Some(method) {
            // [MQTT-4.12.0-5]
            return Err(self.violation(
                ReasonCode::PROTOCOL_ERROR,
                "AUTH with another Authentication Method than CONNECT's",
            ));
        }
        let expected = match (self.state, a.reason_code) {
            (State::Connecting, ReasonCode::CONTINUE_AUTHENTICATION) => true,
            (State::Connected, ReasonCode::CONTINUE_AUTHENTICATION) => {
                self.auth == AuthState::Reauthenticating
            }
            (State::Connected, ReasonCode::SUCCESS) => {
                let ok = self.auth == AuthState::Reauthenticating;
                self.auth = AuthState::Idle;
                ok
            }
            _ => false,
        };
        if !expected {
            return Err(self.violation(ReasonCode::PROTOCOL_ERROR, "AUTH not expected now"));
        }
        self.events.push_back(Event::Auth(AuthEvent {
            reason_code: a.reason_code,
            properties: a.properties,
        }));
        Ok(())
    }
}

/// A codec refusal of a command's packet, as a local error.
fn invalid(e: crate::codec::EncodeError) -> LocalError {
    LocalError::new(Kind::Invalid, e.reason_code, e.message)
}

fn not_supported(code: ReasonCode, message: &'static str) -> LocalError {
    LocalError::new(Kind::NotSupported, code, message)
}
