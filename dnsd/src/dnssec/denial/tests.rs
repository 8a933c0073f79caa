use super::*;
use crate::wire::Name;

fn wire(text: &str) -> Vec<u8> {
    Name::from_text(text, None).unwrap().as_wire().to_vec()
}

fn name(wire: &[u8]) -> Name {
    Name::from_wire(wire).unwrap()
}

/// A name of exactly `total` wire octets: `first` as the first label, then
/// filler labels of `x`, then `example.`.
fn long_name(first: &[u8], total: usize) -> Vec<u8> {
    let tail = wire("example.");
    let mut out = vec![first.len() as u8];
    out.extend_from_slice(first);
    let mut fill = total - out.len() - tail.len();
    while fill > 0 {
        // Each filler label costs len + 1 octets; avoid leaving 1 octet.
        let mut len = fill.min(MAX_LABEL_LEN + 1) - 1;
        if fill - (len + 1) == 1 {
            len -= 1;
        }
        out.push(len as u8);
        out.extend(std::iter::repeat_n(b'x', len));
        fill -= len + 1;
    }
    out.extend_from_slice(&tail);
    assert_eq!(out.len(), total);
    assert!(Name::from_wire(&out).is_ok());
    out
}

#[test]
fn succ_prepends_a_zero_label() {
    assert_eq!(
        &succ(&wire("a.example.com."))[..],
        &wire(r"\000.a.example.com.")[..]
    );
    assert_eq!(
        &succ(&wire("WWW.Example.COM."))[..],
        &wire(r"\000.www.example.com.")[..]
    );
    assert_eq!(&succ(&[0])[..], &wire(r"\000.")[..]);
    // 253 octets still take the \000 label: 255 in all.
    let q = long_name(b"a", 253);
    let s = succ(&q);
    assert_eq!(s.len(), 255);
    assert_eq!(&s[..2], &[1, 0]);
}

#[test]
fn succ_of_long_names_extends_or_increments_the_first_label() {
    // 254 octets, short first label: append 0x00 to it (rule 2.1).
    let q = long_name(b"Ab", 254);
    let s = succ(&q);
    assert_eq!(&s[..4], &[3, b'a', b'b', 0]);
    assert_eq!(&s[4..], &q[3..]);
    // 255 octets: increment the last octet (rule 2.2).
    let q = long_name(b"ab", 255);
    assert_eq!(&succ(&q)[..3], &[2, b'a', b'c']);
    // 0x40 is followed by 0x5B: A-Z sort as a-z.
    let q = long_name(b"a@", 255);
    assert_eq!(&succ(&q)[..3], &[2, b'a', 0x5B]);
    // An upper-case octet counts as lower case: Z -> z -> {.
    let q = long_name(b"aZ", 255);
    assert_eq!(&succ(&q)[..3], &[2, b'a', b'{']);
    // 0xFF carries into the previous octet, which shrinks the label.
    let q = long_name(&[b'a', 0xFF, 0xFF], 255);
    assert_eq!(&succ(&q)[..2], &[1, b'b']);
    assert_eq!(&succ(&q)[2..], &q[4..]);
    // A 63-octet first label in a 254-octet name cannot grow: increment.
    let label = [b'q'; 63];
    let q = long_name(&label, 254);
    let s = succ(&q);
    assert_eq!(s[0], 63);
    assert_eq!(s[63], b'r');
    // All 0xFF: nothing follows at this level; move to the parent, which
    // gets \000 appended to its first label.
    let labels = [
        vec![0xFF; 63],
        b"p".to_vec(),
        vec![b'x'; 63],
        vec![b'x'; 63],
        vec![b'x'; 51],
    ];
    let mut q = to_wire(&labels[..]);
    q.pop();
    q.extend_from_slice(&wire("example."));
    assert_eq!(q.len(), 255);
    let mut expected = to_wire(&[
        b"p\0".to_vec(),
        vec![b'x'; 63],
        vec![b'x'; 63],
        vec![b'x'; 51],
    ]);
    expected.pop();
    expected.extend_from_slice(&wire("example."));
    assert_eq!(&succ(&q)[..], &expected[..]);
}

