//! MCP over MQTT (the EMQX specification, MQTT 5.0 only): the server role
//! ([`McpServer`]) and the client role ([`McpClient`]), both layered on the
//! public [`Client`] API. See `docs/MCP.md` for what of the specification is
//! implemented, topic by topic.
//!
//! Neither role owns the [`Client`]: the host passes it to every call, feeds
//! every [`Event`] the client reports through `handle_event` (which keeps the
//! events that belong to MCP and gives back the others), and drains the MCP
//! events with `poll_event`. [`McpClient`] has deadlines of its own: a host
//! sleeps until the earlier of [`Client::poll_timeout`] and
//! [`McpClient::poll_timeout`].
//!
//! Topics (`{server-id}` and `{mcp-client-id}` are MQTT client identifiers,
//! one topic level each; `{server-name}` may span levels):
//!
//! | topic | carries |
//! |---|---|
//! | `$mcp-server/{server-id}/{server-name}` | `initialize` requests, to the server |
//! | `$mcp-server/capability/{server-id}/{server-name}` | the server's list-changed and resource-updated notifications |
//! | `$mcp-server/presence/{server-id}/{server-name}` | retained `notifications/server/online`; empty when offline |
//! | `$mcp-client/presence/{mcp-client-id}` | the client's `notifications/disconnected` (also its will) |
//! | `$mcp-client/capability/{mcp-client-id}` | the client's list-changed notifications |
//! | `$mcp-rpc/{mcp-client-id}/{server-id}/{server-name}` | JSON-RPC both ways after `initialize` |
//!
//! Every PUBLISH carries the User Properties `MCP-COMPONENT-TYPE` and
//! `MCP-MQTT-CLIENT-ID`; CONNECT carries `MCP-COMPONENT-TYPE` and `MCP-META`.

mod client;
mod server;

pub use client::{
    CallId, CallOutcome, Choice, CloseReason, McpClient, McpClientEvent, McpClientOptions,
    ServerInstance, SessionId,
};
pub use server::{McpServer, McpServerEvent, McpServerOptions};

use crate::client::{Client, Event, LocalError};
use crate::codec::{ByteStr, Properties, Publish, QoS, Subscription};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use serde_json::{Map, Value};

/// User Property naming the kind of MCP component: [`MCP_SERVER`] or [`MCP_CLIENT`].
pub const COMPONENT_TYPE: &str = "MCP-COMPONENT-TYPE";
/// User Property of CONNECT: a JSON object describing the component.
pub const META: &str = "MCP-META";
/// User Property of every PUBLISH: the sender's MQTT client identifier.
pub const MQTT_CLIENT_ID: &str = "MCP-MQTT-CLIENT-ID";
/// User Property of CONNACK: the server-name the broker wants a server to use.
pub const SERVER_NAME: &str = "MCP-SERVER-NAME";
/// User Property of CONNACK: a JSON array of server-name filters the broker
/// wants a client to discover servers with.
pub const SERVER_NAME_FILTERS: &str = "MCP-SERVER-NAME-FILTERS";
/// The value of [`COMPONENT_TYPE`] for a server.
pub const MCP_SERVER: &str = "mcp-server";
/// The value of [`COMPONENT_TYPE`] for a client.
pub const MCP_CLIENT: &str = "mcp-client";

/// Method of the retained presence notification of a server.
pub const METHOD_SERVER_ONLINE: &str = "notifications/server/online";
/// Method of the notification that ends a session (either side).
pub const METHOD_DISCONNECTED: &str = "notifications/disconnected";
/// Method of the client's notification that initialization is complete.
pub const METHOD_INITIALIZED: &str = "notifications/initialized";
/// Method of the first request of a session.
pub const METHOD_INITIALIZE: &str = "initialize";

/// JSON-RPC error code: the payload is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC error code: not a valid request.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC error code: no such method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC error code: invalid parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC error code: the handler failed.
pub const INTERNAL_ERROR: i64 = -32603;

