//! Other vendors' authoritative servers as replication peers: Knot, NSD, BIND and PowerDNS
//! started as primaries or secondaries of one zone on loopback, so that interop tests can
//! put dnsd on either side of a zone transfer (TSIG, NOTIFY, AXFR/IXFR).
//!
//! Each [`Peer`] lives entirely in its own scratch directory (configuration, zone files,
//! journals, pid file, control socket, log) and listens on a 127.0.0.1 port from
//! [`free_port`]; nothing outside the directory is written and nothing leaves the machine.
//! Readiness is "the port answers a query"; every wait is bounded and panics with the
//! daemon's log. The daemon runs in its own process group so that a drop stops its
//! helper processes too (NSD forks a transfer daemon and server children).
//!
//! Secondaries are configured to retry a failed refresh within a second or two but to
//! refresh on their own only after the SOA refresh interval, so a change that shows up
//! within seconds came through NOTIFY.

use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::rr::{RData, RecordType};

use crate::{ANSWER_TIMEOUT, Query, Reply, free_port, rdata_text, scratch_dir, udp_exchange};

/// How long a peer may take to answer its first query.
const PEER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a control tool (knotc, pdnsutil, a checkconf) may run.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a primary may take to serve a replaced zone.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a single query to a peer may stay unanswered.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a stopped daemon gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// A TSIG key as the peers' configurations spell it.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigSpec {
    /// Algorithm name, e.g. `hmac-sha256` (the spelling Knot, NSD, BIND and PowerDNS share).
    pub algorithm: String,
    /// Key name, e.g. `xfr-key.` (a trailing dot is optional).
    pub name: String,
    /// The shared secret, base64.
    pub secret_b64: String,
}

impl TsigSpec {
    /// An hmac-sha256 key.
    pub fn hmac_sha256(name: &str, secret_b64: &str) -> TsigSpec {
        TsigSpec {
            algorithm: "hmac-sha256".into(),
            name: name.into(),
            secret_b64: secret_b64.into(),
        }
    }

    /// The key name without its trailing dot (PowerDNS and NSD compare names as given).
    fn bare_name(&self) -> &str {
        self.name.strip_suffix('.').unwrap_or(&self.name)
    }
}

// The secret stays out of assertion messages and logs.
impl fmt::Debug for TsigSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigSpec")
            .field("algorithm", &self.algorithm)
            .field("name", &self.name)
            .field("secret_b64", &"<redacted>")
            .finish()
    }
}

/// Which implementation a peer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Knot DNS (`knotd`, controlled by `knotc`).
    Knot,
    /// NSD (`nsd`).
    Nsd,
    /// BIND 9 (`named`).
    Bind,
    /// PowerDNS Authoritative with the bind backend (`pdns_server`, set up by `pdnsutil`).
    PowerDns,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 4] = [Vendor::Knot, Vendor::Nsd, Vendor::Bind, Vendor::PowerDns];

    /// Whether [`Peer::primary`] can run this vendor (all but PowerDNS).
    pub fn can_be_primary(self) -> bool {
        self != Vendor::PowerDns
    }

    /// A short lowercase name for directories and messages.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Knot => "knot",
            Vendor::Nsd => "nsd",
            Vendor::Bind => "bind",
            Vendor::PowerDns => "pdns",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which side of the transfer a peer is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Primary,
    Secondary,
}

/// A running daemon; stopped (and its directory removed) on drop.
pub struct Peer {
    vendor: Vendor,
    role: Role,
    zone: String,
    addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

/// A fresh 127.0.0.1 address with a port free for UDP and TCP, for a peer started later
/// with [`Peer::secondary_at`] or [`Peer::primary_at`] (so that a primary can be told
/// where to send NOTIFY before its secondaries exist, or the other way round).
pub fn reserve_addr() -> SocketAddr {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    SocketAddr::new(ip, free_port(ip))
}

impl Peer {
    /// A secondary of `zone` transferring from `primary`, with TSIG if given, accepting
    /// NOTIFY from 127.0.0.0/8 (signed with the key if given), on a free 127.0.0.1 port.
    pub fn secondary(
        vendor: Vendor,
        zone: &str,
        primary: SocketAddr,
        tsig: Option<&TsigSpec>,
    ) -> Peer {
        Setup::secondary(reserve_addr(), vendor, zone, primary, tsig).start(true)
    }

    /// [`Peer::secondary`] listening on `addr` (from [`reserve_addr`]).
    pub fn secondary_at(
        addr: SocketAddr,
        vendor: Vendor,
        zone: &str,
        primary: SocketAddr,
        tsig: Option<&TsigSpec>,
    ) -> Peer {
        Setup::secondary(addr, vendor, zone, primary, tsig).start(false)
    }

    /// A primary serving `zone` from `zone_text` (presentation format; relative names are
    /// relative to `zone`), allowing transfers to loopback (with the key only, if given),
    /// sending NOTIFY (signed, if a key is given) to `notify`, and keeping IXFR history of
    /// the changes [`Peer::replace_zone`] makes. Knot, BIND and NSD; PowerDNS primaries are
    /// not offered.
    pub fn primary(
        vendor: Vendor,
        zone: &str,
        zone_text: &str,
        tsig: Option<&TsigSpec>,
        notify: &[SocketAddr],
    ) -> Peer {
        Setup::primary(reserve_addr(), vendor, zone, zone_text, tsig, notify).start(true)
    }

    /// [`Peer::primary`] listening on `addr` (from [`reserve_addr`]).
    pub fn primary_at(
        addr: SocketAddr,
        vendor: Vendor,
        zone: &str,
        zone_text: &str,
        tsig: Option<&TsigSpec>,
        notify: &[SocketAddr],
    ) -> Peer {
        Setup::primary(addr, vendor, zone, zone_text, tsig, notify).start(false)
    }

