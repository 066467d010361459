//! Sending requests with the token: 401 → refresh once → retry once, and
//! the token never goes to an origin the session was not configured for.

mod support;

use support::*;
use tokenkeep::{HttpHeader, HttpRequest, TokenKeepError};

#[tokio::test(flavor = "multi_thread")]
async fn a_request_carries_the_bearer_token() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let response = keeper
        .send(HttpRequest::get(fixture.url("/api/me")))
        .await
        .expect("sent");
    assert_eq!(response.status, 200);
    assert_eq!(json_body(&response)["client_id"], "public-app");
    assert_eq!(fixture.stats().await["api_requests_with_authorization"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_refreshes_once_and_retries_once() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let old = keeper.access_token().await.expect("token");
    // The server invalidates every access token; the client still thinks its token is fresh.
    fixture.admin("/admin/expire-access-tokens").await;
    let response = keeper
        .send(HttpRequest::get(fixture.url("/api/me")))
        .await
        .expect("sent");
    assert_eq!(response.status, 200, "the retry succeeded");
    assert_ne!(keeper.access_token().await.expect("token"), old);
    assert_eq!(fixture.refresh_requests().await, 1);
    assert_eq!(fixture.stats().await["api_requests"], 2, "one request and one retry");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_after_the_server_revoked_everything_ends_the_session_without_a_second_retry() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    // Every token is revoked: the request gets 401 and the refresh invalid_grant.
    fixture.admin("/admin/revoke-all").await;
    let result = keeper.send(HttpRequest::get(fixture.url("/api/me"))).await;
    // The refresh presents a revoked refresh token: the session ends.
    assert!(
        matches!(result, Err(TokenKeepError::SessionExpired { .. })),
        "{result:?}"
    );
    assert_eq!(fixture.stats().await["api_requests"], 1, "no retry without a new token");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_never_sent_to_an_origin_outside_api_origins() {
    let fixture = Fixture::start();
    let other = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let error = keeper
        .send(HttpRequest::get(other.url("/api/me")))
        .await
        .expect_err("refused");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
    assert!(error.to_string().contains("api_origins"), "{error}");
    assert_eq!(other.stats().await["api_requests"], 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_origin_drops_the_authorization_header() {
    let fixture = Fixture::start();
    let other = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let target = other.url("/api/me");
    let url = format!(
        "{}?to={}",
        fixture.url("/api/redirect"),
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    );
    let response = keeper.send(HttpRequest::get(url)).await.expect("followed");
    assert_eq!(response.status, 401, "the other origin saw no token");
    assert_eq!(response.url, target);
    let stats = other.stats().await;
    assert_eq!(stats["api_requests"], 1);
    assert_eq!(stats["api_requests_with_authorization"], 0);
}

/// Issue 11, "Authorized requests" item 7: a caller's `Authorization` or
/// `Host` header is refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_caller_supplied_authorization_or_host_header_is_refused() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    for (name, value) in [
        ("Authorization", "Bearer forged"),
        ("authorization", "Basic dXNlcjpwYXNz"),
        ("Host", "evil.example"),
        ("HOST", "localhost"),
    ] {
        let request = HttpRequest {
            headers: vec![HttpHeader {
                name: name.into(),
                value: value.into(),
            }],
            ..HttpRequest::get(fixture.url("/api/me"))
        };
        let error = keeper.send(request).await.expect_err(name);
        assert!(
            matches!(error, TokenKeepError::Configuration { .. }),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains("remove"), "{name}: {error}");
    }
    assert_eq!(fixture.stats().await["api_requests"], 0, "nothing was sent");
}

/// Issue 11, "Authorized requests" item 7: a URL with userinfo would carry
/// a second `Authorization` header; it is refused, and `may_send_token_to`
/// says no.
#[tokio::test(flavor = "multi_thread")]
async fn a_url_with_userinfo_is_refused() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let plain = fixture.url("/api/me");
    assert!(keeper.may_send_token_to(plain.clone()));
    for userinfo in ["user:secret-password@", "user@", ":pw@"] {
        let url = plain.replacen("://", &format!("://{userinfo}"), 1);
        assert!(!keeper.may_send_token_to(url.clone()), "{url}");
        let error = keeper.send(HttpRequest::get(url.clone())).await.expect_err(&url);
        assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
        assert!(!error.to_string().contains("secret-password"), "{error}");
    }
    assert_eq!(fixture.stats().await["api_requests"], 0, "nothing was sent");
}

/// `GET /api/redirect` at `from`, redirecting to `to`.
fn redirect_to(from: &Fixture, to: &str) -> String {
    format!(
        "{}?to={}",
        from.url("/api/redirect"),
        url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
    )
}

/// Issue 11, "Authorized requests" item 8: allowed → other → allowed ends
/// at an allowed origin, but without the token (dropped at the first hop
/// and not restored): the 401 says nothing about the token, so no refresh.
#[tokio::test(flavor = "multi_thread")]
async fn a_401_after_a_redirect_chain_that_left_the_origin_and_came_back_does_not_refresh() {
    let fixture = Fixture::start();
    let other = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let before = keeper.access_token().await.expect("token");
    let back = redirect_to(&other, &fixture.url("/api/me"));
    let response = keeper
        .send(HttpRequest::get(redirect_to(&fixture, &back)))
        .await
        .expect("followed");
    assert_eq!(response.status, 401, "the final hop carried no token");
    assert_eq!(response.url, fixture.url("/api/me"));
    assert_eq!(fixture.refresh_requests().await, 0, "no refresh");
    assert_eq!(keeper.access_token().await.expect("token"), before);
    assert_eq!(other.stats().await["api_requests_with_authorization"], 0);
}

/// Issue 11, "Authorized requests" item 8: a redirect within the origin
/// keeps the token, so a 401 at its end still refreshes and retries once.
#[tokio::test(flavor = "multi_thread")]
async fn a_401_after_a_same_origin_redirect_refreshes_and_retries() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    fixture.admin("/admin/expire-access-tokens").await;
    let response = keeper
        .send(HttpRequest::get(redirect_to(&fixture, &fixture.url("/api/me"))))
        .await
        .expect("followed");
    assert_eq!(response.status, 200, "the retry carried the new token");
    assert_eq!(fixture.refresh_requests().await, 1);
}

