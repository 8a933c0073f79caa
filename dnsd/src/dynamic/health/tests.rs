//! The checker against real sockets on loopback (127.0.0.0/8): targets are
//! brought up and down while the test watches `status()`.
//!
//! Each test uses its own 127.0.0.x address and ephemeral ports, so tests
//! run in parallel. They wait on the checker's state, never on a clock:
//! scheduling and timing rules are `schedule_tests.rs`, on a paused clock.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::testserver::{HttpServer, Reply, TcpTarget, TestPki};
use super::{CheckStatus, CheckerSettings, HealthChecker};
use crate::dynamic::rule::compile_expr;
use crate::dynamic::{CheckKey, CheckKind, Health, HealthView, Rule};

const INTERVAL: Duration = Duration::from_millis(300);
/// How long a wait on state may take before the test fails: far above what
/// any of them needs, so only a broken checker reaches it.
const PATIENCE: Duration = Duration::from_secs(30);
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

pub(super) fn options_of(code: &str) -> Arc<crate::dynamic::CheckOptions> {
    match compile_expr(code).unwrap().0 {
        Rule::IfUp { options, .. } | Rule::IfUrlExtUp { options, .. } => options,
        other => panic!("{other:?}"),
    }
}

pub(super) fn opts_arg(opts: &str) -> String {
    if opts.is_empty() {
        String::new()
    } else {
        format!(", {{{opts}}}")
    }
}

