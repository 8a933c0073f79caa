//! `resolve(name, type)` for LUA records: lookups through the resolver
//! named by `--lua-resolver ADDR:PORT`, cached by their TTL, and never a
//! stall of the answering threads.
//!
//! ```text
//! worker (script) --lookup--> Table (table.rs): hit / stale / wait / fail
//!        | miss: request (bounded queue)         ^ complete()
//!        v                                       |
//! background task (client.rs): UDP query, TCP on TC=1, deadlines
//! ```
//!
//! Scripts run synchronously on the answering threads, so a lookup there
//! never touches the network: a cached answer is returned at once (a stale
//! one too, refreshed in the background); a miss asks the task and waits at
//! most `--lua-resolve-wait` (default [`DEFAULT_WAIT`]), then fails the
//! evaluation (SERVFAIL); the next query after the answer arrives gets it.
//! Once a wait runs out, misses stop waiting until the resolver answers
//! again, and a failure is remembered for [`table::FAIL_HOLD`]: a dead or
//! slow resolver costs one bound, not a worker.
//!
//! Why 10 ms by default: a resolver on the same host or network answers a
//! cached name in well under a millisecond, so the first query for a name
//! usually gets its answer; a name the resolver must itself look up takes
//! tens to hundreds of milliseconds, more than any bound a UDP worker can
//! afford, and the client's retry (after about a second) finds it cached.
//! 10 ms leaves room for a busy resolver, and costs little in the worst
//! case: a resolver that stops answering parks each waiting worker once,
//! for 10 ms, before misses stop waiting.

mod client;
pub mod table;

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use table::{Answers, Key, Resolved};
use table::{Read, Table};

use crate::wire::{Name, RType};

/// Default `--lua-resolve-wait`.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(10);

/// Longest `--lua-resolve-wait` accepted: past it a worker is stalled.
pub const MAX_WAIT: Duration = Duration::from_millis(1000);

/// Names (with their types) the cache holds at most.
pub const MAX_ENTRIES: usize = 16_384;

/// Lookups in flight at most (first lookups and refreshes): past it a miss
/// fails at once.
pub const MAX_IN_FLIGHT: usize = 256;

/// `--lua-resolver` and `--lua-resolve-wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolverSettings {
    /// The resolver asked (recursion desired).
    pub addr: SocketAddr,
    /// How long a query waits for a lookup it cannot answer from the cache.
    pub wait: Duration,
}

/// Why `resolve()` has no answer for this query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    #[error("no resolver is configured (--lua-resolver)")]
    NotConfigured,
    #[error("the resolver has not answered yet (waited {} ms)", .0.as_millis())]
    TimedOut(Duration),
    #[error("the lookup failed: {0}")]
    Failed(Arc<str>),
    #[error("too many lookups in flight")]
    Busy,
}

/// A resolver: the table and the way to the background task.
#[derive(Debug)]
pub struct Resolver {
    table: Arc<Table>,
    requests: mpsc::Sender<Key>,
    addr: SocketAddr,
}

impl Resolver {
    /// Starts the background task on `runtime`.
    pub fn start(settings: ResolverSettings, runtime: &tokio::runtime::Handle) -> Arc<Resolver> {
        let table = Arc::new(Table::new(MAX_ENTRIES, MAX_IN_FLIGHT, settings.wait));
        let (requests, queue) = mpsc::channel(MAX_IN_FLIGHT);
        runtime.spawn(client::serve(settings.addr, queue, table.clone()));
        Arc::new(Resolver {
            table,
            requests,
            addr: settings.addr,
        })
    }

    /// The answer for (`name`, `rtype`): cached, or waited for within the
    /// bound. Never blocks longer than the bound.
    pub fn lookup(&self, name: &Name, rtype: RType) -> Result<Answers, ResolveError> {
        let key = Key::new(name, rtype);
        let now = Instant::now();
        match self.table.read(&key, now) {
            Read::Hit(answers) => Ok(answers),
            Read::Stale { answers, refresh } => {
                if refresh {
                    self.request(key, now);
                }
                Ok(answers)
            }
            Read::Wait {
                waiter,
                deadline,
                start,
            } => {
                if start && !self.request(key.clone(), now) {
                    return Err(ResolveError::Busy);
                }
                if !waiter.wait_until(deadline) {
                    self.table.gave_up();
                    return Err(ResolveError::TimedOut(self.table.wait()));
                }
                match self.table.read(&key, Instant::now()) {
                    Read::Hit(answers) | Read::Stale { answers, .. } => Ok(answers),
                    Read::Failed(reason) => Err(ResolveError::Failed(reason)),
                    _ => Err(ResolveError::TimedOut(self.table.wait())),
                }
            }
            Read::TimedOut => Err(ResolveError::TimedOut(self.table.wait())),
            Read::Failed(reason) => Err(ResolveError::Failed(reason)),
            Read::Busy => Err(ResolveError::Busy),
        }
    }

    /// Asks the task for `key`; false (and the lookup undone) when its
    /// queue is full.
    fn request(&self, key: Key, now: Instant) -> bool {
        match self.requests.try_send(key) {
            Ok(()) => true,
            Err(e) => {
                let key = match e {
                    mpsc::error::TrySendError::Full(k) | mpsc::error::TrySendError::Closed(k) => k,
                };
                self.table.request_failed(&key, now);
                false
            }
        }
    }

    /// The `/metrics` series.
    pub fn render_metrics(&self, out: &mut String) {
        let c = &self.table.counters;
        let series = [
            (
                "dnsd_lua_resolve_cache_hits_total",
                "resolve() calls answered from the cache, fresh.",
                c.hits.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_stale_hits_total",
                "resolve() calls answered from the cache past the TTL while a refresh was due.",
                c.stale_hits.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_misses_total",
                "resolve() calls that found nothing cached and started a lookup.",
                c.misses.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_lookups_total",
                "Queries sent to the --lua-resolver (lookups and refreshes, retries not counted).",
                c.lookups.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_failures_total",
                "Lookups that got no usable answer (timeout, error RCODE, bad reply).",
                c.failures.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_timeouts_total",
                "resolve() calls that gave up after --lua-resolve-wait (SERVFAIL).",
                c.timeouts.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_busy_total",
                "resolve() calls refused because too many lookups were in flight.",
                c.busy.load(Relaxed),
                "counter",
            ),
            (
                "dnsd_lua_resolve_entries",
                "Names held by the resolve() cache.",
                self.table.len() as u64,
                "gauge",
            ),
        ];
        for (name, help, value, kind) in series {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }

    /// The resolver's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

static RESOLVER: OnceLock<Arc<Resolver>> = OnceLock::new();

/// Makes `resolver` the one scripts use (once per process; later calls are
/// ignored).
pub fn install(resolver: Arc<Resolver>) {
    let _ = RESOLVER.set(resolver);
}

/// The process's resolver, if one is configured.
pub fn installed() -> Option<&'static Arc<Resolver>> {
    RESOLVER.get()
}

/// `resolve()` as scripts call it: through the process's resolver.
pub fn lookup(name: &Name, rtype: RType) -> Result<Answers, ResolveError> {
    match installed() {
        Some(resolver) => resolver.lookup(name, rtype),
        None => {
            static LOGGED: AtomicBool = AtomicBool::new(false);
            if !LOGGED.swap(true, Relaxed) {
                tracing::warn!(
                    "a LUA record called resolve() but no --lua-resolver is configured: it answers SERVFAIL"
                );
            }
            Err(ResolveError::NotConfigured)
        }
    }
}
