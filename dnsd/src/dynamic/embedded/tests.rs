//! The embedded engine: PowerDNS's environment, the sandbox, the limits,
//! both modes, and the same answers as the native engine for every
//! function both run.

use std::net::IpAddr;

use super::*;
use crate::dynamic::compile;
use crate::dynamic::eval::{AllUp, Health, NoGeo, RequestFacts, ZoneData, evaluate_rule};
use crate::dynamic::rule::{Rule, compile_expr};
use crate::dynamic::tests::{FakeGeo, FakeHealth, Q, UP, rng};
use crate::wire::{Name, RType};

const FRESH: Mode = Mode {
    shared: false,
    exec_limit: 1000,
};

fn script(code: &str) -> Script {
    Script::record(code).unwrap_or_else(|e| panic!("{code}: {e}"))
}

fn eval_in(mode: Mode, code: &str, q: &Q) -> Result<NativeValue, EvalError> {
    run_in(mode, &script(code), &q.ctx(), &AllUp, &FakeGeo, &mut rng())
}

fn texts(code: &str, q: &Q) -> Vec<String> {
    match eval_in(FRESH, code, q) {
        Ok(NativeValue::Texts(t)) => t,
        other => panic!("{code}: {other:?}"),
    }
}

fn one(code: &str) -> String {
    let t = texts(code, &Q::new("www.example.org."));
    assert_eq!(t.len(), 1, "{code}: {t:?}");
    t[0].clone()
}

fn fails(code: &str) -> EvalError {
    match eval_in(FRESH, code, &Q::new("www.example.org.")) {
        Err(e) => e,
        Ok(v) => panic!("{code} gave {v:?}"),
    }
}

#[test]
fn expressions_and_scripts_as_powerdns_runs_them() {
    let us = Q::new("www.example.org.").ecs("1.2.3.4", 24);
    let au = Q::new("www.example.org.").ecs("1.1.1.1", 24);
    let code = "country('us') and '192.0.2.1' or '192.0.2.2'";
    assert_eq!(texts(code, &us), ["192.0.2.1"]);
    assert_eq!(texts(code, &au), ["192.0.2.2"]);
    let code = ";if continent('OC') then return {'192.0.2.3','192.0.2.4'} end return '192.0.2.5'";
    assert_eq!(texts(code, &au), ["192.0.2.3", "192.0.2.4"]);
    assert_eq!(texts(code, &us), ["192.0.2.5"]);
    assert_eq!(
        texts(
            ";local cc = countryCode() return string.format('%s-%d', cc, 7)",
            &us
        ),
        ["us-7"]
    );
    assert_eq!(one("tostring(12) .. 'x'"), "12x");
    assert_eq!(one(";return 42"), "42");
}

