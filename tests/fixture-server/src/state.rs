//! The server's in-memory state: registered clients, issued access and refresh
//! tokens, refresh-token families, pending authorization codes and device codes,
//! plus handles to the fault queue and the statistics. [`FixtureState`] is also the in-process control
//! surface that the admin endpoints wrap.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use parking_lot::{Mutex, MutexGuard, RwLock};
use rand::RngCore as _;

use crate::config::{ClientSpec, ResponseStyle, ServerConfig};
use crate::device::{self, DeviceDecisionError};
use crate::faults::{FaultQueue, FaultSpec};
use crate::stats::{Recorder, Stats, TokenRequestRecord};

/// Bytes of randomness in every token and authorization code (256 bits).
const TOKEN_RANDOM_BYTES: usize = 32;

/// A fresh random opaque value: `prefix` + base64url (no padding) of 256 random bits.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; TOKEN_RANDOM_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// `now + secs`, saturating (at about a century, then at `now`) instead of
/// panicking on absurd lifetimes.
pub(crate) fn expiry_after(now: SystemTime, secs: u64) -> SystemTime {
    now.checked_add(Duration::from_secs(secs))
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// Whole seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What an access or refresh token was issued for.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub client_id: String,
    pub sub: String,
    pub scope: String,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    pub revoked: bool,
    /// The refresh-token family, `None` for client-credentials access tokens.
    pub family: Option<u64>,
}

impl TokenInfo {
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }

    pub fn is_usable(&self, now: SystemTime) -> bool {
        !self.revoked && !self.is_expired(now)
    }
}

/// A refresh token: its grant plus whether (and when) rotation consumed it.
#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub info: TokenInfo,
    pub used: bool,
    /// When rotation consumed it (first time only); `None` while unused.
    pub rotated_at: Option<Instant>,
}

/// Every token descended from one authorization grant.
#[derive(Debug, Default)]
pub(crate) struct Family {
    pub access: Vec<String>,
    pub refresh: Vec<String>,
    /// The refresh token this family's latest rotation consumed: the only one
    /// that a reuse grace period can cover.
    pub last_rotated: Option<String>,
}

/// A pending (or redeemed) authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub sub: String,
    pub expires_at: SystemTime,
    /// The family issued when the code was redeemed; a second redemption revokes it.
    pub redeemed: Option<u64>,
}

/// Where a device authorization request stands (RFC 8628).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    /// Waiting for the user: polling gets `authorization_pending`.
    Pending,
    /// Approved as user `sub`: the next poll gets tokens.
    Approved { sub: String },
    /// Denied: polling gets `access_denied`.
    Denied,
    /// Tokens were issued; the device code is used up.
    Redeemed,
}

/// A device code issued by `/device_authorization`.
#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    pub client_id: String,
    pub scope: String,
    pub expires_at: SystemTime,
    pub status: DeviceStatus,
}

/// A freshly issued token and its lifetime.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub value: String,
    pub ttl_secs: u64,
    pub expires_at: SystemTime,
}

/// Client settings with the global defaults filled in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effective {
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub rotation: bool,
    pub refresh_reuse_grace_secs: u64,
    pub refresh_revocation_keeps_access: bool,
    pub response_style: ResponseStyle,
}

/// Clients, tokens, families and codes, all behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub clients: HashMap<String, ClientSpec>,
    pub access: HashMap<String, TokenInfo>,
    pub refresh: HashMap<String, RefreshToken>,
    pub families: HashMap<u64, Family>,
    pub codes: HashMap<String, AuthCode>,
    /// Device codes by `device_code` value.
    pub device_codes: HashMap<String, DeviceCode>,
    /// `user_code` (canonical `XXXX-XXXX`) → `device_code`.
    pub user_codes: HashMap<String, String>,
    next_family: u64,
}

impl Registry {
    fn with_clients(clients: &[ClientSpec]) -> Self {
        Self {
            clients: clients.iter().map(|c| (c.client_id.clone(), c.clone())).collect(),
            ..Self::default()
        }
    }

