//! [`Outcome`] -> reply bytes in the caller's buffer: header, question
//! (copied octet for octet from the query), sections with compression, the
//! OPT record, and truncation when the reply exceeds the client's limit.
//!
//! Truncation follows RFC 2181 §9 and RFC 9471: a required RRset that does
//! not fit empties the reply and sets TC=1 (header, question and OPT kept);
//! optional additional data that does not fit is left out without TC.

mod compress;

pub use compress::Compressor;

use std::sync::Arc;

use crate::dnssec::ReplySignatures;
use crate::outcome::{Data, Entry, HINFO_8482, Outcome, Owner, Section};
use crate::parse::ClientSubnet;
use crate::wire::{EdnsFlags, Flags, Opcode, RType, Rcode};

/// Everything about the reply that does not come from the lookup.
pub struct ReplyHead<'q> {
    pub id: u16,
    /// The query's flags word (for OPCODE, RD and CD).
    pub query_flags: Flags,
    /// The question section as received, empty if there was none.
    pub question: &'q [u8],
    /// The OPT record to include, if the query had one.
    pub edns: Option<ReplyEdns<'q>>,
    /// Largest reply allowed, in octets.
    pub limit: usize,
    /// TCP: a reply that cannot fit is SERVFAIL, never TC (RFC 7766, conformance §10.5).
    pub over_tcp: bool,
}

/// The reply's OPT record.
pub struct ReplyEdns<'q> {
    /// Our UDP payload size.
    pub payload: u16,
    /// Echo DO (RFC 3225).
    pub dnssec_ok: bool,
    /// NSID to return (RFC 5001), when asked for and configured.
    pub nsid: Option<&'q [u8]>,
    /// The query's ECS option, echoed with the outcome's scope (RFC 7871
    /// §7.2.1), when ECS processing is on.
    pub client_subnet: Option<ClientSubnet>,
    /// The COOKIE option (RFC 7873): the client cookie and our server cookie.
    pub cookie: Option<[u8; 24]>,
}

impl ReplyEdns<'_> {
    fn wire_len(&self) -> usize {
        11 + self.nsid.map_or(0, |id| 4 + id.len())
            + self.cookie.map_or(0, |c| 4 + c.len())
            + self
                .client_subnet
                .map_or(0, |ecs| 8 + ecs_address_len(ecs.source_prefix))
    }
}

/// Octets of ADDRESS for a source prefix: ceil(prefix / 8) (RFC 7871 §6).
fn ecs_address_len(source_prefix: u8) -> usize {
    usize::from(source_prefix).div_ceil(8)
}

/// Per-worker scratch reused across replies.
#[derive(Default)]
pub struct Assembler {
    compressor: Compressor,
}

/// Picks one section's counter.
type CountOf = fn(&mut Counts) -> &mut u16;

/// Counts of records written per section.
#[derive(Default)]
struct Counts {
    answer: u16,
    authority: u16,
    additional: u16,
}

