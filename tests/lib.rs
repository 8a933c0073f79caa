//! End-to-end test helpers: start the real `dnsd` binary on loopback ports and talk to it
//! over real UDP and TCP sockets.
//!
//! Reading order: [`Server`] (find the binary, pick ports, spawn, wait until it answers,
//! kill on drop), [`Query`] (build query bytes by hand, so every header bit and every
//! malformation is under the test's control), [`Reply`] (a response parsed twice: by
//! hickory-proto into a [`Message`] for record contents, and by a small raw walker for the
//! things hickory normalises away: the Z bit, the raw RCODE nibble, OPT details, the exact
//! question octets and the spelling of owner names), then the assertion helpers.
//!
//! Nothing here knows how dnsd is implemented: expectations live in the test modules and
//! come from `shared/spec/conformance.md`.

pub mod delv;
pub mod fleet;
pub mod http;
pub mod peers;
pub mod tls_loopback;
pub mod unbound;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

pub use hickory_proto::op::{Message, ResponseCode};
pub use hickory_proto::rr::{RData, Record, RecordType};

/// How long to wait for an answer that must come.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait before concluding that a query was dropped.
pub const DROP_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a freshly spawned server may take to answer its first query.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

//----------- paths ---------------------------------------------------------------------------

/// The directory holding the fixtures (`tests/data`).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A zone fixture by file name, e.g. `zone("example.test.zone")`.
pub fn zone(file: &str) -> PathBuf {
    data_dir().join("zones").join(file)
}

/// The dnsd binary: `$DNSD_BIN`, else `target/<profile>/dnsd` next to this test binary.
pub fn dnsd_bin() -> PathBuf {
    workspace_bin("dnsd", "DNSD_BIN")
}

/// A binary of this workspace: `$<env_var>`, else `target/<profile>/<name>` next to this
/// test binary.
pub fn workspace_bin(name: &str, env_var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{env_var}={} does not exist", p.display());
        return p;
    }
    // current_exe = target/<profile>/deps/e2e-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    let mut candidates = Vec::new();
    if let Some(deps) = exe.parent() {
        if let Some(profile) = deps.parent() {
            candidates.push(profile.join(name));
        }
        candidates.push(deps.join(name));
    }
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "{name} binary not found (looked at {candidates:?}); build it first: cargo build --workspace --bins"
    );
}

