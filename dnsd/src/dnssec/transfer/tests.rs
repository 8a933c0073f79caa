//! The signed copy of a zone: its NSEC chain and signatures checked here
//! record by record, then the whole copy handed to independent verifiers
//! (ldns-verify-zone, BIND's dnssec-verify, Knot's kzonecheck), and served
//! by NSD on loopback to BIND's delv and to unbound with aggressive NSEC
//! (RFC 8198), which validate answers from it against the KSK's DS alone.
//! A verifier that is not installed is skipped with a note, except under
//! CI (`CI` set), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use data_encoding::{BASE64, HEXUPPER};

use super::*;
use crate::dnssec::keys::{Algorithm, DigestType, FLAGS_KSK, FLAGS_ZSK, KeyState, SigningKey};
use crate::dnssec::sign::{Rrsig, verify_rrsig};
use crate::wire::Name;
use crate::wire::name::wire_name_len;
use crate::wire::rdata::to_text;
use crate::zone::{build_zone, load};

/// Every case the brief of the signed transfer names: apex NS/MX/TXT, a
/// delegation with glue, a delegation with DS (and glue), an empty
/// non-terminal (`b.c`, and `c`), a wildcard, a LUA record, a CNAME, and a
/// name in upper case.
const ZONE: &str = r#"
$ORIGIN example.test.
$TTL 3600
@          SOA   ns1 hostmaster 2026120701 7200 3600 1209600 300
@          NS    ns1
@          NS    ns2.example.net.
@          MX    10 mail
@          TXT   "v=spf1 -all"
ns1        A     192.0.2.53
mail       A     192.0.2.25
WWW        A     192.0.2.80
www        AAAA  2001:db8::80
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

/// The names that own an NSEC, in canonical order: no ENT (`c`, `b.c`,
/// `wild`), no glue (`ns.insecure`, `ns.secure`); `self` is a cut whose
/// glue sits at the cut itself.
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

const ON: KeyState = KeyState {
    published: true,
    active: true,
};

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

fn origin() -> Name {
    name("example.test.")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// ECDSA P-256, split into a KSK and a ZSK.
fn split_keys() -> ZoneKeys {
    let zone = origin();
    let ksk = SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    let zsk = SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_ZSK).unwrap();
    ZoneKeys::new(&zone, vec![(Arc::new(ksk), ON), (Arc::new(zsk), ON)])
}

/// One Ed25519 CSK.
fn csk_keys() -> ZoneKeys {
    let zone = origin();
    let csk = SigningKey::generate(&zone, Algorithm::Ed25519, FLAGS_KSK).unwrap();
    ZoneKeys::new(&zone, vec![(Arc::new(csk), ON)])
}

/// ZONE as the server builds a signed zone: checked like a zone file, with
/// the key records (DNSKEY, CDS, CDNSKEY) added at the apex.
fn served_zone(keys: &ZoneKeys) -> Zone {
    let zone = origin();
    let mut records = load::parse_str(&zone, ZONE, Path::new("transfer-test")).unwrap();
    let errors = load::validate(&zone, &records);
    assert!(errors.is_empty(), "test zone invalid: {errors:?}");
    records.extend(crate::zones::key_records(&zone, keys));
    build_zone(&zone, records).unwrap()
}

fn signed(keys: &ZoneKeys) -> (Zone, Vec<Record>) {
    let zone = served_zone(keys);
    let signer = Signer::new(1 << 20);
    let records = signed_zone_records(&zone, keys, &signer, now()).unwrap();
    (zone, records)
}

fn records_of<'r>(records: &'r [Record], owner: &str, rtype: RType) -> Vec<&'r Record> {
    let owner = name(owner);
    records
        .iter()
        .filter(|r| r.owner == owner && r.rtype == rtype)
        .collect()
}

/// The RRSIGs at `owner` covering `rtype`.
fn rrsigs_of<'r>(records: &'r [Record], owner: &str, rtype: RType) -> Vec<&'r Record> {
    records_of(records, owner, RType::RRSIG)
        .into_iter()
        .filter(|r| Rrsig::parse(&r.rdata).unwrap().type_covered == rtype)
        .collect()
}

/// (next name, types) of an NSEC RDATA.
fn nsec_fields(rdata: &[u8]) -> (Name, Vec<RType>) {
    let len = wire_name_len(rdata).unwrap();
    let next = Name::from_wire(&rdata[..len]).unwrap();
    let types = TypeBitmap::decode(&rdata[len..]).unwrap().types().collect();
    (next, types)
}

