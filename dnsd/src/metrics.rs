//! Counters for `/metrics` (Prometheus text format).
//!
//! Each transport worker owns a [`WorkerStats`] and is its only writer, so
//! counting is a relaxed atomic add on a line no other core writes: no lock
//! and no contention on the answer path. Scrapes add the workers up.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::dnssec::Signer;
use crate::dynamic::LuaCache;
use crate::dynamic::health::HealthChecker;
use crate::parse::Transport;
use crate::wire::RType;
use crate::zones::Registry;

/// Query types counted separately; everything else is "other".
const TYPES: [RType; 16] = [
    RType::A,
    RType::AAAA,
    RType::NS,
    RType::CNAME,
    RType::SOA,
    RType::PTR,
    RType::MX,
    RType::TXT,
    RType::SRV,
    RType::CAA,
    RType::DS,
    RType::DNSKEY,
    RType::SVCB,
    RType::HTTPS,
    RType::ANY,
    RType::NAPTR,
];

/// RCODE names by value (0..=16; 16 is BADVERS).
const RCODES: [&str; 17] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
    "BADVERS",
];

/// Upper bounds of the latency buckets, in microseconds.
const LATENCY_BOUNDS_US: [u64; 10] = [1, 2, 5, 10, 20, 50, 100, 1_000, 10_000, 100_000];

/// One worker's counters.
pub struct WorkerStats {
    transport: Transport,
    by_type: [AtomicU64; TYPES.len() + 1],
    by_rcode: [AtomicU64; RCODES.len()],
    latency: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    latency_sum_ns: AtomicU64,
    /// Replies replayed from templates.
    replayed: AtomicU64,
}

impl WorkerStats {
    fn new(transport: Transport) -> WorkerStats {
        WorkerStats {
            transport,
            by_type: Default::default(),
            by_rcode: Default::default(),
            latency: Default::default(),
            latency_sum_ns: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
        }
    }

    /// Counts one answered query.
    #[inline]
    pub fn record(&self, qtype: RType, rcode: crate::wire::Rcode) {
        let slot = TYPES
            .iter()
            .position(|&t| t == qtype)
            .unwrap_or(TYPES.len());
        self.by_type[slot].fetch_add(1, Relaxed);
        self.by_rcode[usize::from(rcode.0).min(RCODES.len() - 1)].fetch_add(1, Relaxed);
    }

    /// Counts replies replayed from templates (added per batch).
    pub fn record_replayed(&self, replies: u64) {
        if replies > 0 {
            self.replayed.fetch_add(replies, Relaxed);
        }
    }

    /// Adds `answered` queries answered in `elapsed_ns` in all to the
    /// latency histogram, each at the average. UDP workers time a whole
    /// batch (two clock reads per batch rather than per query); TCP times
    /// each query.
    pub fn record_time(&self, elapsed_ns: u64, answered: u64) {
        if answered == 0 {
            return;
        }
        let us = elapsed_ns / answered / 1000;
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|&b| us < b)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.latency[bucket].fetch_add(answered, Relaxed);
        self.latency_sum_ns.fetch_add(elapsed_ns, Relaxed);
    }
}

/// All workers' counters plus API counters.
#[derive(Default)]
pub struct Metrics {
    workers: Mutex<Vec<Arc<WorkerStats>>>,
    api_changes: AtomicU64,
    signer: Option<Arc<Signer>>,
    health: std::sync::OnceLock<Arc<HealthChecker>>,
    lua_cache: std::sync::OnceLock<Arc<LuaCache>>,
    replication: std::sync::OnceLock<Arc<crate::xfr::Replicator>>,
    rrl: std::sync::OnceLock<Arc<crate::net::rrl::Rrl>>,
}

impl Metrics {
    /// Counters; with a signer, its signature cache is reported too.
    pub fn new(signer: Option<Arc<Signer>>) -> Metrics {
        Metrics {
            signer,
            ..Metrics::default()
        }
    }

