//! Wire templates: finished replies kept per worker and replayed for the
//! next query with the same question, so a repeated static answer costs a
//! parse, a hash probe and a copy instead of a lookup and an assembly.
//!
//! A template is the whole reply as the pipeline wrote it, with the
//! question's name lowercased. Replaying it patches what differs between
//! two queries with the same key: the ID, the RD and CD bits, and the
//! question's spelling (conformance §12.2; owner names that point at the
//! question pick up the client's case through the pointer). The key holds
//! everything else the bytes depend on: the lowercase name, the type, the
//! EDNS facts of the query (present, DO, CO), and the transport (over TCP
//! nothing is cut for size and ANY is answered in full).
//!
//! Only replies that would come out the same for every client are kept:
//! from the zone lookup (not CHAOS, not an error answered before lookup),
//! with no LUA record consulted, no ECS or NSID option, nothing left out
//! for size. A template is used only when it fits the asking client's size
//! limit, which makes it the very reply the pipeline would write. Templates
//! are built lazily rather than when zones load, so a large zone does not
//! pay for answers nobody asks for; they are dropped whenever the catalog
//! changes. Replies with signatures are rebuilt after a minute so they never
//! outlive the signatures the signer would hand out.
//!
//! Each UDP worker owns its templates in one fixed arena: no lock, no
//! allocation after start. The TCP connections served by one runtime
//! thread share that thread's arena (see [`super::Responder`]).

use std::hash::{BuildHasher, Hasher};

use crate::parse::{Request, Transport};
use crate::wire::{Class, EdnsFlags, Flags, Opcode, RType, Rcode};

/// Default number of templates per UDP worker and per TCP runtime thread
/// (`--answer-templates`): 4 MiB each.
pub const DEFAULT_SLOTS: usize = 8192;

/// Seconds a reply with signatures is replayed before it is rebuilt; far
/// below the signer's refresh margin (days), so replayed signatures are
/// always ones the signer still considers fresh.
const SIGNED_LIFETIME_S: u64 = 60;

/// The query facts besides name and type that shape the reply's bytes,
/// and the transport it came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant(u8);

impl Variant {
    const EDNS: u8 = 1;
    const DO: u8 = 2;
    const CO: u8 = 4;
    const TCP: u8 = 8;

    /// The variant of `request`, or `None` when its reply must not come
    /// from a template: not a QUERY for class IN, or an OPT that makes the
    /// reply client-specific (ECS echoed when ECS processing is on, NSID)
    /// or an error (a version above 0, a malformed ECS option).
    pub fn of(request: &Request<'_>, ecs_on: bool, transport: Transport) -> Option<Variant> {
        let question = request.question.as_ref()?;
        if request.opcode != Opcode::QUERY || question.qclass != Class::IN {
            return None;
        }
        let transport_bit = match transport {
            Transport::Udp => 0,
            Transport::Tcp => Variant::TCP,
        };
        let Some(edns) = &request.edns else {
            return Some(Variant(transport_bit));
        };
        let ecs_echoed = ecs_on && (edns.client_subnet.is_some() || edns.client_subnet_malformed);
        // A COOKIE option is answered with a cookie for that client.
        if edns.version != 0 || edns.nsid || ecs_echoed || edns.cookie.is_some() {
            return None;
        }
        let mut bits = Variant::EDNS | transport_bit;
        if edns.dnssec_ok() {
            bits |= Variant::DO;
        }
        if edns.flags.contains(EdnsFlags::CO) {
            bits |= Variant::CO;
        }
        Some(Variant(bits))
    }
}

/// What a template is kept under.
#[derive(Debug, Clone, Copy)]
pub struct Key<'q> {
    /// The question's name, lowercase wire form.
    pub qname: &'q [u8],
    pub qtype: RType,
    pub variant: Variant,
}

