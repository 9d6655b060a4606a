//! MCP over MQTT: the server and client roles (`McpServer`, `McpClient`)
//! bound to a `Client`, and their events.
//!
//! A role is attached to a closed client with `Client.attach_mcp(role)`;
//! from then on the client passes each of its events through the role (MCP
//! traffic is consumed, the rest is given back), starts the role when
//! connected, and folds the role's deadlines into `poll_timeout` and
//! `handle_timeout`. The role's commands take the client and `now_ms`.
//! JSON values cross the boundary in the `json.loads` form.

use crate::client::{os_seed, Client};
use crate::convert::{from_json, to_json};
use crate::errors::{self, from_mcp};
use crate::events::repr_of;
use mqtt_engine::client::{Client as CoreClient, Event, State};
use mqtt_engine::rpc::mcp::{
    self as core, CallId, CallOutcome, Choice, CloseReason, McpClientEvent, McpClientOptions,
    McpServerEvent, McpServerOptions, SessionId,
};
use mqtt_engine::time::Instant;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use std::time::Duration;

/// An MCP role attached to a client.
pub(crate) enum Role {
    /// An MCP server.
    Server(Py<McpServer>),
    /// An MCP client.
    Client(Py<McpClient>),
}

impl Role {
    /// The role's Python object.
    pub(crate) fn object(&self, py: Python<'_>) -> Py<PyAny> {
        match self {
            Role::Server(s) => s.clone_ref(py).into_any(),
            Role::Client(c) => c.clone_ref(py).into_any(),
        }
    }
}

fn busy(_: impl std::fmt::Debug) -> PyErr {
    errors::local("busy", None, "the MCP role or the client is in use by another call")
}

/// Runs `f` with the engine client of `client`.
fn with_client<R>(
    client: &Bound<'_, Client>,
    f: impl FnOnce(&mut CoreClient) -> Result<R, core::McpError>,
) -> PyResult<R> {
    let mut c = client.try_borrow_mut().map_err(busy)?;
    f(&mut c.inner).map_err(from_mcp)
}

fn now(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn json_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match v {
        None => Ok(Value::Null),
        Some(v) => to_json(v),
    }
}

/// A result or a JSON-RPC error from `result=` / `error=` arguments.
fn outcome(
    result: Option<&Bound<'_, PyAny>>,
    error: Option<&Bound<'_, PyAny>>,
) -> PyResult<Result<Value, core::RpcError>> {
    match error {
        Some(e) if !e.is_none() => {
            if result.is_some_and(|r| !r.is_none()) {
                return Err(PyValueError::new_err("give a result or an error, not both"));
            }
            rpc_error_of(e).map(Err)
        }
        _ => json_arg(result).map(Ok),
    }
}

/// A JSON-RPC error from a `JsonRpcError`, a dict `{code, message, data?}`
/// or a `(code, message)` tuple.
fn rpc_error_of(e: &Bound<'_, PyAny>) -> PyResult<core::RpcError> {
    if let Ok(x) = e.cast::<JsonRpcError>() {
        return Ok(x.get().inner.clone());
    }
    if let Ok((code, message)) = e.extract::<(i64, String)>() {
        return Ok(core::RpcError::new(code, message));
    }
    if let Ok(d) = e.cast::<PyDict>() {
        let code: i64 = d
            .get_item("code")?
            .ok_or_else(|| PyValueError::new_err("a JSON-RPC error needs a code"))?
            .extract()?;
        let message: String = match d.get_item("message")? {
            Some(m) => m.extract()?,
            None => String::new(),
        };
        let mut r = core::RpcError::new(code, message);
        if let Some(data) = d.get_item("data")? {
            r.data = Some(to_json(&data)?);
        }
        return Ok(r);
    }
    Err(PyTypeError::new_err(
        "error is a JsonRpcError, a dict {code, message, data} or a (code, message) tuple",
    ))
}

/// Counters of an MCP role as a dict.
fn stats_dict<'py>(py: Python<'py>, s: &core::McpStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("malformed", s.malformed)?;
    d.set_item("unknown_responses", s.unknown_responses)?;
    d.set_item("dropped_full", s.dropped_full)?;
    d.set_item("unexpected", s.unexpected)?;
    d.set_item("subscriptions_refused", s.subscriptions_refused)?;
    Ok(d)
}

// ----- JSON-RPC error -------------------------------------------------------

/// A JSON-RPC error object: `JsonRpcError(code, message, data=None)`.
///
/// Given to `respond(..., error=...)`, and reported in McpCallDone,
/// McpSessionClosed and McpClientResponse. The standard codes are class
/// attributes: PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND,
/// INVALID_PARAMS, INTERNAL_ERROR.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct JsonRpcError {
    inner: core::RpcError,
}

