//! The clock every expiry decision reads.
//!
//! Token lifetimes are minutes to weeks; tests cannot wait that long. Every
//! place in tokenkeep that asks "what time is it?" asks a [`Clock`], which is
//! either the system clock or a [`ManualClock`] that tests (in any language)
//! move forward by hand, so hours of token life run in milliseconds.
//!
//! Times are Unix milliseconds (`i64`). Expiry is computed at receipt from the
//! server's `expires_in` (RFC 6749 §5.1), so it is relative to this clock, not
//! to the server's.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a session reads the time from.
#[derive(Clone, Default)]
pub enum Clock {
    /// The operating system's wall clock.
    #[default]
    System,
    /// A clock that only moves when told to (tests, simulations).
    Manual(Arc<ManualClock>),
}

impl Clock {
    /// The current time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => system_now_ms(),
            Clock::Manual(clock) => clock.now_unix_ms(),
        }
    }

    /// Whether this is a manual clock (background work polls it instead of
    /// sleeping until a deadline).
    pub(crate) fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }
}

pub(crate) fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A clock that stands still until it is advanced.
///
/// Give it to a session with `TokenKeeperOptions::clock` and move it
/// with [`ManualClock::advance_secs`]: a token that expires in an hour is
/// expired after `advance_secs(3600)`, without waiting.
#[derive(Debug, uniffi::Object)]
#[uniffi::export(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

#[uniffi::export]
impl ManualClock {
    /// A manual clock that starts at the current system time.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Self::starting_at(system_now_ms())
    }

    /// A manual clock that starts at `unix_ms`.
    #[uniffi::constructor]
    pub fn starting_at(unix_ms: i64) -> Arc<Self> {
        Arc::new(ManualClock {
            now_ms: AtomicI64::new(unix_ms),
        })
    }

    /// The clock's current time in Unix milliseconds.
    pub fn now_unix_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `secs` seconds (backwards when negative).
    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    /// Moves the clock forward by `ms` milliseconds, backwards when negative
    /// (stopping at either end of time rather than wrapping round).
    pub fn advance_ms(&self, ms: i64) {
        let delta = ms;
        let _ = self.now_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
            Some(now.saturating_add(delta))
        });
    }

    /// Sets the clock to `unix_ms` (backwards too, to simulate a clock jump).
    pub fn set_unix_ms(&self, unix_ms: i64) {
        self.now_ms.store(unix_ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_at(1_000);
        let source = Clock::Manual(clock.clone());
        assert_eq!(source.now_ms(), 1_000);
        clock.advance_secs(3_600);
        assert_eq!(source.now_ms(), 3_601_000);
        clock.set_unix_ms(5);
        assert_eq!(source.now_ms(), 5);
    }

    /// Issue 10, case 10: advancing past the end of time saturates.
    #[test]
    fn advancing_saturates_instead_of_wrapping() {
        let clock = ManualClock::starting_at(i64::MAX - 10);
        clock.advance_secs(i64::MAX);
        assert_eq!(clock.now_unix_ms(), i64::MAX);
        clock.advance_ms(i64::MAX);
        assert_eq!(clock.now_unix_ms(), i64::MAX);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(Clock::System.now_ms() > 1_577_836_800_000);
    }
}
