//! Records -> zone-file text (RFC 1035 §5), one record per line with
//! absolute names, which the zone loader reads back unchanged. Used to
//! persist copies of secondary zones in a form an operator can read.

use std::io::{self, Write};

use super::record::Record;
use crate::wire::rdata;

/// Writes `records` to `out`. RDATA a codec cannot print (a type it
/// knows, malformed) goes out in the generic form (RFC 3597 §5).
pub fn write_zone_text(records: &[Record], out: &mut impl Write) -> io::Result<()> {
    for record in records {
        let text =
            rdata::to_text(record.rtype, &record.rdata).unwrap_or_else(|_| generic(&record.rdata));
        writeln!(
            out,
            "{}\t{}\tIN\t{}\t{}",
            record.owner, record.ttl, record.rtype, text
        )?;
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
