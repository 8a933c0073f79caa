//! Diffs against the zones they come from: applying `diff_zones(old, new)`
//! to the old records gives the new records, and to the old zone gives a
//! zone equal to a full build of the new one.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use proptest::prelude::*;

use super::*;
use crate::zone::build_zone;

const ORIGIN: &str = "example.test.";

fn origin() -> Name {
    Name::from_text(ORIGIN, None).unwrap()
}

fn name(text: &str) -> Name {
    if text == "@" {
        return origin();
    }
    Name::from_text(text, Some(&origin())).unwrap()
}

fn key(text: &str) -> Box<[u8]> {
    name(text).to_lowercase().as_wire().into()
}

fn wire(rtype: RType, text: &str) -> Box<[u8]> {
    rdata::parse_str(rtype, text, &origin())
        .unwrap()
        .into_boxed_slice()
}

fn rec(owner: &str, rtype: RType, ttl: u32, text: &str) -> Record {
    Record {
        owner: name(owner),
        rtype,
        class: 1,
        ttl,
        rdata: wire(rtype, text),
        location: None,
    }
}

fn soa(serial: u32) -> Record {
    let text = format!("ns1 hostmaster {serial} 3600 600 86400 300");
    rec("@", RType::SOA, 3600, &text)
}

fn zone_of(records: Vec<Record>) -> Zone {
    build_zone(&origin(), records).unwrap()
}

/// A record as a comparable tuple.
type SetItem = (Vec<u8>, RType, Box<[u8]>, u32);

/// Records as comparable tuples, sorted: owner's canonical key, type,
/// RDATA, TTL.
fn as_set(records: &[Record]) -> Vec<SetItem> {
    let mut out: Vec<_> = records
        .iter()
        .map(|r| {
            let key = canonical_key(r.owner.to_lowercase().as_wire());
            (key, r.rtype, r.rdata.clone(), r.ttl)
        })
        .collect();
    out.sort();
    out
}

/// Panics with the first difference between two zones.
fn assert_same_zone(got: &Zone, want: &Zone) {
    let keys = |zone: &Zone| {
        let mut keys: Vec<Box<[u8]>> = zone.nodes.keys().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(got), keys(want), "node names");
    for want_node in want.nodes() {
        let got_node = &got.nodes[want_node.name.as_wire()];
        let at = want_node.name.to_string();
        let sets = |node: &Node| {
            let mut sets: Vec<_> = node
                .rrsets
                .iter()
                .map(|s| {
                    let mut rdatas = s.rdatas.to_vec();
                    rdatas.sort();
                    (s.rtype, s.ttl, rdatas)
                })
                .collect();
            sets.sort_by_key(|s| s.0);
            sets
        };
        assert_eq!(sets(got_node), sets(want_node), "{at}: rrsets");
        assert_eq!(got_node.name, want_node.name, "{at}: name");
        assert_eq!(
            got_node.is_delegation, want_node.is_delegation,
            "{at}: delegation"
        );
        assert_eq!(
            got_node.is_occluded, want_node.is_occluded,
            "{at}: occluded"
        );
        assert_eq!(got_node.is_dname, want_node.is_dname, "{at}: dname");
        assert_eq!(
            got_node.has_wildcard_child, want_node.has_wildcard_child,
            "{at}: wildcard child"
        );
        assert_eq!(got_node.lua.len(), want_node.lua.len(), "{at}: lua");
        assert_eq!(
            got_node.records_loaded, want_node.records_loaded,
            "{at}: records"
        );
    }
    assert_eq!(got.serial, want.serial, "serial");
    assert_eq!(got.negative_ttl, want.negative_ttl, "negative ttl");
    assert_eq!(got.record_count, want.record_count, "record count");
}

fn base() -> Vec<Record> {
    vec![
        soa(10),
        rec("@", RType::NS, 3600, "ns1"),
        rec("ns1", RType::A, 3600, "192.0.2.53"),
        rec("www", RType::A, 300, "192.0.2.1"),
        rec("www", RType::A, 300, "192.0.2.2"),
        rec("mail", RType::MX, 300, "10 mx.other.test."),
    ]
}

