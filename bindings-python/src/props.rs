//! `Properties` (every MQTT 5.0 property) and `Will`.

use crate::convert::{self, from_json};
use crate::errors;
use bytes::Bytes;
use mqtt_engine::codec::{self, ByteStr, ReasonCode};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// The properties of an MQTT 5.0 packet or Will.
///
/// Every property is a keyword of the constructor and a read-write
/// attribute, None (or an empty list) when absent. Binary properties
/// (`correlation_data`, `authentication_data`) are `bytes`;
/// `user_properties` is a list of `(name, value)` tuples of str, in order,
/// duplicates kept; `subscription_identifiers` is a list of int. Which
/// properties a packet may carry is checked when it is encoded.
///
/// `subscription_identifier_available` is an alias of
/// `subscription_identifiers_available` (the JSON form's name).
#[pyclass(module = "mqtt_engine", get_all, set_all, eq, from_py_object)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    /// 0x01 Payload Format Indicator: 0 unspecified bytes, 1 UTF-8.
    pub payload_format_indicator: Option<u8>,
    /// 0x02 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// 0x03 Content Type.
    pub content_type: Option<String>,
    /// 0x08 Response Topic.
    pub response_topic: Option<String>,
    /// 0x09 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// 0x0B Subscription Identifier(s).
    pub subscription_identifiers: Vec<u32>,
    /// 0x11 Session Expiry Interval, seconds.
    pub session_expiry_interval: Option<u32>,
    /// 0x12 Assigned Client Identifier.
    pub assigned_client_identifier: Option<String>,
    /// 0x13 Server Keep Alive, seconds.
    pub server_keep_alive: Option<u16>,
    /// 0x15 Authentication Method.
    pub authentication_method: Option<String>,
    /// 0x16 Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// 0x17 Request Problem Information (0 or 1).
    pub request_problem_information: Option<u8>,
    /// 0x18 Will Delay Interval, seconds.
    pub will_delay_interval: Option<u32>,
    /// 0x19 Request Response Information (0 or 1).
    pub request_response_information: Option<u8>,
    /// 0x1A Response Information.
    pub response_information: Option<String>,
    /// 0x1C Server Reference.
    pub server_reference: Option<String>,
    /// 0x1F Reason String.
    pub reason_string: Option<String>,
    /// 0x21 Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// 0x22 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// 0x23 Topic Alias.
    pub topic_alias: Option<u16>,
    /// 0x24 Maximum QoS (0 or 1).
    pub maximum_qos: Option<u8>,
    /// 0x25 Retain Available (0 or 1).
    pub retain_available: Option<u8>,
    /// 0x26 User Properties: (name, value) pairs in order, duplicates kept.
    pub user_properties: Vec<(String, String)>,
    /// 0x27 Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// 0x28 Wildcard Subscription Available (0 or 1).
    pub wildcard_subscription_available: Option<u8>,
    /// 0x29 Subscription Identifiers Available (0 or 1).
    pub subscription_identifiers_available: Option<u8>,
    /// 0x2A Shared Subscription Available (0 or 1).
    pub shared_subscription_available: Option<u8>,
}

fn s(v: &Option<ByteStr>) -> Option<String> {
    v.as_ref().map(|x| x.as_str().to_string())
}

fn b(v: &Option<Bytes>) -> Option<Vec<u8>> {
    v.as_ref().map(|x| x.to_vec())
}

fn bs(v: Option<String>) -> Option<ByteStr> {
    v.map(ByteStr::from)
}

fn bb(v: Option<Vec<u8>>) -> Option<Bytes> {
    v.map(Bytes::from)
}

