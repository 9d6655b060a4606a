//! The sans-IO `Client`.

use crate::convert::{self, to_json};
use crate::errors;
use crate::events::event_to_py;
use crate::mcp::{self, Role};
use crate::packets::{protocol, retain_handling, subscription};
use crate::props::{core_props, core_will};
use bytes::Bytes;
use mqtt_engine::client::{self as core, Options, State};
use mqtt_engine::codec::{Auth, ByteStr, Disconnect, Publish, ReasonCode, Subscribe, Unsubscribe};
use mqtt_engine::rpc::{Collect, Request, RequestId, Response};
use mqtt_engine::time::Instant;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::time::Duration;

/// A seed from the operating system's randomness (`os.urandom`).
pub(crate) fn os_seed(py: Python<'_>) -> PyResult<u64> {
    let b = py.import("os")?.getattr("urandom")?.call1((8,))?;
    let b = b.cast::<PyBytes>()?.as_bytes();
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    Ok(u64::from_le_bytes(a))
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Client options from keyword arguments (see the `Client` docstring).
pub(crate) fn parse_options(py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut o = Options::default();
    let mut seed = None;
    let Some(kw) = kw else {
        o.rpc.seed = os_seed(py)?;
        return Ok(o);
    };
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        let bad = |what: &str| PyTypeError::new_err(format!("option {key}: expected {what}"));
        macro_rules! get {
            ($t:ty, $what:literal) => {
                v.extract::<$t>().map_err(|_| bad($what))?
            };
        }
        match key.as_str() {
            "client_id" => o.client_id = get!(String, "str").into(),
            "version" => o.protocol = protocol(get!(i64, "int"))?,
            "clean_start" => o.clean_start = get!(bool, "bool"),
            "keep_alive" => o.keep_alive = get!(u16, "an int from 0 to 65535"),
            "session_expiry_interval" => o.session_expiry_interval = get!(u32, "an int (seconds)"),
            "receive_maximum" => {
                o.receive_maximum = get!(u16, "an int from 1 to 65535");
                if o.receive_maximum == 0 {
                    return Err(errors::invalid(
                        ReasonCode::PROTOCOL_ERROR,
                        "receive_maximum must not be 0: 1 to 65535",
                    ));
                }
            }
            "maximum_packet_size" => {
                o.maximum_packet_size = get!(u32, "an int (bytes)");
                if o.maximum_packet_size == 0 {
                    return Err(errors::invalid(
                        ReasonCode::PROTOCOL_ERROR,
                        "maximum_packet_size must not be 0",
                    ));
                }
            }
            "topic_alias_maximum" => o.topic_alias_maximum = get!(u16, "an int from 0 to 65535"),
            "request_response_information" => o.request_response_information = get!(bool, "bool"),
            "request_problem_information" => o.request_problem_information = get!(bool, "bool"),
            "user_properties" => o.user_properties = convert::user_properties(&v)?,
            "will" => o.will = core_will(Some(&v))?,
            "username" => o.username = get!(Option<String>, "str or None").map(ByteStr::from),
            "password" => o.password = convert::opt_bytes(Some(&v))?,
            "authentication_method" => {
                o.authentication_method = get!(Option<String>, "str or None").map(ByteStr::from)
            }
            "authentication_data" => o.authentication_data = convert::opt_bytes(Some(&v))?,
            "connect_timeout_ms" => o.connect_timeout = ms(get!(u64, "an int (ms)")),
            "pingresp_timeout_ms" => {
                o.pingresp_timeout = get!(Option<u64>, "an int (ms) or None").map(ms)
            }
            "outbound_topic_aliases" => o.outbound_topic_aliases = get!(bool, "bool"),
            "max_inflight" => o.max_inflight = get!(u16, "an int from 1 to 65535"),
            "max_queued" => o.max_queued = get!(usize, "an int"),
            "offline_queue" => o.offline_queue = get!(bool, "bool"),
            "manual_ack" => o.manual_ack = get!(bool, "bool"),
            "max_events" => o.max_events = get!(usize, "an int"),
            "max_transmit_bytes" => o.max_transmit_bytes = get!(usize, "an int"),
            "response_prefix" => o.rpc.response_prefix = get!(String, "str").into(),
            "seed" => seed = get!(Option<u64>, "an int or None"),
            "max_pending" => o.rpc.max_pending = get!(usize, "an int"),
            "max_cached" => o.rpc.max_cached = get!(usize, "an int"),
            "cache_ttl_ms" => o.rpc.cache_ttl = ms(get!(u64, "an int (ms)")),
            "rpc_qos" => o.rpc.qos = convert::qos(get!(i64, "0, 1 or 2"))?,
            _ => {
                return Err(PyTypeError::new_err(format!("unknown Client option {key:?}")));
            }
        }
    }
    o.rpc.seed = match seed {
        Some(s) => s,
        None => os_seed(py)?,
    };
    Ok(o)
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Closed => "closed",
        State::Connecting => "connecting",
        State::Connected => "connected",
    }
}

