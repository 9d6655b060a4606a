//! MCP over MQTT: the server and client roles bound to a `Client`.

use crate::client::Client;
use mqtt_engine::client::Event;
use mqtt_engine::time::Instant;
use pyo3::prelude::*;

/// An MCP role attached to a client.
pub(crate) enum Role {}

impl Role {
    /// The role's Python object.
    pub(crate) fn object(&self, _py: Python<'_>) -> Py<PyAny> {
        match *self {}
    }
}

/// Binds `role` to `client`.
pub(crate) fn attach(
    _py: Python<'_>,
    _client: &mut Client,
    _role: &Bound<'_, PyAny>,
) -> PyResult<()> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err("MCP roles are not built yet"))
}

/// Passes a client event through the attached role.
pub(crate) fn route(_py: Python<'_>, _client: &mut Client, e: Event) -> PyResult<Option<Event>> {
    Ok(Some(e))
}

/// The attached role's timers.
pub(crate) fn role_timeout(_py: Python<'_>, _client: &mut Client, _now: Instant) -> PyResult<()> {
    Ok(())
}

/// The attached role's next deadline.
pub(crate) fn role_poll_timeout(_py: Python<'_>, _client: &Client) -> PyResult<Option<Instant>> {
    Ok(None)
}

/// Registers the MCP classes.
pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
