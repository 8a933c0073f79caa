//! The shared HTTP client's retry behaviour, driven through the Cloudflare
//! adapter and mock: 429 then success, Retry-After (seconds and HTTP-date)
//! honoured, 5xx until exhausted → unavailable, transport errors, and no
//! retry for errors that retrying cannot fix.

use std::time::{Duration, Instant, SystemTime};

use crate::common::{fast_options, start, status_fault};
use registrars::credentials::{CloudflareAuth, CloudflareCredentials};
use registrars::http::{HttpConfig, RetryPolicy};
use registrars::mock::{Fault, MockServer};
use registrars::providers::ConnectOptions;
use registrars::{Credentials, DomainName, Provider, Registrar, RegistrarError, Secret};

const SEED: &str = r#"{"accounts": [{"id": "a", "credentials": {"api_token": "tok-retry-1"},
  "domains": [{"name": "example.com", "nameservers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]}]}]}"#;

fn creds(token: &str) -> Credentials {
    Credentials::Cloudflare(CloudflareCredentials {
        auth: CloudflareAuth::Token(Secret::new(token)),
        account_id: None,
    })
}

fn connect(base: &str, options: &ConnectOptions) -> Box<dyn Registrar> {
    registrars::connect_with(
        Provider::Cloudflare,
        Some(base),
        creds("tok-retry-1"),
        options,
    )
    .unwrap()
}

fn requests(server: &MockServer) -> usize {
    server
        .state()
        .journal()
        .iter()
        .filter(|e| e.starts_with("GET /client/v4/zones"))
        .count()
}

fn domain() -> DomainName {
    DomainName::new("example.com").unwrap()
}

const CF_429: &str = r#"{"success":false,"errors":[{"code":10013,"message":"Rate limited"}],"messages":[],"result":null}"#;

#[tokio::test]
async fn rate_limited_once_then_success() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(0),
        },
        1,
    );
    let ns = cf.get_nameservers(&domain()).await.unwrap();
    assert_eq!(ns.len(), 2);
    assert_eq!(requests(&server), 2, "one throttled attempt, one good one");
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    server.state().inject(
        Fault::Status {
            status: 429,
            body: CF_429.into(),
            retry_after: Some("1".into()),
        },
        1,
    );
    let started = Instant::now();
    cf.get_nameservers(&domain()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    server.state().inject(
        Fault::Status {
            status: 429,
            body: CF_429.into(),
            retry_after: Some(when),
        },
        1,
    );
    let started = Instant::now();
    cf.get_nameservers(&domain()).await.unwrap();
    // HTTP-dates have one-second resolution: at least ~1 s remains.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_beyond_the_cap_is_returned_not_slept() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(300),
        },
        5,
    );
    let started = Instant::now();
    let err = cf.get_nameservers(&domain()).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::RateLimited {
            retry_after: Some(Duration::from_secs(300))
        }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(requests(&server), 1);
}

#[tokio::test]
async fn server_errors_until_exhausted_are_unavailable() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    server.state().inject(status_fault(502, "bad gateway"), 100);
    let err = cf.get_nameservers(&domain()).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(requests(&server), 3, "max_attempts = 3");
}

#[tokio::test]
async fn server_errors_then_success() {
    let server = start(Provider::Cloudflare, SEED).await;
    let cf = connect(&server.base_url(), &fast_options());
    server.state().inject(status_fault(503, ""), 2);
    cf.get_nameservers(&domain()).await.unwrap();
    assert_eq!(requests(&server), 3);
}

#[tokio::test]
async fn non_retryable_errors_are_not_retried() {
    let server = start(Provider::Cloudflare, SEED).await;
    let bad = registrars::connect_with(
        Provider::Cloudflare,
        Some(&server.base_url()),
        creds("wrong"),
        &fast_options(),
    )
    .unwrap();
    let err = bad.get_nameservers(&domain()).await.unwrap_err();
    assert!(matches!(err, RegistrarError::InvalidCredentials { .. }));
    assert_eq!(requests(&server), 1);
}

#[tokio::test]
async fn connection_refused_is_unavailable_after_retries() {
    // A port nobody listens on: bind, learn it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cf = connect(
        &format!("http://127.0.0.1:{port}/client/v4"),
        &fast_options(),
    );
    let err = cf.get_nameservers(&domain()).await.unwrap_err();
    match &err {
        RegistrarError::Unavailable { message, .. } => {
            assert!(message.contains("connection failed"), "{message}");
            assert!(
                !message.contains("127.0.0.1"),
                "no URL in the message: {message}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let options = ConnectOptions {
        http: HttpConfig {
            timeout: Duration::from_millis(200),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
                max_retry_after: Duration::from_secs(1),
            },
        },
        ..ConnectOptions::default()
    };
    let cf = connect(&format!("http://{addr}/client/v4"), &options);
    let started = Instant::now();
    let err = cf.get_nameservers(&domain()).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    hold.abort();
}

#[test]
fn default_timeout_is_thirty_seconds() {
    assert_eq!(HttpConfig::default().timeout, Duration::from_secs(30));
    assert!(RetryPolicy::default().max_attempts > 1);
}
