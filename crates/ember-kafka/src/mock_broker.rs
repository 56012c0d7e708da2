//! A local Kafka-protocol broker for tests, examples and benchmarks:
//! librdkafka's mock cluster (the client authors' implementation of the
//! broker side of the protocol: Metadata, ListOffsets, Produce, Fetch,
//! consumer groups and committed offsets, transactions), in memory.
//!
//! [`MockBroker`] runs it in the current process; the
//! `ember_kafka_mock_broker` binary serves it as its own process, driven
//! by [`MockBrokerProcess`] through line commands on its standard input
//! (see [`serve`]). [`TestProducer`] writes records to any broker.
//!
//! The mock cluster cannot add partitions to an existing topic: in
//! librdkafka 2.12.1 (rdkafka-sys 4.10.0) its request handlers
//! (`rd_kafka_mock_api_handlers`) serve no CreatePartitions (nor
//! CreateTopics or DeleteTopics), and its C API has only
//! `rd_kafka_mock_topic_create`, which answers `TOPIC_ALREADY_EXISTS` for
//! an existing topic; nothing changes a topic's partition count. Its data
//! also lives only as long as its process: a
//! broker "restart" is [`MockBroker::set_down`] then
//! [`MockBroker::set_up`], which drops every connection and refuses new
//! ones in between. It also keeps only about 5 MB of log per partition and
//! deletes older records beyond that, like a broker's retention: reading
//! from offset 0 of a larger partition is then out of range.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration as StdDuration;

use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::KafkaError;

/// librdkafka's mock cluster, in this process.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockBroker {
    /// A cluster of `brokers` brokers listening on 127.0.0.1.
    pub fn start(brokers: i32) -> Result<Self, KafkaError> {
        let cluster = MockCluster::new(brokers)
            .map_err(|e| KafkaError::client("starting the mock cluster", e))?;
        Ok(MockBroker { cluster })
    }

    /// The `bootstrap.servers` of the cluster.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), KafkaError> {
        self.cluster
            .create_topic(topic, partitions, 1)
            .map_err(|e| KafkaError::client(format!("creating topic {topic}"), e))
    }

    /// Takes every broker down: connections are closed and refused.
    pub fn set_down(&self) -> Result<(), KafkaError> {
        self.cluster
            .broker_down(-1)
            .map_err(|e| KafkaError::client("taking the brokers down", e))
    }

    /// Brings every broker back up.
    pub fn set_up(&self) -> Result<(), KafkaError> {
        self.cluster
            .broker_up(-1)
            .map_err(|e| KafkaError::client("bringing the brokers up", e))
    }
}

/// Serves a [`MockBroker`] of one broker: writes `bootstrap <servers>` to
/// `output`, then executes one command per input line, answering `ok` or
/// `error <message>`, until the input ends:
/// `create <topic> <partitions>`, `down`, `up`.
pub fn serve(input: impl BufRead, mut output: impl Write) -> Result<(), KafkaError> {
    let broker = MockBroker::start(1)?;
    let io = |e: std::io::Error| KafkaError::Io {
        operation: "serving mock broker commands".to_owned(),
        source: std::sync::Arc::new(e),
    };
    writeln!(output, "bootstrap {}", broker.bootstrap_servers()).map_err(io)?;
    output.flush().map_err(io)?;
    for line in input.lines() {
        let line = line.map_err(io)?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let result = match words.as_slice() {
            ["create", topic, partitions] => match partitions.parse::<i32>() {
                Ok(n) => broker.create_topic(topic, n),
                Err(e) => Err(KafkaError::InvalidSetting {
                    key: "partitions".to_owned(),
                    value: (*partitions).to_owned(),
                    reason: e.to_string(),
                }),
            },
            ["down"] => broker.set_down(),
            ["up"] => broker.set_up(),
            _ => Err(KafkaError::InvalidSetting {
                key: "command".to_owned(),
                value: line.clone(),
                reason: "expected create <topic> <partitions>, down or up".to_owned(),
            }),
        };
        match result {
            Ok(()) => writeln!(output, "ok"),
            Err(e) => writeln!(output, "error {e}"),
        }
        .map_err(io)?;
        output.flush().map_err(io)?;
    }
    Ok(())
}

