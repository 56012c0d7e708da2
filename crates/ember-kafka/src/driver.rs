//! [`Driver`]: the stream's own consumer on the generating side (Spark's
//! driver consumer): finds the partitions to read, asks the broker for
//! their earliest and end offsets, reads committed offsets and commits.
//! It never joins the consumer group: the offsets live in ember's
//! checkpoint, and commits are the simple-consumer commits Spark's
//! `commitAsync` makes.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::strategy::Selection;
use crate::{KafkaError, KafkaParams, OffsetRange, TopicPartition};

/// The longest one metadata or offset request may take.
const MAX_REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// The shortest.
const MIN_REQUEST_TIMEOUT: StdDuration = StdDuration::from_millis(200);

/// The generating side's consumer.
pub(crate) struct Driver {
    consumer: BaseConsumer,
    has_group: bool,
    /// How long one request may take: the batch interval within
    /// [200 ms, 5 s], so that a broker that does not answer cannot hold up
    /// batch generation for much longer than a batch.
    timeout: StdDuration,
}

impl Driver {
    /// A consumer with the user's `params` and no automatic commit, for
    /// batches of `batch`.
    pub(crate) fn new(params: &KafkaParams, batch: StdDuration) -> Result<Self, KafkaError> {
        let mut config = ClientConfig::new();
        for (k, v) in params {
            config.set(k, v);
        }
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        let consumer = config
            .create::<BaseConsumer>()
            .map_err(|e| KafkaError::client("creating the driver consumer", e))?;
        Ok(Driver {
            consumer,
            has_group: params.contains_key("group.id"),
            timeout: batch.clamp(MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT),
        })
    }

    /// The partitions `selection` names now, sorted.
    pub(crate) fn partitions(
        &self,
        selection: &Selection,
    ) -> Result<Vec<TopicPartition>, KafkaError> {
        let mut found = Vec::new();
        match selection {
            Selection::Partitions(list) => found.extend(list.iter().cloned()),
            Selection::Topics(topics) => {
                for topic in topics {
                    let metadata = self
                        .consumer
                        .fetch_metadata(Some(topic), self.timeout)
                        .map_err(|e| {
                            KafkaError::client(format!("reading metadata of {topic}"), e)
                        })?;
                    for t in metadata.topics() {
                        if t.error().is_none() {
                            found.extend(
                                t.partitions()
                                    .iter()
                                    .map(|p| TopicPartition::new(t.name(), p.id())),
                            );
                        }
                    }
                }
            }
            Selection::Pattern(regex) => {
                let metadata = self
                    .consumer
                    .fetch_metadata(None, self.timeout)
                    .map_err(|e| KafkaError::client("reading the cluster's metadata", e))?;
                for t in metadata.topics() {
                    if t.error().is_none() && regex.is_match(t.name()) {
                        found.extend(
                            t.partitions()
                                .iter()
                                .map(|p| TopicPartition::new(t.name(), p.id())),
                        );
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The earliest offset the broker keeps and its end offset (the last
    /// stable offset for `isolation.level` = `read_committed`).
    pub(crate) fn watermarks(&self, tp: &TopicPartition) -> Result<(i64, i64), KafkaError> {
        self.consumer
            .fetch_watermarks(&tp.topic, tp.partition, self.timeout)
            .map_err(|e| KafkaError::client(format!("reading the offsets of {tp}"), e))
    }

    /// The group's committed offsets of `partitions` (none without a
    /// `group.id`).
    pub(crate) fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, KafkaError> {
        let mut out = BTreeMap::new();
        if !self.has_group || partitions.is_empty() {
            return Ok(out);
        }
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let committed = self
            .consumer
            .committed_offsets(tpl, self.timeout)
            .map_err(|e| KafkaError::client("reading the group's committed offsets", e))?;
        for elem in committed.elements() {
            if let Offset::Offset(o) = elem.offset() {
                out.insert(TopicPartition::new(elem.topic(), elem.partition()), o);
            }
        }
        Ok(out)
    }

    /// Commits the ends of `ranges` to the group without waiting.
    pub(crate) fn commit_async(&self, ranges: &[OffsetRange]) -> Result<(), KafkaError> {
        if !self.has_group {
            return Err(KafkaError::InvalidSetting {
                key: "group.id".to_owned(),
                value: String::new(),
                reason: "commit_async needs a group.id in the Kafka parameters".to_owned(),
            });
        }
        let mut tpl = TopicPartitionList::new();
        for r in ranges {
            tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(r.until_offset))
                .map_err(|e| KafkaError::client("building the commit", e))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Async)
            .map_err(|e| KafkaError::client("committing offsets", e))?;
        // Serves the commit's result callback (logged by the client).
        let _ = self.consumer.poll(StdDuration::ZERO);
        Ok(())
    }
}
