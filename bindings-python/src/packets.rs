//! The codec: the fifteen packet classes, `decode`, `encode`, `Decoder` and
//! `packet_from_dict`.
//!
//! Each packet class holds the engine's packet value; attributes are built
//! when read, so decoding a packet costs one Python object.

use crate::convert::{self, from_json, py_bytes, py_codes, py_opt_bytes, py_opt_str, py_str};
use crate::errors;
use crate::props::{core_props, core_will, py_props, Properties, Will};
use bytes::Bytes;
use mqtt_engine::codec::{
    self, ByteStr, Packet, PacketRef, Protocol, QoS, ReasonCode, RetainHandling,
    Subscription as CoreSub,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

/// The protocol for a `version` argument (4 or 5; 3 and 311 are accepted
/// for 3.1.1 too).
pub(crate) fn protocol(version: i64) -> PyResult<Protocol> {
    match version {
        5 => Ok(Protocol::V5),
        4 | 3 | 311 => Ok(Protocol::V311),
        _ => Err(errors::invalid(
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            "version is 5 (MQTT 5.0) or 4 (MQTT 3.1.1)",
        )),
    }
}

fn dict_of(py: Python<'_>, p: &Packet) -> PyResult<Py<PyAny>> {
    let v = serde_json::to_value(p).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(from_json(py, &v)?.unbind())
}

/// `Name(a=..., b=...)` from the attributes named in `fields`.
fn repr_of(slf: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        let v = slf.getattr(*f)?;
        parts.push(format!("{f}={}", v.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

fn opt_pid(v: Option<u16>, py: Python<'_>) -> Bound<'_, PyAny> {
    match v {
        Some(id) => id.into_pyobject(py).map(|b| b.into_any()).unwrap_or_else(|e| match e {}),
        None => py.None().into_bound(py),
    }
}

fn pid(v: i64) -> PyResult<u16> {
    u16::try_from(v).ok().filter(|x| *x != 0).ok_or_else(|| {
        errors::invalid(ReasonCode::PROTOCOL_ERROR, "a packet identifier is 1 to 65535")
    })
}

// ----- CONNECT --------------------------------------------------------------

/// CONNECT (client to server).
///
/// `Connect(client_id="", *, protocol_version=5, clean_start=True,
/// keep_alive=60, will=None, username=None, password=None, properties=None)`.
/// Attributes use the JSON form's names; `client_id` and `username` are
/// aliases of `client_identifier` and `user_name`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub(crate) inner: codec::Connect,
}

#[pymethods]
impl Connect {
    #[new]
    #[pyo3(signature = (client_id=String::new(), *, protocol_version=5, clean_start=true,
        keep_alive=60, will=None, username=None, password=None, properties=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        client_id: String,
        protocol_version: i64,
        clean_start: bool,
        keep_alive: u16,
        will: Option<&Bound<'_, PyAny>>,
        username: Option<String>,
        password: Option<&Bound<'_, PyAny>>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut c = codec::Connect::new(protocol(protocol_version)?, client_id);
        c.clean_start = clean_start;
        c.keep_alive = keep_alive;
        c.will = core_will(will)?;
        c.username = username.map(ByteStr::from);
        c.password = convert::opt_bytes(password)?;
        c.properties = core_props(properties)?;
        Ok(Connect { inner: c })
    }
    /// Protocol level: 4 (3.1.1) or 5 (5.0).
    #[getter]
    fn protocol_version(&self) -> u8 {
        self.inner.protocol.level()
    }
    /// Clean Start (5.0) / Clean Session (3.1.1).
    #[getter]
    fn clean_start(&self) -> bool {
        self.inner.clean_start
    }
    /// Keep Alive, seconds.
    #[getter]
    fn keep_alive(&self) -> u16 {
        self.inner.keep_alive
    }
    /// Client Identifier.
    #[getter]
    fn client_identifier<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.client_id)
    }
    /// Alias of `client_identifier`.
    #[getter]
    fn client_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.client_id)
    }
    /// The Will, or None.
    #[getter]
    fn will(&self) -> Option<Will> {
        self.inner.will.as_ref().map(Will::from_core)
    }
    /// User Name, or None.
    #[getter]
    fn user_name<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.username)
    }
    /// Alias of `user_name`.
    #[getter]
    fn username<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_str(py, &self.inner.username)
    }
    /// Password, or None.
    #[getter]
    fn password<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_opt_bytes(py, &self.inner.password)
    }
    /// CONNECT properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Connect(Box::new(self.inner.clone())))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("client_identifier", "protocol_version", "clean_start", "keep_alive")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "Connect",
            &[
                "client_identifier",
                "protocol_version",
                "clean_start",
                "keep_alive",
                "will",
                "user_name",
                "password",
                "properties",
            ],
        )
    }
}

