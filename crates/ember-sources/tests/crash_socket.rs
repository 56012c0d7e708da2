//! Crash recovery of a socket source with the receiver write-ahead log, with
//! a real process: `crash_socket_count` (numbers from a TCP server →
//! `update_state_by_key` count per number, checkpointed, system clock,
//! 100 ms batches) is killed with SIGKILL at random moments and restarted
//! through `get_or_create` each time, while this test's server on
//! 127.0.0.1 keeps sending numbered records.
//!
//! - `acked`: the bin's reliable receiver acknowledges each block once
//!   `store_block` returned (the block is in the log), and the server
//!   sends the unacknowledged records again after a reconnect, as Kafka or
//!   Flume would. At least 20 kills; in the end every record is counted,
//!   so none the child acknowledged was lost, and a record is counted at
//!   most as many times as it was sent: only records sent again (being
//!   unacknowledged at a kill) may be counted twice.
//! - `text`: the plain `socket_text_stream` cannot acknowledge, so the
//!   records in flight at a kill are lost, but only those: no record is
//!   counted twice, none that a batch had counted before a kill is missing
//!   after the recovery (its block was logged; without the log, whatever
//!   came after the last checkpoint would be), and what a kill loses is the
//!   tail of what was sent to that child (records travel in order).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;
use common::{Killed, Rng, read_state};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Acked,
    Text,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Acked => "acked",
            Mode::Text => "text",
        }
    }
}

/// What the server knows about the records `0..produced`.
#[derive(Default)]
struct Ledger {
    /// Records that exist (the producer adds to them).
    produced: u64,
    /// Times each record was written to a connection.
    sends: Vec<u32>,
    /// The round (child) during which each record was last written, and when.
    sent_in: Vec<Option<(usize, Instant)>>,
    /// Acknowledgements are cumulative: records below are acknowledged.
    acked: u64,
    /// Text mode: records below were sent once and are never sent again.
    next_unsent: u64,
    /// The current round: the child that runs now.
    round: usize,
    /// Connections accepted so far.
    connections: usize,
    /// Acknowledgements of records never sent (a protocol error).
    bad_acks: Vec<u64>,
}

impl Ledger {
    fn produce(&mut self, n: u64) {
        self.produced += n;
        self.sends.resize(self.produced as usize, 0);
        self.sent_in.resize(self.produced as usize, None);
    }
}

type Shared = Arc<Mutex<Ledger>>;

fn lock(ledger: &Shared) -> MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One accepted connection: a thread writing records, and in acked mode
/// one reading acknowledgements.
struct Connection {
    stream: TcpStream,
    closed: Arc<AtomicBool>,
    writer: JoinHandle<()>,
    reader: Option<JoinHandle<()>>,
}

impl Connection {
    fn open(stream: TcpStream, ledger: &Shared, mode: Mode) -> Connection {
        stream.set_nonblocking(false).unwrap();
        stream.set_nodelay(true).unwrap();
        let closed = Arc::new(AtomicBool::new(false));
        let start = {
            let mut l = lock(ledger);
            l.connections += 1;
            match mode {
                // Everything not acknowledged is sent (again).
                Mode::Acked => l.acked,
                Mode::Text => l.next_unsent,
            }
        };
        let writer = {
            let (mut stream, ledger, closed) = (
                stream.try_clone().unwrap(),
                Arc::clone(ledger),
                Arc::clone(&closed),
            );
            std::thread::spawn(move || write_records(&mut stream, &ledger, &closed, start, mode))
        };
        let reader = (mode == Mode::Acked).then(|| {
            let (mut stream, ledger, closed) = (
                stream.try_clone().unwrap(),
                Arc::clone(ledger),
                Arc::clone(&closed),
            );
            std::thread::spawn(move || read_acks(&mut stream, &ledger, &closed))
        });
        Connection {
            stream,
            closed,
            writer,
            reader,
        }
    }