/// The topics of MCP over MQTT.
pub mod topics {
    use alloc::format;
    use alloc::string::String;

    /// `$mcp-server/{server-id}/{server-name}`: the server's control topic.
    pub fn control(server_id: &str, server_name: &str) -> String {
        format!("$mcp-server/{server_id}/{server_name}")
    }

    /// `$mcp-server/capability/{server-id}/{server-name}`.
    pub fn server_capability(server_id: &str, server_name: &str) -> String {
        format!("$mcp-server/capability/{server_id}/{server_name}")
    }

    /// `$mcp-server/presence/{server-id}/{server-name}`.
    pub fn server_presence(server_id: &str, server_name: &str) -> String {
        format!("$mcp-server/presence/{server_id}/{server_name}")
    }

    /// `$mcp-server/presence/+/{server-name-filter}`: discovers servers.
    pub fn server_presence_filter(server_name_filter: &str) -> String {
        format!("$mcp-server/presence/+/{server_name_filter}")
    }

    /// `$mcp-client/presence/{mcp-client-id}`.
    pub fn client_presence(client_id: &str) -> String {
        format!("$mcp-client/presence/{client_id}")
    }

    /// `$mcp-client/capability/{mcp-client-id}`.
    pub fn client_capability(client_id: &str) -> String {
        format!("$mcp-client/capability/{client_id}")
    }

    /// `$mcp-rpc/{mcp-client-id}/{server-id}/{server-name}`.
    pub fn rpc(client_id: &str, server_id: &str, server_name: &str) -> String {
        format!("$mcp-rpc/{client_id}/{server_id}/{server_name}")
    }

    pub(crate) const SERVER_PRESENCE: &str = "$mcp-server/presence/";
    pub(crate) const SERVER_CAPABILITY: &str = "$mcp-server/capability/";
    pub(crate) const CLIENT_PRESENCE: &str = "$mcp-client/presence/";
    pub(crate) const CLIENT_CAPABILITY: &str = "$mcp-client/capability/";
    pub(crate) const RPC: &str = "$mcp-rpc/";

    /// Splits `{first-level}/{rest}` (both non-empty).
    pub(crate) fn split_level(s: &str) -> Option<(&str, &str)> {
        let (a, b) = s.split_once('/')?;
        (!a.is_empty() && !b.is_empty()).then_some((a, b))
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The error code ([`METHOD_NOT_FOUND`], [`INTERNAL_ERROR`], ...).
    pub code: i64,
    /// A readable message.
    pub message: String,
    /// Optional details.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into(), data: None }
    }

    fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("code".to_string(), Value::from(self.code));
        o.insert("message".to_string(), Value::from(self.message.as_str()));
        if let Some(d) = &self.data {
            o.insert("data".to_string(), d.clone());
        }
        Value::Object(o)
    }

    fn from_value(v: Value) -> Option<Self> {
        let Value::Object(mut o) = v else { return None };
        let code = o.get("code").and_then(Value::as_i64)?;
        let message = match o.remove("message") {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        Some(RpcError { code, message, data: o.remove("data") })
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)
    }
}

/// What kind of misuse an [`McpError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum McpErrorKind {
    /// A server-name, server-id or client id is not usable in a topic.
    Invalid,
    /// MCP over MQTT needs MQTT 5.0.
    NotMqtt5,
    /// The MQTT client is not connected.
    NotConnected,
    /// No MCP client with this id has initialized with us.
    UnknownClient,
    /// No such session (it closed, or never existed).
    UnknownSession,
    /// The session is still initializing.
    NotReady,
    /// No online instance of the server-name is free to initialize.
    NoServer,
    /// A bound was reached (sessions, pending calls).
    Full,
    /// The MQTT client refused the command; see [`McpError::local`].
    Mqtt,
}

