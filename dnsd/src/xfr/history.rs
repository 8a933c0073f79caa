//! IXFR history: the diffs of each zone, newest last, bounded by count and
//! bytes, and persisted under the data directory so a restart keeps them.
//!
//! The history is a chain: each diff starts at the serial the one before
//! it ended at. A diff that does not continue the chain starts it afresh,
//! and so does one that would bring back a serial still in the chain
//! (after a serial reset), since a client at that serial could then be at
//! either of two versions. Serials are compared for equality only, so
//! wrap-around (RFC 1982) needs no care here.
//!
//! On disk, one file per zone, `<zone>.ixfr`, append-only, one diff per
//! line: `<crc32 hex> <json>\n`, the framing of the zone store's journal
//! (`zones::store`). A push is one append, not synced: the change itself
//! is durable in the zone store's journal (or, for a secondary, at its
//! primary), and a history that lost its tail in a crash no longer ends at
//! the zone's serial, so it is dropped at the first use (`keep_if_at`) and
//! clients get a full transfer. Syncing it too would double the cost of
//! every API change for nothing a crash could take. The file is
//! replayed through the same rules as `push`, so it may hold diffs that
//! the limits or a restart of the chain have since dropped; once it holds
//! twice as many lines as are kept, it is rewritten (temp file, fsync,
//! rename, fsync of the folder). A torn or damaged line is cut off at
//! `open` with everything after it: the history is a cache of what a full
//! transfer can always replace, so losing part of it costs bandwidth,
//! never correctness.
//!
//! Why JSON with base64 RDATA: the framing and the tooling (serde_json)
//! are the store's already; an operator can read the owners, types and
//! TTLs of a diff with `cut` and `jq`; and base64 keeps RDATA of any type
//! exact (no type-specific text form to round-trip) at 4/3 of its size,
//! where hex would double it. A record is a five-element array
//! `[owner, type, class, ttl, rdata]`, not an object, so field names are
//! not repeated for every record of a big diff.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};

use super::diff::Diff;
use crate::wire::{Name, RType};
use crate::zone::Record;

/// Bounds of one zone's history.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most diffs kept.
    pub max_diffs: usize,
    /// Most octets of records kept (RDATA + owner), across the diffs.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_diffs: 1000,
            max_bytes: 64 << 20,
        }
    }
}

/// Why history storage failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("IXFR history {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file is rewritten once it holds more lines than twice the diffs
/// kept, and at least this many, so a short history is not rewritten on
/// every other push.
const REWRITE_MIN_LINES: usize = 16;

/// One diff kept, with its size against [`Limits::max_bytes`].
struct Entry {
    diff: Arc<Diff>,
    size: usize,
}

/// The history of one zone.
pub struct History {
    zone: Name,
    limits: Limits,
    entries: VecDeque<Entry>,
    /// Sum of the entries' sizes.
    bytes: usize,
    /// `None`: kept in memory only.
    file: Option<HistoryFile>,
}

/// The open history file of a zone.
struct HistoryFile {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// Length of the valid content.
    len: u64,
    /// Lines the file holds, kept or not.
    lines: usize,
}

impl History {
    /// An empty history kept in memory only.
    pub fn in_memory(zone: &Name, limits: Limits) -> History {
        History {
            zone: zone.clone(),
            limits,
            entries: VecDeque::new(),
            bytes: 0,
            file: None,
        }
    }

