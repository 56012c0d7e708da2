//! The JSON shapes of the streaming REST API, field for field Spark's
//! `org.apache.spark.status.api.v1.streaming` classes (absent options are
//! omitted, as Spark's writer does), plus ember's checkpoint and lineage views.

use serde::Serialize;

use crate::date::SparkDate;

/// `/api/v1/streaming/statistics` (Spark's `StreamingStatistics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamingStatistics {
    /// When the context started.
    pub start_time: SparkDate,
    /// The batch interval in ms.
    pub batch_duration: u64,
    /// Receivers known.
    pub num_receivers: u64,
    /// Receivers running.
    pub num_active_receivers: u64,
    /// Receivers stopped.
    pub num_inactive_receivers: u64,
    /// Batches completed since the start.
    pub num_total_completed_batches: u64,
    /// Completed batches the store still holds.
    pub num_retained_completed_batches: u64,
    /// Batches queued or processing.
    pub num_active_batches: u64,
    /// Records of all completed batches.
    pub num_processed_records: u64,
    /// Records of all submitted batches.
    pub num_received_records: u64,
    /// Mean records per second over the retained batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_input_rate: Option<f64>,
    /// Mean scheduling delay (ms) over the retained batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_scheduling_delay: Option<u64>,
    /// Mean processing time (ms) over the retained batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_processing_time: Option<u64>,
    /// Mean total delay (ms) over the retained batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_total_delay: Option<u64>,
}

/// A batch's status as Spark names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BatchStatus {
    /// Submitted, not started.
    Queued,
    /// Started, not completed.
    Processing,
    /// Every output operation ended (failed ones included).
    Completed,
}

impl BatchStatus {
    /// Parses Spark's `?status=` value (case-insensitive).
    pub fn parse(text: &str) -> Option<BatchStatus> {
        match text.to_ascii_uppercase().as_str() {
            "QUEUED" => Some(BatchStatus::Queued),
            "PROCESSING" => Some(BatchStatus::Processing),
            "COMPLETED" => Some(BatchStatus::Completed),
            _ => None,
        }
    }
}

/// One batch (Spark's `BatchInfo`) with its output operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// The batch time in ms (Spark uses it as the id).
    pub batch_id: u64,
    /// The batch time.
    pub batch_time: SparkDate,
    /// Its status.
    pub status: BatchStatus,
    /// The batch interval in ms.
    pub batch_duration: u64,
    /// Records of all inputs in the batch.
    pub input_size: u64,
    /// Processing start minus submission, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_delay: Option<u64>,
    /// Processing end minus start, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<u64>,
    /// Processing end minus submission, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_delay: Option<u64>,
    /// Output operations not ended.
    pub num_active_output_ops: u64,
    /// Output operations ended without failure.
    pub num_completed_output_ops: u64,
    /// Output operations that failed.
    pub num_failed_output_ops: u64,
    /// All output operations.
    pub num_total_output_ops: u64,
    /// The failure of the first failed output operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure_reason: Option<String>,
    /// The records per input stream, `[streamId, records]` (ember).
    pub input_streams: Vec<(i32, u64)>,
    /// The output operations, by id.
    pub output_operations: Vec<OutputOperationInfo>,
}

/// One output operation of a batch (Spark's `OutputOperationInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputOperationInfo {
    /// Its id within the batch.
    pub output_op_id: u32,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// When it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<SparkDate>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<SparkDate>,
    /// End minus start, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// One receiver (Spark's `ReceiverInfo`, plus ember's restart and record
/// counts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverInfo {
    /// Its input stream id.
    pub stream_id: i32,
    /// Its name.
    pub stream_name: String,
    /// Whether it runs now.
    pub is_active: bool,
    /// Where it runs.
    pub executor_id: String,
    /// The host it runs on.
    pub executor_host: String,
    /// When it last reported an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_time: Option<SparkDate>,
    /// The full text of its last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The message of its last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    /// Mean records per second over the retained batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_event_rate: Option<f64>,
    /// `[batchTime ms, records per second]` over the retained batches.
    pub event_rates: Vec<(u64, f64)>,
    /// Times it was restarted (ember).
    pub num_restarts: u64,
    /// Records of its stream in all submitted batches (ember).
    pub num_received_records: u64,
}

/// `/api/v1/streaming/checkpoint` (ember).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    /// Checkpoints written since the start.
    pub num_writes: u64,
    /// Checkpoint writes that failed since the start.
    pub num_failures: u64,
    /// The batch time of the last checkpoint written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_checkpoint_time: Option<SparkDate>,
    /// Its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_size_bytes: Option<u64>,
    /// How long writing it took, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_write_duration_ms: Option<u64>,
    /// The batch time of the last checkpoint that failed to be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failed_checkpoint_time: Option<SparkDate>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// The batch time of the checkpoint the context recovered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_from_time: Option<SparkDate>,
    /// The directory it recovered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_from_dir: Option<String>,
}

/// `/api/v1/streaming/lineage` (ember).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageInfo {
    /// The application's name.
    pub app_name: String,
    /// The DStream graph's `to_debug_string`, empty until set.
    pub lineage: String,
}