    /// Opens a new refresh-token family.
    pub fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.families.insert(self.next_family, Family::default());
        self.next_family
    }

    /// Issues an access token (and records it in its family, if any).
    pub fn issue_access(
        &mut self,
        client_id: &str,
        sub: &str,
        scope: &str,
        ttl_secs: u64,
        family: Option<u64>,
    ) -> IssuedToken {
        let issued = Self::fresh("at_", ttl_secs);
        let info = Self::info(client_id, sub, scope, &issued, family);
        if let Some(f) = family.and_then(|id| self.families.get_mut(&id)) {
            f.access.push(issued.value.clone());
        }
        self.access.insert(issued.value.clone(), info);
        issued
    }

    /// Issues a refresh token in `family`.
    pub fn issue_refresh(
        &mut self,
        client_id: &str,
        sub: &str,
        scope: &str,
        ttl_secs: u64,
        family: u64,
    ) -> IssuedToken {
        let issued = Self::fresh("rt_", ttl_secs);
        let info = Self::info(client_id, sub, scope, &issued, Some(family));
        self.families
            .entry(family)
            .or_default()
            .refresh
            .push(issued.value.clone());
        self.refresh.insert(
            issued.value.clone(),
            RefreshToken {
                info,
                used: false,
                rotated_at: None,
            },
        );
        issued
    }

    fn fresh(prefix: &str, ttl_secs: u64) -> IssuedToken {
        let expires_at = expiry_after(SystemTime::now(), ttl_secs);
        IssuedToken {
            value: random_token(prefix),
            ttl_secs,
            expires_at,
        }
    }

    fn info(client_id: &str, sub: &str, scope: &str, issued: &IssuedToken, family: Option<u64>) -> TokenInfo {
        TokenInfo {
            client_id: client_id.to_owned(),
            sub: sub.to_owned(),
            scope: scope.to_owned(),
            issued_at: SystemTime::now(),
            expires_at: issued.expires_at,
            revoked: false,
            family,
        }
    }

    /// Marks the refresh token `value` of `family` used by a rotation now, and
    /// makes it the family's most recently rotated token.
    pub fn mark_rotated(&mut self, value: &str, family: u64) {
        if let Some(old) = self.refresh.get_mut(value) {
            old.used = true;
            old.rotated_at = Some(Instant::now());
        }
        if let Some(f) = self.families.get_mut(&family) {
            f.last_rotated = Some(value.to_owned());
        }
    }

    /// Whether presenting the used refresh token `value` again falls within a
    /// reuse grace period of `grace_secs`: it must be the token `family` rotated
    /// most recently, rotated less than `grace_secs` ago.
    pub fn within_reuse_grace(&self, value: &str, family: u64, grace_secs: u64, now: Instant) -> bool {
        let is_latest = self
            .families
            .get(&family)
            .and_then(|f| f.last_rotated.as_deref())
            .is_some_and(|latest| latest == value);
        let rotated_at = self.refresh.get(value).and_then(|rt| rt.rotated_at);
        is_latest && rotated_at.is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(grace_secs))
    }

    /// Revokes every access and refresh token of `family`.
    pub fn revoke_family(&mut self, family: u64) {
        let Some(f) = self.families.get(&family) else {
            return;
        };
        for token in &f.access {
            if let Some(info) = self.access.get_mut(token) {
                info.revoked = true;
            }
        }
        for token in &f.refresh {
            if let Some(rt) = self.refresh.get_mut(token) {
                rt.info.revoked = true;
            }
        }
    }

    /// Revokes the refresh tokens of `family` only; its access tokens stay active.
    pub fn revoke_family_refresh_tokens(&mut self, family: u64) {
        let Some(f) = self.families.get(&family) else {
            return;
        };
        for token in &f.refresh {
            if let Some(rt) = self.refresh.get_mut(token) {
                rt.info.revoked = true;
            }
        }
    }
}

/// Global settings from the [`ServerConfig`].
#[derive(Debug, Clone, Copy)]
struct Globals {
    access_ttl_secs: u64,
    refresh_ttl_secs: u64,
    rotation: bool,
    refresh_reuse_grace_secs: u64,
    refresh_revocation_keeps_access: bool,
    device_interval_secs: u64,
    device_code_ttl_secs: u64,
}

#[derive(Debug)]
struct Shared {
    globals: Globals,
    initial_clients: Vec<ClientSpec>,
    registry: Mutex<Registry>,
    faults: Mutex<FaultQueue>,
    recorder: Mutex<Recorder>,
    base_url: RwLock<String>,
}

