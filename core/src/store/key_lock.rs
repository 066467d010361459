//! Per-key locks that hold across processes: advisory locks on lock files
//! that exist only while a lock is held.
//!
//! [`KeyLocks`] gives the persistent stores their `TokenStore::lock` /
//! `unlock`: a lock file per key (`<dir>/<account binding hex>.lock`, mode
//! 0600, empty), locked with the operating system's advisory file lock
//! (`flock` on Unix, `LockFileEx` on Windows, through std's
//! `File::try_lock`), and on Unix removed again by its holder at unlock.
//! Properties that follow from that choice:
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
//! * **No file per account at rest** (Unix): a service with 100,000 accounts
//!   had 100,000 empty lock files, one per account ever locked. Now a lock
//!   file exists while its lock is held (plus, for a holder killed while
//!   holding, until that account is next locked).
//!
//! # Removing a lock file safely (Unix)
//!
//! Deleting a lock file naively breaks the lock: a waiter that opened the
//! file before it was deleted goes on to lock the deleted inode while a
//! newcomer creates and locks a new file of the same name, and both think
//! they hold the lock. The protocol that prevents this (the one `flock(1)`
//! users and mail spoolers use):
//!
//! 1. open the path (creating it), lock the open file;
//! 2. check that the path still names the inode just locked (`stat` of the
//!    path against `fstat` of the file: same device and inode). If not (the
//!    previous holder removed it meanwhile), close it and start again;
//! 3. to unlock, the holder removes the path *while still holding* the
//!    lock, then unlocks.
//!
//! Only a holder removes the path, and only while the path names its own
//! locked inode, so at any moment exactly one process holds the lock on
//! the inode the path names, and that process is the lock's holder.
//! Failure modes: a holder killed between 1 and 3 leaves its file behind,
//! unlocked (the kernel released it); the next locker of that account takes
//! it over and removes it at its unlock. Someone deleting lock files by hand
//! while they are held can let two holders in, as with any lock file.
//!
//! Windows has no stable way (in std) to compare a path with an open file,
//! and cannot delete a file another process has open, so there lock files
//! are kept, one per account ever locked, as before.
//!
//! The alternatives considered for the SQLite store (the one with many
//! accounts): byte-range locks at a hashed offset in one shared lock file
//! (`F_OFD_SETLK`) need a raw `fcntl` call, which this crate cannot make
//! without `unsafe` (forbidden workspace-wide) or a new dependency; std
//! offers whole-file locks only, and classic POSIX `fcntl` locks belong to
//! the process (two sessions of one process would not exclude each other,
//! and closing any descriptor of the file drops them all). A lease row in
//! the database releases a dead holder's lock only when its lease expires,
//! so a killed refresher blocks its account for the lease's length, and a
//! refresh that outlives its lease loses mutual exclusion; that is the
//! right design across machines (the PostgreSQL store), not on one machine
//! where the kernel releases a dead holder's lock at once.
//!
//! The `File` that holds a lock is kept in a map between `lock` and
//! `unlock`. Locks are not reentrant: locking a key twice without unlocking
//! waits for itself and times out. Unlocking a key that is not held does
//! nothing.
//!
//! After `fork()`: the child inherits the parent's descriptors, and with
//! them the parent's open file descriptions, so a lock the parent holds at
//! the moment of the fork is shared, not copied. The child's own `lock`
//! opens the file anew (a new description) and waits, bounded, until the
//! parent unlocks (`flock(LOCK_UN)` on the shared description releases it
//! for both; the parent removed the path first, so the child's check sends
//! it to a new file), then re-reads the store and adopts the parent's
//! refresh: the same path as any two processes, and no second refresh.
//! Nothing changes for the parent. One corner: if the parent dies while
//! holding the lock, the child's inherited copy of the descriptor (sitting
//! in the inherited `held` map) keeps the lock alive until the child exits;
//! the child's refreshes then fail with `LockTimeout`, never hang.
//!
//! Caveats: advisory locks only bind processes that take them (tokenkeep's
//! stores always do); some network file systems implement them poorly or
//! not at all (a lock error then says so), so keep stores on a local disk.
//! A tokenkeep from before lock files were removed keeps them (and does not
//! check the inode): do not run old and new versions on one store at once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::envelope::AccountBinding;
use super::{lock_wait, StoreError};
use crate::per_process::current_pid;

/// The first pause between attempts to take a lock.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// The locks of one store: a lock file per locked key in `directory`.
pub(crate) struct KeyLocks {
    directory: PathBuf,
    held: Mutex<HashMap<String, HeldLock>>,
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
        let held = lock_file(&path, lock_wait(timeout_ms), &format!("key `{key}`"))?;
        self.held.lock().insert(key.to_owned(), held);
        Ok(())
    }

    /// Releases the lock on `key` taken with [`KeyLocks::lock`].
    pub(crate) fn unlock(&self, key: &str) -> Result<(), StoreError> {
        let Some(held) = self.held.lock().remove(key) else {
            return Ok(());
        };
        held.release(&format!("key `{key}`"))
    }
}

/// A lock taken with [`lock_file`]: released (and its file removed, on
/// Unix) by [`HeldLock::release`] or when dropped.
///
/// In a forked child, a lock its parent took is the parent's: the child's
/// copy only closes its descriptor (which neither unlocks the shared open
/// file description nor removes the parent's file).
#[must_use]
pub(crate) struct HeldLock {
    /// `None` once released.
    file: Option<File>,
    path: PathBuf,
    /// The process that took the lock.
    pid: u32,
}