fn types(list: &[RType]) -> Vec<RType> {
    let mut list = list.to_vec();
    list.sort();
    list
}

// ----------- The copy, record by record ----------------------------------------------

#[test]
fn nsec_chain_runs_over_the_real_names_in_canonical_order() {
    let keys = split_keys();
    let (zone, records) = signed(&keys);
    let nsecs: Vec<&Record> = records.iter().filter(|r| r.rtype == RType::NSEC).collect();
    let owners: Vec<Name> = nsecs.iter().map(|r| r.owner.clone()).collect();
    let expected: Vec<Name> = CHAIN.iter().map(|n| name(n)).collect();
    assert_eq!(owners, expected);
    for (i, nsec) in nsecs.iter().enumerate() {
        let (next, _) = nsec_fields(&nsec.rdata);
        assert_eq!(
            next,
            expected[(i + 1) % expected.len()],
            "next of {}",
            nsec.owner
        );
        // RFC 9077: min(SOA TTL 3600, MINIMUM 300).
        assert_eq!(nsec.ttl, 300);
        assert_eq!(nsec.ttl, zone.negative_ttl);
    }
}

#[test]
fn bitmaps_list_what_each_name_holds() {
    let keys = split_keys();
    let (_, records) = signed(&keys);
    let bitmap = |owner: &str| {
        let nsec = records_of(&records, owner, RType::NSEC);
        assert_eq!(nsec.len(), 1, "one NSEC at {owner}");
        types(&nsec_fields(&nsec[0].rdata).1)
    };
    use RType as T;
    assert_eq!(
        bitmap("example.test."),
        types(&[
            T::NS,
            T::SOA,
            T::MX,
            T::TXT,
            T::RRSIG,
            T::NSEC,
            T::DNSKEY,
            T::CDS,
            T::CDNSKEY
        ])
    );
    // A cut without DS: NS RRSIG NSEC (RFC 4035 §2.3); the glue's A is not
    // the parent's.
    assert_eq!(
        bitmap("insecure.example.test."),
        types(&[T::NS, T::RRSIG, T::NSEC])
    );
    assert_eq!(
        bitmap("secure.example.test."),
        types(&[T::NS, T::DS, T::RRSIG, T::NSEC])
    );
    // LUA travels as itself, TYPE65402 in the bitmap (lua-records.md §13).
    assert_eq!(
        bitmap("geo.example.test."),
        types(&[T::LUA, T::RRSIG, T::NSEC])
    );
    assert_eq!(
        bitmap("alias.example.test."),
        types(&[T::CNAME, T::RRSIG, T::NSEC])
    );
    assert_eq!(
        bitmap("*.wild.example.test."),
        types(&[T::TXT, T::RRSIG, T::NSEC])
    );
    assert_eq!(
        bitmap("www.example.test."),
        types(&[T::A, T::AAAA, T::RRSIG, T::NSEC])
    );
    for ent in ["c.example.test.", "b.c.example.test.", "wild.example.test."] {
        assert!(records_of(&records, ent, RType::NSEC).is_empty(), "{ent}");
    }
}

#[test]
fn only_authoritative_data_is_signed() {
    let keys = split_keys();
    let (_, records) = signed(&keys);
    // NS at a cut and glue: sent, not signed, no NSEC.
    for cut in [
        "insecure.example.test.",
        "secure.example.test.",
        "self.example.test.",
    ] {
        assert_eq!(records_of(&records, cut, RType::NS).len(), 1);
        assert!(rrsigs_of(&records, cut, RType::NS).is_empty(), "{cut} NS");
    }
    for glue in ["ns.insecure.example.test.", "ns.secure.example.test."] {
        assert_eq!(records_of(&records, glue, RType::A).len(), 1, "{glue}");
        assert!(
            records_of(&records, glue, RType::RRSIG).is_empty(),
            "{glue}"
        );
        assert!(records_of(&records, glue, RType::NSEC).is_empty(), "{glue}");
    }
    // An address at the cut itself is glue too.
    assert_eq!(
        records_of(&records, "self.example.test.", RType::A).len(),
        1
    );
    assert!(rrsigs_of(&records, "self.example.test.", RType::A).is_empty());
    // DS at a cut is the parent's: signed by the ZSK.
    assert_eq!(
        rrsigs_of(&records, "secure.example.test.", RType::DS).len(),
        1
    );
    // Apex NS is signed.
    assert_eq!(rrsigs_of(&records, "example.test.", RType::NS).len(), 1);
    // Nothing at an empty non-terminal.
    assert!(records_of(&records, "b.c.example.test.", RType::RRSIG).is_empty());
}

