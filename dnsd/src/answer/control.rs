//! The control stage: what the query pipeline needs from replication.
//!
//! A TSIG-signed message is verified before any other stage sees it (a
//! failure is answered NOTAUTH with the TSIG error, RFC 8945 §5.2), its
//! reply is signed with the same key, and the key's name goes with the
//! request to the stages that decide by it: NOTIFY (accepted from a zone's
//! primaries only) and IXFR over UDP (by the transfer ACL). Replication
//! implements [`Control`]; the answer path only asks it, so it knows
//! nothing of zones' primaries, ACLs or refresh timers. Zone transfers over
//! TCP never reach the pipeline: the TCP transport hands them to `xfr`.

use std::net::IpAddr;

use crate::wire::tsig::Keyring;
use crate::wire::{Name, Rcode};

/// What replication decides for the answer path.
pub trait Control: Send + Sync {
    /// The TSIG keys requests may be signed with.
    fn keys(&self) -> &Keyring;

    /// A NOTIFY for the zone `zone` (lower-case wire name) from `peer`,
    /// signed with the verified key `key` if any: the RCODE to answer
    /// (NOERROR when the sender is one of the zone's primaries and a check
    /// has been triggered; REFUSED otherwise, RFC 1996 as PowerDNS applies
    /// it).
    fn notify(&self, zone: &[u8], peer: IpAddr, key: Option<&Name>) -> Rcode;

    /// Whether `peer`, signed with `key`, may transfer `zone` (lower-case
    /// wire name).
    fn may_transfer(&self, zone: &[u8], peer: IpAddr, key: Option<&Name>) -> bool;
}

/// Octets to keep free in a reply for the TSIG RR signing it: the key
/// name, the fixed fields, the longest algorithm name and the longest MAC.
pub fn tsig_reserve(key: &Name) -> usize {
    key.wire_len() + 10 + 26 + 16 + 64 + 6
}

/// `packet` without its last record (the TSIG RR, which ends at the end
/// of the packet and starts at `unsigned_len`), ARCOUNT one less: the
/// request the pipeline answers.
pub fn strip_tsig(packet: &[u8], unsigned_len: usize) -> Vec<u8> {
    let mut request = packet[..unsigned_len].to_vec();
    let arcount = u16::from_be_bytes([request[10], request[11]]).saturating_sub(1);
    request[10..12].copy_from_slice(&arcount.to_be_bytes());
    request
}

/// The configured [`Control`], shareable and printable.
#[derive(Clone)]
pub struct ControlHandle(pub std::sync::Arc<dyn Control>);

impl std::fmt::Debug for ControlHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control { .. }")
    }
}
