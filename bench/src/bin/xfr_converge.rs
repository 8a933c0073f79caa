//! Change-to-secondary convergence: how long after a primary takes a change
//! a secondary answers it (issue #14 item 7, `bench/xfr.sh`).
//!
//! Starts no server itself. Four subcommands:
//!
//! - `write-zone` writes the zone file a Knot primary loads, with exactly
//!   the records `fill` puts into a dnsd API zone, so both primaries serve
//!   the same data.
//! - `fill` creates that zone through a dnsd primary's API, filled with
//!   PATCHes of `--batch` RRsets (each body well under the 2 MB API limit).
//!   It is separate so the secondary can be started once the zone exists.
//! - `dnsd` waits until the secondary serves the primary's serial, then
//!   `--changes` times PATCHes one new RRset and polls the secondary over
//!   UDP until the new name answers.
//! - `knot` does the same changes on a Knot primary through
//!   `knotc zone-begin / zone-set / zone-commit` (the clock starts before
//!   `zone-begin`) and polls the Knot secondary.
//!
//! Prints progress, then one `CSV,...` line (see [`CSV_HEADER`]). Every wait
//! is bounded (`--timeout-ms` per change, `--max-seconds` for the loop); a
//! change the secondary never shows is counted as missed, not hidden.
//! Loopback addresses only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bench::queryfile::{QueryOptions, build_query};
use clap::{Args, Parser, Subcommand};

/// Columns of the `CSV,` line, in order.
const CSV_HEADER: &str = "label,records,changes,done,missed,p50_ms,p99_ms,max_ms,mean_ms,\
                          ack_p50_ms,ack_p99_ms,fill_s,sync_s";

#[derive(Parser)]
#[command(about = "Time from a change on a primary until its secondary answers it")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Write the zone file with the records `dnsd` mode creates.
    WriteZone {
        #[arg(long, default_value = "big.test")]
        zone: String,
        /// Records in the zone, SOA, NS and glue included.
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Create and fill the zone through a dnsd primary's API.
    Fill {
        /// The primary's API address.
        #[arg(long)]
        api: SocketAddr,
        /// The primary's API key.
        #[arg(long, default_value = "bench-key")]
        key: String,
        #[arg(long, default_value = "big.test")]
        zone: String,
        /// Records in the zone, SOA, NS and glue included.
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        /// RRsets per filling PATCH.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
    /// dnsd primary (API, filled by `fill`) -> dnsd secondary.
    Dnsd {
        #[command(flatten)]
        common: Common,
        /// The primary's API address.
        #[arg(long)]
        api: SocketAddr,
        /// The primary's API key.
        #[arg(long, default_value = "bench-key")]
        key: String,
        /// The primary's DNS address (its serial is what the secondary must reach).
        #[arg(long)]
        primary_dns: SocketAddr,
        /// Seconds to wait for the secondary's first copy.
        #[arg(long, default_value_t = 600)]
        sync_seconds: u64,
        /// Seconds `fill` took, carried into the CSV line.
        #[arg(long)]
        fill_s: Option<f64>,
    },
    /// Knot primary (knotc transactions) -> Knot secondary.
    Knot {
        #[command(flatten)]
        common: Common,
        /// The Knot primary's control socket.
        #[arg(long)]
        socket: PathBuf,
    },
}

#[derive(Args)]
struct Common {
    /// Name of this case in the CSV line.
    #[arg(long)]
    label: String,
    #[arg(long, default_value = "big.test")]
    zone: String,
    /// The secondary's DNS address, polled over UDP.
    #[arg(long)]
    secondary: SocketAddr,
    /// Single-RRset changes to time.
    #[arg(long, default_value_t = 1000)]
    changes: usize,
    /// Give up on one change after this long (counted as missed).
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Records in the primary's zone (for the report only).
    #[arg(long, default_value_t = 0)]
    records: usize,
    /// Stop the change loop after this long, however many are done.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// Pause between two polls of the secondary.
    #[arg(long, default_value_t = 200)]
    poll_us: u64,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Mode::WriteZone { zone, records, out } => write_zone(&fqdn(&zone), records, &out),
        Mode::Fill {
            api,
            key,
            zone,
            records,
            batch,
        } => {
            loopback(api)?;
            let secs = fill(&Api { addr: api, key }, &fqdn(&zone), records, batch.max(1))?;
            println!("FILL_S {secs:.1}");
            Ok(())
        }
        Mode::Dnsd {
            common,
            api,
            key,
            primary_dns,
            sync_seconds,
            fill_s,
        } => {
            for addr in [api, primary_dns, common.secondary] {
                loopback(addr)?;
            }
            let api = Api { addr: api, key };
            let zone = fqdn(&common.zone);
            let mut probe = Probe::new(common.secondary, common.poll_us)?;
            let sync_s = sync(&mut probe, primary_dns, &zone, sync_seconds)?;
            let path = format!("/api/v1/servers/localhost/zones/{zone}");
            let outcome = converge(&common, &mut probe, |name| {
                let body = format!(
                    r#"{{"rrsets":[{{"name":"{name}","type":"A","ttl":60,"changetype":"REPLACE","records":[{{"content":"198.51.100.7","disabled":false}}]}}]}}"#
                );
                let (status, text) = api.call("PATCH", &path, &body)?;
                if status != 204 {
                    bail!("PATCH {name}: {status} {text}");
                }
                Ok(())
            })?;
            outcome.print(&common, fill_s, Some(sync_s));
            Ok(())
        }
        Mode::Knot { common, socket } => {
            loopback(common.secondary)?;
            let zone = fqdn(&common.zone);
            let mut probe = Probe::new(common.secondary, common.poll_us)?;
            let outcome = converge(&common, &mut probe, |name| {
                knotc(&socket, &["zone-begin", &zone])?;
                let set = knotc(
                    &socket,
                    &["zone-set", &zone, name, "60", "A", "198.51.100.7"],
                );
                if set.is_err() {
                    let _ = knotc(&socket, &["zone-abort", &zone]);
                }
                set?;
                knotc(&socket, &["zone-commit", &zone])
            })?;
            outcome.print(&common, None, None);
            Ok(())
        }
    }
}

