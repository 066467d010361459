//! The background refresher (`RefreshPolicy::proactive_refresh`).
//!
//! Without it, a refresh happens when a caller asks for a token inside the
//! refresh-ahead window or after expiry. With it, a task on tokenkeep's
//! runtime refreshes when the refresh becomes due (refresh-ahead window, or
//! the refresh token's keep-alive window) even if nobody asks, so a session
//! that sits idle for days still has a live refresh token and a fresh access
//! token when it is next used.
//!
//! The task holds only a weak reference between wake-ups: dropping the last
//! `TokenKeeper` ends it. It sleeps until the next due time (at most
//! [`MAX_SLEEP`], so a suspended laptop catches up soon after waking), wakes
//! early when the tokens change, and polls a manual clock every
//! [`MANUAL_CLOCK_POLL`]. Failures are spaced by the session's backoff.
//! Tokens left unsaved by a failed store write are stored from here too,
//! spaced by the same backoff.

use std::sync::Arc;
use std::time::Duration;

use super::Session;
use crate::runtime;
use crate::state::Phase;

/// The longest single sleep.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// The shortest pause between two looks at unsaved tokens.
const UNSAVED_POLL: Duration = Duration::from_millis(50);
/// How often a manual clock is looked at.
const MANUAL_CLOCK_POLL: Duration = Duration::from_millis(20);

/// Starts the refresher for `session`.
pub(super) fn start(session: &Arc<Session>) {
    let weak = Arc::downgrade(session);
    let wake = session.wake.clone();
    let manual_clock = session.clock.is_manual();
    runtime::spawn_detached(async move {
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sleep = {
                let Some(session) = weak.upgrade() else { return };
                let unsaved = session.has_unsaved_tokens();
                if unsaved {
                    session.store_unsaved_soon();
                }
                let sleep = match session.proactive_due_in_ms() {
                    Some((ms, seen_generation)) if ms <= 0 => {
                        let refresh = session.start_refresh(Some(seen_generation));
                        drop(session);
                        // The outcome (and its failure backoff) is recorded by the refresh itself.
                        let _ = refresh.await;
                        continue;
                    }
                    Some((ms, _)) => Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(MAX_SLEEP),
                    None => MAX_SLEEP,
                };
                if unsaved {
                    sleep.min(session.save_backoff.lock().remaining().max(UNSAVED_POLL))
                } else {
                    sleep
                }
            };
            let sleep = if manual_clock {
                sleep.min(MANUAL_CLOCK_POLL)
            } else {
                sleep
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = &mut notified => {}
            }
        }
    });
}

impl Session {
    /// When the proactive refresher should act: `Some((ms, generation))`
    /// until a refresh is due (≤ 0: now), `None` when there is nothing to
    /// refresh.
    pub(super) fn proactive_due_in_ms(&self) -> Option<(i64, u64)> {
        let now = self.clock.now_ms();
        let current = self.current.read();
        if current.phase != Phase::Active {
            return None;
        }
        let tokens = current.tokens.as_ref()?;
        if !self.can_renew(tokens, now) {
            return None;
        }
        let due = tokens.refresh_due_at_ms(&self.policy)?;
        let blocked_ms = i64::try_from(self.refresh_backoff.lock().remaining().as_millis()).unwrap_or(i64::MAX);
        Some((due.saturating_sub(now).max(blocked_ms), current.generation))
    }
}