// ----- CONNACK --------------------------------------------------------------

/// CONNACK (server to client).
///
/// `Connack(session_present=False, reason_code=0, properties=None)`; in
/// 3.1.1 `reason_code` is the return code (0 to 5).
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connack {
    pub(crate) inner: codec::Connack,
}

#[pymethods]
impl Connack {
    #[new]
    #[pyo3(signature = (session_present=false, reason_code=0, properties=None))]
    fn new(
        session_present: bool,
        reason_code: i64,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Connack {
            inner: codec::Connack {
                session_present,
                reason_code: convert::reason_code(reason_code)?,
                properties: core_props(properties)?,
            },
        })
    }
    /// Session Present.
    #[getter]
    fn session_present(&self) -> bool {
        self.inner.session_present
    }
    /// Reason code (5.0) or return code (3.1.1).
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    /// CONNACK properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Connack(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("session_present", "reason_code", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Connack", &["session_present", "reason_code", "properties"])
    }
}

// ----- PUBLISH --------------------------------------------------------------

/// Builds a PUBLISH from the constructor arguments shared by `Publish` and
/// `Message`.
pub(crate) fn build_publish(
    topic: String,
    payload: Option<&Bound<'_, PyAny>>,
    qos: i64,
    retain: bool,
    dup: bool,
    packet_id: Option<i64>,
    properties: Option<&Bound<'_, PyAny>>,
) -> PyResult<codec::Publish> {
    let mut p = codec::Publish::new(
        topic,
        match payload {
            Some(x) => convert::to_bytes(x, true)?,
            None => Bytes::new(),
        },
    );
    p.qos = convert::qos(qos)?;
    p.retain = retain;
    p.dup = dup;
    p.packet_id = packet_id.map(pid).transpose()?;
    p.properties = core_props(properties)?;
    Ok(p)
}

/// PUBLISH (both ways): an application message.
///
/// `Publish(topic, payload=b"", qos=0, retain=False, dup=False,
/// packet_id=None, properties=None)`; `payload` accepts bytes or str
/// (UTF-8). `topic_name` and `packet_identifier` (the JSON form's names)
/// are aliases of `topic` and `packet_id`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub(crate) inner: codec::Publish,
}

#[pymethods]
impl Publish {
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
        Ok(Publish {
            inner: build_publish(topic, payload, qos, retain, dup, packet_id, properties)?,
        })
    }
    /// Topic Name (may be empty with a Topic Alias).
    #[getter]
    fn topic<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.topic)
    }
    /// Alias of `topic`.
    #[getter]
    fn topic_name<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.topic)
    }
    /// Payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_bytes(py, &self.inner.payload)
    }
    /// QoS (0, 1, 2).
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
    /// Packet Identifier (QoS 1 and 2), or None.
    #[getter]
    fn packet_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        opt_pid(self.inner.packet_id, py)
    }
    /// Alias of `packet_id`.
    #[getter]
    fn packet_identifier<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        opt_pid(self.inner.packet_id, py)
    }
    /// PUBLISH properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Publish(self.inner.clone()))
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
        repr_of(
            slf.as_any(),
            "Publish",
            &["topic", "payload", "qos", "retain", "dup", "packet_id", "properties"],
        )
    }
}

