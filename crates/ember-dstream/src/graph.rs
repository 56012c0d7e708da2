//! The DStream graph: the registered output operations (and through them
//! every stream), started together, asked for each batch's jobs, and
//! cleaned after each batch.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::checkpoint::Checkpointable;
use crate::dstream::StreamInfo;
use crate::input::InputLifecycle;
use crate::{Duration, StreamingError, Time};

/// The work of one output operation for one batch.
pub(crate) type Job = Box<dyn FnOnce() -> Result<(), String> + Send>;

type GenerateFn = dyn Fn(Time) -> Result<Option<Job>, StreamingError> + Send + Sync;

/// An output operation: the stream it reads and how it makes a batch's job.
pub(crate) struct OutputOp {
    pub(crate) id: usize,
    pub(crate) name: &'static str,
    stream: Arc<dyn StreamInfo>,
    generate: Box<GenerateFn>,
}

/// A generated job, or why generating it failed.
pub(crate) struct PlannedJob {
    pub(crate) output: usize,
    pub(crate) name: &'static str,
    pub(crate) job: Result<Job, String>,
}

/// An input stream and the handle that starts and stops its source.
struct RegisteredInput {
    stream: Arc<dyn StreamInfo>,
    lifecycle: Arc<dyn InputLifecycle>,
}

#[derive(Default)]
pub(crate) struct Graph {
    outputs: Mutex<Vec<Arc<OutputOp>>>,
    inputs: Mutex<Vec<RegisteredInput>>,
    remember: Mutex<Option<Duration>>,
    checkpointables: Mutex<Vec<Arc<dyn Checkpointable>>>,
}

impl Graph {
    fn outputs(&self) -> MutexGuard<'_, Vec<Arc<OutputOp>>> {
        self.outputs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add_output(
        &self,
        name: &'static str,
        stream: Arc<dyn StreamInfo>,
        generate: impl Fn(Time) -> Result<Option<Job>, StreamingError> + Send + Sync + 'static,
    ) -> usize {
        let mut outputs = self.outputs();
        let id = outputs.len();
        outputs.push(Arc::new(OutputOp {
            id,
            name,
            stream,
            generate: Box::new(generate),
        }));
        id
    }