    /// Reads the acknowledgements still queued, then ends both threads.
    fn close(self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader {
            reader.join().unwrap();
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.writer.join().unwrap();
    }
}

/// Writes records from `next` on as they are produced, a line each.
fn write_records(
    stream: &mut TcpStream,
    ledger: &Shared,
    closed: &AtomicBool,
    mut next: u64,
    mode: Mode,
) {
    while !closed.load(Ordering::SeqCst) {
        let text = {
            let mut l = lock(ledger);
            let to = l.produced.min(next + 200);
            let (round, now) = (l.round, Instant::now());
            let mut text = String::new();
            for n in next..to {
                l.sends[n as usize] += 1;
                l.sent_in[n as usize] = Some((round, now));
                text.push_str(&format!("{n}\n"));
            }
            if mode == Mode::Text {
                l.next_unsent = to;
            }
            next = to;
            text
        };
        if text.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        } else if stream.write_all(text.as_bytes()).is_err() {
            return; // the child is gone
        }
    }
}

/// Reads acknowledgement lines (the last number of a stored block) until
/// the child closes the connection, or the connection is closed and
/// nothing more is queued.
fn read_acks(stream: &mut TcpStream, ledger: &Shared, closed: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut unread = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => unread.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if closed.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            Err(_) => return,
        }
        let Some(end) = unread.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        let lines: Vec<u8> = unread.drain(..=end).collect();
        let mut l = lock(ledger);
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                Some(n) if n < l.produced && l.sends[n as usize] > 0 => {
                    l.acked = l.acked.max(n + 1);
                }
                Some(n) => l.bad_acks.push(n),
                None => l.bad_acks.push(u64::MAX),
            }
        }
    }
}

/// The TCP server on 127.0.0.1: one connection at a time (a new one
/// replaces the last, after reading its remaining acknowledgements).
struct Server {
    port: u16,
    ledger: Shared,
    current: Arc<Mutex<Option<Connection>>>,
    done: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Server {
    fn start(mode: Mode) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let ledger: Shared = Arc::default();
        let current: Arc<Mutex<Option<Connection>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (ledger, current, done) =
                (Arc::clone(&ledger), Arc::clone(&current), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let mut current = current.lock().unwrap();
                            if let Some(old) = current.take() {
                                old.close();
                            }
                            *current = Some(Connection::open(stream, &ledger, mode));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            })
        };
        Server {
            port,
            ledger,
            current,
            done,
            thread,
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    /// Closes the connection of a killed child, so that nothing more is
    /// written to it (a write to a socket whose peer just died can succeed
    /// and vanish).
    fn disconnect(&self) {
        if let Some(old) = self.current.lock().unwrap().take() {
            old.close();
        }
    }

    fn stop(self) {
        let Server {
            current,
            done,
            thread,
            ..
        } = self;
        done.store(true, Ordering::SeqCst);
        thread.join().unwrap();
        if let Some(last) = current.lock().unwrap().take() {
            last.close();
        }
    }
}

type Counts = BTreeMap<u64, u64>;

/// No record counted more often than it was sent (a batch applied twice,
/// or a replayed block counted again, would).
fn check_not_over(state: &Counts, ledger: &Ledger, when: &str) {
    for (&n, &count) in state {
        let sends = ledger.sends.get(n as usize).copied().unwrap_or(0);
        assert!(
            count <= u64::from(sends),
            "{when}: record {n} counted {count} times but sent {sends} times"
        );
    }
}

struct Run {
    root: tempfile::TempDir,
    mode: Mode,
    port: u16,
    checkpoint_ms: u64,
}