    /// The history of `zone` stored under `dir` (created if missing); a
    /// torn or corrupt tail is cut off, never fatal. The caller checks it
    /// against the zone it serves with [`History::keep_if_at`].
    pub fn open(dir: &Path, zone: &Name, limits: Limits) -> Result<History, HistoryError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| HistoryError::Io { path, source }
        };
        create_private_dir(dir).map_err(io(dir))?;
        let path = dir.join(file_name(zone));
        let file = open_append(&path).map_err(io(&path))?;
        let mut history = History::in_memory(zone, limits);

        let mut reader = BufReader::new(File::open(&path).map_err(io(&path))?);
        let (mut offset, mut lines) = (0u64, 0usize);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(io(&path))?;
            if read == 0 {
                break;
            }
            match decode_line(&line, zone) {
                Some(diff) => {
                    history.admit(diff);
                    offset += read as u64;
                    lines += 1;
                }
                None => {
                    tracing::warn!(
                        file = %path.display(),
                        offset,
                        "cutting off a damaged or incomplete IXFR history entry and what follows it"
                    );
                    file.set_len(offset).map_err(io(&path))?;
                    file.sync_all().map_err(io(&path))?;
                    break;
                }
            }
        }
        history.file = Some(HistoryFile {
            dir: dir.to_path_buf(),
            path,
            file,
            len: offset,
            lines,
        });
        history.rewrite_if_long()?;
        Ok(history)
    }

    /// Appends a diff (persisted before it returns), then drops the oldest
    /// beyond the limits. A diff whose old serial is not the newest one's
    /// new serial starts the history afresh.
    pub fn push(&mut self, diff: Diff) -> Result<(), HistoryError> {
        if let Some(file) = &mut self.file {
            file.append(&encode_line(&diff))?;
        }
        self.admit(Arc::new(diff));
        self.rewrite_if_long()
    }

    /// The diffs from `serial` to the newest, if the history reaches back
    /// to it; `Some(empty)` when `serial` is the newest. An empty history
    /// reaches nothing, not even the zone's current serial: the caller
    /// knows that one and answers it with the SOA alone.
    pub fn since(&self, serial: u32) -> Option<Vec<Arc<Diff>>> {
        if self.newest_serial()? == serial {
            return Some(Vec::new());
        }
        // Serials in the chain are distinct (see `admit`), so the first
        // match is the only one.
        let from = self
            .entries
            .iter()
            .position(|e| e.diff.old_serial() == serial)?;
        Some(self.entries.range(from..).map(|e| e.diff.clone()).collect())
    }

    /// Forgets everything and deletes the file (zone deleted).
    pub fn remove(self) -> Result<(), HistoryError> {
        let Some(file) = self.file else {
            return Ok(());
        };
        let HistoryFile {
            dir, path, file, ..
        } = file;
        drop(file);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(HistoryError::Io { path, source }),
        }
        sync_dir(&dir).map_err(|source| HistoryError::Io { path: dir, source })
    }

    /// Forgets every diff (for example when the zone was replaced by a
    /// full transfer that no diff describes); the file is emptied.
    pub fn clear(&mut self) -> Result<(), HistoryError> {
        self.entries.clear();
        self.bytes = 0;
        match &mut self.file {
            Some(file) => file.truncate(),
            None => Ok(()),
        }
    }

    /// Forgets everything unless the newest diff ends at `serial`, the
    /// zone's current serial: after a restart, a history whose zone moved
    /// on without it (a crash between saving the zone and pushing the
    /// diff, a zone file edited while dnsd was down) would otherwise hand
    /// out diffs that end somewhere else. Returns whether it was kept.
    pub fn keep_if_at(&mut self, serial: u32) -> Result<bool, HistoryError> {
        if self.newest_serial() == Some(serial) {
            return Ok(true);
        }
        self.clear()?;
        Ok(false)
    }

    /// The zone this history is of.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The serial the newest diff ends at.
    pub fn newest_serial(&self) -> Option<u32> {
        self.entries.back().map(|e| e.diff.new_serial())
    }

    /// The oldest serial a client can be brought forward from.
    pub fn oldest_serial(&self) -> Option<u32> {
        self.entries.front().map(|e| e.diff.old_serial())
    }

    /// Number of diffs kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no diff is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Octets of records kept (what [`Limits::max_bytes`] bounds).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The in-memory rules of `push`, shared with the replay at `open`.
    fn admit(&mut self, diff: Arc<Diff>) {
        let (old, new) = (diff.old_serial(), diff.new_serial());
        if old == new {
            // The data changed under an unchanged serial: no chain of
            // serials can describe that, so nothing before it holds.
            self.forget();
            return;
        }
        let continues = self.newest_serial() == Some(old);
        let serial_returns = self.entries.iter().any(|e| e.diff.old_serial() == new);
        if !continues || serial_returns {
            self.forget();
        }
        let size = diff.size();
        self.entries.push_back(Entry { diff, size });
        self.bytes += size;
        while self.entries.len() > self.limits.max_diffs || self.bytes > self.limits.max_bytes {
            match self.entries.pop_front() {
                Some(dropped) => self.bytes -= dropped.size,
                None => break,
            }
        }
    }

    fn forget(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Rewrites the file with only the kept diffs once it holds twice as
    /// many lines (and at least [`REWRITE_MIN_LINES`]).
    fn rewrite_if_long(&mut self) -> Result<(), HistoryError> {
        let kept = self.entries.len();
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if file.lines <= (2 * kept).max(REWRITE_MIN_LINES) {
            return Ok(());
        }
        let lines: Vec<String> = self.entries.iter().map(|e| encode_line(&e.diff)).collect();
        file.replace_with(&lines)
    }
}

impl HistoryFile {
    fn io(&self) -> impl FnOnce(std::io::Error) -> HistoryError + use<> {
        let path = self.path.clone();
        move |source| HistoryError::Io { path, source }
    }

