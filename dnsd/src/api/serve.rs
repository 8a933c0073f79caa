//! Serves the HTTP API: one task per connection, at most
//! [`MAX_CONNECTIONS`] at a time, each with a deadline for a request's
//! headers.
//!
//! A client that opens connections and sends half a request head costs a
//! file descriptor each for as long as it likes; hundreds of them once
//! exhausted the process's descriptors and took DNS over TCP down with the
//! API. The cap bounds what the API can take from the process, and the
//! header deadline frees what a slow or silent client holds.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// Most concurrent API connections; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;

/// Accepts API connections forever.
pub async fn serve(listener: TcpListener, app: Router, header_timeout: Duration) {
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
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(err) = served {
                debug!(%peer, %err, "api connection ended");
            }
            drop(permit);
        });
    }
}
