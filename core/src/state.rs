//! The session state machine.
//!
//! ```text
//!            set_tokens / sign-in / client_credentials
//!   Empty ─────────────────────────────────────────────▶ Valid
//!                                                         │  time passes (refresh-ahead window)
//!                                                         ▼
//!      ┌──────────── refresh succeeds ◀── Refreshing ◀── RefreshDue   (token still served)
//!      │                                     ▲             │  time passes (expiry − skew)
//!      ▼                                     │             ▼
//!    Valid                                   └───────── Expired       (callers wait)
//!
//!   any state ── invalid_grant ──▶ SessionExpired   (tokens purged, listeners told once)
//!   any state ── logout ─────────▶ LoggedOut        (tokens purged, revoked if possible)
//!   SessionExpired / LoggedOut ── set_tokens / sign-in ──▶ Valid
//! ```
//!
//! Two things determine the state: a stored [`Phase`] that changes only on
//! [`Event`]s (tokens stored, invalid_grant, logout), through the pure
//! [`transition`] function; and the time, which moves a token set from
//! `Valid` to `RefreshDue` to `Expired` without any event (see
//! [`TokenSet::freshness`]). [`observe`] combines them, plus whether a
//! refresh is in flight, into the [`SessionState`] callers read. Transient
//! failures (network, 5xx, 429) are not events: they change nothing.

use crate::policy::RefreshPolicy;
use crate::token_set::{Freshness, TokenSet};

/// What a session is doing, as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SessionState {
    /// No tokens yet (not signed in).
    Empty,
    /// The access token is fresh.
    Valid,
    /// The access token is still served, and a refresh is due.
    RefreshDue,
    /// The access token is expired: callers wait for a refresh.
    Expired,
    /// A refresh is in flight.
    Refreshing,
    /// The server rejected the refresh token (invalid_grant): sign in again.
    SessionExpired,
    /// The app logged out.
    LoggedOut,
}

/// The part of the state that only events change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Tokens may be present and are used and refreshed.
    Active,
    /// Ended by invalid_grant.
    SessionExpired,
    /// Ended by logout.
    LoggedOut,
}

/// What changes the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// New tokens were stored (set, refreshed, acquired, signed in).
    TokensStored,
    /// The server answered invalid_grant.
    InvalidGrant,
    /// The app logged out.
    LoggedOut,
}

/// The phase after `event`.
pub(crate) fn transition(_phase: Phase, event: Event) -> Phase {
    match event {
        Event::TokensStored => Phase::Active,
        Event::InvalidGrant => Phase::SessionExpired,
        Event::LoggedOut => Phase::LoggedOut,
    }
}

/// The state callers see at `now_ms`.
pub(crate) fn observe(
    phase: Phase,
    tokens: Option<&TokenSet>,
    refreshing: bool,
    now_ms: i64,
    policy: &RefreshPolicy,
) -> SessionState {
    match phase {
        Phase::SessionExpired => SessionState::SessionExpired,
        Phase::LoggedOut => SessionState::LoggedOut,
        Phase::Active if refreshing => SessionState::Refreshing,
        Phase::Active => match tokens {
            None => SessionState::Empty,
            Some(t) => match t.freshness(now_ms, policy, 0) {
                Freshness::Fresh => SessionState::Valid,
                Freshness::RefreshDue => SessionState::RefreshDue,
                Freshness::Expired => SessionState::Expired,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_move_the_phase() {
        assert_eq!(transition(Phase::Active, Event::InvalidGrant), Phase::SessionExpired);
        assert_eq!(transition(Phase::SessionExpired, Event::TokensStored), Phase::Active);
        assert_eq!(transition(Phase::Active, Event::LoggedOut), Phase::LoggedOut);
        assert_eq!(transition(Phase::LoggedOut, Event::TokensStored), Phase::Active);
    }

    #[test]
    fn time_moves_the_observed_state() {
        let p = RefreshPolicy::default();
        let t = TokenSet::bearer("at", Some("rt".into()), Some(3600), None, 0);
        assert_eq!(observe(Phase::Active, None, false, 0, &p), SessionState::Empty);
        assert_eq!(observe(Phase::Active, Some(&t), false, 0, &p), SessionState::Valid);
        assert_eq!(
            observe(Phase::Active, Some(&t), false, 3_550_000, &p),
            SessionState::RefreshDue
        );
        assert_eq!(
            observe(Phase::Active, Some(&t), false, 3_595_000, &p),
            SessionState::Expired
        );
        assert_eq!(
            observe(Phase::Active, Some(&t), true, 3_595_000, &p),
            SessionState::Refreshing
        );
        assert_eq!(
            observe(Phase::SessionExpired, None, false, 0, &p),
            SessionState::SessionExpired
        );
        assert_eq!(observe(Phase::LoggedOut, None, false, 0, &p), SessionState::LoggedOut);
    }
}
