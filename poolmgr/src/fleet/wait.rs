//! Commit wait: after a commit's records are written on the primary, wait
//! until at least N listed name servers serve them, so the caller
//! (catalyst-api) does not race DNS propagation.
//!
//! A name server *serves the commit* when it answers authoritatively for
//! the child zone with an apex SOA serial at or past the primary's serial
//! after the commit's writes (RFC 1982), and the child apex's A records
//! (one of PDM's six canonical names; all six are written in one PATCH, so
//! one serial carries them all) are exactly the committed address.
//!
//! Each name server is polled on its own every [`POLL_EVERY`] until it
//! serves the commit or the time is up; the wait ends as soon as N do. It
//! writes nothing: on a time-out the allocation stays committed and the
//! caller decides what to answer.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use dnstypes::Name;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::probe::{ProbeError, served_addresses, served_serial};
use super::serial::is_current;

/// Pause between two probes of one name server.
pub const POLL_EVERY: Duration = Duration::from_millis(30);
/// How long one probe may take; a silent server is asked again after it.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// What a name server must serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The child zone's apex, `<sub>.<pool>.`.
    pub apex: Name,
    /// The child's serial on the primary after the commit's writes.
    pub serial: u32,
    /// The committed address, the only A record at the apex.
    pub ipv4: Ipv4Addr,
}

/// Why a name server does not serve the commit (yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lag {
    /// The probe failed: no child zone there (REFUSED), not authoritative,
    /// silent, unreachable.
    Probe(ProbeError),
    /// It serves an older version of the child zone.
    SerialBehind {
        /// The serial it serves.
        served: u32,
        /// The serial it must reach.
        wanted: u32,
    },
    /// The serial is there but the apex A records are not the committed
    /// address (e.g. a later commit changed them again).
    Addresses(Vec<Ipv4Addr>),
    /// The wait ended before it was asked at all.
    NotAsked,
}

impl fmt::Display for Lag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lag::Probe(e) => write!(f, "{e}"),
            Lag::SerialBehind { served, wanted } => {
                write!(f, "serial {served}, behind {wanted}")
            }
            Lag::Addresses(ips) if ips.is_empty() => write!(f, "no A record at the apex"),
            Lag::Addresses(ips) => {
                let ips: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
                write!(f, "apex A is {}", ips.join(" "))
            }
            Lag::NotAsked => write!(f, "not asked"),
        }
    }
}

/// How a wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitReport {
    /// How many name servers had to serve the commit.
    pub needed: usize,
    /// Those that did, in the order they did.
    pub served: Vec<SocketAddr>,
    /// Those that did not (when the wait timed out), with the last reason.
    pub lagging: Vec<(SocketAddr, Lag)>,
    /// How long it took.
    pub waited: Duration,
}

impl WaitReport {
    /// Whether enough name servers serve the commit.
    pub fn met(&self) -> bool {
        self.served.len() >= self.needed
    }

    /// One line for a log or a 202's `detail`, e.g. `1 of 2 name servers
    /// needed serve it after 5s; 127.0.0.1:5301: REFUSED`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} of {} name servers needed serve it after {:.1}s",
            self.served.len(),
            self.needed,
            self.waited.as_secs_f64()
        );
        if !self.lagging.is_empty() {
            let lagging: Vec<String> = self
                .lagging
                .iter()
                .map(|(ns, lag)| format!("{ns}: {lag}"))
                .collect();
            text.push_str("; ");
            text.push_str(&lagging.join(", "));
        }
        text
    }
}

/// Waits up to `timeout` until `needed` of `nameservers` serve `expected`.
pub async fn until_served(
    nameservers: &[SocketAddr],
    needed: usize,
    expected: &Expected,
    timeout: Duration,
) -> WaitReport {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut report = WaitReport {
        needed,
        served: Vec::new(),
        lagging: Vec::new(),
        waited: Duration::ZERO,
    };
    if needed == 0 {
        return report;
    }
    let mut tasks = JoinSet::new();
    for &ns in nameservers {
        let expected = expected.clone();
        tasks.spawn(async move { (ns, poll(ns, &expected, deadline).await) });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((ns, Ok(()))) => {
                report.served.push(ns);
                if report.met() {
                    // Dropping the set stops the other pollers.
                    break;
                }
            }
            Ok((ns, Err(lag))) => report.lagging.push((ns, lag)),
            Err(e) => tracing::error!(error = %e, "commit wait: a poller failed"),
        }
    }
    report.waited = started.elapsed();
    if report.met() {
        report.lagging.clear();
    } else {
        report.lagging.sort_by_key(|(ns, _)| *ns);
    }
    report
}

/// Asks `ns` until it serves `expected` (`Ok`) or `deadline` passes (the
/// last reason it did not).
async fn poll(ns: SocketAddr, expected: &Expected, deadline: Instant) -> Result<(), Lag> {
    let mut last = Lag::NotAsked;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(last);
        }
        match check(ns, expected, PROBE_TIMEOUT.min(left)).await {
            Ok(()) => return Ok(()),
            Err(lag) => last = lag,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(POLL_EVERY.min(left)).await;
    }
}

/// One look at `ns`: the child's SOA serial, then its apex A records.
pub async fn check(ns: SocketAddr, expected: &Expected, timeout: Duration) -> Result<(), Lag> {
    let served = served_serial(ns, &expected.apex, timeout)
        .await
        .map_err(Lag::Probe)?;
    if !is_current(served, expected.serial) {
        return Err(Lag::SerialBehind {
            served,
            wanted: expected.serial,
        });
    }
    let ips = served_addresses(ns, &expected.apex, timeout)
        .await
        .map_err(Lag::Probe)?;
    if ips != [expected.ipv4] {
        return Err(Lag::Addresses(ips));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn summaries_name_the_laggards() {
        let report = WaitReport {
            needed: 2,
            served: vec![addr(1)],
            lagging: vec![
                (addr(2), Lag::Probe(ProbeError::Rcode(5))),
                (
                    addr(3),
                    Lag::SerialBehind {
                        served: 4,
                        wanted: 5,
                    },
                ),
                (addr(4), Lag::Addresses(vec![])),
            ],
            waited: Duration::from_millis(5000),
        };
        assert!(!report.met());
        assert_eq!(
            report.summary(),
            "1 of 2 name servers needed serve it after 5.0s; 127.0.0.1:2: REFUSED, \
             127.0.0.1:3: serial 4, behind 5, 127.0.0.1:4: no A record at the apex"
        );
    }

    #[tokio::test]
    async fn nothing_needed_is_met_at_once() {
        let expected = Expected {
            apex: "a.pool.test.".parse().unwrap(),
            serial: 1,
            ipv4: Ipv4Addr::new(192, 0, 2, 1),
        };
        let report = until_served(&[addr(9)], 0, &expected, Duration::from_secs(5)).await;
        assert!(report.met());
        assert!(report.waited < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_silent_name_server_times_out_on_time() {
        // Bound but never answering: every probe times out.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let expected = Expected {
            apex: "a.pool.test.".parse().unwrap(),
            serial: 1,
            ipv4: Ipv4Addr::new(192, 0, 2, 1),
        };
        let timeout = Duration::from_millis(600);
        let report = until_served(&[silent.local_addr().unwrap()], 1, &expected, timeout).await;
        assert!(!report.met());
        assert!(report.waited >= timeout, "{:?}", report.waited);
        assert!(
            report.waited < timeout + Duration::from_millis(400),
            "{:?}",
            report.waited
        );
        assert_eq!(report.lagging.len(), 1);
        assert_eq!(report.lagging[0].1, Lag::Probe(ProbeError::Timeout));
    }
}
