//! [`SharedGeo`]: the ordered database list the server holds, swapped whole
//! on reload so lookups never wait.
//!
//! Invariants: readers only ever `load()` the current [`GeoSet`] (lock-free);
//! a reload builds a complete new set before swapping it in, and a reload that
//! fails swaps nothing. Reloads are serialised among themselves by a mutex
//! that lookups never touch.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::error::{Error, ErrorKind};
use crate::lookup::{GeoDb, Location};

/// What identifies one version of a file: if any part changes, reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Result<Stamp, Error> {
    let meta = fs::metadata(path).map_err(|e| Error::new(Some(path), ErrorKind::Io(e)))?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Stamp {
        mtime: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

/// One database and the file version it was opened from.
#[derive(Debug)]
struct Loaded {
    db: Arc<GeoDb>,
    stamp: Stamp,
}

/// An immutable snapshot: the databases in configured order.
#[derive(Debug, Default)]
pub struct GeoSet {
    dbs: Vec<Loaded>,
}

impl GeoSet {
    /// Looks `addr` up in every database in order; for each field the first
    /// database that has it wins. A record that fails to decode counts as
    /// absent in that database (PowerDNS answers "unknown" the same way).
    pub fn lookup(&self, addr: IpAddr) -> Location {
        let mut loc = Location::default();
        for l in &self.dbs {
            if let Ok(found) = l.db.lookup(addr) {
                loc.fill_from(&found);
            }
        }
        loc
    }

    /// The databases, in configured order.
    pub fn databases(&self) -> impl Iterator<Item = &GeoDb> {
        self.dbs.iter().map(|l| &*l.db)
    }

    /// True when no database is configured (every lookup is empty).
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }
}

/// The server's GeoIP handle: an ordered list of MMDB files behind an
/// `arc-swap`. Share it as `Arc<SharedGeo>`.
#[derive(Debug)]
pub struct SharedGeo {
    paths: Vec<PathBuf>,
    current: ArcSwap<GeoSet>,
    reloading: Mutex<()>,
    /// Moves on every swap (see [`SharedGeo::generation`]).
    generation: AtomicU64,
}

impl SharedGeo {
    /// Opens every file, in order (the first database with a field wins).
    /// Fails on the first file that cannot be opened.
    pub fn open<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Result<SharedGeo, Error> {
        let paths: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        let mut dbs = Vec::with_capacity(paths.len());
        for p in &paths {
            dbs.push(open_one(p)?);
        }
        Ok(SharedGeo {
            paths,
            current: ArcSwap::from_pointee(GeoSet { dbs }),
            reloading: Mutex::new(()),
            generation: AtomicU64::new(0),
        })
    }

    /// A handle with no database: every lookup is empty.
    pub fn empty() -> SharedGeo {
        SharedGeo {
            paths: Vec::new(),
            current: ArcSwap::from_pointee(GeoSet::default()),
            reloading: Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }

    /// The configured files.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Looks `addr` up in the current snapshot. Never blocks.
    pub fn lookup(&self, addr: IpAddr) -> Location {
        self.current.load().lookup(addr)
    }

    /// Moves whenever a reload swaps a new set in, so answer caches can
    /// drop what they computed from the previous databases.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current snapshot, for several lookups against one version.
    pub fn snapshot(&self) -> Arc<GeoSet> {
        self.current.load_full()
    }

    /// Re-opens every file (SIGHUP) and swaps the new set in. On error the
    /// previous set keeps serving and the error names the file.
    pub fn reload(&self) -> Result<(), Error> {
        let _guard = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let mut dbs = Vec::with_capacity(self.paths.len());
        for p in &self.paths {
            dbs.push(open_one(p)?);
        }
        self.current.store(Arc::new(GeoSet { dbs }));
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Re-opens the files whose mtime, size or inode changed since they were
    /// opened, keeping the unchanged ones, and swaps in the new set. Returns
    /// whether anything was swapped. On error nothing is swapped.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let _guard = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.current.load_full();
        let mut changed = false;
        let mut dbs = Vec::with_capacity(self.paths.len());
        for (p, l) in self.paths.iter().zip(&old.dbs) {
            if stamp(p)? == l.stamp {
                dbs.push(Loaded {
                    db: Arc::clone(&l.db),
                    stamp: l.stamp,
                });
            } else {
                dbs.push(open_one(p)?);
                changed = true;
            }
        }
        if changed {
            self.current.store(Arc::new(GeoSet { dbs }));
            self.generation.fetch_add(1, Ordering::Release);
        }
        Ok(changed)
    }

    /// Starts a thread that calls [`reload_if_changed`](Self::reload_if_changed)
    /// every `period` and hands each result to `report` (to log errors or
    /// reloads). The thread stops when the returned [`Watcher`] is dropped.
    /// Fails only if the thread cannot be started.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        period: Duration,
        mut report: impl FnMut(Result<bool, Error>) + Send + 'static,
    ) -> std::io::Result<Watcher> {
        let (stop, stopped) = mpsc::channel::<()>();
        let geo = Arc::clone(self);
        let thread = thread::Builder::new()
            .name("geoip-watch".into())
            .spawn(move || {
                loop {
                    match stopped.recv_timeout(period) {
                        Err(RecvTimeoutError::Timeout) => report(geo.reload_if_changed()),
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        Ok(Watcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn open_one(path: &Path) -> Result<Loaded, Error> {
    // Stamp first: if the file changes between the stamp and the open, the
    // next poll sees a newer stamp and reloads again, never the reverse.
    let stamp = stamp(path)?;
    let db = GeoDb::open(path)?;
    Ok(Loaded {
        db: Arc::new(db),
        stamp,
    })
}

/// The polling thread started by [`SharedGeo::spawn_watcher`]; dropping it
/// stops the thread and waits for it.
#[derive(Debug)]
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
