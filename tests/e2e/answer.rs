//! conformance.md §4: the answer algorithm, one test per row of the table, on the
//! example.test fixture (`tests/data/zones/example.test.zone`).

use e2e::{
    Query, RecordType, Reply, Server, answer_types, ask, assert_answer, assert_flag,
    assert_header_basics, assert_question_echoed, assert_rcode, distinct, flag, opt, rcode, rrs,
};

use crate::fixtures::{EX_NS, EX_NS1_A, EX_SOA, EX_WWW_A};

fn ask_edns(name: &str, t: RecordType) -> (Query, Reply) {
    let q = Query::new(name, t).edns();
    let r = Server::shared().udp(&q);
    (q, r)
}

#[test]
fn r4_1_no_enclosing_zone_refused() {
    let (q, r) = ask("nope.other.", RecordType::A);
    assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
}

#[test]
fn r4_1_no_enclosing_zone_refused_with_edns_opt_only() {
    let (q, r) = ask_edns("nope.other.", RecordType::A);
    assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
    let o = opt(&r);
    // Optional EDE 20 "Not Authoritative"; nothing else.
    for (code, data) in &o.options {
        assert_eq!(*code, 15, "only EDE may be added\n{}", r.summary());
        assert!(
            data.len() >= 2 && u16::from_be_bytes([data[0], data[1]]) == 20,
            "EDE info-code 20\n{}",
            r.summary()
        );
    }
}

#[test]
fn r4_1_parent_of_served_zone_refused() {
    // `test.` and the root enclose served zones but are not served.
    for name in ["test.", "."] {
        let (q, r) = ask(name, RecordType::SOA);
        assert_answer(&q, &r, rcode::REFUSED, false, &[], &[], &[]);
    }
}

#[test]
fn r4_2_www_a() {
    let (q, r) = ask("www.example.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r4_3_type_absent_nodata() {
    let (q, r) = ask("www.example.test.", RecordType::MX);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_4_name_absent_nxdomain() {
    let (q, r) = ask("nope.example.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_4_name_absent_deep_nxdomain() {
    let (q, r) = ask("x.y.nope.example.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NXDOMAIN, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_5_empty_non_terminal_nodata() {
    let (q, r) = ask("b.example.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_6_mx_with_target_addresses_in_additional() {
    let (q, r) = ask("mx.example.test.", RecordType::MX);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("mx.example.test.", "MX", "10 mail.example.test.")],
        &[],
        &[
            ("mail.example.test.", "A", "192.0.2.25"),
            ("mail.example.test.", "AAAA", "2001:db8::25"),
        ],
    );
}

#[test]
fn r4_6_additional_only_from_served_zones_and_opt_last() {
    // The MX target is not served: nothing may be added for it.
    let (q, r) = ask_edns("mxext.example.test.", RecordType::MX);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("mxext.example.test.", "MX", "10 mail.example.org.")],
        &[],
        &[],
    );
    // With additional data and EDNS, the OPT comes last.
    let (_, r) = ask_edns("mx.example.test.", RecordType::MX);
    assert_eq!(r.additional().len(), 2, "{}", r.summary());
    assert!(r.opt_is_last, "OPT must be the last RR\n{}", r.summary());
}

#[test]
fn r4_6_srv_target_address_is_the_only_possible_additional() {
    let (q, r) = ask("_sip._tcp.example.test.", RecordType::SRV);
    assert_header_basics(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    assert_eq!(
        r.answer(),
        rrs(&[(
            "_sip._tcp.example.test.",
            "SRV",
            "0 5 5060 sipserver.example.test."
        )]),
        "{}",
        r.summary()
    );
    assert!(r.authority().is_empty(), "{}", r.summary());
    let allowed = rrs(&[("sipserver.example.test.", "A", "192.0.2.60")]);
    for rr in r.additional() {
        assert!(
            allowed.contains(&rr),
            "unexpected additional {rr:?}\n{}",
            r.summary()
        );
    }
}

#[test]
fn r4_7_cname_chased_in_zone() {
    let (q, r) = ask("alias.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("alias.example.test.", "CNAME", "www.example.test."),
            EX_WWW_A,
        ],
        &[],
        &[],
    );
    assert_eq!(
        answer_types(&r),
        vec![5, 1],
        "CNAME before its target\n{}",
        r.summary()
    );
}

#[test]
fn r4_7_cname_chain_of_three_chased() {
    let (q, r) = ask("chain1.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("chain1.example.test.", "CNAME", "chain2.example.test."),
            ("chain2.example.test.", "CNAME", "alias.example.test."),
            ("alias.example.test.", "CNAME", "www.example.test."),
            EX_WWW_A,
        ],
        &[],
        &[],
    );
    let owners: Vec<String> = r.raw_section(0).iter().map(|x| x.owner.clone()).collect();
    assert_eq!(
        owners,
        vec![
            "chain1.example.test.",
            "chain2.example.test.",
            "alias.example.test.",
            "www.example.test."
        ],
        "chain order\n{}",
        r.summary()
    );
}

