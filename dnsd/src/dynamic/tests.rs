//! Tests for the LUA record compiler and evaluator: the hash table of spec
//! §10, the parser's accepted and refused forms, every function, selector,
//! option default and error case.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

use super::hash::*;
use super::rule::{CheckOptions, DEFAULT_USER_AGENT, Netmask, Probe, Rule, Selector, compile_expr};
use super::syntax::{self, ExprKind, Field, Whitespace, join_chunks, parse, presentation};
use super::*;
use crate::wire::name::Name;
use crate::wire::rtype::RType;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> Name {
    Name::from_text(s, None).unwrap()
}

// ----------- fakes ---------------------------------------------------------------

/// Health by address (any port/URL); records every key asked for.
#[derive(Default)]
pub(crate) struct FakeHealth {
    by_addr: HashMap<Option<IpAddr>, Health>,
    by_url: HashMap<String, Health>,
    default: Option<Health>,
    asked: RefCell<Vec<CheckKey>>,
}

impl FakeHealth {
    pub(crate) fn with(states: &[(&str, Health)]) -> Self {
        let mut f = FakeHealth::default();
        for (a, h) in states {
            f.by_addr.insert(Some(ip(a)), *h);
        }
        f
    }
}

impl HealthView for FakeHealth {
    fn status(&self, k: &CheckKey) -> Health {
        self.asked.borrow_mut().push(k.clone());
        if let Some(h) = self.by_url.get(&k.url) {
            return *h;
        }
        self.by_addr
            .get(&k.addr.map(|s| s.ip()))
            .copied()
            .or(self.default)
            .unwrap_or(Health::Down)
    }
}

pub(crate) const UP: Health = Health::Up { weight: 0 };

/// The spec §17 fixture as a GeoView.
pub(crate) struct FakeGeo;

impl GeoView for FakeGeo {
    fn locate(&self, a: IpAddr) -> geo::Location {
        let loc = |lat, lon, cc: Option<&str>, ct: Option<&str>, asn| geo::Location {
            lat: Some(lat),
            lon: Some(lon),
            accuracy_radius: Some(100),
            country: cc.and_then(geo::Code::new),
            continent: ct.and_then(geo::Code::new),
            region: None,
            asn,
        };
        let IpAddr::V4(v4) = a else {
            return geo::Location::default();
        };
        match v4.octets() {
            [1, 1, 1, _] => loc(1.0, 1.0, Some("AU"), Some("OC"), Some(4242)),
            [1, 2, 3, _] => loc(47.913, -122.3042, Some("US"), Some("NA"), Some(3320)),
            [192, 0, 2, _] => loc(0.0, -179.0, None, None, None),
            [198, 51, 100, _] => loc(0.0, 179.0, None, None, None),
            [203, 0, 113, _] => loc(0.0, -160.0, None, None, None),
            _ => geo::Location::default(),
        }
    }
}

pub(crate) struct Q {
    qname: Name,
    owner: Name,
    zone: Name,
    who: IpAddr,
    ecs: Option<Ecs>,
}

impl Q {
    pub(crate) fn new(qname: &str) -> Q {
        Q {
            qname: name(qname),
            owner: name(qname),
            zone: name("example.org."),
            who: ip("127.0.0.1"),
            ecs: None,
        }
    }
    pub(crate) fn owner(mut self, o: &str) -> Q {
        self.owner = name(o);
        self
    }
    pub(crate) fn who(mut self, w: &str) -> Q {
        self.who = ip(w);
        self
    }
    pub(crate) fn ecs(mut self, a: &str, p: u8) -> Q {
        self.ecs = Some(Ecs {
            addr: ip(a),
            source_prefix: p,
        });
        self
    }
    pub(crate) fn ctx(&self) -> QueryContext<'_> {
        QueryContext::new(&self.qname, &self.owner, &self.zone, self.who, self.ecs)
    }
}

pub(crate) fn rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(7)
}

/// Compiles and evaluates `code` for `rtype`.
fn run_with(
    code: &str,
    rtype: RType,
    q: &Q,
    h: &dyn HealthView,
    g: &dyn GeoView,
) -> Result<Vec<String>, EvalError> {
    let rule = compile(code, rtype).unwrap_or_else(|e| panic!("{code}: {e}"));
    evaluate_with(&rule, &q.ctx(), h, g, &mut rng()).map(|v| v.into_iter().map(|a| a.0).collect())
}

fn run(code: &str, q: &Q) -> Vec<String> {
    run_with(code, RType::A, q, &AllUp, &FakeGeo).unwrap()
}

fn run_bool(code: &str, q: &Q) -> bool {
    let (rule, _) = compile_expr(code).unwrap();
    match evaluate_rule(&rule, &q.ctx(), &AllUp, &FakeGeo, &mut rng()).unwrap() {
        Value::Bool(b) => b,
        v => panic!("{code}: {v:?}"),
    }
}

fn refused(code: &str) -> String {
    match compile(code, RType::A) {
        Ok(r) => panic!("{code} compiled to {:?}", r.rule),
        Err(e) => e.to_string(),
    }
}

// ----------- §10 hashing ---------------------------------------------------------

#[test]
fn burtle_matches_the_spec_table() {
    let table: &[(&[u8], u32)] = &[
        (&[0, 0, 0, 0], 2305145833),
        (&[1, 2, 3, 0], 4209512405),
        (&[1, 2, 3, 4], 2352299484),
        (&[127, 0, 0, 1], 4196678856),
        (&[192, 0, 2, 1], 3312216360),
        (&[192, 0, 2, 3], 736797732),
        (&[192, 0, 2, 10], 346275441),
        (b"192.0.2.1-0", 918744709),
        (b"198.51.100.1-0", 726906330),
    ];
    for (input, want) in table {
        assert_eq!(burtle(input, 0), *want, "{input:?}");
    }
    assert_eq!(address_hash(ip("::")), 1030211419);
    assert_eq!(address_hash(ip("2001:db8::1")), 104545022);
    assert_eq!(address_hash(ip("1.2.3.4")), 2352299484);
    for n in [
        "test.namehashed.example.org.",
        "TEST.NameHashed.Example.ORG.",
    ] {
        assert_eq!(burtle_ci(name(n).as_wire(), 0), 1903138504, "{n}");
    }
    // Case matters for plain burtle, not for burtleCI.
    assert_ne!(burtle(b"ABC", 0), burtle(b"abc", 0));
    assert_eq!(burtle_ci(b"ABC", 0), burtle_ci(b"abc", 0));
    // Over 12 bytes (body) and every tail length run without panicking and differ.
    let long: Vec<u8> = (0u8..40).collect();
    let hashes: std::collections::HashSet<u32> = (0..=40).map(|n| burtle(&long[..n], 0)).collect();
    assert_eq!(hashes.len(), 41);
    assert_ne!(burtle(b"x", 0), burtle(b"x", 1));
}

#[test]
fn unordered_map_order_model() {
    assert_eq!(unordered_map_order(0), Vec::<usize>::new());
    assert_eq!(unordered_map_order(1), vec![0]);
    assert_eq!(unordered_map_order(13), (0..13).rev().collect::<Vec<_>>());
    // n=16 -> 16 15 14 1 2 ... 13 (1-based).
    let mut want: Vec<usize> = vec![15, 14, 13];
    want.extend(0..13);
    assert_eq!(unordered_map_order(16), want);
    // n=30..59 -> n..30, 13..1, 14..29.
    let mut want: Vec<usize> = (29..35).rev().collect();
    want.extend((0..13).rev());
    want.extend(13..29);
    assert_eq!(unordered_map_order(35), want);
    for n in [1, 13, 14, 29, 30, 59, 60, 127, 128, 600, 1024] {
        let mut o = unordered_map_order(n);
        o.sort_unstable();
        assert_eq!(o, (0..n).collect::<Vec<_>>(), "n={n}");
    }
}

