//! Provider credentials. Every secret is a [`Secret`], whose `Debug` and
//! `Display` print `***`, which has no `Serialize`, and whose value is only
//! reachable through [`Secret::expose`] — called by adapters when they put
//! it on the wire, nowhere else.
//!
//! Also: reading credentials from environment variables (for the CLI), with
//! the variable names in one place.

use std::fmt;
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::error::RegistrarError;
use crate::types::Provider;

/// A secret string. Redacted in `Debug`/`Display`; never serialised.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only to put it on the wire or to sign with.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty (treated as "not configured").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

/// Cloudflare: an API token (preferred) or the legacy e-mail + global key.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudflareAuth {
    /// `Authorization: Bearer <token>`.
    Token(Secret),
    /// `X-Auth-Email` + `X-Auth-Key`, always sent together.
    Legacy {
        /// Account e-mail (not secret).
        email: String,
        /// Global API key.
        key: Secret,
    },
}

/// Cloudflare credentials.
#[derive(Clone, Debug, Deserialize)]
pub struct CloudflareCredentials {
    /// How to authenticate.
    pub auth: CloudflareAuth,
    /// Restricts zone look-ups to this account: zone names are not unique
    /// across accounts when a token spans several.
    #[serde(default)]
    pub account_id: Option<String>,
}

/// Namecheap credentials. All are global parameters on every call.
#[derive(Clone, Debug, Deserialize)]
pub struct NamecheapCredentials {
    /// `ApiUser`.
    pub api_user: String,
    /// `ApiKey`.
    pub api_key: Secret,
    /// `UserName`; normally the same as `api_user`.
    pub username: String,
    /// `ClientIp`: the whitelisted IPv4 address calls come from.
    pub client_ip: Ipv4Addr,
}

/// GoDaddy credentials: `Authorization: sso-key KEY:SECRET`.
#[derive(Clone, Debug, Deserialize)]
pub struct GoDaddyCredentials {
    /// API key.
    pub key: Secret,
    /// API secret.
    pub secret: Secret,
    /// v2 `customerId`, needed for NS via v2, glue and DNSSEC.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Optional `X-Shopper-Id` for reseller v1 calls.
    #[serde(default)]
    pub shopper_id: Option<String>,
}

/// OVH credentials for signed requests.
#[derive(Clone, Debug, Deserialize)]
pub struct OvhCredentials {
    /// Application key (AK), `X-Ovh-Application`.
    pub application_key: Secret,
    /// Application secret (AS), used only to sign.
    pub application_secret: Secret,
    /// Consumer key (CK), `X-Ovh-Consumer`.
    pub consumer_key: Secret,
}

/// Dynadot credentials.
#[derive(Clone, Debug, Deserialize)]
pub struct DynadotCredentials {
    /// api3 `key` (sits in the query string, so URLs are never logged).
    pub api_key: Secret,
    /// API secret: REST signing, and sent as `secret` by some clients.
    #[serde(default)]
    pub api_secret: Option<Secret>,
}

/// Credentials for one provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum Credentials {
    /// Cloudflare.
    Cloudflare(CloudflareCredentials),
    /// Namecheap.
    Namecheap(NamecheapCredentials),
    /// GoDaddy.
    #[serde(rename = "godaddy")]
    GoDaddy(GoDaddyCredentials),
    /// OVH.
    Ovh(OvhCredentials),
    /// Dynadot.
    Dynadot(DynadotCredentials),
}

impl Credentials {
    /// The provider these credentials are for.
    pub fn provider(&self) -> Provider {
        match self {
            Credentials::Cloudflare(_) => Provider::Cloudflare,
            Credentials::Namecheap(_) => Provider::Namecheap,
            Credentials::GoDaddy(_) => Provider::GoDaddy,
            Credentials::Ovh(_) => Provider::Ovh,
            Credentials::Dynadot(_) => Provider::Dynadot,
        }
    }

    /// Reads credentials for `provider` from the environment; see
    /// [`ENV_HELP`] for the variable names.
    pub fn from_env(provider: Provider) -> Result<Self, RegistrarError> {
        Self::from_lookup(provider, |name| std::env::var(name).ok())
    }

