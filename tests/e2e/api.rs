//! The PowerDNS-compatible REST API against the real dnsd binary: the
//! conformance list of pdns-api.md §11, the exact request sequences of
//! external-dns and the pool-domain manager, persistence across restarts
//! and `kill -9`, and bad input. DNS answers are checked over real UDP.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::delv::Delv;
use e2e::http::{Http, request, wait_http};
use e2e::{Query, Reply, Server, free_port, name_wire, scratch_dir, zone};
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

const KEY: &str = "s3cret-test-key";

/// A dnsd with the API on, its data directory and API address.
struct ApiServer {
    dns: Server,
    api: SocketAddr,
    data: PathBuf,
}

fn start_with(data: PathBuf) -> ApiServer {
    start_with_args(data, &[])
}

fn start_with_args(data: PathBuf, extra: &[&str]) -> ApiServer {
    let api = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        free_port(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    );
    let dns = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .api(api, KEY, &data)
        .args(extra.iter().copied())
        .start();
    wait_http(api);
    ApiServer { dns, api, data }
}

fn start() -> ApiServer {
    start_with(scratch_dir("api-data"))
}

/// One request with the API key (when given).
fn http(addr: SocketAddr, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Http {
    let headers: Vec<(&str, &str)> = key.map(|k| ("X-API-Key", k)).into_iter().collect();
    request(addr, method, path, &headers, body)
}

impl ApiServer {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Http {
        let body = body.map(|b| b.to_string());
        http(self.api, method, path, Some(KEY), body.as_deref())
    }
    fn zones(&self) -> String {
        "/api/v1/servers/localhost/zones".into()
    }
    fn a(&self, name: &str) -> Vec<String> {
        let r = self.dns.udp(&Query::new(name, RecordType::A));
        r.answer()
            .into_iter()
            .filter(|rr| rr.1 == "A")
            .map(|rr| rr.2)
            .collect()
    }
    fn rcode(&self, name: &str, qtype: RecordType) -> u16 {
        self.dns.udp(&Query::new(name, qtype)).rcode()
    }
    fn soa_serial(&self, zone: &str) -> u32 {
        let r = self.dns.udp(&Query::new(zone, RecordType::SOA));
        let soa = r
            .answer()
            .into_iter()
            .find(|rr| rr.1 == "SOA")
            .expect("SOA answer");
        soa.2.split_whitespace().nth(2).unwrap().parse().unwrap()
    }
}

fn create_pool(s: &ApiServer, name: &str) -> Http {
    s.call(
        "POST",
        &s.zones(),
        Some(json!({"name": name, "kind": "Native", "nameservers": ["ns1.openova.io.", "ns2.openova.io.", "ns3.openova.io."]})),
    )
}

fn rrset(name: &str, rtype: &str, ttl: u32, contents: &[&str]) -> Value {
    let records: Vec<Value> = contents
        .iter()
        .map(|c| json!({"content": c, "disabled": false}))
        .collect();
    json!({"name": name, "type": rtype, "ttl": ttl, "changetype": "REPLACE", "records": records})
}

#[test]
fn auth_is_required_and_errors_are_json() {
    let s = start();
    for key in [None, Some("wrong")] {
        let r = http(s.api, "GET", "/api/v1/servers/localhost/zones", key, None);
        assert_eq!(r.status, 401);
        assert_eq!(r.error(), "Unauthorized");
        assert_eq!(
            r.header("www-authenticate"),
            Some("X-API-Key realm=\"PowerDNS\"")
        );
    }
    // Header names are case-insensitive (lego sends X-Api-Key).
    let mut stream = TcpStream::connect(s.api).unwrap();
    write!(
        stream,
        "GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-api-key: {KEY}\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"/api/v1\""), "{out}");
    // Health endpoints need no key.
    assert_eq!(http(s.api, "GET", "/healthz", None, None).status, 200);
    assert_eq!(http(s.api, "GET", "/readyz", None, None).status, 200);
    let r = s.call("GET", "/api/v1/servers/other/zones", None);
    assert_eq!((r.status, r.error().as_str()), (404, "Not Found"));
    let r = s.call("GET", "/api/v1/servers/localhost", None);
    assert_eq!(r.json()["id"], "localhost");
    assert_eq!(r.json()["daemon_type"], "authoritative");
}