#[test]
fn pickhashed_known_pairs() {
    let code = "pickhashed({'192.0.2.1','192.0.2.2','192.0.2.3'})";
    assert_eq!(
        run(code, &Q::new("x.example.org.").ecs("1.2.3.4", 24)),
        ["192.0.2.3"]
    );
    assert_eq!(run(code, &Q::new("x.example.org.")), ["192.0.2.1"]);
    // Selector 'hashed' is the same function over the up candidates.
    let code = "ifportup(443, {'192.0.2.1','192.0.2.2','192.0.2.3'}, {selector='hashed'})";
    assert_eq!(
        run(code, &Q::new("x.example.org.").ecs("1.2.3.4", 24)),
        ["192.0.2.3"]
    );
    assert_eq!(run(code, &Q::new("x.example.org.")), ["192.0.2.1"]);
}

#[test]
fn pickwhashed_known_pairs_with_the_order_quirk() {
    let code = "pickwhashed({{15,'192.0.2.1'},{50,'192.0.2.2'}})";
    assert_eq!(4196678856u32 % 65, 6);
    assert_eq!(run(code, &Q::new("x.example.org.")), ["192.0.2.2"]);
    assert_eq!(4209512405u32 % 65, 20);
    assert_eq!(
        run(code, &Q::new("x.example.org.").ecs("1.2.3.4", 24)),
        ["192.0.2.2"]
    );
    // Naive list order would have given 192.0.2.1 for r=6.
    assert_eq!(weighted_index(4196678856, [15u64, 50]), Some(0));
    assert_eq!(weighted_hashed_quirk(4196678856, &[15, 50]), Some(1));
}

#[test]
fn picknamehashed_known_pairs() {
    let code = "picknamehashed({{15,'1.2.3.4'},{42,'4.3.2.1'}})";
    assert_eq!(1903138504u32 % 57, 46);
    assert_eq!(
        run(code, &Q::new("test.namehashed.example.org.")),
        ["1.2.3.4"]
    );
    assert_eq!(
        run(code, &Q::new("TEST.namehashed.example.org.")),
        ["1.2.3.4"]
    );
    assert_eq!(
        run(code, &Q::new("test2.namehashed.example.org.")),
        ["4.3.2.1"]
    );
}