/// A scratch directory unique to this test process and call, removed by the caller's guard.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    if n == 0 {
        remove_stale_scratch();
    }
    let dir = std::env::temp_dir().join(format!("dnsd-e2e-{}-{tag}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Remove scratch directories left by earlier test processes that are gone (servers
/// kept in statics are never dropped, so their directories outlive the run).
fn remove_stale_scratch() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("dnsd-e2e-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

//----------- ports ---------------------------------------------------------------------------

/// Whether `[::1]` can be bound on this machine.
pub fn ipv6_loopback_available() -> bool {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// A port that is free for both UDP and TCP on `ip`.
///
/// Ports come from 20000..32000, below Linux's ephemeral range, so that client sockets of
/// parallel tests (which get ephemeral ports) never take a port a server is about to bind.
/// The start is derived from the process id so that two test processes rarely overlap; a
/// port that fails either bind is skipped.
pub fn free_port(ip: IpAddr) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20000 + (std::process::id() % 600) as u16 * 20,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..2000 {
        let mut port = NEXT.fetch_add(1, Ordering::Relaxed);
        if port >= 32000 {
            port = 20000 + port % 12000;
            NEXT.store(port + 1, Ordering::Relaxed);
        }
        let udp = UdpSocket::bind((ip, port));
        let tcp = TcpListener::bind((ip, port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
    panic!("no free port found on {ip}");
}

//----------- spawning --------------------------------------------------------------------------

/// Spawns children from one thread that lives as long as the test process, with
/// `PR_SET_PDEATHSIG = SIGKILL`: the kernel sends the signal when the *spawning thread*
/// exits, so spawning from short-lived test threads would kill servers early, while
/// spawning from here kills them only when the whole test process goes away (servers kept
/// in statics are never dropped).
pub fn spawn_reaped(mut cmd: Command) -> io::Result<Child> {
    type Job = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("dnsd-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs
                    // between fork and exec.
                    unsafe {
                        cmd.pre_exec(|| {
                            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                                return Err(io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    cmd.stdin(Stdio::null());
    tx.lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .expect("spawner alive");
    reply_rx.recv().expect("spawner replied")
}

/// Runs dnsd to completion (for CLI tests) with a deadline; kills it if it overstays.
pub fn run_dnsd(args: &[&str], deadline: Duration) -> Output {
    let dir = scratch_dir("run");
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let mut cmd = Command::new(dnsd_bin());
    cmd.args(args)
        .stdout(fs::File::create(&out_path).expect("stdout file"))
        .stderr(fs::File::create(&err_path).expect("stderr file"));
    let mut child = spawn_reaped(cmd).expect("spawn dnsd");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "dnsd {args:?} still running after {deadline:?}; stderr: {}",
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    let out = Output {
        status,
        stdout: fs::read(&out_path).unwrap_or_default(),
        stderr: fs::read(&err_path).unwrap_or_default(),
    };
    let _ = fs::remove_dir_all(&dir);
    out
}

/// `dnsd check-zone ORIGIN FILE`: the outcome, and stdout and stderr as one text.
pub fn check_zone(origin: &str, file: &Path) -> (Output, String) {
    let out = run_dnsd(
        &["check-zone", origin, &file.display().to_string()],
        Duration::from_secs(10),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

//----------- Server ----------------------------------------------------------------------------

/// The zones every shared server serves: origin and fixture file.
pub const STANDARD_ZONES: &[(&str, &str)] = &[
    ("example.test", "example.test.zone"),
    ("wild.test", "wild.test.zone"),
    ("trunc.test", "trunc.test.zone"),
];

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    zones: Vec<(String, PathBuf)>,
    args: Vec<String>,
    ip: IpAddr,
    extra_listens: usize,
    probe: Option<String>,
    stderr_closed: bool,
    port: Option<u16>,
}

impl ServerBuilder {
    /// Listen on this port (of the builder's IP) rather than a fresh one:
    /// for a server others must know the address of before it starts, or
    /// one restarted where it was.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Give dnsd a standard error whose reader is already gone: every write
    /// to it fails with EPIPE (a log shipper that died).
    pub fn stderr_closed(mut self) -> Self {
        self.stderr_closed = true;
        self
    }

    /// Serve `origin` from `file`.
    pub fn zone(mut self, origin: &str, file: impl Into<PathBuf>) -> Self {
        self.zones.push((origin.to_string(), file.into()));
        self
    }

    /// Serve the standard fixture zones.
    pub fn standard_zones(mut self) -> Self {
        for (origin, file) in STANDARD_ZONES {
            self = self.zone(origin, zone(file));
        }
        self
    }

    /// Extra command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Turn the REST API on at `api` with `key`, keeping API zones and keys in `data`.
    pub fn api(self, api: SocketAddr, key: &str, data: &Path) -> Self {
        self.args([
            "--api-listen".to_string(),
            api.to_string(),
            "--api-key".to_string(),
            key.to_string(),
            "--data-dir".to_string(),
            data.display().to_string(),
        ])
    }

    /// Listen on this loopback address instead of 127.0.0.1.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Add `n` more `--listen` addresses on the same IP (reachable via [`Server::addrs`]).
    pub fn extra_listens(mut self, n: usize) -> Self {
        self.extra_listens = n;
        self
    }

    /// Readiness probe name (default: the first zone's apex, else `.`).
    pub fn probe(mut self, name: &str) -> Self {
        self.probe = Some(name.to_string());
        self
    }

    /// Spawn and wait until it answers over UDP and accepts TCP.
    pub fn start(self) -> Server {
        let mut last_err = String::new();
        for _attempt in 0..5 {
            match self.try_start() {
                Ok(s) => return s,
                Err(StartError::PortTaken(e)) => last_err = e,
                Err(StartError::Fatal(e)) => panic!("{e}"),
            }
        }
        panic!("dnsd could not start after retries on fresh ports: {last_err}");
    }

    fn try_start(&self) -> Result<Server, StartError> {
        let dir = scratch_dir("srv");
        let stderr_path = dir.join("stderr");
        let stdout_path = dir.join("stdout");
        let mut addrs = Vec::new();
        for i in 0..=self.extra_listens {
            let port = match (i, self.port) {
                (0, Some(port)) => port,
                _ => free_port(self.ip),
            };
            addrs.push(SocketAddr::new(self.ip, port));
        }
        let mut args: Vec<String> = Vec::new();
        for a in &addrs {
            args.push("--listen".into());
            args.push(a.to_string());
        }
        for (origin, file) in &self.zones {
            args.push("--zone".into());
            args.push(format!("{origin}={}", file.display()));
        }
        args.extend(self.args.iter().cloned());
        if !args.iter().any(|a| a == "--data-dir") {
            // The default (./data) would be the fixture folder: every server
            // gets a data directory of its own instead.
            args.push("--data-dir".into());
            args.push(dir.join("data").display().to_string());
        }
        let mut cmd = Command::new(dnsd_bin());
        cmd.args(&args)
            .stdout(fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(fs::File::create(&stderr_path).expect("stderr file"));
        if self.stderr_closed {
            let (reader, writer) = io::pipe().expect("pipe");
            drop(reader);
            cmd.stderr(writer);
        }
        let child = spawn_reaped(cmd).map_err(|e| StartError::Fatal(format!("spawn dnsd: {e}")))?;
        let mut server = Server {
            child,
            addrs,
            args,
            dir,
            stderr_path,
        };
        let probe = self.probe.clone().unwrap_or_else(|| {
            self.zones
                .first()
                .map(|(o, _)| o.clone())
                .unwrap_or_else(|| ".".into())
        });
        match server.wait_ready(&probe) {
            Ok(()) => Ok(server),
            Err(e) => {
                let stderr = server.stderr();
                if stderr.to_ascii_lowercase().contains("in use") {
                    Err(StartError::PortTaken(stderr))
                } else {
                    Err(StartError::Fatal(format!(
                        "dnsd {:?} did not become ready: {e}\n--- dnsd stderr ---\n{stderr}",
                        server.args
                    )))
                }
            }
        }
    }
}

enum StartError {
    PortTaken(String),
    Fatal(String),
}

/// A running dnsd, killed on drop.
pub struct Server {
    child: Child,
    addrs: Vec<SocketAddr>,
    args: Vec<String>,
    dir: PathBuf,
    stderr_path: PathBuf,
}

impl Server {
    /// A builder with no zones and no arguments.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            zones: Vec::new(),
            args: Vec::new(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            extra_listens: 0,
            probe: None,
            stderr_closed: false,
            port: None,
        }
    }

    /// A fresh server with the standard zones and default settings plus `args`.
    pub fn standard(args: &[&str]) -> Server {
        Server::builder()
            .standard_zones()
            .args(args.iter().copied())
            .start()
    }

    /// The server shared by read-only tests of default behaviour (standard zones, no
    /// extra options). Started once per test process; killed when the process exits.
    pub fn shared() -> &'static Server {
        static SHARED: OnceLock<Server> = OnceLock::new();
        SHARED.get_or_init(|| Server::standard(&[]))
    }

    /// A second shared server for malformed and hostile input, so that a crash there does
    /// not take the well-formed tests down with it.
    pub fn hostile() -> &'static Server {
        static HOSTILE: OnceLock<Server> = OnceLock::new();
        HOSTILE.get_or_init(|| Server::standard(&[]))
    }

    /// The (first) listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// All listening addresses.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything dnsd wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Send SIGHUP (zone reload).
    pub fn sighup(&self) {
        // SAFETY: plain kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGHUP) };
        assert_eq!(rc, 0, "kill -HUP failed: {}", io::Error::last_os_error());
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A context string for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "dnsd {:?}\n--- dnsd stderr (tail) ---\n{}",
            self.args,
            tail(&self.stderr(), 40)
        )
    }

    fn wait_ready(&mut self, probe: &str) -> Result<(), String> {
        let start = Instant::now();
        let q = Query::new(probe, RecordType::SOA).to_bytes();
        for addr in self.addrs.clone() {
            // UDP: any response at all means the UDP side is up.
            loop {
                if let Some(st) = self.child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("dnsd exited early with {st}"));
                }
                if start.elapsed() > START_TIMEOUT {
                    return Err(format!("no UDP answer on {addr} within {START_TIMEOUT:?}"));
                }
                if udp_exchange(addr, &q, Duration::from_millis(100)).is_some() {
                    break;
                }
            }
            // TCP: connect succeeds.
            loop {
                if let Some(st) = self.child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("dnsd exited early with {st}"));
                }
                if start.elapsed() > START_TIMEOUT {
                    return Err(format!("no TCP accept on {addr} within {START_TIMEOUT:?}"));
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Query over UDP; panics (with server context) if nothing comes back.
    pub fn udp(&self, q: &Query) -> Reply {
        self.udp_to(self.addr(), q)
    }

    /// Query a specific listening address over UDP.
    pub fn udp_to(&self, addr: SocketAddr, q: &Query) -> Reply {
        let bytes = q.to_bytes();
        match udp_exchange(addr, &bytes, ANSWER_TIMEOUT) {
            Some(r) => Reply::parse(r),
            None => panic!(
                "no UDP response from {addr} within {ANSWER_TIMEOUT:?} to {q:?}\n{}",
                self.context()
            ),
        }
    }

    /// Query over TCP; panics (with server context) if nothing comes back.
    pub fn tcp(&self, q: &Query) -> Reply {
        self.tcp_to(self.addr(), q)
    }

    /// Query a specific listening address over TCP.
    pub fn tcp_to(&self, addr: SocketAddr, q: &Query) -> Reply {
        let mut c = TcpConn::connect(addr);
        c.send(&q.to_bytes());
        match c.recv(ANSWER_TIMEOUT) {
            Some(r) => Reply::parse(r),
            None => panic!(
                "no TCP response from {addr} within {ANSWER_TIMEOUT:?} to {q:?}\n{}",
                self.context()
            ),
        }
    }

    /// Raw UDP exchange: `None` when nothing arrives within [`DROP_TIMEOUT`].
    pub fn udp_raw(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        udp_exchange(self.addr(), bytes, DROP_TIMEOUT)
    }

    /// Raw UDP exchange that must be answered.
    pub fn udp_raw_answered(&self, bytes: &[u8]) -> Reply {
        match udp_exchange(self.addr(), bytes, ANSWER_TIMEOUT) {
            Some(r) => Reply::parse(r),
            None => panic!(
                "no UDP response within {ANSWER_TIMEOUT:?} to raw query {}\n{}",
                hex(bytes),
                self.context()
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Hex dump for failure messages.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

//----------- transport -------------------------------------------------------------------------

fn client_bind(addr: SocketAddr) -> UdpSocket {
    let local: SocketAddr = match addr.ip() {
        IpAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    UdpSocket::bind(local).expect("bind client UDP socket")
}

/// Send one datagram and wait up to `timeout` for one datagram back.
pub fn udp_exchange(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let sock = client_bind(addr);
    sock.connect(addr).expect("connect UDP");
    sock.send(bytes).ok()?;
    let mut buf = vec![0u8; 65535];
    // The socket is fresh and connected: the first datagram is the response.
    sock.set_read_timeout(Some(timeout)).ok()?;
    match sock.recv(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        // ECONNREFUSED from an ICMP port-unreachable: nobody listening (yet).
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            thread::sleep(Duration::from_millis(20));
            None
        }
        Err(_) => None,
    }
}

/// `msg` with the 2-octet length prefix DNS over TCP puts before it.
pub fn framed(msg: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    framed.extend_from_slice(msg);
    framed
}

/// A client TCP connection speaking length-prefixed DNS messages.
pub struct TcpConn {
    stream: TcpStream,
}

impl TcpConn {
    /// Connect (panics on failure).
    pub fn connect(addr: SocketAddr) -> TcpConn {
        let stream = TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("TCP connect to {addr}: {e}"));
        stream.set_nodelay(true).ok();
        TcpConn { stream }
    }

    /// Connect from the loopback address `source` (127.0.0.0/8 holds many),
    /// to look like another client.
    pub fn connect_from(addr: SocketAddr, source: IpAddr) -> TcpConn {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("socket");
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .unwrap_or_else(|e| panic!("bind {source}: {e}"));
        socket
            .connect_timeout(&addr.into(), ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("TCP connect to {addr} from {source}: {e}"));
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true).ok();
        TcpConn { stream }
    }

    /// Write one message with its 2-octet length prefix.
    pub fn send(&mut self, msg: &[u8]) {
        self.try_send(msg).expect("TCP write");
    }

    /// Write one framed message, reporting failure (the server may have
    /// closed the connection).
    pub fn try_send(&mut self, msg: &[u8]) -> io::Result<()> {
        self.stream.write_all(&framed(msg))
    }

    /// Write raw bytes (no framing).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("TCP write");
    }

    /// Write raw bytes, reporting failure (the server may have closed the connection).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Read one framed message; `None` on EOF, reset or timeout.
    pub fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        self.stream.set_read_timeout(Some(timeout)).ok()?;
        let mut len = [0u8; 2];
        self.stream.read_exact(&mut len).ok()?;
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut msg).ok()?;
        Some(msg)
    }

    /// Wait until the server closes the connection. Returns how long it took, or `None` if
    /// it was still open after `timeout` (any data received meanwhile is an error).
    pub fn wait_closed(&mut self, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        let mut buf = [0u8; 512];
        self.stream.set_read_timeout(Some(timeout)).ok()?;
        match self.stream.read(&mut buf) {
            Ok(0) => Some(start.elapsed()),
            Ok(n) => panic!("unexpected {n} octets on an idle connection"),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            // A reset counts as closed.
            Err(_) => Some(start.elapsed()),
        }
    }

    /// Makes writes that block longer than `timeout` fail with `WouldBlock`
    /// or `TimedOut`.
    pub fn set_write_timeout(&self, timeout: Duration) {
        self.stream
            .set_write_timeout(Some(timeout))
            .expect("set a write timeout");
    }

    /// A second handle on the same connection (to write from another thread).
    pub fn try_clone(&self) -> TcpConn {
        TcpConn {
            stream: self.stream.try_clone().expect("clone a TCP stream"),
        }
    }

    /// Half-close: FIN after the last query.
    pub fn shutdown_write(&mut self) {
        self.stream
            .shutdown(Shutdown::Write)
            .expect("shutdown(Write)");
    }
}

//----------- names -----------------------------------------------------------------------------

/// Presentation name (with `\.` and `\DDD` escapes) to uncompressed wire form, case kept.
/// A trailing dot is optional; every name is treated as absolute.
pub fn name_wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if name == "." || name.is_empty() {
        out.push(0);
        return out;
    }
    let b = name.as_bytes();
    let mut label = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
                    let d: u16 = std::str::from_utf8(&b[i + 1..i + 4])
                        .expect("ascii")
                        .parse()
                        .expect("\\DDD escape");
                    label.push(d as u8);
                    i += 4;
                } else {
                    label.push(b[i + 1]);
                    i += 2;
                }
            }
            b'.' => {
                out.push(label.len() as u8);
                out.append(&mut label);
                i += 1;
            }
            c => {
                label.push(c);
                i += 1;
            }
        }
    }
    if !label.is_empty() {
        out.push(label.len() as u8);
        out.append(&mut label);
    }
    out.push(0);
    out
}

/// Format one label in presentation form, escaping as RFC 4343 §2.1 / RFC 1035 §5.1 do.
fn push_label_text(out: &mut String, label: &[u8]) {
    for &c in label {
        match c {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                out.push('\\');
                out.push(c as char);
            }
            0x21..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\{c:03}")),
        }
    }
}

/// Read a possibly compressed name at `pos`; returns the presentation text (case kept) and
/// the position after the name in the original stream.
pub fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    let mut end = None;
    let mut hops = 0;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos).ok_or("name runs past the end")? as usize;
        match len & 0xC0 {
            0x00 => {
                if len == 0 {
                    if text.is_empty() {
                        text.push('.');
                    }
                    return Ok((text, end.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or("label runs past the end")?;
                total += len + 1;
                if total > 255 {
                    return Err("name longer than 255 octets".into());
                }
                push_label_text(&mut text, label);
                text.push('.');
                pos += 1 + len;
            }
            0xC0 => {
                let lo = *msg.get(pos + 1).ok_or("pointer runs past the end")? as usize;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                if hops > 64 {
                    return Err("compression loop".into());
                }
                pos = ((len & 0x3F) << 8) | lo;
            }
            _ => return Err(format!("bad label type 0x{len:02x}")),
        }
    }
}

//----------- Query -----------------------------------------------------------------------------

/// An OPT pseudo-RR to put in a query.
#[derive(Clone, Debug)]
pub struct OptSpec {
    /// Owner name in wire form (normally the root, `[0]`).
    pub owner: Vec<u8>,
    /// Requestor's UDP payload size (the CLASS field).
    pub payload: u16,
    /// Extended RCODE (upper 8 bits).
    pub ext_rcode: u8,
    /// EDNS version.
    pub version: u8,
    /// The 16 flag bits (DO = 0x8000).
    pub flags: u16,
    /// Options as (code, data).
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Default for OptSpec {
    fn default() -> Self {
        OptSpec {
            owner: vec![0],
            payload: 1232,
            ext_rcode: 0,
            version: 0,
            flags: 0,
            options: Vec::new(),
        }
    }
}

impl OptSpec {
    /// Wire form of the whole RR.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut rdata = Vec::new();
        for (code, data) in &self.options {
            rdata.extend_from_slice(&code.to_be_bytes());
            rdata.extend_from_slice(&(data.len() as u16).to_be_bytes());
            rdata.extend_from_slice(data);
        }
        let mut rr = self.owner.clone();
        rr.extend_from_slice(&41u16.to_be_bytes());
        rr.extend_from_slice(&self.payload.to_be_bytes());
        rr.push(self.ext_rcode);
        rr.push(self.version);
        rr.extend_from_slice(&self.flags.to_be_bytes());
        rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        rr.extend_from_slice(&rdata);
        rr
    }
}

/// A query built octet by octet.
#[derive(Clone, Debug)]
pub struct Query {
    /// Message ID.
    pub id: u16,
    /// The flags word (QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE) as sent.
    pub flags: u16,
    /// Questions: wire name, QTYPE, QCLASS.
    pub questions: Vec<(Vec<u8>, u16, u16)>,
    /// Raw RRs for the answer section.
    pub answer_rrs: Vec<Vec<u8>>,
    /// Raw RRs for the authority section.
    pub authority_rrs: Vec<Vec<u8>>,
    /// Raw RRs for the additional section, before the OPT.
    pub additional_rrs: Vec<Vec<u8>>,
    /// The OPT RR (last in additional), if any.
    pub opt: Option<OptSpec>,
    /// Octets appended after the last section (counts unchanged).
    pub trailing: Vec<u8>,
}

/// Header flag bits.
pub mod flag {
    /// Query/response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// The reserved Z bit.
    pub const Z: u16 = 0x0040;
    /// Authentic data.
    pub const AD: u16 = 0x0020;
    /// Checking disabled.
    pub const CD: u16 = 0x0010;
}

/// EDNS DO flag.
pub const DO: u16 = 0x8000;

fn next_id() -> u16 {
    static ID: AtomicU16 = AtomicU16::new(0);
    let _ = ID.compare_exchange(
        0,
        (std::process::id() as u16).wrapping_mul(7919) | 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    ID.fetch_add(0x3B1, Ordering::Relaxed)
}

impl Query {
    /// `name qtype` class IN, opcode QUERY, no flags, no EDNS, a fresh ID.
    pub fn new(name: &str, qtype: RecordType) -> Query {
        Query::new_raw(name_wire(name), u16::from(qtype))
    }

    /// Like [`Query::new`] with a numeric type and a wire-form name.
    pub fn new_raw(name: Vec<u8>, qtype: u16) -> Query {
        Query {
            id: next_id(),
            flags: 0,
            questions: vec![(name, qtype, 1)],
            answer_rrs: Vec::new(),
            authority_rrs: Vec::new(),
            additional_rrs: Vec::new(),
            opt: None,
            trailing: Vec::new(),
        }
    }

    /// A header-only message (QDCOUNT 0).
    pub fn header_only() -> Query {
        let mut q = Query::new(".", RecordType::SOA);
        q.questions.clear();
        q
    }

    /// Set the ID.
    pub fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    /// Set header flag bits (see [`flag`]).
    pub fn set(mut self, bits: u16) -> Self {
        self.flags |= bits;
        self
    }

    /// Set the OPCODE.
    pub fn opcode(mut self, op: u8) -> Self {
        self.flags = (self.flags & !0x7800) | (u16::from(op & 0xF) << 11);
        self
    }

    /// Set the class of the (first) question.
    pub fn class(mut self, class: u16) -> Self {
        self.questions[0].2 = class;
        self
    }

    /// Add EDNS version 0, payload 1232, no flags.
    pub fn edns(mut self) -> Self {
        self.opt = Some(OptSpec::default());
        self
    }

    /// Add EDNS and adjust it.
    pub fn edns_with(mut self, f: impl FnOnce(&mut OptSpec)) -> Self {
        let mut o = self.opt.take().unwrap_or_default();
        f(&mut o);
        self.opt = Some(o);
        self
    }

    /// Add EDNS with DO=1.
    pub fn dnssec_ok(self) -> Self {
        self.edns_with(|o| o.flags |= DO)
    }

    /// Add EDNS with this payload size.
    pub fn bufsize(self, n: u16) -> Self {
        self.edns_with(|o| o.payload = n)
    }

    /// The wire form of the whole query.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(512);
        m.extend_from_slice(&self.id.to_be_bytes());
        m.extend_from_slice(&self.flags.to_be_bytes());
        let arcount = self.additional_rrs.len() + usize::from(self.opt.is_some());
        for n in [
            self.questions.len(),
            self.answer_rrs.len(),
            self.authority_rrs.len(),
            arcount,
        ] {
            m.extend_from_slice(&(n as u16).to_be_bytes());
        }
        for (name, t, c) in &self.questions {
            m.extend_from_slice(name);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&c.to_be_bytes());
        }
        for rr in &self.answer_rrs {
            m.extend_from_slice(rr);
        }
        for rr in self.authority_rrs.iter().chain(&self.additional_rrs) {
            m.extend_from_slice(rr);
        }
        if let Some(o) = &self.opt {
            m.extend_from_slice(&o.to_bytes());
        }
        m.extend_from_slice(&self.trailing);
        m
    }

    /// The question section as sent, for octet-for-octet comparison.
    pub fn question_bytes(&self) -> Vec<u8> {
        let mut m = Vec::new();
        for (name, t, c) in &self.questions {
            m.extend_from_slice(name);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&c.to_be_bytes());
        }
        m
    }
}

