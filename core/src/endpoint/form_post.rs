//! One form POST to an OAuth endpoint, with client authentication and
//! retries.
//!
//! The body is `application/x-www-form-urlencoded` (RFC 6749 §3.2, RFC 7009
//! §2.1). The client authenticates as configured (RFC 6749 §2.3.1): HTTP
//! Basic with the form-urlencoded id and secret, both in the body, or only
//! `client_id` for public clients.
//!
//! Transient failures (a transport error, a timeout, HTTP 5xx, 429, 408) are
//! retried up to `max_retries` times. The wait before each retry is the
//! server's `Retry-After` when it sent one (waited out up to
//! `max_retry_after_secs`; a longer one fails at once, carrying it), and the
//! policy's exponential backoff with jitter otherwise.
//!
//! At most `http_client::MAX_REQUESTS_PER_ORIGIN` requests are in flight
//! to one origin from the process; the rest wait for a slot.
//!
//! Answers, error bodies included, are read up to
//! `RefreshPolicy::max_response_bytes` (64 KiB by default); a larger one is a
//! `BadResponse` error after reading no more than that, and is not retried.

use base64::Engine;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use url::Url;

use super::error_response::error_from_response;
use super::http_headers::{retry_after_secs, server_date_ms};
use crate::capped_body::{read_capped, BodyLimit};
use crate::config::{origin_of, ClientAuthMethod, ValidatedConfig};
use crate::error::{transport_error, Error};
use crate::http_client::origin_permit;
use crate::policy::RefreshPolicy;
use crate::secret::Secret;

/// A complete answer from an OAuth endpoint.
pub(crate) struct FormResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after_secs: Option<u64>,
    pub server_date_ms: Option<i64>,
    pub body: Vec<u8>,
}

impl FormResponse {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn into_error(self, sent: &[&Secret]) -> Error {
        error_from_response(
            self.status,
            self.content_type.as_deref(),
            self.retry_after_secs,
            &self.body,
            sent,
        )
    }
}

/// How many times a request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempts {
    /// Once: the caller retries itself (the session's refresh, which must
    /// not hold the store lock across a wait).
    Once,
    /// With the policy's retries and waits.
    WithRetries,
}

/// POSTs `params` to `url`, authenticating the client, retrying transient
/// failures when `attempts` says so. Non-2xx answers that are not transient
/// are returned as responses for the caller to interpret; a transient
/// failure (after the last attempt) is an error carrying `Retry-After`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &Url,
    config: &ValidatedConfig,
    client_secret: Option<&Secret>,
    params: Vec<(&str, String)>,
    policy: &RefreshPolicy,
    sent_secrets: &[&Secret],
    attempts: Attempts,
) -> Result<FormResponse, Error> {
    let request = FormRequest::new(url, config, client_secret, params);
    let mut failures: u32 = 0;
    loop {
        let error = match request.send_once(http, policy, sent_secrets).await {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        failures = failures.saturating_add(1);
        let wait = match attempts {
            Attempts::Once => None,
            Attempts::WithRetries => policy.retry_wait(failures, error.retry_after_secs()),
        };
        let Some(wait) = wait else { return Err(error) };
        tracing::debug!(attempt = failures, wait_ms = wait.as_millis() as u64, %error, "retrying token endpoint request");
        tokio::time::sleep(wait).await;
    }
}

/// One form POST, ready to send (and send again).
struct FormRequest<'a> {
    url: &'a Url,
    origin: String,
    body: Secret,
    basic_header: Option<Secret>,
}

impl<'a> FormRequest<'a> {
    /// Authenticates the client (RFC 6749 §2.3.1) and encodes the body.
    fn new(
        url: &'a Url,
        config: &ValidatedConfig,
        client_secret: Option<&Secret>,
        mut params: Vec<(&str, String)>,
    ) -> Self {
        let mut basic_header = None;
        match (config.auth_method, client_secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
                basic_header = Some(Secret::new(basic_credentials(&config.client_id, secret)));
            }
            (ClientAuthMethod::ClientSecretPost, Some(secret)) => {
                params.push(("client_id", config.client_id.clone()));
                params.push(("client_secret", secret.expose().to_owned()));
            }
            _ => params.push(("client_id", config.client_id.clone())),
        }
        let body = Secret::new(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish(),
        );
        FormRequest {
            url,
            origin: origin_of(url),
            body,
            basic_header,
        }
    }

    /// Sends the request once. A complete answer that is a success or a
    /// non-transient error is `Ok`; a transport failure or a transient
    /// status is `Err`.
    async fn send_once(
        &self,
        http: &reqwest::Client,
        policy: &RefreshPolicy,
        sent_secrets: &[&Secret],
    ) -> Result<FormResponse, Error> {
        let mut request = http
            .post(self.url.clone())
            .timeout(policy.request_timeout())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(self.body.expose().to_owned());
        if let Some(header) = &self.basic_header {
            request = request.header(AUTHORIZATION, header.expose());
        }
        // One of the origin's request slots, held until the answer is read
        // (see `http_client`: bounds the process's connections).
        let slot = origin_permit(&self.origin).await;
        let response = match request.send().await {
            Ok(response) => read_response(response, &BodyLimit::oauth(policy), &self.origin).await?,
            Err(e) => return Err(transport_error(e, &self.origin)),
        };
        drop(slot);
        if response.is_success() {
            return Ok(response);
        }
        let error = error_from_response(
            response.status,
            response.content_type.as_deref(),
            response.retry_after_secs,
            &response.body,
            sent_secrets,
        );
        if error.is_transient() {
            Err(error)
        } else {
            Ok(response)
        }
    }
}

/// Reads a whole answer, its body capped at `limit` (an over-cap body is a
/// `BadResponse` error, not retried; see [`crate::capped_body`]).
async fn read_response(response: reqwest::Response, limit: &BodyLimit, origin: &str) -> Result<FormResponse, Error> {
    let status = response.status().as_u16();
    let headers: HeaderMap = response.headers().clone();
    let body = read_capped(response, limit, origin).await?;
    Ok(FormResponse {
        status,
        content_type: headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        retry_after_secs: retry_after_secs(&headers),
        server_date_ms: server_date_ms(&headers),
        body,
    })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub(super) fn basic_credentials(client_id: &str, secret: &Secret) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let header = basic_credentials("my app", &Secret::new("s:e/c"));
        let encoded = header.strip_prefix("Basic ").expect("prefix");
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).expect("b64");
        assert_eq!(String::from_utf8(decoded).expect("utf8"), "my+app:s%3Ae%2Fc");
    }
}