#[pymethods]
impl JsonRpcError {
    #[new]
    #[pyo3(signature = (code, message, data=None))]
    fn new(code: i64, message: String, data: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut inner = core::RpcError::new(code, message);
        if let Some(d) = data {
            if !d.is_none() {
                inner.data = Some(to_json(d)?);
            }
        }
        Ok(JsonRpcError { inner })
    }
    /// The error code.
    #[getter]
    fn code(&self) -> i64 {
        self.inner.code
    }
    /// A readable message.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }
    /// Optional details (a JSON value), or None.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.data {
            Some(d) => from_json(py, d),
            None => Ok(py.None().into_bound(py)),
        }
    }
    /// `{"code": ..., "message": ..., "data": ...}` (data only when set).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("code", self.inner.code)?;
        d.set_item("message", &self.inner.message)?;
        if let Some(x) = &self.inner.data {
            d.set_item("data", from_json(py, x)?)?;
        }
        Ok(d)
    }
    #[classattr]
    const PARSE_ERROR: i64 = core::PARSE_ERROR;
    #[classattr]
    const INVALID_REQUEST: i64 = core::INVALID_REQUEST;
    #[classattr]
    const METHOD_NOT_FOUND: i64 = core::METHOD_NOT_FOUND;
    #[classattr]
    const INVALID_PARAMS: i64 = core::INVALID_PARAMS;
    #[classattr]
    const INTERNAL_ERROR: i64 = core::INTERNAL_ERROR;
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("code", "message", "data")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "JsonRpcError")
    }
}

fn py_rpc_error(py: Python<'_>, e: &Option<core::RpcError>) -> PyResult<Option<Py<JsonRpcError>>> {
    e.as_ref().map(|e| Py::new(py, JsonRpcError { inner: e.clone() })).transpose()
}

// ----- Event classes --------------------------------------------------------

/// Declares an MCP event class: plain fields with getters, JSON fields
/// converted when read, and optional JSON-RPC error fields.
macro_rules! mcp_event {
    (
        $(#[$doc:meta])*
        $name:ident, $label:literal,
        plain { $($pf:ident : $pt:ty),* $(,)? },
        json { $($jf:ident),* $(,)? },
        match_args ( $($ma:literal),* $(,)? )
    ) => {
        $(#[$doc])*
        #[pyclass(module = "mqtt_engine", frozen, eq)]
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $(
                #[pyo3(get)]
                #[doc = concat!("`", stringify!($pf), "`.")]
                pub(crate) $pf: $pt,
            )*
            $(
                #[doc = concat!("`", stringify!($jf), "` (JSON).")]
                pub(crate) $jf: Value,
            )*
        }

        #[pymethods]
        impl $name {
            $(
                #[doc = concat!("`", stringify!($jf), "`, a JSON value in the `json.loads` form.")]
                #[getter]
                fn $jf<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    from_json(py, &self.$jf)
                }
            )*
            #[classattr]
            fn __match_args__<'py>(py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
                pyo3::types::PyTuple::new(py, [$($ma),*] as [&str; _])
            }
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_of(slf.as_any(), $label)
            }
        }
    };
}

