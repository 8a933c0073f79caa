//! Where health checks may connect.
//!
//! A LUA record names its own targets, and whoever can write a record
//! (through the API, or a zone file from elsewhere) could otherwise point
//! dnsd's checker at the internal network or a cloud metadata service and
//! learn from the answers what is reachable. Every connection a check makes
//! — the probe, the HTTP(S) request, each redirect — goes through
//! [`TargetPolicy::check`] first; a denied target counts as down, with the
//! reason in the check's status.
//!
//! The rule: the longest matching prefix among allows and denies decides;
//! an address matching none is allowed unless an allow list was given.
//! Link-local space (169.254.0.0/16, where metadata services live, and
//! fe80::/10) is denied by default; an explicit allow can reopen a part.

use std::net::IpAddr;

use crate::dynamic::rule::Netmask;

/// Prefixes denied when nothing else is said.
pub const DEFAULT_DENY: [&str; 2] = ["169.254.0.0/16", "fe80::/10"];

/// The allow and deny prefixes of `--lua-health-allow`/`--lua-health-deny`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetPolicy {
    allow: Vec<Netmask>,
    deny: Vec<Netmask>,
}

impl Default for TargetPolicy {
    /// The default denies only, no allow list.
    fn default() -> Self {
        TargetPolicy::new::<&str>(&[], &[]).expect("default prefixes parse")
    }
}

impl TargetPolicy {
    /// A policy from prefix texts (`a.b.c.d/n`, `x::y/n`, or an address);
    /// the default denies are added to `deny`. Names the first bad prefix.
    pub fn new<S: AsRef<str>>(allow: &[S], deny: &[S]) -> Result<TargetPolicy, String> {
        let parse = |text: &str| {
            Netmask::parse(text).ok_or_else(|| format!("{text:?} is not an IP prefix"))
        };
        Ok(TargetPolicy {
            allow: allow
                .iter()
                .map(|t| parse(t.as_ref()))
                .collect::<Result<_, _>>()?,
            deny: DEFAULT_DENY
                .iter()
                .copied()
                .chain(deny.iter().map(AsRef::as_ref))
                .map(parse)
                .collect::<Result<_, _>>()?,
        })
    }

    /// `Ok` when a check may connect to `ip`; else why not.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        // An IPv4-mapped IPv6 address reaches the IPv4 host.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let longest = |masks: &[Netmask]| {
            masks
                .iter()
                .filter(|m| m.contains(ip))
                .max_by_key(|m| m.len)
                .copied()
        };
        match (longest(&self.allow), longest(&self.deny)) {
            (Some(allow), Some(deny)) if deny.len > allow.len => Err(denied(deny)),
            (Some(_), _) => Ok(()),
            (None, Some(deny)) => Err(denied(deny)),
            (None, None) if self.allow.is_empty() => Ok(()),
            (None, None) => Err("outside every --lua-health-allow prefix".into()),
        }
    }
}

fn denied(mask: Netmask) -> String {
    format!("in {}/{}, denied to health checks", mask.addr, mask.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn link_local_and_metadata_are_denied_by_default() {
        let policy = TargetPolicy::default();
        for denied in ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254"] {
            let err = policy.check(ip(denied)).unwrap_err();
            assert!(err.contains("denied to health checks"), "{denied}: {err}");
        }
        for allowed in ["127.0.0.1", "192.0.2.10", "2001:db8::1", "::1"] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
    }

    #[test]
    fn the_longest_prefix_decides() {
        let policy = TargetPolicy::new(&["169.254.10.0/24"], &["192.0.2.0/24"]).unwrap();
        assert_eq!(
            policy.check(ip("169.254.10.5")),
            Ok(()),
            "an allow inside a default deny"
        );
        assert!(policy.check(ip("169.254.11.5")).is_err());
        assert!(policy.check(ip("192.0.2.7")).is_err());
        let policy = TargetPolicy::new(&["10.0.0.0/8"], &["10.1.0.0/16"]).unwrap();
        assert_eq!(policy.check(ip("10.2.3.4")), Ok(()));
        assert!(policy.check(ip("10.1.3.4")).is_err());
        let err = policy.check(ip("192.0.2.1")).unwrap_err();
        assert!(err.contains("outside every --lua-health-allow"), "{err}");
    }

    #[test]
    fn bad_prefixes_are_named() {
        let err = TargetPolicy::new(&["10.0.0.0/33"], &[]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}
