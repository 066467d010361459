//! The PostgreSQL store against a real PostgreSQL server (issue 13): sealed
//! round trips and metadata columns, a wrong key, migrations run by
//! instances opening at once, single flight across two instances (separate
//! pools), lease expiry with a fenced late save, and a database that goes
//! away and comes back. The server comes from `support/postgres.rs` (a
//! throwaway cluster, or `TOKENKEEP_TEST_POSTGRES_URL`).

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use support::postgres::PgServer;
use support::*;
use tokenkeep::{
    ManualClock, PostgresSettings, PostgresStore, RefreshPolicy, StorageErrorKind, StoreError, TokenKeepError,
    TokenKeeper, TokenKeeperOptions, TokenStore,
};

const ACCOUNT: &str = "user-42";

fn key(byte: u8) -> Vec<u8> {
    vec![byte; 32]
}

fn open(url: &str, key_byte: u8) -> Arc<PostgresStore> {
    PostgresStore::open(url.into(), key(key_byte), None).expect("opens")
}

fn open_with(url: &str, settings: PostgresSettings) -> Arc<PostgresStore> {
    PostgresStore::open(url.into(), key(1), Some(settings)).expect("opens")
}

/// A record as a session writes it (`record.rs`, schema 1), generation `generation`.
fn record(generation: u64, access: &str) -> Vec<u8> {
    format!(
        r#"{{"schema_version":1,"generation":{generation},"saved_at_ms":1,"tokens":{{"access_token":"{access}","refresh_token":"rt","token_type":"Bearer","received_at_ms":1000,"expires_at_ms":3601000,"refresh_token_expires_at_ms":86400000,"scope":null,"id_token":null,"extra":"{{}}"}}}}"#
    )
    .into_bytes()
}

fn keeper(
    fixture: &Fixture,
    store: Arc<dyn TokenStore>,
    clock: &Arc<ManualClock>,
    policy: RefreshPolicy,
) -> Result<Arc<TokenKeeper>, TokenKeepError> {
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        policy,
        clock: Some(clock.clone()),
        store: Some(store),
        ..config(fixture, "public-app")
    })
}

