//! SIGTERM stops a running application gracefully: the quickstart example
//! (a real child process, the example binary cargo built next to this
//! test) reads numbered lines from a loopback server; after the server
//! sent them all and the receiver read them (it reconnected after the
//! server closed the first connection), the child gets SIGTERM, processes
//! every line, prints its total and exits 0. A second signal during a
//! graceful stop (a long backlog) stops at once, still exiting 0; with a
//! batch stuck in its output, the second signal leaves it behind after the
//! prompt stop's wait instead of waiting out the graceful timeout.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Hang guard of every wait.
const PATIENCE: Duration = Duration::from_secs(60);

/// The quickstart example built by cargo for this test run.
fn quickstart() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    dir.join("examples").join("quickstart")
}

/// A child process, killed when the test ends early (a failed
/// assertion), so that no child outlives its test.
struct Reaped(Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        // Already ended and waited for after a passing test: an error,
        // ignored.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This test binary run again as a child process that runs only the test
/// `name`, with `marker` set in its environment (the child test does its
/// work only then), its standard output piped.
fn spawn_child(name: &str, marker: &str) -> Reaped {
    Reaped(
        Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(marker, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child"),
    )
}

/// Sends `signal` (e.g. `TERM`) to `child` with `kill`.
fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Accepts one connection, waiting at most `PATIENCE`.
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking");
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection from the child");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// The child's stdout lines, as they come.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the child to exit.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_stops_the_quickstart_gracefully_with_every_sent_line_counted() {
    const LINES: u64 = 5_000;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut child = Reaped(
        Command::new(quickstart())
            .args(["--port", &port.to_string(), "--ui-port", "0"])
            .env("EMBER_LOG", "warn,ember=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the quickstart example (built by cargo test)"),
    );
    let stdout = lines_of(&mut child);
    {
        let mut first = accept(&listener);
        for n in 0..LINES {
            writeln!(first, "line {n}").expect("send");
        }
        // Closed: the receiver reads to the end, then reconnects.
    }
    let _second = accept(&listener);
    kill(&child, "TERM");
    let status = wait(&mut child);
    let out: Vec<String> = stdout.iter().collect();
    assert!(
        status.success(),
        "exit {status:?}; stdout:\n{}",
        out.join("\n")
    );
    let last = out.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("quickstart: stopped by SIGTERM; ")
            && last.ends_with(&format!(", {LINES} records processed")),
        "{last}"
    );
}

/// Set in the child of the second-signal test.
const BACKLOG_CHILD: &str = "EMBER_SIGNALS_BACKLOG_CHILD";

/// Counts submitted and completed batches.
#[derive(Default)]
struct Counts {
    submitted: std::sync::atomic::AtomicU64,
    completed: std::sync::atomic::AtomicU64,
}

