//! Compact denial of existence (RFC 9824; spec §3): the NSEC that a
//! negative answer carries, built from the query name alone.
//!
//! - [`succ`] is the immediate canonical successor of a name (spec §3.2,
//!   RFC 4471 §3.1.2); [`succ_delegation`] the variant for the NSEC owned by
//!   an insecure cut. Following spec §3.3 (Knot CVE-2026-39155), the next
//!   name is derived from the owner only, never from zone neighbours, so an
//!   NSEC never covers a name other than its owner (and, for a cut, the
//!   names at or below it). The zone cannot be walked.
//! - [`TypeBitmap`] is the RFC 4034 §4.1.2 type bitmap; [`Denial`] names the
//!   negative cases of spec §3.1 and [`Denial::bitmap`] the types each lists.
//! - [`nsec_rdata`] writes NSEC RDATA; [`nxdomain_reply`] says which RCODE a
//!   non-existent name gets and whether the response sets the CO flag.
//!
//! Pure functions: no allocation in [`succ`] or [`TypeBitmap::insert`] for
//! types below 256, no I/O, no clock.

use arrayvec::ArrayVec;

use crate::outcome::NsecRdata;
use crate::wire::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::wire::{RType, Rcode};

/// Extended DNS Error 30, "Invalid Query Type" (RFC 8914), for QTYPE NXNAME.
pub const EDE_INVALID_QUERY_TYPE: u16 = 30;

/// A name in wire form with no heap allocation.
pub type WireName = ArrayVec<u8, MAX_NAME_LEN>;

// ----------- succ() -----------------------------------------------------------------

/// The immediate canonical successor of `name` (spec §3.2), lower-cased.
///
/// `name` must be valid uncompressed wire. When `\000.name` fits in 255
/// octets that is the answer; otherwise the name is too long to have
/// descendants and the result is the next name after it in canonical
/// order: its first label with `\000` appended, or incremented (see
/// [`succ_delegation`]). Only for a name at the very end of the name space
/// (every label at its largest value) is there no successor; then the root
/// is returned, which validators read as "to the end of the zone".
pub fn succ(name: &[u8]) -> WireName {
    let mut out = WireName::new();
    if name.len() + 2 <= MAX_NAME_LEN {
        out.extend([1, 0]);
        // Invariant: name.len() <= 253 here, so 2 + name.len() fits.
        out.try_extend_from_slice(name)
            .expect("length checked above");
        out[2..].make_ascii_lowercase();
        return out;
    }
    after_subtree(name)
}

/// The next name for the NSEC owned by a zone cut (spec §3.2 rule 3, §5):
/// the first name after the cut and everything below it, so the NSEC
/// claims nothing of the parent's namespace beyond the child:
/// `sub.example.com.` gives `sub\000.example.com.`.
pub fn succ_delegation(cut: &[u8]) -> WireName {
    after_subtree(cut)
}

/// The smallest name greater than `name` and all of its descendants:
/// `\000` appended to the first label when label and name have room
/// (rule 2.1), else the first label incremented (rule 2.2), dropping
/// trailing 0xFF octets and, if the label runs out, moving to the parent.
fn after_subtree(name: &[u8]) -> WireName {
    let mut rest = name;
    loop {
        let Some(&len) = rest.first() else {
            return root();
        };
        let len = usize::from(len);
        if len == 0 {
            return root();
        }
        let (label, suffix) = (&rest[1..1 + len], &rest[1 + len..]);
        if len < MAX_LABEL_LEN && rest.len() < MAX_NAME_LEN {
            return assemble(label, Some(0), suffix);
        }
        let mut bumped: ArrayVec<u8, MAX_LABEL_LEN> = ArrayVec::new();
        // Invariant: a label has at most 63 octets.
        bumped
            .try_extend_from_slice(label)
            .expect("label <= 63 octets");
        bumped.make_ascii_lowercase();
        while let Some(last) = bumped.pop() {
            if last == 0xFF {
                continue; // carry into the previous octet
            }
            // A-Z sort as a-z, so the octet after 0x40 is 0x5B.
            let next = if last == 0x40 { 0x5B } else { last + 1 };
            return assemble(&bumped, Some(next), suffix);
        }
        // Every octet was 0xFF: nothing follows at this level.
        rest = suffix;
    }
}

fn root() -> WireName {
    let mut out = WireName::new();
    out.push(0);
    out
}

/// `label || extra` as the first label, then `suffix`, lower-cased.
fn assemble(label: &[u8], extra: Option<u8>, suffix: &[u8]) -> WireName {
    let mut out = WireName::new();
    let len = label.len() + usize::from(extra.is_some());
    out.push(len as u8);
    // Invariant: callers keep the label <= 63 and the name <= 255 octets.
    out.try_extend_from_slice(label).expect("fits");
    if let Some(b) = extra {
        out.push(b);
    }
    out.try_extend_from_slice(suffix).expect("fits");
    out[1..].make_ascii_lowercase();
    out
}

// ----------- Type bitmaps -------------------------------------------------------------

