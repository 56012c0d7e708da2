use ember_dstream::DStream;
use ember_macros::stream;

stream! {
    fn doubled(xs: DStream<u64>) -> DStream<(u64, u64)> {
        xs.map_values(|v| v * 2)
    }
}

fn main() {}