#[test]
fn delegation_variant_appends_to_the_first_label() {
    assert_eq!(
        &succ_delegation(&wire("sub.example.com."))[..],
        &wire(r"sub\000.example.com.")[..]
    );
    assert_eq!(
        &succ_delegation(&wire("SUB.example.com."))[..],
        &wire(r"sub\000.example.com.")[..]
    );
    let label = "a".repeat(63);
    let cut = wire(&format!("{label}.example.com."));
    let next = succ_delegation(&cut);
    assert_eq!(
        &next[..],
        &wire(&format!("{}b.example.com.", "a".repeat(62)))[..]
    );
}

#[test]
fn rfc4034_nsec_example_encodes_exactly() {
    // RFC 4034 §4.3: alfa.example.com. NSEC host.example.com. A MX RRSIG NSEC TYPE1234
    let types =
        TypeBitmap::from_types([RType::A, RType::MX, RType::RRSIG, RType::NSEC, RType(1234)]);
    let mut rdata = Vec::new();
    nsec_rdata(&wire("host.example.com."), &types, &mut rdata);
    let mut expected = wire("host.example.com.");
    expected.extend_from_slice(&[0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03]);
    expected.extend_from_slice(&[0x04, 0x1b]);
    expected.extend_from_slice(&[0; 26]);
    expected.push(0x20);
    assert_eq!(rdata, expected);
    assert_eq!(TypeBitmap::decode(&rdata[18..]), Some(types.clone()));
    assert_eq!(
        types.types().collect::<Vec<_>>(),
        [RType::A, RType::MX, RType::RRSIG, RType::NSEC, RType(1234)]
    );
}

#[test]
fn bitmap_edges() {
    let all_edges = [
        RType(0),
        RType(7),
        RType(8),
        RType(255),
        RType(256),
        RType(65402),
        RType(65535),
    ];
    let set = TypeBitmap::from_types(all_edges);
    for t in all_edges {
        assert!(set.contains(t), "{t}");
    }
    assert!(!set.contains(RType(1)) && !set.contains(RType(257)) && !set.contains(RType(65534)));
    let mut enc = Vec::new();
    set.encode(&mut enc);
    assert_eq!(TypeBitmap::decode(&enc), Some(set.clone()));
    assert_eq!(set.types().collect::<Vec<_>>(), all_edges);
    let mut empty = Vec::new();
    TypeBitmap::new().encode(&mut empty);
    assert!(empty.is_empty());
    // Malformed bitmaps.
    for bad in [
        &[0u8, 0][..],       // zero length
        &[0, 33],            // too long
        &[0, 2, 1],          // truncated
        &[0, 2, 1, 0],       // trailing zero octet
        &[1, 1, 1, 0, 1, 1], // windows out of order
        &[0, 1, 1, 0, 1, 1], // repeated window
        &[0],                // no length
    ] {
        assert_eq!(TypeBitmap::decode(bad), None, "{bad:?}");
    }
}

#[test]
fn denial_bitmaps_follow_the_spec_table() {
    let types = |d: Denial<'_>| d.bitmap().types().collect::<Vec<_>>();
    assert_eq!(
        types(Denial::NxName),
        [RType::RRSIG, RType::NSEC, RType::NXNAME]
    );
    assert_eq!(types(Denial::EmptyNonTerminal), [RType::RRSIG, RType::NSEC]);
    assert_eq!(
        types(Denial::InsecureDelegation),
        [RType::NS, RType::RRSIG, RType::NSEC]
    );
    assert_eq!(
        types(Denial::NoData(&[
            RType::CAA,
            RType::A,
            RType::OPT,
            RType::NXNAME,
            RType::A
        ])),
        [RType::A, RType::RRSIG, RType::NSEC, RType::CAA]
    );
    // NXNAME encoding: window 0, 17 octets, RRSIG+NSEC in octet 5, NXNAME in 16.
    let mut out = Vec::new();
    Denial::NxName.nsec_rdata(&wire("nope.example."), &mut out);
    let next = wire(r"\000.nope.example.");
    assert_eq!(&out[..next.len()], &next[..]);
    let mut bitmap = vec![0u8, 17, 0, 0, 0, 0, 0, 0x03];
    bitmap.extend_from_slice(&[0; 10]);
    bitmap.push(0x80);
    assert_eq!(&out[next.len()..], &bitmap[..]);
    // The cut's NSEC: next is <label>\000.<parent>.
    let mut cut = Vec::new();
    Denial::InsecureDelegation.nsec_rdata(&wire("sub.example."), &mut cut);
    assert!(cut.starts_with(&wire(r"sub\000.example.")));
}

