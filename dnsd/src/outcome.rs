//! What the stages of the answer pipeline pass along: the RCODE, AA and
//! the three sections as references into zone data, in fixed-capacity
//! arrays so building one never allocates. Lookup fills it, the dynamic
//! stage adds LUA-produced records, the denial stage adds the proof lookup
//! left owed ([`Proof`]), and the signing and assembly stages read it.
//! Records produced by LUA records are the one exception to "never
//! allocates": the outcome owns them (`Outcome::dynamic`), allocated only
//! when a LUA record answers.

use std::sync::Arc;

use arrayvec::ArrayVec;

use crate::dnssec::store::ZoneKeys;
use crate::wire::name::MAX_NAME_LEN;
use crate::wire::{Class, RType, Rcode};
use crate::zone::{RRset, RdataIter, Zone};

/// Which section an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

/// Whose name a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'z> {
    /// The query name, spelled as the client sent it (written as a pointer
    /// to the question, which keeps the client's case; conformance §12.2).
    Qname,
    /// A name from zone data (a node's name or a CNAME target), wire form.
    Wire(&'z [u8]),
    /// A name made during this lookup (DNAME substitution), by index.
    Synth(u8),
}

/// The records of an entry.
#[derive(Debug, Clone, Copy)]
pub enum Data<'z> {
    /// An RRset from the zone.
    Set(&'z RRset),
    /// A CNAME synthesised from a DNAME, pointing at `Outcome::synth[i]`.
    SynthCname(u8),
    /// RFC 8482 §4.2 `HINFO "RFC8482" ""`, the minimal ANY answer.
    Hinfo8482,
    /// One record from configuration (CHAOS TXT), RDATA in wire form.
    Single(RType, &'z [u8]),
    /// A compact-denial NSEC made for this answer, `Outcome::nsecs[i]`.
    Nsec(u8),
    /// Records produced by LUA records (merged with static ones of the
    /// type), `Outcome::dynamic[i]`.
    Dynamic(RType, u8),
}

impl Data<'_> {
    /// The type of the records.
    pub fn rtype(&self) -> RType {
        match self {
            Data::Set(set) => set.rtype,
            Data::SynthCname(_) => RType::CNAME,
            Data::Hinfo8482 => RType::HINFO,
            Data::Single(rtype, _) => *rtype,
            Data::Nsec(_) => RType::NSEC,
            Data::Dynamic(rtype, _) => *rtype,
        }
    }
}

/// One RRset placed in a section.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'z> {
    pub owner: Owner<'z>,
    pub data: Data<'z>,
    pub ttl: u32,
    /// Must fit in the reply, or the reply is truncated (TC=1). Additional
    /// data that is not required is dropped silently instead (RFC 2181 §9).
    pub required: bool,
    /// The keys that sign this RRset, when the query has DO=1 and the data
    /// is authoritative in a signed zone (never delegation NS or glue).
    pub signer: Option<&'z ZoneKeys>,
}

/// A name built during lookup, stored inline.
#[derive(Clone)]
pub struct SynthName {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl SynthName {
    /// `prefix` (whole labels) followed by `suffix` (a complete wire name);
    /// `None` when longer than 255 octets (RFC 6672 §2.2: YXDOMAIN).
    pub fn concat(prefix: &[u8], suffix: &[u8]) -> Option<SynthName> {
        let len = prefix.len() + suffix.len();
        if len > MAX_NAME_LEN {
            return None;
        }
        let mut bytes = [0u8; MAX_NAME_LEN];
        bytes[..prefix.len()].copy_from_slice(prefix);
        bytes[prefix.len()..len].copy_from_slice(suffix);
        Some(SynthName {
            bytes,
            len: len as u8,
        })
    }

