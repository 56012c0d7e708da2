//! [`GeneratedBatches`]: where each partition's next batch starts and the
//! offset ranges of every generated batch still remembered: what a
//! checkpoint saves, so that after a crash the batches that did not
//! complete read exactly the same ranges again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{KafkaError, OffsetRange, TopicPartition};

/// One generated batch.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) ranges: Vec<OffsetRange>,
    /// Whether its record count was reported to the listeners.
    pub(crate) reported: bool,
}

/// The offsets of a direct stream.
#[derive(Debug, Default)]
pub(crate) struct GeneratedBatches {
    /// Where each known partition's next batch starts.
    pub(crate) next: BTreeMap<TopicPartition, i64>,
    /// The generated batches by time (ms).
    pub(crate) batches: BTreeMap<u64, Batch>,
    /// The time of the checkpoint restored, if any: batches at or before it
    /// completed before the crash, and their records are not reported again.
    pub(crate) restored_at: Option<u64>,
}

/// The checkpointed form.
#[derive(Serialize, Deserialize)]
struct Saved {
    next: Vec<(TopicPartition, i64)>,
    batches: Vec<(u64, Vec<OffsetRange>)>,
}

impl GeneratedBatches {
    /// Records batch `time_ms` and moves every partition's start past it.
    pub(crate) fn add(&mut self, time_ms: u64, ranges: Vec<OffsetRange>) {
        for r in &ranges {
            self.next.insert(r.topic_partition(), r.until_offset);
        }
        self.batches.insert(
            time_ms,
            Batch {
                ranges,
                reported: false,
            },
        );
    }

    /// Forgets batches before `cutoff_ms`.
    pub(crate) fn forget_before(&mut self, cutoff_ms: u64) {
        self.batches = self.batches.split_off(&cutoff_ms);
    }

    /// The bytes a checkpoint keeps: every partition's next start and every
    /// remembered batch, pending ones included.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, KafkaError> {
        let saved = Saved {
            next: self.next.iter().map(|(tp, o)| (tp.clone(), *o)).collect(),
            batches: self
                .batches
                .iter()
                .map(|(t, b)| (*t, b.ranges.clone()))
                .collect(),
        };
        postcard::to_stdvec(&saved).map_err(|e| KafkaError::CorruptCheckpoint {
            message: e.to_string(),
        })
    }

    /// The offsets a checkpoint of `time_ms` saved.
    pub(crate) fn from_bytes(time_ms: u64, bytes: &[u8]) -> Result<Self, KafkaError> {
        let saved: Saved =
            postcard::from_bytes(bytes).map_err(|e| KafkaError::CorruptCheckpoint {
                message: e.to_string(),
            })?;
        Ok(GeneratedBatches {
            next: saved.next.into_iter().collect(),
            batches: saved
                .batches
                .into_iter()
                .map(|(t, ranges)| {
                    (
                        t,
                        Batch {
                            ranges,
                            reported: t <= time_ms,
                        },
                    )
                })
                .collect(),
            restored_at: Some(time_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_pending_batches_and_forgets_old_ones() {
        let tp = TopicPartition::new("t", 0);
        let mut b = GeneratedBatches::default();
        b.add(100, vec![OffsetRange::new(&tp, 0, 5)]);
        b.add(200, vec![OffsetRange::new(&tp, 5, 9)]);
        b.add(300, vec![OffsetRange::new(&tp, 9, 9)]);
        let restored =
            GeneratedBatches::from_bytes(200, &b.to_bytes().expect("encodes")).expect("decodes");
        assert_eq!(restored.next, BTreeMap::from([(tp.clone(), 9)]));
        let reported: Vec<(u64, bool)> = restored
            .batches
            .iter()
            .map(|(t, b)| (*t, b.reported))
            .collect();
        assert_eq!(reported, vec![(100, true), (200, true), (300, false)]);
        b.forget_before(200);
        assert_eq!(
            b.batches.keys().copied().collect::<Vec<_>>(),
            vec![200, 300]
        );
        assert!(matches!(
            GeneratedBatches::from_bytes(1, &[0xff, 0xff]),
            Err(KafkaError::CorruptCheckpoint { .. })
        ));
    }
}
