//! The fleet report behind `/healthz`'s `fleet` object and `GET /fleet`:
//! per pool, the primary's serial (read through the DNS server's API) and,
//! per listed name server, the serial it serves for the pool zone or why it
//! serves none; a name server is *current* when its serial is the
//! primary's or newer (RFC 1982).
//!
//! Bounded: every probe and the API read have a short timeout and all run
//! at once, so a report takes at most about [`PRIMARY_TIMEOUT`]. Reports
//! are cached for [`CACHE_FOR`], and concurrent requests share one round
//! of probes, so a flood of health checks does not flood the name servers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnstypes::Name;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::probe::{ProbeError, served_serial};
use super::serial::is_current;
use crate::dns::PdnsClient;
use crate::model::{UnixTime, rfc3339};

/// How long one name server has to answer a status probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the primary's API has to give a pool's serial (its client
/// retries inside this bound; a report does not wait for more).
pub const PRIMARY_TIMEOUT: Duration = Duration::from_millis(800);
/// How long a report is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(1);

/// One name server's view of one pool zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameserverStatus {
    /// Where it was asked.
    pub address: SocketAddr,
    /// The serial it serves, or why it serves none.
    pub served: Result<u32, ProbeError>,
}

/// One pool zone across the fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// The pool zone.
    pub pool: String,
    /// The primary's serial, or why it could not be read.
    pub primary: Result<u32, String>,
    /// Every listed name server, in configuration order.
    pub nameservers: Vec<NameserverStatus>,
}

impl PoolStatus {
    /// Whether `ns` serves the primary's serial or a newer one; `false`
    /// when either side is unknown.
    pub fn is_current(&self, ns: &NameserverStatus) -> bool {
        match (&self.primary, &ns.served) {
            (Ok(primary), Ok(served)) => is_current(*served, *primary),
            _ => false,
        }
    }

    /// How many name servers are current.
    pub fn current_count(&self) -> usize {
        self.nameservers
            .iter()
            .filter(|ns| self.is_current(ns))
            .count()
    }

    fn to_json(&self) -> Value {
        let nameservers: Vec<Value> = self
            .nameservers
            .iter()
            .map(|ns| {
                let mut v =
                    json!({ "address": ns.address.to_string(), "current": self.is_current(ns) });
                match &ns.served {
                    Ok(serial) => v["serial"] = json!(serial),
                    Err(e) => v["error"] = json!(e.to_string()),
                }
                v
            })
            .collect();
        let mut v = json!({
            "current": self.current_count(),
            "total": self.nameservers.len(),
            "nameservers": nameservers,
        });
        match &self.primary {
            Ok(serial) => v["serial"] = json!(serial),
            Err(e) => v["error"] = json!(e),
        }
        v
    }
}

/// Every pool across the fleet, at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetReport {
    /// When the probes ran.
    pub checked_at: UnixTime,
    /// One entry per managed pool, sorted by pool.
    pub pools: Vec<PoolStatus>,
}

impl FleetReport {
    /// (pool, name server) pairs that are not current, errors included.
    pub fn lagging(&self) -> usize {
        self.pools
            .iter()
            .map(|p| p.nameservers.len() - p.current_count())
            .sum()
    }

    /// Whether every listed name server serves every pool's current serial
    /// (and every primary serial could be read).
    pub fn all_current(&self) -> bool {
        self.pools.iter().all(|p| p.primary.is_ok()) && self.lagging() == 0
    }

    /// The JSON object served as `fleet` in `/healthz` and as `/fleet`.
    pub fn to_json(&self) -> Value {
        let pools: Map<String, Value> = self
            .pools
            .iter()
            .map(|p| (p.pool.clone(), p.to_json()))
            .collect();
        json!({
            "status": if self.all_current() { "current" } else { "lagging" },
            "checkedAt": rfc3339(self.checked_at),
            "lagging": self.lagging(),
            "pools": pools,
        })
    }
}

/// Builds reports and keeps the last one for [`CACHE_FOR`].
#[derive(Debug)]
pub struct FleetStatus {
    nameservers: Arc<[SocketAddr]>,
    /// The last report and when it was made. Held across a round of probes,
    /// so concurrent callers wait for that round instead of starting theirs.
    last: Mutex<Option<(Instant, Arc<FleetReport>)>>,
}

impl FleetStatus {
    /// Reports on `nameservers`.
    pub fn new(nameservers: Arc<[SocketAddr]>) -> FleetStatus {
        FleetStatus {
            nameservers,
            last: Mutex::new(None),
        }
    }

