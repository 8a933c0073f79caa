//! The signed copy of an online-signed zone that an outgoing zone transfer
//! sends to secondaries holding no key (Knot, NSD, BIND): a complete,
//! conventionally signed zone (spec `dnssec.md` §7).
//!
//! Online answers prove denial with compact NSECs made per query (RFC
//! 9824), which exist nowhere as zone data. A keyless secondary must serve
//! proofs from what it received, so the transfer carries what an offline
//! signer would have produced instead:
//!
//! - every RRset of the zone, each authoritative one with its RRSIGs, made
//!   through the [`Signer`]'s cache with the online window and jitter, so a
//!   signature already handed out online is reused rather than remade;
//! - a full NSEC chain over the real names in canonical order (RFC 4034
//!   §6.1), one NSEC per authoritative name and per delegation point; empty
//!   non-terminals and names below a cut get none (RFC 4035 §2.3);
//! - nothing signed that is not authoritative: NS at a cut and glue travel
//!   unsigned, DS at a cut is signed (RFC 4035 §2.2).
//!
//! LUA (and ALIAS) records travel as their own types, signed as stored, and
//! their type codes appear in the NSEC bitmap, as PowerDNS does
//! (`lua-records.md` §13). dnsd has no NSEC3 mode (the API refuses NSEC3
//! parameters), so the chain is always NSEC.
//!
//! The zone is an immutable snapshot, so the copy is consistent even while
//! updates publish newer versions; nothing here reads the clock.

use std::sync::Arc;

use super::denial::{TypeBitmap, nsec_rdata};
use super::store::ZoneKeys;
use super::{Scratch, SignError, Signer};
use crate::wire::RType;
use crate::zone::{Node, RRset, Record, Zone};

/// Class of every record of a served zone.
const CLASS_IN: u16 = 1;

/// Why a signed copy of a zone cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferSignError {
    /// The keys belong to another zone: their RRSIGs would name the wrong
    /// signer.
    #[error("keys of zone {keys} cannot sign zone {zone}")]
    KeysOfOtherZone { zone: String, keys: String },
    /// No active key signs some part of the zone (what the online path
    /// would also leave unsigned).
    #[error("zone {zone}: no active key signs {what}")]
    NoSigner { zone: String, what: &'static str },
    /// The apex has no DNSKEY RRset, so no validator could check the copy.
    #[error("zone {0} publishes no DNSKEY at its apex")]
    NoDnskey(String),
    /// One RRset could not be signed.
    #[error("signing {owner} {rtype}: {source}")]
    Sign {
        owner: String,
        rtype: RType,
        #[source]
        source: SignError,
    },
}

/// Every record of `zone`, conventionally signed with `keys`, in transfer
/// order: the apex SOA first, then names in canonical order, each RRset
/// followed by its RRSIGs and each name's NSEC (with its RRSIGs) last. The
/// caller adds the closing SOA of an AXFR.
///
/// Signatures come from `signer`'s cache when it holds one for the RRset
/// and are otherwise made at `now` (seconds since the epoch) and cached.
pub fn signed_zone_records(
    zone: &Zone,
    keys: &ZoneKeys,
    signer: &Signer,
    now: u64,
) -> Result<Vec<Record>, TransferSignError> {
    if keys.zone() != &zone.origin {
        return Err(TransferSignError::KeysOfOtherZone {
            zone: zone.origin.to_string(),
            keys: keys.zone().to_string(),
        });
    }
    keys.check_can_sign()
        .map_err(|what| TransferSignError::NoSigner {
            zone: zone.origin.to_string(),
            what,
        })?;
    if zone.apex().rrset(RType::DNSKEY).is_none() {
        return Err(TransferSignError::NoDnskey(zone.origin.to_string()));
    }

    // Every name is at or below the apex, so the apex sorts first and the
    // copy opens with its SOA.
    let names = canonical_names(zone);
    // Indices into `names` of the names that own an NSEC, in chain order.
    let chain: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].kind == Kind::Authoritative || names[i].kind == Kind::Cut)
        .collect();

    let mut out = Vec::with_capacity(zone.record_count * 2 + chain.len() * 2);
    let mut sealer = Sealer {
        keys,
        signer,
        now,
        scratch: Scratch::new(),
        batch: Vec::new(),
    };
    let mut position = 0;
    for name in &names {
        match name.kind {
            Kind::Empty => continue,
            Kind::Occluded => {
                for set in filtered(name.node) {
                    push_rrset(name.node, set.rtype, set.ttl, &set.rdatas, &mut out);
                }
                continue;
            }
            Kind::Cut => sealer.cut(name, &mut out)?,
            Kind::Authoritative => sealer.authoritative(name, &mut out)?,
        }
        position += 1;
        // The last name of the chain points back at the apex.
        let next = &names[chain[position % chain.len()]];
        let nsec = nsec_of(name, &next.key);
        sealer.rrset(
            name,
            RType::NSEC,
            zone.negative_ttl,
            [&nsec[..]],
            true,
            &mut out,
        )?;
    }
    Ok(out)
}

