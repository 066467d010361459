//! End-to-end tests of the OAuth endpoints: grants, rotation and reuse detection,
//! PKCE, client authentication, response styles, revocation and introspection.

mod common;

use common::{start, start_with, REDIRECT_URI, VERIFIER};
use reqwest::StatusCode;
use serde_json::json;
use tokenkeep_fixture_server::{ServerConfig, REUSE_DESCRIPTION};

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let f = start();
    let first = f.sign_in("public-app", "read write").await;
    let body = first.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token_expires_in"], 86_400);
    assert_eq!(body["scope"], "read write");
    let at1 = first.str("access_token");
    let rt1 = first.str("refresh_token");
    assert!(at1.starts_with("at_") && rt1.starts_with("rt_"));

    let second = f.refresh("public-app", &rt1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let at2 = second.str("access_token");
    let rt2 = second.str("refresh_token");
    assert_ne!(rt2, rt1);
    assert_ne!(at2, at1);
    assert_eq!(f.me(&at2).await.status, StatusCode::OK);

    // Presenting the rotated-out token again is reuse.
    let reuse = f.refresh("public-app", &rt1).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.str("error"), "invalid_grant");
    assert_eq!(reuse.str("error_description"), REUSE_DESCRIPTION);

    // The whole family is gone: the newest access and refresh tokens too.
    let me = f.me(&at2).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(me
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer") && h.contains("error=\"invalid_token\"")));
    assert_eq!(f.me(&at1).await.status, StatusCode::UNAUTHORIZED);
    let after = f.refresh("public-app", &rt2).await;
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    assert_eq!(after.str("error"), "invalid_grant");
}

#[tokio::test]
async fn refresh_errors() {
    let f = start();
    let rt = f.sign_in("public-app", "").await.str("refresh_token");
    let unknown = f.refresh("public-app", "rt_nope").await;
    assert_eq!(
        (unknown.status, unknown.str("error").as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let other_client = f.refresh("camel-app", &rt).await;
    assert_eq!(other_client.str("error"), "invalid_grant");
    // ...and that did not burn the token.
    assert_eq!(f.refresh("public-app", &rt).await.status, StatusCode::OK);
    let missing = f
        .token(&[("grant_type", "refresh_token"), ("client_id", "public-app")])
        .await;
    assert_eq!(missing.str("error"), "invalid_request");
}

#[tokio::test]
async fn refresh_narrows_scope_but_not_widens() {
    let f = start();
    let rt = f.sign_in("public-app", "read write").await.str("refresh_token");
    let narrow = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "public-app"),
            ("scope", "read"),
        ])
        .await;
    assert_eq!(narrow.json()["scope"], "read");
    let rt2 = narrow.str("refresh_token");
    let wide = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", "public-app"),
            ("scope", "admin"),
        ])
        .await;
    assert_eq!(wide.str("error"), "invalid_scope");
}

