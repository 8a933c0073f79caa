//! The replication peers on their own, before dnsd joins them: each vendor's secondary
//! takes a zone from a Knot primary over TSIG and follows a change announced by NOTIFY,
//! a BIND primary feeds a Knot secondary the same way, and a wrong TSIG secret gets
//! nothing. If these fail, the harness (`e2e::peers`) is wrong, not dnsd.

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use e2e::RecordType;
use e2e::peers::{Peer, TsigSpec, Vendor, reserve_addr};

const ZONE: &str = "peer.test.";
/// A first transfer after start (secondaries start in parallel; PowerDNS polls each second).
const FIRST_TRANSFER: Duration = Duration::from_secs(10);
/// From the primary's reload to the secondary serving the change. The SOA refresh is an
/// hour, so only NOTIFY can make this.
const AFTER_NOTIFY: Duration = Duration::from_secs(5);
/// How long a wrongly keyed secondary is watched for a transfer that must not happen.
const NO_TRANSFER: Duration = Duration::from_secs(3);

fn key() -> TsigSpec {
    // 32 octets of key material.
    TsigSpec::hmac_sha256("xfr-key.", "9S2f1w1Qf8r0m5Jq6kq0z3vXh2oVb0yq4bHn1wQ0tSk=")
}

fn wrong_key() -> TsigSpec {
    TsigSpec::hmac_sha256("xfr-key.", "AAAA1w1Qf8r0m5Jq6kq0z3vXh2oVb0yq4bHn1wQ0tSk=")
}

/// The zone at `serial` with `extra` records; SOA refresh 1 h, retry 1 s.
fn zone_text(serial: u32, extra: &[&str]) -> String {
    let mut z = format!(
        "$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 1 604800 300\n@ NS ns1\n\
         ns1 A 127.0.0.1\nwww A 192.0.2.1\n"
    );
    for line in extra {
        z.push_str(line);
        z.push('\n');
    }
    z
}

/// Starts one secondary per `(vendor, addr)` in parallel (PowerDNS's setup alone takes
/// a moment).
fn secondaries(
    specs: &[(Vendor, SocketAddr)],
    primary: SocketAddr,
    tsig: Option<&TsigSpec>,
) -> Vec<Peer> {
    thread::scope(|s| {
        let handles: Vec<_> = specs
            .iter()
            .map(|&(vendor, addr)| {
                s.spawn(move || Peer::secondary_at(addr, vendor, ZONE, primary, tsig))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The change every test pushes: serial 2 and a new name.
fn push_change(primary: &Peer, secondaries: &[Peer]) {
    primary.replace_zone(&zone_text(2, &["new A 192.0.2.2"]));
    assert_eq!(
        primary.lookup("new.peer.test.", RecordType::A),
        ["new.peer.test. 300 IN A 192.0.2.2"],
        "the primary serves the change"
    );
    for s in secondaries {
        s.wait_serial(ZONE, 2, AFTER_NOTIFY);
        assert_eq!(
            s.lookup("new.peer.test.", RecordType::A),
            ["new.peer.test. 300 IN A 192.0.2.2"],
            "{} secondary serves the new record\n{}",
            s.vendor(),
            s.log()
        );
        assert_eq!(
            s.lookup("www.peer.test.", RecordType::A),
            ["www.peer.test. 300 IN A 192.0.2.1"],
            "{} secondary keeps the old record",
            s.vendor()
        );
    }
}

#[test]
fn knot_primary_feeds_every_vendor_over_tsig_and_notify() {
    let key = key();
    let specs: Vec<(Vendor, SocketAddr)> =
        Vendor::ALL.iter().map(|&v| (v, reserve_addr())).collect();
    let notify: Vec<SocketAddr> = specs.iter().map(|&(_, a)| a).collect();
    let primary = Peer::primary(Vendor::Knot, ZONE, &zone_text(1, &[]), Some(&key), &notify);
    assert_eq!(primary.serial(ZONE), Some(1), "{}", primary.log());
    let secs = secondaries(&specs, primary.addr(), Some(&key));
    for s in &secs {
        s.wait_serial(ZONE, 1, FIRST_TRANSFER);
    }
    push_change(&primary, &secs);
    // The journal answered incremental requests (Knot and BIND secondaries ask for IXFR).
    let log = primary.log();
    assert!(
        log.contains("IXFR, outgoing") && log.contains("serial 1 -> 2"),
        "the Knot primary served an IXFR 1 -> 2\n{log}"
    );
}

#[test]
fn bind_primary_feeds_knot_over_tsig_and_notify() {
    let key = key();
    let addr = reserve_addr();
    let primary = Peer::primary(Vendor::Bind, ZONE, &zone_text(1, &[]), Some(&key), &[addr]);
    assert_eq!(primary.serial(ZONE), Some(1), "{}", primary.log());
    let secs = secondaries(&[(Vendor::Knot, addr)], primary.addr(), Some(&key));
    secs[0].wait_serial(ZONE, 1, FIRST_TRANSFER);
    push_change(&primary, &secs);
    let log = secs[0].log();
    assert!(
        log.contains("IXFR, incoming") && log.contains("serial 1 -> 2"),
        "the Knot secondary took an IXFR 1 -> 2 from BIND\n{log}"
    );
}

#[test]
fn wrong_tsig_secret_gets_no_zone() {
    let key = key();
    let wrong = wrong_key();
    let primary = Peer::primary(Vendor::Knot, ZONE, &zone_text(1, &[]), Some(&key), &[]);
    // A correctly keyed secondary shows the primary does serve transfers meanwhile.
    let mut specs: Vec<(Vendor, SocketAddr)> =
        Vendor::ALL.iter().map(|&v| (v, reserve_addr())).collect();
    let wrong_secs = secondaries(&specs, primary.addr(), Some(&wrong));
    specs.truncate(1);
    specs[0].1 = reserve_addr();
    let good = secondaries(&specs, primary.addr(), Some(&key));
    good[0].wait_serial(ZONE, 1, FIRST_TRANSFER);
    thread::sleep(NO_TRANSFER);
    for s in &wrong_secs {
        // It did ask, and was turned away for the key (each vendor words it differently).
        let log = s.log().to_ascii_lowercase();
        assert!(
            log.contains("tsig") || log.contains("not authori"),
            "{} secondary logged no TSIG rejection\n{log}",
            s.vendor()
        );
        assert_eq!(
            s.serial(ZONE),
            None,
            "{} secondary with a wrong TSIG secret got the zone\n{}",
            s.vendor(),
            s.log()
        );
    }
}

#[test]
fn nsd_primary_feeds_bind_and_powerdns_without_tsig() {
    let specs = [
        (Vendor::Bind, reserve_addr()),
        (Vendor::PowerDns, reserve_addr()),
    ];
    let notify: Vec<SocketAddr> = specs.iter().map(|&(_, a)| a).collect();
    let primary = Peer::primary(Vendor::Nsd, ZONE, &zone_text(1, &[]), None, &notify);
    assert_eq!(primary.serial(ZONE), Some(1), "{}", primary.log());
    let secs = secondaries(&specs, primary.addr(), None);
    for s in &secs {
        s.wait_serial(ZONE, 1, FIRST_TRANSFER);
    }
    push_change(&primary, &secs);
}
