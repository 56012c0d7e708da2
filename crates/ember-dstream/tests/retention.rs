//! A long run on the manual clock: 10,000 batches of a stateful and a
//! windowed pipeline. What the engine retains (generated RDDs, cached
//! blocks) must stay bounded, and the state's lineage short.

use std::collections::VecDeque;
use std::sync::Arc;

use ember_dstream::{
    Clock, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError,
    Time,
};

const BATCHES: u64 = 10_000;
const CHUNK: u64 = 250;

#[test]
fn ten_thousand_batches_retain_a_bounded_number_of_rdds() -> Result<(), StreamingError> {
    let started = std::time::Instant::now();
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("retention");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    let input: VecDeque<Vec<u64>> = (0..BATCHES).map(|i| vec![i, i + 1, i + 2]).collect();
    let numbers = ssc.queue_stream(input, true);
    let pairs = numbers.map(|x| (x % 50, 1u64));
    let totals = pairs.update_state_by_key(|new: &[u64], old: Option<u64>| {
        Some(old.unwrap_or(0) + new.iter().sum::<u64>())
    });
    let windowed = numbers.window(Duration::from_secs(3), Duration::from_secs(1))?;
    let window_counts = windowed.count();

    let (sender, receiver) = crossbeam_channel::unbounded::<(Time, u64, u64)>();
    let window_sender = sender.clone();
    totals.foreach_rdd(move |rdd, time| {
        let sum: u64 = rdd.collect()?.iter().map(|(_, n)| n).sum();
        let _ = sender.send((time, 0, sum));
        Ok(())
    })?;
    window_counts.foreach_rdd(move |rdd, time| {
        let count = rdd.collect()?.first().copied().unwrap_or(0);
        let _ = window_sender.send((time, 1, count));
        Ok(())
    })?;
    ssc.start()?;

    let blocks = || ssc.rdd_context().block_manager().block_ids().len();
    let mut max_blocks = 0;
    let mut max_retained = 0;
    let mut done = 0u64;
    while done < BATCHES {
        let target = done + CHUNK;
        clock.set_time(Time::from_millis(target * 1000));
        let mut seen = 0;
        while seen < 2 * CHUNK {
            let (time, which, value) = receiver
                .recv_timeout(std::time::Duration::from_secs(60))
                .map_err(|e| StreamingError::Timeout {
                    what: format!("batches up to {target} ({e})"),
                    after: std::time::Duration::from_secs(60),
                })?;
            let batch = time.milliseconds() / 1000;
            if which == 0 {
                // Each batch adds 3 records to the state.
                assert_eq!(value, 3 * batch, "state total at {time}");
            } else {
                assert_eq!(value, 3 * batch.min(3), "window count at {time}");
            }
            seen += 1;
        }
        done = target;
        max_blocks = max_blocks.max(blocks());
        max_retained = max_retained
            .max(totals.retained_rdds())
            .max(windowed.retained_rdds())
            .max(numbers.retained_rdds());
    }
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert!(clock.now() >= Time::from_millis(BATCHES * 1000));

    // Bounded: the window keeps its 3 batches plus one, the others one or two.
    for (name, retained) in [
        ("input", numbers.retained_rdds()),
        ("pairs", pairs.retained_rdds()),
        ("state", totals.retained_rdds()),
        ("window", windowed.retained_rdds()),
        ("window count", window_counts.retained_rdds()),
    ] {
        assert!(retained <= 5, "{name} retains {retained} RDDs");
    }
    eprintln!(
        "{BATCHES} batches in {:?}: up to {max_retained} RDDs retained per stream, up to {max_blocks} cached blocks",
        started.elapsed()
    );
    assert!(max_retained <= 5, "up to {max_retained} RDDs retained");
    // The state's cached blocks (up to 8) and the input's, which the
    // window keeps (its retained RDDs, at most 5, of 2 partitions each).
    let bound = 8 + 5 * 2;
    assert!(max_blocks <= bound, "up to {max_blocks} cached blocks");
    assert!(blocks() <= bound, "{} cached blocks at the end", blocks());

    // The last state RDD was local-checkpointed: no lineage left.
    let last = Time::from_millis(BATCHES * 1000);
    let state = totals.get_or_compute(last)?;
    let Some(state) = state else {
        panic!("the last state RDD is no longer retained");
    };
    assert!(
        state.dependencies().is_empty(),
        "{}",
        state.to_debug_string()
    );
    assert!(state.to_debug_string().lines().count() <= 2);
    assert_eq!(state.count().map_err(StreamingError::from)?, 50);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    Ok(())
}
