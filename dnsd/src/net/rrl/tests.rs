//! RRL over replies the real answer pipeline writes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::answer::{AnswerConfig, Responder};
use crate::parse::Transport;
use crate::wire::{Name, RType};
use crate::zone::Catalog;

const ZONE: &str = "
$TTL 300
@      SOA ns1 hostmaster 1 3600 600 86400 60
@      NS  ns1
ns1    A   192.0.2.53
www    A   192.0.2.1
alias  CNAME gone
";

fn catalog(signed: bool) -> Catalog {
    crate::answer::tests::catalog_from(ZONE, signed)
}

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

/// The reply dnsd writes to `qname`/`qtype`, with DO as given.
fn reply(catalog: &Catalog, qname: &str, qtype: RType, dnssec_ok: bool) -> Vec<u8> {
    let mut packet = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    packet.extend_from_slice(Name::from_text(qname, None).unwrap().as_wire());
    packet.extend_from_slice(&qtype.0.to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0]);
    packet.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    let mut out = Vec::new();
    let mut responder = Responder::new(AnswerConfig::default());
    assert!(responder.answer(&packet, catalog, Transport::Udp, CLIENT, &mut out));
    out
}

fn class_of(reply: &[u8]) -> Option<(Class, u64)> {
    classify(reply, 7)
}

#[test]
fn classes_follow_knot_and_bind() {
    let plain = catalog(false);
    let www = class_of(&reply(&plain, "www.example.test.", RType::A, false)).unwrap();
    assert_eq!(www.0, Class::Answer);
    let www_case = class_of(&reply(&plain, "WwW.example.test.", RType::A, false)).unwrap();
    assert_eq!(www, www_case, "the name counts case-insensitively");
    let www_aaaa = class_of(&reply(&plain, "www.example.test.", RType::AAAA, false)).unwrap();
    assert_eq!(www_aaaa.0, Class::Answer, "NODATA counts by name and type");
    assert_ne!(www.1, www_aaaa.1);

    // Names that do not exist count per zone, whatever the name.
    let a = class_of(&reply(&plain, "a.example.test.", RType::A, false)).unwrap();
    let b = class_of(&reply(&plain, "b.x.example.test.", RType::TXT, false)).unwrap();
    assert_eq!(a.0, Class::Nxdomain);
    assert_eq!(a, b);
    // ... also behind a CNAME whose target is missing.
    let alias = class_of(&reply(&plain, "alias.example.test.", RType::A, false)).unwrap();
    assert_eq!(alias, a);

    // Compact denial (RFC 9824) says NXDOMAIN with NOERROR: same class.
    let signed = catalog(true);
    let c = class_of(&reply(&signed, "c.example.test.", RType::A, true)).unwrap();
    let d = class_of(&reply(&signed, "d.example.test.", RType::A, true)).unwrap();
    assert_eq!(c.0, Class::Nxdomain);
    assert_eq!(c, d);
    let nodata = class_of(&reply(&signed, "www.example.test.", RType::AAAA, true)).unwrap();
    assert_eq!(
        nodata.0,
        Class::Answer,
        "a real NODATA is not a missing name"
    );

    let refused = class_of(&reply(&plain, "elsewhere.test.", RType::A, false)).unwrap();
    assert_eq!(refused.0, Class::Error);
}

#[test]
fn over_the_rate_drops_and_slips_every_nth() {
    let plain = catalog(false);
    let www = reply(&plain, "www.example.test.", RType::A, false);
    let mut settings = RrlSettings::with_rate(5);
    settings.slip = 3;
    let rrl = Rrl::new(settings);
    let verdicts: Vec<Verdict> = (0..11).map(|_| rrl.check(CLIENT, &www, 1)).collect();
    use Verdict::*;
    assert_eq!(
        verdicts,
        [
            Send, Send, Send, Send, Send, Drop, Drop, Slip, Drop, Drop, Slip
        ]
    );
    assert_eq!((rrl.dropped(), rrl.slipped()), (4, 2));
    // The next second starts a new budget.
    assert_eq!(rrl.check(CLIENT, &www, 2), Send);
    // Another /24 has its own; the same /24 shares it.
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 3, 7));
    let neighbour = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
    for _ in 0..4 {
        assert_eq!(rrl.check(neighbour, &www, 2), Send);
    }
    assert_ne!(rrl.check(neighbour, &www, 2), Send);
    assert_eq!(rrl.check(other, &www, 2), Send);
    // Another question has its own budget.
    let ns1 = reply(&plain, "ns1.example.test.", RType::A, false);
    assert_eq!(rrl.check(CLIENT, &ns1, 2), Send);
}