#[test]
fn transfer_order_starts_with_the_soa_and_keeps_signatures_beside_their_rrsets() {
    let keys = split_keys();
    let (_, records) = signed(&keys);
    assert_eq!(records[0].rtype, RType::SOA);
    assert_eq!(records[0].owner, origin());
    assert_eq!(records.iter().filter(|r| r.rtype == RType::SOA).count(), 1);
    // Every RRSIG follows its RRset (or another RRSIG of it) at its owner.
    for (i, record) in records.iter().enumerate().skip(1) {
        if record.rtype == RType::RRSIG {
            let covered = Rrsig::parse(&record.rdata).unwrap().type_covered;
            let before = &records[i - 1];
            assert_eq!(before.owner, record.owner);
            assert!(
                before.rtype == covered || before.rtype == RType::RRSIG,
                "RRSIG {covered} at {} after {}",
                record.owner,
                before.rtype
            );
        }
    }
    // Glue follows its cut, before the next name of the chain.
    let at = |owner: &str, rtype: RType| {
        records
            .iter()
            .position(|r| r.owner == name(owner) && r.rtype == rtype)
            .unwrap()
    };
    let glue = at("ns.insecure.example.test.", RType::A);
    assert!(glue > at("insecure.example.test.", RType::NSEC));
    assert!(glue < at("mail.example.test.", RType::A));
}

#[test]
fn key_roles_sign_as_online() {
    let keys = split_keys();
    let (_, records) = signed(&keys);
    let ksk = keys.keys().iter().find(|k| k.key.is_sep()).unwrap();
    let zsk = keys.keys().iter().find(|k| !k.key.is_sep()).unwrap();
    let tags = |owner: &str, rtype: RType| -> Vec<u16> {
        rrsigs_of(&records, owner, rtype)
            .iter()
            .map(|r| Rrsig::parse(&r.rdata).unwrap().key_tag)
            .collect()
    };
    // The served key records, exactly as the apex holds them.
    assert_eq!(
        records_of(&records, "example.test.", RType::DNSKEY).len(),
        2
    );
    assert_eq!(records_of(&records, "example.test.", RType::CDS).len(), 1);
    assert_eq!(
        records_of(&records, "example.test.", RType::CDNSKEY).len(),
        1
    );
    for rtype in [RType::DNSKEY, RType::CDS, RType::CDNSKEY] {
        assert_eq!(tags("example.test.", rtype), vec![ksk.key.tag()], "{rtype}");
    }
    for (owner, rtype) in [
        ("example.test.", RType::SOA),
        ("example.test.", RType::NSEC),
        ("geo.example.test.", RType::LUA),
        ("*.wild.example.test.", RType::TXT),
    ] {
        assert_eq!(tags(owner, rtype), vec![zsk.key.tag()], "{owner} {rtype}");
    }
}

#[test]
fn every_signature_verifies() {
    for keys in [split_keys(), csk_keys()] {
        let (_, records) = signed(&keys);
        let mut scratch = Scratch::new();
        let mut checked = 0;
        for sig in records.iter().filter(|r| r.rtype == RType::RRSIG) {
            let parsed = Rrsig::parse(&sig.rdata).unwrap();
            let key = keys
                .keys()
                .iter()
                .find(|k| k.key.tag() == parsed.key_tag)
                .unwrap();
            let rdatas: Vec<&[u8]> = records
                .iter()
                .filter(|r| r.owner == sig.owner && r.rtype == parsed.type_covered)
                .map(|r| &r.rdata[..])
                .collect();
            let owner = sig.owner.to_lowercase();
            verify_rrsig(
                key.key.dnskey_rdata(),
                owner.as_wire(),
                parsed.type_covered,
                1,
                rdatas,
                &sig.rdata,
                &mut scratch,
            )
            .unwrap_or_else(|e| panic!("{} {}: {e}", sig.owner, parsed.type_covered));
            checked += 1;
        }
        assert!(checked > 20, "only {checked} signatures");
    }
}

