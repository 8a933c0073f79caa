//! The lookup client against replies made here, over real loopback sockets.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::wire::Name;

fn name(text: &str) -> Name {
    Name::from_labels(text.split('.').filter(|l| !l.is_empty()).map(str::as_bytes)).unwrap()
}

fn key(text: &str, rtype: RType) -> Key {
    Key::new(&name(text), rtype)
}

/// A record in wire form: owner (uncompressed), type, IN, TTL, RDATA.
fn rr(owner: &str, rtype: RType, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = name(owner).as_wire().to_vec();
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

/// A reply to `query` with `flags_low` (the RCODE, TC...) and sections.
fn reply(
    query: &[u8],
    extra_flags: u16,
    rcode: u8,
    answers: &[Vec<u8>],
    authority: &[Vec<u8>],
) -> Vec<u8> {
    let qlen = 12 + name_len(&query[12..]) + 4;
    let mut out = query[..2].to_vec();
    let flags = Flags::QR.0 | Flags::RD.0 | 0x0080 | extra_flags | u16::from(rcode);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&(authority.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&query[12..qlen]);
    for r in answers.iter().chain(authority) {
        out.extend_from_slice(r);
    }
    out
}

fn name_len(wire: &[u8]) -> usize {
    let mut pos = 0;
    while wire[pos] != 0 {
        pos += 1 + usize::from(wire[pos]);
    }
    pos + 1
}

fn soa(ttl: u32, minimum: u32) -> Vec<u8> {
    let mut rdata = name("ns.example").as_wire().to_vec();
    rdata.extend_from_slice(name("admin.example").as_wire());
    for v in [1u32, 3600, 600, 86400, minimum] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    rr("example", RType::SOA, ttl, &rdata)
}

#[test]
fn queries_ask_for_recursion_with_edns() {
    let q = query(0x1234, &key("Svc.Example", RType::AAAA));
    assert_eq!(&q[..2], &[0x12, 0x34]);
    assert_eq!(u16::from_be_bytes([q[2], q[3]]), Flags::RD.0);
    assert_eq!(&q[4..12], &[0, 1, 0, 0, 0, 0, 0, 1]);
    let qname_end = 12 + name_len(&q[12..]);
    assert_eq!(
        &q[12..qname_end],
        name("svc.example").as_wire(),
        "asked in lowercase"
    );
    assert_eq!(&q[qname_end..qname_end + 4], &[0, 28, 0, 1]);
    assert_eq!(
        &q[qname_end + 4..qname_end + 7],
        &[0, 0, 41],
        "an OPT record"
    );
    assert_eq!(
        &q[qname_end + 7..qname_end + 9],
        &EDNS_PAYLOAD.to_be_bytes()
    );
}

#[test]
fn answers_keep_the_asked_type_for_the_lowest_ttl_clamped() {
    let k = key("www.example", RType::A);
    let q = query(7, &k);
    let r = reply(
        &q,
        0,
        0,
        &[
            rr(
                "www.example",
                RType::CNAME,
                300,
                name("cdn.example").as_wire(),
            ),
            rr("cdn.example", RType::A, 120, &[192, 0, 2, 1]),
            rr("cdn.example", RType::A, 120, &[192, 0, 2, 2]),
        ],
        &[],
    );
    let Outcome::Answer { answers, ttl } = interpret(&r, &k).unwrap() else {
        panic!("an answer");
    };
    let texts: Vec<&str> = answers.iter().map(|a| a.content.as_str()).collect();
    assert_eq!(texts, ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(answers[0].owner, name("cdn.example"));
    assert_eq!(ttl, Duration::from_secs(120));

    let zero = reply(
        &q,
        0,
        0,
        &[rr("www.example", RType::A, 0, &[192, 0, 2, 1])],
        &[],
    );
    assert!(matches!(interpret(&zero, &k).unwrap(), Outcome::Answer { ttl, .. } if ttl == MIN_TTL));
    let long = reply(
        &q,
        0,
        0,
        &[rr("www.example", RType::A, 86400, &[192, 0, 2, 1])],
        &[],
    );
    assert!(matches!(interpret(&long, &k).unwrap(), Outcome::Answer { ttl, .. } if ttl == MAX_TTL));

    let txt_key = key("t.example", RType::TXT);
    let txt = reply(
        &query(8, &txt_key),
        0,
        0,
        &[rr("t.example", RType::TXT, 60, b"\x05hello")],
        &[],
    );
    let Outcome::Answer { answers, .. } = interpret(&txt, &txt_key).unwrap() else {
        panic!("an answer");
    };
    assert_eq!(answers[0].content, "\"hello\"", "zone-file format");
}

#[test]
fn negative_answers_are_kept_as_the_soa_says_capped() {
    let k = key("none.example", RType::A);
    let q = query(9, &k);
    let nx = reply(&q, 0, 3, &[], &[soa(3600, 30)]);
    assert_eq!(
        interpret(&nx, &k).unwrap(),
        Outcome::Answer {
            answers: Vec::new().into(),
            ttl: Duration::from_secs(30)
        }
    );
    let nodata = reply(&q, 0, 0, &[], &[soa(20, 300)]);
    assert!(
        matches!(interpret(&nodata, &k).unwrap(), Outcome::Answer { ttl, .. } if ttl == Duration::from_secs(20))
    );
    let long = reply(&q, 0, 3, &[], &[soa(86400, 86400)]);
    assert!(
        matches!(interpret(&long, &k).unwrap(), Outcome::Answer { ttl, .. } if ttl == MAX_NEGATIVE_TTL)
    );
    let bare = reply(&q, 0, 3, &[], &[]);
    assert!(
        matches!(interpret(&bare, &k).unwrap(), Outcome::Answer { ttl, .. } if ttl == DEFAULT_NEGATIVE_TTL)
    );
}

#[test]
fn error_rcodes_and_bad_replies_are_failures() {
    let k = key("svc.example", RType::A);
    let q = query(10, &k);
    assert!(matches!(
        interpret(&reply(&q, 0, 2, &[], &[]), &k),
        Err(LookupError::Rcode(2))
    ));
    assert!(matches!(
        interpret(&reply(&q, 0, 5, &[], &[]), &k),
        Err(LookupError::Rcode(5))
    ));
    let mut cut = reply(
        &q,
        0,
        0,
        &[rr("svc.example", RType::A, 60, &[192, 0, 2, 1])],
        &[],
    );
    cut.truncate(cut.len() - 2);
    assert!(matches!(
        interpret(&cut, &k),
        Err(LookupError::Malformed(_))
    ));
    let bad_a = reply(
        &q,
        0,
        0,
        &[rr("svc.example", RType::A, 60, &[192, 0, 2])],
        &[],
    );
    assert!(interpret(&bad_a, &k).is_err());
}

#[test]
fn replies_must_match_the_query() {
    let k = key("svc.example", RType::A);
    let q = query(11, &k);
    let good = reply(&q, 0, 0, &[], &[]);
    assert!(is_reply_to(&good, 11, &k));
    assert!(!is_reply_to(&good, 12, &k), "another ID");
    assert!(!is_reply_to(&q, 11, &k), "not a response");
    assert!(!is_reply_to(&good, 11, &key("other.example", RType::A)));
    assert!(!is_reply_to(&good, 11, &key("svc.example", RType::AAAA)));
    let upper = reply(&query(11, &key("SVC.EXAMPLE", RType::A)), 0, 0, &[], &[]);
    let mut upper = upper;
    upper[13..16].copy_from_slice(b"SVC");
    assert!(is_reply_to(&upper, 11, &k), "names compare without case");
}

/// A resolver on loopback: a stray reply first (wrong ID), then a truncated
/// reply over UDP; the full answer over TCP.
#[tokio::test]
async fn a_truncated_reply_moves_to_tcp_and_strays_are_ignored() {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = udp.local_addr().unwrap();
    let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let (n, peer) = udp.recv_from(&mut buf).await.unwrap();
        let q = &buf[..n];
        let mut stray = reply(
            q,
            0,
            0,
            &[rr("svc.example", RType::A, 60, &[192, 0, 2, 66])],
            &[],
        );
        stray[1] ^= 0xff;
        udp.send_to(&stray, peer).await.unwrap();
        udp.send_to(&reply(q, Flags::TC.0, 0, &[], &[]), peer)
            .await
            .unwrap();
    });
    tokio::spawn(async move {
        let (mut stream, _) = tcp.accept().await.unwrap();
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.unwrap();
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut q).await.unwrap();
        let answers: Vec<Vec<u8>> = (1..=3)
            .map(|i| rr("svc.example", RType::A, 60, &[192, 0, 2, i]))
            .collect();
        let r = reply(&q, 0, 0, &answers, &[]);
        let mut framed = (r.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&r);
        stream.write_all(&framed).await.unwrap();
    });
    let outcome = lookup(addr, &key("svc.example", RType::A)).await.unwrap();
    let Outcome::Answer { answers, .. } = outcome else {
        panic!("an answer");
    };
    let texts: Vec<&str> = answers.iter().map(|a| a.content.as_str()).collect();
    assert_eq!(texts, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
}

/// The background task fills the table; a resolver that never answers is a
/// failure once the task's deadlines pass, and never blocks a query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_completes_every_lookup_answered_or_not() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    let resolver = super::super::Resolver::start(
        super::super::ResolverSettings {
            addr: dead,
            wait: Duration::from_millis(20),
        },
        &tokio::runtime::Handle::current(),
    );
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking({
        let resolver = resolver.clone();
        move || resolver.lookup(&name("svc.example"), RType::A)
    })
    .await
    .unwrap();
    assert!(
        matches!(result, Err(super::super::ResolveError::TimedOut(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // After the task gives up (two UDP tries), the failure is known.
    tokio::time::sleep(UDP_TIMEOUT * UDP_TRIES as u32 + Duration::from_millis(300)).await;
    let result = resolver.lookup(&name("svc.example"), RType::A);
    assert!(
        matches!(result, Err(super::super::ResolveError::Failed(_))),
        "{result:?}"
    );
    drop(silent);
}