    /// Knot at `addr` (from [`reserve_addr`]) consuming the catalog zone `catalog`
    /// (RFC 9432) from `primary` with `tsig`: Knot's `catalog-role: interpret`, with a
    /// `catalog-template` that makes every listed member a secondary zone of the same
    /// primary with the same key, accepting NOTIFY signed with it from 127.0.0.0/8. A
    /// member leaving the catalog is removed. The catalog zone is the readiness probe.
    pub fn knot_catalog_consumer(
        addr: SocketAddr,
        catalog: &str,
        primary: SocketAddr,
        tsig: &TsigSpec,
    ) -> Peer {
        let setup = Setup::secondary(addr, Vendor::Knot, catalog, primary, Some(tsig));
        let dir = scratch_dir("peer-knot-catalog");
        let cmd = setup.knot_catalog_consumer(&dir);
        let child = setup.spawn(cmd, &dir);
        let mut peer = Peer {
            vendor: Vendor::Knot,
            role: Role::Secondary,
            zone: setup.zone.clone(),
            addr,
            dir,
            child,
        };
        if let Err(e) = wait_ready(&mut peer) {
            panic!(
                "Knot catalog consumer did not start on {addr}: {e}\n--- log ---\n{}",
                peer.log()
            );
        }
        peer
    }

    /// Replaces a primary's zone with `zone_text` (which must carry a new, higher serial),
    /// makes the daemon load it, and waits until it serves the new serial; the daemon then
    /// sends NOTIFY and answers IXFR with the difference.
    pub fn replace_zone(&self, zone_text: &str) {
        assert_eq!(
            self.role,
            Role::Primary,
            "replace_zone on a {} secondary",
            self.vendor
        );
        let before = self.serial(&self.zone);
        let want = soa_serial_in(zone_text);
        write_atomically(&self.zone_file(), zone_text);
        match self.vendor {
            Vendor::Knot => {
                let mut cmd = Command::new(tool("knotc"));
                cmd.arg("-s")
                    .arg(self.dir.join("knot.sock"))
                    .args(["-t", "5", "-b", "zone-reload"])
                    .arg(&self.zone);
                self.run_tool(cmd, "knotc zone-reload");
            }
            // NSD re-reads changed zone files on SIGHUP, BIND reloads configuration and
            // zones.
            Vendor::Bind | Vendor::Nsd => self.signal(libc::SIGHUP),
            Vendor::PowerDns => unreachable!("no PowerDNS primaries"),
        }
        let start = Instant::now();
        let loaded = |now: Option<u32>| match want {
            Some(w) => now == Some(w),
            None => now.is_some() && now != before,
        };
        while !loaded(self.serial(&self.zone)) {
            if start.elapsed() > RELOAD_TIMEOUT {
                panic!(
                    "{} primary does not serve the new serial {want:?} (was {before:?}) for {} \
                     {RELOAD_TIMEOUT:?} after the reload\n{}",
                    self.vendor,
                    self.zone,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where the peer answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The daemon's process id (for resource figures in benchmarks).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Which implementation this is.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The SOA serial the peer serves for `zone`: `None` if it does not answer, answers
    /// with an error RCODE (SERVFAIL for a zone not yet transferred) or without the SOA.
    pub fn serial(&self, zone: &str) -> Option<u32> {
        let reply = self.query(zone, RecordType::SOA)?;
        if reply.rcode() != 0 {
            return None;
        }
        reply.msg.answers.iter().find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
    }

    /// Waits until [`Peer::serial`] is `serial`; panics after `timeout` with the log.
    #[track_caller]
    pub fn wait_serial(&self, zone: &str, serial: u32, timeout: Duration) {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() <= timeout {
            last = self.serial(zone);
            if last == Some(serial) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} {:?} at {} serves serial {last:?} for {zone}, not {serial}, after {timeout:?}\n\
             --- log ---\n{}",
            self.vendor,
            self.role,
            self.addr,
            self.log()
        );
    }

    /// The answer records for `name`/`rtype` as presentation lines
    /// (`owner TTL IN TYPE rdata`, owner lowercase, sorted); empty for an answer without
    /// them (NXDOMAIN, NODATA, an error RCODE). Panics if the peer does not answer at all.
    pub fn lookup(&self, name: &str, rtype: RecordType) -> Vec<String> {
        let Some(reply) = self.query(name, rtype) else {
            panic!(
                "{} at {} does not answer {name} {rtype}\n--- log ---\n{}",
                self.vendor,
                self.addr,
                self.log()
            );
        };
        let mut lines: Vec<String> = reply
            .msg
            .answers
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| {
                format!(
                    "{} {} IN {} {}",
                    r.name.to_ascii().to_ascii_lowercase(),
                    r.ttl,
                    r.record_type(),
                    rdata_text(&r.data)
                )
            })
            .collect();
        lines.sort();
        lines
    }

    /// Waits until the log contains `needle` (e.g. `"IXFR, incoming"` from Knot), and
    /// returns the log; panics after `timeout` with the log.
    #[track_caller]
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} {:?} at {} did not log {needle:?} within {timeout:?}\n--- log ---\n{log}",
                    self.vendor, self.role, self.addr
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// The peer's scratch directory (configuration, zone files, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One query over UDP, asked again while unanswered (a busy daemon may drop one)
    /// for up to [`ANSWER_TIMEOUT`].
    fn query(&self, name: &str, rtype: RecordType) -> Option<Reply> {
        let q = Query::new(name, rtype).to_bytes();
        let start = Instant::now();
        while start.elapsed() < ANSWER_TIMEOUT {
            if let Some(bytes) = udp_exchange(self.addr, &q, QUERY_TIMEOUT) {
                return Some(Reply::parse(bytes));
            }
        }
        None
    }

    fn zone_file(&self) -> PathBuf {
        self.dir.join(format!("{}zone", self.zone))
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({sig}) failed: {}", io::Error::last_os_error());
    }

    #[track_caller]
    fn run_tool(&self, cmd: Command, what: &str) {
        if let Err(e) = run_tool(cmd, what) {
            panic!("{e}\n--- {} log ---\n{}", self.vendor, self.log());
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        stop(&mut self.child);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("vendor", &self.vendor)
            .field("role", &self.role)
            .field("zone", &self.zone)
            .field("addr", &self.addr)
            .field("dir", &self.dir)
            .finish()
    }
}

/// SIGTERM to the daemon's process group, SIGKILL to whatever of it lingers.
fn stop(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the process group our own child leads (see `Setup::spawn`); the
    // leader is not reaped before the last kill below, so the group id cannot have been
    // reused.
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    let start = Instant::now();
    while start.elapsed() < STOP_GRACE && !exited_unreaped(pid) {
        thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let _ = child.wait();
}

/// Whether `pid` (our child) has exited, leaving it to be reaped later.
fn exited_unreaped(pid: libc::pid_t) -> bool {
    // SAFETY: waitid with WNOWAIT only inspects our own child; the siginfo is ours.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc != 0 || info.si_pid() != 0
    }
}

/// The zone name with exactly one trailing dot.
fn zone_name(zone: &str) -> String {
    format!("{}.", zone.trim_end_matches('.'))
}

/// The serial of the first SOA record in a zone's presentation text: the third field
/// after the `SOA` token, once comments and parentheses are gone.
fn soa_serial_in(zone_text: &str) -> Option<u32> {
    let mut tokens = Vec::new();
    for line in zone_text.lines() {
        let code = line.split(';').next().unwrap_or("");
        tokens.extend(
            code.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                .filter(|t| !t.is_empty()),
        );
    }
    let soa = tokens.iter().position(|t| t.eq_ignore_ascii_case("SOA"))?;
    tokens.get(soa + 3)?.parse().ok()
}

/// Writes through a temporary file and a rename, so a daemon never reads half a zone.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

fn read_log(dir: &Path) -> String {
    let mut out = fs::read_to_string(dir.join("log")).unwrap_or_default();
    // NSD writes its own log file besides what it prints on stderr.
    if let Ok(own) = fs::read_to_string(dir.join("nsd.log")) {
        out.push_str("--- nsd.log ---\n");
        out.push_str(&own);
    }
    out
}

/// Runs a short-lived tool to completion within [`TOOL_TIMEOUT`]; its output in the error.
fn run_tool(mut cmd: Command, what: &str) -> Result<String, String> {
    let out_dir = scratch_dir("tool");
    let out_path = out_dir.join("out");
    let out = fs::File::create(&out_path).map_err(|e| format!("{what}: {e}"))?;
    let err = out.try_clone().map_err(|e| format!("{what}: {e}"))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let mut child = cmd.spawn().map_err(|e| format!("{what}: spawn: {e}"))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Ok(st),
            Ok(None) if start.elapsed() > TOOL_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("still running after {TOOL_TIMEOUT:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => break Err(e.to_string()),
        }
    };
    let text = fs::read_to_string(&out_path).unwrap_or_default();
    let _ = fs::remove_dir_all(&out_dir);
    match status {
        Ok(st) if st.success() => Ok(text),
        Ok(st) => Err(format!("{what} failed with {st}:\n{text}")),
        Err(e) => Err(format!("{what}: {e}:\n{text}")),
    }
}

/// A daemon or tool of the peers, or a panic saying which package provides it.
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{name} is not installed: apt-get install knot knot-dnsutils nsd bind9 pdns-server \
         pdns-backend-bind (.ci/run does this)"
    );
}

