//! Secondary zones: copies of zones another server (the primary) owns,
//! kept current by zone transfers (`crate::xfr`).
//!
//! This writer only keeps the copies; deciding *when* to refresh (SOA
//! timers, NOTIFY) and fetching is the refresher's job. A copy arrives
//! whole (AXFR, or an IXFR already applied), is checked like a zone file,
//! written to `DATA-DIR/secondary/` (temp file, fsync, rename) and only
//! then published, so the copy served after a restart is the last one
//! acknowledged. The file's mtime is the last successful refresh, which is
//! what the SOA expire timer counts from after a restart.
//!
//! Zones come from `--secondary` (configuration) or from the API (`kind:
//! Slave`, remembered in a `<zone>.primaries` file beside the copy). Both
//! are read-only to every other writer.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tracing::{info, warn};

use super::error::ZoneError;
use super::files::read_and_index;
use super::history::Histories;
use super::view::{RefreshState, ZoneView};
use crate::config::replication::{Peer, SecondarySource};
use crate::dnssec::{KeyStore, ZoneKeys, edge};
use crate::wire::Name;
use crate::xfr::Diff;
use crate::xfr::diff::apply_to_zone;
use crate::zone::{Record, Served, Zone, build_zone, load, write_zone_text};

/// One secondary zone.
pub(super) struct SecondaryEntry {
    pub(super) source: SecondarySource,
    /// Created through the API (and deleted through it).
    pub(super) from_api: bool,
    /// Added by this consumed catalog (lower case), and removed by it.
    pub(super) member_of: Option<Name>,
    /// The copy, once one has been received.
    served: Option<Served>,
    /// The keys an edge signs the copy with (`dnssec::edge`); kept across
    /// copies until the key sync decides again.
    keys: Option<Arc<ZoneKeys>>,
    expired: bool,
    pub(super) state: RefreshState,
    /// Diffs applied since the copy on disk was written whole.
    diffs_since_written: usize,
}

impl SecondaryEntry {
    /// The copy as the catalog serves it (expired or not), once received.
    fn published(&self) -> Option<Served> {
        self.served.as_ref().map(|served| Served {
            expired: self.expired,
            ..served.clone()
        })
    }

    pub(super) fn view(&self) -> ZoneView {
        ZoneView::Secondary {
            source: self.source.clone(),
            zone: self.served.as_ref().map(|s| s.zone.clone()),
            keys: self.keys.clone(),
            expired: self.expired,
            state: self.state.clone(),
        }
    }

    pub(super) fn zone(&self) -> Option<&Arc<Zone>> {
        self.served.as_ref().map(|s| &s.zone)
    }
}

/// The secondary writer's state: its zones by lower-case name, and where
/// their copies are kept.
pub(super) struct SecondaryZones {
    dir: Option<PathBuf>,
    entries: BTreeMap<Name, SecondaryEntry>,
    /// The members of each consumed catalog (lower case): zone -> unique id.
    /// Persisted per catalog in `<catalog>.members`, one `ID ZONE` a line,
    /// so thousands of members cost one file write per catalog change.
    pub(super) catalog_members: BTreeMap<Name, BTreeMap<Name, String>>,
}

/// File names under the secondary folder: the lower-case zone name with
/// anything but `[a-z0-9-]` escaped, so no name can leave the folder.
pub(super) fn file_stem(key: &Name) -> String {
    let text = key.to_string();
    let mut stem = String::with_capacity(text.len());
    for b in text.trim_end_matches('.').bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => stem.push(b as char),
            _ => stem.push_str(&format!("%{b:02x}")),
        }
    }
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert(0, '_');
    }
    stem
}

impl SecondaryZones {
    /// The configured secondaries and those the API created earlier, each
    /// with the copy it had, if any (`dir`: the data directory's
    /// `secondary/` folder; `None` keeps nothing across restarts).
    pub(super) fn open(sources: Vec<SecondarySource>, dir: Option<PathBuf>) -> SecondaryZones {
        let mut zones = SecondaryZones {
            dir,
            entries: BTreeMap::new(),
            catalog_members: BTreeMap::new(),
        };
        for source in sources {
            zones.insert(source, false);
        }
        for source in zones.api_sources() {
            if !zones.entries.contains_key(&source.origin.to_lowercase()) {
                zones.insert(source, true);
            }
        }
        zones
    }

