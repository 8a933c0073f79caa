//! GoDaddy: the contract suite (v2 actions, with a customer id), and what
//! is GoDaddy's own: v1 PATCH without one, the shopper → customer lookup,
//! action names, `retryAfterSec`, field errors, the 600 s minimum TTL,
//! algorithm names, and request ids echoed into actions.

use std::time::{Duration, Instant};

use crate::common::{
    d, hosts, http_write, pending, provider_error, retry_options, wait_task, writes,
};
use crate::contract::{Fixture, contract_suite};
use registrars::credentials::GoDaddyCredentials;
use registrars::mock::{Fault, MockServer, Seed};
use registrars::{
    Change, Credentials, Delegation, DsMaterial, Glue, HostName, Label, Provider, Registrar,
    RegistrarError, Secret, TaskStatus, connect_with,
};

pub(crate) const KEY: &str = "gd-test-key";
pub(crate) const SECRET: &str = "gd-test-secret-5f2c";

fn seed(task_polls: u32) -> Seed {
    Seed::from_json(&seed_json(task_polls)).expect("seed parses")
}

pub(crate) fn seed_json(task_polls: u32) -> String {
    format!(
        r#"{{
        "options": {{"task_polls": {task_polls}}},
        "accounts": [
          {{"id": "cust-1",
            "credentials": {{"key": "{KEY}", "secret": "{SECRET}", "shopper_id": "shop-9"}},
            "domains": [
              {{"name": "example.com",
                "nameservers": ["ns1.domaincontrol.com", "ns2.domaincontrol.com"],
                "records": [
                  {{"name": "@", "type": "A", "content": "192.0.2.10", "ttl": 1800}},
                  {{"name": "www", "type": "CNAME", "content": "example.com", "ttl": 1800}},
                  {{"name": "old", "type": "NS", "content": "ns9.elsewhere.net", "ttl": 3600}}
                ],
                "glue": [{{"host": "ns1.example.com", "ips": ["192.0.2.53"]}}]}}
            ]}},
          {{"id": "cust-2", "access_denied": true,
            "credentials": {{"key": "small-key", "secret": "small-secret"}},
            "domains": [{{"name": "small.org"}}]}}
        ]}}"#
    )
}

pub static FIXTURE: Fixture = Fixture {
    provider: Provider::GoDaddy,
    seed: seed_json,
    credentials: || creds(KEY, SECRET, Some("cust-1")),
    wrong_credentials: || creds(KEY, "wrong-secret", Some("cust-1")),
    denied: Some((|| creds("small-key", "small-secret", None), "small.org")),
    secrets: &[KEY, SECRET, "wrong-secret", "small-secret", "sso-key"],
    nameservers: &["ns1.domaincontrol.com", "ns2.domaincontrol.com"],
    glue_domain: "example.com",
    ds_domain: "example.com",
    seeded_ds: None,
    is_write: http_write,
};
contract_suite!(FIXTURE);

/// A GoDaddy mock whose actions finish after `task_polls` polls.
async fn start_mock(task_polls: u32) -> MockServer {
    MockServer::start(Provider::GoDaddy, seed(task_polls))
        .await
        .unwrap()
}

fn creds(key: &str, secret: &str, customer: Option<&str>) -> Credentials {
    Credentials::GoDaddy(GoDaddyCredentials {
        key: Secret::new(key),
        secret: Secret::new(secret),
        customer_id: customer.map(str::to_owned),
        shopper_id: None,
    })
}

fn adapter(server: &MockServer, customer: Option<&str>) -> Box<dyn Registrar> {
    connect_with(
        Provider::GoDaddy,
        Some(&server.base_url()),
        creds(KEY, SECRET, customer),
        &retry_options(),
    )
    .expect("adapter builds")
}