/// `addr` as the address-and-port spelling of Knot and NSD (`ip@port`).
fn at_port(addr: SocketAddr) -> String {
    format!("{}@{}", addr.ip(), addr.port())
}

/// Everything needed to write one daemon's configuration and start it.
struct Setup {
    vendor: Vendor,
    role: Role,
    zone: String,
    addr: SocketAddr,
    tsig: Option<TsigSpec>,
    primary: Option<SocketAddr>,
    notify: Vec<SocketAddr>,
    zone_text: Option<String>,
}

impl Setup {
    fn secondary(
        addr: SocketAddr,
        vendor: Vendor,
        zone: &str,
        primary: SocketAddr,
        tsig: Option<&TsigSpec>,
    ) -> Setup {
        Setup {
            vendor,
            role: Role::Secondary,
            zone: zone_name(zone),
            addr,
            tsig: tsig.cloned(),
            primary: Some(primary),
            notify: Vec::new(),
            zone_text: None,
        }
    }

    fn primary(
        addr: SocketAddr,
        vendor: Vendor,
        zone: &str,
        zone_text: &str,
        tsig: Option<&TsigSpec>,
        notify: &[SocketAddr],
    ) -> Setup {
        assert!(
            vendor.can_be_primary(),
            "{vendor} primaries are not offered by this harness (PowerDNS picks NOTIFY targets \
             by resolving the zone's NS names)"
        );
        Setup {
            vendor,
            role: Role::Primary,
            zone: zone_name(zone),
            addr,
            tsig: tsig.cloned(),
            primary: None,
            notify: notify.to_vec(),
            zone_text: Some(zone_text.to_string()),
        }
    }

