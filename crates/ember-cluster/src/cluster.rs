//! [`Cluster`]: this process's membership in a running cluster, and the
//! [`Exchange`] the RDD scheduler runs its rounds over.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ember_rdd::{Exchange, ExchangeError};
use timely::communication::allocator::ProcessBuilder;
use timely::communication::allocator::thread::ThreadBuilder;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards, initialize_from};

use crate::conf::ClusterConf;
use crate::connect::connect_peers;
use crate::error::ClusterError;
use crate::panic_filter;
use crate::peer_stream::LostPeer;
use crate::worker::{self, Command, Ended, WorkerSetup};

/// This process's place in a cluster of `processes` processes connected by
/// timely dataflow; [`Exchange::all_to_all`] runs one round.
///
/// A round is a timely timestamp: each process's messages enter a timely
/// input at that time, cross an exchange channel to their receiver, and the
/// round is answered once the receiver's frontier has passed the time.
/// One timely worker runs per process, on a thread of its own; the
/// process's `-w` threads are the RDD executor's pool, not timely workers.
/// Rounds may be called from any thread, one at a time (a second caller
/// waits), in the same order on every process.
///
/// timely has no fault tolerance: when a peer dies, or stops without
/// running the round the others are in, every round (the one in flight and
/// all later ones) fails with [`ExchangeError::PeerLost`].
///
/// Call [`shutdown`](Cluster::shutdown) when the program is done: it waits
/// for every process to finish. Dropping a cluster without it waits at most
/// a second, as a program that stops on an error should.
pub struct Cluster {
    process: usize,
    processes: usize,
    connect_timeout: Duration,
    /// Requests to the worker thread.
    commands: Sender<Command>,
    /// Serializes rounds (a shutdown need not wait for one in flight).
    rounds: Mutex<()>,
    /// The worker thread, to wake it.
    worker: thread::Thread,
    /// timely's guard of the worker thread, and how the worker ended,
    /// until shutdown.
    ending: Mutex<Option<(WorkerGuards<()>, Receiver<Ended>)>>,
    /// The failure that stopped the worker, for callers after it.
    failure: Arc<Mutex<Option<ExchangeError>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("process", &self.process)
            .field("processes", &self.processes)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Joins the cluster `conf` describes: with one process, a timely
    /// worker without networking; otherwise connects to every peer (all
    /// processes must call this) within `conf.connect_timeout`.
    ///
    /// Fails with an error naming the address when this process cannot
    /// listen on its own address or a peer cannot be reached in time.
    pub fn connect(conf: &ClusterConf) -> Result<Cluster, ClusterError> {
        conf.validate()?;
        let addresses = conf.resolved_addresses()?;
        panic_filter::install();
        let lost = Arc::new(LostPeer::default());
        let (builder, comms) = if conf.processes == 1 {
            (AllocatorBuilder::Thread(ThreadBuilder), None)
        } else {
            let sockets = connect_peers(
                &addresses,
                conf.process,
                conf.connect_timeout,
                conf.keepalive,
                &lost,
            )?;
            let hooks = Hooks::default();
            let local =
                ProcessBuilder::new_typed_vector(1, hooks.refill.clone(), hooks.spill.clone());
            let (mut builders, comms) =
                initialize_networking_from_sockets(local, sockets, conf.process, 1, hooks)
                    .map_err(ClusterError::Start)?;
            let builder = builders.pop().ok_or_else(|| {
                ClusterError::Start(std::io::Error::other("timely built no allocator"))
            })?;
            (AllocatorBuilder::Tcp(builder), Some(comms))
        };
        let failure = Arc::new(Mutex::new(None));
        let setup = WorkerSetup {
            comms,
            process: conf.process,
            processes: conf.processes,
            lost,
            failure: Arc::clone(&failure),
            round_timeout: conf.round_timeout,
        };
        let (commands, requests) = mpsc::channel();
        let (end_tx, end_rx) = mpsc::channel();
        // timely builds the allocator on the worker thread it starts (named
        // `timely:work-0`); the closure runs once, there.
        let once = Mutex::new(Some((setup, requests, end_tx)));
        let guards = initialize_from(vec![builder], Box::new(()), move |allocator| {
            if let Some((setup, requests, end_tx)) = lock(&once).take() {
                let ended = worker::run(allocator, setup, requests);
                let _ = end_tx.send(ended);
            }
        })
        .map_err(|e| ClusterError::Start(std::io::Error::other(e)))?;
        let worker = guards
            .guards()
            .first()
            .map(|h| h.thread().clone())
            .ok_or_else(|| {
                ClusterError::Start(std::io::Error::other("timely started no worker"))
            })?;
        Ok(Cluster {
            process: conf.process,
            processes: conf.processes,
            connect_timeout: conf.connect_timeout,
            commands,
            rounds: Mutex::new(()),
            worker,
            ending: Mutex::new(Some((guards, end_rx))),
            failure,
        })
    }

