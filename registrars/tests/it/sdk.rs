//! The mocks through the providers' official Python SDKs (PyPI `ovh`,
//! `cloudflare`, `godaddypy`): each script under `tests/sdk/` drives the
//! NS, glue, DS and task calls of one SDK against a mock on 127.0.0.1 and
//! prints `ok`; the test then checks the mock's state as well.
//!
//! Without `python3` or the SDK module the test is skipped with a message,
//! unless `CI` is set: then it fails, so CI never passes without running
//! it. CI installs them with [`PIP_INSTALL`].

use std::process::Stdio;

use registrars::mock::MockServer;
use registrars::{Dnskey, Provider};
use tokio::process::Command;

use crate::common::start;
use crate::contract::KSK;

/// What CI runs to have every SDK (godaddypy imports `configloader` and
/// `yaml` without declaring them).
const PIP_INSTALL: &str = "pip install ovh cloudflare godaddypy configloader pyyaml";

/// Whether `python3` can import `module`. When it cannot: a skip message,
/// or a failure under CI.
async fn sdk_available(module: &str) -> bool {
    let imported = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success());
    if !imported {
        let why = format!("python3 cannot import `{module}`; install with: {PIP_INSTALL}");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the SDK checks: {why}"
        );
        eprintln!("skipped: {why}");
    }
    imported
}

/// Runs `tests/sdk/<script>` against `server` with `env`; fails the test
/// with the script's output unless it exits 0 and prints `ok`.
async fn run_script(script: &str, server: &MockServer, env: &[(&str, &str)]) {
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("python3");
    cmd.arg(&path)
        .env("MOCK_BASE_URL", server.base_url())
        .env("MOCK_ROOT", format!("http://{}", server.addr()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Loopback only: no proxy may see (or swallow) these requests.
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1");
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().await.expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().last() == Some("ok"),
        "{script} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn ovh_sdk_ns_glue_ds_and_tasks() {
    if !sdk_available("ovh").await {
        return;
    }
    let server = start(Provider::Ovh, &crate::ovh::seed_json(2, "")).await;
    let key = Dnskey::parse(KSK).unwrap();
    let tag = key.key_tag().to_string();
    run_script(
        "ovh_flows.py",
        &server,
        &[
            ("OVH_AK", crate::ovh::AK),
            ("OVH_AS", crate::ovh::AS),
            ("OVH_CK", crate::ovh::CK),
            ("KSK_PUBLIC_KEY", &key.public_key),
            ("KSK_TAG", &tag),
        ],
    )
    .await;
    let world = server.state().world();
    let domain = world.accounts[0].domain("example.com").unwrap();
    assert_eq!(domain.nameservers, ["ns3.openova.io", "ns2.openova.io"]);
    assert!(!domain.records.iter().any(|r| r.name == "sub"));
    assert!(world.tasks.len() >= 8, "{:?}", world.tasks);
}

#[tokio::test]
async fn cloudflare_sdk_child_ns_ds_and_dnssec() {
    if !sdk_available("cloudflare").await {
        return;
    }
    let server = start(Provider::Cloudflare, &crate::cloudflare::seed(1)).await;
    run_script(
        "cloudflare_flows.py",
        &server,
        &[("CF_TOKEN", crate::cloudflare::TOKEN)],
    )
    .await;
    let world = server.state().world();
    let domain = world.accounts[0].domain("example.com").unwrap();
    assert!(!domain.records.iter().any(|r| r.name == "sub"));
    assert_eq!(domain.extra["dnssec"], "disabled");
}

#[tokio::test]
async fn godaddy_sdk_nameservers_and_child_ns() {
    if !sdk_available("godaddypy").await {
        return;
    }
    let server = start(Provider::GoDaddy, &crate::godaddy::seed_json(1)).await;
    run_script(
        "godaddy_flows.py",
        &server,
        &[
            ("GD_KEY", crate::godaddy::KEY),
            ("GD_SECRET", crate::godaddy::SECRET),
        ],
    )
    .await;
    let world = server.state().world();
    let domain = world.accounts[0].domain("example.com").unwrap();
    assert_eq!(domain.nameservers, ["ns1.openova.io", "ns2.openova.io"]);
    assert!(
        world.accounts[0]
            .domain("example.com")
            .unwrap()
            .records
            .iter()
            .all(|r| r.name != "sub")
    );
}
