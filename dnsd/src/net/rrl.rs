//! Response-rate limiting (RRL) for UDP: a server that answers every
//! spoofed query is a traffic amplifier aimed at whoever the spoofed source
//! is. Responses are counted per second in buckets keyed by the client's
//! network (an IPv4 /24, an IPv6 /56 by default) and by a response class,
//! with the semantics operators know from Knot and BIND:
//!
//! | class | responses counted together |
//! |---|---|
//! | answer | the same query name and type (positive answers, NODATA, referrals) |
//! | nxdomain | every name that does not exist in one zone (NXDOMAIN, and the NOERROR compact-denial form of RFC 9824, which says the same) |
//! | error | every other RCODE (REFUSED, SERVFAIL, FORMERR, ...) |
//!
//! Grouping non-existent names by zone is what stops an attacker from
//! escaping the limit with random names. Over the rate, a response is
//! dropped, except that every `slip`-th one is sent truncated (TC=1, no
//! records): a real client behind a spoofed prefix retries over TCP, which
//! cannot be spoofed and is never limited here.
//!
//! The classification reads the reply the answer path wrote, so no stage
//! of the pipeline knows about RRL. The table is a fixed array of atomic
//! counters (one `u64`: the second and the count), shared lock-free by the
//! UDP workers; two keys that hash to one slot share its budget, which
//! only ever errs towards limiting a little early. The hash is seeded at
//! start so nobody can aim collisions at someone else's bucket.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use tracing::warn;

use crate::dynamic::rule::Netmask;

/// What to do with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Over the rate: not sent.
    Drop,
    /// Over the rate: sent truncated, so a real client retries over TCP.
    Slip,
}

/// RRL settings (`--rrl-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrlSettings {
    /// Responses per second per bucket.
    pub rate: u32,
    /// Every `slip`-th limited response is sent truncated; 0 never, 1 always.
    pub slip: u32,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Clients never limited.
    pub whitelist: Vec<Netmask>,
    /// Buckets in the table.
    pub table_size: usize,
}

impl RrlSettings {
    pub const DEFAULT_SLIP: u32 = 2;
    pub const DEFAULT_TABLE_SIZE: usize = 1 << 18;

    /// The settings for `rate` with every other value at its default.
    pub fn with_rate(rate: u32) -> RrlSettings {
        RrlSettings {
            rate,
            slip: Self::DEFAULT_SLIP,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            whitelist: Vec::new(),
            table_size: Self::DEFAULT_TABLE_SIZE,
        }
    }
}

/// The response classes of the table above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Answer = 1,
    Nxdomain = 2,
    Error = 3,
}

/// The shared limiter.
pub struct Rrl {
    settings: RrlSettings,
    /// Per bucket: `second << 32 | responses counted in that second`.
    table: Box<[AtomicU64]>,
    seed: u64,
    epoch: Instant,
    dropped: AtomicU64,
    slipped: AtomicU64,
    /// The second a limit was last logged (one line per second at most).
    logged_at: AtomicU32,
}

