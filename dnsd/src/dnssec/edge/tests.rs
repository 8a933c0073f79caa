use super::*;
use crate::dnssec::keys::{Algorithm, FLAGS_KSK, FLAGS_ZSK, KeyTiming};

const NOW: u64 = 1_700_000_000;
const DELAY: u64 = 60;

fn zone() -> Name {
    Name::from_text("edge.test.", None).unwrap()
}

fn key(flags: u16) -> Arc<SigningKey> {
    Arc::new(SigningKey::generate(&zone(), Algorithm::EcdsaP256Sha256, flags).unwrap())
}

fn held(key: &Arc<SigningKey>, published_since: Option<u64>, primary_active: bool) -> HeldKey {
    HeldKey {
        key: Arc::clone(key),
        published_since,
        primary_active,
    }
}

/// (tag, published, active) of every key the decision holds.
fn states(decision: &Decision) -> Vec<(u16, bool, bool)> {
    decision
        .keys
        .as_ref()
        .map(|keys| {
            keys.keys()
                .iter()
                .map(|k| (k.key.tag(), k.state.published, k.state.active))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_first_key_signs_at_once() {
    let csk = key(FLAGS_KSK);
    let decision = decide(&zone(), &[held(&csk, Some(NOW), true)], &[], NOW, DELAY);
    assert_eq!(states(&decision), vec![(csk.tag(), true, true)]);
    assert_eq!(decision.next_check, None, "nothing held back");
}

#[test]
fn a_new_key_is_published_first_and_signs_after_the_delay() {
    let old = key(FLAGS_KSK);
    let new = key(FLAGS_KSK);
    let held = [
        held(&old, Some(NOW - 3600), true),
        held(&new, Some(NOW), true),
    ];
    let decision = decide(&zone(), &held, &[], NOW, DELAY);
    assert_eq!(
        states(&decision),
        vec![(old.tag(), true, true), (new.tag(), true, false)]
    );
    assert_eq!(decision.next_check, Some(NOW + DELAY + 1));

    let later = decide(&zone(), &held, &[], NOW + DELAY, DELAY);
    assert_eq!(later.next_check, Some(NOW + DELAY + 1), "one second short");
    let later = decide(&zone(), &held, &[], NOW + DELAY + 1, DELAY);
    assert_eq!(
        states(&later),
        vec![(old.tag(), true, true), (new.tag(), true, true)]
    );
    assert_eq!(later.next_check, None);
}

#[test]
fn a_key_not_in_the_served_copy_never_signs() {
    let old = key(FLAGS_KSK);
    let unseen = key(FLAGS_KSK);
    let held = [
        held(&old, Some(NOW - 3600), true),
        held(&unseen, None, true),
    ];
    let decision = decide(&zone(), &held, &[], NOW + 86_400, DELAY);
    assert_eq!(
        states(&decision),
        vec![(old.tag(), true, true), (unseen.tag(), false, false)]
    );
    assert_eq!(decision.next_check, None, "nothing to wait for");
}

#[test]
fn a_key_the_primary_deactivated_stops_signing() {
    let old = key(FLAGS_KSK);
    let new = key(FLAGS_KSK);
    // The new key waits while the old one signs...
    let both = [
        held(&old, Some(NOW - 3600), true),
        held(&new, Some(NOW), true),
    ];
    assert_eq!(
        decide(&zone(), &both, &[], NOW, DELAY).next_check,
        Some(NOW + DELAY + 1)
    );
    // ...but once the old one is withdrawn, nothing else can sign: the new
    // key signs at once rather than leaving answers unsigned.
    let withdrawn = [
        held(&old, Some(NOW - 3600), false),
        held(&new, Some(NOW), true),
    ];
    let decision = decide(&zone(), &withdrawn, &[], NOW, DELAY);
    assert_eq!(
        states(&decision),
        vec![(old.tag(), true, false), (new.tag(), true, true)]
    );
}

#[test]
fn a_zsk_rollover_waits_while_ksk_and_old_zsk_sign() {
    let ksk = key(FLAGS_KSK);
    let zsk = key(FLAGS_ZSK);
    let next = key(FLAGS_ZSK);
    let held = [
        held(&ksk, Some(NOW - 3600), true),
        held(&zsk, Some(NOW - 3600), true),
        held(&next, Some(NOW - 10), true),
    ];
    let decision = decide(&zone(), &held, &[], NOW, DELAY);
    let keys = decision.keys.as_ref().unwrap();
    let zone_data: Vec<u16> = keys.signers(RType::SOA).map(|k| k.tag()).collect();
    assert_eq!(zone_data, vec![zsk.tag()], "only the old ZSK signs data");
    let dnskey: Vec<u16> = keys.signers(RType::DNSKEY).map(|k| k.tag()).collect();
    assert_eq!(dnskey, vec![ksk.tag()]);
    assert_eq!(decision.next_check, Some(NOW - 10 + DELAY + 1));
}

#[test]
fn no_signing_key_means_served_as_received() {
    let inactive = key(FLAGS_KSK);
    let decision = decide(
        &zone(),
        &[held(&inactive, Some(NOW), false)],
        &[],
        NOW,
        DELAY,
    );
    assert!(decision.keys.is_none());
    assert!(decide(&zone(), &[], &[], NOW, DELAY).keys.is_none());
}

/// A fresh folder under the system temp dir, removed on drop.
use crate::test_dir::TempDir;

#[test]
fn first_seen_times_are_kept_at_rest() {
    let dir = TempDir::new("edge");
    let store = KeyStore::new(&dir.0);
    let zone = zone();
    // Imported as the sync does: active on the primary, not yet seen here.
    let not_seen = KeyTiming {
        created: Some(NOW),
        delete: Some(NOW),
        ..KeyTiming::default()
    };
    let old = store
        .add(
            &zone,
            SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap(),
            not_seen,
        )
        .unwrap();
    let old_rdata: Box<[u8]> = old.key.dnskey_rdata().into();
    let decision = decide_stored(
        &store,
        &zone,
        std::slice::from_ref(&old_rdata),
        &[],
        NOW,
        DELAY,
    )
    .unwrap();
    assert_eq!(
        states(&decision),
        vec![(old.key.tag(), true, true)],
        "first key"
    );

    let new = store
        .add(
            &zone,
            SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap(),
            not_seen,
        )
        .unwrap();
    let new_rdata: Box<[u8]> = new.key.dnskey_rdata().into();
    let both = [old_rdata.clone(), new_rdata.clone()];
    let seen_at = NOW + 100;
    let decision = decide_stored(&store, &zone, &both, &[], seen_at, DELAY).unwrap();
    assert_eq!(decision.next_check, Some(seen_at + DELAY + 1));
    // A restart later: the first-seen time comes from the files.
    let decision = decide_stored(&store, &zone, &both, &[], seen_at + 30, DELAY).unwrap();
    assert_eq!(decision.next_check, Some(seen_at + DELAY + 1), "not reset");
    let decision = decide_stored(&store, &zone, &both, &[], seen_at + DELAY + 1, DELAY).unwrap();
    assert!(states(&decision).iter().all(|&(_, p, a)| p && a));
    // Gone from the copy: neither published nor signing; seen again later,
    // it waits the full delay again.
    let decision = decide_stored(
        &store,
        &zone,
        std::slice::from_ref(&old_rdata),
        &[],
        seen_at + 200,
        DELAY,
    )
    .unwrap();
    assert!(states(&decision).contains(&(new.key.tag(), false, false)));
    let back = seen_at + 300;
    let decision = decide_stored(&store, &zone, &both, &[], back, DELAY).unwrap();
    assert_eq!(decision.next_check, Some(back + DELAY + 1));
}

#[test]
fn a_key_that_signs_already_does_not_wait_again() {
    // The first key signed at once (nothing else could); a second key
    // arrives before the first one's delay has passed: the first keeps
    // signing, the second waits.
    let first = key(FLAGS_KSK);
    let second = key(FLAGS_KSK);
    let held = [
        held(&first, Some(NOW - 1), true),
        held(&second, Some(NOW), true),
    ];
    let signing: Vec<Box<[u8]>> = vec![first.dnskey_rdata().into()];
    let decision = decide(&zone(), &held, &signing, NOW, DELAY);
    assert_eq!(
        states(&decision),
        vec![(first.tag(), true, true), (second.tag(), true, false)]
    );
    assert_eq!(decision.next_check, Some(NOW + DELAY + 1));
    // Without knowing what signs now (a restart), both sign: nothing else could.
    let decision = decide(&zone(), &held, &[], NOW, DELAY);
    assert!(states(&decision).iter().all(|&(_, _, active)| active));
}