    /// Starts the daemon; with `fresh_ports`, a port taken meanwhile by someone else is
    /// replaced by another one (a caller-chosen address is kept, and a clash panics).
    fn start(mut self, fresh_ports: bool) -> Peer {
        assert!(
            self.addr.is_ipv4() && self.addr.ip().is_loopback(),
            "peers listen on 127.0.0.0/8, not {}",
            self.addr
        );
        let attempts = if fresh_ports { 4 } else { 1 };
        let mut last = String::new();
        for _ in 0..attempts {
            match self.try_start() {
                Ok(peer) => return peer,
                Err((msg, log)) => {
                    // Knot, NSD and PowerDNS say "address already in use"; BIND gives up
                    // on the interface instead.
                    let lower = log.to_ascii_lowercase();
                    let port_taken = lower.contains("address already in use")
                        || lower.contains("unable to listen on any configured interfaces");
                    last = format!(
                        "{} {:?} did not start on {}: {msg}\n--- log ---\n{log}",
                        self.vendor, self.role, self.addr
                    );
                    if !port_taken {
                        break;
                    }
                    self.addr = reserve_addr();
                }
            }
        }
        panic!("{last}");
    }

    /// A running peer, or what went wrong and the daemon's log.
    fn try_start(&self) -> Result<Peer, (String, String)> {
        let dir = scratch_dir(&format!("peer-{}", self.vendor));
        if let Some(text) = &self.zone_text {
            write_atomically(&dir.join(format!("{}zone", self.zone)), text);
        }
        let cmd = match self.vendor {
            Vendor::Knot => self.knot(&dir),
            Vendor::Nsd => self.nsd(&dir),
            Vendor::Bind => self.bind(&dir),
            Vendor::PowerDns => self.pdns(&dir),
        };
        let child = self.spawn(cmd, &dir);
        let mut peer = Peer {
            vendor: self.vendor,
            role: self.role,
            zone: self.zone.clone(),
            addr: self.addr,
            dir,
            child,
        };
        match wait_ready(&mut peer) {
            Ok(()) => Ok(peer),
            // Dropping the peer stops it and removes its directory.
            Err(e) => Err((e, peer.log())),
        }
    }

    fn spawn(&self, mut cmd: Command, dir: &Path) -> Child {
        let log = fs::File::create(dir.join("log")).expect("create log file");
        let log2 = log.try_clone().expect("clone log file");
        cmd.current_dir(dir)
            .stdout(log)
            .stderr(log2)
            // Its own group, so that a drop reaches the helper processes too.
            .process_group(0);
        crate::spawn_reaped(cmd).unwrap_or_else(|e| panic!("spawn {}: {e}", self.vendor))
    }

    fn check(&self, cmd: Command, what: &str) {
        if let Err(e) = run_tool(cmd, what) {
            panic!("{} configuration rejected: {e}", self.vendor);
        }
    }

    //----------- Knot --------------------------------------------------------------------

    fn knot(&self, dir: &Path) -> Command {
        let d = dir.display();
        let mut conf = format!(
            "server:\n  rundir: \"{d}\"\n  pidfile: \"{d}/knot.pid\"\n  listen: {listen}\n\
             control:\n  listen: \"{d}/knot.sock\"\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n  storage: \"{d}\"\n",
            listen = at_port(self.addr),
        );
        if let Some(k) = &self.tsig {
            conf.push_str(&format!(
                "key:\n  - id: {}\n    algorithm: {}\n    secret: {}\n",
                k.name, k.algorithm, k.secret_b64
            ));
        }
        let key_line = |indent: &str| {
            self.tsig
                .as_ref()
                .map(|k| format!("{indent}key: {}\n", k.name))
                .unwrap_or_default()
        };
        let mut zone_extra = String::new();
        match self.role {
            Role::Primary => {
                if !self.notify.is_empty() {
                    conf.push_str("remote:\n");
                    let mut ids = Vec::new();
                    for (i, a) in self.notify.iter().enumerate() {
                        conf.push_str(&format!(
                            "  - id: notify{i}\n    address: {}\n{}",
                            at_port(*a),
                            key_line("    ")
                        ));
                        ids.push(format!("notify{i}"));
                    }
                    zone_extra.push_str(&format!("    notify: [{}]\n", ids.join(", ")));
                }
                conf.push_str(&format!(
                    "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n{}",
                    key_line("    ")
                ));
                // The zone file is the source: a reload diffs it against the served zone and
                // keeps the difference in the journal for IXFR.
                conf.push_str(&format!(
                    "template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
                     zonefile-load: difference\n    journal-content: changes\n"
                ));
            }
            Role::Secondary => {
                let primary = self.primary.expect("secondary has a primary");
                conf.push_str(&format!(
                    "remote:\n  - id: primary\n    address: {}\n{}",
                    at_port(primary),
                    key_line("    ")
                ));
                conf.push_str(&format!(
                    "acl:\n  - id: notify\n    address: 127.0.0.0/8\n    action: notify\n{}",
                    key_line("    ")
                ));
                // Transferred data lives only in the journal; retries come fast, refreshes
                // only by the SOA (so NOTIFY is what moves a test along).
                conf.push_str(&format!(
                    "template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
                     zonefile-load: none\n    journal-content: all\n    \
                     retry-min-interval: 1\n    retry-max-interval: 2\n"
                ));
                zone_extra.push_str("    master: primary\n");
            }
        }
        let acl = match self.role {
            Role::Primary => "xfr",
            Role::Secondary => "notify",
        };
        conf.push_str(&format!(
            "zone:\n  - domain: {zone}\n    file: \"{d}/{zone}zone\"\n    acl: {acl}\n{zone_extra}",
            zone = self.zone
        ));
        let path = dir.join("knot.conf");
        fs::write(&path, conf).expect("write knot.conf");
        let mut check = Command::new(tool("knotc"));
        check.arg("-c").arg(&path).arg("conf-check");
        self.check(check, "knotc conf-check");
        let mut cmd = Command::new(tool("knotd"));
        cmd.arg("-c").arg(&path);
        cmd
    }

