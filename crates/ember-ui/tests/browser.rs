//! The page in a real browser: headless Chromium loads the UI of a server fed
//! with known batches; the rendered DOM shows the batches, the receiver and
//! the checkpoint, and the charts' SVG has a point per completed batch. More
//! batches, a second load: the charts grow. A screenshot is saved as
//! `target/ui-screenshot.png`. Without `chromium` the test is skipped with a
//! message, except in CI (`CI` set), where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{START_MS, batch_time, complete_batch, complete_batch_at, story};
use ember_ui::events::StreamingStarted;
use ember_ui::{StatusStore, StoreConfig, UiConfig, UiServer};

/// `chromium` on the PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `url` with `extra` flags (hang guard: 120 s)
/// and returns its standard output.
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
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("chromium prints UTF-8")
}

/// The value of attribute `attr` of the element with id `id` in `dom`.
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
    &tag[start..start + tag[start..].find('"').expect("a closed attribute")]
}

/// For each chart: its `data-points` and the number of points of its line.
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
            .expect("a point count");
        let drawn = attribute(dom, &format!("chart-{chart}-line"), "points")
            .split_whitespace()
            .count();
        (declared, drawn)
    })
    .collect()
}

/// Chromium, or `None` (with a message) when the test is to be skipped.
fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI must run the browser test (apt-get install chromium)"
        );
        eprintln!("SKIPPED the browser test: chromium is not installed (apt-get install chromium)");
    }
    found
}

fn serve(store: &Arc<StatusStore>) -> UiServer {
    UiServer::start(
        UiConfig {
            port: 0,
            ..UiConfig::default()
        },
        Arc::clone(store),
    )
    .expect("start the UI")
}

#[test]
fn the_page_renders_batches_and_the_charts_grow() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let store = Arc::new(story(1000));
    for n in 5..=7 {
        complete_batch(&store, n, 40 * n, 3, 60 + 10 * n);
    }
    let server = serve(&store);
    let profile = tempfile::tempdir().expect("a chromium profile dir");
    let url = format!("{}/", server.url());

    let dom = run_chromium(&chromium, profile.path(), &url, &["--dump-dom"]);
    // Completed batches 1, 2, 5, 6, 7 in the table; 3 and 4 active.
    for n in [1, 2, 5, 6, 7, 3, 4] {
        assert!(
            dom.contains(&format!("id=\"batch-{}\"", batch_time(n))),
            "batch {n} missing from the page"
        );
    }
    assert_eq!(
        attribute(&dom, &format!("batch-{}", batch_time(2)), "class"),
        "failed"
    );
    assert!(dom.contains("job failed: disk full"));
    assert!(dom.contains("id=\"receiver-0\""));
    assert!(dom.contains("connection refused"));
    assert!(dom.contains("<dd id=\"checkpoint-size\">12.1 KiB</dd>"));
    assert!(dom.contains("SocketInputDStream"));
    assert!(dom.contains("<b id=\"summary-completed\">5</b>"));
    assert_eq!(chart_points(&dom), vec![(5, 5); 4]);

    for n in 8..=10 {
        complete_batch(&store, n, 40 * n, 3, 60 + 10 * n);
    }
    let dom = run_chromium(&chromium, profile.path(), &url, &["--dump-dom"]);
    assert!(dom.contains(&format!("id=\"batch-{}\"", batch_time(10))));
    assert!(dom.contains("<b id=\"summary-completed\">8</b>"));
    assert_eq!(chart_points(&dom), vec![(8, 8); 4]);

    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .to_path_buf();
    let shot = target.join("ui-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let flag = format!("--screenshot={}", shot.display());
    run_chromium(&chromium, profile.path(), &url, &[&flag]);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    println!("screenshot: {}", shot.display());
    server.stop();
}

/// Hours of 100 ms batches, compressed: 5,000 completed batches with
/// `retainedBatches` 300. The page shows exactly the retained 300 in the
/// charts and the newest 100 in the table.
#[test]
fn a_long_run_of_100_ms_batches_stays_bounded() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let store = Arc::new(StatusStore::new(StoreConfig {
        app_name: "long run".into(),
        batch_duration: std::time::Duration::from_millis(100),
        retained_batches: 300,
    }));
    store.on_streaming_started(StreamingStarted { time_ms: START_MS });
    let last = 5_000;
    for n in 1..=last {
        complete_batch_at(&store, START_MS + 100 * n, n % 97, n % 7, 20 + n % 13);
    }
    let server = serve(&store);
    let profile = tempfile::tempdir().expect("a chromium profile dir");
    let dom = run_chromium(
        &chromium,
        profile.path(),
        &format!("{}/", server.url()),
        &["--dump-dom"],
    );
    assert_eq!(chart_points(&dom), vec![(300, 300); 4]);
    assert_eq!(dom.matches("<tr id=\"batch-").count(), 100);
    let newest = START_MS + 100 * last;
    assert!(dom.contains(&format!("id=\"batch-{newest}\"")));
    assert!(!dom.contains(&format!("id=\"batch-{}\"", newest - 100 * 100)));
    assert!(dom.contains("<small id=\"completed-count\">latest 100 of 300 retained</small>"));
    assert!(dom.contains(&format!("<b id=\"summary-completed\">{last}</b>")));
    server.stop();
}
