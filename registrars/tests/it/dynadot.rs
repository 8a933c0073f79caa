//! Dynadot: the contract suite, and what is Dynadot's own: api3 envelopes
//! (HTTP 200 with int-or-string codes, two bad-key shapes), the `set_ns`
//! registration precondition, glue commands, DS in both forms, the zone API
//! without NS, one request at a time per account, and the signed REST API.

use std::time::Duration;

use crate::common::{d, hosts, provider_error, retry_options, status_fault};
use crate::contract::{Fixture, KSK, contract_suite};
use registrars::credentials::DynadotCredentials;
use registrars::http::{HttpConfig, RetryPolicy};
use registrars::mock::{Fault, MockServer, Seed};
use registrars::{
    Change, ConnectOptions, Credentials, Delegation, DsMaterial, Label, Provider, Registrar,
    RegistrarError, Secret, connect_with,
};

const KEY: &str = "dyn-test-key-41c9";
const SECRET: &str = "dyn-test-secret-0a7e";

pub static FIXTURE: Fixture = Fixture {
    provider: Provider::Dynadot,
    seed: |_| seed_json(""),
    credentials: || creds(KEY, Some(SECRET)),
    wrong_credentials: || creds("dyn-wrong-key-5", None),
    denied: None,
    secrets: &[KEY, SECRET, "dyn-wrong-key-5", "key="],
    nameservers: &["ns1.dyna-ns.net", "ns2.dyna-ns.net"],
    glue_domain: "example.com",
    ds_domain: "example.com",
    seeded_ds: None,
    is_write: |entry| entry.starts_with("write "),
};
contract_suite!(FIXTURE);

fn seed(extra: &str) -> Seed {
    Seed::from_json(&seed_json(extra)).expect("seed parses")
}

fn seed_json(extra: &str) -> String {
    format!(
        r#"{{
        "options": {{"extra": {{{extra}}}}},
        "accounts": [
          {{"id": "dyn-1",
            "credentials": {{"api_key": "{KEY}", "api_secret": "{SECRET}"}},
            "domains": [
              {{"name": "example.com",
                "nameservers": ["ns1.dyna-ns.net", "ns2.dyna-ns.net"],
                "glue": [{{"host": "ns1.example.com", "ips": ["192.0.2.53"]}}]}},
              {{"name": "other.net", "nameservers": ["ns1.example.com", "ns2.dyna-ns.net"]}}
            ]}}
        ]}}"#
    )
}

fn creds(key: &str, secret: Option<&str>) -> Credentials {
    Credentials::Dynadot(DynadotCredentials {
        api_key: Secret::new(key),
        api_secret: secret.map(Secret::new),
    })
}

fn adapter_with(server: &MockServer, c: Credentials) -> Box<dyn Registrar> {
    connect_with(
        Provider::Dynadot,
        Some(&server.base_url()),
        c,
        &retry_options(),
    )
    .unwrap()
}

fn adapter(server: &MockServer) -> Box<dyn Registrar> {
    adapter_with(server, creds(KEY, Some(SECRET)))
}

/// Commands the mock ran, in order.
fn commands(server: &MockServer) -> Vec<String> {
    server
        .state()
        .journal()
        .into_iter()
        .filter_map(|e| e.strip_prefix("command ").map(str::to_owned))
        .collect()
}

fn writes(server: &MockServer) -> usize {
    server
        .state()
        .journal()
        .iter()
        .filter(|e| e.starts_with("write "))
        .count()
}

fn raw_url(server: &MockServer, query: &str) -> String {
    format!("{}?key={KEY}&{query}", server.base_url())
}

/// One raw api3 call with the account's key; the JSON answer.
async fn api3(server: &MockServer, query: &str) -> serde_json::Value {
    reqwest::get(raw_url(server, query))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_key_in_either_envelope_shape() {
    for shape in [
        r#""dynadot_bad_key_shape": "header""#,
        r#""dynadot_bad_key_shape": "flat""#,
    ] {
        let server = MockServer::start(Provider::Dynadot, seed(shape))
            .await
            .unwrap();
        let err = adapter_with(&server, creds("wrong-key", None))
            .validate_credentials()
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistrarError::InvalidCredentials { .. }),
            "{shape}: {err}"
        );
    }
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let err = adapter_with(&server, creds(KEY, Some("wrong-secret")))
        .validate_credentials()
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err}"
    );
    // The secret is optional.
    adapter_with(&server, creds(KEY, None))
        .validate_credentials()
        .await
        .unwrap();
}

