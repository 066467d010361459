//! Shared helpers of the integration tests: a fixture authorization server
//! on loopback, steered through its HTTP admin API (as the tests of every
//! other language steer it), sessions built against it, and a listener that
//! records events.

#![allow(dead_code)]

pub mod postgres;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokenkeep::{
    ManualClock, RefreshFailure, RefreshPolicy, SessionListener, TokenKeeper, TokenKeeperOptions, TokensChanged,
};
use tokenkeep_fixture_server::{spawn, RunningServer, ServerConfig};

/// A fixture server and an HTTP client for its admin API.
pub struct Fixture {
    pub server: RunningServer,
    http: reqwest::Client,
}

impl Fixture {
    pub fn start() -> Self {
        Self::start_with(ServerConfig::default())
    }

    pub fn start_with(config: ServerConfig) -> Self {
        let server = spawn(config).expect("fixture server starts");
        Fixture {
            server,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// `GET /stats`.
    pub async fn stats(&self) -> Value {
        self.http
            .get(self.url("/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }

    pub async fn refresh_requests(&self) -> u64 {
        self.stats().await["token_requests"]["refresh_token"]
            .as_u64()
            .expect("count")
    }

    pub async fn token_requests(&self) -> u64 {
        self.stats().await["token_requests"]["total"].as_u64().expect("count")
    }

    /// `POST /admin/faults`.
    pub async fn fault(&self, spec: Value) {
        let status = self
            .http
            .post(self.url("/admin/faults"))
            .json(&spec)
            .send()
            .await
            .expect("fault")
            .status();
        assert!(status.is_success(), "queueing a fault failed: {status}");
    }

    /// `POST /admin/clients`.
    pub async fn client(&self, spec: Value) {
        let status = self
            .http
            .post(self.url("/admin/clients"))
            .json(&spec)
            .send()
            .await
            .expect("client")
            .status();
        assert!(status.is_success(), "registering a client failed: {status}");
    }

    pub async fn admin(&self, path: &str) {
        let status = self.http.post(self.url(path)).send().await.expect("admin").status();
        assert!(status.is_success(), "{path} failed: {status}");
    }

    /// `GET /admin/token-requests`.
    pub async fn token_request_log(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.url("/admin/token-requests"))
            .send()
            .await
            .expect("log")
            .json()
            .await
            .expect("json");
        v.as_array().cloned().unwrap_or_default()
    }

    /// `POST /introspect`: whether the server considers `token` active.
    pub async fn is_active(&self, token: &str) -> bool {
        let v: Value = self
            .http
            .post(self.url("/introspect"))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json");
        v["active"].as_bool().expect("active field")
    }

    /// Gets a fresh token set for `client_id` (public client) through the
    /// sign-in flow, the way an app would before handing it to tokenkeep.
    pub async fn sign_in_tokens(&self, client_id: &str) -> Value {
        let verifier = "a-test-verifier-that-is-long-enough-for-rfc-7636-0123";
        let challenge = tokenkeep_fixture_server::pkce_s256(verifier);
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let response = no_redirect
            .get(self.url("/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", "app://callback"),
                ("state", "s"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .expect("authorize");
        let location = response.headers()["location"].to_str().expect("location").to_owned();
        let code = url::Url::parse(&location)
            .expect("callback url")
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code");
        self.http
            .post(self.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "app://callback"),
                ("code_verifier", verifier),
                ("client_id", client_id),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json")
    }
}

/// A client config for `client_id` at `fixture`, with its API origin allowed.
pub fn config(fixture: &Fixture, client_id: &str) -> TokenKeeperOptions {
    TokenKeeperOptions {
        revocation_endpoint: Some(fixture.url("/revoke")),
        authorization_endpoint: Some(fixture.url("/authorize")),
        redirect_uri: Some("app://callback".into()),
        api_origins: vec![fixture.server.base_url()],
        ..TokenKeeperOptions::new(fixture.url("/token"), client_id)
    }
}

/// A policy with short backoffs so retry tests run fast.
pub fn fast_policy() -> RefreshPolicy {
    RefreshPolicy {
        initial_backoff_ms: 10,
        max_backoff_ms: 50,
        ..RefreshPolicy::default()
    }
}

/// A keeper for the public client on a manual clock, signed in with real
/// tokens from the server.
pub async fn signed_in_keeper(fixture: &Fixture) -> (Arc<TokenKeeper>, Arc<ManualClock>, Arc<RecordingListener>) {
    signed_in_keeper_with(fixture, fast_policy()).await
}

/// [`signed_in_keeper`] with another policy.
pub async fn signed_in_keeper_with(
    fixture: &Fixture,
    policy: RefreshPolicy,
) -> (Arc<TokenKeeper>, Arc<ManualClock>, Arc<RecordingListener>) {
    signed_in_keeper_for(fixture, config(fixture, "public-app"), policy).await
}

/// [`signed_in_keeper`] with another config (of the public client) and policy.
pub async fn signed_in_keeper_for(
    fixture: &Fixture,
    config: TokenKeeperOptions,
    policy: RefreshPolicy,
) -> (Arc<TokenKeeper>, Arc<ManualClock>, Arc<RecordingListener>) {
    let clock = ManualClock::new();
    let listener = Arc::new(RecordingListener::default());
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        policy,
        clock: Some(clock.clone()),
        listener: Some(listener.clone()),
        ..config
    })
    .expect("builds");
    let tokens = fixture.sign_in_tokens("public-app").await;
    keeper.set_token_response(tokens.to_string()).expect("set tokens");
    (keeper, clock, listener)
}

/// Records every event it is told.
#[derive(Default)]
pub struct RecordingListener {
    pub changed: Mutex<Vec<TokensChanged>>,
    pub expired: Mutex<Vec<String>>,
    pub failed: Mutex<Vec<RefreshFailure>>,
}

impl SessionListener for RecordingListener {
    fn on_tokens_changed(&self, event: TokensChanged) {
        self.changed.lock().push(event);
    }
    fn on_session_expired(&self, message: String) {
        self.expired.lock().push(message);
    }
    fn on_refresh_failed(&self, failure: RefreshFailure) {
        self.failed.lock().push(failure);
    }
}

/// Waits (bounded: 5 s) until `condition` holds; listeners are called on
/// their own thread, so events arrive shortly after the call that caused them.
pub fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (bounded: 5 s) until the async `condition` holds.
pub async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `callers` tasks asking `keeper` for a token at once; their answers.
pub async fn concurrent_access_tokens(
    keeper: &Arc<TokenKeeper>,
    callers: usize,
) -> Vec<Result<String, tokenkeep::TokenKeepError>> {
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let keeper = keeper.clone();
            tokio::spawn(async move { keeper.access_token().await })
        })
        .collect();
    let mut answers = Vec::with_capacity(callers);
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

pub fn json_body(response: &tokenkeep::HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(json!(null))
}

/// A store that fails saves on demand (a full disk, a read-only directory,
/// a locked Keychain) and otherwise passes everything to `inner`, whose
/// locks, loads and deletes it uses as they are.
pub struct FailingSaves {
    pub inner: Arc<dyn tokenkeep::TokenStore>,
    pass_first: std::sync::atomic::AtomicU32,
    fail_next: std::sync::atomic::AtomicU32,
}

impl FailingSaves {
    pub fn new(inner: Arc<dyn tokenkeep::TokenStore>) -> Arc<Self> {
        Arc::new(FailingSaves {
            inner,
            pass_first: Default::default(),
            fail_next: Default::default(),
        })
    }

    /// Makes the next `n` saves fail (`u32::MAX`: until told otherwise).
    pub fn fail_next_saves(&self, n: u32) {
        self.fail_after(0, n);
    }

    /// Lets the next `passes` saves through, then fails `failures`.
    pub fn fail_after(&self, passes: u32, failures: u32) {
        use std::sync::atomic::Ordering;
        self.fail_next.store(failures, Ordering::SeqCst);
        self.pass_first.store(passes, Ordering::SeqCst);
    }
}

impl tokenkeep::TokenStore for FailingSaves {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, tokenkeep::StoreError> {
        self.inner.load(key)
    }
    fn save(&self, key: String, record: Vec<u8>) -> Result<(), tokenkeep::StoreError> {
        use std::sync::atomic::Ordering;
        let take = |counter: &std::sync::atomic::AtomicU32| {
            counter
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        };
        if !take(&self.pass_first) && take(&self.fail_next) {
            return Err(tokenkeep::StoreError::Io {
                detail: "No space left on device (os error 28) (simulated)".into(),
            });
        }
        self.inner.save(key, record)
    }
    fn delete(&self, key: String) -> Result<(), tokenkeep::StoreError> {
        self.inner.delete(key)
    }
    fn lock(&self, key: String, timeout_ms: i64) -> Result<(), tokenkeep::StoreError> {
        self.inner.lock(key, timeout_ms)
    }
    fn unlock(&self, key: String) -> Result<(), tokenkeep::StoreError> {
        self.inner.unlock(key)
    }
}

/// A fresh directory under the system temp dir (created lazily by the
/// stores), removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        TempDir(std::env::temp_dir().join(format!(
            "tokenkeep-it-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        )))
    }

    /// A path inside the directory, as the stores take it.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `GET /stats` field `name` as a number.
pub async fn stat(fixture: &Fixture, name: &str) -> u64 {
    fixture.stats().await[name]
        .as_u64()
        .unwrap_or_else(|| panic!("stats field {name}"))
}

/// Records every log record it is given (a `LogSink` for tests).
#[derive(Default)]
pub struct RecordingSink {
    pub records: Mutex<Vec<tokenkeep::LogRecord>>,
}

impl tokenkeep::LogSink for RecordingSink {
    fn log(&self, record: tokenkeep::LogRecord) {
        self.records.lock().push(record);
    }
}
