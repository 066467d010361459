//! A session with a 5-second access token, refreshed live.
//!
//! Starts the fixture authorization server on loopback, signs in through its
//! test sign-in (authorization code + PKCE), and keeps a session alive for
//! about 12 seconds with proactive refresh on: every second it calls the
//! protected API through the session and prints the session state, and the
//! listener prints each event as it happens. At the end it logs out, which
//! revokes the tokens at the server. tokenkeep's own log lines (INFO and
//! above: a failed refresh would show as a WARN) are printed through a plain
//! `tracing_subscriber` fmt subscriber, as in any Rust app.
//!
//! Run: `cargo run -p tokenkeep --example live_refresh`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokenkeep::{
    HttpRequest, RefreshFailure, RefreshPolicy, SessionListener, TokenKeeper, TokenKeeperOptions, TokensChanged,
};
use tokenkeep_fixture_server::{spawn, ClientSpec, ServerConfig};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Prints events with the time since start.
struct PrintingListener {
    started: Instant,
}

impl SessionListener for PrintingListener {
    fn on_tokens_changed(&self, event: TokensChanged) {
        println!(
            "  [{:>5.2}s] event: tokens changed ({:?}), expires in {}",
            self.started.elapsed().as_secs_f64(),
            event.reason,
            event
                .expires_at_unix_ms
                .map(|at| format!("{:.1}s", (at - now_ms()) as f64 / 1000.0))
                .unwrap_or_else(|| "-".into())
        );
    }
    fn on_session_expired(&self, message: String) {
        println!(
            "  [{:>5.2}s] event: session expired: {message}",
            self.started.elapsed().as_secs_f64()
        );
    }
    fn on_refresh_failed(&self, failure: RefreshFailure) {
        println!(
            "  [{:>5.2}s] event: refresh failed: {}",
            self.started.elapsed().as_secs_f64(),
            failure.detail
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A short, non-reversible name for a token, so the demo can show that it
/// changed without printing it.
fn fingerprint(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(Targets::new().with_target("tokenkeep", Level::INFO))
        .init();

    let server = spawn(ServerConfig {
        clients: vec![ClientSpec {
            access_ttl_secs: Some(5),
            refresh_ttl_secs: Some(60),
            ..ClientSpec::public("demo-app")
        }],
        ..ServerConfig::default()
    })?;
    println!("fixture authorization server: {}", server.base_url());

    let started = Instant::now();
    let config = TokenKeeperOptions {
        authorization_endpoint: Some(server.url("/authorize")),
        revocation_endpoint: Some(server.url("/revoke")),
        redirect_uri: Some("demo-app://callback".into()),
        api_origins: vec![server.base_url()],
        ..TokenKeeperOptions::new(server.url("/token"), "demo-app")
    };
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        policy: RefreshPolicy {
            proactive_refresh: true,
            ..RefreshPolicy::default()
        },
        listener: Some(Arc::new(PrintingListener { started })),
        ..config
    })?;

    // Sign in: open the authorization URL (the fixture approves at once and
    // redirects; a real app opens a browser here) and finish with the callback.
    let request = keeper.authorization_request(HashMap::from([("login_hint".into(), "demo-user".into())]))?;
    let callback = browser::follow_to_callback(&request.url())?;
    let tokens = keeper.complete_authorization_blocking(request, callback)?;
    println!("signed in: {tokens}");

    for second in 1..=12 {
        std::thread::sleep(Duration::from_secs(1));
        let response = keeper.send_blocking(HttpRequest::get(server.url("/api/me")))?;
        let token = keeper.access_token_blocking()?;
        println!(
            "t={second:>2}s  state {:<10}  GET /api/me -> {}  token #{}",
            format!("{:?}", keeper.state()),
            response.status,
            fingerprint(&token)
        );
    }
    let outcome = keeper.logout_blocking()?;
    println!(
        "logged out (refresh token: {:?}, access token: {:?}); state {:?}",
        outcome.refresh_token,
        outcome.access_token,
        keeper.state()
    );
    std::thread::sleep(Duration::from_millis(100));
    Ok(())
}

mod browser {
    //! The one browser step of the demo: follow the authorization URL to its
    //! redirect and return the callback URL, as a browser would hand it back.
    pub fn follow_to_callback(url: &str) -> Result<String, Box<dyn std::error::Error>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let response = client.get(url).send().await?;
            let location = response
                .headers()
                .get("location")
                .ok_or("no redirect from the authorization endpoint")?;
            Ok(location.to_str()?.to_owned())
        })
    }
}
