//! A live demo of the Streaming UI without an engine: synthetic 100 ms
//! batches on the real clock (a receiver that fails and restarts, an output
//! operation that fails now and then, checkpoints), served until killed or
//! for `--seconds N`.
//!
//! `cargo run -p ember-ui --example ui_demo -- --port 4040 --seconds 60`

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ember_ui::events::{
    BatchCompleted, BatchStarted, BatchSubmitted, CheckpointWritten, InputBufferUpdated,
    InputRecords, OutputOperationCompleted, OutputOperationDescription, OutputOperationStarted,
    ReceiverError, ReceiverStarted, ReceiverStopped, StreamingStarted,
};
use ember_ui::{StatusStore, StoreConfig, UiConfig, UiServer};

const BATCH: Duration = Duration::from_millis(100);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn receiver_started(store: &StatusStore, time_ms: u64) {
    store.on_receiver_started(ReceiverStarted {
        stream_id: 0,
        name: "socket_text_stream 127.0.0.1:9999".into(),
        executor_id: "driver".into(),
        executor_host: "localhost".into(),
        time_ms,
    });
}

/// One synthetic batch `n`, all its events, timed like a busy pipeline.
fn feed(store: &StatusStore, n: u64, time: u64) {
    let records = 800 + (n * 37) % 400;
    let op = OutputOperationDescription {
        id: 0,
        name: "foreach_rdd".into(),
        description: "foreach_rdd at ui_demo.rs".into(),
    };
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: time,
        submission_time_ms: time,
        inputs: vec![
            InputRecords {
                stream_id: 0,
                records,
            },
            InputRecords {
                stream_id: 1,
                records: records / 10,
            },
        ],
        output_operations: vec![op.clone()],
    });
    let start = time + 1 + n % 5;
    let end = start + 20 + (n * 13) % 40;
    store.on_batch_started(BatchStarted {
        batch_time_ms: time,
        processing_start_time_ms: start,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: time,
        operation: op,
        start_time_ms: start,
    });
    store.on_output_operation_completed(OutputOperationCompleted {
        batch_time_ms: time,
        id: 0,
        end_time_ms: end,
        failure_reason: (n % 250 == 0).then(|| format!("batch {n}: sink refused the write")),
    });
    store.on_batch_completed(BatchCompleted {
        batch_time_ms: time,
        processing_end_time_ms: end,
    });
    store.on_input_buffer_updated(InputBufferUpdated {
        stream_id: 0,
        records: n % 50,
        bytes: (n % 50) * 64,
    });
    if n % 10 == 0 {
        store.on_checkpoint_written(CheckpointWritten {
            checkpoint_time_ms: time,
            size_bytes: 40_000 + n % 1000,
            write_duration: Duration::from_millis(3 + n % 7),
        });
    }
    if n % 600 == 300 {
        store.on_receiver_error(ReceiverError {
            stream_id: 0,
            message: "connection reset by peer".into(),
            error: "read from 127.0.0.1:9999: connection reset by peer (os error 104)".into(),
            time_ms: end,
        });
        store.on_receiver_stopped(ReceiverStopped {
            stream_id: 0,
            time_ms: end,
        });
        receiver_started(store, end + 50);
    }
}

fn main() -> Result<(), ember_ui::UiError> {
    let port = arg("--port")
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(4040);
    let seconds = arg("--seconds");
    let store = Arc::new(StatusStore::new(StoreConfig::new("ui demo", BATCH)));
    let start = now_ms();
    store.on_streaming_started(StreamingStarted { time_ms: start });
    store.register_input_stream(1, "queue_stream");
    store.set_lineage(
        "(2) ForEachDStream[4]\n +-(2) ShuffledDStream[3] reduce_by_key\n    \
         +-(2) FlatMappedDStream[2]\n       +-(2) SocketInputDStream[0]",
    );
    receiver_started(&store, start);
    let server = UiServer::start(
        UiConfig {
            port,
            ..UiConfig::default()
        },
        Arc::clone(&store),
    )?;
    println!("Streaming UI at {}", server.url());
    let batches = seconds.map(|s| s * 10);
    let mut n = 0;
    while batches.is_none_or(|b| n < b) {
        n += 1;
        let time = start + n * 100;
        let wait = time.saturating_sub(now_ms());
        std::thread::sleep(Duration::from_millis(wait));
        feed(&store, n, time);
    }
    server.stop();
    Ok(())
}
