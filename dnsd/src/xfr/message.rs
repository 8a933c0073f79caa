//! Records <-> zone transfer messages.
//!
//! Writing: records are packed into messages of at most a size limit,
//! owner names and the classic RDATA names compressed (RFC 1035 §4.1.4),
//! leaving room for a TSIG RR. Reading: a transfer reply message's answer
//! records, with names decompressed, as [`Record`]s.
//!
//! The writer compresses exactly as the answer path does (the same
//! [`Compressor`] and RDATA rules), so a name keeps its spelling and only
//! the RFC 1035 types get compressed RDATA (RFC 3597 §4). The reader is
//! more liberal: it also follows pointers in the RDATA of the later types
//! RFC 3597 §4 says receivers should decompress (SRV, NAPTR, RP, ...),
//! because old servers wrote them that way. Everything read comes from a
//! peer, so every length and pointer is checked: a bad message is an
//! error, never a panic.

use crate::assemble::{Compressor, write_rdata};
use crate::dnssec::sign::{Part, layout};
use crate::wire::name::MAX_NAME_LEN;
use crate::wire::{Flags, Name, RType, Rcode};
use crate::zone::Record;

/// Why a transfer message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("the server answered RCODE {}", .0.0)]
    Rcode(Rcode),
}

/// One message of a reply as read: header fields and answer records.
#[derive(Debug)]
pub struct ReadMessage {
    pub id: u16,
    pub rcode: Rcode,
    pub tc: bool,
    pub aa: bool,
    /// The question, if the message has one.
    pub question: Option<(Name, RType)>,
    /// The answer section, names decompressed (RDATA too, for the types
    /// whose RDATA names may be compressed: RFC 3597 §4).
    pub answers: Vec<Record>,
}

