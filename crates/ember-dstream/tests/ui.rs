//! The Streaming UI wired into a running context (feature `ui`): every
//! endpoint answers exact figures after known batches on the manual clock,
//! over real TCP; `spark.ui.enabled=false` starts no server; the server
//! stops with the context.

#![cfg(feature = "ui")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration as StdDuration;

use ember_dstream::{
    Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError, Time,
};
use serde_json::Value;

const BATCH_MS: u64 = 1000;

/// GETs `path` from `url` (HTTP/1.0, read to the end): status and body.
fn get(url: &str, path: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the UI");
    stream
        .set_read_timeout(Some(StdDuration::from_secs(30)))
        .expect("read timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_owned())
}

fn json(url: &str, path: &str) -> Value {
    let (status, body) = get(url, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// A context on the manual clock with the UI on an OS-chosen port; the
/// queue delivers `batches` (one per batch) and each completed batch's
/// time goes down the returned channel after its output ran.
fn running(
    batches: Vec<Vec<u32>>,
    conf: StreamingConf,
) -> Result<
    (
        StreamingContext,
        Arc<ManualClock>,
        std::sync::mpsc::Receiver<Time>,
    ),
    StreamingError,
> {
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(conf, Duration::from_millis(BATCH_MS), clock.clone())?;
    let (tx, rx) = channel();
    let tx = std::sync::Mutex::new(tx);
    ssc.queue_stream(std::collections::VecDeque::from(batches), true)
        .map(|x| x + 1)
        .foreach_rdd(move |rdd, time| {
            let _ = rdd.count();
            let _ = tx.lock().expect("sender").send(time);
            Ok(())
        })?;
    ssc.start()?;
    Ok((ssc, clock, rx))
}

fn conf() -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name("ui-wiring")
        .set("spark.ui.port", "0")
}

#[test]
fn every_endpoint_answers_exact_figures_of_a_running_context() -> Result<(), StreamingError> {
    let records = [3u64, 5, 0, 7];
    let batches: Vec<Vec<u32>> = records.iter().map(|&n| (0..n as u32).collect()).collect();
    let (ssc, clock, done) = running(
        batches,
        conf().set("spark.streaming.ui.retainedBatches", "3"),
    )?;
    let url = ssc.ui_url().expect("the UI runs");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    for n in 1..=records.len() as u64 {
        clock.advance(Duration::from_millis(BATCH_MS));
        let time = done
            .recv_timeout(StdDuration::from_secs(30))
            .expect("batch ran");
        assert_eq!(time, Time::from_millis(n * BATCH_MS));
    }
    assert!(ssc.await_batches(records.len() as u64, Duration::from_secs(30))?);
    // The listener bus is asynchronous: wait until the UI saw the 4th batch.
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    let stats = loop {
        let stats = json(&url, "/api/v1/streaming/statistics");
        if stats["numTotalCompletedBatches"] == 4 {
            break stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "UI never saw 4 batches: {stats}"
        );
        std::thread::sleep(StdDuration::from_millis(10));
    };
    assert_eq!(stats["batchDuration"], BATCH_MS);
    assert_eq!(stats["numProcessedRecords"], 15);
    assert_eq!(stats["numReceivedRecords"], 15);
    assert_eq!(stats["numRetainedCompletedBatches"], 3);
    assert_eq!(stats["numActiveBatches"], 0);
    assert_eq!(stats["numReceivers"], 0);

    // Retained: the last 3 batches, newest first, with their input sizes.
    let list = json(&url, "/api/v1/streaming/batches");
    let list = list.as_array().expect("an array");
    let times: Vec<u64> = list
        .iter()
        .map(|b| b["batchId"].as_u64().expect("id"))
        .collect();
    assert_eq!(times, vec![4000, 3000, 2000]);
    let sizes: Vec<u64> = list
        .iter()
        .map(|b| b["inputSize"].as_u64().expect("size"))
        .collect();
    assert_eq!(sizes, vec![7, 0, 5]);
    assert!(list.iter().all(|b| b["status"] == "COMPLETED"));

    let batch = json(&url, "/api/v1/streaming/batches/4000");
    assert_eq!(batch["batchId"], 4000);
    assert_eq!(batch["inputSize"], 7);
    assert_eq!(batch["numCompletedOutputOps"], 1);
    assert_eq!(batch["numActiveOutputOps"], 0);
    assert_eq!(batch["numFailedOutputOps"], 0);
    let (status, _) = get(&url, "/api/v1/streaming/batches/1000");
    assert_eq!(status, 404, "batch 1000 is no longer retained");

    assert_eq!(
        json(&url, "/api/v1/streaming/receivers"),
        serde_json::json!([])
    );
    let lineage = json(&url, "/api/v1/streaming/lineage");
    let text = lineage.to_string();
    assert!(
        text.contains("queue_stream") && text.contains("map"),
        "{text}"
    );

    let (status, metrics) = get(&url, "/metrics");
    assert_eq!(status, 200);
    for line in [
        "ember_batches_completed_total 4",
        "ember_batches_failed_total 0",
        "ember_records_received_total{stream_id=\"0\",stream_name=\"queue_stream\"} 15",
        "ember_records_processed_total{stream_id=\"0\",stream_name=\"queue_stream\"} 15",
        "ember_active_batches 0",
        "ember_batch_total_delay_seconds_count 4",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }

    ssc.stop(StopOptions::default())?;
    assert_eq!(ssc.ui_url(), None, "the server stops with the context");
    let addr = url.trim_start_matches("http://");
    assert!(TcpStream::connect(addr).is_err(), "port {addr} still open");
    Ok(())
}

#[test]
fn a_disabled_ui_starts_no_server() -> Result<(), StreamingError> {
    let (ssc, _clock, _done) = running(vec![vec![1]], conf().set("spark.ui.enabled", "false"))?;
    assert_eq!(ssc.ui_url(), None);
    ssc.stop(StopOptions::default())?;
    Ok(())
}

#[test]
fn a_taken_port_range_runs_the_context_without_ui() -> Result<(), StreamingError> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let conf = conf()
        .set("spark.ui.port", port.to_string())
        .set("spark.port.maxRetries", "0");
    let (ssc, clock, done) = running(vec![vec![1, 2]], conf)?;
    assert_eq!(ssc.ui_url(), None);
    clock.advance(Duration::from_millis(BATCH_MS));
    assert_eq!(
        done.recv_timeout(StdDuration::from_secs(30))
            .expect("batch ran"),
        Time::from_millis(BATCH_MS)
    );
    ssc.stop(StopOptions::default())?;
    Ok(())
}

/// Polls `path` until `ready` holds for its JSON (the listener bus and the
/// checkpoint writer are asynchronous); 30 s hang guard.
fn json_when(url: &str, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let value = json(url, path);
        if ready(&value) {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never got ready: {value}"
        );
        std::thread::sleep(StdDuration::from_millis(10));
    }
}

