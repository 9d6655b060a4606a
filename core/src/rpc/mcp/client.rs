//! The client role of MCP over MQTT: [`McpClient`].

use super::{
    ack_consumed, connect_properties, message, notification, parse, request, response,
    subscription, topics, user_property, valid_id, valid_name, McpError, McpErrorKind, McpStats,
    Msg, Owned, RpcError, MCP_CLIENT, METHOD_DISCONNECTED, METHOD_INITIALIZE, METHOD_INITIALIZED,
    METHOD_SERVER_ONLINE, SERVER_NAME_FILTERS,
};
use crate::client::{Client, Event, Options};
use crate::codec::{
    ByteStr, Disconnect, Protocol, Publish, QoS, ReasonCode, Subscribe, Unsubscribe, Will,
};
use crate::time::Instant;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use serde_json::{Map, Value};

/// How [`McpClient::initialize`] picks among the online instances of a
/// server-name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// Uniformly at random, from [`McpClientOptions::seed`].
    #[default]
    Random,
    /// Each instance in turn, in server-id order.
    RoundRobin,
}

/// How an [`McpClient`] is configured.
#[derive(Clone, Debug, PartialEq)]
pub struct McpClientOptions {
    /// The mcp-client-id: our MQTT client identifier (one topic level, no
    /// wildcard; a fresh one for every run).
    pub client_id: String,
    /// Server-name filters to discover servers with (default `#`: all). A
    /// broker's `MCP-SERVER-NAME-FILTERS` in CONNACK replaces them.
    pub server_name_filters: Vec<String>,
    /// The `MCP-META` User Property of CONNECT.
    pub component_meta: Value,
    /// The `params` of our `initialize` requests (protocol version,
    /// capabilities, client info).
    pub initialize_params: Value,
    /// How to pick an instance.
    pub choice: Choice,
    /// Seed of [`Choice::Random`]; the engine has no randomness of its own.
    pub seed: u64,
    /// Online server instances remembered (default 1,024); presence beyond
    /// is dropped and counted.
    pub max_servers: usize,
    /// Sessions open at once (default 64).
    pub max_sessions: usize,
    /// Calls pending at once, `initialize` included (default 1,024).
    pub max_pending: usize,
    /// Timeouts by method; methods not listed get `default_timeout`.
    /// Defaults: `initialize` 30 s, `ping` 10 s, `tools/call`,
    /// `sampling/createMessage` and `completion/complete` 60 s.
    pub timeouts: Vec<(String, Duration)>,
    /// The timeout of methods not in `timeouts` (default 30 s).
    pub default_timeout: Duration,
    /// MCP events held before [`McpClient::poll_event`] drains them (default
    /// 1,024); server requests and notifications beyond are dropped and
    /// counted. Call outcomes are never dropped.
    pub max_events: usize,
}

impl McpClientOptions {
    /// Options for the mcp-client-id `client_id`; the rest default.
    pub fn new(client_id: impl Into<String>) -> Self {
        let mut init = Map::new();
        init.insert("protocolVersion".to_string(), Value::from("2025-06-18"));
        init.insert("capabilities".to_string(), Value::Object(Map::new()));
        let mut info = Map::new();
        info.insert("name".to_string(), Value::from("mqtt-engine"));
        info.insert("version".to_string(), Value::from(env!("CARGO_PKG_VERSION")));
        init.insert("clientInfo".to_string(), Value::Object(info));
        let t = |m: &str, s: u64| (m.to_string(), Duration::from_secs(s));
        McpClientOptions {
            client_id: client_id.into(),
            server_name_filters: vec!["#".to_string()],
            component_meta: Value::Object(Map::new()),
            initialize_params: Value::Object(init),
            choice: Choice::Random,
            seed: 0x9E37_79B9_7F4A_7C15,
            max_servers: 1024,
            max_sessions: 64,
            max_pending: 1024,
            timeouts: vec![
                t(METHOD_INITIALIZE, 30),
                t("ping", 10),
                t("tools/call", 60),
                t("sampling/createMessage", 60),
                t("completion/complete", 60),
            ],
            default_timeout: Duration::from_secs(30),
            max_events: 1024,
        }
    }

