//! The chain and the range a missing name falls in: predecessor and
//! successor (with the wrap back to the apex), names below a cut, under
//! an empty non-terminal, wildcards at the closest encloser, bitmaps of
//! LUA names and cuts; then the denial stage past a budget, with its
//! signatures checked.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::*;
use crate::dnssec::denial::TypeBitmap;
use crate::dnssec::keys::{Algorithm, FLAGS_KSK, KeyState, SigningKey};
use crate::dnssec::{ReplySignatures, Signer, ZoneKeys, prove, verify_rrsig};
use crate::dynamic::records::LuaQuery;
use crate::lookup::{self, AnyUdp};
use crate::outcome::{Data, Outcome, Section};
use crate::wire::name::wire_name_len;
use crate::wire::{Name, Rcode};
use crate::zone::{Catalog, Served, build_zone, load};

/// Apex data, a delegation with glue below it, one with DS, one with glue
/// at the cut itself, empty non-terminals (`c`, `b.c`), a wildcard under
/// an empty non-terminal (`wild`), a LUA name, a DNAME, a CNAME.
const ZONE: &str = r#"
$ORIGIN example.test.
$TTL 3600
@          SOA   ns1 hostmaster 2026120701 7200 3600 1209600 300
@          NS    ns1
@          MX    10 mail
ns1        A     192.0.2.53
mail       A     192.0.2.25
WWW        A     192.0.2.80
alias      CNAME www
*.wild     TXT   "wildcard"
a.b.c      A     192.0.2.3
insecure   NS    ns.insecure
ns.insecure A    192.0.2.54
secure     NS    ns.secure
secure     DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure  A     192.0.2.55
geo        LUA   A "pickrandom({'192.0.2.7', '192.0.2.8'})"
dname      DNAME example.net.
self       NS    self
self       A     192.0.2.9
"#;

/// The NSEC owners in canonical order: no ENT, nothing below a cut or the
/// DNAME.
const CHAIN: &[&str] = &[
    "example.test.",
    "alias.example.test.",
    "a.b.c.example.test.",
    "dname.example.test.",
    "geo.example.test.",
    "insecure.example.test.",
    "mail.example.test.",
    "ns1.example.test.",
    "secure.example.test.",
    "self.example.test.",
    "*.wild.example.test.",
    "www.example.test.",
];

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

fn wire(text: &str) -> Vec<u8> {
    name(text).to_lowercase().as_wire().to_vec()
}