impl ember::prelude::StreamingListener for Counts {
    fn on_batch_submitted(&self, _: &ember::prelude::BatchInfo) {
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn on_batch_completed(&self, _: &ember::prelude::BatchInfo) {
        self.completed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The child: 20 ms batches that take 100 ms each, so generated batches
/// queue up; a graceful stop would run them all.
#[test]
fn backlog_child() -> Result<(), ember::prelude::StreamingError> {
    use ember::prelude::*;
    use std::sync::atomic::Ordering;
    if std::env::var(BACKLOG_CHILD).is_err() {
        return Ok(());
    }
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("backlog")
        .set("spark.ui.enabled", "false")
        .set("spark.streaming.stopGracefullyOnShutdown", "true")
        .set("spark.streaming.gracefulStopTimeout", "60s");
    let ssc = StreamingContext::new(conf, ember::prelude::Duration::from_millis(20))?;
    let counts = std::sync::Arc::new(Counts::default());
    ssc.add_listener(counts.clone());
    let batches: std::collections::VecDeque<Vec<u32>> = (0..1000).map(|n| vec![n]).collect();
    ssc.queue_stream(batches, true).foreach_rdd(|rdd, time| {
        let _ = rdd.count();
        // The batch's work.
        std::thread::sleep(std::time::Duration::from_millis(100));
        println!("batch done {time}");
        Ok(())
    })?;
    ssc.start()?;
    ssc.await_termination()?;
    println!(
        "stopped by {}; submitted {}, completed {}",
        ssc.stopped_by_signal().unwrap_or("nothing"),
        counts.submitted.load(Ordering::SeqCst),
        counts.completed.load(Ordering::SeqCst)
    );
    Ok(())
}

#[test]
fn a_second_signal_during_a_graceful_stop_stops_at_once() {
    let mut child = spawn_child("backlog_child", BACKLOG_CHILD);
    let stdout = lines_of(&mut child);
    let mut seen = Vec::new();
    let wait_done = |n: usize, seen: &mut Vec<String>| {
        while seen.iter().filter(|l| l.contains("batch done ")).count() < n {
            seen.push(stdout.recv_timeout(PATIENCE).expect("child output"));
        }
    };
    wait_done(5, &mut seen);
    kill(&child, "TERM");
    // The graceful stop runs queued batches; the second signal ends it.
    let first_stop = seen.iter().filter(|l| l.contains("batch done ")).count();
    wait_done(first_stop + 1, &mut seen);
    kill(&child, "INT");
    let status = wait(&mut child);
    seen.extend(stdout.iter());
    assert!(status.success(), "exit {status:?}:\n{}", seen.join("\n"));
    let last = seen
        .iter()
        .find(|l| l.starts_with("stopped by"))
        .cloned()
        .unwrap_or_else(|| panic!("no final line in:\n{}", seen.join("\n")));
    let counts: Vec<u64> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(last.starts_with("stopped by SIGTERM; "), "{last}");
    let [submitted, completed] = counts[..] else {
        panic!("{last}")
    };
    let done = seen.iter().filter(|l| l.contains("batch done ")).count() as u64;
    assert_eq!(completed, done, "{last}");
    assert!(
        completed < submitted,
        "queued batches dropped by the second signal: {last}"
    );
}

/// Set in the child of the stuck-batch test.
const STUCK_CHILD: &str = "EMBER_SIGNALS_STUCK_CHILD";

/// The child: quick 20 ms batches until the third, whose output blocks
/// for two minutes; a graceful stop may wait 60 s for it.
#[test]
fn stuck_child() -> Result<(), ember::prelude::StreamingError> {
    use ember::prelude::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    if std::env::var(STUCK_CHILD).is_err() {
        return Ok(());
    }
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("stuck")
        .set("spark.ui.enabled", "false")
        .set("spark.streaming.stopGracefullyOnShutdown", "true")
        .set("spark.streaming.gracefulStopTimeout", "60s");
    let ssc = StreamingContext::new(conf, ember::prelude::Duration::from_millis(20))?;
    let batches: std::collections::VecDeque<Vec<u32>> = (0..1000).map(|n| vec![n]).collect();
    let seen = AtomicU32::new(0);
    ssc.queue_stream(batches, true).foreach_rdd(move |rdd, _| {
        let _ = rdd.count();
        if seen.fetch_add(1, Ordering::SeqCst) == 2 {
            println!("batch stuck");
            std::thread::sleep(std::time::Duration::from_secs(120));
        }
        Ok(())
    })?;
    ssc.start()?;
    ssc.await_termination()?;
    println!(
        "stopped by {}",
        ssc.stopped_by_signal().unwrap_or("nothing")
    );
    Ok(())
}

#[test]
fn a_second_signal_leaves_a_stuck_batch_behind_without_waiting_out_the_graceful_timeout() {
    let mut child = spawn_child("stuck_child", STUCK_CHILD);
    let stdout = lines_of(&mut child);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.ends_with("batch stuck")) {
        seen.push(stdout.recv_timeout(PATIENCE).expect("child output"));
    }
    kill(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    kill(&child, "INT");
    let second = Instant::now();
    // The prompt stop's wait for the running batch is 1.5 s; the graceful
    // timeout (60 s) must not be waited out. 20 s leaves room for a
    // loaded machine.
    let deadline = second + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child was still stopping 20 s after the second signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    seen.extend(stdout.iter());
    assert!(status.success(), "exit {status:?}:\n{}", seen.join("\n"));
    assert_eq!(
        seen.iter()
            .filter(|l| l.starts_with("stopped by"))
            .collect::<Vec<_>>(),
        ["stopped by SIGTERM"],
        "{}",
        seen.join("\n")
    );
}
