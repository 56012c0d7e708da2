use ember_dstream::DStream;
use ember_macros::stream;

stream! {
    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .map(|w| (w, 1u64))
            .reduce_by_kye(|a, b| a + b)
    }
}

fn main() {}
