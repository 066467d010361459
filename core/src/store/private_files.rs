//! Files and directories only their owner can read, and making changes to
//! them durable: what both persistent stores create on disk.
//!
//! Directories are created 0700 and files 0600 (on Unix; on Windows they get
//! their directory's ACL). A rename or removal survives a power cut only
//! once its directory is synced, which [`sync_dir`] does.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use super::StoreError;

/// Creates `directory` (and missing parents) with mode 0700. An existing
/// directory keeps its mode.
pub(crate) fn create_private_dir(directory: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(directory).map_err(|e| StoreError::Io {
        detail: format!("could not create the store directory {}: {e}", directory.display()),
    })
}

/// Creates a new file only its owner can read (0600); fails if it exists.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes a rename or removal in `directory` durable.
pub(crate) fn sync_dir(directory: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals renames.
        let _ = directory;
        Ok(())
    }
}
