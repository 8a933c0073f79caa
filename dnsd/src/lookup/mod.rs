//! Question x [`Catalog`] -> [`Outcome`]: the RFC 1034 §4.3.2 algorithm.
//!
//! Finds the zone, walks down from its apex to the closest encloser,
//! and decides between an exact answer, a wildcard answer (RFC 4592), a
//! referral, a DNAME substitution (RFC 6672), NODATA and NXDOMAIN, following
//! CNAME chains through served zones. The outcome only borrows zone data;
//! turning it into bytes is `assemble`'s job. No allocation, no locks.
//!
//! Two other stages are reached from here because their results steer the
//! walk or depend on the node it reached: at a name that owns LUA records
//! the dynamic stage ([`crate::dynamic::records`]) answers (a LUA CNAME
//! sends the walk on), and a negative answer records the [`Proof`] it owes,
//! which the denial stage turns into an NSEC after the walk.

use arrayvec::ArrayVec;

use crate::dynamic::records::{self as lua, LuaQuery};
use crate::outcome::{Data, Missing, Outcome, Owner, Proof, Section, SynthName};

use crate::wire::name::MAX_NAME_LEN;
use crate::wire::{RType, Rcode, name::wire_is_subdomain};
use crate::zone::{Catalog, Node, Zone};

/// Longest CNAME/DNAME chain followed (conformance.md §4.7).
pub const MAX_CHAIN: usize = 16;

/// How ANY is answered over UDP (RFC 8482; conformance.md §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnyUdp {
    /// One synthesised `HINFO "RFC8482" ""`.
    #[default]
    Minimal,
    /// An empty TC=1 reply, sending the client to TCP.
    Tc,
    /// Every RRset at the name.
    Full,
}

/// Resolves `qname` (lowercase wire) and `qtype` against the catalog.
/// `over_tcp` selects the full ANY answer; `lua` is what LUA records see.
pub fn resolve<'z>(
    catalog: &'z Catalog,
    qname: &[u8],
    qtype: RType,
    any_udp: AnyUdp,
    over_tcp: bool,
    lua: &LuaQuery<'_>,
    out: &mut Outcome<'z>,
) {
    let mut current = Owner::Qname;
    let mut lower = [0u8; MAX_NAME_LEN];
    for hop in 0..=MAX_CHAIN {
        let name_len = {
            let wire = out.owner_wire(current, qname);
            lower[..wire.len()].copy_from_slice(wire);
            lower[..wire.len()].make_ascii_lowercase();
            wire.len()
        };
        let name = &lower[..name_len];
        let found = catalog
            .find(name, qtype == RType::DS)
            .or_else(|| catalog.find(name, false));
        let Some((served, apex_pos)) = found else {
            if hop == 0 {
                out.rcode = Rcode::REFUSED;
            }
            return;
        };
        if served.expired {
            out.rcode = Rcode::SERVFAIL;
            return;
        }
        let zone: &'z Zone = &served.zone;
        out.signer = if out.dnssec_ok {
            served.keys.as_deref()
        } else {
            None
        };
        if hop == 0 {
            out.aa = true;
        }
        match walk(zone, name, apex_pos, qtype) {
            Step::Referral(cut) => {
                // RFC 1034 §4.3.2 step 3b, also after a CNAME restart: the
                // referral goes in authority; AA stays as the first step set it.
                if hop == 0 {
                    out.aa = false;
                }
                add_referral(zone, cut, out);
                return;
            }
            Step::NxDomain => {
                out.rcode = Rcode::NXDOMAIN;
                add_negative(zone, out);
                owe_proof(out, current, Missing::Name(&served.zone), zone.negative_ttl);
                return;
            }
            Step::Dname(node, prefix_len) => {
                let Some(dname) = node.rrset(RType::DNAME) else {
                    return;
                };
                out.push(
                    Section::Answer,
                    Owner::Wire(node.name.as_wire()),
                    Data::Set(dname),
                    dname.ttl,
                );
                let target = &dname.rdatas[0];
                let owner_wire = out.owner_wire(current, qname);
                let Some(synth) = SynthName::concat(&owner_wire[..prefix_len], target) else {
                    out.rcode = Rcode::YXDOMAIN;
                    return;
                };
                let Some(index) = out.add_synth(synth) else {
                    return;
                };
                // Unsigned: validators rebuild it from the DNAME (RFC 6672 §5.3.1).
                out.push_unsigned(
                    Section::Answer,
                    current,
                    Data::SynthCname(index),
                    dname.ttl,
                    true,
                );
                current = Owner::Synth(index);
            }
            Step::Node(node) => {
                out.consulted_lua |= !node.lua.is_empty();
                if qtype == RType::ANY {
                    answer_any(zone, node, current, name, any_udp, over_tcp, lua, out);
                    return;
                }
                if !node.lua.is_empty() && !qtype.is_stored_only() {
                    match lua::answer(zone, node, current, name, qtype, lua, qname, out) {
                        lua::LuaStep::Done => return,
                        lua::LuaStep::Chase(target) => {
                            current = target;
                            continue;
                        }
                        lua::LuaStep::Static => {}
                    }
                }
                if !qtype.is_stored_only()
                    && let Some(set) = node.rrset(qtype)
                {
                    out.push(Section::Answer, current, Data::Set(set), set.ttl);
                    add_additional_for(zone, set, out);
                    return;
                }
                let Some(cname) = node.rrset(RType::CNAME) else {
                    add_negative(zone, out);
                    owe_nodata_proof(out, zone, current, node, qtype);
                    return;
                };
                out.push(Section::Answer, current, Data::Set(cname), cname.ttl);
                let target: &'z [u8] = &cname.rdatas[0];
                // Stop at a loop: the target already owns a CNAME in the answer.
                if out.chain_contains(target, qname) {
                    return;
                }
                current = Owner::Wire(target);
            }
        }
    }
}

