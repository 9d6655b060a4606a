//! # mqtt-engine
//!
//! A sans-IO MQTT 3.1.1 / 5.0 engine. Bytes and the current time go in; bytes
//! to send, events and the next deadline come out. The engine never opens a
//! socket, never reads a clock and never spawns a thread.
//!
//! This release contains the [`codec`]: a strict, zero-copy encoder and decoder
//! for all fifteen MQTT control packets in both protocol versions and both
//! directions, and the [`topic`] rules for topic names and filters.
//!
//! The crate is `#![no_std]` with `alloc`; the default `std` feature adds
//! `std::error::Error` implementations. The `serde` feature adds the JSON form
//! of every packet (see [`codec`]).

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod client;
pub mod codec;
pub mod rpc;
pub mod time;
pub mod topic;

pub use bytes::Bytes;
pub use client::{Client, Event, Options, State};
pub use codec::{ByteStr, DecodeError, Decoder, EncodeError, Packet, Protocol, QoS, ReasonCode};
pub use time::Instant;

/// The README's Rust example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
