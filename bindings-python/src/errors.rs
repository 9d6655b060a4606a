//! The exceptions of the module: `MqttError` > `LocalProtocolError`,
//! `RemoteProtocolError` > `DecodeError`, and how engine errors become them.
//!
//! The classes are plain Python exception classes (abi3 cannot subclass
//! `BaseException` with a Rust layout before Python 3.12); their attributes
//! have class-level defaults and are set on each instance when it is raised.

use mqtt_engine::client::{Error as ClientError, LocalError, LocalErrorKind, ProtocolError};
use mqtt_engine::codec::{DecodeError as CoreDecodeError, EncodeError, ReasonCode};
use mqtt_engine::rpc::mcp::{McpError, McpErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(
    mqtt_engine,
    MqttError,
    PyException,
    "Base class of every error this package raises.\n\n\
     `str(exc)` reads `0xNN Name: sentence` when an MQTT reason code applies."
);
create_exception!(
    mqtt_engine,
    LocalProtocolError,
    MqttError,
    "A command the engine refused because of how it was called (our misuse).\n\n\
     Nothing changed: no bytes were queued, no event was queued.\n\n\
     Attributes: `kind` (a short word: \"not_connected\", \"already_connected\",\n\
     \"invalid\", \"not_supported\", \"queue_full\", \"unknown_packet_id\", \"auth\",\n\
     \"unknown_request\", \"snapshot\", or for MCP roles \"not_mqtt5\",\n\
     \"unknown_client\", \"unknown_session\", \"not_ready\", \"no_server\", \"full\"),\n\
     `reason_code` (the MQTT reason code a server would give, or None) and\n\
     `reason_name` (its name, or None)."
);
create_exception!(
    mqtt_engine,
    RemoteProtocolError,
    MqttError,
    "The peer broke the protocol.\n\n\
     For a Client the connection is over: a DISCONNECT with `reason_code` is\n\
     queued (MQTT 5.0; send it with poll_transmit), the client is closed and a\n\
     Disconnected event is queued.\n\n\
     Attributes: `reason_code` (int) and `reason_name` (str)."
);
create_exception!(
    mqtt_engine,
    DecodeError,
    RemoteProtocolError,
    "Bytes that are not a valid MQTT packet.\n\n\
     Attributes: `reason_code` (0x81 Malformed Packet, 0x82 Protocol Error,\n\
     0x84 Unsupported Protocol Version, 0x95 Packet too large), `reason_name`,\n\
     and `offset`: the byte offset of the fault from the first byte of the\n\
     packet, or None when unknown. A buffer that ends inside a packet is\n\
     reported as 0x81 with the message \"incomplete\"."
);

/// Sets the class-level defaults of the exception attributes, so that they
/// exist on instances raised from Python code too.
pub(crate) fn init_classes(py: Python<'_>) -> PyResult<()> {
    let none = py.None();
    let local = py.get_type::<LocalProtocolError>();
    local.setattr("reason_code", &none)?;
    local.setattr("reason_name", &none)?;
    local.setattr("kind", "invalid")?;
    let remote = py.get_type::<RemoteProtocolError>();
    remote.setattr("reason_code", ReasonCode::UNSPECIFIED_ERROR.0)?;
    remote.setattr("reason_name", "Unspecified error")?;
    let decode = py.get_type::<DecodeError>();
    decode.setattr("reason_code", ReasonCode::MALFORMED_PACKET.0)?;
    decode.setattr("reason_name", "Malformed Packet")?;
    decode.setattr("offset", &none)?;
    Ok(())
}

/// The name the standard gives `code`, or a generic one.
pub(crate) fn reason_name(code: ReasonCode) -> &'static str {
    code.name().unwrap_or("Unknown reason code")
}

/// `0xNN Name: message`.
fn text(code: ReasonCode, message: &str) -> String {
    format!("0x{:02X} {}: {}", code.0, reason_name(code), message)
}

