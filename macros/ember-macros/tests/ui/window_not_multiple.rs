use ember_dstream::{DStream, Duration};
use ember_macros::stream;

stream! {
    fn windowed(lines: DStream<String>) -> DStream<String> {
        lines
            .window(Duration::from_secs(30), Duration::from_secs(10))
            .window(Duration::from_secs(45), Duration::from_secs(20))
    }
}

fn main() {}