impl Properties {
    /// The Python form of the engine's properties.
    pub(crate) fn from_core(p: &codec::Properties) -> Properties {
        Properties {
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: p.message_expiry_interval,
            content_type: s(&p.content_type),
            response_topic: s(&p.response_topic),
            correlation_data: b(&p.correlation_data),
            subscription_identifiers: p.subscription_identifiers.clone(),
            session_expiry_interval: p.session_expiry_interval,
            assigned_client_identifier: s(&p.assigned_client_identifier),
            server_keep_alive: p.server_keep_alive,
            authentication_method: s(&p.authentication_method),
            authentication_data: b(&p.authentication_data),
            request_problem_information: p.request_problem_information,
            will_delay_interval: p.will_delay_interval,
            request_response_information: p.request_response_information,
            response_information: s(&p.response_information),
            server_reference: s(&p.server_reference),
            reason_string: s(&p.reason_string),
            receive_maximum: p.receive_maximum,
            topic_alias_maximum: p.topic_alias_maximum,
            topic_alias: p.topic_alias,
            maximum_qos: p.maximum_qos,
            retain_available: p.retain_available,
            user_properties: p
                .user_properties
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                .collect(),
            maximum_packet_size: p.maximum_packet_size,
            wildcard_subscription_available: p.wildcard_subscription_available,
            subscription_identifiers_available: p.subscription_identifiers_available,
            shared_subscription_available: p.shared_subscription_available,
        }
    }

    /// The engine's form. Built field by field, not with a struct literal:
    /// the engine's `Properties` may become a newtype over its fields.
    #[allow(clippy::field_reassign_with_default)]
    pub(crate) fn to_core(&self) -> codec::Properties {
        let c = self.clone();
        let mut p = codec::Properties::default();
        p.payload_format_indicator = c.payload_format_indicator;
        p.message_expiry_interval = c.message_expiry_interval;
        p.content_type = bs(c.content_type);
        p.response_topic = bs(c.response_topic);
        p.correlation_data = bb(c.correlation_data);
        p.subscription_identifiers = c.subscription_identifiers;
        p.session_expiry_interval = c.session_expiry_interval;
        p.assigned_client_identifier = bs(c.assigned_client_identifier);
        p.server_keep_alive = c.server_keep_alive;
        p.authentication_method = bs(c.authentication_method);
        p.authentication_data = bb(c.authentication_data);
        p.request_problem_information = c.request_problem_information;
        p.will_delay_interval = c.will_delay_interval;
        p.request_response_information = c.request_response_information;
        p.response_information = bs(c.response_information);
        p.server_reference = bs(c.server_reference);
        p.reason_string = bs(c.reason_string);
        p.receive_maximum = c.receive_maximum;
        p.topic_alias_maximum = c.topic_alias_maximum;
        p.topic_alias = c.topic_alias;
        p.maximum_qos = c.maximum_qos;
        p.retain_available = c.retain_available;
        p.user_properties =
            c.user_properties.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        p.maximum_packet_size = c.maximum_packet_size;
        p.wildcard_subscription_available = c.wildcard_subscription_available;
        p.subscription_identifiers_available = c.subscription_identifiers_available;
        p.shared_subscription_available = c.shared_subscription_available;
        p
    }
}

/// The engine's properties from an optional `Properties` argument.
pub(crate) fn core_props(p: Option<&Bound<'_, PyAny>>) -> PyResult<codec::Properties> {
    match p {
        None => Ok(codec::Properties::default()),
        Some(o) if o.is_none() => Ok(codec::Properties::default()),
        Some(o) => match o.cast::<Properties>() {
            Ok(p) => Ok(p.borrow().to_core()),
            Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(
                "properties must be a Properties (or None)",
            )),
        },
    }
}

/// A new `Properties` object for the engine's properties.
pub(crate) fn py_props<'py>(
    py: Python<'py>,
    p: &codec::Properties,
) -> PyResult<Bound<'py, Properties>> {
    Bound::new(py, Properties::from_core(p))
}

