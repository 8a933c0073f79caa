//! `dnsload`: a DNS load generator with batched `sendmmsg`/`recvmmsg` over
//! several sockets, open-loop at a set rate or closed-loop at a set
//! concurrency, reading dnsperf's query-file format.
//!
//! ```sh
//! dnsload --server 127.0.0.1:5300 --queries q.txt --duration 10 --concurrency 200
//! dnsload --server 127.0.0.1:5300 --queries q.txt --duration 10 --rate 20000
//! dnsload --server 127.0.0.1:5300 --queries q.txt --duration 10 --concurrency 64 --tcp
//! ```
//!
//! Prints a human summary and one machine-readable `RESULT key=value ...`
//! line. Loopback targets only; every run ends after `--duration` plus at
//! most `--timeout` of draining.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bench::queryfile::{self, QueryOptions, response_rcode};
use bench::sys::{self, Batch};
use bench::tracker::Tracker;
use clap::Parser;

/// Send DNS queries from a dnsperf-format file and measure the answers.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Server address (loopback only), e.g. 127.0.0.1:5300.
    #[arg(long, short = 's')]
    server: SocketAddr,
    /// Query file: one `name TYPE` a line.
    #[arg(long, short = 'd')]
    queries: std::path::PathBuf,
    /// Seconds to send for (1..=3600).
    #[arg(long, short = 'l', default_value_t = 10.0)]
    duration: f64,
    /// Open loop: queries per second in total.
    #[arg(long, short = 'Q', conflicts_with = "concurrency")]
    rate: Option<f64>,
    /// Closed loop: queries outstanding in total (default 200).
    #[arg(long, short = 'q')]
    concurrency: Option<usize>,
    /// Threads.
    #[arg(long, short = 'T', default_value_t = 1)]
    threads: usize,
    /// UDP sockets or TCP connections in total, spread over the threads.
    #[arg(long, short = 'c', default_value_t = 4)]
    sockets: usize,
    /// Datagrams per sendmmsg/recvmmsg call.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Seconds after which an unanswered query counts as lost.
    #[arg(long, short = 't', default_value_t = 1.0)]
    timeout: f64,
    /// Use TCP (RFC 7766 pipelining on each connection).
    #[arg(long)]
    tcp: bool,
    /// Add EDNS(0) with payload 1232.
    #[arg(long)]
    edns: bool,
    /// Set DO (implies --edns).
    #[arg(long)]
    dnssec: bool,
    /// Leave RD clear (dnsperf sets it).
    #[arg(long)]
    no_rd: bool,
}

/// Open or closed loop, per flow.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// Queries per nanosecond for this flow.
    Rate(f64),
    /// Queries outstanding on this flow.
    Window(usize),
}

/// What every thread shares.
struct Plan {
    server: SocketAddr,
    queries: Vec<Vec<u8>>,
    load: Load,
    batch: usize,
    timeout_ns: u64,
    run_ns: u64,
    start: Instant,
    flows: usize,
}

impl Plan {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// How many more queries this flow may send now.
    fn allowance(&self, tracker: &Tracker, now: u64) -> usize {
        let want = match self.load {
            Load::Rate(per_ns) => {
                let due = (now as f64 * per_ns) as u64;
                let behind = due.saturating_sub(tracker.sent);
                behind as usize
            }
            Load::Window(w) => w.saturating_sub(tracker.outstanding()),
        };
        want.min(self.batch)
    }

    /// When this flow is next due to send (open loop), for sleeping.
    fn next_due(&self, tracker: &Tracker) -> Option<u64> {
        match self.load {
            Load::Rate(per_ns) => Some(((tracker.sent + 1) as f64 / per_ns) as u64),
            Load::Window(_) => None,
        }
    }
}

/// One UDP socket and its bookkeeping.
struct UdpFlow {
    socket: UdpSocket,
    tracker: Tracker,
    next_query: usize,
}

