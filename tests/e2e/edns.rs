//! conformance.md §8 EDNS(0) (RFC 6891), and §9.1: ECS is not processed yet, so it is
//! ignored and never echoed.

use e2e::{
    DO, OptSpec, Query, RecordType, Reply, Server, assert_answer, assert_flag,
    assert_header_basics, assert_no_opt, assert_question_echoed, assert_rcode, flag, name_wire,
    opt, rcode,
};

use crate::fixtures::{EX_SOA, EX_WWW_A};

fn www() -> Query {
    Query::new("www.example.test.", RecordType::A)
}

const NSID: u16 = 3;
const ECS: u16 = 8;
const EXPIRE: u16 = 9;

/// ECS option data: family, source prefix, scope 0, address truncated to the prefix.
fn ecs(family: u16, source: u8, addr: &[u8]) -> (u16, Vec<u8>) {
    let mut d = family.to_be_bytes().to_vec();
    d.push(source);
    d.push(0);
    d.extend_from_slice(&addr[..usize::from(source).div_ceil(8)]);
    (ECS, d)
}

/// The OPT a v0 answer must carry: version 0, payload 1232, ext RCODE 0, owner root,
/// flags exactly `flags`, no options.
#[track_caller]
fn assert_clean_opt(r: &Reply, flags: u16) {
    let o = opt(r);
    assert_eq!(o.owner, ".", "OPT owner root\n{}", r.summary());
    assert_eq!(o.version, 0, "OPT version 0\n{}", r.summary());
    assert_eq!(o.payload, 1232, "advertised payload 1232\n{}", r.summary());
    assert_eq!(o.ext_rcode, 0, "extended RCODE 0\n{}", r.summary());
    assert_eq!(o.flags, flags, "OPT flags\n{}", r.summary());
    assert!(o.options.is_empty(), "no options echoed\n{}", r.summary());
}

/// BADVERS exactly as §8.3 describes it.
#[track_caller]
fn assert_badvers(q: &Query, r: &Reply, do_bit: bool) {
    assert_header_basics(q, r);
    assert_question_echoed(q, r);
    assert_eq!(
        r.header_rcode(),
        0,
        "header RCODE 0 (BADVERS low bits)\n{}",
        r.summary()
    );
    let o = opt(r);
    assert_eq!(o.ext_rcode, 1, "OPT extended RCODE 1\n{}", r.summary());
    assert_eq!(r.rcode(), rcode::BADVERS, "{}", r.summary());
    assert_eq!(o.version, 0, "response OPT version 0\n{}", r.summary());
    assert_eq!(o.owner, ".", "{}", r.summary());
    assert_eq!(o.flags & DO != 0, do_bit, "DO echoed\n{}", r.summary());
    assert_eq!(o.flags & !DO, 0, "other OPT flags clear\n{}", r.summary());
    assert!(o.options.is_empty(), "no options\n{}", r.summary());
    assert_flag(r, flag::AA, false);
    assert_flag(r, flag::TC, false);
    assert!(r.msg.answers.is_empty(), "no answer\n{}", r.summary());
    assert!(
        r.msg.authorities.is_empty(),
        "no authority\n{}",
        r.summary()
    );
    assert!(r.msg.additionals.is_empty(), "OPT only\n{}", r.summary());
}

#[test]
fn r8_1_no_opt_in_query_no_opt_in_response() {
    let s = Server::shared();
    for (name, t) in [
        ("www.example.test.", RecordType::A),
        ("nope.example.test.", RecordType::A),
        ("www.example.test.", RecordType::MX),
        ("nope.other.", RecordType::A),
        ("host.sub.example.test.", RecordType::A),
    ] {
        let r = s.udp(&Query::new(name, t));
        assert_no_opt(&r);
        let r = s.tcp(&Query::new(name, t));
        assert_no_opt(&r);
    }
}

#[test]
fn r8_2_opt_v0_answered_with_clean_opt() {
    let q = www().edns();
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_clean_opt(&r, 0);
}

#[test]
fn r8_2_do_copied() {
    let q = www().dnssec_ok();
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_clean_opt(&r, DO);
}

#[test]
fn r8_2_opt_in_negative_answers() {
    let s = Server::shared();
    for (name, t, rc) in [
        ("nope.example.test.", RecordType::A, rcode::NXDOMAIN),
        ("www.example.test.", RecordType::MX, rcode::NOERROR),
    ] {
        let q = Query::new(name, t).edns();
        let r = s.udp(&q);
        assert_rcode(&r, rc);
        assert_clean_opt(&r, 0);
    }
}

#[test]
fn r8_2_edns_payload_option_is_advertised() {
    let s = Server::standard(&["--edns-payload", "1400"]);
    let r = s.udp(&www().edns());
    assert_eq!(opt(&r).payload, 1400, "{}", r.summary());
}

