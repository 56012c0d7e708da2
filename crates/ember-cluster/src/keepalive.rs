//! TCP keepalive on the connections between processes: how a peer whose
//! machine vanished without closing its sockets (power lost, network cut)
//! is detected. Nothing arrives from such a peer, not even a reset, so
//! without keepalive a process would wait for it forever.
//!
//! [`ClusterConf::keepalive`](crate::ClusterConf::keepalive) (`k`, whole
//! seconds, default 10 s) sets on every socket:
//!
//! - `SO_KEEPALIVE` on, with the first probe after `k / 2` idle seconds
//!   (`TCP_KEEPIDLE`), then [`PROBES`] probes `(k - k / 2) / PROBES`
//!   seconds apart, at least 1 s (`TCP_KEEPINTVL`, `TCP_KEEPCNT`): an idle
//!   connection whose peer stopped answering breaks after the idle time
//!   and the probes, at most `k` seconds for `k` ≥ 5 s;
//! - on Linux, `TCP_USER_TIMEOUT` = `k`: a connection whose sent data stays
//!   unacknowledged for `k` breaks too (keepalive probes are not sent while
//!   data is in flight), and an idle one breaks once its probes have gone
//!   unanswered for `k` (the user timeout overrides the probe count), so
//!   on Linux a silent peer is detected within about `k` for every `k`.
//!
//! The broken connection then fails every round naming the peer, as a
//! closed one does. A peer that is alive but stuck (stopped, deadlocked)
//! still has a kernel that answers: that is what
//! [`ClusterConf::round_timeout`](crate::ClusterConf::round_timeout) is for.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Keepalive probes sent before a silent connection is declared broken.
pub const PROBES: u32 = 3;

/// The idle time before the first probe and the interval between probes
/// for a keepalive of `keepalive` (whole seconds, at least 1 s each).
pub fn probe_times(keepalive: Duration) -> (Duration, Duration) {
    let total = keepalive.as_secs();
    let idle = (total / 2).max(1);
    let interval = (total.saturating_sub(idle) / u64::from(PROBES)).max(1);
    (Duration::from_secs(idle), Duration::from_secs(interval))
}

/// Sets the keepalive options above on `stream`.
pub(crate) fn set_keepalive(stream: &TcpStream, keepalive: Duration) -> io::Result<()> {
    let socket = SockRef::from(stream);
    let (idle, interval) = probe_times(keepalive);
    let params = TcpKeepalive::new().with_time(idle);
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
    let params = params.with_interval(interval).with_retries(PROBES);
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
    let _ = interval;
    socket.set_tcp_keepalive(&params)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(Some(keepalive))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_times_fit_within_the_keepalive() {
        let secs = Duration::from_secs;
        assert_eq!(probe_times(secs(10)), (secs(5), secs(1)));
        assert_eq!(probe_times(secs(2)), (secs(1), secs(1)));
        assert_eq!(probe_times(secs(60)), (secs(30), secs(10)));
        for k in 5..=600 {
            let (idle, interval) = probe_times(secs(k));
            assert!(idle + interval * PROBES <= secs(k), "keepalive {k} s");
        }
    }
}