/// One TCP connection and its bookkeeping.
struct TcpFlow {
    stream: Option<TcpStream>,
    tracker: Tracker,
    next_query: usize,
    wbuf: Vec<u8>,
    rbuf: Vec<u8>,
    reconnects: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.server.ip().is_loopback() {
        bail!("dnsload only targets loopback addresses (127.0.0.0/8, ::1)");
    }
    if !(0.1..=3600.0).contains(&args.duration) {
        bail!("--duration must be within 0.1..=3600 seconds");
    }
    let text = std::fs::read_to_string(&args.queries)
        .with_context(|| format!("read {}", args.queries.display()))?;
    let options = QueryOptions {
        recursion_desired: !args.no_rd,
        edns: args.edns,
        dnssec_ok: args.dnssec,
    };
    let queries = queryfile::parse(&text, options).context("query file")?;
    let threads = args.threads.max(1);
    let flows = args.sockets.max(threads);
    let load = match (args.rate, args.concurrency) {
        (Some(rate), _) if rate > 0.0 => Load::Rate(rate / flows as f64 / 1e9),
        (Some(_), _) => bail!("--rate must be positive"),
        (None, c) => Load::Window(c.unwrap_or(200).div_ceil(flows).max(1)),
    };
    let plan = Arc::new(Plan {
        server: args.server,
        queries,
        load,
        batch: args.batch.clamp(1, 1024),
        timeout_ns: (args.timeout.max(0.001) * 1e9) as u64,
        run_ns: (args.duration * 1e9) as u64,
        start: Instant::now(),
        flows,
    });
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let plan = Arc::clone(&plan);
            let mine: Vec<usize> = (t..flows).step_by(threads).collect();
            let tcp = args.tcp;
            std::thread::spawn(move || {
                if tcp {
                    run_tcp(&plan, &mine)
                } else {
                    run_udp(&plan, &mine)
                }
            })
        })
        .collect();
    let mut total = Tracker::new(0);
    let mut reconnects = 0;
    for h in handles {
        let (tracker, rc) = h.join().expect("load thread panicked")?;
        total.merge_counts(&tracker);
        reconnects += rc;
    }
    let elapsed = plan.run_ns as f64 / 1e9;
    report(&args, &total, elapsed, reconnects);
    Ok(())
}

fn report(args: &Args, t: &Tracker, seconds: f64, reconnects: u64) {
    let ms = |ns: u64| ns as f64 / 1e6;
    let h = &t.latency;
    let qps = t.answered as f64 / seconds;
    let mode = match (args.rate, args.concurrency) {
        (Some(r), _) => format!("open rate={r}"),
        (None, c) => format!("closed concurrency={}", c.unwrap_or(200)),
    };
    let transport = if args.tcp { "tcp" } else { "udp" };
    println!(
        "dnsload: {transport} {mode} to {} for {seconds:.1}s",
        args.server
    );
    println!(
        "  sent {} answered {} lost {} ({:.3}%) unmatched {}",
        t.sent,
        t.answered,
        t.lost,
        if t.sent > 0 {
            100.0 * t.lost as f64 / t.sent as f64
        } else {
            0.0
        },
        t.unmatched
    );
    println!("  queries/s {qps:.0}");
    println!(
        "  latency ms: p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3} mean {:.3}",
        ms(h.quantile(0.5)),
        ms(h.quantile(0.99)),
        ms(h.quantile(0.999)),
        ms(h.max()),
        h.mean() / 1e6
    );
    println!(
        "  rcodes: NOERROR {} NXDOMAIN {} SERVFAIL {} REFUSED {} other {}",
        t.rcodes[0],
        t.rcodes[3],
        t.rcodes[2],
        t.rcodes[5],
        t.answered - t.rcodes[0] - t.rcodes[3] - t.rcodes[2] - t.rcodes[5]
    );
    println!(
        "RESULT transport={transport} seconds={seconds:.3} sent={} answered={} lost={} unmatched={} reconnects={reconnects} qps={qps:.1} p50_ms={:.4} p99_ms={:.4} p999_ms={:.4} max_ms={:.4} mean_ms={:.4} noerror={} nxdomain={}",
        t.sent,
        t.answered,
        t.lost,
        t.unmatched,
        ms(h.quantile(0.5)),
        ms(h.quantile(0.99)),
        ms(h.quantile(0.999)),
        ms(h.max()),
        h.mean() / 1e6,
        t.rcodes[0],
        t.rcodes[3],
    );
}

