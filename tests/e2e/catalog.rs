//! Catalog zones (RFC 9432 v2; replication.md §5): dnsd producing one over its API zones
//! (`--catalog`), read with kdig (AXFR, IXFR) and NOTIFYed; and dnsd consuming one from a
//! dnsd primary (`--catalog-consumer`), adding and removing member zones as it changes.
//! Knot and BIND on either side are in `catalog_peers`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::http::{Http, request, wait_http};
use e2e::{Query, Server, free_port, rcode, scratch_dir};
use hickory_proto::rr::RecordType;
use serde_json::json;

const KDIG: &str = "/usr/bin/kdig";
pub const CATALOG: &str = "catalog.invalid.";
pub const KEY_NAME: &str = "cat-key";
pub const SECRET: &str = "Y2F0YWxvZy10ZXN0LXNlY3JldC0zMi1ieXRlcy1sb25nIQ==";
pub const API_KEY: &str = "catalog-api-key";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn tsig_flag() -> String {
    format!("hmac-sha256:{KEY_NAME}:{SECRET}")
}

/// kdig's records (owner lower case, type, rdata) for `args`, TSIG-signed with the test key.
pub fn kdig(server: SocketAddr, args: &[&str]) -> Vec<(String, String, String)> {
    let out = Command::new(KDIG)
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(["+timeout=5", "+retry=0", "+nocrypto", "-y"])
        .arg(format!("hmac-sha256:{KEY_NAME}:{SECRET}"))
        .args(args)
        .output()
        .expect("run kdig");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[2] == "IN").then(|| {
                (
                    f[0].to_ascii_lowercase(),
                    f[3].to_string(),
                    f[4..].join(" ").to_ascii_lowercase(),
                )
            })
        })
        .collect()
}

/// The members a catalog AXFR lists: (id, member), and its serial.
pub fn catalog_axfr(server: SocketAddr, catalog: &str) -> (u32, Vec<(String, String)>) {
    let records = kdig(server, &[catalog, "AXFR"]);
    let serial = records
        .iter()
        .find(|r| r.1 == "SOA")
        .map(|r| r.2.split_whitespace().nth(2).unwrap().parse().unwrap())
        .unwrap_or_else(|| panic!("no SOA in the AXFR of {catalog}: {records:?}"));
    let version: Vec<&(String, String, String)> = records
        .iter()
        .filter(|r| r.0 == format!("version.{catalog}") && r.1 == "TXT")
        .collect();
    assert_eq!(version.len(), 1, "{records:?}");
    assert_eq!(version[0].2, "\"2\"", "{records:?}");
    let suffix = format!(".zones.{catalog}");
    let mut members: Vec<(String, String)> = records
        .iter()
        .filter(|r| r.1 == "PTR")
        .map(|r| {
            let id =
                r.0.strip_suffix(&suffix)
                    .expect("PTR under zones.")
                    .to_string();
            (id, r.2.clone())
        })
        .collect();
    members.sort();
    members.dedup();
    (serial, members)
}

fn member_names(members: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = members.iter().map(|m| m.1.as_str()).collect();
    names.sort();
    names
}

fn api_call(api: SocketAddr, method: &str, path: &str, body: Option<serde_json::Value>) -> Http {
    request(
        api,
        method,
        path,
        &[("X-API-Key", API_KEY)],
        body.map(|b| b.to_string()).as_deref(),
    )
}

