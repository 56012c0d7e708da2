//! Crash recovery of reliable receivers with the write-ahead log in a
//! cluster: a 2 x 2 cluster runs one acknowledging receiver per process
//! (receiver `i` on process `i`), each reading numbered records from its
//! own server in the test, into a checkpointed count per record. A
//! receiver acknowledges a block once `store_block` returned (the block is
//! in its process's log); after a reconnect the server sends everything
//! not acknowledged again, as Kafka or Flume would. A random process is
//! SIGKILLed at seeded random moments (5 times) and all are restarted
//! through `get_or_create`.
//!
//! The model (as for one process, `ember-sources`' `crash_socket.rs`):
//! every record is counted at least once (nothing acknowledged is lost),
//! at most as many times as it was sent, and exactly once if it was sent
//! once; no state process 0 reports, at any kill, breaks the upper bound.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use ember::cluster::{Cluster, ClusterConf, LocalCluster, RunningCluster};
use ember::prelude::*;
use ember::sources::receiver::{Receiver, ReceiverContext};

use crate::Error;
use crate::stateful::{Rng, read_running_counts, run_until_stop_marker, write_running_counts};

/// The cluster's layout (a receiver takes a worker slot: 2 threads).
const LAYOUT: (usize, usize) = (2, 2);
/// How many processes are killed.
const KILLS: usize = 5;
/// The batch interval.
const BATCH_MS: u64 = 200;
/// Records a server adds every [`TICK`] while producing.
const PER_TICK: u64 = 4;
/// How often a server adds records and reads acknowledgements.
const TICK: StdDuration = StdDuration::from_millis(20);
/// Server `s`'s records are `s * SPACE + i`.
const SPACE: u64 = 1_000_000;
/// The marker file that asks the cluster to stop.
const STOP: &str = "_stop";

/// Reads numbered lines from `127.0.0.1:port` and acknowledges each
/// stored block with its last number.
struct AckingReceiver {
    port: u16,
}

impl AckingReceiver {
    /// Receives until stopped; an `Err` asks for a restart.
    fn receive(&self, ctx: &ReceiverContext<u64>) -> Result<(), String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("connecting to port {}: {e}", self.port))?;
        stream
            .set_read_timeout(Some(StdDuration::from_millis(50)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| e.to_string())?;
        let mut unread = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        while !ctx.is_stopped() {
            let n = match stream.read(&mut buffer) {
                Ok(0) => return Err("the server closed the connection".to_owned()),
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(format!("reading: {e}")),
            };
            unread.extend_from_slice(&buffer[..n]);
            let Some(end) = unread.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let lines: Vec<u8> = unread.drain(..=end).collect();
            let records: Vec<u64> = lines
                .split(|&b| b == b'\n')
                .filter_map(|l| std::str::from_utf8(l).ok()?.parse().ok())
                .collect();
            let Some(&last) = records.last() else {
                continue;
            };
            ctx.store_block(records)
                .map_err(|e| format!("storing: {e}"))?;
            stream
                .write_all(format!("{last}\n").as_bytes())
                .map_err(|e| format!("acknowledging: {e}"))?;
        }
        Ok(())
    }
}

impl Receiver<u64> for AckingReceiver {
    fn name(&self) -> String {
        format!("acking receiver (127.0.0.1:{})", self.port)
    }

    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        if let Err(message) = self.receive(ctx) {
            ctx.restart(message, None, None);
        }
    }
}

