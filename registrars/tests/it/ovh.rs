//! OVH: the contract suite, and what is OVH's own: signed requests (and
//! their refusals), time sync and clock skew, the switch to external name
//! servers, zone records with refresh and LIKE filters, glue in host objects
//! or NS entries, DNSKEY-only DS, and the add-only name server calls.

use std::sync::Arc;

use crate::common::{d, hosts, http_write, pending, provider_error, retry_options, wait_task};
use crate::contract::{Fixture, KSK, contract_suite};
use registrars::clock::OffsetClock;
use registrars::credentials::OvhCredentials;
use registrars::mock::{MockServer, Seed};
use registrars::{
    Change, ConnectOptions, Credentials, Delegation, DsMaterial, Glue, HostName, Label, Provider,
    Registrar, RegistrarError, Secret, TaskStatus, connect_with,
};

pub(crate) const AK: &str = "ovh-test-ak";
pub(crate) const AS: &str = "ovh-test-as-9b1e";
pub(crate) const CK: &str = "ovh-test-ck-77d0";

pub static FIXTURE: Fixture = Fixture {
    provider: Provider::Ovh,
    seed: |polls| seed_json(polls, ""),
    credentials: || creds(AK, AS, CK),
    wrong_credentials: || creds(AK, "wrong-secret-ovh", CK),
    denied: Some((|| creds("ak2", "as2", "ck2"), "denied.net")),
    secrets: &[AK, AS, CK, "wrong-secret-ovh", "$1$"],
    nameservers: &["dns10.ovh.net", "ns10.ovh.net"],
    glue_domain: "example.com",
    ds_domain: "signed.org",
    seeded_ds: None,
    is_write: http_write,
};
contract_suite!(FIXTURE);

fn seed(task_polls: u32, extra: &str) -> Seed {
    Seed::from_json(&seed_json(task_polls, extra)).expect("seed parses")
}

pub(crate) fn seed_json(task_polls: u32, extra: &str) -> String {
    format!(
        r#"{{
        "options": {{"task_polls": {task_polls}, "extra": {{{extra}}}}},
        "accounts": [
          {{"id": "ovh-1",
            "credentials": {{"application_key": "{AK}", "application_secret": "{AS}", "consumer_key": "{CK}"}},
            "domains": [
              {{"name": "example.com",
                "nameservers": ["dns10.ovh.net", "ns10.ovh.net"],
                "records": [
                  {{"name": "@", "type": "A", "content": "192.0.2.10", "ttl": 0}},
                  {{"name": "www", "type": "CNAME", "content": "example.com", "ttl": 0}},
                  {{"name": "sub2", "type": "NS", "content": "ns.elsewhere.net", "ttl": 3600}}
                ],
                "glue": [{{"host": "ns1.example.com", "ips": ["192.0.2.53"]}}]}},
              {{"name": "legacy.fr", "hosted_zone": false,
                "nameservers": ["ns1.legacy.fr", "ns2.other.net"],
                "extra": {{"hostSupported": false, "ns_ips": {{"ns1.legacy.fr": "192.0.2.7"}}}}}},
              {{"name": "signed.org", "hosted_zone": false,
                "nameservers": ["ns1.openova.io", "ns2.openova.io"]}}
            ]}},
          {{"id": "ovh-2", "access_denied": true,
            "credentials": {{"application_key": "ak2", "application_secret": "as2", "consumer_key": "ck2"}},
            "domains": [{{"name": "denied.net"}}]}}
        ]}}"#
    )
}

fn options(clock: Arc<OffsetClock>) -> ConnectOptions {
    ConnectOptions {
        clock,
        ..retry_options()
    }
}

