//! The in-process half of an account's lock, held by the core for every store.
//!
//! Two sessions of one account in one process (two keepers, or a keeper and
//! a sweep) must refresh one at a time, whatever store they use. So before
//! the session calls the store's own `lock` (which a shared store makes
//! exclusive across processes), it takes this process-wide lock on the
//! account id. A store written in another language therefore only has to
//! implement `load`/`save`/`delete`, and `lock`/`unlock` only if other
//! processes share it; it cannot get in-process exclusion wrong.
//!
//! The table is keyed by account id alone: two stores that hold the same
//! account id in one process serialise their refreshes too, which costs
//! nothing but a short wait. Each entry remembers the process that took it:
//! after `fork()` the child inherits the table but not the parent's
//! threads, so an entry of another process counts as free there (the same
//! rule as the memory store's locks).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::per_process::current_pid;
use crate::store::StorageErrorKind;

/// Locked account ids, with the process that locked each.
struct Table {
    locked: Mutex<HashMap<String, u32>>,
    released: Condvar,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| Table {
    locked: Mutex::new(HashMap::new()),
    released: Condvar::new(),
});

/// Holds the in-process lock on one account id; releases it when dropped.
#[must_use]
pub(crate) struct AccountLock {
    account: String,
    pid: u32,
}

impl AccountLock {
    /// Takes the lock on `account`, waiting at most `timeout_ms` for another
    /// session of this process that holds it.
    pub(crate) fn acquire(account: &str, timeout_ms: u64) -> Result<Self, Error> {
        Self::acquire_as(current_pid(), account, timeout_ms)
    }

    /// Takes the lock on `account` if no other session of this process holds
    /// it, without waiting (so without a blocking section on the runtime:
    /// the common, uncontended case).
    pub(crate) fn try_acquire(account: &str) -> Option<Self> {
        let pid = current_pid();
        let mut locked = TABLE.locked.lock();
        if locked.get(account) == Some(&pid) {
            return None;
        }
        locked.insert(account.to_owned(), pid);
        Some(AccountLock {
            account: account.to_owned(),
            pid,
        })
    }

    fn acquire_as(pid: u32, account: &str, timeout_ms: u64) -> Result<Self, Error> {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let held_here = |locked: &HashMap<String, u32>| locked.get(account) == Some(&pid);
        let mut locked = TABLE.locked.lock();
        while held_here(&locked) {
            if TABLE.released.wait_until(&mut locked, deadline).timed_out() && held_here(&locked) {
                return Err(Error::storage(
                    StorageErrorKind::LockTimeout,
                    format!(
                        "waited {timeout_ms} ms for another session of account `{account}` in this process to finish its refresh; raise RefreshPolicy.store_lock_timeout_ms if refreshes take that long"
                    ),
                ));
            }
        }
        // Free, or held by a thread of the parent process, which is not here.
        locked.insert(account.to_owned(), pid);
        Ok(AccountLock {
            account: account.to_owned(),
            pid,
        })
    }
}

impl Drop for AccountLock {
    fn drop(&mut self) {
        let mut locked = TABLE.locked.lock();
        if locked.get(&self.account) == Some(&self.pid) {
            locked.remove(&self.account);
        }
        drop(locked);
        TABLE.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_per_account_and_times_out() {
        let held = AccountLock::acquire("account-lock-test-a", 10).expect("first");
        let error = AccountLock::acquire("account-lock-test-a", 20).err().expect("held");
        assert!(error.to_string().contains("store_lock_timeout_ms"), "{error}");
        let other = AccountLock::acquire("account-lock-test-b", 10).expect("another account is free");
        drop(held);
        let again = AccountLock::acquire("account-lock-test-a", 10).expect("free again");
        drop((other, again));
    }

    #[test]
    fn try_acquire_takes_a_free_lock_and_refuses_a_held_one() {
        let held = AccountLock::try_acquire("account-lock-test-e").expect("free");
        assert!(AccountLock::try_acquire("account-lock-test-e").is_none(), "held");
        assert!(
            AccountLock::acquire("account-lock-test-e", 10).is_err(),
            "held for acquire too"
        );
        drop(held);
        let again = AccountLock::try_acquire("account-lock-test-e").expect("free again");
        drop(again);
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_releases_it() {
        let held = AccountLock::acquire("account-lock-test-c", 10).expect("first");
        let waiter = std::thread::spawn(|| AccountLock::acquire("account-lock-test-c", 10_000).map(drop));
        // The waiter blocks until the release below; no sleep orders this:
        // if it had not started waiting yet, it takes the free lock later.
        drop(held);
        waiter.join().expect("no panic").expect("acquired after the release");
    }

    #[test]
    fn a_lock_held_by_another_process_does_not_block_this_one() {
        let parents = AccountLock::acquire_as(u32::MAX, "account-lock-test-d", 10).expect("parent's");
        let ours = AccountLock::acquire("account-lock-test-d", 10).expect("a parent's lock counts as free");
        // The parent's guard (as in a forked child) must not release ours.
        drop(parents);
        assert!(AccountLock::acquire("account-lock-test-d", 10).is_err(), "still ours");
        drop(ours);
    }
}
