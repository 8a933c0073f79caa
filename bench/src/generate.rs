//! The benchmark zone and its query file, generated from a seed.
//!
//! The zone has `names` hosts (every host an A record, every even host an
//! AAAA too), a wildcard `*.wild`, and `delegations` child zones with two
//! NS each and in-bailiwick glue. The query file uses dnsperf's format (one
//! `name TYPE` a line) and mixes, by exact counts then shuffled:
//!
//! | share | kind | example |
//! |---|---|---|
//! | 70 % | existing A/AAAA | `host17.bench.test A` |
//! | 10 % | NXDOMAIN | `nx-3f2a91.bench.test A` |
//! | 10 % | wildcard match | `q8ab12.wild.bench.test AAAA` |
//! | 5 % | referral | `www.sub3.bench.test A` |
//! | 5 % | NODATA | `host4.bench.test TXT` |
//!
//! Every letter of every query name gets a random case (RFC 4343), so the
//! servers' case handling is on the measured path. Same seed, same output.
//!
//! Two variants for the large-zone matrix (`bench/scale.sh`), both off by
//! default so the plain zone and its figures stay as they were:
//!
//! - **mixed** (`mixed`): hosts take one of ten shapes by `i % 10` (see
//!   [`SHAPES`]): A+AAAA (four in ten), A+MX, A+TXT, a CNAME, A+SRV (at
//!   `_sip._tcp.hostN`), A+CAA, and A plus a wildcard `*.hostN`. Existing
//!   queries ask for the type the shape has (a random label below the
//!   wildcard ones, A at the CNAMEs); NODATA asks SSHFP, which no name has.
//! - **LUA** (`lua_percent`): that share of the hosts with an A record (any
//!   shape but the CNAME), picked by a hash of the seed and the index, has a
//!   PowerDNS `LUA A` record in place of the A, alternately `ifportup` and
//!   `pickwhashed`, targets 127.0.0.1 and 127.0.0.2 only. Only dnsd reads it.

use std::io::{self, Write};

use crate::rng::Rng;

/// Records outside the hosts and delegations: SOA, 2 NS, 2 glue, 2 wildcard.
const FIXED_RECORDS: u64 = 7;
/// One delegation per this many hosts when only a record count is given.
const HOSTS_PER_DELEGATION: u64 = 20;

/// What to generate.
#[derive(Debug, Clone)]
pub struct ZoneSpec {
    /// Zone origin, absolute, without the trailing dot (`bench.test`).
    pub origin: String,
    /// Host names (`host0` .. `host{names-1}`).
    pub names: u64,
    /// Delegated children (`sub0` ..).
    pub delegations: u64,
    /// Seed for the query mix and case.
    pub seed: u64,
    /// Hosts in the ten shapes of [`SHAPES`] rather than A (+ AAAA).
    pub mixed: bool,
    /// Percent of the hosts with an A that get a LUA A record instead.
    pub lua_percent: u64,
}

/// The mixed zone's host shapes, by `i % 10`: the records each one has.
pub const SHAPES: [&[&str]; 10] = [
    &["A", "AAAA"],
    &["A", "AAAA"],
    &["A", "AAAA"],
    &["A", "AAAA"],
    &["A", "MX"],
    &["A", "TXT"],
    &["CNAME"],
    &["A", "SRV"],
    &["A", "CAA"],
    &["A", "*A"],
];

/// Records in one round of the ten shapes.
const RECORDS_PER_TEN_MIXED: u64 = 19;

impl ZoneSpec {
    /// A spec of about `records` records in total, hosts and delegations in
    /// the default proportion (1.5 records per host, 4 per delegation).
    pub fn with_records(origin: &str, records: u64, seed: u64) -> ZoneSpec {
        // records = 1.5 n + 4 n / 20 + fixed = 1.7 n + fixed
        let names = (records.saturating_sub(FIXED_RECORDS) * 10 / 17).max(1);
        ZoneSpec {
            origin: origin.trim_end_matches('.').to_owned(),
            names,
            delegations: (names / HOSTS_PER_DELEGATION).max(1),
            seed,
            mixed: false,
            lua_percent: 0,
        }
    }

