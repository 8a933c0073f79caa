//! The refresh of one secondary zone (RFC 1035 §3.3.13, RFC 1996): check
//! the primaries' SOA serial every REFRESH seconds (RETRY after a
//! failure), at once when a primary sends NOTIFY, and transfer when a
//! primary has a newer serial: IXFR when a copy exists, AXFR otherwise or
//! when IXFR fails. A copy not confirmed for EXPIRE seconds stops being
//! served (SERVFAIL) until a transfer succeeds.
//!
//! One task per zone; the registry does the checking, persisting and
//! publishing of what arrives, so a bad or cut transfer never replaces
//! the served copy.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tracing::{info, warn};

use super::client::{self, Fetched, Primary};
use super::replicator::Replicator;
use super::stats::Event;
use crate::config::replication::SecondarySource;
use crate::zone::Zone;
use crate::zones::serial::serial_gt;
use crate::zones::{RefreshState, SecondaryKeys};

/// Bounds on the SOA timers a primary may set: no tighter loop than a
/// second, no longer silence than a day between checks.
const MIN_TIMER: Duration = Duration::from_secs(1);
const MAX_REFRESH: Duration = Duration::from_secs(86_400);

/// Retries before a first copy exists (no SOA to take timers from): from
/// a second, doubling up to a minute, so a secondary started beside its
/// primary is serving within seconds and a missing primary is not hammered.
const FIRST_RETRY_WITHOUT_COPY: Duration = Duration::from_secs(1);
const MAX_RETRY_WITHOUT_COPY: Duration = Duration::from_secs(60);

/// The SOA timers of a zone: refresh, retry, expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub refresh: Duration,
    pub retry: Duration,
    pub expire: Duration,
}

