//! TCP (RFC 7766): many queries per connection, pipelined, answered as each
//! completes; an idle timeout, a per-message read timeout and a cap on
//! concurrent connections.
//!
//! Each connection is one task that reads without blocking, answers every
//! whole message it has, and writes the answers in one go. It waits for
//! the socket to become readable or writable only when it has nothing else
//! to do, and stops reading while too many answers wait to be written, so
//! a client that sends many queries before reading cannot make the server
//! hold unbounded memory; half-closed connections still get every answer.
//!
//! Syscalls are the cost of TCP here: a pipelining client's queries arrive
//! many per read and their answers leave in one write, and a lone query
//! costs a read and a write, with no task hand-off and no timer operation.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::ReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use socket2::{Protocol, Type};

use super::{BindError, new_socket};
use crate::answer::{AnswerConfig, Responder};
use crate::metrics::WorkerStats;
use crate::parse::Transport;
use crate::zone::SharedCatalog;

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

/// Read size per connection: room for about a hundred typical queries.
const READ_BUFFER: usize = 8 * 1024;

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
        let responder = Responder::with_stats(config, stats.clone()).with_thread_templates();
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

/// One connection, one task: read what has arrived, answer every whole
/// message in it, write all the answers in one go, and wait for the socket
/// only when there is nothing else to do.
async fn connection(
    mut stream: TcpStream,
    peer: IpAddr,
    catalog: SharedCatalog,
    mut responder: Responder,
    limits: TcpLimits,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.split();
    let mut input = Input::default();
    let mut output = Output::default();
    let mut reply = Vec::with_capacity(512);
    let mut read_closed = false;
    // One timer per connection, re-armed only when it fires: activity just
    // moves `last_activity`, so a query costs no timer operation.
    let mut last_activity = Instant::now();
    let message_timeout = MESSAGE_READ_TIMEOUT.min(limits.idle_timeout);
    let deadline = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(deadline);

    loop {
        let snapshot = catalog.load();
        while let Some(message) = input.next_message() {
            let started = Instant::now();
            if responder.answer(message, &snapshot, Transport::Tcp, peer, &mut reply) {
                output.push_frame(&reply);
            }
            responder.finish_batch(started, 1);
            last_activity = started;
        }
        drop(snapshot);
        match output.flush(writer.as_ref()) {
            // A client reading a backlog slowly is not idle.
            Ok(true) => last_activity = Instant::now(),
            Ok(false) => {}
            Err(_) => return,
        }
        if read_closed && output.is_empty() {
            // Every answer is out: close our side too.
            let _ = writer.shutdown().await;
            return;
        }
        // A client that sends but does not read is not read from either
        // once its answers pile up; the deadline then closes it.
        let want_read = !read_closed && output.pending() < OUTPUT_LIMIT;
        tokio::select! {
            read = input.read_from(&mut reader), if want_read => {
                match read {
                    Ok(0) => read_closed = true,
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
            ready = writer.as_ref().writable(), if !output.is_empty() => {
                if ready.is_err() {
                    return;
                }
            }
            () = &mut deadline => {
                // Waiting for the rest of a started message has a shorter limit.
                let limit = if input.has_partial() { message_timeout } else { limits.idle_timeout };
                let due = last_activity.max(input.partial_since()) + limit;
                if Instant::now() >= due {
                    debug!(%peer, "tcp connection timed out");
                    return;
                }
                deadline.as_mut().reset(due.into());
            }
        }
    }
}

/// Answers not yet written stop the reading at this size.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Received bytes: whole messages are taken from the front, reads append.
#[derive(Default)]
struct Input {
    /// `buffer[start..end]` is received and not yet consumed; the rest is
    /// room for the next read (allocated once, never cleared).
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// When the first octet of the message at `start` arrived, if it is
    /// not complete yet.
    partial_since: Option<Instant>,
}

impl Input {
    /// The next whole message, without its length prefix.
    fn next_message(&mut self) -> Option<&[u8]> {
        let rest = &self.buffer[self.start..self.end];
        if !next_message_buffered(rest) {
            if rest.is_empty() {
                self.partial_since = None;
            } else {
                self.partial_since.get_or_insert_with(Instant::now);
            }
            return None;
        }
        self.partial_since = None;
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let at = self.start + 2;
        self.start = at + len;
        Some(&self.buffer[at..at + len])
    }

    fn has_partial(&self) -> bool {
        self.partial_since.is_some()
    }

    /// When the pending partial message started (the distant past if none).
    fn partial_since(&self) -> Instant {
        self.partial_since
            .unwrap_or_else(|| Instant::now() - Duration::from_secs(86_400))
    }

    /// Waits for and makes one read after what is buffered; 0 at end of
    /// stream. Cancel-safe: bytes are only taken in the poll that returns.
    ///
    /// This goes through tokio's `AsyncRead` rather than `readable()` and
    /// `try_read` because a short read there marks the socket drained, so
    /// a lone query costs one `read`, not a second one that fails with
    /// `EAGAIN` (tokio issue 5866).
    async fn read_from(&mut self, reader: &mut ReadHalf<'_>) -> std::io::Result<usize> {
        // Move the unconsumed bytes to the front, then make sure there is
        // room for a read buffer's worth, or for the whole of a large message.
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let needed = match &self.buffer[..self.end] {
            [hi, lo, ..] => 2 + usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => 0,
        };
        let size = needed.max(self.end + READ_BUFFER / 2).max(READ_BUFFER);
        if self.buffer.len() < size {
            self.buffer.resize(size, 0);
        }
        let read = reader.read(&mut self.buffer[self.end..]).await?;
        self.end += read;
        Ok(read)
    }
}

/// Length-prefixed answers waiting to be written.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    /// Octets of `bytes` already written.
    written: usize,
}

impl Output {
    fn push_frame(&mut self, reply: &[u8]) {
        self.bytes
            .extend_from_slice(&(reply.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(reply);
    }

    fn is_empty(&self) -> bool {
        self.pending() == 0
    }

    fn pending(&self) -> usize {
        self.bytes.len() - self.written
    }

    /// Writes as much as the socket takes now; returns whether anything
    /// was written. Only a broken connection is an error; a full socket
    /// buffer leaves the rest for later.
    fn flush(&mut self, stream: &TcpStream) -> std::io::Result<bool> {
        let before = self.written;
        while self.written < self.bytes.len() {
            match stream.try_write(&self.bytes[self.written..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(err) => return Err(err),
            }
        }
        let progress = self.written > before;
        if self.written == self.bytes.len() {
            self.bytes.clear();
            self.written = 0;
            if self.bytes.capacity() > 4 * OUTPUT_LIMIT {
                self.bytes.shrink_to(OUTPUT_LIMIT);
            }
        }
        Ok(progress)
    }
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
