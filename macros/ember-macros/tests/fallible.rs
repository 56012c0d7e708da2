//! A `stream!` pipeline whose window durations are not literals returns a
//! `Result`: an invalid window is the library's `StreamingError` from the
//! generated function (never a panic), a valid one gives the same batches
//! as the plain DStream API; a pipeline calling it passes the error on.

use std::sync::atomic::{AtomicU64, Ordering};

use ember_dstream::testing::run_operation;
use ember_dstream::{DStream, Duration, StreamResult, StreamingError};
use ember_macros::stream;

/// The window length the pipelines read, set by the test before each run.
static WINDOW_MS: AtomicU64 = AtomicU64::new(2000);

fn window_length() -> Duration {
    Duration::from_millis(WINDOW_MS.load(Ordering::SeqCst))
}

stream! {
    fn windowed(xs: DStream<u64>) -> StreamResult<u64> {
        xs.map(|x| x * 2).window(window_length(), Duration::from_secs(1))
    }

    fn summed(xs: DStream<u64>) -> Result<DStream<u64>, StreamingError> {
        windowed(xs).reduce(|a, b| a + b)
    }
}

#[test]
fn invalid_and_valid_non_literal_windows() -> Result<(), StreamingError> {
    let input = vec![vec![1u64, 2], vec![3], vec![4]];

    WINDOW_MS.store(1500, Ordering::SeqCst);
    let expected = StreamingError::WindowNotMultiple {
        window: Duration::from_millis(1500),
        parent_slide: Duration::from_secs(1),
    }
    .to_string();
    for result in [
        run_operation(input.clone(), windowed, 3),
        run_operation(input.clone(), summed, 3),
    ] {
        match result {
            Err(e @ StreamingError::WindowNotMultiple { .. }) => {
                assert_eq!(e.to_string(), expected)
            }
            other => panic!("expected the window error, got {other:?}"),
        }
    }

    WINDOW_MS.store(2000, Ordering::SeqCst);
    let by_macro = run_operation(input.clone(), summed, 4)?;
    let by_api = run_operation(
        input,
        |s| {
            s.map(|x| x * 2)
                .window(Duration::from_secs(2), Duration::from_secs(1))
                .map(|w| w.reduce(|a, b| a + b))
        },
        4,
    )?;
    assert_eq!(by_macro, by_api);
    assert_eq!(by_macro, vec![vec![6], vec![12], vec![14], vec![8]]);
    Ok(())
}
