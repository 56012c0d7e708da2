//! ember's Streaming UI: the Spark-shaped status of a running application
//! ([`StatusStore`], fed with the listener events of [`events`]), Spark's
//! streaming REST API, a live page and Prometheus `/metrics`, served by
//! [`UiServer`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ember_ui::{StatusStore, StoreConfig, UiConfig, UiServer};
//!
//! let store = Arc::new(StatusStore::new(StoreConfig::new("app", Duration::from_secs(1))));
//! let server = UiServer::start(UiConfig { port: 0, ..UiConfig::default() }, store)?;
//! println!("Streaming UI at {}", server.url());
//! server.stop();
//! # Ok::<(), ember_ui::UiError>(())
//! ```
//!
//! Endpoints (GET; JSON with Spark's field names and dates, absent values
//! omitted):
//! - `/`: the live page (charts of input rate, scheduling delay, processing
//!   time and total delay per batch; active and completed batches; receivers;
//!   checkpoint; lineage), polling the API every second;
//! - `/api/v1/streaming/statistics`, `/batches` (`?status=QUEUED|PROCESSING|
//!   COMPLETED`, ember's `?after=<ms>`), `/batches/{batchTime ms}`,
//!   `/batches/{batchTime ms}/operations`, `/receivers`, `/receivers/{id}`:
//!   Spark's streaming REST API;
//! - `/api/v1/streaming/checkpoint`, `/api/v1/streaming/lineage`: ember's;
//! - `/metrics`: Prometheus (OpenMetrics text), every series `ember_*`.
//!
//! This crate depends on no other ember crate: the engine translates its own
//! listener events into the structs of [`events`].

mod api;
mod date;
mod error;
pub mod events;
mod metrics;
mod routes;
mod server;
mod store;

pub use api::{
    BatchInfo, BatchStatus, CheckpointInfo, LineageInfo, OutputOperationInfo, ReceiverInfo,
    StreamingStatistics,
};
pub use date::{SparkDate, format_spark_date};
pub use error::UiError;
pub use server::{DEFAULT_MAX_RETRIES, DEFAULT_PORT, UiConfig, UiServer};
pub use store::{DEFAULT_RETAINED_BATCHES, StatusStore, StoreConfig};
