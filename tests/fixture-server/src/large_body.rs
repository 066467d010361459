//! Large generated bodies, to test clients' size caps: an answer padded with
//! JSON whitespace up to a given size, sent with `Content-Length` or chunked.
//!
//! The padding is produced chunk by chunk from one static 64 KiB block of
//! spaces while the client reads, so a 500 MB answer costs the fixture no
//! more memory than a small one. Trailing whitespace keeps a JSON body valid
//! JSON, so a padded token answer just under a client's cap is still a
//! usable token answer.
//!
//! Used by the `pad_to_bytes` / `chunked` faults on `/token` and by
//! `GET /api/large`.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::stream::{self, StreamExt};

/// The size of each generated chunk.
const CHUNK: usize = 64 * 1024;

/// The padding block every chunk is cut from.
static SPACES: [u8; CHUNK] = [b' '; CHUNK];

/// How a large body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// With a `Content-Length` header announcing the whole size.
    ContentLength,
    /// `Transfer-Encoding: chunked`, no size announced.
    Chunked,
}

/// A body of `prefix` followed by spaces up to `total` bytes (at least the
/// prefix), streamed.
pub(crate) fn padded_body(prefix: Bytes, total: u64) -> Body {
    let mut remaining = total.saturating_sub(prefix.len() as u64);
    let padding = stream::iter(std::iter::from_fn(move || {
        if remaining == 0 {
            return None;
        }
        let n = remaining.min(CHUNK as u64) as usize;
        remaining -= n as u64;
        Some(Bytes::from_static(&SPACES[..n]))
    }));
    let body = stream::once(async move { prefix }).chain(padding);
    Body::from_stream(body.map(Ok::<_, std::convert::Infallible>))
}

/// `response` with its body padded to `total` bytes, framed as `framing`.
/// The original body is read whole: it is one of the fixture's own small
/// answers.
pub(crate) async fn pad(response: Response, total: u64, framing: Framing) -> Response {
    let (mut parts, body) = response.into_parts();
    let prefix = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let size = total.max(prefix.len() as u64);
    parts.headers.remove(header::CONTENT_LENGTH);
    if framing == Framing::ContentLength {
        parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    Response::from_parts(parts, padded_body(prefix, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_padded_body_has_the_exact_size_and_starts_with_the_prefix() {
        let body = padded_body(Bytes::from_static(b"{}"), 3 * CHUNK as u64 + 7);
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        assert_eq!(bytes.len(), 3 * CHUNK + 7);
        assert!(bytes.starts_with(b"{} "));
        assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
    }
}
