//! Errors of the client: [`LocalError`] for a command the engine refuses (it
//! changes nothing), [`ProtocolError`] for a peer that broke the protocol (the
//! connection is closed), and [`Error`] for inputs that can fail either way.

use crate::codec::ReasonCode;
use core::fmt;

/// What kind of local misuse a [`LocalError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LocalErrorKind {
    /// The command needs an open connection (or `offline_queue`).
    NotConnected,
    /// `connect` while a connection is open or being opened.
    AlreadyConnected,
    /// A topic name, topic filter or other field is not valid.
    Invalid,
    /// The server does not allow it: QoS above Maximum QoS, RETAIN without
    /// Retain Available, wildcard / shared subscriptions or Subscription
    /// Identifiers it does not support, a packet above its Maximum Packet Size.
    NotSupported,
    /// A bounded queue is full (queued messages, packet identifiers, events,
    /// transmit bytes): drain outputs or wait for acknowledgements.
    QueueFull,
    /// The packet identifier names no message awaiting the application's ack.
    UnknownPacketId,
    /// AUTH without an Authentication Method, or at a time it is not expected.
    Auth,
    /// The request id names no pending request (or one already answered).
    UnknownRequest,
    /// The session snapshot could not be read.
    Snapshot,
}

/// A command the engine refused. Nothing changed: no bytes, no events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalError {
    /// What kind of misuse this is.
    pub kind: LocalErrorKind,
    /// The MQTT reason code a server would give for it (for example 0x9B QoS
    /// not supported, 0x95 Packet too large, 0x90 Topic Name invalid), or
    /// 0x83 Implementation specific error where MQTT defines none.
    pub reason_code: ReasonCode,
    /// What is wrong.
    pub message: &'static str,
}

impl LocalError {
    pub(crate) const fn new(
        kind: LocalErrorKind,
        reason_code: ReasonCode,
        message: &'static str,
    ) -> Self {
        LocalError { kind, reason_code, message }
    }

    pub(crate) const fn implementation(kind: LocalErrorKind, message: &'static str) -> Self {
        Self::new(kind, ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, message)
    }
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason_code, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LocalError {}

/// The server broke the protocol. The engine queued a DISCONNECT with
/// `reason_code` (MQTT 5.0), moved to [`super::State::Closed`] and queued a
/// [`super::Event::Disconnected`]; the host should send what
/// [`super::Client::poll_transmit`] gives and close the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// The reason code sent in DISCONNECT: 0x81 Malformed Packet, 0x82
    /// Protocol Error, 0x93 Receive Maximum exceeded, 0x94 Topic Alias invalid,
    /// 0x95 Packet too large, ...
    pub reason_code: ReasonCode,
    /// What the server did wrong.
    pub message: &'static str,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason_code, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// An input failed: a local refusal or a protocol violation by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Refused locally; nothing changed (for input: nothing was consumed).
    Local(LocalError),
    /// The peer broke the protocol; the connection is closed.
    Protocol(ProtocolError),
}

impl Error {
    /// The MQTT reason code of either kind.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::Local(e) => e.reason_code,
            Error::Protocol(e) => e.reason_code,
        }
    }
}

impl From<LocalError> for Error {
    fn from(e: LocalError) -> Self {
        Error::Local(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Local(e) => e.fmt(f),
            Error::Protocol(e) => write!(f, "protocol violation by the server: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
