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
/// A second caller, named in the configuration.
const OTHER_CALLER: &str = "other-caller-token-0123456789abcdef";
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
        Api::start_with(ttl, &[], true).await
    }

    /// With more flags, and with the test tokens or without authentication.
    async fn start_with(ttl: &str, extra: &[&str], authenticated: bool) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("pool.db").display());
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        let settings = Cli::try_parse_from(args).unwrap().serve.unwrap();
        let auth = if authenticated {
            Auth::from_settings(
                Some(&format!(
                    "{},{},{}",
                    hash_entry("caller", CALLER, None).unwrap(),
                    hash_entry("caller", OTHER_CALLER, Some("crossplane")).unwrap(),
                    hash_entry("operator", OPERATOR, Some("ops")).unwrap()
                )),
                None,
            )
            .unwrap()
        } else {
            Auth::disabled()
        };
        let store = Store::connect(&db).await.unwrap();
        let dns = PdnsClient::new(PdnsConfig {
            base_url: "http://127.0.0.1:9".into(),
            api_key: Secret::new("k"),
            server_id: "localhost".into(),
            ca_file: None,
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
        self.send_as(CALLER, method, path, body).await
    }

    async fn send_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
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

    async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send_as(token, "POST", path, Some(&body.to_string()))
            .await
    }

    /// Reserves `sub` as `token`'s identity: its reservation token.
    async fn reserve_as(&self, token: &str, sub: &str) -> String {
        let (s, b) = self
            .post_as(
                token,
                &format!("/api/v1/pool/{POOL}/reserve"),
                json!({ "subdomain": sub }),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["reservationToken"].as_str().unwrap().to_string()
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

/// Hardening issue #19: an allocation is its reserver's. Another caller
/// token is refused commit, renew and release (403 `not-owner`), even
/// with the reservation token; an operator token may act on it.
#[tokio::test]
async fn another_callers_allocation_is_refused_403_not_owner() {
    let api = Api::start("2h").await;
    let token = api.reserve_as(CALLER, "omantel").await;
    let commit =
        json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "192.0.2.1" });
    let renew = json!({ "subdomain": "omantel", "reservationToken": token });
    let release = json!({ "subdomain": "omantel" }).to_string();
    let cases = [
        api.post_as(
            OTHER_CALLER,
            &format!("/api/v1/pool/{POOL}/commit"),
            commit.clone(),
        )
        .await,
        api.post_as(
            OTHER_CALLER,
            &format!("/api/v1/pool/{POOL}/renew"),
            renew.clone(),
        )
        .await,
        api.send_as(
            OTHER_CALLER,
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release"),
            Some(&release),
        )
        .await,
        // The recovery script's form, without a body.
        api.send_as(
            OTHER_CALLER,
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=omantel"),
            None,
        )
        .await,
    ];
    for (s, b) in cases {
        assert_eq!((s, code(&b)), (403, "not-owner"), "{b}");
        assert!(
            b["detail"].as_str().unwrap().contains("operator token"),
            "{b}"
        );
    }
    // Nothing was touched: still the owner's reservation.
    assert_eq!(api.check("omantel").await["reason"], "reserved-state");
    let (s, b) = api
        .post(&format!("/api/v1/pool/{POOL}/commit"), commit)
        .await;
    assert_eq!(s, 202, "{b}");
    // A name nobody holds is 404 for anyone, as before.
    let (s, b) = api
        .send_as(
            OTHER_CALLER,
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=nobody"),
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (404, "not-found"));
    // The other caller's own allocation is its own.
    api.reserve_as(OTHER_CALLER, "crossplane-one").await;
    let (s, b) = api
        .send_as(
            CALLER,
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=crossplane-one"),
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (403, "not-owner"), "{b}");

    // Operators see the owners, and may release anyone's allocation.
    let (s, list) = api
        .send_as(OPERATOR, "GET", &format!("/api/v1/pool/{POOL}/list"), None)
        .await;
    assert_eq!(s, 200);
    let owners: Vec<(&str, &str)> = list["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["subdomain"].as_str().unwrap(),
                a["owner"].as_str().unwrap(),
            )
        })
        .collect();
    let caller_identity = format!(
        "token:{}",
        &hash_entry("caller", CALLER, None).unwrap()["caller:".len()..][..16]
    );
    assert_eq!(
        owners,
        [
            ("crossplane-one", "crossplane"),
            ("omantel", caller_identity.as_str())
        ]
    );
    let (s, b) = api
        .send_as(
            OPERATOR,
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=omantel"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["freed"]["subdomain"], "omantel");
    // Callers' answers never carry the owner.
    assert!(b["freed"].get("owner").is_none());
}

