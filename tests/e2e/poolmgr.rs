//! poolmgr end to end: the real `poolmgr` binary driving the real `dnsd`
//! through its PowerDNS-compatible API, on SQLite and on a real PostgreSQL
//! server (`POOLMGR_TEST_POSTGRES_URL`, which `.ci/run` sets).
//!
//! What a caller sees (PDM's wire contract) is checked over HTTP; what DNS
//! does is checked with real queries to dnsd and through unbound, which
//! validates the child's records from the pool zone's DS alone. Crashes are
//! real `kill -9`s, with the DNS server black-holed by a proxy so the kill
//! lands between the database commit and the DNS write.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::http::{Http, request, wait_http};
use e2e::unbound::Unbound;
use e2e::{
    Query, Reply, Server, flag, free_port, rcode, scratch_dir, spawn_reaped, wait_until,
    workspace_bin, zone,
};
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

pub(crate) const DNS_KEY: &str = "pdns-key-for-poolmgr-tests";
pub(crate) const CALLER: &str = "caller-token-0123456789abcdef";
pub(crate) const OPERATOR: &str = "operator-token-0123456789abcdef";
pub(crate) const POOL: &str = "omani.works";

pub(crate) fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

//----------- dnsd --------------------------------------------------------------------------

/// dnsd with its API, restartable on the same ports and data.
struct Dns {
    server: Option<Server>,
    udp_port: u16,
    api: SocketAddr,
    data: PathBuf,
}

impl Dns {
    fn start() -> Dns {
        let mut dns = Dns {
            server: None,
            udp_port: free_port(localhost()),
            api: SocketAddr::new(localhost(), free_port(localhost())),
            data: scratch_dir("poolmgr-dnsd"),
        };
        dns.restart();
        dns
    }

    fn restart(&mut self) {
        self.server = None;
        let server = Server::builder()
            .zone("example.test", zone("example.test.zone"))
            .args([
                "--listen".to_string(),
                format!("127.0.0.1:{}", self.udp_port),
            ])
            .api(self.api, DNS_KEY, &self.data)
            .start();
        wait_http(self.api);
        self.server = Some(server);
    }

    fn stop(&mut self) {
        self.server = None;
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::new(localhost(), self.udp_port)
    }

    fn ask_plain(&self, name: &str, qtype: RecordType) -> Reply {
        self.server
            .as_ref()
            .expect("dnsd running")
            .udp(&Query::new(name, qtype))
    }

    fn ask(&self, name: &str, qtype: RecordType) -> Reply {
        self.server
            .as_ref()
            .expect("dnsd running")
            .udp(&Query::new(name, qtype).edns().dnssec_ok())
    }
}

//----------- a proxy that can black-hole the DNS server's API -------------------------------