impl HeldLock {
    /// The lock file, open, if this process took the lock (see above).
    fn take_own(&mut self) -> Option<File> {
        let file = self.file.take()?;
        (self.pid == current_pid()).then_some(file)
    }

    /// Removes the lock file (Unix) and releases the lock, reporting a
    /// failure instead of ignoring it. `what` names the lock in errors.
    pub(crate) fn release(mut self, what: &str) -> Result<(), StoreError> {
        let Some(file) = self.take_own() else {
            return Ok(());
        };
        let io = |doing: &str, e: std::io::Error| StoreError::Io {
            detail: format!("could not {doing} the lock on {what} ({}): {e}", self.path.display()),
        };
        let removed = remove_lock_file(&self.path).map_err(|e| io("remove the file of", e));
        // Closing the file would release the lock too; unlocking first
        // surfaces an error instead of ignoring it.
        let unlocked = file.unlock().map_err(|e| io("release", e));
        removed.and(unlocked)
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if self.take_own().is_some() {
            // Removed while still held (the file closes, and unlocks, after).
            let _ = remove_lock_file(&self.path);
        }
    }
}

/// Removes the lock file at `path`, which the caller holds locked (Unix;
/// elsewhere lock files are kept, see the module docs).
fn remove_lock_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether `path` still names the file `file` has open (Unix: same device
/// and inode). A lock taken on a file its previous holder removed meanwhile
/// is no lock.
fn still_named_by(file: &File, path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata()?;
        match std::fs::metadata(path) {
            Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}

/// Opens (creating it 0600 if missing) and locks the lock file at `path`,
/// waiting at most `timeout`. The lock is held until the returned lock is
/// released or dropped, which removes the file (Unix). `what` names the
/// lock in errors ("key `user-1`").
pub(crate) fn lock_file(path: &Path, timeout: Duration, what: &str) -> Result<HeldLock, StoreError> {
    let open_error = |e: std::io::Error| StoreError::Io {
        detail: format!("could not open the lock file {} for {what}: {e}", path.display()),
    };
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = FIRST_PAUSE;
    let mut file = open_lock_file(path).map_err(open_error)?;
    loop {
        match file.try_lock() {
            Ok(()) => {
                if still_named_by(&file, path).map_err(open_error)? {
                    return Ok(HeldLock {
                        file: Some(file),
                        path: path.to_owned(),
                        pid: current_pid(),
                    });
                }
                // The previous holder removed this file after we opened it:
                // the lock lives on the path's new file. Try again at once.
                drop(file);
                file = open_lock_file(path).map_err(open_error)?;
                continue;
            }
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
        // A dead process's files are closed by the kernel; dropping the lock
        // is the in-process equivalent.
        let dir = TempDir::new("key-lock");
        let path = dir.0.join("x.lock");
        let holder = lock_file(&path, Duration::ZERO, "x").expect("lock");
        assert!(matches!(
            lock_file(&path, Duration::from_millis(10), "x"),
            Err(StoreError::LockTimeout { .. })
        ));
        drop(holder);
        let again = lock_file(&path, Duration::ZERO, "x").expect("released by the drop");
        again.release("x").expect("release");
    }

    /// Issue 13, item 10: lock files must not pile up, one per account ever
    /// locked.
    #[cfg(unix)]
    #[test]
    fn an_unlocked_key_leaves_no_lock_file() {
        let dir = TempDir::new("key-lock");
        let locks = KeyLocks::new(dir.0.clone());
        for i in 0..100 {
            let key = format!("user-{i}");
            locks.lock(&key, 0).expect("lock");
            assert!(locks.path_for(&AccountBinding::of(&key)).exists(), "present while held");
            locks.unlock(&key).expect("unlock");
        }
        let admin = lock_file(&dir.0.join("admin.lock"), Duration::ZERO, "admin").expect("lock");
        drop(admin);
        let left: Vec<_> = std::fs::read_dir(&dir.0)
            .expect("list")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(left, Vec::<PathBuf>::new());
    }

    /// The race removal opens: a waiter opened the file, then its holder
    /// removed it and unlocked, and a newcomer locked a new file of the same
    /// name. The waiter's lock on the removed file must not count.
    #[cfg(unix)]
    #[test]
    fn a_lock_on_a_removed_lock_file_does_not_count() {
        let dir = TempDir::new("key-lock");
        let path = dir.0.join("k.lock");
        let first = lock_file(&path, Duration::ZERO, "k").expect("first holder");
        // What a waiter holds between its open and its lock attempt.
        let stale = open_lock_file(&path).expect("waiter opens the old file");
        first.release("k").expect("release removes the file");
        let newcomer = lock_file(&path, Duration::ZERO, "k").expect("a newcomer locks a new file");
        stale.try_lock().expect("the old inode is not locked by anyone");
        assert!(
            !still_named_by(&stale, &path).expect("stat"),
            "the waiter sees that its file is gone"
        );
        assert!(matches!(
            lock_file(&path, Duration::from_millis(10), "k"),
            Err(StoreError::LockTimeout { .. })
        ));
        drop(newcomer);
        drop(stale);
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
