//! Session state (MQTT 5.0 §4.1): what must survive a connection to resume it.
//!
//! - [`IdSet`]: packet identifiers in use, so none collides [MQTT-2.2.1-3].
//! - [`Outgoing`]: a QoS 1 or 2 message we sent and the stage of its flow, kept
//!   in send order so a resume re-sends in the original order [MQTT-4.6.0-1].
//! - [`InboundAck`]: a QoS 1 or 2 message received, awaiting our ack, kept in
//!   arrival order so acks go out in that order [MQTT-4.6.0-2], [MQTT-4.6.0-3].

use crate::codec::{Publish, ReasonCode};
use alloc::vec::Vec;

/// A set of packet identifiers, sorted.
///
/// Identifiers are allocated upwards from the last one given and start again
/// at 1 whenever the set is empty, so in the common case (a few messages in
/// flight) the set is a handful of entries at its end and every operation is
/// a push or a pop.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdSet {
    ids: Vec<u16>,
    next: u16,
}

impl IdSet {
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn contains(&self, id: u16) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// Adds `id`; false if it was present.
    pub(crate) fn insert(&mut self, id: u16) -> bool {
        match self.ids.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.ids.insert(at, id);
                true
            }
        }
    }

    /// Removes `id`; false if it was absent.
    pub(crate) fn remove(&mut self, id: u16) -> bool {
        match self.ids.binary_search(&id) {
            Ok(at) => {
                self.ids.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Allocates an unused non-zero identifier; `None` when all 65,535 are in use.
    pub(crate) fn allocate(&mut self) -> Option<u16> {
        if self.ids.is_empty() {
            self.next = 1;
        }
        if self.ids.len() >= u16::MAX as usize {
            return None;
        }
        let mut id = self.next.max(1);
        while self.contains(id) {
            id = id.checked_add(1).unwrap_or(1);
        }
        self.next = id.checked_add(1).unwrap_or(1);
        self.insert(id);
        Some(id)
    }

    pub(crate) fn clear(&mut self) {
        self.ids.clear();
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ids.iter().copied()
    }
}

/// Where an outbound QoS 1 or 2 flow stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// PUBLISH sent (QoS 1 or 2), waiting for PUBACK or PUBREC.
    Published,
    /// PUBREL sent, waiting for PUBCOMP; the PUBLISH is never sent again
    /// [MQTT-4.3.3-6].
    Released,
}

/// An outbound QoS 1 or 2 message in flight.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) stage: Stage,
    /// The message with its full topic name (never an alias), its packet
    /// identifier set. Once released only `packet_id`, `qos` and `topic` matter.
    pub(crate) publish: Publish,
}

impl Outgoing {
    pub(crate) fn id(&self) -> u16 {
        self.publish.packet_id.unwrap_or(0)
    }
}

/// Which ack an inbound message gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckKind {
    Puback,
    Pubrec,
}

/// An inbound QoS 1 or 2 message waiting for its ack to go out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InboundAck {
    pub(crate) id: u16,
    pub(crate) kind: AckKind,
    /// Set once the application (or the engine, in auto-ack mode) acked it.
    pub(crate) code: Option<ReasonCode>,
}