#[test]
fn nxdomain_rcode_and_co() {
    assert_eq!(
        nxdomain_reply(false, false),
        NxReply {
            rcode: Rcode::NXDOMAIN,
            set_co: false,
            with_nsec: false
        }
    );
    assert_eq!(
        nxdomain_reply(false, true),
        NxReply {
            rcode: Rcode::NXDOMAIN,
            set_co: false,
            with_nsec: false
        }
    );
    assert_eq!(
        nxdomain_reply(true, false),
        NxReply {
            rcode: Rcode::NOERROR,
            set_co: false,
            with_nsec: true
        }
    );
    assert_eq!(
        nxdomain_reply(true, true),
        NxReply {
            rcode: Rcode::NXDOMAIN,
            set_co: true,
            with_nsec: true
        }
    );
    assert!(is_forbidden_qtype(RType::NXNAME) && !is_forbidden_qtype(RType::NSEC));
    assert_eq!(negative_ttl(3600, 300), 300);
    assert_eq!(negative_ttl(60, 300), 60);
    assert_eq!(crate::wire::EdnsFlags::CO.0, 0x4000);
}

// ----------- Spec §3.3: no name sorts strictly between owner and next --------------

/// Octets where canonical order has edges: 0x40/0x5B around A-Z, 0xFF.
const EDGES: [u8; 12] = [
    0x00, 0x01, 0x2D, 0x40, 0x41, 0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0xFF,
];

/// xorshift64*: deterministic, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// An octet biased towards the interesting ones.
    fn octet(&mut self) -> u8 {
        const EDGES: [u8; 12] = [
            0x00, 0x01, 0x2D, 0x40, 0x41, 0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0xFF,
        ];
        if self.below(3) == 0 {
            self.next() as u8
        } else {
            EDGES[self.below(EDGES.len())]
        }
    }
    fn label(&mut self, max: usize) -> Vec<u8> {
        let len = match self.below(4) {
            0 => MAX_LABEL_LEN.min(max),
            _ => 1 + self.below(max.clamp(1, 6)),
        };
        (0..len.max(1)).map(|_| self.octet()).collect()
    }
    /// A random valid name; a third are exactly 253-255 octets long, where
    /// succ() switches rules.
    fn name(&mut self) -> Vec<u8> {
        let total = match self.below(3) {
            0 => 253 + self.below(3),
            _ => 3 + self.below(60),
        };
        // Octets for labels: everything but the root label.
        let mut room = total - 1;
        let mut labels: Vec<Vec<u8>> = Vec::new();
        while room > 0 {
            let mut len = match labels.is_empty() {
                true => self.label(MAX_LABEL_LEN).len(),
                false => 1 + self.below(MAX_LABEL_LEN),
            };
            // A label costs len + 1; never leave exactly 1 octet.
            len = len.min(room - 1);
            if room - (len + 1) == 1 {
                len -= 1;
                if len == 0 {
                    len = 2.min(room - 1);
                }
            }
            labels.push((0..len).map(|_| self.octet()).collect());
            room -= len + 1;
        }
        to_wire(&labels)
    }
}

fn to_wire(labels: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    out
}

fn labels_of(wire: &[u8]) -> Vec<Vec<u8>> {
    name(wire).labels().map(<[u8]>::to_vec).collect()
}

