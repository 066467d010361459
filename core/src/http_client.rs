//! The process's HTTP clients: one connection pool per kind, shared by every
//! session, rebuilt after a fork.
//!
//! A `reqwest::Client` is a connection pool. Building one per session would
//! give a backend with 1,000 keepers 1,000 pools, each with its own idle
//! connections to the same token endpoint. Instead a session holds a
//! [`SharedClient`]: the *kind* of client it needs, which is all that
//! differs between sessions at the connection level:
//!
//! * what redirects it follows ([`ClientKind`]: the token endpoint follows
//!   none, the API client follows the policy in `session::authorized`), and
//! * the connect timeout (`RefreshPolicy::connect_timeout_ms`).
//!
//! The per-request timeout (`request_timeout_ms`) is set on each request
//! (`RequestBuilder::timeout`), so sessions with different request timeouts
//! still share a pool. Every client sends `User-Agent: tokenkeep/<version>`.
//!
//! [`SharedClient::get`] hands out this process's client of that kind. The
//! clients of a process are kept in a [`PerProcess`] map: pooled connections
//! and the tasks that drive them belong to the runtime of the process that
//! opened them, so a forked child gets new clients (and new connections) on
//! its own runtime, and the parent's are leaked, never used or dropped there.
//!
//! **Bounded connections.** A pool opens a connection per request in flight
//! (HTTP/1.1 has no multiplexing), so 1,000 keepers refreshing at once
//! against one token endpoint opened 1,000 sockets, and kept them idle for
//! 90 s. Two bounds keep the descriptors of a process with any number of
//! keepers constant: at most [`MAX_REQUESTS_PER_ORIGIN`] OAuth endpoint
//! requests are in flight to one origin at a time ([`origin_permit`]; the
//! others wait their turn, which a refresh burst barely notices: a token
//! request takes milliseconds), and each pool keeps at most that many idle
//! connections per host. API requests (`send`) are not queued, only their
//! idle connections bounded: an app's own traffic is its to shape.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::redirect::Policy;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Error;
use crate::per_process::PerProcess;

/// The user agent of every request tokenkeep sends.
pub(crate) const USER_AGENT: &str = concat!("tokenkeep/", env!("CARGO_PKG_VERSION"));

/// A family of clients that differ only in their connect timeout.
pub(crate) struct ClientKind {
    /// Names the kind (and keys it: one name, one redirect policy).
    pub name: &'static str,
    /// The redirect policy of every client of this kind.
    pub redirects: fn() -> Policy,
}

/// The token endpoint's client: never follows a redirect, so a token
/// request (with its secrets) is never replayed to another URL.
pub(crate) static TOKEN_ENDPOINT: ClientKind = ClientKind {
    name: "token endpoint",
    redirects: Policy::none,
};

/// What a session keeps instead of a client: the kind and connect timeout.
#[derive(Clone, Copy)]
pub(crate) struct SharedClient {
    kind: &'static ClientKind,
    connect_timeout: Duration,
}

type Key = (&'static str, Duration);

/// The most OAuth endpoint requests (token, revocation, device) in flight
/// from this process to one origin, and the most idle connections a pool
/// keeps per host.
pub(crate) const MAX_REQUESTS_PER_ORIGIN: usize = 32;

/// This process's slots of one kind, by origin (`scheme://host:port`).
type Slots = PerProcess<HashMap<String, Arc<Semaphore>>>;

/// This process's request slots.
static ORIGIN_SLOTS: Slots = PerProcess::new();

/// This process's refresh slots (see [`refresh_permit`]).
static REFRESH_SLOTS: Slots = PerProcess::new();

/// Waits for one of the [`MAX_REQUESTS_PER_ORIGIN`] request slots of
/// `origin`; hold the permit until the answer is read. (`None` never
/// happens: the semaphores are never closed.)
pub(crate) async fn origin_permit(origin: &str) -> Option<OwnedSemaphorePermit> {
    permit(&ORIGIN_SLOTS, origin).await
}

/// Waits for one of the [`MAX_REQUESTS_PER_ORIGIN`] refresh slots of the
/// token endpoint `origin`. A refresh attempt on a shared store holds one
/// from before it takes the store's lock until it has saved: its lock and
/// saves run in blocking sections, each of which may start a runtime
/// thread, so without this bound 300 simultaneous refreshes on one SQLite
/// store ran on 300 threads. (A separate semaphore from the request slots,
/// which the attempt takes inside: never two permits of one semaphore.)
pub(crate) async fn refresh_permit(origin: &str) -> Option<OwnedSemaphorePermit> {
    permit(&REFRESH_SLOTS, origin).await
}

async fn permit(slots: &Slots, origin: &str) -> Option<OwnedSemaphorePermit> {
    let slots = slots.with(HashMap::new, |slots| {
        slots
            .entry(origin.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(MAX_REQUESTS_PER_ORIGIN)))
            .clone()
    });
    slots.acquire_owned().await.ok()
}

/// This process's clients, by kind and connect timeout.
static CLIENTS: PerProcess<HashMap<Key, reqwest::Client>> = PerProcess::new();

impl SharedClient {
    /// The shared client of `kind` with `connect_timeout`. Builds it now (if
    /// this process has none yet), so a client that cannot be built is a
    /// configuration error when the session is built, not at its first request.
    pub(crate) fn new(kind: &'static ClientKind, connect_timeout: Duration) -> Result<Self, Error> {
        let shared = SharedClient { kind, connect_timeout };
        shared.get()?;
        Ok(shared)
    }

    /// This process's client (a cheap handle to the shared pool).
    pub(crate) fn get(&self) -> Result<reqwest::Client, Error> {
        self.get_from(&CLIENTS)
    }

    fn get_from(&self, clients: &PerProcess<HashMap<Key, reqwest::Client>>) -> Result<reqwest::Client, Error> {
        let key = (self.kind.name, self.connect_timeout);
        clients.with(HashMap::new, |clients| {
            if let Some(client) = clients.get(&key) {
                return Ok(client.clone());
            }
            let client = self.build()?;
            clients.insert(key, client.clone());
            Ok(client)
        })
    }

    fn build(&self) -> Result<reqwest::Client, Error> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .redirect((self.kind.redirects)())
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(MAX_REQUESTS_PER_ORIGIN)
            .build()
            .map_err(|e| Error::configuration(format!("could not build the HTTP client ({}): {e}", self.kind.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static OTHER: ClientKind = ClientKind {
        name: "test kind",
        redirects: Policy::none,
    };

    /// How many clients (pools) were built.
    fn kinds_built(clients: &PerProcess<HashMap<Key, reqwest::Client>>) -> usize {
        clients.with(HashMap::new, |map| map.len())
    }

    #[test]
    fn sessions_of_one_kind_share_one_client_per_connect_timeout() {
        let clients = PerProcess::new();
        let second = Duration::from_secs(1);
        for _ in 0..100 {
            SharedClient {
                kind: &TOKEN_ENDPOINT,
                connect_timeout: second,
            }
            .get_from(&clients)
            .expect("builds");
        }
        assert_eq!(kinds_built(&clients), 1);
        SharedClient {
            kind: &TOKEN_ENDPOINT,
            connect_timeout: 2 * second,
        }
        .get_from(&clients)
        .expect("builds");
        SharedClient {
            kind: &OTHER,
            connect_timeout: second,
        }
        .get_from(&clients)
        .expect("builds");
        assert_eq!(kinds_built(&clients), 3);
    }
}