#[test]
fn pickchashed_known_pairs() {
    assert_eq!(chash_points("192.0.2.1", 1), vec![918744709]);
    assert_eq!(chash_points("198.51.100.1", 1), vec![726906330]);
    let code = "pickchashed({{1,'192.0.2.1'},{1,'198.51.100.1'}})";
    for (who, want) in [
        ("192.0.2.3", "192.0.2.1"),
        ("192.0.2.10", "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1"),
    ] {
        assert_eq!(
            run(code, &Q::new("x.example.org.").who(who)),
            [want],
            "{who}"
        );
    }
    // More weight, more points, sorted.
    let p = chash_points("a", 5);
    assert_eq!(p.len(), 5);
    assert!(p.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(chash_pick(5, &[]), None);
    assert_eq!(chash_pick(5, &[vec![1, 9], vec![6]]), Some(1));
    assert_eq!(chash_pick(10, &[vec![1, 9], vec![6]]), Some(0));
}

// ----------- §1.1 chunks and §2 syntax ------------------------------------------

#[test]
fn chunk_joining_both_modes() {
    let p = presentation(&[b"ifportup(443, {'192.0.2.1', ", b"'192.0.2.2'})"]);
    assert_eq!(p, "\"ifportup(443, {'192.0.2.1', \" \"'192.0.2.2'})\"");
    assert_eq!(
        join_chunks(&p, Whitespace::Join),
        "ifportup(443, {'192.0.2.1', '192.0.2.2'})"
    );
    let p = presentation(&[b"'foo", b"bar'"]);
    assert_eq!(join_chunks(&p, Whitespace::Join), "'foobar'");
    assert_eq!(join_chunks(&p, Whitespace::Insert), "'foo   bar' ");
    assert_eq!(Whitespace::default(), Whitespace::Join);
    // Quotes and backslashes are escaped in presentation; bytes outside ASCII as \DDD.
    assert_eq!(presentation(&[b"a\\b\x01\xff"]), "\"a\\\\b\\001\\255\"");
    // Whole RDATA: type A, two chunks.
    let mut rdata = vec![0, 1];
    for c in [&b"pickrandom({'192.0.2.1',"[..], b"'192.0.2.2'})"] {
        rdata.push(c.len() as u8);
        rdata.extend_from_slice(c);
    }
    let r = compile_rdata(&rdata, Whitespace::Join).unwrap();
    assert_eq!(r.produced, RType::A);
    assert_eq!(r.code, "pickrandom({'192.0.2.1','192.0.2.2'})");
    assert!(compile_rdata(&[0, 1], Whitespace::Join).is_err());
    assert!(compile_rdata(&[0, 1, 5, b'x'], Whitespace::Join).is_err());
    assert!(compile_rdata(&[0xff, 0x7a, 3, b'\'', b'x', b'\''], Whitespace::Join).is_err());
}

#[test]
fn parser_accepts_the_subset() {
    let code =
        "f('a', \"b\", 1, 2.5, -3, true, false, nil, {}, {1;2,}, {k='v', ['192.0.2.1']='u'}, g())";
    let e = parse(code).unwrap();
    let ExprKind::Call { name, args } = e.kind else {
        panic!()
    };
    assert_eq!(name, "f");
    assert_eq!(args.len(), 12);
    assert_eq!(args[0].kind, ExprKind::Str("a".into()));
    assert_eq!(args[3].kind, ExprKind::Num(2.5));
    assert_eq!(args[4].kind, ExprKind::Num(-3.0));
    assert_eq!(args[5].kind, ExprKind::Bool(true));
    assert_eq!(args[7].kind, ExprKind::Nil);
    let ExprKind::Table(f) = &args[10].kind else {
        panic!()
    };
    assert!(matches!(&f[1], Field::Named { key, .. } if key == "192.0.2.1"));
    assert_eq!(args[11].col, code.find("g()").unwrap() + 1);
    // Escapes.
    assert_eq!(
        parse(r#"'a\'b\\c\n\t\65\"'"#).unwrap().kind,
        ExprKind::Str("a'b\\c\n\tA\"".into())
    );
    // Call sugar.
    let e = parse("newNMG{'1.0.0.0/8'}").unwrap();
    assert!(matches!(e.kind, ExprKind::Call { ref args, .. } if args.len() == 1));
    let e = parse("f'x'").unwrap();
    assert!(
        matches!(e.kind, ExprKind::Call { ref args, .. } if args[0].kind == ExprKind::Str("x".into()))
    );
    // Whitespace and newlines around tokens.
    assert!(parse("  pickrandom( {\n'a' } )  ").is_ok());
}

#[test]
fn parser_refuses_what_is_outside_the_subset() {
    let cases: &[(&str, &str)] = &[
        (";return '1.2.3.4'", "scripts"),
        ("  ;counter = 1", "scripts"),
        ("os.execute('rm -rf /')", "field or method access"),
        ("newCAFromRaw('ABCD'):toString()", "method access"),
        ("'a' .. 'b'", "operator '..'"),
        (
            "country('us') and '1.2.3.4' or '5.6.7.8'",
            "Lua keyword 'and'",
        ),
        ("1 + 2", "operator '+'"),
        ("x", "bare name"),
        ("f(", "unexpected end"),
        ("f('a'", "expected ',' or ')'"),
        ("{'a'", "unclosed"),
        ("'abc", "unterminated string"),
        ("'\\x41'", "escape \\x"),
        ("'\\300'", "above 255"),
        ("0x10", "decimal"),
        ("1e5", "decimal"),
        ("[[long]]", "long strings"),
        ("{[1]='a'}", "only string keys"),
        ("(1)", "parenthesised"),
        ("f() g()", "unexpected name"),
        ("f();", "statements"),
        ("-- comment", "comments"),
        ("", "empty expression"),
        ("function() end", "keyword 'function'"),
        ("a == b", "bare name"),
        ("f(1 == 2)", "operator '=='"),
    ];
    for (code, why) in cases {
        let e = parse(code).expect_err(code);
        assert!(e.reason.contains(why), "{code}: {e}");
    }
    // Columns point at the problem.
    assert_eq!(parse("pickrandom({'a'}) .. 'x'").unwrap_err().col, 19);
    assert_eq!(parse("f('a', os.x)").unwrap_err().col, 10);
    // Depth and size bounds.
    let deep = "{".repeat(40) + &"}".repeat(40);
    assert!(parse(&deep).unwrap_err().reason.contains("nested deeper"));
    assert!(
        parse(&"'".repeat(syntax::MAX_CODE_LEN + 1))
            .unwrap_err()
            .reason
            .contains("longer")
    );
}

// ----------- compile: functions, arguments, options -------------------------------

#[test]
fn compile_refuses_with_reasons() {
    let cases: &[(&str, &str)] = &[
        ("nosuchfn(1)", "unknown function nosuchfn()"),
        ("pickrandom()", "takes 1 argument(s), got 0"),
        ("pickrandom({'a'}, {'b'})", "got 2"),
        ("pickrandom({})", "empty"),
        ("pickrandom('a')", "must be a table"),
        ("pickrandom({{'a'}})", "must be a string"),
        ("pickrandom({'a', k='b'})", "positional"),
        ("all({})", "empty"),
        ("pickhashed({})", "empty"),
        ("pickrandomsample(1, {})", "empty"),
        ("pickrandomsample('x', {'a'})", "must be a number"),
        ("pickwhashed({})", "empty"),
        ("pickwhashed({{0,'192.0.2.1'}})", "weight 0 is not positive"),
        ("pickwrandom({{-5,'192.0.2.1'}})", "weight -5"),
        ("pickchashed({{1,'192.0.2.1','x'}})", "{weight, 'value'}"),
        ("pickchashed({{100000,'192.0.2.1'}})", "above the limit"),
        ("ifportup(443, {})", "empty"),
        ("ifportup(443, {'192.0.2.1', {'192.0.2.2'}})", "mixes"),
        ("ifportup(443, {'A 1.2.3.4'})", "not an IP address"),
        (
            "ifportup(443, {'192.0.2.1'}, {stringmatch='x'})",
            "URL checks only",
        ),
        (
            "ifportup(443, {'192.0.2.1'}, {headers={a='b'}})",
            "URL checks only",
        ),
        (
            "ifportup(443, {'192.0.2.1'}, {failOnIncerror='true'})",
            "unknown option 'failOnIncerror'",
        ),
        (
            "ifportup(443, {'192.0.2.1'}, {failOnIncompleteCheck=true})",
            "boolean",
        ),
        (
            "ifportup(443, {'192.0.2.1'}, {source='nonsense'})",
            "source",
        ),
        (
            "ifportup(443, {'192.0.2.1'}, 'x')",
            "options must be a table",
        ),
        ("ifportup({'192.0.2.1'})", "takes 2 to 3"),
        ("ifurlup('ftp://x/', {'192.0.2.1'})", "http:// or https://"),
        ("ifurlextup({{'192.0.2.1'}})", "map an address to a URL"),
        ("ifurlextup({{['bad']='https://x/'}})", "'bad' is not an IP"),
        (
            "pickselfweighted('https://x/', {{'192.0.2.1'}})",
            "must be a string",
        ),
        ("pickclosest({'nope'})", "not an IP"),
        ("view({{{'10.0.0.0/8'}}})", "needs {{masks}, {values}}"),
        ("view({{{'10.0.0.0/33'}, {'192.0.2.1'}}})", "not a netmask"),
        ("view({{{'10.0.0.0/8'}, {}}})", "empty"),
        ("netmask({'x/8'})", "not a netmask"),
        ("country('us')", "returns a boolean"),
        ("netmask({'10.0.0.0/8'})", "returns a boolean"),
        ("true", "boolean"),
        ("nil", "nil"),
        ("createReverse('%7%.example.com')", "only %1% to %6%"),
        ("createReverse('%s.example.com')", "only %1%"),
        ("createReverse('%1%', {'x'})", "map an address"),
        ("createReverse('%1%', {['bad']='x'})", "not an IP"),
        ("filterForward('nope', newNMG({'1.0.0.0/8'}))", "not an IP"),
        ("filterForward('1.2.3.4', {'1.0.0.0/8'})", "newNMG"),
        (
            "newNMG({'1.0.0.0/8'})",
            "only supported as the second argument",
        ),
        ("pickfirst({'192.0.2.1'})", "is a selector"),
        ("createForward(1)", "takes 0"),
        ("countryCode('x')", "takes 0"),
    ];
    for (code, why) in cases {
        let msg = refused(code);
        assert!(msg.contains(why), "{code}: {msg}");
    }
    // Family checks for A and AAAA.
    assert!(
        compile("ifportup(443, {'2001:db8::1'})", RType::A)
            .unwrap_err()
            .reason
            .contains("IPv4")
    );
    assert!(
        compile("pickrandom({'192.0.2.1'})", RType::AAAA)
            .unwrap_err()
            .reason
            .contains("IPv6")
    );
    assert!(compile("createForward()", RType::AAAA).is_err());
    assert!(compile("createForward6()", RType::A).is_err());
    assert!(compile("pickrandom({'a','b'})", RType::TXT).is_ok());
    // Errors carry a column.
    let e = compile("pickrandom({'192.0.2.1'}, nosuch())", RType::A).unwrap_err();
    assert_eq!(e.col, 1);
    let e = compile("ifportup(443, {'192.0.2.1'}, {timeout=2, bad=1})", RType::A).unwrap_err();
    assert_eq!(e.col, 46);
    assert_eq!(
        e.to_string(),
        format!("LUA record, column 46: {}", e.reason)
    );
}

#[test]
fn option_defaults_are_powerdns() {
    let d = CheckOptions::default();
    assert_eq!(d.selector, Selector::Random);
    assert_eq!(d.backup_selector, Selector::Random);
    assert_eq!(d.source, None);
    assert_eq!(d.timeout_secs, 2);
    assert_eq!(d.interval_secs, None);
    assert_eq!(d.minimum_failures, 1);
    assert!(!d.fail_on_incomplete_check);
    assert_eq!(d.stringmatch, None);
    assert_eq!(d.useragent, DEFAULT_USER_AGENT);
    assert_eq!(d.useragent, "PowerDNS Authoritative Server");
    assert_eq!(d.byteslimit, 0);
    assert_eq!(d.httpcode, 200);
    assert!(d.headers.is_empty());
    let r = compile("ifportup(443, {'192.0.2.1'})", RType::A).unwrap();
    let Rule::IfUp { options, probe, .. } = &r.rule else {
        panic!()
    };
    assert_eq!(**options, d);
    assert_eq!(*probe, Probe::Port(443));
}

#[test]
fn options_resolve_to_typed_values() {
    let r = compile(
        "ifurlup('https://x.example/hc', {{'192.0.2.1'},{'192.0.2.2'}}, {selector='all', backupSelector='empty', \
         source='192.0.2.99', timeout=2.9, interval='10', minimumFailures='0', failOnIncompleteCheck='true', \
         stringmatch='ok', useragent='ua', byteslimit=100, httpcode='204', headers={X_API_Key='k', b='c'}})",
        RType::A,
    )
    .unwrap();
    let Rule::IfUp {
        options: o,
        sets,
        probe,
    } = &r.rule
    else {
        panic!()
    };
    assert_eq!(*probe, Probe::Url("https://x.example/hc".into()));
    assert_eq!(sets.len(), 2);
    assert_eq!(o.selector, Selector::All);
    assert_eq!(o.backup_selector, Selector::Empty);
    assert_eq!(o.source, Some(ip("192.0.2.99")));
    assert_eq!(o.timeout_secs, 2, "atoi truncates");
    assert_eq!(o.interval_secs, Some(10));
    assert_eq!(o.minimum_failures, 1, "0 means 1");
    assert!(o.fail_on_incomplete_check);
    assert_eq!(o.stringmatch.as_deref(), Some("ok"));
    assert_eq!(o.useragent, "ua");
    assert_eq!(o.byteslimit, 100);
    assert_eq!(o.httpcode, 204);
    assert_eq!(
        o.headers,
        vec![
            ("X-API-Key".to_string(), "k".to_string()),
            ("b".into(), "c".into())
        ]
    );
    assert_eq!(o.raw["timeout"], "2.9");
    assert!(r.warnings.is_empty());
    // Numbers and numeric strings key the same check; another value is another check.
    let opts = |code: &str| match compile(code, RType::A).unwrap().rule {
        Rule::IfUp { options, .. } => options,
        _ => panic!(),
    };
    assert_eq!(
        opts("ifportup(1, {'192.0.2.1'}, {timeout=2})"),
        opts("ifportup(1, {'192.0.2.1'}, {timeout='2'})")
    );
    assert_ne!(
        opts("ifportup(1, {'192.0.2.1'}, {timeout=3})"),
        opts("ifportup(1, {'192.0.2.1'}, {timeout='2'})")
    );
    assert_ne!(
        opts("ifportup(1, {'192.0.2.1'})"),
        opts("ifportup(1, {'192.0.2.1'}, {timeout='2'})")
    );
    // Edge values of atoi-read options.
    let o = opts(
        "ifportup(1, {'192.0.2.1'}, {timeout='0.5', interval=0, minimumFailures=3, failOnIncompleteCheck='yes'})",
    );
    assert_eq!(o.timeout_secs, 0);
    assert_eq!(o.interval_secs, None);
    assert_eq!(o.minimum_failures, 3);
    assert!(!o.fail_on_incomplete_check);
    // Port clamped.
    match compile("ifportup(70000, {'192.0.2.1'})", RType::A)
        .unwrap()
        .rule
    {
        Rule::IfUp { probe, .. } => assert_eq!(probe, Probe::Port(65535)),
        _ => panic!(),
    }
    match compile("ifportup(-1, {'192.0.2.1'})", RType::A)
        .unwrap()
        .rule
    {
        Rule::IfUp { probe, .. } => assert_eq!(probe, Probe::Port(0)),
        _ => panic!(),
    }
}

#[test]
fn selector_names_and_warnings() {
    for (n, s) in [
        ("all", Selector::All),
        ("random", Selector::Random),
        ("hashed", Selector::Hashed),
        ("pickclosest", Selector::PickClosest),
        ("empty", Selector::Empty),
        ("pickfirst", Selector::PickFirst),
    ] {
        assert_eq!(Selector::from_name(n), Some(s));
    }
    assert_eq!(Selector::from_name("first"), None);
    let r = compile("ifportup(1, {'192.0.2.1'}, {selector='bogus'})", RType::A).unwrap();
    assert!(
        r.warnings[0].contains("unknown selector 'bogus'"),
        "{:?}",
        r.warnings
    );
    let Rule::IfUp { options, .. } = &r.rule else {
        panic!()
    };
    assert_eq!(options.selector, Selector::Random);
    let r = compile(
        "ifportup(1, {'192.0.2.1'}, {selector='pickfirst'})",
        RType::A,
    )
    .unwrap();
    assert!(r.warnings[0].contains("dnsd extension"));
    let r = compile(
        "pickselfweighted('http://x/', {'192.0.2.1'}, {selector='all'})",
        RType::A,
    )
    .unwrap();
    assert!(r.warnings[0].contains("ignores selector"));
}

// ----------- evaluation: health-checked functions (§7) ------------------------------

fn hq() -> Q {
    Q::new("x.example.org.")
}

#[test]
fn ifportup_keys_and_selection() {
    let h = FakeHealth::with(&[
        ("192.0.2.1", Health::Down),
        ("192.0.2.2", UP),
        ("192.0.2.3", UP),
    ]);
    let code = "ifportup(8080, {'192.0.2.1','192.0.2.2','192.0.2.3'}, {selector='all'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.2", "192.0.2.3"]
    );
    let asked = h.asked.borrow();
    assert_eq!(asked.len(), 3);
    assert_eq!(asked[0].kind, CheckKind::Tcp);
    assert_eq!(asked[0].addr, Some("192.0.2.1:8080".parse().unwrap()));
    assert_eq!(asked[0].url, "");
    assert_eq!(asked[0].options.selector, Selector::All);
    drop(asked);
    // pickfirst: first up, in written order.
    let code = "ifportup(8080, {'192.0.2.1','192.0.2.2','192.0.2.3'}, {selector='pickfirst'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.2"]
    );
    // empty selector with something up: NODATA.
    let code = "ifportup(8080, {'192.0.2.2'}, {selector='empty'})";
    let r = run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap();
    assert!(r.is_empty());
    // random picks among the up ones only.
    let code = "ifportup(8080, {'192.0.2.1','192.0.2.2','192.0.2.3'})";
    let rule = compile(code, RType::A).unwrap();
    let mut rng = fastrand::Rng::with_seed(1);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let r = evaluate_with(&rule, &hq().ctx(), &h, &NoGeo, &mut rng).unwrap();
        assert_eq!(r.len(), 1);
        seen.insert(r[0].0.clone());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["192.0.2.2", "192.0.2.3"]
    );
}

