//! SOA serial comparison in RFC 1982 serial number arithmetic (32 bits),
//! so a serial that wrapped past 2^32 still counts as newer.
//!
//! The same rule as dnsd's `zones::serial::serial_gt`; poolmgr does not
//! depend on dnsd, so the two lines live here too.

/// RFC 1982 §3.2: `a` is greater than `b`. Pairs exactly 2^31 apart are
/// undefined by the RFC and count as "not greater" either way.
pub fn serial_gt(a: u32, b: u32) -> bool {
    let ahead = a.wrapping_sub(b);
    ahead != 0 && ahead < 1 << 31
}

/// Whether a name server serving `served` is current with a primary at
/// `primary`: the same serial, or a newer one (the primary moved on after
/// we read it and the edge already followed).
pub fn is_current(served: u32, primary: u32) -> bool {
    served == primary || serial_gt(served, primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1982_order() {
        assert!(serial_gt(2, 1));
        assert!(!serial_gt(1, 2));
        assert!(!serial_gt(5, 5));
        // Wrap-around: 1 follows u32::MAX.
        assert!(serial_gt(1, u32::MAX));
        assert!(!serial_gt(u32::MAX, 1));
        // 2^31 - 1 ahead is greater; exactly 2^31 apart is neither.
        assert!(serial_gt((1 << 31) - 1, 0));
        assert!(!serial_gt(1 << 31, 0));
        assert!(!serial_gt(0, 1 << 31));
    }

    #[test]
    fn current_means_same_or_newer() {
        assert!(is_current(2026010101, 2026010101));
        assert!(is_current(2026010102, 2026010101));
        assert!(!is_current(2026010101, 2026010102));
        assert!(is_current(3, u32::MAX - 2));
        assert!(!is_current(u32::MAX - 2, 3));
    }
}
