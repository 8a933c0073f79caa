//! Runs adapters and mocks with TRACE logging captured into a buffer (ours
//! and every dependency's, reqwest and hyper included) through successes,
//! retries and each error class, and asserts that no credential appears in
//! the output, nor in any error message or Debug rendering.

mod common;

use common::{LogBuffer, adapter, start};
use registrars::credentials::{CloudflareAuth, CloudflareCredentials, NamecheapCredentials};
use registrars::mock::Fault;
use registrars::{Credentials, Delegation, DomainName, HostName, Label, Provider, Secret};

const CF_TOKEN: &str = "cftoken-SECRET-7f3a9c";
const CF_KEY: &str = "cflegacy-SECRET-44b1";
const NC_KEY: &str = "nckey-SECRET-90e2d1";
const WRONG: &str = "wrongkey-SECRET-0000";

#[tokio::test]
async fn no_credential_in_trace_output() {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // try_init also bridges the `log` crate, which reqwest logs through.
    tracing_subscriber::util::SubscriberInitExt::try_init(subscriber).unwrap();

    let mut rendered = Vec::new();

    // Cloudflare: token and legacy, success, errors, retries.
    let cf_seed = format!(
        r#"{{"accounts":[{{"id":"a","credentials":{{"api_token":"{CF_TOKEN}","email":"ops@example.com","api_key":"{CF_KEY}"}},
        "domains":[{{"name":"example.com","nameservers":["ada.ns.cloudflare.com","bob.ns.cloudflare.com"]}}]}}]}}"#
    );
    let cf_server = start(Provider::Cloudflare, &cf_seed).await;
    let zone = DomainName::new("example.com").unwrap();
    let label = Label::new("sub").unwrap();
    let deleg = Delegation {
        nameservers: vec![
            HostName::new("ns1.openova.io").unwrap(),
            HostName::new("ns2.openova.io").unwrap(),
        ],
        ttl: 3600,
        ds: vec![],
    };
    for creds in [
        CloudflareAuth::Token(Secret::new(CF_TOKEN)),
        CloudflareAuth::Legacy {
            email: "ops@example.com".into(),
            key: Secret::new(CF_KEY),
        },
        CloudflareAuth::Token(Secret::new(WRONG)),
    ] {
        let c = Credentials::Cloudflare(CloudflareCredentials {
            auth: creds,
            account_id: None,
        });
        rendered.push(format!("{c:?} {c}"));
        let cf = adapter(&cf_server, c);
        cf_server.state().inject(
            Fault::Status {
                status: 503,
                body: String::new(),
                retry_after: None,
            },
            1,
        );
        rendered.push(format!("{:?}", cf.validate_credentials().await));
        rendered.push(format!("{:?}", cf.get_nameservers(&zone).await));
        rendered.push(format!(
            "{:?}",
            cf.set_child_delegation(&zone, &label, &deleg).await
        ));
        rendered.push(format!(
            "{:?}",
            cf.set_nameservers(&zone, &deleg.nameservers).await
        ));
        cf_server.state().inject(
            Fault::RateLimited {
                retry_after_secs: Some(0),
            },
            1,
        );
        rendered.push(format!(
            "{:?}",
            cf.delete_child_delegation(&zone, &label).await
        ));
    }

    // Namecheap: key in every form body.
    let nc_seed = format!(
        r#"{{"accounts":[{{"id":"d","credentials":{{"api_user":"demo","api_key":"{NC_KEY}","username":"demo"}},"client_ips":["127.0.0.1"],
        "domains":[{{"name":"example.com","nameservers":["dns1.registrar-servers.com","dns2.registrar-servers.com"],"email_type":"MX",
        "records":[{{"name":"@","type":"A","content":"192.0.2.1"}}]}}]}}]}}"#
    );
    let nc_server = start(Provider::Namecheap, &nc_seed).await;
    for (key, ip) in [
        (NC_KEY, "127.0.0.1"),
        (WRONG, "127.0.0.1"),
        (NC_KEY, "127.0.0.9"),
    ] {
        let c = Credentials::Namecheap(NamecheapCredentials {
            api_user: "demo".into(),
            api_key: Secret::new(key),
            username: "demo".into(),
            client_ip: ip.parse().unwrap(),
        });
        rendered.push(format!("{c:?} {c}"));
        let nc = adapter(&nc_server, c);
        nc_server.state().inject(
            Fault::RateLimited {
                retry_after_secs: None,
            },
            1,
        );
        rendered.push(format!("{:?}", nc.validate_credentials().await));
        rendered.push(format!("{:?}", nc.get_nameservers(&zone).await));
        rendered.push(format!(
            "{:?}",
            nc.set_child_delegation(&zone, &label, &deleg).await
        ));
        rendered.push(format!(
            "{:?}",
            nc.set_nameservers(&zone, &deleg.nameservers).await
        ));
        rendered.push(format!("{:?}", nc.get_ds(&zone).await));
    }

    // A transport error (its reqwest message would carry the URL).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Credentials::Namecheap(NamecheapCredentials {
        api_user: "demo".into(),
        api_key: Secret::new(NC_KEY),
        username: "demo".into(),
        client_ip: "127.0.0.1".parse().unwrap(),
    });
    let nc = registrars::connect_with(
        Provider::Namecheap,
        Some(&format!(
            "http://127.0.0.1:{dead}/xml.response?ApiKey={NC_KEY}"
        )),
        c,
        &common::fast_options(),
    )
    .unwrap();
    rendered.push(format!("{:?}", nc.get_nameservers(&zone).await));

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("response"),
        "the capture works: {} bytes",
        logs.len()
    );
    assert!(logs.contains("TRACE"), "trace level is on");
    assert!(logs.contains("reqwest"), "dependency logs are captured too");
    let all = format!("{logs}\n{}", rendered.join("\n"));
    for secret in [CF_TOKEN, CF_KEY, NC_KEY, WRONG, "SECRET"] {
        assert!(
            !all.contains(secret),
            "{secret:?} leaked:\n{}",
            all.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
