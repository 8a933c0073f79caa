//! dnsd as a transfer client: asks a primary for its SOA serial and
//! fetches a zone by IXFR (falling back to AXFR), TSIG-signed when a key is
//! configured.
//!
//! The primary is a peer we trust for the zone's content, not for our
//! memory or time: every message is checked (ID, RCODE, TSIG, zone), the
//! records held are capped ([`Limits`]), and every read has a deadline.
//! What the reply means (up to date, diffs, or the whole zone: RFC 1995
//! §4, RFC 5936) is decided by [`ReplyInterpreter`], which knows nothing
//! of sockets, so it can be fed any bytes (the `transfer` fuzz target).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

use super::diff::{Diff, soa_serial as record_serial};
use super::message::{MAX_MESSAGE_LEN, MessageError, ReadMessage, read_message};
use crate::wire::tsig::{Key, ReplyError, RequestSigner};
use crate::wire::{Flags, Name, RType, Rcode};
use crate::zone::Record;
use crate::zones::serial::{serial_gt, unix_now};

/// A primary to ask.
#[derive(Debug, Clone)]
pub struct Primary {
    pub addr: SocketAddr,
    pub key: Option<Arc<Key>>,
}

/// Why a check or transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr}: timed out")]
    Timeout { addr: SocketAddr },
    #[error("{addr}: {source}")]
    Message {
        addr: SocketAddr,
        source: MessageError,
    },
    #[error("{addr}: TSIG: {source}")]
    Tsig {
        addr: SocketAddr,
        source: ReplyError,
    },
    #[error("{addr}: {reason}")]
    Protocol { addr: SocketAddr, reason: String },
}

/// What a fetch brought.
#[derive(Debug)]
pub enum Fetched {
    /// The primary's serial is not newer than ours.
    UpToDate { serial: u32 },
    /// The whole zone (AXFR, or an IXFR answered in full), SOA first.
    Full(Vec<Record>),
    /// The diffs from our serial to the primary's.
    Incremental(Vec<Diff>),
}

/// Bounds on what one transfer may make us hold, so a hostile or broken
/// primary cannot exhaust memory or keep a transfer going forever.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Records held (a message with no record counts as one).
    pub max_records: usize,
    /// Octets held: each record's owner and RDATA plus 10.
    pub max_octets: usize,
    /// Wall time of a whole transfer, connecting included.
    pub max_time: Duration,
}

impl Default for Limits {
    /// Four times the 1M-record zone dnsd is sized for (replication.md §7).
    fn default() -> Limits {
        Limits {
            max_records: 4_000_000,
            max_octets: 1 << 30,
            max_time: Duration::from_secs(3600),
        }
    }
}

/// Why a reply does not make a valid transfer (RFC 1995 §4, RFC 5936 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("the first record is not the zone's SOA")]
    FirstNotSoa,
    #[error("record {0} is outside the zone")]
    OutsideZone(String),
    #[error("an SOA record that is not the zone's: {0}")]
    MisplacedSoa(String),
    #[error("record {0} has class {1}, the SOA class {2}")]
    WrongClass(String, u16, u16),
    #[error("the closing SOA has serial {closing}, the opening {opening}")]
    ClosingSerial { opening: u32, closing: u32 },
    #[error("the first diff starts at serial {got}, we asked from {asked}")]
    FirstDiffSerial { asked: u32, got: u32 },
    #[error("a diff starts at serial {got} where the previous one ended at {expected}")]
    BrokenChain { expected: u32, got: u32 },
    #[error("records after the closing SOA")]
    AfterEnd,
    #[error("the transfer ended before its closing SOA")]
    Incomplete,
    #[error("the transfer exceeds {0}")]
    TooLarge(&'static str),
}

