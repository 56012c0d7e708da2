//! What the crash tests share: a seeded random generator (the seed is
//! printed, so a failing run can be replayed), a child process that is
//! killed when the test ends, even by a failed assertion, and the reader of
//! the state file the crash-test binaries write.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::str::FromStr;

/// xorshift64*.
pub(crate) struct Rng {
    state: u64,
    /// The seed, for failure messages.
    pub(crate) seed: u64,
}

impl Rng {
    /// Seeded from `EMBER_FAULT_SEED` when set (to replay a failed run),
    /// else from the clock; prints the seed.
    pub(crate) fn from_clock(test: &str) -> Rng {
        let seed = std::env::var("EMBER_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
            | 1;
        eprintln!("{test}: seed {seed} (replay with EMBER_FAULT_SEED={seed})");
        Rng { state: seed, seed }
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A child process killed with SIGKILL (and reaped) when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Killed {
    /// Whether it is still running.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
    /// SIGKILL, then wait for it.
    pub(crate) fn kill(mut self) {
        self.kill_now();
    }
    fn kill_now(&mut self) {
        let _ = self.0.kill(); // SIGKILL on Unix
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// The state file a crash-test binary writes (`time <batch ms>`, then one
/// `<key> <count>` line per key): its batch time and counts, if it exists.
pub(crate) fn read_state<K: FromStr + Ord>(path: &Path) -> Option<(u64, BTreeMap<K, u64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let time = lines.next()?.strip_prefix("time ")?.parse().ok()?;
    let counts = lines
        .filter_map(|l| {
            let (key, count) = l.split_once(' ')?;
            Some((key.parse().ok()?, count.parse().ok()?))
        })
        .collect();
    Some((time, counts))
}