/// What a name is in the signed copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Holds authoritative data: signed, owns an NSEC.
    Authoritative,
    /// A delegation point: DS signed, NS not; owns an NSEC.
    Cut,
    /// Below a cut (glue) or below a DNAME: sent unsigned, no NSEC.
    Occluded,
    /// No data (an empty non-terminal): nothing is sent.
    Empty,
}

/// A name of the zone and what the copy makes of it.
struct Named<'z> {
    /// Lowercase wire name.
    key: Box<[u8]>,
    node: &'z Node,
    kind: Kind,
}

/// Every name of the zone, in canonical order (RFC 4034 §6.1), so the apex
/// comes first and names below a cut follow the cut.
fn canonical_names(zone: &Zone) -> Vec<Named<'_>> {
    let mut names: Vec<Named<'_>> = zone
        .nodes
        .values()
        .map(|node| {
            let kind = if node.is_occluded {
                Kind::Occluded
            } else if node.is_delegation {
                Kind::Cut
            } else if filtered(node).next().is_none() {
                Kind::Empty
            } else {
                Kind::Authoritative
            };
            Named {
                key: node.name.as_wire().to_ascii_lowercase().into(),
                node,
                kind,
            }
        })
        .collect();
    // Labels compared from the root, each as lowercase octets, a label
    // that is a prefix of another first, a name before its descendants:
    // exactly slice order on the reversed label lists of lowercase keys.
    let mut order: Vec<(Vec<&[u8]>, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, named)| (labels_from_root(&named.key), i))
        .collect();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<Named<'_>>> = names.drain(..).map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each index once"))
        .collect()
}

/// The labels of an uncompressed wire name, the root's excluded, from the
/// root down. Node keys are valid wire names; a malformed one stops early.
fn labels_from_root(wire: &[u8]) -> Vec<&[u8]> {
    let mut labels = Vec::with_capacity(8);
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        let len = usize::from(len);
        let Some(label) = wire.get(pos + 1..pos + 1 + len) else {
            break;
        };
        if len == 0 {
            break;
        }
        labels.push(label);
        pos += 1 + len;
    }
    labels.reverse();
    labels
}

/// The RRsets of `node` that the copy sends. Stored RRSIG and NSEC
/// records (a zone file may carry them) would contradict the signatures
/// and chain made here; NSEC3 has no place beside an NSEC chain.
fn filtered(node: &Node) -> impl Iterator<Item = &RRset> {
    node.rrsets.iter().filter(|set| {
        !matches!(
            set.rtype,
            RType::RRSIG | RType::NSEC | RType::NSEC3 | RType::NSEC3PARAM
        )
    })
}