/// The key `ifportup(port, {'ip'}, {opts})` asks about.
pub(super) fn tcp_key(addr: SocketAddr, opts: &str) -> CheckKey {
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
pub(super) fn url_key(ip: IpAddr, url: &str, opts: &str) -> CheckKey {
    let code = format!("ifurlup('{url}', {{'{ip}'}}{})", opts_arg(opts));
    CheckKey {
        kind: CheckKind::Http,
        addr: Some(SocketAddr::new(ip, 0)),
        url: url.to_string(),
        options: options_of(&code),
    }
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Polls `status()` until it returns `want` (for `Down`: after a completed
/// check, not while pending). [`PATIENCE`] only bounds a test that fails.
pub(super) async fn wait_for(c: &HealthChecker, key: &CheckKey, want: Health) {
    let t0 = Instant::now();
    loop {
        if c.status(key) == want
            && (want != Health::Down || info(c, key).status == CheckStatus::Down)
        {
            return;
        }
        if t0.elapsed() > PATIENCE {
            panic!(
                "no {want:?} within {PATIENCE:?}: {:#?}",
                c.snapshot().checks
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The snapshot entry of `key`.
pub(super) fn info(c: &HealthChecker, key: &CheckKey) -> super::CheckInfo {
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
async fn tcp_target_goes_down_and_up() {
    let c = start(settings());
    let mut target = TcpTarget::bind("127.0.0.2");
    let key = tcp_key(target.addr, "timeout=1");
    assert_eq!(c.status(&key), Health::Unknown, "the registering call");
    wait_for(&c, &key, UP).await;
    target.down();
    wait_for(&c, &key, Health::Down).await;
    let i = info(&c, &key);
    assert_eq!(i.status, CheckStatus::Down);
    assert!(i.consecutive_failures >= 1);
    assert!(
        i.last_error.as_deref().unwrap().contains("connecting"),
        "{i:?}"
    );
    target.up();
    wait_for(&c, &key, UP).await;
    let i = info(&c, &key);
    assert_eq!(i.consecutive_failures, 0);
    assert_eq!(i.last_error, None);
    assert!(i.last_change.is_some() && i.checks >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_never_waits_for_a_hanging_check() {
    let c = start(settings());
    let server = HttpServer::start("127.0.0.4", None).await;
    server.reply(Reply::Hang);
    let url = format!("http://hang.test:{}/", server.port());
    // A long timeout: a call that waited for the round would take it all.
    let key = url_key(ip("127.0.0.4"), &url, "timeout=30");
    c.status(&key);
    let t0 = Instant::now();
    while server.seen().is_empty() {
        assert!(t0.elapsed() < PATIENCE, "the check never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut worst = Duration::ZERO;
    for i in 0..200 {
        let t0 = Instant::now();
        c.status(&key);
        // New keys register without waiting for the round in progress.
        c.status(&tcp_key(SocketAddr::new(ip("127.0.0.4"), 1000 + i), ""));
        worst = worst.max(t0.elapsed());
    }
    // Far below the 30 s a waiting call would take, far above what a
    // loaded machine's scheduling adds.
    assert!(
        worst < Duration::from_secs(5),
        "slowest status(): {worst:?}"
    );
    assert_eq!(c.len(), 201);
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
    wait_for(&c, &want_201, UP).await;
    wait_for(&c, &default, Health::Down).await;
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
    wait_for(&c, &want_201, Health::Down).await;
    server.reply(Reply::ok("fine"));
    wait_for(&c, &default, UP).await;
    server.reply(Reply::status(503, "unavailable"));
    wait_for(&c, &default, Health::Down).await;
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
    wait_for(&c, &good, UP).await;
    wait_for(&c, &bad, Health::Down).await;
    wait_for(&c, &weight, Health::Up { weight: 12 }).await;
    wait_for(&c, &chunked, Health::Up { weight: 34 }).await;
    // A weight change is seen; a non-numeric body is up without weight.
    server.route("/weight", Reply::ok("7"));
    wait_for(&c, &weight, Health::Up { weight: 7 }).await;
    server.route("/weight", Reply::ok("-3"));
    wait_for(&c, &weight, UP).await;
    server.route("/weight", Reply::ok("12abc"));
    wait_for(&c, &weight, Health::Up { weight: 12 }).await;
    server.route("/weight", Reply::ok("heavy"));
    wait_for(&c, &weight, UP).await;
    // A failure drops the weight.
    server.route("/weight", Reply::ok("5"));
    wait_for(&c, &weight, Health::Up { weight: 5 }).await;
    server.route("/weight", Reply::status(500, "9"));
    wait_for(&c, &weight, Health::Down).await;
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
    wait_for(&c, &limited, UP).await;
    wait_for(&c, &unlimited, Health::Down).await;
    wait_for(&c, &limited_miss, Health::Down).await;
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
    wait_for(&c, &key, UP).await;
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
    wait_for(&c, &plain, UP).await;
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

    // Default (PowerDNS): any certificate.
    let off = start(settings());
    let key = url_key(a, &url, "");
    off.status(&key);
    wait_for(&off, &key, UP).await;
    let seen = server.seen();
    assert_eq!(seen[0].sni.as_deref(), Some("health.test"));
    assert_eq!(
        seen[0].header("Host"),
        Some(format!("health.test:{}", server.port()))
    );
    // A name the certificate does not cover is fine too when not verifying.
    let other = url_key(a, &format!("https://other.test:{}/hc", server.port()), "");
    off.status(&other);
    wait_for(&off, &other, UP).await;

    // Verification on, our CA unknown: down.
    let strict = start(CheckerSettings {
        verify_certificates: true,
        ..settings()
    });
    strict.status(&key);
    wait_for(&strict, &key, Health::Down).await;
    assert!(info(&strict, &key).last_error.unwrap().contains("TLS"));

    // Verification on with our CA trusted: up for the certified name only.
    let trusting = start(CheckerSettings {
        verify_certificates: true,
        extra_roots: vec![pki.ca.clone()],
        ..settings()
    });
    trusting.status(&key);
    trusting.status(&other);
    wait_for(&trusting, &key, UP).await;
    wait_for(&trusting, &other, Health::Down).await;
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
    wait_for(&c, &ok, UP).await;
    wait_for(&c, &looping, Health::Down).await;
    wait_for(&c, &ftp, Health::Down).await;
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
    wait_for(&c, &key, UP).await;
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
    wait_for(&c, &key, UP).await;
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
    wait_for(&c, &key, UP).await;
    assert_eq!(server.seen()[0].peer.ip(), ip("127.0.0.14"));
}

/// Hardening item 9: a target the policy denies is down with the reason,
/// and nothing connects to it (a live listener there is never reached); the
/// same target allowed is up. HTTP checks (and redirects) go through the
/// same gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_targets_are_down_with_the_reason_and_never_contacted() {
    let target = TcpTarget::bind("127.0.0.23");
    let denying = CheckerSettings {
        targets: super::policy::TargetPolicy::new::<&str>(&[], &["127.0.0.23/32"]).unwrap(),
        ..settings()
    };
    let c = start(denying);
    let key = tcp_key(target.addr, "timeout=1");
    c.status(&key);
    wait_for(&c, &key, Health::Down).await;
    let error = info(&c, &key).last_error.unwrap();
    assert!(
        error.contains("not connecting to 127.0.0.23") && error.contains("denied to health checks"),
        "{error}"
    );
    let url = format!("http://health.test:{}/", target.addr.port());
    let http = url_key(target.addr.ip(), &url, "timeout=1");
    c.status(&http);
    wait_for(&c, &http, Health::Down).await;
    assert!(info(&c, &http).last_error.unwrap().contains("denied"));
    assert!(
        target.accepted_peer().is_none(),
        "a denied target was connected to"
    );

    // Allowed by a longer prefix: checked as usual.
    let allowing = CheckerSettings {
        targets: super::policy::TargetPolicy::new(&["127.0.0.23/32"], &["127.0.0.0/8"]).unwrap(),
        ..settings()
    };
    let c = start(allowing);
    c.status(&key);
    wait_for(&c, &key, UP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_serializes_and_metrics_render() {
    let c = start(settings());
    let target = TcpTarget::bind("127.0.0.18");
    let key = tcp_key(target.addr, "minimumFailures=2");
    c.status(&key);
    wait_for(&c, &key, UP).await;
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
    let primary_key = tcp_key(primary.addr, "selector='pickfirst'");
    wait_for(&c, &primary_key, UP).await;
    assert_eq!(answer(&rule).unwrap(), vec!["127.0.0.19"]);
    primary.down();
    wait_for(&c, &primary_key, Health::Down).await;
    assert_eq!(
        answer(&rule).unwrap(),
        vec!["127.0.0.20"],
        "fails over to the second set"
    );
    primary.up();
    wait_for(&c, &primary_key, UP).await;
    assert_eq!(answer(&rule).unwrap(), vec!["127.0.0.19"]);
}
