//! conformance.md §10: TCP (RFC 7766).

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use e2e::{
    Query, RecordType, Reply, Server, TcpConn, assert_answer, assert_flag, assert_rcode, flag,
    framed, rcode,
};

use crate::fixtures::{EX_SOA, EX_WWW_A, huge_txt};

#[test]
fn r10_1_queries_over_tcp() {
    let s = Server::shared();
    let q = Query::new("example.test.", RecordType::SOA);
    assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_SOA], &[], &[]);
    let q = Query::new("www.example.test.", RecordType::A).edns();
    assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    let q = Query::new("nope.example.test.", RecordType::A);
    assert_answer(&q, &s.tcp(&q), rcode::NXDOMAIN, true, &[], &[EX_SOA], &[]);
    let q = Query::new("alias.example.test.", RecordType::A);
    assert_answer(
        &q,
        &s.tcp(&q),
        rcode::NOERROR,
        true,
        &[
            ("alias.example.test.", "CNAME", "www.example.test."),
            EX_WWW_A,
        ],
        &[],
        &[],
    );
    let q = Query::new("nope.other.", RecordType::A);
    assert_answer(&q, &s.tcp(&q), rcode::REFUSED, false, &[], &[], &[]);
}

#[test]
fn r10_2_pipelining_fifty_queries() {
    let s = Server::shared();
    let names = [
        ("www.example.test.", RecordType::A, rcode::NOERROR),
        ("nope.example.test.", RecordType::A, rcode::NXDOMAIN),
        ("mx.example.test.", RecordType::MX, rcode::NOERROR),
        ("alias.example.test.", RecordType::A, rcode::NOERROR),
        ("foo.wild.test.", RecordType::A, rcode::NOERROR),
        ("huge.trunc.test.", RecordType::TXT, rcode::NOERROR),
        ("nope.other.", RecordType::A, rcode::REFUSED),
    ];
    let mut c = TcpConn::connect(s.addr());
    let mut sent: BTreeMap<u16, (Query, u16)> = BTreeMap::new();
    let mut batch = Vec::new();
    for i in 0..50u16 {
        let (name, t, rc) = names[usize::from(i) % names.len()];
        let q = Query::new(name, t).id(0x1000 + i * 7);
        batch.extend_from_slice(&((q.to_bytes().len() as u16).to_be_bytes()));
        batch.extend_from_slice(&q.to_bytes());
        sent.insert(q.id, (q, rc));
    }
    // All 50 in one write: back to back, without waiting.
    c.send_raw(&batch);
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 50 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(bytes) = c.recv(left) else {
            panic!(
                "only {} of 50 pipelined queries answered; missing IDs {:?}\n{}",
                seen.len(),
                sent.keys()
                    .filter(|k| !seen.contains(*k))
                    .collect::<Vec<_>>(),
                s.context()
            );
        };
        let r = Reply::parse(bytes);
        let (q, rc) = sent
            .get(&r.id)
            .unwrap_or_else(|| panic!("response with unknown ID {}\n{}", r.id, r.summary()));
        assert!(seen.insert(r.id), "ID {} answered twice", r.id);
        e2e::assert_question_echoed(q, &r);
        assert_rcode(&r, *rc);
        assert_flag(&r, flag::TC, false);
    }
}

#[test]
fn r10_2_ten_thousand_pipelined_before_reading_all_answered() {
    // About 330 KB of queries written before the first read, so the answers
    // outgrow the socket buffers: the server has to stop reading while its
    // answers wait, then go on once the client reads. Every answer arrives.
    let s = Server::shared();
    let mut c = TcpConn::connect(s.addr());
    let names = [
        ("www.example.test.", RecordType::A),
        ("nope.example.test.", RecordType::A),
        ("mx.example.test.", RecordType::MX),
    ];
    let mut batch = Vec::new();
    for i in 0..10_000u16 {
        let (name, t) = names[usize::from(i) % names.len()];
        batch.extend_from_slice(&framed(&Query::new(name, t).id(i).to_bytes()));
    }
    let mut writer = c.try_clone();
    let sender = std::thread::spawn(move || writer.send_raw(&batch));
    std::thread::sleep(Duration::from_secs(1));
    let mut next = 0u16;
    while next < 10_000 {
        let Some(bytes) = c.recv(Duration::from_secs(5)) else {
            panic!("answers stopped after {next} of 10000\n{}", s.context());
        };
        let r = Reply::parse(bytes);
        assert_eq!(r.id, next, "answers in query order");
        next += 1;
    }
    sender.join().expect("all queries written");
}

