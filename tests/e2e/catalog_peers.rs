//! Catalog zones across vendors (replication.md §5, §7): Knot and BIND consume the catalog
//! dnsd produces, and dnsd consumes catalogs that Knot generates and BIND serves. Every
//! side uses the TSIG key for the catalog and for every member.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use e2e::http::wait_http;
use e2e::peers::{CatalogSetup, Peer, TsigSpec, reserve_addr};
use e2e::{Query, Server, free_port, scratch_dir};
use hickory_proto::rr::RecordType;

use super::catalog::{
    API_KEY, CATALOG, KEY_NAME, SECRET, create_zone, delete_zone, serves, tsig_flag,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn tsig() -> TsigSpec {
    TsigSpec::hmac_sha256(&format!("{KEY_NAME}."), SECRET)
}

fn member_text(zone: &str, serial: u32) -> String {
    format!(
        "$ORIGIN {zone}\n$TTL 300\n@ IN SOA ns1 hostmaster {serial} 3600 600 86400 60\n\
         @ IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.7\n"
    )
}

/// Waits until `check` holds; panics with `log()` otherwise.
fn wait(within: Duration, what: &str, check: impl Fn() -> bool, log: impl Fn() -> String) {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {within:?}\n{}", log());
}

/// A dnsd primary producing the catalog over its API zones, NOTIFYing `notify`.
fn dnsd_producer(notify: SocketAddr) -> (Server, SocketAddr) {
    let data = scratch_dir("catalog-peer-producer");
    let api = SocketAddr::new(LOCALHOST, free_port(LOCALHOST));
    let server = Server::builder()
        .api(api, API_KEY, &data)
        .args([
            "--catalog".to_string(),
            CATALOG.into(),
            "--tsig-key".into(),
            tsig_flag(),
            "--allow-transfer".into(),
            format!("127.0.0.0/8:{KEY_NAME}"),
            "--also-notify".into(),
            format!("{notify}:{KEY_NAME}"),
        ])
        .probe(".")
        .start();
    wait_http(api);
    (server, api)
}

fn third_party_consumes_dnsd_catalog(
    vendor: &str,
    setup: impl Fn(SocketAddr) -> CatalogSetup<'static>,
) {
    let peer_addr = reserve_addr();
    let (p, api) = dnsd_producer(peer_addr);
    create_zone(api, "k1.test.");
    create_zone(api, "k2.test.");
    let peer = Peer::catalog(peer_addr, CATALOG, setup(p.addr()), &tsig());
    let log = || {
        format!(
            "--- {vendor} ---\n{}\n--- dnsd ---\n{}",
            peer.log(),
            p.stderr()
        )
    };
    wait(
        Duration::from_secs(20),
        "members served by the consumer",
        || peer.serves("k1.test.") && peer.serves("k2.test."),
        log,
    );
    // Added on dnsd: NOTIFY brings the catalog change, the consumer adds the member.
    create_zone(api, "k3.test.");
    wait(
        Duration::from_secs(20),
        "new member served",
        || peer.serves("k3.test."),
        log,
    );
    delete_zone(api, "k1.test.");
    wait(
        Duration::from_secs(20),
        "removed member no longer served",
        || !peer.serves("k1.test."),
        log,
    );
    assert!(peer.serves("k2.test."), "{}", log());
}

#[test]
fn knot_consumes_the_catalog_dnsd_produces() {
    third_party_consumes_dnsd_catalog("knot", |primary| CatalogSetup::KnotConsumer { primary });
}

#[test]
fn bind_consumes_the_catalog_dnsd_produces() {
    third_party_consumes_dnsd_catalog("bind", |primary| CatalogSetup::BindConsumer { primary });
}

/// A dnsd consumer of the catalog at `primary`, on `port`.
fn dnsd_consumer(port: u16, primary: SocketAddr) -> Server {
    let data = scratch_dir("catalog-peer-consumer");
    Server::builder()
        .port(port)
        .args([
            "--tsig-key".to_string(),
            tsig_flag(),
            "--catalog-consumer".into(),
            format!("{CATALOG}={primary}:{KEY_NAME}"),
            "--data-dir".into(),
            data.display().to_string(),
        ])
        .probe(".")
        .start()
}

fn dnsd_serves_members(c: &Server, peer: &Peer, members: &[&str]) {
    let log = || format!("--- dnsd ---\n{}\n--- peer ---\n{}", c.stderr(), peer.log());
    wait(
        Duration::from_secs(20),
        "members served by dnsd",
        || members.iter().all(|m| serves(c, m)),
        log,
    );
    for member in members {
        let r = c.udp(&Query::new(&format!("www.{member}"), RecordType::A));
        assert_eq!(r.answer().len(), 1, "www.{member}\n{}", log());
    }
}

#[test]
fn dnsd_consumes_a_catalog_knot_generates() {
    let port = free_port(LOCALHOST);
    let members = [
        ("g1.test.", member_text("g1.test.", 1)),
        ("g2.test.", member_text("g2.test.", 1)),
    ];
    let notify = [SocketAddr::new(LOCALHOST, port)];
    let knot = Peer::catalog(
        reserve_addr(),
        CATALOG,
        CatalogSetup::KnotProducer {
            members: &members,
            notify: &notify,
        },
        &tsig(),
    );
    let c = dnsd_consumer(port, knot.addr());
    dnsd_serves_members(&c, &knot, &["g1.test.", "g2.test."]);
}

#[test]
fn dnsd_consumes_a_catalog_bind_serves() {
    let port = free_port(LOCALHOST);
    // Written by hand, ids of the writer's choosing (RFC 9432 §4.3).
    let catalog_text = format!(
        "$ORIGIN {CATALOG}\n$TTL 0\n@ IN SOA invalid. invalid. 1 3600 600 86400 0\n\
         @ IN NS invalid.\nversion IN TXT \"2\"\n\
         first.zones IN PTR b1.test.\nsecond.zones IN PTR b2.test.\n\
         group.second.zones IN TXT \"ignored\"\n"
    );
    let members = [
        ("b1.test.", member_text("b1.test.", 1)),
        ("b2.test.", member_text("b2.test.", 1)),
    ];
    let notify = [SocketAddr::new(LOCALHOST, port)];
    let bind = Peer::catalog(
        reserve_addr(),
        CATALOG,
        CatalogSetup::BindPrimary {
            catalog_text,
            members: &members,
            notify: &notify,
        },
        &tsig(),
    );
    let c = dnsd_consumer(port, bind.addr());
    dnsd_serves_members(&c, &bind, &["b1.test.", "b2.test."]);
}
