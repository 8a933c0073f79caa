//! Resource record types (RFC 1035 §3.2.2 and the IANA registry).

use std::fmt;

/// A record type code. Unknown codes are valid and print as `TYPEnnn` (RFC 3597).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

macro_rules! rtypes {
    ($($name:ident = $code:expr),* $(,)?) => {
        impl RType {
            $(#[allow(missing_docs)] pub const $name: RType = RType($code);)*

            /// The mnemonic for a known type, e.g. `"AAAA"`.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Parses a mnemonic (any case) or the generic `TYPEnnn` form.
            pub fn from_text(text: &str) -> Option<RType> {
                $(if text.eq_ignore_ascii_case(stringify!($name)) { return Some(RType($code)); })*
                let digits = text.get(..4).filter(|p| p.eq_ignore_ascii_case("TYPE")).map(|_| &text[4..])?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                digits.parse::<u16>().ok().map(RType)
            }
        }
    };
}

rtypes! {
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16,
    RP = 17, AFSDB = 18, AAAA = 28, LOC = 29, SRV = 33, NAPTR = 35, KX = 36,
    CERT = 37, DNAME = 39, OPT = 41, APL = 42, DS = 43, SSHFP = 44, IPSECKEY = 45,
    RRSIG = 46, NSEC = 47, DNSKEY = 48, DHCID = 49, NSEC3 = 50, NSEC3PARAM = 51,
    TLSA = 52, SMIMEA = 53, HIP = 55, CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61,
    CSYNC = 62, ZONEMD = 63, SVCB = 64, HTTPS = 65, SPF = 99, NXNAME = 128,
    TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253, MAILA = 254,
    ANY = 255, URI = 256, CAA = 257, LUA = 65402, ALIAS = 65401,
}

impl RType {
    /// Types that are stored but never answered as such: LUA records (and
    /// ALIAS) produce other types; a query for the type itself is NODATA.
    pub fn is_stored_only(self) -> bool {
        self == RType::LUA || self == RType::ALIAS
    }

    /// Meta and question-only types (RFC 6895 §3.1): never stored in a zone.
    pub fn is_meta(self) -> bool {
        self == RType::OPT || (128..=255).contains(&self.0)
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_and_generic_form() {
        assert_eq!(RType::from_text("aaaa"), Some(RType::AAAA));
        assert_eq!(RType::from_text("TYPE65000"), Some(RType(65000)));
        assert_eq!(RType::from_text("type1"), Some(RType::A));
        assert_eq!(RType::from_text("TYPE"), None);
        assert_eq!(RType::from_text("TYPE70000"), None);
        assert_eq!(RType::from_text("BOGUS"), None);
        assert_eq!(RType(65000).to_string(), "TYPE65000");
        assert_eq!(RType::LUA.to_string(), "LUA");
    }
}
