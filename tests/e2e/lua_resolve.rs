//! `resolve()` in LUA records through `--lua-resolver` (issue 18 item 4): a second dnsd
//! on loopback is the resolver. Checked: the answers in PowerDNS's idioms and dnsd's
//! shorter ones, that answers are cached for their TTL and refreshed after it (the
//! upstream zone changes under a SIGHUP), and that a resolver that never answers costs
//! a bounded wait, then SERVFAIL, while other names keep answering fast.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use e2e::{Query, RecordType, Reply, Server, free_port, rcode, scratch_dir, udp_exchange};

/// TTL of the upstream's answers: short, so the refresh test is quick.
const UPSTREAM_TTL: u64 = 3;

fn upstream_zone(serial: u32, addrs: &[&str]) -> String {
    let mut z = format!(
        "$ORIGIN upstream.test.\n$TTL {UPSTREAM_TTL}\n\
         @ IN SOA ns admin {serial} 3600 600 86400 5\n\
         @ IN NS ns\nns IN A 127.0.0.1\n\
         txt IN TXT \"hello resolver\"\n\
         v6 IN AAAA 2001:db8::53\n\
         www IN CNAME svc\n"
    );
    for a in addrs {
        z.push_str(&format!("svc IN A {a}\n"));
    }
    z
}

const FRONT_ZONE: &str = "$ORIGIN front.test.\n$TTL 60\n\
@ IN SOA ns admin 1 3600 600 86400 60\n\
@ IN NS ns\nns IN A 127.0.0.1\n\
static IN A 192.0.2.99\n\
svc IN LUA A \";return resolve('svc.upstream.test', pdns.A)\"\n\
idiom IN LUA A \";local r=resolve('www.upstream.test', pdns.A) local t={} for _,v in ipairs(r) do table.insert(t, v:toString()) end return t\"\n\
expr IN LUA AAAA \"resolve('v6.upstream.test', 'AAAA')\"\n\
txt IN LUA TXT \";return resolve('txt.upstream.test', pdns.TXT)[1]:toString():sub(2, -2)\"\n\
pick IN LUA A \"pickrandom(resolve('svc.upstream.test', pdns.A))\"\n\
none IN LUA A \";local r = resolve('nothing.upstream.test', pdns.A) if #r == 0 then return '192.0.2.250' end return r\"\n\
*.dyn IN LUA A \";return resolve((qname:toString():gsub('dyn.front.test', 'upstream.test')), pdns.A)\"\n";

fn front(dir: &Path, resolver: SocketAddr, extra: &[&str]) -> (Server, SocketAddr) {
    let file = dir.join("front.zone");
    fs::write(&file, FRONT_ZONE).unwrap();
    let api: SocketAddr = (
        Ipv4Addr::LOCALHOST,
        free_port(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    )
        .into();
    let data = dir.join("front-data");
    fs::create_dir_all(&data).unwrap();
    let s = Server::builder()
        .zone("front.test", file)
        .args(["--lua-resolver".to_string(), resolver.to_string()])
        .args(extra.iter().map(|s| s.to_string()))
        .api(api, "resolve-key", &data)
        .start();
    e2e::http::wait_http(api);
    (s, api)
}

fn metric(api: SocketAddr, name: &str) -> u64 {
    let body = e2e::http::request(api, "GET", "/metrics", &[], None).body;
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} on /metrics:\n{body}"))
        .parse()
        .unwrap()
}

fn data(r: &Reply, t: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .answer()
        .into_iter()
        .filter(|(_, ty, _)| ty == t)
        .map(|(_, _, d)| d)
        .collect();
    v.sort();
    v
}

