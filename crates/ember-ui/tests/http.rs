//! Every endpoint of the UI server over real TCP against a store fed with a
//! known story (tests/common): exact JSON, exact Prometheus lines, 404s, the
//! port search and the port freed by `stop`.

mod common;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::{START_MS, batch_time, complete_batch, complete_batch_at, get, request, story};
use ember_ui::{StatusStore, StoreConfig, UiConfig, UiError, UiServer};
use serde_json::{Value, json};

fn serve(store: StatusStore) -> UiServer {
    UiServer::start(
        UiConfig {
            port: 0,
            ..UiConfig::default()
        },
        Arc::new(store),
    )
    .expect("start the UI")
}

fn get_json(server: &UiServer, path: &str) -> (u16, Value) {
    let reply = get(server.local_addr(), path);
    assert_eq!(reply.content_type, "application/json", "{path}");
    let value = serde_json::from_str(&reply.body).expect("a JSON body");
    (reply.status, value)
}

#[test]
fn statistics_are_sparks_figures() {
    let server = serve(story(1000));
    let (status, body) = get_json(&server, "/api/v1/streaming/statistics");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "startTime": "2026-12-06T04:00:00.000GMT",
            "batchDuration": 1000,
            "numReceivers": 1,
            "numActiveReceivers": 1,
            "numInactiveReceivers": 0,
            "numTotalCompletedBatches": 2,
            "numRetainedCompletedBatches": 2,
            "numActiveBatches": 2,
            "numProcessedRecords": 420,
            "numReceivedRecords": 480,
            "avgInputRate": 120.0,
            "avgSchedulingDelay": 81,
            "avgProcessingTime": 375,
            "avgTotalDelay": 435
        })
    );
}

fn batch_2() -> Value {
    json!({
        "batchId": batch_time(2),
        "batchTime": "2026-12-06T04:00:02.000GMT",
        "status": "COMPLETED",
        "batchDuration": 1000,
        "inputSize": 300,
        "schedulingDelay": 100,
        "processingTime": 500,
        "totalDelay": 600,
        "numActiveOutputOps": 0,
        "numCompletedOutputOps": 1,
        "numFailedOutputOps": 1,
        "numTotalOutputOps": 2,
        "firstFailureReason": "job failed: disk full",
        "inputStreams": [[0, 300], [1, 0]],
        "outputOperations": [
            {
                "outputOpId": 0,
                "name": "foreach_rdd",
                "description": "foreach_rdd at word_count.rs:10",
                "startTime": "2026-12-06T04:00:02.100GMT",
                "endTime": "2026-12-06T04:00:02.200GMT",
                "duration": 100
            },
            {
                "outputOpId": 1,
                "name": "save_as_text_files",
                "description": "save_as_text_files at word_count.rs:11",
                "startTime": "2026-12-06T04:00:02.200GMT",
                "endTime": "2026-12-06T04:00:02.600GMT",
                "duration": 400,
                "failureReason": "job failed: disk full"
            }
        ]
    })
}

fn batch_3() -> Value {
    json!({
        "batchId": batch_time(3),
        "batchTime": "2026-12-06T04:00:03.000GMT",
        "status": "PROCESSING",
        "batchDuration": 1000,
        "inputSize": 50,
        "schedulingDelay": 125,
        "numActiveOutputOps": 1,
        "numCompletedOutputOps": 0,
        "numFailedOutputOps": 0,
        "numTotalOutputOps": 1,
        "inputStreams": [[0, 50]],
        "outputOperations": [{
            "outputOpId": 0,
            "name": "foreach_rdd",
            "description": "foreach_rdd at word_count.rs:10",
            "startTime": "2026-12-06T04:00:03.130GMT"
        }]
    })
}

fn batch_4() -> Value {
    json!({
        "batchId": batch_time(4),
        "batchTime": "2026-12-06T04:00:04.000GMT",
        "status": "QUEUED",
        "batchDuration": 1000,
        "inputSize": 10,
        "numActiveOutputOps": 1,
        "numCompletedOutputOps": 0,
        "numFailedOutputOps": 0,
        "numTotalOutputOps": 1,
        "inputStreams": [[0, 10]],
        "outputOperations": [{
            "outputOpId": 0,
            "name": "foreach_rdd",
            "description": "foreach_rdd at word_count.rs:10"
        }]
    })
}