#[test]
fn records_round_trip_sealed_with_their_metadata_in_plain_columns() {
    let server = PgServer::shared();
    let url = server.database();
    let store = open(&url, 1);
    assert_eq!(store.load("a".into()).expect("load"), None);
    let e = store
        .save("a".into(), record(1, "at_PG_SECRET_1"))
        .expect_err("no lease");
    assert!(
        matches!(&e, StoreError::Failed { detail } if detail.contains("lock")),
        "{e:?}"
    );
    store.lock("a".into(), 1_000).expect("lock");
    store.save("a".into(), record(1, "at_PG_SECRET_1")).expect("save");
    store
        .save("a".into(), record(2, "at_PG_SECRET_2"))
        .expect("a newer generation");
    assert_eq!(store.load("a".into()).expect("load"), Some(record(2, "at_PG_SECRET_2")));
    let e = store
        .save("a".into(), record(2, "at_PG_SECRET_OTHER"))
        .expect_err("the same generation without the marker");
    assert!(
        matches!(&e, StoreError::Failed { detail } if detail.contains("generation 2")),
        "{e:?}"
    );
    store.unlock("a".into()).expect("unlock");

    let columns = server.sql(
        &url,
        "SELECT generation, access_expires_at_ms, refresh_expires_at_ms, refreshed_at_ms FROM tokenkeep_records WHERE account = 'a'",
    );
    assert_eq!(columns, "2|3601000|86400000|1000");
    let raw = server.sql(&url, "SELECT encode(record, 'escape') FROM tokenkeep_records");
    assert!(!raw.contains("at_PG_SECRET") && !raw.contains("access_token"), "sealed");
    assert_eq!(server.sql(&url, "SELECT max(version) FROM tokenkeep_schema"), "1");

    store.lock("b".into(), 0).expect("lock");
    store.save("b".into(), b"opaque bytes".to_vec()).expect("any bytes");
    assert_eq!(store.accounts().expect("accounts"), vec!["a", "b"]);
    store.delete("b".into()).expect("delete under the lease");
    store.unlock("b".into()).expect("unlock");
    store.delete("b".into()).expect("deleting a missing record is fine");
    assert_eq!(store.accounts().expect("accounts"), vec!["a"]);

    // A purge keeps what a lease protects, and what is not expired.
    store.lock("c".into(), 0).expect("lock");
    store.save("c".into(), record(1, "at_c")).expect("save");
    assert_eq!(store.purge_refresh_expired(86_400_000).expect("purge"), 1, "a is dead");
    assert_eq!(store.accounts().expect("accounts"), vec!["c"], "c is leased");
    store.unlock("c".into()).expect("unlock");
    assert_eq!(store.purge_refresh_expired(1_000).expect("purge"), 0, "not expired yet");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert_eq!(
        store.purge_unused_since(now_ms - 3_600_000).expect("purge"),
        0,
        "written just now"
    );
    assert_eq!(store.purge_unused_since(now_ms + 3_600_000).expect("purge"), 1);
    assert_eq!(store.accounts().expect("accounts"), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_keep_tokens_across_restarts_and_debug_shows_no_password() {
    let server = PgServer::shared();
    let base = server.database();
    let mut url = url::Url::parse(&base).expect("url");
    let password = match url.password() {
        Some(p) => p.to_owned(),
        None => {
            // Trust authentication ignores it; errors and Debug must not show it.
            url.set_password(Some("pw-SECRET-1234")).expect("password");
            "pw-SECRET-1234".into()
        }
    };
    let url = url.to_string();
    let fixture = Fixture::start();
    let clock = ManualClock::new();
    let signed_in = {
        let store = open(&url, 1);
        let text = format!("{store:?} {}", store.location());
        assert!(!text.contains(&password), "{text}");
        let first = keeper(&fixture, store.as_token_store(), &clock, fast_policy()).expect("builds");
        first
            .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
            .expect("set tokens");
        first.tokens().expect("tokens")
    };
    let second = keeper(&fixture, open(&url, 1).as_token_store(), &clock, fast_policy()).expect("builds");
    assert_eq!(
        second.tokens().expect("restored").access_token(),
        signed_in.access_token()
    );
    clock.advance_secs(3_600);
    let refreshed = second.access_token().await.expect("refreshes");
    assert_ne!(refreshed, signed_in.access_token());
    let third = keeper(&fixture, open(&url, 1).as_token_store(), &clock, fast_policy()).expect("builds");
    assert_eq!(third.tokens().expect("stored").access_token(), refreshed);
    assert_eq!(fixture.refresh_requests().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_wrong_key_and_the_row_is_kept() {
    let server = PgServer::shared();
    let url = server.database();
    let fixture = Fixture::start();
    let clock = ManualClock::new();
    keeper(&fixture, open(&url, 1).as_token_store(), &clock, fast_policy())
        .expect("builds")
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set tokens");
    let before = server.sql(&url, "SELECT md5(record) FROM tokenkeep_records");
    let error = keeper(&fixture, open(&url, 2).as_token_store(), &clock, fast_policy()).expect_err("wrong key");
    assert!(
        matches!(&error, TokenKeepError::Storage { kind: StorageErrorKind::WrongKey, detail } if detail.contains(ACCOUNT)),
        "{error:?}"
    );
    assert_eq!(server.sql(&url, "SELECT md5(record) FROM tokenkeep_records"), before);
    let e = open(&url, 2).load(ACCOUNT.into()).expect_err("wrong key");
    assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
}

#[test]
fn instances_opening_at_once_migrate_once() {
    let server = PgServer::shared();
    let url = server.database();
    let start = Arc::new(Barrier::new(6));
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let (url, start) = (url.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                PostgresStore::open(url, key(1), None).map(drop)
            })
        })
        .collect();
    for open in opens {
        open.join().expect("thread").expect("every instance opens");
    }
    assert_eq!(
        server.sql(&url, "SELECT count(*), max(version) FROM tokenkeep_schema"),
        "1|1"
    );
    open(&url, 1);
    assert_eq!(
        server.sql(&url, "SELECT count(*) FROM tokenkeep_schema"),
        "1",
        "idempotent"
    );
}

/// Two instances (two stores, two pools), 8 threads each, one expired
/// account: one refresh request, and every thread gets its answer.
///
/// Both instances live in this test process, where the core's in-process
/// account lock already serialises the two keepers before they reach the
/// store; the lease alone is what serialises separate processes in
/// `tests/store-worker/tests/postgres_instances.rs` (16 processes, one
/// refresh), and its exclusion is asserted directly in
/// `a_holder_whose_lease_ran_out_cannot_overwrite_the_new_holders_tokens`.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_with_eight_threads_each_send_one_refresh_per_expiry() {
    let server = PgServer::shared();
    let url = server.database();
    let fixture = Fixture::start();
    let clock = ManualClock::new();
    let first = keeper(&fixture, open(&url, 1).as_token_store(), &clock, fast_policy()).expect("builds");
    first
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set tokens");
    let second = keeper(&fixture, open(&url, 1).as_token_store(), &clock, fast_policy()).expect("builds");
    let instances = [first, second];
    let rounds = 3;
    for round in 1..=rounds {
        clock.advance_secs(7_200);
        let start = Arc::new(Barrier::new(16));
        let threads: Vec<_> = instances
            .iter()
            .flat_map(|keeper| std::iter::repeat_n(keeper.clone(), 8))
            .map(|keeper| {
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    keeper.access_token_blocking()
                })
            })
            .collect();
        let tokens: Vec<String> = tokio::task::spawn_blocking(move || {
            threads
                .into_iter()
                .map(|t| t.join().expect("thread").expect("a token"))
                .collect()
        })
        .await
        .expect("join");
        assert!(tokens.windows(2).all(|w| w[0] == w[1]), "one answer for all 16");
        assert_eq!(fixture.refresh_requests().await, round, "one refresh per expiry");
    }
    eprintln!("refresh requests with 2 instances x 8 threads: {rounds} in {rounds} expiries");
}