/// A set of RR types, encoded as in RFC 4034 §4.1.2. Window 0 (types
/// 0-255, which holds RRSIG, NSEC and NXNAME) lives inline; other windows
/// are allocated when first used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeBitmap {
    window0: [u8; 32],
    /// Windows 1-255, sorted by window number, each with its 32 octets.
    high: Vec<(u8, [u8; 32])>,
}

impl TypeBitmap {
    /// The empty set.
    pub const fn new() -> TypeBitmap {
        TypeBitmap {
            window0: [0; 32],
            high: Vec::new(),
        }
    }

    /// The set of `types`.
    pub fn from_types(types: impl IntoIterator<Item = RType>) -> TypeBitmap {
        let mut set = TypeBitmap::new();
        for t in types {
            set.insert(t);
        }
        set
    }

    /// Adds `rtype`.
    pub fn insert(&mut self, rtype: RType) {
        let (window, low) = ((rtype.0 >> 8) as u8, (rtype.0 & 0xFF) as u8);
        let bits = if window == 0 {
            &mut self.window0
        } else {
            let at = match self.high.binary_search_by_key(&window, |&(w, _)| w) {
                Ok(at) => at,
                Err(at) => {
                    self.high.insert(at, (window, [0; 32]));
                    at
                }
            };
            &mut self.high[at].1
        };
        bits[usize::from(low >> 3)] |= 0x80 >> (low & 7);
    }

    /// `self` with `rtype` added.
    pub fn with(mut self, rtype: RType) -> TypeBitmap {
        self.insert(rtype);
        self
    }

    /// True when `rtype` is in the set.
    pub fn contains(&self, rtype: RType) -> bool {
        let (window, low) = ((rtype.0 >> 8) as u8, (rtype.0 & 0xFF) as u8);
        let bits = if window == 0 {
            &self.window0
        } else {
            match self.high.binary_search_by_key(&window, |&(w, _)| w) {
                Ok(at) => &self.high[at].1,
                Err(_) => return false,
            }
        };
        bits[usize::from(low >> 3)] & (0x80 >> (low & 7)) != 0
    }

    /// The types in the set, ascending.
    pub fn types(&self) -> impl Iterator<Item = RType> + '_ {
        std::iter::once((0u8, &self.window0))
            .chain(self.high.iter().map(|(w, bits)| (*w, bits)))
            .flat_map(|(window, bits)| {
                (0..256u16)
                    .filter(move |&low| bits[usize::from(low >> 3)] & (0x80 >> (low & 7)) != 0)
                    .map(move |low| RType(u16::from(window) << 8 | low))
            })
    }

    /// Appends the wire encoding: for each non-empty window, its number,
    /// the length of its bitmap up to the last non-zero octet, and the bitmap.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for (window, bits) in self.windows() {
            out.push(window);
            out.push(bits.len() as u8);
            out.extend_from_slice(bits);
        }
    }

    /// [`TypeBitmap::encode`] into a fixed-capacity buffer; `None` when it
    /// does not fit (the buffer is then partly written).
    pub fn encode_inline<const N: usize>(&self, out: &mut ArrayVec<u8, N>) -> Option<()> {
        for (window, bits) in self.windows() {
            out.try_extend_from_slice(&[window, bits.len() as u8])
                .ok()?;
            out.try_extend_from_slice(bits).ok()?;
        }
        Some(())
    }

    /// The non-empty windows: number and bitmap up to its last non-zero octet.
    fn windows(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        std::iter::once((0u8, &self.window0))
            .chain(self.high.iter().map(|(w, bits)| (*w, bits)))
            .filter_map(|(window, bits)| {
                let last = bits.iter().rposition(|&b| b != 0)?;
                Some((window, &bits[..=last]))
            })
    }

    /// Reads a wire type bitmap; `None` when malformed (windows out of
    /// order or repeated, lengths outside 1..=32, trailing zero octet, or
    /// truncated).
    pub fn decode(mut wire: &[u8]) -> Option<TypeBitmap> {
        let mut set = TypeBitmap::new();
        let mut previous: Option<u8> = None;
        while !wire.is_empty() {
            let (&window, rest) = wire.split_first()?;
            let (&len, rest) = rest.split_first()?;
            let len = usize::from(len);
            if previous.is_some_and(|p| p >= window) || !(1..=32).contains(&len) {
                return None;
            }
            let bits = rest.get(..len)?;
            if bits[len - 1] == 0 {
                return None;
            }
            for (i, &b) in bits.iter().enumerate() {
                for bit in 0..8 {
                    if b & (0x80 >> bit) != 0 {
                        set.insert(RType(u16::from(window) << 8 | (i * 8 + bit) as u16));
                    }
                }
            }
            previous = Some(window);
            wire = &rest[len..];
        }
        Some(set)
    }
}

// ----------- Negative answers (spec §3.1) ---------------------------------------------

