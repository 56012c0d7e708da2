//! Cluster mode against local mode (issue #12): the same pipelines over the
//! same random batches (see `suite.rs`) must give the same batches
//! on a cluster of real processes on 127.0.0.1, connected by timely, as on
//! the local engine: 1 process × 2 threads, 2 × 1 and 3 × 1.
//!
//! The binary is its own harness (`harness = false`): run as the test, it
//! computes the local results and starts each cluster with
//! [`LocalCluster`], which runs this same binary with timely's `-n -p -w
//! -h` options; run with `-p`, it is one process of such a cluster, and
//! process 0 writes what its outputs saw to the file given by `--out`.
//!
//! The equivalence check is a proptest: `TestRunner` (a few cases, a
//! ChaCha generator seeded with `EMBER_CLUSTER_SEED`, default
//! [`DEFAULT_SEED`], no failure persistence) draws the inputs and
//! partition counts ([`suite::cases`]); each case runs locally and on every
//! layout, its inputs handed to the processes as a postcard file. A
//! failure shrinks to a minimal case, prints it and writes it to a file
//! that `EMBER_CLUSTER_CASE=<file>` reruns alone.
//!
//! `save_as_text_files` on a 2-process cluster writes one shared directory
//! per batch, in Spark's layout, with exactly local mode's lines (see
//! `save.rs`). Three more checks: socket receivers in a 2-process cluster (receiver
//! `i` on process `i % 2`), then a file stream over a shared directory
//! (each process takes the files hashing to it), feed a stateful word
//! count whose final state must equal the model's counts exactly; and a
//! process SIGKILLed while a 3-process cluster runs makes the other two
//! fail promptly with an error naming it (no hang); so does a process
//! SIGSTOPped in a cluster with a round timeout.
//!
//! Kafka's direct stream (`kafka.rs`): a topic of 4 partitions written
//! while a 2 x 1 cluster reads it; each batch's word counts must equal
//! the words of exactly the ranges its processes report (each partition
//! planned once, by its owner), every record once.
//!
//! A graceful stop asked by process 1 of a 2 x 2 cluster processes every
//! record its two receivers accepted (`graceful.rs`).
//!
//! Crash recovery (`crash.rs`): a 3-process checkpointed word count over a
//! file stream has a process SIGKILLed 10 times at seeded random moments;
//! each time all are restarted through `get_or_create`, and the final
//! state must equal the model exactly.
//! The same over a Kafka topic (`EMBER_CLUSTER_CHECK=crash-kafka`): 5
//! kills of a 3-process cluster reading 4 partitions; the final state must
//! equal the records produced. And with reliable receivers and the
//! write-ahead log (`wal.rs`, `EMBER_CLUSTER_CHECK=crash-wal`): 5 kills of
//! a 2 x 2 cluster with one acknowledging receiver per process; every
//! record counted once (at most as often as sent, if sent again).

mod crash;
mod graceful;
mod inputs;
mod kafka;
mod save;
mod stateful;
mod suite;
mod wal;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ember::cluster::{Cluster, ClusterConf, LocalCluster};
use ember::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// The seed of a default run.
const DEFAULT_SEED: u64 = 7;
/// Proptest cases of the equivalence check (each runs [`LAYOUTS`]).
const EQUIVALENCE_CASES: u32 = 2;
/// Longest time spent shrinking a failing equivalence case.
const MAX_SHRINK_MS: u32 = 600_000;
/// Most cases tried while shrinking (proptest's default is 4 per case).
const MAX_SHRINK_ITERS: u32 = 10_000;

/// The layouts checked: (processes, threads per process).
const LAYOUTS: [(usize, usize); 3] = [(1, 2), (2, 1), (3, 1)];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.iter().any(|a| a == "-p") {
        run_process(args)
    } else {
        run_checks()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster test failed: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) type Error = Box<dyn std::error::Error>;

/// What a process of a cluster the checks started is asked to do.
struct Task {
    mode: String,
    seed: u64,
    out: String,
    ports: Vec<u16>,
    dir: String,
    checkpoint: String,
    expected_words: u64,
    case: String,
    bootstrap: String,
    topic: String,
}

