//! Request/response over MQTT 5 (DESIGN §6): the types and the state behind
//! [`crate::client::Client::request`], [`crate::client::Client::serve`] and
//! [`crate::client::Client::respond`].
//!
//! A request is a PUBLISH carrying a Response Topic and Correlation Data; a
//! response is a PUBLISH to that Response Topic echoing the Correlation Data.
//! The conventions on top of that, in User Properties (see `docs/RPC.md`):
//!
//! | name | in | value |
//! |---|---|---|
//! | `rpc-timeout-ms` | request | the time left to answer, in milliseconds |
//! | `rpc-status` | response | an HTTP-like status: 200 OK, 400, 404, 500, 503, 504 |
//! | `rpc-message` | response | a readable message, for errors |
//! | `rpc-stream` | response | `more` on every part of a stream but the last |
//!
//! Every request ends exactly once, with one [`RequestDone`] event; its
//! answers come before it as [`ResponseEvent`]s.

#[cfg(feature = "json")]
pub mod jsonrpc;
#[cfg(feature = "json")]
pub mod mcp;

use crate::codec::{ByteStr, Properties, Publish, QoS, ReasonCode};
use crate::time::Instant;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;
use bytes::Bytes;
use core::time::Duration;

/// User Property: the time left to answer a request, in milliseconds.
pub const TIMEOUT_MS: &str = "rpc-timeout-ms";
/// User Property: the status of a response (`200` for success).
pub const STATUS: &str = "rpc-status";
/// User Property: a readable message with a response, for errors.
pub const MESSAGE: &str = "rpc-message";
/// User Property: `more` on every part of a streamed response but the last.
pub const STREAM: &str = "rpc-stream";
/// The value of [`STREAM`] on parts that more parts follow.
pub const STREAM_MORE: &str = "more";

/// Status: success.
pub const STATUS_OK: u16 = 200;
/// Status: the request is malformed.
pub const STATUS_BAD_REQUEST: u16 = 400;
/// Status: no such method or resource.
pub const STATUS_NOT_FOUND: u16 = 404;
/// Status: the handler failed.
pub const STATUS_ERROR: u16 = 500;
/// Status: the responder cannot take the request now (its cache is full).
pub const STATUS_BUSY: u16 = 503;
/// Status: the handler did not finish in time.
pub const STATUS_TIMEOUT: u16 = 504;

/// Request/response settings, part of [`crate::client::Options`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcOptions {
    /// Prefix of our response topic when the server gives no Response
    /// Information: the topic is `{prefix}/{client id}` (default `replies`).
    pub response_prefix: ByteStr,
    /// Seed of the generator of Correlation Data. The engine has no source of
    /// randomness: hosts pass one (bindings take it from the OS).
    pub seed: u64,
    /// Requests pending at once (default 1,024); beyond, `request` is refused.
    pub max_pending: usize,
    /// Requests remembered by a responder to answer duplicates (default
    /// 16,384 with the `std` feature, 64 without). When full, answers whose
    /// request's lifetime has passed make room; when full of requests still
    /// live, new requests get status 503. A responder therefore serves up to
    /// `max_cached` requests per request lifetime (1,638/s for 10 s
    /// timeouts by default); each entry keeps the answer.
    pub max_cached: usize,
    /// How long a responder remembers an answer while the cache has room, and
    /// at least as long when the request states no lifetime (default 60 s).
    pub cache_ttl: Duration,
    /// QoS of requests and responses (default 1, so that a broker's PUBACK
    /// 0x10 No matching subscribers reports a missing service at once).
    pub qos: QoS,
}

impl Default for RpcOptions {
    fn default() -> Self {
        RpcOptions {
            response_prefix: ByteStr::from_static("replies"),
            seed: 0x9E37_79B9_7F4A_7C15,
            max_pending: 1024,
            max_cached: if cfg!(feature = "std") { 16_384 } else { 64 },
            cache_ttl: Duration::from_secs(60),
            qos: QoS::AtLeastOnce,
        }
    }
}

/// Identifies a request, ours or one we serve, for the client's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// How many answers a request waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Collect {
    /// One answer ends it.
    #[default]
    One,
    /// A stream: answers until one without `rpc-stream: more`.
    Stream,
    /// Answers from many responders (a broadcast query): until `max` answers,
    /// until `quiet` passes without one, or until the deadline.
    Many {
        /// Stop after this many answers.
        max: Option<usize>,
        /// Stop when this long passes without an answer (after the first).
        quiet: Option<Duration>,
    },
}

