//! The pool routes' wire contract (PDM §3), in process: every status and
//! error code in PDM's evaluation order, with a DNS server that is not
//! there, so the success paths show the "DNS left to the worker" answers
//! (201 for reserve, 202 for commit and release). The DNS outcomes
//! themselves are tested end to end in tests/e2e/poolmgr.rs.

use std::sync::Arc;

use clap::Parser;
use poolmgr::api::auth::{Auth, hash_entry};
use poolmgr::api::{AppState, router};
use poolmgr::clock::ManualClock;
use poolmgr::config::Cli;
use poolmgr::dns::{PdnsClient, PdnsConfig};
use poolmgr::store::Store;
use registrars::Secret;
use serde_json::{Value, json};

use testkit::captured_logs;

const POOL: &str = "omani.works";
const CALLER: &str = "caller-token-0123456789abcdef";
const OPERATOR: &str = "operator-token-0123456789abcdef";

struct Api {
    base: String,
    http: reqwest::Client,
    /// The store the router uses, for tests that break it.
    store: Store,
    /// The router's wall time; tests advance it instead of sleeping.
    clock: Arc<ManualClock>,
    /// The router's state (its applier runs the sweeper's step).
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start(ttl: &str) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("pool.db").display());
        let settings = Cli::try_parse_from([
            "poolmgr",
            "--database-url",
            &db,
            "--pdns-base-url",
            "http://127.0.0.1:9",
            "--pdns-api-key",
            "k",
            "--managed-domains",
            "omani.works openova.io",
            "--reservation-ttl",
            ttl,
            "--inline-dns-timeout",
            "1s",
        ])
        .unwrap()
        .serve
        .unwrap();
        let auth = Auth::from_settings(
            Some(&format!(
                "{},{}",
                hash_entry("caller", CALLER).unwrap(),
                hash_entry("operator", OPERATOR).unwrap()
            )),
            None,
        )
        .unwrap();
        let store = Store::connect(&db).await.unwrap();
        let dns = PdnsClient::new(PdnsConfig {
            base_url: "http://127.0.0.1:9".into(),
            api_key: Secret::new("k"),
            server_id: "localhost".into(),
        })
        .unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let state = AppState::with_clock(store.clone(), dns, settings, auth, clock.clone());
        let app = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Api {
            base,
            http: reqwest::Client::new(),
            store,
            clock,
            state,
            _dir: dir,
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(CALLER);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(ctype.starts_with("application/json"), "{path}: {ctype}");
        (status, resp.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(&body.to_string())).await
    }

    async fn check(&self, sub: &str) -> Value {
        let (status, body) = self
            .send("GET", &format!("/api/v1/pool/{POOL}/check?sub={sub}"), None)
            .await;
        assert_eq!(status, 200);
        body
    }
}

fn code(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn reserve_errors_in_pdm_order() {
    let api = Api::start("2h").await;
    let path = format!("/api/v1/pool/{POOL}/reserve");
    let (s, b) = api.send("POST", &path, Some("{not json")).await;
    assert_eq!((s, b), (400, json!({ "error": "invalid JSON body" })));
    // Label before pool: a bad label on an unmanaged pool is invalid-format.
    let (s, b) = api
        .post(
            "/api/v1/pool/other.example/reserve",
            json!({ "subdomain": "-bad" }),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "invalid-format"));
    let (s, b) = api
        .post(
            "/api/v1/pool/other.example/reserve",
            json!({ "subdomain": "ok" }),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "unsupported-pool"));
    assert_eq!(
        b["detail"],
        "pool domain other.example is not managed by OpenOva"
    );
    let (s, b) = api.post(&path, json!({ "subdomain": "Vault" })).await;
    assert_eq!((s, code(&b)), (422, "reserved"));
    // Success even though the DNS server is down: the worker carries on.
    let (s, b) = api.post(&path, json!({ "subdomain": " OmanTel " })).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["subdomain"], "omantel");
    assert_eq!(b["createdBy"], "catalyst-api");
    assert_eq!(b["state"], "reserved");
    let reserved = chrono_secs(&b["reservedAt"]);
    assert_eq!(chrono_secs(&b["expiresAt"]) - reserved, 7200);
    let (s, b) = api.post(&path, json!({ "subdomain": "omantel" })).await;
    assert_eq!((s, code(&b)), (409, "conflict"));
    assert_eq!(b["detail"], "this subdomain is already reserved or active");
}

fn chrono_secs(v: &Value) -> i64 {
    let s = v.as_str().unwrap();
    assert!(
        s.ends_with('Z') && s.len() == 20,
        "RFC 3339 seconds with Z: {s}"
    );
    // YYYY-MM-DDTHH:MM:SSZ → seconds within the day is enough for a
    // difference below one day.
    let h: i64 = s[11..13].parse().unwrap();
    let m: i64 = s[14..16].parse().unwrap();
    let sec: i64 = s[17..19].parse().unwrap();
    let day: i64 = s[8..10].parse().unwrap();
    ((day * 24 + h) * 60 + m) * 60 + sec
}

