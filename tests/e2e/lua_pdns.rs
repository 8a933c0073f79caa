//! Differential test: dnsd and PowerDNS Authoritative (Debian's `pdns-server` with the
//! bind and geoip backends, 4.7.3 here) serve the same zone of LUA records
//! (`lua-diff.zone` as diff.test) on loopback, and must answer alike: the same RCODE, the
//! same answer RRset (as a set) and the same ECS option in the reply (family, source and
//! scope prefix), for clients in every network of the fixture MMDB, unknown ones, IPv4
//! and IPv6, with and without ECS.
//!
//! Names starting with `rand-` pick at random; for them the set of answers seen over
//! [`DRAWS`] queries is compared. The zone holds only what both implement; the
//! differences the spec lists for 4.7.3 (lua-records.md §14) stay out of it, each named
//! in the zone's header comment:
//! - picknamehashed/pickchashed (4.9+), pickselfweighted and the minimumFailures,
//!   interval, failOnIncompleteCheck and httpcode options (5.0+), headers and
//!   backupSelector='empty' (5.1+): 4.7.3 fails them;
//! - backupSelector over several sets: 5.1+ uses the first non-empty set, 4.7.3 all;
//! - pickclosest across the antimeridian (the `abs()` fix on master);
//! - createForward hex without a two-character prefix and 32-digit createForward6
//!   (4.8+), filterForward with an empty fallback (4.9+).
//!
//! Skipped, saying so, only when `pdns_server` or its geoip backend is not installed
//! (`.ci/run` installs both).

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use e2e::{
    Query, RecordType, Reply, Server, free_port, rcode, scratch_dir, spawn_reaped, udp_exchange,
    zone,
};

use crate::lua::{Target, ecs, geo_args, geo_db, port_free_on, q_ecs, reply_ecs};

/// Queries per random name and client: a value of probability 1/3 is missed with
/// probability (2/3)^30 < 1e-5.
const DRAWS: usize = 30;

/// How long the servers may take to agree on settled health states.
const SETTLE: Duration = Duration::from_secs(15);

/// Addresses the health-check listeners bind.
const LISTEN_IPS: &[&str] = &[
    "127.0.56.1",
    "127.0.56.2",
    "127.0.56.5",
    "127.0.56.7",
    "127.0.43.1",
    "127.0.43.2",
];

//----------- PowerDNS --------------------------------------------------------------------------

/// Where Debian puts PowerDNS's backends.
const BACKEND_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pdns",
    "/usr/lib/aarch64-linux-gnu/pdns",
    "/usr/lib/pdns",
];

