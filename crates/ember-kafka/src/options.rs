//! [`KafkaOptions`]: the direct stream's rate limits, read timeout and what
//! to do with an offset that fell out of retention; unset fields come from
//! the context's configuration (`spark.streaming.kafka.*`).

use std::time::Duration as StdDuration;

use ember_dstream::StreamingConf;

use crate::KafkaError;

/// The key of the per-partition rate limit (records/s).
pub const MAX_RATE_PER_PARTITION: &str = "spark.streaming.kafka.maxRatePerPartition";
/// The key of the per-partition rate floor under backpressure (records/s).
pub const MIN_RATE_PER_PARTITION: &str = "spark.streaming.kafka.minRatePerPartition";
/// The key of how long a worker waits for a record before failing (ms).
pub const POLL_TIMEOUT_MS: &str = "spark.streaming.kafka.consumer.poll.ms";
/// The key of the out-of-range policy (`error` or `earliest`); ember only.
pub const OFFSET_OUT_OF_RANGE: &str = "ember.kafka.offsetOutOfRange";
/// The key of how long `start` retries reaching the brokers for the
/// starting offsets (ms, default 30000); ember only.
pub const START_TIMEOUT_MS: &str = "ember.kafka.startTimeoutMs";

/// What a batch does when the offset it must start from is no longer kept
/// by the broker (retention) or lies past its end (a recreated topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetOutOfRange {
    /// Fail the batch with [`KafkaError::OffsetOutOfRange`] (the default:
    /// records were lost, and the user must know).
    #[default]
    Fail,
    /// Continue from the earliest offset the broker keeps, with a logged
    /// warning and a listener error event naming the lost offsets.
    ResetToEarliest,
}

/// Options of a direct stream; `None` fields take the configuration's value
/// (or Spark's default).
#[derive(Debug, Clone, Default)]
pub struct KafkaOptions {
    /// At most this many records per second and partition
    /// (`spark.streaming.kafka.maxRatePerPartition`; unset or 0: no limit).
    pub max_rate_per_partition: Option<u64>,
    /// Under backpressure, at least this many records per second and
    /// partition (`spark.streaming.kafka.minRatePerPartition`, default 1).
    pub min_rate_per_partition: Option<u64>,
    /// How long a worker waits without receiving a record of a range it
    /// must read before failing the task
    /// (`spark.streaming.kafka.consumer.poll.ms`, default 120 s).
    pub poll_timeout: Option<StdDuration>,
    /// An offset out of range: fail, or reset to the earliest
    /// (`ember.kafka.offsetOutOfRange` = `error` | `earliest`).
    pub offset_out_of_range: Option<OffsetOutOfRange>,
    /// How long the context's `start` retries reaching the brokers for the
    /// starting offsets before it fails with `StreamingError::Input`
    /// (`ember.kafka.startTimeoutMs`, default 30 s).
    pub start_timeout: Option<StdDuration>,
}

/// The options with every field decided.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResolvedOptions {
    pub(crate) max_rate_per_partition: Option<u64>,
    pub(crate) min_rate_per_partition: u64,
    pub(crate) poll_timeout: StdDuration,
    pub(crate) offset_out_of_range: OffsetOutOfRange,
    pub(crate) backpressure: bool,
    pub(crate) start_timeout: StdDuration,
}

fn parse_u64(conf: &StreamingConf, key: &str) -> Result<Option<u64>, KafkaError> {
    conf.get(key)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|e| KafkaError::InvalidSetting {
                    key: key.to_owned(),
                    value: v.to_owned(),
                    reason: e.to_string(),
                })
        })
        .transpose()
}

impl KafkaOptions {
    /// The options, unset fields taken from `conf`.
    pub(crate) fn resolve(&self, conf: &StreamingConf) -> Result<ResolvedOptions, KafkaError> {
        let max_rate = match self.max_rate_per_partition {
            Some(rate) => Some(rate),
            None => parse_u64(conf, MAX_RATE_PER_PARTITION)?,
        }
        .filter(|&r| r > 0);
        let min_rate = match self.min_rate_per_partition {
            Some(rate) => rate,
            None => parse_u64(conf, MIN_RATE_PER_PARTITION)?.unwrap_or(1),
        };
        if min_rate == 0 {
            return Err(KafkaError::InvalidSetting {
                key: MIN_RATE_PER_PARTITION.to_owned(),
                value: "0".to_owned(),
                reason: "must be positive".to_owned(),
            });
        }
        let poll_ms = match self.poll_timeout {
            Some(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            None => parse_u64(conf, POLL_TIMEOUT_MS)?.unwrap_or(120_000),
        };
        let start_ms = match self.start_timeout {
            Some(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            None => parse_u64(conf, START_TIMEOUT_MS)?.unwrap_or(30_000),
        };
        let out_of_range = match self.offset_out_of_range {
            Some(policy) => policy,
            None => match conf.get(OFFSET_OUT_OF_RANGE) {
                None | Some("error") => OffsetOutOfRange::Fail,
                Some("earliest") => OffsetOutOfRange::ResetToEarliest,
                Some(other) => {
                    return Err(KafkaError::InvalidSetting {
                        key: OFFSET_OUT_OF_RANGE.to_owned(),
                        value: other.to_owned(),
                        reason: "expected error or earliest".to_owned(),
                    });
                }
            },
        };
        let backpressure = matches!(
            conf.get("spark.streaming.backpressure.enabled"),
            Some("true")
        );
        Ok(ResolvedOptions {
            max_rate_per_partition: max_rate,
            min_rate_per_partition: min_rate,
            poll_timeout: StdDuration::from_millis(poll_ms.max(1)),
            offset_out_of_range: out_of_range,
            backpressure,
            start_timeout: StdDuration::from_millis(start_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_win_over_the_configuration_which_wins_over_defaults() {
        let conf = StreamingConf::new()
            .set(MAX_RATE_PER_PARTITION, "50")
            .set(OFFSET_OUT_OF_RANGE, "earliest");
        let resolved = KafkaOptions::default().resolve(&conf).expect("valid");
        assert_eq!(resolved.max_rate_per_partition, Some(50));
        assert_eq!(resolved.min_rate_per_partition, 1);
        assert_eq!(resolved.poll_timeout, StdDuration::from_secs(120));
        assert_eq!(resolved.start_timeout, StdDuration::from_secs(30));
        assert_eq!(
            resolved.offset_out_of_range,
            OffsetOutOfRange::ResetToEarliest
        );
        let own = KafkaOptions {
            max_rate_per_partition: Some(7),
            ..KafkaOptions::default()
        };
        assert_eq!(
            own.resolve(&conf).expect("valid").max_rate_per_partition,
            Some(7)
        );
        let bad = StreamingConf::new().set(MAX_RATE_PER_PARTITION, "fast");
        assert!(matches!(
            KafkaOptions::default().resolve(&bad),
            Err(KafkaError::InvalidSetting { .. })
        ));
    }
}
