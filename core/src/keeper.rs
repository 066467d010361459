//! [`TokenKeeper`]: the object apps hold, in Rust and in every binding.
//!
//! Each method is a few lines that hand the work to the session engine
//! ([`crate::session`]) and turn its error into a [`TokenKeepError`]. Network
//! calls come in two forms: `async` (Rust futures, Python coroutines, Kotlin
//! `suspend`, Swift `async`) and `_blocking` (plain threads: Java, Python
//! scripts). Both run the work on tokenkeep's runtime, and both answer from
//! the fresh-token path without touching the runtime when the token is good.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::TokenKeeperOptions;
use crate::deadline;
use crate::device::DeviceAuthorization;
use crate::error::{Error, TokenKeepError};
use crate::http_exchange::{HttpRequest, HttpResponse};
use crate::listener::{ChangeReason, SessionListener};
use crate::pkce::{code_from_callback, AuthorizationRequest};
use crate::revocation::LogoutOutcome;
use crate::runtime;
use crate::secret::Secret;
use crate::session::Session;
use crate::state::SessionState;
use crate::token_cache::TokenCache;
use crate::token_lease::TokenLease;
use crate::token_response::parse_token_response;
use crate::token_set::TokenSet;

/// Keeps one account's OAuth 2.0 tokens valid: refreshes before or at
/// expiry (one refresh however many callers), rotates, stores, and tells the
/// app when the user must sign in again. Made from one
/// [`TokenKeeperOptions`] record.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct TokenKeeper {
    session: Arc<Session>,
}

async fn on_runtime<T, F>(work: F) -> Result<T, TokenKeepError>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    runtime::spawn(work).await.map_err(Into::into)
}

/// Awaits `work` where the caller polls it: for calls whose only wait is a
/// refresh that single flight already runs as a task of its own on the
/// runtime (`valid_tokens`, `refresh`). Spawning such a call too would cost
/// a second task and a second wake-up per refresh for nothing: dropping
/// this future drops only the caller's share of the refresh, which runs on
/// and stores its tokens.
async fn joined<T, F>(work: F) -> Result<T, TokenKeepError>
where
    F: Future<Output = Result<T, Error>>,
{
    work.await.map_err(Into::into)
}

/// Runs `work` on the runtime and waits for it at most `deadline` (see
/// [`crate::deadline`]): a blocking call never waits forever, even in a
/// forked child or behind a server that never answers.
fn blocking<T, F>(deadline: Duration, work: F) -> Result<T, TokenKeepError>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    runtime::block_on(deadline, work).map_err(Into::into)
}

fn access_token_of(tokens: Arc<TokenSet>) -> String {
    tokens.access_token()
}

impl TokenKeeper {
    /// The session behind this keeper (for the registry's sweep).
    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session
    }
}

#[uniffi::export]
impl TokenKeeper {
    /// Checks `options`, loads the account's tokens from the store and
    /// returns the keeper. A bad URL, a negative policy number, a missing
    /// secret or an unreadable stored record is an error here, not at the
    /// first request.
    #[uniffi::constructor]
    pub fn new(options: TokenKeeperOptions) -> Result<Arc<Self>, TokenKeepError> {
        let session = Session::open(options)?;
        Ok(Arc::new(TokenKeeper { session }))
    }

    /// A valid access token, refreshing first if it expired (waits for the
    /// one shared refresh). Sensitive: send it, never log it.
    pub async fn access_token(&self) -> Result<String, TokenKeepError> {
        if let Some(answer) = self.session.try_fresh(0) {
            return answer.map(access_token_of).map_err(Into::into);
        }
        joined(self.session.clone().valid_tokens(0)).await.map(access_token_of)
    }

    /// Blocking [`access_token`](Self::access_token).
    pub fn access_token_blocking(&self) -> Result<String, TokenKeepError> {
        if let Some(answer) = self.session.try_fresh(0) {
            return answer.map(access_token_of).map_err(Into::into);
        }
        blocking(self.token_call(), self.session.clone().valid_tokens(0)).map(access_token_of)
    }

    /// A valid access token with the time it may be cached for (see
    /// [`TokenLease`]): what language layers use to keep the per-request
    /// cost off the FFI boundary.
    pub async fn access_token_lease(&self) -> Result<Arc<TokenLease>, TokenKeepError> {
        let tokens = match self.session.try_fresh(0) {
            Some(answer) => answer?,
            None => joined(self.session.clone().valid_tokens(0)).await?,
        };
        Ok(self.lease(tokens))
    }

