//! The events a `Client` reports, as classes that work with `match`.
//!
//! Each class holds the engine's event value; attributes are built when
//! read, so an event costs one Python object until it is looked at.

use crate::convert::{py_bytes, py_codes, py_opt_bytes, py_opt_str, py_str, py_user_properties};
use crate::errors::reason_name;
use crate::packets::{build_publish, Auth};
use crate::props::{py_props, Properties};
use mqtt_engine::client::{self as core, DisconnectCause, DropReason, Event};
use mqtt_engine::codec::{self, ReasonCode};
use mqtt_engine::rpc::{self, End};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::BoundObject;

/// `Name(a=..., b=...)` from the attributes in `__match_args__`.
pub(crate) fn repr_of(slf: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let fields = slf.getattr("__match_args__")?;
    let fields = fields.cast::<PyTuple>()?;
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields.iter() {
        let f: String = f.extract()?;
        let v = slf.getattr(f.as_str())?;
        parts.push(format!("{f}={}", v.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

fn opt_int<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    v: Option<T>,
) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Some(x) => Ok(x.into_pyobject(py).map_err(Into::into)?.into_any().into_bound()),
        None => Ok(py.None().into_bound(py)),
    }
}

/// The connection is open: CONNACK with Success.
///
/// Attributes: `session_present` (the server resumed our session) and
/// `properties` (the CONNACK properties; the negotiated limits are also in
/// `Client.server`).
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    pub(crate) inner: core::Connected,
}

#[pymethods]
impl Connected {
    #[new]
    #[pyo3(signature = (session_present=false, properties=None))]
    fn new(session_present: bool, properties: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(Connected {
            inner: core::Connected {
                session_present,
                properties: crate::props::core_props(properties)?,
            },
        })
    }
    /// Session Present.
    #[getter]
    fn session_present(&self) -> bool {
        self.inner.session_present
    }
    /// The CONNACK properties.
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("session_present", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Connected")
    }
}

fn cause_name(c: DisconnectCause) -> &'static str {
    match c {
        DisconnectCause::Server => "server",
        DisconnectCause::Refused => "refused",
        DisconnectCause::ProtocolViolation => "protocol_violation",
        DisconnectCause::KeepAliveTimeout => "keep_alive_timeout",
        DisconnectCause::ConnectTimeout => "connect_timeout",
        DisconnectCause::ConnectionLost => "connection_lost",
        DisconnectCause::Client => "client",
    }
}

/// The connection is over.
///
/// Attributes: `cause` ("server", "refused", "protocol_violation",
/// "keep_alive_timeout", "connect_timeout", "connection_lost", "client"),
/// `reason_code` and `reason_name` (the server's DISCONNECT or CONNACK code,
/// the code we sent, 0x8D for a keep-alive timeout, 0 for a normal close),
/// `reason_string`, `server_reference` and `user_properties`. Session state
/// is kept for the next `connect` where the session can resume.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnected {
    pub(crate) inner: core::Disconnected,
}

#[pymethods]
impl Disconnected {
    /// Who or what ended the connection.
    #[getter]
    fn cause(&self) -> &'static str {
        cause_name(self.inner.cause)
    }
    /// The MQTT reason code.
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    /// The reason code's name.
    #[getter]
    fn reason_name(&self) -> &'static str {
        reason_name(self.inner.reason_code)
    }
    /// What went wrong, from the server's Reason String or from the engine.
    #[getter]
    fn reason_string<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.reason_string)
    }
    /// Server Reference (5.0), or None.
    #[getter]
    fn server_reference<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.server_reference)
    }
    /// User Properties of the server's DISCONNECT or CONNACK.
    #[getter]
    fn user_properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_user_properties(py, &self.inner.user_properties)
    }
    #[classattr]
    fn __match_args__(
    ) -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        (
            "cause",
            "reason_code",
            "reason_name",
            "reason_string",
            "server_reference",
            "user_properties",
        )
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Disconnected")
    }
}

/// An application message from the server.
///
/// Attributes: `topic` (resolved from any Topic Alias), `payload` (bytes),
/// `qos`, `retain`, `dup`, `packet_id` (None for QoS 0) and `properties`.
/// With `manual_ack=True` a QoS 1 or 2 message waits for
/// `Client.ack(now_ms, packet_id)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub(crate) inner: codec::Publish,
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (topic, payload=None, qos=0, retain=false, dup=false, packet_id=None,
        properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        topic: String,
        payload: Option<&Bound<'_, PyAny>>,
        qos: i64,
        retain: bool,
        dup: bool,
        packet_id: Option<i64>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Message {
            inner: build_publish(topic, payload, qos, retain, dup, packet_id, properties)?,
        })
    }
    /// Topic Name.
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.topic)
    }
    /// Payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_bytes(py, &self.inner.payload)
    }
    /// QoS.
    #[getter]
    fn qos(&self) -> u8 {
        self.inner.qos as u8
    }
    /// RETAIN flag.
    #[getter]
    fn retain(&self) -> bool {
        self.inner.retain
    }
    /// DUP flag.
    #[getter]
    fn dup(&self) -> bool {
        self.inner.dup
    }
    /// Packet Identifier, or None for QoS 0.
    #[getter]
    fn packet_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_int(py, self.inner.packet_id)
    }
    /// PUBLISH properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    #[classattr]
    fn __match_args__() -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        ("topic", "payload", "qos", "retain", "dup", "packet_id", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Message")
    }
}

