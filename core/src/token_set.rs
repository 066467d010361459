//! [`TokenSet`]: one grant's tokens and when they expire.
//!
//! A token set is what a token endpoint hands out (RFC 6749 §5.1): an access
//! token, usually a refresh token, their lifetimes, the granted scope and,
//! with OpenID Connect, an ID token. tokenkeep stores expiry as absolute
//! times on the session's [`Clock`](crate::Clock), computed when the answer
//! was received, and never shows a credential in `Debug` or `Display`.
//!
//! # Odd lifetimes
//!
//! * `expires_in: 0` states no usable lifetime (several servers send it for
//!   "does not expire" or "unknown"), so it is read as no stated expiry,
//!   like a missing `expires_in`: the token is used until an API rejects it
//!   with HTTP 401, which refreshes once.
//! * Whatever the stated lifetime, a token is served for at least
//!   [`MIN_SERVE_MS`] after it was received: time alone never refreshes a
//!   session more than once per [`MIN_SERVE_MS`]; only a 401 does it sooner.
//! * A refresh token past its stated expiry (`refresh_token_expires_in: 0`
//!   included) is known to be dead: tokenkeep never sends it. The access
//!   token is served until it expires, then the session ends with the
//!   reason "refresh token expired".

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::clock::system_now_ms;
use crate::error::Error;
use crate::policy::{
    capped_window_ms, RefreshPolicy, MAX_CLOCK_SKEW_FRACTION, MAX_KEEPALIVE_FRACTION, MAX_REFRESH_AHEAD_FRACTION,
};
use crate::secret::Secret;
use crate::token_syntax::TokenSyntax;

/// An access token with its refresh token, expiry, scope and extra fields.
///
/// Every credential is redacted in `Debug`/`Display` (and in each binding's
/// `repr`, `toString` and `description`) and zeroized on drop.
#[derive(Clone, Serialize, Deserialize, uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct TokenSet {
    access_token: Secret,
    #[serde(default)]
    refresh_token: Option<Secret>,
    token_type: String,
    received_at_ms: i64,
    #[serde(default)]
    expires_at_ms: Option<i64>,
    #[serde(default)]
    refresh_token_expires_at_ms: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    id_token: Option<Secret>,
    /// The answer's other fields as a JSON object text (may hold personal data).
    #[serde(default = "empty_extra")]
    extra: Secret,
}

fn empty_extra() -> Secret {
    Secret::new("{}")
}

/// The shortest time a token is served after it was received, whatever its
/// stated lifetime (see the module doc).
pub const MIN_SERVE_MS: i64 = 1_000;

/// How usable a token set is right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Serve it.
    Fresh,
    /// Serve it, and refresh in the background.
    RefreshDue,
    /// Do not serve it: wait for a refresh.
    Expired,
}

