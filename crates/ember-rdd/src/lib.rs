//! The RDD core of ember: resilient distributed datasets on one machine.
//!
//! An [`Rdd`] is a partitioned, immutable collection that remembers its
//! lineage. Transformations are lazy; an action runs a job, which the
//! scheduler cuts into stages at shuffle boundaries and whose tasks the
//! [`Executor`] (a rayon pool by default) runs in parallel. Narrow
//! operations pipeline inside a partition as one iterator chain; shuffles
//! combine on the map side where the operation allows. This crate knows
//! nothing of streams: a user may depend on it alone for batch work.
//!
//! ```
//! use ember_rdd::RddContext;
//!
//! let ctx = RddContext::local(2)?;
//! let lines = ctx.parallelize(vec!["a rose is".to_owned(), "a rose".to_owned()], 2);
//! let mut counts = lines
//!     .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
//!     .map(|w| (w, 1u64))
//!     .reduce_by_key(|a, b| a + b)
//!     .collect()?;
//! counts.sort();
//! assert_eq!(counts, vec![("a".into(), 2), ("is".into(), 1), ("rose".into(), 2)]);
//! # Ok::<(), ember_rdd::JobError>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod actions;
mod chunks;
mod cluster_round;
mod cogroup;
mod cogroup_many;
mod combine;
mod conf;
mod context;
mod dependency;
mod driver;
mod error;
mod exchange;
mod executor;
mod lent;
mod lineage;
mod local_iterator;
mod metrics;
mod narrow;
mod numeric;
mod ordering;
mod pair;
mod pair_actions;
mod partitioner;
mod partitioning;
mod placed;
mod rdd;
mod sampling;
mod save;
mod scheduler;
mod set_ops;
mod shuffle;
mod sort;
mod source;
mod stat_counter;
mod storage;
mod task;
pub mod text;
mod text_file;
mod tree;
mod union;
mod zip;

pub use conf::{RddConf, parse_master};
pub use context::RddContext;
pub use dependency::{Dependency, RddInfo, ShuffleDependency};
pub use error::JobError;
pub use exchange::{Exchange, ExchangeError, partition_owner};
pub use executor::{Executor, LocalExecutor};
pub use lent::{LentLines, SharedStrings};
pub use local_iterator::LocalIterator;
pub use metrics::MetricsSnapshot;
pub use numeric::Numeric;
pub use partitioner::{HashPartitioner, Partitioner, RangePartitioner};
pub use placed::deal_over_own_partitions;
pub use rdd::{BoxIter, Data, Rdd, RddCompute, TaskResult};
pub use stat_counter::StatCounter;
pub use storage::{BlockId, BlockManager, StorageLevel};
pub use task::TaskContext;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
