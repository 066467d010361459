//! Sending a request with the access token (RFC 6750 §2.1).
//!
//! The request goes out with `Authorization: Bearer <token>`. On HTTP 401 the
//! session refreshes (joining any refresh in flight, or using tokens that
//! changed meanwhile) and the request is retried exactly once; whatever the
//! retry answers is returned. A 401 from another origin that a redirect led
//! to (where the token was not sent) is returned as it is.
//!
//! The token goes only where it was meant to: the request URL's origin must
//! be one of the configured `api_origins` (and HTTPS, or loopback HTTP), a
//! header named `Authorization` supplied by the caller is replaced, and on a
//! redirect to any other origin the header is dropped and not restored.

use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::redirect::{Attempt, Policy};
use url::Url;

use super::Session;
use crate::config::{origin_of, secure_url};
use crate::error::{transport_error, Error};
use crate::http_client::{ClientKind, SharedClient};
use crate::http_exchange::{HttpHeader, HttpRequest, HttpResponse};
use crate::policy::RefreshPolicy;
use crate::token_set::TokenSet;

/// The most redirects one authorized request follows.
const MAX_REDIRECTS: usize = 10;

/// The HTTP clients for API requests: follow up to [`MAX_REDIRECTS`]
/// redirects; reqwest removes `Authorization` when a redirect changes
/// scheme, host or port, and the policy below refuses to follow a redirect
/// from HTTPS to plain HTTP.
static API: ClientKind = ClientKind {
    name: "API",
    redirects: || Policy::custom(follow_redirect),
};

/// The session's handle to the process's shared API client
/// ([`crate::http_client`]); the request timeout is set per request.
pub(crate) fn api_client(policy: &RefreshPolicy) -> Result<SharedClient, Error> {
    SharedClient::new(&API, policy.connect_timeout())
}

fn follow_redirect(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error("too many redirects");
    }
    let downgrade =
        attempt.previous().last().is_some_and(|prev| prev.scheme() == "https") && attempt.url().scheme() != "https";
    if downgrade {
        return attempt.stop();
    }
    attempt.follow()
}

impl Session {
    /// The origins the access token may be sent to.
    pub(crate) fn api_origins(&self) -> &[String] {
        &self.config.api_origins
    }

    /// Checks that the access token may be sent to `raw_url`.
    pub(crate) fn check_destination(&self, raw_url: &str) -> Result<Url, Error> {
        let url = secure_url(raw_url, "the request URL")?;
        if !self.config.allows_origin(&url) {
            return Err(Error::configuration(format!(
                "refusing to send the access token to {}: it is not one of the session's api_origins ({})",
                origin_of(&url),
                if self.config.api_origins.is_empty() {
                    "none configured".to_owned()
                } else {
                    self.config.api_origins.join(", ")
                }
            )));
        }
        Ok(url)
    }

    /// Sends `request` with the access token; on 401 refreshes and retries once.
    pub(crate) async fn send(self: Arc<Self>, request: HttpRequest) -> Result<HttpResponse, Error> {
        let url = self.check_destination(&request.url)?;
        let method = reqwest::Method::from_bytes(request.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::configuration(format!("`{}` is not an HTTP method", request.method)))?;
        let tokens = self.clone().valid_tokens(0).await?;
        let response = self.send_once(&method, &url, &request, &tokens).await?;
        // A 401 from an origin the token was not sent to (after a redirect)
        // says nothing about the token.
        let token_was_seen = Url::parse(&response.url).is_ok_and(|u| self.config.allows_origin(&u));
        if response.status != 401 || !token_was_seen {
            return Ok(response);
        }
        tracing::debug!(account = %self.account, "HTTP 401: refreshing and retrying once");
        let retry_tokens = self.clone().refresh_after_rejection(&tokens).await?;
        self.send_once(&method, &url, &request, &retry_tokens).await
    }

    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &Url,
        request: &HttpRequest,
        tokens: &TokenSet,
    ) -> Result<HttpResponse, Error> {
        let mut builder = self
            .api_http
            .get()?
            .request(method.clone(), url.clone())
            .timeout(self.policy.request_timeout());
        for header in &request.headers {
            if header.name.eq_ignore_ascii_case(AUTHORIZATION.as_str()) {
                continue;
            }
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| Error::configuration(format!("`{}` is not a valid header name", header.name)))?;
            let value = HeaderValue::from_str(&header.value)
                .map_err(|_| Error::configuration(format!("the value of header `{}` is not valid", header.name)))?;
            builder = builder.header(name, value);
        }
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", tokens.access_token_secret().expose())).map_err(|_| {
                Error::MalformedResponse {
                    detail: "the access token has characters not allowed in an HTTP header".into(),
                }
            })?;
        bearer.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, bearer);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let origin = origin_of(url);
        let response = builder.send().await.map_err(|e| transport_error(e, &origin))?;
        let status = response.status().as_u16();
        let final_url = response.url().clone();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| HttpHeader {
                name: name.as_str().to_owned(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, &origin))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
            url: final_url.to_string(),
        })
    }
}
