//! Reply templates against the full pipeline: a replayed reply must be
//! byte for byte what the pipeline writes for the same query.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::wire::Name;

const ZONE: &str = r#"
$TTL 300
@        SOA   ns1 hostmaster 1 3600 600 86400 60
@        NS    ns1
@        NS    ns2
@        MX    10 mail
ns1      A     192.0.2.53
ns2      AAAA  2001:db8::53
mail     A     192.0.2.25
mail     AAAA  2001:db8::25
www      A     192.0.2.1
www      A     192.0.2.2
www      AAAA  2001:db8::1
alias    CNAME www
chain    CNAME alias
away     CNAME www.elsewhere.test.
*.wild   A     192.0.2.99
sub      NS    ns.sub
ns.sub   A     192.0.2.77
old      DNAME new.example.test.
a.new    A     192.0.2.44
big      TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
big      TXT   "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ"
mx       MX    10 m1
mx       MX    20 m2
mx       MX    30 m3
m1       AAAA  2001:db8::1:1
m1       AAAA  2001:db8::1:2
m1       AAAA  2001:db8::1:3
m1       AAAA  2001:db8::1:4
m2       AAAA  2001:db8::2:1
m2       AAAA  2001:db8::2:2
m2       AAAA  2001:db8::2:3
m2       AAAA  2001:db8::2:4
m3       AAAA  2001:db8::3:1
m3       AAAA  2001:db8::3:2
m3       AAAA  2001:db8::3:3
m3       AAAA  2001:db8::3:4
lucky    LUA   A "pickrandom({'192.0.2.101','192.0.2.102','192.0.2.103','192.0.2.104'})"
view     LUA   TXT "view({{{'198.51.100.0/24'}, {'in'}}, {{'0.0.0.0/0'}, {'out'}}})"
"#;

fn catalog(signed: bool, zone: &str) -> Catalog {
    super::tests::catalog_from(zone, signed)
}

/// A small deterministic generator for case, IDs and flags.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The query's EDNS: payload, DO, CO.
type Opt = Option<(u16, bool, bool)>;

fn query(rng: &mut Lcg, name: &str, qtype: RType, opt: Opt) -> Vec<u8> {
    let mut p = (rng.next() as u16).to_be_bytes().to_vec();
    let mut flags = 0u16;
    if rng.next().is_multiple_of(2) {
        flags |= crate::wire::Flags::RD.0;
    }
    if rng.next().is_multiple_of(3) {
        flags |= crate::wire::Flags::CD.0;
    }
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(opt.is_some())]);
    let mut wire = Name::from_text(name, None).unwrap().as_wire().to_vec();
    for byte in wire.iter_mut() {
        if byte.is_ascii_alphabetic() && rng.next().is_multiple_of(2) {
            *byte = byte.to_ascii_uppercase();
        }
    }
    p.extend_from_slice(&wire);
    p.extend_from_slice(&qtype.0.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if let Some((payload, dnssec_ok, compact_ok)) = opt {
        p.extend_from_slice(&[0, 0, 41]);
        p.extend_from_slice(&payload.to_be_bytes());
        let mut edns_flags = 0u16;
        if dnssec_ok {
            edns_flags |= 0x8000;
        }
        if compact_ok {
            edns_flags |= crate::wire::EdnsFlags::CO.0;
        }
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&edns_flags.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p
}

const QUESTIONS: &[(&str, RType)] = &[
    ("example.test.", RType::SOA),
    ("example.test.", RType::NS),
    ("example.test.", RType::MX),
    ("example.test.", RType::ANY),
    ("www.example.test.", RType::A),
    ("www.example.test.", RType::AAAA),
    ("www.example.test.", RType::MX),
    ("alias.example.test.", RType::A),
    ("chain.example.test.", RType::AAAA),
    ("away.example.test.", RType::A),
    ("x.wild.example.test.", RType::A),
    ("y.z.wild.example.test.", RType::TXT),
    ("host.sub.example.test.", RType::A),
    ("sub.example.test.", RType::DS),
    ("a.old.example.test.", RType::A),
    ("nothing.example.test.", RType::A),
    ("deep.nothing.example.test.", RType::AAAA),
    ("big.example.test.", RType::TXT),
    ("mx.example.test.", RType::MX),
    ("outside.test.", RType::A),
    ("www.example.test.", RType::AXFR),
];

const OPTS: &[Opt] = &[
    None,
    Some((512, false, false)),
    Some((1232, false, false)),
    Some((4096, false, false)),
    Some((1232, true, false)),
    Some((700, true, false)),
    Some((1232, true, true)),
];

/// Asks every question with every EDNS variant, in shuffled order over
/// several rounds, of a responder with templates and one without: over UDP
/// with templates of its own, over TCP with the thread's.
fn compare(catalog: &Catalog, config: &AnswerConfig, rounds: usize, transport: Transport) -> u64 {
    let mut rng = Lcg(42);
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));
    let mut replaying = match transport {
        Transport::Udp => Responder::new(config.clone()).with_templates(),
        Transport::Tcp => Responder::new(config.clone()).with_thread_templates(),
    };
    let mut plain = Responder::new(config.clone());
    let (mut replayed, mut expected) = (Vec::new(), Vec::new());
    let mut cases: Vec<(usize, usize)> = (0..QUESTIONS.len())
        .flat_map(|q| (0..OPTS.len()).map(move |o| (q, o)))
        .collect();
    for _ in 0..rounds {
        for i in (1..cases.len()).rev() {
            cases.swap(i, rng.next() as usize % (i + 1));
        }
        for &(q, o) in &cases {
            let (name, qtype) = QUESTIONS[q];
            let packet = query(&mut rng, name, qtype, OPTS[o]);
            assert!(replaying.answer(&packet, catalog, transport, peer, &mut replayed));
            assert!(plain.answer(&packet, catalog, transport, peer, &mut expected));
            assert_eq!(
                replayed, expected,
                "{name} {qtype:?} {:?}: replayed reply differs",
                OPTS[o]
            );
        }
    }
    replaying.template_hits()
}