#[test]
fn signatures_come_from_the_online_cache() {
    // ECDSA signatures are randomised: equal bytes mean one signing, reused.
    let keys = split_keys();
    let zone = served_zone(&keys);
    let signer = Signer::new(1 << 20);
    let t = now();
    // What an online answer for www A signed first.
    let www = zone.node(name("www.example.test.").as_wire()).unwrap();
    let set = www.rrset(RType::A).unwrap();
    let mut online = Vec::new();
    signer
        .rrsigs(
            &keys,
            name("www.example.test.").as_wire(),
            RType::A,
            1,
            set.ttl,
            set.rdatas.iter(),
            t,
            &mut Scratch::new(),
            &mut online,
        )
        .unwrap();
    let first = signed_zone_records(&zone, &keys, &signer, t).unwrap();
    let www_sig = rrsigs_of(&first, "www.example.test.", RType::A);
    assert_eq!(&www_sig[0].rdata[..], &online[0][..]);
    let second = signed_zone_records(&zone, &keys, &signer, t + 60).unwrap();
    assert_eq!(first, second);
}

/// A zone whose names stress canonical order (RFC 4034 §6.1): `\000`
/// and `\255` octets, a label that extends another, case, escapes, a
/// 255-octet name, a wildcard at the apex and under a deep ENT.
fn awkward_zone(keys: &ZoneKeys) -> (Zone, Vec<Name>) {
    let zone = origin();
    let long = [
        vec![b'x'; 48],
        vec![b'y'; 63],
        vec![b'y'; 63],
        vec![b'y'; 63],
    ];
    let owners: Vec<Vec<Vec<u8>>> = vec![
        vec![b"\0".to_vec()],
        vec![b"a".to_vec()],
        vec![b"a\0".to_vec()],
        vec![b"ab".to_vec()],
        vec![b"-".to_vec()],
        vec![b"Z".to_vec()],
        vec![b"z.".to_vec()],
        vec![b"\xff".to_vec()],
        vec![b"\xff\xff".to_vec()],
        vec![b"*".to_vec()],
        vec![b"\0".to_vec(), b"a".to_vec()],
        vec![b"q".to_vec(), b"p".to_vec(), b"o".to_vec(), b"a".to_vec()],
        vec![b"*".to_vec(), b"deep".to_vec(), b"ent".to_vec()],
        long.to_vec(),
    ];
    let mut records = vec![
        soa_record(&zone),
        record(&zone, RType::NS, b"\x03ns1\x07example\x04test\x00"),
    ];
    let mut names = vec![zone.clone()];
    for labels in owners {
        let mut all: Vec<&[u8]> = labels.iter().map(Vec::as_slice).collect();
        all.extend([&b"example"[..], &b"test"[..]]);
        let owner = Name::from_labels(all).unwrap();
        assert!(owner.wire_len() <= 255);
        records.push(record(&owner, RType::A, &[192, 0, 2, 1]));
        names.push(owner);
    }
    records.extend(crate::zones::key_records(&zone, keys));
    names.sort();
    (build_zone(&zone, records).unwrap(), names)
}

fn record(owner: &Name, rtype: RType, rdata: &[u8]) -> Record {
    Record {
        owner: owner.clone(),
        rtype,
        class: 1,
        ttl: 600,
        rdata: rdata.into(),
        location: None,
    }
}

fn soa_record(zone: &Name) -> Record {
    let rdata = crate::wire::rdata::parse_str(
        RType::SOA,
        "ns1.example.test. hostmaster.example.test. 1 7200 3600 1209600 300",
        zone,
    )
    .unwrap();
    record(zone, RType::SOA, &rdata)
}

#[test]
fn awkward_names_chain_in_canonical_order() {
    let keys = csk_keys();
    let (zone, names) = awkward_zone(&keys);
    let signer = Signer::new(1 << 20);
    let records = signed_zone_records(&zone, &keys, &signer, now()).unwrap();
    let nsecs: Vec<&Record> = records.iter().filter(|r| r.rtype == RType::NSEC).collect();
    // `Name`'s own order is the independent reference here.
    let owners: Vec<Name> = nsecs.iter().map(|r| r.owner.clone()).collect();
    assert_eq!(owners, names);
    for (i, nsec) in nsecs.iter().enumerate() {
        assert_eq!(nsec_fields(&nsec.rdata).0, names[(i + 1) % names.len()]);
    }
    let dir = TempDir::new("awkward");
    let file = dir.0.join("awkward.zone");
    let text = zone_text(&records);
    std::fs::write(&file, &text).unwrap();
    // Not kzonecheck: Knot (3.2.6) orders names by a key that ends each
    // label with a zero octet, so it puts `a\000` before `\000.a` and
    // `o.a` (RFC 4034 §6.1 puts the subtree of `a` first, as ldns and BIND
    // do) and reports "inconsistent NSEC(3) chain" at `a`.
    for verifier in verifiers(true)
        .into_iter()
        .filter(|(tool, _)| tool != "kzonecheck")
    {
        let (ok, report) = verify(&verifier, &file);
        assert!(ok, "{}:\n{report}\n--- zone ---\n{text}", verifier.0);
    }
}

