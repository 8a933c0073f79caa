//! The HTTPS client an edge fetches DNSSEC keys with: the primary's
//! PowerDNS-compatible API (`--key-source https://HOST:PORT`), the list
//! `GET …/zones/{zone}/cryptokeys` and, per key, the single-key GET whose
//! `privatekey` carries the private half (pdns-api.md §7).
//!
//! Trust is narrow on purpose: TLS only (the URL was checked to be
//! `https://` when the settings were read), the server's certificate must
//! chain to a certificate of `--key-source-ca` and name the URL's host —
//! no system or Mozilla roots — and every request carries the primary's
//! API key. Private key text and the API key never reach an error message
//! or a log line; errors say what failed (connect, TLS, status), not what
//! was received.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::header::{ACCEPT, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::api::ids;
use crate::config::replication::KeySource;
use crate::wire::Name;

/// Longest a request may take, connect to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read (a key list of a few keys is a few KB).
const MAX_BODY: usize = 1 << 20;

/// Why keys could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySourceError {
    /// `--key-source-ca` is unreadable or holds no usable certificate.
    #[error("key-source-ca {path}: {reason}")]
    Ca { path: String, reason: String },
    /// The URL's host is not a DNS name or IP address.
    #[error("key-source {0}: no usable host in the URL")]
    Url(String),
    #[error("cannot connect to the key source {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The TLS handshake failed (most often: the certificate does not
    /// chain to `--key-source-ca`, or does not name the host).
    #[error("TLS with the key source {addr} failed: {reason}")]
    Tls { addr: String, reason: String },
    #[error("the key source {addr} broke off the HTTP exchange: {reason}")]
    Http { addr: String, reason: String },
    #[error("the key source refused the API key (401): check --key-source-api-key-file")]
    Unauthorized,
    #[error("the key source answered {status} for {path}")]
    Status { status: u16, path: String },
    /// The body is not what the API returns; names what was missing only.
    #[error("the key source's answer for {path} is unusable: {reason}")]
    BadAnswer { path: String, reason: String },
    #[error("the key source did not answer within {0:?}")]
    Timeout(Duration),
}

/// A key as the primary lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedKey {
    /// The key tag (PowerDNS's key id).
    pub id: u16,
    #[serde(default)]
    pub active: bool,
    #[serde(default = "yes")]
    pub published: bool,
    /// Presentation RDATA: `flags 3 algorithm base64`.
    pub dnskey: String,
}

fn yes() -> bool {
    true
}

/// The private half of a key in ISC text, never printed.
pub struct PrivateKeyText(pub String);

impl fmt::Debug for PrivateKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyText(<redacted>)")
    }
}

/// A client for one key source.
pub struct KeySourceClient {
    connector: TlsConnector,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    /// `HOST:PORT` as written in the URL, for `Host:` and messages.
    authority: String,
    api_key: HeaderValue,
}

impl fmt::Debug for KeySourceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySourceClient")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl KeySourceClient {
    /// Reads the CA file and prepares TLS; fails (at start) when the CA
    /// is unusable.
    pub fn new(source: &KeySource) -> Result<KeySourceClient, KeySourceError> {
        let ca_error = |reason: String| KeySourceError::Ca {
            path: source.ca.display().to_string(),
            reason,
        };
        let chain = crate::api::tls::read_chain(&source.ca).map_err(|e| ca_error(e.to_string()))?;
        let mut roots = RootCertStore::empty();
        for cert in chain {
            roots
                .add(cert)
                .map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ca_error(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        let url =
            url::Url::parse(&source.url).map_err(|_| KeySourceError::Url(source.url.clone()))?;
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(KeySourceError::Url(source.url.clone())),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| KeySourceError::Url(source.url.clone()))?;
        let authority = source.url.trim_start_matches("https://").to_string();
        let mut api_key = HeaderValue::from_str(&source.api_key.0)
            .map_err(|_| KeySourceError::Url("the API key is not a valid header value".into()))?;
        api_key.set_sensitive(true);
        Ok(KeySourceClient {
            connector: TlsConnector::from(Arc::new(config)),
            host,
            port,
            server_name,
            authority,
            api_key,
        })
    }

    /// The keys the primary lists for `zone`; `None` when the primary does
    /// not know the zone (404: a zone it does not sign, or not its own).
    pub async fn list(&self, zone: &Name) -> Result<Option<Vec<ListedKey>>, KeySourceError> {
        let path = format!("{}/cryptokeys", zone_path(zone));
        match self.get(&path).await? {
            None => Ok(None),
            Some(body) => {
                serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|_| KeySourceError::BadAnswer {
                        path,
                        reason: "not a list of cryptokeys".into(),
                    })
            }
        }
    }

    /// The private key of key `id` of `zone`.
    pub async fn private_key(
        &self,
        zone: &Name,
        id: u16,
    ) -> Result<PrivateKeyText, KeySourceError> {
        #[derive(Deserialize)]
        struct Single {
            privatekey: Option<String>,
        }
        let path = format!("{}/cryptokeys/{id}", zone_path(zone));
        let body = self
            .get(&path)
            .await?
            .ok_or_else(|| KeySourceError::Status {
                status: 404,
                path: path.clone(),
            })?;
        let single: Single =
            serde_json::from_slice(&body).map_err(|_| KeySourceError::BadAnswer {
                path: path.clone(),
                reason: "not a cryptokey".into(),
            })?;
        single
            .privatekey
            .map(PrivateKeyText)
            .ok_or_else(|| KeySourceError::BadAnswer {
                path,
                reason: "no privatekey (the primary shows it only over TLS)".into(),
            })
    }

    /// GET `path`: the body of a 200, `None` for a 404.
    async fn get(&self, path: &str) -> Result<Option<Bytes>, KeySourceError> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(path))
            .await
            .map_err(|_| KeySourceError::Timeout(REQUEST_TIMEOUT))?
    }

    async fn exchange(&self, path: &str) -> Result<Option<Bytes>, KeySourceError> {
        let addr = self.authority.clone();
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| KeySourceError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| KeySourceError::Tls {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        let http = |e: hyper::Error| KeySourceError::Http {
            addr: addr.clone(),
            reason: e.to_string(),
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(http)?;
        let connection = tokio::spawn(conn);
        let request = Request::get(path)
            .header(HOST, &self.authority)
            .header(ACCEPT, "application/json")
            .header("x-api-key", self.api_key.clone())
            .body(Empty::<Bytes>::new())
            .map_err(|_| KeySourceError::Url(self.authority.clone()))?;
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status();
        let result = match status {
            StatusCode::OK => Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map(|body| Some(body.to_bytes()))
                .map_err(|_| KeySourceError::BadAnswer {
                    path: path.to_string(),
                    reason: "the body was cut short or too large".into(),
                }),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED => Err(KeySourceError::Unauthorized),
            other => Err(KeySourceError::Status {
                status: other.as_u16(),
                path: path.to_string(),
            }),
        };
        connection.abort();
        result
    }
}

/// `/api/v1/servers/localhost/zones/{id}` for `zone`.
fn zone_path(zone: &Name) -> String {
    format!(
        "/api/v1/servers/localhost/zones/{}",
        ids::encode(&zone.to_string())
    )
}