#[tokio::test]
async fn set_nameservers_registers_external_hosts_first() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    let zone = d("example.com");
    let want = hosts(&["ns1.openova.io", "ns2.openova.io", "ns1.example.com"]);
    assert_eq!(
        dy.set_nameservers(&zone, &want).await.unwrap(),
        Change::Applied
    );
    assert_eq!(
        commands(&server),
        vec!["domain_info", "server_list", "add_ns", "add_ns", "set_ns"],
        "the in-domain host has glue already; the two external ones are added"
    );
    assert!(registrars::types::same_hosts(
        &dy.get_nameservers(&zone).await.unwrap(),
        &want
    ));
    let before = writes(&server);
    assert_eq!(
        dy.set_nameservers(
            &zone,
            &hosts(&["ns1.example.com", "ns2.openova.io", "ns1.openova.io"])
        )
        .await
        .unwrap(),
        Change::Unchanged
    );
    assert_eq!(
        writes(&server),
        before,
        "second identical set writes nothing"
    );
    assert!(!commands(&server)[5..].contains(&"set_ns".to_owned()));
}

#[tokio::test]
async fn unregistered_in_domain_host_needs_glue() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    let err = dy
        .set_nameservers(
            &d("example.com"),
            &hosts(&["ns7.example.com", "ns1.openova.io"]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::NameserverNotRegistered { ref host, .. } if host == "ns7.example.com"),
        "{err}"
    );
    assert_eq!(writes(&server), 0);
    // The mock enforces the same precondition, with Dynadot's words.
    let body: serde_json::Value = reqwest::get(raw_url(
        &server,
        "command=set_ns&domain=example.com&ns0=ns7.example.com",
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(body["SetNsResponse"]["ResponseCode"], "-1");
    assert_eq!(
        body["SetNsResponse"]["Error"],
        "'ns7.example.com' needs to be registered with an ip address before it can be used."
    );
    let err = dy
        .set_nameservers(&d("example.com"), &hosts(&["ns1.openova.io"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { .. }),
        "at least two: {err}"
    );
}

#[tokio::test]
async fn response_code_is_int_or_string_and_always_http_200() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let resp = reqwest::get(raw_url(&server, "command=domain_info&domain=example.com"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        let code = &body["DomainInfoResponse"]["ResponseCode"];
        kinds.push(code.is_number());
        assert!(
            body["DomainInfoResponse"].get("ResponseHeader").is_none(),
            "flat envelope"
        );
    }
    assert_eq!(kinds, vec![true, false]);
    let resp = reqwest::get(format!(
        "{}?key=nope&command=domain_info&domain=example.com",
        server.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["Response"]["ResponseHeader"]["Error"], "invalid key");
}

#[tokio::test]
async fn child_delegation_is_unsupported_with_advice() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    let zone = d("example.com");
    let sub = Label::new("sub").unwrap();
    let want = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns2.openova.io"]),
        ttl: 3600,
        ds: vec![],
    };
    for err in [
        dy.get_child_delegation(&zone, &sub).await.unwrap_err(),
        dy.set_child_delegation(&zone, &sub, &want)
            .await
            .unwrap_err(),
        dy.delete_child_delegation(&zone, &sub).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, RegistrarError::Unsupported { ref instead, .. } if instead.contains("set_dns2")),
            "{err}"
        );
    }
    assert!(server.state().journal().is_empty(), "nothing sent");
    let err = dy
        .task_status(&registrars::TaskRef {
            provider: Provider::Dynadot,
            domain: zone,
            id: "1".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Unsupported { .. }));
}