#[tokio::test]
async fn without_rotation_the_refresh_token_is_kept_and_omitted() {
    let f = start_with(ServerConfig {
        rotation: false,
        ..ServerConfig::default()
    });
    let rt = f.sign_in("public-app", "read").await.str("refresh_token");
    for _ in 0..3 {
        let reply = f.refresh("public-app", &rt).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let body = reply.json();
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert!(body.get("refresh_token_expires_in").is_none());
        assert_eq!(
            f.me(body["access_token"].as_str().expect("token")).await.status,
            StatusCode::OK
        );
    }

    // A per-client override wins over the global setting.
    let f = start();
    let reply = f
        .admin("/admin/clients", json!({"client_id": "steady", "rotation": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let rt = f.sign_in("steady", "").await.str("refresh_token");
    assert!(f.refresh("steady", &rt).await.json().get("refresh_token").is_none());
    assert_eq!(f.refresh("steady", &rt).await.status, StatusCode::OK);
}

#[tokio::test]
async fn client_credentials_issues_only_an_access_token() {
    let f = start();
    let reply = f
        .token_basic(
            "m2m-client",
            "m2m-secret",
            &[("grant_type", "client_credentials"), ("scope", "read write read")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("date").is_some());
    assert!(reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let body = reply.json();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "read write");
    let me = f.me(&reply.str("access_token")).await;
    assert_eq!(
        me.json(),
        json!({"sub": "m2m-client", "client_id": "m2m-client", "scope": "read write"})
    );
}

#[tokio::test]
async fn authorization_code_with_pkce() {
    let f = start();
    let challenge = tokenkeep_fixture_server::pkce_s256(VERIFIER);
    let reply = f
        .authorize_raw(&[
            ("response_type", "code"),
            ("client_id", "public-app"),
            ("redirect_uri", "com.example.app:/oauth?keep=1"),
            ("state", "s t&ate"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "alice"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let raw_location = reply.header("location").expect("Location");
    assert!(raw_location.ends_with("&state=s%20t%26ate"), "{raw_location}");
    let location = url::Url::parse(raw_location).expect("URL");
    assert_eq!(location.scheme(), "com.example.app");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["keep"], "1");
    assert_eq!(query["state"], "s t&ate");
    let code = query["code"].clone();

    let attempt = |verifier: &'static str, redirect: &'static str| {
        let code = code.clone();
        let f = &f;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("client_id", "public-app"),
            ];
            if !verifier.is_empty() {
                form.push(("code_verifier", verifier));
            }
            f.token(&form).await
        }
    };
    let wrong = attempt(
        "wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz",
        "com.example.app:/oauth?keep=1",
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.str("error").as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(
        attempt("", "com.example.app:/oauth?keep=1").await.str("error"),
        "invalid_grant"
    );
    assert_eq!(attempt(VERIFIER, REDIRECT_URI).await.str("error"), "invalid_grant");

    let ok = attempt(VERIFIER, "com.example.app:/oauth?keep=1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let at = ok.str("access_token");
    assert_eq!(f.me(&at).await.json()["sub"], "alice");

    // Codes are single-use; a second redemption also revokes what the first issued.
    assert_eq!(
        attempt(VERIFIER, "com.example.app:/oauth?keep=1").await.str("error"),
        "invalid_grant"
    );
    assert_eq!(f.me(&at).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn authorize_rejects_bad_requests_without_redirecting() {
    let f = start();
    let challenge = tokenkeep_fixture_server::pkce_s256(VERIFIER);
    let base = [
        ("response_type", "code"),
        ("client_id", "public-app"),
        ("redirect_uri", REDIRECT_URI),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let with = |name: &'static str, value: &'static str| {
        base.iter()
            .map(|&(n, v)| if n == name { (n, value) } else { (n, v) })
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>()
    };
    for params in [
        with("code_challenge_method", "plain"),
        with("code_challenge_method", ""),
        with("code_challenge", ""),
        with("client_id", "nobody"),
        with("redirect_uri", "not a uri"),
        with("response_type", "token"),
    ] {
        let reply = f.authorize_raw(&params).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(reply.header("location").is_none());
        assert!(reply.json()["error"].is_string());
    }
}

#[tokio::test]
async fn client_authentication() {
    let f = start();
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        f.token_basic("confidential-app", "confidential-secret", &cc)
            .await
            .status,
        StatusCode::OK
    );
    let post = f
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "confidential-app"),
            ("client_secret", "confidential-secret"),
        ])
        .await;
    assert_eq!(post.status, StatusCode::OK);

    for reply in [
        f.token_basic("confidential-app", "wrong", &cc).await,
        f.token(&[("grant_type", "client_credentials"), ("client_id", "confidential-app")])
            .await,
        f.token(&[("grant_type", "client_credentials"), ("client_id", "nobody")])
            .await,
        f.token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "m2m-client"),
            ("client_secret", "nope"),
        ])
        .await,
    ] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert_eq!(reply.str("error"), "invalid_client");
        assert!(reply.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")));
    }
}

#[tokio::test]
async fn grant_type_and_parameter_errors() {
    let f = start();
    let unknown = f
        .token(&[("grant_type", "password"), ("client_id", "public-app")])
        .await;
    assert_eq!(
        (unknown.status, unknown.str("error").as_str()),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );
    assert_eq!(
        f.token(&[("client_id", "public-app")]).await.str("error"),
        "invalid_request"
    );
    let code_missing = f
        .token(&[("grant_type", "authorization_code"), ("client_id", "public-app")])
        .await;
    assert_eq!(code_missing.str("error"), "invalid_request");
    let repeated = f
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "public-app"),
            ("scope", "a"),
            ("scope", "b"),
        ])
        .await;
    assert_eq!(repeated.str("error"), "invalid_request");
    let json_body = f
        .http
        .post(f.url("/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": "public-app"}))
        .send()
        .await
        .expect("request");
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn response_styles_and_refresh_token_ttl() {
    let f = start();
    let camel = f.sign_in("camel-app", "read").await.json();
    assert!(camel["accessToken"].as_str().is_some_and(|t| t.starts_with("at_")));
    assert!(camel["refreshToken"].as_str().is_some_and(|t| t.starts_with("rt_")));
    assert_eq!(camel["tokenType"], "Bearer");
    assert_eq!(camel["scope"], "read");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let at_exp = camel["accessTokenExpiredAt"].as_u64().expect("number");
    let rt_exp = camel["refreshTokenExpiredAt"].as_u64().expect("number");
    assert!(at_exp.abs_diff(now + 3600) <= 2, "{at_exp} vs {now}");
    assert!(rt_exp.abs_diff(now + 86_400) <= 2);
    assert!(camel.get("access_token").is_none());

    f.admin(
        "/admin/clients",
        json!({"client_id": "stringy", "response_style": "string-expires-in", "access_ttl": 90}),
    )
    .await;
    let code = f.authorize("stringy", "").await;
    let reply = f
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", "stringy"),
            ("refresh_token_ttl", "120"),
        ])
        .await;
    let body = reply.json();
    assert_eq!(body["expires_in"], "90");
    assert_eq!(body["refresh_token_expires_in"], 120);
    assert!(body.get("scope").is_none());
    let bad_ttl = f
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "public-app"),
            ("refresh_token_ttl", "soon"),
        ])
        .await;
    assert_eq!(bad_ttl.str("error"), "invalid_request");
}

