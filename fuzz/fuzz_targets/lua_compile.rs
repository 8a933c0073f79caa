//! Fuzzes the LUA record compiler: any RDATA (two octets of produced type,
//! then the code) must compile or be refused with a reason, never panic,
//! in both whitespace modes; what compiles prints its warnings.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run lua_compile`.

#![no_main]

use dnsd::dynamic::{Whitespace, compile_rdata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|rdata: &[u8]| {
    for mode in [Whitespace::Join, Whitespace::Insert] {
        if let Ok(rule) = compile_rdata(rdata, mode) {
            for warning in &rule.warnings {
                let _ = warning.to_string();
            }
        }
    }
});