// ----- PUBACK, PUBREC, PUBREL, PUBCOMP --------------------------------------

macro_rules! ack_class {
    ($name:ident, $variant:ident, $label:literal, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "mqtt_engine", frozen, eq)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            pub(crate) inner: codec::PubAck,
        }

        #[pymethods]
        impl $name {
            #[new]
            #[pyo3(signature = (packet_id, reason_code=0, properties=None))]
            fn new(
                packet_id: i64,
                reason_code: i64,
                properties: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                Ok($name {
                    inner: codec::PubAck {
                        packet_id: pid(packet_id)?,
                        reason_code: convert::reason_code(reason_code)?,
                        properties: core_props(properties)?,
                    },
                })
            }
            /// Packet Identifier.
            #[getter]
            fn packet_id(&self) -> u16 {
                self.inner.packet_id
            }
            /// Alias of `packet_id`.
            #[getter]
            fn packet_identifier(&self) -> u16 {
                self.inner.packet_id
            }
            /// Reason code (0 in 3.1.1).
            #[getter]
            fn reason_code(&self) -> u8 {
                self.inner.reason_code.0
            }
            /// Properties (a copy).
            #[getter]
            fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
                py_props(py, &self.inner.properties)
            }
            /// The JSON form of DESIGN §4.
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                dict_of(py, &Packet::$variant(self.inner.clone()))
            }
            #[classattr]
            fn __match_args__() -> (&'static str, &'static str, &'static str) {
                ("packet_id", "reason_code", "properties")
            }
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_of(slf.as_any(), $label, &["packet_id", "reason_code", "properties"])
            }
        }
    };
}

ack_class!(
    PubAck,
    Puback,
    "PubAck",
    "PUBACK: the answer to a QoS 1 PUBLISH.\n\n`PubAck(packet_id, reason_code=0, properties=None)`."
);
ack_class!(
    PubRec,
    Pubrec,
    "PubRec",
    "PUBREC: the first answer to a QoS 2 PUBLISH.\n\n`PubRec(packet_id, reason_code=0, properties=None)`."
);
ack_class!(
    PubRel,
    Pubrel,
    "PubRel",
    "PUBREL: the answer to a PUBREC.\n\n`PubRel(packet_id, reason_code=0, properties=None)`."
);
ack_class!(
    PubComp,
    Pubcomp,
    "PubComp",
    "PUBCOMP: the end of a QoS 2 flow.\n\n`PubComp(packet_id, reason_code=0, properties=None)`."
);

// ----- SUBSCRIBE ------------------------------------------------------------

/// One topic filter of a SUBSCRIBE with its options.
///
/// `Subscription(topic_filter, qos=0, no_local=False,
/// retain_as_published=False, retain_handling=0)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub(crate) inner: CoreSub,
}

pub(crate) fn retain_handling(v: i64) -> PyResult<RetainHandling> {
    u8::try_from(v)
        .ok()
        .and_then(RetainHandling::from_u8)
        .ok_or_else(|| errors::invalid(ReasonCode::PROTOCOL_ERROR, "retain_handling is 0, 1 or 2"))
}