#[tokio::test]
async fn main_server_trouble_and_5xx_are_unavailable() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    let transient = provider_error("-1", "problem with connection to main server", None);
    server.state().inject(transient.clone(), 2);
    assert_eq!(
        dy.get_nameservers(&d("example.com")).await.unwrap().len(),
        2,
        "recovered within the retries"
    );
    server.state().inject(transient, 10);
    let err = dy.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err}");
    server.state().clear_faults();
    server.state().inject(status_fault(503, ""), 10);
    let before = server.state().journal().len();
    let err = dy.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err}");
    assert_eq!(
        server.state().journal().len() - before,
        3,
        "max_attempts tries"
    );
}

#[tokio::test]
async fn other_refusals_are_rejected_verbatim() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    server
        .state()
        .inject(provider_error("-1", "domain is locked", None), 1);
    let err = dy.get_nameservers(&d("example.com")).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "-1".into(),
            message: "domain is locked".into()
        }
    );
}

#[tokio::test]
async fn one_request_at_a_time_per_account() {
    let server = MockServer::start(Provider::Dynadot, seed(r#""dynadot_processing_ms": 1000"#))
        .await
        .unwrap();
    // The mock refuses a request while another of the account is running:
    // the second is sent once the first is seen holding the account.
    let url = raw_url(&server, "command=domain_info&domain=example.com");
    let first = tokio::spawn(reqwest::get(url.clone()));
    while !server
        .state()
        .journal()
        .iter()
        .any(|e| e == "processing dyn-1")
    {
        tokio::task::yield_now().await;
    }
    let second = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(second.contains("too many concurrent"), "{second}");
    let first = first.await.unwrap().unwrap().text().await.unwrap();
    assert!(first.contains("\"success\""), "{first}");
    // …and two adapters for the same account never overlap.
    server
        .state()
        .world()
        .options
        .extra
        .insert("dynadot_processing_ms".into(), serde_json::json!(100));
    let one = adapter(&server);
    let two = adapter(&server);
    let zone = d("example.com");
    let (x, y) = tokio::join!(one.get_nameservers(&zone), two.get_nameservers(&zone));
    assert_eq!(x.unwrap(), y.unwrap());
    let overlaps = server
        .state()
        .journal()
        .iter()
        .filter(|e| e.starts_with("overlap"))
        .count();
    assert_eq!(overlaps, 1, "only the raw pair overlapped");
}

#[tokio::test]
async fn rest_nameservers_check_bearer_and_signature() {
    use registrars::mock::dynadot::rest::signature;
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let root = server.base_url().replace("/api3.json", "");
    let path = "/restful/v1/domains/example.com/nameservers";
    let client = reqwest::Client::new();
    let body = r#"{"nameservers_list":["ns1.example.com","ns2.dyna-ns.net"]}"#;
    let put = |sig: String, key: &str| {
        client
            .put(format!("{root}{path}"))
            .bearer_auth(key)
            .header("X-Request-ID", "4f1c2d7e-0000-4000-8000-000000000001")
            .header("X-Signature", sig)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let good = signature(
        KEY,
        SECRET,
        path,
        "4f1c2d7e-0000-4000-8000-000000000001",
        body.as_bytes(),
    );
    let resp = put(good.clone(), KEY).await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["code"], 200);
    let wrong = signature(
        KEY,
        "not-the-secret",
        path,
        "4f1c2d7e-0000-4000-8000-000000000001",
        body.as_bytes(),
    );
    let resp = put(wrong, KEY).await.unwrap();
    assert_eq!(resp.status(), 403);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["description"], "invalid signature");
    assert_eq!(put(good, "other-key").await.unwrap().status(), 401);
    // The api3 view sees the REST change.
    let dy = adapter(&server);
    assert_eq!(
        dy.get_nameservers(&d("example.com")).await.unwrap(),
        hosts(&["ns1.example.com", "ns2.dyna-ns.net"])
    );
    let resp = client
        .get(format!("{root}{path}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["nameservers_list"][0], "ns1.example.com");
}

#[tokio::test]
async fn mock_zone_api_has_no_ns_type_and_replaces_without_the_add_flag() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let body = api3(&server, "command=set_dns2&domain=example.com&subdomain0=sub&sub_record_type0=ns&sub_record0=ns1.openova.io").await;
    assert_eq!(body["SetDnsResponse"]["Status"], "error");
    let _ = api3(&server, "command=set_dns2&domain=example.com&main_record_type0=a&main_record0=192.0.2.1&add_dns_to_current_setting=1").await;
    let _ = api3(&server, "command=set_dns2&domain=example.com&subdomain0=www&sub_record_type0=cname&sub_record0=example.com&add_dns_to_current_setting=1").await;
    assert_eq!(
        server.state().world().accounts[0].domains[0].records.len(),
        2
    );
    let body = api3(&server, "command=set_dns2&domain=example.com&subdomain0=mail&sub_record_type0=a&sub_record0=192.0.2.9").await;
    assert_eq!(body["SetDnsResponse"]["Status"], "success");
    assert_eq!(
        server.state().world().accounts[0].domains[0].records.len(),
        1,
        "replaced whole"
    );
    let body = api3(&server, "command=get_dns&domain=example.com").await;
    assert_eq!(
        body["GetDnsResponse"]["GetDns"]["NameServerSettings"]["SubDomains"][0]["Subhost"],
        "mail"
    );
}

#[tokio::test]
async fn configured_rate_limit_and_slow_answers() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let quick = ConnectOptions {
        http: HttpConfig {
            timeout: Duration::from_millis(300),
            retry: RetryPolicy::none(),
        },
        ..ConnectOptions::default()
    };
    let dy = connect_with(
        Provider::Dynadot,
        Some(&server.base_url()),
        creds(KEY, Some(SECRET)),
        &quick,
    )
    .unwrap();
    server.state().inject(Fault::Delay { ms: 1_000 }, 1);
    let err = dy.validate_credentials().await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Unavailable { ref message, .. } if message.contains("no response")),
        "{err}"
    );
    server
        .state()
        .set_rate_limit(Some(registrars::mock::RateLimit {
            requests: 1,
            per_seconds: 60,
        }));
    dy.validate_credentials().await.unwrap();
    let err = dy.validate_credentials().await.unwrap_err();
    assert_eq!(err, RegistrarError::RateLimited { retry_after: None });
}