fn with(mut records: Vec<Record>, serial: u32, extra: Vec<Record>) -> Vec<Record> {
    records.retain(|r| r.rtype != RType::SOA);
    records.insert(0, soa(serial));
    records.extend(extra);
    records
}

#[test]
fn one_record_replaced() {
    let old = zone_of(base());
    let mut records = with(base(), 11, vec![rec("www", RType::A, 300, "192.0.2.3")]);
    records.retain(|r| r.rdata[..] != wire(RType::A, "192.0.2.1")[..]);
    let new = zone_of(records);

    let diff = diff_zones(&old, &new, None);
    assert_eq!((diff.old_serial(), diff.new_serial()), (10, 11));
    assert_eq!(diff.deleted, vec![rec("www", RType::A, 300, "192.0.2.1")]);
    assert_eq!(diff.added, vec![rec("www", RType::A, 300, "192.0.2.3")]);
    assert_eq!(diff.old_soa, soa(10));
    assert_eq!(diff.new_soa, soa(11));
    assert!(!diff.is_empty());
}

#[test]
fn a_ttl_change_replaces_the_whole_rrset() {
    let old = zone_of(base());
    let mut records = with(base(), 11, vec![]);
    for r in &mut records {
        if r.rtype == RType::A && r.owner == name("www") {
            r.ttl = 60;
        }
    }
    let new = zone_of(records);
    let diff = diff_zones(&old, &new, None);
    assert_eq!(
        diff.deleted,
        vec![
            rec("www", RType::A, 300, "192.0.2.1"),
            rec("www", RType::A, 300, "192.0.2.2"),
        ]
    );
    assert_eq!(
        diff.added,
        vec![
            rec("www", RType::A, 60, "192.0.2.1"),
            rec("www", RType::A, 60, "192.0.2.2"),
        ]
    );
}

#[test]
fn only_the_soa_changed() {
    let old = zone_of(base());
    let new = zone_of(with(base(), 11, vec![]));
    let diff = diff_zones(&old, &new, None);
    assert!(diff.is_empty());
    assert_eq!(diff.new_serial(), 11);
}

#[test]
fn lua_records_are_in_the_diff_as_type_65402() {
    let old = zone_of(base());
    let lua = rec("geo", RType::LUA, 60, "A \"pickrandom({'192.0.2.1'})\"");
    let new = zone_of(with(base(), 11, vec![lua.clone()]));
    assert_eq!(new.node(&key("geo")).unwrap().lua.len(), 1, "compiled too");
    let diff = diff_zones(&old, &new, None);
    assert_eq!(diff.added, vec![lua]);
    assert_eq!(diff.added[0].rtype.0, 65402);
    assert!(zone_records(&new).iter().any(|r| r.rtype.0 == 65402));
}

#[test]
fn case_inside_rdata_is_a_change() {
    let old = zone_of(with(
        base(),
        10,
        vec![rec("sub", RType::NS, 300, "ns.other.test.")],
    ));
    let new = zone_of(with(
        base(),
        11,
        vec![rec("sub", RType::NS, 300, "NS.Other.test.")],
    ));
    let diff = diff_zones(&old, &new, None);
    assert_eq!(diff.deleted.len(), 1);
    assert_eq!(diff.added.len(), 1);
    let applied = apply(zone_records(&old), &[diff]).unwrap();
    assert_eq!(as_set(&applied), as_set(&zone_records(&new)));
}

#[test]
fn names_limit_what_is_compared() {
    let old = zone_of(base());
    let new = zone_of(with(
        base(),
        11,
        vec![
            rec("www", RType::TXT, 300, "\"w\""),
            rec("mail", RType::TXT, 300, "\"m\""),
        ],
    ));
    let diff = diff_zones(&old, &new, Some(&[key("www")]));
    assert_eq!(diff.added, vec![rec("www", RType::TXT, 300, "\"w\"")]);
    // Upper case in the given name is forgiven.
    let upper: Box<[u8]> = name("WWW").as_wire().into();
    assert_eq!(diff_zones(&old, &new, Some(&[upper])).added.len(), 1);
    assert_eq!(diff_zones(&old, &new, None).added.len(), 2);
}

