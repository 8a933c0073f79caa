//! conformance.md §1: header handling and malformed input.
//!
//! Malformed queries go to [`Server::hostile`], so a crash there shows up as a failure of
//! these tests rather than of every test.

use e2e::{
    Query, RecordType, Server, assert_answer, assert_flag, assert_header_basics,
    assert_question_echoed, assert_rcode, flag, name_wire, rcode,
};

use crate::fixtures::{EX_SOA, EX_WWW_A};

fn www() -> Query {
    Query::new("www.example.test.", RecordType::A)
}

/// After a drop, the server must still answer.
#[track_caller]
fn still_serving(s: &Server) {
    let q = www();
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOERROR);
}

/// A FORMERR response: ID copied, QR=1, RCODE 1, AA=0.
#[track_caller]
fn assert_formerr(q: &Query, bytes: &[u8]) -> e2e::Reply {
    let s = Server::hostile();
    let r = s.udp_raw_answered(bytes);
    assert_eq!(r.id, q.id, "ID copied\n{}", r.summary());
    assert_flag(&r, flag::QR, true);
    assert_rcode(&r, rcode::FORMERR);
    assert_flag(&r, flag::AA, false);
    assert!(r.msg.answers.is_empty(), "no answer\n{}", r.summary());
    r
}

#[test]
fn r1_1_header_fields_copied_rd0() {
    let q = www().id(0xBEEF);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r1_1_header_fields_copied_rd1_cd1() {
    let q = www().id(0x0001).set(flag::RD | flag::CD);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r1_1_id_zero_and_max_copied() {
    for id in [0u16, 0xFFFF] {
        let q = www().id(id);
        let r = Server::shared().udp(&q);
        assert_header_basics(&q, &r);
    }
}

#[test]
fn r1_2_query_with_qr_set_is_dropped() {
    let s = Server::hostile();
    let q = www().set(flag::QR);
    let got = s.udp_raw(&q.to_bytes());
    assert!(
        got.is_none(),
        "a message with QR=1 must not be answered; got {}",
        e2e::hex(&got.unwrap_or_default())
    );
    still_serving(s);
}

#[test]
fn r1_2_response_shaped_message_with_answers_is_dropped() {
    // A full response (QR=1, AA=1, an answer RR) sent to the server: never answer it.
    let s = Server::hostile();
    let mut q = www().set(flag::QR | flag::AA);
    let mut rr = name_wire("www.example.test.");
    rr.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 80]);
    q.answer_rrs.push(rr);
    assert!(
        s.udp_raw(&q.to_bytes()).is_none(),
        "response must be dropped"
    );
    still_serving(s);
}

#[test]
fn r1_3_short_messages_are_dropped() {
    let s = Server::hostile();
    let full = www().to_bytes();
    for len in [0usize, 1, 2, 6, 11] {
        let got = s.udp_raw(&full[..len]);
        assert!(
            got.is_none(),
            "{len}-octet message must be dropped; got {}",
            e2e::hex(&got.unwrap_or_default())
        );
    }
    still_serving(s);
}

#[test]
fn r1_4_truncated_question_is_formerr() {
    // QDCOUNT=1 but the question stops after the name (no QTYPE/QCLASS).
    let q = www();
    let mut b = q.to_bytes();
    b.truncate(b.len() - 4);
    assert_formerr(&q, &b);
}

#[test]
fn r1_4_header_only_claiming_a_question_is_formerr() {
    // 12 octets, QDCOUNT=1, no body.
    let q = www();
    let b = q.to_bytes()[..12].to_vec();
    assert_formerr(&q, &b);
}

#[test]
fn r1_4_bad_label_type_is_formerr() {
    // 0x40 and 0x80 label types (extended / reserved): the "label > 63" octets.
    for first in [0x40u8, 0x7F, 0x80, 0xBF] {
        let mut name = vec![first];
        name.extend_from_slice(b"abcdefgh");
        name.push(0);
        let q = Query::new_raw(name, 1);
        assert_formerr(&q, &q.to_bytes());
    }
}

