//! Shared test parts: a store fed with a known story of batches, receivers
//! and checkpoints, and a plain HTTP/1.0 GET over a real TCP connection.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ember_ui::events::{
    BatchCompleted, BatchStarted, BatchSubmitted, CheckpointFailed, CheckpointRecovered,
    CheckpointWritten, InputBufferUpdated, InputRecords, OutputOperationCompleted,
    OutputOperationDescription, OutputOperationStarted, ReceiverError, ReceiverStarted,
    ReceiverStopped, StreamingStarted,
};
use ember_ui::{StatusStore, StoreConfig};

/// The batch interval of the story.
pub const BATCH_MS: u64 = 1000;
/// When the story's context starts.
pub const START_MS: u64 = 1_796_529_600_000;

/// A reply: status code, content type, body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// GETs `path` from `addr` (HTTP/1.0, connection closed by the server).
pub fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path)
}

/// Sends `method path` to `addr` and reads the whole reply.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the UI");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set a read timeout");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send the request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_owned(),
    }
}

/// The time of batch `n` (1-based).
pub fn batch_time(n: u64) -> u64 {
    START_MS + n * BATCH_MS
}

/// Feeds one completed batch `n`: `records` from stream 0, the given
/// scheduling delay and processing time, one output operation.
pub fn complete_batch(store: &StatusStore, n: u64, records: u64, delay: u64, processing: u64) {
    complete_batch_at(store, batch_time(n), records, delay, processing);
}

/// Feeds one completed batch of time `time` (see [`complete_batch`]).
pub fn complete_batch_at(
    store: &StatusStore,
    time: u64,
    records: u64,
    delay: u64,
    processing: u64,
) {
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: time,
        submission_time_ms: time,
        inputs: vec![InputRecords {
            stream_id: 0,
            records,
        }],
        output_operations: vec![op(0, "foreach_rdd")],
    });
    store.on_batch_started(BatchStarted {
        batch_time_ms: time,
        processing_start_time_ms: time + delay,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: time,
        operation: op(0, "foreach_rdd"),
        start_time_ms: time + delay,
    });
    store.on_output_operation_completed(OutputOperationCompleted {
        batch_time_ms: time,
        id: 0,
        end_time_ms: time + delay + processing,
        failure_reason: None,
    });
    store.on_batch_completed(BatchCompleted {
        batch_time_ms: time,
        processing_end_time_ms: time + delay + processing,
    });
}

/// An output operation description.
pub fn op(id: u32, name: &str) -> OutputOperationDescription {
    OutputOperationDescription {
        id,
        name: name.to_owned(),
        description: format!("{name} at word_count.rs:{}", 10 + id),
    }
}

