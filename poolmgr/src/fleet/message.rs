//! DNS messages for the fleet probes (RFC 1035 §4): *builds* a query with
//! one question, and *parses* the parts of a reply a probe judges: the
//! header flags, the RCODE and the answer records, with SOA serials and A
//! addresses decoded (names may be compressed anywhere in a reply).
//!
//! No I/O here (see [`super::probe`]); names are `dnstypes::Name`, so they
//! compare case-insensitively as DNS names do.

use std::net::Ipv4Addr;

use dnstypes::{Name, RType};

/// Header flag bits (RFC 1035 §4.1.1), in the second 16-bit word.
const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
/// Most compression pointers followed while reading one name; more means a
/// loop (a name has at most 127 labels).
const MAX_POINTERS: usize = 128;
const CLASS_IN: u16 = 1;

/// Builds a standard query for (`name`, `qtype`, IN) with id `id`; RD is
/// clear, since the probe asks a name server about its own data.
pub fn build_query(id: u16, name: &Name, qtype: RType) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + name.wire_len() + 4);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // QUERY, no flags
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // AN, NS, AR counts
    out.extend_from_slice(name.as_wire());
    out.extend_from_slice(&qtype.0.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// A reply, as far as a probe reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The message id.
    pub id: u16,
    /// Authoritative Answer.
    pub authoritative: bool,
    /// Truncated: ask again over TCP.
    pub truncated: bool,
    /// The 4-bit RCODE of the header (no EDNS is sent, so no extension).
    pub rcode: u8,
    /// The question, when the reply carries one.
    pub question: Option<(Name, RType)>,
    /// The answer section, in order.
    pub answers: Vec<Record>,
}

/// An answer record, with the data a probe needs decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub owner: Name,
    /// The decoded data.
    pub data: RecordData,
}

/// Record data a probe reads; everything else is only counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// An SOA: its serial.
    Soa {
        /// SERIAL.
        serial: u32,
    },
    /// An A record.
    A(Ipv4Addr),
    /// Any other type (or class).
    Other(RType),
}

/// Why bytes are not a DNS reply we can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message ends early.
    #[error("message truncated")]
    Truncated,
    /// QR is clear: a query, not a reply.
    #[error("not a reply (QR clear)")]
    NotAReply,
    /// A name is malformed (bad label type, pointer loop, too long).
    #[error("malformed name")]
    BadName,
    /// An RDATA does not match its type's layout.
    #[error("malformed {0} record")]
    BadRdata(RType),
}

/// RCODE values the probes name (RFC 1035 §4.1.1, RFC 2136 §2.2).
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused.
    pub const REFUSED: u8 = 5;
    /// Not authoritative for the zone.
    pub const NOTAUTH: u8 = 9;

    /// The mnemonic, or `RCODEn`.
    pub fn name(rcode: u8) -> String {
        match rcode {
            NOERROR => "NOERROR".into(),
            FORMERR => "FORMERR".into(),
            SERVFAIL => "SERVFAIL".into(),
            NXDOMAIN => "NXDOMAIN".into(),
            NOTIMP => "NOTIMP".into(),
            REFUSED => "REFUSED".into(),
            NOTAUTH => "NOTAUTH".into(),
            other => format!("RCODE{other}"),
        }
    }
}

/// Parses a reply: header, question, answer section. The authority and
/// additional sections are not read.
pub fn parse_reply(msg: &[u8]) -> Result<Reply, ParseError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    if flags & FLAG_QR == 0 {
        return Err(ParseError::NotAReply);
    }
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    r.u16()?; // NSCOUNT
    r.u16()?; // ARCOUNT
    let mut question = None;
    for i in 0..qdcount {
        let name = r.name()?;
        let qtype = RType(r.u16()?);
        r.u16()?; // QCLASS
        if i == 0 {
            question = Some((name, qtype));
        }
    }
    let mut answers = Vec::with_capacity(usize::from(ancount).min(64));
    for _ in 0..ancount {
        let owner = r.name()?;
        let rtype = RType(r.u16()?);
        let class = r.u16()?;
        r.u32()?; // TTL
        let len = usize::from(r.u16()?);
        let end = r.pos.checked_add(len).ok_or(ParseError::Truncated)?;
        if end > msg.len() {
            return Err(ParseError::Truncated);
        }
        let data = match (rtype, class) {
            (RType::SOA, CLASS_IN) => {
                let mut rd = Reader { msg, pos: r.pos };
                rd.name()?; // MNAME
                rd.name()?; // RNAME
                let serial = rd.u32()?;
                // REFRESH, RETRY, EXPIRE, MINIMUM must end the RDATA.
                if rd.pos + 16 != end {
                    return Err(ParseError::BadRdata(rtype));
                }
                RecordData::Soa { serial }
            }
            (RType::A, CLASS_IN) => {
                let bytes: [u8; 4] = msg[r.pos..end]
                    .try_into()
                    .map_err(|_| ParseError::BadRdata(rtype))?;
                RecordData::A(Ipv4Addr::from(bytes))
            }
            _ => RecordData::Other(rtype),
        };
        r.pos = end;
        answers.push(Record { owner, data });
    }
    Ok(Reply {
        id,
        authoritative: flags & FLAG_AA != 0,
        truncated: flags & FLAG_TC != 0,
        rcode: (flags & 0x000f) as u8,
        question,
        answers,
    })
}

