//! Many-zones benchmark driver (`bench/zones.sh`): creates, changes and
//! times a fleet of small zones through a PowerDNS-compatible REST API, so
//! the same tool drives dnsd and PowerDNS; writes the same zones as zone
//! files for Knot and changes them through `knotc`.
//!
//! Zone `i` is `z<i>.fleet.test.`: SOA, two NS, their addresses, `www` A
//! (an address unique to the zone, so an answer proves which zone's data it
//! is) and AAAA, MX and `mail` A, a TXT and a CNAME: 11 records. Every odd
//! zone is signed the way poolmgr signs (`enable_dnssec`: PUT `dnssec` and
//! `soa_edit_api`, a CSK when no active key anchors a DS, rectify).
//!
//! Every subcommand prints one `RESULT key=value…` line for the script.
//! Loopback only; every loop is bounded by a timeout.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bench::report::median;
use bench::restapi::{http, probe_a, require_loopback};
use bench::rng::Rng;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Create, change and time many small zones through a PowerDNS-style API")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Api {
    /// The REST API's address.
    #[arg(long, default_value = "127.0.0.1:18081")]
    api: SocketAddr,
    /// API key (X-API-Key).
    #[arg(long, default_value = "bench-key")]
    key: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create zones 0..COUNT through the API, every odd one signed.
    Create {
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        count: usize,
        /// Requests in flight (one thread each).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Stop after this many seconds and report how many were created.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// PATCH a new A RRset into random zones (or change them through
    /// `knotc` with --knotc-socket) and poll DNS until it answers.
    PatchLatency {
        #[command(flatten)]
        api: Api,
        /// The server's DNS address.
        #[arg(long)]
        dns: SocketAddr,
        /// Zones in the fleet (changes go to random zones among them).
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Change through Knot's control socket instead of the API.
        #[arg(long)]
        knotc_socket: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Median time of a GET (the zone listing, /metrics), over REPS.
    Time {
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        path: String,
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// Wait until the last zone and a random sample answer `www` with their
    /// own address.
    WaitAnswers {
        #[arg(long)]
        dns: SocketAddr,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 20)]
        sample: usize,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// A dnsperf-format query file over random names of the fleet.
    Queries {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// Ask only the first this many zones (0: all): the same work
        /// whatever the fleet's size.
        #[arg(long, default_value_t = 0)]
        zones_asked: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Zone files for Knot, and the `zone:` list of its config (signed zones
    /// get `template: signed`).
    ZoneFiles {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        dir: PathBuf,
        /// Where to write the knot.conf `zone:` section.
        #[arg(long)]
        conf: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Create {
            api,
            count,
            concurrency,
            timeout,
        } => create(&api, count, concurrency, Duration::from_secs(timeout)),
        Cmd::PatchLatency {
            api,
            dns,
            count,
            samples,
            knotc_socket,
            seed,
        } => patch_latency(&api, dns, count, samples, knotc_socket, seed),
        Cmd::Time { api, path, reps } => time_get(&api, &path, reps),
        Cmd::WaitAnswers {
            dns,
            count,
            sample,
            timeout,
        } => wait_answers(dns, count, sample, Duration::from_secs(timeout)),
        Cmd::Queries {
            count,
            lines,
            zones_asked,
            out,
            seed,
        } => {
            let asked = if zones_asked == 0 {
                count
            } else {
                zones_asked.min(count)
            };
            queries(asked, lines, &out, seed)
        }
        Cmd::ZoneFiles { count, dir, conf } => zone_files(count, &dir, &conf),
    }
}

fn zone_name(i: usize) -> String {
    format!("z{i}.fleet.test.")
}

fn signed(i: usize) -> bool {
    i % 2 == 1
}

/// `www` of zone `i`: 10.x.y.z from the index, unique below 2^24 zones.
fn www_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

/// The records of zone `i` besides SOA and NS, as (owner label or "@",
/// type, API content).
fn records(i: usize) -> Vec<(&'static str, &'static str, String)> {
    let zone = zone_name(i);
    vec![
        ("ns1", "A", "192.0.2.1".into()),
        ("ns2", "A", "192.0.2.2".into()),
        ("www", "A", www_address(i).to_string()),
        ("www", "AAAA", format!("2001:db8::{:x}", i & 0xffff)),
        ("@", "MX", format!("10 mail.{zone}")),
        ("mail", "A", "192.0.2.25".into()),
        ("@", "TXT", format!("\"fleet zone {i}\"")),
        ("ftp", "CNAME", format!("www.{zone}")),
    ]
}

fn owner(label: &str, zone: &str) -> String {
    if label == "@" {
        zone.to_string()
    } else {
        format!("{label}.{zone}")
    }
}

/// The POST body creating zone `i` (the server adds the SOA).
fn create_body(i: usize) -> String {
    let zone = zone_name(i);
    let rrsets: Vec<String> = records(i)
        .into_iter()
        .map(|(label, rtype, content)| {
            let content = content.replace('"', "\\\"");
            format!(
                r#"{{"name":"{}","type":"{rtype}","ttl":3600,"records":[{{"content":"{content}","disabled":false}}]}}"#,
                owner(label, &zone)
            )
        })
        .collect();
    format!(
        r#"{{"name":"{zone}","kind":"Native","nameservers":["ns1.{zone}","ns2.{zone}"],"rrsets":[{}]}}"#,
        rrsets.join(",")
    )
}

fn zone_path(zone: &str) -> String {
    format!("/api/v1/servers/localhost/zones/{zone}")
}

/// Sends a request and fails unless the status is one of `ok`.
fn expect(api: &Api, method: &str, path: &str, body: &str, ok: &[u16]) -> anyhow::Result<String> {
    let (status, text) = http(api.api, &api.key, method, path, body)?;
    if !ok.contains(&status) {
        bail!("{method} {path}: {status} {}", text.trim());
    }
    Ok(text)
}

/// Creates zone `i` and, when it is one of the signed half, signs it as
/// poolmgr's `enable_dnssec` does.
fn create_one(api: &Api, i: usize) -> anyhow::Result<()> {
    expect(
        api,
        "POST",
        "/api/v1/servers/localhost/zones?rrsets=false",
        &create_body(i),
        &[201],
    )?;
    if !signed(i) {
        return Ok(());
    }
    let path = zone_path(&zone_name(i));
    expect(
        api,
        "PUT",
        &path,
        r#"{"dnssec":true,"soa_edit_api":"DEFAULT"}"#,
        &[200, 204],
    )?;
    let keys: serde_json::Value = serde_json::from_str(&expect(
        api,
        "GET",
        &format!("{path}/cryptokeys"),
        "",
        &[200],
    )?)
    .context("cryptokeys are not JSON")?;
    let anchored = keys.as_array().is_some_and(|keys| {
        keys.iter().any(|k| {
            k["active"] == true && matches!(k["keytype"].as_str(), Some("ksk") | Some("csk"))
        })
    });
    if !anchored {
        expect(
            api,
            "POST",
            &format!("{path}/cryptokeys"),
            r#"{"keytype":"csk","active":true,"published":true,"algorithm":"ecdsa256"}"#,
            &[200, 201, 204],
        )?;
    }
    expect(api, "PUT", &format!("{path}/rectify"), "", &[200, 204])?;
    Ok(())
}

fn create(api: &Api, count: usize, concurrency: usize, timeout: Duration) -> anyhow::Result<()> {
    require_loopback(&[api.api])?;
    let next = AtomicUsize::new(0);
    let created = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let started = Instant::now();
    let deadline = started + timeout;
    std::thread::scope(|scope| {
        for _ in 0..concurrency.max(1) {
            scope.spawn(|| {
                loop {
                    if Instant::now() > deadline || failure.lock().unwrap().is_some() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return;
                    }
                    match create_one(api, i) {
                        Ok(()) => {
                            created.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            failure
                                .lock()
                                .unwrap()
                                .get_or_insert(format!("zone {i}: {e:#}"));
                            return;
                        }
                    }
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let created = created.into_inner();
    if let Some(e) = failure.into_inner().unwrap() {
        bail!("creating zones failed after {created}: {e}");
    }
    let complete = created == count;
    println!(
        "RESULT created={created} signed={} seconds={seconds:.3} zones_per_s={:.1} complete={}",
        (0..created).filter(|&i| signed(i)).count(),
        created as f64 / seconds,
        u8::from(complete)
    );
    Ok(())
}

/// Applies one change (new A RRset `name` = `address` in `zone`) through
/// the API or knotc; returns when the server acknowledged it.
fn change(
    api: &Api,
    knotc: Option<&PathBuf>,
    zone: &str,
    name: &str,
    address: Ipv4Addr,
) -> anyhow::Result<()> {
    let Some(socket) = knotc else {
        let body = format!(
            r#"{{"rrsets":[{{"name":"{name}","type":"A","ttl":60,"changetype":"REPLACE","records":[{{"content":"{address}","disabled":false}}]}}]}}"#
        );
        expect(api, "PATCH", &zone_path(zone), &body, &[200, 204])?;
        return Ok(());
    };
    let address = address.to_string();
    let steps: [&[&str]; 3] = [
        &["zone-begin", zone],
        &["zone-set", zone, name, "60", "A", &address],
        &["zone-commit", zone],
    ];
    for step in steps {
        let out = Command::new("knotc")
            .arg("-s")
            .arg(socket)
            .args(step)
            .output()
            .context("running knotc")?;
        if !out.status.success() {
            // Leave no open transaction behind for the next sample.
            let _ = Command::new("knotc")
                .arg("-s")
                .arg(socket)
                .args(["zone-abort", zone])
                .output();
            bail!(
                "knotc {}: {}{}",
                step.join(" "),
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

fn patch_latency(
    api: &Api,
    dns: SocketAddr,
    count: usize,
    samples: usize,
    knotc: Option<PathBuf>,
    seed: u64,
) -> anyhow::Result<()> {
    require_loopback(&[api.api, dns])?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut rng = Rng::new(seed);
    let mut to_ack = Vec::with_capacity(samples);
    let mut to_answer = Vec::with_capacity(samples);
    let mut unanswered = 0usize;
    // Unique per run and sample, so no earlier run's name answers.
    let run = std::process::id();
    for s in 0..samples {
        let i = rng.below(count as u64) as usize;
        let zone = zone_name(i);
        let name = format!("p{run}x{s}.{zone}");
        let address = Ipv4Addr::new(198, 51, (s / 250 % 256) as u8, (s % 250 + 1) as u8);
        let sent = Instant::now();
        change(api, knotc.as_ref(), &zone, &name, address)?;
        to_ack.push(sent.elapsed().as_secs_f64() * 1e3);
        let deadline = sent + Duration::from_secs(5);
        loop {
            if probe_a(&udp, dns, &name, s as u16)? == Some(address) {
                to_answer.push(sent.elapsed().as_secs_f64() * 1e3);
                break;
            }
            if Instant::now() > deadline {
                unanswered += 1;
                break;
            }
        }
    }
    let q = |v: &mut Vec<f64>, p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    println!(
        "RESULT samples={samples} ack_p50_ms={:.2} ack_p99_ms={:.2} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} unanswered={unanswered}",
        q(&mut to_ack, 0.5),
        q(&mut to_ack, 0.99),
        q(&mut to_answer, 0.5),
        q(&mut to_answer, 0.99),
        q(&mut to_answer, 1.0),
    );
    Ok(())
}

fn time_get(api: &Api, path: &str, reps: usize) -> anyhow::Result<()> {
    require_loopback(&[api.api])?;
    let mut times = Vec::with_capacity(reps);
    let mut bytes = 0;
    for _ in 0..reps.max(1) {
        let started = Instant::now();
        bytes = expect(api, "GET", path, "", &[200])?.len();
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "RESULT median_ms={:.2} bytes={bytes}",
        median(&times).unwrap_or(f64::NAN)
    );
    Ok(())
}

fn wait_answers(
    dns: SocketAddr,
    count: usize,
    sample: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    require_loopback(&[dns])?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut rng = Rng::new(7);
    let mut pending: Vec<usize> = vec![count - 1];
    pending.extend((0..sample).map(|_| rng.below(count as u64) as usize));
    let started = Instant::now();
    let mut id = 0u16;
    while let Some(&i) = pending.last() {
        if started.elapsed() > timeout {
            bail!(
                "{} zones still not answering after {timeout:?} (e.g. {})",
                pending.len(),
                zone_name(i)
            );
        }
        id = id.wrapping_add(1);
        if probe_a(&udp, dns, &format!("www.{}", zone_name(i)), id)? == Some(www_address(i)) {
            pending.pop();
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    println!("RESULT seconds={:.3}", started.elapsed().as_secs_f64());
    Ok(())
}

fn queries(count: usize, lines: usize, out: &PathBuf, seed: u64) -> anyhow::Result<()> {
    const ASKED: [(&str, &str); 6] = [
        ("www", "A"),
        ("www", "AAAA"),
        ("ftp", "A"),
        ("mail", "A"),
        ("@", "MX"),
        ("@", "TXT"),
    ];
    let mut rng = Rng::new(seed);
    let mut text = String::with_capacity(lines * 32);
    for _ in 0..lines {
        let zone = zone_name(rng.below(count as u64) as usize);
        let (label, rtype) = ASKED[rng.below(ASKED.len() as u64) as usize];
        let _ = writeln!(text, "{} {rtype}", owner(label, &zone));
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    println!("RESULT lines={lines}");
    Ok(())
}

fn zone_files(count: usize, dir: &PathBuf, conf: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut list = String::from("zone:\n");
    for i in 0..count {
        let zone = zone_name(i);
        let mut text = format!(
            "$ORIGIN {zone}\n$TTL 3600\n@ IN SOA ns1.{zone} hostmaster.{zone} 1 10800 3600 604800 3600\n\
             @ IN NS ns1.{zone}\n@ IN NS ns2.{zone}\n"
        );
        for (label, rtype, content) in records(i) {
            let _ = writeln!(text, "{label} IN {rtype} {content}");
        }
        let path = dir.join(format!("z{i}.zone"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        let _ = writeln!(list, "  - domain: {zone}\n    file: \"{}\"", path.display());
        if signed(i) {
            list.push_str("    template: signed\n");
        }
    }
    std::fs::write(conf, list).with_context(|| format!("writing {}", conf.display()))?;
    println!("RESULT zones={count}");
    Ok(())
}
