//! Persistence of API-managed zones under `--data-dir`: a snapshot plus an
//! append-only journal, so a change costs one small append and one
//! `fdatasync`, whatever the zone's size.
//!
//! Why a journal and not an embedded database: every zone is read into
//! memory at start anyway, and a change is already a small diff (the
//! RRsets that differ), so appending that diff is one write and one
//! `fdatasync` per change, with no second storage format or dependency to
//! keep; a database would rewrite pages on every commit to offer queries
//! dnsd never makes.
//!
//! - `zones.journal`: one line per change, `<crc32 hex> <json>\n`. A change
//!   is acknowledged to the client only after its line is synced, so an
//!   acknowledged change survives a crash.
//! - `zones.snapshot`: the whole state, rewritten now and then (temp file,
//!   fsync, rename, fsync of the folder) so the journal stays short.
//!
//! Journal entries hold absolute values (this RRset is now X, that zone is
//! gone), so replaying them in order over any older state gives the newest
//! state; that makes a crash between writing a snapshot and truncating the
//! journal harmless. A torn last line (a crash mid-append, never
//! acknowledged) fails its checksum and is cut off at load.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use imbl::ordmap::DiffItem;
use serde::{Deserialize, Serialize};

use super::model::{ApiZone, RRsetKey, StoredRRset, ZoneSettings};
use crate::wire::{Name, RType};

/// Rewrite the snapshot once the journal is this large (and larger than
/// the snapshot), so start-up replays little.
const COMPACT_AT_BYTES: u64 = 32 << 20;

/// The journal and the snapshot, in the data directory.
const JOURNAL_FILE: &str = "zones.journal";
const SNAPSHOT_FILE: &str = "zones.snapshot";

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stored zone data in {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// The produced catalog zone (`--catalog`) cannot be built.
    #[error("catalog zone: {0}")]
    Catalog(String),
}

/// One RRset in a journal entry or snapshot.
#[derive(Serialize, Deserialize)]
struct RRsetEntry {
    owner: String,
    #[serde(rename = "type")]
    rtype: u16,
    #[serde(flatten)]
    set: StoredRRset,
}

/// One zone in the snapshot.
#[derive(Serialize, Deserialize)]
struct ZoneEntry {
    name: String,
    settings: ZoneSettings,
    rrsets: Vec<RRsetEntry>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    zones: Vec<ZoneEntry>,
}

/// One journal line: the change to one zone.
#[derive(Serialize, Deserialize)]
struct Change {
    zone: String,
    /// The zone is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    drop: bool,
    /// New settings (and, for a new zone, its creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settings: Option<ZoneSettings>,
    /// RRsets that are now these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    put: Vec<RRsetEntry>,
    /// RRsets that are now gone: (owner, type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    del: Vec<(String, u16)>,
}

/// The zone store.
pub struct Store {
    dir: PathBuf,
    journal: File,
    journal_len: u64,
    snapshot_len: u64,
}

impl Store {
    /// True when `dir` holds a store (a journal or a snapshot), so zones
    /// an earlier run kept there are served even with the API off.
    pub fn exists_in(dir: &Path) -> bool {
        dir.join(JOURNAL_FILE).exists() || dir.join(SNAPSHOT_FILE).exists()
    }