fn loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address");
    }
    Ok(())
}

fn fqdn(zone: &str) -> String {
    format!("{}.", zone.trim_end_matches('.'))
}

/// Records beyond SOA, NS and the NS's address: one A per host name.
fn hosts(records: usize) -> usize {
    records.saturating_sub(3)
}

fn host_address(i: usize) -> String {
    let [_, b, c, d] = (i as u32).to_be_bytes();
    format!("10.{b}.{c}.{d}")
}

fn write_zone(zone: &str, records: usize, out: &PathBuf) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "$ORIGIN {zone}")?;
    writeln!(w, "$TTL 3600")?;
    writeln!(
        w,
        "@ IN SOA ns1.{zone} hostmaster.{zone} 1 7200 3600 1209600 3600"
    )?;
    writeln!(w, "@ IN NS ns1.{zone}")?;
    writeln!(w, "ns1 IN A 192.0.2.1")?;
    for i in 0..hosts(records) {
        writeln!(w, "h{i} IN A {}", host_address(i))?;
    }
    w.flush()?;
    Ok(())
}

/// A dnsd API endpoint; one connection per request, as simple clients do.
struct Api {
    addr: SocketAddr,
    key: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
        let mut stream = TcpStream::connect(self.addr).context("connecting to the API")?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-API-Key: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.key,
            body.len()
        );
        stream.write_all(request.as_bytes())?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        let status = reply
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let text = reply
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .chars()
            .take(300)
            .collect();
        Ok((status, text))
    }
}

