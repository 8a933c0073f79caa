//! Fleet benchmarks (issue item 6, `bench/fleet.sh`): the fleet of the end-to-end test
//! (`e2e::fleet`: a dnsd primary with the API over TLS, a catalog and DNSSEC, two dnsd
//! edges consuming the catalog, poolmgr), measured. Three subcommands:
//!
//! - `converge`: `--count` allocations through poolmgr, one at a time; for each, the
//!   time from the commit's HTTP 200 until the last edge answers the child's apex A
//!   (polled over UDP every 0.5 ms), and the commit's own latency.
//! - `catalog`: a primary serving `--members` small file zones listed in its catalog;
//!   a fresh dnsd edge, then a fresh Knot, consume the catalog from scratch: time from
//!   the consumer's start until it answers every member's SOA, and its peak RSS
//!   (VmHWM).
//! - `cpu`: DO=1 queries for a signed child's names (closed loop, `dnsload`) against
//!   the primary, then against an edge: CPU time of the server process (utime + stime
//!   from /proc) per answer.
//!
//! Each prints progress on stderr and `CSV,...` lines on stdout. Every wait is bounded;
//! every server is stopped on exit (children of this process). Loopback only.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use e2e::fleet::{
    CATALOG, Fleet, FleetOptions, POOL, answers_apex, fleet_tsig, knot_tsig, knot_tsig_spec,
    serves_zone,
};
use e2e::peers::{Peer, reserve_addr};
use e2e::{Server, scratch_dir};

#[derive(Parser)]
#[command(
    about = "Fleet benchmarks: commit-to-edge time, catalog consumption, CPU per signed answer"
)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Time from poolmgr's commit (HTTP 200) to the last edge answering.
    Converge {
        /// Allocations.
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// POOLMGR_COMMIT_WAIT (0: the commit returns after the primary's writes).
        #[arg(long, default_value_t = 0)]
        commit_wait: usize,
        /// An allocation no edge answers within this is counted as missed.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// A catalog of many members consumed from scratch by a dnsd edge and by Knot.
    Catalog {
        /// Member zones in the catalog.
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        /// Give up on a consumer after this long.
        #[arg(long, default_value_t = 600)]
        max_seconds: u64,
    },
    /// CPU per signed answer: primary against edge.
    Cpu {
        /// Seconds of load per server.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// The dnsload binary (default: next to this one).
        #[arg(long)]
        dnsload: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Mode::Converge {
            count,
            commit_wait,
            timeout_ms,
        } => converge(count, commit_wait, Duration::from_millis(timeout_ms)),
        Mode::Catalog {
            members,
            max_seconds,
        } => catalog(members, Duration::from_secs(max_seconds)),
        Mode::Cpu { seconds, dnsload } => cpu(seconds, dnsload),
    }
}

//----------- statistics ------------------------------------------------------------------------

/// The `p`-th percentile (0..=100) of sorted `v`, nearest rank; 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

//----------- converge --------------------------------------------------------------------------

fn converge(count: usize, commit_wait: usize, timeout: Duration) -> anyhow::Result<()> {
    let fleet = Fleet::start(
        "bench-converge",
        &FleetOptions {
            commit_wait,
            ..FleetOptions::default()
        },
    );
    let pm = &fleet.poolmgr;
    let edges: Vec<SocketAddr> = fleet.edges.iter().map(|e| e.dns).collect();
    let (mut to_last_edge, mut commit_latency) = (Vec::new(), Vec::new());
    let mut missed = 0;
    for i in 0..count {
        let sub = format!("c{i}");
        let ip = format!(
            "{}.{}",
            if i < 250 { "198.51.100" } else { "203.0.113" },
            i % 250 + 1
        );
        let r = pm.reserve(&sub);
        if r.status != 201 {
            bail!("reserve {sub}: {} {}", r.status, r.body);
        }
        let token = r.json()["reservationToken"]
            .as_str()
            .context("reservation token")?
            .to_string();
        let sent = Instant::now();
        let c = pm.commit(&sub, &token, &ip);
        let acked = Instant::now();
        if c.status != 200 {
            bail!("commit {sub}: {} {}", c.status, c.body);
        }
        commit_latency.push(ms(acked - sent));
        let child = format!("{sub}.{POOL}");
        let mut pending = edges.clone();
        while !pending.is_empty() && acked.elapsed() < timeout {
            pending.retain(|&edge| !answers_apex(edge, &child, &ip));
            if !pending.is_empty() {
                thread::sleep(Duration::from_micros(500));
            }
        }
        if pending.is_empty() {
            to_last_edge.push(ms(acked.elapsed()));
        } else {
            missed += 1;
        }
        if (i + 1) % 50 == 0 {
            eprintln!("converge: {} of {count}", i + 1);
        }
    }
    let edge = sorted(to_last_edge);
    let commit = sorted(commit_latency);
    println!(
        "CSV,converge,commit_wait={commit_wait},count={count},done={},missed={missed},\
         p50_ms={:.2},p99_ms={:.2},max_ms={:.2},commit_p50_ms={:.2},commit_p99_ms={:.2}",
        edge.len(),
        percentile(&edge, 50.0),
        percentile(&edge, 99.0),
        edge.last().copied().unwrap_or(0.0),
        percentile(&commit, 50.0),
        percentile(&commit, 99.0),
    );
    Ok(())
}

