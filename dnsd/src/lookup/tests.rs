//! Lookup against a hand-built zone: the RFC 1034/4592/6672 decisions.

use std::sync::Arc;

use super::*;
use crate::wire::Name;
use crate::zone::{Record, build_zone};

const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 200));

fn name(text: &str) -> Name {
    let origin = Name::from_text("example.test.", None).unwrap();
    if text == "@" {
        return origin;
    }
    Name::from_text(text, Some(&origin)).unwrap()
}

fn rec(owner: &str, rtype: RType, rdata: Vec<u8>) -> Record {
    Record {
        owner: name(owner),
        rtype,
        class: 1,
        ttl: 300,
        rdata: rdata.into_boxed_slice(),
        location: None,
    }
}

fn a(octets: [u8; 4]) -> Vec<u8> {
    octets.to_vec()
}

fn target(text: &str) -> Vec<u8> {
    name(text).as_wire().to_vec()
}

fn catalog() -> Catalog {
    let mut soa = target("ns1");
    soa.extend_from_slice(&target("hostmaster"));
    for v in [1u32, 3600, 600, 86400, 60] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    let mut mx = vec![0, 10];
    mx.extend_from_slice(&target("mail"));
    let records = vec![
        rec("@", RType::SOA, soa),
        rec("@", RType::NS, target("ns1")),
        rec("ns1", RType::A, a([192, 0, 2, 53])),
        rec("www", RType::A, a([192, 0, 2, 1])),
        rec("mx", RType::MX, mx),
        rec("mail", RType::A, a([192, 0, 2, 25])),
        rec("alias", RType::CNAME, target("www")),
        rec("tosub", RType::CNAME, target("host.sub")),
        rec("loop1", RType::CNAME, target("loop2")),
        rec("loop2", RType::CNAME, target("loop1")),
        rec("dangling", RType::CNAME, target("nothere")),
        rec("dn", RType::DNAME, target("example.org.")),
        rec(
            "longdn",
            RType::DNAME,
            target(&format!("{0}.{0}.org.", "b".repeat(40))),
        ),
        rec("a.b", RType::A, a([192, 0, 2, 3])),
        rec("sub", RType::NS, target("ns.sub")),
        rec("ns.sub", RType::A, a([192, 0, 2, 99])),
        rec("*.w", RType::A, a([192, 0, 2, 7])),
        rec("x.w", RType::TXT, b"\x01x".to_vec()),
        rec("lua", RType::LUA, b"\x00\x01\x03abc".to_vec()),
    ];
    let zone = build_zone(&name("@"), records).unwrap();
    let mut catalog = Catalog::new();
    catalog.insert(Arc::new(zone));
    catalog
}

fn run<'z>(catalog: &'z Catalog, qname: &str, qtype: RType) -> Outcome<'z> {
    let mut out = Outcome::default();
    let q = name(qname).to_lowercase();
    // The outcome may borrow the qname only through Owner::Qname, which
    // carries no reference, so a temporary is fine here.
    resolve(
        catalog,
        q.as_wire(),
        qtype,
        AnyUdp::Minimal,
        false,
        &LuaQuery::plain(CLIENT),
        &mut out,
    );
    out
}

fn answer_types(out: &Outcome<'_>) -> Vec<RType> {
    out.answer.iter().map(|e| e.data.rtype()).collect()
}

#[test]
fn exact_nodata_nxdomain_and_refused() {
    let c = catalog();
    let out = run(&c, "www", RType::A);
    assert!(out.aa);
    assert_eq!(
        (out.rcode, answer_types(&out)),
        (Rcode::NOERROR, vec![RType::A])
    );
    let out = run(&c, "www", RType::MX);
    assert_eq!(
        (out.rcode, out.answer.len(), out.authority[0].data.rtype()),
        (Rcode::NOERROR, 0, RType::SOA)
    );
    assert_eq!(
        out.authority[0].ttl, 60,
        "negative TTL is min(SOA TTL, MINIMUM)"
    );
    let out = run(&c, "nope", RType::A);
    assert_eq!(out.rcode, Rcode::NXDOMAIN);
    let out = run(&c, "b", RType::A);
    assert_eq!(
        (out.rcode, out.answer.len()),
        (Rcode::NOERROR, 0),
        "empty non-terminal is NODATA"
    );
    let mut out = Outcome::default();
    let other = Name::from_text("nope.other.", None).unwrap();
    resolve(
        &c,
        other.as_wire(),
        RType::A,
        AnyUdp::Minimal,
        false,
        &LuaQuery::plain(CLIENT),
        &mut out,
    );
    assert_eq!((out.rcode, out.aa), (Rcode::REFUSED, false));
}