impl std::fmt::Debug for Rrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rrl")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Rrl {
    pub fn new(settings: RrlSettings) -> Rrl {
        // A power of two, so a bucket is found with a mask, not a division.
        let size = settings.table_size.max(1).next_power_of_two();
        Rrl {
            table: (0..size).map(|_| AtomicU64::new(0)).collect(),
            seed: fastrand::u64(..) | 1,
            epoch: Instant::now(),
            dropped: AtomicU64::new(0),
            slipped: AtomicU64::new(0),
            logged_at: AtomicU32::new(0),
            settings,
        }
    }

    /// The second `now` falls in, counted from the limiter's start (from 1,
    /// so a zeroed bucket is never "this second").
    pub fn second(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_secs() as u32 + 1
    }

    /// Counts `reply`, about to go to `peer` in second `now` (see
    /// [`Rrl::second`]), and says whether to send it.
    pub fn check(&self, peer: IpAddr, reply: &[u8], now: u32) -> Verdict {
        if self.settings.whitelist.iter().any(|m| m.contains(peer)) {
            return Verdict::Send;
        }
        let Some((class, name_hash)) = classify(reply, self.seed) else {
            return Verdict::Send;
        };
        let key = mix(mix(name_hash, self.network(peer)), class as u64);
        let slot = &self.table[self.slot_of(key)];
        let rate = u64::from(self.settings.rate);
        let mut current = slot.load(Relaxed);
        loop {
            let (second, count) = (current >> 32, current & 0xffff_ffff);
            let count = if second == u64::from(now) { count } else { 0 };
            let next = u64::from(now) << 32 | (count + 1).min(0xffff_ffff);
            match slot.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) if count < rate => return Verdict::Send,
                Ok(_) => return self.limited(peer, class, count + 1 - rate, now),
                Err(seen) => current = seen,
            }
        }
    }

    /// The `nth` response over the rate in this bucket and second.
    #[cold]
    fn limited(&self, peer: IpAddr, class: Class, nth: u64, now: u32) -> Verdict {
        if self.logged_at.swap(now, Relaxed) != now {
            warn!(client = %peer, class = ?class, rate = self.settings.rate, "response rate limit reached; dropping (slip {})", self.settings.slip);
        }
        let slip = u64::from(self.settings.slip);
        if slip > 0 && nth.is_multiple_of(slip) {
            self.slipped.fetch_add(1, Relaxed);
            Verdict::Slip
        } else {
            self.dropped.fetch_add(1, Relaxed);
            Verdict::Drop
        }
    }

    /// The table slot of a bucket key. The key's low bits alone are not
    /// enough: `mix` leaves a difference in a network's high bits out of
    /// them a good part of the time, so neighbouring networks (two /56s,
    /// two /24s) would share a bucket. A finaliser spreads every bit first.
    fn slot_of(&self, key: u64) -> usize {
        (finalize(key) & (self.table.len() as u64 - 1)) as usize
    }

    /// The client's network, as a number (address bits beyond the prefix
    /// cleared; IPv4 and IPv6 kept apart).
    fn network(&self, peer: IpAddr) -> u64 {
        match crate::config::replication::unmapped(peer) {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let len = u32::from(self.settings.ipv4_prefix.min(32));
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                u64::from(bits & mask)
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let len = u32::from(self.settings.ipv6_prefix.min(128));
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let net = bits & mask;
                mix((net >> 64) as u64, net as u64) | 1 << 63
            }
        }
    }

    /// Responses dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Responses sent truncated (slipped) so far.
    pub fn slipped(&self) -> u64 {
        self.slipped.load(Relaxed)
    }
}

/// Cuts `reply` to its header and question with TC=1: the slip answer.
pub fn truncate(reply: &mut Vec<u8>) {
    let Some(end) = question_end(reply) else {
        return;
    };
    reply.truncate(end);
    reply[2] |= 0x02;
    // ANCOUNT, NSCOUNT and ARCOUNT: nothing follows the question.
    reply[6..12].fill(0);
}

/// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
fn finalize(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// FxHash's step: cheap, and good enough once seeded and finalised.
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

const RCODE_NOERROR: u8 = 0;
const RCODE_NXDOMAIN: u8 = 3;
const TYPE_SOA: u16 = 6;
const TYPE_NSEC: u16 = 47;

/// The class of `reply` and the hash of the name it is counted under;
/// `None` for what is not a reply to one question.
fn classify(reply: &[u8], seed: u64) -> Option<(Class, u64)> {
    if reply.len() < 12 || u16::from_be_bytes([reply[4], reply[5]]) != 1 {
        return None;
    }
    let rcode = reply[3] & 0x0f;
    // The question's name is never compressed: hashing it finds its end.
    let (qname_hash, qname_end) = hash_name_at(reply, 12, seed)?;
    let qtype = u16::from_be_bytes([*reply.get(qname_end)?, *reply.get(qname_end + 1)?]);
    let answers = u16::from_be_bytes([reply[6], reply[7]]);
    match rcode {
        RCODE_NOERROR if answers > 0 || !says_no_such_name(reply, qname_end + 4) => {
            Some((Class::Answer, mix(qname_hash, u64::from(qtype))))
        }
        RCODE_NOERROR | RCODE_NXDOMAIN => {
            // All names missing from one zone count together: the zone is
            // the owner of the SOA in the authority section.
            let zone = skip_records(reply, qname_end + 4, answers)
                .and_then(|authority| authority_soa_owner(reply, authority));
            let hash = match zone {
                Some(at) => hash_name_at(reply, at, seed)?.0,
                None => qname_hash,
            };
            Some((Class::Nxdomain, hash))
        }
        _ => Some((Class::Error, seed)),
    }
}

/// The offset just past the (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l < 64 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
}

