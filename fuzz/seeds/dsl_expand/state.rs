pub fn totals(pairs: DStream<(String, u64)>) -> DStream<(String, u64)> {
    pairs
        .filter(|(w, _)| w.len() > 1)
        .map(|(w, n)| (w, n * 2))
        .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()))
}

fn windowed(lines: DStream<String>) -> DStream<u64> {
    lines.map(|l| l.len() as u64).window(Duration::from_secs(4), Duration::from_secs(2)).count()
}
