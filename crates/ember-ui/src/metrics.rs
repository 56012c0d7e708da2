//! The Prometheus metrics of a [`StatusStore`](crate::StatusStore), kept in
//! a `prometheus-client` registry and rendered as text for `/metrics`. Every
//! name starts with `ember_`; per-input series carry `stream_id` and
//! `stream_name` labels.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The labels of a per-input series.
pub(crate) type StreamLabels = Vec<(&'static str, String)>;

/// The delay histograms' upper bounds, seconds: 5 ms to 5 min.
const DELAY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Every series `/metrics` shows.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) batches_completed: Counter,
    pub(crate) batches_failed: Counter,
    pub(crate) active_batches: Gauge,
    pub(crate) records_received: Family<StreamLabels, Counter>,
    pub(crate) records_processed: Family<StreamLabels, Counter>,
    pub(crate) buffered_records: Family<StreamLabels, Gauge>,
    pub(crate) buffered_bytes: Family<StreamLabels, Gauge>,
    pub(crate) receiver_restarts: Family<StreamLabels, Counter>,
    pub(crate) receiver_errors: Family<StreamLabels, Counter>,
    pub(crate) active_receivers: Gauge,
    pub(crate) scheduling_delay: Histogram,
    pub(crate) processing_time: Histogram,
    pub(crate) total_delay: Histogram,
    pub(crate) checkpoint_writes: Counter,
    pub(crate) checkpoint_failures: Counter,
    pub(crate) checkpoint_write_duration: Histogram,
    pub(crate) checkpoint_last_size: Gauge<u64, AtomicU64>,
}

fn delay_histogram() -> Histogram {
    Histogram::new(DELAY_BUCKETS)
}

impl Metrics {
    /// Registers every series, all at zero.
    pub(crate) fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("ember"),
            batches_completed: Counter::default(),
            batches_failed: Counter::default(),
            active_batches: Gauge::default(),
            records_received: Family::default(),
            records_processed: Family::default(),
            buffered_records: Family::default(),
            buffered_bytes: Family::default(),
            receiver_restarts: Family::default(),
            receiver_errors: Family::default(),
            active_receivers: Gauge::default(),
            scheduling_delay: delay_histogram(),
            processing_time: delay_histogram(),
            total_delay: delay_histogram(),
            checkpoint_writes: Counter::default(),
            checkpoint_failures: Counter::default(),
            checkpoint_write_duration: delay_histogram(),
            checkpoint_last_size: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register(
            "batches_completed",
            "Batches completed (failed ones included)",
            m.batches_completed.clone(),
        );
        r.register(
            "batches_failed",
            "Completed batches with a failed output operation",
            m.batches_failed.clone(),
        );
        r.register(
            "active_batches",
            "Batches queued or processing",
            m.active_batches.clone(),
        );
        r.register(
            "records_received",
            "Records of an input in submitted batches",
            m.records_received.clone(),
        );
        r.register(
            "records_processed",
            "Records of an input in completed batches",
            m.records_processed.clone(),
        );
        r.register(
            "buffered_records",
            "Records an input accepted that no batch took yet",
            m.buffered_records.clone(),
        );
        r.register_with_unit(
            "buffered",
            "Bytes an input accepted that no batch took yet",
            Unit::Bytes,
            m.buffered_bytes.clone(),
        );
        r.register(
            "receiver_restarts",
            "Receiver restarts",
            m.receiver_restarts.clone(),
        );
        r.register(
            "receiver_errors",
            "Errors receivers reported",
            m.receiver_errors.clone(),
        );
        r.register(
            "active_receivers",
            "Receivers running",
            m.active_receivers.clone(),
        );
        r.register_with_unit(
            "batch_scheduling_delay",
            "Batch processing start minus submission",
            Unit::Seconds,
            m.scheduling_delay.clone(),
        );
        r.register_with_unit(
            "batch_processing_time",
            "Batch processing end minus start",
            Unit::Seconds,
            m.processing_time.clone(),
        );
        r.register_with_unit(
            "batch_total_delay",
            "Batch processing end minus submission",
            Unit::Seconds,
            m.total_delay.clone(),
        );
        r.register(
            "checkpoint_writes",
            "Checkpoints written",
            m.checkpoint_writes.clone(),
        );
        r.register(
            "checkpoint_failures",
            "Checkpoint writes that failed",
            m.checkpoint_failures.clone(),
        );
        r.register_with_unit(
            "checkpoint_write_duration",
            "Time to write a checkpoint",
            Unit::Seconds,
            m.checkpoint_write_duration.clone(),
        );
        r.register_with_unit(
            "checkpoint_last_size",
            "Size of the last checkpoint written",
            Unit::Bytes,
            m.checkpoint_last_size.clone(),
        );
        m
    }

    /// The OpenMetrics text of every series (what Prometheus scrapes).
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Milliseconds as the seconds a histogram observes.
pub(crate) fn ms_to_secs(ms: u64) -> f64 {
    Duration::from_millis(ms).as_secs_f64()
}
