//! [`StatusStore`]: the thread-safe, Spark-shaped status of one streaming
//! application, fed by listener events and read by the UI server.
//!
//! It mirrors Spark's `StreamingJobProgressListener`: active batches plus at
//! most `spark.streaming.ui.retainedBatches` completed ones (the oldest batch
//! time is dropped first), receivers, checkpoint status and the lineage text.
//! Feeding takes one short mutex section and a few atomic metric updates.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::api::{
    BatchInfo, BatchStatus, CheckpointInfo, LineageInfo, OutputOperationInfo, ReceiverInfo,
    StreamingStatistics,
};
use crate::date::SparkDate;
use crate::events::{
    BatchCompleted, BatchStarted, BatchSubmitted, CheckpointFailed, CheckpointRecovered,
    CheckpointWritten, InputBufferUpdated, OutputOperationCompleted, OutputOperationDescription,
    OutputOperationStarted, ReceiverError, ReceiverStarted, ReceiverStopped, StreamingStarted,
};
use crate::metrics::{Metrics, StreamLabels, ms_to_secs};

/// Spark's default `spark.streaming.ui.retainedBatches`.
pub const DEFAULT_RETAINED_BATCHES: usize = 1000;

/// What a [`StatusStore`] is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The application's name (`spark.app.name`).
    pub app_name: String,
    /// The batch interval.
    pub batch_duration: Duration,
    /// Completed batches kept (`spark.streaming.ui.retainedBatches`).
    pub retained_batches: usize,
}

impl StoreConfig {
    /// A config with Spark's default of 1000 retained batches.
    pub fn new(app_name: impl Into<String>, batch_duration: Duration) -> StoreConfig {
        StoreConfig {
            app_name: app_name.into(),
            batch_duration,
            retained_batches: DEFAULT_RETAINED_BATCHES,
        }
    }
}

/// One output operation as fed.
#[derive(Debug, Clone)]
struct OutputOpRecord {
    name: String,
    description: String,
    start: Option<u64>,
    end: Option<u64>,
    failure: Option<String>,
}

/// One batch as fed.
#[derive(Debug, Clone)]
struct BatchRecord {
    submission: u64,
    start: Option<u64>,
    end: Option<u64>,
    inputs: Vec<(i32, u64)>,
    ops: BTreeMap<u32, OutputOpRecord>,
}

impl BatchRecord {
    fn input_size(&self) -> u64 {
        self.inputs.iter().map(|&(_, records)| records).sum()
    }

    fn records_of(&self, stream_id: i32) -> u64 {
        self.inputs
            .iter()
            .filter(|&&(id, _)| id == stream_id)
            .map(|&(_, records)| records)
            .sum()
    }

    fn scheduling_delay(&self) -> Option<u64> {
        self.start
            .map(|start| start.saturating_sub(self.submission))
    }

    fn processing_time(&self) -> Option<u64> {
        Some(self.end?.saturating_sub(self.start?))
    }

    fn total_delay(&self) -> Option<u64> {
        self.end.map(|end| end.saturating_sub(self.submission))
    }

    fn failed(&self) -> bool {
        self.ops.values().any(|op| op.failure.is_some())
    }

    fn add_op(&mut self, op: &OutputOperationDescription) -> &mut OutputOpRecord {
        self.ops.entry(op.id).or_insert_with(|| OutputOpRecord {
            name: op.name.clone(),
            description: op.description.clone(),
            start: None,
            end: None,
            failure: None,
        })
    }
}

/// One receiver as fed.
#[derive(Debug, Clone, Default)]
struct ReceiverRecord {
    name: String,
    active: bool,
    executor_id: String,
    executor_host: String,
    starts: u64,
    last_error: Option<(u64, String, String)>,
    records: u64,
}

