//! File streams: Spark's `FileInputDStream`. Every batch lists the monitored
//! directory (or every directory matching a glob such as `logs/*/in`) and
//! takes the files whose modification time falls in the batch's window, each
//! file once; their lines (`\n` or `\r\n`) form the batch.
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
