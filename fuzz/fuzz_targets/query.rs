//! Fuzzes the wire parser and the whole answer function: any bytes, as a
//! query over UDP and over TCP, against a zone with every answer shape
//! (wildcard, CNAME, DNAME, delegation, large RRset). Must never panic;
//! every reply must start with the query's ID and have QR set. Responders
//! with reply templates that live across inputs (a UDP worker's own, a TCP
//! thread's shared ones) must answer every input byte for byte as the
//! plain pipeline does, whether they replay a reply kept for an earlier
//! input or not.

#![no_main]

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use dnsd::answer::{AnswerConfig, Responder};
use dnsd::parse::Transport;
use dnsd::wire::Name;
use dnsd::zone::{Catalog, build_zone, load};
use libfuzzer_sys::fuzz_target;

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
loop1 CNAME loop2
loop2 CNAME loop1
* TXT \"wild\"
a.b A 192.0.2.3
sub NS ns.sub
ns.sub A 192.0.2.77
dn DNAME example.test.
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
        let origin = Name::from_text("example.test.", None).expect("valid origin");
        let records = load::parse_str(&origin, ZONE, Path::new("fuzz.zone")).expect("valid zone");
        let mut catalog = Catalog::new();
        catalog.insert(Arc::new(
            build_zone(&origin, records).expect("buildable zone"),
        ));
        catalog
    })
}

fn replaying() -> &'static Mutex<Responder> {
    static RESPONDER: OnceLock<Mutex<Responder>> = OnceLock::new();
    RESPONDER.get_or_init(|| Mutex::new(Responder::new(AnswerConfig::default()).with_templates()))
}

fuzz_target!(|data: &[u8]| {
    let mut responder = Responder::new(AnswerConfig::default());
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        if responder.answer(
            data,
            catalog(),
            transport,
            std::net::Ipv4Addr::LOCALHOST.into(),
            &mut out,
        ) {
            assert_eq!(&out[..2], &data[..2], "ID copied");
            assert!(out[2] & 0x80 != 0, "QR set");
            if transport == Transport::Udp {
                assert!(out.len() <= 1232, "UDP reply within our payload size");
            }
        }
    }
    let peer = std::net::Ipv4Addr::LOCALHOST.into();
    for transport in [Transport::Udp, Transport::Tcp] {
        let plain = responder
            .answer(data, catalog(), transport, peer, &mut out)
            .then_some(out.clone());
        // UDP: a worker's own templates, living across inputs; TCP: the
        // thread's, shared by every responder made for it.
        let mut udp = replaying().lock().expect("not poisoned");
        let mut tcp = Responder::new(AnswerConfig::default()).with_thread_templates();
        let replaying = match transport {
            Transport::Udp => &mut *udp,
            Transport::Tcp => &mut tcp,
        };
        replaying.prefetch(data);
        // The second miss keeps the reply; the third answer replays it.
        for _ in 0..3 {
            let mut replayed = Vec::new();
            let answered = replaying.answer(data, catalog(), transport, peer, &mut replayed);
            assert_eq!(
                answered.then_some(replayed),
                plain,
                "{transport:?}: replayed reply differs"
            );
        }
    }
});
