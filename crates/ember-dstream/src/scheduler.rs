//! The running part of a context: the job generator thread (one job set per
//! batch interval, on the context's clock) and the job executor thread(s)
//! that run the sets in order, report to listeners and clean up after each
//! batch; plus [`Termination`], what `await_termination` waits on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::checkpoint::Checkpointer;
use crate::clock::Clock;
use crate::context::{ContextInner, StreamEnv};
use crate::graph::{Graph, PlannedJob};
use crate::listener::{BatchInfo, ListenerBus, OutputOperationInfo};
use crate::{StreamingError, Time};

/// How long the generator sleeps at most before checking for a stop.
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// One batch's jobs.
struct JobSet {
    info: BatchInfo,
    jobs: Vec<PlannedJob>,
}

#[derive(Default)]
struct TerminationState {
    stopped: bool,
    error: Option<StreamingError>,
    completed_batches: u64,
    last_completed: Option<Time>,
}

/// What `await_termination` waits for: a stop or the first failure.
#[derive(Default)]
pub(crate) struct Termination {
    state: Mutex<TerminationState>,
    changed: Condvar,
}

impl Termination {
    fn update(&self, f: impl FnOnce(&mut TerminationState)) {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_all();
    }

    pub(crate) fn set_stopped(&self) {
        self.update(|s| s.stopped = true);
    }

    fn report_error(&self, error: StreamingError) {
        self.update(|s| {
            s.error.get_or_insert(error);
        });
    }

    fn batch_completed(&self, time: Time) {
        self.update(|s| {
            s.completed_batches += 1;
            s.last_completed = Some(s.last_completed.map_or(time, |t| t.max(time)));
        });
    }

    /// Waits for a stop (`Ok(true)`), a failure (`Err`, taken so the next
    /// wait goes on), or the timeout (`Ok(false)`).
    pub(crate) fn wait(
        &self,
        timeout: Option<std::time::Duration>,
    ) -> Result<bool, StreamingError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(error) = state.error.take() {
                return Err(error);
            }
            if state.stopped {
                return Ok(true);
            }
            state = match deadline {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(false);
                    }
                    self.changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Waits until `n` batches have completed, the context stopped or
    /// `timeout` passes; returns whether `n` batches completed. A batch
    /// failure is returned as the error.
    pub(crate) fn wait_for_batches(
        &self,
        n: u64,
        timeout: std::time::Duration,
    ) -> Result<bool, StreamingError> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopped && s.error.is_none() && s.completed_batches < n
            })
            .unwrap_or_else(PoisonError::into_inner);
        match state.error.take() {
            Some(error) => Err(error),
            None => Ok(state.completed_batches >= n),
        }
    }

    /// Waits until the batch at `time` (and every one before it) completed,
    /// or `timeout` passes; returns whether it did.
    pub(crate) fn wait_for_batch(&self, time: Time, timeout: std::time::Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| {
                !s.stopped && s.last_completed.is_none_or(|t| t < time)
            })
            .unwrap_or_else(PoisonError::into_inner);
        state.last_completed.is_some_and(|t| t >= time)
    }
}

/// The threads of a started context.
pub(crate) struct Runtime {
    stop_generating: Arc<AtomicBool>,
    drop_queued: Arc<AtomicBool>,
    generator: Option<JoinHandle<()>>,
    executors: Vec<JoinHandle<()>>,
}

/// What the executor threads share.
struct ExecutorShared {
    graph: Arc<Graph>,
    listeners: ListenerBus,
    termination: Arc<Termination>,
    drop_queued: Arc<AtomicBool>,
    checkpointer: Option<Arc<Checkpointer>>,
}

fn spawn(
    name: &'static str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, StreamingError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| StreamingError::Thread {
            name,
            message: e.to_string(),
        })
}

impl Runtime {
    pub(crate) fn start(
        inner: &ContextInner,
        first_batch: Time,
        checkpointer: Option<Arc<Checkpointer>>,
    ) -> Result<Self, StreamingError> {
        let (sender, receiver) = crossbeam_channel::unbounded::<JobSet>();
        let stop_generating = Arc::new(AtomicBool::new(false));
        let drop_queued = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(ExecutorShared {
            graph: Arc::clone(&inner.graph),
            listeners: inner.listeners.clone(),
            termination: Arc::clone(&inner.termination),
            drop_queued: Arc::clone(&drop_queued),
            checkpointer: checkpointer.clone(),
        });
        let mut executors = Vec::new();
        for _ in 0..inner.conf.concurrent_jobs()? {
            let receiver = receiver.clone();
            let shared = Arc::clone(&shared);
            executors.push(spawn("ember-job-executor", move || {
                run_executor(&receiver, &shared);
            })?);
        }
        let generator = Generator {
            clock: Arc::clone(&inner.clock),
            graph: Arc::clone(&inner.graph),
            env: Arc::clone(&inner.env),
            listeners: inner.listeners.clone(),
            stop: Arc::clone(&stop_generating),
            sender,
            checkpointer,
        };
        let generator = spawn("ember-job-generator", move || generator.run(first_batch))?;
        Ok(Runtime {
            stop_generating,
            drop_queued,
            generator: Some(generator),
            executors,
        })
    }

