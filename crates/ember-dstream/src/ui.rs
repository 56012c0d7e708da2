//! The Streaming UI of a running context (cargo feature `ui`): a listener
//! that feeds an [`ember_ui::StatusStore`] from the context's events, and
//! the server started with the context when `spark.ui.enabled` (default
//! true) at `spark.ui.host`:`spark.ui.port`.

use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ember_ui::events::{
    BatchCompleted, BatchStarted, BatchSubmitted, CheckpointFailed, CheckpointRecovered,
    CheckpointWritten, InputBufferUpdated, InputRecords, OutputOperationCompleted,
    OutputOperationDescription, OutputOperationStarted, ReceiverError, ReceiverStarted,
    ReceiverStopped, StreamingStarted,
};
use ember_ui::{StatusStore, StoreConfig, UiConfig, UiServer};

use crate::checkpoint_writer::{CheckpointEvent, CheckpointObserver};
use crate::graph::Graph;
use crate::listener::{BatchInfo, OutputOperationInfo, ReceiverInfo, StreamingListener};
use crate::{Duration, StreamingConf, StreamingError, Time};

/// Maps the engine's monotonic instants to wall-clock epoch milliseconds.
#[derive(Debug, Clone, Copy)]
struct WallClock {
    instant: Instant,
    epoch_ms: u64,
}

impl WallClock {
    fn now() -> WallClock {
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        WallClock {
            instant: Instant::now(),
            epoch_ms,
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match at.checked_duration_since(self.instant) {
            Some(after) => self.epoch_ms.saturating_add(ms(after)),
            None => self
                .epoch_ms
                .saturating_sub(ms(self.instant.saturating_duration_since(at))),
        }
    }

    fn now_ms(&self) -> u64 {
        self.ms(Instant::now())
    }
}

/// Feeds a [`StatusStore`] from a context's listener events.
pub(crate) struct UiListener {
    store: Arc<StatusStore>,
    clock: WallClock,
    /// The inputs, asked for their buffered amounts after each batch (weak:
    /// the graph's inputs hold the listener bus that holds this).
    graph: Weak<Graph>,
}

impl UiListener {
    pub(crate) fn new(store: Arc<StatusStore>, graph: &Arc<Graph>) -> UiListener {
        UiListener {
            store,
            clock: WallClock::now(),
            graph: Arc::downgrade(graph),
        }
    }

    /// The inputs' buffered records and bytes, to the gauges.
    fn update_buffers(&self) {
        let Some(graph) = self.graph.upgrade() else {
            return;
        };
        for input in graph.input_lifecycles() {
            if let Some((records, bytes)) = input.buffered() {
                self.store.on_input_buffer_updated(InputBufferUpdated {
                    stream_id: stream_id(input.stream_id()),
                    records,
                    bytes,
                });
            }
        }
    }

    fn op_description(op: &OutputOperationInfo) -> OutputOperationDescription {
        OutputOperationDescription {
            id: u32::try_from(op.id).unwrap_or(u32::MAX),
            name: op.name.to_owned(),
            description: format!("{} (output {})", op.name, op.id),
        }
    }
}

/// A stream id as Spark's `Int`.
fn stream_id(id: usize) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
}

impl StreamingListener for UiListener {
    fn on_streaming_started(&self, _time: Time) {
        self.store.on_streaming_started(StreamingStarted {
            time_ms: self.clock.now_ms(),
        });
    }

    fn on_batch_submitted(&self, batch: &BatchInfo) {
        self.store.on_batch_submitted(BatchSubmitted {
            batch_time_ms: batch.batch_time.milliseconds(),
            submission_time_ms: self.clock.ms(batch.submission),
            inputs: batch
                .stream_records
                .iter()
                .map(|(&id, &records)| InputRecords {
                    stream_id: stream_id(id),
                    records,
                })
                .collect(),
            output_operations: batch
                .output_operations
                .iter()
                .map(Self::op_description)
                .collect(),
        });
    }

    fn on_batch_started(&self, batch: &BatchInfo) {
        let start = batch.processing_start.unwrap_or_else(Instant::now);
        self.store.on_batch_started(BatchStarted {
            batch_time_ms: batch.batch_time.milliseconds(),
            processing_start_time_ms: self.clock.ms(start),
        });
    }

    fn on_batch_completed(&self, batch: &BatchInfo) {
        let end = batch.processing_end.unwrap_or_else(Instant::now);
        self.store.on_batch_completed(BatchCompleted {
            batch_time_ms: batch.batch_time.milliseconds(),
            processing_end_time_ms: self.clock.ms(end),
        });
        self.update_buffers();
    }

    fn on_output_operation_started(&self, op: &OutputOperationInfo) {
        self.store
            .on_output_operation_started(OutputOperationStarted {
                batch_time_ms: op.batch_time.milliseconds(),
                operation: Self::op_description(op),
                start_time_ms: self.clock.ms(op.start.unwrap_or_else(Instant::now)),
            });
    }

    fn on_output_operation_completed(&self, op: &OutputOperationInfo) {
        self.store
            .on_output_operation_completed(OutputOperationCompleted {
                batch_time_ms: op.batch_time.milliseconds(),
                id: u32::try_from(op.id).unwrap_or(u32::MAX),
                end_time_ms: self.clock.ms(op.end.unwrap_or_else(Instant::now)),
                failure_reason: op.failure_reason.clone(),
            });
    }