#[test]
fn sets_first_set_with_an_up_address_wins() {
    let h = FakeHealth::with(&[
        ("192.0.2.1", Health::Down),
        ("192.0.2.2", UP),
        ("192.0.2.3", UP),
    ]);
    let code = "ifportup(80, {{'192.0.2.1'},{'192.0.2.2','192.0.2.3'}}, {selector='all'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.2", "192.0.2.3"]
    );
    let h = FakeHealth::with(&[("192.0.2.1", UP), ("192.0.2.2", UP)]);
    let code = "ifportup(80, {{'192.0.2.1'},{'192.0.2.2'}}, {selector='all'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.1"]
    );
}

#[test]
fn all_down_uses_backup_selector_over_the_first_non_empty_set() {
    let h = FakeHealth::default(); // everything Down
    let code =
        "ifportup(80, {{}, {'192.0.2.1','192.0.2.2'}, {'192.0.2.3'}}, {backupSelector='all'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.1", "192.0.2.2"]
    );
    // Default backupSelector random: one of the first set, never empty.
    let code = "ifportup(80, {{'192.0.2.1','192.0.2.2'}, {'192.0.2.3'}})";
    for _ in 0..50 {
        let r = evaluate(&compile(code, RType::A).unwrap(), &hq().ctx(), &h, &NoGeo).unwrap();
        assert_eq!(r.len(), 1);
        assert_ne!(r[0].0, "192.0.2.3");
    }
    // backupSelector empty: NODATA even on the first query.
    let code = "ifportup(80, {'192.0.2.1'}, {backupSelector='empty'})";
    let first = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::default()
    };
    let r = evaluate(
        &compile(code, RType::A).unwrap(),
        &hq().ctx(),
        &first,
        &NoGeo,
    );
    assert_eq!(Outcome::from(r), Outcome::Empty);
    // backupSelector pickfirst / hashed.
    let code = "ifportup(80, {'192.0.2.1','192.0.2.2','192.0.2.3'}, {backupSelector='pickfirst'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.1"]
    );
    let code = "ifportup(80, {'192.0.2.1','192.0.2.2','192.0.2.3'}, {backupSelector='hashed'})";
    assert_eq!(
        run_with(code, RType::A, &hq().ecs("1.2.3.4", 24), &h, &NoGeo).unwrap(),
        ["192.0.2.3"]
    );
}