/// A request to make with [`crate::client::Client::request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Where to send it.
    pub topic: ByteStr,
    /// Its payload.
    pub payload: Bytes,
    /// How long to wait for answers; Message Expiry Interval and `rpc-timeout-ms`
    /// are derived from it.
    pub timeout: Duration,
    /// How many answers to wait for.
    pub collect: Collect,
    /// Correlation Data to use; 16 generated bytes when `None`.
    pub correlation_data: Option<Bytes>,
    /// Other PUBLISH properties (Content Type, User Properties, ...). The
    /// engine sets Response Topic, Correlation Data and Message Expiry.
    pub properties: Properties,
}

impl Request {
    /// A request for one answer within `timeout`.
    pub fn new(topic: impl Into<ByteStr>, payload: impl Into<Bytes>, timeout: Duration) -> Self {
        Request {
            topic: topic.into(),
            payload: payload.into(),
            timeout,
            collect: Collect::One,
            correlation_data: None,
            properties: Properties::default(),
        }
    }
}

/// An answer to give with [`crate::client::Client::respond`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status: [`STATUS_OK`] or an error status.
    pub status: u16,
    /// A readable message, for errors.
    pub message: Option<ByteStr>,
    /// The payload.
    pub payload: Bytes,
    /// More parts of a stream follow this one.
    pub more: bool,
    /// Other PUBLISH properties (Content Type, User Properties, ...).
    pub properties: Properties,
}

impl Response {
    /// A successful, final answer.
    pub fn ok(payload: impl Into<Bytes>) -> Self {
        Response {
            status: STATUS_OK,
            message: None,
            payload: payload.into(),
            more: false,
            properties: Properties::default(),
        }
    }

    /// A final error answer with a status and a readable message.
    pub fn error(status: u16, message: impl Into<ByteStr>) -> Self {
        Response { status, message: Some(message.into()), ..Response::ok(Bytes::new()) }
    }
}

/// A request received on a served filter ([`crate::client::Event::Request`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingRequest {
    /// Pass it to [`crate::client::Client::respond`].
    pub id: RequestId,
    /// The request as received.
    pub publish: Publish,
    /// When the requester stops waiting, if it said.
    pub deadline: Option<Instant>,
}

/// An answer to one of our requests ([`crate::client::Event::Response`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseEvent {
    /// The request it answers.
    pub request: RequestId,
    /// The answer as received.
    pub publish: Publish,
    /// Its `rpc-status`, if it carries one.
    pub status: Option<u16>,
    /// Its `rpc-message`, if it carries one.
    pub message: Option<ByteStr>,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Answered: one answer, the end of a stream, or a collection that
    /// reached its count, quiet gap or deadline with at least one answer.
    Completed,
    /// The deadline passed first.
    Timeout,
    /// [`crate::client::Client::cancel`].
    Cancelled,
    /// The broker said nobody is subscribed (PUBACK 0x10).
    NoResponders,
    /// The broker refused the request PUBLISH with this reason code.
    Refused(ReasonCode),
    /// The broker refused our response subscription with this reason code.
    SubscriptionRefused(ReasonCode),
    /// The session ended, and with it any answer.
    SessionLost,
}

/// The end of a request ([`crate::client::Event::RequestDone`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestDone {
    /// The request.
    pub request: RequestId,
    /// How it ended.
    pub end: End,
    /// How many answers it got.
    pub responses: usize,
}

/// Counters of what request/response dropped or absorbed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpcStats {
    /// Answers for a request that had already ended.
    pub late_responses: u64,
    /// Answers on our response topic with Correlation Data we never sent.
    pub unknown_responses: u64,
    /// Duplicates of a request still being handled, dropped.
    pub duplicates_in_progress: u64,
    /// Duplicates of an answered request, answered again from the cache.
    pub answered_from_cache: u64,
    /// Requests received after their deadline, not answered.
    pub expired_requests: u64,
    /// Requests refused with 503 because the cache was full.
    pub busy: u64,
}

/// How much request/response state a client holds, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpcLoad {
    /// Our requests pending (at most `max_pending`).
    pub pending: usize,
    /// Requests we are handling (each also in the cache).
    pub serving: usize,
    /// Requests remembered for duplicates, in progress or answered (at most
    /// `max_cached`).
    pub cached: usize,
}

