//! Fuzzes what a transfer client reads from a primary: any bytes, cut into
//! length-prefixed messages as over TCP, to the message reader and then,
//! message by message, to the interpretation of an IXFR (from the serial
//! in octets 1-4, when octet 0 is odd) or AXFR reply. Must never panic;
//! every message read must survive being written again
//! (`MessageWriter`) and read back as the same records.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run transfer`.

#![no_main]

use dnsd::wire::{Name, RType};
use dnsd::xfr::client::{Fetched, Limits, ReplyInterpreter};
use dnsd::xfr::message::{MessageWriter, read_message};
use dnsd::zone::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut have = None;
    if mode & 1 == 1 {
        let Some((serial, after)) = rest.split_first_chunk::<4>() else {
            return;
        };
        have = Some(u32::from_be_bytes(*serial));
        rest = after;
    }
    let zone = Name::from_text("example.test.", None).expect("valid name");
    let limits = Limits {
        max_records: 10_000,
        max_octets: 1 << 20,
        ..Limits::default()
    };
    let mut interpreter = ReplyInterpreter::new(&zone, have, limits);
    while let Some((prefix, after)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*prefix)).min(after.len());
        let (message, after) = after.split_at(len);
        rest = after;
        let Ok(read) = read_message(message) else {
            continue;
        };
        round_trip(&read.answers, read.question.as_ref());
        match interpreter.feed(read.answers) {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
    if let Ok(fetched) = interpreter.finish() {
        match fetched {
            Fetched::Full(records) => assert_eq!(records[0].rtype, RType::SOA),
            Fetched::Incremental(diffs) => assert!(!diffs.is_empty()),
            Fetched::UpToDate { .. } => {}
        }
    }
});

/// Writes `records` into messages and reads them back: the same records.
fn round_trip(records: &[Record], question: Option<&(Name, RType)>) {
    let root = Name::root();
    let (qname, qtype) = question.map_or((&root, RType::AXFR), |(n, t)| (n, *t));
    let mut writer = MessageWriter::new(0x1234, (qname, qtype), 16384, 100);
    let mut messages: Vec<Vec<u8>> = records.iter().filter_map(|r| writer.push(r)).collect();
    let oversized = writer.oversized();
    messages.extend(writer.finish());
    if oversized > 0 {
        return;
    }
    let mut again = Vec::with_capacity(records.len());
    for message in &messages {
        assert!(message.len() <= 65535 - 100);
        let read = read_message(message).expect("our own message reads");
        again.extend(read.answers);
    }
    assert_eq!(again.len(), records.len());
    for (a, b) in again.iter().zip(records) {
        assert_eq!(a, b);
        assert_eq!(a.owner.as_wire(), b.owner.as_wire(), "spelling kept");
    }
}
