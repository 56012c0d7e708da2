//! [`UiServer`]: the HTTP server of the Streaming UI (`tiny_http`; one
//! dispatching thread, replies written on short-lived threads), bound like
//! Spark's UI: `spark.ui.host`:`spark.ui.port`,
//! the next port when one is taken, up to `spark.port.maxRetries` times.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Header, Response, Server};

use crate::error::UiError;
use crate::routes::{Reply, route};
use crate::store::StatusStore;

/// Spark's default `spark.ui.port`.
pub const DEFAULT_PORT: u16 = 4040;

/// Spark's default `spark.port.maxRetries`.
pub const DEFAULT_MAX_RETRIES: u16 = 16;

/// How long [`UiServer::stop`] waits for the listening socket to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to serve the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// The address or host name to bind (`spark.ui.host`), loopback by
    /// default.
    pub host: String,
    /// The first port to try (`spark.ui.port`); 0 lets the OS choose.
    pub port: u16,
    /// Further ports tried, one up each, when one is taken
    /// (`spark.port.maxRetries`).
    pub max_retries: u16,
}

impl Default for UiConfig {
    fn default() -> UiConfig {
        UiConfig {
            host: Ipv4Addr::LOCALHOST.to_string(),
            port: DEFAULT_PORT,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

/// A running UI server. [`stop`](UiServer::stop) (or drop) ends it and frees
/// its port.
pub struct UiServer {
    addr: SocketAddr,
    server: Option<Arc<Server>>,
    thread: Option<JoinHandle<()>>,
}

/// The address of `host`: an IP address as it is, a name through the
/// resolver (its first address).
fn resolve(host: &str) -> Result<IpAddr, UiError> {
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let bad = |source| UiError::BadHost {
        host: host.to_owned(),
        source,
    };
    (host, 0)
        .to_socket_addrs()
        .map_err(bad)?
        .next()
        .map(|addr| addr.ip())
        .ok_or_else(|| bad(std::io::Error::new(ErrorKind::NotFound, "no address")))
}

/// Binds `host:port`, then the next ports while they are taken.
fn bind(config: &UiConfig) -> Result<TcpListener, UiError> {
    let ip = resolve(&config.host)?;
    let retries = if config.port == 0 {
        0
    } else {
        config.max_retries
    };
    let mut port = config.port;
    let mut tries = 0;
    loop {
        let addr = SocketAddr::new(ip, port);
        match TcpListener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(source) if source.kind() == ErrorKind::AddrInUse => {
                if tries == retries || port == u16::MAX {
                    return Err(UiError::NoFreePort {
                        host: config.host.clone(),
                        first_port: config.port,
                        last_port: port,
                        source,
                    });
                }
                tries += 1;
                port += 1;
            }
            Err(source) => return Err(UiError::Bind { addr, source }),
        }
    }
}

/// Replies being written at once; beyond, requests get a short 503.
const MAX_IN_FLIGHT: usize = 32;

/// A tiny_http response of `reply`.
fn response(reply: Reply) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut response = Response::from_string(reply.body).with_status_code(reply.status);
    if let Ok(header) = Header::from_bytes("Content-Type", reply.content_type) {
        response.add_header(header);
    }
    if let Ok(header) = Header::from_bytes("Cache-Control", "no-store") {
        response.add_header(header);
    }
    response
}

/// Answers requests until the server is unblocked. Each reply is written on
/// a thread of its own, so a client that stops reading holds only that
/// thread, never this loop nor [`UiServer::stop`].
fn serve(server: &Server, store: &StatusStore) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    for request in server.incoming_requests() {
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            let busy = Reply {
                status: 503,
                content_type: "application/json",
                body: r#"{"error": "too many replies in flight"}"#.into(),
            };
            // A client that went away is no concern of the server's.
            let _ = request.respond(response(busy));
            continue;
        }
        let reply = response(route(store, request.method().as_str(), request.url()));
        let done = Arc::clone(&in_flight);
        let writer = std::thread::Builder::new()
            .name("ember-ui-reply".into())
            .spawn(move || {
                let _ = request.respond(reply);
                done.fetch_sub(1, Ordering::AcqRel);
            });
        if writer.is_err() {
            // The request went down with the closure (tiny_http answers 500).
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl UiServer {
    /// Binds as `config` says and serves `store` on a thread of its own.
    pub fn start(config: UiConfig, store: Arc<StatusStore>) -> Result<UiServer, UiError> {
        let listener = bind(&config)?;
        let addr = listener.local_addr().map_err(|source| UiError::Bind {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), config.port),
            source,
        })?;
        let server = Server::from_listener(listener, None).map_err(|e| UiError::Server {
            addr,
            message: e.to_string(),
        })?;
        let server = Arc::new(server);
        let thread = {
            let server = Arc::clone(&server);
            std::thread::Builder::new()
                .name("ember-ui".into())
                .spawn(move || serve(&server, &store))
                .map_err(UiError::Spawn)?
        };
        Ok(UiServer {
            addr,
            server: Some(server),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The UI's URL, e.g. `http://127.0.0.1:4040`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving, joins the server thread and waits until the port is
    /// free again.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        server.unblock();
        if let Some(thread) = self.thread.take() {
            // The thread only runs `serve`, which does not panic on requests.
            let _ = thread.join();
        }
        // The last reference: tiny_http closes its accept loop.
        drop(server);
        self.wait_closed();
    }

    /// Waits until connecting to the port is refused: tiny_http's accept
    /// thread has dropped the listener.
    fn wait_closed(&self) {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let target = SocketAddr::new(ip, self.addr.port());
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while Instant::now() < deadline {
            match TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
                Ok(_) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return,
            }
        }
    }
}

impl std::fmt::Debug for UiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
