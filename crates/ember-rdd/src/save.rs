//! `save_as_text_file`: one `part-NNNNN` file per partition in Hadoop's
//! layout, `_SUCCESS` last, written into a hidden temporary directory and
//! renamed into place so no reader sees half an output.
//!
//! In cluster mode the directory is shared (as HDFS is for Spark) and the
//! job is Spark's output commit in three steps: process 0 (the driver)
//! checks the target and creates the temporary directory, and tells every
//! process its name (one round); each process writes the parts of the
//! partitions it owns into it (partition indices are global, so names
//! never collide; the job's own round says when all are written and
//! fails everywhere if one failed); process 0 writes `_SUCCESS` and renames
//! the directory into place, and every process returns its outcome (one
//! more round).

use std::fmt::Display;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::scheduler::run_job;
use crate::{Data, JobError, Rdd, RddContext};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_dir_for(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.with_file_name(format!(".{name}.ember-tmp-{}-{unique}", std::process::id()))
}

fn write_part<T: Display>(path: &Path, records: impl Iterator<Item = T>) -> Result<(), JobError> {
    let io = |e| JobError::io(path, e);
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    for record in records {
        writeln!(out, "{record}").map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

impl<T: Data + Display> Rdd<T> {
    /// Writes each element on its own line (its `Display` form) into the
    /// directory `dir`: `part-00000`, `part-00001`, … and `_SUCCESS`. An
    /// existing `dir` is an error, as in Spark.
    ///
    /// ```
    /// let out = tempfile::tempdir()?;
    /// let dir = out.path().join("numbers");
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// ctx.parallelize(vec![1, 2, 3], 2).save_as_text_file(&dir)?;
    /// assert_eq!(std::fs::read_to_string(dir.join("part-00001"))?, "2\n3\n");
    /// assert!(dir.join("_SUCCESS").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// In cluster mode every process calls it (as for every job) with the
    /// same `dir` on a shared file system: each writes its own partitions'
    /// parts, and process 0 commits the directory once all are written.
    pub fn save_as_text_file(&self, dir: impl AsRef<Path>) -> Result<(), JobError> {
        let dir = dir.as_ref();
        let ctx = self.context();
        // Step 1: the driver prepares, every process learns where to write.
        let prepared = if ctx.is_driver() {
            prepare(dir).map(|temp| Some(temp.display().to_string()))
        } else {
            Ok(None)
        };
        let temp = match agree(ctx, prepared)? {
            Some(temp) => PathBuf::from(temp),
            None => {
                return Err(JobError::Codec {
                    action: "decode",
                    message: "process 0 named no temporary output directory".to_owned(),
                });
            }
        };
        // Step 2: every process writes its parts; the job's round fails
        // everywhere if one process failed.
        let written = self.write_parts(&temp);
        // Step 3: the driver commits, every process returns the outcome.
        let committed = if ctx.is_driver() {
            let committed = written.and_then(|()| commit(&temp, dir));
            if committed.is_err() {
                // Best effort: the temporary directory is hidden from readers anyway.
                let _ = fs::remove_dir_all(&temp);
            }
            committed
        } else {
            written
        };
        agree(ctx, committed.map(|()| None)).map(|_| ())
    }

    fn write_parts(&self, temp: &Path) -> Result<(), JobError> {
        let partitions: Vec<usize> = (0..self.num_partitions()).collect();
        run_job(self, &partitions, |task, records| {
            write_part(&temp.join(format!("part-{:05}", task.partition)), records)
        })?;
        Ok(())
    }
}

/// Checks that `dir` does not exist, creates its parent and a fresh hidden
/// temporary directory beside it, and returns that.
fn prepare(dir: &Path) -> Result<PathBuf, JobError> {
    if fs::symlink_metadata(dir).is_ok() {
        return Err(JobError::OutputExists {
            path: dir.to_path_buf(),
        });
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| JobError::io(parent, e))?;
    }
    let temp = temp_dir_for(dir);
    fs::create_dir(&temp).map_err(|e| JobError::io(&temp, e))?;
    Ok(temp)
}

/// Writes `_SUCCESS` into the complete `temp` and renames it to `dir`.
fn commit(temp: &Path, dir: &Path) -> Result<(), JobError> {
    write_part(&temp.join("_SUCCESS"), std::iter::empty::<&str>())?;
    if fs::symlink_metadata(dir).is_ok() {
        return Err(JobError::OutputExists {
            path: dir.to_path_buf(),
        });
    }
    fs::rename(temp, dir).map_err(|e| JobError::io(dir, e))
}

/// Process 0's `outcome`, on every process (each passes its own; only
/// process 0's value counts, and any process's error fails all). In
/// local mode, `outcome` itself.
fn agree(
    ctx: &RddContext,
    outcome: Result<Option<String>, JobError>,
) -> Result<Option<String>, JobError> {
    Ok(ctx.all_gather(outcome)?.into_iter().next().flatten())
}
