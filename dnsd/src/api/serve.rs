//! Serves the HTTP API: one task per connection, at most
//! [`MAX_CONNECTIONS`] at a time, each with a deadline for a request's
//! headers (and, over TLS, for the handshake before them).
//!
//! A client that opens connections and sends half a request head costs a
//! file descriptor each for as long as it likes; hundreds of them once
//! exhausted the process's descriptors and took DNS over TCP down with the
//! API. The cap bounds what the API can take from the process, and the
//! header deadline frees what a slow or silent client holds.
//!
//! Every request carries a [`Connection`] extension: who the peer is and
//! whether the connection is TLS, which decides whether a single-key GET
//! may include the private key (`api::zones`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

/// Most concurrent API connections; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;

/// The connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    pub peer: SocketAddr,
    /// The connection is TLS (`--api-tls-cert`).
    pub tls: bool,
}

impl Connection {
    /// Whether the channel keeps secrets from the network: TLS, or a
    /// loopback peer (local tooling, as PowerDNS on 127.0.0.1).
    pub fn is_private(&self) -> bool {
        self.tls || crate::config::replication::unmapped(self.peer.ip()).is_loopback()
    }
}

/// Accepts API connections forever; over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors and the like: back off instead of spinning.
                warn!(%err, "api accept error");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "api connection limit reached; closing");
            continue;
        };
        let connection = Connection {
            peer,
            tls: tls.is_some(),
        };
        let app = app.clone().layer(axum::Extension(connection));
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, app, header_timeout, peer).await,
                Some(acceptor) => {
                    // The handshake gets the header deadline too: a client
                    // that never finishes it must not hold a slot.
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app, header_timeout, peer).await,
                        Ok(Err(err)) => debug!(%peer, %err, "api tls handshake failed"),
                        Err(_) => debug!(%peer, "api tls handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
}

async fn serve_connection<S>(stream: S, app: Router, header_timeout: Duration, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
    if let Err(err) = served {
        debug!(%peer, %err, "api connection ended");
    }
}
