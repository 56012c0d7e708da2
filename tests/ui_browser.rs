//! The Streaming UI of a running context in a real browser: headless
//! Chromium loads the page of a context on the manual clock after known
//! batches; the rendered DOM shows every batch, the summary and the
//! lineage, and the charts hold a point per batch; after more batches a
//! second load shows them and the charts grew. A screenshot is saved as
//! `target/ui-context-screenshot.png`. Without `chromium` the test is
//! skipped with a message, except in CI (`CI` set), where it fails.

#![cfg(unix)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc::channel;

use ember::dstream::ManualClock;
use ember::prelude::*;

const BATCH_MS: u64 = 1000;

/// `chromium` on the PATH, or `None` (with a message) to skip.
fn chromium_or_skip() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI must run the browser test"
        );
        eprintln!("SKIPPED the browser test: chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Runs headless Chromium on `url` with `extra` flags; its stdout.
fn run_chromium(chromium: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let output = Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1700",
            "--virtual-time-budget=4000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The value of `attr` of the element with id `id`.
fn attribute<'a>(dom: &'a str, id: &str, attr: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id} in the DOM"));
    let tag = &dom[at..at + dom[at..].find('>').expect("a closed tag")];
    let key = format!("{attr}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("#{id} has no {attr}"))
        + key.len();
    &tag[start..start + tag[start..].find('"').expect("closed")]
}

/// Per chart: declared points and drawn points.
fn chart_points(dom: &str) -> Vec<(usize, usize)> {
    [
        "input-rate",
        "scheduling-delay",
        "processing-time",
        "total-delay",
    ]
    .iter()
    .map(|chart| {
        let declared = attribute(dom, &format!("chart-{chart}"), "data-points")
            .parse()
            .expect("a count");
        let drawn = attribute(dom, &format!("chart-{chart}-line"), "points")
            .split_whitespace()
            .count();
        (declared, drawn)
    })
    .collect()
}

#[test]
fn the_page_of_a_running_context_shows_its_batches_and_the_charts_grow() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ui-browser")
        .set("spark.ui.port", "0");
    let ssc = StreamingContext::with_clock(conf, Duration::from_millis(BATCH_MS), clock.clone())
        .expect("context");
    let batches: VecDeque<Vec<u64>> = (1..=8u64).map(|n| (0..10 * n).collect()).collect();
    let (tx, done) = channel();
    let tx = std::sync::Mutex::new(tx);
    ssc.queue_stream(batches, true)
        .map(|x| x * 2)
        .foreach_rdd(move |rdd, time| {
            let _ = rdd.count();
            let _ = tx.lock().expect("sender").send(time);
            Ok(())
        })
        .expect("output");
    ssc.start().expect("start");
    let url = format!("{}/", ssc.ui_url().expect("the UI runs"));
    let run = |n: u64| {
        for _ in 0..n {
            clock.advance(Duration::from_millis(BATCH_MS));
            done.recv_timeout(std::time::Duration::from_secs(60))
                .expect("a batch ran");
        }
    };
    let seen_by_ui = |n: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let stats = format!("{}/api/v1/streaming/statistics", ssc.ui_url().expect("url"));
        while !http_get(&stats).contains(&format!("\"numTotalCompletedBatches\": {n}")) {
            assert!(
                std::time::Instant::now() < deadline,
                "the UI never saw {n} batches"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    run(5);
    seen_by_ui(5);
    let profile = tempfile::tempdir().expect("profile dir");
    let dom = run_chromium(&chromium, profile.path(), &url, &["--dump-dom"]);
    for n in 1..=5 {
        assert!(
            dom.contains(&format!("id=\"batch-{}\"", n * BATCH_MS)),
            "batch {n} missing from the page"
        );
    }
    assert!(dom.contains("<b id=\"summary-completed\">5</b>"), "summary");
    assert!(dom.contains("queue_stream"), "lineage");
    assert_eq!(chart_points(&dom), vec![(5, 5); 4]);

    run(3);
    seen_by_ui(8);
    let dom = run_chromium(&chromium, profile.path(), &url, &["--dump-dom"]);
    assert!(dom.contains(&format!("id=\"batch-{}\"", 8 * BATCH_MS)));
    assert!(dom.contains("<b id=\"summary-completed\">8</b>"));
    assert_eq!(chart_points(&dom), vec![(8, 8); 4]);

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("ui-context-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &chromium,
        profile.path(),
        &url,
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    println!("screenshot: {}", shot.display());
    ssc.stop(StopOptions::default()).expect("stop");
}

/// A GET over a real TCP connection (HTTP/1.0): the body.
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}