#[test]
fn stored_dnssec_records_give_way_to_the_copy() {
    // A zone file may carry RRSIG and NSEC records (a previously signed
    // zone): they would contradict the chain and signatures made here.
    let keys = csk_keys();
    let zone_name = origin();
    let www = name("www.example.test.");
    let stale = name("stale.example.test.");
    let mut old_nsec = Vec::new();
    nsec_rdata(
        name("zzz.example.test.").as_wire(),
        &TypeBitmap::from_types([RType::A, RType::NSEC]),
        &mut old_nsec,
    );
    let records: Vec<Record> = vec![
        soa_record(&zone_name),
        record(&zone_name, RType::NS, b"\x03ns1\x07example\x04test\x00"),
        record(&www, RType::A, &[192, 0, 2, 1]),
        record(&www, RType::NSEC, &old_nsec),
        record(&stale, RType::RRSIG, &[0; 40]),
    ]
    .into_iter()
    .chain(crate::zones::key_records(&zone_name, &keys))
    .collect();
    let zone = build_zone(&zone_name, records).unwrap();
    let signer = Signer::new(1 << 20);
    let copy = signed_zone_records(&zone, &keys, &signer, now()).unwrap();
    let nsec = records_of(&copy, "www.example.test.", RType::NSEC);
    assert_eq!(nsec.len(), 1);
    assert_eq!(nsec_fields(&nsec[0].rdata).0, zone_name);
    assert!(copy.iter().all(|r| r.owner != stale), "stale name sent");
    assert!(copy.iter().all(|r| r.rdata[..] != old_nsec[..]));
}

#[test]
fn refuses_what_cannot_be_a_signed_copy() {
    let keys = split_keys();
    let zone = served_zone(&keys);
    let signer = Signer::new(1 << 20);
    // Keys of another zone would name the wrong signer.
    let other = name("other.test.");
    let foreign = ZoneKeys::new(
        &other,
        vec![(
            Arc::new(SigningKey::generate(&other, Algorithm::Ed25519, FLAGS_KSK).unwrap()),
            ON,
        )],
    );
    assert!(matches!(
        signed_zone_records(&zone, &foreign, &signer, now()),
        Err(TransferSignError::KeysOfOtherZone { .. })
    ));
    // A zone built without its key records has nothing to validate against.
    let records = load::parse_str(&origin(), ZONE, Path::new("t")).unwrap();
    let bare = build_zone(&origin(), records).unwrap();
    assert!(matches!(
        signed_zone_records(&bare, &keys, &signer, now()),
        Err(TransferSignError::NoDnskey(_))
    ));
    // Keys none of which is active.
    let off = KeyState {
        published: true,
        active: false,
    };
    let idle = ZoneKeys::new(
        &origin(),
        keys.keys().iter().map(|k| (k.key.clone(), off)).collect(),
    );
    assert!(matches!(
        signed_zone_records(&zone, &idle, &signer, now()),
        Err(TransferSignError::NoSigner { .. })
    ));
}

// ----------- Presentation form, for the tools ----------------------------------------

/// A type as every tool reads it: LUA and ALIAS are private types.
fn type_text(rtype: RType) -> String {
    if rtype.is_stored_only() {
        format!("TYPE{}", rtype.0)
    } else {
        rtype.to_string()
    }
}

fn rdata_text(rtype: RType, rdata: &[u8]) -> String {
    match rtype {
        RType::RRSIG => {
            let sig = Rrsig::parse(rdata).unwrap();
            let shown = sig.to_string();
            let (_, rest) = shown.split_once(' ').unwrap();
            format!("{} {rest}", type_text(sig.type_covered))
        }
        RType::NSEC => {
            let (next, types) = nsec_fields(rdata);
            let types: Vec<String> = types.into_iter().map(type_text).collect();
            format!("{next} {}", types.join(" "))
        }
        _ if rtype.is_stored_only() => {
            format!("\\# {} {}", rdata.len(), HEXUPPER.encode(rdata))
        }
        _ => to_text(rtype, rdata).unwrap(),
    }
}

/// The copy as zone-file text, one record a line.
fn zone_text(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| {
            format!(
                "{} {} IN {} {}\n",
                r.owner,
                r.ttl,
                type_text(r.rtype),
                rdata_text(r.rtype, &r.rdata)
            )
        })
        .collect()
}