    /// Opens (or creates) the store in `dir`; the folder is made owner-only.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let journal_path = dir.join(JOURNAL_FILE);
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&journal_path)
            .map_err(|source| StoreError::Io {
                path: journal_path.clone(),
                source,
            })?;
        let snapshot_len = fs::metadata(dir.join(SNAPSHOT_FILE)).map_or(0, |m| m.len());
        let journal_len = journal.metadata().map_or(0, |m| m.len());
        Ok(Store {
            dir: dir.to_path_buf(),
            journal,
            journal_len,
            snapshot_len,
        })
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
    }

    fn snapshot_path(&self) -> PathBuf {
        self.dir.join(SNAPSHOT_FILE)
    }

    /// Every stored zone: the snapshot with the journal replayed over it. A
    /// torn last journal line is cut off; damage anywhere else is an error
    /// (nothing is silently dropped).
    pub fn load_all(&mut self) -> Result<Vec<ApiZone>, StoreError> {
        let mut zones: BTreeMap<String, ZoneState> = BTreeMap::new();
        let snapshot_path = self.snapshot_path();
        if let Ok(text) = fs::read_to_string(&snapshot_path) {
            let snapshot: Snapshot =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    path: snapshot_path.clone(),
                    message: e.to_string(),
                })?;
            for zone in snapshot.zones {
                let sets = zone
                    .rrsets
                    .into_iter()
                    .map(|e| ((e.owner, e.rtype), e.set))
                    .collect();
                zones.insert(zone.name, (zone.settings, sets));
            }
        }

        let journal_path = self.journal_path();
        let file = File::open(&journal_path).map_err(|source| StoreError::Io {
            path: journal_path.clone(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let mut offset = 0u64;
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|source| StoreError::Io {
                    path: journal_path.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            let Some(change) = decode_line(&line) else {
                // Only the last line may be torn: it was never acknowledged.
                let rest_is_empty = reader.fill_buf().map(|b| b.is_empty()).unwrap_or(false);
                if rest_is_empty {
                    tracing::warn!(
                        file = %journal_path.display(),
                        offset,
                        "cutting off an incomplete last journal entry (a write interrupted by a crash)"
                    );
                    self.journal
                        .set_len(offset)
                        .map_err(|source| StoreError::Io {
                            path: journal_path.clone(),
                            source,
                        })?;
                    self.journal.sync_all().map_err(|source| StoreError::Io {
                        path: journal_path.clone(),
                        source,
                    })?;
                    self.journal_len = offset;
                    break;
                }
                return Err(StoreError::Corrupt {
                    path: journal_path,
                    message: format!("damaged entry at byte {offset}"),
                });
            };
            apply(&mut zones, change);
            offset += read as u64;
        }

        let mut out = Vec::with_capacity(zones.len());
        for (name, (settings, sets)) in zones {
            let corrupt = |message: String| StoreError::Corrupt {
                path: self.dir.clone(),
                message: format!("zone {name}: {message}"),
            };
            let origin = Name::from_text(&name, None).map_err(|e| corrupt(e.to_string()))?;
            let mut zone = ApiZone {
                name: origin,
                settings,
                rrsets: Default::default(),
            };
            for ((owner, rtype), set) in sets {
                let owner = Name::from_text(&owner, None).map_err(|e| corrupt(e.to_string()))?;
                zone.rrsets.insert(
                    RRsetKey {
                        owner,
                        rtype: RType(rtype),
                    },
                    std::sync::Arc::new(set),
                );
            }
            zone.derive_wire().map_err(corrupt)?;
            out.push(zone);
        }
        Ok(out)
    }

    /// Durably records the change from `old` (`None`: a new zone) to
    /// `new`. Only RRsets that differ are written; the persistent maps
    /// share unchanged parts, so finding them is cheap.
    pub fn save(&mut self, old: Option<&ApiZone>, new: &ApiZone) -> Result<(), StoreError> {
        let mut change = Change {
            zone: new.name.to_string(),
            drop: false,
            settings: (old.is_none_or(|o| o.settings != new.settings))
                .then(|| new.settings.clone()),
            put: Vec::new(),
            del: Vec::new(),
        };
        let put = |key: &RRsetKey, set: &StoredRRset| RRsetEntry {
            owner: key.owner.to_string(),
            rtype: key.rtype.0,
            set: set.clone(),
        };
        match old {
            Some(old) => {
                for item in old.rrsets.diff(&new.rrsets) {
                    match item {
                        DiffItem::Add(key, set)
                        | DiffItem::Update {
                            new: (key, set), ..
                        } => change.put.push(put(key, set)),
                        DiffItem::Remove(key, _) => {
                            change.del.push((key.owner.to_string(), key.rtype.0))
                        }
                    }
                }
            }
            None => change
                .put
                .extend(new.rrsets.iter().map(|(key, set)| put(key, set))),
        }
        if change.settings.is_none() && change.put.is_empty() && change.del.is_empty() {
            return Ok(());
        }
        self.append(&change)
    }

    /// Durably records that a zone is gone.
    pub fn delete(&mut self, zone: &ApiZone) -> Result<(), StoreError> {
        self.append(&Change {
            zone: zone.name.to_string(),
            drop: true,
            settings: None,
            put: Vec::new(),
            del: Vec::new(),
        })
    }

    fn append(&mut self, change: &Change) -> Result<(), StoreError> {
        let json = serde_json::to_string(change).map_err(|e| StoreError::Corrupt {
            path: self.journal_path(),
            message: e.to_string(),
        })?;
        let line = format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()));
        let path = self.journal_path();
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        self.journal.write_all(line.as_bytes()).map_err(io)?;
        self.journal.sync_data().map_err(io)?;
        self.journal_len += line.len() as u64;
        Ok(())
    }

    /// True when the journal has grown enough that a snapshot should be written.
    pub fn wants_compaction(&self) -> bool {
        self.journal_len > COMPACT_AT_BYTES && self.journal_len > self.snapshot_len
    }

    /// Writes `zones` as the new snapshot and empties the journal.
    pub fn compact<'a>(
        &mut self,
        zones: impl Iterator<Item = &'a ApiZone>,
    ) -> Result<(), StoreError> {
        let snapshot = Snapshot {
            version: 1,
            zones: zones
                .map(|z| ZoneEntry {
                    name: z.name.to_string(),
                    settings: z.settings.clone(),
                    rrsets: z
                        .rrsets
                        .iter()
                        .map(|(k, set)| RRsetEntry {
                            owner: k.owner.to_string(),
                            rtype: k.rtype.0,
                            set: StoredRRset::clone(set),
                        })
                        .collect(),
                })
                .collect(),
        };
        let json = serde_json::to_vec(&snapshot).map_err(|e| StoreError::Corrupt {
            path: self.snapshot_path(),
            message: e.to_string(),
        })?;
        let io = |path: PathBuf| move |source| StoreError::Io { path, source };
        let temp = self.dir.join("zones.snapshot.tmp");
        let mut file = File::create(&temp).map_err(io(temp.clone()))?;
        file.write_all(&json).map_err(io(temp.clone()))?;
        file.sync_all().map_err(io(temp.clone()))?;
        fs::rename(&temp, self.snapshot_path()).map_err(io(self.snapshot_path()))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(self.dir.clone()))?;
        // Replaying the old journal over this snapshot is harmless, so a
        // crash right here loses nothing; now start a fresh journal.
        self.journal.set_len(0).map_err(io(self.journal_path()))?;
        self.journal.sync_all().map_err(io(self.journal_path()))?;
        self.journal_len = 0;
        self.snapshot_len = json.len() as u64;
        Ok(())
    }
}