/// An adapter that knows only its shopper id, not the customer id.
fn shopper_adapter(server: &MockServer, shopper: &str) -> Box<dyn Registrar> {
    let credentials = Credentials::GoDaddy(GoDaddyCredentials {
        key: Secret::new(KEY),
        secret: Secret::new(SECRET),
        customer_id: None,
        shopper_id: Some(shopper.into()),
    });
    connect_with(
        Provider::GoDaddy,
        Some(&server.base_url()),
        credentials,
        &retry_options(),
    )
    .unwrap()
}

fn domain_ns(server: &MockServer, name: &str) -> Vec<String> {
    let world = server.state().world();
    world.accounts[0].domain(name).unwrap().nameservers.clone()
}

#[tokio::test]
async fn wrong_key_carries_godaddys_code() {
    let server = start_mock(1).await;
    let gd = connect_with(
        Provider::GoDaddy,
        Some(&server.base_url()),
        creds(KEY, "wrong-secret", None),
        &retry_options(),
    )
    .unwrap();
    let err = gd.validate_credentials().await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("UNABLE_TO_AUTHENTICATE"), "{err}");
}

#[tokio::test]
async fn set_nameservers_v1_is_applied_then_unchanged() {
    let server = start_mock(1).await;
    let gd = adapter(&server, None);
    let want = hosts(&["ns1.openova.io", "ns2.openova.io"]);
    assert_eq!(
        gd.set_nameservers(&d("example.com"), &want).await.unwrap(),
        Change::Applied
    );
    assert_eq!(
        domain_ns(&server, "example.com"),
        vec!["ns1.openova.io", "ns2.openova.io"]
    );
    assert_eq!(writes(&server), vec!["PATCH /v1/domains/example.com"]);
    // Same set in another order: no write.
    let again = hosts(&["ns2.openova.io", "ns1.openova.io"]);
    assert_eq!(
        gd.set_nameservers(&d("example.com"), &again).await.unwrap(),
        Change::Unchanged
    );
    assert_eq!(writes(&server).len(), 1);
}

#[tokio::test]
async fn customer_id_is_looked_up_from_the_shopper() {
    let server = start_mock(1).await;
    let gd = shopper_adapter(&server, "shop-9");
    let change = gd
        .set_nameservers(
            &d("example.com"),
            &hosts(&["ns1.openova.io", "ns2.openova.io"]),
        )
        .await
        .unwrap();
    assert!(matches!(change, Change::Pending(_)), "{change:?}");
    let journal = server.state().journal();
    assert!(
        journal.contains(&"GET /v1/shoppers/shop-9".to_owned()),
        "{journal:?}"
    );
    assert!(
        journal.contains(&"PUT /v2/customers/cust-1/domains/example.com/nameServers".to_owned())
    );
    // Looked up once only.
    gd.get_ds(&d("example.com")).await.unwrap();
    let lookups = server
        .state()
        .journal()
        .iter()
        .filter(|e| e.contains("/v1/shoppers/"))
        .count();
    assert_eq!(lookups, 1);
}

#[tokio::test]
async fn rate_limit_retry_after_sec_is_honoured() {
    let server = start_mock(1).await;
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
        1,
    );
    let gd = adapter(&server, None);
    let started = Instant::now();
    gd.get_nameservers(&d("example.com")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(
        server.state().journal().len(),
        2,
        "one throttled try, one success"
    );
}

#[tokio::test]
async fn provider_refusal_is_rejected_with_code() {
    let server = start_mock(1).await;
    server.state().inject(
        provider_error("DOMAIN_LOCKED", "The domain is locked", Some(409)),
        1,
    );
    let gd = adapter(&server, None);
    let err = gd.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Conflict { ref code, .. } if code == "DOMAIN_LOCKED"),
        "{err}"
    );
    server.state().inject(
        provider_error(
            "UNSUPPORTED_TLD",
            "Name servers cannot be changed for this TLD",
            Some(400),
        ),
        1,
    );
    let err = gd.get_nameservers(&d("example.com")).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "UNSUPPORTED_TLD".into(),
            message: "Name servers cannot be changed for this TLD".into()
        }
    );
}

