//! Registrar routes (PDM §4) and the BYO lifecycle, in process: poolmgr's
//! router on a loopback port, SQLite in a temp dir, the registrars crate's
//! mocks for the providers, and a real dnsd for the BYO zone work.
//!
//! Every secret used here contains `S3CRET`, so one substring check over
//! every response body and every captured log line proves token hygiene
//! (§4.5).

use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use poolmgr::api::auth::Auth;
use poolmgr::api::{AppState, router};
use poolmgr::config::{BaseUrls, Cli, NameList};
use poolmgr::dns::{PdnsClient, PdnsConfig};
use poolmgr::store::Store;
use registrars::mock::{Fault, MockServer, Seed};
use registrars::{DsRecord, Provider, Secret};
use serde_json::{Value, json};

use testkit::captured_logs;

const MARK: &str = "S3CRET";
const SEALING_KEY: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

//----------- provider seeds ----------------------------------------------------

fn seed(provider: Provider, task_polls: u32) -> Seed {
    let (creds, ns) = match provider {
        Provider::Cloudflare => (
            json!({"api_token": "cf-tok-S3CRET"}),
            json!(["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]),
        ),
        Provider::Namecheap => (
            json!({"api_user": "demo", "api_key": "nc-key-S3CRET", "username": "demo"}),
            json!(["dns1.registrar-servers.com", "dns2.registrar-servers.com"]),
        ),
        Provider::GoDaddy => (
            json!({"key": "gd-key-S3CRET", "secret": "gd-sec-S3CRET"}),
            json!(["ns1.domaincontrol.com", "ns2.domaincontrol.com"]),
        ),
        Provider::Ovh => (
            json!({"application_key": "ovh-ak-S3CRET", "application_secret": "ovh-as-S3CRET", "consumer_key": "ovh-ck-S3CRET"}),
            json!(["dns10.ovh.net", "ns10.ovh.net"]),
        ),
        Provider::Dynadot => (
            json!({"api_key": "dyn-key-S3CRET", "api_secret": "dyn-sec-S3CRET"}),
            json!(["ns1.dyna-ns.net", "ns2.dyna-ns.net"]),
        ),
    };
    let domains: Vec<Value> = ["acme.com", "byo-example.com"]
        .iter()
        .map(|d| json!({"name": d, "nameservers": ns, "hosted_zone": provider != Provider::Ovh}))
        .collect();
    let seed = json!({
        "options": {"task_polls": task_polls},
        "accounts": [{
            "id": "cust-1",
            "credentials": creds,
            "client_ips": ["127.0.0.1"],
            "domains": domains,
        }],
    });
    Seed::from_json(&seed.to_string()).expect("seed parses")
}

/// The PDM token that works against [`seed`].
fn good_token(provider: Provider) -> &'static str {
    match provider {
        Provider::Cloudflare => "cf-tok-S3CRET",
        Provider::Namecheap => "demo:nc-key-S3CRET:127.0.0.1",
        // With the customer id, which GoDaddy's v2 DS calls need.
        Provider::GoDaddy => "gd-key-S3CRET:gd-sec-S3CRET:cust-1",
        Provider::Ovh => "ovh-ak-S3CRET:ovh-as-S3CRET:ovh-ck-S3CRET",
        Provider::Dynadot => "dyn-key-S3CRET:dyn-sec-S3CRET",
    }
}

/// A well-formed token the mock refuses.
fn bad_token(provider: Provider) -> &'static str {
    match provider {
        Provider::Cloudflare => "cf-wrong-S3CRET",
        Provider::Namecheap => "demo:nc-wrong-S3CRET:127.0.0.1",
        Provider::GoDaddy => "gd-wrong-S3CRET:gd-wrong2-S3CRET",
        Provider::Ovh => "ovh-wrong-S3CRET:ovh-as-S3CRET:ovh-ck-S3CRET",
        Provider::Dynadot => "dyn-wrong-S3CRET:dyn-sec-S3CRET",
    }
}

//----------- dnsd ---------------------------------------------------------------

/// A dnsd child process with its REST API; killed on drop.
struct Dnsd {
    child: Child,
    api: String,
    _dir: tempfile::TempDir,
}

impl Drop for Dnsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const DNSD_KEY: &str = "dnsd-api-key-S3CRET";

