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

    /// Runs a whole job (the scheduler's part: its stages one after
    /// another, each calling [`run_tasks`](Executor::run_tasks)) and
    /// returns when it is done. An executor with threads of its own runs it
    /// on one of them, so that the job's stages follow one another there
    /// without waking the calling thread between them. The default runs it
    /// on the calling thread.
    fn run_job(&self, job: &mut (dyn FnMut() + Send)) {
        job()
    }
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

    /// On a worker: `run_tasks` from there runs the stage in the pool
    /// directly (rayon's `install` from inside its own pool), so a job
    /// costs the caller one hand-off into the pool and one back, however
    /// many stages it has.
    fn run_job(&self, job: &mut (dyn FnMut() + Send)) {
        self.pool.install(job)
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

    #[test]
    fn runs_a_job_on_a_worker_whose_stages_run_from_there() {
        // One thread: the stages' tasks must run on the worker that runs
        // the job (rayon's `install` from inside its own pool), or this
        // would wait forever.
        let executor = LocalExecutor::new(1).unwrap();
        let mut seen = Vec::new();
        executor.run_job(&mut || {
            for _stage in 0..2 {
                let hits = AtomicUsize::new(0);
                executor.run_tasks(5, &|_| {
                    hits.fetch_add(1, Ordering::SeqCst);
                });
                let name = std::thread::current().name().map(str::to_owned);
                seen.push((hits.into_inner(), name));
            }
        });
        let on_worker = (5, Some("ember-worker-0".to_owned()));
        assert_eq!(seen, vec![on_worker.clone(), on_worker]);
    }
}