#[pymethods]
impl Subscription {
    #[new]
    #[pyo3(signature = (topic_filter, qos=0, no_local=false, retain_as_published=false,
        retain_handling=0))]
    fn new(
        topic_filter: String,
        qos: i64,
        no_local: bool,
        retain_as_published: bool,
        retain_handling: i64,
    ) -> PyResult<Self> {
        let mut s = CoreSub::new(topic_filter, convert::qos(qos)?);
        s.no_local = no_local;
        s.retain_as_published = retain_as_published;
        s.retain_handling = self::retain_handling(retain_handling)?;
        Ok(Subscription { inner: s })
    }
    /// Topic Filter.
    #[getter]
    fn topic_filter<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        py_str(py, &self.inner.filter)
    }
    /// Maximum QoS.
    #[getter]
    fn qos(&self) -> u8 {
        self.inner.qos as u8
    }
    /// No Local (5.0).
    #[getter]
    fn no_local(&self) -> bool {
        self.inner.no_local
    }
    /// Retain As Published (5.0).
    #[getter]
    fn retain_as_published(&self) -> bool {
        self.inner.retain_as_published
    }
    /// Retain Handling (5.0): 0, 1 or 2.
    #[getter]
    fn retain_handling(&self) -> u8 {
        self.inner.retain_handling as u8
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("topic_filter", "qos")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "Subscription",
            &["topic_filter", "qos", "no_local", "retain_as_published", "retain_handling"],
        )
    }
}

/// A subscription from a `Subscription`, a filter `str` (with `qos`) or a
/// `(filter, qos)` tuple.
pub(crate) fn subscription(obj: &Bound<'_, PyAny>, qos: QoS) -> PyResult<CoreSub> {
    if let Ok(s) = obj.cast::<Subscription>() {
        return Ok(s.get().inner.clone());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(CoreSub::new(s.to_cow()?.to_string(), qos));
    }
    if let Ok((f, q)) = obj.extract::<(String, i64)>() {
        return Ok(CoreSub::new(f, convert::qos(q)?));
    }
    Err(PyTypeError::new_err("a subscription is a str, a (filter, qos) tuple or a Subscription"))
}

/// SUBSCRIBE (client to server).
///
/// `Subscribe(packet_id, subscriptions, properties=None)`; each
/// subscription is a `Subscription`, a filter str (QoS 0) or a
/// `(filter, qos)` tuple.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    pub(crate) inner: codec::Subscribe,
}

#[pymethods]
impl Subscribe {
    #[new]
    #[pyo3(signature = (packet_id, subscriptions, properties=None))]
    fn new(
        packet_id: i64,
        subscriptions: &Bound<'_, PyAny>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut filters = Vec::new();
        for s in subscriptions.try_iter()? {
            filters.push(subscription(&s?, QoS::AtMostOnce)?);
        }
        let mut p = codec::Subscribe::new(filters);
        p.packet_id = pid(packet_id)?;
        p.properties = core_props(properties)?;
        Ok(Subscribe { inner: p })
    }
    /// Packet Identifier.
    #[getter]
    fn packet_id(&self) -> u16 {
        self.inner.packet_id
    }
    /// Alias of `packet_id`.
    #[getter]
    fn packet_identifier(&self) -> u16 {
        self.inner.packet_id
    }
    /// The subscriptions, in order.
    #[getter]
    fn subscriptions(&self) -> Vec<Subscription> {
        self.inner.filters.iter().map(|s| Subscription { inner: s.clone() }).collect()
    }
    /// SUBSCRIBE properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Subscribe(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("packet_id", "subscriptions", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Subscribe", &["packet_id", "subscriptions", "properties"])
    }
}

/// SUBACK (server to client): one reason code per filter.
///
/// `Suback(packet_id, reason_codes, properties=None)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suback {
    pub(crate) inner: codec::Suback,
}

fn codes(v: Vec<i64>) -> PyResult<Vec<ReasonCode>> {
    v.into_iter().map(convert::reason_code).collect()
}

