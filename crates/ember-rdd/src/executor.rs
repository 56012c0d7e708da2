//! Where tasks run: the [`Executor`] trait and the local rayon executor.
//!
//! Operators never talk to rayon directly; the scheduler hands each stage's
//! tasks to an executor, so another execution backend can be added without
//! touching any operator.

use rayon::prelude::*;

use crate::JobError;

/// Runs the tasks of one stage.
pub trait Executor: Send + Sync {
    /// How many tasks can run at once.
    fn parallelism(&self) -> usize;

    /// Runs `task(0)`, …, `task(num_tasks - 1)`, in parallel where possible,
    /// and returns when all have finished. `task` never panics (the scheduler
    /// catches user panics before they reach the executor).
    fn run_tasks(&self, num_tasks: usize, task: &(dyn Fn(usize) + Sync));
}

/// The embedded executor: a rayon thread pool of its own.
pub struct LocalExecutor {
    pool: rayon::ThreadPool,
    threads: usize,
}

impl LocalExecutor {
    /// Starts a pool of `threads` workers named `ember-worker-<i>`.
    pub fn new(threads: usize) -> Result<Self, JobError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ember-worker-{i}"))
            .build()
            .map_err(|e| JobError::ThreadPool {
                message: e.to_string(),
            })?;
        Ok(LocalExecutor { pool, threads })
    }
}

impl Executor for LocalExecutor {
    fn parallelism(&self) -> usize {
        self.threads
    }

    fn run_tasks(&self, num_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        self.pool
            .install(|| (0..num_tasks).into_par_iter().for_each(task));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_task_once() {
        let executor = LocalExecutor::new(2).unwrap();
        let hits: Vec<AtomicUsize> = (0..17).map(|_| AtomicUsize::new(0)).collect();
        executor.run_tasks(17, &|i| {
            hits[i].fetch_add(1, Ordering::SeqCst);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::SeqCst) == 1));
        assert_eq!(executor.parallelism(), 2);
    }
}
