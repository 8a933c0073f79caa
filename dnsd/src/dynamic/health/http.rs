//! A small HTTP/1.1 GET client for URL checks (spec §6.6), written for
//! exactly what libcurl does in PowerDNS's `minicurl.cc`:
//!
//! - **Pinning.** The URL's host is not resolved: `host:port` is sent to the
//!   candidate address. With an explicit port only that `host:port` is
//!   pinned; without one both `host:80` and `host:443` are, so an
//!   http→https redirect on the same host still reaches the candidate. Any
//!   other `host:port` (a redirect elsewhere) resolves normally.
//! - **Host and SNI** come from the URL, never from the address.
//! - **Redirects** are followed (301, 302, 303, 307, 308 with `Location`),
//!   `http`/`https` only, at most `max_redirects` hops.
//! - **byteslimit**: once more than N body bytes have arrived the transfer
//!   stops and counts as complete; the body read so far is kept.
//! - One request per connection (`Connection: close`); bodies framed by
//!   `Content-Length`, `chunked` or the end of the connection.
//!
//! The caller puts one deadline over the whole call.

use std::io;
use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::{Host, Position, Url};

use super::CheckError;
use super::probe::connect;
use super::tls::TlsClient;

/// Most bytes of a response head.
const MAX_HEAD: usize = 64 * 1024;
/// Most response headers.
const MAX_HEADERS: usize = 100;
/// Most bytes of body kept when `byteslimit` is 0 (unlimited in PowerDNS):
/// reaching it ends the transfer the way `byteslimit` does.
pub(super) const MAX_BODY: usize = 1 << 20;
/// Longest chunk-size line.
const MAX_LINE: usize = 4096;

/// One GET as a check asks for it.
#[derive(Debug)]
pub(super) struct Fetch<'a> {
    /// The URL from the record.
    pub url: &'a str,
    /// The candidate address (`None`: resolve normally, `ifurlextup`).
    pub pin: Option<IpAddr>,
    /// Local address to bind to.
    pub source: Option<IpAddr>,
    /// `User-Agent`.
    pub useragent: &'a str,
    /// Extra headers, names already with `-`.
    pub headers: &'a [(String, String)],
    /// Stop after more than this many body bytes (0: no limit).
    pub byteslimit: u64,
    /// Most redirects followed.
    pub max_redirects: u32,
}

/// The final response.
#[derive(Debug)]
pub(super) struct Response {
    /// Status code.
    pub status: u16,
    /// Body, possibly cut short by `byteslimit`.
    pub body: Vec<u8>,
}

/// Which `host:port` pairs go to the candidate.
struct Pins {
    addr: Option<IpAddr>,
    host: String,
    ports: Vec<u16>,
}

impl Pins {
    fn new(url: &Url, addr: Option<IpAddr>) -> Pins {
        Pins {
            addr,
            host: url.host_str().unwrap_or_default().to_string(),
            ports: match url.port() {
                Some(p) => vec![p],
                None => vec![80, 443],
            },
        }
    }

    fn target(&self, url: &Url, port: u16) -> Option<SocketAddr> {
        let ip = self.addr?;
        (url.host_str() == Some(self.host.as_str()) && self.ports.contains(&port))
            .then(|| SocketAddr::new(ip, port))
    }
}

/// GETs `fetch.url`, following redirects.
pub(super) async fn get(fetch: &Fetch<'_>, tls: &TlsClient) -> Result<Response, CheckError> {
    let first = parse_url(fetch.url)?;
    let pins = Pins::new(&first, fetch.pin);
    let mut url = first;
    let mut hops = 0;
    loop {
        match once(&url, &pins, fetch, tls).await? {
            Hop::Final(resp) => return Ok(resp),
            Hop::Redirect(location) => {
                if hops >= fetch.max_redirects {
                    return Err(CheckError::TooManyRedirects(fetch.max_redirects));
                }
                hops += 1;
                url = url.join(&location).map_err(|e| CheckError::Url {
                    url: location.clone(),
                    reason: e.to_string(),
                })?;
                check_scheme(&url)?;
            }
        }
    }
}

fn parse_url(text: &str) -> Result<Url, CheckError> {
    let url = Url::parse(text).map_err(|e| CheckError::Url {
        url: text.to_string(),
        reason: e.to_string(),
    })?;
    check_scheme(&url)?;
    Ok(url)
}

fn check_scheme(url: &Url) -> Result<(), CheckError> {
    let bad = |reason: &str| {
        Err(CheckError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        })
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("only http and https are allowed");
    }
    if url.host().is_none() {
        return bad("no host");
    }
    Ok(())
}

enum Hop {
    Final(Response),
    Redirect(String),
}

