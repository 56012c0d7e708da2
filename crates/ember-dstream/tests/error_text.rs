//! A `main` returning a `StreamingError` prints it with `Debug`: that is
//! the message with its context (durations as `5000 ms`), not the
//! variant's fields (`Duration(5000)`).

use std::collections::VecDeque;

use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError};

#[test]
fn debug_is_the_message() -> Result<(), StreamingError> {
    let ssc = StreamingContext::new(
        StreamingConf::new().master("local[2]"),
        Duration::from_secs(2),
    )?;
    let stream = ssc.queue_stream(VecDeque::from([vec![1u8]]), true);
    let err = stream
        .window(Duration::from_secs(5), Duration::from_secs(2))
        .unwrap_err();
    let expected =
        "window duration 5000 ms must be a multiple of the parent's slide duration 2000 ms";
    assert_eq!(err.to_string(), expected);
    assert_eq!(format!("{err:?}"), expected);
    Ok(())
}