#[test]
fn query_variables_and_objects() {
    let q = Q::new("www.example.org.")
        .who("192.0.2.55")
        .ecs("1.2.3.77", 24);
    let t = |code: &str| texts(code, &q);
    assert_eq!(t("qname:toString()"), ["www.example.org."]);
    assert_eq!(t("qname:toStringNoDot()"), ["www.example.org"]);
    assert_eq!(t("zone:toString()"), ["example.org."]);
    assert_eq!(t("who:toString()"), ["192.0.2.55"]);
    assert_eq!(t("bestwho:toString()"), ["1.2.3.0"]);
    assert_eq!(t("ecswho:toString()"), ["1.2.3.0/24"]);
    assert_eq!(t("tostring(qname:countLabels())"), ["3"]);
    assert_eq!(t("tostring(qname:isPartOf(zone))"), ["true"]);
    assert_eq!(t("tostring(qname:isPartOf('example.com'))"), ["false"]);
    assert_eq!(
        t("tostring(who:isIPv4()) .. tostring(who:isIPv6())"),
        ["truefalse"]
    );
    assert_eq!(
        t("newCAFromRaw(string.char(192,0,2,9), 53):toStringWithPort()"),
        ["192.0.2.9:53"]
    );
    assert_eq!(t("newCAFromRaw('xyz'):toString()"), ["0.0.0.0"]);
    assert_eq!(t("newCA('2001:db8::1'):toString()"), ["2001:db8::1"]);
    assert_eq!(
        t(
            ";local n = newNMG({'10.0.0.0/8'}) n:addMask('192.0.2.0/24') return tostring(n:match(who))"
        ),
        ["true"]
    );
    assert_eq!(
        t("tostring(newNetmask('1.2.3.0/24'):match(bestwho))"),
        ["true"]
    );
    assert_eq!(
        t(";local d = newDN('a.b.example.org') d:chopOff() return d:toString()"),
        ["b.example.org."]
    );
    assert_eq!(
        t("tostring(pdns.A) .. ' ' .. tostring(pdns.AAAA)"),
        ["1 28"]
    );
    assert_eq!(t("tostring(GeoIPQueryAttribute.Country)"), ["3"]);
    assert_eq!(
        t("geoiplookup('1.2.3.4', GeoIPQueryAttribute.Country)"),
        ["us"]
    );
    assert_eq!(
        t("geoiplookup('17.1.0.1', GeoIPQueryAttribute.Country)"),
        ["unknown"]
    );
    assert_eq!(t("tostring(ecswho == nil)"), ["false"]);
    let no_ecs = Q::new("www.example.org.");
    assert_eq!(texts("tostring(ecswho == nil)", &no_ecs), ["true"]);
    let magic = Q::new("4.3.2.1.geo.example.org.");
    assert_eq!(texts("latlonMagic()", &magic), ["47.913000 -122.304200"]);

    // The request itself: dh, tcp, dnssecOK, ednsPKTSize.
    let facts = RequestFacts {
        id: 4242,
        flags: 0x0110, // RD, CD
        tcp: true,
        dnssec_ok: true,
        edns_size: 1232,
    };
    let ctx = q.ctx().with_request(facts);
    let run = |code: &str| run_in(FRESH, &script(code), &ctx, &AllUp, &NoGeo, &mut rng());
    assert_eq!(
        run(
            "string.format('%d %s %s %s %s %d', dh:getID(), tostring(dh:getRD()), tostring(dh:getCD()), tostring(dh:getTC()), tostring(tcp and dnssecOK), ednsPKTSize)"
        ),
        Ok(NativeValue::Texts(vec![
            "4242 true true false true 1232".into()
        ]))
    );
}

/// Methods found missing or different by the differential test against
/// PowerDNS 4.7.3 (tests/e2e/lua_pdns.rs), with PowerDNS's answers.
#[test]
fn object_methods_answer_as_powerdns() {
    let q = Q::new("www.example.org.").ecs("1.2.3.77", 24);
    let t = |code: &str| texts(code, &q);
    assert_eq!(
        t(";local d = newDN('www.example.com') return d:wireLength() .. ' ' .. d:wirelength()"),
        ["17 17"]
    );
    assert_eq!(
        t("newDN('bb.a.example.com.'):makeRelative(newDN('example.com.')):toString()"),
        ["bb.a."]
    );
    assert_eq!(
        t("newDN('www.example.com'):makeRelative(newDN('example.net')):toString()"),
        ["www.example.com."]
    );
    assert_eq!(
        t("table.concat(newDN('www.Example.com'):getRawLabels(), ',')"),
        ["www,Example,com"]
    );
    assert_eq!(
        t("tostring(newDN('a.example.com'):canonCompare(newDN('B.example.com')))"),
        ["true"]
    );
    assert_eq!(
        t("tostring(newDN('b.example.com'):canonCompare(newDN('a.example.com')))"),
        ["false"]
    );
    assert_eq!(t("tostring(#newCA('1.2.3.4'):getRaw())"), ["4"]);
    assert_eq!(t("tostring(#newCA('2001:db8::1'):getRaw())"), ["16"]);
    assert_eq!(
        t("newCAFromRaw(newCA('192.0.2.9'):getRaw()):toString()"),
        ["192.0.2.9"]
    );
    assert_eq!(
        t("tostring(newCA('1.2.3.4:53'):equal(newCA('1.2.3.4')))"),
        ["true"]
    );
    // PowerDNS clears a netmask's host bits when it builds it.
    assert_eq!(
        t(
            ";local m = newNetmask('192.0.2.1/24') return m:getNetwork():toString() .. ' ' .. m:getMaskedNetwork():toString()"
        ),
        ["192.0.2.0 192.0.2.0"]
    );
    assert_eq!(t("ecswho:getNetwork():toString()"), ["1.2.3.0"]);
}