// ----------- Independent verifiers ---------------------------------------------------

/// Whether `name` (Debian `package`) runs; see the module doc.
fn tool(name: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        || Path::new("/usr/sbin").join(name).is_file();
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is not installed under CI: apt-get install {package}"
    );
    eprintln!("skipped: {name} not installed (Debian {package})");
    false
}

fn sbin(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.is_file() {
        sbin
    } else {
        PathBuf::from(name)
    }
}

/// A fresh folder under the system temp dir, removed on drop.
use crate::test_dir::TempDir;

/// Exit status and all output of `command`.
fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The verifiers that are installed, each as (tool, arguments before the
/// file) for zone `example.test`. `csk`: BIND needs `-z` when no key
/// signs only the zone data.
fn verifiers(csk: bool) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if tool("ldns-verify-zone", "ldnsutils") {
        out.push(("ldns-verify-zone".to_string(), Vec::new()));
    }
    if tool("dnssec-verify", "bind9-utils") {
        let mut args = vec!["-o".to_string(), "example.test".to_string()];
        if csk {
            args.push("-z".to_string());
        }
        out.push(("dnssec-verify".to_string(), args));
    }
    if tool("kzonecheck", "knot-dnssecutils") {
        out.push((
            "kzonecheck".to_string(),
            ["-o", "example.test", "-d", "on"]
                .map(String::from)
                .to_vec(),
        ));
    }
    out
}

fn verify(verifier: &(String, Vec<String>), file: &Path) -> (bool, String) {
    run(Command::new(&verifier.0).args(&verifier.1).arg(file))
}

#[test]
fn verifiers_accept_the_copy_and_refuse_a_damaged_one() {
    for (keys, csk) in [(split_keys(), false), (csk_keys(), true)] {
        let (_, records) = signed(&keys);
        let text = zone_text(&records);
        let dir = TempDir::new("verify");
        let good = dir.0.join("good.zone");
        std::fs::write(&good, &text).unwrap();

        // One NSEC gone: the chain is broken.
        let no_nsec: String = text
            .lines()
            .filter(|line| !line.starts_with("geo.example.test. 300 IN NSEC "))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_ne!(no_nsec, text);
        let broken_chain = dir.0.join("no-nsec.zone");
        std::fs::write(&broken_chain, no_nsec).unwrap();

        // One RRSIG with a flipped signature octet.
        let bad_sig: String = text
            .lines()
            .map(|line| {
                if line
                    .to_ascii_lowercase()
                    .starts_with("www.example.test. 3600 in rrsig a ")
                {
                    corrupt_signature(line)
                } else {
                    line.to_string()
                }
            })
            .map(|line| format!("{line}\n"))
            .collect();
        assert_ne!(bad_sig, text);
        let corrupted = dir.0.join("bad-sig.zone");
        std::fs::write(&corrupted, bad_sig).unwrap();

        for verifier in verifiers(csk) {
            let (ok, report) = verify(&verifier, &good);
            assert!(
                ok,
                "{} refused the copy:\n{report}\n--- zone ---\n{text}",
                verifier.0
            );
            if verifier.0 == "ldns-verify-zone" {
                assert!(report.contains("Zone is verified and complete"), "{report}");
            }
            let (ok, report) = verify(&verifier, &broken_chain);
            assert!(!ok, "{} accepted a broken chain:\n{report}", verifier.0);
            let (ok, report) = verify(&verifier, &corrupted);
            assert!(!ok, "{} accepted a bad signature:\n{report}", verifier.0);
        }
    }
}

/// `line` (an RRSIG in presentation form) with one signature octet changed.
fn corrupt_signature(line: &str) -> String {
    let (head, sig) = line.rsplit_once(' ').unwrap();
    let mut bytes = BASE64.decode(sig.as_bytes()).unwrap();
    bytes[10] ^= 0x01;
    format!("{head} {}", BASE64.encode(&bytes))
}

// ----------- Served by NSD, validated by delv ----------------------------------------

/// An NSD serving one zone file on loopback, stopped on drop.
struct Nsd {
    child: Child,
    port: u16,
}

