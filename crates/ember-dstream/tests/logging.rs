//! Logs on by default: a context created in a process without a `tracing`
//! subscriber logs its start and stop at INFO to stderr (a real child
//! process: this test binary re-run); `spark.ember.log.format=json` writes
//! JSON lines; `EMBER_LOG` sets the filter; an application's own
//! subscriber is kept.

use std::collections::VecDeque;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext, StreamingError};

/// Set in the child: the format to log in.
const CHILD: &str = "EMBER_LOGGING_TEST_CHILD";

/// Runs one context to a stop.
fn run_context(conf: StreamingConf) -> Result<(), StreamingError> {
    let ssc = StreamingContext::new(
        conf.master("local[2]").set("spark.ui.enabled", "false"),
        Duration::from_millis(20),
    )?;
    ssc.queue_stream(VecDeque::from(vec![vec![1, 2, 3]]), true)
        .foreach_rdd(|rdd, _| {
            let _ = rdd.count();
            Ok(())
        })?;
    ssc.start()?;
    ssc.stop(StopOptions::default())
}

/// The child's body: a context with the format the parent asked for.
#[test]
fn child_runs_a_context() -> Result<(), StreamingError> {
    let Ok(format) = std::env::var(CHILD) else {
        return Ok(());
    };
    run_context(
        StreamingConf::new()
            .app_name("logged")
            .set("spark.ember.log.format", format),
    )
}

/// Runs the child with `format` and `env`; its stderr.
fn child_stderr(format: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "--exact",
            "child_runs_a_context",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format)
        .env_remove("RUST_LOG")
        .env_remove("EMBER_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run the child");
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_context_logs_its_start_and_stop_at_info_by_default() {
    let stderr = child_stderr("full", &[]);
    let started = stderr
        .lines()
        .find(|l| l.contains("streaming context started"))
        .unwrap_or_else(|| panic!("no start line in:\n{stderr}"));
    assert!(
        started.contains(" INFO ") && started.contains("app=\"logged\""),
        "{started}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(" INFO ") && l.contains("streaming context stopped")),
        "{stderr}"
    );
}

#[test]
fn json_format_writes_one_json_object_per_line() {
    let stderr = child_stderr("json", &[]);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"streaming context started"), "{stderr}");
    assert!(messages.contains(&"streaming context stopped"), "{stderr}");
    assert!(events.iter().all(|e| e["level"] == "INFO"), "{stderr}");
}

#[test]
fn ember_log_sets_the_filter() {
    let stderr = child_stderr("full", &[("EMBER_LOG", "warn")]);
    assert!(
        !stderr.contains(" INFO "),
        "INFO lines under EMBER_LOG=warn:\n{stderr}"
    );
}

/// Counts the events it sees.
struct Counting(Arc<AtomicUsize>);

impl tracing::Subscriber for Counting {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn an_application_subscriber_is_kept() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "own_subscriber_child", "--nocapture"])
        .env("EMBER_LOGGING_OWN_CHILD", "1")
        .output()
        .expect("run the child");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("own subscriber saw events"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("streaming context started"),
        "ember's subscriber installed:\n{stderr}"
    );
}

/// The child of `an_application_subscriber_is_kept`.
#[test]
fn own_subscriber_child() -> Result<(), StreamingError> {
    if std::env::var("EMBER_LOGGING_OWN_CHILD").is_err() {
        return Ok(());
    }
    let seen = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(Counting(Arc::clone(&seen)))
        .expect("no subscriber yet");
    run_context(StreamingConf::new())?;
    assert!(seen.load(Ordering::SeqCst) >= 2, "start and stop seen");
    println!("own subscriber saw events");
    Ok(())
}
