//! Zone ids as PowerDNS writes them in URLs (`pdns/ws-api.cc`): the zone
//! name with a trailing dot, every byte outside `[A-Za-z0-9.-]` written as
//! `=XX` with upper-case hex. The root zone is `=2E`.

/// The id for a zone name in presentation form with trailing dot.
pub fn encode(name: &str) -> String {
    if name == "." {
        return "=2E".into();
    }
    let mut id = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            id.push(b as char);
        } else {
            id.push_str(&format!("={b:02X}"));
        }
    }
    id
}

/// Decodes an id from a path. `None` when an escape is not `=` followed by
/// two upper-case hex digits (PowerDNS answers 400 then). The result may
/// lack the trailing dot: clients differ on that, and both are accepted.
pub fn decode(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex
                .iter()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
            {
                return None;
            }
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(encode("example.org."), "example.org.");
        assert_eq!(
            encode("0/26.2.0.192.in-addr.arpa."),
            "0=2F26.2.0.192.in-addr.arpa."
        );
        assert_eq!(encode("_srv.example."), "=5Fsrv.example.");
        assert_eq!(encode("."), "=2E");
        assert_eq!(
            decode("0=2F26.2.0.192.in-addr.arpa.").unwrap(),
            "0/26.2.0.192.in-addr.arpa."
        );
        assert_eq!(decode("=2E").unwrap(), ".");
        assert_eq!(decode("example.org").unwrap(), "example.org");
        assert!(decode("a=2f").is_none(), "lower-case hex is refused");
        assert!(decode("a=2").is_none());
    }
}
