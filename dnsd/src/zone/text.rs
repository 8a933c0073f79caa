//! A zone -> zone-file text (RFC 1035 §5), one record per line with
//! absolute names, which the zone loader reads back unchanged. Used to
//! persist copies of secondary zones in a form an operator can read.

use std::io::{self, Write};

use super::tree::{PackedRdatas, Zone};
use crate::wire::{Name, RType, rdata};

/// Writes every record of `zone` to `out`, the SOA first, straight from
/// its nodes (no record list, no sort: a copy of a million records is
/// written as fast as it can be formatted). RDATA a codec cannot print (a
/// type it knows, malformed) goes out in the generic form (RFC 3597 §5).
pub fn write_zone_text(zone: &Zone, out: &mut impl Write) -> io::Result<()> {
    let apex = zone.apex();
    let others = zone.nodes().filter(|n| !std::ptr::eq(*n, apex));
    if let Some(soa) = apex.rrset(RType::SOA) {
        write_rrset(out, &apex.name, soa.rtype, soa.ttl, &soa.rdatas)?;
    }
    for node in std::iter::once(apex).chain(others) {
        for set in node.rrsets.iter().filter(|s| s.rtype != RType::SOA) {
            write_rrset(out, &node.name, set.rtype, set.ttl, &set.rdatas)?;
        }
    }
    Ok(())
}

fn write_rrset(
    out: &mut impl Write,
    owner: &Name,
    rtype: RType,
    ttl: u32,
    rdatas: &PackedRdatas,
) -> io::Result<()> {
    for rdata in rdatas {
        let text = rdata::to_text(rtype, rdata).unwrap_or_else(|_| generic(rdata));
        writeln!(out, "{owner}\t{ttl}\tIN\t{rtype}\t{text}")?;
    }
    Ok(())
}

fn generic(wire: &[u8]) -> String {
    let mut text = format!("\\# {}", wire.len());
    if !wire.is_empty() {
        text.push(' ');
        for b in wire {
            text.push_str(&format!("{b:02x}"));
        }
    }
    text
}
