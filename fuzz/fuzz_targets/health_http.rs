//! Fuzzes the LUA health checker's HTTP response reader (hyper's client
//! connection under dnsd's limits): any bytes as everything a server sends
//! back to a URL check before it closes, handed over in reads of a size the
//! input picks, under a `byteslimit` the input picks. Must never panic,
//! must finish (on a paused clock a reader stuck waiting trips the timeout
//! at once), and never keeps more body than its cap: `MAX_BODY`, or
//! `byteslimit` plus `MAX_OVERSHOOT`.
//!
//! Input: byte 0 picks the read size (high bit: all at once, else 1-128),
//! byte 1 the byteslimit (0: none), the rest is the response.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use dnsd::dynamic::health::fuzzing::{Hop, MAX_BODY, MAX_OVERSHOOT, read_raw_response};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::{Builder, Runtime};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let [read, limit, raw @ ..] = data else {
        return;
    };
    let read_size = if read & 0x80 != 0 {
        usize::MAX
    } else {
        1 + usize::from(*read)
    };
    let byteslimit = u64::from(*limit);
    // The timer is made inside the runtime: it needs the runtime's clock.
    let outcome = runtime().block_on(async {
        tokio::time::timeout(
            Duration::from_secs(3600),
            read_raw_response(raw, read_size, byteslimit),
        )
        .await
    });
    let Ok(outcome) = outcome else {
        panic!("the reader never finished on a server that closed");
    };
    if let Ok(Hop::Final(response)) = outcome {
        let cap = if byteslimit == 0 {
            MAX_BODY
        } else {
            MAX_BODY.min(*limit as usize + MAX_OVERSHOOT)
        };
        assert!(
            response.body.len() <= cap,
            "{} body bytes kept, cap {cap}",
            response.body.len()
        );
        assert!((100..1000).contains(&response.status));
    }
});
