//! conformance.md §2: opcodes. Anything but QUERY, NOTIFY and UPDATE is NOTIMP, AA=0,
//! no answer or authority records, question echoed, OPT only if the query had one.

use e2e::{
    Query, RecordType, Server, assert_flag, assert_header_basics, assert_no_opt,
    assert_question_echoed, assert_rcode, flag, name_wire, opt, rcode,
};

use crate::fixtures::EX_SOA;

const UNIMPLEMENTED: &[u8] = &[1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

#[track_caller]
fn assert_notimp(q: &Query, r: &e2e::Reply) {
    assert_header_basics(q, r);
    assert_rcode(r, rcode::NOTIMP);
    assert_flag(r, flag::AA, false);
    assert_flag(r, flag::TC, false);
    assert!(r.msg.answers.is_empty(), "no answer\n{}", r.summary());
    assert!(
        r.msg.authorities.is_empty(),
        "no authority\n{}",
        r.summary()
    );
    assert!(
        r.msg.additionals.is_empty(),
        "no additional\n{}",
        r.summary()
    );
}

#[test]
fn r2_1_query_opcode_processed() {
    let q = Query::new("example.test.", RecordType::SOA);
    let r = Server::shared().udp(&q);
    e2e::assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}

#[test]
fn r2_2_unknown_opcodes_notimp_without_edns() {
    let s = Server::shared();
    for &op in UNIMPLEMENTED {
        let q = Query::new("example.test.", RecordType::SOA).opcode(op);
        let r = s.udp(&q);
        assert_notimp(&q, &r);
        assert_question_echoed(&q, &r);
        assert_no_opt(&r);
    }
}

#[test]
fn r2_2_unknown_opcodes_notimp_with_edns_keep_opt() {
    let s = Server::shared();
    for &op in UNIMPLEMENTED {
        let q = Query::new("example.test.", RecordType::SOA)
            .opcode(op)
            .edns();
        let r = s.udp(&q);
        assert_notimp(&q, &r);
        assert_question_echoed(&q, &r);
        let o = opt(&r);
        assert_eq!(o.version, 0, "OPT version\n{}", r.summary());
        assert_eq!(o.ext_rcode, 0, "NOTIMP fits the header\n{}", r.summary());
    }
}

#[test]
fn r2_2_header_only_unknown_opcode_notimp() {
    // RFC 8906 §8.1.4: `+opcode=15 +header-only`.
    let s = Server::shared();
    for &op in UNIMPLEMENTED {
        let q = Query::header_only().opcode(op);
        let r = s.udp(&q);
        assert_notimp(&q, &r);
        assert_eq!(r.counts, [0, 0, 0, 0], "no records at all\n{}", r.summary());
    }
}

#[test]
fn r2_2_notimp_response_flags_reset() {
    // genreport `opcodeflg`: response-only flags set in the query must not leak back.
    let q = Query::new("example.test.", RecordType::SOA)
        .opcode(15)
        .set(flag::AA | flag::TC | flag::RA | flag::Z | flag::AD);
    let r = Server::shared().udp(&q);
    assert_notimp(&q, &r);
}

#[test]
fn r2_2_rd_and_cd_are_not_copied_for_other_opcodes() {
    // RD and CD are defined for QUERY only: NOTIMP (and NOTIFY's REFUSED)
    // carry QR and the OPCODE alone; a QUERY keeps both.
    let s = Server::shared();
    for opcode in [2u8, 4, 5, 15] {
        let q = Query::new("example.test.", RecordType::SOA)
            .opcode(opcode)
            .set(flag::RD | flag::CD);
        let r = s.udp(&q);
        assert_flag(&r, flag::RD, false);
        assert_flag(&r, flag::CD, false);
        assert_eq!(r.opcode(), opcode, "{}", r.summary());
    }
    let q = Query::new("example.test.", RecordType::SOA).set(flag::RD | flag::CD);
    let r = s.udp(&q);
    assert_flag(&r, flag::RD, true);
    assert_flag(&r, flag::CD, true);
}

#[test]
fn r2_2_notimp_over_tcp() {
    let q = Query::new("example.test.", RecordType::SOA).opcode(2);
    let r = Server::shared().tcp(&q);
    assert_notimp(&q, &r);
    assert_question_echoed(&q, &r);
}

#[test]
fn r2_3_notify_refused_on_primary() {
    // §13.3.3: a zone that is not secondary here → REFUSED. AA=0 on REFUSED (§1.9).
    let s = Server::shared();
    let q = Query::new("example.test.", RecordType::SOA)
        .opcode(4)
        .set(flag::AA);
    let r = s.udp(&q);
    assert_eq!(r.opcode(), 4, "opcode echoed\n{}", r.summary());
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::REFUSED);
    assert_flag(&r, flag::AA, false);
    assert!(r.msg.answers.is_empty(), "no answer\n{}", r.summary());
    // An unknown zone: REFUSED as well.
    let q = Query::new("example.org.", RecordType::SOA).opcode(4);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::REFUSED);
}

#[test]
fn r2_4_update_notimp() {
    // An UPDATE for a served zone: zone section example.test SOA IN, one delete-RRset
    // update (www A, class ANY, TTL 0, empty rdata) in the update section.
    let mut q = Query::new("example.test.", RecordType::SOA).opcode(5);
    let mut upd = name_wire("www.example.test.");
    upd.extend_from_slice(&[0, 1, 0, 255, 0, 0, 0, 0, 0, 0]);
    // The update section is the third section, where a query has its authority.
    q.authority_rrs.push(upd);
    let b = q.to_bytes();
    let r = Server::shared().udp_raw_answered(&b);
    assert_eq!(r.id, q.id, "ID copied\n{}", r.summary());
    assert_eq!(r.opcode(), 5, "opcode echoed\n{}", r.summary());
    assert_flag(&r, flag::QR, true);
    assert_rcode(&r, rcode::NOTIMP);
    assert_flag(&r, flag::AA, false);
}

#[test]
fn r2_4_update_with_zone_section_only_notimp() {
    let q = Query::new("example.test.", RecordType::SOA).opcode(5);
    let r = Server::shared().udp(&q);
    assert_eq!(r.opcode(), 5, "opcode echoed\n{}", r.summary());
    assert_header_basics(&q, &r);
    assert_rcode(&r, rcode::NOTIMP);
    assert_flag(&r, flag::AA, false);
}
