//! Crash recovery of a cluster (issue #12): a 3-process stateful word count
//! over a shared directory, checkpointed two-phase into a shared checkpoint
//! directory, has one process SIGKILLed at seeded random moments (at least
//! 10 times) while files keep arriving; the survivors fail (timely has no
//! fault tolerance), and every time all processes are restarted through
//! `get_or_create`. Each process's checkpoint writes also fail now and
//! then (seeded), so the processes' parts of a checkpoint differ. No state
//! process 0 ever reports may count a word more
//! often than the files written so far hold it (a batch applied twice
//! would), and the final state must equal the model's counts exactly —
//! also when the last checkpoint is recovered with 2 threads a process;
//! a 2-process cluster must refuse it.
//!
//! The same with Kafka's direct stream as the input (`check_kafka`): a
//! 4-partition topic on librdkafka's mock broker (in the test's process,
//! so it outlives every kill) is written while a 3-process cluster reads
//! it and is killed 5 times; every partition's offsets are in its owner's
//! checkpoint part, so the final state must equal the records produced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use ember::checkpoint::testing::FaultyStore;
use ember::checkpoint::{CheckpointStore, LocalCheckpointStore};
use ember::cluster::{Cluster, ClusterConf, LocalCluster, RunningCluster};
use ember::kafka::mock_broker::{MockBroker, TestProducer};
use ember::kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};
use ember::prelude::*;
use ember::sources::file::FileStreamOptions;

use crate::Error;
use crate::stateful::{Rng, read_running_counts, run_until_stop_marker, write_running_counts};

/// The seed a default run uses.
pub(crate) const DEFAULT_SEED: u64 = 20_261_206;

/// The cluster's layout: processes x threads.
const LAYOUT: (usize, usize) = (3, 1);

/// How many processes are killed.
const KILLS: usize = 10;

/// How many processes are killed when Kafka is the input.
const KAFKA_KILLS: usize = 5;

/// The Kafka topic's partitions.
const KAFKA_PARTITIONS: i32 = 4;

/// The batch interval of the crash pipeline.
const BATCH_MS: u64 = 200;

/// The marker file that asks the cluster to stop (ignored by the file
/// stream: its name starts with `_`).
const STOP: &str = "_stop";

/// Words of the generated files.
const WORDS: [&str; 8] = [
    "apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey",
];

type Counts = BTreeMap<String, u64>;

/// A cluster process's part: the recoverable word count over `input`
/// (or, with `kafka` = (bootstrap servers, topic), over the topic),
/// checkpointed into `checkpoint`; process 0 writes the whole state after
/// every batch to `out` (atomically). Runs until the stop marker appears
/// in `input` (then stops gracefully) or until killed.
pub(crate) fn process(
    joined: &Arc<Cluster>,
    cluster: &ClusterConf,
    input: &str,
    checkpoint: &str,
    out: &str,
    seed: u64,
    kafka: Option<(&str, &str)>,
) -> Result<(), Error> {
    let threads = cluster.threads;
    // This process's parts go through a store whose writes fail now and
    // then (seeded per process and run), so that the processes' parts of
    // one checkpoint differ: only checkpoints every process holds may be
    // committed and recovered.
    let own = Path::new(checkpoint).join(format!("process-{}", cluster.process));
    let store = Arc::new(FaultyStore::new(LocalCheckpointStore::open(&own)?));
    let faulty = Arc::clone(&store);
    let input = PathBuf::from(input);
    let out = PathBuf::from(out);
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let conf = StreamingConf::new()
            .master(format!("local[{threads}]"))
            .app_name("ClusterCrash")
            .set("spark.ui.enabled", "false");
        let ssc = StreamingContext::with_exchange(
            conf,
            Duration::from_millis(BATCH_MS),
            Arc::clone(joined) as Arc<dyn ember::rdd::Exchange>,
        )?;
        ssc.checkpoint_with_store(checkpoint, Arc::clone(&faulty) as Arc<dyn CheckpointStore>);
        let lines = match kafka {
            None => {
                let options = FileStreamOptions {
                    new_files_only: false,
                    ..FileStreamOptions::default()
                };
                ssc.file_stream(&input, options)
            }
            Some((bootstrap, topic)) => {
                let params = KafkaParams::from([
                    ("bootstrap.servers".to_owned(), bootstrap.to_owned()),
                    ("auto.offset.reset".to_owned(), "earliest".to_owned()),
                ]);
                KafkaStreams::create_direct_stream::<String, String>(
                    &ssc,
                    ConsumerStrategy::subscribe([topic], params),
                    KafkaOptions::default(),
                )?
                .map(|r| r.value.unwrap_or_default())
            }
        };
        let words = lines.flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        write_running_counts(&words, Duration::from_millis(2 * BATCH_MS), out.clone())?;
        Ok(ssc)
    })?;
    ssc.start()?;
    // Once started (a failed first checkpoint would fail the start).
    let mut rng = Rng(seed ^ (cluster.process as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(StdDuration::from_millis(200 + rng.below(800)));
            store.fail_next_writes(1);
        }
    });
    run_until_stop_marker(&ssc, &input.join(STOP))
}