#[test]
fn r10_3_client_that_never_reads_is_closed_after_the_idle_timeout() {
    let s = Server::standard(&["--tcp-idle-timeout", "1"]);
    let c = TcpConn::connect(s.addr());
    let mut writer = c.try_clone();
    let query = framed(&Query::new("www.example.test.", RecordType::A).to_bytes());
    let batch: Vec<u8> = query
        .iter()
        .copied()
        .cycle()
        .take(query.len() * 1000)
        .collect();
    let started = Instant::now();
    // Writes until the server gives up on the connection (it stops reading
    // once answers pile up; the buffers then fill and the write blocks).
    writer.set_write_timeout(Duration::from_secs(1));
    let sender = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_secs(20) {
            match writer.try_send_raw(&batch) {
                Ok(()) => {}
                // Blocked for a second: the server is not reading; keep at it.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return Some(started.elapsed()),
            }
        }
        None
    });
    let closed = sender.join().expect("writer thread");
    let Some(after) = closed else {
        panic!(
            "a client that never reads was still connected after 20 s\n{}",
            s.context()
        );
    };
    assert!(
        after < Duration::from_secs(10),
        "closed only after {after:?}"
    );
    drop(c);
}

#[test]
fn r10_3_stalled_message_closed_after_the_idle_timeout() {
    // Half a message, then nothing: closed like an idle connection.
    let s = Server::standard(&["--tcp-idle-timeout", "1"]);
    let mut c = TcpConn::connect(s.addr());
    let q = framed(&Query::new("www.example.test.", RecordType::A).to_bytes());
    c.send_raw(&q[..q.len() / 2]);
    let Some(after) = c.wait_closed(Duration::from_secs(5)) else {
        panic!("a stalled message kept the connection open 5 s");
    };
    assert!(
        after >= Duration::from_millis(700),
        "closed after {after:?}"
    );
}

#[test]
fn r10_3_idle_connection_closed_after_timeout() {
    let s = Server::standard(&["--tcp-idle-timeout", "1"]);
    let mut c = TcpConn::connect(s.addr());
    let closed = c.wait_closed(Duration::from_secs(5));
    let Some(after) = closed else {
        panic!("idle connection still open 5 s after connect with --tcp-idle-timeout 1");
    };
    assert!(
        after >= Duration::from_millis(700),
        "closed after {after:?}, before the 1 s idle timeout"
    );
}

#[test]
fn r10_3_idle_timer_restarts_after_each_query() {
    let s = Server::standard(&["--tcp-idle-timeout", "1"]);
    let mut c = TcpConn::connect(s.addr());
    // Keep it busy for ~1.6 s with queries every 0.4 s: it must stay open.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(400));
        let q = Query::new("www.example.test.", RecordType::A);
        c.send(&q.to_bytes());
        let r = c
            .recv(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("connection closed while in use\n{}", s.context()));
        assert_eq!(Reply::parse(r).id, q.id);
    }
    // Then idle: closed within a few seconds.
    assert!(
        c.wait_closed(Duration::from_secs(5)).is_some(),
        "idle connection not closed after the last query"
    );
}

#[test]
fn r10_3_default_idle_timeout_is_not_short() {
    // The default is 10 s: a connection idle for 2 s must still be usable.
    let s = Server::shared();
    let mut c = TcpConn::connect(s.addr());
    std::thread::sleep(Duration::from_secs(2));
    let q = Query::new("www.example.test.", RecordType::A);
    c.send(&q.to_bytes());
    let r = c
        .recv(Duration::from_secs(3))
        .unwrap_or_else(|| panic!("connection closed after 2 s idle\n{}", s.context()));
    assert_eq!(Reply::parse(r).id, q.id);
}

