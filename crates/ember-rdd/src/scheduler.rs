//! The DAG scheduler: splits a job into stages at shuffle boundaries, runs
//! missing shuffle map stages parents-first (only the map tasks whose
//! output is missing: those that succeeded before a failed stage are kept),
//! then the result stage, each stage's tasks in parallel on the executor,
//! retrying tasks that panic.
//!
//! In cluster mode each process runs the tasks of the partitions it owns;
//! after a map stage the buckets go to the owners of their reduce
//! partitions, and the result stage's results go to every process, one
//! exchange round each, so every process returns the same results.

use std::any::Any;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use crate::cluster_round::all_gather;
use crate::dependency::{Dependency, RddInfo, ShuffleDependency};
use crate::metrics::Metrics;
use crate::{BoxIter, Data, JobError, Rdd, RddContext, TaskContext, TaskResult};

/// Runs `func` over the listed partitions of `rdd` and returns the results
/// in the order of `partitions`.
pub(crate) fn run_job<T: Data, R: TaskResult>(
    rdd: &Rdd<T>,
    partitions: &[usize],
    func: impl Fn(&TaskContext, BoxIter<T>) -> Result<R, JobError> + Sync,
) -> Result<Vec<R>, JobError> {
    rdd.context().check_job_thread()?;
    let (owned, results) = run_owned(rdd, partitions, func);
    match rdd.context().exchange() {
        Some(exchange) => gather(
            exchange.as_ref(),
            &rdd.context().inner.metrics,
            partitions.len(),
            owned,
            results,
        ),
        None => results,
    }
}

/// [`run_job`] without gathering: the results of the partitions this
/// process owns (all of them in local mode), as `(partition, result)`.
pub(crate) fn run_job_in_place<T: Data, R: Send>(
    rdd: &Rdd<T>,
    partitions: &[usize],
    func: impl Fn(&TaskContext, BoxIter<T>) -> Result<R, JobError> + Sync,
) -> Result<Vec<(usize, R)>, JobError> {
    rdd.context().check_job_thread()?;
    let (owned, results) = run_owned(rdd, partitions, func);
    Ok(owned
        .into_iter()
        .map(|i| partitions[i])
        .zip(results?)
        .collect())
}

/// Runs the shuffle map stages `rdd` needs and the result stage over the
/// listed partitions this process owns; returns their indices in
/// `partitions` and their results.
///
/// In local mode the whole job runs in the executor's pool
/// ([`Executor::run_job`](crate::Executor::run_job)): its stages follow
/// one another on a worker, and the calling thread is woken once, at the
/// end. In cluster mode it stays on the calling thread, the one bound to
/// the exchange's rounds.
fn run_owned<T: Data, R: Send>(
    rdd: &Rdd<T>,
    partitions: &[usize],
    func: impl Fn(&TaskContext, BoxIter<T>) -> Result<R, JobError> + Sync,
) -> (Vec<usize>, Result<Vec<R>, JobError>) {
    let ctx = rdd.context();
    if ctx.exchange().is_some() {
        return run_stages(rdd, partitions, &func);
    }
    let mut done = None;
    ctx.inner
        .executor
        .run_job(&mut || done = Some(run_stages(rdd, partitions, &func)));
    done.unwrap_or_else(|| {
        let message = "the executor returned without running the job".to_owned();
        (Vec::new(), Err(JobError::ThreadPool { message }))
    })
}

/// [`run_owned`] on the calling thread.
fn run_stages<T: Data, R: Send>(
    rdd: &Rdd<T>,
    partitions: &[usize],
    func: &(impl Fn(&TaskContext, BoxIter<T>) -> Result<R, JobError> + Sync),
) -> (Vec<usize>, Result<Vec<R>, JobError>) {
    let ctx = rdd.context();
    let job = ctx.new_job_id();
    Metrics::add(&ctx.inner.metrics.jobs, 1);
    for shuffle in missing_shuffles(rdd.info().as_ref()) {
        if shuffle.is_available() {
            continue;
        }
        let stage = ctx.new_stage_id();
        let map_stage = || {
            shuffle.prepare()?;
            let parent = shuffle.parent();
            let missing: Vec<usize> = shuffle
                .missing_partitions()
                .into_iter()
                .filter(|&map| ctx.owns(parent.as_ref(), map))
                .collect();
            tracing::debug!(
                job,
                stage,
                shuffle = shuffle.shuffle_id(),
                num_tasks = missing.len(),
                "shuffle map stage"
            );
            run_stage(
                ctx,
                stage,
                missing.len(),
                |i| missing[i],
                |task| shuffle.run_map_task(task),
            )
            .map(drop)
        };
        let done = match ctx.exchange() {
            Some(exchange) => shuffle.exchange_outputs(exchange.as_ref(), map_stage()),
            None => map_stage(),
        };
        if let Err(error) = done {
            return (Vec::new(), Err(error));
        }
    }
    let stage = ctx.new_stage_id();
    let info = rdd.info();
    let owned: Vec<usize> = (0..partitions.len())
        .filter(|&i| ctx.owns(info.as_ref(), partitions[i]))
        .collect();
    tracing::debug!(job, stage, num_tasks = owned.len(), "result stage");
    let results = run_stage(
        ctx,
        stage,
        owned.len(),
        |i| partitions[owned[i]],
        |task| func(task, rdd.iterator(task.partition, task)?),
    );
    (owned, results)
}

