//! Which names may be allocated: the label syntax PDM accepts, the labels
//! reserved for the Sovereign control plane, and name normalisation.

/// Labels that belong to the Sovereign control plane and are never handed
/// out (the Go PDM's list, sorted).
pub const RESERVED: [&str; 21] = [
    "admin", "api", "app", "catalyst", "console", "docs", "flux", "gitea", "harbor", "imap", "k8s",
    "keycloak", "mail", "openbao", "openova", "smtp", "status", "system", "vault", "vpn", "www",
];

/// The detail text PDM gives for a label that fails [`is_valid_label`].
pub const INVALID_FORMAT_DETAIL: &str =
    "subdomain must be a-z, 0-9 and hyphens, start with a letter, max 63 characters";

/// Trims and lower-cases a label or domain as it arrives from a caller.
pub fn normalize(raw: &str) -> String {
    raw.trim().to_ascii_lowercase()
}

/// `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`: one label, starting with a letter,
/// not ending with a hyphen. One-letter labels are allowed, as in PDM.
pub fn is_valid_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= 63
        && first.is_ascii_lowercase()
        && *last != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Whether `label` (already normalised) is on the reserved list.
pub fn is_reserved(label: &str) -> bool {
    RESERVED.binary_search(&label).is_ok()
}

/// Splits a comma- or space-separated list, normalising and de-duplicating
/// while keeping the first occurrence's order.
pub fn split_list(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(|c: char| c == ',' || c.is_whitespace()) {
        let item = normalize(item).trim_end_matches('.').to_owned();
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_syntax_matches_pdm() {
        for ok in ["a", "omantel", "a-b", "x1", &"a".repeat(63)] {
            assert!(is_valid_label(ok), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "-abc",
            "abc-",
            "a.b",
            "ABC",
            "a_b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_label(bad), "{bad}");
        }
    }

    #[test]
    fn reserved_list_is_sorted_and_complete() {
        let mut sorted = RESERVED;
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED);
        assert!(is_reserved("api") && is_reserved("www") && is_reserved("k8s"));
        assert!(!is_reserved("omantel"));
    }

    #[test]
    fn lists_split_on_commas_and_spaces() {
        assert_eq!(
            split_list(" NS1.openova.io, ns2.openova.io. ns1.openova.io\tns3.openova.io"),
            ["ns1.openova.io", "ns2.openova.io", "ns3.openova.io"]
        );
        assert!(split_list(" , ").is_empty());
    }
}