/// Sleeps until a socket is readable (or writable, for TCP with pending
/// output) or until the next query is due, at most 1 ms.
fn idle(pollfds: &mut [libc::pollfd], next_due: Option<u64>, now: u64) {
    let wait = next_due.map_or(1_000_000, |due| due.saturating_sub(now).min(1_000_000));
    if wait > 0 {
        sys::wait(pollfds, Duration::from_nanos(wait));
    }
}

fn run_udp(plan: &Plan, mine: &[usize]) -> anyhow::Result<(Tracker, u64)> {
    let mut flows = Vec::with_capacity(mine.len());
    for &index in mine {
        let local: SocketAddr = if plan.server.is_ipv4() {
            "127.0.0.1:0".parse()?
        } else {
            "[::1]:0".parse()?
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(plan.server)?;
        socket.set_nonblocking(true)?;
        sys::set_buffers(socket.as_raw_fd(), 4 << 20);
        flows.push(UdpFlow {
            socket,
            tracker: Tracker::new((index as u16).wrapping_mul(7919)),
            next_query: index * plan.queries.len() / plan.flows,
        });
    }
    let mut tx = Batch::new(plan.batch);
    let mut rx = Batch::new(plan.batch);
    let mut pollfds: Vec<libc::pollfd> = flows
        .iter()
        .map(|f| libc::pollfd {
            fd: f.socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let deadline = plan.run_ns;
    loop {
        let now = plan.now();
        let sending = now < deadline;
        if !sending
            && (flows.iter().all(|f| f.tracker.outstanding() == 0)
                || now > deadline + plan.timeout_ns)
        {
            break;
        }
        let mut busy = false;
        let mut next_due = None::<u64>;
        for flow in &mut flows {
            if sending {
                let k = plan.allowance(&flow.tracker, now);
                if k > 0 {
                    for i in 0..k {
                        let q = &plan.queries[(flow.next_query + i) % plan.queries.len()];
                        let slot = tx.slot_mut(i);
                        slot[..q.len()].copy_from_slice(q);
                        slot[..2].copy_from_slice(&flow.tracker.peek_id(i).to_be_bytes());
                        tx.set_len(i, q.len());
                    }
                    let sent = match tx.send(flow.socket.as_raw_fd(), k, false) {
                        Ok(n) => n,
                        Err(e) if transient(&e) => 0,
                        Err(e) => return Err(e).context("sendmmsg"),
                    };
                    let stamp = plan.now();
                    for _ in 0..sent {
                        flow.tracker.sent_one(stamp);
                    }
                    flow.next_query = (flow.next_query + sent) % plan.queries.len();
                    busy |= sent > 0;
                }
                if let Some(due) = plan.next_due(&flow.tracker) {
                    next_due = Some(next_due.map_or(due, |d: u64| d.min(due)));
                }
            }
            loop {
                let n = match rx.recv(
                    flow.socket.as_raw_fd(),
                    plan.batch,
                    false,
                    libc::MSG_DONTWAIT,
                ) {
                    Ok(n) => n,
                    Err(e) if transient(&e) => 0,
                    Err(e) => return Err(e).context("recvmmsg"),
                };
                if n == 0 {
                    break;
                }
                let stamp = plan.now();
                for i in 0..n {
                    let msg = rx.received(i);
                    if let Some(rcode) = response_rcode(msg) {
                        flow.tracker
                            .answer(u16::from_be_bytes([msg[0], msg[1]]), rcode, stamp);
                    }
                }
                busy = true;
                if n < plan.batch {
                    break;
                }
            }
            flow.tracker.expire(plan.now(), plan.timeout_ns);
        }
        if !busy {
            idle(&mut pollfds, next_due, plan.now());
        }
    }
    let mut total = Tracker::new(0);
    for flow in &mut flows {
        flow.tracker.abandon_all();
        total.merge_counts(&flow.tracker);
    }
    Ok((total, 0))
}

/// Errors that mean "try again later" on a non-blocking socket; ECONNREFUSED
/// is an ICMP port-unreachable from an earlier datagram (server not up).
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused
    ) || e.raw_os_error() == Some(libc::ENOBUFS)
}

fn connect_tcp(server: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&server, Duration::from_secs(1))?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Most query octets buffered for one connection before it must drain.
const TCP_WRITE_HIGH: usize = 64 * 1024;

fn run_tcp(plan: &Plan, mine: &[usize]) -> anyhow::Result<(Tracker, u64)> {
    let mut flows = Vec::with_capacity(mine.len());
    for &index in mine {
        flows.push(TcpFlow {
            stream: Some(connect_tcp(plan.server).context("connect")?),
            tracker: Tracker::new((index as u16).wrapping_mul(7919)),
            next_query: index * plan.queries.len() / plan.flows,
            wbuf: Vec::with_capacity(TCP_WRITE_HIGH),
            rbuf: Vec::with_capacity(64 * 1024),
            reconnects: 0,
        });
    }
    let mut chunk = vec![0u8; 64 * 1024];
    let mut pollfds: Vec<libc::pollfd> = Vec::with_capacity(flows.len());
    let deadline = plan.run_ns;
    loop {
        let now = plan.now();
        let sending = now < deadline;
        if !sending
            && (flows.iter().all(|f| f.tracker.outstanding() == 0)
                || now > deadline + plan.timeout_ns)
        {
            break;
        }
        let mut busy = false;
        let mut next_due = None::<u64>;
        for flow in &mut flows {
            if flow.stream.is_none() {
                if !sending {
                    continue;
                }
                flow.stream = connect_tcp(plan.server).ok();
                flow.reconnects += 1;
                if flow.stream.is_none() {
                    continue;
                }
            }
            let mut dead = false;
            if sending && flow.wbuf.len() < TCP_WRITE_HIGH {
                let k = plan.allowance(&flow.tracker, now);
                let stamp = plan.now();
                for _ in 0..k {
                    let q = &plan.queries[flow.next_query];
                    flow.wbuf.extend_from_slice(&(q.len() as u16).to_be_bytes());
                    let at = flow.wbuf.len();
                    flow.wbuf.extend_from_slice(q);
                    flow.wbuf[at..at + 2].copy_from_slice(&flow.tracker.peek_id(0).to_be_bytes());
                    flow.tracker.sent_one(stamp);
                    flow.next_query = (flow.next_query + 1) % plan.queries.len();
                }
                if let Some(due) = plan.next_due(&flow.tracker) {
                    next_due = Some(next_due.map_or(due, |d: u64| d.min(due)));
                }
            }
            let stream = flow.stream.as_mut().expect("connected above");
            if !flow.wbuf.is_empty() {
                match stream.write(&flow.wbuf) {
                    Ok(0) => dead = true,
                    Ok(n) => {
                        flow.wbuf.drain(..n);
                        busy = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => dead = true,
                }
            }
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) => {
                        dead = true;
                        break;
                    }
                    Ok(n) => {
                        flow.rbuf.extend_from_slice(&chunk[..n]);
                        busy = true;
                        if n < chunk.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        dead = true;
                        break;
                    }
                }
            }
            let stamp = plan.now();
            let mut at = 0;
            while flow.rbuf.len() - at >= 2 {
                let len = usize::from(u16::from_be_bytes([flow.rbuf[at], flow.rbuf[at + 1]]));
                if flow.rbuf.len() - at - 2 < len {
                    break;
                }
                let msg = &flow.rbuf[at + 2..at + 2 + len];
                if let Some(rcode) = response_rcode(msg) {
                    flow.tracker
                        .answer(u16::from_be_bytes([msg[0], msg[1]]), rcode, stamp);
                }
                at += 2 + len;
            }
            flow.rbuf.drain(..at);
            flow.tracker.expire(plan.now(), plan.timeout_ns);
            if dead {
                flow.stream = None;
                flow.wbuf.clear();
                flow.rbuf.clear();
                flow.tracker.abandon_all();
            }
        }
        if !busy {
            pollfds.clear();
            pollfds.extend(flows.iter().filter_map(|f| {
                f.stream.as_ref().map(|s| libc::pollfd {
                    fd: s.as_raw_fd(),
                    events: libc::POLLIN | if f.wbuf.is_empty() { 0 } else { libc::POLLOUT },
                    revents: 0,
                })
            }));
            idle(&mut pollfds, next_due, plan.now());
        }
    }
    let mut total = Tracker::new(0);
    let mut reconnects = 0;
    for flow in &mut flows {
        flow.tracker.abandon_all();
        total.merge_counts(&flow.tracker);
        reconnects += flow.reconnects;
    }
    Ok((total, reconnects))
}