impl Assembler {
    /// Writes the reply for `outcome` into `out` (cleared first), each
    /// RRset followed by its RRSIGs from `signatures`. Returns true when the
    /// reply is the whole outcome: nothing truncated or left out for size.
    pub fn write(
        &mut self,
        head: &ReplyHead<'_>,
        outcome: &Outcome<'_>,
        signatures: &ReplySignatures,
        qname: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        out.clear();
        let comp = &mut self.compressor;
        comp.clear();
        write_header(out, head, outcome.aa, outcome.truncated);
        // The question is not offered to the compressor: a zone name that
        // pointed into it would match only the client's exact spelling, so
        // the reply would depend on the query's case and could not be kept
        // as a template. Records owned by the query name point at it directly.
        out.extend_from_slice(head.question);
        let body_start = out.len();
        let reserve = head.edns.as_ref().map_or(0, ReplyEdns::wire_len);
        let room = head.limit.saturating_sub(reserve);

        let mut counts = Counts::default();
        let mut overflow = outcome.truncated;
        let sections: [(Section, &[Entry<'_>], CountOf); 3] = [
            (Section::Answer, &outcome.answer, |c| &mut c.answer),
            (Section::Authority, &outcome.authority, |c| &mut c.authority),
            (Section::Additional, &outcome.additional, |c| {
                &mut c.additional
            }),
        ];
        let mut writer = EntryWriter {
            comp,
            outcome,
            qname,
            no_question: head.question.is_empty(),
        };
        let mut left_out = false;
        'sections: for (section, entries, counter) in sections {
            for (index, entry) in entries.iter().enumerate() {
                if overflow {
                    break 'sections;
                }
                let mark = out.len();
                let comp_mark = writer.comp.mark();
                let written = writer.write(out, entry, signatures.of(section, index));
                if out.len() > room {
                    out.truncate(mark);
                    writer.comp.truncate(comp_mark);
                    left_out = true;
                    if entry.required {
                        overflow = true;
                    }
                    continue;
                }
                *counter(&mut counts) += written;
            }
        }

        let mut rcode = outcome.rcode;
        if overflow {
            out.truncate(body_start);
            counts = Counts::default();
            if head.over_tcp {
                rcode = Rcode::SERVFAIL;
            } else {
                out[2] |= Flags::TC.high_octet();
            }
        }
        if let Some(edns) = &head.edns {
            write_opt(out, edns, rcode, outcome.set_co, outcome.ecs_scope);
            counts.additional += 1;
        }
        out[3] = (out[3] & 0xF0) | rcode.header_bits();
        out[6..8].copy_from_slice(&counts.answer.to_be_bytes());
        out[8..10].copy_from_slice(&counts.authority.to_be_bytes());
        out[10..12].copy_from_slice(&counts.additional.to_be_bytes());
        !(overflow || left_out)
    }
}

/// Header with QR=1, OPCODE, RD and CD copied, RA=Z=AD=0 (conformance §1.1).
/// RD and CD are defined for QUERY only: a reply to any other opcode carries
/// QR and the OPCODE alone (conformance §2.2, genreport `opcodeflg`).
fn write_header(out: &mut Vec<u8>, head: &ReplyHead<'_>, aa: bool, tc: bool) {
    let copied = if head.query_flags.opcode() == Opcode::QUERY {
        Flags::OPCODE | Flags::RD | Flags::CD
    } else {
        Flags::OPCODE
    };
    let mut word = Flags::QR | (head.query_flags & copied);
    if aa {
        word |= Flags::AA;
    }
    if tc {
        word |= Flags::TC;
    }
    let qdcount: u16 = if head.question.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&head.id.to_be_bytes());
    out.extend_from_slice(&word.0.to_be_bytes());
    out.extend_from_slice(&qdcount.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
}

/// The OPT record: version 0, our payload, DO echoed (and CO when compact
/// denial says so, RFC 9824), other flags clear, the upper eight bits of
/// the RCODE in the TTL field (RFC 6891 §6.1.3).
fn write_opt(out: &mut Vec<u8>, edns: &ReplyEdns<'_>, rcode: Rcode, set_co: bool, scope: u8) {
    out.push(0);
    out.extend_from_slice(&RType::OPT.0.to_be_bytes());
    out.extend_from_slice(&edns.payload.to_be_bytes());
    out.push(rcode.extended_bits());
    out.push(0);
    let mut flag_word = EdnsFlags::default();
    if edns.dnssec_ok {
        flag_word |= EdnsFlags::DO;
    }
    if set_co {
        flag_word |= EdnsFlags::CO;
    }
    out.extend_from_slice(&flag_word.0.to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    if let Some(id) = edns.nsid {
        out.extend_from_slice(&3u16.to_be_bytes());
        out.extend_from_slice(&(id.len() as u16).to_be_bytes());
        out.extend_from_slice(id);
    }
    if let Some(ecs) = edns.client_subnet {
        write_client_subnet(out, ecs, scope);
    }
    if let Some(cookie) = &edns.cookie {
        out.extend_from_slice(&10u16.to_be_bytes());
        out.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
        out.extend_from_slice(cookie);
    }
    let rdlen = (out.len() - len_at - 2) as u16;
    out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
}

/// The ECS option of a reply: FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as
/// in the query, SCOPE PREFIX-LENGTH what the answer depends on (RFC 7871
/// §7.2.1; lua-records.md §5). Never wider than the source.
fn write_client_subnet(out: &mut Vec<u8>, ecs: ClientSubnet, scope: u8) {
    let octets = ecs_address_len(ecs.source_prefix);
    let (family, address): (u16, [u8; 16]) = match ecs.address {
        std::net::IpAddr::V4(a) => {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&a.octets());
            (1, bytes)
        }
        std::net::IpAddr::V6(a) => (2, a.octets()),
    };
    out.extend_from_slice(&8u16.to_be_bytes());
    out.extend_from_slice(&((4 + octets) as u16).to_be_bytes());
    out.extend_from_slice(&family.to_be_bytes());
    out.push(ecs.source_prefix);
    out.push(scope.min(ecs.source_prefix));
    out.extend_from_slice(&address[..octets]);
}

/// Writes entries (records, then their RRSIGs when signed) for one reply.
struct EntryWriter<'a, 'o> {
    comp: &'a mut Compressor,
    outcome: &'a Outcome<'o>,
    qname: &'a [u8],
    no_question: bool,
}

impl EntryWriter<'_, '_> {
    /// Writes every record of an entry and its signatures; returns how many.
    fn write(&mut self, out: &mut Vec<u8>, entry: &Entry<'_>, rrsigs: &[Arc<[u8]>]) -> u16 {
        let rtype = entry.data.rtype();
        let ttl = entry.wire_ttl();
        let outcome = self.outcome;
        let written = match entry.data {
            Data::Set(set) => {
                for rdata in &set.rdatas {
                    self.record(out, entry.owner, rtype, ttl, RdataRef::Stored(rdata));
                }
                set.rdatas.len() as u16
            }
            Data::SynthCname(i) => {
                let name = outcome.synth[i as usize].as_wire();
                self.record(out, entry.owner, rtype, ttl, RdataRef::Name(name));
                1
            }
            Data::Hinfo8482 => {
                self.record(out, entry.owner, rtype, ttl, RdataRef::Stored(HINFO_8482));
                1
            }
            Data::Single(_, rdata) => {
                self.record(out, entry.owner, rtype, ttl, RdataRef::Stored(rdata));
                1
            }
            Data::Nsec(i) => {
                let rdata = &outcome.nsecs[i as usize][..];
                self.record(out, entry.owner, rtype, ttl, RdataRef::Raw(rdata));
                1
            }
            Data::Dynamic(_, i) => {
                let set = &outcome.dynamic[i as usize];
                for rdata in &set.rdatas {
                    self.record(out, entry.owner, rtype, ttl, RdataRef::Stored(rdata));
                }
                set.rdatas.len() as u16
            }
        };
        // RRSIG owner and TTL are the RRset's (spec §2.3).
        for rrsig in rrsigs {
            self.record(out, entry.owner, RType::RRSIG, ttl, RdataRef::Raw(rrsig));
        }
        written + rrsigs.len() as u16
    }

