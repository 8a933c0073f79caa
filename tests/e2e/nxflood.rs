//! Random-subdomain floods against a signed zone (hardening issue #19 item
//! 10): with a budget of 5 fresh negative signatures per second, a stream
//! of unique missing names with DO=1 is answered with classic NSEC ranges
//! over the zone's real names, which unbound (with aggressive NSEC) and
//! delv validate; `/metrics` and the log show the fallback; after a quiet
//! second, compact denial answers again.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use e2e::delv::Delv;
use e2e::unbound::Unbound;
use e2e::{Query, Reply, Server, dnsd_bin, flag, free_port, rcode, scratch_dir, zone};
use hickory_proto::rr::RecordType;

const BUDGET: &str = "5";

fn flood_server(data: &Path, api: SocketAddr) -> Server {
    Server::builder()
        .zone("signed.test", zone("signed.test.zone"))
        .zone("sub.signed.test", zone("sub.signed.test.zone"))
        .args([
            "--dnssec",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
            "--negative-signatures-per-zone",
            BUDGET,
            "--api-listen",
            &api.to_string(),
            "--api-key",
            "k",
        ])
        .start()
}

/// The DS fields (tag, algorithm, digest type, digest) `dnsd ds` prints.
fn ds_fields(data: &Path) -> Vec<String> {
    let out = Command::new(dnsd_bin())
        .args([
            "ds",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
        ])
        .output()
        .expect("run dnsd ds");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .next()
        .expect("a DS line")
        .split_whitespace()
        .skip(3)
        .map(str::to_string)
        .collect()
}

/// Unique names with DO=1 straight to dnsd, a few hundred a second, until
/// stopped: the flood.
struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    worker: Option<thread::JoinHandle<()>>,
}