/// The negative cases of spec §3.1 that carry a compact NSEC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial<'a> {
    /// The name does not exist (NXDOMAIN turned NODATA), also for the
    /// target of an in-zone CNAME that does not exist: RRSIG NSEC NXNAME.
    NxName,
    /// The name exists but not the type; or a wildcard matched but lacks
    /// the type (pass the wildcard's types). The bitmap is these types plus
    /// RRSIG and NSEC. At the apex include DNSKEY, and CDS/CDNSKEY when
    /// published; at a LUA name the produced types (spec §3.1 "Bitmaps").
    NoData(&'a [RType]),
    /// An empty non-terminal: RRSIG NSEC.
    EmptyNonTerminal,
    /// A cut without DS (referral to an insecure child, or QTYPE=DS at a
    /// cut): the NSEC is owned by the cut, with next name
    /// [`succ_delegation`] and bitmap NS RRSIG NSEC (spec §5).
    InsecureDelegation,
}

impl Denial<'_> {
    /// The types the NSEC lists.
    pub fn bitmap(&self) -> TypeBitmap {
        let base = TypeBitmap::new().with(RType::RRSIG).with(RType::NSEC);
        match self {
            Denial::NxName => base.with(RType::NXNAME),
            Denial::NoData(types) => {
                let mut set = base;
                for &t in *types {
                    // Meta types never appear in a bitmap; NXNAME would
                    // claim the name does not exist.
                    if !t.is_meta() {
                        set.insert(t);
                    }
                }
                set
            }
            Denial::EmptyNonTerminal => base,
            Denial::InsecureDelegation => base.with(RType::NS),
        }
    }

    /// The NSEC next name for an NSEC owned by `owner` (the query name,
    /// or the cut for [`Denial::InsecureDelegation`]).
    pub fn next_name(&self, owner: &[u8]) -> WireName {
        match self {
            Denial::InsecureDelegation => succ_delegation(owner),
            _ => succ(owner),
        }
    }

    /// The complete NSEC RDATA for `owner`, appended to `out`.
    pub fn nsec_rdata(&self, owner: &[u8], out: &mut Vec<u8>) {
        nsec_rdata(&self.next_name(owner), &self.bitmap(), out);
    }

    /// [`Denial::nsec_rdata`] without allocation.
    pub fn nsec_rdata_inline(&self, owner: &[u8]) -> Option<NsecRdata> {
        nsec_rdata_inline(&self.next_name(owner), &self.bitmap())
    }
}

/// Appends NSEC RDATA (RFC 4034 §4.1): next name (uncompressed) and bitmap.
pub fn nsec_rdata(next: &[u8], types: &TypeBitmap, out: &mut Vec<u8>) {
    out.extend_from_slice(next);
    types.encode(out);
}

/// [`nsec_rdata`] without allocation, as an answer carries it; `None` when
/// it exceeds [`NsecRdata`]'s capacity (a bitmap of many windows).
pub fn nsec_rdata_inline(next: &[u8], types: &TypeBitmap) -> Option<NsecRdata> {
    let mut out = NsecRdata::new();
    out.try_extend_from_slice(next).ok()?;
    types.encode_inline(&mut out)?;
    Some(out)
}

/// TTL of a compact NSEC, and of the SOA in a negative answer:
/// min(SOA TTL, SOA MINIMUM) (RFC 9077, RFC 2308 §3).
pub fn negative_ttl(soa_ttl: u32, soa_minimum: u32) -> u32 {
    soa_ttl.min(soa_minimum)
}

/// How a response for a name that does not exist is flagged (spec §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NxReply {
    /// The RCODE: NXDOMAIN without DO, NOERROR with DO, NXDOMAIN again when
    /// the query also set CO.
    pub rcode: Rcode,
    /// Set CO in the response OPT (only when DO and CO were both set).
    pub set_co: bool,
    /// Put SOA + compact NSEC (RRSIG NSEC NXNAME) with RRSIGs in authority;
    /// without DO only the SOA.
    pub with_nsec: bool,
}

/// The reply flags for a non-existent name, including the target of an
/// in-zone CNAME (spec §3.1): `dnssec_ok` is the query's DO bit,
/// `compact_ok` its CO bit ([`crate::wire::EdnsFlags::CO`]).
pub fn nxdomain_reply(dnssec_ok: bool, compact_ok: bool) -> NxReply {
    match (dnssec_ok, compact_ok) {
        (false, _) => NxReply {
            rcode: Rcode::NXDOMAIN,
            set_co: false,
            with_nsec: false,
        },
        (true, false) => NxReply {
            rcode: Rcode::NOERROR,
            set_co: false,
            with_nsec: true,
        },
        (true, true) => NxReply {
            rcode: Rcode::NXDOMAIN,
            set_co: true,
            with_nsec: true,
        },
    }
}

/// True for QTYPE NXNAME, which gets FORMERR, optionally with EDE
/// [`EDE_INVALID_QUERY_TYPE`] (RFC 9824 §3.5).
pub fn is_forbidden_qtype(qtype: RType) -> bool {
    qtype == RType::NXNAME
}

#[cfg(test)]
mod tests;
