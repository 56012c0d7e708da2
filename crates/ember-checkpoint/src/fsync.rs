//! Durability helpers shared by the store and the write-ahead log.

use std::path::Path;

use crate::error::Result;

/// Makes the directory entries of `dir` durable (a created, renamed or
/// removed file survives a power loss once this returns).
///
/// On Unix this `fsync`s the directory. Other platforms cannot open a
/// directory as a file through `std`; there, renames are made durable by the
/// file system's own journal and this is a no-op.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use crate::error::CheckpointError;
        let handle = std::fs::File::open(dir)
            .map_err(|e| CheckpointError::io("opening directory to sync", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| CheckpointError::io("syncing directory", dir, e))?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}
