//! PDM registrar token strings → [`registrars::Credentials`] (spec
//! pdm-api.md §4.4).
//!
//! | Registrar | Token |
//! |---|---|
//! | cloudflare | the API token itself |
//! | namecheap | `apiUser:apiKey:userName:clientIp` or `apiUser:apiKey:clientIp` (UserName = ApiUser) |
//! | godaddy | `key:secret`, or `key:secret:customerId` (v2 calls: DS, glue) |
//! | ovh | `appKey:appSecret:consumerKey` |
//! | dynadot | `apiKey:apiSecret`, or `apiKey` |
//!
//! Differences from the Go PDM, on purpose:
//! - Namecheap's 2-part `apiUser:apiKey` form silently used ClientIp
//!   `127.0.0.1` there, which Namecheap rejects in production with an
//!   opaque whitelist error (PDM §10.15); here it is refused up front with
//!   a message saying what to send.
//! - A token with the wrong number of parts is refused before any call,
//!   instead of producing a confusing provider error.
//!
//! Errors never contain the token or any part of it: they name the
//! provider and the expected shape only.

use std::net::Ipv4Addr;

use registrars::credentials::{
    CloudflareAuth, CloudflareCredentials, DynadotCredentials, GoDaddyCredentials,
    NamecheapCredentials, OvhCredentials,
};
use registrars::{Credentials, Provider, Secret};

/// Why a token string could not become credentials. No variant carries
/// any part of the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Empty or whitespace only.
    #[error("token is empty")]
    Empty,
    /// Wrong number of `:`-separated parts, or an empty part.
    #[error("{provider} token must look like {expected}")]
    Shape {
        /// The registrar.
        provider: Provider,
        /// The accepted shapes, e.g. `key:secret`.
        expected: &'static str,
    },
    /// Namecheap `apiUser:apiKey` without a ClientIp (PDM §10.15).
    #[error(
        "namecheap tokens need the whitelisted client IPv4 explicitly: apiUser:apiKey:clientIp or apiUser:apiKey:userName:clientIp"
    )]
    NamecheapClientIpMissing,
    /// The Namecheap ClientIp part is not an IPv4 address.
    #[error("namecheap token's last part must be the whitelisted client IPv4 address")]
    NamecheapClientIpInvalid,
}