/// A cluster process's part: the checkpointed count per record of one
/// acknowledging receiver per port (write-ahead log on); process 0 writes
/// the whole state after every batch to `out`. Runs until the stop marker
/// appears in `dir` (then stops gracefully) or until killed.
pub(crate) fn process(
    joined: &Arc<Cluster>,
    cluster: &ClusterConf,
    ports: &[u16],
    dir: &str,
    checkpoint: &str,
    out: &str,
) -> Result<(), Error> {
    let threads = cluster.threads;
    let out = PathBuf::from(out);
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let conf = StreamingConf::new()
            .master(format!("local[{threads}]"))
            .app_name("ClusterWalCrash")
            .set("spark.ui.enabled", "false")
            .set("spark.streaming.receiver.writeAheadLog.enable", "true")
            .set("spark.streaming.blockInterval", "20ms")
            .set("spark.streaming.receiverRestartDelay", "100ms");
        let ssc = StreamingContext::with_exchange(
            conf,
            Duration::from_millis(BATCH_MS),
            Arc::clone(joined) as Arc<dyn ember::rdd::Exchange>,
        )?;
        ssc.checkpoint(checkpoint);
        let streams: Vec<DStream<u64>> = ports
            .iter()
            .map(|&port| ssc.receiver_stream(AckingReceiver { port }))
            .collect();
        let records = ssc.union(&streams)?;
        write_running_counts(&records, Duration::from_millis(2 * BATCH_MS), out.clone())?;
        Ok(ssc)
    })?;
    ssc.start()?;
    run_until_stop_marker(&ssc, &Path::new(dir).join(STOP))
}

/// What a server produced, sent and had acknowledged.
#[derive(Default)]
struct Ledger {
    /// Records `0..produced` exist.
    produced: u64,
    /// Records `0..acked` are acknowledged (acknowledgements are
    /// cumulative: a block's last record).
    acked: u64,
    /// How many times each record was written to a connection.
    sends: Vec<u32>,
    /// Acknowledgements that named no record sent.
    bad_acks: Vec<String>,
}

/// A server on 127.0.0.1 for one receiver: while producing it adds
/// [`PER_TICK`] records every [`TICK`]; each new connection replaces the
/// last and first gets every record not acknowledged.
struct Server {
    index: u64,
    port: u16,
    ledger: Arc<Mutex<Ledger>>,
    producing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(index: u64) -> Result<Server, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let ledger: Arc<Mutex<Ledger>> = Arc::default();
        let producing = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (ledger, producing, stop) = (
                Arc::clone(&ledger),
                Arc::clone(&producing),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || serve(index, &listener, &ledger, &producing, &stop))
        };
        Ok(Server {
            index,
            port,
            ledger,
            producing,
            stop,
            thread: Some(thread),
        })
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server's loop (see [`Server`]).
fn serve(
    index: u64,
    listener: &TcpListener,
    ledger: &Mutex<Ledger>,
    producing: &AtomicBool,
    stop: &AtomicBool,
) {
    let mut client: Option<(TcpStream, u64, Vec<u8>)> = None;
    while !stop.load(Ordering::SeqCst) {
        let mut l = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if producing.load(Ordering::SeqCst) {
            l.produced += PER_TICK;
            let produced = l.produced as usize;
            l.sends.resize(produced, 0);
        }
        if let Ok((stream, _)) = listener.accept() {
            // Everything not acknowledged is sent (again).
            let ok = stream
                .set_read_timeout(Some(StdDuration::from_millis(1)))
                .and_then(|()| stream.set_nodelay(true));
            if ok.is_ok() {
                client = Some((stream, l.acked, Vec::new()));
            }
        }
        let mut lost = false;
        if let Some((stream, next, unread)) = client.as_mut() {
            let mut text = String::new();
            for i in *next..l.produced {
                text.push_str(&format!("{}\n", index * SPACE + i));
            }
            match stream.write_all(text.as_bytes()) {
                Ok(()) => {
                    for i in *next..l.produced {
                        l.sends[i as usize] += 1;
                    }
                    *next = l.produced;
                }
                Err(_) => lost = true,
            }
            let mut buffer = [0u8; 4096];
            match stream.read(&mut buffer) {
                Ok(0) => lost = true,
                Ok(n) => unread.extend_from_slice(&buffer[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => lost = true,
            }
            while let Some(end) = unread.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = unread.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line).trim().to_owned();
                match text.parse::<u64>() {
                    Ok(n) if n / SPACE == index && n % SPACE < *next => {
                        l.acked = l.acked.max(n % SPACE + 1);
                    }
                    _ => l.bad_acks.push(text),
                }
            }
        }
        if lost {
            client = None;
        }
        drop(l);
        std::thread::sleep(TICK);
    }
}

/// The last state process 0 wrote: count per record (none before the
/// first write).
fn read_state(path: &Path) -> Result<BTreeMap<u64, u64>, Error> {
    Ok(read_running_counts(path)?.unwrap_or_default())
}

