//! The server role of MCP over MQTT: [`McpServer`].

use super::{
    ack_consumed, connect_properties, message, notification, parse, response, subscription, topics,
    user_property, valid_id, valid_name, McpError, McpErrorKind, McpStats, Msg, Owned, RpcError,
    INTERNAL_ERROR, MCP_SERVER, METHOD_DISCONNECTED, METHOD_INITIALIZE, METHOD_SERVER_ONLINE,
    MQTT_CLIENT_ID, SERVER_NAME,
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
use bytes::Bytes;
use serde_json::{Map, Value};

/// How an [`McpServer`] is configured.
#[derive(Clone, Debug, PartialEq)]
pub struct McpServerOptions {
    /// The server-id: this instance's MQTT client identifier (one topic
    /// level, no wildcard; unique among all instances).
    pub server_id: String,
    /// The server-name, shared by every instance of this server
    /// (`type/sub-type/name`; no wildcard). A broker's `MCP-SERVER-NAME` in
    /// CONNACK replaces it.
    pub server_name: String,
    /// A brief description, published in the presence notification.
    pub description: String,
    /// Metadata published in the presence notification (for example `rbac`
    /// roles); `null` for none.
    pub meta: Value,
    /// The `MCP-META` User Property of CONNECT: a JSON object describing
    /// this component (version, implementation, location).
    pub component_meta: Value,
    /// MCP clients initialized at once (default 1,024); an `initialize`
    /// beyond it is answered with an error.
    pub max_clients: usize,
    /// MCP events held before [`McpServer::poll_event`] drains them (default
    /// 1,024); messages beyond are dropped and counted.
    pub max_events: usize,
}

impl McpServerOptions {
    /// Options with a server-id, a server-name and a description; the rest default.
    pub fn new(
        server_id: impl Into<String>,
        server_name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        McpServerOptions {
            server_id: server_id.into(),
            server_name: server_name.into(),
            description: description.into(),
            meta: Value::Null,
            component_meta: Value::Object(Map::new()),
            max_clients: 1024,
            max_events: 1024,
        }
    }
}

/// Something an MCP client asked of us, or told us.
#[derive(Clone, Debug, PartialEq)]
pub enum McpServerEvent {
    /// The control subscription was acknowledged and the retained online
    /// presence published: clients can find and initialize us.
    Online,
    /// The broker refused the control subscription: we are not reachable,
    /// and no presence was published.
    StartFailed(ReasonCode),
    /// An `initialize` request. The subscriptions for this client (its
    /// capability and presence topics, our RPC topic with No Local) are
    /// acknowledged; answer with [`McpServer::respond`] and `id`.
    Initialize {
        /// The MCP client's id (its MQTT client identifier).
        client: String,
        /// The JSON-RPC `id`, to echo.
        id: Value,
        /// The `params`: protocol version, capabilities, client info.
        params: Value,
    },
    /// A JSON-RPC request on the RPC topic (`tools/list`, `tools/call`, ...);
    /// answer with [`McpServer::respond`].
    Request {
        /// The MCP client's id.
        client: String,
        /// The JSON-RPC `id`, to echo.
        id: Value,
        /// The method.
        method: String,
        /// The `params` (`null` when absent).
        params: Value,
    },
    /// A JSON-RPC notification from a client (`notifications/initialized`,
    /// list changes on its capability topic, ...).
    Notification {
        /// The MCP client's id.
        client: String,
        /// The method.
        method: String,
        /// The `params` (`null` when absent).
        params: Value,
    },
    /// A JSON-RPC response from a client on the RPC topic, given as received
    /// (this layer sends no requests to clients itself, so it correlates none).
    Response {
        /// The MCP client's id.
        client: String,
        /// The `id` it answers.
        id: Value,
        /// The result or error.
        outcome: Result<Value, RpcError>,
    },
    /// A client said `notifications/disconnected` (on its presence topic, as
    /// its will or before leaving, or on the RPC topic): its subscriptions
    /// are undone and its session forgotten.
    ClientOffline {
        /// The MCP client's id.
        client: String,
    },
}

/// Where a client's session stands.
#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// Its SUBSCRIBE is out; the `initialize` waits for the SUBACK.
    Subscribing { packet_id: u16, id: Value, params: Value },
    /// Subscribed: `initialize` reported, RPC flows.
    Open,
}