#[tokio::test]
async fn commit_errors_in_pdm_order_and_202_when_dns_is_down() {
    let api = Api::start("2h").await;
    let commit = format!("/api/v1/pool/{POOL}/commit");
    let (_, r) = api
        .post(
            &format!("/api/v1/pool/{POOL}/reserve"),
            json!({ "subdomain": "omantel" }),
        )
        .await;
    let token = r["reservationToken"].as_str().unwrap().to_string();
    let cases = [
        (
            json!({ "subdomain": "1x", "loadBalancerIP": "" }),
            422,
            "invalid-format",
        ),
        (
            json!({ "subdomain": "omantel", "loadBalancerIP": "  " }),
            422,
            "missing-lb-ip",
        ),
        (
            json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "300.1.1.1" }),
            422,
            "invalid-lb-ip",
        ),
        (
            json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "192.0.2.1", "loadBalancerIPv6": "nope" }),
            422,
            "invalid-lb-ip",
        ),
        (
            json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "192.0.2.1", "sovereignFQDN": "bad name" }),
            422,
            "invalid-fqdn",
        ),
        (
            json!({ "subdomain": "nobody", "reservationToken": token, "loadBalancerIP": "192.0.2.1" }),
            404,
            "not-found",
        ),
        (
            json!({ "subdomain": "omantel", "reservationToken": "not-a-uuid", "loadBalancerIP": "192.0.2.1" }),
            403,
            "token-mismatch",
        ),
        (
            json!({ "subdomain": "omantel", "reservationToken": "9b2f0a6e-1c1e-4f7b-8d53-1b1d2a3c4e5f", "loadBalancerIP": "192.0.2.1" }),
            403,
            "token-mismatch",
        ),
    ];
    for (body, status, error) in cases {
        let (s, b) = api.post(&commit, body.clone()).await;
        assert_eq!((s, code(&b)), (status, error), "{body}");
    }
    let (s, b) = api
        .post(
            "/api/v1/pool/nope.example/commit",
            json!({ "subdomain": "omantel", "loadBalancerIP": "192.0.2.1" }),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "unsupported-pool"));
    let ok = json!({ "subdomain": "omantel", "reservationToken": token,
                     "sovereignFQDN": "omantel.omani.works", "loadBalancerIP": "192.0.2.1" });
    let (s, b) = api.post(&commit, ok.clone()).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(
        b["warning"],
        "row committed but PowerDNS write failed; retry commit to publish DNS"
    );
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .starts_with("powerdns write: ")
    );
    assert_eq!(b["state"], "active");
    assert_eq!(b["loadBalancerIP"], "192.0.2.1");
    assert!(b.get("reservationToken").is_none() && b.get("expiresAt").is_none());
    // The retry is 202 again (not 409): DNS is still down.
    assert_eq!(api.post(&commit, ok).await.0, 202);
    let other = json!({ "subdomain": "omantel", "reservationToken": uuid::Uuid::new_v4().to_string(), "loadBalancerIP": "192.0.2.1" });
    let (s, b) = api.post(&commit, other).await;
    assert_eq!((s, code(&b)), (409, "already-active"));
    assert_eq!(api.check("omantel").await["reason"], "active-state");
}