    /// `knot.conf` for [`Peer::knot_catalog_consumer`]: the catalog zone and the
    /// template its members get. Both keep transferred data in the journal only and
    /// retry a failed refresh within a second or two, like [`Setup::knot`]'s secondaries.
    fn knot_catalog_consumer(&self, dir: &Path) -> Command {
        let d = dir.display();
        let k = self.tsig.as_ref().expect("a catalog consumer has a key");
        let primary = self.primary.expect("a catalog consumer has a primary");
        let secondary_settings = format!(
            "    storage: \"{d}\"\n    zonefile-sync: -1\n    zonefile-load: none\n    \
             journal-content: all\n    retry-min-interval: 1\n    retry-max-interval: 2\n    \
             master: primary\n    acl: notify\n"
        );
        let conf = format!(
            "server:\n  rundir: \"{d}\"\n  pidfile: \"{d}/knot.pid\"\n  listen: {listen}\n\
             control:\n  listen: \"{d}/knot.sock\"\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n  storage: \"{d}\"\n\
             key:\n  - id: {key}\n    algorithm: {alg}\n    secret: {secret}\n\
             remote:\n  - id: primary\n    address: {primary}\n    key: {key}\n\
             acl:\n  - id: notify\n    address: 127.0.0.0/8\n    action: notify\n    key: {key}\n\
             template:\n  - id: default\n{secondary_settings}  - id: member\n{secondary_settings}\
             zone:\n  - domain: {zone}\n    catalog-role: interpret\n    catalog-template: member\n",
            listen = at_port(self.addr),
            key = k.name,
            alg = k.algorithm,
            secret = k.secret_b64,
            primary = at_port(primary),
            zone = self.zone,
        );
        let path = dir.join("knot.conf");
        fs::write(&path, conf).expect("write knot.conf");
        let mut check = Command::new(tool("knotc"));
        check.arg("-c").arg(&path).arg("conf-check");
        self.check(check, "knotc conf-check");
        let mut cmd = Command::new(tool("knotd"));
        cmd.arg("-c").arg(&path);
        cmd
    }

    //----------- NSD ---------------------------------------------------------------------

    fn nsd(&self, dir: &Path) -> Command {
        let d = dir.display();
        let mut conf = format!(
            "server:\n  ip-address: {listen}\n  port: {port}\n  do-ip6: no\n  username: \"\"\n  \
             chroot: \"\"\n  zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  \
             xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  \
             logfile: \"{d}/nsd.log\"\n  verbosity: 2\n  server-count: 1\n  \
             xfrd-reload-timeout: 0\n\
             remote-control:\n  control-enable: no\n",
            listen = at_port(self.addr),
            port = self.addr.port(),
        );
        let key = match &self.tsig {
            Some(k) => {
                conf.push_str(&format!(
                    "key:\n  name: \"{}\"\n  algorithm: {}\n  secret: \"{}\"\n",
                    k.bare_name(),
                    k.algorithm,
                    k.secret_b64
                ));
                k.bare_name().to_string()
            }
            None => "NOKEY".to_string(),
        };
        conf.push_str(&format!(
            "zone:\n  name: \"{}\"\n  zonefile: \"{}zone\"\n",
            self.zone, self.zone
        ));
        match self.role {
            Role::Primary => {
                // IXFR history is computed from zone file changes on reload.
                conf.push_str(&format!(
                    "  provide-xfr: 127.0.0.0/8 {key}\n  store-ixfr: yes\n  create-ixfr: yes\n"
                ));
                for a in &self.notify {
                    conf.push_str(&format!("  notify: {} {key}\n", at_port(*a)));
                }
            }
            Role::Secondary => {
                let primary = self.primary.expect("secondary has a primary");
                conf.push_str(&format!(
                    "  request-xfr: {} {key}\n  allow-notify: 127.0.0.0/8 {key}\n  \
                     min-retry-time: 1\n  max-retry-time: 2\n",
                    at_port(primary)
                ));
            }
        }
        let path = dir.join("nsd.conf");
        fs::write(&path, conf).expect("write nsd.conf");
        let mut check = Command::new(tool("nsd-checkconf"));
        check.arg(&path);
        self.check(check, "nsd-checkconf");
        let mut cmd = Command::new(tool("nsd"));
        cmd.arg("-d").arg("-c").arg(&path);
        cmd
    }

    //----------- BIND --------------------------------------------------------------------