/// Creates the zone and fills it; returns the seconds it took.
fn fill(api: &Api, zone: &str, records: usize, batch: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let body = format!(
        r#"{{"name":"{zone}","kind":"Native","nameservers":["ns1.{zone}"],"rrsets":[{{"name":"ns1.{zone}","type":"A","ttl":3600,"records":[{{"content":"192.0.2.1","disabled":false}}]}}]}}"#
    );
    let (status, text) = api.call("POST", "/api/v1/servers/localhost/zones", &body)?;
    if status != 201 {
        bail!("zone create failed: {status} {text}");
    }
    let path = format!("/api/v1/servers/localhost/zones/{zone}");
    let total = hosts(records);
    let mut done = 0;
    let mut slowest = Duration::ZERO;
    while done < total {
        let end = (done + batch).min(total);
        let mut body = String::with_capacity((end - done) * 120 + 16);
        body.push_str(r#"{"rrsets":["#);
        for i in done..end {
            if i > done {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"name":"h{i}.{zone}","type":"A","ttl":3600,"changetype":"REPLACE","records":[{{"content":"{}","disabled":false}}]}}"#,
                host_address(i)
            ));
        }
        body.push_str("]}");
        let sent = Instant::now();
        let (status, text) = api.call("PATCH", &path, &body)?;
        if status != 204 {
            bail!("filling PATCH at {done}: {status} {text}");
        }
        slowest = slowest.max(sent.elapsed());
        done = end;
        if (done / batch).is_multiple_of(20) || done == total {
            println!(
                "fill: {done}/{total} host records, {:.1} s, last PATCH {:.0} ms, slowest {:.0} ms",
                started.elapsed().as_secs_f64(),
                sent.elapsed().as_secs_f64() * 1e3,
                slowest.as_secs_f64() * 1e3
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("fill: {records} records in {secs:.1} s ({batch} RRsets per PATCH)");
    Ok(secs)
}

/// Waits until the secondary serves the primary's current serial.
fn sync(probe: &mut Probe, primary: SocketAddr, zone: &str, seconds: u64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let want = probe
        .serial_of(primary, zone)?
        .context("the primary does not answer the zone's SOA")?;
    let deadline = started + Duration::from_secs(seconds);
    loop {
        if probe.serial_of(probe.server, zone)? == Some(want) {
            let secs = started.elapsed().as_secs_f64();
            println!("sync: secondary serves serial {want} after {secs:.1} s");
            return Ok(secs);
        }
        if Instant::now() > deadline {
            bail!("secondary never reached serial {want} in {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Times `changes` rounds of `change(name)` then polling for `name`.
fn converge(
    common: &Common,
    probe: &mut Probe,
    mut change: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    let zone = fqdn(&common.zone);
    let limit = Duration::from_millis(common.timeout_ms);
    let until = Instant::now() + Duration::from_secs(common.max_seconds);
    // A fresh name per run, so a second run against the same servers never
    // sees a change left over from the first.
    let run = std::process::id();
    let mut outcome = Outcome::default();
    for round in 0..common.changes {
        if Instant::now() > until {
            println!(
                "stopping after {round} changes: --max-seconds {} reached",
                common.max_seconds
            );
            break;
        }
        let name = format!("c{run}x{round}.{zone}");
        let sent = Instant::now();
        change(&name)?;
        outcome.ack.push(sent.elapsed());
        let deadline = sent + limit;
        loop {
            if probe.answers(&name)? {
                outcome.seen.push(sent.elapsed());
                break;
            }
            if Instant::now() > deadline {
                outcome.missed += 1;
                println!("change {round}: {name} not answered within {limit:?}");
                break;
            }
            std::thread::sleep(probe.pause);
        }
        if (round + 1) % 100 == 0 {
            let last = outcome.seen.last().copied().unwrap_or_default();
            println!(
                "{}: {} changes, last {:.1} ms",
                common.label,
                round + 1,
                last.as_secs_f64() * 1e3
            );
        }
    }
    Ok(outcome)
}

#[derive(Default)]
struct Outcome {
    /// Change sent -> the change call returned (PATCH 204, knotc commit).
    ack: Vec<Duration>,
    /// Change sent -> the secondary answers it.
    seen: Vec<Duration>,
    missed: usize,
}

impl Outcome {
    fn print(mut self, common: &Common, fill_s: Option<f64>, sync_s: Option<f64>) {
        let seen = quantiles(&mut self.seen);
        let ack = quantiles(&mut self.ack);
        let mean = if self.seen.is_empty() {
            String::new()
        } else {
            let sum: f64 = self.seen.iter().map(Duration::as_secs_f64).sum();
            format!("{:.2}", sum * 1e3 / self.seen.len() as f64)
        };
        let opt = |v: Option<f64>| v.map_or(String::new(), |s| format!("{s:.1}"));
        println!(
            "{}: {} of {} changes answered by the secondary, missed {}; p50 {} ms, p99 {} ms, max {} ms; change call p50 {} ms, p99 {} ms",
            common.label,
            self.seen.len(),
            common.changes,
            self.missed,
            seen[0],
            seen[1],
            seen[2],
            ack[0],
            ack[1]
        );
        println!("CSV_HEADER,{CSV_HEADER}");
        println!(
            "CSV,{},{},{},{},{},{},{},{},{mean},{},{},{},{}",
            common.label,
            common.records,
            common.changes,
            self.seen.len(),
            self.missed,
            seen[0],
            seen[1],
            seen[2],
            ack[0],
            ack[1],
            opt(fill_s),
            opt(sync_s)
        );
    }
}

/// p50, p99 (nearest rank) and max in ms; empty strings for no samples.
fn quantiles(samples: &mut [Duration]) -> [String; 3] {
    if samples.is_empty() {
        return [String::new(), String::new(), String::new()];
    }
    samples.sort();
    let at = |q: f64| {
        let rank = ((samples.len() as f64) * q).ceil().max(1.0) as usize;
        samples[rank.min(samples.len()) - 1]
    };
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    [ms(at(0.5)), ms(at(0.99)), ms(samples[samples.len() - 1])]
}

/// Runs one knotc command; an error carries knotc's own message.
fn knotc(socket: &PathBuf, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("knotc")
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .context("running knotc")?;
    if !out.status.success() {
        bail!(
            "knotc {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// UDP queries to one server, each with its own ID so a late reply to an
/// earlier query is never taken for the current one.
struct Probe {
    socket: UdpSocket,
    server: SocketAddr,
    pause: Duration,
    next_id: u16,
}

impl Probe {
    fn new(server: SocketAddr, poll_us: u64) -> anyhow::Result<Probe> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Probe {
            socket,
            server,
            pause: Duration::from_micros(poll_us),
            next_id: 1,
        })
    }

    /// The reply to NAME/TYPE from SERVER, or None on timeout.
    fn ask(
        &mut self,
        server: SocketAddr,
        name: &str,
        qtype: u16,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut q =
            build_query(name, qtype, QueryOptions::default()).map_err(anyhow::Error::msg)?;
        q[..2].copy_from_slice(&id.to_be_bytes());
        self.socket.send_to(&q, server)?;
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() => {
                    return Ok(Some(buf[..n].to_vec()));
                }
                Ok(_) => continue,
                Err(_) => return Ok(None),
            }
        }
    }

    /// True when NAME A answers NOERROR with at least one record.
    fn answers(&mut self, name: &str) -> anyhow::Result<bool> {
        Ok(self
            .ask(self.server, name, 1)?
            .is_some_and(|r| r[3] & 0x0F == 0 && u16::from_be_bytes([r[6], r[7]]) > 0))
    }

    /// The SOA serial SERVER answers for ZONE, if it answers one.
    fn serial_of(&mut self, server: SocketAddr, zone: &str) -> anyhow::Result<Option<u32>> {
        Ok(self.ask(server, zone, 6)?.and_then(|r| soa_serial(&r)))
    }
}

/// The serial of the first answer record of a reply to a SOA query.
fn soa_serial(msg: &[u8]) -> Option<u32> {
    if msg[3] & 0x0F != 0 || u16::from_be_bytes([msg[6], msg[7]]) == 0 {
        return None;
    }
    let mut at = skip_name(msg, 12)? + 4; // question name, type, class
    at = skip_name(msg, at)?;
    let rtype = u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]);
    if rtype != 6 {
        return None;
    }
    at += 10; // type, class, TTL, RDLENGTH
    at = skip_name(msg, at)?; // MNAME
    at = skip_name(msg, at)?; // RNAME
    let serial = msg.get(at..at + 4)?;
    Some(u32::from_be_bytes([
        serial[0], serial[1], serial[2], serial[3],
    ]))
}

/// The offset just past the (possibly compressed) name at AT.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return Some(at + 2),
            l if l < 64 => at += 1 + l as usize,
            _ => return None,
        }
    }
}
