//! The header, question and record sections of a query.

use super::edns::{Edns, EdnsError, parse_opt};
use crate::wire::name::MAX_NAME_LEN;
use crate::wire::{Class, Flags, Opcode, RType};

/// A query that parsed completely.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The whole packet.
    pub packet: &'a [u8],
    /// Message ID.
    pub id: u16,
    /// The flags word as received.
    pub flags: Flags,
    /// OPCODE.
    pub opcode: Opcode,
    /// The question's name and fixed fields, `None` for a header-only message.
    pub question: Option<Question>,
    /// End of the question section in `packet` (12 when there is none).
    pub question_end: usize,
    /// The OPT record, if the query had one.
    pub edns: Option<Edns>,
    /// The message ends with a TSIG record (RFC 8945): it must be verified
    /// before anything else, and the reply signed.
    pub signed: bool,
}

/// The question, with the name lowered for lookups. The original spelling
/// stays in the packet and is copied into the reply octet for octet.
#[derive(Clone)]
pub struct Question {
    /// QNAME lowercased, uncompressed wire form; `lower[..lower_len]` is valid.
    lower: [u8; MAX_NAME_LEN],
    lower_len: u8,
    /// QTYPE.
    pub qtype: RType,
    /// QCLASS.
    pub qclass: Class,
}

impl Question {
    /// QNAME as lowercase uncompressed wire bytes.
    #[inline]
    pub fn lower_name(&self) -> &[u8] {
        &self.lower[..self.lower_len as usize]
    }
}

impl std::fmt::Debug for Question {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = crate::wire::Name::from_wire(self.lower_name()).map_err(|_| std::fmt::Error)?;
        write!(f, "{name} {:?} class {}", self.qtype, self.qclass.0)
    }
}

/// What the parser made of a packet.
// The request variant is large because the lowered question name is inline:
// boxing it would allocate on every query.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed<'a> {
    /// Not answered at all: too short, or a response (QR=1).
    Drop,
    /// The header is usable but the body is malformed; reply FORMERR. The
    /// question is echoed when it parsed, and OPT included when one was read.
    FormErr {
        id: u16,
        flags: Flags,
        opcode: Opcode,
        question_end: Option<usize>,
        edns: Option<Edns>,
    },
    /// A well-formed message.
    Request(Request<'a>),
}

/// Parses a query. Never panics, whatever the bytes.
pub fn parse_request(packet: &[u8]) -> Parsed<'_> {
    if packet.len() < 12 {
        return Parsed::Drop;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let flags = Flags::from_header(packet);
    if flags.contains(Flags::QR) {
        return Parsed::Drop;
    }
    let op = flags.opcode();
    let qdcount = u16::from_be_bytes([packet[4], packet[5]]);
    let ancount = u16::from_be_bytes([packet[6], packet[7]]);
    let nscount = u16::from_be_bytes([packet[8], packet[9]]);
    let arcount = u16::from_be_bytes([packet[10], packet[11]]);
    let formerr = |question_end, edns| Parsed::FormErr {
        id,
        flags,
        opcode: op,
        question_end,
        edns,
    };

    // RFC 9619: a QUERY carries exactly one question. Other opcodes may have
    // none (RFC 8906 §8.1.4 sends header-only messages); more than one is
    // malformed for every opcode we know.
    if qdcount > 1 || (qdcount == 0 && op == Opcode::QUERY) {
        return formerr(None, None);
    }
    let mut pos = 12;
    let mut question = None;
    if qdcount == 1 {
        let mut lower = [0u8; MAX_NAME_LEN];
        let Some((name_len, after)) = read_name_lower(packet, pos, &mut lower) else {
            return formerr(None, None);
        };
        // Nothing precedes the question but the header, so a pointer here is
        // malformed; refusing it also lets the reply copy the question verbatim.
        if after != pos + name_len {
            return formerr(None, None);
        }
        let Some(fixed) = packet.get(after..after + 4) else {
            return formerr(None, None);
        };
        question = Some(Question {
            lower,
            lower_len: name_len as u8,
            qtype: RType(u16::from_be_bytes([fixed[0], fixed[1]])),
            qclass: Class(u16::from_be_bytes([fixed[2], fixed[3]])),
        });
        pos = after + 4;
    }
    let question_end = pos;

    let mut edns: Option<Edns> = None;
    let mut edns_error = false;
    let mut signed = false;
    let total = usize::from(ancount) + usize::from(nscount) + usize::from(arcount);
    for index in 0..total {
        let in_additional = index >= usize::from(ancount) + usize::from(nscount);
        let Some(owner_end) = skip_name(packet, pos) else {
            return formerr(Some(question_end), edns);
        };
        let Some(fixed) = packet.get(owner_end..owner_end + 10) else {
            return formerr(Some(question_end), edns);
        };
        let rtype = RType(u16::from_be_bytes([fixed[0], fixed[1]]));
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata_start = owner_end + 10;
        let Some(rdata) = packet.get(rdata_start..rdata_start + rdlen) else {
            return formerr(Some(question_end), edns);
        };
        if rtype == RType::OPT {
            // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
            let owner_is_root = owner_end == pos + 1 && packet[pos] == 0;
            if !in_additional || edns.is_some() || !owner_is_root {
                return formerr(Some(question_end), edns);
            }
            match parse_opt(fixed, rdata) {
                Ok(parsed) => edns = Some(parsed),
                Err(EdnsError::Malformed(parsed)) => {
                    edns = Some(parsed);
                    edns_error = true;
                }
            }
        } else if rtype == RType::TSIG {
            // RFC 8945 §5.1: the last record of the additional section.
            if !in_additional || index + 1 != total {
                return formerr(Some(question_end), edns);
            }
            signed = true;
        }
        pos = rdata_start + rdlen;
    }
    if pos != packet.len() || edns_error {
        return formerr(Some(question_end), edns);
    }
    Parsed::Request(Request {
        packet,
        id,
        flags,
        opcode: op,
        question,
        question_end,
        edns,
        signed,
    })
}