fn ids(body: &Value) -> Vec<u64> {
    body.as_array()
        .expect("a list")
        .iter()
        .map(|b| b["batchId"].as_u64().expect("a batchId"))
        .collect()
}

#[test]
fn batches_newest_first_with_status_filter() {
    let server = serve(story(1000));
    let (status, all) = get_json(&server, "/api/v1/streaming/batches");
    assert_eq!(status, 200);
    assert_eq!(
        ids(&all),
        [batch_time(4), batch_time(3), batch_time(2), batch_time(1)]
    );
    assert_eq!(all[0], batch_4());
    assert_eq!(all[1], batch_3());
    assert_eq!(all[2], batch_2());
    let (_, completed) = get_json(&server, "/api/v1/streaming/batches?status=COMPLETED");
    assert_eq!(ids(&completed), [batch_time(2), batch_time(1)]);
    let (_, processing) = get_json(&server, "/api/v1/streaming/batches?status=processing");
    assert_eq!(processing, json!([batch_3()]));
    let (_, queued) = get_json(&server, "/api/v1/streaming/batches?status=QUEUED");
    assert_eq!(queued, json!([batch_4()]));
    // ember's `after`: newer completed batches plus every active one.
    let after = format!("/api/v1/streaming/batches?after={}", batch_time(1));
    let (_, newer) = get_json(&server, &after);
    assert_eq!(ids(&newer), [batch_time(4), batch_time(3), batch_time(2)]);
    let (status, bad) = get_json(&server, "/api/v1/streaming/batches?status=DONE");
    assert_eq!(status, 400);
    assert_eq!(
        bad,
        json!({"error": "status \"DONE\" is not one of COMPLETED, PROCESSING, QUEUED"})
    );
}

#[test]
fn one_batch_and_its_operations_or_404() {
    let server = serve(story(1000));
    let (status, body) = get_json(
        &server,
        &format!("/api/v1/streaming/batches/{}", batch_time(2)),
    );
    assert_eq!(status, 200);
    assert_eq!(body, batch_2());
    let (status, ops) = get_json(
        &server,
        &format!("/api/v1/streaming/batches/{}/operations", batch_time(2)),
    );
    assert_eq!(status, 200);
    assert_eq!(ops, batch_2()["outputOperations"]);
    let (status, missing) = get_json(&server, "/api/v1/streaming/batches/123");
    assert_eq!(status, 404);
    assert_eq!(missing, json!({"error": "unknown batch: 123"}));
    let (status, bad) = get_json(&server, "/api/v1/streaming/batches/abc");
    assert_eq!(status, 404);
    assert_eq!(bad, json!({"error": "unknown batch: abc"}));
}

#[test]
fn retained_batches_bound_the_completed_ones() {
    let store = story(2);
    complete_batch(&store, 5, 7, 1, 2);
    let server = serve(store);
    let (_, stats) = get_json(&server, "/api/v1/streaming/statistics");
    assert_eq!(stats["numTotalCompletedBatches"], 3);
    assert_eq!(stats["numRetainedCompletedBatches"], 2);
    assert_eq!(stats["numProcessedRecords"], 427);
    let (_, all) = get_json(&server, "/api/v1/streaming/batches");
    assert_eq!(
        ids(&all),
        [batch_time(5), batch_time(4), batch_time(3), batch_time(2)]
    );
    let (status, _) = get_json(
        &server,
        &format!("/api/v1/streaming/batches/{}", batch_time(1)),
    );
    assert_eq!(status, 404);
}