    /// The failure that stopped the worker, or `Closed`.
    fn stopped(&self) -> ExchangeError {
        lock(&self.failure).clone().unwrap_or(ExchangeError::Closed)
    }

    /// Stops this process's part of the cluster: waits (up to the connect
    /// timeout) for every process to finish its rounds and shut down too,
    /// then joins timely's threads. Bounded when a peer is gone. Returns
    /// the loss that stopped the cluster earlier, if one did.
    pub fn shutdown(&self) -> Result<(), ClusterError> {
        self.shutdown_within(self.connect_timeout)
    }

    /// [`shutdown`](Cluster::shutdown), waiting up to `wait` for the others.
    fn shutdown_within(&self, wait: Duration) -> Result<(), ClusterError> {
        let Some((guards, ended)) = lock(&self.ending).take() else {
            return Ok(());
        };
        let deadline = Instant::now() + wait;
        // A worker that already stopped has dropped its receiver.
        let _ = self.commands.send(Command::Shutdown { deadline });
        self.worker.unpark();
        let grace = wait + Duration::from_secs(3);
        match ended.recv_timeout(grace) {
            Ok(Ended::Clean) => {
                drop(guards);
                Ok(())
            }
            Ok(Ended::TimedOut) => {
                drop(guards);
                Err(ClusterError::Exchange(ExchangeError::PeerLost {
                    process: None,
                    message: format!("the other processes did not shut down within {wait:?}"),
                }))
            }
            Ok(Ended::Failed(e)) => {
                drop(guards);
                Err(ClusterError::Exchange(e))
            }
            // The worker is stuck in timely: leave its thread behind.
            Err(_) => {
                // Joining would block: leave the thread behind.
                std::mem::forget(guards);
                Err(ClusterError::Exchange(ExchangeError::PeerLost {
                    process: None,
                    message: format!("the timely worker did not stop within {grace:?}"),
                }))
            }
        }
    }
}

impl Exchange for Cluster {
    fn process(&self) -> usize {
        self.process
    }

    fn processes(&self) -> usize {
        self.processes
    }

    fn all_to_all(&self, outgoing: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, ExchangeError> {
        if outgoing.len() != self.processes {
            return Err(ExchangeError::WrongFanOut {
                expected: self.processes,
                got: outgoing.len(),
            });
        }
        let round = lock(&self.rounds);
        let (reply, answer) = mpsc::channel();
        if self
            .commands
            .send(Command::Round { outgoing, reply })
            .is_err()
        {
            return Err(self.stopped());
        }
        self.worker.unpark();
        let result = answer.recv().unwrap_or_else(|_| Err(self.stopped()));
        drop(round);
        result
    }
}

/// How long dropping a [`Cluster`] that was not shut down waits for the
/// others: a program that stops early (an error) should not wait for the
/// rest; they see its input close and fail their next round naming it.
const DROP_WAIT: Duration = Duration::from_secs(1);

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_within(DROP_WAIT) {
            tracing::debug!(error = %e, "cluster shut down after a failure");
        }
    }
}

/// Locks `m`, ignoring poisoning (the data stays consistent: every holder
/// only sends or replaces it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
