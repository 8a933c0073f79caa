//! LUA records in lookup (lua-records.md §3, §5, §11, §12) against a zone
//! read from text, with every target up (or a fake health view) and no GeoIP.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use super::LuaQuery;
use crate::dnssec::keys::{FLAGS_KSK, KeyState};
use crate::dnssec::{Algorithm, SigningKey, TypeBitmap, ZoneKeys};
use crate::dynamic::{CheckKey, Ecs, Health, HealthView, NoGeo};
use crate::lookup::{AnyUdp, resolve};
use crate::outcome::{Data, Outcome, Owner};
use crate::wire::Rcode;
use crate::wire::{Name, RType, rdata};
use crate::zone::{Catalog, Served, build_zone, load};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));

const ZONE: &str = r#"
$TTL 300
@        SOA   ns1 hostmaster 1 3600 600 86400 60
@        NS    ns1
ns1      A     192.0.2.53
www      A     192.0.2.1
mixed    A     192.0.2.1
mixed    LUA   A "'192.0.2.1'"
mixed    60 LUA A "{'192.0.2.2', '192.0.2.1'}"
only     LUA   A "'192.0.2.3'"
only     LUA   AAAA "'2001:db8::3'"
txt      LUA   TXT "'hello world'"
*.wild   LUA   A "createForward()"
lc       LUA   CNAME "'www.example.test'"
lcloop   LUA   CNAME "'lcloop.example.test.'"
tolua    CNAME only
fail     LUA   A "view({{{'10.0.0.0/8'}, {'192.0.2.1'}}})"
empty    LUA   A "pickrandomsample(0, {'192.0.2.1'})"
view     LUA   TXT "view({{{'198.51.100.0/24'}, {'in'}}, {{'0.0.0.0/0'}, {'out'}}})"
health   LUA   A "ifportup(443, {'192.0.2.10', '192.0.2.11'}, {backupSelector='empty'})"
ptr      LUA   PTR "'host.example.net'"
"#;

fn origin() -> Name {
    Name::from_text("example.test.", None).unwrap()
}

fn zone_catalog(keys: Option<Arc<ZoneKeys>>) -> Catalog {
    let records = load::parse_str(&origin(), ZONE, Path::new("lua.zone")).unwrap();
    let mut catalog = Catalog::new();
    catalog.insert_served(Served {
        zone: Arc::new(build_zone(&origin(), records).unwrap()),
        keys,
        expired: false,
    });
    catalog
}

fn signed_catalog() -> Catalog {
    let key = SigningKey::generate(&origin(), Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    let on = KeyState {
        published: true,
        active: true,
    };
    let keys = ZoneKeys::new(&origin(), vec![(Arc::new(key), on)]);
    zone_catalog(Some(Arc::new(keys)))
}

fn wire(qname: &str) -> Vec<u8> {
    Name::from_text(qname, Some(&origin()))
        .unwrap()
        .to_lowercase()
        .as_wire()
        .to_vec()
}

fn run_with<'z>(
    catalog: &'z Catalog,
    qname: &str,
    qtype: RType,
    lua: &LuaQuery<'_>,
    out: &mut Outcome<'z>,
) {
    let qname = wire(qname);
    resolve(catalog, &qname, qtype, AnyUdp::Minimal, true, lua, out);
    // The denial stage, as the pipeline runs it after the lookup (no
    // negative budget here: always compact).
    let signer = crate::dnssec::Signer::with_negative_budget(1 << 16, 0);
    crate::dnssec::prove(out, &qname, &signer, 1_800_000_000);
}

fn run<'z>(catalog: &'z Catalog, qname: &str, qtype: RType) -> Outcome<'z> {
    let mut out = Outcome::default();
    run_with(catalog, qname, qtype, &LuaQuery::plain(CLIENT), &mut out);
    out
}

fn types(out: &Outcome<'_>) -> Vec<RType> {
    out.answer.iter().map(|e| e.data.rtype()).collect()
}