/// Names close to `q` in canonical order: children, siblings with the
/// first label nudged, ancestors and their nudged siblings.
fn neighbours(q: &[u8], rng: &mut Rng) -> Vec<Vec<u8>> {
    let labels = labels_of(q);
    let mut out = Vec::new();
    let mut push = |ls: Vec<Vec<u8>>| {
        let w = to_wire(&ls);
        if w.len() <= MAX_NAME_LEN && ls.iter().all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN) {
            out.push(w);
        }
    };
    // The first few ancestors and the last two: enough to reach every
    // level succ() can touch, without quadratic cost on 100-label names.
    let depths = (0..=labels.len()).filter(|&d| d < 4 || d + 2 >= labels.len());
    for depth in depths {
        let base = labels[depth..].to_vec();
        // Children of this ancestor.
        for _ in 0..3 {
            let mut ls = vec![rng.label(8)];
            ls.extend(base.clone());
            push(ls);
        }
        push([vec![vec![0]], base.clone()].concat());
        if let Some((first, parent)) = base.split_first() {
            if depth < 2 {
                // Systematically: the last octet replaced by, or followed
                // by, each edge octet.
                for e in EDGES {
                    let mut l = first.clone();
                    *l.last_mut().unwrap() = e;
                    push([vec![l.clone()], parent.to_vec()].concat());
                    l.push(e);
                    push([vec![l], parent.to_vec()].concat());
                }
            }
            for _ in 0..6 {
                let mut l = first.clone();
                match rng.below(7) {
                    0 => l.push(rng.octet()),
                    5 | 6 => {
                        let i = if rng.below(2) == 0 {
                            l.len() - 1
                        } else {
                            rng.below(l.len())
                        };
                        l[i] = rng.octet();
                    }
                    1 => {
                        l.pop();
                    }
                    2 => {
                        let i = rng.below(l.len().max(1)).min(l.len().saturating_sub(1));
                        if let Some(b) = l.get_mut(i) {
                            *b = b.wrapping_add(1);
                        }
                    }
                    3 => {
                        let i = rng.below(l.len().max(1)).min(l.len().saturating_sub(1));
                        if let Some(b) = l.get_mut(i) {
                            *b = b.wrapping_sub(1);
                        }
                    }
                    _ => l.make_ascii_uppercase(),
                }
                let mut ls = vec![l];
                ls.extend(parent.iter().cloned());
                push(ls.clone());
                // And a child of the nudged sibling.
                ls.insert(0, vec![rng.octet()]);
                push(ls);
            }
        }
    }
    out
}

fn strictly_between(lo: &Name, x: &Name, hi: &Name) -> bool {
    // `hi` at or below `lo` means "to the end": then anything above `lo` is covered.
    if hi <= lo { x > lo } else { lo < x && x < hi }
}

#[test]
fn succ_is_the_immediate_successor() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..1_000 {
        let q = rng.name();
        let s = succ(&q);
        let (qn, sn) = (name(&q), name(&s));
        assert!(qn < sn || sn.is_root(), "succ({qn}) = {sn} is not above it");
        for x in neighbours(&q, &mut rng)
            .into_iter()
            .chain((0..5).map(|_| rng.name()))
        {
            let xn = name(&x);
            assert!(
                !strictly_between(&qn, &xn, &sn),
                "{xn} lies between {qn} and succ = {sn}"
            );
        }
    }
}

#[test]
fn delegation_nsec_covers_only_the_cut_and_below() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..1_000 {
        let cut = rng.name();
        let next = succ_delegation(&cut);
        let (cn, nn) = (name(&cut), name(&next));
        assert!(cn < nn || nn.is_root(), "{cn} -> {nn}");
        for x in neighbours(&cut, &mut rng) {
            let xn = name(&x);
            if strictly_between(&cn, &xn, &nn) {
                assert!(
                    xn.is_subdomain_of(&cn),
                    "{xn} outside {cn} lies before {nn}"
                );
            }
        }
    }
}
