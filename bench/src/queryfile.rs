//! dnsperf's query-file format (`name TYPE` a line, `;` comments) read into
//! ready-to-send DNS query messages.
//!
//! Each message is built once; the load generator only patches the ID.
//! Name case is kept octet for octet, like dnsperf does.

use std::fmt;

/// A query file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFileError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for QueryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for QueryFileError {}

/// Header flags and EDNS for the built messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions {
    /// Set RD, as dnsperf does.
    pub recursion_desired: bool,
    /// Add an OPT record (payload 1232).
    pub edns: bool,
    /// Set DO in the OPT record (implies `edns`).
    pub dnssec_ok: bool,
}

/// Parses the text of a query file into wire messages with ID 0.
pub fn parse(text: &str, options: QueryOptions) -> Result<Vec<Vec<u8>>, QueryFileError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let err = |reason: String| QueryFileError {
            line: index + 1,
            reason,
        };
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap_or_default();
        let qtype = fields.next().unwrap_or("A");
        let qtype = type_code(qtype).ok_or_else(|| err(format!("unknown type {qtype}")))?;
        out.push(build_query(name, qtype, options).map_err(err)?);
    }
    if out.is_empty() {
        return Err(QueryFileError {
            line: 0,
            reason: "no queries".into(),
        });
    }
    Ok(out)
}

/// The numeric code of a type mnemonic (or `TYPEnnn`).
pub fn type_code(mnemonic: &str) -> Option<u16> {
    let upper = mnemonic.to_ascii_uppercase();
    let code = match upper.as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "HINFO" => 13,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "NAPTR" => 35,
        "DNAME" => 39,
        "DS" => 43,
        "SSHFP" => 44,
        "RRSIG" => 46,
        "NSEC" => 47,
        "DNSKEY" => 48,
        "NSEC3PARAM" => 51,
        "SVCB" => 64,
        "HTTPS" => 65,
        "ANY" => 255,
        "CAA" => 257,
        other => return other.strip_prefix("TYPE")?.parse().ok(),
    };
    Some(code)
}

/// One query message with ID 0.
pub fn build_query(name: &str, qtype: u16, options: QueryOptions) -> Result<Vec<u8>, String> {
    let edns = options.edns || options.dnssec_ok;
    let mut m = Vec::with_capacity(12 + name.len() + 2 + 4 + 11);
    let flags: u16 = if options.recursion_desired { 0x0100 } else { 0 };
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&u16::from(edns).to_be_bytes());
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if name.contains('\\') {
        return Err(format!("escapes are not supported: {name}"));
    }
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(format!("bad label in {name}"));
            }
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
    }
    m.push(0);
    if m.len() - 12 > 255 {
        return Err(format!("name too long: {name}"));
    }
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        let ttl: u32 = if options.dnssec_ok { 0x8000 } else { 0 };
        m.push(0);
        m.extend_from_slice(&41u16.to_be_bytes());
        m.extend_from_slice(&1232u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
    }
    Ok(m)
}

/// RCODE of a response (low 4 bits of the header), if it is one.
pub fn response_rcode(message: &[u8]) -> Option<u8> {
    if message.len() < 12 || message[2] & 0x80 == 0 {
        return None;
    }
    Some(message[3] & 0x0f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_plain_query() {
        let m = build_query("WwW.Example.", 1, QueryOptions::default()).unwrap();
        assert_eq!(&m[..12], &[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&m[12..], b"\x03WwW\x07Example\x00\x00\x01\x00\x01");
    }

    #[test]
    fn builds_edns_with_do() {
        let options = QueryOptions {
            recursion_desired: true,
            dnssec_ok: true,
            ..QueryOptions::default()
        };
        let m = build_query("a.b", 28, options).unwrap();
        assert_eq!(m[2], 0x01);
        assert_eq!(&m[10..12], &[0, 1]);
        assert_eq!(
            &m[m.len() - 11..],
            &[0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0]
        );
    }

    #[test]
    fn parses_files() {
        let text = "; comment\nhost1.bench.test A\n\nx.bench.test TYPE65\nroot.test. aaaa\n";
        let q = parse(text, QueryOptions::default()).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(&q[1][q[1].len() - 4..], &[0, 65, 0, 1]);
        assert_eq!(&q[2][q[2].len() - 4..], &[0, 28, 0, 1]);
        let bad = parse("a.test BOGUS\n", QueryOptions::default()).unwrap_err();
        assert_eq!(bad.line, 1);
        assert!(parse("", QueryOptions::default()).is_err());
    }

    #[test]
    fn reads_rcode() {
        assert_eq!(
            response_rcode(&[0, 0, 0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]),
            Some(3)
        );
        assert_eq!(
            response_rcode(&[0, 0, 0x04, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
    }
}
