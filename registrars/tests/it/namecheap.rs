//! Namecheap: the contract suite, and what is Namecheap's own: the client
//! IP whitelist, setHosts read-merge-write with EmailType echoed, domains
//! not on Namecheap DNS, IPv4-only public glue, HTTP 405 throttling and
//! errors inside HTTP 200, every call a POST.

use crate::common::{adapter, assert_unsupported, d, h, l, provider_error, start, status_fault};
use crate::contract::{Fixture, contract_suite};
use registrars::credentials::NamecheapCredentials;
use registrars::mock::MockServer;
use registrars::{
    Change, Credentials, Delegation, DsMaterial, DsRecord, Glue, Provider, Registrar,
    RegistrarError, Secret,
};

const KEY: &str = "nc-key-abcdef123456";

pub static FIXTURE: Fixture = Fixture {
    provider: Provider::Namecheap,
    seed: |_| SEED.to_owned(),
    credentials: || creds(KEY, "127.0.0.1"),
    wrong_credentials: || creds("nc-wrong-key-77", "127.0.0.1"),
    denied: None,
    secrets: &[KEY, "nc-wrong-key-77"],
    nameservers: &["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
    glue_domain: "glue.com",
    ds_domain: "example.com",
    seeded_ds: None,
    is_write,
};
contract_suite!(FIXTURE);

/// Namecheap's journal names commands; these change something.
fn is_write(entry: &str) -> bool {
    entry.starts_with("namecheap ")
        && [".set", ".create", ".update", ".delete"]
            .iter()
            .any(|verb| entry.contains(verb))
}

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
        "glue": []},
       {"name": "custom.com", "nameservers": ["ns1.other.net", "ns2.other.net"]},
       {"name": "glue.com", "nameservers": ["ns1.glue.com", "ns2.glue.com"],
        "glue": [{"host": "ns1.glue.com", "ips": ["192.0.2.53"]}]}
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

#[tokio::test]
async fn key_and_client_ip_refusals_carry_namecheaps_words() {
    let (server, _nc) = setup().await;
    let err = adapter(&server, creds("wrong", "127.0.0.1"))
        .validate_credentials()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1011102"), "{err}");

    let bad_ip = adapter(&server, creds(KEY, "127.0.0.2"));
    let err = bad_ip.get_nameservers(&d("example.com")).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::ClientIpNotWhitelisted { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn another_accounts_domain_is_not_in_this_account() {
    let (_server, nc) = setup().await;
    let err = nc.get_nameservers(&d("taken.com")).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::DomainNotInAccount {
            domain: "taken.com".into()
        }
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
    assert_eq!(
        nc.delete_child_delegation(&zone, &l("sub")).await.unwrap(),
        Change::Applied
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
async fn glue_is_one_public_ipv4() {
    let (_server, nc) = setup().await;
    let zone = d("glue.com");
    let private = Glue {
        ips: vec!["10.0.0.1".parse().unwrap()],
        host: h("ns3.glue.com"),
    };
    let err = nc.upsert_glue(&zone, &private).await.unwrap_err();
    assert!(
        matches!(err, RegistrarError::Invalid { ref field, .. } if field == "IP"),
        "{err:?}"
    );
    let v6 = Glue {
        ips: vec!["2001:db8::1".parse().unwrap()],
        host: h("ns3.glue.com"),
    };
    assert!(matches!(
        nc.upsert_glue(&zone, &v6).await.unwrap_err(),
        RegistrarError::Invalid { .. }
    ));
    // Glue is seen through the domain's own name servers only.
    assert!(nc.list_glue(&d("example.com")).await.unwrap().is_empty());
}

#[tokio::test]
async fn dnssec_is_unsupported_and_says_what_to_do() {
    let (_server, nc) = setup().await;
    let ds = DsMaterial::Ds(DsRecord::new(1, 13, 2, &"ab".repeat(32)).unwrap());
    for err in [
        nc.get_ds(&d("example.com")).await.unwrap_err(),
        nc.set_ds(&d("example.com"), &[ds]).await.unwrap_err(),
    ] {
        assert_unsupported(&err, &["dashboard"]);
    }
}

#[tokio::test]
async fn codes_inside_http_200_and_every_call_a_post() {
    let (server, nc) = setup().await;
    let zone = d("example.com");

    // Server errors reported inside HTTP 200.
    server
        .state()
        .inject(provider_error("5050900", "Unhandled exception", None), 10);
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
    server.state().clear_faults();

    server.state().inject(
        provider_error(
            "2030166",
            "Edit permission for domain is not supported",
            None,
        ),
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

    server
        .state()
        .inject(provider_error("9999999", "Odd", None), 1);
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert_eq!(
        err,
        RegistrarError::Rejected {
            code: "9999999".into(),
            message: "Odd".into()
        }
    );

    server
        .state()
        .inject(status_fault(200, "not xml at all <"), 1);
    let err = nc.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Protocol { .. }), "{err:?}");

    // Every call is a POST: the key never sits in a URL.
    assert!(
        server
            .state()
            .journal()
            .iter()
            .all(|e| !e.starts_with("GET "))
    );
}