//----------- Reply -----------------------------------------------------------------------------

/// The OPT RR of a response, read raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptView {
    /// Owner name (presentation).
    pub owner: String,
    /// Advertised payload size.
    pub payload: u16,
    /// Extended RCODE octet.
    pub ext_rcode: u8,
    /// Version.
    pub version: u8,
    /// All 16 flag bits.
    pub flags: u16,
    /// Options as (code, data), in wire order.
    pub options: Vec<(u16, Vec<u8>)>,
}

/// One RR read raw: section index (0 answer, 1 authority, 2 additional), owner spelling,
/// type, class, TTL.
#[derive(Clone, Debug)]
pub struct RawRr {
    /// 0 answer, 1 authority, 2 additional.
    pub section: u8,
    /// Owner name exactly as sent (case kept, escaped presentation).
    pub owner: String,
    /// TYPE.
    pub rtype: u16,
    /// CLASS.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
}

/// A response: raw bytes, hickory's parse, and the raw facts hickory hides.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The bytes as received (without TCP framing).
    pub bytes: Vec<u8>,
    /// hickory-proto's parse (OPT removed from additionals and kept in `edns`).
    pub msg: Message,
    /// ID.
    pub id: u16,
    /// Flags word as received.
    pub flags: u16,
    /// Section counts as received: QD, AN, NS, AR.
    pub counts: [u16; 4],
    /// The question section octets as received.
    pub question: Vec<u8>,
    /// The OPT RR, if exactly one was present.
    pub opt: Option<OptView>,
    /// How many OPT RRs were present anywhere.
    pub opt_count: usize,
    /// Whether the OPT (if any) was the very last RR of the message.
    pub opt_is_last: bool,
    /// Every RR except OPT, raw.
    pub rrs: Vec<RawRr>,
}

