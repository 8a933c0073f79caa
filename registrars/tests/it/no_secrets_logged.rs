//! What the contract's per-provider secrets case cannot show: that the
//! capture sees every layer (TRACE, reqwest's own `log` records), and that
//! a transport error, whose reqwest message would carry the URL, leaks
//! nothing even when a secret sits in the configured base URL.

use crate::common::{d, fast_options};
use registrars::credentials::NamecheapCredentials;
use registrars::{Credentials, Provider, Secret};
use testkit::captured_logs;

const NC_KEY: &str = "nckey-SECRET-90e2d1";

#[tokio::test]
async fn transport_errors_and_dependency_logs_leak_nothing() {
    let _ = captured_logs();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let credentials = Credentials::Namecheap(NamecheapCredentials {
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
        credentials,
        &fast_options(),
    )
    .unwrap();
    let err = nc.get_nameservers(&d("example.com")).await.unwrap_err();
    let rendered = format!("{err} {err:?}");

    let logs = captured_logs();
    assert!(logs.contains("TRACE"), "trace level is on");
    assert!(logs.contains("reqwest"), "dependency logs are captured too");
    let all = format!("{logs}\n{rendered}");
    let leaks: Vec<_> = all.lines().filter(|l| l.contains(NC_KEY)).collect();
    assert!(leaks.is_empty(), "leaked:\n{}", leaks.join("\n"));
}