mcp_event!(
    /// McpServer: the control subscription is acknowledged and the retained
    /// online presence published: clients can find and initialize us.
    McpOnline, "McpOnline", plain {}, json {}, match_args ()
);
mcp_event!(
    /// McpServer: the broker refused the control subscription (`reason_code`);
    /// no presence was published.
    McpStartFailed, "McpStartFailed", plain { reason_code: u8 }, json {},
    match_args ("reason_code")
);
mcp_event!(
    /// McpServer: an `initialize` request from MCP client `client`; answer
    /// with `McpServer.respond(client_obj, now_ms, client, id, result)`.
    McpInitialize, "McpInitialize", plain { client: String }, json { id, params },
    match_args ("client", "id", "params")
);
mcp_event!(
    /// McpServer: a JSON-RPC request (`tools/list`, `tools/call`, ...) from
    /// MCP client `client`; answer with `McpServer.respond`.
    McpClientRequest, "McpClientRequest", plain { client: String, method: String },
    json { id, params }, match_args ("client", "method", "id", "params")
);
mcp_event!(
    /// McpServer: a JSON-RPC notification from MCP client `client`.
    McpClientNotification, "McpClientNotification", plain { client: String, method: String },
    json { params }, match_args ("client", "method", "params")
);
mcp_event!(
    /// McpServer: MCP client `client` said `notifications/disconnected`; its
    /// session is forgotten.
    McpClientOffline, "McpClientOffline", plain { client: String }, json {},
    match_args ("client",)
);
mcp_event!(
    /// McpClient: a server instance announced itself (new, or its presence
    /// changed). Also the type of `McpClient.instances()` entries.
    McpServerOnline, "McpServerOnline",
    plain { server_id: String, server_name: String, description: String },
    json { meta }, match_args ("server_name", "server_id", "description", "meta")
);
mcp_event!(
    /// McpClient: a server instance's presence was cleared.
    McpServerOffline, "McpServerOffline", plain { server_name: String, server_id: String },
    json {}, match_args ("server_name", "server_id")
);
mcp_event!(
    /// McpClient: the broker refused the presence subscription `filter`.
    McpDiscoveryRefused, "McpDiscoveryRefused", plain { filter: String, reason_code: u8 },
    json {}, match_args ("filter", "reason_code")
);
mcp_event!(
    /// McpClient: session `session` is initialized (`notifications/initialized`
    /// sent): calls may go. `result` is the `initialize` result.
    McpInitialized, "McpInitialized",
    plain { session: u64, server_id: String, server_name: String },
    json { result }, match_args ("session", "server_id", "server_name", "result")
);
mcp_event!(
    /// McpClient: a notification from the server of session `session`.
    McpServerNotification, "McpServerNotification", plain { session: u64, method: String },
    json { params }, match_args ("session", "method", "params")
);
mcp_event!(
    /// McpClient: a request from the server of session `session` (`ping`,
    /// `roots/list`, ...); answer with `McpClient.respond`.
    McpServerRequest, "McpServerRequest", plain { session: u64, method: String },
    json { id, params }, match_args ("session", "method", "id", "params")
);

/// McpServer: a JSON-RPC response from MCP client `client` to request `id`:
/// `result` (JSON) or `error` (a JsonRpcError).
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct McpClientResponse {
    /// The MCP client.
    #[pyo3(get)]
    client: String,
    id: Value,
    outcome: Result<Value, core::RpcError>,
}

#[pymethods]
impl McpClientResponse {
    /// The `id` it answers (JSON).
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        from_json(py, &self.id)
    }
    /// The result (JSON), or None for an error.
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.outcome {
            Ok(v) => from_json(py, v),
            Err(_) => Ok(py.None().into_bound(py)),
        }
    }
    /// The JSON-RPC error, or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<JsonRpcError>>> {
        py_rpc_error(py, &self.outcome.as_ref().err().cloned())
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("client", "id", "result", "error")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "McpClientResponse")
    }
}

/// The name, JSON-RPC error and reason code of a call outcome.
fn outcome_parts(
    o: &CallOutcome,
) -> (&'static str, Option<Value>, Option<core::RpcError>, Option<u8>) {
    match o {
        CallOutcome::Result(v) => ("result", Some(v.clone()), None, None),
        CallOutcome::Error(e) => ("error", None, Some(e.clone()), None),
        CallOutcome::Timeout => ("timeout", None, None, None),
        CallOutcome::ServerOffline => ("server_offline", None, None, None),
        CallOutcome::ConnectionLost => ("connection_lost", None, None, None),
        CallOutcome::SubscriptionRefused(c) => ("subscription_refused", None, None, Some(c.0)),
        CallOutcome::Closed => ("closed", None, None, None),
    }
}

/// McpClient: call `call` (method `method`, session `session`) ended, exactly
/// once per `McpClient.call`.
///
/// `outcome` is "result" (`result` holds it), "error" (`error` holds the
/// JsonRpcError), "timeout", "server_offline", "connection_lost",
/// "subscription_refused" (`reason_code` holds the SUBACK code) or "closed".
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct McpCallDone {
    /// The call.
    #[pyo3(get)]
    call: u64,
    /// Its session.
    #[pyo3(get)]
    session: u64,
    /// Its method.
    #[pyo3(get)]
    method: String,
    inner: CallOutcome,
}

#[pymethods]
impl McpCallDone {
    /// How it ended.
    #[getter]
    fn outcome(&self) -> &'static str {
        outcome_parts(&self.inner).0
    }
    /// The server's result (JSON) for outcome "result", else None.
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match outcome_parts(&self.inner).1 {
            Some(v) => from_json(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }
    /// The server's JSON-RPC error for outcome "error", else None.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<JsonRpcError>>> {
        py_rpc_error(py, &outcome_parts(&self.inner).2)
    }
    /// The SUBACK reason code for "subscription_refused", else None.
    #[getter]
    fn reason_code(&self) -> Option<u8> {
        outcome_parts(&self.inner).3
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("call", "outcome", "result", "error", "method")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "McpCallDone")
    }
}