impl Reply {
    /// Parse; panics with a hex dump when the response is not a well-formed DNS message.
    pub fn parse(bytes: Vec<u8>) -> Reply {
        let raw = parse_raw(&bytes)
            .unwrap_or_else(|e| panic!("unparsable response ({e}): {}", hex(&bytes)));
        let msg = Message::from_vec(&bytes)
            .unwrap_or_else(|e| panic!("hickory cannot parse response ({e}): {}", hex(&bytes)));
        Reply { msg, ..raw }
    }

    /// RCODE from the header only (4 bits).
    pub fn header_rcode(&self) -> u8 {
        (self.flags & 0xF) as u8
    }

    /// The full RCODE: header nibble plus OPT extended RCODE.
    pub fn rcode(&self) -> u16 {
        let ext = self.opt.as_ref().map_or(0, |o| u16::from(o.ext_rcode));
        (ext << 4) | u16::from(self.header_rcode())
    }

    /// OPCODE.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xF) as u8
    }

    /// Whether a header flag bit is set.
    pub fn has(&self, bit: u16) -> bool {
        self.flags & bit != 0
    }

    /// Response size in octets.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the response has no octets (never true for a parsed reply).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Answer section as sorted (name, type, rdata) with lowercase names.
    pub fn answer(&self) -> Vec<RrText> {
        section_text(&self.msg.answers)
    }

    /// Authority section, as [`Reply::answer`].
    pub fn authority(&self) -> Vec<RrText> {
        section_text(&self.msg.authorities)
    }

    /// Additional section without OPT, as [`Reply::answer`].
    pub fn additional(&self) -> Vec<RrText> {
        section_text(&self.msg.additionals)
    }

    /// Raw RRs in one section (0 answer, 1 authority, 2 additional).
    pub fn raw_section(&self, section: u8) -> Vec<&RawRr> {
        self.rrs.iter().filter(|r| r.section == section).collect()
    }

    /// A one-line summary for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "id={} rcode={} flags={} counts={:?} opt={:?}\n answer={:?}\n authority={:?}\n additional={:?}",
            self.id,
            self.rcode(),
            flags_text(self.flags),
            self.counts,
            self.opt,
            self.answer(),
            self.authority(),
            self.additional()
        )
    }
}

