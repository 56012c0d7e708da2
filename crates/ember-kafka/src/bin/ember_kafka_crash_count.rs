//! A recoverable, stateful word count over a Kafka topic, for the crash
//! test (`tests/crash.rs`): killed with SIGKILL at random moments and
//! restarted with `get_or_create`, it must end with exactly the counts of
//! the records in the topic.
//!
//! Usage: `ember_kafka_crash_count <bootstrap> <topic> <checkpoint dir> <state file> [batch ms]`.
//! Every batch it writes the whole state to `<state file>` atomically (temp
//! file, fsync, rename): one `<word> <count>` line per word, sorted.

use std::io::Write;
use std::path::{Path, PathBuf};

use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError};
use ember_kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};

/// Writes `state` to `path` atomically.
fn write_state(path: &Path, mut state: Vec<(String, u64)>) -> std::io::Result<()> {
    state.sort_unstable();
    let tmp = path.with_extension("tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    for (word, count) in state {
        writeln!(file, "{word} {count}")?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn run() -> Result<(), StreamingError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, checkpoint, out, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: ember_kafka_crash_count <bootstrap> <topic> <checkpoint dir> <state file> [batch ms]"
        );
        std::process::exit(2);
    };
    let batch_ms: u64 = rest.first().and_then(|b| b.parse().ok()).unwrap_or(100);
    let out = PathBuf::from(out);
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let ssc = StreamingContext::new(
            StreamingConf::new()
                .master("local[2]")
                .app_name("ember_kafka_crash_count")
                .set("spark.streaming.kafka.maxRatePerPartition", "2000"),
            Duration::from_millis(batch_ms),
        )?;
        let params = KafkaParams::from([
            ("bootstrap.servers".to_owned(), bootstrap.clone()),
            ("auto.offset.reset".to_owned(), "earliest".to_owned()),
        ]);
        let stream = KafkaStreams::create_direct_stream::<String, String>(
            &ssc,
            ConsumerStrategy::subscribe([topic.clone()], params),
            KafkaOptions::default(),
        )?;
        let counts = stream
            .flat_map(|r| {
                r.value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .map(|w| (w, 1u64))
            .update_state_by_key(|new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            })
            .checkpoint(Duration::from_millis(batch_ms * 3))?;
        counts.foreach_rdd(move |rdd, _| {
            let state = rdd.collect().map_err(|e| e.to_string())?;
            Ok(write_state(&out, state).map_err(|e| e.to_string())?)
        })?;
        Ok(ssc)
    })?;
    if let Some(time) = ssc.recovered_from() {
        eprintln!("recovered from checkpoint at {time}");
    }
    ssc.start()?;
    ssc.await_termination()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("ember_kafka_crash_count: {e}");
        std::process::exit(1);
    }
}