#[test]
fn shared_nodes_are_not_looked_at() {
    let old = zone_of(base());
    let same = update_zone(&old, Vec::new(), &NoneBelow).unwrap();
    assert!(Arc::ptr_eq(
        &old.nodes[&key("www")[..]],
        &same.nodes[&key("www")[..]]
    ));
    assert!(diff_zones(&old, &same, None).is_empty());
}

struct NoneBelow;
impl NamesBelow for NoneBelow {
    fn any_below(&self, _: &Name) -> bool {
        false
    }
    fn for_each_below(&self, _: &Name, _: &mut dyn FnMut(&Name)) {}
}

#[test]
fn names_and_records_come_in_canonical_order() {
    // RFC 4034 §6.1's example, below our origin, given in a shuffled order.
    let owners = [
        "z",
        "\\001.z",
        "a",
        "*.z",
        "zABC.a",
        "yljkjljk.a",
        "Z.a",
        "@",
    ];
    let mut records = vec![soa(1)];
    for owner in owners {
        records.push(rec(owner, RType::TXT, 300, "\"t\""));
        records.push(rec(owner, RType::A, 300, "192.0.2.1"));
    }
    let zone = zone_of(records);
    let listed = zone_records(&zone);
    assert_eq!(listed[0].rtype, RType::SOA);
    assert_eq!(listed.iter().filter(|r| r.rtype == RType::SOA).count(), 1);
    let order: Vec<(Name, RType)> = listed[1..]
        .iter()
        .map(|r| (r.owner.clone(), r.rtype))
        .collect();
    let want_owners = [
        "@",
        "a",
        "yljkjljk.a",
        "Z.a",
        "zABC.a",
        "z",
        "\\001.z",
        "*.z",
    ];
    let want: Vec<(Name, RType)> = want_owners
        .iter()
        .flat_map(|o| [(name(o), RType::A), (name(o), RType::TXT)])
        .collect();
    assert_eq!(order, want);

    let empty = zone_of(vec![soa(1)]);
    let diff = diff_zones(&empty, &zone, None);
    let added: Vec<(Name, RType)> = diff
        .added
        .iter()
        .map(|r| (r.owner.clone(), r.rtype))
        .collect();
    assert_eq!(added, want);
}

#[test]
fn apply_is_strict_about_serials_and_deletions() {
    let old = zone_of(base());
    let new = zone_of(with(base(), 11, vec![rec("x", RType::A, 300, "192.0.2.9")]));
    let diff = diff_zones(&old, &new, None);

    let err = apply(zone_records(&new), std::slice::from_ref(&diff)).unwrap_err();
    assert!(
        matches!(err, ApplyError::WrongSerial { zone: 11, diff: 10 }),
        "{err}"
    );
    let err = apply_to_zone(&new, std::slice::from_ref(&diff)).unwrap_err();
    assert!(
        matches!(err, ApplyError::WrongSerial { zone: 11, diff: 10 }),
        "{err}"
    );

    let mut bad = diff.clone();
    bad.deleted.push(rec("nowhere", RType::A, 300, "192.0.2.7"));
    let err = apply(zone_records(&old), std::slice::from_ref(&bad)).unwrap_err();
    assert!(
        matches!(&err, ApplyError::MissingRecord(what) if what.contains("nowhere") && what.contains("192.0.2.7")),
        "{err}"
    );
    assert!(matches!(
        apply_to_zone(&old, &[bad]).unwrap_err(),
        ApplyError::MissingRecord(_)
    ));

    let no_soa: Vec<Record> = zone_records(&old)
        .into_iter()
        .filter(|r| r.rtype != RType::SOA)
        .collect();
    assert!(matches!(
        apply(no_soa, &[diff]).unwrap_err(),
        ApplyError::NoSoa
    ));

    // A chain must be contiguous.
    let newer = zone_of(with(base(), 12, vec![]));
    let skip = diff_zones(&new, &newer, None);
    let err = apply(zone_records(&old), &[skip]).unwrap_err();
    assert!(matches!(
        err,
        ApplyError::WrongSerial { zone: 10, diff: 11 }
    ));
}

