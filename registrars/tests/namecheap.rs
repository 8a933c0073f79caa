//! Namecheap adapter against the Namecheap mock: every operation, its
//! success path and each error class, and the setHosts read-before-write.

mod common;

use common::{adapter, d, h, l, start};
use registrars::credentials::NamecheapCredentials;
use registrars::mock::{Fault, MockServer, RateLimit};
use registrars::{
    Change, Credentials, Delegation, DsMaterial, DsRecord, Glue, Provider, Registrar,
    RegistrarError, Secret,
};

const KEY: &str = "nc-key-abcdef123456";

const SEED: &str = r#"{
  "accounts": [
    {"id": "demo", "credentials": {"api_user": "demo", "api_key": "nc-key-abcdef123456", "username": "demo"},
     "client_ips": ["127.0.0.1"],
     "domains": [
       {"name": "example.com", "nameservers": ["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
        "email_type": "MX",
        "records": [
          {"name": "@", "type": "A", "content": "192.0.2.1", "ttl": 1800},
          {"name": "@", "type": "MX", "content": "mail.example.com.", "ttl": 1800, "priority": 5},
          {"name": "@", "type": "TXT", "content": "v=spf1 mx -all", "ttl": 1800},
          {"name": "www", "type": "CNAME", "content": "parkingpage.namecheap.com.", "ttl": 1800},
          {"name": "@", "type": "URL", "content": "http://www.example.com/?from=@", "ttl": 1800}
        ],
        "glue": [{"host": "ns1.example.com", "ips": ["198.51.100.53"]}]},
       {"name": "custom.com", "nameservers": ["ns1.other.net", "ns2.other.net"]}
     ]},
    {"id": "someone-else", "credentials": {"api_user": "else", "api_key": "other-key"},
     "client_ips": ["127.0.0.1"],
     "domains": [{"name": "taken.com", "nameservers": ["a.b.net", "c.d.net"]}]}
  ]
}"#;

fn creds(key: &str, ip: &str) -> Credentials {
    Credentials::Namecheap(NamecheapCredentials {
        api_user: "demo".into(),
        api_key: Secret::new(key),
        username: "demo".into(),
        client_ip: ip.parse().unwrap(),
    })
}

async fn setup() -> (MockServer, Box<dyn Registrar>) {
    let server = start(Provider::Namecheap, SEED).await;
    let nc = adapter(&server, creds(KEY, "127.0.0.1"));
    (server, nc)
}

fn commands(server: &MockServer, name: &str) -> usize {
    server
        .state()
        .journal()
        .iter()
        .filter(|e| e.as_str() == format!("namecheap {name}"))
        .count()
}

#[tokio::test]
async fn credentials_and_client_ip() {
    let (server, nc) = setup().await;
    nc.validate_credentials().await.unwrap();

    let bad_key = adapter(&server, creds("wrong", "127.0.0.1"));
    let err = bad_key.validate_credentials().await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("1011102"), "{err}");

    let bad_ip = adapter(&server, creds(KEY, "127.0.0.2"));
    let err = bad_ip.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::ClientIpNotWhitelisted { .. }),
        "{err:?}"
    );
    assert_eq!(err.pdm_code(), "invalid-token");
}

#[tokio::test]
async fn nameservers_get_set_idempotent() {
    let (server, nc) = setup().await;
    let ns = nc.get_nameservers(&d("example.com")).await.unwrap();
    assert_eq!(
        ns,
        vec![
            h("dns1.registrar-servers.com"),
            h("dns2.registrar-servers.com")
        ]
    );

    for missing in ["nowhere.com", "taken.com"] {
        let err = nc.get_nameservers(&d(missing)).await.unwrap_err();
        assert_eq!(
            err,
            RegistrarError::DomainNotInAccount {
                domain: missing.into()
            }
        );
    }

    let err = nc
        .set_nameservers(&d("example.com"), &[h("ns1.openova.io")])
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err:?}");

    let want = [h("ns1.openova.io"), h("ns2.openova.io")];
    assert_eq!(
        nc.set_nameservers(&d("example.com"), &want).await.unwrap(),
        Change::Applied
    );
    assert!(registrars::types::same_hosts(
        &nc.get_nameservers(&d("example.com")).await.unwrap(),
        &want
    ));
    let calls = commands(&server, "namecheap.domains.dns.setcustom");
    assert_eq!(
        nc.set_nameservers(
            &d("example.com"),
            &[h("ns2.openova.io"), h("ns1.openova.io")]
        )
        .await
        .unwrap(),
        Change::Unchanged
    );
    assert_eq!(
        commands(&server, "namecheap.domains.dns.setcustom"),
        calls,
        "no second setCustom"
    );
}

