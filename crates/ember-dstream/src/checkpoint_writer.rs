//! The `ember-checkpoint-writer` thread: writes streaming checkpoints off
//! the batch path, in the order they are handed to it.
//!
//! The executor hands over a [`WriteJob`]: the checkpoint's time and a
//! cheap [`Snapshot`] of each participant (state RDD handles, an input's
//! position). The writer streams the checkpoint straight into its file
//! (temp file, checksum computed while writing, fsync, rename:
//! [`CheckpointSeries::write_payload_with`]): the header fields, then each
//! participant's entry, measured and then serialized element by element
//! into the file ([`Entry`]), never collected into memory. Only once the
//! write succeeded it tells the inputs which checkpoint is
//! the oldest one kept ([`InputSource::checkpoint_durable`](crate::InputSource::checkpoint_durable)),
//! so that they never drop a log a kept checkpoint still needs.
//! The file reads back as one [`StreamingCheckpoint`]: its fields are
//! written in its order, in postcard's encoding. A failed
//! write is logged and the next one goes on, as Spark's `CheckpointWriter`
//! does: nothing is advanced on its strength.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use ember_checkpoint::format::to_writer;
use ember_checkpoint::{CheckpointError, CheckpointSeries, CheckpointStore};
use serde::Serialize;

#[cfg(doc)]
use crate::checkpoint::StreamingCheckpoint;
use crate::checkpoint::{CHECKPOINT_LAYOUT, checkpoint_error, in_dir};
use crate::checkpoint_entry::{CountingWriter, Entry};
use crate::cluster_checkpoint::ClusterParts;
use crate::graph::Graph;
use crate::listener_bus::FailureHook;
use crate::{StreamingError, Time};

/// What became of one checkpoint write (reported to a [`CheckpointObserver`]).
// Read only by the UI (feature `ui`).
#[cfg_attr(not(feature = "ui"), allow(dead_code))]
pub(crate) enum CheckpointEvent {
    /// The checkpoint for `time` was written.
    Written {
        /// The checkpoint's batch time.
        time: Time,
        /// The checkpoint file's size.
        size_bytes: u64,
        /// How long serializing and writing it took.
        write_duration: std::time::Duration,
    },
    /// Writing the checkpoint for `time` failed (the next one is tried).
    Failed {
        /// The checkpoint's batch time.
        time: Time,
        /// Why.
        message: String,
    },
}

/// Told about every checkpoint write, on the writer thread (the UI).
pub(crate) trait CheckpointObserver: Send + Sync {
    /// One write ended.
    fn on_checkpoint(&self, event: &CheckpointEvent);
}

/// Who hears from the writer thread.
pub(crate) struct WriterHooks {
    /// Ends the context: a user callback (a state's `Serialize` impl)
    /// panicked while a checkpoint was saved.
    pub(crate) fail: FailureHook,
    /// Told about each write.
    pub(crate) observer: Option<Arc<dyn CheckpointObserver>>,
}

/// Why a checkpoint was not written.
enum Failure {
    /// Writing (or serializing into) it failed: logged, the next one is
    /// tried (Spark's `CheckpointWriter`).
    Write(StreamingError),
    /// A user callback panicked: the context ends with the error.
    Panicked(StreamingError),
}

/// A participant's entry, taken cheaply on the batch path and streamed
/// into the file by the writer thread.
pub(crate) type Snapshot = Box<dyn Entry>;

/// The fields of a [`StreamingCheckpoint`] before its entries, in its
/// order: written first, they read back as the start of one.
#[derive(Serialize)]
struct CheckpointHead<'a> {
    layout: u32,
    app_name: &'a str,
    batch_ms: u64,
    zero_ms: u64,
    time_ms: u64,
    pending_ms: &'a [u64],
    fingerprint: u64,
    pipeline: &'a [String],
}

/// One checkpoint to write.
pub(crate) struct WriteJob {
    /// The checkpoint's batch time.
    pub(crate) time: Time,
    /// The batches generated after it, which recovery runs again.
    pub(crate) pending_ms: Vec<u64>,
    /// One snapshot per participant, with its key.
    pub(crate) snapshots: Vec<(String, Snapshot)>,
    /// Told how the write went (a caller waiting for it to be durable).
    pub(crate) done: Option<Sender<Result<(), StreamingError>>>,
}

/// What every checkpoint of a context shares.
pub(crate) struct CheckpointHeader {
    /// The application's name.
    pub(crate) app_name: String,
    /// The batch interval in ms.
    pub(crate) batch_ms: u64,
    /// The zero time in ms.
    pub(crate) zero_ms: u64,
    /// The pipeline's fingerprint.
    pub(crate) fingerprint: u64,
    /// The pipeline's description.
    pub(crate) pipeline: Vec<String>,
}

/// What the writer thread is asked to do.
enum Message {
    /// Write a checkpoint.
    Write(WriteJob),
    /// Say when everything queued before is written.
    Flush(Sender<()>),
}