/// Octets of a header.
const HEADER_LEN: usize = 12;
/// Octets of a record after its owner: type, class, TTL, RDLENGTH.
const RR_FIXED_LEN: usize = 10;
/// Largest DNS message (the TCP length prefix is 16 bits).
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Reads a reply message. Pass only the octets before a TSIG RR (what
/// `RequestSigner::verify` returns): the authority and additional
/// sections are not read, so the ARCOUNT that still counts the TSIG RR
/// does no harm.
pub fn read_message(message: &[u8]) -> Result<ReadMessage, MessageError> {
    read_through_answers(message).map(|(read, _)| read)
}

/// Reads a reply's answer and authority sections (a resolver's reply: the
/// authority section carries the SOA that says how long a negative answer
/// may be cached, RFC 2308 §5). The additional section is not read.
pub fn read_reply(message: &[u8]) -> Result<(ReadMessage, Vec<Record>), MessageError> {
    let (read, pos) = read_through_answers(message)?;
    let header = &message[..HEADER_LEN];
    let nscount = u16::from_be_bytes([header[8], header[9]]);
    let (authority, _) = read_records(message, pos, nscount)?;
    Ok((read, authority))
}

/// The header, question and answer section, and where the answers end.
fn read_through_answers(message: &[u8]) -> Result<(ReadMessage, usize), MessageError> {
    let header = message
        .get(..HEADER_LEN)
        .ok_or(MessageError::Malformed("shorter than a header"))?;
    let id = u16::from_be_bytes([header[0], header[1]]);
    let flags = Flags::from_header(header);
    let qdcount = u16::from_be_bytes([header[4], header[5]]);
    let ancount = u16::from_be_bytes([header[6], header[7]]);

    let mut scratch = Vec::with_capacity(MAX_NAME_LEN);
    let mut pos = HEADER_LEN;
    let mut question = None;
    for _ in 0..qdcount {
        scratch.clear();
        pos = read_name(message, pos, &mut scratch)?;
        let qtype = read_u16(message, pos)?;
        read_u16(message, pos + 2)?;
        pos += 4;
        if question.is_none() {
            question = Some((owned_name(&scratch)?, RType(qtype)));
        }
    }

    let (answers, pos) = read_records(message, pos, ancount)?;

    let read = ReadMessage {
        id,
        rcode: Rcode(u16::from(header[3] & 0x0F)),
        tc: flags.contains(Flags::TC),
        aa: flags.contains(Flags::AA),
        question,
        answers,
    };
    Ok((read, pos))
}

/// Reads `count` records from `pos`; returns them and where they end.
fn read_records(
    message: &[u8],
    mut pos: usize,
    count: u16,
) -> Result<(Vec<Record>, usize), MessageError> {
    let mut scratch = Vec::with_capacity(MAX_NAME_LEN);
    // A hostile count must not reserve more than the octets can hold.
    let fits = (message.len() - pos.min(message.len())) / (1 + RR_FIXED_LEN);
    let mut records = Vec::with_capacity(usize::from(count).min(fits));
    for _ in 0..count {
        scratch.clear();
        pos = read_name(message, pos, &mut scratch)?;
        let owner = owned_name(&scratch)?;
        let fixed = message
            .get(pos..pos + RR_FIXED_LEN)
            .ok_or(MessageError::Malformed("record cut short"))?;
        let rtype = RType(u16::from_be_bytes([fixed[0], fixed[1]]));
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let start = pos + RR_FIXED_LEN;
        let end = start + rdlen;
        if end > message.len() {
            return Err(MessageError::Malformed("RDATA runs past the message"));
        }
        let rdata = read_rdata(message, start, end, rtype)?;
        records.push(Record {
            owner,
            rtype,
            class,
            ttl,
            rdata,
            location: None,
        });
        pos = end;
    }

    Ok((records, pos))
}

fn read_u16(message: &[u8], pos: usize) -> Result<u16, MessageError> {
    message
        .get(pos..pos + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(MessageError::Malformed("message cut short"))
}

fn owned_name(wire: &[u8]) -> Result<Name, MessageError> {
    Name::from_wire(wire).map_err(|_| MessageError::Malformed("bad name"))
}

/// The RDATA in `message[start..end]`, embedded names decompressed for
/// the types that have them (their layouts are the canonical-form ones,
/// a superset of RFC 3597 §4's list); other types are copied as they are.
fn read_rdata(
    message: &[u8],
    start: usize,
    end: usize,
    rtype: RType,
) -> Result<Box<[u8]>, MessageError> {
    let Some(parts) = layout(rtype) else {
        return Ok(message[start..end].into());
    };
    let bad = || MessageError::Malformed("RDATA does not match its type");
    // The names' own labels must lie inside the RDATA; pointers only go
    // backwards, so cutting the message at the RDATA's end allows every
    // valid target.
    let within = &message[..end];
    let mut rdata = Vec::with_capacity(end - start + 64);
    let mut pos = start;
    for part in parts {
        match *part {
            Part::Name => pos = read_name(within, pos, &mut rdata)?,
            Part::Fixed(n) => {
                rdata.extend_from_slice(within.get(pos..pos + n).ok_or_else(bad)?);
                pos += n;
            }
            Part::CharStr => {
                let len = usize::from(*within.get(pos).ok_or_else(bad)?);
                rdata.extend_from_slice(within.get(pos..pos + 1 + len).ok_or_else(bad)?);
                pos += 1 + len;
            }
            Part::Rest => {
                rdata.extend_from_slice(&within[pos.min(end)..]);
                pos = end;
            }
        }
    }
    if pos != end {
        return Err(bad());
    }
    if rdata.len() > usize::from(u16::MAX) {
        return Err(MessageError::Malformed("RDATA too long once decompressed"));
    }
    Ok(rdata.into_boxed_slice())
}

/// Reads the possibly compressed name at `start`, appending it
/// uncompressed (case kept) to `out`; returns the offset just after the
/// name where it starts. Every pointer must go back before the labels
/// read so far, which rules out loops.
fn read_name(message: &[u8], start: usize, out: &mut Vec<u8>) -> Result<usize, MessageError> {
    let base = out.len();
    let mut pos = start;
    let mut lowest = start;
    let mut end = None;
    loop {
        let len = *message
            .get(pos)
            .ok_or(MessageError::Malformed("name cut short"))?;
        match len & 0xC0 {
            0x00 => {
                let label_end = pos + 1 + usize::from(len);
                if out.len() - base + 1 + usize::from(len) > MAX_NAME_LEN {
                    return Err(MessageError::Malformed("name longer than 255 octets"));
                }
                let label = message
                    .get(pos..label_end)
                    .ok_or(MessageError::Malformed("name cut short"))?;
                out.extend_from_slice(label);
                if len == 0 {
                    return Ok(end.unwrap_or(label_end));
                }
                pos = label_end;
            }
            0xC0 => {
                let low = *message
                    .get(pos + 1)
                    .ok_or(MessageError::Malformed("name cut short"))?;
                let target = usize::from(u16::from_be_bytes([len, low]) & 0x3FFF);
                if target >= lowest {
                    return Err(MessageError::Malformed(
                        "compression pointer does not point back",
                    ));
                }
                end.get_or_insert(pos + 2);
                lowest = target;
                pos = target;
            }
            // Extended (0x40) and binary (0x80) labels are obsolete.
            _ => return Err(MessageError::Malformed("unknown label type")),
        }
    }
}

/// Header flags of every transfer message: QR, AA, OPCODE QUERY, RCODE 0.
const REPLY_FLAGS: Flags = Flags(Flags::QR.0 | Flags::AA.0);

/// Builds a transfer's reply messages one at a time.
///
/// One buffer per message is the only allocation: records are written
/// straight into it, and one that does not fit is cut off again and
/// rewritten into the next message (its compression pointers referred to
/// the old one).
pub struct MessageWriter {
    id: u16,
    /// The question section (name, type, class IN); emptied once the first
    /// message is out, since later messages carry none.
    question: Vec<u8>,
    /// Octets a message may fill before the reserve.
    room: usize,
    /// Octets a message holding a single oversized record may fill.
    hard_room: usize,
    /// Capacity of a fresh buffer: a message plus its TSIG RR.
    capacity: usize,
    compressor: Compressor,
    message: Vec<u8>,
    count: u16,
    oversized: usize,
}

impl MessageWriter {
    /// Replies to request `id` with `question` in the first message;
    /// `limit` is the largest message (≤ 65535) including `reserve`
    /// octets kept free for a TSIG RR.
    pub fn new(id: u16, question: (&Name, RType), limit: usize, reserve: usize) -> MessageWriter {
        let limit = limit.min(MAX_MESSAGE_LEN);
        let mut question_bytes = Vec::with_capacity(question.0.wire_len() + 4);
        question_bytes.extend_from_slice(question.0.as_wire());
        question_bytes.extend_from_slice(&question.1.0.to_be_bytes());
        question_bytes.extend_from_slice(&1u16.to_be_bytes());
        let mut writer = MessageWriter {
            id,
            question: question_bytes,
            room: limit.saturating_sub(reserve),
            hard_room: MAX_MESSAGE_LEN.saturating_sub(reserve),
            capacity: limit,
            compressor: Compressor::default(),
            message: Vec::with_capacity(limit),
            count: 0,
            oversized: 0,
        };
        writer.start_message();
        writer
    }

    /// Adds a record; returns a finished message when this one did not fit
    /// in the current message (which then starts with it).
    pub fn push(&mut self, record: &Record) -> Option<Vec<u8>> {
        self.push_rr(
            record.owner.as_wire(),
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        )
    }

    /// [`MessageWriter::push`] from the parts of a record (`owner` in
    /// uncompressed wire form, `rdata` uncompressed), for callers that
    /// stream a zone without building [`Record`]s.
    pub fn push_rr(
        &mut self,
        owner: &[u8],
        rtype: RType,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> Option<Vec<u8>> {
        if self.try_write(owner, rtype, class, ttl, rdata) {
            return None;
        }
        let done = self.take_message();
        // An empty message takes any record it can hold at all.
        let written = self.try_write(owner, rtype, class, ttl, rdata);
        debug_assert!(written, "an empty message refuses nothing");
        Some(done)
    }

    /// The last message, if it holds any record.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        (self.count > 0).then(|| self.take_message())
    }

    /// Records left out because even a message of their own, 65535
    /// octets less the reserve, could not hold them. Zone building caps
    /// RRsets well below that, so this stays 0 for served zones; a caller
    /// that sees anything else must not present the transfer as complete.
    pub fn oversized(&self) -> usize {
        self.oversized
    }

    /// Writes the record into the current message. False (and nothing
    /// written) when it does not fit there but would in an empty message;
    /// a record no message can hold is counted in `oversized` and dropped.
    fn try_write(
        &mut self,
        owner: &[u8],
        rtype: RType,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> bool {
        let mark = self.message.len();
        let comp_mark = self.compressor.mark();
        let out = &mut self.message;
        self.compressor.write_name(out, owner);
        out.extend_from_slice(&rtype.0.to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        write_rdata(&mut self.compressor, out, rtype, rdata);
        let rdlen = out.len() - len_at - 2;
        let fits = out.len() <= self.room;
        // A record alone in its message may go up to the protocol's limit.
        let fits_alone = self.count == 0 && out.len() <= self.hard_room;
        if rdlen <= usize::from(u16::MAX) && (fits || fits_alone) {
            out[len_at..len_at + 2].copy_from_slice(&(rdlen as u16).to_be_bytes());
            self.count += 1;
            return true;
        }
        out.truncate(mark);
        self.compressor.truncate(comp_mark);
        if self.count == 0 {
            self.oversized += 1;
            return true;
        }
        false
    }

    /// The current message, counts set, and a fresh one started.
    fn take_message(&mut self) -> Vec<u8> {
        let mut done = std::mem::replace(&mut self.message, Vec::with_capacity(self.capacity));
        done[6..8].copy_from_slice(&self.count.to_be_bytes());
        self.question.clear();
        self.start_message();
        done
    }

    fn start_message(&mut self) {
        self.message.clear();
        self.compressor.clear();
        self.count = 0;
        let qdcount = u16::from(!self.question.is_empty());
        self.message.extend_from_slice(&self.id.to_be_bytes());
        self.message.extend_from_slice(&REPLY_FLAGS.0.to_be_bytes());
        self.message.extend_from_slice(&qdcount.to_be_bytes());
        self.message.extend_from_slice(&[0; 6]);
        // The question is not offered to the compressor: the zone's names
        // keep their own spelling whatever case the client asked in.
        self.message.extend_from_slice(&self.question);
    }
}

#[cfg(test)]
mod tests;
