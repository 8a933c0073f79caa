//! DNSSEC on every edge (replication.md §4): a dnsd primary serves a signed
//! API zone (with a LUA record) and its API over TLS; a dnsd edge is a
//! secondary of that zone with `--key-source`, fetches the zone's keys over
//! TLS and signs online with them. delv validates the edge's answers under
//! the primary's DS; a rollover pre-publishes the new key on the edge before
//! it signs; a removed key disappears; keys rest 0600 in 0700 folders and
//! never reach a log. The test CA and certificates are made with `openssl`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::delv::Delv;
use e2e::http::{request, wait_http};
use e2e::{Query, Server, free_port, rcode, run_dnsd, scratch_dir, wait_until};
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

const ZONE: &str = "edge.test.";
const API_KEY: &str = "edge-test-primary-api-key";
const EDGE_API_KEY: &str = "edge-test-edge-api-key";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const DELAY_SECS: u64 = 3;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>-ca.pem`) and, signed by it, a server certificate for
/// 127.0.0.1 (`<name>-server.pem`, `<name>-server.key`).
fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_key = format!("{name}-ca.key");
    let ca = format!("{name}-ca.pem");
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout",
        &ca_key,
        "-out",
        &ca,
        "-days",
        "2",
        "-subj",
        "/CN=edge test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &args);
    let key = format!("{name}-server.key");
    let csr = format!("{name}-server.csr");
    let cert = format!("{name}-server.pem");
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &args);
    let ext = format!("{name}-ext.cnf");
    std::fs::write(
        dir.join(&ext),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    (dir.join(ca), dir.join(cert), dir.join(key))
}

/// The primary: API over TLS, transfers to loopback, NOTIFY to `notify`.
struct Primary {
    server: Server,
    api: SocketAddr,
    ca: PathBuf,
    dir: PathBuf,
}

impl Primary {
    fn start(dir: &Path, notify: &[u16]) -> Primary {
        let (ca, cert, key) = make_ca(dir, "good");
        let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
        let mut args = vec![
            "--api-tls-cert".to_string(),
            cert.display().to_string(),
            "--api-tls-key".into(),
            key.display().to_string(),
            "--allow-transfer".into(),
            "127.0.0.0/8".into(),
        ];
        for port in notify {
            args.push("--also-notify".into());
            args.push(format!("127.0.0.1:{port}"));
        }
        let server = Server::builder()
            .api(api, API_KEY, &dir.join("primary-data"))
            .args(args)
            .probe(".")
            .start();
        wait_http(api);
        let primary = Primary {
            server,
            api,
            ca,
            dir: dir.to_path_buf(),
        };
        let zone = "edge.test. 300 IN SOA ns1.edge.test. hostmaster.edge.test. 1 3600 10 86400 60\n\
             edge.test. 300 IN NS ns1.edge.test.\n\
             ns1.edge.test. 300 IN A 127.0.0.1\n\
             www.edge.test. 300 IN A 127.0.0.10\n\
             lua.edge.test. 300 IN LUA A \"pickrandom({'127.0.0.11','127.0.0.12'})\"\n";
        let (status, body) = primary.call(
            "POST",
            "/api/v1/servers/localhost/zones",
            Some(json!({"name": ZONE, "kind": "Native", "dnssec": true, "zone": zone})),
        );
        assert_eq!(status, 201, "{body}");
        primary
    }

    /// One API request over TLS (curl, trusting the test CA only).
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("https://127.0.0.1:{}{path}", self.api.port());
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&self.ca)
            .args(["-H", &format!("X-API-Key: {API_KEY}"), "-X", method])
            .args(["-w", "\n%{http_code}"]);
        if let Some(body) = body {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "-d",
                &body.to_string(),
            ]);
        }
        let out = cmd.arg(&url).output().expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        let status = status.trim().parse().unwrap_or_else(|_| {
            panic!(
                "curl {url}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn keys(&self) -> Vec<Value> {
        let (status, body) = self.call(
            "GET",
            &format!("/api/v1/servers/localhost/zones/{ZONE}/cryptokeys"),
            None,
        );
        assert_eq!(status, 200, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    /// `tag alg digest-type hex` of the first key's SHA-256 DS.
    fn ds(&self, id: u64) -> Vec<String> {
        let key = self
            .keys()
            .into_iter()
            .find(|k| k["id"] == id)
            .expect("key");
        let ds = key["ds"][0].as_str().expect("a DS").to_string();
        ds.split_whitespace().map(str::to_string).collect()
    }

    fn api_key_file(&self, text: &str) -> PathBuf {
        let path = self.dir.join(format!("api-key-{}", text.len()));
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The edge command line (also what README quotes).
fn edge_args(primary: &Primary, ca: &Path, api_key_file: &Path, data: &Path) -> Vec<String> {
    vec![
        "--secondary".into(),
        format!("{ZONE}={}", primary.server.addr()),
        "--key-source".into(),
        format!("https://127.0.0.1:{}", primary.api.port()),
        "--key-source-api-key-file".into(),
        api_key_file.display().to_string(),
        "--key-source-ca".into(),
        ca.display().to_string(),
        "--key-propagation-delay".into(),
        DELAY_SECS.to_string(),
        "--data-dir".into(),
        data.display().to_string(),
    ]
}

fn start_edge(port: u16, args: Vec<String>, api: Option<SocketAddr>) -> Server {
    let mut args = args;
    if let Some(api) = api {
        args.extend([
            "--api-listen".into(),
            api.to_string(),
            "--api-key".into(),
            EDGE_API_KEY.into(),
        ]);
    }
    let edge = Server::builder().port(port).args(args).probe(".").start();
    if let Some(api) = api {
        wait_http(api);
    }
    edge
}

/// dig's answer section with DO=1: each record's fields.
fn dig(server: &Server, name: &str, qtype: &str) -> Vec<Vec<String>> {
    let out = Command::new("dig")
        .arg(format!("@{}", server.addr().ip()))
        .args(["-p", &server.addr().port().to_string()])
        .args([
            "+dnssec", "+noall", "+answer", "+nosplit", "+time=2", "+tries=1",
        ])
        .args([name, qtype])
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Key tags of the RRSIGs over `qtype` at `name`.
fn rrsig_tags(server: &Server, name: &str, qtype: &str) -> Vec<u64> {
    let mut tags: Vec<u64> = dig(server, name, qtype)
        .iter()
        .filter(|f| f.len() > 10 && f[3] == "RRSIG" && f[4] == qtype)
        .map(|f| f[10].parse().unwrap())
        .collect();
    tags.sort();
    tags
}

/// The apex DNSKEY RDATA texts (`flags 3 alg base64`) `server` publishes.
fn dnskeys(server: &Server) -> Vec<String> {
    let mut keys: Vec<String> = dig(server, ZONE, "DNSKEY")
        .iter()
        .filter(|f| f.len() >= 8 && f[3] == "DNSKEY")
        .map(|f| f[4..].join(" "))
        .collect();
    keys.sort();
    keys
}

fn dnskey_of(key: &Value) -> String {
    key["dnskey"].as_str().unwrap().to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_edge_signs_with_the_primarys_keys_and_follows_a_rollover() {
    let dir = scratch_dir("edge-dnssec");
    let edge_port = free_port(LOCALHOST);
    let primary = Primary::start(&dir, &[edge_port]);
    let keys = primary.keys();
    assert_eq!(keys.len(), 1, "one CSK: {keys:?}");
    let old_id = keys[0]["id"].as_u64().unwrap();
    // privatekey over TLS, to the API key holder (PowerDNS's single-key GET).
    let (status, single) = primary.call(
        "GET",
        &format!("/api/v1/servers/localhost/zones/{ZONE}/cryptokeys/{old_id}"),
        None,
    );
    assert_eq!(status, 200);
    let private = single["privatekey"]
        .as_str()
        .expect("privatekey over TLS")
        .to_string();
    assert!(
        private.starts_with("Private-key-format: v1.2\n"),
        "{private}"
    );
    let secret = private
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey: "))
        .unwrap()
        .to_string();
    assert!(keys[0].get("privatekey").is_none(), "never in the list");

    let edge_data = dir.join("edge-data");
    let edge_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let key_file = primary.api_key_file(API_KEY);
    let mut args = edge_args(&primary, &primary.ca, &key_file, &edge_data);
    // Third-party secondaries of the edge get the zone conventionally signed.
    args.extend(["--allow-transfer-signed".into(), "127.0.0.0/8".into()]);
    let edge = start_edge(edge_port, args, Some(edge_api));
    wait_until(
        Duration::from_secs(15),
        "the edge serves the zone signed",
        || rrsig_tags(&edge, ZONE, "SOA") == vec![old_id],
    );
    // Same key tags as the primary, for static and LUA answers and DNSKEY.
    assert_eq!(rrsig_tags(&edge, &format!("www.{ZONE}"), "A"), vec![old_id]);
    assert_eq!(rrsig_tags(&edge, &format!("lua.{ZONE}"), "A"), vec![old_id]);
    assert_eq!(rrsig_tags(&edge, ZONE, "DNSKEY"), vec![old_id]);
    assert_eq!(dnskeys(&edge), dnskeys(&primary.server));
    // The edge's API shows the zone signed, with the primary's key.
    let detail = request(
        edge_api,
        "GET",
        &format!("/api/v1/servers/localhost/zones/{ZONE}"),
        &[("X-API-Key", EDGE_API_KEY)],
        None,
    );
    assert_eq!(detail.json()["dnssec"], json!(true), "{}", detail.body);

    // delv validates the edge's answers under the primary's DS.
    let delv = Delv::new(edge.addr(), "edge.test", &primary.ds(old_id), &dir);
    for (name, qtype) in [
        ("www.edge.test", "A"),
        ("lua.edge.test", "A"),
        ("nope.edge.test", "A"),
        ("www.edge.test", "MX"),
    ] {
        let out = delv.ask(name, qtype);
        assert!(out.contains("fully validated"), "{name} {qtype}: {out}");
    }
    let lua = Query::new("lua.edge.test.", RecordType::A);
    assert_eq!(edge.udp(&lua).rcode(), rcode::NOERROR);

    // A signed transfer from the edge carries RRSIGs by the zone's key.
    let axfr = dig(&edge, ZONE, "AXFR");
    assert!(
        axfr.iter().any(|f| f.len() > 10
            && f[3] == "RRSIG"
            && f[4] == "NSEC"
            && f[10] == old_id.to_string()),
        "signed AXFR from the edge: {axfr:?}"
    );

    // Keys at rest on the edge: 0600 files in 0700 folders.
    let key_dir = edge_data.join("keys").join("edge.test");
    assert_eq!(mode(&edge_data.join("keys")), 0o700);
    assert_eq!(mode(&key_dir), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&key_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    // Rollover: a new active key on the primary is published on the edge at
    // once, and signs only after the propagation delay.
    let (status, body) = primary.call(
        "POST",
        &format!("/api/v1/servers/localhost/zones/{ZONE}/cryptokeys"),
        Some(json!({"keytype": "csk", "active": true})),
    );
    assert_eq!(status, 201, "{body}");
    let new_id = body["id"].as_u64().unwrap();
    let new_dnskey = dnskey_of(&body);
    wait_until(
        Duration::from_secs(10),
        "the new DNSKEY on the edge",
        || dnskeys(&edge).contains(&new_dnskey),
    );
    let published_at = Instant::now();
    assert_eq!(
        rrsig_tags(&edge, &format!("www.{ZONE}"), "A"),
        vec![old_id],
        "the new key does not sign before the delay"
    );
    let mut both = vec![old_id, new_id];
    both.sort();
    wait_until(
        Duration::from_secs(15),
        "the new key signs after the delay",
        || rrsig_tags(&edge, &format!("www.{ZONE}"), "A") == both,
    );
    let waited = published_at.elapsed();
    assert!(
        waited >= Duration::from_secs(DELAY_SECS - 1),
        "signed after only {waited:?}"
    );
    assert_eq!(rrsig_tags(&edge, &format!("lua.{ZONE}"), "A"), both);

    // The old key removed on the primary: gone from the edge's DNSKEY RRset
    // and RRSIGs with the next copy.
    let old_dnskey = dnskey_of(
        &primary
            .keys()
            .into_iter()
            .find(|k| k["id"] == old_id)
            .unwrap(),
    );
    let (status, _) = primary.call(
        "DELETE",
        &format!("/api/v1/servers/localhost/zones/{ZONE}/cryptokeys/{old_id}"),
        None,
    );
    assert_eq!(status, 204);
    wait_until(
        Duration::from_secs(10),
        "the old key leaves the edge",
        || {
            !dnskeys(&edge).contains(&old_dnskey)
                && rrsig_tags(&edge, &format!("www.{ZONE}"), "A") == vec![new_id]
        },
    );
    assert_eq!(rrsig_tags(&edge, ZONE, "DNSKEY"), vec![new_id]);
    // Validates under the new key's DS.
    let delv_dir = dir.join("delv-new-key");
    std::fs::create_dir_all(&delv_dir).unwrap();
    let delv = Delv::new(edge.addr(), "edge.test", &primary.ds(new_id), &delv_dir);
    let out = delv.ask("lua.edge.test", "A");
    assert!(out.contains("; fully validated"), "{out}");
    let files = std::fs::read_dir(&key_dir).unwrap().count();
    assert_eq!(files, 2, "the old key's files are deleted on the edge");

    // No private key text in either server's log.
    for (who, log) in [
        ("primary", primary.server.stderr()),
        ("edge", edge.stderr()),
    ] {
        assert!(!log.contains(&secret), "{who} logged a private key");
        assert!(!log.contains("PrivateKey"), "{who} logged key text");
        assert!(!log.contains(API_KEY), "{who} logged the API key");
    }
}

#[test]
fn an_edge_that_cannot_fetch_keys_does_not_serve_the_signed_zone() {
    let dir = scratch_dir("edge-dnssec-fail");
    let primary = Primary::start(&dir, &[]);
    let (wrong_ca, _, _) = make_ca(&dir, "wrong");
    let good_key = primary.api_key_file(API_KEY);
    let bad_key = primary.api_key_file("not-the-primary-api-key-at-all");
    for (what, ca, key_file, expect_in_log) in [
        ("wrong CA", &wrong_ca, &good_key, "TLS with the key source"),
        (
            "wrong API key",
            &primary.ca,
            &bad_key,
            "refused the API key (401)",
        ),
    ] {
        let edge_api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
        let data = dir.join(format!("edge-{}", what.replace(' ', "-")));
        let edge = start_edge(
            free_port(LOCALHOST),
            edge_args(&primary, ca, key_file, &data),
            Some(edge_api),
        );
        wait_until(
            Duration::from_secs(10),
            "the key sync failure in the log",
            || edge.stderr().contains(expect_in_log),
        );
        let soa = edge.udp(&Query::new(ZONE, RecordType::SOA));
        assert_eq!(
            soa.rcode(),
            rcode::REFUSED,
            "{what}: not served: {}",
            soa.summary()
        );
        let metrics = request(edge_api, "GET", "/metrics", &[], None).body;
        assert!(
            metrics.contains("dnsd_key_sync_failures_total{zone=\"edge.test.\"}"),
            "{what}: {metrics}"
        );
        assert!(
            !edge.stderr().contains("not-the-primary"),
            "{what}: API key logged"
        );
    }
}

#[test]
fn key_source_settings_are_checked_at_start() {
    let dir = scratch_dir("edge-dnssec-config");
    let key_file = dir.join("api-key");
    std::fs::write(&key_file, API_KEY).unwrap();
    let (ca, _, _) = make_ca(&dir, "cfg");
    let listen = format!("127.0.0.1:{}", free_port(LOCALHOST));
    let base = |url: &str| {
        vec![
            "--listen".to_string(),
            listen.clone(),
            "--secondary".into(),
            format!("{ZONE}=127.0.0.1:53"),
            "--data-dir".into(),
            dir.join("data").display().to_string(),
            "--key-source".into(),
            url.into(),
            "--key-source-api-key-file".into(),
            key_file.display().to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_dnsd(&args, Duration::from_secs(10));
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let mut plain = base("http://127.0.0.1:8081");
    plain.extend(["--key-source-ca".into(), ca.display().to_string()]);
    assert!(run(plain).contains("https://"), "plain http refused");
    let no_ca = base("https://127.0.0.1:8081");
    assert!(run(no_ca).contains("--key-source-ca"), "a CA is required");
    let mut missing = base("https://127.0.0.1:8081");
    missing.extend([
        "--key-source-ca".into(),
        dir.join("nope.pem").display().to_string(),
    ]);
    let err = run(missing);
    assert!(
        err.contains("key-source-ca") && err.contains("nope.pem"),
        "{err}"
    );
}