/// One process of a cluster the checks started: runs its task; process 0
/// writes the result to `--out`, and a process that fails writes its error
/// to `<out>.<process>.err`.
fn run_process(args: Vec<String>) -> Result<(), Error> {
    let (cluster, rest) = ClusterConf::from_args(args)?;
    let mut task = Task {
        mode: String::new(),
        seed: 0,
        out: String::new(),
        ports: Vec::new(),
        dir: String::new(),
        checkpoint: String::new(),
        expected_words: 0,
        case: String::new(),
        bootstrap: String::new(),
        topic: String::new(),
    };
    let mut it = rest.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mode" => task.mode = value,
            "--seed" => task.seed = value.parse()?,
            "--out" => task.out = value,
            "--port" => task.ports.push(value.parse()?),
            "--expected-words" => task.expected_words = value.parse()?,
            "--dir" => task.dir = value,
            "--ckpt" => task.checkpoint = value,
            "--bootstrap" => task.bootstrap = value,
            "--case" => task.case = value,
            "--topic" => task.topic = value,
            _ => return Err(format!("unexpected argument {flag}").into()),
        }
    }
    let result = run_task(&cluster, &task);
    if let Err(e) = &result {
        std::fs::write(
            format!("{}.{}.err", task.out, cluster.process),
            e.to_string(),
        )?;
    }
    result
}

fn run_task(cluster: &ClusterConf, task: &Task) -> Result<(), Error> {
    // Joined here, not from the configuration, so that one process also
    // runs through the exchange.
    let joined = Arc::new(Cluster::connect(cluster)?);
    if task.mode == "graceful" {
        graceful::process(&joined, cluster, &task.out)?;
        joined.shutdown()?;
        return Ok(());
    }
    if task.mode == "crash-wal" {
        wal::process(
            &joined,
            cluster,
            &task.ports,
            &task.dir,
            &task.checkpoint,
            &task.out,
        )?;
        joined.shutdown()?;
        return Ok(());
    }
    if task.mode == "crash" {
        crash::process(
            &joined,
            cluster,
            &task.dir,
            &task.checkpoint,
            &task.out,
            task.seed,
            (!task.bootstrap.is_empty()).then_some((task.bootstrap.as_str(), task.topic.as_str())),
        )?;
        joined.shutdown()?;
        return Ok(());
    }
    let conf = StreamingConf::new()
        .master(format!("local[{}]", cluster.threads))
        .app_name("ClusterTest")
        .set("spark.ui.enabled", "false");
    let batch = if task.mode == "kafka" {
        kafka::batch_interval()
    } else {
        suite::batch_interval()
    };
    let ssc = StreamingContext::with_exchange(
        conf,
        batch,
        Arc::clone(&joined) as Arc<dyn ember::rdd::Exchange>,
    )?;
    let lines = match task.mode.as_str() {
        "equivalence" => suite::run(ssc, &read_case(Path::new(&task.case))?)?,
        "save" => {
            suite::save(ssc, task.seed, &task.dir)?;
            Vec::new()
        }
        "receivers" => inputs::receivers(ssc, &task.ports, task.expected_words)?,
        "files" => inputs::files(ssc, &task.dir, task.expected_words)?,
        "endless" => inputs::endless(ssc)?,
        "kafka" => kafka::process(ssc, &task.bootstrap, &task.topic, task.expected_words)?,
        other => return Err(format!("unknown mode {other}").into()),
    };
    if cluster.process == 0 {
        std::fs::write(&task.out, lines.join("\n"))?;
    }
    joined.shutdown()?;
    Ok(())
}

/// Every check (`EMBER_CLUSTER_CHECK=crash`, say, runs one).
fn run_checks() -> Result<(), Error> {
    if let Ok(only) = std::env::var("EMBER_CLUSTER_CHECK") {
        return match only.as_str() {
            "crash" => check_crash(),
            "crash-kafka" => check_crash_kafka(),
            "crash-wal" => check_crash_wal(),
            "graceful" => graceful::check(),
            "equivalence" => check_equivalence(),
            "kafka" => kafka::check(),
            "save" => save::check_save(seed()?),
            "peer-stopped" => inputs::check_peer_stopped(),
            other => Err(format!("unknown check {other}").into()),
        };
    }
    check_equivalence()?;
    save::check_save(seed()?)?;
    inputs::check_receivers()?;
    inputs::check_file_stream()?;
    kafka::check()?;
    inputs::check_peer_death()?;
    inputs::check_peer_stopped()?;
    graceful::check()?;
    check_crash()?;
    check_crash_kafka()?;
    check_crash_wal()?;
    Ok(())
}

/// `EMBER_CLUSTER_SEED`, or [`DEFAULT_SEED`].
fn seed() -> Result<u64, Error> {
    Ok(match std::env::var("EMBER_CLUSTER_SEED") {
        Ok(seed) => seed.parse()?,
        Err(_) => DEFAULT_SEED,
    })
}

/// A proptest case written by [`write_case`].
fn read_case(path: &Path) -> Result<Vec<suite::Inputs>, Error> {
    Ok(postcard::from_bytes(&std::fs::read(path)?)?)
}

