//! Counters of the work a context has done: jobs, stages, task attempts,
//! failures, shuffle records and, in cluster mode, exchange rounds and the
//! bytes sent to other processes.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) jobs: AtomicU64,
    pub(crate) stages: AtomicU64,
    pub(crate) task_attempts: AtomicU64,
    pub(crate) task_failures: AtomicU64,
    pub(crate) shuffle_records_written: AtomicU64,
    pub(crate) exchange_rounds: AtomicU64,
    pub(crate) exchange_bytes_sent: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            jobs: get(&self.jobs),
            stages: get(&self.stages),
            task_attempts: get(&self.task_attempts),
            task_failures: get(&self.task_failures),
            shuffle_records_written: get(&self.shuffle_records_written),
            exchange_rounds: get(&self.exchange_rounds),
            exchange_bytes_sent: get(&self.exchange_bytes_sent),
        }
    }
}

/// What a context has run so far (monotonic counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// Jobs submitted (one per action).
    pub jobs: u64,
    /// Stages run (shuffle map stages and result stages).
    pub stages: u64,
    /// Task attempts started, retries included.
    pub task_attempts: u64,
    /// Task attempts that panicked.
    pub task_failures: u64,
    /// Records written by shuffle map tasks, after map-side combine.
    pub shuffle_records_written: u64,
    /// Cluster mode: all-to-all rounds with the other processes (one per
    /// shuffle map stage and one per action).
    pub exchange_rounds: u64,
    /// Cluster mode: bytes this process sent to the other processes.
    pub exchange_bytes_sent: u64,
}
