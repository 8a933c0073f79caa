//! The reply interpreter on hand-made record sequences, and the client
//! against scripted primaries on loopback (written with our own
//! [`MessageWriter`], so these also run the writer against the reader).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;

use super::*;
use crate::xfr::message::MessageWriter;
use crate::zone::load;

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

fn zone_name() -> Name {
    name("example.test.")
}

/// Records of zone text for `example.test.`, unlocated.
fn records(text: &str) -> Vec<Record> {
    let text = format!("$ORIGIN example.test.\n$TTL 300\n{text}");
    let mut records = load::parse_str(&zone_name(), &text, Path::new("t.zone")).unwrap();
    for record in &mut records {
        record.location = None;
    }
    records
}

fn soa(serial: u32) -> Record {
    records(&format!(
        "@ SOA ns1 hostmaster {serial} 7200 3600 1209600 60"
    ))
    .remove(0)
}

fn rr(text: &str) -> Record {
    records(text).remove(0)
}

fn interpret(have: Option<u32>, messages: Vec<Vec<Record>>) -> Result<Fetched, TransferError> {
    let mut interpreter = ReplyInterpreter::new(&zone_name(), have, Limits::default());
    for message in messages {
        if interpreter.feed(message)? {
            break;
        }
    }
    interpreter.finish()
}

#[test]
fn a_single_soa_not_newer_is_up_to_date() {
    for (have, primary) in [(5, 5), (5, 4), (3, u32::MAX - 10)] {
        let fetched = interpret(Some(have), vec![vec![soa(primary)]]).unwrap();
        assert!(matches!(fetched, Fetched::UpToDate { serial } if serial == primary));
    }
    // A primary that went back may send its whole zone: not wanted.
    let fetched = interpret(Some(9), vec![vec![soa(4), rr("www A 192.0.2.1"), soa(4)]]).unwrap();
    assert!(matches!(fetched, Fetched::UpToDate { serial: 4 }));
}

#[test]
fn incremental_replies_become_diffs() {
    // Serial arithmetic wraps: 4294967290 -> 3 -> 7.
    let old = u32::MAX - 5;
    let messages = vec![
        vec![soa(7), soa(old), rr("gone A 192.0.2.9"), soa(3)],
        vec![rr("new A 192.0.2.10"), soa(3)],
        vec![
            rr("new A 192.0.2.10"),
            soa(7),
            rr("newer TXT \"x\""),
            rr("newer MX 1 mail"),
        ],
        vec![soa(7)],
    ];
    let Fetched::Incremental(diffs) = interpret(Some(old), messages).unwrap() else {
        panic!("not incremental")
    };
    assert_eq!(diffs.len(), 2);
    assert_eq!((diffs[0].old_serial(), diffs[0].new_serial()), (old, 3));
    assert_eq!(diffs[0].deleted, vec![rr("gone A 192.0.2.9")]);
    assert_eq!(diffs[0].added, vec![rr("new A 192.0.2.10")]);
    assert_eq!((diffs[1].old_serial(), diffs[1].new_serial()), (3, 7));
    assert_eq!(diffs[1].deleted, vec![rr("new A 192.0.2.10")]);
    assert_eq!(
        diffs[1].added,
        vec![rr("newer TXT \"x\""), rr("newer MX 1 mail")]
    );
}

#[test]
fn full_replies_become_the_zone_with_one_soa() {
    let zone = vec![soa(8), rr("@ NS ns1"), rr("ns1 A 192.0.2.53")];
    for have in [None, Some(2)] {
        let mut reply = zone.clone();
        reply.push(soa(8));
        let halves = vec![reply[..2].to_vec(), reply[2..].to_vec()];
        let Fetched::Full(got) = interpret(have, halves).unwrap() else {
            panic!("not full")
        };
        assert_eq!(got, zone);
    }
    // A zone that is only its SOA, answered to IXFR: SOA, SOA.
    let fetched = interpret(Some(2), vec![vec![soa(8), soa(8)]]).unwrap();
    assert!(matches!(fetched, Fetched::Full(ref r) if *r == vec![soa(8)]));
}