#[test]
fn checkpoint_writes_and_the_recovery_source_show_in_the_ui() -> Result<(), StreamingError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let batches: Vec<Vec<u32>> = (0..10).map(|n| vec![n]).collect();
    let clock = Arc::new(ManualClock::new());
    let create = || {
        let ssc =
            StreamingContext::with_clock(conf(), Duration::from_millis(BATCH_MS), clock.clone())?;
        ssc.queue_stream(std::collections::VecDeque::from(batches.clone()), true)
            .foreach_rdd(|rdd, _| {
                let _ = rdd.count();
                Ok(())
            })?;
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(dir.path(), create)?;
    ssc.start()?;
    let url = ssc.ui_url().expect("the UI runs");
    // The default checkpoint interval of a 1 s batch is 10 s: batch 10 s.
    for _ in 0..10 {
        clock.advance(Duration::from_millis(BATCH_MS));
    }
    assert!(ssc.await_batches(10, Duration::from_secs(30))?);
    // Two writes: the fresh start's own checkpoint (at 0 s), then 10 s.
    let checkpoint = json_when(&url, "/api/v1/streaming/checkpoint", |c| {
        c["numWrites"] == 2
    });
    let name =
        ember_checkpoint::CheckpointSeries::<ember_checkpoint::LocalCheckpointStore>::name_for(
            10 * BATCH_MS,
        );
    let size = std::fs::metadata(dir.path().join(name))
        .expect("checkpoint file")
        .len();
    assert_eq!(checkpoint["numFailures"], 0);
    assert_eq!(checkpoint["lastSizeBytes"], size);
    assert_eq!(
        checkpoint["lastCheckpointTime"],
        ember_ui::format_spark_date(10 * BATCH_MS)
    );
    assert!(checkpoint["lastWriteDurationMs"].is_u64(), "{checkpoint}");
    assert!(
        checkpoint.get("recoveredFromTime").is_none(),
        "{checkpoint}"
    );
    let (_, metrics) = get(&url, "/metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l == format!("ember_checkpoint_last_size_bytes {size}")),
        "{metrics}"
    );
    ssc.stop(StopOptions::default())?;

    let again = StreamingContext::get_or_create(dir.path(), create)?;
    again.start()?;
    let url = again.ui_url().expect("the UI runs");
    let checkpoint = json(&url, "/api/v1/streaming/checkpoint");
    assert_eq!(
        checkpoint["recoveredFromTime"],
        ember_ui::format_spark_date(10 * BATCH_MS)
    );
    assert_eq!(
        checkpoint["recoveredFromDir"],
        dir.path().display().to_string()
    );
    again.stop(StopOptions::default())?;
    Ok(())
}
