//! What `resolve()` knows of each (name, type) it was asked: an answer with
//! its expiry, a lookup on its way, or a recent failure; and the decision,
//! per query, between answering, waiting a little, and failing at once.
//!
//! Time is passed in (`now`), so every rule here is tested without a clock
//! or a network. The table is split into shards, each a `Mutex` held only
//! for one map operation (a lookup and an `Arc` clone, or one insert);
//! nobody holds a shard while waiting or doing I/O.
//!
//! **Life of an entry.** A miss inserts [`Slot::Pending`] and asks the
//! background task (the caller sends the request). The task's result
//! replaces it with [`Slot::Known`] (answers, possibly none: a negative
//! answer) or [`Slot::Failed`] (held [`FAIL_HOLD`], so a dead resolver is
//! asked again only that often). A known entry is fresh until its TTL runs
//! out, then stale for [`STALE_LIMIT`]: a stale entry still answers and
//! asks the task for a refresh (one at a time; a failed refresh keeps the
//! old answers and is retried after [`FAIL_HOLD`]). Past the stale limit
//! it counts as absent.
//!
//! **The wait.** A query that finds a pending lookup waits only until the
//! lookup's start plus the wait bound, whoever started it. So however many
//! queries ask for a name the resolver does not answer, together they wait
//! one bound, and after it each fails at once. And once a wait has run out,
//! the resolver counts as *behind*: until its next answer arrives, misses
//! start their lookup but do not wait at all. A dead resolver therefore
//! costs one bound in all, not one per name asked.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::wire::{Name, RType};

/// How long a failed lookup is remembered before the resolver is asked
/// again (and how long a failed refresh waits before the next one).
pub const FAIL_HOLD: Duration = Duration::from_secs(2);

/// How long past its TTL an answer may still be served while refreshes
/// fail (RFC 8767's serve-stale, kept short: LUA records steer traffic).
pub const STALE_LIMIT: Duration = Duration::from_secs(3600);

/// A lookup still pending after this long is taken as lost and started
/// again. The task's own deadlines (client.rs) end every lookup sooner.
pub const LOOKUP_LOST_AFTER: Duration = Duration::from_secs(30);

/// Shards of the table.
const SHARDS: usize = 16;

/// A (name, type) asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// Lowercase.
    pub name: Name,
    pub rtype: RType,
}

impl Key {
    pub fn new(name: &Name, rtype: RType) -> Key {
        Key {
            name: name.to_lowercase(),
            rtype,
        }
    }
}

/// One record of an answer, as scripts see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The record's owner (the name asked, or a CNAME target on the way).
    pub owner: Name,
    pub rtype: RType,
    /// The TTL the resolver gave.
    pub ttl: u32,
    /// RDATA in presentation (zone file) format.
    pub content: String,
}

/// An answer: the records of the type asked; none for a negative answer.
pub type Answers = Arc<[Resolved]>;

/// What the background task found out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An answer (maybe empty), to keep for `ttl`.
    Answer { answers: Answers, ttl: Duration },
    /// No usable answer (timeout, SERVFAIL, a malformed reply...).
    Failed(Arc<str>),
}

/// Lets queries wait for a pending lookup's result.
#[derive(Debug, Default)]
pub struct Waiter {
    done: Mutex<bool>,
    finished: Condvar,
}

impl Waiter {
    /// Waits until the lookup finishes or `deadline` passes; true if it
    /// finished.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        let mut done = lock(&self.done);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = match self.finished.wait_timeout(done, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    fn finish(&self) {
        *lock(&self.done) = true;
        self.finished.notify_all();
    }
}

/// The state of one key.
#[derive(Debug)]
enum Slot {
    /// A lookup is on its way and nothing usable is known.
    Pending {
        started: Instant,
        waiter: Arc<Waiter>,
    },
    /// The last answer.
    Known {
        answers: Answers,
        expires: Instant,
        refresh: Refresh,
    },
    /// The last lookup failed and nothing older is usable.
    Failed { until: Instant, reason: Arc<str> },
}

/// Refreshing a known entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refresh {
    Idle,
    InFlight {
        since: Instant,
    },
    /// The last refresh failed: the next one not before then.
    RetryAfter(Instant),
}

