//! The whole pipeline for LUA records: ECS in the reply's OPT (RFC 7871,
//! lua-records.md §5) and signatures on LUA answers (§12).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::dnssec::keys::{FLAGS_KSK, KeyState};
use crate::dnssec::{Algorithm, SigningKey, ZoneKeys};
use crate::wire::Name;
use crate::zone::{Served, build_zone, load};

const ZONE: &str = r#"
$TTL 300
@      SOA ns1 hostmaster 1 3600 600 86400 60
@      NS  ns1
ns1    A   192.0.2.53
www    A   192.0.2.1
view   LUA TXT "view({{{'198.51.100.0/24'}, {'in'}}, {{'0.0.0.0/0'}, {'out'}}})"
"#;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));

fn catalog(signed: bool) -> Catalog {
    catalog_from(ZONE, signed)
}

/// A catalog with `zone` as `example.test`, signed with one ECDSA key when
/// `signed`.
pub(crate) fn catalog_from(zone: &str, signed: bool) -> Catalog {
    let origin = Name::from_text("example.test.", None).unwrap();
    let records = load::parse_str(&origin, zone, Path::new("test.zone")).unwrap();
    let keys = signed.then(|| {
        let key = SigningKey::generate(&origin, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
        let on = KeyState {
            published: true,
            active: true,
        };
        Arc::new(ZoneKeys::new(&origin, vec![(Arc::new(key), on)]))
    });
    let mut catalog = Catalog::new();
    catalog.insert_served(Served {
        zone: Arc::new(build_zone(&origin, records).unwrap()),
        keys,
        expired: false,
    });
    catalog
}

/// A query with an OPT record, DO as given, and ECS `addr/prefix` if given.
fn query(qname: &str, qtype: RType, dnssec_ok: bool, ecs: Option<([u8; 4], u8)>) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    let name = Name::from_text(qname, None).unwrap();
    p.extend_from_slice(name.as_wire());
    p.extend_from_slice(&qtype.0.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    let mut options = Vec::new();
    if let Some((addr, prefix)) = ecs {
        let octets = usize::from(prefix).div_ceil(8);
        options.extend_from_slice(&8u16.to_be_bytes());
        options.extend_from_slice(&((4 + octets) as u16).to_be_bytes());
        options.extend_from_slice(&[0, 1, prefix, 0]);
        options.extend_from_slice(&addr[..octets]);
    }
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0]);
    p.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    p.extend_from_slice(&(options.len() as u16).to_be_bytes());
    p.extend_from_slice(&options);
    p
}

fn ask(config: AnswerConfig, catalog: &Catalog, packet: &[u8]) -> Vec<u8> {
    let mut responder = Responder::new(config);
    let mut out = Vec::new();
    assert!(responder.answer(packet, catalog, Transport::Udp, PEER, &mut out));
    out
}

/// The ECS option of a reply (the OPT is the last record), as
/// (family, source, scope, address octets).
fn reply_ecs(reply: &[u8]) -> Option<(u16, u8, u8, Vec<u8>)> {
    let at = find_opt(reply)?;
    let rdlen = usize::from(u16::from_be_bytes([reply[at + 9], reply[at + 10]]));
    let mut options = &reply[at + 11..at + 11 + rdlen];
    while options.len() >= 4 {
        let code = u16::from_be_bytes([options[0], options[1]]);
        let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let value = &options[4..4 + len];
        if code == 8 {
            return Some((
                u16::from_be_bytes([value[0], value[1]]),
                value[2],
                value[3],
                value[4..].to_vec(),
            ));
        }
        options = &options[4 + len..];
    }
    None
}

/// Offset of the OPT record: root owner, type 41, at the end of the reply.
fn find_opt(reply: &[u8]) -> Option<usize> {
    (12..reply.len().saturating_sub(10))
        .rev()
        .find(|&i| reply[i] == 0 && reply[i + 1..i + 3] == [0, 41])
}

/// Record count of a section: 0 question, 1 answer, 2 authority, 3 additional.
fn count(reply: &[u8], section: usize) -> u16 {
    u16::from_be_bytes([reply[4 + 2 * section], reply[5 + 2 * section]])
}