#[test]
fn r10_5_never_tc_over_tcp() {
    let s = Server::shared();
    let q = Query::new("huge.trunc.test.", RecordType::TXT);
    let r = s.tcp(&q);
    assert_rcode(&r, rcode::NOERROR);
    assert_flag(&r, flag::TC, false);
    assert_eq!(r.answer(), huge_txt(), "{}", r.summary());
    let q = Query::new("big.trunc.test.", RecordType::A).bufsize(512);
    let r = s.tcp(&q);
    assert_flag(&r, flag::TC, false);
    assert_eq!(r.msg.answers.len(), 40, "{}", r.summary());
}

#[test]
fn r10_6_connection_kept_open_between_queries() {
    let s = Server::shared();
    let mut c = TcpConn::connect(s.addr());
    for i in 0..5u16 {
        let q = Query::new("www.example.test.", RecordType::A).id(500 + i);
        c.send(&q.to_bytes());
        let r = c
            .recv(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("no answer to query {i} on one connection"));
        assert_eq!(Reply::parse(r).id, 500 + i);
    }
}

#[test]
fn r10_6_half_close_still_answered() {
    let s = Server::shared();
    let mut c = TcpConn::connect(s.addr());
    let mut ids = BTreeSet::new();
    for i in 0..5u16 {
        let q = Query::new("mx.example.test.", RecordType::MX).id(900 + i);
        c.send(&q.to_bytes());
        ids.insert(q.id);
    }
    c.shutdown_write();
    let mut got = BTreeSet::new();
    for _ in 0..5 {
        let r = c
            .recv(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("half-closed connection lost answers: got {got:?}"));
        got.insert(Reply::parse(r).id);
    }
    assert_eq!(got, ids);
}