/// Where the input goes.
enum Sink {
    /// New files in this directory.
    Files(PathBuf),
    /// Records of this topic (acknowledged before the next is written).
    Kafka {
        producer: TestProducer,
        topic: String,
    },
}

/// The input written so far (files, or Kafka records) and the counts it
/// holds.
struct Files {
    sink: Sink,
    written: usize,
    counts: Counts,
}

impl Files {
    /// Writes the next file atomically (a `.`-name, then a rename), or
    /// the next record to a random partition, acknowledged.
    fn write_one(&mut self, rng: &mut Rng) -> Result<(), Error> {
        let mut text = String::new();
        for _ in 0..1 + rng.below(4) {
            for _ in 0..1 + rng.below(6) {
                let word = WORDS[rng.below(WORDS.len() as u64) as usize];
                *self.counts.entry(word.to_owned()).or_default() += 1;
                text.push_str(word);
                text.push(' ');
            }
            text.push('\n');
        }
        match &self.sink {
            Sink::Files(dir) => {
                let tmp = dir.join(format!(".tmp-{}", self.written));
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, dir.join(format!("f-{:05}.txt", self.written)))?;
            }
            Sink::Kafka { producer, topic } => {
                let partition = rng.below(KAFKA_PARTITIONS as u64) as i32;
                producer.send(topic, partition, None, &text)?;
                producer.flush()?;
            }
        }
        self.written += 1;
        Ok(())
    }
}

/// The last state process 0 wrote, if any.
fn read_state(path: &Path) -> Result<Option<Counts>, Error> {
    read_running_counts(path)
}

/// No count above what the files written so far hold.
fn check_not_over(state: &Counts, files: &Counts, when: &str) -> Result<(), Error> {
    for (word, &count) in state {
        let max = files.get(word).copied().unwrap_or(0);
        if count > max {
            return Err(format!(
                "{when}: {word} counted {count} times, but the files hold only {max}: a batch was applied twice"
            )
            .into());
        }
    }
    Ok(())
}