    /// Blocking [`access_token_lease`](Self::access_token_lease).
    pub fn access_token_lease_blocking(&self) -> Result<Arc<TokenLease>, TokenKeepError> {
        let tokens = match self.session.try_fresh(0) {
            Some(answer) => answer?,
            None => blocking(self.token_call(), self.session.clone().valid_tokens(0))?,
        };
        Ok(self.lease(tokens))
    }

    /// Tokens whose access token stays valid for at least `min_ttl_secs`
    /// (refreshing first if needed; a negative value is a `Configuration`
    /// error).
    pub async fn valid_tokens(&self, min_ttl_secs: i64) -> Result<Arc<TokenSet>, TokenKeepError> {
        let min_ttl_ms = secs_to_ms(min_ttl_secs, "min_ttl_secs")?;
        joined(self.session.clone().valid_tokens(min_ttl_ms)).await
    }

    /// Blocking [`valid_tokens`](Self::valid_tokens).
    pub fn valid_tokens_blocking(&self, min_ttl_secs: i64) -> Result<Arc<TokenSet>, TokenKeepError> {
        let min_ttl_ms = secs_to_ms(min_ttl_secs, "min_ttl_secs")?;
        blocking(self.token_call(), self.session.clone().valid_tokens(min_ttl_ms))
    }

    /// Refreshes now (or joins the refresh in flight) and returns the result.
    /// Fails without changing anything when there is nothing to refresh
    /// with (no refresh token, or one past its stated expiry); fails with a
    /// `Storage` error when the refreshed tokens could not be stored (they
    /// are held in memory and served meanwhile).
    pub async fn refresh(&self) -> Result<Arc<TokenSet>, TokenKeepError> {
        joined(self.session.clone().refresh()).await
    }

    /// Blocking [`refresh`](Self::refresh).
    pub fn refresh_blocking(&self) -> Result<Arc<TokenSet>, TokenKeepError> {
        blocking(self.token_call(), self.session.clone().refresh())
    }

    /// After an API answered HTTP 401 to `rejected_access_token`: refreshes
    /// once (joining any refresh in flight), or, if the tokens changed since
    /// that token was handed out, returns the current ones without a
    /// request. What HTTP integrations (requests, OkHttp, URLSession) call.
    pub async fn refresh_if_rejected(&self, rejected_access_token: String) -> Result<Arc<TokenSet>, TokenKeepError> {
        on_runtime(
            self.session
                .clone()
                .refresh_after_rejected_token(Secret::new(rejected_access_token)),
        )
        .await
    }

    /// Blocking [`refresh_if_rejected`](Self::refresh_if_rejected).
    pub fn refresh_if_rejected_blocking(&self, rejected_access_token: String) -> Result<Arc<TokenSet>, TokenKeepError> {
        blocking(
            self.token_call(),
            self.session
                .clone()
                .refresh_after_rejected_token(Secret::new(rejected_access_token)),
        )
    }

    /// Whether the access token may be sent to `url` (its origin is one of
    /// the configured `api_origins`, with HTTPS or loopback HTTP, and the URL
    /// has no `user:password@` part). The check `send` makes, for
    /// integrations that send requests themselves.
    pub fn may_send_token_to(&self, url: String) -> bool {
        self.session.check_destination(&url).is_ok()
    }

    /// The configured `api_origins`, normalised (`scheme://host[:port]`).
    pub fn api_origins(&self) -> Vec<String> {
        self.session.api_origins().to_vec()
    }