    /// A report no older than [`CACHE_FOR`]; `now` stamps a new one.
    pub async fn report(
        &self,
        dns: &PdnsClient,
        pools: &[String],
        now: UnixTime,
    ) -> Arc<FleetReport> {
        let mut last = self.last.lock().await;
        if let Some((made, report)) = last.as_ref()
            && made.elapsed() < CACHE_FOR
        {
            return report.clone();
        }
        let report = Arc::new(FleetReport {
            checked_at: now,
            pools: probe_pools(dns, pools, &self.nameservers).await,
        });
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

/// What one task of a round found.
enum Found {
    Primary(usize, Result<u32, String>),
    Served(usize, usize, Result<u32, ProbeError>),
}

/// One round: every pool's primary serial and every (pool, name server)
/// probe, all at once.
async fn probe_pools(
    dns: &PdnsClient,
    pools: &[String],
    nameservers: &[SocketAddr],
) -> Vec<PoolStatus> {
    let mut out: Vec<PoolStatus> = pools
        .iter()
        .map(|pool| PoolStatus {
            pool: pool.clone(),
            primary: Err("not read (probe task failed)".into()),
            nameservers: nameservers
                .iter()
                .map(|&address| NameserverStatus {
                    address,
                    served: Err(ProbeError::Timeout),
                })
                .collect(),
        })
        .collect();
    let mut tasks = JoinSet::new();
    for (p, pool) in pools.iter().enumerate() {
        let zone: Name = match pool.parse() {
            Ok(zone) => zone,
            Err(e) => {
                out[p].primary = Err(format!("{pool:?} is not a DNS name: {e}"));
                continue;
            }
        };
        let (dns, pool_text) = (dns.clone(), pool.clone());
        tasks.spawn(async move {
            let serial = match tokio::time::timeout(PRIMARY_TIMEOUT, dns.zone_serial(&pool_text))
                .await
            {
                Ok(Ok(serial)) => Ok(serial),
                Ok(Err(e)) => {
                    tracing::warn!(pool = %pool_text, error = %e, "fleet status: primary serial");
                    Err(primary_error_text(&e))
                }
                Err(_) => Err("timeout reading the serial from the primary's API".into()),
            };
            Found::Primary(p, serial)
        });
        for (n, &address) in nameservers.iter().enumerate() {
            let zone = zone.clone();
            tasks.spawn(async move {
                Found::Served(p, n, served_serial(address, &zone, PROBE_TIMEOUT).await)
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Found::Primary(p, serial)) => out[p].primary = serial,
            Ok(Found::Served(p, n, served)) => out[p].nameservers[n].served = served,
            Err(e) => tracing::error!(error = %e, "fleet status: a probe task failed"),
        }
    }
    out
}

/// The primary-side error as shown in an open report: the status or
/// transport class, never the server's text (the disclosure rule of
/// `api::error`: `/healthz` is open to anyone).
fn primary_error_text(e: &crate::dns::DnsError) -> String {
    match e.status() {
        Some(404) => "the pool zone does not exist on the primary".into(),
        Some(status) => format!("the primary's API answered {status}"),
        None if e.is_transient() => "the primary's API is unreachable".into(),
        None => "the primary's API gave an unexpected answer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(port: u16, served: Result<u32, ProbeError>) -> NameserverStatus {
        NameserverStatus {
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            served,
        }
    }

    fn report(pools: Vec<PoolStatus>) -> FleetReport {
        FleetReport {
            checked_at: 1_777_456_800,
            pools,
        }
    }

    #[test]
    fn current_lagging_and_erroring_name_servers() {
        let pool = PoolStatus {
            pool: "omani.works".into(),
            primary: Ok(10),
            nameservers: vec![
                ns(1, Ok(10)),
                ns(2, Ok(11)),
                ns(3, Ok(9)),
                ns(4, Err(ProbeError::Rcode(5))),
                ns(5, Err(ProbeError::Timeout)),
            ],
        };
        assert_eq!(pool.current_count(), 2);
        let r = report(vec![pool]);
        assert_eq!(r.lagging(), 3);
        assert!(!r.all_current());
        let v = r.to_json();
        assert_eq!(v["status"], "lagging");
        assert_eq!(v["lagging"], 3);
        assert_eq!(v["checkedAt"], "2026-04-29T10:00:00Z");
        let p = &v["pools"]["omani.works"];
        assert_eq!(p["serial"], 10);
        assert_eq!(
            (p["current"].as_u64(), p["total"].as_u64()),
            (Some(2), Some(5))
        );
        let list = p["nameservers"].as_array().unwrap();
        assert_eq!(
            list[0],
            json!({"address": "127.0.0.1:1", "serial": 10, "current": true})
        );
        assert_eq!(
            list[2],
            json!({"address": "127.0.0.1:3", "serial": 9, "current": false})
        );
        assert_eq!(
            list[3],
            json!({"address": "127.0.0.1:4", "error": "REFUSED", "current": false})
        );
        assert_eq!(list[4]["error"], "timeout");
    }

    #[test]
    fn an_unknown_primary_serial_is_never_current() {
        let r = report(vec![
            PoolStatus {
                pool: "a.test".into(),
                primary: Ok(7),
                nameservers: vec![ns(1, Ok(7))],
            },
            PoolStatus {
                pool: "b.test".into(),
                primary: Err("the primary's API is unreachable".into()),
                nameservers: vec![ns(1, Ok(7))],
            },
        ]);
        assert_eq!(r.lagging(), 1);
        assert!(!r.all_current());
        let v = r.to_json();
        assert_eq!(v["pools"]["a.test"]["current"], 1);
        assert_eq!(
            v["pools"]["b.test"]["error"],
            "the primary's API is unreachable"
        );
        assert_eq!(v["pools"]["b.test"]["nameservers"][0]["current"], false);
    }

    #[test]
    fn all_current_across_pools() {
        let r = report(vec![
            PoolStatus {
                pool: "a.test".into(),
                primary: Ok(u32::MAX),
                // Wrapped past 2^32: newer, so current.
                nameservers: vec![ns(1, Ok(2)), ns(2, Ok(u32::MAX))],
            },
            PoolStatus {
                pool: "b.test".into(),
                primary: Ok(1),
                nameservers: vec![ns(1, Ok(1)), ns(2, Ok(1))],
            },
        ]);
        assert!(r.all_current());
        assert_eq!(r.to_json()["status"], "current");
        assert_eq!(r.to_json()["lagging"], 0);
    }
}
