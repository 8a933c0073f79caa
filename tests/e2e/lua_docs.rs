//! The examples of PowerDNS's LUA-records documentation (`docs/lua-records/index.rst`,
//! `functions.rst` and `reference/*.rst` in PowerDNS/pdns) served by dnsd, one test per
//! doc section or small group of examples, named after the section.
//!
//! The zones (`lua-docs.zone` as example.com, `lua-docs-in-addr.zone` as in-addr.arpa,
//! `lua-docs-ip6*.zone` under ip6.arpa) are our own text built from the docs' record shapes;
//! health-checked addresses are loopback ones that a test serves (TCP or HTTP) or leaves
//! closed, on a free port that replaces `18080`. Expected answers come from the docs and,
//! where the docs and PowerDNS's code disagree, from `shared/spec/lua-records.md` (the
//! code wins; each such case says so). Client addresses are sent as ECS, chosen against
//! the fixture MMDB of `lua.rs`.

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, Instant};

use e2e::{Query, RecordType, Server, rcode, scratch_dir, zone};

use crate::lua::{
    SWITCH, Target, ask, ask_ecs, data, ecs, expect_answer, expect_nodata, geo_args, port_free_on,
    q_ecs, reply_ecs, set,
};

/// How many queries show a random picker's choices: with two equally likely values the
/// chance of missing one in 40 draws is 2^-39.
const DRAWS: usize = 40;

/// Every loopback address a test of this module binds.
const LISTEN_IPS: &[&str] = &[
    "127.0.51.1",
    "127.0.51.2",
    "127.0.43.1",
    "127.0.43.2",
    "127.0.52.1",
    "127.0.52.2",
    "127.0.52.3",
    "127.0.53.1",
    "127.0.53.3",
    "127.0.54.1",
    "127.0.54.2",
    "127.0.55.1",
    "127.0.55.2",
    "127.0.57.1",
    "127.0.57.3",
];

/// A dnsd serving the docs zones with `18080` replaced by `port`, health checks every
/// second, the fixture MMDB.
fn docs_server(port: u16) -> Server {
    let dir = scratch_dir("lua-docs");
    let mut b = Server::builder();
    for (origin, file) in [
        ("example.com", "lua-docs.zone"),
        ("in-addr.arpa", "lua-docs-in-addr.zone"),
        ("ip6.arpa", "lua-docs-ip6.zone"),
        ("8.b.d.0.1.0.0.2.ip6.arpa", "lua-docs-ip6-db8.zone"),
    ] {
        let text = fs::read_to_string(zone(file)).expect("read docs zone");
        let path = dir.join(file);
        fs::write(&path, text.replace("18080", &port.to_string())).expect("write zone");
        b = b.zone(origin, path);
    }
    let mut args = geo_args();
    args.extend(["--lua-health-interval".to_string(), "1".to_string()]);
    b.args(args).start()
}

/// A server and the port its health checks use, for tests that bring listeners up.
fn docs_server_with_port() -> (Server, u16) {
    let port = port_free_on(LISTEN_IPS);
    (docs_server(port), port)
}

/// The union of `n` answers of type `t` (each must be NOERROR), with ECS `addr/source` or
/// none.
#[track_caller]
fn answers(
    s: &Server,
    name: &str,
    t: RecordType,
    ecs: Option<(&str, u8)>,
    n: usize,
) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for _ in 0..n {
        let r = match ecs {
            Some((addr, source)) => ask_ecs(s, name, t, addr, source),
            None => ask(s, name, t),
        };
        assert_eq!(r.rcode(), rcode::NOERROR, "{name} {t}\n{}", r.summary());
        all.extend(data(&r, &t.to_string()));
    }
    all
}

/// Waits until `n` answers of `name` (A, from 127.0.0.1, or ECS) together are exactly
/// `want`: a health state has settled.
#[track_caller]
fn wait_for_union(s: &Server, name: &str, ecs: Option<(&str, u8)>, want: &[&str]) {
    let want = set(want);
    let start = Instant::now();
    let mut last = BTreeSet::new();
    while start.elapsed() < SWITCH * 2 {
        last = answers(s, name, RecordType::A, ecs, 12);
        if last == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{name} (ECS {ecs:?}): answers never became {want:?}; last {last:?}\n{}",
        s.context()
    );
}

