//! What the crash-test binaries (`crash_word_count`, `crash_socket_count`)
//! share: their state is a checkpointed running count per key, every batch
//! they write that whole state to a file the test reads between kills, and
//! they run a recovered-or-new context until killed.
//!
//! The state file is written atomically (temp file, fsync, rename): a first
//! line `time <batch ms>`, then one `<key> <count>` line per key, sorted.

use std::fmt::Display;
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};

use ember_dstream::{DStream, Duration, StateData, StreamingContext, StreamingError};

/// The running count of every key since the stream began (each batch adds
/// the key's occurrences in it), an `update_state_by_key` state
/// checkpointed every `checkpoint_interval`.
pub(crate) fn running_counts<K>(
    keys: DStream<K>,
    checkpoint_interval: Duration,
) -> Result<DStream<(K, u64)>, StreamingError>
where
    K: StateData + Hash + Eq,
{
    keys.map(|key| (key, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(checkpoint_interval)
}

/// Writes `state` as of batch `time_ms` to `path`, atomically.
fn write_state<K: Display + Ord>(
    path: &Path,
    time_ms: u64,
    mut state: Vec<(K, u64)>,
) -> std::io::Result<()> {
    state.sort_unstable();
    let tmp = path.with_extension("tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    writeln!(file, "time {time_ms}")?;
    for (key, count) in state {
        writeln!(file, "{key} {count}")?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Registers the output that writes `counts` to `out` every batch; a batch
/// whose state cannot be collected or written is reported on stderr.
pub(crate) fn write_every_batch<K>(
    counts: &DStream<(K, u64)>,
    out: PathBuf,
) -> Result<(), StreamingError>
where
    K: ember_rdd::Data + Display + Ord,
{
    counts.foreach_rdd(move |rdd, time| {
        match rdd.collect() {
            Ok(state) => {
                if let Err(e) = write_state(&out, time.milliseconds(), state) {
                    eprintln!("writing the state failed: {e}");
                }
            }
            Err(e) => eprintln!("collecting the state failed: {e}"),
        }
        Ok(())
    })?;
    Ok(())
}

/// Starts `ssc` (recovered or new, from `get_or_create`) and runs it until
/// the process is killed or the stream fails.
pub(crate) fn run_until_killed(ssc: StreamingContext) -> Result<(), StreamingError> {
    if let Some(time) = ssc.recovered_from() {
        eprintln!("recovered from checkpoint at {time}");
    }
    ssc.start()?;
    ssc.await_termination()
}
