//! Zone transfers between dnsd servers and with kdig (replication.md §2, §3, §7;
//! conformance §13 and §15.2): AXFR and IXFR served with TSIG and an ACL, refusals,
//! NOTIFY, a dnsd secondary following its primary, and the faults a fleet must survive
//! (a secondary killed and restarted, a primary gone until expire, a transfer cut
//! mid-stream). The other vendors are in `replication_peers`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use e2e::http::{Http, request, wait_http};
use e2e::{Query, Server, TcpConn, free_port, name_wire, rcode, scratch_dir};
use hickory_proto::rr::RecordType;
use serde_json::json;

const KDIG: &str = "/usr/bin/kdig";
const ZONE: &str = "rep.test.";
const KEY_NAME: &str = "xfr-key";
const SECRET: &str = "cmVwbGljYXRpb24tdGVzdC1zZWNyZXQtMzJieXRlcyE=";
const API_KEY: &str = "replication-api-key";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn tsig_flag() -> String {
    format!("hmac-sha256:{KEY_NAME}:{SECRET}")
}

/// The test zone at `serial`, with SOA timers (refresh, retry, expire) and `extra` lines.
fn zone_text(serial: u32, timers: (u32, u32, u32), extra: &str) -> String {
    let (refresh, retry, expire) = timers;
    format!(
        "$ORIGIN {ZONE}\n$TTL 300\n\
         @ IN SOA ns1 hostmaster {serial} {refresh} {retry} {expire} 60\n\
         @ IN NS ns1\n@ IN NS ns2\nns1 IN A 127.0.0.1\nns2 IN A 127.0.0.2\n\
         www IN A 192.0.2.1\nwww IN AAAA 2001:db8::1\nmail IN MX 10 www\n\
         txt IN TXT \"hello world\"\nsub IN NS ns.sub\nns.sub IN A 192.0.2.53\n{extra}"
    )
}

/// Records in `zone_text(.., "")`.
const BASE_RECORDS: usize = 11;

fn write_zone(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("rep.test.zone");
    std::fs::write(&path, text).unwrap();
    path
}

fn kdig_available() -> bool {
    if Path::new(KDIG).is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{KDIG} is not installed under CI"
    );
    eprintln!("skipping: {KDIG} not installed");
    false
}

/// kdig's text output: (exit success, stdout, the records it printed as
/// (owner, type, rdata), TSIG pseudo-records left out).
fn kdig(server: SocketAddr, args: &[&str]) -> (bool, String, Vec<(String, String, String)>) {
    let out = Command::new(KDIG)
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(["+timeout=5", "+retry=0", "+nocrypto"])
        .args(args)
        .output()
        .expect("run kdig");
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let records = stdout
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[2] == "IN").then(|| {
                (
                    f[0].to_ascii_lowercase(),
                    f[3].to_string(),
                    f[4..].join(" "),
                )
            })
        })
        .collect();
    (out.status.success(), stdout, records)
}

