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

use common::{batch_time, complete_batch, story};
use ember_ui::{UiConfig, UiServer};

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
            "--window-size=1400,2200",
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

#[test]
fn the_page_renders_batches_and_the_charts_grow() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI must run the browser test (apt-get install chromium)"
        );
        eprintln!("SKIPPED the browser test: chromium is not installed (apt-get install chromium)");
        return;
    };
    let store = Arc::new(story(1000));
    for n in 5..=7 {
        complete_batch(&store, n, 40 * n, 3, 60 + 10 * n);
    }
    let server = UiServer::start(
        UiConfig {
            port: 0,
            ..UiConfig::default()
        },
        Arc::clone(&store),
    )
    .expect("start the UI");
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