    /// Appends one record.
    fn record(
        &mut self,
        out: &mut Vec<u8>,
        owner: Owner<'_>,
        rtype: RType,
        ttl: u32,
        rdata: RdataRef<'_>,
    ) {
        match owner {
            Owner::Qname if !self.no_question => out.extend_from_slice(&[0xC0, 12]),
            owner => self
                .comp
                .write_name(out, self.outcome.owner_wire(owner, self.qname)),
        }
        out.extend_from_slice(&rtype.0.to_be_bytes());
        out.extend_from_slice(&self.outcome.class.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        match rdata {
            RdataRef::Stored(bytes) => write_rdata(self.comp, out, rtype, bytes),
            RdataRef::Name(name) => self.comp.write_name(out, name),
            RdataRef::Raw(bytes) => out.extend_from_slice(bytes),
        }
        let rdlen = (out.len() - len_at - 2) as u16;
        out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
}

enum RdataRef<'a> {
    /// Zone data: embedded names of the classic types are compressed.
    Stored(&'a [u8]),
    /// A name, compressed.
    Name(&'a [u8]),
    /// Bytes written as they are (RRSIG, NSEC: never compressed).
    Raw(&'a [u8]),
}

/// Writes stored RDATA, compressing the embedded names of the types RFC 1035
/// defines (RFC 3597 §4 forbids it for any other type).
pub(crate) fn write_rdata(comp: &mut Compressor, out: &mut Vec<u8>, rtype: RType, rdata: &[u8]) {
    match rtype {
        RType::NS | RType::CNAME | RType::PTR => comp.write_name(out, rdata),
        RType::MX if rdata.len() > 2 => {
            out.extend_from_slice(&rdata[..2]);
            comp.write_name(out, &rdata[2..]);
        }
        RType::SOA => {
            let mname_len = crate::wire::name::wire_name_len(rdata).unwrap_or(rdata.len());
            let rname_len = crate::wire::name::wire_name_len(&rdata[mname_len..]).unwrap_or(0);
            comp.write_name(out, &rdata[..mname_len]);
            comp.write_name(out, &rdata[mname_len..mname_len + rname_len]);
            out.extend_from_slice(&rdata[mname_len + rname_len..]);
        }
        _ => out.extend_from_slice(rdata),
    }
}