    /// Like [`Credentials::from_env`] with an injectable look-up (tests).
    pub fn from_lookup(
        provider: Provider,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, RegistrarError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let need = |name: &str| {
            get(name).ok_or_else(|| RegistrarError::Invalid {
                field: name.to_owned(),
                message: format!("environment variable {name} is not set"),
            })
        };
        Ok(match provider {
            Provider::Cloudflare => {
                let auth = match get("CLOUDFLARE_API_TOKEN") {
                    Some(token) => CloudflareAuth::Token(Secret::new(token)),
                    None => match (get("CLOUDFLARE_EMAIL"), get("CLOUDFLARE_API_KEY")) {
                        (Some(email), Some(key)) => CloudflareAuth::Legacy {
                            email,
                            key: Secret::new(key),
                        },
                        _ => {
                            return Err(RegistrarError::Invalid {
                                field: "CLOUDFLARE_API_TOKEN".into(),
                                message: "set CLOUDFLARE_API_TOKEN, or both CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY".into(),
                            });
                        }
                    },
                };
                Credentials::Cloudflare(CloudflareCredentials {
                    auth,
                    account_id: get("CLOUDFLARE_ACCOUNT_ID"),
                })
            }
            Provider::Namecheap => {
                let api_user = need("NAMECHEAP_API_USER")?;
                let ip = need("NAMECHEAP_CLIENT_IP")?;
                let client_ip = ip.trim().parse().map_err(|_| RegistrarError::Invalid {
                    field: "NAMECHEAP_CLIENT_IP".into(),
                    message: format!("{ip:?} is not an IPv4 address (Namecheap takes IPv4 only)"),
                })?;
                Credentials::Namecheap(NamecheapCredentials {
                    username: get("NAMECHEAP_USERNAME").unwrap_or_else(|| api_user.clone()),
                    api_user,
                    api_key: Secret::new(need("NAMECHEAP_API_KEY")?),
                    client_ip,
                })
            }
            Provider::GoDaddy => Credentials::GoDaddy(GoDaddyCredentials {
                key: Secret::new(need("GODADDY_API_KEY")?),
                secret: Secret::new(need("GODADDY_API_SECRET")?),
                customer_id: get("GODADDY_CUSTOMER_ID"),
                shopper_id: get("GODADDY_SHOPPER_ID"),
            }),
            Provider::Ovh => Credentials::Ovh(OvhCredentials {
                application_key: Secret::new(need("OVH_APPLICATION_KEY")?),
                application_secret: Secret::new(need("OVH_APPLICATION_SECRET")?),
                consumer_key: Secret::new(need("OVH_CONSUMER_KEY")?),
            }),
            Provider::Dynadot => Credentials::Dynadot(DynadotCredentials {
                api_key: Secret::new(need("DYNADOT_API_KEY")?),
                api_secret: get("DYNADOT_API_SECRET").map(Secret::new),
            }),
        })
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Say whose credentials these are and nothing else.
        write!(f, "{} credentials (redacted)", self.provider())
    }
}

/// The environment variables [`Credentials::from_env`] reads, for `--help`.
pub const ENV_HELP: &str = "\
Credentials are read from environment variables, never from flags:
  cloudflare  CLOUDFLARE_API_TOKEN  (or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY)
              CLOUDFLARE_ACCOUNT_ID (optional; restricts zone look-ups)
  namecheap   NAMECHEAP_API_USER, NAMECHEAP_API_KEY, NAMECHEAP_CLIENT_IP (whitelisted IPv4)
              NAMECHEAP_USERNAME (optional; defaults to NAMECHEAP_API_USER)
  godaddy     GODADDY_API_KEY, GODADDY_API_SECRET
              GODADDY_CUSTOMER_ID (needed for v2: glue, DNSSEC), GODADDY_SHOPPER_ID (optional)
  ovh         OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY
  dynadot     DYNADOT_API_KEY, DYNADOT_API_SECRET (optional)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let creds = Credentials::GoDaddy(GoDaddyCredentials {
            key: Secret::new("KEY-abc123"),
            secret: Secret::new("SECRET-xyz789"),
            customer_id: Some("cust".into()),
            shopper_id: None,
        });
        let dbg = format!("{creds:?} {creds} {:?}", Secret::new("SECRET-xyz789"));
        assert!(!dbg.contains("abc123"), "{dbg}");
        assert!(!dbg.contains("xyz789"), "{dbg}");
        assert!(dbg.contains("cust"));
    }

    #[test]
    fn from_lookup_reports_missing_variable() {
        let err = Credentials::from_lookup(Provider::Ovh, |_| None).unwrap_err();
        assert!(err.to_string().contains("OVH_APPLICATION_KEY"), "{err}");
        let c = Credentials::from_lookup(Provider::Namecheap, |n| match n {
            "NAMECHEAP_API_USER" => Some("demo".into()),
            "NAMECHEAP_API_KEY" => Some("k".into()),
            "NAMECHEAP_CLIENT_IP" => Some("127.0.0.1".into()),
            _ => None,
        })
        .unwrap();
        let Credentials::Namecheap(nc) = c else {
            panic!("wrong provider")
        };
        assert_eq!(nc.username, "demo");
    }
}