#[tokio::test]
async fn field_errors_become_invalid() {
    let mut seed = seed(1);
    seed.options
        .extra
        .insert("godaddy_min_ttl".into(), serde_json::json!(3600));
    let server = MockServer::start(Provider::GoDaddy, seed).await.unwrap();
    let gd = adapter(&server, None);
    let delegation = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns2.openova.io"]),
        ttl: 1800,
        ds: vec![],
    };
    let err = gd
        .set_child_delegation(&d("example.com"), &Label::new("sub").unwrap(), &delegation)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "records[0].ttl"),
        "{err}"
    );
}

#[tokio::test]
async fn child_delegation_local_refusals() {
    let server = start_mock(1).await;
    let gd = adapter(&server, None);
    let zone = d("example.com");
    let sub = Label::new("sub").unwrap();
    let ds = registrars::DsRecord::new(1, 13, 2, &"ab".repeat(32)).unwrap();
    let with_ds = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns2.openova.io"]),
        ttl: 3600,
        ds: vec![ds],
    };
    let err = gd
        .set_child_delegation(&zone, &sub, &with_ds)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Unsupported { .. }), "{err}");
    let short = Delegation {
        ttl: 300,
        ds: vec![],
        ..with_ds
    };
    let err = gd
        .set_child_delegation(&zone, &sub, &short)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "ttl"),
        "{err}"
    );
    assert!(server.state().journal().is_empty());
}

#[tokio::test]
async fn glue_through_host_actions() {
    let server = start_mock(1).await;
    let gd = adapter(&server, Some("cust-1"));
    let zone = d("example.com");
    let listed = gd.list_glue(&zone).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].host.as_str(), "ns1.example.com");
    let glue = Glue {
        host: HostName::new("ns2.example.com").unwrap(),
        ips: vec![
            "192.0.2.54".parse().unwrap(),
            "2001:db8::54".parse().unwrap(),
        ],
    };
    let task = pending(gd.upsert_glue(&zone, &glue).await.unwrap());
    assert_eq!(task.id, "HOST_CREATE");
    assert_eq!(wait_task(gd.as_ref(), &task).await, TaskStatus::Done);
    {
        let world = server.state().world();
        let stored = &world.accounts[0].domain("example.com").unwrap().glue;
        assert!(stored.contains(&glue), "{stored:?}");
    }
    let host = HostName::new("ns1.example.com").unwrap();
    let task = pending(gd.delete_glue(&zone, &host).await.unwrap());
    assert_eq!(task.id, "HOST_DELETE");
    assert_eq!(wait_task(gd.as_ref(), &task).await, TaskStatus::Done);
    assert_eq!(
        gd.delete_glue(&zone, &host).await.unwrap(),
        Change::Unchanged
    );
    let outside = Glue {
        host: HostName::new("ns1.other.net").unwrap(),
        ips: glue.ips.clone(),
    };
    assert!(matches!(
        gd.upsert_glue(&zone, &outside).await.unwrap_err(),
        RegistrarError::Invalid { .. }
    ));
}

