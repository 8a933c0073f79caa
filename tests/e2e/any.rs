//! conformance.md §7: QTYPE ANY (RFC 8482). UDP default `minimal`: one synthesised
//! `HINFO "RFC8482" ""` with TTL 3600; TCP: every RRset; missing names as usual.

use e2e::{
    Query, RecordType, Reply, Server, assert_answer, assert_flag, assert_header_basics,
    assert_question_echoed, assert_rcode, flag, rcode, rrs,
};

use crate::fixtures::EX_SOA;

#[track_caller]
fn assert_rfc8482_hinfo(q: &Query, r: &Reply, owner: &str) {
    assert_answer(
        q,
        r,
        rcode::NOERROR,
        true,
        &[(owner, "HINFO", "\"RFC8482\" \"\"")],
        &[],
        &[],
    );
    let raw = r.raw_section(0);
    assert_eq!(raw[0].ttl, 3600, "HINFO TTL 3600\n{}", r.summary());
}

#[test]
fn r7_1_any_over_udp_minimal_hinfo() {
    let s = Server::shared();
    for name in ["mail.example.test.", "www.example.test.", "example.test."] {
        let q = Query::new(name, RecordType::ANY);
        let r = s.udp(&q);
        assert_rfc8482_hinfo(&q, &r, name);
    }
}

#[test]
fn r7_1_any_over_udp_minimal_with_edns() {
    let q = Query::new("multi.example.test.", RecordType::ANY).edns();
    let r = Server::shared().udp(&q);
    assert_rfc8482_hinfo(&q, &r, "multi.example.test.");
}

#[test]
fn r7_1_any_udp_tc_mode() {
    let s = Server::standard(&["--any-udp", "tc"]);
    let q = Query::new("mail.example.test.", RecordType::ANY);
    let r = s.udp(&q);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, true);
    assert!(r.msg.answers.is_empty(), "empty\n{}", r.summary());
    // ... and TCP still gets everything.
    let r = s.tcp(&q);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("mail.example.test.", "A", "192.0.2.25"),
            ("mail.example.test.", "AAAA", "2001:db8::25"),
        ],
        &[],
        &[],
    );
}

#[test]
fn r7_1_any_udp_full_mode() {
    let s = Server::standard(&["--any-udp", "full"]);
    let q = Query::new("mail.example.test.", RecordType::ANY);
    let r = s.udp(&q);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("mail.example.test.", "A", "192.0.2.25"),
            ("mail.example.test.", "AAAA", "2001:db8::25"),
        ],
        &[],
        &[],
    );
}

#[test]
fn r7_2_any_over_tcp_every_rrset() {
    let s = Server::shared();
    let q = Query::new("mail.example.test.", RecordType::ANY);
    let r = s.tcp(&q);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("mail.example.test.", "A", "192.0.2.25"),
            ("mail.example.test.", "AAAA", "2001:db8::25"),
        ],
        &[],
        &[],
    );
    let q = Query::new("multi.example.test.", RecordType::ANY);
    let r = s.tcp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    assert_eq!(
        r.answer(),
        rrs(&[
            ("multi.example.test.", "A", "192.0.2.70"),
            ("multi.example.test.", "MX", "20 mail.example.test."),
            ("multi.example.test.", "TXT", "\"multi\""),
        ]),
        "{}",
        r.summary()
    );
    let q = Query::new("example.test.", RecordType::ANY);
    let r = s.tcp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        r.answer(),
        rrs(&[EX_SOA, crate::fixtures::EX_NS]),
        "apex ANY over TCP\n{}",
        r.summary()
    );
}

#[test]
fn r7_3_any_missing_name_nxdomain_and_ent_nodata() {
    let s = Server::shared();
    for tcp in [false, true] {
        let q = Query::new("nope.example.test.", RecordType::ANY);
        let r = if tcp { s.tcp(&q) } else { s.udp(&q) };
        assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[EX_SOA], &[]);
        let q = Query::new("b.example.test.", RecordType::ANY);
        let r = if tcp { s.tcp(&q) } else { s.udp(&q) };
        assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
    }
}

#[test]
fn r7_any_below_cut_is_referral() {
    let q = Query::new("host.sub.example.test.", RecordType::ANY);
    let r = Server::shared().udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, false);
    assert!(r.msg.answers.is_empty(), "{}", r.summary());
    assert_eq!(
        r.authority(),
        rrs(&[("sub.example.test.", "NS", "ns.sub.example.test.")]),
        "{}",
        r.summary()
    );
}

#[test]
fn r7_1_any_over_udp_on_wildcard_name() {
    let q = Query::new("foo.wild.test.", RecordType::ANY);
    let r = Server::shared().udp(&q);
    assert_rfc8482_hinfo(&q, &r, "foo.wild.test.");
    // Over TCP: the wildcard's RRsets, synthesised at the query name.
    let r = Server::shared().tcp(&q);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("foo.wild.test.", "A", "192.0.2.1"),
            ("foo.wild.test.", "TXT", "\"w\""),
        ],
        &[],
        &[],
    );
}
