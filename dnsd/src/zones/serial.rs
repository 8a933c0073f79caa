//! SOA serial changes on API edits (SOA-EDIT-API, `pdns/serialtweaker.cc`).
//!
//! Serials stay below 2^31: external-dns decodes them as int32.

/// Largest serial we hand out.
pub const MAX_SERIAL: u32 = i32::MAX as u32;

/// The next serial under `rule` at Unix time `now`. Unknown rules (e.g.
/// PDM's `INCEPTION-EPOCH`) act as DEFAULT: NOTIFY, IXFR and SOA-polling
/// caches need the serial to move (a deliberate deviation from PowerDNS).
/// An empty rule leaves the serial alone.
pub fn next_serial(rule: &str, old: u32, now: u64) -> u32 {
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
        assert_eq!(next_serial("DEFAULT", 1, NOW), 2026112701);
        assert_eq!(next_serial("DEFAULT", 2026112701, NOW), 2026112702);
        assert_eq!(
            next_serial("INCEPTION-EPOCH", 5, NOW),
            2026112701,
            "unknown acts as DEFAULT"
        );
        assert_eq!(next_serial("INCREASE", 41, NOW), 42);
        assert_eq!(next_serial("EPOCH", 41, NOW), 1_795_780_800);
        assert_eq!(next_serial("", 41, NOW), 41);
        assert_eq!(next_serial("INCREASE", MAX_SERIAL, NOW), 1);
        assert!(is_known_rule("default") && !is_known_rule("INCEPTION-EPOCH"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
