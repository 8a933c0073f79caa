//! Bearer-token authentication (PDM §10.5): tokens are configured as
//! SHA-256 hashes with a scope, presented as `Authorization: Bearer …`,
//! compared in constant time. `caller` tokens reach the allocation and
//! registrar routes; `operator` tokens also reach listings.

use std::path::Path;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Reserve, commit, renew, release, check, registrar calls.
    Caller,
    /// Everything a caller may do, plus listings and metrics.
    Operator,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s.trim() {
            "caller" => Some(Scope::Caller),
            "operator" => Some(Scope::Operator),
            _ => None,
        }
    }
}

/// A configuration mistake in the token list.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// An entry is not `scope:64-hex-digits`.
    #[error(
        "{source_name}: entry {index}: expected caller:<sha256 hex> or operator:<sha256 hex> (see `poolmgr hash-token`)"
    )]
    Entry {
        /// Where the entry came from.
        source_name: String,
        /// 1-based position.
        index: usize,
    },
    /// The token file could not be read.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Neither tokens nor the explicit opt-out.
    #[error(
        "no bearer tokens configured: set POOLMGR_AUTH_TOKENS or POOLMGR_AUTH_TOKENS_FILE, or POOLMGR_AUTH_DISABLED=true to serve without authentication"
    )]
    Missing,
}

/// The configured tokens, or none when authentication is off.
#[derive(Clone, Default)]
pub struct Auth {
    enabled: bool,
    hashes: Vec<(Scope, [u8; 32])>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.enabled)
            .field("tokens", &self.hashes.len())
            .finish()
    }
}

impl Auth {
    /// Authentication switched off (explicit operator choice).
    pub fn disabled() -> Auth {
        Auth::default()
    }

    /// Reads `scope:hex` entries from the setting and the file; at least
    /// one entry is required.
    pub fn from_settings(
        inline: Option<&str>,
        file: Option<&Path>,
    ) -> Result<Auth, AuthConfigError> {
        let mut hashes = Vec::new();
        if let Some(list) = inline {
            parse_entries(list.split(','), "POOLMGR_AUTH_TOKENS", &mut hashes)?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|error| AuthConfigError::File {
                path: path.display().to_string(),
                error,
            })?;
            let lines = text.lines().filter(|l| !l.trim_start().starts_with('#'));
            parse_entries(lines, &path.display().to_string(), &mut hashes)?;
        }
        if hashes.is_empty() {
            return Err(AuthConfigError::Missing);
        }
        Ok(Auth {
            enabled: true,
            hashes,
        })
    }

    /// Whether tokens are checked.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The scope of a presented token, or `None` when it matches nothing.
    /// Every configured hash is compared, so the time taken does not say
    /// which one matched.
    pub fn scope_of(&self, token: &str) -> Option<Scope> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let mut best = None;
        for (scope, hash) in &self.hashes {
            if bool::from(hash.ct_eq(&digest)) {
                best = best.max(Some(*scope));
            }
        }
        best
    }
}

fn parse_entries<'a>(
    entries: impl Iterator<Item = &'a str>,
    source_name: &str,
    out: &mut Vec<(Scope, [u8; 32])>,
) -> Result<(), AuthConfigError> {
    for (i, entry) in entries.enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let bad = || AuthConfigError::Entry {
            source_name: source_name.to_owned(),
            index: i + 1,
        };
        let (scope, hex_hash) = entry.split_once(':').ok_or_else(bad)?;
        let scope = Scope::parse(scope).ok_or_else(bad)?;
        let hex_hash = hex_hash.trim().trim_start_matches("sha256:");
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash).map_err(|_| bad())?;
        out.push((scope, hash));
    }
    Ok(())
}

/// The line to configure for `token` with `scope`.
pub fn hash_entry(scope: &str, token: &str) -> Result<String, String> {
    use sha2::Digest;
    Scope::parse(scope).ok_or_else(|| format!("scope {scope:?} is not caller or operator"))?;
    if token.trim().len() < 16 {
        return Err("a token must have at least 16 characters".into());
    }
    Ok(format!(
        "{}:{}",
        scope.trim(),
        hex::encode(sha2::Sha256::digest(token.trim().as_bytes()))
    ))
}

/// Middleware: requires a token with at least `needed` scope.
pub async fn require(
    auth: std::sync::Arc<Auth>,
    needed: Scope,
    req: Request,
    next: Next,
) -> Response {
    if !auth.enabled() {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented.and_then(|t| auth.scope_of(t)) {
        Some(scope) if scope >= needed => next.run(req).await,
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token's scope does not allow this route (operator scope needed)",
        )
        .into_response(),
        None => {
            let mut resp = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or unknown bearer token (Authorization: Bearer <token>)",
            )
            .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"poolmgr\""),
            );
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_hashes() {
        let caller = hash_entry("caller", "caller-token-0123456789").unwrap();
        let operator = hash_entry("operator", "operator-token-0123456789").unwrap();
        let auth = Auth::from_settings(Some(&format!("{caller}, {operator}")), None).unwrap();
        assert_eq!(
            auth.scope_of("caller-token-0123456789"),
            Some(Scope::Caller)
        );
        assert_eq!(
            auth.scope_of("operator-token-0123456789"),
            Some(Scope::Operator)
        );
        assert_eq!(auth.scope_of("caller-token-012345678"), None);
        assert!(!format!("{auth:?}").contains(&caller[7..]));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(matches!(
            Auth::from_settings(None, None),
            Err(AuthConfigError::Missing)
        ));
        assert!(Auth::from_settings(Some("admin:00"), None).is_err());
        assert!(Auth::from_settings(Some("caller:zz"), None).is_err());
        assert!(hash_entry("caller", "short").is_err());
    }
}
