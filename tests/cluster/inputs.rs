//! Inputs in a cluster (socket receivers, the file stream over a shared
//! directory), and a process killed while a cluster runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use ember::cluster::LocalCluster;
use ember::prelude::*;
use ember::sources::file::FileStreamOptions;

use crate::Error;

/// Lines each socket server sends.
const LINES: u64 = 3_000;

/// A server on 127.0.0.1 that sends `lines` to its first client and keeps
/// every connection open until dropped (a reconnecting receiver gets
/// nothing twice).
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(lines: Vec<String>) -> Result<Server, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut open: Vec<TcpStream> = Vec::new();
            let mut lines = Some(lines);
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut client, _)) => {
                        if let Some(lines) = lines.take() {
                            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                            let _ = client.set_nonblocking(false);
                            let _ = client.write_all(text.as_bytes());
                        }
                        open.push(client);
                    }
                    Err(_) => std::thread::sleep(StdDuration::from_millis(20)),
                }
            }
        });
        Ok(Server {
            port,
            stop,
            thread: Some(thread),
        })
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

/// A cluster process's part: two socket streams (receivers 0 and 1, on
/// processes 0 and 1) into [`count_until`].
pub(crate) fn receivers(
    ssc: StreamingContext,
    ports: &[u16],
    expected: u64,
) -> Result<Vec<String>, Error> {
    let streams: Vec<DStream<String>> = ports
        .iter()
        .map(|&port| ssc.socket_text_stream("127.0.0.1", port))
        .collect();
    let lines = ssc.union(&streams)?;
    count_until(ssc, &lines, expected)
}

/// A cluster process's part: the files of `dir` (already there) into
/// [`count_until`].
pub(crate) fn files(ssc: StreamingContext, dir: &str, expected: u64) -> Result<Vec<String>, Error> {
    let options = FileStreamOptions {
        new_files_only: false,
        ..FileStreamOptions::default()
    };
    let lines = ssc.file_stream(dir, options);
    count_until(ssc, &lines, expected)
}

/// The running word counts of `lines`; returns the final state once it
/// holds `expected` words.
fn count_until(
    ssc: StreamingContext,
    lines: &DStream<String>,
    expected: u64,
) -> Result<Vec<String>, Error> {
    let state = lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .update_state_by_key(|values: &[u64], state: Option<u64>| {
            Some(state.unwrap_or(0) + values.iter().sum::<u64>())
        });
    let done: Arc<(Mutex<Option<Vec<String>>>, Condvar)> = Arc::default();
    let seen = Arc::clone(&done);
    state.foreach_rdd(move |rdd, _| {
        let mut counts = rdd.collect()?;
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        if total >= expected {
            counts.sort();
            let lines = counts.iter().map(|(w, n)| format!("{w} {n}")).collect();
            let mut slot = seen.0.lock().unwrap_or_else(PoisonError::into_inner);
            slot.get_or_insert(lines);
            seen.1.notify_all();
        }
        Ok(())
    })?;
    ssc.start()?;
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let mut slot = done.0.lock().unwrap_or_else(PoisonError::into_inner);
    while slot.is_none() && Instant::now() < deadline {
        slot = done
            .1
            .wait_timeout(slot, StdDuration::from_millis(100))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    let result = slot.take();
    drop(slot);
    ssc.stop(StopOptions::default())?;
    result.ok_or_else(|| "the input's records did not all arrive within 60 s".into())
}

/// A cluster process's part that never ends by itself: a word count over
/// a queue stream whose default batch repeats.
pub(crate) fn endless(ssc: StreamingContext) -> Result<Vec<String>, Error> {
    let default: Vec<String> = (0..200)
        .map(|i| format!("w{} w{}", i % 7, i % 11))
        .collect();
    let counts = ssc
        .queue_stream_with_default(InputQueue::new(), true, Some(default))
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    })?;
    ssc.start()?;
    ssc.await_termination()?;
    Ok(Vec::new())
}

/// Word counts of some lines: what a cluster's final state must equal.
#[derive(Default)]
struct WordModel {
    counts: BTreeMap<String, u64>,
    words: u64,
}

impl WordModel {
    fn add(&mut self, line: &str) {
        for word in line.split(' ') {
            *self.counts.entry(word.to_owned()).or_default() += 1;
            self.words += 1;
        }
    }

    /// Starts a `processes x threads` cluster in `mode` with `args`, and
    /// checks that the final state process 0 writes to `out` equals the
    /// model; returns how long the cluster ran.
    fn check(
        &self,
        (processes, threads): (usize, usize),
        mode: &str,
        args: Vec<String>,
        out: &Path,
        what: &str,
    ) -> Result<f64, Error> {
        let started = Instant::now();
        let common = [
            "--mode".to_owned(),
            mode.to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
            "--expected-words".to_owned(),
            self.words.to_string(),
        ];
        LocalCluster::new(processes, threads)?
            .args(common.into_iter().chain(args))
            .spawn()?
            .wait()?;
        let got = std::fs::read_to_string(out)?;
        let expected: Vec<String> = self
            .counts
            .iter()
            .map(|(w, n)| format!("{w} {n}"))
            .collect();
        let got: Vec<&str> = got.lines().collect();
        if got != expected {
            return Err(format!(
                "{what} in a {processes} x {threads} cluster: the final state differs from the model\n  model:   {expected:?}\n  cluster: {got:?}"
            )
            .into());
        }
        Ok(started.elapsed().as_secs_f64())
    }
}

