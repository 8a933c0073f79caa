//! `dnsd check-zone ORIGIN FILE`: exit 0 on a good file; non-zero with `file:line: reason`
//! for each error on a bad one. Bad fixtures live in `tests/data/zones/bad/`, named by
//! the error they contain; each has a 4-line valid head, so the error lines are known.

use e2e::{STANDARD_ZONES, assert_exit, check_zone, zone};

/// Non-zero exit and a `file:line:` prefix for each of `lines` (either of the
/// alternatives in `one_of` when the error can fairly be blamed on more than one line).
#[track_caller]
fn assert_errors(name: &str, lines: &[&[u32]]) {
    let file = zone(&format!("bad/{name}"));
    let (out, t) = check_zone("example.test", &file);
    assert_exit(&out, false);
    let given = file.display().to_string();
    for one_of in lines {
        let hit = one_of
            .iter()
            .any(|l| t.contains(&format!("{given}:{l}:")) || t.contains(&format!("{name}:{l}:")));
        assert!(
            hit,
            "{name}: expected `{name}:{one_of:?}: …` in the output:\n{t}"
        );
    }
}

#[test]
fn check_zone_good_files_pass() {
    for (origin, f) in STANDARD_ZONES {
        let (out, t) = check_zone(origin, &zone(f));
        assert!(out.status.success(), "{f} should pass check-zone:\n{t}");
    }
}

#[test]
fn check_zone_unknown_type() {
    assert_errors("unknown-type.zone", &[&[5]]);
}

#[test]
fn check_zone_bad_a_address() {
    assert_errors("bad-a-address.zone", &[&[5]]);
}

#[test]
fn check_zone_bad_aaaa_address() {
    assert_errors("bad-aaaa-address.zone", &[&[5]]);
}

#[test]
fn check_zone_label_too_long() {
    assert_errors("label-too-long.zone", &[&[5]]);
}

#[test]
fn check_zone_out_of_zone_owner() {
    assert_errors("out-of-zone.zone", &[&[5]]);
}

#[test]
fn check_zone_ttl_out_of_range() {
    assert_errors("bad-ttl.zone", &[&[5]]);
}

#[test]
fn check_zone_mx_missing_preference() {
    assert_errors("mx-missing-preference.zone", &[&[5]]);
}

#[test]
fn check_zone_cname_and_other_data() {
    // RFC 2181 §10.1; either line can be blamed.
    assert_errors("cname-and-other-data.zone", &[&[5, 6]]);
}

#[test]
fn check_zone_unterminated_parenthesis() {
    assert_errors("unterminated-paren.zone", &[&[5, 6, 7]]);
}

#[test]
fn check_zone_reports_every_error() {
    assert_errors("several-errors.zone", &[&[5], &[7], &[9]]);
}

#[test]
fn check_zone_missing_file() {
    let f = zone("bad/no-such-file.zone");
    let (out, t) = check_zone("example.test", &f);
    assert_exit(&out, false);
    assert!(
        t.contains("no-such-file.zone"),
        "the message names the file:\n{t}"
    );
}

/// Every LUA record that cannot answer is listed, with the other errors of
/// the file (issue 18: check-zone used to stop at the first LUA one).
#[test]
fn check_zone_lists_every_lua_error() {
    assert_errors("lua-many-errors.zone", &[&[5], &[6], &[8], &[9], &[10]]);
}
