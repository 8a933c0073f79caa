//! LUA records end to end (issue 6 item 6), written from `shared/spec/lua-records.md`
//! and `conformance.md` §9, not from dnsd's code.
//!
//! - Stateless functions, hashing, geo, the query path and ECS run against one shared
//!   server serving `lua.zone` as `example.org` with a fixture MMDB written here (§17).
//! - Health checks run against a server per test serving `lua-health.zone` as
//!   `health.test`, with the port 18080 rewritten to a free one, and real TCP and HTTP
//!   listeners on 127.0.4x.y brought up and down (`--lua-health-interval 1`).
//!
//! The client is always 127.0.0.1, so `who` is 127.0.0.1; other client addresses are
//! sent as ECS, which dnsd processes by default (§4).

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use e2e::{
    Query, RecordType, Reply, Server, assert_exit, check_zone, free_port, rcode, scratch_dir, zone,
};
use ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;

//----------- fixture GeoIP database (§17) ------------------------------------------------------

#[derive(Serialize, Default)]
struct GeoRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<Iso>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continent: Option<Code>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subdivisions: Vec<Iso>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Loc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autonomous_system_number: Option<u32>,
}

#[derive(Serialize)]
struct Iso {
    iso_code: String,
}

#[derive(Serialize)]
struct Code {
    code: String,
}

#[derive(Serialize)]
struct Loc {
    latitude: f64,
    longitude: f64,
    accuracy_radius: u16,
}

fn located(lat: f64, lon: f64) -> GeoRecord {
    GeoRecord {
        location: Some(Loc {
            latitude: lat,
            longitude: lon,
            accuracy_radius: 100,
        }),
        ..GeoRecord::default()
    }
}

/// The spec §17 data (PowerDNS's geoip regression fixture), two European networks
/// (one IPv6), plus two loopback health-check targets placed near 1.1.1.0/24 and 1.2.3.0/24 for the `pickclosest`
/// selector. 17.1.0.0/16 is deliberately absent.
fn geo_db_bytes() -> Vec<u8> {
    let net = |s: &str| -> IpNet { s.parse().expect("network") };
    let mut w = Writer::new("GeoIP2-City");
    let mut au = located(1.0, 1.0);
    au.country = Some(Iso {
        iso_code: "AU".into(),
    });
    au.continent = Some(Code { code: "OC".into() });
    au.autonomous_system_number = Some(4242);
    w.insert(net("1.1.1.0/24"), &au).expect("insert");
    let mut us = located(47.913, -122.3042);
    us.country = Some(Iso {
        iso_code: "US".into(),
    });
    us.continent = Some(Code { code: "NA".into() });
    us.subdivisions = vec![Iso {
        iso_code: "CA".into(),
    }];
    us.autonomous_system_number = Some(3320);
    w.insert(net("1.2.3.0/24"), &us).expect("insert");
    w.insert(net("192.0.2.0/24"), &located(0.0, -179.0))
        .expect("insert");
    w.insert(net("198.51.100.0/24"), &located(0.0, 179.0))
        .expect("insert");
    w.insert(net("203.0.113.0/24"), &located(0.0, -160.0))
        .expect("insert");
    // Europe, absent from PowerDNS's fixture, for the `continent('EU')` examples of
    // PowerDNS's LUA-records documentation (lua_docs) and an IPv6 subnet with geo data
    // for the differential test (lua_pdns).
    for (network, cc, lat, lon, asn) in [
        ("5.5.5.0/24", "NL", 52.37, 4.89, 1136),
        ("2001:db8:e0::/48", "DE", 52.52, 13.4, 3320),
    ] {
        let mut eu = located(lat, lon);
        eu.country = Some(Iso {
            iso_code: cc.into(),
        });
        eu.continent = Some(Code { code: "EU".into() });
        eu.autonomous_system_number = Some(asn);
        w.insert(net(network), &eu).expect("insert");
    }
    w.insert(net("127.0.43.1/32"), &located(1.0, 1.0))
        .expect("insert");
    w.insert(net("127.0.43.2/32"), &located(47.9, -122.3))
        .expect("insert");
    w.to_bytes().expect("mmdb bytes")
}

/// The fixture MMDB, written once per test process.
pub(crate) fn geo_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let path = scratch_dir("geoip").join("fixture-city.mmdb");
        fs::write(&path, geo_db_bytes()).expect("write mmdb");
        path
    })
}

//----------- servers ---------------------------------------------------------------------------

pub(crate) fn geo_args() -> Vec<String> {
    vec!["--geoip".into(), geo_db().display().to_string()]
}

/// The shared server for read-only tests: `lua.zone` as example.org, fixture GeoIP,
/// default ECS processing (on).
fn lua() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        Server::builder()
            .zone("example.org", zone("lua.zone"))
            .zone("lua-errors.test", zone("lua-errors.zone"))
            .zone("lua-bool.test", zone("lua-bool.zone"))
            .zone("lua-geo.test", zone("lua-geo.zone"))
            .args(geo_args())
            .start()
    })
}