/// Checks `state` against the servers' ledgers: no record counted more
/// often than sent; with `complete`, every record counted at least once
/// and those sent once exactly once.
fn check_model(
    state: &BTreeMap<u64, u64>,
    servers: &[Server],
    complete: bool,
    when: &str,
) -> Result<(), Error> {
    for (&record, &count) in state {
        let server = servers
            .get((record / SPACE) as usize)
            .ok_or_else(|| format!("{when}: record {record} from no server"))?;
        let sends = server
            .ledger()
            .sends
            .get((record % SPACE) as usize)
            .copied()
            .unwrap_or(0);
        if count > u64::from(sends) {
            return Err(format!(
                "{when}: record {record} counted {count} times, sent {sends} times"
            )
            .into());
        }
    }
    if complete {
        for server in servers {
            let ledger = server.ledger();
            if !ledger.bad_acks.is_empty() {
                return Err(format!(
                    "{when}: server {} got bad acknowledgements {:?}",
                    server.index, ledger.bad_acks
                )
                .into());
            }
            for i in 0..ledger.produced {
                let record = server.index * SPACE + i;
                let count = state.get(&record).copied().unwrap_or(0);
                let sends = ledger.sends[i as usize];
                if count == 0 || (sends == 1 && count != 1) {
                    return Err(format!(
                        "{when}: record {record} counted {count} times, sent {sends} times (acknowledged up to {})",
                        ledger.acked
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// The kills and restarts, then the final comparison with the model.
pub(crate) fn check(seed: u64) -> Result<(), Error> {
    let started = Instant::now();
    let root = tempfile::tempdir()?;
    let checkpoint = root.path().join("ckpt");
    let out = root.path().join("state.txt");
    let servers = (0..LAYOUT.0 as u64)
        .map(Server::start)
        .collect::<Result<Vec<_>, _>>()?;
    let mut args = vec![
        "--mode".to_owned(),
        "crash-wal".to_owned(),
        "--dir".to_owned(),
        root.path().display().to_string(),
        "--ckpt".to_owned(),
        checkpoint.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    for server in &servers {
        args.extend(["--port".to_owned(), server.port.to_string()]);
    }
    let launch = || -> Result<RunningCluster, Error> {
        Ok(LocalCluster::new(LAYOUT.0, LAYOUT.1)?
            .args(args.clone())
            .spawn()?)
    };
    let mut rng = Rng(seed | 1);
    let mut cluster = launch()?;
    for kill in 0..KILLS {
        std::thread::sleep(StdDuration::from_millis(1_500 + rng.below(2_500)));
        let victim = rng.below(LAYOUT.0 as u64) as usize;
        cluster.kill(victim)?;
        cluster.wait_all_within(StdDuration::from_secs(30))?;
        check_model(
            &read_state(&out)?,
            &servers,
            false,
            &format!("seed {seed}, after kill {kill}"),
        )?;
        cluster = launch()?;
    }
    for server in &servers {
        server.producing.store(false, Ordering::SeqCst);
    }
    // Done once every record is acknowledged and counted.
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let state = read_state(&out)?;
        let acked = servers.iter().all(|s| {
            let l = s.ledger();
            l.acked == l.produced
        });
        let counted = servers.iter().all(|s| {
            let produced = s.ledger().produced;
            (0..produced).all(|i| state.contains_key(&(s.index * SPACE + i)))
        });
        if (acked && counted) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(StdDuration::from_millis(50));
    }
    std::fs::write(root.path().join(STOP), "")?;
    cluster.wait()?;
    let state = read_state(&out)?;
    check_model(&state, &servers, true, &format!("seed {seed}, at the end"))?;
    let produced: u64 = servers.iter().map(|s| s.ledger().produced).sum();
    let resent: usize = servers
        .iter()
        .map(|s| s.ledger().sends.iter().filter(|&&n| n > 1).count())
        .sum();
    println!(
        "crash (receivers with WAL): {} x {} cluster, {KILLS} processes SIGKILLed and all restarted, {produced} records ({resent} sent again), every record counted once or (sent again) at most as often as sent (seed {seed}, {:.1} s)",
        LAYOUT.0,
        LAYOUT.1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