/// An MQTT 3.1.1 / 5.0 client session, sans-IO: bytes and time in; bytes to
/// send, events and the next deadline out. It opens no socket and reads no
/// clock: every input and command takes `now_ms`, a monotonic millisecond
/// count from any origin (time that goes backwards counts as none passing).
///
/// `Client(now_ms, **options)`, options (defaults in brackets):
/// client_id [""], version [5; or 4 for 3.1.1], clean_start [True],
/// keep_alive [60 s], session_expiry_interval [0 s], receive_maximum [65535],
/// maximum_packet_size [1048576], topic_alias_maximum [16],
/// request_response_information [False], request_problem_information [True],
/// user_properties [None], will [None], username [None], password [None],
/// authentication_method [None], authentication_data [None],
/// connect_timeout_ms [30000], pingresp_timeout_ms [None: the keep-alive],
/// outbound_topic_aliases [True], max_inflight [65535], max_queued [1024],
/// offline_queue [False], manual_ack [False], max_events [1024],
/// max_transmit_bytes [1048576], response_prefix ["replies"], seed [None:
/// from os.urandom], max_pending [1024], max_cached [16384],
/// cache_ttl_ms [60000], rpc_qos [1].
///
/// The method groups:
///
/// 1. getters: `state`, `is_connected`, `client_id`, `version`, `server`,
///    `inflight`, `queued`, `stats`, `rpc_stats`, `response_topic`;
/// 2. inputs: `handle_bytes`, `handle_timeout`, `handle_closed`;
/// 3. commands: `connect`, `publish`, `subscribe`, `unsubscribe`, `ack`,
///    `disconnect`, `auth`, `request`, `cancel`, `serve`, `respond`,
///    `call_device`, `serve_device`, `snapshot` / `restore`, `attach_mcp`;
/// 4. outputs, drained after every input or command: `poll_transmit`
///    (or `transmit_all`), `poll_event` (or `events`), `poll_timeout`.
///
/// A command that raises LocalProtocolError changed nothing. An input that
/// raises RemoteProtocolError closed the connection: the DISCONNECT is in
/// `poll_transmit` and a Disconnected event in `poll_event`.
#[pyclass(module = "mqtt_engine")]
pub struct Client {
    pub(crate) inner: core::Client,
    /// The latest `now_ms` given, for the attached MCP role.
    pub(crate) now: u64,
    pub(crate) role: Option<Role>,
    /// An event to give before the engine's next one (the Connected whose
    /// role start failed and was reported first).
    pub(crate) stash: Option<core::Event>,
}

impl Client {
    fn at(&mut self, now_ms: u64) -> Instant {
        self.now = self.now.max(now_ms);
        Instant::from_millis(now_ms)
    }

    fn payload_of(payload: Option<&Bound<'_, PyAny>>) -> PyResult<Bytes> {
        match payload {
            Some(p) => convert::to_bytes(p, true),
            None => Ok(Bytes::new()),
        }
    }

