//! The running part of a context: the job generator thread (one job set per
//! batch interval, on the context's clock) and the job executor thread(s)
//! that run the sets in order, report to listeners and clean up after each
//! batch; how they stop (gracefully: until the inputs' data is processed);
//! plus [`Termination`], what `await_termination` waits on.
//!
//! Generated job sets wait in a bounded queue
//! (`ember.streaming.maxQueuedBatches`): when it is full the generator
//! waits, so a backlog never generates far ahead. A user callback that
//! panics on these threads (an input source, a state's serialization)
//! or an input that fails to generate its batch ends the context with an
//! error; an output operation's failure is reported and batches go on.
//!
//! In cluster mode one executor thread runs the batches (every process
//! runs the same jobs in the same order), and after each batch the
//! processes hold one round: a stop requested on any process stops every
//! process after that batch (a graceful one: every process stops its
//! inputs, and they stop after the first batch after which every process
//! has processed what its inputs accepted), and the round carries the
//! two-phase checkpoint's votes (`cluster_checkpoint.rs`).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::Instant;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};

use crate::checkpoint::Checkpointer;
use crate::clock::Clock;
use crate::cluster_checkpoint::PartsVote;
use crate::context::{ContextInner, StreamEnv};
use crate::graph::{Graph, PlannedJob};
use crate::listener::{BatchInfo, OutputOperationInfo};
use crate::listener_bus::{FailureHook, ListenerBus};
use crate::{StreamingError, Time};

/// How long the generator sleeps at most before checking for a stop.
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// How long a stop waits for the batch in progress once no more batches
/// are to run (a non-graceful stop, or a graceful one past its timeout)
/// before it leaves that batch's thread behind. Spark interrupts the job
/// threads and waits 2 s; ember waits 1.5 s, so that the whole
/// non-graceful stop (inputs and listeners included) stays within 2 s.
pub(crate) const RUNNING_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// One batch's jobs.
struct JobSet {
    info: BatchInfo,
    jobs: Vec<PlannedJob>,
}

#[derive(Default)]
struct TerminationState {
    stopped: bool,
    error: Option<StreamingError>,
    /// The error that ended the context, kept apart so that an unread
    /// output failure cannot hide it.
    fatal: Option<StreamingError>,
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

