//! Independent checks with NLnet Labs' ldns tools (Debian `ldnsutils`):
//! a tiny zone signed by this module, printed as text, must pass
//! `ldns-verify-zone`, and `ldns-key2ds` must compute the same DS from our
//! `.key` file. Skipped (with a note) when the tools are not installed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::denial::{TypeBitmap, nsec_rdata};
use super::keys::{Algorithm, DigestType, FLAGS_KSK, FLAGS_ZSK, KeyState, SigningKey};
use super::sign::{Rrsig, Scratch, SigPolicy};
use super::store::ZoneKeys;
use super::{SigCache, rrsigs};
use crate::wire::rdata::{parse_str, to_text};
use crate::wire::{Name, RType};

/// Whether the external tool `name` (from Debian package `package`) can
/// run. Missing, the test is skipped with a note on a developer's machine,
/// but fails under CI (`CI` set), which installs it: a check that silently
/// stopped running would look like a pass.
fn tool(name: &str, package: &str) -> bool {
    if Command::new(name).arg("-v").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is not installed under CI: apt-get install {package} (.ci/run does this)"
    );
    eprintln!("skipped: {name} not installed (Debian {package})");
    false
}

fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dnsd-ldns-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// TTL and RDATAs of one RRset.
type RrsetData = (u32, Vec<Vec<u8>>);

/// `(owner, type, TTL, RDATA in presentation form)` of the test zone.
const ZONE: &[(&str, &str, u32, &str)] = &[
    (
        "Example.TEST.",
        "SOA",
        3600,
        "ns1.example.test. Host.Example.test. 1 7200 3600 1209600 300",
    ),
    ("example.test.", "NS", 3600, "NS1.example.test."),
    ("example.test.", "MX", 3600, "10 Mail.Example.TEST."),
    ("example.test.", "MX", 3600, "5 backup.example.test."),
    ("*.example.test.", "TXT", 300, "\"wild\""),
    ("a.example.test.", "A", 300, "192.0.2.10"),
    ("ns1.example.test.", "A", 3600, "192.0.2.53"),
    ("WWW.example.test.", "A", 300, "192.0.2.1"),
    ("www.example.test.", "A", 300, "192.0.2.2"),
    ("www.example.test.", "AAAA", 300, "2001:db8::1"),
    (
        "www.example.test.",
        "SRV",
        300,
        "0 5 80 Target.Example.test.",
    ),
];

/// Signs ZONE (with a full NSEC chain, as an AXFR would carry) and
/// returns it as zone-file text.
fn signed_zone_text(keys: &ZoneKeys) -> String {
    let zone = keys.zone().clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cache = SigCache::new(1 << 20, 4);
    let policy = SigPolicy::default();
    let mut scratch = Scratch::new();

    // RRsets by (owner, type), in canonical owner order.
    let mut sets: BTreeMap<(Name, u16), RrsetData> = BTreeMap::new();
    for &(owner, rtype, ttl, text) in ZONE {
        let rtype = RType::from_text(rtype).unwrap();
        let rdata = parse_str(rtype, text, &zone).unwrap();
        let entry = sets
            .entry((Name::from_text(owner, None).unwrap(), rtype.0))
            .or_insert((ttl, Vec::new()));
        entry.1.push(rdata);
    }
    let dnskeys: Vec<Vec<u8>> = keys.dnskey_rdatas().map(<[u8]>::to_vec).collect();
    sets.insert((zone.clone(), RType::DNSKEY.0), (3600, dnskeys));

    // NSEC chain over the owners, in canonical order.
    let owners: Vec<Name> = {
        let mut o: Vec<Name> = sets.keys().map(|(n, _)| n.clone()).collect();
        o.dedup();
        o
    };
    for (i, owner) in owners.iter().enumerate() {
        let next = &owners[(i + 1) % owners.len()];
        let mut types = TypeBitmap::from_types(
            sets.keys()
                .filter(|(n, _)| n == owner)
                .map(|&(_, t)| RType(t)),
        );
        types.insert(RType::RRSIG);
        types.insert(RType::NSEC);
        let mut rdata = Vec::new();
        nsec_rdata(next.as_wire(), &types, &mut rdata);
        sets.insert((owner.clone(), RType::NSEC.0), (300, vec![rdata]));
    }

    let mut text = String::new();
    for ((owner, rtype), (ttl, rdatas)) in &sets {
        let rtype = RType(*rtype);
        for rdata in rdatas {
            let shown = if rtype == RType::NSEC {
                nsec_text(rdata)
            } else {
                to_text(rtype, rdata).unwrap()
            };
            text.push_str(&format!("{owner} {ttl} IN {rtype} {shown}\n"));
        }
        let mut sigs = Vec::new();
        rrsigs(
            keys,
            &cache,
            owner.as_wire(),
            rtype,
            1,
            *ttl,
            rdatas.iter().map(Vec::as_slice),
            now,
            &policy,
            &mut scratch,
            &mut sigs,
        )
        .unwrap();
        assert!(!sigs.is_empty(), "{owner} {rtype} unsigned");
        for sig in sigs {
            let shown = Rrsig::parse(&sig).unwrap();
            text.push_str(&format!("{owner} {ttl} IN RRSIG {shown}\n"));
        }
    }
    text
}

