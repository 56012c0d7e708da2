//! The plain sequential model every run is checked against: which records
//! each batch holds (decided by when the test released them, never by what
//! the engine did), and from that the exact output every output operation
//! must produce at every batch time.

use std::collections::BTreeMap;

/// The key a record is counted under in the state.
pub(crate) const KEYS: u64 = 7;

/// Which output operation produced a logged batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Output {
    /// `update_state_by_key` summing `(n % KEYS, 1)`: the whole state.
    State,
    /// `window(3 batches, 1 batch).count()`.
    WindowCount,
}

/// One epoch's records: a context's life from a fresh start (a restart
/// that discards state begins a new epoch; recoveries continue one).
#[derive(Debug, Default, Clone)]
pub(crate) struct Epoch {
    /// The first batch time (ms).
    pub(crate) first_batch: u64,
    /// The records of each batch, by batch time (ms).
    pub(crate) batches: BTreeMap<u64, Vec<u64>>,
}

impl Epoch {
    pub(crate) fn new(first_batch: u64) -> Self {
        Epoch {
            first_batch,
            batches: BTreeMap::new(),
        }
    }

    /// Record `n` belongs to the batch at `time`.
    pub(crate) fn add(&mut self, time: u64, n: u64) {
        self.batches.entry(time).or_default().push(n);
    }

    /// Every record of the epoch, sorted.
    pub(crate) fn records(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.batches.values().flatten().copied().collect();
        all.sort_unstable();
        all
    }

    /// What `output` must produce at `time`, sorted.
    pub(crate) fn expected(&self, output: Output, time: u64, batch_ms: u64) -> Vec<(u64, u64)> {
        match output {
            Output::State => {
                let mut counts = BTreeMap::new();
                for n in self.batches.range(..=time).flat_map(|(_, r)| r) {
                    *counts.entry(n % KEYS).or_insert(0u64) += 1;
                }
                counts.into_iter().collect()
            }
            Output::WindowCount => {
                let from = time.saturating_sub(3 * batch_ms);
                let count = self
                    .batches
                    .range(from + 1..=time)
                    .map(|(_, r)| r.len() as u64)
                    .sum();
                vec![(0, count)]
            }
        }
    }
}

/// An output batch as an incarnation of the pipeline produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logged {
    pub(crate) epoch: usize,
    pub(crate) incarnation: usize,
    pub(crate) output: Output,
    pub(crate) time: u64,
    pub(crate) value: Vec<(u64, u64)>,
}

/// Checks every logged output against the model, and that every batch
/// time of every epoch (from its first batch to `last[epoch]`) was output
/// by each output operation. Returns the first difference.
pub(crate) fn check(
    epochs: &[Epoch],
    last: &[u64],
    log: &[Logged],
    batch_ms: u64,
) -> Result<(), String> {
    for entry in log {
        let expected = epochs[entry.epoch].expected(entry.output, entry.time, batch_ms);
        if entry.value != expected {
            return Err(format!(
                "epoch {} incarnation {}: {:?} at {} ms was {:?}, the model says {:?}",
                entry.epoch, entry.incarnation, entry.output, entry.time, entry.value, expected
            ));
        }
    }
    for (e, epoch) in epochs.iter().enumerate() {
        for output in [Output::State, Output::WindowCount] {
            let mut seen: Vec<u64> = log
                .iter()
                .filter(|l| l.epoch == e && l.output == output)
                .map(|l| l.time)
                .collect();
            seen.sort_unstable();
            seen.dedup();
            let expected: Vec<u64> = (epoch.first_batch..=last[e])
                .step_by(batch_ms as usize)
                .collect();
            if seen != expected {
                let missing: Vec<&u64> = expected.iter().filter(|t| !seen.contains(t)).collect();
                let extra: Vec<&u64> = seen.iter().filter(|t| !expected.contains(t)).collect();
                return Err(format!(
                    "epoch {e}: {output:?} missed batches {missing:?} and output unexpected ones {extra:?}"
                ));
            }
        }
    }
    Ok(())
}