    fn on_receiver_started(&self, receiver: &ReceiverInfo) {
        self.store.on_receiver_started(ReceiverStarted {
            stream_id: stream_id(receiver.stream_id),
            name: receiver.name.clone(),
            executor_id: "driver".to_owned(),
            executor_host: "localhost".to_owned(),
            time_ms: self.clock.now_ms(),
        });
    }

    fn on_receiver_error(&self, receiver: &ReceiverInfo) {
        let message = receiver.last_error.clone().unwrap_or_default();
        self.store.on_receiver_error(ReceiverError {
            stream_id: stream_id(receiver.stream_id),
            error: message.clone(),
            message,
            time_ms: self.clock.now_ms(),
        });
    }

    fn on_receiver_stopped(&self, receiver: &ReceiverInfo) {
        self.store.on_receiver_stopped(ReceiverStopped {
            stream_id: stream_id(receiver.stream_id),
            time_ms: self.clock.now_ms(),
        });
    }
}

impl CheckpointObserver for UiListener {
    fn on_checkpoint(&self, event: &CheckpointEvent) {
        match event {
            CheckpointEvent::Written {
                time,
                size_bytes,
                write_duration,
            } => self.store.on_checkpoint_written(CheckpointWritten {
                checkpoint_time_ms: time.milliseconds(),
                size_bytes: *size_bytes,
                write_duration: *write_duration,
            }),
            CheckpointEvent::Failed { time, message } => {
                self.store.on_checkpoint_failed(CheckpointFailed {
                    checkpoint_time_ms: time.milliseconds(),
                    message: message.clone(),
                });
            }
        }
    }
}

/// The UI of one context: its store, its listener and, once started, its
/// server.
pub(crate) struct ContextUi {
    pub(crate) listener: Arc<UiListener>,
    server: Option<UiServer>,
}

impl ContextUi {
    /// Creates the store and its listener when `spark.ui.enabled` (default
    /// true); `None` when the UI is off (then nothing is allocated).
    pub(crate) fn new(
        conf: &StreamingConf,
        batch: Duration,
        graph: &Arc<Graph>,
    ) -> Result<Option<ContextUi>, StreamingError> {
        if !conf.flag("spark.ui.enabled", true)? {
            return Ok(None);
        }
        let retained = conf.number(
            "spark.streaming.ui.retainedBatches",
            ember_ui::DEFAULT_RETAINED_BATCHES as u64,
        )?;
        let mut store_conf = StoreConfig::new(conf.app_name_str(), batch.to_std());
        store_conf.retained_batches = usize::try_from(retained).unwrap_or(usize::MAX);
        let store = Arc::new(StatusStore::new(store_conf));
        // Validated now, so that a bad key fails the context's creation.
        ui_config(conf)?;
        Ok(Some(ContextUi {
            listener: Arc::new(UiListener::new(store, graph)),
            server: None,
        }))
    }

    /// Sets the lineage and the recovery source, and starts the server;
    /// when no port is free (or binding fails otherwise) logs a warning
    /// and the context runs without a UI server.
    pub(crate) fn start(
        &mut self,
        conf: &StreamingConf,
        lineage: String,
        recovered: Option<(Time, String)>,
    ) {
        let store = &self.listener.store;
        store.set_lineage(lineage);
        if let Some(graph) = self.listener.graph.upgrade() {
            for input in graph.input_lifecycles() {
                store.register_input_stream(stream_id(input.stream_id()), input.name());
            }
        }
        if let Some((time, dir)) = recovered {
            store.on_checkpoint_recovered(CheckpointRecovered {
                checkpoint_time_ms: time.milliseconds(),
                dir,
            });
        }
        let config = match ui_config(conf) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(error = %e, "the Streaming UI is not started");
                return;
            }
        };
        match UiServer::start(config, Arc::clone(store)) {
            Ok(server) => {
                tracing::info!(
                    app = conf.app_name_str(),
                    "Streaming UI started at {}",
                    server.url()
                );
                self.server = Some(server);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the Streaming UI could not bind; running without it");
            }
        }
    }

    /// The server's URL, while it runs.
    pub(crate) fn url(&self) -> Option<String> {
        self.server.as_ref().map(UiServer::url)
    }

    /// Stops the server (after the last batch).
    pub(crate) fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
            tracing::info!("Streaming UI stopped");
        }
    }
}

/// `spark.ui.host`, `spark.ui.port`, `spark.port.maxRetries`.
fn ui_config(conf: &StreamingConf) -> Result<UiConfig, StreamingError> {
    let port = conf.number("spark.ui.port", u64::from(ember_ui::DEFAULT_PORT))?;
    let retries = conf.number(
        "spark.port.maxRetries",
        u64::from(ember_ui::DEFAULT_MAX_RETRIES),
    )?;
    let invalid = |key: &str, reason: &str| StreamingError::InvalidConf {
        key: key.to_owned(),
        value: conf.get(key).unwrap_or_default().to_owned(),
        reason: reason.to_owned(),
    };
    Ok(UiConfig {
        host: conf.get("spark.ui.host").unwrap_or("127.0.0.1").to_owned(),
        port: u16::try_from(port)
            .map_err(|_| invalid("spark.ui.port", "must be from 0 to 65535"))?,
        max_retries: u16::try_from(retries)
            .map_err(|_| invalid("spark.port.maxRetries", "must be from 0 to 65535"))?,
    })
}