#[pymethods]
impl Suback {
    #[new]
    #[pyo3(signature = (packet_id, reason_codes, properties=None))]
    fn new(
        packet_id: i64,
        reason_codes: Vec<i64>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Suback {
            inner: codec::Suback {
                packet_id: pid(packet_id)?,
                properties: core_props(properties)?,
                reason_codes: codes(reason_codes)?,
            },
        })
    }
    /// Packet Identifier.
    #[getter]
    fn packet_id(&self) -> u16 {
        self.inner.packet_id
    }
    /// Alias of `packet_id`.
    #[getter]
    fn packet_identifier(&self) -> u16 {
        self.inner.packet_id
    }
    /// One code per filter: the granted QoS or an error (0x80 and above).
    #[getter]
    fn reason_codes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_codes(py, &self.inner.reason_codes)
    }
    /// SUBACK properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Suback(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("packet_id", "reason_codes", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Suback", &["packet_id", "reason_codes", "properties"])
    }
}

// ----- UNSUBSCRIBE ----------------------------------------------------------

/// UNSUBSCRIBE (client to server).
///
/// `Unsubscribe(packet_id, topic_filters, properties=None)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub(crate) inner: codec::Unsubscribe,
}

#[pymethods]
impl Unsubscribe {
    #[new]
    #[pyo3(signature = (packet_id, topic_filters, properties=None))]
    fn new(
        packet_id: i64,
        topic_filters: Vec<String>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut p = codec::Unsubscribe::new(topic_filters.into_iter().map(ByteStr::from).collect());
        p.packet_id = pid(packet_id)?;
        p.properties = core_props(properties)?;
        Ok(Unsubscribe { inner: p })
    }
    /// Packet Identifier.
    #[getter]
    fn packet_id(&self) -> u16 {
        self.inner.packet_id
    }
    /// Alias of `packet_id`.
    #[getter]
    fn packet_identifier(&self) -> u16 {
        self.inner.packet_id
    }
    /// The topic filters, in order.
    #[getter]
    fn topic_filters(&self) -> Vec<String> {
        self.inner.filters.iter().map(|f| f.as_str().to_string()).collect()
    }
    /// UNSUBSCRIBE properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Unsubscribe(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("packet_id", "topic_filters", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Unsubscribe", &["packet_id", "topic_filters", "properties"])
    }
}

/// UNSUBACK (server to client): one reason code per filter in 5.0, none in 3.1.1.
///
/// `Unsuback(packet_id, reason_codes=[], properties=None)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsuback {
    pub(crate) inner: codec::Unsuback,
}

#[pymethods]
impl Unsuback {
    #[new]
    #[pyo3(signature = (packet_id, reason_codes=Vec::new(), properties=None))]
    fn new(
        packet_id: i64,
        reason_codes: Vec<i64>,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Unsuback {
            inner: codec::Unsuback {
                packet_id: pid(packet_id)?,
                properties: core_props(properties)?,
                reason_codes: codes(reason_codes)?,
            },
        })
    }
    /// Packet Identifier.
    #[getter]
    fn packet_id(&self) -> u16 {
        self.inner.packet_id
    }
    /// Alias of `packet_id`.
    #[getter]
    fn packet_identifier(&self) -> u16 {
        self.inner.packet_id
    }
    /// One code per filter (5.0).
    #[getter]
    fn reason_codes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_codes(py, &self.inner.reason_codes)
    }
    /// UNSUBACK properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Unsuback(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("packet_id", "reason_codes", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Unsuback", &["packet_id", "reason_codes", "properties"])
    }
}

// ----- PINGREQ, PINGRESP ----------------------------------------------------

macro_rules! ping_class {
    ($name:ident, $variant:ident, $label:literal, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "mqtt_engine", frozen, eq)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {}

        #[pymethods]
        impl $name {
            #[new]
            fn new() -> Self {
                $name {}
            }
            /// The JSON form of DESIGN §4.
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                dict_of(py, &Packet::$variant)
            }
            #[classattr]
            fn __match_args__(py: Python<'_>) -> Bound<'_, pyo3::types::PyTuple> {
                pyo3::types::PyTuple::empty(py)
            }
            fn __repr__(&self) -> &'static str {
                concat!($label, "()")
            }
        }
    };
}

