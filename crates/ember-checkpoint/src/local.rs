//! [`LocalCheckpointStore`]: checkpoint objects as files in a local
//! directory, written atomically (temp file, `fsync`, rename, directory
//! `fsync`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

use crate::error::{CheckpointError, Result};
use crate::fsync::sync_dir;
use crate::store::{CheckpointStore, ObjectData, WriteFn};

/// Objects at least this large (1 MiB) are memory-mapped on read instead of
/// copied into memory.
pub const DEFAULT_MMAP_THRESHOLD: u64 = 1 << 20;

/// The longest object name accepted, leaving room in a 255-byte file name
/// for the temporary-file decoration.
const MAX_NAME_LEN: usize = 200;

/// What temporary file names contain after the leading `.` and the name.
const TEMP_MARKER: &str = ".tmp-";

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A [`CheckpointStore`] keeping each object as a file in one directory.
///
/// A write goes to a temporary file in the same directory (its name starts
/// with `.`, so [`list`](CheckpointStore::list) and ember's file streams
/// ignore it), is `fsync`ed, renamed over the object's name and the
/// directory is `fsync`ed: a reader sees the old object or the new one,
/// never a part, and the new one survives a power loss once `write` returns.
///
/// Objects of at least [`DEFAULT_MMAP_THRESHOLD`] bytes (configurable with
/// [`with_mmap_threshold`](Self::with_mmap_threshold)) are memory-mapped when
/// read. The store assumes that it is the only writer of its directory and
/// that nothing else modifies its files in place (it never does itself).
///
/// ```
/// use ember_checkpoint::{CheckpointStore, LocalCheckpointStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = LocalCheckpointStore::open(dir.path()).unwrap();
/// store.write("metadata", b"v1").unwrap();
/// store.write("metadata", b"v2").unwrap();
/// assert_eq!(&*store.read("metadata").unwrap(), b"v2");
/// assert_eq!(store.list().unwrap(), ["metadata"]);
/// ```
#[derive(Debug, Clone)]
pub struct LocalCheckpointStore {
    /// The directory holding the objects.
    dir: PathBuf,
    /// Objects at least this large are memory-mapped on read.
    mmap_threshold: u64,
}

