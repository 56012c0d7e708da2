//! A parent that generates no RDD for a batch time fails that batch in the
//! operations that need every parent's batch (`union`,
//! `StreamingContext::union`, `transform`, `transform_with`), as Spark's
//! "Couldn't generate RDD from parent" does; per-element operations (`map`)
//! simply have no batch at that time either.

use std::collections::VecDeque;
use std::sync::Arc;

use ember_dstream::testing::run_operation_n;
use ember_dstream::{
    DStream, Duration, InputEnv, InputSource, ManualClock, StopOptions, StreamingConf,
    StreamingContext, StreamingError, Time,
};
use ember_rdd::Rdd;

type R = Result<(), StreamingError>;

/// Its own time at odd seconds, no RDD at all at even ones.
struct Gappy;

impl InputSource<u64> for Gappy {
    fn name(&self) -> &'static str {
        "gappy"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        let ms = time.milliseconds();
        Ok((ms % 2000 == 1000).then(|| env.rdd_context().parallelize(vec![ms], 1)))
    }
}

/// Runs `op` over a queue stream (one record per batch: 1, 2, 3) and a
/// gappy stream for three batches; returns how the run ended.
fn run_with_gap(
    op: impl FnOnce(
        &StreamingContext,
        DStream<u64>,
        DStream<u64>,
    ) -> Result<DStream<u64>, StreamingError>,
) -> Result<Vec<Vec<u64>>, StreamingError> {
    run_operation_n(
        vec![vec![vec![1], vec![2], vec![3]]],
        move |ssc, mut streams| {
            let gappy = ssc.input_stream(Gappy);
            op(ssc, streams.remove(0), gappy)
        },
        3,
    )
}

/// The batch at 2000 ms failed with the missing-parent error for
/// `operation` (the gappy stream has id 1).
fn assert_missing_parent(result: Result<Vec<Vec<u64>>, StreamingError>, operation: &'static str) {
    let expected = StreamingError::MissingParentRdd {
        operation,
        parent: 1,
        parent_operation: "gappy",
        time: Time::from_millis(2000),
    }
    .to_string();
    match result {
        Err(StreamingError::OutputFailed { time, message, .. }) => {
            assert_eq!((time, message), (Time::from_millis(2000), expected));
        }
        other => panic!("expected the batch at 2000 ms to fail, got {other:?}"),
    }
}

#[test]
fn union_fails_the_batch() {
    assert_missing_parent(run_with_gap(|_, a, b| a.union(&b)), "union");
}

#[test]
fn context_union_fails_the_batch() {
    assert_missing_parent(run_with_gap(|ssc, a, b| ssc.union(&[a, b])), "union");
}

#[test]
fn transform_fails_the_batch() {
    assert_missing_parent(
        run_with_gap(|_, _, b| Ok(b.transform(|rdd, _| rdd.clone()))),
        "transform",
    );
}

#[test]
fn transform_with_fails_the_batch() {
    assert_missing_parent(
        run_with_gap(|_, a, b| a.transform_with(&b, |x, y, _| x.union(y))),
        "transform_with",
    );
}

#[test]
fn map_has_no_batch_where_its_parent_has_none() -> R {
    let out = run_with_gap(|_, _, b| Ok(b.map(|x| x + 1)))?;
    assert_eq!(out, vec![vec![1001], vec![3001]]);
    Ok(())
}

#[test]
fn the_error_reaches_await_termination() -> R {
    // Outside the harness: the failure reaches await_termination as an
    // output failure of the batch at 2000 ms.
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]").app_name("gap");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    let a = ssc.queue_stream(VecDeque::from([vec![1u64]]), true);
    let b = ssc.input_stream(Gappy);
    a.union(&b)?
        .foreach_rdd(|rdd, _| Ok(rdd.count().map(|_| ())?))?;
    ssc.start()?;
    clock.set_time(Time::from_millis(2000));
    let failure = ssc.await_termination_or_timeout(Duration::from_secs(30));
    ssc.stop(StopOptions::default())?;
    assert_missing_parent(failure.map(|_| Vec::new()), "union");
    Ok(())
}
