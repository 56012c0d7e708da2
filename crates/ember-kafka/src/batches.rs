//! [`GeneratedBatches`]: where each partition's next batch starts and the
//! offset ranges of every generated batch still remembered: what a
//! checkpoint saves, so that after a crash the batches that did not
//! complete read exactly the same ranges again.
//!
//! In a cluster a batch holds a range for every partition of the stream,
//! but only the ranges of the partitions this process reads (see
//! [`Placement`](crate::placement::Placement)) are real: the others are
//! placeholders `[0, 0)`, planned and read by their owners.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Where each partition this process reads starts its next batch.
    pub(crate) next: BTreeMap<TopicPartition, i64>,
    /// Every partition of the stream's batches, read here or not.
    pub(crate) partitions: BTreeSet<TopicPartition>,
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
    /// Records batch `time_ms` and moves the start of every partition
    /// this process `reads` past it.
    pub(crate) fn add(
        &mut self,
        time_ms: u64,
        ranges: Vec<OffsetRange>,
        reads: impl Fn(&TopicPartition) -> bool,
    ) {
        for r in &ranges {
            let tp = r.topic_partition();
            if reads(&tp) {
                self.next.insert(tp.clone(), r.until_offset);
            }
            self.partitions.insert(tp);
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
        let partitions = saved
            .next
            .iter()
            .map(|(tp, _)| tp.clone())
            .chain(
                saved
                    .batches
                    .iter()
                    .flat_map(|(_, ranges)| ranges.iter().map(OffsetRange::topic_partition)),
            )
            .collect();
        Ok(GeneratedBatches {
            next: saved.next.into_iter().collect(),
            partitions,
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
        let elsewhere = TopicPartition::new("t", 1);
        let here = |t: &TopicPartition| t.partition == 0;
        b.add(100, vec![OffsetRange::new(&tp, 0, 5)], here);
        b.add(200, vec![OffsetRange::new(&tp, 5, 9)], here);
        b.add(
            300,
            vec![
                OffsetRange::new(&tp, 9, 9),
                OffsetRange::new(&elsewhere, 0, 0),
            ],
            here,
        );
        let restored =
            GeneratedBatches::from_bytes(200, &b.to_bytes().expect("encodes")).expect("decodes");
        assert_eq!(restored.next, BTreeMap::from([(tp.clone(), 9)]));
        assert_eq!(
            restored.partitions,
            BTreeSet::from([tp.clone(), elsewhere.clone()])
        );
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
