fn grouped(pairs: DStream<(String, String)>) -> DStream<(String, Vec<usize>)> {
    pairs
        .flat_map_values(|line| line.split(' '))
        .map_values(|w| w.len())
        .filter(|(_, n)| *n > 0)
        .group_by_key_and_window(Duration::from_secs(4), Duration::from_secs(2))
}

fn sums(lengths: DStream<u64>) -> DStream<u64> {
    lengths.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(6), Duration::from_secs(2))
}