    /// The wire form.
    pub fn as_wire(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// RDATA of a compact NSEC: next name (at most 255 octets) and a type bitmap.
pub type NsecRdata = ArrayVec<u8, 512>;

/// RFC 8482 §4.2 `HINFO "RFC8482" ""`, the minimal ANY answer's RDATA.
pub const HINFO_8482: &[u8] = b"\x07RFC8482\x00";

/// What a negative answer lacks, as lookup found it; the denial stage
/// turns it into a compact NSEC (RFC 9824).
#[derive(Clone, Debug)]
pub enum Missing<'z> {
    /// The name does not exist (also the target of an in-zone CNAME) in
    /// this zone, whose real names the denial stage may fall back to
    /// proving it with (`dnssec::ranges`).
    Name(&'z Arc<Zone>),
    /// The name exists without the type: these are the types it has,
    /// including those its LUA records produce.
    Types(ArrayVec<RType, 64>),
    /// The name is an empty non-terminal.
    EmptyNonTerminal,
    /// A zone cut without DS (a referral to an insecure child, or QTYPE=DS
    /// at the cut).
    Delegation,
}

/// A denial of existence owed by the answer: lookup records it, only when
/// the answer is signed, and the denial stage adds the NSEC.
#[derive(Clone, Debug)]
pub struct Proof<'z> {
    /// Who owns the NSEC (the name that lacks something).
    pub owner: Owner<'z>,
    pub missing: Missing<'z>,
    /// The zone's negative TTL.
    pub ttl: u32,
}

/// What to reply, before it becomes bytes.
pub struct Outcome<'z> {
    pub rcode: Rcode,
    pub aa: bool,
    /// The query asked for DNSSEC records (DO=1).
    pub dnssec_ok: bool,
    /// The query set CO (RFC 9824): NXDOMAIN stays NXDOMAIN, CO is echoed.
    pub compact_ok: bool,
    /// Echo CO in the reply's OPT.
    pub set_co: bool,
    /// Keys of the zone the current lookup step is in, when answers are signed.
    pub signer: Option<&'z ZoneKeys>,
    /// Reply with TC=1 and no records (ANY over UDP with `any-udp = tc`).
    pub truncated: bool,
    /// Class of the records (IN, or CH for CHAOS answers).
    pub class: Class,
    pub answer: ArrayVec<Entry<'z>, 48>,
    pub authority: ArrayVec<Entry<'z>, 4>,
    pub additional: ArrayVec<Entry<'z>, 32>,
    pub synth: ArrayVec<SynthName, 4>,
    pub nsecs: ArrayVec<NsecRdata, 2>,
    /// The denial of existence this answer still owes (see [`Proof`]).
    pub proof: Option<Proof<'z>>,
    /// RRsets produced by LUA records for this query; empty (and never
    /// allocated) for static answers.
    pub dynamic: Vec<RRset>,
    /// ECS SCOPE PREFIX-LENGTH for the reply (RFC 7871 §7.2.1): the source
    /// prefix when LUA records produced part of the answer, else 0.
    pub ecs_scope: u8,
    /// LUA records were consulted: the reply may depend on the client,
    /// health checks, GeoIP or chance, so it is never replayed to others.
    pub consulted_lua: bool,
}

impl Default for Outcome<'_> {
    fn default() -> Self {
        Outcome {
            rcode: Rcode::NOERROR,
            aa: false,
            dnssec_ok: false,
            compact_ok: false,
            set_co: false,
            signer: None,
            truncated: false,
            class: Class::IN,
            answer: ArrayVec::new(),
            authority: ArrayVec::new(),
            additional: ArrayVec::new(),
            synth: ArrayVec::new(),
            nsecs: ArrayVec::new(),
            proof: None,
            dynamic: Vec::new(),
            ecs_scope: 0,
            consulted_lua: false,
        }
    }
}

impl<'z> Outcome<'z> {
    /// Turns the answer into SERVFAIL with empty sections.
    pub fn servfail(&mut self) {
        self.rcode = Rcode::SERVFAIL;
        self.answer.clear();
        self.authority.clear();
        self.additional.clear();
        self.proof = None;
        self.set_co = false;
    }

    /// The entries of one section.
    pub fn section(&self, section: Section) -> &[Entry<'z>] {
        match section {
            Section::Answer => &self.answer,
            Section::Authority => &self.authority,
            Section::Additional => &self.additional,
        }
    }

    /// The RDATAs of an entry, uncompressed, as they are signed. A
    /// synthesised CNAME has none here: it is never signed (RFC 6672 §5.3.1).
    pub fn rdatas<'a>(&'a self, data: &Data<'a>) -> Rdatas<'a> {
        match *data {
            Data::Set(set) => Rdatas::Many(set.rdatas.iter()),
            Data::Dynamic(_, i) => Rdatas::Many(self.dynamic[i as usize].rdatas.iter()),
            Data::Hinfo8482 => Rdatas::One(Some(HINFO_8482)),
            Data::Single(_, rdata) => Rdatas::One(Some(rdata)),
            Data::Nsec(i) => Rdatas::One(Some(&self.nsecs[i as usize][..])),
            Data::SynthCname(_) => Rdatas::One(None),
        }
    }

