//! poolmgr over a fleet: the real poolmgr writing through a dnsd primary's
//! API, and watching the fleet's name servers over DNS: the primary itself
//! and a dnsd secondary of the pool zone (NOTIFY and IXFR from the
//! primary).
//!
//! The secondary has the pool zone only; child zones reach edges through
//! catalog zones, which this file does not set up. So the secondary is the
//! "edge that never serves the child" of the commit-wait time-out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::http::wait_http;
use e2e::{Query, Server, flag, free_port, rcode, scratch_dir, wait_until};
use hickory_proto::rr::RecordType;
use serde_json::Value;

use crate::poolmgr::{
    DNS_KEY, OPERATOR, POOL, Poolmgr, PoolmgrConfig, a_records, database, localhost,
};

/// A dnsd primary with the API, transfers to loopback and NOTIFY to the
/// secondary's port; plus that secondary, started on demand.
struct Fleet {
    primary: Server,
    api: SocketAddr,
    secondary_port: u16,
    secondary_data: PathBuf,
    secondary: Option<Server>,
}

impl Fleet {
    fn start() -> Fleet {
        let secondary_port = free_port(localhost());
        let api = SocketAddr::new(localhost(), free_port(localhost()));
        let primary = Server::builder()
            .api(api, DNS_KEY, &scratch_dir("fleet-primary"))
            .args([
                "--allow-transfer".to_string(),
                "127.0.0.0/8".into(),
                "--also-notify".into(),
                format!("127.0.0.1:{secondary_port}"),
            ])
            .probe(".")
            .start();
        wait_http(api);
        Fleet {
            primary,
            api,
            secondary_port,
            secondary_data: scratch_dir("fleet-secondary"),
            secondary: None,
        }
    }

    fn secondary_addr(&self) -> SocketAddr {
        SocketAddr::new(localhost(), self.secondary_port)
    }

    /// The secondary of the pool zone (once poolmgr has created it).
    fn start_secondary(&mut self) {
        self.secondary = Some(
            Server::builder()
                .port(self.secondary_port)
                .args([
                    "--secondary".to_string(),
                    format!("{POOL}={}", self.primary.addr()),
                    "--data-dir".into(),
                    self.secondary_data.display().to_string(),
                ])
                .probe(".")
                .start(),
        );
    }

    fn stop_secondary(&mut self) {
        self.secondary = None;
    }
}

fn poolmgr(fleet: &Fleet, env: &[(&str, String)]) -> Poolmgr {
    Poolmgr::start(&PoolmgrConfig {
        database_url: database("sqlite").expect("sqlite"),
        pdns: fleet.api,
        extra_env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    })
}

fn reserve_token(pm: &Poolmgr, sub: &str) -> String {
    let r = pm.reserve(sub);
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["reservationToken"].as_str().unwrap().to_string()
}

/// The pool's entry of a fleet report.
fn pool_entry(report: &Value) -> &Value {
    &report["pools"][POOL]
}

/// The entry of `addr` in a pool's fleet report.
fn nameserver_entry(report: &Value, addr: SocketAddr) -> Value {
    pool_entry(report)["nameservers"]
        .as_array()
        .expect("nameservers")
        .iter()
        .find(|n| n["address"] == addr.to_string())
        .unwrap_or_else(|| panic!("{addr} not in {report}"))
        .clone()
}

/// `GET /fleet`: status and body.
fn fleet_report(pm: &Poolmgr) -> (u16, Value) {
    let r = pm.get("/fleet", None);
    (r.status, r.json())
}