/// Every one of `n` replies has exactly one A record, taken from `among`.
#[track_caller]
fn one_of_each_time(s: &Server, name: &str, ecs: Option<(&str, u8)>, among: &[&str]) {
    let among = set(among);
    for _ in 0..12 {
        let r = match ecs {
            Some((addr, source)) => ask_ecs(s, name, RecordType::A, addr, source),
            None => ask(s, name, RecordType::A),
        };
        let got = data(&r, "A");
        assert!(
            r.rcode() == rcode::NOERROR && got.len() == 1 && among.contains(&got[0]),
            "{name}: want one of {among:?}\n{}",
            r.summary()
        );
    }
}

/// A server for the tests that probe no health-checked name.
fn shared() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| docs_server(port_free_on(LISTEN_IPS)))
}

//=========== index.rst =========================================================================

/// index.rst "Examples": `ifportup(443, {a, b})` answers a random one of the listening
/// addresses, only the other when one stops listening, and when both are down still one
/// of them (backupSelector `random`; the docs' "all candidates are returned" is
/// the candidate set the pick is made from, spec §7.1).
#[test]
fn index_examples_ifportup() {
    let (s, port) = docs_server_with_port();
    let a = Target::tcp("127.0.51.1", port);
    let mut b = Target::tcp("127.0.51.2", port);
    wait_for_union(&s, "www.example.com.", None, &["127.0.51.1", "127.0.51.2"]);
    one_of_each_time(&s, "www.example.com.", None, &["127.0.51.1", "127.0.51.2"]);
    b.stop();
    wait_for_union(&s, "www.example.com.", None, &["127.0.51.1"]);
    drop(a);
    wait_for_union(&s, "www.example.com.", None, &["127.0.51.1", "127.0.51.2"]);
    one_of_each_time(&s, "www.example.com.", None, &["127.0.51.1", "127.0.51.2"]);
}

/// index.rst "Examples": `pickclosest({'192.0.2.1','192.0.2.2','198.51.100.1'})` against
/// the fixture locations (192.0.2.0/24 at 0/−179, 198.51.100.0/24 at 0/179).
#[test]
fn index_examples_pickclosest() {
    let s = shared();
    let name = "closest.example.com.";
    let one = |addr: &str, source: u8| answers(s, name, RecordType::A, Some((addr, source)), 1);
    // Nearest by squared degrees (spec §9.3); from 1.1.1.0/24 (1/1): 178 against 180
    // degrees of longitude.
    assert_eq!(one("198.51.100.0", 24), set(&["198.51.100.1"]));
    assert_eq!(one("1.1.1.0", 24), set(&["198.51.100.1"]));
    // From 1.2.3.0/24 (47.9/−122.3): 56.7 against 58.7 degrees; the two 192.0.2.x share a
    // location, so the tie is broken at random.
    let both = set(&["192.0.2.1", "192.0.2.2"]);
    let ecs = Some(("1.2.3.0", 24));
    assert_eq!(answers(s, name, RecordType::A, ecs, DRAWS), both);
    one_of_each_time(s, name, ecs, &["192.0.2.1", "192.0.2.2"]);
    assert_eq!(
        answers(s, name, RecordType::A, Some(("192.0.2.0", 24)), DRAWS),
        both
    );
    // Unknown client (17.1.0.0/16 is not in the MMDB): treated as 0/0, 179 degrees from
    // every candidate, so all three tie.
    assert_eq!(
        answers(s, name, RecordType::A, Some(("17.1.0.0", 16)), DRAWS * 2),
        set(&["192.0.2.1", "192.0.2.2", "198.51.100.1"])
    );
}

/// index.rst "Examples": `ifportup` with `selector='pickclosest'`, written as the docs'
/// two chunks (the second padded with blanks; spec §1.1 joins them without spaces).
#[test]
fn index_examples_ifportup_selector_pickclosest() {
    let (s, port) = docs_server_with_port();
    let mut near_au = Target::tcp("127.0.43.1", port); // located at 1/1, like 1.1.1.0/24
    let _near_us = Target::tcp("127.0.43.2", port); // located at 47.9/−122.3, like 1.2.3.0/24
    let name = "www-closest.example.com.";
    wait_for_union(&s, name, Some(("1.1.1.0", 24)), &["127.0.43.1"]);
    wait_for_union(&s, name, Some(("1.2.3.0", 24)), &["127.0.43.2"]);
    near_au.stop();
    wait_for_union(&s, name, Some(("1.1.1.0", 24)), &["127.0.43.2"]);
}

