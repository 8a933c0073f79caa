//! SIGHUP reloads zone files; a zone that fails to reload keeps serving its previous
//! version while the others pick up their changes.

use std::fs;
use std::path::Path;
use std::time::Duration;

use e2e::{Query, RecordType, Server, assert_rcode, eventually, rcode, scratch_dir};

/// A small zone for `origin` with the given serial and `www` address.
fn write_zone(path: &Path, origin: &str, serial: u32, www: &str) {
    let text = format!(
        "$TTL 300\n\
         @   IN SOA ns1.{origin}. hostmaster.{origin}. {serial} 7200 3600 1209600 300\n\
         @   IN NS  ns1\n\
         ns1 IN A   192.0.2.53\n\
         www IN A   {www}\n"
    );
    // Write then rename, so the server never sees half a file.
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).expect("write zone");
    fs::rename(&tmp, path).expect("rename zone");
}

fn write_broken(path: &Path, origin: &str) {
    let text = format!(
        "$TTL 300\n\
         @   IN SOA ns1.{origin}. hostmaster.{origin}. 99 7200 3600 1209600 300\n\
         @   IN NS  ns1\n\
         www IN A   192.0.2.999\n"
    );
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).expect("write zone");
    fs::rename(&tmp, path).expect("rename zone");
}

fn www(s: &Server, origin: &str) -> Option<String> {
    let r = s.udp(&Query::new(&format!("www.{origin}."), RecordType::A));
    r.msg.answers.first().map(|a| e2e::rdata_text(&a.data))
}

fn serial(s: &Server, origin: &str) -> Option<u32> {
    let r = s.udp(&Query::new(&format!("{origin}."), RecordType::SOA));
    r.msg.answers.first().and_then(|a| match &a.data {
        e2e::RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

#[test]
fn reload_sighup_picks_up_changed_zone() {
    let dir = scratch_dir("reload");
    let f = dir.join("reload.test.zone");
    write_zone(&f, "reload.test", 1, "192.0.2.1");
    let s = Server::builder().zone("reload.test", &f).start();
    assert_eq!(www(&s, "reload.test").as_deref(), Some("192.0.2.1"));
    write_zone(&f, "reload.test", 2, "192.0.2.2");
    s.sighup();
    let ok = eventually(Duration::from_secs(5), || {
        www(&s, "reload.test").as_deref() == Some("192.0.2.2")
    });
    assert!(ok, "SIGHUP did not pick up the new zone\n{}", s.context());
    assert_eq!(serial(&s, "reload.test"), Some(2));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn reload_failure_keeps_previous_version() {
    let dir = scratch_dir("reload-fail");
    let good = dir.join("good.test.zone");
    let bad = dir.join("bad.test.zone");
    write_zone(&good, "good.test", 1, "192.0.2.1");
    write_zone(&bad, "bad.test", 1, "192.0.2.10");
    let mut s = Server::builder()
        .zone("good.test", &good)
        .zone("bad.test", &bad)
        .start();
    assert_eq!(www(&s, "bad.test").as_deref(), Some("192.0.2.10"));

    // One SIGHUP: good.test changes validly, bad.test becomes unloadable.
    write_zone(&good, "good.test", 2, "192.0.2.2");
    write_broken(&bad, "bad.test");
    s.sighup();
    let ok = eventually(Duration::from_secs(5), || {
        www(&s, "good.test").as_deref() == Some("192.0.2.2")
    });
    assert!(ok, "the valid zone was not reloaded\n{}", s.context());
    // A reload publishes every zone at once: with good.test's new version
    // served, bad.test's failed attempt is over, and it must still serve version 1.
    assert!(s.alive(), "dnsd died on a failed reload\n{}", s.context());
    assert_eq!(
        www(&s, "bad.test").as_deref(),
        Some("192.0.2.10"),
        "failed reload must keep the previous version\n{}",
        s.context()
    );
    assert_eq!(serial(&s, "bad.test"), Some(1));
    let r = s.udp(&Query::new("nope.bad.test.", RecordType::A));
    assert_rcode(&r, rcode::NXDOMAIN);

    // Fixed again: the next SIGHUP loads it.
    write_zone(&bad, "bad.test", 3, "192.0.2.30");
    s.sighup();
    let ok = eventually(Duration::from_secs(5), || {
        www(&s, "bad.test").as_deref() == Some("192.0.2.30")
    });
    assert!(ok, "the fixed zone was not reloaded\n{}", s.context());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn reload_zone_broken_at_start_is_served_after_fix() {
    // A zone that failed to load at start (not served) is loaded by a later SIGHUP.
    let dir = scratch_dir("reload-late");
    let good = dir.join("ok.test.zone");
    let late = dir.join("late.test.zone");
    write_zone(&good, "ok.test", 1, "192.0.2.1");
    write_broken(&late, "late.test");
    let s = Server::builder()
        .zone("ok.test", &good)
        .zone("late.test", &late)
        .start();
    let r = s.udp(&Query::new("late.test.", RecordType::SOA));
    assert_rcode(&r, rcode::REFUSED);
    write_zone(&late, "late.test", 5, "192.0.2.5");
    s.sighup();
    let ok = eventually(Duration::from_secs(5), || {
        www(&s, "late.test").as_deref() == Some("192.0.2.5")
    });
    assert!(ok, "SIGHUP did not load the fixed zone\n{}", s.context());
    let _ = fs::remove_dir_all(&dir);
}