#[test]
fn a_holder_whose_lease_ran_out_cannot_overwrite_the_new_holders_tokens() {
    let server = PgServer::shared();
    let url = server.database();
    let lease_ms = 400;
    let settings = PostgresSettings {
        lease_ms,
        ..PostgresSettings::default()
    };
    let a = open_with(&url, settings.clone());
    let b = open_with(&url, settings);
    a.lock(ACCOUNT.into(), 0).expect("A takes the lease");
    a.save(ACCOUNT.into(), record(1, "at_from_a_1"))
        .expect("A saves under its lease");
    let taken_at = Instant::now();
    let e = b.lock(ACCOUNT.into(), 50).expect_err("A holds it");
    assert!(
        matches!(&e, StoreError::LockTimeout { detail } if detail.contains(ACCOUNT)),
        "{e:?}"
    );
    // B waits until A's lease runs out (A never unlocks: a stalled instance).
    b.lock(ACCOUNT.into(), 5_000).expect("B takes the expired lease");
    let takeover = taken_at.elapsed();
    assert!(takeover >= Duration::from_millis(lease_ms as u64 - 20), "{takeover:?}");
    eprintln!("a stale lease ({lease_ms} ms) was taken over after {takeover:?}");
    b.save(ACCOUNT.into(), record(2, "at_from_b_2")).expect("B saves");
    for generation in [2, 3, 9] {
        let e = a
            .save(ACCOUNT.into(), record(generation, "at_from_a_late"))
            .expect_err("A's lease ran out");
        assert!(
            matches!(&e, StoreError::LockTimeout { detail } if detail.contains("ran out")),
            "{e:?}"
        );
    }
    a.delete(ACCOUNT.into()).expect_err("nor may A delete");
    assert_eq!(
        a.load(ACCOUNT.into()).expect("load"),
        Some(record(2, "at_from_b_2")),
        "B's tokens stand"
    );
    a.unlock(ACCOUNT.into()).expect("A's unlock is harmless");
    b.save(ACCOUNT.into(), record(3, "at_from_b_3"))
        .expect("B still holds its lease");
    b.unlock(ACCOUNT.into()).expect("unlock");
    a.lock(ACCOUNT.into(), 0).expect("free at once after B's unlock");
    a.unlock(ACCOUNT.into()).expect("unlock");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_down_valid_tokens_are_served_a_refresh_is_transient_and_it_recovers() {
    let server = PgServer::own();
    let url = server.database();
    let fixture = Fixture::start();
    let clock = ManualClock::new();
    let settings = PostgresSettings {
        io_timeout_ms: 2_000,
        ..PostgresSettings::default()
    };
    let policy = RefreshPolicy {
        store_lock_timeout_ms: 3_000,
        ..fast_policy()
    };
    let store = open_with(&url, settings.clone());
    let keeper = keeper(&fixture, store.clone().as_token_store(), &clock, policy).expect("builds");
    let signed_in = keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set tokens");

    server.stop();
    let valid = keeper
        .access_token()
        .await
        .expect("a valid token is served from memory");
    assert_eq!(valid, signed_in.access_token());
    clock.advance_secs(7_200);
    let started = Instant::now();
    let error = keeper.access_token().await.expect_err("no refresh without the store");
    let took = started.elapsed();
    assert!(matches!(error, TokenKeepError::Transient { .. }), "{error:?}");
    assert!(took < Duration::from_secs(4), "bounded by the lock timeout: {took:?}");
    assert!(!error.to_string().contains("pw-"), "{error}");
    assert_eq!(fixture.refresh_requests().await, 0, "nothing sent without the lease");
    eprintln!("refresh with PostgreSQL down failed in {took:?}: {error}");
    assert_eq!(keeper.tokens().expect("kept").access_token(), signed_in.access_token());

    server.start();
    let refreshed = keeper
        .access_token()
        .await
        .expect("works again once the database is back");
    assert_ne!(refreshed, signed_in.access_token());
    assert_eq!(fixture.refresh_requests().await, 1);
    let reopened = keeper_on(&fixture, &url, &clock, settings);
    assert_eq!(reopened, refreshed, "stored: nothing lost");
}

fn keeper_on(fixture: &Fixture, url: &str, clock: &Arc<ManualClock>, settings: PostgresSettings) -> String {
    let store = open_with(url, settings);
    keeper(fixture, store.as_token_store(), clock, fast_policy())
        .expect("builds")
        .tokens()
        .expect("tokens")
        .access_token()
}

/// Through the core: an instance whose lease runs out while its refresh
/// request is on its way keeps the answer in memory (served, marked
/// unsaved) and cannot overwrite what the instance that took the lease
/// over stored meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_that_outlives_its_lease_keeps_its_tokens_in_memory_and_overwrites_nothing() {
    let server = PgServer::shared();
    let url = server.database();
    let fixture = Fixture::start();
    let clock = ManualClock::new();
    let lease_ms = 300;
    let slow = open_with(
        &url,
        PostgresSettings {
            lease_ms,
            ..PostgresSettings::default()
        },
    );
    let keeper = keeper(&fixture, slow.as_token_store(), &clock, fast_policy()).expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set tokens");
    clock.advance_secs(7_200);
    // The answer takes far longer than the lease.
    fixture.fault(serde_json::json!({"delay_ms": 1_500})).await;
    let refreshing = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.access_token().await }
    });
    // The refresh-in-flight marker is written under the lease just before
    // the request is sent: from then on the slow instance holds the lease.
    let other = open(&url, 1);
    let marked = || {
        other
            .load(ACCOUNT.into())
            .expect("load")
            .is_some_and(|r| String::from_utf8_lossy(&r).contains("refresh_in_flight"))
    };
    eventually("the slow instance sent its refresh", marked);
    let waited = Instant::now();
    other
        .lock(ACCOUNT.into(), 5_000)
        .expect("the other instance takes the expired lease");
    eprintln!(
        "the lease of a refresh in flight was taken over after {:?}",
        waited.elapsed()
    );
    other
        .save(ACCOUNT.into(), record(50, "at_from_the_other_instance"))
        .expect("the new holder saves");
    other.unlock(ACCOUNT.into()).expect("unlock");

    let served = refreshing.await.expect("task").expect("the late answer is served");
    assert_ne!(served, "at_from_the_other_instance");
    assert!(keeper.has_unsaved_tokens(), "its save was refused: held in memory");
    assert_eq!(
        other.load(ACCOUNT.into()).expect("load"),
        Some(record(50, "at_from_the_other_instance")),
        "the other instance's tokens stand"
    );
    assert!(
        keeper.flush().is_err(),
        "a later save is refused too: generation 50 is newer"
    );
    assert_eq!(
        other.load(ACCOUNT.into()).expect("load"),
        Some(record(50, "at_from_the_other_instance"))
    );
}