impl Nsd {
    fn start(dir: &Path, zone_file: &Path) -> Nsd {
        let port = free_port();
        let conf = dir.join("nsd.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  \
                 chroot: \"\"\n  zonesdir: \"{d}\"\n  database: \"\"\n  pidfile: \"{d}/nsd.pid\"\n  \
                 xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  \
                 xfrdir: \"{d}\"\n  logfile: \"{d}/nsd.log\"\n  server-count: 1\n  \
                 verbosity: 1\nremote-control:\n  control-enable: no\n\
                 zone:\n  name: example.test\n  zonefile: \"{}\"\n",
                zone_file.display()
            ),
        )
        .unwrap();
        let child = Command::new(sbin("nsd"))
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nsd = Nsd { child, port };
        nsd.wait_ready(dir);
        nsd
    }

    /// Waits until the zone answers its SOA (NSD loads it after binding).
    fn wait_ready(&self, dir: &Path) {
        for _ in 0..100 {
            let (_, out) = run(Command::new("dig").args([
                "@127.0.0.1",
                "-p",
                &self.port.to_string(),
                "+short",
                "+tries=1",
                "+time=1",
                "example.test",
                "SOA",
            ]));
            if out.contains("hostmaster") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default();
        panic!("nsd did not serve example.test:\n{log}");
    }
}

