//! mqtt-engine bindings for python.
//!
//! Empty for now: the binding is built by its own issue. The crate exists so the
//! workspace layout of DESIGN §2 is complete and the crate keeps compiling
//! against the core as it grows.

pub use mqtt_engine::codec::Protocol;