#[pymethods]
impl Properties {
    #[new]
    #[pyo3(signature = (*, payload_format_indicator=None, message_expiry_interval=None,
        content_type=None, response_topic=None, correlation_data=None,
        subscription_identifiers=None, session_expiry_interval=None,
        assigned_client_identifier=None, server_keep_alive=None, authentication_method=None,
        authentication_data=None, request_problem_information=None, will_delay_interval=None,
        request_response_information=None, response_information=None, server_reference=None,
        reason_string=None, receive_maximum=None, topic_alias_maximum=None, topic_alias=None,
        maximum_qos=None, retain_available=None, user_properties=None, maximum_packet_size=None,
        wildcard_subscription_available=None, subscription_identifiers_available=None,
        shared_subscription_available=None, subscription_identifier_available=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        payload_format_indicator: Option<u8>,
        message_expiry_interval: Option<u32>,
        content_type: Option<String>,
        response_topic: Option<String>,
        correlation_data: Option<&Bound<'_, PyAny>>,
        subscription_identifiers: Option<Vec<u32>>,
        session_expiry_interval: Option<u32>,
        assigned_client_identifier: Option<String>,
        server_keep_alive: Option<u16>,
        authentication_method: Option<String>,
        authentication_data: Option<&Bound<'_, PyAny>>,
        request_problem_information: Option<u8>,
        will_delay_interval: Option<u32>,
        request_response_information: Option<u8>,
        response_information: Option<String>,
        server_reference: Option<String>,
        reason_string: Option<String>,
        receive_maximum: Option<u16>,
        topic_alias_maximum: Option<u16>,
        topic_alias: Option<u16>,
        maximum_qos: Option<u8>,
        retain_available: Option<u8>,
        user_properties: Option<&Bound<'_, PyAny>>,
        maximum_packet_size: Option<u32>,
        wildcard_subscription_available: Option<u8>,
        subscription_identifiers_available: Option<u8>,
        shared_subscription_available: Option<u8>,
        subscription_identifier_available: Option<u8>,
    ) -> PyResult<Self> {
        let ups = match user_properties {
            Some(u) => convert::user_properties(u)?
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                .collect(),
            None => Vec::new(),
        };
        Ok(Properties {
            payload_format_indicator,
            message_expiry_interval,
            content_type,
            response_topic,
            correlation_data: convert::opt_bytes(correlation_data)?.map(|b| b.to_vec()),
            subscription_identifiers: subscription_identifiers.unwrap_or_default(),
            session_expiry_interval,
            assigned_client_identifier,
            server_keep_alive,
            authentication_method,
            authentication_data: convert::opt_bytes(authentication_data)?.map(|b| b.to_vec()),
            request_problem_information,
            will_delay_interval,
            request_response_information,
            response_information,
            server_reference,
            reason_string,
            receive_maximum,
            topic_alias_maximum,
            topic_alias,
            maximum_qos,
            retain_available,
            user_properties: ups,
            maximum_packet_size,
            wildcard_subscription_available,
            subscription_identifiers_available: subscription_identifiers_available
                .or(subscription_identifier_available),
            shared_subscription_available,
        })
    }

    /// Alias of `subscription_identifiers_available`.
    #[getter]
    fn get_subscription_identifier_available(&self) -> Option<u8> {
        self.subscription_identifiers_available
    }

    #[setter]
    fn set_subscription_identifier_available(&mut self, v: Option<u8>) {
        self.subscription_identifiers_available = v;
    }

    /// The properties present, in the JSON form of DESIGN §4 (binary
    /// values as hex under keys ending in `_hex`, User Properties as
    /// `[name, value]` lists).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(self.to_core())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    /// True when no property is present.
    fn is_empty(&self) -> bool {
        self.to_core().is_empty()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = self.to_dict(py)?;
        let d = d.cast::<PyDict>()?;
        let mut parts = Vec::new();
        let me = Bound::new(py, self.clone())?;
        for k in d.keys() {
            let k: String = k.extract()?;
            let attr = k.strip_suffix("_hex").unwrap_or(&k).to_string();
            let v = me.getattr(attr.as_str())?;
            parts.push(format!("{attr}={}", v.repr()?));
        }
        Ok(format!("Properties({})", parts.join(", ")))
    }
}