/// Where the walk down a zone ended.
enum Step<'z> {
    /// The name exists here (exactly, or as the wildcard that covers it).
    Node(&'z Node),
    /// A zone cut at or above the name.
    Referral(&'z Node),
    /// A DNAME above the name; the usize is the length of the name's part
    /// below the DNAME owner.
    Dname(&'z Node, usize),
    /// No such name and no wildcard.
    NxDomain,
}

/// Walks from the apex down to `name`, label by label.
fn walk<'z>(zone: &'z Zone, name: &[u8], apex_pos: usize, qtype: RType) -> Step<'z> {
    let mut starts: ArrayVec<u8, 128> = ArrayVec::new();
    let mut pos = 0;
    while pos < apex_pos {
        starts.push(pos as u8);
        pos += 1 + name[pos] as usize;
    }
    let mut encloser = apex_pos;
    for &start in starts.iter().rev() {
        let start = start as usize;
        let Some(node) = zone.node(&name[start..]) else {
            return wildcard_at(zone, &name[encloser..]);
        };
        let at_qname = start == 0;
        // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1).
        if node.is_delegation && !(at_qname && qtype == RType::DS) {
            return Step::Referral(node);
        }
        if node.is_dname && !at_qname {
            return Step::Dname(node, start);
        }
        encloser = start;
    }
    match zone.node(name) {
        Some(node) => Step::Node(node),
        None => Step::NxDomain,
    }
}

/// RFC 4592 §3.3.1: the source of synthesis is `*.<closest encloser>`.
fn wildcard_at<'z>(zone: &'z Zone, encloser: &[u8]) -> Step<'z> {
    let mut key = [0u8; MAX_NAME_LEN + 2];
    if encloser.len() + 2 > MAX_NAME_LEN {
        return Step::NxDomain;
    }
    key[0] = 1;
    key[1] = b'*';
    key[2..2 + encloser.len()].copy_from_slice(encloser);
    match zone.node(&key[..2 + encloser.len()]) {
        Some(node) => Step::Node(node),
        None => Step::NxDomain,
    }
}

#[allow(clippy::too_many_arguments)]
fn answer_any<'z>(
    zone: &'z Zone,
    node: &'z Node,
    owner: Owner<'z>,
    name: &[u8],
    any_udp: AnyUdp,
    over_tcp: bool,
    lua: &LuaQuery<'_>,
    out: &mut Outcome<'z>,
) {
    let visible = || node.rrsets.iter().filter(|set| !set.rtype.is_stored_only());
    if visible().next().is_none() && node.lua.is_empty() {
        add_negative(zone, out);
        owe_nodata_proof(out, zone, owner, node, RType::ANY);
        return;
    }
    match (over_tcp, any_udp) {
        (false, AnyUdp::Minimal) => out.push(Section::Answer, owner, Data::Hinfo8482, 3600),
        (false, AnyUdp::Tc) => out.truncated = true,
        _ if !node.lua.is_empty() => {
            if !lua::answer_any(zone, node, owner, name, lua, out) {
                add_negative(zone, out);
                owe_nodata_proof(out, zone, owner, node, RType::ANY);
            }
        }
        _ => {
            for set in visible() {
                out.push(Section::Answer, owner, Data::Set(set), set.ttl);
            }
        }
    }
}

/// With DO in a signed zone, what a NODATA answer at `node` must prove
/// (spec §3.1): its types, or that it is an empty non-terminal; a DS query
/// at a cut proves the cut has no DS (spec §5).
fn owe_nodata_proof<'z>(
    out: &mut Outcome<'z>,
    zone: &Zone,
    owner: Owner<'z>,
    node: &'z Node,
    qtype: RType,
) {
    if out.signer.is_none() {
        return;
    }
    let ttl = zone.negative_ttl;
    if node.is_delegation && qtype == RType::DS {
        owe_proof(out, owner, Missing::Delegation, ttl);
        return;
    }
    if node.is_empty() {
        owe_proof(out, owner, Missing::EmptyNonTerminal, ttl);
        return;
    }
    owe_proof(out, owner, Missing::Types(answered_types(node)), ttl);
}

