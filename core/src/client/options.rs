//! [`Options`]: what a [`super::Client`] asks of the server and how it bounds itself.

use crate::codec::{ByteStr, Protocol, Will};
use alloc::vec::Vec;
use bytes::Bytes;
use core::time::Duration;

/// Everything a [`super::Client`] is configured with.
///
/// The first group of fields goes into CONNECT; the second bounds the engine.
/// Build with struct update syntax:
///
/// ```
/// use mqtt_engine::client::Options;
/// let opts = Options { client_id: "sensor-7".into(), keep_alive: 30, ..Options::default() };
/// assert_eq!(opts.receive_maximum, 65_535);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Protocol version (default 5.0).
    pub protocol: Protocol,
    /// Client Identifier; empty asks the server to assign one (default empty).
    pub client_id: ByteStr,
    /// Clean Start (5.0) / Clean Session (3.1.1) of the first connection
    /// (default true). Later connections ask to resume whenever the session can
    /// have outlived the previous connection; see [`super::Client::connect`].
    ///
    /// `false` on a new client resumes the server's session (its
    /// subscriptions and queued messages) with an empty local state: nothing
    /// of ours was in flight. To resume our own messages in flight across a
    /// restart, [`super::Client::restore`] a snapshot instead.
    pub clean_start: bool,
    /// Keep Alive in seconds, 0 for none (default 60). A Server Keep Alive in
    /// CONNACK replaces it [MQTT-3.1.2-21].
    pub keep_alive: u16,
    /// Session Expiry Interval in seconds (5.0; default 0: the session ends
    /// with the connection). `u32::MAX` means the session never expires.
    pub session_expiry_interval: u32,
    /// Receive Maximum announced to the server: how many QoS 1 and 2 messages
    /// it may have unacknowledged towards us (5.0; default 65,535). More is a
    /// protocol violation answered with DISCONNECT 0x93.
    pub receive_maximum: u16,
    /// Maximum Packet Size this client accepts, in bytes, announced in 5.0 and
    /// enforced in both versions before a packet is buffered (default 1 MiB).
    pub maximum_packet_size: u32,
    /// Topic Alias Maximum announced to the server: how many inbound aliases we
    /// keep (5.0; default 16, 0 for none).
    pub topic_alias_maximum: u16,
    /// Ask for Response Information in CONNACK (5.0; default false).
    pub request_response_information: bool,
    /// Request Problem Information (5.0; default true: the server may send
    /// Reason Strings and User Properties on any packet).
    pub request_problem_information: bool,
    /// User Properties of CONNECT (5.0).
    pub user_properties: Vec<(ByteStr, ByteStr)>,
    /// The Will Message.
    pub will: Option<Will>,
    /// User Name.
    pub username: Option<ByteStr>,
    /// Password.
    pub password: Option<Bytes>,
    /// Authentication Method for enhanced authentication (5.0). With it set the
    /// server may answer CONNECT with AUTH challenges, surfaced as
    /// [`super::Event::Auth`] and answered with [`super::Client::auth`].
    pub authentication_method: Option<ByteStr>,
    /// Initial Authentication Data for CONNECT (5.0).
    pub authentication_data: Option<Bytes>,

    /// How long to wait for CONNACK (and any AUTH exchange) after CONNECT
    /// (default 30 s).
    pub connect_timeout: Duration,
    /// How long to wait for PINGRESP after PINGREQ before the connection is
    /// declared dead (default: the keep-alive interval).
    pub pingresp_timeout: Option<Duration>,
    /// Use Topic Aliases on outbound PUBLISH when the server allows them
    /// (default true). The first aliases go to the first topics published, up
    /// to the server's Topic Alias Maximum; other topics are sent in full.
    pub outbound_topic_aliases: bool,
    /// A cap on outbound QoS 1 and 2 messages in flight, below the server's
    /// Receive Maximum (default 65,535, i.e. the server's limit governs).
    pub max_inflight: u16,
    /// Messages accepted but not yet sent (waiting for send quota, for
    /// CONNACK, or with `offline_queue` for a connection), and separately
    /// SUBSCRIBE / UNSUBSCRIBE queued or awaiting their ack (default 1,024
    /// each). A command beyond it fails with a queue-full error.
    pub max_queued: usize,
    /// Accept publish, subscribe and unsubscribe while no connection is open,
    /// and send them, in order, once connected (default false: such commands
    /// fail with a not-connected error).
    pub offline_queue: bool,
    /// Acknowledge inbound QoS 1 and 2 messages only when the application calls
    /// [`super::Client::ack`] (default false: acknowledged on receipt). Acks
    /// still go out in the order the messages arrived [MQTT-4.6.0-2].
    pub manual_ack: bool,
    /// Events held before [`super::Client::handle_bytes`] refuses more input
    /// until the application drains them (default 1,024).
    pub max_events: usize,
    /// Bytes awaiting [`super::Client::poll_transmit`] beyond which publish,
    /// subscribe and unsubscribe are refused (default 1 MiB). Protocol replies
    /// (acks, pings) are never refused.
    pub max_transmit_bytes: usize,
    /// Request/response settings.
    pub rpc: crate::rpc::RpcOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            protocol: Protocol::V5,
            client_id: ByteStr::new(),
            clean_start: true,
            keep_alive: 60,
            session_expiry_interval: 0,
            receive_maximum: u16::MAX,
            maximum_packet_size: 1 << 20,
            topic_alias_maximum: 16,
            request_response_information: false,
            request_problem_information: true,
            user_properties: Vec::new(),
            will: None,
            username: None,
            password: None,
            authentication_method: None,
            authentication_data: None,
            connect_timeout: Duration::from_secs(30),
            pingresp_timeout: None,
            outbound_topic_aliases: true,
            max_inflight: u16::MAX,
            max_queued: 1024,
            offline_queue: false,
            manual_ack: false,
            max_events: 1024,
            max_transmit_bytes: 1 << 20,
            rpc: crate::rpc::RpcOptions::default(),
        }
    }
}
