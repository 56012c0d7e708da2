//! Opening the connections between processes, with a deadline: timely's
//! own setup retries forever and prints to stdout, so this crate connects
//! the sockets itself, with timely's handshake (the connecting process
//! writes its index as a big-endian `u64`; lower indices listen for higher
//! ones), sets TCP keepalive on each (see [`crate::keepalive`]), and hands
//! them to timely's network threads.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::ClusterError;
use crate::keepalive::set_keepalive;
use crate::peer_stream::{LostPeer, PeerStream};

/// How long to wait between attempts to reach a peer that is not up yet.
const RETRY: Duration = Duration::from_millis(20);

/// Connects process `me` to every other process of `addresses` within
/// `timeout`: one stream per peer, `None` at `me` (timely's layout), each
/// with TCP keepalive `keepalive`.
pub(crate) fn connect_peers(
    addresses: &[String],
    me: usize,
    timeout: Duration,
    keepalive: Duration,
    lost: &Arc<LostPeer>,
) -> Result<Vec<Option<PeerStream>>, ClusterError> {
    let deadline = Instant::now() + timeout;
    let own = &addresses[me];
    let listener = TcpListener::bind(own.as_str()).map_err(|source| ClusterError::Bind {
        process: me,
        address: own.clone(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(ClusterError::Start)?;
    let give_up = AtomicBool::new(false);
    let (lower, higher) = thread::scope(|s| {
        let acceptor = s.spawn(|| {
            let r = accept_higher(&listener, addresses, me, deadline, timeout, &give_up);
            if r.is_err() {
                give_up.store(true, Ordering::SeqCst);
            }
            r
        });
        let lower = connect_lower(addresses, me, deadline, timeout, &give_up);
        if lower.is_err() {
            give_up.store(true, Ordering::SeqCst);
        }
        let higher = acceptor.join().unwrap_or_else(|_| {
            Err(ClusterError::Start(std::io::Error::other(
                "the connection acceptor panicked",
            )))
        });
        (lower, higher)
    });
    // Report the error that made the other side give up, not its echo: a
    // bad handshake stops the connecting side, a missing peer the other.
    let (lower, higher) = match (lower, higher) {
        (Ok(l), Ok(h)) => (l, h),
        (_, Err(e @ (ClusterError::Handshake { .. } | ClusterError::Bind { .. }))) => {
            return Err(e);
        }
        (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
    };
    for stream in lower.iter().chain(higher.iter().flatten()) {
        set_keepalive(stream, keepalive).map_err(ClusterError::Keepalive)?;
    }
    let mut streams: Vec<Option<PeerStream>> = Vec::with_capacity(addresses.len());
    for (peer, stream) in lower.into_iter().enumerate() {
        streams.push(Some(PeerStream::new(stream, peer, Arc::clone(lost))));
    }
    streams.push(None);
    for (offset, stream) in higher.into_iter().enumerate() {
        let peer = me + 1 + offset;
        let stream = stream.ok_or_else(|| {
            ClusterError::Start(std::io::Error::other(format!(
                "no stream from process {peer}"
            )))
        })?;
        streams.push(Some(PeerStream::new(stream, peer, Arc::clone(lost))));
    }
    Ok(streams)
}

/// Connects to processes `0..me`, retrying until `deadline`.
fn connect_lower(
    addresses: &[String],
    me: usize,
    deadline: Instant,
    timeout: Duration,
    give_up: &AtomicBool,
) -> Result<Vec<TcpStream>, ClusterError> {
    let mut streams = Vec::with_capacity(me);
    for (peer, address) in addresses.iter().enumerate().take(me) {
        let unreachable = |last_error: String| ClusterError::Unreachable {
            process: peer,
            address: address.clone(),
            timeout,
            last_error,
        };
        let mut stream = loop {
            let error = match try_connect(address, deadline) {
                Ok(stream) => break stream,
                Err(e) => e,
            };
            if give_up.load(Ordering::SeqCst) || Instant::now() + RETRY >= deadline {
                return Err(unreachable(error));
            }
            thread::sleep(RETRY);
        };
        let greeting = (me as u64).to_be_bytes();
        stream
            .set_nodelay(true)
            .and_then(|()| stream.write_all(&greeting))
            .map_err(|e| unreachable(e.to_string()))?;
        streams.push(stream);
    }
    Ok(streams)
}

/// One attempt to connect to `address`, bounded by `deadline`.
fn try_connect(address: &str, deadline: Instant) -> Result<TcpStream, String> {
    let mut last = format!("{address} resolves to no address");
    let targets = address.to_socket_addrs().map_err(|e| e.to_string())?;
    for target in targets {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&target, left.min(Duration::from_secs(1))) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Accepts processes `me+1..` on `listener` until `deadline`, each
/// identified by the index it writes first.
fn accept_higher(
    listener: &TcpListener,
    addresses: &[String],
    me: usize,
    deadline: Instant,
    timeout: Duration,
    give_up: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let own = &addresses[me];
    let mut streams: Vec<Option<TcpStream>> = (me + 1..addresses.len()).map(|_| None).collect();
    while streams.iter().any(Option::is_none) {
        match listener.accept() {
            Ok((mut stream, remote)) => {
                let handshake = |reason: String| ClusterError::Handshake {
                    address: own.clone(),
                    remote: remote.to_string(),
                    reason,
                };
                let left = deadline.saturating_duration_since(Instant::now());
                let mut greeting = [0u8; 8];
                stream
                    .set_nonblocking(false)
                    .and_then(|()| {
                        stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                    })
                    .and_then(|()| stream.read_exact(&mut greeting))
                    .and_then(|()| stream.set_read_timeout(None))
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| handshake(format!("no process index: {e}")))?;
                let peer = u64::from_be_bytes(greeting);
                let slot = usize::try_from(peer)
                    .ok()
                    .and_then(|p| p.checked_sub(me + 1))
                    .and_then(|i| streams.get_mut(i))
                    .ok_or_else(|| {
                        handshake(format!(
                            "process index {peer} is not one of {}..{}",
                            me + 1,
                            addresses.len()
                        ))
                    })?;
                if slot.is_some() {
                    return Err(handshake(format!("process {peer} connected twice")));
                }
                *slot = Some(stream);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if give_up.load(Ordering::SeqCst) || Instant::now() >= deadline {
                    return Err(ClusterError::NotConnected {
                        process: me,
                        address: own.clone(),
                        missing: missing(&streams, addresses, me),
                        timeout,
                    });
                }
                thread::sleep(RETRY / 2);
            }
            Err(e) => {
                return Err(ClusterError::Bind {
                    process: me,
                    address: own.clone(),
                    source: e,
                });
            }
        }
    }
    Ok(streams)
}

/// The peers that have not connected, as `process i (host:port)`.
fn missing(streams: &[Option<TcpStream>], addresses: &[String], me: usize) -> String {
    streams
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("process {} ({})", me + 1 + i, addresses[me + 1 + i]))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keepalive::{PROBES, probe_times};
    use socket2::SockRef;

    /// `n` addresses on 127.0.0.1 with ports free a moment ago.
    fn free_addresses(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_connection_carries_the_configured_keepalive() {
        let addresses = free_addresses(3);
        let keepalive = Duration::from_secs(12);
        let lost = Arc::new(LostPeer::default());
        let streams: Vec<Vec<Option<PeerStream>>> = thread::scope(|s| {
            let joins: Vec<_> = (0..3)
                .map(|me| {
                    let (addresses, lost) = (&addresses, &lost);
                    s.spawn(move || {
                        connect_peers(addresses, me, Duration::from_secs(10), keepalive, lost)
                    })
                })
                .collect();
            joins
                .into_iter()
                .map(|j| j.join().unwrap().unwrap())
                .collect()
        });
        let (idle, interval) = probe_times(keepalive);
        assert_eq!(
            (idle, interval),
            (Duration::from_secs(6), Duration::from_secs(2))
        );
        let mut checked = 0;
        for (me, peers) in streams.iter().enumerate() {
            assert!(peers[me].is_none());
            for stream in peers.iter().flatten() {
                let socket = SockRef::from(stream.socket());
                assert!(socket.keepalive().unwrap());
                assert_eq!(socket.tcp_keepalive_time().unwrap(), idle);
                assert_eq!(socket.tcp_keepalive_interval().unwrap(), interval);
                assert_eq!(socket.tcp_keepalive_retries().unwrap(), PROBES);
                assert_eq!(socket.tcp_user_timeout().unwrap(), Some(keepalive));
                checked += 1;
            }
        }
        // Both ends of each of the three connections.
        assert_eq!(checked, 6);
    }
}