#[test]
fn fleet_report_shows_current_then_lagging_name_servers() {
    let mut fleet = Fleet::start();
    let primary = fleet.primary.addr();
    let secondary = fleet.secondary_addr();
    let pm = poolmgr(
        &fleet,
        &[(
            "POOLMGR_FLEET_NAMESERVERS",
            format!("{primary}, {secondary}"),
        )],
    );
    fleet.start_secondary();

    // Without the fleet setting /fleet is 404; with it, it follows the zone.
    wait_until(
        Duration::from_secs(15),
        "the secondary serves the pool zone's serial",
        || fleet_report(&pm).0 == 200,
    );
    let sub = "fleetcheck";
    let token = reserve_token(&pm, sub);
    let commit = pm.commit(sub, &token, "192.0.2.40");
    assert_eq!(commit.status, 200, "{}", commit.body);
    // The reserve's delegation moved the pool zone's serial; the report
    // reaches "current" again only when the secondary has followed.
    let mut last = Value::Null;
    wait_until(
        Duration::from_secs(15),
        "both name servers current after the commit",
        || {
            let r = pm.get("/healthz", None);
            assert_eq!(r.status, 200, "{}", r.body);
            last = r.json()["fleet"].clone();
            last["status"] == "current"
        },
    );
    let serial = pool_entry(&last)["serial"]
        .as_u64()
        .expect("primary serial");
    for addr in [primary, secondary] {
        let ns = nameserver_entry(&last, addr);
        assert_eq!(ns["current"], true, "{last}");
        assert_eq!(ns["serial"].as_u64(), Some(serial), "{last}");
    }
    assert_eq!(pool_entry(&last)["current"], 2, "{last}");
    assert_eq!(pool_entry(&last)["total"], 2, "{last}");
    assert_eq!(last["lagging"], 0);
    // The serial is what the primary serves over DNS.
    let soa = fleet.primary.udp(&Query::new(POOL, RecordType::SOA));
    let served: u64 = soa.answer()[0]
        .2
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        served >= serial,
        "primary serves {served}, report says {serial}"
    );

    // The secondary dies: /fleet fails, /healthz stays 200 and says why.
    fleet.stop_secondary();
    let mut report = Value::Null;
    wait_until(
        Duration::from_secs(10),
        "/fleet reports the dead secondary",
        || {
            let (status, body) = fleet_report(&pm);
            report = body;
            status == 503
        },
    );
    assert_eq!(report["status"], "lagging", "{report}");
    assert_eq!(report["lagging"], 1, "{report}");
    assert_eq!(nameserver_entry(&report, primary)["current"], true);
    let dead = nameserver_entry(&report, secondary);
    assert_eq!(dead["current"], false, "{report}");
    let error = dead["error"].as_str().unwrap_or_default();
    assert!(
        error == "timeout" || error.starts_with("network:"),
        "{report}"
    );
    let health = pm.get("/healthz", None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["fleet"]["status"], "lagging");
    assert_eq!(health.json()["status"], "ok");
}

#[test]
fn healthz_has_no_fleet_and_fleet_is_404_without_name_servers() {
    let fleet = Fleet::start();
    let pm = poolmgr(&fleet, &[]);
    let health = pm.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert!(health.json().get("fleet").is_none(), "{}", health.body);
    let r = pm.get("/fleet", None);
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["error"], "fleet-not-configured");
}

