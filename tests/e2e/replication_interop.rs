//! dnsd in a fleet with the other vendors (replication.md §7): a dnsd primary feeding
//! Knot, NSD, BIND and PowerDNS secondaries (TSIG, NOTIFY, AXFR then IXFR), Knot and
//! BIND primaries feeding a dnsd secondary, and an online-signed dnsd zone transferred
//! signed to secondaries that hold no key.

use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use e2e::peers::{Peer, TsigSpec, Vendor, reserve_addr};
use e2e::{Query, RecordType, Server, scratch_dir};

const ZONE: &str = "fleet.test.";
const KEY_NAME: &str = "fleet-key.";
const SECRET: &str = "ZmxlZXQtaW50ZXJvcC1zZWNyZXQtb2YtMzItYnl0ZXM=";
/// First transfer after start (peers start in parallel; PowerDNS polls each second).
const FIRST_TRANSFER: Duration = Duration::from_secs(15);
/// From the primary's change to a secondary serving it. SOA refresh is an hour, so
/// only NOTIFY makes this.
const AFTER_NOTIFY: Duration = Duration::from_secs(8);

fn tsig() -> TsigSpec {
    TsigSpec::hmac_sha256(KEY_NAME, SECRET)
}

fn tsig_flag() -> String {
    format!("hmac-sha256:{KEY_NAME}:{SECRET}")
}

fn zone_text(serial: u32, extra: &[&str]) -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 1 604800 300\n@ NS ns1\n\
         ns1 A 127.0.0.1\nwww A 192.0.2.1\nmail MX 10 www\ntxt TXT \"interop\"\n"
    );
    for line in extra {
        z.push_str(line);
        z.push('\n');
    }
    z
}

