//! Recovery time: from `StreamingContext::get_or_create` on a checkpoint
//! directory holding 1,000,000 keys of word-count state (`update_state_by_key`,
//! checkpointed) to the first batch processed after the restart. The
//! checkpoint is written once, outside the timed loop; every iteration is a
//! fresh recovery on a manual clock.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ember::dstream::{InputQueue, ManualClock};
use ember::prelude::*;

const KEYS: u64 = 1_000_000;

/// The pipeline, rebuilt from code on every (re)start.
fn create(
    clock: Arc<ManualClock>,
    input: InputQueue<(String, u64)>,
) -> Result<StreamingContext, StreamingError> {
    let conf = StreamingConf::new().master("local[2]").app_name("recovery");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock)?;
    ssc.queue_stream(input, true)
        .update_state_by_key(|new: &[u64], total: Option<u64>| {
            Some(total.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_secs(1))?
        .foreach_rdd(|_, _| Ok(()))?;
    Ok(ssc)
}

/// Recovers from `dir`, runs the first batch after the checkpoint, stops.
fn recover_and_run_one_batch(dir: &Path) -> Result<(), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let ssc =
        StreamingContext::get_or_create(dir, || create(Arc::clone(&clock), InputQueue::new()))?;
    let checkpoint = ssc.recovered_from().expect("a checkpoint to recover from");
    clock.set_time(checkpoint + Duration::from_secs(1));
    ssc.start()?;
    let done = ssc.await_batches(1, Duration::minutes(2))?;
    ssc.stop(StopOptions::default())?;
    assert!(done, "the first batch after recovery did not complete");
    Ok(())
}

fn recovery(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let state: Vec<(String, u64)> = (0..KEYS).map(|i| (format!("w{i}"), 1)).collect();
    let clock = Arc::new(ManualClock::new());
    let first = StreamingContext::get_or_create(dir.path(), || {
        create(
            Arc::clone(&clock),
            InputQueue::from(VecDeque::from(vec![state])),
        )
    })
    .expect("a new context");
    first.start().expect("start");
    clock.set_time(ember::Time::from_millis(1000));
    assert!(
        first
            .await_batches(1, Duration::minutes(2))
            .expect("first batch")
    );
    first.stop(StopOptions::default()).expect("stop");

    let mut group = c.benchmark_group("recovery_1M_keys");
    group.sample_size(10);
    group.bench_function("get_or_create_to_first_batch", |b| {
        b.iter(|| recover_and_run_one_batch(dir.path()).expect("recovery"))
    });
    group.finish();
}

criterion_group!(benches, recovery);
criterion_main!(benches);
