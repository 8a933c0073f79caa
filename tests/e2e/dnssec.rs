//! Online signing checked by real validators: unbound (a validating
//! resolver with dnsd as its stub) and delv, with the zone's DS from
//! `dnsd ds` as the trust anchor. Everything runs on loopback; the signed
//! zone delegates only to addresses on this machine.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use e2e::delv::Delv;
use e2e::unbound::Unbound;
use e2e::{Query, Server, dnsd_bin, flag, rcode, scratch_dir, zone};
use hickory_proto::rr::RecordType;

/// dnsd serving signed.test (signed) and sub.signed.test (unsigned child).
fn signed_server(data: &Path) -> Server {
    Server::builder()
        .zone("signed.test", zone("signed.test.zone"))
        .zone("sub.signed.test", zone("sub.signed.test.zone"))
        .args([
            "--dnssec",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
        ])
        .start()
}

/// The DS line `dnsd ds` prints: `signed.test. IN DS <tag> 13 2 <hex>`.
fn ds_line(data: &Path) -> String {
    let out = Command::new(dnsd_bin())
        .args([
            "ds",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
        ])
        .output()
        .expect("run dnsd ds");
    assert!(
        out.status.success(),
        "dnsd ds failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().next().expect("one DS line").to_string();
    assert!(
        line.starts_with("signed.test. IN DS ") && line.contains(" 13 2 "),
        "{line}"
    );
    line
}

/// The DS RDATA fields: tag, algorithm, digest type, digest.
fn ds_fields(line: &str) -> Vec<String> {
    line.split_whitespace()
        .skip(3)
        .map(str::to_string)
        .collect()
}

/// unbound trusting signed.test, with dnsd as the stub for it and its child.
fn start_unbound(dnsd: SocketAddr, trust_anchor_ds: &[String], aggressive_nsec: bool) -> Unbound {
    Unbound::start(
        dnsd,
        "signed.test.",
        trust_anchor_ds,
        &["signed.test.", "sub.signed.test."],
        aggressive_nsec,
    )
}

fn assert_secure(u: &Unbound, name: &str, qtype: RecordType, want_rcode: u16, want_answers: bool) {
    let r = u.ask(name, qtype);
    assert_eq!(
        r.rcode(),
        want_rcode,
        "{name} {qtype}: {}\n{}",
        r.summary(),
        u.log()
    );
    assert!(
        r.has(flag::AD),
        "{name} {qtype} not validated (AD=0): {}\n{}",
        r.summary(),
        u.log()
    );
    assert_eq!(
        !r.answer().is_empty(),
        want_answers,
        "{name} {qtype}: {}",
        r.summary()
    );
}

#[test]
fn unbound_validates_every_answer_shape() {
    let data = scratch_dir("dnssec-keys");
    let dnsd = signed_server(&data);
    let ds = ds_fields(&ds_line(&data));
    let u = start_unbound(dnsd.addr(), &ds, false);
    // Positive answer, NODATA, compact NXDOMAIN, empty non-terminal.
    assert_secure(&u, "www.signed.test.", RecordType::A, rcode::NOERROR, true);
    assert_secure(
        &u,
        "www.signed.test.",
        RecordType::MX,
        rcode::NOERROR,
        false,
    );
    assert_secure(
        &u,
        "nope.signed.test.",
        RecordType::A,
        rcode::NOERROR,
        false,
    );
    assert_secure(&u, "b.signed.test.", RecordType::A, rcode::NOERROR, false);
    assert_secure(
        &u,
        "deep.nope.b.signed.test.",
        RecordType::TXT,
        rcode::NOERROR,
        false,
    );
    // Wildcard answer and wildcard NODATA.
    assert_secure(
        &u,
        "anything.w.signed.test.",
        RecordType::A,
        rcode::NOERROR,
        true,
    );
    assert_secure(
        &u,
        "anything.w.signed.test.",
        RecordType::MX,
        rcode::NOERROR,
        false,
    );
    // CNAME chased in the zone, and a CNAME to a missing name.
    assert_secure(
        &u,
        "alias.signed.test.",
        RecordType::A,
        rcode::NOERROR,
        true,
    );
    assert_secure(
        &u,
        "tonowhere.signed.test.",
        RecordType::A,
        rcode::NOERROR,
        true,
    );
    // A LUA answer (signed online per distinct answer) and its NODATA.
    assert_secure(&u, "lua.signed.test.", RecordType::A, rcode::NOERROR, true);
    assert_secure(
        &u,
        "lua.signed.test.",
        RecordType::AAAA,
        rcode::NOERROR,
        false,
    );
    // The apex: SOA, DNSKEY, MX with additional data.
    assert_secure(&u, "signed.test.", RecordType::SOA, rcode::NOERROR, true);
    assert_secure(&u, "signed.test.", RecordType::DNSKEY, rcode::NOERROR, true);
    assert_secure(&u, "signed.test.", RecordType::MX, rcode::NOERROR, true);
    // The insecure child: the parent proves there is no DS (AD=1 on that
    // NODATA), and answers from the child resolve, unsigned (AD=0), not bogus.
    assert_secure(
        &u,
        "sub.signed.test.",
        RecordType::DS,
        rcode::NOERROR,
        false,
    );
    let r = u.ask("host.sub.signed.test.", RecordType::A);
    assert_eq!(r.rcode(), rcode::NOERROR, "{}\n{}", r.summary(), u.log());
    assert!(
        !r.answer().is_empty() && !r.has(flag::AD),
        "{}",
        r.summary()
    );
}

#[test]
fn a_wrong_trust_anchor_gives_servfail() {
    let data = scratch_dir("dnssec-keys");
    let dnsd = signed_server(&data);
    let mut ds = ds_fields(&ds_line(&data));
    // Flip the first hex digit of the digest.
    let digest = &mut ds[3];
    let first = if digest.starts_with('0') { "1" } else { "0" };
    digest.replace_range(0..1, first);
    let u = start_unbound(dnsd.addr(), &ds, false);
    for (name, qtype) in [
        ("www.signed.test.", RecordType::A),
        ("nope.signed.test.", RecordType::A),
    ] {
        let r = u.ask(name, qtype);
        assert_eq!(r.rcode(), rcode::SERVFAIL, "{name}: {}", r.summary());
    }
}

/// RFC 8198 aggressive use of NSEC: after a denial, existing names nearby
/// must still resolve (a too-broad NSEC would hide them; spec §3.3).
#[test]
fn aggressive_nsec_does_not_hide_real_names() {
    let data = scratch_dir("dnssec-keys");
    let dnsd = signed_server(&data);
    let ds = ds_fields(&ds_line(&data));
    let u = start_unbound(dnsd.addr(), &ds, true);
    for missing in [
        "a.signed.test.",
        "wwv.signed.test.",
        "www.signed.test.x.signed.test.",
        "mail0.signed.test.",
    ] {
        assert_secure(&u, missing, RecordType::A, rcode::NOERROR, false);
    }
    for (name, qtype) in [
        ("www.signed.test.", RecordType::A),
        ("mail.signed.test.", RecordType::A),
        ("a.b.signed.test.", RecordType::A),
        ("alias.signed.test.", RecordType::A),
    ] {
        assert_secure(&u, name, qtype, rcode::NOERROR, true);
    }
}

#[test]
fn delv_agrees() {
    let data = scratch_dir("dnssec-keys");
    let dnsd = signed_server(&data);
    let ds = ds_fields(&ds_line(&data));
    let delv = Delv::new(dnsd.addr(), "signed.test", &ds, &data);
    let positive = delv.ask("www.signed.test", "A");
    assert!(positive.contains("; fully validated"), "{positive}");
    let nodata = delv.ask("www.signed.test", "MX");
    assert!(nodata.contains("fully validated"), "{nodata}");
    let missing = delv.ask("nope.signed.test", "A");
    assert!(missing.contains("fully validated"), "{missing}");
}

#[test]
fn compact_denial_shape_on_the_wire() {
    let data = scratch_dir("dnssec-keys");
    let dnsd = signed_server(&data);
    // DO without CO: NOERROR, SOA + NSEC(q) with RRSIG NSEC NXNAME, all signed.
    let r = dnsd.udp(
        &Query::new("nope.signed.test.", RecordType::A)
            .edns()
            .dnssec_ok(),
    );
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    let auth = r.authority();
    let nsec = auth.iter().find(|rr| rr.1 == "NSEC").expect("an NSEC");
    assert_eq!(nsec.0, "nope.signed.test.");
    // hickory prints the bitmap in lower case and NXNAME (128) as "unknown".
    let text = nsec.2.to_ascii_uppercase();
    assert!(text.starts_with("\\000.NOPE.SIGNED.TEST."), "{}", nsec.2);
    assert!(
        text.ends_with(" RRSIG NSEC TYPE128") || text.ends_with(" RRSIG NSEC UNKNOWN"),
        "bitmap is exactly RRSIG NSEC NXNAME: {}",
        nsec.2
    );
    assert_eq!(
        auth.iter().filter(|rr| rr.1 == "RRSIG").count(),
        2,
        "SOA and NSEC signed: {}",
        r.summary()
    );
    // DO with CO: NXDOMAIN, CO echoed.
    let q =
        Query::new("nope.signed.test.", RecordType::A).edns_with(|o| o.flags |= 0x8000 | 0x4000);
    let r = dnsd.udp(&q);
    assert_eq!(r.rcode(), rcode::NXDOMAIN, "{}", r.summary());
    assert!(e2e::opt(&r).flags & 0x4000 != 0, "CO echoed");
    // Without DO: plain NXDOMAIN, nothing signed.
    let r = dnsd.udp(&Query::new("nope.signed.test.", RecordType::A).edns());
    assert_eq!(r.rcode(), rcode::NXDOMAIN);
    assert!(
        r.authority()
            .iter()
            .all(|rr| rr.1 != "RRSIG" && rr.1 != "NSEC")
    );
    // QTYPE NXNAME is refused with FORMERR.
    let r = dnsd.udp(&Query::new_raw(e2e::name_wire("www.signed.test."), 128).edns());
    assert_eq!(r.rcode(), rcode::FORMERR);
    // A referral to the insecure child (from a server without the child
    // zone): NS and the cut's NSEC, no DS.
    let parent_only = Server::builder()
        .zone("signed.test", zone("signed.test.zone"))
        .args([
            "--dnssec",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
        ])
        .start();
    let r = parent_only.udp(
        &Query::new("host.sub.signed.test.", RecordType::A)
            .edns()
            .dnssec_ok(),
    );
    assert!(!r.has(flag::AA));
    let auth = r.authority();
    let nsec = auth.iter().find(|rr| rr.1 == "NSEC").expect("cut NSEC");
    assert_eq!(nsec.0, "sub.signed.test.");
    assert!(
        nsec.2
            .eq_ignore_ascii_case("sub\\000.signed.test. NS RRSIG NSEC"),
        "{}",
        nsec.2
    );
}

/// A signed zone whose key cannot be read does not load (and is not served
/// unsigned); the damaged key file is left as it is, never replaced.
#[test]
fn unreadable_keys_fail_the_zone_and_are_not_replaced() {
    let data = scratch_dir("dnssec-keys");
    {
        let _first = signed_server(&data);
    }
    let keys = data.join("keys").join("signed.test");
    let private = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "private"))
        .expect("a .private key file");
    std::fs::write(
        &private,
        "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: bm90IGEga2V5\n",
    )
    .unwrap();
    let damaged = std::fs::read(&private).unwrap();
    let dnsd = Server::builder()
        .zone("signed.test", zone("signed.test.zone"))
        .zone("example.test", zone("example.test.zone"))
        .probe("example.test")
        .args([
            "--dnssec",
            "signed.test",
            "--data-dir",
            &data.display().to_string(),
        ])
        .start();
    let r = dnsd.udp(
        &Query::new("www.signed.test.", RecordType::A)
            .edns()
            .dnssec_ok(),
    );
    assert_eq!(
        r.rcode(),
        rcode::REFUSED,
        "the signed zone is not served: {}",
        r.summary()
    );
    let log = dnsd.stderr();
    assert!(
        log.contains(&private.file_name().unwrap().to_string_lossy().to_string()),
        "{log}"
    );
    assert_eq!(
        std::fs::read(&private).unwrap(),
        damaged,
        "the key file is untouched"
    );
    let key_files = std::fs::read_dir(&keys).unwrap().count();
    assert_eq!(key_files, 2, "no new key was generated");
}
