//! Queries encoded by hickory-proto's own `Message` builder rather than by this suite's
//! byte-level [`e2e::Query`], so that a second, independent encoder is exercised.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use e2e::{Reply, Server, TcpConn, udp_exchange};

fn build(name: &str, t: RecordType, edns: bool) -> Message {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
    let mut q = HQuery::query(Name::from_ascii(name).expect("name"), t);
    q.set_query_class(DNSClass::IN);
    m.add_query(q);
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m
}

#[test]
fn hickory_encoded_query_over_udp() {
    let s = Server::shared();
    let m = build("www.example.test.", RecordType::A, true);
    let bytes =
        udp_exchange(s.addr(), &m.to_vec().expect("encode"), e2e::ANSWER_TIMEOUT).expect("answer");
    let r = Message::from_vec(&bytes).expect("decode");
    assert_eq!(r.metadata.id, 0x4242);
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.metadata.authoritative);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(
        r.answers[0].data,
        RData::A("192.0.2.80".parse().expect("ip"))
    );
    let e = r.edns.as_ref().expect("OPT echoed");
    assert_eq!(e.version(), 0);
    assert_eq!(e.max_payload(), 1232);
}

#[test]
fn hickory_encoded_query_over_tcp() {
    let s = Server::shared();
    let m = build("mx.example.test.", RecordType::MX, false);
    let mut c = TcpConn::connect(s.addr());
    c.send(&m.to_vec().expect("encode"));
    let r = Reply::parse(c.recv(e2e::ANSWER_TIMEOUT).expect("answer"));
    assert_eq!(r.id, 0x4242);
    assert_eq!(r.msg.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.msg.answers.len(), 1);
    assert_eq!(r.msg.additionals.len(), 2, "{}", r.summary());
    assert!(r.msg.edns.is_none());
}

#[test]
fn hickory_decodes_badvers_as_extended_rcode() {
    let s = Server::shared();
    let mut m = build("example.test.", RecordType::SOA, true);
    if let Some(e) = m.edns.as_mut() {
        e.set_version(1);
    }
    let bytes =
        udp_exchange(s.addr(), &m.to_vec().expect("encode"), e2e::ANSWER_TIMEOUT).expect("answer");
    let r = Message::from_vec(&bytes).expect("decode");
    // 16 is both BADVERS and BADSIG; hickory names it BADSIG, so compare the number.
    assert_eq!(u16::from(r.metadata.response_code), 16);
}