/// The story every endpoint test reads:
/// - stream 0 has a receiver `socket_text_stream` (started, error, stopped,
///   restarted); stream 1 is a queue input without receiver;
/// - batch 1 completed: 100 + 20 records, submitted +10, started +30,
///   ended +280 (delay 20, processing 250, total 270);
/// - batch 2 completed with a failed output operation: 300 + 0 records,
///   submitted +0, started +100, ended +600 (100, 500, 600);
/// - batch 3 processing: 50 records, submitted +5, started +130;
/// - batch 4 queued: 10 records;
/// - a checkpoint written, one failed, recovered from another.
pub fn story(retained_batches: usize) -> StatusStore {
    let store = StatusStore::new(StoreConfig {
        app_name: "word count".into(),
        batch_duration: Duration::from_millis(BATCH_MS),
        retained_batches,
    });
    store.on_streaming_started(StreamingStarted { time_ms: START_MS });
    store.register_input_stream(1, "queue_stream");
    store.set_lineage("(2) ForEachDStream\n +-(2) MappedDStream\n    +-(2) SocketInputDStream");
    store.on_receiver_started(ReceiverStarted {
        stream_id: 0,
        name: "socket_text_stream".into(),
        executor_id: "driver".into(),
        executor_host: "localhost".into(),
        time_ms: START_MS + 100,
    });
    let t1 = batch_time(1);
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: t1,
        submission_time_ms: t1 + 10,
        inputs: vec![
            InputRecords {
                stream_id: 0,
                records: 100,
            },
            InputRecords {
                stream_id: 1,
                records: 20,
            },
        ],
        output_operations: vec![op(0, "foreach_rdd")],
    });
    store.on_batch_started(BatchStarted {
        batch_time_ms: t1,
        processing_start_time_ms: t1 + 30,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: t1,
        operation: op(0, "foreach_rdd"),
        start_time_ms: t1 + 30,
    });
    store.on_output_operation_completed(OutputOperationCompleted {
        batch_time_ms: t1,
        id: 0,
        end_time_ms: t1 + 280,
        failure_reason: None,
    });
    store.on_batch_completed(BatchCompleted {
        batch_time_ms: t1,
        processing_end_time_ms: t1 + 280,
    });

    let t2 = batch_time(2);
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: t2,
        submission_time_ms: t2,
        inputs: vec![
            InputRecords {
                stream_id: 0,
                records: 300,
            },
            InputRecords {
                stream_id: 1,
                records: 0,
            },
        ],
        output_operations: vec![op(0, "foreach_rdd"), op(1, "save_as_text_files")],
    });
    store.on_batch_started(BatchStarted {
        batch_time_ms: t2,
        processing_start_time_ms: t2 + 100,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: t2,
        operation: op(0, "foreach_rdd"),
        start_time_ms: t2 + 100,
    });
    store.on_output_operation_completed(OutputOperationCompleted {
        batch_time_ms: t2,
        id: 0,
        end_time_ms: t2 + 200,
        failure_reason: None,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: t2,
        operation: op(1, "save_as_text_files"),
        start_time_ms: t2 + 200,
    });
    store.on_receiver_error(ReceiverError {
        stream_id: 0,
        message: "connection refused".into(),
        error: "connect to 127.0.0.1:9: connection refused (os error 111)".into(),
        time_ms: t2 + 500,
    });
    store.on_receiver_stopped(ReceiverStopped {
        stream_id: 0,
        time_ms: t2 + 550,
    });
    store.on_output_operation_completed(OutputOperationCompleted {
        batch_time_ms: t2,
        id: 1,
        end_time_ms: t2 + 600,
        failure_reason: Some("job failed: disk full".into()),
    });
    store.on_batch_completed(BatchCompleted {
        batch_time_ms: t2,
        processing_end_time_ms: t2 + 600,
    });
    store.on_receiver_started(ReceiverStarted {
        stream_id: 0,
        name: "socket_text_stream".into(),
        executor_id: "driver".into(),
        executor_host: "localhost".into(),
        time_ms: t2 + 700,
    });
    store.on_checkpoint_failed(CheckpointFailed {
        checkpoint_time_ms: t1,
        message: "disk full".into(),
    });
    store.on_checkpoint_written(CheckpointWritten {
        checkpoint_time_ms: t2,
        size_bytes: 12_345,
        write_duration: Duration::from_millis(125),
    });
    store.on_checkpoint_recovered(CheckpointRecovered {
        checkpoint_time_ms: START_MS - 1000,
        dir: "/tmp/ember-cp".into(),
    });

    let t3 = batch_time(3);
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: t3,
        submission_time_ms: t3 + 5,
        inputs: vec![InputRecords {
            stream_id: 0,
            records: 50,
        }],
        output_operations: vec![op(0, "foreach_rdd")],
    });
    store.on_batch_started(BatchStarted {
        batch_time_ms: t3,
        processing_start_time_ms: t3 + 130,
    });
    store.on_output_operation_started(OutputOperationStarted {
        batch_time_ms: t3,
        operation: op(0, "foreach_rdd"),
        start_time_ms: t3 + 130,
    });
    let t4 = batch_time(4);
    store.on_batch_submitted(BatchSubmitted {
        batch_time_ms: t4,
        submission_time_ms: t4,
        inputs: vec![InputRecords {
            stream_id: 0,
            records: 10,
        }],
        output_operations: vec![op(0, "foreach_rdd")],
    });
    store.on_input_buffer_updated(InputBufferUpdated {
        stream_id: 0,
        records: 42,
        bytes: 4096,
    });
    store
}
