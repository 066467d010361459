//! Request counters (`GET /stats`), the log of token-endpoint requests
//! (`GET /admin/token-requests`), and the middleware that counts `/api/*` requests.

use std::collections::{BTreeMap, VecDeque};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::client_auth::{presented_client, ClientAuthMethod};
use crate::device::DEVICE_CODE_GRANT_TYPE;
use crate::form::FormParams;
use crate::state::FixtureState;

/// How many token-endpoint requests the log keeps.
const TOKEN_REQUEST_LOG_LIMIT: usize = 1000;

/// Form fields whose values never appear in the log.
const REDACTED_FIELDS: [&str; 5] = ["client_secret", "refresh_token", "code", "code_verifier", "device_code"];

/// Replacement for a redacted value.
const REDACTED: &str = "<redacted>";

/// Token-endpoint request counts by grant type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestStats {
    /// Every request that reached `/token`, faulted ones included.
    pub total: u64,
    /// `grant_type=refresh_token`.
    pub refresh_token: u64,
    /// `grant_type=client_credentials`.
    pub client_credentials: u64,
    /// `grant_type=authorization_code`.
    pub authorization_code: u64,
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628).
    #[serde(default)]
    pub device_code: u64,
    /// Missing or any other grant type.
    pub other: u64,
}

/// The body of `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests to `/token`.
    pub token_requests: TokenRequestStats,
    /// Requests to `/revoke`.
    pub revocations: u64,
    /// Requests to `/introspect`.
    pub introspections: u64,
    /// Requests to any `/api/*` path.
    pub api_requests: u64,
    /// Those `/api/*` requests that carried an `Authorization` header.
    pub api_requests_with_authorization: u64,
    /// Refresh requests with an already rotated refresh token that the reuse
    /// grace period covered: answered with new tokens in the same family.
    #[serde(default)]
    pub refresh_reuse_within_grace: u64,
    /// Refresh requests with an already rotated refresh token outside any grace
    /// period: reuse, answered `invalid_grant` after revoking the family.
    #[serde(default)]
    pub refresh_reuse_detected: u64,
    /// The most `/token` requests the server was handling at once (faults'
    /// delays included): server-side evidence of a client's concurrency.
    #[serde(default)]
    pub token_requests_in_flight_max: u64,
}

/// One logged token-endpoint request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequestRecord {
    /// The `grant_type` form field, if present.
    pub grant_type: Option<String>,
    /// The client id from the `Authorization: Basic` header or the form.
    pub client_id: Option<String>,
    /// How the client presented itself.
    pub client_auth: ClientAuthMethod,
    /// Every form field; secrets, refresh tokens, codes, device codes and verifiers
    /// are `<redacted>`.
    pub params: BTreeMap<String, String>,
    /// When the request arrived (unix ms): server-side evidence of a
    /// client's request rate.
    #[serde(default)]
    pub at_unix_ms: u64,
}

