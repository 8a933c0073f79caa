//! The history's chain rules, limits, and its file: what a restart reads
//! back, torn and damaged lines, rewrites.

use super::*;
use crate::wire::rdata;

const ZONE: &str = "Example.TEST.";

fn zone() -> Name {
    Name::from_text(ZONE, None).unwrap()
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dnsd-ixfr-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn rec(owner: &str, rtype: RType, ttl: u32, text: &str) -> Record {
    let origin = zone();
    let owner = if owner == "@" {
        origin.clone()
    } else {
        Name::from_text(owner, Some(&origin)).unwrap()
    };
    Record {
        owner,
        rtype,
        class: 1,
        ttl,
        rdata: rdata::parse_str(rtype, text, &origin)
            .unwrap()
            .into_boxed_slice(),
        location: None,
    }
}

fn soa(serial: u32) -> Record {
    rec(
        "@",
        RType::SOA,
        3600,
        &format!("ns1 hostmaster {serial} 3600 600 86400 300"),
    )
}

/// A diff from `from` to `to` that deletes one address and adds another.
fn diff(from: u32, to: u32) -> Diff {
    Diff {
        old_soa: soa(from),
        deleted: vec![rec(
            "www",
            RType::A,
            300,
            &format!("192.0.2.{}", from % 250),
        )],
        new_soa: soa(to),
        added: vec![
            rec("www", RType::A, 300, &format!("192.0.2.{}", to % 250)),
            rec("WWW", RType::TXT, 60, &format!("\"to {to}\"")),
        ],
    }
}

/// The (from, to) serials of what `since` returns.
fn spans(diffs: Option<Vec<Arc<Diff>>>) -> Option<Vec<(u32, u32)>> {
    diffs.map(|ds| {
        ds.iter()
            .map(|d| (d.old_serial(), d.new_serial()))
            .collect()
    })
}

fn chain(history: &mut History, serials: &[u32]) {
    for pair in serials.windows(2) {
        history.push(diff(pair[0], pair[1])).unwrap();
    }
}

#[test]
fn since_at_the_boundaries() {
    let mut h = History::in_memory(&zone(), Limits::default());
    assert_eq!(spans(h.since(1)), None, "an empty history reaches nothing");
    chain(&mut h, &[1, 2, 3, 4]);
    assert_eq!(spans(h.since(1)), Some(vec![(1, 2), (2, 3), (3, 4)]));
    assert_eq!(spans(h.since(3)), Some(vec![(3, 4)]));
    assert_eq!(spans(h.since(4)), Some(vec![]));
    assert_eq!(spans(h.since(0)), None, "older than the history");
    assert_eq!(spans(h.since(5)), None, "never seen");
    assert_eq!((h.oldest_serial(), h.newest_serial()), (Some(1), Some(4)));
    assert_eq!(h.len(), 3);
    assert_eq!(h.zone(), &zone());
}

#[test]
fn serials_wrap_around() {
    let mut h = History::in_memory(&zone(), Limits::default());
    chain(&mut h, &[u32::MAX - 1, u32::MAX, 0, 1]);
    assert_eq!(
        spans(h.since(u32::MAX - 1)),
        Some(vec![(u32::MAX - 1, u32::MAX), (u32::MAX, 0), (0, 1)])
    );
    assert_eq!(spans(h.since(0)), Some(vec![(0, 1)]));
    assert_eq!(spans(h.since(1)), Some(vec![]));
}

#[test]
fn a_break_in_the_chain_starts_afresh() {
    let mut h = History::in_memory(&zone(), Limits::default());
    chain(&mut h, &[1, 2, 3]);
    h.push(diff(7, 8)).unwrap();
    assert_eq!(spans(h.since(1)), None);
    assert_eq!(spans(h.since(7)), Some(vec![(7, 8)]));
    assert_eq!(h.len(), 1);

    // A serial coming back would make "at serial 8" ambiguous.
    chain(&mut h, &[8, 9, 10]);
    h.push(diff(10, 8)).unwrap();
    assert_eq!(spans(h.since(10)), Some(vec![(10, 8)]));
    assert_eq!(spans(h.since(9)), None);

    // Data changed under the same serial: nothing before it holds.
    h.push(diff(8, 8)).unwrap();
    assert!(h.is_empty());
    assert_eq!(spans(h.since(8)), None);
}

#[test]
fn limits_drop_the_oldest() {
    let limits = Limits {
        max_diffs: 3,
        max_bytes: usize::MAX,
    };
    let mut h = History::in_memory(&zone(), limits);
    chain(&mut h, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(h.len(), 3);
    assert_eq!(h.oldest_serial(), Some(3));
    assert_eq!(spans(h.since(2)), None);

    let one = diff(1, 2).size();
    let limits = Limits {
        max_diffs: 100,
        max_bytes: 2 * one + one / 2,
    };
    let mut h = History::in_memory(&zone(), limits);
    chain(&mut h, &[1, 2, 3, 4]);
    assert_eq!(h.len(), 2, "two diffs fit the bytes");
    assert_eq!(h.bytes(), 2 * one);
    assert_eq!(spans(h.since(2)), Some(vec![(2, 3), (3, 4)]));

    // A diff bigger than the limit cannot be kept at all.
    let mut big = diff(4, 5);
    big.added
        .extend((0..50).map(|i| rec(&format!("n{i}"), RType::TXT, 60, "\"filler\"")));
    h.push(big).unwrap();
    assert!(h.is_empty());
    assert_eq!(h.bytes(), 0);
    assert_eq!(spans(h.since(4)), None);
    // The next one starts a new chain.
    h.push(diff(5, 6)).unwrap();
    assert_eq!(spans(h.since(5)), Some(vec![(5, 6)]));
}

#[test]
fn a_restart_reads_back_the_same_diffs() {
    let d = dir("restart");
    let mut odd = diff(3, 4);
    // Owners and RDATA that text would mangle, kept exactly.
    odd.added.push(Record {
        owner: Name::from_labels([&b"a.b"[..], b"\0\xff X", b"example", b"TEST"]).unwrap(),
        rtype: RType(65280),
        class: 1,
        ttl: 0,
        rdata: Box::new([0, 10, 255, b'\n']),
        location: None,
    });
    let want = vec![diff(1, 2), diff(2, 3), odd];
    {
        let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
        for diff in &want {
            h.push(diff.clone()).unwrap();
        }
    }
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    let got: Vec<Diff> = h.since(1).unwrap().iter().map(|d| (**d).clone()).collect();
    assert_eq!(got, want);
    // Equality of names ignores case: compare the octets too.
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in g.added.iter().zip(&w.added) {
            assert_eq!(a.owner.as_wire(), b.owner.as_wire());
        }
        assert_eq!(g.old_soa.owner.as_wire(), w.old_soa.owner.as_wire());
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = fs::metadata(d.join("example.test.ixfr")).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
        let folder = fs::metadata(&d).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    }
}

fn file_of(d: &Path) -> PathBuf {
    d.join("example.test.ixfr")
}

fn line_ends(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn a_torn_last_line_is_cut_off() {
    let d = dir("torn");
    {
        let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
        chain(&mut h, &[1, 2, 3, 4]);
    }
    let bytes = fs::read(file_of(&d)).unwrap();
    let ends = line_ends(&bytes);
    assert_eq!(ends.len(), 3);
    // A crash in the middle of the third append.
    let torn = ends[1] + (ends[2] - ends[1]) / 2;
    OpenOptions::new()
        .write(true)
        .open(file_of(&d))
        .unwrap()
        .set_len(torn as u64)
        .unwrap();

    let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert_eq!(spans(h.since(1)), Some(vec![(1, 2), (2, 3)]));
    assert_eq!(fs::metadata(file_of(&d)).unwrap().len(), ends[1] as u64);
    // Appends go on after the cut.
    h.push(diff(3, 4)).unwrap();
    drop(h);
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert_eq!(spans(h.since(1)), Some(vec![(1, 2), (2, 3), (3, 4)]));
}

#[test]
fn a_damaged_line_is_cut_off_with_what_follows() {
    let d = dir("damaged");
    {
        let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
        chain(&mut h, &[1, 2, 3, 4]);
    }
    let mut bytes = fs::read(file_of(&d)).unwrap();
    let ends = line_ends(&bytes);
    // One flipped bit inside the second line's JSON.
    bytes[ends[0] + 20] ^= 0x01;
    fs::write(file_of(&d), &bytes).unwrap();

    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert_eq!(spans(h.since(1)), Some(vec![(1, 2)]));
    assert_eq!(fs::metadata(file_of(&d)).unwrap().len(), ends[0] as u64);

    // Garbage, and a checksummed line of another zone, are cut too.
    let other = encode_line(&Diff {
        old_soa: Record {
            owner: Name::from_text("other.test.", None).unwrap(),
            ..soa(2)
        },
        ..diff(2, 3)
    });
    for junk in [b"not a line at all\n".to_vec(), other.into_bytes()] {
        let mut f = OpenOptions::new().append(true).open(file_of(&d)).unwrap();
        f.write_all(&junk).unwrap();
        drop(f);
        let h = History::open(&d, &zone(), Limits::default()).unwrap();
        assert_eq!(spans(h.since(1)), Some(vec![(1, 2)]));
        assert_eq!(fs::metadata(file_of(&d)).unwrap().len(), ends[0] as u64);
    }
}

#[test]
fn the_file_is_rewritten_when_it_holds_twice_what_is_kept() {
    let d = dir("rewrite");
    let limits = Limits {
        max_diffs: 2,
        max_bytes: usize::MAX,
    };
    let serials: Vec<u32> = (1..=60).collect();
    let mut h = History::open(&d, &zone(), limits).unwrap();
    let mut most_lines = 0;
    for pair in serials.windows(2) {
        h.push(diff(pair[0], pair[1])).unwrap();
        let lines = line_ends(&fs::read(file_of(&d)).unwrap()).len();
        most_lines = most_lines.max(lines);
    }
    assert!(most_lines <= REWRITE_MIN_LINES + 1, "{most_lines} lines");
    assert!(most_lines > 2, "not rewritten on every push");
    drop(h);
    let names: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("example.test.ixfr")]);

    let h = History::open(&d, &zone(), limits).unwrap();
    assert_eq!(spans(h.since(58)), Some(vec![(58, 59), (59, 60)]));

    // A file written under larger limits is cut down at open.
    let d = dir("rewrite-open");
    let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
    chain(&mut h, &serials[..40]);
    drop(h);
    let h = History::open(&d, &zone(), limits).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(line_ends(&fs::read(file_of(&d)).unwrap()).len(), 2);
}

