//! [`ConsumerPool`]: the workers' Kafka consumers, kept between batches
//! (Spark's `KafkaDataConsumer` cache). A consumer that ended the previous
//! batch of a partition at offset `o` reads the next batch, which starts at
//! `o`, without a seek, so librdkafka's prefetched records are not thrown
//! away.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::{KafkaError, KafkaParams, TopicPartition};

/// How many idle consumers are kept per partition (two batches of one
/// partition may be read at once with `spark.streaming.concurrentJobs` > 1).
const IDLE_PER_PARTITION: usize = 2;

/// A worker consumer assigned to one partition.
pub(crate) struct PooledConsumer {
    pub(crate) consumer: BaseConsumer,
    /// The offset the consumer fetches next.
    pub(crate) next_offset: i64,
}

/// The workers' consumers, by partition.
pub(crate) struct ConsumerPool {
    config: ClientConfig,
    idle: Mutex<HashMap<TopicPartition, Vec<PooledConsumer>>>,
}

impl ConsumerPool {
    /// A pool of consumers configured from the user's `params`, as Spark
    /// configures its executors' consumers: no automatic commit or offset
    /// store, a group of their own (`spark-executor-<group.id>`; librdkafka
    /// needs one to assign partitions, and they never join it), and an
    /// out-of-range fetch reported as an error (`auto.offset.reset` =
    /// `error`) rather than reset.
    pub(crate) fn new(params: &KafkaParams) -> Self {
        let mut config = ClientConfig::new();
        for (k, v) in params {
            if k != "group.id" && k != "auto.offset.reset" {
                config.set(k, v);
            }
        }
        let group = params.get("group.id").map_or("ember", String::as_str);
        config
            .set("group.id", format!("spark-executor-{group}"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "error")
            .set("enable.partition.eof", "true");
        ConsumerPool {
            config,
            idle: Mutex::new(HashMap::new()),
        }
    }

    /// A consumer reading `tp` from `from`: a kept one that stopped exactly
    /// there, else a kept one moved there, else a new one.
    pub(crate) fn take(
        &self,
        tp: &TopicPartition,
        from: i64,
    ) -> Result<PooledConsumer, KafkaError> {
        let kept = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.get_mut(tp).and_then(|list| {
                let at = list.iter().position(|c| c.next_offset == from);
                match at {
                    Some(i) => Some(list.swap_remove(i)),
                    None => list.pop(),
                }
            })
        };
        let consumer = match kept {
            Some(c) if c.next_offset == from => return Ok(c),
            Some(c) => c.consumer,
            None => self
                .config
                .create::<BaseConsumer>()
                .map_err(|e| KafkaError::client(format!("creating a consumer for {tp}"), e))?,
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(from))
            .map_err(|e| KafkaError::client(format!("assigning {tp}"), e))?;
        consumer
            .assign(&tpl)
            .map_err(|e| KafkaError::client(format!("assigning {tp} at offset {from}"), e))?;
        Ok(PooledConsumer {
            consumer,
            next_offset: from,
        })
    }

    /// Keeps a consumer that read `tp` up to its `next_offset`.
    pub(crate) fn give_back(&self, tp: TopicPartition, consumer: PooledConsumer) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(tp).or_default();
        if list.len() < IDLE_PER_PARTITION {
            list.push(consumer);
        }
    }

    /// Drops every kept consumer (at stop).
    pub(crate) fn clear(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
