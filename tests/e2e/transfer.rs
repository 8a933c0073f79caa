//! conformance.md §13 with dnsd's defaults: transfers are not offered, so AXFR and IXFR
//! are REFUSED (AA=0, §1.9), and AXFR over UDP is NOTIMP (§13.1.4).

use e2e::{
    Query, RecordType, Reply, Server, assert_flag, assert_header_basics, assert_question_echoed,
    assert_rcode, flag, name_wire, rcode,
};

#[track_caller]
fn assert_shape(q: &Query, r: &Reply, rc: u16) {
    assert_header_basics(q, r);
    assert_question_echoed(q, r);
    assert_rcode(r, rc);
    assert_flag(r, flag::AA, false);
    assert!(r.msg.answers.is_empty(), "no records\n{}", r.summary());
}

/// IXFR query: the client's SOA (serial 1) in the authority section (RFC 1995 §3).
fn ixfr() -> Query {
    let mut q = Query::new("example.test.", RecordType::IXFR);
    let mut soa = name_wire("example.test.");
    soa.extend_from_slice(&[0, 6, 0, 1, 0, 0, 0x0e, 0x10]);
    let mut rdata = name_wire("ns1.example.test.");
    rdata.extend_from_slice(&name_wire("hostmaster.example.test."));
    for v in [1u32, 7200, 3600, 1209600, 300] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    soa.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    soa.extend_from_slice(&rdata);
    q.authority_rrs.push(soa);
    q
}

#[test]
fn r13_1_2_axfr_over_tcp_refused() {
    let q = Query::new("example.test.", RecordType::AXFR);
    let r = Server::shared().tcp(&q);
    assert_shape(&q, &r, rcode::REFUSED);
}

#[test]
fn r13_1_4_axfr_over_udp_notimp() {
    let q = Query::new("example.test.", RecordType::AXFR);
    let r = Server::shared().udp(&q);
    assert_shape(&q, &r, rcode::NOTIMP);
}

#[test]
fn r13_2_ixfr_refused() {
    let s = Server::shared();
    let q = ixfr();
    assert_shape(&q, &s.tcp(&q), rcode::REFUSED);
    assert_shape(&q, &s.udp(&q), rcode::REFUSED);
}