#[test]
fn rotation_re_encrypts_every_record_and_passphrase_stores_reopen() {
    let server = PgServer::shared();
    let url = server.database();
    let store = open(&url, 1);
    for (i, account) in ["a", "b", "c"].into_iter().enumerate() {
        store.lock(account.into(), 0).expect("lock");
        store.save(account.into(), record(i as u64 + 1, account)).expect("save");
        store.unlock(account.into()).expect("unlock");
    }
    let old_id = store.key_id();
    assert_eq!(store.rotate_key(key(2)).expect("rotate"), 3);
    assert_ne!(store.key_id(), old_id);
    assert_eq!(store.rotate_key(key(2)).expect("again"), 0, "nothing left to rotate");
    let reopened = open(&url, 2);
    assert_eq!(reopened.load("b".into()).expect("load"), Some(record(2, "b")));
    assert!(matches!(
        open(&url, 1).load("a".into()),
        Err(StoreError::WrongKey { .. })
    ));
    assert_eq!(
        server.sql(
            &url,
            "SELECT string_agg(generation::text, ',' ORDER BY account) FROM tokenkeep_records"
        ),
        "1,2,3",
        "rotation keeps the metadata"
    );

    let other = server.database();
    let with_passphrase = |p: &str| PostgresStore::open_with_passphrase(other.clone(), p.into(), None).expect("opens");
    let first = with_passphrase("correct horse");
    first.lock("a".into(), 0).expect("lock");
    first.save("a".into(), record(1, "a")).expect("save");
    first.unlock("a".into()).expect("unlock");
    assert_eq!(
        with_passphrase("correct horse").load("a".into()).expect("load"),
        Some(record(1, "a"))
    );
    assert!(matches!(
        with_passphrase("battery staple").load("a".into()),
        Err(StoreError::WrongKey { .. })
    ));
}