/// Flags word as `qr aa rd …` for messages.
pub fn flags_text(f: u16) -> String {
    let names = [
        (flag::QR, "qr"),
        (flag::AA, "aa"),
        (flag::TC, "tc"),
        (flag::RD, "rd"),
        (flag::RA, "ra"),
        (flag::Z, "z"),
        (flag::AD, "ad"),
        (flag::CD, "cd"),
    ];
    let mut s: Vec<String> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    s.push(format!("opcode={}", (f >> 11) & 0xF));
    s.join(" ")
}

fn parse_raw(b: &[u8]) -> Result<Reply, String> {
    if b.len() < 12 {
        return Err(format!("{} octets, shorter than a header", b.len()));
    }
    let u16at = |p: usize| -> Result<u16, String> {
        b.get(p..p + 2)
            .map(|s| u16::from_be_bytes([s[0], s[1]]))
            .ok_or_else(|| "truncated".to_string())
    };
    let id = u16at(0)?;
    let flags = u16at(2)?;
    let counts = [u16at(4)?, u16at(6)?, u16at(8)?, u16at(10)?];
    let mut pos = 12;
    for _ in 0..counts[0] {
        let (_, p) = read_name(b, pos)?;
        pos = p + 4;
        if pos > b.len() {
            return Err("question runs past the end".into());
        }
    }
    let question = b[12..pos].to_vec();
    let mut rrs = Vec::new();
    let mut opt = None;
    let mut opt_count = 0;
    let mut opt_is_last = false;
    for (section, &n) in counts[1..].iter().enumerate() {
        for _ in 0..n {
            let (owner, p) = read_name(b, pos)?;
            let rtype = u16at(p)?;
            let class = u16at(p + 2)?;
            let ttl = (u32::from(u16at(p + 4)?) << 16) | u32::from(u16at(p + 6)?);
            let rdlen = u16at(p + 8)? as usize;
            let rdata = b
                .get(p + 10..p + 10 + rdlen)
                .ok_or("rdata runs past the end")?;
            pos = p + 10 + rdlen;
            opt_is_last = rtype == 41;
            if rtype == 41 {
                opt_count += 1;
                let mut options = Vec::new();
                let mut i = 0;
                while i + 4 <= rdata.len() {
                    let code = u16::from_be_bytes([rdata[i], rdata[i + 1]]);
                    let len = u16::from_be_bytes([rdata[i + 2], rdata[i + 3]]) as usize;
                    let data = rdata
                        .get(i + 4..i + 4 + len)
                        .ok_or("OPT option runs past the end")?;
                    options.push((code, data.to_vec()));
                    i += 4 + len;
                }
                if i != rdata.len() {
                    return Err("OPT rdata has trailing octets".into());
                }
                opt = Some(OptView {
                    owner,
                    payload: class,
                    ext_rcode: (ttl >> 24) as u8,
                    version: (ttl >> 16) as u8,
                    flags: ttl as u16,
                    options,
                });
            } else {
                rrs.push(RawRr {
                    section: section as u8,
                    owner,
                    rtype,
                    class,
                    ttl,
                });
            }
        }
    }
    if pos != b.len() {
        return Err(format!("{} trailing octets", b.len() - pos));
    }
    if opt_count > 1 {
        opt = None;
    }
    Ok(Reply {
        bytes: b.to_vec(),
        msg: Message::query(),
        id,
        flags,
        counts,
        question,
        opt,
        opt_count,
        opt_is_last,
        rrs,
    })
}