async fn once(
    url: &Url,
    pins: &Pins,
    fetch: &Fetch<'_>,
    tls: &TlsClient,
) -> Result<Hop, CheckError> {
    // check_scheme guarantees http(s), which have default ports.
    let port = url.port_or_known_default().unwrap_or(80);
    let (tcp, addr) = open(url, port, pins, fetch.source).await?;
    let request = build_request(url, fetch)?;
    if url.scheme() == "https" {
        let name = match url.host() {
            Some(Host::Domain(d)) => {
                ServerName::try_from(d.to_string()).map_err(|e| CheckError::Url {
                    url: url.to_string(),
                    reason: format!("not a TLS server name: {e}"),
                })?
            }
            Some(Host::Ipv4(ip)) => ServerName::from(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => ServerName::from(IpAddr::V6(ip)),
            None => unreachable!("check_scheme refuses URLs without a host"),
        };
        let stream = tls
            .connector
            .connect(name, tcp)
            .await
            .map_err(|err| CheckError::Tls { addr, err })?;
        exchange(stream, &request, fetch.byteslimit).await
    } else {
        exchange(tcp, &request, fetch.byteslimit).await
    }
}

/// Connects to the pinned candidate, or to each resolved address in turn.
async fn open(
    url: &Url,
    port: u16,
    pins: &Pins,
    source: Option<IpAddr>,
) -> Result<(tokio::net::TcpStream, SocketAddr), CheckError> {
    let addrs: Vec<SocketAddr> = match (pins.target(url, port), url.host()) {
        (Some(a), _) => vec![a],
        (None, Some(Host::Ipv4(ip))) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        (None, Some(Host::Ipv6(ip))) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        (None, Some(Host::Domain(d))) => {
            let resolved =
                tokio::net::lookup_host((d, port))
                    .await
                    .map_err(|e| CheckError::Resolve {
                        host: d.to_string(),
                        reason: e.to_string(),
                    })?;
            resolved.collect()
        }
        (None, None) => Vec::new(),
    };
    let mut last = None;
    for addr in addrs {
        match connect(addr, source).await {
            Ok(s) => return Ok((s, addr)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CheckError::Resolve {
        host: url.host_str().unwrap_or_default().to_string(),
        reason: "no addresses".to_string(),
    }))
}

fn build_request(url: &Url, fetch: &Fetch<'_>) -> Result<Vec<u8>, CheckError> {
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let custom = |name: &str| {
        fetch
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let mut lines: Vec<(&str, &str)> = Vec::new();
    // Headers from the `headers` option replace ours of the same name, as
    // CURLOPT_HTTPHEADER does.
    for (name, value) in [
        ("Host", host.as_str()),
        ("User-Agent", fetch.useragent),
        ("Accept", "*/*"),
    ] {
        if !custom(name) {
            lines.push((name, value));
        }
    }
    for (n, v) in fetch.headers {
        lines.push((n, v));
    }
    lines.push(("Connection", "close"));
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let mut out = format!("GET {target} HTTP/1.1\r\n");
    for (n, v) in lines {
        let bad = |c: char| c == '\r' || c == '\n';
        if n.is_empty() || n.contains(bad) || n.contains(':') || v.contains(bad) {
            return Err(CheckError::Request(format!("unusable header {n:?}")));
        }
        out.push_str(n);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// Sends `request`, reads the head and, unless it is a redirect, the body.
async fn exchange<S>(stream: S, request: &[u8], byteslimit: u64) -> Result<Hop, CheckError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut conn = Conn::new(stream);
    conn.stream
        .write_all(request)
        .await
        .map_err(CheckError::Io)?;
    conn.stream.flush().await.map_err(CheckError::Io)?;
    let head = loop {
        let head = conn.head().await?;
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        break head;
    };
    if matches!(head.status, 301 | 302 | 303 | 307 | 308)
        && let Some(location) = head.location
    {
        return Ok(Hop::Redirect(location));
    }
    let mut body = Body::new(byteslimit);
    if !(head.status == 204 || head.status == 304) {
        match head.framing {
            Framing::Chunked => conn.chunked(&mut body).await?,
            Framing::Length(n) => conn.fixed(n, &mut body).await?,
            Framing::Close => conn.until_close(&mut body).await?,
        }
    }
    Ok(Hop::Final(Response {
        status: head.status,
        body: body.data,
    }))
}

enum Framing {
    Chunked,
    Length(u64),
    Close,
}

struct Head {
    status: u16,
    location: Option<String>,
    framing: Framing,
}

/// The body as it arrives, and whether to stop reading.
struct Body {
    data: Vec<u8>,
    limit: u64,
}

impl Body {
    fn new(limit: u64) -> Body {
        Body {
            data: Vec::new(),
            limit,
        }
    }

    /// Appends; true when the transfer should stop here (counts as done).
    fn push(&mut self, bytes: &[u8]) -> bool {
        let room = MAX_BODY - self.data.len();
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
        (self.limit > 0 && self.data.len() as u64 > self.limit) || self.data.len() >= MAX_BODY
    }
}

/// A stream with a read buffer; `buf[pos..]` is unread.
struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
    pos: usize,
}

impl<S: AsyncRead + Unpin> Conn<S> {
    fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::with_capacity(8192),
            pos: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more; 0 at the end of the stream. A TLS peer that closes
    /// without close_notify ends the stream too (as for libcurl).
    async fn more(&mut self) -> Result<usize, CheckError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => Err(CheckError::Io(e)),
        }
    }

    async fn head(&mut self) -> Result<Head, CheckError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(self.unread()) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = resp.code.unwrap_or(0);
                    let mut location = None;
                    let mut chunked = false;
                    let mut length = None;
                    for h in resp.headers.iter() {
                        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                        if h.name.eq_ignore_ascii_case("location") {
                            location = Some(value.to_string());
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value
                                .rsplit(',')
                                .next()
                                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
                        } else if h.name.eq_ignore_ascii_case("content-length") {
                            length = Some(value.parse::<u64>().map_err(|_| {
                                CheckError::Response(format!("Content-Length {value:?}"))
                            })?);
                        }
                    }
                    self.pos += len;
                    let framing = match (chunked, length) {
                        (true, _) => Framing::Chunked,
                        (false, Some(n)) => Framing::Length(n),
                        (false, None) => Framing::Close,
                    };
                    return Ok(Head {
                        status,
                        location,
                        framing,
                    });
                }
                Ok(httparse::Status::Partial) => {
                    if self.unread().len() > MAX_HEAD {
                        return Err(CheckError::Response("response head too large".into()));
                    }
                    if self.more().await? == 0 {
                        return Err(CheckError::Response(
                            "connection closed before a complete response head".into(),
                        ));
                    }
                }
                Err(e) => return Err(CheckError::Response(e.to_string())),
            }
        }
    }

    /// Moves up to `max` unread bytes into `body`; true when it says stop.
    fn take(&mut self, max: u64, body: &mut Body) -> (usize, bool) {
        let avail = self.unread();
        let n = avail.len().min(usize::try_from(max).unwrap_or(usize::MAX));
        let stop = body.push(&avail[..n]);
        self.pos += n;
        (n, stop)
    }

    async fn fixed(&mut self, mut left: u64, body: &mut Body) -> Result<(), CheckError> {
        while left > 0 {
            if self.unread().is_empty() && self.more().await? == 0 {
                return Err(CheckError::Response(format!(
                    "connection closed with {left} body bytes missing"
                )));
            }
            let (n, stop) = self.take(left, body);
            if stop {
                return Ok(());
            }
            left -= n as u64;
        }
        Ok(())
    }

    async fn until_close(&mut self, body: &mut Body) -> Result<(), CheckError> {
        loop {
            if self.unread().is_empty() && self.more().await? == 0 {
                return Ok(());
            }
            if self.take(u64::MAX, body).1 {
                return Ok(());
            }
        }
    }

    async fn line(&mut self) -> Result<String, CheckError> {
        loop {
            if let Some(i) = self.unread().windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.unread()[..i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.unread().len() > MAX_LINE {
                return Err(CheckError::Response("chunk line too long".into()));
            }
            if self.more().await? == 0 {
                return Err(CheckError::Response(
                    "connection closed inside a chunk".into(),
                ));
            }
        }
    }

    async fn chunked(&mut self, body: &mut Body) -> Result<(), CheckError> {
        loop {
            let line = self.line().await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| CheckError::Response(format!("chunk size {size:?}")))?;
            if size == 0 {
                // Trailers are not needed: the transfer is complete.
                return Ok(());
            }
            let mut left = size;
            while left > 0 {
                if self.unread().is_empty() && self.more().await? == 0 {
                    return Err(CheckError::Response(
                        "connection closed inside a chunk".into(),
                    ));
                }
                let (n, stop) = self.take(left, body);
                if stop {
                    return Ok(());
                }
                left -= n as u64;
            }
            if !self.line().await?.is_empty() {
                return Err(CheckError::Response("chunk not followed by CRLF".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch<'a>(url: &'a str, headers: &'a [(String, String)]) -> Fetch<'a> {
        Fetch {
            url,
            pin: None,
            source: None,
            useragent: "UA",
            headers,
            byteslimit: 0,
            max_redirects: 30,
        }
    }

    #[test]
    fn request_has_host_from_url_and_custom_headers() {
        let h = vec![("X-API-Key".to_string(), "k".to_string())];
        let url = Url::parse("http://Health.Test:8080/a/b?c=d#frag").unwrap();
        let req = String::from_utf8(build_request(&url, &fetch("", &h)).unwrap()).unwrap();
        assert_eq!(
            req,
            "GET /a/b?c=d HTTP/1.1\r\nHost: health.test:8080\r\nUser-Agent: UA\r\n\
             Accept: */*\r\nX-API-Key: k\r\nConnection: close\r\n\r\n"
        );
        // Default port: not in Host.
        let url = Url::parse("https://health.test/").unwrap();
        let req = String::from_utf8(build_request(&url, &fetch("", &[])).unwrap()).unwrap();
        assert!(
            req.starts_with("GET / HTTP/1.1\r\nHost: health.test\r\n"),
            "{req}"
        );
    }

    #[test]
    fn custom_host_replaces_ours_and_line_breaks_are_refused() {
        let h = vec![("host".to_string(), "other".to_string())];
        let url = Url::parse("http://a.test/").unwrap();
        let req = String::from_utf8(build_request(&url, &fetch("", &h)).unwrap()).unwrap();
        assert!(!req.contains("Host: a.test"), "{req}");
        assert!(req.contains("host: other\r\n"), "{req}");
        let h = vec![("X".to_string(), "a\r\nEvil: 1".to_string())];
        assert!(matches!(
            build_request(&url, &fetch("", &h)),
            Err(CheckError::Request(_))
        ));
    }

    #[test]
    fn pins_explicit_port_or_both_defaults() {
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let u = Url::parse("http://h.test/x").unwrap();
        let p = Pins::new(&u, Some(ip));
        assert_eq!(p.target(&u, 80), Some(SocketAddr::new(ip, 80)));
        let https = Url::parse("https://h.test/y").unwrap();
        assert_eq!(p.target(&https, 443), Some(SocketAddr::new(ip, 443)));
        let other = Url::parse("http://other.test/").unwrap();
        assert_eq!(p.target(&other, 80), None);
        let u = Url::parse("http://h.test:8080/x").unwrap();
        let p = Pins::new(&u, Some(ip));
        assert_eq!(p.target(&u, 8080), Some(SocketAddr::new(ip, 8080)));
        let u80 = Url::parse("http://h.test/x").unwrap();
        assert_eq!(p.target(&u80, 80), None);
        assert_eq!(Pins::new(&u, None).target(&u, 8080), None);
    }

    #[test]
    fn only_http_and_https() {
        assert!(parse_url("ftp://a.test/").is_err());
        assert!(parse_url("file:///etc/passwd").is_err());
        assert!(parse_url("https://a.test/").is_ok());
    }

    async fn parse(raw: &[u8], limit: u64) -> Result<Hop, CheckError> {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        a.write_all(raw).await.unwrap();
        drop(a);
        // The request goes nowhere: the duplex's other end is closed.
        let mut conn = Conn::new(b);
        let head = conn.head().await?;
        if matches!(head.status, 301 | 302 | 303 | 307 | 308)
            && let Some(l) = head.location
        {
            return Ok(Hop::Redirect(l));
        }
        let mut body = Body::new(limit);
        match head.framing {
            Framing::Chunked => conn.chunked(&mut body).await?,
            Framing::Length(n) => conn.fixed(n, &mut body).await?,
            Framing::Close => conn.until_close(&mut body).await?,
        }
        Ok(Hop::Final(Response {
            status: head.status,
            body: body.data,
        }))
    }

    fn body(hop: Hop) -> (u16, Vec<u8>) {
        match hop {
            Hop::Final(r) => (r.status, r.body),
            Hop::Redirect(l) => panic!("redirect to {l}"),
        }
    }

    #[tokio::test]
    async fn framing() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello trailing",
            0,
        )
        .await;
        assert_eq!(body(r.unwrap()), (200, b"hello".to_vec()));
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            0,
        )
        .await;
        assert_eq!(body(r.unwrap()), (200, b"abcde".to_vec()));
        let r = parse(b"HTTP/1.0 404 Not Found\r\n\r\nto the end", 0).await;
        assert_eq!(body(r.unwrap()), (404, b"to the end".to_vec()));
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", 0).await;
        assert!(matches!(r, Err(CheckError::Response(_))));
        let r = parse(b"HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n", 0).await;
        assert!(matches!(r, Ok(Hop::Redirect(l)) if l == "/next"));
        let r = parse(b"garbage\r\n\r\n", 0).await;
        assert!(matches!(r, Err(CheckError::Response(_))));
    }

    #[tokio::test]
    async fn byteslimit_stops_early() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
            4,
        )
        .await;
        let (status, b) = body(r.unwrap());
        assert_eq!(status, 200);
        assert!(b.len() > 4 && b.starts_with(b"0123"), "{b:?}");
    }
}
