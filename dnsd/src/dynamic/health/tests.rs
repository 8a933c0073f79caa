//! The checker against real sockets on loopback (127.0.0.0/8): targets are
//! brought up and down while the test watches `status()`.
//!
//! Each test uses its own 127.0.0.x address and ephemeral ports, so tests
//! run in parallel. Timing bounds are interval + timeout + a margin for a
//! shared 2-core machine.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::testserver::{HttpServer, Reply, TcpTarget, TestPki};
use super::{CheckStatus, CheckerSettings, HealthChecker};
use crate::dynamic::rule::compile_expr;
use crate::dynamic::{CheckKey, CheckKind, Health, HealthView, Rule};

const INTERVAL: Duration = Duration::from_millis(300);
/// Slack for scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_millis(1500);
const UP: Health = Health::Up { weight: 0 };

fn settings() -> CheckerSettings {
    CheckerSettings {
        interval: INTERVAL,
        ..CheckerSettings::default()
    }
}

fn start(settings: CheckerSettings) -> Arc<HealthChecker> {
    HealthChecker::start(settings, &tokio::runtime::Handle::current()).unwrap()
}

fn options_of(code: &str) -> Arc<crate::dynamic::CheckOptions> {
    match compile_expr(code).unwrap().0 {
        Rule::IfUp { options, .. } | Rule::IfUrlExtUp { options, .. } => options,
        other => panic!("{other:?}"),
    }
}

fn opts_arg(opts: &str) -> String {
    if opts.is_empty() {
        String::new()
    } else {
        format!(", {{{opts}}}")
    }
}

/// The key `ifportup(port, {'ip'}, {opts})` asks about.
fn tcp_key(addr: SocketAddr, opts: &str) -> CheckKey {
    let code = format!(
        "ifportup({}, {{'{}'}}{})",
        addr.port(),
        addr.ip(),
        opts_arg(opts)
    );
    CheckKey {
        kind: CheckKind::Tcp,
        addr: Some(addr),
        url: String::new(),
        options: options_of(&code),
    }
}