#[test]
fn broken_replies_are_errors() {
    use TransferError::*;
    let cases: Vec<(Option<u32>, Vec<Record>, TransferError)> = vec![
        (None, vec![rr("www A 192.0.2.1")], FirstNotSoa),
        (None, vec![rr("sub SOA a b 1 2 3 4 5")], FirstNotSoa),
        (None, vec![soa(1), rr("www A 192.0.2.1")], Incomplete),
        (
            None,
            vec![soa(1), soa(2)],
            ClosingSerial {
                opening: 1,
                closing: 2,
            },
        ),
        (None, vec![soa(1), soa(1), rr("www A 192.0.2.1")], AfterEnd),
        (
            None,
            vec![soa(1), rr("sub SOA a b 1 2 3 4 5")],
            MisplacedSoa("sub.example.test. SOA".into()),
        ),
        (
            Some(1),
            vec![soa(3), soa(2), soa(3), soa(3)],
            FirstDiffSerial { asked: 1, got: 2 },
        ),
        (
            Some(1),
            vec![soa(3), soa(1), soa(2), soa(4)],
            BrokenChain {
                expected: 2,
                got: 4,
            },
        ),
        (Some(1), vec![soa(3), soa(1), soa(2)], Incomplete),
    ];
    for (have, reply, expected) in cases {
        assert_eq!(
            interpret(have, vec![reply.clone()]).unwrap_err(),
            expected,
            "{reply:?}"
        );
    }
    let outside = Record {
        owner: name("www.example.org."),
        ..rr("www A 192.0.2.1")
    };
    assert_eq!(
        interpret(None, vec![vec![soa(1), outside]]).unwrap_err(),
        OutsideZone("www.example.org. A".into())
    );
    let chaos = Record {
        class: 3,
        ..rr("www A 192.0.2.1")
    };
    assert!(matches!(
        interpret(None, vec![vec![soa(1), chaos]]),
        Err(WrongClass(_, 3, 1))
    ));
}

#[test]
fn limits_bound_what_is_held() {
    let limits = Limits {
        max_records: 10,
        ..Limits::default()
    };
    let mut interpreter = ReplyInterpreter::new(&zone_name(), None, limits);
    let mut result = Ok(false);
    for i in 0..20 {
        let message = if i == 0 {
            vec![soa(1)]
        } else {
            vec![rr("www A 192.0.2.1")]
        };
        result = interpreter.feed(message);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(TransferError::TooLarge("the record limit")));
    // Empty messages count too, so they cannot go on forever.
    let mut interpreter = ReplyInterpreter::new(
        &zone_name(),
        None,
        Limits {
            max_records: 5,
            ..Limits::default()
        },
    );
    let results: Vec<_> = (0..6).map(|_| interpreter.feed(Vec::new())).collect();
    assert!(results[5].is_err());

    let limits = Limits {
        max_octets: 1000,
        ..Limits::default()
    };
    let mut interpreter = ReplyInterpreter::new(&zone_name(), None, limits);
    let txt = rr(&format!(
        "big TXT \"{}\" \"{}\"",
        "a".repeat(250),
        "b".repeat(250)
    ));
    assert_eq!(interpreter.feed(vec![soa(1), txt.clone()]), Ok(false));
    assert_eq!(
        interpreter.feed(vec![txt]),
        Err(TransferError::TooLarge("the octet limit"))
    );
}