#[test]
fn r4_7_cname_chased_to_nodata() {
    // The target exists but lacks the type: NOERROR, CNAME, SOA in authority.
    let (q, r) = ask("alias.example.test.", RecordType::MX);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("alias.example.test.", "CNAME", "www.example.test.")],
        &[EX_SOA],
        &[],
    );
}

#[test]
fn r4_8_cname_query_gets_cname_only() {
    let (q, r) = ask("alias.example.test.", RecordType::CNAME);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("alias.example.test.", "CNAME", "www.example.test.")],
        &[],
        &[],
    );
}

#[test]
fn r4_9_dangling_cname_nxdomain() {
    let (q, r) = ask("dangling.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NXDOMAIN,
        true,
        &[("dangling.example.test.", "CNAME", "nothere.example.test.")],
        &[EX_SOA],
        &[],
    );
}

#[test]
fn r4_10_out_of_zone_cname_not_chased() {
    let (q, r) = ask("ext.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("ext.example.test.", "CNAME", "www.example.org.")],
        &[],
        &[],
    );
}

#[track_caller]
fn assert_loop(name: &str, want: &[(&str, &str, &str)]) {
    let (q, r) = ask(name, RecordType::A);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    let ans = r.answer();
    assert!(
        r.raw_section(0).iter().all(|x| x.rtype == 5),
        "only CNAMEs\n{}",
        r.summary()
    );
    assert_eq!(
        distinct(&ans),
        distinct(&rrs(want)),
        "the chain\n{}",
        r.summary()
    );
    assert!(ans.len() <= 17, "at most 16 hops\n{}", r.summary());
    assert!(r.authority().is_empty(), "no authority\n{}", r.summary());
}

#[test]
fn r4_11_cname_loop_stops() {
    assert_loop(
        "loop1.example.test.",
        &[
            ("loop1.example.test.", "CNAME", "loop2.example.test."),
            ("loop2.example.test.", "CNAME", "loop1.example.test."),
        ],
    );
}

#[test]
fn r4_11_cname_self_loop_stops() {
    assert_loop(
        "selfloop.example.test.",
        &[("selfloop.example.test.", "CNAME", "selfloop.example.test.")],
    );
}

#[test]
fn r4_12_dname_synthesises_cname() {
    let (q, r) = ask("x.dn.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("dn.example.test.", "DNAME", "example.org."),
            ("x.dn.example.test.", "CNAME", "x.example.org."),
        ],
        &[],
        &[],
    );
    assert_eq!(
        answer_types(&r),
        vec![39, 5],
        "DNAME, then CNAME\n{}",
        r.summary()
    );
    let raw = r.raw_section(0);
    assert_eq!(
        raw[1].ttl,
        7200,
        "synthesised CNAME TTL = DNAME TTL\n{}",
        r.summary()
    );
    assert_eq!(raw[0].ttl, 7200, "DNAME TTL\n{}", r.summary());
}