/// A command of the MCP layer that was refused. Nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McpError {
    /// What kind of misuse this is.
    pub kind: McpErrorKind,
    /// What is wrong.
    pub message: &'static str,
    /// The MQTT client's refusal, for [`McpErrorKind::Mqtt`].
    pub local: Option<LocalError>,
}

impl McpError {
    pub(crate) const fn new(kind: McpErrorKind, message: &'static str) -> Self {
        McpError { kind, message, local: None }
    }
}

impl From<LocalError> for McpError {
    fn from(e: LocalError) -> Self {
        McpError { kind: McpErrorKind::Mqtt, message: e.message, local: Some(e) }
    }
}

impl fmt::Display for McpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.local {
            Some(l) => write!(f, "MCP: {l}"),
            None => write!(f, "MCP: {}", self.message),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for McpError {}

/// Counters of what the MCP layer dropped, for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct McpStats {
    /// Messages on MCP topics that were not JSON-RPC (or lacked a required
    /// User Property), dropped.
    pub malformed: u64,
    /// Responses with an `id` we are not waiting for (late or unknown), dropped.
    pub unknown_responses: u64,
    /// Messages dropped because a bound was reached (registry, sessions, events).
    pub dropped_full: u64,
    /// Messages on MCP topics that fit no session or state, dropped.
    pub unexpected: u64,
    /// Subscriptions the broker refused.
    pub subscriptions_refused: u64,
}

/// A JSON-RPC 2.0 message as received.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Msg {
    Request { id: Value, method: String, params: Value },
    Notification { method: String, params: Value },
    Response { id: Value, outcome: Result<Value, RpcError> },
}

/// Parses a JSON-RPC 2.0 message; `None` if the payload is not one.
pub(crate) fn parse(payload: &[u8]) -> Option<Msg> {
    let Value::Object(mut o) = serde_json::from_slice::<Value>(payload).ok()? else {
        return None;
    };
    if o.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return None;
    }
    let id = o.remove("id");
    if let Some(m) = o.remove("method") {
        let Value::String(method) = m else { return None };
        let params = o.remove("params").unwrap_or(Value::Null);
        return Some(match id {
            Some(id) => Msg::Request { id, method, params },
            None => Msg::Notification { method, params },
        });
    }
    let id = id?;
    if let Some(r) = o.remove("result") {
        return Some(Msg::Response { id, outcome: Ok(r) });
    }
    let e = RpcError::from_value(o.remove("error")?)?;
    Some(Msg::Response { id, outcome: Err(e) })
}

fn envelope() -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("jsonrpc".to_string(), Value::from("2.0"));
    o
}

fn encode(o: Map<String, Value>) -> Bytes {
    // Serializing a Value cannot fail (its map keys are strings).
    Bytes::from(serde_json::to_vec(&Value::Object(o)).unwrap_or_default())
}

/// A JSON-RPC request.
pub(crate) fn request(id: Value, method: &str, params: Value) -> Bytes {
    let mut o = envelope();
    o.insert("id".to_string(), id);
    o.insert("method".to_string(), Value::from(method));
    if !params.is_null() {
        o.insert("params".to_string(), params);
    }
    encode(o)
}

/// A JSON-RPC notification.
pub(crate) fn notification(method: &str, params: Value) -> Bytes {
    let mut o = envelope();
    o.insert("method".to_string(), Value::from(method));
    if !params.is_null() {
        o.insert("params".to_string(), params);
    }
    encode(o)
}

/// A JSON-RPC response: a result or an error.
pub(crate) fn response(id: Value, outcome: Result<Value, RpcError>) -> Bytes {
    let mut o = envelope();
    o.insert("id".to_string(), id);
    match outcome {
        Ok(r) => o.insert("result".to_string(), r),
        Err(e) => o.insert("error".to_string(), e.to_value()),
    };
    encode(o)
}

/// The User Properties every MCP PUBLISH carries.
pub(crate) fn publish_properties(component: &'static str, client_id: &str) -> Properties {
    let mut p = Properties::default();
    p.user_properties.push((ByteStr::from_static(COMPONENT_TYPE), ByteStr::from_static(component)));
    p.user_properties.push((ByteStr::from_static(MQTT_CLIENT_ID), client_id.to_string().into()));
    p
}

