//! Name spelling for the API: canonical names and zone ids. Questions about
//! names as DNS names (which is below which, joining a label to a zone) are
//! answered by `dnstypes::Name`.

use dnstypes::{Name, NameError};

/// Canonical form for the API: trimmed, lower-cased, with a trailing dot
/// (PowerDNS refuses names without one, and stores names lower-cased, so
/// comparing canonical forms is comparing what the server holds).
pub fn fqdn(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// The zone id for URL paths (pdns-api.md §2): the canonical name with every
/// byte outside `[A-Za-z0-9.-]` written `=XX` (upper-case hex). This also
/// keeps `/`, `?` and `#` from changing the meaning of the path.
pub fn zone_id(zone: &str) -> String {
    let mut id = String::new();
    for b in fqdn(zone).bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("={b:02X}"));
        }
    }
    id
}

/// Whether `child` is strictly below `parent` (both compared as DNS names,
/// ignoring case); `false` when either is not a valid name.
pub fn is_strict_subdomain(child: &str, parent: &str) -> bool {
    match (child.trim().parse::<Name>(), parent.trim().parse::<Name>()) {
        (Ok(child), Ok(parent)) => child.is_strict_subdomain_of(&parent),
        _ => false,
    }
}

/// `label.zone.` in canonical spelling, or the apex for `""`; an error when
/// the name would break the DNS limits.
pub fn child_fqdn(label: &str, zone: &str) -> Result<String, NameError> {
    let zone: Name = zone.trim().parse()?;
    let name = if label.is_empty() {
        zone
    } else {
        Name::from_text(label, Some(&zone))?
    };
    Ok(name.to_lowercase().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(fqdn("Omantel.Omani.Works"), "omantel.omani.works.");
        assert_eq!(fqdn(" a.b. "), "a.b.");
    }

    #[test]
    fn ids_escape_outside_the_safe_set() {
        assert_eq!(zone_id("example.org"), "example.org.");
        assert_eq!(zone_id("_srv.Example"), "=5Fsrv.example.");
        assert_eq!(
            zone_id("0/26.2.0.192.in-addr.arpa."),
            "0=2F26.2.0.192.in-addr.arpa."
        );
    }

    #[test]
    fn subdomains() {
        assert!(is_strict_subdomain("a.pool.test", "pool.test."));
        assert!(!is_strict_subdomain("pool.test", "pool.test"));
        assert!(!is_strict_subdomain("apool.test", "pool.test"));
        assert!(!is_strict_subdomain("pool.test", "a.pool.test"));
        assert!(is_strict_subdomain("A.Pool.Test.", "pool.test"));
        assert!(is_strict_subdomain("pool.test", "."));
    }

    #[test]
    fn children_are_joined_as_names() {
        assert_eq!(
            child_fqdn("*", "Omantel.omani.works.").unwrap(),
            "*.omantel.omani.works."
        );
        assert_eq!(child_fqdn("", "omani.works").unwrap(), "omani.works.");
        let long = format!(
            "{}.{}.{}.test",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert_eq!(child_fqdn(&"d".repeat(63), &long), Err(NameError::TooLong));
    }
}
