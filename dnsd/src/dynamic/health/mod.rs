//! The background health checker behind `ifportup`, `ifurlup`, `ifurlextup`
//! and `pickselfweighted` (spec §6, §7): PowerDNS's `IsUpOracle` on tokio.
//!
//! ```text
//! query path ── HealthView::status(&CheckKey) ──> registry (papaya map, lock-free)
//!                 new key: insert Pending, wake ──┐       ▲ atomics: reported, last_access
//!                                                 ▼       │
//! scheduler (one tokio task): tick ─> due checks in parallel (JoinSet) ─> record ─> expire
//!                                        probe: TCP connect | HTTP(S) GET pinned to the address
//! ```
//!
//! **Query path.** [`HealthChecker::status`] does a lock-free map lookup and
//! two atomic operations (read the packed status, store the access time); a
//! new key costs one insert and a `Notify`. It never waits for a check, never
//! takes a lock the checker holds, never does I/O. The first call for a key
//! returns [`Health::Unknown`]; later calls before the first check completes
//! return [`Health::Down`] (§6.2; the evaluator turns `Unknown` into
//! PowerDNS's -1 only under `failOnIncompleteCheck='true'`).
//!
//! **Registry.** `papaya::HashMap<CheckKey, Arc<Entry>>`: reads are
//! lock-free and inserts and removals never block readers (incremental
//! resizing), so a resize or an expiry on the checker side cannot stall a
//! query. An `arc-swap` snapshot would make readers miss keys registered
//! since the last publish (so "only the registering call sees `Unknown`"
//! would need a second map); a `DashMap` read can wait on a shard's write
//! lock. Mutable per-check state lives in the entry: the two atomics the
//! query path uses, and a mutex only the checker and [`snapshot`] take.
//!
//! **Checks** follow §6.3–§6.6: a round on every global tick (and early when
//! a key is registered) runs every due check at once and waits for all;
//! status flips down after `minimumFailures` consecutive failures and up after
//! one success; checks unused for `expire_delay` are dropped. HTTP checks use
//! our own HTTP/1.1 policy (`http.rs`) over `tokio-rustls`, with hyper's
//! client connection reading the responses (`response.rs`): libcurl's
//! `CURLOPT_RESOLVE` pinning (connect to the candidate, Host and SNI from the
//! URL, `host:80` and `host:443` both pinned without an explicit port),
//! redirects, `byteslimit` as success and the exact status rule are each a
//! few lines here, where `reqwest`'s `resolve()` pins a host for every port
//! and builds a client per key. Certificate verification is off by default
//! as in PowerDNS ([`CheckerSettings::verify_certificates`]).
//!
//! **Answer caches.** [`HealthChecker::generation`] moves whenever what
//! `status()` would return for some key changes (including a key's first
//! completed check and a key dropped by expiry) and at no other time.
//!
//! [`snapshot`]: HealthChecker::snapshot

mod connect;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod http;
pub mod policy;
mod probe;
mod response;
mod scheduler;
mod state;
mod tls;

#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testserver;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use tokio::sync::Notify;
// tokio's clock, so tests can pause it; the real clock otherwise.
use tokio::time::Instant;

pub use error::CheckError;

use crate::dynamic::{CheckKey, CheckKind, Health, HealthView};
use probe::ProbeEnv;
use state::{Entry, Reported};
use tls::TlsClient;

/// Global settings of the checker (spec §6.8 names in the field docs).
#[derive(Clone, Debug)]
pub struct CheckerSettings {
    /// `lua-health-checks-interval`: time between rounds, and the interval of
    /// checks without an `interval` option. Default 5 s.
    pub interval: Duration,
    /// `lua-health-checks-expire-delay`: a check not asked about for this
    /// long is dropped. Default 3600 s.
    pub expire_delay: Duration,
    /// Verify HTTPS certificates (chain and host name). Off by default, as
    /// in PowerDNS, whose checks accept any certificate.
    pub verify_certificates: bool,
    /// Trust anchors added to the Mozilla roots when verifying (a private
    /// CA). Ignored when verification is off.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Upper bound of any one check, used as well when `timeout` ≤ 0 (no
    /// limit in libcurl). Default 30 s.
    pub hard_timeout: Duration,
    /// Most HTTP redirects followed. Default 30.
    pub max_redirects: u32,
    /// Where checks may connect (`--lua-health-allow`/`--lua-health-deny`).
    pub targets: policy::TargetPolicy,
}

impl Default for CheckerSettings {
    fn default() -> Self {
        CheckerSettings {
            interval: Duration::from_secs(5),
            expire_delay: Duration::from_secs(3600),
            verify_certificates: false,
            extra_roots: Vec::new(),
            hard_timeout: Duration::from_secs(30),
            max_redirects: 30,
            targets: policy::TargetPolicy::default(),
        }
    }
}

/// Why the checker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The TLS client could not be built (e.g. an unusable extra root).
    #[error("health checker TLS: {0}")]
    Tls(String),
    /// `interval` is zero.
    #[error("health check interval must be positive")]
    ZeroInterval,
}