/// Writes a proptest case for the processes (or a rerun) to read.
fn write_case(path: &Path, case: &[suite::Inputs]) -> Result<(), Error> {
    std::fs::write(path, postcard::to_stdvec(case)?)?;
    Ok(())
}

/// The crash check, its seed named in any failure.
fn check_crash() -> Result<(), Error> {
    let seed = match std::env::var("EMBER_CLUSTER_SEED") {
        Ok(seed) => seed.parse()?,
        Err(_) => crash::DEFAULT_SEED,
    };
    crash::check(seed).map_err(|e| {
        format!("crash check, seed {seed} (rerun: EMBER_CLUSTER_CHECK=crash EMBER_CLUSTER_SEED={seed}): {e}").into()
    })
}

/// The crash check over Kafka, its seed named in any failure.
fn check_crash_kafka() -> Result<(), Error> {
    let seed = match std::env::var("EMBER_CLUSTER_SEED") {
        Ok(seed) => seed.parse()?,
        Err(_) => crash::DEFAULT_SEED,
    };
    crash::check_kafka(seed).map_err(|e| {
        format!("crash check over Kafka, seed {seed} (rerun: EMBER_CLUSTER_CHECK=crash-kafka EMBER_CLUSTER_SEED={seed}): {e}").into()
    })
}

/// The crash check of receivers with the write-ahead log, its seed named
/// in any failure.
fn check_crash_wal() -> Result<(), Error> {
    let seed = match std::env::var("EMBER_CLUSTER_SEED") {
        Ok(seed) => seed.parse()?,
        Err(_) => crash::DEFAULT_SEED,
    };
    wal::check(seed).map_err(|e| {
        format!("crash check of receivers with the WAL, seed {seed} (rerun: EMBER_CLUSTER_CHECK=crash-wal EMBER_CLUSTER_SEED={seed}): {e}").into()
    })
}

/// The equivalence proptest (see the module's doc), or with
/// `EMBER_CLUSTER_CASE` the one case that file holds.
fn check_equivalence() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    if let Ok(file) = std::env::var("EMBER_CLUSTER_CASE") {
        return compare_layouts(&read_case(Path::new(&file))?, dir.path());
    }
    let seed = seed()?;
    let config = Config {
        cases: EQUIVALENCE_CASES,
        failure_persistence: None,
        max_shrink_time: MAX_SHRINK_MS,
        max_shrink_iters: MAX_SHRINK_ITERS,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, suite::test_rng(seed));
    let result = runner.run(&suite::cases(), |case| {
        compare_layouts(&case, dir.path()).map_err(|e| TestCaseError::fail(e.to_string()))
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, minimal)) => {
            let file = std::env::temp_dir().join(format!("ember-cluster-case-{seed}.postcard"));
            write_case(&file, &minimal)?;
            Err(format!(
                "equivalence, seed {seed}: {reason}\nminimal case (shrunk): {minimal:?}\nrerun it alone: EMBER_CLUSTER_CHECK=equivalence EMBER_CLUSTER_CASE={}\nrerun the search: EMBER_CLUSTER_CHECK=equivalence EMBER_CLUSTER_SEED={seed}",
                file.display()
            )
            .into())
        }
        Err(TestError::Abort(reason)) => {
            Err(format!("equivalence, seed {seed}: proptest gave up: {reason}").into())
        }
    }
}

/// One case's local results, then every layout's, compared line by line.
fn compare_layouts(case: &[suite::Inputs], dir: &Path) -> Result<(), Error> {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ClusterEquivalence")
        .set("spark.ui.enabled", "false");
    let expected = suite::run(StreamingContext::new(conf, suite::batch_interval())?, case)?;
    let file = dir.join("case.postcard");
    write_case(&file, case)?;
    for (processes, threads) in LAYOUTS {
        let out = dir.join(format!("{processes}x{threads}.txt"));
        let _ = std::fs::remove_file(&out);
        let started = std::time::Instant::now();
        LocalCluster::new(processes, threads)?
            .args([
                "--mode".to_owned(),
                "equivalence".to_owned(),
                "--case".to_owned(),
                file.display().to_string(),
                "--out".to_owned(),
                out.display().to_string(),
            ])
            .spawn()?
            .wait()?;
        let got = std::fs::read_to_string(&out)?;
        let got: Vec<&str> = got.lines().collect();
        if let Some(i) = (0..expected.len().max(got.len()))
            .find(|&i| expected.get(i).map(String::as_str) != got.get(i).copied())
        {
            return Err(format!(
                "{processes} process(es) x {threads} thread(s): line {i} differs\n  local:   {:?}\n  cluster: {:?}",
                expected.get(i),
                got.get(i)
            )
            .into());
        }
        println!(
            "{processes} x {threads} matches local mode ({} output batches, {:.1} s)",
            expected.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
