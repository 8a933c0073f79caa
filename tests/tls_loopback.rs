//! TLS on loopback for tests: a throw-away certificate authority with one server
//! certificate for 127.0.0.1, and a forwarder that lets a plain-HTTP client reach an
//! HTTPS server checked against that authority.
//!
//! Both use the `openssl` command-line tool from Debian's package, so the test crate
//! carries no TLS library of its own and the TLS client is not the server's code.
//!
//! The forwarder exists for clients that cannot be told to trust a private authority:
//! poolmgr's HTTP client trusts only the public web roots, while a fleet's primary
//! serves its API (and the zone keys the edges fetch from it) over TLS with a
//! certificate from the operator's own authority. Each accepted connection gets its own
//! `openssl s_client` that verifies the server's certificate against the authority and
//! its IP address, and fails the connection when either does not match.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::scratch_dir;

/// A certificate authority and one server certificate it issued for 127.0.0.1.
#[derive(Debug)]
pub struct TestCa {
    dir: PathBuf,
}

impl TestCa {
    /// Makes a fresh authority (P-256, valid for two days) and a server certificate
    /// with `IP:127.0.0.1` as its subject alternative name.
    pub fn new() -> TestCa {
        let dir = scratch_dir("test-ca");
        let ext = dir.join("server.ext");
        fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
        )
        .expect("write server.ext");
        let d = |f: &str| dir.join(f).display().to_string();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &d("ca.key"),
            "-out",
            &d("ca.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=dnsd fleet test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &d("key.pem"),
            "-out",
            &d("server.csr"),
            "-subj",
            "/CN=127.0.0.1",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &d("server.csr"),
            "-CA",
            &d("ca.pem"),
            "-CAkey",
            &d("ca.key"),
            "-CAcreateserial",
            "-out",
            &d("cert.pem"),
            "-days",
            "2",
            "-extfile",
            &d("server.ext"),
        ]);
        TestCa { dir }
    }

    /// The authority's certificate (PEM): what clients trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate for 127.0.0.1 (PEM).
    pub fn cert_pem(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// The server certificate's private key (PEM, PKCS#8).
    pub fn key_pem(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs `openssl ARGS` to completion; panics with its output when it fails.
fn openssl(args: &[&str]) {
    let out = Command::new(openssl_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl_bin() -> &'static Path {
    let p = Path::new("/usr/bin/openssl");
    assert!(
        p.exists(),
        "openssl is not installed: apt-get install openssl"
    );
    p
}

/// Plain TCP on a loopback port in, TLS to `upstream` out, the server's certificate
/// checked against the authority `ca` and the address 127.0.0.1. Stops accepting when
/// dropped; connections already forwarded end when either side closes.
#[derive(Debug)]
pub struct TlsForwarder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl TlsForwarder {
    /// Starts forwarding to `upstream` (an HTTPS server on 127.0.0.1).
    pub fn start(upstream: SocketAddr, ca: &Path) -> TlsForwarder {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind forwarder");
        let addr = listener.local_addr().expect("forwarder address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let ca = ca.to_path_buf();
        thread::Builder::new()
            .name("tls-forwarder".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let ca = ca.clone();
                    thread::spawn(move || forward(client, upstream, &ca));
                }
            })
            .expect("spawn forwarder thread");
        TlsForwarder { addr, stop }
    }

    /// Where plain clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for clients configured with a base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TlsForwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// One connection: an `openssl s_client` for the TLS side, bytes copied both ways.
///
/// The connection ends when either side closes: the server closing makes s_client exit
/// (end of its output); the client closing stops s_client, which would otherwise keep
/// the server connection open (it ignores end of input). HTTP clients do not half-close
/// a connection while awaiting a reply, so nothing is lost by stopping it then.
fn forward(client: TcpStream, upstream: SocketAddr, ca: &Path) {
    let mut cmd = Command::new(openssl_bin());
    cmd.args(["s_client", "-quiet", "-nocommands", "-verify_return_error"])
        .arg("-connect")
        .arg(upstream.to_string())
        .arg("-CAfile")
        .arg(ca)
        .arg("-verify_ip")
        .arg(upstream.ip().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // Not `spawn_reaped` (it gives children no standard input): this thread outlives
    // the child (it stops it below), so the kernel's parent-death signal, which follows
    // the spawning thread, stops it only when the test process dies.
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let Ok(mut child) = cmd.spawn() else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Some(mut to_tls), Some(mut from_tls), Ok(mut client_in)) =
        (child.stdin.take(), child.stdout.take(), client.try_clone())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let child = Arc::new(Mutex::new(child));
    let upward = {
        let child = child.clone();
        thread::spawn(move || {
            let _ = copy_until_closed(&mut client_in, &mut to_tls);
            let _ = lock(&child).kill();
        })
    };
    let mut client_out = client;
    let _ = copy_until_closed(&mut from_tls, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Both);
    let _ = upward.join();
    let mut child = lock(&child);
    let _ = child.kill();
    let _ = child.wait();
}

fn lock(child: &Mutex<Child>) -> MutexGuard<'_, Child> {
    child.lock().unwrap_or_else(|e| e.into_inner())
}

fn copy_until_closed(from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let mut buf = [0u8; 16384];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::free_port;
    use crate::http::request;
    use crate::spawn_reaped;
    use std::net::IpAddr;

    /// `openssl s_server -www` (an HTTPS status page) behind the forwarder: a plain GET
    /// gets the page when the certificate checks out, and nothing when the forwarder
    /// trusts another authority.
    #[test]
    fn forwards_plain_http_to_a_server_the_authority_vouches_for() {
        let ca = TestCa::new();
        let port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut cmd = Command::new(openssl_bin());
        cmd.args(["s_server", "-www", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(ca.cert_pem())
            .arg("-key")
            .arg(ca.key_pem())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server = spawn_reaped(cmd).expect("spawn s_server");
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        crate::http::wait_http(upstream);

        let good = TlsForwarder::start(upstream, &ca.ca_pem());
        let reply = request(good.addr(), "GET", "/", &[], None);
        assert_eq!(reply.status, 200, "{reply:?}");

        let other = TestCa::new();
        let bad = TlsForwarder::start(upstream, &other.ca_pem());
        let mut conn = TcpStream::connect(bad.addr()).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));

        let _ = server.kill();
        let _ = server.wait();
    }
}
