use ember_dstream::DStream;
use ember_macros::stream;

stream! {
    fn lengths(lines: DStream<String>, limit: Vec<u64>) -> DStream<usize> {
        lines.map(|l| l.len())
    }
}

fn main() {}
