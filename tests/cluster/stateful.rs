//! What the crash checks' processes share: the checkpointed running count
//! per key, the state file process 0 writes after every batch (and its
//! reader), the wait for the stop marker, and the seeded generator.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ember::prelude::*;
use ember::rdd::Data;

use crate::Error;

/// Counts each key across batches (`update_state_by_key`, checkpointed
/// every `checkpoint_every`); process 0 writes the whole state after every
/// batch to `out`, atomically: a `time <ms>` line, then `<key> <count>`
/// lines in key order.
pub(crate) fn write_running_counts<K: Data + Hash + Eq + Ord + Display>(
    keys: &DStream<K>,
    checkpoint_every: Duration,
    out: PathBuf,
) -> Result<(), StreamingError> {
    let counts = keys
        .map(|key| (key, 1u64))
        .update_state_by_key(|values: &[u64], state: Option<u64>| {
            Some(state.unwrap_or(0) + values.iter().sum::<u64>())
        })
        .checkpoint(checkpoint_every)?;
    counts.foreach_rdd(move |rdd, time| {
        let mut counts = rdd.collect()?;
        if rdd.context().is_driver() {
            counts.sort();
            let mut text = format!("time {}\n", time.milliseconds());
            for (key, count) in counts {
                text.push_str(&format!("{key} {count}\n"));
            }
            let tmp = out.with_extension("tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &out)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The last state process 0 wrote (see [`write_running_counts`]), if any.
pub(crate) fn read_running_counts<K>(path: &Path) -> Result<Option<BTreeMap<K, u64>>, Error>
where
    K: FromStr + Ord,
    K::Err: std::error::Error + 'static,
{
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let mut counts = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (key, count) = line
            .split_once(' ')
            .ok_or_else(|| format!("bad state line {line:?}"))?;
        counts.insert(key.parse()?, count.parse()?);
    }
    Ok(Some(counts))
}

/// Waits until `ssc` ends, stopping it gracefully once `stop` exists.
pub(crate) fn run_until_stop_marker(ssc: &StreamingContext, stop: &Path) -> Result<(), Error> {
    while !ssc.await_termination_or_timeout(Duration::from_millis(50))? {
        if stop.exists() {
            ssc.stop(StopOptions {
                stop_gracefully: true,
            })?;
        }
    }
    Ok(())
}

/// A seeded xorshift generator: the checks' randomness.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next number below `n` (0 for `n` = 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