pub fn create_zone(api: SocketAddr, zone: &str) {
    let created = api_call(
        api,
        "POST",
        "/api/v1/servers/localhost/zones",
        Some(json!({"name": zone, "kind": "Native", "nameservers": [format!("ns1.{zone}")]})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

pub fn delete_zone(api: SocketAddr, zone: &str) {
    let deleted = api_call(
        api,
        "DELETE",
        &format!("/api/v1/servers/localhost/zones/{zone}"),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

/// A dnsd primary with the API, producing the catalog, transfers allowed with the key.
fn producer(api: SocketAddr, data: &Path, port: Option<u16>, extra: &[String]) -> Server {
    let mut builder = Server::builder()
        .api(api, API_KEY, data)
        .args([
            "--catalog".to_string(),
            CATALOG.into(),
            "--tsig-key".into(),
            tsig_flag(),
            "--allow-transfer".into(),
            format!("127.0.0.0/8:{KEY_NAME}"),
        ])
        .args(extra.iter().cloned())
        .probe(".");
    if let Some(port) = port {
        builder = builder.port(port);
    }
    let server = builder.start();
    wait_http(api);
    server
}

/// Waits until `check` holds, or fails with `what` and `server`'s log.
pub fn wait_until(server: &Server, within: Duration, what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within {within:?}\n{}", server.stderr());
}

/// Whether `server` answers `zone`'s SOA with NOERROR.
pub fn serves(server: &Server, zone: &str) -> bool {
    let r = server.udp(&Query::new(zone, RecordType::SOA));
    r.rcode() == rcode::NOERROR && !r.answer().is_empty()
}

/// Receives NOTIFYs on a loopback socket, answering each (so the sender stops
/// retrying); returns the question names seen (lower case, dotted).
struct NotifyListener {
    socket: UdpSocket,
}

impl NotifyListener {
    fn new() -> NotifyListener {
        let socket = UdpSocket::bind((LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        NotifyListener { socket }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Waits for a NOTIFY for `zone`.
    fn wait_for(&self, zone: &str, within: Duration) -> bool {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < within {
            let Ok((n, from)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            let msg = &buf[..n];
            if n < 12 || (msg[2] >> 3) & 0x0f != 4 {
                continue;
            }
            let Ok((qname, end)) = e2e::read_name(msg, 12) else {
                continue;
            };
            // Answer: same id and question, QR and AA set, no TSIG (the sender does
            // not require one back to stop retrying).
            let mut reply = msg[..end + 4].to_vec();
            reply[2] |= 0x84;
            reply[6..12].copy_from_slice(&[0; 6]);
            let _ = self.socket.send_to(&reply, from);
            if qname
                .trim_end_matches('.')
                .eq_ignore_ascii_case(zone.trim_end_matches('.'))
            {
                return true;
            }
        }
        false
    }
}

#[test]
fn producer_lists_api_zones_and_moves_its_serial_and_notifies_with_each_change() {
    let data = scratch_dir("catalog-producer");
    let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let notify = NotifyListener::new();
    let port = free_port(LOCALHOST);
    let p = producer(
        api,
        &data,
        Some(port),
        &["--also-notify".into(), notify.addr().to_string()],
    );
    create_zone(api, "a.test.");
    create_zone(api, "b.test.");
    let (serial1, members1) = catalog_axfr(p.addr(), CATALOG);
    assert_eq!(member_names(&members1), ["a.test.", "b.test."]);
    // The catalog is served and listed, but read-only and not its own member.
    let list = api_call(api, "GET", "/api/v1/servers/localhost/zones", None).json();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == CATALOG)
        .unwrap_or_else(|| panic!("catalog not in the zone list: {list}"));
    assert_eq!(listed["kind"], "Native");
    assert_eq!(listed["serial"], serial1);
    let patched = api_call(
        api,
        "PATCH",
        &format!("/api/v1/servers/localhost/zones/{CATALOG}"),
        Some(json!({"rrsets": []})),
    );
    assert_eq!(patched.status, 422, "{}", patched.body);
    let deleted = api_call(
        api,
        "DELETE",
        &format!("/api/v1/servers/localhost/zones/{CATALOG}"),
        None,
    );
    assert_eq!(deleted.status, 422, "{}", deleted.body);
    let taken = api_call(
        api,
        "POST",
        "/api/v1/servers/localhost/zones",
        Some(json!({"name": CATALOG, "kind": "Native", "nameservers": ["ns1.x.test."]})),
    );
    assert_eq!(taken.status, 409, "{}", taken.body);

    // A new zone: the serial moves, the PTR appears, and an IXFR from the old serial
    // carries exactly that change (the SOAs around one added PTR).
    create_zone(api, "c.test.");
    let (serial2, members2) = catalog_axfr(p.addr(), CATALOG);
    assert!(serial2 > serial1, "{serial1} -> {serial2}");
    assert_eq!(member_names(&members2), ["a.test.", "b.test.", "c.test."]);
    let c_entry = members2.iter().find(|m| m.1 == "c.test.").unwrap().clone();
    let ixfr = kdig(p.addr(), &[CATALOG, &format!("IXFR={serial1}")]);
    let changes: Vec<&(String, String, String)> = ixfr.iter().filter(|r| r.1 != "SOA").collect();
    assert_eq!(changes.len(), 1, "{ixfr:?}");
    assert_eq!(changes[0].0, format!("{}.zones.{CATALOG}", c_entry.0));
    assert_eq!(changes[0].2, "c.test.");
    assert_eq!(ixfr.iter().filter(|r| r.1 == "SOA").count(), 4, "{ixfr:?}");
    assert!(
        notify.wait_for(CATALOG, Duration::from_secs(5)),
        "no NOTIFY for the catalog\n{}",
        p.stderr()
    );
    // Editing a member's records does not move the catalog.
    let patch = api_call(
        api,
        "PATCH",
        "/api/v1/servers/localhost/zones/a.test.",
        Some(
            json!({"rrsets": [{"name": "www.a.test.", "type": "A", "ttl": 60,
            "changetype": "REPLACE", "records": [{"content": "192.0.2.1", "disabled": false}]}]}),
        ),
    );
    assert_eq!(patch.status, 204, "{}", patch.body);
    assert_eq!(catalog_axfr(p.addr(), CATALOG).0, serial2);

    // A deleted zone disappears; the IXFR shows the one PTR deleted.
    delete_zone(api, "a.test.");
    let (serial3, members3) = catalog_axfr(p.addr(), CATALOG);
    assert!(serial3 > serial2);
    assert_eq!(member_names(&members3), ["b.test.", "c.test."]);
    let ixfr = kdig(p.addr(), &[CATALOG, &format!("IXFR={serial2}")]);
    let changes: Vec<&(String, String, String)> = ixfr.iter().filter(|r| r.1 != "SOA").collect();
    assert_eq!(changes.len(), 1, "{ixfr:?}");
    assert_eq!(changes[0].2, "a.test.");

    // A restart keeps the ids and the serial.
    drop(p);
    let p = producer(api, &data, Some(port), &[]);
    let (serial4, members4) = catalog_axfr(p.addr(), CATALOG);
    assert_eq!(
        serial4, serial3,
        "same members, same serial after a restart"
    );
    assert_eq!(members4, members3, "same ids after a restart");
    create_zone(api, "d.test.");
    assert!(catalog_axfr(p.addr(), CATALOG).0 > serial3);
}

/// Files under `dir` whose names start with `stem`.
fn files_of(dir: &Path, stem: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(stem))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn consumer(port: u16, primary: SocketAddr, data: &Path, api: SocketAddr) -> Server {
    let server = Server::builder()
        .port(port)
        .api(api, API_KEY, data)
        .args([
            "--tsig-key".to_string(),
            tsig_flag(),
            "--catalog-consumer".into(),
            format!("{CATALOG}={primary}:{KEY_NAME}"),
        ])
        .probe(".")
        .start();
    wait_http(api);
    server
}

#[test]
fn consumer_follows_a_dnsd_catalog_adding_and_removing_members() {
    let c_port = free_port(LOCALHOST);
    let c_addr = SocketAddr::new(LOCALHOST, c_port);
    let p_data = scratch_dir("catalog-cons-primary");
    let p_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let p = producer(
        p_api,
        &p_data,
        None,
        &["--also-notify".into(), format!("{c_addr}:{KEY_NAME}")],
    );
    create_zone(p_api, "one.test.");
    let c_data = scratch_dir("catalog-cons-consumer");
    let c_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let c = consumer(c_port, p.addr(), &c_data, c_api);
    wait_until(
        &c,
        Duration::from_secs(10),
        "catalog and member served",
        || serves(&c, CATALOG) && serves(&c, "one.test."),
    );
    // Created on the primary: served by the consumer within a NOTIFY round or two
    // (the catalog's SOA refresh is minutes).
    create_zone(p_api, "two.test.");
    create_zone(p_api, "three.test.");
    wait_until(&c, Duration::from_secs(3), "new members served", || {
        serves(&c, "two.test.") && serves(&c, "three.test.")
    });
    // A member changed on the primary reaches the consumer (IXFR, kept in its history).
    let patch = api_call(
        p_api,
        "PATCH",
        "/api/v1/servers/localhost/zones/two.test.",
        Some(
            json!({"rrsets": [{"name": "www.two.test.", "type": "A", "ttl": 60,
            "changetype": "REPLACE", "records": [{"content": "192.0.2.2", "disabled": false}]}]}),
        ),
    );
    assert_eq!(patch.status, 204, "{}", patch.body);
    wait_until(&c, Duration::from_secs(3), "member change", || {
        !c.udp(&Query::new("www.two.test.", RecordType::A))
            .answer()
            .is_empty()
    });
    let secondary_dir = c_data.join("secondary");
    let ixfr_dir = c_data.join("ixfr");
    assert!(!files_of(&secondary_dir, "two.test.").is_empty());
    assert!(
        !files_of(&ixfr_dir, "two.test.").is_empty(),
        "{:?}",
        std::fs::read_dir(&ixfr_dir).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
    // A member is read-only through the consumer's API.
    let refused = api_call(
        c_api,
        "DELETE",
        "/api/v1/servers/localhost/zones/two.test.",
        None,
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let m = api_call(c_api, "GET", "/metrics", None).body;
    assert!(
        m.contains(&format!("dnsd_catalog_members{{catalog=\"{CATALOG}\"}} 3")),
        "{m}"
    );

    // Deleted on the primary: no longer served, copy and history gone.
    delete_zone(p_api, "two.test.");
    wait_until(&c, Duration::from_secs(3), "member removed", || {
        c.udp(&Query::new("two.test.", RecordType::SOA)).rcode() == rcode::REFUSED
    });
    assert_eq!(files_of(&secondary_dir, "two.test."), Vec::<PathBuf>::new());
    assert_eq!(files_of(&ixfr_dir, "two.test."), Vec::<PathBuf>::new());

    // Restarted with the primary gone: the members are served at once from their copies.
    drop(c);
    drop(p);
    let c = consumer(c_port, SocketAddr::new(LOCALHOST, 9), &c_data, c_api);
    assert!(serves(&c, "one.test."), "{}", c.stderr());
    assert!(serves(&c, "three.test."), "{}", c.stderr());
    assert!(serves(&c, CATALOG), "{}", c.stderr());
    assert_eq!(
        c.udp(&Query::new("two.test.", RecordType::SOA)).rcode(),
        rcode::REFUSED
    );
}

#[test]
fn a_member_removed_while_the_consumer_was_down_goes_at_the_first_refresh() {
    let c_port = free_port(LOCALHOST);
    let p_data = scratch_dir("catalog-down-primary");
    let p_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let p_port = free_port(LOCALHOST);
    let p = producer(p_api, &p_data, Some(p_port), &[]);
    create_zone(p_api, "stay.test.");
    create_zone(p_api, "go.test.");
    let c_data = scratch_dir("catalog-down-consumer");
    let c_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let c = consumer(c_port, p.addr(), &c_data, c_api);
    wait_until(&c, Duration::from_secs(10), "members served", || {
        serves(&c, "stay.test.") && serves(&c, "go.test.")
    });
    drop(c);
    delete_zone(p_api, "go.test.");
    let c = consumer(c_port, p.addr(), &c_data, c_api);
    wait_until(
        &c,
        Duration::from_secs(10),
        "member removed after restart",
        || c.udp(&Query::new("go.test.", RecordType::SOA)).rcode() == rcode::REFUSED,
    );
    assert!(serves(&c, "stay.test."));
    assert_eq!(
        files_of(&c_data.join("secondary"), "go.test."),
        Vec::<PathBuf>::new()
    );
}
