//! Per-key locks that hold across processes: advisory locks on lock files.
//!
//! [`KeyLocks`] gives the persistent stores their `TokenStore::lock` /
//! `unlock`: one lock file per key (`<dir>/<account binding hex>.lock`,
//! mode 0600, empty), locked with the operating system's advisory file lock
//! (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::try_lock`). Properties that follow from that choice:
//!
//! * **Across processes**: every process that opens the same store directory
//!   contends for the same lock file.
//! * **Within one process too**: the lock belongs to an open file
//!   description, not to the process, so two `File` handles of the same path
//!   exclude each other. Two sessions of one account in one process (on one
//!   store object or on two) still refresh one at a time.
//! * **No stale locks**: the kernel releases the lock when the holding file
//!   is closed, including when its process dies. A crashed refresher cannot
//!   block anyone.
//! * **Bounded waits**: `try_lock` is retried with short sleeps (1 ms
//!   doubling to 20 ms) until the timeout, then `StoreError::LockTimeout`
//!   names the key, the lock file and the wait.
//!
//! The `File` that holds a lock is kept in a map between `lock` and
//! `unlock`. Locks are not reentrant: locking a key twice without unlocking
//! waits for itself and times out. Unlocking a key that is not held does
//! nothing.
//!
//! Lock files are never deleted: removing one while another process waits on
//! it would let two holders lock two different files of the same name. They
//! are empty, one per account that was ever locked.
//!
//! After `fork()`: the child inherits the parent's descriptors, and with
//! them the parent's open file descriptions, so a lock the parent holds at
//! the moment of the fork is shared, not copied. The child's own `lock`
//! opens the file anew (a new description) and waits, bounded, until the
//! parent unlocks (`flock(LOCK_UN)` on the shared description releases it
//! for both), then re-reads the store and adopts the parent's refresh: the
//! same path as any two processes, and no second refresh. Nothing changes
//! for the parent. One corner: if the parent dies while holding the lock,
//! the child's inherited copy of the descriptor (sitting in the inherited
//! `held` map) keeps the lock alive until the child exits; the child's
//! refreshes then fail with `LockTimeout`, never hang.
//!
//! Caveats: advisory locks only bind processes that take them (tokenkeep's
//! stores always do); some network file systems implement them poorly or
//! not at all (a lock error then says so), so keep stores on a local disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::envelope::AccountBinding;
use super::{lock_wait, StoreError};

/// The first pause between attempts to take a lock.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// The locks of one store: a lock file per key in `directory`.
pub(crate) struct KeyLocks {
    directory: PathBuf,
    held: Mutex<HashMap<String, File>>,
}

