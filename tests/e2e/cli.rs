//! The command-line contract: `--help`, rejected flags and values, a port already in use,
//! several `--listen` addresses, IPv6, a zone that fails to load, every option accepted.

use std::net::{IpAddr, Ipv6Addr, TcpListener, UdpSocket};
use std::time::Duration;

use e2e::{
    Query, RecordType, Server, TcpConn, assert_answer, assert_exit, assert_flag, assert_rcode,
    flag, rcode, run_dnsd, zone,
};

use crate::fixtures::{EX_SOA, EX_WWW_A};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn example_zone_arg() -> String {
    format!("example.test={}", zone("example.test.zone").display())
}

#[test]
fn cli_help_lists_every_option() {
    let out = run_dnsd(&["--help"], Duration::from_secs(10));
    assert_exit(&out, true);
    let help = text(&out);
    for opt in [
        "--listen",
        "--zone",
        "--config",
        "--workers",
        "--tcp-idle-timeout",
        "--tcp-max-connections",
        "--edns-payload",
        "--any-udp",
        "--chaos-version",
        "--chaos-id",
        "--log-format",
        "--log-level",
        "check-zone",
        "minimal",
        "tc",
        "full",
        "human",
        "json",
    ] {
        assert!(help.contains(opt), "--help does not mention {opt}:\n{help}");
    }
}

#[test]
fn cli_check_zone_help() {
    let out = run_dnsd(&["check-zone", "--help"], Duration::from_secs(10));
    assert_exit(&out, true);
    let t = text(&out).to_ascii_uppercase();
    assert!(t.contains("ORIGIN") && t.contains("FILE"), "{t}");
}

#[test]
fn cli_unknown_flag_rejected() {
    let out = run_dnsd(&["--no-such-flag"], Duration::from_secs(10));
    assert_exit(&out, false);
    let t = text(&out);
    assert!(
        t.contains("--no-such-flag"),
        "the message names the flag:\n{t}"
    );
}

#[test]
fn cli_bad_values_rejected() {
    let port = e2e::free_port(IpAddr::from([127, 0, 0, 1]));
    let listen = format!("127.0.0.1:{port}");
    let zone = example_zone_arg();
    for bad in [
        vec!["--any-udp", "sometimes"],
        vec!["--log-format", "xml"],
        vec!["--edns-payload", "lots"],
        vec!["--tcp-idle-timeout", "-1"],
        vec!["--workers", "many"],
    ] {
        let mut args = vec!["--listen", &listen, "--zone", &zone];
        args.extend(bad.iter().copied());
        let out = run_dnsd(&args, Duration::from_secs(10));
        assert_exit(&out, false);
        let t = text(&out);
        assert!(
            t.contains(bad[0]) || t.contains(bad[1]),
            "{bad:?}: message names it:\n{t}"
        );
    }
    for bad_listen in ["not-an-address", "127.0.0.1", "127.0.0.1:99999"] {
        let out = run_dnsd(
            &["--listen", bad_listen, "--zone", &zone],
            Duration::from_secs(10),
        );
        assert_exit(&out, false);
        assert!(text(&out).contains(bad_listen), "{}", text(&out));
    }
    let out = run_dnsd(
        &["--listen", &listen, "--zone", "no-equals-sign"],
        Duration::from_secs(10),
    );
    assert_exit(&out, false);
}

#[test]
fn cli_udp_port_in_use_fails_naming_the_address() {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = sock.local_addr().expect("addr").to_string();
    let out = run_dnsd(
        &["--listen", &addr, "--zone", &example_zone_arg()],
        Duration::from_secs(10),
    );
    assert_exit(&out, false);
    assert!(
        text(&out).contains(&addr),
        "message names {addr}:\n{}",
        text(&out)
    );
}

#[test]
fn cli_tcp_port_in_use_fails_naming_the_address() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let out = run_dnsd(
        &["--listen", &addr, "--zone", &example_zone_arg()],
        Duration::from_secs(10),
    );
    assert_exit(&out, false);
    assert!(
        text(&out).contains(&addr),
        "message names {addr}:\n{}",
        text(&out)
    );
}

#[test]
fn cli_several_listen_addresses_all_serve_udp_and_tcp() {
    let s = Server::builder().standard_zones().extra_listens(2).start();
    assert_eq!(s.addrs().len(), 3);
    for &a in s.addrs() {
        let q = Query::new("www.example.test.", RecordType::A);
        assert_answer(
            &q,
            &s.udp_to(a, &q),
            rcode::NOERROR,
            true,
            &[EX_WWW_A],
            &[],
            &[],
        );
        assert_answer(
            &q,
            &s.tcp_to(a, &q),
            rcode::NOERROR,
            true,
            &[EX_WWW_A],
            &[],
            &[],
        );
    }
}

