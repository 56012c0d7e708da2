//! [`PeerStream`], the TCP stream timely's network threads use for one
//! peer, which also remembers the first peer whose connection broke: timely
//! reports a broken connection only by panicking, without saying which.
//!
//! A peer that stops cleanly ends its stream with timely's zero-length
//! message header before closing it; the stream follows timely's framing
//! (a 48-byte header of six big-endian `u64`s, the fifth the payload length)
//! to tell that end from a broken connection, so that a survivor that shuts
//! down is never blamed for a loss elsewhere.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};

use timely::communication::allocator::zero_copy::stream::Stream;

/// The size of timely's message header.
const HEADER_BYTES: usize = 48;

/// The first connection of this cluster that broke: the peer and what the
/// socket reported. A failed read (or a close without timely's final
/// header) wins over a failed write, which may be the echo of a peer that
/// stopped because of another's loss.
#[derive(Debug, Default)]
pub(crate) struct LostPeer {
    read: Mutex<Option<(usize, String)>>,
    write: Mutex<Option<(usize, String)>>,
}

impl LostPeer {
    /// Records that the connection to `peer` broke, unless one broke before.
    fn record(slot: &Mutex<Option<(usize, String)>>, peer: usize, what: String) {
        let mut first = slot.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some((peer, what));
        }
    }

    /// The first broken connection, if any.
    pub(crate) fn first(&self) -> Option<(usize, String)> {
        let get = |m: &Mutex<Option<(usize, String)>>| {
            m.lock().unwrap_or_else(|p| p.into_inner()).clone()
        };
        get(&self.read).or_else(|| get(&self.write))
    }
}

/// Where a received stream is in timely's framing.
#[derive(Debug, Clone)]
struct Framing {
    /// The header being read.
    header: [u8; HEADER_BYTES],
    /// How much of it has arrived.
    filled: usize,
    /// Payload bytes still to pass before the next header.
    skip: u64,
    /// The final, zero-length header has arrived.
    finished: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Framing {
            header: [0; HEADER_BYTES],
            filled: 0,
            skip: 0,
            finished: false,
        }
    }
}

impl Framing {
    /// Follows the framing over `bytes`.
    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).map_or(bytes.len(), |s| s.min(bytes.len()));
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (HEADER_BYTES - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == HEADER_BYTES {
                self.filled = 0;
                let mut length = [0u8; 8];
                length.copy_from_slice(&self.header[32..40]);
                self.skip = u64::from_be_bytes(length);
                self.finished = self.skip == 0;
            }
        }
    }
}

/// A connection to peer `peer`, handed to timely's send and receive threads.
#[derive(Debug)]
pub(crate) struct PeerStream {
    inner: TcpStream,
    peer: usize,
    lost: Arc<LostPeer>,
    /// The received framing (used by the clone timely reads from).
    framing: Framing,
}

impl PeerStream {
    /// Wraps the connected `inner` to `peer`.
    pub(crate) fn new(inner: TcpStream, peer: usize, lost: Arc<LostPeer>) -> PeerStream {
        PeerStream {
            inner,
            peer,
            lost,
            framing: Framing::default(),
        }
    }

    /// The socket, to read its options back in tests.
    #[cfg(test)]
    pub(crate) fn socket(&self) -> &TcpStream {
        &self.inner
    }

    /// Notes a failed write and passes `result` on.
    fn note_write<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            LostPeer::record(&self.lost.write, self.peer, format!("writing: {e}"));
        }
        result
    }
}

impl Read for PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        match &result {
            Ok(0) if !buf.is_empty() && !self.framing.finished => {
                let what = "connection closed".to_owned();
                LostPeer::record(&self.lost.read, self.peer, what);
            }
            Ok(n) => self.framing.observe(&buf[..*n]),
            Err(e) => {
                LostPeer::record(&self.lost.read, self.peer, format!("reading: {e}"));
            }
        }
        result
    }
}

impl Write for PeerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.note_write(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.note_write(result)
    }
}

impl Stream for PeerStream {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(PeerStream {
            inner: self.inner.try_clone()?,
            peer: self.peer,
            lost: Arc::clone(&self.lost),
            framing: self.framing.clone(),
        })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timely header with payload length `length`.
    fn header(length: u64) -> Vec<u8> {
        [3u64, 1, 0, 1, length, 9]
            .iter()
            .flat_map(|f| f.to_be_bytes())
            .collect()
    }

    #[test]
    fn framing_sees_the_final_header_however_the_bytes_are_cut() {
        let mut stream = header(5);
        stream.extend_from_slice(b"hello");
        stream.extend(header(0));
        for cut in 1..stream.len() {
            let mut framing = Framing::default();
            for chunk in stream.chunks(cut) {
                assert!(!framing.finished, "cut {cut}: finished early");
                framing.observe(chunk);
            }
            assert!(framing.finished, "cut {cut}");
        }
        let mut framing = Framing::default();
        framing.observe(&stream[..stream.len() - 1]);
        assert!(!framing.finished);
    }
}
