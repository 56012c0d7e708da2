//! [`SourceError`]: why a source of this crate could not be set up or run.

use ember_dstream::StreamingError;

/// Why starting or running a receiver-based source failed.
#[derive(thiserror::Error)]
pub enum SourceError {
    /// A receiver or block generator thread could not be started.
    #[error("cannot start thread {name}: {source}")]
    Thread {
        /// The thread's name.
        name: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A configuration value that cannot be used.
    #[error("invalid setting {key} = {value:?}: {reason}")]
    InvalidConf {
        /// The setting's key.
        key: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A block could not be stored (a write-ahead-logged store failing to
    /// log it, for example).
    #[error("cannot store block of stream {stream_id}: {message}")]
    BlockStore {
        /// The input stream's id.
        stream_id: usize,
        /// What went wrong.
        message: String,
    },
    /// A `store*` call was refused because the receiver is stopping (a
    /// stop, restart or context shutdown was requested) or stopped: its
    /// records were not stored and will not reach a batch.
    #[error("receiver of stream {stream_id} is stopping: records refused")]
    ReceiverStopped {
        /// The input stream's id.
        stream_id: usize,
    },
    /// The receiver was stopped while the call waited.
    #[error("the receiver is stopped")]
    Stopped,
    /// An error of the streaming engine (bad configuration, for example).
    #[error(transparent)]
    Streaming(#[from] StreamingError),
}

impl From<SourceError> for StreamingError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Streaming(e) => e,
            SourceError::InvalidConf { key, value, reason } => {
                StreamingError::InvalidConf { key, value, reason }
            }
            SourceError::Thread { source, .. } => StreamingError::Thread {
                name: "ember-receiver",
                message: source.to_string(),
            },
            other => StreamingError::Thread {
                name: "ember-receiver",
                message: other.to_string(),
            },
        }
    }
}

/// The same text as `Display`: the message with its context, so that a
/// `main` returning this error (which prints it with `Debug`) shows what
/// went wrong and what to do, not the variant's raw fields.
impl std::fmt::Debug for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