impl Run {
    fn spawn(&self) -> Killed {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        Killed(
            Command::new(env!("CARGO_BIN_EXE_crash_socket_count"))
                .arg(self.root.path().join("ckpt"))
                .arg(self.port.to_string())
                .arg(self.state())
                .arg(self.mode.arg())
                .arg("100")
                .arg(self.checkpoint_ms.to_string())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }
    fn state(&self) -> std::path::PathBuf {
        self.root.path().join("state.txt")
    }
    fn log(&self) -> std::path::PathBuf {
        self.root.path().join("stderr.log")
    }
    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

/// What a series of crashes left.
struct Outcome {
    /// The state the last child ended with.
    state: Counts,
    /// When each round's child was killed.
    killed_at: Vec<Instant>,
    /// The records counted in the state files the killed children left.
    counted_before_kills: BTreeSet<u64>,
}

/// Runs `kills` rounds (a child alive for `alive(round, rng)`, records
/// produced meanwhile, then SIGKILL), then a last child left alone until
/// `caught_up(batch time, state, ledger)` says it is done.
fn crash_rounds(
    server: &Server,
    run: &Run,
    rng: &mut Rng,
    kills: usize,
    alive: impl Fn(usize, &mut Rng) -> Duration,
    caught_up: impl Fn(u64, &Counts, &Ledger) -> bool,
) -> Outcome {
    let mut killed_at = Vec::new();
    let mut counted_before_kills = BTreeSet::new();
    for round in 0..kills {
        server.ledger().round = round;
        let mut child = run.spawn();
        let deadline = Instant::now() + alive(round, rng);
        while Instant::now() < deadline {
            let n = 1 + rng.below(10);
            server.ledger().produce(n);
            std::thread::sleep(Duration::from_millis(3 + rng.below(15)));
        }
        assert!(
            child.running(),
            "crash_socket_count exited on its own in round {round}; its stderr:\n{}",
            run.log_text()
        );
        killed_at.push(Instant::now());
        child.kill();
        server.disconnect();
        if let Some((_, state)) = read_state(&run.state()) {
            check_not_over(&state, &server.ledger(), &format!("after kill {round}"));
            counted_before_kills.extend(state.keys());
        }
        // Sometimes records are produced while it is down.
        let n = rng.below(3) * 20;
        server.ledger().produce(n);
    }
    // A last run, left alone until it caught up; nothing new is produced.
    server.ledger().round = kills;
    let child = run.spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = false;
    while !done && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        if let Some((time, state)) = read_state(&run.state()) {
            let ledger = server.ledger();
            check_not_over(&state, &ledger, "final run");
            done = caught_up(time, &state, &ledger);
        }
    }
    // A few more batches must not change anything.
    std::thread::sleep(Duration::from_millis(400));
    let state = read_state(&run.state()).map(|(_, s)| s).unwrap_or_default();
    child.kill();
    server.disconnect();
    assert!(
        done,
        "the last run did not catch up in 30 s (seed {}); its stderr:\n{}",
        rng.seed,
        run.log_text()
    );
    Outcome {
        state,
        killed_at,
        counted_before_kills,
    }
}

/// The system clock in ms, as the child's batch times.
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn recoveries(run: &Run) -> usize {
    run.log_text().matches("recovered from checkpoint").count()
}

#[test]
fn acknowledged_socket_records_survive_sigkill() {
    let started = Instant::now();
    let mut rng = Rng::from_clock("acked socket crash test");
    let server = Server::start(Mode::Acked);
    let run = Run {
        root: tempfile::tempdir().unwrap(),
        mode: Mode::Acked,
        port: server.port,
        checkpoint_ms: 300,
    };
    let kills = 22;
    // Alive for 150–1250 ms.
    let alive = |_, rng: &mut Rng| Duration::from_millis(150 + rng.below(1100));
    // Done once every record is acknowledged (so logged) and a batch 300 ms
    // later has run: it took every logged block.
    let all_acked_at = Cell::new(None);
    let state = crash_rounds(&server, &run, &mut rng, kills, alive, |time, state, l| {
        if l.acked < l.produced {
            return false;
        }
        let since = all_acked_at.get().unwrap_or_else(|| {
            let now = epoch_ms();
            all_acked_at.set(Some(now));
            now
        });
        state.len() as u64 == l.produced || time >= since + 300
    })
    .state;
    let ledger = server.ledger();
    let seed = rng.seed;
    assert!(
        ledger.bad_acks.is_empty(),
        "bad acknowledgements: {:?}",
        ledger.bad_acks
    );
    assert_eq!(
        ledger.acked, ledger.produced,
        "not every record acknowledged"
    );
    let mut lost = Vec::new();
    let (mut duplicates, mut resent) = (0, 0);
    for n in 0..ledger.produced {
        let count = state.get(&n).copied().unwrap_or(0);
        let sends = u64::from(ledger.sends[n as usize]);
        if count == 0 {
            lost.push((n, sends));
        }
        // A record sent once is counted once; one sent again (it was not
        // acknowledged at a kill) at most as often as it was sent.
        assert!(
            count <= sends,
            "record {n} counted {count} times, sent {sends} times (seed {seed})"
        );
        duplicates += count.saturating_sub(1);
        resent += u64::from(sends > 1);
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged records not counted, e.g. (record, times sent) {:?} (seed {seed}); stderr:\n{}",
        lost.len(),
        &lost[..lost.len().min(10)],
        run.log_text()
    );
    assert!(
        state.keys().all(|&n| n < ledger.produced),
        "unknown records counted"
    );
    let recovered = recoveries(&run);
    eprintln!(
        "acked: {} records over {} connections, {kills} kills, {recovered} recoveries, \
         {resent} records sent again, {duplicates} counted twice, {:?}",
        ledger.produced,
        ledger.connections,
        started.elapsed()
    );
    assert!(
        recovered >= kills / 2,
        "only {recovered} recoveries:\n{}",
        run.log_text()
    );
    drop(ledger);
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(90));
}