fn creds(ak: &str, r#as: &str, ck: &str) -> Credentials {
    Credentials::Ovh(OvhCredentials {
        application_key: Secret::new(ak),
        application_secret: Secret::new(r#as),
        consumer_key: Secret::new(ck),
    })
}

fn adapter_with(server: &MockServer, c: Credentials) -> Box<dyn Registrar> {
    connect_with(
        Provider::Ovh,
        Some(&server.base_url()),
        c,
        &options(Arc::new(OffsetClock::new(0))),
    )
    .unwrap()
}

/// A mock whose tasks finish after `task_polls` polls, and an adapter.
async fn setup(task_polls: u32) -> (MockServer, Box<dyn Registrar>) {
    let server = MockServer::start(Provider::Ovh, seed(task_polls, ""))
        .await
        .unwrap();
    let ovh = adapter(&server);
    (server, ovh)
}

fn adapter(server: &MockServer) -> Box<dyn Registrar> {
    adapter_with(server, creds(AK, AS, CK))
}

fn writes(server: &MockServer) -> Vec<String> {
    crate::common::writes(server)
}

#[tokio::test]
async fn time_is_synced_once() {
    let (server, ovh) = setup(1).await;
    ovh.validate_credentials().await.unwrap();
    ovh.get_nameservers(&d("example.com")).await.unwrap();
    let journal = server.state().journal();
    assert_eq!(
        journal
            .iter()
            .filter(|e| *e == "GET /1.0/auth/time")
            .count(),
        1,
        "time synced once: {journal:?}"
    );
}

#[tokio::test]
async fn bad_keys_and_signatures_are_invalid_credentials() {
    let server = MockServer::start(Provider::Ovh, seed(1, "")).await.unwrap();
    for (c, code) in [
        (creds("wrong-ak", AS, CK), "INVALID_KEY"),
        (creds(AK, AS, "wrong-ck"), "INVALID_CREDENTIAL"),
        (creds(AK, "wrong-secret", CK), "INVALID_SIGNATURE"),
    ] {
        let ovh = adapter_with(&server, c);
        let err = ovh.validate_credentials().await.unwrap_err();
        assert!(
            matches!(err, RegistrarError::InvalidCredentials { ref message } if message.starts_with(code)),
            "{code}: {err}"
        );
    }
}

#[tokio::test]
async fn signature_covers_the_url_the_server_sees() {
    let server = MockServer::start(Provider::Ovh, seed(1, "")).await.unwrap();
    let url = format!("{}/domain", server.base_url());
    let client = reqwest::Client::new();
    let now = registrars::clock::Clock::now_unix(&registrars::clock::SystemClock);
    let send = |signed_url: String| {
        let sig = registrars::providers::ovh::signature(AS, CK, "GET", &signed_url, b"", now);
        client
            .get(&url)
            .header("X-Ovh-Application", AK)
            .header("X-Ovh-Consumer", CK)
            .header("X-Ovh-Timestamp", now.to_string())
            .header("X-Ovh-Signature", sig)
            .send()
    };
    let ok = send(url.clone()).await.unwrap();
    assert_eq!(ok.status(), 200);
    // Signed for another URL (OVH's own): refused as OVH refuses it.
    let bad = send("https://eu.api.ovh.com/1.0/domain".into())
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["errorCode"], "INVALID_SIGNATURE");
    assert_eq!(body["class"], "Client::BadRequest");
}

