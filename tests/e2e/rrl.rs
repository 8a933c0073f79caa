//! Response-rate limiting (hardening issue, item 3): a burst of spoofable
//! UDP queries from one network gets at most the configured rate of full
//! answers per second; every `slip`-th response over it is a truncated
//! reply (TC=1, so a real client retries over TCP), the rest are dropped.
//! TCP is never limited, whitelisted clients never are, and RRL is off
//! unless configured.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use e2e::{Query, Server, flag, free_port, scratch_dir};
use hickory_proto::rr::RecordType;

/// Sends `queries` (each `count` times, ids 0..) from one socket as fast as
/// possible, then collects replies until 300 ms pass without one. Returns
/// (full answers, truncated answers).
fn burst(addr: SocketAddr, queries: &[Query], count: usize) -> (usize, usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut id = 0u16;
    for _ in 0..count {
        for query in queries {
            let q = query.clone().id(id);
            id = id.wrapping_add(1);
            socket.send_to(&q.to_bytes(), addr).unwrap();
        }
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let flags = u16::from_be_bytes([buf[2], buf[3]]);
        if flags & flag::TC != 0 {
            // A slipped reply is the question alone.
            assert_eq!(&buf[6..12], &[0, 0, 0, 0, 0, 0], "{:?}", &buf[..n]);
            truncated += 1;
        } else {
            full += 1;
        }
        if Instant::now() > deadline {
            break;
        }
    }
    (full, truncated)
}

fn metric(api: SocketAddr, line: &str) -> u64 {
    let m = e2e::http::request(api, "GET", "/metrics", &[("X-API-Key", "k")], None);
    m.body
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .unwrap_or_else(|| panic!("{line} not on /metrics: {}", m.body))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_burst_from_one_network_is_limited_to_the_rate_with_slips() {
    let api: SocketAddr = format!("127.0.0.1:{}", free_port("127.0.0.1".parse().unwrap()))
        .parse()
        .unwrap();
    let data = scratch_dir("rrl");
    let s = Server::builder()
        .standard_zones()
        .api(api, "k", &data)
        .args(["--rrl-rate", "10", "--rrl-slip", "2"])
        .start();
    let www = Query::new("www.example.test.", RecordType::A);
    let (full, truncated) = burst(s.addr(), std::slice::from_ref(&www), 200);
    // 200 queries in (at most) two seconds' budgets of 10.
    assert!((10..=20).contains(&full), "full answers: {full}");
    assert!(
        (85..=96).contains(&truncated),
        "slipped answers: {truncated}"
    );
    let dropped = metric(api, "dnsd_rrl_responses_total{action=\"dropped\"}");
    let slipped = metric(api, "dnsd_rrl_responses_total{action=\"slipped\"}");
    assert_eq!(slipped as usize, truncated);
    assert_eq!(dropped as usize + slipped as usize + full, 200);

    // Random names that do not exist count together, per zone.
    let missing: Vec<Query> = (0..200)
        .map(|i| Query::new(&format!("nx{i}.example.test."), RecordType::A))
        .collect();
    std::thread::sleep(Duration::from_millis(1100));
    let (full, truncated) = burst(s.addr(), &missing, 1);
    assert!((10..=20).contains(&full), "NXDOMAIN answers: {full}");
    assert!(truncated >= 85, "slipped: {truncated}");

    // TCP is never limited.
    for _ in 0..30 {
        let reply = s.tcp(&www);
        assert_eq!(reply.msg.answers.len(), 1);
    }
}

#[test]
fn whitelisted_clients_and_servers_without_rrl_answer_everything() {
    let limited_elsewhere = Server::builder()
        .standard_zones()
        .args(["--rrl-rate", "5", "--rrl-whitelist", "127.0.0.0/8"])
        .start();
    let www = Query::new("www.example.test.", RecordType::A);
    let (full, truncated) = burst(limited_elsewhere.addr(), std::slice::from_ref(&www), 200);
    assert_eq!((full, truncated), (200, 0));

    let off = Server::builder().standard_zones().start();
    let (full, truncated) = burst(off.addr(), std::slice::from_ref(&www), 200);
    assert_eq!((full, truncated), (200, 0), "RRL is off by default");
}

#[test]
fn bad_rrl_settings_are_refused() {
    for (args, says) in [
        (
            vec!["--rrl-rate", "5", "--rrl-ipv4-prefix", "33"],
            "rrl-ipv4-prefix",
        ),
        (
            vec!["--rrl-rate", "5", "--rrl-whitelist", "nonsense"],
            "rrl-whitelist",
        ),
        (
            vec!["--rrl-rate", "5", "--rrl-table-size", "0"],
            "rrl-table-size",
        ),
        (vec!["--rrl-rate", "lots"], "rrl-rate"),
    ] {
        let out = e2e::run_dnsd(&args, Duration::from_secs(10));
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
