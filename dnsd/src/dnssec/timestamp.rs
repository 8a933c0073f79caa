//! DNSSEC time fields: the `YYYYMMDDHHmmSS` text form (RFC 4034 §3.2) used
//! by RRSIG presentation and by BIND key-timing fields, and the 32-bit serial
//! arithmetic of RRSIG times (RFC 4034 §3.1.5).
//!
//! Pure functions on UTC seconds since the epoch; no clock is read here.

use std::fmt::Write as _;

const SECS_PER_DAY: u64 = 86_400;

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats seconds since the epoch as `YYYYMMDDHHmmSS` (UTC).
pub fn format(secs: u64) -> String {
    let days = (secs / SECS_PER_DAY) as i64;
    let rem = secs % SECS_PER_DAY;
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(14);
    let _ = write!(
        out,
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    out
}

/// Parses `YYYYMMDDHHmmSS` (UTC) into seconds since the epoch.
///
/// Dates before 1970 and out-of-range fields are rejected.
pub fn parse(text: &str) -> Option<u64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, min, sec) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    // Reject 31 February and friends: the date must round-trip.
    if civil_from_days(days) != (i64::from(year), month, day) || days < 0 {
        return None;
    }
    Some(days as u64 * SECS_PER_DAY + u64::from(hour * 3600 + min * 60 + sec))
}

/// An RRSIG time field for `secs`: the low 32 bits (RFC 4034 §3.1.5).
pub fn serial(secs: u64) -> u32 {
    secs as u32
}

/// Seconds from `now` until `then` in RFC 1982 serial arithmetic:
/// negative when `then` lies in the past.
pub fn serial_diff(then: u32, now: u32) -> i64 {
    i64::from(then.wrapping_sub(now) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // RFC 6605 §6.1 RRSIG inception and RFC 8080 §6 times.
        assert_eq!(parse("20100812100439"), Some(1_281_607_479));
        assert_eq!(format(1_281_607_479), "20100812100439");
        assert_eq!(format(1_440_021_600), "20150819220000");
        assert_eq!(format(0), "19700101000000");
        assert_eq!(parse("20000229000000"), Some(951_782_400));
        assert_eq!(format(951_782_400), "20000229000000");
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "2010081210043",
            "20100812100439Z",
            "20101312100439",
            "20100230000000",
            "20100812240000",
            "19691231235959",
            "2010081210043x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trip_over_many_days() {
        let mut secs = 0u64;
        while secs < 5_000_000_000 {
            assert_eq!(parse(&format(secs)), Some(secs), "{secs}");
            secs += 86_400 * 37 + 3_601;
        }
    }

    #[test]
    fn serial_arithmetic_wraps() {
        assert_eq!(serial_diff(10, 5), 5);
        assert_eq!(serial_diff(5, 10), -5);
        assert_eq!(serial_diff(3, u32::MAX - 2), 6);
        assert_eq!(serial(1u64 << 32 | 7), 7);
    }
}