fn start_dnsd() -> Dnsd {
    let bin: PathBuf = e2e::dnsd_bin();
    let dir = tempfile::tempdir().unwrap();
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let api_port = e2e::free_port(lo);
    let dns_port = e2e::free_port(lo);
    let child = Command::new(bin)
        .args([
            "--api-listen",
            &format!("127.0.0.1:{api_port}"),
            "--api-key",
            DNSD_KEY,
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{dns_port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsd starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", api_port)).is_err() {
        assert!(Instant::now() < deadline, "dnsd API never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    Dnsd {
        child,
        api: format!("http://127.0.0.1:{api_port}"),
        _dir: dir,
    }
}

//----------- harness -------------------------------------------------------------

struct Harness {
    base: String,
    http: reqwest::Client,
    state: AppState,
    _dir: tempfile::TempDir,
}

#[derive(Default)]
struct Options<'a> {
    mocks: Vec<(Provider, &'a MockServer)>,
    dnsd: Option<&'a Dnsd>,
    sealing_key: bool,
    allow_foreign: bool,
}

async fn harness(opts: Options<'_>) -> Harness {
    captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("poolmgr.db").display());
    let pdns = opts
        .dnsd
        .map(|d| d.api.clone())
        .unwrap_or_else(|| "http://127.0.0.1:9".into());
    let cli = Cli::try_parse_from([
        "poolmgr",
        "--database-url",
        &db,
        "--pdns-base-url",
        &pdns,
        "--pdns-api-key",
        DNSD_KEY,
    ])
    .unwrap();
    let mut settings = cli.serve.expect("serve settings");
    settings.nameservers = NameList(vec!["ns1.openova.io".into(), "ns2.openova.io".into()]);
    settings.managed_domains = Some(NameList(vec!["openova.io".into()]));
    settings.allow_foreign_nameservers = opts.allow_foreign;
    settings.auth_disabled = true;
    settings.token_sealing_key = opts.sealing_key.then(|| Secret::new(SEALING_KEY));
    settings.registrar_base_urls = Some(BaseUrls(
        opts.mocks.iter().map(|(p, m)| (*p, m.base_url())).collect(),
    ));
    let store = Store::connect(&db).await.expect("store");
    let dns = PdnsClient::new(PdnsConfig {
        base_url: pdns,
        api_key: Secret::new(DNSD_KEY),
        server_id: "localhost".into(),
        ca_file: None,
    })
    .unwrap();
    let state = AppState::new(store, dns, settings, Auth::disabled());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Harness {
        base,
        http: reqwest::Client::new(),
        state,
        _dir: dir,
    }
}

impl Harness {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("poolmgr answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(!text.contains(MARK), "a secret in a response body: {text}");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn post_raw(&self, path: &str, body: &'static str) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }
}

fn assert_logs_clean() {
    let logs = captured_logs();
    assert!(
        logs.contains("outcome"),
        "the capture sees poolmgr's log lines"
    );
    assert!(!logs.contains(MARK), "a secret in the logs:\n{logs}");
}

async fn mock(provider: Provider, task_polls: u32) -> MockServer {
    MockServer::start(provider, seed(provider, task_polls))
        .await
        .expect("mock starts")
}

/// Journal entries that are writes: HTTP writes (Namecheap POSTs every
/// call, so only its `.set*` commands count), and the notes mocks make
/// when they change their world (Dynadot writes over GET).
fn writes(server: &MockServer) -> Vec<String> {
    server
        .state()
        .journal()
        .into_iter()
        .filter(|e| {
            let http_write = ["POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| e.starts_with(m));
            let namecheap_call = e.contains("xml.response");
            e.starts_with("write ")
                || (e.starts_with("namecheap ") && e.contains(".set"))
                || (http_write && !namecheap_call)
        })
        .collect()
}

//----------- validate -------------------------------------------------------------

/// ok, invalid token, not in account, rate limited, unavailable.
async fn validate_matrix(provider: Provider) {
    let server = mock(provider, 1).await;
    let h = harness(Options {
        mocks: vec![(provider, &server)],
        ..Options::default()
    })
    .await;
    let r = provider.name();
    let path = format!("/api/v1/registrar/{}/validate", r.to_uppercase());

    let (status, body) = h
        .post(
            &path,
            json!({"domain": " ACME.com ", "token": good_token(provider)}),
        )
        .await;
    assert_eq!(status, 200, "{r}: {body}");
    assert_eq!(
        body,
        json!({"valid": true, "registrar": r, "domain": "acme.com"})
    );

    let (status, body) = h
        .post(
            &path,
            json!({"domain": "acme.com", "token": bad_token(provider)}),
        )
        .await;
    assert_eq!(status, 401, "{r}: {body}");
    assert_eq!(
        body,
        json!({"error": "invalid-token", "detail": format!("credentials rejected by {r}"),
               "registrar": r, "domain": "acme.com"})
    );

    let (status, body) = h
        .post(
            &path,
            json!({"domain": "stranger.com", "token": good_token(provider)}),
        )
        .await;
    assert_eq!(status, 403, "{r}: {body}");
    assert_eq!(
        body,
        json!({"error": "domain-not-in-account",
               "detail": format!("stranger.com is not visible to the supplied {r} credentials"),
               "registrar": r, "domain": "stranger.com"})
    );

    // A retry hint beyond what the client sits through comes back at once.
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(3600),
        },
        10,
    );
    let (status, body) = h
        .post(
            &path,
            json!({"domain": "acme.com", "token": good_token(provider)}),
        )
        .await;
    server.state().clear_faults();
    assert_eq!(status, 429, "{r}: {body}");
    assert_eq!(body["error"], "rate-limited");
    assert_eq!(body["detail"], format!("{r} rate-limited the request"));

    server.state().inject(
        Fault::Status {
            status: 503,
            body: format!("upstream down, key={MARK}"),
            retry_after: None,
        },
        10,
    );
    let (status, body) = h
        .post(
            &path,
            json!({"domain": "acme.com", "token": good_token(provider)}),
        )
        .await;
    server.state().clear_faults();
    assert_eq!(status, 502, "{r}: {body}");
    assert_eq!(
        body,
        json!({"error": "api-unavailable", "detail": format!("{r} API is unreachable"),
               "registrar": r, "domain": "acme.com"})
    );
    assert_logs_clean();
}

#[tokio::test]
async fn validate_cloudflare() {
    validate_matrix(Provider::Cloudflare).await;
}

#[tokio::test]
async fn validate_namecheap() {
    validate_matrix(Provider::Namecheap).await;
}

#[tokio::test]
async fn validate_godaddy() {
    validate_matrix(Provider::GoDaddy).await;
}

#[tokio::test]
async fn validate_ovh() {
    validate_matrix(Provider::Ovh).await;
}

#[tokio::test]
async fn validate_dynadot() {
    validate_matrix(Provider::Dynadot).await;
}

#[tokio::test]
async fn request_errors_use_pdm_codes() {
    let server = mock(Provider::Namecheap, 1).await;
    let h = harness(Options {
        mocks: vec![(Provider::Namecheap, &server)],
        ..Options::default()
    })
    .await;

    let (status, body) = h.post("/api/v1/registrar/enom/validate", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": "unsupported-registrar", "detail": "no adapter for registrar enom",
               "supported": ["cloudflare", "dynadot", "godaddy", "namecheap", "ovh"]})
    );

    let (status, body) = h
        .post_raw("/api/v1/registrar/namecheap/validate", "{not json")
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid-body", "detail": "request body must be JSON {domain, token}"})
    );
    let (status, body) = h
        .post_raw("/api/v1/registrar/namecheap/set-ns", "[1]")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid-body");

    let (status, body) = h
        .post(
            "/api/v1/registrar/namecheap/validate",
            json!({"token": good_token(Provider::Namecheap)}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("missing-domain"))
    );
    let (status, body) = h
        .post(
            "/api/v1/registrar/namecheap/validate",
            json!({"domain": "acme.com", "token": "  "}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("missing-token"))
    );

    // §10.15: no silent ClientIp 127.0.0.1 for a 2-part Namecheap token.
    let (status, body) = h
        .post(
            "/api/v1/registrar/namecheap/validate",
            json!({"domain": "acme.com", "token": "demo:nc-key-S3CRET"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid-token-format");
    assert!(
        body["detail"].as_str().unwrap().contains("clientIp"),
        "{body}"
    );
    assert!(server.state().journal().is_empty(), "nothing was sent");
    assert_logs_clean();
}

//----------- set-ns -----------------------------------------------------------------

async fn set_ns_happy(provider: Provider) {
    let server = mock(provider, 1).await;
    let h = harness(Options {
        mocks: vec![(provider, &server)],
        ..Options::default()
    })
    .await;
    let r = provider.name();
    let path = format!("/api/v1/registrar/{r}/set-ns");
    // No `nameservers`: the configured set (§10.8).
    let (status, body) = h
        .post(
            &path,
            json!({"domain": "acme.com", "token": good_token(provider)}),
        )
        .await;
    assert_eq!(status, 200, "{r}: {body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["registrar"], r);
    assert_eq!(body["domain"], "acme.com");
    let hint = poolmgr::api::registrar::propagation_hint(provider);
    assert_eq!(body["propagation"], hint);
    let change = body["change"].as_str().unwrap().to_owned();
    match change.as_str() {
        "applied" => {
            // Read-back shows the new set; a repeat writes nothing.
            assert_eq!(
                body["nameservers"],
                json!(["ns1.openova.io", "ns2.openova.io"]),
                "{r}"
            );
            let before = writes(&server).len();
            let (status, again) = h
                .post(
                    &path,
                    json!({"domain": "acme.com", "token": good_token(provider),
                           "nameservers": ["NS2.openova.io.", "ns1.openova.io", "ns1.openova.io"]}),
                )
                .await;
            assert_eq!(status, 200, "{again}");
            assert_eq!(again["change"], "unchanged");
            assert_eq!(writes(&server).len(), before, "no write when equal");
        }
        "pending" => {
            // OVH/GoDaddy: a task; the read-back is whatever the registry
            // shows meanwhile.
            assert!(body["task"].is_string(), "{body}");
            assert!(!body["nameservers"].as_array().unwrap().is_empty());
        }
        other => panic!("{r}: unexpected change {other}: {body}"),
    }
    // Providers with task queues answer pending; the others apply.
    match provider {
        Provider::Ovh | Provider::GoDaddy => assert_eq!(change, "pending", "{body}"),
        _ => assert_eq!(change, "applied", "{body}"),
    }
    assert!(!writes(&server).is_empty(), "{r} was written to");
    assert_logs_clean();
}

#[tokio::test]
async fn set_ns_namecheap() {
    set_ns_happy(Provider::Namecheap).await;
}

#[tokio::test]
async fn set_ns_godaddy() {
    set_ns_happy(Provider::GoDaddy).await;
}

#[tokio::test]
async fn set_ns_ovh() {
    set_ns_happy(Provider::Ovh).await;
}

#[tokio::test]
async fn set_ns_dynadot() {
    set_ns_happy(Provider::Dynadot).await;
}

#[tokio::test]
async fn set_ns_cloudflare_registrar_is_unsupported() {
    let server = mock(Provider::Cloudflare, 1).await;
    let h = harness(Options {
        mocks: vec![(Provider::Cloudflare, &server)],
        ..Options::default()
    })
    .await;
    let (status, body) = h
        .post(
            "/api/v1/registrar/cloudflare/set-ns",
            json!({"domain": "acme.com", "token": good_token(Provider::Cloudflare)}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "unsupported-operation");
    assert_eq!(
        body["detail"],
        "cloudflare registrar does not allow custom nameservers"
    );
    assert_eq!(body["registrar"], "cloudflare");
    assert_eq!(body["domain"], "acme.com");
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert_logs_clean();
}

#[tokio::test]
async fn set_ns_name_server_policy() {
    let server = mock(Provider::Dynadot, 1).await;
    let h = harness(Options {
        mocks: vec![(Provider::Dynadot, &server)],
        ..Options::default()
    })
    .await;
    let path = "/api/v1/registrar/dynadot/set-ns";
    let token = good_token(Provider::Dynadot);

    let (status, body) = h
        .post(
            path,
            json!({"domain": "acme.com", "token": token, "nameservers": ["ns1.evil.net", "ns2.openova.io"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "foreign-nameservers");
    assert!(body["detail"].as_str().unwrap().contains("ns1.evil.net"));

    // An explicit empty list stays PDM's 422.
    let (status, body) = h
        .post(
            path,
            json!({"domain": "acme.com", "token": token, "nameservers": [" ", ""]}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("missing-nameservers"))
    );

    let (status, body) = h
        .post(
            path,
            json!({"domain": "acme.com", "token": token, "nameservers": ["ns1.openova.io", "NS1.openova.io"]}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid-nameservers"))
    );
    assert!(
        server.state().journal().is_empty(),
        "refused before any call"
    );

    // The operator flag lets foreign hosts through.
    let open = harness(Options {
        mocks: vec![(Provider::Dynadot, &server)],
        allow_foreign: true,
        ..Options::default()
    })
    .await;
    let (status, body) = open
        .post(
            path,
            json!({"domain": "acme.com", "token": token, "nameservers": ["ns1.partner.net", "ns2.partner.net"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["nameservers"],
        json!(["ns1.partner.net", "ns2.partner.net"])
    );
    assert_logs_clean();
}

//----------- BYO -----------------------------------------------------------------------

#[tokio::test]
async fn byo_keep_token_needs_the_operator_key() {
    let server = mock(Provider::Ovh, 1).await;
    let h = harness(Options {
        mocks: vec![(Provider::Ovh, &server)],
        ..Options::default()
    })
    .await;
    let (status, body) = h
        .post(
            "/api/v1/byo/ovh/domains",
            json!({"domain": "byo-example.com", "token": good_token(Provider::Ovh), "keepToken": true}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "token-sealing-disabled");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("POOLMGR_TOKEN_SEALING_KEY")
    );
    assert!(server.state().journal().is_empty());

    // A refused token leaves no record behind.
    let (status, body) = h
        .post(
            "/api/v1/byo/ovh/domains",
            json!({"domain": "byo-example.com", "token": bad_token(Provider::Ovh)}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid-token"))
    );
    let (status, _) = h.get("/api/v1/byo/domains/byo-example.com").await;
    assert_eq!(status, 404);

    let (status, body) = h
        .post(
            "/api/v1/byo/ovh/domains",
            json!({"domain": "pool.openova.io", "token": good_token(Provider::Ovh)}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("managed-pool"))
    );
    assert_logs_clean();
}

/// The zone's DS as dnsd serves it.
async fn zone_ds(h: &Harness, zone: &str) -> Vec<DsRecord> {
    h.state
        .dns
        .ds_records(zone)
        .await
        .expect("DS from dnsd")
        .iter()
        .map(|t| DsRecord::parse(t).unwrap())
        .collect()
}

/// OVH: the NS change is a task (two polls), refreshed with a token the
/// caller supplies each time; OVH wants DNSKEYs, so the DS is manual.
#[tokio::test]
async fn byo_ovh_task_completes_after_refreshes() {
    let dnsd = start_dnsd();
    let server = mock(Provider::Ovh, 2).await;
    let h = harness(Options {
        mocks: vec![(Provider::Ovh, &server)],
        dnsd: Some(&dnsd),
        ..Options::default()
    })
    .await;
    let token = good_token(Provider::Ovh);
    let (status, body) = h
        .post(
            "/api/v1/byo/ovh/domains",
            json!({"domain": "BYO-example.com", "token": token}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], "pending");
    assert_eq!(body["ns"]["status"], "pending");
    assert!(body["ns"]["task"].is_string());
    assert_eq!(body["ds"]["status"], "waiting-ns");
    assert_eq!(body["tokenKept"], false);
    let ds = body["ds"]["records"].as_array().unwrap().clone();
    assert!(!ds.is_empty(), "{body}");
    assert!(h.state.dns.zone_exists("byo-example.com").await.unwrap());

    let (status, shown) = h.get("/api/v1/byo/domains/byo-example.com").await;
    assert_eq!(status, 200);
    assert_eq!(shown["state"], "pending");

    // Without a kept token the poller cannot help.
    assert_eq!(poolmgr::byo::poll_pending(&h.state.byo_deps()).await, 0);

    let path = "/api/v1/byo/domains/byo-example.com/refresh";
    let (status, body) = h.post(path, json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("missing-token"))
    );
    let mut last = Value::Null;
    for _ in 0..5 {
        let (status, body) = h.post(path, json!({"token": token})).await;
        assert_eq!(status, 200, "{body}");
        last = body;
        if last["state"] != "pending" {
            break;
        }
    }
    assert_eq!(last["state"], "complete", "{last}");
    assert_eq!(last["ns"]["status"], "applied");
    assert_eq!(last["ds"]["status"], "manual", "OVH takes DNSKEYs only");
    assert_eq!(last["ds"]["records"], json!(ds));
    let world = server.state().world();
    let domain = world.accounts[0].domain("byo-example.com").unwrap();
    assert_eq!(domain.nameservers, ["ns1.openova.io", "ns2.openova.io"]);
    drop(world);
    assert_logs_clean();
}

/// GoDaddy with a kept (sealed) token: the background poller finishes
/// the NS task, then publishes the DS, then forgets the token.
#[tokio::test]
async fn byo_godaddy_poller_finishes_with_kept_token() {
    let dnsd = start_dnsd();
    let server = mock(Provider::GoDaddy, 2).await;
    let h = harness(Options {
        mocks: vec![(Provider::GoDaddy, &server)],
        dnsd: Some(&dnsd),
        sealing_key: true,
        ..Options::default()
    })
    .await;
    let (status, body) = h
        .post(
            "/api/v1/byo/godaddy/domains",
            json!({"domain": "byo-example.com", "token": good_token(Provider::GoDaddy), "keepToken": true}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], "pending");
    assert_eq!(body["tokenKept"], true, "{body}");
    let mut shown = body;
    for _ in 0..10 {
        if shown["state"] != "pending" {
            break;
        }
        poolmgr::byo::poll_pending(&h.state.byo_deps()).await;
        shown = h.get("/api/v1/byo/domains/byo-example.com").await.1;
    }
    assert_eq!(shown["state"], "complete", "{shown}");
    assert_eq!(shown["tokenKept"], false, "token dropped once complete");
    assert_eq!(shown["ds"]["status"], "published", "{shown}");
    let want = zone_ds(&h, "byo-example.com").await;
    let world = server.state().world();
    let domain = world.accounts[0].domain("byo-example.com").unwrap();
    assert_eq!(domain.nameservers, ["ns1.openova.io", "ns2.openova.io"]);
    assert_eq!(domain.ds, want);
    drop(world);
    assert_logs_clean();
}

/// Dynadot is synchronous: one request sets NS and publishes the DS.
#[tokio::test]
async fn byo_dynadot_publishes_ds() {
    let dnsd = start_dnsd();
    let server = mock(Provider::Dynadot, 1).await;
    let h = harness(Options {
        mocks: vec![(Provider::Dynadot, &server)],
        dnsd: Some(&dnsd),
        sealing_key: true,
        ..Options::default()
    })
    .await;
    let (status, body) = h
        .post(
            "/api/v1/byo/dynadot/domains",
            json!({"domain": "byo-example.com", "token": good_token(Provider::Dynadot), "keepToken": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], "complete");
    assert_eq!(body["ns"]["status"], "applied");
    assert_eq!(body["ds"]["status"], "published");
    assert_eq!(body["tokenKept"], false, "nothing to poll, nothing kept");
    let want = zone_ds(&h, "byo-example.com").await;
    assert!(!want.is_empty());
    {
        let world = server.state().world();
        let domain = world.accounts[0].domain("byo-example.com").unwrap();
        assert_eq!(domain.nameservers, ["ns1.openova.io", "ns2.openova.io"]);
        assert_eq!(domain.ds, want);
    }

    // Again: everything is already so; nothing is written.
    let before = writes(&server).len();
    let (status, body) = h
        .post(
            "/api/v1/byo/dynadot/domains",
            json!({"domain": "byo-example.com", "token": good_token(Provider::Dynadot)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ns"]["status"], "unchanged");
    assert_eq!(body["ds"]["status"], "unchanged");
    assert_eq!(writes(&server).len(), before);
    assert_logs_clean();
}

/// A kept token that no longer opens (the operator rotated the key) is
/// dropped by the poller with a code saying why, not retried forever.
#[tokio::test]
async fn poller_drops_a_token_sealed_with_another_key() {
    use poolmgr::sealing::SealingKey;
    use poolmgr::store::byo::{ByoRecord, ByoState, DsStatus, NsStatus, SealedToken};

    let h = harness(Options {
        sealing_key: true,
        ..Options::default()
    })
    .await;
    let other_key = SealingKey::from_secret(&Secret::new("11".repeat(32))).unwrap();
    let sealed = other_key.seal(
        &Secret::new(good_token(Provider::Ovh)),
        &poolmgr::byo::token_context("byo-example.com", "ovh"),
    );
    let record = ByoRecord {
        domain: "byo-example.com".into(),
        registrar: "ovh".into(),
        state: ByoState::Pending,
        nameservers: vec!["ns1.openova.io".into(), "ns2.openova.io".into()],
        ns_status: NsStatus::Pending,
        ns_task: Some("1001".into()),
        ds_status: DsStatus::WaitingNs,
        ds_task: None,
        ds_records: vec![],
        last_error: None,
        sealed_token: Some(SealedToken(sealed)),
        created_at: 1,
        updated_at: 1,
    };
    assert!(!format!("{record:?}").contains(MARK));
    h.state.store.byo_upsert(&record).await.unwrap();
    assert_eq!(poolmgr::byo::poll_pending(&h.state.byo_deps()).await, 1);
    let (status, shown) = h.get("/api/v1/byo/domains/byo-example.com").await;
    assert_eq!(status, 200);
    assert_eq!(shown["state"], "pending");
    assert_eq!(shown["tokenKept"], false);
    assert_eq!(shown["lastError"], "token-unsealable");
    assert_eq!(poolmgr::byo::poll_pending(&h.state.byo_deps()).await, 0);
    assert_logs_clean();
}