#[test]
fn socket_text_stream_with_the_log_loses_only_records_in_flight_at_a_kill() {
    let started = Instant::now();
    let mut rng = Rng::from_clock("text socket crash test");
    let server = Server::start(Mode::Text);
    let run = Run {
        root: tempfile::tempdir().unwrap(),
        mode: Mode::Text,
        port: server.port,
        checkpoint_ms: 500,
    };
    let kills = 10;
    let alive = |_, rng: &mut Rng| Duration::from_millis(300 + rng.below(1200));
    let outcome = crash_rounds(&server, &run, &mut rng, kills, alive, |_, state, l| {
        // Every record sent to the last child is counted.
        l.next_unsent == l.produced
            && (0..l.produced).all(|n| {
                l.sent_in[n as usize].is_none_or(|(round, _)| round < kills)
                    || state.contains_key(&n)
            })
    });
    let (ledger, state, seed) = (server.ledger(), &outcome.state, rng.seed);
    // One connection a child: what a round sent is a range of records.
    assert_eq!(ledger.connections, kills + 1, "a child reconnected");
    let (mut lost, mut oldest) = (0, Duration::ZERO);
    let mut lost_in_round: Option<(usize, u64)> = None;
    for n in 0..ledger.produced {
        let count = state.get(&n).copied().unwrap_or(0);
        let (round, sent) = ledger.sent_in[n as usize].expect("every record was sent");
        assert!(count <= 1, "record {n} counted {count} times (seed {seed})");
        // A record a batch counted was in a logged block: never lost.
        assert!(
            count == 1 || !outcome.counted_before_kills.contains(&n),
            "record {n} was counted before a kill, but not after the recovery (seed {seed})"
        );
        // Records travel in order (socket, blocks, log): what a kill loses
        // is the tail of what its round sent.
        match (count, lost_in_round) {
            (1, Some((r, first))) if r == round => panic!(
                "record {first} of round {round} is lost, but the later {n} is counted (seed {seed})"
            ),
            (0, Some((r, _))) if r == round => {}
            (0, _) => lost_in_round = Some((round, n)),
            _ => {}
        }
        if count == 0 {
            lost += 1;
            if let Some(&kill) = outcome.killed_at.get(round) {
                oldest = oldest.max(kill.saturating_duration_since(sent));
            }
        }
    }
    let recovered = recoveries(&run);
    eprintln!(
        "text: {} records, {kills} kills, {recovered} recoveries, {lost} lost in flight \
         (sent up to {oldest:?} before a kill), {:?}",
        ledger.produced,
        started.elapsed()
    );
    assert!(
        recovered >= kills / 2,
        "only {recovered} recoveries:\n{}",
        run.log_text()
    );
    drop(ledger);
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(90));
}
