//! Applies the DNS work queued in the outbox, and sweeps lapsed
//! reservations.
//!
//! A request that changed state applies its allocation's queue inline
//! ([`Applier::drain`]) so the caller learns the outcome; whatever is left
//! (a DNS server down, a crash, a timeout) the background worker
//! ([`Applier::run_worker`]) applies with back-off until it succeeds. The
//! lease on each entry keeps the two, and other replicas, from applying
//! the same entry at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::SharedClock;
use crate::dns::{DnsError, PdnsClient};
use crate::effects;
use crate::store::{OutboxEntry, Store, StoreError};

/// The longest pause between retries of one entry.
const MAX_BACKOFF_SECS: i64 = 60;
/// How often the worker looks for due entries when nothing wakes it.
const WORKER_TICK: Duration = Duration::from_millis(500);

/// Why an allocation's queue is not empty after [`Applier::drain`].
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// Applying an effect failed; it stays queued for the worker.
    #[error(transparent)]
    Dns(#[from] DnsError),
    /// The time allowed ran out (slow DNS server, or another applier holds
    /// the entry); the work stays queued.
    #[error(
        "DNS work did not finish within {0:?}; it stays queued and is retried in the background"
    )]
    Timeout(Duration),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct OutboxMetrics {
    /// Effects applied successfully.
    pub applied: AtomicU64,
    /// Attempts that failed.
    pub failed: AtomicU64,
    /// Reservations claimed by the sweeper.
    pub swept: AtomicU64,
}

/// Applies outbox entries against the DNS server.
#[derive(Clone)]
pub struct Applier {
    store: Store,
    dns: PdnsClient,
    metrics: Arc<OutboxMetrics>,
    wake: Arc<tokio::sync::Notify>,
    /// How long a claimed entry stays ours; after a crash, how long until
    /// another applier takes it over.
    lease: Duration,
    /// Wall time for leases, back-off and expiry.
    clock: SharedClock,
}

