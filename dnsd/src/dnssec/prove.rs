//! The denial stage of the answer pipeline: the [`Proof`] lookup left owed
//! becomes a compact NSEC in the authority section (RFC 9824; spec §3.1).
//!
//! It runs after the walk, so lookup only states what is missing and
//! where; which RCODE a missing name gets and what the NSEC says are
//! decided here, from the building blocks in [`super::denial`].
//!
//! A missing name whose compact NSEC is not already signed costs a fresh
//! signature, which the zone's budget ([`super::flood`]) must allow; past
//! it the name is proven NXDOMAIN the classic way, with the NSECs over the
//! zone's real names that cover it and its wildcard ([`super::ranges`]).
//! Every other case stays compact: its NSECs are one per real name anyway.

use std::sync::Arc;

use arrayvec::ArrayVec;

use super::Signer;
use super::cache::SigKey;
use super::denial::{Denial, nxdomain_reply};
use super::flood::{Charge, ZoneFlood};
use super::ranges::{RangeChain, closest_encloser, wildcard_of};
use crate::outcome::{Missing, NsecRdata, Outcome, Owner};
use crate::wire::name::MAX_NAME_LEN;
use crate::wire::{RType, Rcode};
use crate::zone::Zone;

/// Adds the NSEC for the outcome's owed proof, if any. `qname` is the
/// question's lowercase wire name; `now` the time the reply is signed at.
/// A proof is only ever owed by a signed answer, so without one there is
/// nothing to do.
pub fn prove<'z>(out: &mut Outcome<'z>, qname: &[u8], signer: &Signer, now: u64) {
    let Some(proof) = out.proof.take() else {
        return;
    };
    let mut owner = [0u8; MAX_NAME_LEN];
    let wire = out.owner_wire(proof.owner, qname);
    let owner = &mut owner[..wire.len()];
    owner.copy_from_slice(wire);
    owner.make_ascii_lowercase();
    let denial = match &proof.missing {
        Missing::Name(_) => Denial::NxName,
        Missing::Types(types) => Denial::NoData(types),
        Missing::EmptyNonTerminal => Denial::EmptyNonTerminal,
        Missing::Delegation => Denial::InsecureDelegation,
    };
    let Some(rdata) = denial.nsec_rdata_inline(owner) else {
        return;
    };
    if let Missing::Name(zone) = proof.missing {
        if let Some(flood) = over_budget(out, signer, owner, &rdata, proof.ttl, now)
            && let Some(chain) = flood.chain_for(zone)
            && prove_from_ranges(out, zone, &chain, owner, proof.ttl)
        {
            flood.count_ranged();
            return;
        }
        // With DO the name is answered NOERROR with an NXNAME NSEC,
        // unless the client set CO (RFC 9824 §3.1).
        let reply = nxdomain_reply(true, out.compact_ok);
        out.rcode = reply.rcode;
        out.set_co = reply.set_co;
    }
    out.push_nsec(proof.owner, rdata, proof.ttl);
}

/// The zone's flood state when the compact NSEC `rdata` of the missing
/// name `owner` would be a fresh signature and the zone's budget says to
/// prove the name from ranges instead; `None` to sign it.
fn over_budget(
    out: &Outcome<'_>,
    signer: &Signer,
    owner: &[u8],
    rdata: &[u8],
    ttl: u32,
    now: u64,
) -> Option<Arc<ZoneFlood>> {
    if !signer.negatives.enabled() {
        return None;
    }
    let keys = out.signer?;
    let key = keys.signers(RType::NSEC).next()?;
    // As the signing stage will look it up (`Entry::wire_ttl`).
    let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
    let cached = SigKey {
        owner,
        rtype: RType::NSEC,
        digest: signer.cache.rrset_digest(out.class.0, ttl, [rdata]),
        key_id: key.id(),
    };
    if signer.cache.contains(&cached, now) {
        return None;
    }
    match signer.negatives.charge(keys.zone(), now) {
        (Charge::Ranges, flood) => flood,
        (Charge::Compact, _) => None,
    }
}

/// Proves `name` (lowercase wire) does not exist in `zone` with the chain's
/// NSECs (RFC 4035 §3.1.3.2): the one covering the name and the one
/// covering the wildcard at its closest encloser (one NSEC when that is the
/// same). RCODE NXDOMAIN, never CO: this is not a compact answer. False,
/// with the outcome untouched, when the chain cannot prove it (the name or
/// its wildcard owns an NSEC, which lookup rules out) or the NSECs do not
/// fit in the outcome.
fn prove_from_ranges<'z>(
    out: &mut Outcome<'z>,
    zone: &'z Arc<Zone>,
    chain: &RangeChain,
    name: &[u8],
    ttl: u32,
) -> bool {
    let zone: &'z Zone = zone;
    let Some(wildcard) = wildcard_of(closest_encloser(zone, name)) else {
        return false;
    };
    let mut nsecs: ArrayVec<(&'z [u8], NsecRdata), 2> = ArrayVec::new();
    for target in [name, &wildcard[..]] {
        let at = chain.covering(target);
        let owner = chain.owner(at);
        // A name the chain holds is no gap: nothing to prove with it.
        if owner == target {
            return false;
        }
        if nsecs
            .iter()
            .any(|(held, _)| held.eq_ignore_ascii_case(owner))
        {
            continue;
        }
        let Some(node) = zone.node(owner) else {
            return false;
        };
        let Some(rdata) = chain.nsec_rdata(at, node) else {
            return false;
        };
        nsecs.push((node.name.as_wire(), rdata));
    }
    if out.nsecs.remaining_capacity() < nsecs.len()
        || out.authority.remaining_capacity() < nsecs.len()
    {
        return false;
    }
    out.rcode = Rcode::NXDOMAIN;
    out.set_co = false;
    for (owner, rdata) in nsecs {
        out.push_nsec(Owner::Wire(owner), rdata, ttl);
    }
    true
}
