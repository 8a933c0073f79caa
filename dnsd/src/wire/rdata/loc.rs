//! LOC (RFC 1876): a location as latitude, longitude and altitude, with the
//! size of the thing located and the precision of the fix.
//!
//! Text: `d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`,
//! defaults 1m, 10000m and 10m. Wire: version 0, the three sizes as
//! base·10^exponent centimetres in one octet each, then latitude and
//! longitude in thousandths of an arc-second offset by 2^31, and altitude
//! in centimetres above 100 000 m below the reference spheroid.

use std::fmt::Write as _;

use super::RdataError;
use super::reader::Reader;
use super::text::Cursor;
use crate::wire::Name;

const EQUATOR: i64 = 1 << 31;
const ALTITUDE_BASE_CM: i64 = 10_000_000;
const MILLI_PER_DEGREE: i64 = 3_600_000;

pub(crate) fn parse(
    cur: &mut Cursor<'_, '_>,
    _: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let tokens: Vec<&str> = cur.rest().iter().map(|t| t.raw()).collect();
    let mut at = 0;
    let lat = coordinate(&tokens, &mut at, 90, ('N', 'S'))?;
    let lon = coordinate(&tokens, &mut at, 180, ('E', 'W'))?;
    let alt_cm = metres(
        tokens.get(at).ok_or(RdataError::Missing("LOC altitude"))?,
        "LOC altitude",
    )?;
    at += 1;
    if !(-ALTITUDE_BASE_CM..=(u32::MAX as i64 - ALTITUDE_BASE_CM)).contains(&alt_cm) {
        return Err(RdataError::invalid("LOC altitude", tokens[at - 1]));
    }
    let mut precision = [100, 1_000_000, 1_000]; // 1m, 10000m, 10m
    let names = [
        "LOC size",
        "LOC horizontal precision",
        "LOC vertical precision",
    ];
    for (slot, what) in precision.iter_mut().zip(names) {
        let Some(token) = tokens.get(at) else { break };
        *slot = metres(token, what)?;
        if !(0..=9_000_000_000).contains(slot) {
            return Err(RdataError::invalid(what, *token));
        }
        at += 1;
    }
    if let Some(extra) = tokens.get(at) {
        return Err(RdataError::Trailing(extra.to_string()));
    }
    out.push(0);
    out.extend(precision.iter().map(|&cm| encode_size(cm as u64)));
    out.extend_from_slice(&((EQUATOR + lat) as u32).to_be_bytes());
    out.extend_from_slice(&((EQUATOR + lon) as u32).to_be_bytes());
    out.extend_from_slice(&((alt_cm + ALTITUDE_BASE_CM) as u32).to_be_bytes());
    Ok(())
}

/// Degrees, optional minutes and seconds, then the hemisphere letter: the
/// signed position in thousandths of an arc-second.
fn coordinate(
    tokens: &[&str],
    at: &mut usize,
    max_degrees: i64,
    (positive, negative): (char, char),
) -> Result<i64, RdataError> {
    let what = if max_degrees == 90 {
        "LOC latitude"
    } else {
        "LOC longitude"
    };
    let mut fields = Vec::with_capacity(3);
    loop {
        let token = *tokens.get(*at).ok_or(RdataError::Missing(what))?;
        *at += 1;
        let hemisphere = token.chars().next().map(|c| c.to_ascii_uppercase());
        if token.len() == 1 && (hemisphere == Some(positive) || hemisphere == Some(negative)) {
            if fields.is_empty() {
                return Err(RdataError::invalid(what, token));
            }
            let (d, m, s) = (
                fields[0],
                *fields.get(1).unwrap_or(&0),
                *fields.get(2).unwrap_or(&0),
            );
            let value = d * MILLI_PER_DEGREE + m * 60_000 + s;
            if value > max_degrees * MILLI_PER_DEGREE {
                return Err(RdataError::invalid(what, token));
            }
            return Ok(if hemisphere == Some(positive) {
                value
            } else {
                -value
            });
        }
        let value = match fields.len() {
            0 => token
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=max_degrees).contains(d)),
            1 => token.parse::<i64>().ok().filter(|m| (0..60).contains(m)),
            // Seconds: a decimal (PowerDNS's latlonloc() may print a tiny
            // float error in exponent form), to the thousandth.
            2 => seconds(token),
            _ => None,
        };
        fields.push(value.ok_or_else(|| RdataError::invalid(what, token))?);
    }
}

