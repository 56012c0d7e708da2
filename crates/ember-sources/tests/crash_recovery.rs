//! Crash recovery with a real process: `crash_word_count` (file stream →
//! flat_map → map → update_state_by_key, checkpointed, system clock, 100 ms
//! batches) is killed with SIGKILL at random moments at least 20 times while
//! files keep arriving, and restarted each time through `get_or_create`.
//! The counts it ends with must equal the sequential word count of all
//! files, and no state it ever reports may exceed the count of the files
//! written so far (a batch applied twice would).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Killed, Rng, read_state};

const WORDS: [&str; 8] = [
    "apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey",
];

type Counts = BTreeMap<String, u64>;

/// Writes input file `i` atomically (temp name starting with `.`, then
/// rename) and adds its words to `expected`.
fn write_file(dir: &Path, i: usize, rng: &mut Rng, expected: &mut Counts) {
    let mut text = String::new();
    for _ in 0..1 + rng.below(4) {
        for _ in 0..1 + rng.below(6) {
            let word = WORDS[rng.below(WORDS.len() as u64) as usize];
            *expected.entry(word.to_owned()).or_insert(0) += 1;
            text.push_str(word);
            text.push(' ');
        }
        text.push('\n');
    }
    let tmp = dir.join(format!(".tmp-{i}"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(format!("f-{i:04}.txt"))).unwrap();
}

/// No count above what the files written so far hold.
fn check_not_over(state: &Counts, expected: &Counts, when: &str) {
    for (word, &count) in state {
        let max = expected.get(word).copied().unwrap_or(0);
        assert!(
            count <= max,
            "{when}: {word} counted {count} times, but the files hold only {max}: a batch was applied twice"
        );
    }
}

fn spawn(ckpt: &Path, input: &Path, out: &Path, log: &Path) -> Killed {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Killed(
        Command::new(env!("CARGO_BIN_EXE_crash_word_count"))
            .arg(ckpt)
            .arg(input)
            .arg(out)
            .arg("100")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

#[test]
fn killed_and_restarted_word_count_counts_every_file_once() {
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let (ckpt, input) = (root.path().join("ckpt"), root.path().join("in"));
    let (out, log) = (
        root.path().join("state.txt"),
        root.path().join("stderr.log"),
    );
    std::fs::create_dir_all(&input).unwrap();
    let mut rng = Rng::from_clock("crash test");
    let seed = rng.seed;
    let mut expected = Counts::new();
    let mut files = 0;
    let kills = 24;
    for round in 0..kills {
        let mut child = spawn(&ckpt, &input, &out, &log);
        // Alive for 100–1300 ms, with files arriving meanwhile.
        let alive = Duration::from_millis(100 + rng.below(1200));
        let deadline = Instant::now() + alive;
        while Instant::now() < deadline {
            if rng.below(3) == 0 {
                write_file(&input, files, &mut rng, &mut expected);
                files += 1;
            }
            std::thread::sleep(Duration::from_millis(20 + rng.below(60)));
        }
        assert!(
            child.running(),
            "crash_word_count exited on its own in round {round}; see its stderr:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        child.kill();
        if let Some((_, state)) = read_state(&out) {
            check_not_over(&state, &expected, &format!("after kill {round}"));
        }
        // Sometimes files arrive while it is down.
        for _ in 0..rng.below(3) {
            write_file(&input, files, &mut rng, &mut expected);
            files += 1;
        }
    }
    // A last run, left alone until it caught up.
    let child = spawn(&ckpt, &input, &out, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some((time, state)) = read_state(&out) {
            check_not_over(&state, &expected, "final run");
            let done = state == expected;
            last = Some((time, state));
            if done {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A few more batches must not change anything either.
    std::thread::sleep(Duration::from_millis(400));
    let after = read_state(&out);
    child.kill();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let recoveries = log_text.matches("recovered from checkpoint").count();
    eprintln!(
        "{files} files, {kills} kills, {recoveries} recoveries, {:?}",
        started.elapsed()
    );
    let (_, state) = last.expect("the word count never wrote its state");
    assert_eq!(state, expected, "seed {seed}; stderr:\n{log_text}");
    assert_eq!(after.map(|(_, s)| s), Some(expected), "seed {seed}");
    assert!(
        recoveries >= kills / 2,
        "only {recoveries} recoveries:\n{log_text}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}
