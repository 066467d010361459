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
use tokenkeep_fixture_server::FaultSpec;

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
    // A slow token endpoint and one start time for every worker: without a
    // working lease their refreshes would overlap (checked by breaking the
    // lease on purpose: then several requests reach the server).
    server
        .state()
        .queue_fault(FaultSpec {
            count: 16,
            ..FaultSpec::delayed(300)
        })
        .expect("fault");
    let start_at = (now_ms() + 2_000).to_string();
    let endpoint = server.url("/token");
    let started = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            worker_with_env(
                &[("TOKENKEEP_WORKER_START_AT_MS", &start_at)],
                &[
                    "access-token",
                    "--store",
                    "postgres",
                    &url,
                    KEY_HEX,
                    &endpoint,
                    "public-app",
                ],
            )
        })
        .collect();
    let outputs: Vec<_> = workers.into_iter().map(Worker::wait_with_output).collect();
    let refreshes = refresh_requests(&server) - before;
    eprintln!(
        "16 instances (processes) on one expired token: {refreshes} refresh request(s), all done in {:?}",
        started.elapsed()
    );
    assert_eq!(refreshes, 1, "exactly one refresh request for 16 instances");
    let mut fingerprints = Vec::new();
    for output in outputs {
        assert!(
            output.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        fingerprints.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    assert!(
        fingerprints.windows(2).all(|w| w[0] == w[1]),
        "every instance got the same token: {fingerprints:?}"
    );
}