/// The server role of MCP over MQTT, layered on a [`Client`].
///
/// 1. Create the client with [`McpServer::options`] (client id, will, User
///    Properties) and connect it.
/// 2. Pass every client [`Event`] to [`McpServer::handle_event`]; after
///    [`Event::Connected`], call [`McpServer::start`].
/// 3. Drain [`McpServer::poll_event`]; answer initialize and requests with
///    [`McpServer::respond`].
/// 4. [`McpServer::shutdown`] clears the presence and disconnects.
#[derive(Debug)]
pub struct McpServer {
    opts: McpServerOptions,
    /// The server-name in use: configured, or suggested by the broker.
    name: String,
    /// The control SUBSCRIBE, until its SUBACK.
    control_sub: Option<u16>,
    online: bool,
    clients: BTreeMap<String, Stage>,
    owned: Owned,
    events: VecDeque<McpServerEvent>,
    stats: McpStats,
    /// Shutdown is waiting for the presence clear to leave before DISCONNECT.
    closing: bool,
}

impl McpServer {
    /// A server with `options`; refused when the server-id or server-name
    /// cannot be used in a topic.
    pub fn new(options: McpServerOptions) -> Result<McpServer, McpError> {
        if !valid_id(&options.server_id) {
            return Err(McpError::new(
                McpErrorKind::Invalid,
                "the server-id must be one topic level without wildcards",
            ));
        }
        if !valid_name(&options.server_name) {
            return Err(McpError::new(
                McpErrorKind::Invalid,
                "the server-name must be non-empty topic levels without wildcards",
            ));
        }
        Ok(McpServer {
            name: options.server_name.clone(),
            opts: options,
            control_sub: None,
            online: false,
            clients: BTreeMap::new(),
            owned: Owned::default(),
            events: VecDeque::new(),
            stats: McpStats::default(),
            closing: false,
        })
    }

    /// The server-id.
    pub fn server_id(&self) -> &str {
        &self.opts.server_id
    }

    /// The server-name in use (the broker's suggestion once connected, if any).
    pub fn server_name(&self) -> &str {
        &self.name
    }

