use ember_dstream::{DStream, Duration};
use ember_macros::stream;

fn length() -> Duration {
    Duration::from_secs(30)
}

stream! {
    fn windowed(lines: DStream<String>) -> DStream<String> {
        lines.window(length(), Duration::from_secs(10))
    }
}

fn main() {}