#[test]
fn lua_type_is_nodata() {
    let c = catalog();
    let out = run(&c, "lua", RType::LUA);
    assert_eq!(
        (out.rcode, out.answer.len(), out.authority.len()),
        (Rcode::NOERROR, 0, 1)
    );
}

#[test]
fn cname_chains_loops_and_dangling() {
    let c = catalog();
    let out = run(&c, "alias", RType::A);
    assert_eq!(answer_types(&out), vec![RType::CNAME, RType::A]);
    let out = run(&c, "alias", RType::CNAME);
    assert_eq!(answer_types(&out), vec![RType::CNAME]);
    let out = run(&c, "loop1", RType::A);
    assert_eq!(answer_types(&out), vec![RType::CNAME, RType::CNAME]);
    let out = run(&c, "dangling", RType::A);
    assert_eq!(
        (out.rcode, answer_types(&out)),
        (Rcode::NXDOMAIN, vec![RType::CNAME])
    );
}

#[test]
fn referral_with_glue_and_ds_at_parent() {
    let c = catalog();
    for qname in ["host.sub", "sub"] {
        let out = run(&c, qname, RType::A);
        assert!(!out.aa);
        assert_eq!(out.answer.len(), 0);
        assert_eq!(out.authority[0].data.rtype(), RType::NS);
        assert_eq!(out.additional[0].data.rtype(), RType::A);
        assert!(out.additional[0].required, "in-domain glue is required");
    }
    let out = run(&c, "sub", RType::DS);
    assert!(out.aa, "DS is answered by the parent");
    assert_eq!(out.authority[0].data.rtype(), RType::SOA);
}

#[test]
fn cname_into_a_delegation_ends_in_a_referral() {
    let c = catalog();
    let out = run(&c, "tosub", RType::A);
    assert!(out.aa, "AA follows the first name");
    assert_eq!(answer_types(&out), vec![RType::CNAME]);
    assert_eq!(out.authority[0].data.rtype(), RType::NS);
    assert_eq!(out.additional[0].data.rtype(), RType::A);
}

#[test]
fn additional_for_mx() {
    let c = catalog();
    let out = run(&c, "mx", RType::MX);
    assert_eq!(out.additional.len(), 1);
    assert!(!out.additional[0].required);
}

#[test]
fn wildcards() {
    let c = catalog();
    let out = run(&c, "foo.w", RType::A);
    assert_eq!(
        (out.rcode, out.answer[0].owner),
        (Rcode::NOERROR, Owner::Qname)
    );
    let out = run(&c, "a.foo.w", RType::A);
    assert_eq!(answer_types(&out), vec![RType::A]);
    let out = run(&c, "foo.w", RType::MX);
    assert_eq!((out.rcode, out.answer.len()), (Rcode::NOERROR, 0));
    let out = run(&c, "x.w", RType::A);
    assert_eq!(
        (out.rcode, out.answer.len()),
        (Rcode::NOERROR, 0),
        "existing name blocks the wildcard"
    );
    let out = run(&c, "y.x.w", RType::A);
    assert_eq!(out.rcode, Rcode::NXDOMAIN);
}

#[test]
fn dname_substitution() {
    let c = catalog();
    let out = run(&c, "x.dn", RType::A);
    assert_eq!(answer_types(&out), vec![RType::DNAME, RType::CNAME]);
    let Data::SynthCname(i) = out.answer[1].data else {
        panic!()
    };
    assert_eq!(
        out.synth[i as usize].as_wire(),
        b"\x01x\x07example\x03org\x00"
    );
    let label = "a".repeat(60);
    let long = format!("{label}.{label}.{label}.longdn");
    let out = run(&c, &long, RType::A);
    assert_eq!(out.rcode, Rcode::YXDOMAIN);
    let out = run(&c, "dn", RType::DNAME);
    assert_eq!(answer_types(&out), vec![RType::DNAME]);
}

#[test]
fn any_minimal_and_full() {
    let c = catalog();
    let out = run(&c, "www", RType::ANY);
    assert!(matches!(out.answer[0].data, Data::Hinfo8482));
    let mut out = Outcome::default();
    let q = name("@").to_lowercase();
    resolve(
        &c,
        q.as_wire(),
        RType::ANY,
        AnyUdp::Minimal,
        true,
        &LuaQuery::plain(CLIENT),
        &mut out,
    );
    assert_eq!(answer_types(&out), vec![RType::NS, RType::SOA]);
}
