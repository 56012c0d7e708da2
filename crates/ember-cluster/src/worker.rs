//! The thread that owns this process's timely worker: it turns each
//! requested round into records at one timestamp of a timely input, routes
//! them through an exchange channel to the receiving process, and answers
//! the round once the frontier has passed its timestamp (timely's progress
//! tracking says every process's message for it has arrived).
//!
//! With a round timeout, every process's worker also sends a heartbeat to
//! every other process a few times per timeout, through a dataflow of its
//! own (the worker thread runs beside the computation, so a live process
//! beats even while it computes a long stage); a round still incomplete
//! after the timeout fails naming the peers not heard from recently (stuck
//! or stopped), or else those whose message has not arrived (alive, but
//! slower than the timeout).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ember_rdd::ExchangeError;
use timely::WorkerConfig;
use timely::communication::Allocator;
use timely::communication::allocator::zero_copy::initialize::CommsGuard;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::channels::pact::Exchange as ExchangePact;
use timely::dataflow::operators::Input;
use timely::dataflow::operators::generic::operator::Operator;
use timely::worker::Worker;

use crate::envelope::{Envelope, Payload};
use crate::panic_filter::{TEARDOWN_THREAD, payload_text};
use crate::peer_stream::LostPeer;

/// How long the worker parks at most when idle, to notice shutdown.
const IDLE_PARK: Duration = Duration::from_millis(100);

/// The timely input the rounds' messages enter at their round's time.
type RoundInput = InputHandle<u64, CapacityContainerBuilder<Vec<Envelope>>>;

/// Rounds whose time the frontier has passed, oldest first, with the
/// message from each process (`None`: none arrived).
type Completed = Rc<RefCell<VecDeque<(u64, Vec<Option<Vec<u8>>>)>>>;

/// Rounds not yet complete: the messages arrived so far, by sender.
type Arrived = Rc<RefCell<BTreeMap<u64, Vec<Option<Vec<u8>>>>>>;

/// When each process's last heartbeat arrived.
type Heard = Rc<RefCell<Vec<Option<Instant>>>>;

/// Heartbeats sent per round timeout.
const BEATS_PER_TIMEOUT: u32 = 4;

/// How long a stopped worker waits for timely's network threads to end.
const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// What a round's caller gets back.
pub(crate) type RoundReply = Result<Vec<Vec<u8>>, ExchangeError>;

/// A request to the worker thread.
pub(crate) enum Command {
    /// Run the next round with these messages (indexed by receiver).
    Round {
        /// `outgoing[q]` goes to process `q`.
        outgoing: Vec<Vec<u8>>,
        /// Where the answer goes.
        reply: Sender<RoundReply>,
    },
    /// Close the input and stop once every process has, or at `deadline`.
    Shutdown {
        /// When to stop waiting for the other processes.
        deadline: Instant,
    },
}

/// How the worker ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Every process closed its input: the dataflow completed.
    Clean,
    /// The other processes did not finish by the deadline.
    TimedOut,
    /// The cluster failed (a peer was lost).
    Failed(ExchangeError),
}

/// Everything the worker thread needs, built on the caller's thread.
pub(crate) struct WorkerSetup {
    /// timely's network threads, joined at the end.
    pub(crate) comms: Option<CommsGuard>,
    /// This process's index.
    pub(crate) process: usize,
    /// The process count.
    pub(crate) processes: usize,
    /// The first broken connection, to name the lost peer.
    pub(crate) lost: Arc<LostPeer>,
    /// Where a failure is kept for callers that come after it.
    pub(crate) failure: Arc<Mutex<Option<ExchangeError>>>,
    /// How long a round may wait for the other processes' messages.
    pub(crate) round_timeout: Option<Duration>,
}

