use std::path::Path;

use hickory_proto::op::Message as HMessage;

use super::*;
use crate::zone::load;

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

/// Records of `text` (a zone file body for `example.test.`), unlocated so
/// they compare equal to records read back from the wire.
fn records(text: &str) -> Vec<Record> {
    let origin = name("example.test.");
    let mut records = load::parse_str(&origin, text, Path::new("test.zone")).unwrap();
    for record in &mut records {
        record.location = None;
    }
    records
}

const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@ SOA ns1.Example.TEST. HostMaster 2026120701 7200 3600 1209600 60
@ NS ns1
@ NS ns2.other.test.
@ MX 10 mail
@ MX 20 Mail.Other.Test.
ns1 A 192.0.2.53
WWW A 192.0.2.1
WWW AAAA 2001:db8::1
mail A 192.0.2.25
alias CNAME WWW
ptr PTR www.example.test.
_sip._tcp SRV 10 60 5060 sip.example.test.
txt TXT \"hello\" \"world\"
deep.a.b.c TXT \"deep\"
";

/// Everything the writer produced, read back: (messages, records).
fn round_trip(records: &[Record], limit: usize, reserve: usize) -> (Vec<Vec<u8>>, Vec<Record>) {
    let apex = name("example.test.");
    let mut writer = MessageWriter::new(0xBEEF, (&apex, RType::AXFR), limit, reserve);
    let mut messages = Vec::new();
    for record in records {
        messages.extend(writer.push(record));
    }
    assert_eq!(writer.oversized(), 0);
    messages.extend(writer.finish());
    let mut read = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        assert!(message.len() <= limit - reserve || message_has_one_record(message));
        let parsed = read_message(message).unwrap();
        assert_eq!(parsed.id, 0xBEEF);
        assert!(parsed.aa && !parsed.tc);
        assert_eq!(parsed.rcode, Rcode::NOERROR);
        assert_eq!(&message[2..4], &[0x84, 0x00], "QR, AA, QUERY, NOERROR");
        match index {
            0 => assert_eq!(parsed.question, Some((apex.clone(), RType::AXFR))),
            _ => assert_eq!(parsed.question, None, "question in the first message only"),
        }
        assert!(!parsed.answers.is_empty(), "no empty message");
        read.extend(parsed.answers);
    }
    (messages, read)
}

fn message_has_one_record(message: &[u8]) -> bool {
    message[6..8] == [0, 1]
}

/// Equal, and every name spelled the same (`Name` equality ignores case).
fn assert_same_spelling(a: &[Record], b: &[Record]) {
    assert_eq!(a, b);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.owner.as_wire(), y.owner.as_wire());
        assert_eq!(x.rdata, y.rdata);
    }
}

#[test]
fn records_round_trip_with_compression_and_case() {
    let zone = records(ZONE);
    let (messages, read) = round_trip(&zone, 65535, 0);
    assert_eq!(messages.len(), 1);
    assert_same_spelling(&zone, &read);

    // Compression happened: smaller than the records written out plainly,
    // and the second NS's owner (the apex again) is a pointer.
    let plain: usize = zone
        .iter()
        .map(|r| r.owner.wire_len() + 10 + r.rdata.len())
        .sum();
    let question = 14 + 4;
    assert!(
        messages[0].len() < 12 + question + plain * 4 / 5,
        "{} vs {plain}",
        messages[0].len()
    );
    // The SOA's owner is the first name written, right after the question:
    // the other apex records point at it.
    let apex_pointer = [0xC0, 12 + question as u8];
    assert!(
        messages[0]
            .windows(2)
            .filter(|w| *w == apex_pointer)
            .count()
            >= 4
    );
}

#[test]
fn records_split_over_messages_each_within_the_limit() {
    let mut text = String::from(ZONE);
    for i in 0..300 {
        text.push_str(&format!(
            "host{i} A 192.0.2.{}\nhost{i} TXT \"record {i}\"\n",
            i % 250
        ));
    }
    let zone = records(&text);
    let (messages, read) = round_trip(&zone, 512, 100);
    assert!(messages.len() > 10);
    assert!(messages.iter().all(|m| m.len() <= 412));
    assert_same_spelling(&zone, &read);
}

