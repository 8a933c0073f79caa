//! GeoIP lookups, reload and distances against fixture databases that the
//! tests write themselves (the spec §17 fixture, plus ASN-only and IPv6 data).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use geo::{Code, GeoDb, Location, Point, SharedGeo, pdns_closest_metric};
use ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;

#[derive(Serialize, Default)]
struct CityRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<Iso>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continent: Option<ContinentRec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Loc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autonomous_system_number: Option<u32>,
    /// A field we do not read, to check it is skipped.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    city: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Iso {
    iso_code: String,
}

#[derive(Serialize)]
struct ContinentRec {
    code: String,
}

#[derive(Serialize)]
struct Loc {
    latitude: f64,
    longitude: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy_radius: Option<u16>,
}

#[derive(Serialize)]
struct AsnRecord {
    autonomous_system_number: u32,
    autonomous_system_organization: String,
}

#[derive(Serialize)]
struct AsnTextRecord {
    autonomous_system_number: String,
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn city(cc: Option<&str>, cont: Option<&str>, lat: f64, lon: f64, asn: Option<u32>) -> CityRecord {
    CityRecord {
        country: cc.map(|c| Iso { iso_code: c.into() }),
        continent: cont.map(|c| ContinentRec { code: c.into() }),
        location: Some(Loc {
            latitude: lat,
            longitude: lon,
            accuracy_radius: Some(100),
        }),
        autonomous_system_number: asn,
        ..CityRecord::default()
    }
}

/// The spec §17 fixture (PowerDNS's geoip regression data), plus IPv6 entries
/// and a few edge records.
fn city_db() -> Vec<u8> {
    let mut w = Writer::new("Test-City");
    let mut au = city(Some("AU"), Some("OC"), 1.0, 1.0, Some(4242));
    au.city.insert(
        "names".into(),
        [("en".to_string(), "Nowhere".to_string())].into(),
    );
    w.insert(net("1.1.1.0/24"), &au).unwrap();
    w.insert(
        net("1.2.3.0/24"),
        &city(Some("US"), Some("NA"), 47.913, -122.3042, Some(3320)),
    )
    .unwrap();
    w.insert(net("192.0.2.0/24"), &city(None, None, 0.0, -179.0, None))
        .unwrap();
    w.insert(net("198.51.100.0/24"), &city(None, None, 0.0, 179.0, None))
        .unwrap();
    w.insert(net("203.0.113.0/24"), &city(None, None, 0.0, -160.0, None))
        .unwrap();
    // IPv6: a German network.
    w.insert(
        net("2001:db8:1::/48"),
        &city(Some("DE"), Some("EU"), 52.52, 13.405, Some(3209)),
    )
    .unwrap();
    // Location without accuracy_radius: a point, but not PowerDNS's.
    let mut no_radius = city(Some("FR"), Some("EU"), 48.85, 2.35, None);
    no_radius.location.as_mut().unwrap().accuracy_radius = None;
    w.insert(net("10.9.0.0/16"), &no_radius).unwrap();
    // "--" country (GeoIP legacy's unknown) and country only.
    w.insert(
        net("10.8.0.0/16"),
        &CityRecord {
            country: Some(Iso {
                iso_code: "--".into(),
            }),
            continent: Some(ContinentRec { code: "AF".into() }),
            ..CityRecord::default()
        },
    )
    .unwrap();
    w.to_bytes().unwrap()
}

fn asn_db() -> Vec<u8> {
    let mut w = Writer::new("Test-ASN");
    w.insert(
        net("1.2.3.0/24"),
        &AsnRecord {
            autonomous_system_number: 7018,
            autonomous_system_organization: "Example".into(),
        },
    )
    .unwrap();
    w.insert(
        net("17.1.0.0/16"),
        &AsnRecord {
            autonomous_system_number: 714,
            autonomous_system_organization: "Apple".into(),
        },
    )
    .unwrap();
    w.insert(
        net("10.9.0.0/16"),
        &AsnTextRecord {
            autonomous_system_number: "AS64500".into(),
        },
    )
    .unwrap();
    w.to_bytes().unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    // Replace by rename, as the crate requires of operators.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn code(s: &str) -> Option<Code> {
    Code::new(s)
}

#[test]
fn ipv4_city_lookups() {
    let db = GeoDb::from_bytes(city_db()).unwrap();
    assert_eq!(db.database_type(), "Test-City");
    assert_eq!(db.ip_version(), 6);
    let au = db.lookup(ip("1.1.1.77")).unwrap();
    assert_eq!(
        au,
        Location {
            lat: Some(1.0),
            lon: Some(1.0),
            accuracy_radius: Some(100),
            country: code("AU"),
            continent: code("OC"),
            region: None,
            asn: Some(4242),
        }
    );
    let us = db.lookup(ip("1.2.3.0")).unwrap();
    assert_eq!(us.country.unwrap().as_str(), "US");
    assert!(us.country.unwrap().eq_ignore_ascii_case("us"));
    assert_eq!(us.country.unwrap().to_ascii_lowercase().to_string(), "us");
    assert_eq!(us.continent, code("NA"));
    assert_eq!(us.point(), Some(Point::new(47.913, -122.3042)));
    assert_eq!(us.pdns_point(), Some(Point::new(47.913, -122.3042)));
    assert_eq!(us.asn, Some(3320));
}

#[test]
fn missing_fields_are_none() {
    let db = GeoDb::from_bytes(city_db()).unwrap();
    // Not in any network.
    let none = db.lookup(ip("17.1.2.3")).unwrap();
    assert!(none.is_empty());
    assert_eq!(none.point(), None);
    // Location only.
    let loc = db.lookup(ip("192.0.2.1")).unwrap();
    assert_eq!(loc.country, None);
    assert_eq!(loc.continent, None);
    assert_eq!(loc.asn, None);
    assert_eq!(loc.pdns_point(), Some(Point::new(0.0, -179.0)));
    // No accuracy radius: a point, but not for PowerDNS (spec §9.1).
    let fr = db.lookup(ip("10.9.1.1")).unwrap();
    assert_eq!(fr.point(), Some(Point::new(48.85, 2.35)));
    assert_eq!(fr.accuracy_radius, None);
    assert_eq!(fr.pdns_point(), None);
    // "--" is unknown.
    let dash = db.lookup(ip("10.8.0.1")).unwrap();
    assert_eq!(dash.country, None);
    assert_eq!(dash.continent, code("AF"));
}

#[test]
fn ipv6_and_mapped_lookups() {
    let db = GeoDb::from_bytes(city_db()).unwrap();
    let de = db.lookup(ip("2001:db8:1::53")).unwrap();
    assert_eq!(de.country, code("DE"));
    assert_eq!(de.continent, code("EU"));
    assert_eq!(de.asn, Some(3209));
    assert_eq!(de.point(), Some(Point::new(52.52, 13.405)));
    assert!(db.lookup(ip("2001:db8:2::1")).unwrap().is_empty());
    // IPv4-mapped IPv6 is looked up as IPv4.
    let mapped = db.lookup(ip("::ffff:1.2.3.4")).unwrap();
    assert_eq!(mapped, db.lookup(ip("1.2.3.4")).unwrap());
    assert_eq!(mapped.country, code("US"));
}

#[test]
fn ipv4_only_database_answers_ipv6_with_nothing() {
    let mut w = Writer::builder("V4-Only")
        .ip_version(mmdb_writer::IpVersion::V4)
        .build();
    w.insert(
        net("1.1.1.0/24"),
        &city(Some("AU"), Some("OC"), 1.0, 1.0, None),
    )
    .unwrap();
    let db = GeoDb::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(db.ip_version(), 4);
    assert_eq!(db.lookup(ip("1.1.1.1")).unwrap().country, code("AU"));
    assert_eq!(db.lookup(ip("::ffff:1.1.1.1")).unwrap().country, code("AU"));
    assert!(db.lookup(ip("2001:db8::1")).unwrap().is_empty());
}

#[test]
fn open_errors_are_typed_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mmdb");
    let e = GeoDb::open(&missing).unwrap_err();
    assert!(matches!(e.kind(), geo::ErrorKind::Io(_)), "{e}");
    assert_eq!(e.path(), Some(missing.as_path()));
    assert!(e.to_string().contains("missing.mmdb"), "{e}");

