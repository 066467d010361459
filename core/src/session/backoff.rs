//! [`Backoff`]: spacing attempts after failures.
//!
//! Two things back off in a session: background refreshes after a failed
//! refresh (refresh-ahead and the proactive refresher; callers that need a
//! token still get one attempt each), and retries of storing tokens that
//! could not be saved. Both count failures in a row and block for the
//! policy's pause after that many (or the server's `Retry-After`, if
//! longer), on the monotonic clock: a wall clock set back must not freeze
//! refreshes.

use std::time::{Duration, Instant};

use crate::policy::RefreshPolicy;

/// Spacing of attempts after failures, on the monotonic clock.
#[derive(Default)]
pub(super) struct Backoff {
    failures: u32,
    blocked_until: Option<Instant>,
}

impl Backoff {
    /// Whether attempts are blocked at `now`.
    pub(super) fn blocked(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|until| until > now)
    }

    /// Records one more failure, blocking for `pause`.
    pub(super) fn fail(&mut self, pause: Duration) {
        self.failures = self.failures.saturating_add(1);
        self.blocked_until = Some(instant_after(pause));
    }

    /// Records one more failure in a row, blocking for the policy's pause
    /// after that many failures (or `retry_after_secs`, if longer).
    pub(super) fn fail_in_a_row(&mut self, policy: &RefreshPolicy, retry_after_secs: Option<u64>) {
        let failures = self.failures.saturating_add(1);
        self.fail(policy.pause_after_failure(failures, retry_after_secs));
    }

    /// Blocks for `pause` without counting a failure (a slot claimed for
    /// an attempt about to start).
    pub(super) fn hold(&mut self, pause: Duration) {
        self.blocked_until = Some(instant_after(pause));
    }

    /// How long attempts stay blocked from now.
    pub(super) fn remaining(&self) -> Duration {
        self.blocked_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(Instant::now()))
    }
}

/// `now + pause`, saturating at about a century.
fn instant_after(pause: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(pause)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}