/// The types a query at `node` is answered with (what an NSEC owned by it
/// lists besides RRSIG and NSEC): its RRsets except the stored-only ones
/// (LUA, ALIAS), plus the types its LUA records produce.
pub(crate) fn answered_types(node: &Node) -> ArrayVec<RType, 64> {
    let mut types: ArrayVec<RType, 64> = ArrayVec::new();
    for set in node.rrsets.iter().filter(|set| !set.rtype.is_stored_only()) {
        let _ = types.try_push(set.rtype);
    }
    for rtype in lua::produced_types(node) {
        if !types.contains(&rtype) {
            let _ = types.try_push(rtype);
        }
    }
    types
}

/// Records the denial the answer owes when the query has DO and the zone
/// is signed; the denial stage makes the NSEC.
fn owe_proof<'z>(out: &mut Outcome<'z>, owner: Owner<'z>, missing: Missing<'z>, ttl: u32) {
    if out.signer.is_some() {
        out.proof = Some(Proof {
            owner,
            missing,
            ttl,
        });
    }
}

/// NODATA/NXDOMAIN authority: the SOA with the negative TTL (RFC 2308 §3).
fn add_negative<'z>(zone: &'z Zone, out: &mut Outcome<'z>) {
    let apex = zone.apex();
    if let Some(soa) = apex.rrset(RType::SOA) {
        out.push(
            Section::Authority,
            Owner::Wire(apex.name.as_wire()),
            Data::Set(soa),
            zone.negative_ttl,
        );
    }
}

/// Authority NS at the cut (never signed), plus glue: in-domain glue is
/// required (RFC 9471), sibling glue is added when it fits. With DO in a
/// signed zone, the cut's DS (signed), or a signed NSEC owned by the cut
/// proving there is none (spec §5).
fn add_referral<'z>(zone: &'z Zone, cut: &'z Node, out: &mut Outcome<'z>) {
    let Some(ns) = cut.rrset(RType::NS) else {
        return;
    };
    let owner = Owner::Wire(cut.name.as_wire());
    out.push_unsigned(Section::Authority, owner, Data::Set(ns), ns.ttl, true);
    if out.signer.is_some() {
        match cut.rrset(RType::DS) {
            Some(ds) => out.push(Section::Authority, owner, Data::Set(ds), ds.ttl),
            None => owe_proof(out, owner, Missing::Delegation, zone.negative_ttl),
        }
    }
    for target in &ns.rdatas {
        let in_domain = wire_is_subdomain(target, cut.name.as_wire());
        add_addresses(zone, target, in_domain, true, out);
    }
}

/// Additional A/AAAA for the targets of MX, SRV and NS (RFC 1035 §3.3.9,
/// RFC 2782), from the same zone, when they fit.
fn add_additional_for<'z>(zone: &'z Zone, set: &'z crate::zone::RRset, out: &mut Outcome<'z>) {
    let skip = match set.rtype {
        RType::NS => 0,
        RType::MX => 2,
        RType::SRV => 6,
        _ => return,
    };
    for rdata in &set.rdatas {
        if let Some(target) = rdata.get(skip..) {
            add_addresses(zone, target, false, false, out);
        }
    }
}

/// Adds the A and AAAA RRsets at `target` if the zone has them.
/// `glue` allows data below a cut (only referrals may return it).
fn add_addresses<'z>(
    zone: &'z Zone,
    target: &'z [u8],
    required: bool,
    glue: bool,
    out: &mut Outcome<'z>,
) {
    let mut lower = [0u8; MAX_NAME_LEN];
    let Some(buf) = lower.get_mut(..target.len()) else {
        return;
    };
    buf.copy_from_slice(target);
    buf.make_ascii_lowercase();
    let Some(node) = zone.node(buf) else { return };
    if node.is_occluded && !glue {
        return;
    }
    if out.has_additional_owner(node.name.as_wire()) {
        return;
    }
    for rtype in [RType::A, RType::AAAA] {
        if let Some(set) = node.rrset(rtype) {
            let owner = Owner::Wire(node.name.as_wire());
            if glue && node.is_occluded {
                // Glue is not authoritative data: never signed.
                out.push_unsigned(
                    Section::Additional,
                    owner,
                    Data::Set(set),
                    set.ttl,
                    required,
                );
            } else {
                out.push(Section::Additional, owner, Data::Set(set), set.ttl);
            }
        }
    }
}

#[cfg(test)]
mod tests;