/// `pdns_server`, if it and the geoip backend are installed.
fn pdns_installed() -> Option<PathBuf> {
    let server = ["/usr/sbin/pdns_server", "/usr/bin/pdns_server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())?;
    BACKEND_DIRS
        .iter()
        .any(|d| Path::new(d).join("libgeoipbackend.so").exists())
        .then_some(server)
}

/// A running `pdns_server` (bind + geoip backends, LUA records and ECS on), stopped on
/// drop.
struct Pdns {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Pdns {
    /// `lua` is the `enable-lua-records` value: `yes` (a fresh Lua state per query)
    /// or `shared` (one per thread).
    fn start(bin: &Path, origin: &str, zone_file: &Path, mmdb: &Path, lua: &str) -> Pdns {
        let dir = scratch_dir("pdns-lua");
        let d = dir.display();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let addr = SocketAddr::new(ip, free_port(ip));
        fs::write(
            dir.join("named.conf"),
            format!(
                "zone \"{origin}\" {{ type master; file \"{}\"; }};\n",
                zone_file.display()
            ),
        )
        .expect("write named.conf");
        // The geoip backend serves no zones of its own here; it only answers the LUA
        // functions' lookups.
        fs::write(dir.join("geo.yaml"), "domains: []\n").expect("write geo.yaml");
        // No security poll (it would resolve a name on the Internet), no API, no syslog.
        let conf = format!(
            "launch=bind,geoip\nbind-config={d}/named.conf\n\
             geoip-database-files=mmdb:{mmdb}\ngeoip-zones-file={d}/geo.yaml\n\
             local-address={addr}\nquery-local-address=127.0.0.1\n\
             enable-lua-records={lua}\nedns-subnet-processing=yes\n\
             lua-health-checks-interval=1\n\
             guardian=no\ndaemon=no\ndisable-syslog=yes\nloglevel=4\nsocket-dir={d}\n\
             webserver=no\napi=no\nsecurity-poll-suffix=\n\
             receiver-threads=1\ndistributor-threads=1\n",
            mmdb = mmdb.display(),
        );
        fs::write(dir.join("pdns.conf"), conf).expect("write pdns.conf");
        let log = fs::File::create(dir.join("log")).expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config-dir={d}"))
            .current_dir(&dir)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0);
        let child = spawn_reaped(cmd).expect("spawn pdns_server");
        let p = Pdns { child, addr, dir };
        let ready = e2e::eventually(Duration::from_secs(15), || {
            let q = Query::new(origin, RecordType::SOA);
            udp_exchange(p.addr, &q.to_bytes(), Duration::from_millis(300)).is_some()
        });
        assert!(
            ready,
            "pdns_server did not answer on {}\n{}",
            p.addr,
            p.log()
        );
        p
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn ask(&self, q: &Query) -> Reply {
        let bytes = udp_exchange(self.addr, &q.to_bytes(), Duration::from_secs(3))
            .unwrap_or_else(|| panic!("pdns_server did not answer\n{}", self.log()));
        Reply::parse(bytes)
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

//----------- comparing -------------------------------------------------------------------------

/// What must be equal in both replies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Outcome {
    rcode: u16,
    /// (owner, type, RDATA) of every answer record, lower-cased.
    answer: BTreeSet<(String, String, String)>,
    /// The reply's ECS option: family, source prefix, scope prefix.
    ecs: Option<(u16, u8, u8)>,
}

fn outcome(r: &Reply) -> Outcome {
    Outcome {
        rcode: r.rcode(),
        answer: r
            .answer()
            .into_iter()
            .map(|(n, t, d)| (n.to_ascii_lowercase(), t, d.to_ascii_lowercase()))
            .collect(),
        ecs: reply_ecs(r).map(|d| (u16::from_be_bytes([d[0], d[1]]), d[2], d[3])),
    }
}

/// A client: an ECS subnet, or none (the socket address 127.0.0.1).
type Client = Option<(&'static str, u8)>;

fn query(name: &str, t: RecordType, client: Client) -> Query {
    match client {
        Some((addr, source)) => q_ecs(name, t, ecs(addr, source)),
        None => Query::new(name, t),
    }
}

/// The outcome of `name` for `client`; for a random name, the outcomes' union (RCODE and
/// ECS must not vary).
fn observe(ask: &dyn Fn(&Query) -> Reply, name: &str, t: RecordType, client: Client) -> Outcome {
    let random = name.starts_with("rand-");
    let q = query(name, t, client);
    let mut o = outcome(&ask(&q));
    if random {
        for _ in 1..DRAWS {
            let next = outcome(&ask(&q));
            if (next.rcode, next.ecs) != (o.rcode, o.ecs) {
                o.rcode = u16::MAX; // varies: never equal to a settled outcome
            }
            o.answer.extend(next.answer);
        }
    }
    o
}

/// Every network of the fixture MMDB, unknown ones, other prefix lengths, IPv6, and no
/// ECS at all.
const CLIENTS: &[Client] = &[
    None,
    Some(("1.1.1.0", 24)),
    Some(("1.2.3.0", 24)),
    Some(("1.2.3.4", 32)),
    Some(("1.2.3.77", 32)),
    Some(("1.2.0.0", 16)),
    Some(("192.0.2.0", 24)),
    Some(("198.51.100.0", 24)),
    Some(("203.0.113.0", 24)),
    Some(("5.5.5.0", 24)),
    Some(("17.1.0.0", 16)),
    Some(("10.1.2.0", 24)),
    Some(("0.0.0.0", 0)),
    Some(("2001:db8:e0::", 48)),
    Some(("2001:db8:e0:1::", 64)),
    Some(("2001:db8:ff::", 48)),
    Some(("::", 0)),
];

/// (name relative to the origin, type) of every query.
fn questions() -> Vec<(String, RecordType)> {
    use RecordType::*;
    let mut q: Vec<(&str, RecordType)> = vec![
        ("static", A),
        ("static", TXT),
        ("nonexistent", A),
        ("hashed", A),
        ("hashed", AAAA),
        ("hashed", Unknown(65402)),
        ("hashed6", AAAA),
        ("hashed-txt", TXT),
        ("whashed", A),
        ("whashed-many", A),
        ("rand-pick", A),
        ("rand-txt", TXT),
        ("rand-sample", A),
        ("rand-wrand", A),
        ("sample-zero", A),
        ("all", A),
        ("rand-closest", A),
        ("rand-closest6", AAAA),
        ("country-code", TXT),
        ("continent-code", TXT),
        ("region-code", TXT),
        ("latlon", TXT),
        ("latlonloc", TXT),
        ("loc", Unknown(29)),
        ("country-bool", TXT),
        ("asnum-bool", TXT),
        ("1-1-1-2.1-2-3-4.magic", A),
        ("192-0-2-1.5-5-5-5.magic", A),
        ("balanced", A),
        ("rand-view", A),
        ("view6", AAAA),
        ("view-txt", TXT),
        ("netmask-bool", TXT),
        ("1.2.3.4.fwd", A),
        ("ip-1-2-3-4.fwd", A),
        ("1-2-3-4.foo.fwd", A),
        ("ip40414243.fwd", A),
        ("8.8.8.8.fwd", A),
        ("invalid.fwd", A),
        ("2001-db8--1.fwd6", AAAA),
        ("2001.db8.6.5.4.3.2.1.fwd6", AAAA),
        ("0--1.fwd6", AAAA),
        ("4.3.2.1.rev", PTR),
        ("10.10.10.10.rev", PTR),
        ("1.1.rev", PTR),
        ("256.1.1.1.rev", PTR),
        ("15.0.0.127.rev-hex", PTR),
        ("lcname", A),
        ("lcname", CNAME),
        ("merge", A),
        ("ttl", A),
        ("joined", A),
        ("bad-rdata", A),
        ("bad-arity", A),
        ("up-all", A),
        ("up-hashed", A),
        ("up-closest", A),
        ("up-sets", A),
        ("rand-down", A),
        ("down-all", A),
        ("down-hashed", A),
        ("url-all", A),
        ("url-match", A),
        // scripts
        ("s-cont", A),
        ("s-country", A),
        ("s-region", TXT),
        ("s-asnum", A),
        ("s-netmask", A),
        ("s-andor", A),
        ("s-andor-txt", TXT),
        ("s-not", TXT),
        ("s-format", TXT),
        ("s-sub-gsub", TXT),
        ("s-tostring", TXT),
        ("s-math", TXT),
        ("s-number", TXT),
        ("s-number-big", TXT),
        ("s-number-int", TXT),
        ("s-select", A),
        ("s-multi", A),
        ("s-table", A),
        ("s-table-count", TXT),
        ("s-loop", A),
        ("s-while", TXT),
        ("s-pairs", TXT),
        ("s-include", A),
        ("s-include-up", A),
        ("s-include-twice", TXT),
        ("s-include-none", TXT),
        ("s-dblookup", A),
        ("s-who", TXT),
        ("s-bestwho", TXT),
        ("s-ecswho", TXT),
        ("s-newca", TXT),
        ("s-truncate", TXT),
        ("s-raw", TXT),
        ("s-qname", TXT),
        ("a.b.s-wild", TXT),
        ("s-zone", TXT),
        ("s-newdn", TXT),
        ("s-nmg", A),
        ("s-netmask-obj", TXT),
        ("s-pdns-const", TXT),
        ("s-native", A),
        ("s-native-combo", A),
        ("s-view", A),
        ("s-cname", CNAME),
        ("s-docs-cc", A),
        ("s-docs-www", CNAME),
        ("s-empty", A),
        ("s-nil", A),
        ("s-bool", A),
        ("s-nested", A),
        ("s-error", A),
        ("s-nil-call", A),
        ("s-nil-index", TXT),
        ("s-syntax", A),
        ("s-pcall", TXT),
        ("s-recursion", A),
        ("s-exec-limit", A),
        ("s-sandbox", TXT),
        ("s-global", TXT),
        ("s-cas", TXT),
        ("s-labels", TXT),
        ("s-print", TXT),
        ("rand-pdnsrandom", TXT),
        ("s-cont", AAAA),
        ("s-include", TXT),
    ];
    let v6 = |ip: &str| {
        let a: std::net::Ipv6Addr = ip.parse().expect("IPv6");
        let mut l: Vec<String> = a
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 15])
            .map(|n| format!("{n:x}"))
            .collect();
        l.reverse();
        l.join(".")
    };
    let rev6: Vec<String> = ["2001:db8::1", "2001:db8::2", "2001:a:b::1"]
        .iter()
        .map(|ip| format!("{}.rev6", v6(ip)))
        .collect();
    let mut out: Vec<(String, RecordType)> = q.drain(..).map(|(n, t)| (n.to_string(), t)).collect();
    out.extend(rev6.into_iter().map(|n| (n, PTR)));
    out
}

/// Differences between dnsd and PowerDNS 4.7.3 that are known and explained: (query name
/// without the origin, ECS client or `None` for every client, why). They are printed,
/// not failed on; any other difference fails the test, and so does a known one that
/// went away (the list must then shrink).
type Known = (&'static str, Option<Client>, &'static str);
const KNOWN: &[Known] = &[
    // Spec §14: pickclosest across the antimeridian (the abs() fix on master). From
    // 192.0.2.0/24 (lon −179) to 2001:db8:e0::1 (lon 13.4) is 167.6 degrees on master,
    // 192.4 on 4.7.3, which then prefers the unknown 2001:db8:ff::1 (0/0).
    (
        "rand-closest6",
        Some(Some(("192.0.2.0", 24))),
        "spec §14 antimeridian fix",
    ),
    // Not in spec §14, found here; dnsd follows the spec (master):
    (
        "up-sets",
        None,
        "4.7.3 ifportup takes no list of sets (SERVFAIL); spec §7.1 allows one",
    ),
    (
        "up-hashed",
        None,
        "4.7.3 applies selector 'hashed' to every address, down ones included; spec §7.1          uses the up addresses of the set",
    ),
    (
        "up-closest",
        None,
        "4.7.3 applies selector 'pickclosest' to every address, down ones included          (answers the never-listening 127.0.56.3); spec §7.1 uses the up ones",
    ),
    (
        "256.1.1.1.rev",
        None,
        "4.7.3 createReverse throws on invalid labels (SERVFAIL); master answers          'error' (test_LuaRecords.py)",
    ),
    (
        "1.1.rev",
        None,
        "4.7.3 createReverse throws on invalid labels (SERVFAIL); master answers 'error'",
    ),
    (
        "2001-db8--1.fwd6",
        None,
        "4.7.3 createForward6 reads the name relative to the zone, so works only under          a wildcard at the apex (answers ::); master reads the labels left of the wildcard",
    ),
    ("2001.db8.6.5.4.3.2.1.fwd6", None, "as 2001-db8--1.fwd6"),
    ("0--1.fwd6", None, "as 2001-db8--1.fwd6"),
    // Scripts (the embedded engine):
    (
        "s-dblookup",
        None,
        "dblookup() is PowerDNS 4.9+ (functions.rst); 4.7.3 has no such global (SERVFAIL)",
    ),
    (
        "s-exec-limit",
        None,
        "spec §14: PowerDNS ≤4.8 does not enforce lua-records-exec-limit (4.7.3 runs the \
         100000-iteration loop, and spins forever on `while true do end`); dnsd stops at \
         1000 instructions, as 5.0+ does",
    ),
    (
        "s-sandbox",
        None,
        "issue #18: dnsd's sandbox has no os, io or require; PowerDNS opens every Lua library",
    ),
];

fn known(rel: &str, client: Client) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(n, c, _)| *n == rel && c.is_none_or(|c| c == client))
        .map(|(_, _, why)| *why)
}

