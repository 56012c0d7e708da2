//! Input sources for ember: receivers (run on their own threads under a
//! supervisor, cut into blocks, rate-limited), socket text streams, and
//! directory-monitoring file streams. `use ember_sources::prelude::*` (or
//! `ember::prelude::*`) adds `socket_text_stream`, `text_file_stream` and
//! friends to `StreamingContext`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod file;
pub mod receiver;

pub use error::SourceError;

/// The extension traits that add the source constructors to `StreamingContext`.
pub mod prelude {
    pub use crate::file::FileStreams;
    pub use crate::receiver::ReceiverStreams;
}