fn soa_serial(rdata: &str) -> u32 {
    rdata.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// A primary serving the test zone from a file, transfers allowed to
/// 127.0.0.0/8 with the key, NOTIFY to `notify`.
fn primary(dir: &Path, text: &str, notify: &[SocketAddr], extra: &[&str]) -> Server {
    let file = write_zone(dir, text);
    let mut args = vec![
        "--tsig-key".to_string(),
        tsig_flag(),
        "--allow-transfer".into(),
        format!("127.0.0.0/8:{KEY_NAME}"),
        "--data-dir".into(),
        dir.join("data").display().to_string(),
    ];
    for target in notify {
        args.push("--also-notify".into());
        args.push(format!("{target}:{KEY_NAME}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::builder().zone(ZONE, file).args(args).start()
}

/// A dnsd secondary of the test zone from `primary`, on `port`, keeping its copy in `data`.
fn secondary(primary: SocketAddr, port: u16, data: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--tsig-key".to_string(),
        tsig_flag(),
        "--secondary".into(),
        format!("{ZONE}={primary}:{KEY_NAME}"),
        "--data-dir".into(),
        data.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::builder().port(port).args(args).probe(".").start()
}

/// The SOA serial `server` answers for the test zone, if it answers NOERROR with one.
fn served_serial(server: &Server) -> Option<u32> {
    let r = server.udp(&Query::new(ZONE, RecordType::SOA));
    if r.rcode() != rcode::NOERROR {
        return None;
    }
    r.answer()
        .into_iter()
        .find(|rr| rr.1 == "SOA")
        .map(|rr| soa_serial(&rr.2))
}

/// Waits until `server` serves `serial`, or fails with its log.
fn wait_serial(server: &Server, serial: u32, within: Duration) {
    let start = Instant::now();
    while start.elapsed() < within {
        if served_serial(server) == Some(serial) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "serial {serial} not served within {within:?} (serving {:?})\n{}",
        served_serial(server),
        server.stderr()
    );
}

fn metrics(api: SocketAddr) -> String {
    request(api, "GET", "/metrics", &[("X-API-Key", API_KEY)], None).body
}

/// The value of the first series of `metrics` that starts with `prefix`.
fn metric(metrics: &str, prefix: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ----------- dnsd as a primary ---------------------------------------------------------

#[test]
fn r13_1_1_axfr_with_tsig_by_kdig_is_the_whole_zone_soa_first_and_last() {
    if !kdig_available() {
        return;
    }
    let dir = scratch_dir("xfr-axfr");
    let p = primary(&dir, &zone_text(7, (3600, 600, 86400), ""), &[], &[]);
    let (ok, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), ZONE, "AXFR"]);
    assert!(ok, "kdig failed\n{out}");
    assert!(
        !out.contains("WARNING") && !out.contains("BADSIG"),
        "TSIG trouble\n{out}"
    );
    assert_eq!(
        records.len(),
        BASE_RECORDS + 1,
        "every record and the closing SOA\n{out}"
    );
    assert_eq!(records.first().unwrap().1, "SOA");
    assert_eq!(records.last().unwrap().1, "SOA");
    assert_eq!(soa_serial(&records[0].2), 7);
    assert_eq!(records[0], *records.last().unwrap());
    for (owner, rtype) in [
        ("ns.sub.rep.test.", "A"),
        ("sub.rep.test.", "NS"),
        ("mail.rep.test.", "MX"),
    ] {
        assert!(
            records.iter().any(|r| r.0 == owner && r.1 == rtype),
            "{owner} {rtype} missing (glue and delegations are part of the zone)\n{out}"
        );
    }
}

#[test]
fn r13_1_2_transfers_refused_without_key_with_a_wrong_key_from_elsewhere_and_over_udp() {
    if !kdig_available() {
        return;
    }
    let dir = scratch_dir("xfr-refuse");
    let p = primary(
        &dir,
        &zone_text(1, (3600, 600, 86400), ""),
        &[],
        &["--allow-transfer", "127.0.0.3/32"],
    );
    // No key: REFUSED, no records.
    let q = Query::new(ZONE, RecordType::AXFR);
    let r = p.tcp(&q);
    assert_eq!(r.rcode(), rcode::REFUSED, "{}", r.summary());
    assert!(r.msg.answers.is_empty());
    // A wrong secret: NOTAUTH with BADSIG, never the zone.
    let wrong = format!("hmac-sha256:{KEY_NAME}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (_, out, records) = kdig(p.addr(), &["-y", &wrong, ZONE, "AXFR"]);
    assert!(records.iter().all(|r| r.1 != "A"), "records leaked\n{out}");
    // kdig shows the TSIG error as the status of a NOTAUTH reply.
    assert!(out.contains("BADSIG"), "{out}");
    // An unknown key: NOTAUTH with BADKEY.
    let bogus = "hmac-sha256:bogus.key:AAAAAAAAAAAAAAAAAAAAAA==";
    let (_, out, records) = kdig(p.addr(), &["-y", bogus, ZONE, "AXFR"]);
    assert!(records.is_empty(), "{out}");
    assert!(
        out.contains("status: BADKEY") || out.contains("'BADKEY'"),
        "{out}"
    );
    // 127.0.0.3 may transfer unsigned; 127.0.0.2 may not.
    let mut from_listed = TcpConn::connect_from(p.addr(), "127.0.0.3".parse().unwrap());
    from_listed.send(&q.to_bytes());
    let first = Reply_::parse(from_listed.recv(Duration::from_secs(5)).expect("a reply"));
    assert_eq!(first.rcode, 0, "an unsigned transfer from a listed source");
    assert!(first.ancount > 0);
    let mut unlisted = TcpConn::connect_from(p.addr(), "127.0.0.2".parse().unwrap());
    unlisted.send(&q.to_bytes());
    let reply = Reply_::parse(unlisted.recv(Duration::from_secs(5)).expect("a reply"));
    assert_eq!(reply.rcode, u16::from(rcode::REFUSED as u8));
    assert_eq!(reply.ancount, 0);
    // AXFR over UDP: NOTIMP (conformance §13.1.4).
    assert_eq!(p.udp(&q).rcode(), rcode::NOTIMP);
    // A zone not served here: NOTAUTH (§13.1.3), for a signed request from a listed source.
    let (_, out, _) = kdig(p.addr(), &["-y", &tsig_flag(), "other.test.", "AXFR"]);
    assert!(out.contains("NOTAUTH"), "{out}");
}

/// Header fields of a raw reply (the first message of a transfer).
struct Reply_ {
    rcode: u16,
    ancount: u16,
}

impl Reply_ {
    fn parse(bytes: Vec<u8>) -> Reply_ {
        assert!(bytes.len() >= 12, "short reply");
        Reply_ {
            rcode: u16::from(bytes[3] & 0x0F),
            ancount: u16::from_be_bytes([bytes[6], bytes[7]]),
        }
    }
}

#[test]
fn r15_2_signed_queries_get_signed_answers_and_an_unknown_key_gets_badkey() {
    if !kdig_available() {
        return;
    }
    let dir = scratch_dir("xfr-tsig-query");
    let p = primary(&dir, &zone_text(3, (3600, 600, 86400), ""), &[], &[]);
    let (ok, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), "www.rep.test.", "A"]);
    assert!(ok, "{out}");
    assert!(out.contains("NOERROR") && !out.contains("WARNING"), "{out}");
    assert_eq!(
        records,
        vec![("www.rep.test.".into(), "A".into(), "192.0.2.1".into())]
    );
    let (_, out, records) = kdig(
        p.addr(),
        &[
            "-y",
            "hmac-sha256:bogus.key:AAAAAAAAAAAAAAAAAAAAAA==",
            "rep.test.",
            "SOA",
        ],
    );
    assert!(records.is_empty(), "{out}");
    assert!(
        out.contains("status: BADKEY") || out.contains("'BADKEY'"),
        "{out}"
    );
}

#[test]
fn r13_2_ixfr_after_sighup_carries_the_difference_and_udp_gets_the_soa() {
    if !kdig_available() {
        return;
    }
    let dir = scratch_dir("xfr-ixfr");
    let p = primary(&dir, &zone_text(10, (3600, 600, 86400), ""), &[], &[]);
    write_zone(
        &dir,
        &zone_text(11, (3600, 600, 86400), "new IN A 192.0.2.99\n")
            .replace("192.0.2.1\n", "192.0.2.2\n"),
    );
    p.sighup();
    let start = Instant::now();
    while served_serial(&p) != Some(11) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "reload\n{}",
            p.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (ok, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), ZONE, "IXFR=10"]);
    assert!(ok, "{out}");
    // Current SOA, old SOA, deleted, new SOA, added, current SOA (RFC 1995 §4).
    assert_eq!(records.len(), 7, "{out}");
    assert_eq!(soa_serial(&records[0].2), 11);
    assert_eq!(soa_serial(&records[1].2), 10);
    assert_eq!(
        (records[2].0.as_str(), records[2].2.as_str()),
        ("www.rep.test.", "192.0.2.1")
    );
    assert_eq!(soa_serial(&records[3].2), 11);
    let mut added: Vec<&str> = records[4..6].iter().map(|r| r.2.as_str()).collect();
    added.sort();
    assert_eq!(added, ["192.0.2.2", "192.0.2.99"], "{out}");
    assert_eq!(soa_serial(&records[6].2), 11);
    // Up to date: the single current SOA.
    let (_, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), ZONE, "IXFR=11"]);
    assert_eq!(records.len(), 1, "{out}");
    // A serial the history does not reach: the whole zone, AXFR-style.
    let (_, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), ZONE, "IXFR=3"]);
    assert_eq!(records.len(), BASE_RECORDS + 1 + 1, "{out}");
    // Over UDP: the current SOA alone, so the client retries over TCP.
    let (_, out, records) = kdig(p.addr(), &["-y", &tsig_flag(), "+notcp", ZONE, "IXFR=10"]);
    assert_eq!(records.len(), 1, "{out}");
    assert_eq!(soa_serial(&records[0].2), 11);
}