/// What a query gets from [`Table::read`].
#[derive(Debug)]
pub enum Read {
    /// A current answer.
    Hit(Answers),
    /// An answer past its TTL; when `refresh`, the caller must ask the
    /// background task for the key (or call [`Table::request_failed`]).
    Stale { answers: Answers, refresh: bool },
    /// Nothing usable yet: wait on `waiter` until `deadline`, then read
    /// again. When `start`, the caller must first ask the task for the key
    /// (or call [`Table::request_failed`]).
    Wait {
        waiter: Arc<Waiter>,
        deadline: Instant,
        start: bool,
    },
    /// The key's lookup has been pending longer than the wait bound (or
    /// the resolver is behind).
    TimedOut,
    /// The last lookup failed recently.
    Failed(Arc<str>),
    /// Too many lookups in flight, or no room for another entry.
    Busy,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub hits: AtomicU64,
    pub stale_hits: AtomicU64,
    pub misses: AtomicU64,
    pub lookups: AtomicU64,
    pub failures: AtomicU64,
    pub timeouts: AtomicU64,
    pub busy: AtomicU64,
}

/// The table.
#[derive(Debug)]
pub struct Table {
    shards: Box<[Mutex<HashMap<Key, Slot>>]>,
    hasher: RandomState,
    /// Most entries per shard.
    per_shard: usize,
    /// Lookups (first ones and refreshes) requested and not yet finished.
    in_flight: AtomicUsize,
    max_in_flight: usize,
    wait: Duration,
    /// A wait ran out and no answer has arrived since: misses do not wait.
    behind: AtomicBool,
    pub counters: Counters,
}