/// McpClient: session `session` with instance `server_id` ended (its pending
/// calls ended before, each with McpCallDone).
///
/// `reason` is "initialize_failed" (then `outcome`, `error` and
/// `reason_code` say how the `initialize` call ended, as in McpCallDone),
/// "server_offline", "server_disconnected", "closed" or "connection_lost".
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct McpSessionClosed {
    /// The session.
    #[pyo3(get)]
    session: u64,
    /// The instance.
    #[pyo3(get)]
    server_id: String,
    inner: CloseReason,
}

#[pymethods]
impl McpSessionClosed {
    /// Why it ended.
    #[getter]
    fn reason(&self) -> &'static str {
        match self.inner {
            CloseReason::InitializeFailed(_) => "initialize_failed",
            CloseReason::ServerOffline => "server_offline",
            CloseReason::ServerDisconnected => "server_disconnected",
            CloseReason::Closed => "closed",
            CloseReason::ConnectionLost => "connection_lost",
        }
    }
    /// For "initialize_failed": how the `initialize` call ended; else None.
    #[getter]
    fn outcome(&self) -> Option<&'static str> {
        match &self.inner {
            CloseReason::InitializeFailed(o) => Some(outcome_parts(o).0),
            _ => None,
        }
    }
    /// For an `initialize` answered with an error: the JSON-RPC error.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<JsonRpcError>>> {
        match &self.inner {
            CloseReason::InitializeFailed(o) => py_rpc_error(py, &outcome_parts(o).2),
            _ => Ok(None),
        }
    }
    /// For refused subscriptions: the SUBACK reason code.
    #[getter]
    fn reason_code(&self) -> Option<u8> {
        match &self.inner {
            CloseReason::InitializeFailed(o) => outcome_parts(o).3,
            _ => None,
        }
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("session", "server_id", "reason")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "McpSessionClosed")
    }
}

fn server_event(py: Python<'_>, e: McpServerEvent) -> PyResult<Py<PyAny>> {
    Ok(match e {
        McpServerEvent::Online => Py::new(py, McpOnline {})?.into_any(),
        McpServerEvent::StartFailed(c) => {
            Py::new(py, McpStartFailed { reason_code: c.0 })?.into_any()
        }
        McpServerEvent::Initialize { client, id, params } => {
            Py::new(py, McpInitialize { client, id, params })?.into_any()
        }
        McpServerEvent::Request { client, id, method, params } => {
            Py::new(py, McpClientRequest { client, method, id, params })?.into_any()
        }
        McpServerEvent::Notification { client, method, params } => {
            Py::new(py, McpClientNotification { client, method, params })?.into_any()
        }
        McpServerEvent::Response { client, id, outcome } => {
            Py::new(py, McpClientResponse { client, id, outcome })?.into_any()
        }
        McpServerEvent::ClientOffline { client } => {
            Py::new(py, McpClientOffline { client })?.into_any()
        }
    })
}

fn instance(s: &core::ServerInstance) -> McpServerOnline {
    McpServerOnline {
        server_id: s.server_id.clone(),
        server_name: s.server_name.clone(),
        description: s.description.clone(),
        meta: s.meta.clone(),
    }
}

fn client_event(py: Python<'_>, e: McpClientEvent) -> PyResult<Py<PyAny>> {
    Ok(match e {
        McpClientEvent::ServerOnline(s) => Py::new(py, instance(&s))?.into_any(),
        McpClientEvent::ServerOffline { server_name, server_id } => {
            Py::new(py, McpServerOffline { server_name, server_id })?.into_any()
        }
        McpClientEvent::DiscoveryRefused { filter, reason_code } => {
            Py::new(py, McpDiscoveryRefused { filter, reason_code: reason_code.0 })?.into_any()
        }
        McpClientEvent::Initialized { session, server_id, server_name, result } => {
            Py::new(py, McpInitialized { session: session.0, server_id, server_name, result })?
                .into_any()
        }
        McpClientEvent::CallDone { call, session, method, outcome } => {
            Py::new(py, McpCallDone { call: call.0, session: session.0, method, inner: outcome })?
                .into_any()
        }
        McpClientEvent::SessionClosed { session, server_id, reason } => {
            Py::new(py, McpSessionClosed { session: session.0, server_id, inner: reason })?
                .into_any()
        }
        McpClientEvent::Notification { session, method, params } => {
            Py::new(py, McpServerNotification { session: session.0, method, params })?.into_any()
        }
        McpClientEvent::Request { session, id, method, params } => {
            Py::new(py, McpServerRequest { session: session.0, method, id, params })?.into_any()
        }
    })
}

