//! Adapter construction: one module per provider, and [`connect`], which
//! picks the adapter for a [`Provider`] and checks the credentials match it.
//!
//! Each provider module exports the same three items, which is all this
//! dispatch relies on:
//! - `pub const DEFAULT_BASE_URL: &str` — the production API root;
//! - `pub fn capabilities() -> Capabilities`;
//! - `pub fn new(base_url: &str, credentials: <Provider>Credentials, options:
//!   &ConnectOptions) -> Result<<Adapter>, RegistrarError>` where the adapter
//!   implements [`Registrar`].

use std::sync::Arc;

use crate::Registrar;
use crate::clock::{Clock, SystemClock};
use crate::credentials::Credentials;
use crate::error::RegistrarError;
use crate::http::{HttpClient, HttpConfig};
use crate::types::{Capabilities, Provider};

/// Cloudflare API v4.
pub mod cloudflare;
/// Dynadot api3 (R2).
pub mod dynadot;
/// GoDaddy v1/v2 (R2).
pub mod godaddy;
/// Namecheap XML API.
pub mod namecheap;
/// OVHcloud signed API (R2).
pub mod ovh;
/// Steps several adapters share.
mod shared;

/// Everything an adapter needs besides its credentials and base URL.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Timeouts and retries.
    pub http: HttpConfig,
    /// Wall clock (OVH signs timestamps).
    pub clock: Arc<dyn Clock>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            http: HttpConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl ConnectOptions {
    /// The shared HTTP client for `provider` with these settings.
    pub fn client(&self, provider: Provider) -> Result<HttpClient, RegistrarError> {
        HttpClient::new(provider, self.http.clone())
    }
}

/// The production base URL of `provider`.
pub fn default_base_url(provider: Provider) -> &'static str {
    match provider {
        Provider::Cloudflare => cloudflare::DEFAULT_BASE_URL,
        Provider::Namecheap => namecheap::DEFAULT_BASE_URL,
        Provider::GoDaddy => godaddy::DEFAULT_BASE_URL,
        Provider::Ovh => ovh::DEFAULT_BASE_URL,
        Provider::Dynadot => dynadot::DEFAULT_BASE_URL,
    }
}

/// What `provider` supports, without connecting.
pub fn capabilities(provider: Provider) -> Capabilities {
    match provider {
        Provider::Cloudflare => cloudflare::capabilities(),
        Provider::Namecheap => namecheap::capabilities(),
        Provider::GoDaddy => godaddy::capabilities(),
        Provider::Ovh => ovh::capabilities(),
        Provider::Dynadot => dynadot::capabilities(),
    }
}

/// The adapter for `provider`, with default options (30 s timeout, default
/// retries). `base_url` of `None` means production.
pub fn connect(
    provider: Provider,
    base_url: Option<&str>,
    credentials: Credentials,
) -> Result<Box<dyn Registrar>, RegistrarError> {
    connect_with(provider, base_url, credentials, &ConnectOptions::default())
}

/// Like [`connect`] with explicit options.
pub fn connect_with(
    provider: Provider,
    base_url: Option<&str>,
    credentials: Credentials,
    options: &ConnectOptions,
) -> Result<Box<dyn Registrar>, RegistrarError> {
    let base = base_url
        .unwrap_or_else(|| default_base_url(provider))
        .trim_end_matches('/');
    if reqwest::Url::parse(base).is_err() {
        return Err(RegistrarError::Invalid {
            field: "base_url".into(),
            message: format!("{base:?} is not an absolute URL"),
        });
    }
    Ok(match (provider, credentials) {
        (Provider::Cloudflare, Credentials::Cloudflare(c)) => {
            Box::new(cloudflare::new(base, c, options)?)
        }
        (Provider::Namecheap, Credentials::Namecheap(c)) => {
            Box::new(namecheap::new(base, c, options)?)
        }
        (Provider::GoDaddy, Credentials::GoDaddy(c)) => Box::new(godaddy::new(base, c, options)?),
        (Provider::Ovh, Credentials::Ovh(c)) => Box::new(ovh::new(base, c, options)?),
        (Provider::Dynadot, Credentials::Dynadot(c)) => Box::new(dynadot::new(base, c, options)?),
        (wanted, given) => {
            return Err(RegistrarError::Invalid {
                field: "credentials".into(),
                message: format!(
                    "credentials are for {} but the provider is {wanted}",
                    given.provider()
                ),
            });
        }
    })
}
