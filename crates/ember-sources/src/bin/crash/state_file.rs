//! What the crash-test binaries (`crash_word_count`, `crash_socket_count`)
//! share: every batch they write their whole state to a file the test reads
//! between kills, and they run a recovered-or-new context until killed.
//!
//! The state file is written atomically (temp file, fsync, rename): a first
//! line `time <batch ms>`, then one `<key> <count>` line per key, sorted.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

use ember_dstream::{DStream, StreamingContext, StreamingError};

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
    counts.foreach_rdd(move |rdd, time| match rdd.collect() {
        Ok(state) => {
            if let Err(e) = write_state(&out, time.milliseconds(), state) {
                eprintln!("writing the state failed: {e}");
            }
        }
        Err(e) => eprintln!("collecting the state failed: {e}"),
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
