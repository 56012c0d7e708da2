//! Fault injection for tests: [`FaultyStore`], a [`CheckpointStore`]
//! wrapper whose writes fail on command.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CheckpointError, Result};
use crate::store::{CheckpointStore, ObjectData, WriteFn};

/// A [`CheckpointStore`] that forwards to `S`, except that the next `n`
/// writes (after [`fail_next_writes(n)`](Self::fail_next_writes)) fail with
/// an [`CheckpointError::Io`] and leave the store unchanged, as a full disk
/// or a lost mount would. Reads, lists and deletes always go through.
///
/// ```
/// use ember_checkpoint::{CheckpointStore, LocalCheckpointStore, testing::FaultyStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = FaultyStore::new(LocalCheckpointStore::open(dir.path()).unwrap());
/// store.fail_next_writes(1);
/// assert!(store.write("a", b"1").is_err());
/// store.write("b", b"2").unwrap();
/// assert_eq!(store.list().unwrap(), ["b"]);
/// assert_eq!((store.failed_writes(), store.succeeded_writes()), (1, 1));
/// ```
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    to_fail: AtomicU64,
    failed: AtomicU64,
    succeeded: AtomicU64,
}

impl<S: CheckpointStore> FaultyStore<S> {
    /// Wraps `inner`; no write fails until told to.
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner,
            to_fail: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
        }
    }

    /// Makes the next `n` writes fail (replacing any count still pending).
    pub fn fail_next_writes(&self, n: u64) {
        self.to_fail.store(n, Ordering::SeqCst);
    }

    /// How many writes failed on command so far.
    pub fn failed_writes(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// How many writes went through so far.
    pub fn succeeded_writes(&self) -> u64 {
        self.succeeded.load(Ordering::SeqCst)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Takes one failure, if one is pending, as the error to return.
    fn take_failure(&self, name: &str) -> Result<()> {
        let failing = self
            .to_fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(CheckpointError::Io {
                action: "writing (failure injected by FaultyStore)",
                path: self.inner.location(name),
                source: io::Error::other("injected write failure"),
            });
        }
        Ok(())
    }

    /// Counts the outcome of a forwarded write.
    fn count(&self, result: Result<()>) -> Result<()> {
        if result.is_ok() {
            self.succeeded.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
}

impl<S: CheckpointStore> CheckpointStore for FaultyStore<S> {
    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.take_failure(name)?;
        self.count(self.inner.write(name, bytes))
    }

    fn write_with(&self, name: &str, fill: &mut WriteFn<'_>) -> Result<()> {
        self.take_failure(name)?;
        self.count(self.inner.write_with(name, fill))
    }

    fn read(&self, name: &str) -> Result<ObjectData> {
        self.inner.read(name)
    }

    fn list(&self) -> Result<Vec<String>> {
        self.inner.list()
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.inner.delete(name)
    }

    fn location(&self, name: &str) -> PathBuf {
        self.inner.location(name)
    }
}
