//! The checkpoint directory lock across processes: while a real child
//! process (this test binary, re-run as a lock holder) runs a context on a
//! checkpoint directory, a context here fails to start with a typed error
//! naming the directory and the child's pid; once the child stops (or is
//! killed), the directory is free. Within one process, a stopped context
//! frees it for the next. `get_or_create` locks the directory before it
//! reads it and holds the lock into `start`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::ChildStdout;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use ember_dstream::{
    Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError,
};

type R = Result<(), Box<dyn std::error::Error>>;

/// What the child prints once it holds the lock.
const HELD: &str = "ember-test-lock-held";

/// The environment variable that makes [`lock_holder_child`] hold a lock.
const HOLDER_DIR: &str = "EMBER_TEST_LOCK_HOLDER_DIR";

/// A context on `dir` with one trivial output (a queue of no batches).
fn context(dir: &Path) -> Result<StreamingContext, StreamingError> {
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]").app_name("lock"),
        Duration::from_secs(1),
        Arc::new(ManualClock::new()),
    )?;
    ssc.queue_stream::<u32>(std::collections::VecDeque::new(), true)
        .foreach_rdd(|_, _| Ok(()))?;
    ssc.checkpoint(dir);
    Ok(ssc)
}

/// Not a test of its own: run by [`Holder::start`] in a child process, it starts
/// a context on the directory named by [`HOLDER_DIR`], says [`HELD`], and
/// stops when its standard input closes.
#[test]
fn lock_holder_child() -> R {
    let Some(dir) = std::env::var_os(HOLDER_DIR) else {
        return Ok(());
    };
    let ssc = context(Path::new(&dir))?;
    ssc.start()?;
    // On a line of its own: the harness prints the test's name before it.
    println!("\n{HELD}");
    std::io::stdout().flush()?;
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    ssc.stop(StopOptions::default())?;
    Ok(())
}

/// A child process holding a checkpoint directory.
struct Holder {
    child: Child,
    /// Its output, kept open (and drained at the end) so the child's
    /// harness can print its summary.
    out: BufReader<ChildStdout>,
}

impl Holder {
    /// Starts a child process holding `dir` and waits until it does.
    fn start(dir: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "lock_holder_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLDER_DIR, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        while line.trim_end() != HELD {
            line.clear();
            if out.read_line(&mut line)? == 0 {
                return Err("the child exited without holding the lock".into());
            }
        }
        Ok(Holder { child, out })
    }

    /// Closes the child's input (it stops its context) and waits for it.
    fn finish(mut self) -> Result<bool, Box<dyn std::error::Error>> {
        drop(self.child.stdin.take());
        std::io::copy(&mut self.out, &mut std::io::sink())?;
        Ok(self.child.wait()?.success())
    }
}

fn assert_locked_by(err: &StreamingError, dir: &Path, pid: u32) {
    match err {
        StreamingError::CheckpointDirLocked {
            dir: locked,
            holder,
        } => {
            assert_eq!(locked, dir);
            assert!(
                holder.starts_with(&format!("pid {pid} on host ")),
                "{holder}"
            );
            let message = err.to_string();
            assert!(message.contains(&dir.display().to_string()), "{message}");
        }
        other => panic!("expected CheckpointDirLocked, got {other}"),
    }
}

#[test]
fn a_second_process_cannot_start_on_a_locked_checkpoint_directory() -> R {
    let dir = tempfile::tempdir()?;
    let holder = Holder::start(dir.path())?;
    let ssc = context(dir.path())?;
    let err = ssc.start().unwrap_err();
    assert_locked_by(&err, dir.path(), holder.child.id());

    // The child stops its context and exits: the directory is free.
    assert!(holder.finish()?);
    let ssc = context(dir.path())?;
    ssc.start()?;
    ssc.stop(StopOptions::default())?;

    // A killed holder releases it too.
    let mut holder = Holder::start(dir.path())?;
    let err = context(dir.path())?.start().unwrap_err();
    assert_locked_by(&err, dir.path(), holder.child.id());
    holder.child.kill()?;
    holder.child.wait()?;
    let ssc = context(dir.path())?;
    ssc.start()?;
    ssc.stop(StopOptions::default())?;
    Ok(())
}

#[test]
fn a_stopped_or_dropped_context_frees_the_directory_in_process() -> R {
    let dir = tempfile::tempdir()?;
    let first = context(dir.path())?;
    first.start()?;
    let err = context(dir.path())?.start().unwrap_err();
    assert_locked_by(&err, dir.path(), std::process::id());
    first.stop(StopOptions::default())?;

    let second = context(dir.path())?;
    second.start()?;
    drop(second);
    let third = context(dir.path())?;
    third.start()?;
    third.stop(StopOptions::default())?;
    Ok(())
}

/// A context made by `get_or_create` on `dir` with the batch interval
/// `batch_s`.
fn recover(dir: &Path, batch_s: u64) -> Result<StreamingContext, StreamingError> {
    StreamingContext::get_or_create(dir, || {
        let ssc = context(dir)?;
        if batch_s == 1 {
            return Ok(ssc);
        }
        let other = StreamingContext::with_clock(
            StreamingConf::new().master("local[2]").app_name("lock"),
            Duration::from_secs(batch_s),
            Arc::new(ManualClock::new()),
        )?;
        other
            .queue_stream::<u32>(std::collections::VecDeque::new(), true)
            .foreach_rdd(|_, _| Ok(()))?;
        Ok(other)
    })
}

#[test]
fn get_or_create_locks_the_directory_before_it_reads_it_and_holds_it_into_start() -> R {
    let dir = tempfile::tempdir()?;
    // A checkpoint to recover from.
    let ssc = context(dir.path())?;
    ssc.start()?;
    ssc.stop(StopOptions::default())?;

    // Another process holds the directory: recovery does not read it.
    let holder = Holder::start(dir.path())?;
    let err = recover(dir.path(), 1).unwrap_err();
    assert_locked_by(&err, dir.path(), holder.child.id());
    assert!(holder.finish()?);

    // The recovered context holds it from get_or_create on, through start,
    // until it stops.
    let first = recover(dir.path(), 1)?;
    assert_eq!(
        first.recovered_from(),
        Some(ember_dstream::Time::from_millis(0))
    );
    let err = recover(dir.path(), 1).unwrap_err();
    assert_locked_by(&err, dir.path(), std::process::id());
    first.start()?;
    let err = context(dir.path())?.start().unwrap_err();
    assert_locked_by(&err, dir.path(), std::process::id());
    first.stop(StopOptions::default())?;

    // A failed recovery (another batch interval) releases it, and so does
    // dropping a recovered context that never started.
    assert!(matches!(
        recover(dir.path(), 2),
        Err(StreamingError::CheckpointMismatch { .. })
    ));
    drop(recover(dir.path(), 1)?);
    let last = recover(dir.path(), 1)?;
    last.start()?;
    last.stop(StopOptions::default())?;
    Ok(())
}