/// The kills and restarts over a file stream, then the final comparison
/// with the model, a recovery with more threads and one refused with
/// fewer processes.
pub(crate) fn check(seed: u64) -> Result<(), Error> {
    let started = Instant::now();
    let root = tempfile::tempdir()?;
    let (input, checkpoint) = (root.path().join("in"), root.path().join("ckpt"));
    let out = root.path().join("state.txt");
    std::fs::create_dir_all(&input)?;
    let files = Files {
        sink: Sink::Files(input.clone()),
        written: 0,
        counts: Counts::new(),
    };
    let files = kill_and_restart(seed, KILLS, files, &args(&input, &checkpoint, &out, seed))?;
    // The final checkpoint, recovered with 2 threads a process instead of
    // 1 (the stop marker is still there: one batch runs, then all stop).
    std::fs::remove_file(&out)?;
    LocalCluster::new(LAYOUT.0, 2)?
        .args(args(&input, &checkpoint, &out, seed))
        .spawn()?
        .wait()?;
    let recovered = read_state(&out)?.unwrap_or_default();
    if recovered != files.counts {
        return Err(format!(
            "seed {seed}: recovered with 2 threads a process, the state differs from the model\n  model:   {:?}\n  cluster: {recovered:?}",
            files.counts
        )
        .into());
    }
    check_other_process_count(&input, &checkpoint, &out)?;
    println!(
        "crash: {} x {} cluster, {KILLS} processes SIGKILLed and all restarted, {} files, {} words: final state equals the model (seed {seed}, {:.1} s)",
        LAYOUT.0,
        LAYOUT.1,
        files.written,
        files.counts.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The kills and restarts over a Kafka topic, then the final comparison
/// with the records produced.
pub(crate) fn check_kafka(seed: u64) -> Result<(), Error> {
    let started = Instant::now();
    let root = tempfile::tempdir()?;
    let (input, checkpoint) = (root.path().join("in"), root.path().join("ckpt"));
    let out = root.path().join("state.txt");
    std::fs::create_dir_all(&input)?;
    let broker = MockBroker::start(1)?;
    let bootstrap = broker.bootstrap_servers();
    let topic = "crash";
    broker.create_topic(topic, KAFKA_PARTITIONS)?;
    let records = Files {
        sink: Sink::Kafka {
            producer: TestProducer::new(&bootstrap)?,
            topic: topic.to_owned(),
        },
        written: 0,
        counts: Counts::new(),
    };
    let mut process_args = args(&input, &checkpoint, &out, seed).to_vec();
    process_args.extend([
        "--bootstrap".to_owned(),
        bootstrap,
        "--topic".to_owned(),
        topic.to_owned(),
    ]);
    let records = kill_and_restart(seed, KAFKA_KILLS, records, &process_args)?;
    println!(
        "crash (kafka): {} x {} cluster over {KAFKA_PARTITIONS} Kafka partitions, {KAFKA_KILLS} processes SIGKILLed and all restarted, {} records, {} words: final state equals the records produced (seed {seed}, {:.1} s)",
        LAYOUT.0,
        LAYOUT.1,
        records.written,
        records.counts.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Starts the cluster with `process_args`, kills a random process `kills`
/// times while `files` keeps growing, restarting all each time; then
/// waits until the state holds every word and stops the cluster. Fails
/// when a reported state ever counts a word more often than the input
/// holds it, or when the final state is not the model.
fn kill_and_restart(
    seed: u64,
    kills: usize,
    mut files: Files,
    process_args: &[String],
) -> Result<Files, Error> {
    let input = PathBuf::from(arg(process_args, "--dir")?);
    let out = PathBuf::from(arg(process_args, "--out")?);
    // Run `run` of the cluster (its processes' write failures are seeded
    // by the test's seed and the run).
    let launch = |run: u64| -> Result<RunningCluster, Error> {
        let mut process_args = process_args.to_vec();
        if let Some(i) = process_args.iter().position(|a| a == "--seed") {
            process_args[i + 1] = seed.wrapping_add(run).to_string();
        }
        Ok(LocalCluster::new(LAYOUT.0, LAYOUT.1)?
            .args(process_args)
            .spawn()?)
    };
    let mut rng = Rng(seed | 1);
    let mut cluster = launch(0)?;
    for kill in 0..kills {
        // Files keep arriving until the kill, 300 ms to 2.5 s away.
        let at = Instant::now() + StdDuration::from_millis(300 + rng.below(2_200));
        while Instant::now() < at {
            files.write_one(&mut rng)?;
            std::thread::sleep(StdDuration::from_millis(20 + rng.below(100)));
        }
        let victim = rng.below(LAYOUT.0 as u64) as usize;
        cluster.kill(victim)?;
        let statuses = cluster.wait_all_within(StdDuration::from_secs(30))?;
        if let Some(p) = (0..LAYOUT.0).find(|&p| p != victim && statuses[p].success()) {
            return Err(format!(
                "seed {seed}: process {p} exited successfully after process {victim} was killed"
            )
            .into());
        }
        if let Some(state) = read_state(&out)? {
            check_not_over(
                &state,
                &files.counts,
                &format!("seed {seed}, after kill {kill}"),
            )?;
        }
        cluster = launch(kill as u64 + 1)?;
    }
    // The last files, then wait until every word is counted.
    for _ in 0..5 {
        files.write_one(&mut rng)?;
    }
    let total: u64 = files.counts.values().sum();
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let last = loop {
        let state = read_state(&out)?.unwrap_or_default();
        check_not_over(
            &state,
            &files.counts,
            &format!("seed {seed}, after the kills"),
        )?;
        if state.values().sum::<u64>() == total || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(StdDuration::from_millis(50));
    };
    std::fs::write(input.join(STOP), "")?;
    cluster.wait()?;
    if last != files.counts {
        return Err(format!(
            "seed {seed}: after {kills} kills the final state differs from the model\n  model:   {:?}\n  cluster: {last:?}",
            files.counts
        )
        .into());
    }
    Ok(files)
}

/// The value of `flag` in `process_args`.
fn arg<'a>(process_args: &'a [String], flag: &str) -> Result<&'a str, Error> {
    process_args
        .iter()
        .position(|a| a == flag)
        .and_then(|i| process_args.get(i + 1))
        .map(String::as_str)
        .ok_or_else(|| format!("no {flag} among the arguments").into())
}

/// The arguments of a crash-mode process.
fn args(input: &Path, checkpoint: &Path, out: &Path, seed: u64) -> [String; 10] {
    [
        "--mode".to_owned(),
        "crash".to_owned(),
        "--dir".to_owned(),
        input.display().to_string(),
        "--ckpt".to_owned(),
        checkpoint.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
        "--seed".to_owned(),
        seed.to_string(),
    ]
}

/// A cluster of another size refuses the checkpoint, every process with
/// an error saying how many processes wrote it.
fn check_other_process_count(input: &Path, checkpoint: &Path, out: &Path) -> Result<(), Error> {
    let processes = LAYOUT.0 - 1;
    let statuses = LocalCluster::new(processes, LAYOUT.1)?
        .args(args(input, checkpoint, out, 0))
        .spawn()?
        .wait_all_within(StdDuration::from_secs(30))?;
    let wanted = format!(
        "written by a cluster of {} processes, this one has {processes}",
        LAYOUT.0
    );
    for (p, status) in statuses.iter().enumerate() {
        let error =
            std::fs::read_to_string(format!("{}.{p}.err", out.display())).unwrap_or_default();
        if status.success() || !error.contains(&wanted) {
            return Err(format!(
                "a {processes}-process cluster on a {}-process checkpoint: process {p} should fail saying {wanted:?}, got {error:?}",
                LAYOUT.0
            )
            .into());
        }
    }
    Ok(())
}