/// Two socket servers, a 2 x 2 cluster whose receivers read them: the final
/// state equals the model's word counts exactly.
pub(crate) fn check_receivers() -> Result<(), Error> {
    let server_lines = |server: u64| -> Vec<String> {
        (0..LINES)
            .map(|i| format!("s{server} w{} w{}", i % 13, (i * 7 + server) % 17))
            .collect()
    };
    let mut model = WordModel::default();
    for server in 0..2 {
        server_lines(server).iter().for_each(|line| model.add(line));
    }
    let servers = [
        Server::start(server_lines(0))?,
        Server::start(server_lines(1))?,
    ];
    let dir = tempfile::tempdir()?;
    let ports = servers
        .iter()
        .flat_map(|s| ["--port".to_owned(), s.port.to_string()])
        .collect();
    let out = dir.path().join("receivers.txt");
    let seconds = model.check((2, 2), "receivers", ports, &out, "receivers")?;
    println!(
        "receivers: 2 x 2 cluster, {} words from 2 socket receivers, final state equals the model ({seconds:.1} s)",
        model.words
    );
    Ok(())
}

/// A directory of files, a 2 x 1 cluster whose processes each take the
/// files hashing to them: the final state equals the model's word counts
/// exactly.
pub(crate) fn check_file_stream() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let mut model = WordModel::default();
    for file in 0..12u64 {
        let mut text = String::new();
        for i in 0..(50 + file * 13) {
            let line = format!("f{file} w{} w{}", i % 9, (i + file) % 23);
            model.add(&line);
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(dir.path().join(format!("part-{file:02}.txt")), text)?;
    }
    let args = vec!["--dir".to_owned(), dir.path().display().to_string()];
    let out = dir.path().join("_result");
    let seconds = model.check((2, 1), "files", args, &out, "file stream")?;
    println!(
        "file stream: 2 x 1 cluster, {} words in 12 files of a shared directory, final state equals the model ({seconds:.1} s)",
        model.words
    );
    Ok(())
}

/// A 3 x 1 cluster running without end; process 1 is killed: the other two
/// must fail within 30 s, each with an error naming process 1.
pub(crate) fn check_peer_death() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("endless");
    let mut cluster = LocalCluster::new(3, 1)?
        .args([
            "--mode".to_owned(),
            "endless".to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
        ])
        .spawn()?;
    std::thread::sleep(StdDuration::from_secs(4));
    let killed = Instant::now();
    cluster.kill(1)?;
    let statuses = cluster.wait_all_within(StdDuration::from_secs(30))?;
    let ended = killed.elapsed();
    for process in [0, 2] {
        if statuses[process].success() {
            return Err(
                format!("process {process} exited successfully after process 1 died").into(),
            );
        }
        let error =
            std::fs::read_to_string(format!("{}.{process}.err", out.display())).unwrap_or_default();
        if !error.contains("process 1") {
            return Err(
                format!("process {process}'s error does not name process 1: {error:?}").into(),
            );
        }
    }
    println!(
        "peer death: process 1 killed, processes 0 and 2 failed naming it within {:.1} s",
        ended.as_secs_f64()
    );
    Ok(())
}

/// The round timeout [`check_peer_stopped`] sets.
const ROUND_TIMEOUT: StdDuration = StdDuration::from_secs(3);

/// A process stopped (SIGSTOP: alive, its kernel still answers TCP, so
/// keepalive cannot tell) while a 3-process cluster with a round timeout
/// runs makes the other two fail within the timeout (and their own
/// teardown) with an error naming it.
pub(crate) fn check_peer_stopped() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("endless");
    let mut cluster = LocalCluster::new(3, 1)?
        .round_timeout(ROUND_TIMEOUT)
        .args([
            "--mode".to_owned(),
            "endless".to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
        ])
        .spawn()?;
    std::thread::sleep(StdDuration::from_secs(4));
    let signal = |name: &str| -> Result<(), Error> {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(cluster.id(1)?.to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{name} failed: {status}").into())
        }
    };
    signal("STOP")?;
    let stopped = Instant::now();
    let errors = [0, 2].map(|p| format!("{}.{p}.err", out.display()));
    while !errors.iter().all(|e| Path::new(e).exists()) {
        if stopped.elapsed() > StdDuration::from_secs(30) {
            cluster.kill(1)?;
            return Err("processes 0 and 2 still run 30 s after process 1 stopped".into());
        }
        std::thread::sleep(StdDuration::from_millis(20));
    }
    let ended = stopped.elapsed();
    cluster.kill(1)?;
    let statuses = cluster.wait_all_within(StdDuration::from_secs(30))?;
    for process in [0, 2] {
        if statuses[process].success() {
            return Err(
                format!("process {process} exited successfully after process 1 stopped").into(),
            );
        }
        let error = std::fs::read_to_string(&errors[process / 2]).unwrap_or_default();
        let expected = "lost the connection to process 1: round ";
        // Process 1 alone: the list of silent peers ends after it (the
        // error is the whole message, or wrapped by an output's failure).
        let silent = "(the round timeout), and no heartbeat came for 1.5s from process 1";
        let alone = error
            .find(silent)
            .map(|at| &error[at + silent.len()..])
            .is_some_and(|rest| !rest.starts_with(", process"));
        if !error.contains(expected) || !alone {
            return Err(format!(
                "process {process}'s error does not name process 1 alone as silent for the round timeout: {error:?}"
            )
            .into());
        }
    }
    println!(
        "peer stopped: process 1 stopped (SIGSTOP), processes 0 and 2 failed naming it {:.1} s later (round timeout {:?})",
        ended.as_secs_f64(),
        ROUND_TIMEOUT
    );
    Ok(())
}