    fn insert(&mut self, source: SecondarySource, from_api: bool) {
        let key = source.origin.to_lowercase();
        let mut entry = SecondaryEntry {
            source,
            from_api,
            member_of: None,
            served: None,
            keys: None,
            expired: false,
            state: RefreshState::default(),
            diffs_since_written: 0,
        };
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{}.zone", file_stem(&key)));
            if path.exists() {
                match read_and_index(&entry.source.origin, &path, &[]) {
                    Ok(zone) => {
                        info!(zone = %entry.source.origin, serial = zone.serial, "secondary zone: serving the stored copy");
                        entry.state.last_refresh =
                            fs::metadata(&path).and_then(|m| m.modified()).ok();
                        entry.served = Some(Served {
                            zone: Arc::new(zone),
                            keys: None,
                            expired: false,
                        });
                    }
                    Err(err) => {
                        warn!(zone = %entry.source.origin, "secondary zone: the stored copy is unusable ({err}); waiting for a transfer")
                    }
                }
            }
        }
        self.entries.insert(key, entry);
    }

    /// Secondaries the API created, from their `.primaries` files.
    fn api_sources(&self) -> Vec<SecondarySource> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        let Ok(listing) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut sources = Vec::new();
        for entry in listing.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "primaries") {
                continue;
            }
            match read_primaries(&path) {
                Ok(source) => sources.push(source),
                Err(err) => {
                    warn!(file = %path.display(), "secondary zone created through the API is unreadable: {err}")
                }
            }
        }
        sources
    }

    pub(super) fn get(&self, key: &Name) -> Option<&SecondaryEntry> {
        self.entries.get(key)
    }

    pub(super) fn served(&self) -> impl Iterator<Item = Served> + '_ {
        self.entries.values().filter_map(SecondaryEntry::published)
    }

    /// What the catalog serves for the zone at `key`, once it has a copy.
    pub(super) fn served_at(&self, key: &Name) -> Option<Served> {
        self.entries.get(key)?.published()
    }

    pub(super) fn views(&self) -> impl Iterator<Item = ZoneView> + '_ {
        self.entries.values().map(SecondaryEntry::view)
    }

    pub(super) fn sources(&self) -> impl Iterator<Item = &SecondarySource> + '_ {
        self.entries.values().map(|e| &e.source)
    }

    /// Replaces the copy of `key` with `records` (a whole zone, as
    /// received): checked, built, persisted, then kept for publishing.
    pub(super) fn replace(
        &mut self,
        key: &Name,
        records: Vec<Record>,
    ) -> Result<Arc<Zone>, ZoneError> {
        let entry = self
            .entries
            .get(key)
            .ok_or_else(|| ZoneError::NotFound(key.clone()))?;
        let origin = entry.source.origin.clone();
        let records = load::check_records(&origin, records).map_err(ZoneError::Transfer)?;
        let count = records.len();
        let zone = build_zone(&origin, records)?;
        crate::zone::records_freed(count);
        self.persist(key, &zone)?;
        if let Some(entry) = self.entries.get_mut(key) {
            entry.diffs_since_written = 0;
        }
        Ok(self.set_copy(key, zone))
    }

    /// Applies `diffs` (an IXFR) to the served copy. Only the names they
    /// touch (and the apex) are checked, like a zone file would be: the
    /// rest of the copy was checked when it arrived. The copy on disk is
    /// not rewritten: the diffs are persisted in the IXFR history when
    /// published, and [`SecondaryZones::replay`] applies them at start.
    pub(super) fn apply(&mut self, key: &Name, diffs: &[Diff]) -> Result<Arc<Zone>, ZoneError> {
        let entry = self
            .entries
            .get(key)
            .ok_or_else(|| ZoneError::NotFound(key.clone()))?;
        let current = entry.zone().ok_or_else(|| {
            transfer_error("an incremental transfer without a copy to apply it to")
        })?;
        let zone = apply_to_zone(current, diffs).map_err(|e| transfer_error(&e.to_string()))?;
        check_touched(&zone, diffs)?;
        let zone = self.set_copy(key, zone);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.diffs_since_written += diffs.len();
        }
        Ok(zone)
    }

    /// Whether the copy of `key` on disk is behind by enough diffs that it
    /// should be written whole again.
    pub(super) fn wants_rewrite(&self, key: &Name) -> bool {
        self.entries
            .get(key)
            .is_some_and(|e| e.diffs_since_written >= REWRITE_AFTER_DIFFS)
    }

    /// Writes the copy of `key` whole.
    pub(super) fn rewrite(&mut self, key: &Name, zone: &Zone) -> Result<(), ZoneError> {
        self.persist(key, zone)?;
        if let Some(entry) = self.entries.get_mut(key) {
            entry.diffs_since_written = 0;
        }
        Ok(())
    }

    /// At start: applies the diffs the IXFR history kept after each stored
    /// copy (changes received by IXFR since the copy was written whole).
    pub(super) fn replay(&mut self, histories: &mut Histories) {
        let keys: Vec<Name> = self.entries.keys().cloned().collect();
        for key in keys {
            let Some(copy) = self.entries.get(&key).and_then(|e| e.zone().cloned()) else {
                continue;
            };
            let Some(diffs) = histories.after(&key, copy.serial) else {
                continue;
            };
            if diffs.is_empty() {
                continue;
            }
            let diffs: Vec<Diff> = diffs.iter().map(|d| (**d).clone()).collect();
            match apply_to_zone(&copy, &diffs) {
                Ok(zone) => {
                    info!(zone = %key, from = copy.serial, to = zone.serial, "secondary zone: stored changes applied to the stored copy");
                    self.set_copy(&key, zone);
                    if let Some(entry) = self.entries.get_mut(&key) {
                        entry.diffs_since_written = diffs.len();
                    }
                }
                Err(err) => {
                    warn!(zone = %key, %err, "secondary zone: stored changes do not apply; serving the stored copy")
                }
            }
        }
    }

    /// Serves `zone`, already checked and persisted by the caller (an
    /// incremental change applied to the served copy).
    pub(super) fn set_copy(&mut self, key: &Name, zone: Zone) -> Arc<Zone> {
        let zone = Arc::new(zone);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.served = Some(Served {
                zone: zone.clone(),
                keys: entry.keys.clone(),
                expired: false,
            });
            entry.expired = false;
        }
        zone
    }

    /// Sets the keys the copy of `key` is signed with (edge signing), from
    /// the next publish on; returns whether they changed.
    pub(super) fn set_keys(&mut self, key: &Name, keys: Option<Arc<ZoneKeys>>) -> bool {
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        let same = match (&entry.keys, &keys) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if let Some(served) = &mut entry.served {
            served.keys = keys.clone();
        }
        entry.keys = keys;
        !same
    }

    /// At start, on an edge (`--key-source`): each stored copy that
    /// publishes a DNSKEY RRset is signed with the keys held for it. A
    /// copy no held key can sign is not served (an unsigned answer under
    /// a DS is bogus); its refresher transfers it again and syncs the keys.
    pub(super) fn load_edge_keys(&mut self, store: &KeyStore, delay: u64, now: u64) {
        for (key, entry) in &mut self.entries {
            let Some(zone) = entry.zone() else { continue };
            let dnskeys = edge::apex_dnskeys(zone);
            if dnskeys.is_empty() {
                continue;
            }
            match edge::decide_stored(store, key, &dnskeys, &[], now, delay) {
                Ok(edge::Decision {
                    keys: Some(keys), ..
                }) => {
                    entry.keys = Some(keys.clone());
                    if let Some(served) = &mut entry.served {
                        served.keys = Some(keys);
                    }
                }
                Ok(_) => {
                    warn!(zone = %entry.source.origin, "secondary zone: the stored copy is signed but no key is held for it; not served until its keys are synced");
                    entry.served = None;
                }
                Err(err) => {
                    warn!(zone = %entry.source.origin, %err, "secondary zone: the keys of the stored copy are unreadable; not served until its keys are synced");
                    entry.served = None;
                }
            }
        }
    }

    /// Writes the copy (temp file, fsync, rename, fsync of the folder).
    pub(super) fn persist(&self, key: &Name, zone: &Zone) -> Result<(), ZoneError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(format!("{}.zone", file_stem(key)));
        write_atomically(dir, &path, |file| write_zone_text(zone, file))
            .map_err(|source| ZoneError::Persist { path, source })
    }

    /// Marks the copy current as of now (an SOA check found no change).
    pub(super) fn touch(&mut self, key: &Name) {
        if let (Some(dir), Some(entry)) = (&self.dir, self.entries.get(key))
            && entry.served.is_some()
        {
            let path = dir.join(format!("{}.zone", file_stem(key)));
            if let Ok(file) = fs::File::options().write(true).open(&path) {
                let _ = file.set_modified(SystemTime::now());
            }
        }
    }

    /// Expires the copy: queries get SERVFAIL until a transfer succeeds.
    /// Returns whether anything changed.
    pub(super) fn expire(&mut self, key: &Name) -> bool {
        match self.entries.get_mut(key) {
            Some(entry) if entry.served.is_some() && !entry.expired => {
                entry.expired = true;
                true
            }
            _ => false,
        }
    }

    pub(super) fn set_state(&mut self, key: &Name, state: RefreshState) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = state;
        }
    }

    /// Adds a secondary created through the API (remembered on disk).
    pub(super) fn add_from_api(&mut self, source: SecondarySource) -> Result<(), ZoneError> {
        let key = source.origin.to_lowercase();
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{}.primaries", file_stem(&key)));
            let text = primaries_text(&source);
            write_atomically(dir, &path, |file| file.write_all(text.as_bytes()))
                .map_err(|source| ZoneError::Persist { path, source })?;
        }
        self.insert(source, true);
        Ok(())
    }

    /// At start: the members each consumed catalog (`catalogs`, with their
    /// primaries) had added, each served from its stored copy. A member
    /// served by another writer meanwhile is left to that writer.
    pub(super) fn open_catalog_members(&mut self, catalogs: &[SecondarySource]) {
        for catalog in catalogs {
            let key = catalog.origin.to_lowercase();
            let mut members = self.read_members(&key);
            members.retain(|zone, _| {
                let taken = self.entries.contains_key(zone);
                if taken {
                    warn!(zone = %zone, catalog = %key, "catalog member is also configured otherwise; not taken over");
                }
                !taken
            });
            for zone in members.keys() {
                self.insert(
                    SecondarySource {
                        origin: zone.clone(),
                        primaries: catalog.primaries.clone(),
                    },
                    false,
                );
                if let Some(entry) = self.entries.get_mut(zone) {
                    entry.member_of = Some(key.clone());
                }
            }
            self.catalog_members.insert(key, members);
        }
    }

    fn members_path(dir: &Path, catalog: &Name) -> PathBuf {
        dir.join(format!("{}.members", file_stem(catalog)))
    }

    fn read_members(&self, catalog: &Name) -> BTreeMap<Name, String> {
        let mut members = BTreeMap::new();
        let Some(dir) = &self.dir else {
            return members;
        };
        let path = Self::members_path(dir, catalog);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return members,
            Err(e) => {
                warn!(file = %path.display(), "catalog members unreadable: {e}");
                return members;
            }
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let parsed = line.split_once(' ').and_then(|(id, zone)| {
                Some((
                    id.to_string(),
                    crate::config::origin_from_arg(zone.trim()).ok()?,
                ))
            });
            match parsed {
                Some((id, zone)) => {
                    members.insert(zone.to_lowercase(), id);
                }
                None => warn!(file = %path.display(), line, "catalog members: line skipped"),
            }
        }
        members
    }

    /// Writes the member list of `catalog` (after a change to it).
    pub(super) fn write_members(&self, catalog: &Name) -> Result<(), ZoneError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = Self::members_path(dir, catalog);
        let members = self.catalog_members.get(catalog);
        write_atomically(dir, &path, |file| {
            for (zone, id) in members.into_iter().flatten() {
                writeln!(file, "{id} {zone}")?;
            }
            Ok(())
        })
        .map_err(|source| ZoneError::Persist { path, source })
    }

    /// Adds a member of `catalog` (no copy yet; its refresher fetches one).
    /// The caller writes the member list.
    pub(super) fn add_member(&mut self, catalog: &Name, source: SecondarySource, id: String) {
        let key = source.origin.to_lowercase();
        // Files a former owner left behind are not this member's copy.
        self.remove_files(&key);
        self.insert(source, false);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.member_of = Some(catalog.clone());
        }
        self.catalog_members
            .entry(catalog.clone())
            .or_default()
            .insert(key, id);
    }

    /// Forgets the copy of member `key` of `catalog`, which is now listed
    /// under `id` (RFC 9432 §5.4: a new id is a new zone, transferred afresh).
    pub(super) fn reset_member(&mut self, catalog: &Name, key: &Name, id: String) {
        self.remove_files(key);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.served = None;
            entry.expired = false;
            entry.state = RefreshState::default();
            entry.diffs_since_written = 0;
        }
        if let Some(members) = self.catalog_members.get_mut(catalog) {
            members.insert(key.clone(), id);
        }
    }

    /// Removes member `key` of `catalog` and its copy. The caller writes
    /// the member list.
    pub(super) fn remove_member(&mut self, catalog: &Name, key: &Name) {
        if self
            .entries
            .get(key)
            .is_some_and(|e| e.member_of.as_ref() == Some(catalog))
        {
            self.remove_files(key);
            self.entries.remove(key);
        }
        if let Some(members) = self.catalog_members.get_mut(catalog) {
            members.remove(key);
        }
    }

    /// Removes the stored copy of `key`; a failure is logged (the file is
    /// replaced by the next transfer, or ignored at start).
    fn remove_files(&self, key: &Name) {
        let Some(dir) = &self.dir else { return };
        for ext in ["zone", "primaries", "tmp"] {
            let path = dir.join(format!("{}.{ext}", file_stem(key)));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => warn!(file = %path.display(), "cannot remove: {e}"),
            }
        }
    }

    /// Removes a secondary created through the API and its files.
    pub(super) fn remove(&mut self, key: &Name) -> Result<(), ZoneError> {
        if let Some(dir) = &self.dir {
            for ext in ["zone", "primaries"] {
                let path = dir.join(format!("{}.{ext}", file_stem(key)));
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(ZoneError::Persist { path, source }),
                }
            }
        }
        self.entries.remove(key);
        Ok(())
    }
}