// ----- McpServer ------------------------------------------------------------

/// The server role of MCP over MQTT.
///
/// `McpServer(server_id, server_name, description="", *, meta=None,
/// component_meta=None, max_clients=1024, max_events=1024)`: `server_id` is
/// this instance's MQTT client identifier (one topic level), `server_name`
/// the name shared by all instances (`type/sub-type/name`); `meta` is
/// published in the presence, `component_meta` in CONNECT's `MCP-META`.
///
/// Use: `client.attach_mcp(server)` on a closed `Client`, connect it; the
/// server starts on Connected (McpOnline follows once its presence is out).
/// Drain `poll_event()`: answer McpInitialize and McpClientRequest with
/// `respond(client, now_ms, mcp_client, id, result)` (or `error=`).
/// `shutdown(client, now_ms)` clears the presence and disconnects.
/// Commands raise LocalProtocolError with kinds "not_connected",
/// "unknown_client", "invalid", ... when refused.
#[pyclass(module = "mqtt_engine")]
pub struct McpServer {
    pub(crate) inner: core::McpServer,
}

#[pymethods]
impl McpServer {
    #[new]
    #[pyo3(signature = (server_id, server_name, description=String::new(), *, meta=None,
        component_meta=None, max_clients=1024, max_events=1024))]
    fn new(
        server_id: String,
        server_name: String,
        description: String,
        meta: Option<&Bound<'_, PyAny>>,
        component_meta: Option<&Bound<'_, PyAny>>,
        max_clients: usize,
        max_events: usize,
    ) -> PyResult<Self> {
        let mut o = McpServerOptions::new(server_id, server_name, description);
        o.meta = json_arg(meta)?;
        if let Some(c) = component_meta {
            o.component_meta = to_json(c)?;
        }
        o.max_clients = max_clients;
        o.max_events = max_events;
        Ok(McpServer { inner: core::McpServer::new(o).map_err(from_mcp)? })
    }

    /// The server-id.
    #[getter]
    fn server_id(&self) -> &str {
        self.inner.server_id()
    }

    /// The server-name in use (a broker's suggestion once connected, if any).
    #[getter]
    fn server_name(&self) -> &str {
        self.inner.server_name()
    }

    /// True once the online presence is published, until shutdown or disconnection.
    #[getter]
    fn is_online(&self) -> bool {
        self.inner.is_online()
    }

    /// The MCP clients with a session.
    #[getter]
    fn clients(&self) -> Vec<String> {
        self.inner.clients().map(str::to_string).collect()
    }

    /// `(client id, open)` for each session: open, or subscriptions pending.
    #[getter]
    fn sessions(&self) -> Vec<(String, bool)> {
        self.inner.sessions().into_iter().map(|(k, o)| (k.to_string(), o)).collect()
    }

    /// Counters of what was dropped.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    /// Subscribes to the control topic (done by itself on Connected when
    /// attached). McpOnline follows.
    fn start(&mut self, client: &Bound<'_, Client>, now_ms: u64) -> PyResult<()> {
        with_client(client, |c| self.inner.start(c, now(now_ms)))
    }

    /// Answers a request (or the `initialize`) of `mcp_client`: `result`
    /// (a JSON value) or `error` (a JsonRpcError, a `{code, message, data}`
    /// dict or a `(code, message)` tuple).
    #[pyo3(signature = (client, now_ms, mcp_client, id, result=None, *, error=None))]
    fn respond(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        mcp_client: &str,
        id: &Bound<'_, PyAny>,
        result: Option<&Bound<'_, PyAny>>,
        error: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let id = to_json(id)?;
        let out = outcome(result, error)?;
        with_client(client, |c| self.inner.respond(c, now(now_ms), mcp_client, id, out))
    }

    /// Sends a notification to `mcp_client` (progress, logging, ...).
    #[pyo3(signature = (client, now_ms, mcp_client, method, params=None))]
    fn notify(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        mcp_client: &str,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let params = json_arg(params)?;
        with_client(client, |c| self.inner.notify(c, now(now_ms), mcp_client, method, params))
    }

    /// Sends a notification to every client on our capability topic
    /// (`notifications/tools/list_changed`, ...).
    #[pyo3(signature = (client, now_ms, method, params=None))]
    fn notify_capability(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let params = json_arg(params)?;
        with_client(client, |c| self.inner.notify_capability(c, now(now_ms), method, params))
    }

    /// Ends the session with `mcp_client` while staying connected.
    fn disconnect_client(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        mcp_client: &str,
    ) -> PyResult<()> {
        with_client(client, |c| self.inner.disconnect_client(c, now(now_ms), mcp_client))
    }

    /// Clears the retained presence, then disconnects (normally, so the
    /// broker discards the will).
    fn shutdown(&mut self, client: &Bound<'_, Client>, now_ms: u64) -> PyResult<()> {
        with_client(client, |c| self.inner.shutdown(c, now(now_ms)))
    }

    /// The next MCP event, or None: McpOnline, McpStartFailed, McpInitialize,
    /// McpClientRequest, McpClientNotification, McpClientResponse,
    /// McpClientOffline.
    fn poll_event(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.inner.poll_event().map(|e| server_event(py, e)).transpose()
    }

    /// Every MCP event waiting, in order.
    fn events<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        while let Some(e) = self.inner.poll_event() {
            out.append(server_event(py, e)?)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!("<McpServer {:?} {:?}>", self.inner.server_id(), self.inner.server_name())
    }
}

