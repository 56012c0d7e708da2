//! `stream!` inside a function body, with a raw-identifier pipeline name:
//! each fused stage's loop module is an item of that block, and the
//! pipelines give the expected batches.
use ember_dstream::testing::run_operation;
use ember_dstream::{DStream, StreamingError};
use ember_macros::stream;

fn main() -> Result<(), StreamingError> {
    const MIN: usize = 2;
    stream! {
        fn r#type(lines: DStream<String>) -> DStream<u64> {
            lines
                .flat_map(|line| line.split(' '))
                .map(|w| w.len())
                .filter(|n| *n >= MIN)
                .count()
        }

        fn lengths(lines: DStream<String>) -> DStream<usize> {
            r#type(lines).map(|n| n as usize)
        }
    }
    let input = vec![vec!["a bb ccc".to_owned(), "dddd e".to_owned()], vec![]];
    let out = run_operation(input, lengths, 2)?;
    assert_eq!(out, vec![vec![3], vec![0]]);
    Ok(())
}