/// The copy on disk is written whole again after this many diffs, well
/// inside what the IXFR history keeps by default.
const REWRITE_AFTER_DIFFS: usize = 200;

fn transfer_error(reason: &str) -> ZoneError {
    ZoneError::Transfer(load::LoadErrors(vec![load::LoadError::new(None, reason)]))
}

/// Checks the names `diffs` touch in `zone`, with the apex, by the zone
/// file rules (CNAME beside other data, TTLs, LUA code, ...).
fn check_touched(zone: &Zone, diffs: &[Diff]) -> Result<(), ZoneError> {
    let mut owners: Vec<Name> = diffs
        .iter()
        .flat_map(|d| d.deleted.iter().chain(&d.added))
        .map(|r| r.owner.to_lowercase())
        .collect();
    owners.push(zone.origin.to_lowercase());
    owners.sort();
    owners.dedup();
    let mut records = Vec::new();
    for owner in &owners {
        if let Some(node) = zone.node(owner.as_wire()) {
            for set in &node.rrsets {
                records.extend(set.rdatas.iter().map(|rdata| Record {
                    owner: node.name.clone(),
                    rtype: set.rtype,
                    class: 1,
                    ttl: set.ttl,
                    rdata: rdata.into(),
                    location: None,
                }));
            }
        }
    }
    let mut errors = load::validate(&zone.origin, &records);
    errors.extend(load::check_lua(
        &records,
        crate::dynamic::settings::strict(),
    ));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ZoneError::Transfer(load::LoadErrors(errors)))
    }
}

