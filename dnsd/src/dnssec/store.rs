//! Key storage: a zone's keys as BIND key files under
//! `<data-dir>/keys/<zone>/`, and [`ZoneKeys`], the in-memory key set the
//! answer path signs with.
//!
//! Each key is a pair `K<zone>.+<alg>+<tag>.key` (the DNSKEY record) and
//! `.private` (ISC `Private-key-format: v1.3` with Created/Publish/Activate/
//! Inactive/Delete times), so `dnssec-*` and `ldns-*` tools read them as is.
//! Folders are created 0700 and files 0600; every write goes to a
//! temporary file that is fsynced, then renamed (or hard-linked, when a
//! file must not be replaced) into place, then the folder is fsynced.
//!
//! Rules that keep a zone from silently changing keys: [`KeyStore::load`]
//! fails, naming the file, on any unreadable, corrupt, mismatched or
//! unpaired key file; [`KeyStore::ensure_keys`] generates keys only when
//! the zone's folder holds no key file at all.
//!
//! Not done here: encryption at rest (spec §1) — the files rely on owner-
//! only permissions.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::keys::{
    Algorithm, DigestType, KeyMaterialError, KeyRole, KeyState, KeyTiming, SigningKey,
    derive_roles, parse_bind_key, parse_bind_private,
};
use crate::wire::{Name, RType};

/// Why keys could not be loaded or stored. Every file problem names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// A key file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A key file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A key file does not parse, or does not match its pair or its name.
    #[error("key file {path} is corrupt: {reason} (dnsd never replaces a key it cannot read)")]
    Corrupt {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// One half of a key pair is missing.
    #[error("key file {path} has no matching {missing} file: restore it, or remove both halves")]
    Unpaired {
        /// The half that exists.
        path: PathBuf,
        /// The missing extension, `.key` or `.private`.
        missing: &'static str,
    },
    /// The zone has keys, but none that is active for some RRsets.
    #[error("{zone} has keys in {dir} but no active key to sign {what}")]
    NoActiveKey {
        /// The zone.
        zone: String,
        /// Its key folder.
        dir: PathBuf,
        /// `DNSKEY` or `zone data`.
        what: &'static str,
    },
    /// A key with the same algorithm and tag is already stored.
    #[error("key file {path} already exists")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// No stored key has this algorithm and tag.
    #[error("{zone} has no key with algorithm {algorithm} and tag {tag}")]
    NotFound {
        /// The zone.
        zone: String,
        /// Algorithm number.
        algorithm: u8,
        /// Key tag.
        tag: u16,
    },
    /// Key material (generated or imported) was rejected.
    #[error("{0}")]
    Material(#[from] KeyMaterialError),
}

/// How to create a zone's first keys (issue 7, item 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Algorithm 13 by default; 15 as an option.
    pub algorithm: Algorithm,
    /// A KSK (257) + ZSK (256) pair instead of one CSK (257).
    pub split: bool,
}

impl Default for KeyPolicy {
    fn default() -> KeyPolicy {
        KeyPolicy {
            algorithm: Algorithm::EcdsaP256Sha256,
            split: false,
        }
    }
}

/// A key as stored, with its timing and file stem.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The key.
    pub key: Arc<SigningKey>,
    /// Its BIND timing fields.
    pub timing: KeyTiming,
    /// `K<zone>.+<alg>+<tag>`: the file name without extension.
    pub stem: String,
}

