//! Output operations: Spark's print format, `save_as_text_files`
//! directories, and `foreach_rdd` running once per batch in declaration
//! order.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ember_dstream::testing::run_operation;
use ember_dstream::{
    Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError, Time,
    format_batch,
};

type R = Result<(), Box<dyn std::error::Error>>;

const DASHES: &str = "-------------------------------------------";

fn manual() -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]").app_name("outputs");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

/// Advances the clock `n` batches and waits until `done` reports them.
fn run_batches(clock: &ManualClock, n: usize, done: impl Fn() -> usize) {
    clock.advance(Duration::from_secs(n as u64));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while done() < n {
        assert!(std::time::Instant::now() < deadline, "batches did not run");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn format_batch_with_no_elements() {
    let text = format_batch::<i32>(Time::from_millis(1000), &[], 10);
    assert_eq!(text, format!("{DASHES}\nTime: 1000 ms\n{DASHES}\n\n"));
}

#[test]
fn format_batch_with_exactly_n_elements() {
    let text = format_batch(Time::from_millis(3000), &["a", "b"], 2);
    assert_eq!(
        text,
        format!("{DASHES}\nTime: 3000 ms\n{DASHES}\n\"a\"\n\"b\"\n\n")
    );
}

#[test]
fn format_batch_with_fewer_than_n_elements() {
    let text = format_batch(Time::from_millis(2000), &[("k", 1)], 10);
    assert_eq!(
        text,
        format!("{DASHES}\nTime: 2000 ms\n{DASHES}\n(\"k\", 1)\n\n")
    );
}

#[test]
fn format_batch_with_more_than_n_elements() {
    // `print_n` takes n + 1 elements to know whether there are more.
    let text = format_batch(Time::from_millis(12000), &[1, 2, 3, 4], 3);
    assert_eq!(
        text,
        format!("{DASHES}\nTime: 12000 ms\n{DASHES}\n1\n2\n3\n...\n\n")
    );
    let none_shown = format_batch(Time::from_millis(1000), &[1], 0);
    assert_eq!(
        none_shown,
        format!("{DASHES}\nTime: 1000 ms\n{DASHES}\n...\n\n")
    );
}

#[test]
fn print_runs_as_an_output_operation() -> R {
    // stdout is not captured here; `print` must simply run and not fail.
    let out = run_operation(
        vec![vec![1, 2, 3], vec![]],
        |s| {
            s.print_n(2).unwrap();
            s.print().unwrap();
            s
        },
        2,
    )?;
    assert_eq!(out, vec![vec![1, 2, 3], vec![]]);
    Ok(())
}

fn read_dir_text(dir: &Path) -> std::io::Result<(Vec<String>, String)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut text = String::new();
    for name in names.iter().filter(|n| n.starts_with("part-")) {
        text.push_str(&std::fs::read_to_string(dir.join(name))?);
    }
    Ok((names, text))
}

#[test]
fn save_as_text_files_writes_one_directory_per_batch() -> R {
    let out = tempfile::tempdir()?;
    let (ssc, clock) = manual()?;
    let stream = ssc.queue_stream(VecDeque::from(vec![vec![1, 2, 3], vec![], vec![4]]), true);
    let with_suffix = out.path().join("nums");
    let without_suffix = out.path().join("sub").join("raw");
    stream.save_as_text_files(with_suffix.to_string_lossy(), "txt")?;
    stream
        .map(|x| x * 10)
        .save_as_text_files(without_suffix.to_string_lossy(), "")?;
    let batches = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&batches);
    stream.foreach_rdd(move |_, _| {
        *counter.lock().unwrap() += 1;
        Ok(())
    })?;
    ssc.start()?;
    run_batches(&clock, 4, || *batches.lock().unwrap());
    ssc.stop(StopOptions::default())?;
    ssc.await_termination()?;

    let expected = ["1\n2\n3\n", "", "4\n", ""];
    for (i, text) in expected.iter().enumerate() {
        let ms = 1000 * (i + 1);
        let (names, got) = read_dir_text(&out.path().join(format!("nums-{ms}.txt")))?;
        assert_eq!(
            names,
            vec!["_SUCCESS", "part-00000", "part-00001"],
            "batch {ms}"
        );
        assert_eq!(&got, text);
        let (names, got) = read_dir_text(&out.path().join("sub").join(format!("raw-{ms}")))?;
        assert!(names.contains(&"_SUCCESS".to_owned()));
        let tens: String = text
            .lines()
            .map(|l| format!("{}\n", l.parse::<i32>().unwrap() * 10))
            .collect();
        assert_eq!(got, tens);
    }
    let mut top: Vec<String> = std::fs::read_dir(out.path())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    top.sort();
    assert_eq!(
        top,
        vec![
            "nums-1000.txt",
            "nums-2000.txt",
            "nums-3000.txt",
            "nums-4000.txt",
            "sub"
        ]
    );
    Ok(())
}

/// What each output saw: batch time, output name, batch.
type Log = Arc<Mutex<Vec<(Time, &'static str, Vec<i32>)>>>;

#[test]
fn foreach_rdd_runs_once_per_batch_in_declaration_order() -> R {
    let (ssc, clock) = manual()?;
    let log: Log = Arc::default();
    let stream = ssc.queue_stream(VecDeque::from(vec![vec![1], vec![2, 3]]), true);
    let doubled = stream.map(|x| x * 2);
    for (name, s) in [("first", &stream), ("second", &doubled), ("third", &stream)] {
        let log = Arc::clone(&log);
        s.foreach_rdd(move |rdd, time| {
            let batch = rdd.collect().map_err(|e| e.to_string())?;
            log.lock().unwrap().push((time, name, batch));
            Ok(())
        })?;
    }
    ssc.start()?;
    run_batches(&clock, 3, || log.lock().unwrap().len() / 3);
    ssc.stop(StopOptions::default())?;
    let t = Time::from_millis;
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (t(1000), "first", vec![1]),
            (t(1000), "second", vec![2]),
            (t(1000), "third", vec![1]),
            (t(2000), "first", vec![2, 3]),
            (t(2000), "second", vec![4, 6]),
            (t(2000), "third", vec![2, 3]),
            (t(3000), "first", vec![]),
            (t(3000), "second", vec![]),
            (t(3000), "third", vec![]),
        ]
    );
    Ok(())
}
