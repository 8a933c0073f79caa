//! Allocation latency and throughput of a running poolmgr.
//!
//! Starts nothing itself: point it at a poolmgr (see `bench/poolmgr.sh`).
//! `--concurrency` workers each loop: `POST /api/v1/pool/{pool}/reserve`
//! with a fresh subdomain (expects 201), then `POST .../commit` with the
//! reservation token and a load-balancer address (expects 200), then, with
//! `--release`, `DELETE .../release` (expects 200) so the number of child
//! zones stays bounded. Any other status is counted as an error (by step
//! and status) and the allocation is not timed. Reports reserve, commit and
//! reserve+commit latency (p50/p99/max) and allocations per second; prints
//! one `RESULT key=value …` line and can append a CSV row.
//!
//! `--medians CSV` instead reads such a CSV and prints, per label and
//! concurrency, the medians over its repetitions as markdown table rows.
//!
//! `--relay LISTEN=UPSTREAM` instead forwards HTTP/1.1 from LISTEN to
//! UPSTREAM (put it between poolmgr and dnsd) and, at the end, reports how
//! long the upstream took per request (by method), to tell DNS-server time
//! from the rest. Loopback only; every run ends by itself.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bench::histogram::Histogram;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Reserve+commit latency and allocations/s of a running poolmgr")]
struct Args {
    /// poolmgr's address.
    #[arg(long, default_value = "127.0.0.1:18090")]
    addr: SocketAddr,
    /// Pool domain to allocate in.
    #[arg(long, default_value = "omani.works")]
    pool: String,
    /// Bearer token (caller scope).
    #[arg(long, env = "POOL_BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Concurrent workers, each with its own keep-alive connection.
    #[arg(short, long, default_value_t = 1)]
    concurrency: usize,
    /// Seconds to run (ignored when --count is given).
    #[arg(short, long, default_value_t = 10.0)]
    duration: f64,
    /// Total allocations to attempt instead of a duration.
    #[arg(long)]
    count: Option<u64>,
    /// Release each allocation after its commit (not timed as part of it).
    #[arg(long)]
    release: bool,
    /// Subdomain prefix; names are PREFIX-WORKER-N (default: from the clock).
    #[arg(long)]
    prefix: Option<String>,
    /// loadBalancerIP sent with every commit.
    #[arg(long, default_value = "192.0.2.10")]
    lb_ip: String,
    /// Append one row to this CSV file (header written when it is new).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Label of the CSV row (e.g. the database backend).
    #[arg(long, default_value = "-")]
    label: String,
    /// Repetition number for the CSV row.
    #[arg(long, default_value_t = 0)]
    rep: u32,
    /// Print medians over the rows of this CSV (markdown rows) and exit.
    #[arg(long, conflicts_with = "relay")]
    medians: Option<PathBuf>,
    /// Timing relay LISTEN=UPSTREAM instead of a load run.
    #[arg(long)]
    relay: Option<String>,
    /// Relay: seconds to run before reporting and exiting.
    #[arg(long, default_value_t = 60.0)]
    relay_seconds: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(csv) = &args.medians {
        return print_medians(csv);
    }
    if let Some(spec) = &args.relay {
        return relay(spec, args.relay_seconds);
    }
    if !args.addr.ip().is_loopback() {
        bail!("{} is not a loopback address", args.addr);
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let token = args.token.clone().unwrap_or_default();
    let prefix = args.prefix.clone().unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("b{}", secs % 100_000_000)
    });
    let shared = Arc::new(Shared {
        remaining: AtomicU64::new(args.count.unwrap_or(u64::MAX)),
        stop: AtomicBool::new(false),
    });
    let deadline = args
        .count
        .is_none()
        .then(|| Instant::now() + Duration::from_secs_f64(args.duration));
    let started = Instant::now();
    let mut handles = Vec::new();
    for w in 0..args.concurrency {
        let job = Job {
            addr: args.addr,
            pool: args.pool.clone(),
            token: token.clone(),
            prefix: format!("{prefix}-{w}"),
            lb_ip: args.lb_ip.clone(),
            release: args.release,
            deadline,
            shared: shared.clone(),
        };
        handles.push(std::thread::spawn(move || worker(job)));
    }
    let mut total = Tally::default();
    for h in handles {
        let t = h.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
        total.merge(&t);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = total.both.count();
    let rate = ok as f64 / elapsed;
    let errors: u64 = total.errors.values().sum();
    let ms = |h: &Histogram, q: f64| h.quantile(q) as f64 / 1e6;
    for (what, h) in [
        ("reserve", &total.reserve),
        ("commit", &total.commit),
        ("reserve+commit", &total.both),
        ("release", &total.release),
    ] {
        if h.count() > 0 {
            println!(
                "{what}: n={} mean={:.2} ms p50={:.2} ms p99={:.2} ms max={:.2} ms",
                h.count(),
                h.mean() / 1e6,
                ms(h, 0.5),
                ms(h, 0.99),
                h.max() as f64 / 1e6
            );
        }
    }
    for (what, n) in &total.errors {
        println!("error: {what} x{n}");
    }
    if let Some(e) = &total.last_error {
        println!("last error: {e}");
    }
    // p50 and p99 of reserve+commit, reserve alone and commit alone.
    let [p50, p99, reserve_p50, reserve_p99, commit_p50, commit_p99] = [
        ms(&total.both, 0.5),
        ms(&total.both, 0.99),
        ms(&total.reserve, 0.5),
        ms(&total.reserve, 0.99),
        ms(&total.commit, 0.5),
        ms(&total.commit, 0.99),
    ];
    println!(
        "RESULT label={} concurrency={} allocations={ok} seconds={elapsed:.2} allocs_per_s={rate:.1} \
         p50_ms={p50:.2} p99_ms={p99:.2} reserve_p50_ms={reserve_p50:.2} reserve_p99_ms={reserve_p99:.2} \
         commit_p50_ms={commit_p50:.2} commit_p99_ms={commit_p99:.2} errors={errors}",
        args.label, args.concurrency,
    );
    if let Some(path) = &args.csv {
        let new = !path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        if new {
            writeln!(f, "{CSV_HEADER}")?;
        }
        writeln!(
            f,
            "{},{},{},{ok},{elapsed:.3},{rate:.2},{p50:.3},{p99:.3},{reserve_p50:.3},{reserve_p99:.3},\
             {commit_p50:.3},{commit_p99:.3},{errors}",
            args.label, args.concurrency, args.rep,
        )?;
    }
    Ok(())
}