fn decode_line(line: &[u8]) -> Option<Change> {
    let line = line.strip_suffix(b"\n")?;
    let (crc, json) = (line.get(..8)?, line.get(9..)?);
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

type ZoneState = (ZoneSettings, BTreeMap<(String, u16), StoredRRset>);

fn apply(zones: &mut BTreeMap<String, ZoneState>, change: Change) {
    if change.drop {
        zones.remove(&change.zone);
        return;
    }
    let entry = zones
        .entry(change.zone)
        .or_insert_with(|| (ZoneSettings::default(), BTreeMap::new()));
    if let Some(settings) = change.settings {
        entry.0 = settings;
    }
    for e in change.put {
        entry.1.insert((e.owner, e.rtype), e.set);
    }
    for key in change.del {
        entry.1.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::test_zones::{NOW, bump_serial, replace};

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dnsd-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn zone() -> ApiZone {
        crate::zones::test_zones::zone("s.test.")
    }

    fn patch(z: &ApiZone, name: &str) -> ApiZone {
        bump_serial(&replace(z, name, "A", 60, &[("192.0.2.1", false)]), NOW)
    }

    #[test]
    fn a_store_is_found_by_its_own_files() {
        let d = dir("exists");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("zones.redb"), b"").unwrap();
        assert!(!Store::exists_in(&d), "only the journal's files count");
        let z0 = zone();
        let mut store = Store::open(&d).unwrap();
        store.save(None, &z0).unwrap();
        assert!(Store::exists_in(&d));
        // Compacted, then the journal lost: the snapshot alone is a store.
        store.compact([&z0].into_iter()).unwrap();
        drop(store);
        fs::remove_file(d.join("zones.journal")).unwrap();
        assert!(Store::exists_in(&d));
    }

    #[test]
    fn replay_restores_state_and_torn_tail_is_cut() {
        let d = dir("replay");
        let z0 = zone();
        let z1 = patch(&z0, "a.s.test.");
        let z2 = patch(&z1, "b.s.test.");
        {
            let mut store = Store::open(&d).unwrap();
            store.save(None, &z0).unwrap();
            store.save(Some(&z0), &z1).unwrap();
            store.save(Some(&z1), &z2).unwrap();
        }
        // A crash mid-append leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(d.join("zones.journal"))
            .unwrap();
        f.write_all(b"0badc0de {\"zone\":\"s.te").unwrap();
        drop(f);
        let mut store = Store::open(&d).unwrap();
        let loaded = store.load_all().unwrap();
        assert_eq!(loaded, vec![z2.clone()]);
        // The torn tail is gone, and appends go on cleanly.
        let z3 = patch(&z2, "c.s.test.");
        store.save(Some(&z2), &z3).unwrap();
        let mut store = Store::open(&d).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![z3]);
    }

    #[test]
    fn damage_before_the_end_is_an_error_not_a_loss() {
        let d = dir("damage");
        let z0 = zone();
        let z1 = patch(&z0, "a.s.test.");
        {
            let mut store = Store::open(&d).unwrap();
            store.save(None, &z0).unwrap();
            store.save(Some(&z0), &z1).unwrap();
        }
        let path = d.join("zones.journal");
        let mut bytes = fs::read(&path).unwrap();
        bytes[12] ^= 0x20;
        fs::write(&path, bytes).unwrap();
        let err = Store::open(&d).unwrap().load_all().unwrap_err();
        assert!(err.to_string().contains("damaged entry at byte 0"), "{err}");
    }

    #[test]
    fn compaction_keeps_everything_and_deletes_stick() {
        let d = dir("compact");
        let z0 = zone();
        let z1 = patch(&z0, "a.s.test.");
        let mut other = zone();
        other.name = Name::from_text("gone.test.", None).unwrap();
        let mut store = Store::open(&d).unwrap();
        store.save(None, &z0).unwrap();
        store.save(Some(&z0), &z1).unwrap();
        store.compact([&z1].into_iter()).unwrap();
        assert_eq!(fs::metadata(d.join("zones.journal")).unwrap().len(), 0);
        let z2 = patch(&z1, "b.s.test.");
        store.save(Some(&z1), &z2).unwrap();
        let mut store = Store::open(&d).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![z2.clone()]);
        store.delete(&z2).unwrap();
        assert!(Store::open(&d).unwrap().load_all().unwrap().is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }
}