    /// Adds an entry; answer and authority entries are required. Entries
    /// are signed by the current step's zone keys, if any. When a section
    /// is full the entry is dropped: the caps are far above any reply that
    /// fits in 64 KiB of useful data.
    pub fn push(&mut self, section: Section, owner: Owner<'z>, data: Data<'z>, ttl: u32) {
        let required = section != Section::Additional;
        let signer = self.signer;
        self.push_entry(
            section,
            Entry {
                owner,
                data,
                ttl,
                required,
                signer,
            },
        );
    }

    /// Adds data that is never signed: delegation NS, glue, and CNAMEs
    /// synthesised from a DNAME (validators rebuild those, RFC 6672).
    pub fn push_unsigned(
        &mut self,
        section: Section,
        owner: Owner<'z>,
        data: Data<'z>,
        ttl: u32,
        required: bool,
    ) {
        self.push_entry(
            section,
            Entry {
                owner,
                data,
                ttl,
                required,
                signer: None,
            },
        );
    }

    /// Adds a compact NSEC to the authority section; signed like other entries.
    pub fn push_nsec(&mut self, owner: Owner<'z>, rdata: NsecRdata, ttl: u32) {
        let index = self.nsecs.len() as u8;
        if self.nsecs.try_push(rdata).is_ok() {
            self.push(Section::Authority, owner, Data::Nsec(index), ttl);
        }
    }

    fn push_entry(&mut self, section: Section, entry: Entry<'z>) {
        let _ = match section {
            Section::Answer => self.answer.try_push(entry),
            Section::Authority => self.authority.try_push(entry),
            Section::Additional => self.additional.try_push(entry),
        };
    }

    /// Stores a synthesised name and returns its index.
    pub fn add_synth(&mut self, name: SynthName) -> Option<u8> {
        let index = self.synth.len() as u8;
        self.synth.try_push(name).ok().map(|()| index)
    }

    /// Stores records produced by LUA and returns their index.
    pub fn add_dynamic(&mut self, set: RRset) -> Option<u8> {
        let index = u8::try_from(self.dynamic.len()).ok()?;
        self.dynamic.push(set);
        Some(index)
    }

    /// The wire bytes of an owner; `qname` is the question's lowercase name.
    pub fn owner_wire<'a>(&'a self, owner: Owner<'a>, qname: &'a [u8]) -> &'a [u8] {
        match owner {
            Owner::Qname => qname,
            Owner::Wire(wire) => wire,
            Owner::Synth(i) => self.synth[i as usize].as_wire(),
        }
    }

    /// True when `name` already owns a CNAME in the answer (a chain loop).
    pub fn chain_contains(&self, name: &[u8], qname: &[u8]) -> bool {
        self.answer.iter().any(|entry| {
            entry.data.rtype() == RType::CNAME
                && self
                    .owner_wire(entry.owner, qname)
                    .eq_ignore_ascii_case(name)
        })
    }

    /// True when the additional section already has records for `owner`.
    pub fn has_additional_owner(&self, owner: &[u8]) -> bool {
        self.additional
            .iter()
            .any(|entry| matches!(entry.owner, Owner::Wire(w) if w.eq_ignore_ascii_case(owner)))
    }
}

/// The RDATAs of one entry (see [`Outcome::rdatas`]).
#[derive(Clone)]
pub enum Rdatas<'a> {
    Many(RdataIter<'a>),
    One(Option<&'a [u8]>),
}

impl<'a> Iterator for Rdatas<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Rdatas::Many(iter) => iter.next(),
            Rdatas::One(one) => one.take(),
        }
    }
}

impl Entry<'_> {
    /// The TTL as written: values with the top bit set mean 0 (RFC 2181 §8).
    pub fn wire_ttl(&self) -> u32 {
        if self.ttl > i32::MAX as u32 {
            0
        } else {
            self.ttl
        }
    }
}