/// Key files of all zones under one data folder.
#[derive(Debug, Clone)]
pub struct KeyStore {
    root: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl KeyStore {
    /// Keys under `<data_dir>/keys/`. Nothing is created until a key is stored.
    pub fn new(data_dir: impl AsRef<Path>) -> KeyStore {
        KeyStore {
            root: data_dir.as_ref().join("keys"),
        }
    }

    /// `<data-dir>/keys/<zone>`: the zone in lower case, without the final
    /// dot, octets other than `a-z 0-9 - _` written `%XX`; the root zone
    /// is `%root`.
    pub fn zone_dir(&self, zone: &Name) -> PathBuf {
        let text = zone_file_text(zone);
        let folder = match text.strip_suffix('.') {
            Some("") | None => "%root".to_string(),
            Some(name) => name.to_string(),
        };
        self.root.join(folder)
    }

    /// Every key of `zone`; empty when the zone has no key file.
    pub fn load(&self, zone: &Name) -> Result<Vec<StoredKey>, KeyStoreError> {
        let dir = self.zone_dir(zone);
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyStoreError::Read { path, source }
        };
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(read_err(&dir)(e)),
        };
        let mut stems = Vec::new();
        for entry in entries {
            let entry = entry.map_err(read_err(&dir))?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            if !file.starts_with('K') {
                continue; // temporary files start with '.', others are not ours
            }
            for ext in [".key", ".private"] {
                if let Some(stem) = file.strip_suffix(ext) {
                    stems.push(stem.to_string());
                }
            }
        }
        stems.sort();
        stems.dedup();
        stems
            .into_iter()
            .map(|stem| self.load_pair(zone, &dir, stem))
            .collect()
    }

    fn load_pair(&self, zone: &Name, dir: &Path, stem: String) -> Result<StoredKey, KeyStoreError> {
        let key_path = dir.join(format!("{stem}.key"));
        let private_path = dir.join(format!("{stem}.private"));
        let read = |path: &Path, other: &Path, missing: &'static str| match fs::read_to_string(path)
        {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(KeyStoreError::Unpaired {
                path: other.to_path_buf(),
                missing,
            }),
            Err(e) => Err(KeyStoreError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        };
        let key_text = read(&key_path, &private_path, ".key")?;
        let private_text = read(&private_path, &key_path, ".private")?;
        let corrupt = |path: &Path, reason: String| KeyStoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let public =
            parse_bind_key(zone, &key_text).map_err(|e| corrupt(&key_path, e.to_string()))?;
        let private =
            parse_bind_private(&private_text).map_err(|e| corrupt(&private_path, e.to_string()))?;
        if private.algorithm != public.algorithm {
            return Err(corrupt(
                &private_path,
                format!(
                    "algorithm {} but {} holds an algorithm {} key",
                    private.algorithm.number(),
                    key_path.display(),
                    public.algorithm.number()
                ),
            ));
        }
        let key = SigningKey::from_private_bytes(
            zone,
            public.algorithm,
            public.flags,
            &private.key,
            Some(&public.key),
        )
        .map_err(|e| {
            corrupt(
                &private_path,
                format!("{e} (public key from {})", key_path.display()),
            )
        })?;
        let expected = key_stem(zone, &key);
        if stem != expected {
            return Err(corrupt(
                &key_path,
                format!("the key inside is {expected}, not what the file name says"),
            ));
        }
        Ok(StoredKey {
            key: Arc::new(key),
            timing: private.timing,
            stem,
        })
    }

    /// Stores a new key; never replaces an existing file of the same name.
    pub fn add(
        &self,
        zone: &Name,
        key: SigningKey,
        timing: KeyTiming,
    ) -> Result<StoredKey, KeyStoreError> {
        let dir = self.create_zone_dir(zone)?;
        let stem = key_stem(zone, &key);
        let key_file = format!("{stem}.key");
        let private_file = format!("{stem}.private");
        for file in [&key_file, &private_file] {
            let path = dir.join(file);
            if path.exists() {
                return Err(KeyStoreError::Exists { path });
            }
        }
        // The private half first: a crash in between leaves an unpaired
        // .private, which load() reports instead of ignoring.
        write_atomic(
            &dir,
            &private_file,
            key.to_bind_private(&timing).as_bytes(),
            false,
        )?;
        write_atomic(&dir, &key_file, key.to_bind_key().as_bytes(), false)?;
        Ok(StoredKey {
            key: Arc::new(key),
            timing,
            stem,
        })
    }

    /// Imports a BIND key pair (`.key` and `.private` texts) for `zone`.
    /// A pair without timing fields is published and active at once.
    pub fn import_bind(
        &self,
        zone: &Name,
        key_text: &str,
        private_text: &str,
    ) -> Result<StoredKey, KeyStoreError> {
        let (key, timing) = SigningKey::from_bind(zone, key_text, private_text)?;
        let timing = KeyTiming {
            created: timing.created.or(Some(unix_now())),
            ..timing
        };
        self.add(zone, key, timing)
    }

    /// Sets whether a stored key is published and active, from `now` on.
    pub fn set_state(
        &self,
        zone: &Name,
        algorithm: Algorithm,
        tag: u16,
        state: KeyState,
        now: u64,
    ) -> Result<StoredKey, KeyStoreError> {
        let stored = self.find(zone, algorithm, tag)?;
        let timing = stored.timing.with_state(state, now);
        let dir = self.zone_dir(zone);
        write_atomic(
            &dir,
            &format!("{}.private", stored.stem),
            stored.key.to_bind_private(&timing).as_bytes(),
            true,
        )?;
        Ok(StoredKey { timing, ..stored })
    }

    /// Deletes a stored key's files (`.key` first, so a crash leaves an
    /// unpaired `.private` that load() reports).
    pub fn remove(&self, zone: &Name, algorithm: Algorithm, tag: u16) -> Result<(), KeyStoreError> {
        let stored = self.find(zone, algorithm, tag)?;
        let dir = self.zone_dir(zone);
        for ext in ["key", "private"] {
            let path = dir.join(format!("{}.{ext}", stored.stem));
            fs::remove_file(&path).map_err(|source| KeyStoreError::Write { path, source })?;
        }
        sync_dir(&dir)
    }

    fn find(
        &self,
        zone: &Name,
        algorithm: Algorithm,
        tag: u16,
    ) -> Result<StoredKey, KeyStoreError> {
        self.load(zone)?
            .into_iter()
            .find(|s| s.key.algorithm() == algorithm && s.key.tag() == tag)
            .ok_or_else(|| KeyStoreError::NotFound {
                zone: zone.to_string(),
                algorithm: algorithm.number(),
                tag,
            })
    }

    /// The keys of a zone marked signed: loaded, or generated per `policy`
    /// when the zone has no key file at all. Fails (never regenerates) when
    /// a key file is unreadable or corrupt, or when no active key can sign
    /// the DNSKEY RRset or the zone data.
    pub fn ensure_keys(&self, zone: &Name, policy: &KeyPolicy) -> Result<ZoneKeys, KeyStoreError> {
        self.ensure_keys_at(zone, policy, unix_now())
    }

    /// [`KeyStore::ensure_keys`] with an explicit clock.
    pub fn ensure_keys_at(
        &self,
        zone: &Name,
        policy: &KeyPolicy,
        now: u64,
    ) -> Result<ZoneKeys, KeyStoreError> {
        let mut stored = self.load(zone)?;
        if stored.is_empty() {
            let roles: &[KeyRole] = if policy.split {
                &[KeyRole::Ksk, KeyRole::Zsk]
            } else {
                &[KeyRole::Csk]
            };
            for role in roles {
                stored.push(self.generate(zone, policy.algorithm, role.flags(), now)?);
            }
        }
        let keys = ZoneKeys::new(
            zone,
            stored
                .iter()
                .map(|s| (Arc::clone(&s.key), s.timing.state_at(now)))
                .collect(),
        );
        keys.check_can_sign()
            .map_err(|what| KeyStoreError::NoActiveKey {
                zone: zone.to_string(),
                dir: self.zone_dir(zone),
                what,
            })?;
        Ok(keys)
    }

    /// Generates and stores a key, published and active at `now`; a new
    /// key whose tag collides with a stored one is discarded and redrawn.
    pub fn generate(
        &self,
        zone: &Name,
        algorithm: Algorithm,
        flags: u16,
        now: u64,
    ) -> Result<StoredKey, KeyStoreError> {
        let mut attempts = 0;
        loop {
            let key = SigningKey::generate(zone, algorithm, flags)?;
            match self.add(zone, key, KeyTiming::new_at(now)) {
                Err(KeyStoreError::Exists { .. }) if attempts < 8 => attempts += 1,
                other => return other,
            }
        }
    }

    fn create_zone_dir(&self, zone: &Name) -> Result<PathBuf, KeyStoreError> {
        let dir = self.zone_dir(zone);
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyStoreError::Write { path, source }
        };
        let new_root = !self.root.is_dir();
        let new_dir = !dir.is_dir();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(write_err(&dir))?;
        // Tighten folders that existed before with looser modes.
        for path in [&self.root, &dir] {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(write_err(path))?;
        }
        // A new folder's entry must survive a crash too: its parent is
        // synced, and only then (one fsync per new zone, not three).
        if new_root && let Some(parent) = self.root.parent() {
            let _ = sync_dir(parent);
        }
        if new_dir {
            sync_dir(&self.root)?;
        }
        Ok(dir)
    }
}