#[test]
fn apply_deletes_names_in_rdata_without_case_and_adds_as_a_set() {
    let old = zone_of(with(
        base(),
        10,
        vec![rec("sub", RType::NS, 300, "NS.Other.test.")],
    ));
    let diff = Diff {
        old_soa: soa(10),
        deleted: vec![rec("SUB", RType::NS, 999, "ns.other.test.")],
        new_soa: soa(11),
        // Already there: only the TTL changes.
        added: vec![rec("www", RType::A, 60, "192.0.2.1")],
    };
    let records = apply(zone_records(&old), std::slice::from_ref(&diff)).unwrap();
    assert!(!records.iter().any(|r| r.owner == name("sub")));
    let www: Vec<_> = records
        .iter()
        .filter(|r| r.owner == name("www") && r.rdata == wire(RType::A, "192.0.2.1"))
        .collect();
    assert_eq!(www.len(), 1);
    assert_eq!(www[0].ttl, 60);
    assert_eq!(records.iter().filter(|r| r.rtype == RType::SOA).count(), 1);

    let zone = apply_to_zone(&old, &[diff]).unwrap();
    assert_same_zone(&zone, &zone_of(records));
    assert!(zone.node(&key("sub")).is_none());
}

#[test]
fn apply_to_zone_shares_what_did_not_change() {
    let old = zone_of(base());
    let new = zone_of(with(base(), 11, vec![rec("www", RType::TXT, 300, "\"t\"")]));
    let diff = diff_zones(&old, &new, None);
    let applied = apply_to_zone(&old, &[diff]).unwrap();
    assert_same_zone(&applied, &new);
    assert!(Arc::ptr_eq(
        &old.nodes[&key("mail")[..]],
        &applied.nodes[&key("mail")[..]]
    ));
    assert!(!Arc::ptr_eq(
        &old.nodes[&key("www")[..]],
        &applied.nodes[&key("www")[..]]
    ));
}

#[test]
fn apply_to_zone_follows_cuts_and_empty_non_terminals() {
    let old = zone_of(with(
        base(),
        10,
        vec![
            rec("ns.sub", RType::A, 300, "192.0.2.5"),
            rec("x.y.deep", RType::A, 300, "192.0.2.6"),
            rec("*.w", RType::A, 300, "192.0.2.7"),
        ],
    ));
    assert!(old.node(&key("y.deep")).unwrap().is_empty(), "an ENT");
    let mut records = with(
        zone_records(&old),
        11,
        vec![
            rec("sub", RType::NS, 300, "ns.sub"),
            rec("a.b.c", RType::TXT, 300, "\"new ENTs above\""),
        ],
    );
    records.retain(|r| r.owner != name("x.y.deep") && r.owner != name("*.w"));
    let new = zone_of(records);
    let diff = diff_zones(&old, &new, None);
    let applied = apply_to_zone(&old, &[diff]).unwrap();
    assert_same_zone(&applied, &new);
    assert!(applied.node(&key("ns.sub")).unwrap().is_occluded);
    assert!(applied.node(&key("deep")).is_none());
    assert!(applied.node(&key("b.c")).unwrap().is_empty());
    assert!(
        !applied
            .node(&key("w"))
            .is_some_and(|n| n.has_wildcard_child)
    );
}

