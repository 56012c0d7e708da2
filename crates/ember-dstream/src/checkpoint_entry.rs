//! A participant's checkpoint entry as the writer thread streams it into
//! the checkpoint file: first measured (its length in bytes goes before
//! it), then written, part by part and element by element, so that no
//! participant's state is ever held serialized (or collected) in memory.
//!
//! The bytes are exactly postcard's encoding of the value the participant
//! saves (e.g. `Option<SavedRdd<P>>`): a struct is its fields one after
//! the other, a sequence its length and then its elements. So an entry
//! reads back with `from_payload` as before, and the checkpoint layout is
//! unchanged. An RDD is read twice (to count, then to write), from its
//! partitions in memory when its lineage was cut (state RDDs are, after
//! their batch), otherwise one partition at a time through a job.

use std::io::Write;

use ember_checkpoint::format::{to_payload, to_writer};
use ember_rdd::{Data, JobError, Rdd, TaskContext};
use serde::Serialize;

use crate::StreamingError;

/// A participant's entry, taken cheaply on the batch path (RDD handles,
/// an input's bytes) and turned into bytes by the writer thread.
pub(crate) trait Entry: Send {
    /// The entry's length in bytes (it may compute what it saves, without
    /// keeping it).
    fn measure(&mut self) -> Result<u64, StreamingError>;
    /// Writes the entry into `out`: the bytes [`measure`](Self::measure)
    /// counted (the writer checks the count).
    fn write_to(&mut self, out: &mut dyn Write) -> Result<(), StreamingError>;
}

/// Bytes already serialized (an input's position).
impl Entry for Vec<u8> {
    fn measure(&mut self) -> Result<u64, StreamingError> {
        Ok(self.len() as u64)
    }
    fn write_to(&mut self, out: &mut dyn Write) -> Result<(), StreamingError> {
        out.write_all(self).map_err(|e| write_error(&e))
    }
}

/// An entry made of parts written one after the other.
pub(crate) struct Parts(pub(crate) Vec<Box<dyn Entry>>);

impl Entry for Parts {
    fn measure(&mut self) -> Result<u64, StreamingError> {
        self.0.iter_mut().map(|part| part.measure()).sum()
    }
    fn write_to(&mut self, out: &mut dyn Write) -> Result<(), StreamingError> {
        self.0.iter_mut().try_for_each(|part| part.write_to(out))
    }
}

/// `value`'s postcard bytes, as a part of an entry (an `Option` tag, a
/// sequence's length).
pub(crate) fn value_part<V: Serialize + ?Sized>(
    value: &V,
) -> Result<Box<dyn Entry>, StreamingError> {
    let bytes = to_payload(value).map_err(|e| entry_error(&e))?;
    Ok(Box::new(bytes))
}

/// A writer that counts what it passes on.
pub(crate) struct CountingWriter<W> {
    /// Where the bytes go.
    pub(crate) inner: W,
    /// How many bytes went.
    pub(crate) written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.written += written as u64;
        Ok(written)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn write_error(error: &std::io::Error) -> StreamingError {
    StreamingError::Checkpoint {
        dir: std::path::PathBuf::new(),
        message: format!("writing a checkpoint entry: {error}"),
    }
}

fn entry_error(error: &ember_checkpoint::CheckpointError) -> StreamingError {
    StreamingError::Checkpoint {
        dir: std::path::PathBuf::new(),
        message: format!("serializing a checkpoint entry: {error}"),
    }
}

/// An RDD saved as postcard's `SavedRdd { time_ms, elements: Vec<P> }`,
/// streamed: each element `T` becomes `save(T)` (dropped when `None`).
pub(crate) struct RddPart<T, P> {
    time_ms: u64,
    rdd: Rdd<T>,
    save: fn(T) -> Option<P>,
    /// How many elements [`Entry::measure`] counted.
    count: Option<u64>,
}

impl<T: Data, P: Serialize + 'static> RddPart<T, P> {
    /// The RDD of batch `time_ms`, its elements saved by `save`.
    pub(crate) fn new(time_ms: u64, rdd: Rdd<T>, save: fn(T) -> Option<P>) -> Self {
        RddPart {
            time_ms,
            rdd,
            save,
            count: None,
        }
    }