/// The ASCII case bit of every octet. Setting it makes the hash ignore
/// case (`WWW` counts as `www`, so 0x20 spelling cannot escape a limit) at
/// the price of also folding a few non-letters together (`@` with `` ` ``),
/// which only ever shares a bucket.
const CASE_BITS: u64 = 0x2020_2020_2020_2020;

/// The seeded hash of the name at `at`, case folded, pointers followed;
/// and the offset just past the name where it started.
fn hash_name_at(msg: &[u8], mut at: usize, seed: u64) -> Option<(u64, usize)> {
    let mut hash = seed;
    let mut jumps = 0;
    let mut end = None;
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some((hash, end.unwrap_or(at + 1))),
            l if l & 0xc0 == 0xc0 => {
                end.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 16 {
                    return None;
                }
                at = usize::from(u16::from_be_bytes([l, *msg.get(at + 1)?]) & 0x3fff);
            }
            l if l < 64 => {
                let label = msg.get(at + 1..at + 1 + usize::from(l))?;
                hash = mix(hash, u64::from(l));
                let mut words = label.chunks_exact(8);
                for word in &mut words {
                    let word: [u8; 8] = word.try_into().ok()?;
                    hash = mix(hash, u64::from_le_bytes(word) | CASE_BITS);
                }
                let rest = words.remainder();
                if !rest.is_empty() {
                    let mut word = [0u8; 8];
                    word[..rest.len()].copy_from_slice(rest);
                    hash = mix(hash, u64::from_le_bytes(word) | CASE_BITS);
                }
                at += 1 + usize::from(l);
            }
            _ => return None,
        }
    }
}

/// The type and RDATA span of the resource record at `at` (the record
/// after it starts at the span's end).
fn record(msg: &[u8], at: usize) -> Option<(u16, std::ops::Range<usize>)> {
    let fixed = skip_name(msg, at)?;
    let rtype = u16::from_be_bytes([*msg.get(fixed)?, *msg.get(fixed + 1)?]);
    let rdlen = usize::from(u16::from_be_bytes([
        *msg.get(fixed + 8)?,
        *msg.get(fixed + 9)?,
    ]));
    let start = fixed + 10;
    (start + rdlen <= msg.len()).then_some((rtype, start..start + rdlen))
}

/// The offset just past `count` records from `at`.
fn skip_records(msg: &[u8], mut at: usize, count: u16) -> Option<usize> {
    for _ in 0..count {
        at = record(msg, at)?.1.end;
    }
    Some(at)
}

/// The offset of the authority section's SOA owner, for a reply with no
/// answers whose authority section starts at `at`.
fn authority_soa_owner(msg: &[u8], at: usize) -> Option<usize> {
    let (rtype, _) = record(msg, at)?;
    (rtype == TYPE_SOA).then_some(at)
}

/// Whether an empty NOERROR reply is RFC 9824's compact denial of a name
/// that does not exist: an NSEC in the authority section whose bitmap has
/// NXNAME (type 128).
fn says_no_such_name(msg: &[u8], authority: usize) -> bool {
    let count = u16::from_be_bytes([msg[8], msg[9]]);
    let mut at = authority;
    for _ in 0..count {
        let Some((rtype, rdata)) = record(msg, at) else {
            return false;
        };
        if rtype == TYPE_NSEC {
            // Next Domain Name is never compressed (RFC 4034 §4.1.1); the
            // bitmap follows: window 0, length, then bits (type 128 is the
            // top bit of octet 16).
            let data = &msg[rdata.clone()];
            if let Some(bitmap) = skip_name(data, 0).and_then(|n| data.get(n..))
                && bitmap.len() >= 2 + 17
                && bitmap[0] == 0
                && bitmap[2 + 16] & 0x80 != 0
            {
                return true;
            }
        }
        at = rdata.end;
    }
    false
}

/// The offset just past the question, if the reply has one.
fn question_end(msg: &[u8]) -> Option<usize> {
    if msg.len() < 12 || u16::from_be_bytes([msg[4], msg[5]]) != 1 {
        return None;
    }
    let end = skip_name(msg, 12)? + 4;
    (end <= msg.len()).then_some(end)
}

#[cfg(test)]
mod tests;
