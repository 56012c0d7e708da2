//! ember: Spark Streaming's discretized streams, natively in Rust.
//!
//! This facade re-exports the workspace crates so a user can depend on one
//! package: [`rdd`] (the RDD core) and [`checkpoint`] (checkpoint storage).
//! `ember::prelude::*` brings the everyday names into scope.

pub use ember_checkpoint as checkpoint;
pub use ember_rdd as rdd;

/// The everyday names: `use ember::prelude::*;`.
pub mod prelude {}