// ----- McpClient ------------------------------------------------------------

/// The client role of MCP over MQTT.
///
/// `McpClient(client_id, *, server_name_filters=None (["#"]),
/// component_meta=None, initialize_params=None (protocol version,
/// capabilities, client info), choice="random" or "round_robin", seed=None
/// (os.urandom), max_servers=1024, max_sessions=64, max_pending=1024,
/// timeouts_ms=None ({method: ms}, on top of the defaults: initialize 30 s,
/// ping 10 s, tools/call 60 s, ...), default_timeout_ms=30000,
/// max_events=1024)`.
///
/// Use: `client.attach_mcp(mcp)` on a closed `Client`, connect it; discovery
/// starts on Connected (McpServerOnline for each instance). Then
/// `initialize(client, now_ms, server_name)` returns a session id; after
/// McpInitialized, `call(client, now_ms, session, method, params)` returns a
/// call id, answered by one McpCallDone. `shutdown(client, now_ms)` leaves.
#[pyclass(module = "mqtt_engine")]
pub struct McpClient {
    pub(crate) inner: core::McpClient,
}

#[pymethods]
impl McpClient {
    #[new]
    #[pyo3(signature = (client_id, *, server_name_filters=None, component_meta=None,
        initialize_params=None, choice="random", seed=None, max_servers=1024, max_sessions=64,
        max_pending=1024, timeouts_ms=None, default_timeout_ms=30_000, max_events=1024))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client_id: String,
        server_name_filters: Option<Vec<String>>,
        component_meta: Option<&Bound<'_, PyAny>>,
        initialize_params: Option<&Bound<'_, PyAny>>,
        choice: &str,
        seed: Option<u64>,
        max_servers: usize,
        max_sessions: usize,
        max_pending: usize,
        timeouts_ms: Option<std::collections::BTreeMap<String, u64>>,
        default_timeout_ms: u64,
        max_events: usize,
    ) -> PyResult<Self> {
        let mut o = McpClientOptions::new(client_id);
        if let Some(f) = server_name_filters {
            o.server_name_filters = f;
        }
        if let Some(c) = component_meta {
            o.component_meta = to_json(c)?;
        }
        if let Some(p) = initialize_params {
            o.initialize_params = to_json(p)?;
        }
        o.choice = match choice {
            "random" => Choice::Random,
            "round_robin" => Choice::RoundRobin,
            _ => return Err(PyValueError::new_err("choice is \"random\" or \"round_robin\"")),
        };
        o.seed = match seed {
            Some(s) => s,
            None => os_seed(py)?,
        };
        o.max_servers = max_servers;
        o.max_sessions = max_sessions;
        o.max_pending = max_pending;
        for (m, t) in timeouts_ms.unwrap_or_default() {
            let d = Duration::from_millis(t);
            match o.timeouts.iter_mut().find(|(k, _)| *k == m) {
                Some(e) => e.1 = d,
                None => o.timeouts.push((m, d)),
            }
        }
        o.default_timeout = Duration::from_millis(default_timeout_ms);
        o.max_events = max_events;
        Ok(McpClient { inner: core::McpClient::new(o).map_err(from_mcp)? })
    }

    /// The mcp-client-id.
    #[getter]
    fn client_id(&self) -> &str {
        self.inner.client_id()
    }

    /// The server-name filters in use.
    #[getter]
    fn filters(&self) -> Vec<String> {
        self.inner.filters().to_vec()
    }

    /// Counters of what was dropped.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.inner.stats())
    }

    /// Calls pending, `initialize` included.
    #[getter]
    fn pending(&self) -> usize {
        self.inner.pending()
    }

    /// The server-names with at least one online instance.
    #[getter]
    fn server_names(&self) -> Vec<String> {
        self.inner.server_names().map(str::to_string).collect()
    }

    /// The online instances of `server_name`, in server-id order.
    fn instances(&self, server_name: &str) -> Vec<McpServerOnline> {
        self.inner.instances(server_name).map(instance).collect()
    }

    /// Picks an online instance of `server_name` by the configured choice,
    /// without opening anything; None when none is online.
    fn choose(&mut self, server_name: &str) -> Option<McpServerOnline> {
        self.inner.choose(server_name).map(instance)
    }

    /// True when `session` is initialized.
    fn is_ready(&self, session: u64) -> bool {
        self.inner.is_ready(SessionId(session))
    }

    /// Subscribes to server presence (done by itself on Connected when attached).
    fn start(&mut self, client: &Bound<'_, Client>, now_ms: u64) -> PyResult<()> {
        with_client(client, |c| self.inner.start(c, now(now_ms)))
    }

    /// Opens a session with an online instance of `server_name` (one we have
    /// no session with, picked by the configured choice); returns the
    /// session id. McpInitialized or McpSessionClosed follows. Raises
    /// LocalProtocolError kind "no_server" when no instance is free.
    fn initialize(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        server_name: &str,
    ) -> PyResult<u64> {
        with_client(client, |c| self.inner.initialize(c, now(now_ms), server_name)).map(|s| s.0)
    }

    /// Like `initialize` with a given instance, which need not be known.
    fn initialize_instance(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        server_name: &str,
        server_id: &str,
    ) -> PyResult<u64> {
        with_client(client, |c| {
            self.inner.initialize_instance(c, now(now_ms), server_name, server_id)
        })
        .map(|s| s.0)
    }

    /// Calls `method` with `params` (JSON) in a ready session; returns the
    /// call id (the JSON-RPC `id`), ended by one McpCallDone. `timeout_ms`
    /// None takes the method's timeout.
    #[pyo3(signature = (client, now_ms, session, method, params=None, timeout_ms=None))]
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        session: u64,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<u64>,
    ) -> PyResult<u64> {
        let params = json_arg(params)?;
        let t = timeout_ms.map(Duration::from_millis);
        with_client(client, |c| {
            self.inner.call(c, now(now_ms), SessionId(session), method, params, t)
        })
        .map(|CallId(n)| n)
    }

    /// Sends a notification in a ready session.
    #[pyo3(signature = (client, now_ms, session, method, params=None))]
    fn notify(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        session: u64,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let params = json_arg(params)?;
        with_client(client, |c| {
            self.inner.notify(c, now(now_ms), SessionId(session), method, params)
        })
    }

    /// Answers a server's McpServerRequest: `result` or `error` as for
    /// `McpServer.respond`.
    #[pyo3(signature = (client, now_ms, session, id, result=None, *, error=None))]
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        session: u64,
        id: &Bound<'_, PyAny>,
        result: Option<&Bound<'_, PyAny>>,
        error: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let id = to_json(id)?;
        let out = outcome(result, error)?;
        with_client(client, |c| self.inner.respond(c, now(now_ms), SessionId(session), id, out))
    }

    /// Sends a notification on our capability topic.
    #[pyo3(signature = (client, now_ms, method, params=None))]
    fn notify_capability(
        &mut self,
        client: &Bound<'_, Client>,
        now_ms: u64,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let params = json_arg(params)?;
        with_client(client, |c| self.inner.notify_capability(c, now(now_ms), method, params))
    }

    /// Ends a session while staying connected (its calls end "closed").
    fn close(&mut self, client: &Bound<'_, Client>, now_ms: u64, session: u64) -> PyResult<()> {
        with_client(client, |c| self.inner.close(c, now(now_ms), SessionId(session)))
    }

    /// Says goodbye on our presence topic, then disconnects.
    fn shutdown(&mut self, client: &Bound<'_, Client>, now_ms: u64) -> PyResult<()> {
        with_client(client, |c| self.inner.shutdown(c, now(now_ms)))
    }

    /// Ends calls whose deadline has come (done by `Client.handle_timeout`
    /// when attached).
    fn handle_timeout(&mut self, client: &Bound<'_, Client>, now_ms: u64) -> PyResult<()> {
        with_client(client, |c| {
            self.inner.handle_timeout(c, now(now_ms));
            Ok(())
        })
    }

    /// The earliest call deadline (ms), or None.
    fn poll_timeout(&self) -> Option<u64> {
        self.inner.poll_timeout().map(Instant::as_millis)
    }

    /// The next MCP event, or None: McpServerOnline, McpServerOffline,
    /// McpDiscoveryRefused, McpInitialized, McpCallDone, McpSessionClosed,
    /// McpServerNotification, McpServerRequest.
    fn poll_event(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.inner.poll_event().map(|e| client_event(py, e)).transpose()
    }

    /// Every MCP event waiting, in order.
    fn events<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        while let Some(e) = self.inner.poll_event() {
            out.append(client_event(py, e)?)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!("<McpClient {:?}>", self.inner.client_id())
    }
}