    fn bind(&self, dir: &Path) -> Command {
        let d = dir.display();
        // An empty trust-anchor file: nothing is validated, and /etc is not read.
        fs::write(dir.join("bind.keys"), "").expect("write bind.keys");
        let mut conf = format!(
            "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  \
             session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  \
             bindkeys-file \"{d}/bind.keys\";\n  \
             listen-on port {port} {{ {ip}; }};\n  listen-on-v6 {{ none; }};\n  \
             recursion no;\n  dnssec-validation no;\n  notify-delay 0;\n  \
             min-retry-time 1;\n  max-retry-time 2;\n}};\ncontrols {{ }};\n",
            port = self.addr.port(),
            ip = self.addr.ip(),
        );
        let key_ref = match &self.tsig {
            Some(k) => {
                conf.push_str(&format!(
                    "key \"{}\" {{ algorithm {}; secret \"{}\"; }};\n",
                    k.name, k.algorithm, k.secret_b64
                ));
                format!(" key \"{}\"", k.name)
            }
            None => String::new(),
        };
        let zone = self.zone.trim_end_matches('.');
        let body = match self.role {
            Role::Primary => {
                let allow = match &self.tsig {
                    Some(k) => format!("key \"{}\";", k.name),
                    None => "127.0.0.0/8;".into(),
                };
                let targets: String = self
                    .notify
                    .iter()
                    .map(|a| format!(" {} port {}{key_ref};", a.ip(), a.port()))
                    .collect();
                let notify = if self.notify.is_empty() {
                    "  notify no;\n".to_string()
                } else {
                    format!("  notify explicit;\n  also-notify {{{targets} }};\n")
                };
                format!(
                    "  type primary;\n  file \"{zone}.zone\";\n  allow-transfer {{ {allow} }};\n  \
                     ixfr-from-differences yes;\n{notify}"
                )
            }
            Role::Secondary => {
                let primary = self.primary.expect("secondary has a primary");
                let allow = match &self.tsig {
                    Some(k) => format!("key \"{}\";", k.name),
                    None => "127.0.0.0/8;".into(),
                };
                format!(
                    "  type secondary;\n  file \"{zone}.zone\";\n  notify no;\n  \
                     primaries {{ {} port {}{key_ref}; }};\n  allow-notify {{ {allow} }};\n",
                    primary.ip(),
                    primary.port()
                )
            }
        };
        conf.push_str(&format!("zone \"{zone}\" {{\n{body}}};\n"));
        let path = dir.join("named.conf");
        fs::write(&path, conf).expect("write named.conf");
        let mut check = Command::new(tool("named-checkconf"));
        check.arg(&path);
        self.check(check, "named-checkconf");
        let mut cmd = Command::new(tool("named"));
        // -g: foreground, log to stderr; one worker thread is plenty here.
        cmd.arg("-g").arg("-n").arg("1").arg("-c").arg(&path);
        cmd
    }

    //----------- PowerDNS ----------------------------------------------------------------

    fn pdns(&self, dir: &Path) -> Command {
        let d = dir.display();
        let primary = self.primary.expect("secondary has a primary");
        // No packet or query caches (a serial must change the moment a transfer lands),
        // no security poll (it would resolve a name on the Internet), no API, no syslog.
        let conf = format!(
            "launch=bind\nbind-config={d}/named.conf\nbind-dnssec-db={d}/dnssec.db\n\
             local-address={ip}:{port}\nquery-local-address={ip}\nsecondary=yes\n\
             allow-notify-from=127.0.0.0/8\nxfr-cycle-interval=1\nsocket-dir={d}\n\
             guardian=no\ndaemon=no\ndisable-syslog=yes\nloglevel=6\nwebserver=no\napi=no\n\
             security-poll-suffix=\ncache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\n\
             receiver-threads=1\ndistributor-threads=1\nsecondary-do-renotify=no\n",
            ip = self.addr.ip(),
            port = self.addr.port(),
        );
        fs::write(dir.join("pdns.conf"), conf).expect("write pdns.conf");
        let zone = self.zone.trim_end_matches('.');
        fs::write(
            dir.join("named.conf"),
            format!(
                "options {{ directory \"{d}\"; }};\n\
                 zone \"{zone}\" {{ type slave; file \"{d}/{zone}.zone\"; masters {{ {primary}; }}; }};\n"
            ),
        )
        .expect("write named.conf");
        let pdnsutil = |args: &[&str]| {
            let mut cmd = Command::new(tool("pdnsutil"));
            cmd.arg(format!("--config-dir={d}")).args(args);
            cmd
        };
        // The bind backend keeps TSIG keys and per-zone metadata in an SQLite side
        // database; AXFR-MASTER-TSIG names the key for transfers from the primary.
        let db = dir.join("dnssec.db").display().to_string();
        self.check(
            pdnsutil(&["create-bind-db", &db]),
            "pdnsutil create-bind-db",
        );
        // No IXFR metadata: PowerDNS 4.7 then asks for AXFR only. With `IXFR=1` it logs an
        // incremental transfer as committed, yet the bind backend keeps serving the old
        // serial.
        if let Some(k) = &self.tsig {
            self.check(
                pdnsutil(&[
                    "import-tsig-key",
                    k.bare_name(),
                    &k.algorithm,
                    &k.secret_b64,
                ]),
                "pdnsutil import-tsig-key",
            );
            self.check(
                pdnsutil(&["set-meta", zone, "AXFR-MASTER-TSIG", k.bare_name()]),
                "pdnsutil set-meta AXFR-MASTER-TSIG",
            );
        }
        let mut cmd = Command::new(tool("pdns_server"));
        cmd.arg(format!("--config-dir={d}"));
        cmd
    }
}

//----------- catalog zones -------------------------------------------------------------

/// What a catalog-zone peer does (RFC 9432), for [`Peer::catalog`].
pub enum CatalogSetup<'a> {
    /// Knot consumes `catalog` from `primary` (`catalog-role: interpret`): the catalog and
    /// every member are transferred from `primary` with the key (`catalog-template`).
    KnotConsumer { primary: SocketAddr },
    /// Knot generates `catalog` (`catalog-role: generate`) over `members` (zone, zone
    /// text), each `catalog-role: member`; everything transferable to loopback with the key
    /// and NOTIFYed to `notify`.
    KnotProducer {
        members: &'a [(&'a str, String)],
        notify: &'a [SocketAddr],
    },
    /// BIND serves `catalog` from `catalog_text` (a catalog written by the caller) and the
    /// `members` as plain primary zones, transferable with the key, NOTIFYing `notify`.
    BindPrimary {
        catalog_text: String,
        members: &'a [(&'a str, String)],
        notify: &'a [SocketAddr],
    },
    /// BIND consumes `catalog` from `primary` (`catalog-zones`, `default-primaries`).
    BindConsumer { primary: SocketAddr },
}