/// The parts of a new token set, before it gets its absolute times.
#[derive(Debug, Default)]
pub(crate) struct TokenSetParts {
    pub refresh_token: Option<Secret>,
    pub token_type: Option<String>,
    pub expires_in_ms: Option<i64>,
    pub refresh_token_expires_in_ms: Option<i64>,
    pub scope: Option<String>,
    pub id_token: Option<Secret>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenSet {
    /// Builds a token set received at `received_at_ms`.
    pub(crate) fn from_parts(access_token: Secret, parts: TokenSetParts, received_at_ms: i64) -> Self {
        let extra = if parts.extra.is_empty() {
            empty_extra()
        } else {
            Secret::new(serde_json::Value::Object(parts.extra).to_string())
        };
        TokenSet {
            access_token,
            refresh_token: parts.refresh_token,
            token_type: parts.token_type.unwrap_or_else(|| "Bearer".to_owned()),
            received_at_ms,
            // `expires_in: 0` states no usable lifetime: no stated expiry.
            expires_at_ms: parts
                .expires_in_ms
                .filter(|ms| *ms > 0)
                .map(|ms| received_at_ms.saturating_add(ms)),
            refresh_token_expires_at_ms: parts
                .refresh_token_expires_in_ms
                .map(|ms| received_at_ms.saturating_add(ms)),
            scope: parts.scope,
            id_token: parts.id_token,
            extra,
        }
    }

    /// A bearer token set from its parts (for `set_tokens` and tests).
    pub fn bearer(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_in_secs: Option<i64>,
        scope: Option<String>,
        received_at_ms: i64,
    ) -> Self {
        let expires_in_ms = expires_in_secs.map(|s| s.max(0).saturating_mul(1000));
        Self::bearer_ms(access_token, refresh_token, expires_in_ms, scope, received_at_ms)
    }

    /// These tokens with the access token expiring at `unix_ms` (an absolute
    /// expiry handed over by the app; in the past means expired).
    pub(crate) fn expiring_at_ms(mut self, unix_ms: i64) -> Self {
        self.expires_at_ms = Some(unix_ms);
        self
    }

    /// [`bearer`](Self::bearer) with the lifetime in milliseconds.
    pub(crate) fn bearer_ms(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_in_ms: Option<i64>,
        scope: Option<String>,
        received_at_ms: i64,
    ) -> Self {
        let parts = TokenSetParts {
            refresh_token: refresh_token.map(Secret::new),
            expires_in_ms,
            scope,
            ..TokenSetParts::default()
        };
        TokenSet::from_parts(Secret::new(access_token), parts, received_at_ms)
    }

    /// Checks that each token has only the characters its RFC allows (see
    /// [`crate::token_syntax`]), for tokens handed over by the app;
    /// `source` says how (the errors name it and the token, not the value).
    pub(crate) fn check_syntax(&self, source: &str) -> Result<(), Error> {
        TokenSyntax::B64Token.check(self.access_token.expose(), &format!("the access token {source}"))?;
        if let Some(refresh_token) = &self.refresh_token {
            TokenSyntax::VsChar.check(refresh_token.expose(), &format!("the refresh token {source}"))?;
        }
        if let Some(id_token) = &self.id_token {
            TokenSyntax::B64Token.check(id_token.expose(), &format!("the ID token {source}"))?;
        }
        Ok(())
    }

    /// The access token as a [`Secret`].
    pub fn access_token_secret(&self) -> &Secret {
        &self.access_token
    }

    /// The refresh token as a [`Secret`], if there is one.
    pub fn refresh_token_secret(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// Keeps `previous`'s refresh token (and its expiry) and scope where this
    /// answer did not carry new ones (RFC 6749 §6: the server MAY issue a new
    /// refresh token; §5.1: scope is OPTIONAL if identical to the request).
    pub(crate) fn inherit_from(mut self, previous: &TokenSet) -> Self {
        if self.refresh_token.is_none() {
            self.refresh_token = previous.refresh_token.clone();
            self.refresh_token_expires_at_ms = previous.refresh_token_expires_at_ms;
        }
        if self.scope.is_none() {
            self.scope = previous.scope.clone();
        }
        self
    }

    /// The access token's lifetime as received, if the server said.
    fn lifetime_ms(&self) -> Option<i64> {
        self.expires_at_ms.map(|at| at.saturating_sub(self.received_at_ms))
    }

    /// Whether the refresh token is known to be dead at `now_ms`: past its
    /// stated expiry, less the capped clock-skew allowance. `false` without
    /// a refresh token, or when its expiry is unknown.
    pub(crate) fn refresh_token_expired(&self, now_ms: i64, policy: &RefreshPolicy) -> bool {
        match (&self.refresh_token, self.refresh_token_expires_at_ms) {
            (Some(_), Some(expires_at)) => {
                let lifetime = expires_at.saturating_sub(self.received_at_ms);
                let skew = capped_window_ms(policy.clock_skew_secs, MAX_CLOCK_SKEW_FRACTION, lifetime);
                now_ms >= expires_at.saturating_sub(skew)
            }
            _ => false,
        }
    }

    /// Whether this set holds a refresh token that may still work at `now_ms`.
    pub(crate) fn has_usable_refresh_token(&self, now_ms: i64, policy: &RefreshPolicy) -> bool {
        self.refresh_token.is_some() && !self.refresh_token_expired(now_ms, policy)
    }

    /// The time from which this token is treated as expired (expiry minus the
    /// capped clock-skew allowance), if it expires at all.
    pub(crate) fn usable_until_ms(&self, policy: &RefreshPolicy) -> Option<i64> {
        let expires_at = self.expires_at_ms?;
        let skew = capped_window_ms(policy.clock_skew_secs, MAX_CLOCK_SKEW_FRACTION, self.lifetime_ms()?);
        Some(expires_at.saturating_sub(skew))
    }

    /// The time from which a refresh is due: the refresh-ahead window before
    /// the access token expires, or the keep-alive window before the refresh
    /// token expires, whichever comes first.
    pub(crate) fn refresh_due_at_ms(&self, policy: &RefreshPolicy) -> Option<i64> {
        let access_due = self.expires_at_ms.and_then(|expires_at| {
            let ahead = capped_window_ms(
                policy.refresh_ahead_secs,
                MAX_REFRESH_AHEAD_FRACTION,
                self.lifetime_ms()?,
            );
            Some(expires_at.saturating_sub(ahead))
        });
        let keepalive_due = match (self.refresh_token.is_some(), self.refresh_token_expires_at_ms) {
            (true, Some(rt_expires_at)) if policy.refresh_token_keepalive_secs > 0 => {
                let lifetime = rt_expires_at.saturating_sub(self.received_at_ms);
                let window = capped_window_ms(policy.refresh_token_keepalive_secs, MAX_KEEPALIVE_FRACTION, lifetime);
                Some(rt_expires_at.saturating_sub(window))
            }
            _ => None,
        };
        match (access_due, keepalive_due) {
            (Some(a), Some(k)) => Some(a.min(k)),
            (a, k) => a.or(k),
        }
    }

    /// How usable this token set is at `now_ms` for a caller that needs it to
    /// stay valid for at least `min_ttl_ms` more.
    /// A token received less than [`MIN_SERVE_MS`] ago is `Fresh` (a clock
    /// set back does not count as "just received"). A token whose refresh
    /// token is known to be dead is never `RefreshDue`: there is nothing to
    /// refresh with, so it is served until it expires.
    pub(crate) fn freshness(&self, now_ms: i64, policy: &RefreshPolicy, min_ttl_ms: i64) -> Freshness {
        if (0..MIN_SERVE_MS).contains(&now_ms.saturating_sub(self.received_at_ms)) {
            return Freshness::Fresh;
        }
        if let Some(usable_until) = self.usable_until_ms(policy) {
            if now_ms.saturating_add(min_ttl_ms) >= usable_until {
                return Freshness::Expired;
            }
        }
        match self.refresh_due_at_ms(policy) {
            Some(due) if now_ms >= due && !self.refresh_token_expired(now_ms, policy) => Freshness::RefreshDue,
            _ => Freshness::Fresh,
        }
    }

    /// The extra fields as a JSON map.
    pub fn extra(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(self.extra.expose()).unwrap_or_default()
    }

    fn extra_field_names(&self) -> Vec<String> {
        self.extra().keys().cloned().collect()
    }
}

#[uniffi::export]
impl TokenSet {
    /// The access token. Sensitive: send it, never log it.
    pub fn access_token(&self) -> String {
        self.access_token.expose().to_owned()
    }

    /// The refresh token, if the server issued one. Sensitive.
    pub fn refresh_token(&self) -> Option<String> {
        self.refresh_token.as_ref().map(|s| s.expose().to_owned())
    }

    /// Whether there is a refresh token.
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// The token type (RFC 6749 §7.1), `Bearer` unless the server said otherwise.
    pub fn token_type(&self) -> String {
        self.token_type.clone()
    }

    /// When the access token expires (Unix ms on the session's clock), if the
    /// server said (`expires_in` is RECOMMENDED, not REQUIRED).
    pub fn expires_at_unix_ms(&self) -> Option<i64> {
        self.expires_at_ms
    }

    /// When the refresh token expires (Unix ms), if the server said
    /// (`refresh_token_expires_in` / `refresh_expires_in`).
    pub fn refresh_token_expires_at_unix_ms(&self) -> Option<i64> {
        self.refresh_token_expires_at_ms
    }

    /// When this token set was received (Unix ms on the session's clock).
    pub fn received_at_unix_ms(&self) -> i64 {
        self.received_at_ms
    }

    /// The granted scope as the server wrote it (space-separated), if known.
    pub fn scope(&self) -> Option<String> {
        self.scope.clone()
    }

    /// The granted scopes, split on spaces (RFC 6749 §3.3).
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .map(|s| s.split(' ').filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The OpenID Connect ID token, if one was issued. Sensitive.
    pub fn id_token(&self) -> Option<String> {
        self.id_token.as_ref().map(|s| s.expose().to_owned())
    }

    /// The answer's non-standard fields as a JSON object text.
    pub fn extra_json(&self) -> String {
        self.extra.expose().to_owned()
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at_ms.map(system_time)
    }

    /// When the refresh token expires, if the server said.
    pub fn refresh_token_expires_at(&self) -> Option<SystemTime> {
        self.refresh_token_expires_at_ms.map(system_time)
    }

    /// When this token set was received.
    pub fn received_at(&self) -> SystemTime {
        system_time(self.received_at_ms)
    }

    /// Whether the access token is past its stated expiry now (system
    /// clock; no clock-skew margin). A token without a stated expiry never
    /// is. Ask the keeper for a token rather than checking this first: it
    /// also refreshes ahead of expiry.
    pub fn is_expired(&self) -> bool {
        self.expires_at_ms.is_some_and(|at| system_now_ms() >= at)
    }

    /// The token set as a token endpoint answer (RFC 6749 §5.1) in JSON:
    /// `access_token`, `token_type`, and when known `refresh_token`,
    /// `expires_in` (seconds left now, at least 0), `expires_at` (Unix
    /// seconds, as requests-oauthlib and Authlib keep it), `scope`,
    /// `id_token`, and the answer's other fields. Sensitive: it holds the
    /// tokens.
    pub fn to_json(&self) -> String {
        let mut map = self.extra();
        let text = |s: &Secret| serde_json::Value::String(s.expose().to_owned());
        map.insert("access_token".into(), text(&self.access_token));
        map.insert("token_type".into(), self.token_type.clone().into());
        if let Some(refresh_token) = &self.refresh_token {
            map.insert("refresh_token".into(), text(refresh_token));
        }
        if let Some(at) = self.expires_at_ms {
            map.insert(
                "expires_in".into(),
                (at.saturating_sub(system_now_ms()).max(0) / 1000).into(),
            );
            map.insert("expires_at".into(), at.div_euclid(1000).into());
        }
        if let Some(scope) = &self.scope {
            map.insert("scope".into(), scope.clone().into());
        }
        if let Some(id_token) = &self.id_token {
            map.insert("id_token".into(), text(id_token));
        }
        serde_json::Value::Object(map).to_string()
    }
}

/// Unix milliseconds as a [`SystemTime`] (before 1970 too).
fn system_time(unix_ms: i64) -> SystemTime {
    let offset = Duration::from_millis(unix_ms.unsigned_abs());
    if unix_ms >= 0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH - offset
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("token_type", &self.token_type)
            .field("received_at_ms", &self.received_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("refresh_token_expires_at_ms", &self.refresh_token_expires_at_ms)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("extra_fields", &self.extra_field_names())
            .finish()
    }
}

impl fmt::Display for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSet({} token [redacted]", self.token_type)?;
        if self.refresh_token.is_some() {
            f.write_str(", refresh token [redacted]")?;
        }
        if let Some(at) = self.expires_at_ms {
            write!(f, ", expires at {at} ms")?;
        }
        if let Some(scope) = &self.scope {
            write!(f, ", scope \"{scope}\"")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RefreshPolicy {
        RefreshPolicy::default()
    }

    #[test]
    fn an_hour_token_is_fresh_then_due_then_expired() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(3600), None, 0);
        assert_eq!(t.freshness(0, &policy(), 0), Freshness::Fresh);
        // 60 s ahead: due from 3540 s.
        assert_eq!(t.freshness(3_539_000, &policy(), 0), Freshness::Fresh);
        assert_eq!(t.freshness(3_540_000, &policy(), 0), Freshness::RefreshDue);
        // 10 s skew: expired from 3590 s.
        assert_eq!(t.freshness(3_590_000, &policy(), 0), Freshness::Expired);
        // A caller that needs 5 minutes gets an expired verdict earlier.
        assert_eq!(t.freshness(3_300_000, &policy(), 300_000), Freshness::Expired);
    }

    /// Issue 10, case 6: `expires_in: 0` is no stated expiry, and no token
    /// is refreshed by time alone within [`MIN_SERVE_MS`] of its receipt.
    #[test]
    fn a_zero_lifetime_is_no_stated_expiry_and_the_floor_holds() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(0), None, 0);
        assert_eq!(t.expires_at_unix_ms(), None);
        assert_eq!(t.freshness(10_000_000, &policy(), 0), Freshness::Fresh);
        let parts = TokenSetParts {
            expires_in_ms: Some(1),
            ..TokenSetParts::default()
        };
        let one_ms = TokenSet::from_parts(Secret::new("at"), parts, 5_000);
        assert_eq!(one_ms.freshness(5_000, &policy(), 0), Freshness::Fresh);
        assert_eq!(one_ms.freshness(5_999, &policy(), 3_600_000), Freshness::Fresh);
        assert_eq!(one_ms.freshness(6_000, &policy(), 0), Freshness::Expired);
        // A clock set back before the receipt does not keep the token fresh.
        assert_eq!(one_ms.freshness(-1_000_000, &policy(), 3_600_000), Freshness::Expired);
    }