/// `K<zone>.+<alg>+<tag>` as BIND names key files.
fn key_stem(zone: &Name, key: &SigningKey) -> String {
    format!(
        "K{}+{:03}+{:05}",
        zone_file_text(zone),
        key.algorithm().number(),
        key.tag()
    )
}

/// The zone as text safe in a file name: lower case, labels joined by
/// `.` with a final `.`, octets other than `a-z 0-9 - _` as `%XX`.
fn zone_file_text(zone: &Name) -> String {
    let mut out = String::new();
    for label in zone.labels() {
        for &b in label {
            let b = b.to_ascii_lowercase();
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// Writes `contents` to `dir/name` atomically with mode 0600: temporary
/// file, fsync, rename (or, with `replace` false, hard link so an existing
/// file is never replaced), fsync of the folder.
fn write_atomic(
    dir: &Path,
    name: &str,
    contents: &[u8],
    replace: bool,
) -> Result<(), KeyStoreError> {
    let target = dir.join(name);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyStoreError::Write { path, source }
    };
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(write_err(&tmp))?;
        // The umask can only remove bits; make the mode exact.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(write_err(&tmp))?;
        file.write_all(contents).map_err(write_err(&tmp))?;
        file.sync_all().map_err(write_err(&tmp))?;
        drop(file);
        if replace {
            fs::rename(&tmp, &target).map_err(write_err(&target))
        } else {
            match fs::hard_link(&tmp, &target) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(KeyStoreError::Exists {
                    path: target.clone(),
                }),
                Err(e) => Err(write_err(&target)(e)),
            }
        }
    })();
    let _ = fs::remove_file(&tmp); // gone already after a rename
    result?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), KeyStoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| KeyStoreError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

