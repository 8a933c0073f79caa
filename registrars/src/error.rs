//! The one error type of the crate, [`RegistrarError`], and how each kind
//! maps to retrying and to PDM's API codes.
//!
//! Messages carry the provider's own code and text where there is one, but
//! never a credential, a request header or a query string: adapters build
//! these from parsed response bodies and redacted URLs only.

use std::time::Duration;

use thiserror::Error;

/// Everything an adapter can fail with.
///
/// The first six variants are the classes the issue names; the rest refine
/// `Rejected` where callers act differently (spec §1 error taxonomy).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistrarError {
    /// The provider refused the credentials (bad token/key/signature).
    #[error("invalid credentials: {message}")]
    InvalidCredentials {
        /// The provider's explanation, never the credential itself.
        message: String,
    },

    /// The credentials are valid but may not do this (token scope, account
    /// tier, IAM).
    #[error("not permitted: {message}")]
    NotPermitted {
        /// The provider's explanation.
        message: String,
    },

    /// Namecheap: the calling IP is not on the account's API whitelist.
    #[error("client IP not whitelisted: {message}")]
    ClientIpNotWhitelisted {
        /// The provider's explanation.
        message: String,
    },

    /// OVH: the request timestamp was rejected; resynchronise the clock.
    #[error("clock skew: {message}")]
    ClockSkew {
        /// The provider's explanation.
        message: String,
    },

    /// The domain (or zone) is not in the account these credentials reach.
    #[error("domain {domain} is not in this account")]
    DomainNotInAccount {
        /// The domain asked about.
        domain: String,
    },

    /// The provider throttled us; `retry_after` is its hint when it gave one.
    #[error("rate limited{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
    },

    /// The provider could not be reached or answered with a server error,
    /// after the retries were spent.
    #[error("provider unavailable: {message}")]
    Unavailable {
        /// What went wrong (status or transport error, redacted).
        message: String,
        /// The provider's Retry-After on a 503, if any.
        retry_after: Option<Duration>,
    },

    /// The provider's API cannot do this at all; `instead` says what to do.
    #[error("{operation} is not supported by {provider}: {instead}")]
    Unsupported {
        /// The provider name.
        provider: &'static str,
        /// The operation asked for.
        operation: &'static str,
        /// What the operator should do instead.
        instead: String,
    },

    /// Dynadot: a name server must be registered before it can be used.
    #[error("name server {host} must be registered at the provider first: {message}")]
    NameserverNotRegistered {
        /// The unregistered host.
        host: String,
        /// The provider's explanation.
        message: String,
    },

    /// The change conflicts with existing data (Cloudflare 81056, OVH 409).
    #[error("conflict ({code}): {message}")]
    Conflict {
        /// The provider's error code.
        code: String,
        /// The provider's message.
        message: String,
    },

    /// A value was refused, locally before sending or by the provider.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field or parameter.
        field: String,
        /// Why.
        message: String,
    },

    /// An asynchronous task/action finished unsuccessfully.
    #[error("operation {task} failed: {message}")]
    OperationFailed {
        /// The task reference, as displayed.
        task: String,
        /// The provider's explanation.
        message: String,
    },

    /// Any other refusal, with the provider's code and message verbatim.
    #[error("rejected by provider ({code}): {message}")]
    Rejected {
        /// The provider's error code (number or name).
        code: String,
        /// The provider's message.
        message: String,
    },

    /// The response could not be understood (unparsable body, missing
    /// field).
    #[error("unexpected response from provider: {message}")]
    Protocol {
        /// What was wrong with it.
        message: String,
    },
}

impl RegistrarError {
    /// True for the kinds worth retrying after a pause: throttling,
    /// unavailability, and clock skew (after a resync).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::ClockSkew { .. }
        )
    }

    /// The provider's requested wait, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Shorthand for [`RegistrarError::Unsupported`].
    pub fn unsupported(
        provider: crate::Provider,
        operation: &'static str,
        instead: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            provider: provider.name(),
            operation,
            instead: instead.into(),
        }
    }

    /// Shorthand for [`RegistrarError::Protocol`].
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::Protocol {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        assert!(RegistrarError::RateLimited { retry_after: None }.is_retryable());
        assert!(
            RegistrarError::Unavailable {
                message: "503".into(),
                retry_after: None
            }
            .is_retryable()
        );
        assert!(
            !RegistrarError::InvalidCredentials {
                message: "x".into()
            }
            .is_retryable()
        );
        let e = RegistrarError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(e.to_string(), "rate limited (retry after 7s)");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    }
}