/// Octets per slot: a header and the reply. Replies that do not fit are
/// not kept; the common answers (a few records, a signed denial) do.
const SLOT_BYTES: usize = 512;
/// Header layout: expiry (u64, `u64::MAX` when unsigned), QTYPE, RCODE,
/// reply length (u16 each), variant (u8), one spare octet.
const HEADER: usize = 16;

/// The header of one kept reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// Unix seconds after which the reply is rebuilt; `u64::MAX` when it
    /// holds no signatures.
    expires: u64,
    qtype: u16,
    /// The reply's RCODE, for the per-worker counters.
    rcode: u16,
    len: u16,
    variant: u8,
}

impl Header {
    fn read(slot: &[u8]) -> Header {
        let u16_at = |i: usize| u16::from_le_bytes([slot[i], slot[i + 1]]);
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&slot[..8]);
        Header {
            expires: u64::from_le_bytes(expires),
            qtype: u16_at(8),
            rcode: u16_at(10),
            len: u16_at(12),
            variant: slot[14],
        }
    }

    fn write(&self, slot: &mut [u8]) {
        slot[..8].copy_from_slice(&self.expires.to_le_bytes());
        slot[8..10].copy_from_slice(&self.qtype.to_le_bytes());
        slot[10..12].copy_from_slice(&self.rcode.to_le_bytes());
        slot[12..14].copy_from_slice(&self.len.to_le_bytes());
        slot[14] = self.variant;
    }
}

/// A worker's templates: two-way set associative, the least recently used
/// way replaced. A key is admitted on its second miss, so the one-off
/// names of random-subdomain traffic do not push out the answers that are
/// asked for again and again.
///
/// Layout is for the cold caches a worker runs with between system calls:
/// the key hashes are one dense array, and each reply sits inline with its
/// header, so a hit touches two places in memory.
pub struct Templates {
    /// Per slot: the key's hash; 0 marks an empty slot.
    hashes: Box<[u64]>,
    /// Per set of two: which way was used last.
    recent: Box<[u8]>,
    /// Per set: a key that missed once and would be kept on its next miss.
    seen: Box<[u64]>,
    /// `SLOT_BYTES` per slot.
    slots: Arena,
    hasher: rustc_hash::FxBuildHasher,
    /// The catalog generation the templates were built from.
    generation: u64,
}

/// Where a key lives or would go.
pub struct Probe {
    hash: u64,
    set: usize,
}

impl Templates {
    /// Room for `slots` replies (rounded up to a power of two, at least 2).
    pub fn new(slots: usize) -> Templates {
        let sets = slots.div_ceil(2).max(1).next_power_of_two();
        Templates {
            hashes: vec![0; sets * 2].into_boxed_slice(),
            recent: vec![0; sets].into_boxed_slice(),
            seen: vec![0; sets].into_boxed_slice(),
            slots: Arena::zeroed(sets * 2 * SLOT_BYTES),
            hasher: rustc_hash::FxBuildHasher,
            generation: 0,
        }
    }

    /// Forgets every template when the catalog is not the one they were
    /// built from.
    pub fn follow(&mut self, catalog_generation: u64) {
        if self.generation != catalog_generation {
            self.hashes.fill(0);
            self.seen.fill(0);
            self.generation = catalog_generation;
        }
    }

