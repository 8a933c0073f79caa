//! Slow and idle TCP clients must not slow UDP: UDP has its own threads, so
//! hundreds of idle or stalled TCP connections and a client that never
//! reads its replies leave UDP answers prompt.
//!
//! It runs beside the other tests of the binary, on a machine that may be
//! busy: the server is its own, and the bound (250 ms for the slowest of
//! 200 answers) is tens of times a loaded machine's answer time, while UDP
//! queued behind the stalled TCP clients would wait for them (seconds) or
//! go unanswered. Checked with a CPU hog beside the whole suite.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use e2e::{Query, Server, zone};
use hickory_proto::rr::RecordType;

#[test]
fn idle_and_stalled_tcp_clients_do_not_slow_udp() {
    let s = Server::builder()
        .zone("example.test", zone("example.test.zone"))
        .args(["--tcp-idle-timeout", "30", "--workers", "1"])
        .start();
    let mut held = Vec::new();
    // Idle connections.
    for _ in 0..300 {
        held.push(TcpStream::connect(s.addr()).expect("tcp connect"));
    }
    // Slowloris: a length prefix and part of a message, then nothing.
    for _ in 0..50 {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        c.write_all(&[0, 40, 0x12, 0x34, 0x01]).unwrap();
        held.push(c);
    }
    // A client that pipelines many queries and never reads a reply.
    let mut flood = TcpStream::connect(s.addr()).unwrap();
    let q = Query::new("www.example.test.", RecordType::TXT).to_bytes();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    flood
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    for _ in 0..20_000 {
        if flood.write_all(&framed).is_err() {
            break;
        }
    }
    // UDP stays prompt: every query answered, none slow.
    let mut worst = Duration::ZERO;
    for i in 0..200 {
        let started = Instant::now();
        let r = s.udp(&Query::new("www.example.test.", RecordType::A).id(i));
        assert_eq!(r.rcode(), 0);
        worst = worst.max(started.elapsed());
    }
    eprintln!("isolation: slowest UDP answer {worst:?}");
    assert!(
        worst < Duration::from_millis(250),
        "slowest UDP answer took {worst:?}"
    );
    drop(held);
    drop(flood);
}
