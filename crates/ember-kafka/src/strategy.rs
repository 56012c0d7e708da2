//! [`ConsumerStrategy`]: which partitions a direct stream reads and where
//! it starts (Spark's `ConsumerStrategies.Subscribe`, `SubscribePattern`,
//! `Assign`), with the consumer's Kafka parameters.

use std::collections::BTreeMap;

use crate::{KafkaError, TopicPartition};

/// The Kafka consumer parameters (librdkafka's names, which are Kafka's:
/// `bootstrap.servers`, `group.id`, `auto.offset.reset`,
/// `isolation.level`, …), as Spark's `kafkaParams` map.
pub type KafkaParams = BTreeMap<String, String>;

/// Which partitions to read.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    /// Every partition of these topics, including partitions added later.
    Topics(Vec<String>),
    /// Every partition of every topic whose whole name matches.
    Pattern(regex::Regex),
    /// Exactly these partitions.
    Partitions(Vec<TopicPartition>),
}

/// Which partitions a direct stream reads, its Kafka parameters and,
/// optionally, the offsets it starts from.
///
/// Where a partition starts, the first batch: the offset given with
/// [`with_offsets`](Self::with_offsets); else the group's committed offset
/// (when `group.id` is set); else `auto.offset.reset` (`latest`, the
/// default, or `earliest`; `none` makes a partition without a committed
/// offset an error). A partition that appears later (added to a subscribed
/// topic, or a new topic matching the pattern) is read from its earliest
/// offset, so that no record written to it is missed.
#[derive(Debug, Clone)]
pub struct ConsumerStrategy {
    pub(crate) selection: Selection,
    pub(crate) params: KafkaParams,
    pub(crate) offsets: BTreeMap<TopicPartition, i64>,
}

impl ConsumerStrategy {
    /// Every partition of `topics`, as the partitions exist at each batch.
    pub fn subscribe<S: Into<String>>(
        topics: impl IntoIterator<Item = S>,
        params: KafkaParams,
    ) -> Self {
        ConsumerStrategy {
            selection: Selection::Topics(topics.into_iter().map(Into::into).collect()),
            params,
            offsets: BTreeMap::new(),
        }
    }

    /// Every partition of every topic whose whole name matches `pattern`
    /// (a regular expression), checked at each batch.
    pub fn subscribe_pattern(pattern: &str, params: KafkaParams) -> Result<Self, KafkaError> {
        let anchored = format!("^(?:{pattern})$");
        let regex = regex::Regex::new(&anchored).map_err(|e| KafkaError::InvalidSetting {
            key: "pattern".to_owned(),
            value: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(ConsumerStrategy {
            selection: Selection::Pattern(regex),
            params,
            offsets: BTreeMap::new(),
        })
    }

    /// Exactly `partitions`.
    pub fn assign(
        partitions: impl IntoIterator<Item = TopicPartition>,
        params: KafkaParams,
    ) -> Self {
        ConsumerStrategy {
            selection: Selection::Partitions(partitions.into_iter().collect()),
            params,
            offsets: BTreeMap::new(),
        }
    }

    /// Starts these partitions at these offsets (ahead of committed offsets
    /// and `auto.offset.reset`).
    pub fn with_offsets(mut self, offsets: BTreeMap<TopicPartition, i64>) -> Self {
        self.offsets = offsets;
        self
    }

    /// The Kafka parameters.
    pub fn params(&self) -> &KafkaParams {
        &self.params
    }
}

/// Where a partition without a given or committed offset starts
/// (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetPolicy {
    Earliest,
    Latest,
    None,
}

impl ResetPolicy {
    /// The policy `params` ask for (Kafka's and librdkafka's spellings).
    pub(crate) fn from_params(params: &KafkaParams) -> Result<Self, KafkaError> {
        match params.get("auto.offset.reset").map(String::as_str) {
            None | Some("latest" | "largest" | "end") => Ok(ResetPolicy::Latest),
            Some("earliest" | "smallest" | "beginning") => Ok(ResetPolicy::Earliest),
            Some("none" | "error") => Ok(ResetPolicy::None),
            Some(other) => Err(KafkaError::InvalidSetting {
                key: "auto.offset.reset".to_owned(),
                value: other.to_owned(),
                reason: "expected earliest, latest or none".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names_and_bad_ones_are_errors() {
        let s = ConsumerStrategy::subscribe_pattern("events-.*", KafkaParams::new())
            .expect("valid pattern");
        let Selection::Pattern(re) = s.selection else {
            panic!("not a pattern")
        };
        assert!(re.is_match("events-1"));
        assert!(!re.is_match("old-events-1"));
        assert!(matches!(
            ConsumerStrategy::subscribe_pattern("(", KafkaParams::new()),
            Err(KafkaError::InvalidSetting { .. })
        ));
    }

    #[test]
    fn reset_policy_spellings() {
        let with = |v: &str| {
            ResetPolicy::from_params(&KafkaParams::from([(
                "auto.offset.reset".to_owned(),
                v.to_owned(),
            )]))
        };
        assert_eq!(
            ResetPolicy::from_params(&KafkaParams::new()).ok(),
            Some(ResetPolicy::Latest)
        );
        assert_eq!(with("smallest").ok(), Some(ResetPolicy::Earliest));
        assert_eq!(with("none").ok(), Some(ResetPolicy::None));
        assert!(with("sometimes").is_err());
    }
}
