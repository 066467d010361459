//! Reading a response body with a size cap, so a huge or endless answer
//! costs at most the cap in memory.
//!
//! `reqwest::Response::bytes` buffers the whole body, however large: a
//! 500 MB chunked token answer took 2 GB of memory and was accepted.
//! [`read_capped`] refuses a body whose `Content-Length` exceeds the cap
//! before reading any of it, and otherwise reads chunk by chunk
//! (`Response::chunk`), stopping as soon as the total would exceed the cap.
//! Memory held is at most the cap plus one chunk (the transport's read
//! size); dropping the response then closes the connection rather than
//! draining the rest.
//!
//! Over the cap is [`Error::MalformedResponse`] (public `BadResponse`): the
//! message names the cap and the `RefreshPolicy` setting that raises it. It
//! is not transient, so it is not retried: the same server would most likely
//! send the same body again.
//!
//! The caps themselves are `RefreshPolicy::max_response_bytes` (OAuth
//! endpoints: token, revocation, device authorization, and their error
//! bodies) and `RefreshPolicy::max_api_response_bytes` (what `send` returns).
//!
//! ```ignore
//! let body = read_capped(response, &BodyLimit::oauth(&policy), &origin).await?;
//! ```

use crate::error::{transport_error, Error};
use crate::policy::{non_negative, RefreshPolicy};

/// A size cap and the words to explain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimit {
    /// The most bytes accepted.
    pub max_bytes: u64,
    /// What answered ("the token endpoint's answer").
    pub what: &'static str,
    /// The `RefreshPolicy` field that sets `max_bytes`.
    pub setting: &'static str,
}

impl BodyLimit {
    /// The cap of OAuth endpoint answers (token, revocation, device
    /// authorization, and their error bodies).
    pub(crate) fn oauth(policy: &RefreshPolicy) -> Self {
        BodyLimit {
            max_bytes: non_negative(policy.max_response_bytes),
            what: "the authorization server's answer",
            setting: "max_response_bytes",
        }
    }

    /// The cap of API answers returned by `send`.
    pub(crate) fn api(policy: &RefreshPolicy) -> Self {
        BodyLimit {
            max_bytes: non_negative(policy.max_api_response_bytes),
            what: "the API's answer",
            setting: "max_api_response_bytes",
        }
    }

    fn too_large(&self, announced: Option<u64>) -> Error {
        let size = match announced {
            Some(n) => format!("announces {n} bytes (Content-Length), over"),
            None => "is over".to_owned(),
        };
        Error::MalformedResponse {
            detail: format!(
                "{} {size} the cap of {} bytes; raise RefreshPolicy.{} if answers this large are expected",
                self.what, self.max_bytes, self.setting
            ),
        }
    }
}

/// Reads the body of `response`, at most `limit.max_bytes` of it. A larger
/// body is refused (see the module docs); a transport failure while reading
/// is a transport error naming `origin`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: &BodyLimit,
    origin: &str,
) -> Result<Vec<u8>, Error> {
    let announced = response.content_length();
    if announced.is_some_and(|n| n > limit.max_bytes) {
        return Err(limit.too_large(announced));
    }
    let expected = announced.unwrap_or(0).min(limit.max_bytes);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(e, origin))? {
        let total = (body.len() as u64).saturating_add(chunk.len() as u64);
        if total > limit.max_bytes {
            return Err(limit.too_large(None));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_cap_and_the_setting() {
        let limit = BodyLimit::oauth(&RefreshPolicy::default());
        let message = limit.too_large(Some(50_000_000)).to_string();
        assert!(message.contains("65536"), "{message}");
        assert!(message.contains("50000000"), "{message}");
        assert!(message.contains("RefreshPolicy.max_response_bytes"), "{message}");
        let api = BodyLimit::api(&RefreshPolicy::default()).too_large(None).to_string();
        assert!(
            api.contains("16777216") && api.contains("max_api_response_bytes"),
            "{api}"
        );
        assert!(matches!(
            crate::error::TokenKeepError::from(limit.too_large(None)),
            crate::error::TokenKeepError::BadResponse { .. }
        ));
    }
}