#[test]
fn r4_12_dname_chased_within_served_zone() {
    let (q, r) = ask("www.dl.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("dl.example.test.", "DNAME", "in.example.test."),
            ("www.dl.example.test.", "CNAME", "www.in.example.test."),
            ("www.in.example.test.", "A", "192.0.2.81"),
        ],
        &[],
        &[],
    );
    assert_eq!(
        answer_types(&r),
        vec![39, 5, 1],
        "chain order\n{}",
        r.summary()
    );
    assert_eq!(
        r.raw_section(0)[1].ttl,
        600,
        "CNAME TTL = DNAME TTL\n{}",
        r.summary()
    );
}

#[test]
fn r4_12_dname_owner_itself_is_not_redirected() {
    // RFC 6672 §2.3: the DNAME owner is not itself redirected.
    let (q, r) = ask("dn.example.test.", RecordType::A);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
    let (q, r) = ask("dn.example.test.", RecordType::DNAME);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("dn.example.test.", "DNAME", "example.org.")],
        &[],
        &[],
    );
}

#[test]
fn r4_13_dname_substitution_too_long_yxdomain() {
    // 2 × 63-octet labels (128 octets) + long.example.test. (19) = 147 octets; the
    // substitution replaces long.example.test. by a 205-octet target: 333 > 255.
    let l63 = "q".repeat(63);
    let qname = format!("{l63}.{l63}.long.example.test.");
    let (q, r) = ask(&qname, RecordType::A);
    let target = format!(
        "{}.{}.{}.example.org.",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63)
    );
    assert_answer(
        &q,
        &r,
        rcode::YXDOMAIN,
        true,
        &[("long.example.test.", "DNAME", &target)],
        &[],
        &[],
    );
}

fn referral_glue() -> [(&'static str, &'static str, &'static str); 2] {
    [
        ("ns.sub.example.test.", "A", "192.0.2.54"),
        ("ns.sub.example.test.", "AAAA", "2001:db8::54"),
    ]
}

const SUB_NS: (&str, &str, &str) = ("sub.example.test.", "NS", "ns.sub.example.test.");

/// `name`/`t` gets the referral to `sub.example.test`: not authoritative,
/// its NS in authority and their glue in additional.
#[track_caller]
fn assert_referral(name: &str, t: RecordType) {
    let (q, r) = ask(name, t);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        false,
        &[],
        &[SUB_NS],
        &referral_glue(),
    );
}

#[test]
fn r4_14_below_cut_is_referral() {
    for name in [
        "host.sub.example.test.",
        "a.b.c.sub.example.test.",
        "ns.sub.example.test.",
    ] {
        assert_referral(name, RecordType::A);
    }
}

#[test]
fn r4_15_ns_at_cut_is_referral() {
    assert_referral("sub.example.test.", RecordType::NS);
}

#[test]
fn r4_15_other_types_at_cut_are_referrals() {
    for t in [RecordType::A, RecordType::SOA, RecordType::MX] {
        assert_referral("sub.example.test.", t);
    }
}

#[test]
fn r4_16_ds_at_cut_answered_from_parent() {
    let (q, r) = ask("sub.example.test.", RecordType::DS);
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_17_apex_ns() {
    let (q, r) = ask("example.test.", RecordType::NS);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    assert_eq!(r.answer(), rrs(&[EX_NS]), "{}", r.summary());
    assert!(r.authority().is_empty(), "{}", r.summary());
    // Glue is optional; if present it is ns1's address and nothing else.
    for rr in r.additional() {
        assert_eq!(rr, rrs(&[EX_NS1_A])[0], "{}", r.summary());
    }
}

#[test]
fn r4_18_apex_soa() {
    let (q, r) = ask("example.test.", RecordType::SOA);
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_SOA], &[], &[]);
}