#[test]
fn create_get_patch_delete_per_spec_section_11() {
    let s = start();
    // 2. Create with nameservers: 201, apex NS and SOA, id and url; again 409.
    let r = create_pool(&s, "pool.test.");
    assert_eq!(r.status, 201, "{}", r.body);
    let z = r.json();
    assert_eq!(z["id"], "pool.test.");
    assert_eq!(z["url"], "/api/v1/servers/localhost/zones/pool.test.");
    let types: Vec<&str> = z["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"NS") && types.contains(&"SOA"), "{types:?}");
    assert_eq!(create_pool(&s, "pool.test.").status, 409);
    assert_eq!(s.rcode("pool.test.", RecordType::SOA), 0);

    // 3. GET by id with and without the trailing dot.
    for id in ["pool.test.", "pool.test"] {
        let r = s.call("GET", &format!("{}/{id}", s.zones()), None);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["name"], "pool.test.");
    }
    let r = s.call("GET", &format!("{}/pool.test=zz", s.zones()), None);
    assert_eq!(r.status, 400, "bad escape");

    // 4. PATCH REPLACE A + TXT: 204, visible at once, serial headers move.
    let before = s.soa_serial("pool.test.");
    let r = s.call(
        "PATCH",
        &format!("{}/pool.test.", s.zones()),
        Some(json!({"rrsets": [rrset("app.pool.test.", "A", 300, &["192.0.2.10"]), rrset("app.pool.test.", "TXT", 300, &["\"hello\""])]})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let old: u32 = r.header("x-pdns-old-serial").unwrap().parse().unwrap();
    let new: u32 = r.header("x-pdns-new-serial").unwrap().parse().unwrap();
    assert!(new > old && old == before, "{old} -> {new}");
    // Visible in answers right after the 204: no sleep.
    assert_eq!(s.a("app.pool.test."), vec!["192.0.2.10"]);
    assert_eq!(s.soa_serial("pool.test."), new);
    let z = s
        .call("GET", &format!("{}/pool.test.", s.zones()), None)
        .json();
    let txt = z["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "TXT")
        .unwrap()
        .clone();
    assert_eq!(txt["records"][0]["content"], "\"hello\"");

    // 5. Unquoted TXT or a relative CNAME target: 422, and nothing applied.
    for bad in [
        rrset("t.pool.test.", "TXT", 300, &["unquoted"]),
        rrset("c.pool.test.", "CNAME", 300, &["app.pool.test"]),
    ] {
        let r = s.call(
            "PATCH",
            &format!("{}/pool.test.", s.zones()),
            Some(json!({"rrsets": [rrset("other.pool.test.", "A", 300, &["192.0.2.99"]), bad]})),
        );
        assert_eq!(r.status, 422);
        assert!(r.error().contains("Not in expected format"), "{}", r.body);
        assert_eq!(
            s.rcode("other.pool.test.", RecordType::A),
            3,
            "nothing of a rejected PATCH is applied"
        );
    }

    // 6. DELETE with records present: 204; again: 204.
    for _ in 0..2 {
        let r = s.call(
            "PATCH",
            &format!("{}/pool.test.", s.zones()),
            Some(
                json!({"rrsets": [{"name": "app.pool.test.", "type": "A", "changetype": "DELETE",
                                    "records": [{"content": "192.0.2.10", "disabled": false}]}]}),
            ),
        );
        assert_eq!(r.status, 204);
    }
    assert!(s.a("app.pool.test.").is_empty());

    // 9. soa_edit_api INCEPTION-EPOCH: a later PATCH still bumps the serial.
    let r = s.call(
        "PUT",
        &format!("{}/pool.test.", s.zones()),
        Some(json!({"soa_edit_api": "INCEPTION-EPOCH", "soa_edit": "INCEPTION-EPOCH"})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let before = s.soa_serial("pool.test.");
    let r = s.call(
        "PATCH",
        &format!("{}/pool.test.", s.zones()),
        Some(json!({"rrsets": [rrset("x.pool.test.", "A", 60, &["192.0.2.5"])]})),
    );
    assert_eq!(r.status, 204);
    assert!(s.soa_serial("pool.test.") > before);

    // 10. Rectify and notify.
    let r = s.call("PUT", &format!("{}/pool.test./rectify", s.zones()), None);
    assert_eq!(
        (r.status, r.json()["result"].clone()),
        (200, json!("Rectified"))
    );
    let r = s.call("PUT", &format!("{}/pool.test./notify", s.zones()), None);
    assert_eq!(
        (r.status, r.json()["result"].clone()),
        (200, json!("Notification queued"))
    );

    // 11. DELETE zone: 204, then 404 and REFUSED over DNS.
    assert_eq!(
        s.call("DELETE", &format!("{}/pool.test.", s.zones()), None)
            .status,
        204
    );
    let r = s.call("GET", &format!("{}/pool.test.", s.zones()), None);
    assert_eq!((r.status, r.error().as_str()), (404, "Not Found"));
    assert_eq!(s.rcode("app.pool.test.", RecordType::A), 5);
}

#[test]
fn serials_stay_below_two_to_the_31_while_a_greater_one_exists_there() {
    let s = start();
    assert_eq!(create_pool(&s, "big.test.").status, 201);
    let serial = |s: &ApiServer| {
        s.call("GET", &format!("{}/big.test.", s.zones()), None)
            .json()["serial"]
            .as_u64()
            .unwrap()
    };
    let soa = "ns1.openova.io. hostmaster.big.test. 2147483645 10800 3600 604800 3600";
    let r = s.call(
        "PATCH",
        &format!("{}/big.test.", s.zones()),
        Some(json!({"rrsets": [rrset("big.test.", "SOA", 3600, &[soa])]})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        serial(&s),
        2147483646,
        "DEFAULT moves a written serial on by one"
    );
    let a = |s: &ApiServer, ip: &str| {
        let r = s.call(
            "PATCH",
            &format!("{}/big.test.", s.zones()),
            Some(json!({"rrsets": [rrset("a.big.test.", "A", 60, &[ip])]})),
        );
        assert_eq!(r.status, 204);
    };
    a(&s, "192.0.2.1");
    assert_eq!(serial(&s), (1 << 31) - 1, "external-dns reads int32");
    // At the int32 ceiling every serial greater under RFC 1982 is above it:
    // never going back wins (secondaries would ignore the zone).
    a(&s, "192.0.2.2");
    assert_eq!(serial(&s), 1 << 31);
}

/// Hardening item 8: a PATCH that writes a lower serial, or one that would
/// not move it, still moves the serial forward, for every SOA-EDIT-API value.
#[test]
fn serials_never_go_backwards() {
    let s = start();
    for (i, rule) in [
        "",
        "DEFAULT",
        "INCREASE",
        "EPOCH",
        "SOA-EDIT",
        "SOA-EDIT-INCREASE",
    ]
    .into_iter()
    .enumerate()
    {
        let zone = format!("serial{i}.test.");
        let r = s.call(
            "POST",
            &s.zones(),
            Some(json!({"name": zone, "kind": "Native", "soa_edit_api": rule,
                "nameservers": [format!("ns1.{zone}")]})),
        );
        assert_eq!(r.status, 201, "{rule:?}: {}", r.body);
        let serial = |s: &ApiServer| s.soa_serial(&zone);
        let mut last = serial(&s);
        // A lower serial written, the current serial written with another
        // refresh time (a real change that would not move it), a plain edit.
        for step in 0..3 {
            let written = [Some(5), Some(last), None][step];
            let rrset_change = match written {
                Some(n) => {
                    let refresh = 10800 + step;
                    let soa =
                        format!("ns1.{zone} hostmaster.{zone} {n} {refresh} 3600 604800 3600");
                    rrset(&zone, "SOA", 3600, &[&soa])
                }
                None => rrset(&format!("www.{zone}"), "A", 60, &["192.0.2.9"]),
            };
            let r = s.call(
                "PATCH",
                &format!("{}/{zone}", s.zones()),
                Some(json!({"rrsets": [rrset_change]})),
            );
            assert_eq!(r.status, 204, "{rule:?}: {}", r.body);
            let now = serial(&s);
            let ahead = now.wrapping_sub(last);
            assert!(
                ahead != 0 && ahead < 1 << 31,
                "{rule:?} written {written:?}: {last} -> {now}"
            );
            last = now;
        }
    }
}

/// The sequence external-dns's pdns provider sends (pdns-api.md §10.1).
#[test]
fn external_dns_replay() {
    let s = start();
    assert_eq!(create_pool(&s, "example.org.").status, 201);
    // Read cycle: list, then each zone by the id from the list.
    let list = s.call("GET", &s.zones(), None);
    assert_eq!(list.status, 200);
    let entry = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == "example.org.")
        .unwrap()
        .clone();
    assert!(entry.get("rrsets").is_none(), "the list form has no rrsets");
    let id = entry["id"].as_str().unwrap().to_string();
    let zone = s.call("GET", &format!("{}/{id}", s.zones()), None).json();
    // Write cycle: creates, with the whole zone object beside rrsets.
    let mut body = zone.clone();
    body["rrsets"] = json!([
        rrset("app.example.org.", "A", 300, &["192.0.2.10"]),
        rrset(
            "_externaldns.a-app.example.org.",
            "TXT",
            300,
            &[
                "\"heritage=external-dns,external-dns/owner=default,external-dns/resource=ingress/default/app\""
            ]
        ),
        rrset("web.example.org.", "CNAME", 300, &["app.example.org."]),
    ]);
    let r = s.call("PATCH", &format!("{}/{id}", s.zones()), Some(body));
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.a("app.example.org."), vec!["192.0.2.10"]);
    assert_eq!(s.a("web.example.org."), vec!["192.0.2.10"], "CNAME chased");
    // Updates.
    let mut body = zone.clone();
    body["rrsets"] = json!([rrset(
        "app.example.org.",
        "A",
        300,
        &["192.0.2.11", "192.0.2.12"]
    )]);
    assert_eq!(
        s.call("PATCH", &format!("{}/{id}", s.zones()), Some(body))
            .status,
        204
    );
    let mut got = s.a("app.example.org.");
    got.sort();
    assert_eq!(got, vec!["192.0.2.11", "192.0.2.12"]);
    // Deletes: records still present, no TTL.
    let mut body = zone.clone();
    body["rrsets"] = json!([
        {"name": "app.example.org.", "type": "A", "changetype": "DELETE",
         "records": [{"content": "192.0.2.11", "disabled": false}, {"content": "192.0.2.12", "disabled": false}]},
        {"name": "_externaldns.a-app.example.org.", "type": "TXT", "changetype": "DELETE",
         "records": [{"content": "\"heritage=external-dns\"", "disabled": false}]},
    ]);
    assert_eq!(
        s.call("PATCH", &format!("{}/{id}", s.zones()), Some(body))
            .status,
        204
    );
    assert_eq!(s.rcode("app.example.org.", RecordType::A), 3);
    // The read cycle sees what is left, with disabled records marked.
    let zone = s.call("GET", &format!("{}/{id}", s.zones()), None).json();
    let names: Vec<&str> = zone["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"web.example.org.") && !names.contains(&"app.example.org."),
        "{names:?}"
    );
}

/// The calls the Go pool-domain manager makes (pdm-api.md §6), without
/// the DNSSEC steps, which need online signing.
#[test]
fn pool_domain_manager_replay() {
    let s = start();
    let zones = s.zones();
    // Bootstrap: EnsureZone on the pool.
    assert_eq!(
        s.call("GET", &format!("{zones}/omani.test."), None).status,
        404
    );
    assert_eq!(create_pool(&s, "omani.test.").status, 201);
    // Reserve: CreateZone child; 409 on retry counts as success for PDM.
    assert_eq!(create_pool(&s, "acme.omani.test.").status, 201);
    assert_eq!(create_pool(&s, "acme.omani.test.").status, 409);
    // AddNSDelegation in the parent.
    let r = s.call("PATCH", &format!("{zones}/omani.test."), Some(json!({"rrsets": [
        rrset("acme.omani.test.", "NS", 3600, &["ns1.openova.io.", "ns2.openova.io.", "ns3.openova.io."])]})));
    assert_eq!(r.status, 204, "{}", r.body);
    // Commit: six A RRsets into the child.
    let ip = "203.0.113.7";
    let names = [
        "acme.omani.test.",
        "*.acme.omani.test.",
        "console.acme.omani.test.",
        "api.acme.omani.test.",
        "gitea.acme.omani.test.",
        "harbor.acme.omani.test.",
    ];
    let rrsets: Vec<Value> = names.iter().map(|n| rrset(n, "A", 300, &[ip])).collect();
    let r = s.call(
        "PATCH",
        &format!("{zones}/acme.omani.test."),
        Some(json!({"rrsets": rrsets})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    for name in [
        "console.acme.omani.test.",
        "anything.acme.omani.test.",
        "acme.omani.test.",
    ] {
        assert_eq!(s.a(name), vec![ip], "{name}");
    }
    // Release: DeleteZone child, RemoveNSDelegation in the parent (no ttl, no records).
    assert_eq!(
        s.call("DELETE", &format!("{zones}/acme.omani.test."), None)
            .status,
        204
    );
    assert_eq!(
        s.call("DELETE", &format!("{zones}/acme.omani.test."), None)
            .status,
        404,
        "PDM treats 404 as done"
    );
    let r = s.call(
        "PATCH",
        &format!("{zones}/omani.test."),
        Some(json!({"rrsets": [
        {"name": "acme.omani.test.", "type": "NS", "changetype": "DELETE"}]})),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        s.rcode("console.acme.omani.test.", RecordType::A),
        3,
        "NXDOMAIN after release"
    );
}

#[test]
fn bad_input_gets_clear_4xx_and_changes_nothing() {
    let s = start();
    assert_eq!(create_pool(&s, "bad.test.").status, 201);
    let zones = s.zones();
    let serial = s.soa_serial("bad.test.");
    let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
        (
            "PATCH",
            format!("{zones}/bad.test."),
            Some("{not json"),
            400,
            "Could not parse JSON",
        ),
        (
            "PATCH",
            format!("{zones}/bad.test."),
            Some("{}"),
            422,
            "No rrsets given",
        ),
        (
            "PATCH",
            format!("{zones}/nope.test."),
            Some("{\"rrsets\":[]}"),
            404,
            "Not Found",
        ),
        (
            "PATCH",
            format!("{zones}/bad.test."),
            Some(
                r#"{"rrsets":[{"name":"a.bad.test.","type":"A","ttl":60,"changetype":"REPLACE","records":[{"content":"999.1.1.1"}]}]}"#,
            ),
            422,
            "a.bad.test.",
        ),
        (
            "PATCH",
            format!("{zones}/bad.test."),
            Some(
                r#"{"rrsets":[{"name":"a.other.","type":"A","ttl":60,"changetype":"REPLACE","records":[{"content":"192.0.2.1"}]}]}"#,
            ),
            422,
            "out of zone",
        ),
        (
            "PATCH",
            format!("{zones}/example.test."),
            Some(r#"{"rrsets":[]}"#),
            422,
            "read-only",
        ),
        (
            "POST",
            zones.clone(),
            Some(r#"{"name":"nokind.test."}"#),
            422,
            "kind",
        ),
        (
            "POST",
            zones.clone(),
            Some(r#"{"name":"example.test.","kind":"Native"}"#),
            409,
            "Conflict",
        ),
        (
            "DELETE",
            format!("{zones}/example.test."),
            None,
            422,
            "read-only",
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let r = http(s.api, method, &path, Some(KEY), body);
        assert_eq!(r.status, status, "{method} {path} {body:?}: {}", r.body);
        assert!(
            r.error().contains(needle),
            "{method} {path}: {:?} lacks {needle:?}",
            r.error()
        );
    }
    assert_eq!(s.soa_serial("bad.test."), serial, "no change applied");
    assert_eq!(
        s.rcode("www.example.test.", RecordType::A),
        0,
        "file zone untouched"
    );
}

/// Security: zone text from a client never opens a file (hardening item 1).
/// The included file is another zone's private key; before the fix its
/// content came back in the 422 text or, parsed as a zone, was served.
#[test]
fn zone_text_through_the_api_never_reads_a_file() {
    let s = start();
    let secret_dir = scratch_dir("api-include-secret");
    let key_file = secret_dir.join("Kexample.private");
    std::fs::write(
        &key_file,
        "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: c2VjcmV0LWtleS1tYXRlcmlhbA==\n",
    )
    .unwrap();
    // A file that does parse as zone data must not be served either.
    let zone_file = secret_dir.join("hosts.inc");
    std::fs::write(&zone_file, "leak 60 IN A 192.0.2.66\n").unwrap();
    for (zone, target) in [("inc1.test.", &key_file), ("inc2.test.", &zone_file)] {
        let text = format!(
            "$TTL 60\n@ SOA ns1.{zone} hostmaster.{zone} 1 2 3 4 5\n@ NS ns1.{zone}\n$INCLUDE {}\n",
            target.display()
        );
        let r = s.call(
            "POST",
            &s.zones(),
            Some(json!({"name": zone, "kind": "Native", "zone": text})),
        );
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.error().contains("$INCLUDE"), "{}", r.error());
        for leaked in ["PrivateKey", "c2VjcmV0", "Private-key-format", "192.0.2.66"] {
            assert!(
                !r.body.contains(leaked),
                "file content in the reply: {}",
                r.body
            );
        }
        let get = s.call("GET", &format!("{}/{zone}", s.zones()), None);
        assert_eq!(get.status, 404, "zone must not exist: {}", get.body);
        assert_eq!(s.rcode(&format!("leak.{zone}"), RecordType::A), 5);
    }
    // Bounded before parsing: an oversized record content is refused by size,
    // and not echoed back.
    assert_eq!(create_pool(&s, "big.test.").status, 201);
    let huge = format!("\"{}\"", "x".repeat(300 * 1024));
    let r = s.call(
        "PATCH",
        &format!("{}/big.test.", s.zones()),
        Some(json!({"rrsets": [rrset("t.big.test.", "TXT", 60, &[&huge])]})),
    );
    assert_eq!(r.status, 422, "{}", r.status);
    assert!(r.error().contains("at most 262144"), "{}", r.error());
    assert!(
        r.body.len() < 4096,
        "content echoed: {} bytes",
        r.body.len()
    );
    // A body over the limit is refused before it is read whole.
    let body = json!({"name": "huge.test.", "kind": "Native", "zone": "x".repeat(3 << 20)});
    let r = s.call("POST", &s.zones(), Some(body));
    assert_eq!(r.status, 413, "{}", r.body);
}

/// An RRset that no DNS message can carry is refused with a clear error
/// instead of being stored and answered as an empty TC=1 reply.
#[test]
fn an_rrset_larger_than_a_message_is_refused() {
    let s = start();
    assert_eq!(create_pool(&s, "huge.test.").status, 201);
    let serial = s.soa_serial("huge.test.");
    let contents: Vec<String> = (0..300).map(|i| format!("\"{:0>250}\"", i)).collect();
    let refs: Vec<&str> = contents.iter().map(String::as_str).collect();
    let r = s.call(
        "PATCH",
        &format!("{}/huge.test.", s.zones()),
        Some(json!({"rrsets": [rrset("t.huge.test.", "TXT", 60, &refs)]})),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error().contains("RRset t.huge.test. TXT takes")
            && r.error().contains("a DNS message holds at most 65535"),
        "{}",
        r.error()
    );
    assert_eq!(s.soa_serial("huge.test."), serial, "nothing applied");
    assert_eq!(s.rcode("t.huge.test.", RecordType::TXT), 3, "not stored");
}

#[test]
fn changes_survive_restart() {
    let data = scratch_dir("api-restart");
    {
        let s = start_with(data.clone());
        assert_eq!(create_pool(&s, "keep.test.").status, 201);
        let r = s.call(
            "PATCH",
            "/api/v1/servers/localhost/zones/keep.test.",
            Some(json!({"rrsets": [rrset("www.keep.test.", "A", 60, &["192.0.2.44"])]})),
        );
        assert_eq!(r.status, 204);
    } // dropped: dnsd killed
    let s = start_with(data);
    assert_eq!(s.a("www.keep.test."), vec!["192.0.2.44"]);
    let z = s.call("GET", "/api/v1/servers/localhost/zones/keep.test.", None);
    assert_eq!(z.status, 200);
    assert_eq!(z.json()["soa_edit_api"], "DEFAULT");
    let _ = &s.data;
}

/// API zones outlive the API: restarted on the same data directory
/// without `--api-listen`, dnsd still serves every API zone, and a signed
/// one still signed. (dnsd once looked for a store file the journal never
/// writes, and silently served none of them.)
#[test]
fn api_zones_are_served_after_a_restart_without_the_api() {
    let data = scratch_dir("api-off");
    let signed_answer = |dns: &Server| {
        dns.udp(&Query::new("www.signed.test.", RecordType::A).dnssec_ok())
            .answer()
    };
    {
        let s = start_with(data.clone());
        let zones = s.zones();
        for (zone, address) in [
            ("plain.test.", "192.0.2.61"),
            ("signed.test.", "192.0.2.62"),
        ] {
            assert_eq!(create_pool(&s, zone).status, 201);
            let r = s.call(
                "PATCH",
                &format!("{zones}/{zone}"),
                Some(json!({"rrsets": [rrset(&format!("www.{zone}"), "A", 60, &[address])]})),
            );
            assert_eq!(r.status, 204, "{}", r.body);
        }
        let r = s.call(
            "PUT",
            &format!("{zones}/signed.test."),
            Some(json!({"dnssec": true})),
        );
        assert_eq!(r.status, 204, "{}", r.body);
        assert!(
            signed_answer(&s.dns).iter().any(|rr| rr.1 == "RRSIG"),
            "signed before the restart"
        );
    } // dropped: dnsd killed
    let dns = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .args(["--data-dir".to_string(), data.display().to_string()])
        .start();
    let a = |name: &str| -> Vec<String> {
        dns.udp(&Query::new(name, RecordType::A))
            .answer()
            .into_iter()
            .filter(|rr| rr.1 == "A")
            .map(|rr| rr.2)
            .collect()
    };
    assert_eq!(a("www.plain.test."), vec!["192.0.2.61"], "{}", dns.stderr());
    assert_eq!(
        a("www.signed.test."),
        vec!["192.0.2.62"],
        "{}",
        dns.stderr()
    );
    let answer = signed_answer(&dns);
    assert!(
        answer.iter().any(|rr| rr.1 == "RRSIG"),
        "still signed: {answer:?}"
    );
    // The zone file is served beside them, as before.
    let soa = dns
        .udp(&Query::new("example.test.", RecordType::SOA))
        .answer();
    assert!(soa.iter().any(|rr| rr.1 == "SOA"), "{soa:?}");
}

/// `kill -9` in the middle of a burst of PATCHes: every change that got a
/// 204 is there after restart, and the zone still loads.
#[test]
fn kill_9_during_patch_burst_loses_nothing_acknowledged() {
    let data = scratch_dir("api-kill9");
    let s = start_with(data.clone());
    assert_eq!(create_pool(&s, "burst.test.").status, 201);
    let api = s.api;
    // How many PATCHes got their 204 so far: the kill waits for a burst in
    // full swing, however slowly the machine runs.
    let acked_so_far = Arc::new(AtomicUsize::new(0));
    let counter = acked_so_far.clone();
    let writer = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for i in 0..400u32 {
            let body =
                json!({"rrsets": [rrset(&format!("h{i}.burst.test."), "A", 60, &["192.0.2.1"])]})
                    .to_string();
            let Ok(mut stream) = TcpStream::connect(api) else {
                break;
            };
            let request = format!(
                "PATCH /api/v1/servers/localhost/zones/burst.test. HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: {KEY}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(request.as_bytes()).is_err() {
                break;
            }
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 204") {
                acked.push(i);
                counter.fetch_add(1, Ordering::SeqCst);
            } else {
                break;
            }
        }
        acked
    });
    assert!(
        e2e::eventually(Duration::from_secs(30), || acked_so_far
            .load(Ordering::SeqCst)
            >= 20),
        "the burst never got going"
    );
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(s.dns.pid() as libc::pid_t, libc::SIGKILL) };
    let acked = writer.join().unwrap();
    assert!(
        acked.len() >= 20,
        "the burst got going before the kill ({} acked)",
        acked.len()
    );
    drop(s);
    let s = start_with(data);
    let zone = s
        .call("GET", "/api/v1/servers/localhost/zones/burst.test.", None)
        .json();
    let present: std::collections::HashSet<String> = zone["rrsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    for i in &acked {
        assert!(
            present.contains(&format!("h{i}.burst.test.")),
            "acknowledged change h{i} lost"
        );
    }
    assert_eq!(
        s.a(&format!("h{}.burst.test.", acked[acked.len() - 1])),
        vec!["192.0.2.1"]
    );
}

#[test]
fn metrics_count_queries_and_zones() {
    let s = start();
    for _ in 0..3 {
        s.a("www.example.test.");
    }
    s.rcode("nope.example.test.", RecordType::A);
    let m = http(s.api, "GET", "/metrics", None, None);
    assert_eq!(m.status, 200);
    let value = |prefix: &str| -> f64 {
        m.body
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{prefix} missing in\n{}", m.body))
    };
    assert!(value("dnsd_queries_total{qtype=\"A\",transport=\"udp\"}") >= 4.0);
    assert!(value("dnsd_responses_total{rcode=\"NXDOMAIN\",transport=\"udp\"}") >= 1.0);
    assert_eq!(value("dnsd_zones "), 1.0);
    assert!(value("dnsd_answer_seconds_count{transport=\"udp\"}") >= 4.0);
    assert!(
        m.body
            .contains("# TYPE dnsd_signature_cache_hits_total counter"),
        "{}",
        m.body
    );
    assert!(
        m.body.contains("dnsd_lua_health_check"),
        "health checks reported: {}",
        m.body
    );
    // The health checker's state, behind the API key.
    let h = s.call("GET", "/api/v1/health-checks", None);
    assert_eq!(h.status, 200, "{}", h.body);
    assert!(h.json()["checks"].as_array().is_some(), "{}", h.body);
    assert_eq!(
        http(s.api, "GET", "/api/v1/health-checks", None, None).status,
        401
    );
}

/// UDP workers replay finished replies for repeated questions
/// (`--answer-templates`): a replayed reply carries the asker's ID and
/// spelling, and every API change is answered at once, never a kept reply.
#[test]
fn replayed_replies_follow_every_change() {
    // One worker, so every UDP query meets the same templates; TCP
    // connections share their runtime thread's.
    let s = start_with_args(scratch_dir("api-replay"), &["--workers", "1"]);
    assert_eq!(create_pool(&s, "pool.test.").status, 201);
    let patch = |rrset: Value| {
        let r = s.call(
            "PATCH",
            &format!("{}/pool.test.", s.zones()),
            Some(json!({ "rrsets": [rrset] })),
        );
        assert_eq!(r.status, 204, "{}", r.body);
    };
    let set_address = |address: &str| patch(rrset("app.pool.test.", "A", 300, &[address]));
    let replayed = |transport: &str| -> f64 {
        let m = http(s.api, "GET", "/metrics", None, None);
        let series = format!("dnsd_replayed_replies_total{{transport=\"{transport}\"}} ");
        m.body
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {transport} replay counter in\n{}", m.body))
    };
    for (transport, ask) in [
        (
            "udp",
            Box::new(|q: &Query| s.dns.udp(q)) as Box<dyn Fn(&Query) -> Reply>,
        ),
        ("tcp", Box::new(|q: &Query| s.dns.tcp(q))),
    ] {
        let addresses = |spelling: &str| -> Vec<String> {
            let query = Query::new(spelling, RecordType::A);
            let reply = ask(&query);
            assert_eq!(reply.id, query.id, "{transport}: asked as {spelling}");
            assert_eq!(
                reply.question[..reply.question.len() - 4],
                name_wire(spelling)[..],
                "{transport}: the question as asked"
            );
            reply.answer().into_iter().map(|rr| rr.2).collect()
        };
        set_address("192.0.2.10");
        let before = replayed(transport);
        for spelling in [
            "app.pool.test.",
            "ApP.pOOl.TEST.",
            "APP.POOL.TEST.",
            "aPp.PoOl.tEsT.",
        ] {
            assert_eq!(addresses(spelling), ["192.0.2.10"], "{transport}");
        }
        assert!(
            replayed(transport) >= before + 2.0,
            "{transport}: repeated questions are replayed"
        );
        set_address("192.0.2.11");
        assert_eq!(addresses("app.pool.test."), ["192.0.2.11"], "{transport}");
        assert_eq!(addresses("APP.pool.test."), ["192.0.2.11"], "{transport}");
        patch(json!({"name": "app.pool.test.", "type": "A", "changetype": "DELETE"}));
        let query = Query::new("app.pool.test.", RecordType::A);
        assert_eq!(ask(&query).rcode(), 3, "{transport}: NXDOMAIN at once");
    }
}

/// PDM's EnableDNSSEC steps (pdm-api.md §6.1): PUT dnssec → one CSK; POST
/// a ZSK → the first key reports KSK; `ds` has digest types 2 and 4 in
/// lower-case hex; the zone then validates with delv from that DS, with
/// the KSK signing the DNSKEY RRset and the ZSK everything else.
#[test]
fn dnssec_through_the_api_as_pdm_enables_it() {
    let s = start();
    let zones = s.zones();
    assert_eq!(create_pool(&s, "sec.test.").status, 201);
    let r = s.call(
        "PATCH",
        &format!("{zones}/sec.test."),
        Some(json!({"rrsets": [rrset("www.sec.test.", "A", 300, &["192.0.2.80"])]})),
    );
    assert_eq!(r.status, 204);
    let r = s.call(
        "PUT",
        &format!("{zones}/sec.test."),
        Some(json!({"dnssec": true, "soa_edit": "INCEPTION-EPOCH", "soa_edit_api": "INCEPTION-EPOCH"})),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let keys = s
        .call("GET", &format!("{zones}/sec.test./cryptokeys"), None)
        .json();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0]["keytype"].as_str(), keys[0]["active"].as_bool()),
        (Some("csk"), Some(true))
    );
    let r = s.call(
        "POST",
        &format!("{zones}/sec.test./cryptokeys"),
        Some(json!({"keytype": "zsk", "active": true, "published": true, "algorithm": "ecdsa256"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let keys = s
        .call("GET", &format!("{zones}/sec.test./cryptokeys"), None)
        .json();
    let mut types: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keytype"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, vec!["ksk", "zsk"]);
    let ksk = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keytype"] == "ksk")
        .unwrap()
        .clone();
    let ds: Vec<String> = ksk["ds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ds.len(), 2);
    assert!(
        ds[0].split(' ').nth(2) == Some("2") && ds[1].split(' ').nth(2) == Some("4"),
        "{ds:?}"
    );
    assert!(ds.iter().all(|d| {
        d.split(' ')
            .nth(3)
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    }));
    assert_eq!(
        s.call("PUT", &format!("{zones}/sec.test./rectify"), None)
            .status,
        200
    );
    let zone = s.call("GET", &format!("{zones}/sec.test."), None).json();
    assert_eq!(zone["dnssec"], true);

    // Validate from the API's DS with delv.
    let fields: Vec<&str> = ds[0].split(' ').collect();
    let out = Delv::new(s.dns.addr(), "sec.test", &fields, &s.data).ask("www.sec.test", "A");
    assert!(out.contains("; fully validated"), "{out}");

    // dnssec:false removes the keys and serves the zone unsigned.
    assert_eq!(
        s.call(
            "PUT",
            &format!("{zones}/sec.test."),
            Some(json!({"dnssec": false}))
        )
        .status,
        204
    );
    assert!(
        s.call("GET", &format!("{zones}/sec.test./cryptokeys"), None)
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.call("GET", &format!("{zones}/sec.test."), None).json()["dnssec"],
        false
    );
    // Bad key requests.
    let r = s.call(
        "POST",
        &format!("{zones}/sec.test./cryptokeys"),
        Some(json!({"keytype": "bogus"})),
    );
    assert_eq!(
        (r.status, r.error().contains("Invalid keytype")),
        (422, true),
        "{}",
        r.body
    );
    let r = s.call(
        "POST",
        &format!("{zones}/sec.test./cryptokeys"),
        Some(json!({"keytype": "ksk", "algorithm": "rsasha256"})),
    );
    assert_eq!(r.status, 422);
    let r = s.call("GET", &format!("{zones}/sec.test./cryptokeys/12345"), None);
    assert_eq!(r.status, 404);
    let r = s.call("GET", &format!("{zones}/sec.test./cryptokeys/abc"), None);
    assert_eq!(r.status, 400);
}

#[test]
fn the_zone_filter_of_the_list_finds_one_zone_by_name() {
    let s = start();
    for name in ["a.pool.test.", "b.pool.test."] {
        assert_eq!(create_pool(&s, name).status, 201);
    }
    let names = |query: &str| -> Vec<String> {
        let r = s.call("GET", &format!("{}{query}", s.zones()), None);
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        r.json()
            .as_array()
            .expect("a list")
            .iter()
            .map(|z| z["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("?zone=b.pool.test."), ["b.pool.test."]);
    // Names compare without case, as everywhere in DNS.
    assert_eq!(names("?zone=B.Pool.Test."), ["b.pool.test."]);
    // The list form: no RRsets.
    let r = s.call("GET", &format!("{}?zone=a.pool.test.", s.zones()), None);
    assert!(r.json()[0].get("rrsets").is_none(), "{}", r.body);
    assert!(names("?zone=missing.pool.test.").is_empty());
    assert!(names("?zone=a.pool.test").is_empty(), "not absolute");
    let mut all = names("");
    all.sort();
    assert_eq!(all, ["a.pool.test.", "b.pool.test.", "example.test."]);
}