/// Everything behind the store's mutex.
#[derive(Debug, Default)]
struct State {
    start_time_ms: u64,
    active: BTreeMap<u64, BatchRecord>,
    completed: BTreeMap<u64, BatchRecord>,
    total_completed: u64,
    total_received: u64,
    total_processed: u64,
    stream_names: BTreeMap<i32, String>,
    receivers: BTreeMap<i32, ReceiverRecord>,
    checkpoint: CheckpointInfo,
    lineage: String,
}

impl State {
    fn stream_name(&self, stream_id: i32) -> String {
        self.receivers
            .get(&stream_id)
            .map(|r| r.name.clone())
            .or_else(|| self.stream_names.get(&stream_id).cloned())
            .unwrap_or_else(|| format!("stream-{stream_id}"))
    }

    fn labels(&self, stream_id: i32) -> StreamLabels {
        vec![
            ("stream_id", stream_id.to_string()),
            ("stream_name", self.stream_name(stream_id)),
        ]
    }

    fn batch_mut(&mut self, time: u64) -> Option<&mut BatchRecord> {
        self.active.get_mut(&time)
    }

    /// Active and retained completed batches, oldest first (Spark's
    /// `retainedBatches`).
    fn retained(&self) -> impl Iterator<Item = (&u64, &BatchRecord)> {
        let mut all: Vec<_> = self.completed.iter().chain(self.active.iter()).collect();
        all.sort_by_key(|&(time, _)| *time);
        all.into_iter()
    }
}

/// The status of one streaming application, shared by the engine (which
/// feeds it through the `on_*` methods) and the [`UiServer`](crate::UiServer)
/// (which reads it). Events about unknown batches are ignored.
pub struct StatusStore {
    config: StoreConfig,
    state: Mutex<State>,
    metrics: Metrics,
}

