//! The background side of `resolve()`: a task that takes lookup requests
//! from the answering threads and runs each as its own small task, asking
//! the configured resolver (recursion desired) over UDP from a fresh socket
//! (a random source port and ID each time), over TCP when the reply is
//! truncated. Every step has a deadline, so every lookup ends and hands its
//! result, or its failure, to the table (table.rs).
//!
//! The resolver is trusted for answers, not for our memory: replies are
//! checked (source, ID, QR, question), and read by the same checked reader
//! as zone transfers (`xfr::message::read_reply`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};

use super::table::{Key, Outcome, Resolved, Table};
use crate::wire::rdata::to_text;
use crate::wire::{Flags, RType, Rcode};
use crate::xfr::message::{MessageError, read_reply};
use crate::zone::Record;

/// UDP queries sent before giving up.
const UDP_TRIES: usize = 2;
/// How long one UDP query waits for its reply.
const UDP_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long the whole TCP exchange may take.
const TCP_TIMEOUT: Duration = Duration::from_secs(2);
/// Our EDNS UDP payload size (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;
/// Largest UDP reply read.
const UDP_BUFFER: usize = 4096;

/// Shortest time an answer is kept (a TTL of 0 would mean a lookup, and a
/// wait, for every query).
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// Longest time an answer is kept, whatever its TTL.
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// Longest time a negative answer is kept (RFC 2308 §5: the SOA's TTL
/// and MINIMUM, whichever is lower; capped here).
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// How long a negative answer without an SOA is kept.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(10);

/// Why a lookup found no usable answer.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("no reply from {0} in time")]
    Timeout(SocketAddr),
    #[error("talking to {addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("malformed reply: {0}")]
    Malformed(#[from] MessageError),
    #[error("the resolver answered RCODE {0}")]
    Rcode(u16),
    #[error("an answer record does not read as its type: {0}")]
    Rdata(String),
}

/// Takes requests until every sender is gone.
pub(super) async fn serve(addr: SocketAddr, mut queue: mpsc::Receiver<Key>, table: Arc<Table>) {
    while let Some(key) = queue.recv().await {
        let table = table.clone();
        tokio::spawn(async move {
            table.counters.lookups.fetch_add(1, Relaxed);
            let outcome = match lookup(addr, &key).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::debug!(target: "dnsd::lua", name = %key.name, rtype = key.rtype.0, %error, "resolve() lookup failed");
                    Outcome::Failed(error.to_string().into())
                }
            };
            table.complete(&key, outcome, std::time::Instant::now());
        });
    }
}

/// One lookup: UDP, TCP when truncated.
async fn lookup(addr: SocketAddr, key: &Key) -> Result<Outcome, LookupError> {
    let id = fastrand::u16(..);
    let query = query(id, key);
    let reply = match udp_exchange(addr, &query, id, key).await? {
        Some(reply) => reply,
        None => tcp_exchange(addr, &query, id, key).await?,
    };
    interpret(&reply, key)
}

/// A query for `key` with RD and an EDNS OPT record.
pub(super) fn query(id: u16, key: &Key) -> Vec<u8> {
    let name = key.name.as_wire();
    let mut message = Vec::with_capacity(12 + name.len() + 4 + 11);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&Flags::RD.0.to_be_bytes());
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    message.extend_from_slice(name);
    message.extend_from_slice(&key.rtype.0.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    // OPT: root owner, type 41, class = payload size, TTL 0, no options.
    message.push(0);
    message.extend_from_slice(&RType::OPT.0.to_be_bytes());
    message.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    message
}

/// True when `reply` answers our query: QR set, our ID, our question.
fn is_reply_to(reply: &[u8], id: u16, key: &Key) -> bool {
    if reply.len() < 12 || reply[..2] != id.to_be_bytes() {
        return false;
    }
    if !Flags::from_header(reply).contains(Flags::QR) || reply[4..6] != [0, 1] {
        return false;
    }
    let name = key.name.as_wire();
    let Some(question) = reply.get(12..12 + name.len() + 4) else {
        return false;
    };
    let (qname, rest) = question.split_at(name.len());
    qname.eq_ignore_ascii_case(name)
        && rest[..2] == key.rtype.0.to_be_bytes()
        && rest[2..] == [0, 1]
}

