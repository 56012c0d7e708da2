use ember_dstream::DStream;
use ember_macros::stream;

stream! {
    fn empty(lines: DStream<String>) -> DStream<String> {}
}

fn main() {}
