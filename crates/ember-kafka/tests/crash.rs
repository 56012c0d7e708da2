//! Exactly-once state across crashes: a child process counting the words of
//! a Kafka topic (`ember_kafka_crash_count`) is SIGKILLed at seeded random
//! moments while records keep arriving, and restarted each time with
//! `get_or_create`; its final state must equal the counts of every record
//! in the topic, none lost and none counted twice. A failure prints the
//! seed; `EMBER_KAFKA_CRASH_SEED=<seed>` replays the same schedule.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{broker, word_counts};
use ember_kafka::mock_broker::TestProducer;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn spawn(bootstrap: &str, checkpoint: &Path, state: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ember_kafka_crash_count"))
        .args([bootstrap, "crash"])
        .arg(checkpoint)
        .arg(state)
        .arg("50")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the word count starts")
}

fn read_state(path: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (w, c) = l.split_once(' ')?;
            Some((w.to_owned(), c.parse().ok()?))
        })
        .collect()
}

#[test]
fn state_is_exactly_once_across_repeated_sigkills() {
    let seed = std::env::var("EMBER_KAFKA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash test seed: {seed} (EMBER_KAFKA_CRASH_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let mut broker = broker();
    broker.create_topic("crash", 3).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let (checkpoint, state) = (dir.path().join("checkpoint"), dir.path().join("state"));
    let producer = TestProducer::new(&bootstrap).expect("producer");
    let mut lines = Vec::new();
    let mut next_line = 0u64;
    let mut chunk = |rng: &mut Rng, lines: &mut Vec<String>| {
        for p in 0..3 {
            for _ in 0..20 + rng.below(60) {
                next_line += 1;
                let line = format!("w{} w{} l{}", rng.below(13), rng.below(5), next_line % 17);
                producer.send("crash", p, None, &line).expect("send");
                lines.push(line);
            }
        }
        producer.flush().expect("flush");
    };
    let kills = 10;
    for _ in 0..kills {
        chunk(&mut rng, &mut lines);
        let mut child = spawn(&bootstrap, &checkpoint, &state);
        let alive = Duration::from_millis(150 + rng.below(900));
        // The kill moment is the random part of the schedule, not a wait.
        std::thread::sleep(alive);
        chunk(&mut rng, &mut lines);
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    let want = word_counts(&lines);
    let total: u64 = want.values().sum();
    let mut child = spawn(&bootstrap, &checkpoint, &state);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = read_state(&state);
    while got.values().sum::<u64>() < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        got = read_state(&state);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(got, want, "seed {seed}");
}
