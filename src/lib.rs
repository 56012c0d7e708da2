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
//! Every input of a [`StreamingContext`](dstream::StreamingContext):
//!
//! | input | method | defined by |
//! |---|---|---|
//! | a TCP socket, one line a record | `ssc.socket_text_stream(host, port)` | [`sources::receiver::ReceiverStreams`] |
//! | a TCP socket, your framing | `ssc.socket_stream(host, port, converter)` | [`sources::receiver::ReceiverStreams`] |
//! | a custom receiver | `ssc.receiver_stream(receiver)` ([`sources::receiver::Receiver`]) | [`sources::receiver::ReceiverStreams`] |
//! | new files in a directory | `ssc.text_file_stream(dir)`, `ssc.file_stream(dir, options)` | [`sources::file::FileStreams`] |
//! | Kafka topics | `kafka::KafkaStreams::create_direct_stream(&ssc, strategy, options)` | `ember::kafka` (feature `kafka`) |
//! | batches pushed by the program | [`ssc.queue_stream(queue, one_at_a_time)`](dstream::StreamingContext::queue_stream) | [`dstream`] |
//! | any [`InputSource`](dstream::InputSource) | [`ssc.input_stream(source)`](dstream::StreamingContext::input_stream) | [`dstream`] |
//!
//! The two traits are in `ember::prelude::*`; without the prelude,
//! `use ember::sources::prelude::*;`.
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