#[test]
fn receivers_with_rates_errors_and_restarts() {
    let server = serve(story(1000));
    let receiver = json!({
        "streamId": 0,
        "streamName": "socket_text_stream",
        "isActive": true,
        "executorId": "driver",
        "executorHost": "localhost",
        "lastErrorTime": "2026-12-06T04:00:02.500GMT",
        "lastError": "connect to 127.0.0.1:9: connection refused (os error 111)",
        "lastErrorMessage": "connection refused",
        "avgEventRate": 115.0,
        "eventRates": [
            [batch_time(1), 100.0],
            [batch_time(2), 300.0],
            [batch_time(3), 50.0],
            [batch_time(4), 10.0]
        ],
        "numRestarts": 1,
        "numReceivedRecords": 460
    });
    let (status, body) = get_json(&server, "/api/v1/streaming/receivers");
    assert_eq!(status, 200);
    assert_eq!(body, json!([receiver.clone()]));
    let (status, one) = get_json(&server, "/api/v1/streaming/receivers/0");
    assert_eq!(status, 200);
    assert_eq!(one, receiver);
    let (status, _) = get_json(&server, "/api/v1/streaming/receivers/7");
    assert_eq!(status, 404);
}

#[test]
fn checkpoint_and_lineage() {
    let server = serve(story(1000));
    let (status, body) = get_json(&server, "/api/v1/streaming/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "numWrites": 1,
            "numFailures": 1,
            "lastCheckpointTime": "2026-12-06T04:00:02.000GMT",
            "lastSizeBytes": 12345,
            "lastWriteDurationMs": 125,
            "lastFailedCheckpointTime": "2026-12-06T04:00:01.000GMT",
            "lastFailure": "disk full",
            "recoveredFromTime": "2026-12-06T03:59:59.000GMT",
            "recoveredFromDir": "/tmp/ember-cp"
        })
    );
    let (status, lineage) = get_json(&server, "/api/v1/streaming/lineage");
    assert_eq!(status, 200);
    assert_eq!(
        lineage,
        json!({
            "appName": "word count",
            "lineage": "(2) ForEachDStream\n +-(2) MappedDStream\n    +-(2) SocketInputDStream"
        })
    );
}

#[test]
fn metrics_are_exact_prometheus_lines() {
    let server = serve(story(1000));
    let reply = get(server.local_addr(), "/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let lines: Vec<&str> = reply.body.lines().collect();
    for expected in [
        "ember_batches_completed_total 2",
        "ember_batches_failed_total 1",
        "ember_active_batches 2",
        "ember_records_received_total{stream_id=\"0\",stream_name=\"socket_text_stream\"} 460",
        "ember_records_received_total{stream_id=\"1\",stream_name=\"queue_stream\"} 20",
        "ember_records_processed_total{stream_id=\"0\",stream_name=\"socket_text_stream\"} 400",
        "ember_records_processed_total{stream_id=\"1\",stream_name=\"queue_stream\"} 20",
        "ember_buffered_records{stream_id=\"0\",stream_name=\"socket_text_stream\"} 42",
        "ember_buffered_bytes{stream_id=\"0\",stream_name=\"socket_text_stream\"} 4096",
        "ember_receiver_restarts_total{stream_id=\"0\",stream_name=\"socket_text_stream\"} 1",
        "ember_receiver_errors_total{stream_id=\"0\",stream_name=\"socket_text_stream\"} 1",
        "ember_active_receivers 1",
        // 0.02 + 0.1 in f64, printed shortest round-trip.
        "ember_batch_scheduling_delay_seconds_sum 0.12000000000000001",
        "ember_batch_scheduling_delay_seconds_count 2",
        "ember_batch_scheduling_delay_seconds_bucket{le=\"0.025\"} 1",
        "ember_batch_scheduling_delay_seconds_bucket{le=\"0.1\"} 2",
        "ember_batch_processing_time_seconds_sum 0.75",
        "ember_batch_processing_time_seconds_count 2",
        "ember_batch_processing_time_seconds_bucket{le=\"0.25\"} 1",
        "ember_batch_processing_time_seconds_bucket{le=\"0.5\"} 2",
        "ember_batch_total_delay_seconds_sum 0.87",
        "ember_batch_total_delay_seconds_bucket{le=\"0.25\"} 0",
        "ember_batch_total_delay_seconds_bucket{le=\"0.5\"} 1",
        "ember_batch_total_delay_seconds_bucket{le=\"1.0\"} 2",
        "ember_batch_total_delay_seconds_bucket{le=\"+Inf\"} 2",
        "ember_checkpoint_writes_total 1",
        "ember_checkpoint_failures_total 1",
        "ember_checkpoint_write_duration_seconds_sum 0.125",
        "ember_checkpoint_write_duration_seconds_count 1",
        "ember_checkpoint_last_size_bytes 12345",
        "# EOF",
    ] {
        assert!(
            lines.contains(&expected),
            "missing line {expected:?} in:\n{}",
            reply.body
        );
    }
}

#[test]
fn page_is_served_and_bad_paths_are_404() {
    let server = serve(story(1000));
    let page = get(server.local_addr(), "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert!(page.body.contains("<title>ember · Streaming</title>"));
    for path in [
        "/nope",
        "/api/v1/streaming",
        "/api/v1/streaming/nope",
        "/api/v2/x",
    ] {
        let (status, body) = get_json(&server, path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, json!({"error": format!("no such page: {path}")}));
    }
    let post = request(server.local_addr(), "POST", "/api/v1/streaming/statistics");
    assert_eq!(post.status, 405);
}

/// A port `p` with `p + 1` free too, `p` held by the returned listener.
fn taken_port_with_free_next() -> (TcpListener, u16) {
    loop {
        let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
        let port = held.local_addr().expect("its address").port();
        if port < u16::MAX && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1)).is_ok() {
            return (held, port);
        }
    }
}

