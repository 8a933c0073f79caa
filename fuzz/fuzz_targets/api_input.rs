//! Fuzzes what the HTTP API accepts: a zone-creation body as JSON, and the
//! same input cut into the fields of a body (zone text, an RRset's name,
//! type and content), so the zone rules are reached without the fuzzer
//! first having to discover JSON. Every zone that is created is then
//! patched with its own RRsets. Must produce a zone or an error, never a
//! panic; zone text never opens a file (`$INCLUDE` is refused).
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run api_input`.

#![no_main]

use dnsd::api::patch::{CreateZone, apply_patch, create_zone};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// 2026-11-27T12:00:00Z: serials do not depend on when the fuzzer runs.
const NOW: u64 = 1_795_780_800;

fn exercise(body: &CreateZone) {
    if let Ok(zone) = create_zone(body, NOW)
        && let Some(changes) = &body.rrsets
    {
        let _ = apply_patch(&zone, changes, NOW);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<CreateZone>(data) {
        exercise(&body);
    }
    let mut fields = data
        .split(|&b| b == 0xFF)
        .map(|f| String::from_utf8_lossy(f).into_owned());
    let mut next = || fields.next().unwrap_or_default();
    let (text, owner, rtype, content) = (next(), next(), next(), next());
    let as_text = json!({
        "name": "fuzz.test.", "kind": "Native", "zone": text,
    });
    let as_rrset = json!({
        "name": "fuzz.test.", "kind": "Native", "nameservers": ["ns1.fuzz.test."],
        "rrsets": [{
            "name": format!("{owner}.fuzz.test."), "type": rtype, "ttl": 300,
            "changetype": "REPLACE", "records": [{"content": content, "disabled": false}],
        }],
    });
    for body in [as_text, as_rrset] {
        if let Ok(body) = serde_json::from_value::<CreateZone>(body) {
            exercise(&body);
        }
    }
});