#[tokio::test]
async fn v2_without_customer_id_says_what_to_set() {
    let server = start_mock(1).await;
    let gd = adapter(&server, None);
    let err = gd.list_glue(&d("example.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, ref message } if field == "customer_id" && message.contains("GODADDY_CUSTOMER_ID")),
        "{err}"
    );
}

#[tokio::test]
async fn ds_add_replace_and_clear() {
    let server = start_mock(1).await;
    let gd = adapter(&server, Some("cust-1"));
    let zone = d("example.com");
    assert!(gd.get_ds(&zone).await.unwrap().is_empty());
    let old = DsMaterial::parse(&format!("11111 13 2 {}", "ab".repeat(32))).unwrap();
    let key = DsMaterial::parse("257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==").unwrap();
    let task = pending(gd.set_ds(&zone, std::slice::from_ref(&old)).await.unwrap());
    assert_eq!(task.id, "DNSSEC_CREATE");
    assert_eq!(wait_task(gd.as_ref(), &task).await, TaskStatus::Done);
    assert_eq!(gd.get_ds(&zone).await.unwrap(), vec![old.clone()]);
    // Same material again: nothing written.
    let before = writes(&server).len();
    assert_eq!(
        gd.set_ds(&zone, std::slice::from_ref(&old)).await.unwrap(),
        Change::Unchanged
    );
    assert_eq!(writes(&server).len(), before);
    // Roll to the key: add the new DS, then remove the old one.
    let task = pending(gd.set_ds(&zone, std::slice::from_ref(&key)).await.unwrap());
    assert_eq!(task.id, "DNSSEC_CREATE,DNSSEC_DELETE");
    assert_eq!(wait_task(gd.as_ref(), &task).await, TaskStatus::Done);
    let DsMaterial::Dnskey(k) = &key else {
        unreachable!()
    };
    assert_eq!(
        gd.get_ds(&zone).await.unwrap(),
        vec![DsMaterial::Ds(k.to_ds(&zone))]
    );
    assert_eq!(
        gd.set_ds(&zone, std::slice::from_ref(&key)).await.unwrap(),
        Change::Unchanged
    );
    // Empty set removes everything.
    let task = pending(gd.set_ds(&zone, &[]).await.unwrap());
    assert_eq!(task.id, "DNSSEC_DELETE");
    assert_eq!(wait_task(gd.as_ref(), &task).await, TaskStatus::Done);
    assert!(gd.get_ds(&zone).await.unwrap().is_empty());
    // Algorithm names on the wire, not numbers.
    let dump = serde_json::to_string(&server.state().journal()).unwrap();
    assert!(dump.contains("DNSSEC_CREATE"), "{dump}");
}

#[tokio::test]
async fn unsupported_algorithm_is_refused_locally() {
    let server = start_mock(1).await;
    let gd = adapter(&server, Some("cust-1"));
    let odd = DsMaterial::parse(&format!("1 253 2 {}", "ab".repeat(32))).unwrap();
    let err = gd.set_ds(&d("example.com"), &[odd]).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "ds.algorithm"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_action_refusal_is_a_conflict() {
    let mut seed = seed(5);
    seed.options.extra.insert(
        "godaddy_refuse_concurrent_actions".into(),
        serde_json::json!(true),
    );
    let server = MockServer::start(Provider::GoDaddy, seed).await.unwrap();
    let gd = adapter(&server, Some("cust-1"));
    let zone = d("example.com");
    let _ = gd
        .set_nameservers(&zone, &hosts(&["ns1.openova.io", "ns2.openova.io"]))
        .await
        .unwrap();
    let ds = DsMaterial::parse(&format!("11111 13 2 {}", "ab".repeat(32))).unwrap();
    let err = gd.set_ds(&zone, &[ds]).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn unknown_shopper_is_a_configuration_error() {
    let server = start_mock(1).await;
    let gd = shopper_adapter(&server, "shop-unknown");
    let err = gd.get_ds(&d("example.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "shopper_id"),
        "{err}"
    );
}

#[tokio::test]
async fn v2_writes_carry_a_request_id_echoed_in_the_action() {
    let server = MockServer::start(Provider::GoDaddy, seed(2)).await.unwrap();
    let gd = adapter(&server, Some("cust-1"));
    let _ = gd
        .set_nameservers(
            &d("example.com"),
            &hosts(&["ns1.openova.io", "ns2.openova.io"]),
        )
        .await
        .unwrap();
    let action: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v2/customers/cust-1/domains/example.com/actions/DOMAIN_UPDATE_NAME_SERVERS",
            server.base_url()
        ))
        .header("Authorization", format!("sso-key {KEY}:{SECRET}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(action["status"], "PENDING");
    let rid = action["requestId"].as_str().expect("requestId echoed");
    assert_eq!(rid.len(), 32);
    assert!(rid.bytes().all(|b| b.is_ascii_hexdigit()));
}
