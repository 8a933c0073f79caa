//! Which addresses a commit may point a tenant's records at (hardening
//! issue #19): a `loadBalancerIP` becomes the A records of a public name,
//! so it must be a global unicast address. Loopback, unspecified,
//! link-local, multicast, broadcast and reserved addresses are refused
//! outright (they would point the name at the resolver's own host or at
//! nothing). Private ranges are refused unless the operator allows them
//! for a lab (`POOLMGR_ALLOW_PRIVATE_LB_IPS`). The documentation ranges
//! are accepted: PDM's own examples use 203.0.113.7, and they reach no one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, for this check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Global unicast (including the documentation ranges): accepted.
    Global,
    /// A private range, named: accepted only when allowed.
    Private(&'static str),
    /// Never a load balancer, named: refused.
    NotUnicast(&'static str),
}

/// The class of `ip`.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() {
        NotUnicast("unspecified")
    } else if a == 0 {
        NotUnicast("\"this network\" (0.0.0.0/8)")
    } else if ip.is_loopback() {
        NotUnicast("loopback")
    } else if ip.is_link_local() {
        NotUnicast("link-local")
    } else if ip.is_multicast() {
        NotUnicast("multicast")
    } else if ip.is_broadcast() {
        NotUnicast("broadcast")
    } else if a >= 240 {
        NotUnicast("reserved (240.0.0.0/4)")
    } else if ip.is_private() {
        Private("RFC 1918")
    } else if a == 100 && (64..128).contains(&b) {
        Private("shared CGNAT space 100.64.0.0/10")
    } else if a == 198 && (b == 18 || b == 19) {
        Private("benchmarking 198.18.0.0/15")
    } else {
        Global
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        NotUnicast("unspecified")
    } else if ip.is_loopback() {
        NotUnicast("loopback")
    } else if ip.is_unicast_link_local() {
        NotUnicast("link-local")
    } else if ip.is_multicast() {
        NotUnicast("multicast")
    } else if ip.to_ipv4_mapped().is_some() {
        NotUnicast("IPv4-mapped (::ffff:0:0/96)")
    } else if ip.is_unique_local() {
        Private("unique local fc00::/7")
    } else if first & 0xffc0 == 0xfec0 {
        Private("site-local fec0::/10")
    } else {
        Global
    }
}

/// Which load-balancer addresses are accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbIpPolicy {
    /// Accept private ranges (`POOLMGR_ALLOW_PRIVATE_LB_IPS`).
    pub allow_private: bool,
}

/// Why a load-balancer address is refused; the 422 `invalid-lb-ip`
/// detail says which.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LbIpError {
    /// Not an address of the family asked for.
    #[error("is not an {0} address")]
    NotAnAddress(&'static str),
    /// Loopback, multicast and the like.
    #[error("is a {0} address; it must be a global unicast address")]
    NotGlobal(&'static str),
    /// A private range, not allowed here.
    #[error(
        "is a private address ({0}); it must be a global unicast address \
         (POOLMGR_ALLOW_PRIVATE_LB_IPS=true allows private ranges, for labs)"
    )]
    Private(&'static str),
}

impl LbIpPolicy {
    /// Whether `ip` may be a load balancer under this policy.
    pub fn check(self, ip: IpAddr) -> Result<(), LbIpError> {
        match classify(ip) {
            AddressClass::Global => Ok(()),
            AddressClass::Private(_) if self.allow_private => Ok(()),
            AddressClass::Private(range) => Err(LbIpError::Private(range)),
            AddressClass::NotUnicast(kind) => Err(LbIpError::NotGlobal(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn never_a_load_balancer() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.1.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:192.0.2.1",
        ] {
            assert!(matches!(class(ip), AddressClass::NotUnicast(_)), "{ip}");
        }
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "198.18.0.1",
            "198.19.255.254",
            "fd00::1",
            "fc00::1",
            "fec0::1",
        ] {
            assert!(matches!(class(ip), AddressClass::Private(_)), "{ip}");
        }
    }

    #[test]
    fn global_and_documentation() {
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "100.63.255.255",
            "198.20.0.1",
            "192.0.2.1",
            "198.51.100.9",
            "203.0.113.7",
            "2001:db8::1",
            "2a00:1450::1",
        ] {
            assert_eq!(class(ip), AddressClass::Global, "{ip}");
        }
    }

    #[test]
    fn the_policy_decides_private_ranges_only() {
        let strict = LbIpPolicy::default();
        let lab = LbIpPolicy {
            allow_private: true,
        };
        let private: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(matches!(strict.check(private), Err(LbIpError::Private(_))));
        assert_eq!(lab.check(private), Ok(()));
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let e = lab.check(loopback).unwrap_err();
        assert_eq!(e, LbIpError::NotGlobal("loopback"));
        assert!(strict.check("203.0.113.7".parse().unwrap()).is_ok());
        let msg = strict.check(private).unwrap_err().to_string();
        assert!(msg.contains("POOLMGR_ALLOW_PRIVATE_LB_IPS"), "{msg}");
    }
}
