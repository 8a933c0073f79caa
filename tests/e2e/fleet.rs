//! A whole fleet on loopback (replication.md §4, §5, §7; issue item 5): a dnsd primary
//! with the API over TLS, a catalog zone and online DNSSEC; two dnsd edges consuming the
//! catalog and fetching the zone keys from the primary's API; one Knot secondary
//! consuming the same catalog and receiving the zones conventionally signed; poolmgr
//! allocating names through the primary.
//!
//! What is checked:
//! - a reserve and commit through poolmgr is answered by every dnsd edge (the six
//!   records) within 2 s of the commit's HTTP 200, and by Knot; the child's DNSKEY/DS
//!   chain validates in unbound from the pool zone's DS alone, against each edge and
//!   against Knot; a LUA record in the child answers after each edge's own health view;
//!   a release makes every node stop serving the child;
//! - an edge killed with SIGKILL during a burst of 50 allocations serves its stored
//!   copies at once after the restart and catches up with everything;
//! - the primary killed with SIGKILL and restarted during a burst loses no change it
//!   acknowledged: every allocation poolmgr answered 200 is served everywhere afterwards
//!   (and those it answered 202, "DNS not done yet", arrive too).
//!
//! **Per-edge health.** Both edges share the machine, so both reach the same listeners.
//! The difference comes from dnsd's `--lua-health-deny`: edge 2 runs with
//! `--lua-health-deny 127.0.77.2/32`, so its checker never connects there and counts
//! the target down, while edge 1 reaches the real listener on 127.0.77.2. One LUA record
//! `ifportup(PORT, {'127.0.77.1', '127.0.77.2'}, {selector='all'})` then answers both
//! addresses on edge 1 and only 127.0.77.1 on edge 2, deterministically, without network
//! namespaces or root. Each edge's `/api/v1/health-checks` and `/metrics` show its own
//! view.
//!
//! **TLS and poolmgr.** The edges fetch keys over TLS, checked against a test authority
//! (`e2e::tls_loopback`). poolmgr's HTTP client trusts only the public web roots, so it
//! reaches the primary's API through a forwarder that does the TLS (and the
//! certificate check) for it; the test's own API calls go the same way.
//!
//! Every wait is bounded; the servers are killed when a test ends (they are children of
//! the test process, killed with it too).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use e2e::fleet::{
    Fleet, FleetOptions, POOL, Poolmgr, a_records, a_set, answers_allocation, answers_apex,
    six_names, stopped_serving, tail,
};
use e2e::unbound::Unbound;
use e2e::{flag, free_port, rcode};
use hickory_proto::rr::RecordType;
use serde_json::json;

/// The LUA record's targets: both listen; edge 2 may not check the second.
const TARGET_SHARED: &str = "127.0.77.1";
const TARGET_DENIED_ON_EDGE2: &str = "127.0.77.2";
/// From the commit's 200 to every dnsd edge answering (issue item 5).
const EDGE_ANSWER: Duration = Duration::from_secs(2);
/// Knot applies a catalog change by reconfiguring, then transfers each member: a few
/// seconds on a loaded 2-CPU machine.
const KNOT_ANSWER: Duration = Duration::from_secs(10);
/// Catching up after a fault: 50 allocations, a catalog refresh and their transfers.
const CONVERGE: Duration = Duration::from_secs(40);
/// A LUA answer after the record arrives: first query registers the checks, one
/// round (1 s interval) brings the result.
const HEALTH_SETTLE: Duration = Duration::from_secs(10);
/// Allocations in a burst.
const BURST: usize = 50;

fn localhost() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

//----------- a TCP health-check target -----------------------------------------------------