#[test]
fn cli_ipv6_loopback_listen() {
    if !e2e::ipv6_loopback_available() {
        eprintln!("skipping: [::1] cannot be bound here");
        return;
    }
    let s = Server::builder()
        .standard_zones()
        .ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .start();
    assert!(s.addr().is_ipv6());
    let q = Query::new("example.test.", RecordType::SOA);
    assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}

#[test]
fn cli_zone_failing_to_load_is_not_served_while_others_are() {
    let s = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .zone("broken.test", zone("bad/bad-a-address.zone"))
        .zone("wild.test", zone("wild.test.zone"))
        .start();
    let q = Query::new("broken.test.", RecordType::SOA);
    let r = s.udp(&q);
    assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
    let q = Query::new("www.broken.test.", RecordType::A);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::REFUSED);
    let q = Query::new("example.test.", RecordType::SOA);
    assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    let q = Query::new("foo.wild.test.", RecordType::A);
    assert_rcode(&s.udp(&q), rcode::NOERROR);
}

#[test]
fn cli_missing_zone_file_is_not_served_while_others_are() {
    let s = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .zone("missing.test", zone("does-not-exist.zone"))
        .start();
    let q = Query::new("missing.test.", RecordType::SOA);
    assert_answer(&q, &s.udp(&q), rcode::REFUSED, false, &[], &[], &[]);
    let q = Query::new("example.test.", RecordType::SOA);
    assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}

#[test]
fn cli_every_option_accepted() {
    for log_format in ["human", "json"] {
        let s = Server::standard(&[
            "--workers",
            "1",
            "--tcp-idle-timeout",
            "5",
            "--tcp-max-connections",
            "10",
            "--edns-payload",
            "1232",
            "--any-udp",
            "minimal",
            "--chaos-version",
            "v",
            "--chaos-id",
            "i",
            "--log-format",
            log_format,
            "--log-level",
            "debug",
        ]);
        let q = Query::new("www.example.test.", RecordType::A);
        assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
        assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    }
}

#[test]
fn r10_4_tcp_connection_cap() {
    // --tcp-max-connections 2: with two connections open, a third is not served.
    let s = Server::standard(&["--tcp-max-connections", "2"]);
    // The start-up probe's own connection holds a slot until the server sees
    // it closed, so a held connection may need a second try.
    let mut held = Vec::new();
    for i in 0..2u16 {
        let mut served = None;
        let ok = e2e::eventually(Duration::from_secs(5), || {
            let mut c = TcpConn::connect(s.addr());
            let q = Query::new("www.example.test.", RecordType::A).id(70 + i);
            let answered =
                c.try_send(&q.to_bytes()).is_ok() && c.recv(Duration::from_secs(1)).is_some();
            served = answered.then_some(c);
            answered
        });
        assert!(ok, "connection {i} not served\n{}", s.context());
        held.extend(served);
    }
    let mut third = TcpConn::connect(s.addr());
    let q = Query::new("www.example.test.", RecordType::A).id(99);
    // The server may already have closed it, in which case the write can fail.
    let _ = third.try_send(&q.to_bytes());
    assert!(
        third.recv(Duration::from_secs(2)).is_none(),
        "a third connection over --tcp-max-connections 2 was served"
    );
    // Once one closes, new connections are served again.
    drop(held.pop());
    let ok = e2e::eventually(Duration::from_secs(5), || {
        let mut c = TcpConn::connect(s.addr());
        c.send(&Query::new("www.example.test.", RecordType::A).to_bytes());
        c.recv(Duration::from_millis(500)).is_some()
    });
    assert!(
        ok,
        "no new connection served after one closed\n{}",
        s.context()
    );
}

#[test]
fn r8_8_nsid_returned_when_configured() {
    let s = Server::standard(&["--nsid", "ns-e2e-1"]);
    let q = Query::new("example.test.", RecordType::SOA).edns_with(|o| o.options.push((3, vec![])));
    let r = s.udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    let o = e2e::opt(&r);
    assert_eq!(
        o.options,
        vec![(3u16, b"ns-e2e-1".to_vec())],
        "{}",
        r.summary()
    );
    // Not asked for: not sent.
    let q = Query::new("example.test.", RecordType::SOA).edns();
    let r = s.udp(&q);
    assert!(e2e::opt(&r).options.is_empty(), "{}", r.summary());
    assert_flag(&r, flag::AA, true);
}