/// The User Properties of CONNECT.
pub(crate) fn connect_properties(component: &'static str, meta: &Value) -> Vec<(ByteStr, ByteStr)> {
    let meta = serde_json::to_string(meta).unwrap_or_default();
    alloc::vec![
        (ByteStr::from_static(COMPONENT_TYPE), ByteStr::from_static(component)),
        (ByteStr::from_static(META), meta.into()),
    ]
}

/// A QoS 1 MCP message.
pub(crate) fn message(
    component: &'static str,
    client_id: &str,
    topic: String,
    payload: Bytes,
    retain: bool,
) -> Publish {
    let mut m = Publish::new(topic, payload);
    m.qos = QoS::AtLeastOnce;
    m.retain = retain;
    m.properties = publish_properties(component, client_id);
    m
}

/// A QoS 1 subscription, with No Local when asked.
pub(crate) fn subscription(filter: String, no_local: bool) -> Subscription {
    Subscription { no_local, ..Subscription::new(filter, QoS::AtLeastOnce) }
}

/// The first value of a User Property of a PUBLISH or CONNACK.
pub(crate) fn user_property<'a>(p: &'a Properties, name: &str) -> Option<&'a str> {
    p.user_properties.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v.as_str())
}

/// A server-id or client id: one non-empty topic level, no wildcard.
pub(crate) fn valid_id(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '+', '#', '\0'])
}

/// A server-name: non-empty levels, no wildcard.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['+', '#', '\0']) && !s.split('/').any(str::is_empty)
}

/// After `shutdown`, both roles wait for their last messages (the cleared
/// presence) to leave the queue, then send DISCONNECT: `closing` says a
/// shutdown is under way.
pub(crate) fn disconnect_when_drained(
    closing: &mut bool,
    client: &mut Client,
    now: crate::time::Instant,
) {
    if *closing && client.queued() == 0 && client.is_connected() {
        *closing = false;
        let _ = client
            .disconnect(now, crate::codec::Disconnect::new(crate::codec::ReasonCode::SUCCESS));
    }
}

/// Acknowledges a message the MCP layer consumed when the host acks by hand.
pub(crate) fn ack_consumed(client: &mut Client, now: crate::time::Instant, p: &Publish) {
    if client.options().manual_ack {
        if let Some(id) = p.packet_id {
            let _ = client.ack(now, id);
        }
    }
}

/// Packet identifiers of the commands an MCP role issued, so that their
/// acknowledgements are consumed rather than given back to the host.
#[derive(Clone, Debug, Default)]
pub(crate) struct Owned {
    publishes: alloc::collections::BTreeSet<u16>,
    controls: alloc::collections::BTreeSet<u16>,
}

impl Owned {
    pub(crate) fn publish(&mut self, id: Option<u16>) {
        if let Some(id) = id {
            self.publishes.insert(id);
        }
    }

    pub(crate) fn control(&mut self, id: u16) {
        self.controls.insert(id);
    }

    /// True when `e` acknowledges one of ours (and forgets it). SUBACKs are
    /// left to the caller, which needs their codes.
    pub(crate) fn take_ack(&mut self, e: &Event) -> bool {
        match e {
            Event::Published(p) => self.publishes.remove(&p.packet_id),
            Event::PublishDropped(p) => p.packet_id.is_some_and(|id| self.publishes.remove(&id)),
            Event::Unsubscribed(a) => self.controls.remove(&a.packet_id),
            _ => false,
        }
    }

    pub(crate) fn take_control(&mut self, id: u16) -> bool {
        self.controls.remove(&id)
    }

    /// After a CONNACK without a session: every flow of the old one ended.
    pub(crate) fn clear(&mut self) {
        self.publishes.clear();
        self.controls.clear();
    }
}