/// `sslmode=require` goes through rustls: a server without TLS (the test
/// cluster) is refused rather than used in plaintext, and the error names
/// the database without its password.
#[test]
fn sslmode_require_refuses_a_server_without_tls() {
    let server = PgServer::shared();
    let mut url = url::Url::parse(&server.database()).expect("url");
    if url.query_pairs().any(|(k, v)| k == "sslmode" && v != "disable") {
        return; // a TOKENKEEP_TEST_POSTGRES_URL server that speaks TLS
    }
    let query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "sslmode")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(query)
        .append_pair("sslmode", "require");
    if url.password().is_none() {
        url.set_password(Some("pw-SECRET-tls")).expect("password");
    }
    let e = PostgresStore::open(url.to_string(), key(1), None).expect_err("no TLS on the test cluster");
    let text = e.to_string();
    eprintln!("sslmode=require against a plaintext server: {text}");
    assert!(matches!(e, TokenKeepError::Storage { .. }), "{e:?}");
    assert!(!text.contains("pw-SECRET-tls"), "{text}");
}

/// A database that stops answering (every PostgreSQL process frozen with
/// SIGSTOP, connections left open): `lock` and `load` fail within their
/// bounds, and once it answers again the same store works (no poisoned
/// pool) and the record is intact.
#[test]
fn a_database_that_stops_answering_fails_calls_in_bounded_time_and_the_pool_recovers() {
    let server = PgServer::own();
    let url = server.database();
    let lease_ms = 1_000;
    let store = open_with(
        &url,
        PostgresSettings {
            lease_ms,
            io_timeout_ms: 1_000,
            ..PostgresSettings::default()
        },
    );
    store.lock(ACCOUNT.into(), 0).expect("lock");
    store.save(ACCOUNT.into(), record(1, "at_kept")).expect("save");
    store.unlock(ACCOUNT.into()).expect("unlock");

    server.pause();
    let started = Instant::now();
    let e = store.lock(ACCOUNT.into(), 500).expect_err("nobody answers");
    let lock_took = started.elapsed();
    assert!(
        matches!(e, StoreError::Io { .. } | StoreError::LockTimeout { .. }),
        "{e:?}"
    );
    let started = Instant::now();
    let e = store.load(ACCOUNT.into()).expect_err("nobody answers");
    let load_took = started.elapsed();
    server.resume();
    assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
    assert!(lock_took < Duration::from_millis(2_000), "lock: {lock_took:?}");
    assert!(load_took < Duration::from_millis(2_500), "load: {load_took:?}");
    eprintln!("with PostgreSQL frozen: lock(500 ms) failed after {lock_took:?}, load after {load_took:?}: {e}");

    let started = Instant::now();
    // A lease the frozen attempt may have taken late runs out after lease_ms.
    store
        .lock(ACCOUNT.into(), 5 * lease_ms)
        .expect("the lease is free again");
    eprintln!("after the freeze the lease was free in {:?}", started.elapsed());
    assert_eq!(store.load(ACCOUNT.into()).expect("load"), Some(record(1, "at_kept")));
    store.save(ACCOUNT.into(), record(2, "at_after")).expect("save");
    store.unlock(ACCOUNT.into()).expect("unlock");
}