#[tokio::test]
async fn child_delegation_keeps_every_other_host_and_the_mail_settings() {
    let (server, nc) = setup().await;
    let zone = d("example.com");
    let before: Vec<_> = server.state().world().accounts[0].domains[0]
        .records
        .clone();
    assert_eq!(
        nc.get_child_delegation(&zone, &l("sub")).await.unwrap(),
        None
    );

    let want = Delegation {
        nameservers: vec![h("ns1.openova.io"), h("ns2.openova.io")],
        ttl: 3600,
        ds: vec![],
    };
    assert_eq!(
        nc.set_child_delegation(&zone, &l("sub"), &want)
            .await
            .unwrap(),
        Change::Applied
    );

    {
        let world = server.state().world();
        let dom = &world.accounts[0].domains[0];
        assert_eq!(dom.email_type.as_deref(), Some("MX"), "EmailType echoed");
        for old in &before {
            assert!(
                dom.records.iter().any(|r| r.name == old.name
                    && r.rtype == old.rtype
                    && r.content == old.content
                    && r.ttl == old.ttl
                    && (r.rtype != "MX" || r.priority == old.priority)),
                "lost {old:?}"
            );
        }
        assert_eq!(dom.records.len(), before.len() + 2);
    }
    let got = nc
        .get_child_delegation(&zone, &l("sub"))
        .await
        .unwrap()
        .unwrap();
    assert!(registrars::types::same_hosts(
        &got.nameservers,
        &want.nameservers
    ));
    assert_eq!(got.ttl, 3600);

    let sets = commands(&server, "namecheap.domains.dns.sethosts");
    assert_eq!(
        nc.set_child_delegation(&zone, &l("sub"), &want)
            .await
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(commands(&server, "namecheap.domains.dns.sethosts"), sets);

    let next = Delegation {
        nameservers: vec![h("ns3.openova.io"), h("ns2.openova.io")],
        ttl: 600,
        ds: vec![],
    };
    assert_eq!(
        nc.set_child_delegation(&zone, &l("sub"), &next)
            .await
            .unwrap(),
        Change::Applied
    );
    let got = nc
        .get_child_delegation(&zone, &l("sub"))
        .await
        .unwrap()
        .unwrap();
    assert!(registrars::types::same_hosts(
        &got.nameservers,
        &next.nameservers
    ));

    assert_eq!(
        nc.delete_child_delegation(&zone, &l("sub")).await.unwrap(),
        Change::Applied
    );
    assert_eq!(
        nc.delete_child_delegation(&zone, &l("sub")).await.unwrap(),
        Change::Unchanged
    );
    let world = server.state().world();
    let dom = &world.accounts[0].domains[0];
    assert_eq!(dom.records.len(), before.len());
    assert_eq!(dom.email_type.as_deref(), Some("MX"));
}

#[tokio::test]
async fn child_delegation_errors() {
    let (_server, nc) = setup().await;
    let ds = DsRecord::new(1, 13, 2, &"ab".repeat(32)).unwrap();
    let with_ds = Delegation {
        nameservers: vec![h("ns1.openova.io"), h("ns2.openova.io")],
        ttl: 3600,
        ds: vec![ds],
    };
    let err = nc
        .set_child_delegation(&d("example.com"), &l("sub"), &with_ds)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Unsupported { .. }), "{err:?}");

    let plain = Delegation {
        ds: vec![],
        ..with_ds
    };
    let err = nc
        .set_child_delegation(&d("custom.com"), &l("sub"), &plain)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err:?}");

    let err = nc
        .set_child_delegation(&d("taken.com"), &l("sub"), &plain)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::DomainNotInAccount { .. }),
        "{err:?}"
    );

    let bad_ttl = Delegation { ttl: 5, ..plain };
    let err = nc
        .set_child_delegation(&d("example.com"), &l("sub"), &bad_ttl)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistrarError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn glue_lifecycle() {
    let (server, nc) = setup().await;
    let zone = d("example.com");
    // Glue is listed through the domain's own in-bailiwick name servers.
    assert!(nc.list_glue(&zone).await.unwrap().is_empty());
    let _ = nc
        .set_nameservers(&zone, &[h("ns1.example.com"), h("ns2.example.com")])
        .await
        .unwrap();
    let glue = nc.list_glue(&zone).await.unwrap();
    assert_eq!(
        glue,
        vec![Glue {
            host: h("ns1.example.com"),
            ips: vec!["198.51.100.53".parse().unwrap()]
        }]
    );

    let ns2 = Glue {
        host: h("ns2.example.com"),
        ips: vec!["203.0.113.9".parse().unwrap()],
    };
    assert_eq!(nc.upsert_glue(&zone, &ns2).await.unwrap(), Change::Applied);
    assert_eq!(
        nc.upsert_glue(&zone, &ns2).await.unwrap(),
        Change::Unchanged
    );
    let moved = Glue {
        ips: vec!["203.0.113.10".parse().unwrap()],
        ..ns2.clone()
    };
    assert_eq!(
        nc.upsert_glue(&zone, &moved).await.unwrap(),
        Change::Applied
    );
    assert_eq!(nc.list_glue(&zone).await.unwrap().len(), 2);
    assert!(commands(&server, "namecheap.domains.ns.update") == 1);

    let private = Glue {
        ips: vec!["10.0.0.1".parse().unwrap()],
        host: h("ns3.example.com"),
    };
    let err = nc.upsert_glue(&zone, &private).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "IP"),
        "{err:?}"
    );
    let v6 = Glue {
        ips: vec!["2001:db8::1".parse().unwrap()],
        host: h("ns3.example.com"),
    };
    assert!(matches!(
        nc.upsert_glue(&zone, &v6).await.unwrap_err(),
        RegistrarError::Invalid { .. }
    ));

    assert_eq!(
        nc.delete_glue(&zone, &h("ns2.example.com")).await.unwrap(),
        Change::Applied
    );
    assert_eq!(
        nc.delete_glue(&zone, &h("ns2.example.com")).await.unwrap(),
        Change::Unchanged
    );
}

