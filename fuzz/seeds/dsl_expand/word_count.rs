/// Counts the words of each batch.
fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|line| line.split(' '))
        .filter(|w| !w.is_empty())
        .map(|w| (w.to_owned(), 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// Word counts over the last 3 seconds, every second.
fn trending(lines: DStream<String>) -> DStream<(String, u64)> {
    word_count(lines).reduce_by_key_and_window(
        |a, b| a + b,
        Duration::from_secs(3),
        Duration::from_secs(1),
    )
}