    /// Registers a worker and hands it its counters.
    pub fn worker(&self, transport: Transport) -> Arc<WorkerStats> {
        let stats = Arc::new(WorkerStats::new(transport));
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stats.clone());
        stats
    }

    /// Reports the LUA health checker's targets (up/down, consecutive
    /// failures, last change) from now on.
    pub fn set_health(&self, checker: Arc<HealthChecker>) {
        let _ = self.health.set(checker);
    }

    /// Reports the LUA answer cache from now on.
    pub fn set_lua_cache(&self, cache: Arc<LuaCache>) {
        let _ = self.lua_cache.set(cache);
    }

    /// Reports zone transfers, NOTIFY and secondary refreshes from now on.
    pub fn set_replication(&self, replicator: Arc<crate::xfr::Replicator>) {
        let _ = self.replication.set(replicator);
    }

    /// Reports response-rate limiting from now on.
    pub fn set_rrl(&self, rrl: Arc<crate::net::rrl::Rrl>) {
        let _ = self.rrl.set(rrl);
    }

    /// Counts a successful API change.
    pub fn api_change(&self) {
        self.api_changes.fetch_add(1, Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self, zones: &Registry) -> String {
        let workers = self
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::with_capacity(4096);
        let transports = [(Transport::Udp, "udp"), (Transport::Tcp, "tcp")];

        out.push_str(
            "# HELP dnsd_log_lines_dropped_total Log lines dropped: the log queue was full or the write failed.\n",
        );
        out.push_str("# TYPE dnsd_log_lines_dropped_total counter\n");
        let _ = writeln!(
            out,
            "dnsd_log_lines_dropped_total {}",
            logsink::dropped_lines()
        );
        out.push_str("# HELP dnsd_queries_total Queries answered, by query type and transport.\n");
        out.push_str("# TYPE dnsd_queries_total counter\n");
        for (transport, label) in transports {
            for (slot, name) in TYPES
                .iter()
                .map(|t| t.to_string())
                .chain(["other".to_string()])
                .enumerate()
            {
                let n: u64 = workers
                    .iter()
                    .filter(|w| w.transport == transport)
                    .map(|w| w.by_type[slot].load(Relaxed))
                    .sum();
                let _ = writeln!(
                    out,
                    "dnsd_queries_total{{qtype=\"{name}\",transport=\"{label}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP dnsd_responses_total Responses sent, by RCODE and transport.\n");
        out.push_str("# TYPE dnsd_responses_total counter\n");
        for (transport, label) in transports {
            for (code, name) in RCODES.iter().enumerate() {
                let n: u64 = workers
                    .iter()
                    .filter(|w| w.transport == transport)
                    .map(|w| w.by_rcode[code].load(Relaxed))
                    .sum();
                let _ = writeln!(
                    out,
                    "dnsd_responses_total{{rcode=\"{name}\",transport=\"{label}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP dnsd_answer_seconds Time to build an answer, socket time excluded.\n");
        out.push_str("# TYPE dnsd_answer_seconds histogram\n");
        for (transport, label) in transports {
            let mine: Vec<_> = workers
                .iter()
                .filter(|w| w.transport == transport)
                .collect();
            let mut cumulative = 0u64;
            for (i, bound) in LATENCY_BOUNDS_US.iter().enumerate() {
                cumulative += mine.iter().map(|w| w.latency[i].load(Relaxed)).sum::<u64>();
                let _ = writeln!(
                    out,
                    "dnsd_answer_seconds_bucket{{transport=\"{label}\",le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            cumulative += mine
                .iter()
                .map(|w| w.latency[LATENCY_BOUNDS_US.len()].load(Relaxed))
                .sum::<u64>();
            let _ = writeln!(
                out,
                "dnsd_answer_seconds_bucket{{transport=\"{label}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum: u64 = mine.iter().map(|w| w.latency_sum_ns.load(Relaxed)).sum();
            let _ = writeln!(
                out,
                "dnsd_answer_seconds_sum{{transport=\"{label}\"}} {}",
                sum as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "dnsd_answer_seconds_count{{transport=\"{label}\"}} {cumulative}"
            );
        }
        if let Some(rrl) = self.rrl.get() {
            out.push_str("# HELP dnsd_rrl_responses_total UDP responses over the rate limit, by what was done: dropped, or slipped (sent truncated). They are also counted in dnsd_responses_total.\n");
            out.push_str("# TYPE dnsd_rrl_responses_total counter\n");
            let _ = writeln!(
                out,
                "dnsd_rrl_responses_total{{action=\"dropped\"}} {}",
                rrl.dropped()
            );
            let _ = writeln!(
                out,
                "dnsd_rrl_responses_total{{action=\"slipped\"}} {}",
                rrl.slipped()
            );
        }
        out.push_str("# HELP dnsd_replayed_replies_total Replies replayed from a worker's templates (included in dnsd_queries_total).\n");
        out.push_str("# TYPE dnsd_replayed_replies_total counter\n");
        for (transport, label) in transports {
            let n: u64 = workers
                .iter()
                .filter(|w| w.transport == transport)
                .map(|w| w.replayed.load(Relaxed))
                .sum();
            let _ = writeln!(
                out,
                "dnsd_replayed_replies_total{{transport=\"{label}\"}} {n}"
            );
        }
        let views = zones.list();
        let records: usize = views
            .iter()
            .filter_map(|v| v.zone())
            .map(|z| z.record_count)
            .sum();
        out.push_str("# HELP dnsd_zones Zones served.\n# TYPE dnsd_zones gauge\n");
        let _ = writeln!(out, "dnsd_zones {}", views.len());
        out.push_str(
            "# HELP dnsd_records Records served, over all zones.\n# TYPE dnsd_records gauge\n",
        );
        let _ = writeln!(out, "dnsd_records {records}");
        out.push_str("# HELP dnsd_api_changes_total Successful API changes.\n# TYPE dnsd_api_changes_total counter\n");
        let _ = writeln!(
            out,
            "dnsd_api_changes_total {}",
            self.api_changes.load(Relaxed)
        );
        out.push_str(
            "# HELP dnsd_zone_serial SOA serial served, by zone.\n# TYPE dnsd_zone_serial gauge\n",
        );
        for view in &views {
            if let Some(zone) = view.zone() {
                let name = zone
                    .origin
                    .to_lowercase()
                    .to_string()
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                let _ = writeln!(out, "dnsd_zone_serial{{zone=\"{name}\"}} {}", zone.serial);
            }
        }
        if let Some(replicator) = self.replication.get() {
            replicator.stats.render(&mut out);
            replicator.render_catalogs(&mut out);
        }
        if let Some(health) = self.health.get() {
            health.render_metrics(&mut out);
        }
        render_lua_engines(&mut out);
        if let Some(resolver) = crate::dynamic::resolver::installed() {
            resolver.render_metrics(&mut out);
        }
        if let Some(cache) = self.lua_cache.get() {
            let stats = cache.stats();
            let series = [
                (
                    "dnsd_lua_cache_entries",
                    "LUA results held in the answer cache.",
                    stats.entries as u64,
                    "gauge",
                ),
                (
                    "dnsd_lua_cache_capacity_entries",
                    "Most LUA results the answer cache holds.",
                    stats.capacity as u64,
                    "gauge",
                ),
                (
                    "dnsd_lua_cache_hits_total",
                    "LUA records answered from the cache.",
                    stats.hits,
                    "counter",
                ),
                (
                    "dnsd_lua_cache_misses_total",
                    "Cacheable LUA records evaluated because nothing current was cached.",
                    stats.misses,
                    "counter",
                ),
                (
                    "dnsd_lua_cache_evictions_total",
                    "LUA results dropped: for room, a health or GeoIP change, or age.",
                    stats.evictions,
                    "counter",
                ),
            ];
            for (name, help, value, kind) in series {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
                );
            }
        }
        if let Some(signer) = &self.signer {
            let stats = signer.cache.stats();
            let series = [
                (
                    "dnsd_signature_cache_entries",
                    "Signatures held in the cache.",
                    stats.entries as u64,
                    "gauge",
                ),
                (
                    "dnsd_signature_cache_bytes",
                    "Memory used by cached signatures.",
                    stats.bytes as u64,
                    "gauge",
                ),
                (
                    "dnsd_signature_cache_capacity_bytes",
                    "Memory budget of the signature cache.",
                    stats.capacity as u64,
                    "gauge",
                ),
                (
                    "dnsd_signature_cache_hits_total",
                    "Signatures served from the cache.",
                    stats.hits,
                    "counter",
                ),
                (
                    "dnsd_signature_cache_misses_total",
                    "Signatures made because none was cached.",
                    stats.misses,
                    "counter",
                ),
                (
                    "dnsd_signature_cache_evictions_total",
                    "Signatures dropped to stay within budget.",
                    stats.evictions,
                    "counter",
                ),
            ];
            for (name, help, value, kind) in series {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
                );
            }
            render_negative_budget(&signer.negatives, &mut out);
        }
        out
    }
}

/// The per-zone budget of fresh negative signatures: what each signed zone
/// signed within it, answered from NSEC ranges past it, and whether it is
/// in fallback now (zones appear once they first denied a name).
fn render_negative_budget(budget: &crate::dnssec::NegativeBudget, out: &mut String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let zones = budget.stats(now);
    let _ = writeln!(
        out,
        "# HELP dnsd_negative_signature_budget Fresh negative signatures allowed per signed zone per second (0: no cap).\n\
         # TYPE dnsd_negative_signature_budget gauge\ndnsd_negative_signature_budget {}",
        budget.per_second()
    );
    type Field = fn(&crate::dnssec::FloodStats) -> u64;
    let series: [(&str, &str, &str, Field); 4] = [
        (
            "dnsd_negative_signatures_fresh_total",
            "Compact NSECs of missing names signed fresh within the zone's budget.",
            "counter",
            |z| z.fresh_signatures,
        ),
        (
            "dnsd_denial_range_answers_total",
            "Missing names proven with NSEC ranges over the real names (past the budget).",
            "counter",
            |z| z.range_answers,
        ),
        (
            "dnsd_denial_fallback_episodes_total",
            "Times the zone went past its budget into range denial.",
            "counter",
            |z| z.episodes,
        ),
        (
            "dnsd_denial_fallback_active",
            "1 while the zone proves missing names with NSEC ranges.",
            "gauge",
            |z| u64::from(z.active),
        ),
    ];
    for (name, help, kind, field) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for zone in &zones {
            let label = zone
                .zone
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{zone=\"{label}\"}} {}", field(zone));
        }
    }
}

/// LUA-record evaluations per engine (native compiler, embedded Lua):
/// how many ran, failed (SERVFAIL) and hit the instruction or memory limit.
fn render_lua_engines(out: &mut String) {
    use crate::dynamic::stats::{EMBEDDED, EngineStats, NATIVE};
    type Field = fn(&EngineStats) -> u64;
    let series: [(&str, &str, Field); 3] = [
        (
            "dnsd_lua_evaluations_total",
            "LUA records evaluated, per engine (cached results not counted).",
            |s| s.evaluations,
        ),
        (
            "dnsd_lua_errors_total",
            "LUA evaluations that failed (SERVFAIL), per engine.",
            |s| s.errors,
        ),
        (
            "dnsd_lua_limit_hits_total",
            "LUA evaluations stopped by the instruction or memory limit, per engine.",
            |s| s.limit_hits,
        ),
    ];
    let engines = [
        ("native", NATIVE.snapshot()),
        ("embedded", EMBEDDED.snapshot()),
    ];
    for (name, help, field) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (engine, stats) in &engines {
            let _ = writeln!(out, "{name}{{engine=\"{engine}\"}} {}", field(stats));
        }
    }
}