/// The shared part: registry, clock, counters.
#[derive(Debug)]
struct Inner {
    map: papaya::HashMap<CheckKey, Arc<Entry>>,
    /// Origin of the millisecond clock of `last_access`.
    epoch: Instant,
    generation: AtomicU64,
    interval: Duration,
    expire_delay: Duration,
    probe: ProbeEnv,
    wake: Arc<Notify>,
}

impl Inner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// The health checker: registry plus a background task on tokio.
///
/// Share it as `Arc<HealthChecker>` between the answer path (as
/// `&dyn HealthView`) and the API. Dropping the last handle stops the task
/// at its next wake-up.
#[derive(Debug)]
pub struct HealthChecker {
    inner: Arc<Inner>,
}

impl HealthChecker {
    /// Creates the checker and spawns its loop on `runtime`.
    pub fn start(
        settings: CheckerSettings,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Arc<HealthChecker>, StartError> {
        Self::spawn(
            settings,
            runtime,
            #[cfg(test)]
            None,
        )
    }

    fn spawn(
        settings: CheckerSettings,
        runtime: &tokio::runtime::Handle,
        #[cfg(test)] fake: Option<probe::FakeProbe>,
    ) -> Result<Arc<HealthChecker>, StartError> {
        if settings.interval.is_zero() {
            return Err(StartError::ZeroInterval);
        }
        let tls = TlsClient::new(settings.verify_certificates, &settings.extra_roots)
            .map_err(StartError::Tls)?;
        let wake = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            map: papaya::HashMap::new(),
            epoch: Instant::now(),
            generation: AtomicU64::new(0),
            interval: settings.interval,
            expire_delay: settings.expire_delay,
            probe: ProbeEnv {
                tls,
                hard_timeout: settings.hard_timeout,
                max_redirects: settings.max_redirects,
                targets: settings.targets.clone(),
                #[cfg(test)]
                fake,
            },
            wake: Arc::clone(&wake),
        });
        runtime.spawn(scheduler::run(
            Arc::downgrade(&inner),
            wake,
            settings.interval,
        ));
        Ok(Arc::new(HealthChecker { inner }))
    }

    /// Moves whenever what [`status`](HealthView::status) reports for any key
    /// changes: up↔down, a new body weight, a key's first completed check, a
    /// key dropped by expiry. Answer caches keep the generation they were
    /// filled at and drop entries when it differs.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// `lua-health-checks-expire-delay`: a check unused this long is dropped.
    pub fn expire_delay(&self) -> Duration {
        self.inner.expire_delay
    }

    /// Number of registered checks.
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// True when no check is registered.
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// Every registered check, sorted by target, for the API and metrics.
    pub fn snapshot(&self) -> Snapshot {
        let now_ms = self.inner.now_ms();
        let mut checks: Vec<CheckInfo> = {
            let map = self.inner.map.pin();
            map.iter()
                .map(|(key, entry)| CheckInfo::new(key, entry, now_ms))
                .collect()
        };
        checks.sort_by(|a, b| (&a.target, &a.url, a.kind).cmp(&(&b.target, &b.url, b.kind)));
        Snapshot {
            generation: self.generation(),
            interval_secs: self.inner.interval.as_secs_f64(),
            expire_delay_secs: self.inner.expire_delay.as_secs_f64(),
            checks,
        }
    }

    /// Appends Prometheus text lines for every check (`dnsd_lua_health_*`).
    pub fn render_metrics(&self, out: &mut String) {
        let snap = self.snapshot();
        let _ = writeln!(
            out,
            "# HELP dnsd_lua_health_check_up LUA health check target up (1) or down (0; also while pending).\n\
             # TYPE dnsd_lua_health_check_up gauge"
        );
        for c in &snap.checks {
            let _ = writeln!(
                out,
                "dnsd_lua_health_check_up{{{}}} {}",
                c.labels(),
                u8::from(c.status == CheckStatus::Up)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dnsd_lua_health_check_consecutive_failures Failed checks since the last success.\n\
             # TYPE dnsd_lua_health_check_consecutive_failures gauge"
        );
        for c in &snap.checks {
            let _ = writeln!(
                out,
                "dnsd_lua_health_check_consecutive_failures{{{}}} {}",
                c.labels(),
                c.consecutive_failures
            );
        }
        let _ = writeln!(
            out,
            "# HELP dnsd_lua_health_check_last_change_seconds Unix time of the last status change.\n\
             # TYPE dnsd_lua_health_check_last_change_seconds gauge"
        );
        for c in &snap.checks {
            if let Some(t) = c.last_change {
                let _ = writeln!(
                    out,
                    "dnsd_lua_health_check_last_change_seconds{{{}}} {t}",
                    c.labels()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP dnsd_lua_health_checks Registered LUA health checks.\n\
             # TYPE dnsd_lua_health_checks gauge\n\
             dnsd_lua_health_checks {}\n\
             # HELP dnsd_lua_health_generation Health changes seen (answer cache generation).\n\
             # TYPE dnsd_lua_health_generation counter\n\
             dnsd_lua_health_generation {}",
            snap.checks.len(),
            snap.generation
        );
    }
}

impl Drop for HealthChecker {
    fn drop(&mut self) {
        // Let the loop see that it is alone and stop.
        self.inner.wake.notify_one();
    }
}

impl HealthView for HealthChecker {
    fn status(&self, check: &CheckKey) -> Health {
        let now = self.inner.now_ms();
        let map = self.inner.map.pin();
        if let Some(entry) = map.get(check) {
            entry.touch(now);
            return entry.reported().health();
        }
        match map.try_insert(check.clone(), Arc::new(Entry::new(now))) {
            Ok(_) => {
                self.inner.wake.notify_one();
                Health::Unknown
            }
            // Another query registered it in between: that one saw Unknown.
            Err(occupied) => {
                occupied.current.touch(now);
                occupied.current.reported().health()
            }
        }
    }

    fn generation(&self) -> u64 {
        HealthChecker::generation(self)
    }
}

/// `GET /api/v1/health-checks`: the checker as a whole.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// [`HealthChecker::generation`] when the snapshot was taken.
    pub generation: u64,
    /// `lua-health-checks-interval`.
    pub interval_secs: f64,
    /// `lua-health-checks-expire-delay`.
    pub expire_delay_secs: f64,
    /// Every check, sorted by target then URL.
    pub checks: Vec<CheckInfo>,
}

/// A check's status as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Registered, first check not completed (queries see it down).
    Pending,
    /// Up (including "failed fewer than minimumFailures times").
    Up,
    /// Down.
    Down,
}