/// The worker thread's body: serves `commands` until shutdown or failure.
/// `allocator` is timely's, built on this thread (it is not `Send`).
pub(crate) fn run(allocator: Allocator, setup: WorkerSetup, commands: Receiver<Command>) -> Ended {
    let WorkerSetup {
        comms,
        process,
        processes,
        lost,
        failure,
        round_timeout,
    } = setup;
    let config = WorkerConfig::default().idle_spin(Duration::from_micros(50));
    let mut worker = Worker::new(config, allocator, Some(Instant::now()));
    let done: Completed = Rc::default();
    let sink_done = Rc::clone(&done);
    let pending: Arrived = Rc::default();
    let sink_pending = Rc::clone(&pending);
    let input = worker.dataflow::<u64, _, _>(move |scope| {
        let (input, stream) = scope.new_input::<Vec<Envelope>>();
        stream.sink(
            ExchangePact::new(|e: &Envelope| e.to as u64),
            "ember-all-to-all",
            move |(input, frontier)| {
                let mut arrived = sink_pending.borrow_mut();
                input.for_each(|time, data| {
                    let slots = arrived
                        .entry(time.least().copied().unwrap_or_default())
                        .or_insert_with(|| vec![None; processes]);
                    for envelope in data.drain(..) {
                        if let Some(slot) = slots.get_mut(envelope.from) {
                            *slot = Some(envelope.payload.0);
                        }
                    }
                });
                // A round is complete once the frontier has passed its time.
                while let Some(entry) = arrived.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (round, slots) = entry.remove_entry();
                    sink_done.borrow_mut().push_back((round, slots));
                }
            },
        );
        input
    });
    let heard: Heard = Rc::new(RefCell::new(vec![None; processes]));
    let beats = round_timeout.map(|_| {
        let heard = Rc::clone(&heard);
        worker.dataflow::<u64, _, _>(move |scope| {
            let (input, stream) = scope.new_input::<Vec<Envelope>>();
            stream.sink(
                ExchangePact::new(|e: &Envelope| e.to as u64),
                "ember-heartbeat",
                move |(input, _)| {
                    input.for_each(|_, data| {
                        let mut heard = heard.borrow_mut();
                        for envelope in data.drain(..) {
                            if let Some(slot) = heard.get_mut(envelope.from) {
                                *slot = Some(Instant::now());
                            }
                        }
                    });
                },
            );
            input
        })
    });
    let mut state = Serving {
        input: Some(input),
        beats,
        last_beat: None,
        next_round: 0,
        waiting: VecDeque::new(),
        deadline: None,
        process,
        processes,
    };
    let ended = loop {
        // Sending a round's messages and stepping the worker both write to
        // timely's queues, which panic once a peer's connection broke.
        let stepped = catch_unwind(AssertUnwindSafe(|| {
            state.take_commands(&commands);
            if state.input.is_none() && !worker.has_dataflows() {
                return Some(Ended::Clean);
            }
            if state.deadline.is_some_and(|d| Instant::now() >= d) {
                return Some(Ended::TimedOut);
            }
            worker.step_or_park(Some(IDLE_PARK));
            None
        }));
        match stepped {
            Ok(Some(ended)) => break ended,
            Ok(None) => {}
            Err(panic) => {
                let error = match lost.first() {
                    Some((peer, message)) => ExchangeError::PeerLost {
                        process: Some(peer),
                        message,
                    },
                    None => ExchangeError::PeerLost {
                        process: None,
                        message: payload_text(panic.as_ref()),
                    },
                };
                break Ended::Failed(error);
            }
        }
        if let Err(error) = state.deliver(&done, &lost) {
            break Ended::Failed(error);
        }
        if let Some(timeout) = round_timeout {
            let beat = catch_unwind(AssertUnwindSafe(|| state.beat(timeout)));
            if beat.is_err() {
                // A broken connection: the next step reports it.
                continue;
            }
            if let Some(error) = state.overdue(timeout, &pending.borrow(), &heard.borrow()) {
                break Ended::Failed(error);
            }
        }
    };
    let error = match &ended {
        Ended::Failed(e) => e.clone(),
        Ended::Clean | Ended::TimedOut => ExchangeError::Closed,
    };
    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
    for (_, reply, _) in state.waiting.drain(..) {
        let _ = reply.send(Err(error.clone()));
    }
    let inputs = [state.input.take(), state.beats.take()];
    teardown(worker, inputs, comms, &ended);
    ended
}

