//! A whole fleet on loopback for the fleet end-to-end test (`e2e/fleet.rs`) and the
//! fleet benchmark (`bench/src/bin/fleet_bench.rs`): a dnsd primary with the API over
//! TLS, a catalog zone and online DNSSEC; dnsd edges consuming the catalog and fetching
//! zone keys from the primary's API; optionally Knot consuming the same catalog (the
//! zones conventionally signed); poolmgr allocating names through the primary.
//!
//! The command lines are the ones README.md's "A three-node fleet" gives, with loopback
//! ports from [`free_port`]. Keys (API keys, TSIG secrets) are fixed test values; API
//! keys reach the servers in 0600 files, as an operator would pass them.
//!
//! poolmgr's HTTP client trusts only the public web roots, so it reaches the primary's
//! API through a [`TlsForwarder`] that does the TLS and the certificate check for it.
//!
//! Every wait is bounded. Servers are children of the calling process (killed with it);
//! dropping a [`Fleet`] kills them all.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

use crate::http::{Http, request, wait_http};
use crate::peers::{Peer, TsigSpec, reserve_addr};
use crate::tls_loopback::{TestCa, TlsForwarder};
use crate::{
    Query, Reply, Server, flag, free_port, rcode, scratch_dir, spawn_reaped, udp_exchange,
    workspace_bin,
};

/// The pool domain poolmgr allocates under.
pub const POOL: &str = "omani.works";
/// The catalog zone the primary produces and the edges and Knot consume.
pub const CATALOG: &str = "catalog.fleet.";
/// The key the dnsd edges transfer with (plain zone data: they sign themselves).
pub const FLEET_KEY: &str = "fleet";
const FLEET_SECRET: &str = "ZmxlZXQtZTJlLWVkZ2UtdHJhbnNmZXItc2VjcmV0LTMy";
/// The key Knot transfers with, listed in `--allow-transfer-signed`.
pub const KNOT_KEY: &str = "knot";
const KNOT_SECRET: &str = "a25vdC1lMmUtc2lnbmVkLXRyYW5zZmVyLXNlY3JldDMy";
/// The primary's API key (also the edges' key-source key).
pub const PRIMARY_API_KEY: &str = "fleet-primary-api-key-0123456789";
/// The edges' own API key.
pub const EDGE_API_KEY: &str = "fleet-edge-api-key-0123456789";
/// poolmgr's caller token.
pub const CALLER: &str = "fleet-caller-token-0123456789abcdef";
const OPERATOR: &str = "fleet-operator-token-0123456789abcdef";
/// How long a fresh fleet may take until every node serves the pool zone (Knot
/// applies a catalog change by reconfiguring, then transfers the member).
pub const FLEET_START: Duration = Duration::from_secs(15);

/// The TSIG key of the dnsd edges, as `--tsig-key` takes it.
pub fn fleet_tsig() -> String {
    format!("hmac-sha256:{FLEET_KEY}:{FLEET_SECRET}")
}

/// The TSIG key of Knot, as `--tsig-key` takes it.
pub fn knot_tsig() -> String {
    format!("hmac-sha256:{KNOT_KEY}:{KNOT_SECRET}")
}

/// Knot's key as the peer harness spells it.
pub fn knot_tsig_spec() -> TsigSpec {
    TsigSpec::hmac_sha256(KNOT_KEY, KNOT_SECRET)
}

fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

/// A fresh 127.0.0.1 address with a port free for UDP and TCP.
pub fn loopback_addr() -> SocketAddr {
    SocketAddr::new(localhost(), free_port(localhost()))
}

/// A secret written to a file only its owner reads (keys never go on command lines
/// here, as an operator would do it).
pub fn secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = fs::File::create(&path).expect("create secret file");
    f.write_all(text.as_bytes()).expect("write secret file");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod 0600");
    path
}

//----------- dnsd nodes ------------------------------------------------------------------------

/// A dnsd that can be killed and started again on the same ports and data.
pub struct Node {
    /// For messages: "primary", "edge 1", ...
    pub name: &'static str,
    server: Option<Server>,
    /// Where it answers DNS (UDP and TCP).
    pub dns: SocketAddr,
    /// Where its API listens.
    pub api: SocketAddr,
    args: Vec<String>,
}

impl Node {
    /// A node at `dns` with its API at `api` (plain HTTP unless `args` say TLS).
    pub fn new(name: &'static str, dns: SocketAddr, api: SocketAddr, args: Vec<String>) -> Node {
        Node {
            name,
            server: None,
            dns,
            api,
            args,
        }
    }

    /// Starts it and waits until DNS answers and the API accepts connections.
    pub fn start(&mut self) {
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
    pub fn kill9(&mut self) {
        self.server = None;
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Server::pid)
    }

    /// Its stderr (tail) and command line, for failure messages.
    pub fn log(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.context())
            .unwrap_or_else(|| format!("{} is not running", self.name))
    }

    /// A GET on this node's plain-HTTP API.
    pub fn api_get(&self, path: &str) -> Http {
        request(self.api, "GET", path, &[("X-API-Key", EDGE_API_KEY)], None)
    }
}