/// The health-checked names and the settled answer sets both servers reach with the
/// listeners of [`listeners`] (from 127.0.0.1).
const SETTLED: &[(&str, &[&str])] = &[
    ("up-all", &["127.0.56.1", "127.0.56.2"]),
    ("down-all", &["127.0.56.3", "127.0.56.4"]),
    ("url-all", &["127.0.56.5"]),
    ("url-match", &["127.0.56.5"]),
    ("s-include-up", &["127.0.56.1", "127.0.56.2"]),
];

/// TCP listeners on 127.0.56.1-2 and 127.0.43.1-2, HTTP on 127.0.56.5 (body `pong`) and
/// 127.0.56.7 (a 200 without it).
fn listeners(port: u16) -> Vec<Target> {
    vec![
        Target::tcp("127.0.56.1", port),
        Target::tcp("127.0.56.2", port),
        Target::tcp("127.0.43.1", port),
        Target::tcp("127.0.43.2", port),
        Target::http("127.0.56.5", port, 200, "pong"),
        Target::http("127.0.56.7", port, 200, "ping"),
    ]
}

/// Waits until both servers answer every health-checked name with its settled set.
fn settle(dnsd: &dyn Fn(&Query) -> Reply, pdns: &dyn Fn(&Query) -> Reply) -> Result<(), String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut pending = Vec::new();
        for (name, want) in SETTLED {
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            let q = Query::new(&format!("{name}.diff.test."), RecordType::A);
            for (who, ask) in [("dnsd", dnsd), ("pdns", pdns)] {
                let got: BTreeSet<String> =
                    ask(&q).answer().into_iter().map(|(_, _, d)| d).collect();
                if got != want {
                    pending.push(format!("{who} {name}: {got:?}, want {want:?}"));
                }
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(pending.join("\n"));
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Serves `lua-diff.zone` from both servers and compares every question for every client.
#[test]
fn dnsd_and_powerdns_answer_alike() {
    let Some(bin) = pdns_installed() else {
        eprintln!(
            "SKIPPED lua_pdns: pdns_server or its geoip backend is not installed \
             (apt-get install pdns-server pdns-backend-bind pdns-backend-geoip; .ci/run does)"
        );
        return;
    };
    let port = port_free_on(LISTEN_IPS);
    let dir = scratch_dir("lua-diff");
    let file = dir.join("diff.test.zone");
    let text = fs::read_to_string(zone("lua-diff.zone")).expect("read lua-diff.zone");
    fs::write(&file, text.replace("18080", &port.to_string())).expect("write zone");
    let _targets = listeners(port);
    let mut args = geo_args();
    args.extend(["--lua-health-interval".to_string(), "1".to_string()]);
    let dnsd = Server::builder()
        .zone("diff.test", &file)
        .args(args)
        .start();
    let pdns = Pdns::start(&bin, "diff.test", &file, geo_db(), "yes");
    let ask_dnsd = |q: &Query| dnsd.udp(q);
    let ask_pdns = |q: &Query| pdns.ask(q);
    if let Err(e) = settle(&ask_dnsd, &ask_pdns) {
        panic!(
            "health states never settled alike:\n{e}\n{}\n--- pdns log ---\n{}",
            dnsd.context(),
            pdns.log()
        );
    }

    let mut differences = Vec::new();
    let mut known_seen = BTreeSet::new();
    let mut compared = 0;
    for (rel, t) in questions() {
        let name = format!("{rel}.diff.test.");
        for &client in CLIENTS {
            let ours = observe(&ask_dnsd, &name, t, client);
            let theirs = observe(&ask_pdns, &name, t, client);
            compared += 1;
            if ours == theirs {
                continue;
            }
            let text = format!("{name} {t} ECS {client:?}:\n  dnsd {ours:?}\n  pdns {theirs:?}");
            match known(&rel, client) {
                Some(why) => {
                    eprintln!("known difference ({why}): {text}");
                    known_seen.insert(rel.clone());
                }
                None => differences.push(text),
            }
        }
    }
    let gone: Vec<&str> = KNOWN
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| !known_seen.contains(*n))
        .collect();
    assert!(
        gone.is_empty(),
        "known differences no longer seen (drop them from KNOWN): {gone:?}"
    );
    assert!(compared > 1000, "only {compared} comparisons");
    // `while true do end`: dnsd stops it at the instruction limit and answers SERVFAIL
    // at once, and the thread answers the next query.
    let started = Instant::now();
    let r = dnsd.udp(&Query::new("s-forever.diff.test.", RecordType::A));
    assert_eq!(r.rcode(), rcode::SERVFAIL, "{}", r.summary());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "s-forever took {:?}",
        started.elapsed()
    );
    let r = dnsd.udp(&Query::new("s-loop.diff.test.", RecordType::A));
    assert_eq!(r.answer().len(), 1, "{}", r.summary());
    assert!(
        differences.is_empty(),
        "{} of {compared} answers differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Shared mode (`--lua-records-shared`, PowerDNS's `enable-lua-records=shared`): globals
/// outlive their query, per answering thread. With one UDP thread on each side (dnsd
/// `--workers 1`, PowerDNS one receiver and one distributor) a counter is deterministic,
/// and both servers count alike.
#[test]
fn shared_mode_keeps_globals_alike() {
    let Some(bin) = pdns_installed() else {
        eprintln!(
            "SKIPPED lua_pdns shared mode: pdns_server or its geoip backend is not installed"
        );
        return;
    };
    let dir = scratch_dir("lua-shared");
    let file = dir.join("shared.test.zone");
    fs::write(
        &file,
        "$TTL 3600\n\
         @ IN SOA ns1.shared.test. hostmaster.shared.test. 1 7200 3600 1209600 300\n\
         @ IN NS ns1\n\
         ns1 IN A 192.0.2.53\n\
         count IN LUA TXT \";counter = (counter or 0) + 1 return tostring(counter)\"\n\
         peek IN LUA TXT \";return tostring(counter)\"\n",
    )
    .expect("write zone");
    let dnsd = Server::builder()
        .zone("shared.test", &file)
        .args(["--lua-records-shared", "--workers", "1"])
        .start();
    let pdns = Pdns::start(&bin, "shared.test", &file, geo_db(), "shared");
    let txt = |r: Reply| -> Vec<String> { r.answer().into_iter().map(|(_, _, d)| d).collect() };
    let count = Query::new("count.shared.test.", RecordType::TXT);
    let peek = Query::new("peek.shared.test.", RecordType::TXT);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..5 {
        ours.extend(txt(dnsd.udp(&count)));
        theirs.extend(txt(pdns.ask(&count)));
    }
    ours.extend(txt(dnsd.udp(&peek)));
    theirs.extend(txt(pdns.ask(&peek)));
    let want: Vec<String> = ["1", "2", "3", "4", "5", "5"]
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect();
    assert_eq!(theirs, want, "PowerDNS in shared mode\n{}", pdns.log());
    assert_eq!(ours, want, "dnsd in shared mode\n{}", dnsd.context());
}
