//! Embedded-Lua LUA records under attack (issue 18, item 5): scripts that
//! try to reach the operating system, exhaust memory, loop forever or
//! recurse without end each answer SERVFAIL, touch no file, and leave the
//! other names answering at their usual latency; a record created through
//! the API runs in the same sandbox; `/metrics` counts the limit hits.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use e2e::{Query, Server, free_port, scratch_dir};
use hickory_proto::rr::RecordType;
use serde_json::json;

use crate::lua::{ask, expect_answer, expect_servfail};

const KEY: &str = "sandbox-key";

/// The hostile records; `{dir}` is a scratch directory no script may write.
const HOSTILE: &[(&str, &str)] = &[
    ("osexec", ";os.execute('touch {dir}/os') return '192.0.2.1'"),
    (
        "ioopen",
        ";io.open('{dir}/io', 'w'):write('x') return '192.0.2.1'",
    ),
    (
        "require",
        ";require('os').execute('touch {dir}/req') return '192.0.2.1'",
    ),
    ("load", ";load('return 1')() return '192.0.2.1'"),
    ("loadstring", ";loadstring('x = 1')() return '192.0.2.1'"),
    ("dofile", ";dofile('/etc/hostname') return '192.0.2.1'"),
    ("getfenv", ";getfenv(0).os = 1 return '192.0.2.1'"),
    (
        "memory",
        ";local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1e6) .. i end return '192.0.2.1'",
    ),
    ("rep", ";local s = string.rep('x', 2e9) return '192.0.2.1'"),
    ("loop", ";while true do end"),
    (
        "pcallloop",
        ";while true do pcall(function() while true do end end) end",
    ),
    (
        "recursion",
        ";local function f(n) return f(n + 1) + 1 end return f(1)",
    ),
];

fn zone_text(dir: &Path) -> String {
    let mut text = String::from(
        "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n\
         plain A 192.0.2.80\n\
         native LUA A \"pickhashed({'192.0.2.81', '192.0.2.82'})\"\n\
         script LUA A \";local a = '192.0.2.' .. tostring(40 + 3) return a\"\n",
    );
    for (name, code) in HOSTILE {
        let code = code.replace("{dir}", &dir.display().to_string());
        text.push_str(&format!("{name} LUA A \"{code}\"\n"));
    }
    text
}