/// index.rst "More powerful example": `west` and `usa` check one URL with
/// `stringmatch` over two sets in opposite orders; the first set with an address up
/// answers, the other set is the backup.
#[test]
fn index_more_powerful_example_ifurlup_sets() {
    let (s, port) = docs_server_with_port();
    let page = "<html>Programming in Lua (first edition)</html>";
    let t1 = Target::http("127.0.52.1", port, 200, page);
    let t2 = Target::http("127.0.52.2", port, 200, page);
    let t3 = Target::http("127.0.52.3", port, 200, page);
    wait_for_union(&s, "west.example.com.", None, &["127.0.52.1", "127.0.52.2"]);
    wait_for_union(&s, "usa.example.com.", None, &["127.0.52.3"]);
    // A 200 without the string is down.
    t3.set_body("<html>it works</html>");
    wait_for_union(&s, "usa.example.com.", None, &["127.0.52.1", "127.0.52.2"]);
    one_of_each_time(&s, "usa.example.com.", None, &["127.0.52.1", "127.0.52.2"]);
    // A non-200 is down, whatever the body.
    t1.set_status(503);
    wait_for_union(&s, "west.example.com.", None, &["127.0.52.2"]);
    wait_for_union(&s, "usa.example.com.", None, &["127.0.52.2"]);
    // Everything down: a random address of the first set.
    t2.set_status(500);
    wait_for_union(&s, "usa.example.com.", None, &["127.0.52.3"]);
    wait_for_union(&s, "west.example.com.", None, &["127.0.52.1", "127.0.52.2"]);
}

/// index.rst "Details & Security": LUA records themselves cannot be queried (NODATA),
/// and the name of one that produces another type exists (NODATA, not NXDOMAIN).
#[test]
fn index_details_lua_records_not_queryable() {
    let s = shared();
    let lua = RecordType::Unknown(65402);
    expect_nodata(&ask(s, "all.example.com.", lua));
    expect_nodata(&ask(s, "all.example.com.", RecordType::AAAA));
    expect_nodata(&ask(s, "x.magic.example.com.", lua));
}

//=========== functions.rst: record creation functions ==========================================

/// functions.rst `ifurlup`: the example list of sets; the first set with an address up
/// answers, and within it only the addresses that are up.
#[test]
fn functions_ifurlup_list_of_sets() {
    let (s, port) = docs_server_with_port();
    let mut first = Target::http("127.0.53.1", port, 200, "ok");
    let _backup = Target::http("127.0.53.3", port, 200, "ok");
    // 127.0.53.2 never listens.
    wait_for_union(&s, "sets.example.com.", None, &["127.0.53.1"]);
    first.stop();
    wait_for_union(&s, "sets.example.com.", None, &["127.0.53.3"]);
}

/// functions.rst `ifurlextup`: both examples. Addresses are decoupled from the URLs that
/// decide them; a 404 is down, so the second example falls through to its second group.
#[test]
fn functions_ifurlextup_examples() {
    let (s, port) = docs_server_with_port();
    let _com = Target::http("127.0.54.1", port, 200, "ok");
    let _net = Target::http("127.0.54.2", port, 200, "ok");
    wait_for_union(&s, "extup.example.com.", None, &["192.0.2.11"]);
    wait_for_union(&s, "extup2.example.com.", None, &["192.0.2.13"]);
}

