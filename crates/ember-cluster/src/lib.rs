//! Cluster mode for ember: the same program on many processes and
//! machines, connected by [timely dataflow](https://docs.rs/timely).
//!
//! Every process runs the same binary and builds the same RDDs; the
//! scheduler computes the partitions a process owns and moves shuffle
//! buckets and action results in all-to-all rounds over
//! [`ember_rdd::Exchange`]. This crate provides that exchange on timely:
//! timely's cluster communication (its process/hostfile conventions, its
//! network threads), an exchange channel for the messages and its progress
//! tracking for "round `k` is complete" (a round is a timestamp; it is
//! complete once the frontier has passed it). No RPC, transport or
//! membership of our own.
//!
//! - [`ClusterConf`]: `-w/--threads`, `-n/--processes`, `-p/--process`,
//!   `-h/--hostfile` (lines `host:port`), from arguments or from
//!   `ember.cluster.*` settings.
//! - [`Cluster::connect`] joins the cluster (failing fast, naming the
//!   address, when a peer is unreachable or this process's port is taken);
//!   [`Cluster`] implements [`Exchange`](ember_rdd::Exchange).
//! - [`LocalCluster`] starts N copies of the current program on 127.0.0.1
//!   for development and tests; [`launch_or_join`] is the one-line `main`
//!   helper behind `cargo run --example … -- --processes 2`.
//!
//! On several machines, every machine runs the same program with the same
//! hostfile (one `host:port` line per process, in process order) and its
//! own index:
//!
//! ```text
//! host0$ my_program -n 2 -p 0 -w 8 -h hosts.txt --connect-timeout 60s
//! host1$ my_program -n 2 -p 1 -w 8 -h hosts.txt --connect-timeout 60s
//! ```
//!
//! On one machine, `my_program --processes 2` starts both (see
//! [`launch_or_join`]).
//!
//! One timely worker runs per process, on a thread of its own: inside a
//! process the RDD executor's rayon pool (`-w` threads) does the work, and
//! the timely worker only carries the rounds between processes.
//!
//! timely has no fault tolerance: when a process dies, the rounds of every
//! other process fail with [`ExchangeError::PeerLost`](ember_rdd::ExchangeError::PeerLost)
//! naming it (timely's network threads panic on a broken connection; this
//! crate catches that, names the peer and keeps those expected panics out
//! of the panic hook). Restart every process from the checkpoint.

mod cluster;
mod conf;
mod connect;
mod envelope;
mod error;
pub mod keepalive;
mod launch;
mod panic_filter;
mod peer_stream;
pub mod probe;
mod worker;

pub use cluster::Cluster;
pub use conf::{
    ClusterConf, ConfError, DEFAULT_BASE_PORT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEPALIVE,
};
pub use error::ClusterError;
pub use launch::{LaunchError, LocalCluster, Role, RunningCluster, launch_or_join};
