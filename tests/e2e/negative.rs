//! conformance.md §6: negative answers. SOA in authority with TTL = min(SOA TTL,
//! MINIMUM), AA=1, no NS in authority; NXDOMAIN, NODATA and referral stay distinct.
//!
//! example.test has SOA TTL 3600 / MINIMUM 300 (→ 300); wild.test has SOA TTL 60 /
//! MINIMUM 600 (→ 60), so both sides of the min() are checked.

use e2e::{Query, RecordType, Server, assert_flag, assert_rcode, flag, rcode, ttl_of};

use crate::fixtures::{EX_NEG_TTL, WILD_NEG_TTL};

#[track_caller]
fn check(name: &str, t: RecordType, want_rcode: u16, want_ttl: u32) {
    let q = Query::new(name, t);
    let r = Server::shared().udp(&q);
    assert_rcode(&r, want_rcode);
    assert_flag(&r, flag::AA, true);
    let auth = r.raw_section(1);
    assert_eq!(
        auth.len(),
        1,
        "authority is the SOA alone (no NS)\n{}",
        r.summary()
    );
    assert_eq!(auth[0].rtype, 6, "SOA in authority\n{}", r.summary());
    assert_eq!(
        ttl_of(&r, 1, RecordType::SOA),
        want_ttl,
        "negative SOA TTL = min(SOA TTL, MINIMUM)\n{}",
        r.summary()
    );
}

#[test]
fn r6_nxdomain_soa_ttl_is_minimum_when_smaller() {
    check(
        "nope.example.test.",
        RecordType::A,
        rcode::NXDOMAIN,
        EX_NEG_TTL,
    );
}

#[test]
fn r6_nodata_soa_ttl_is_minimum_when_smaller() {
    check(
        "www.example.test.",
        RecordType::MX,
        rcode::NOERROR,
        EX_NEG_TTL,
    );
    check("b.example.test.", RecordType::A, rcode::NOERROR, EX_NEG_TTL);
}

#[test]
fn r6_nxdomain_soa_ttl_is_soa_ttl_when_smaller() {
    check(
        "z.b.wild.test.",
        RecordType::A,
        rcode::NXDOMAIN,
        WILD_NEG_TTL,
    );
}

#[test]
fn r6_nodata_soa_ttl_is_soa_ttl_when_smaller() {
    check(
        "foo.wild.test.",
        RecordType::MX,
        rcode::NOERROR,
        WILD_NEG_TTL,
    );
}

#[test]
fn r6_dangling_cname_negative_ttl() {
    check(
        "dangling.example.test.",
        RecordType::A,
        rcode::NXDOMAIN,
        EX_NEG_TTL,
    );
}

#[test]
fn r6_positive_soa_keeps_its_own_ttl() {
    // The SOA asked for directly carries its record TTL, not the negative TTL.
    let q = Query::new("example.test.", RecordType::SOA);
    let r = Server::shared().udp(&q);
    assert_eq!(ttl_of(&r, 0, RecordType::SOA), 3600, "{}", r.summary());
}

#[test]
fn r6_nxdomain_nodata_referral_distinct() {
    let s = Server::shared();
    // NXDOMAIN
    let r = s.udp(&Query::new("nope.example.test.", RecordType::A));
    assert_rcode(&r, rcode::NXDOMAIN);
    // NODATA: NOERROR, empty answer, SOA
    let r = s.udp(&Query::new("www.example.test.", RecordType::TXT));
    assert_rcode(&r, rcode::NOERROR);
    assert!(r.msg.answers.is_empty(), "{}", r.summary());
    assert_eq!(r.raw_section(1)[0].rtype, 6, "{}", r.summary());
    // Referral: NOERROR, AA=0, NS in authority, no SOA
    let r = s.udp(&Query::new("x.sub.example.test.", RecordType::TXT));
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, false);
    assert!(r.msg.answers.is_empty(), "{}", r.summary());
    let auth = r.raw_section(1);
    assert!(!auth.is_empty(), "{}", r.summary());
    assert!(
        auth.iter().all(|x| x.rtype == 2),
        "NS only, no SOA\n{}",
        r.summary()
    );
}