#[test]
fn r4_19_unknown_type_nodata() {
    let (q, r) = ask("www.example.test.", RecordType::Unknown(1000));
    assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
}

#[test]
fn r4_20_lua_and_alias_types_nodata() {
    for t in [65402u16, 65401] {
        let (q, r) = ask("www.example.test.", RecordType::Unknown(t));
        assert_answer(&q, &r, rcode::NOERROR, true, &[], &[EX_SOA], &[]);
    }
}

#[test]
fn r4_rrset_ttls_uniform() {
    // RFC 2181 §5.2: every record of an RRset carries one TTL.
    let q = Query::new("big.trunc.test.", RecordType::A).edns();
    let r = Server::shared().udp(&q);
    let ttls: std::collections::BTreeSet<u32> = r.raw_section(0).iter().map(|x| x.ttl).collect();
    assert_eq!(ttls.len(), 1, "one TTL per RRset\n{}", r.summary());
}

#[test]
fn r4_7_cname_chased_into_another_served_zone() {
    // The target is in wild.test (served here), where a wildcard answers it.
    let (q, r) = ask("towild.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[
            ("towild.example.test.", "CNAME", "foo.wild.test."),
            ("foo.wild.test.", "A", "192.0.2.1"),
        ],
        &[],
        &[],
    );
}

#[test]
fn r4_9_cname_into_another_zone_ending_nxdomain() {
    // RFC 6604: the RCODE and the SOA are those of the last name, in wild.test.
    let (q, r) = ask("towildnx.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NXDOMAIN,
        true,
        &[("towildnx.example.test.", "CNAME", "z.b.wild.test.")],
        &[crate::fixtures::WILD_SOA],
        &[],
    );
}

#[test]
fn r4_7_cname_to_name_below_cut_ends_in_referral() {
    // The chase restarts at host.sub, which is below the cut: the CNAME (authoritative,
    // so AA=1 per §1.9) followed by the referral.
    let (q, r) = ask("tosub.example.test.", RecordType::A);
    assert_answer(
        &q,
        &r,
        rcode::NOERROR,
        true,
        &[("tosub.example.test.", "CNAME", "host.sub.example.test.")],
        &[SUB_NS],
        &referral_glue(),
    );
}

#[test]
fn r4_11_cname_chain_stops_at_hop_limit() {
    // hop1 → hop2 → … → hop20 → www: 20 CNAMEs, more than the 16-hop limit.
    let (q, r) = ask("hop1.example.test.", RecordType::A);
    assert_header_basics(&q, &r);
    assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::AA, true);
    let raw = r.raw_section(0);
    assert!(
        !raw.is_empty() && raw.len() <= 17,
        "at most 16 hops\n{}",
        r.summary()
    );
    assert!(
        raw.iter().all(|x| x.rtype == 5),
        "CNAMEs only, no A\n{}",
        r.summary()
    );
    for (i, rr) in raw.iter().enumerate() {
        assert_eq!(
            rr.owner,
            format!("hop{}.example.test.", i + 1),
            "{}",
            r.summary()
        );
    }
}

#[test]
fn r4_rrset_ttl_with_top_bit_set_is_zero() {
    // RFC 2181 §8, on its own zone so a loader that rejects it cannot hide other rows.
    let s = Server::builder()
        .zone("ttl.test", e2e::zone("ttl.test.zone"))
        .start();
    let q = Query::new("topbit.ttl.test.", RecordType::A);
    let r = s.udp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_eq!(r.raw_section(0).len(), 1, "{}", r.summary());
    assert_eq!(
        r.raw_section(0)[0].ttl,
        0,
        "TTL ≥ 2^31 is treated as 0\n{}",
        r.summary()
    );
    let r = s.udp(&Query::new("maxok.ttl.test.", RecordType::A));
    assert_eq!(r.raw_section(0)[0].ttl, 2147483647, "{}", r.summary());
}