#[test]
fn slip_zero_never_answers_and_whitelist_always_does() {
    let plain = catalog(false);
    let missing = reply(&plain, "nope.example.test.", RType::A, false);
    let mut settings = RrlSettings::with_rate(1);
    settings.slip = 0;
    settings.whitelist = vec![Netmask::parse("192.0.2.0/28").unwrap()];
    let rrl = Rrl::new(settings);
    let outside = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));
    assert_eq!(rrl.check(outside, &missing, 1), Verdict::Send);
    for _ in 0..20 {
        assert_eq!(rrl.check(outside, &missing, 1), Verdict::Drop);
        assert_eq!(rrl.check(CLIENT, &missing, 1), Verdict::Send);
    }
}

/// Neighbouring networks land in different buckets (a weak mix once put
/// two /56s differing in one bit in the same bucket for 1 seed in 32).
#[test]
fn neighbouring_networks_do_not_share_buckets() {
    let plain = catalog(false);
    let www = reply(&plain, "www.example.test.", RType::A, false);
    let Some((class, name_hash)) = super::classify(&www, 12345) else {
        panic!("not a reply")
    };
    for seed_round in 0..8u64 {
        let rrl = Rrl::new(RrlSettings::with_rate(1));
        let mut slots = std::collections::HashSet::new();
        for i in 0..256u32 {
            let v4 = IpAddr::V4(Ipv4Addr::from(0xc000_0000 | (i << 8)));
            let v6: IpAddr =
                Ipv6Addr::from(0x2001_0db8_0000_0000_u128 << 64 | u128::from(i) << 72).into();
            for peer in [v4, v6] {
                let key = super::mix(
                    super::mix(name_hash ^ seed_round, rrl.network(peer)),
                    class as u64,
                );
                slots.insert(rrl.slot_of(key));
            }
        }
        assert!(
            slots.len() >= 508,
            "round {seed_round}: {} distinct slots of 512",
            slots.len()
        );
    }
}

#[test]
fn ipv6_clients_count_per_prefix() {
    let plain = catalog(false);
    let www = reply(&plain, "www.example.test.", RType::A, false);
    let rrl = Rrl::new(RrlSettings::with_rate(2));
    let a: IpAddr = "2001:db8:0:ff00::1".parse::<Ipv6Addr>().unwrap().into();
    let same_56: IpAddr = "2001:db8:0:ffff::2".parse::<Ipv6Addr>().unwrap().into();
    let other_56: IpAddr = "2001:db8:0:fe00::1".parse::<Ipv6Addr>().unwrap().into();
    assert_eq!(rrl.check(a, &www, 1), Verdict::Send);
    assert_eq!(rrl.check(same_56, &www, 1), Verdict::Send);
    assert_ne!(rrl.check(a, &www, 1), Verdict::Send);
    assert_eq!(rrl.check(other_56, &www, 1), Verdict::Send);
}

#[test]
fn a_slipped_reply_is_the_question_with_tc() {
    let plain = catalog(false);
    let mut www = reply(&plain, "www.example.test.", RType::A, false);
    let question_end = 12 + "www.example.test.".len() + 1 + 4;
    truncate(&mut www);
    assert_eq!(www.len(), question_end);
    assert_eq!(www[2] & 0x02, 0x02, "TC set");
    assert_eq!(www[2] & 0x80, 0x80, "still a response");
    assert_eq!(&www[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn garbage_is_never_limited_and_never_panics() {
    let rrl = Rrl::new(RrlSettings::with_rate(1));
    for len in 0..40 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
        let _ = rrl.check(CLIENT, &junk, 1);
        let mut cut = junk.clone();
        truncate(&mut cut);
    }
    let plain = catalog(false);
    let www = reply(&plain, "www.example.test.", RType::A, false);
    for end in 0..www.len() {
        let _ = classify(&www[..end], 1);
    }
}