#[test]
fn commit_waits_for_the_fleet_and_answers_202_when_it_does_not_serve_the_child() {
    let mut fleet = Fleet::start();
    let primary = fleet.primary.addr();
    let secondary = fleet.secondary_addr();

    // N=1 over the primary alone: the commit returns once the child answers.
    let on_primary = poolmgr(
        &fleet,
        &[
            ("POOLMGR_FLEET_NAMESERVERS", primary.to_string()),
            ("POOLMGR_COMMIT_WAIT", "1".into()),
        ],
    );
    fleet.start_secondary();
    let sub = "waited";
    let child = format!("{sub}.{POOL}.");
    let token = reserve_token(&on_primary, sub);
    let commit = on_primary.commit(sub, &token, "192.0.2.41");
    assert_eq!(commit.status, 200, "{}", commit.body);
    let soa = fleet.primary.udp(&Query::new(&child, RecordType::SOA));
    assert_eq!(soa.rcode(), rcode::NOERROR);
    assert!(soa.has(flag::AA), "child SOA not authoritative");
    let a = fleet.primary.udp(&Query::new(&child, RecordType::A));
    assert_eq!(a_records(&a, &child), ["192.0.2.41"]);

    // N=1 over the pool-zone secondary, which never has the child zone:
    // the wait times out with PDM's "committed, DNS not done" 202.
    let timeout = Duration::from_millis(1500);
    let on_edge = poolmgr(
        &fleet,
        &[
            ("POOLMGR_FLEET_NAMESERVERS", secondary.to_string()),
            ("POOLMGR_COMMIT_WAIT", "1".into()),
            ("POOLMGR_COMMIT_WAIT_TIMEOUT", "1500ms".into()),
        ],
    );
    let sub = "unserved";
    let child = format!("{sub}.{POOL}.");
    let token = reserve_token(&on_edge, sub);
    let started = Instant::now();
    let commit = on_edge.commit(sub, &token, "192.0.2.42");
    let took = started.elapsed();
    assert_eq!(commit.status, 202, "{}", commit.body);
    assert!(took >= timeout, "answered after {took:?}");
    assert!(
        took < timeout + Duration::from_secs(3),
        "answered after {took:?}"
    );
    let body = commit.json();
    assert_eq!(body["state"], "active", "{body}");
    assert_eq!(body["loadBalancerIP"], "192.0.2.42");
    assert!(body.get("reservationToken").is_none());
    assert!(
        body["warning"].as_str().unwrap().contains("retry commit"),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&secondary.to_string()), "{detail}");
    assert!(detail.contains("0 of 1"), "{detail}");
    // The secondary answers from the pool zone: a referral to the child
    // (or NXDOMAIN before the delegation reached it), never the child.
    assert!(
        detail.ends_with(&format!("{secondary}: not authoritative"))
            || detail.ends_with(&format!("{secondary}: NXDOMAIN")),
        "{detail}"
    );
    assert!(
        on_edge.log_text().contains(&secondary.to_string()),
        "the lagging name server is not logged: {}",
        on_edge.log_text()
    );

    // Nothing is lost: the row is active and the primary serves the records.
    let row = on_edge.get(
        &format!("/api/v1/pool/{POOL}/allocation/{sub}"),
        Some(OPERATOR),
    );
    assert_eq!(row.status, 200, "{}", row.body);
    assert_eq!(row.json()["state"], "active");
    let a = fleet.primary.udp(&Query::new(&child, RecordType::A));
    assert_eq!(a_records(&a, &child), ["192.0.2.42"]);

    // A retry with the same token re-applies and waits again; another
    // token is still "already active".
    let started = Instant::now();
    let retry = on_edge.commit(sub, &token, "192.0.2.42");
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert!(
        started.elapsed() >= timeout,
        "retry answered after {:?}",
        started.elapsed()
    );
    let other = on_edge.commit(sub, "6f1c1bde-0d7e-4a43-9a59-0c6f1f5b2d11", "192.0.2.42");
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.json()["error"], "already-active");
}

#[test]
fn a_commit_wait_beyond_the_listed_name_servers_stops_start_up() {
    let out = std::process::Command::new(e2e::workspace_bin("poolmgr", "POOLMGR_BIN"))
        .env_clear()
        .env("PDM_DATABASE_URL", "sqlite://unused.db")
        .env("PDM_PDNS_BASE_URL", "http://127.0.0.1:9")
        .env("PDM_PDNS_API_KEY", DNS_KEY)
        .env("POOLMGR_FLEET_NAMESERVERS", "127.0.0.1:5300")
        .env("POOLMGR_COMMIT_WAIT", "2")
        .output()
        .expect("run poolmgr");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("POOLMGR_COMMIT_WAIT") && stderr.contains("lists 1 name server"),
        "{stderr}"
    );
    // A malformed list is refused by the flag parser, naming the entry.
    let out = std::process::Command::new(e2e::workspace_bin("poolmgr", "POOLMGR_BIN"))
        .env_clear()
        .env("PDM_DATABASE_URL", "sqlite://unused.db")
        .env("PDM_PDNS_BASE_URL", "http://127.0.0.1:9")
        .env("PDM_PDNS_API_KEY", DNS_KEY)
        .env("POOLMGR_FLEET_NAMESERVERS", "ns1.example:53")
        .output()
        .expect("run poolmgr");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"ns1.example:53\" is not ADDR:PORT"),
        "{stderr}"
    );
}