    fn filters_of<'py>(filters: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        if filters.is_instance_of::<PyString>() {
            return Ok(vec![filters.clone()]);
        }
        if filters.is_instance_of::<PyList>() || filters.is_instance_of::<pyo3::types::PyTuple>() {
            // A bare (filter, qos) tuple is one subscription.
            if let Ok((_, _)) = filters.extract::<(String, i64)>() {
                return Ok(vec![filters.clone()]);
            }
        }
        let mut v = Vec::new();
        for f in filters.try_iter()? {
            v.push(f?);
        }
        Ok(v)
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (now_ms, **options))]
    fn new(py: Python<'_>, now_ms: u64, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let o = parse_options(py, options)?;
        Ok(Client {
            inner: core::Client::new(o, Instant::from_millis(now_ms)),
            now: now_ms,
            role: None,
            stash: None,
        })
    }

    /// A closed client holding the session of a `snapshot()`; its first
    /// `connect` asks to resume it. `options` as for the constructor; the
    /// version must be the snapshot's. Raises LocalProtocolError (kind
    /// "snapshot") for data that is not a snapshot.
    #[staticmethod]
    #[pyo3(signature = (now_ms, data, **options))]
    fn restore(
        py: Python<'_>,
        now_ms: u64,
        data: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Client> {
        let o = parse_options(py, options)?;
        let inner = convert::with_bytes(data, false, |b| {
            core::Client::restore(o, Instant::from_millis(now_ms), b)
        })?
        .map_err(errors::from_local)?;
        Ok(Client { inner, now: now_ms, role: None, stash: None })
    }

    /// The session (messages in flight, inbound QoS 2 state, the client
    /// identifier) as bytes, for `Client.restore` after a restart.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.snapshot())
    }

    // ----- 1. Getters ------------------------------------------------------

    /// "closed", "connecting" or "connected".
    #[getter]
    fn state(&self) -> &'static str {
        state_name(self.inner.state())
    }

    /// True between a successful CONNACK and the end of the connection.
    #[getter]
    fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// The client identifier: configured, or assigned by the server.
    #[getter]
    fn client_id(&self) -> String {
        self.inner.client_id().as_str().to_string()
    }

    /// The protocol version: 5 or 4.
    #[getter]
    fn version(&self) -> u8 {
        self.inner.protocol().level()
    }

    /// What the server allows, as negotiated by the last CONNACK:
    /// maximum_qos, retain_available, maximum_packet_size (None for no
    /// limit), topic_alias_maximum, receive_maximum, keep_alive,
    /// session_expiry_interval, wildcard_subscription_available,
    /// subscription_identifiers_available, shared_subscription_available,
    /// assigned_client_identifier, response_information, server_reference.
    #[getter]
    fn server<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.server();
        let d = PyDict::new(py);
        d.set_item("maximum_qos", s.maximum_qos as u8)?;
        d.set_item("retain_available", s.retain_available)?;
        d.set_item("maximum_packet_size", s.maximum_packet_size)?;
        d.set_item("topic_alias_maximum", s.topic_alias_maximum)?;
        d.set_item("receive_maximum", s.receive_maximum)?;
        d.set_item("keep_alive", s.keep_alive)?;
        d.set_item("session_expiry_interval", s.session_expiry_interval)?;
        d.set_item("wildcard_subscription_available", s.wildcard_subscription_available)?;
        d.set_item("subscription_identifiers_available", s.subscription_identifiers_available)?;
        d.set_item("shared_subscription_available", s.shared_subscription_available)?;
        d.set_item(
            "assigned_client_identifier",
            convert::py_opt_str(py, &s.assigned_client_identifier),
        )?;
        d.set_item("response_information", convert::py_opt_str(py, &s.response_information))?;
        d.set_item("server_reference", convert::py_opt_str(py, &s.server_reference))?;
        Ok(d)
    }

    /// Outbound QoS 1 and 2 messages sent and not completely acknowledged.
    #[getter]
    fn inflight(&self) -> usize {
        self.inner.inflight()
    }

    /// Messages and (un)subscriptions accepted and not yet sent.
    #[getter]
    fn queued(&self) -> usize {
        self.inner.queued()
    }

    /// Inbound QoS 1 and 2 flows not finished (acks not yet written).
    #[getter]
    fn inbound_pending(&self) -> usize {
        self.inner.inbound_pending()
    }

    /// Counters: unknown_acks, duplicate_qos2, messages_received, publishes_sent.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("unknown_acks", s.unknown_acks)?;
        d.set_item("duplicate_qos2", s.duplicate_qos2)?;
        d.set_item("messages_received", s.messages_received)?;
        d.set_item("publishes_sent", s.publishes_sent)?;
        Ok(d)
    }

    /// Request/response counters (late_responses, unknown_responses,
    /// duplicates_in_progress, answered_from_cache, expired_requests, busy)
    /// and load (pending, serving, cached).
    #[getter]
    fn rpc_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.rpc_stats();
        let l = self.inner.rpc_load();
        let d = PyDict::new(py);
        d.set_item("late_responses", s.late_responses)?;
        d.set_item("unknown_responses", s.unknown_responses)?;
        d.set_item("duplicates_in_progress", s.duplicates_in_progress)?;
        d.set_item("answered_from_cache", s.answered_from_cache)?;
        d.set_item("expired_requests", s.expired_requests)?;
        d.set_item("busy", s.busy)?;
        d.set_item("pending", l.pending)?;
        d.set_item("serving", l.serving)?;
        d.set_item("cached", l.cached)?;
        Ok(d)
    }

    /// Our response topic: `{Response Information}/replies` when the server
    /// gave Response Information, else `{response_prefix}/{client id}`.
    #[getter]
    fn response_topic(&self) -> String {
        self.inner.response_topic().as_str().to_string()
    }

    // ----- 2. Inputs -------------------------------------------------------

    /// Feeds bytes read from the connection: part of a packet, many packets,
    /// or both; every complete packet is processed before this returns.
    ///
    /// Raises RemoteProtocolError (DecodeError for malformed bytes) when the
    /// server broke the protocol (the client is then closed, with a
    /// DISCONNECT to send and a Disconnected event), and LocalProtocolError
    /// (kind "queue_full", nothing consumed) when `max_events` events wait
    /// to be drained. Bytes that arrive while closed are ignored.
    fn handle_bytes(&mut self, now_ms: u64, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let now = self.at(now_ms);
        let inner = &mut self.inner;
        convert::with_bytes(data, false, |b| inner.handle_bytes(now, b))?
            .map_err(errors::from_client)
    }

    /// Tells the client `now_ms` has come: keep-alive PINGREQ, PINGRESP and
    /// CONNACK timeouts, request deadlines (and an attached MCP client's
    /// call deadlines).
    fn handle_timeout(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<()> {
        let now = self.at(now_ms);
        self.inner.handle_timeout(now);
        mcp::role_timeout(py, self, now)
    }

    /// Tells the client the connection closed (Disconnected follows unless
    /// already closed).
    fn handle_closed(&mut self, now_ms: u64) {
        let now = self.at(now_ms);
        self.inner.handle_closed(now);
    }

    // ----- 3. Commands -----------------------------------------------------

    /// Queues CONNECT, built from the options, for a transport just opened.
    /// Raises LocalProtocolError (kind "already_connected") unless closed.
    fn connect(&mut self, now_ms: u64) -> PyResult<()> {
        let now = self.at(now_ms);
        self.inner.connect(now).map_err(errors::from_local)
    }

    /// Publishes a message; returns its packet identifier for QoS 1 and 2
    /// (reported again by Published when the flow ends), None for QoS 0.
    ///
    /// `payload` is bytes or str (UTF-8). While connected the message must
    /// respect the server's Maximum QoS (else 0x9B), Retain Available (0x9A)
    /// and Maximum Packet Size (0x95); a bad topic raises 0x90. Without a
    /// connection it raises kind "not_connected" unless `offline_queue`.
    #[pyo3(signature = (now_ms, topic, payload=None, qos=0, retain=false, *, properties=None))]
    fn publish(
        &mut self,
        now_ms: u64,
        topic: &Bound<'_, PyString>,
        payload: Option<&Bound<'_, PyAny>>,
        qos: i64,
        retain: bool,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<u16>> {
        let now = self.at(now_ms);
        let mut msg = Publish::new(topic.to_cow()?.to_string(), Self::payload_of(payload)?);
        msg.qos = convert::qos(qos)?;
        msg.retain = retain;
        if properties.is_some() {
            msg.properties = core_props(properties)?;
        }
        self.inner.publish(now, msg).map_err(errors::from_local)
    }

    /// Subscribes; returns the SUBSCRIBE's packet identifier (Subscribed
    /// follows with one reason code per filter).
    ///
    /// `filters` is a filter str, or a list of filter strs, `(filter, qos)`
    /// tuples and Subscription objects; `qos` and the options apply to the
    /// plain strs. Filters are checked [MQTT-4.7.1-1] [MQTT-4.7.1-2]; No
    /// Local on a shared subscription is refused [MQTT-3.8.3-4].
    #[pyo3(signature = (now_ms, filters, qos=1, *, no_local=false, retain_as_published=false,
        retain_handling=0, properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn subscribe(
        &mut self,
        now_ms: u64,
        filters: &Bound<'_, PyAny>,
        qos: i64,
        no_local: bool,
        retain_as_published: bool,
        retain_handling: i64,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u16> {
        let now = self.at(now_ms);
        let q = convert::qos(qos)?;
        let rh = self::retain_handling(retain_handling)?;
        let mut subs = Vec::new();
        for f in Self::filters_of(filters)? {
            let plain = f.is_instance_of::<PyString>();
            let mut s = subscription(&f, q)?;
            if plain {
                s.no_local = no_local;
                s.retain_as_published = retain_as_published;
                s.retain_handling = rh;
            }
            subs.push(s);
        }
        let mut sub = Subscribe::new(subs);
        sub.properties = core_props(properties)?;
        self.inner.subscribe(now, sub).map_err(errors::from_local)
    }

    /// Unsubscribes from a filter str or a list of them; returns the
    /// UNSUBSCRIBE's packet identifier (Unsubscribed follows).
    #[pyo3(signature = (now_ms, filters, *, properties=None))]
    fn unsubscribe(
        &mut self,
        now_ms: u64,
        filters: &Bound<'_, PyAny>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u16> {
        let now = self.at(now_ms);
        let list: Vec<String> = if let Ok(s) = filters.cast::<PyString>() {
            vec![s.to_cow()?.to_string()]
        } else {
            filters
                .extract()
                .map_err(|_| PyTypeError::new_err("filters: a str or a list of str"))?
        };
        let mut u = Unsubscribe::new(list.into_iter().map(ByteStr::from).collect());
        u.properties = core_props(properties)?;
        self.inner.unsubscribe(now, u).map_err(errors::from_local)
    }

    /// With `manual_ack=True`, acknowledges the inbound QoS 1 or 2 message
    /// `packet_id`, with a reason code in 5.0 (0x80 and above refuse it).
    /// Acks go out in arrival order [MQTT-4.6.0-2].
    #[pyo3(signature = (now_ms, packet_id, reason_code=0))]
    fn ack(&mut self, now_ms: u64, packet_id: u16, reason_code: i64) -> PyResult<()> {
        let now = self.at(now_ms);
        let rc = convert::reason_code(reason_code)?;
        self.inner.ack_with(now, packet_id, rc).map_err(errors::from_local)
    }

    /// Sends DISCONNECT and closes: Disconnected (cause "client") follows.
    /// 0x04 asks the server to publish the Will; a new Session Expiry
    /// Interval may not turn 0 into non-zero.
    #[pyo3(signature = (now_ms, reason_code=0, *, session_expiry_interval=None,
        reason_string=None, properties=None))]
    fn disconnect(
        &mut self,
        now_ms: u64,
        reason_code: i64,
        session_expiry_interval: Option<u32>,
        reason_string: Option<String>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let now = self.at(now_ms);
        let mut d = Disconnect::new(convert::reason_code(reason_code)?);
        d.properties = core_props(properties)?;
        if session_expiry_interval.is_some() {
            d.properties.session_expiry_interval = session_expiry_interval;
        }
        if let Some(r) = reason_string {
            d.properties.reason_string = Some(r.into());
        }
        self.inner.disconnect(now, d).map_err(errors::from_local)
    }

    /// Sends AUTH (5.0 enhanced authentication): 0x18 answers a challenge
    /// (an Auth event), 0x19 starts a re-authentication while connected.
    /// `method` defaults to the options' authentication_method.
    #[pyo3(signature = (now_ms, reason_code=0x18, *, method=None, data=None, properties=None))]
    fn auth(
        &mut self,
        now_ms: u64,
        reason_code: i64,
        method: Option<String>,
        data: Option<&Bound<'_, PyAny>>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let now = self.at(now_ms);
        let mut properties = core_props(properties)?;
        if let Some(m) = method {
            properties.authentication_method = Some(m.into());
        }
        if let Some(d) = convert::opt_bytes(data)? {
            properties.authentication_data = Some(d);
        }
        let a = Auth { reason_code: convert::reason_code(reason_code)?, properties };
        self.inner.auth(now, a).map_err(errors::from_local)
    }

    /// Sends a request (MQTT 5.0) and returns its id. Answers arrive as
    /// Response events; it ends exactly once with RequestDone.
    ///
    /// `collect`: "one" (one answer), "stream" (answers until one without
    /// `more`) or "many" (a broadcast query: until `max_responses`, until
    /// `quiet_ms` passes without an answer, or until the timeout).
    #[pyo3(signature = (now_ms, topic, payload=None, timeout_ms=10_000, *, collect="one",
        max_responses=None, quiet_ms=None, correlation_data=None, properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        now_ms: u64,
        topic: String,
        payload: Option<&Bound<'_, PyAny>>,
        timeout_ms: u64,
        collect: &str,
        max_responses: Option<usize>,
        quiet_ms: Option<u64>,
        correlation_data: Option<&Bound<'_, PyAny>>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let now = self.at(now_ms);
        let mut r = Request::new(topic, Self::payload_of(payload)?, ms(timeout_ms));
        r.collect = match collect {
            "one" => Collect::One,
            "stream" => Collect::Stream,
            "many" => Collect::Many { max: max_responses, quiet: quiet_ms.map(ms) },
            _ => return Err(PyValueError::new_err("collect is \"one\", \"stream\" or \"many\"")),
        };
        if collect != "many" && (max_responses.is_some() || quiet_ms.is_some()) {
            return Err(PyValueError::new_err(
                "max_responses and quiet_ms apply to collect=\"many\" only",
            ));
        }
        r.correlation_data = convert::opt_bytes(correlation_data)?;
        r.properties = core_props(properties)?;
        self.inner.request(now, r).map(|id| id.0).map_err(errors::from_local)
    }

    /// Ends a pending request: RequestDone with end "cancelled" follows.
    /// Raises LocalProtocolError (kind "unknown_request") when none is pending.
    fn cancel(&mut self, now_ms: u64, request_id: u64) -> PyResult<()> {
        let now = self.at(now_ms);
        self.inner.cancel(now, RequestId(request_id)).map_err(errors::from_local)
    }

    /// Serves requests on `filter` (MQTT 5.0): subscribes (to
    /// `$share/{group}/{filter}` with a group) and reports each request as
    /// a Request event. Returns the SUBSCRIBE's packet identifier. The
    /// subscription's QoS is the `rpc_qos` option; `qos`, if given, must
    /// equal it.
    #[pyo3(signature = (now_ms, filter, *, group=None, qos=None))]
    fn serve(
        &mut self,
        now_ms: u64,
        filter: &str,
        group: Option<&str>,
        qos: Option<i64>,
    ) -> PyResult<u16> {
        if let Some(q) = qos {
            if convert::qos(q)? != self.inner.options().rpc.qos {
                return Err(errors::local(
                    "not_supported",
                    Some(ReasonCode::QOS_NOT_SUPPORTED),
                    "serve subscribes with the client's rpc_qos option; create the client with rpc_qos",
                ));
            }
        }
        let now = self.at(now_ms);
        self.inner.serve(now, filter, group).map_err(errors::from_local)
    }

    /// Stops serving `filter` (with the same `group` as `serve`):
    /// unsubscribes, and a message that still arrives on it is no longer a
    /// request. Returns the UNSUBSCRIBE's packet identifier; a filter not
    /// served raises LocalProtocolError with 0x11 No subscription existed.
    #[pyo3(signature = (now_ms, filter, *, group=None))]
    fn unserve(&mut self, now_ms: u64, filter: &str, group: Option<&str>) -> PyResult<u16> {
        let now = self.at(now_ms);
        self.inner.unserve(now, filter, group).map_err(errors::from_local)
    }

    /// Answers a Request event: `status` 200 for success or an error status
    /// with `message`; `more=True` on every part of a stream but the last.
    /// A request whose deadline has passed gets no answer.
    #[pyo3(signature = (now_ms, request_id, payload=None, *, status=200, message=None,
        more=false, properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &mut self,
        now_ms: u64,
        request_id: u64,
        payload: Option<&Bound<'_, PyAny>>,
        status: u16,
        message: Option<String>,
        more: bool,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let now = self.at(now_ms);
        let mut r = Response::ok(Self::payload_of(payload)?);
        r.status = status;
        r.message = message.map(ByteStr::from);
        r.more = more;
        r.properties = core_props(properties)?;
        self.inner.respond(now, RequestId(request_id), r).map_err(errors::from_local)
    }

    /// Calls `method` on a device with JSON-RPC 2.0 over
    /// `devices/{device}/rx` and `/tx` (works with MQTT 3.1.1 too); `params`
    /// is any JSON value (None: no params). Returns the request id; the
    /// answer is a Response (payload: the JSON-RPC answer as received; an
    /// error answer has status 500 and its message) then RequestDone.
    #[pyo3(signature = (now_ms, device, method, params=None, timeout_ms=10_000))]
    fn call_device(
        &mut self,
        now_ms: u64,
        device: &str,
        method: &str,
        params: Option<&Bound<'_, PyAny>>,
        timeout_ms: u64,
    ) -> PyResult<u64> {
        let now = self.at(now_ms);
        let text = match params {
            Some(p) if !p.is_none() => Some(to_json(p)?.to_string()),
            _ => None,
        };
        self.inner
            .call_device(now, device, method, text.as_deref(), ms(timeout_ms))
            .map(|id| id.0)
            .map_err(errors::from_local)
    }

    /// Serves JSON-RPC requests as `device` (subscribes to
    /// `devices/{device}/rx`); each request is a Request event whose payload
    /// is the JSON-RPC request, answered with `respond` (payload: the JSON
    /// result). Returns the SUBSCRIBE's packet identifier.
    fn serve_device(&mut self, now_ms: u64, device: &str) -> PyResult<u16> {
        let now = self.at(now_ms);
        self.inner.serve_device(now, device).map_err(errors::from_local)
    }

    /// Binds an MCP role (McpServer or McpClient) to this client, which
    /// must be closed. The client is rebuilt with the options the role
    /// needs (MQTT 5.0, the role's id as client identifier, its will and
    /// User Properties), keeping the others. From then on the client routes
    /// its events through the role: MCP traffic is consumed (the role's own
    /// events come out of `role.poll_event()`), everything else comes out of
    /// `poll_event` as usual; the role starts by itself on Connected, and
    /// `handle_timeout` / `poll_timeout` include its deadlines.
    fn attach_mcp(&mut self, py: Python<'_>, role: &Bound<'_, PyAny>) -> PyResult<()> {
        mcp::attach(py, self, role)
    }

    /// The attached MCP role, or None.
    #[getter]
    fn mcp(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.role.as_ref().map(|r| r.object(py))
    }

    // ----- 4. Outputs ------------------------------------------------------

    /// All bytes to write to the connection, or None.
    fn poll_transmit<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.poll_transmit().map(|b| PyBytes::new(py, &b))
    }

    /// All bytes to write to the connection (b"" when none).
    fn transmit_all<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match self.inner.poll_transmit() {
            Some(b) => PyBytes::new(py, &b),
            None => PyBytes::new(py, b""),
        }
    }

    /// The next event, or None: Connected, Disconnected, Message, Published,
    /// PublishDropped, Subscribed, Unsubscribed, Auth, Request, Response or
    /// RequestDone.
    fn poll_event(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if let Some(e) = self.stash.take() {
            return event_to_py(py, e).map(Some);
        }
        loop {
            let Some(e) = self.inner.poll_event() else { return Ok(None) };
            let e = if self.role.is_some() {
                match mcp::route(py, self, e)? {
                    Some(e) => e,
                    None => continue,
                }
            } else {
                e
            };
            return event_to_py(py, e).map(Some);
        }
    }

    /// Every event waiting, in order (an empty list when none).
    fn events<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        while let Some(e) = self.poll_event(py)? {
            out.append(e)?;
        }
        Ok(out)
    }

    /// When `handle_timeout` should next be called (ms, the same clock as
    /// `now_ms`), or None when no timer runs.
    fn poll_timeout(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        let own = self.inner.poll_timeout();
        let role = mcp::role_poll_timeout(py, self)?;
        Ok(match (own, role) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(Instant::as_millis))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Client {:?} v{} {}>",
            self.inner.client_id().as_str(),
            self.inner.protocol().level(),
            state_name(self.inner.state())
        )
    }
}