#[tokio::test]
async fn expired_refresh_token_is_rejected() {
    let f = start_with(ServerConfig {
        refresh_ttl_secs: 0,
        ..ServerConfig::default()
    });
    let rt = f.sign_in("public-app", "").await.str("refresh_token");
    let reply = f.refresh("public-app", &rt).await;
    assert_eq!(reply.str("error"), "invalid_grant");
}

#[tokio::test]
async fn revocation_and_introspection() {
    let f = start();
    let tokens = f.sign_in("public-app", "read").await;
    let (at, rt) = (tokens.str("access_token"), tokens.str("refresh_token"));

    let info = f.post_form("/introspect", &[("token", &at)]).await.json();
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "public-app");
    assert_eq!(info["scope"], "read");
    assert_eq!(info["token_type"], "access_token");
    assert_eq!(info["sub"], "test-user");
    assert!(info["exp"].as_u64().is_some());
    let info = f.post_form("/introspect", &[("token", &rt)]).await.json();
    assert_eq!(info["token_type"], "refresh_token");
    assert_eq!(
        f.post_form("/introspect", &[("token", "at_unknown")]).await.json(),
        json!({"active": false})
    );

    // Unknown tokens are fine; a missing token or client is not.
    assert_eq!(
        f.post_form("/revoke", &[("token", "rt_unknown"), ("client_id", "public-app")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        f.post_form("/revoke", &[("client_id", "public-app")]).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        f.post_form("/revoke", &[("token", &rt)]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Revoking the refresh token revokes its family, access token included.
    let reply = f
        .post_form(
            "/revoke",
            &[
                ("token", &rt),
                ("token_type_hint", "refresh_token"),
                ("client_id", "public-app"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        f.post_form("/introspect", &[("token", &rt)]).await.json(),
        json!({"active": false})
    );
    assert_eq!(
        f.post_form("/introspect", &[("token", &at)]).await.json(),
        json!({"active": false})
    );
    assert_eq!(f.me(&at).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.refresh("public-app", &rt).await.str("error"), "invalid_grant");

    // Revoking an access token (confidential client, Basic) revokes just that token.
    let cc = f
        .token_basic("m2m-client", "m2m-secret", &[("grant_type", "client_credentials")])
        .await
        .str("access_token");
    let other = f
        .token_basic("m2m-client", "m2m-secret", &[("grant_type", "client_credentials")])
        .await
        .str("access_token");
    let reply = f
        .http
        .post(f.url("/revoke"))
        .basic_auth("m2m-client", Some("m2m-secret"))
        .form(&[("token", cc.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(f.me(&cc).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.me(&other).await.status, StatusCode::OK);
    let wrong_secret = f
        .http
        .post(f.url("/revoke"))
        .basic_auth("m2m-client", Some("nope"))
        .form(&[("token", other.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(f.me(&other).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metadata_document_points_at_this_server() {
    let f = start();
    let doc = f.get("/.well-known/oauth-authorization-server").await.json();
    assert_eq!(doc["issuer"], f.server.base_url());
    assert_eq!(doc["token_endpoint"], f.url("/token"));
}
