//! [`TextFeeder`]: a TCP server on 127.0.0.1 that sends the shared
//! generator's text at a steady rate to whoever connects — the built-in
//! data source of the socket examples (the `nc -lk 9999` of Spark's
//! NetworkWordCount).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::datagen::WordGenerator;

/// How often the feeder writes a chunk of lines.
const TICK: Duration = Duration::from_millis(10);

/// Serves generated lines on an ephemeral loopback port until stopped or
/// dropped; one connection at a time, the next one after a disconnect.
///
/// ```
/// use std::io::{BufRead, BufReader};
/// let feeder = ember::feeder::TextFeeder::start(1_000, 5)?;
/// let mut line = String::new();
/// BufReader::new(std::net::TcpStream::connect(("127.0.0.1", feeder.port()))?).read_line(&mut line)?;
/// assert_eq!(line.trim_end().split(' ').count(), 5);
/// feeder.stop();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TextFeeder {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TextFeeder {
    /// Starts serving `lines_per_second` lines of `words_per_line` words
    /// on an ephemeral port.
    pub fn start(lines_per_second: usize, words_per_line: usize) -> std::io::Result<Self> {
        Self::start_on(0, lines_per_second, words_per_line)
    }

    /// [`start`](Self::start) on 127.0.0.1:`port` (`0`: any free port), e.g.
    /// the port a `--port` program reads from, where `nc -lk` is missing.
    pub fn start_on(
        port: u16,
        lines_per_second: usize,
        words_per_line: usize,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let per_tick = (lines_per_second / 100).max(1);
        let thread = thread::Builder::new()
            .name("ember-text-feeder".to_owned())
            .spawn(move || serve(&listener, &flag, per_tick, words_per_line))?;
        Ok(TextFeeder {
            port,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops serving and waits for the feeder thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // The thread only writes to sockets; a panic there has nothing to hand back.
            let _ = thread.join();
        }
    }
}

impl Drop for TextFeeder {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn serve(listener: &TcpListener, stop: &AtomicBool, per_tick: usize, words_per_line: usize) {
    let mut words = WordGenerator::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((conn, _)) => feed(conn, stop, &mut words, per_tick, words_per_line),
            Err(_) => thread::sleep(TICK),
        }
    }
}

/// Writes `per_tick` lines every tick until the reader goes away or `stop`.
fn feed(
    mut conn: TcpStream,
    stop: &AtomicBool,
    words: &mut WordGenerator,
    per_tick: usize,
    words_per_line: usize,
) {
    if conn.set_nonblocking(false).is_err() {
        return;
    }
    let start = Instant::now();
    let mut tick = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let mut chunk = String::new();
        for _ in 0..per_tick {
            chunk.push_str(&words.line(words_per_line));
            chunk.push('\n');
        }
        if conn.write_all(chunk.as_bytes()).is_err() {
            return; // the reader went away; wait for the next one
        }
        tick += 1;
        thread::sleep((start + TICK * tick).saturating_duration_since(Instant::now()));
    }
}
