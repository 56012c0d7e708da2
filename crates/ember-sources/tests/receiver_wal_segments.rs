//! Receiver write-ahead log segments are deleted only on the strength of
//! durable checkpoints, back to the oldest checkpoint the directory keeps
//! (issue 11, defect 6). A manual clock, one acknowledged block per
//! one-second batch, a checkpoint every 10 s (the default interval), 10
//! kept: the log rotates at each durable checkpoint, so segment `k` holds
//! the blocks of batches `10k + 1 ..= 10k + 10`; a recovery from the
//! oldest kept checkpoint `c` needs the blocks after `c - 1 s` (the remember
//! duration), so the segments before the one holding `c - 0.5 s` go, and
//! exactly those.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use ember_dstream::{
    BatchInfo, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingListener, Time,
};
use ember_sources::receiver::{Receiver as SourceReceiver, ReceiverContext, ReceiverStreams};

const PATIENCE: StdDuration = StdDuration::from_secs(60);
const BATCH_MS: u64 = 1000;

/// Stores each block sent to it and answers once it is logged.
struct Fed {
    blocks: Receiver<Vec<u64>>,
    acks: Sender<()>,
}

impl SourceReceiver<u64> for Fed {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            if let Ok(block) = self.blocks.recv_timeout(StdDuration::from_millis(5)) {
                if ctx.store_block(block).is_err() {
                    return;
                }
                let _ = self.acks.send(());
            }
        }
    }
}

/// Sends the time of each completed batch: after its checkpoint (and the
/// sources' `checkpoint_durable`).
struct Completed(Sender<Time>);

impl StreamingListener for Completed {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let _ = self.0.send(batch.batch_time);
    }
}

#[test]
fn segments_go_only_once_no_kept_checkpoint_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("wal-segments")
        .set("spark.streaming.receiver.writeAheadLog.enable", "true");
    let ssc =
        StreamingContext::with_clock(conf, Duration::from_millis(BATCH_MS), clock.clone()).unwrap();
    ssc.checkpoint(dir.path());
    let (blocks, fed_blocks) = unbounded();
    let (fed_acks, acks) = unbounded();
    let numbers = ssc.receiver_stream(Fed {
        blocks: fed_blocks,
        acks: fed_acks,
    });
    numbers.foreach_rdd(|_, _| Ok(())).unwrap();
    let (completed_tx, completed) = unbounded();
    ssc.add_listener(Arc::new(Completed(completed_tx)));
    ssc.start().unwrap();

    let log = dir.path().join("receivedData").join("0");
    // The segment files' ids (20 digits in their names), without opening
    // the log the store is writing.
    let segments = || -> Vec<u64> {
        let mut ids: Vec<u64> = std::fs::read_dir(&log)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let digits: String = name.chars().filter(char::is_ascii_digit).collect();
                (digits.len() == 20).then(|| digits.parse().unwrap())
            })
            .collect();
        ids.sort_unstable();
        ids
    };
    for b in 1..=120u64 {
        clock.set_time(Time::from_millis(b * BATCH_MS - BATCH_MS / 2));
        blocks.send(vec![b]).unwrap();
        acks.recv_timeout(PATIENCE).unwrap();
        clock.set_time(Time::from_millis(b * BATCH_MS));
        assert_eq!(
            completed.recv_timeout(PATIENCE).unwrap(),
            Time::from_millis(b * BATCH_MS)
        );
        // Checkpoints are written off the batch path: the log rotates (and
        // old segments go) once the checkpoint is durable, a moment after
        // its batch completed. Wait for that, then compare exactly.
        let settled = |expected: Vec<u64>, what: &str| {
            let start = std::time::Instant::now();
            while segments() != expected && start.elapsed() < PATIENCE {
                std::thread::sleep(StdDuration::from_millis(5));
            }
            assert_eq!(segments(), expected, "{what}");
        };
        match b {
            // Checkpoints at 10 and 20 are kept: a recovery from 10 s
            // needs batch 10's block, in segment 0.
            20 => settled(vec![0, 1, 2], "after batch 20"),
            // Eleven checkpoints written, the oldest kept is 20 s: blocks
            // after 19 s are needed, segment 0 (up to 10.5 s at most) goes.
            110 => settled((1..=11).collect(), "after batch 110"),
            _ => {}
        }
    }
    ssc.stop(StopOptions::default()).unwrap();
    // The oldest kept checkpoint is 30 s: segments 2 (blocks of batches 21
    // to 30) to 12 (the active one) remain.
    assert_eq!(segments(), (2..=12).collect::<Vec<_>>());
}