#[tokio::test]
async fn time_offset_from_auth_time_is_applied() {
    // OVH's clock two minutes ahead of ours: beyond the 30 s tolerance,
    // so only a synced timestamp passes.
    let server = MockServer::start(Provider::Ovh, seed(1, r#""ovh_clock_offset_secs": 120"#))
        .await
        .unwrap();
    let ovh = adapter(&server);
    ovh.validate_credentials().await.unwrap();
}

#[tokio::test]
async fn clock_skew_resyncs_and_retries_once() {
    let server = MockServer::start(Provider::Ovh, seed(1, "")).await.unwrap();
    let clock = Arc::new(OffsetClock::new(0));
    let ovh = connect_with(
        Provider::Ovh,
        Some(&server.base_url()),
        creds(AK, AS, CK),
        &options(clock.clone()),
    )
    .unwrap();
    ovh.validate_credentials().await.unwrap();
    // Our clock jumps 10 minutes: the stored offset is now wrong.
    clock.set_offset(600);
    ovh.validate_credentials().await.unwrap();
    let journal = server.state().journal();
    assert_eq!(
        journal
            .iter()
            .filter(|e| *e == "GET /1.0/auth/time")
            .count(),
        2,
        "{journal:?}"
    );
    assert_eq!(
        journal.iter().filter(|e| *e == "GET /1.0/domain").count(),
        3,
        "ok, refused, ok: {journal:?}"
    );
}

#[tokio::test]
async fn refused_timestamp_maps_to_clock_skew() {
    let server = MockServer::start(Provider::Ovh, seed(1, "")).await.unwrap();
    // Every signed call is refused with OVH's timestamp error: after one
    // resync the adapter gives up with ClockSkew.
    server.state().inject(
        provider_error("Client::BadRequest", "Invalid timestamp", Some(400)),
        10,
    );
    let ovh = adapter(&server);
    let err = ovh.validate_credentials().await.unwrap_err();
    assert!(matches!(err, RegistrarError::ClockSkew { .. }), "{err}");
}

#[tokio::test]
async fn set_nameservers_switches_to_external_first() {
    let (server, ovh) = setup(1).await;
    let want = hosts(&["ns1.openova.io", "ns2.openova.io"]);
    let task = pending(ovh.set_nameservers(&d("example.com"), &want).await.unwrap());
    assert_eq!(
        writes(&server),
        vec![
            "PUT /1.0/domain/example.com",
            "POST /1.0/domain/example.com/nameServers/update"
        ]
    );
    assert_eq!(wait_task(ovh.as_ref(), &task).await, TaskStatus::Done);
    let world = server.state().world();
    assert_eq!(
        world.accounts[0].domains[0].extra["nameServerType"],
        "external"
    );
}

#[tokio::test]
async fn provider_refusals_keep_their_code() {
    let (server, ovh) = setup(1).await;
    ovh.validate_credentials().await.unwrap();
    server.state().inject(
        provider_error("Client::Gone", "This service is expired", Some(460)),
        1,
    );
    let err = ovh.get_nameservers(&d("example.com")).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "Client::Gone".into(),
            message: "This service is expired".into()
        }
    );
    server.state().inject(
        provider_error("Client::Conflict", "A task is already running", Some(409)),
        1,
    );
    let err = ovh.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Conflict { .. }), "{err}");
    // A real refusal from the mock: glue host still in the NS set.
    let task = pending(
        ovh.set_nameservers(
            &d("example.com"),
            &hosts(&["ns1.example.com", "ns2.openova.io"]),
        )
        .await
        .unwrap(),
    );
    assert_eq!(wait_task(ovh.as_ref(), &task).await, TaskStatus::Done);
    let err = ovh
        .delete_glue(
            &d("example.com"),
            &HostName::new("ns1.example.com").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::Rejected { ref code, .. } if code == "Client::BadRequest"),
        "{err}"
    );
}

