//! A recoverable count of numbered records read from a TCP server with the
//! receiver write-ahead log on, used by the crash test
//! (`tests/crash_socket.rs`): it is killed with SIGKILL at random moments
//! and restarted, and must lose no record it received.
//!
//! Usage: `crash_socket_count <checkpoint dir> <port> <state file> <mode>
//! <batch ms> <checkpoint ms>`. It connects to `127.0.0.1:<port>`, which
//! sends one decimal number per line, and counts each number in a
//! checkpointed `update_state_by_key` state. `<mode>` is the source:
//! - `acked`: a reliable receiver built on `receiver_stream` that stores
//!   what it read with `store_block` and, once that returned (the block is
//!   in the write-ahead log), writes the last number of the block back as a
//!   line: the acknowledgement up to which the server need not resend.
//! - `text`: the plain `socket_text_stream` (nothing acknowledged).
//!
//! Every batch it writes the whole state to `<state file>` (temp file, then
//! rename) as a first line `time <batch ms>` followed by one
//! `<number> <count>` line per number.

#[path = "crash/state_file.rs"]
mod state_file;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use ember_dstream::{DStream, Duration, StreamingConf, StreamingContext, StreamingError};
use ember_sources::receiver::{Receiver, ReceiverContext, ReceiverStreams};

/// Reads numbered lines from `127.0.0.1:port` and acknowledges each stored
/// block with its last number.
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
            .and_then(|()| stream.set_nodelay(true)) // no ack waits in a buffer (Nagle)
            .map_err(|e| e.to_string())?;
        let mut unread = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        while !ctx.is_stopped() {
            let n = match stream.read(&mut buffer) {
                Ok(0) => return Err("the server closed the connection".to_owned()),
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("reading: {e}")),
            };
            unread.extend_from_slice(&buffer[..n]);
            let Some(end) = unread.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let lines: Vec<u8> = unread.drain(..=end).collect();
            let mut records = Vec::new();
            for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                match std::str::from_utf8(line).ok().and_then(|l| l.parse().ok()) {
                    Some(number) => records.push(number),
                    None => ctx.report_error(
                        format!("not a number: {:?}", String::from_utf8_lossy(line)),
                        None,
                    ),
                }
            }
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

fn usage() -> ! {
    eprintln!(
        "usage: crash_socket_count <checkpoint dir> <port> <state file> <acked|text> \
         <batch ms> <checkpoint ms>"
    );
    std::process::exit(2);
}

fn run() -> Result<(), StreamingError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, checkpoint, port, out, mode, batch_ms, checkpoint_ms] = args.as_slice() else {
        usage();
    };
    let (Ok(port), Ok(batch_ms), Ok(checkpoint_ms)) = (
        port.parse::<u16>(),
        batch_ms.parse::<u64>(),
        checkpoint_ms.parse::<u64>(),
    ) else {
        usage();
    };
    let out = PathBuf::from(out);
    let acked = match mode.as_str() {
        "acked" => true,
        "text" => false,
        _ => usage(),
    };
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let ssc = StreamingContext::new(
            StreamingConf::new()
                .master("local[2]")
                .app_name("crash_socket_count")
                .set("spark.streaming.receiver.writeAheadLog.enable", "true")
                .set("spark.streaming.blockInterval", "20ms")
                .set("spark.streaming.receiverRestartDelay", "100ms"),
            Duration::from_millis(batch_ms),
        )?;
        let numbers: DStream<u64> = if acked {
            ssc.receiver_stream(AckingReceiver { port })
        } else {
            ssc.socket_text_stream("127.0.0.1", port)
                .flat_map(|line: String| line.trim().parse::<u64>().ok())
        };
        let counts = state_file::running_counts(numbers, Duration::from_millis(checkpoint_ms))?;
        let out = out.clone();
        state_file::write_every_batch(&counts, out)?;
        Ok(ssc)
    })?;
    state_file::run_until_killed(ssc)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("crash_socket_count: {e}");
        std::process::exit(1);
    }
}