    /// Issue 10, case 5: a refresh token past its expiry is known dead.
    #[test]
    fn a_refresh_token_past_its_expiry_is_never_used() {
        let parts = |rt_ms| TokenSetParts {
            refresh_token: Some(Secret::new("rt")),
            expires_in_ms: Some(3_600_000),
            refresh_token_expires_in_ms: Some(rt_ms),
            ..TokenSetParts::default()
        };
        let dead = TokenSet::from_parts(Secret::new("at"), parts(0), 0);
        assert!(dead.refresh_token_expired(0, &policy()));
        assert!(!dead.has_usable_refresh_token(0, &policy()));
        // Served until it expires, never "refresh due".
        assert_eq!(dead.freshness(3_550_000, &policy(), 0), Freshness::Fresh);
        assert_eq!(dead.freshness(3_595_000, &policy(), 0), Freshness::Expired);
        let day = TokenSet::from_parts(Secret::new("at"), parts(86_400_000), 0);
        assert!(!day.refresh_token_expired(86_000_000, &policy()));
        assert!(day.refresh_token_expired(86_400_000, &policy()));
        let no_rt = TokenSet::bearer("at", None, Some(60), None, 0);
        assert!(!no_rt.refresh_token_expired(i64::MAX, &policy()));
        assert!(!no_rt.has_usable_refresh_token(0, &policy()));
    }