impl LocalCheckpointStore {
    /// Opens the store in `dir`, creating the directory if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| CheckpointError::io("creating checkpoint directory", &dir, e))?;
        Ok(LocalCheckpointStore {
            dir,
            mmap_threshold: DEFAULT_MMAP_THRESHOLD,
        })
    }

    /// Sets the size from which objects are memory-mapped on read
    /// (default [`DEFAULT_MMAP_THRESHOLD`]; `u64::MAX` never maps).
    pub fn with_mmap_threshold(mut self, bytes: u64) -> Self {
        self.mmap_threshold = bytes;
        self
    }

    /// The directory holding the objects.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes temporary files left behind by writes that crashed before
    /// their rename, and returns how many it removed.
    ///
    /// Call it only when no other process is writing to the directory (for
    /// example at recovery), or it may remove a write in progress.
    pub fn remove_stale_temp_files(&self) -> Result<usize> {
        let mut removed = 0;
        for entry in self.read_dir()? {
            let entry = entry.map_err(|e| self.io("listing", e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if name.starts_with('.') && name.contains(TEMP_MARKER) {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(CheckpointError::io("removing stale temp file", path, e));
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Writes `bytes` to a new, synced temporary file beside the object
    /// `name` and returns its path: the first half of an atomic write.
    fn write_temp(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.write_temp_with(name, &mut |file| {
            file.write_all(bytes)
                .map_err(|e| CheckpointError::io("writing temp file", PathBuf::new(), e))
        })
    }

    /// Like [`write_temp`](Self::write_temp), with the bytes written by
    /// `fill` into a buffered writer over the temporary file (an I/O error
    /// without a path gets the temporary file's).
    fn write_temp_with(&self, name: &str, fill: &mut WriteFn<'_>) -> Result<PathBuf> {
        let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(
            ".{name}{TEMP_MARKER}{}-{sequence}",
            std::process::id()
        ));
        let result = (|| {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| CheckpointError::io("creating temp file", &temp, e))?;
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            fill(&mut writer).map_err(|e| match e {
                CheckpointError::Io {
                    action,
                    path,
                    source,
                } if path.as_os_str().is_empty() => CheckpointError::io(action, &temp, source),
                other => other,
            })?;
            let file = writer
                .into_inner()
                .map_err(|e| CheckpointError::io("writing temp file", &temp, e.into_error()))?;
            file.sync_all()
                .map_err(|e| CheckpointError::io("syncing temp file", &temp, e))
        })();
        match result {
            Ok(()) => Ok(temp),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// Renames the synced temporary file into place as `name` and syncs the
    /// directory: the second half of an atomic write.
    fn commit(&self, temp: &Path, name: &str) -> Result<()> {
        let target = self.dir.join(name);
        if let Err(e) = fs::rename(temp, &target) {
            let _ = fs::remove_file(temp);
            return Err(CheckpointError::io("renaming into place", target, e));
        }
        sync_dir(&self.dir)
    }

    /// Reads the directory.
    fn read_dir(&self) -> Result<fs::ReadDir> {
        fs::read_dir(&self.dir).map_err(|e| self.io("listing", e))
    }

    /// An I/O error on the directory itself.
    fn io(&self, action: &'static str, source: io::Error) -> CheckpointError {
        CheckpointError::io(action, &self.dir, source)
    }
}

impl CheckpointStore for LocalCheckpointStore {
    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        validate_name(name)?;
        let temp = self.write_temp(name, bytes)?;
        self.commit(&temp, name)
    }

    fn write_with(&self, name: &str, fill: &mut WriteFn<'_>) -> Result<()> {
        validate_name(name)?;
        let temp = self.write_temp_with(name, fill)?;
        self.commit(&temp, name)
    }

    fn read(&self, name: &str) -> Result<ObjectData> {
        validate_name(name)?;
        let path = self.dir.join(name);
        let mut file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CheckpointError::NotFound { path: path.clone() },
            _ => CheckpointError::io("opening", &path, e),
        })?;
        let len = file
            .metadata()
            .map_err(|e| CheckpointError::io("reading metadata of", &path, e))?
            .len();
        if len >= self.mmap_threshold && len > 0 {
            // SAFETY: `Mmap::map` is unsafe because the mapped bytes, seen as
            // `&[u8]`, must not change while mapped: another writer modifying
            // or truncating the file would be undefined behaviour. This store
            // never modifies an object file in place: `write` creates a new
            // file under a temporary name and renames it over the old one,
            // and `delete` unlinks; both leave the mapped inode untouched (an
            // unlinked inode lives until its last mapping is dropped). The
            // store's documented contract is that it is the only writer of
            // its directory. The map is read-only and owned by the returned
            // `ObjectData`, which unmaps it when dropped.
            let map = unsafe { Mmap::map(&file) }
                .map_err(|e| CheckpointError::io("memory-mapping", &path, e))?;
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            return Ok(ObjectData::from_mmap(map));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| CheckpointError::io("reading", &path, e))?;
        Ok(ObjectData::from_vec(bytes))
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in self.read_dir()? {
            let entry = entry.map_err(|e| self.io("listing", e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not a name this store writes
            };
            if validate_name(&name).is_err() {
                continue; // temporary files and foreign names
            }
            let is_file = match entry.file_type() {
                Ok(kind) if kind.is_symlink() => fs::metadata(entry.path())
                    .map(|m| m.is_file())
                    .unwrap_or(false),
                Ok(kind) => kind.is_file(),
                Err(e) => return Err(CheckpointError::io("listing", entry.path(), e)),
            };
            if is_file {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CheckpointError::io("deleting", path, e)),
        }
    }

    fn location(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Checks that `name` is a plain object name this store can use.
fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.starts_with('.') {
        "names starting with '.' are reserved for temporary files"
    } else if name.contains(['/', '\\', '\0']) {
        "names may not contain '/', '\\' or NUL"
    } else if name.len() > MAX_NAME_LEN {
        "longer than 200 bytes"
    } else {
        return Ok(());
    };
    Err(CheckpointError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalCheckpointStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalCheckpointStore::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn crash_between_temp_write_and_rename_keeps_the_old_object() {
        let (_dir, store) = store();
        store.write("metadata", b"old").unwrap();

        // The process "crashes" after writing and syncing the temp file but
        // before the rename: only the first half of the write happens.
        let temp = store
            .write_temp("metadata", b"new, never committed")
            .unwrap();
        assert!(temp.exists());
        let temp_name = temp.file_name().unwrap().to_str().unwrap();
        assert!(temp_name.starts_with('.'), "{temp_name}");

        assert_eq!(&*store.read("metadata").unwrap(), b"old");
        assert_eq!(store.list().unwrap(), ["metadata"]);

        // A later write works, and recovery can sweep the leftover.
        store.write("metadata", b"newer").unwrap();
        assert_eq!(&*store.read("metadata").unwrap(), b"newer");
        assert_eq!(store.remove_stale_temp_files().unwrap(), 1);
        assert!(!temp.exists());
        assert_eq!(store.list().unwrap(), ["metadata"]);
    }

    #[test]
    fn commit_publishes_the_temp_file() {
        let (_dir, store) = store();
        let temp = store.write_temp("a", b"bytes").unwrap();
        assert!(matches!(
            store.read("a"),
            Err(CheckpointError::NotFound { .. })
        ));
        store.commit(&temp, "a").unwrap();
        assert_eq!(&*store.read("a").unwrap(), b"bytes");
        assert!(!temp.exists());
    }

    #[test]
    fn invalid_names_are_rejected() {
        let (_dir, store) = store();
        for name in ["", ".hidden", "a/b", "a\\b", "a\0b", &"x".repeat(201)] {
            assert!(
                matches!(
                    store.write(name, b""),
                    Err(CheckpointError::InvalidName { .. })
                ),
                "{name:?}"
            );
        }
    }
}
