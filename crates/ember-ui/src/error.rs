//! [`UiError`]: why the UI server could not start.

use std::net::SocketAddr;

/// Why [`UiServer::start`](crate::UiServer::start) failed.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The host is neither an IP address nor a name that resolves.
    #[error("spark.ui.host {host:?} does not resolve to an address: {source}")]
    BadHost {
        /// The host given.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// Every port tried was taken (Spark's `spark.port.maxRetries`).
    #[error("no free port for the UI on {host}: tried {first_port}..={last_port} ({source})")]
    NoFreePort {
        /// The host bound.
        host: String,
        /// The first port tried (`spark.ui.port`).
        first_port: u16,
        /// The last port tried.
        last_port: u16,
        /// The error of the last try.
        source: std::io::Error,
    },
    /// Binding failed for another reason than a taken port.
    #[error("cannot bind the UI to {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The HTTP server could not be built on the bound socket.
    #[error("cannot start the UI's HTTP server on {addr}: {message}")]
    Server {
        /// The address.
        addr: SocketAddr,
        /// The server library's error.
        message: String,
    },
    /// The server thread could not be spawned.
    #[error("cannot spawn the UI server thread: {0}")]
    Spawn(std::io::Error),
}