/// A TCP listener that accepts and closes connections until dropped.
struct PortTarget {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PortTarget {
    fn start(ip: &str, port: u16) -> PortTarget {
        let ip: Ipv4Addr = ip.parse().expect("IPv4 target");
        let listener = TcpListener::bind((ip, port))
            .unwrap_or_else(|e| panic!("listen on {ip}:{port} for the health target: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        PortTarget {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PortTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port free for TCP on both LUA targets.
fn target_port() -> u16 {
    loop {
        let port = free_port(localhost());
        let free = [TARGET_SHARED, TARGET_DENIED_ON_EDGE2]
            .iter()
            .all(|ip| TcpListener::bind((ip.parse::<Ipv4Addr>().expect("IPv4"), port)).is_ok());
        if free {
            return port;
        }
    }
}

//----------- tests -----------------------------------------------------------------------------

/// Commit → every edge answers within 2 s and validates; LUA per edge health; release
/// → gone everywhere.
#[test]
fn fleet_commit_answers_everywhere_validates_and_release_removes_it() {
    let fleet = Fleet::start(
        "lifecycle",
        &FleetOptions {
            commit_wait: 2,
            knot: true,
            edge2_health_deny: vec![format!("{TARGET_DENIED_ON_EDGE2}/32")],
        },
    );
    let knot = fleet.knot.as_ref().expect("knot").addr();
    let pm = &fleet.poolmgr;
    let sub = "omantel";
    let child = format!("{sub}.{POOL}");
    let ip = "203.0.113.7";

    let r = pm.reserve(sub);
    assert_eq!(r.status, 201, "reserve: {}\n{}", r.body, fleet.logs());
    let token = r.json()["reservationToken"]
        .as_str()
        .expect("reservation token")
        .to_string();
    // The 2 s run from the commit request: with POOLMGR_COMMIT_WAIT=2 poolmgr answers
    // 200 only once both edges serve the records, so the wait is inside the call.
    let sent = Instant::now();
    let c = pm.commit(sub, &token, ip);
    let commit_took = sent.elapsed();
    assert_eq!(c.status, 200, "commit: {}\n{}", c.body, fleet.logs());
    for (name, addr) in fleet.dnsd_edges() {
        let took = fleet.wait_for(
            &format!(
                "{name} answers the six records of {child} within {EDGE_ANSWER:?} of the commit"
            ),
            EDGE_ANSWER.saturating_sub(sent.elapsed()),
            || answers_allocation(addr, &child, ip),
        );
        eprintln!(
            "fleet: {name} answered {child} {took:?} after the commit's 200 ({commit_took:?} after the request)"
        );
    }
    let took = fleet.wait_for(
        &format!("knot answers the six records of {child}"),
        KNOT_ANSWER,
        || answers_allocation(knot, &child, ip),
    );
    eprintln!("fleet: knot answered {child} {took:?} after the commit's 200");

    // A LUA record in the child, answered after each edge's own health checks.
    let port = target_port();
    let _targets = [
        PortTarget::start(TARGET_SHARED, port),
        PortTarget::start(TARGET_DENIED_ON_EDGE2, port),
    ];
    let lb = format!("lb.{child}.");
    let lua = format!(
        "A \"ifportup({port}, {{'{TARGET_SHARED}', '{TARGET_DENIED_ON_EDGE2}'}}, {{selector='all'}})\""
    );
    let patch = fleet.primary_api(
        "PATCH",
        &format!("/api/v1/servers/localhost/zones/{child}."),
        Some(json!({ "rrsets": [{
            "name": lb, "type": "LUA", "ttl": 30, "changetype": "REPLACE",
            "records": [{ "content": lua, "disabled": false }],
        }]})),
    );
    assert_eq!(
        patch.status,
        204,
        "PATCH LUA: {}\n{}",
        patch.body,
        fleet.logs()
    );
    let both: BTreeSet<String> = [TARGET_SHARED, TARGET_DENIED_ON_EDGE2]
        .map(String::from)
        .into();
    let shared_only: BTreeSet<String> = [TARGET_SHARED.to_string()].into();
    let expected = [(&fleet.edges[0], both), (&fleet.edges[1], shared_only)];
    for (edge, want) in &expected {
        fleet.wait_for(
            &format!(
                "{} answers {lb} with {want:?} (its own health view)",
                edge.name
            ),
            HEALTH_SETTLE,
            || a_set(edge.dns, &lb) == *want,
        );
    }
    // Each edge reports its own checks: 127.0.77.2 up on edge 1, down on edge 2.
    let denied_target = format!("{TARGET_DENIED_ON_EDGE2}:{port}");
    for (edge, up) in [(&fleet.edges[0], true), (&fleet.edges[1], false)] {
        let checks = edge.api_get("/api/v1/health-checks");
        assert_eq!(checks.status, 200, "{}: {}", edge.name, checks.body);
        let status = checks.json()["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["target"] == denied_target.as_str())
            .map(|c| c["status"].as_str().unwrap_or_default().to_string());
        assert_eq!(
            status.as_deref(),
            Some(if up { "up" } else { "down" }),
            "{}'s health check of {denied_target}: {}",
            edge.name,
            checks.body
        );
        let metrics = edge.api_get("/metrics").body;
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("dnsd_lua_health_check_up{") && l.contains(denied_target.as_str())
            })
            .unwrap_or_else(|| panic!("{}: no health metric for {denied_target}", edge.name));
        assert!(
            line.ends_with(if up { " 1" } else { " 0" }),
            "{}: {line}",
            edge.name
        );
    }

    // unbound, trusting only the pool zone's DS, against each node in turn. Failures are
    // collected and reported at the end, so one node's fault does not hide the release
    // checks below.
    let ds = pm.pool_ds();
    let stubs = [format!("{POOL}."), format!("{child}.")];
    let stub_refs: Vec<&str> = stubs.iter().map(String::as_str).collect();
    let mut not_validated = Vec::new();
    for (name, addr) in fleet.nameservers() {
        let unbound = Unbound::start(addr, &format!("{POOL}."), &ds, &stub_refs, false);
        let mut questions = vec![(format!("{child}."), RecordType::DNSKEY)];
        questions.extend(six_names(&child).map(|host| (host, RecordType::A)));
        // LUA answers are signed online by the edges; Knot holds the record as data.
        if name.starts_with("edge") {
            questions.push((lb.clone(), RecordType::A));
        }
        for (qname, qtype) in questions {
            let r = unbound.ask(&qname, qtype);
            let expected = match qtype {
                RecordType::A if qname != lb => a_records(&r, &qname) == [ip],
                _ => r.answer().iter().any(|(_, t, _)| *t == qtype.to_string()),
            };
            if !(r.rcode() == rcode::NOERROR && r.has(flag::AD) && expected) {
                // The first failure per node, with unbound's reasons.
                not_validated.push(format!(
                    "{qname} {qtype} through {name} does not validate from the pool's DS:\n{}\n\
                     --- unbound ---\n{}",
                    r.summary(),
                    tail(&unbound.log(), 12)
                ));
                break;
            }
        }
    }

    let rel = pm.release(sub);
    assert_eq!(rel.status, 200, "release: {}\n{}", rel.body, fleet.logs());
    for (name, addr) in fleet.dnsd_edges() {
        fleet.wait_for(
            &format!("{name} stops serving {child}"),
            EDGE_ANSWER,
            || stopped_serving(addr, &child),
        );
    }
    fleet.wait_for("knot stops serving the child", KNOT_ANSWER, || {
        stopped_serving(knot, &child)
    });
    assert!(not_validated.is_empty(), "{}", not_validated.join("\n"));
}

/// Bursts: commit waits for one edge (the other may be down), Knot takes part.
fn burst_options() -> FleetOptions {
    FleetOptions {
        commit_wait: 1,
        knot: true,
        edge2_health_deny: Vec::new(),
    }
}

/// `burst-NN` and the address its records point at.
fn burst_allocation(i: usize) -> (String, String) {
    (format!("burst-{i:02}"), format!("198.51.100.{}", i + 1))
}

/// Starts `BURST` allocations on a thread; `done` counts the finished ones. The
/// thread returns each allocation's (reserve, commit) statuses.
fn start_burst(pm: Arc<Poolmgr>, done: Arc<AtomicUsize>) -> thread::JoinHandle<Vec<(u16, u16)>> {
    thread::spawn(move || {
        (0..BURST)
            .map(|i| {
                let (sub, ip) = burst_allocation(i);
                let statuses = pm.allocate(&sub, &ip);
                done.fetch_add(1, Ordering::SeqCst);
                statuses
            })
            .collect()
    })
}

/// Waits (bounded) until `done` reaches `n`.
fn wait_done(fleet: &Fleet, done: &AtomicUsize, n: usize) {
    fleet.wait_for(&format!("{n} allocations done"), CONVERGE, || {
        done.load(Ordering::SeqCst) >= n
    });
}

/// The allocations whose reserve (201) and commit (200) were both acknowledged.
fn acknowledged(statuses: &[(u16, u16)]) -> Vec<usize> {
    (0..statuses.len())
        .filter(|&i| statuses[i] == (201, 200))
        .collect()
}

/// Waits until `addr` serves every allocation in `which`; the ones still missing.
fn missing_after(addr: SocketAddr, which: &[usize], within: Duration) -> Vec<usize> {
    let start = Instant::now();
    loop {
        let missing: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| {
                let (sub, ip) = burst_allocation(i);
                !answers_apex(addr, &format!("{sub}.{POOL}"), &ip)
            })
            .collect();
        if missing.is_empty() || start.elapsed() > within {
            return missing;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until every node serves every allocation in `which`.
fn wait_converged(fleet: &Fleet, which: &[usize], what: &str) {
    let start = Instant::now();
    for (name, addr) in fleet.nameservers() {
        let missing = missing_after(addr, which, CONVERGE.saturating_sub(start.elapsed()));
        assert!(
            missing.is_empty(),
            "{name} does not serve {what} {missing:?} {CONVERGE:?} after the burst\n{}",
            fleet.logs()
        );
    }
    eprintln!(
        "fleet: every node serves the {} {what} {:?} after the burst",
        which.len(),
        start.elapsed()
    );
}

/// An edge killed with SIGKILL during a burst serves its stored copies at once when it
/// comes back, and then catches up with everything.
#[test]
fn fleet_edge_killed_during_a_burst_converges_after_restart() {
    // Commit waits for one edge: the other is down for part of the burst.
    let mut fleet = Fleet::start("edge-kill", &burst_options());
    let done = Arc::new(AtomicUsize::new(0));
    let worker = start_burst(fleet.poolmgr.clone(), done.clone());
    wait_done(&fleet, &done, 10);
    // The first ten, once edge 1 serves them (commit waited for one edge, maybe the
    // other): what it must serve from its stored copies after the restart.
    let before_kill: Vec<usize> = (0..10).collect();
    let missing = missing_after(fleet.edges[0].dns, &before_kill, EDGE_ANSWER);
    assert!(
        missing.is_empty(),
        "edge 1 lags: {missing:?}\n{}",
        fleet.logs()
    );
    fleet.edges[0].kill9();
    wait_done(&fleet, &done, 25);
    fleet.edges[0].start();
    let edge = fleet.edges[0].dns;
    let missing = missing_after(edge, &before_kill, Duration::from_secs(1));
    assert!(
        missing.is_empty(),
        "edge 1 does not serve {missing:?} (allocated before it was killed) at once after \
         its restart\n{}",
        fleet.logs()
    );
    let statuses = join_burst(&fleet, worker);
    let acked = acknowledged(&statuses);
    assert_eq!(
        acked.len(),
        BURST,
        "with the primary up every allocation is acknowledged: {statuses:?}\n{}",
        fleet.logs()
    );
    wait_converged(&fleet, &acked, "allocations");
}

/// Joins the burst thread within [`CONVERGE`] (each request is bounded by the HTTP
/// client's timeout, so a stuck poolmgr fails the test rather than hanging it).
fn join_burst(fleet: &Fleet, worker: thread::JoinHandle<Vec<(u16, u16)>>) -> Vec<(u16, u16)> {
    fleet.wait_for("the burst to finish", CONVERGE * 2, || worker.is_finished());
    worker.join().expect("burst thread")
}

/// The primary killed with SIGKILL mid-burst and restarted on the same data: no change
/// it acknowledged is lost on any node.
#[test]
fn fleet_primary_restarted_mid_burst_loses_no_acknowledged_change() {
    let mut fleet = Fleet::start("primary-restart", &burst_options());
    let done = Arc::new(AtomicUsize::new(0));
    let worker = start_burst(fleet.poolmgr.clone(), done.clone());
    wait_done(&fleet, &done, 15);
    fleet.primary.kill9();
    thread::sleep(Duration::from_millis(500));
    fleet.primary.start();
    let statuses = join_burst(&fleet, worker);
    let acked = acknowledged(&statuses);
    assert!(
        acked.len() >= 15,
        "the allocations before the kill were acknowledged: {statuses:?}\n{}",
        fleet.logs()
    );
    wait_converged(&fleet, &acked, "acknowledged allocations");
    // Accepted with 202 ("DNS not done yet"): poolmgr's worker finishes them.
    let accepted: Vec<usize> = (0..BURST)
        .filter(|&i| statuses[i].0 == 201 && statuses[i].1 == 202)
        .collect();
    eprintln!(
        "fleet: {} acknowledged (200), {} accepted (202), statuses {statuses:?}",
        acked.len(),
        accepted.len()
    );
    wait_converged(&fleet, &accepted, "accepted (202) allocations");
}