#[test]
fn replayed_replies_equal_the_pipelines() {
    let c = catalog(false, ZONE);
    // Kept on the second miss, so most cases are replayed in the last
    // two rounds (not those too big for a slot, nor AXFR's).
    let cases = (QUESTIONS.len() * OPTS.len()) as u64;
    for transport in [Transport::Udp, Transport::Tcp] {
        let hits = compare(&c, &AnswerConfig::default(), 4, transport);
        assert!(
            hits >= cases,
            "{transport:?}: {hits} replays of {} answers",
            cases * 4
        );
    }
}

#[test]
fn replayed_signed_replies_equal_the_pipelines() {
    // The two responders share the signer, so they hand out the same
    // cached signatures.
    let c = catalog(true, ZONE);
    for transport in [Transport::Udp, Transport::Tcp] {
        let hits = compare(&c, &AnswerConfig::default(), 3, transport);
        assert!(hits > 0, "{transport:?}");
    }
}

#[test]
fn tcp_connections_on_one_thread_share_templates() {
    let c = catalog(false, ZONE);
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut rng = Lcg(11);
    let mut out = Vec::new();
    let mut ask = |responder: &mut Responder, qtype: RType| {
        let packet = query(&mut rng, "mail.example.test.", qtype, None);
        assert!(responder.answer(&packet, &c, Transport::Tcp, peer, &mut out));
    };
    let mut first = Responder::new(AnswerConfig::default()).with_thread_templates();
    ask(&mut first, RType::AAAA);
    ask(&mut first, RType::AAAA);
    assert_eq!(first.template_hits(), 0, "kept on the second miss");
    let mut second = Responder::new(AnswerConfig::default()).with_thread_templates();
    ask(&mut second, RType::AAAA);
    assert_eq!(
        second.template_hits(),
        1,
        "replayed what the first one kept"
    );
    assert_eq!(first.template_hits(), 0);
    // A responder without templates does not use the thread's.
    let config = AnswerConfig {
        answer_templates: 0,
        ..AnswerConfig::default()
    };
    let mut none = Responder::new(config).with_thread_templates();
    ask(&mut none, RType::AAAA);
    assert_eq!(none.template_hits(), 0);
    // A UDP worker's own templates are not the thread's.
    let mut udp = Responder::new(AnswerConfig::default()).with_templates();
    let packet = query(&mut Lcg(12), "mail.example.test.", RType::AAAA, None);
    assert!(udp.answer(&packet, &c, Transport::Udp, peer, &mut Vec::new()));
    assert_eq!(udp.template_hits(), 0);
}

#[test]
fn lua_answers_are_never_replayed() {
    let c = catalog(false, ZONE);
    let mut responder = Responder::new(AnswerConfig::default()).with_templates();
    let mut rng = Lcg(7);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));
    for _ in 0..64 {
        let packet = query(&mut rng, "lucky.example.test.", RType::A, None);
        assert!(responder.answer(&packet, &c, Transport::Udp, peer, &mut out));
        seen.insert(out[out.len() - 4..].to_vec());
    }
    assert!(seen.len() > 1, "the random pick still varies: {seen:?}");
    // A client-dependent answer follows the client.
    let inside = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    for (peer, text) in [(peer, &b"out"[..]), (inside, b"in"), (peer, b"out")] {
        let packet = query(&mut rng, "view.example.test.", RType::TXT, None);
        assert!(responder.answer(&packet, &c, Transport::Udp, peer, &mut out));
        assert!(out.ends_with(text), "{peer}");
    }
    assert_eq!(responder.template_hits(), 0);
}

#[test]
fn a_changed_zone_is_answered_at_once() {
    let before = catalog(false, ZONE);
    let after = catalog(false, &ZONE.replace("192.0.2.1\n", "192.0.2.111\n"));
    let mut responder = Responder::new(AnswerConfig::default()).with_templates();
    let mut rng = Lcg(9);
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut ask = |responder: &mut Responder, catalog: &Catalog| {
        let packet = query(&mut rng, "www.example.test.", RType::A, None);
        assert!(responder.answer(&packet, catalog, Transport::Udp, peer, &mut out));
        out.windows(4).any(|w| w == [192, 0, 2, 111])
    };
    for _ in 0..3 {
        assert!(!ask(&mut responder, &before));
    }
    assert_eq!(responder.template_hits(), 1, "kept on the second miss");
    for _ in 0..3 {
        assert!(
            ask(&mut responder, &after),
            "the new address, not the template"
        );
    }
    assert_eq!(responder.template_hits(), 2);
}