/// A status from a User Property.
pub(crate) fn status_of(p: &Properties) -> Option<u16> {
    user_property(p, STATUS).and_then(|v| v.parse().ok())
}

/// The first value of a User Property.
pub(crate) fn user_property<'a>(p: &'a Properties, name: &str) -> Option<&'a ByteStr> {
    p.user_properties.iter().find(|(k, _)| k.as_bytes().as_ref() == name.as_bytes()).map(|(_, v)| v)
}

/// Seconds for a Message Expiry Interval: rounded up, at least 1.
pub(crate) fn expiry_secs(d: Duration) -> u32 {
    let ms = d.as_millis();
    u32::try_from(ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX)
}

/// Generates Correlation Data: 16 bytes of splitmix64 from the seed.
#[derive(Clone, Debug)]
pub(crate) struct Correlations(u64);

impl Correlations {
    pub(crate) fn new(seed: u64) -> Self {
        Correlations(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn next(&mut self) -> Bytes {
        let mut b = Vec::with_capacity(16);
        b.extend_from_slice(&self.next_u64().to_be_bytes());
        b.extend_from_slice(&self.next_u64().to_be_bytes());
        Bytes::from(b)
    }
}

/// Where one of our requests stands.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) collect: Collect,
    pub(crate) deadline: Instant,
    /// Collect::Many: when the quiet gap since the last answer ends.
    pub(crate) quiet_at: Option<Instant>,
    pub(crate) responses: usize,
    pub(crate) correlation: Bytes,
    /// The PUBLISH, held until the response subscription is acknowledged.
    pub(crate) held: Option<Publish>,
    /// The request PUBLISH's packet identifier, until its PUBACK.
    pub(crate) packet_id: Option<u16>,
    /// The topic its answers come on (whose subscription it may wait for).
    pub(crate) answer_topic: ByteStr,
}

/// Our requests: by id, by Correlation Data, and by deadline.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    pub(crate) pending: BTreeMap<u64, Pending>,
    pub(crate) by_correlation: BTreeMap<Bytes, u64>,
    /// (the next time the request needs attention, id).
    timers: BTreeSet<(Instant, u64)>,
    /// Correlation Data of requests that ended recently, to tell late answers
    /// from unknown ones (bounded).
    ended: VecDeque<Bytes>,
}

const ENDED_KEPT: usize = 64;

impl Requests {
    fn timer_of(p: &Pending) -> Instant {
        p.quiet_at.map_or(p.deadline, |q| q.min(p.deadline))
    }

    pub(crate) fn insert(&mut self, id: u64, p: Pending) {
        self.timers.insert((Self::timer_of(&p), id));
        self.by_correlation.insert(p.correlation.clone(), id);
        self.pending.insert(id, p);
    }

    /// Applies `f` to a pending request and re-indexes its timer.
    pub(crate) fn update(&mut self, id: u64, f: impl FnOnce(&mut Pending)) {
        if let Some(p) = self.pending.get_mut(&id) {
            self.timers.remove(&(Self::timer_of(p), id));
            f(p);
            self.timers.insert((Self::timer_of(p), id));
        }
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        self.timers.remove(&(Self::timer_of(&p), id));
        self.by_correlation.remove(&p.correlation);
        if self.ended.len() >= ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back(p.correlation.clone());
        Some(p)
    }

    pub(crate) fn recently_ended(&self, correlation: &[u8]) -> bool {
        self.ended.iter().any(|c| c.as_ref() == correlation)
    }

    /// The earliest time a request needs attention.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// A request whose timer is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> Option<u64> {
        self.timers.first().filter(|&&(t, _)| t <= now).map(|&(_, id)| id)
    }
}

/// A responder's memory of one request, by (Response Topic, Correlation Data).
/// A later request under the same key is a duplicate only if it is the same
/// request: the same [`fingerprint`] of topic and payload.
#[derive(Clone, Debug)]
pub(crate) enum Cached {
    /// Being handled: duplicates are dropped.
    InProgress { fingerprint: u64 },
    /// Answered: duplicates get this answer again, until `until`. Until
    /// `needed_until` (the end of the request's own lifetime) the entry is
    /// never evicted; after it, it may make room for a new request.
    Done {
        answer: alloc::boxed::Box<Publish>,
        until: Instant,
        needed_until: Instant,
        fingerprint: u64,
    },
}

