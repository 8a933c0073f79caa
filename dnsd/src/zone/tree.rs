//! The indexed form of one zone: nodes keyed by lowercase wire name.
//!
//! Every name that exists in the zone has a node, including empty
//! non-terminals, so "does this name exist" is one hash lookup. Flags that
//! the answer path needs (delegation, below a cut, wildcard child) are
//! computed once at build time, never per query.
//!
//! Keys and nodes sit behind `Arc`, so a new version of a zone made by
//! [`update_zone`](super::update_zone) shares every node it did not change
//! with the previous version: copying the map costs reference-count bumps,
//! not records.

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
    pub rdatas: Vec<Box<[u8]>>,
}

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
    pub rrsets: Vec<RRset>,
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
    pub lua: Vec<LuaRecord>,
    /// Records given for this name, duplicates included (their sum is
    /// [`Zone::record_count`]), so an update can subtract what it replaces.
    pub(crate) records_loaded: usize,
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

/// Nodes by lowercase wire name, shared between versions of a zone.
pub(crate) use super::nodemap::NodeMap;

/// One zone, immutable once built.
#[derive(Debug)]
pub struct Zone {
    /// The apex, case as configured.
    pub origin: Name,
    /// Nodes by lowercase wire name; every ancestor of a node up to the
    /// apex has a node too.
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
        self.nodes.get(lower_wire).map(|node| &**node)
    }

    /// The apex node; every built zone has one.
    pub fn apex(&self) -> &Node {
        // Invariant: build_zone refuses a zone without an apex SOA.
        self.nodes
            .get(self.origin.to_lowercase().as_wire())
            .expect("zone has an apex node")
            .as_ref()
    }

    /// Iterates over every node (no particular order).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().map(|node| &**node)
    }
}