impl TokenRequestRecord {
    fn new(headers: &HeaderMap, form: &FormParams) -> Self {
        let presented = presented_client(headers, form);
        let params = form
            .to_map()
            .into_iter()
            .map(|(name, value)| {
                let value = if REDACTED_FIELDS.contains(&name.as_str()) {
                    REDACTED.to_owned()
                } else {
                    value
                };
                (name, value)
            })
            .collect();
        Self {
            grant_type: form.get("grant_type").map(str::to_owned),
            client_id: presented.client_id,
            client_auth: presented.method,
            params,
            at_unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// Counters plus the bounded token-request log.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    stats: Stats,
    log: VecDeque<TokenRequestRecord>,
    in_flight: u64,
}

impl Recorder {
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn reset(&mut self) {
        let in_flight = self.in_flight;
        *self = Self::default();
        self.in_flight = in_flight;
    }

    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    pub fn token_requests(&self) -> Vec<TokenRequestRecord> {
        self.log.iter().cloned().collect()
    }

    /// A `/token` request started (see [`Stats::token_requests_in_flight_max`]).
    pub fn token_request_started(&mut self) {
        self.in_flight += 1;
        self.stats.token_requests_in_flight_max = self.stats.token_requests_in_flight_max.max(self.in_flight);
    }

    /// A `/token` request was answered.
    pub fn token_request_finished(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Counts and logs one token-endpoint request.
    pub fn record_token_request(&mut self, headers: &HeaderMap, form: &FormParams) {
        let t = &mut self.stats.token_requests;
        t.total += 1;
        match form.get("grant_type") {
            Some("refresh_token") => t.refresh_token += 1,
            Some("client_credentials") => t.client_credentials += 1,
            Some("authorization_code") => t.authorization_code += 1,
            Some(DEVICE_CODE_GRANT_TYPE) => t.device_code += 1,
            _ => t.other += 1,
        }
        if self.log.len() == TOKEN_REQUEST_LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(TokenRequestRecord::new(headers, form));
    }

    pub fn record_refresh_reuse_within_grace(&mut self) {
        self.stats.refresh_reuse_within_grace += 1;
    }

    pub fn record_refresh_reuse_detected(&mut self) {
        self.stats.refresh_reuse_detected += 1;
    }

    pub fn record_revocation(&mut self) {
        self.stats.revocations += 1;
    }

    pub fn record_introspection(&mut self) {
        self.stats.introspections += 1;
    }

    fn record_api_request(&mut self, with_authorization: bool) {
        self.stats.api_requests += 1;
        if with_authorization {
            self.stats.api_requests_with_authorization += 1;
        }
    }
}

/// Middleware counting every request whose path is `/api` or under `/api/`,
/// whatever its outcome.
pub(crate) async fn count_api_requests(State(state): State<FixtureState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        let with_authorization = request.headers().contains_key(header::AUTHORIZATION);
        state.recorder().record_api_request(with_authorization);
    }
    next.run(request).await
}

/// `GET /stats`.
pub(crate) async fn get_stats(State(state): State<FixtureState>) -> impl IntoResponse {
    Json(state.stats())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_are_counted_by_grant_and_redacted() {
        let mut recorder = Recorder::default();
        let headers = HeaderMap::new();
        let form =
            FormParams::parse(b"grant_type=refresh_token&refresh_token=rt_x&client_id=a&client_secret=s&scope=x+y");
        recorder.record_token_request(&headers, &form);
        recorder.record_token_request(&headers, &FormParams::parse(b"grant_type=password"));
        recorder.record_token_request(&headers, &FormParams::parse(b""));
        recorder.record_token_request(
            &headers,
            &FormParams::parse(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc_x"),
        );
        let stats = recorder.stats();
        assert_eq!(stats.token_requests.total, 4);
        assert_eq!(stats.token_requests.refresh_token, 1);
        assert_eq!(stats.token_requests.device_code, 1);
        assert_eq!(stats.token_requests.other, 2);
        let log = recorder.token_requests();
        assert_eq!(log.len(), 4);
        assert_eq!(log[3].params["device_code"], "<redacted>");
        assert_eq!(log[3].grant_type.as_deref(), Some(DEVICE_CODE_GRANT_TYPE));
        assert_eq!(log[0].params["refresh_token"], "<redacted>");
        assert_eq!(log[0].params["client_secret"], "<redacted>");
        assert_eq!(log[0].params["scope"], "x y");
        assert_eq!(log[0].client_auth, ClientAuthMethod::Post);
        assert_eq!(log[0].client_id.as_deref(), Some("a"));
        assert_eq!(log[2].grant_type, None);
    }

    #[test]
    fn log_keeps_the_last_thousand() {
        let mut recorder = Recorder::default();
        let headers = HeaderMap::new();
        for i in 0..1005 {
            let body = format!("grant_type=client_credentials&n={i}");
            recorder.record_token_request(&headers, &FormParams::parse(body.as_bytes()));
        }
        let log = recorder.token_requests();
        assert_eq!(log.len(), 1000);
        assert_eq!(log[0].params["n"], "5");
        assert_eq!(log[999].params["n"], "1004");
    }
}
