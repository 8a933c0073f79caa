use super::*;

fn listed(id: u16, active: bool, dnskey: &str) -> ListedKey {
    ListedKey {
        id,
        active,
        published: true,
        dnskey: dnskey.into(),
    }
}

fn held(tag: u16, primary_active: bool, dnskey: &str) -> Held {
    Held {
        algorithm: Algorithm::EcdsaP256Sha256,
        tag,
        dnskey: dnskey.into(),
        primary_active,
    }
}

#[test]
fn nothing_to_do_when_in_line() {
    let plan = plan(
        &[listed(1, true, "257 3 13 AAAA")],
        &[held(1, true, "257 3 13 AAAA")],
    );
    assert_eq!(plan, Plan::default());
}

#[test]
fn new_keys_are_fetched_withdrawn_ones_deleted_changed_ones_updated() {
    let plan = plan(
        &[
            listed(1, false, "257 3 13 AAAA"),
            listed(3, true, "257 3 13 CCCC"),
        ],
        &[
            held(1, true, "257 3 13 AAAA"),
            held(2, true, "257 3 13 BBBB"),
        ],
    );
    assert_eq!(plan.import, vec![3]);
    assert_eq!(plan.remove, vec![(Algorithm::EcdsaP256Sha256, 2)]);
    assert_eq!(
        plan.set_active,
        vec![(Algorithm::EcdsaP256Sha256, 1, false)]
    );
}

#[test]
fn keys_are_matched_by_dnskey_not_tag() {
    // Same tag, another key: the held one goes, the listed one comes.
    let plan = plan(
        &[listed(7, true, "257 3 13 NEWKEY")],
        &[held(7, true, "257 3 13 OLDKEY")],
    );
    assert_eq!(plan.import, vec![7]);
    assert_eq!(plan.remove, vec![(Algorithm::EcdsaP256Sha256, 7)]);
    // White space inside the base64 does not make another key.
    assert!(same_dnskey("257 3 13 AB CD", "257  3 13 ABCD"));
    assert!(!same_dnskey("256 3 13 ABCD", "257 3 13 ABCD"));
}

#[test]
fn an_empty_list_removes_every_held_key() {
    let plan = plan(&[], &[held(1, true, "257 3 13 AAAA")]);
    assert_eq!(plan.remove.len(), 1);
    assert!(plan.import.is_empty());
}

fn record(owner: &str, rtype: RType, rdata: &[u8]) -> Record {
    Record {
        owner: Name::from_text(owner, None).unwrap(),
        rtype,
        class: 1,
        ttl: 3600,
        rdata: rdata.into(),
        location: None,
    }
}

#[test]
fn the_dnskeys_a_copy_will_publish() {
    let origin = Name::from_text("edge.test.", None).unwrap();
    let records = vec![
        record("EDGE.test.", RType::DNSKEY, b"k1"),
        record("edge.test.", RType::DNSKEY, b"k2"),
        record("sub.edge.test.", RType::DNSKEY, b"not-apex"),
        record("edge.test.", RType::CDNSKEY, b"k1"),
    ];
    let keys = dnskeys_in(&origin, &records);
    assert_eq!(keys, vec![Box::from(&b"k1"[..]), Box::from(&b"k2"[..])]);

    let soa = record("edge.test.", RType::SOA, b"soa");
    let diff = Diff {
        old_soa: soa.clone(),
        deleted: vec![record("edge.test.", RType::DNSKEY, b"k1")],
        new_soa: soa,
        added: vec![record("edge.test.", RType::DNSKEY, b"k3")],
    };
    // No copy yet: only what the diffs add.
    assert_eq!(
        dnskeys_after(&origin, None, std::slice::from_ref(&diff)),
        vec![Box::from(&b"k3"[..])]
    );
}

#[test]
fn imported_keys_wait_to_be_seen_in_a_copy() {
    let timing = imported_timing(true, 1000);
    let state = timing.state_at(1000);
    assert!(
        !state.published,
        "published only once seen in a served copy"
    );
    assert!(state.active, "as the primary says");
    assert!(!imported_timing(false, 1000).state_at(2000).active);
}