#[test]
fn ecs_is_echoed_with_the_scope_the_answer_depends_on() {
    let c = catalog(false);
    let config = AnswerConfig::default();
    let reply = ask(
        config.clone(),
        &c,
        &query(
            "view.example.test.",
            RType::TXT,
            false,
            Some(([198, 51, 100, 0], 24)),
        ),
    );
    assert_eq!(reply_ecs(&reply), Some((1, 24, 24, vec![198, 51, 100])));
    assert!(
        reply.windows(2).any(|w| w == b"in"),
        "the ECS address is used"
    );

    let reply = ask(
        config.clone(),
        &c,
        &query(
            "www.example.test.",
            RType::A,
            false,
            Some(([198, 51, 100, 0], 24)),
        ),
    );
    assert_eq!(
        reply_ecs(&reply),
        Some((1, 24, 0, vec![198, 51, 100])),
        "static: scope 0"
    );

    let reply = ask(
        config.clone(),
        &c,
        &query(
            "view.example.test.",
            RType::TXT,
            false,
            Some(([0, 0, 0, 0], 0)),
        ),
    );
    assert_eq!(reply_ecs(&reply), Some((1, 0, 0, vec![])), "/0");

    let reply = ask(
        config,
        &c,
        &query("view.example.test.", RType::TXT, false, None),
    );
    assert_eq!(reply_ecs(&reply), None, "never added unasked");
}

#[test]
fn ecs_off_is_ignored_and_not_echoed() {
    let c = catalog(false);
    let config = AnswerConfig {
        edns_client_subnet: false,
        ..AnswerConfig::default()
    };
    let reply = ask(
        config,
        &c,
        &query(
            "view.example.test.",
            RType::TXT,
            false,
            Some(([198, 51, 100, 0], 24)),
        ),
    );
    assert_eq!(reply_ecs(&reply), None);
    assert!(
        reply.windows(3).any(|w| w == b"out"),
        "the source address is used"
    );
}

#[test]
fn lua_answers_are_signed_with_do() {
    let c = catalog(true);
    let reply = ask(
        AnswerConfig::default(),
        &c,
        &query("view.example.test.", RType::TXT, true, None),
    );
    assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
    assert_eq!(count(&reply, 1), 2, "TXT and its RRSIG");
}

#[test]
fn malformed_ecs_is_formerr_only_when_processing_is_on() {
    let c = catalog(false);
    // SCOPE must be 0 in a query (RFC 7871 §6).
    let mut packet = query(
        "www.example.test.",
        RType::A,
        false,
        Some(([192, 0, 2, 0], 24)),
    );
    let scope_at = packet.len() - 4;
    packet[scope_at] = 8;
    let reply = ask(AnswerConfig::default(), &c, &packet);
    assert_eq!(reply[3] & 0x0f, 1, "FORMERR");
    assert_eq!(reply_ecs(&reply), None);
    let off = AnswerConfig {
        edns_client_subnet: false,
        ..AnswerConfig::default()
    };
    let reply = ask(off, &c, &packet);
    assert_eq!((reply[3] & 0x0f, count(&reply, 1)), (0, 1), "answered");
    assert_eq!(reply_ecs(&reply), None);
}

/// A signature that cannot be made fails the reply: a DO=1 client gets
/// SERVFAIL, never the RRset unsigned (and the reply is not kept).
#[test]
fn a_signing_failure_is_servfail_never_an_unsigned_answer() {
    let origin = Name::from_text("example.test.", None).unwrap();
    let mut records = load::parse_str(&origin, ZONE, Path::new("test.zone")).unwrap();
    // MX RDATA whose exchange name is cut short: the zone loader would
    // refuse it, so it is placed here directly, as a corrupt store might.
    records.push(crate::zone::Record {
        owner: Name::from_text("bad.example.test.", None).unwrap(),
        rtype: RType::MX,
        class: 1,
        ttl: 300,
        rdata: vec![0, 10, 5, b'm'].into_boxed_slice(),
        location: None,
    });
    let key = SigningKey::generate(&origin, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    let on = KeyState {
        published: true,
        active: true,
    };
    let mut catalog = Catalog::new();
    catalog.insert_served(Served {
        zone: Arc::new(build_zone(&origin, records).unwrap()),
        keys: Some(Arc::new(ZoneKeys::new(&origin, vec![(Arc::new(key), on)]))),
        expired: false,
    });
    let mut responder = Responder::new(AnswerConfig::default()).with_templates();
    let mut out = Vec::new();
    for _ in 0..3 {
        let packet = query("bad.example.test.", RType::MX, true, None);
        assert!(responder.answer(&packet, &catalog, Transport::Udp, PEER, &mut out));
        assert_eq!(out[3] & 0x0F, 2, "SERVFAIL");
        assert_eq!((count(&out, 1), count(&out, 2)), (0, 0), "no records");
    }
    assert_eq!(
        responder.template_hits(),
        0,
        "a failed reply is never replayed"
    );
    // Other names of the zone still sign and answer.
    let packet = query("www.example.test.", RType::A, true, None);
    assert!(responder.answer(&packet, &catalog, Transport::Udp, PEER, &mut out));
    assert_eq!((out[3] & 0x0F, count(&out, 1)), (0, 2), "A and its RRSIG");
}