    /// Serializes every saved element into `out`; returns how many.
    fn write_elements(&self, out: &mut dyn Write) -> Result<u64, StreamingError> {
        let mut count = 0;
        for element in elements(&self.rdd) {
            if let Some(saved) = (self.save)(element?) {
                to_writer(out, &saved).map_err(|e| entry_error(&e))?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// The bytes before the elements: the time and the element count.
    fn head(&self, count: u64) -> Result<Vec<u8>, StreamingError> {
        to_payload(&(self.time_ms, count)).map_err(|e| entry_error(&e))
    }
}

impl<T: Data, P: Serialize + 'static> Entry for RddPart<T, P> {
    fn measure(&mut self) -> Result<u64, StreamingError> {
        let mut counter = CountingWriter {
            inner: std::io::sink(),
            written: 0,
        };
        let count = self.write_elements(&mut counter)?;
        self.count = Some(count);
        Ok(self.head(count)?.len() as u64 + counter.written)
    }
    fn write_to(&mut self, out: &mut dyn Write) -> Result<(), StreamingError> {
        let count = match self.count {
            Some(count) => count,
            None => self.measure().map(|_| self.count.unwrap_or(0))?,
        };
        out.write_all(&self.head(count)?)
            .map_err(|e| write_error(&e))?;
        let written = self.write_elements(out)?;
        if written != count {
            return Err(StreamingError::Checkpoint {
                dir: std::path::PathBuf::new(),
                message: format!(
                    "the RDD of {} ms changed while it was saved: {count} elements counted, {written} written",
                    self.time_ms
                ),
            });
        }
        Ok(())
    }
}

/// The RDD's elements in partition order: read on this thread, one at a
/// time, from partitions held in memory when it has no parents (a cut
/// lineage, a restored or parallelized RDD; in cluster mode only the
/// partitions this process owns); otherwise one partition at a time
/// through a job.
fn elements<T: Data>(rdd: &Rdd<T>) -> Box<dyn Iterator<Item = Result<T, JobError>> + '_> {
    if !rdd.dependencies().is_empty() {
        return Box::new(rdd.to_local_iterator());
    }
    let ctx = rdd.context();
    let (processes, process) = (ctx.processes(), ctx.process());
    let info = rdd.info();
    let own = (0..rdd.num_partitions()).filter(move |&p| info.owner(p, processes) == process);
    Box::new(own.flat_map(move |partition| {
        let task = TaskContext::new(0, partition, 1);
        let partition: Box<dyn Iterator<Item = Result<T, JobError>>> =
            match rdd.iterator(partition, &task) {
                Ok(iter) => Box::new(iter.map(Ok)),
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
        partition
    }))
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct SavedRdd<P> {
        time_ms: u64,
        elements: Vec<P>,
    }

    fn streamed(mut entry: impl Entry) -> Vec<u8> {
        let len = entry.measure().unwrap();
        let mut out = Vec::new();
        entry.write_to(&mut out).unwrap();
        assert_eq!(out.len() as u64, len);
        out
    }

    #[test]
    fn a_streamed_rdd_is_postcards_encoding_of_the_saved_value() {
        let ctx = ember_rdd::RddContext::local(2).unwrap();
        let pairs: Vec<(String, u64)> = (0..1000).map(|i| (format!("k{i}"), i * 3)).collect();
        let save = |(k, v): (String, u64)| (v % 2 == 0).then_some((k, v));
        let kept: Vec<(String, u64)> = pairs.iter().cloned().filter_map(save).collect();
        let expected = to_payload(&Some(SavedRdd {
            time_ms: 4000,
            elements: kept,
        }))
        .unwrap();
        // In memory (no parents) and through jobs (a map over it).
        let parallel = ctx.parallelize(pairs, 3);
        let mapped = parallel.map(|p| p);
        for rdd in [parallel, mapped] {
            let entry = Parts(vec![
                value_part(&1u8).unwrap(),
                Box::new(RddPart::new(4000, rdd, save)),
            ]);
            assert_eq!(streamed(entry), expected);
        }
        let none: Option<SavedRdd<u8>> = None;
        assert_eq!(
            streamed(Parts(vec![value_part(&0u8).unwrap()])),
            to_payload(&none).unwrap()
        );
    }
}
