//! Socket receivers: text lines (`socket_text_stream`) and records read by
//! a user converter (`socket_stream`) from a TCP connection. Reads go
//! through a 1 MiB `BufReader` (`read_until` finds line ends with memchr),
//! records are handed over in chunks whenever the buffer runs dry, and a
//! short read timeout lets a blocked read notice a stop.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use super::{MAX_LINE_BYTES_KEY, Receiver, ReceiverContext};

/// Read buffer size.
const BUFFER: usize = 1 << 20;
/// The most bytes of text gathered before they are handed over.
const CHUNK_BYTES: usize = 1 << 20;
/// How often a blocked read checks whether to stop.
const POLL: StdDuration = StdDuration::from_millis(100);
/// How long connecting may take.
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Connects, or asks for a restart and returns `None`.
fn connect<T>(ctx: &ReceiverContext<T>, host: &str, port: u16) -> Option<TcpStream> {
    let result = (host, port).to_socket_addrs().and_then(|addrs| {
        let mut last = std::io::Error::new(ErrorKind::NotFound, "no address found");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    });
    match result.and_then(|s| s.set_read_timeout(Some(POLL)).map(|()| s)) {
        Ok(stream) => {
            tracing::info!(host, port, "connected");
            Some(stream)
        }
        Err(e) => {
            ctx.restart(format!("error connecting to {host}:{port}"), Some(&e), None);
            None
        }
    }
}

/// A socket reader that checks for a stop before each read from the
/// socket (and retries timed-out reads until one), and runs a hook before
/// each read (to hand over records before possibly blocking).
struct StopAwareReader {
    stream: TcpStream,
    stopped: Box<dyn Fn() -> bool>,
    before_read: Box<dyn FnMut()>,
}

impl Read for StopAwareReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (self.before_read)();
        loop {
            if (self.stopped)() {
                return Err(std::io::Error::other("receiver stopped"));
            }
            match self.stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Decodes one line (without its `\n`), dropping a trailing `\r`; invalid
/// UTF-8 is replaced and counted.
fn decode(ctx: &ReceiverContext<String>, mut line: &[u8]) -> String {
    if let Some(rest) = line.strip_suffix(b"\n") {
        line = rest;
    }
    if let Some(rest) = line.strip_suffix(b"\r") {
        line = rest;
    }
    match std::str::from_utf8(line) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            ctx.record_invalid_utf8_line();
            String::from_utf8_lossy(line).into_owned()
        }
    }
}

/// The receiver of `socket_text_stream`.
pub(crate) struct SocketTextReceiver {
    host: String,
    port: u16,
}

impl SocketTextReceiver {
    pub(crate) fn new(host: impl Into<String>, port: u16) -> Self {
        SocketTextReceiver {
            host: host.into(),
            port,
        }
    }
}

impl Receiver<String> for SocketTextReceiver {
    fn name(&self) -> String {
        format!("socket_text_stream({}:{})", self.host, self.port)
    }

    /// A line counts for its text and the `String` holding it.
    fn record_size(&self) -> fn(&String) -> u64 {
        |line| (line.len() + std::mem::size_of::<String>()) as u64
    }

    fn on_start(&self, ctx: &ReceiverContext<String>) {
        let Some(stream) = connect(ctx, &self.host, self.port) else {
            return;
        };
        let stopper = ctx.clone();
        let mut reader = BufReader::with_capacity(
            BUFFER,
            StopAwareReader {
                stream,
                stopped: Box::new(move || stopper.is_stopped()),
                before_read: Box::new(|| {}),
            },
        );
        let max_line = ctx.max_line_bytes();
        let mut line = Vec::with_capacity(256);
        let mut chunk: Vec<String> = Vec::with_capacity(ctx.chunk_size());
        let mut chunk_bytes = 0;
        loop {
            if reader.buffer().is_empty() && !chunk.is_empty() {
                // The next read may block: hand over what is here first.
                chunk_bytes = 0;
                if ctx.store_chunk(std::mem::take(&mut chunk)).is_err() {
                    return; // stopping: the lines read were refused
                }
            }
            line.clear();
            match (&mut reader)
                .take(max_line.saturating_add(1))
                .read_until(b'\n', &mut line)
            {
                Ok(0) => {
                    if ctx.store_chunk(chunk).is_ok() {
                        ctx.restart("socket data stream had no more data", None, None);
                    }
                    return;
                }
                Ok(n) if n as u64 > max_line && line.last() != Some(&b'\n') => {
                    ctx.record_oversized_line();
                    if ctx.store_chunk(chunk).is_ok() {
                        let message = format!(
                            "a line longer than {MAX_LINE_BYTES_KEY} = {max_line} bytes: \
                             skipped, reconnecting"
                        );
                        ctx.restart(message, None, None);
                    }
                    return;
                }
                Ok(_) => {
                    let text = decode(ctx, &line);
                    chunk_bytes += text.len();
                    chunk.push(text);
                    if chunk.len() >= ctx.chunk_size() || chunk_bytes >= CHUNK_BYTES {
                        chunk_bytes = 0;
                        if ctx.store_chunk(std::mem::take(&mut chunk)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    if ctx.store_chunk(chunk).is_ok() && !ctx.is_stopped() {
                        ctx.restart("error receiving data", Some(&e), None);
                    }
                    return;
                }
            }
        }
    }
}

type Converter<T> = Arc<dyn Fn(Box<dyn BufRead>) -> Box<dyn Iterator<Item = T>> + Send + Sync>;

/// The receiver of `socket_stream`.
pub(crate) struct SocketReceiver<T> {
    host: String,
    port: u16,
    converter: Converter<T>,
}

impl<T> SocketReceiver<T> {
    pub(crate) fn new<I, F>(host: impl Into<String>, port: u16, converter: F) -> Self
    where
        I: Iterator<Item = T> + 'static,
        F: Fn(Box<dyn BufRead>) -> I + Send + Sync + 'static,
    {
        SocketReceiver {
            host: host.into(),
            port,
            converter: Arc::new(move |reader| Box::new(converter(reader))),
        }
    }
}

impl<T: Send + 'static> Receiver<T> for SocketReceiver<T> {
    fn name(&self) -> String {
        format!("socket_stream({}:{})", self.host, self.port)
    }

    fn on_start(&self, ctx: &ReceiverContext<T>) {
        let Some(stream) = connect(ctx, &self.host, self.port) else {
            return;
        };
        let pending: Rc<RefCell<Vec<T>>> = Rc::default();
        let stopper = ctx.clone();
        let flusher = ctx.clone();
        let to_flush = Rc::clone(&pending);
        let reader = StopAwareReader {
            stream,
            stopped: Box::new(move || stopper.is_stopped()),
            before_read: Box::new(move || {
                let chunk = std::mem::take(&mut *to_flush.borrow_mut());
                // Refused only when stopping: the read then sees the stop.
                let _refused = flusher.store_chunk(chunk);
            }),
        };
        let records = (self.converter)(Box::new(BufReader::with_capacity(BUFFER, reader)));
        for record in records {
            let full = {
                let mut pending = pending.borrow_mut();
                pending.push(record);
                pending.len() >= ctx.chunk_size()
            };
            if full
                && ctx
                    .store_chunk(std::mem::take(&mut *pending.borrow_mut()))
                    .is_err()
            {
                return; // stopping: the records read were refused
            }
            if ctx.is_stopped() {
                break;
            }
        }
        let last = std::mem::take(&mut *pending.borrow_mut());
        if ctx.store_chunk(last).is_ok() && !ctx.is_stopped() {
            ctx.restart("socket data stream had no more data", None, None);
        }
    }
}