    /// Stops generating; finishes queued batches when `graceful`, else only
    /// the batch in progress; joins the threads (unless called from one of
    /// them, e.g. by an output operation that stops its own context).
    pub(crate) fn stop(mut self, graceful: bool) {
        self.stop_generating.store(true, Ordering::SeqCst);
        if !graceful {
            self.drop_queued.store(true, Ordering::SeqCst);
        }
        let me = std::thread::current().id();
        let handles = self
            .generator
            .take()
            .into_iter()
            .chain(self.executors.drain(..));
        for handle in handles {
            if handle.thread().id() != me && handle.join().is_err() {
                tracing::error!("a streaming scheduler thread panicked");
            }
        }
    }
}

struct Generator {
    clock: Arc<dyn Clock>,
    graph: Arc<Graph>,
    env: Arc<StreamEnv>,
    listeners: ListenerBus,
    stop: Arc<AtomicBool>,
    sender: Sender<JobSet>,
    checkpointer: Option<Arc<Checkpointer>>,
}

impl Generator {
    fn run(self, first_batch: Time) {
        let mut next = first_batch;
        while !self.stop.load(Ordering::SeqCst) {
            if !self.clock.wait_until(next, POLL) {
                continue;
            }
            let jobs = self.graph.generate_jobs(next);
            if let Some(checkpointer) = &self.checkpointer {
                checkpointer.generated(next);
            }
            let info = BatchInfo {
                batch_time: next,
                num_records: self.env.take_input(next),
                submission: Instant::now(),
                processing_start: None,
                processing_end: None,
                output_operations: Vec::new(),
            };
            self.listeners.post(|l| l.on_batch_submitted(&info));
            if self.sender.send(JobSet { info, jobs }).is_err() {
                break;
            }
            next = next + self.env.batch;
        }
    }
}

fn run_executor(receiver: &Receiver<JobSet>, shared: &ExecutorShared) {
    for job_set in receiver {
        if shared.drop_queued.load(Ordering::SeqCst) {
            break;
        }
        run_job_set(job_set, shared);
    }
}

fn run_job_set(job_set: JobSet, shared: &ExecutorShared) {
    let JobSet { mut info, jobs } = job_set;
    let time = info.batch_time;
    info.processing_start = Some(Instant::now());
    shared.listeners.post(|l| l.on_batch_started(&info));
    for planned in jobs {
        let mut op = OutputOperationInfo {
            batch_time: time,
            id: planned.output,
            name: planned.name,
            start: Some(Instant::now()),
            end: None,
            failure_reason: None,
        };
        shared
            .listeners
            .post(|l| l.on_output_operation_started(&op));
        let result = planned.job.and_then(|job| {
            catch_unwind(AssertUnwindSafe(job))
                .unwrap_or_else(|panic| Err(crate::panic_message(panic.as_ref())))
        });
        op.end = Some(Instant::now());
        if let Err(message) = result {
            tracing::error!(%time, output = op.id, name = op.name, %message, "output operation failed");
            shared
                .termination
                .report_error(StreamingError::OutputFailed {
                    time,
                    output: op.id,
                    name: op.name,
                    message: message.clone(),
                });
            op.failure_reason = Some(message);
        }
        shared
            .listeners
            .post(|l| l.on_output_operation_completed(&op));
        info.output_operations.push(op);
    }
    let cleaned = shared.graph.after_batch(time).map_err(|e| {
        tracing::error!(%time, error = %e, "cleaning up after a batch failed");
        shared.termination.report_error(e);
    });
    if let Some(checkpointer) = &shared.checkpointer
        && let Err(e) = checkpointer.after_batch(time, cleaned.is_ok())
    {
        tracing::error!(%time, error = %e, "writing a checkpoint failed");
        shared.termination.report_error(e);
    }
    info.processing_end = Some(Instant::now());
    shared.listeners.post(|l| l.on_batch_completed(&info));
    shared.termination.batch_completed(time);
}
