//! The one HTTP client every adapter uses: 30 s timeouts, bounded retries
//! with exponential backoff and full jitter on 429, 5xx and transport
//! errors, and `Retry-After` honoured (delta-seconds or HTTP-date).
//!
//! Adapters hand [`HttpClient::execute`] a closure that *builds* the request
//! (called again on every attempt, so OVH can re-sign with a fresh
//! timestamp) and a closure that *interprets* the response into a value or
//! a [`RegistrarError`]; a retryable error from either leads to another
//! attempt. Providers that signal throttling or outages inside HTTP 200
//! bodies (Namecheap, Dynadot) get retries by returning the right error
//! kind from `interpret`.
//!
//! Logging never includes headers, query strings or bodies: credentials
//! travel in all three. URLs are logged as scheme, host and path only, and
//! transport errors are stripped of their URL before they become messages.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tracing::{debug, trace, warn};

use crate::error::RegistrarError;
use crate::types::Provider;

/// Retry policy: at most `max_attempts` tries in all; the pause before try
/// n+1 is a uniform random duration in `[0, min(max_delay, base_delay·2^(n-1))]`
/// ("full jitter"), unless the provider asked for a specific wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (at least 1).
    pub max_attempts: u32,
    /// Backoff base.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// The longest provider-requested wait we sit through; a longer
    /// Retry-After (Cloudflare's 5-minute block) is returned to the caller
    /// as `RateLimited` at once rather than slept on.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The jittered backoff before attempt `attempt + 1` (`attempt` ≥ 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=ms))
    }
}

/// HTTP settings shared by all adapters.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Whole-request timeout (connect + send + read). 30 s by default.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A response read in full: status, headers and body bytes.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: reqwest::StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or a `Protocol` error naming what was expected.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, RegistrarError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            RegistrarError::protocol(format!(
                "HTTP {}: body is not a valid {what}: {e}",
                self.status.as_u16()
            ))
        })
    }

    /// The `Retry-After` header, if present and parsable.
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(&self.headers, SystemTime::now())
    }

    /// The error a bare status implies, for the statuses every provider
    /// treats alike: 429 → `RateLimited`, 5xx → `Unavailable` (both with
    /// Retry-After). `None` for anything else; the adapter decides.
    pub fn status_error(&self) -> Option<RegistrarError> {
        let code = self.status.as_u16();
        if code == 429 {
            Some(RegistrarError::RateLimited {
                retry_after: self.retry_after(),
            })
        } else if self.status.is_server_error() {
            Some(RegistrarError::Unavailable {
                message: format!("HTTP {code}"),
                retry_after: self.retry_after(),
            })
        } else {
            None
        }
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now" (zero).
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `scheme://host[:port]/path` of a URL: no query string (Dynadot and
/// Namecheap keys live there), no user info, no fragment.
pub fn redact_url(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// A transport error as text, without the URL reqwest would otherwise put
/// in its message.
fn transport_message(err: reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("no response within {}s", timeout.as_secs());
    }
    let kind = if err.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let err = err.without_url();
    let mut msg = format!("{kind}: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// The shared client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    provider: Provider,
}

impl HttpClient {
    /// Builds a client for `provider` with `config`.
    pub fn new(provider: Provider, config: HttpConfig) -> Result<Self, RegistrarError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("openova-registrars/", env!("CARGO_PKG_VERSION")))
            // Redirects could carry credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                RegistrarError::protocol(format!("building HTTP client: {}", e.without_url()))
            })?;
        Ok(Self {
            client,
            config,
            provider,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The underlying reqwest client, for building requests.
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, retrying per the policy, and returns
    /// what `interpret` makes of the response.
    ///
    /// `op` names the operation in logs (e.g. `"get_nameservers"`). `build`
    /// is called once per attempt. Errors from `interpret` for which
    /// [`RegistrarError::is_retryable`] holds are retried; their
    /// `retry_after()` replaces the computed backoff.
    pub async fn execute<T>(
        &self,
        op: &str,
        mut build: impl FnMut(&reqwest::Client) -> Result<reqwest::RequestBuilder, RegistrarError>,
        mut interpret: impl FnMut(HttpResponse) -> Result<T, RegistrarError>,
    ) -> Result<T, RegistrarError> {
        let policy = self.config.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = build(&self.client)?.build().map_err(|e| {
                RegistrarError::protocol(format!("building request: {}", e.without_url()))
            })?;
            let method = request.method().clone();
            let url = redact_url(request.url());
            let started = Instant::now();
            trace!(provider = %self.provider, op, %method, %url, attempt, "sending");
            let outcome = match self.client.execute(request).await {
                Err(e) => Err(RegistrarError::Unavailable {
                    message: transport_message(e, self.config.timeout),
                    retry_after: None,
                }),
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Err(e) => Err(RegistrarError::Unavailable {
                            message: transport_message(e, self.config.timeout),
                            retry_after: None,
                        }),
                        Ok(body) => {
                            debug!(
                                provider = %self.provider, op, %method, %url, attempt,
                                status = status.as_u16(),
                                bytes = body.len(),
                                elapsed_ms = started.elapsed().as_millis() as u64,
                                "response"
                            );
                            interpret(HttpResponse {
                                status,
                                headers,
                                body: body.to_vec(),
                            })
                        }
                    }
                }
            };
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_retryable() || attempt >= max_attempts {
                if err.is_retryable() {
                    warn!(provider = %self.provider, op, attempt, error = %err, "giving up after retries");
                }
                return Err(err);
            }
            let delay = match err.retry_after() {
                Some(wait) if wait > policy.max_retry_after => {
                    warn!(provider = %self.provider, op, wait_s = wait.as_secs(), "provider asks for a longer wait than we sit through");
                    return Err(err);
                }
                Some(wait) => wait,
                None => policy.backoff(attempt),
            };
            debug!(provider = %self.provider, op, attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(20));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(20)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(1),
        };
        for attempt in 1..10 {
            assert!(p.backoff(attempt) <= Duration::from_millis(250));
        }
        assert!(p.backoff(1) <= Duration::from_millis(100));
    }

    #[test]
    fn redaction_drops_query() {
        let u =
            reqwest::Url::parse("https://api.dynadot.com/api3.json?key=SECRET&command=x").unwrap();
        assert_eq!(redact_url(&u), "https://api.dynadot.com/api3.json");
    }
}