impl Timers {
    /// From the zone's SOA RDATA (serial, refresh, retry, expire, minimum
    /// are its last 20 octets).
    pub fn of(zone: &Zone) -> Timers {
        let soa = zone
            .apex()
            .rrset(crate::wire::RType::SOA)
            .and_then(|set| set.rdatas.first());
        let field = |at: usize| {
            soa.and_then(|rdata| {
                let tail = rdata.len().checked_sub(20)?;
                let b = rdata.get(tail + at..tail + at + 4)?;
                Some(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            })
            .unwrap_or(3600)
        };
        let clamp = |secs: u64| Duration::from_secs(secs).clamp(MIN_TIMER, MAX_REFRESH);
        Timers {
            refresh: clamp(field(4)),
            retry: clamp(field(8)),
            // Expire is not capped above: a long one is the operator's choice.
            expire: Duration::from_secs(field(12)).max(MIN_TIMER),
        }
    }
}

/// Refreshes `source` forever (the task is aborted when the zone goes).
pub async fn run(replicator: Arc<Replicator>, source: SecondarySource, wake: Arc<Notify>) {
    let registry = replicator.registry.clone();
    let origin = source.origin.clone();
    // After a restart, the expire timer counts from the last confirmation
    // of the stored copy, not from now.
    let mut state = RefreshState {
        last_refresh: registry.get(&origin).and_then(|view| match view {
            crate::zones::ZoneView::Secondary { state, .. } => state.last_refresh,
            _ => None,
        }),
        ..RefreshState::default()
    };
    if let (Some(last), Some(copy)) = (state.last_refresh, registry.secondary_copy(&origin)) {
        state.expires_at = Some(last + Timers::of(&copy).expire);
    }
    let mut retry_without_copy = FIRST_RETRY_WITHOUT_COPY;
    loop {
        let now = SystemTime::now();
        let outcome = refresh_once(&replicator, &source).await;
        let copy = registry.secondary_copy(&origin);
        let timers = copy.as_deref().map(Timers::of);
        let next_in = match (&outcome, timers) {
            (Ok(()), Some(timers)) => {
                state.last_refresh = Some(now);
                state.expires_at = Some(now + timers.expire);
                state.last_error = None;
                timers.refresh
            }
            (Ok(()), None) => FIRST_RETRY_WITHOUT_COPY,
            (Err(err), timers) => {
                warn!(zone = %origin, "refresh failed: {err}");
                replicator.stats.count(&origin, Event::RefreshFailed);
                state.last_error = Some(err.clone());
                match timers {
                    Some(timers) => timers.retry,
                    None => {
                        let wait = retry_without_copy;
                        retry_without_copy = (wait * 2).min(MAX_RETRY_WITHOUT_COPY);
                        wait
                    }
                }
            }
        };
        if copy.is_some() {
            retry_without_copy = FIRST_RETRY_WITHOUT_COPY;
        }
        let next = SystemTime::now() + next_in;
        state.next_refresh = Some(next);
        registry.set_secondary_state(&origin, state.clone());
        // Sleep until the next check, a NOTIFY, or expiry, whichever first.
        loop {
            let now = SystemTime::now();
            if let Some(expires) = state.expires_at
                && now >= expires
            {
                registry.expire_secondary(&origin);
            }
            let until_next = next.duration_since(now).unwrap_or_default();
            let until_expiry = state
                .expires_at
                .and_then(|e| e.duration_since(now).ok())
                .filter(|d| !d.is_zero());
            let sleep = until_expiry.map_or(until_next, |e| e.min(until_next));
            tokio::select! {
                () = wake.notified() => break,
                () = tokio::time::sleep(sleep) => {
                    if SystemTime::now() >= next {
                        break;
                    }
                }
            }
        }
    }
}

/// One check (and transfer, if due) against the primaries in order;
/// the first that answers decides.
async fn refresh_once(replicator: &Replicator, source: &SecondarySource) -> Result<(), String> {
    let mut errors = Vec::new();
    for peer in &source.primaries {
        let primary = Primary {
            addr: peer.addr,
            key: match &peer.key {
                Some(name) => Some(replicator.settings.key(name)?),
                None => None,
            },
        };
        match refresh_from(replicator, source, &primary).await {
            Ok(()) => return Ok(()),
            Err(err) => errors.push(format!("{}: {err}", peer.addr)),
        }
    }
    Err(errors.join("; "))
}

async fn refresh_from(
    replicator: &Replicator,
    source: &SecondarySource,
    primary: &Primary,
) -> Result<(), String> {
    let registry = &replicator.registry;
    let origin = &source.origin;
    let timeout = replicator.settings.transfer_timeout;
    let copy = registry.secondary_copy(origin);
    let have = copy.as_ref().map(|zone| zone.serial);
    replicator.stats.count(origin, Event::RefreshCheck);
    let theirs = client::soa_serial(primary, origin, timeout.min(Duration::from_secs(5)))
        .await
        .map_err(|e| e.to_string())?;
    if let Some(ours) = have
        && !serial_gt(theirs, ours)
    {
        if serial_gt(ours, theirs) {
            warn!(zone = %origin, ours, theirs, "primary's serial is older than ours; keeping our copy");
        }
        registry.secondary_refreshed(origin);
        if let Some(keysync) = replicator.keysync() {
            keysync.retry_if_failed(origin, &replicator.stats).await;
        }
        return Ok(());
    }
    let fetched = client::fetch(primary, origin, have, timeout)
        .await
        .map_err(|e| e.to_string())?;
    match fetched {
        Fetched::UpToDate { .. } => {
            registry.secondary_refreshed(origin);
            Ok(())
        }
        Fetched::Full(records) => {
            let keys = match replicator.keysync() {
                Some(sync) => {
                    let dnskeys = super::keysync::dnskeys_in(origin, &records);
                    sync.keys_for_copy(origin, dnskeys, &replicator.stats)
                        .await?
                }
                None => SecondaryKeys::Keep,
            };
            let serial = registry
                .replace_secondary_signed(origin, records, keys)
                .map_err(|e| e.to_string())?;
            replicator.stats.count(origin, Event::AxfrIn);
            info!(zone = %origin, serial, primary = %primary.addr, "secondary zone updated by a full transfer");
            Ok(())
        }
        Fetched::Incremental(diffs) => {
            let changes = diffs.len();
            let keys = match replicator.keysync() {
                Some(sync) => {
                    let dnskeys = super::keysync::dnskeys_after(origin, copy.as_deref(), &diffs);
                    sync.keys_for_copy(origin, dnskeys, &replicator.stats)
                        .await?
                }
                None => SecondaryKeys::Keep,
            };
            let serial = registry
                .apply_secondary_signed(origin, diffs, keys)
                .map_err(|e| e.to_string())?;
            replicator.stats.count(origin, Event::IxfrIn);
            info!(zone = %origin, serial, primary = %primary.addr, changes, "secondary zone updated by an incremental transfer");
            Ok(())
        }
    }
}