#[test]
fn a_taken_port_moves_to_the_next_and_stop_frees_it() {
    let (_held, port) = taken_port_with_free_next();
    let config = UiConfig {
        port,
        ..UiConfig::default()
    };
    let server = UiServer::start(config, Arc::new(story(1000))).expect("start the UI");
    assert_eq!(server.local_addr().port(), port + 1);
    assert_eq!(server.url(), format!("http://127.0.0.1:{}", port + 1));
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
    let addr: SocketAddr = server.local_addr();
    server.stop();
    TcpListener::bind(addr).expect("stop freed the port");
}

#[test]
fn no_retries_left_is_a_typed_error() {
    let (_held, port) = taken_port_with_free_next();
    let config = UiConfig {
        port,
        max_retries: 0,
        ..UiConfig::default()
    };
    match UiServer::start(config, Arc::new(story(1000))) {
        Err(UiError::NoFreePort {
            first_port,
            last_port,
            ..
        }) => assert_eq!((first_port, last_port), (port, port)),
        other => panic!("expected NoFreePort, got {other:?}"),
    }
    let bad_host = UiConfig {
        host: "not a host name".into(),
        ..UiConfig::default()
    };
    assert!(matches!(
        UiServer::start(bad_host, Arc::new(story(1000))),
        Err(UiError::BadHost { .. })
    ));
    let by_name = UiConfig {
        host: "localhost".into(),
        port: 0,
        ..UiConfig::default()
    };
    let server = UiServer::start(by_name, Arc::new(story(1000))).expect("bind localhost");
    assert!(server.local_addr().ip().is_loopback());
    assert_eq!(get(server.local_addr(), "/metrics").status, 200);
}

/// A client that asks for a large reply and never reads it must not keep
/// `stop` from returning.
#[test]
fn a_client_that_stops_reading_does_not_block_stop() {
    let store = StatusStore::new(StoreConfig {
        app_name: "big".into(),
        batch_duration: Duration::from_millis(100),
        retained_batches: 10_000,
    });
    // About 7 MB of JSON: more than the socket buffers take.
    for n in 1..=10_000 {
        complete_batch_at(&store, START_MS + 100 * n, n, 1, 2);
    }
    let server = serve(store);
    let mut stalled = TcpStream::connect(server.local_addr()).expect("connect");
    write!(
        stalled,
        "GET /api/v1/streaming/batches HTTP/1.1\r\nHost: ui\r\n\r\n"
    )
    .expect("send");
    // The server still answers others while that reply is stuck.
    assert_eq!(
        get(server.local_addr(), "/api/v1/streaming/statistics").status,
        200
    );
    let (done, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        server.stop();
        let _ = done.send(());
    });
    stopped
        .recv_timeout(Duration::from_secs(60))
        .expect("stop returned although clients stopped reading");
    drop(stalled);
}