/// The key `ifurlup('url', {'ip'}, {opts})` asks about.
fn url_key(ip: IpAddr, url: &str, opts: &str) -> CheckKey {
    let code = format!("ifurlup('{url}', {{'{ip}'}}{})", opts_arg(opts));
    CheckKey {
        kind: CheckKind::Http,
        addr: Some(SocketAddr::new(ip, 0)),
        url: url.to_string(),
        options: options_of(&code),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Polls `status()` until it returns `want` (for `Down`: after a completed
/// check, not while pending); returns how long that took.
async fn wait_for(c: &HealthChecker, key: &CheckKey, want: Health, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        if c.status(key) == want
            && (want != Health::Down || info(c, key).status == CheckStatus::Down)
        {
            return t0.elapsed();
        }
        if t0.elapsed() > within {
            panic!("no {want:?} within {within:?}: {:#?}", c.snapshot().checks);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The snapshot entry of `key`.
fn info(c: &HealthChecker, key: &CheckKey) -> super::CheckInfo {
    let target = match key.kind {
        CheckKind::Tcp => key.addr.map(|a| a.to_string()),
        CheckKind::Http => key.addr.map(|a| a.ip().to_string()),
        CheckKind::HttpUnpinned => None,
    };
    c.snapshot()
        .checks
        .into_iter()
        .find(|i| {
            i.target == target
                && i.url.as_deref().unwrap_or("") == key.url
                && i.options == key.options.raw
        })
        .expect("check registered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_target_goes_down_and_up_within_interval_plus_timeout() {
    let c = start(settings());
    let mut target = TcpTarget::bind("127.0.0.2");
    let key = tcp_key(target.addr, "timeout=1");
    assert_eq!(c.status(&key), Health::Unknown, "the registering call");
    let bound = INTERVAL + Duration::from_secs(1) + MARGIN;
    wait_for(&c, &key, UP, bound).await;
    target.down();
    wait_for(&c, &key, Health::Down, bound).await;
    let i = info(&c, &key);
    assert_eq!(i.status, CheckStatus::Down);
    assert!(i.consecutive_failures >= 1);
    assert!(
        i.last_error.as_deref().unwrap().contains("connecting"),
        "{i:?}"
    );
    target.up();
    wait_for(&c, &key, UP, bound).await;
    let i = info(&c, &key);
    assert_eq!(i.consecutive_failures, 0);
    assert_eq!(i.last_error, None);
    assert!(i.last_change.is_some() && i.checks >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_registering_call_sees_unknown() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.3", None).await;
    server.reply(Reply::Hang);
    let url = format!("http://hang.test:{}/", server.port());
    let key = url_key(ip("127.0.0.3"), &url, "timeout=1");
    assert_eq!(c.status(&key), Health::Unknown);
    // The first check hangs for a second: until it ends, queries see down.
    for _ in 0..5 {
        assert_eq!(c.status(&key), Health::Down);
        assert_eq!(info(&c, &key).status, CheckStatus::Pending);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A key with other options is another check.
    let other = url_key(ip("127.0.0.3"), &url, "timeout=2");
    assert_eq!(c.status(&other), Health::Unknown);
    assert_eq!(c.status(&other), Health::Down);
    assert_eq!(c.len(), 2);
    // The timeout completes the check: down, with the reason.
    let t0 = Instant::now();
    while info(&c, &key).checks == 0 {
        assert!(t0.elapsed() < Duration::from_secs(1) + MARGIN);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let i = info(&c, &key);
    assert_eq!(i.status, CheckStatus::Down);
    assert!(i.last_error.unwrap().contains("timed out"));
    assert_eq!(c.status(&key), Health::Down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_never_waits_for_a_hanging_check() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.4", None).await;
    server.reply(Reply::Hang);
    let url = format!("http://hang.test:{}/", server.port());
    let key = url_key(ip("127.0.0.4"), &url, "timeout=2");
    c.status(&key);
    // Let the check start and hang.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!server.seen().is_empty(), "the check connected");
    let mut worst = Duration::ZERO;
    for i in 0..200 {
        let t0 = Instant::now();
        c.status(&key);
        // New keys register without waiting for the round in progress.
        c.status(&tcp_key(SocketAddr::new(ip("127.0.0.4"), 1000 + i), ""));
        worst = worst.max(t0.elapsed());
    }
    // A call that waited for the round would take until the 2 s timeout; the
    // bound leaves room for a loaded machine's scheduling delays.
    assert!(
        worst < Duration::from_millis(500),
        "slowest status(): {worst:?}"
    );
    assert_eq!(c.len(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimum_failures_needs_n_consecutive_failures() {
    let c = start(settings());
    let mut target = TcpTarget::bind("127.0.0.5");
    target.down();
    let key = tcp_key(target.addr, "minimumFailures=3");
    c.status(&key);
    // §6.4: a target that never succeeded reads up until the third failure.
    let t0 = Instant::now();
    while info(&c, &key).checks == 0 {
        assert!(t0.elapsed() < INTERVAL + MARGIN);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let i = info(&c, &key);
    if i.checks < 3 {
        assert_eq!(i.status, CheckStatus::Up, "{i:?}");
        assert_eq!(c.status(&key), UP);
    }
    wait_for(&c, &key, Health::Down, 3 * INTERVAL + MARGIN).await;
    assert!(info(&c, &key).consecutive_failures >= 3);
    // One success brings it back.
    target.up();
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    // Two failures keep it up.
    target.down();
    let t0 = Instant::now();
    while info(&c, &key).consecutive_failures < 2 {
        assert!(t0.elapsed() < 2 * INTERVAL + MARGIN);
        assert_eq!(c.status(&key), UP, "{:?}", info(&c, &key));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for(&c, &key, Health::Down, 2 * INTERVAL + MARGIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_status_must_equal_httpcode() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.6", None).await;
    server.reply(Reply::status(201, "created"));
    let url = format!("http://code.test:{}/hc", server.port());
    let default = url_key(ip("127.0.0.6"), &url, "");
    let want_201 = url_key(ip("127.0.0.6"), &url, "httpcode=201");
    c.status(&default);
    c.status(&want_201);
    let bound = INTERVAL + MARGIN;
    wait_for(&c, &want_201, UP, bound).await;
    wait_for(&c, &default, Health::Down, bound).await;
    let d = c
        .snapshot()
        .checks
        .into_iter()
        .find(|i| i.options.is_empty())
        .unwrap();
    assert_eq!(
        d.last_error.as_deref(),
        Some("HTTP status 201, expected 200")
    );
    // No 2xx range: 204 matches neither.
    server.reply(Reply::status(204, ""));
    wait_for(&c, &want_201, Health::Down, bound).await;
    server.reply(Reply::ok("fine"));
    wait_for(&c, &default, UP, bound).await;
    server.reply(Reply::status(503, "unavailable"));
    wait_for(&c, &default, Health::Down, bound).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stringmatch_and_weight_from_the_body() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.7", None).await;
    server.route("/status", Reply::ok("service: all good"));
    server.route("/weight", Reply::ok("  12\n"));
    server.route(
        "/chunked",
        Reply::Chunked {
            status: 200,
            chunks: vec![b"3".to_vec(), b"4 and more".to_vec()],
        },
    );
    let base = format!("http://w.test:{}", server.port());
    let a = ip("127.0.0.7");
    let good = url_key(a, &format!("{base}/status"), "stringmatch='all good'");
    let bad = url_key(a, &format!("{base}/status"), "stringmatch='broken'");
    let weight = url_key(a, &format!("{base}/weight"), "");
    let chunked = url_key(a, &format!("{base}/chunked"), "");
    for k in [&good, &bad, &weight, &chunked] {
        c.status(k);
    }
    let bound = INTERVAL + MARGIN;
    wait_for(&c, &good, UP, bound).await;
    wait_for(&c, &bad, Health::Down, bound).await;
    wait_for(&c, &weight, Health::Up { weight: 12 }, bound).await;
    wait_for(&c, &chunked, Health::Up { weight: 34 }, bound).await;
    // A weight change is seen; a non-numeric body is up without weight.
    server.route("/weight", Reply::ok("7"));
    wait_for(&c, &weight, Health::Up { weight: 7 }, bound).await;
    server.route("/weight", Reply::ok("-3"));
    wait_for(&c, &weight, UP, bound).await;
    server.route("/weight", Reply::ok("12abc"));
    wait_for(&c, &weight, Health::Up { weight: 12 }, bound).await;
    server.route("/weight", Reply::ok("heavy"));
    wait_for(&c, &weight, UP, bound).await;
    // A failure drops the weight.
    server.route("/weight", Reply::ok("5"));
    wait_for(&c, &weight, Health::Up { weight: 5 }, bound).await;
    server.route("/weight", Reply::status(500, "9"));
    wait_for(&c, &weight, Health::Down, bound).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byteslimit_ends_the_transfer_as_a_success() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.8", None).await;
    // 100 of 10000 body bytes arrive, then the server stalls.
    server.reply(Reply::Stall {
        sent: [b"OK ".as_slice(), &[b'x'; 97]].concat(),
        length: 10_000,
    });
    let url = format!("http://big.test:{}/", server.port());
    let a = ip("127.0.0.8");
    let limited = url_key(a, &url, "timeout=1, byteslimit=50, stringmatch='OK'");
    let unlimited = url_key(a, &url, "timeout=1");
    let limited_miss = url_key(a, &url, "timeout=1, byteslimit=50, stringmatch='NOPE'");
    for k in [&limited, &unlimited, &limited_miss] {
        c.status(k);
    }
    let bound = INTERVAL + Duration::from_secs(1) + MARGIN;
    wait_for(&c, &limited, UP, bound).await;
    wait_for(&c, &unlimited, Health::Down, bound).await;
    wait_for(&c, &limited_miss, Health::Down, bound).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_goes_to_the_candidate_with_the_urls_host() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.9", None).await;
    let url = format!("http://Health.Example.test:{}/hc?x=1", server.port());
    let key = url_key(
        ip("127.0.0.9"),
        &url,
        "useragent='probe/1', headers={X_API_Key='secret', Accept='text/plain'}",
    );
    c.status(&key);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    let seen = &server.seen()[0];
    assert!(
        seen.head.starts_with("GET /hc?x=1 HTTP/1.1\r\n"),
        "{}",
        seen.head
    );
    let host = format!("health.example.test:{}", server.port());
    assert_eq!(seen.header("Host"), Some(host));
    assert_eq!(seen.header("User-Agent").as_deref(), Some("probe/1"));
    assert_eq!(seen.header("X-API-Key").as_deref(), Some("secret"));
    assert_eq!(seen.header("Accept").as_deref(), Some("text/plain"));
    assert_eq!(seen.head.matches("Accept:").count(), 1, "{}", seen.head);
    // Without options: PowerDNS's user agent.
    let plain = url_key(
        ip("127.0.0.9"),
        &format!("http://h.test:{}/p", server.port()),
        "",
    );
    c.status(&plain);
    wait_for(&c, &plain, UP, INTERVAL + MARGIN).await;
    let p = server
        .seen()
        .into_iter()
        .find(|s| s.head.starts_with("GET /p "))
        .unwrap();
    assert_eq!(
        p.header("User-Agent").as_deref(),
        Some("PowerDNS Authoritative Server")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_sends_sni_and_verifies_only_when_asked() {
    let pki = TestPki::new(&["health.test"]);
    let server = HttpServer::start("127.0.0.10", Some(pki.acceptor.clone())).await;
    let a = ip("127.0.0.10");
    let url = format!("https://health.test:{}/hc", server.port());
    let bound = INTERVAL + MARGIN;

    // Default (PowerDNS): any certificate.
    let off = start(settings());
    let key = url_key(a, &url, "");
    off.status(&key);
    wait_for(&off, &key, UP, bound).await;
    let seen = server.seen();
    assert_eq!(seen[0].sni.as_deref(), Some("health.test"));
    assert_eq!(
        seen[0].header("Host"),
        Some(format!("health.test:{}", server.port()))
    );
    // A name the certificate does not cover is fine too when not verifying.
    let other = url_key(a, &format!("https://other.test:{}/hc", server.port()), "");
    off.status(&other);
    wait_for(&off, &other, UP, bound).await;

    // Verification on, our CA unknown: down.
    let strict = start(CheckerSettings {
        verify_certificates: true,
        ..settings()
    });
    strict.status(&key);
    wait_for(&strict, &key, Health::Down, bound).await;
    assert!(info(&strict, &key).last_error.unwrap().contains("TLS"));

    // Verification on with our CA trusted: up for the certified name only.
    let trusting = start(CheckerSettings {
        verify_certificates: true,
        extra_roots: vec![pki.ca.clone()],
        ..settings()
    });
    trusting.status(&key);
    trusting.status(&other);
    wait_for(&trusting, &key, UP, bound).await;
    wait_for(&trusting, &other, Health::Down, bound).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_on_the_pinned_host_and_capped() {
    let c = start(CheckerSettings {
        max_redirects: 3,
        ..settings()
    });
    let server = HttpServer::start("127.0.0.11", None).await;
    let port = server.port();
    server.route("/start", Reply::redirect("/middle"));
    // Absolute, same host and port: still pinned to the candidate.
    server.route(
        "/middle",
        Reply::redirect(&format!("http://redir.test:{port}/final")),
    );
    server.route("/final", Reply::ok("arrived"));
    server.route("/loop", Reply::redirect("/loop"));
    server.route("/ftp", Reply::redirect("ftp://redir.test/file"));
    let a = ip("127.0.0.11");
    let base = format!("http://redir.test:{port}");
    let ok = url_key(a, &format!("{base}/start"), "stringmatch='arrived'");
    let looping = url_key(a, &format!("{base}/loop"), "");
    let ftp = url_key(a, &format!("{base}/ftp"), "");
    for k in [&ok, &looping, &ftp] {
        c.status(k);
    }
    let bound = INTERVAL + MARGIN;
    wait_for(&c, &ok, UP, bound).await;
    wait_for(&c, &looping, Health::Down, bound).await;
    wait_for(&c, &ftp, Health::Down, bound).await;
    let errors: Vec<String> = c
        .snapshot()
        .checks
        .into_iter()
        .filter_map(|i| i.last_error)
        .collect();
    assert!(
        errors.iter().any(|e| e == "more than 3 redirects"),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("only http and https")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_checks_resolve_the_host() {
    let c = start(settings());
    // `localhost` may resolve to ::1 first: the client tries each address.
    let server = HttpServer::start("127.0.0.1", None).await;
    let url = format!("http://localhost:{}/ext", server.port());
    let key = CheckKey {
        kind: CheckKind::HttpUnpinned,
        addr: None,
        url: url.clone(),
        options: options_of(&format!("ifurlextup({{{{['192.0.2.1']='{url}'}}}})")),
    };
    assert_eq!(c.status(&key), Health::Unknown);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    assert_eq!(
        server.seen()[0].header("Host"),
        Some(format!("localhost:{}", server.port()))
    );
    let i = info(&c, &key);
    assert_eq!(i.target, None);
    assert_eq!(i.kind, super::ProbeKind::HttpUnpinned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_option_binds_the_probe() {
    let c = start(settings());
    let target = TcpTarget::bind("127.0.0.12");
    let key = tcp_key(target.addr, "source='127.0.0.13'");
    c.status(&key);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    let peer = target.accepted_peer().expect("a connection was made");
    assert_eq!(peer.ip(), ip("127.0.0.13"));
    // HTTP as well.
    let server = HttpServer::start("127.0.0.12", None).await;
    let key = url_key(
        ip("127.0.0.12"),
        &format!("http://src.test:{}/", server.port()),
        "source='127.0.0.14'",
    );
    c.status(&key);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    assert_eq!(server.seen()[0].peer.ip(), ip("127.0.0.14"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_checks_expire_and_used_ones_stay() {
    let expire = Duration::from_millis(800);
    let c = start(CheckerSettings {
        expire_delay: expire,
        ..settings()
    });
    let target = TcpTarget::bind("127.0.0.15");
    let used = tcp_key(target.addr, "");
    let unused = tcp_key(target.addr, "timeout=1");
    c.status(&used);
    c.status(&unused);
    wait_for(&c, &used, UP, INTERVAL + MARGIN).await;
    let gen_before = c.generation();
    let t0 = Instant::now();
    while c.len() == 2 {
        assert!(
            t0.elapsed() < expire + 2 * INTERVAL + MARGIN,
            "not expired: {:#?}",
            c.snapshot()
        );
        c.status(&used);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(t0.elapsed() >= expire - INTERVAL, "expired too early");
    let left = c.snapshot().checks;
    assert_eq!(left.len(), 1);
    assert!(left[0].options.is_empty(), "the used check stays: {left:?}");
    assert!(c.generation() > gen_before, "expiry is a change");
    // Asking again registers it afresh.
    assert_eq!(c.status(&unused), Health::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_moves_on_changes_only() {
    let c = start(settings());
    let mut target = TcpTarget::bind("127.0.0.16");
    let key = tcp_key(target.addr, "");
    assert_eq!(c.generation(), 0);
    c.status(&key);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    let g1 = c.generation();
    assert_eq!(g1, 1, "the first completed check");
    // Several rounds of the same answer: no movement.
    let checks = info(&c, &key).checks;
    let t0 = Instant::now();
    while info(&c, &key).checks < checks + 3 {
        assert!(t0.elapsed() < 3 * INTERVAL + MARGIN);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.generation(), g1);
    target.down();
    wait_for(&c, &key, Health::Down, INTERVAL + MARGIN).await;
    assert_eq!(c.generation(), g1 + 1);
    target.up();
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    assert_eq!(c.generation(), g1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_run_every_interval_in_parallel() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.17", None).await;
    server.route("/slow", Reply::Hang);
    let base = format!("http://p.test:{}", server.port());
    let slow = url_key(ip("127.0.0.17"), &format!("{base}/slow"), "timeout=1");
    let fast = url_key(ip("127.0.0.17"), &format!("{base}/fast"), "");
    c.status(&slow);
    c.status(&fast);
    // The fast check completes while the slow one, registered first, still
    // hangs (it can only end at its 1 s timeout). Asked by state rather
    // than by a clock, so a loaded machine cannot fail it.
    wait_for(&c, &fast, UP, MARGIN).await;
    assert_eq!(info(&c, &slow).checks, 0, "the slow check is still running");
    // Rounds repeat, and each waits for the 1 s slow check (§6.3): the fast
    // check runs again, but not more often than once per slow timeout. The
    // lower bound is asked by state (a loaded machine only delays it); the
    // upper bound holds however late timers fire, as none fires early.
    let t0 = Instant::now();
    let fast_checks = || {
        server
            .seen()
            .iter()
            .filter(|s| s.head.starts_with("GET /fast "))
            .count()
    };
    while fast_checks() < 3 {
        assert!(t0.elapsed() < Duration::from_secs(20), "{}", fast_checks());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rounds_bound = 2 + t0.elapsed().as_secs() as usize;
    assert!(
        fast_checks() <= rounds_bound,
        "{} fast checks in {:?}",
        fast_checks(),
        t0.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_serializes_and_metrics_render() {
    let c = start(settings());
    let target = TcpTarget::bind("127.0.0.18");
    let key = tcp_key(target.addr, "minimumFailures=2");
    c.status(&key);
    wait_for(&c, &key, UP, INTERVAL + MARGIN).await;
    let json = serde_json::to_value(c.snapshot()).unwrap();
    let check = &json["checks"][0];
    assert_eq!(check["kind"], "tcp");
    assert_eq!(check["target"], target.addr.to_string());
    assert_eq!(check["status"], "up");
    assert_eq!(check["options"]["minimumFailures"], "2");
    assert_eq!(check["consecutive_failures"], 0);
    assert!(check["last_change"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(json["generation"], 1);
    let mut m = String::new();
    c.render_metrics(&mut m);
    let line = format!(
        "dnsd_lua_health_check_up{{kind=\"tcp\",target=\"{}\",url=\"\",options=\"minimumFailures=2\"}} 1",
        target.addr
    );
    assert!(m.contains(&line), "{m}");
    assert!(m.contains("dnsd_lua_health_checks 1\n"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_stops_when_the_checker_is_dropped() {
    let c = start(settings());
    let weak = Arc::downgrade(&c.inner);
    drop(c);
    let t0 = Instant::now();
    while weak.upgrade().is_some() {
        assert!(t0.elapsed() < INTERVAL + MARGIN);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The evaluator with the real checker: ifportup's answer follows the
/// targets, the first query goes to the backup selector, and
/// `failOnIncompleteCheck` fails only the registering query (§7.1, §15.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ifportup_answers_follow_the_checker() {
    use crate::dynamic::{EvalError, NoGeo, compile, evaluate};
    use crate::wire::Name;
    use crate::wire::rtype::RType;

    let c = start(settings());
    let mut primary = TcpTarget::bind("127.0.0.19");
    let port = primary.addr.port();
    // The standby shares the port on another loopback address.
    let _standby = TcpTarget::bind_addr(SocketAddr::new(ip("127.0.0.20"), port));
    let rule = compile(
        &format!(
            "ifportup({port}, {{{{'127.0.0.19'}}, {{'127.0.0.20'}}}}, {{selector='pickfirst'}})"
        ),
        RType::A,
    )
    .unwrap();
    let strict = compile(
        &format!("ifportup({port}, {{'127.0.0.21'}}, {{failOnIncompleteCheck='true'}})"),
        RType::A,
    )
    .unwrap();
    let (q, zone) = (
        Name::from_text("www.example.org.", None).unwrap(),
        Name::from_text("example.org.", None).unwrap(),
    );
    let ctx = crate::dynamic::QueryContext::new(&q, &q, &zone, ip("192.0.2.53"), None);
    let answer = |rule| -> Result<Vec<String>, EvalError> {
        Ok(evaluate(rule, &ctx, c.as_ref(), &NoGeo)?
            .into_iter()
            .map(|a| a.0)
            .collect())
    };
    // First query: nothing checked, backup selector over the first set.
    assert_eq!(answer(&rule).unwrap(), vec!["127.0.0.19"]);
    assert!(matches!(answer(&strict), Err(EvalError::IncompleteCheck)));
    // The next query before the check completes gets the backup selector.
    let second = answer(&strict);
    assert!(second.is_ok(), "{second:?}");
    let bound = INTERVAL + MARGIN;
    let primary_key = tcp_key(primary.addr, "selector='pickfirst'");
    wait_for(&c, &primary_key, UP, bound).await;
    assert_eq!(answer(&rule).unwrap(), vec!["127.0.0.19"]);
    primary.down();
    wait_for(&c, &primary_key, Health::Down, bound).await;
    assert_eq!(
        answer(&rule).unwrap(),
        vec!["127.0.0.20"],
        "fails over to the second set"
    );
    primary.up();
    wait_for(&c, &primary_key, UP, bound).await;
    assert_eq!(answer(&rule).unwrap(), vec!["127.0.0.19"]);
}

/// §6.3, §15.9: a per-check `interval` longer than the global one takes
/// effect on global ticks; checks without it run every tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_check_interval_runs_on_global_ticks() {
    let c = start(settings());
    let target = TcpTarget::bind("127.0.0.22");
    let every_tick = tcp_key(target.addr, "");
    let every_second = tcp_key(target.addr, "interval=1");
    c.status(&every_tick);
    c.status(&every_second);
    wait_for(&c, &every_tick, UP, INTERVAL + MARGIN).await;
    wait_for(&c, &every_second, UP, INTERVAL + MARGIN).await;
    let (a0, b0) = (info(&c, &every_tick).checks, info(&c, &every_second).checks);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let (a, b) = (
        info(&c, &every_tick).checks - a0,
        info(&c, &every_second).checks - b0,
    );
    // 3 s: ~10 ticks; the 1 s check falls due every 4th tick (1.2 s).
    assert!(a >= 6, "every tick: {a}");
    assert!((1..=3).contains(&b), "interval=1: {b}");
}
