use ember_dstream::DStream;
use ember_macros::stream;

stream! {
    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .map(|w| (w.to_owned(), w.len() + "one"))
            .reduce_by_key(|a, b| a + b)
    }
}

fn main() {}
