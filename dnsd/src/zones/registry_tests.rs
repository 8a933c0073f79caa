//! Publishing one zone's change among many: the catalog it makes must be
//! the one a full publish makes, and what it announces only that zone.

use std::sync::Arc;

use super::super::keys::ZoneSigning;
use super::super::store::Store;
use super::super::test_zones::{NOW, bump_serial, replace, zone};
use super::{Registry, ReplicationStores, ZoneChange};
use crate::dnssec::{KeyPolicy, KeyStore};
use crate::test_dir::TempDir;
use crate::wire::Name;
use crate::zone::Catalog;
use crate::zones::ZoneError;

/// More zones than one catalog shard holds.
const ZONES: usize = 700;

fn origin(i: usize) -> String {
    format!("z{i}.pool.test.")
}

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

fn open(dir: &TempDir) -> Registry {
    open_recording(dir, true)
}

fn open_recording(dir: &TempDir, record_history: bool) -> Registry {
    let signing = ZoneSigning {
        keys: KeyStore::new(dir.path()),
        policy: KeyPolicy::default(),
    };
    let store = Store::open(dir.path()).unwrap();
    Registry::open(
        Vec::new(),
        Some(store),
        signing,
        ReplicationStores {
            record_history,
            ..ReplicationStores::default()
        },
    )
    .unwrap()
}

/// Every zone of `a` is the very same zone in `b`, and the other way round.
fn same_zones(a: &Catalog, b: &Catalog) {
    assert_eq!(a.len(), b.len());
    for zone in a.zones() {
        let other = b.get(&zone.origin).expect("zone in both catalogs");
        assert!(Arc::ptr_eq(zone, other), "{} differs", zone.origin);
    }
}

#[test]
fn one_zones_change_is_published_as_a_full_publish_would_publish_it() {
    let dir = TempDir::new("registry");
    let registry = open(&dir);
    for i in 0..ZONES {
        registry.create(zone(&origin(i))).unwrap();
    }
    let mut changes = registry.subscribe();

    // A change to one zone: a new serial for it alone, announced alone.
    let changed = name(&origin(123));
    registry
        .update(&changed, |model| {
            let next = replace(
                model,
                "www.z123.pool.test.",
                "A",
                300,
                &[("192.0.2.7", false)],
            );
            Ok::<_, ZoneError>((Some(bump_serial(&next, NOW)), ()))
        })
        .unwrap();
    let incremental = registry.catalog().load_full();
    assert_eq!(incremental.len(), ZONES);
    let serial = incremental.get(&changed).unwrap().serial;
    assert_eq!(
        changes.try_recv().ok(),
        Some(ZoneChange {
            origin: changed.clone(),
            serial
        })
    );
    assert!(
        changes.try_recv().is_err(),
        "only the changed zone is announced"
    );
    let www = name("www.z123.pool.test.").to_lowercase();
    let (served, _) = incremental.find(www.as_wire(), false).unwrap();
    assert!(served.zone.node(www.as_wire()).is_some());

    // A full publish over the same state serves the very same zones.
    let full = {
        let mut inner = registry.lock();
        registry.publish(&mut inner);
        registry.catalog().load_full()
    };
    same_zones(&incremental, &full);

    // A deleted zone is gone; a new one is served and announced.
    registry.delete(&name(&origin(5))).unwrap();
    registry.create(zone("fresh.pool.test.")).unwrap();
    let after = registry.catalog().load_full();
    assert!(after.get(&name(&origin(5))).is_none());
    assert!(after.get(&name("fresh.pool.test.")).is_some());
    assert_eq!(after.len(), ZONES);
    let announced: Vec<String> = std::iter::from_fn(|| changes.try_recv().ok())
        .map(|c| c.origin.to_string())
        .collect();
    assert_eq!(announced, ["fresh.pool.test."]);
    let full = {
        let mut inner = registry.lock();
        registry.publish(&mut inner);
        registry.catalog().load_full()
    };
    same_zones(&after, &full);

    // Restarted on the same data, the same zones are served.
    drop(registry);
    let reopened = open(&dir).catalog().load_full();
    assert_eq!(reopened.len(), ZONES);
    for zone in after.zones() {
        let again = reopened.get(&zone.origin).unwrap();
        assert_eq!(again.serial, zone.serial);
        assert_eq!(again.record_count, zone.record_count);
    }
}

#[test]
fn diffs_are_recorded_only_when_someone_may_ask_for_them() {
    for record in [true, false] {
        let dir = TempDir::new("registry-history");
        let registry = open_recording(&dir, record);
        let origin = name("h.pool.test.");
        registry.create(zone("h.pool.test.")).unwrap();
        let before = registry.catalog().load().get(&origin).unwrap().serial;
        registry
            .update(&origin, |model| {
                let next = replace(model, "www.h.pool.test.", "A", 300, &[("192.0.2.9", false)]);
                Ok::<_, ZoneError>((Some(bump_serial(&next, NOW)), ()))
            })
            .unwrap();
        let diffs = registry.ixfr_since(&origin, before);
        assert_eq!(
            diffs.map(|d| d.len()),
            record.then_some(1),
            "recording {record}"
        );
    }
}