/// Seconds in thousandths: `s[.fff]`, unsigned (so "-0" is an error, as
/// in PowerDNS, which answers SERVFAIL to its own `latlonloc()` at 0).
/// Further fraction digits are truncated and an exponent part is ignored,
/// as PowerDNS's parser does: `latlonloc()` prints a float error of a
/// whole-minute position as `1.27898e-12`, which PowerDNS reads as 1.278 s,
/// and a LUA LOC record must encode as it does.
fn seconds(token: &str) -> Option<i64> {
    let (number, exponent) = match token.find(['e', 'E']) {
        Some(i) => (&token[..i], Some(&token[i + 1..])),
        None => (token, None),
    };
    if let Some(e) = exponent {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut milli = 0;
    for (i, b) in fraction.bytes().take(3).enumerate() {
        milli += i64::from(b - b'0') * [100, 10, 1][i];
    }
    let secs: i64 = whole.parse().ok()?;
    (secs < 60).then_some(secs * 1000 + milli)
}

/// `12.34m` or `12.34` in centimetres.
fn metres(token: &str, what: &'static str) -> Result<i64, RdataError> {
    let number = token.strip_suffix(['m', 'M']).unwrap_or(token);
    number
        .parse::<f64>()
        .ok()
        .filter(|m| m.is_finite() && m.abs() < 1e11)
        .map(|m| (m * 100.0).round() as i64)
        .ok_or_else(|| RdataError::invalid(what, token))
}

/// Centimetres as base·10^exponent in one octet (rounded down to one
/// significant digit, as RFC 1876 implementations do).
fn encode_size(cm: u64) -> u8 {
    if cm == 0 {
        return 0;
    }
    let mut exponent = 0u8;
    let mut base = cm;
    while base >= 10 && exponent < 9 {
        base /= 10;
        exponent += 1;
    }
    ((base.min(9) as u8) << 4) | exponent
}

pub(crate) fn print(r: &mut Reader<'_>, out: &mut String) -> Result<(), RdataError> {
    let version = r.u8()?;
    if version != 0 {
        return Err(r.fault(format!("LOC version {version} is not 0")));
    }
    let mut sizes = [0u64; 3];
    for size in &mut sizes {
        let octet = r.u8()?;
        let (base, exponent) = (u64::from(octet >> 4), u32::from(octet & 0x0f));
        if base > 9 || exponent > 9 {
            return Err(r.fault(format!(
                "LOC size octet {octet:#04x} is not base·10^exponent"
            )));
        }
        *size = base * 10u64.pow(exponent);
    }
    let lat = i64::from(r.u32()?) - EQUATOR;
    let lon = i64::from(r.u32()?) - EQUATOR;
    if lat.abs() > 90 * MILLI_PER_DEGREE || lon.abs() > 180 * MILLI_PER_DEGREE {
        return Err(r.fault("LOC position out of range"));
    }
    let alt = i64::from(r.u32()?) - ALTITUDE_BASE_CM;
    print_coordinate(out, lat, ('N', 'S'));
    out.push(' ');
    print_coordinate(out, lon, ('E', 'W'));
    out.push(' ');
    print_metres(out, alt);
    for size in sizes {
        out.push(' ');
        print_metres(out, size as i64);
    }
    Ok(())
}

fn print_coordinate(out: &mut String, value: i64, (positive, negative): (char, char)) {
    let hemisphere = if value >= 0 { positive } else { negative };
    let v = value.abs();
    let _ = write!(
        out,
        "{} {} {}.{:03} {hemisphere}",
        v / MILLI_PER_DEGREE,
        v / 60_000 % 60,
        v / 1000 % 60,
        v % 1000
    );
}

fn print_metres(out: &mut String, cm: i64) {
    let sign = if cm < 0 { "-" } else { "" };
    let _ = write!(out, "{sign}{}.{:02}m", cm.abs() / 100, cm.abs() % 100);
}