#[test]
fn serials_wrap_around() {
    let old = zone_of(with(base(), u32::MAX, vec![]));
    let mid = zone_of(with(base(), 0, vec![rec("w1", RType::A, 300, "192.0.2.1")]));
    let new = zone_of(with(base(), 5, vec![rec("w2", RType::A, 300, "192.0.2.2")]));
    let diffs = [diff_zones(&old, &mid, None), diff_zones(&mid, &new, None)];
    assert_eq!(diffs[0].old_serial(), u32::MAX);
    assert_eq!(diffs[0].new_serial(), 0);
    let records = apply(zone_records(&old), &diffs).unwrap();
    assert_eq!(as_set(&records), as_set(&zone_records(&new)));
    assert_same_zone(&apply_to_zone(&old, &diffs).unwrap(), &new);
}

#[test]
fn soa_serial_of_short_rdata_is_zero() {
    let mut bad = soa(7);
    assert_eq!(soa_serial(&bad), 7);
    bad.rdata = Box::new([1, 2]);
    assert_eq!(soa_serial(&bad), 0);
}

// ---------- property tests ----------

/// Owners share ancestors, make ENTs (`c.b.a` alone makes `b.a` one),
/// wildcards, and cuts with names below them (`sub`, `ns.sub`).
const OWNERS: &[&str] = &[
    "@",
    "a",
    "b.a",
    "c.b.a",
    "d.c.b.a",
    "*.a",
    "WWW",
    "www.x.y",
    "sub",
    "ns.sub",
    "deep.er.sub",
];