    /// The timeout of `method`.
    pub fn timeout_of(&self, method: &str) -> Duration {
        self.timeouts.iter().find(|(m, _)| m == method).map_or(self.default_timeout, |(_, d)| *d)
    }
}

/// An online server instance, from its retained presence.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerInstance {
    /// Its server-id (MQTT client identifier).
    pub server_id: String,
    /// Its server-name.
    pub server_name: String,
    /// Its description.
    pub description: String,
    /// Its metadata (`null` when absent).
    pub meta: Value,
}

/// A session with one server instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// A call; its number is the JSON-RPC `id` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// How a call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CallOutcome {
    /// The server's result.
    Result(Value),
    /// The server's JSON-RPC error.
    Error(RpcError),
    /// No answer within the call's timeout.
    Timeout,
    /// The instance went offline (empty presence, or its
    /// `notifications/disconnected`) while the call was pending.
    ServerOffline,
    /// The MQTT connection ended while the call was pending.
    ConnectionLost,
    /// The broker refused the subscriptions the session needs.
    SubscriptionRefused(ReasonCode),
    /// We closed the session ([`McpClient::close`]).
    Closed,
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CloseReason {
    /// `initialize` did not succeed; how it ended.
    InitializeFailed(CallOutcome),
    /// The instance's presence was cleared.
    ServerOffline,
    /// The instance sent `notifications/disconnected`.
    ServerDisconnected,
    /// We closed it ([`McpClient::close`]).
    Closed,
    /// The MQTT connection ended.
    ConnectionLost,
}

/// What the MCP client layer reports.
#[derive(Clone, Debug, PartialEq)]
pub enum McpClientEvent {
    /// An instance announced itself (new, or its presence changed).
    ServerOnline(ServerInstance),
    /// An instance's presence was cleared.
    ServerOffline {
        /// Its server-name.
        server_name: String,
        /// Its server-id.
        server_id: String,
    },
    /// The broker refused the presence subscription for a filter.
    DiscoveryRefused {
        /// The refused topic filter.
        filter: String,
        /// The SUBACK reason code.
        reason_code: ReasonCode,
    },
    /// A session is initialized (`notifications/initialized` sent): calls may go.
    Initialized {
        /// The session.
        session: SessionId,
        /// The instance.
        server_id: String,
        /// Its server-name.
        server_name: String,
        /// The `initialize` result: protocol version, capabilities, server info.
        result: Value,
    },
    /// A call ended: exactly one per [`McpClient::call`].
    CallDone {
        /// The call.
        call: CallId,
        /// Its session.
        session: SessionId,
        /// Its method.
        method: String,
        /// How it ended.
        outcome: CallOutcome,
    },
    /// A session ended; its pending calls ended before, each with a `CallDone`.
    SessionClosed {
        /// The session.
        session: SessionId,
        /// The instance.
        server_id: String,
        /// Why.
        reason: CloseReason,
    },
    /// A notification from the server (RPC or capability topic).
    Notification {
        /// The session.
        session: SessionId,
        /// The method.
        method: String,
        /// The `params` (`null` when absent).
        params: Value,
    },
    /// A request from the server (`ping`, `roots/list`, ...); answer with
    /// [`McpClient::respond`].
    Request {
        /// The session.
        session: SessionId,
        /// The JSON-RPC `id`, to echo.
        id: Value,
        /// The method.
        method: String,
        /// The `params` (`null` when absent).
        params: Value,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// The session's SUBSCRIBE is out; `initialize` (call `init`) waits.
    Subscribing { packet_id: u16 },
    /// `initialize` sent.
    Initializing,
    /// Initialized.
    Ready,
}

#[derive(Clone, Debug)]
struct Session {
    server_id: String,
    server_name: String,
    stage: Stage,
    /// The `initialize` call.
    init: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    session: SessionId,
    method: String,
    deadline: Instant,
}

/// The client role of MCP over MQTT, layered on a [`Client`].
///
/// 1. Create the client with [`McpClient::options`] and connect it.
/// 2. Pass every client [`Event`] to [`McpClient::handle_event`]; after
///    [`Event::Connected`], call [`McpClient::start`] to discover servers.
/// 3. [`McpClient::initialize`] a server-name (an instance is picked), wait
///    for [`McpClientEvent::Initialized`], then [`McpClient::call`].
/// 4. Arm a timer for [`McpClient::poll_timeout`] and call
///    [`McpClient::handle_timeout`] when it passes.
/// 5. [`McpClient::shutdown`] says goodbye and disconnects.
#[derive(Debug)]
pub struct McpClient {
    opts: McpClientOptions,
    /// The filters in use: configured, or suggested by the broker.
    filters: Vec<String>,
    /// Presence SUBSCRIBE packet ids and their filters, until SUBACK.
    presence_subs: BTreeMap<u16, Vec<String>>,
    /// server-name -> server-id -> instance.
    registry: BTreeMap<String, BTreeMap<String, ServerInstance>>,
    registered: usize,
    cursors: BTreeMap<String, usize>,
    rng: u64,
    sessions: BTreeMap<SessionId, Session>,
    next_session: u64,
    calls: BTreeMap<u64, Pending>,
    next_call: u64,
    owned: Owned,
    events: VecDeque<McpClientEvent>,
    stats: McpStats,
    closing: bool,
}

impl McpClient {
    /// A client with `options`; refused when the client id cannot be used in a topic.
    pub fn new(options: McpClientOptions) -> Result<McpClient, McpError> {
        if !valid_id(&options.client_id) {
            return Err(McpError::new(
                McpErrorKind::Invalid,
                "the mcp-client-id must be one topic level without wildcards",
            ));
        }
        Ok(McpClient {
            filters: options.server_name_filters.clone(),
            rng: options.seed,
            opts: options,
            presence_subs: BTreeMap::new(),
            registry: BTreeMap::new(),
            registered: 0,
            cursors: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_session: 1,
            calls: BTreeMap::new(),
            next_call: 1,
            owned: Owned::default(),
            events: VecDeque::new(),
            stats: McpStats::default(),
            closing: false,
        })
    }