/// Every answer record as presentation RDATA.
fn texts(out: &Outcome<'_>) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in &out.answer {
        let rtype = entry.data.rtype();
        let rdatas: Vec<&[u8]> = match entry.data {
            Data::Set(set) => set.rdatas.iter().collect(),
            Data::Dynamic(_, i) => out.dynamic[i as usize].rdatas.iter().collect(),
            _ => continue,
        };
        for r in rdatas {
            texts.push(rdata::to_text(rtype, r).unwrap());
        }
    }
    texts
}

fn is_nodata(out: &Outcome<'_>) -> bool {
    out.rcode == Rcode::NOERROR
        && out.answer.is_empty()
        && out.authority.first().map(|e| e.data.rtype()) == Some(RType::SOA)
}

#[test]
fn lua_answer_has_the_lua_ttl_and_is_owned_by_the_outcome() {
    let c = zone_catalog(None);
    let out = run(&c, "only", RType::A);
    assert_eq!(out.rcode, Rcode::NOERROR);
    assert!(out.aa);
    assert_eq!(texts(&out), ["192.0.2.3"]);
    assert_eq!(out.answer[0].ttl, 300);
    assert!(matches!(out.answer[0].data, Data::Dynamic(RType::A, 0)));
    assert_eq!(texts(&run(&c, "only", RType::AAAA)), ["2001:db8::3"]);
}

