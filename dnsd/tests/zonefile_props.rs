//! Property tests for the RDATA codecs and the zone-file reader:
//! wire -> text -> wire round trips for every type with a codec, and no
//! panics on arbitrary input.

use std::path::Path;

use dnsd::wire::rdata::{check_wire, parse_str, to_text};
use dnsd::wire::{Name, RType};
use dnsd::zone::load;
use proptest::collection::vec;
use proptest::prelude::*;

fn origin() -> Name {
    // A literal absolute name always parses.
    Name::from_text("example.test.", None).unwrap()
}

/// Names with arbitrary label octets, so escapes get exercised.
fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        vec(vec(any::<u8>(), 1..12), 0..4),
        vec("[a-z0-9-]{1,10}".prop_map(String::into_bytes), 1..4),
    ]
    .prop_map(|labels| {
        // At most 4 labels of at most 11 octets stay far below 255.
        Name::from_labels(labels.iter().map(Vec::as_slice)).unwrap()
    })
}

fn charstr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..40),
        vec(any::<u8>(), 200..=255),
        "[ -~]{0,30}".prop_map(String::into_bytes)
    ]
}

fn push_charstr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// One record type with valid wire RDATA for it.
fn typed_rdata() -> impl Strategy<Value = (RType, Vec<u8>)> {
    let simple = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| (RType::A, a.to_vec())),
        any::<[u8; 16]>().prop_map(|a| (RType::AAAA, a.to_vec())),
        (
            prop::sample::select(vec![RType::NS, RType::CNAME, RType::PTR, RType::DNAME]),
            name()
        )
            .prop_map(|(t, n)| (t, n.as_wire().to_vec())),
        (any::<u16>(), name())
            .prop_map(|(p, n)| (RType::MX, [u16s(&[p]), n.as_wire().to_vec()].concat())),
        (name(), name(), any::<[u32; 5]>()).prop_map(|(m, r, t)| {
            let mut w = [m.as_wire(), r.as_wire()].concat();
            t.iter().for_each(|v| w.extend_from_slice(&v.to_be_bytes()));
            (RType::SOA, w)
        }),
        (
            prop::sample::select(vec![RType::TXT, RType::SPF]),
            vec(charstr(), 1..4)
        )
            .prop_map(|(t, strs)| {
                let mut w = Vec::new();
                strs.iter().for_each(|s| push_charstr(&mut w, s));
                (t, w)
            }),
        (any::<[u16; 3]>(), name())
            .prop_map(|(v, n)| (RType::SRV, [u16s(&v), n.as_wire().to_vec()].concat())),
        (any::<u8>(), "[a-zA-Z0-9]{1,15}", vec(any::<u8>(), 0..60)).prop_map(|(f, tag, value)| {
            let mut w = vec![f, tag.len() as u8];
            w.extend_from_slice(tag.as_bytes());
            w.extend_from_slice(&value);
            (RType::CAA, w)
        }),
    ];
    let keys = prop_oneof![
        (
            prop::sample::select(vec![RType::DS, RType::CDS]),
            any::<(u16, u8)>(),
            prop_oneof![
                Just((1u8, 20usize)),
                Just((2, 32)),
                Just((4, 48)),
                (5u8..=255, 1usize..64),
                Just((0, 1))
            ],
        )
            .prop_flat_map(|(t, (tag, alg), (dt, len))| {
                vec(any::<u8>(), len)
                    .prop_map(move |digest| (t, [u16s(&[tag]), vec![alg, dt], digest].concat()))
            }),
        (
            prop::sample::select(vec![RType::DNSKEY, RType::CDNSKEY]),
            any::<(u16, u8, u8)>(),
            vec(any::<u8>(), 1..100),
        )
            .prop_map(|(t, (f, p, a), key)| (t, [u16s(&[f]), vec![p, a], key].concat())),
        (any::<[u8; 3]>(), vec(any::<u8>(), 1..64))
            .prop_map(|(h, d)| (RType::TLSA, [h.to_vec(), d].concat())),
        (any::<[u8; 2]>(), vec(any::<u8>(), 1..64))
            .prop_map(|(h, d)| (RType::SSHFP, [h.to_vec(), d].concat())),
    ];
    let more = prop_oneof![
        (any::<[u16; 2]>(), charstr(), charstr(), charstr(), name()).prop_map(|(v, a, b, c, n)| {
            let mut w = u16s(&v);
            [a, b, c].iter().for_each(|s| push_charstr(&mut w, s));
            w.extend_from_slice(n.as_wire());
            (RType::NAPTR, w)
        }),
        (charstr(), charstr()).prop_map(|(a, b)| {
            let mut w = Vec::new();
            push_charstr(&mut w, &a);
            push_charstr(&mut w, &b);
            (RType::HINFO, w)
        }),
        (any::<[u16; 2]>(), vec(any::<u8>(), 1..80))
            .prop_map(|(v, t)| (RType::URI, [u16s(&v), t].concat())),
        (
            prop_oneof![1u16..=40, 42u16..=127, 256u16..=65400, 65403u16..=65535],
            vec(charstr(), 1..4)
        )
            .prop_map(|(t, chunks)| {
                let mut w = t.to_be_bytes().to_vec();
                chunks.iter().for_each(|s| push_charstr(&mut w, s));
                (RType::LUA, w)
            }),
        (
            prop_oneof![65280u16..=65400, Just(RType::NSEC.0), Just(RType::ALIAS.0)],
            vec(any::<u8>(), 0..80)
        )
            .prop_map(|(t, w)| (RType(t), w)),
        svcb(),
    ];
    prop_oneof![simple, keys, more]
}