#[test]
fn a_restart_after_a_reset_agrees_with_memory() {
    let d = dir("reset");
    let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
    chain(&mut h, &[1, 2, 3]);
    chain(&mut h, &[7, 8, 9]);
    assert_eq!(spans(h.since(7)), Some(vec![(7, 8), (8, 9)]));
    drop(h);
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert_eq!(spans(h.since(7)), Some(vec![(7, 8), (8, 9)]));
    assert_eq!(spans(h.since(1)), None);
}

#[test]
fn clear_and_remove() {
    let d = dir("remove");
    let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
    chain(&mut h, &[1, 2, 3]);
    h.clear().unwrap();
    assert!(h.is_empty());
    chain(&mut h, &[5, 6]);
    drop(h);
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert_eq!(spans(h.since(5)), Some(vec![(5, 6)]));
    assert_eq!(spans(h.since(1)), None);
    h.remove().unwrap();
    assert!(!file_of(&d).exists());
    History::in_memory(&zone(), Limits::default())
        .remove()
        .unwrap();
}

#[test]
fn file_names_are_safe_and_distinct() {
    let n = |text: &str| Name::from_text(text, None).unwrap();
    assert_eq!(file_name(&n("Example.COM.")), "example.com.ixfr");
    assert_eq!(
        file_name(&n("xn--bcher-kva.test.")),
        "xn--bcher-kva.test.ixfr"
    );
    assert_eq!(file_name(&Name::root()), "_root.ixfr");
    assert_eq!(file_name(&n("_tcp.a\\.b.test.")), "%5ftcp.a%2eb.test.ixfr");
    let slash = Name::from_labels([&b".."[..], b"/etc", b"\0"]).unwrap();
    assert_eq!(file_name(&slash), "%2e%2e.%2fetc.%00.ixfr");

    // Long names: bounded, and still distinct.
    let long = |last: &[u8]| {
        let label = [b'\xfe'; 63];
        Name::from_labels([&label[..], &label, &label, last]).unwrap()
    };
    let (a, b) = (file_name(&long(b"a")), file_name(&long(b"b")));
    assert!(a.len() <= 200, "{}", a.len());
    assert_ne!(a, b);
    assert!(a.ends_with(".ixfr") && a.contains('~'));
}

#[test]
fn open_survives_a_missing_folder_and_an_empty_file() {
    let d = dir("fresh").join("deeper");
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert!(h.is_empty());
    drop(h);
    let h = History::open(&d, &zone(), Limits::default()).unwrap();
    assert!(h.is_empty());
}

#[test]
fn a_history_behind_its_zone_is_dropped() {
    let d = dir("behind");
    let mut h = History::open(&d, &zone(), Limits::default()).unwrap();
    chain(&mut h, &[1, 2, 3]);
    assert!(h.keep_if_at(3).unwrap());
    assert_eq!(h.len(), 2);
    // The zone is at 4, but the diff 3 -> 4 never made it.
    assert!(!h.keep_if_at(4).unwrap());
    assert!(h.is_empty());
    drop(h);
    assert!(
        History::open(&d, &zone(), Limits::default())
            .unwrap()
            .is_empty()
    );
    let mut empty = History::in_memory(&zone(), Limits::default());
    assert!(!empty.keep_if_at(4).unwrap());
}