/// The reply over UDP; `None` when it is truncated.
async fn udp_exchange(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    key: &Key,
) -> Result<Option<Vec<u8>>, LookupError> {
    let io = |source| LookupError::Io { addr, source };
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    // Connected: the kernel drops datagrams from anyone else.
    socket.connect(addr).await.map_err(io)?;
    let mut buffer = vec![0u8; UDP_BUFFER];
    for _ in 0..UDP_TRIES {
        socket.send(query).await.map_err(io)?;
        let deadline = Instant::now() + UDP_TIMEOUT;
        loop {
            let received = match timeout_at(deadline, socket.recv(&mut buffer)).await {
                Err(_) => break,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(io(e));
                }
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(n)) => n,
            };
            let reply = &buffer[..received];
            if !is_reply_to(reply, id, key) {
                continue;
            }
            if Flags::from_header(reply).contains(Flags::TC) {
                return Ok(None);
            }
            return Ok(Some(reply.to_vec()));
        }
    }
    Err(LookupError::Timeout(addr))
}

/// The reply over TCP.
async fn tcp_exchange(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    key: &Key,
) -> Result<Vec<u8>, LookupError> {
    let io = |source| LookupError::Io { addr, source };
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut framed = Vec::with_capacity(2 + query.len());
        framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
        framed.extend_from_slice(query);
        stream.write_all(&framed).await?;
        loop {
            let mut prefix = [0u8; 2];
            stream.read_exact(&mut prefix).await?;
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
            stream.read_exact(&mut reply).await?;
            if is_reply_to(&reply, id, key) {
                return Ok(reply);
            }
        }
    };
    timeout(TCP_TIMEOUT, exchange)
        .await
        .map_err(|_| LookupError::Timeout(addr))?
        .map_err(io)
}

/// What a reply means for `key`: the records of the type asked (names met
/// through CNAMEs included), kept for the lowest TTL in the answer; or a
/// negative answer (NXDOMAIN, or none of the type), kept as RFC 2308 says.
fn interpret(reply: &[u8], key: &Key) -> Result<Outcome, LookupError> {
    let (message, authority) = read_reply(reply)?;
    match message.rcode {
        Rcode::NOERROR | Rcode::NXDOMAIN => {}
        Rcode(other) => return Err(LookupError::Rcode(other)),
    }
    let answers = message
        .answers
        .iter()
        .filter(|r| r.rtype == key.rtype && r.class == 1)
        .map(|r| {
            Ok(Resolved {
                owner: r.owner.clone(),
                rtype: r.rtype,
                ttl: r.ttl,
                content: to_text(r.rtype, &r.rdata)
                    .map_err(|e| LookupError::Rdata(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, LookupError>>()?;
    let ttl = if answers.is_empty() {
        negative_ttl(&authority)
    } else {
        let lowest = message.answers.iter().map(|r| r.ttl).min().unwrap_or(0);
        Duration::from_secs(u64::from(lowest)).clamp(MIN_TTL, MAX_TTL)
    };
    Ok(Outcome::Answer {
        answers: answers.into(),
        ttl,
    })
}

/// How long a negative answer is kept: the SOA's TTL or MINIMUM, whichever
/// is lower (RFC 2308 §5), between [`MIN_TTL`] and [`MAX_NEGATIVE_TTL`].
fn negative_ttl(authority: &[Record]) -> Duration {
    let soa = authority.iter().find(|r| r.rtype == RType::SOA);
    let Some(soa) = soa else {
        return DEFAULT_NEGATIVE_TTL;
    };
    let minimum = soa
        .rdata
        .len()
        .checked_sub(4)
        .map(|at| u32::from_be_bytes(soa.rdata[at..].try_into().unwrap_or([0; 4])))
        .unwrap_or(0);
    Duration::from_secs(u64::from(soa.ttl.min(minimum))).clamp(MIN_TTL, MAX_NEGATIVE_TTL)
}

#[cfg(test)]
mod tests;
