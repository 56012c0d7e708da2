//! File streams: Spark's `FileInputDStream`. Every batch lists the monitored
//! directory (or every directory matching a glob such as `logs/*/in`) and
//! takes the files whose modification time falls in the batch's window, each
//! file once; their lines (`\n` or `\r\n`) form the batch.
//!
//! - Bytes that are not UTF-8 are decoded with U+FFFD replacement characters
//!   (as Spark does); such lines are counted in
//!   [`FileStreamMetrics::invalid_utf8_lines`] and logged (once per
//!   partition of a file) when the batch's job first reads them: the scan
//!   at generation only counts lines, the read checks UTF-8, once.
//! - A selected file that cannot be read is tried again by the next batches,
//!   up to `ember.fileStream.maxReadAttempts` times (default 3), and counted
//!   in the batch that reads it; then it is given up
//!   ([`FileStreamMetrics::files_failed`], [`FileStreamError::GaveUp`]).
//! - A batch's files are scanned (lines counted) when it is generated and
//!   read when its job runs, partition by partition, with plain reads: a
//!   backlog of generated batches holds no file data, and a file truncated
//!   by another process in between fails the job with an error naming it.
//! - Selected names are remembered by completed batch time (Spark's
//!   `FileInputDStream.clearMetadata`), so a checkpoint holds every file of
//!   the remember window; on recovery, names outside the watched directory
//!   (or glob) are dropped with a warning.
//!
//! `use ember_sources::file::FileStreams` adds [`FileStreams::text_file_stream`]
//! and [`FileStreams::file_stream`] to `StreamingContext`. The filesystem
//! sits behind the [`FileSystem`] trait ([`LocalFileSystem`] for local disks),
//! so another store can be plugged in with [`FileStreams::file_stream_on`].

mod fs;
mod glob;
mod read;
mod scan;
mod stream;

pub use fs::{FileBytes, FileStatus, FileSystem, LocalFileSystem};
pub use glob::glob_match;
pub use stream::{
    FileStreamError, FileStreamHandle, FileStreamMetrics, FileStreamOptions, FileStreams,
    PathFilter,
};