/// Without authentication (PDM's behaviour) anyone may act on anything.
#[tokio::test]
async fn unauthenticated_mode_keeps_pdm_behaviour() {
    let api = Api::start_with("2h", &[], false).await;
    let token = api.reserve_as("anyone-at-all-0123456789", "omantel").await;
    let (s, b) = api
        .post_as(
            "someone-else-0123456789",
            &format!("/api/v1/pool/{POOL}/commit"),
            json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "192.0.2.1" }),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = api
        .send_as(
            "a-third-party-0123456789",
            "DELETE",
            &format!("/api/v1/pool/{POOL}/release?sub=omantel"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{b}");
}

/// Hardening issue #19: `loadBalancerIP` (and `loadBalancerIPv6`) must be
/// global unicast, checked before the row is touched. Private ranges only
/// with POOLMGR_ALLOW_PRIVATE_LB_IPS; documentation ranges are accepted.
#[tokio::test]
async fn load_balancer_addresses_must_be_global_unicast() {
    let api = Api::start("2h").await;
    let token = api.reserve_as(CALLER, "omantel").await;
    let commit = format!("/api/v1/pool/{POOL}/commit");
    let body = |v4: &str, v6: &str| {
        json!({ "subdomain": "omantel", "reservationToken": token,
                "loadBalancerIP": v4, "loadBalancerIPv6": v6 })
    };
    let never = [
        ("127.0.0.1", "", "loopback"),
        ("0.0.0.0", "", "unspecified"),
        ("169.254.10.1", "", "link-local"),
        ("224.0.0.251", "", "multicast"),
        ("255.255.255.255", "", "broadcast"),
        ("192.0.2.1", "::1", "loopback"),
        ("192.0.2.1", "::", "unspecified"),
        ("192.0.2.1", "fe80::1", "link-local"),
        ("192.0.2.1", "ff02::1", "multicast"),
    ];
    for (v4, v6, kind) in never {
        let (s, b) = api.post(&commit, body(v4, v6)).await;
        assert_eq!((s, code(&b)), (422, "invalid-lb-ip"), "{v4} {v6}: {b}");
        let detail = b["detail"].as_str().unwrap();
        assert!(
            detail.contains(kind) && detail.contains("global unicast"),
            "{detail}"
        );
    }
    for (v4, v6) in [
        ("10.1.2.3", ""),
        ("100.64.0.1", ""),
        ("192.168.0.1", ""),
        ("192.0.2.1", "fd00::1"),
    ] {
        let (s, b) = api.post(&commit, body(v4, v6)).await;
        assert_eq!((s, code(&b)), (422, "invalid-lb-ip"), "{v4} {v6}: {b}");
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains("POOLMGR_ALLOW_PRIVATE_LB_IPS"),
            "{b}"
        );
    }
    // None of these touched the row.
    assert_eq!(api.check("omantel").await["reason"], "reserved-state");
    let (s, b) = api.post(&commit, body("203.0.113.7", "2001:db8::7")).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["loadBalancerIPv6"], "2001:db8::7");

    // A lab: private ranges allowed, loopback still not.
    let lab = Api::start_with("2h", &["--allow-private-lb-ips"], true).await;
    let token = lab.reserve_as(CALLER, "lab").await;
    let lab_body = |v4: &str| json!({ "subdomain": "lab", "reservationToken": token, "loadBalancerIP": v4, "loadBalancerIPv6": "fd00::10" });
    let (s, b) = lab.post(&commit, lab_body("127.0.0.1")).await;
    assert_eq!((s, code(&b)), (422, "invalid-lb-ip"), "{b}");
    let (s, b) = lab.post(&commit, lab_body("10.1.2.3")).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["loadBalancerIP"], "10.1.2.3");
}

/// Hardening issue #19: the reservation token is handed out once and kept
/// only as its SHA-256; it is nowhere in the database's files.
#[tokio::test]
async fn reservation_tokens_are_stored_hashed() {
    let api = Api::start("2h").await;
    let token = api.reserve_as(CALLER, "omantel").await;
    let (plain, hash): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT reservation_token, reservation_token_hash FROM pool_allocations WHERE subdomain = 'omantel'",
    )
    .fetch_one(api.store.pool())
    .await
    .unwrap();
    assert_eq!(plain, None);
    assert_eq!(hash, Some(poolmgr::model::token_hash(&token)));
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(api._dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096, "the database files were read");
    let needle = token.as_bytes();
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the token is stored in plaintext"
    );
    // It still commits (compared by its hash).
    let (s, b) = api
        .post(
            &format!("/api/v1/pool/{POOL}/commit"),
            json!({ "subdomain": "omantel", "reservationToken": token, "loadBalancerIP": "192.0.2.1" }),
        )
        .await;
    assert_eq!(s, 202, "{b}");
}