    /// The mcp-client-id.
    pub fn client_id(&self) -> &str {
        &self.opts.client_id
    }

    /// The server-name filters in use.
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// Counters of what was dropped.
    pub fn stats(&self) -> &McpStats {
        &self.stats
    }

    /// The online instances of `server_name`, in server-id order.
    pub fn instances(&self, server_name: &str) -> impl Iterator<Item = &ServerInstance> + '_ {
        self.registry.get(server_name).into_iter().flat_map(|m| m.values())
    }

    /// The server-names with at least one online instance.
    pub fn server_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.registry.keys().map(String::as_str)
    }

    /// Calls pending, `initialize` included.
    pub fn pending(&self) -> usize {
        self.calls.len()
    }

    /// True when `session` is initialized.
    pub fn is_ready(&self, session: SessionId) -> bool {
        self.sessions.get(&session).is_some_and(|s| s.stage == Stage::Ready)
    }

    /// The options a [`Client`] needs for this MCP client, on top of `base`:
    /// MQTT 5.0, the mcp-client-id as client identifier, Clean Start with a
    /// Session Expiry Interval of 0, the `MCP-COMPONENT-TYPE` and `MCP-META`
    /// User Properties, and a will on our presence topic carrying
    /// `notifications/disconnected`.
    pub fn options(&self, base: Options) -> Options {
        let cid = &self.opts.client_id;
        let mut user_properties = base.user_properties;
        user_properties.extend(connect_properties(MCP_CLIENT, &self.opts.component_meta));
        let will = Will {
            topic: topics::client_presence(cid).into(),
            payload: notification(METHOD_DISCONNECTED, Value::Null),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: super::publish_properties(MCP_CLIENT, cid),
        };
        Options {
            protocol: Protocol::V5,
            client_id: cid.clone().into(),
            clean_start: true,
            session_expiry_interval: 0,
            user_properties,
            will: Some(will),
            ..base
        }
    }

    /// After [`Event::Connected`]: subscribes to the presence of the servers
    /// the filters match (`$mcp-server/presence/+/{filter}`). Retained
    /// presence then fills the registry ([`McpClientEvent::ServerOnline`]).
    pub fn start(&mut self, client: &mut Client, now: Instant) -> Result<(), McpError> {
        if client.protocol() != Protocol::V5 {
            return Err(McpError::new(McpErrorKind::NotMqtt5, "MCP over MQTT needs MQTT 5.0"));
        }
        if !client.is_connected() {
            return Err(McpError::new(
                McpErrorKind::NotConnected,
                "the MQTT client is not connected",
            ));
        }
        let filters: Vec<String> =
            self.filters.iter().map(|f| topics::server_presence_filter(f)).collect();
        let subs = filters.iter().map(|f| subscription(f.clone(), false)).collect();
        let id = client.subscribe(now, Subscribe::new(subs))?;
        self.owned.control(id);
        self.presence_subs.insert(id, filters);
        self.closing = false;
        Ok(())
    }

    /// Picks an online instance of `server_name` by the configured
    /// [`Choice`], without opening anything. `None` when none is online.
    pub fn choose(&mut self, server_name: &str) -> Option<&ServerInstance> {
        let ids: Vec<String> = self.instances(server_name).map(|s| s.server_id.clone()).collect();
        let id = self.pick(server_name, &ids)?;
        self.registry.get(server_name)?.get(&id)
    }

    fn pick(&mut self, server_name: &str, ids: &[String]) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        let at = match self.opts.choice {
            Choice::RoundRobin => {
                let c = self.cursors.entry(server_name.to_string()).or_insert(0);
                let at = *c % ids.len();
                *c = c.wrapping_add(1);
                at
            }
            Choice::Random => {
                // splitmix64
                self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = self.rng;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z % ids.len() as u64) as usize
            }
        };
        ids.get(at).cloned()
    }

    /// Opens a session with an online instance of `server_name`, picked by
    /// the configured [`Choice`] among those we have no session with.
    ///
    /// The session's subscriptions (the instance's capability topic, and
    /// our RPC topic with No Local) go first; the `initialize` request is
    /// published on the instance's control topic once they are acknowledged.
    /// The outcome is [`McpClientEvent::Initialized`] or
    /// [`McpClientEvent::SessionClosed`]; the `initialize` timeout runs from now.
    pub fn initialize(
        &mut self,
        client: &mut Client,
        now: Instant,
        server_name: &str,
    ) -> Result<SessionId, McpError> {
        let busy: Vec<&str> = self.sessions.values().map(|s| s.server_id.as_str()).collect();
        let free: Vec<String> = self
            .instances(server_name)
            .filter(|s| !busy.contains(&s.server_id.as_str()))
            .map(|s| s.server_id.clone())
            .collect();
        let Some(id) = self.pick(server_name, &free) else {
            return Err(McpError::new(
                McpErrorKind::NoServer,
                "no online instance of this server-name is free",
            ));
        };
        self.initialize_instance(client, now, server_name, &id)
    }

    /// Like [`McpClient::initialize`] with a given instance, which need not
    /// be in the registry.
    pub fn initialize_instance(
        &mut self,
        client: &mut Client,
        now: Instant,
        server_name: &str,
        server_id: &str,
    ) -> Result<SessionId, McpError> {
        if !valid_id(server_id) || !valid_name(server_name) {
            return Err(McpError::new(
                McpErrorKind::Invalid,
                "the server-id or server-name cannot be used in a topic",
            ));
        }
        if !client.is_connected() {
            return Err(McpError::new(
                McpErrorKind::NotConnected,
                "the MQTT client is not connected",
            ));
        }
        if self.sessions.values().any(|s| s.server_id == server_id) {
            return Err(McpError::new(
                McpErrorKind::NoServer,
                "a session with this instance is already open",
            ));
        }
        if self.sessions.len() >= self.opts.max_sessions {
            return Err(McpError::new(McpErrorKind::Full, "too many sessions"));
        }
        if self.calls.len() >= self.opts.max_pending {
            return Err(McpError::new(McpErrorKind::Full, "too many calls pending"));
        }
        let cid = &self.opts.client_id;
        let sub = Subscribe::new(vec![
            subscription(topics::server_capability(server_id, server_name), false),
            subscription(topics::rpc(cid, server_id, server_name), true),
        ]);
        let packet_id = client.subscribe(now, sub)?;
        self.owned.control(packet_id);
        let session = SessionId(self.next_session);
        self.next_session += 1;
        let init = self.next_call;
        self.next_call += 1;
        let deadline = now + self.opts.timeout_of(METHOD_INITIALIZE);
        self.calls
            .insert(init, Pending { session, method: METHOD_INITIALIZE.to_string(), deadline });
        self.sessions.insert(
            session,
            Session {
                server_id: server_id.to_string(),
                server_name: server_name.to_string(),
                stage: Stage::Subscribing { packet_id },
                init,
            },
        );
        Ok(session)
    }

    /// Calls `method` with `params` in a ready session; the outcome is one
    /// [`McpClientEvent::CallDone`]. `timeout` `None` takes the method's
    /// timeout from the options.
    pub fn call(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
    ) -> Result<CallId, McpError> {
        let topic = self.ready_topic(session)?;
        if self.calls.len() >= self.opts.max_pending {
            return Err(McpError::new(McpErrorKind::Full, "too many calls pending"));
        }
        let n = self.next_call;
        self.send(client, now, topic, request(Value::from(n), method, params))?;
        self.next_call += 1;
        let deadline = now + timeout.unwrap_or_else(|| self.opts.timeout_of(method));
        self.calls.insert(n, Pending { session, method: method.to_string(), deadline });
        Ok(CallId(n))
    }

    /// Sends a notification in a ready session (`notifications/cancelled`, ...).
    pub fn notify(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
        method: &str,
        params: Value,
    ) -> Result<(), McpError> {
        let topic = self.ready_topic(session)?;
        self.send(client, now, topic, notification(method, params))
    }

    /// Answers a server's [`McpClientEvent::Request`].
    pub fn respond(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
        id: Value,
        outcome: Result<Value, RpcError>,
    ) -> Result<(), McpError> {
        let topic = self.ready_topic(session)?;
        self.send(client, now, topic, response(id, outcome))
    }

    /// Sends a notification on our capability topic
    /// (`notifications/roots/list_changed`).
    pub fn notify_capability(
        &mut self,
        client: &mut Client,
        now: Instant,
        method: &str,
        params: Value,
    ) -> Result<(), McpError> {
        let topic = topics::client_capability(&self.opts.client_id);
        self.send(client, now, topic, notification(method, params))
    }

    /// Ends a session while staying connected: `notifications/disconnected`
    /// on its RPC topic (once `initialize` is out), its subscriptions undone,
    /// its pending calls ended with [`CallOutcome::Closed`].
    pub fn close(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
    ) -> Result<(), McpError> {
        let Some(s) = self.sessions.get(&session) else {
            return Err(McpError::new(McpErrorKind::UnknownSession, "no such session"));
        };
        if !matches!(s.stage, Stage::Subscribing { .. }) && client.is_connected() {
            let topic = topics::rpc(&self.opts.client_id, &s.server_id, &s.server_name);
            self.send(client, now, topic, notification(METHOD_DISCONNECTED, Value::Null))?;
        }
        self.end_session(client, now, session, CallOutcome::Closed, CloseReason::Closed);
        Ok(())
    }

    /// Leaves gracefully: `notifications/disconnected` on our presence
    /// topic, then DISCONNECT (normal, so the broker discards the will).
    /// Pending calls end with [`CallOutcome::ConnectionLost`] when the
    /// [`Event::Disconnected`] that follows is handled.
    pub fn shutdown(&mut self, client: &mut Client, now: Instant) -> Result<(), McpError> {
        if !client.is_connected() {
            return Err(McpError::new(
                McpErrorKind::NotConnected,
                "the MQTT client is not connected",
            ));
        }
        let topic = topics::client_presence(&self.opts.client_id);
        self.send(client, now, topic, notification(METHOD_DISCONNECTED, Value::Null))?;
        if client.queued() == 0 {
            client.disconnect(now, Disconnect::new(ReasonCode::SUCCESS))?;
        } else {
            self.closing = true;
        }
        Ok(())
    }

    /// The next MCP event, if any.
    pub fn poll_event(&mut self) -> Option<McpClientEvent> {
        self.events.pop_front()
    }

    /// The earliest call deadline, if any call is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls.values().map(|p| p.deadline).min()
    }

    /// Ends every call whose deadline has come with [`CallOutcome::Timeout`]
    /// (an `initialize` that times out closes its session).
    pub fn handle_timeout(&mut self, client: &mut Client, now: Instant) {
        let due: Vec<u64> =
            self.calls.iter().filter(|(_, p)| p.deadline <= now).map(|(k, _)| *k).collect();
        for n in due {
            let Some(p) = self.calls.remove(&n) else { continue };
            if self.sessions.get(&p.session).is_some_and(|s| s.init == n) {
                let reason = CloseReason::InitializeFailed(CallOutcome::Timeout);
                self.end_session(client, now, p.session, CallOutcome::ServerOffline, reason);
            } else {
                self.done(n, p, CallOutcome::Timeout);
            }
        }
    }

    /// Takes a client event: the ones that belong to MCP are consumed (and
    /// may queue [`McpClientEvent`]s), the others are given back.
    /// [`Event::Connected`] and [`Event::Disconnected`] are noted and given
    /// back too.
    pub fn handle_event(
        &mut self,
        client: &mut Client,
        now: Instant,
        event: Event,
    ) -> Option<Event> {
        let back = self.route(client, now, event);
        super::disconnect_when_drained(&mut self.closing, client, now);
        back
    }

    fn route(&mut self, client: &mut Client, now: Instant, event: Event) -> Option<Event> {
        if self.owned.take_ack(&event) {
            return None;
        }
        match event {
            Event::Connected(c) => {
                if !c.session_present {
                    self.owned.clear();
                }
                if let Some(v) = user_property(&c.properties, SERVER_NAME_FILTERS) {
                    self.adopt_filters(v);
                }
                Some(Event::Connected(c))
            }
            Event::Disconnected(d) => {
                self.closing = false;
                self.presence_subs.clear();
                let all: Vec<SessionId> = self.sessions.keys().copied().collect();
                for s in all {
                    let reason = CloseReason::ConnectionLost;
                    self.end_session(client, now, s, CallOutcome::ConnectionLost, reason);
                }
                // Presence is retained: the next start() learns it again.
                self.registry.clear();
                self.registered = 0;
                Some(Event::Disconnected(d))
            }
            Event::Subscribed(a) if self.owned.take_control(a.packet_id) => {
                if let Some(filters) = self.presence_subs.remove(&a.packet_id) {
                    for (f, c) in filters.into_iter().zip(a.reason_codes.iter()) {
                        if c.is_error() {
                            self.stats.subscriptions_refused += 1;
                            self.events.push_back(McpClientEvent::DiscoveryRefused {
                                filter: f,
                                reason_code: *c,
                            });
                        }
                    }
                    return None;
                }
                let refused = a.reason_codes.iter().copied().find(|c| c.is_error());
                self.on_session_suback(client, now, a.packet_id, refused);
                None
            }
            Event::Message(p) => self.on_message(client, now, p).map(Event::Message),
            other => Some(other),
        }
    }

    /// A broker's `MCP-SERVER-NAME-FILTERS`: a JSON array of filters.
    fn adopt_filters(&mut self, v: &str) {
        let Ok(Value::Array(a)) = serde_json::from_str::<Value>(v) else {
            self.stats.malformed += 1;
            return;
        };
        let f: Vec<String> = a
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !f.is_empty() && !f.contains('\0'))
            .map(ToString::to_string)
            .collect();
        if !f.is_empty() {
            self.filters = f;
        }
    }

    fn on_session_suback(
        &mut self,
        client: &mut Client,
        now: Instant,
        packet_id: u16,
        refused: Option<ReasonCode>,
    ) {
        let Some((&sid, s)) =
            self.sessions.iter().find(|(_, s)| s.stage == Stage::Subscribing { packet_id })
        else {
            return;
        };
        if let Some(code) = refused {
            self.stats.subscriptions_refused += 1;
            let outcome = CallOutcome::SubscriptionRefused(code);
            let reason = CloseReason::InitializeFailed(outcome.clone());
            self.end_session(client, now, sid, outcome, reason);
            return;
        }
        let control = topics::control(&s.server_id, &s.server_name);
        let init = s.init;
        let payload =
            request(Value::from(init), METHOD_INITIALIZE, self.opts.initialize_params.clone());
        match self.send(client, now, control, payload) {
            Ok(()) => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.stage = Stage::Initializing;
                }
            }
            Err(_) => {
                let reason = CloseReason::InitializeFailed(CallOutcome::ConnectionLost);
                self.end_session(client, now, sid, CallOutcome::ConnectionLost, reason);
            }
        }
    }

    fn session_of(&self, server_id: &str, server_name: &str) -> Option<SessionId> {
        self.sessions
            .iter()
            .find(|(_, s)| s.server_id == server_id && s.server_name == server_name)
            .map(|(k, _)| *k)
    }

    /// Returns the message if it is not ours.
    fn on_message(&mut self, client: &mut Client, now: Instant, p: Publish) -> Option<Publish> {
        let topic = p.topic.as_str();
        if let Some(rest) = topic.strip_prefix(topics::SERVER_PRESENCE) {
            let Some((sid, name)) = topics::split_level(rest) else { return Some(p) };
            ack_consumed(client, now, &p);
            let (sid, name) = (sid.to_string(), name.to_string());
            self.on_presence(client, now, sid, name, &p.payload);
            return None;
        }
        if let Some(rest) = topic.strip_prefix(topics::SERVER_CAPABILITY) {
            let Some((sid, name)) = topics::split_level(rest) else { return Some(p) };
            let Some(session) = self.session_of(sid, name) else { return Some(p) };
            ack_consumed(client, now, &p);
            match parse(&p.payload) {
                Some(Msg::Notification { method, params }) => {
                    self.push(McpClientEvent::Notification { session, method, params })
                }
                Some(_) => self.stats.unexpected += 1,
                None => self.stats.malformed += 1,
            }
            return None;
        }
        if let Some(rest) = topic.strip_prefix(topics::RPC) {
            let Some((cid, tail)) = topics::split_level(rest) else { return Some(p) };
            if cid != self.opts.client_id {
                return Some(p);
            }
            let Some((sid, name)) = topics::split_level(tail) else { return Some(p) };
            let Some(session) = self.session_of(sid, name) else {
                ack_consumed(client, now, &p);
                self.stats.unexpected += 1;
                return None;
            };
            ack_consumed(client, now, &p);
            match parse(&p.payload) {
                None => self.stats.malformed += 1,
                Some(Msg::Response { id, outcome }) => {
                    self.on_response(client, now, session, id, outcome)
                }
                Some(Msg::Notification { method, .. }) if method == METHOD_DISCONNECTED => {
                    let reason = CloseReason::ServerDisconnected;
                    self.end_session(client, now, session, CallOutcome::ServerOffline, reason);
                }
                Some(Msg::Notification { method, params }) => {
                    self.push(McpClientEvent::Notification { session, method, params })
                }
                Some(Msg::Request { id, method, params }) => {
                    self.push(McpClientEvent::Request { session, id, method, params })
                }
            }
            return None;
        }
        Some(p)
    }

    fn on_presence(
        &mut self,
        client: &mut Client,
        now: Instant,
        sid: String,
        name: String,
        payload: &[u8],
    ) {
        if payload.is_empty() {
            let known = self.registry.get_mut(&name).and_then(|m| m.remove(&sid)).is_some();
            if known {
                self.registered -= 1;
                if self.registry.get(&name).is_some_and(BTreeMap::is_empty) {
                    self.registry.remove(&name);
                    self.cursors.remove(&name);
                }
            }
            // Pending calls to this instance fail at once.
            if let Some(session) = self.session_of(&sid, &name) {
                let reason = match self.sessions.get(&session).map(|s| s.stage.clone()) {
                    Some(Stage::Ready) | None => CloseReason::ServerOffline,
                    Some(_) => CloseReason::InitializeFailed(CallOutcome::ServerOffline),
                };
                self.end_session(client, now, session, CallOutcome::ServerOffline, reason);
            }
            if known {
                self.events
                    .push_back(McpClientEvent::ServerOffline { server_name: name, server_id: sid });
            }
            return;
        }
        let params = match parse(payload) {
            Some(Msg::Notification { method, params }) if method == METHOD_SERVER_ONLINE => params,
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        let description =
            params.get("description").and_then(Value::as_str).unwrap_or("").to_string();
        let meta = params.get("meta").cloned().unwrap_or(Value::Null);
        let instance =
            ServerInstance { server_id: sid.clone(), server_name: name.clone(), description, meta };
        let known = self.registry.get(&name).is_some_and(|m| m.contains_key(&sid));
        if !known && self.registered >= self.opts.max_servers {
            self.stats.dropped_full += 1;
            return;
        }
        if !known {
            self.registered += 1;
        }
        self.registry.entry(name).or_default().insert(sid, instance.clone());
        self.events.push_back(McpClientEvent::ServerOnline(instance));
    }

    fn on_response(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
        id: Value,
        outcome: Result<Value, RpcError>,
    ) {
        let Some(n) =
            id.as_u64().filter(|n| self.calls.get(n).is_some_and(|p| p.session == session))
        else {
            self.stats.unknown_responses += 1;
            return;
        };
        let Some(p) = self.calls.remove(&n) else { return };
        let Some(s) = self.sessions.get(&session) else { return };
        if s.init != n {
            let outcome = match outcome {
                Ok(v) => CallOutcome::Result(v),
                Err(e) => CallOutcome::Error(e),
            };
            self.done(n, p, outcome);
            return;
        }
        match outcome {
            Ok(result) => {
                let topic = topics::rpc(&self.opts.client_id, &s.server_id, &s.server_name);
                let (server_id, server_name) = (s.server_id.clone(), s.server_name.clone());
                if self
                    .send(client, now, topic, notification(METHOD_INITIALIZED, Value::Null))
                    .is_err()
                {
                    let reason = CloseReason::InitializeFailed(CallOutcome::ConnectionLost);
                    self.end_session(client, now, session, CallOutcome::ConnectionLost, reason);
                    return;
                }
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.stage = Stage::Ready;
                }
                self.events.push_back(McpClientEvent::Initialized {
                    session,
                    server_id,
                    server_name,
                    result,
                });
            }
            Err(e) => {
                let reason = CloseReason::InitializeFailed(CallOutcome::Error(e));
                self.end_session(client, now, session, CallOutcome::ServerOffline, reason);
            }
        }
    }

    fn done(&mut self, n: u64, p: Pending, outcome: CallOutcome) {
        self.events.push_back(McpClientEvent::CallDone {
            call: CallId(n),
            session: p.session,
            method: p.method,
            outcome,
        });
    }

    /// Ends a session: its pending calls (but `initialize`) end with
    /// `calls`, its subscriptions are undone, then `SessionClosed`.
    fn end_session(
        &mut self,
        client: &mut Client,
        now: Instant,
        session: SessionId,
        calls: CallOutcome,
        reason: CloseReason,
    ) {
        let Some(s) = self.sessions.remove(&session) else { return };
        let mine: Vec<u64> =
            self.calls.iter().filter(|(_, p)| p.session == session).map(|(k, _)| *k).collect();
        for n in mine {
            if let Some(p) = self.calls.remove(&n) {
                if n != s.init {
                    self.done(n, p, calls.clone());
                }
            }
        }
        if client.is_connected() {
            let un = Unsubscribe::new(vec![
                ByteStr::from(topics::server_capability(&s.server_id, &s.server_name)),
                ByteStr::from(topics::rpc(&self.opts.client_id, &s.server_id, &s.server_name)),
            ]);
            if let Ok(id) = client.unsubscribe(now, un) {
                self.owned.control(id);
            }
        }
        self.events.push_back(McpClientEvent::SessionClosed {
            session,
            server_id: s.server_id,
            reason,
        });
    }

    /// The RPC topic of a ready session.
    fn ready_topic(&self, session: SessionId) -> Result<String, McpError> {
        let s = self.ready(session)?;
        Ok(topics::rpc(&self.opts.client_id, &s.server_id, &s.server_name))
    }

    fn ready(&self, session: SessionId) -> Result<&Session, McpError> {
        match self.sessions.get(&session) {
            None => Err(McpError::new(McpErrorKind::UnknownSession, "no such session")),
            Some(s) if s.stage != Stage::Ready => {
                Err(McpError::new(McpErrorKind::NotReady, "the session is not initialized yet"))
            }
            Some(s) => Ok(s),
        }
    }

    fn push(&mut self, e: McpClientEvent) {
        if self.events.len() >= self.opts.max_events {
            self.stats.dropped_full += 1;
        } else {
            self.events.push_back(e);
        }
    }

    fn send(
        &mut self,
        client: &mut Client,
        now: Instant,
        topic: String,
        payload: bytes::Bytes,
    ) -> Result<(), McpError> {
        let m = message(MCP_CLIENT, &self.opts.client_id, topic, payload, false);
        let id = client.publish(now, m)?;
        self.owned.publish(id);
        Ok(())
    }
}
