//! The DNS work an allocation's state implies, as idempotent steps.
//!
//! Effects are stored in the outbox as JSON in the same transaction as the
//! state change that implies them, then applied (possibly more than once,
//! possibly after a crash) until they succeed. So every effect must be safe
//! to repeat and must converge DNS to one state whatever ran before.

use serde::{Deserialize, Serialize};

use crate::dns::{DnsError, PdnsClient};

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

/// Applies one effect. Idempotent.
// OWNED BY THE DNS-CLIENT ENGINEER.
pub async fn apply(_dns: &PdnsClient, _effect: &Effect) -> Result<(), DnsError> {
    todo!()
}
