//! Helpers for reading RDATA fields from tokens and printing them back:
//! numbers, names, character-strings, hex and base64.
//!
//! Field names passed as `what` end up in error messages ("MX preference
//! 70000 is out of range"), so they name the field the way an operator would.

use std::fmt::Write as _;

use data_encoding::{BASE64, HEXLOWER, HEXLOWER_PERMISSIVE};

use super::{RdataError, Token};
use crate::wire::Name;

/// Reads RDATA fields from a slice of tokens, front to back.
pub(crate) struct Cursor<'t, 'a> {
    tokens: &'t [Token<'a>],
    pos: usize,
}

impl<'t, 'a> Cursor<'t, 'a> {
    pub(crate) fn new(tokens: &'t [Token<'a>]) -> Cursor<'t, 'a> {
        Cursor { tokens, pos: 0 }
    }

    /// The next token, or a "missing `what`" error.
    pub(crate) fn next(&mut self, what: &'static str) -> Result<&'t Token<'a>, RdataError> {
        let token = self.tokens.get(self.pos).ok_or(RdataError::Missing(what))?;
        self.pos += 1;
        Ok(token)
    }

    /// Everything not read yet, consumed.
    pub(crate) fn rest(&mut self) -> &'t [Token<'a>] {
        let rest = &self.tokens[self.pos.min(self.tokens.len())..];
        self.pos = self.tokens.len();
        rest
    }

    /// Fails if any token is left unread.
    pub(crate) fn finish(&self) -> Result<(), RdataError> {
        match self.tokens.get(self.pos) {
            None => Ok(()),
            Some(t) => Err(RdataError::Trailing(t.raw().to_string())),
        }
    }

    pub(crate) fn number(&mut self, what: &'static str, max: u64) -> Result<u64, RdataError> {
        let token = self.next(what)?;
        parse_number(token, what, max)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, RdataError> {
        // The bound keeps the value in range of the cast.
        Ok(self.number(what, u8::MAX.into())? as u8)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, RdataError> {
        Ok(self.number(what, u16::MAX.into())? as u16)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, RdataError> {
        Ok(self.number(what, u32::MAX.into())? as u32)
    }

    /// A TTL-like duration: seconds, or BIND units such as `1h30m`.
    pub(crate) fn duration(&mut self, what: &'static str) -> Result<u32, RdataError> {
        let token = self.next(what)?;
        parse_ttl(token.raw()).map_err(|_| bad_number(token, what))
    }

    /// A domain name; `@` is the origin, relative names are completed with it.
    pub(crate) fn name(&mut self, what: &'static str, origin: &Name) -> Result<Name, RdataError> {
        let token = self.next(what)?;
        parse_name(token, origin)
    }

    /// A character-string, written length-prefixed into `out`.
    pub(crate) fn charstr(
        &mut self,
        what: &'static str,
        out: &mut Vec<u8>,
    ) -> Result<(), RdataError> {
        let token = self.next(what)?;
        push_charstr(token.bytes(), out)
    }

    /// All remaining tokens joined and hex-decoded (blanks may split the hex).
    pub(crate) fn hex_rest(&mut self, what: &'static str) -> Result<Vec<u8>, RdataError> {
        let joined = self.joined_rest(what)?;
        decode_hex(&joined, what)
    }

    /// All remaining tokens joined and base64-decoded.
    pub(crate) fn base64_rest(&mut self, what: &'static str) -> Result<Vec<u8>, RdataError> {
        let joined = self.joined_rest(what)?;
        BASE64
            .decode(joined.as_bytes())
            .map_err(|_| RdataError::invalid(what, joined))
    }

    fn joined_rest(&mut self, what: &'static str) -> Result<String, RdataError> {
        let rest = self.rest();
        if rest.is_empty() {
            return Err(RdataError::Missing(what));
        }
        Ok(rest.iter().map(|t| t.raw()).collect())
    }
}

fn bad_number(token: &Token<'_>, what: &'static str) -> RdataError {
    RdataError::invalid(what, token.raw())
}

/// A plain decimal number no larger than `max`.
pub(crate) fn parse_number(
    token: &Token<'_>,
    what: &'static str,
    max: u64,
) -> Result<u64, RdataError> {
    let digits = token.bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad_number(token, what));
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    if value > max {
        return Err(RdataError::range(what, token.raw()));
    }
    Ok(value)
}

/// Parses a TTL in seconds or with BIND units (`1w2d3h4m5s`, any case).
/// Values above `u32::MAX` are refused; the RFC 2181 limit of 2^31-1 is a
/// zone rule checked later, so it can be reported with its location.
pub fn parse_ttl(text: &str) -> Result<u32, RdataError> {
    let bad = || RdataError::invalid("TTL", text);
    if text.is_empty() {
        return Err(bad());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u32>()
            .map_err(|_| RdataError::range("TTL", text));
    }
    let mut total: u64 = 0;
    let mut current: Option<u64> = None;
    for b in text.bytes() {
        if b.is_ascii_digit() {
            let v = current
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u64::from(b - b'0'));
            current = Some(v);
            continue;
        }
        let unit = match b.to_ascii_lowercase() {
            b'w' => 604_800,
            b'd' => 86_400,
            b'h' => 3_600,
            b'm' => 60,
            b's' => 1,
            _ => return Err(bad()),
        };
        let n = current.take().ok_or_else(bad)?;
        total = total.saturating_add(n.saturating_mul(unit));
    }
    // A trailing number without a unit counts as seconds, as BIND does.
    total = total.saturating_add(current.unwrap_or(0));
    u32::try_from(total).map_err(|_| RdataError::range("TTL", text))
}

