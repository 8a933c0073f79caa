//! conformance.md §11: truncation over UDP, on trunc.test. Limit = min(max(512, client
//! payload), 1232); 512 without EDNS.

use e2e::{
    Query, RecordType, Reply, Server, assert_flag, assert_header_basics, assert_question_echoed,
    assert_rcode, flag, opt, rcode,
};

use crate::fixtures::{a_run, deleg_glue, deleg_ns, huge_txt, mxbig_glue, mxbig_mx};

/// §11.1: TC=1, NOERROR, header and question (and OPT if sent) present, no partial
/// RRsets (the one answer RRset does not fit, so the answer is empty), size within limit.
#[track_caller]
fn assert_truncated(q: &Query, r: &Reply, aa: bool, limit: usize) {
    assert_header_basics(q, r);
    assert_question_echoed(q, r);
    assert_rcode(r, rcode::NOERROR);
    assert_flag(r, flag::TC, true);
    assert_flag(r, flag::AA, aa);
    assert!(
        r.len() <= limit,
        "{} octets > limit {limit}\n{}",
        r.len(),
        r.summary()
    );
    assert!(
        r.msg.answers.is_empty(),
        "no partial RRsets\n{}",
        r.summary()
    );
    if q.opt.is_some() {
        let o = opt(r);
        assert_eq!(o.version, 0, "{}", r.summary());
        assert_eq!(o.payload, 1232, "{}", r.summary());
    } else {
        e2e::assert_no_opt(r);
    }
}

#[test]
fn r11_1_over_512_without_edns_truncated() {
    let q = Query::new("big.trunc.test.", RecordType::A);
    let r = Server::shared().udp(&q);
    assert_truncated(&q, &r, true, 512);
}

#[test]
fn r11_1_over_512_with_edns_512_truncated_opt_kept() {
    let q = Query::new("big.trunc.test.", RecordType::A).bufsize(512);
    let r = Server::shared().udp(&q);
    assert_truncated(&q, &r, true, 512);
}

#[test]
fn r11_1_fits_1232_not_truncated() {
    let q = Query::new("big.trunc.test.", RecordType::A).edns();
    let r = Server::shared().udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, false);
    assert_eq!(r.answer(), a_run("big.trunc.test.", 40), "{}", r.summary());
}

#[test]
fn r11_1_over_1232_truncated_then_full_over_tcp() {
    let s = Server::shared();
    let q = Query::new("huge.trunc.test.", RecordType::TXT).edns();
    let r = s.udp(&q);
    assert_truncated(&q, &r, true, 1232);
    let r = s.tcp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, false);
    assert_flag(&r, flag::AA, true);
    assert_eq!(r.answer(), huge_txt(), "{}", r.summary());
}

#[test]
fn r11_1_client_payload_above_1232_capped() {
    // The server's limit is 1232 whatever the client offers.
    let q = Query::new("huge.trunc.test.", RecordType::TXT).bufsize(4096);
    let r = Server::shared().udp(&q);
    assert_truncated(&q, &r, true, 1232);
}

#[test]
fn r11_1_payload_between_512_and_1232_is_the_limit() {
    // big (about 700 octets) fits 800 but not 600.
    let s = Server::shared();
    let q = Query::new("big.trunc.test.", RecordType::A).bufsize(600);
    let r = s.udp(&q);
    assert_truncated(&q, &r, true, 600);
    let q = Query::new("big.trunc.test.", RecordType::A).bufsize(800);
    let r = s.udp(&q);
    assert_flag(&r, flag::TC, false);
    assert!(r.len() <= 800);
    assert_eq!(r.msg.answers.len(), 40, "{}", r.summary());
}

#[test]
fn r11_3_referral_glue_not_fitting_truncated() {
    let s = Server::shared();
    let q = Query::new("host.deleg.trunc.test.", RecordType::A);
    let r = s.udp(&q);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, true);
    assert_flag(&r, flag::AA, false);
    assert!(r.len() <= 512, "{} octets", r.len());
}

#[test]
fn r11_3_referral_full_over_tcp_and_with_edns() {
    let s = Server::shared();
    for (tcp, q) in [
        (true, Query::new("host.deleg.trunc.test.", RecordType::A)),
        (
            false,
            Query::new("host.deleg.trunc.test.", RecordType::A).edns(),
        ),
    ] {
        let r = if tcp { s.tcp(&q) } else { s.udp(&q) };
        assert_rcode(&r, rcode::NOERROR);
        assert_flag(&r, flag::TC, false);
        assert_flag(&r, flag::AA, false);
        assert!(r.msg.answers.is_empty(), "{}", r.summary());
        assert_eq!(r.authority(), deleg_ns(), "{}", r.summary());
        assert_eq!(r.additional(), deleg_glue(), "{}", r.summary());
    }
}

#[test]
fn r11_4_other_additional_dropped_without_tc() {
    let s = Server::shared();
    let q = Query::new("mxbig.trunc.test.", RecordType::MX);
    let r = s.udp(&q);
    assert_header_basics(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    assert_flag(&r, flag::TC, false);
    assert!(r.len() <= 512, "{} octets", r.len());
    assert_eq!(r.answer(), mxbig_mx(), "{}", r.summary());
    let all = mxbig_glue();
    let got = r.additional();
    assert!(
        got.len() < all.len(),
        "not everything fits 512\n{}",
        r.summary()
    );
    for rr in &got {
        assert!(all.contains(rr), "unexpected additional {rr:?}");
    }
}

#[test]
fn r11_4_additional_complete_when_it_fits() {
    let q = Query::new("mxbig.trunc.test.", RecordType::MX).edns();
    let r = Server::shared().udp(&q);
    assert_flag(&r, flag::TC, false);
    assert_eq!(r.answer(), mxbig_mx(), "{}", r.summary());
    assert_eq!(r.additional(), mxbig_glue(), "{}", r.summary());
}

#[test]
fn r11_4_additional_dropped_opt_kept_at_512() {
    let q = Query::new("mxbig.trunc.test.", RecordType::MX).bufsize(512);
    let r = Server::shared().udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, false);
    assert!(r.len() <= 512, "{} octets", r.len());
    assert_eq!(r.answer(), mxbig_mx(), "{}", r.summary());
    let o = opt(&r);
    assert_eq!((o.version, o.payload), (0, 1232), "{}", r.summary());
    assert!(r.opt_is_last, "{}", r.summary());
    let all = mxbig_glue();
    for rr in r.additional() {
        assert!(all.contains(&rr), "unexpected additional {rr:?}");
    }
}

#[test]
fn r11_3_referral_glue_not_fitting_512_with_edns_truncated_opt_kept() {
    let q = Query::new("host.deleg.trunc.test.", RecordType::A).bufsize(512);
    let r = Server::shared().udp(&q);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, true);
    assert_flag(&r, flag::AA, false);
    assert!(r.len() <= 512, "{} octets", r.len());
    assert_eq!(opt(&r).version, 0, "{}", r.summary());
}