ping_class!(PingReq, Pingreq, "PingReq", "PINGREQ (client to server): a keep-alive probe.");
ping_class!(PingResp, Pingresp, "PingResp", "PINGRESP (server to client): the answer to PINGREQ.");

// ----- DISCONNECT, AUTH -----------------------------------------------------

/// DISCONNECT (both ways in 5.0; client to server in 3.1.1).
///
/// `Disconnect(reason_code=0, properties=None)`.
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnect {
    pub(crate) inner: codec::Disconnect,
}

#[pymethods]
impl Disconnect {
    #[new]
    #[pyo3(signature = (reason_code=0, properties=None))]
    fn new(reason_code: i64, properties: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut d = codec::Disconnect::new(convert::reason_code(reason_code)?);
        d.properties = core_props(properties)?;
        Ok(Disconnect { inner: d })
    }
    /// Reason code (0 in 3.1.1).
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    /// DISCONNECT properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Disconnect(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("reason_code", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Disconnect", &["reason_code", "properties"])
    }
}

/// AUTH (both ways, MQTT 5.0 only): enhanced authentication.
///
/// `Auth(reason_code=0, properties=None)`. A `Client` also reports AUTH
/// packets from the server as `Auth` events (a challenge 0x18 to answer with
/// `Client.auth`, or the 0x00 that ends a re-authentication).
#[pyclass(module = "mqtt_engine", frozen, eq)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    pub(crate) inner: codec::Auth,
}

#[pymethods]
impl Auth {
    #[new]
    #[pyo3(signature = (reason_code=0, properties=None))]
    fn new(reason_code: i64, properties: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(Auth {
            inner: codec::Auth {
                reason_code: convert::reason_code(reason_code)?,
                properties: core_props(properties)?,
            },
        })
    }
    /// Reason code: 0x00 Success, 0x18 Continue authentication, 0x19 Re-authenticate.
    #[getter]
    fn reason_code(&self) -> u8 {
        self.inner.reason_code.0
    }
    /// AUTH properties (a copy).
    #[getter]
    fn properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Properties>> {
        py_props(py, &self.inner.properties)
    }
    /// The JSON form of DESIGN §4.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        dict_of(py, &Packet::Auth(self.inner.clone()))
    }
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("reason_code", "properties")
    }
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(slf.as_any(), "Auth", &["reason_code", "properties"])
    }
}

// ----- Conversions ----------------------------------------------------------

/// The Python object for a packet.
pub(crate) fn packet_to_py(py: Python<'_>, p: Packet) -> PyResult<Py<PyAny>> {
    Ok(match p {
        Packet::Connect(c) => Py::new(py, Connect { inner: *c })?.into_any(),
        Packet::Connack(inner) => Py::new(py, Connack { inner })?.into_any(),
        Packet::Publish(inner) => Py::new(py, Publish { inner })?.into_any(),
        Packet::Puback(inner) => Py::new(py, PubAck { inner })?.into_any(),
        Packet::Pubrec(inner) => Py::new(py, PubRec { inner })?.into_any(),
        Packet::Pubrel(inner) => Py::new(py, PubRel { inner })?.into_any(),
        Packet::Pubcomp(inner) => Py::new(py, PubComp { inner })?.into_any(),
        Packet::Subscribe(inner) => Py::new(py, Subscribe { inner })?.into_any(),
        Packet::Suback(inner) => Py::new(py, Suback { inner })?.into_any(),
        Packet::Unsubscribe(inner) => Py::new(py, Unsubscribe { inner })?.into_any(),
        Packet::Unsuback(inner) => Py::new(py, Unsuback { inner })?.into_any(),
        Packet::Pingreq => Py::new(py, PingReq {})?.into_any(),
        Packet::Pingresp => Py::new(py, PingResp {})?.into_any(),
        Packet::Disconnect(inner) => Py::new(py, Disconnect { inner })?.into_any(),
        Packet::Auth(inner) => Py::new(py, Auth { inner })?.into_any(),
    })
}