/// Reads a name token: `@` is the origin; quoted names are refused because
/// quoting hides the escapes a name needs.
pub(crate) fn parse_name(token: &Token<'_>, origin: &Name) -> Result<Name, RdataError> {
    if token.is_quoted() {
        return Err(RdataError::invalid(
            "domain name (names are not quoted)",
            token.raw(),
        ));
    }
    let raw = token.raw();
    if raw == "@" {
        return Ok(origin.clone());
    }
    Name::from_text(raw, Some(origin)).map_err(|source| RdataError::Name {
        text: raw.to_string(),
        source,
    })
}

/// Appends `bytes` as a length-prefixed character-string.
pub(crate) fn push_charstr(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), RdataError> {
    let len = u8::try_from(bytes.len()).map_err(|_| RdataError::StringTooLong(bytes.len()))?;
    out.push(len);
    out.extend_from_slice(bytes);
    Ok(())
}

pub(crate) fn decode_hex(text: &str, what: &'static str) -> Result<Vec<u8>, RdataError> {
    HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .map_err(|_| RdataError::invalid(what, text))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    HEXLOWER.encode(bytes)
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Escapes octets for use inside a quoted string: `"` and `\` get a
/// backslash, octets outside printable ASCII become `\DDD`.
pub(crate) fn escape_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// Appends `bytes` as a quoted string, e.g. `"v=spf1 -all"`.
pub(crate) fn quoted_into(bytes: &[u8], out: &mut String) {
    out.push('"');
    escape_into(bytes, out);
    out.push('"');
}

/// Adds a separating space unless `out` is empty.
pub(crate) fn space(out: &mut String) {
    if !out.is_empty() {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("3600"), Ok(3600));
        assert_eq!(
            parse_ttl("1w2d3h4m5s"),
            Ok(604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5)
        );
        assert_eq!(parse_ttl("1H30M"), Ok(5400));
        assert_eq!(parse_ttl("1h30"), Ok(3630));
        assert_eq!(parse_ttl("4294967295"), Ok(u32::MAX));
        assert!(parse_ttl("4294967296").is_err());
        assert!(parse_ttl("10000w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("1x").is_err());
        assert!(parse_ttl("").is_err());
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        quoted_into(b"a\"b\\c\x00\xff ", &mut s);
        assert_eq!(s, r#""a\"b\\c\000\255 ""#);
    }
}