#[test]
fn ixfr_request_carries_our_soa() {
    let request = query(0x4242, &zone_name(), RType::IXFR, Some(0xDEADBEEF));
    let read = read_message(&request).unwrap();
    assert_eq!(read.id, 0x4242);
    assert_eq!(read.question, Some((zone_name(), RType::IXFR)));
    assert_eq!(&request[2..12], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
    // Authority: the zone (pointer to the question), SOA IN, serial.
    let authority = &request[12 + 14 + 4..];
    assert_eq!(&authority[..4], &[0xC0, 12, 0, 6]);
    assert_eq!(&authority[14..18], &0xDEADBEEFu32.to_be_bytes());
    let parsed = hickory_proto::op::Message::from_vec(&request).unwrap();
    assert_eq!(parsed.authorities.len(), 1);

    let axfr = query(1, &zone_name(), RType::AXFR, None);
    assert_eq!(axfr.len(), 12 + 14 + 4);
    assert_eq!(&axfr[2..12], &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/// What a scripted primary does with one request.
type Script = dyn Fn(&ReadMessage, &[u8]) -> Vec<Vec<u8>> + Send + Sync;

/// A TCP primary on loopback that answers each request with the messages
/// `script` returns, then closes (or, when there are none, keeps the
/// connection open and silent); counts connections.
async fn scripted_primary(script: Arc<Script>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let script = script.clone();
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut request).await.is_err() {
                    return;
                }
                let parsed = read_message(&request).unwrap();
                let messages = script(&parsed, &request);
                if messages.is_empty() {
                    let _ = stream.read(&mut len).await;
                }
                for message in messages {
                    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&message);
                    if stream.write_all(&framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections)
}

/// The reply messages of `records` to `request`, at most `limit` octets each.
fn reply(request: &ReadMessage, records: &[Record], limit: usize) -> Vec<Vec<u8>> {
    let (qname, qtype) = request.question.clone().unwrap();
    let mut writer = MessageWriter::new(request.id, (&qname, qtype), limit, 0);
    let mut messages: Vec<Vec<u8>> = records.iter().filter_map(|r| writer.push(r)).collect();
    messages.extend(writer.finish());
    messages
}

/// A reply of header and question only, with `rcode`.
fn error_reply(request: &[u8], rcode: Rcode) -> Vec<u8> {
    let question_end = 12 + zone_name().wire_len() + 4;
    let mut message = request[..question_end].to_vec();
    message[2] = 0x84;
    message[3] = rcode.header_bits();
    message[6..12].fill(0);
    message
}

fn big_zone(serial: u32) -> Vec<Record> {
    let mut text =
        format!("@ SOA ns1 hostmaster {serial} 7200 3600 1209600 60\n@ NS ns1\n@ MX 10 mail\n");
    for i in 0..500 {
        text.push_str(&format!(
            "host{i} A 10.0.{}.{}\nhost{i} TXT \"host number {i}\"\n",
            i / 250,
            i % 250
        ));
    }
    records(&text)
}

fn primary(addr: SocketAddr) -> Primary {
    Primary { addr, key: None }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn axfr_from_a_scripted_primary_in_many_messages() {
    let zone = big_zone(42);
    let served = zone.clone();
    let (addr, connections) =
        scripted_primary(Arc::new(move |request: &ReadMessage, raw: &[u8]| {
            assert_eq!(request.question, Some((zone_name(), RType::AXFR)));
            assert_eq!(&raw[8..10], &[0, 0], "no authority in an AXFR request");
            let mut records = served.clone();
            records.push(served[0].clone());
            reply(request, &records, 1024)
        }))
        .await;
    let Fetched::Full(got) = fetch(&primary(addr), &zone_name(), None, WAIT)
        .await
        .unwrap()
    else {
        panic!("not full")
    };
    assert_eq!(got, zone);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    // No deadline arithmetic overflows.
    let unbounded = Limits {
        max_time: Duration::MAX,
        ..Limits::default()
    };
    let fetched = fetch_with(
        &primary(addr),
        &zone_name(),
        None,
        Duration::MAX,
        &unbounded,
    )
    .await;
    assert!(matches!(fetched, Ok(Fetched::Full(ref r)) if *r == zone));
}

#[tokio::test]
async fn ixfr_from_a_scripted_primary() {
    let (addr, _) = scripted_primary(Arc::new(|request: &ReadMessage, raw: &[u8]| {
        assert_eq!(request.question, Some((zone_name(), RType::IXFR)));
        assert_eq!(&raw[8..10], &[0, 1], "our SOA in the authority section");
        assert_eq!(&raw[raw.len() - 20..raw.len() - 16], &41u32.to_be_bytes());
        let records = [
            soa(43),
            soa(41),
            rr("old A 192.0.2.1"),
            soa(43),
            rr("new A 192.0.2.2"),
            soa(43),
        ];
        reply(request, &records, 512)
    }))
    .await;
    let Fetched::Incremental(diffs) = fetch(&primary(addr), &zone_name(), Some(41), WAIT)
        .await
        .unwrap()
    else {
        panic!("not incremental")
    };
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].deleted, vec![rr("old A 192.0.2.1")]);
    assert_eq!(diffs[0].added, vec![rr("new A 192.0.2.2")]);
}

#[tokio::test]
async fn a_refused_or_broken_ixfr_falls_back_to_axfr() {
    let zone = big_zone(7);
    for broken in ["refused", "notimp", "formerr", "eof", "outside"] {
        let served = zone.clone();
        let (addr, connections) =
            scripted_primary(Arc::new(move |request: &ReadMessage, raw: &[u8]| {
                let qtype = request.question.as_ref().unwrap().1;
                if qtype == RType::IXFR {
                    return match broken {
                        "refused" => vec![error_reply(raw, Rcode::REFUSED)],
                        "notimp" => vec![error_reply(raw, Rcode::NOTIMP)],
                        "formerr" => vec![error_reply(raw, Rcode::FORMERR)],
                        "eof" => reply(request, &served[..10], 512),
                        _ => {
                            let outside = Record {
                                owner: name("www.example.org."),
                                ..rr("www A 192.0.2.1")
                            };
                            reply(request, &[soa(7), outside, soa(7)], 512)
                        }
                    };
                }
                let mut records = served.clone();
                records.push(served[0].clone());
                reply(request, &records, 16384)
            }))
            .await;
        let fetched = fetch(&primary(addr), &zone_name(), Some(3), WAIT)
            .await
            .unwrap();
        assert!(
            matches!(fetched, Fetched::Full(ref r) if *r == zone),
            "{broken}"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 2, "{broken}");
    }
}

#[tokio::test]
async fn transfer_failures_are_errors() {
    // AXFR refused: no fallback beyond it.
    let (addr, connections) = scripted_primary(Arc::new(|_: &ReadMessage, raw: &[u8]| {
        vec![error_reply(raw, Rcode::REFUSED)]
    }))
    .await;
    let error = fetch(&primary(addr), &zone_name(), None, WAIT)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        FetchError::Message {
            source: MessageError::Rcode(Rcode::REFUSED),
            ..
        }
    ));
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    // Another message ID.
    let (addr, _) = scripted_primary(Arc::new(|request: &ReadMessage, _: &[u8]| {
        let mut messages = reply(request, &[soa(1), soa(1)], 512);
        messages[0][0] ^= 0xFF;
        messages
    }))
    .await;
    let error = fetch(&primary(addr), &zone_name(), None, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Protocol { ref reason, .. } if reason.contains("message ID")),
        "{error}"
    );

    // The stream ends before the closing SOA.
    let (addr, _) = scripted_primary(Arc::new(|request: &ReadMessage, _: &[u8]| {
        reply(request, &[soa(1), rr("a A 192.0.2.1")], 512)
    }))
    .await;
    let error = fetch(&primary(addr), &zone_name(), None, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Protocol { ref reason, .. } if reason.contains("closing SOA")),
        "{error}"
    );

    // A primary that never answers: a timeout, in about the read timeout.
    let (addr, _) = scripted_primary(Arc::new(|_: &ReadMessage, _: &[u8]| Vec::new())).await;
    let started = std::time::Instant::now();
    let error = fetch(
        &primary(addr),
        &zone_name(),
        None,
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Timeout { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let error = fetch(&primary(closed), &zone_name(), None, WAIT)
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Io { .. }), "{error}");
}

