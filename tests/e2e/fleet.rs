//! A whole fleet on loopback (replication.md §4, §5, §7; issue item 5): a dnsd primary
//! with the API over TLS, a catalog zone and online DNSSEC; two dnsd edges consuming the
//! catalog and fetching the zone keys from the primary's API; one Knot secondary
//! consuming the same catalog and receiving the zones conventionally signed; poolmgr
//! allocating names through the primary.
//!
//! What is checked:
//! - a reserve and commit through poolmgr is answered by every dnsd edge (the six
//!   records) within 2 s of the commit's HTTP 200, and by Knot; the child's DNSKEY/DS
//!   chain validates in unbound from the pool zone's DS alone, against each edge and
//!   against Knot; a LUA record in the child answers after each edge's own health view;
//!   a release makes every node stop serving the child;
//! - an edge killed with SIGKILL during a burst of 50 allocations serves its stored
//!   copies at once after the restart and catches up with everything;
//! - the primary killed with SIGKILL and restarted during a burst loses no change it
//!   acknowledged: every allocation poolmgr answered 200 is served everywhere afterwards
//!   (and those it answered 202, "DNS not done yet", arrive too).
//!
//! **Per-edge health.** Both edges share the machine, so both reach the same listeners.
//! The difference comes from dnsd's `--lua-health-deny`: edge 2 runs with
//! `--lua-health-deny 127.0.77.2/32`, so its checker never connects there and counts
//! the target down, while edge 1 reaches the real listener on 127.0.77.2. One LUA record
//! `ifportup(PORT, {'127.0.77.1', '127.0.77.2'}, {selector='all'})` then answers both
//! addresses on edge 1 and only 127.0.77.1 on edge 2, deterministically, without network
//! namespaces or root. Each edge's `/api/v1/health-checks` and `/metrics` show its own
//! view.
//!
//! **TLS and poolmgr.** The edges fetch keys over TLS, checked against a test authority
//! (`e2e::tls_loopback`). poolmgr's HTTP client trusts only the public web roots, so it
//! reaches the primary's API through a forwarder that does the TLS (and the
//! certificate check) for it; the test's own API calls go the same way.
//!
//! Every wait is bounded; the servers are killed when a test ends (they are children of
//! the test process, killed with it too).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use e2e::http::{Http, request, wait_http};
use e2e::peers::{Peer, TsigSpec, reserve_addr};
use e2e::tls_loopback::{TestCa, TlsForwarder};
use e2e::unbound::Unbound;
use e2e::{
    Query, Reply, Server, flag, free_port, rcode, scratch_dir, spawn_reaped, udp_exchange,
    workspace_bin,
};
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

const POOL: &str = "omani.works";
const CATALOG: &str = "catalog.fleet.";
/// The key the dnsd edges transfer with (plain zone data: they sign themselves).
const FLEET_KEY: &str = "fleet";
const FLEET_SECRET: &str = "ZmxlZXQtZTJlLWVkZ2UtdHJhbnNmZXItc2VjcmV0LTMy";
/// The key Knot transfers with, listed in `--allow-transfer-signed`.
const KNOT_KEY: &str = "knot";
const KNOT_SECRET: &str = "a25vdC1lMmUtc2lnbmVkLXRyYW5zZmVyLXNlY3JldDMy";
const PRIMARY_API_KEY: &str = "fleet-primary-api-key-0123456789";
const EDGE_API_KEY: &str = "fleet-edge-api-key-0123456789";
const CALLER: &str = "fleet-caller-token-0123456789abcdef";
const OPERATOR: &str = "fleet-operator-token-0123456789abcdef";
/// The LUA record's targets: both listen; edge 2 may not check the second.
const TARGET_SHARED: &str = "127.0.77.1";
const TARGET_DENIED_ON_EDGE2: &str = "127.0.77.2";
/// From the commit's 200 to every dnsd edge answering (issue item 5).
const EDGE_ANSWER: Duration = Duration::from_secs(2);
/// Knot applies a catalog change by reconfiguring, then transfers each member: a few
/// seconds on a loaded 2-CPU machine.
const KNOT_ANSWER: Duration = Duration::from_secs(10);
/// Catching up after a fault: 50 allocations, a catalog refresh and their transfers.
const CONVERGE: Duration = Duration::from_secs(40);
/// A LUA answer after the record arrives: first query registers the checks, one
/// round (1 s interval) brings the result.
const HEALTH_SETTLE: Duration = Duration::from_secs(10);
/// Allocations in a burst.
const BURST: usize = 50;

fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn loopback_addr() -> SocketAddr {
    SocketAddr::new(localhost(), free_port(localhost()))
}

/// A secret written to a file only its owner reads (keys never go on command lines
/// here, as an operator would do it).
fn secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = fs::File::create(&path).expect("create secret file");
    f.write_all(text.as_bytes()).expect("write secret file");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod 0600");
    path
}

//----------- dnsd nodes ------------------------------------------------------------------------

/// A dnsd that can be killed and started again on the same ports and data.
struct Node {
    name: &'static str,
    server: Option<Server>,
    dns: SocketAddr,
    api: SocketAddr,
    args: Vec<String>,
}

impl Node {
    /// A node at `dns` with its API at `api` (plain HTTP unless `args` say TLS).
    fn new(name: &'static str, dns: SocketAddr, api: SocketAddr, args: Vec<String>) -> Node {
        Node {
            name,
            server: None,
            dns,
            api,
            args,
        }
    }

    fn start(&mut self) {
        assert!(self.server.is_none(), "{} already running", self.name);
        let server = Server::builder()
            .port(self.dns.port())
            .args(self.args.iter().cloned())
            .probe(".")
            .start();
        wait_http(self.api);
        self.server = Some(server);
    }

    /// SIGKILL (what dropping a [`Server`] does), no clean-up of any kind.
    fn kill9(&mut self) {
        self.server = None;
    }

    fn log(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.context())
            .unwrap_or_else(|| format!("{} is not running", self.name))
    }

    /// A GET on this node's plain-HTTP API.
    fn api_get(&self, path: &str) -> Http {
        request(self.api, "GET", path, &[("X-API-Key", EDGE_API_KEY)], None)
    }
}

//----------- poolmgr ---------------------------------------------------------------------------