/// Types with three RDATA choices each.
const KINDS: &[(RType, [&str; 3])] = &[
    (RType::A, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
    (RType::AAAA, ["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
    (RType::TXT, ["\"one\"", "\"two\"", "\"three\""]),
    (RType::NS, ["ns.sub", "NS.Sub", "ns.other.test."]),
    (RType::MX, ["10 mx.a", "20 mx.b", "10 MX.A"]),
    (RType::DNAME, ["x.example.", "X.Example.", "y.example."]),
    (
        RType::LUA,
        [
            "A \"pickrandom({'192.0.2.1','192.0.2.2'})\"",
            "TXT \"countryCode()\"",
            "A \"nosuchfunction()\"",
        ],
    ),
];

#[derive(Debug, Clone)]
enum Op {
    /// Sets an RRset to the RDATA choices in the mask (none: removes it).
    Set(usize, usize, u32, u8),
    /// Changes an RRset's TTL, if it exists.
    Ttl(usize, usize, u32),
    /// Removes every RRset of a name (the SOA stays).
    DropName(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let owner = 0..OWNERS.len();
    let kind = 0..KINDS.len();
    let ttl = prop::sample::select(vec![60u32, 300, 3600]);
    prop_oneof![
        5 => (owner.clone(), kind.clone(), ttl.clone(), 0..8u8)
            .prop_map(|(o, k, t, m)| Op::Set(o, k, t, m)),
        2 => (owner.clone(), kind, ttl).prop_map(|(o, k, t)| Op::Ttl(o, k, t)),
        1 => owner.prop_map(Op::DropName),
    ]
}

type ModelSet = (u32, Vec<Box<[u8]>>);

/// A zone as RRsets, and its serial.
#[derive(Clone)]
struct Model {
    serial: u32,
    /// (owner, type) -> (TTL, RDATAs).
    sets: BTreeMap<(Name, RType), ModelSet>,
}

impl Model {
    /// Applies `op`; returns the owner it touched.
    fn apply(&mut self, op: &Op) -> Name {
        match *op {
            Op::Set(o, k, ttl, mask) => {
                let (rtype, texts) = KINDS[k];
                let mut rdatas: Vec<Box<[u8]>> = Vec::new();
                for i in (0..3).filter(|i| mask & (1 << i) != 0) {
                    // A zone holds `NS a.` and `NS A.` as one record.
                    let rdata = wire(rtype, texts[i]);
                    if !rdatas.iter().any(|r| rdata_eq(rtype, r, &rdata)) {
                        rdatas.push(rdata);
                    }
                }
                let at = (name(OWNERS[o]), rtype);
                if rdatas.is_empty() {
                    self.sets.remove(&at);
                } else {
                    self.sets.insert(at, (ttl, rdatas));
                }
                name(OWNERS[o])
            }
            Op::Ttl(o, k, ttl) => {
                if let Some(set) = self.sets.get_mut(&(name(OWNERS[o]), KINDS[k].0)) {
                    set.0 = ttl;
                }
                name(OWNERS[o])
            }
            Op::DropName(o) => {
                let owner = name(OWNERS[o]);
                self.sets.retain(|(n, _), _| *n != owner);
                owner
            }
        }
    }

    fn records_at(&self, owner: &Name) -> Vec<Record> {
        let mut out = Vec::new();
        if *owner == origin() {
            out.push(soa(self.serial));
        }
        for ((n, rtype), (ttl, rdatas)) in &self.sets {
            if n == owner {
                out.extend(rdatas.iter().map(|rdata| Record {
                    owner: n.clone(),
                    rtype: *rtype,
                    class: 1,
                    ttl: *ttl,
                    rdata: rdata.clone(),
                    location: None,
                }));
            }
        }
        out
    }

    fn owners(&self) -> BTreeSet<Name> {
        self.sets.keys().map(|(n, _)| n.clone()).collect()
    }

    fn records(&self) -> Vec<Record> {
        let mut owners = self.owners();
        owners.insert(origin());
        owners.iter().flat_map(|o| self.records_at(o)).collect()
    }

    fn zone(&self) -> Zone {
        zone_of(self.records())
    }
}

impl NamesBelow for Model {
    fn any_below(&self, name: &Name) -> bool {
        let mut found = false;
        self.for_each_below(name, &mut |_| found = true);
        found
    }

    fn for_each_below(&self, name: &Name, f: &mut dyn FnMut(&Name)) {
        self.owners()
            .range((Bound::Excluded(name), Bound::Unbounded))
            .take_while(|owner| owner.is_subdomain_of(name))
            .for_each(f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_diff_takes_the_old_zone_to_the_new(
        start in prop_oneof![Just(u32::MAX - 1), any::<u32>()],
        initial in prop::collection::vec(op(), 0..16),
        steps in prop::collection::vec((1..3u32, prop::collection::vec(op(), 1..6)), 1..4),
    ) {
        let mut model = Model { serial: start, sets: BTreeMap::new() };
        for op in &initial {
            model.apply(op);
        }
        let first = model.zone();
        let mut zone = model.zone();
        let mut chain = Vec::new();
        for (bump, ops) in &steps {
            let mut touched: BTreeSet<Name> = ops.iter().map(|op| model.apply(op)).collect();
            model.serial = model.serial.wrapping_add(*bump);
            touched.insert(origin());
            let built = model.zone();
            // The writer's way: a new version sharing the untouched nodes.
            let changes = touched.iter().map(|owner| OwnerChange {
                owner: owner.clone(),
                records: model.records_at(owner),
            });
            let updated = update_zone(&zone, changes, &model).unwrap();
            let names: Vec<Box<[u8]>> = touched
                .iter()
                .map(|n| n.to_lowercase().as_wire().into())
                .collect();
            let want = as_set(&zone_records(&built));

            let mut diffs = Vec::new();
            for new in [&built, &updated] {
                for names in [None, Some(&names[..])] {
                    let diff = diff_zones(&zone, new, names);
                    prop_assert_eq!(diff.old_serial(), zone.serial);
                    prop_assert_eq!(diff.new_serial(), model.serial);
                    let (gone, came) = (as_set(&diff.deleted), as_set(&diff.added));
                    prop_assert!(gone.iter().all(|r| !came.contains(r)), "a no-op in the diff");
                    prop_assert!(gone.windows(2).all(|w| w[0] != w[1]), "a record twice");
                    let applied = apply(zone_records(&zone), std::slice::from_ref(&diff)).unwrap();
                    prop_assert_eq!(&as_set(&applied), &want);
                    assert_same_zone(&apply_to_zone(&zone, std::slice::from_ref(&diff)).unwrap(), &built);
                    diffs.push(diff);
                }
            }
            // All four ways give the same diff.
            prop_assert!(diffs.windows(2).all(|w| w[0] == w[1]));
            chain.push(diffs.swap_remove(0));
            zone = updated;
        }
        // The whole chain at once.
        let applied = apply(zone_records(&first), &chain).unwrap();
        prop_assert_eq!(as_set(&applied), as_set(&model.records()));
        assert_same_zone(&apply_to_zone(&first, &chain).unwrap(), &model.zone());
    }

    #[test]
    fn canonical_key_orders_as_names_do(
        a in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..4), 0..4),
        b in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..4), 0..4),
    ) {
        let a = Name::from_labels(a.iter().map(|l| &l[..])).unwrap();
        let b = Name::from_labels(b.iter().map(|l| &l[..])).unwrap();
        let (la, lb) = (a.to_lowercase(), b.to_lowercase());
        prop_assert_eq!(canonical_cmp(la.as_wire(), lb.as_wire()), a.cmp(&b));
    }
}

/// Cost of diffing and applying a one-RRset change in a zone of a million
/// records. Run with `cargo test --release -p dnsd --lib
/// xfr::diff::tests::million -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run by hand in release"]
fn million_record_zone_one_rrset_change() {
    use std::time::Instant;

    let mut records = vec![soa(1), rec("@", RType::NS, 3600, "ns1")];
    for i in 0..1_000_000u32 {
        let owner = name(&format!("h{i}.s{}", i % 1000));
        let [_, b, c, d] = i.to_be_bytes();
        records.push(Record {
            owner,
            rtype: RType::A,
            class: 1,
            ttl: 300,
            rdata: Box::new([10, b, c, d]),
            location: None,
        });
    }
    let old = zone_of(records);
    let owner = name("h4242.s242");
    let changes = vec![
        OwnerChange {
            owner: owner.clone(),
            records: vec![rec("h4242.s242", RType::A, 300, "192.0.2.1")],
        },
        OwnerChange {
            owner: origin(),
            records: vec![soa(2), rec("@", RType::NS, 3600, "ns1")],
        },
    ];
    let new = update_zone(&old, changes, &NoneBelow).unwrap();
    let names = [key("h4242.s242"), key("@")];

    let started = Instant::now();
    let diff = diff_zones(&old, &new, Some(&names));
    let by_names = started.elapsed();
    let started = Instant::now();
    let walked = diff_zones(&old, &new, None);
    let by_walk = started.elapsed();
    assert_eq!(diff, walked);
    assert_eq!((diff.deleted.len(), diff.added.len()), (1, 1));

    let started = Instant::now();
    let applied = apply_to_zone(&old, std::slice::from_ref(&diff)).unwrap();
    let to_zone = started.elapsed();
    assert_eq!(applied.serial, 2);

    // A name removed: the one case that walks the names.
    let [_, b, c, d] = 4243u32.to_be_bytes();
    let removal = Diff {
        old_soa: soa(2),
        deleted: vec![Record {
            owner: name("h4243.s243"),
            rtype: RType::A,
            class: 1,
            ttl: 300,
            rdata: Box::new([10, b, c, d]),
            location: None,
        }],
        new_soa: soa(3),
        added: Vec::new(),
    };
    let started = Instant::now();
    let removed = apply_to_zone(&applied, &[removal]).unwrap();
    let to_zone_removal = started.elapsed();
    assert!(removed.node(&key("h4243.s243")).is_none());
    assert!(removed.node(&key("s243")).is_some());

    let started = Instant::now();
    let listed = zone_records(&old);
    let listing = started.elapsed();
    let started = Instant::now();
    let applied_records = apply(listed, &[diff]).unwrap();
    let to_records = started.elapsed();
    assert_eq!(applied_records.len(), 1_000_002);
    println!(
        "diff by names {by_names:?}, by walking {by_walk:?}; apply_to_zone {to_zone:?} \
         (a name removed: {to_zone_removal:?}); zone_records {listing:?}; \
         apply to records {to_records:?}"
    );
}