fn write_zone(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("fleet.test.zone");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits until `server` answers `name` A with `addr`.
fn wait_answer(server: &Server, name: &str, addr: &str, within: Duration) {
    let start = Instant::now();
    loop {
        let r = server.udp(&Query::new(name, RecordType::A));
        if r.answer().iter().any(|rr| rr.2 == addr) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{name} A {addr} not served within {within:?}\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn start_secondaries(specs: &[(Vendor, SocketAddr)], primary: SocketAddr) -> Vec<Peer> {
    let key = tsig();
    thread::scope(|s| {
        let key = &key;
        let handles: Vec<_> = specs
            .iter()
            .map(|&(vendor, addr)| {
                s.spawn(move || Peer::secondary_at(addr, vendor, ZONE, primary, Some(key)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[test]
fn dnsd_primary_feeds_knot_nsd_bind_and_powerdns_secondaries() {
    let specs: Vec<(Vendor, SocketAddr)> =
        Vendor::ALL.iter().map(|&v| (v, reserve_addr())).collect();
    let dir = scratch_dir("fleet-primary");
    let file = write_zone(&dir, &zone_text(1, &[]));
    let mut args = vec![
        "--tsig-key".to_string(),
        tsig_flag(),
        "--allow-transfer".into(),
        format!("127.0.0.0/8:{KEY_NAME}"),
        "--data-dir".into(),
        dir.join("data").display().to_string(),
    ];
    for (_, addr) in &specs {
        args.push("--also-notify".into());
        args.push(format!("{addr}:{KEY_NAME}"));
    }
    let primary = Server::builder().zone(ZONE, &file).args(args).start();
    let secondaries = start_secondaries(&specs, primary.addr());
    for s in &secondaries {
        s.wait_serial(ZONE, 1, FIRST_TRANSFER);
        assert_eq!(
            s.lookup("www.fleet.test.", RecordType::A),
            ["www.fleet.test. 300 IN A 192.0.2.1"],
            "{} serves the zone\n{}",
            s.vendor(),
            s.log()
        );
    }
    // A change: reload, NOTIFY, IXFR (PowerDNS's bind backend takes AXFR).
    write_zone(&dir, &zone_text(2, &["new A 192.0.2.2"]));
    primary.sighup();
    for s in &secondaries {
        s.wait_serial(ZONE, 2, AFTER_NOTIFY);
        assert_eq!(
            s.lookup("new.fleet.test.", RecordType::A),
            ["new.fleet.test. 300 IN A 192.0.2.2"],
            "{} serves the change\n{}",
            s.vendor(),
            s.log()
        );
    }
    let knot = secondaries
        .iter()
        .find(|s| s.vendor() == Vendor::Knot)
        .unwrap();
    knot.wait_log("IXFR, incoming", Duration::from_secs(2));
}

/// A dnsd secondary of `primary` at `addr`, with the key.
fn dnsd_secondary(addr: SocketAddr, primary: SocketAddr) -> Server {
    let data = scratch_dir("fleet-dnsd-secondary");
    Server::builder()
        .port(addr.port())
        .args([
            "--tsig-key".to_string(),
            tsig_flag(),
            "--secondary".into(),
            format!("{ZONE}={primary}:{KEY_NAME}"),
            "--data-dir".into(),
            data.display().to_string(),
        ])
        .probe(".")
        .start()
}

fn follow(vendor: Vendor) {
    let secondary_addr = reserve_addr();
    let primary = Peer::primary(
        vendor,
        ZONE,
        &zone_text(1, &[]),
        Some(&tsig()),
        &[secondary_addr],
    );
    let secondary = dnsd_secondary(secondary_addr, primary.addr());
    wait_answer(&secondary, "www.fleet.test.", "192.0.2.1", FIRST_TRANSFER);
    primary.replace_zone(&zone_text(2, &["new A 192.0.2.2"]));
    wait_answer(&secondary, "new.fleet.test.", "192.0.2.2", AFTER_NOTIFY);
    let log = secondary.stderr();
    assert!(
        log.contains("full transfer"),
        "the first copy came by AXFR\n{log}"
    );
    assert!(
        log.contains("incremental transfer"),
        "the change came by IXFR\n{log}"
    );
    // A deletion travels too.
    primary.replace_zone(&zone_text(3, &[]));
    let start = Instant::now();
    while !secondary
        .udp(&Query::new("new.fleet.test.", RecordType::A))
        .answer()
        .is_empty()
    {
        assert!(
            start.elapsed() < AFTER_NOTIFY,
            "deletion not applied\n{}",
            secondary.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn knot_primary_feeds_a_dnsd_secondary_by_axfr_then_ixfr() {
    follow(Vendor::Knot);
}

#[test]
fn bind_primary_feeds_a_dnsd_secondary_by_axfr_then_ixfr() {
    follow(Vendor::Bind);
}

#[test]
fn an_online_signed_zone_reaches_keyless_secondaries_signed() {
    let specs = [
        (Vendor::Nsd, reserve_addr()),
        (Vendor::Knot, reserve_addr()),
    ];
    let dir = scratch_dir("fleet-signed");
    let file = write_zone(&dir, &zone_text(1, &[]));
    let primary = Server::builder()
        .zone(ZONE, &file)
        .args([
            "--dnssec".to_string(),
            ZONE.into(),
            "--tsig-key".into(),
            tsig_flag(),
            "--allow-transfer-signed".into(),
            format!("127.0.0.0/8:{KEY_NAME}"),
            "--data-dir".into(),
            dir.join("data").display().to_string(),
        ])
        .start();
    let secondaries = start_secondaries(&specs, primary.addr());
    for s in &secondaries {
        s.wait_serial(ZONE, 1, FIRST_TRANSFER);
        let sigs = s.lookup("www.fleet.test.", RecordType::RRSIG);
        assert!(
            sigs.iter().any(|l| l.contains("RRSIG A ")),
            "{} serves RRSIGs it could not have made\n{sigs:?}\n{}",
            s.vendor(),
            s.log()
        );
        let keys = s.lookup(ZONE, RecordType::DNSKEY);
        assert!(!keys.is_empty(), "{} serves the DNSKEY RRset", s.vendor());
        let nsec = s.lookup("mail.fleet.test.", RecordType::NSEC);
        assert_eq!(nsec.len(), 1, "{}: a full NSEC chain\n{nsec:?}", s.vendor());
        assert!(
            nsec[0].contains("ns1.fleet.test."),
            "mail -> ns1 in canonical order: {nsec:?}"
        );
    }
}
