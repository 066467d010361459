//! Injected failures for the token endpoint: delays, error statuses (with
//! `Retry-After`), malformed JSON, connection resets, and answers padded to
//! a large size (with `Content-Length` or chunked). Queued with
//! `POST /admin/faults` (or [`crate::FixtureState::queue_fault`]) and consumed one
//! per `/token` request.

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::connection::ConnHandle;
use crate::large_body::{pad, Framing};

/// The body of a `malformed` fault: JSON cut off mid-string.
pub const MALFORMED_BODY: &str = r#"{"access_token": "at_"#;

/// One queued fault. Per faulted request: sleep `delay_ms` first if set; then if
/// `reset`, abort the connection without any response; else if `malformed`, answer
/// 200 with truncated JSON; else if `status`, answer with that status; else (a pure
/// delay, or padding alone) process the request normally. With `pad_to_bytes`
/// the answer (either kind) is then padded with spaces to that many bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// How many consecutive token requests this fault applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Status to answer with (200–599).
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` header value in seconds, sent with `status`.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Delay before anything else, in milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Abort the TCP connection (RST) instead of answering.
    #[serde(default)]
    pub reset: bool,
    /// Answer 200 `application/json` with a truncated body ([`MALFORMED_BODY`]).
    #[serde(default)]
    pub malformed: bool,
    /// Body sent with `status` (may be empty); default: a JSON error matching the status.
    #[serde(default)]
    pub body: Option<String>,
    /// `Content-Type` sent with `status`; default `application/json`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Pad the answer's body with spaces (still valid JSON) to this many
    /// bytes, generated while it is sent ([`crate::large_body`]).
    #[serde(default)]
    pub pad_to_bytes: Option<u64>,
    /// Send the padded body chunked, without `Content-Length` (needs
    /// `pad_to_bytes`).
    #[serde(default)]
    pub chunked: bool,
}

fn one() -> u32 {
    1
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            count: 1,
            status: None,
            retry_after: None,
            delay_ms: None,
            reset: false,
            malformed: false,
            body: None,
            content_type: None,
            pad_to_bytes: None,
            chunked: false,
        }
    }
}

impl FaultSpec {
    /// Answer with `status` (default JSON error body).
    pub fn with_status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Abort the connection.
    pub fn connection_reset() -> Self {
        Self {
            reset: true,
            ..Self::default()
        }
    }

    /// Answer 200 with truncated JSON.
    pub fn malformed_json() -> Self {
        Self {
            malformed: true,
            ..Self::default()
        }
    }

    /// Delay the request by `delay_ms`, then handle it normally.
    pub fn delayed(delay_ms: u64) -> Self {
        Self {
            delay_ms: Some(delay_ms),
            ..Self::default()
        }
    }

    /// Pad the answer to `bytes`, with `Content-Length`.
    pub fn padded_to(bytes: u64) -> Self {
        Self {
            pad_to_bytes: Some(bytes),
            ..Self::default()
        }
    }

    /// Send the padded body chunked instead.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Apply to the next `count` requests instead of one.
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Send `Retry-After: secs` with the status.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Rejects faults that would do nothing or cannot be sent.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("count must be at least 1".into());
        }
        if self.status.is_none()
            && self.delay_ms.is_none()
            && !self.reset
            && !self.malformed
            && self.pad_to_bytes.is_none()
        {
            return Err("a fault needs at least one of status, delay_ms, reset, malformed, pad_to_bytes".into());
        }
        if self.chunked && self.pad_to_bytes.is_none() {
            return Err("chunked needs pad_to_bytes".into());
        }
        if let Some(status) = self.status {
            if !(200..=599).contains(&status) {
                return Err(format!("status {status} is not between 200 and 599"));
            }
        }
        if let Some(ct) = &self.content_type {
            HeaderValue::from_str(ct).map_err(|_| format!("invalid content_type {ct:?}"))?;
        }
        Ok(())
    }

    /// `response` padded as this fault asks (unchanged without `pad_to_bytes`).
    pub(crate) async fn pad(&self, response: Response) -> Response {
        let Some(total) = self.pad_to_bytes else {
            return response;
        };
        let framing = if self.chunked {
            Framing::Chunked
        } else {
            Framing::ContentLength
        };
        pad(response, total, framing).await
    }

    /// Performs this fault for one request. `None` means "now handle the request
    /// normally" (a pure delay).
    pub(crate) async fn apply(&self, conn: &ConnHandle) -> Option<Response> {
        if let Some(ms) = self.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.reset {
            conn.abort();
            // Never written: the connection fails on the first write attempt.
            return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        if self.malformed {
            return Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    MALFORMED_BODY,
                )
                    .into_response(),
            );
        }
        let status = StatusCode::from_u16(self.status?).ok()?;
        let body = self.body.clone().unwrap_or_else(|| default_body(status).to_owned());
        let content_type = self
            .content_type
            .as_deref()
            .and_then(|ct| HeaderValue::from_str(ct).ok())
            .unwrap_or(HeaderValue::from_static("application/json"));
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        Some(response)
    }
}

/// The JSON error sent for an injected status when no `body` was given.
fn default_body(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => r#"{"error":"invalid_request","error_description":"injected fault"}"#,
        401 => r#"{"error":"invalid_client","error_description":"injected fault"}"#,
        429 => r#"{"error":"slow_down","error_description":"injected fault: too many requests"}"#,
        500..=599 => r#"{"error":"temporarily_unavailable","error_description":"injected fault"}"#,
        _ => r#"{"error":"injected_fault","error_description":"injected fault"}"#,
    }
}

/// Faults waiting for token requests, in order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<FaultSpec>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: FaultSpec) {
        self.queue.push_back(fault);
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn pending(&self) -> Vec<FaultSpec> {
        self.queue.iter().cloned().collect()
    }

    /// The fault for one request, counting it down.
    pub fn take_one(&mut self) -> Option<FaultSpec> {
        let front = self.queue.front_mut()?;
        if front.count > 1 {
            front.count -= 1;
            return Some(FaultSpec {
                count: 1,
                ..front.clone()
            });
        }
        self.queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_counts_down_in_order() {
        let mut q = FaultQueue::default();
        q.push(FaultSpec::with_status(503).times(2));
        q.push(FaultSpec::malformed_json());
        assert_eq!(q.take_one().and_then(|f| f.status), Some(503));
        assert_eq!(q.pending()[0].count, 1);
        assert_eq!(q.take_one().and_then(|f| f.status), Some(503));
        assert!(q.take_one().is_some_and(|f| f.malformed));
        assert!(q.take_one().is_none());
    }

    #[test]
    fn json_defaults_and_validation() {
        let f: FaultSpec = serde_json::from_str(r#"{"status":503,"retry_after":2}"#).expect("valid fault JSON");
        assert_eq!(f.count, 1);
        assert!(f.validate().is_ok());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"retryAfter":2}"#).is_err());
        assert!(FaultSpec::padded_to(1 << 20).chunked().validate().is_ok());
        let chunked_alone = FaultSpec {
            chunked: true,
            ..FaultSpec::default()
        };
        assert!(chunked_alone.validate().is_err());
        assert!(FaultSpec::default().validate().is_err());
        assert!(FaultSpec::with_status(503).times(0).validate().is_err());
        assert!(FaultSpec::with_status(99).validate().is_err());
    }
}