#[test]
fn r1_4_compression_pointer_loop_is_formerr() {
    // The question name is a pointer to itself (offset 12).
    let q = Query::new_raw(vec![0xC0, 12], 1);
    assert_formerr(&q, &q.to_bytes());
    // Two pointers pointing at each other: label "a" then pointer to 12.
    let q = Query::new_raw(vec![1, b'a', 0xC0, 12], 1);
    assert_formerr(&q, &q.to_bytes());
}

#[test]
fn r1_4_pointer_past_end_is_formerr() {
    let q = Query::new_raw(vec![0xC0, 0xFF], 1);
    assert_formerr(&q, &q.to_bytes());
}

#[test]
fn r1_4_name_longer_than_255_is_formerr() {
    // Five labels of 63 octets: 321 octets of wire name.
    let mut name = Vec::new();
    for _ in 0..5 {
        name.push(63);
        name.extend_from_slice(&[b'a'; 63]);
    }
    name.push(0);
    let q = Query::new_raw(name, 1);
    assert_formerr(&q, &q.to_bytes());
}

#[test]
fn r1_4_truncated_additional_rr_is_formerr_with_question_echoed() {
    // A good question, ARCOUNT=1, and half an OPT record.
    let q = www().edns();
    let mut b = q.to_bytes();
    b.truncate(b.len() - 5);
    let r = assert_formerr(&q, &b);
    assert_question_echoed(&q, &r);
}

#[test]
fn r1_4_trailing_garbage_is_formerr() {
    let mut q = www();
    q.trailing = vec![0xDE, 0xAD, 0xBE, 0xEF];
    let r = assert_formerr(&q, &q.to_bytes());
    assert_question_echoed(&q, &r);
}

#[test]
fn r1_5_qdcount_zero_is_formerr() {
    let q = Query::header_only();
    assert_formerr(&q, &q.to_bytes());
}

#[test]
fn r1_5_qdcount_two_is_formerr() {
    let mut q = www();
    q.questions
        .push((name_wire("example.test."), u16::from(RecordType::SOA), 1));
    assert_formerr(&q, &q.to_bytes());
}

#[test]
fn r1_6_z_bit_answered_with_z_clear() {
    let q = Query::new("example.test.", RecordType::SOA).set(flag::Z);
    let r = Server::shared().udp(&q);
    // assert_answer checks Z=0 in the response through assert_header_basics.
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}

#[test]
fn r1_7_ad_in_query_not_in_response() {
    let q = www().set(flag::AD);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r1_7_cd_echoed() {
    let q = www().set(flag::CD);
    let r = Server::shared().udp(&q);
    assert_flag(&r, flag::CD, true);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r1_8_rd_answered_authoritatively_without_recursion() {
    let q = www().set(flag::RD);
    let r = Server::shared().udp(&q);
    assert_flag(&r, flag::RD, true);
    assert_flag(&r, flag::RA, false);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r1_8_rd_for_unserved_name_is_still_refused() {
    let q = Query::new("www.example.org.", RecordType::A).set(flag::RD);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
}

#[test]
fn r1_9_aa_matrix() {
    let s = Server::shared();
    let cases: &[(&str, RecordType, u8, bool)] = &[
        ("www.example.test.", RecordType::A, 0, true),
        ("nope.example.test.", RecordType::A, 3, true),
        ("www.example.test.", RecordType::MX, 0, true),
        ("alias.example.test.", RecordType::A, 0, true),
        ("dangling.example.test.", RecordType::A, 3, true),
        ("host.sub.example.test.", RecordType::A, 0, false),
        ("nope.other.", RecordType::A, 5, false),
    ];
    for &(name, t, rc, aa) in cases {
        let q = Query::new(name, t);
        let r = s.udp(&q);
        assert_rcode(&r, u16::from(rc));
        assert_flag(&r, flag::AA, aa);
    }
    // NOTIMP: AA=0
    let q = Query::new("www.example.test.", RecordType::A).opcode(2);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOTIMP);
    assert_flag(&r, flag::AA, false);
}