/// The QoS 1 or 2 flow of a message we published ended (PUBACK, PUBCOMP,
/// or a PUBREC with an error code).
///
/// Attributes: `packet_id` (as `publish` returned), `qos`, `reason_code`
/// (0x10 No matching subscribers is a success), `reason_string`,
/// `user_properties`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub(crate) inner: core::Published,
}

#[pymethods]
impl Published {
    /// The packet identifier.
    #[getter]
    fn packet_id(&self) -> u16 {
        self.inner.packet_id
    }
    /// The QoS it was sent with.
    #[getter]
    fn qos(&self) -> u8 {
        self.inner.qos as u8
    }
    /// The acknowledgement's reason code.
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    /// Reason String of the acknowledgement.
    #[getter]
    fn reason_string<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.reason_string)
    }
    /// User Properties of the acknowledgement.
    #[getter]
    fn user_properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_user_properties(py, &self.inner.user_properties)
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("packet_id", "qos", "reason_code", "reason_string", "user_properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Published")
    }
}

/// A message we accepted will never be delivered by this session.
///
/// Attributes: `packet_id` (None for QoS 0), `topic`, `reason`
/// ("session_lost": the server did not resume the session; "not_allowed":
/// the server's limits learnt at CONNACK refuse a queued message) and
/// `reason_code`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishDropped {
    pub(crate) inner: core::PublishDropped,
}

#[pymethods]
impl PublishDropped {
    /// The packet identifier, or None.
    #[getter]
    fn packet_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_int(py, self.inner.packet_id)
    }
    /// The message's topic.
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.topic)
    }
    /// "session_lost" or "not_allowed".
    #[getter]
    fn reason(&self) -> &'static str {
        match self.inner.reason {
            DropReason::SessionLost => "session_lost",
            DropReason::NotAllowed => "not_allowed",
        }
    }
    /// The closest MQTT reason code.
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("packet_id", "topic", "reason", "reason_code")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "PublishDropped")
    }
}

macro_rules! acked_class {
    ($name:ident, $label:literal, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "mqtt_engine", frozen, eq)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            pub(crate) inner: core::Acked,
        }

        #[pymethods]
        impl $name {
            /// The packet identifier the command returned.
            #[getter]
            fn packet_id(&self) -> u16 {
                self.inner.packet_id
            }
            /// One code per filter, in request order.
            #[getter]
            fn reason_codes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
                py_codes(py, &self.inner.reason_codes)
            }
            /// The ack's properties (Reason String, User Properties).
            #[getter]
            fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
                py_props(py, &self.inner.properties)
            }
            #[classattr]
            fn __match_args__() -> (&'static str, &'static str, &'static str) {
                ("packet_id", "reason_codes", "properties")
            }
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_of(slf.as_any(), $label)
            }
        }
    };
}

acked_class!(
    Subscribed,
    "Subscribed",
    "SUBACK: one reason code per requested filter (the granted QoS, or an error \
     0x80 and above).\n\nAttributes: `packet_id`, `reason_codes`, `properties`."
);
acked_class!(
    Unsubscribed,
    "Unsubscribed",
    "UNSUBACK: one reason code per filter (all 0 in 3.1.1).\n\n\
     Attributes: `packet_id`, `reason_codes`, `properties`."
);

/// A request arrived on a filter we serve (`Client.serve`, or
/// `Client.serve_device` for JSON-RPC): answer it with
/// `Client.respond(now_ms, request_id, ...)`.
///
/// Attributes: `request_id`, `topic`, `payload`, `correlation_data`,
/// `response_topic`, `deadline_ms` (when the requester stops waiting, on
/// the client's clock, or None) and `properties`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub(crate) inner: rpc::IncomingRequest,
}

#[pymethods]
impl Request {
    /// Pass it to `Client.respond`.
    #[getter]
    fn request_id(&self) -> u64 {
        self.inner.id.0
    }
    /// The topic the request was published to.
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.publish.topic)
    }
    /// The request payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_bytes(py, &self.inner.publish.payload)
    }
    /// Its Correlation Data, or None.
    #[getter]
    fn correlation_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_bytes(py, &self.inner.publish.properties.correlation_data)
    }
    /// Its Response Topic, or None (JSON-RPC device requests have none).
    #[getter]
    fn response_topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.publish.properties.response_topic)
    }
    /// When the requester stops waiting (ms, the client's clock), or None.
    #[getter]
    fn deadline_ms<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_int(py, self.inner.deadline.map(|d| d.as_millis()))
    }
    /// The request's PUBLISH properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.publish.properties)
    }
    #[classattr]
    fn __match_args__() -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        (
            "request_id",
            "topic",
            "payload",
            "correlation_data",
            "response_topic",
            "deadline_ms",
            "properties",
        )
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Request")
    }
}

