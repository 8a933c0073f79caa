//! The indexed form of one zone: nodes keyed by lowercase wire name.
//!
//! Every name that exists in the zone has a node, including empty
//! non-terminals, so "does this name exist" is one hash lookup. Flags that
//! the answer path needs (delegation, below a cut, wildcard child) are
//! computed once at build time, never per query.
//!
//! Nodes sit behind `Arc`, so a new version of a zone made by
//! [`update_zone`](super::update_zone) shares every node it did not change
//! with the previous version: copying the map costs reference-count bumps,
//! not records.
//!
//! A large zone is mostly nodes, so a node is kept small: its name is
//! stored once (the map is keyed by the node's own name, compared without
//! case), its RRsets sit in one boxed slice and each RRset's RDATAs in one
//! allocation ([`PackedRdatas`]).

use std::sync::Arc;

use crate::dynamic::{CompileError, LuaRule};
use crate::wire::{Name, RType};

/// All records of one type at one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RRset {
    /// The type shared by every record.
    pub rtype: RType,
    /// One TTL for the whole set (RFC 2181 §5.2): the smallest one loaded.
    pub ttl: u32,
    /// Uncompressed wire RDATA of each record, duplicates removed, in load order.
    pub rdatas: PackedRdatas,
}

/// The RDATAs of one RRset in a single allocation: a 32-bit count, then
/// each RDATA as a 16-bit length and its bytes (RDLENGTH is 16 bits, RFC
/// 1035 §3.2.1). One allocation per RRset instead of one per record plus
/// a vector is most of what a large zone saves (see BENCHMARKS.md, scale).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PackedRdatas(Box<[u8]>);

const COUNT_LEN: usize = 4;

impl PackedRdatas {
    /// The number of RDATAs.
    #[inline]
    pub fn len(&self) -> usize {
        match self.0.first_chunk::<COUNT_LEN>() {
            Some(count) => u32::from_ne_bytes(*count) as usize,
            None => 0,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The RDATAs in order.
    #[inline]
    pub fn iter(&self) -> RdataIter<'_> {
        RdataIter {
            rest: self.0.get(COUNT_LEN..).unwrap_or_default(),
            left: self.len(),
        }
    }

    /// The first RDATA, if any.
    #[inline]
    pub fn first(&self) -> Option<&[u8]> {
        self.iter().next()
    }

    /// Appends one RDATA. Reallocates the whole set: for building zones
    /// and LUA answers, not for the static answer path.
    ///
    /// # Panics
    /// When `rdata` is longer than RDLENGTH can say (65,535 octets); the
    /// zone parser and the wire reader never produce one.
    pub fn push(&mut self, rdata: &[u8]) {
        let len = u16::try_from(rdata.len()).expect("RDATA longer than 65535 octets");
        let count = self.len() as u32 + 1;
        let body = self.0.get(COUNT_LEN..).unwrap_or_default();
        let mut packed = Vec::with_capacity(COUNT_LEN + body.len() + 2 + rdata.len());
        packed.extend_from_slice(&count.to_ne_bytes());
        packed.extend_from_slice(body);
        packed.extend_from_slice(&len.to_ne_bytes());
        packed.extend_from_slice(rdata);
        self.0 = packed.into_boxed_slice();
    }

    /// Copies out each RDATA (tests and tools that sort or compare sets).
    pub fn to_vec(&self) -> Vec<Box<[u8]>> {
        self.iter().map(Box::from).collect()
    }
}

impl<R: AsRef<[u8]>> FromIterator<R> for PackedRdatas {
    fn from_iter<I: IntoIterator<Item = R>>(iter: I) -> Self {
        let mut packed = vec![0; COUNT_LEN];
        let mut count = 0u32;
        for rdata in iter {
            let rdata = rdata.as_ref();
            let len = u16::try_from(rdata.len()).expect("RDATA longer than 65535 octets");
            packed.extend_from_slice(&len.to_ne_bytes());
            packed.extend_from_slice(rdata);
            count += 1;
        }
        if count == 0 {
            return PackedRdatas::default();
        }
        packed[..COUNT_LEN].copy_from_slice(&count.to_ne_bytes());
        PackedRdatas(packed.into_boxed_slice())
    }
}

impl std::ops::Index<usize> for PackedRdatas {
    type Output = [u8];

    fn index(&self, at: usize) -> &[u8] {
        self.iter().nth(at).expect("RDATA index out of range")
    }
}

impl<'a> IntoIterator for &'a PackedRdatas {
    type Item = &'a [u8];
    type IntoIter = RdataIter<'a>;