#[test]
fn r10_1_message_split_across_segments() {
    // The length prefix and message arrive in pieces.
    let s = Server::shared();
    let q = Query::new("www.example.test.", RecordType::A);
    let b = q.to_bytes();
    let mut framed = (b.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&b);
    let mut c = TcpConn::connect(s.addr());
    for chunk in framed.chunks(5) {
        c.send_raw(chunk);
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = Reply::parse(c.recv(Duration::from_secs(3)).expect("answer"));
    assert_answer(&q, &r, rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
}

#[test]
fn r10_5_response_over_65535_octets_is_servfail() {
    // toobig.trunc.test holds a TXT and an SPF RRset of about 39 KB each:
    // either fits a message, both together (ANY over TCP) do not. A single
    // RRset that no message can carry is refused at load instead.
    let q = Query::new("toobig.trunc.test.", RecordType::ANY);
    let r = Server::shared().tcp(&q);
    e2e::assert_header_basics(&q, &r);
    e2e::assert_question_echoed(&q, &r);
    assert_rcode(&r, rcode::SERVFAIL);
    assert_flag(&r, flag::TC, false);
    assert!(r.msg.answers.is_empty(), "{}", r.summary());
}

#[test]
fn r10_4_slow_clients_do_not_hold_workers() {
    // With one worker, 20 connections that sent half a length prefix must not stop
    // UDP or other TCP clients from being served.
    let s = Server::standard(&["--workers", "1"]);
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut c = TcpConn::connect(s.addr());
        c.send_raw(&[0]);
        slow.push(c);
    }
    let q = Query::new("www.example.test.", RecordType::A);
    let start = Instant::now();
    assert_answer(&q, &s.udp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert_answer(&q, &s.tcp(&q), rcode::NOERROR, true, &[EX_WWW_A], &[], &[]);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "served, but slowly"
    );
    drop(slow);
}

#[test]
fn r10_3_default_idle_timeout_is_ten_seconds() {
    // The slowest test of the suite (about 10 s), run in parallel with the rest.
    let s = Server::shared();
    let mut c = TcpConn::connect(s.addr());
    let Some(after) = c.wait_closed(Duration::from_secs(15)) else {
        panic!("idle connection still open after 15 s (default idle timeout is 10 s)");
    };
    assert!(
        after >= Duration::from_secs(9) && after <= Duration::from_secs(13),
        "closed after {after:?}; the default idle timeout is 10 s"
    );
}

#[test]
fn r1_4_formerr_over_tcp() {
    let s = Server::hostile();
    let mut q = Query::new("www.example.test.", RecordType::A);
    q.questions.push(q.questions[0].clone());
    let mut c = TcpConn::connect(s.addr());
    c.send(&q.to_bytes());
    let r = Reply::parse(c.recv(Duration::from_secs(3)).expect("FORMERR over TCP"));
    assert_eq!(r.id, q.id);
    assert_eq!(r.rcode(), rcode::FORMERR, "{}", r.summary());
    assert_flag(&r, flag::QR, true);
}

#[test]
fn r1_2_qr_set_over_tcp_not_answered() {
    let s = Server::hostile();
    let bad = Query::new("www.example.test.", RecordType::A)
        .set(flag::QR)
        .id(0x0BAD);
    let good = Query::new("www.example.test.", RecordType::A).id(0x0600);
    let mut c = TcpConn::connect(s.addr());
    c.send(&bad.to_bytes());
    // The server may close the connection after a response-shaped message; if not,
    // the next query is answered and nothing ever comes back for the first.
    if c.try_send_raw(&framed(&good.to_bytes())).is_ok() {
        while let Some(b) = c.recv(Duration::from_secs(1)) {
            let r = Reply::parse(b);
            assert_ne!(r.id, 0x0BAD, "a QR=1 message was answered\n{}", r.summary());
        }
    }
}

#[test]
fn r10_3_stalled_message_is_cut_at_the_message_limit_not_the_idle_timeout() {
    // Idle timeout 10 s (the default); a started message has 5 s to finish.
    // Before, the one timer armed for the idle timeout let it hang 10 s.
    let s = Server::standard(&[]);
    let mut c = TcpConn::connect(s.addr());
    let q = framed(&Query::new("www.example.test.", RecordType::A).to_bytes());
    c.send_raw(&q[..q.len() / 2]);
    let Some(after) = c.wait_closed(Duration::from_secs(9)) else {
        panic!(
            "a stalled message kept the connection open 9 s\n{}",
            s.context()
        );
    };
    assert!(
        after >= Duration::from_millis(4500),
        "closed after {after:?}"
    );
}

/// Hardening item 5: one source cannot hold every TCP slot.
#[test]
fn r10_4_tcp_connections_per_source_are_capped() {
    let s = Server::standard(&["--tcp-max-per-source", "3", "--tcp-max-connections", "50"]);
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let served = |c: &mut TcpConn, id: u16| {
        let q = Query::new("www.example.test.", RecordType::A).id(id);
        c.try_send(&q.to_bytes()).is_ok() && c.recv(Duration::from_secs(2)).is_some()
    };
    // The start-up probe's connection may still hold a slot of 127.0.0.1.
    let mut held = Vec::new();
    for i in 0..3u16 {
        let mut conn = None;
        let ok = e2e::eventually(Duration::from_secs(5), || {
            let mut c = TcpConn::connect_from(s.addr(), lo);
            let ok = served(&mut c, i);
            conn = ok.then_some(c);
            ok
        });
        assert!(
            ok,
            "connection {i} from one source not served\n{}",
            s.context()
        );
        held.extend(conn);
    }
    let mut fourth = TcpConn::connect_from(s.addr(), lo);
    assert!(
        !served(&mut fourth, 9),
        "a fourth connection from one source was served"
    );
    // Another source is served while the first is at its cap.
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut c = TcpConn::connect_from(s.addr(), other);
    assert!(
        served(&mut c, 10),
        "another source was refused\n{}",
        s.context()
    );
    // A slot given back is usable again.
    drop(held.pop());
    let ok = e2e::eventually(Duration::from_secs(5), || {
        served(&mut TcpConn::connect_from(s.addr(), lo), 11)
    });
    assert!(ok, "no slot after a connection closed\n{}", s.context());
}
