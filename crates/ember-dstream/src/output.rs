//! Output operations: `foreach_rdd`, `print`/`print_n` in Spark's format,
//! and `save_as_text_files`. Each registers with the context and runs once
//! per batch, in declaration order.

use std::fmt::{Debug, Display, Write as _};
use std::io::Write as _;
use std::sync::Arc;

use ember_rdd::{Data, Rdd};

use crate::graph::Job;
use crate::{DStream, StreamingContext, StreamingError, Time};

/// The error an output function returns: any error, boxed, so that `?`
/// works in a `foreach_rdd` closure on an RDD action's
/// [`JobError`](ember_rdd::JobError), an `std::io::Error`, a `String` or
/// any other error without a type annotation.
pub type OutputError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Spark's `print` block for one batch: a dashed line, `Time: <ms> ms`, a
/// dashed line, up to `n` elements (Debug form), `...` if there are more,
/// and an empty line.
///
/// ```
/// let text = ember_dstream::format_batch(ember_dstream::Time::from_millis(2000), &[1, 2, 3], 2);
/// assert_eq!(text, "-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\n1\n2\n...\n\n");
/// ```
pub fn format_batch<T: Debug>(time: Time, first: &[T], n: usize) -> String {
    const DASHES: &str = "-------------------------------------------";
    let mut out = format!("{DASHES}\nTime: {} ms\n{DASHES}\n", time.milliseconds());
    for element in first.iter().take(n) {
        let _ = writeln!(out, "{element:?}");
    }
    if first.len() > n {
        out.push_str("...\n");
    }
    out.push('\n');
    out
}

impl<T: Data> DStream<T> {
    fn register_output(
        &self,
        name: &'static str,
        f: impl Fn(&Rdd<T>, Time) -> Result<(), String> + Send + Sync + 'static,
    ) -> Result<(), StreamingError> {
        let inner = self.context_inner()?;
        StreamingContext::check_initialized(&inner)?;
        let stream = self.clone();
        let f = Arc::new(f);
        inner.graph.add_output(name, self.info(), move |time| {
            Ok(stream.get_or_compute(time)?.map(|rdd| {
                let f = Arc::clone(&f);
                Box::new(move || f(&rdd, time)) as Job
            }))
        });
        Ok(())
    }

    /// Runs `f(batch, time)` for every batch. `f` returns
    /// `Result<(), OutputError>`, so `?` works on any error inside it
    /// without annotations; an error (or a panic) fails that batch's job,
    /// reaches the listeners and makes `await_termination` return it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use ember_dstream::testing::run_operation;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// run_operation(vec![vec![1, 2], vec![3]], move |s| {
    ///     s.foreach_rdd(move |rdd, time| {
    ///         let total: i32 = rdd.collect()?.iter().sum();
    ///         let line = format!("{time}: {total}");
    ///         std::io::Write::write_all(&mut std::io::sink(), line.as_bytes())?;
    ///         sink.lock().map_err(|e| e.to_string())?.push(line);
    ///         Ok(())
    ///     })?;
    ///     Ok(s)
    /// }, 2)?;
    /// assert_eq!(*seen.lock().unwrap(), vec!["1000 ms: 3", "2000 ms: 3"]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn foreach_rdd(
        &self,
        f: impl Fn(&Rdd<T>, Time) -> Result<(), OutputError> + Send + Sync + 'static,
    ) -> Result<(), StreamingError> {
        self.register_output("foreach_rdd", move |rdd, time| {
            f(rdd, time).map_err(|e| e.to_string())
        })
    }

    /// Prints the first 10 elements of every batch in Spark's format.
    pub fn print(&self) -> Result<(), StreamingError>
    where
        T: Debug,
    {
        self.print_n(10)
    }

    /// Prints the first `n` elements of every batch in Spark's format.
    pub fn print_n(&self, n: usize) -> Result<(), StreamingError>
    where
        T: Debug,
    {
        self.register_output("print", move |rdd, time| {
            let first = rdd.take(n.saturating_add(1)).map_err(|e| e.to_string())?;
            if !rdd.context().is_driver() {
                // Cluster mode: process 0 prints.
                return Ok(());
            }
            let text = format_batch(time, &first, n);
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| e.to_string())
        })
    }

    /// Saves every batch as a text directory `prefix-<time ms>.suffix`
    /// (`prefix-<time ms>` when `suffix` is empty), written atomically:
    /// `part-NNNNN` per partition and `_SUCCESS`. In cluster mode the
    /// directory must be on a file system every process shares: each
    /// process writes its own partitions' parts, and process 0 commits
    /// the directory once all are written (see
    /// [`Rdd::save_as_text_file`](ember_rdd::Rdd::save_as_text_file)).
    pub fn save_as_text_files(
        &self,
        prefix: impl Into<String>,
        suffix: impl Into<String>,
    ) -> Result<(), StreamingError>
    where
        T: Display,
    {
        let (prefix, suffix) = (prefix.into(), suffix.into());
        self.register_output("save_as_text_files", move |rdd, time| {
            let ms = time.milliseconds();
            let dir = if suffix.is_empty() {
                format!("{prefix}-{ms}")
            } else {
                format!("{prefix}-{ms}.{suffix}")
            };
            rdd.save_as_text_file(dir).map_err(|e| e.to_string())
        })
    }
}
