//! Interoperability with a real client: Knot's `kdig` (Debian `knot-dnsutils`), read
//! through its RFC 8427 `+json` output. Skipped (with a note) where kdig is not
//! installed, except under CI, where a missing kdig fails the tests.

use std::path::Path;
use std::process::Command;

use e2e::Server;
use serde_json::Value;

const KDIG: &str = "/usr/bin/kdig";

fn kdig_available() -> bool {
    if Path::new(KDIG).is_file() {
        return true;
    }
    // .ci/run installs it: under CI a silently skipped check would pass.
    assert!(
        std::env::var_os("CI").is_none(),
        "{KDIG} is not installed under CI: apt-get install -y knot-dnsutils"
    );
    eprintln!("skipping: {KDIG} not installed (apt-get install -y knot-dnsutils)");
    false
}

/// Run kdig against `s` with `args`; returns (parsed JSON of the last message, stderr).
fn kdig(s: &Server, args: &[&str]) -> (Value, String) {
    let addr = s.addr();
    let out = Command::new(KDIG)
        .arg(format!("@{}", addr.ip()))
        .arg("-p")
        .arg(addr.port().to_string())
        .args(["+json", "+timeout=3", "+retry=0"])
        .args(args)
        .output()
        .expect("run kdig");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "kdig {args:?} failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    // kdig prints one JSON object per message received; keep the last.
    let mut last = None;
    for v in serde_json::Deserializer::from_str(&stdout).into_iter::<Value>() {
        last = Some(v.unwrap_or_else(|e| panic!("kdig JSON: {e}\n{stdout}")));
    }
    (
        last.unwrap_or_else(|| panic!("no JSON from kdig\n{stdout}\n{stderr}")),
        stderr,
    )
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {key} in {v:#}"))
}

fn rr_list(v: &Value, section: &str) -> Vec<Value> {
    v[section].as_array().cloned().unwrap_or_default()
}

#[test]
fn kdig_normal_answer() {
    if !kdig_available() {
        return;
    }
    let s = Server::shared();
    let (v, _) = kdig(s, &["www.example.test", "A"]);
    assert_eq!(int(&v, "RCODE"), 0, "{v:#}");
    assert_eq!(int(&v, "QR"), 1, "{v:#}");
    assert_eq!(int(&v, "AA"), 1, "{v:#}");
    assert_eq!(int(&v, "TC"), 0, "{v:#}");
    assert_eq!(int(&v, "RA"), 0, "{v:#}");
    assert_eq!(int(&v, "AD"), 0, "{v:#}");
    // kdig sets RD by default: copied.
    assert_eq!(int(&v, "RD"), 1, "{v:#}");
    let ans = rr_list(&v, "answerRRs");
    assert_eq!(ans.len(), 1, "{v:#}");
    assert_eq!(ans[0]["NAME"], "www.example.test.", "{v:#}");
    assert_eq!(ans[0]["TYPEname"], "A", "{v:#}");
    assert_eq!(ans[0]["rdataA"], "192.0.2.80", "{v:#}");
    assert_eq!(ans[0]["TTL"], 3600, "{v:#}");
}

#[test]
fn kdig_nxdomain_with_soa() {
    if !kdig_available() {
        return;
    }
    let (v, _) = kdig(Server::shared(), &["nope.example.test", "A"]);
    assert_eq!(int(&v, "RCODE"), 3, "{v:#}");
    assert_eq!(int(&v, "AA"), 1, "{v:#}");
    let auth = rr_list(&v, "authorityRRs");
    assert_eq!(auth.len(), 1, "{v:#}");
    assert_eq!(auth[0]["TYPEname"], "SOA", "{v:#}");
    assert_eq!(auth[0]["TTL"], 300, "{v:#}");
}

#[test]
fn kdig_truncated_over_udp_then_full_over_tcp() {
    if !kdig_available() {
        return;
    }
    let s = Server::shared();
    let (v, _) = kdig(s, &["+noedns", "+ignore", "big.trunc.test", "A"]);
    assert_eq!(int(&v, "TC"), 1, "{v:#}");
    assert_eq!(int(&v, "RCODE"), 0, "{v:#}");
    assert_eq!(int(&v, "ANCOUNT"), 0, "{v:#}");
    assert!(int(&v, "msgLength") <= 512, "{v:#}");

    let (v, _) = kdig(s, &["+noedns", "+tcp", "big.trunc.test", "A"]);
    assert_eq!(int(&v, "TC"), 0, "{v:#}");
    assert_eq!(int(&v, "ANCOUNT"), 40, "{v:#}");
    assert_eq!(rr_list(&v, "answerRRs").len(), 40, "{v:#}");

    // Without +ignore kdig retries over TCP by itself.
    let (v, stderr) = kdig(s, &["+noedns", "big.trunc.test", "A"]);
    assert_eq!(int(&v, "ANCOUNT"), 40, "{v:#}\n{stderr}");
    assert!(
        stderr.contains("truncated"),
        "kdig saw TC over UDP: {stderr}"
    );
}

#[test]
fn kdig_edns_truncation_over_1232() {
    if !kdig_available() {
        return;
    }
    let s = Server::shared();
    let (v, _) = kdig(s, &["+bufsize=1232", "+ignore", "huge.trunc.test", "TXT"]);
    assert_eq!(int(&v, "TC"), 1, "{v:#}");
    let add = rr_list(&v, "additionalRRs");
    assert!(add.iter().any(|r| r["TYPE"] == 41), "OPT kept: {v:#}");
    let (v, _) = kdig(s, &["+tcp", "huge.trunc.test", "TXT"]);
    assert_eq!(int(&v, "ANCOUNT"), 10, "{v:#}");
}

#[test]
fn kdig_badvers() {
    if !kdig_available() {
        return;
    }
    // RFC 8906 §8.2.2: `+edns=1 +noednsneg`; kdig 3.x never negotiates EDNS down, so
    // `+edns=1` alone is the same query.
    let (v, _) = kdig(Server::shared(), &["+edns=1", "example.test", "SOA"]);
    assert_eq!(int(&v, "RCODE"), 0, "header RCODE 0: {v:#}");
    assert_eq!(int(&v, "AA"), 0, "{v:#}");
    assert_eq!(int(&v, "ANCOUNT"), 0, "{v:#}");
    assert_eq!(int(&v, "NSCOUNT"), 0, "{v:#}");
    assert_eq!(v["QNAME"], "example.test.", "{v:#}");
    let add = rr_list(&v, "additionalRRs");
    assert_eq!(add.len(), 1, "{v:#}");
    let opt = &add[0];
    assert_eq!(opt["TYPE"], 41, "{v:#}");
    let ttl = opt["TTL"].as_u64().expect("OPT TTL");
    assert_eq!(ttl >> 24, 1, "extended RCODE 1 (BADVERS): {v:#}");
    assert_eq!((ttl >> 16) & 0xFF, 0, "OPT version 0: {v:#}");
    assert_eq!(ttl & 0xFFFF, 0, "no flags: {v:#}");
    assert_eq!(opt["CLASS"], 1232, "{v:#}");
}

#[test]
fn kdig_badvers_text_output() {
    if !kdig_available() {
        return;
    }
    // kdig's own reading of the combined RCODE, in its text output.
    let addr = Server::shared().addr();
    let out = Command::new(KDIG)
        .arg(format!("@{}", addr.ip()))
        .args([
            "-p",
            &addr.port().to_string(),
            "+edns=1",
            "+dnssec",
            "example.test",
            "SOA",
        ])
        .output()
        .expect("run kdig");
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("status: BADVERS"), "{t}");
    assert!(
        t.contains("Version: 0; flags: do;"),
        "DO echoed, version 0: {t}"
    );
}
