//! Fuzzes the embedded Lua engine: any code a LUA record may hold, run in
//! the sandbox for a query with ECS, must give record data or an error,
//! never a panic, a hang or unbounded memory (the instruction and memory
//! limits hold), and must leave the thread's state usable: a fixed script
//! still answers afterwards.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run lua_eval`.

#![no_main]

use dnsd::dynamic::embedded::{Script, run};
use dnsd::dynamic::{AllUp, Ecs, NoGeo, QueryContext, Value};
use dnsd::wire::Name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|code: &str| {
    let qname = Name::from_text("www.example.test.", None).unwrap();
    let zone = Name::from_text("example.test.", None).unwrap();
    let ecs = Ecs {
        addr: "192.0.2.77".parse().unwrap(),
        source_prefix: 24,
    };
    let q = QueryContext::new(
        &qname,
        &qname,
        &zone,
        "127.0.0.1".parse().unwrap(),
        Some(ecs),
    );
    let mut rng = fastrand::Rng::with_seed(1);
    if let Ok(script) = Script::record(code) {
        let _ = run(&script, &q, &AllUp, &NoGeo, &mut rng);
    }
    let probe = Script::record(";return bestwho:toString()").unwrap();
    assert_eq!(
        run(&probe, &q, &AllUp, &NoGeo, &mut rng),
        Ok(Value::Texts(vec!["192.0.2.0".into()])),
        "the state is unusable after {code:?}"
    );
});