    /// Sends `request` with the access token; on HTTP 401 refreshes and
    /// retries once. The URL's origin must be one of `api_origins`.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TokenKeepError> {
        on_runtime(self.session.clone().send(request)).await
    }

    /// Blocking [`send`](Self::send).
    pub fn send_blocking(&self, request: HttpRequest) -> Result<HttpResponse, TokenKeepError> {
        blocking(
            deadline::send(self.session.policy()),
            self.session.clone().send(request),
        )
    }

    /// Logs out: forgets the tokens here and in the store, then revokes them
    /// (RFC 7009) if a revocation endpoint is configured, the refresh token
    /// first, then the access token. Returns what the server confirmed for
    /// each ([`LogoutOutcome`]).
    pub async fn logout(&self) -> Result<LogoutOutcome, TokenKeepError> {
        on_runtime(self.session.clone().logout()).await
    }

    /// Blocking [`logout`](Self::logout).
    pub fn logout_blocking(&self) -> Result<LogoutOutcome, TokenKeepError> {
        blocking(self.token_call(), self.session.clone().logout())
    }

    /// Starts a sign-in: the URL to open, with PKCE and `state`.
    /// `extra_params` are added to the URL (`prompt`, `login_hint`, …).
    pub fn authorization_request(
        &self,
        extra_params: HashMap<String, String>,
    ) -> Result<Arc<AuthorizationRequest>, TokenKeepError> {
        let mut extra: Vec<(String, String)> = extra_params.into_iter().collect();
        extra.sort();
        self.session.authorization_request(&extra).map_err(Into::into)
    }

    /// Finishes a sign-in from the URL the browser was redirected to.
    pub async fn complete_authorization(
        &self,
        request: Arc<AuthorizationRequest>,
        callback_url: String,
    ) -> Result<Arc<TokenSet>, TokenKeepError> {
        let code = code_from_callback(&callback_url, &request.state())?;
        on_runtime(self.session.clone().exchange_code(code, request.verifier().clone())).await
    }

    /// Blocking [`complete_authorization`](Self::complete_authorization).
    pub fn complete_authorization_blocking(
        &self,
        request: Arc<AuthorizationRequest>,
        callback_url: String,
    ) -> Result<Arc<TokenSet>, TokenKeepError> {
        let code = code_from_callback(&callback_url, &request.state())?;
        blocking(
            self.token_call(),
            self.session.clone().exchange_code(code, request.verifier().clone()),
        )
    }

    /// Exchanges an authorization code with its PKCE verifier (for apps that
    /// kept `state` and `code_verifier` across a restart).
    pub async fn exchange_code(&self, code: String, code_verifier: String) -> Result<Arc<TokenSet>, TokenKeepError> {
        on_runtime(
            self.session
                .clone()
                .exchange_code(Secret::new(code), Secret::new(code_verifier)),
        )
        .await
    }

    /// Blocking [`exchange_code`](Self::exchange_code).
    pub fn exchange_code_blocking(&self, code: String, code_verifier: String) -> Result<Arc<TokenSet>, TokenKeepError> {
        blocking(
            self.token_call(),
            self.session
                .clone()
                .exchange_code(Secret::new(code), Secret::new(code_verifier)),
        )
    }

    /// Starts a sign-in on a device without a browser (RFC 8628): show the
    /// user `user_code()` and `verification_uri()`, then call
    /// [`complete_device_authorization`](Self::complete_device_authorization).
    pub async fn start_device_authorization(&self) -> Result<Arc<DeviceAuthorization>, TokenKeepError> {
        on_runtime(self.session.clone().start_device_authorization()).await
    }

    /// Blocking [`start_device_authorization`](Self::start_device_authorization).
    pub fn start_device_authorization_blocking(&self) -> Result<Arc<DeviceAuthorization>, TokenKeepError> {
        blocking(self.token_call(), self.session.clone().start_device_authorization())
    }

    /// Polls until the user approves the device sign-in, then stores the
    /// tokens. Fails with `Authorization` if the user denies it, the code
    /// expires, or `device.cancel()` is called.
    pub async fn complete_device_authorization(
        &self,
        device: Arc<DeviceAuthorization>,
    ) -> Result<Arc<TokenSet>, TokenKeepError> {
        on_runtime(self.session.clone().complete_device_authorization(device)).await
    }

    /// Blocking [`complete_device_authorization`](Self::complete_device_authorization).
    pub fn complete_device_authorization_blocking(
        &self,
        device: Arc<DeviceAuthorization>,
    ) -> Result<Arc<TokenSet>, TokenKeepError> {
        let deadline = deadline::device_polling(self.session.policy(), &device);
        blocking(deadline, self.session.clone().complete_device_authorization(device))
    }

    /// Hands over tokens obtained elsewhere; they are stored and used from now on.
    /// The expiry is given as a lifetime (`expires_in_secs`) or as an
    /// absolute time (`expires_at`), not both; neither means no stated
    /// expiry. Tokens with characters their RFC does not allow (RFC 6750 §2.1
    /// for the access token, RFC 6749 Appendix A for the refresh token) are
    /// refused with a `BadResponse` error; an empty refresh token is no
    /// refresh token.
    #[uniffi::method(default(refresh_token = None, expires_in_secs = None, expires_at = None, scope = None))]
    pub fn set_tokens(
        &self,
        access_token: String,
        refresh_token: Option<String>,
        expires_in_secs: Option<i64>,
        expires_at: Option<SystemTime>,
        scope: Option<String>,
    ) -> Result<Arc<TokenSet>, TokenKeepError> {
        let now_ms = self.session.now_ms();
        let expires_in_ms = match (expires_in_secs, expires_at) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "set_tokens takes expires_in_secs or expires_at, not both; give the one your server sent",
                )
                .into())
            }
            (Some(secs), None) => Some(secs_to_ms(secs, "expires_in_secs")?),
            (None, _) => None,
        };
        let mut tokens = TokenSet::bearer_ms(
            access_token,
            refresh_token.filter(|t| !t.is_empty()),
            expires_in_ms,
            scope,
            now_ms,
        );
        if let Some(at) = expires_at {
            tokens = tokens.expiring_at_ms(unix_ms(at));
        }
        tokens.check_syntax("handed to set_tokens")?;
        self.session.set_tokens(tokens, ChangeReason::Set).map_err(Into::into)
    }

    /// Hands over a raw token endpoint answer (the JSON body, RFC 6749 §5.1,
    /// read with the session's response mapping).
    pub fn set_token_response(&self, json: String) -> Result<Arc<TokenSet>, TokenKeepError> {
        let json = Secret::new(json);
        let tokens = parse_token_response(
            json.expose().as_bytes(),
            self.session.response_mapping(),
            self.session.now_ms(),
            None,
        )?;
        self.session.set_tokens(tokens, ChangeReason::Set).map_err(Into::into)
    }

    /// Whether the tokens in memory are newer than the store's copy: a
    /// refresh succeeded but storing its tokens failed (disk full, a locked
    /// Keychain). They are served, and tokenkeep keeps trying to store them;
    /// [`flush`](Self::flush) tries now.
    pub fn has_unsaved_tokens(&self) -> bool {
        self.session.has_unsaved_tokens()
    }

    /// Stores tokens held only in memory (see
    /// [`has_unsaved_tokens`](Self::has_unsaved_tokens)) now. `Ok` when
    /// nothing is pending; a `Storage` error when the store still fails.
    /// Call it before the process exits.
    pub fn flush(&self) -> Result<(), TokenKeepError> {
        let timeout = self.session.policy().store_lock_timeout_ms();
        self.session.store_unsaved(timeout).map_err(Into::into)
    }

    /// The current tokens, without any network call (may be expired).
    pub fn tokens(&self) -> Option<Arc<TokenSet>> {
        self.session.tokens()
    }

    /// The session's state now.
    pub fn state(&self) -> SessionState {
        self.session.state()
    }

    /// Registers a listener for token changes, session expiry and failures.
    pub fn add_listener(&self, listener: Arc<dyn SessionListener>) {
        self.session.add_listener(listener);
    }

    /// The account id (store key) of this session.
    pub fn account_id(&self) -> String {
        self.session.account().to_owned()
    }

    /// Attaches a language layer's token cache (replacing any other; `None`
    /// detaches): the core tells it synchronously whenever its token stops
    /// being the answer (see [`TokenCache`]).
    pub fn set_token_cache(&self, cache: Option<Arc<dyn TokenCache>>) {
        self.session.token_cache.attach(cache);
    }
}

impl TokenKeeper {
    /// The deadline of a blocking call that makes one token endpoint call.
    fn token_call(&self) -> Duration {
        deadline::token_call(self.session.policy())
    }

    fn lease(&self, tokens: Arc<TokenSet>) -> Arc<TokenLease> {
        Arc::new(TokenLease::new(tokens, self.session.now_ms(), self.session.policy()))
    }
}

/// `secs` in milliseconds; a negative `name` is a configuration error.
fn secs_to_ms(secs: i64, name: &str) -> Result<i64, TokenKeepError> {
    if secs < 0 {
        return Err(Error::configuration(format!("{name} is {secs}; it must be 0 or more")).into());
    }
    Ok(secs.saturating_mul(1000))
}

/// `time` in Unix milliseconds (negative before 1970), saturating.
fn unix_ms(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

impl fmt::Debug for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("account", &self.session.account())
            .field("state", &self.session.state())
            .finish()
    }
}

impl fmt::Display for TokenKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenKeeper(account `{}`, {:?})",
            self.session.account(),
            self.session.state()
        )
    }
}