/// A cursor over a message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let end = self.pos + N;
        let out = self
            .msg
            .get(self.pos..end)
            .ok_or(ParseError::Truncated)?
            .try_into()
            .map_err(|_| ParseError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        self.bytes::<2>().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        self.bytes::<4>().map(u32::from_be_bytes)
    }

    /// A possibly compressed name (RFC 1035 §4.1.4); the cursor ends after
    /// the name's bytes at its first position (not after a pointer target).
    fn name(&mut self) -> Result<Name, ParseError> {
        let mut labels: Vec<&[u8]> = Vec::new();
        let mut at = self.pos;
        let mut resume = None;
        let mut pointers = 0;
        loop {
            let len = *self.msg.get(at).ok_or(ParseError::Truncated)?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    at += 1;
                    break;
                }
                0x00 => {
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or(ParseError::Truncated)?;
                    labels.push(label);
                    at += 1 + usize::from(len);
                }
                0xc0 => {
                    let low = *self.msg.get(at + 1).ok_or(ParseError::Truncated)?;
                    pointers += 1;
                    if pointers > MAX_POINTERS {
                        return Err(ParseError::BadName);
                    }
                    resume.get_or_insert(at + 2);
                    at = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                }
                _ => return Err(ParseError::BadName),
            }
        }
        self.pos = resume.unwrap_or(at);
        Name::from_labels(labels).map_err(|_| ParseError::BadName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        text.parse().unwrap()
    }

    /// A reply to `query` with the given flags and raw answer records.
    fn reply(query: &[u8], flags: u16, answers: &[&[u8]]) -> Vec<u8> {
        let mut msg = query.to_vec();
        msg[2..4].copy_from_slice(&(flags | FLAG_QR).to_be_bytes());
        msg[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for a in answers {
            msg.extend_from_slice(a);
        }
        msg
    }

    /// An answer record whose owner is a pointer to the question name (at
    /// offset 12).
    fn rr(rtype: RType, rdata: &[u8]) -> Vec<u8> {
        let mut out = vec![0xc0, 12];
        out.extend_from_slice(&rtype.0.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
        out
    }

    #[test]
    fn queries_carry_one_question() {
        let q = build_query(0x1234, &name("Pool.Test."), RType::SOA);
        assert_eq!(&q[..2], &[0x12, 0x34]);
        assert_eq!(&q[4..6], &[0, 1]);
        assert_eq!(&q[12..], b"\x04Pool\x04Test\x00\x00\x06\x00\x01");
    }

    #[test]
    fn soa_serial_through_compressed_names() {
        let q = build_query(7, &name("pool.test."), RType::SOA);
        // MNAME ns1.<ptr to question>, RNAME a pointer, then the five numbers.
        let mut soa = b"\x03ns1\xc0\x0c\xc0\x0c".to_vec();
        for v in [20260101_u32, 3600, 600, 86400, 300] {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        let msg = reply(&q, FLAG_AA, &[&rr(RType::SOA, &soa)]);
        let r = parse_reply(&msg).unwrap();
        assert_eq!(r.id, 7);
        assert!(r.authoritative && !r.truncated);
        assert_eq!(r.rcode, rcode::NOERROR);
        assert_eq!(r.question, Some((name("POOL.test."), RType::SOA)));
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].owner, name("pool.test."));
        assert_eq!(r.answers[0].data, RecordData::Soa { serial: 20260101 });
    }

    #[test]
    fn a_records_and_others() {
        let q = build_query(9, &name("a.pool.test."), RType::A);
        let msg = reply(
            &q,
            FLAG_AA,
            &[&rr(RType::A, &[192, 0, 2, 7]), &rr(RType::TXT, b"\x02hi")],
        );
        let r = parse_reply(&msg).unwrap();
        assert_eq!(
            r.answers[0].data,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 7))
        );
        assert_eq!(r.answers[1].data, RecordData::Other(RType::TXT));
    }

    #[test]
    fn flags_and_rcode() {
        let q = build_query(1, &name("x.test."), RType::SOA);
        let r = parse_reply(&reply(&q, FLAG_TC | u16::from(rcode::REFUSED), &[])).unwrap();
        assert!(r.truncated && !r.authoritative);
        assert_eq!(r.rcode, rcode::REFUSED);
        assert_eq!(rcode::name(r.rcode), "REFUSED");
        assert_eq!(parse_reply(&q), Err(ParseError::NotAReply));
    }

    #[test]
    fn bad_replies_are_errors_not_panics() {
        let q = build_query(1, &name("x.test."), RType::A);
        let good = reply(&q, 0, &[&rr(RType::A, &[1, 2, 3, 4])]);
        for cut in 0..good.len() {
            assert!(parse_reply(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A pointer to itself.
        let mut looped = reply(&q, 0, &[&rr(RType::A, &[1, 2, 3, 4])]);
        let at = q.len();
        looped[at..at + 2].copy_from_slice(&[0xc0 | (at >> 8) as u8, at as u8]);
        assert_eq!(parse_reply(&looped), Err(ParseError::BadName));
        // An A record of five bytes.
        let wrong = reply(&q, 0, &[&rr(RType::A, &[1, 2, 3, 4, 5])]);
        assert_eq!(parse_reply(&wrong), Err(ParseError::BadRdata(RType::A)));
    }
}
