//! Online DNSSEC signing (issue 7; `shared/spec/dnssec.md`): the building
//! blocks the answer path uses to sign what it sends when a query has DO=1.
//!
//! ```text
//!  KeyStore (store.rs)          <data-dir>/keys/<zone>/K<zone>.+013+<tag>.{key,private}
//!     | ensure_keys(zone, policy): load, or generate when no key file exists
//!     v
//!  ZoneKeys (store.rs)          keys + published/active state + CSK/KSK/ZSK role
//!     | signers(rtype), dnskey_rdatas(), cds_rdatas(), cdnskey_rdatas(), ds_lines()
//!     v
//!  rrsigs() (here) --> SigCache (cache.rs) --hit--> Arc<[u8]> RRSIG RDATA
//!                          | miss
//!                          v
//!                      sign_rrset (sign.rs): canonical form, Window, SigningKey::sign (keys.rs)
//!
//!  denial.rs: compact NSEC for negative answers: next name succ(q), type
//!  bitmap per case (NXNAME / NODATA / ENT / insecure cut), RCODE and CO.
//! ```
//!
//! - [`keys`] holds [`SigningKey`] (algorithms 13 and 15 via `ring`), DNSKEY and
//!   DS/CDS/CDNSKEY RDATA, key tags, roles, BIND `.key`/`.private` text.
//! - [`store`] holds [`KeyStore`] (files 0600 in folders 0700, atomic writes;
//!   unreadable or corrupt keys are errors naming the file, never replaced)
//!   and [`ZoneKeys`].
//! - [`sign`] holds [`sign_rrset`], [`verify_rrsig`], [`Window`]/[`SigPolicy`]
//!   (inception an hour before the current hour, 14 days, jitter, refresh).
//! - [`cache`] holds [`SigCache`], sharded and bounded in bytes, never blocking.
//! - [`denial`] holds [`succ`], [`TypeBitmap`], [`Denial`], [`nxdomain_reply`].
//! - [`timestamp`] holds RRSIG and BIND time text.
//! - [`flood`] holds [`NegativeBudget`], the per-zone cap on fresh
//!   negative signatures per second; [`ranges`] the fallback past it, NSEC
//!   ranges over a zone's real names ([`RangeChain`]).
//! - [`edge`] decides which fetched keys an edge publishes and signs a
//!   secondary zone with (pre-publication across a fleet).
//!
//! Invariants: nothing here logs or prints private key material (`Debug`
//! redacts it); nothing on the signing path reads the clock or does I/O —
//! callers pass `now`; only [`store`] touches files.

pub mod cache;
pub mod denial;
pub mod edge;
pub mod flood;
pub mod keys;
pub mod prove;
pub mod ranges;
pub mod reply_signatures;
pub mod sign;
pub mod store;
pub mod timestamp;
pub mod transfer;

#[cfg(test)]
mod interop_tests;

use std::sync::Arc;

pub use cache::{CacheStats, SigCache};
pub use denial::{Denial, TypeBitmap, nxdomain_reply, succ, succ_delegation};
pub use flood::{DEFAULT_NEGATIVE_SIGNATURES_PER_ZONE, FloodStats, NegativeBudget};
pub use keys::{Algorithm, DigestType, KeyRole, SigningKey};
pub use prove::prove;
pub use ranges::RangeChain;
pub use reply_signatures::ReplySignatures;
pub use sign::{Scratch, SigPolicy, SignError, Window, sign_rrset, verify_rrsig};
pub use store::{KeyPolicy, KeyStore, KeyStoreError, ZoneKeys};
pub use transfer::{TransferSignError, signed_zone_records};

use crate::wire::RType;

/// Appends to `out` the RRSIG RDATA for one RRset: one per key of `keys`
/// that signs `rtype` (the CSK, or the KSK for DNSKEY/CDS/CDNSKEY and the
/// ZSK otherwise), each from `cache` or signed now and cached.
///
/// `owner` is the wire owner as it goes in the answer (for a wildcard
/// expansion in compact mode, the query name: spec §4 item 3). The caller
/// decides what is signed at all (spec §2.3: not delegation NS, glue or OPT).
#[allow(clippy::too_many_arguments)] // The fields of an RRset, plus keys, cache, time and scratch.
pub fn rrsigs<'r, I>(
    keys: &ZoneKeys,
    cache: &SigCache,
    owner: &[u8],
    rtype: RType,
    class: u16,
    ttl: u32,
    rdatas: I,
    now: u64,
    policy: &SigPolicy,
    scratch: &mut Scratch,
    out: &mut Vec<Arc<[u8]>>,
) -> Result<(), SignError>
where
    I: IntoIterator<Item = &'r [u8]> + Clone,
{
    for key in keys.signers(rtype) {
        out.push(cache.rrsig(
            key,
            owner,
            rtype,
            class,
            ttl,
            rdatas.clone(),
            now,
            policy,
            scratch,
        )?);
    }
    Ok(())
}

/// Online signing shared by every worker: one signature cache, the
/// signing policy and the per-zone budget of fresh negative signatures.
/// Workers bring their own [`Scratch`].
#[derive(Debug)]
pub struct Signer {
    pub cache: SigCache,
    pub policy: SigPolicy,
    pub negatives: NegativeBudget,
}

impl Signer {
    /// A signer whose cache holds at most `cache_bytes` of signatures, with
    /// the default budget of fresh negative signatures per zone.
    /// Signatures are refreshed when less than a third of their validity
    /// remains (issue 7; the spec's 7 days is a looser bound).
    pub fn new(cache_bytes: usize) -> Signer {
        Signer::with_negative_budget(cache_bytes, DEFAULT_NEGATIVE_SIGNATURES_PER_ZONE)
    }

    /// [`Signer::new`] with `per_second` fresh negative signatures per zone
    /// (0: no cap, always compact denial).
    pub fn with_negative_budget(cache_bytes: usize, per_second: u32) -> Signer {
        let defaults = SigPolicy::default();
        let shards = std::thread::available_parallelism().map_or(4, |n| n.get() * 4);
        Signer {
            cache: SigCache::new(cache_bytes, shards),
            policy: SigPolicy {
                refresh: defaults.validity / 3,
                ..defaults
            },
            negatives: NegativeBudget::new(per_second),
        }
    }

    /// [`rrsigs`] with this signer's cache and policy.
    #[allow(clippy::too_many_arguments)] // The fields of an RRset, plus keys, time and scratch.
    pub fn rrsigs<'r, I>(
        &self,
        keys: &ZoneKeys,
        owner: &[u8],
        rtype: RType,
        class: u16,
        ttl: u32,
        rdatas: I,
        now: u64,
        scratch: &mut Scratch,
        out: &mut Vec<Arc<[u8]>>,
    ) -> Result<(), SignError>
    where
        I: IntoIterator<Item = &'r [u8]> + Clone,
    {
        rrsigs(
            keys,
            &self.cache,
            owner,
            rtype,
            class,
            ttl,
            rdatas,
            now,
            &self.policy,
            scratch,
            out,
        )
    }
}
