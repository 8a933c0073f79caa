//! Loopback targets for the checker tests: a TCP port that can be closed and
//! reopened, and a tiny HTTP(S) server whose replies the test changes and
//! which records what each request carried (head, SNI, peer).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

fn reusable_listener(addr: SocketAddr) -> std::net::TcpListener {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&addr.into()).unwrap();
    sock.listen(128).unwrap();
    sock.set_nonblocking(true).unwrap();
    sock.into()
}

/// A listening TCP port (the kernel completes handshakes; nothing is
/// accepted). `down()` closes it, `up()` reopens the same address.
pub(super) struct TcpTarget {
    pub addr: SocketAddr,
    listener: Option<std::net::TcpListener>,
}

impl TcpTarget {
    pub fn bind(ip: &str) -> TcpTarget {
        let listener = reusable_listener(SocketAddr::new(ip.parse().unwrap(), 0));
        TcpTarget {
            addr: listener.local_addr().unwrap(),
            listener: Some(listener),
        }
    }

    pub fn bind_addr(addr: SocketAddr) -> TcpTarget {
        TcpTarget {
            addr,
            listener: Some(reusable_listener(addr)),
        }
    }

    pub fn down(&mut self) {
        self.listener = None;
    }

    pub fn up(&mut self) {
        self.listener = Some(reusable_listener(self.addr));
    }

    /// Accepts one pending connection and returns its peer address.
    pub fn accepted_peer(&self) -> Option<SocketAddr> {
        self.listener.as_ref()?.accept().ok().map(|(_, peer)| peer)
    }
}

/// What the HTTP server does with a request.
#[derive(Clone, Debug)]
pub(super) enum Reply {
    /// A complete response with `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A chunked response.
    Chunked { status: u16, chunks: Vec<Vec<u8>> },
    /// Head and `sent` body bytes of a longer body, then nothing.
    Stall { sent: Vec<u8>, length: usize },
    /// Accept and never answer.
    Hang,
}

impl Reply {
    pub fn ok(body: &str) -> Reply {
        Reply::status(200, body)
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn redirect(location: &str) -> Reply {
        Reply::Full {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    /// Request line and headers.
    pub head: String,
    /// TLS SNI, if any.
    pub sni: Option<String>,
    /// The client's address.
    pub peer: SocketAddr,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

#[derive(Default)]
struct Routes {
    by_path: HashMap<String, Reply>,
    default: Option<Reply>,
}

/// A tiny HTTP/1.1 server on one loopback address.
pub(super) struct HttpServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl HttpServer {
    pub async fn start(ip: &str, tls: Option<TlsAcceptor>) -> HttpServer {
        let std = reusable_listener(SocketAddr::new(ip.parse().unwrap(), 0));
        let addr = std.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(std).unwrap();
        let routes = Arc::new(Mutex::new(Routes {
            by_path: HashMap::new(),
            default: Some(Reply::ok("ok")),
        }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (Arc::clone(&routes), Arc::clone(&seen));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let (r, s, tls) = (Arc::clone(&r), Arc::clone(&s), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, None, peer, r, s).await,
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let sni = stream.get_ref().1.server_name().map(str::to_string);
                            serve(stream, sni, peer, r, s).await
                        }
                    }
                });
            }
        });
        HttpServer {
            addr,
            routes,
            seen,
            task,
        }
    }

    /// The reply for every path without its own.
    pub fn reply(&self, reply: Reply) {
        self.routes.lock().unwrap().default = Some(reply);
    }

    /// The reply for one path.
    pub fn route(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .unwrap()
            .by_path
            .insert(path.to_string(), reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    sni: Option<String>,
    peer: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    seen.lock().unwrap().push(Seen { head, sni, peer });
    let reply = {
        let r = routes.lock().unwrap();
        r.by_path.get(&path).or(r.default.as_ref()).cloned()
    };
    let out = match reply {
        Some(Reply::Full {
            status,
            headers,
            body,
        }) => {
            let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let mut out = out.into_bytes();
            out.extend_from_slice(&body);
            out
        }
        Some(Reply::Chunked { status, chunks }) => {
            let mut out =
                format!("HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
            for c in chunks {
                out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                out.extend_from_slice(&c);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        }
        Some(Reply::Stall { sent, length }) => {
            let mut out =
                format!("HTTP/1.1 200 X\r\nContent-Length: {length}\r\n\r\n").into_bytes();
            out.extend_from_slice(&sent);
            let _ = stream.write_all(&out).await;
            let _ = stream.flush().await;
            std::future::pending::<()>().await;
            return;
        }
        Some(Reply::Hang) | None => {
            std::future::pending::<()>().await;
            return;
        }
    };
    let _ = stream.write_all(&out).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// A test CA and a server certificate for `names` signed by it.
pub(super) struct TestPki {
    pub ca: CertificateDer<'static>,
    pub acceptor: TlsAcceptor,
}

impl TestPki {
    pub fn new(names: &[&str]) -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "dnsd health test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        TestPki {
            ca: ca_cert.der().clone(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}