/// An answer to one of our requests (`Client.request` or `call_device`).
///
/// Attributes: `request_id`, `payload`, `status` (the `rpc-status`, 200 for
/// success, or None), `message` (the `rpc-message`, or None), `more` (True
/// on every part of a stream but the last), `topic` and `properties`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub(crate) inner: rpc::ResponseEvent,
}

#[pymethods]
impl Response {
    /// The request it answers.
    #[getter]
    fn request_id(&self) -> u64 {
        self.inner.request.0
    }
    /// The answer's payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_bytes(py, &self.inner.publish.payload)
    }
    /// Its `rpc-status`, or None.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_int(py, self.inner.status)
    }
    /// Its `rpc-message`, or None.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.message)
    }
    /// More parts of a stream follow.
    #[getter]
    fn more(&self) -> bool {
        self.inner
            .publish
            .properties
            .user_properties
            .iter()
            .any(|(k, v)| k.as_str() == rpc::STREAM && v.as_str() == rpc::STREAM_MORE)
    }
    /// The topic it arrived on.
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.publish.topic)
    }
    /// Its PUBLISH properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.publish.properties)
    }
    #[classattr]
    fn __match_args__() -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        ("request_id", "payload", "status", "message", "more", "topic", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Response")
    }
}

/// One of our requests ended: exactly one per request, after its answers.
///
/// Attributes: `request_id`; `end`, one of "completed", "timeout",
/// "cancelled", "no_responders", "refused", "subscription_refused",
/// "session_lost"; `reason_code` (the broker's code for "refused" and
/// "subscription_refused", else None); `responses` (answers received).
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestDone {
    pub(crate) inner: rpc::RequestDone,
}

#[pymethods]
impl RequestDone {
    /// The request.
    #[getter]
    fn request_id(&self) -> u64 {
        self.inner.request.0
    }
    /// How it ended.
    #[getter]
    fn end(&self) -> &'static str {
        match self.inner.end {
            End::Completed => "completed",
            End::Timeout => "timeout",
            End::Cancelled => "cancelled",
            End::NoResponders => "no_responders",
            End::Refused(_) => "refused",
            End::SubscriptionRefused(_) => "subscription_refused",
            End::SessionLost => "session_lost",
        }
    }
    /// The broker's reason code for a refusal, else None.
    #[getter]
    fn reason_code<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c: Option<ReasonCode> = match self.inner.end {
            End::Refused(c) | End::SubscriptionRefused(c) => Some(c),
            _ => None,
        };
        opt_int(py, c.map(|c| c.0))
    }
    /// How many answers it got.
    #[getter]
    fn responses(&self) -> usize {
        self.inner.responses
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("request_id", "end", "reason_code", "responses")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "RequestDone")
    }
}

/// The Python object for a client event.
pub(crate) fn event_to_py(py: Python<'_>, e: Event) -> PyResult<Py<PyAny>> {
    Ok(match e {
        Event::Connected(inner) => Py::new(py, Connected { inner })?.into_any(),
        Event::Disconnected(inner) => Py::new(py, Disconnected { inner })?.into_any(),
        Event::Message(inner) => Py::new(py, Message { inner })?.into_any(),
        Event::Published(inner) => Py::new(py, Published { inner })?.into_any(),
        Event::PublishDropped(inner) => Py::new(py, PublishDropped { inner })?.into_any(),
        Event::Subscribed(inner) => Py::new(py, Subscribed { inner })?.into_any(),
        Event::Unsubscribed(inner) => Py::new(py, Unsubscribed { inner })?.into_any(),
        Event::Auth(a) => Py::new(
            py,
            Auth { inner: codec::Auth { reason_code: a.reason_code, properties: a.properties } },
        )?
        .into_any(),
        Event::Request(inner) => Py::new(py, Request { inner })?.into_any(),
        Event::Response(inner) => Py::new(py, Response { inner })?.into_any(),
        Event::RequestDone(inner) => Py::new(py, RequestDone { inner })?.into_any(),
    })
}

/// Registers the event classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Connected>()?;
    m.add_class::<Disconnected>()?;
    m.add_class::<Message>()?;
    m.add_class::<Published>()?;
    m.add_class::<PublishDropped>()?;
    m.add_class::<Subscribed>()?;
    m.add_class::<Unsubscribed>()?;
    m.add_class::<Request>()?;
    m.add_class::<Response>()?;
    m.add_class::<RequestDone>()?;
    Ok(())
}