    let junk = dir.path().join("junk.mmdb");
    std::fs::write(&junk, b"this is not a maxmind database").unwrap();
    let e = GeoDb::open(&junk).unwrap_err();
    assert!(matches!(e.kind(), geo::ErrorKind::Format(_)), "{e}");
    assert!(matches!(
        GeoDb::from_bytes(Vec::new()).unwrap_err().kind(),
        geo::ErrorKind::Format(_)
    ));
    assert!(SharedGeo::open([&junk]).is_err());
}

#[test]
fn shared_geo_merges_databases_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (c, a) = (dir.path().join("city.mmdb"), dir.path().join("asn.mmdb"));
    write(&c, &city_db());
    write(&a, &asn_db());
    let geo = SharedGeo::open([&c, &a]).unwrap();
    assert_eq!(geo.paths().len(), 2);
    // City database first: its ASN wins.
    assert_eq!(geo.lookup(ip("1.2.3.4")).asn, Some(3320));
    // Only the ASN database knows this one.
    let apple = geo.lookup(ip("17.1.0.1"));
    assert_eq!(apple.asn, Some(714));
    assert_eq!(apple.country, None);
    assert_eq!(apple.point(), None);
    // Text AS numbers lose their "AS" prefix.
    assert_eq!(geo.lookup(ip("10.9.0.1")).asn, Some(64500));
    // Reverse order: the ASN database's value wins.
    let rev = SharedGeo::open([&a, &c]).unwrap();
    assert_eq!(rev.lookup(ip("1.2.3.4")).asn, Some(7018));
    assert_eq!(rev.lookup(ip("1.2.3.4")).country, code("US"));
    // Snapshot API.
    let snap = geo.snapshot();
    assert_eq!(snap.databases().count(), 2);
    assert!(!snap.is_empty());
    // No database at all.
    let empty = SharedGeo::empty();
    assert!(empty.lookup(ip("1.2.3.4")).is_empty());
    assert!(empty.snapshot().is_empty());
    assert!(!empty.reload_if_changed().unwrap());
}