/// functions.rst `pickselfweighted`: each up address weighs what its URL's body says;
/// an address that is down is never picked. With every address down PowerDNS's code
/// answers SERVFAIL (spec §7.3, §15.3), not the docs' "random selection".
#[test]
fn functions_pickselfweighted() {
    let (s, port) = docs_server_with_port();
    let name = "selfweighted.example.com.";
    // No check completed yet: every weight is 0.
    assert_eq!(ask(&s, name, RecordType::A).rcode(), rcode::SERVFAIL);
    let heavy = Target::http("127.0.55.1", port, 200, "3\n");
    let _light = Target::http("127.0.55.2", port, 200, "1");
    // 127.0.55.3 never listens. Over many clients both up addresses show up.
    let clients: Vec<String> = (0..=255).map(|i| format!("1.2.{i}.0")).collect();
    let light_count = || {
        clients
            .iter()
            .filter(|c| data(&ask_ecs(&s, name, RecordType::A, c, 24), "A") == ["127.0.55.2"])
            .count()
    };
    let deadline = Instant::now() + SWITCH * 2;
    let mut seen = BTreeSet::new();
    while Instant::now() < deadline && seen != set(&["127.0.55.1", "127.0.55.2"]) {
        seen.clear();
        for c in &clients {
            let r = ask_ecs(&s, name, RecordType::A, c, 24);
            if r.rcode() == rcode::NOERROR {
                seen.extend(data(&r, "A"));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen, set(&["127.0.55.1", "127.0.55.2"]), "{}", s.context());
    // Weights 3 and 1: the light one gets about a quarter of the clients.
    let light = light_count();
    assert!(
        (24..=104).contains(&light),
        "127.0.55.2 (weight 1 of 4) answered {light} of 256 clients"
    );
    // The heavy one answering 0 still counts as up, with weight 1 (spec §6.6).
    heavy.set_body("0");
    let deadline = Instant::now() + SWITCH * 2;
    let mut light = 0;
    while Instant::now() < deadline {
        light = light_count();
        if light > 96 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        (96..=160).contains(&light),
        "even weights: 127.0.55.2 answered {light} of 256"
    );
}

/// functions.rst `pickrandom`, `pickrandomsample`, `pickhashed`, `all`: "this function
/// also works for CNAME or TXT records".
#[test]
fn functions_pick_family_also_cname_and_txt() {
    let s = shared();
    assert_eq!(
        answers(s, "random.example.com.", RecordType::TXT, None, DRAWS),
        set(&["\"alice\"", "\"bob\""])
    );
    for _ in 0..10 {
        let r = ask(s, "sample.example.com.", RecordType::A);
        let got = data(&r, "A");
        assert_eq!(got.len(), 2, "two distinct of three\n{}", r.summary());
    }
    assert_eq!(
        answers(s, "sample.example.com.", RecordType::A, None, DRAWS),
        set(&["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    );
    // pickhashed over two CNAME targets: burtle(127.0.0.1) = 4196678856, even, so the
    // first; burtle(1.2.3.0) = 4209512405, odd, so the second. The CNAME is chased.
    let r = ask(s, "hashed.example.com.", RecordType::A);
    expect_answer(&r, "CNAME", &["a.example.com."]);
    expect_answer(&r, "A", &["192.0.2.10"]);
    let r = ask_ecs(s, "hashed.example.com.", RecordType::A, "1.2.3.4", 24);
    expect_answer(&r, "CNAME", &["b.example.com."]);
    expect_answer(&r, "A", &["192.0.2.20"]);
    expect_answer(
        &ask(s, "all.example.com.", RecordType::A),
        "A",
        &["192.0.2.1", "192.0.2.2"],
    );
}

/// functions.rst `closestMagic`: the wildcard under `magic` and the static CNAME into it
/// (`www-balanced`); the closest of the addresses spelled in the name answers.
#[test]
fn functions_closest_magic() {
    let s = shared();
    let r = ask_ecs(
        s,
        "www-balanced.example.com.",
        RecordType::A,
        "198.51.100.0",
        24,
    );
    expect_answer(
        &r,
        "CNAME",
        &["192-0-2-1.192-0-2-2.198-51-100-1.magic.example.com."],
    );
    expect_answer(&r, "A", &["198.51.100.1"]);
    let seen = answers(
        s,
        "www-balanced.example.com.",
        RecordType::A,
        Some(("1.2.3.0", 24)),
        DRAWS,
    );
    assert_eq!(seen, set(&["192.0.2.1", "192.0.2.2"]));
    // The magic name queried directly, from 1.1.1.0/24: 178 degrees beat 180.
    let r = ask_ecs(
        s,
        "192-0-2-1.198-51-100-1.magic.example.com.",
        RecordType::A,
        "1.1.1.0",
        24,
    );
    expect_answer(&r, "A", &["198.51.100.1"]);
}

/// functions.rst `view`: 192.168.1.54 for clients in 192.168.0.0/16, 192.0.2.1 for all
/// others.
#[test]
fn functions_view() {
    let s = shared();
    let name = "view.v4.example.com.";
    expect_answer(
        &ask_ecs(s, name, RecordType::A, "192.168.7.0", 24),
        "A",
        &["192.168.1.54"],
    );
    expect_answer(
        &ask_ecs(s, name, RecordType::A, "192.167.7.0", 24),
        "A",
        &["192.0.2.1"],
    );
    expect_answer(&ask(s, name, RecordType::A), "A", &["192.0.2.1"]);
}

/// functions.rst `pickwhashed`, `pickchashed`, `picknamehashed`: the docs' weights
/// {15, 192.0.2.1} and {100, 198.51.100.5}. Expected picks from the spec's hash model
/// (§10.3, §10.4): the same client (or name) always gets the same answer, and some get
/// the light one.
#[test]
fn functions_weighted_hashes() {
    let s = shared();
    let a = |name: &str, addr: &str, source: u8| {
        let r = ask_ecs(s, name, RecordType::A, addr, source);
        data(&r, "A")
    };
    // pickwhashed: order [(100, …5), (15, …1)], sum 115; r = burtle(bestwho) % 115.
    for (addr, source, want) in [
        ("1.2.3.6", 32, "192.0.2.1"),     // 1512464124 % 115 = 109
        ("1.2.3.50", 32, "192.0.2.1"),    // 3021164883 % 115 = 113
        ("1.2.3.0", 24, "198.51.100.5"),  // 4209512405 % 115 = 65
        ("1.2.3.34", 32, "198.51.100.5"), // 533734157 % 115 = 67
    ] {
        for _ in 0..3 {
            assert_eq!(
                a("mydomain.example.com.", addr, source),
                [want],
                "{addr}/{source}"
            );
        }
    }
    expect_answer(
        &ask(s, "mydomain.example.com.", RecordType::A),
        "A",
        &["198.51.100.5"],
    );
    // pickchashed: the owner of the smallest point >= burtle(bestwho).
    for (addr, source, want) in [
        ("1.2.3.34", 32, "192.0.2.1"),
        ("1.2.3.18", 32, "192.0.2.1"),
        ("1.2.3.6", 32, "198.51.100.5"),
        ("1.2.3.0", 24, "198.51.100.5"),
        ("17.1.0.0", 16, "192.0.2.1"),
    ] {
        assert_eq!(
            a("consistent.example.com.", addr, source),
            [want],
            "{addr}/{source}"
        );
    }
    // picknamehashed: burtleCI over the query name's wire form; the client does not
    // matter. test and test2 land on the heavy one, h on the light one.
    for (name, want) in [
        ("test.mydomain.example.com.", "198.51.100.5"), // % 115 = 68
        ("test2.mydomain.example.com.", "198.51.100.5"), // % 115 = 57
        ("h.mydomain.example.com.", "192.0.2.1"),       // % 115 = 105
        ("H.MyDomain.Example.COM.", "192.0.2.1"),       // case-insensitive
    ] {
        for (addr, source) in [("1.2.3.0", 24), ("1.1.1.0", 24)] {
            assert_eq!(a(name, addr, source), [want], "{name} from {addr}");
        }
    }
}

/// functions.rst `pickwrandom`: a random, weighted pick; both values show up.
#[test]
fn functions_pickwrandom() {
    let s = shared();
    // 15 in 115: missing 192.0.2.1 in 200 draws has probability (100/115)^200 < 1e-12.
    assert_eq!(
        answers(s, "wrandom.example.com.", RecordType::A, None, 200),
        set(&["192.0.2.1", "198.51.100.5"])
    );
}

//=========== functions.rst: reverse DNS functions ==============================================

/// functions.rst `createReverse`: the three example records and their `dig -x` answers,
/// and the `exceptions` table. The docs show `127-0-0-5` for `dig -x 127.0.1.5`; `%5%`
/// joins the queried octets, so it is `127-0-1-5`.
#[test]
fn reverse_create_reverse() {
    let s = shared();
    for (name, want) in [
        ("5.0.0.127.in-addr.arpa.", "127.0.0.5.static.example.com."),
        ("5.1.0.127.in-addr.arpa.", "127-0-1-5.static.example.com."),
        ("5.2.0.127.in-addr.arpa.", "7f000205.static.example.com."),
        ("15.2.0.127.in-addr.arpa.", "7f00020f.static.example.com."),
        ("10.10.10.10.in-addr.arpa.", "quad10.example.com."),
        ("11.10.10.10.in-addr.arpa.", "10-10-10-11.example.com."),
    ] {
        expect_answer(&ask(s, name, RecordType::PTR), "PTR", &[want]);
    }
}

/// functions.rst `createReverse6`: the two example records and their `dig -x` answers,
/// and the `exceptions` table.
#[test]
fn reverse_create_reverse6() {
    let s = shared();
    let arpa = |ip: &str| -> String {
        let v6: std::net::Ipv6Addr = ip.parse().expect("IPv6");
        let mut labels: Vec<String> = v6
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 15])
            .map(|n| format!("{n:x}"))
            .collect();
        labels.reverse();
        format!("{}.ip6.arpa.", labels.join("."))
    };
    for (ip, want) in [
        ("2001:a:b::1", "2001-a-b--1.static6.example.com."),
        ("2002:a:b::1", "2002.000a.static6.example.com."),
        ("2001:db8::1", "example.example.com."),
        ("2001:db8::2", "2001-db8--2.example.com."),
    ] {
        expect_answer(&ask(s, &arpa(ip), RecordType::PTR), "PTR", &[want]);
    }
}

/// functions.rst `createForward`: dotted, and hex after two ignored characters; since
/// 4.8.0 with any prefix, or none.
#[test]
fn reverse_create_forward() {
    let s = shared();
    for (name, want) in [
        ("127.0.0.5.static.example.com.", "127.0.0.5"),
        ("ip40414243.static.example.com.", "64.65.66.67"),
        ("40414243.static.example.com.", "64.65.66.67"),
        ("host-7f000205.static.example.com.", "127.0.2.5"),
    ] {
        expect_answer(&ask(s, name, RecordType::A), "A", &[want]);
    }
}

/// functions.rst `createForward6`: the dashed compressed form, the dot-split
/// uncompressed form, and (since 4.8.0) 32 hex digits, optionally prefixed (a prefix
/// holding a `-` would make the label read as the dashed form instead).
#[test]
fn reverse_create_forward6() {
    let s = shared();
    for (name, want) in [
        ("2001-a-b--1.static6.example.com.", "2001:a:b::1"),
        (
            "2001.db8.6.5.4.3.2.1.static6.example.com.",
            "2001:db8:6:5:4:3:2:1",
        ),
        (
            "20010002000300040005000600070db8.static6.example.com.",
            "2001:2:3:4:5:6:7:db8",
        ),
        (
            "ip20010002000300040005000600070db8.static6.example.com.",
            "2001:2:3:4:5:6:7:db8",
        ),
    ] {
        expect_answer(&ask(s, name, RecordType::AAAA), "AAAA", &[want]);
    }
}

/// functions.rst `filterForward`: the example (192.0.2.0/24 and 10.0.0.0/8 pass,
/// anything else is 0.0.0.0), and since 4.9.0 an empty fallback gives NODATA.
#[test]
fn reverse_filter_forward() {
    let s = shared();
    for (name, want) in [
        ("192.0.2.5.static4.example.com.", "192.0.2.5"),
        ("10.1.2.3.static4.example.com.", "10.1.2.3"),
        ("198.51.100.5.static4.example.com.", "0.0.0.0"),
        ("192.0.2.5.static4-empty.example.com.", "192.0.2.5"),
    ] {
        expect_answer(&ask(s, name, RecordType::A), "A", &[want]);
    }
    expect_nodata(&ask(
        s,
        "198.51.100.5.static4-empty.example.com.",
        RecordType::A,
    ));
}

/// functions.rst "Client variables": without ECS `bestwho` is the resolver's address;
/// with ECS it is the network part of the subnet, and the reply's ECS scope is the
/// source prefix for a LUA answer.
#[test]
fn functions_client_variables_bestwho() {
    let s = shared();
    let r = s.udp(&q_ecs(
        "view.v4.example.com.",
        RecordType::A,
        ecs("192.168.200.9", 17),
    ));
    // 192.168.200.9/17 → bestwho 192.168.128.0, inside 192.168.0.0/16.
    expect_answer(&r, "A", &["192.168.1.54"]);
    let scope = reply_ecs(&r).expect("ECS echoed");
    assert_eq!(
        scope[2..4],
        [17, 17],
        "source and scope prefix\n{}",
        r.summary()
    );
    let r = s.udp(&Query::new("view.v4.example.com.", RecordType::A));
    expect_answer(&r, "A", &["192.0.2.1"]);
}

//=========== scripts (the embedded engine) =====================================================

/// Clients in each kind of network of the fixture MMDB: Europe (IPv4 and IPv6), North
/// America, Oceania, unknown, and none (no ECS: 127.0.0.1).
const EU: &[(&str, u8)] = &[("5.5.5.0", 24), ("2001:db8:e0::", 48)];
const NOT_EU: &[Option<(&str, u8)>] = &[
    None,
    Some(("1.2.3.0", 24)),
    Some(("1.1.1.0", 24)),
    Some(("17.1.0.0", 16)),
];

fn ask_as(s: &Server, name: &str, t: RecordType, client: Option<(&str, u8)>) -> e2e::Reply {
    match client {
        Some((addr, source)) => ask_ecs(s, name, t, addr, source),
        None => ask(s, name, t),
    }
}

/// The one TXT string of `name`'s answer for `client`, unquoted.
#[track_caller]
fn txt(s: &Server, name: &str, client: Option<(&str, u8)>) -> String {
    let r = ask_as(s, name, RecordType::TXT, client);
    let got = data(&r, "TXT");
    assert!(
        r.rcode() == rcode::NOERROR && got.len() == 1,
        "{name} for {client:?}\n{}",
        r.summary()
    );
    got[0].trim_matches('"').to_string()
}

/// index.rst "Examples", the "more complex code" script: `countryCode('US')` is a call
/// with an argument PowerDNS's `countryCode()` does not take (4.7.3 answers SERVFAIL,
/// "requires at most 0 parameter(s)"), so the record answers SERVFAIL for every client,
/// and the rest of the zone still answers.
#[test]
fn index_examples_script_country_code_takes_no_argument() {
    let s = shared();
    let clients = NOT_EU.iter().copied().chain(EU.iter().map(|&c| Some(c)));
    for client in clients {
        let r = ask_as(s, "www-cc.example.com.", RecordType::A, client);
        assert_eq!(r.rcode(), rcode::SERVFAIL, "{client:?}\n{}", r.summary());
    }
    expect_answer(
        &ask(s, "all.example.com.", RecordType::A),
        "A",
        &["192.0.2.1", "192.0.2.2"],
    );
}

/// index.rst "More powerful example": `www` is a script CNAME to `west` for clients in
/// Europe and to `usa` for everyone else; the CNAME is chased into the ifurlup records
/// (nothing listens for this server, so each answers from its first set).
#[test]
fn index_more_powerful_example_continent_cname() {
    let s = shared();
    for &(addr, source) in EU {
        let r = ask_ecs(s, "www-geo.example.com.", RecordType::A, addr, source);
        expect_answer(&r, "CNAME", &["west.example.com."]);
        let a = data(&r, "A");
        assert!(
            a.len() == 1 && ["127.0.52.1", "127.0.52.2"].contains(&a[0].as_str()),
            "{addr}/{source}\n{}",
            r.summary()
        );
    }
    for &client in NOT_EU {
        let r = ask_as(s, "www-geo.example.com.", RecordType::A, client);
        expect_answer(&r, "CNAME", &["usa.example.com."]);
        expect_answer(&r, "A", &["127.0.52.3"]);
    }
    // Asked for the CNAME itself.
    expect_answer(
        &ask_ecs(s, "www-geo.example.com.", RecordType::CNAME, "5.5.5.0", 24),
        "CNAME",
        &["west.example.com."],
    );
}

/// index.rst "Advanced topics": the settings and address lists live in a `LUA LUA`
/// record that `usa` and `west` `include('config')`; they answer exactly as the
/// written-out records of "More powerful example" do, as the checks change.
#[test]
fn index_advanced_topics_include_config() {
    let (s, port) = docs_server_with_port();
    let page = "<html>Programming in Lua (first edition)</html>";
    let t1 = Target::http("127.0.52.1", port, 200, page);
    let _t2 = Target::http("127.0.52.2", port, 200, page);
    let t3 = Target::http("127.0.52.3", port, 200, page);
    wait_for_union(
        &s,
        "west-inc.example.com.",
        None,
        &["127.0.52.1", "127.0.52.2"],
    );
    wait_for_union(&s, "usa-inc.example.com.", None, &["127.0.52.3"]);
    one_of_each_time(
        &s,
        "west-inc.example.com.",
        None,
        &["127.0.52.1", "127.0.52.2"],
    );
    // settings' stringmatch: a 200 without the string is down, and usa falls back to
    // its second list.
    t3.set_body("<html>it works</html>");
    wait_for_union(
        &s,
        "usa-inc.example.com.",
        None,
        &["127.0.52.1", "127.0.52.2"],
    );
    t1.set_status(503);
    wait_for_union(&s, "usa-inc.example.com.", None, &["127.0.52.2"]);
    wait_for_union(&s, "west-inc.example.com.", None, &["127.0.52.2"]);
    // The written-out records agree.
    wait_for_union(&s, "usa.example.com.", None, &["127.0.52.2"]);
    wait_for_union(&s, "west.example.com.", None, &["127.0.52.2"]);
}

/// functions.rst `dblookup` (4.9.0): the example's `ifurlup` over three lists read from
/// the zone's own A records (www1 has two, www2 and www3 one each).
#[test]
fn functions_dblookup_feeds_ifurlup() {
    let (s, port) = docs_server_with_port();
    let mut first = Target::http("127.0.57.1", port, 200, "ok");
    let _second = Target::http("127.0.57.3", port, 200, "ok");
    // 127.0.57.2 and 127.0.57.4 never listen.
    wait_for_union(&s, "dbl.example.com.", None, &["127.0.57.1"]);
    first.stop();
    wait_for_union(&s, "dbl.example.com.", None, &["127.0.57.3"]);
}

/// functions.rst "Client variables" and "Query variables": `who` is the resolver,
/// `bestwho` the ECS network (or `who`), `ecswho` the ECS netmask (or nil); `qname` and
/// `zone` are names.
#[test]
fn functions_client_and_query_variables_in_scripts() {
    let s = shared();
    let vars = "vars.example.com.";
    assert_eq!(txt(s, vars, None), "127.0.0.1 127.0.0.1 no-ecs");
    assert_eq!(
        txt(s, vars, Some(("1.2.3.77", 24))),
        "127.0.0.1 1.2.3.0 1.2.3.0/24"
    );
    assert_eq!(
        txt(s, vars, Some(("2001:db8:e0:1::", 64))),
        "127.0.0.1 2001:db8:e0:1:: 2001:db8:e0:1::/64"
    );
    assert_eq!(
        txt(s, "qvars.example.com.", None),
        "qvars.example.com. example.com."
    );
}

/// reference/comboaddress.rst, netmask.rst and dnsname.rst: each page's example, its
/// printed results returned as TXT.
#[test]
fn reference_object_examples() {
    let s = shared();
    // newCAS: '::1/128' is no address (PowerDNS logs it and adds the rest).
    assert_eq!(txt(s, "ref-cas.example.com.", None), "found! true false");
    assert_eq!(
        txt(s, "ref-cas.example.com.", Some(("10.11.12.13", 32))),
        "found! true true"
    );
    assert_eq!(txt(s, "ref-netmask.example.com.", None), "true true false");
    assert_eq!(
        txt(s, "ref-netmask.example.com.", Some(("192.0.2.0", 24))),
        "true true true"
    );
    assert_eq!(
        txt(s, "ref-nmg.example.com.", None),
        "intercepting 127.0.0.1"
    );
    assert_eq!(
        txt(s, "ref-nmg.example.com.", Some(("130.161.7.0", 24))),
        "intercepting 130.161.7.0"
    );
    assert_eq!(
        txt(s, "ref-nmg.example.com.", Some(("1.2.3.0", 24))),
        "passing"
    );
    assert_eq!(txt(s, "ref-dn.example.com.", None), "3 17 it is");
    assert_eq!(txt(s, "ref-rel.example.com.", None), "bb.a.");
}

/// The `and`/`or` idiom: an expression that picks one of two answers by a predicate.
#[test]
fn scripts_and_or_idiom() {
    let s = shared();
    for &(addr, source) in EU {
        expect_answer(
            &ask_ecs(s, "andor.example.com.", RecordType::A, addr, source),
            "A",
            &["192.0.2.31"],
        );
    }
    for &client in NOT_EU {
        expect_answer(
            &ask_as(s, "andor.example.com.", RecordType::A, client),
            "A",
            &["192.0.2.32"],
        );
    }
}
