//! TCP (RFC 7766): many queries per connection, pipelined, answered as each
//! completes; an idle timeout, a per-message read timeout and a cap on
//! concurrent connections.
//!
//! Each connection has a reader task and a writer task joined by a bounded
//! channel, so a client that sends many queries before reading cannot
//! deadlock the server, and half-closed connections still get every answer.
//!
//! Syscalls are the cost of TCP here, so both sides batch: the reader reads
//! through a buffer (a pipelining client's queries arrive many per read),
//! and the writer sends every answer that is ready in one write.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::timeout;
use tracing::{debug, warn};

use socket2::{Protocol, Type};

use super::{BindError, new_socket};
use crate::answer::{AnswerConfig, Responder, Transport};
use crate::metrics::WorkerStats;
use crate::server::SharedCatalog;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Close a connection with no query for this long.
    pub idle_timeout: Duration,
    /// Most concurrent connections.
    pub max_connections: usize,
}

/// Longest wait for the rest of a message once its first octet arrived.
const MESSAGE_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Read buffer per connection: room for about a hundred typical queries.
const READ_BUFFER: usize = 8 * 1024;

/// The writer stops gathering ready answers into one write at this size.
const WRITE_BATCH: usize = 64 * 1024;

/// Binds a listening socket (std, so binding errors surface before the
/// runtime starts).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, BindError> {
    let fail = |source| BindError {
        addr,
        transport: "tcp",
        source,
    };
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    Ok(socket.into())
}

/// Accepts connections forever.
pub async fn serve(
    listener: TcpListener,
    catalog: SharedCatalog,
    config: AnswerConfig,
    limits: TcpLimits,
    stats: Arc<WorkerStats>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors and the like: back off instead of spinning.
                warn!(%err, "tcp accept error");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "tcp connection limit reached; closing");
            drop(stream);
            continue;
        };
        let catalog = catalog.clone();
        let config = config.clone();
        let responder = Responder::with_stats(config, stats.clone());
        tokio::spawn(connection(
            stream,
            peer.ip(),
            catalog,
            responder,
            limits,
            permit,
        ));
    }
}

async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    catalog: SharedCatalog,
    mut responder: Responder,
    limits: TcpLimits,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    // Each message is one or more length-prefixed answers.
    let (replies, mut pending) = mpsc::channel::<Vec<u8>>(64);
    let write_task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while let Some(frames) = pending.recv().await {
            batch.clear();
            batch.extend_from_slice(&frames);
            while batch.len() < WRITE_BATCH {
                match pending.try_recv() {
                    Ok(more) => batch.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            if writer.write_all(&batch).await.is_err() {
                return;
            }
        }
        let _ = writer.shutdown().await;
    });

    let mut message = vec![0u8; 512];
    let mut reply = Vec::with_capacity(512);
    // Answers not yet handed to the writer: they go together once no
    // further query is already buffered, one allocation and one channel
    // hop per batch instead of per answer.
    let mut out = Vec::new();
    loop {
        let flush = !out.is_empty()
            && (!next_message_buffered(reader.buffer()) || out.len() >= WRITE_BATCH);
        if flush && replies.send(std::mem::take(&mut out)).await.is_err() {
            break;
        }
        let mut prefix = [0u8; 2];
        match timeout(limits.idle_timeout, reader.read_exact(&mut prefix)).await {
            Ok(Ok(_)) => {}
            // EOF, reset, or idle for too long.
            _ => break,
        }
        let len = usize::from(u16::from_be_bytes(prefix));
        if message.len() < len {
            message.resize(len, 0);
        }
        let read_timeout = MESSAGE_READ_TIMEOUT.min(limits.idle_timeout);
        match timeout(read_timeout, reader.read_exact(&mut message[..len])).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        let started = Instant::now();
        let snapshot = catalog.load();
        if !responder.answer(&message[..len], &snapshot, Transport::Tcp, peer, &mut reply) {
            continue;
        }
        responder.finish_batch(started, 1);
        out.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        out.extend_from_slice(&reply);
    }
    if !out.is_empty() {
        let _ = replies.send(out).await;
    }
    drop(replies);
    let _ = write_task.await;
}

/// Whether `buffered` holds a whole length-prefixed message.
fn next_message_buffered(buffered: &[u8]) -> bool {
    match buffered {
        [hi, lo, rest @ ..] => rest.len() >= usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::next_message_buffered;

    #[test]
    fn whole_messages_are_recognised() {
        assert!(!next_message_buffered(&[]));
        assert!(!next_message_buffered(&[0]));
        assert!(!next_message_buffered(&[0, 3, 1, 2]));
        assert!(next_message_buffered(&[0, 3, 1, 2, 3]));
        assert!(next_message_buffered(&[0, 0]));
        assert!(next_message_buffered(&[0, 1, 9, 0, 5]));
    }
}
