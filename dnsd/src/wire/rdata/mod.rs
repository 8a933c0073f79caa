//! RDATA in presentation (zone file) and wire format, per record type.
//!
//! [`parse_text`] turns lexed tokens into uncompressed wire RDATA,
//! [`to_text`] prints wire RDATA the way BIND and PowerDNS do (absolute
//! names, quoted strings, lower-case hex), and [`check_wire`] validates wire
//! RDATA of a known type. Printing and validating share one code path per
//! type, so anything `check_wire` accepts, `to_text` can print and
//! `parse_text` reads back to the same bytes.
//!
//! Every type also accepts the RFC 3597 generic form `\# <len> <hex>`; for
//! types with a codec here the bytes must then pass [`check_wire`]. Types
//! without a codec print in the generic form.
//!
//! One file per family of types; this module only dispatches. Nothing here
//! does I/O or knows about zones: `@` and relative names are resolved
//! against the `origin` the caller passes.

mod addr;
mod caa;
mod dnssec;
mod error;
mod fingerprints;
mod generic;
mod lexer;
mod loc;
mod lua;
mod mx;
mod names;
mod naptr;
mod reader;
mod soa;
mod srv;
mod strings;
mod svcb;
mod text;

#[cfg(test)]
mod tests;

pub use error::RdataError;
pub use lexer::{Entry, LexError, Lexer, Token, tokenize};
pub use text::parse_ttl;

use reader::Reader;
use text::Cursor;

use crate::wire::{Name, RType};

/// Reads tokens into wire RDATA, appending to `out`.
type ParseFn = fn(&mut Cursor<'_, '_>, &Name, &mut Vec<u8>) -> Result<(), RdataError>;
/// Prints wire RDATA, validating it on the way.
type PrintFn = fn(&mut Reader<'_>, &mut String) -> Result<(), RdataError>;

/// The codec for a type, if it has a presentation format here.
fn codec(rtype: RType) -> Option<(ParseFn, PrintFn)> {
    Some(match rtype {
        RType::A => (addr::parse_a, addr::print_a),
        RType::AAAA => (addr::parse_aaaa, addr::print_aaaa),
        RType::NS | RType::CNAME | RType::PTR | RType::DNAME => (names::parse, names::print),
        RType::SOA => (soa::parse, soa::print),
        RType::MX => (mx::parse, mx::print),
        RType::TXT | RType::SPF => (strings::parse_txt, strings::print_txt),
        RType::HINFO => (strings::parse_hinfo, strings::print_hinfo),
        RType::SRV => (srv::parse_srv, srv::print_srv),
        RType::URI => (srv::parse_uri, srv::print_uri),
        RType::NAPTR => (naptr::parse, naptr::print),
        RType::CAA => (caa::parse, caa::print),
        RType::DS | RType::CDS => (dnssec::parse_ds, dnssec::print_ds),
        RType::DNSKEY | RType::CDNSKEY => (dnssec::parse_dnskey, dnssec::print_dnskey),
        RType::TLSA => (fingerprints::parse_tlsa, fingerprints::print_tlsa),
        RType::SSHFP => (fingerprints::parse_sshfp, fingerprints::print_sshfp),
        RType::SVCB | RType::HTTPS => (svcb::parse, svcb::print),
        RType::LUA => (lua::parse, lua::print),
        RType::LOC => (loc::parse, loc::print),
        _ => return None,
    })
}

/// True when `rtype` has a presentation codec (otherwise only `\#` works).
pub fn has_codec(rtype: RType) -> bool {
    codec(rtype).is_some()
}

/// Parses the RDATA tokens of one record into uncompressed wire format.
///
/// Names are completed with `origin` unless absolute; `@` is `origin`.
pub fn parse_text(
    rtype: RType,
    tokens: &[Token<'_>],
    origin: &Name,
) -> Result<Vec<u8>, RdataError> {
    let mut cur = Cursor::new(tokens);
    let wire = if tokens.first().is_some_and(Token::is_generic_marker) {
        cur.next("generic RDATA marker")?;
        let wire = generic::parse(&mut cur)?;
        check_wire(rtype, &wire)?;
        wire
    } else {
        let (parse, _) = codec(rtype).ok_or(RdataError::NoCodec(rtype))?;
        let mut out = Vec::with_capacity(32);
        parse(&mut cur, origin, &mut out)?;
        cur.finish()?;
        out
    };
    if wire.len() > usize::from(u16::MAX) {
        return Err(RdataError::TooLong(wire.len()));
    }
    Ok(wire)
}

/// Tokenises one RDATA string (e.g. PowerDNS API `content` such as
/// `10 mail.example.com.`) and parses it with [`parse_text`].
pub fn parse_str(rtype: RType, text: &str, origin: &Name) -> Result<Vec<u8>, RdataError> {
    let tokens = tokenize(text)?;
    parse_text(rtype, &tokens, origin)
}

/// Prints wire RDATA in presentation format; types without a codec (and
/// unknown types) print as `\# <len> <hex>`.
pub fn to_text(rtype: RType, wire: &[u8]) -> Result<String, RdataError> {
    if wire.len() > usize::from(u16::MAX) {
        return Err(RdataError::TooLong(wire.len()));
    }
    let Some((_, print)) = codec(rtype) else {
        return Ok(generic::print(wire));
    };
    let mut reader = Reader::new(rtype, wire);
    let mut out = String::with_capacity(wire.len() * 2 + 8);
    print(&mut reader, &mut out)?;
    reader.finish()?;
    Ok(out)
}

/// Checks that wire RDATA follows its type's format. Types without a codec
/// here are opaque and always pass (apart from the 65535-octet limit).
pub fn check_wire(rtype: RType, wire: &[u8]) -> Result<(), RdataError> {
    to_text(rtype, wire).map(drop)
}

/// Encodes a string as TXT RDATA (character-strings of at most 255 octets).
pub fn txt_rdata(text: &str) -> Box<[u8]> {
    let bytes = text.as_bytes();
    let mut rdata = Vec::with_capacity(bytes.len() + bytes.len() / 255 + 1);
    if bytes.is_empty() {
        rdata.push(0);
    }
    for chunk in bytes.chunks(255) {
        rdata.push(chunk.len() as u8);
        rdata.extend_from_slice(chunk);
    }
    rdata.into_boxed_slice()
}
