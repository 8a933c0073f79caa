//! SOA serial changes on API edits (SOA-EDIT-API, `pdns/serialtweaker.cc`).
//!
//! Every change moves the serial forward under RFC 1982 arithmetic,
//! whatever the rule or a written SOA says: a secondary ignores a zone
//! whose serial went back or stood still, so the change would never reach
//! it. Serials stay below 2^31 (external-dns decodes them as int32) except
//! when a zone already sits at 2^31 - 1: from there every serial greater
//! under RFC 1982 is above 2^31, and never going back wins.

/// Largest serial the rules hand out.
pub const MAX_SERIAL: u32 = i32::MAX as u32;

/// RFC 1982 §3.2: `a` is greater than `b` in 32-bit serial arithmetic.
pub fn serial_gt(a: u32, b: u32) -> bool {
    let ahead = a.wrapping_sub(b);
    ahead != 0 && ahead < 1 << 31
}

/// The serial an API change gives a zone whose serial was `old`, when the
/// change wrote `written` (a replaced SOA's serial) or nothing, under
/// SOA-EDIT-API `rule` at Unix time `now`. Always greater than `old` (see
/// the module doc); otherwise as the rule says. Unknown rules (e.g. PDM's
/// `INCEPTION-EPOCH`) act as DEFAULT (a deliberate deviation from PowerDNS,
/// for the same reason). An empty rule keeps what was written, or the old
/// serial, when that still moves it forward.
pub fn next_serial(rule: &str, old: u32, written: Option<u32>, now: u64) -> u32 {
    let candidate = rule_serial(rule, written.unwrap_or(old), now);
    if serial_gt(candidate, old) {
        candidate
    } else {
        // Zero is skipped: some tools treat serial 0 as "no serial".
        match old.wrapping_add(1) {
            0 => 1,
            next => next,
        }
    }
}

/// What `rule` alone makes of serial `base` at `now`.
fn rule_serial(rule: &str, base: u32, now: u64) -> u32 {
    let old = base;
    let rule = rule.to_ascii_uppercase();
    let candidate = match rule.as_str() {
        "" => return old,
        "INCREASE" => old.wrapping_add(1),
        "EPOCH" | "SOA-EDIT" | "SOA-EDIT-INCREASE" => {
            let epoch = u32::try_from(now).unwrap_or(MAX_SERIAL).min(MAX_SERIAL);
            if rule == "EPOCH" {
                epoch
            } else {
                epoch.max(old.wrapping_add(1))
            }
        }
        _ => date_serial(now).max(old.wrapping_add(1)),
    };
    if candidate > MAX_SERIAL || candidate == 0 {
        // Out of int32 range: start again low; RFC 1982 readers see a wrap.
        1
    } else {
        candidate
    }
}

/// True for the SOA-EDIT-API values PowerDNS knows.
pub fn is_known_rule(rule: &str) -> bool {
    matches!(
        rule.to_ascii_uppercase().as_str(),
        "" | "DEFAULT" | "INCREASE" | "EPOCH" | "SOA-EDIT" | "SOA-EDIT-INCREASE"
    )
}

/// `YYYYMMDD01` for the UTC date of `now`.
pub fn date_serial(now: u64) -> u32 {
    let (y, m, d) = civil_from_days((now / 86_400) as i64);
    (y as u32) * 1_000_000 + m * 10_000 + d * 100 + 1
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian
/// (H. Hinnant's civil-from-days algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27T12:00:00Z
    const NOW: u64 = 1_795_780_800;

    #[test]
    fn rules() {
        assert_eq!(date_serial(NOW), 2026112701);
        assert_eq!(next_serial("DEFAULT", 1, None, NOW), 2026112701);
        assert_eq!(next_serial("DEFAULT", 2026112701, None, NOW), 2026112702);
        assert_eq!(
            next_serial("INCEPTION-EPOCH", 5, None, NOW),
            2026112701,
            "unknown acts as DEFAULT"
        );
        assert_eq!(next_serial("INCREASE", 41, None, NOW), 42);
        assert_eq!(next_serial("EPOCH", 41, None, NOW), 1_795_780_800);
        assert_eq!(
            next_serial("", 41, Some(50), NOW),
            50,
            "empty keeps what was written"
        );
        assert!(is_known_rule("default") && !is_known_rule("INCEPTION-EPOCH"));
    }

    #[test]
    fn serial_arithmetic_follows_rfc_1982() {
        assert!(serial_gt(2, 1) && !serial_gt(1, 2) && !serial_gt(7, 7));
        assert!(serial_gt(0, u32::MAX), "wraps forward");
        assert!(serial_gt(1 << 31, (1 << 31) - 1));
        // Exactly half the space apart is undefined (§3.2): never "greater".
        assert!(!serial_gt(1 << 31, 0) && !serial_gt(0, 1 << 31));
    }

    /// Hardening item 8: for every SOA-EDIT-API value, a change that would
    /// not move the serial, or that writes a lower one, still moves it
    /// forward under RFC 1982.
    #[test]
    fn no_rule_and_no_written_serial_moves_the_serial_back_or_leaves_it() {
        let rules = [
            "",
            "DEFAULT",
            "INCREASE",
            "EPOCH",
            "SOA-EDIT",
            "SOA-EDIT-INCREASE",
            "INCEPTION-EPOCH",
        ];
        let olds = [
            1,
            41,
            2026112701,
            2026112799,
            2100000000,
            MAX_SERIAL - 1,
            MAX_SERIAL,
            u32::MAX,
        ];
        for rule in rules {
            for old in olds {
                for written in [
                    None,
                    Some(old),
                    Some(1),
                    Some(old / 2),
                    Some(old.wrapping_add(5)),
                ] {
                    let next = next_serial(rule, old, written, NOW);
                    assert!(
                        serial_gt(next, old),
                        "{rule:?} old {old} written {written:?} -> {next}"
                    );
                    assert_ne!(next, 0);
                }
            }
        }
        // EPOCH below a date-style serial used to go back; now it moves on.
        assert_eq!(next_serial("EPOCH", 2026112701, None, NOW), 2026112702);
        // A written serial above the old one is kept.
        assert_eq!(next_serial("", 41, Some(2000), NOW), 2000);
        // Below 2^31 whenever a greater serial exists there.
        assert_eq!(
            next_serial("INCREASE", MAX_SERIAL - 1, None, NOW),
            MAX_SERIAL
        );
        assert_eq!(
            next_serial("INCREASE", MAX_SERIAL, None, NOW),
            MAX_SERIAL + 1
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
