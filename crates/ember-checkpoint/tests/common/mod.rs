//! Shared helpers of the integration tests: proptest strategies, a store
//! that records what is done to it, and a subscriber that captures
//! `tracing` warnings.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ember_checkpoint::{CheckpointError, CheckpointStore, LocalCheckpointStore, ObjectData};
use proptest::prelude::*;

/// Raw payloads, empty ones included.
pub fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

/// Word-count states, the typical state-stream checkpoint.
pub fn word_counts() -> impl Strategy<Value = Vec<(String, u64)>> {
    let word = prop_oneof![
        "w[0-9]{0,7}",
        prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ];
    prop::collection::vec((word, any::<u64>()), 0..64)
}

/// A sequence of write-ahead log records of mixed sizes.
pub fn wal_records() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40)
}

/// A [`CheckpointStore`] over a local directory that logs every call, and
/// can be told to fail writes.
pub struct RecordingStore {
    pub inner: LocalCheckpointStore,
    pub log: Mutex<Vec<String>>,
    pub fail_writes: AtomicBool,
}

impl RecordingStore {
    pub fn new(inner: LocalCheckpointStore) -> Self {
        RecordingStore {
            inner,
            log: Mutex::new(Vec::new()),
            fail_writes: AtomicBool::new(false),
        }
    }

    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

impl CheckpointStore for RecordingStore {
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
        self.note(format!("write-start {name}"));
        if self.fail_writes.load(Ordering::SeqCst) {
            self.note(format!("write-failed {name}"));
            return Err(CheckpointError::Io {
                action: "writing (injected failure)",
                path: self.inner.location(name),
                source: std::io::Error::other("disk full"),
            });
        }
        self.inner.write(name, bytes)?;
        self.note(format!("write-durable {name}"));
        Ok(())
    }

    fn read(&self, name: &str) -> Result<ObjectData, CheckpointError> {
        self.inner.read(name)
    }

    fn list(&self) -> Result<Vec<String>, CheckpointError> {
        self.inner.list()
    }

    fn delete(&self, name: &str) -> Result<(), CheckpointError> {
        self.note(format!("delete {name}"));
        self.inner.delete(name)
    }

    fn location(&self, name: &str) -> PathBuf {
        self.inner.location(name)
    }
}

/// A `tracing` subscriber that keeps every WARN event as a line of
/// `field=value` pairs.
#[derive(Clone, Default)]
pub struct WarnCapture {
    pub warnings: Arc<Mutex<Vec<String>>>,
}

impl WarnCapture {
    /// Runs `f` with this subscriber as the thread's default.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.clone(), f)
    }

    pub fn lines(&self) -> Vec<String> {
        self.warnings.lock().unwrap().clone()
    }
}

struct LineVisitor(String);

impl tracing::field::Visit for LineVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for WarnCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut visitor = LineVisitor(String::new());
            event.record(&mut visitor);
            self.warnings.lock().unwrap().push(visitor.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
