//! The keep-alive sweep (issue 13, item 7) against the fixture server and
//! real SQLite and PostgreSQL stores: what is due is refreshed once and the
//! rest left alone, two registries sweeping one store at once refresh each
//! account once, refused and failing accounts are reported (not retried,
//! tokens kept unless the server refused them), concurrency and rate stay
//! within their bounds (measured by the server), progress grows to the
//! summary, and bad options are `Configuration` errors.

mod support;

use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};
use support::postgres::PgServer;
use support::*;
use tokenkeep::{
    flush_listener_events, AccountRegistry, PostgresStore, RefreshPolicy, SqliteStore, SweepCounts, SweepOptions,
    SweepProgress, SweepSummary, TokenKeepError, TokenKeeperOptions,
};

/// Refresh tokens the sweeps below treat as due expire in 10 minutes; the
/// window is an hour.
const DUE_IN_SECS: u64 = 600;
const WINDOW_SECS: i64 = 3600;

fn options() -> SweepOptions {
    SweepOptions {
        max_refreshes_per_second: None,
        page_size: 7,
        ..SweepOptions::within_secs(WINDOW_SECS)
    }
}

fn template(fixture: &Fixture) -> TokenKeeperOptions {
    TokenKeeperOptions {
        policy: fast_policy(),
        ..config(fixture, "public-app")
    }
}

/// Fresh server tokens whose refresh token tokenkeep believes expires in
/// `refresh_expires_in` seconds.
fn server_tokens(fixture: &Fixture, refresh_expires_in: u64) -> Value {
    let answer = fixture
        .server
        .state()
        .sign_in_tokens("public-app")
        .expect("known client");
    let mut tokens: Value = serde_json::from_str(&answer).expect("json");
    tokens["refresh_token_expires_in"] = json!(refresh_expires_in);
    tokens
}

/// Signs `account` in through `registry`; returns its access token.
fn sign_in(registry: &AccountRegistry, account: &str, tokens: &Value) -> String {
    registry
        .keeper(account.into())
        .expect("keeper")
        .set_token_response(tokens.to_string())
        .expect("signed in")
        .access_token()
}

/// The access token the store holds for `account` (through a fresh keeper
/// on the same store, so nothing in memory answers).
fn stored_access_token(store: &Arc<SqliteStore>, fixture: &Fixture, account: &str) -> Option<String> {
    let registry = AccountRegistry::new_on_sqlite(template(fixture), store.clone(), 1).expect("registry");
    registry
        .keeper(account.into())
        .expect("keeper")
        .tokens()
        .map(|t| t.access_token())
}

fn sqlite(dir: &TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(dir.path("tokens.sqlite"), vec![7; 32]).expect("opens")
}

fn finished(summary: &SweepSummary) -> i64 {
    summary.refreshed
        + summary.already_refreshed
        + summary.skipped
        + i64::try_from(summary.signed_out.len()).expect("small")
        + i64::try_from(summary.failed.len()).expect("small")
}

/// Records every progress call.
#[derive(Default)]
struct Recorded(Mutex<Vec<SweepCounts>>);