impl Applier {
    /// An applier over this database and DNS server, claiming entries for
    /// `lease` (at least 2 s), reading wall time from `clock`.
    pub fn new(store: Store, dns: PdnsClient, lease: Duration, clock: SharedClock) -> Self {
        Applier {
            store,
            dns,
            metrics: Arc::default(),
            wake: Arc::default(),
            lease: lease.max(Duration::from_secs(2)),
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    fn lease_secs(&self) -> i64 {
        self.lease.as_secs() as i64
    }

    /// How long one application may run: well inside the lease, so no
    /// one else takes the entry over while we still work on it.
    fn apply_budget(&self) -> Duration {
        self.lease.mul_f32(0.8)
    }

    /// Its counters.
    pub fn metrics(&self) -> &OutboxMetrics {
        &self.metrics
    }

    /// Applies the queue of one allocation, in order, until it is empty or
    /// `budget` runs out. On failure the entry stays queued (with its
    /// back-off) and the worker is woken to carry on.
    pub async fn drain(
        &self,
        pool_domain: &str,
        subdomain: &str,
        budget: Duration,
    ) -> Result<(), DrainError> {
        let budget = budget.min(self.apply_budget());
        let deadline = Instant::now() + budget;
        let result = self
            .drain_until(pool_domain, subdomain, deadline, budget)
            .await;
        if result.is_err() {
            self.wake.notify_one();
        }
        result
    }

    async fn drain_until(
        &self,
        pool_domain: &str,
        subdomain: &str,
        deadline: Instant,
        budget: Duration,
    ) -> Result<(), DrainError> {
        loop {
            let Some(head) = self.store.outbox_head(pool_domain, subdomain).await? else {
                return Ok(());
            };
            let t = self.now();
            if !self
                .store
                .outbox_claim(head.id, t, t + self.lease_secs())
                .await?
            {
                // The worker (or another replica) is applying it: wait.
                if Instant::now() >= deadline {
                    return Err(DrainError::Timeout(budget));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            match tokio::time::timeout_at(deadline, self.apply_claimed(&head)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    // Hand the entry back at once rather than at lease end.
                    let message = format!("timed out after {budget:?}");
                    self.store
                        .outbox_fail(head.id, &message, self.now())
                        .await?;
                    return Err(DrainError::Timeout(budget));
                }
            }
        }
    }

    /// Applies an entry whose lease we hold, and records the outcome.
    async fn apply_claimed(&self, entry: &OutboxEntry) -> Result<(), DrainError> {
        let superseded = self.store.outbox_superseded(entry).await?;
        let result = if superseded {
            Ok(())
        } else {
            effects::apply(&self.dns, &entry.effect).await
        };
        match result {
            Ok(()) => {
                self.store.outbox_complete(entry).await?;
                self.metrics.applied.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    pool = %entry.pool_domain, subdomain = %entry.subdomain,
                    effect = ?entry.effect, superseded, "DNS effect applied"
                );
                Ok(())
            }
            Err(e) => {
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                let backoff = backoff_secs(entry.attempts);
                tracing::warn!(
                    pool = %entry.pool_domain, subdomain = %entry.subdomain,
                    attempts = entry.attempts + 1, retry_in_s = backoff, error = %e,
                    "DNS effect failed; will retry"
                );
                self.store
                    .outbox_fail(entry.id, &e.to_string(), self.now() + backoff)
                    .await?;
                Err(e.into())
            }
        }
    }

    /// One pass of the worker: applies every due queue head. Returns how
    /// many entries it applied.
    pub async fn work_once(&self) -> Result<usize, StoreError> {
        let t = self.now();
        let due = self.store.outbox_due(t, 64).await?;
        let mut applied = 0;
        for entry in due {
            if !self
                .store
                .outbox_claim(entry.id, t, self.now() + self.lease_secs())
                .await?
            {
                continue;
            }
            // The lease bounds a stuck call; the timeout keeps one dead
            // DNS server from holding up the whole pass.
            let outcome =
                tokio::time::timeout(self.apply_budget(), self.apply_claimed(&entry)).await;
            match outcome {
                Ok(Ok(())) => applied += 1,
                Ok(Err(DrainError::Store(e))) => return Err(e),
                Ok(Err(_)) => {}
                Err(_) => {
                    self.store
                        .outbox_fail(
                            entry.id,
                            "timed out",
                            self.now() + backoff_secs(entry.attempts),
                        )
                        .await?;
                }
            }
        }
        Ok(applied)
    }

    /// The background worker: forever applies due entries, waking on its
    /// tick or when a request leaves work behind.
    pub async fn run_worker(self) {
        loop {
            match self.work_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox worker: database error"),
            }
            tokio::select! {
                _ = tokio::time::sleep(WORKER_TICK) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// The sweeper: every `interval`, claims lapsed reservations (their
    /// teardown goes through the outbox like any other).
    pub async fn run_sweeper(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.sweep_once().await {
                tracing::error!(error = %e, "sweeper: database error");
            }
        }
    }

    /// One sweep: claims the reservations lapsed by the clock's now and
    /// wakes the worker for their teardown. Returns how many it claimed.
    pub async fn sweep_once(&self) -> Result<usize, StoreError> {
        let claimed = self.store.claim_expired(self.now(), 500).await?;
        if !claimed.is_empty() {
            self.metrics
                .swept
                .fetch_add(claimed.len() as u64, Ordering::Relaxed);
            for a in &claimed {
                tracing::info!(pool = %a.pool_domain, subdomain = %a.subdomain, "reservation expired; tearing down");
            }
            self.wake.notify_one();
        }
        Ok(claimed.len())
    }
}

/// Exponential back-off: 1, 2, 4 … 60 s, with up to 25% jitter so that
/// replicas retrying the same dead server spread out.
fn backoff_secs(attempts: i64) -> i64 {
    let base = 1i64 << attempts.clamp(0, 6);
    let base = base.min(MAX_BACKOFF_SECS);
    let jitter = rand::random_range(0..=base / 4);
    base + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!((1..=1).contains(&backoff_secs(0)));
        assert!((8..=10).contains(&backoff_secs(3)));
        for a in [6, 10, 1000] {
            assert!((60..=75).contains(&backoff_secs(a)));
        }
    }
}
