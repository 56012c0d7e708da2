//! ember: Spark Streaming's discretized streams, natively in Rust.
//!
//! This facade re-exports the workspace crates so a user can depend on one
//! package: [`rdd`] (the RDD core), [`dstream`] (the streaming engine) and
//! [`checkpoint`] (checkpoint storage), [`ui`] (the Streaming UI, its REST API
//! and Prometheus metrics), `kafka` (the Kafka direct stream, cargo feature
//! `kafka`), plus [`testing`] (the deterministic
//! batch harness) and [`datagen`] (the shared benchmark text generator).
//! `ember::prelude::*` brings the everyday names into scope.
//!
//! ```
//! use ember::prelude::*;
//! let ctx = RddContext::local(2)?;
//! assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count()?, 3);
//! # Ok::<(), JobError>(())
//! ```

pub use ember_checkpoint as checkpoint;
/// Cluster mode on timely dataflow (cargo feature `cluster`, on by
/// default): the same program on many processes.
#[cfg(feature = "cluster")]
pub use ember_cluster as cluster;
pub use ember_dstream as dstream;
pub use ember_dstream::testing;
pub use ember_dstream::{Duration, Time};
/// The Kafka direct stream (cargo feature `kafka`, on by default).
#[cfg(feature = "kafka")]
pub use ember_kafka as kafka;
pub use ember_macros::stream;
pub use ember_rdd as rdd;
pub use ember_sources as sources;
pub use ember_ui as ui;

pub mod datagen;
pub mod feeder;

/// The everyday names: `use ember::prelude::*;`.
pub mod prelude {
    pub use ember_checkpoint::{LocalCheckpointStore, RddCheckpointExt, RddCheckpointer};
    pub use ember_dstream::{
        BatchInfo, DStream, Duration, InputQueue, StatsReportListener, StopOptions, StreamingConf,
        StreamingContext, StreamingError, StreamingListener, Time,
    };
    pub use ember_macros::stream;
    pub use ember_rdd::{
        HashPartitioner, JobError, Partitioner, Rdd, RddConf, RddContext, StorageLevel,
    };
    pub use ember_sources::prelude::*;
}
