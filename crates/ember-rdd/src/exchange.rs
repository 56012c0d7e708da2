//! The seam to other processes: [`Exchange`], the all-to-all rounds a
//! cluster transport provides, and [`partition_owner`], which process
//! computes which partition.
//!
//! A context without an exchange is local: it computes every partition
//! itself. With one, the program runs SPMD: every process builds the same
//! RDDs, computes the partitions it owns, sends each shuffle's buckets to
//! the owners of their reduce partitions and gathers action results, one
//! all-to-all round each, in the same order on every process. This crate
//! knows nothing of the transport; `ember-cluster` provides one on timely
//! dataflow.

/// The process that computes partition `partition` of any RDD in a cluster
/// of `processes` processes: partitions are dealt round-robin.
///
/// ```
/// use ember_rdd::partition_owner;
/// assert_eq!(partition_owner(5, 2), 1);
/// assert_eq!(partition_owner(5, 1), 0);
/// ```
pub fn partition_owner(partition: usize, processes: usize) -> usize {
    partition % processes.max(1)
}

/// The transport between the processes of a cluster, as the scheduler uses
/// it: rounds in which every process sends one message to every process
/// (itself included) and receives one from each.
///
/// Every process calls [`all_to_all`](Exchange::all_to_all) the same number
/// of times in the same order (the program is SPMD); round `k` of one
/// process meets round `k` of the others. A round returns once every
/// process's message for this one has arrived.
pub trait Exchange: Send + Sync {
    /// This process's index in `0..processes()`; process 0 plays Spark's
    /// driver for outputs that gather.
    fn process(&self) -> usize;

    /// How many processes run the program.
    fn processes(&self) -> usize;

    /// One round: `outgoing[q]` goes to process `q` (`outgoing.len()` is
    /// `processes()`); returns the messages every process sent to this
    /// one, indexed by sender.
    fn all_to_all(&self, outgoing: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, ExchangeError>;
}

/// Why a round of an [`Exchange`] could not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// A process of the cluster stopped or its connection broke: the
    /// cluster cannot go on (timely has no fault tolerance; restart every
    /// process from the checkpoint).
    #[error("lost the connection to process {}: {message}", peer_name(*.process))]
    PeerLost {
        /// The process, when the transport can tell.
        process: Option<usize>,
        /// What the transport reported.
        message: String,
    },
    /// The exchange was shut down (the context stopped).
    #[error("the cluster exchange is shut down")]
    Closed,
    /// A round was called with a message count other than the number of
    /// processes.
    #[error("a round needs one message per process ({expected}), got {got}")]
    WrongFanOut {
        /// The number of processes.
        expected: usize,
        /// The number of messages given.
        got: usize,
    },
}

/// A peer's index, or `?` when the transport could not tell which.
fn peer_name(process: Option<usize>) -> String {
    process.map_or_else(|| "?".to_owned(), |p| p.to_string())
}
