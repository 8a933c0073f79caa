//! End to end through the binaries: `registrar-mock` serves the example
//! seed on loopback, `registrar-cli` reads and sets name servers and DS
//! against it with credentials from the environment; exit codes checked.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

struct Mock {
    child: Child,
    base_url: String,
}

impl Mock {
    fn start(provider: &str) -> Self {
        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed-example.json");
        let mut child = Command::new(env!("CARGO_BIN_EXE_registrar-mock"))
            .args([
                "--provider",
                provider,
                "--listen",
                "127.0.0.1:0",
                "--seed",
                seed,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("registrar-mock starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base_url = line.trim().to_owned();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url:?}");
        Self { child, base_url }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        // Our own child, by handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(mock: &Mock, provider: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_registrar-cli"));
    cmd.env_clear()
        .env("RUST_LOG", "off")
        .args(["--provider", provider, "--base-url", &mock.base_url])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("registrar-cli runs")
}

const NC_ENV: &[(&str, &str)] = &[
    ("NAMECHEAP_API_USER", "demo"),
    ("NAMECHEAP_API_KEY", "nc-test-key"),
    ("NAMECHEAP_CLIENT_IP", "127.0.0.1"),
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn namecheap_through_the_binaries() {
    let mock = Mock::start("namecheap");

    let out = cli(&mock, "namecheap", NC_ENV, &["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = cli(&mock, "namecheap", NC_ENV, &["get-ns", "example.com"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ns1.provider.test\nns2.provider.test\n");

    let set = ["set-ns", "example.com", "ns1.openova.io", "ns2.openova.io"];
    let out = cli(&mock, "namecheap", NC_ENV, &set);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "applied");
    let out = cli(&mock, "namecheap", NC_ENV, &set);
    assert_eq!(text(&out.stdout).trim(), "unchanged (already set)");

    // No DNSSEC API: exit 6 and the way out.
    let out = cli(&mock, "namecheap", NC_ENV, &["get-ds", "example.com"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("dashboard"),
        "{}",
        text(&out.stderr)
    );
    let ds = "12345 13 2 3490A6806D47F17A34C29E2CE80E8A999FFBE4BE3490A6806D47F17A34C29E2C";
    let out = cli(
        &mock,
        "namecheap",
        NC_ENV,
        &["set-ds", "example.com", "--record", ds],
    );
    assert_eq!(out.status.code(), Some(6));

    let out = cli(&mock, "namecheap", NC_ENV, &["get-ns", "elsewhere.com"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));

    let wrong = [
        ("NAMECHEAP_API_USER", "demo"),
        ("NAMECHEAP_API_KEY", "not-the-key"),
        ("NAMECHEAP_CLIENT_IP", "127.0.0.1"),
    ];
    let out = cli(&mock, "namecheap", &wrong, &["get-ns", "example.com"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out.stderr).contains("not-the-key"));

    let out = cli(&mock, "namecheap", &[], &["get-ns", "example.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("NAMECHEAP_API_USER"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(
        &mock,
        "namecheap",
        NC_ENV,
        &["set-ns", "example.com", "ns1.only.io"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
}

#[test]
fn cloudflare_through_the_binaries() {
    let mock = Mock::start("cloudflare");
    let env = [("CLOUDFLARE_API_TOKEN", "cf-test-token")];
    let out = cli(&mock, "cloudflare", &env, &["get-ns", "example.com"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ns1.provider.test\nns2.provider.test\n");

    let out = cli(
        &mock,
        "cloudflare",
        &env,
        &["set-ns", "example.com", "ns1.openova.io", "ns2.openova.io"],
    );
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("transfer"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(&mock, "cloudflare", &env, &["get-ds", "example.com"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");

    let out = cli(
        &mock,
        "cloudflare",
        &[("CLOUDFLARE_API_TOKEN", "nope")],
        &["validate"],
    );
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn help_lists_the_environment_variables() {
    let out = Command::new(env!("CARGO_BIN_EXE_registrar-cli"))
        .arg("--help")
        .output()
        .unwrap();
    let help = text(&out.stdout);
    for var in [
        "CLOUDFLARE_API_TOKEN",
        "NAMECHEAP_CLIENT_IP",
        "GODADDY_API_SECRET",
        "OVH_CONSUMER_KEY",
        "DYNADOT_API_KEY",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
}
