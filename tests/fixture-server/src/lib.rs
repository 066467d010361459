//! tokenkeep fixture server: a real, in-memory OAuth 2.0 authorization server and
//! protected resource that the tokenkeep tests of every language run against.
//!
//! In Rust tests, start one in-process with [`spawn`]; other languages run the
//! `tokenkeep-fixture-server` binary. `README.md` beside this crate documents every
//! endpoint, flag and admin call.
//!
//! ```no_run
//! let server = tokenkeep_fixture_server::spawn(Default::default())?;
//! let token_url = server.url("/token");
//! # let _ = token_url;
//! # Ok::<(), std::io::Error>(())
//! ```

mod admin;
mod authorize;
mod client_auth;
mod config;
mod connection;
mod device;
mod faults;
mod form;
mod introspection;
mod large_body;
mod metadata;
mod oauth_error;
mod resource;
mod revocation;
mod scope;
mod state;
mod stats;
mod token_endpoint;

use std::future::{Future, IntoFuture as _};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use futures::FutureExt as _;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use authorize::{pkce_s256, DEFAULT_SUBJECT};
pub use client_auth::ClientAuthMethod;
pub use config::{
    ClientSpec, ResponseStyle, ServerConfig, DEFAULT_ACCESS_TTL_SECS, DEFAULT_DEVICE_CODE_TTL_SECS,
    DEFAULT_DEVICE_INTERVAL_SECS, DEFAULT_REFRESH_TTL_SECS,
};
pub use device::{DeviceDecisionError, DEVICE_CODE_GRANT_TYPE, USER_CODE_ALPHABET};
pub use faults::{FaultSpec, MALFORMED_BODY};
pub use state::FixtureState;
pub use stats::{Stats, TokenRequestRecord, TokenRequestStats};
pub use token_endpoint::REUSE_DESCRIPTION;

use connection::{AbortableListener, ConnHandle};

/// How long in-flight requests may take to finish once shutdown is requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// All routes of the server.
fn router(state: FixtureState) -> Router {
    Router::new()
        .route("/token", post(token_endpoint::token))
        .route("/authorize", get(authorize::authorize))
        .route("/device_authorization", post(device::device_authorization))
        .route("/device", get(device::verification_page))
        .route("/device/approve", post(device::approve))
        .route("/revoke", post(revocation::revoke))
        .route("/introspect", post(introspection::introspect))
        .route("/api/me", get(resource::me))
        .route("/api/redirect", get(resource::redirect))
        .route("/api/large", get(resource::large))
        .route("/stats", get(stats::get_stats))
        .route("/.well-known/oauth-authorization-server", get(metadata::metadata))
        .merge(admin::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))).into_response() })
        .layer(middleware::from_fn_with_state(state.clone(), stats::count_api_requests))
        .with_state(state)
}

/// Serves a fresh server for `config` on `listener` until `shutdown` completes
/// (`config.port` is ignored: the listener is already bound).
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_state(FixtureState::new(&config), listener, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes. In-flight requests get
/// a short grace period; idle keep-alive connections are closed at once.
pub async fn serve_with_state(
    state: FixtureState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        addr.ip()
    };
    state.set_base_url(format!("http://{}", SocketAddr::new(host, addr.port())));
    let app = router(state).into_make_service_with_connect_info::<ConnHandle>();
    let shutdown = shutdown.shared();
    let server = axum::serve(AbortableListener::new(listener), app)
        .with_graceful_shutdown(shutdown.clone())
        .into_future();
    let grace_expired = async move {
        shutdown.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result,
        () = grace_expired => Ok(()),
    }
}

/// Starts a server on 127.0.0.1 on its own thread with its own tokio runtime (so
/// callers with any runtime, or none, can use it). Returns once it is listening.
pub fn spawn(config: ServerConfig) -> io::Result<RunningServer> {
    let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
    std_listener.set_nonblocking(true)?;
    let port = std_listener.local_addr()?.port();
    let state = FixtureState::new(&config);
    state.set_base_url(format!("http://127.0.0.1:{port}"));
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    let thread_state = state.clone();
    let thread = std::thread::Builder::new()
        .name(format!("fixture-server-{port}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(std_listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let shutdown = async {
                    // A dropped sender (RunningServer gone) also means "stop".
                    let _ = shutdown_rx.await;
                };
                if let Err(e) = serve_with_state(thread_state, listener, shutdown).await {
                    eprintln!("tokenkeep-fixture-server on port {port}: {e}");
                }
            });
        })?;
    let ready = ready_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("fixture server thread exited early")));
    if let Err(e) = ready {
        let _ = thread.join();
        return Err(e);
    }
    Ok(RunningServer {
        port,
        state,
        shutdown: Some(shutdown_tx),
        thread: Some(thread),
    })
}

/// A server started by [`spawn`]. Dropping it stops the server and joins its thread.
#[derive(Debug)]
pub struct RunningServer {
    port: u16,
    state: FixtureState,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `base_url()` joined with `path` (a leading `/` is added if missing).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base_url())
        } else {
            format!("{}/{path}", self.base_url())
        }
    }

    /// The server's state, to steer it in-process (queue faults, expire tokens,
    /// read stats) instead of through `/admin`.
    pub fn state(&self) -> &FixtureState {
        &self.state
    }

    /// Stops the server and waits for its thread (same as dropping it).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
