//! SIGTERM stops a running application gracefully: the quickstart example
//! (a real child process, the example binary cargo built next to this
//! test) reads numbered lines from a loopback server; after the server
//! sent them all and the receiver read them (it reconnected after the
//! server closed the first connection), the child gets SIGTERM, processes
//! every line, prints its total and exits 0. A second signal during a
//! graceful stop (a long backlog) stops at once, still exiting 0.

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
    let mut child = Command::new(quickstart())
        .args(["--port", &port.to_string(), "--ui-port", "0"])
        .env("EMBER_LOG", "warn,ember=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the quickstart example (built by cargo test)");
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
    let out: Vec<String> = stdout.try_iter().collect();
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