#[test]
fn a_65000_octet_txt_rrset_round_trips() {
    // 260 TXT records of 250 octets of RDATA each: 65,000 octets.
    let mut text = String::from(ZONE);
    for i in 0..260 {
        text.push_str(&format!("big TXT \"{:03}{}\"\n", i, "x".repeat(246)));
    }
    let zone = records(&text);
    let big: usize = zone
        .iter()
        .filter(|r| r.rtype == RType::TXT)
        .map(|r| r.rdata.len())
        .sum();
    assert!(big >= 65000);
    let (messages, read) = round_trip(&zone, 65535, 0);
    assert_eq!(
        messages.len(),
        2,
        "65,000 octets of TXT and the rest spill over"
    );
    assert_same_spelling(&zone, &read);
    let (messages, read) = round_trip(&zone, 16384, 200);
    assert!(messages.len() >= 5);
    assert_same_spelling(&zone, &read);
}

/// One TXT record with `len` octets of RDATA (character-strings of up to
/// 255 octets).
fn txt_record(owner: &str, len: usize) -> Record {
    let mut rdata = Vec::with_capacity(len);
    while rdata.len() < len {
        let chunk = (len - rdata.len() - 1).min(255);
        rdata.push(chunk as u8);
        rdata.extend(std::iter::repeat_n(b'a', chunk));
    }
    Record {
        owner: name(owner),
        rtype: RType::TXT,
        class: 1,
        ttl: 60,
        rdata: rdata.into(),
        location: None,
    }
}

#[test]
fn a_record_exactly_at_the_limit_stays_and_one_octet_more_moves_on() {
    let apex = name("example.test.");
    let soa = records(ZONE).remove(0);
    let limit = 1000;
    let reserve = 100;
    for (extra, expected_messages) in [(0, 1), (1, 2)] {
        let mut writer = MessageWriter::new(7, (&apex, RType::AXFR), limit, reserve);
        assert!(writer.push(&soa).is_none());
        // What the SOA took, to size the TXT so the message is exactly full.
        let mut probe = MessageWriter::new(7, (&apex, RType::AXFR), limit, reserve);
        probe.push(&soa);
        let used = probe.finish().unwrap().len();
        // Owner "t.example.test." compresses to 1+1+2 octets, then 10 fixed.
        let rdlen = limit - reserve - used - 4 - 10 + extra;
        let txt = txt_record("t.example.test.", rdlen);
        let mut messages: Vec<Vec<u8>> = writer.push(&txt).into_iter().collect();
        messages.extend(writer.finish());
        assert_eq!(messages.len(), expected_messages, "extra {extra}");
        if extra == 0 {
            assert_eq!(messages[0].len(), limit - reserve);
        }
        let read: Vec<Record> = messages
            .iter()
            .flat_map(|m| read_message(m).unwrap().answers)
            .collect();
        assert_eq!(read, vec![soa.clone(), txt]);
    }
}

#[test]
fn a_record_larger_than_the_limit_goes_alone_and_one_larger_than_any_message_is_counted() {
    let apex = name("example.test.");
    let soa = records(ZONE).remove(0);
    let mut writer = MessageWriter::new(7, (&apex, RType::AXFR), 4096, 100);
    let big = txt_record("big.example.test.", 20_000);
    let huge = txt_record("huge.example.test.", 65_535);
    let mut messages = Vec::new();
    for record in [&soa, &big, &soa, &huge, &soa] {
        messages.extend(writer.push(record));
    }
    messages.extend(writer.finish());
    assert_eq!(writer_oversized_after(&[&soa, &huge]), 1);
    let counts: Vec<usize> = messages
        .iter()
        .map(|m| read_message(m).unwrap().answers.len())
        .collect();
    // SOA | big alone | SOA | SOA: huge, left out, still closed the
    // message before it (it was tried in an empty one).
    assert_eq!(counts, vec![1, 1, 1, 1]);
    assert!(messages[1].len() > 20_000 && messages[1].len() <= 65535 - 100);
    assert_eq!(read_message(&messages[1]).unwrap().answers[0], big);
}

fn writer_oversized_after(records: &[&Record]) -> usize {
    let apex = name("example.test.");
    let mut writer = MessageWriter::new(7, (&apex, RType::AXFR), 4096, 100);
    for record in records {
        writer.push(record);
    }
    writer.oversized()
}