/// Why the broker process failed.
#[derive(Debug, thiserror::Error)]
pub enum MockBrokerProcessError {
    /// Spawning or talking to the process failed.
    #[error("mock broker process I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The process answered something unexpected.
    #[error("mock broker process answered {0:?}")]
    Protocol(String),
}

/// The mock broker running as its own process (the
/// `ember_kafka_mock_broker` binary); killed when dropped.
pub struct MockBrokerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    bootstrap: String,
}

impl MockBrokerProcess {
    /// Spawns the binary at `program` and waits for its address.
    pub fn spawn(program: impl AsRef<Path>) -> Result<Self, MockBrokerProcessError> {
        let mut child = Command::new(program.as_ref())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(MockBrokerProcessError::Protocol("no pipes".to_owned()));
        };
        let mut process = MockBrokerProcess {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            bootstrap: String::new(),
        };
        let first = process.read_line()?;
        match first.strip_prefix("bootstrap ") {
            Some(addr) => process.bootstrap = addr.to_owned(),
            None => return Err(MockBrokerProcessError::Protocol(first)),
        }
        Ok(process)
    }

    fn read_line(&mut self) -> Result<String, MockBrokerProcessError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(MockBrokerProcessError::Protocol("end of output".to_owned()));
        }
        Ok(line.trim_end().to_owned())
    }

    fn command(&mut self, command: &str) -> Result<(), MockBrokerProcessError> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        match self.read_line()? {
            answer if answer == "ok" => Ok(()),
            answer => Err(MockBrokerProcessError::Protocol(answer)),
        }
    }

    /// The `bootstrap.servers` of the broker.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
    ) -> Result<(), MockBrokerProcessError> {
        self.command(&format!("create {topic} {partitions}"))
    }

    /// Takes the broker down (connections closed and refused).
    pub fn set_down(&mut self) -> Result<(), MockBrokerProcessError> {
        self.command("down")
    }

    /// Brings the broker back up.
    pub fn set_up(&mut self) -> Result<(), MockBrokerProcessError> {
        self.command("up")
    }
}

impl Drop for MockBrokerProcess {
    fn drop(&mut self) {
        // Already exited is fine: both errors only mean there is nothing left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A producer for tests, examples and benchmarks: sends records and waits
/// until the broker acknowledged all of them.
pub struct TestProducer {
    producer: ThreadedProducer<DefaultProducerContext>,
}

impl TestProducer {
    /// A producer for the brokers `bootstrap` (idempotent, acks=all).
    pub fn new(bootstrap: &str) -> Result<Self, KafkaError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create::<ThreadedProducer<DefaultProducerContext>>()
            .map_err(|e| KafkaError::client("creating the producer", e))?;
        Ok(TestProducer { producer })
    }

    /// Queues `value` (with `key`, if any) for `partition` of `topic`.
    pub fn send(
        &self,
        topic: &str,
        partition: i32,
        key: Option<&str>,
        value: &str,
    ) -> Result<(), KafkaError> {
        let mut record = BaseRecord::<str, str>::to(topic)
            .partition(partition)
            .payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        let mut record = record;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    record = back;
                    self.producer.poll(StdDuration::from_millis(10));
                }
                Err((e, _)) => return Err(KafkaError::client(format!("producing to {topic}"), e)),
            }
        }
    }

    /// Waits until every queued record was acknowledged.
    pub fn flush(&self) -> Result<(), KafkaError> {
        self.producer
            .flush(StdDuration::from_secs(30))
            .map_err(|e| KafkaError::client("flushing the producer", e))
    }
}
