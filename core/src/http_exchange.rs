//! The request and response records of authorized requests.
//!
//! `TokenKeeper::send` takes an [`HttpRequest`] and returns an
//! [`HttpResponse`]: plain data that every binding can build and read, for
//! apps that let tokenkeep send the request. Apps with their own HTTP stack
//! (requests, OkHttp, URLSession) use the binding's integration instead and
//! only ask tokenkeep for the token.

use std::fmt;

use crate::config::quotable_url;

/// One HTTP header. Its `Debug`/`Display` hide the value of credential
/// headers (`Authorization`, `Cookie`, `Set-Cookie`, `Proxy-Authorization`).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpHeader {
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

/// A request to send with the session's access token. Its `Debug`/`Display`
/// show the body's length, not its content.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL; its origin must be one of the session's `api_origins`,
    /// and it may not carry a user name or password.
    pub url: String,
    /// Headers to send. `Authorization` and `Host` are refused with a
    /// `Configuration` error: the token is the credential, and the host is
    /// the URL's.
    #[uniffi(default = [])]
    pub headers: Vec<HttpHeader>,
    /// The body, if any.
    #[uniffi(default = None)]
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// A `GET` of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// The answer to an [`HttpRequest`]. Its `Debug`/`Display` show the body's
/// length, not its content.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HttpResponse {
    /// The status code.
    pub status: i32,
    /// The response headers, in order.
    pub headers: Vec<HttpHeader>,
    /// The body.
    pub body: Vec<u8>,
    /// The final URL, after redirects.
    pub url: String,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// Headers whose values are credentials.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "cookie", "set-cookie", "proxy-authorization"];

impl fmt::Debug for HttpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = CREDENTIAL_HEADERS.iter().any(|h| self.name.eq_ignore_ascii_case(h));
        let value = if hidden { "[redacted]" } else { self.value.as_str() };
        write!(f, "{}: {value:?}", self.name)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &quotable_url(&self.url))
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("url", &quotable_url(&self.url))
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

display_as_debug!(HttpHeader, HttpRequest, HttpResponse);
