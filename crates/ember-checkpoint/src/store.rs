//! The [`CheckpointStore`] trait (named objects written atomically) and
//! [`ObjectData`], the bytes a read returns.

use std::fmt;
use std::io::{Cursor, Seek, Write};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use memmap2::Mmap;

use crate::error::Result;

/// A place to keep named checkpoint objects.
///
/// Names are flat (no `/`), non-empty, and do not start with `.` (reserved
/// for temporary files, which [`list`](CheckpointStore::list) never shows).
///
/// Contract every implementation keeps:
/// - [`write`](CheckpointStore::write) is atomic and durable: when it
///   returns `Ok`, the object survives a crash or power loss; whatever
///   happens during the call, a reader sees either the old object (or none)
///   or the complete new one, never a part of it.
/// - [`read`](CheckpointStore::read) of a missing object fails with
///   [`CheckpointError::NotFound`](crate::CheckpointError::NotFound).
/// - [`delete`](CheckpointStore::delete) of a missing object succeeds.
pub trait CheckpointStore: Send + Sync {
    /// Writes `bytes` as the object `name`, replacing any object of that name,
    /// atomically and durably (see the trait's contract).
    fn write(&self, name: &str, bytes: &[u8]) -> Result<()>;

    /// Writes the object `name` from what `fill` writes into an
    /// [`ObjectWriter`] (which may seek back, e.g. to fill in a header),
    /// with the same guarantees as [`write`](CheckpointStore::write); when
    /// `fill` fails, nothing is written and its error is returned.
    ///
    /// The default buffers the object in memory and calls `write`;
    /// [`LocalCheckpointStore`](crate::LocalCheckpointStore) streams it
    /// straight into its temporary file.
    fn write_with(&self, name: &str, fill: &mut WriteFn<'_>) -> Result<()> {
        let mut buffer = Cursor::new(Vec::new());
        fill(&mut buffer)?;
        self.write(name, &buffer.into_inner())
    }

    /// Reads the whole object `name`.
    fn read(&self, name: &str) -> Result<ObjectData>;

    /// The names of all objects, sorted.
    fn list(&self) -> Result<Vec<String>>;

    /// Deletes the object `name`; deleting a missing object is not an error.
    fn delete(&self, name: &str) -> Result<()>;

    /// Where the object `name` lives (a path or URL), for messages;
    /// `location("")` is where the store itself is.
    fn location(&self, name: &str) -> PathBuf;
}

/// Where [`CheckpointStore::write_with`] writes an object: any seekable
/// writer.
pub trait ObjectWriter: Write + Seek {}

impl<W: Write + Seek + ?Sized> ObjectWriter for W {}

/// What [`CheckpointStore::write_with`] calls to produce an object.
pub type WriteFn<'a> = dyn FnMut(&mut dyn ObjectWriter) -> Result<()> + 'a;

/// Implements [`CheckpointStore`] for pointer types to a store (`&S`,
/// `Box<S>`, `Arc<S>`) by forwarding every method to the store pointed to.
macro_rules! forward_store_through {
    ($($pointer:ty),+ $(,)?) => {$(
        impl<S: CheckpointStore + ?Sized> CheckpointStore for $pointer {
            fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
                (**self).write(name, bytes)
            }
            fn write_with(&self, name: &str, fill: &mut WriteFn<'_>) -> Result<()> {
                (**self).write_with(name, fill)
            }
            fn read(&self, name: &str) -> Result<ObjectData> {
                (**self).read(name)
            }
            fn list(&self) -> Result<Vec<String>> {
                (**self).list()
            }
            fn delete(&self, name: &str) -> Result<()> {
                (**self).delete(name)
            }
            fn location(&self, name: &str) -> PathBuf {
                (**self).location(name)
            }
        }
    )+};
}

forward_store_through!(&S, Box<S>, Arc<S>);

/// The bytes of an object read from a store: in memory, or memory-mapped
/// for large objects. Dereferences to `[u8]`.
pub struct ObjectData(Repr);

/// Where the bytes of an [`ObjectData`] are.
enum Repr {
    /// Read into memory.
    Owned(Vec<u8>),
    /// Mapped from a file.
    Mapped(Mmap),
}

impl ObjectData {
    /// Wraps bytes that are already in memory.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        ObjectData(Repr::Owned(bytes))
    }

    /// Wraps a read-only map of an object file.
    pub(crate) fn from_mmap(map: Mmap) -> Self {
        ObjectData(Repr::Mapped(map))
    }

    /// Whether the bytes are memory-mapped from a file rather than read.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Repr::Mapped(_))
    }

    /// The bytes as an owned vector (copied if mapped).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Owned(bytes) => bytes,
            Repr::Mapped(map) => map.to_vec(),
        }
    }
}

impl Deref for ObjectData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(bytes) => bytes,
            Repr::Mapped(map) => map,
        }
    }
}

impl AsRef<[u8]> for ObjectData {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for ObjectData {
    fn from(bytes: Vec<u8>) -> Self {
        ObjectData::from_vec(bytes)
    }
}

impl fmt::Debug for ObjectData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectData")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}