/// Every process's results of the result stage, in the order of the
/// job's partitions (`owned` lists the indices this process computed).
fn gather<R: TaskResult>(
    exchange: &dyn crate::Exchange,
    metrics: &Metrics,
    len: usize,
    owned: Vec<usize>,
    results: Result<Vec<R>, JobError>,
) -> Result<Vec<R>, JobError> {
    let local = results.map(|results| owned.into_iter().zip(results).collect::<Vec<_>>());
    let mut slots: Vec<Option<R>> = (0..len).map(|_| None).collect();
    for share in all_gather(exchange, metrics, local)? {
        for (index, result) in share {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(result);
            }
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            slot.ok_or_else(|| JobError::Codec {
                action: "decode",
                message: format!("no process returned the result of task {index}"),
            })
        })
        .collect()
}

/// The shuffles `root` needs that have no output yet, parents before
/// children (each once).
fn missing_shuffles(root: &dyn RddInfo) -> Vec<Arc<dyn ShuffleDependency>> {
    let mut visited = HashSet::new();
    let mut seen_shuffles = HashSet::new();
    let mut order = Vec::new();
    visit(root, &mut visited, &mut seen_shuffles, &mut order);
    order
}

fn visit(
    rdd: &dyn RddInfo,
    visited: &mut HashSet<usize>,
    seen_shuffles: &mut HashSet<usize>,
    order: &mut Vec<Arc<dyn ShuffleDependency>>,
) {
    if !visited.insert(rdd.id()) {
        return;
    }
    for dep in rdd.dependencies() {
        match dep {
            Dependency::Shuffle(shuffle) => {
                if shuffle.is_available() || !seen_shuffles.insert(shuffle.shuffle_id()) {
                    continue;
                }
                visit(shuffle.parent().as_ref(), visited, seen_shuffles, order);
                order.push(shuffle);
            }
            other => visit(other.parent().as_ref(), visited, seen_shuffles, order),
        }
    }
}

/// Runs one stage: task i computes partition `partition_of(i)`.
fn run_stage<R: Send>(
    ctx: &RddContext,
    stage: usize,
    num_tasks: usize,
    partition_of: impl Fn(usize) -> usize + Sync,
    task: impl Fn(&TaskContext) -> Result<R, JobError> + Sync,
) -> Result<Vec<R>, JobError> {
    Metrics::add(&ctx.inner.metrics.stages, 1);
    let slots: Vec<Mutex<Option<Result<R, JobError>>>> =
        (0..num_tasks).map(|_| Mutex::new(None)).collect();
    ctx.inner.executor.run_tasks(num_tasks, &|i| {
        let result = run_with_retry(ctx, stage, partition_of(i), &task);
        *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
    });
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            slot.into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .unwrap_or_else(|| {
                    Err(JobError::TaskFailed {
                        stage,
                        partition: partition_of(i),
                        attempts: 0,
                        message: "the executor did not run the task".to_owned(),
                    })
                })
        })
        .collect()
}

/// Attempts a task until it returns without panicking, at most the
/// context's `task_attempts` times. Errors it returns are final.
fn run_with_retry<R>(
    ctx: &RddContext,
    stage: usize,
    partition: usize,
    task: &(impl Fn(&TaskContext) -> Result<R, JobError> + Sync),
) -> Result<R, JobError> {
    let attempts = ctx.inner.task_attempts;
    let metrics = &ctx.inner.metrics;
    let mut message = String::new();
    for attempt in 1..=attempts {
        Metrics::add(&metrics.task_attempts, 1);
        let tc = TaskContext::new(stage, partition, attempt);
        match catch_unwind(AssertUnwindSafe(|| task(&tc))) {
            Ok(result) => return result,
            Err(payload) => {
                Metrics::add(&metrics.task_failures, 1);
                message = panic_message(payload.as_ref());
                tracing::warn!(stage, partition, attempt, %message, "task failed");
            }
        }
    }
    Err(JobError::TaskFailed {
        stage,
        partition,
        attempts,
        message,
    })
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "task panicked with a non-string payload".to_owned()
    }
}