impl Peer {
    /// A Knot or BIND daemon set up around the catalog zone `catalog` as `setup` says,
    /// TSIG-keyed with `tsig`, listening on `addr` (from [`reserve_addr`]).
    pub fn catalog(
        addr: SocketAddr,
        catalog: &str,
        setup: CatalogSetup<'_>,
        tsig: &TsigSpec,
    ) -> Peer {
        assert!(addr.ip().is_loopback(), "peers listen on loopback");
        let catalog = zone_name(catalog);
        let dir = scratch_dir("peer-catalog");
        let (vendor, role, mut cmd) = match &setup {
            CatalogSetup::KnotConsumer { primary } => (
                Vendor::Knot,
                Role::Secondary,
                knot_catalog_consumer(&dir, addr, &catalog, *primary, tsig),
            ),
            CatalogSetup::KnotProducer { members, notify } => (
                Vendor::Knot,
                Role::Primary,
                knot_catalog_producer(&dir, addr, &catalog, members, notify, tsig),
            ),
            CatalogSetup::BindPrimary {
                catalog_text,
                members,
                notify,
            } => (
                Vendor::Bind,
                Role::Primary,
                bind_catalog_primary(&dir, addr, &catalog, catalog_text, members, notify, tsig),
            ),
            CatalogSetup::BindConsumer { primary } => (
                Vendor::Bind,
                Role::Secondary,
                bind_catalog_consumer(&dir, addr, &catalog, *primary, tsig),
            ),
        };
        let log = fs::File::create(dir.join("log")).expect("create log file");
        let log2 = log.try_clone().expect("clone log file");
        cmd.current_dir(&dir)
            .stdout(log)
            .stderr(log2)
            // Its own group, so that a drop reaches the helper processes too.
            .process_group(0);
        let child = crate::spawn_reaped(cmd).unwrap_or_else(|e| panic!("spawn {vendor}: {e}"));
        let mut peer = Peer {
            vendor,
            role,
            zone: catalog,
            addr,
            dir,
            child,
        };
        if let Err(e) = wait_ready(&mut peer) {
            panic!(
                "{vendor} catalog peer did not start on {addr}: {e}\n{}",
                peer.log()
            );
        }
        peer
    }

    /// Whether the peer answers `zone`'s SOA with NOERROR (it serves the zone).
    pub fn serves(&self, zone: &str) -> bool {
        self.serial(zone).is_some()
    }
}

/// Knot's `server`, `control`, `log`, `database` and `key` sections for `dir` and `addr`.
fn knot_head(dir: &Path, addr: SocketAddr, tsig: &TsigSpec) -> String {
    let d = dir.display();
    format!(
        "server:\n  rundir: \"{d}\"\n  pidfile: \"{d}/knot.pid\"\n  listen: {listen}\n\
         control:\n  listen: \"{d}/knot.sock\"\n\
         log:\n  - target: stderr\n    any: info\n\
         database:\n  storage: \"{d}\"\n\
         key:\n  - id: {}\n    algorithm: {}\n    secret: {}\n",
        tsig.name,
        tsig.algorithm,
        tsig.secret_b64,
        listen = at_port(addr),
    )
}

fn knot_command(dir: &Path, conf: String) -> Command {
    let path = dir.join("knot.conf");
    fs::write(&path, conf).expect("write knot.conf");
    let mut check = Command::new(tool("knotc"));
    check.arg("-c").arg(&path).arg("conf-check");
    if let Err(e) = run_tool(check, "knotc conf-check") {
        panic!("knot configuration rejected: {e}");
    }
    let mut cmd = Command::new(tool("knotd"));
    cmd.arg("-c").arg(&path);
    cmd
}

fn knot_catalog_consumer(
    dir: &Path,
    addr: SocketAddr,
    catalog: &str,
    primary: SocketAddr,
    tsig: &TsigSpec,
) -> Command {
    let d = dir.display();
    let mut conf = knot_head(dir, addr, tsig);
    conf.push_str(&format!(
        "remote:\n  - id: primary\n    address: {}\n    key: {key}\n\
         acl:\n  - id: notify\n    address: 127.0.0.0/8\n    action: notify\n    key: {key}\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
         zonefile-load: none\n    journal-content: all\n    \
         retry-min-interval: 1\n    retry-max-interval: 2\n  \
         - id: member\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
         zonefile-load: none\n    journal-content: all\n    master: primary\n    acl: notify\n    \
         retry-min-interval: 1\n    retry-max-interval: 2\n\
         zone:\n  - domain: {catalog}\n    master: primary\n    acl: notify\n    \
         catalog-role: interpret\n    catalog-template: member\n",
        at_port(primary),
        key = tsig.name,
    ));
    knot_command(dir, conf)
}

fn knot_catalog_producer(
    dir: &Path,
    addr: SocketAddr,
    catalog: &str,
    members: &[(&str, String)],
    notify: &[SocketAddr],
    tsig: &TsigSpec,
) -> Command {
    let d = dir.display();
    let mut conf = knot_head(dir, addr, tsig);
    let mut ids = Vec::new();
    if !notify.is_empty() {
        conf.push_str("remote:\n");
        for (i, a) in notify.iter().enumerate() {
            conf.push_str(&format!(
                "  - id: notify{i}\n    address: {}\n    key: {}\n",
                at_port(*a),
                tsig.name
            ));
            ids.push(format!("notify{i}"));
        }
    }
    let notify_line = if ids.is_empty() {
        String::new()
    } else {
        format!("    notify: [{}]\n", ids.join(", "))
    };
    conf.push_str(&format!(
        "acl:\n  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n    key: {}\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
         zonefile-load: difference\n    journal-content: changes\n\
         zone:\n  - domain: {catalog}\n    catalog-role: generate\n    acl: xfr\n{notify_line}",
        tsig.name
    ));
    for (zone, text) in members {
        let zone = zone_name(zone);
        write_atomically(&dir.join(format!("{zone}zone")), text);
        conf.push_str(&format!(
            "  - domain: {zone}\n    file: \"{d}/{zone}zone\"\n    acl: xfr\n{notify_line}    \
             catalog-role: member\n    catalog-zone: {catalog}\n"
        ));
    }
    knot_command(dir, conf)
}