    fn into_iter(self) -> RdataIter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for PackedRdatas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The RDATAs of a [`PackedRdatas`], in order.
#[derive(Clone, Debug)]
pub struct RdataIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.rest.split_first_chunk::<2>()?;
        let (rdata, rest) = rest.split_at(u16::from_ne_bytes(*len) as usize);
        self.rest = rest;
        self.left -= 1;
        Some(rdata)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RdataIter<'_> {}

/// One LUA record compiled when the zone was built (lua-records.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct LuaRecord {
    /// The type the record produces.
    pub produced: RType,
    /// The compiled rule, or why the record cannot answer: it is served as
    /// SERVFAIL, as PowerDNS does (`--lua-strict` refuses the zone instead,
    /// and the API refuses code that does not compile).
    pub rule: Result<Arc<LuaRule>, CompileError>,
}

/// A name in the zone and the data at it.
#[derive(Debug, Clone)]
pub struct Node {
    /// The name with the case of its first appearance in the zone data.
    pub name: Name,
    /// RRsets sorted by type code; empty for an empty non-terminal.
    pub rrsets: Box<[RRset]>,
    /// NS at a name other than the apex: a zone cut.
    pub is_delegation: bool,
    /// Strictly below a zone cut: only glue lives here.
    pub is_occluded: bool,
    /// Owns a DNAME record (RFC 6672).
    pub is_dname: bool,
    /// `*.<this name>` exists in the zone.
    pub has_wildcard_child: bool,
    /// The LUA records of the node, compiled, in the order of the LUA
    /// RRset's RDATA; empty for most nodes. Computed with the other own
    /// flags, so a full build and an update agree.
    pub lua: Box<[LuaRecord]>,
    /// Records given for this name, duplicates included (their sum is
    /// [`Zone::record_count`]), so an update can subtract what it replaces.
    pub(crate) records_loaded: u32,
}

impl Node {
    /// The RRset of `rtype`, if present.
    pub fn rrset(&self, rtype: RType) -> Option<&RRset> {
        self.rrsets
            .binary_search_by_key(&rtype, |set| set.rtype)
            .ok()
            .map(|i| &self.rrsets[i])
    }

    /// True for an empty non-terminal (or a name whose only data is invisible).
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }
}

/// Nodes by wire name (compared without case), shared between versions of a zone.
pub(crate) use super::nodemap::NodeMap;

/// One zone, immutable once built.
#[derive(Debug)]
pub struct Zone {
    /// The apex, case as configured.
    pub origin: Name,
    /// Nodes by wire name, compared without case; every ancestor of a
    /// node up to the apex has a node too.
    pub(crate) nodes: NodeMap,
    /// TTL for the SOA in negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
    pub negative_ttl: u32,
    /// SOA serial, for logs and later for transfers.
    pub serial: u32,
    /// Number of records loaded.
    pub record_count: usize,
}

impl Zone {
    /// The node at a lowercase wire name.
    #[inline]
    pub fn node(&self, lower_wire: &[u8]) -> Option<&Node> {
        self.nodes.get_lowercase(lower_wire).map(|node| &**node)
    }

    /// The apex node; every built zone has one.
    pub fn apex(&self) -> &Node {
        // Invariant: build_zone refuses a zone without an apex SOA.
        self.nodes
            .get(self.origin.as_wire())
            .expect("zone has an apex node")
            .as_ref()
    }

    /// Iterates over every node (no particular order).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().map(|node| &**node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rdatas_round_trip() {
        let longest = vec![7u8; 65535];
        let given: Vec<&[u8]> = vec![&[192, 0, 2, 1], &[], &longest, &[1]];
        let packed: PackedRdatas = given.iter().collect();
        assert_eq!(packed.len(), 4);
        assert!(!packed.is_empty());
        assert_eq!(packed.iter().collect::<Vec<_>>(), given);
        assert_eq!(packed.iter().len(), 4, "exact size");
        assert_eq!(packed.first(), Some(&[192, 0, 2, 1][..]));
        assert_eq!(&packed[2], &longest[..]);
        assert_eq!(&packed[3], &[1][..]);
        assert_eq!(packed.to_vec().len(), 4);

        let mut pushed = PackedRdatas::default();
        assert!(pushed.is_empty() && pushed.first().is_none());
        for rdata in &given {
            pushed.push(rdata);
        }
        assert_eq!(pushed, packed, "push and collect agree");
        assert_eq!(format!("{pushed:?}").len(), format!("{:?}", given).len());

        let none: PackedRdatas = std::iter::empty::<&[u8]>().collect();
        assert_eq!(none, PackedRdatas::default());
        assert_eq!(none.iter().next(), None);
    }

    #[test]
    #[should_panic(expected = "RDATA longer than 65535 octets")]
    fn an_rdata_longer_than_rdlength_is_refused() {
        PackedRdatas::default().push(&vec![0; 65536]);
    }

    #[test]
    fn nodes_stay_small() {
        // The per-name cost of a large zone (see BENCHMARKS.md, scale).
        assert!(
            std::mem::size_of::<Node>() <= 56,
            "{}",
            std::mem::size_of::<Node>()
        );
        assert_eq!(std::mem::size_of::<RRset>(), 24);
    }
}