    /// A mixed-type spec of about `records` records (1.9 records per host,
    /// 4 per delegation), `lua_percent` of its A hosts as LUA records.
    pub fn mixed_with_records(origin: &str, records: u64, seed: u64, lua_percent: u64) -> ZoneSpec {
        // records = 1.9 n + 4 n / 20 + fixed = 2.1 n + fixed
        let names = (records.saturating_sub(FIXED_RECORDS) * 10 / 21).max(1);
        ZoneSpec {
            origin: origin.trim_end_matches('.').to_owned(),
            names,
            delegations: (names / HOSTS_PER_DELEGATION).max(1),
            seed,
            mixed: true,
            lua_percent: lua_percent.min(100),
        }
    }

    /// Total records the zone file will hold.
    pub fn record_count(&self) -> u64 {
        let hosts = if self.mixed {
            let partial: u64 = SHAPES[..(self.names % 10) as usize]
                .iter()
                .map(|shape| shape.len() as u64)
                .sum();
            self.names / 10 * RECORDS_PER_TEN_MIXED + partial
        } else {
            self.names + self.names.div_ceil(2)
        };
        hosts + 4 * self.delegations + FIXED_RECORDS
    }

    /// The shape of host `i` in a mixed zone.
    fn shape(i: u64) -> &'static [&'static str] {
        SHAPES[(i % 10) as usize]
    }

    /// Whether host `i` answers A through a LUA record.
    pub fn is_lua(&self, i: u64) -> bool {
        self.lua_percent > 0
            && Self::shape(i)[0] == "A"
            && Rng::new(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).below(100)
                < self.lua_percent
    }

    /// Writes the zone file (RFC 1035 master format that NSD, Knot,
    /// PowerDNS's bind backend and dnsd all read).
    pub fn write_zone(&self, out: &mut impl Write) -> io::Result<()> {
        let o = &self.origin;
        writeln!(out, "; generated by bench genzone, seed {}", self.seed)?;
        writeln!(out, "$ORIGIN {o}.")?;
        writeln!(out, "$TTL 3600")?;
        writeln!(
            out,
            "@ IN SOA ns1.{o}. hostmaster.{o}. 1 7200 3600 1209600 3600"
        )?;
        writeln!(out, "@ IN NS ns1.{o}.")?;
        writeln!(out, "@ IN NS ns2.{o}.")?;
        writeln!(out, "ns1 IN A 192.0.2.1")?;
        writeln!(out, "ns2 IN A 192.0.2.2")?;
        writeln!(out, "*.wild IN A 192.0.2.10")?;
        writeln!(out, "*.wild IN AAAA 2001:db8::10")?;
        for i in 0..self.names {
            if self.mixed {
                self.write_mixed_host(out, i)?;
                continue;
            }
            let [_, b, c, d] = (i as u32).to_be_bytes();
            writeln!(out, "host{i} IN A 10.{b}.{c}.{d}")?;
            if i.is_multiple_of(2) {
                writeln!(
                    out,
                    "host{i} IN AAAA 2001:db8:1::{:x}:{:x}",
                    i >> 16,
                    i & 0xffff
                )?;
            }
        }
        for k in 0..self.delegations {
            let [_, _, c, d] = (k as u32).to_be_bytes();
            writeln!(out, "sub{k} IN NS ns1.sub{k}.{o}.")?;
            writeln!(out, "sub{k} IN NS ns2.sub{k}.{o}.")?;
            writeln!(out, "ns1.sub{k} IN A 198.51.{c}.{d}")?;
            // Two groups past 65,535 delegations (10M-record zones); the
            // same text as always below that.
            if k > 0xffff {
                writeln!(
                    out,
                    "ns2.sub{k} IN AAAA 2001:db8:2::{:x}:{:x}",
                    k >> 16,
                    k & 0xffff
                )?;
            } else {
                writeln!(out, "ns2.sub{k} IN AAAA 2001:db8:2::{k:x}")?;
            }
        }
        Ok(())
    }

    /// Host `i` of a mixed zone, in its shape.
    fn write_mixed_host(&self, out: &mut impl Write, i: u64) -> io::Result<()> {
        let o = &self.origin;
        let [_, b, c, d] = (i as u32).to_be_bytes();
        for ty in Self::shape(i) {
            match *ty {
                "A" if self.is_lua(i) => {
                    if i.is_multiple_of(2) {
                        writeln!(
                            out,
                            "host{i} IN LUA A \"ifportup(8080, {{'127.0.0.1', '127.0.0.2'}})\""
                        )?;
                    } else {
                        writeln!(
                            out,
                            "host{i} IN LUA A \"pickwhashed({{{{1, '127.0.0.1'}}, {{2, '127.0.0.2'}}}})\""
                        )?;
                    }
                }
                "A" => writeln!(out, "host{i} IN A 10.{b}.{c}.{d}")?,
                "AAAA" => writeln!(
                    out,
                    "host{i} IN AAAA 2001:db8:1::{:x}:{:x}",
                    i >> 16,
                    i & 0xffff
                )?,
                "MX" => writeln!(out, "host{i} IN MX 10 host{i}.{o}.")?,
                "TXT" => writeln!(out, "host{i} IN TXT \"v=spf1 ip4:10.{b}.{c}.{d} -all\"")?,
                "CNAME" => writeln!(out, "host{i} IN CNAME host{}.{o}.", i - 1)?,
                "SRV" => writeln!(out, "_sip._tcp.host{i} IN SRV 10 5 5060 host{i}.{o}.")?,
                "CAA" => writeln!(out, "host{i} IN CAA 0 issue \"ca.test\"")?,
                "*A" => writeln!(out, "*.host{i} IN A 10.{b}.{c}.{d}")?,
                other => unreachable!("shape type {other}"),
            }
        }
        Ok(())
    }

    /// The query list: `count` queries in the documented mix, shuffled.
    pub fn queries(&self, count: u64) -> Vec<Query> {
        let mut rng = Rng::new(self.seed);
        let mut kinds = Vec::with_capacity(count as usize);
        for (kind, share) in MIX {
            let n = count * share / 100;
            kinds.extend(std::iter::repeat_n(kind, n as usize));
        }
        // Rounding leftovers go to the largest class.
        kinds.resize(count as usize, Kind::Existing);
        rng.shuffle(&mut kinds);
        kinds
            .into_iter()
            .map(|kind| self.query(kind, &mut rng))
            .collect()
    }

    fn query(&self, kind: Kind, rng: &mut Rng) -> Query {
        let o = &self.origin;
        let (name, qtype) = match kind {
            Kind::Existing if self.mixed => {
                let i = rng.below(self.names);
                let shape = Self::shape(i);
                match shape[rng.below(shape.len() as u64) as usize] {
                    "SRV" => (format!("_sip._tcp.host{i}.{o}"), "SRV"),
                    "*A" => (format!("x{:05x}.host{i}.{o}", rng.below(1 << 20)), "A"),
                    // A at a CNAME: the chain to host{i-1}'s A.
                    "CNAME" => (format!("host{i}.{o}"), "A"),
                    ty => (format!("host{i}.{o}"), ty),
                }
            }
            Kind::NoData if self.mixed => {
                // Any host but a CNAME (whose answer would be the CNAME).
                let mut i = rng.below(self.names);
                if Self::shape(i) == ["CNAME"] {
                    i -= 1;
                }
                (format!("host{i}.{o}"), "SSHFP")
            }
            Kind::Existing => {
                let i = rng.below(self.names);
                let qtype = if i.is_multiple_of(2) && rng.coin() {
                    "AAAA"
                } else {
                    "A"
                };
                (format!("host{i}.{o}"), qtype)
            }
            Kind::NxDomain => (format!("nx-{:06x}.{o}", rng.below(1 << 24)), "A"),
            Kind::Wildcard => {
                let qtype = if rng.coin() { "AAAA" } else { "A" };
                (format!("q{:05x}.wild.{o}", rng.below(1 << 20)), qtype)
            }
            Kind::Referral => (format!("www.sub{}.{o}", rng.below(self.delegations)), "A"),
            Kind::NoData => (format!("host{}.{o}", rng.below(self.names)), "TXT"),
        };
        Query {
            kind,
            name: random_case(&name, rng),
            qtype,
        }
    }

    /// Writes `queries` in dnsperf's format.
    pub fn write_queries(queries: &[Query], out: &mut impl Write) -> io::Result<()> {
        for q in queries {
            writeln!(out, "{} {}", q.name, q.qtype)?;
        }
        Ok(())
    }
}