/// BIND's `options` (with `extra` inside), `controls` and the key statement.
fn bind_head(dir: &Path, addr: SocketAddr, tsig: &TsigSpec, extra: &str) -> String {
    let d = dir.display();
    fs::write(dir.join("bind.keys"), "").expect("write bind.keys");
    format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  \
         session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  \
         bindkeys-file \"{d}/bind.keys\";\n  \
         listen-on port {port} {{ {ip}; }};\n  listen-on-v6 {{ none; }};\n  \
         recursion no;\n  dnssec-validation no;\n  notify-delay 0;\n  \
         min-retry-time 1;\n  max-retry-time 2;\n{extra}}};\ncontrols {{ }};\n\
         key \"{}\" {{ algorithm {}; secret \"{}\"; }};\n",
        tsig.name,
        tsig.algorithm,
        tsig.secret_b64,
        port = addr.port(),
        ip = addr.ip(),
    )
}

fn bind_command(dir: &Path, conf: String) -> Command {
    let path = dir.join("named.conf");
    fs::write(&path, conf).expect("write named.conf");
    let mut check = Command::new(tool("named-checkconf"));
    check.arg(&path);
    if let Err(e) = run_tool(check, "named-checkconf") {
        panic!("bind configuration rejected: {e}");
    }
    let mut cmd = Command::new(tool("named"));
    cmd.arg("-g").arg("-n").arg("1").arg("-c").arg(&path);
    cmd
}

fn bind_catalog_primary(
    dir: &Path,
    addr: SocketAddr,
    catalog: &str,
    catalog_text: &str,
    members: &[(&str, String)],
    notify: &[SocketAddr],
    tsig: &TsigSpec,
) -> Command {
    let mut conf = bind_head(dir, addr, tsig, "");
    let targets: String = notify
        .iter()
        .map(|a| format!(" {} port {} key \"{}\";", a.ip(), a.port(), tsig.name))
        .collect();
    let notify = if notify.is_empty() {
        "  notify no;\n".to_string()
    } else {
        format!("  notify explicit;\n  also-notify {{{targets} }};\n")
    };
    let zones = std::iter::once((catalog, catalog_text.to_string()))
        .chain(members.iter().map(|(z, t)| (*z, t.clone())));
    for (zone, text) in zones {
        let zone = zone.trim_end_matches('.');
        write_atomically(&dir.join(format!("{zone}.zone")), &text);
        conf.push_str(&format!(
            "zone \"{zone}\" {{\n  type primary;\n  file \"{zone}.zone\";\n  \
             allow-transfer {{ key \"{}\"; }};\n  ixfr-from-differences yes;\n{notify}}};\n",
            tsig.name
        ));
    }
    bind_command(dir, conf)
}

fn bind_catalog_consumer(
    dir: &Path,
    addr: SocketAddr,
    catalog: &str,
    primary: SocketAddr,
    tsig: &TsigSpec,
) -> Command {
    let zone = catalog.trim_end_matches('.');
    let from = format!(
        "{} port {} key \"{}\";",
        primary.ip(),
        primary.port(),
        tsig.name
    );
    let extra = format!(
        "  catalog-zones {{ zone \"{zone}\" default-primaries {{ {from} }} in-memory yes; }};\n  \
         allow-notify {{ 127.0.0.0/8; }};\n"
    );
    let mut conf = bind_head(dir, addr, tsig, &extra);
    conf.push_str(&format!(
        "zone \"{zone}\" {{\n  type secondary;\n  file \"{zone}.zone\";\n  notify no;\n  \
         primaries {{ {from} }};\n}};\n"
    ));
    bind_command(dir, conf)
}

/// Waits until the peer answers a UDP query (any RCODE) and accepts TCP.
fn wait_ready(peer: &mut Peer) -> Result<(), String> {
    let start = Instant::now();
    let q = Query::new(&peer.zone, RecordType::SOA).to_bytes();
    loop {
        if let Some(st) = peer.child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited early with {st}"));
        }
        if start.elapsed() > PEER_START_TIMEOUT {
            return Err(format!("no UDP answer within {PEER_START_TIMEOUT:?}"));
        }
        if udp_exchange(peer.addr, &q, Duration::from_millis(100)).is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    loop {
        if start.elapsed() > PEER_START_TIMEOUT {
            return Err(format!("no TCP accept within {PEER_START_TIMEOUT:?}"));
        }
        if TcpStream::connect_timeout(&peer.addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::soa_serial_in;

    #[test]
    fn soa_serial_on_one_line_and_across_parentheses() {
        assert_eq!(
            soa_serial_in("$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 1 604800 300\n"),
            Some(7)
        );
        assert_eq!(
            soa_serial_in(
                "@ 300 IN SOA ns1.x. h.x. ( ; primary, contact\n  2024010101 ; serial\n  1 2 3 4 )\n"
            ),
            Some(2024010101)
        );
        assert_eq!(soa_serial_in("www A 192.0.2.1\n"), None);
    }
}
