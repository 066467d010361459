//! The exported surface every language shares (issue 12): the options
//! record, signed numbers checked in the core, errors worded once with their
//! OAuth code, the token cache hook, the core's in-process lock for stores
//! that do not lock, and the token set's conveniences.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::*;
use tokenkeep::{
    MemoryStore, RefreshPolicy, StoreError, TokenCache, TokenKeepError, TokenKeeper, TokenKeeperOptions, TokenStore,
};

/// A token cache that counts the core's invalidations.
#[derive(Default)]
struct CountingCache {
    invalidations: AtomicUsize,
}

impl TokenCache for CountingCache {
    fn invalidate(&self) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingCache {
    fn count(&self) -> usize {
        self.invalidations.load(Ordering::SeqCst)
    }
}

#[test]
fn the_options_never_show_the_client_secret() {
    let options = TokenKeeperOptions {
        client_secret: Some("s3cret-client-value".into()),
        account_id: "user-42".into(),
        ..TokenKeeperOptions::new("https://auth.example.com/token?key=s3cret-query", "my-app")
    };
    for text in [format!("{options:?}"), options.to_string()] {
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("[redacted]") && text.contains("user-42") && text.contains("my-app"),
            "{text}"
        );
    }
}

#[test]
fn negative_numbers_are_configuration_errors_naming_the_field() {
    let options = TokenKeeperOptions {
        policy: RefreshPolicy {
            request_timeout_ms: -1,
            ..RefreshPolicy::default()
        },
        ..TokenKeeperOptions::new("https://auth.example.com/token", "my-app")
    };
    let error = TokenKeeper::new(options).expect_err("refused");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
    assert!(
        error.to_string().contains("RefreshPolicy.request_timeout_ms is -1"),
        "{error}"
    );

    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "my-app")).expect("builds");
    let error = keeper.valid_tokens_blocking(-5).expect_err("negative ttl");
    assert!(error.to_string().contains("min_ttl_secs is -5"), "{error}");
    let error = keeper
        .set_tokens("at".into(), None, Some(-1), None, None)
        .expect_err("negative lifetime");
    assert!(error.to_string().contains("expires_in_secs is -1"), "{error}");
}

#[test]
fn set_tokens_takes_an_absolute_expiry_or_a_lifetime_not_both() {
    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "my-app")).expect("builds");
    let in_an_hour = SystemTime::now() + Duration::from_secs(3_600);
    let tokens = keeper
        .set_tokens("at".into(), Some("rt".into()), None, Some(in_an_hour), None)
        .expect("absolute expiry");
    let expires_at = tokens.expires_at().expect("an expiry");
    let off = expires_at.duration_since(in_an_hour).unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(2), "{off:?}");
    assert!(!tokens.is_expired());
    let both = keeper.set_tokens("at".into(), None, Some(60), Some(in_an_hour), None);
    assert!(matches!(both, Err(TokenKeepError::Configuration { .. })), "{both:?}");

    let past = keeper
        .set_tokens(
            "old".into(),
            None,
            None,
            Some(UNIX_EPOCH + Duration::from_secs(1)),
            None,
        )
        .expect("an expiry in the past is an expired token");
    assert!(past.is_expired());
}