impl KeyLocks {
    /// Locks kept as files in `directory` (which must exist).
    pub(crate) fn new(directory: PathBuf) -> Self {
        KeyLocks {
            directory,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The lock file of the account `binding` stands for.
    pub(crate) fn path_for(&self, binding: &AccountBinding) -> PathBuf {
        self.directory.join(format!("{}.lock", binding.to_hex()))
    }

    /// Takes the lock on `key`, waiting at most `timeout_ms` (negative: no wait).
    pub(crate) fn lock(&self, key: &str, timeout_ms: i64) -> Result<(), StoreError> {
        let path = self.path_for(&AccountBinding::of(key));
        let file = lock_file(&path, lock_wait(timeout_ms), &format!("key `{key}`"))?;
        self.held.lock().insert(key.to_owned(), file);
        Ok(())
    }

    /// Releases the lock on `key` taken with [`KeyLocks::lock`].
    pub(crate) fn unlock(&self, key: &str) -> Result<(), StoreError> {
        let Some(file) = self.held.lock().remove(key) else {
            return Ok(());
        };
        // Closing the file would release the lock too; unlocking first
        // surfaces an error instead of ignoring it.
        file.unlock().map_err(|e| StoreError::Io {
            detail: format!(
                "could not release the lock on key `{key}` ({}): {e}",
                self.path_for(&AccountBinding::of(key)).display()
            ),
        })
    }
}

/// Opens (creating it 0600 if missing) and locks the lock file at `path`,
/// waiting at most `timeout`. The lock is held until the returned file is
/// unlocked or dropped. `what` names the lock in errors ("key `user-1`").
pub(crate) fn lock_file(path: &Path, timeout: Duration, what: &str) -> Result<File, StoreError> {
    let file = open_lock_file(path).map_err(|e| StoreError::Io {
        detail: format!("could not open the lock file {} for {what}: {e}", path.display()),
    })?;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::Io {
                    detail: format!(
                        "could not lock {} for {what} (does this file system support file locks?): {e}",
                        path.display()
                    ),
                })
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::LockTimeout {
                detail: format!(
                    "waited {} ms for the lock on {what} ({}); another process or session holds it",
                    started.elapsed().as_millis(),
                    path.display()
                ),
            });
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Test helpers shared by the stores' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "tokenkeep-{tag}-{}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed),
                rand::random::<u32>()
            ));
            std::fs::create_dir_all(&path).expect("temp dir");
            TempDir(path)
        }

        /// A path inside the directory that does not exist yet.
        pub(crate) fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TempDir;
    use super::*;

    #[test]
    fn a_lock_excludes_a_second_handle_times_out_and_unlock_frees_it() {
        let dir = TempDir::new("key-lock");
        let first = KeyLocks::new(dir.0.clone());
        let second = KeyLocks::new(dir.0.clone());
        first.lock("user-1", 0).expect("free");
        let started = Instant::now();
        let e = second.lock("user-1", 50).expect_err("held");
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(
            matches!(&e, StoreError::LockTimeout { detail } if detail.contains("user-1") && detail.contains("waited")),
            "{e:?}"
        );
        let e = first.lock("user-1", 10).expect_err("not reentrant");
        assert!(matches!(e, StoreError::LockTimeout { .. }));
        second.lock("user-2", 0).expect("another key is free");
        first.unlock("user-1").expect("unlock");
        second.lock("user-1", 0).expect("free again");
        second.unlock("user-1").expect("unlock");
        second.unlock("user-1").expect("unlocking twice is fine");
    }

    #[test]
    fn a_waiter_gets_the_lock_when_it_is_released() {
        let dir = TempDir::new("key-lock");
        let locks = std::sync::Arc::new(KeyLocks::new(dir.0.clone()));
        locks.lock("k", 0).expect("lock");
        let waiter = {
            let locks = locks.clone();
            std::thread::spawn(move || locks.lock("k", 5_000).map(|()| Instant::now()))
        };
        std::thread::sleep(Duration::from_millis(50));
        let released = Instant::now();
        locks.unlock("k").expect("unlock");
        let acquired = waiter.join().expect("thread").expect("acquired");
        assert!(acquired >= released);
        assert!(acquired - released < Duration::from_millis(500));
    }

    #[test]
    fn a_dropped_holder_releases_the_lock() {
        // A dead process's files are closed by the kernel; dropping the File
        // is the in-process equivalent.
        let dir = TempDir::new("key-lock");
        let path = dir.0.join("x.lock");
        let holder = lock_file(&path, Duration::ZERO, "x").expect("lock");
        assert!(matches!(
            lock_file(&path, Duration::from_millis(10), "x"),
            Err(StoreError::LockTimeout { .. })
        ));
        drop(holder);
        lock_file(&path, Duration::ZERO, "x").expect("released by the drop");
    }

    #[cfg(unix)]
    #[test]
    fn lock_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("key-lock");
        let locks = KeyLocks::new(dir.0.clone());
        locks.lock("user-1", 0).expect("lock");
        let path = locks.path_for(&AccountBinding::of("user-1"));
        let mode = std::fs::metadata(&path).expect("lock file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!path.to_string_lossy().contains("user-1"));
    }
}