#[test]
fn r8_3_badvers() {
    let q = www().edns_with(|o| o.version = 1);
    let r = Server::shared().udp(&q);
    assert_badvers(&q, &r, false);
}

#[test]
fn r8_3_badvers_do_echoed() {
    let q = www().edns_with(|o| {
        o.version = 1;
        o.flags = DO;
    });
    let r = Server::shared().udp(&q);
    assert_badvers(&q, &r, true);
}

#[test]
fn r8_3_badvers_for_every_version_and_any_name() {
    let s = Server::shared();
    for v in [1u8, 2, 100, 255] {
        for name in ["example.test.", "nope.example.test.", "nope.other."] {
            let q = Query::new(name, RecordType::SOA).edns_with(|o| o.version = v);
            let r = s.udp(&q);
            assert_badvers(&q, &r, false);
        }
    }
}

#[test]
fn r8_3_badvers_carries_no_nsid_or_ecs() {
    // A configured NSID and ECS processing on: BADVERS still answers with a
    // clean OPT, since the options belong to a version dnsd does not speak.
    let s = Server::standard(&["--nsid", "ns-badvers"]);
    let q = www().edns_with(|o| {
        o.version = 1;
        o.options.push((NSID, vec![]));
        o.options.push((8, vec![0, 1, 24, 0, 192, 0, 2]));
    });
    let r = s.udp(&q);
    assert_badvers(&q, &r, false);
    // Version 0: the same options are answered.
    let q = www().edns_with(|o| {
        o.options.push((NSID, vec![]));
        o.options.push((8, vec![0, 1, 24, 0, 192, 0, 2]));
    });
    let r = s.udp(&q);
    let codes: Vec<u16> = opt(&r).options.iter().map(|o| o.0).collect();
    assert_eq!(codes, [NSID, 8], "{}", r.summary());
}

#[test]
fn r8_3_badvers_with_unknown_flag_and_option_is_clean() {
    // RFC 8906 §8.2.5–8.2.6
    let q = www().edns_with(|o| {
        o.version = 1;
        o.flags = 0x0040;
        o.options.push((100, vec![1, 2, 3]));
    });
    let r = Server::shared().udp(&q);
    assert_badvers(&q, &r, false);
}

#[test]
fn r8_3_badvers_over_tcp() {
    let q = www().edns_with(|o| o.version = 1);
    let r = Server::shared().tcp(&q);
    assert_badvers(&q, &r, false);
}

#[test]
fn r8_4_unknown_option_ignored_not_echoed() {
    let q = www().edns_with(|o| {
        o.options.push((100, vec![]));
        o.options.push((65001, b"hello".to_vec()));
    });
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_clean_opt(&r, 0);
}

#[test]
fn r8_5_unknown_flag_cleared() {
    let s = Server::shared();
    let q = www().edns_with(|o| o.flags = 0x0040);
    let r = s.udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_clean_opt(&r, 0);
    // All the MBZ bits at once, with DO: only DO comes back. CO (0x4000) with DO is
    // dnssec.md's business, so leave that bit out.
    let q = www().edns_with(|o| o.flags = DO | 0x3FFF);
    let r = s.udp(&q);
    assert_clean_opt(&r, DO);
}

#[test]
fn r8_6_two_opts_formerr() {
    let mut q = www().edns();
    q.additional_rrs.push(OptSpec::default().to_bytes());
    let r = Server::hostile().udp_raw_answered(&q.to_bytes());
    assert_eq!(r.id, q.id, "{}", r.summary());
    assert_rcode_formerr(&r);
}

#[test]
fn r8_6_opt_in_answer_section_formerr() {
    let mut q = www();
    q.answer_rrs.push(OptSpec::default().to_bytes());
    let r = Server::hostile().udp_raw_answered(&q.to_bytes());
    assert_eq!(r.id, q.id, "{}", r.summary());
    assert_rcode_formerr(&r);
}

#[test]
fn r8_6_opt_owner_not_root_formerr() {
    let q = www().edns_with(|o| o.owner = name_wire("example.test."));
    let r = Server::hostile().udp_raw_answered(&q.to_bytes());
    assert_eq!(r.id, q.id, "{}", r.summary());
    assert_rcode_formerr(&r);
}

#[track_caller]
fn assert_rcode_formerr(r: &Reply) {
    assert_flag(r, flag::QR, true);
    assert_eq!(r.header_rcode(), 1, "FORMERR\n{}", r.summary());
    assert!(r.msg.answers.is_empty(), "{}", r.summary());
}

