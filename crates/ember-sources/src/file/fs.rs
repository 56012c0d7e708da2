//! The filesystem a file stream reads: the [`FileSystem`] trait (list a
//! directory with modification times, open a file, read it from an offset,
//! rename) and its local implementation, [`LocalFileSystem`]. A file
//! stream reads files through [`FileSystem::open_at`], which the local disk
//! serves with plain reads (never a memory map, so that another process
//! truncating a file cannot crash the reader with `SIGBUS`).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One directory entry as a file stream sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The entry's full path.
    pub path: PathBuf,
    /// Its last modification time.
    pub modified: SystemTime,
    /// Its size in bytes.
    pub len: u64,
    /// Whether it is a directory.
    pub is_dir: bool,
}

/// A file's bytes: a read-only memory map or an owned buffer.
pub enum FileBytes {
    /// A memory-mapped file.
    Mapped(memmap2::Mmap),
    /// Bytes read into memory.
    Read(Vec<u8>),
}

impl fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            FileBytes::Mapped(_) => "Mapped",
            FileBytes::Read(_) => "Read",
        };
        write!(f, "FileBytes::{kind}({} bytes)", self.len())
    }
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl FileBytes {
    /// Whether the bytes are memory-mapped.
    pub fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped(_))
    }
}

/// The storage a file stream monitors. Implementations must be cheap to
/// share between threads; a stream holds an `Arc<dyn FileSystem>`.
pub trait FileSystem: Send + Sync + fmt::Debug + 'static {
    /// The entries of `dir` (files and subdirectories), with their
    /// modification times. An entry that vanishes while listing is left out.
    fn list(&self, dir: &Path) -> io::Result<Vec<FileStatus>>;
    /// The whole content of the file at `path`.
    fn open(&self, path: &Path) -> io::Result<FileBytes>;
    /// The file at `path` as a stream of bytes from `offset` on (what a
    /// file stream reads, in chunks at batch generation and one partition's
    /// byte range in a job). The default serves it from [`open`](Self::open),
    /// so each call loads the whole file: a store holding large files
    /// should implement a positioned read.
    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let mut bytes = io::Cursor::new(self.open(path)?);
        bytes.set_position(offset);
        Ok(Box::new(bytes))
    }
    /// Renames `from` to `to` (atomic on a local disk within one filesystem).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// The local disk: listing with `read_dir`; [`open`](FileSystem::open)
/// memory-maps files of at least
/// [`mmap_threshold`](Self::with_mmap_threshold) bytes (1 MiB by default)
/// and reads smaller ones; [`open_at`](FileSystem::open_at), which file
/// streams use, always reads.
#[derive(Debug, Clone, Copy)]
pub struct LocalFileSystem {
    mmap_threshold: u64,
}

impl Default for LocalFileSystem {
    fn default() -> Self {
        LocalFileSystem {
            mmap_threshold: 1 << 20,
        }
    }
}

impl LocalFileSystem {
    /// The local disk, mapping files of 1 MiB or more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps files of at least `bytes` bytes instead of reading them.
    pub fn with_mmap_threshold(mut self, bytes: u64) -> Self {
        self.mmap_threshold = bytes;
        self
    }
}

impl FileSystem for LocalFileSystem {
    fn list(&self, dir: &Path) -> io::Result<Vec<FileStatus>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            // `fs::metadata` follows symbolic links, as a reader would.
            let status = std::fs::metadata(&path).and_then(|meta| {
                Ok(FileStatus {
                    modified: meta.modified()?,
                    len: meta.len(),
                    is_dir: meta.is_dir(),
                    path: path.clone(),
                })
            });
            match status {
                Ok(status) => entries.push(status),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    tracing::debug!(path = %path.display(), "entry vanished while listing");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }

    fn open(&self, path: &Path) -> io::Result<FileBytes> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        if meta.len() < self.mmap_threshold || meta.len() == 0 {
            return std::fs::read(path).map(FileBytes::Read);
        }
        // SAFETY: the map is read-only and owned by the returned value, so it
        // lives no longer than the mapping. File streams expect files to be
        // complete and immutable once they appear in the directory (they are
        // moved in atomically, as in Spark); a file truncated in place by
        // another process while mapped is outside that contract. Unlinking
        // or renaming a mapped file is harmless: the mapping keeps the data.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(FileBytes::Mapped(map))
    }

    fn open_at(&self, path: &Path, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let mut file = File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
}
