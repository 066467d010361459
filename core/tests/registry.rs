//! `AccountRegistry` (issue 13, item 2): many accounts behind one object,
//! one template, one store, a bounded list of hot sessions, against the
//! fixture server and a real SQLite store.

mod support;

use std::sync::Arc;

use support::*;
use tokenkeep::{
    AccountRegistry, ManualClock, MemoryStore, SqliteStore, TokenKeepError, TokenKeeperOptions, TokenStore,
};

fn sqlite(dir: &TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(dir.path("tokens.sqlite"), vec![7; 32]).expect("opens")
}

/// Signs `account` in through the registry's keeper with fresh server tokens.
async fn sign_in(fixture: &Fixture, registry: &AccountRegistry, account: &str) -> String {
    let keeper = registry.keeper(account.into()).expect("keeper");
    let tokens = keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("signed in");
    tokens.access_token()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_many_accounts_outlive_their_hot_sessions_and_refresh() {
    let fixture = Fixture::start();
    let dir = TempDir::new("registry");
    let clock = ManualClock::new();
    let template = TokenKeeperOptions {
        clock: Some(clock.clone()),
        policy: fast_policy(),
        ..config(&fixture, "public-app")
    };
    let registry = AccountRegistry::new_on_sqlite(template, sqlite(&dir), 3).expect("builds");
    let mut signed_in = Vec::new();
    for i in 0..10 {
        let account = format!("user-{i}");
        let token = sign_in(&fixture, &registry, &account).await;
        signed_in.push((account, token));
    }
    assert_eq!(registry.hot_sessions(), 3, "at most three keepers in memory");
    let expected: Vec<String> = signed_in.iter().map(|(a, _)| a.clone()).collect();
    let mut listed = registry.accounts().expect("sqlite lists");
    listed.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(listed, expected_sorted);

    // user-0 was pushed out long ago: its token comes back from the store.
    for (account, token) in &signed_in {
        let served = registry.access_token(account.clone()).await.expect("served");
        assert_eq!(&served, token, "{account}: the stored token, no request");
    }
    assert_eq!(fixture.refresh_requests().await, 0);

    // Every token expires: each account refreshes once, hot or not.
    clock.advance_secs(7_200);
    for (account, old) in &signed_in {
        let fresh = registry.access_token_blocking(account.clone()).expect("refreshed");
        assert_ne!(&fresh, old, "{account}: a new token");
    }
    assert_eq!(fixture.refresh_requests().await, 10);
    assert_eq!(registry.hot_sessions(), 3);
}

#[test]
fn a_hot_account_keeps_its_keeper_and_the_least_recently_used_goes_first() {
    let fixture = Fixture::start();
    let registry = AccountRegistry::new(config(&fixture, "public-app"), 2).expect("builds");
    let a = registry.keeper("a".into()).expect("a");
    let _b = registry.keeper("b".into()).expect("b");
    assert!(
        Arc::ptr_eq(&a, &registry.keeper("a".into()).expect("a again")),
        "a is hot"
    );
    let _c = registry
        .keeper("c".into())
        .expect("c pushes out b, the least recently used");
    assert!(Arc::ptr_eq(&a, &registry.keeper("a".into()).expect("a")), "a stayed");
    assert_eq!(registry.hot_sessions(), 2);
    a.set_tokens("at-a".into(), None, Some(3_600), None, None).expect("set");
    // Without a store in the template, accounts share one memory store.
    assert_eq!(registry.accounts().expect("memory lists"), vec!["a"]);
}

#[test]
fn bad_settings_are_configuration_errors_that_say_what_to_do() {
    let fixture = Fixture::start();
    for bad in [0, -1] {
        let error = AccountRegistry::new(config(&fixture, "public-app"), bad).expect_err("refused");
        assert!(
            matches!(&error, TokenKeepError::Configuration { detail, .. } if detail.contains("max_hot_sessions") && detail.contains("1 or more")),
            "{error:?}"
        );
    }
    let error = AccountRegistry::new(TokenKeeperOptions::new("http://example.com/token", "app"), 5)
        .expect_err("the template is checked up front");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");

    let dir = TempDir::new("registry");
    let own_store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let template = TokenKeeperOptions {
        store: Some(own_store.clone()),
        ..config(&fixture, "public-app")
    };
    let error = AccountRegistry::new_on_sqlite(template.clone(), sqlite(&dir), 5).expect_err("two stores");
    assert!(
        matches!(&error, TokenKeepError::Configuration { detail, .. } if detail.contains("store")),
        "{error:?}"
    );
    let registry = AccountRegistry::new(template, 5).expect("an opaque store");
    let error = registry.accounts().expect_err("cannot list");
    assert!(
        matches!(&error, TokenKeepError::Configuration { detail, .. } if detail.contains("new_on_sqlite")),
        "{error:?}"
    );
}