/// An instance of `ty` with `message` and the attributes set.
fn build(
    py: Python<'_>,
    ty: Bound<'_, PyType>,
    message: String,
    attrs: &[(&str, Bound<'_, PyAny>)],
) -> PyErr {
    match ty.call1((message,)) {
        Ok(v) => {
            for (k, a) in attrs {
                if let Err(e) = v.setattr(*k, a) {
                    return e;
                }
            }
            PyErr::from_value(v)
        }
        Err(e) => {
            let _ = py;
            e
        }
    }
}

fn code_attrs<'py>(py: Python<'py>, code: ReasonCode) -> [(&'static str, Bound<'py, PyAny>); 2] {
    [
        (
            "reason_code",
            code.0.into_pyobject(py).map(|b| b.into_any()).unwrap_or_else(|e| match e {}),
        ),
        ("reason_name", pyo3::types::PyString::new(py, reason_name(code)).into_any()),
    ]
}

/// A `LocalProtocolError` of `kind` with an optional reason code.
pub(crate) fn local(kind: &str, code: Option<ReasonCode>, message: &str) -> PyErr {
    Python::attach(|py| {
        let kind_obj = pyo3::types::PyString::new(py, kind).into_any();
        match code {
            Some(c) => {
                let [a, b] = code_attrs(py, c);
                build(
                    py,
                    py.get_type::<LocalProtocolError>(),
                    format!("{} ({kind})", text(c, message)),
                    &[a, b, ("kind", kind_obj)],
                )
            }
            None => build(
                py,
                py.get_type::<LocalProtocolError>(),
                format!("{message} ({kind})"),
                &[("kind", kind_obj)],
            ),
        }
    })
}

/// A `LocalProtocolError` of kind "invalid" for a bad argument value.
pub(crate) fn invalid(code: ReasonCode, message: &str) -> PyErr {
    local("invalid", Some(code), message)
}

/// The `kind` word of a [`LocalErrorKind`].
pub(crate) fn kind_name(kind: LocalErrorKind) -> &'static str {
    match kind {
        LocalErrorKind::NotConnected => "not_connected",
        LocalErrorKind::AlreadyConnected => "already_connected",
        LocalErrorKind::Invalid => "invalid",
        LocalErrorKind::NotSupported => "not_supported",
        LocalErrorKind::QueueFull => "queue_full",
        LocalErrorKind::UnknownPacketId => "unknown_packet_id",
        LocalErrorKind::Auth => "auth",
        LocalErrorKind::UnknownRequest => "unknown_request",
        LocalErrorKind::Snapshot => "snapshot",
        _ => "local",
    }
}

/// A client command's refusal.
pub(crate) fn from_local(e: LocalError) -> PyErr {
    local(kind_name(e.kind), Some(e.reason_code), e.message)
}

/// A `RemoteProtocolError` (or `DecodeError` for 0x81 Malformed Packet).
pub(crate) fn from_protocol(e: ProtocolError) -> PyErr {
    Python::attach(|py| {
        let [a, b] = code_attrs(py, e.reason_code);
        let ty = if e.reason_code == ReasonCode::MALFORMED_PACKET {
            py.get_type::<DecodeError>()
        } else {
            py.get_type::<RemoteProtocolError>()
        };
        build(py, ty, text(e.reason_code, e.message), &[a, b])
    })
}

/// An input's failure.
pub(crate) fn from_client(e: ClientError) -> PyErr {
    match e {
        ClientError::Local(l) => from_local(l),
        ClientError::Protocol(p) => from_protocol(p),
    }
}

/// A `DecodeError` from the codec.
pub(crate) fn from_decode(e: CoreDecodeError) -> PyErr {
    decode_error(e.reason_code, e.message, Some(e.offset))
}

/// A `DecodeError` with the given parts.
pub(crate) fn decode_error(code: ReasonCode, message: &str, offset: Option<usize>) -> PyErr {
    Python::attach(|py| {
        let [a, b] = code_attrs(py, code);
        let msg = match offset {
            Some(o) => format!("{} (at byte {o})", text(code, message)),
            None => text(code, message),
        };
        let off = match offset {
            Some(o) => o.into_pyobject(py).map(|b| b.into_any()).unwrap_or_else(|e| match e {}),
            None => py.None().into_bound(py),
        };
        build(py, py.get_type::<DecodeError>(), msg, &[a, b, ("offset", off)])
    })
}

/// A packet value that cannot be encoded: our misuse.
pub(crate) fn from_encode(e: EncodeError) -> PyErr {
    local("invalid", Some(e.reason_code), e.message)
}

/// An MCP role's refusal.
pub(crate) fn from_mcp(e: McpError) -> PyErr {
    if let Some(l) = e.local {
        return from_local(l);
    }
    let kind = match e.kind {
        McpErrorKind::Invalid => "invalid",
        McpErrorKind::NotMqtt5 => "not_mqtt5",
        McpErrorKind::NotConnected => "not_connected",
        McpErrorKind::UnknownClient => "unknown_client",
        McpErrorKind::UnknownSession => "unknown_session",
        McpErrorKind::NotReady => "not_ready",
        McpErrorKind::NoServer => "no_server",
        McpErrorKind::Full => "full",
        _ => "mcp",
    };
    local(kind, None, e.message)
}