#[test]
fn a_token_set_exports_itself_as_a_token_response() {
    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "my-app")).expect("builds");
    let tokens = keeper
        .set_token_response(
            json!({"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600,
                   "token_type": "Bearer", "scope": "read write", "tenant": "t-9"})
            .to_string(),
        )
        .expect("set");
    let exported: serde_json::Value = serde_json::from_str(&tokens.to_json()).expect("json");
    assert_eq!(exported["access_token"], "at-1");
    assert_eq!(exported["refresh_token"], "rt-1");
    assert_eq!(exported["token_type"], "Bearer");
    assert_eq!(exported["scope"], "read write");
    assert_eq!(exported["tenant"], "t-9", "the answer's other fields are kept");
    let expires_in = exported["expires_in"].as_i64().expect("expires_in");
    assert!((3_590..=3_600).contains(&expires_in), "{expires_in}");
    let expires_at = exported["expires_at"].as_i64().expect("expires_at");
    assert_eq!(expires_at, tokens.expires_at_unix_ms().expect("expiry") / 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_cache_is_told_of_every_change_failure_and_end() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let cache = Arc::new(CountingCache::default());
    keeper.set_token_cache(Some(cache.clone()));
    assert_eq!(cache.count(), 0, "attaching tells nothing");

    // A token served from the fresh path changes nothing.
    keeper.access_token().await.expect("token");
    assert_eq!(cache.count(), 0);

    // A refresh replaces the tokens.
    keeper.refresh().await.expect("refresh");
    let after_refresh = cache.count();
    assert!(after_refresh >= 1, "told of the refresh");

    // A failed refresh.
    fixture.fault(json!({"count": 4, "status": 503})).await;
    clock.advance_secs(7_200);
    keeper.access_token().await.expect_err("the server is down");
    let after_failure = cache.count();
    assert!(after_failure > after_refresh, "told of the failure");

    // An API rejected the token.
    let current = keeper.tokens().expect("tokens").access_token();
    keeper
        .refresh_if_rejected(current)
        .await
        .expect("refreshed after the 401");
    let after_rejection = cache.count();
    assert!(
        after_rejection > after_failure,
        "told of the rejection and the new tokens"
    );

    // Logout.
    keeper.logout().await.expect("logout");
    assert!(cache.count() > after_rejection, "told of the logout");

    // Detached: told once more (as it is replaced), then never again.
    keeper.set_token_cache(None);
    let detached = cache.count();
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("signed in again");
    assert_eq!(cache.count(), detached);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_cache_is_told_when_the_session_ends() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let cache = Arc::new(CountingCache::default());
    keeper.set_token_cache(Some(cache.clone()));
    fixture
        .fault(json!({"status": 400, "body": json!({"error": "invalid_grant"}).to_string()}))
        .await;
    clock.advance_secs(7_200);
    let error = keeper.access_token().await.expect_err("ended");
    assert_eq!(error.oauth_error(), Some("invalid_grant"));
    assert!(cache.count() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_for_scope_and_client_are_configuration_errors_with_their_code() {
    for code in ["invalid_scope", "unauthorized_client"] {
        let fixture = Fixture::start();
        let (keeper, clock, _) = signed_in_keeper(&fixture).await;
        fixture
            .fault(
                json!({"status": 400, "body": json!({"error": code, "error_description": "not for you"}).to_string()}),
            )
            .await;
        clock.advance_secs(7_200);
        let error = keeper.access_token().await.expect_err(code);
        assert!(
            matches!(&error, TokenKeepError::Configuration { oauth_error: Some(c), .. } if c == code),
            "{code}: {error:?}"
        );
        let text = error.to_string();
        assert!(text.starts_with("configuration error: "), "{text}");
        assert!(text.contains(code) && text.contains("not for you"), "{text}");
        assert!(keeper.tokens().is_some(), "{code}: the tokens are kept");
    }
}

/// A store that does not lock at all, as a foreign store that only
/// implements load/save/delete may.
struct NonLockingStore {
    inner: MemoryStore,
}

impl TokenStore for NonLockingStore {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.load(key)
    }
    fn save(&self, key: String, record: Vec<u8>) -> Result<(), StoreError> {
        self.inner.save(key, record)
    }
    fn delete(&self, key: String) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn lock(&self, _key: String, _timeout_ms: i64) -> Result<(), StoreError> {
        Ok(())
    }
    fn unlock(&self, _key: String) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_core_serialises_keepers_of_one_account_on_a_store_that_does_not_lock() {
    let fixture = Fixture::start();
    let store: Arc<dyn TokenStore> = Arc::new(NonLockingStore {
        inner: MemoryStore::new(),
    });
    let clock = tokenkeep::ManualClock::new();
    let keepers: Vec<Arc<TokenKeeper>> = (0..4)
        .map(|_| {
            TokenKeeper::new(TokenKeeperOptions {
                store: Some(store.clone()),
                clock: Some(clock.clone()),
                ..config(&fixture, "public-app")
            })
            .expect("builds")
        })
        .collect();
    keepers[0]
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("signed in");
    for keeper in &keepers[1..] {
        // Each keeper loaded the empty store at build; they share the record
        // through the store from here on.
        assert!(keeper.tokens().is_none());
    }
    clock.advance_secs(7_200);
    fixture.fault(json!({"delay_ms": 300})).await;
    let barrier = Arc::new(Barrier::new(keepers.len()));
    let threads: Vec<_> = keepers
        .iter()
        .map(|keeper| {
            let keeper = keeper.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                keeper.refresh_blocking().map(|t| t.access_token())
            })
        })
        .collect();
    let tokens: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().expect("thread").expect("token"))
        .collect();
    assert_eq!(
        fixture.refresh_requests().await,
        1,
        "one refresh for four keepers: the others adopted it"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0]), "{tokens:?}");
}