#[tokio::test]
async fn zone_edits_are_refreshed_and_filters_rechecked() {
    let (server, ovh) = setup(1).await;
    let zone = d("example.com");
    let sub = Label::new("sub").unwrap();
    // `sub2` matches OVH's LIKE filter but is not ours.
    assert_eq!(ovh.get_child_delegation(&zone, &sub).await.unwrap(), None);
    let want = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns2.openova.io"]),
        ttl: 3600,
        ds: vec![],
    };
    assert_eq!(
        ovh.set_child_delegation(&zone, &sub, &want).await.unwrap(),
        Change::Applied
    );
    let journal = server.state().journal();
    assert_eq!(
        journal.last().map(String::as_str),
        Some("refresh example.com"),
        "{journal:?}"
    );
    assert_eq!(
        server.state().world().accounts[0].domains[0].extra["zone_unrefreshed"],
        false
    );
    // Swap one server and the TTL: one delete, one update, one create, refresh.
    let before = writes(&server).len();
    let next = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns3.openova.io"]),
        ttl: 7200,
        ds: vec![],
    };
    assert_eq!(
        ovh.set_child_delegation(&zone, &sub, &next).await.unwrap(),
        Change::Applied
    );
    let mut methods: Vec<String> = writes(&server)[before..]
        .iter()
        .map(|w| w.split(" /1.0").next().unwrap().to_owned())
        .collect();
    assert!(writes(&server).last().unwrap().ends_with("/refresh"));
    methods.sort();
    assert_eq!(methods, vec!["DELETE", "POST", "POST", "PUT"]);
    // A domain whose zone OVH does not host.
    let err = ovh
        .get_child_delegation(&d("legacy.fr"), &sub)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::DomainNotInAccount { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn glue_updates_go_to_the_update_path() {
    let (server, ovh) = setup(1).await;
    let zone = d("example.com");
    let moved = Glue {
        host: HostName::new("ns1.example.com").unwrap(),
        ips: vec![
            "192.0.2.54".parse().unwrap(),
            "2001:db8::54".parse().unwrap(),
        ],
    };
    let task = pending(ovh.upsert_glue(&zone, &moved).await.unwrap());
    assert_eq!(
        writes(&server).last().unwrap(),
        "POST /1.0/domain/example.com/glueRecord/ns1.example.com/update"
    );
    assert_eq!(wait_task(ovh.as_ref(), &task).await, TaskStatus::Done);
    assert!(ovh.list_glue(&zone).await.unwrap().contains(&moved));
}

#[tokio::test]
async fn glue_without_host_objects_lives_in_the_ns_entry() {
    let (server, ovh) = setup(1).await;
    let dom = d("legacy.fr");
    let host = HostName::new("ns1.legacy.fr").unwrap();
    assert_eq!(
        ovh.list_glue(&dom).await.unwrap(),
        vec![Glue {
            host: host.clone(),
            ips: vec!["192.0.2.7".parse().unwrap()]
        }]
    );
    let moved = Glue {
        host: host.clone(),
        ips: vec!["192.0.2.8".parse().unwrap()],
    };
    let task = pending(ovh.upsert_glue(&dom, &moved).await.unwrap());
    assert_eq!(
        writes(&server).last().unwrap(),
        "POST /1.0/domain/legacy.fr/nameServers/update"
    );
    assert_eq!(wait_task(ovh.as_ref(), &task).await, TaskStatus::Done);
    assert_eq!(ovh.list_glue(&dom).await.unwrap(), vec![moved.clone()]);
    assert_eq!(
        ovh.upsert_glue(&dom, &moved).await.unwrap(),
        Change::Unchanged
    );
    // Changing the NS set keeps the in-domain host's address.
    let task = pending(
        ovh.set_nameservers(&dom, &hosts(&["ns1.legacy.fr", "ns3.other.net"]))
            .await
            .unwrap(),
    );
    assert_eq!(wait_task(ovh.as_ref(), &task).await, TaskStatus::Done);
    assert_eq!(ovh.list_glue(&dom).await.unwrap(), vec![moved]);
    let err = ovh.delete_glue(&dom, &host).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unsupported { .. }), "{err}");
    let err = ovh
        .set_nameservers(&dom, &hosts(&["ns9.legacy.fr", "ns3.other.net"]))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err}");
}

#[tokio::test]
async fn ds_takes_dnskeys_and_only_for_external_dns() {
    let (server, ovh) = setup(1).await;
    // A bare DS cannot be published at OVH.
    let ds = DsMaterial::parse(&format!("2371 13 2 {}", "ab".repeat(32))).unwrap();
    let err = ovh.set_ds(&d("signed.org"), &[ds]).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref message, .. } if message.contains("DNSKEY")),
        "{err}"
    );
    // A domain on OVH's own DNS: OVH signs it, our keys would not match.
    let key = DsMaterial::parse(KSK).unwrap();
    let err = ovh.set_ds(&d("example.com"), &[key]).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Unsupported { ref instead, .. } if instead.contains("dnssec")),
        "{err}"
    );
    assert!(writes(&server).is_empty());
}

