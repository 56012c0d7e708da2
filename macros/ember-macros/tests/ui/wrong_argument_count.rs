use ember_dstream::{DStream, Duration};
use ember_macros::stream;

stream! {
    fn windowed(lines: DStream<String>) -> DStream<String> {
        lines.window(Duration::from_secs(30))
    }
}

fn main() {}
