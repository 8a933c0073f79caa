//! TCP (RFC 7766): many queries per connection, pipelined, answered as each
//! completes; an idle timeout, a per-message read timeout, a cap on
//! concurrent connections and one per source, so a single client cannot
//! hold every slot.
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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use socket2::{Protocol, Type};

use super::{BindError, new_socket};
use crate::answer::{AnswerConfig, Responder};
use crate::metrics::WorkerStats;
use crate::parse::Transport;
use crate::xfr::{Replicator, is_transfer_request};
use crate::zone::SharedCatalog;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Close a connection with no query for this long.
    pub idle_timeout: Duration,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Most concurrent connections from one source (see [`SourceKey`]).
    pub max_per_source: usize,
}

/// What counts as one source: an IPv4 address, or an IPv6 /64 (one host
/// usually holds a whole /64, so a per-address cap would not bind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum SourceKey {
    V4(u32),
    /// The /64 prefix.
    V6(u64),
}

impl SourceKey {
    fn of(ip: IpAddr) -> SourceKey {
        match ip {
            IpAddr::V4(v4) => SourceKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(v4.into()),
                None => SourceKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Open connections per source. Taken at accept and when a connection
/// ends, never on the answer path.
#[derive(Default)]
struct SourceCounts(Mutex<HashMap<SourceKey, usize>>);

impl SourceCounts {
    /// A slot for `ip`, unless it already holds `max`.
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<SourceSlot> {
        let key = SourceKey::of(ip);
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(key).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            counts: self.clone(),
            key,
        })
    }
}

/// One connection's place in its source's count; given back on drop.
struct SourceSlot {
    counts: Arc<SourceCounts>,
    key: SourceKey,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
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
    replicator: Arc<Replicator>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let sources = Arc::new(SourceCounts::default());
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
        let Some(source_slot) = sources.take(peer.ip(), limits.max_per_source) else {
            debug!(%peer, "tcp connection limit per source reached; closing");
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
            replicator.clone(),
            limits,
            (permit, source_slot),
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
    replicator: Arc<Replicator>,
    limits: TcpLimits,
    _slots: (OwnedSemaphorePermit, SourceSlot),
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
            if is_transfer_request(message) {
                // Zone transfers stream many messages: what is queued goes
                // first, then the transfer, written as it is made.
                let message = message.to_vec();
                let snapshot = catalog.load_full();
                if output.write_all(&mut writer).await.is_err()
                    || replicator
                        .serve_transfer(&message, peer, &snapshot, &mut writer)
                        .await
                        .is_err()
                {
                    return;
                }
                last_activity = Instant::now();
                continue;
            }
            let started = Instant::now();
            if responder.answer(message, &snapshot, Transport::Tcp, peer, &mut reply) {
                output.push_frame(&reply);
            }
            responder.finish_batch(started, 1);
            last_activity = started;
        }
        drop(snapshot);
        // A message that has started must complete within its own limit,
        // which may fall before the armed deadline.
        if input.has_partial() {
            let due = input.partial_since() + message_timeout;
            if tokio::time::Instant::from(due) < deadline.deadline() {
                deadline.as_mut().reset(due.into());
            }
        }
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

    /// Writes everything queued, waiting for the socket as needed.
    async fn write_all(&mut self, writer: &mut WriteHalf<'_>) -> std::io::Result<()> {
        writer.write_all(&self.bytes[self.written..]).await?;
        self.bytes.clear();
        self.written = 0;
        Ok(())
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
    use super::*;

    #[test]
    fn whole_messages_are_recognised() {
        assert!(!next_message_buffered(&[]));
        assert!(!next_message_buffered(&[0]));
        assert!(!next_message_buffered(&[0, 3, 1, 2]));
        assert!(next_message_buffered(&[0, 3, 1, 2, 3]));
        assert!(next_message_buffered(&[0, 0]));
        assert!(next_message_buffered(&[0, 1, 9, 0, 5]));
    }

    #[test]
    fn sources_are_addresses_and_ipv6_64s() {
        let v4 = |s: &str| SourceKey::of(s.parse().unwrap());
        assert_eq!(
            v4("192.0.2.1"),
            v4("::ffff:192.0.2.1"),
            "mapped is the same host"
        );
        assert_ne!(v4("192.0.2.1"), v4("192.0.2.2"));
        assert_eq!(v4("2001:db8:1:2::1"), v4("2001:db8:1:2:ffff::9"), "one /64");
        assert_ne!(v4("2001:db8:1:2::1"), v4("2001:db8:1:3::1"));
        assert_ne!(v4("::1"), v4("0.0.0.1"));
    }

    #[test]
    fn a_source_holds_at_most_its_share_and_gets_slots_back() {
        let counts = Arc::new(SourceCounts::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| counts.take(a, 3).unwrap()).collect();
        assert!(counts.take(a, 3).is_none(), "a fourth from one source");
        assert!(counts.take(b, 3).is_some(), "another source still gets in");
        drop(held);
        assert!(
            counts.take(a, 3).is_some(),
            "slots come back when connections end"
        );
        assert!(
            counts.0.lock().unwrap().len() <= 1,
            "empty entries are removed"
        );
    }
}