/// `addMasks` takes a list's values, and `!mask` excludes: the most
/// specific mask holding the address decides.
#[test]
fn netmask_groups_add_lists_and_exclusions() {
    let q = Q::new("www.example.org.");
    let t = |code: &str| texts(code, &q);
    let code = ";local g = newNMG() g:addMask('10.0.0.0/8') \
                g:addMasks({'1.2.3.0/24', '!1.2.3.4/32'}) \
                return tostring(g:match(newCA('1.2.3.4'))) .. tostring(g:match(newCA('1.2.3.5'))) \
                .. tostring(g:match(newCA('10.9.9.9'))) .. tostring(g:match(newCA('11.0.0.1')))";
    assert_eq!(t(code), ["falsetruetruefalse"]);
    assert_eq!(
        t("tostring(newNMG({'0.0.0.0/0', '!1.2.0.0/16', '1.2.3.0/24'}):match(newCA('1.2.3.9')))"),
        ["true"]
    );
    assert_eq!(
        t("tostring(newNMG({'0.0.0.0/0', '!1.2.0.0/16'}):match(newCA('1.2.4.9')))"),
        ["false"]
    );
    assert!(matches!(
        fails(";newNMG():addMask('x') return '1'"),
        EvalError::Script(_)
    ));
}

/// The reference page's `ComboAddressSet` example, `print` (to the log) and
/// `pdnsrandom`.
#[test]
fn address_sets_print_and_pdnsrandom() {
    let code = ";addr = newCA('1.2.3.4') myset = newCAS() myset:add(addr) \
                myset:add('5.6.7.8') myset:add({'::1/128', '10.11.12.13'}) \
                if myset:check(addr) then print('found!', 1, true) end \
                return tostring(myset:check(newCA('5.6.7.8:53'))) .. tostring(myset:check('10.11.12.13')) \
                .. tostring(myset:check(newCA('9.9.9.9')))";
    assert_eq!(one(code), "truetruefalse");
    for _ in 0..20 {
        let n: u32 = one("pdnsrandom(3)").parse().expect("a number");
        assert!(n < 3, "{n}");
    }
    assert!(one("pdnsrandom()").parse::<u32>().is_ok());
}

/// A number returned as record data reads as PowerDNS reads it from Lua
/// (`%.14g`).
#[test]
fn returned_numbers_print_as_lua_5_1() {
    assert_eq!(one("1/3"), "0.33333333333333");
    assert_eq!(one("42"), "42");
    assert_eq!(one("2^53"), "9.007199254741e+15");
    assert_eq!(one("1e14"), "1e+14");
    assert_eq!(one("123456789012345"), "1.2345678901234e+14");
    assert_eq!(one("0.0001"), "0.0001");
    assert_eq!(one("0.00001"), "1e-05");
    assert_eq!(one("-2.5"), "-2.5");
    assert_eq!(
        texts("{1/4, 7}", &Q::new("www.example.org.")),
        ["0.25", "7"]
    );
}

#[test]
fn nothing_outside_the_environment_is_reachable() {
    for code in [
        "os.execute('true')",
        "io.open('/etc/passwd')",
        "require('os')",
        "load('return 1')()",
        "loadstring('return 1')()",
        "dofile('/etc/passwd')",
        "loadfile('/etc/passwd')",
        "getfenv(1)",
        "setfenv(1, {})",
        "collectgarbage('count')",
        "debug.getinfo(1)",
        "local p = package.loaded",
        "string.dump(print)",
        "(''):dump()",
        "coroutine.create(function() end)",
        "rawset(string, 'x', 1)",
    ] {
        let err = fails(&format!(";{code} return '192.0.2.1'"));
        assert!(matches!(err, EvalError::Script(_)), "{code}: {err:?}");
    }
    // The string metatable and the library tables cannot be changed.
    assert_eq!(one("tostring(getmetatable(''))"), "false");
    assert!(matches!(
        fails(";string.upper = nil return 'x'"),
        EvalError::Script(_)
    ));
    assert_eq!(one("string.upper('ok')"), "OK");
    // `print` exists, as in PowerDNS, but writes to the log, not stdout.
    assert_eq!(one(";print('x') return 'printed'"), "printed");
}