//----------- record text -----------------------------------------------------------------------

/// (owner, type, rdata) in lowercase presentation form.
pub type RrText = (String, String, String);

/// Presentation text of RDATA, with character-strings quoted.
pub fn rdata_text(r: &RData) -> String {
    fn quoted(s: &[u8]) -> String {
        let mut o = String::from("\"");
        for &c in s {
            match c {
                b'"' | b'\\' => {
                    o.push('\\');
                    o.push(c as char);
                }
                0x20..=0x7e => o.push(c as char),
                _ => o.push_str(&format!("\\{c:03}")),
            }
        }
        o.push('"');
        o
    }
    match r {
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| quoted(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::HINFO(h) => format!("{} {}", quoted(&h.cpu), quoted(&h.os)),
        // hickory reads DNAME as unknown data; its RDATA is an uncompressed name.
        RData::Unknown { code, rdata } if *code == RecordType::DNAME => {
            read_name(&rdata.anything, 0)
                .map(|(n, _)| n)
                .unwrap_or_else(|e| format!("<bad DNAME rdata: {e}>"))
        }
        other => other.to_string(),
    }
}

fn rr_text(r: &Record) -> RrText {
    (
        r.name.to_ascii().to_ascii_lowercase(),
        r.record_type().to_string(),
        rdata_text(&r.data).to_ascii_lowercase(),
    )
}

fn section_text(rrs: &[Record]) -> Vec<RrText> {
    let mut v: Vec<RrText> = rrs.iter().map(rr_text).collect();
    v.sort();
    v
}

/// Expected section from `(name, type, rdata)` literals (lowercased, sorted).
pub fn rrs(items: &[(&str, &str, &str)]) -> Vec<RrText> {
    let mut v: Vec<RrText> = items
        .iter()
        .map(|(n, t, d)| {
            (
                n.to_ascii_lowercase(),
                t.to_string(),
                d.to_ascii_lowercase(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The distinct elements of a section.
pub fn distinct(v: &[RrText]) -> BTreeSet<RrText> {
    v.iter().cloned().collect()
}

//----------- assertions ------------------------------------------------------------------------

/// RCODE values used in assertions.
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// Format error.
    pub const FORMERR: u16 = 1;
    /// Server failure.
    pub const SERVFAIL: u16 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// Not implemented.
    pub const NOTIMP: u16 = 4;
    /// Refused.
    pub const REFUSED: u16 = 5;
    /// Name exists when it should not (DNAME overflow).
    pub const YXDOMAIN: u16 = 6;
    /// Bad EDNS version.
    pub const BADVERS: u16 = 16;
}

/// Check the full RCODE.
#[track_caller]
pub fn assert_rcode(r: &Reply, want: u16) {
    assert_eq!(r.rcode(), want, "RCODE\n{}", r.summary());
}

/// Check one header bit.
#[track_caller]
pub fn assert_flag(r: &Reply, bit: u16, want: bool) {
    assert_eq!(
        r.has(bit),
        want,
        "flag {} should be {}\n{}",
        flags_text(bit),
        u8::from(want),
        r.summary()
    );
}

/// The header checks of conformance.md §1.1 that hold for every response: ID copied,
/// QR=1, OPCODE copied, RD copied, RA=0, Z=0, AD=0, CD copied.
#[track_caller]
pub fn assert_header_basics(q: &Query, r: &Reply) {
    assert_eq!(r.id, q.id, "ID copied\n{}", r.summary());
    assert_flag(r, flag::QR, true);
    assert_eq!(
        r.opcode(),
        ((q.flags >> 11) & 0xF) as u8,
        "OPCODE copied\n{}",
        r.summary()
    );
    // RD and CD are defined for QUERY only: other opcodes get QR and the
    // OPCODE alone (conformance §2.2, genreport `opcodeflg`).
    let query = (q.flags >> 11) & 0xF == 0;
    assert_flag(r, flag::RD, query && q.flags & flag::RD != 0);
    assert_flag(r, flag::CD, query && q.flags & flag::CD != 0);
    assert_flag(r, flag::RA, false);
    assert_flag(r, flag::Z, false);
    assert_flag(r, flag::AD, false);
}

/// The question section is echoed octet for octet.
#[track_caller]
pub fn assert_question_echoed(q: &Query, r: &Reply) {
    assert_eq!(
        r.question,
        q.question_bytes(),
        "question echoed octet for octet\n got:  {}\n want: {}\n{}",
        hex(&r.question),
        hex(&q.question_bytes()),
        r.summary()
    );
}

/// Exact section comparison.
#[track_caller]
pub fn assert_section(what: &str, got: &[RrText], want: &[(&str, &str, &str)]) {
    assert_eq!(got, rrs(want).as_slice(), "{what} section");
}

/// No OPT in the response.
#[track_caller]
pub fn assert_no_opt(r: &Reply) {
    assert_eq!(r.opt_count, 0, "no OPT expected\n{}", r.summary());
}

/// Exactly one OPT, returned.
#[track_caller]
pub fn opt(r: &Reply) -> &OptView {
    assert_eq!(r.opt_count, 1, "exactly one OPT expected\n{}", r.summary());
    r.opt.as_ref().expect("one OPT")
}

/// The whole authoritative-answer shape: header basics, question echoed, RCODE, AA, and the
/// three sections exactly.
#[track_caller]
pub fn assert_answer(
    q: &Query,
    r: &Reply,
    rcode: u16,
    aa: bool,
    answer: &[(&str, &str, &str)],
    authority: &[(&str, &str, &str)],
    additional: &[(&str, &str, &str)],
) {
    assert_header_basics(q, r);
    assert_question_echoed(q, r);
    assert_rcode(r, rcode);
    assert_flag(r, flag::AA, aa);
    assert_flag(r, flag::TC, false);
    assert_eq!(r.answer(), rrs(answer), "answer section\n{}", r.summary());
    assert_eq!(
        r.authority(),
        rrs(authority),
        "authority section\n{}",
        r.summary()
    );
    assert_eq!(
        r.additional(),
        rrs(additional),
        "additional section\n{}",
        r.summary()
    );
}

/// Asks the shared server `name`/`t` over UDP, without EDNS.
pub fn ask(name: &str, t: RecordType) -> (Query, Reply) {
    let q = Query::new(name, t);
    let r = Server::shared().udp(&q);
    (q, r)
}

/// Types of the answer RRs in wire order.
pub fn answer_types(r: &Reply) -> Vec<u16> {
    r.raw_section(0).iter().map(|x| x.rtype).collect()
}

/// TTL of the only record of `rtype` in a section (0 answer, 1 authority, 2 additional).
#[track_caller]
pub fn ttl_of(r: &Reply, section: u8, rtype: RecordType) -> u32 {
    let v: Vec<&RawRr> = r
        .raw_section(section)
        .into_iter()
        .filter(|x| x.rtype == u16::from(rtype))
        .collect();
    assert!(
        !v.is_empty(),
        "no {rtype} in section {section}\n{}",
        r.summary()
    );
    v[0].ttl
}

/// Wait for `cond` up to `timeout`, polling.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for `cond` up to `timeout`, polling; panics with `what` if it never holds.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, cond: impl FnMut() -> bool) {
    assert!(eventually(timeout, cond), "not within {timeout:?}: {what}");
}

/// Exit status helper: panics with output if `status` is success when it should not be,
/// or vice versa.
#[track_caller]
pub fn assert_exit(out: &Output, success: bool) {
    assert_eq!(
        out.status.success(),
        success,
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