/// The shares of each kind, in percent.
const MIX: [(Kind, u64); 5] = [
    (Kind::Existing, 70),
    (Kind::NxDomain, 10),
    (Kind::Wildcard, 10),
    (Kind::Referral, 5),
    (Kind::NoData, 5),
];

/// What a query is meant to exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A name and type that exist: a positive answer.
    Existing,
    /// A name that does not exist.
    NxDomain,
    /// A name synthesised from `*.wild`.
    Wildcard,
    /// A name below a delegation: a referral with glue.
    Referral,
    /// An existing name, a type it lacks.
    NoData,
}

/// One line of the query file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub kind: Kind,
    /// Absolute name without the trailing dot, letters in random case.
    pub name: String,
    pub qtype: &'static str,
}

fn random_case(name: &str, rng: &mut Rng) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() && rng.coin() {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> ZoneSpec {
        ZoneSpec {
            origin: "bench.test".into(),
            names: 1000,
            delegations: 50,
            seed,
            mixed: false,
            lua_percent: 0,
        }
    }

    fn mixed(seed: u64, names: u64, lua_percent: u64) -> ZoneSpec {
        ZoneSpec {
            names,
            mixed: true,
            lua_percent,
            ..spec(seed)
        }
    }

    fn zone_text(s: &ZoneSpec) -> String {
        let mut zone = Vec::new();
        s.write_zone(&mut zone).unwrap();
        String::from_utf8(zone).unwrap()
    }

    /// Record lines of `zone` whose type (the word after IN) is `ty`.
    fn count_type(zone: &str, ty: &str) -> usize {
        zone.lines()
            .filter(|l| l.split_whitespace().nth(2) == Some(ty) && l.contains(" IN "))
            .count()
    }

    #[test]
    fn mix_has_exact_shares() {
        let queries = spec(1).queries(10_000);
        assert_eq!(queries.len(), 10_000);
        let count = |k| queries.iter().filter(|q| q.kind == k).count();
        assert_eq!(count(Kind::Existing), 7_000);
        assert_eq!(count(Kind::NxDomain), 1_000);
        assert_eq!(count(Kind::Wildcard), 1_000);
        assert_eq!(count(Kind::Referral), 500);
        assert_eq!(count(Kind::NoData), 500);
    }

    #[test]
    fn mix_rounds_into_existing() {
        let queries = spec(1).queries(7);
        assert_eq!(queries.len(), 7);
        assert!(queries.iter().all(|q| q.kind == Kind::Existing));
    }

    #[test]
    fn mix_is_shuffled() {
        // The first tenth already holds every kind.
        let queries = spec(2).queries(10_000);
        for kind in [Kind::NxDomain, Kind::Wildcard, Kind::Referral, Kind::NoData] {
            let n = queries[..1000].iter().filter(|q| q.kind == kind).count();
            assert!((20..200).contains(&n), "{kind:?}: {n}");
        }
    }

    #[test]
    fn same_seed_same_output() {
        let a = spec(42).queries(5_000);
        let b = spec(42).queries(5_000);
        assert_eq!(a, b);
        let c = spec(43).queries(5_000);
        assert_ne!(a, c);
        let (mut za, mut zb) = (Vec::new(), Vec::new());
        spec(42).write_zone(&mut za).unwrap();
        spec(42).write_zone(&mut zb).unwrap();
        assert_eq!(za, zb);
    }

    #[test]
    fn case_is_randomised_but_names_agree() {
        let queries = spec(3).queries(2_000);
        let mixed = queries
            .iter()
            .filter(|q| q.name.chars().any(|c| c.is_ascii_uppercase()))
            .count();
        assert!(mixed > 1_900, "{mixed}");
        for q in &queries {
            assert!(q.name.to_ascii_lowercase().ends_with(".bench.test"));
        }
    }

    #[test]
    fn queries_hit_what_they_mean() {
        let s = spec(4);
        let mut zone = Vec::new();
        s.write_zone(&mut zone).unwrap();
        let zone = String::from_utf8(zone).unwrap();
        let has = |owner: &str, ty: &str| {
            zone.lines()
                .any(|l| l.starts_with(&format!("{owner} IN {ty} ")))
        };
        for q in s.queries(3_000) {
            let lower = q.name.to_ascii_lowercase();
            let rel = lower.strip_suffix(".bench.test").unwrap();
            match q.kind {
                Kind::Existing => assert!(has(rel, q.qtype), "{lower} {}", q.qtype),
                Kind::NoData => assert!(has(rel, "A") && !has(rel, q.qtype)),
                Kind::NxDomain => assert!(!zone.contains(&format!("\n{rel} "))),
                Kind::Wildcard => assert!(rel.ends_with(".wild")),
                Kind::Referral => {
                    let cut = rel.strip_prefix("www.").unwrap();
                    assert!(has(cut, "NS"));
                }
            }
        }
    }

    #[test]
    fn mixed_zone_has_every_type_in_its_share() {
        let z = zone_text(&mixed(6, 1000, 0));
        // 100 hosts of each of the ten shapes, 50 delegations.
        assert_eq!(count_type(&z, "AAAA"), 400 + 1 + 50);
        assert_eq!(count_type(&z, "MX"), 100);
        assert_eq!(count_type(&z, "TXT"), 100);
        assert_eq!(count_type(&z, "CNAME"), 100);
        assert_eq!(count_type(&z, "SRV"), 100);
        assert_eq!(count_type(&z, "CAA"), 100);
        assert_eq!(count_type(&z, "LUA"), 0);
        // 900 hosts, 100 wildcards, ns1/ns2, *.wild, 50 glue.
        assert_eq!(count_type(&z, "A"), 900 + 100 + 2 + 1 + 50);
        assert_eq!(z.lines().filter(|l| l.starts_with("*.host")).count(), 100);
        assert_eq!(count_type(&z, "NS"), 2 + 100);
    }

    #[test]
    fn lua_share_replaces_a_records() {
        let plain = zone_text(&mixed(7, 10_000, 0));
        let lua = zone_text(&mixed(7, 10_000, 10));
        let luas = count_type(&lua, "LUA");
        // 10 % of 9,000 hosts with an A, by a hash: near 900.
        assert!((800..1000).contains(&luas), "{luas}");
        assert_eq!(count_type(&lua, "A") + luas, count_type(&plain, "A"));
        assert_eq!(plain.lines().count(), lua.lines().count());
        for l in lua.lines().filter(|l| l.contains(" LUA ")) {
            assert!(
                l.contains("ifportup(8080, {'127.0.0.1', '127.0.0.2'})")
                    || l.contains("pickwhashed({{1, '127.0.0.1'}, {2, '127.0.0.2'}})"),
                "{l}"
            );
        }
        // Both functions, and other seeds pick other hosts.
        assert!(lua.contains("ifportup") && lua.contains("pickwhashed"));
        let owners = |z: &str| -> Vec<String> {
            z.lines()
                .filter(|l| l.contains(" LUA "))
                .map(|l| l.split(' ').next().unwrap().to_owned())
                .collect()
        };
        assert_ne!(owners(&lua), owners(&zone_text(&mixed(8, 10_000, 10))));
    }

    #[test]
    fn mixed_is_deterministic() {
        let a = mixed(9, 2_000, 10);
        assert_eq!(zone_text(&a), zone_text(&mixed(9, 2_000, 10)));
        assert_eq!(a.queries(3_000), mixed(9, 2_000, 10).queries(3_000));
        assert_ne!(a.queries(3_000), mixed(10, 2_000, 10).queries(3_000));
    }

    #[test]
    fn mixed_queries_hit_what_they_mean() {
        let s = mixed(11, 1_000, 10);
        let zone = zone_text(&s);
        let has = |owner: &str, ty: &str| {
            zone.lines()
                .any(|l| l.starts_with(&format!("{owner} IN {ty} ")))
        };
        let mut types = std::collections::HashSet::new();
        for q in s.queries(5_000) {
            let lower = q.name.to_ascii_lowercase();
            let rel = lower.strip_suffix(".bench.test").unwrap();
            match q.kind {
                Kind::Existing => {
                    types.insert(q.qtype);
                    let wild = rel.split_once('.').map(|(_, up)| format!("*.{up}"));
                    let ok = has(rel, q.qtype)
                        || (q.qtype == "A" && (has(rel, "CNAME") || has(rel, "LUA A")))
                        || wild.is_some_and(|w| has(&w, q.qtype));
                    assert!(ok, "{lower} {}", q.qtype);
                }
                Kind::NoData => {
                    assert!(has(rel, "A") || has(rel, "LUA A"), "{rel}");
                    assert!(!zone.contains(" IN SSHFP "));
                }
                _ => {}
            }
        }
        for ty in ["A", "AAAA", "MX", "TXT", "SRV", "CAA"] {
            assert!(types.contains(ty), "{ty}");
        }
    }

    #[test]
    fn addresses_stay_valid_past_65536_names_and_delegations() {
        for mixed in [false, true] {
            let s = ZoneSpec {
                names: 70_000,
                delegations: 70_000,
                mixed,
                ..spec(13)
            };
            let z = zone_text(&s);
            for l in z
                .lines()
                .filter(|l| l.contains(" IN A") || l.contains(" IN AAAA "))
            {
                let addr = l.rsplit(' ').next().unwrap();
                if l.contains(" IN AAAA ") {
                    assert!(addr.parse::<std::net::Ipv6Addr>().is_ok(), "{l}");
                } else if l.contains(" IN A ") {
                    assert!(addr.parse::<std::net::Ipv4Addr>().is_ok(), "{l}");
                }
            }
            assert!(z.contains("ns2.sub69999 IN AAAA 2001:db8:2::1:116f\n"));
        }
    }

    #[test]
    fn every_query_type_is_one_dnsload_sends() {
        for s in [spec(12), mixed(12, 1_000, 10)] {
            for q in s.queries(2_000) {
                assert!(
                    crate::queryfile::type_code(q.qtype).is_some(),
                    "{}",
                    q.qtype
                );
            }
        }
    }

    #[test]
    fn plain_output_is_unchanged_by_the_variants() {
        // The default zone's first host lines, as before the variants.
        let z = zone_text(&spec(1));
        assert!(z.contains("\nhost0 IN A 10.0.0.0\nhost0 IN AAAA 2001:db8:1::0:0\nhost1 IN A 10.0.0.1\nhost2 IN A 10.0.0.2\n"));
        assert_eq!(count_type(&z, "MX") + count_type(&z, "LUA"), 0);
    }

    #[test]
    fn record_count_matches_file() {
        for s in [
            spec(5),
            ZoneSpec::with_records("big.test", 100_000, 1),
            mixed(5, 1_003, 0),
            mixed(5, 997, 25),
            ZoneSpec::mixed_with_records("big.test", 100_000, 1, 10),
        ] {
            let mut zone = Vec::new();
            s.write_zone(&mut zone).unwrap();
            let records = String::from_utf8(zone)
                .unwrap()
                .lines()
                .filter(|l| l.contains(" IN "))
                .count() as u64;
            assert_eq!(records, s.record_count());
        }
        let big = ZoneSpec::with_records("big.test", 1_000_000, 1);
        assert!((990_000..=1_010_000).contains(&big.record_count()));
        let big = ZoneSpec::mixed_with_records("big.test", 1_000_000, 1, 10);
        assert!((990_000..=1_010_000).contains(&big.record_count()));
    }
}
