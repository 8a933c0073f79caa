//! conformance.md §3: classes. IN is served; CHAOS identity names only when configured
//! (`--chaos-version`, `--chaos-id`), REFUSED otherwise; every other class REFUSED, AA=0.

use e2e::{
    Query, RecordType, Server, assert_answer, assert_flag, assert_header_basics,
    assert_question_echoed, assert_rcode, flag, rcode,
};

use crate::fixtures::EX_WWW_A;

const CH: u16 = 3;

#[test]
fn r3_1_class_in_served() {
    let q = Query::new("www.example.test.", RecordType::A).class(1);
    let r = Server::shared().udp(&q);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r3_2_chaos_refused_by_default() {
    let s = Server::shared();
    for name in [
        "version.bind.",
        "hostname.bind.",
        "id.server.",
        "version.server.",
    ] {
        let q = Query::new(name, RecordType::TXT).class(CH);
        let r = s.udp(&q);
        assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
    }
}

#[track_caller]
fn assert_chaos_txt(s: &Server, name: &str, want: &str) {
    let q = Query::new(name, RecordType::TXT).class(CH);
    let r = s.udp(&q);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(
        r.answer(),
        e2e::rrs(&[(name, "TXT", &format!("\"{want}\""))]),
        "CH TXT answer\n{}",
        r.summary()
    );
    let raw = r.raw_section(0);
    assert_eq!(raw[0].class, CH, "answer class CH\n{}", r.summary());
}

#[test]
fn r3_2_chaos_version_answered_when_configured() {
    let s = Server::standard(&["--chaos-version", "dnsd-e2e 1.2.3"]);
    assert_chaos_txt(&s, "version.bind.", "dnsd-e2e 1.2.3");
    assert_chaos_txt(&s, "VERSION.BIND.", "dnsd-e2e 1.2.3");
    // Not configured: still REFUSED.
    let q = Query::new("hostname.bind.", RecordType::TXT).class(CH);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::REFUSED);
    assert_flag(&r, flag::AA, false);
}

#[test]
fn r3_2_chaos_id_answered_when_configured() {
    let s = Server::standard(&["--chaos-id", "ns-e2e.example"]);
    assert_chaos_txt(&s, "hostname.bind.", "ns-e2e.example");
    assert_chaos_txt(&s, "id.server.", "ns-e2e.example");
    let q = Query::new("version.bind.", RecordType::TXT).class(CH);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::REFUSED);
}

#[test]
fn r3_3_other_classes_refused() {
    let s = Server::shared();
    let cases: &[(&str, RecordType, u16)] = &[
        ("www.example.test.", RecordType::A, CH),
        ("www.example.test.", RecordType::A, 4),  // HS
        ("example.test.", RecordType::SOA, 255),  // ANY
        ("example.test.", RecordType::SOA, 254),  // NONE
        ("example.test.", RecordType::SOA, 2),    // unassigned
        ("example.test.", RecordType::SOA, 4242), // unassigned
    ];
    for &(name, t, class) in cases {
        let q = Query::new(name, t).class(class);
        let r = s.udp(&q);
        assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
    }
}
