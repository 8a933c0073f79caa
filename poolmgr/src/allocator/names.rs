//! The typed inputs of an allocation decision: each is checked once, where
//! it enters (the API), and cannot be built unchecked, so the allocator and
//! the store never re-validate a string.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::lb_ip::{LbIpError, LbIpPolicy};
use crate::label::{is_valid_label, normalize};

/// A label that may be allocated as to its syntax: trimmed, lower-cased,
/// `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$` (PDM §2). Whether it is on the
/// reserved list is a separate check (PDM orders the two around the pool
/// check).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

impl Label {
    /// Normalises `raw` and checks its syntax.
    pub fn parse(raw: &str) -> Option<Label> {
        let label = normalize(raw);
        is_valid_label(&label).then_some(Label(label))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pool domain as callers name it: trimmed and lower-cased. Whether it
/// is managed is the API's check against the configured list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolDomain(String);

impl PoolDomain {
    /// Normalises `raw`.
    pub fn new(raw: &str) -> PoolDomain {
        PoolDomain(normalize(raw))
    }

    /// The domain, no trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PoolDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reservation token as presented: text that parses as a UUID, kept as
/// sent (compared byte for byte with the stored one, as PDM does).
/// `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReservationToken(String);

impl ReservationToken {
    /// `raw` trimmed, when it is a UUID; PDM answers any other token like a
    /// wrong one (403), so `None` is not an input error.
    pub fn parse(raw: &str) -> Option<ReservationToken> {
        let raw = raw.trim();
        uuid::Uuid::parse_str(raw)
            .is_ok()
            .then(|| ReservationToken(raw.to_owned()))
    }

    /// A fresh random (v4) token, for a new reservation.
    pub fn generate() -> ReservationToken {
        ReservationToken(uuid::Uuid::new_v4().to_string())
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReservationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReservationToken(<redacted>)")
    }
}

/// The IPv4 address the canonical A records point at, validated before
/// the row is touched (PDM §10.13) against the [`LbIpPolicy`], kept as
/// given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbIpv4(String);

impl LbIpv4 {
    /// `raw` trimmed, when it is an IPv4 address the policy accepts.
    pub fn parse(raw: &str, policy: LbIpPolicy) -> Result<LbIpv4, LbIpError> {
        let raw = raw.trim();
        let ip = raw
            .parse::<Ipv4Addr>()
            .map_err(|_| LbIpError::NotAnAddress("IPv4"))?;
        policy.check(IpAddr::V4(ip))?;
        Ok(LbIpv4(raw.to_owned()))
    }

    /// The address text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address.
    pub fn addr(&self) -> Ipv4Addr {
        // Only `parse` builds an LbIpv4, from text that parsed as one.
        self.0.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

/// The optional IPv6 address of the AAAA records, under the same rules
/// as [`LbIpv4`], kept as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbIpv6(String);

impl LbIpv6 {
    /// `raw` trimmed, when it is an IPv6 address the policy accepts.
    pub fn parse(raw: &str, policy: LbIpPolicy) -> Result<LbIpv6, LbIpError> {
        let raw = raw.trim();
        let ip = raw
            .parse::<Ipv6Addr>()
            .map_err(|_| LbIpError::NotAnAddress("IPv6"))?;
        policy.check(IpAddr::V6(ip))?;
        Ok(LbIpv6(raw.to_owned()))
    }

    /// The address text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `Idempotency-Key` of a reserve (PDM §10.14): 1–255 bytes after
/// trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// `raw` trimmed, when it is 1–255 bytes long.
    pub fn parse(raw: &str) -> Option<IdempotencyKey> {
        let raw = raw.trim();
        (!raw.is_empty() && raw.len() <= 255).then(|| IdempotencyKey(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_normalised_then_checked() {
        assert_eq!(Label::parse(" OmanTel ").unwrap().as_str(), "omantel");
        assert!(Label::parse("-bad").is_none());
    }

    #[test]
    fn tokens_must_be_uuids_and_stay_out_of_debug() {
        assert!(ReservationToken::parse("not-a-uuid").is_none());
        let t = ReservationToken::parse(" 9b2f0a6e-1c1e-4f7b-8d53-1b1d2a3c4e5f ").unwrap();
        assert_eq!(t.expose(), "9b2f0a6e-1c1e-4f7b-8d53-1b1d2a3c4e5f");
        assert!(!format!("{t:?}").contains("9b2f"));
    }

    #[test]
    fn addresses_and_keys() {
        let strict = LbIpPolicy::default();
        assert_eq!(
            LbIpv4::parse("300.1.1.1", strict),
            Err(LbIpError::NotAnAddress("IPv4"))
        );
        assert_eq!(
            LbIpv4::parse(" 192.0.2.1", strict).unwrap().as_str(),
            "192.0.2.1"
        );
        assert!(LbIpv4::parse("127.0.0.1", strict).is_err());
        assert!(LbIpv4::parse("10.0.0.1", strict).is_err());
        let lab = LbIpPolicy {
            allow_private: true,
        };
        assert!(LbIpv4::parse("10.0.0.1", lab).is_ok());
        assert!(LbIpv6::parse("nope", strict).is_err());
        assert!(LbIpv6::parse("::1", lab).is_err());
        assert!(LbIpv6::parse("fd00::1", strict).is_err());
        assert_eq!(
            LbIpv6::parse("2001:DB8::1", strict).unwrap().as_str(),
            "2001:DB8::1"
        );
        assert!(IdempotencyKey::parse("  ").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
    }
}