const CSV_HEADER: &str = "label,concurrency,rep,allocations,seconds,allocs_per_s,p50_ms,p99_ms,\
reserve_p50_ms,reserve_p99_ms,commit_p50_ms,commit_p99_ms,errors";

struct Shared {
    /// Allocations still to start (count mode; `u64::MAX` otherwise).
    remaining: AtomicU64,
    stop: AtomicBool,
}

struct Job {
    addr: SocketAddr,
    pool: String,
    token: String,
    prefix: String,
    lb_ip: String,
    release: bool,
    deadline: Option<Instant>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Tally {
    reserve: Histogram,
    commit: Histogram,
    both: Histogram,
    release: Histogram,
    /// "step status" → count.
    errors: BTreeMap<String, u64>,
    last_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: &Tally) {
        self.reserve.merge(&other.reserve);
        self.commit.merge(&other.commit);
        self.both.merge(&other.both);
        self.release.merge(&other.release);
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        if other.last_error.is_some() {
            self.last_error.clone_from(&other.last_error);
        }
    }

    fn error(&mut self, step: &str, status: u16, body: &str) {
        *self.errors.entry(format!("{step} {status}")).or_default() += 1;
        self.last_error = Some(format!(
            "{step} {status}: {}",
            body.chars().take(200).collect::<String>()
        ));
    }
}

