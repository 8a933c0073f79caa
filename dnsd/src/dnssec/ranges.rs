//! Classic denial over the real names (RFC 4035 §3.1.3.2): the fallback
//! the denial stage uses for a name that does not exist when its zone is
//! over its budget of fresh negative signatures ([`super::flood`]).
//!
//! Compact denial (RFC 9824) owns the NSEC at the query name, so every
//! distinct missing name costs a signature. Here the proof is made of
//! NSECs owned by the zone's real names instead: the one whose range
//! covers the query name and the one whose range covers the wildcard at
//! the closest encloser. There are as many such NSECs as names, so their
//! signatures come from the signature cache after the first use, and a
//! validating resolver with aggressive NSEC (RFC 8198) stops asking about
//! the names a range covers.
//!
//! A [`RangeChain`] is the chain of one version of a zone: the names that
//! own an NSEC in canonical order (RFC 4034 §6.1), as in the signed
//! transfer (`transfer.rs`): every name with data and every delegation
//! point; no empty non-terminal and nothing below a cut or a DNAME. It is
//! built once per zone version, off the answer path; finding a name's
//! range is a binary search over keys whose byte order is the canonical
//! order, with the query's key built on the stack.
//!
//! Bitmaps are what the online answers say (the types a query is answered
//! with, LUA records listed by the type they produce; at a cut only NS and
//! DS), so an NSEC from a range never contradicts a compact NODATA answer
//! for the same name.

use std::cmp::Ordering;
use std::sync::{Arc, Weak};

use arrayvec::ArrayVec;

use super::denial::{TypeBitmap, nsec_rdata_inline};
use crate::lookup::answered_types;
use crate::outcome::NsecRdata;
use crate::wire::RType;
use crate::wire::name::MAX_NAME_LEN;
use crate::zone::{Node, Zone};

/// Room for the canonical key of any name: every octet may be escaped to
/// two, plus two closing octets per label (at most 127 labels).
const MAX_KEY_LEN: usize = 2 * MAX_NAME_LEN + 2 * 128;

/// A canonical key built without allocation.
pub type CanonicalKey = ArrayVec<u8, MAX_KEY_LEN>;

/// Writes to `out` a byte string whose plain order is the canonical order
/// (RFC 4034 §6.1) of the lowercase wire name `wire`: labels from the
/// root, each label's octets with 0x00 escaped as 0x00 0xFF and closed by
/// 0x00 0x00, so a label sorts before any longer label it starts and a name
/// before its descendants. `xfr::diff::canonical_key` is this, allocated.
/// Malformed wire (never in a zone) gives the key of what parses.
pub fn canonical_key_into(wire: &[u8], out: &mut CanonicalKey) {
    out.clear();
    let mut starts = [0u8; 128];
    let mut count = 0;
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 || count == starts.len() || pos + 1 + len as usize > wire.len() {
            break;
        }
        starts[count] = pos as u8;
        count += 1;
        pos += 1 + len as usize;
    }
    for &start in starts[..count].iter().rev() {
        let start = usize::from(start);
        let len = usize::from(wire[start]);
        for &b in &wire[start + 1..start + 1 + len] {
            // Invariant: MAX_KEY_LEN holds the worst case of a 255-octet name.
            if b == 0 {
                out.try_extend_from_slice(&[0, 0xFF]).expect("fits");
            } else {
                out.try_push(b).expect("fits");
            }
        }
        out.try_extend_from_slice(&[0, 0]).expect("fits");
    }
}

/// Compares two lowercase wire names in canonical order.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut ka, mut kb) = (CanonicalKey::new(), CanonicalKey::new());
    canonical_key_into(a, &mut ka);
    canonical_key_into(b, &mut kb);
    ka.cmp(&kb)
}

/// The NSEC chain of one version of a zone, in canonical order.
pub struct RangeChain {
    /// The version it was built from; compared by address, so a chain is
    /// never used for another version (the `Weak` keeps the address from
    /// being reused while the chain exists).
    zone: Weak<Zone>,
    /// Canonical keys of the chain's names, ascending; the apex first.
    keys: Vec<Box<[u8]>>,
    /// The same names, lowercase wire.
    names: Vec<Arc<[u8]>>,
}

