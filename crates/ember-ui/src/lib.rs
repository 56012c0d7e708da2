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