#[test]
fn limits_answer_servfail_and_leave_the_state_usable() {
    assert_eq!(fails(";while true do end"), EvalError::ExecLimit);
    // pcall cannot swallow the limit.
    assert_eq!(
        fails(";while true do pcall(function() while true do end end) end"),
        EvalError::ExecLimit
    );
    assert_eq!(
        fails(";local s = string.rep('x', 1e9) return s"),
        EvalError::MemoryLimit
    );
    // Distinct strings (Lua interns equal ones): the state's memory limit.
    assert_eq!(
        fails(";local t = {} for i = 1, 100 do t[i] = string.rep('x', 1e6) .. i end return 'x'"),
        EvalError::MemoryLimit
    );
    assert_eq!(one("string.rep('ab', 3, '-')"), "ab-ab-ab");
    assert_eq!(one("string.rep('ab', 0) .. '|'"), "|");
    assert!(matches!(
        fails(";local function f(n) return f(n + 1) + 1 end return f(1)"),
        EvalError::ExecLimit | EvalError::Script(_)
    ));
    // The instruction count is per evaluation: a script just under the
    // limit runs every time.
    for _ in 0..3 {
        assert_eq!(
            one(";local n = 0 for i = 1, 100 do n = n + i end return tostring(n)"),
            "5050"
        );
    }
    let unlimited = Mode {
        exec_limit: 0,
        ..FRESH
    };
    let q = Q::new("www.example.org.");
    let r = eval_in(
        unlimited,
        ";local n = 0 for i = 1, 100000 do n = n + 1 end return tostring(n)",
        &q,
    );
    assert_eq!(r, Ok(NativeValue::Texts(vec!["100000".into()])));
}

#[test]
fn each_evaluation_gets_its_own_modes_limits() {
    // The hook is registered once per state and re-armed per evaluation;
    // the memory limit is on only while a script runs. A tight budget, then
    // the default, then a script past the memory limit, in turn: each
    // evaluation sees its own limits and none leaks into the next.
    let q = Q::new("www.example.org.");
    let sum = ";local n = 0 for i = 1, 100 do n = n + i end return tostring(n)";
    let tight = Mode {
        exec_limit: 50,
        ..FRESH
    };
    for _ in 0..2 {
        assert_eq!(eval_in(tight, sum, &q), Err(EvalError::ExecLimit));
        assert_eq!(
            eval_in(FRESH, sum, &q),
            Ok(NativeValue::Texts(vec!["5050".into()]))
        );
        assert_eq!(
            eval_in(FRESH, ";return tostring(#string.rep('x', 1e9))", &q),
            Err(EvalError::MemoryLimit)
        );
        // A bridged function called from a script runs under the limits too.
        assert_eq!(
            eval_in(tight, ";while true do pickrandom({'192.0.2.1'}) end", &q),
            Err(EvalError::ExecLimit)
        );
    }
}