fn metric(api: SocketAddr, line: &str) -> u64 {
    let m = e2e::http::request(api, "GET", "/metrics", &[("X-API-Key", KEY)], None);
    m.body
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .unwrap_or_else(|| panic!("{line} not on /metrics: {}", m.body))
        .trim()
        .parse()
        .unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Latencies (sorted) of `n` sequential queries for `name`, each answered.
fn latencies(s: &Server, name: &str, n: usize) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let r = s.udp(&Query::new(name, RecordType::A));
            assert_eq!(r.rcode(), 0, "{name}: {}", r.summary());
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn hostile_scripts_fail_alone_and_touch_nothing() {
    let dir = scratch_dir("lua-sandbox");
    let marks = dir.join("marks");
    fs::create_dir_all(&marks).unwrap();
    let zone = dir.join("sandbox.test.zone");
    fs::write(&zone, zone_text(&marks)).unwrap();
    let api = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        free_port(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    );
    let s = Server::builder()
        .zone("sandbox.test", &zone)
        .api(api, KEY, &dir.join("data"))
        .start();
    e2e::http::wait_http(api);

    expect_answer(
        &ask(&s, "plain.sandbox.test.", RecordType::A),
        "A",
        &["192.0.2.80"],
    );
    expect_answer(
        &ask(&s, "script.sandbox.test.", RecordType::A),
        "A",
        &["192.0.2.43"],
    );
    for (name, _) in HOSTILE {
        expect_servfail(&ask(&s, &format!("{name}.sandbox.test."), RecordType::A));
    }
    assert!(
        fs::read_dir(&marks).unwrap().next().is_none(),
        "a script wrote a file"
    );
    assert!(metric(api, "dnsd_lua_limit_hits_total{engine=\"embedded\"}") >= 4);
    assert!(metric(api, "dnsd_lua_errors_total{engine=\"embedded\"}") >= HOSTILE.len() as u64);

    // Other names keep their latency while hostile scripts are asked
    // continuously from another socket.
    let baseline = latencies(&s, "native.sandbox.test.", 200);
    let rss_before = rss_kb(s.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        let addr = s.addr();
        std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 512];
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for (name, _) in HOSTILE {
                    let q = Query::new(&format!("{name}.sandbox.test."), RecordType::A);
                    sock.send_to(&q.to_bytes(), addr).unwrap();
                    let _ = sock.recv_from(&mut buf);
                    sent += 1;
                }
            }
            sent
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let during = latencies(&s, "native.sandbox.test.", 200);
    let plain = latencies(&s, "plain.sandbox.test.", 200);
    stop.store(true, Ordering::Relaxed);
    let hostile_queries = attacker.join().unwrap();
    let rss_after = rss_kb(s.pid());
    let p = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    eprintln!(
        "native LUA latency p50/p99: alone {:?}/{:?}, under {hostile_queries} hostile queries {:?}/{:?}; static {:?}/{:?}; RSS {rss_before} -> {rss_after} kB",
        p(&baseline, 0.5),
        p(&baseline, 0.99),
        p(&during, 0.5),
        p(&during, 0.99),
        p(&plain, 0.5),
        p(&plain, 0.99),
    );
    assert!(hostile_queries >= 24, "the attacker sent {hostile_queries}");
    // Generous bounds for a loaded 2-CPU debug build: a hostile script costs
    // at most its instruction budget or one failed allocation, never a stall.
    assert!(p(&during, 0.5) < p(&baseline, 0.5) + Duration::from_millis(20));
    assert!(
        p(&during, 0.99) < Duration::from_millis(250),
        "{:?}",
        p(&during, 0.99)
    );
    assert!(
        p(&plain, 0.99) < Duration::from_millis(250),
        "{:?}",
        p(&plain, 0.99)
    );
    // The memory limit holds per thread: no growth beyond a few states.
    assert!(
        rss_after < rss_before + 128 * 1024,
        "RSS grew from {rss_before} to {rss_after} kB"
    );

    // A LUA record created through the API runs in the same sandbox.
    let zones = "/api/v1/servers/localhost/zones";
    let touch = format!(
        "A \";os.execute('touch {}/api') return '192.0.2.1'\"",
        marks.display()
    );
    let body = json!({
        "name": "api.test.",
        "kind": "Native",
        "nameservers": ["ns1.api.test."],
        "rrsets": [
            {"name": "evil.api.test.", "type": "LUA", "ttl": 60, "changetype": "REPLACE",
             "records": [{"content": touch, "disabled": false}]},
            {"name": "good.api.test.", "type": "LUA", "ttl": 60, "changetype": "REPLACE",
             "records": [{"content": "A \";return string.format('192.0.2.%d', 7 * 6)\"", "disabled": false}]},
        ]
    });
    let r = e2e::http::request(
        api,
        "POST",
        zones,
        &[("X-API-Key", KEY), ("Content-Type", "application/json")],
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    expect_servfail(&ask(&s, "evil.api.test.", RecordType::A));
    expect_answer(
        &ask(&s, "good.api.test.", RecordType::A),
        "A",
        &["192.0.2.42"],
    );
    assert!(!marks.join("api").exists(), "the API record ran os.execute");
    // A record that does not compile is refused by the API.
    let bad = json!({"rrsets": [{"name": "bad.api.test.", "type": "LUA", "ttl": 60,
        "changetype": "REPLACE", "records": [{"content": "A \";return (\"", "disabled": false}]}]});
    let r = e2e::http::request(
        api,
        "PATCH",
        &format!("{zones}/api.test."),
        &[("X-API-Key", KEY), ("Content-Type", "application/json")],
        Some(&bad.to_string()),
    );
    assert_eq!(r.status, 422, "{}", r.body);
}