/// A 401 from another origin a redirect led to (no token sent there) does
/// not refresh either.
#[tokio::test(flavor = "multi_thread")]
async fn a_401_from_another_origin_does_not_refresh() {
    let fixture = Fixture::start();
    let other = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let response = keeper
        .send(HttpRequest::get(redirect_to(&fixture, &other.url("/api/me"))))
        .await
        .expect("followed");
    assert_eq!(response.status, 401);
    assert_eq!(fixture.refresh_requests().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_to_a_remote_host_is_refused() {
    let fixture = Fixture::start();
    let config = tokenkeep::TokenKeeperOptions {
        api_origins: vec!["http://api.example.com".into()],
        ..config(&fixture, "public-app")
    };
    let error = tokenkeep::TokenKeeper::new(config).expect_err("http api origin");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
    assert!(error.to_string().contains("https"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_if_rejected_refreshes_once_for_the_current_token_and_never_for_an_old_one() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let rejected = keeper.access_token().await.expect("token");
    // Many integrations see the same 401 at once: one refresh.
    let answers = futures::future::join_all((0..20).map(|_| keeper.refresh_if_rejected(rejected.clone()))).await;
    let fresh = answers[0].as_ref().expect("refreshed").access_token();
    assert!(answers
        .iter()
        .all(|a| a.as_ref().map(|t| t.access_token() == fresh).unwrap_or(false)));
    assert_ne!(fresh, rejected);
    assert_eq!(fixture.refresh_requests().await, 1);
    // A late 401 for the old token: the new one is the answer, no request.
    assert_eq!(
        keeper
            .refresh_if_rejected(rejected)
            .await
            .expect("current")
            .access_token(),
        fresh
    );
    assert_eq!(fixture.refresh_requests().await, 1);
    assert!(keeper.may_send_token_to(fixture.url("/api/me")));
    assert!(!keeper.may_send_token_to("https://elsewhere.example/api".into()));
    assert_eq!(keeper.api_origins(), vec![fixture.server.base_url()]);
}

#[test]
fn flushing_listener_events_waits_for_delivery() {
    assert!(tokenkeep::flush_listener_events(5_000));
}
