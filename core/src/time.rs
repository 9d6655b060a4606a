//! Time as the engine sees it: whatever the caller says it is.
//!
//! The engine never reads a clock. Every input and command takes `now`, an
//! [`Instant`]: a count of milliseconds from an origin the caller chooses (the
//! process start, the Unix epoch, zero in a test). Durations are
//! [`core::time::Duration`]. Time that goes backwards is treated as no time
//! passing.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time: milliseconds from a caller-chosen origin.
///
/// Arithmetic saturates: an `Instant` never wraps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms)
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<u64> for Instant {
    fn from(ms: u64) -> Instant {
        Instant(ms)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(ms))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

impl Add<u64> for Instant {
    type Output = Instant;
    /// Adds milliseconds.
    fn add(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t - Duration::from_millis(10), Instant::ZERO);
        assert_eq!(Instant::from_millis(u64::MAX) + 1000, Instant(u64::MAX));
        assert_eq!(t.saturating_duration_since(Instant::from_millis(9)), Duration::ZERO);
        assert_eq!(Instant::from_millis(9).saturating_duration_since(t), Duration::from_millis(4));
    }
}
