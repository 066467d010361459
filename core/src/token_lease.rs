//! [`TokenLease`]: an access token plus how long it may be used without
//! asking again.
//!
//! Crossing the FFI boundary costs microseconds (4 µs for a no-op from
//! Python, 13 µs from Kotlin, measured on the project's machines). A language
//! layer that sends thousands of requests a second keeps the token in a small
//! cache and asks the core again only when the lease runs out, or when the
//! core's events say the tokens changed. The lease ends when the token
//! becomes due for refresh (so refresh-ahead still happens on time) or
//! expires, whichever comes first, and never later than
//! [`MAX_LEASE_MS`] from now.

use std::fmt;
use std::sync::Arc;

use crate::policy::RefreshPolicy;
use crate::token_set::TokenSet;

/// The longest lease handed out, even for tokens that never expire.
pub const MAX_LEASE_MS: i64 = 60_000;

/// An access token and the time it may be served from a cache.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct TokenLease {
    tokens: Arc<TokenSet>,
    valid_for_ms: i64,
}

impl TokenLease {
    /// The lease on `tokens` at `now_ms` under `policy`.
    pub(crate) fn new(tokens: Arc<TokenSet>, now_ms: i64, policy: &RefreshPolicy) -> Self {
        let until = [tokens.refresh_due_at_ms(policy), tokens.usable_until_ms(policy)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(i64::MAX);
        let valid_for_ms = until.saturating_sub(now_ms).clamp(0, MAX_LEASE_MS);
        TokenLease { tokens, valid_for_ms }
    }

    /// The token set behind the lease.
    pub fn tokens(&self) -> Arc<TokenSet> {
        self.tokens.clone()
    }
}

#[uniffi::export]
impl TokenLease {
    /// The access token. Sensitive: send it, never log it.
    pub fn access_token(&self) -> String {
        self.tokens.access_token()
    }

    /// For how many milliseconds (from when the lease was made) the token may
    /// be served without asking the session again; 0 means ask every time.
    pub fn valid_for_ms(&self) -> i64 {
        self.valid_for_ms
    }
}

impl fmt::Debug for TokenLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenLease")
            .field("access_token", &"[redacted]")
            .field("valid_for_ms", &self.valid_for_ms)
            .finish()
    }
}

impl fmt::Display for TokenLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenLease([redacted], valid for {} ms)", self.valid_for_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_ends_when_a_refresh_is_due() {
        let policy = RefreshPolicy::default();
        let t = Arc::new(TokenSet::bearer("at", Some("rt".into()), Some(3_600), None, 0));
        // Due at 3540 s; capped at 60 s.
        assert_eq!(TokenLease::new(t.clone(), 0, &policy).valid_for_ms(), MAX_LEASE_MS);
        assert_eq!(TokenLease::new(t.clone(), 3_530_000, &policy).valid_for_ms(), 10_000);
        assert_eq!(TokenLease::new(t, 3_545_000, &policy).valid_for_ms(), 0);
        let forever = Arc::new(TokenSet::bearer("at", None, None, None, 0));
        assert_eq!(TokenLease::new(forever, 0, &policy).valid_for_ms(), MAX_LEASE_MS);
    }

    #[test]
    fn the_lease_shows_no_token() {
        let t = Arc::new(TokenSet::bearer("at_SECRET", None, Some(60), None, 0));
        let lease = TokenLease::new(t, 0, &RefreshPolicy::default());
        assert!(!format!("{lease:?} {lease}").contains("SECRET"));
    }
}
