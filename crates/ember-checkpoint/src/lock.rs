//! [`DirLock`]: an exclusive lock on a checkpoint directory, held by one
//! process at a time, so that two contexts never write the same
//! checkpoints, write-ahead logs and temporary files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{CheckpointError, Result};

/// The lock file's name in the directory (hidden: stores and file streams
/// ignore names starting with `.`).
pub const LOCK_FILE: &str = ".lock";

/// An exclusive advisory lock (`flock`/`LockFileEx`, through `fs4`) on the
/// file [`LOCK_FILE`] in a directory, which names its holder (process id
/// and host). The operating system releases it when the holder exits, even
/// when it is killed; dropping the `DirLock` releases it at once.
///
/// The lock is per open file, so a second `DirLock` on the same directory
/// fails within one process too.
///
/// ```
/// use ember_checkpoint::{CheckpointError, DirLock};
///
/// let dir = tempfile::tempdir().unwrap();
/// let lock = DirLock::acquire(dir.path()).unwrap();
/// let err = DirLock::acquire(dir.path()).unwrap_err();
/// assert!(matches!(err, CheckpointError::Locked { ref holder, .. }
///     if holder.contains(&format!("pid {}", std::process::id()))));
/// drop(lock);
/// DirLock::acquire(dir.path()).unwrap();
/// ```
#[derive(Debug)]
pub struct DirLock {
    /// The locked file; closing it releases the lock.
    file: File,
    /// The directory locked.
    dir: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (created if missing) without waiting; fails
    /// with [`CheckpointError::Locked`] naming the holder when another one
    /// holds it.
    pub fn acquire(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| CheckpointError::io("creating checkpoint directory", dir, e))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| CheckpointError::io("opening lock file", &path, e))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the holder may be rewriting it right now.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(CheckpointError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "an unknown process".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(CheckpointError::io("locking", &path, e));
            }
        }
        let holder = format!(
            "pid {} on host {}\n",
            std::process::id(),
            host_name().unwrap_or_else(|| "unknown".to_owned())
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| CheckpointError::io("writing lock file", &path, e))?;
        Ok(DirLock {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// The directory locked.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the
        // release immediate even if a duplicate of the descriptor lives on.
        if let Err(e) = fs4::FileExt::unlock(&self.file) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not unlock the checkpoint directory");
        }
    }
}

/// This machine's host name, if the system tells it.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            let name = std::fs::read_to_string(path).ok()?;
            let name = name.trim();
            (!name.is_empty()).then(|| name.to_owned())
        })
        .or_else(|| std::env::var("HOSTNAME").ok())
}
