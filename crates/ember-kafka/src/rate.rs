//! How many records of each partition a batch may take (Spark's
//! `DirectKafkaInputDStream.maxMessagesPerPartition`): the per-partition
//! rate limit and, with `spark.streaming.backpressure.enabled`, the rate
//! the PID estimator allows, shared among the partitions by their lag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use ember_dstream::{BatchInfo, StreamingListener};
use ember_sources::receiver::PidRateEstimator;

use crate::TopicPartition;
use crate::options::ResolvedOptions;

/// The latest rate (records/s) the PID estimator allows, updated as
/// batches complete.
#[derive(Default)]
pub(crate) struct EstimatedRate {
    rate: Mutex<Option<f64>>,
}

impl EstimatedRate {
    /// The latest estimate, if any.
    pub(crate) fn get(&self) -> Option<f64> {
        *self.rate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Feeds completed batches to the PID estimator (Spark's `RateController`).
pub(crate) struct RateController {
    pub(crate) estimator: Mutex<PidRateEstimator>,
    pub(crate) rate: Arc<EstimatedRate>,
}

impl StreamingListener for RateController {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let (Some(processing), Some(scheduling)) =
            (batch.processing_delay(), batch.scheduling_delay())
        else {
            return;
        };
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let time = i64::try_from(batch.batch_time.milliseconds()).unwrap_or(i64::MAX);
        let estimate = self
            .estimator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .compute(
                time,
                batch.num_records,
                millis(processing),
                millis(scheduling),
            );
        if let Some(rate) = estimate {
            *self
                .rate
                .rate
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(rate);
        }
    }
}

/// The most records each partition's range may span in a batch of
/// `batch_ms`, given each partition's `lag` (end offset less start); `None`
/// when nothing limits the batch.
pub(crate) fn max_messages_per_partition(
    lags: &BTreeMap<TopicPartition, i64>,
    options: &ResolvedOptions,
    estimated: Option<f64>,
    batch_ms: u64,
) -> Option<BTreeMap<TopicPartition, i64>> {
    let max_rate = options.max_rate_per_partition.map(|r| r as f64);
    let total_lag: i64 = lags.values().map(|l| (*l).max(0)).sum();
    let per_partition: BTreeMap<&TopicPartition, f64> = match estimated.filter(|r| *r > 0.0) {
        Some(rate) if options.backpressure && total_lag > 0 => lags
            .iter()
            .map(|(tp, lag)| {
                let share = (*lag).max(0) as f64 / total_lag as f64 * rate;
                (tp, max_rate.map_or(share, |m| share.min(m)))
            })
            .collect(),
        _ => lags
            .keys()
            .map(|tp| (tp, max_rate.unwrap_or(0.0)))
            .collect(),
    };
    if per_partition.values().sum::<f64>() <= 0.0 {
        return None;
    }
    let secs = batch_ms as f64 / 1000.0;
    let floor = if options.backpressure {
        ((options.min_rate_per_partition as f64 * secs) as i64).max(1)
    } else {
        1
    };
    Some(
        per_partition
            .into_iter()
            .map(|(tp, limit)| (tp.clone(), ((secs * limit) as i64).max(floor)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OffsetOutOfRange;

    fn options(max: Option<u64>, backpressure: bool) -> ResolvedOptions {
        ResolvedOptions {
            max_rate_per_partition: max,
            min_rate_per_partition: 10,
            poll_timeout: std::time::Duration::from_secs(1),
            offset_out_of_range: OffsetOutOfRange::Fail,
            backpressure,
            start_timeout: std::time::Duration::from_secs(30),
        }
    }

    #[test]
    fn limits_follow_the_max_rate_and_the_estimate_by_lag() {
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        let lags = BTreeMap::from([(a.clone(), 300), (b.clone(), 100)]);
        assert_eq!(
            max_messages_per_partition(&lags, &options(None, false), None, 500),
            None
        );
        assert_eq!(
            max_messages_per_partition(&lags, &options(Some(40), false), Some(1.0), 500),
            Some(BTreeMap::from([(a.clone(), 20), (b.clone(), 20)]))
        );
        // 400 records/s estimated: 300 and 100 by lag, capped at 250, for half a second.
        assert_eq!(
            max_messages_per_partition(&lags, &options(Some(250), true), Some(400.0), 500),
            Some(BTreeMap::from([(a.clone(), 125), (b.clone(), 50)]))
        );
        // The floor under backpressure: 10 records/s for half a second.
        assert_eq!(
            max_messages_per_partition(&lags, &options(None, true), Some(4.0), 500),
            Some(BTreeMap::from([(a, 5), (b, 5)]))
        );
    }
}
