//! Cloudflare adapter against the Cloudflare mock: every operation, its
//! success path and each error class.

mod common;

use common::{adapter, d, h, l, start, writes};
use registrars::credentials::{CloudflareAuth, CloudflareCredentials};
use registrars::mock::{Fault, MockServer};
use registrars::{
    Change, Credentials, Delegation, DsMaterial, DsRecord, Glue, Provider, Registrar,
    RegistrarError, Secret,
};

const TOKEN: &str = "cf-token-0123456789";
const DIGEST: &str = "3490a6806d47f17a34c29e2ce80e8a999ffbe4be3490a6806d47f17a34c29e2c";

fn seed() -> String {
    format!(
        r#"{{
  "accounts": [
    {{"id": "acc1", "credentials": {{"api_token": "{TOKEN}", "email": "ops@example.com", "api_key": "legacy-key-42"}},
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

async fn setup() -> (MockServer, Box<dyn Registrar>) {
    let server = start(Provider::Cloudflare, &seed()).await;
    let cf = adapter(&server, creds(TOKEN));
    (server, cf)
}

#[tokio::test]
async fn validate_credentials_token_legacy_and_failures() {
    let (server, cf) = setup().await;
    cf.validate_credentials().await.unwrap();

    let legacy = adapter(
        &server,
        Credentials::Cloudflare(CloudflareCredentials {
            auth: CloudflareAuth::Legacy {
                email: "ops@example.com".into(),
                key: Secret::new("legacy-key-42"),
            },
            account_id: None,
        }),
    );
    legacy.validate_credentials().await.unwrap();

    let wrong = adapter(&server, creds("wrong-token"));
    let err = wrong.validate_credentials().await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err:?}"
    );

    let wrong_legacy = adapter(
        &server,
        Credentials::Cloudflare(CloudflareCredentials {
            auth: CloudflareAuth::Legacy {
                email: "ops@example.com".into(),
                key: Secret::new("nope"),
            },
            account_id: None,
        }),
    );
    let err = wrong_legacy
        .get_nameservers(&d("example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err:?}"
    );

    let scoped = adapter(&server, creds("scoped-token"));
    let err = scoped.get_nameservers(&d("denied.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::NotPermitted { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn nameservers_read_and_the_unsupported_set() {
    let (server, cf) = setup().await;
    let ns = cf.get_nameservers(&d("example.com")).await.unwrap();
    assert_eq!(
        ns,
        vec![h("ada.ns.cloudflare.com"), h("bob.ns.cloudflare.com")]
    );

    // Setting what is already there succeeds without change.
    let same = [h("bob.ns.cloudflare.com"), h("ADA.ns.cloudflare.com.")];
    assert_eq!(
        cf.set_nameservers(&d("example.com"), &same).await.unwrap(),
        Change::Unchanged
    );

    // Anything else is impossible at Cloudflare Registrar; the error says
    // what to do instead.
    let err = cf
        .set_nameservers(
            &d("example.com"),
            &[h("ns1.openova.io"), h("ns2.openova.io")],
        )
        .await
        .unwrap_err();
    match &err {
        RegistrarError::Unsupported { instead, .. } => {
            assert!(instead.contains("transfer"), "{instead}");
            assert!(instead.contains("set_child_delegation"), "{instead}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_eq!(err.pdm_code(), "unsupported-operation");
    assert!(
        writes(&server).is_empty(),
        "no write may be sent: {:?}",
        writes(&server)
    );

    let err = cf.get_nameservers(&d("not-mine.com")).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::DomainNotInAccount {
            domain: "not-mine.com".into()
        }
    );
}

#[tokio::test]
async fn child_delegation_lifecycle_is_idempotent_and_keeps_other_records() {
    let (server, cf) = setup().await;
    let zone = d("example.com");
    assert_eq!(
        cf.get_child_delegation(&zone, &l("sub")).await.unwrap(),
        None
    );

    let ds = DsRecord::new(12345, 13, 2, DIGEST).unwrap();
    let want = Delegation {
        nameservers: vec![h("ns1.openova.io"), h("ns2.openova.io")],
        ttl: 3600,
        ds: vec![ds.clone()],
    };
    assert_eq!(
        cf.set_child_delegation(&zone, &l("sub"), &want)
            .await
            .unwrap(),
        Change::Applied
    );
    let got = cf
        .get_child_delegation(&zone, &l("sub"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.ttl, 3600);
    assert_eq!(got.ds, vec![ds.clone()]);
    assert!(registrars::types::same_hosts(
        &got.nameservers,
        &want.nameservers
    ));

    // Same again: nothing written.
    let before = writes(&server).len();
    assert_eq!(
        cf.set_child_delegation(&zone, &l("sub"), &want)
            .await
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(writes(&server).len(), before);

    // Replace one server and the TTL; DS withdrawn.
    let next = Delegation {
        nameservers: vec![h("ns1.openova.io"), h("ns3.openova.io")],
        ttl: 7200,
        ds: vec![],
    };
    assert_eq!(
        cf.set_child_delegation(&zone, &l("sub"), &next)
            .await
            .unwrap(),
        Change::Applied
    );
    let got = cf
        .get_child_delegation(&zone, &l("sub"))
        .await
        .unwrap()
        .unwrap();
    assert!(registrars::types::same_hosts(
        &got.nameservers,
        &next.nameservers
    ));
    assert_eq!(got.ttl, 7200);
    assert!(got.ds.is_empty());

    // The other records are untouched.
    {
        let world = server.state().world();
        let records = &world.accounts[0].domains[0].records;
        assert!(records.iter().any(|r| r.rtype == "A" && r.name == "@"));
        assert!(
            records
                .iter()
                .any(|r| r.rtype == "CNAME" && r.name == "www")
        );
        assert!(records.iter().any(|r| r.rtype == "MX" && r.name == "mail"));
    }

    assert_eq!(
        cf.delete_child_delegation(&zone, &l("sub")).await.unwrap(),
        Change::Applied
    );
    assert_eq!(
        cf.get_child_delegation(&zone, &l("sub")).await.unwrap(),
        None
    );
    assert_eq!(
        cf.delete_child_delegation(&zone, &l("sub")).await.unwrap(),
        Change::Unchanged
    );
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
        match err {
            RegistrarError::Unsupported { instead, .. } => {
                assert!(instead.contains("A/AAAA"), "{instead}")
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn ds_reads_zone_dnssec_and_set_is_unsupported() {
    let (_server, cf) = setup().await;
    let current = cf.get_ds(&d("example.com")).await.unwrap();
    let expected = DsMaterial::Ds(DsRecord::new(2371, 13, 2, DIGEST).unwrap());
    assert_eq!(current, vec![expected.clone()]);
    assert_eq!(
        cf.set_ds(&d("example.com"), &[expected]).await.unwrap(),
        Change::Unchanged
    );
    let err = cf.set_ds(&d("example.com"), &[]).await.unwrap_err();
    match err {
        RegistrarError::Unsupported { instead, .. } => {
            assert!(instead.contains("DNSSEC"), "{instead}")
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let err = cf.get_ds(&d("missing.com")).await.unwrap_err();
    assert!(matches!(err, RegistrarError::DomainNotInAccount { .. }));
}

#[tokio::test]
async fn injected_errors_map_to_each_class() {
    let (server, cf) = setup().await;
    let zone = d("example.com");

    // Throttled with a wait longer than we sit through: returned at once.
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(300),
        },
        1,
    );
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(300))
        }
    );

    // 5xx on every attempt: unavailable.
    server.state().inject(
        Fault::Status {
            status: 503,
            body: String::new(),
            retry_after: None,
        },
        10,
    );
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
    server.state().clear_faults();

    // Provider-coded errors.
    server.state().inject(
        Fault::ProviderError {
            code: "9999".into(),
            message: "Something odd".into(),
            status: Some(400),
        },
        1,
    );
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "9999".into(),
            message: "Something odd".into()
        }
    );

    server.state().inject(
        Fault::ProviderError {
            code: "10013".into(),
            message: "Rate limited".into(),
            status: Some(400),
        },
        5,
    );
    let err = cf.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
    server.state().clear_faults();

    // A body that is not an envelope.
    server.state().inject(
        Fault::Status {
            status: 200,
            body: "<html>".into(),
            retry_after: None,
        },
        1,
    );
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
