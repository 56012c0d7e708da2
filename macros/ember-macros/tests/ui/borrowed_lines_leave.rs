use ember_dstream::{DStream, Duration};
use ember_macros::stream;

stream! {
    fn non_empty(lines: DStream<&str>) -> DStream<String> {
        lines.filter(|l| !l.is_empty())
    }

    fn windowed(lines: DStream<&str>) -> DStream<u64> {
        lines.window(Duration::from_secs(2), Duration::from_secs(1)).count()
    }
}

fn main() {}