/// The primary's SOA serial for `zone` (UDP, TCP when truncated).
pub async fn soa_serial(
    primary: &Primary,
    zone: &Name,
    timeout: Duration,
) -> Result<u32, FetchError> {
    // A lost datagram is worth one more try; a TC reply moves to TCP.
    for _ in 0..UDP_TRIES {
        match udp_soa(primary, zone, timeout).await {
            Ok(Some(serial)) => return Ok(serial),
            Ok(None) => return tcp_soa(primary, zone, timeout).await,
            Err(FetchError::Timeout { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(FetchError::Timeout { addr: primary.addr })
}

/// SOA queries sent over UDP before giving up.
const UDP_TRIES: usize = 2;

/// Fetches `zone`: IXFR from `have` (our serial) when given, AXFR
/// otherwise or when the IXFR fails; `timeout` bounds each read.
pub async fn fetch(
    primary: &Primary,
    zone: &Name,
    have: Option<u32>,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    fetch_with(primary, zone, have, timeout, &Limits::default()).await
}

/// [`fetch`] under explicit [`Limits`].
pub async fn fetch_with(
    primary: &Primary,
    zone: &Name,
    have: Option<u32>,
    timeout: Duration,
    limits: &Limits,
) -> Result<Fetched, FetchError> {
    if let Some(serial) = have {
        match transfer(primary, zone, Some(serial), timeout, limits).await {
            Ok(fetched) => return Ok(fetched),
            // Refused, not implemented, a broken reply or none at all: the
            // whole zone may still come (replication.md §3).
            Err(error) => tracing::info!(zone = %zone, %error, "IXFR failed; trying AXFR"),
        }
    }
    transfer(primary, zone, None, timeout, limits).await
}

/// One transfer over one TCP connection: IXFR from `have`, or AXFR.
async fn transfer(
    primary: &Primary,
    zone: &Name,
    have: Option<u32>,
    read_timeout: Duration,
    limits: &Limits,
) -> Result<Fetched, FetchError> {
    let addr = primary.addr;
    let deadline = deadline_after(limits.max_time);
    let work = async {
        let mut stream = connect(addr, read_timeout).await?;
        let qtype = if have.is_some() {
            RType::IXFR
        } else {
            RType::AXFR
        };
        let id = fastrand::u16(..);
        let mut request = query(id, zone, qtype, have);
        let mut signer = primary
            .key
            .as_ref()
            .map(|key| RequestSigner::sign(key.clone(), &mut request, unix_now()));
        send_tcp(&mut stream, &request, addr, read_timeout).await?;

        let mut interpreter = ReplyInterpreter::new(zone, have, limits.clone());
        let mut buffer = Vec::with_capacity(MAX_MESSAGE_LEN);
        loop {
            if !read_tcp(&mut stream, &mut buffer, addr, read_timeout).await? {
                return Err(protocol(addr, TransferError::Incomplete));
            }
            let message = check_reply(&buffer, id, signer.as_mut(), addr)?;
            if let Some(question) = &message.question
                && (question.0 != *zone || question.1 != qtype)
            {
                return Err(protocol(addr, "the reply's question is not ours"));
            }
            if interpreter
                .feed(message.answers)
                .map_err(|error| protocol(addr, error))?
            {
                break;
            }
        }
        if let Some(signer) = &signer {
            signer
                .finish()
                .map_err(|source| FetchError::Tsig { addr, source })?;
        }
        interpreter.finish().map_err(|error| protocol(addr, error))
    };
    timeout_at(deadline, work)
        .await
        .map_err(|_| FetchError::Timeout { addr })?
}

/// One SOA query over UDP: the serial, or `None` when the reply is
/// truncated. Datagrams that are not the reply (another ID or question)
/// are ignored until the deadline.
async fn udp_soa(
    primary: &Primary,
    zone: &Name,
    wait: Duration,
) -> Result<Option<u32>, FetchError> {
    let addr = primary.addr;
    let io = |source| FetchError::Io { addr, source };
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(addr).await.map_err(io)?;
    let id = fastrand::u16(..);
    let mut request = query(id, zone, RType::SOA, None);
    let mut signer = primary
        .key
        .as_ref()
        .map(|key| RequestSigner::sign(key.clone(), &mut request, unix_now()));
    socket.send(&request).await.map_err(io)?;

    let deadline = deadline_after(wait);
    let mut buffer = vec![0u8; MAX_MESSAGE_LEN];
    loop {
        let len = timeout_at(deadline, socket.recv(&mut buffer))
            .await
            .map_err(|_| FetchError::Timeout { addr })?
            .map_err(io)?;
        let reply = &buffer[..len];
        if !is_reply_to(reply, id) || !asks(reply, zone, RType::SOA) {
            continue;
        }
        if Flags::from_header(reply).contains(Flags::TC) {
            return Ok(None);
        }
        let message = check_reply(reply, id, signer.as_mut(), addr)?;
        return soa_of(&message, zone, addr).map(Some);
    }
}

/// The SOA query over TCP.
async fn tcp_soa(primary: &Primary, zone: &Name, wait: Duration) -> Result<u32, FetchError> {
    let addr = primary.addr;
    let mut stream = connect(addr, wait).await?;
    let id = fastrand::u16(..);
    let mut request = query(id, zone, RType::SOA, None);
    let mut signer = primary
        .key
        .as_ref()
        .map(|key| RequestSigner::sign(key.clone(), &mut request, unix_now()));
    send_tcp(&mut stream, &request, addr, wait).await?;
    let mut buffer = Vec::new();
    if !read_tcp(&mut stream, &mut buffer, addr, wait).await? {
        return Err(protocol(addr, "connection closed before the reply"));
    }
    let message = check_reply(&buffer, id, signer.as_mut(), addr)?;
    if message.question.as_ref() != Some(&(zone.clone(), RType::SOA)) {
        return Err(protocol(addr, "the reply's question is not ours"));
    }
    soa_of(&message, zone, addr)
}

/// The serial of the zone's SOA in an authoritative answer.
fn soa_of(message: &ReadMessage, zone: &Name, addr: SocketAddr) -> Result<u32, FetchError> {
    if !message.aa {
        return Err(protocol(addr, "the answer is not authoritative"));
    }
    message
        .answers
        .iter()
        .find(|r| r.rtype == RType::SOA && r.owner == *zone && r.rdata.len() >= 22)
        .map(record_serial)
        .ok_or_else(|| protocol(addr, "no SOA for the zone in the answer"))
}

/// Checks a reply's ID, RCODE and TSIG, then reads it.
fn check_reply(
    reply: &[u8],
    id: u16,
    signer: Option<&mut RequestSigner>,
    addr: SocketAddr,
) -> Result<ReadMessage, FetchError> {
    if !is_reply_to(reply, id) {
        return Err(protocol(addr, "a reply with another message ID"));
    }
    // An error RCODE ends the exchange whether or not it is signed (a
    // refusal to an unknown key is not); reporting it beats "unsigned".
    let rcode = Rcode(u16::from(reply[3] & 0x0F));
    if rcode != Rcode::NOERROR {
        return Err(FetchError::Message {
            addr,
            source: MessageError::Rcode(rcode),
        });
    }
    let len = match signer {
        Some(signer) => signer
            .verify(reply, unix_now())
            .map_err(|source| FetchError::Tsig { addr, source })?,
        None => reply.len(),
    };
    let signed = reply.get(..len).unwrap_or(reply);
    read_message(signed).map_err(|source| FetchError::Message { addr, source })
}

/// A response (QR) with our ID.
fn is_reply_to(reply: &[u8], id: u16) -> bool {
    reply.len() >= 12 && reply[..2] == id.to_be_bytes() && reply[2] & 0x80 != 0
}

/// The message's first question is (`zone`, `qtype`), class IN, and
/// written uncompressed (as any reply copies it).
fn asks(reply: &[u8], zone: &Name, qtype: RType) -> bool {
    let Some(question) = reply.get(12..12 + zone.wire_len() + 4) else {
        return false;
    };
    let (name, rest) = question.split_at(zone.wire_len());
    reply[4..6] == [0, 1]
        && name.eq_ignore_ascii_case(zone.as_wire())
        && rest[..2] == qtype.0.to_be_bytes()
        && rest[2..] == [0, 1]
}

/// A query for (`zone`, `qtype`, IN); for IXFR, our SOA at `have` in the
/// authority section (RFC 1995 §3: only its serial counts, so the other
/// fields are zero and the names the root).
pub fn query(id: u16, zone: &Name, qtype: RType, have: Option<u32>) -> Vec<u8> {
    let mut message = Vec::with_capacity(12 + zone.wire_len() + 4 + 2 + 10 + 22);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 1, 0, 0]);
    message.extend_from_slice(&u16::from(have.is_some()).to_be_bytes());
    message.extend_from_slice(&[0, 0]);
    message.extend_from_slice(zone.as_wire());
    message.extend_from_slice(&qtype.0.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    if let Some(serial) = have {
        message.extend_from_slice(&[0xC0, 12]);
        message.extend_from_slice(&RType::SOA.0.to_be_bytes());
        message.extend_from_slice(&1u16.to_be_bytes());
        message.extend_from_slice(&0u32.to_be_bytes());
        message.extend_from_slice(&22u16.to_be_bytes());
        message.extend_from_slice(&[0, 0]);
        message.extend_from_slice(&serial.to_be_bytes());
        message.extend_from_slice(&[0; 16]);
    }
    message
}

async fn connect(addr: SocketAddr, wait: Duration) -> Result<TcpStream, FetchError> {
    let stream = timeout(wait, TcpStream::connect(addr))
        .await
        .map_err(|_| FetchError::Timeout { addr })?
        .map_err(|source| FetchError::Io { addr, source })?;
    // Requests are one write; Nagle would only delay them.
    stream
        .set_nodelay(true)
        .map_err(|source| FetchError::Io { addr, source })?;
    Ok(stream)
}

/// Sends one length-prefixed message.
async fn send_tcp(
    stream: &mut TcpStream,
    message: &[u8],
    addr: SocketAddr,
    wait: Duration,
) -> Result<(), FetchError> {
    let len = u16::try_from(message.len()).map_err(|_| protocol(addr, "request too long"))?;
    let mut framed = Vec::with_capacity(2 + message.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    timeout(wait, stream.write_all(&framed))
        .await
        .map_err(|_| FetchError::Timeout { addr })?
        .map_err(|source| FetchError::Io { addr, source })
}

/// Reads one length-prefixed message into `buffer`, the whole message
/// within `wait`. False on a clean end of stream before its first octet.
async fn read_tcp(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    addr: SocketAddr,
    wait: Duration,
) -> Result<bool, FetchError> {
    let read = async {
        let mut prefix = [0u8; 2];
        let first = stream.read(&mut prefix).await?;
        if first == 0 {
            return Ok(false);
        }
        if first == 1 {
            stream.read_exact(&mut prefix[1..]).await?;
        }
        buffer.clear();
        buffer.resize(usize::from(u16::from_be_bytes(prefix)), 0);
        stream.read_exact(buffer).await?;
        Ok(true)
    };
    timeout(wait, read)
        .await
        .map_err(|_| FetchError::Timeout { addr })?
        .map_err(|source| FetchError::Io { addr, source })
}

/// `wait` from now; a wait too long to represent is a year.
fn deadline_after(wait: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 86_400);
    Instant::now() + wait.min(YEAR)
}

fn protocol(addr: SocketAddr, reason: impl ToString) -> FetchError {
    FetchError::Protocol {
        addr,
        reason: reason.to_string(),
    }
}

/// Turns the answer records of a transfer reply, message by message, into
/// what the reply means (RFC 1995 §4 for IXFR, RFC 5936 §2.2 for AXFR).
pub struct ReplyInterpreter {
    zone: Name,
    /// Our serial, when we asked for IXFR.
    have: Option<u32>,
    limits: Limits,
    records: usize,
    octets: usize,
    state: State,
}

enum State {
    /// Nothing read yet.
    Start,
    /// IXFR: the opening SOA (newer than ours) read; the next record tells
    /// diffs from the whole zone.
    Opened { soa: Record },
    /// The whole zone, opening SOA first, until the SOA comes again.
    Full { serial: u32, records: Vec<Record> },
    /// Diffs, until the SOA at the opening serial closes the last one.
    Diffs {
        serial: u32,
        done: Vec<Diff>,
        current: PartialDiff,
    },
    /// The closing record was read.
    Done(Fetched),
    /// A violation was reported; nothing more is read.
    Failed,
}

/// The diff being read: deleting until its new SOA, then adding.
struct PartialDiff {
    old_soa: Record,
    deleted: Vec<Record>,
    new_soa: Option<Record>,
    added: Vec<Record>,
}

impl ReplyInterpreter {
    /// A reply about `zone` to an IXFR from `have`, or to an AXFR (`None`).
    pub fn new(zone: &Name, have: Option<u32>, limits: Limits) -> ReplyInterpreter {
        ReplyInterpreter {
            zone: zone.clone(),
            have,
            limits,
            records: 0,
            octets: 0,
            state: State::Start,
        }
    }

    /// Reads one message's answer records; true once the transfer is
    /// complete (later messages are not read).
    pub fn feed(&mut self, answers: Vec<Record>) -> Result<bool, TransferError> {
        let result = self.feed_records(answers);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn feed_records(&mut self, answers: Vec<Record>) -> Result<bool, TransferError> {
        if matches!(self.state, State::Done(_)) && !answers.is_empty() {
            return Err(TransferError::AfterEnd);
        }
        self.records = self.records.saturating_add(answers.len().max(1));
        if self.records > self.limits.max_records {
            return Err(TransferError::TooLarge("the record limit"));
        }
        for record in answers {
            if matches!(self.state, State::Done(Fetched::UpToDate { .. })) {
                // Whatever follows a current SOA (a primary whose serial
                // went back may send its whole zone) is not wanted.
                break;
            }
            self.octets = self
                .octets
                .saturating_add(record.owner.wire_len() + record.rdata.len() + 10);
            if self.octets > self.limits.max_octets {
                return Err(TransferError::TooLarge("the octet limit"));
            }
            self.record(record)?;
        }
        Ok(matches!(self.state, State::Done(_)))
    }

    /// What the transfer brought; an error unless it is complete.
    pub fn finish(self) -> Result<Fetched, TransferError> {
        match self.state {
            State::Done(fetched) => Ok(fetched),
            _ => Err(TransferError::Incomplete),
        }
    }

    fn record(&mut self, record: Record) -> Result<(), TransferError> {
        if !record.owner.is_subdomain_of(&self.zone) {
            return Err(TransferError::OutsideZone(describe(&record)));
        }
        let is_soa = record.rtype == RType::SOA;
        if is_soa && (record.owner != self.zone || record.rdata.len() < 22) {
            return Err(match self.state {
                State::Start => TransferError::FirstNotSoa,
                _ => TransferError::MisplacedSoa(describe(&record)),
            });
        }
        let state = std::mem::replace(&mut self.state, State::Failed);
        self.state = match state {
            State::Start => {
                if !is_soa {
                    return Err(TransferError::FirstNotSoa);
                }
                let serial = record_serial(&record);
                match self.have {
                    Some(have) if !serial_gt(serial, have) => {
                        State::Done(Fetched::UpToDate { serial })
                    }
                    Some(_) => State::Opened { soa: record },
                    None => State::Full {
                        serial,
                        records: vec![record],
                    },
                }
            }
            State::Opened { soa } => {
                check_class(&soa, &record)?;
                let serial = record_serial(&soa);
                if !is_soa {
                    State::Full {
                        serial,
                        records: vec![soa, record],
                    }
                } else if record_serial(&record) == serial {
                    // SOA, SOA: the whole of a zone that is only its SOA.
                    State::Done(Fetched::Full(vec![soa]))
                } else {
                    let have = self.have.unwrap_or_default();
                    let got = record_serial(&record);
                    if got != have {
                        return Err(TransferError::FirstDiffSerial { asked: have, got });
                    }
                    State::Diffs {
                        serial,
                        done: Vec::new(),
                        current: PartialDiff::new(record),
                    }
                }
            }
            State::Full {
                serial,
                mut records,
            } => {
                check_class(&records[0], &record)?;
                if is_soa {
                    let closing = record_serial(&record);
                    if closing != serial {
                        return Err(TransferError::ClosingSerial {
                            opening: serial,
                            closing,
                        });
                    }
                    State::Done(Fetched::Full(records))
                } else {
                    records.push(record);
                    State::Full { serial, records }
                }
            }
            State::Diffs {
                serial,
                mut done,
                mut current,
            } => {
                check_class(&current.old_soa, &record)?;
                match (&current.new_soa, is_soa) {
                    (None, false) => current.deleted.push(record),
                    (None, true) => current.new_soa = Some(record),
                    (Some(_), false) => current.added.push(record),
                    (Some(new_soa), true) => {
                        let ended_at = record_serial(new_soa);
                        let got = record_serial(&record);
                        if got != ended_at {
                            return Err(TransferError::BrokenChain {
                                expected: ended_at,
                                got,
                            });
                        }
                        done.push(current.into_diff());
                        if got == serial {
                            // The closing SOA: the last diff reached the
                            // primary's serial.
                            self.state = State::Done(Fetched::Incremental(done));
                            return Ok(());
                        }
                        current = PartialDiff::new(record);
                    }
                }
                State::Diffs {
                    serial,
                    done,
                    current,
                }
            }
            State::Done(_) => return Err(TransferError::AfterEnd),
            State::Failed => return Err(TransferError::Incomplete),
        };
        Ok(())
    }
}

impl PartialDiff {
    fn new(old_soa: Record) -> PartialDiff {
        PartialDiff {
            old_soa,
            deleted: Vec::new(),
            new_soa: None,
            added: Vec::new(),
        }
    }

    /// Only called once the new SOA was read.
    fn into_diff(self) -> Diff {
        let new_soa = self.new_soa.unwrap_or_else(|| self.old_soa.clone());
        Diff {
            old_soa: self.old_soa,
            deleted: self.deleted,
            new_soa,
            added: self.added,
        }
    }
}

fn check_class(soa: &Record, record: &Record) -> Result<(), TransferError> {
    if record.class == soa.class {
        Ok(())
    } else {
        Err(TransferError::WrongClass(
            describe(record),
            record.class,
            soa.class,
        ))
    }
}

fn describe(record: &Record) -> String {
    format!("{} {}", record.owner, record.rtype)
}

#[cfg(test)]
mod peer_tests;
#[cfg(test)]
mod tests;