/// A request signed as a client library would sign it.
async fn signed(
    server: &MockServer,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", server.base_url());
    let now = registrars::clock::Clock::now_unix(&registrars::clock::SystemClock);
    let sig = registrars::providers::ovh::signature(AS, CK, method, &url, body.as_bytes(), now);
    let resp = reqwest::Client::new()
        .request(method.parse().unwrap(), &url)
        .header("X-Ovh-Application", AK)
        .header("X-Ovh-Consumer", CK)
        .header("X-Ovh-Timestamp", now.to_string())
        .header("X-Ovh-Signature", sig)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn add_only_name_server_calls_are_tasks_too() {
    let (server, ovh) = setup(1).await;
    let dom = d("legacy.fr");
    let (status, task) = signed(
        &server,
        "POST",
        "/domain/legacy.fr/nameServer",
        r#"{"nameServer":[{"host":"ns4.other.net"}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["function"], "DomainDnsUpdate");
    let task_ref = registrars::TaskRef {
        provider: Provider::Ovh,
        domain: dom.clone(),
        id: task["id"].to_string(),
    };
    assert_eq!(wait_task(ovh.as_ref(), &task_ref).await, TaskStatus::Done);
    assert_eq!(ovh.get_nameservers(&dom).await.unwrap().len(), 3);
    let (_, ids) = signed(&server, "GET", "/domain/legacy.fr/nameServer", "").await;
    let last = ids.as_array().unwrap().last().unwrap().to_string();
    let (status, _) = signed(
        &server,
        "DELETE",
        &format!("/domain/legacy.fr/nameServer/{last}"),
        "",
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = signed(&server, "DELETE", "/domain/legacy.fr/nameServer/1", "").await;
    assert_eq!(
        (status, body["class"].as_str()),
        (404, Some("Client::NotFound"))
    );
    // An unknown task is a bad reference, not a missing domain.
    let bogus = registrars::TaskRef {
        provider: Provider::Ovh,
        domain: dom,
        id: "999999".into(),
    };
    let err = ovh.task_status(&bogus).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "task"),
        "{err}"
    );
}

#[tokio::test]
async fn task_listing_filters_and_actions() {
    let (server, ovh) = setup(3).await;
    let task = pending(
        ovh.set_nameservers(
            &d("legacy.fr"),
            &hosts(&["ns1.openova.io", "ns2.openova.io"]),
        )
        .await
        .unwrap(),
    );
    let list = |query: &'static str| {
        let server = &server;
        async move { signed(server, "GET", &format!("/domain/legacy.fr/task{query}"), "").await }
    };
    let id: u64 = task.id.parse().unwrap();
    assert_eq!(list("").await, (200, serde_json::json!([id])));
    assert_eq!(
        list("?function=DomainDnsUpdate&status=todo").await.1,
        serde_json::json!([id])
    );
    assert_eq!(
        list("?function=DomainHostCreate").await.1,
        serde_json::json!([])
    );
    assert_eq!(list("?status=done").await.1, serde_json::json!([]));
    // Listing never moves a task along; accelerating finishes it at the next poll.
    let (status, _) = signed(
        &server,
        "POST",
        &format!("/domain/legacy.fr/task/{id}/accelerate"),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ovh.task_status(&task).await.unwrap(), TaskStatus::Done);
    assert_eq!(list("?status=done").await.1, serde_json::json!([id]));
    let (status, body) = signed(
        &server,
        "POST",
        &format!("/domain/legacy.fr/task/{id}/cancel"),
        "",
    )
    .await;
    assert_eq!(
        (status, body["class"].as_str()),
        (403, Some("Client::Forbidden"))
    );
}
