//! Topic aliases (MQTT 5.0 §3.3.2.3.4), both ways, for one connection only
//! [MQTT-3.3.2-7]: both maps are cleared whenever a connection ends.

use crate::codec::ByteStr;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Aliases we assign to topics we publish.
///
/// The first `max` distinct topics get aliases 1..=max in the order they are
/// first published; later topics go in full. A topic that has an alias is sent
/// with an empty Topic Name after its first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbound {
    max: u16,
    map: BTreeMap<ByteStr, u16>,
}

/// How to send one PUBLISH's topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Topic name only.
    Plain,
    /// Topic name and a new alias for it.
    Establish(u16),
    /// Empty topic name and the alias.
    Alias(u16),
}

impl Outbound {
    /// Starts a connection on which the server accepts `max` aliases.
    pub(crate) fn reset(&mut self, max: u16) {
        self.max = max;
        self.map.clear();
    }

    /// How to send `topic`. An [`Use::Establish`] takes effect only once
    /// [`Outbound::established`] records it, after the packet was sent.
    pub(crate) fn choose(&self, topic: &ByteStr) -> Use {
        if self.max == 0 {
            return Use::Plain;
        }
        if let Some(&alias) = self.map.get(topic) {
            return Use::Alias(alias);
        }
        if self.map.len() < self.max as usize {
            // Aliases are handed out 1, 2, ... and never freed within a
            // connection, so the next is one past the count [MQTT-3.3.2-8].
            return Use::Establish(self.map.len() as u16 + 1);
        }
        Use::Plain
    }

    /// Records that `topic` was sent with the new `alias`.
    pub(crate) fn established(&mut self, topic: &ByteStr, alias: u16) {
        self.map.insert(topic.clone(), alias);
    }
}

/// Aliases the server assigns to topics it sends us.
#[derive(Clone, Debug, Default)]
pub(crate) struct Inbound {
    topics: Vec<Option<ByteStr>>,
}

/// Why an inbound alias is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// 0 or above our Topic Alias Maximum.
    OutOfRange,
    /// An empty Topic Name with an alias never established on this connection.
    Unknown,
}

impl Inbound {
    pub(crate) fn clear(&mut self) {
        self.topics.clear();
    }

    /// Resolves or records an alias. `topic` is the PUBLISH's Topic Name
    /// (empty to use the alias); returns the full topic.
    pub(crate) fn resolve(
        &mut self,
        max: u16,
        alias: u16,
        topic: &ByteStr,
    ) -> Result<ByteStr, Refused> {
        if alias == 0 || alias > max {
            return Err(Refused::OutOfRange);
        }
        let at = alias as usize - 1;
        if topic.is_empty() {
            return self.topics.get(at).cloned().flatten().ok_or(Refused::Unknown);
        }
        if self.topics.len() <= at {
            self.topics.resize(at + 1, None);
        }
        self.topics[at] = Some(topic.clone());
        Ok(topic.clone())
    }
}
