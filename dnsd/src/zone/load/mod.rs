//! Zone files in RFC 1035 master format, read into [`Record`]s and checked.
//!
//! [`parse_str`] reads text (directives, defaults, RDATA), [`validate`]
//! applies the zone rules, and [`load_file`] does both for a file, dropping
//! exact duplicates in between. Errors are collected rather than stopping at
//! the first, and each carries `file:line`.
//!
//! Reading happens at load time, never per query, but must stay linear: a
//! zone of a million records loads in seconds.

mod error;
mod parser;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{LoadError, LoadErrors};
pub use parser::{MAX_ERRORS, MAX_INCLUDE_DEPTH};
pub use validate::{MAX_TTL, dedup, validate};

use crate::wire::Name;
use crate::zone::Record;

/// Reads, parses and validates the zone file at `path` for zone `origin`.
/// Identical duplicate records are dropped silently.
pub fn load_file(origin: &Name, path: &Path) -> Result<Vec<Record>, LoadErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadErrors(vec![LoadError::new(
            None,
            format!("cannot read {}: {e}", path.display()),
        )])
    })?;
    let records = dedup(parse_str(origin, &text, path)?);
    let errors = validate(origin, &records);
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(LoadErrors(errors))
    }
}

/// Parses zone-file text without checking zone rules. `file` names the
/// text in locations and anchors relative `$INCLUDE` paths.
pub fn parse_str(origin: &Name, text: &str, file: &Path) -> Result<Vec<Record>, LoadErrors> {
    let mut parser = parser::Parser::new();
    parser.parse_file_text(origin, text, file);
    if parser.errors.is_empty() {
        Ok(parser.records)
    } else {
        Err(LoadErrors(parser.errors))
    }
}