impl Drop for Nsd {
    /// SIGTERM first: NSD then stops and reaps its own server and xfrd
    /// processes, which a SIGKILL to the main process would leave behind.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        if run(Command::new("kill").args(["-TERM", &pid])).0 {
            for _ in 0..50 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago, for UDP and TCP.
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn delv(port: u16, anchors: &Path, qname: &str, qtype: &str) -> String {
    let (_, out) = run(Command::new("delv")
        .args(["@127.0.0.1", "-p", &port.to_string(), "-a"])
        .arg(anchors)
        .args(["+root=example.test", qname, qtype]));
    out
}

#[test]
fn nsd_serves_the_copy_and_delv_validates_it() {
    if !tool("nsd", "nsd") || !tool("delv", "bind9-dnsutils") || !tool("dig", "bind9-dnsutils") {
        return;
    }
    for keys in [split_keys(), csk_keys()] {
        let (_, records) = signed(&keys);
        let dir = TempDir::new("nsd");
        let file = dir.0.join("example.test.zone");
        std::fs::write(&file, zone_text(&records)).unwrap();
        let ksk = keys.sep_keys().next().unwrap();
        let ds = ksk.ds_text(DigestType::Sha256);
        let fields: Vec<&str> = ds.split_whitespace().collect();
        let anchors = dir.0.join("anchors.conf");
        std::fs::write(
            &anchors,
            format!(
                "trust-anchors {{ example.test. static-ds {} {} {} \"{}\"; }};\n",
                fields[0], fields[1], fields[2], fields[3]
            ),
        )
        .unwrap();
        let nsd = Nsd::start(&dir.0, &file);

        let cases = [
            ("www.example.test", "A", "; fully validated"),
            (
                "www.example.test",
                "TXT",
                "; negative response, fully validated",
            ),
            (
                "nope.example.test",
                "A",
                "; negative response, fully validated",
            ),
            (
                "b.c.example.test",
                "A",
                "; negative response, fully validated",
            ),
            ("x.wild.example.test", "TXT", "; fully validated"),
            (
                "x.wild.example.test",
                "A",
                "; negative response, fully validated",
            ),
            ("alias.example.test", "A", "; fully validated"),
            ("secure.example.test", "DS", "; fully validated"),
            ("dname.example.test", "DNAME", "; fully validated"),
            (
                "self.example.test",
                "DS",
                "; negative response, fully validated",
            ),
            (
                "insecure.example.test",
                "DS",
                "; negative response, fully validated",
            ),
            (
                "zzz.example.test",
                "A",
                "; negative response, fully validated",
            ),
        ];
        for (qname, qtype, expected) in cases {
            let out = delv(nsd.port, &anchors, qname, qtype);
            assert!(out.contains(expected), "{qname} {qtype}: {out}");
        }
        // The check has teeth: a DS of another key fails validation.
        let other = SigningKey::generate(&origin(), Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
        let wrong = other.ds_text(DigestType::Sha256);
        let fields: Vec<&str> = wrong.split_whitespace().collect();
        std::fs::write(
            &anchors,
            format!(
                "trust-anchors {{ example.test. static-ds {} {} {} \"{}\"; }};\n",
                fields[0], fields[1], fields[2], fields[3]
            ),
        )
        .unwrap();
        let out = delv(nsd.port, &anchors, "www.example.test", "A");
        assert!(
            !out.contains("fully validated"),
            "validated with a wrong DS: {out}"
        );
    }
}

/// An unbound validating resolver with aggressive NSEC use (RFC 8198),
/// its only trust anchor the zone's DS and its only upstream the NSD on
/// loopback; stopped on drop.
struct Unbound {
    child: Child,
    port: u16,
}

impl Unbound {
    fn start(dir: &Path, upstream: u16, ds: &str) -> Unbound {
        let port = free_port();
        let d = dir.display();
        let conf = dir.join("unbound.conf");
        std::fs::write(
            &conf,
            format!(
                "server:\n  interface: 127.0.0.1\n  port: {port}\n  username: \"\"\n  \
                 chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
                 use-syslog: no\n  logfile: \"{d}/unbound.log\"\n  verbosity: 1\n  \
                 val-log-level: 2\n  access-control: 127.0.0.0/8 allow\n  \
                 do-not-query-localhost: no\n  module-config: \"validator iterator\"\n  \
                 local-zone: \"test.\" nodefault\n  aggressive-nsec: yes\n  \
                 qname-minimisation: no\n  trust-anchor-signaling: no\n  \
                 trust-anchor: \"example.test. DS {ds}\"\n\
                 stub-zone:\n  name: \"example.test.\"\n  stub-addr: 127.0.0.1@{upstream}\n\
                 forward-zone:\n  name: \".\"\n  forward-addr: 127.0.0.1@9\n\
                 remote-control:\n  control-enable: no\n"
            ),
        )
        .unwrap();
        let (ok, report) = run(Command::new(sbin("unbound-checkconf")).arg(&conf));
        assert!(ok, "unbound-checkconf: {report}");
        let child = Command::new(sbin("unbound"))
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let unbound = Unbound { child, port };
        for _ in 0..100 {
            if unbound.ask("example.test", "SOA").contains("status: ") {
                return unbound;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(dir.join("unbound.log")).unwrap_or_default();
        panic!("unbound did not answer:\n{log}");
    }

    /// `dig +dnssec` through the resolver: the whole output.
    fn ask(&self, qname: &str, qtype: &str) -> String {
        run(Command::new("dig").args([
            "@127.0.0.1",
            "-p",
            &self.port.to_string(),
            "+dnssec",
            "+tries=1",
            "+time=2",
            qname,
            qtype,
        ]))
        .1
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when dig's header shows `status` and the AD flag.
fn validated(dig: &str, status: &str) -> bool {
    let flags = dig
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .unwrap_or("");
    dig.contains(&format!("status: {status}"))
        && flags.split(';').nth(2).unwrap_or("").contains(" ad")
}

#[test]
fn unbound_with_aggressive_nsec_still_finds_every_name() {
    if !tool("nsd", "nsd") || !tool("unbound", "unbound") || !tool("dig", "bind9-dnsutils") {
        return;
    }
    let keys = split_keys();
    let (_, records) = signed(&keys);
    let dir = TempDir::new("unbound");
    let file = dir.0.join("example.test.zone");
    std::fs::write(&file, zone_text(&records)).unwrap();
    let ds = keys.sep_keys().next().unwrap().ds_text(DigestType::Sha256);
    let nsd = Nsd::start(&dir.0, &file);
    let unbound = Unbound::start(&dir.0, nsd.port, &ds);
    // Denials first, so their NSECs are cached, then the names around
    // them: an NSEC wider than its gap would turn these into NXDOMAIN.
    for (qname, qtype, status) in [
        ("nope.example.test", "A", "NXDOMAIN"),
        ("b.c.example.test", "A", "NOERROR"),
        ("zzz.example.test", "A", "NXDOMAIN"),
        ("aaa.example.test", "A", "NXDOMAIN"),
        ("mail.example.test", "A", "NOERROR"),
        ("ns1.example.test", "A", "NOERROR"),
        ("a.b.c.example.test", "A", "NOERROR"),
        ("www.example.test", "AAAA", "NOERROR"),
        ("alias.example.test", "CNAME", "NOERROR"),
        ("y.wild.example.test", "TXT", "NOERROR"),
    ] {
        let out = unbound.ask(qname, qtype);
        assert!(
            validated(&out, status),
            "{qname} {qtype}: want {status} with AD:\n{out}"
        );
    }
    // Positive answers carry data, not only a status.
    assert!(unbound.ask("ns1.example.test", "A").contains("192.0.2.53"));
    drop(unbound);
    // The check has teeth: trusting another key's DS, nothing validates.
    let other = SigningKey::generate(&origin(), Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    let wrong = Unbound::start(&dir.0, nsd.port, &other.ds_text(DigestType::Sha256));
    let out = wrong.ask("ns1.example.test", "A");
    assert!(out.contains("status: SERVFAIL"), "{out}");
}