#[test]
fn r8_7_payload_below_512_treated_as_512() {
    let s = Server::shared();
    // mid.trunc.test A is about 290 octets: fits 512, not 100.
    for payload in [0u16, 1, 100, 511] {
        let q = Query::new("mid.trunc.test.", RecordType::A).bufsize(payload);
        let r = s.udp(&q);
        assert_rcode(&r, rcode::NOERROR);
        assert_flag(&r, flag::TC, false);
        assert_eq!(r.msg.answers.len(), 15, "all 15 A records\n{}", r.summary());
        assert!(r.len() <= 512, "{} octets", r.len());
        assert_clean_opt(&r, 0);
    }
    // big.trunc.test A (about 700 octets) does not fit 512: TC with a tiny payload too.
    let q = Query::new("big.trunc.test.", RecordType::A).bufsize(100);
    let r = s.udp(&q);
    assert_flag(&r, flag::TC, true);
    assert!(r.len() <= 512, "{} octets\n{}", r.len(), r.summary());
}

#[test]
fn r8_8_nsid_not_configured_ignored() {
    let q =
        Query::new("example.test.", RecordType::SOA).edns_with(|o| o.options.push((NSID, vec![])));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_clean_opt(&r, 0);
}

#[test]
fn r8_10_expire_ignored_on_primary() {
    let q = Query::new("example.test.", RecordType::SOA)
        .edns_with(|o| o.options.push((EXPIRE, vec![])));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    assert_clean_opt(&r, 0);
}

/// A server with ECS processing off (conformance §9.1); dnsd's default is on.
fn ecs_off() -> &'static Server {
    static ECS_OFF: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    ECS_OFF.get_or_init(|| Server::standard(&["--edns-client-subnet", "off"]))
}

#[test]
fn r8_11_several_known_options_together() {
    // NSID + EXPIRE + ECS 0.0.0.0/0 (RFC 8906 §8.2.10).
    let q = www().edns_with(|o| {
        o.options.push((NSID, vec![]));
        o.options.push((EXPIRE, vec![]));
        o.options.push(ecs(1, 0, &[]));
    });
    let r = ecs_off().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    // NSID unconfigured, EXPIRE on a primary and ECS while processing is off: all ignored.
    assert_clean_opt(&r, 0);
}

#[test]
fn r9_1_ecs_ignored_and_not_echoed() {
    let s = ecs_off();
    for opt_ in [
        ecs(1, 24, &[192, 0, 2, 0]),
        ecs(1, 32, &[198, 51, 100, 7]),
        ecs(2, 56, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]),
        ecs(1, 0, &[]),
    ] {
        let q = www().edns_with(|o| o.options.push(opt_.clone()));
        let r = s.udp(&q);
        assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
        assert_clean_opt(&r, 0);
    }
}

#[test]
fn r8_6_opt_in_authority_section_formerr() {
    let mut q = www();
    q.authority_rrs.push(OptSpec::default().to_bytes());
    let r = Server::hostile().udp_raw_answered(&q.to_bytes());
    assert_eq!(r.id, q.id, "{}", r.summary());
    assert_rcode_formerr(&r);
}

const COOKIE: u16 = 10;
const KEEPALIVE: u16 = 11;

#[test]
fn r8_9_cookie_client_only_either_answered_or_ignored() {
    // (choice) Server cookies per RFC 7873, or ignore without echoing.
    let client = vec![1, 2, 3, 4, 5, 6, 7, 8];
    let q = www().edns_with(|o| o.options.push((COOKIE, client.clone())));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    let o = opt(&r);
    for (code, data) in &o.options {
        assert_eq!(
            *code,
            COOKIE,
            "only a COOKIE may come back\n{}",
            r.summary()
        );
        assert!(
            (16..=40).contains(&data.len()) && data[..8] == client[..],
            "a returned COOKIE carries the client cookie and a server cookie\n{}",
            r.summary()
        );
    }
}

#[test]
fn r8_9_cookie_malformed_length_formerr() {
    // RFC 7873 §5.2.2: client cookie not 8 octets, or server cookie outside 8..=32.
    for len in [0usize, 1, 7, 9, 15, 41] {
        let q = www().edns_with(|o| o.options.push((COOKIE, vec![0xAB; len])));
        let r = Server::hostile().udp(&q);
        assert_eq!(r.id, q.id);
        assert_eq!(
            r.rcode(),
            rcode::FORMERR,
            "COOKIE of {len} octets\n{}",
            r.summary()
        );
    }
}

#[test]
fn r8_12_tcp_keepalive_ignored_over_udp() {
    let q = www().edns_with(|o| o.options.push((KEEPALIVE, vec![])));
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_clean_opt(&r, 0);
}

#[test]
fn r8_12_tcp_keepalive_over_tcp_reports_idle_timeout() {
    // (choice) If returned over TCP, it carries the idle timeout in 100 ms units.
    let s = Server::standard(&["--tcp-idle-timeout", "3"]);
    let q = www().edns_with(|o| o.options.push((KEEPALIVE, vec![])));
    let r = s.tcp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    for (code, data) in &opt(&r).options {
        assert_eq!(*code, KEEPALIVE, "{}", r.summary());
        assert_eq!(
            data,
            &30u16.to_be_bytes().to_vec(),
            "3 s = 30 × 100 ms\n{}",
            r.summary()
        );
    }
}
