//! conformance.md §16: the RFC 8906 §8 matrix against `example.test SOA`, one test per
//! row, named by the RFC 8906 section.

use e2e::{
    DO, Query, RecordType, Reply, Server, assert_answer, assert_flag, assert_header_basics,
    assert_no_opt, assert_question_echoed, assert_rcode, flag, opt, rcode,
};

use crate::fixtures::EX_SOA;

fn soa() -> Query {
    Query::new("example.test.", RecordType::SOA)
}

/// "as 8.1.1": NOERROR, AA, one SOA, no OPT.
#[track_caller]
fn as_8_1_1(q: &Query, r: &Reply) {
    assert_answer(q, r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_no_opt(r);
}

#[track_caller]
fn badvers(q: &Query, r: &Reply, do_bit: bool) {
    assert_header_basics(q, r);
    assert_question_echoed(q, r);
    assert_rcode(r, rcode::BADVERS);
    assert_eq!(r.header_rcode(), 0, "{}", r.summary());
    let o = opt(r);
    assert_eq!(o.version, 0, "{}", r.summary());
    assert_eq!(o.flags, if do_bit { DO } else { 0 }, "{}", r.summary());
    assert!(o.options.is_empty(), "{}", r.summary());
    assert_flag(r, flag::AA, false);
    assert!(
        r.msg.answers.is_empty() && r.msg.authorities.is_empty(),
        "{}",
        r.summary()
    );
}

#[test]
fn rfc8906_8_1_1_zone_configured() {
    let q = soa();
    as_8_1_1(&q, &Server::shared().udp(&q));
}

#[test]
fn rfc8906_8_1_2_unknown_type() {
    let q = Query::new("example.test.", RecordType::Unknown(1000));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
    assert_no_opt(&r);
}

#[test]
fn rfc8906_8_1_3_1_cd() {
    let q = soa().set(flag::CD);
    as_8_1_1(&q, &Server::shared().udp(&q));
}

#[test]
fn rfc8906_8_1_3_2_ad() {
    let q = soa().set(flag::AD);
    as_8_1_1(&q, &Server::shared().udp(&q));
}

#[test]
fn rfc8906_8_1_3_3_z() {
    let q = soa().set(flag::Z);
    as_8_1_1(&q, &Server::shared().udp(&q));
}

#[test]
fn rfc8906_8_1_3_4_rd() {
    let q = soa().set(flag::RD);
    let r = Server::shared().udp(&q);
    as_8_1_1(&q, &r);
    assert_flag(&r, flag::RD, true);
    assert_flag(&r, flag::RA, false);
}

#[test]
fn rfc8906_8_1_4_unknown_opcode_header_only() {
    let q = Query::header_only().opcode(15);
    let r = Server::shared().udp(&q);
    assert_header_basics(&q, &r);
    assert_rcode(&r, rcode::NOTIMP);
    assert_flag(&r, flag::AA, false);
    assert_eq!(r.counts, [0, 0, 0, 0], "no records\n{}", r.summary());
}

#[test]
fn rfc8906_8_1_5_tcp() {
    let q = soa();
    as_8_1_1(&q, &Server::shared().tcp(&q));
}

#[test]
fn rfc8906_8_2_1_minimal_edns() {
    let q = soa().edns();
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    let o = opt(&r);
    assert_eq!(
        (o.version, o.flags, o.ext_rcode),
        (0, 0, 0),
        "{}",
        r.summary()
    );
}

#[test]
fn rfc8906_8_2_2_edns_version() {
    let q = soa().edns_with(|o| o.version = 1);
    badvers(&q, &Server::shared().udp(&q), false);
}

#[test]
fn rfc8906_8_2_3_unknown_option() {
    let q = soa().edns_with(|o| o.options.push((100, vec![])));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert!(opt(&r).options.is_empty(), "{}", r.summary());
}

#[test]
fn rfc8906_8_2_4_unknown_flag() {
    let q = soa().edns_with(|o| o.flags = 0x40);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_eq!(opt(&r).flags, 0, "MBZ clear\n{}", r.summary());
}

#[test]
fn rfc8906_8_2_5_version_and_flag() {
    let q = soa().edns_with(|o| {
        o.version = 1;
        o.flags = 0x40;
    });
    badvers(&q, &Server::shared().udp(&q), false);
}

#[test]
fn rfc8906_8_2_6_version_and_option() {
    let q = soa().edns_with(|o| {
        o.version = 1;
        o.options.push((100, vec![]));
    });
    badvers(&q, &Server::shared().udp(&q), false);
}

#[test]
fn rfc8906_8_2_7_truncation() {
    // Substitute for `DNSKEY +dnssec +bufsize=512 +ignore` on an unsigned server: a large
    // TXT RRset with DO=1 and payload 512.
    let q = Query::new("huge.trunc.test.", RecordType::TXT).edns_with(|o| {
        o.flags = DO;
        o.payload = 512;
    });
    let r = Server::shared().udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, true);
    let o = opt(&r);
    assert_eq!(o.flags, DO, "{}", r.summary());
    assert!(r.len() <= 512);
}

#[test]
fn rfc8906_8_2_8_do() {
    let q = soa().dnssec_ok();
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_eq!(opt(&r).flags, DO, "{}", r.summary());
}

#[test]
fn rfc8906_8_2_9_version_and_do() {
    let q = soa().edns_with(|o| {
        o.version = 1;
        o.flags = DO;
    });
    badvers(&q, &Server::shared().udp(&q), true);
}

#[test]
fn rfc8906_8_2_10_several_options() {
    let q = soa().edns_with(|o| {
        o.options.push((3, vec![]));
        o.options.push((9, vec![]));
        o.options.push((8, vec![0, 1, 0, 0]));
    });
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}