// ----------- ZoneKeys ------------------------------------------------------------------

/// One key of a zone with its state and derived role.
#[derive(Debug, Clone)]
pub struct ZoneKey {
    /// The key.
    pub key: Arc<SigningKey>,
    /// Published and active flags.
    pub state: KeyState,
    /// CSK, KSK or ZSK, by PowerDNS's rule ([`derive_roles`]).
    pub role: KeyRole,
}

/// The keys of one signed zone, as the answer path uses them. Immutable:
/// a key change builds a new one (publish it with the zone snapshot).
#[derive(Debug, Clone)]
pub struct ZoneKeys {
    zone: Name,
    keys: Vec<ZoneKey>,
}

impl ZoneKeys {
    /// The key set of `zone`; roles are derived from flags and states.
    pub fn new(zone: &Name, keys: Vec<(Arc<SigningKey>, KeyState)>) -> ZoneKeys {
        let roles = derive_roles(
            &keys
                .iter()
                .map(|(k, s)| (k.algorithm(), k.flags(), s.active))
                .collect::<Vec<_>>(),
        );
        ZoneKeys {
            zone: zone.to_lowercase(),
            keys: keys
                .into_iter()
                .zip(roles)
                .map(|((key, state), role)| ZoneKey { key, state, role })
                .collect(),
        }
    }

    /// The zone apex, lower case.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// Every key, published or not.
    pub fn keys(&self) -> &[ZoneKey] {
        &self.keys
    }

    /// The keys that sign RRsets of `rtype`: active, with a role that signs
    /// it (CSK for all; KSK for DNSKEY/CDS/CDNSKEY; ZSK for the rest). One
    /// RRSIG per key goes with the RRset.
    pub fn signers(&self, rtype: RType) -> impl Iterator<Item = &SigningKey> + '_ {
        self.keys
            .iter()
            .filter(move |k| k.state.active && k.role.signs(rtype))
            .map(|k| &*k.key)
    }

    /// RDATA of the apex DNSKEY RRset: every published key.
    pub fn dnskey_rdatas(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.keys
            .iter()
            .filter(|k| k.state.published)
            .map(|k| k.key.dnskey_rdata())
    }

    /// The active SEP keys (KSK/CSK): what DS, CDS and CDNSKEY point at.
    pub fn sep_keys(&self) -> impl Iterator<Item = &SigningKey> + '_ {
        self.keys
            .iter()
            .filter(|k| k.state.active && k.key.is_sep())
            .map(|k| &*k.key)
    }

    /// CDS RDATA (RFC 7344): one per active SEP key and digest type.
    pub fn cds_rdatas(&self, digests: &[DigestType]) -> Vec<Vec<u8>> {
        self.sep_keys()
            .flat_map(|k| digests.iter().map(move |&d| k.ds_rdata(d)))
            .collect()
    }

    /// CDNSKEY RDATA (RFC 7344): one per active SEP key.
    pub fn cdnskey_rdatas(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.sep_keys().map(SigningKey::dnskey_rdata)
    }

    /// DS records in presentation form for the parent (`dnsd ds ORIGIN`):
    /// `<zone> IN DS <tag> <alg> <digest type> <hex>`, one per active SEP key.
    pub fn ds_lines(&self, digest: DigestType) -> Vec<String> {
        self.sep_keys()
            .map(|k| format!("{} IN DS {}", self.zone, k.ds_text(digest)))
            .collect()
    }

    /// Ok when some active key signs the DNSKEY RRset and some signs zone
    /// data; otherwise which of the two lacks a signer.
    pub fn check_can_sign(&self) -> Result<(), &'static str> {
        if self.signers(RType::DNSKEY).next().is_none() {
            return Err("the DNSKEY RRset");
        }
        if self.signers(RType::SOA).next().is_none() {
            return Err("zone data");
        }
        if self.dnskey_rdatas().next().is_none() {
            return Err("anything: no key is published");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