#[test]
fn first_query_and_fail_on_incomplete_check() {
    let first = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::default()
    };
    // Without the option, Unknown is down: backupSelector answers.
    let code = "ifurlup('http://x/', {'192.0.2.1'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &first, &NoGeo).unwrap(),
        ["192.0.2.1"]
    );
    assert_eq!(first.asked.borrow()[0].kind, CheckKind::Http);
    assert_eq!(
        first.asked.borrow()[0].addr,
        Some("192.0.2.1:0".parse().unwrap())
    );
    assert_eq!(first.asked.borrow()[0].url, "http://x/");
    // With it, every status unknown: SERVFAIL.
    let code = "ifurlup('http://x/', {'192.0.2.1','192.0.2.2'}, {failOnIncompleteCheck='true'})";
    let r = run_with(code, RType::A, &hq(), &first, &NoGeo);
    assert_eq!(r, Err(EvalError::IncompleteCheck));
    assert!(matches!(
        Outcome::from(r.map(|v| v.into_iter().map(Answer).collect())),
        Outcome::ServFail(_)
    ));
    // Later queries see Down (state exists): backupSelector.
    let later = FakeHealth::default();
    assert_eq!(
        run_with(code, RType::A, &hq(), &later, &NoGeo)
            .unwrap()
            .len(),
        1
    );
    // One known status is enough to avoid SERVFAIL.
    let mixed = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::with(&[("192.0.2.2", Health::Down)])
    };
    assert_eq!(
        run_with(code, RType::A, &hq(), &mixed, &NoGeo)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn ifurlextup_sorted_unpinned() {
    let mut h = FakeHealth::default();
    h.by_url.insert("https://b/hc".into(), UP);
    h.by_url.insert("https://c/hc".into(), UP);
    let code = "ifurlextup({{['192.0.2.9']='https://a/hc'}, {['192.0.2.20']='https://c/hc', ['192.0.2.10']='https://b/hc'}}, {selector='all'})";
    // Second set, sorted by IP string: .10 before .20.
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.10", "192.0.2.20"]
    );
    let asked = h.asked.borrow();
    assert!(
        asked
            .iter()
            .all(|k| k.kind == CheckKind::HttpUnpinned && k.addr.is_none())
    );
    drop(asked);
    // All down: backup over the first set; all unknown + failOnIncompleteCheck: SERVFAIL.
    let down = FakeHealth::default();
    let code = "ifurlextup({{['192.0.2.2']='https://a/', ['192.0.2.1']='https://b/'}}, {backupSelector='pickfirst'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &down, &NoGeo).unwrap(),
        ["192.0.2.1"]
    );
    let first = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::default()
    };
    let code = "ifurlextup({{['192.0.2.1']='https://a/'}}, {failOnIncompleteCheck='true'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &first, &NoGeo),
        Err(EvalError::IncompleteCheck)
    );
}

#[test]
fn pickselfweighted_weights_in_list_order() {
    // Weights 15 and 50 in list order (no quirk): 127.0.0.1 -> r=6 -> the first.
    let h = FakeHealth::with(&[
        ("192.0.2.1", Health::Up { weight: 15 }),
        ("192.0.2.2", Health::Up { weight: 50 }),
    ]);
    let code = "pickselfweighted('http://w/', {'192.0.2.1','192.0.2.2'})";
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.1"]
    );
    // r=20 with ECS 1.2.3.0/24 -> cumulative 15 <= 20 < 65 -> the second.
    assert_eq!(
        run_with(code, RType::A, &hq().ecs("1.2.3.4", 24), &h, &NoGeo).unwrap(),
        ["192.0.2.2"]
    );
    // Up with no numeric body counts 1; down counts 0.
    let h = FakeHealth::with(&[("192.0.2.1", Health::Down), ("192.0.2.2", UP)]);
    assert_eq!(
        run_with(code, RType::A, &hq(), &h, &NoGeo).unwrap(),
        ["192.0.2.2"]
    );
    // All down (and first query): SERVFAIL.
    assert_eq!(
        run_with(code, RType::A, &hq(), &FakeHealth::default(), &NoGeo),
        Err(EvalError::AllDown)
    );
    let first = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::default()
    };
    assert_eq!(
        run_with(code, RType::A, &hq(), &first, &NoGeo),
        Err(EvalError::AllDown)
    );
}

// ----------- evaluation: stateless functions (§8) --------------------------------

