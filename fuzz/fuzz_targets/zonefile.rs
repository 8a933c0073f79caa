//! Fuzzes the zone-file reader and the RDATA text parser: arbitrary UTF-8
//! must produce records or errors, never a panic. Whatever parses must also
//! print and re-parse to the same wire bytes.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run zonefile`.

#![no_main]

use std::path::Path;

use dnsd::wire::rdata;
use dnsd::wire::{Name, RType};
use dnsd::zone::load;
use libfuzzer_sys::fuzz_target;

const TYPES: [RType; 10] = [
    RType::A,
    RType::MX,
    RType::TXT,
    RType::SOA,
    RType::SVCB,
    RType::CAA,
    RType::DS,
    RType::NAPTR,
    RType::LUA,
    RType(65000),
];

fuzz_target!(|text: &str| {
    // A literal absolute name always parses.
    let origin = Name::from_text("example.test.", None).unwrap();
    // A directory that does not exist, so relative $INCLUDEs fail fast.
    let file = Path::new("/nonexistent/fuzz.zone");
    if let Ok(records) = load::parse_str(&origin, text, file) {
        let (kept, errors) = load::dedup_and_validate(&origin, records.clone());
        assert_eq!(errors.len(), load::validate(&origin, &records).len());
        assert!(kept.len() <= records.len());
    }
    for rtype in TYPES {
        if let Ok(wire) = rdata::parse_str(rtype, text, &origin) {
            let printed = rdata::to_text(rtype, &wire).expect("parsed RDATA prints");
            let again = rdata::parse_str(rtype, &printed, &origin).expect("printed RDATA parses");
            assert_eq!(again, wire, "{rtype} {text:?} printed as {printed:?}");
        }
    }
});
