//! The denial stage of the answer pipeline: the [`Proof`] lookup left owed
//! becomes a compact NSEC in the authority section (RFC 9824; spec §3.1).
//!
//! It runs after the walk, so lookup only states what is missing and
//! where; which RCODE a missing name gets and what the NSEC says are
//! decided here, from the building blocks in [`super::denial`].

use arrayvec::ArrayVec;

use super::denial::{Denial, nxdomain_reply};
use crate::outcome::{Missing, NsecRdata, Outcome};
use crate::wire::name::MAX_NAME_LEN;

/// Adds the NSEC for the outcome's owed proof, if any. `qname` is the
/// question's lowercase wire name. A proof is only ever owed by a signed
/// answer, so without one there is nothing to do.
pub fn prove(out: &mut Outcome<'_>, qname: &[u8]) {
    let Some(proof) = out.proof.take() else {
        return;
    };
    let denial = match &proof.missing {
        Missing::Name => {
            // With DO the name is answered NOERROR with an NXNAME NSEC,
            // unless the client set CO (RFC 9824 §3.1).
            let reply = nxdomain_reply(true, out.compact_ok);
            out.rcode = reply.rcode;
            out.set_co = reply.set_co;
            Denial::NxName
        }
        Missing::Types(types) => Denial::NoData(types),
        Missing::EmptyNonTerminal => Denial::EmptyNonTerminal,
        Missing::Delegation => Denial::InsecureDelegation,
    };
    let mut owner = [0u8; MAX_NAME_LEN];
    let wire = out.owner_wire(proof.owner, qname);
    let owner = &mut owner[..wire.len()];
    owner.copy_from_slice(wire);
    owner.make_ascii_lowercase();
    let mut rdata = Vec::with_capacity(64);
    denial.nsec_rdata(owner, &mut rdata);
    let mut stored: NsecRdata = ArrayVec::new();
    if stored.try_extend_from_slice(&rdata).is_ok() {
        out.push_nsec(proof.owner, stored, proof.ttl);
    }
}