/// Reads a possibly compressed name at `start`, writing it lowercased and
/// uncompressed into `out`. Returns its length and the offset just after the
/// name in the packet. Pointers must point backwards, which also rules out loops.
fn read_name_lower(
    packet: &[u8],
    start: usize,
    out: &mut [u8; MAX_NAME_LEN],
) -> Option<(usize, usize)> {
    let mut pos = start;
    let mut len = 0;
    let mut end_in_packet = None;
    let mut lowest_jump = start;
    loop {
        let b = *packet.get(pos)?;
        match b & 0xC0 {
            0x00 => {
                let label_len = b as usize;
                if len + 1 + label_len > MAX_NAME_LEN {
                    return None;
                }
                out[len] = b;
                if label_len == 0 {
                    len += 1;
                    let end = end_in_packet.unwrap_or(pos + 1);
                    return Some((len, end));
                }
                let label = packet.get(pos + 1..pos + 1 + label_len)?;
                for (dst, src) in out[len + 1..len + 1 + label_len].iter_mut().zip(label) {
                    *dst = src.to_ascii_lowercase();
                }
                len += 1 + label_len;
                pos += 1 + label_len;
            }
            0xC0 => {
                let target = usize::from(u16::from_be_bytes([b, *packet.get(pos + 1)?]) & 0x3FFF);
                if target >= lowest_jump {
                    return None;
                }
                end_in_packet.get_or_insert(pos + 2);
                lowest_jump = target;
                pos = target;
            }
            // 0x40 and 0x80: extended and binary labels are obsolete (RFC 6891 §5).
            _ => return None,
        }
    }
}

impl Request<'_> {
    /// The serial of the SOA in an IXFR request's authority section (RFC
    /// 1995 §3): the version the client holds. `None` when there is no SOA
    /// there (FORMERR, conformance §13.2.5).
    pub fn ixfr_serial(&self) -> Option<u32> {
        let packet = self.packet;
        let ancount = usize::from(u16::from_be_bytes([packet[6], packet[7]]));
        let nscount = usize::from(u16::from_be_bytes([packet[8], packet[9]]));
        let mut pos = self.question_end;
        for index in 0..ancount + nscount {
            let owner_end = skip_name(packet, pos)?;
            let fixed = packet.get(owner_end..owner_end + 10)?;
            let rtype = RType(u16::from_be_bytes([fixed[0], fixed[1]]));
            let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata = packet.get(owner_end + 10..owner_end + 10 + rdlen)?;
            if index >= ancount && rtype == RType::SOA {
                // Two names (perhaps compressed), then serial and four timers.
                let tail = rdata.len().checked_sub(20)?;
                return Some(u32::from_be_bytes(rdata[tail..tail + 4].try_into().ok()?));
            }
            pos = owner_end + 10 + rdlen;
        }
        None
    }
}

/// Validates the name at `start` and returns the offset after it.
fn skip_name(packet: &[u8], start: usize) -> Option<usize> {
    let mut scratch = [0u8; MAX_NAME_LEN];
    read_name_lower(packet, start, &mut scratch).map(|(_, end)| end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &[u8], qtype: u16, extra: &[u8], arcount: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&arcount.to_be_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(extra);
        p
    }

    #[test]
    fn plain_query_lowercases_the_name() {
        let p = query(b"\x03WwW\x04TEST\x00", 1, &[], 0);
        let Parsed::Request(req) = parse_request(&p) else {
            panic!()
        };
        let q = req.question.unwrap();
        assert_eq!(q.lower_name(), b"\x03www\x04test\x00");
        assert_eq!(q.qtype, RType::A);
        assert_eq!(req.question_end, p.len());
        assert!(req.edns.is_none());
    }

    #[test]
    fn drops_short_and_responses() {
        assert!(matches!(parse_request(&[0; 11]), Parsed::Drop));
        let mut p = query(b"\x00", 1, &[], 0);
        p[2] |= 0x80;
        assert!(matches!(parse_request(&p), Parsed::Drop));
    }

    #[test]
    fn formerr_cases() {
        // Trailing garbage.
        let p = query(b"\x00", 1, &[0xff], 0);
        assert!(matches!(
            parse_request(&p),
            Parsed::FormErr {
                question_end: Some(_),
                ..
            }
        ));
        // Truncated question.
        let p = &query(b"\x03www\x00", 1, &[], 0)[..16];
        assert!(matches!(
            parse_request(p),
            Parsed::FormErr {
                question_end: None,
                ..
            }
        ));
        // Self-pointer loop in the question.
        let p = query(b"\xc0\x0c", 1, &[], 0);
        assert!(matches!(parse_request(&p), Parsed::FormErr { .. }));
        // Two OPT records.
        let opt = [0u8, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];
        let p = query(b"\x00", 1, &[opt, opt].concat(), 2);
        assert!(matches!(parse_request(&p), Parsed::FormErr { .. }));
        // QDCOUNT 0 on a QUERY.
        let p = [0u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(parse_request(&p), Parsed::FormErr { .. }));
    }

    #[test]
    fn backward_pointer_in_additional_is_fine() {
        // OPT owner must be root, but another record may point at the question.
        let rr = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];
        let p = query(b"\x01a\x00", 1, &rr, 1);
        assert!(matches!(parse_request(&p), Parsed::Request(_)));
    }
}