#[test]
fn cli_missing_config_file_fails_naming_it() {
    let out = run_dnsd(
        &[
            "--config",
            "/nonexistent/dnsd-e2e.toml",
            "--zone",
            &example_zone_arg(),
        ],
        Duration::from_secs(10),
    );
    assert_exit(&out, false);
    assert!(text(&out).contains("dnsd-e2e.toml"), "{}", text(&out));
}

/// Hardening item 2: a standard error nobody reads any more never stops
/// dnsd. Before, the first log line after the reader went away made
/// tracing report the failed write with `eprintln!`, which panicked.
#[test]
fn a_closed_stderr_never_stops_dnsd_and_dropped_lines_are_counted() {
    let lo = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let api = std::net::SocketAddr::new(lo, e2e::free_port(lo));
    let mut s = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .args(["--api-listen", &api.to_string(), "--api-key", "k"])
        .args(["--log-level", "debug"])
        .stderr_closed()
        .start();
    e2e::http::wait_http(api);
    // Each reload logs; each query at debug level may too.
    for _ in 0..3 {
        s.sighup();
        let q = Query::new("www.example.test.", RecordType::A);
        assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    }
    assert!(s.alive(), "dnsd died with its stderr closed");
    let metrics = e2e::http::request(api, "GET", "/metrics", &[], None);
    let dropped: u64 = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("dnsd_log_lines_dropped_total "))
        .expect("dropped-lines counter on /metrics")
        .parse()
        .unwrap();
    assert!(dropped > 0, "{}", metrics.body);
}

/// Hardening item 2: `dnsd check-zone … | head` and `dnsd ds … | head`
/// end quietly when the reader goes away, with the exit status the check
/// itself had.
#[test]
fn cli_output_to_a_closed_pipe_is_a_normal_exit() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(e2e::dnsd_bin())
        .args(["check-zone", "example.test"])
        .arg(zone("example.test.zone"))
        .stdout(writer)
        .output()
        .expect("run dnsd check-zone");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Hardening item 5: clients that open API connections and never finish a
/// request head are cut at the header deadline, and cannot take more than
/// the API's share of descriptors: DNS over TCP keeps working throughout.
#[test]
fn half_sent_api_requests_time_out_and_spare_dns_over_tcp() {
    use std::io::{Read, Write};
    let lo = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let api = std::net::SocketAddr::new(lo, e2e::free_port(lo));
    let s = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .args(["--api-listen", &api.to_string(), "--api-key", "k"])
        .args(["--api-header-timeout", "1"])
        .start();
    e2e::http::wait_http(api);
    let mut slow = Vec::new();
    for _ in 0..400 {
        let Ok(mut c) = std::net::TcpStream::connect(api) else {
            break;
        };
        let _ = c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
        slow.push(c);
    }
    // DNS over TCP is still served while they hang.
    let q = Query::new("www.example.test.", RecordType::A);
    assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    // Each half-sent request is closed once the header deadline passes.
    let started = std::time::Instant::now();
    for c in &mut slow {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        // Closed (0), reset, or a 408 before the close: never left hanging.
        match c.read(&mut buf) {
            Ok(n) => assert!(
                n == 0 || buf[..n].starts_with(b"HTTP/1.1 408"),
                "{n} octets"
            ),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "a half-sent request still open after {:?}",
                started.elapsed()
            ),
        }
    }
    // And the API answers again.
    let ok = e2e::eventually(Duration::from_secs(5), || {
        e2e::http::request(api, "GET", "/healthz", &[], None).status == 200
    });
    assert!(
        ok,
        "API not answering after the slow clients were cut\n{}",
        s.context()
    );
}

/// Hardening item 5: dnsd raises its soft open-file limit to the hard one,
/// and says so when even the hard limit is below what its caps need.
#[test]
fn the_open_file_limit_is_raised_and_a_low_one_is_reported() {
    use std::os::unix::process::CommandExt;
    let lo = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let listen = std::net::SocketAddr::new(lo, e2e::free_port(lo));
    let mut cmd = std::process::Command::new(e2e::dnsd_bin());
    cmd.args([
        "--listen",
        &listen.to_string(),
        "--zone",
        &example_zone_arg(),
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 512,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn dnsd");
    let pid = child.id();
    let ok = e2e::eventually(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/limits"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("512"))
    });
    let _ = child.kill();
    let out = child.wait_with_output().expect("dnsd output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(ok, "soft limit not raised to the hard one\n{stderr}");
    assert!(stderr.contains("open-file limit is below"), "{stderr}");
}