    #[test]
    fn extreme_times_saturate() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(i64::MAX), None, i64::MAX - 5);
        for now in [i64::MIN, -1, 0, i64::MAX] {
            let _ = t.freshness(now, &policy(), i64::MAX);
            let _ = t.refresh_due_at_ms(&policy());
            let _ = t.refresh_token_expired(now, &policy());
        }
        let t = TokenSet::bearer("at", Some("rt".into()), Some(60), None, i64::MIN);
        for now in [i64::MIN, 0, i64::MAX] {
            let _ = t.freshness(now, &policy(), 0);
        }
    }

    #[test]
    fn a_five_second_token_is_not_due_on_every_call() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(5), None, 0);
        assert_eq!(t.freshness(1_000, &policy(), 0), Freshness::Fresh);
        assert_eq!(t.freshness(2_600, &policy(), 0), Freshness::RefreshDue);
        assert_eq!(t.freshness(4_500, &policy(), 0), Freshness::Expired);
    }

    #[test]
    fn no_expiry_means_always_fresh() {
        let t = TokenSet::bearer("at", None, None, None, 0);
        assert_eq!(t.freshness(i64::MAX / 2, &policy(), 0), Freshness::Fresh);
    }

    #[test]
    fn keepalive_makes_refresh_due_before_the_refresh_token_dies() {
        let parts = TokenSetParts {
            refresh_token: Some(Secret::new("rt")),
            expires_in_ms: Some(86_400_000 * 30),
            refresh_token_expires_in_ms: Some(86_400_000 * 7),
            ..TokenSetParts::default()
        };
        let t = TokenSet::from_parts(Secret::new("at"), parts, 0);
        let seven_days_minus_59_min = 86_400_000 * 7 - 59 * 60_000;
        assert_eq!(
            t.freshness(seven_days_minus_59_min, &policy(), 0),
            Freshness::RefreshDue
        );
    }

    #[test]
    fn debug_and_display_show_no_credential() {
        let mut extra = serde_json::Map::new();
        extra.insert("user_id".into(), serde_json::json!("u-secret-value"));
        let parts = TokenSetParts {
            refresh_token: Some(Secret::new("rt_SECRET")),
            id_token: Some(Secret::new("id_SECRET")),
            expires_in_ms: Some(1000),
            extra,
            ..TokenSetParts::default()
        };
        let t = TokenSet::from_parts(Secret::new("at_SECRET"), parts, 0);
        for text in [format!("{t:?}"), t.to_string(), format!("{:#?}", t)] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!text.contains("u-secret-value"), "{text}");
        }
        assert!(format!("{t:?}").contains("user_id"));
    }

    #[test]
    fn inherit_keeps_the_old_refresh_token_and_scope() {
        let old = TokenSet::bearer("at1", Some("rt1".into()), Some(60), Some("read".into()), 0);
        let new = TokenSet::bearer("at2", None, Some(60), None, 10).inherit_from(&old);
        assert_eq!(new.refresh_token().as_deref(), Some("rt1"));
        assert_eq!(new.scope().as_deref(), Some("read"));
        assert_eq!(new.access_token(), "at2");
    }
}