fn nsec_text(rdata: &[u8]) -> String {
    let len = crate::wire::name::wire_name_len(rdata).unwrap();
    let next = Name::from_wire(&rdata[..len]).unwrap();
    let types: Vec<String> = TypeBitmap::decode(&rdata[len..])
        .unwrap()
        .types()
        .map(|t| t.to_string())
        .collect();
    format!("{next} {}", types.join(" "))
}

fn verify_with_ldns(dir: &Path, text: &str) {
    let file = dir.join("zone.txt");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("ldns-verify-zone")
        .arg(&file)
        .output()
        .unwrap();
    let report = format!(
        "{}{}\n--- zone ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ldns-verify-zone failed:\n{report}");
    assert!(report.contains("Zone is verified and complete"), "{report}");
}

#[test]
fn ldns_verifies_a_zone_we_signed() {
    if !tool("ldns-verify-zone", "ldnsutils") {
        return;
    }
    let zone = Name::from_text("example.test.", None).unwrap();
    let dir = scratch_dir("verify");
    let on = KeyState {
        published: true,
        active: true,
    };
    // One ECDSA CSK.
    let csk = Arc::new(SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap());
    let keys = ZoneKeys::new(&zone, vec![(csk, on)]);
    verify_with_ldns(&dir, &signed_zone_text(&keys));
    // An Ed25519 KSK/ZSK split.
    let ksk = Arc::new(SigningKey::generate(&zone, Algorithm::Ed25519, FLAGS_KSK).unwrap());
    let zsk = Arc::new(SigningKey::generate(&zone, Algorithm::Ed25519, FLAGS_ZSK).unwrap());
    let keys = ZoneKeys::new(&zone, vec![(ksk, on), (zsk, on)]);
    let text = signed_zone_text(&keys);
    // The DNSKEY RRset carries only the KSK's signature.
    assert_eq!(text.matches("IN RRSIG DNSKEY").count(), 1);
    verify_with_ldns(&dir, &text);
    // A tampered record fails, so the check has teeth.
    let bad = text.replace("192.0.2.10", "192.0.2.11");
    std::fs::write(dir.join("bad.txt"), &bad).unwrap();
    let out = Command::new("ldns-verify-zone")
        .arg(dir.join("bad.txt"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a tampered zone verified");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ldns_key2ds_agrees_on_the_ds() {
    if !tool("ldns-key2ds", "ldnsutils") {
        return;
    }
    let zone = Name::from_text("example.test.", None).unwrap();
    let dir = scratch_dir("key2ds");
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = SigningKey::generate(&zone, alg, FLAGS_KSK).unwrap();
        let file = dir.join("K.key");
        std::fs::write(&file, key.to_bind_key()).unwrap();
        for (flag, digest) in [("-2", DigestType::Sha256), ("-4", DigestType::Sha384)] {
            let out = Command::new("ldns-key2ds")
                .args(["-n", flag])
                .arg(&file)
                .output()
                .unwrap();
            let printed = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
            let ours = key.ds_text(digest);
            let squashed: String = printed.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                squashed.contains(&ours),
                "{alg} {flag}: ldns printed {printed:?}, we {ours}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