    /// Reports the error that ends the context.
    pub(crate) fn report_fatal(&self, error: StreamingError) {
        self.update(|s| {
            s.fatal.get_or_insert(error);
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
            if let Some(error) = state.error.take().or_else(|| state.fatal.take()) {
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
                !s.stopped && s.error.is_none() && s.fatal.is_none() && s.completed_batches < n
            })
            .unwrap_or_else(PoisonError::into_inner);
        match state.error.take().or_else(|| state.fatal.take()) {
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

/// How the threads of a runtime are told to stop, and how many still run.
#[derive(Default)]
struct Control {
    /// Generate no more batches once the inputs hold no unallocated data.
    stopping: AtomicBool,
    /// Cluster mode: this process asks every process to stop after the
    /// current batch.
    stop_requested: AtomicBool,
    /// Cluster mode: the stop this process asks for is graceful: every
    /// process stops its inputs and the processes run batches until each
    /// has processed what its inputs accepted.
    graceful_requested: AtomicBool,
    /// Cluster mode: this process's inputs stopped for a graceful stop.
    draining: AtomicBool,
    /// Cluster mode: this process was told of a graceful stop another
    /// process asked for.
    told_graceful: AtomicBool,
    /// The newest batch generated, held while one is generated (so that
    /// whether an input's data went into a batch not yet run can be told).
    generated: Mutex<Option<Time>>,
    /// Generate nothing more and drop the queued batches.
    hard_stop: AtomicBool,
    alive: Mutex<usize>,
    ended: Condvar,
}

impl Control {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn hard_stop(&self) -> bool {
        self.hard_stop.load(Ordering::SeqCst)
    }

    fn alive(&self) -> MutexGuard<'_, usize> {
        self.alive.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every thread ended or `deadline` passed, or (with
    /// `until_hard_stop`) a hard stop was asked for; returns whether they
    /// all ended.
    fn wait_ended(&self, deadline: Instant, until_hard_stop: bool) -> bool {
        let alive = self.alive();
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (alive, _) = self
            .ended
            .wait_timeout_while(alive, timeout, |n| {
                *n > 0 && !(until_hard_stop && self.hard_stop())
            })
            .unwrap_or_else(PoisonError::into_inner);
        *alive == 0
    }
}

/// Counts a runtime thread as alive until it ends (even by a panic).
struct AliveGuard(Arc<Control>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        *self.0.alive() -= 1;
        self.0.ended.notify_all();
    }
}

/// Turns a stop in progress into a prompt one (a second shutdown signal):
/// no more batches are generated and the queued ones are dropped; the
/// batch in progress gets [`RUNNING_BATCH_WAIT`].
#[derive(Clone)]
pub(crate) struct HardStop(Arc<Control>);

impl HardStop {
    pub(crate) fn trigger(&self) {
        self.0.hard_stop.store(true, Ordering::SeqCst);
        // Under the lock a waiting stop checks the flag with, so that it
        // cannot miss the wake-up between its check and its wait.
        let _alive = self.0.alive();
        self.0.ended.notify_all();
    }
}

/// The threads of a started context.
pub(crate) struct Runtime {
    control: Arc<Control>,
    /// What the executors share: a stop that leaves a running batch
    /// behind marks it abandoned there.
    shared: Arc<ExecutorShared>,
    /// Cluster mode: stops are agreed between the processes.
    clustered: bool,
    /// A handle on the queue of generated batches, to say how many are left.
    queued: Receiver<JobSet>,
    threads: Vec<JoinHandle<()>>,
}

/// What the executor threads share.
struct ExecutorShared {
    graph: Arc<Graph>,
    listeners: ListenerBus,
    termination: Arc<Termination>,
    control: Arc<Control>,
    checkpointer: Option<Arc<Checkpointer>>,
    fail: FailureHook,
    completed: Mutex<Completed>,
    /// Cluster mode: the exchange, and how a stop the cluster agreed on
    /// stops this process's context.
    cluster: Option<ClusterStop>,
    rdd: ember_rdd::RddContext,
}

impl ExecutorShared {
    fn completed(&self) -> MutexGuard<'_, Completed> {
        self.completed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a stop left this batch behind (see [`Completed::abandoned`]).
    fn abandoned(&self) -> bool {
        self.completed().abandoned
    }
}

/// What an executor needs to agree on stops with the other processes
/// (the rounds go through the RDD context's exchange).
pub(crate) struct ClusterStop {
    /// Stops this process's context in the background, gracefully or
    /// not.
    pub(crate) stop: Arc<dyn Fn(bool) + Send + Sync>,
}

/// Which batches completed: every one up to `frontier`, and those after it
/// (with concurrent jobs batches complete out of order).
struct Completed {
    frontier: Time,
    ahead: BTreeSet<Time>,
    batch: crate::Duration,
    /// A stop returned while a batch still ran: that batch (and any job
    /// left) must change nothing any more — no checkpoint, no clean-up,
    /// no lineage cut, no event. Set and read under this lock, so a batch
    /// either finished its clean-up before the stop or does none of it.
    abandoned: bool,
}

impl Completed {
    /// Batch `time` completed; the new frontier if it moved.
    fn complete(&mut self, time: Time) -> Option<Time> {
        if time > self.frontier {
            self.ahead.insert(time);
        }
        let before = self.frontier;
        while self.ahead.remove(&(self.frontier + self.batch)) {
            self.frontier = self.frontier + self.batch;
        }
        (self.frontier > before).then_some(self.frontier)
    }
}

fn spawn(
    name: &'static str,
    control: &Arc<Control>,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, StreamingError> {
    *control.alive() += 1;
    let guard = AliveGuard(Arc::clone(control));
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _guard = guard;
            f();
        })
        .map_err(|e| StreamingError::Thread {
            name,
            message: e.to_string(),
        })
}

impl Runtime {
    /// Starts the generator (first batch at `first_batch`) and the
    /// executors; `fail` ends the context with an error.
    pub(crate) fn start(
        inner: &ContextInner,
        first_batch: Time,
        checkpointer: Option<Arc<Checkpointer>>,
        fail: FailureHook,
        cluster: Option<ClusterStop>,
    ) -> Result<Self, StreamingError> {
        let executors = match &cluster {
            Some(_) => {
                if inner.conf.concurrent_jobs()? > 1 {
                    tracing::warn!(
                        "cluster mode runs one batch at a time: spark.streaming.concurrentJobs is taken as 1"
                    );
                }
                1
            }
            None => inner.conf.concurrent_jobs()?,
        };
        let (sender, receiver) =
            crossbeam_channel::bounded::<JobSet>(inner.conf.max_queued_batches()?);
        let control = Arc::new(Control::default());
        let shared = Arc::new(ExecutorShared {
            graph: Arc::clone(&inner.graph),
            listeners: inner.listeners.clone(),
            termination: Arc::clone(&inner.termination),
            control: Arc::clone(&control),
            checkpointer: checkpointer.clone(),
            fail: Arc::clone(&fail),
            completed: Mutex::new(Completed {
                frontier: first_batch - inner.env.batch,
                ahead: BTreeSet::new(),
                batch: inner.env.batch,
                abandoned: false,
            }),
            cluster,
            rdd: inner.env.rdd.clone(),
        });
        let mut runtime = Runtime {
            control: Arc::clone(&control),
            shared: Arc::clone(&shared),
            clustered: shared.cluster.is_some(),
            queued: receiver.clone(),
            threads: Vec::new(),
        };
        for _ in 0..executors {
            let receiver = receiver.clone();
            let shared = Arc::clone(&shared);
            let started = spawn("ember-job-executor", &control, move || {
                run_executor(&receiver, &shared);
            });
            match started {
                Ok(thread) => runtime.threads.push(thread),
                Err(e) => {
                    drop(sender);
                    runtime.stop(false, std::time::Duration::from_secs(10));
                    return Err(e);
                }
            }
        }
        let generator = Generator {
            clock: Arc::clone(&inner.clock),
            graph: Arc::clone(&inner.graph),
            env: Arc::clone(&inner.env),
            listeners: inner.listeners.clone(),
            control: Arc::clone(&control),
            sender,
            checkpointer,
            fail,
        };
        match spawn("ember-job-generator", &control, move || {
            generator.run(first_batch)
        }) {
            Ok(thread) => runtime.threads.push(thread),
            Err(e) => {
                runtime.stop(false, std::time::Duration::from_secs(10));
                return Err(e);
            }
        }
        Ok(runtime)
    }

    /// Whether the calling thread is one of this runtime's threads.
    pub(crate) fn owns_current_thread(&self) -> bool {
        let me: ThreadId = std::thread::current().id();
        self.threads.iter().any(|t| t.thread().id() == me)
    }

    /// A handle that makes a stop of this runtime prompt.
    pub(crate) fn hard_stop(&self) -> HardStop {
        HardStop(Arc::clone(&self.control))
    }

    /// Stops the threads and waits for them (never from one of them: see
    /// [`owns_current_thread`](Self::owns_current_thread)), then closes the
    /// checkpoint writer once every checkpoint queued is written.
    ///
    /// Graceful (Spark's `JobGenerator.stop(processReceivedData = true)`):
    /// the generator goes on generating batches at their times while an
    /// input holds unallocated data, then stops, and every queued batch
    /// runs; after `timeout` (wall time), or at once when a second
    /// shutdown signal makes it prompt ([`HardStop`]), it stops as a
    /// non-graceful stop, logging what is left. Non-graceful: no more batches are generated
    /// and the queued ones are dropped. Either way the batch in progress
    /// then gets [`RUNNING_BATCH_WAIT`] (at most `timeout`) to end; past
    /// that its thread is left behind, *abandoned*: whatever it does
    /// afterwards changes nothing (no later output job of that batch, no
    /// checkpoint, no clean-up, no event). An abandoned batch is one that
    /// did not complete: as after a crash, recovery from the checkpoint
    /// runs it again (its outputs' side effects so far may repeat).
    pub(crate) fn stop(mut self, graceful: bool, timeout: std::time::Duration) {
        if self.clustered {
            // The executor agrees with the other processes and stops
            // every one after the same batch (after a graceful stop: the
            // batch after which every process is drained).
            if graceful {
                self.control
                    .graceful_requested
                    .store(true, Ordering::SeqCst);
                self.control.draining.store(true, Ordering::SeqCst);
            }
            self.control.stop_requested.store(true, Ordering::SeqCst);
        } else {
            self.control.stopping.store(true, Ordering::SeqCst);
            if !graceful {
                self.control.hard_stop.store(true, Ordering::SeqCst);
            }
        }
        if self.owns_current_thread() {
            // Dropping the last context handle on a scheduler thread: the
            // threads end by themselves, this one included.
            return;
        }
        let running_batch_wait = RUNNING_BATCH_WAIT.min(timeout);
        let mut ended = self.control.wait_ended(
            Instant::now()
                + if graceful || self.clustered {
                    timeout
                } else {
                    running_batch_wait
                },
            graceful && !self.clustered,
        );
        if !ended && graceful && self.control.hard_stop() {
            // A second shutdown signal made the graceful stop prompt: the
            // batch in progress gets the prompt stop's wait, not what is
            // left of the graceful timeout.
            tracing::warn!(
                queued_batches = self.queued.len(),
                "the graceful stop was made prompt: {} generated batch(es) not run",
                self.queued.len()
            );
            ended = self
                .control
                .wait_ended(Instant::now() + running_batch_wait, false);
        } else if !ended && graceful {
            tracing::error!(
                ?timeout,
                queued_batches = self.queued.len(),
                "the graceful stop timed out (spark.streaming.gracefulStopTimeout): {} generated batch(es) not run, and the inputs may still hold data no batch took; stopping now",
                self.queued.len()
            );
            self.control.hard_stop.store(true, Ordering::SeqCst);
            ended = self
                .control
                .wait_ended(Instant::now() + running_batch_wait, false);
        }
        if ended {
            for thread in self.threads.drain(..) {
                if thread.join().is_err() {
                    tracing::error!("a streaming scheduler thread panicked");
                }
            }
        } else {
            self.shared.completed().abandoned = true;
            tracing::error!(
                wait = ?running_batch_wait,
                "a batch is still running after the stop's wait; its thread is left behind and the batch abandoned: it writes no checkpoint and cleans nothing up, and recovery runs it again"
            );
        }
        if let Some(checkpointer) = &self.shared.checkpointer {
            checkpointer.close();
        }
    }
}

struct Generator {
    clock: Arc<dyn Clock>,
    graph: Arc<Graph>,
    env: Arc<StreamEnv>,
    listeners: ListenerBus,
    control: Arc<Control>,
    sender: Sender<JobSet>,
    checkpointer: Option<Arc<Checkpointer>>,
    fail: FailureHook,
}

impl Generator {
    fn run(self, first_batch: Time) {
        if let Err(e) = self.generate_from(first_batch) {
            (self.fail)(e);
        }
    }

    /// Generates batches until stopped (or until a graceful stop finds
    /// no unallocated input data).
    fn generate_from(&self, first_batch: Time) -> Result<(), StreamingError> {
        let mut next = first_batch;
        loop {
            if self.control.hard_stop()
                || (self.control.stopping() && !self.graph.has_unallocated_data()?)
            {
                return Ok(());
            }
            if !self.clock.wait_until(next, POLL) {
                continue;
            }
            let job_set = self.generate(next)?;
            if !self.enqueue(job_set) {
                return Ok(());
            }
            next = next.checked_add(self.env.batch).ok_or_else(|| {
                StreamingError::DurationOverflow {
                    what: format!("the batch after {next}"),
                }
            })?;
        }
    }

    fn generate(&self, time: Time) -> Result<JobSet, StreamingError> {
        let mut generated = self
            .control
            .generated
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let jobs = self.graph.generate_jobs(time)?;
        *generated = Some(time);
        drop(generated);
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.generated(time);
        }
        let stream_records = self.env.take_input(time);
        let info = BatchInfo {
            batch_time: time,
            num_records: stream_records.values().sum(),
            stream_records,
            input_errors: self.env.take_input_errors(time),
            submission: Instant::now(),
            processing_start: None,
            processing_end: None,
            output_operations: Vec::new(),
        };
        self.listeners.post(|l| l.on_batch_submitted(&info));
        Ok(JobSet { info, jobs })
    }

    /// Queues a job set, waiting while the queue is full; returns false
    /// when the context stopped (or the executors are gone) instead.
    fn enqueue(&self, mut job_set: JobSet) -> bool {
        loop {
            match self.sender.send_timeout(job_set, POLL) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(back)) => {
                    if self.control.hard_stop() {
                        return false;
                    }
                    job_set = back;
                }
                Err(SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }
}

fn run_executor(receiver: &Receiver<JobSet>, shared: &ExecutorShared) {
    if shared.cluster.is_some() {
        shared.rdd.bind_jobs_to_current_thread();
    }
    for job_set in receiver {
        if shared.control.hard_stop() {
            break;
        }
        let time = job_set.info.batch_time;
        if let Err(e) = run_job_set(job_set, shared) {
            if !shared.abandoned() {
                (shared.fail)(e);
            }
            break;
        }
        if let Some(cluster) = &shared.cluster {
            match agree_after_batch(shared, time) {
                Ok(Agreed::GoOn) => {}
                Ok(Agreed::Drain) => {
                    if !shared.control.told_graceful.swap(true, Ordering::SeqCst) {
                        (cluster.stop)(true);
                    }
                }
                Ok(Agreed::Stop) => {
                    shared.control.hard_stop.store(true, Ordering::SeqCst);
                    (cluster.stop)(false);
                    break;
                }
                Err(e) => {
                    (shared.fail)(e);
                    break;
                }
            }
        }
    }
}

/// What each process says in the round after a batch (cluster mode).
#[derive(serde::Serialize, serde::Deserialize)]
struct AfterBatch {
    /// It was asked to stop.
    stop: bool,
    /// The stop it was asked for is graceful.
    graceful: bool,
    /// Its inputs stopped for a graceful stop, they hold no data no batch
    /// took, and no batch after this one was generated.
    drained: bool,
    /// Its side of the two-phase checkpoint, when checkpointing.
    parts: Option<PartsVote>,
}

/// What the processes agreed after a batch.
enum Agreed {
    /// Run the next batch.
    GoOn,
    /// A graceful stop was asked for: stop the inputs (if not yet) and run
    /// batches until every process is drained.
    Drain,
    /// Stop after this batch.
    Stop,
}

/// Cluster mode, after the batch at `time`: one round in which the
/// processes agree whether to stop and which checkpoint is committed. A
/// stop any process asked for stops all after this batch; a graceful one
/// only once every process is drained. Before stopping, the parts still
/// being written are committed.
fn agree_after_batch(shared: &ExecutorShared, time: Time) -> Result<Agreed, StreamingError> {
    let control = &shared.control;
    let parts = shared.checkpointer.as_ref().and_then(|c| c.cluster());
    let drained = control.draining.load(Ordering::SeqCst) && {
        // Held: the generator cannot take input data into a new batch
        // between the two checks.
        let generated = control
            .generated
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        !shared.graph.has_unallocated_data()? && generated.is_none_or(|g| g <= time)
    };
    let mine = AfterBatch {
        stop: control.stop_requested.load(Ordering::SeqCst),
        graceful: control.graceful_requested.load(Ordering::SeqCst),
        drained,
        parts: parts.map(|p| p.vote()),
    };
    let all = shared.rdd.all_gather(Ok(mine))?;
    if let Some(parts) = parts {
        let votes: Vec<PartsVote> = all
            .iter()
            .map(|a| a.parts.clone().unwrap_or_default())
            .collect();
        if let Err(e) = parts.decide(&votes) {
            tracing::error!(error = %e, "committing a cluster checkpoint failed; the next one will be tried");
            shared.termination.report_error(e);
        }
    }
    let hard = all.iter().any(|a| a.stop && !a.graceful);
    let graceful = all.iter().any(|a| a.stop && a.graceful);
    let agreed = if hard || (graceful && all.iter().all(|a| a.drained)) {
        Agreed::Stop
    } else if graceful {
        Agreed::Drain
    } else {
        Agreed::GoOn
    };
    if matches!(agreed, Agreed::Stop)
        && let Some(checkpointer) = &shared.checkpointer
        && let Err(e) = checkpointer.commit_now(&shared.rdd)
    {
        tracing::error!(error = %e, "committing the last cluster checkpoint before stopping failed");
        shared.termination.report_error(e);
    }
    Ok(agreed)
}

/// Runs `f`, a user callback named `callback`, turning a panic into an error.
fn guarded<T>(callback: &str, f: impl FnOnce() -> T) -> Result<T, StreamingError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| StreamingError::CallbackPanicked {
        callback: callback.to_owned(),
        message: crate::panic_message(panic.as_ref()),
    })
}

/// Runs one batch's jobs and cleans up after it. Output failures are
/// reported (batches go on); a panic while cleaning up or checkpointing
/// is returned (the context stops).
fn run_job_set(job_set: JobSet, shared: &ExecutorShared) -> Result<(), StreamingError> {
    let JobSet { mut info, jobs } = job_set;
    let time = info.batch_time;
    info.processing_start = Some(Instant::now());
    shared.listeners.post(|l| l.on_batch_started(&info));
    for planned in jobs {
        if shared.abandoned() {
            return Ok(());
        }
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
        if shared.abandoned() {
            return Ok(());
        }
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
    // Cut the batch's state lineage, take the checkpoint's snapshot (if
    // it is a checkpoint time), and only then forget old RDDs: with
    // concurrent jobs the frontier may jump past this batch at once, and
    // clearing first would drop the very RDDs the snapshot saves. A batch
    // a stop abandoned does none of it (the lineage cut is checked before
    // it starts: one already under way when the stop returns only cuts
    // in-memory lineage, it changes no data and no file).
    if shared.abandoned() {
        return Ok(());
    }
    let truncated = guarded("cutting the state's lineage after a batch", || {
        shared.graph.truncate_state(time)
    })?
    .map_err(|e| {
        if !shared.abandoned() {
            tracing::error!(%time, error = %e, "cutting the state's lineage after a batch failed");
            shared.termination.report_error(e);
        }
    });
    let checkpointed = guarded(
        "checkpointing and cleaning up after a batch (InputSource::checkpoint_state, clear_metadata)",
        || {
            // Under the lock: the checkpointer and the inputs see the
            // frontier move in order.
            let mut completed = shared.completed();
            if completed.abandoned {
                return None;
            }
            let moved = completed.complete(time);
            let checkpointed = shared.checkpointer.as_ref().map_or(Ok(()), |checkpointer| {
                checkpointer.after_batch(time, completed.frontier, truncated.is_ok())
            });
            if let Some(frontier) = moved {
                shared.graph.clear_metadata(frontier);
            }
            Some(checkpointed)
        },
    )?;
    let Some(checkpointed) = checkpointed else {
        return Ok(());
    };
    if let Err(e) = checkpointed {
        tracing::error!(%time, error = %e, "writing a checkpoint failed");
        shared.termination.report_error(e);
    }
    info.processing_end = Some(Instant::now());
    shared.listeners.post(|l| l.on_batch_completed(&info));
    shared.termination.batch_completed(time);
    Ok(())
}