// ----- Binding to a Client --------------------------------------------------

/// Binds `role` to `client` (see `Client.attach_mcp`).
pub(crate) fn attach(py: Python<'_>, client: &mut Client, role: &Bound<'_, PyAny>) -> PyResult<()> {
    if client.inner.state() != State::Closed {
        return Err(errors::local(
            "already_connected",
            None,
            "attach an MCP role before connecting the client",
        ));
    }
    let base = client.inner.options().clone();
    let (role, opts) = if let Ok(s) = role.cast::<McpServer>() {
        let opts = s.try_borrow().map_err(busy)?.inner.options(base);
        (Role::Server(s.clone().unbind()), opts)
    } else if let Ok(c) = role.cast::<McpClient>() {
        let opts = c.try_borrow().map_err(busy)?.inner.options(base);
        (Role::Client(c.clone().unbind()), opts)
    } else {
        return Err(PyTypeError::new_err("attach_mcp takes an McpServer or an McpClient"));
    };
    let _ = py;
    client.inner = CoreClient::new(opts, Instant::from_millis(client.now));
    client.role = Some(role);
    Ok(())
}

/// Passes a client event through the attached role; starts the role on
/// Connected. `Ok(None)` when the role consumed the event.
pub(crate) fn route(py: Python<'_>, client: &mut Client, e: Event) -> PyResult<Option<Event>> {
    let t = Instant::from_millis(client.now);
    let connected = matches!(e, Event::Connected(_));
    let inner = &mut client.inner;
    let (back, started) = match &client.role {
        None => return Ok(Some(e)),
        Some(Role::Server(s)) => {
            let mut s = s.bind(py).try_borrow_mut().map_err(busy)?;
            let back = s.inner.handle_event(inner, t, e);
            let started = if connected { s.inner.start(inner, t) } else { Ok(()) };
            (back, started)
        }
        Some(Role::Client(c)) => {
            let mut c = c.bind(py).try_borrow_mut().map_err(busy)?;
            let back = c.inner.handle_event(inner, t, e);
            let started = if connected { c.inner.start(inner, t) } else { Ok(()) };
            (back, started)
        }
    };
    if let Err(err) = started {
        // Keep the Connected event for the next poll_event; report the failure now.
        client.stash = back;
        return Err(from_mcp(err));
    }
    Ok(back)
}