fn worker(job: Job) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut conn = Conn::new(job.addr);
    let auth = format!("Authorization: Bearer {}\r\n", job.token);
    let base = format!("/api/v1/pool/{}", job.pool);
    let mut n = 0u64;
    loop {
        if job.shared.stop.load(Ordering::Relaxed)
            || job.deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        let claimed =
            job.shared
                .remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1));
        if claimed.is_err() {
            break;
        }
        let sub = format!("{}-{n}", job.prefix);
        n += 1;
        let start = Instant::now();
        let (status, body) = conn.request(
            "POST",
            &format!("{base}/reserve"),
            &auth,
            &format!(r#"{{"subdomain":"{sub}"}}"#),
        )?;
        let reserved = Instant::now();
        if status != 201 {
            tally.error("reserve", status, &body);
            continue;
        }
        let Some(token) = json_string(&body, "reservationToken") else {
            tally.error("reserve (no reservationToken)", status, &body);
            continue;
        };
        let (status, body) = conn.request(
            "POST",
            &format!("{base}/commit"),
            &auth,
            &format!(
                r#"{{"subdomain":"{sub}","reservationToken":"{token}","loadBalancerIP":"{}"}}"#,
                job.lb_ip
            ),
        )?;
        let committed = Instant::now();
        if status != 200 {
            tally.error("commit", status, &body);
        } else {
            tally.reserve.record(nanos(reserved - start));
            tally.commit.record(nanos(committed - reserved));
            tally.both.record(nanos(committed - start));
        }
        if job.release {
            let (status, body) = conn.request(
                "DELETE",
                &format!("{base}/release"),
                &auth,
                &format!(r#"{{"subdomain":"{sub}"}}"#),
            )?;
            if status == 200 {
                tally.release.record(nanos(committed.elapsed()));
            } else {
                tally.error("release", status, &body);
            }
        }
    }
    Ok(tally)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The string value of `"key":"…"` in a flat JSON text (no escapes in the
/// value; tokens and names have none).
fn json_string(body: &str, key: &str) -> Option<String> {
    let at = body.find(&format!("\"{key}\""))?;
    let rest = body[at + key.len() + 2..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    let value = &rest[..end];
    (!value.contains('\\')).then(|| value.to_string())
}

/// One keep-alive HTTP/1.1 connection, reopened when the server closed it.
struct Conn {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        Conn { addr, stream: None }
    }

    fn open(&mut self) -> anyhow::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .with_context(|| format!("connecting to {}", self.addr))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(BufReader::new(s));
        }
        Ok(self.stream.as_mut().expect("just opened"))
    }

    /// Sends one request and reads its response; retries once on a fresh
    /// connection if a reused one turns out closed before any reply.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let reused = self.stream.is_some();
        match self.exchange(request.as_bytes()) {
            Ok(r) => Ok(r),
            Err(Exchange::BeforeReply(_)) if reused => {
                self.stream = None;
                self.exchange(request.as_bytes())
                    .map_err(|e| e.into_error(method, path))
            }
            Err(e) => {
                self.stream = None;
                Err(e.into_error(method, path))
            }
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<(u16, String), Exchange> {
        let stream = self.open().map_err(Exchange::Other)?;
        stream
            .get_mut()
            .write_all(request)
            .map_err(|e| Exchange::BeforeReply(e.into()))?;
        let mut line = String::new();
        match stream.read_line(&mut line) {
            Ok(0) => return Err(Exchange::BeforeReply(anyhow::anyhow!("connection closed"))),
            Ok(_) => {}
            Err(e) => return Err(Exchange::BeforeReply(e.into())),
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Exchange::Other(anyhow::anyhow!("bad status line {line:?}")))?;
        let (head, body) = read_message_rest(stream).map_err(Exchange::Other)?;
        if head.close {
            self.stream = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

enum Exchange {
    /// Nothing came back: the connection was stale.
    BeforeReply(anyhow::Error),
    Other(anyhow::Error),
}

impl Exchange {
    fn into_error(self, method: &str, path: &str) -> anyhow::Error {
        match self {
            Exchange::BeforeReply(e) | Exchange::Other(e) => e.context(format!("{method} {path}")),
        }
    }
}

/// What the headers say about the body and the connection.
struct Head {
    length: Option<usize>,
    chunked: bool,
    close: bool,
    /// The header lines as received (for the relay).
    raw: Vec<u8>,
}

/// Reads header lines up to the blank line.
fn read_head(r: &mut impl BufRead) -> anyhow::Result<Head> {
    let mut head = Head {
        length: None,
        chunked: false,
        close: false,
        raw: Vec::new(),
    };
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            bail!("connection closed in the headers");
        }
        head.raw.extend_from_slice(line.as_bytes());
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Ok(head);
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => head.length = value.parse().ok(),
                "transfer-encoding" => {
                    head.chunked = value.to_ascii_lowercase().contains("chunked")
                }
                "connection" => head.close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
}

/// Headers and the decoded body after the start line.
fn read_message_rest(r: &mut impl BufRead) -> anyhow::Result<(Head, Vec<u8>)> {
    let head = read_head(r)?;
    let mut body = Vec::new();
    if head.chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .context("bad chunk size")?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)?;
            if size == 0 {
                // Trailers are not used by either server; the CRLF is read.
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = head.length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    }
    Ok((head, body))
}

/// Re-encodes a message with the body as Content-Length (so the relay can
/// forward a chunked message without copying its framing).
fn encode(start: &str, head: &Head, body: &[u8]) -> Vec<u8> {
    let mut out = start.as_bytes().to_vec();
    for line in String::from_utf8_lossy(&head.raw).lines() {
        let lower = line.to_ascii_lowercase();
        if line.trim().is_empty()
            || lower.starts_with("content-length:")
            || lower.starts_with("transfer-encoding:")
        {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// Upstream time per request kind, shared by the relay's connections.
type Timings = Arc<Mutex<BTreeMap<String, Histogram>>>;

fn relay(spec: &str, seconds: f64) -> anyhow::Result<()> {
    let (listen, upstream) = spec
        .split_once('=')
        .context("--relay wants LISTEN=UPSTREAM")?;
    let listen: SocketAddr = listen.parse().context("relay listen address")?;
    let upstream: SocketAddr = upstream.parse().context("relay upstream address")?;
    if !listen.ip().is_loopback() || !upstream.ip().is_loopback() {
        bail!("the relay is loopback only");
    }
    let listener = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
    listener.set_nonblocking(true)?;
    let timings: Timings = Arc::default();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let done = Arc::new(AtomicBool::new(false));
    // Reports on SIGTERM too: the caller stops us when its run is over.
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to a static atomic.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    while Instant::now() < until && !SIGNALLED.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let timings = timings.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let _ = relay_connection(client, upstream, &timings, &done);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
    done.store(true, Ordering::Relaxed);
    let timings = timings.lock().unwrap_or_else(|p| p.into_inner());
    let mut total_ns = 0f64;
    for (kind, h) in timings.iter() {
        total_ns += h.mean() * h.count() as f64;
        println!(
            "UPSTREAM {kind} n={} mean_ms={:.2} p50_ms={:.2} p99_ms={:.2} total_s={:.2}",
            h.count(),
            h.mean() / 1e6,
            h.quantile(0.5) as f64 / 1e6,
            h.quantile(0.99) as f64 / 1e6,
            h.mean() * h.count() as f64 / 1e9
        );
    }
    println!("UPSTREAM_TOTAL seconds={:.3}", total_ns / 1e9);
    Ok(())
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::Relaxed);
}

/// Forwards requests one at a time and times the upstream's part of each.
fn relay_connection(
    client: TcpStream,
    upstream: SocketAddr,
    timings: &Timings,
    done: &AtomicBool,
) -> anyhow::Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let up = TcpStream::connect(upstream)?;
    up.set_nodelay(true)?;
    let mut from_up = BufReader::new(up.try_clone()?);
    let mut to_up = up;
    while !done.load(Ordering::Relaxed) {
        let mut start = String::new();
        match from_client.read_line(&mut start) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let (head, body) = read_message_rest(&mut from_client)?;
        let kind = request_kind(&start);
        let sent = Instant::now();
        to_up.write_all(&encode(&start, &head, &body))?;
        let mut status = String::new();
        if from_up.read_line(&mut status)? == 0 {
            bail!("upstream closed");
        }
        let (rhead, rbody) = read_message_rest(&mut from_up)?;
        let took = nanos(sent.elapsed());
        timings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind)
            .or_default()
            .record(took);
        to_client.write_all(&encode(&status, &rhead, &rbody))?;
        if head.close || rhead.close {
            return Ok(());
        }
    }
    Ok(())
}

/// "METHOD shape" of a request line, with zone names and ids elided:
/// `/api/v1/servers/localhost/zones/a.b./cryptokeys` → `zones/*/cryptokeys`.
fn request_kind(start: &str) -> String {
    let mut parts = start.split_whitespace();
    let method = parts.next().unwrap_or("?");
    let path = parts.next().unwrap_or("?");
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let shape = match segs.iter().position(|s| *s == "zones") {
        Some(i) => {
            let mut s = String::from("zones");
            for (j, seg) in segs[i + 1..].iter().enumerate() {
                s.push('/');
                s.push_str(if j % 2 == 0 { "*" } else { seg });
            }
            s
        }
        None => segs.last().copied().unwrap_or("").to_string(),
    };
    format!("{method} {shape}")
}

/// Label and concurrency.
type Group = (String, u64);
/// One CSV row's fields.
type Row = Vec<String>;

/// Medians per label and concurrency, as markdown table rows:
/// `| label | concurrency | p50 | p99 | allocs/s | errors | runs |`.
fn print_medians(path: &PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(label), Some(conc), Some(p50), Some(p99), Some(rate), Some(errors)) = (
        col("label"),
        col("concurrency"),
        col("p50_ms"),
        col("p99_ms"),
        col("allocs_per_s"),
        col("errors"),
    ) else {
        bail!("{}: not a pool-bench CSV", path.display());
    };
    let (rp50, cp50) = (col("reserve_p50_ms"), col("commit_p50_ms"));
    let mut groups: Vec<(Group, Vec<Row>)> = Vec::new();
    for line in lines {
        let f: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
        if f.len() < header.len() {
            continue;
        }
        let key = (f[label].clone(), f[conc].parse().unwrap_or(0));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    for ((label, conc), rows) in groups {
        let med = |i: Option<usize>| {
            let vals: Vec<f64> = rows
                .iter()
                .filter_map(|r| i.and_then(|i| r[i].parse().ok()))
                .collect();
            bench::report::median(&vals).map_or("-".to_string(), |m| format!("{m:.1}"))
        };
        let errs: u64 = rows
            .iter()
            .filter_map(|r| r[errors].parse::<u64>().ok())
            .sum();
        println!(
            "| {label} | {conc} | {} | {} | {} | {} | {} | {errs} | {} |",
            med(Some(p50)),
            med(Some(p99)),
            med(rp50),
            med(cp50),
            med(Some(rate)),
            rows.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token() {
        let body = r#"{"poolDomain":"omani.works","subdomain":"a","reservationToken": "abc-123","state":"reserved"}"#;
        assert_eq!(
            json_string(body, "reservationToken").as_deref(),
            Some("abc-123")
        );
        assert_eq!(json_string(body, "missing"), None);
    }

    #[test]
    fn kinds_elide_names() {
        assert_eq!(
            request_kind("GET /api/v1/servers/localhost/zones/a.omani.works./cryptokeys HTTP/1.1"),
            "GET zones/*/cryptokeys"
        );
        assert_eq!(
            request_kind("POST /api/v1/servers/localhost/zones HTTP/1.1"),
            "POST zones"
        );
    }

    #[test]
    fn reads_chunked_and_sized_bodies() {
        let mut r = BufReader::new(
            &b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..],
        );
        let (head, body) = read_message_rest(&mut r).unwrap();
        assert!(head.chunked);
        assert_eq!(body, b"abcde");
        let mut r = BufReader::new(&b"Content-Length: 2\r\nConnection: close\r\n\r\nhi"[..]);
        let (head, body) = read_message_rest(&mut r).unwrap();
        assert!(head.close);
        assert_eq!(body, b"hi");
    }
}