/// Asks until the answer is NOERROR (a miss answers SERVFAIL until the lookup is
/// back), at most 5 s.
fn answered(s: &Server, name: &str, t: RecordType) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = s.udp(&Query::new(name, t));
        if r.rcode() == rcode::NOERROR || Instant::now() > deadline {
            return r;
        }
        assert_eq!(r.rcode(), rcode::SERVFAIL, "{}", r.summary());
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resolve_answers_through_the_resolver_cached_for_the_ttl_and_refreshed() {
    let dir = scratch_dir("lua-resolve");
    let upstream_file = dir.join("upstream.zone");
    fs::write(
        &upstream_file,
        upstream_zone(1, &["192.0.2.10", "192.0.2.11"]),
    )
    .unwrap();
    let upstream = Server::builder()
        .zone("upstream.test", &upstream_file)
        .start();
    let (s, api) = front(&dir, upstream.addr(), &[]);

    let asked = Instant::now();
    let r = answered(&s, "svc.front.test.", RecordType::A);
    assert_eq!(
        data(&r, "A"),
        ["192.0.2.10", "192.0.2.11"],
        "{}",
        r.summary()
    );
    // PowerDNS's idiom (records and :toString()), through a CNAME at the resolver.
    let r = answered(&s, "idiom.front.test.", RecordType::A);
    assert_eq!(
        data(&r, "A"),
        ["192.0.2.10", "192.0.2.11"],
        "{}",
        r.summary()
    );
    let r = answered(&s, "expr.front.test.", RecordType::AAAA);
    assert_eq!(data(&r, "AAAA"), ["2001:db8::53"], "{}", r.summary());
    // Records read in zone-file format: a TXT's text is quoted (a LUA TXT record quotes
    // what it returns, as PowerDNS's does, so the script takes the quotes off).
    let r = answered(&s, "txt.front.test.", RecordType::TXT);
    assert_eq!(data(&r, "TXT"), ["\"hello resolver\""], "{}", r.summary());
    let r = answered(&s, "pick.front.test.", RecordType::A);
    let picked = data(&r, "A");
    assert!(
        picked == ["192.0.2.10"] || picked == ["192.0.2.11"],
        "{}",
        r.summary()
    );
    // A negative answer is an empty table.
    let r = answered(&s, "none.front.test.", RecordType::A);
    assert_eq!(data(&r, "A"), ["192.0.2.250"], "{}", r.summary());

    // Cached: many queries, no more lookups for the name.
    let lookups = metric(api, "dnsd_lua_resolve_lookups_total");
    let hits = metric(api, "dnsd_lua_resolve_cache_hits_total");
    for _ in 0..20 {
        let r = s.udp(&Query::new("svc.front.test.", RecordType::A));
        assert_eq!(
            data(&r, "A"),
            ["192.0.2.10", "192.0.2.11"],
            "{}",
            r.summary()
        );
    }
    if asked.elapsed() < Duration::from_secs(UPSTREAM_TTL) {
        assert_eq!(
            metric(api, "dnsd_lua_resolve_lookups_total"),
            lookups,
            "within the TTL"
        );
        assert!(metric(api, "dnsd_lua_resolve_cache_hits_total") >= hits + 20);
    }

    // The upstream changes; the new answer shows only after the TTL, and then soon.
    fs::write(&upstream_file, upstream_zone(2, &["192.0.2.12"])).unwrap();
    upstream.sighup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while data(
        &upstream.udp(&Query::new("svc.upstream.test.", RecordType::A)),
        "A",
    ) != ["192.0.2.12"]
    {
        assert!(Instant::now() < deadline, "the upstream did not reload");
        thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(UPSTREAM_TTL + 10);
    loop {
        let r = s.udp(&Query::new("svc.front.test.", RecordType::A));
        assert_eq!(
            r.rcode(),
            rcode::NOERROR,
            "a refresh never fails the name\n{}",
            r.summary()
        );
        let got = data(&r, "A");
        if got == ["192.0.2.12"] {
            break;
        }
        assert_eq!(got, ["192.0.2.10", "192.0.2.11"], "{}", r.summary());
        assert!(Instant::now() < deadline, "no refresh after the TTL");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        asked.elapsed() >= Duration::from_secs(UPSTREAM_TTL),
        "the new answer came before the old one's TTL ran out ({:?})",
        asked.elapsed()
    );
    assert!(metric(api, "dnsd_lua_resolve_lookups_total") > lookups);
    assert!(metric(api, "dnsd_lua_resolve_stale_hits_total") >= 1);
    fs::remove_dir_all(&dir).ok();
}

/// The resolver is a bound UDP socket that never answers. Four threads ask for
/// resolve() names (all different, so every one is a miss) while another measures
/// a static name's latency. Every resolve() query gets SERVFAIL quickly; the static
/// name answers fast throughout.
#[test]
fn a_dead_resolver_costs_a_bounded_wait_then_servfail_and_stalls_nothing() {
    let dir = scratch_dir("lua-resolve-dead");
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (s, api) = front(&dir, silent.local_addr().unwrap(), &[]);
    let addr = s.addr();

    let stop = Arc::new(AtomicBool::new(false));
    let burst: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut slowest = Duration::ZERO;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let q = Query::new(&format!("n{t}-{n}.dyn.front.test."), RecordType::A);
                    let started = Instant::now();
                    let r = udp_exchange(addr, &q.to_bytes(), Duration::from_secs(5))
                        .map(Reply::parse)
                        .expect("every resolve() query is answered");
                    slowest = slowest.max(started.elapsed());
                    assert_eq!(r.rcode(), rcode::SERVFAIL, "{}", r.summary());
                    n += 1;
                }
                (n, slowest)
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let q = Query::new("static.front.test.", RecordType::A);
        let started = Instant::now();
        let r = udp_exchange(addr, &q.to_bytes(), Duration::from_secs(5)).map(Reply::parse);
        latencies.push(started.elapsed());
        let r = r.expect("the static name answers");
        assert_eq!(data(&r, "A"), ["192.0.2.99"], "{}", r.summary());
        thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let mut asked = 0;
    for t in burst {
        let (n, slowest) = t.join().unwrap();
        asked += n;
        // The bound is 10 ms; a debug build on a shared 2-CPU machine gets 25x.
        assert!(
            slowest < Duration::from_millis(250),
            "a resolve() query took {slowest:?}"
        );
    }
    assert!(asked >= 40, "only {asked} resolve() queries in 3 s");
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = *latencies.last().unwrap();
    assert!(
        median < Duration::from_millis(20),
        "static median {median:?}"
    );
    assert!(worst < Duration::from_millis(250), "static worst {worst:?}");
    // Waits ran out (the first misses); the rest failed without waiting.
    assert!(metric(api, "dnsd_lua_resolve_timeouts_total") >= 1);
    assert!(s.stderr().is_empty() || !s.stderr().contains("panicked"));
    drop(silent);
    fs::remove_dir_all(&dir).ok();
}

/// Without --lua-resolver, resolve() fails its name (SERVFAIL) and says why once.
#[test]
fn without_a_resolver_resolve_answers_servfail() {
    let dir = scratch_dir("lua-resolve-none");
    let file = dir.join("front.zone");
    fs::write(&file, FRONT_ZONE).unwrap();
    let s = Server::builder().zone("front.test", file).start();
    for _ in 0..3 {
        let r = s.udp(&Query::new("svc.front.test.", RecordType::A));
        assert_eq!(r.rcode(), rcode::SERVFAIL, "{}", r.summary());
    }
    let r = s.udp(&Query::new("static.front.test.", RecordType::A));
    assert_eq!(data(&r, "A"), ["192.0.2.99"], "{}", r.summary());
    let log = s.stderr();
    assert_eq!(
        log.matches("no --lua-resolver is configured").count(),
        1,
        "{log}"
    );
    fs::remove_dir_all(&dir).ok();
}
