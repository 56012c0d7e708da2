//! [`ClusterError`]: why a cluster could not be joined or shut down.

use std::time::Duration;

use crate::conf::ConfError;

/// Why [`Cluster::connect`](crate::Cluster::connect) or
/// [`Cluster::shutdown`](crate::Cluster::shutdown) failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The configuration is wrong.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// This process cannot listen on its own address (taken, or not local).
    #[error("process {process} cannot listen on {address}: {source}")]
    Bind {
        /// This process.
        process: usize,
        /// Its address from the hostfile.
        address: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A peer with a lower index could not be reached in time.
    #[error("could not connect to process {process} at {address} within {timeout:?}: {last_error}")]
    Unreachable {
        /// The peer.
        process: usize,
        /// Its address.
        address: String,
        /// The connect timeout.
        timeout: Duration,
        /// The last connection error.
        last_error: String,
    },
    /// Peers with higher indices did not connect to this process in time.
    #[error("process {process} at {address}: no connection within {timeout:?} from {missing}")]
    NotConnected {
        /// This process.
        process: usize,
        /// This process's address.
        address: String,
        /// The peers that did not connect, as `process i (host:port)`.
        missing: String,
        /// The connect timeout.
        timeout: Duration,
    },
    /// Something connected that is not a peer of this cluster.
    #[error("bad handshake from {remote} on {address}: {reason}")]
    Handshake {
        /// This process's address.
        address: String,
        /// The remote end.
        remote: String,
        /// What was wrong.
        reason: String,
    },
    /// TCP keepalive could not be set on a connection to a peer.
    #[error("cannot set TCP keepalive on a connection to a peer: {0}")]
    Keepalive(#[source] std::io::Error),
    /// Starting timely's network threads or this crate's worker failed.
    #[error("cannot start the cluster's threads: {0}")]
    Start(#[source] std::io::Error),
    /// A peer was lost; the cluster stopped.
    #[error(transparent)]
    Exchange(#[from] ember_rdd::ExchangeError),
}
