//! Python bindings of mqtt-engine: the native module `mqtt_engine._native`.
//!
//! The Python package (`python/mqtt_engine`) re-exports everything defined
//! here; `python/mqtt_engine/_native.pyi` types it. The module holds:
//!
//! - the codec: `decode`, `encode`, `Decoder`, `packet_from_dict` and the
//!   fifteen packet classes with `Properties`, `Will` and `Subscription`
//!   ([`packets`], [`props`]);
//! - the sans-IO `Client` ([`client`]) and its events ([`events`]);
//! - the MCP over MQTT roles `McpServer` and `McpClient` ([`mcp`]);
//! - the exceptions `MqttError` > `LocalProtocolError`,
//!   `RemoteProtocolError` > `DecodeError` ([`errors`]).
//!
//! Bad input raises a Python exception, never a panic: every fallible
//! engine call is mapped to one of the exceptions above, with the MQTT
//! reason code where one applies.

pub mod client;
pub mod convert;
pub mod errors;
pub mod events;
pub mod mcp;
pub mod packets;
pub mod props;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MqttError", py.get_type::<errors::MqttError>())?;
    m.add("LocalProtocolError", py.get_type::<errors::LocalProtocolError>())?;
    m.add("RemoteProtocolError", py.get_type::<errors::RemoteProtocolError>())?;
    m.add("DecodeError", py.get_type::<errors::DecodeError>())?;
    errors::init_classes(py)?;
    m.add_class::<props::Properties>()?;
    m.add_class::<props::Will>()?;
    packets::register(m)?;
    events::register(m)?;
    m.add_class::<client::Client>()?;
    mcp::register(m)?;
    // The type aliases of the stubs, as `typing.Union`s at run time.
    let union = py.import("typing")?.getattr("Union")?;
    let of = |names: &[&str]| -> PyResult<Bound<'_, PyAny>> {
        let classes = names.iter().map(|n| m.getattr(*n)).collect::<PyResult<Vec<_>>>()?;
        union.get_item(PyTuple::new(py, classes)?)
    };
    m.add(
        "Packet",
        of(&[
            "Connect",
            "Connack",
            "Publish",
            "PubAck",
            "PubRec",
            "PubRel",
            "PubComp",
            "Subscribe",
            "Suback",
            "Unsubscribe",
            "Unsuback",
            "PingReq",
            "PingResp",
            "Disconnect",
            "Auth",
        ])?,
    )?;
    m.add(
        "Event",
        of(&[
            "Connected",
            "Disconnected",
            "Message",
            "Published",
            "PublishDropped",
            "Subscribed",
            "Unsubscribed",
            "Auth",
            "Request",
            "Response",
            "RequestDone",
        ])?,
    )?;
    m.add(
        "McpServerEvent",
        of(&[
            "McpOnline",
            "McpStartFailed",
            "McpInitialize",
            "McpClientRequest",
            "McpClientNotification",
            "McpClientResponse",
            "McpClientOffline",
        ])?,
    )?;
    m.add(
        "McpClientEvent",
        of(&[
            "McpServerOnline",
            "McpServerOffline",
            "McpDiscoveryRefused",
            "McpInitialized",
            "McpCallDone",
            "McpSessionClosed",
            "McpServerNotification",
            "McpServerRequest",
        ])?,
    )?;
    // setattr, not add: pyo3 lists what `add` adds in `__all__`.
    m.setattr("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