/// The kind of probe, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// `ifportup`: TCP connect.
    Tcp,
    /// `ifurlup`, `pickselfweighted`: HTTP(S) pinned to the target.
    Http,
    /// `ifurlextup`: HTTP(S), host resolved normally.
    HttpUnpinned,
}

/// One check in a [`Snapshot`]. Times are Unix seconds.
#[derive(Clone, Debug, Serialize)]
pub struct CheckInfo {
    /// `ip:port` (TCP), `ip` (pinned HTTP) or `null` (`ifurlextup`).
    pub target: Option<String>,
    /// How it probes.
    pub kind: ProbeKind,
    /// The URL (`null` for TCP).
    pub url: Option<String>,
    /// The option table as the record gave it (the check's identity).
    pub options: BTreeMap<String, String>,
    /// Pending, up or down.
    pub status: CheckStatus,
    /// Body weight of the last successful HTTP check (0: none).
    pub weight: i32,
    /// Failed checks since the last success.
    pub consecutive_failures: u32,
    /// Completed checks.
    pub checks: u64,
    /// When the key was registered.
    pub registered: u64,
    /// When the last check completed.
    pub last_check: Option<u64>,
    /// When the status (or weight) last changed; the first completed check
    /// counts.
    pub last_change: Option<u64>,
    /// Why the last check failed (`null` after a success).
    pub last_error: Option<String>,
    /// Seconds since a query last asked about this check.
    pub idle_secs: u64,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl CheckInfo {
    fn new(key: &CheckKey, entry: &Entry, now_ms: u64) -> CheckInfo {
        let reported = entry.reported();
        let d = entry.detail();
        let (kind, target) = match key.kind {
            CheckKind::Tcp => (ProbeKind::Tcp, key.addr.map(|a| a.to_string())),
            CheckKind::Http => (ProbeKind::Http, key.addr.map(|a| a.ip().to_string())),
            CheckKind::HttpUnpinned => (ProbeKind::HttpUnpinned, None),
        };
        let (status, weight) = match reported {
            Reported::Pending => (CheckStatus::Pending, 0),
            Reported::Down => (CheckStatus::Down, 0),
            Reported::Up { weight } => (CheckStatus::Up, weight),
        };
        CheckInfo {
            target,
            kind,
            url: (!key.url.is_empty()).then(|| key.url.clone()),
            options: key.options.raw.clone(),
            status,
            weight,
            consecutive_failures: d.failures,
            checks: d.checks,
            registered: unix(d.registered),
            last_check: d.last_check.map(unix),
            last_change: d.last_change.map(unix),
            last_error: d.last_error.clone(),
            idle_secs: now_ms.saturating_sub(entry.last_access()) / 1000,
        }
    }

    /// Prometheus labels: kind, target, url, options (`k=v` joined by `,`).
    fn labels(&self) -> String {
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let kind = match self.kind {
            ProbeKind::Tcp => "tcp",
            ProbeKind::Http => "http",
            ProbeKind::HttpUnpinned => "http-unpinned",
        };
        let options = self
            .options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        format!(
            "kind=\"{kind}\",target=\"{}\",url=\"{}\",options=\"{}\"",
            esc(self.target.as_deref().unwrap_or("")),
            esc(self.url.as_deref().unwrap_or("")),
            esc(&options)
        )
    }
}
