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
mod read;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{LoadError, LoadErrors};
pub use parser::{MAX_ERRORS, MAX_INCLUDE_DEPTH};
pub use read::{MAX_LINE, read_zone_text};
pub use validate::{MAX_TTL, dedup_and_validate, validate};

use crate::dynamic::{compile_rdata, settings};
use crate::wire::{Name, RType};
use crate::zone::Record;

/// Reads, parses and validates the zone file at `path` for zone `origin`.
/// Identical duplicate records are dropped silently.
pub fn load_file(origin: &Name, path: &Path) -> Result<Vec<Record>, LoadErrors> {
    let records = parse_file(origin, path)?;
    check_records(origin, records)
}

/// Reads and checks the zone file at `path` as [`load_file`] does, and
/// meanwhile, on a second thread, hands its records to `index`, which
/// returns what is served from them. Checking and indexing each take about
/// a third of a large zone's load and only read the records, so the zone
/// is ready sooner. `index` sees the records before duplicates are dropped,
/// so it must ignore them (as [`crate::zone::build_zone`] does); its
/// result is dropped if the file has errors.
pub fn load_file_indexed<T: Send>(
    origin: &Name,
    path: &Path,
    index: impl FnOnce(&[Record]) -> T + Send,
) -> Result<T, LoadErrors> {
    let mut records = parse_file(origin, path)?;
    clamp_ttls(&mut records);
    let (indexed, errors) = std::thread::scope(|scope| {
        let indexing = scope.spawn(|| index(&records));
        let mut errors = validate(origin, &records);
        errors.extend(check_lua(&records, settings::strict()));
        let indexed = indexing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (indexed, errors)
    });
    // The heap is not trimmed here: the caller publishes first and the
    // trim follows on the retire thread (`zones::retire`), so the zone
    // answers without waiting for it.
    drop(records);
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    Ok(indexed)
}

/// Reads and parses the zone file at `path`; on a syntax error, every
/// error of the file, LUA compile errors of the records that did parse
/// included, so one run of check-zone lists everything wrong in the file.
fn parse_file(origin: &Name, path: &Path) -> Result<Vec<Record>, LoadErrors> {
    let text = read_zone_text(path).map_err(|e| LoadErrors(vec![LoadError::new(None, e)]))?;
    let mut parser = parser::Parser::new(Includes::Read);
    parser.parse_file_text(origin, &text, path);
    if parser.errors.is_empty() {
        return Ok(parser.records);
    }
    let mut errors = parser.errors;
    errors.extend(check_lua(&parser.records, settings::strict()));
    errors.sort_by_key(|e| {
        e.location
            .as_ref()
            .map(|l| (l.file.as_path().to_path_buf(), l.line))
    });
    Err(LoadErrors(errors))
}

/// Checks records that make up a whole zone, wherever they came from (a
/// zone file, a zone transfer): duplicates dropped, TTLs clamped, the
/// zone's rules, LUA records compiled.
pub fn check_records(origin: &Name, mut records: Vec<Record>) -> Result<Vec<Record>, LoadErrors> {
    clamp_ttls(&mut records);
    let (records, mut errors) = dedup_and_validate(origin, records);
    errors.extend(check_lua(&records, settings::strict()));
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(LoadErrors(errors))
    }
}

/// Compiles every LUA record (lua-records.md §1.2, §2). One that cannot
/// answer (a Lua syntax error, a wrong argument to a known function) loads,
/// is logged with `file:line`, and answers SERVFAIL at its name, as in
/// PowerDNS, so one record does not take its zone down; with `--lua-strict`
/// (and in `check-zone`) it is an error of the zone instead. Compile
/// warnings are logged here, once per load.
pub fn check_lua(records: &[Record], strict: bool) -> Vec<LoadError> {
    let mut errors = Vec::new();
    for record in records.iter().filter(|r| r.rtype == RType::LUA) {
        let at = record
            .location
            .as_ref()
            .map_or_else(|| record.owner.to_string(), |l| l.to_string());
        match compile_rdata(&record.rdata, settings::whitespace()) {
            Ok(rule) => {
                for warning in &rule.warnings {
                    tracing::warn!("{at}: LUA record at {}: {warning}", record.owner);
                }
            }
            Err(err) if strict => {
                errors.push(LoadError::new(record.location.clone(), err.to_string()))
            }
            Err(err) => tracing::warn!(
                "{at}: LUA record at {} will answer SERVFAIL: {err}",
                record.owner
            ),
        }
    }
    errors
}

/// TTLs with the top bit set are treated as 0 (RFC 2181 §8), as BIND does
/// when loading a master file, with a warning naming `file:line`. Values
/// that do not fit 32 bits are refused by the parser already.
fn clamp_ttls(records: &mut [Record]) {
    for record in records.iter_mut().filter(|r| r.ttl > MAX_TTL) {
        let at = record
            .location
            .as_ref()
            .map_or_else(String::new, |l| format!("{l}: "));
        tracing::warn!(
            "{at}TTL {} is above {MAX_TTL} (RFC 2181 §8); using 0",
            record.ttl
        );
        record.ttl = 0;
    }
}

/// Parses zone-file text without checking zone rules. `file` names the
/// text in locations and anchors relative `$INCLUDE` paths.
pub fn parse_str(origin: &Name, text: &str, file: &Path) -> Result<Vec<Record>, LoadErrors> {
    parse_with(origin, text, file, Includes::Read)
}

/// Parses zone text that came from a client rather than the operator (the
/// HTTP API): the same grammar, but `$INCLUDE` is an error, so the text
/// can never make dnsd open a file. `name` labels the text in errors.
pub fn parse_untrusted(origin: &Name, text: &str, name: &str) -> Result<Vec<Record>, LoadErrors> {
    parse_with(origin, text, Path::new(name), Includes::Refused)
}

/// Whether `$INCLUDE` may open files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Includes {
    /// Operator's zone files: included files are read (regular files only).
    Read,
    /// Text from a client: no directive touches the file system.
    Refused,
}

fn parse_with(
    origin: &Name,
    text: &str,
    file: &Path,
    includes: Includes,
) -> Result<Vec<Record>, LoadErrors> {
    let mut parser = parser::Parser::new(includes);
    parser.parse_file_text(origin, text, file);
    if parser.errors.is_empty() {
        Ok(parser.records)
    } else {
        Err(LoadErrors(parser.errors))
    }
}