#[test]
fn reload_after_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("geo.mmdb");
    write(&p, &city_db());
    let geo = SharedGeo::open([&p]).unwrap();
    assert_eq!(geo.lookup(ip("1.2.3.4")).country, code("US"));
    assert!(!geo.reload_if_changed().unwrap());

    let old = geo.snapshot();
    let mut w = Writer::new("Test-City");
    w.insert(
        net("1.2.3.0/24"),
        &city(Some("CA"), Some("NA"), 45.0, -75.0, None),
    )
    .unwrap();
    write(&p, &w.to_bytes().unwrap());
    assert!(geo.reload_if_changed().unwrap());
    assert_eq!(geo.lookup(ip("1.2.3.4")).country, code("CA"));
    // A snapshot taken before keeps answering from the old (still mapped) file.
    assert_eq!(old.lookup(ip("1.2.3.4")).country, code("US"));
    assert!(!geo.reload_if_changed().unwrap());

    // A broken replacement: the error names the file, the old data serves on.
    write(&p, b"garbage");
    assert!(geo.reload_if_changed().is_err());
    assert!(geo.reload().is_err());
    assert_eq!(geo.lookup(ip("1.2.3.4")).country, code("CA"));
    // A removed file: same.
    std::fs::remove_file(&p).unwrap();
    assert!(matches!(
        geo.reload_if_changed().unwrap_err().kind(),
        geo::ErrorKind::Io(_)
    ));
    assert_eq!(geo.lookup(ip("1.2.3.4")).country, code("CA"));
    // Restored: explicit reload (SIGHUP) picks it up.
    write(&p, &city_db());
    geo.reload().unwrap();
    assert_eq!(geo.lookup(ip("1.2.3.4")).country, code("US"));
}

#[test]
fn watcher_picks_up_changes_and_stops_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("geo.mmdb");
    write(&p, &city_db());
    let geo = Arc::new(SharedGeo::open([&p]).unwrap());
    let reloads = Arc::new(AtomicUsize::new(0));
    let r2 = Arc::clone(&reloads);
    let watcher = geo
        .spawn_watcher(Duration::from_millis(20), move |res| {
            if matches!(res, Ok(true)) {
                r2.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
    let mut w = Writer::new("Test-City");
    w.insert(
        net("1.2.3.0/24"),
        &city(Some("MX"), Some("NA"), 19.4, -99.1, None),
    )
    .unwrap();
    write(&p, &w.to_bytes().unwrap());
    let mut waited = 0;
    while geo.lookup(ip("1.2.3.4")).country != code("MX") {
        assert!(waited < 500, "watcher did not reload");
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    drop(watcher);
    assert!(reloads.load(Ordering::SeqCst) >= 1);
}

#[test]
fn concurrent_lookups_during_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("geo.mmdb");
    write(&p, &city_db());
    let geo = Arc::new(SharedGeo::open([&p]).unwrap());
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let g = Arc::clone(&geo);
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    let c = g.lookup(ip("1.1.1.1")).country;
                    assert_eq!(c, code("AU"));
                }
            })
        })
        .collect();
    for _ in 0..20 {
        geo.reload().unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn pickclosest_metric_on_fixture_points() {
    let db = GeoDb::from_bytes(city_db()).unwrap();
    let at = |s: &str| {
        db.lookup(ip(s))
            .unwrap()
            .pdns_point()
            .unwrap_or(Point::new(0.0, 0.0))
    };
    // Spec §17 antimeridian cases.
    let who = at("192.0.2.0");
    assert!(
        pdns_closest_metric(who, at("198.51.100.1")) < pdns_closest_metric(who, at("203.0.113.1"))
    );
    let who = at("198.51.100.0");
    assert!(
        pdns_closest_metric(who, at("192.0.2.1")) < pdns_closest_metric(who, at("203.0.113.1"))
    );
    // 17.1/16 has no location: (0,0) is closer to 1.1.1.2 than to 1.2.3.4.
    let who = at("17.1.0.0");
    assert!(pdns_closest_metric(who, at("1.1.1.2")) < pdns_closest_metric(who, at("1.2.3.4")));
}