/// A packet from its dict (JSON) form.
fn packet_of_dict(d: &Bound<'_, PyAny>) -> PyResult<Packet> {
    let v = convert::to_json(d)?;
    serde_json::from_value::<Packet>(v)
        .map_err(|e| PyValueError::new_err(format!("not a packet in the JSON form: {e}")))
}

/// Runs `f` on the engine packet of a packet object, borrowed (no copy),
/// or of a dict in the JSON form.
fn with_packet<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(PacketRef<'_>) -> PyResult<R>,
) -> PyResult<R> {
    macro_rules! try_as {
        ($($ty:ident => $variant:ident),* $(,)?) => {$(
            if let Ok(x) = obj.cast::<$ty>() {
                return f(PacketRef::$variant(&x.get().inner));
            }
        )*};
    }
    // The packets a client sends most often first: each miss is a type check.
    try_as!(Publish => Publish, PubAck => Puback, Subscribe => Subscribe,
        Unsubscribe => Unsubscribe);
    if obj.is_instance_of::<PingReq>() {
        return f(PacketRef::Pingreq);
    }
    try_as!(Connect => Connect, PubRec => Pubrec, PubRel => Pubrel, PubComp => Pubcomp,
        Disconnect => Disconnect, Connack => Connack, Suback => Suback,
        Unsuback => Unsuback, Auth => Auth);
    if obj.is_instance_of::<PingResp>() {
        return f(PacketRef::Pingresp);
    }
    if obj.is_instance_of::<PyDict>() {
        return f(packet_of_dict(obj)?.as_packet_ref());
    }
    Err(PyTypeError::new_err("expected a packet object (Publish, Connect, ...) or its dict form"))
}

/// Encodes a borrowed packet into `bytes` of exactly its length.
fn encode_packet<'py>(
    py: Python<'py>,
    p: PacketRef<'_>,
    proto: Protocol,
) -> PyResult<Bound<'py, PyBytes>> {
    let enc = p.encoder(proto).map_err(errors::from_encode)?;
    PyBytes::new_with(py, enc.encoded_len(), |mut buf: &mut [u8]| {
        enc.write(&mut buf).map(|_| ()).map_err(errors::from_encode)
    })
}

// ----- Module functions -----------------------------------------------------

/// Decodes exactly one whole packet from `data` and returns its packet object.
///
/// `version` is 5 (MQTT 5.0) or 4 (MQTT 3.1.1); a CONNECT is read by the
/// protocol level it carries. With `max_packet_size`, a packet larger than it
/// is refused with 0x95 Packet too large from its fixed header.
///
/// Raises DecodeError with the reason code of the fault (0x81 Malformed
/// Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x95),
/// also for a buffer that ends inside the packet ("incomplete") or holds
/// bytes after it.
#[pyfunction]
#[pyo3(signature = (data, version=5, *, max_packet_size=None))]
pub(crate) fn decode(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    version: i64,
    max_packet_size: Option<u32>,
) -> PyResult<Py<PyAny>> {
    let proto = protocol(version)?;
    let buf = convert::to_bytes(data, false)?;
    let max = max_packet_size.unwrap_or(u32::MAX);
    match codec::decode(proto, &buf, max).map_err(errors::from_decode)? {
        Some((p, n)) if n == buf.len() => packet_to_py(py, p),
        Some((_, n)) => Err(errors::decode_error(
            ReasonCode::MALFORMED_PACKET,
            "bytes follow the end of the packet",
            Some(n),
        )),
        None => Err(errors::decode_error(
            ReasonCode::MALFORMED_PACKET,
            "incomplete: the input ends inside the packet",
            Some(buf.len()),
        )),
    }
}