/// Forwards TCP to `upstream` while open; closing it cuts every forwarded
/// connection (so no pooled keep-alive connection slips through) and from
/// then on accepts and holds connections without a byte in either
/// direction (a hung DNS server).
struct Gate {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Gate {
    fn new(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (flag, conns) = (open.clone(), live.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if !flag.load(Ordering::SeqCst) {
                    held.push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                conns.lock().unwrap().push(client.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Gate { addr, open, live }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
        if !open {
            for c in self.live.lock().unwrap().drain(..) {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

//----------- poolmgr -----------------------------------------------------------------------

fn poolmgr_bin() -> PathBuf {
    workspace_bin("poolmgr", "POOLMGR_BIN")
}

/// `poolmgr hash-token`: the configuration line for a token.
fn token_entry(scope: &str, token: &str) -> String {
    hash_token(&["--scope", scope], token)
}

/// `poolmgr hash-token ARGS` with `token` on standard input.
fn hash_token(args: &[&str], token: &str) -> String {
    let mut child = Command::new(poolmgr_bin())
        .arg("hash-token")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A database for one test: a SQLite file, or a fresh PostgreSQL database.
pub(crate) fn database(backend: &str) -> Option<String> {
    match backend {
        "sqlite" => Some(format!(
            "sqlite://{}",
            scratch_dir("poolmgr-db").join("pool.db").display()
        )),
        _ => {
            let Ok(admin) = std::env::var("POOLMGR_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI must set POOLMGR_TEST_POSTGRES_URL"
                );
                eprintln!("POOLMGR_TEST_POSTGRES_URL unset: skipping the PostgreSQL variant");
                return None;
            };
            // The process id repeats across CI containers and the database server may
            // outlive a run, so the name also carries the wall clock and a counter.
            static N: AtomicU32 = AtomicU32::new(0);
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let name = format!(
                "poolmgr_e2e_{}_{}_{}",
                std::process::id(),
                since_epoch.as_nanos(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let out = Command::new("psql")
                .arg(&admin)
                .args(["-qc", &format!("CREATE DATABASE {name}")])
                .output()
                .expect("psql");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (base, _) = admin.rsplit_once('/').unwrap();
            Some(format!("{base}/{name}"))
        }
    }
}

pub(crate) struct Poolmgr {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

pub(crate) struct PoolmgrConfig {
    pub(crate) database_url: String,
    pub(crate) pdns: SocketAddr,
    pub(crate) extra_env: Vec<(String, String)>,
}

impl Poolmgr {
    pub(crate) fn start(cfg: &PoolmgrConfig) -> Poolmgr {
        Poolmgr::start_logging_to(cfg, None)
    }

    /// Starts poolmgr with its log (stdout) going to `stdout` instead of
    /// the log file.
    fn start_logging_to(cfg: &PoolmgrConfig, stdout: Option<Stdio>) -> Poolmgr {
        let addr = SocketAddr::new(localhost(), free_port(localhost()));
        let log = scratch_dir("poolmgr-log").join("stdout");
        let mut cmd = Command::new(poolmgr_bin());
        cmd.env_clear()
            .env("POOLMGR_LISTEN", addr.to_string())
            .env("PDM_DATABASE_URL", &cfg.database_url)
            .env("PDM_PDNS_BASE_URL", format!("http://{}", cfg.pdns))
            .env("PDM_PDNS_API_KEY", DNS_KEY)
            .env("DYNADOT_MANAGED_DOMAINS", POOL)
            .env("PDM_NAMESERVERS", "ns1.openova.io,ns2.openova.io")
            .env("PDM_SWEEPER_INTERVAL", "1s")
            .env("POOLMGR_INLINE_DNS_TIMEOUT", "3s")
            // A crashed poolmgr's claim on a work item lapses after this.
            .env("POOLMGR_OUTBOX_LEASE", "4s")
            .env(
                "POOLMGR_AUTH_TOKENS",
                format!(
                    "{},{}",
                    token_entry("caller", CALLER),
                    token_entry("operator", OPERATOR)
                ),
            )
            .envs(cfg.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(stdout.unwrap_or_else(|| std::fs::File::create(&log).unwrap().into()))
            .stderr(Stdio::inherit());
        let child = spawn_reaped(cmd).expect("spawn poolmgr");
        let mut p = Poolmgr { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("poolmgr exited {status}: {}", p.log_text());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
                && p.get("/healthz", None).status == 200
            {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "poolmgr did not start: {}",
                p.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Http {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| ("Authorization", a))
            .into_iter()
            .collect();
        let body = body.map(|b| b.to_string());
        request(self.addr, method, path, &headers, body.as_deref())
    }

    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> Http {
        self.call("GET", path, token, None)
    }

    pub(crate) fn reserve(&self, sub: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/reserve"),
            Some(CALLER),
            Some(json!({ "subdomain": sub, "createdBy": "e2e" })),
        )
    }

    pub(crate) fn commit(&self, sub: &str, token: &str, ip: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/commit"),
            Some(CALLER),
            Some(json!({ "subdomain": sub, "reservationToken": token,
                         "sovereignFQDN": format!("{sub}.{POOL}"), "loadBalancerIP": ip })),
        )
    }

    fn release(&self, sub: &str) -> Http {
        self.call(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(CALLER),
            Some(json!({ "subdomain": sub })),
        )
    }

    fn check(&self, sub: &str) -> Value {
        let r = self.get(
            &format!("/api/v1/pool/{POOL}/check?sub={sub}"),
            Some(CALLER),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Poolmgr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//----------- DNS expectations --------------------------------------------------------------

pub(crate) fn a_records(r: &Reply, name: &str) -> Vec<String> {
    r.answer()
        .into_iter()
        .filter(|(n, t, _)| n == name && t == "A")
        .map(|(_, _, v)| v)
        .collect()
}

/// The child is delegated from the pool zone: NS and DS at the cut.
fn delegated(dns: &Dns, child: &str) -> bool {
    let r = dns.ask(&format!("{child}."), RecordType::DS);
    r.rcode() == rcode::NOERROR
        && r.answer()
            .iter()
            .any(|(n, t, _)| n == &format!("{child}.") && t == "DS")
}

fn published(dns: &Dns, child: &str, ip: &str) -> bool {
    let name = format!("console.{child}.");
    a_records(&dns.ask(&name, RecordType::A), &name) == [ip.to_string()]
}

/// NXDOMAIN for the child's apex. Asked without DO: with DO the signed
/// parent gives compact denial (NOERROR, NXNAME in the NSEC bitmap).
fn gone(dns: &Dns, child: &str) -> bool {
    let r = dns.ask_plain(&format!("{child}."), RecordType::A);
    r.rcode() == rcode::NXDOMAIN
}

//----------- tests -------------------------------------------------------------------------

/// reserve → commit → answers validate from the pool's DS → release → NXDOMAIN.
fn lifecycle(backend: &str) {
    let Some(database_url) = database(backend) else {
        return;
    };
    let dns = Dns::start();
    let pm = Poolmgr::start(&PoolmgrConfig {
        database_url,
        pdns: dns.api,
        extra_env: vec![],
    });
    let sub = "omantel";
    let child = format!("{sub}.{POOL}");

    // Authentication first: nothing but /healthz without a token.
    let health = pm.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["managedDomains"], json!([POOL]));
    let pool_ds: Vec<String> = health.json()["ds"][POOL]
        .as_array()
        .expect("pool DS in /healthz")
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert!(!pool_ds.is_empty());
    let anon = pm.call(
        "POST",
        &format!("/api/v1/pool/{POOL}/reserve"),
        None,
        Some(json!({"subdomain": sub})),
    );
    assert_eq!(anon.status, 401);
    assert!(anon.header("www-authenticate").is_some());
    assert_eq!(
        pm.get(
            &format!("/api/v1/pool/{POOL}/list"),
            Some("wrong-token-0123456789")
        )
        .status,
        401
    );

    let r = pm.reserve(sub);
    assert_eq!(r.status, 201, "{}", r.body);
    let body = r.json();
    assert_eq!(body["state"], "reserved");
    assert_eq!(body["createdBy"], "e2e");
    let token = body["reservationToken"].as_str().unwrap().to_string();
    assert!(delegated(&dns, &child), "delegation + DS after reserve");
    assert_eq!(pm.check(sub)["reason"], "reserved-state");
    assert_eq!(pm.reserve(sub).status, 409);
    let bad = pm.reserve("api");
    assert_eq!((bad.status, bad.error()), (422, "reserved".to_string()));

    let c = pm.commit(sub, &token, "203.0.113.7");
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.json()["state"], "active");
    assert!(c.json().get("reservationToken").is_none());
    for name in ["", "console.", "api.", "gitea.", "harbor.", "anything."] {
        let q = format!("{name}{child}.");
        assert_eq!(
            a_records(&dns.ask(&q, RecordType::A), &q),
            ["203.0.113.7"],
            "{q}"
        );
    }
    // A retry of the same commit is a success, not 409 (§10.1).
    assert_eq!(pm.commit(sub, &token, "203.0.113.7").status, 200);

    // Listings: operator scope only, and never a token.
    let as_caller = pm.get(&format!("/api/v1/pool/{POOL}/list"), Some(CALLER));
    assert_eq!(as_caller.status, 403);
    let list = pm.get(&format!("/api/v1/pool/{POOL}/list"), Some(OPERATOR));
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["allocations"][0]["subdomain"], sub);
    assert!(!list.body.contains(&token));

    // A validating resolver that trusts only the pool zone.
    let fields: Vec<String> = pool_ds[0].split_whitespace().map(str::to_string).collect();
    let unbound = Unbound::start(
        dns.addr(),
        &format!("{POOL}."),
        &fields,
        &[&format!("{POOL}."), &format!("{child}.")],
        false,
    );
    for name in [format!("{child}."), format!("console.{child}.")] {
        let r = unbound.ask(&name, RecordType::A);
        assert_eq!(
            r.rcode(),
            rcode::NOERROR,
            "{}\n{}",
            r.summary(),
            unbound.log()
        );
        assert!(
            r.has(flag::AD),
            "{name} not validated: {}\n{}",
            r.summary(),
            unbound.log()
        );
        assert_eq!(a_records(&r, &name), ["203.0.113.7"]);
    }

    let rel = pm.release(sub);
    assert_eq!(rel.status, 200, "{}", rel.body);
    assert_eq!(rel.json()["freed"]["subdomain"], sub);
    assert!(gone(&dns, &child), "NXDOMAIN after release");
    assert!(!delegated(&dns, &child));
    // Compact denial: NOERROR with no answer (NXDOMAIN only with CO).
    let r = unbound.ask(&format!("x.{child}."), RecordType::A);
    assert!(
        [rcode::NOERROR, rcode::NXDOMAIN].contains(&r.rcode()) && r.answer().is_empty(),
        "{}",
        r.summary()
    );
    assert!(r.has(flag::AD), "denial validated: {}", r.summary());
    assert_eq!(pm.release(sub).status, 404);
    assert_eq!(pm.check(sub)["available"], true);

    // Metrics and the API description are there (with a token).
    let m = pm.get("/metrics", Some(OPERATOR));
    assert_eq!(m.status, 200);
    assert!(m.body.contains("poolmgr_dns_effects_applied_total"));
    let spec = pm.get("/openapi.json", Some(CALLER)).json();
    assert_eq!(spec["openapi"], "3.0.3");
    // The log is JSON, one object per line, and carries no token.
    let log = pm.log_text();
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{log}"
    );
    assert!(!log.contains(&token) && !log.contains(CALLER) && !log.contains(DNS_KEY));
}

#[test]
fn lifecycle_sqlite() {
    lifecycle("sqlite");
}

#[test]
fn lifecycle_postgres() {
    lifecycle("postgres");
}

/// Eight callers reserve one name at once: exactly one 201.
fn concurrent_reserves(backend: &str) {
    let Some(database_url) = database(backend) else {
        return;
    };
    let dns = Dns::start();
    let pm = Arc::new(Poolmgr::start(&PoolmgrConfig {
        database_url,
        pdns: dns.api,
        extra_env: vec![],
    }));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let pm = pm.clone();
            std::thread::spawn(move || pm.reserve("contested").status)
        })
        .collect();
    let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert!(delegated(&dns, &format!("contested.{POOL}")));
}

#[test]
fn concurrent_reserves_sqlite() {
    concurrent_reserves("sqlite");
}

#[test]
fn concurrent_reserves_postgres() {
    concurrent_reserves("postgres");
}

/// POSTs to a pool route on a thread, for a request expected to hang.
fn post_in_background(pm: &Poolmgr, route: &str, body: Value) -> std::thread::JoinHandle<Http> {
    let addr = pm.addr;
    let path = format!("/api/v1/pool/{POOL}/{route}");
    std::thread::spawn(move || {
        let auth = format!("Bearer {CALLER}");
        request(
            addr,
            "POST",
            &path,
            &[("Authorization", &auth)],
            Some(&body.to_string()),
        )
    })
}

/// kill -9 after the database commit and before the DNS write, for
/// reserve and for commit: the restarted poolmgr converges DNS.
fn crash_between_commit_and_dns(backend: &str) {
    let Some(database_url) = database(backend) else {
        return;
    };
    let dns = Dns::start();
    let gate = Gate::new(dns.api);
    let cfg = PoolmgrConfig {
        database_url,
        pdns: gate.addr,
        extra_env: vec![],
    };
    let child = format!("crash.{POOL}");

    let pm = Poolmgr::start(&cfg);
    gate.set_open(false);
    // The reserve hangs on the black-holed DNS server (its own timeout
    // would answer 201 after 3 s; the kill comes first).
    let pending = post_in_background(&pm, "reserve", json!({ "subdomain": "crash" }));
    wait_until(Duration::from_secs(3), "row committed", || {
        pm.check("crash")["reason"] == "reserved-state"
    });
    pm.kill9();
    let _ = pending.join();
    assert!(
        !delegated(&dns, &child),
        "nothing reached DNS before the crash"
    );

    gate.set_open(true);
    let pm = Poolmgr::start(&cfg);
    wait_until(Duration::from_secs(15), "delegation after restart", || {
        delegated(&dns, &child)
    });

    // The caller never saw its token; an operator releases the name and
    // the caller reserves it again, then the same crash around commit.
    assert_eq!(pm.release("crash").status, 200);
    assert!(gone(&dns, &child));
    let token = pm.reserve("crash").json()["reservationToken"]
        .as_str()
        .unwrap()
        .to_string();
    gate.set_open(false);
    let pending = post_in_background(
        &pm,
        "commit",
        json!({ "subdomain": "crash", "reservationToken": token, "loadBalancerIP": "198.51.100.9" }),
    );
    wait_until(Duration::from_secs(3), "row active", || {
        pm.check("crash")["reason"] == "active-state"
    });
    pm.kill9();
    let _ = pending.join();
    assert!(!published(&dns, &child, "198.51.100.9"));
    gate.set_open(true);
    let _pm = Poolmgr::start(&cfg);
    wait_until(Duration::from_secs(15), "records after restart", || {
        published(&dns, &child, "198.51.100.9")
    });
}

#[test]
fn crash_between_commit_and_dns_sqlite() {
    crash_between_commit_and_dns("sqlite");
}

#[test]
fn crash_between_commit_and_dns_postgres() {
    crash_between_commit_and_dns("postgres");
}

/// dnsd down during commit and release: 202, then the worker converges
/// once it is back, and a retried call answers 200.
#[test]
fn dns_server_down_during_commit_and_release() {
    let database_url = database("sqlite").unwrap();
    let mut dns = Dns::start();
    let pm = Poolmgr::start(&PoolmgrConfig {
        database_url,
        pdns: dns.api,
        extra_env: vec![],
    });
    let child = format!("down.{POOL}");
    let token = pm.reserve("down").json()["reservationToken"]
        .as_str()
        .unwrap()
        .to_string();

    dns.stop();
    let c = pm.commit("down", &token, "192.0.2.44");
    assert_eq!(c.status, 202, "{}", c.body);
    let body = c.json();
    assert_eq!(body["state"], "active");
    assert!(body["warning"].as_str().unwrap().contains("retry commit"));
    dns.restart();
    wait_until(Duration::from_secs(20), "records once dnsd is back", || {
        published(&dns, &child, "192.0.2.44")
    });
    assert_eq!(pm.commit("down", &token, "192.0.2.44").status, 200);

    dns.stop();
    let r = pm.release("down");
    assert_eq!(r.status, 202, "{}", r.body);
    // Still there for a retry; a retry while dnsd is down is 202 again.
    assert_eq!(pm.release("down").status, 202);
    dns.restart();
    let r = pm.release("down");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(gone(&dns, &child));
    assert_eq!(pm.release("down").status, 404);
}

/// A reservation left to lapse is swept: zone, delegation and row go.
/// Hardening item 2: a log reader that went away never fails a request.
/// Before, every request panicked after writing its state (the caller saw
/// a reset, and a retry a 409).
#[test]
fn a_closed_stdout_never_fails_a_request() {
    let database_url = database("sqlite").unwrap();
    let dns = Dns::start();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let pm = Poolmgr::start_logging_to(
        &PoolmgrConfig {
            database_url,
            pdns: dns.api,
            extra_env: vec![],
        },
        Some(writer.into()),
    );
    let r = pm.reserve("quiet");
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.json()["reservationToken"].as_str().unwrap().to_string();
    let r = pm.commit("quiet", &token, "192.0.2.44");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(pm.release("quiet").status, 200);
    let metrics = pm.get("/metrics", Some(OPERATOR)).body;
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("poolmgr_log_lines_dropped_total "))
        .expect("dropped-lines counter on /metrics")
        .parse()
        .unwrap();
    assert!(dropped > 0, "{metrics}");
}

#[test]
fn lapsed_reservations_are_torn_down() {
    let database_url = database("sqlite").unwrap();
    let dns = Dns::start();
    let pm = Poolmgr::start(&PoolmgrConfig {
        database_url,
        pdns: dns.api,
        extra_env: vec![("PDM_RESERVATION_TTL".into(), "2s".into())],
    });
    let child = format!("brief.{POOL}");
    assert_eq!(pm.reserve("brief").status, 201);
    assert!(delegated(&dns, &child));
    wait_until(
        Duration::from_secs(15),
        "teardown of the lapsed reservation",
        || gone(&dns, &child) && !delegated(&dns, &child),
    );
    let list = pm
        .get(&format!("/api/v1/pool/{POOL}/list"), Some(OPERATOR))
        .json();
    assert_eq!(list["allocations"], json!([]));
}

/// The OpenAPI document and the router agree, both ways: every route
/// poolmgr serves (its route table, which builds the router) is documented
/// with its method, and every documented operation is routed, that is
/// answered by a handler rather than the router's 404 or 405, when called
/// with the placeholders filled and an operator token.
#[test]
fn openapi_documents_exactly_the_served_routes() {
    let dns = Dns::start();
    let pm = Poolmgr::start(&PoolmgrConfig {
        database_url: database("sqlite").unwrap(),
        pdns: dns.api,
        extra_env: vec![],
    });
    let spec = pm.get("/openapi.json", Some(OPERATOR));
    assert_eq!(spec.status, 200, "{}", spec.body);
    let mut documented = BTreeSet::new();
    for (path, item) in spec.json()["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = ::poolmgr::api::routes()
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert!(served.len() > 10, "the route table: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served, not in /openapi.json: {undocumented:?}"
    );

    // The router's own 404, told apart from a handler's "no such allocation".
    let unrouted = pm.get("/api/v1/no-such-route", Some(OPERATOR));
    assert_eq!(unrouted.status, 404);
    assert_eq!(pm.reserve("documented").status, 201);
    for (method, path) in &documented {
        let url = path
            .replace("{domain}", POOL)
            .replace("{sub}", "documented")
            .replace("{registrar}", "cloudflare");
        assert!(!url.contains('{'), "no value for a placeholder of {path}");
        // An empty body: handlers refuse it (400/422) before any outside call.
        let body = matches!(method.as_str(), "POST" | "PUT" | "PATCH").then(|| json!({}));
        let r = pm.call(method, &url, Some(OPERATOR), body);
        assert!(
            r.status != 405 && !(r.status == 404 && r.body == unrouted.body),
            "{method} {path} is documented but not routed: {} {}",
            r.status,
            r.body
        );
    }
}

/// A second caller, configured under a name.
const OTHER_CALLER: &str = "crossplane-token-0123456789abcdef";

/// Hardening issue #19, end to end: another caller's token can neither
/// commit nor release a tenant's allocation, so its DNS stays up; an
/// operator token can. loadBalancerIP must be global unicast, refused
/// before anything changes. On SQLite the database files are 0600.
fn tenancy(backend: &str) {
    let Some(database_url) = database(backend) else {
        return;
    };
    let dns = Dns::start();
    let other = hash_token(&["--scope", "caller", "--name", "crossplane"], OTHER_CALLER);
    assert!(other.starts_with("crossplane=caller:"), "{other}");
    let operator = hash_token(&["--scope", "operator", "--name", "ops"], OPERATOR);
    let pm = Poolmgr::start(&PoolmgrConfig {
        database_url: database_url.clone(),
        pdns: dns.api,
        extra_env: vec![(
            "POOLMGR_AUTH_TOKENS".into(),
            format!("{},{other},{operator}", token_entry("caller", CALLER)),
        )],
    });
    let release_as = |token: &str, sub: &str| {
        pm.call(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub={sub}"),
            Some(token),
            None,
        )
    };
    let sub = "tenant";
    let child = format!("{sub}.{POOL}");
    let r = pm.reserve(sub);
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.json()["reservationToken"].as_str().unwrap().to_string();

    // Another caller, even holding the reservation token.
    let stolen = pm.call(
        "POST",
        &format!("/api/v1/pool/{POOL}/commit"),
        Some(OTHER_CALLER),
        Some(json!({ "subdomain": sub, "reservationToken": token, "loadBalancerIP": "203.0.113.66" })),
    );
    assert_eq!(
        (stolen.status, stolen.error()),
        (403, "not-owner".to_string()),
        "{}",
        stolen.body
    );

    // Loopback and the like are refused before the row is touched.
    for ip in [
        "127.0.0.1",
        "0.0.0.0",
        "169.254.0.1",
        "224.0.0.1",
        "10.0.0.1",
    ] {
        let c = pm.commit(sub, &token, ip);
        assert_eq!(
            (c.status, c.error()),
            (422, "invalid-lb-ip".to_string()),
            "{ip}: {}",
            c.body
        );
    }
    assert_eq!(pm.check(sub)["reason"], "reserved-state");

    let c = pm.commit(sub, &token, "203.0.113.7");
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(published(&dns, &child, "203.0.113.7"));

    // The live tenant's DNS survives another caller's release.
    let r = release_as(OTHER_CALLER, sub);
    assert_eq!(
        (r.status, r.error()),
        (403, "not-owner".to_string()),
        "{}",
        r.body
    );
    assert!(published(&dns, &child, "203.0.113.7"));
    assert!(delegated(&dns, &child));

    // Operators see the owner and may release anyone's allocation.
    let one = pm.get(
        &format!("/api/v1/pool/{POOL}/allocation/{sub}"),
        Some(OPERATOR),
    );
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(
        one.json()["owner"].as_str().unwrap().starts_with("token:"),
        "{}",
        one.body
    );
    let r = release_as(OPERATOR, sub);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(gone(&dns, &child));

    // The reservation token is nowhere in the log, nor in the database.
    assert!(!pm.log_text().contains(&token));
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{file} holds the reservation token in plaintext"
            );
        }
    }
}

#[test]
fn tenancy_sqlite() {
    tenancy("sqlite");
}

#[test]
fn tenancy_postgres() {
    tenancy("postgres");
}
