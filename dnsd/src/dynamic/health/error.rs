//! Why a check failed: shown as `last_error` in the API and logged when a
//! target goes down. A failure is an outcome of the check, never an error of
//! the server.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Why one check counted as a failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The whole check (connect, TLS, transfer, redirects) ran out of time.
    #[error("timed out after {}s", after.as_secs_f32())]
    Timeout {
        /// The limit that applied.
        after: Duration,
    },
    /// Binding the probe to the `source` address failed.
    #[error("binding to source {source_addr}: {err}")]
    Bind {
        /// The `source` option.
        source_addr: std::net::IpAddr,
        /// The socket error.
        err: io::Error,
    },
    /// The target policy forbids connecting there.
    #[error("not connecting to {addr}: {reason}")]
    Denied {
        /// The address refused.
        addr: SocketAddr,
        /// Which rule refused it.
        reason: String,
    },
    /// TCP connect failed.
    #[error("connecting to {addr}: {err}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// The socket error.
        err: io::Error,
    },
    /// The URL's host did not resolve (unpinned checks and redirects to
    /// other hosts).
    #[error("resolving {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The URL (or a redirect's `Location`) is unusable.
    #[error("URL {url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request cannot be written (a header value with a line break).
    #[error("request: {0}")]
    Request(String),
    /// The TLS handshake failed (including certificate verification when
    /// it is on).
    #[error("TLS with {addr}: {err}")]
    Tls {
        /// The peer.
        addr: SocketAddr,
        /// The handshake error.
        err: io::Error,
    },
    /// Reading or writing the connection failed.
    #[error("transfer: {0}")]
    Io(io::Error),
    /// The peer's response is not HTTP/1.x as we read it.
    #[error("bad response: {0}")]
    Response(String),
    /// The final status differs from `httpcode`.
    #[error("HTTP status {got}, expected {want}")]
    Status {
        /// The final status.
        got: u16,
        /// The `httpcode` option.
        want: i64,
    },
    /// `stringmatch` was not found in the body.
    #[error("body does not contain {0:?}")]
    NoMatch(String),
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
}