#[test]
fn writer_output_parses_with_an_independent_parser() {
    let zone = records(ZONE);
    let (messages, _) = round_trip(&zone, 65535, 0);
    let parsed = HMessage::from_vec(&messages[0]).unwrap();
    assert_eq!(parsed.answers.len(), zone.len());
    for (theirs, ours) in parsed.answers.iter().zip(&zone) {
        assert_eq!(theirs.name.to_ascii(), ours.owner.to_string());
        assert_eq!(u16::from(theirs.record_type()), ours.rtype.0);
    }
    let mx = parsed
        .answers
        .iter()
        .find(|r| r.record_type() == hickory_proto::rr::RecordType::MX);
    assert_eq!(mx.unwrap().data.to_string(), "10 mail.example.test.");
}

#[test]
fn reads_compressed_rdata_written_by_another_encoder() {
    use hickory_proto::op::{Message, MessageType, OpCode};
    use hickory_proto::rr::rdata::{CNAME, MX, NS, SOA, SRV};
    use hickory_proto::rr::{Name as HName, RData, Record as HRecord};
    let h = |s: &str| HName::from_ascii(s).unwrap();
    let mut message = Message::new(9, MessageType::Response, OpCode::Query);
    let soa = SOA::new(
        h("ns1.example.test."),
        h("hostmaster.example.test."),
        5,
        7200,
        3600,
        1209600,
        60,
    );
    message.add_answer(HRecord::from_rdata(
        h("example.test."),
        300,
        RData::SOA(soa),
    ));
    message.add_answer(HRecord::from_rdata(
        h("example.test."),
        300,
        RData::NS(NS(h("ns1.example.test."))),
    ));
    message.add_answer(HRecord::from_rdata(
        h("example.test."),
        300,
        RData::MX(MX::new(10, h("mail.example.test."))),
    ));
    message.add_answer(HRecord::from_rdata(
        h("alias.example.test."),
        300,
        RData::CNAME(CNAME(h("www.example.test."))),
    ));
    let srv = SRV::new(1, 2, 5060, h("sip.example.test."));
    message.add_answer(HRecord::from_rdata(
        h("_sip._tcp.example.test."),
        300,
        RData::SRV(srv),
    ));
    let bytes = message.to_vec().unwrap();
    let expected = records(
        "$ORIGIN example.test.\n\
         @ 300 SOA ns1 hostmaster 5 7200 3600 1209600 60\n\
         @ 300 NS ns1\n\
         @ 300 MX 10 mail\n\
         alias 300 CNAME www\n\
         _sip._tcp 300 SRV 1 2 5060 sip\n",
    );
    let plain: usize = expected
        .iter()
        .map(|r| r.owner.wire_len() + 10 + r.rdata.len())
        .sum();
    assert!(bytes.len() < 12 + plain, "the other encoder compressed");
    let read = read_message(&bytes).unwrap();
    assert_eq!(read.id, 9);
    assert_eq!(read.answers, expected);
}

/// A header with `qdcount` questions and `ancount` answers.
fn header(qdcount: u16, ancount: u16) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x84, 0x00];
    m.extend_from_slice(&qdcount.to_be_bytes());
    m.extend_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

fn malformed(message: &[u8]) -> &'static str {
    match read_message(message) {
        Err(MessageError::Malformed(why)) => why,
        other => panic!("expected malformed, got {other:?}"),
    }
}