//----------- poolmgr ---------------------------------------------------------------------------

/// `poolmgr hash-token`: the configuration entry for a bearer token.
pub fn token_entry(scope: &str, token: &str) -> String {
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

/// poolmgr on SQLite, talking to the primary's API over TLS (trusting the test CA with
/// `PDM_PDNS_CA_FILE`), watching the edges as its fleet.
pub struct Poolmgr {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Poolmgr {
    /// Starts poolmgr against the API at `api_url` (its certificate checked against
    /// `ca`), with its database and log in `db_dir`, `edges` as its fleet nameservers
    /// and `POOLMGR_COMMIT_WAIT`; waits until `/healthz` answers 200 (the pool zone
    /// exists and is signed).
    pub fn start(
        api_url: &str,
        ca: &Path,
        db_dir: &Path,
        edges: &[SocketAddr],
        commit_wait: usize,
    ) -> Poolmgr {
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
            .env("PDM_PDNS_CA_FILE", ca)
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

    /// poolmgr's log so far (JSON lines).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request with the caller token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Http {
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
    pub fn pool_ds(&self) -> Vec<String> {
        let health = self.call("GET", "/healthz", None);
        assert_eq!(health.status, 200, "{}", health.body);
        let ds = health.json()["ds"][POOL][0]
            .as_str()
            .unwrap_or_else(|| panic!("no DS for {POOL} in /healthz: {}", health.body))
            .to_string();
        ds.split_whitespace().map(str::to_string).collect()
    }

    /// `POST …/reserve`.
    pub fn reserve(&self, sub: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/reserve"),
            Some(json!({ "subdomain": sub, "createdBy": "fleet-e2e" })),
        )
    }

    /// `POST …/commit`.
    pub fn commit(&self, sub: &str, token: &str, ip: &str) -> Http {
        self.call(
            "POST",
            &format!("/api/v1/pool/{POOL}/commit"),
            Some(json!({ "subdomain": sub, "reservationToken": token,
                         "sovereignFQDN": format!("{sub}.{POOL}"), "loadBalancerIP": ip })),
        )
    }

    /// `DELETE …/release`.
    pub fn release(&self, sub: &str) -> Http {
        self.call(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(json!({ "subdomain": sub })),
        )
    }

    /// Reserve and commit `sub` at `ip`: the two HTTP statuses (commit 0 when the
    /// reserve gave no token).
    pub fn allocate(&self, sub: &str, ip: &str) -> (u16, u16) {
        let r = self.reserve(sub);
        let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
        let token = match body.get("reservationToken").and_then(Value::as_str) {
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

//----------- the fleet -------------------------------------------------------------------------

/// What varies between fleets.
#[derive(Clone, Debug, Default)]
pub struct FleetOptions {
    /// `POOLMGR_COMMIT_WAIT`: how many edges a commit waits for (0: none).
    pub commit_wait: usize,
    /// Start a Knot catalog consumer too.
    pub knot: bool,
    /// `--lua-health-deny` prefixes for edge 2 (its own view of what is reachable).
    pub edge2_health_deny: Vec<String>,
}

/// Primary, two edges, Knot and poolmgr, started in that order.
pub struct Fleet {
    // Field order is drop order: poolmgr first, the primary last.
    /// poolmgr (shared with threads that run allocations).
    pub poolmgr: Arc<Poolmgr>,
    /// Knot consuming the catalog, when asked for.
    pub knot: Option<Peer>,
    /// The dnsd edges.
    pub edges: [Node; 2],
    /// The dnsd primary.
    pub primary: Node,
    forwarder: TlsForwarder,
    _ca: TestCa,
    dir: PathBuf,
}

impl Fleet {
    /// The fleet, up; poolmgr has bootstrapped the pool zone and every node serves it.
    pub fn start(tag: &str, options: &FleetOptions) -> Fleet {
        let dir = scratch_dir(&format!("fleet-{tag}"));
        let ca = TestCa::new();
        let primary_key = secret_file(&dir, "primary-api.key", PRIMARY_API_KEY);
        let edge_key = secret_file(&dir, "edge-api.key", EDGE_API_KEY);
        let (primary_dns, primary_api) = (loopback_addr(), loopback_addr());
        let edge_addrs = [
            (loopback_addr(), loopback_addr()),
            (loopback_addr(), loopback_addr()),
        ];
        let knot_addr = options.knot.then(reserve_addr);

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
            fleet_tsig(),
            "--tsig-key".into(),
            knot_tsig(),
            "--allow-transfer".into(),
            format!("127.0.0.0/8:{FLEET_KEY}"),
            "--allow-transfer-signed".into(),
            format!("127.0.0.0/8:{KNOT_KEY}"),
        ];
        for (edge_dns, _) in &edge_addrs {
            primary_args.push("--also-notify".into());
            primary_args.push(format!("{edge_dns}:{FLEET_KEY}"));
        }
        if let Some(knot) = knot_addr {
            primary_args.push("--also-notify".into());
            primary_args.push(format!("{knot}:{KNOT_KEY}"));
        }
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
                fleet_tsig(),
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
                for prefix in &options.edge2_health_deny {
                    args.push("--lua-health-deny".into());
                    args.push(prefix.clone());
                }
            }
            let mut edge = Node::new(if i == 0 { "edge 1" } else { "edge 2" }, dns, api, args);
            edge.start();
            edge
        });
        let knot = knot_addr
            .map(|addr| Peer::knot_catalog_consumer(addr, CATALOG, primary_dns, &knot_tsig_spec()));
        let poolmgr = Poolmgr::start(
            &format!("https://{primary_api}"),
            &ca.ca_pem(),
            &dir,
            &[edges[0].dns, edges[1].dns],
            options.commit_wait,
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
            fleet.wait_for(&format!("{name} serves the pool zone"), FLEET_START, || {
                serves_zone(addr, &pool)
            });
        }
        fleet
    }

    /// Every node that must serve the pool's zones: name and DNS address.
    pub fn nameservers(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut all = vec![
            ("primary", self.primary.dns),
            ("edge 1", self.edges[0].dns),
            ("edge 2", self.edges[1].dns),
        ];
        all.extend(self.knot.as_ref().map(|k| ("knot", k.addr())));
        all
    }

    /// The dnsd edges only.
    pub fn dnsd_edges(&self) -> Vec<(&'static str, SocketAddr)> {
        self.edges.iter().map(|e| (e.name, e.dns)).collect()
    }

    /// Everything the fleet logged, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- primary ---\n{}\n--- edge 1 ---\n{}\n--- edge 2 ---\n{}\n--- knot (tail) ---\n{}\n--- poolmgr (tail) ---\n{}",
            self.primary.log(),
            self.edges[0].log(),
            self.edges[1].log(),
            self.knot
                .as_ref()
                .map(|k| tail(&k.log(), 40))
                .unwrap_or_default(),
            tail(&self.poolmgr.log_text(), 20)
        )
    }

    /// Polls `cond` until it holds, or panics after `within` with every log.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        mut cond: impl FnMut() -> bool,
    ) -> Duration {
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
    pub fn primary_api(&self, method: &str, path: &str, body: Option<Value>) -> Http {
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

/// The last `lines` lines of `s`.
pub fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

//----------- DNS expectations ------------------------------------------------------------------

/// One UDP query with a short timeout; `None` when nothing answers (a node down).
pub fn ask(addr: SocketAddr, name: &str, qtype: RecordType) -> Option<Reply> {
    let q = Query::new(name, qtype).to_bytes();
    udp_exchange(addr, &q, Duration::from_millis(500)).map(Reply::parse)
}

/// The node answers authoritatively for `zone`'s apex SOA.
pub fn serves_zone(addr: SocketAddr, zone: &str) -> bool {
    ask(addr, zone, RecordType::SOA).is_some_and(|r| {
        r.rcode() == rcode::NOERROR
            && r.has(flag::AA)
            && r.answer().iter().any(|(n, t, _)| n == zone && t == "SOA")
    })
}

/// The six names of PDM's records for a child (`anything.` stands for the wildcard).
pub fn six_names(child: &str) -> [String; 6] {
    ["", "anything.", "console.", "api.", "gitea.", "harbor."].map(|n| format!("{n}{child}."))
}

/// The node answers every one of the child's six records with `ip`, authoritatively.
pub fn answers_allocation(addr: SocketAddr, child: &str, ip: &str) -> bool {
    six_names(child).iter().all(|name| {
        ask(addr, name, RecordType::A).is_some_and(|r| {
            r.rcode() == rcode::NOERROR
                && r.has(flag::AA)
                && a_records(&r, name) == [ip.to_string()]
        })
    })
}

/// Cheaper check for bursts: the child's apex A only.
pub fn answers_apex(addr: SocketAddr, child: &str, ip: &str) -> bool {
    let name = format!("{child}.");
    ask(addr, &name, RecordType::A).is_some_and(|r| {
        r.rcode() == rcode::NOERROR && r.has(flag::AA) && a_records(&r, &name) == [ip.to_string()]
    })
}

/// The child is gone: the pool zone answers NXDOMAIN for its apex (asked without DO;
/// with DO a compact-denial signer answers NOERROR), and no SOA of the child comes back.
pub fn stopped_serving(addr: SocketAddr, child: &str) -> bool {
    let name = format!("{child}.");
    ask(addr, &name, RecordType::SOA).is_some_and(|r| {
        r.rcode() == rcode::NXDOMAIN && !r.answer().iter().any(|(n, t, _)| n == &name && t == "SOA")
    })
}

pub fn a_records(r: &Reply, name: &str) -> Vec<String> {
    r.answer()
        .into_iter()
        .filter(|(n, t, _)| n == name && t == "A")
        .map(|(_, _, v)| v)
        .collect()
}

/// The A addresses a node answers for `name` (empty on no answer or an error).
pub fn a_set(addr: SocketAddr, name: &str) -> BTreeSet<String> {
    ask(addr, name, RecordType::A)
        .filter(|r| r.rcode() == rcode::NOERROR)
        .map(|r| a_records(&r, name).into_iter().collect())
        .unwrap_or_default()
}