/// `<origin>\n` then one `ADDR:PORT[:KEY]` per line.
fn primaries_text(source: &SecondarySource) -> String {
    let mut text = format!("{}\n", source.origin);
    for peer in &source.primaries {
        match &peer.key {
            Some(key) => text.push_str(&format!("{}:{}\n", peer.addr, key)),
            None => text.push_str(&format!("{}\n", peer.addr)),
        }
    }
    text
}

fn read_primaries(path: &Path) -> Result<SecondarySource, String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let origin = crate::config::origin_from_arg(lines.next().ok_or("empty file")?.trim())?;
    let primaries = lines.map(Peer::parse).collect::<Result<Vec<_>, _>>()?;
    Ok(SecondarySource { origin, primaries })
}

/// Writes `path` through a temporary file in `dir`, so a crash leaves the
/// old file or the new one, never a torn one. Files are owner-only.
pub(super) fn write_atomically(
    dir: &Path,
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let temp = path.with_extension("tmp");
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &file);
        write(&mut buffered)?;
        buffered.flush()?;
    }
    file.sync_data()?;
    fs::rename(&temp, path)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_in_the_folder() {
        let name = |t: &str| Name::from_text(t, None).unwrap().to_lowercase();
        assert_eq!(file_stem(&name("example.test.")), "example.test");
        assert_eq!(file_stem(&name(".")), "_");
        assert_eq!(file_stem(&name("a\\/b.test.")), "a%2fb.test");
        let dots = file_stem(&name("\\.\\..test."));
        assert!(!dots.contains('/') && !dots.starts_with(".."), "{dots}");
    }
}
