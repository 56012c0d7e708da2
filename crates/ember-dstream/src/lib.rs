//! The DStream engine of ember: Spark Streaming's discretized streams.
//!
//! A [`StreamingContext`] cuts input into batches every batch interval; a
//! [`DStream`] is the sequence of RDDs (one per batch) and every operation
//! on it is an operation on those RDDs. A job generator thread fires each
//! interval on the context's [`Clock`] and creates one job per output
//! operation; a scheduler runs them in order, one batch at a time by
//! default, reporting to [`StreamingListener`]s.
//!
//! ```
//! use ember_dstream::testing::run_operation;
//! let lines = vec![vec!["a b a".to_string()], vec!["b".to_string()]];
//! let counts = run_operation(lines, |lines| {
//!     lines
//!         .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
//!         .map(|w| (w, 1u64))
//!         .reduce_by_key(|a, b| a + b)
//! }, 2)?;
//! let mut first = counts[0].clone();
//! first.sort();
//! assert_eq!(first, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
//! assert_eq!(counts[1], vec![("b".to_string(), 1)]);
//! # Ok::<(), ember_dstream::StreamingError>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checkpoint;
mod checkpoint_entry;
mod checkpoint_writer;
mod clock;
#[cfg(feature = "cluster")]
mod cluster;
mod cluster_checkpoint;
mod conf;
mod context;
mod dstream;
mod error;
pub mod fused;
mod graph;
mod input;
mod listener;
mod listener_bus;
mod logging;
mod output;
mod pair;
mod queue;
mod scheduler;
mod signals;
mod state;
mod state_checkpoint;
mod stats;
pub mod testing;
mod time;
mod transform;
mod transform_many;
#[cfg(feature = "ui")]
mod ui;
mod union;
mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use conf::StreamingConf;
pub use context::{ContextState, RecoveryOptions, StopOptions, StreamingContext};
pub use dstream::{DStream, StreamResult};
pub use error::StreamingError;
pub use input::{InputEnv, InputSource};
pub use listener::{
    BatchInfo, InputErrorInfo, OutputOperationInfo, ReceiverInfo, StreamingListener,
};
pub use listener_bus::ListenerBus;
pub use output::{OutputError, format_batch};
pub use queue::InputQueue;
pub use state::{MapWithStateDStream, State, StateSpec, UpdateStateOptions};
pub use state_checkpoint::StateData;
pub use stats::{StatsReportListener, format_batch_errors, format_stats};
pub use time::{Duration, Time};

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked with a non-string payload".to_owned()
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