    /// True once the online presence is published, until shutdown or disconnection.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// The MCP clients with a session (subscribing or open).
    pub fn clients(&self) -> impl Iterator<Item = &str> + '_ {
        self.clients.keys().map(String::as_str)
    }

    /// Counters of what was dropped.
    pub fn stats(&self) -> &McpStats {
        &self.stats
    }

    /// The options a [`Client`] needs for this server, on top of `base`:
    /// MQTT 5.0, the server-id as client identifier, Clean Start with a
    /// Session Expiry Interval of 0, the `MCP-COMPONENT-TYPE` and `MCP-META`
    /// User Properties, and a retained will with an empty payload on the
    /// presence topic (which clears the presence if the connection is lost).
    pub fn options(&self, base: Options) -> Options {
        let presence = topics::server_presence(&self.opts.server_id, &self.opts.server_name);
        let mut user_properties = base.user_properties;
        user_properties.extend(connect_properties(MCP_SERVER, &self.opts.component_meta));
        let will = Will {
            topic: presence.into(),
            payload: Bytes::new(),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: super::publish_properties(MCP_SERVER, &self.opts.server_id),
        };
        Options {
            protocol: Protocol::V5,
            client_id: self.opts.server_id.clone().into(),
            clean_start: true,
            session_expiry_interval: 0,
            user_properties,
            will: Some(will),
            ..base
        }
    }

    /// After [`Event::Connected`]: subscribes to the control topic; the
    /// online presence (retained) follows its SUBACK, reported as
    /// [`McpServerEvent::Online`].
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
        let control = topics::control(&self.opts.server_id, &self.name);
        let id = client.subscribe(now, Subscribe::new(vec![subscription(control, false)]))?;
        self.owned.control(id);
        self.control_sub = Some(id);
        self.closing = false;
        Ok(())
    }

    /// Takes a client event: the ones that belong to MCP are consumed (and
    /// may queue [`McpServerEvent`]s), the others are given back.
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
                if let Some(n) = user_property(&c.properties, SERVER_NAME) {
                    if valid_name(n) {
                        self.name = n.to_string();
                    }
                }
                Some(Event::Connected(c))
            }
            Event::Disconnected(d) => {
                self.online = false;
                self.control_sub = None;
                self.closing = false;
                self.clients.clear();
                Some(Event::Disconnected(d))
            }
            Event::Subscribed(a) if self.owned.take_control(a.packet_id) => {
                let refused = a.reason_codes.iter().copied().find(|c| c.is_error());
                self.on_suback(client, now, a.packet_id, refused);
                None
            }
            Event::Message(p) => self.on_message(client, now, p).map(Event::Message),
            other => Some(other),
        }
    }

    fn on_suback(
        &mut self,
        client: &mut Client,
        now: Instant,
        packet_id: u16,
        refused: Option<ReasonCode>,
    ) {
        if refused.is_some() {
            self.stats.subscriptions_refused += 1;
        }
        if self.control_sub == Some(packet_id) {
            self.control_sub = None;
            if let Some(code) = refused {
                self.events.push_back(McpServerEvent::StartFailed(code));
                return;
            }
            let presence = topics::server_presence(&self.opts.server_id, &self.name);
            let mut params = Map::new();
            params.insert("server_name".to_string(), Value::from(self.name.as_str()));
            params.insert("description".to_string(), Value::from(self.opts.description.as_str()));
            if !self.opts.meta.is_null() {
                params.insert("meta".to_string(), self.opts.meta.clone());
            }
            let payload = notification(METHOD_SERVER_ONLINE, Value::Object(params));
            match self.send(client, now, presence, payload, true) {
                Ok(()) => {
                    self.online = true;
                    self.events.push_back(McpServerEvent::Online);
                }
                Err(_) => self
                    .events
                    .push_back(McpServerEvent::StartFailed(ReasonCode::UNSPECIFIED_ERROR)),
            }
            return;
        }
        let Some(cid) = self.clients.iter().find_map(|(k, s)| match s {
            Stage::Subscribing { packet_id: p, .. } if *p == packet_id => Some(k.clone()),
            _ => None,
        }) else {
            return;
        };
        let Some(Stage::Subscribing { id, params, .. }) = self.clients.remove(&cid) else { return };
        if refused.is_some() {
            // We cannot hear this client: say so on its RPC topic (which it
            // is subscribed to) and forget it.
            let err = RpcError::new(
                INTERNAL_ERROR,
                "the server could not subscribe to this client's topics",
            );
            let topic = topics::rpc(&cid, &self.opts.server_id, &self.name);
            let _ = self.send(client, now, topic, response(id, Err(err)), false);
            self.unsubscribe_client(client, now, &cid);
            return;
        }
        self.clients.insert(cid.clone(), Stage::Open);
        self.push(McpServerEvent::Initialize { client: cid, id, params });
    }

    fn push(&mut self, e: McpServerEvent) {
        if self.events.len() >= self.opts.max_events {
            self.stats.dropped_full += 1;
        } else {
            self.events.push_back(e);
        }
    }

    /// Returns the message if it is not ours.
    fn on_message(&mut self, client: &mut Client, now: Instant, p: Publish) -> Option<Publish> {
        let topic = p.topic.as_str();
        let sid = self.opts.server_id.as_str();
        let control = topics::control(sid, &self.name);
        if topic == control {
            ack_consumed(client, now, &p);
            self.on_control(client, now, &p);
            return None;
        }
        if let Some(cid) = topic.strip_prefix(topics::CLIENT_PRESENCE) {
            if self.clients.contains_key(cid) {
                ack_consumed(client, now, &p);
                match parse(&p.payload) {
                    Some(Msg::Notification { method, .. }) if method == METHOD_DISCONNECTED => {
                        let cid = cid.to_string();
                        self.client_gone(client, now, cid);
                    }
                    Some(_) => self.stats.unexpected += 1,
                    None => self.stats.malformed += 1,
                }
                return None;
            }
            return Some(p);
        }
        if let Some(cid) = topic.strip_prefix(topics::CLIENT_CAPABILITY) {
            if self.clients.contains_key(cid) {
                ack_consumed(client, now, &p);
                match parse(&p.payload) {
                    Some(Msg::Notification { method, params }) => {
                        let client = cid.to_string();
                        self.push(McpServerEvent::Notification { client, method, params });
                    }
                    Some(_) => self.stats.unexpected += 1,
                    None => self.stats.malformed += 1,
                }
                return None;
            }
            return Some(p);
        }
        if let Some(rest) = topic.strip_prefix(topics::RPC) {
            let Some((cid, tail)) = topics::split_level(rest) else { return Some(p) };
            let ours = topics::split_level(tail).is_some_and(|(s, n)| s == sid && n == self.name);
            if !ours || !self.clients.contains_key(cid) {
                return Some(p);
            }
            ack_consumed(client, now, &p);
            let cid = cid.to_string();
            match parse(&p.payload) {
                None => self.stats.malformed += 1,
                Some(Msg::Notification { method, .. }) if method == METHOD_DISCONNECTED => {
                    self.client_gone(client, now, cid);
                }
                Some(Msg::Notification { method, params }) => {
                    self.push(McpServerEvent::Notification { client: cid, method, params })
                }
                Some(Msg::Request { id, method, params }) => {
                    self.push(McpServerEvent::Request { client: cid, id, method, params })
                }
                Some(Msg::Response { id, outcome }) => {
                    self.push(McpServerEvent::Response { client: cid, id, outcome })
                }
            }
            return None;
        }
        Some(p)
    }

    fn on_control(&mut self, client: &mut Client, now: Instant, p: &Publish) {
        let Some(cid) = user_property(&p.properties, MQTT_CLIENT_ID).filter(|c| valid_id(c)) else {
            self.stats.malformed += 1;
            return;
        };
        let cid = cid.to_string();
        let (id, params) = match parse(&p.payload) {
            Some(Msg::Request { id, method, params }) if method == METHOD_INITIALIZE => {
                (id, params)
            }
            Some(_) => {
                self.stats.unexpected += 1;
                return;
            }
            None => {
                self.stats.malformed += 1;
                return;
            }
        };
        match self.clients.get(&cid) {
            Some(Stage::Open) => {
                // Initialized again: the subscriptions stand.
                self.push(McpServerEvent::Initialize { client: cid, id, params });
                return;
            }
            Some(Stage::Subscribing { .. }) => {
                self.stats.unexpected += 1;
                return;
            }
            None => {}
        }
        let rpc = topics::rpc(&cid, &self.opts.server_id, &self.name);
        if self.clients.len() >= self.opts.max_clients {
            self.stats.dropped_full += 1;
            let err = RpcError::new(INTERNAL_ERROR, "the server has too many clients");
            let _ = self.send(client, now, rpc, response(id, Err(err)), false);
            return;
        }
        // Every subscription this client's messages depend on comes before
        // the answer to its initialize.
        let sub = Subscribe::new(vec![
            subscription(topics::client_capability(&cid), false),
            subscription(topics::client_presence(&cid), false),
            subscription(rpc.clone(), true),
        ]);
        match client.subscribe(now, sub) {
            Ok(packet_id) => {
                self.owned.control(packet_id);
                self.clients.insert(cid, Stage::Subscribing { packet_id, id, params });
            }
            Err(_) => {
                self.stats.dropped_full += 1;
                let err = RpcError::new(INTERNAL_ERROR, "the server cannot subscribe now");
                let _ = self.send(client, now, rpc, response(id, Err(err)), false);
            }
        }
    }

    fn client_gone(&mut self, client: &mut Client, now: Instant, cid: String) {
        self.clients.remove(&cid);
        self.unsubscribe_client(client, now, &cid);
        self.push(McpServerEvent::ClientOffline { client: cid });
    }

    fn unsubscribe_client(&mut self, client: &mut Client, now: Instant, cid: &str) {
        if !client.is_connected() {
            return;
        }
        let un = Unsubscribe::new(vec![
            ByteStr::from(topics::client_capability(cid)),
            ByteStr::from(topics::client_presence(cid)),
            ByteStr::from(topics::rpc(cid, &self.opts.server_id, &self.name)),
        ]);
        if let Ok(id) = client.unsubscribe(now, un) {
            self.owned.control(id);
        }
    }

    fn send(
        &mut self,
        client: &mut Client,
        now: Instant,
        topic: String,
        payload: Bytes,
        retain: bool,
    ) -> Result<(), McpError> {
        let m = message(MCP_SERVER, &self.opts.server_id, topic, payload, retain);
        let id = client.publish(now, m)?;
        self.owned.publish(id);
        Ok(())
    }

    fn open_rpc_topic(&self, mcp_client: &str) -> Result<String, McpError> {
        match self.clients.get(mcp_client) {
            Some(Stage::Open) => Ok(topics::rpc(mcp_client, &self.opts.server_id, &self.name)),
            _ => Err(McpError::new(
                McpErrorKind::UnknownClient,
                "no open session with this MCP client",
            )),
        }
    }

    /// The next MCP event, if any.
    pub fn poll_event(&mut self) -> Option<McpServerEvent> {
        self.events.pop_front()
    }

    /// Answers a request (or the `initialize`) of `mcp_client` on its RPC
    /// topic: a result, or a JSON-RPC error.
    pub fn respond(
        &mut self,
        client: &mut Client,
        now: Instant,
        mcp_client: &str,
        id: Value,
        outcome: Result<Value, RpcError>,
    ) -> Result<(), McpError> {
        let topic = self.open_rpc_topic(mcp_client)?;
        self.send(client, now, topic, response(id, outcome), false)
    }

    /// Sends a notification to `mcp_client` on its RPC topic (progress,
    /// logging, ...).
    pub fn notify(
        &mut self,
        client: &mut Client,
        now: Instant,
        mcp_client: &str,
        method: &str,
        params: Value,
    ) -> Result<(), McpError> {
        let topic = self.open_rpc_topic(mcp_client)?;
        self.send(client, now, topic, notification(method, params), false)
    }

    /// Sends a notification on our capability topic, to every client
    /// (`notifications/tools/list_changed`, `notifications/resources/updated`).
    pub fn notify_capability(
        &mut self,
        client: &mut Client,
        now: Instant,
        method: &str,
        params: Value,
    ) -> Result<(), McpError> {
        let topic = topics::server_capability(&self.opts.server_id, &self.name);
        self.send(client, now, topic, notification(method, params), false)
    }

    /// Ends the session with `mcp_client` while staying connected: a
    /// `notifications/disconnected` on its RPC topic, then its subscriptions undone.
    pub fn disconnect_client(
        &mut self,
        client: &mut Client,
        now: Instant,
        mcp_client: &str,
    ) -> Result<(), McpError> {
        let topic = self.open_rpc_topic(mcp_client)?;
        self.send(client, now, topic, notification(METHOD_DISCONNECTED, Value::Null), false)?;
        self.clients.remove(mcp_client);
        self.unsubscribe_client(client, now, mcp_client);
        Ok(())
    }

    /// Leaves gracefully: clears the retained presence (an empty retained
    /// message on the presence topic), then sends DISCONNECT (normal, so the
    /// broker discards the will). If the clear has to wait for send quota,
    /// DISCONNECT follows once it has gone out (in [`McpServer::handle_event`]).
    pub fn shutdown(&mut self, client: &mut Client, now: Instant) -> Result<(), McpError> {
        if !client.is_connected() {
            return Err(McpError::new(
                McpErrorKind::NotConnected,
                "the MQTT client is not connected",
            ));
        }
        let presence = topics::server_presence(&self.opts.server_id, &self.name);
        self.send(client, now, presence, Bytes::new(), true)?;
        self.online = false;
        self.clients.clear();
        if client.queued() == 0 {
            client.disconnect(now, Disconnect::new(ReasonCode::SUCCESS))?;
        } else {
            self.closing = true;
        }
        Ok(())
    }

    /// The clients' ids with their sessions' state, for tests and monitoring:
    /// `true` for open sessions, `false` while their subscriptions are pending.
    pub fn sessions(&self) -> Vec<(&str, bool)> {
        self.clients.iter().map(|(k, s)| (k.as_str(), *s == Stage::Open)).collect()
    }
}