/// The Will Message of a CONNECT: published by the server when the
/// connection ends without a normal DISCONNECT.
///
/// `Will(topic, payload=b"", qos=0, retain=False, properties=None)`; the
/// attributes are read-write. `payload` accepts `bytes` or `str` (UTF-8).
#[pyclass(module = "mqtt_engine", eq)]
#[derive(Debug)]
pub struct Will {
    /// Will Topic.
    #[pyo3(get, set)]
    pub topic: String,
    /// Will Payload.
    pub payload: Bytes,
    /// Will QoS.
    #[pyo3(get)]
    pub qos: u8,
    /// Will Retain.
    #[pyo3(get, set)]
    pub retain: bool,
    /// Will Properties.
    pub properties: Properties,
}

impl PartialEq for Will {
    fn eq(&self, o: &Will) -> bool {
        self.topic == o.topic
            && self.payload == o.payload
            && self.qos == o.qos
            && self.retain == o.retain
            && self.properties == o.properties
    }
}

impl Will {
    /// The engine's form.
    pub(crate) fn to_core(&self) -> PyResult<codec::Will> {
        Ok(codec::Will {
            topic: self.topic.clone().into(),
            payload: self.payload.clone(),
            qos: convert::qos(i64::from(self.qos))?,
            retain: self.retain,
            properties: self.properties.to_core(),
        })
    }

    /// The Python form of the engine's Will.
    pub(crate) fn from_core(w: &codec::Will) -> Will {
        Will {
            topic: w.topic.as_str().to_string(),
            payload: w.payload.clone(),
            qos: w.qos as u8,
            retain: w.retain,
            properties: Properties::from_core(&w.properties),
        }
    }
}

#[pymethods]
impl Will {
    #[new]
    #[pyo3(signature = (topic, payload=None, qos=0, retain=false, properties=None))]
    fn new(
        topic: String,
        payload: Option<&Bound<'_, PyAny>>,
        qos: i64,
        retain: bool,
        properties: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let q = convert::qos(qos)?;
        Ok(Will {
            topic,
            payload: match payload {
                Some(p) => convert::to_bytes(p, true)?,
                None => Bytes::new(),
            },
            qos: q as u8,
            retain,
            properties: Properties::from_core(&core_props(properties)?),
        })
    }

    /// Will Payload (bytes).
    #[getter]
    fn get_payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        convert::py_bytes(py, &self.payload)
    }

    #[setter]
    fn set_payload(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.payload = convert::to_bytes(v, true)?;
        Ok(())
    }

    #[setter]
    fn set_qos(&mut self, v: i64) -> PyResult<()> {
        self.qos = convert::qos(v)? as u8;
        Ok(())
    }

    /// Will Properties (a copy; assign a Properties to change them).
    #[getter]
    fn get_properties(&self) -> Properties {
        self.properties.clone()
    }

    #[setter]
    fn set_properties(&mut self, v: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.properties = Properties::from_core(&core_props(v)?);
        Ok(())
    }

    /// The Will in the JSON form of DESIGN §4.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(self.to_core()?)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        from_json(py, &v)
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("topic", "payload", "qos", "retain", "properties")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Will(topic={}, payload={}, qos={}, retain={}, properties={})",
            pyo3::types::PyString::new(py, &self.topic).repr()?,
            convert::py_bytes(py, &self.payload).repr()?,
            self.qos,
            if self.retain { "True" } else { "False" },
            self.properties.__repr__(py)?
        ))
    }
}

/// A `(name, value)` list as a Python list, for getters.
#[allow(dead_code)]
pub(crate) fn pairs<'py>(py: Python<'py>, v: &[(String, String)]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (k, x) in v {
        list.append(PyTuple::new(py, [k.as_str(), x.as_str()])?)?;
    }
    Ok(list)
}

/// Refuses a Will argument that is not a Will.
pub(crate) fn core_will(w: Option<&Bound<'_, PyAny>>) -> PyResult<Option<codec::Will>> {
    match w {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<Will>() {
            Ok(w) => w.borrow().to_core().map(Some),
            Err(_) => {
                Err(errors::invalid(ReasonCode::PROTOCOL_ERROR, "will must be a Will (or None)"))
            }
        },
    }
}