/// A UDP primary answering SOA queries: first a stray reply with another
/// ID, then the reply `answer` makes of the query.
async fn udp_primary(answer: fn(&[u8]) -> Vec<u8>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 512];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let query = &buffer[..len];
            let mut stray = answer(query);
            stray[1] ^= 0x55;
            let _ = socket.send_to(&stray, peer).await;
            let _ = socket.send_to(&answer(query), peer).await;
        }
    });
    addr
}

/// An authoritative SOA answer to `query`, serial 77.
fn soa_answer(query: &[u8]) -> Vec<u8> {
    let read = read_message(query).unwrap();
    let (qname, qtype) = read.question.unwrap();
    let mut writer = MessageWriter::new(read.id, (&qname, qtype), 512, 0);
    assert!(writer.push(&soa(77)).is_none());
    writer.finish().unwrap()
}

#[tokio::test]
async fn soa_serial_over_udp_ignores_strays() {
    let addr = udp_primary(soa_answer).await;
    assert_eq!(
        soa_serial(&primary(addr), &zone_name(), WAIT)
            .await
            .unwrap(),
        77
    );
    // No deadline arithmetic overflows.
    let serial = soa_serial(&primary(addr), &zone_name(), Duration::MAX).await;
    assert_eq!(serial.unwrap(), 77);

    let addr = udp_primary(|query| {
        let mut reply = soa_answer(query);
        reply[2] &= !0x04; // AA off
        reply
    })
    .await;
    let error = soa_serial(&primary(addr), &zone_name(), WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Protocol { ref reason, .. } if reason.contains("authoritative"))
    );

    let addr = udp_primary(|query| error_reply(query, Rcode::SERVFAIL)).await;
    let error = soa_serial(&primary(addr), &zone_name(), WAIT)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        FetchError::Message {
            source: MessageError::Rcode(Rcode::SERVFAIL),
            ..
        }
    ));
}

#[tokio::test]
async fn soa_serial_retries_over_tcp_when_truncated() {
    // UDP and TCP on the same port: TC over UDP, the answer over TCP.
    let (tcp_addr, connections) =
        scripted_primary(Arc::new(|request: &ReadMessage, raw: &[u8]| {
            assert_eq!(request.question, Some((zone_name(), RType::SOA)));
            vec![soa_answer(raw)]
        }))
        .await;
    let Ok(socket) = UdpSocket::bind(tcp_addr).await else {
        // The port is taken for UDP by someone else: nothing to learn here.
        eprintln!("skipped: UDP port {} busy", tcp_addr.port());
        return;
    };
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 512];
        while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
            let mut reply = error_reply(&buffer[..len], Rcode::NOERROR);
            reply[2] |= 0x02; // TC
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    assert_eq!(
        soa_serial(&primary(tcp_addr), &zone_name(), WAIT)
            .await
            .unwrap(),
        77
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn soa_serial_times_out_per_attempt() {
    // A socket that reads and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let started = std::time::Instant::now();
    let error = soa_serial(&primary(addr), &zone_name(), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Timeout { .. }));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    drop(silent);
}