/// The attached role's timers.
pub(crate) fn role_timeout(py: Python<'_>, client: &mut Client, t: Instant) -> PyResult<()> {
    if let Some(Role::Client(c)) = &client.role {
        let mut c = c.bind(py).try_borrow_mut().map_err(busy)?;
        c.inner.handle_timeout(&mut client.inner, t);
    }
    Ok(())
}

/// The attached role's next deadline.
pub(crate) fn role_poll_timeout(py: Python<'_>, client: &Client) -> PyResult<Option<Instant>> {
    match &client.role {
        Some(Role::Client(c)) => Ok(c.bind(py).try_borrow().map_err(busy)?.inner.poll_timeout()),
        _ => Ok(None),
    }
}

/// Registers the MCP classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<McpServer>()?;
    m.add_class::<McpClient>()?;
    m.add_class::<JsonRpcError>()?;
    m.add_class::<McpOnline>()?;
    m.add_class::<McpStartFailed>()?;
    m.add_class::<McpInitialize>()?;
    m.add_class::<McpClientRequest>()?;
    m.add_class::<McpClientNotification>()?;
    m.add_class::<McpClientResponse>()?;
    m.add_class::<McpClientOffline>()?;
    m.add_class::<McpServerOnline>()?;
    m.add_class::<McpServerOffline>()?;
    m.add_class::<McpDiscoveryRefused>()?;
    m.add_class::<McpInitialized>()?;
    m.add_class::<McpCallDone>()?;
    m.add_class::<McpSessionClosed>()?;
    m.add_class::<McpServerNotification>()?;
    m.add_class::<McpServerRequest>()?;
    Ok(())
}