#[test]
fn hostile_messages_are_errors() {
    assert_eq!(malformed(&[0; 11]), "shorter than a header");

    // Question whose name points at itself, and forward.
    let mut m = header(1, 0);
    m.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1]);
    assert_eq!(malformed(&m), "compression pointer does not point back");
    let mut m = header(1, 0);
    m.extend_from_slice(&[0xC0, 14, 0, 6, 0, 1, 0]);
    assert_eq!(malformed(&m), "compression pointer does not point back");
    // A two-pointer loop: 12 -> 14 is forward; 14 -> 12 -> 14 must stop.
    let mut m = header(0, 1);
    m.extend_from_slice(&[1, b'a', 0xC0, 12]);
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(malformed(&m), "compression pointer does not point back");
    // Pointer past the end.
    let mut m = header(1, 0);
    m.extend_from_slice(&[0xFF, 0xFF, 0, 6, 0, 1]);
    assert_eq!(malformed(&m), "compression pointer does not point back");
    // Obsolete label types.
    let mut m = header(1, 0);
    m.extend_from_slice(&[0x41, 0, 0, 6, 0, 1]);
    assert_eq!(malformed(&m), "unknown label type");
    // Label running off the end.
    let mut m = header(1, 0);
    m.extend_from_slice(&[5, b'a', b'b']);
    assert_eq!(malformed(&m), "name cut short");

    // A name made longer than 255 octets by pointers to pointers: four
    // questions, each a 63-octet label before the previous one.
    let mut m = header(4, 0);
    let mut previous: Option<u16> = None;
    for i in 0..4u8 {
        let at = m.len() as u16;
        m.push(63);
        m.extend_from_slice(&[b'a' + i; 63]);
        match previous {
            None => m.push(0),
            Some(p) => m.extend_from_slice(&(0xC000 | p).to_be_bytes()),
        }
        m.extend_from_slice(&[0, 1, 0, 1]);
        previous = Some(at);
    }
    assert_eq!(malformed(&m), "name longer than 255 octets");
    m[5] = 3;
    assert!(read_message(&m).is_ok(), "193 octets are fine");

    // RDLENGTH past the end; hostile ANCOUNT.
    let mut m = header(0, 1);
    m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2]);
    assert_eq!(malformed(&m), "RDATA runs past the message");
    let m = header(0, 65535);
    assert_eq!(malformed(&m), "name cut short");

    // SOA whose fixed part is short; MX whose name overruns its RDATA.
    let mut m = header(0, 1);
    m.extend_from_slice(&[0, 0, 6, 0, 1, 0, 0, 0, 1, 0, 6, 0, 0, 1, 2, 3, 4]);
    assert_eq!(malformed(&m), "RDATA does not match its type");
    let mut m = header(0, 1);
    m.extend_from_slice(&[
        0, 0, 15, 0, 1, 0, 0, 0, 1, 0, 4, 0, 10, 3, b'a', b'b', b'c', 0,
    ]);
    assert!(matches!(read_message(&m), Err(MessageError::Malformed(_))));
    // MX with trailing octets after its name.
    let mut m = header(0, 1);
    m.extend_from_slice(&[0, 0, 15, 0, 1, 0, 0, 0, 1, 0, 5, 0, 10, 0, 9, 9]);
    assert_eq!(malformed(&m), "RDATA does not match its type");
}

#[test]
fn names_at_the_length_limit() {
    // 255 octets exactly is fine, via a pointer; one label more is not.
    let labels: Vec<String> = (0..3).map(|i| format!("{i}").repeat(63)).collect();
    let long = format!(
        "{}.{}.{}.{}.",
        labels[0],
        labels[1],
        labels[2],
        "a".repeat(61)
    );
    let long = name(&long);
    assert_eq!(long.wire_len(), 255);
    let mut m = header(1, 1);
    m.extend_from_slice(long.as_wire());
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xC0, 12]);
    let read = read_message(&m).unwrap();
    assert_eq!(read.question, Some((long.clone(), RType::A)));
    assert_eq!(read.answers[0].owner, long);
    assert_eq!(&read.answers[0].rdata[..], long.as_wire());

    let mut m = header(1, 1);
    m.extend_from_slice(long.as_wire());
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[1, b'x', 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(malformed(&m), "name longer than 255 octets");
}

#[test]
fn unknown_types_are_copied_and_counts_beyond_the_answer_are_ignored() {
    let mut m = header(0, 1);
    m[11] = 1; // ARCOUNT counts a TSIG RR the caller cut off.
    m.extend_from_slice(&[0, 0x30, 0x39, 0, 1, 0, 0, 0, 1, 0, 3, 0xC0, 0, 7]);
    let read = read_message(&m).unwrap();
    assert_eq!(read.answers.len(), 1);
    assert_eq!(read.answers[0].rtype, RType(0x3039));
    assert_eq!(
        &read.answers[0].rdata[..],
        &[0xC0, 0, 7],
        "not a name: not followed"
    );
    assert_eq!(read.question, None);
}

#[test]
fn header_fields_are_read() {
    let mut m = header(0, 0);
    m[2] = 0x82; // QR, TC
    m[3] = 0x05; // REFUSED
    let read = read_message(&m).unwrap();
    assert!(read.tc && !read.aa);
    assert_eq!(read.rcode, Rcode::REFUSED);
}