/// A health-check server: `lua-health.zone` with port 18080 replaced by `port`.
fn health_server(port: u16, extra: &[&str]) -> Server {
    let text = fs::read_to_string(zone("lua-health.zone")).expect("read lua-health.zone");
    let dir = scratch_dir("lua-health");
    let file = dir.join("health.test.zone");
    fs::write(&file, text.replace("18080", &port.to_string())).expect("write zone");
    let mut args = geo_args();
    args.extend(["--lua-health-interval".to_string(), "1".to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::builder()
        .zone("health.test", file)
        .args(args)
        .start()
}

/// A health-check server with its API on, for tests that wait on the
/// checker's own state (`GET /api/v1/health-checks`) rather than on time.
fn health_server_with_api(port: u16) -> (Server, SocketAddr) {
    let api = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        free_port(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    );
    let data = scratch_dir("lua-health-api").display().to_string();
    let args = [
        "--api-listen",
        &api.to_string(),
        "--api-key",
        HEALTH_API_KEY,
        "--data-dir",
        &data,
    ];
    let s = health_server(port, &args);
    e2e::http::wait_http(api);
    (s, api)
}

const HEALTH_API_KEY: &str = "health-test-key";

/// How many checks each registered health check has completed so far.
fn completed_checks(api: SocketAddr) -> Vec<u64> {
    let r = e2e::http::request(
        api,
        "GET",
        "/api/v1/health-checks",
        &[("X-API-Key", HEALTH_API_KEY)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["checks"].as_u64().expect("completed checks"))
        .collect()
}

/// Waits until every registered check has completed at least `rounds` checks.
fn wait_for_rounds(s: &Server, api: SocketAddr, rounds: u64) {
    let mut last = Vec::new();
    let done = e2e::eventually(Duration::from_secs(20), || {
        last = completed_checks(api);
        !last.is_empty() && last.iter().all(|&n| n >= rounds)
    });
    assert!(
        done,
        "checks never completed {rounds} rounds: {last:?}\n{}",
        s.context()
    );
}

/// A port free on every loopback address a health test binds (see the zone comment).
pub(crate) fn health_port() -> u16 {
    port_free_on(&[
        "127.0.41.1",
        "127.0.43.1",
        "127.0.44.1",
        "127.0.45.1",
        "127.0.46.1",
    ])
}

/// A port free for TCP on every one of `ips` (loopback addresses tests listen on).
pub(crate) fn port_free_on(ips: &[&str]) -> u16 {
    loop {
        let port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let ok = ips
            .iter()
            .all(|ip| TcpListener::bind((ip.parse::<Ipv4Addr>().unwrap(), port)).is_ok());
        if ok {
            return port;
        }
    }
}

//----------- queries and ECS -------------------------------------------------------------------

/// ECS option data (RFC 7871 §6) for `addr/source`, address masked and cut to
/// ceil(source/8) octets, SCOPE 0.
pub(crate) fn ecs(addr: &str, source: u8) -> Vec<u8> {
    let ip: IpAddr = addr.parse().expect("ECS address");
    let (family, mut bytes): (u16, Vec<u8>) = match ip {
        IpAddr::V4(a) => (1, a.octets().to_vec()),
        IpAddr::V6(a) => (2, a.octets().to_vec()),
    };
    let keep = usize::from(source).div_ceil(8);
    bytes.truncate(keep);
    if let (true, Some(last)) = (!source.is_multiple_of(8), bytes.last_mut()) {
        *last &= 0xFFu8 << (8 - source % 8);
    }
    ecs_raw(family, source, 0, &bytes)
}

/// ECS option data with every field given, for malformed options.
fn ecs_raw(family: u16, source: u8, scope: u8, addr: &[u8]) -> Vec<u8> {
    let mut v = family.to_be_bytes().to_vec();
    v.push(source);
    v.push(scope);
    v.extend_from_slice(addr);
    v
}

pub(crate) fn q_ecs(name: &str, t: RecordType, ecs_data: Vec<u8>) -> Query {
    Query::new(name, t).edns_with(|o| o.options.push((8, ecs_data)))
}

/// The reply's ECS option data, if any.
pub(crate) fn reply_ecs(r: &Reply) -> Option<Vec<u8>> {
    r.opt
        .as_ref()?
        .options
        .iter()
        .find(|(c, _)| *c == 8)
        .map(|(_, d)| d.clone())
}

/// RDATA text of the answer records of type `t`, sorted (see `e2e::rdata_text`).
pub(crate) fn data(r: &Reply, t: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .answer()
        .into_iter()
        .filter(|(_, ty, _)| ty == t)
        .map(|(_, _, d)| d)
        .collect();
    v.sort();
    v
}

pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[track_caller]
pub(crate) fn expect_answer(r: &Reply, t: &str, want: &[&str]) {
    assert_eq!(r.rcode(), rcode::NOERROR, "RCODE\n{}", r.summary());
    let mut want: Vec<String> = want.iter().map(|s| s.to_ascii_lowercase()).collect();
    want.sort();
    assert_eq!(data(r, t), want, "{t} answer\n{}", r.summary());
}

#[track_caller]
pub(crate) fn expect_nodata(r: &Reply) {
    assert_eq!(r.rcode(), rcode::NOERROR, "RCODE\n{}", r.summary());
    assert!(r.msg.answers.is_empty(), "empty answer\n{}", r.summary());
    assert!(
        r.authority().iter().any(|(_, t, _)| t == "SOA"),
        "SOA in authority\n{}",
        r.summary()
    );
}

#[track_caller]
pub(crate) fn expect_servfail(r: &Reply) {
    assert_eq!(r.rcode(), rcode::SERVFAIL, "RCODE\n{}", r.summary());
    assert!(r.msg.answers.is_empty(), "empty answer\n{}", r.summary());
}

pub(crate) fn ask(s: &Server, name: &str, t: RecordType) -> Reply {
    s.udp(&Query::new(name, t))
}

pub(crate) fn ask_ecs(s: &Server, name: &str, t: RecordType, addr: &str, source: u8) -> Reply {
    s.udp(&q_ecs(name, t, ecs(addr, source)))
}

/// The A answer as a set (empty on any other outcome).
pub(crate) fn a_set(s: &Server, name: &str) -> BTreeSet<String> {
    let r = ask(s, name, RecordType::A);
    if r.rcode() != rcode::NOERROR {
        return BTreeSet::new();
    }
    data(&r, "A").into_iter().collect()
}

/// Polls `name` until its A set equals `want`; returns how long that took.
#[track_caller]
pub(crate) fn wait_for_set(s: &Server, name: &str, want: &[&str], within: Duration) -> Duration {
    let want = set(want);
    let start = Instant::now();
    let mut last = BTreeSet::new();
    while start.elapsed() < within {
        last = a_set(s, name);
        if last == want {
            return start.elapsed();
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{name}: A set never became {want:?} within {within:?}; last {last:?}\n{}",
        s.context()
    );
}

//----------- listeners -------------------------------------------------------------------------

/// How a [`Target`] answers.
#[derive(Clone)]
struct HttpReply {
    status: u16,
    body: String,
}

/// A TCP (or tiny HTTP/1.1) listener that can be stopped and started again.
pub(crate) struct Target {
    addr: SocketAddr,
    http: Option<Arc<Mutex<HttpReply>>>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    pub(crate) fn tcp(ip: &str, port: u16) -> Target {
        let mut t = Target::new(ip, port, None);
        t.start();
        t
    }

    pub(crate) fn http(ip: &str, port: u16, status: u16, body: &str) -> Target {
        let reply = HttpReply {
            status,
            body: body.into(),
        };
        let mut t = Target::new(ip, port, Some(Arc::new(Mutex::new(reply))));
        t.start();
        t
    }

    fn new(ip: &str, port: u16, http: Option<Arc<Mutex<HttpReply>>>) -> Target {
        Target {
            addr: SocketAddr::new(ip.parse().expect("ip"), port),
            http,
            requests: Arc::default(),
            stop: Arc::default(),
            thread: None,
        }
    }

    pub(crate) fn set_body(&self, body: &str) {
        self.http
            .as_ref()
            .expect("HTTP target")
            .lock()
            .unwrap()
            .body = body.into();
    }

    pub(crate) fn set_status(&self, status: u16) {
        self.http
            .as_ref()
            .expect("HTTP target")
            .lock()
            .unwrap()
            .status = status;
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub(crate) fn start(&mut self) {
        assert!(self.thread.is_none(), "{} already started", self.addr);
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() > deadline => panic!("bind {}: {e}", self.addr),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        };
        listener.set_nonblocking(true).expect("nonblocking");
        self.stop = Arc::new(AtomicBool::new(false));
        let stop = self.stop.clone();
        let http = self.http.clone();
        let requests = self.requests.clone();
        self.thread = Some(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        if let Some(reply) = &http {
                            serve_http(conn, reply, &requests);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// Close the listener: connections are refused from now on.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("listener thread");
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_http(mut conn: TcpStream, reply: &Mutex<HttpReply>, requests: &Mutex<Vec<String>>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    requests.lock().unwrap().push(head);
    // `/missing` and `/404` (the PowerDNS docs' ifurlextup example) are always 404.
    let HttpReply { status, body } = if path.ends_with("/missing") || path.ends_with("/404") {
        HttpReply {
            status: 404,
            body: "not found".into(),
        }
    } else {
        reply.lock().unwrap().clone()
    };
    let resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(resp.as_bytes());
    let _ = conn.flush();
}

/// Failover bound: interval 1 s + default timeout 2 s + 1.5 s margin (§6.3, §6.5).
pub(crate) const SWITCH: Duration = Duration::from_millis(4500);

//=========== §10 hashing: exact known pairs ====================================================

/// §10.2: `pickhashed` over 3 entries: index = burtle(bestwho) % 3, bestwho the ECS
/// address masked to its source prefix, or the socket address without ECS.
#[test]
fn s10_2_pickhashed_known_pairs() {
    let s = lua();
    let cases: &[(&str, u8, &str)] = &[
        ("1.2.3.4", 24, "192.0.2.3"),      // 1.2.3.0: 4209512405 % 3 = 2
        ("1.2.3.4", 32, "192.0.2.1"),      // 2352299484 % 3 = 0
        ("0.0.0.0", 0, "192.0.2.2"),       // 2305145833 % 3 = 1
        ("192.0.2.1", 32, "192.0.2.1"),    // 3312216360 % 3 = 0
        ("2001:db8::1", 128, "192.0.2.3"), // 104545022 % 3 = 2
        ("::", 0, "192.0.2.2"),            // 1030211419 % 3 = 1
    ];
    for &(addr, source, want) in cases {
        let r = ask_ecs(s, "hashed.example.org.", RecordType::A, addr, source);
        expect_answer(&r, "A", &[want]);
    }
    // No ECS: who = 127.0.0.1, 4196678856 % 3 = 0.
    expect_answer(
        &ask(s, "hashed.example.org.", RecordType::A),
        "A",
        &["192.0.2.1"],
    );
    // Stable over repeats.
    for _ in 0..5 {
        let r = ask_ecs(s, "hashed.example.org.", RecordType::A, "1.2.3.77", 24);
        expect_answer(&r, "A", &["192.0.2.3"]);
    }
}

/// §10.2 for AAAA and TXT productions: the index depends only on the client.
#[test]
fn s10_2_pickhashed_aaaa_and_txt() {
    let s = lua();
    let r = ask_ecs(s, "hashed-v6.example.org.", RecordType::AAAA, "1.2.3.4", 24);
    expect_answer(&r, "AAAA", &["2001:db8::c"]);
    let r = ask(s, "hashed-v6.example.org.", RecordType::AAAA);
    expect_answer(&r, "AAAA", &["2001:db8::a"]);
    let r = ask_ecs(s, "hashed-txt.example.org.", RecordType::TXT, "0.0.0.0", 0);
    expect_answer(&r, "TXT", &["\"alice\""]);
    let r = ask_ecs(s, "hashed-txt.example.org.", RecordType::TXT, "1.2.3.4", 24);
    expect_answer(&r, "TXT", &["\"carol\""]);
}

/// §10.3: `pickwhashed({{15,a},{50,b}})` iterates as [(50,b),(15,a)], cumulative
/// [50,65]; r = burtle(bestwho) % 65. Pairs where list order would give the other
/// answer are included.
#[test]
fn s10_3_pickwhashed_bucket_order_quirk() {
    let s = lua();
    let cases: &[(&str, u8, &str)] = &[
        ("1.2.3.4", 24, "192.0.2.2"),      // r = 20
        ("1.2.3.4", 32, "192.0.2.1"),      // r = 54 (list order: .2)
        ("192.0.2.1", 32, "192.0.2.1"),    // r = 50 (list order: .2)
        ("0.0.0.0", 0, "192.0.2.2"),       // r = 3  (list order: .1)
        ("192.0.2.10", 32, "192.0.2.2"),   // r = 31 (list order: .2)
        ("2001:db8::1", 128, "192.0.2.1"), // r = 62
    ];
    for &(addr, source, want) in cases {
        let r = ask_ecs(s, "whashed.example.org.", RecordType::A, addr, source);
        expect_answer(&r, "A", &[want]);
    }
    // No ECS: 127.0.0.1, r = 6 (list order would give 192.0.2.1).
    expect_answer(
        &ask(s, "whashed.example.org.", RecordType::A),
        "A",
        &["192.0.2.2"],
    );
}

/// §10.3: `picknamehashed` hashes the query name (burtleCI over its wire form).
#[test]
fn s10_3_picknamehashed_known_pairs() {
    let s = lua();
    for name in [
        "test.namehashed.example.org.",
        "TeSt.NameHashed.EXAMPLE.org.",
    ] {
        expect_answer(&ask(s, name, RecordType::A), "A", &["1.2.3.4"]);
    }
    expect_answer(
        &ask(s, "test2.namehashed.example.org.", RecordType::A),
        "A",
        &["4.3.2.1"],
    );
    // The client does not matter.
    let r = ask_ecs(
        s,
        "test.namehashed.example.org.",
        RecordType::A,
        "1.2.3.4",
        24,
    );
    expect_answer(&r, "A", &["1.2.3.4"]);
}

/// §10.4: `pickchashed({{1,'192.0.2.1'},{1,'198.51.100.1'}})`, points 918744709 and
/// 726906330.
#[test]
fn s10_4_pickchashed_known_pairs() {
    let s = lua();
    let cases: &[(&str, u8, &str)] = &[
        ("192.0.2.3", 32, "192.0.2.1"),     // q = 736797732
        ("192.0.2.10", 32, "198.51.100.1"), // q = 346275441
        ("1.2.3.4", 32, "198.51.100.1"),    // q = 2352299484, wraps
        ("0.0.0.0", 0, "198.51.100.1"),     // q = 2305145833, wraps
    ];
    for &(addr, source, want) in cases {
        let r = ask_ecs(s, "chashed.example.org.", RecordType::A, addr, source);
        expect_answer(&r, "A", &[want]);
    }
    // No ECS: 127.0.0.1, q = 4196678856, wraps.
    expect_answer(
        &ask(s, "chashed.example.org.", RecordType::A),
        "A",
        &["198.51.100.1"],
    );
}

//=========== §8 stateless functions ============================================================

#[test]
fn s8_all_and_random_functions() {
    let s = lua();
    expect_answer(
        &ask(s, "all.example.org.", RecordType::A),
        "A",
        &["1.2.3.4", "4.3.2.1"],
    );
    let mut seen = BTreeSet::new();
    for _ in 0..40 {
        let r = ask(s, "rand.example.org.", RecordType::A);
        let d = data(&r, "A");
        assert_eq!(d.len(), 1, "one address\n{}", r.summary());
        seen.insert(d[0].clone());
    }
    assert_eq!(
        seen,
        set(&["192.0.2.101", "192.0.2.102"]),
        "pickrandom covers both"
    );
    for _ in 0..10 {
        let r = ask(s, "rand-txt.example.org.", RecordType::TXT);
        let d = data(&r, "TXT");
        assert!(
            d.len() == 1 && ["\"bob\"", "\"alice\""].contains(&d[0].as_str()),
            "{d:?}"
        );
        let r = ask(s, "randn-txt.example.org.", RecordType::TXT);
        let d = data(&r, "TXT");
        assert_eq!(d.len(), 2, "pickrandomsample(2, …)\n{}", r.summary());
        assert!(
            d.iter()
                .all(|x| ["\"bob\"", "\"alice\"", "\"john\""].contains(&x.as_str()))
        );
        let r = ask(s, "wrand.example.org.", RecordType::A);
        let d = data(&r, "A");
        assert!(
            d.len() == 1 && ["192.0.2.102", "192.0.2.103"].contains(&d[0].as_str()),
            "{d:?}"
        );
        let r = ask(s, "v6.rand.example.org.", RecordType::AAAA);
        let d = data(&r, "AAAA");
        assert!(
            d.len() == 1
                && ["2001:db8:a0b:12f0::1", "fe80::2a1:9bff:fe9b:f268"].contains(&d[0].as_str()),
            "{d:?}"
        );
    }
}

/// §1.1: chunks are joined without whitespace by default (lone-space tokens dropped).
#[test]
fn s1_1_chunk_joining_default_no_whitespace() {
    let s = lua();
    expect_answer(
        &ask(s, "joined.example.org.", RecordType::A),
        "A",
        &["192.0.2.1", "192.0.2.2"],
    );
    expect_answer(
        &ask(s, "whitespace.example.org.", RecordType::TXT),
        "TXT",
        &["\"foobar\""],
    );
}

/// §1.1 `--lua-records-insert-whitespace on` (PowerDNS ≤ 4.9): every string
/// is followed by a space before the code is run.
#[test]
fn s1_1_chunk_joining_insert_whitespace() {
    let s = Server::builder()
        .zone("example.org", zone("lua.zone"))
        .args(geo_args())
        .args(["--lua-records-insert-whitespace", "on"])
        .start();
    expect_answer(
        &ask(&s, "whitespace.example.org.", RecordType::TXT),
        "TXT",
        &["\"foo   bar\""],
    );
    expect_answer(
        &ask(&s, "joined.example.org.", RecordType::A),
        "A",
        &["192.0.2.1", "192.0.2.2"],
    );
}

/// §8 `view`: first matching rule; no match or a malformed rule is SERVFAIL.
#[test]
fn s8_view() {
    let s = lua();
    expect_answer(
        &ask(s, "view.example.org.", RecordType::A),
        "A",
        &["127.0.0.54"],
    );
    let r = ask_ecs(s, "view.example.org.", RecordType::A, "192.168.5.0", 24);
    expect_answer(&r, "A", &["192.168.1.54"]);
    let r = ask_ecs(s, "view.example.org.", RecordType::A, "1.2.3.0", 24);
    expect_answer(&r, "A", &["192.0.2.1"]);
    expect_answer(
        &ask(s, "txt.view.example.org.", RecordType::TXT),
        "TXT",
        &["\"else\""],
    );
    let r = ask_ecs(
        s,
        "txt.view.example.org.",
        RecordType::TXT,
        "192.168.0.0",
        16,
    );
    expect_answer(&r, "TXT", &["\"txt\""]);
    expect_servfail(&ask(s, "none.view.example.org.", RecordType::A));
    expect_servfail(&ask(s, "bogus.view.lua-errors.test.", RecordType::A));
}

/// §2/§3/§11: a record whose expression is a boolean (`netmask`, `country`,
/// `continent`, `asnum`; usable in PowerDNS only inside `;` scripts) is inside the
/// grammar but returns no record data: an evaluation error, so the zone loads and the
/// name answers SERVFAIL, whatever the client (PowerDNS 4.7.3 does the same:
/// `netmask({'127.0.0.0/8'})` and `asnum('4242')` as TXT give SERVFAIL).
#[test]
fn s11_boolean_expressions_servfail() {
    let s = lua();
    for label in [
        "true.netmask",
        "false.netmask",
        "asnum.geo",
        "country.geo",
        "country-list.geo",
        "continent.geo",
    ] {
        let name = format!("{label}.lua-bool.test.");
        expect_servfail(&ask(s, &name, RecordType::TXT));
        for (addr, source) in [("1.1.1.0", 24), ("1.2.3.0", 24), ("17.1.0.0", 16)] {
            expect_servfail(&ask_ecs(s, &name, RecordType::TXT, addr, source));
        }
    }
    expect_answer(
        &ask(s, "static.lua-bool.test.", RecordType::A),
        "A",
        &["192.0.2.80"],
    );
}

/// §8 createForward/createForward6/createReverse/createReverse6, cases from PowerDNS's
/// `testCreateForwardAndReverse` and `…WithZero`.
#[test]
fn s8_create_forward_and_reverse() {
    let s = lua();
    let forward: &[(&str, &str)] = &[
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4.static", "1.2.3.4"),
        ("1.2.3.4.5.6", "1.2.3.4"),
        ("invalid.1.2.3.4", "0.0.0.0"),
        ("invalid", "0.0.0.0"),
        ("1-2-3-4", "1.2.3.4"),
        ("1-2-3-4.foo", "1.2.3.4"),
        ("1-2-3-4.foo.bar", "1.2.3.4"),
        ("1-2-3-4aa.foo.bar", "0.0.0.0"),
        ("1-2-3-4.foo.bar.baz", "0.0.0.0"),
        ("ip-1-2-3-4", "1.2.3.4"),
        ("ip-is-here-for-you-1-2-3-4", "1.2.3.4"),
        ("40414243", "64.65.66.67"),
        ("p40414243", "64.65.66.67"),
        ("ip40414243", "64.65.66.67"),
        ("ipp40414243", "64.65.66.67"),
        ("ip4041424", "0.0.0.0"),
        ("ip-441424", "0.0.0.0"),
        ("ip-5abcdef", "0.0.0.0"),
        ("some-text-with-more-than-five-dashes", "0.0.0.0"),
        ("host64-22-33-44", "64.22.33.44"),
        ("2.2.2.2", "0.0.0.0"), // filtered out by the NMG
    ];
    let mut wrong = Vec::new();
    for (prefix, want) in forward {
        let name = format!("{prefix}.createforward.example.org.");
        mismatch(&mut wrong, s, &name, RecordType::A, want);
    }
    let forward6: &[(&str, &str)] = &[
        ("2001--db8.createforward6", "2001::db8"),
        (
            "20010002000300040005000600070db8.createforward6",
            "2001:2:3:4:5:6:7:db8",
        ),
        (
            "blabla20010002000300040005000600070db8.createforward6",
            "2001:2:3:4:5:6:7:db8",
        ),
        ("4000-db8--1.createforward6", "fe80::1"),
        ("l1.l2.l3.l4.l5.l6.l7.l8.createforward6", "fe80::1"),
        ("0--0.no-filter.createforward6", "::"),
        ("0--1.no-filter.createforward6", "::1"),
        ("0aa--0.no-filter.createforward6", "aa::"),
        ("0aa--1.no-filter.createforward6", "aa::1"),
        ("2001--0.no-filter.createforward6", "2001::"),
        ("a-b--c.no-filter.createforward6", "a:b::c"),
        ("a--b-c.no-filter.createforward6", "a::b:c"),
    ];
    for (prefix, want) in forward6 {
        let name = format!("{prefix}.example.org.");
        mismatch(&mut wrong, s, &name, RecordType::AAAA, want);
    }
    let reverse: &[(&str, &str)] = &[
        ("4.3.2.1.createreverse", "1-2-3-4.example.com."),
        ("10.10.10.10.createreverse", "quad10.example.com."),
        ("256.384.512.640.createreverse", "error."),
        (
            "8.b.d.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.2.createreverse6",
            "2001--db8.example.com.",
        ),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.createreverse6",
            "example.example.com.",
        ),
        (
            "8.b.d.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.2.createreverse6",
            "unknown.",
        ),
        (
            "O.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.b.c.A.2.F.E.9.C.0.0.3.0.0.2.I.createreverse6",
            "error.",
        ),
        (
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.createreverse6",
            "0--0.example.com.",
        ),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.createreverse6",
            "0--1.example.com.",
        ),
        (
            "c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.0.0.0.a.0.0.0.createreverse6",
            "a-b--c.example.com.",
        ),
    ];
    for (prefix, want) in reverse {
        let name = format!("{prefix}.example.org.");
        mismatch(&mut wrong, s, &name, RecordType::PTR, want);
    }
    assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
}

/// Records "name: got …, want …" unless `name`/`t` answers NOERROR with exactly `want`.
fn mismatch(wrong: &mut Vec<String>, s: &Server, name: &str, t: RecordType, want: &str) {
    let r = ask(s, name, t);
    let got = data(&r, &t.to_string());
    if r.rcode() != rcode::NOERROR || got != vec![want.to_ascii_lowercase()] {
        wrong.push(format!(
            "{name} {t}: got rcode {} {got:?}, want {want}",
            r.rcode()
        ));
    }
}

//=========== §9 geo ============================================================================

/// §17: the three reference clients against the fixture MMDB.
#[test]
fn s9_geo_codes_and_pickclosest() {
    let s = lua();
    let clients: [(&str, u8); 3] = [("1.1.1.0", 24), ("1.2.3.0", 24), ("17.1.0.0", 16)];
    let table: &[(&str, RecordType, [&str; 3])] = &[
        (
            "closest.geo",
            RecordType::A,
            ["1.1.1.2", "1.2.3.4", "1.1.1.2"],
        ),
        (
            "country-code.geo",
            RecordType::TXT,
            ["\"au\"", "\"us\"", "\"--\""],
        ),
        (
            "continent-code.geo",
            RecordType::TXT,
            ["\"oc\"", "\"na\"", "\"--\""],
        ),
    ];
    for (label, t, wants) in table {
        let name = format!("{label}.example.org.");
        for ((addr, source), want) in clients.iter().zip(wants) {
            let r = ask_ecs(s, &name, *t, addr, *source);
            let ty = if *t == RecordType::A { "A" } else { "TXT" };
            assert_eq!(
                data(&r, ty),
                vec![want.to_string()],
                "{name} for {addr}/{source}\n{}",
                r.summary()
            );
        }
    }
}

/// §9.1/§9.2: `regionCode()` (subdivisions[0]), `latlon()` and `latlonloc()` formats.
#[test]
fn s9_geo_region_and_location() {
    let s = lua();
    let clients: [(&str, u8); 3] = [("1.1.1.0", 24), ("1.2.3.0", 24), ("17.1.0.0", 16)];
    for ((addr, source), want) in clients.iter().zip(["\"--\"", "\"ca\"", "\"--\""]) {
        let r = ask_ecs(
            s,
            "region-code.geo.lua-geo.test.",
            RecordType::TXT,
            addr,
            *source,
        );
        expect_answer(&r, "TXT", &[want]);
    }
    let r = ask_ecs(
        s,
        "latlon.geo.lua-geo.test.",
        RecordType::TXT,
        "17.1.0.0",
        16,
    );
    expect_answer(&r, "TXT", &["\"0.000000 0.000000\""]);
    let r = ask_ecs(
        s,
        "latlon.geo.lua-geo.test.",
        RecordType::TXT,
        "1.2.3.0",
        24,
    );
    expect_answer(&r, "TXT", &["\"47.913000 -122.304200\""]);
    let r = ask_ecs(
        s,
        "latlonloc.geo.lua-geo.test.",
        RecordType::TXT,
        "1.2.3.0",
        24,
    );
    expect_answer(
        &r,
        "TXT",
        &["\"47 54 46.8 N 122 18 15.12 W 0.00m 1.00m 10000.00m 10.00m\""],
    );
}

/// §9.3: longitude difference wraps at the antimeridian (master behaviour).
#[test]
fn s9_3_pickclosest_antimeridian() {
    let s = lua();
    let r = ask_ecs(
        s,
        "antimeridian-w.geo.example.org.",
        RecordType::A,
        "192.0.2.0",
        24,
    );
    expect_answer(&r, "A", &["198.51.100.1"]);
    let r = ask_ecs(
        s,
        "antimeridian-e.geo.example.org.",
        RecordType::A,
        "198.51.100.0",
        24,
    );
    expect_answer(&r, "A", &["192.0.2.1"]);
}

/// §3/§9.2: a static CNAME into a wildcard `closestMagic()` name is chased: [CNAME, A].
#[test]
fn s3_static_cname_into_wildcard_closest_magic() {
    let s = lua();
    let target = "1-1-1-3.17-1-2-4.1-2-3-5.magic.example.org.";
    for (addr, source, want) in [
        ("1.1.1.0", 24, "1.1.1.3"),
        ("1.2.3.0", 24, "1.2.3.5"),
        ("17.1.0.0", 16, "17.1.2.4"),
    ] {
        let r = ask_ecs(s, "www-balanced.example.org.", RecordType::A, addr, source);
        assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
        assert_eq!(
            e2e::answer_types(&r),
            vec![5, 1],
            "CNAME then A\n{}",
            r.summary()
        );
        assert_eq!(
            data(&r, "CNAME"),
            vec![target.to_string()],
            "{}",
            r.summary()
        );
        assert_eq!(
            data(&r, "A"),
            vec![want.to_string()],
            "for {addr}/{source}\n{}",
            r.summary()
        );
        let owner = &r.raw_section(0)[1].owner;
        assert_eq!(
            owner.to_ascii_lowercase(),
            target,
            "A owned by the CNAME target"
        );
    }
    // §11: a wildcard LUA error is SERVFAIL (no IP in the labels: zero candidates).
    expect_servfail(&ask(s, "failure.magic.example.org.", RecordType::A));
}

//=========== §3 query path =====================================================================

/// §3: a LUA CNAME is followed in-zone for other QTYPEs; asked directly it is the answer.
#[test]
fn s3_lua_cname_chased() {
    let s = lua();
    let r = ask(s, "lcname.example.org.", RecordType::A);
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    assert_eq!(
        e2e::answer_types(&r),
        vec![5, 1],
        "CNAME then A\n{}",
        r.summary()
    );
    assert_eq!(data(&r, "CNAME"), vec!["static.example.org.".to_string()]);
    assert_eq!(data(&r, "A"), vec!["192.0.2.80".to_string()]);
    let r = ask(s, "lcname.example.org.", RecordType::TXT);
    assert_eq!(
        e2e::answer_types(&r),
        vec![5, 16],
        "CNAME then TXT\n{}",
        r.summary()
    );
    let r = ask(s, "lcname.example.org.", RecordType::CNAME);
    assert_eq!(
        e2e::answer_types(&r),
        vec![5],
        "just the CNAME\n{}",
        r.summary()
    );
}

/// §3: LUA results and static records of the same type at a name form one RRset,
/// duplicates removed.
#[test]
fn s3_merge_with_static_and_dedup() {
    let r = ask(lua(), "merge.example.org.", RecordType::A);
    expect_answer(&r, "A", &["192.0.2.7", "192.0.2.8", "192.0.2.9"]);
    assert_eq!(
        r.msg.answers.len(),
        3,
        "no duplicate 192.0.2.7\n{}",
        r.summary()
    );
}

/// §3: `*.wild LUA A` sees the real qname; answers are owned by the query name.
#[test]
fn s3_wildcard_lua() {
    let s = lua();
    let r = ask_ecs(
        s,
        "anything.wild.example.org.",
        RecordType::A,
        "1.2.3.4",
        24,
    );
    expect_answer(&r, "A", &["192.0.2.3"]);
    assert_eq!(
        r.raw_section(0)[0].owner.to_ascii_lowercase(),
        "anything.wild.example.org."
    );
    let r = ask(s, "a.b.wild.example.org.", RecordType::A);
    expect_answer(&r, "A", &["192.0.2.1"]);
    // Produced type ≠ QTYPE at a wildcard: NODATA.
    expect_nodata(&ask(s, "anything.wild.example.org.", RecordType::AAAA));
}

/// §3: ANY evaluates every LUA record at the name (TCP: every RRset; conformance §7.1).
#[test]
fn s3_any_includes_lua_results() {
    let s = lua();
    let q = Query::new("any.example.org.", RecordType::ANY);
    let r = s.tcp(&q);
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    assert_eq!(
        data(&r, "A"),
        vec!["192.0.2.1".to_string()],
        "{}",
        r.summary()
    );
    assert_eq!(
        data(&r, "TXT"),
        vec!["\"hello there\"".to_string()],
        "{}",
        r.summary()
    );
    assert!(
        r.raw_section(0).iter().all(|x| x.rtype != 65402),
        "LUA records never in answers\n{}",
        r.summary()
    );
    expect_answer(
        &ask(s, "any.example.org.", RecordType::A),
        "A",
        &["192.0.2.1"],
    );
}

/// §3: answers carry the LUA record's TTL.
#[test]
fn s3_ttl_is_the_lua_records() {
    let s = lua();
    let r = ask(s, "ttl.example.org.", RecordType::A);
    expect_answer(&r, "A", &["192.0.2.1"]);
    assert_eq!(e2e::ttl_of(&r, 0, RecordType::A), 300, "{}", r.summary());
    let r = ask(s, "all.example.org.", RecordType::A);
    assert!(
        r.raw_section(0).iter().all(|x| x.ttl == 3600),
        "$TTL 3600\n{}",
        r.summary()
    );
}

/// §3, §11, conformance 4.20: QTYPE LUA (65402) and a produced type ≠ QTYPE are NODATA.
#[test]
fn s3_lua_type_and_other_type_are_nodata() {
    let s = lua();
    let r = s.udp(&Query::new_raw(
        e2e::name_wire("hashed.example.org."),
        65402,
    ));
    expect_nodata(&r);
    assert_eq!(
        e2e::ttl_of(&r, 1, RecordType::SOA),
        300,
        "negative TTL\n{}",
        r.summary()
    );
    assert!(r.has(e2e::flag::AA), "AA\n{}", r.summary());
    expect_nodata(&ask(s, "hashed.example.org.", RecordType::AAAA));
    expect_nodata(&ask(s, "hashed.example.org.", RecordType::TXT));
}

/// §11: evaluation errors are SERVFAIL with an empty answer; empty results NODATA.
#[test]
fn s11_servfail_vs_nodata() {
    let s = lua();
    for (name, t) in [
        ("v6-bogus.rand.lua-errors.test.", RecordType::AAAA), // IPv4 text in AAAA
        ("empty.rand.lua-errors.test.", RecordType::A),       // wrong arity
        ("emptylist.rand.lua-errors.test.", RecordType::A),   // empty list
        ("zero.whashed.lua-errors.test.", RecordType::A),     // zero weight
        ("bad-rdata.lua-errors.test.", RecordType::A),        // unparsable RDATA
    ] {
        expect_servfail(&ask(s, name, t));
    }
    expect_nodata(&ask(s, "randn-zero.example.org.", RecordType::A));
    expect_nodata(&ask(s, "filterforwardempty.example.org.", RecordType::A));
    // Static data next to them is unaffected.
    expect_answer(
        &ask(s, "static.example.org.", RecordType::A),
        "A",
        &["192.0.2.80"],
    );
}

//=========== §5 ECS echo and scope; conformance §9 =============================================

#[track_caller]
fn expect_ecs_echo(r: &Reply, want: Vec<u8>) {
    assert_eq!(
        reply_ecs(r),
        Some(want),
        "ECS in the reply\n{}",
        r.summary()
    );
}

/// §5.4: the reference table, plus IPv6 and wildcards.
#[test]
fn s5_ecs_scope_is_source_for_lua_answers() {
    let s = lua();
    let lua_name = "hashed.example.org.";
    let r = ask_ecs(s, lua_name, RecordType::A, "1.2.3.0", 24);
    expect_ecs_echo(&r, ecs_raw(1, 24, 24, &[1, 2, 3]));
    let r = ask_ecs(s, lua_name, RecordType::A, "1.2.3.4", 32);
    expect_ecs_echo(&r, ecs_raw(1, 32, 32, &[1, 2, 3, 4]));
    let r = ask_ecs(s, lua_name, RecordType::A, "0.0.0.0", 0);
    expect_ecs_echo(&r, ecs_raw(1, 0, 0, &[]));
    let r = ask_ecs(s, "static.example.org.", RecordType::A, "1.2.3.0", 24);
    expect_answer(&r, "A", &["192.0.2.80"]);
    expect_ecs_echo(&r, ecs_raw(1, 24, 0, &[1, 2, 3]));
    let r = ask_ecs(
        s,
        "hashed-v6.example.org.",
        RecordType::AAAA,
        "2001:db8:1::",
        56,
    );
    expect_ecs_echo(&r, ecs_raw(2, 56, 56, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0]));
    let r = ask_ecs(s, "x.wild.example.org.", RecordType::A, "1.2.3.0", 24);
    expect_ecs_echo(&r, ecs_raw(1, 24, 24, &[1, 2, 3]));
}

/// §5.5: scope is the source length even when the answer does not depend on the client.
#[test]
fn s5_5_scope_even_for_client_independent_functions() {
    let s = lua();
    for name in [
        "all.example.org.",
        "rand.example.org.",
        "test.namehashed.example.org.",
    ] {
        let r = ask_ecs(s, name, RecordType::A, "1.2.3.0", 24);
        assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
        expect_ecs_echo(&r, ecs_raw(1, 24, 24, &[1, 2, 3]));
    }
    // A reply mixing a static CNAME and a LUA A: max(0, 24).
    let r = ask_ecs(s, "www-balanced.example.org.", RecordType::A, "1.2.3.0", 24);
    expect_ecs_echo(&r, ecs_raw(1, 24, 24, &[1, 2, 3]));
}

/// §5.6/§5.7: NODATA from an empty LUA result has scope 0; no ECS in, no ECS out.
#[test]
fn s5_6_nodata_scope_zero_and_no_ecs_without_query_ecs() {
    let s = lua();
    let r = ask_ecs(s, "randn-zero.example.org.", RecordType::A, "1.2.3.0", 24);
    expect_nodata(&r);
    expect_ecs_echo(&r, ecs_raw(1, 24, 0, &[1, 2, 3]));
    let r = s.udp(&Query::new("hashed.example.org.", RecordType::A).edns());
    assert!(reply_ecs(&r).is_none(), "no ECS echoed\n{}", r.summary());
    assert!(r.opt.is_some(), "OPT\n{}", r.summary());
}

/// conformance 9.4: malformed ECS is FORMERR.
#[test]
fn c9_4_malformed_ecs_formerr() {
    let s = lua();
    let bad: &[(&str, Vec<u8>)] = &[
        (
            "address longer than ceil(source/8)",
            ecs_raw(1, 16, 0, &[1, 2, 3]),
        ),
        ("bits set beyond SOURCE", ecs_raw(1, 20, 0, &[1, 2, 0xFF])),
        ("SOURCE > 32", ecs_raw(1, 33, 0, &[1, 2, 3, 4, 5])),
        ("SOURCE > 128", ecs_raw(2, 129, 0, &[0; 17])),
        ("unknown FAMILY", ecs_raw(3, 8, 0, &[1])),
        ("SCOPE ≠ 0 in the query", ecs_raw(1, 24, 24, &[1, 2, 3])),
        ("shorter than 4 octets", vec![0, 1, 24]),
    ];
    for (what, opt) in bad {
        for name in ["hashed.example.org.", "static.example.org."] {
            let r = s.udp(&q_ecs(name, RecordType::A, opt.clone()));
            assert_eq!(
                r.rcode(),
                rcode::FORMERR,
                "{what} → FORMERR for {name}\n{}",
                r.summary()
            );
        }
    }
}

/// §4/§5.7, conformance 9.1: `--edns-client-subnet off` ignores ECS (not parsed, not
/// echoed): bestwho is the socket address.
#[test]
fn c9_1_ecs_off_ignores_option() {
    let s = Server::builder()
        .zone("example.org", zone("lua.zone"))
        .args(geo_args())
        .args(["--edns-client-subnet", "off"])
        .start();
    let r = ask_ecs(&s, "hashed.example.org.", RecordType::A, "1.2.3.4", 24);
    expect_answer(&r, "A", &["192.0.2.1"]); // 127.0.0.1, not 1.2.3.0
    assert!(reply_ecs(&r).is_none(), "not echoed\n{}", r.summary());
    let r = ask_ecs(
        &s,
        "country-code.geo.example.org.",
        RecordType::TXT,
        "1.2.3.0",
        24,
    );
    expect_answer(&r, "TXT", &["\"--\""]);
    // Not parsed, so a malformed option is no error.
    let r = s.udp(&q_ecs(
        "hashed.example.org.",
        RecordType::A,
        ecs_raw(3, 8, 5, &[1, 2, 3]),
    ));
    expect_answer(&r, "A", &["192.0.2.1"]);
}

//=========== §1.2 zone load refusal, check-zone =================================================

/// §1.2 (issue 18): a `;` script runs (embedded engine); a record that
/// cannot answer (a Lua syntax error, a call to `os.execute`) answers
/// SERVFAIL at its name while the rest of its zone serves, as in PowerDNS;
/// `check-zone` reports a syntax error with file:line and fails;
/// `--lua-strict` refuses the zone instead.
#[test]
fn s1_2_records_that_cannot_answer_fail_only_at_their_name() {
    let s = Server::builder()
        .zone("example.org", zone("lua.zone"))
        .zone("script.test", zone("lua-script.zone"))
        .zone("call.test", zone("lua-bad-call.zone"))
        .zone("syntax.test", zone("lua-bad-syntax.zone"))
        .args(geo_args())
        .start();
    expect_answer(
        &ask(&s, "script.script.test.", RecordType::A),
        "A",
        &["192.0.2.1"],
    );
    expect_answer(
        &ask(&s, "good.syntax.test.", RecordType::A),
        "A",
        &["192.0.2.2"],
    );
    for name in ["exec.call.test.", "broken.syntax.test."] {
        expect_servfail(&ask(&s, name, RecordType::A));
    }
    for zone_ns in ["ns1.call.test.", "ns1.syntax.test."] {
        expect_answer(&ask(&s, zone_ns, RecordType::A), "A", &["192.0.2.53"]);
    }
    expect_answer(
        &ask(&s, "all.example.org.", RecordType::A),
        "A",
        &["1.2.3.4", "4.3.2.1"],
    );

    let strict = Server::builder()
        .zone("example.org", zone("lua.zone"))
        .zone("syntax.test", zone("lua-bad-syntax.zone"))
        .args(geo_args())
        .args(["--lua-strict"])
        .start();
    let r = ask(&strict, "good.syntax.test.", RecordType::A);
    assert_eq!(r.rcode(), rcode::REFUSED, "{}", r.summary());
    expect_answer(
        &ask(&strict, "all.example.org.", RecordType::A),
        "A",
        &["1.2.3.4", "4.3.2.1"],
    );

    let path = zone("lua-bad-syntax.zone");
    let (out, t) = check_zone("syntax.test", &path);
    assert_exit(&out, false);
    assert!(
        t.contains("lua-bad-syntax.zone:5:") && t.contains("Lua syntax error"),
        "expected `lua-bad-syntax.zone:5: … Lua syntax error`:\n{t}"
    );
    let (out, t) = check_zone("script.test", &zone("lua-script.zone"));
    assert!(out.status.success(), "{t}");
}

#[test]
fn s1_2_check_zone_accepts_fixtures() {
    for (origin, file) in [
        ("example.org", "lua.zone"),
        ("health.test", "lua-health.zone"),
    ] {
        let (out, t) = check_zone(origin, &zone(file));
        assert!(out.status.success(), "{file} should pass check-zone:\n{t}");
    }
}

//=========== §6, §7 health checks ==============================================================

/// §6.5, §7.1, §7.4 `all`: answers follow listeners going down and up within
/// interval + timeout (+ margin).
#[test]
fn s7_ifportup_all_follows_listeners() {
    let port = health_port();
    let t1 = Target::tcp("127.0.41.1", port);
    let mut t2 = Target::tcp("127.0.41.2", port);
    let s = health_server(port, &[]);
    // §6.2: the registering query sees every target down → backupSelector random.
    let r = ask(&s, "all.health.test.", RecordType::A);
    let d = data(&r, "A");
    assert_eq!(
        d.len(),
        1,
        "first query: one address by backup random\n{}",
        r.summary()
    );
    assert!(
        ["127.0.41.1", "127.0.41.2", "127.0.42.1"].contains(&d[0].as_str()),
        "{d:?}"
    );
    wait_for_set(
        &s,
        "all.health.test.",
        &["127.0.41.1", "127.0.41.2"],
        SWITCH,
    );
    t2.stop();
    let took = wait_for_set(&s, "all.health.test.", &["127.0.41.1"], SWITCH);
    eprintln!("ifportup: down seen after {took:?}");
    t2.start();
    let took = wait_for_set(
        &s,
        "all.health.test.",
        &["127.0.41.1", "127.0.41.2"],
        SWITCH,
    );
    eprintln!("ifportup: up seen after {took:?}");
    let r = ask(&s, "all.health.test.", RecordType::A);
    assert_eq!(
        e2e::ttl_of(&r, 0, RecordType::A),
        30,
        "LUA record TTL\n{}",
        r.summary()
    );
    drop(t1);
}

/// §7.4 `random` (the default) only picks up targets; §7.1 multi-set picks the first set
/// with an up address; `empty` gives NODATA; `pickfirst` (§16) the first up in order.
#[test]
fn s7_selectors_random_multiset_empty_pickfirst() {
    let port = health_port();
    let _t1 = Target::tcp("127.0.41.1", port);
    let mut t2 = Target::tcp("127.0.41.2", port);
    let s = health_server(port, &[]);
    for name in ["random", "multi", "emptysel", "first"] {
        ask(&s, &format!("{name}.health.test."), RecordType::A);
    }
    wait_for_set(&s, "multi.health.test.", &["127.0.41.2"], SWITCH);
    wait_for_set(&s, "first.health.test.", &["127.0.41.2"], SWITCH);
    let ok = e2e::eventually(SWITCH, || {
        let seen: BTreeSet<String> = (0..30)
            .flat_map(|_| a_set(&s, "random.health.test."))
            .collect();
        seen == set(&["127.0.41.1", "127.0.41.2"])
    });
    assert!(ok, "random: only and both up targets\n{}", s.context());
    // `empty` with its target up: NODATA, the name exists.
    assert!(
        e2e::eventually(SWITCH, || ask(&s, "emptysel.health.test.", RecordType::A)
            .msg
            .answers
            .is_empty()),
        "selector empty"
    );
    expect_nodata(&ask(&s, "emptysel.health.test.", RecordType::A));
    t2.stop();
    wait_for_set(&s, "first.health.test.", &["127.0.41.1"], SWITCH);
    wait_for_set(&s, "multi.health.test.", &["127.0.41.1"], SWITCH);
    t2.start();
    wait_for_set(&s, "first.health.test.", &["127.0.41.2"], SWITCH);
}

/// §7.4 `hashed` over the available candidates in written order (§10.2).
#[test]
fn s7_selector_hashed() {
    let port = health_port();
    let _t1 = Target::tcp("127.0.41.1", port);
    let _t2 = Target::tcp("127.0.41.2", port);
    let mut t3 = Target::tcp("127.0.41.3", port);
    let s = health_server(port, &[]);
    ask(&s, "hashed.health.test.", RecordType::A);
    let hashed = |addr: &str, source: u8| {
        data(
            &ask_ecs(&s, "hashed.health.test.", RecordType::A, addr, source),
            "A",
        )
    };
    // Wait until all three targets are up: with only two up, one of these
    // answers can already match by chance, so the three are checked together.
    assert!(
        e2e::eventually(SWITCH, || {
            hashed("1.2.3.4", 24) == vec!["127.0.41.3".to_string()]
                && hashed("0.0.0.0", 0) == vec!["127.0.41.2".to_string()]
                && data(&ask(&s, "hashed.health.test.", RecordType::A), "A")
                    == vec!["127.0.41.1".to_string()]
        }),
        "with 3 up: 1.2.3.0 → index 2, 0.0.0.0/0 → index 1, 127.0.0.1 → index 0\n{}",
        s.context()
    );
    t3.stop();
    // 2 candidates left: 4209512405 % 2 = 1.
    assert!(
        e2e::eventually(SWITCH, || hashed("1.2.3.4", 24)
            == vec!["127.0.41.2".to_string()]),
        "1.2.3.0 → index 1 of 2\n{}",
        s.context()
    );
}

/// §7.4 `pickclosest` selector, driven by ECS against the fixture MMDB.
#[test]
fn s7_selector_pickclosest_with_ecs() {
    let port = health_port();
    let _a = Target::tcp("127.0.43.1", port);
    let _b = Target::tcp("127.0.43.2", port);
    let s = health_server(port, &[]);
    ask(&s, "closest.health.test.", RecordType::A);
    let closest = |addr: &str| {
        data(
            &ask_ecs(&s, "closest.health.test.", RecordType::A, addr, 24),
            "A",
        )
    };
    assert!(
        e2e::eventually(SWITCH, || (0..10)
            .all(|_| closest("1.1.1.0") == vec!["127.0.43.1".to_string()])),
        "AU client → 127.0.43.1\n{}",
        s.context()
    );
    for _ in 0..10 {
        assert_eq!(
            closest("1.2.3.0"),
            vec!["127.0.43.2".to_string()],
            "US client"
        );
    }
    let r = ask_ecs(&s, "closest.health.test.", RecordType::A, "1.2.3.0", 24);
    expect_ecs_echo(&r, ecs_raw(1, 24, 24, &[1, 2, 3]));
}

/// §7.1, §11: all targets down → backupSelector over the first non-empty set, never
/// empty by default; `empty` → NODATA even on the first query; `pickfirst` → first.
#[test]
fn s7_backup_selector_when_all_down() {
    let port = health_port();
    let (s, api) = health_server_with_api(port);
    expect_nodata(&ask(&s, "down-empty.health.test.", RecordType::A));
    expect_answer(
        &ask(&s, "down-first.health.test.", RecordType::A),
        "A",
        &["127.0.42.6"],
    );
    for round in 0..2 {
        for _ in 0..20 {
            let d = data(&ask(&s, "down-random.health.test.", RecordType::A), "A");
            assert!(
                d.len() == 1 && ["127.0.42.5", "127.0.42.6"].contains(&d[0].as_str()),
                "down-random: one of the set, never empty: {d:?}"
            );
        }
        // The first set only, not the second (5.1+).
        expect_answer(
            &ask(&s, "down-all.health.test.", RecordType::A),
            "A",
            &["127.0.42.5", "127.0.42.6"],
        );
        expect_nodata(&ask(&s, "down-empty.health.test.", RecordType::A));
        expect_answer(
            &ask(&s, "down-first.health.test.", RecordType::A),
            "A",
            &["127.0.42.6"],
        );
        // After the checks have run (and failed) once more, the same.
        wait_for_rounds(&s, api, round + 1);
    }
}

/// §6.2: the first query that references a target sees it down (backupSelector);
/// §6.2/§7.1 failOnIncompleteCheck: SERVFAIL on the registering query only.
#[test]
fn s6_2_first_query_and_fail_on_incomplete_check() {
    let port = health_port();
    let _t = Target::tcp("127.0.41.3", port);
    let s = health_server(port, &[]);
    expect_nodata(&ask(&s, "firstquery.health.test.", RecordType::A));
    wait_for_set(&s, "firstquery.health.test.", &["127.0.41.3"], SWITCH);
    expect_servfail(&ask(&s, "incomplete.health.test.", RecordType::A));
    wait_for_set(&s, "incomplete.health.test.", &["127.0.42.8"], SWITCH);
}

/// §6.4: with minimumFailures=3 a never-successful target reads up after its first
/// failed check, and down after the third consecutive failure.
#[test]
fn s6_4_minimum_failures() {
    let port = health_port();
    let s = health_server(port, &[]);
    // Registering query: down → backupSelector all.
    expect_answer(
        &ask(&s, "minfail.health.test.", RecordType::A),
        "A",
        &["127.0.42.9"],
    );
    // After failure 1: up (failures 1 < 3) → selector empty → NODATA.
    let t0 = Instant::now();
    assert!(
        e2e::eventually(Duration::from_millis(2500), || ask(
            &s,
            "minfail.health.test.",
            RecordType::A
        )
        .msg
        .answers
        .is_empty()),
        "up after the first failure\n{}",
        s.context()
    );
    // After failure 3 (about two more rounds): down → backupSelector all.
    wait_for_set(
        &s,
        "minfail.health.test.",
        &["127.0.42.9"],
        Duration::from_secs(6),
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "needs 3 rounds, took {:?}",
        t0.elapsed()
    );
}

/// §6.6: HTTP check pinned to the candidate address, Host from the URL, the PowerDNS
/// User-Agent, exact status match; answers follow the status.
#[test]
fn s6_6_ifurlup_follows_http_status() {
    let port = health_port();
    let h1 = Target::http("127.0.44.1", port, 200, "pong");
    let h2 = Target::http("127.0.44.2", port, 200, "nothing to see");
    let s = health_server(port, &[]);
    for name in ["url", "urlmatch", "url404"] {
        ask(&s, &format!("{name}.health.test."), RecordType::A);
    }
    wait_for_set(
        &s,
        "url.health.test.",
        &["127.0.44.1", "127.0.44.2"],
        SWITCH,
    );
    wait_for_set(&s, "urlmatch.health.test.", &["127.0.44.1"], SWITCH);
    wait_for_set(&s, "url404.health.test.", &["127.0.44.1"], SWITCH);
    h2.set_status(503);
    let took = wait_for_set(&s, "url.health.test.", &["127.0.44.1"], SWITCH);
    eprintln!("ifurlup: 503 seen after {took:?}");
    h2.set_status(200);
    wait_for_set(
        &s,
        "url.health.test.",
        &["127.0.44.1", "127.0.44.2"],
        SWITCH,
    );
    let reqs = h1.requests();
    let health = reqs
        .iter()
        .find(|r| r.starts_with("GET /health "))
        .unwrap_or_else(|| panic!("a GET /health on 127.0.44.1: {reqs:#?}"));
    let header = |name: &str| {
        health
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    assert_eq!(header("Host"), format!("www.lua.test:{port}"), "{health}");
    assert_eq!(
        header("User-Agent"),
        "PowerDNS Authoritative Server",
        "{health}"
    );
}

/// Failover timing for both check kinds: stop a target, measure until it disappears
/// (≤ interval + timeout + margin), and until it is back.
#[test]
fn s6_3_failover_within_interval_plus_timeout() {
    let port = health_port();
    let _a = Target::tcp("127.0.45.1", port);
    let mut b = Target::tcp("127.0.45.2", port);
    let _ha = Target::http("127.0.46.1", port, 200, "ok");
    let mut hb = Target::http("127.0.46.2", port, 200, "ok");
    let s = health_server(port, &[]);
    ask(&s, "failover.health.test.", RecordType::A);
    ask(&s, "urlfailover.health.test.", RecordType::A);
    wait_for_set(
        &s,
        "failover.health.test.",
        &["127.0.45.1", "127.0.45.2"],
        SWITCH,
    );
    wait_for_set(
        &s,
        "urlfailover.health.test.",
        &["127.0.46.1", "127.0.46.2"],
        SWITCH,
    );
    b.stop();
    hb.stop();
    let t0 = Instant::now();
    wait_for_set(&s, "failover.health.test.", &["127.0.45.1"], SWITCH);
    let tcp_down = t0.elapsed();
    wait_for_set(
        &s,
        "urlfailover.health.test.",
        &["127.0.46.1"],
        SWITCH.saturating_sub(t0.elapsed()) + Duration::from_millis(100),
    );
    let http_down = t0.elapsed();
    b.start();
    hb.start();
    let t1 = Instant::now();
    wait_for_set(
        &s,
        "failover.health.test.",
        &["127.0.45.1", "127.0.45.2"],
        SWITCH,
    );
    wait_for_set(
        &s,
        "urlfailover.health.test.",
        &["127.0.46.1", "127.0.46.2"],
        SWITCH,
    );
    eprintln!(
        "failover: tcp down {tcp_down:?}, http down {http_down:?}, both back {:?}",
        t1.elapsed()
    );
    assert!(http_down <= SWITCH, "HTTP failover took {http_down:?}");
}

/// Health-checked answers under ECS: scope = source length (§5.5) and
/// `--edns-client-subnet off` makes `hashed` use the socket address.
#[test]
fn s5_health_answers_with_ecs_off() {
    let port = health_port();
    let _t1 = Target::tcp("127.0.41.1", port);
    let _t2 = Target::tcp("127.0.41.2", port);
    let _t3 = Target::tcp("127.0.41.3", port);
    let s = health_server(port, &["--edns-client-subnet", "off"]);
    ask(&s, "hashed.health.test.", RecordType::A);
    assert!(
        e2e::eventually(SWITCH, || {
            let r = ask_ecs(&s, "hashed.health.test.", RecordType::A, "1.2.3.4", 24);
            data(&r, "A") == vec!["127.0.41.1".to_string()] && reply_ecs(&r).is_none()
        }),
        "ECS ignored: 127.0.0.1 → index 0, no ECS echoed\n{}",
        s.context()
    );
}

#[test]
fn ipv6_ecs_helper_masks() {
    // Guards the test helper itself: /56 keeps 7 octets, /20 masks the third.
    assert_eq!(
        ecs("2001:db8:1:ff::", 56),
        ecs_raw(2, 56, 0, &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0])
    );
    assert_eq!(ecs("1.2.255.4", 20), ecs_raw(1, 20, 0, &[1, 2, 0xF0]));
}

/// Not a test: writes the fixture MMDB to `$LUA_MMDB_OUT` for `bench/lua.sh`
/// (`cargo test -p e2e --test e2e -- --ignored --exact lua::write_fixture_mmdb`).
#[test]
#[ignore = "tool for bench/lua.sh"]
fn write_fixture_mmdb() {
    let out = std::env::var_os("LUA_MMDB_OUT").expect("LUA_MMDB_OUT");
    fs::write(out, geo_db_bytes()).expect("write mmdb");
}