    /// Hashes the key and finds its set. The set depends on the name and
    /// type only, so [`Templates::prefetch`] can find it before the query's
    /// EDNS is read.
    pub fn probe(&self, key: &Key<'_>) -> Probe {
        let base = self.base_hash(key.qname, key.qtype.0);
        // 0 is the empty marker.
        let hash = (base ^ u64::from(key.variant.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        Probe {
            hash,
            set: self.set_of(base),
        }
    }

    fn base_hash(&self, qname: &[u8], qtype: u16) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(qname);
        hasher.write_u16(qtype);
        hasher.finish()
    }

    fn set_of(&self, base: u64) -> usize {
        (base.rotate_left(20) as usize) & (self.recent.len() - 1)
    }

    /// Starts loading the set a raw query would probe, so that answering a
    /// batch of queries overlaps their cache misses instead of taking them
    /// one after the other. Anything unusual in the packet is skipped: this
    /// is only a hint.
    pub fn prefetch(&self, packet: &[u8]) {
        let mut lower = [0u8; crate::wire::name::MAX_NAME_LEN];
        let mut pos = 12;
        loop {
            let Some(&len) = packet.get(pos) else { return };
            let len = usize::from(len);
            if len > 63 || pos - 12 + 1 + len > lower.len() {
                return;
            }
            let Some(label) = packet.get(pos..pos + 1 + len) else {
                return;
            };
            for (dst, src) in lower[pos - 12..].iter_mut().zip(label) {
                *dst = src.to_ascii_lowercase();
            }
            pos += 1 + len;
            if len == 0 {
                break;
            }
        }
        let Some(qtype) = packet.get(pos..pos + 2) else {
            return;
        };
        let base = self.base_hash(&lower[..pos - 12], u16::from_be_bytes([qtype[0], qtype[1]]));
        let index = self.set_of(base) * 2;
        prefetch(&self.hashes[index]);
        // Header and the first part of the reply, for both ways.
        for way in [index, index + 1] {
            prefetch(&self.slots[way * SLOT_BYTES]);
            prefetch(&self.slots[way * SLOT_BYTES + 64]);
        }
    }

    fn slot(&self, index: usize) -> &[u8] {
        &self.slots[index * SLOT_BYTES..(index + 1) * SLOT_BYTES]
    }

    /// The way of the probe's set that holds `key`.
    fn find(&self, probe: &Probe, key: &Key<'_>) -> Option<usize> {
        (0..2).find(|&way| {
            let index = probe.set * 2 + way;
            if self.hashes[index] != probe.hash {
                return false;
            }
            let slot = self.slot(index);
            let header = Header::read(slot);
            // Complete wire names: equal prefixes of the question are equal names.
            header.qtype == key.qtype.0
                && header.variant == key.variant.0
                && slot.get(HEADER + 12..HEADER + 12 + key.qname.len()) == Some(key.qname)
        })
    }

    /// Writes the kept reply for `request` into `out` and returns its RCODE,
    /// or returns `None` when there is none that fits `limit` (or it expired
    /// as of `now`, asked only for replies with signatures).
    pub fn replay(
        &mut self,
        probe: &Probe,
        key: &Key<'_>,
        request: &Request<'_>,
        limit: usize,
        now: impl FnOnce() -> u64,
        out: &mut Vec<u8>,
    ) -> Option<Rcode> {
        let way = self.find(probe, key)?;
        let slot = self.slot(probe.set * 2 + way);
        let header = Header::read(slot);
        let len = usize::from(header.len);
        if len > limit || (header.expires != u64::MAX && now() >= header.expires) {
            return None;
        }
        out.clear();
        out.extend_from_slice(&slot[HEADER..HEADER + len]);
        self.recent[probe.set] = way as u8;
        out[..2].copy_from_slice(&request.id.to_be_bytes());
        let copied = (Flags::RD | Flags::CD).0;
        let word = (u16::from_be_bytes([out[2], out[3]]) & !copied) | (request.flags.0 & copied);
        out[2..4].copy_from_slice(&word.to_be_bytes());
        out[12..request.question_end].copy_from_slice(&request.packet[12..request.question_end]);
        Some(Rcode(header.rcode))
    }

    /// Offers `reply`, just written by the pipeline for `key`. It is kept
    /// (in place of the key's own expired reply, or of the set's least
    /// recently used one) when the key missed before, and it fits.
    /// `signed_at` is when its signatures were made, if it has any.
    pub fn keep(
        &mut self,
        probe: &Probe,
        key: &Key<'_>,
        rcode: Rcode,
        signed_at: Option<u64>,
        reply: &[u8],
    ) {
        if HEADER + reply.len() > SLOT_BYTES || reply.len() < 12 + key.qname.len() {
            return;
        }
        let way = match self.find(probe, key) {
            Some(way) => way,
            None if self.seen[probe.set] == probe.hash => {
                self.seen[probe.set] = 0;
                usize::from(self.recent[probe.set] == 0)
            }
            None => {
                self.seen[probe.set] = probe.hash;
                return;
            }
        };
        let index = probe.set * 2 + way;
        self.recent[probe.set] = way as u8;
        self.hashes[index] = probe.hash;
        let slot = &mut self.slots[index * SLOT_BYTES..(index + 1) * SLOT_BYTES];
        Header {
            expires: signed_at.map_or(u64::MAX, |t| t + SIGNED_LIFETIME_S),
            qtype: key.qtype.0,
            rcode: rcode.0,
            len: reply.len() as u16,
            variant: key.variant.0,
        }
        .write(slot);
        let wire = &mut slot[HEADER..HEADER + reply.len()];
        wire.copy_from_slice(reply);
        wire[12..12 + key.qname.len()].copy_from_slice(key.qname);
    }
}

/// Zeroed memory for the slots, in huge pages where the kernel offers
/// them (transparent huge pages, `madvise` mode included): a hit touches
/// one slot among thousands, and with 4 KiB pages each of those touches
/// would also miss the TLB. All of it is resident from the start.
struct Arena {
    bytes: std::ptr::NonNull<u8>,
    layout: std::alloc::Layout,
}

/// Huge page size on x86_64 and most aarch64 kernels.
const HUGE_PAGE: usize = 2 << 20;

impl Arena {
    fn zeroed(len: usize) -> Arena {
        let len = len.max(1);
        let align = if len >= HUGE_PAGE { HUGE_PAGE } else { 64 };
        let layout = std::alloc::Layout::from_size_align(len, align).expect("arena size");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(bytes) = std::ptr::NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout);
        };
        #[cfg(target_os = "linux")]
        if len >= HUGE_PAGE {
            // SAFETY: the range is memory we own; the advice only changes
            // how the kernel backs it. Failure (no THP) is harmless.
            unsafe {
                libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE);
            }
        }
        // Fault every page in now, at worker start: a first touch while
        // answering would stall that batch (huge pages may even be
        // compacted for on the spot).
        // Volatile, since the compiler knows the memory is zero already.
        for offset in (0..len).step_by(4096) {
            // SAFETY: `offset < len`, within the allocation; writing a zero
            // over a zero.
            unsafe { ptr.add(offset).write_volatile(0) };
        }
        Arena { bytes, layout }
    }
}