impl std::fmt::Debug for RangeChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeChain")
            .field("names", &self.names.len())
            .finish()
    }
}

/// True when `node` owns an NSEC in the chain: a delegation point, or a
/// name with data that is not below a cut or a DNAME.
fn in_chain(node: &Node) -> bool {
    !node.is_occluded && (node.is_delegation || !node.is_empty())
}

impl RangeChain {
    /// The chain of `zone`: sorts its names once (n log n).
    pub fn build(zone: &Arc<Zone>) -> RangeChain {
        // (canonical key, lowercase wire name) of each owner.
        type Owner = (Box<[u8]>, Arc<[u8]>);
        let mut entries: Vec<Owner> = zone
            .nodes
            .values()
            .filter(|node| in_chain(node))
            .map(|node| {
                let name: Arc<[u8]> = node.name.as_wire().to_ascii_lowercase().into();
                let mut key = CanonicalKey::new();
                canonical_key_into(&name, &mut key);
                (Box::from(&key[..]), name)
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (keys, names) = entries.into_iter().unzip();
        RangeChain {
            zone: Arc::downgrade(zone),
            keys,
            names,
        }
    }

    /// True when this is the chain of exactly this version of the zone.
    pub fn is_for(&self, zone: &Arc<Zone>) -> bool {
        std::ptr::eq(self.zone.as_ptr(), Arc::as_ptr(zone))
    }

    /// Names in the chain.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True for a chain of no name (never for a built zone: the apex has
    /// its SOA).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The `i`th owner of the chain, lowercase wire.
    pub fn owner(&self, i: usize) -> &[u8] {
        &self.names[i]
    }

    /// The next name after the `i`th owner: the following owner, or the
    /// apex after the last one.
    pub fn next(&self, i: usize) -> &[u8] {
        &self.names[(i + 1) % self.names.len()]
    }

    /// The index of the NSEC whose range holds `name` (lowercase wire, at
    /// or below the apex): the last owner at or before it in canonical
    /// order. A name in the zone owns it; any other name lies strictly
    /// between that owner and its next name (or after the last owner).
    pub fn covering(&self, name: &[u8]) -> usize {
        let mut key = CanonicalKey::new();
        canonical_key_into(name, &mut key);
        let after = self.keys.partition_point(|k| k[..] <= key[..]);
        // The apex sorts first and every name is at or below it; a name
        // outside the zone (a caller's error) is given the apex's range.
        after.saturating_sub(1)
    }

    /// The NSEC RDATA of the `i`th owner, whose node is `node`: the next
    /// owner and the types a query there is answered with, plus RRSIG and
    /// NSEC; at a cut NS and DS only (RFC 4035 §2.3).
    pub fn nsec_rdata(&self, i: usize, node: &Node) -> Option<NsecRdata> {
        let mut bitmap = TypeBitmap::new().with(RType::RRSIG).with(RType::NSEC);
        for rtype in answered_types(node) {
            let at_cut_kept = rtype == RType::NS || rtype == RType::DS;
            if (!node.is_delegation || at_cut_kept) && !rtype.is_meta() {
                bitmap.insert(rtype);
            }
        }
        nsec_rdata_inline(self.next(i), &bitmap)
    }
}

/// `*.` followed by `encloser` (lowercase wire), if it fits in a name.
pub fn wildcard_of(encloser: &[u8]) -> Option<ArrayVec<u8, MAX_NAME_LEN>> {
    let mut out = ArrayVec::new();
    out.try_extend_from_slice(&[1, b'*']).ok()?;
    out.try_extend_from_slice(encloser).ok()?;
    Some(out)
}

/// The closest encloser of `name` (lowercase wire, not in the zone):
/// its longest ancestor that exists in `zone`, empty non-terminals
/// included (RFC 4592 §3.3.1). The apex exists, so there is one.
pub fn closest_encloser<'n>(zone: &Zone, name: &'n [u8]) -> &'n [u8] {
    let mut pos = 0;
    while let Some(&len) = name.get(pos) {
        if len == 0 {
            break;
        }
        pos += 1 + usize::from(len);
        if zone.node(&name[pos..]).is_some() {
            return &name[pos..];
        }
    }
    &name[name.len().saturating_sub(1)..]
}

#[cfg(test)]
mod tests;