impl Flood {
    fn start(dnsd: SocketAddr) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&sent));
        let worker = thread::spawn(move || {
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let q = Query::new(&format!("flood{i}.signed.test."), RecordType::A)
                    .edns()
                    .dnssec_ok();
                let _ = e2e::udp_exchange(dnsd, &q.to_bytes(), Duration::from_millis(500));
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
                thread::sleep(Duration::from_millis(2));
            }
        });
        Flood {
            stop,
            sent,
            worker: Some(worker),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(worker) = self.worker.take() {
            worker.join().unwrap();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ask(dnsd: &Server, name: &str) -> Reply {
    dnsd.udp(&Query::new(name, RecordType::A).edns().dnssec_ok())
}

/// The NSECs of a reply's authority section: (owner, RDATA text), sorted.
fn nsecs(r: &Reply) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r
        .authority()
        .into_iter()
        .filter(|rr| rr.1 == "NSEC")
        .map(|rr| (rr.0.to_ascii_lowercase(), rr.2.to_ascii_lowercase()))
        .collect();
    out.sort();
    out
}

/// The value of the metrics line that starts with `prefix`.
fn metric(api: SocketAddr, prefix: &str) -> u64 {
    let m = e2e::http::request(api, "GET", "/metrics", &[("X-API-Key", "k")], None);
    m.body
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing in\n{}", m.body))
}

const ZONE_LABEL: &str = "{zone=\"signed.test.\"}";

#[test]
fn past_the_budget_unique_names_get_range_proofs_that_validators_accept() {
    let data = scratch_dir("nxflood");
    let api = SocketAddr::new([127, 0, 0, 1].into(), free_port([127, 0, 0, 1].into()));
    let dnsd = flood_server(&data, api);
    e2e::http::wait_http(api);
    let ds = ds_fields(&data);

    // Before any flood: compact denial (NOERROR, the NSEC at the name).
    let r = ask(&dnsd, "calm.signed.test.");
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    assert_eq!(nsecs(&r)[0].0, "calm.signed.test.");

    let mut flood = Flood::start(dnsd.addr());
    // Past the budget, once the chain is built: NXDOMAIN proven by the
    // NSECs of real names around the query name.
    let mut i = 0;
    e2e::wait_until(Duration::from_secs(10), "range answers", || {
        i += 1;
        ask(&dnsd, &format!("probe{i}.signed.test.")).rcode() == rcode::NXDOMAIN
    });
    // `zz…` sorts after `www`, the last name: its range wraps to the apex;
    // `*.signed.test.` falls in the apex's range.
    let r = ask(&dnsd, "zz1.signed.test.");
    assert_eq!(r.rcode(), rcode::NXDOMAIN, "{}", r.summary());
    assert!(!r.has(flag::AD));
    assert_eq!(
        nsecs(&r),
        vec![
            (
                "signed.test.".to_string(),
                "alias.signed.test. ns soa mx rrsig nsec dnskey cds cdnskey".to_string()
            ),
            (
                "www.signed.test.".to_string(),
                "signed.test. a aaaa rrsig nsec".to_string()
            ),
        ],
        "{}",
        r.summary()
    );
    assert_eq!(
        r.authority().iter().filter(|rr| rr.1 == "RRSIG").count(),
        3,
        "SOA and both NSECs signed: {}",
        r.summary()
    );
    assert!(e2e::opt(&r).flags & 0x4000 == 0, "no CO: not compact");
    // Below the empty non-terminal `b`: the range after `a.b`, and `*.b`
    // in the range before it.
    let r = ask(&dnsd, "q1.b.signed.test.");
    let owners: Vec<String> = nsecs(&r).into_iter().map(|n| n.0).collect();
    assert_eq!(
        owners,
        ["a.b.signed.test.", "alias.signed.test."],
        "{}",
        r.summary()
    );

    // unbound with aggressive NSEC validates range answers (NXDOMAIN, AD)
    // for names beside, below an ENT, after the last name, and behind a
    // CNAME; then every real name nearby still resolves.
    let u = Unbound::start(
        dnsd.addr(),
        "signed.test.",
        &ds,
        &["signed.test.", "sub.signed.test."],
        true,
    );
    for name in [
        "flood-x1.signed.test.",
        "wwv.signed.test.",
        "zz9.signed.test.",
        "q7.b.signed.test.",
        "mail0.signed.test.",
    ] {
        let r = u.ask(name, RecordType::A);
        assert_eq!(
            r.rcode(),
            rcode::NXDOMAIN,
            "{name}: {}\n{}",
            r.summary(),
            u.log()
        );
        assert!(
            r.has(flag::AD),
            "{name} not validated: {}\n{}",
            r.summary(),
            u.log()
        );
    }
    for (name, qtype) in [
        ("www.signed.test.", RecordType::A),
        ("mail.signed.test.", RecordType::A),
        ("a.b.signed.test.", RecordType::A),
        ("alias.signed.test.", RecordType::A),
        ("lua.signed.test.", RecordType::A),
        ("x.w.signed.test.", RecordType::A),
        ("www.signed.test.", RecordType::MX),
        ("b.signed.test.", RecordType::A),
    ] {
        let r = u.ask(name, qtype);
        assert_eq!(
            r.rcode(),
            rcode::NOERROR,
            "{name} {qtype}: {}\n{}",
            r.summary(),
            u.log()
        );
        assert!(
            r.has(flag::AD),
            "{name} {qtype}: {}\n{}",
            r.summary(),
            u.log()
        );
    }
    // delv agrees.
    let delv = Delv::new(dnsd.addr(), "signed.test", &ds, &data);
    let missing = delv.ask("delv-nope.signed.test", "A");
    assert!(missing.contains("fully validated"), "{missing}");
    assert!(
        missing.contains("NXDOMAIN") || missing.contains("nxdomain"),
        "{missing}"
    );

    // /metrics shows the fallback.
    assert_eq!(
        metric(api, &format!("dnsd_denial_fallback_active{ZONE_LABEL}")),
        1
    );
    assert!(metric(api, &format!("dnsd_denial_range_answers_total{ZONE_LABEL}")) >= 5);
    let fresh = metric(
        api,
        &format!("dnsd_negative_signatures_fresh_total{ZONE_LABEL}"),
    );
    assert!(fresh >= 5, "{fresh}");
    assert!(
        fresh < flood.sent.load(Ordering::Relaxed),
        "most flood names were not signed"
    );
    assert_eq!(metric(api, "dnsd_negative_signature_budget "), 5);

    // The flood ends; after a quiet second, compact denial again.
    flood.stop();
    e2e::wait_until(Duration::from_secs(10), "fallback over", || {
        metric(api, &format!("dnsd_denial_fallback_active{ZONE_LABEL}")) == 0
    });
    let r = ask(&dnsd, "after.signed.test.");
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    assert_eq!(nsecs(&r)[0].0, "after.signed.test.");
    assert_eq!(
        metric(
            api,
            &format!("dnsd_denial_fallback_episodes_total{ZONE_LABEL}")
        ),
        1
    );
    // Logged once when it started and once when it ended.
    let log = dnsd.stderr();
    assert_eq!(
        log.matches("random-subdomain flood: over the budget")
            .count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("random-subdomain flood over").count(),
        1,
        "{log}"
    );
}