#[test]
fn merged_with_static_records_duplicates_removed() {
    let c = zone_catalog(None);
    let out = run(&c, "mixed", RType::A);
    assert_eq!(types(&out), [RType::A], "one RRset");
    assert_eq!(texts(&out), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(out.answer[0].ttl, 60, "one TTL: the lowest");
}

#[test]
fn other_types_and_the_lua_type_are_nodata() {
    let c = zone_catalog(None);
    assert!(
        is_nodata(&run(&c, "txt", RType::A)),
        "produced type != QTYPE"
    );
    assert!(is_nodata(&run(&c, "only", RType::LUA)), "QTYPE=LUA");
    assert!(is_nodata(&run(&c, "only", RType::MX)));
}

#[test]
fn txt_is_one_character_string() {
    let c = zone_catalog(None);
    let out = run(&c, "txt", RType::TXT);
    assert_eq!(texts(&out), ["\"hello world\""]);
}

#[test]
fn ptr_targets_are_absolute() {
    let c = zone_catalog(None);
    assert_eq!(texts(&run(&c, "ptr", RType::PTR)), ["host.example.net."]);
}

#[test]
fn wildcard_sees_the_query_name() {
    let c = zone_catalog(None);
    let out = run(&c, "ip-198-51-100-7.wild", RType::A);
    assert_eq!(texts(&out), ["198.51.100.7"]);
    assert_eq!(out.answer[0].owner, Owner::Qname);
}

#[test]
fn lua_cname_is_chased() {
    let c = zone_catalog(None);
    let out = run(&c, "lc", RType::A);
    assert_eq!(types(&out), [RType::CNAME, RType::A]);
    assert_eq!(texts(&out), ["www.example.test.", "192.0.2.1"]);
    let out = run(&c, "lc", RType::CNAME);
    assert_eq!(texts(&out), ["www.example.test."]);
    let out = run(&c, "lcloop", RType::A);
    assert_eq!(
        (out.rcode, types(&out)),
        (Rcode::NOERROR, vec![RType::CNAME]),
        "a LUA CNAME to itself stops"
    );
}

#[test]
fn static_cname_to_a_lua_name_is_chased() {
    let c = zone_catalog(None);
    let out = run(&c, "tolua", RType::A);
    assert_eq!(types(&out), [RType::CNAME, RType::A]);
    assert_eq!(texts(&out), ["only.example.test.", "192.0.2.3"]);
}

#[test]
fn evaluation_error_is_servfail_with_empty_sections() {
    let c = zone_catalog(None);
    let out = run(&c, "fail", RType::A);
    assert_eq!(out.rcode, Rcode::SERVFAIL);
    assert!(out.answer.is_empty() && out.authority.is_empty());
}

#[test]
fn record_that_does_not_compile_is_servfail() {
    // Zone files and the API refuse these; one that reaches a zone anyway
    // (an older store) is served as SERVFAIL, as PowerDNS does.
    let mut records = load::parse_str(&origin(), ZONE, Path::new("lua.zone")).unwrap();
    let mut bad = records[0].clone();
    bad.owner = Name::from_text("bad", Some(&origin())).unwrap();
    bad.rtype = RType::LUA;
    bad.rdata = b"\x00\x01\x0bnosuchfn(1)".to_vec().into_boxed_slice();
    records.push(bad);
    let mut c = Catalog::new();
    c.insert(Arc::new(build_zone(&origin(), records).unwrap()));
    assert_eq!(run(&c, "bad", RType::A).rcode, Rcode::SERVFAIL);
    assert!(is_nodata(&run(&c, "bad", RType::TXT)));
}

#[test]
fn empty_result_is_nodata() {
    let c = zone_catalog(None);
    let out = run(&c, "empty", RType::A);
    assert!(is_nodata(&out));
    assert_eq!(out.ecs_scope, 0, "no LUA records in the reply");
}

/// Every target down.
struct AllDown;

impl HealthView for AllDown {
    fn status(&self, _: &CheckKey) -> Health {
        Health::Down
    }
}

#[test]
fn health_view_is_consulted() {
    let c = zone_catalog(None);
    assert_eq!(
        texts(&run(&c, "health", RType::A)).len(),
        1,
        "all up: one of the addresses"
    );
    let mut out = Outcome::default();
    let lua = LuaQuery {
        health: &AllDown,
        ..LuaQuery::plain(CLIENT)
    };
    run_with(&c, "health", RType::A, &lua, &mut out);
    assert!(is_nodata(&out), "all down with backupSelector='empty'");
}

#[test]
fn client_address_and_ecs_scope() {
    let c = zone_catalog(None);
    let out = run(&c, "view", RType::TXT);
    assert_eq!(texts(&out), ["\"out\""], "the source address");
    assert_eq!(out.ecs_scope, 32);

    let ecs = |addr: [u8; 4], source_prefix| LuaQuery {
        ecs: Some(Ecs {
            addr: IpAddr::from(addr),
            source_prefix,
        }),
        geo: &NoGeo,
        ..LuaQuery::plain(CLIENT)
    };
    let mut out = Outcome::default();
    run_with(
        &c,
        "view",
        RType::TXT,
        &ecs([198, 51, 100, 0], 24),
        &mut out,
    );
    assert_eq!(texts(&out), ["\"in\""], "the ECS address wins");
    assert_eq!(out.ecs_scope, 24, "scope = source prefix");

    let mut out = Outcome::default();
    run_with(&c, "view", RType::TXT, &ecs([0, 0, 0, 0], 0), &mut out);
    assert_eq!(texts(&out), ["\"out\""], "/0: no client information");
    assert_eq!(out.ecs_scope, 0);

    let mut out = Outcome::default();
    run_with(&c, "www", RType::A, &ecs([198, 51, 100, 0], 24), &mut out);
    assert_eq!(out.ecs_scope, 0, "static data: scope 0");
}

#[test]
fn any_over_tcp_lists_produced_types_never_lua() {
    let c = zone_catalog(None);
    let out = run(&c, "only", RType::ANY);
    assert_eq!(types(&out), [RType::A, RType::AAAA]);
    let out = run(&c, "mixed", RType::ANY);
    assert_eq!(texts(&out), ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(run(&c, "fail", RType::ANY).rcode, Rcode::SERVFAIL);
    assert!(is_nodata(&run(&c, "empty", RType::ANY)));
}

#[test]
fn nsec_bitmap_lists_produced_types() {
    let c = signed_catalog();
    let mut out = Outcome {
        dnssec_ok: true,
        ..Outcome::default()
    };
    run_with(&c, "txt", RType::A, &LuaQuery::plain(CLIENT), &mut out);
    assert!(out.answer.is_empty());
    let nsec = &out.nsecs[0];
    let next_len = crate::wire::name::wire_name_len(nsec).unwrap();
    let bitmap = TypeBitmap::decode(&nsec[next_len..]).unwrap();
    let listed: Vec<RType> = bitmap.types().collect();
    assert!(listed.contains(&RType::TXT), "{listed:?}");
    assert!(!listed.contains(&RType::LUA), "{listed:?}");

    let mut out = Outcome {
        dnssec_ok: true,
        ..Outcome::default()
    };
    run_with(&c, "only", RType::A, &LuaQuery::plain(CLIENT), &mut out);
    assert!(
        out.answer[0].signer.is_some(),
        "LUA answers are signed like any RRset"
    );
    assert_eq!(out.answer[0].data.rtype(), RType::A);
}

// ----------- the answer cache (lua_cache.rs) ------------------------------------

mod cache {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;
    use crate::dynamic::LuaCache;

    const CACHED_ZONE: &str = r#"
$TTL 300
@        SOA   ns1 hostmaster 1 3600 600 86400 60
@        NS    ns1
ns1      A     192.0.2.53
hc       LUA   A "ifportup(443, {'192.0.2.10', '192.0.2.11'}, {selector='all', backupSelector='empty'})"
hcrand   LUA   A "ifportup(443, {'192.0.2.10', '192.0.2.11'})"
hc3      LUA   A "ifportup(443, {'192.0.2.10', '192.0.2.11', '192.0.2.12'})"
hc3e     LUA   A "ifportup(443, {'192.0.2.10', '192.0.2.11', '192.0.2.12'}, {backupSelector='empty'})"
strict   LUA   A "ifportup(443, {'192.0.2.12'}, {selector='all', backupSelector='all', failOnIncompleteCheck='true'})"
wh       LUA   A "pickwhashed({{1, '192.0.2.1'}, {1, '192.0.2.2'}, {1, '192.0.2.3'}})"
rnd      LUA   A "pickrandom({'192.0.2.1', '192.0.2.2'})"
close    LUA   A "pickclosest({'192.0.2.1', '192.0.2.2'})"
*.fwd    LUA   A "createForward()"
*.wwh    LUA   A "pickwhashed({{1, '192.0.2.1'}, {1, '192.0.2.2'}})"
"#;

    fn catalog() -> Catalog {
        let records = load::parse_str(&origin(), CACHED_ZONE, Path::new("c.zone")).unwrap();
        let mut catalog = Catalog::new();
        catalog.insert_served(Served {
            zone: Arc::new(build_zone(&origin(), records).unwrap()),
            keys: None,
            expired: false,
        });
        catalog
    }

    /// A health view the test flips; counts `status` calls.
    #[derive(Default)]
    struct Switch {
        down: Cell<bool>,
        /// Answer `Unknown` to this many more calls.
        unknown: Cell<u32>,
        generation: Cell<u64>,
        calls: Cell<u32>,
    }

    impl HealthView for Switch {
        fn status(&self, _: &CheckKey) -> Health {
            self.calls.set(self.calls.get() + 1);
            if self.unknown.get() > 0 {
                self.unknown.set(self.unknown.get() - 1);
                return Health::Unknown;
            }
            if self.down.get() {
                Health::Down
            } else {
                Health::Up { weight: 0 }
            }
        }

        fn generation(&self) -> u64 {
            self.generation.get()
        }
    }

    fn cache() -> LuaCache {
        LuaCache::with_shards(1024, Duration::from_secs(60), 4)
    }

    fn ask<'z>(
        catalog: &'z Catalog,
        qname: &str,
        health: &Switch,
        cache: &LuaCache,
        client: IpAddr,
        ecs: Option<Ecs>,
    ) -> Outcome<'z> {
        let lua = LuaQuery {
            client,
            ecs,
            health,
            geo: &NoGeo,
            cache: Some(cache),
            zones: None,
            request: Default::default(),
        };
        let mut out = Outcome::default();
        run_with(catalog, qname, RType::A, &lua, &mut out);
        out
    }

    fn hits_misses_inserts(cache: &LuaCache) -> (u64, u64, u64) {
        let s = cache.stats();
        (s.hits, s.misses, s.inserts)
    }

    #[test]
    fn hit_skips_evaluation_and_gives_the_same_answer() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        let first = texts(&ask(&c, "hc", &health, &cache, CLIENT, None));
        assert_eq!(first, ["192.0.2.10", "192.0.2.11"]);
        assert_eq!(health.calls.get(), 2);
        let again = ask(&c, "hc", &health, &cache, CLIENT, None);
        assert_eq!(texts(&again), first);
        assert_eq!(again.ecs_scope, 32, "the scope is computed per query");
        assert_eq!(health.calls.get(), 2, "a hit does not evaluate");
        assert_eq!(hits_misses_inserts(&cache), (1, 1, 1));
        assert_eq!(cache.stats().entries, 1);
    }

    #[test]
    fn generation_change_is_a_miss() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        assert_eq!(
            texts(&ask(&c, "hc", &health, &cache, CLIENT, None)).len(),
            2
        );
        health.down.set(true);
        // Same generation: the entry stands (the checker moves it on change).
        assert_eq!(
            texts(&ask(&c, "hc", &health, &cache, CLIENT, None)).len(),
            2
        );
        health.generation.set(1);
        let out = ask(&c, "hc", &health, &cache, CLIENT, None);
        assert!(is_nodata(&out), "all down, backupSelector='empty'");
        assert_eq!(hits_misses_inserts(&cache), (1, 2, 2));
        assert!(is_nodata(&ask(&c, "hc", &health, &cache, CLIENT, None)));
        assert_eq!(hits_misses_inserts(&cache), (2, 2, 2));
    }

    #[test]
    fn reloaded_zone_never_hits_the_old_entries() {
        let (health, cache) = (Switch::default(), cache());
        let old = catalog();
        ask(&old, "wh", &health, &cache, CLIENT, None);
        let new = catalog();
        ask(&new, "wh", &health, &cache, CLIENT, None);
        assert_eq!(hits_misses_inserts(&cache), (0, 2, 2));
        drop(old);
        // The entry for the dropped zone holds its rule's allocation, so
        // the address cannot come back for another rule.
        ask(&new, "wh", &health, &cache, CLIENT, None);
        assert_eq!(hits_misses_inserts(&cache), (1, 2, 2));
    }

    #[test]
    fn random_results_are_never_cached() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        for _ in 0..4 {
            assert_eq!(
                texts(&ask(&c, "rnd", &health, &cache, CLIENT, None)).len(),
                1
            );
            // No GeoIP: both candidates tie, and the tie is broken at random.
            assert_eq!(
                texts(&ask(&c, "close", &health, &cache, CLIENT, None)).len(),
                1
            );
        }
        let s = cache.stats();
        assert_eq!((s.hits, s.inserts, s.entries), (0, 0, 0));
        assert_eq!(s.misses, 4, "only pickclosest is looked up");
    }

    /// Health per address, set by the test; counts `status` calls.
    #[derive(Default)]
    struct PerAddress {
        down: std::cell::RefCell<Vec<IpAddr>>,
        generation: Cell<u64>,
        calls: Cell<u32>,
    }

    impl PerAddress {
        /// Marks exactly `addrs` down, as the checker would: with a new
        /// generation.
        fn set_down(&self, addrs: &[[u8; 4]]) {
            *self.down.borrow_mut() = addrs.iter().map(|&a| IpAddr::from(a)).collect();
            self.generation.set(self.generation.get() + 1);
        }
    }

    impl HealthView for PerAddress {
        fn status(&self, check: &CheckKey) -> Health {
            self.calls.set(self.calls.get() + 1);
            match check.addr {
                Some(a) if self.down.borrow().contains(&a.ip()) => Health::Down,
                _ => Health::Up { weight: 0 },
            }
        }

        fn generation(&self) -> u64 {
            self.generation.get()
        }
    }

    /// How often each answer came back over `n` queries (one record each).
    fn draws(
        c: &Catalog,
        qname: &str,
        health: &dyn HealthView,
        cache: &LuaCache,
        n: usize,
    ) -> std::collections::BTreeMap<String, usize> {
        let lua = LuaQuery {
            client: CLIENT,
            ecs: None,
            health,
            geo: &NoGeo,
            cache: Some(cache),
            zones: None,
            request: Default::default(),
        };
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..n {
            let mut out = Outcome::default();
            run_with(c, qname, RType::A, &lua, &mut out);
            let got = texts(&out);
            assert!(got.len() <= 1, "{got:?}");
            for t in got {
                *seen.entry(t).or_default() += 1;
            }
        }
        seen
    }

    fn names(seen: &std::collections::BTreeMap<String, usize>) -> Vec<&str> {
        seen.keys().map(String::as_str).collect()
    }

    #[test]
    fn random_selector_draws_per_query_from_cached_up_candidates() {
        let (c, health, cache) = (catalog(), PerAddress::default(), cache());
        health.set_down(&[[192, 0, 2, 11]]);
        let seen = draws(&c, "hc3", &health, &cache, 300);
        assert_eq!(names(&seen), ["192.0.2.10", "192.0.2.12"], "{seen:?}");
        // Uniform over two: each far from 0 and from 300 (p < 1e-20).
        assert!(seen.values().all(|&n| n > 90), "{seen:?}");
        assert_eq!(health.calls.get(), 3, "evaluated once");
        assert_eq!(hits_misses_inserts(&cache), (299, 1, 1));
    }

    #[test]
    fn candidate_set_is_dropped_when_a_health_state_changes() {
        let (c, health, cache) = (catalog(), PerAddress::default(), cache());
        let seen = draws(&c, "hc3", &health, &cache, 200);
        assert_eq!(
            names(&seen),
            ["192.0.2.10", "192.0.2.11", "192.0.2.12"],
            "every up candidate appears: {seen:?}"
        );
        health.set_down(&[[192, 0, 2, 10], [192, 0, 2, 12]]);
        let seen = draws(&c, "hc3", &health, &cache, 50);
        assert_eq!(names(&seen), ["192.0.2.11"], "the only one up: {seen:?}");
        assert_eq!(seen["192.0.2.11"], 50);
        health.set_down(&[]);
        assert_eq!(names(&draws(&c, "hc3", &health, &cache, 200)).len(), 3);
        assert_eq!(health.calls.get(), 9, "one evaluation per generation");
        assert_eq!(cache.stats().misses, 3);
    }

    #[test]
    fn all_down_falls_back_to_the_backup_selector() {
        let (c, health, cache) = (catalog(), PerAddress::default(), cache());
        health.set_down(&[[192, 0, 2, 10], [192, 0, 2, 11], [192, 0, 2, 12]]);
        // backupSelector random: one of all the addresses of the first set.
        let seen = draws(&c, "hc3", &health, &cache, 200);
        assert_eq!(names(&seen).len(), 3, "{seen:?}");
        // backupSelector empty: NODATA, from the cache too.
        for _ in 0..3 {
            assert!(is_nodata(&ask_per(&c, "hc3e", &health, &cache)));
        }
        // selector all, backupSelector empty (a cacheable rule before).
        assert!(is_nodata(&ask_per(&c, "hc", &health, &cache)));
        health.set_down(&[[192, 0, 2, 10]]);
        assert_eq!(
            texts(&ask_per(&c, "hc", &health, &cache)),
            ["192.0.2.11"],
            "selector='all' over the up addresses"
        );
        assert_eq!(
            texts(&ask_per(&c, "hc3e", &health, &cache)).len(),
            1,
            "up again: a draw"
        );
    }

    fn ask_per<'z>(
        c: &'z Catalog,
        qname: &str,
        health: &PerAddress,
        cache: &LuaCache,
    ) -> Outcome<'z> {
        let lua = LuaQuery {
            client: CLIENT,
            ecs: None,
            health,
            geo: &NoGeo,
            cache: Some(cache),
            zones: None,
            request: Default::default(),
        };
        let mut out = Outcome::default();
        run_with(c, qname, RType::A, &lua, &mut out);
        out
    }

    #[test]
    fn clients_share_the_candidates_of_a_rule_that_ignores_them() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let ecs = Some(Ecs {
            addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0)),
            source_prefix: 24,
        });
        ask(&c, "hcrand", &health, &cache, CLIENT, None);
        ask(&c, "hcrand", &health, &cache, other, None);
        let out = ask(&c, "hcrand", &health, &cache, other, ecs);
        assert_eq!(out.ecs_scope, 24, "the scope is still the query's");
        assert_eq!(hits_misses_inserts(&cache), (2, 1, 1));
        assert_eq!(health.calls.get(), 2);
    }

    #[test]
    fn without_a_cache_the_random_selector_still_draws() {
        let (c, health) = (catalog(), PerAddress::default());
        health.set_down(&[[192, 0, 2, 12]]);
        let lua = LuaQuery {
            health: &health,
            ..LuaQuery::plain(CLIENT)
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..100 {
            let mut out = Outcome::default();
            run_with(&c, "hc3", RType::A, &lua, &mut out);
            seen.extend(texts(&out));
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["192.0.2.10", "192.0.2.11"]
        );
        assert_eq!(health.calls.get(), 300, "evaluated every time");
    }

    #[test]
    fn unknown_and_incomplete_checks_are_never_cached() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        health.unknown.set(1);
        let out = ask(&c, "strict", &health, &cache, CLIENT, None);
        assert_eq!(out.rcode, Rcode::SERVFAIL, "IncompleteCheck");
        health.unknown.set(1);
        assert_eq!(
            texts(&ask(&c, "hc", &health, &cache, CLIENT, None)).len(),
            1
        );
        assert_eq!(cache.stats().inserts, 0);
        assert_eq!(
            texts(&ask(&c, "strict", &health, &cache, CLIENT, None)).len(),
            1
        );
        assert_eq!(
            texts(&ask(&c, "hc", &health, &cache, CLIENT, None)).len(),
            2
        );
        assert_eq!(cache.stats().inserts, 2);
    }

    #[test]
    fn entries_are_per_client_key() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        let other = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        let a = texts(&ask(&c, "wh", &health, &cache, CLIENT, None));
        let b = texts(&ask(&c, "wh", &health, &cache, other, None));
        assert_eq!(hits_misses_inserts(&cache), (0, 2, 2));
        assert_eq!(texts(&ask(&c, "wh", &health, &cache, CLIENT, None)), a);
        assert_eq!(texts(&ask(&c, "wh", &health, &cache, other, None)), b);
        assert_eq!(hits_misses_inserts(&cache), (2, 2, 2));
        // Two resolvers sending the same ECS /24 have one bestwho.
        let ecs = |last| {
            Some(Ecs {
                addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)),
                source_prefix: 24,
            })
        };
        ask(&c, "wh", &health, &cache, CLIENT, ecs(1));
        let out = ask(&c, "wh", &health, &cache, other, ecs(99));
        assert_eq!(out.ecs_scope, 24);
        assert_eq!(hits_misses_inserts(&cache), (3, 3, 3));
    }

    #[test]
    fn rules_that_read_the_name_are_keyed_by_it() {
        let (c, health, cache) = (catalog(), Switch::default(), cache());
        let fwd = |name| texts(&ask(&c, name, &health, &cache, CLIENT, None));
        assert_eq!(fwd("1-2-3-4.fwd"), ["1.2.3.4"]);
        assert_eq!(fwd("5-6-7-8.fwd"), ["5.6.7.8"]);
        assert_eq!(fwd("1-2-3-4.fwd"), ["1.2.3.4"]);
        assert_eq!(hits_misses_inserts(&cache), (1, 2, 2));
        // A wildcard whose rule ignores the name: one entry for all names.
        let a = fwd("a.wwh");
        assert_eq!(fwd("b.wwh"), a);
        assert_eq!(hits_misses_inserts(&cache), (2, 3, 3));
    }

    #[test]
    fn old_entries_are_a_miss() {
        let (c, health) = (catalog(), Switch::default());
        let cache = LuaCache::with_shards(16, Duration::ZERO, 1);
        ask(&c, "wh", &health, &cache, CLIENT, None);
        ask(&c, "wh", &health, &cache, CLIENT, None);
        assert_eq!(hits_misses_inserts(&cache), (0, 2, 2));
    }
}
