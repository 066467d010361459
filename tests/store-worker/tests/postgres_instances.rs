//! Separate processes as separate instances of a service on one PostgreSQL
//! store (issue 13): each worker process has its own pool, and only the
//! store's per-account lease (no shared lock file, no in-process lock)
//! stands between them and a second refresh. The server comes from the
//! core's PostgreSQL test harness (a throwaway cluster, or
//! `TOKENKEEP_TEST_POSTGRES_URL`).

mod support;

#[path = "../../../core/tests/support/postgres.rs"]
mod pg;

use std::time::Instant;

use support::*;
use tokenkeep::{ManualClock, PostgresStore, TokenKeeper, TokenKeeperOptions};

#[test]
fn sixteen_instances_on_an_expired_token_make_one_refresh_request() {
    let database = pg::PgServer::shared();
    let url = database.database();
    let server = fixture();
    let store = PostgresStore::open(url.clone(), key(), None).expect("opens");
    let clock = ManualClock::starting_at(now_ms() - 2 * 3_600_000);
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(store.as_token_store()),
        clock: Some(clock),
        ..TokenKeeperOptions::new(server.url("/token"), "public-app")
    })
    .expect("builds")
    .set_token_response(sign_in(&server, "public-app"))
    .expect("stored as received two hours ago");
    let before = refresh_requests(&server);
    let endpoint = server.url("/token");
    let started = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            worker(&[
                "access-token",
                "--store",
                "postgres",
                &url,
                KEY_HEX,
                &endpoint,
                "public-app",
            ])
        })
        .collect();
    let mut fingerprints = Vec::new();
    for child in workers {
        let output = child.wait_with_output();
        assert!(
            output.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        fingerprints.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let refreshes = refresh_requests(&server) - before;
    eprintln!(
        "16 instances (processes) on one expired token: {refreshes} refresh request(s), all done in {:?}",
        started.elapsed()
    );
    assert_eq!(refreshes, 1, "exactly one refresh request for 16 instances");
    assert!(
        fingerprints.windows(2).all(|w| w[0] == w[1]),
        "every instance got the same token: {fingerprints:?}"
    );
}
