//! poolmgr over a fleet: poolmgr writes through one API (the primary's),
//! and this module watches the name servers that must then serve what it
//! wrote, asking them over DNS (UDP, TCP when truncated).
//!
//! - [`status`]: per pool, whether each listed name server serves the
//!   primary's current serial (`/healthz`'s `fleet`, `GET /fleet`).
//! - [`wait`]: after a commit, wait until N name servers serve the child's
//!   records (`POOLMGR_COMMIT_WAIT`).
//! - [`probe`] asks one server one question; [`message`] builds and parses
//!   the DNS messages; [`serial`] compares serials (RFC 1982).
//!
//! Nothing here writes: the fleet is observed, never changed.

pub mod message;
pub mod probe;
pub mod serial;
pub mod status;
pub mod wait;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::dns::{PdnsClient, fqdn};
use crate::model::UnixTime;
use status::{FleetReport, FleetStatus};
use wait::{Expected, WaitReport};

/// The fleet settings, checked (see `Settings::fleet`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetSettings {
    /// The name servers to watch, de-duplicated, in configuration order.
    pub nameservers: Vec<SocketAddr>,
    /// How many of them must serve a commit before it answers 200; 0: no
    /// wait. At most `nameservers.len()`.
    pub commit_wait: usize,
    /// How long a commit waits for them.
    pub commit_wait_timeout: Duration,
}

/// The fleet poolmgr watches.
#[derive(Debug)]
pub struct Fleet {
    settings: FleetSettings,
    status: FleetStatus,
}

impl Fleet {
    /// Watches the name servers of `settings`.
    pub fn new(settings: FleetSettings) -> Fleet {
        let status = FleetStatus::new(settings.nameservers.clone().into());
        Fleet { settings, status }
    }

    /// The settings.
    pub fn settings(&self) -> &FleetSettings {
        &self.settings
    }

    /// Whether commits wait for name servers.
    pub fn waits_on_commit(&self) -> bool {
        self.settings.commit_wait > 0
    }

    /// The fleet report for `pools` (cached briefly, see [`status`]).
    pub async fn report(
        &self,
        dns: &PdnsClient,
        pools: &[String],
        now: UnixTime,
    ) -> Arc<FleetReport> {
        self.status.report(dns, pools, now).await
    }

    /// After a commit's writes on the primary: reads the child's serial
    /// there, then waits until `commit_wait` name servers serve it with
    /// `ipv4` at the apex, all within `commit_wait_timeout`.
    pub async fn wait_for_commit(
        &self,
        dns: &PdnsClient,
        child: &str,
        ipv4: Ipv4Addr,
    ) -> Result<WaitReport, CommitWaitError> {
        let timeout = self.settings.commit_wait_timeout;
        let started = tokio::time::Instant::now();
        let apex = fqdn(child)
            .parse()
            .map_err(|e| CommitWaitError::Primary(format!("{child:?} is not a DNS name: {e}")))?;
        let serial = match tokio::time::timeout(timeout, dns.zone_serial(child)).await {
            Ok(Ok(serial)) => serial,
            Ok(Err(e)) => return Err(CommitWaitError::Primary(e.to_string())),
            Err(_) => {
                return Err(CommitWaitError::Primary(format!(
                    "no serial from the primary's API within {timeout:?}"
                )));
            }
        };
        let expected = Expected { apex, serial, ipv4 };
        let left = timeout.saturating_sub(started.elapsed());
        Ok(wait::until_served(
            &self.settings.nameservers,
            self.settings.commit_wait,
            &expected,
            left,
        )
        .await)
    }
}

/// Why a commit wait could not even start.
#[derive(Debug, thiserror::Error)]
pub enum CommitWaitError {
    /// The child's serial could not be read from the primary.
    #[error("reading the child's serial on the primary: {0}")]
    Primary(String),
}