#[test]
fn literals_random_and_all() {
    let q = hq();
    assert_eq!(run("'192.0.2.1'", &q), ["192.0.2.1"]);
    assert_eq!(
        run("{'192.0.2.1','192.0.2.2'}", &q),
        ["192.0.2.1", "192.0.2.2"]
    );
    assert_eq!(
        run_with("42", RType::TXT, &q, &AllUp, &NoGeo).unwrap(),
        ["42"]
    );
    assert_eq!(
        run_with("{}", RType::TXT, &q, &AllUp, &NoGeo).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        run("all({'192.0.2.1','192.0.2.2'})", &q),
        ["192.0.2.1", "192.0.2.2"]
    );
    let r = run("pickrandom({'192.0.2.1','192.0.2.2'})", &q);
    assert!(r == ["192.0.2.1"] || r == ["192.0.2.2"]);
    // pickwrandom: always one of the entries, both reachable.
    let rule = compile("pickwrandom({{1,'192.0.2.1'},{3,'192.0.2.2'}})", RType::A).unwrap();
    let mut rng = fastrand::Rng::with_seed(3);
    let mut counts = HashMap::new();
    for _ in 0..400 {
        let r = evaluate_with(&rule, &q.ctx(), &AllUp, &NoGeo, &mut rng).unwrap();
        *counts.entry(r[0].0.clone()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 2);
    assert!(counts["192.0.2.2"] > counts["192.0.2.1"]);
}

#[test]
fn pickrandomsample_counts() {
    let q = hq();
    let list = "{'192.0.2.1','192.0.2.2','192.0.2.3'}";
    let r = run(&format!("pickrandomsample(2, {list})"), &q);
    assert_eq!(r.len(), 2);
    assert_ne!(r[0], r[1]);
    assert_eq!(run(&format!("pickrandomsample(5, {list})"), &q).len(), 3);
    let mut all = run(&format!("pickrandomsample(-1, {list})"), &q);
    all.sort();
    assert_eq!(all, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    let r = evaluate(
        &compile(&format!("pickrandomsample(0, {list})"), RType::A).unwrap(),
        &q.ctx(),
        &AllUp,
        &NoGeo,
    );
    assert_eq!(Outcome::from(r), Outcome::Empty);
}

#[test]
fn pickclosest_and_closest_magic() {
    let code = "pickclosest({'1.1.1.2','1.2.3.4'})";
    assert_eq!(run(code, &hq().ecs("1.1.1.0", 24)), ["1.1.1.2"]);
    assert_eq!(run(code, &hq().ecs("1.2.3.0", 24)), ["1.2.3.4"]);
    assert_eq!(run(code, &hq().ecs("17.1.0.0", 16)), ["1.1.1.2"]);
    // Antimeridian (master behaviour).
    let code = "pickclosest({'198.51.100.1','203.0.113.1'})";
    assert_eq!(run(code, &hq().ecs("192.0.2.0", 24)), ["198.51.100.1"]);
    let code = "pickclosest({'192.0.2.1','203.0.113.1'})";
    assert_eq!(run(code, &hq().ecs("198.51.100.0", 24)), ["192.0.2.1"]);
    // Ties (no geo data): random among all.
    let rule = compile("pickclosest({'192.0.2.1','192.0.2.2'})", RType::A).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        seen.insert(
            evaluate_with(&rule, &hq().ctx(), &AllUp, &NoGeo, &mut rng).unwrap()[0]
                .0
                .clone(),
        );
    }
    assert_eq!(seen.len(), 2);
    // Selector pickclosest.
    let code = "ifportup(443, {'1.1.1.2','1.2.3.4'}, {selector='pickclosest'})";
    assert_eq!(run(code, &hq().ecs("1.2.3.0", 24)), ["1.2.3.4"]);
    // closestMagic: 1-1-1-3.17-1-2-4.1-2-3-5.magic.example.org from the US.
    let q = Q::new("1-1-1-3.17-1-2-4.1-2-3-5.magic.example.org.").ecs("1.2.3.0", 24);
    assert_eq!(run("closestMagic()", &q), ["1.2.3.5"]);
    let q = Q::new("magic.example.org.");
    assert_eq!(
        run_with("closestMagic()", RType::A, &q, &AllUp, &FakeGeo),
        Err(EvalError::NoCandidates)
    );
}

#[test]
fn geo_functions() {
    let au = hq().ecs("1.1.1.0", 24);
    let us = hq().ecs("1.2.3.0", 24);
    let unknown = hq().ecs("17.1.0.0", 16);
    assert!(run_bool("asnum('4242')", &au));
    assert!(!run_bool("asnum('4242')", &us));
    assert!(!run_bool("asnum('4242')", &unknown));
    assert!(run_bool("asnum({4242, 3320})", &us));
    assert!(run_bool("country('au')", &au));
    assert!(run_bool("country({'de','US'})", &us));
    assert!(!run_bool("country('us')", &unknown));
    assert!(run_bool("country('unknown')", &unknown));
    assert!(run_bool("continent('OC')", &au));
    assert!(!run_bool("continent('eu')", &us));
    assert_eq!(
        run_with("countryCode()", RType::TXT, &au, &AllUp, &FakeGeo).unwrap(),
        ["au"]
    );
    assert_eq!(
        run_with("countryCode()", RType::TXT, &us, &AllUp, &FakeGeo).unwrap(),
        ["us"]
    );
    assert_eq!(
        run_with("countryCode()", RType::TXT, &unknown, &AllUp, &FakeGeo).unwrap(),
        ["--"]
    );
    assert_eq!(
        run_with("continentCode()", RType::TXT, &us, &AllUp, &FakeGeo).unwrap(),
        ["na"]
    );
    assert_eq!(
        run_with("continentCode()", RType::TXT, &us, &AllUp, &NoGeo).unwrap(),
        ["--"]
    );
    // Booleans cannot be record data.
    let (rule, _) = compile_expr("country('us')").unwrap();
    let lr = LuaRule {
        produced: RType::TXT,
        code: String::new(),
        cache: Cacheability::of(&rule),
        rule,
        warnings: vec![],
    };
    assert_eq!(
        evaluate(&lr, &us.ctx(), &AllUp, &FakeGeo),
        Err(EvalError::NotRecordData)
    );
}

#[test]
fn netmask_and_view() {
    let q = hq().who("10.1.2.3");
    assert!(run_bool("netmask({'10.0.0.0/8'})", &q));
    assert!(run_bool("netmask({'192.0.2.0/24', '10.1.2.3'})", &q));
    assert!(!run_bool("netmask({'192.0.2.0/24', '::/0'})", &q));
    assert!(run_bool("netmask({'0.0.0.0/0'})", &q));
    assert!(run_bool(
        "netmask({'2001:db8::/32'})",
        &hq().who("2001:db8::5")
    ));
    let view = "view({ {{'192.168.0.0/16','10.0.0.0/8'}, {'192.0.2.20'}}, {{'0.0.0.0/0'}, {'192.0.2.1'}} })";
    assert_eq!(run(view, &q), ["192.0.2.20"]);
    assert_eq!(run(view, &hq().who("8.8.8.8")), ["192.0.2.1"]);
    // ECS decides, not the transport address.
    assert_eq!(
        run(view, &hq().who("10.0.0.1").ecs("8.8.8.8", 24)),
        ["192.0.2.1"]
    );
    // No match: "" -> SERVFAIL for A, an empty string for TXT.
    let view = "view({ {{'192.168.0.0/16'}, {'192.0.2.20'}} })";
    assert!(matches!(
        run_with(view, RType::A, &q, &AllUp, &NoGeo),
        Err(EvalError::BadRdata { .. })
    ));
    let txt = "view({ {{'192.168.0.0/16'}, {'x'}} })";
    assert_eq!(run_with(txt, RType::TXT, &q, &AllUp, &NoGeo).unwrap(), [""]);
    // Netmask parsing.
    assert_eq!(Netmask::parse("10.0.0.0/8").unwrap().len, 8);
    assert_eq!(Netmask::parse("10.0.0.1").unwrap().len, 32);
    assert_eq!(Netmask::parse("::1").unwrap().len, 128);
    assert!(Netmask::parse("10.0.0.0/33").is_none());
    assert!(Netmask::parse("::/129").is_none());
    assert!(Netmask::parse("::/0").unwrap().contains(ip("2001:db8::1")));
}

#[test]
fn bestwho_and_scope() {
    let q = hq().who("127.0.0.1").ecs("1.2.3.4", 24);
    assert_eq!(q.ctx().bestwho(), ip("1.2.3.0"));
    assert_eq!(q.ctx().ecs_scope(), 24);
    assert_eq!(hq().ecs("1.2.3.4", 0).ctx().bestwho(), ip("0.0.0.0"));
    assert_eq!(hq().ecs("2001:db8::1", 0).ctx().bestwho(), ip("::"));
    assert_eq!(
        hq().ecs("2001:db8:ffff::1", 32).ctx().bestwho(),
        ip("2001:db8::")
    );
    assert_eq!(hq().ecs("1.2.3.4", 32).ctx().bestwho(), ip("1.2.3.4"));
    assert_eq!(hq().who("192.0.2.7").ctx().bestwho(), ip("192.0.2.7"));
    assert_eq!(
        hq().who("::ffff:192.0.2.7").ctx().bestwho(),
        ip("192.0.2.7")
    );
    assert_eq!(hq().who("192.0.2.7").ctx().ecs_scope(), 32);
    assert_eq!(hq().who("2001:db8::1").ctx().ecs_scope(), 128);
}

#[test]
fn create_forward_matches_powerdns_table() {
    let code = "filterForward(createForward(), newNMG({'1.0.0.0/8', '64.0.0.0/8'}))";
    let cases = [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4.static", "1.2.3.4"),
        ("1.2.3.4.5.6", "1.2.3.4"),
        ("invalid.1.2.3.4", "0.0.0.0"),
        ("invalid", "0.0.0.0"),
        ("1-2-3-4", "1.2.3.4"),
        ("1-2-3-4.foo", "1.2.3.4"),
        ("1-2-3-4.foo.bar", "1.2.3.4"),
        ("1-2-3-4.foo.bar.baz", "0.0.0.0"),
        ("1-2-3-4.foo.bar.baz.quux", "0.0.0.0"),
        ("ip-1-2-3-4", "1.2.3.4"),
        ("ip-is-here-for-you-1-2-3-4", "1.2.3.4"),
        ("40414243", "64.65.66.67"),
        ("p40414243", "64.65.66.67"),
        ("ip40414243", "64.65.66.67"),
        ("ipp40414243", "64.65.66.67"),
        ("ip4041424", "0.0.0.0"),
        ("ip-441424", "0.0.0.0"),
        ("ip-5abcdef", "0.0.0.0"),
        ("host64-22-33-44", "64.22.33.44"),
        ("2.2.2.2", "0.0.0.0"),
    ];
    for (prefix, want) in cases {
        let q = Q::new(&format!("{prefix}.createforward.example.org."))
            .owner("*.createforward.example.org.");
        assert_eq!(run(code, &q), [want], "{prefix}");
    }
    // Not a wildcard owner: 0.0.0.0.
    let q = Q::new("1.2.3.4.createforward.example.org.");
    assert_eq!(run("createForward()", &q), ["0.0.0.0"]);
    // Out of range dash form.
    let q = Q::new("1-2-3-400.cf.example.org.").owner("*.cf.example.org.");
    assert_eq!(run("createForward()", &q), ["0.0.0.0"]);
}

#[test]
fn create_forward6_matches_powerdns_table() {
    let filtered = "filterForward(createForward6(), newNMG({'2000::/3'}), 'fe80::1')";
    for (prefix, want) in [
        ("2001--db8", "2001::db8"),
        ("20010002000300040005000600070db8", "2001:2:3:4:5:6:7:db8"),
        (
            "blabla20010002000300040005000600070db8",
            "2001:2:3:4:5:6:7:db8",
        ),
        ("4000-db8--1", "fe80::1"),
        ("l1.l2.l3.l4.l5.l6.l7.l8", "fe80::1"),
    ] {
        let q = Q::new(&format!("{prefix}.createforward6.example.org."))
            .owner("*.createforward6.example.org.");
        assert_eq!(
            run_with(filtered, RType::AAAA, &q, &AllUp, &NoGeo).unwrap(),
            [want],
            "{prefix}"
        );
    }
    for (prefix, want) in [
        ("0--0", "::"),
        ("0--1", "::1"),
        ("0aa--0", "aa::"),
        ("0aa--1", "aa::1"),
        ("2001--0", "2001::"),
        ("a-b--c", "a:b::c"),
        ("a--b-c", "a::b:c"),
    ] {
        let q = Q::new(&format!("{prefix}.no-filter.createforward6.example.org."))
            .owner("*.no-filter.createforward6.example.org.");
        assert_eq!(
            run_with("createForward6()", RType::AAAA, &q, &AllUp, &NoGeo).unwrap(),
            [want],
            "{prefix}"
        );
    }
}

#[test]
fn create_reverse_matches_powerdns_table() {
    let code = "createReverse('%5%.example.com', {['10.10.10.10'] = 'quad10.example.com.'})";
    for (prefix, want) in [
        ("4.3.2.1", "1-2-3-4.example.com"),
        ("10.10.10.10", "quad10.example.com."),
    ] {
        let q = Q::new(&format!("{prefix}.createreverse.example.org."))
            .owner("*.createreverse.example.org.");
        assert_eq!(
            run_with(code, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
            [want],
            "{prefix}"
        );
    }
    // Every placeholder.
    let q = Q::new("15.0.0.127.in-addr.arpa.");
    let all = "createReverse('%1%.%2%.%3%.%4%|%5%|%6%|%%')";
    assert_eq!(
        run_with(all, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
        ["127.0.0.15|127-0-0-15|7f00000f|%"]
    );
    // Too few labels.
    let q = Q::new("a.b.");
    assert_eq!(
        run_with(all, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
        ["unknown"]
    );
}

#[test]
fn create_reverse6_matches_powerdns_table() {
    let code = "createReverse6('%33%.example.com', {['2001:db8::1'] = 'example.example.com.'})";
    let rev = |addr: &str| -> String {
        let a: std::net::Ipv6Addr = addr.parse().unwrap();
        let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
        hex.chars()
            .rev()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(".")
    };
    for (addr, want) in [
        ("2001::db8", "2001--db8.example.com"),
        ("2001:db8::1", "example.example.com."),
        ("::", "0--0.example.com"),
        ("::1", "0--1.example.com"),
        ("aa::", "0aa--0.example.com"),
        ("aa::1", "0aa--1.example.com"),
        ("2001::", "2001--0.example.com"),
        ("a:b::c", "a-b--c.example.com"),
        ("a::b:c", "a--b-c.example.com"),
    ] {
        let q = Q::new(&format!("{}.createreverse6.example.org.", rev(addr)))
            .owner("*.createreverse6.example.org.");
        assert_eq!(
            run_with(code, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
            [want],
            "{addr}"
        );
    }
    // Nibbles and quads.
    let q = Q::new(&format!("{}.ip6.arpa.", rev("2001:db8::1")));
    let fmt = "createReverse6('%1%%2%%3%%4%.%32%.%34%.%41%')";
    assert_eq!(
        run_with(fmt, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
        ["2001.1.2001.0001"]
    );
    let q = Q::new("1.2.3.ip6.arpa.");
    assert_eq!(
        run_with(fmt, RType::PTR, &q, &AllUp, &NoGeo).unwrap(),
        ["unknown"]
    );
}

#[test]
fn filter_forward_fallbacks() {
    let q = hq();
    assert_eq!(
        run("filterForward('192.0.2.1', newNMG({'192.0.2.0/24'}))", &q),
        ["192.0.2.1"]
    );
    assert_eq!(
        run("filterForward('192.0.2.1', newNMG({'10.0.0.0/8'}))", &q),
        ["0.0.0.0"]
    );
    assert_eq!(
        run(
            "filterForward('192.0.2.1', newNMG{'10.0.0.0/8'}, '192.0.2.9')",
            &q
        ),
        ["192.0.2.9"]
    );
    let r = evaluate(
        &compile(
            "filterForward('192.0.2.1', newNMG{'192.1.2.0/24'}, '')",
            RType::A,
        )
        .unwrap(),
        &q.ctx(),
        &AllUp,
        &NoGeo,
    );
    assert_eq!(Outcome::from(r), Outcome::Empty);
    let r = run_with(
        "filterForward('2001:db8::1', newNMG({'10.0.0.0/8'}))",
        RType::AAAA,
        &q,
        &AllUp,
        &NoGeo,
    );
    assert_eq!(r.unwrap(), ["::"]);
}

#[test]
fn outcomes() {
    assert_eq!(Outcome::from(Ok(vec![])), Outcome::Empty);
    assert_eq!(
        Outcome::from(Ok(vec![Answer("192.0.2.1".into())])),
        Outcome::Answer(vec![Answer("192.0.2.1".into())])
    );
    assert_eq!(
        Outcome::from(Err(EvalError::AllDown)),
        Outcome::ServFail(EvalError::AllDown)
    );
    // A value of the wrong family reaching an A record at query time: SERVFAIL.
    let q = Q::new("::1.x.example.org.").owner("*.x.example.org.");
    let lr = LuaRule {
        produced: RType::A,
        code: String::new(),
        rule: Rule::CreateForward6,
        warnings: vec![],
        cache: Cacheability::of(&Rule::CreateForward6),
    };
    assert!(matches!(
        evaluate(&lr, &q.ctx(), &AllUp, &NoGeo),
        Err(EvalError::BadRdata { .. })
    ));
}

#[test]
fn shared_geo_is_a_geo_view() {
    let g = geo::SharedGeo::empty();
    let v: &dyn GeoView = &g;
    assert!(v.locate(ip("1.2.3.4")).is_empty());
    let q = hq().ecs("1.2.3.0", 24);
    assert_eq!(
        run_with("countryCode()", RType::TXT, &q, &AllUp, &g).unwrap(),
        ["--"]
    );
}

#[test]
fn cacheability_is_decided_at_compile_time() {
    let c = |code: &str| compile(code, RType::A).unwrap().cache;
    let yes = |reads_qname, reads_client| Cacheability {
        cacheable: true,
        reads_qname,
        reads_client,
    };
    assert_eq!(
        c("pickwhashed({{1, '192.0.2.1'}, {2, '192.0.2.2'}})"),
        yes(false, true)
    );
    assert_eq!(
        c("pickclosest({'192.0.2.1', '192.0.2.2'})"),
        yes(false, true)
    );
    assert_eq!(
        c("ifportup(443, {'192.0.2.1', '192.0.2.2'}, {selector='hashed', backupSelector='all'})"),
        yes(false, true)
    );
    assert_eq!(
        c("ifportup(443, {'192.0.2.1', '192.0.2.2'}, {backupSelector='pickclosest'})"),
        yes(false, true),
        "the backup selector reads the client"
    );
    // The random selector's draw is deferred (evaluate_deferred): what is
    // left is a function of the health states alone.
    assert_eq!(
        c("ifportup(443, {'192.0.2.1', '192.0.2.2'})"),
        yes(false, false)
    );
    assert_eq!(
        c("ifportup(443, {'192.0.2.1'}, {selector='all'})"),
        yes(false, false)
    );
    assert_eq!(
        c("ifurlextup({{['192.0.2.1']='http://a/', ['192.0.2.2']='http://b/'}})"),
        yes(false, false)
    );
    assert_eq!(c("createForward()"), yes(true, false));
    assert_eq!(c("closestMagic()"), yes(true, true));
    assert_eq!(
        c("pickrandom({'192.0.2.1'})"),
        yes(false, false),
        "one value: no draw"
    );
    for random in [
        "pickrandom({'192.0.2.1', '192.0.2.2'})",
        "pickrandomsample(1, {'192.0.2.1', '192.0.2.2'})",
        "pickwrandom({{1, '192.0.2.1'}, {2, '192.0.2.2'}})",
        "view({{{'0.0.0.0/0'}, {'192.0.2.1', '192.0.2.2'}}})",
    ] {
        assert!(
            !compile(random, RType::A).unwrap().is_cacheable(),
            "{random}"
        );
    }
}

/// `evaluate_deferred` leaves exactly the random selector's draw undone:
/// the `OneOf` holds what `evaluate_with` would draw from, and every other
/// result is what `evaluate_with` gives.
#[test]
fn deferred_evaluation_leaves_only_the_random_draw() {
    let deferred = |code: &str, h: &dyn HealthView, q: &Q| {
        let rule = compile(code, RType::A).unwrap();
        let mut r = rng();
        let seed = r.get_seed();
        let got = evaluate_deferred(&rule, &q.ctx(), h, &FakeGeo, &mut r);
        assert_eq!(r.get_seed(), seed, "{code}: nothing drawn");
        got.map(|d| match d {
            Draw::All(v) => ("all", v.into_iter().map(|a| a.0).collect::<Vec<_>>()),
            Draw::OneOf(v) => ("one of", v.into_iter().map(|a| a.0).collect()),
        })
    };
    let q = Q::new("x.example.org.");
    let rand3 = "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'})";
    let h = FakeHealth::with(&[
        ("192.0.2.1", UP),
        ("192.0.2.2", Health::Down),
        ("192.0.2.3", UP),
    ]);
    assert_eq!(
        deferred(rand3, &h, &q),
        Ok(("one of", vec!["192.0.2.1".into(), "192.0.2.3".into()])),
        "the up candidates, in list order"
    );
    let one_up = FakeHealth::with(&[("192.0.2.2", UP)]);
    assert_eq!(
        deferred(rand3, &one_up, &q),
        Ok(("all", vec!["192.0.2.2".into()])),
        "one candidate: no draw to defer"
    );
    let down = FakeHealth::default();
    assert_eq!(
        deferred(rand3, &down, &q),
        Ok((
            "one of",
            vec!["192.0.2.1".into(), "192.0.2.2".into(), "192.0.2.3".into()]
        )),
        "all down: backupSelector random over the first set"
    );
    let sets = "ifportup(443, {{'192.0.2.1', '192.0.2.2'}, {'192.0.2.3', '192.0.2.4'}}, {backupSelector='all'})";
    let second = FakeHealth::with(&[("192.0.2.3", UP), ("192.0.2.4", UP)]);
    assert_eq!(
        deferred(sets, &second, &q),
        Ok(("one of", vec!["192.0.2.3".into(), "192.0.2.4".into()])),
        "the first set with an up address"
    );
    assert_eq!(
        deferred(sets, &down, &q),
        Ok(("all", vec!["192.0.2.1".into(), "192.0.2.2".into()]))
    );
    let ext = "ifurlextup({{['192.0.2.2']='https://b/', ['192.0.2.1']='https://a/'}})";
    let urls = FakeHealth {
        default: Some(UP),
        ..FakeHealth::default()
    };
    assert_eq!(
        deferred(ext, &urls, &q),
        Ok(("one of", vec!["192.0.2.1".into(), "192.0.2.2".into()]))
    );
    // Not random: exactly evaluate_with.
    for code in [
        "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'}, {selector='all'})",
        "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'}, {selector='hashed'})",
        "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'}, {selector='pickfirst'})",
        "ifportup(443, {'192.0.2.1', '192.0.2.2', '192.0.2.3'}, {selector='empty'})",
        "pickwhashed({{1, '192.0.2.1'}, {2, '192.0.2.2'}})",
    ] {
        assert_eq!(
            deferred(code, &h, &q).map(|(_, v)| v),
            run_with(code, RType::A, &q, &h, &FakeGeo),
            "{code}"
        );
    }
    let strict = "ifportup(443, {'192.0.2.1'}, {failOnIncompleteCheck='true'})";
    let unknown = FakeHealth {
        default: Some(Health::Unknown),
        ..FakeHealth::default()
    };
    assert_eq!(
        deferred(strict, &unknown, &q),
        Err(EvalError::IncompleteCheck)
    );
}