/// The NSEC RDATA of `name` pointing at `next` (lowercase wire). The bitmap
/// lists the types the name holds, RRSIG and NSEC; at a cut only NS and DS
/// (RFC 4035 §2.3: the parent is authoritative for nothing else there).
fn nsec_of(name: &Named<'_>, next: &[u8]) -> Box<[u8]> {
    let types = filtered(name.node)
        .map(|set| set.rtype)
        .filter(|&rtype| name.kind != Kind::Cut || rtype == RType::NS || rtype == RType::DS);
    let bitmap = TypeBitmap::from_types(types)
        .with(RType::RRSIG)
        .with(RType::NSEC);
    let mut rdata = Vec::with_capacity(next.len() + 40);
    nsec_rdata(next, &bitmap, &mut rdata);
    rdata.into_boxed_slice()
}

/// Appends one RRset's records, as they are stored.
fn push_rrset<'r>(
    node: &Node,
    rtype: RType,
    ttl: u32,
    rdatas: impl IntoIterator<Item = &'r [u8]>,
    out: &mut Vec<Record>,
) {
    out.extend(rdatas.into_iter().map(|rdata| Record {
        owner: node.name.clone(),
        rtype,
        class: CLASS_IN,
        ttl,
        rdata: rdata.into(),
        location: None,
    }));
}

/// Signs RRsets through the shared cache, with reused buffers.
struct Sealer<'a> {
    keys: &'a ZoneKeys,
    signer: &'a Signer,
    now: u64,
    scratch: Scratch,
    batch: Vec<Arc<[u8]>>,
}

impl Sealer<'_> {
    /// An authoritative name: every RRset signed, the SOA first at the apex.
    fn authoritative(
        &mut self,
        name: &Named<'_>,
        out: &mut Vec<Record>,
    ) -> Result<(), TransferSignError> {
        let soa = filtered(name.node).filter(|set| set.rtype == RType::SOA);
        let rest = filtered(name.node).filter(|set| set.rtype != RType::SOA);
        for set in soa.chain(rest) {
            self.rrset(name, set.rtype, set.ttl, &set.rdatas, true, out)?;
        }
        Ok(())
    }

    /// A delegation point: the parent signs only the DS; the NS and any
    /// address records at the cut (glue) go unsigned.
    fn cut(&mut self, name: &Named<'_>, out: &mut Vec<Record>) -> Result<(), TransferSignError> {
        for set in filtered(name.node) {
            let signed = set.rtype == RType::DS;
            self.rrset(name, set.rtype, set.ttl, &set.rdatas, signed, out)?;
        }
        Ok(())
    }

    /// Appends one RRset and, when `signed`, its RRSIGs (one per key that
    /// signs the type, as online: KSK/CSK for DNSKEY, CDS and CDNSKEY).
    fn rrset<'r, I>(
        &mut self,
        name: &Named<'_>,
        rtype: RType,
        ttl: u32,
        rdatas: I,
        signed: bool,
        out: &mut Vec<Record>,
    ) -> Result<(), TransferSignError>
    where
        I: IntoIterator<Item = &'r [u8]> + Clone,
    {
        push_rrset(name.node, rtype, ttl, rdatas.clone(), out);
        if !signed {
            return Ok(());
        }
        self.batch.clear();
        // The lowercase owner, as the answer path signs it, so both share
        // cache entries.
        self.signer
            .rrsigs(
                self.keys,
                &name.key,
                rtype,
                CLASS_IN,
                ttl,
                rdatas,
                self.now,
                &mut self.scratch,
                &mut self.batch,
            )
            .map_err(|source| TransferSignError::Sign {
                owner: name.node.name.to_string(),
                rtype,
                source,
            })?;
        out.extend(self.batch.drain(..).map(|rrsig| Record {
            owner: name.node.name.clone(),
            rtype: RType::RRSIG,
            class: CLASS_IN,
            ttl,
            rdata: rrsig[..].into(),
            location: None,
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