/// A ServiceMode SVCB/HTTPS record with a random, self-consistent set of
/// parameters, built directly in wire form.
fn svcb() -> impl Strategy<Value = (RType, Vec<u8>)> {
    let alpn = vec(vec(any::<u8>(), 1..8), 1..4);
    let ipv4 = vec(any::<[u8; 4]>(), 1..3);
    let ipv6 = vec(any::<[u8; 16]>(), 1..3);
    let generic = vec((9u16..65535, vec(any::<u8>(), 0..20)), 0..3);
    (
        prop::sample::select(vec![RType::SVCB, RType::HTTPS]),
        any::<u16>(),
        name(),
        prop::option::of(alpn),
        any::<bool>(),
        prop::option::of(any::<u16>()),
        prop::option::of(ipv4),
        prop::option::of(vec(any::<u8>(), 1..40)),
        prop::option::of(ipv6),
        (
            prop::option::of("[ -~]{1,20}|\\PC{1,5}"),
            any::<bool>(),
            generic,
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                t,
                prio,
                target,
                alpn,
                nda,
                port,
                v4,
                ech,
                v6,
                (doh, ohttp, generic, mandatory_bits),
            )| {
                let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
                if let Some(ids) = &alpn {
                    let mut v = Vec::new();
                    ids.iter().for_each(|id| push_charstr(&mut v, id));
                    params.push((1, v));
                    if nda {
                        params.push((2, Vec::new()));
                    }
                }
                if let Some(p) = port {
                    params.push((3, p.to_be_bytes().to_vec()));
                }
                if let Some(a) = v4 {
                    params.push((4, a.concat()));
                }
                if let Some(e) = ech {
                    params.push((5, e));
                }
                if let Some(a) = v6 {
                    params.push((6, a.concat()));
                }
                if let Some(d) = doh {
                    params.push((7, d.into_bytes()));
                }
                if ohttp {
                    params.push((8, Vec::new()));
                }
                for (k, v) in generic {
                    if !params.iter().any(|(pk, _)| *pk == k) {
                        params.push((k, v));
                    }
                }
                params.sort_by_key(|(k, _)| *k);
                // Mandatory lists a subset of the keys present, chosen by bits.
                let listed: Vec<u16> = params
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mandatory_bits & (1 << (i % 8)) != 0)
                    .map(|(_, (k, _))| *k)
                    .collect();
                if !listed.is_empty() {
                    params.insert(0, (0, u16s(&listed)));
                }
                let mut w = u16s(&[prio]);
                w.extend_from_slice(target.as_wire());
                for (k, v) in params {
                    w.extend_from_slice(&u16s(&[k, v.len() as u16]));
                    w.extend_from_slice(&v);
                }
                (t, w)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn wire_text_wire_round_trip((rtype, wire) in typed_rdata()) {
        prop_assert!(check_wire(rtype, &wire).is_ok(), "{rtype} {wire:02x?}: {:?}", check_wire(rtype, &wire));
        let text = to_text(rtype, &wire).unwrap();
        let back = parse_str(rtype, &text, &origin());
        prop_assert_eq!(back.as_ref(), Ok(&wire), "{} {:?}", rtype, text);
        // Printing is canonical: the text re-prints identically.
        prop_assert_eq!(to_text(rtype, &wire).unwrap(), text);
    }

    #[test]
    fn record_lines_round_trip_through_the_zone_reader((rtype, wire) in typed_rdata()) {
        let text = format!("rec 300 IN {rtype} {}\n", to_text(rtype, &wire).unwrap());
        let records = load::parse_str(&origin(), &text, Path::new("prop.zone"));
        let records = records.map_err(|e| e.to_string());
        prop_assert!(records.is_ok(), "{:?}: {:?}", text, records);
        let records = records.unwrap();
        prop_assert_eq!(records.len(), 1);
        prop_assert_eq!(&records[0].rdata[..], &wire[..]);
    }

    #[test]
    fn rdata_parse_never_panics(text in "\\PC{0,80}", t in prop::sample::select(vec![
        RType::A, RType::AAAA, RType::NS, RType::SOA, RType::MX, RType::TXT, RType::SRV, RType::CAA,
        RType::DS, RType::DNSKEY, RType::TLSA, RType::SSHFP, RType::NAPTR, RType::SVCB, RType::HTTPS,
        RType::HINFO, RType::URI, RType::LUA, RType::NSEC, RType(65000),
    ])) {
        let _ = parse_str(t, &text, &origin());
    }

    #[test]
    fn rdata_parse_never_panics_on_syntax_soup(
        text in "[0-9a-z=,.:\\\\\"#() ;-]{0,60}",
        t in prop::sample::select(vec![RType::SVCB, RType::TXT, RType::LUA, RType(65000), RType::DS, RType::CAA]),
    ) {
        let _ = parse_str(t, &text, &origin());
    }

    #[test]
    fn wire_checks_never_panic(wire in vec(any::<u8>(), 0..80), t in any::<u16>()) {
        let _ = check_wire(RType(t), &wire);
        let _ = to_text(RType(t), &wire);
    }

    #[test]
    fn zone_parse_never_panics(text in "\\PC{0,300}") {
        let _ = load::parse_str(&origin(), &text, Path::new("/nonexistent/fuzz.zone"));
    }

    #[test]
    fn zone_parse_never_panics_on_zone_like_text(
        text in "([@a-z0-9.*]{0,8}[ \t]+([0-9]{1,4}[ \t]+)?(IN[ \t]+)?(A|NS|MX|TXT|SOA|CNAME|HTTPS)[ \t]+[0-9a-z.\" ()\\\\;=,]{0,40}\n){0,8}",
    ) {
        let _ = load::parse_str(&origin(), &text, Path::new("/nonexistent/fuzz.zone"))
            .map(|records| load::validate(&origin(), &records));
    }
}