    /// Appends one line (not synced: see the module doc); on failure the
    /// file is cut back, so a half-written line never sits before later
    /// ones.
    fn append(&mut self, line: &str) -> Result<(), HistoryError> {
        let written = self.file.write_all(line.as_bytes());
        if let Err(err) = written {
            // Best effort: if this fails too, `open` cuts the torn line.
            let _ = self.file.set_len(self.len);
            return Err(self.io()(err));
        }
        self.len += line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    fn truncate(&mut self) -> Result<(), HistoryError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.sync_all())
            .map_err(self.io())?;
        self.len = 0;
        self.lines = 0;
        Ok(())
    }

    /// Atomically replaces the file's content with `lines`.
    fn replace_with(&mut self, lines: &[String]) -> Result<(), HistoryError> {
        let mut temp_name = self.path.file_name().unwrap_or_default().to_os_string();
        temp_name.push(".tmp");
        let temp = self.dir.join(temp_name);
        let io_temp = |source| HistoryError::Io {
            path: temp.clone(),
            source,
        };
        // A stale temp file may have other permissions: start from none.
        let _ = fs::remove_file(&temp);
        let mut out = create_private(&temp).map_err(io_temp)?;
        let mut len = 0u64;
        for line in lines {
            out.write_all(line.as_bytes()).map_err(io_temp)?;
            len += line.len() as u64;
        }
        out.sync_all().map_err(io_temp)?;
        drop(out);
        fs::rename(&temp, &self.path).map_err(self.io())?;
        sync_dir(&self.dir).map_err(|source| HistoryError::Io {
            path: self.dir.clone(),
            source,
        })?;
        self.file = open_append(&self.path).map_err(self.io())?;
        self.len = len;
        self.lines = lines.len();
        Ok(())
    }
}

/// The file name of a zone's history: its lowercase labels joined by dots,
/// every octet other than `a-z`, `0-9` and `-` written `%xx`, then
/// `.ixfr`. `_root` for the root (`_` is always escaped, so no zone
/// clashes with it). A name too long for a file name keeps a prefix and
/// gets a hash of the whole name after `~` (never produced otherwise).
fn file_name(zone: &Name) -> String {
    let lower = zone.to_lowercase();
    let mut stem = String::new();
    for label in lower.labels() {
        if !stem.is_empty() {
            stem.push('.');
        }
        for &b in label {
            if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
                stem.push(b as char);
            } else {
                stem.push_str(&format!("%{b:02x}"));
            }
        }
    }
    if stem.is_empty() {
        stem.push_str("_root");
    }
    // Most file systems allow 255 octets; keep room for ".ixfr.tmp".
    if stem.len() > 200 {
        let digest = ring::digest::digest(&ring::digest::SHA256, lower.as_wire());
        let hash: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        stem.truncate(160);
        stem.push('~');
        stem.push_str(&hash);
    }
    stem.push_str(".ixfr");
    stem
}

/// One record on disk: `[owner, type, class, ttl, base64 rdata]`.
#[derive(Serialize, Deserialize)]
struct StoredRecord(String, u16, u16, u32, String);

/// One diff on disk.
#[derive(Serialize, Deserialize)]
struct StoredDiff {
    old: StoredRecord,
    del: Vec<StoredRecord>,
    new: StoredRecord,
    add: Vec<StoredRecord>,
}

fn store(record: &Record) -> StoredRecord {
    StoredRecord(
        record.owner.to_string(),
        record.rtype.0,
        record.class,
        record.ttl,
        BASE64.encode(&record.rdata),
    )
}

fn restore(stored: StoredRecord) -> Option<Record> {
    let StoredRecord(owner, rtype, class, ttl, rdata) = stored;
    Some(Record {
        owner: Name::from_text(&owner, None).ok()?,
        rtype: RType(rtype),
        class,
        ttl,
        rdata: BASE64.decode(rdata.as_bytes()).ok()?.into_boxed_slice(),
        location: None,
    })
}

/// A diff as one line, newline included.
fn encode_line(diff: &Diff) -> String {
    let stored = StoredDiff {
        old: store(&diff.old_soa),
        del: diff.deleted.iter().map(store).collect(),
        new: store(&diff.new_soa),
        add: diff.added.iter().map(store).collect(),
    };
    // Serializing plain strings and numbers cannot fail.
    let json = serde_json::to_string(&stored).unwrap_or_default();
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()))
}

/// The diff on one line, if the line is whole, its checksum holds, and
/// its SOAs are `zone`'s.
fn decode_line(line: &[u8], zone: &Name) -> Option<Arc<Diff>> {
    let line = line.strip_suffix(b"\n")?;
    let (crc, json) = (line.get(..8)?, line.get(9..)?);
    if line.get(8) != Some(&b' ') {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc32fast::hash(json) != crc {
        return None;
    }
    let stored: StoredDiff = serde_json::from_slice(json).ok()?;
    let diff = Diff {
        old_soa: restore(stored.old)?,
        deleted: stored.del.into_iter().map(restore).collect::<Option<_>>()?,
        new_soa: restore(stored.new)?,
        added: stored.add.into_iter().map(restore).collect::<Option<_>>()?,
    };
    let is_soa = |r: &Record| r.rtype == RType::SOA && r.owner == *zone;
    (is_soa(&diff.old_soa) && is_soa(&diff.new_soa)).then(|| Arc::new(diff))
}

/// Creates `dir` and its missing parents; those made here are owner-only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens (or creates, owner-only) a history file for appending.
fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates (or empties) an owner-only file for writing.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(test)]
mod tests;