#[tokio::test]
async fn dnssec_is_unsupported_and_says_what_to_do() {
    let (_server, nc) = setup().await;
    let ds = DsMaterial::Ds(DsRecord::new(1, 13, 2, &"ab".repeat(32)).unwrap());
    for err in [
        nc.get_ds(&d("example.com")).await.unwrap_err(),
        nc.set_ds(&d("example.com"), &[ds]).await.unwrap_err(),
    ] {
        match err {
            RegistrarError::Unsupported { instead, .. } => {
                assert!(instead.contains("dashboard"), "{instead}")
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_outages_and_provider_errors() {
    let (server, nc) = setup().await;
    let zone = d("example.com");

    // One 405, then success: retried transparently.
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: None,
        },
        1,
    );
    nc.get_nameservers(&zone).await.unwrap();

    // 405 every time: rate limited.
    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: None,
        },
        10,
    );
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
    server.state().clear_faults();

    // Server errors reported inside HTTP 200.
    server.state().inject(
        Fault::ProviderError {
            code: "5050900".into(),
            message: "Unhandled exception".into(),
            status: None,
        },
        10,
    );
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
    server.state().clear_faults();

    server.state().inject(
        Fault::ProviderError {
            code: "2030166".into(),
            message: "Edit permission for domain is not supported".into(),
            status: None,
        },
        1,
    );
    let err = nc
        .set_nameservers(&zone, &[h("ns1.openova.io"), h("ns2.openova.io")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::NotPermitted { .. }),
        "{err:?}"
    );

    server.state().inject(
        Fault::ProviderError {
            code: "9999999".into(),
            message: "Odd".into(),
            status: None,
        },
        1,
    );
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "9999999".into(),
            message: "Odd".into()
        }
    );

    server.state().inject(
        Fault::Status {
            status: 200,
            body: "not xml at all <".into(),
            retry_after: None,
        },
        1,
    );
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Protocol { .. }), "{err:?}");

    // The configured limit, as Namecheap signals it.
    server.state().set_rate_limit(Some(RateLimit {
        requests: 1,
        per_seconds: 60,
    }));
    nc.get_nameservers(&zone).await.unwrap();
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
    // Every call is a POST: the key never sits in a URL.
    assert!(
        server
            .state()
            .journal()
            .iter()
            .all(|e| !e.starts_with("GET "))
    );
}