/// The worker's bookkeeping between steps.
struct Serving {
    /// The rounds' input; `None` once shutdown began.
    input: Option<RoundInput>,
    /// The heartbeats' input (with a round timeout); `None` once shutdown
    /// began.
    beats: Option<RoundInput>,
    /// When the last heartbeat went out.
    last_beat: Option<Instant>,
    /// The timestamp of the next round.
    next_round: u64,
    /// Rounds sent and not yet complete, oldest first, with when each
    /// was sent.
    waiting: VecDeque<(u64, Sender<RoundReply>, Instant)>,
    /// When to give up waiting for the other processes to finish.
    deadline: Option<Instant>,
    /// This process.
    process: usize,
    /// The process count.
    processes: usize,
}

impl Serving {
    /// Takes every pending command.
    fn take_commands(&mut self, commands: &Receiver<Command>) {
        loop {
            match commands.try_recv() {
                Ok(Command::Round { outgoing, reply }) => {
                    let Some(input) = self.input.as_mut() else {
                        let _ = reply.send(Err(ExchangeError::Closed));
                        continue;
                    };
                    for (to, bytes) in outgoing.into_iter().enumerate() {
                        input.send(Envelope {
                            to,
                            from: self.process,
                            payload: Payload(bytes),
                        });
                    }
                    let round = self.next_round;
                    self.next_round += 1;
                    input.advance_to(self.next_round);
                    self.waiting.push_back((round, reply, Instant::now()));
                }
                Ok(Command::Shutdown { deadline }) => {
                    self.input = None;
                    self.beats = None;
                    self.deadline = Some(deadline);
                }
                Err(TryRecvError::Empty) => return,
                // The cluster handle is gone without a shutdown.
                Err(TryRecvError::Disconnected) => {
                    if self.deadline.is_none() {
                        self.input = None;
                        self.beats = None;
                        self.deadline = Some(Instant::now() + IDLE_PARK * 10);
                    }
                    return;
                }
            }
        }
    }

    /// Answers the rounds the sink completed.
    fn deliver(&mut self, done: &Completed, lost: &LostPeer) -> Result<(), ExchangeError> {
        while let Some((round, slots)) = done.borrow_mut().pop_front() {
            let Some((expected, reply, _)) = self.waiting.pop_front() else {
                if self.input.is_none() {
                    // Shutting down: the others' rounds complete here too,
                    // without this process's message; nobody waits for them.
                    continue;
                }
                return Err(ExchangeError::PeerLost {
                    process: None,
                    message: format!("round {round} arrived before this process started it"),
                });
            };
            if round != expected {
                return Err(ExchangeError::PeerLost {
                    process: None,
                    message: format!("round {round} completed while waiting for {expected}"),
                });
            }
            let mut messages = Vec::with_capacity(slots.len());
            for (from, slot) in slots.into_iter().enumerate() {
                match slot {
                    Some(bytes) => messages.push(bytes),
                    // A process stopped without this round: name the broken
                    // connection if one broke (the loss that started it).
                    None => {
                        let (process, message) = lost.first().unwrap_or_else(|| {
                            (
                                from,
                                format!("no message from process {from} in round {round}"),
                            )
                        });
                        return Err(ExchangeError::PeerLost {
                            process: Some(process),
                            message,
                        });
                    }
                }
            }
            let _ = reply.send(Ok(messages));
        }
        Ok(())
    }