/// The handle of the writer thread: a queue of [`WriteJob`]s.
pub(crate) struct CheckpointWriter {
    /// `None` once closed: nothing more is written.
    sender: Mutex<Option<Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the writer thread owns.
struct WriterThread {
    dir: PathBuf,
    series: CheckpointSeries<Arc<dyn CheckpointStore>>,
    graph: Arc<Graph>,
    header: CheckpointHeader,
    hooks: WriterHooks,
    /// Cluster mode: told of every part written; decides which old parts
    /// go.
    cluster: Option<Arc<ClusterParts>>,
}

impl CheckpointWriter {
    /// Starts the writer thread for `series` in `dir`.
    pub(crate) fn start(
        dir: PathBuf,
        series: CheckpointSeries<Arc<dyn CheckpointStore>>,
        graph: Arc<Graph>,
        header: CheckpointHeader,
        hooks: WriterHooks,
        cluster: Option<Arc<ClusterParts>>,
    ) -> Result<Self, StreamingError> {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let writer = WriterThread {
            dir,
            series,
            graph,
            header,
            hooks,
            cluster,
        };
        let thread = std::thread::Builder::new()
            .name("ember-checkpoint-writer".to_owned())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| StreamingError::Thread {
                name: "ember-checkpoint-writer",
                message: e.to_string(),
            })?;
        Ok(CheckpointWriter {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a checkpoint; jobs are written in the order queued.
    pub(crate) fn submit(&self, job: WriteJob) {
        let sent = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|s| s.send(Message::Write(job)));
        if !matches!(sent, Some(Ok(()))) {
            tracing::error!("the checkpoint writer is closed; checkpoint not written");
        }
    }

    /// Writes every queued checkpoint, then ends the writer thread: a
    /// checkpoint submitted afterwards is not written. Returns once the
    /// thread ended (at once when called on the writer thread itself).
    pub(crate) fn close(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
            && thread.join().is_err()
        {
            tracing::error!("the checkpoint writer thread panicked");
        }
    }

    /// Waits until every checkpoint queued before is written (or failed).
    pub(crate) fn flush(&self) {
        let (done, written) = crossbeam_channel::bounded(1);
        let sent = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|s| s.send(Message::Flush(done)));
        if let Some(Ok(())) = sent {
            // An error here: the thread ended, nothing is queued any more.
            let _ = written.recv();
        }
    }
}

impl Drop for CheckpointWriter {
    /// Waits for every queued checkpoint to be written.
    fn drop(&mut self) {
        self.close();
    }
}

impl WriterThread {
    fn run(self, receiver: &Receiver<Message>) {
        for message in receiver {
            let mut job = match message {
                Message::Write(job) => job,
                Message::Flush(done) => {
                    let _ = done.send(());
                    continue;
                }
            };
            let time = job.time;
            let started = std::time::Instant::now();
            let done = job.done.take();
            let answer = match self.write(job) {
                Ok(size_bytes) => {
                    let write_duration = started.elapsed();
                    tracing::debug!(%time, dir = %self.dir.display(), size_bytes, ?write_duration, "checkpoint written");
                    self.observe(&CheckpointEvent::Written {
                        time,
                        size_bytes,
                        write_duration,
                    });
                    Ok(())
                }
                Err(Failure::Write(e)) => {
                    tracing::error!(%time, error = %e, "writing a checkpoint failed; the next one will be tried");
                    self.observe(&CheckpointEvent::Failed {
                        time,
                        message: e.to_string(),
                    });
                    Err(e)
                }
                Err(Failure::Panicked(e)) => {
                    if let Some(done) = done {
                        let _ = done.send(Err(e.clone()));
                    }
                    (self.hooks.fail)(e);
                    return;
                }
            };
            if let Some(done) = done {
                // The waiting caller may be gone (nothing to tell then).
                let _ = done.send(answer);
            }
        }
    }

    /// Writes the checkpoint's payload into `out`: `head`, then each
    /// participant's entry as postcard writes a `(String, Vec<u8>)` (its
    /// key, its length, its bytes), streamed. Returns the entries' size.
    fn write_payload(
        &self,
        out: &mut dyn Write,
        head: &CheckpointHead<'_>,
        snapshots: Vec<(String, Snapshot)>,
    ) -> Result<u64, Failure> {
        let format_error = |e: CheckpointError| Failure::Write(checkpoint_error(&self.dir, &e));
        to_writer(out, head).map_err(format_error)?;
        to_writer(out, &snapshots.len()).map_err(format_error)?;
        let mut size = 0;
        for (key, mut entry) in snapshots {
            let len = self.run_entry(&key, || entry.measure())?;
            to_writer(out, &key).map_err(format_error)?;
            to_writer(out, &len).map_err(format_error)?;
            let mut counted = CountingWriter {
                inner: &mut *out,
                written: 0,
            };
            self.run_entry(&key, || entry.write_to(&mut counted))?;
            if counted.written != len {
                return Err(Failure::Write(StreamingError::Checkpoint {
                    dir: self.dir.clone(),
                    message: format!(
                        "{key} changed while it was saved: {len} bytes measured, {} written",
                        counted.written
                    ),
                }));
            }
            size += len;
        }
        Ok(size)
    }