#[tokio::test]
async fn ds_and_dnskey_forms_together() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let dy = adapter(&server);
    let zone = d("example.com");
    let ds = DsMaterial::parse(&format!("2371 13 2 {}", "ab".repeat(32))).unwrap();
    let key = DsMaterial::parse(KSK).unwrap();
    let mut both = vec![ds.clone(), key.clone()];
    assert_eq!(dy.set_ds(&zone, &both).await.unwrap(), Change::Applied);
    let mut got = dy.get_ds(&zone).await.unwrap();
    got.sort();
    both.sort();
    assert_eq!(got, both);
    // Fewer entries: cleared, then set again.
    assert_eq!(
        dy.set_ds(&zone, std::slice::from_ref(&key)).await.unwrap(),
        Change::Applied
    );
    assert_eq!(dy.get_ds(&zone).await.unwrap(), vec![key]);
    assert!(commands(&server).contains(&"clear_dnssec".to_owned()));
}

#[tokio::test]
async fn glue_commands_answer_as_documented() {
    let server = MockServer::start(Provider::Dynadot, seed(""))
        .await
        .unwrap();
    let body = api3(&server, "command=add_ns&host=ns7.elsewhere.net").await;
    let server_entry = &body["AddNsResponse"]["AddNsContent"]["Server"];
    assert_eq!(server_entry["Host"], "ns7.elsewhere.net", "{body}");
    assert!(server_entry["ServerId"].is_u64(), "{body}");
    let body = api3(
        &server,
        "command=register_ns&host=ns2.example.com&ip=192.0.2.54",
    )
    .await;
    assert_eq!(body["RegisterNsResponse"]["Status"], "success", "{body}");
    let body = api3(
        &server,
        "command=delete_ns_by_domain&server_domain=example.com",
    )
    .await;
    assert_eq!(
        body["DeleteNsByDomainResponse"]["Status"], "error",
        "ns1 is in use: {body}"
    );
    let body = api3(&server, "command=server_list").await;
    let hosts: Vec<&str> = body["ServerListResponse"]["ServerList"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["ServerName"].as_str())
        .collect();
    assert!(hosts.contains(&"ns7.elsewhere.net"), "{hosts:?}");
}
