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
//! - One request per connection (`Connection: close`), with libcurl's
//!   headers (`Host`, `User-Agent`, `Accept: */*`), the `headers` option
//!   replacing ours of the same name.
//!
//! Reading the response (hyper, with our limits) is `response.rs`. The
//! caller puts one deadline over the whole call.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Uri};
use rustls::pki_types::ServerName;
use url::{Host, Position, Url};

use super::CheckError;
use super::connect::connect;
use super::policy::TargetPolicy;
use super::response::{Hop, Response, exchange};
use super::tls::TlsClient;

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
    /// Where the request (and each redirect) may connect.
    pub targets: &'a TargetPolicy,
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

async fn once(
    url: &Url,
    pins: &Pins,
    fetch: &Fetch<'_>,
    tls: &TlsClient,
) -> Result<Hop, CheckError> {
    // check_scheme guarantees http(s), which have default ports.
    let port = url.port_or_known_default().unwrap_or(80);
    let (tcp, addr) = open(url, port, pins, fetch.source, fetch.targets).await?;
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
        exchange(stream, request, fetch.byteslimit).await
    } else {
        exchange(tcp, request, fetch.byteslimit).await
    }
}

/// Connects to the pinned candidate, or to each resolved address in turn.
async fn open(
    url: &Url,
    port: u16,
    pins: &Pins,
    source: Option<IpAddr>,
    targets: &TargetPolicy,
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
        match connect(addr, source, targets).await {
            Ok(s) => return Ok((s, addr)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| CheckError::Resolve {
        host: url.host_str().unwrap_or_default().to_string(),
        reason: "no addresses".to_string(),
    }))
}

/// The GET as libcurl sends it for PowerDNS: origin-form target, `Host`
/// from the URL (with the port when explicit), our `User-Agent` and
/// `Accept` unless the `headers` option names them, then its headers, then
/// `Connection: close`.
fn build_request(url: &Url, fetch: &Fetch<'_>) -> Result<Request<Empty<Bytes>>, CheckError> {
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
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let mut request = Request::get(Uri::try_from(target).map_err(|e| CheckError::Url {
        url: url.to_string(),
        reason: e.to_string(),
    })?)
    .body(Empty::new())
    .map_err(|e| CheckError::Request(e.to_string()))?;
    let headers = request.headers_mut();
    let mut add = |name: &str, value: &str| {
        let unusable = || CheckError::Request(format!("unusable header {name:?}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| unusable())?;
        let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| unusable())?;
        headers.append(name, value);
        Ok::<(), CheckError>(())
    };
    // Headers from the `headers` option replace ours of the same name, as
    // CURLOPT_HTTPHEADER does.
    for (name, value) in [
        ("Host", host.as_str()),
        ("User-Agent", fetch.useragent),
        ("Accept", "*/*"),
    ] {
        if !custom(name) {
            add(name, value)?;
        }
    }
    for (name, value) in fetch.headers {
        add(name, value)?;
    }
    add("Connection", "close")?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::health::response::tests::wire_request;

    fn fetch<'a>(url: &'a str, headers: &'a [(String, String)]) -> Fetch<'a> {
        Fetch {
            url,
            pin: None,
            source: None,
            useragent: "UA",
            headers,
            byteslimit: 0,
            max_redirects: 30,
            targets: Box::leak(Box::default()),
        }
    }

    async fn wire(url: &str, headers: &[(String, String)]) -> String {
        let url = Url::parse(url).unwrap();
        wire_request(build_request(&url, &fetch("", headers)).unwrap()).await
    }

    #[tokio::test]
    async fn request_has_host_from_url_and_custom_headers() {
        let h = vec![("X-API-Key".to_string(), "k".to_string())];
        let req = wire("http://Health.Test:8080/a/b?c=d#frag", &h).await;
        // hyper writes header names in title case (libcurl sends custom
        // names as given; HTTP names are case-insensitive).
        assert_eq!(
            req,
            "GET /a/b?c=d HTTP/1.1\r\nHost: health.test:8080\r\nUser-Agent: UA\r\n\
             Accept: */*\r\nX-Api-Key: k\r\nConnection: close\r\n\r\n"
        );
        // Default port: not in Host.
        let req = wire("https://health.test/", &[]).await;
        assert!(
            req.starts_with("GET / HTTP/1.1\r\nHost: health.test\r\n"),
            "{req}"
        );
    }

    #[tokio::test]
    async fn custom_host_replaces_ours_and_line_breaks_are_refused() {
        let h = vec![("host".to_string(), "other".to_string())];
        let req = wire("http://a.test/", &h).await;
        assert!(!req.contains("a.test"), "{req}");
        assert_eq!(req.matches("Host: ").count(), 1, "{req}");
        assert!(req.contains("Host: other\r\n"), "{req}");
        let url = Url::parse("http://a.test/").unwrap();
        for h in [
            vec![("X".to_string(), "a\r\nEvil: 1".to_string())],
            vec![("X\r\nEvil".to_string(), "1".to_string())],
            vec![("X:Y".to_string(), "1".to_string())],
            vec![(String::new(), "1".to_string())],
        ] {
            assert!(
                matches!(
                    build_request(&url, &fetch("", &h)),
                    Err(CheckError::Request(_))
                ),
                "{h:?}"
            );
        }
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
}
