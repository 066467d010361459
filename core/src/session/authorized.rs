//! Sending a request with the access token (RFC 6750 §2.1).
//!
//! The request goes out with `Authorization: Bearer <token>`. On HTTP 401 the
//! session refreshes (joining any refresh in flight, or using tokens that
//! changed meanwhile) and the request is retried exactly once; whatever the
//! retry answers is returned. A 401 to a request that did not carry the
//! token is returned as it is: the token was not judged.
//!
//! The token goes only where it was meant to: the request URL's origin must
//! be one of the configured `api_origins` (and HTTPS, or loopback HTTP), and
//! is refused with a `Configuration` error when the URL has userinfo
//! (`https://user:pass@host/`, which would add a second `Authorization`
//! header) or the caller supplies a `Host` header (which would name another
//! host at an allowed address) or an `Authorization` header (the token is the
//! request's credential). On a redirect to another host or port reqwest drops
//! the header and does not restore it, and a redirect from HTTPS to plain
//! HTTP is not followed.
//!
//! **Which answer saw the token.** A redirect chain can leave the allowed
//! origin and come back (allowed → other → allowed): the last hop is at an
//! allowed origin but went out without the token. The redirect policy is the
//! only place that sees every hop, and it is shared by all requests of the
//! process, so each request runs its `send` inside a task-local flag
//! ([`TOKEN_DROPPED`]) that the policy sets when a hop it follows changes
//! host or port (reqwest's own rule for removing `Authorization`). reqwest
//! calls the policy while the caller's task polls the request future, so the
//! flag is the request's own. Only an answer whose request still carried the
//! token may trigger a refresh.
//!
//! Answers are read up to `RefreshPolicy::max_api_response_bytes` (16 MiB by
//! default); a larger body is a `BadResponse` error after reading at most that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, HOST};
use reqwest::redirect::{Attempt, Policy};
use url::Url;

use super::Session;
use crate::capped_body::{read_capped, BodyLimit};
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

tokio::task_local! {
    /// Set while one API request is sent: whether a redirect it followed
    /// went to another host or port, so the rest of the chain went out
    /// without the token.
    static TOKEN_DROPPED: Arc<AtomicBool>;
}

fn follow_redirect(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error("too many redirects");
    }
    let previous = attempt.previous().last();
    let downgrade = previous.is_some_and(|prev| prev.scheme() == "https") && attempt.url().scheme() != "https";
    if downgrade {
        return attempt.stop();
    }
    if previous.is_some_and(|prev| drops_authorization(prev, attempt.url())) {
        // Outside a `send` (no flag) there is no token to track.
        let _ = TOKEN_DROPPED.try_with(|dropped| dropped.store(true, Ordering::Relaxed));
    }
    attempt.follow()
}

/// Whether reqwest removes `Authorization` on a redirect from `previous` to
/// `next`: when the host or the port changes (`remove_sensitive_headers`).
fn drops_authorization(previous: &Url, next: &Url) -> bool {
    previous.host_str() != next.host_str() || previous.port_or_known_default() != next.port_or_known_default()
}

/// The caller's headers, checked: a valid name and value each, and no
/// `Authorization` (the token is the credential) or `Host` (the host comes
/// from the checked URL).
fn caller_headers(headers: &[HttpHeader]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| Error::configuration(format!("`{}` is not a valid header name", header.name)))?;
        if name == AUTHORIZATION {
            return Err(Error::configuration(
                "the request has an `Authorization` header, but `send` sends the session's access token as the \
                 request's only credential; remove the header (or send the request with your own HTTP client)",
            ));
        }
        if name == HOST {
            return Err(Error::configuration(
                "the request has a `Host` header, which could send the access token to another host at an allowed \
                 address; remove it: the host is taken from the URL, whose origin must be one of api_origins",
            ));
        }
        let value = HeaderValue::from_str(&header.value)
            .map_err(|_| Error::configuration(format!("the value of header `{}` is not valid", header.name)))?;
        map.append(name, value);
    }
    Ok(map)
}

/// One answer and whether the request that produced it carried the token.
struct Sent {
    response: HttpResponse,
    carried_token: bool,
}

impl Session {
    /// The origins the access token may be sent to.
    pub(crate) fn api_origins(&self) -> &[String] {
        &self.config.api_origins
    }

    /// Checks that the access token may be sent to `raw_url`.
    pub(crate) fn check_destination(&self, raw_url: &str) -> Result<Url, Error> {
        let url = secure_url(raw_url, "the request URL")?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::configuration(format!(
                "refusing to send the access token to a URL with a user name or password ({}); remove the \
                 `user:password@` part: the access token is the request's credential",
                origin_of(&url)
            )));
        }
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
        let headers = caller_headers(&request.headers)?;
        let tokens = self.clone().valid_tokens(0).await?;
        let sent = self.send_once(&method, &url, &headers, &request, &tokens).await?;
        // A 401 to a request that went out without the token (a redirect
        // left the origin, even if it came back) says nothing about the token.
        let token_was_seen =
            sent.carried_token && Url::parse(&sent.response.url).is_ok_and(|u| self.config.allows_origin(&u));
        if sent.response.status != 401 || !token_was_seen {
            return Ok(sent.response);
        }
        tracing::debug!(account = %self.account, "HTTP 401: refreshing and retrying once");
        let retry_tokens = self.clone().refresh_after_rejection(&tokens).await?;
        Ok(self
            .send_once(&method, &url, &headers, &request, &retry_tokens)
            .await?
            .response)
    }

    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &Url,
        headers: &HeaderMap,
        request: &HttpRequest,
        tokens: &TokenSet,
    ) -> Result<Sent, Error> {
        let mut builder = self
            .api_http
            .get()?
            .request(method.clone(), url.clone())
            .timeout(self.policy.request_timeout())
            .headers(headers.clone());
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
        let dropped = Arc::new(AtomicBool::new(false));
        let response = TOKEN_DROPPED
            .scope(dropped.clone(), builder.send())
            .await
            .map_err(|e| transport_error(e, &origin))?;
        let status = i32::from(response.status().as_u16());
        let final_url = response.url().clone();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| HttpHeader {
                name: name.as_str().to_owned(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let body = read_capped(response, &BodyLimit::api(&self.policy), &origin).await?;
        Ok(Sent {
            response: HttpResponse {
                status,
                headers,
                body,
                url: final_url.to_string(),
            },
            carried_token: !dropped.load(Ordering::Relaxed),
        })
    }
}
