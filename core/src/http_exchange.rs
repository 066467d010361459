//! The request and response records of authorized requests.
//!
//! `TokenKeeper::send` takes an [`HttpRequest`] and returns an
//! [`HttpResponse`]: plain data that every binding can build and read, for
//! apps that let tokenkeep send the request. Apps with their own HTTP stack
//! (requests, OkHttp, URLSession) use the binding's integration instead and
//! only ask tokenkeep for the token.

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// The header name.
    pub name: String,
    /// The header value.
    pub value: String,
}

/// A request to send with the session's access token.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// The answer to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
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
