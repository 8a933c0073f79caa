//! Property tests for the wire parser and the whole answer function:
//! no panic on any input, replies that an independent parser
//! (hickory-proto) accepts, and queries read back exactly as built.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name as HName, RecordType};
use proptest::prelude::*;

use dnsd::answer::{AnswerConfig, Responder};
use dnsd::parse::Transport;
use dnsd::parse::{Parsed, parse_request};
use dnsd::wire::Name;
use dnsd::zone::{Catalog, build_zone, load};

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@ SOA ns1 hostmaster 1 7200 3600 1209600 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
www AAAA 2001:db8::1
mx MX 10 mail
mail A 192.0.2.25
alias CNAME www
* TXT \"wild\"
a.b A 192.0.2.3
sub NS ns.sub
ns.sub A 192.0.2.77
dn DNAME example.org.
big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"
big TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"
";

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let origin = Name::from_text("example.test.", None).unwrap();
        let records = load::parse_str(&origin, ZONE, Path::new("props.zone")).unwrap();
        let mut catalog = Catalog::new();
        catalog.insert(Arc::new(build_zone(&origin, records).unwrap()));
        catalog
    })
}

fn answer(packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let mut responder = Responder::new(AnswerConfig::default());
    let mut out = Vec::new();
    responder
        .answer(
            packet,
            catalog(),
            transport,
            std::net::Ipv4Addr::LOCALHOST.into(),
            &mut out,
        )
        .then_some(out)
}

/// Labels drawn so queries hit existing names, wildcards, cuts and misses.
fn qname() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        Just("www".to_string()),
        Just("WwW".to_string()),
        Just("alias".to_string()),
        Just("b".to_string()),
        Just("a".to_string()),
        Just("sub".to_string()),
        Just("big".to_string()),
        Just("dn".to_string()),
        "[a-zA-Z0-9]{1,20}",
    ];
    (prop::collection::vec(label, 0..4), prop::bool::ANY).prop_map(|(labels, in_zone)| {
        let suffix = if in_zone { "example.test." } else { "other." };
        let mut name = labels.join(".");
        if !name.is_empty() {
            name.push('.');
        }
        name + suffix
    })
}

fn qtype() -> impl Strategy<Value = RecordType> {
    prop_oneof![
        Just(RecordType::A),
        Just(RecordType::AAAA),
        Just(RecordType::MX),
        Just(RecordType::TXT),
        Just(RecordType::NS),
        Just(RecordType::SOA),
        Just(RecordType::CNAME),
        Just(RecordType::DS),
        Just(RecordType::ANY),
        (1u16..65535).prop_map(RecordType::from),
    ]
}

fn build_query(id: u16, name: &str, rtype: RecordType, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(HName::from_ascii(name).unwrap(), rtype));
    if let Some((payload, dnssec_ok)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_dnssec_ok(dnssec_ok);
        msg.set_edns(e);
    }
    msg.to_vec().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_replies_parse(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_request(&bytes);
        for transport in [Transport::Udp, Transport::Tcp] {
            if let Some(reply) = answer(&bytes, transport) {
                let parsed = Message::from_vec(&reply);
                prop_assert!(parsed.is_ok(), "reply does not parse: {:?}", parsed.err());
                prop_assert_eq!(&reply[..2], &bytes[..2], "ID copied");
                prop_assert!(reply[2] & 0x80 != 0, "QR set");
            }
        }
    }

    #[test]
    fn corrupted_queries_never_panic(
        name in qname(), rtype in qtype(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let mut packet = build_query(7, &name, rtype, Some((1232, true)));
        for (index, value) in flips {
            let at = index.index(packet.len());
            packet[at] = value;
        }
        if let Some(reply) = answer(&packet, Transport::Udp) {
            prop_assert!(Message::from_vec(&reply).is_ok());
        }
    }

    #[test]
    fn queries_read_back_exactly(
        id in any::<u16>(), name in qname(), rtype in qtype(),
        edns in prop::option::of((any::<u16>(), any::<bool>()))
    ) {
        let packet = build_query(id, &name, rtype, edns);
        let Parsed::Request(request) = parse_request(&packet) else {
            return Err(TestCaseError::fail("a well-formed query did not parse"));
        };
        prop_assert_eq!(request.id, id);
        let question = request.question.as_ref().unwrap();
        let expected = Name::from_text(&name, None).unwrap().to_lowercase();
        prop_assert_eq!(question.lower_name(), expected.as_wire());
        prop_assert_eq!(question.qtype.0, u16::from(rtype));
        prop_assert_eq!(question.qclass.0, u16::from(DNSClass::IN));
        prop_assert_eq!(request.question_end, packet.len() - edns.map_or(0, |_| 11));
        match (request.edns, edns) {
            (Some(got), Some((payload, dnssec_ok))) => {
                // hickory raises payloads below 512 to 512 when encoding.
                prop_assert_eq!(got.payload, payload.max(512));
                prop_assert_eq!(got.dnssec_ok(), dnssec_ok);
                prop_assert_eq!(got.version, 0);
            }
            (None, None) => {}
            (got, want) => return Err(TestCaseError::fail(format!("edns {got:?} vs {want:?}"))),
        }
    }

    #[test]
    fn replies_echo_the_question_and_fit_the_limit(
        id in any::<u16>(), name in qname(), rtype in qtype(),
        edns in prop::option::of((any::<u16>(), any::<bool>()))
    ) {
        let packet = build_query(id, &name, rtype, edns);
        let reply = answer(&packet, Transport::Udp).expect("a query is answered");
        let limit = edns.map_or(512, |(payload, _)| usize::from(payload.clamp(512, 1232)));
        prop_assert!(reply.len() <= limit, "{} > {}", reply.len(), limit);
        let parsed = Message::from_vec(&reply).unwrap();
        prop_assert_eq!(parsed.metadata.id, id);
        // The question is copied octet for octet (0x20 case preserved).
        let question_len = packet.len() - 12 - edns.map_or(0, |_| 11);
        prop_assert_eq!(&reply[12..12 + question_len], &packet[12..12 + question_len]);
        prop_assert_eq!(parsed.edns.is_some(), edns.is_some());
        // Every record owner in the answer is at or below the question name's zone.
        for record in &parsed.answers {
            prop_assert!(record.name.to_ascii().to_lowercase().ends_with("example.test.")
                || record.name.to_ascii().to_lowercase().ends_with("example.org."));
        }
        let tcp = answer(&packet, Transport::Tcp).unwrap();
        let tcp = Message::from_vec(&tcp).unwrap();
        prop_assert!(!tcp.metadata.truncation, "never TC over TCP");
        // ANY differs by design: minimal over UDP, full over TCP.
        if !parsed.metadata.truncation && rtype != RecordType::ANY {
            prop_assert_eq!(parsed.answers.len(), tcp.answers.len());
        }
    }
}
