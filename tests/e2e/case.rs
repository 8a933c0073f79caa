//! conformance.md §12: the question is echoed octet for octet (0x20), owners at QNAME use
//! the query's spelling, other names keep the zone's case, escaped octets round-trip.

use e2e::{
    Query, RecordType, Reply, Server, assert_answer, assert_question_echoed, assert_rcode,
    name_wire, rcode,
};

use crate::fixtures::{EX_SOA, EX_WWW_A};

fn owners(r: &Reply, section: u8) -> Vec<String> {
    r.raw_section(section)
        .iter()
        .map(|x| x.owner.clone())
        .collect()
}

#[test]
fn r12_1_question_echoed_octet_for_octet() {
    let s = Server::shared();
    for (name, t, rc) in [
        ("wWw.ExAmPlE.tEsT.", RecordType::A, rcode::NOERROR),
        ("NOPE.example.TEST.", RecordType::A, rcode::NXDOMAIN),
        ("WwW.eXaMpLe.TeSt.", RecordType::MX, rcode::NOERROR),
        ("HoSt.SuB.example.test.", RecordType::A, rcode::NOERROR),
        ("NoPe.OtHeR.", RecordType::A, rcode::REFUSED),
    ] {
        for tcp in [false, true] {
            let q = Query::new(name, t);
            let r = if tcp { s.tcp(&q) } else { s.udp(&q) };
            assert_question_echoed(&q, &r);
            assert_rcode(&r, rc);
        }
    }
}

#[test]
fn r12_1_question_echoed_for_notimp_and_badvers() {
    let s = Server::shared();
    let q = Query::new("ExAmPlE.TeSt.", RecordType::SOA).opcode(2);
    assert_question_echoed(&q, &s.udp(&q));
    let q = Query::new("ExAmPlE.TeSt.", RecordType::SOA).edns_with(|o| o.version = 1);
    assert_question_echoed(&q, &s.udp(&q));
}

#[test]
fn r12_2_answer_owner_in_query_spelling() {
    let q = Query::new("wWw.ExAmPlE.tEsT.", RecordType::A);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_eq!(owners(&r, 0), vec!["wWw.ExAmPlE.tEsT."], "{}", r.summary());
}

#[test]
fn r12_2_matching_is_case_insensitive_against_mixed_case_zone_data() {
    // The zone stores `MixedCase`; the query spells it differently.
    let q = Query::new("mixedcase.EXAMPLE.test.", RecordType::A);
    let r = Server::shared().udp(&q);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("mixedcase.example.test.", "A", "192.0.2.9")],
        &[],
        &[],
    );
    assert_eq!(
        owners(&r, 0),
        vec!["mixedcase.EXAMPLE.test."],
        "{}",
        r.summary()
    );
}

#[test]
fn r12_2_cname_chain_first_owner_query_spelling_rest_zone_case() {
    let s = Server::shared();
    let q = Query::new("AlIaS.example.TEST.", RecordType::A);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        owners(&r, 0),
        vec!["AlIaS.example.TEST.", "www.example.test."],
        "{}",
        r.summary()
    );
    let q = Query::new("TOMIXED.example.test.", RecordType::A);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        owners(&r, 0),
        vec!["TOMIXED.example.test.", "MixedCase.example.test."],
        "the target keeps the zone's stored case\n{}",
        r.summary()
    );
}

#[test]
fn r12_2_wildcard_owner_in_query_spelling() {
    let q = Query::new("FoO.BaR.wild.test.", RecordType::A);
    let r = Server::shared().udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(owners(&r, 0), vec!["FoO.BaR.wild.test."], "{}", r.summary());
}

#[test]
fn r12_3_escaped_dot_in_label_round_trips() {
    let s = Server::shared();
    let q = Query::new("dot\\.label.example.test.", RecordType::A);
    assert_eq!(q.questions[0].0[0], 9, "one 9-octet label");
    let r = s.udp(&q);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        owners(&r, 0),
        vec!["dot\\.label.example.test."],
        "{}",
        r.summary()
    );
    assert_eq!(r.msg.answers.len(), 1);
    assert_eq!(e2e::rdata_text(&r.msg.answers[0].data), "192.0.2.11");
    // Two labels `dot` and `label` are a different, absent name.
    let q = Query::new("dot.label.example.test.", RecordType::A);
    let r = s.udp(&q);
    assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r12_3_nul_octet_in_label_round_trips() {
    let s = Server::shared();
    let q = Query::new("nul\\000byte.example.test.", RecordType::A);
    assert_eq!(&q.questions[0].0[..9], b"\x08nul\x00byte");
    let r = s.udp(&q);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        owners(&r, 0),
        vec!["nul\\000byte.example.test."],
        "{}",
        r.summary()
    );
    assert_eq!(e2e::rdata_text(&r.msg.answers[0].data), "192.0.2.12");
    // The same label in upper case matches too (ASCII case folding only).
    let q = Query::new("NUL\\000BYTE.example.test.", RecordType::A);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        owners(&r, 0),
        vec!["NUL\\000BYTE.example.test."],
        "{}",
        r.summary()
    );
}

#[test]
fn r12_3_high_octets_are_not_case_folded() {
    // 0xC1 vs 0xE1 differ by 0x20 but are not ASCII letters: no match (RFC 4343 §3).
    let mut name = vec![3, b'w', b'w', 0xE1];
    name.extend_from_slice(&name_wire("example.test.")[..]);
    let q = Query::new_raw(name, 1);
    let r = Server::shared().udp(&q);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NXDOMAIN);
}

#[test]
fn r12_2_names_not_at_qname_keep_zone_case() {
    // The apex SOA of a negative answer and the delegation NS of a referral are not at
    // QNAME: they keep the zone's spelling even when a suffix of QNAME matches them.
    let s = Server::shared();
    let r = s.udp(&Query::new("NoPe.ExAmPlE.TeSt.", RecordType::A));
    assert_rcode(&r, rcode::NXDOMAIN);
    assert_eq!(owners(&r, 1), vec!["example.test."], "{}", r.summary());
    let r = s.udp(&Query::new("HoSt.SuB.ExAmPlE.TeSt.", RecordType::A));
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(owners(&r, 1), vec!["sub.example.test."], "{}", r.summary());
    assert_eq!(
        owners(&r, 2),
        vec!["ns.sub.example.test.", "ns.sub.example.test."],
        "{}",
        r.summary()
    );
}
