//! Cloudflare: the contract suite, and what is Cloudflare's own: the
//! legacy key pair, the advice in its `Unsupported` errors, error codes
//! 81056 and 10013, and the record count limit.

use crate::common::{
    adapter, assert_unsupported, d, h, http_write, l, provider_error, start, status_fault, writes,
};
use crate::contract::{Fixture, contract_suite};
use registrars::credentials::{CloudflareAuth, CloudflareCredentials};
use registrars::mock::MockServer;
use registrars::{Credentials, Delegation, Glue, Provider, Registrar, RegistrarError, Secret};

pub(crate) const TOKEN: &str = "cf-token-0123456789";
const LEGACY_KEY: &str = "legacy-key-42";
const DIGEST: &str = "3490a6806d47f17a34c29e2ce80e8a999ffbe4be3490a6806d47f17a34c29e2c";

pub static FIXTURE: Fixture = Fixture {
    provider: Provider::Cloudflare,
    seed,
    credentials: || creds(TOKEN),
    wrong_credentials: || creds("wrong-token"),
    denied: Some((|| creds("scoped-token"), "denied.com")),
    secrets: &[TOKEN, LEGACY_KEY, "wrong-token", "scoped-token"],
    nameservers: &["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
    glue_domain: "example.com",
    ds_domain: "example.com",
    seeded_ds: Some(SEEDED_DS),
    is_write: http_write,
};
contract_suite!(FIXTURE);

const SEEDED_DS: &str =
    "2371 13 2 3490a6806d47f17a34c29e2ce80e8a999ffbe4be3490a6806d47f17a34c29e2c";

pub(crate) fn seed(_task_polls: u32) -> String {
    format!(
        r#"{{
  "accounts": [
    {{"id": "acc1", "credentials": {{"api_token": "{TOKEN}", "email": "ops@example.com", "api_key": "{LEGACY_KEY}"}},
      "domains": [
        {{"name": "example.com", "nameservers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
          "extra": {{"dnssec": "active"}},
          "ds": [{{"key_tag": 2371, "algorithm": 13, "digest_type": 2, "digest": "{DIGEST}"}}],
          "records": [
            {{"name": "@", "type": "A", "content": "192.0.2.1", "ttl": 300}},
            {{"name": "www", "type": "CNAME", "content": "example.com", "ttl": 300}},
            {{"name": "mail", "type": "MX", "content": "mx.example.net", "ttl": 300, "priority": 10}}
          ]}}
      ]}},
    {{"id": "acc2", "credentials": {{"api_token": "scoped-token"}}, "access_denied": true,
      "domains": [{{"name": "denied.com", "nameservers": ["a.ns.cloudflare.com"]}}]}}
  ]
}}"#
    )
}

fn creds(token: &str) -> Credentials {
    Credentials::Cloudflare(CloudflareCredentials {
        auth: CloudflareAuth::Token(Secret::new(token)),
        account_id: None,
    })
}

fn legacy(key: &str) -> Credentials {
    Credentials::Cloudflare(CloudflareCredentials {
        auth: CloudflareAuth::Legacy {
            email: "ops@example.com".into(),
            key: Secret::new(key),
        },
        account_id: None,
    })
}

async fn setup() -> (MockServer, Box<dyn Registrar>) {
    let server = start(Provider::Cloudflare, &seed(1)).await;
    let cf = adapter(&server, creds(TOKEN));
    (server, cf)
}

#[tokio::test]
async fn legacy_key_pair_is_accepted_and_checked() {
    let (server, _cf) = setup().await;
    adapter(&server, legacy(LEGACY_KEY))
        .validate_credentials()
        .await
        .unwrap();
    let err = adapter(&server, legacy("nope"))
        .get_nameservers(&d("example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn setting_other_nameservers_says_transfer_or_delegate() {
    let (server, cf) = setup().await;
    let err = cf
        .set_nameservers(
            &d("example.com"),
            &[h("ns1.openova.io"), h("ns2.openova.io")],
        )
        .await
        .unwrap_err();
    assert_unsupported(&err, &["transfer", "set_child_delegation"]);
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
}

#[tokio::test]
async fn child_delegation_errors() {
    let (_server, cf) = setup().await;
    let zone = d("example.com");
    let one = Delegation {
        nameservers: vec![h("ns1.openova.io")],
        ttl: 3600,
        ds: vec![],
    };
    let err = cf
        .set_child_delegation(&zone, &l("sub"), &one)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err:?}");

    let eleven = Delegation {
        nameservers: (0..11).map(|i| h(&format!("ns{i}.openova.io"))).collect(),
        ttl: 3600,
        ds: vec![],
    };
    let err = cf
        .set_child_delegation(&zone, &l("sub"), &eleven)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err:?}");

    // `www` is a CNAME: Cloudflare refuses NS beside it.
    let two = Delegation {
        nameservers: vec![h("ns1.openova.io"), h("ns2.openova.io")],
        ttl: 3600,
        ds: vec![],
    };
    let err = cf
        .set_child_delegation(&zone, &l("www"), &two)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Conflict { .. }), "{err:?}");

    let err = cf
        .set_child_delegation(&d("other.com"), &l("sub"), &two)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::DomainNotInAccount { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn glue_is_unsupported_and_says_what_to_do() {
    let (_server, cf) = setup().await;
    let glue = Glue {
        host: h("ns1.example.com"),
        ips: vec!["192.0.2.53".parse().unwrap()],
    };
    for err in [
        cf.list_glue(&d("example.com")).await.unwrap_err(),
        cf.upsert_glue(&d("example.com"), &glue).await.unwrap_err(),
        cf.delete_glue(&d("example.com"), &glue.host)
            .await
            .unwrap_err(),
    ] {
        assert_unsupported(&err, &["A/AAAA"]);
    }
}

#[tokio::test]
async fn clearing_ds_says_to_disable_zone_dnssec() {
    let (_server, cf) = setup().await;
    let err = cf.set_ds(&d("example.com"), &[]).await.unwrap_err();
    assert_unsupported(&err, &["DNSSEC"]);
}

#[tokio::test]
async fn provider_codes_map_to_their_class() {
    let (server, cf) = setup().await;
    let zone = d("example.com");

    // Provider-coded errors.
    server
        .state()
        .inject(provider_error("9999", "Something odd", Some(400)), 1);
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "9999".into(),
            message: "Something odd".into()
        }
    );

    server
        .state()
        .inject(provider_error("10013", "Rate limited", Some(400)), 5);
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
    server.state().clear_faults();

    // A body that is not an envelope.
    server.state().inject(status_fault(200, "<html>"), 1);
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn capabilities_are_declared() {
    let (_server, cf) = setup().await;
    let caps = cf.capabilities();
    use registrars::Capability::*;
    assert!(caps.contains(ChildDelegation));
    assert!(!caps.contains(SetNameservers));
    assert!(!caps.contains(Glue));
    assert_eq!(caps.max_nameservers, 10);
}