    /// Sends a heartbeat to every other process if the last went out a
    /// [`BEATS_PER_TIMEOUT`]th of `timeout` ago or more.
    fn beat(&mut self, timeout: Duration) {
        let Some(beats) = self.beats.as_mut() else {
            return;
        };
        if self
            .last_beat
            .is_some_and(|last| last.elapsed() < timeout / BEATS_PER_TIMEOUT)
        {
            return;
        }
        for to in (0..self.processes).filter(|&p| p != self.process) {
            beats.send(Envelope {
                to,
                from: self.process,
                payload: Payload(Vec::new()),
            });
        }
        // A new time flushes the exchange's buffers (and wakes the sink).
        let next = *beats.time() + 1;
        beats.advance_to(next);
        self.last_beat = Some(Instant::now());
    }

    /// The error for the oldest round if it has waited longer than
    /// `timeout`. It names the peers whose last heartbeat (`heard`) is
    /// older than half the timeout: stuck or stopped; if every peer beats,
    /// those whose message has not arrived (`arrived` holds the messages of
    /// incomplete rounds): alive, but slower than the timeout.
    fn overdue(
        &self,
        timeout: Duration,
        arrived: &BTreeMap<u64, Vec<Option<Vec<u8>>>>,
        heard: &[Option<Instant>],
    ) -> Option<ExchangeError> {
        let (round, _, sent) = self.waiting.front()?;
        if sent.elapsed() < timeout {
            return None;
        }
        let peers = || (0..self.processes).filter(|&p| p != self.process);
        let mute: Vec<usize> = peers()
            .filter(|&p| heard[p].is_none_or(|at| at.elapsed() > timeout / 2))
            .collect();
        let missing: Vec<usize> = peers()
            .filter(|&p| arrived.get(round).is_none_or(|slots| slots[p].is_none()))
            .collect();
        let list = |ps: &[usize]| {
            ps.iter()
                .map(|p| format!("process {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (process, message) = if let Some(&first) = mute.first() {
            (
                Some(first),
                format!(
                    "round {round} waited {timeout:?} (the round timeout), and no heartbeat came for {:?} from {}",
                    timeout / 2,
                    list(&mute)
                ),
            )
        } else if let Some(&first) = missing.first() {
            (
                Some(first),
                format!(
                    "round {round} waited {timeout:?} (the round timeout) for the message of {}, which still beats (slower than the timeout?)",
                    list(&missing)
                ),
            )
        } else {
            (
                None,
                format!(
                    "round {round} did not complete within {timeout:?} (the round timeout), though every process beats and sent its message"
                ),
            )
        };
        Some(ExchangeError::PeerLost { process, message })
    }
}

/// Drops the worker, then the inputs (rounds, heartbeats), and joins
/// timely's network threads. The worker goes first: closing the input of a failed worker would tell
/// the others this process finished its rounds. After a failure all may
/// panic (poisoned queues, panicked network threads), so they are dropped
/// under `catch_unwind`, and the join goes to a thread of its own: a live
/// peer's connection closes only when that peer stops.
fn teardown(
    worker: Worker,
    inputs: [Option<RoundInput>; 2],
    comms: Option<CommsGuard>,
    ended: &Ended,
) {
    let mut worker = worker;
    if let Ended::TimedOut = ended {
        // Another process did not finish: stop scheduling the dataflow.
        for id in worker.installed_dataflows() {
            worker.drop_dataflow(id);
        }
    }
    let _ = catch_unwind(AssertUnwindSafe(move || drop(worker)));
    let _ = catch_unwind(AssertUnwindSafe(move || drop(inputs)));
    let Some(comms) = comms else { return };
    match ended {
        Ended::Clean => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(comms)));
        }
        Ended::TimedOut | Ended::Failed(_) => {
            // Send threads end at once (writing timely's final header, so
            // peers see a clean close, not a loss); receive threads end
            // when their peer stops: wait a little, then leave them.
            let (joined, wait) = std::sync::mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name(TEARDOWN_THREAD.to_owned())
                .spawn(move || {
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(comms)));
                    let _ = joined.send(());
                });
            match spawned {
                Ok(_) => {
                    let _ = wait.recv_timeout(TEARDOWN_WAIT);
                }
                Err(e) => tracing::warn!(error = %e, "cannot join timely's network threads"),
            }
        }
    }
}
