//! Reading a token endpoint's error answer (RFC 6749 §5.2).
//!
//! A §5.2 error is a JSON object with `error` (REQUIRED: `invalid_request`,
//! `invalid_client`, `invalid_grant`, `unauthorized_client`,
//! `unsupported_grant_type`, `invalid_scope`, …) and `error_description`
//! (OPTIONAL). `invalid_grant` ends the session; `invalid_client` is a
//! configuration problem; the rest are protocol errors. A 5xx or 429 answer
//! is transient whatever its body says (an overloaded server that answers
//! 503 with `invalid_grant` has not judged the refresh token). An answer that is not such an object (an empty body, an HTML error
//! page from a proxy) becomes an [`Error::HttpStatus`] that says what came
//! back, so "400 with an empty body" is a clear message rather than a JSON
//! parse error. Every server-supplied text kept (`error`, `error_description`,
//! the `Content-Type`) is scrubbed of the secrets the request carried, in
//! their raw, form-urlencoded and base64 Basic forms, whole or as a long
//! prefix (see `sent_secrets.rs`), and shortened, so an echoing server cannot
//! put a secret into an error, a log line or a listener event.

use serde_json::Value;

use crate::error::Error;
use crate::secret::{scrub, Secret};

/// The longest server-supplied description kept in an error.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// Maps a non-2xx answer to an error.
pub(crate) fn error_from_response(
    status: u16,
    content_type: Option<&str>,
    retry_after_secs: Option<u64>,
    body: &[u8],
    sent_secrets: &[&Secret],
) -> Error {
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::String(code)) = fields.get("error") {
            let description = fields
                .get("error_description")
                .and_then(Value::as_str)
                .map(|d| shorten(&scrub(d, sent_secrets)));
            let code = shorten(&scrub(code, sent_secrets));
            return match code.as_str() {
                // A 5xx (or 429) is the server's trouble whatever its body
                // says: an `invalid_grant` there must not end the session.
                _ if status >= 500 || status == 429 => Error::HttpStatus {
                    status,
                    retry_after_secs,
                    body_hint: format!("with OAuth error `{code}`"),
                },
                "invalid_grant" => Error::InvalidGrant { description },
                "invalid_client" => Error::InvalidClient { status, description },
                _ => Error::OAuth {
                    status,
                    code,
                    description,
                },
            };
        }
    }
    let body_hint = if body.iter().all(u8::is_ascii_whitespace) {
        "with an empty body".to_owned()
    } else {
        let kind = match content_type {
            Some(ct) if ct.contains("json") => "a JSON body that is not an RFC 6749 §5.2 error".to_owned(),
            // Only the media type (no parameters), scrubbed and shortened:
            // a header is server text like a description (found by the fuzzer).
            Some(ct) => format!(
                "a non-JSON body ({}, {} bytes)",
                shorten(&scrub(ct.split(';').next().unwrap_or_default().trim(), sent_secrets)),
                body.len()
            ),
            None => format!("a body with no content type ({} bytes)", body.len()),
        };
        format!("with {kind}")
    };
    let body_hint = if status == 400 || status == 401 {
        format!("{body_hint}; expected an RFC 6749 §5.2 JSON error object")
    } else {
        body_hint
    };
    Error::HttpStatus {
        status,
        retry_after_secs,
        body_hint,
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_DESCRIPTION_CHARS).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_grant_and_invalid_client() {
        let e = error_from_response(
            400,
            Some("application/json"),
            None,
            br#"{"error":"invalid_grant","error_description":"expired"}"#,
            &[],
        );
        assert_eq!(
            e,
            Error::InvalidGrant {
                description: Some("expired".into())
            }
        );
        let e = error_from_response(
            401,
            Some("application/json"),
            None,
            br#"{"error":"invalid_client"}"#,
            &[],
        );
        assert!(matches!(e, Error::InvalidClient { status: 401, .. }));
    }

    /// Issue 10, case 2: a 5xx whose body says `invalid_grant` is transient.
    #[test]
    fn a_server_error_saying_invalid_grant_is_transient() {
        for status in [500u16, 502, 503, 504, 429] {
            let e = error_from_response(
                status,
                Some("application/json"),
                Some(2),
                br#"{"error":"invalid_grant","error_description":"upstream down"}"#,
                &[],
            );
            assert!(e.is_transient(), "{status}: {e:?}");
            assert!(!matches!(e, Error::InvalidGrant { .. }), "{status}");
            assert_eq!(e.retry_after_secs(), Some(2));
        }
    }

    #[test]
    fn empty_and_html_bodies_are_explained() {
        let e = error_from_response(400, None, None, b"", &[]);
        assert!(e.to_string().contains("empty body"), "{e}");
        assert!(e.to_string().contains("§5.2"), "{e}");
        let e = error_from_response(502, Some("text/html"), Some(3), b"<html>bad gateway</html>", &[]);
        assert!(e.is_transient());
        assert!(e.to_string().contains("non-JSON body (text/html"), "{e}");
    }

    #[test]
    fn echoed_secrets_are_scrubbed() {
        let rt = Secret::new("rt_ECHOED");
        let e = error_from_response(
            400,
            None,
            None,
            br#"{"error":"invalid_request","error_description":"bad token rt_ECHOED"}"#,
            &[&rt],
        );
        assert!(!e.to_string().contains("rt_ECHOED"), "{e}");
        assert!(e.to_string().contains("[redacted]"), "{e}");
    }
}
