//! The checker loop (spec §6.3): rounds on global ticks, all due checks of a
//! round in parallel, the round waits for all of them, then expiry.
//!
//! Ticks keep their phase: a round that a new key triggers early (5.1+
//! wake-up) is attributed to the tick before it, so keys checked in it are
//! due again at the next regular tick rather than one interval after the
//! early round. PowerDNS gets much the same from its whole-second
//! `lastStatusUpdate`; dnsd measures from the tick, so a check that takes
//! over a second does not skip the next tick as it can in PowerDNS.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, warn};

use super::Inner;
use super::probe;
use super::state::Reported;
use crate::dynamic::{CheckKey, CheckKind};

/// Runs until the checker is dropped.
pub(super) async fn run(inner: Weak<Inner>, wake: Arc<Notify>, interval: Duration) {
    let mut tick = Instant::now();
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        round(&strong, tick).await;
        drop(strong);
        let next = tick + interval;
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                // Late (a long round) is fine: the tick is when the round starts.
                tick = Instant::now().max(next);
            }
            _ = wake.notified() => {}
        }
    }
}

/// One round: check what is due, wait for all, expire what is unused.
async fn round(inner: &Arc<Inner>, tick: Instant) {
    let start = Instant::now();
    let start_ms = inner.now_ms();
    let due: Vec<(CheckKey, Arc<super::state::Entry>, bool)> = {
        let map = inner.map.pin();
        map.iter()
            .filter_map(|(key, entry)| {
                let pending = entry.reported() == Reported::Pending;
                let last_tick = entry.detail().last_tick;
                let every = key
                    .options
                    .interval_secs
                    .map_or(inner.interval, Duration::from_secs);
                let due = pending || last_tick.is_none_or(|t| start >= t + every);
                due.then(|| (key.clone(), Arc::clone(entry), pending))
            })
            .collect()
    };
    if due.is_empty() {
        return;
    }
    let mut checks = JoinSet::new();
    for (key, entry, pending) in &due {
        let (inner, key, entry, pending) =
            (Arc::clone(inner), key.clone(), Arc::clone(entry), *pending);
        checks.spawn(async move {
            if pending && probe::deadline(&key.options, inner.probe.hard_timeout).1 {
                warn!(
                    target = %describe(&key),
                    timeout = key.options.timeout_secs,
                    hard_limit_secs = inner.probe.hard_timeout.as_secs(),
                    "LUA health check: timeout option is unlimited or above the hard limit; using the hard limit"
                );
            }
            let outcome = probe::run(&key, &inner.probe).await;
            let error = match &outcome {
                probe::Outcome::Down(e) => Some(e.to_string()),
                probe::Outcome::Up { .. } => None,
            };
            if entry.record(outcome, key.options.minimum_failures, tick) {
                inner.bump();
                let target = describe(&key);
                match (entry.reported(), error) {
                    (Reported::Down, error) => {
                        info!(%target, error = error.unwrap_or_default(), "LUA health check: down")
                    }
                    (state, error) => {
                        info!(%target, ?state, error = error.unwrap_or_default(), "LUA health check: up")
                    }
                }
            }
        });
    }
    while checks.join_next().await.is_some() {}
    let expire_ms = u64::try_from(inner.expire_delay.as_millis()).unwrap_or(u64::MAX);
    if let Some(cutoff) = start_ms.checked_sub(expire_ms) {
        let map = inner.map.pin();
        for (key, entry, pending) in due {
            if !pending && entry.last_access() < cutoff {
                map.remove(&key);
                inner.bump();
                info!(target = %describe(&key), "LUA health check: unused, dropped");
            }
        }
    }
}

/// `tcp 192.0.2.1:443`, `http 192.0.2.1 https://…`, `http-unpinned https://…`.
pub(super) fn describe(key: &CheckKey) -> String {
    match (key.kind, key.addr) {
        (CheckKind::Tcp, Some(a)) => format!("tcp {a}"),
        (CheckKind::Http, Some(a)) => format!("http {} {}", a.ip(), key.url),
        _ => format!("http-unpinned {}", key.url),
    }
}