impl std::fmt::Debug for StatusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Mean of some values, `None` when there are none.
fn mean_f64(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Integer mean of some ms values, `None` when there are none (Spark's
/// `avgTime`).
fn mean_ms(values: impl Iterator<Item = u64>) -> Option<u64> {
    let (sum, n) = values.fold((0u64, 0u64), |(s, n), v| (s.saturating_add(v), n + 1));
    (n > 0).then(|| sum / n)
}

impl StatusStore {
    /// An empty store.
    pub fn new(config: StoreConfig) -> StatusStore {
        StatusStore {
            config,
            state: Mutex::new(State::default()),
            metrics: Metrics::new(),
        }
    }

    /// What the store was created with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data that is still
        // consistent enough to show.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn batch_duration_ms(&self) -> u64 {
        u64::try_from(self.config.batch_duration.as_millis()).unwrap_or(u64::MAX)
    }

    /// Records per second of `records` in one batch interval.
    fn rate(&self, records: u64) -> Option<f64> {
        let ms = self.batch_duration_ms();
        (ms > 0).then(|| records as f64 * 1000.0 / ms as f64)
    }

    /// Names an input stream (shown in labels and for inputs without a
    /// receiver). Call before its first batch so metric labels stay stable.
    pub fn register_input_stream(&self, stream_id: i32, name: impl Into<String>) {
        self.state().stream_names.insert(stream_id, name.into());
    }

    /// Sets the pipeline's lineage text (the DStream graph's debug string).
    pub fn set_lineage(&self, lineage: impl Into<String>) {
        self.state().lineage = lineage.into();
    }

    /// `onStreamingStarted`.
    pub fn on_streaming_started(&self, event: StreamingStarted) {
        self.state().start_time_ms = event.time_ms;
    }

    /// `onBatchSubmitted`: the batch becomes QUEUED.
    pub fn on_batch_submitted(&self, event: BatchSubmitted) {
        let mut state = self.state();
        let mut record = BatchRecord {
            submission: event.submission_time_ms,
            start: None,
            end: None,
            inputs: event
                .inputs
                .iter()
                .map(|input| (input.stream_id, input.records))
                .collect(),
            ops: BTreeMap::new(),
        };
        for op in &event.output_operations {
            record.add_op(op);
        }
        for input in &event.inputs {
            state.total_received += input.records;
            if let Some(receiver) = state.receivers.get_mut(&input.stream_id) {
                receiver.records += input.records;
            }
            self.metrics
                .records_received
                .get_or_create(&state.labels(input.stream_id))
                .inc_by(input.records);
        }
        state.active.insert(event.batch_time_ms, record);
        self.metrics.active_batches.set(state.active.len() as i64);
    }

    /// `onBatchStarted`: the batch becomes PROCESSING.
    pub fn on_batch_started(&self, event: BatchStarted) {
        if let Some(batch) = self.state().batch_mut(event.batch_time_ms) {
            batch.start = Some(event.processing_start_time_ms);
        }
    }

    /// `onOutputOperationStarted`.
    pub fn on_output_operation_started(&self, event: OutputOperationStarted) {
        if let Some(batch) = self.state().batch_mut(event.batch_time_ms) {
            batch.add_op(&event.operation).start = Some(event.start_time_ms);
        }
    }

    /// `onOutputOperationCompleted`.
    pub fn on_output_operation_completed(&self, event: OutputOperationCompleted) {
        if let Some(batch) = self.state().batch_mut(event.batch_time_ms) {
            let op = batch.ops.entry(event.id).or_insert_with(|| OutputOpRecord {
                name: format!("output-{}", event.id),
                description: String::new(),
                start: None,
                end: None,
                failure: None,
            });
            op.end = Some(event.end_time_ms);
            op.failure = event.failure_reason;
        }
    }

    /// `onBatchCompleted`: the batch becomes COMPLETED; beyond
    /// `retained_batches` the oldest completed batch is dropped.
    pub fn on_batch_completed(&self, event: BatchCompleted) {
        let mut state = self.state();
        let Some(mut batch) = state.active.remove(&event.batch_time_ms) else {
            return;
        };
        batch.end = Some(event.processing_end_time_ms);
        state.total_completed += 1;
        state.total_processed += batch.input_size();
        let m = &self.metrics;
        m.batches_completed.inc();
        if batch.failed() {
            m.batches_failed.inc();
        }
        for &(stream_id, records) in &batch.inputs {
            m.records_processed
                .get_or_create(&state.labels(stream_id))
                .inc_by(records);
        }
        if let Some(delay) = batch.scheduling_delay() {
            m.scheduling_delay.observe(ms_to_secs(delay));
        }
        if let Some(time) = batch.processing_time() {
            m.processing_time.observe(ms_to_secs(time));
        }
        if let Some(delay) = batch.total_delay() {
            m.total_delay.observe(ms_to_secs(delay));
        }
        state.completed.insert(event.batch_time_ms, batch);
        while state.completed.len() > self.config.retained_batches {
            state.completed.pop_first();
        }
        m.active_batches.set(state.active.len() as i64);
    }

    /// `onReceiverStarted`; a second start of a stream id is a restart.
    pub fn on_receiver_started(&self, event: ReceiverStarted) {
        let mut state = self.state();
        let receiver = state.receivers.entry(event.stream_id).or_default();
        receiver.name = event.name;
        receiver.executor_id = event.executor_id;
        receiver.executor_host = event.executor_host;
        receiver.active = true;
        receiver.starts += 1;
        let restarted = receiver.starts > 1;
        let labels = state.labels(event.stream_id);
        if restarted {
            self.metrics.receiver_restarts.get_or_create(&labels).inc();
        }
        self.update_active_receivers(&state);
    }

    /// `onReceiverError`.
    pub fn on_receiver_error(&self, event: ReceiverError) {
        let mut state = self.state();
        let name = state.stream_name(event.stream_id);
        let receiver = state.receivers.entry(event.stream_id).or_default();
        if receiver.name.is_empty() {
            receiver.name = name;
        }
        receiver.last_error = Some((event.time_ms, event.message, event.error));
        let labels = state.labels(event.stream_id);
        self.metrics.receiver_errors.get_or_create(&labels).inc();
    }

    /// `onReceiverStopped`.
    pub fn on_receiver_stopped(&self, event: ReceiverStopped) {
        let mut state = self.state();
        if let Some(receiver) = state.receivers.get_mut(&event.stream_id) {
            receiver.active = false;
        }
        self.update_active_receivers(&state);
    }

    fn update_active_receivers(&self, state: &State) {
        let active = state.receivers.values().filter(|r| r.active).count();
        self.metrics.active_receivers.set(active as i64);
    }

    /// How much an input holds that no batch took yet (gauges).
    pub fn on_input_buffer_updated(&self, event: InputBufferUpdated) {
        let labels = self.state().labels(event.stream_id);
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.metrics
            .buffered_records
            .get_or_create(&labels)
            .set(gauge(event.records));
        self.metrics
            .buffered_bytes
            .get_or_create(&labels)
            .set(gauge(event.bytes));
    }

    /// A checkpoint was written.
    pub fn on_checkpoint_written(&self, event: CheckpointWritten) {
        let mut state = self.state();
        let cp = &mut state.checkpoint;
        cp.num_writes += 1;
        cp.last_checkpoint_time = Some(SparkDate(event.checkpoint_time_ms));
        cp.last_size_bytes = Some(event.size_bytes);
        cp.last_write_duration_ms =
            Some(u64::try_from(event.write_duration.as_millis()).unwrap_or(u64::MAX));
        self.metrics.checkpoint_writes.inc();
        self.metrics
            .checkpoint_write_duration
            .observe(event.write_duration.as_secs_f64());
        self.metrics.checkpoint_last_size.set(event.size_bytes);
    }

    /// A checkpoint write failed.
    pub fn on_checkpoint_failed(&self, event: CheckpointFailed) {
        let mut state = self.state();
        state.checkpoint.num_failures += 1;
        state.checkpoint.last_failed_checkpoint_time = Some(SparkDate(event.checkpoint_time_ms));
        state.checkpoint.last_failure = Some(event.message);
        self.metrics.checkpoint_failures.inc();
    }

    /// The context recovered from a checkpoint.
    pub fn on_checkpoint_recovered(&self, event: CheckpointRecovered) {
        let mut state = self.state();
        state.checkpoint.recovered_from_time = Some(SparkDate(event.checkpoint_time_ms));
        state.checkpoint.recovered_from_dir = Some(event.dir);
    }

    /// `/api/v1/streaming/statistics`.
    pub fn statistics(&self) -> StreamingStatistics {
        let state = self.state();
        let batches: Vec<&BatchRecord> = state.retained().map(|(_, b)| b).collect();
        let active_receivers = state.receivers.values().filter(|r| r.active).count() as u64;
        StreamingStatistics {
            start_time: SparkDate(state.start_time_ms),
            batch_duration: self.batch_duration_ms(),
            num_receivers: state.receivers.len() as u64,
            num_active_receivers: active_receivers,
            num_inactive_receivers: state.receivers.len() as u64 - active_receivers,
            num_total_completed_batches: state.total_completed,
            num_retained_completed_batches: state.completed.len() as u64,
            num_active_batches: state.active.len() as u64,
            num_processed_records: state.total_processed,
            num_received_records: state.total_received,
            avg_input_rate: mean_f64(batches.iter().filter_map(|b| self.rate(b.input_size()))),
            avg_scheduling_delay: mean_ms(batches.iter().filter_map(|b| b.scheduling_delay())),
            avg_processing_time: mean_ms(batches.iter().filter_map(|b| b.processing_time())),
            avg_total_delay: mean_ms(batches.iter().filter_map(|b| b.total_delay())),
        }
    }

    fn batch_info(&self, time: u64, batch: &BatchRecord) -> BatchInfo {
        let status = match (batch.start, batch.end) {
            (_, Some(_)) => BatchStatus::Completed,
            (Some(_), None) => BatchStatus::Processing,
            (None, None) => BatchStatus::Queued,
        };
        let ended = batch.ops.values().filter(|op| op.end.is_some());
        let failed = batch.ops.values().filter(|op| op.failure.is_some()).count() as u64;
        BatchInfo {
            batch_id: time,
            batch_time: SparkDate(time),
            status,
            batch_duration: self.batch_duration_ms(),
            input_size: batch.input_size(),
            scheduling_delay: batch.scheduling_delay(),
            processing_time: batch.processing_time(),
            total_delay: batch.total_delay(),
            num_active_output_ops: batch.ops.values().filter(|op| op.end.is_none()).count() as u64,
            num_completed_output_ops: ended.filter(|op| op.failure.is_none()).count() as u64,
            num_failed_output_ops: failed,
            num_total_output_ops: batch.ops.len() as u64,
            first_failure_reason: batch.ops.values().find_map(|op| op.failure.clone()),
            input_streams: batch.inputs.clone(),
            output_operations: batch
                .ops
                .iter()
                .map(|(&id, op)| OutputOperationInfo {
                    output_op_id: id,
                    name: op.name.clone(),
                    description: op.description.clone(),
                    start_time: op.start.map(SparkDate),
                    end_time: op.end.map(SparkDate),
                    duration: op.end.zip(op.start).map(|(e, s)| e.saturating_sub(s)),
                    failure_reason: op.failure.clone(),
                })
                .collect(),
        }
    }

    /// `/api/v1/streaming/batches`: newest first, optionally only one status,
    /// and (ember's `after`) only completed batches newer than `after` ms
    /// plus every active batch.
    pub fn batches(&self, status: Option<BatchStatus>, after: Option<u64>) -> Vec<BatchInfo> {
        let state = self.state();
        let mut batches: Vec<BatchInfo> = state
            .retained()
            .filter(|(time, batch)| batch.end.is_none() || after.is_none_or(|a| **time > a))
            .map(|(&time, batch)| self.batch_info(time, batch))
            .filter(|info| status.is_none_or(|s| info.status == s))
            .collect();
        batches.reverse();
        batches
    }

    /// `/api/v1/streaming/batches/{batchId}`: a retained batch.
    pub fn batch(&self, batch_time_ms: u64) -> Option<BatchInfo> {
        let state = self.state();
        let batch = state
            .active
            .get(&batch_time_ms)
            .or_else(|| state.completed.get(&batch_time_ms))?;
        Some(self.batch_info(batch_time_ms, batch))
    }

    /// `/api/v1/streaming/receivers`, by stream id.
    pub fn receivers(&self) -> Vec<ReceiverInfo> {
        let state = self.state();
        state
            .receivers
            .iter()
            .map(|(&stream_id, r)| {
                let event_rates: Vec<(u64, f64)> = state
                    .retained()
                    .filter_map(|(&time, b)| Some((time, self.rate(b.records_of(stream_id))?)))
                    .collect();
                ReceiverInfo {
                    stream_id,
                    stream_name: r.name.clone(),
                    is_active: r.active,
                    executor_id: r.executor_id.clone(),
                    executor_host: r.executor_host.clone(),
                    last_error_time: r.last_error.as_ref().map(|e| SparkDate(e.0)),
                    last_error: r.last_error.as_ref().map(|e| e.2.clone()),
                    last_error_message: r.last_error.as_ref().map(|e| e.1.clone()),
                    avg_event_rate: mean_f64(event_rates.iter().map(|&(_, rate)| rate)),
                    event_rates,
                    num_restarts: r.starts.saturating_sub(1),
                    num_received_records: r.records,
                }
            })
            .collect()
    }

    /// `/api/v1/streaming/checkpoint` (ember).
    pub fn checkpoint(&self) -> CheckpointInfo {
        self.state().checkpoint.clone()
    }

    /// `/api/v1/streaming/lineage` (ember).
    pub fn lineage(&self) -> LineageInfo {
        LineageInfo {
            app_name: self.config.app_name.clone(),
            lineage: self.state().lineage.clone(),
        }
    }

    /// `/metrics`: the OpenMetrics text Prometheus scrapes.
    pub fn metrics_text(&self) -> Result<String, std::fmt::Error> {
        self.metrics.render()
    }
}