impl SweepProgress for Recorded {
    fn on_progress(&self, counts: SweepCounts) {
        self.0.lock().push(counts);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn due_accounts_are_refreshed_once_and_the_others_left_alone() {
    let fixture = Fixture::start();
    let dir = TempDir::new("sweep");
    let store = sqlite(&dir);
    let registry = AccountRegistry::new_on_sqlite(template(&fixture), store.clone(), 2).expect("registry");
    let mut due = Vec::new();
    let mut not_due = Vec::new();
    for i in 0..12 {
        let account = format!("user-{i:02}");
        if i % 3 == 0 {
            let token = sign_in(&registry, &account, &server_tokens(&fixture, 30 * 86_400));
            not_due.push((account, token));
        } else {
            let token = sign_in(&registry, &account, &server_tokens(&fixture, DUE_IN_SECS));
            due.push((account, token));
        }
    }
    let recorded = Arc::new(Recorded::default());

    let summary = registry.sweep(options(), Some(recorded.clone())).await.expect("sweeps");

    assert_eq!(summary.due, 8, "{summary}");
    assert_eq!(summary.refreshed, 8, "{summary}");
    assert!(summary.signed_out.is_empty() && summary.failed.is_empty(), "{summary}");
    assert_eq!(fixture.refresh_requests().await, 8, "one request per due account");
    for (account, before) in &due {
        let after = stored_access_token(&store, &fixture, account).expect("kept");
        assert_ne!(&after, before, "{account} was refreshed and stored");
    }
    for (account, before) in &not_due {
        assert_eq!(
            stored_access_token(&store, &fixture, account).as_ref(),
            Some(before),
            "{account} untouched"
        );
    }
    assert_eq!(registry.hot_sessions(), 2, "the sweep does not fill the hot list");

    assert!(flush_listener_events(5_000), "progress delivered");
    let calls = recorded.0.lock().clone();
    let last = *calls.last().expect("at least the final call");
    for pair in calls.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(
            b.due >= a.due && b.refreshed >= a.refreshed && b.failed >= a.failed && b.signed_out >= a.signed_out,
            "monotonic: {a} then {b}"
        );
    }
    assert_eq!(
        (
            last.due,
            last.refreshed,
            last.already_refreshed,
            last.signed_out,
            last.failed
        ),
        (summary.due, summary.refreshed, summary.already_refreshed, 0, 0)
    );

    let again = registry.sweep(options(), None).await.expect("sweeps again");
    assert_eq!((again.due, again.refreshed), (0, 0), "nothing is due any more: {again}");
    assert_eq!(fixture.refresh_requests().await, 8);
}

/// Sweeps `registries` at once; checks each account was refreshed once.
async fn sweep_at_once(fixture: &Fixture, registries: [Arc<AccountRegistry>; 2], accounts: i64) {
    let [a, b] = registries;
    let (first, second) = tokio::join!(a.sweep(options(), None), b.sweep(options(), None));
    let (first, second) = (first.expect("first sweeps"), second.expect("second sweeps"));
    for summary in [&first, &second] {
        assert!(
            summary.signed_out.is_empty(),
            "a second refresh would have burnt a session: {summary}"
        );
        assert!(summary.failed.is_empty(), "{summary}");
        assert_eq!(finished(summary), summary.due, "{summary}");
    }
    assert_eq!(first.refreshed + second.refreshed, accounts, "{first}\n{second}");
    assert_eq!(
        fixture.refresh_requests().await,
        u64::try_from(accounts).expect("small")
    );
    assert_eq!(
        a.accounts().expect("lists").len(),
        usize::try_from(accounts).expect("small"),
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_registries_sweeping_one_sqlite_store_refresh_each_account_once() {
    let fixture = Fixture::start();
    let dir = TempDir::new("sweep-two");
    let a = AccountRegistry::new_on_sqlite(template(&fixture), sqlite(&dir), 4).expect("registry");
    let b = AccountRegistry::new_on_sqlite(template(&fixture), sqlite(&dir), 4).expect("registry");
    for i in 0..40 {
        sign_in(&a, &format!("user-{i:02}"), &server_tokens(&fixture, DUE_IN_SECS));
    }
    // Slow answers keep both sweeps busy at the same time.
    fixture.fault(json!({"count": 40, "delay_ms": 20})).await;
    sweep_at_once(&fixture, [a, b], 40).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_registries_sweeping_one_postgres_store_refresh_each_account_once() {
    let server = PgServer::shared();
    let url = server.database();
    let fixture = Fixture::start();
    let open = || PostgresStore::open(url.clone(), vec![3; 32], None).expect("opens");
    let a = AccountRegistry::new_on_postgres(template(&fixture), open(), 4).expect("registry");
    let b = AccountRegistry::new_on_postgres(template(&fixture), open(), 4).expect("registry");
    for i in 0..30 {
        sign_in(&a, &format!("user-{i:02}"), &server_tokens(&fixture, DUE_IN_SECS));
    }
    fixture.fault(json!({"count": 30, "delay_ms": 20})).await;
    sweep_at_once(&fixture, [a, b], 30).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_token_signs_that_account_out_and_the_others_still_refresh() {
    let fixture = Fixture::start();
    let dir = TempDir::new("sweep-refused");
    let registry = AccountRegistry::new_on_sqlite(template(&fixture), sqlite(&dir), 2).expect("registry");
    for i in 0..5 {
        sign_in(&registry, &format!("user-{i}"), &server_tokens(&fixture, DUE_IN_SECS));
    }
    let mut refused = server_tokens(&fixture, DUE_IN_SECS);
    refused["refresh_token"] = json!("a-refresh-token-the-server-never-issued");
    sign_in(&registry, "user-refused", &refused);

    let summary = registry.sweep(options(), None).await.expect("sweeps");

    assert_eq!(summary.signed_out, vec!["user-refused".to_string()], "{summary}");
    assert_eq!(summary.refreshed, 5, "{summary}");
    assert_eq!(fixture.refresh_requests().await, 6, "the refused one was tried once");
    assert!(
        !registry
            .accounts()
            .expect("lists")
            .contains(&"user-refused".to_string()),
        "its record is gone"
    );
    assert!(
        !summary.to_string().contains("never-issued"),
        "no refresh token in the summary"
    );

    let again = registry.sweep(options(), None).await.expect("sweeps again");
    assert_eq!(again.due, 0, "{again}");
    assert_eq!(fixture.refresh_requests().await, 6, "not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_failure_is_reported_with_the_tokens_kept() {
    let fixture = Fixture::start();
    let dir = TempDir::new("sweep-transient");
    let store = sqlite(&dir);
    let no_retries = TokenKeeperOptions {
        policy: RefreshPolicy {
            max_retries: 0,
            ..fast_policy()
        },
        ..template(&fixture)
    };
    let registry = AccountRegistry::new_on_sqlite(no_retries, store.clone(), 2).expect("registry");
    let tokens = server_tokens(&fixture, DUE_IN_SECS);
    let before = sign_in(&registry, "user-1", &tokens);
    fixture.fault(json!({"status": 503})).await;

    let summary = registry.sweep(options(), None).await.expect("sweeps");

    assert_eq!(summary.refreshed, 0, "{summary}");
    let [failure] = summary.failed.as_slice() else {
        panic!("one failure: {summary}")
    };
    assert_eq!(
        (failure.account_id.as_str(), failure.kind.as_str()),
        ("user-1", "Transient")
    );
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh token");
    assert!(
        !failure.message.contains(refresh_token) && !failure.message.contains(&before),
        "{failure}"
    );
    assert_eq!(
        stored_access_token(&store, &fixture, "user-1"),
        Some(before),
        "tokens kept"
    );
    assert_eq!(fixture.refresh_requests().await, 1, "not retried within the sweep");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_more_refreshes_run_at_once_than_allowed() {
    let fixture = Fixture::start();
    let registry = AccountRegistry::new(template(&fixture), 2).expect("memory registry");
    for i in 0..24 {
        sign_in(
            &registry,
            &format!("user-{i:02}"),
            &server_tokens(&fixture, DUE_IN_SECS),
        );
    }
    fixture.fault(json!({"count": 24, "delay_ms": 100})).await;
    let summary = registry
        .sweep(
            SweepOptions {
                max_concurrent_refreshes: 3,
                ..options()
            },
            None,
        )
        .await
        .expect("sweeps");
    assert_eq!(summary.refreshed, 24, "{summary}");
    let most = fixture.stats().await["token_requests_in_flight_max"]
        .as_u64()
        .expect("gauge");
    assert!(most <= 3, "the server saw {most} refreshes at once");
    assert!(most >= 2, "the sweep did run refreshes side by side ({most})");
}

#[tokio::test(flavor = "multi_thread")]
async fn refreshes_start_no_faster_than_the_rate_limit() {
    let fixture = Fixture::start();
    let registry = AccountRegistry::new(template(&fixture), 2).expect("memory registry");
    for i in 0..25 {
        sign_in(
            &registry,
            &format!("user-{i:02}"),
            &server_tokens(&fixture, DUE_IN_SECS),
        );
    }
    let summary = registry
        .sweep(
            SweepOptions {
                max_refreshes_per_second: Some(10),
                ..options()
            },
            None,
        )
        .await
        .expect("sweeps");
    assert_eq!(summary.refreshed, 25, "{summary}");
    let mut arrivals: Vec<u64> = fixture
        .token_request_log()
        .await
        .iter()
        .filter(|r| r["grant_type"] == "refresh_token")
        .map(|r| r["at_unix_ms"].as_u64().expect("time"))
        .collect();
    arrivals.sort_unstable();
    assert_eq!(arrivals.len(), 25);
    // Paced at 10/s: any one second holds at most 11 starts; allow 2 more
    // for a loaded machine delivering a few late ones together.
    let busiest = arrivals
        .iter()
        .map(|&from| arrivals.iter().filter(|&&t| t >= from && t < from + 1_000).count())
        .max()
        .expect("arrivals");
    assert!(
        busiest <= 13,
        "{busiest} refreshes reached the server within one second"
    );
    let span = arrivals[24] - arrivals[0];
    assert!(
        span >= 2_000,
        "25 refreshes at 10/s take at least 2.4 s, took {span} ms"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_options_and_a_store_that_cannot_list_are_configuration_errors() {
    let fixture = Fixture::start();
    let registry = AccountRegistry::new(template(&fixture), 2).expect("memory registry");
    let bad = [
        ("refresh_token_expiring_within_secs", SweepOptions::within_secs(0)),
        ("refresh_token_expiring_within_secs", SweepOptions::within_secs(-5)),
        (
            "not_refreshed_for_secs",
            SweepOptions {
                not_refreshed_for_secs: Some(0),
                ..options()
            },
        ),
        (
            "max_concurrent_refreshes",
            SweepOptions {
                max_concurrent_refreshes: 0,
                ..options()
            },
        ),
        (
            "max_refreshes_per_second",
            SweepOptions {
                max_refreshes_per_second: Some(-1),
                ..options()
            },
        ),
        (
            "page_size",
            SweepOptions {
                page_size: 0,
                ..options()
            },
        ),
    ];
    for (field, options) in bad {
        match registry.sweep_blocking(options, None) {
            Err(TokenKeepError::Configuration { detail, .. }) => assert!(detail.contains(field), "{detail}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    let with_store = TokenKeeperOptions {
        store: Some(tokenkeep::memory_store()),
        ..template(&fixture)
    };
    let unable = AccountRegistry::new(with_store, 2).expect("registry");
    match unable.sweep_blocking(options(), None) {
        Err(TokenKeepError::Configuration { detail, .. }) => assert!(detail.contains("new_on_sqlite"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_postgres_down_a_sweep_fails_with_a_storage_or_transient_error_and_loses_nothing() {
    let server = PgServer::own();
    let url = server.database();
    let fixture = Fixture::start();
    let registry = AccountRegistry::new_on_postgres(
        template(&fixture),
        PostgresStore::open(url.clone(), vec![3; 32], None).expect("opens"),
        4,
    )
    .expect("registry");
    for i in 0..3 {
        sign_in(&registry, &format!("user-{i}"), &server_tokens(&fixture, DUE_IN_SECS));
    }
    server.stop();
    match registry.sweep(options(), None).await {
        Err(TokenKeepError::Storage { .. } | TokenKeepError::Transient { .. }) => {}
        other => panic!("with the database down: {other:?}"),
    }
    assert_eq!(
        fixture.refresh_requests().await,
        0,
        "nothing refreshed without the store"
    );
    server.start();
    let summary = registry
        .sweep(options(), None)
        .await
        .expect("sweeps once the database is back");
    assert_eq!((summary.due, summary.refreshed), (3, 3), "{summary}");
}