    /// Registers an input stream: it is generated every batch, and started
    /// and stopped with the context.
    pub(crate) fn add_input(
        &self,
        stream: Arc<dyn StreamInfo>,
        lifecycle: Arc<dyn InputLifecycle>,
    ) {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RegisteredInput { stream, lifecycle });
    }

    fn inputs(&self) -> Vec<Arc<dyn StreamInfo>> {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|input| Arc::clone(&input.stream))
            .collect()
    }

    pub(crate) fn input_lifecycles(&self) -> Vec<Arc<dyn InputLifecycle>> {
        self.inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|input| Arc::clone(&input.lifecycle))
            .collect()
    }

    /// Registers a participant of every checkpoint.
    pub(crate) fn add_checkpointable(&self, participant: Arc<dyn Checkpointable>) {
        self.checkpointables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(participant);
    }

    /// The participants of every checkpoint, in registration order: the
    /// inputs (generated every batch) and the state streams that an output
    /// reads (directly or not); a state stream no output reads is never
    /// generated and has nothing to save.
    pub(crate) fn checkpointables(&self) -> Vec<Arc<dyn Checkpointable>> {
        let live: HashSet<usize> = self
            .streams()
            .iter()
            .chain(self.inputs().iter())
            .map(|s| s.id())
            .collect();
        self.checkpointables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|c| live.contains(&c.stream_id()))
            .cloned()
            .collect()
    }

    /// One line per output operation, in declaration order.
    pub(crate) fn output_descriptions(&self) -> Vec<String> {
        self.outputs()
            .iter()
            .map(|op| format!("output {}: {} of stream {}", op.id, op.name, op.stream.id()))
            .collect()
    }

    pub(crate) fn num_outputs(&self) -> usize {
        self.outputs().len()
    }

    pub(crate) fn set_remember(&self, d: Duration) {
        let mut remember = self.remember.lock().unwrap_or_else(PoisonError::into_inner);
        *remember = Some(remember.map_or(d, |r| r.max(d)));
    }

    /// Every stream reachable from the outputs, once each.
    pub(crate) fn streams(&self) -> Vec<Arc<dyn StreamInfo>> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Arc<dyn StreamInfo>> = self
            .outputs()
            .iter()
            .map(|op| Arc::clone(&op.stream))
            .collect();
        let mut all = Vec::new();
        while let Some(stream) = stack.pop() {
            if seen.insert(stream.id()) {
                stack.extend(stream.parents());
                all.push(stream);
            }
        }
        all
    }

    /// Fixes every stream's zero time and remember durations.
    pub(crate) fn start(&self, zero_time: Time) {
        for stream in self.streams() {
            stream.initialize(zero_time);
        }
        let remember = self
            .remember
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or(Duration::ZERO);
        let outputs: Vec<Arc<OutputOp>> = self.outputs().clone();
        for op in outputs {
            op.stream.remember(remember);
        }
    }

    /// One job per output operation that has an RDD at `time`, in
    /// declaration order. A panic while generating an output's job is
    /// caught and reported as that job's failure; an input that fails or
    /// panics while generating its batch is an error (the context stops:
    /// a batch without its input's data must not look complete).
    pub(crate) fn generate_jobs(&self, time: Time) -> Result<Vec<PlannedJob>, StreamingError> {
        for input in self.inputs() {
            let failure = match catch_unwind(AssertUnwindSafe(|| input.generate(time))) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(panic) => Some(format!(
                    "panicked: {}",
                    crate::panic_message(panic.as_ref())
                )),
            };
            if let Some(message) = failure {
                return Err(StreamingError::InputFailed {
                    name: input.name(),
                    time,
                    message,
                });
            }
        }
        let outputs: Vec<Arc<OutputOp>> = self.outputs().clone();
        Ok(outputs
            .iter()
            .filter_map(|op| {
                let generated = catch_unwind(AssertUnwindSafe(|| (op.generate)(time)));
                let job = match generated {
                    Ok(Ok(Some(job))) => Ok(job),
                    Ok(Ok(None)) => return None,
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(panic) => Err(crate::panic_message(panic.as_ref())),
                };
                Some(PlannedJob {
                    output: op.id,
                    name: op.name,
                    job,
                })
            })
            .collect())
    }

    /// Whether any input holds data no generated batch has taken yet (a
    /// panic in an input's answer is an error).
    pub(crate) fn has_unallocated_data(&self) -> Result<bool, StreamingError> {
        for input in self.input_lifecycles() {
            match catch_unwind(AssertUnwindSafe(|| input.has_unallocated_data())) {
                Ok(false) => {}
                Ok(true) => return Ok(true),
                Err(panic) => {
                    return Err(StreamingError::CallbackPanicked {
                        callback: format!("InputSource::has_unallocated_data of {}", input.name()),
                        message: crate::panic_message(panic.as_ref()),
                    });
                }
            }
        }
        Ok(false)
    }

    /// Stops every input (see [`stop_input`]).
    pub(crate) fn stop_inputs(&self) {
        for input in self.input_lifecycles() {
            stop_input(input.as_ref());
        }
    }

    /// After batch `time` completed: cuts the lineage of its state RDDs.
    pub(crate) fn truncate_state(&self, time: Time) -> Result<(), StreamingError> {
        self.streams()
            .iter()
            .try_for_each(|stream| stream.truncate_state(time))
    }

    /// Every batch at and below `frontier` completed: forgets the RDDs and
    /// input metadata only batches before it needed. Never called with a
    /// batch still running at or below it (with concurrent jobs a later
    /// batch may complete first; clearing by its time would drop RDDs the
    /// running batch's state and checkpoint still read).
    pub(crate) fn clear_metadata(&self, frontier: Time) {
        for stream in &self.streams() {
            stream.clear_metadata(frontier);
        }
        for input in self.input_lifecycles() {
            input.clear_metadata(frontier);
        }
    }
}

/// Stops an input; a panicking `stop` is logged (the input is being
/// stopped anyway, and the stop must go on with the others).
pub(crate) fn stop_input(input: &dyn InputLifecycle) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| input.stop())) {
        let message = crate::panic_message(panic.as_ref());
        tracing::error!(input = input.name(), %message, "stopping an input panicked");
    }
}