/// What makes a redelivery the same request: its topic and payload
/// (FNV-1a, 64 bits).
pub(crate) fn fingerprint(p: &Publish) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let bytes = p.topic.as_bytes().iter().chain(&[0xFF]).chain(p.payload.iter());
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// What the cache says of a request that arrived.
pub(crate) enum Seen {
    /// The same request is being handled: drop this one.
    InProgress,
    /// The same request was answered: send this answer again.
    Answered(alloc::boxed::Box<Publish>),
    /// Not seen (or another request under the same key, now forgotten).
    New,
}

/// A request we are handling.
#[derive(Clone, Debug)]
pub(crate) struct Serving {
    /// (Response Topic, Correlation Data), or for JSON-RPC (the device's tx
    /// topic, the request `id` as JSON text).
    pub(crate) key: (ByteStr, Bytes),
    /// The request's fingerprint, when its answer is remembered (not for a
    /// request without Correlation Data: nothing tells its duplicates apart).
    pub(crate) fingerprint: Option<u64>,
    /// For JSON-RPC: the request `id` as JSON text, echoed in the answer.
    pub(crate) jsonrpc_id: Option<alloc::string::String>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) qos: QoS,
    /// How long the answer is remembered while the cache has room.
    pub(crate) keep: Duration,
    /// How long the answer must be remembered: the request's own remaining
    /// lifetime (or `keep` when it states none).
    pub(crate) needed: Duration,
}

/// The responder side: served filters, requests being handled, the cache.
#[derive(Debug, Default)]
pub(crate) struct Responder {
    /// Served topic filters: the filter subscribed (perhaps
    /// `$share/{group}/{filter}`) and the plain filter topics match.
    pub(crate) filters: Vec<(ByteStr, ByteStr)>,
    /// Devices served with JSON-RPC: their rx topics.
    #[cfg(feature = "json")]
    pub(crate) devices: Vec<ByteStr>,
    pub(crate) serving: BTreeMap<u64, Serving>,
    pub(crate) cache: BTreeMap<(ByteStr, Bytes), Cached>,
}

impl Responder {
    /// Drops answers remembered past their time, then, if the cache is still
    /// full, answers whose request can no longer be delivered; true if the
    /// cache has room.
    pub(crate) fn make_room(&mut self, now: Instant, max: usize) -> bool {
        if self.cache.len() < max {
            return true;
        }
        self.cache.retain(|_, c| !matches!(c, Cached::Done { until, .. } if *until <= now));
        if self.cache.len() < max {
            return true;
        }
        self.cache
            .retain(|_, c| !matches!(c, Cached::Done { needed_until, .. } if *needed_until <= now));
        self.cache.len() < max
    }

    /// Looks a request up: the same request in progress or answered (and
    /// still remembered) under `key`, or new. A different request under the
    /// same key replaces the entry.
    pub(crate) fn seen(&mut self, key: &(ByteStr, Bytes), fp: u64, now: Instant) -> Seen {
        match self.cache.get(key) {
            Some(Cached::InProgress { fingerprint }) if *fingerprint == fp => Seen::InProgress,
            Some(Cached::Done { answer, until, fingerprint, .. })
                if *fingerprint == fp && *until > now =>
            {
                Seen::Answered(answer.clone())
            }
            Some(_) => {
                self.cache.remove(key);
                Seen::New
            }
            None => Seen::New,
        }
    }

    pub(crate) fn serves(&self, topic: &str) -> bool {
        self.filters.iter().any(|(_, f)| crate::topic::matches(f, topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_up_to_whole_seconds_at_least_one() {
        assert_eq!(expiry_secs(Duration::from_millis(1)), 1);
        assert_eq!(expiry_secs(Duration::from_millis(1000)), 1);
        assert_eq!(expiry_secs(Duration::from_millis(1001)), 2);
        assert_eq!(expiry_secs(Duration::ZERO), 1);
    }

    #[test]
    fn correlation_data_is_16_bytes_and_does_not_repeat() {
        let mut c = Correlations::new(7);
        let mut seen = BTreeSet::new();
        for _ in 0..10_000 {
            let b = c.next();
            assert_eq!(b.len(), 16);
            assert!(seen.insert(b));
        }
    }
}
