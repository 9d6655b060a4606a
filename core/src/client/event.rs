//! [`Event`]: what the client tells the application, drained with
//! [`super::Client::poll_event`].

use crate::codec::{ByteStr, Properties, Publish, QoS, ReasonCode};
use alloc::vec::Vec;

/// Something the application should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// CONNACK with Success: the connection is open.
    Connected(Connected),
    /// The connection is over, for the reason given. Session state is kept
    /// for the next [`super::Client::connect`] where the session can resume.
    Disconnected(Disconnected),
    /// An application message from the server. Its `topic` is resolved from
    /// any Topic Alias. In manual-ack mode a QoS 1 or 2 message waits for
    /// [`super::Client::ack`] with its `packet_id`.
    Message(Publish),
    /// The QoS 1 or 2 flow of a message we published has ended: PUBACK, PUBCOMP,
    /// or a PUBREC with an error code.
    Published(Published),
    /// A message we accepted will never be delivered by this session.
    PublishDropped(PublishDropped),
    /// SUBACK: one reason code per requested filter.
    Subscribed(Acked),
    /// UNSUBACK: one reason code per filter (all Success in 3.1.1).
    Unsubscribed(Acked),
    /// AUTH from the server: a challenge (0x18 Continue authentication) to
    /// answer with [`super::Client::auth`], or the Success that ends a
    /// re-authentication.
    Auth(AuthEvent),
    /// A request arrived on a filter we serve ([`super::Client::serve`]):
    /// answer it with [`super::Client::respond`].
    Request(crate::rpc::IncomingRequest),
    /// An answer to one of our requests ([`super::Client::request`]).
    Response(crate::rpc::ResponseEvent),
    /// One of our requests ended; exactly one per request, after its answers.
    RequestDone(crate::rpc::RequestDone),
}

/// A successful CONNACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    /// Session Present: the server resumed our session; messages in flight
    /// were re-sent.
    pub session_present: bool,
    /// The CONNACK properties as received (5.0). The negotiated values are
    /// also in [`super::Client::server`].
    pub properties: Properties,
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisconnectCause {
    /// The server sent DISCONNECT.
    Server,
    /// The server refused CONNECT with an error CONNACK.
    Refused,
    /// The server broke the protocol; we sent DISCONNECT with the reason code.
    ProtocolViolation,
    /// No PINGRESP within the PINGRESP timeout: the connection is dead.
    KeepAliveTimeout,
    /// No CONNACK within the connect timeout.
    ConnectTimeout,
    /// The transport closed without DISCONNECT ([`super::Client::handle_closed`]).
    ConnectionLost,
    /// The application called [`super::Client::disconnect`].
    Client,
}

/// The end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnected {
    /// Who or what ended it.
    pub cause: DisconnectCause,
    /// The MQTT reason code: the server's DISCONNECT or CONNACK code, the code
    /// we sent, 0x8D Keep Alive timeout, or 0x00 for a normal close. For a
    /// refused 3.1.1 CONNACK, the 5.0 code equivalent to its return code.
    pub reason_code: ReasonCode,
    /// What went wrong, from the server's Reason String or from the engine.
    pub reason_string: Option<ByteStr>,
    /// Server Reference: another server to use (5.0, with 0x9C or 0x9D).
    pub server_reference: Option<ByteStr>,
    /// User Properties of the server's DISCONNECT or CONNACK.
    pub user_properties: Vec<(ByteStr, ByteStr)>,
}

/// The end of an outbound QoS 1 or 2 flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The packet identifier [`super::Client::publish`] returned.
    pub packet_id: u16,
    /// The QoS the message was sent with.
    pub qos: QoS,
    /// The reason code of the PUBACK, PUBREC (if an error) or PUBCOMP. 0x10 No
    /// matching subscribers is a success: the message was accepted.
    pub reason_code: ReasonCode,
    /// Reason String of the acknowledgement.
    pub reason_string: Option<ByteStr>,
    /// User Properties of the acknowledgement.
    pub user_properties: Vec<(ByteStr, ByteStr)>,
}

/// Why a message will not be delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The server did not resume the session (Session Present 0): messages in
    /// flight were discarded with it [MQTT-3.2.2-5].
    SessionLost,
    /// A queued message the server's limits (Maximum QoS, Retain Available,
    /// Maximum Packet Size) learnt at CONNACK do not allow.
    NotAllowed,
}

/// A message that will not be delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishDropped {
    /// The packet identifier [`super::Client::publish`] returned (None for QoS 0).
    pub packet_id: Option<u16>,
    /// The message's topic.
    pub topic: ByteStr,
    /// Why.
    pub reason: DropReason,
    /// The MQTT reason code closest to why (0x9B, 0x9A, 0x95, 0x80).
    pub reason_code: ReasonCode,
}

/// SUBACK or UNSUBACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    /// The packet identifier [`super::Client::subscribe`] or
    /// [`super::Client::unsubscribe`] returned.
    pub packet_id: u16,
    /// One code per filter, in request order: the granted QoS (0, 1, 2) or an
    /// error (0x80 and above).
    pub reason_codes: Vec<ReasonCode>,
    /// Properties of the ack (Reason String, User Properties; 5.0).
    pub properties: Properties,
}

/// An AUTH packet from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthEvent {
    /// 0x18 Continue authentication (answer it) or 0x00 Success
    /// (re-authentication done).
    pub reason_code: ReasonCode,
    /// The AUTH properties: Authentication Method and Data, Reason String,
    /// User Properties.
    pub properties: Properties,
}