/// Shared handle to one server's state. Cloning is cheap; all clones see the same
/// server. Obtain it from [`crate::RunningServer::state`] to drive the fixture
/// in-process instead of through the `/admin` endpoints.
#[derive(Debug, Clone)]
pub struct FixtureState {
    shared: Arc<Shared>,
}

impl FixtureState {
    /// A fresh state for `config` (the port is ignored here).
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                globals: Globals {
                    access_ttl_secs: config.access_ttl_secs,
                    refresh_ttl_secs: config.refresh_ttl_secs,
                    rotation: config.rotation,
                    refresh_reuse_grace_secs: config.refresh_reuse_grace_secs,
                    refresh_revocation_keeps_access: config.refresh_revocation_keeps_access,
                    device_interval_secs: config.device_interval_secs,
                    device_code_ttl_secs: config.device_code_ttl_secs,
                },
                initial_clients: config.clients.clone(),
                registry: Mutex::new(Registry::with_clients(&config.clients)),
                faults: Mutex::new(FaultQueue::default()),
                recorder: Mutex::new(Recorder::default()),
                base_url: RwLock::new(String::new()),
            }),
        }
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.shared.registry.lock()
    }

    pub(crate) fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.shared.recorder.lock()
    }

    pub(crate) fn set_base_url(&self, base_url: String) {
        *self.shared.base_url.write() = base_url;
    }

    /// `http://127.0.0.1:PORT` of the server using this state (empty before it serves).
    pub fn base_url(&self) -> String {
        self.shared.base_url.read().clone()
    }

    /// The client's settings with the global defaults filled in.
    pub(crate) fn effective(&self, client: &ClientSpec) -> Effective {
        let g = self.shared.globals;
        Effective {
            access_ttl_secs: client.access_ttl_secs.unwrap_or(g.access_ttl_secs),
            refresh_ttl_secs: client.refresh_ttl_secs.unwrap_or(g.refresh_ttl_secs),
            rotation: client.rotation.unwrap_or(g.rotation),
            refresh_reuse_grace_secs: client.refresh_reuse_grace_secs.unwrap_or(g.refresh_reuse_grace_secs),
            refresh_revocation_keeps_access: client
                .refresh_revocation_keeps_access
                .unwrap_or(g.refresh_revocation_keeps_access),
            response_style: client.response_style,
        }
    }

    /// The token response a fresh sign-in of `client_id` would get (as user
    /// `test-user`, in the client's response style), issued directly: for
    /// tests and benchmarks that need valid tokens and are not about sign-in.
    /// `None` for an unknown client.
    pub fn sign_in_tokens(&self, client_id: &str) -> Option<String> {
        crate::token_endpoint::issue_signed_in(self, client_id).map(|v| v.to_string())
    }

    /// The `interval` announced to device clients, in seconds.
    pub(crate) fn device_interval_secs(&self) -> u64 {
        self.shared.globals.device_interval_secs
    }

    /// The lifetime of device and user codes, in seconds.
    pub(crate) fn device_code_ttl_secs(&self) -> u64 {
        self.shared.globals.device_code_ttl_secs
    }

    /// Approves the pending device authorization request `user_code` as user
    /// `subject`, like `POST /device/approve`: the device's next poll gets tokens.
    /// `user_code` is matched ignoring case, dashes and spaces.
    pub fn approve_user_code(&self, user_code: &str, subject: &str) -> Result<(), DeviceDecisionError> {
        device::decide(
            self,
            user_code,
            DeviceStatus::Approved {
                sub: subject.to_owned(),
            },
        )
    }

    /// Denies the pending device authorization request `user_code`, like
    /// `POST /device/approve` with `deny=true`: the device's polls get `access_denied`.
    pub fn deny_user_code(&self, user_code: &str) -> Result<(), DeviceDecisionError> {
        device::decide(self, user_code, DeviceStatus::Denied)
    }

    /// The registered client `client_id`, if any.
    pub fn client(&self, client_id: &str) -> Option<ClientSpec> {
        self.registry().clients.get(client_id).cloned()
    }

    /// Registers `client`, replacing any client with the same id.
    pub fn upsert_client(&self, client: ClientSpec) {
        self.registry().clients.insert(client.client_id.clone(), client);
    }

    /// Queues `fault` for the next `fault.count` token-endpoint requests (after any
    /// faults already queued). Fails if the fault would do nothing.
    pub fn queue_fault(&self, fault: FaultSpec) -> Result<(), String> {
        fault.validate()?;
        self.shared.faults.lock().push(fault);
        Ok(())
    }

    /// The queued faults, with their remaining counts.
    pub fn pending_faults(&self) -> Vec<FaultSpec> {
        self.shared.faults.lock().pending()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().clear();
    }

    /// Takes the fault for the current token-endpoint request, if one is queued.
    pub(crate) fn next_fault(&self) -> Option<FaultSpec> {
        self.shared.faults.lock().take_one()
    }

    /// Makes every access token issued so far expired. Returns how many were live.
    pub fn expire_access_tokens(&self) -> usize {
        let now = SystemTime::now();
        let mut registry = self.registry();
        let mut live = 0;
        for info in registry.access.values_mut() {
            if !info.is_expired(now) {
                live += 1;
                info.expires_at = now;
            }
        }
        live
    }

    /// Revokes every access and refresh token. Returns how many tokens it touched.
    pub fn revoke_all(&self) -> usize {
        let mut registry = self.registry();
        let registry = &mut *registry;
        let mut count = 0;
        for info in registry.access.values_mut() {
            info.revoked = true;
            count += 1;
        }
        for rt in registry.refresh.values_mut() {
            rt.info.revoked = true;
            count += 1;
        }
        count
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        self.recorder().stats().clone()
    }

    /// Zeroes the counters and empties the token-request log.
    pub fn reset_stats(&self) {
        self.recorder().reset();
    }

    /// The token-endpoint requests received (oldest first, at most the last 1000),
    /// with secrets redacted.
    pub fn token_requests(&self) -> Vec<TokenRequestRecord> {
        self.recorder().token_requests()
    }

    /// Empties the token-request log (the counters are kept).
    pub fn clear_token_requests(&self) {
        self.recorder().clear_log();
    }

    /// Back to the state at start-up: the configured clients, no tokens or codes
    /// (device codes included), no faults, zero stats and an empty log.
    pub fn reset(&self) {
        *self.registry() = Registry::with_clients(&self.shared.initial_clients);
        self.clear_faults();
        self.reset_stats();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_random() {
        let a = random_token("at_");
        let b = random_token("at_");
        assert!(a.starts_with("at_"));
        assert_ne!(a, b);
        // 32 bytes → 43 base64url characters.
        assert_eq!(a.len(), 3 + 43);
        assert!(a[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn revoking_a_family_revokes_its_tokens_only() {
        let mut r = Registry::default();
        let f1 = r.new_family();
        let f2 = r.new_family();
        let a1 = r.issue_access("c", "u", "", 60, Some(f1));
        let r1 = r.issue_refresh("c", "u", "", 60, f1);
        let a2 = r.issue_access("c", "u", "", 60, Some(f2));
        r.revoke_family(f1);
        let now = SystemTime::now();
        assert!(!r.access[&a1.value].is_usable(now));
        assert!(!r.refresh[&r1.value].info.is_usable(now));
        assert!(r.access[&a2.value].is_usable(now));
    }

    #[test]
    fn only_the_latest_rotated_token_is_within_grace() {
        let mut r = Registry::default();
        let f = r.new_family();
        let first = r.issue_refresh("c", "u", "", 60, f);
        r.mark_rotated(&first.value, f);
        let now = Instant::now();
        assert!(r.within_reuse_grace(&first.value, f, 30, now));
        assert!(!r.within_reuse_grace(&first.value, f, 0, now), "0 is off");
        assert!(!r.within_reuse_grace(&first.value, f, 30, now + Duration::from_secs(30)));
        let second = r.issue_refresh("c", "u", "", 60, f);
        r.mark_rotated(&second.value, f);
        assert!(!r.within_reuse_grace(&first.value, f, 30, now), "two rotations old");
        assert!(r.within_reuse_grace(&second.value, f, 30, now));
    }

    #[test]
    fn expire_access_tokens_counts_live_ones() {
        let state = FixtureState::new(&ServerConfig::default());
        {
            let mut r = state.registry();
            r.issue_access("c", "u", "", 60, None);
            r.issue_access("c", "u", "", 0, None);
        }
        assert_eq!(state.expire_access_tokens(), 1);
        assert_eq!(state.expire_access_tokens(), 0);
    }
}