impl std::ops::Deref for Arena {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `bytes` points at `layout.size()` initialised (zeroed)
        // octets owned by this arena until drop.
        unsafe { std::slice::from_raw_parts(self.bytes.as_ptr(), self.layout.size()) }
    }
}

impl std::ops::DerefMut for Arena {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.bytes.as_ptr(), self.layout.size()) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this very layout.
        unsafe { std::alloc::dealloc(self.bytes.as_ptr(), self.layout) }
    }
}

// SAFETY: the arena owns its memory exclusively, like a Box<[u8]>.
unsafe impl Send for Arena {}
unsafe impl Sync for Arena {}

/// Asks the CPU to bring the cache line holding `value` closer.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address;
    // this one is a valid reference anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Parsed, parse_request};

    fn request(packet: &[u8]) -> Request<'_> {
        match parse_request(packet) {
            Parsed::Request(request) => request,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn query(id: u16, flags: u16, name: &[u8]) -> Vec<u8> {
        let mut p = id.to_be_bytes().to_vec();
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(name);
        p.extend_from_slice(&[0, 1, 0, 1]);
        p
    }

    /// A reply the way the pipeline writes one: header, question, body.
    fn reply(id: u16, word: u16, name: &[u8], body: &[u8]) -> Vec<u8> {
        let mut r = id.to_be_bytes().to_vec();
        r.extend_from_slice(&word.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
        r.extend_from_slice(name);
        r.extend_from_slice(&[0, 1, 0, 1]);
        r.extend_from_slice(body);
        r
    }

    fn key(qname: &[u8]) -> Key<'_> {
        Key {
            qname,
            qtype: RType::A,
            variant: Variant(0),
        }
    }

    /// Offers a reply twice (admission is on the second miss).
    fn keep_now(templates: &mut Templates, key: &Key<'_>, signed_at: Option<u64>, reply: &[u8]) {
        let probe = templates.probe(key);
        templates.keep(&probe, key, Rcode::NOERROR, signed_at, reply);
        templates.keep(&probe, key, Rcode::NOERROR, signed_at, reply);
    }

    fn replay(
        templates: &mut Templates,
        key: &Key<'_>,
        packet: &[u8],
        now: u64,
    ) -> Option<Vec<u8>> {
        let probe = templates.probe(key);
        let mut out = Vec::new();
        let request = request(packet);
        templates
            .replay(&probe, key, &request, 512, || now, &mut out)
            .map(|_| out)
    }

    #[test]
    fn replay_patches_id_flags_and_case() {
        let mut templates = Templates::new(16);
        templates.follow(7);
        let first = query(1, Flags::RD.0, b"\x03WwW\x04Test\x00");
        let first = request(&first);
        let qname = first.question.as_ref().unwrap().lower_name().to_vec();
        let variant = Variant::of(&first, true, Transport::Udp).unwrap();
        let key = Key {
            qname: &qname,
            qtype: RType::A,
            variant,
        };
        let probe = templates.probe(&key);
        let written = reply(1, 0x8503, b"\x03WwW\x04Test\x00", b"\xc0\x0cbody");
        templates.keep(&probe, &key, Rcode::NXDOMAIN, None, &written);
        let packet = query(0xBEEF, Flags::CD.0, b"\x03wWW\x04tEST\x00");
        let second = request(&packet);
        let mut out = Vec::new();
        let unsigned = || unreachable!("unsigned replies never look at the clock");
        assert_eq!(
            templates.replay(&probe, &key, &second, 512, unsigned, &mut out),
            None,
            "admitted on the second miss only"
        );
        templates.keep(&probe, &key, Rcode::NXDOMAIN, None, &written);
        let rcode = templates.replay(&probe, &key, &second, 512, unsigned, &mut out);
        assert_eq!(rcode, Some(Rcode::NXDOMAIN));
        let expected = reply(0xBEEF, 0x8413, b"\x03wWW\x04tEST\x00", b"\xc0\x0cbody");
        assert_eq!(out, expected);

        // Too big for the client: not replayed.
        assert_eq!(
            templates.replay(&probe, &key, &second, 20, || 0, &mut out),
            None
        );
        // Another type: another key.
        let other = Key {
            qtype: RType::AAAA,
            ..key
        };
        assert_eq!(replay(&mut templates, &other, &packet, 0), None);
        // A new catalog forgets everything.
        templates.follow(8);
        assert_eq!(replay(&mut templates, &key, &packet, 0), None);
    }

    #[test]
    fn signed_replies_expire() {
        let mut templates = Templates::new(2);
        let packet = query(1, 0, b"\x01a\x00");
        let key = key(b"\x01a\x00");
        let written = reply(1, 0x8400, b"\x01a\x00", b"sig");
        keep_now(&mut templates, &key, Some(1000), &written);
        assert!(replay(&mut templates, &key, &packet, 1059).is_some());
        assert!(replay(&mut templates, &key, &packet, 1060).is_none());
        // Rebuilt in place, at once: the key is known.
        let probe = templates.probe(&key);
        templates.keep(&probe, &key, Rcode::NOERROR, Some(1060), &written);
        assert!(replay(&mut templates, &key, &packet, 1061).is_some());
    }

    #[test]
    fn replies_too_big_for_a_slot_are_not_kept() {
        let mut templates = Templates::new(2);
        let packet = query(1, 0, b"\x01a\x00");
        let key = key(b"\x01a\x00");
        let written = reply(1, 0x8400, b"\x01a\x00", &[7; SLOT_BYTES]);
        keep_now(&mut templates, &key, None, &written);
        assert!(replay(&mut templates, &key, &packet, 0).is_none());
    }

    #[test]
    fn two_ways_keep_the_recently_used() {
        // One set: the third key replaces the least recently used one.
        let mut templates = Templates::new(2);
        let names: [&[u8]; 3] = [b"\x01a\x00", b"\x01b\x00", b"\x01c\x00"];
        let packets: Vec<Vec<u8>> = names.iter().map(|n| query(1, 0, n)).collect();
        let keys: Vec<Key<'_>> = names.iter().map(|n| key(n)).collect();
        for i in 0..2 {
            keep_now(
                &mut templates,
                &keys[i],
                None,
                &reply(1, 0x8400, names[i], b""),
            );
        }
        let hit = |t: &mut Templates, i: usize| replay(t, &keys[i], &packets[i], 0).is_some();
        assert!(hit(&mut templates, 0) && hit(&mut templates, 1));
        assert!(hit(&mut templates, 0), "a is now the most recent");
        keep_now(
            &mut templates,
            &keys[2],
            None,
            &reply(1, 0x8400, names[2], b""),
        );
        assert!(hit(&mut templates, 0), "a kept");
        assert!(!hit(&mut templates, 1), "b replaced");
        assert!(hit(&mut templates, 2));
    }

    #[test]
    fn one_off_names_do_not_displace_kept_replies() {
        let mut templates = Templates::new(2);
        let names: [&[u8]; 2] = [b"\x01a\x00", b"\x01b\x00"];
        for name in names {
            keep_now(
                &mut templates,
                &key(name),
                None,
                &reply(1, 0x8400, name, b""),
            );
        }
        for i in 0..50u8 {
            let name = [1, b'0' + i, 0];
            let one_off = key(&name);
            let probe = templates.probe(&one_off);
            templates.keep(
                &probe,
                &one_off,
                Rcode::NXDOMAIN,
                None,
                &reply(1, 0x8403, &name, b""),
            );
        }
        for name in names {
            assert!(replay(&mut templates, &key(name), &query(2, 0, name), 0).is_some());
        }
    }

    #[test]
    fn client_specific_queries_have_no_variant() {
        let mut packet = query(1, 0, b"\x01a\x00");
        packet[11] = 1; // ARCOUNT
        // OPT with NSID.
        packet.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 4, 0, 3, 0, 0]);
        assert_eq!(Variant::of(&request(&packet), true, Transport::Udp), None);
        // ECS: kept only when ECS processing is off (the option is ignored).
        let mut packet = query(1, 0, b"\x01a\x00");
        packet[11] = 1;
        packet.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 8]);
        packet.extend_from_slice(&[0, 8, 0, 4, 0, 1, 0, 0]);
        assert_eq!(Variant::of(&request(&packet), true, Transport::Udp), None);
        assert_eq!(
            Variant::of(&request(&packet), false, Transport::Udp),
            Some(Variant(Variant::EDNS | Variant::DO))
        );
        // The same question over TCP is another key.
        assert_eq!(
            Variant::of(&request(&packet), false, Transport::Tcp),
            Some(Variant(Variant::EDNS | Variant::DO | Variant::TCP))
        );
        // Not IN, or not QUERY.
        let mut packet = query(1, 0, b"\x01a\x00");
        let len = packet.len();
        packet[len - 1] = 3;
        assert_eq!(Variant::of(&request(&packet), true, Transport::Udp), None);
    }
}