fn keys() -> ZoneKeys {
    let origin = name("example.test.");
    let key = SigningKey::generate(&origin, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    let on = KeyState {
        published: true,
        active: true,
    };
    ZoneKeys::new(&origin, vec![(Arc::new(key), on)])
}

fn zone(keys: &ZoneKeys) -> Arc<Zone> {
    let origin = name("example.test.");
    let mut records = load::parse_str(&origin, ZONE, Path::new("ranges-test")).unwrap();
    records.extend(crate::zones::key_records(&origin, keys));
    Arc::new(build_zone(&origin, records).unwrap())
}

/// (owner, next) of the range `name` falls in.
fn range(chain: &RangeChain, name: &str) -> (Name, Name) {
    let at = chain.covering(&wire(name));
    (
        Name::from_wire(chain.owner(at)).unwrap(),
        Name::from_wire(chain.next(at)).unwrap(),
    )
}

#[test]
fn the_chain_holds_the_real_names_in_canonical_order() {
    let zone = zone(&keys());
    let chain = RangeChain::build(&zone);
    let owners: Vec<Name> = (0..chain.len())
        .map(|i| Name::from_wire(chain.owner(i)).unwrap())
        .collect();
    let expected: Vec<Name> = CHAIN.iter().map(|n| name(n).to_lowercase()).collect();
    assert_eq!(owners, expected);
    assert!(chain.is_for(&zone));
    assert!(!chain.is_for(&self::zone(&keys())), "another version");
}

#[test]
fn a_missing_name_falls_between_its_predecessor_and_successor() {
    let chain = RangeChain::build(&zone(&keys()));
    let r = |owner: &str, next: &str| (name(owner), name(next));
    // Between two owners.
    assert_eq!(
        range(&chain, "b.example.test."),
        r("alias.example.test.", "a.b.c.example.test.")
    );
    assert_eq!(
        range(&chain, "mailx.example.test."),
        r("mail.example.test.", "ns1.example.test.")
    );
    // Below an owner that has data: still that owner's range.
    assert_eq!(
        range(&chain, "x.mail.example.test."),
        r("mail.example.test.", "ns1.example.test.")
    );
    // After the last owner: its NSEC points back at the apex.
    assert_eq!(
        range(&chain, "zzz.example.test."),
        r("www.example.test.", "example.test.")
    );
    // Before the first name below the apex: the apex's own NSEC.
    assert_eq!(
        range(&chain, "0.example.test."),
        r("example.test.", "alias.example.test.")
    );
    // Below a cut: the cut's range (glue is not in the chain).
    assert_eq!(
        range(&chain, "zz.ns.insecure.example.test."),
        r("insecure.example.test.", "mail.example.test.")
    );
    // An owner is its own range.
    assert_eq!(
        range(&chain, "geo.example.test."),
        r("geo.example.test.", "insecure.example.test.")
    );
}

#[test]
fn below_an_empty_non_terminal_the_encloser_is_the_ent() {
    let zone = zone(&keys());
    let chain = RangeChain::build(&zone);
    let q = wire("d.c.example.test.");
    // `c` exists (an empty non-terminal), `d.c` does not.
    assert_eq!(closest_encloser(&zone, &q), &wire("c.example.test.")[..]);
    assert_eq!(
        range(&chain, "d.c.example.test."),
        (name("a.b.c.example.test."), name("dname.example.test."))
    );
    // `*.c` sorts after the ENT `c`, before everything below it.
    let wild = wildcard_of(closest_encloser(&zone, &q)).unwrap();
    assert_eq!(&wild[..], &wire("*.c.example.test.")[..]);
    let at = chain.covering(&wild);
    assert_eq!(chain.owner(at), &wire("alias.example.test.")[..]);
    assert_eq!(chain.next(at), &wire("a.b.c.example.test.")[..]);
    // Straight below the apex, the wildcard `*.example.test.` falls in
    // the apex's own range.
    let q = wire("nope.example.test.");
    let wild = wildcard_of(closest_encloser(&zone, &q)).unwrap();
    assert_eq!(
        chain.owner(chain.covering(&wild)),
        &wire("example.test.")[..]
    );
    // The wildcard that exists is an owner, not a gap.
    let at = chain.covering(&wire("*.wild.example.test."));
    assert_eq!(chain.owner(at), &wire("*.wild.example.test.")[..]);
}

#[test]
fn bitmaps_say_what_online_answers_say() {
    let zone = zone(&keys());
    let chain = RangeChain::build(&zone);
    let bitmap = |owner: &str| {
        let key = wire(owner);
        let at = chain.covering(&key);
        assert_eq!(chain.owner(at), &key[..]);
        let rdata = chain.nsec_rdata(at, zone.node(&key).unwrap()).unwrap();
        let len = wire_name_len(&rdata).unwrap();
        let mut types: Vec<RType> = TypeBitmap::decode(&rdata[len..]).unwrap().types().collect();
        types.sort();
        types
    };
    use RType as T;
    // A LUA name lists the type it produces, not LUA.
    assert_eq!(bitmap("geo.example.test."), vec![T::A, T::RRSIG, T::NSEC]);
    // Cuts: NS and DS only, never the glue at the cut.
    assert_eq!(
        bitmap("secure.example.test."),
        vec![T::NS, T::DS, T::RRSIG, T::NSEC]
    );
    assert_eq!(bitmap("self.example.test."), vec![T::NS, T::RRSIG, T::NSEC]);
    let mut apex = bitmap("example.test.");
    apex.retain(|t| [T::SOA, T::DNSKEY].contains(t));
    assert_eq!(apex, vec![T::SOA, T::DNSKEY]);
}

#[test]
fn canonical_order() {
    let less = |a: &str, b: &str| canonical_cmp(&wire(a), &wire(b)) == Ordering::Less;
    assert!(less("example.test.", r"\000.example.test."));
    assert!(less(r"\000.example.test.", "*.example.test."));
    assert!(less("z.example.test.", r"a.\000.z.example.test."));
    assert!(less("a.example.test.", "z.a.example.test."));
    assert!(less("z.a.example.test.", "b.example.test."));
}

/// A signed catalog and a signer with a budget of `per_second`.
fn served(per_second: u32) -> (Catalog, Arc<Zone>, Arc<ZoneKeys>, Signer) {
    let keys = Arc::new(keys());
    let zone = zone(&keys);
    let mut catalog = Catalog::new();
    catalog.insert_served(Served {
        zone: Arc::clone(&zone),
        keys: Some(Arc::clone(&keys)),
        expired: false,
    });
    (
        catalog,
        zone,
        keys,
        Signer::with_negative_budget(1 << 20, per_second),
    )
}

const NOW: u64 = 1_800_000_000;
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Looks `qname` up with DO=1 and runs the denial stage.
fn deny<'z>(catalog: &'z Catalog, signer: &Signer, qname: &[u8]) -> Outcome<'z> {
    let mut out = Outcome {
        dnssec_ok: true,
        ..Outcome::default()
    };
    let lua = LuaQuery::plain(PEER);
    lookup::resolve(
        catalog,
        qname,
        RType::A,
        AnyUdp::Minimal,
        false,
        &lua,
        &mut out,
    );
    prove(&mut out, qname, signer, NOW);
    out
}