impl Table {
    /// A table of about `entries` entries (at least one per shard), at most
    /// `max_in_flight` lookups at once, queries waiting at most `wait` for a
    /// lookup to finish.
    pub fn new(entries: usize, max_in_flight: usize, wait: Duration) -> Table {
        Table {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: (entries / SHARDS).max(1),
            in_flight: AtomicUsize::new(0),
            max_in_flight: max_in_flight.max(1),
            wait,
            behind: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    /// A query waited the whole bound in vain: counted, and until the next
    /// answer arrives no query waits.
    pub fn gave_up(&self) {
        self.counters.timeouts.fetch_add(1, Relaxed);
        self.behind.store(true, Relaxed);
    }

    /// True while the resolver is behind (see [`gave_up`](Self::gave_up)).
    pub fn is_behind(&self) -> bool {
        self.behind.load(Relaxed)
    }

    /// The wait bound.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Entries held (pending ones included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Relaxed)
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, HashMap<Key, Slot>> {
        let index = self.hasher.hash_one(key) as usize % self.shards.len();
        lock(&self.shards[index])
    }

    /// What a query for `key` at `now` gets; see [`Read`].
    pub fn read(&self, key: &Key, now: Instant) -> Read {
        let mut shard = self.shard(key);
        let read = match shard.get_mut(key) {
            Some(Slot::Known {
                answers,
                expires,
                refresh,
            }) if now < *expires + STALE_LIMIT => {
                if now < *expires {
                    Read::Hit(answers.clone())
                } else {
                    let due = match *refresh {
                        Refresh::Idle => true,
                        Refresh::InFlight { since } => now >= since + LOOKUP_LOST_AFTER,
                        Refresh::RetryAfter(at) => now >= at,
                    };
                    let start = due && self.reserve();
                    if start {
                        *refresh = Refresh::InFlight { since: now };
                    }
                    Read::Stale {
                        answers: answers.clone(),
                        refresh: start,
                    }
                }
            }
            Some(Slot::Failed { until, reason }) if now < *until => Read::Failed(reason.clone()),
            Some(Slot::Pending { started, waiter }) if now < *started + LOOKUP_LOST_AFTER => {
                let deadline = *started + self.wait;
                if now < deadline && !self.is_behind() {
                    Read::Wait {
                        waiter: waiter.clone(),
                        deadline,
                        start: false,
                    }
                } else {
                    Read::TimedOut
                }
            }
            // Absent, or too old to use: a new lookup.
            _ => self.start(&mut shard, key, now),
        };
        let counter = match &read {
            Read::Hit(_) => &self.counters.hits,
            Read::Stale { .. } => &self.counters.stale_hits,
            Read::Wait { start: true, .. } => &self.counters.misses,
            Read::TimedOut => &self.counters.timeouts,
            Read::Busy => &self.counters.busy,
            Read::Wait { .. } | Read::Failed(_) => return read,
        };
        counter.fetch_add(1, Relaxed);
        read
    }

    /// A pending entry for `key`, if a lookup may start and there is room.
    fn start(&self, shard: &mut HashMap<Key, Slot>, key: &Key, now: Instant) -> Read {
        if !shard.contains_key(key) && shard.len() >= self.per_shard && !make_room(shard, now) {
            return Read::Busy;
        }
        if !self.reserve() {
            return Read::Busy;
        }
        let waiter = Arc::new(Waiter::default());
        shard.insert(
            key.clone(),
            Slot::Pending {
                started: now,
                waiter: waiter.clone(),
            },
        );
        let wait = if self.is_behind() {
            Duration::ZERO
        } else {
            self.wait
        };
        Read::Wait {
            waiter,
            deadline: now + wait,
            start: true,
        }
    }

    /// Takes one of the in-flight places, if any is free.
    fn reserve(&self) -> bool {
        self.in_flight
            .fetch_update(Relaxed, Relaxed, |n| {
                (n < self.max_in_flight).then_some(n + 1)
            })
            .is_ok()
    }

    /// The request [`read`](Self::read) asked for could not be sent (the
    /// task's queue is full or gone): the lookup is not happening.
    pub fn request_failed(&self, key: &Key, now: Instant) {
        self.complete(key, Outcome::Failed("the lookup queue is full".into()), now);
        self.counters.busy.fetch_add(1, Relaxed);
    }

    /// Stores what the lookup for `key` found, wakes whoever waits for it,
    /// and frees its in-flight place.
    pub fn complete(&self, key: &Key, outcome: Outcome, now: Instant) {
        self.in_flight.fetch_sub(1, Relaxed);
        let mut shard = self.shard(key);
        let old = shard.remove(key);
        let waiter = match &old {
            Some(Slot::Pending { waiter, .. }) => Some(waiter.clone()),
            _ => None,
        };
        let new = match (outcome, old) {
            (Outcome::Answer { answers, ttl }, _) => {
                self.behind.store(false, Relaxed);
                Slot::Known {
                    answers,
                    expires: now + ttl,
                    refresh: Refresh::Idle,
                }
            }
            (
                Outcome::Failed(_),
                Some(Slot::Known {
                    answers, expires, ..
                }),
            ) => {
                self.counters.failures.fetch_add(1, Relaxed);
                Slot::Known {
                    answers,
                    expires,
                    refresh: Refresh::RetryAfter(now + FAIL_HOLD),
                }
            }
            (Outcome::Failed(reason), _) => {
                self.counters.failures.fetch_add(1, Relaxed);
                Slot::Failed {
                    until: now + FAIL_HOLD,
                    reason,
                }
            }
        };
        shard.insert(key.clone(), new);
        drop(shard);
        if let Some(waiter) = waiter {
            waiter.finish();
        }
    }
}

/// Frees one place in a full shard: everything unusable at `now` goes; if
/// that frees nothing, one known entry (the one closest to expiry). False
/// when only pending lookups are left.
fn make_room(shard: &mut HashMap<Key, Slot>, now: Instant) -> bool {
    let before = shard.len();
    shard.retain(|_, slot| match slot {
        Slot::Known { expires, .. } => now < *expires + STALE_LIMIT,
        Slot::Failed { until, .. } => now < *until,
        Slot::Pending { .. } => true,
    });
    if shard.len() < before {
        return true;
    }
    let victim = shard
        .iter()
        .filter_map(|(key, slot)| match slot {
            Slot::Known { expires, .. } => Some((*expires, key)),
            _ => None,
        })
        .min_by_key(|(expires, _)| *expires)
        .map(|(_, key)| key.clone());
    match victim {
        Some(key) => shard.remove(&key).is_some(),
        None => false,
    }
}

/// A mutex poisoned by a panic elsewhere still guards consistent data here
/// (every update is one map operation).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