/// Turns the PDM token string for `provider` into credentials.
///
/// The token is passed through untouched apart from splitting: parts are
/// not trimmed, because a key may legitimately carry characters a trim
/// would eat; only a token that is blank as a whole is refused as empty.
pub fn parse_token(provider: Provider, token: &str) -> Result<Credentials, TokenError> {
    if token.trim().is_empty() {
        return Err(TokenError::Empty);
    }
    let shape = |expected| TokenError::Shape { provider, expected };
    Ok(match provider {
        // Cloudflare API tokens contain no ':' but may in principle; the
        // whole string is the token either way.
        Provider::Cloudflare => Credentials::Cloudflare(CloudflareCredentials {
            auth: CloudflareAuth::Token(Secret::new(token)),
            account_id: None,
        }),
        Provider::Namecheap => {
            const EXPECTED: &str = "apiUser:apiKey:clientIp or apiUser:apiKey:userName:clientIp";
            let parts = split_parts(token).ok_or_else(|| shape(EXPECTED))?;
            let (api_user, api_key, username, ip) = match parts.as_slice() {
                [_, _] => return Err(TokenError::NamecheapClientIpMissing),
                [user, key, ip] => (*user, *key, *user, *ip),
                [user, key, name, ip] => (*user, *key, *name, *ip),
                _ => return Err(shape(EXPECTED)),
            };
            let client_ip: Ipv4Addr = ip
                .parse()
                .map_err(|_| TokenError::NamecheapClientIpInvalid)?;
            Credentials::Namecheap(NamecheapCredentials {
                api_user: api_user.to_owned(),
                api_key: Secret::new(api_key),
                username: username.to_owned(),
                client_ip,
            })
        }
        Provider::GoDaddy => {
            const EXPECTED: &str = "key:secret or key:secret:customerId";
            let parts = split_parts(token).ok_or_else(|| shape(EXPECTED))?;
            let (key, secret, customer_id) = match parts.as_slice() {
                [key, secret] => (*key, *secret, None),
                [key, secret, customer] => (*key, *secret, Some((*customer).to_owned())),
                _ => return Err(shape(EXPECTED)),
            };
            Credentials::GoDaddy(GoDaddyCredentials {
                key: Secret::new(key),
                secret: Secret::new(secret),
                customer_id,
                shopper_id: None,
            })
        }
        Provider::Ovh => {
            const EXPECTED: &str = "appKey:appSecret:consumerKey";
            let parts = split_parts(token).ok_or_else(|| shape(EXPECTED))?;
            let [ak, r#as, ck] = parts.as_slice() else {
                return Err(shape(EXPECTED));
            };
            Credentials::Ovh(OvhCredentials {
                application_key: Secret::new(*ak),
                application_secret: Secret::new(*r#as),
                consumer_key: Secret::new(*ck),
            })
        }
        Provider::Dynadot => {
            const EXPECTED: &str = "apiKey:apiSecret or apiKey";
            let parts = split_parts(token).ok_or_else(|| shape(EXPECTED))?;
            let (key, secret) = match parts.as_slice() {
                [key] => (*key, None),
                [key, secret] => (*key, Some(Secret::new(*secret))),
                _ => return Err(shape(EXPECTED)),
            };
            Credentials::Dynadot(DynadotCredentials {
                api_key: Secret::new(key),
                api_secret: secret,
            })
        }
    })
}

/// Splits on `:`; `None` when any part is empty (`a::b`, `a:`), which is
/// always a malformed token.
fn split_parts(token: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = token.split(':').collect();
    parts.iter().all(|p| !p.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_shape() {
        assert!(matches!(
            parse_token(Provider::Cloudflare, "cf-token").unwrap(),
            Credentials::Cloudflare(_)
        ));
        let Credentials::Namecheap(nc) =
            parse_token(Provider::Namecheap, "user:key:10.0.0.1").unwrap()
        else {
            panic!("namecheap")
        };
        assert_eq!(nc.username, "user");
        assert_eq!(nc.client_ip, Ipv4Addr::new(10, 0, 0, 1));
        let Credentials::Namecheap(nc) =
            parse_token(Provider::Namecheap, "user:key:other:10.0.0.1").unwrap()
        else {
            panic!("namecheap")
        };
        assert_eq!(nc.username, "other");
        let Credentials::GoDaddy(gd) = parse_token(Provider::GoDaddy, "k:s:cust").unwrap() else {
            panic!("godaddy")
        };
        assert_eq!(gd.customer_id.as_deref(), Some("cust"));
        assert!(matches!(
            parse_token(Provider::Ovh, "a:b:c").unwrap(),
            Credentials::Ovh(_)
        ));
        assert!(matches!(
            parse_token(Provider::Dynadot, "k:s").unwrap(),
            Credentials::Dynadot(_)
        ));
    }

    #[test]
    fn namecheap_needs_an_explicit_client_ip() {
        assert_eq!(
            parse_token(Provider::Namecheap, "user:key").unwrap_err(),
            TokenError::NamecheapClientIpMissing
        );
        assert_eq!(
            parse_token(Provider::Namecheap, "user:key:not-an-ip").unwrap_err(),
            TokenError::NamecheapClientIpInvalid
        );
    }

    #[test]
    fn malformed_tokens_never_echo_the_token() {
        for (p, t) in [
            (Provider::GoDaddy, "only-one-SECRETPART"),
            (Provider::Ovh, "a:SECRETPART"),
            (Provider::Dynadot, "a:b:SECRETPART"),
            (Provider::GoDaddy, "a::SECRETPART"),
            (Provider::Namecheap, "u:SECRETPART"),
        ] {
            let err = parse_token(p, t).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("SECRETPART"), "{text}");
        }
        assert_eq!(
            parse_token(Provider::Ovh, "  ").unwrap_err(),
            TokenError::Empty
        );
    }
}