#[test]
fn globals_are_fresh_per_query_unless_shared() {
    let q = Q::new("www.example.org.");
    let code = ";counter_for_test = (counter_for_test or 0) + 1 return tostring(counter_for_test)";
    for _ in 0..3 {
        assert_eq!(texts(code, &q), ["1"]);
    }
    let shared = Mode {
        shared: true,
        ..FRESH
    };
    let counts: Vec<NativeValue> = (0..3).map(|_| eval_in(shared, code, &q).unwrap()).collect();
    let n = |v: &NativeValue| match v {
        NativeValue::Texts(t) => t[0].parse::<u32>().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(n(&counts[1]), n(&counts[0]) + 1);
    assert_eq!(n(&counts[2]), n(&counts[0]) + 2);
}

#[test]
fn results_that_are_not_record_data_fail() {
    assert!(matches!(fails(";return nil"), EvalError::Script(_)));
    assert!(matches!(fails(";return true"), EvalError::Script(_)));
    assert!(matches!(fails(";return {'a', {}}"), EvalError::Script(_)));
    assert!(matches!(fails(";error('boom')"), EvalError::Script(m) if m.contains("boom")));
    assert!(matches!(fails("nosuchfunction()"), EvalError::Script(_)));
    // A bad argument to a PowerDNS function fails the evaluation.
    assert!(matches!(
        fails(";return pickrandom({})"),
        EvalError::Script(m) if m.contains("pickrandom")
    ));
    assert!(Script::record(";return (").is_err());
    assert!(Script::record("1 +").is_err());
}

/// Served data with one included record and one A RRset.
struct Data;

impl ZoneData for Data {
    fn lua_code(&self, name: &Name) -> Vec<String> {
        if name.to_string() == "config.example.org." {
            vec!["pool = {'192.0.2.10', '192.0.2.11'} ".into()]
        } else {
            Vec::new()
        }
    }

    fn lookup(&self, name: &Name, rtype: RType) -> Vec<String> {
        if name.to_string() == "static.example.org." && rtype == RType::A {
            vec!["192.0.2.99".into()]
        } else {
            Vec::new()
        }
    }
}

#[test]
fn include_and_dblookup_read_the_served_zones() {
    let q = Q::new("www.example.org.");
    let ctx = q.ctx().with_data(&Data);
    let run = |code: &str| run_in(FRESH, &script(code), &ctx, &AllUp, &NoGeo, &mut rng());
    assert_eq!(
        run(";include('config') return pool"),
        Ok(NativeValue::Texts(vec![
            "192.0.2.10".into(),
            "192.0.2.11".into()
        ]))
    );
    assert_eq!(
        run(";include('missing') return pool"),
        Err(EvalError::Script(
            run(";include('missing') return pool")
                .unwrap_err()
                .to_string()
                .trim_start_matches("script: ")
                .to_string()
        ))
    );
    assert_eq!(
        run("dblookup('static.example.org', pdns.A)"),
        Ok(NativeValue::Texts(vec!["192.0.2.99".into()]))
    );
    assert_eq!(
        run("dblookup('static.example.org', 'A')"),
        Ok(NativeValue::Texts(vec!["192.0.2.99".into()]))
    );
    assert_eq!(
        run("dblookup('nothing.example.org', pdns.A)"),
        Ok(NativeValue::Texts(vec![]))
    );
}

/// Every function both engines run gives the same value for the same
/// query, health states, GeoIP and random draws.
#[test]
fn native_and_embedded_engines_agree() {
    let calls = [
        "ifportup(443, {'192.0.2.1', '192.0.2.2'})",
        "ifportup(443, {{'192.0.2.1'}, {'192.0.2.3'}}, {selector='all'})",
        "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'}, {selector='hashed'})",
        "ifurlup('https://example.org/', {'192.0.2.1', '192.0.2.2'}, {selector='pickclosest'})",
        "ifurlextup({{['192.0.2.1']='https://a.example/', ['192.0.2.2']='https://b.example/'}})",
        "pickselfweighted('https://example.org/', {'192.0.2.1', '192.0.2.2'})",
        "pickrandom({'192.0.2.1', '192.0.2.2', '192.0.2.3'})",
        "pickrandomsample(2, {'192.0.2.1', '192.0.2.2', '192.0.2.3'})",
        "pickhashed({'192.0.2.1', '192.0.2.2', '192.0.2.3'})",
        "pickwhashed({{15, '192.0.2.1'}, {50, '192.0.2.2'}})",
        "picknamehashed({{15, '1.2.3.4'}, {42, '4.3.2.1'}})",
        "pickwrandom({{10, '192.0.2.1'}, {90, '192.0.2.2'}})",
        "pickchashed({{1, '192.0.2.1'}, {1, '198.51.100.1'}})",
        "pickclosest({'1.1.1.2', '1.2.3.4'})",
        "all({'192.0.2.1', '192.0.2.2'})",
        "view({{{'1.2.3.0/24'}, {'192.0.2.8'}}, {{'0.0.0.0/0'}, {'192.0.2.9'}}})",
        "country('us')",
        "country({'au', 'nz'})",
        "continent('NA')",
        "region('ca')",
        "asnum(3320)",
        "netmask({'1.2.3.0/24'})",
        "countryCode()",
        "continentCode()",
        "regionCode()",
        "latlon()",
        "latlonloc()",
        "createForward()",
        "createReverse('ip-%1%-%2%-%3%-%4%')",
        "filterForward('192.0.2.1', newNMG({'192.0.2.0/24'}))",
        "filterForward('10.0.0.1', newNMG({'192.0.2.0/24'}), '')",
    ];
    let health = FakeHealth::with(&[("192.0.2.1", UP), ("192.0.2.2", Health::Down)]);
    let queries = [
        Q::new("1-2-3-4.example.org.").ecs("1.2.3.4", 24),
        Q::new("www.example.org.").ecs("1.1.1.9", 32),
        Q::new("test.namehashed.example.org.").who("192.0.2.3"),
    ];
    for call in calls {
        let (rule, _) = compile_expr(call).unwrap_or_else(|e| panic!("{call}: {e}"));
        assert!(!matches!(rule, Rule::Script(_)), "{call}");
        for q in &queries {
            let native = evaluate_rule(&rule, &q.ctx(), &health, &FakeGeo, &mut rng());
            let embedded = run_in(
                FRESH,
                &script(call),
                &q.ctx(),
                &health,
                &FakeGeo,
                &mut rng(),
            );
            let embedded = match (&native, embedded) {
                // One string comes back as a one-element list either way.
                (_, Ok(v)) => Ok(v),
                (_, Err(e)) => Err(e),
            };
            match (&native, &embedded) {
                (Ok(NativeValue::Bool(b)), Err(EvalError::Script(m))) => {
                    // A boolean is not record data for a script's result;
                    // compare through a script that returns its text.
                    assert!(m.contains("boolean"), "{call}: {m}");
                    let text = run_in(
                        FRESH,
                        &script(&format!("tostring({call})")),
                        &q.ctx(),
                        &health,
                        &FakeGeo,
                        &mut rng(),
                    );
                    assert_eq!(
                        text,
                        Ok(NativeValue::Texts(vec![b.to_string()])),
                        "{call} for {:?}",
                        q.ctx()
                    );
                }
                _ => assert_eq!(&native, &embedded, "{call} for {:?}", q.ctx()),
            }
        }
    }
}

#[test]
fn records_outside_the_subset_compile_to_scripts() {
    for code in [
        ";return '192.0.2.1'",
        "country('us') and '192.0.2.1' or '192.0.2.2'",
        "string.format('%s', '192.0.2.1')",
        "newCA('192.0.2.1'):toString()",
        // A call of a Lua base function alone fits the native grammar, but
        // only the embedded engine has the function.
        "tostring(pdnsrandom(3))",
        "tostring(42)",
    ] {
        let rule = compile(code, RType::A).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert!(matches!(rule.rule, Rule::Script(_)), "{code}");
        assert!(!rule.is_cacheable(), "{code}");
    }
    // Native code stays native.
    let rule = compile("pickrandom({'192.0.2.1'})", RType::A).unwrap();
    assert!(!matches!(rule.rule, Rule::Script(_)));
    // A syntax error is reported with its line.
    let err = compile(";local x = \n return (", RType::A).unwrap_err();
    assert!(err.does_not_compile, "{err}");
    assert!(err.reason.contains("line 2"), "{err}");
    // A `LUA LUA` record is code to include.
    let rule = compile("settings = {}", RType::LUA).unwrap();
    assert!(matches!(rule.rule, Rule::Script(_)));
    let _: IpAddr = "192.0.2.1".parse().unwrap();
}