/// `poolmgr hash-token`: the configuration entry for a bearer token.
fn token_entry(scope: &str, token: &str) -> String {
    let mut child = Command::new(workspace_bin("poolmgr", "POOLMGR_BIN"))
        .args(["hash-token", "--scope", scope])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run poolmgr hash-token");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(token.as_bytes())
        .expect("write token");
    let out = child.wait_with_output().expect("poolmgr hash-token");
    assert!(out.status.success(), "poolmgr hash-token failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// poolmgr on SQLite, talking to the primary's API through the TLS forwarder, watching
/// the edges as its fleet.
struct Poolmgr {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Poolmgr {
    fn start(api_url: &str, db_dir: &Path, edges: &[SocketAddr], commit_wait: usize) -> Poolmgr {
        let addr = loopback_addr();
        let log = db_dir.join("poolmgr.log");
        let fleet: Vec<String> = edges.iter().map(ToString::to_string).collect();
        let mut cmd = Command::new(workspace_bin("poolmgr", "POOLMGR_BIN"));
        cmd.env_clear()
            .env("POOLMGR_LISTEN", addr.to_string())
            .env(
                "PDM_DATABASE_URL",
                format!("sqlite://{}", db_dir.join("pool.db").display()),
            )
            .env("PDM_PDNS_BASE_URL", api_url)
            .env("PDM_PDNS_API_KEY", PRIMARY_API_KEY)
            .env("DYNADOT_MANAGED_DOMAINS", POOL)
            .env("PDM_NAMESERVERS", "ns1.openova.io,ns2.openova.io")
            .env("PDM_SWEEPER_INTERVAL", "1s")
            .env("POOLMGR_INLINE_DNS_TIMEOUT", "3s")
            .env("POOLMGR_OUTBOX_LEASE", "4s")
            .env("POOLMGR_FLEET_NAMESERVERS", fleet.join(","))
            .env("POOLMGR_COMMIT_WAIT", commit_wait.to_string())
            .env("POOLMGR_COMMIT_WAIT_TIMEOUT", "5s")
            .env(
                "POOLMGR_AUTH_TOKENS",
                format!(
                    "{},{}",
                    token_entry("caller", CALLER),
                    token_entry("operator", OPERATOR)
                ),
            )
            .stdout(fs::File::create(&log).expect("poolmgr log"))
            .stderr(Stdio::null());
        let child = spawn_reaped(cmd).expect("spawn poolmgr");
        let mut pm = Poolmgr { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = pm.child.try_wait().expect("try_wait") {
                panic!("poolmgr exited {status}:\n{}", pm.log_text());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
                && pm.call("GET", "/healthz", None).status == 200
            {
                return pm;
            }
            assert!(
                Instant::now() < deadline,
                "poolmgr did not start within 30 s:\n{}",
                pm.log_text()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Http {
        let auth = format!("Bearer {CALLER}");
        let body = body.map(|b| b.to_string());
        request(
            self.addr,
            method,
            path,
            &[("Authorization", auth.as_str())],
            body.as_deref(),
        )
    }

    /// The pool zone's DS fields (`tag alg digest-type hex`) from `/healthz`.
    fn pool_ds(&self) -> Vec<String> {
        let health = self.call("GET", "/healthz", None);
        assert_eq!(health.status, 200, "{}", health.body);
        let ds = health.json()["ds"][POOL][0]
            .as_str()
            .unwrap_or_else(|| panic!("no DS for {POOL} in /healthz: {}", health.body))
            .to_string();
        ds.split_whitespace().map(str::to_string).collect()
    }

    fn reserve(&self, sub: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/reserve"),
            Some(json!({ "subdomain": sub, "createdBy": "fleet-e2e" })),
        )
    }

    fn commit(&self, sub: &str, token: &str, ip: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/commit"),
            Some(json!({ "subdomain": sub, "reservationToken": token,
                         "sovereignFQDN": format!("{sub}.{POOL}"), "loadBalancerIP": ip })),
        )
    }

    fn release(&self, sub: &str) -> Http {
        self.call(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(json!({ "subdomain": sub })),
        )
    }

    /// Reserve and commit `sub` at `ip`: the two HTTP statuses (commit 0 when the
    /// reserve gave no token).
    fn allocate(&self, sub: &str, ip: &str) -> (u16, u16) {
        let r = self.reserve(sub);
        let token = match r.json().get("reservationToken").and_then(Value::as_str) {
            Some(t) if r.status == 201 => t.to_string(),
            _ => return (r.status, 0),
        };
        (r.status, self.commit(sub, &token, ip).status)
    }
}

impl Drop for Poolmgr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//----------- a TCP health-check target -----------------------------------------------------

/// A TCP listener that accepts and closes connections until dropped.
struct PortTarget {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PortTarget {
    fn start(ip: &str, port: u16) -> PortTarget {
        let ip: Ipv4Addr = ip.parse().expect("IPv4 target");
        let listener = TcpListener::bind((ip, port))
            .unwrap_or_else(|e| panic!("listen on {ip}:{port} for the health target: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        PortTarget {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PortTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port free for TCP on both LUA targets.
fn target_port() -> u16 {
    loop {
        let port = free_port(localhost());
        let free = [TARGET_SHARED, TARGET_DENIED_ON_EDGE2]
            .iter()
            .all(|ip| TcpListener::bind((ip.parse::<Ipv4Addr>().expect("IPv4"), port)).is_ok());
        if free {
            return port;
        }
    }
}

//----------- the fleet -------------------------------------------------------------------------

/// Primary, two edges, Knot and poolmgr, started in that order.
struct Fleet {
    // Field order is drop order: poolmgr first, the primary last.
    poolmgr: Arc<Poolmgr>,
    knot: Peer,
    edges: [Node; 2],
    primary: Node,
    forwarder: TlsForwarder,
    _ca: TestCa,
    dir: PathBuf,
}

impl Fleet {
    /// The fleet, up; poolmgr has bootstrapped the pool zone and every node serves it.
    fn start(tag: &str, commit_wait: usize) -> Fleet {
        let dir = scratch_dir(&format!("fleet-{tag}"));
        let ca = TestCa::new();
        let primary_key = secret_file(&dir, "primary-api.key", PRIMARY_API_KEY);
        let edge_key = secret_file(&dir, "edge-api.key", EDGE_API_KEY);
        let fleet_tsig = format!("hmac-sha256:{FLEET_KEY}:{FLEET_SECRET}");
        let (primary_dns, primary_api) = (loopback_addr(), loopback_addr());
        let edge_addrs = [
            (loopback_addr(), loopback_addr()),
            (loopback_addr(), loopback_addr()),
        ];
        let knot_addr = reserve_addr();

        let path = |p: &Path| p.display().to_string();
        let mut primary_args = vec![
            "--api-listen".to_string(),
            primary_api.to_string(),
            "--api-key-file".into(),
            path(&primary_key),
            "--api-tls-cert".into(),
            path(&ca.cert_pem()),
            "--api-tls-key".into(),
            path(&ca.key_pem()),
            "--data-dir".into(),
            path(&dir.join("primary")),
            "--catalog".into(),
            CATALOG.into(),
            "--tsig-key".into(),
            fleet_tsig.clone(),
            "--tsig-key".into(),
            format!("hmac-sha256:{KNOT_KEY}:{KNOT_SECRET}"),
            "--allow-transfer".into(),
            format!("127.0.0.0/8:{FLEET_KEY}"),
            "--allow-transfer-signed".into(),
            format!("127.0.0.0/8:{KNOT_KEY}"),
        ];
        for (edge_dns, _) in &edge_addrs {
            primary_args.push("--also-notify".into());
            primary_args.push(format!("{edge_dns}:{FLEET_KEY}"));
        }
        primary_args.push("--also-notify".into());
        primary_args.push(format!("{knot_addr}:{KNOT_KEY}"));
        let mut primary = Node::new("primary", primary_dns, primary_api, primary_args);
        primary.start();
        let forwarder = TlsForwarder::start(primary_api, &ca.ca_pem());

        let edges = [0, 1].map(|i| {
            let (dns, api) = edge_addrs[i];
            let mut args = vec![
                "--api-listen".to_string(),
                api.to_string(),
                "--api-key-file".into(),
                path(&edge_key),
                "--data-dir".into(),
                path(&dir.join(format!("edge{}", i + 1))),
                "--tsig-key".into(),
                fleet_tsig.clone(),
                "--catalog-consumer".into(),
                format!("{CATALOG}={primary_dns}:{FLEET_KEY}"),
                "--key-source".into(),
                format!("https://{primary_api}"),
                "--key-source-api-key-file".into(),
                path(&primary_key),
                "--key-source-ca".into(),
                path(&ca.ca_pem()),
                "--lua-health-interval".into(),
                "1".into(),
            ];
            if i == 1 {
                args.push("--lua-health-deny".into());
                args.push(format!("{TARGET_DENIED_ON_EDGE2}/32"));
            }
            let mut edge = Node::new(if i == 0 { "edge 1" } else { "edge 2" }, dns, api, args);
            edge.start();
            edge
        });
        let knot = Peer::knot_catalog_consumer(
            knot_addr,
            CATALOG,
            primary_dns,
            &TsigSpec::hmac_sha256(KNOT_KEY, KNOT_SECRET),
        );
        let poolmgr = Poolmgr::start(
            &forwarder.url(),
            &dir,
            &[edges[0].dns, edges[1].dns],
            commit_wait,
        );
        let fleet = Fleet {
            poolmgr: Arc::new(poolmgr),
            knot,
            edges,
            primary,
            forwarder,
            _ca: ca,
            dir,
        };
        let pool = format!("{POOL}.");
        for (name, addr) in fleet.nameservers() {
            fleet.wait_for(&format!("{name} serves the pool zone"), KNOT_ANSWER, || {
                serves_zone(addr, &pool)
            });
        }
        fleet
    }

    /// Every node that must serve the pool's zones: name and DNS address.
    fn nameservers(&self) -> Vec<(&'static str, SocketAddr)> {
        vec![
            ("primary", self.primary.dns),
            ("edge 1", self.edges[0].dns),
            ("edge 2", self.edges[1].dns),
            ("knot", self.knot.addr()),
        ]
    }

    /// The dnsd edges only.
    fn dnsd_edges(&self) -> Vec<(&'static str, SocketAddr)> {
        self.edges.iter().map(|e| (e.name, e.dns)).collect()
    }

    /// Everything the fleet logged, for failure messages.
    fn logs(&self) -> String {
        format!(
            "--- primary ---\n{}\n--- edge 1 ---\n{}\n--- edge 2 ---\n{}\n--- knot (tail) ---\n{}\n--- poolmgr (tail) ---\n{}",
            self.primary.log(),
            self.edges[0].log(),
            self.edges[1].log(),
            tail(&self.knot.log(), 40),
            tail(&self.poolmgr.log_text(), 20)
        )
    }

    /// Polls `cond` until it holds, or panics after `within` with every log.
    #[track_caller]
    fn wait_for(&self, what: &str, within: Duration, mut cond: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if cond() {
                return start.elapsed();
            }
            if start.elapsed() > within {
                panic!("not within {within:?}: {what}\n{}", self.logs());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A call on the primary's API (through the TLS forwarder).
    fn primary_api(&self, method: &str, path: &str, body: Option<Value>) -> Http {
        let body = body.map(|b| b.to_string());
        request(
            self.forwarder.addr(),
            method,
            path,
            &[("X-API-Key", PRIMARY_API_KEY)],
            body.as_deref(),
        )
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

//----------- DNS expectations ------------------------------------------------------------------

/// One UDP query with a short timeout; `None` when nothing answers (a node down).
fn ask(addr: SocketAddr, name: &str, qtype: RecordType) -> Option<Reply> {
    let q = Query::new(name, qtype).to_bytes();
    udp_exchange(addr, &q, Duration::from_millis(500)).map(Reply::parse)
}

/// The node answers authoritatively for `zone`'s apex SOA.
fn serves_zone(addr: SocketAddr, zone: &str) -> bool {
    ask(addr, zone, RecordType::SOA).is_some_and(|r| {
        r.rcode() == rcode::NOERROR
            && r.has(flag::AA)
            && r.answer().iter().any(|(n, t, _)| n == zone && t == "SOA")
    })
}

/// The six names of PDM's records for a child (`anything.` stands for the wildcard).
fn six_names(child: &str) -> [String; 6] {
    ["", "anything.", "console.", "api.", "gitea.", "harbor."].map(|n| format!("{n}{child}."))
}

/// The node answers every one of the child's six records with `ip`, authoritatively.
fn answers_allocation(addr: SocketAddr, child: &str, ip: &str) -> bool {
    six_names(child).iter().all(|name| {
        ask(addr, name, RecordType::A).is_some_and(|r| {
            r.rcode() == rcode::NOERROR
                && r.has(flag::AA)
                && a_records(&r, name) == [ip.to_string()]
        })
    })
}

/// Cheaper check for bursts: the child's apex A only.
fn answers_apex(addr: SocketAddr, child: &str, ip: &str) -> bool {
    let name = format!("{child}.");
    ask(addr, &name, RecordType::A).is_some_and(|r| {
        r.rcode() == rcode::NOERROR && r.has(flag::AA) && a_records(&r, &name) == [ip.to_string()]
    })
}

/// The child is gone: the pool zone answers NXDOMAIN for its apex (asked without DO;
/// with DO a compact-denial signer answers NOERROR), and no SOA of the child comes back.
fn stopped_serving(addr: SocketAddr, child: &str) -> bool {
    let name = format!("{child}.");
    ask(addr, &name, RecordType::SOA).is_some_and(|r| {
        r.rcode() == rcode::NXDOMAIN && !r.answer().iter().any(|(n, t, _)| n == &name && t == "SOA")
    })
}

fn a_records(r: &Reply, name: &str) -> Vec<String> {
    r.answer()
        .into_iter()
        .filter(|(n, t, _)| n == name && t == "A")
        .map(|(_, _, v)| v)
        .collect()
}

/// The A addresses a node answers for `name` (empty on no answer or an error).
fn a_set(addr: SocketAddr, name: &str) -> BTreeSet<String> {
    ask(addr, name, RecordType::A)
        .filter(|r| r.rcode() == rcode::NOERROR)
        .map(|r| a_records(&r, name).into_iter().collect())
        .unwrap_or_default()
}

/// Asserts unbound validated `name`/`qtype` (NOERROR, AD, some answer).
#[track_caller]
fn assert_validated(unbound: &Unbound, node: &str, name: &str, qtype: RecordType) -> Reply {
    let r = unbound.ask(name, qtype);
    assert!(
        r.rcode() == rcode::NOERROR && r.has(flag::AD) && !r.answer().is_empty(),
        "{name} {qtype} through {node} does not validate from the pool's DS:\n{}\n--- unbound ---\n{}",
        r.summary(),
        tail(&unbound.log(), 30)
    );
    r
}

//----------- tests -----------------------------------------------------------------------------

/// Commit → every edge answers within 2 s and validates; LUA per edge health; release
/// → gone everywhere.
#[test]
fn fleet_commit_answers_everywhere_validates_and_release_removes_it() {
    let fleet = Fleet::start("lifecycle", 2);
    let pm = &fleet.poolmgr;
    let sub = "omantel";
    let child = format!("{sub}.{POOL}");
    let ip = "203.0.113.7";

    let r = pm.reserve(sub);
    assert_eq!(r.status, 201, "reserve: {}\n{}", r.body, fleet.logs());
    let token = r.json()["reservationToken"]
        .as_str()
        .expect("reservation token")
        .to_string();
    let c = pm.commit(sub, &token, ip);
    assert_eq!(c.status, 200, "commit: {}\n{}", c.body, fleet.logs());
    for (name, addr) in fleet.dnsd_edges() {
        let took = fleet.wait_for(
            &format!("{name} answers the six records of {child}"),
            EDGE_ANSWER,
            || answers_allocation(addr, &child, ip),
        );
        eprintln!("fleet: {name} answered {child} {took:?} after the commit's 200");
    }
    let took = fleet.wait_for(
        &format!("knot answers the six records of {child}"),
        KNOT_ANSWER,
        || answers_allocation(fleet.knot.addr(), &child, ip),
    );
    eprintln!("fleet: knot answered {child} {took:?} after the commit's 200");

    // A LUA record in the child, answered after each edge's own health checks.
    let port = target_port();
    let _targets = [
        PortTarget::start(TARGET_SHARED, port),
        PortTarget::start(TARGET_DENIED_ON_EDGE2, port),
    ];
    let lb = format!("lb.{child}.");
    let lua = format!(
        "A \"ifportup({port}, {{'{TARGET_SHARED}', '{TARGET_DENIED_ON_EDGE2}'}}, {{selector='all'}})\""
    );
    let patch = fleet.primary_api(
        "PATCH",
        &format!("/api/v1/servers/localhost/zones/{child}."),
        Some(json!({ "rrsets": [{
            "name": lb, "type": "LUA", "ttl": 30, "changetype": "REPLACE",
            "records": [{ "content": lua, "disabled": false }],
        }]})),
    );
    assert_eq!(
        patch.status,
        204,
        "PATCH LUA: {}\n{}",
        patch.body,
        fleet.logs()
    );
    let both: BTreeSet<String> = [TARGET_SHARED, TARGET_DENIED_ON_EDGE2]
        .map(String::from)
        .into();
    let shared_only: BTreeSet<String> = [TARGET_SHARED.to_string()].into();
    let expected = [(&fleet.edges[0], both), (&fleet.edges[1], shared_only)];
    for (edge, want) in &expected {
        fleet.wait_for(
            &format!(
                "{} answers {lb} with {want:?} (its own health view)",
                edge.name
            ),
            HEALTH_SETTLE,
            || a_set(edge.dns, &lb) == *want,
        );
    }
    // Each edge reports its own checks: 127.0.77.2 up on edge 1, down on edge 2.
    let denied_target = format!("{TARGET_DENIED_ON_EDGE2}:{port}");
    for (edge, up) in [(&fleet.edges[0], true), (&fleet.edges[1], false)] {
        let checks = edge.api_get("/api/v1/health-checks");
        assert_eq!(checks.status, 200, "{}: {}", edge.name, checks.body);
        let status = checks.json()["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["target"] == denied_target.as_str())
            .map(|c| c["status"].as_str().unwrap_or_default().to_string());
        assert_eq!(
            status.as_deref(),
            Some(if up { "up" } else { "down" }),
            "{}'s health check of {denied_target}: {}",
            edge.name,
            checks.body
        );
        let metrics = edge.api_get("/metrics").body;
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("dnsd_lua_health_check_up{") && l.contains(denied_target.as_str())
            })
            .unwrap_or_else(|| panic!("{}: no health metric for {denied_target}", edge.name));
        assert!(
            line.ends_with(if up { " 1" } else { " 0" }),
            "{}: {line}",
            edge.name
        );
    }

    // unbound, trusting only the pool zone's DS, against each node in turn.
    let ds = pm.pool_ds();
    let stubs = [format!("{POOL}."), format!("{child}.")];
    let stub_refs: Vec<&str> = stubs.iter().map(String::as_str).collect();
    for (name, addr) in fleet.nameservers() {
        let unbound = Unbound::start(addr, &format!("{POOL}."), &ds, &stub_refs, false);
        let keys = assert_validated(&unbound, name, &format!("{child}."), RecordType::DNSKEY);
        assert!(
            keys.answer().iter().any(|(_, t, _)| t == "DNSKEY"),
            "{name}: {}",
            keys.summary()
        );
        for host in six_names(&child) {
            let r = assert_validated(&unbound, name, &host, RecordType::A);
            assert_eq!(a_records(&r, &host), [ip], "{name}: {host}");
        }
        // LUA answers are signed online by the edges; Knot holds the record as data.
        if name.starts_with("edge") {
            let r = assert_validated(&unbound, name, &lb, RecordType::A);
            assert!(!a_records(&r, &lb).is_empty(), "{name}: {}", r.summary());
        }
    }

    let rel = pm.release(sub);
    assert_eq!(rel.status, 200, "release: {}\n{}", rel.body, fleet.logs());
    for (name, addr) in fleet.dnsd_edges() {
        fleet.wait_for(
            &format!("{name} stops serving {child}"),
            EDGE_ANSWER,
            || stopped_serving(addr, &child),
        );
    }
    fleet.wait_for("knot stops serving the child", KNOT_ANSWER, || {
        stopped_serving(fleet.knot.addr(), &child)
    });
}

/// `burst-NN` and the address its records point at.
fn burst_allocation(i: usize) -> (String, String) {
    (format!("burst-{i:02}"), format!("198.51.100.{}", i + 1))
}

/// Starts `BURST` allocations on a thread; `done` counts the finished ones. The
/// thread returns each allocation's (reserve, commit) statuses.
fn start_burst(pm: Arc<Poolmgr>, done: Arc<AtomicUsize>) -> thread::JoinHandle<Vec<(u16, u16)>> {
    thread::spawn(move || {
        (0..BURST)
            .map(|i| {
                let (sub, ip) = burst_allocation(i);
                let statuses = pm.allocate(&sub, &ip);
                done.fetch_add(1, Ordering::SeqCst);
                statuses
            })
            .collect()
    })
}

/// Waits (bounded) until `done` reaches `n`.
fn wait_done(fleet: &Fleet, done: &AtomicUsize, n: usize) {
    fleet.wait_for(&format!("{n} allocations done"), CONVERGE, || {
        done.load(Ordering::SeqCst) >= n
    });
}

/// The allocations whose reserve (201) and commit (200) were both acknowledged.
fn acknowledged(statuses: &[(u16, u16)]) -> Vec<usize> {
    (0..statuses.len())
        .filter(|&i| statuses[i] == (201, 200))
        .collect()
}

/// Waits until `addr` serves every allocation in `which`; the ones still missing.
fn missing_after(addr: SocketAddr, which: &[usize], within: Duration) -> Vec<usize> {
    let start = Instant::now();
    loop {
        let missing: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| {
                let (sub, ip) = burst_allocation(i);
                !answers_apex(addr, &format!("{sub}.{POOL}"), &ip)
            })
            .collect();
        if missing.is_empty() || start.elapsed() > within {
            return missing;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until every node serves every allocation in `which`.
fn wait_converged(fleet: &Fleet, which: &[usize], what: &str) {
    let start = Instant::now();
    for (name, addr) in fleet.nameservers() {
        let missing = missing_after(addr, which, CONVERGE.saturating_sub(start.elapsed()));
        assert!(
            missing.is_empty(),
            "{name} does not serve {what} {missing:?} {CONVERGE:?} after the burst\n{}",
            fleet.logs()
        );
    }
    eprintln!(
        "fleet: every node serves the {} {what} {:?} after the burst",
        which.len(),
        start.elapsed()
    );
}

/// An edge killed with SIGKILL during a burst serves its stored copies at once when it
/// comes back, and then catches up with everything.
#[test]
fn fleet_edge_killed_during_a_burst_converges_after_restart() {
    // Commit waits for one edge: the other is down for part of the burst.
    let mut fleet = Fleet::start("edge-kill", 1);
    let done = Arc::new(AtomicUsize::new(0));
    let worker = start_burst(fleet.poolmgr.clone(), done.clone());
    wait_done(&fleet, &done, 10);
    // The first ten, once edge 1 serves them (commit waited for one edge, maybe the
    // other): what it must serve from its stored copies after the restart.
    let before_kill: Vec<usize> = (0..10).collect();
    let missing = missing_after(fleet.edges[0].dns, &before_kill, EDGE_ANSWER);
    assert!(
        missing.is_empty(),
        "edge 1 lags: {missing:?}\n{}",
        fleet.logs()
    );
    fleet.edges[0].kill9();
    wait_done(&fleet, &done, 25);
    fleet.edges[0].start();
    let edge = fleet.edges[0].dns;
    let missing = missing_after(edge, &before_kill, Duration::from_secs(1));
    assert!(
        missing.is_empty(),
        "edge 1 does not serve {missing:?} (allocated before it was killed) at once after \
         its restart\n{}",
        fleet.logs()
    );
    let statuses = join_burst(&fleet, worker);
    let acked = acknowledged(&statuses);
    assert_eq!(
        acked.len(),
        BURST,
        "with the primary up every allocation is acknowledged: {statuses:?}\n{}",
        fleet.logs()
    );
    wait_converged(&fleet, &acked, "allocations");
}

/// Joins the burst thread within [`CONVERGE`] (each request is bounded by the HTTP
/// client's timeout, so a stuck poolmgr fails the test rather than hanging it).
fn join_burst(fleet: &Fleet, worker: thread::JoinHandle<Vec<(u16, u16)>>) -> Vec<(u16, u16)> {
    fleet.wait_for("the burst to finish", CONVERGE * 2, || worker.is_finished());
    worker.join().expect("burst thread")
}

/// The primary killed with SIGKILL mid-burst and restarted on the same data: no change
/// it acknowledged is lost on any node.
#[test]
fn fleet_primary_restarted_mid_burst_loses_no_acknowledged_change() {
    let mut fleet = Fleet::start("primary-restart", 1);
    let done = Arc::new(AtomicUsize::new(0));
    let worker = start_burst(fleet.poolmgr.clone(), done.clone());
    wait_done(&fleet, &done, 15);
    fleet.primary.kill9();
    thread::sleep(Duration::from_millis(500));
    fleet.primary.start();
    let statuses = join_burst(&fleet, worker);
    let acked = acknowledged(&statuses);
    assert!(
        acked.len() >= 15,
        "the allocations before the kill were acknowledged: {statuses:?}\n{}",
        fleet.logs()
    );
    wait_converged(&fleet, &acked, "acknowledged allocations");
    // Accepted with 202 ("DNS not done yet"): poolmgr's worker finishes them.
    let accepted: Vec<usize> = (0..BURST)
        .filter(|&i| statuses[i].0 == 201 && statuses[i].1 == 202)
        .collect();
    eprintln!(
        "fleet: {} acknowledged (200), {} accepted (202), statuses {statuses:?}",
        acked.len(),
        accepted.len()
    );
    wait_converged(&fleet, &accepted, "accepted (202) allocations");
}