/// Encodes a packet (a packet object, or its dict form as produced by
/// `to_dict`) for `version` (5 or 4) and returns the bytes.
///
/// The packet is validated as the decoder would validate it; a packet that
/// cannot be encoded raises LocalProtocolError (kind "invalid") with the
/// reason code a receiver would give. A dict that is not a packet's JSON
/// form raises ValueError.
#[pyfunction]
#[pyo3(signature = (packet, version=5))]
pub(crate) fn encode<'py>(
    py: Python<'py>,
    packet: &Bound<'py, PyAny>,
    version: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let proto = protocol(version)?;
    with_packet(packet, |p| encode_packet(py, p, proto))
}

/// The packet object for a dict in the JSON form of DESIGN §4 (`"type"`
/// names the packet; binary fields are hex under keys ending in `_hex`).
///
/// Raises ValueError when the dict is not a packet's JSON form.
#[pyfunction]
pub(crate) fn packet_from_dict(py: Python<'_>, d: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if !d.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err("packet_from_dict takes a dict"));
    }
    packet_to_py(py, packet_of_dict(d)?)
}

/// A streaming decoder for one direction of one connection.
///
/// `Decoder(version=5, max_packet_size=1048576)`. `feed(data)` takes bytes
/// in chunks of any size and returns the packets completed by them, in
/// order. A packet whose fixed header announces more than `max_packet_size`
/// bytes is refused (0x95) before its body is buffered.
///
/// A fault raises DecodeError once the packets before it have been
/// returned (by this call, or if this call completed packets and then hit
/// the fault, by the next one); the decoder then stays failed until `reset()`.
#[pyclass(module = "mqtt_engine")]
pub struct Decoder {
    inner: codec::Decoder,
}

#[pymethods]
impl Decoder {
    #[new]
    #[pyo3(signature = (version=5, max_packet_size=1_048_576))]
    fn new(version: i64, max_packet_size: u32) -> PyResult<Self> {
        Ok(Decoder {
            inner: codec::Decoder::new(protocol(version)?).with_max_packet_size(max_packet_size),
        })
    }

    /// Appends `data` and returns the packets it completes.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
        let pushed = convert::with_bytes(data, false, |b| self.inner.push(b))?;
        let out = PyList::empty(py);
        loop {
            match self.inner.next_packet() {
                Ok(Some(p)) => out.append(packet_to_py(py, p)?)?,
                Ok(None) => break,
                Err(e) => {
                    if out.is_empty() {
                        return Err(errors::from_decode(e));
                    }
                    break;
                }
            }
        }
        if out.is_empty() {
            pushed.map_err(errors::from_decode)?;
        }
        Ok(out.unbind())
    }

    /// Drops everything buffered and any fault (for a new connection).
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Bytes held: complete packets not yet returned plus the partial packet.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// The protocol version packets are decoded with (4 or 5).
    #[getter]
    fn get_version(&self) -> u8 {
        self.inner.protocol().level()
    }

    #[setter]
    fn set_version(&mut self, version: i64) -> PyResult<()> {
        self.inner.set_protocol(protocol(version)?);
        Ok(())
    }

    /// The largest packet accepted, in bytes.
    #[getter]
    fn max_packet_size(&self) -> u32 {
        self.inner.max_packet_size()
    }
}

/// Registers the codec's classes and functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Connect>()?;
    m.add_class::<Connack>()?;
    m.add_class::<Publish>()?;
    m.add_class::<PubAck>()?;
    m.add_class::<PubRec>()?;
    m.add_class::<PubRel>()?;
    m.add_class::<PubComp>()?;
    m.add_class::<Subscription>()?;
    m.add_class::<Subscribe>()?;
    m.add_class::<Suback>()?;
    m.add_class::<Unsubscribe>()?;
    m.add_class::<Unsuback>()?;
    m.add_class::<PingReq>()?;
    m.add_class::<PingResp>()?;
    m.add_class::<Disconnect>()?;
    m.add_class::<Auth>()?;
    m.add_class::<Decoder>()?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(packet_from_dict, m)?)?;
    Ok(())
}
