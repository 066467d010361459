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

use crate::error::Error;
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
    /// New tokens were stored (set, refreshed, acquired, signed in, adopted).
    TokensStored,
    /// The session cannot go on: the server answered invalid_grant, the
    /// refresh token expired with the access token, or another process
    /// removed the record.
    Ended,
    /// The app logged out.
    LoggedOut,
}

/// The phase after `event` in `phase`, or `None` when the event changes
/// nothing there (and the caller must not act on it: no listener call, no
/// record deleted). The whole table:
///
/// | phase ↓ / event →   | `TokensStored` | `Ended`          | `LoggedOut` |
/// |---------------------|----------------|------------------|-------------|
/// | `Active`            | `Active`       | `SessionExpired` | `LoggedOut` |
/// | `SessionExpired`    | `Active`       | — (ended once)   | `LoggedOut` |
/// | `LoggedOut`         | `Active`       | — (logout wins)  | `LoggedOut` |
pub(crate) fn transition(phase: Phase, event: Event) -> Option<Phase> {
    match (phase, event) {
        (_, Event::TokensStored) => Some(Phase::Active),
        (Phase::Active, Event::Ended) => Some(Phase::SessionExpired),
        (Phase::SessionExpired | Phase::LoggedOut, Event::Ended) => None,
        (_, Event::LoggedOut) => Some(Phase::LoggedOut),
    }
}

/// What a call that needs tokens may do, before their freshness is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Use the tokens held (serve them, or refresh them).
    UseTokens,
    /// There are none to use, and the client_credentials grant can get some.
    Acquire,
    /// The call fails with this error; nothing is sent.
    Refuse(Error),
}

/// What a call that needs tokens may do in `phase`; `ended_because` is
/// the reason kept when the session ended. The one place these refusals are
/// worded:
///
/// | phase            | tokens | client_credentials | admission                          |
/// |------------------|--------|--------------------|------------------------------------|
/// | `SessionExpired` | any    | any                | refuse: `SessionExpired`, the reason |
/// | `LoggedOut`      | any    | no                 | refuse: `NotSignedIn`, logged out  |
/// | `LoggedOut`      | any    | yes                | acquire                            |
/// | `Active`         | none   | no                 | refuse: `NotSignedIn`, no tokens   |
/// | `Active`         | none   | yes                | acquire                            |
/// | `Active`         | some   | any                | use them                           |
pub(crate) fn admit(
    phase: Phase,
    has_tokens: bool,
    client_credentials: bool,
    ended_because: Option<&str>,
) -> Admission {
    match (phase, has_tokens, client_credentials) {
        (Phase::SessionExpired, _, _) => Admission::Refuse(Error::SessionEnded {
            detail: ended_because
                .unwrap_or("the session ended earlier (the server rejected the refresh token); sign in again")
                .to_owned(),
        }),
        (Phase::LoggedOut, _, false) => Admission::Refuse(Error::NotSignedIn {
            detail: "the session was logged out; sign in again".into(),
        }),
        (Phase::Active, false, false) => Admission::Refuse(Error::NotSignedIn {
            detail: "there are no tokens yet: sign in, or hand tokens over with set_tokens".into(),
        }),
        (Phase::LoggedOut, _, true) | (Phase::Active, false, true) => Admission::Acquire,
        (Phase::Active, true, _) => Admission::UseTokens,
    }
}

/// Whether a refresh may go to the store in `phase` (where another process
/// may have stored tokens since): every phase but an ended session, which
/// refuses as [`admit`] words it. What a refresh then does with the store's
/// record is the refresh's business (`session::refresh`).
pub(crate) fn refresh_refusal(phase: Phase, ended_because: Option<&str>) -> Option<Error> {
    match admit(phase, false, false, ended_because) {
        Admission::Refuse(error) if phase == Phase::SessionExpired => Some(error),
        _ => None,
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

    use Phase::{Active, LoggedOut, SessionExpired};

    /// Every (phase, event) pair, as in `transition`'s doc table.
    #[test]
    fn the_transition_table() {
        let table = [
            (Active, Event::TokensStored, Some(Active)),
            (Active, Event::Ended, Some(SessionExpired)),
            (Active, Event::LoggedOut, Some(LoggedOut)),
            (SessionExpired, Event::TokensStored, Some(Active)),
            (SessionExpired, Event::Ended, None),
            (SessionExpired, Event::LoggedOut, Some(LoggedOut)),
            (LoggedOut, Event::TokensStored, Some(Active)),
            (LoggedOut, Event::Ended, None),
            (LoggedOut, Event::LoggedOut, Some(LoggedOut)),
        ];
        for (phase, event, expected) in table {
            assert_eq!(transition(phase, event), expected, "{phase:?} + {event:?}");
        }
    }

    /// Every (phase, tokens, client_credentials) case, as in `admit`'s doc table.
    #[test]
    fn the_admission_table() {
        let refused = |a: Admission| match a {
            Admission::Refuse(e) => crate::TokenKeepError::from(e).to_string(),
            other => panic!("not refused: {other:?}"),
        };
        for tokens in [false, true] {
            for cc in [false, true] {
                let ended = refused(admit(
                    SessionExpired,
                    tokens,
                    cc,
                    Some("the refresh token expired; sign in again"),
                ));
                assert_eq!(
                    ended,
                    "session expired, sign in again: the refresh token expired; sign in again"
                );
            }
            assert_eq!(
                refused(admit(LoggedOut, tokens, false, None)),
                "not signed in: the session was logged out; sign in again"
            );
            assert_eq!(admit(LoggedOut, tokens, true, None), Admission::Acquire);
            assert_eq!(admit(Active, true, tokens, None), Admission::UseTokens);
        }
        assert!(refused(admit(SessionExpired, true, false, None)).contains("the server rejected the refresh token"));
        assert!(refused(admit(Active, false, false, None)).starts_with("not signed in: there are no tokens yet"));
        assert_eq!(admit(Active, false, true, None), Admission::Acquire);
    }

    #[test]
    fn only_an_ended_session_refuses_to_look_at_the_store_for_a_refresh() {
        assert!(refresh_refusal(SessionExpired, Some("gone")).is_some());
        assert!(refresh_refusal(LoggedOut, None).is_none());
        assert!(refresh_refusal(Active, None).is_none());
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
