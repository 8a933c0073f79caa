//! The DNS work an allocation's state implies, as idempotent steps.
//!
//! Effects are stored in the outbox as JSON in the same transaction as the
//! state change that implies them, then applied (possibly more than once,
//! possibly after a crash) until they succeed. So every effect must be safe
//! to repeat and must converge DNS to one state whatever ran before.

use serde::{Deserialize, Serialize};

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dns::{DnsError, PdnsClient, RrsetChange, child_fqdn, fqdn, is_strict_subdomain};

/// The canonical names published at commit, relative to the child apex
/// (`""` is the apex itself), each an A record (and AAAA when an IPv6
/// address was given) with TTL 300.
pub const CANONICAL_NAMES: [&str; 6] = ["", "*", "console", "api", "gitea", "harbor"];
/// TTL of the canonical records (PDM's value).
pub const CANONICAL_TTL: u32 = 300;
/// TTL of the delegation NS and DS in the parent (PDM's value).
pub const DELEGATION_TTL: u32 = 3600;

/// One unit of DNS work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// Child zone `zone` with an explicit SOA and `nameservers` at the apex,
    /// DNSSEC on; then in `parent` the NS delegation (TTL 3600) and the
    /// child's DS (digest type 2), so the chain of trust reaches the child.
    Provision {
        /// `<sub>.<pool>`.
        zone: String,
        /// `<pool>`.
        parent: String,
        /// Apex NS and delegation NS.
        nameservers: Vec<String>,
    },
    /// The canonical records in `zone`: A to `ipv4` on every name of
    /// [`CANONICAL_NAMES`], AAAA to `ipv6` when given (and no AAAA when not).
    Publish {
        /// `<sub>.<pool>`.
        zone: String,
        /// A target.
        ipv4: String,
        /// AAAA target.
        ipv6: Option<String>,
    },
    /// Removes the delegation NS and DS from `parent`, then deletes `zone`.
    /// (In that order: a DS pointing at a deleted zone would make the name
    /// bogus rather than absent for validators.)
    Teardown {
        /// `<sub>.<pool>`.
        zone: String,
        /// `<pool>`.
        parent: String,
    },
}

/// Applies one effect. Idempotent: each step either converges a record set
/// to a wanted state (REPLACE) or removes it (DELETE, "not found" is done),
/// so a repeat, or a run after a partial earlier one, ends in the same state.
// OWNED BY THE DNS-CLIENT ENGINEER.
pub async fn apply(dns: &PdnsClient, effect: &Effect) -> Result<(), DnsError> {
    match effect {
        Effect::Provision {
            zone,
            parent,
            nameservers,
        } => provision(dns, zone, parent, nameservers).await,
        Effect::Publish { zone, ipv4, ipv6 } => publish(dns, zone, ipv4, ipv6.as_deref()).await,
        Effect::Teardown { zone, parent } => teardown(dns, zone, parent).await,
    }
}

/// Child zone, signed, then the delegation and DS in the parent. The
/// parent is written last and in one PATCH, so a resolver never sees a DS
/// before the child is signed, nor NS without the DS (which would make the
/// delegation insecure for a moment).
async fn provision(
    dns: &PdnsClient,
    zone: &str,
    parent: &str,
    nameservers: &[String],
) -> Result<(), DnsError> {
    let child = fqdn(zone);
    check_child(&format!("provision {child}"), &child, parent)?;
    let ds = dns.ensure_zone(&child, nameservers).await?;
    let mut changes = vec![RrsetChange::Replace {
        name: child.clone(),
        rtype: "NS".into(),
        ttl: DELEGATION_TTL,
        contents: nameservers.iter().map(|n| fqdn(n)).collect(),
    }];
    // A child without keys gets an insecure delegation rather than a DS
    // that matches nothing (which would make it bogus).
    changes.push(if ds.is_empty() {
        RrsetChange::Delete {
            name: child.clone(),
            rtype: "DS".into(),
        }
    } else {
        RrsetChange::Replace {
            name: child.clone(),
            rtype: "DS".into(),
            ttl: DELEGATION_TTL,
            contents: ds,
        }
    });
    dns.patch_rrsets(parent, &changes).await
}

/// The canonical A (and AAAA) records, in one PATCH so the names never
/// disagree. With no IPv6 the AAAA sets are deleted, so a commit that
/// changed its addresses converges instead of keeping a stale AAAA.
async fn publish(
    dns: &PdnsClient,
    zone: &str,
    ipv4: &str,
    ipv6: Option<&str>,
) -> Result<(), DnsError> {
    let child = fqdn(zone);
    let op = format!("publish records in {child}");
    let invalid = |message: String| DnsError::Invalid {
        operation: op.clone(),
        message,
    };
    // Parsed here so a bad address fails before anything is written, and
    // written in the canonical spelling the server insists on.
    let ipv4: Ipv4Addr = ipv4
        .trim()
        .parse()
        .map_err(|_| invalid(format!("{ipv4:?} is not an IPv4 address")))?;
    let ipv6: Option<Ipv6Addr> = ipv6
        .map(|v6| {
            v6.trim()
                .parse()
                .map_err(|_| invalid(format!("{v6:?} is not an IPv6 address")))
        })
        .transpose()?;
    let mut changes = Vec::with_capacity(CANONICAL_NAMES.len() * 2);
    for label in CANONICAL_NAMES {
        let name =
            child_fqdn(label, &child).map_err(|e| invalid(format!("{label}.{child}: {e}")))?;
        changes.push(RrsetChange::Replace {
            name: name.clone(),
            rtype: "A".into(),
            ttl: CANONICAL_TTL,
            contents: vec![ipv4.to_string()],
        });
        changes.push(match ipv6 {
            Some(v6) => RrsetChange::Replace {
                name,
                rtype: "AAAA".into(),
                ttl: CANONICAL_TTL,
                contents: vec![v6.to_string()],
            },
            None => RrsetChange::Delete {
                name,
                rtype: "AAAA".into(),
            },
        });
    }
    dns.patch_rrsets(&child, &changes).await
}

/// Delegation and DS out of the parent first, then the child zone (see
/// [`Effect::Teardown`] for why this order). Anything already gone counts
/// as done.
async fn teardown(dns: &PdnsClient, zone: &str, parent: &str) -> Result<(), DnsError> {
    let child = fqdn(zone);
    check_child(&format!("tear down {child}"), &child, parent)?;
    let changes = [
        RrsetChange::Delete {
            name: child.clone(),
            rtype: "NS".into(),
        },
        RrsetChange::Delete {
            name: child.clone(),
            rtype: "DS".into(),
        },
    ];
    match dns.patch_rrsets(parent, &changes).await {
        // No parent zone: no delegation to remove.
        Err(DnsError::Status { status: 404, .. }) => {}
        other => other?,
    }
    dns.delete_zone(&child).await
}

/// Refuses a child that is not strictly below its parent: teardown would
/// otherwise delete the parent (the pool zone) or an unrelated zone.
fn check_child(operation: &str, child: &str, parent: &str) -> Result<(), DnsError> {
    if is_strict_subdomain(child, parent) {
        Ok(())
    } else {
        Err(DnsError::Invalid {
            operation: operation.to_string(),
            message: format!("{child} is not below {}", fqdn(parent)),
        })
    }
}
