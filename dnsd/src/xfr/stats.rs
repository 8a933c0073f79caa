//! Replication counters for `/metrics`: transfers served and received,
//! NOTIFYs sent and received, refreshes and failures, per zone. None of
//! this is on the answer path, so one lock is enough.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A full transfer served (AXFR, or IXFR answered in full).
    AxfrOut,
    /// An incremental transfer served (or the single SOA of an up-to-date client).
    IxfrOut,
    /// A transfer request refused (ACL, TSIG, no such zone, too many at once).
    TransferRefused,
    /// A transfer served that failed part way (the client stalled or left).
    TransferOutFailed,
    NotifySent,
    /// A NOTIFY that was never answered after every retry.
    NotifyFailed,
    NotifyReceived,
    /// A secondary zone's SOA check (the primary asked).
    RefreshCheck,
    /// A secondary zone updated by AXFR.
    AxfrIn,
    /// A secondary zone updated by IXFR.
    IxfrIn,
    /// A refresh (check or transfer) that failed.
    RefreshFailed,
    /// An edge fetched a zone's keys from its key source (`--key-source`).
    KeySync,
    /// An edge could not fetch a zone's keys (key source down, bad
    /// certificate, bad API key); it keeps signing with the keys it holds.
    KeySyncFailed,
}

impl Event {
    fn series(self) -> (&'static str, &'static str) {
        match self {
            Event::AxfrOut => ("dnsd_transfers_out_total", "type=\"axfr\""),
            Event::IxfrOut => ("dnsd_transfers_out_total", "type=\"ixfr\""),
            Event::TransferRefused => ("dnsd_transfers_refused_total", ""),
            Event::TransferOutFailed => ("dnsd_transfers_out_failed_total", ""),
            Event::NotifySent => ("dnsd_notify_sent_total", ""),
            Event::NotifyFailed => ("dnsd_notify_failed_total", ""),
            Event::NotifyReceived => ("dnsd_notify_received_total", ""),
            Event::RefreshCheck => ("dnsd_refresh_checks_total", ""),
            Event::AxfrIn => ("dnsd_transfers_in_total", "type=\"axfr\""),
            Event::IxfrIn => ("dnsd_transfers_in_total", "type=\"ixfr\""),
            Event::RefreshFailed => ("dnsd_refresh_failures_total", ""),
            Event::KeySync => ("dnsd_key_syncs_total", ""),
            Event::KeySyncFailed => ("dnsd_key_sync_failures_total", ""),
        }
    }
}

const HELP: [(&str, &str); 11] = [
    (
        "dnsd_transfers_out_total",
        "Zone transfers served, by zone and type.",
    ),
    (
        "dnsd_transfers_refused_total",
        "Zone transfer requests refused (ACL, TSIG, unknown zone, limit).",
    ),
    (
        "dnsd_transfers_out_failed_total",
        "Zone transfers served that broke off (client stalled or gone).",
    ),
    (
        "dnsd_notify_sent_total",
        "NOTIFY messages answered by their target.",
    ),
    (
        "dnsd_notify_failed_total",
        "NOTIFY messages never answered after every retry.",
    ),
    (
        "dnsd_notify_received_total",
        "NOTIFY messages accepted from a zone's primary.",
    ),
    (
        "dnsd_refresh_checks_total",
        "SOA checks of secondary zones.",
    ),
    (
        "dnsd_transfers_in_total",
        "Secondary zones updated by a transfer, by type.",
    ),
    (
        "dnsd_refresh_failures_total",
        "Secondary zone refreshes that failed.",
    ),
    (
        "dnsd_key_syncs_total",
        "DNSSEC key fetches from the key source for signed secondary zones.",
    ),
    (
        "dnsd_key_sync_failures_total",
        "DNSSEC key fetches from the key source that failed.",
    ),
];

/// Counters by (zone, event).
#[derive(Default)]
pub struct ReplicationStats {
    counts: Mutex<BTreeMap<(String, Event), u64>>,
}

impl ReplicationStats {
    pub fn count(&self, zone: &crate::wire::Name, event: Event) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((label(zone), event)).or_insert(0) += 1;
    }

    /// The number counted so far (tests, the API).
    pub fn get(&self, zone: &crate::wire::Name, event: Event) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&(label(zone), event)).copied().unwrap_or(0)
    }

    /// Appends the series in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (metric, help) in HELP {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for ((zone, event), n) in counts.iter() {
                let (name, labels) = event.series();
                if name != metric {
                    continue;
                }
                let sep = if labels.is_empty() { "" } else { "," };
                let _ = writeln!(out, "{metric}{{zone=\"{zone}\"{sep}{labels}}} {n}");
            }
        }
    }
}

/// A zone name as a Prometheus label value (backslash and quote escaped).
fn label(zone: &crate::wire::Name) -> String {
    zone.to_lowercase()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}