    /// Runs a step of saving the entry `key`: its error is a failed write,
    /// its panic (a user's `Serialize` impl) ends the context.
    fn run_entry<R>(
        &self,
        key: &str,
        step: impl FnOnce() -> Result<R, StreamingError>,
    ) -> Result<R, Failure> {
        catch_unwind(AssertUnwindSafe(step))
            .map_err(|panic| {
                Failure::Panicked(StreamingError::CallbackPanicked {
                    callback: format!("saving {key} into a checkpoint (its Serialize impl)"),
                    message: crate::panic_message(panic.as_ref()),
                })
            })?
            .map_err(|e| Failure::Write(in_dir(&self.dir, e)))
    }

    fn observe(&self, event: &CheckpointEvent) {
        if let Some(observer) = &self.hooks.observer
            && let Err(panic) = catch_unwind(AssertUnwindSafe(|| observer.on_checkpoint(event)))
        {
            tracing::error!(panic = %crate::panic_message(panic.as_ref()), "a checkpoint observer panicked");
        }
    }

    /// Serializes and writes one checkpoint; then tells the inputs.
    /// Returns the checkpoint file's size (the entries' size when the
    /// store cannot say).
    fn write(&self, job: WriteJob) -> Result<u64, Failure> {
        let head = CheckpointHead {
            layout: CHECKPOINT_LAYOUT,
            app_name: &self.header.app_name,
            batch_ms: self.header.batch_ms,
            zero_ms: self.header.zero_ms,
            time_ms: job.time.milliseconds(),
            pending_ms: &job.pending_ms,
            fingerprint: self.header.fingerprint,
            pipeline: &self.header.pipeline,
        };
        let mut snapshots = Some(job.snapshots);
        let mut failure = None;
        let mut entries_size = 0;
        let written = self.series.write_payload_with(
            job.time.milliseconds(),
            self.header.fingerprint,
            &mut |out| {
                let result = match snapshots.take() {
                    Some(snapshots) => self.write_payload(out, &head, snapshots),
                    None => Err(Failure::Write(StreamingError::Checkpoint {
                        dir: self.dir.clone(),
                        message: "the store asked for the checkpoint's payload twice".to_owned(),
                    })),
                };
                result.map(|size| entries_size = size).map_err(|f| {
                    failure = Some(f);
                    CheckpointError::Io {
                        action: "writing the checkpoint's entries",
                        path: PathBuf::new(),
                        source: std::io::Error::other("an entry failed"),
                    }
                })
            },
        );
        if let Some(failure) = failure {
            return Err(failure);
        }
        written.map_err(|e| Failure::Write(checkpoint_error(&self.dir, &e)))?;
        let location =
            self.series
                .store()
                .location(&CheckpointSeries::<Arc<dyn CheckpointStore>>::name_for(
                    job.time.milliseconds(),
                ));
        let size_bytes = std::fs::metadata(location).map_or(entries_size, |meta| meta.len());
        if let Some(parts) = &self.cluster {
            parts.part_written(job.time.milliseconds());
            self.drop_old_parts(parts)?;
        }
        // The log of every kept checkpoint must stay: a damaged newest one
        // falls back to an older one, which replays from its own time.
        let oldest_kept = self
            .series
            .times()
            .map_err(|e| Failure::Write(checkpoint_error(&self.dir, &e)))?
            .into_iter()
            .min()
            .map_or(job.time, Time::from_millis);
        for input in self.graph.input_lifecycles() {
            let told = catch_unwind(AssertUnwindSafe(|| input.checkpoint_durable(oldest_kept)));
            if let Err(panic) = told {
                tracing::error!(input = input.name(), panic = %crate::panic_message(panic.as_ref()),
                    "an input panicked in checkpoint_durable");
            }
        }
        Ok(size_bytes)
    }

    /// Cluster mode: deletes this process's parts older than the oldest
    /// confirmed commit kept (newer ones may still be committed, or be
    /// what recovery falls back to).
    fn drop_old_parts(&self, parts: &ClusterParts) -> Result<(), Failure> {
        let Some(floor) = parts.retention_floor() else {
            return Ok(());
        };
        let times = self
            .series
            .times()
            .map_err(|e| Failure::Write(checkpoint_error(&self.dir, &e)))?;
        for time in times.into_iter().filter(|&t| t < floor) {
            let name = CheckpointSeries::<Arc<dyn CheckpointStore>>::name_for(time);
            if let Err(e) = self.series.store().delete(&name) {
                tracing::warn!(dir = %self.dir.display(), time_ms = time, error = %e, "could not delete an old checkpoint part");
            }
        }
        Ok(())
    }
}