/// (owner, next) of each NSEC in the authority section.
fn nsecs(out: &Outcome<'_>, qname: &[u8]) -> Vec<(Name, Name)> {
    out.authority
        .iter()
        .filter_map(|e| match e.data {
            Data::Nsec(i) => {
                let rdata = &out.nsecs[i as usize];
                let len = wire_name_len(rdata).unwrap();
                Some((
                    Name::from_wire(out.owner_wire(e.owner, qname))
                        .unwrap()
                        .to_lowercase(),
                    Name::from_wire(&rdata[..len]).unwrap(),
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn past_the_budget_nxdomain_is_proven_from_ranges_and_signed() {
    let (catalog, zone, keys, signer) = served(2);
    // Within the budget: compact (NOERROR, NSEC at the name).
    for label in ["q1", "q2"] {
        let q = wire(&format!("{label}.example.test."));
        let out = deny(&catalog, &signer, &q);
        assert_eq!(out.rcode, Rcode::NOERROR);
        assert_eq!(nsecs(&out, &q)[0].0, Name::from_wire(&q).unwrap());
    }
    // A repeated name is signed already: compact, and free.
    let q = wire("q1.example.test.");
    let mut sigs = ReplySignatures::default();
    let out = deny(&catalog, &signer, &q);
    sigs.sign(&out, &q, &signer, NOW).unwrap();
    assert_eq!(deny(&catalog, &signer, &q).rcode, Rcode::NOERROR);
    // Past it: ranges, once the chain is built (on a thread of its own).
    let q = wire("d.c.example.test.");
    let mut waited = 0;
    let out = loop {
        let out = deny(&catalog, &signer, &q);
        if out.rcode == Rcode::NXDOMAIN {
            break out;
        }
        assert_eq!(out.rcode, Rcode::NOERROR, "compact while the chain builds");
        waited += 1;
        assert!(waited < 500, "no chain after 5 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(!out.set_co);
    assert_eq!(
        nsecs(&out, &q),
        vec![
            (name("a.b.c.example.test."), name("dname.example.test.")),
            (name("alias.example.test."), name("a.b.c.example.test.")),
        ]
    );
    // SOA, then the two NSECs, each signed by the zone's key, and valid.
    assert_eq!(out.authority.len(), 3);
    sigs.sign(&out, &q, &signer, NOW).unwrap();
    let dnskey = keys.keys()[0].key.dnskey_rdata().to_vec();
    let mut scratch = crate::dnssec::Scratch::new();
    for (i, entry) in out.authority.iter().enumerate() {
        let owner = out.owner_wire(entry.owner, &q).to_ascii_lowercase();
        let rrsigs = sigs.of(Section::Authority, i);
        assert_eq!(rrsigs.len(), 1);
        verify_rrsig(
            &dnskey,
            &owner,
            entry.data.rtype(),
            1,
            out.rdatas(&entry.data),
            &rrsigs[0],
            &mut scratch,
        )
        .unwrap();
    }
    // The name straight below the apex: one NSEC covers it and `*.`.
    let q = wire("b.example.test.");
    let out = deny(&catalog, &signer, &q);
    assert_eq!(out.rcode, Rcode::NXDOMAIN);
    assert_eq!(
        nsecs(&out, &q),
        vec![
            (name("alias.example.test."), name("a.b.c.example.test.")),
            (name("example.test."), name("alias.example.test.")),
        ]
    );
    let q = wire("0.example.test.");
    let out = deny(&catalog, &signer, &q);
    assert_eq!(
        nsecs(&out, &q),
        vec![(name("example.test."), name("alias.example.test."))]
    );
    // Compact NODATA and the wildcard still answer as before.
    let q = wire("mail.example.test.");
    let mut out = Outcome {
        dnssec_ok: true,
        ..Outcome::default()
    };
    let lua = LuaQuery::plain(PEER);
    lookup::resolve(
        &catalog,
        &q,
        RType::TXT,
        AnyUdp::Minimal,
        false,
        &lua,
        &mut out,
    );
    prove(&mut out, &q, &signer, NOW);
    assert_eq!(out.rcode, Rcode::NOERROR);
    assert_eq!(nsecs(&out, &q)[0].1, name(r"\000.mail.example.test."));
    let q = wire("x.wild.example.test.");
    let out = deny(&catalog, &signer, &q);
    assert_eq!((out.rcode, out.answer.len()), (Rcode::NOERROR, 0));
    let stats = signer.negatives.stats(NOW);
    assert_eq!(stats[0].fresh_signatures, 2);
    assert!(stats[0].range_answers >= 3 && stats[0].active);
    drop(zone);
}