#[tokio::test]
async fn expired_reservations_give_410_and_are_available() {
    let api = Api::start("4s").await;
    let (_, r) = api
        .post(
            &format!("/api/v1/pool/{POOL}/reserve"),
            json!({ "subdomain": "brief" }),
        )
        .await;
    let token = r["reservationToken"].as_str().unwrap().to_string();
    assert_eq!(api.check("brief").await["reason"], "reserved-state");
    api.clock.advance(4);
    assert_eq!(
        api.check("brief").await,
        json!({ "available": true, "fqdn": "brief.omani.works" })
    );
    let body =
        json!({ "subdomain": "brief", "reservationToken": token, "loadBalancerIP": "192.0.2.1" });
    let (s, b) = api.post(&format!("/api/v1/pool/{POOL}/commit"), body).await;
    assert_eq!((s, code(&b)), (410, "reservation-expired"));
    let renew = json!({ "subdomain": "brief", "reservationToken": token });
    let (s, b) = api.post(&format!("/api/v1/pool/{POOL}/renew"), renew).await;
    assert_eq!((s, code(&b)), (410, "reservation-expired"));
    // Reserving it again works (the old zone's teardown is queued first).
    assert_eq!(
        api.post(
            &format!("/api/v1/pool/{POOL}/reserve"),
            json!({ "subdomain": "brief" })
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn the_sweeper_claims_what_the_clock_says_has_lapsed() {
    let api = Api::start("1h").await;
    api.post(
        &format!("/api/v1/pool/{POOL}/reserve"),
        json!({ "subdomain": "swept" }),
    )
    .await;
    assert_eq!(api.state.applier.sweep_once().await.unwrap(), 0);
    api.clock.advance(3599);
    assert_eq!(api.state.applier.sweep_once().await.unwrap(), 0);
    api.clock.advance(1);
    assert_eq!(api.state.applier.sweep_once().await.unwrap(), 1);
    let row = api.store.get(POOL, "swept").await.unwrap().unwrap();
    assert_eq!(row.state, poolmgr::model::State::Expiring);
    assert_eq!(api.check("swept").await["available"], true);
}

#[tokio::test]
async fn renew_moves_the_expiry() {
    let api = Api::start("1h").await;
    let (_, r) = api
        .post(
            &format!("/api/v1/pool/{POOL}/reserve"),
            json!({ "subdomain": "long" }),
        )
        .await;
    let token = r["reservationToken"].as_str().unwrap();
    api.clock.advance(1);
    let (s, b) = api
        .post(
            &format!("/api/v1/pool/{POOL}/renew"),
            json!({ "subdomain": "long", "reservationToken": token }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(chrono_secs(&b["expiresAt"]) > chrono_secs(&r["expiresAt"]));
    assert!(b.get("reservationToken").is_none());
    let (s, b) = api
        .post(
            &format!("/api/v1/pool/{POOL}/renew"),
            json!({ "subdomain": "long", "reservationToken": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!((s, code(&b)), (403, "token-mismatch"));
}

#[tokio::test]
async fn check_reasons_in_order() {
    let api = Api::start("2h").await;
    assert_eq!(api.check("-x").await["reason"], "invalid-format");
    let (s, b) = api
        .send("GET", "/api/v1/pool/other.example/check?sub=-x", None)
        .await;
    assert_eq!((s, b["reason"].as_str()), (200, Some("invalid-format")));
    let (_, b) = api
        .send("GET", "/api/v1/pool/other.example/check?sub=ok", None)
        .await;
    assert_eq!(b["reason"], "unsupported-pool");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .ends_with("pick a different pool or use BYO")
    );
    assert_eq!(api.check("www").await["reason"], "reserved");
    assert_eq!(
        api.check("free").await,
        json!({ "available": true, "fqdn": "free.omani.works" })
    );
    let (s, b) = api.send("GET", "/api/v1/reserved", None).await;
    assert_eq!(s, 200);
    assert_eq!(b["reserved"].as_array().unwrap().len(), 21);
}

#[tokio::test]
async fn release_falls_back_to_the_query_and_is_retryable() {
    let api = Api::start("2h").await;
    api.post(
        &format!("/api/v1/pool/{POOL}/reserve"),
        json!({ "subdomain": "gone" }),
    )
    .await;
    // No body: PDM's recovery script uses ?sub=.
    let (s, b) = api
        .send(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=gone"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["freed"]["subdomain"], "gone");
    assert!(b["warning"].as_str().unwrap().contains("re-run release"));
    assert!(b["freed"].get("reservationToken").is_none());
    // The row waits for its teardown; a retry re-runs it (202 while DNS is down).
    let (s, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(r#"{"subdomain":"gone"}"#),
        )
        .await;
    assert_eq!(s, 202);
    let (s, b) = api
        .send(
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(r#"{"subdomain":"never"}"#),
        )
        .await;
    assert_eq!((s, code(&b)), (404, "not-found"));
}

#[tokio::test]
async fn scopes_and_unknown_routes() {
    let api = Api::start("2h").await;
    let list = format!("{}/api/v1/pool/{POOL}/list", api.base);
    let r = api.http.get(&list).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = api
        .http
        .get(&list)
        .bearer_auth(CALLER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = api
        .http
        .get(&list)
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "poolDomain": POOL, "allocations": [] }));
    let health = api
        .http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(
        health["managedDomains"],
        json!(["omani.works", "openova.io"])
    );
    assert_eq!(
        health["registrars"],
        json!(["cloudflare", "dynadot", "godaddy", "namecheap", "ovh"])
    );
    let (s, b) = api.send("GET", "/api/v1/nothing", None).await;
    assert_eq!((s, code(&b)), (404, "not-found"));
}

#[tokio::test]
async fn database_errors_are_logged_not_sent() {
    // Installs the capturing subscriber before anything is logged.
    captured_logs();
    let api = Api::start("2h").await;
    // A query that fails with SQLite's own text, naming the table.
    sqlx::query("DROP TABLE pool_allocations")
        .execute(api.store.pool())
        .await
        .unwrap();
    let (s, b) = api
        .post(
            &format!("/api/v1/pool/{POOL}/reserve"),
            json!({ "subdomain": "omantel" }),
        )
        .await;
    assert_eq!((s, code(&b)), (500, "database-error"), "{b}");
    let (s, check) = api
        .send(
            "GET",
            &format!("/api/v1/pool/{POOL}/check?sub=omantel"),
            None,
        )
        .await;
    assert_eq!((s, code(&check)), (500, "database-error"), "{check}");
    for body in [&b, &check] {
        let text = body.to_string();
        assert!(
            !text.contains("pool_allocations") && !text.contains("no such table"),
            "{text}"
        );
    }
    assert!(captured_logs().contains("no such table: pool_allocations"));

    // /healthz is open to anyone: degraded, without the database's words.
    api.store.pool().close().await;
    let r = api
        .http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health["status"], "unhealthy");
    let text = health.to_string();
    assert!(!text.contains("closed"), "{text}");
    assert!(captured_logs().contains("health check: database ping failed"));
}
