//! conformance.md §5: wildcards (RFC 4592), on `wild.test` (the §5 zone under its own
//! origin, `tests/data/zones/wild.test.zone`).

use e2e::{RecordType, answer_types, ask, assert_answer, rcode};

use crate::fixtures::WILD_SOA;

#[test]
fn r5_1_wildcard_synthesises_with_query_name_as_owner() {
    let (q, r) = ask("foo.wild.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("foo.wild.test.", "A", "192.0.2.1")],
        &[],
        &[],
    );
    assert_eq!(
        r.raw_section(0)[0].owner,
        "foo.wild.test.",
        "{}",
        r.summary()
    );
    // The synthesised RR carries the wildcard's TTL.
    assert_eq!(r.raw_section(0)[0].ttl, 3600, "{}", r.summary());
}

#[test]
fn r5_1_wildcard_other_type_at_wildcard() {
    let (q, r) = ask("foo.wild.test.", RecordType::TXT);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("foo.wild.test.", "TXT", "\"w\"")],
        &[],
        &[],
    );
}

#[test]
fn r5_2_wildcard_match_type_absent_nodata() {
    let (q, r) = ask("foo.wild.test.", RecordType::MX);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[WILD_SOA], &[]);
}

#[test]
fn r5_3_wildcard_matches_several_labels() {
    let (q, r) = ask("a.foo.wild.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("a.foo.wild.test.", "A", "192.0.2.1")],
        &[],
        &[],
    );
}

#[test]
fn r5_4_empty_non_terminal_blocks_wildcard() {
    let (q, r) = ask("b.wild.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[WILD_SOA], &[]);
}

#[test]
fn r5_5_below_ent_without_wildcard_child_nxdomain() {
    let (q, r) = ask("z.b.wild.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[WILD_SOA], &[]);
}

#[test]
fn r5_6_existing_name_not_wildcarded() {
    let (q, r) = ask("sub.wild.test.", RecordType::TXT);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[WILD_SOA], &[]);
}

#[test]
fn r5_7_below_existing_name_nxdomain() {
    let (q, r) = ask("x.sub.wild.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[WILD_SOA], &[]);
}

#[test]
fn r5_8_literal_asterisk_exact_match() {
    let (q, r) = ask("*.wild.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("*.wild.test.", "A", "192.0.2.1")],
        &[],
        &[],
    );
}

#[test]
fn r5_9_wildcard_cname_synthesised_and_chased() {
    let (q, r) = ask("y.x.wild.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("y.x.wild.test.", "CNAME", "www.wild.test."),
            ("www.wild.test.", "A", "192.0.2.80"),
        ],
        &[],
        &[],
    );
    assert_eq!(answer_types(&r), vec![5, 1], "CNAME first\n{}", r.summary());
}

#[test]
fn r5_10_no_wildcard_below_cut() {
    for name in ["h.d.wild.test.", "d.wild.test."] {
        let (q, r) = ask(name, RecordType::A);
        assert_answer(
            &q,
            &r,
            rcode::NOERROR,
            false,
            &[],
            &[("d.wild.test.", "NS", "ns.d.wild.test.")],
            &[("ns.d.wild.test.", "A", "192.0.2.4")],
        );
    }
}
