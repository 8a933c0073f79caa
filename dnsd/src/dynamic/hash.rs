//! The hashing model of lua-records spec §10, bit-exact with PowerDNS:
//! Bob Jenkins' lookup2 (`burtle`), the address hash, the libstdc++
//! `unordered_map` iteration order behind `pickwhashed`'s cumulative-order
//! quirk, and the consistent hash of `pickchashed`.
//!
//! Pure functions: no allocation except where a list is returned.

use std::net::IpAddr;

/// One `mix` round of lookup2 (§10.1, nine steps).
#[inline]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 13);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 8);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 13);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 12);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 16);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 5);
    *a = a.wrapping_sub(*b).wrapping_sub(*c) ^ (*c >> 3);
    *b = b.wrapping_sub(*c).wrapping_sub(*a) ^ (*a << 10);
    *c = c.wrapping_sub(*a).wrapping_sub(*b) ^ (*b >> 15);
}

fn lookup2(k: &[u8], init: u32, fold: impl Fn(u8) -> u8) -> u32 {
    let word = |s: &[u8]| -> u32 {
        u32::from(fold(s[0]))
            | u32::from(fold(s[1])) << 8
            | u32::from(fold(s[2])) << 16
            | u32::from(fold(s[3])) << 24
    };
    let (mut a, mut b, mut c) = (0x9e37_79b9u32, 0x9e37_79b9u32, init);
    let mut rest = k;
    while rest.len() >= 12 {
        a = a.wrapping_add(word(&rest[0..4]));
        b = b.wrapping_add(word(&rest[4..8]));
        c = c.wrapping_add(word(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    // The total length; lookup2 defines it modulo 2^32.
    c = c.wrapping_add(k.len() as u32);
    for (i, &byte) in rest.iter().enumerate() {
        let v = u32::from(fold(byte));
        match i {
            0..=3 => a = a.wrapping_add(v << (8 * i)),
            4..=7 => b = b.wrapping_add(v << (8 * (i - 4))),
            // Bytes 8..=10 go to c at shifts 8, 16, 24 (the low byte is the length).
            _ => c = c.wrapping_add(v << (8 * (i - 7))),
        }
    }
    mix(&mut a, &mut b, &mut c);
    c
}

/// `burtle(k, len, init)`: lookup2 over `k`.
pub fn burtle(k: &[u8], init: u32) -> u32 {
    lookup2(k, init, |b| b)
}

/// `burtleCI`: lookup2 with A–Z lower-cased first.
pub fn burtle_ci(k: &[u8], init: u32) -> u32 {
    lookup2(k, init, |b| b.to_ascii_lowercase())
}

/// `ComboAddress::addressOnlyHash`: lookup2 over the 4 or 16 address bytes
/// in network order, init 0. IPv4-mapped IPv6 addresses hash as 16 bytes (as
/// PowerDNS sees them); callers canonicalise first if they want IPv4.
pub fn address_hash(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => burtle(&a.octets(), 0),
        IpAddr::V6(a) => burtle(&a.octets(), 0),
    }
}

/// `pickhashed` / selector `hashed`: the index `burtle(bestwho) % n`.
/// `n` must be non-zero.
pub fn hashed_index(bestwho: IpAddr, n: usize) -> usize {
    debug_assert!(n > 0);
    (address_hash(bestwho) as usize) % n
}

/// Bucket counts libstdc++ grows through (its prime list), as far as the
/// §10.3 model needs for the list sizes dnsd accepts.
const BUCKET_STEPS: [usize; 12] = [
    13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043,
];

/// The order in which PowerDNS iterates a Lua list of `n` entries that reached
/// it as `std::unordered_map<int, …>` keyed 1..=n (§10.3): returns 0-based
/// list indices in iteration order.
pub fn unordered_map_order(n: usize) -> Vec<usize> {
    let mut order: std::collections::VecDeque<usize> = std::collections::VecDeque::with_capacity(n);
    let mut step = 0;
    for k in 1..=n {
        if step < BUCKET_STEPS.len() && k > BUCKET_STEPS[step] {
            order.make_contiguous().reverse();
            step += 1;
        }
        order.push_front(k - 1);
    }
    order.into()
}

/// The weighted pick PowerDNS shares between `pickwhashed`,
/// `picknamehashed` and `pickselfweighted`: cumulative sums in the given
/// order, `r = hash % total`, the first entry whose cumulative sum exceeds
/// `r`. Returns an index into `weights`; `None` when the total is 0.
pub fn weighted_index(hash: u32, weights: impl IntoIterator<Item = u64> + Clone) -> Option<usize> {
    let total: u64 = weights.clone().into_iter().sum();
    if total == 0 {
        return None;
    }
    let r = u64::from(hash) % total;
    let mut cum = 0u64;
    for (i, w) in weights.into_iter().enumerate() {
        cum += w;
        if cum > r {
            return Some(i);
        }
    }
    None
}

/// `pickwhashed` / `picknamehashed`: the weighted pick over the list in the
/// `unordered_map` order (the quirk). Returns the list index picked.
pub fn weighted_hashed_quirk(hash: u32, weights: &[u64]) -> Option<usize> {
    let order = unordered_map_order(weights.len());
    let pos = weighted_index(hash, order.iter().map(|&i| weights[i]))?;
    Some(order[pos])
}

/// The points of one `pickchashed` entry: `burtle("<value>-<i>", 0)` for
/// `i` in `0..weight`, sorted.
pub fn chash_points(value: &str, weight: u32) -> Vec<u32> {
    let mut pts: Vec<u32> = (0..weight)
        .map(|i| burtle(format!("{value}-{i}").as_bytes(), 0))
        .collect();
    pts.sort_unstable();
    pts
}

/// `pickchashed` (§10.4) over precomputed, sorted points per entry: the entry
/// owning the smallest point ≥ `q`, else (wrap) the one owning the global
/// minimum. `None` when there are no points at all. Ties between entries go
/// to the earlier entry.
pub fn chash_pick(q: u32, points: &[Vec<u32>]) -> Option<usize> {
    let mut best: Option<(u32, usize)> = None;
    let mut min: Option<(u32, usize)> = None;
    for (i, pts) in points.iter().enumerate() {
        if let Some(&first) = pts.first()
            && min.is_none_or(|(m, _)| first < m)
        {
            min = Some((first, i));
        }
        let at = pts.partition_point(|&p| p < q);
        if let Some(&p) = pts.get(at)
            && best.is_none_or(|(b, _)| p < b)
        {
            best = Some((p, i));
        }
    }
    best.or(min).map(|(_, i)| i)
}