//----------- catalog ---------------------------------------------------------------------------

/// Member `i`'s origin.
fn member(i: usize) -> String {
    format!("m{i}.members.test.")
}

/// A dnsd primary serving `members` file zones of ten records each, all listed in its
/// catalog, transfers allowed with either key.
fn catalog_primary(dir: &Path, members: usize) -> anyhow::Result<Server> {
    let zones = dir.join("zones");
    fs::create_dir_all(&zones)?;
    let mut toml = String::new();
    for i in 0..members {
        let origin = member(i);
        let file = zones.join(format!("m{i}.zone"));
        fs::write(
            &file,
            format!(
                "$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 604800 300\n\
                 @ NS ns1\n@ NS ns2\nns1 A 127.0.0.1\nns2 A 127.0.0.2\n@ A 192.0.2.1\n\
                 www A 192.0.2.2\nmail A 192.0.2.3\n@ MX 10 mail\n@ TXT \"member {i}\"\n"
            ),
        )?;
        toml.push_str(&format!(
            "[[zone]]\norigin = \"{origin}\"\nfile = \"{}\"\ncatalog = true\n",
            file.display()
        ));
    }
    let config = dir.join("primary.toml");
    fs::write(&config, toml)?;
    let started = Instant::now();
    let primary = Server::builder()
        .args([
            "--config".to_string(),
            config.display().to_string(),
            "--catalog".into(),
            CATALOG.into(),
            "--tsig-key".into(),
            fleet_tsig(),
            "--tsig-key".into(),
            knot_tsig(),
            "--allow-transfer".into(),
            "127.0.0.0/8".into(),
            "--max-transfers".into(),
            "64".into(),
            "--data-dir".into(),
            dir.join("primary-data").display().to_string(),
        ])
        .probe(CATALOG)
        .start();
    if !serves_zone(primary.addr(), CATALOG) {
        bail!(
            "the primary does not serve {CATALOG}:\n{}",
            primary.context()
        );
    }
    eprintln!(
        "catalog: primary up with {members} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(primary)
}

/// Waits until `addr` answers every member's SOA; the time taken from `start`.
fn wait_all_members(
    addr: SocketAddr,
    members: usize,
    start: Instant,
    max: Duration,
) -> anyhow::Result<Duration> {
    let mut pending: Vec<usize> = (0..members).collect();
    let mut last_report = Instant::now();
    while !pending.is_empty() {
        if start.elapsed() > max {
            bail!(
                "{} of {members} members still not served after {max:?}",
                pending.len()
            );
        }
        pending.retain(|&i| !serves_zone(addr, &member(i)));
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "catalog: {} of {members} served after {:.1} s",
                members - pending.len(),
                start.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        if !pending.is_empty() {
            thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(start.elapsed())
}

/// Peak resident set (VmHWM) of the process `pid`, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn catalog(members: usize, max: Duration) -> anyhow::Result<()> {
    let dir = scratch_dir("bench-catalog");
    let primary = catalog_primary(&dir, members)?;

    // dnsd from scratch: an empty data directory.
    let start = Instant::now();
    let edge = Server::builder()
        .args([
            "--tsig-key".to_string(),
            fleet_tsig(),
            "--catalog-consumer".into(),
            format!("{CATALOG}={}:fleet", primary.addr()),
            "--data-dir".into(),
            dir.join("edge-data").display().to_string(),
        ])
        .probe(".")
        .start();
    let took = wait_all_members(edge.addr(), members, start, max)
        .with_context(|| format!("dnsd edge:\n{}", edge.context()))?;
    let rss = peak_rss_mib(edge.pid());
    eprintln!("catalog: dnsd consumed {members} members in {took:?}, peak RSS {rss:.1} MiB");
    println!(
        "CSV,catalog,consumer=dnsd,members={members},seconds={:.2},rss_mib={rss:.1}",
        took.as_secs_f64()
    );
    drop(edge);

    let start = Instant::now();
    let knot =
        Peer::knot_catalog_consumer(reserve_addr(), CATALOG, primary.addr(), &knot_tsig_spec());
    let took = wait_all_members(knot.addr(), members, start, max)
        .with_context(|| format!("knot:\n{}", knot.log()))?;
    let rss = peak_rss_mib(knot.pid());
    eprintln!("catalog: Knot consumed {members} members in {took:?}, peak RSS {rss:.1} MiB");
    println!(
        "CSV,catalog,consumer=knot,members={members},seconds={:.2},rss_mib={rss:.1}",
        took.as_secs_f64()
    );
    drop(knot);
    drop(primary);
    let _ = fs::remove_dir_all(&dir);
    Ok(())
}

//----------- cpu -------------------------------------------------------------------------------

/// utime + stime of `pid` (all its threads), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after the name.
    (ticks(11) + ticks(12)) / hz
}

/// The dnsload binary: `--dnsload`, else next to this executable.
fn dnsload_bin(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    let exe = std::env::current_exe()?;
    let p = exe.with_file_name("dnsload");
    if !p.is_file() {
        bail!(
            "{} not found; build it (cargo build --release -p bench)",
            p.display()
        );
    }
    Ok(p)
}

/// `dnsload` against `addr` for `seconds` with DO set; the number of answers.
fn load(dnsload: &Path, addr: SocketAddr, queries: &Path, seconds: f64) -> anyhow::Result<u64> {
    let out = Command::new(dnsload)
        .args(["-s", &addr.to_string(), "-d"])
        .arg(queries)
        .args([
            "-l",
            &seconds.to_string(),
            "-q",
            "64",
            "-c",
            "4",
            "--dnssec",
        ])
        .output()
        .context("run dnsload")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .with_context(|| {
            format!(
                "no RESULT from dnsload: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let answered = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("answered="))
        .and_then(|v| v.parse().ok())
        .context("answered= in RESULT")?;
    Ok(answered)
}

fn cpu(seconds: f64, dnsload: Option<PathBuf>) -> anyhow::Result<()> {
    let dnsload = dnsload_bin(dnsload)?;
    let fleet = Fleet::start("bench-cpu", &FleetOptions::default());
    let sub = "cpu";
    let child = format!("{sub}.{POOL}");
    let ip = "198.51.100.1";
    let (reserve, commit) = fleet.poolmgr.allocate(sub, ip);
    if (reserve, commit) != (201, 200) {
        bail!("allocation failed: reserve {reserve}, commit {commit}");
    }
    let edge = &fleet.edges[0];
    fleet.wait_for("edge 1 answers the child", Duration::from_secs(10), || {
        answers_apex(edge.dns, &child, ip)
    });
    // The six names and an NXDOMAIN (compact denial): signed answers of each kind.
    let queries = scratch_dir("bench-cpu").join("queries");
    let mut text = String::new();
    for name in [
        "",
        "console.",
        "api.",
        "gitea.",
        "harbor.",
        "anything.",
        "nx.www.",
    ] {
        text.push_str(&format!("{name}{child}. A\n"));
    }
    text.push_str(&format!("{child}. DNSKEY\n"));
    fs::write(&queries, text)?;
    for node in [&fleet.primary, edge] {
        let pid = node.pid().context("node running")?;
        // Warm the signature caches first, then measure.
        load(&dnsload, node.dns, &queries, 1.0)?;
        let before = cpu_seconds(pid);
        let answered = load(&dnsload, node.dns, &queries, seconds)?;
        let used = cpu_seconds(pid) - before;
        let per_answer_us = if answered == 0 {
            0.0
        } else {
            used * 1e6 / answered as f64
        };
        eprintln!(
            "cpu: {} answered {answered} in {seconds} s using {used:.2} s CPU: {per_answer_us:.2} µs/answer",
            node.name
        );
        println!(
            "CSV,cpu,node={},answered={answered},cpu_s={used:.3},us_per_answer={per_answer_us:.3}",
            node.name.replace(' ', "")
        );
    }
    Ok(())
}
