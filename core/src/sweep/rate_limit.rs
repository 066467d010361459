//! The sweep's rate limit: refreshes per second per authorization server.
//!
//! One schedule per token endpoint origin, shared by every sweep in the
//! process (two registries sweeping the same server share it). It paces
//! without bursts: each refresh takes the next free instant, at least
//! `1 / rate` seconds after the one before, and waits for it outside any
//! lock. So in any window of `t` seconds at most `rate × t + 1` refreshes
//! start. A sweep asking a different rate for the same origin sets it for
//! the refreshes scheduled from then on.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// The next free instant per origin.
static SCHEDULES: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

/// Waits until a refresh to `origin` may start at `per_second` refreshes a
/// second (at least 1).
pub(crate) async fn wait_turn(origin: &str, per_second: u32) {
    let spacing = Duration::from_secs(1) / per_second.max(1);
    let start = {
        let mut schedules = SCHEDULES.lock();
        let next = schedules
            .get_or_insert_with(HashMap::new)
            .entry(origin.to_owned())
            .or_insert_with(Instant::now);
        let start = (*next).max(Instant::now());
        *next = start + spacing;
        start
    };
    tokio::time::sleep_until(start).await;
}