// ----------- dnsd as a secondary -------------------------------------------------------

#[test]
fn dnsd_secondary_follows_its_primarys_api_changes_by_notify_and_ixfr() {
    let secondary_port = free_port(LOCALHOST);
    let secondary_addr = SocketAddr::new(LOCALHOST, secondary_port);
    let data = scratch_dir("xfr-api-primary");
    let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let p = Server::builder()
        .api(api, API_KEY, &data)
        .args([
            "--tsig-key".to_string(),
            tsig_flag(),
            "--allow-transfer".into(),
            format!("127.0.0.0/8:{KEY_NAME}"),
            "--also-notify".into(),
            format!("{secondary_addr}:{KEY_NAME}"),
        ])
        .probe(".")
        .start();
    wait_http(api);
    let call = |method: &str, path: &str, body: serde_json::Value| -> Http {
        request(
            api,
            method,
            path,
            &[("X-API-Key", API_KEY)],
            Some(&body.to_string()),
        )
    };
    let created = call(
        "POST",
        "/api/v1/servers/localhost/zones",
        json!({"name": ZONE, "kind": "Native", "nameservers": ["ns1.rep.test.", "ns2.rep.test."]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let serial = created.json()["serial"].as_u64().unwrap() as u32;
    let s_data = scratch_dir("xfr-api-secondary");
    let s_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let s = secondary(
        p.addr(),
        secondary_port,
        &s_data,
        &["--api-listen", &s_api.to_string(), "--api-key", API_KEY],
    );
    wait_serial(&s, serial, Duration::from_secs(10));
    // Each change reaches the secondary by NOTIFY and IXFR.
    for i in 0..5 {
        let patch = call(
            "PATCH",
            &format!("/api/v1/servers/localhost/zones/{ZONE}"),
            json!({"rrsets": [{"name": format!("h{i}.{ZONE}"), "type": "A", "ttl": 60,
                "changetype": "REPLACE", "records": [{"content": format!("192.0.2.{}", 10 + i), "disabled": false}]}]}),
        );
        assert_eq!(patch.status, 204, "{}", patch.body);
        let start = Instant::now();
        loop {
            let r = s.udp(&Query::new(&format!("h{i}.{ZONE}"), RecordType::A));
            if r.rcode() == rcode::NOERROR && !r.answer().is_empty() {
                break;
            }
            // The SOA refresh of an API zone is an hour: only NOTIFY brings it this fast.
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "change {i} not on the secondary\n{}",
                s.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let m = metrics(s_api);
    assert!(
        metric(
            &m,
            "dnsd_transfers_in_total{zone=\"rep.test.\",type=\"ixfr\"}"
        ) >= 1,
        "{m}"
    );
    assert!(
        metric(&m, "dnsd_notify_received_total{zone=\"rep.test.\"}") >= 1,
        "{m}"
    );
    let pm = metrics(api);
    assert!(
        metric(&pm, "dnsd_notify_sent_total{zone=\"rep.test.\"}") >= 1,
        "{pm}"
    );
    assert!(
        metric(
            &pm,
            "dnsd_transfers_out_total{zone=\"rep.test.\",type=\"ixfr\"}"
        ) >= 1,
        "{pm}"
    );
    // Read-only through the secondary's API, naming the primary.
    let refused = request(
        s_api,
        "PATCH",
        &format!("/api/v1/servers/localhost/zones/{ZONE}"),
        &[("X-API-Key", API_KEY)],
        Some(&json!({"rrsets": []}).to_string()),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains(&p.addr().to_string()),
        "{}",
        refused.body
    );
    let zone = request(
        s_api,
        "GET",
        &format!("/api/v1/servers/localhost/zones/{ZONE}"),
        &[("X-API-Key", API_KEY)],
        None,
    );
    let zone = zone.json();
    assert_eq!(zone["kind"], "Slave");
    assert_eq!(zone["masters"][0], p.addr().to_string());
    assert!(
        zone["replication"]["next_refresh"].as_u64().unwrap() > 0,
        "{zone}"
    );
    assert_eq!(zone["serial"], served_serial(&p).unwrap());
}

#[test]
fn secondary_zones_created_through_the_api_are_transferred_and_deleted() {
    let dir = scratch_dir("xfr-api-slave");
    let p = primary(&dir, &zone_text(21, (3600, 600, 86400), ""), &[], &[]);
    let data = scratch_dir("xfr-api-slave-data");
    let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let s = Server::builder()
        .api(api, API_KEY, &data)
        .args(["--tsig-key", &tsig_flag()])
        .probe(".")
        .start();
    wait_http(api);
    let body =
        json!({"name": ZONE, "kind": "Slave", "masters": [format!("{}:{KEY_NAME}", p.addr())]});
    let created = request(
        api,
        "POST",
        "/api/v1/servers/localhost/zones",
        &[("X-API-Key", API_KEY)],
        Some(&body.to_string()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    wait_serial(&s, 21, Duration::from_secs(10));
    let no_masters = json!({"name": "other.test.", "kind": "Slave", "masters": []});
    let refused = request(
        api,
        "POST",
        "/api/v1/servers/localhost/zones",
        &[("X-API-Key", API_KEY)],
        Some(&no_masters.to_string()),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let deleted = request(
        api,
        "DELETE",
        &format!("/api/v1/servers/localhost/zones/{ZONE}"),
        &[("X-API-Key", API_KEY)],
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(
        s.udp(&Query::new(ZONE, RecordType::SOA)).rcode(),
        rcode::REFUSED,
        "no longer served"
    );
}

#[test]
fn secondary_killed_and_restarted_serves_its_copy_at_once_and_catches_up() {
    let dir = scratch_dir("xfr-kill");
    let primary_port = free_port(LOCALHOST);
    let start_primary = |text: &str| {
        let file = write_zone(&dir, text);
        Server::builder()
            .port(primary_port)
            .zone(ZONE, file)
            .args([
                "--tsig-key",
                &tsig_flag(),
                "--allow-transfer",
                &format!("127.0.0.0/8:{KEY_NAME}"),
            ])
            .start()
    };
    let p = start_primary(&zone_text(5, (1, 1, 3600), ""));
    let data = scratch_dir("xfr-kill-data");
    let port = free_port(LOCALHOST);
    let s = secondary(p.addr(), port, &data, &[]);
    wait_serial(&s, 5, Duration::from_secs(10));
    // One change by IXFR: kept as a diff over the stored copy, not a rewrite.
    write_zone(&dir, &zone_text(6, (1, 1, 3600), "ixfr IN A 192.0.2.60\n"));
    p.sighup();
    wait_serial(&s, 6, Duration::from_secs(10));
    assert!(
        s.stderr().contains("incremental transfer"),
        "{}",
        s.stderr()
    );
    drop(s); // SIGKILL
    drop(p);
    // The primary is gone: whatever the restarted secondary serves is its stored copy
    // with the stored diffs applied.
    let s = secondary(SocketAddr::new(LOCALHOST, primary_port), port, &data, &[]);
    assert_eq!(
        served_serial(&s),
        Some(6),
        "the copy is served before any transfer\n{}",
        s.stderr()
    );
    let r = s.udp(&Query::new("www.rep.test.", RecordType::A));
    assert_eq!(r.answer().len(), 1);
    let r = s.udp(&Query::new("ixfr.rep.test.", RecordType::A));
    assert_eq!(
        r.answer().len(),
        1,
        "the change received by IXFR survived the kill"
    );
    // The primary comes back with a newer zone: the secondary catches up.
    let _p = start_primary(&zone_text(7, (1, 1, 3600), "back IN A 192.0.2.66\n"));
    wait_serial(&s, 7, Duration::from_secs(15));
}

/// A NOTIFY for the test zone from `source`, signed with nothing.
fn notify_from(source: &str, target: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((source, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut message = vec![0x4e, 0x01, 0x24, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    message.extend_from_slice(&name_wire(ZONE));
    message.extend_from_slice(&[0, 6, 0, 1]);
    socket.send_to(&message, target).unwrap();
    let mut buf = [0u8; 512];
    socket.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}

#[test]
fn r13_3_notify_is_accepted_only_from_a_primary_with_its_key() {
    let dir = scratch_dir("xfr-notify");
    let p = primary(&dir, &zone_text(4, (3600, 600, 86400), ""), &[], &[]);
    let keyed = secondary(
        p.addr(),
        free_port(LOCALHOST),
        &scratch_dir("xfr-notify-keyed"),
        &[],
    );
    wait_serial(&keyed, 4, Duration::from_secs(10));
    // From the primary's address but unsigned, while the primary has a key: REFUSED.
    let reply = notify_from("127.0.0.1", keyed.addr()).expect("an answer");
    assert_eq!(reply[3] & 0x0F, 5, "REFUSED");
    // A secondary whose primary has no key: its address is enough, anyone else is refused.
    let open = Server::builder()
        .args([
            "--secondary".to_string(),
            format!("{ZONE}={}", p.addr()),
            "--tsig-key".into(),
            tsig_flag(),
        ])
        .probe(".")
        .start();
    let reply = notify_from("127.0.0.2", open.addr()).expect("an answer");
    assert_eq!(reply[3] & 0x0F, 5, "REFUSED from a stranger");
    let reply = notify_from("127.0.0.1", open.addr()).expect("an answer");
    assert_eq!(reply[3] & 0x0F, 0, "NOERROR from the primary");
    assert_eq!(reply[2] & 0x84, 0x84, "QR and AA");
    assert_eq!((reply[2] >> 3) & 0x0F, 4, "opcode NOTIFY");
    let mut question = name_wire(ZONE);
    question.extend_from_slice(&[0, 6, 0, 1]);
    assert_eq!(&reply[12..], &question[..], "the question echoed");
    // A zone that is not a secondary here: REFUSED.
    let reply = notify_from("127.0.0.1", p.addr()).expect("an answer");
    assert_eq!(reply[3] & 0x0F, 5, "REFUSED by the primary");
}

#[test]
fn primary_gone_secondary_serves_until_expire_then_servfail() {
    let dir = scratch_dir("xfr-expire");
    let p = primary(&dir, &zone_text(9, (1, 1, 4), ""), &[], &[]);
    let data = scratch_dir("xfr-expire-data");
    let s = secondary(p.addr(), free_port(LOCALHOST), &data, &[]);
    wait_serial(&s, 9, Duration::from_secs(10));
    let gone = Instant::now();
    drop(p);
    assert_eq!(
        served_serial(&s),
        Some(9),
        "still served right after the primary left"
    );
    let start = Instant::now();
    loop {
        let r = s.udp(&Query::new("www.rep.test.", RecordType::A));
        if r.rcode() == rcode::SERVFAIL {
            break;
        }
        assert_eq!(r.rcode(), rcode::NOERROR);
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never expired\n{}",
            s.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        gone.elapsed() >= Duration::from_secs(2),
        "expired early: {:?}",
        gone.elapsed()
    );
}

/// A primary that answers SOA queries with `serial` and transfers with the test zone
/// at that serial; with `cut` set, it sends the first half of the transfer and closes.
struct FakePrimary {
    addr: SocketAddr,
    serial: Arc<AtomicU32>,
    cut: Arc<AtomicBool>,
}

impl FakePrimary {
    fn start() -> FakePrimary {
        let port = free_port(LOCALHOST);
        let addr = SocketAddr::new(LOCALHOST, port);
        let serial = Arc::new(AtomicU32::new(1));
        let cut = Arc::new(AtomicBool::new(false));
        let udp = UdpSocket::bind(addr).unwrap();
        let tcp = TcpListener::bind(addr).unwrap();
        let (s1, s2, c2) = (serial.clone(), serial.clone(), cut.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                let reply = fake_reply(&buf[..n], &[soa_rr(s1.load(Ordering::SeqCst))]);
                let _ = udp.send_to(&reply, from);
            }
        });
        std::thread::spawn(move || {
            for stream in tcp.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut request).is_err() {
                    continue;
                }
                let soa = soa_rr(s2.load(Ordering::SeqCst));
                let body = [
                    soa.clone(),
                    a_rr("www", [192, 0, 2, 1]),
                    a_rr("ns1", [127, 0, 0, 1]),
                ];
                let first = fake_reply(&request, &body);
                let _ = stream.write_all(&framed(&first));
                if c2.load(Ordering::SeqCst) {
                    continue; // dropped: the transfer ends without its closing SOA
                }
                let last = fake_reply(&request, &[ns_rr(), soa]);
                let _ = stream.write_all(&framed(&last));
            }
        });
        FakePrimary { addr, serial, cut }
    }
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

/// A reply to `request` (its ID and question) with `answers` (raw RRs).
fn fake_reply(request: &[u8], answers: &[Vec<u8>]) -> Vec<u8> {
    let mut end = 12;
    while request[end] != 0 {
        end += 1 + usize::from(request[end]);
    }
    end += 5;
    let mut reply = request[..end].to_vec();
    reply[2] = 0x84; // QR, AA
    reply[3] = 0;
    reply[4..12].copy_from_slice(&[0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
    for rr in answers {
        reply.extend_from_slice(rr);
    }
    reply
}

fn rr(owner: &str, rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut out = name_wire(&format!("{owner}.{ZONE}").replace("@.", ""));
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

fn soa_rr(serial: u32) -> Vec<u8> {
    let mut rdata = name_wire("ns1.rep.test.");
    rdata.extend_from_slice(&name_wire("hostmaster.rep.test."));
    for v in [serial, 1, 1, 3600, 60] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    rr("@", 6, &rdata)
}

fn a_rr(owner: &str, addr: [u8; 4]) -> Vec<u8> {
    rr(owner, 1, &addr)
}

fn ns_rr() -> Vec<u8> {
    rr("@", 2, &name_wire("ns1.rep.test."))
}

#[test]
fn a_transfer_cut_mid_stream_keeps_the_old_copy() {
    let fake = FakePrimary::start();
    let data = scratch_dir("xfr-cut");
    let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let s = Server::builder()
        .args([
            "--secondary".to_string(),
            format!("{ZONE}={}", fake.addr),
            "--data-dir".into(),
            data.display().to_string(),
            "--api-listen".into(),
            api.to_string(),
            "--api-key".into(),
            API_KEY.into(),
        ])
        .probe(".")
        .start();
    wait_serial(&s, 1, Duration::from_secs(10));
    fake.cut.store(true, Ordering::SeqCst);
    fake.serial.store(2, Ordering::SeqCst);
    // The SOA refresh is one second: wait for failed attempts, not for time.
    let start = Instant::now();
    while metric(
        &metrics(api),
        "dnsd_refresh_failures_total{zone=\"rep.test.\"}",
    ) < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no failed refresh\n{}",
            s.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(served_serial(&s), Some(1), "the old copy keeps serving");
    assert_eq!(
        s.udp(&Query::new("www.rep.test.", RecordType::A))
            .answer()
            .len(),
        1
    );
    // The same primary, whole again: the new serial arrives.
    fake.cut.store(false, Ordering::SeqCst);
    wait_serial(&s, 2, Duration::from_secs(10));
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_transfers_are_capped() {
    use socket2::{Domain, Protocol, Socket, Type};
    let dir = scratch_dir("xfr-stall");
    // About 7 MB of transfer: more than the socket buffers hold.
    let mut extra = String::new();
    for i in 0..60_000 {
        extra.push_str(&format!("t{i} IN TXT \"{}\"\n", "x".repeat(100)));
    }
    let file = write_zone(&dir, &zone_text(1, (3600, 600, 86400), &extra));
    let p = Server::builder()
        .zone(ZONE, file)
        .args([
            "--allow-transfer",
            "127.0.0.0/8",
            "--transfer-timeout",
            "1",
            "--max-transfers",
            "1",
        ])
        .start();
    let q = Query::new(ZONE, RecordType::AXFR);
    // A client with a tiny receive buffer that never reads.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&p.addr().into()).unwrap();
    let mut stalled: std::net::TcpStream = socket.into();
    stalled.write_all(&framed(&q.to_bytes())).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The one transfer slot is taken: another request is refused meanwhile.
    let mut second = TcpConn::connect(p.addr());
    second.send(&q.to_bytes());
    let reply = Reply_::parse(second.recv(Duration::from_secs(5)).expect("a reply"));
    assert_eq!(
        reply.rcode,
        5,
        "REFUSED while the slot is held\n{}",
        p.stderr()
    );
    // The stalled client is dropped after the transfer timeout, and the slot comes back.
    let start = Instant::now();
    while !p.stderr().contains("transfer client stopped reading") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never dropped\n{}",
            p.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut third = TcpConn::connect(p.addr());
    third.send(&q.to_bytes());
    let reply = Reply_::parse(third.recv(Duration::from_secs(10)).expect("a reply"));
    assert_eq!(reply.rcode, 0, "a transfer once the slot is back");
    assert!(reply.ancount > 0);
    drop(stalled);
}

#[test]
fn a_secondary_with_several_primaries_uses_the_one_that_answers() {
    let dir = scratch_dir("xfr-two-primaries");
    let p = primary(&dir, &zone_text(12, (3600, 600, 86400), ""), &[], &[]);
    // The first primary listed is down (nothing listens there).
    let dead = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let s = Server::builder()
        .args([
            "--tsig-key".to_string(),
            tsig_flag(),
            "--secondary".into(),
            format!("{ZONE}={dead}:{KEY_NAME}"),
            "--secondary".into(),
            format!("{ZONE}={}:{KEY_NAME}", p.addr()),
            "--data-dir".into(),
            scratch_dir("xfr-two-primaries-data").display().to_string(),
        ])
        .probe(".")
        .start();
    wait_serial(&s, 12, Duration::from_secs(15));
}

/// A NOTIFY target that answers at once with a refusal is retried on the
/// same back-off as one that does not answer (1 s, then 2 s, ...), not five
/// times in a row.
#[test]
fn a_refused_notify_is_retried_with_back_off() {
    let dir = scratch_dir("notify-backoff");
    let target = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let addr = target.local_addr().unwrap();
    let timers = (3600, 600, 86400);
    let primary = primary(&dir, &zone_text(1, timers, ""), &[addr], &[]);
    write_zone(&dir, &zone_text(2, timers, ""));
    primary.sighup();
    target
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut arrivals: Vec<Instant> = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if arrivals
            .first()
            .is_some_and(|first| first.elapsed() > Duration::from_millis(2500))
        {
            break;
        }
        let Ok((n, from)) = target.recv_from(&mut buf) else {
            continue;
        };
        arrivals.push(Instant::now());
        // REFUSED: the ID and opcode of the NOTIFY, QR set, no records.
        let mut reply = buf[..12.min(n)].to_vec();
        reply[2] |= 0x80;
        reply[3] = (reply[3] & 0xF0) | 5;
        reply[4..12].fill(0);
        target.send_to(&reply, from).unwrap();
    }
    assert_eq!(
        arrivals.len(),
        2,
        "NOTIFY tries in the first 2.5 s (one, then one after 1 s)"
    );
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
}
