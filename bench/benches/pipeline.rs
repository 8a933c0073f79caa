//! criterion micro-benchmarks of dnsd's query pipeline, without sockets:
//! wire parsing, zone lookup, answer assembly, and the whole
//! `Responder::answer` (with and without reply templates), and the
//! response-rate limiter's check of each reply, over the same
//! generated zone and query mix that `peers.sh` uses (plus one group per
//! query kind).
//!
//! ```sh
//! cargo bench -p bench                      # all
//! cargo bench -p bench -- answer/           # one group
//! ```

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use bench::generate::{Kind, ZoneSpec};
use bench::queryfile::{QueryOptions, build_query, type_code};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dnsd::answer::{AnswerConfig, Responder};
use dnsd::assemble::{Assembler, ReplyHead};
use dnsd::dnssec::ReplySignatures;
use dnsd::dynamic::LuaQuery;
use dnsd::lookup::{AnyUdp, resolve};
use dnsd::net::rrl::{Rrl, RrlSettings};
use dnsd::outcome::Outcome;
use dnsd::parse::Transport;
use dnsd::parse::{Parsed, parse_request};
use dnsd::wire::{Name, RType};
use dnsd::zone::{Catalog, build_zone, load::parse_str};

/// Queries per measured iteration: one pass over a slice of the mix.
const BATCH: usize = 1_000;

fn spec() -> ZoneSpec {
    ZoneSpec {
        origin: "bench.test".into(),
        names: 1000,
        delegations: 50,
        seed: 1,
        mixed: false,
        lua_percent: 0,
    }
}

fn catalog(spec: &ZoneSpec) -> Catalog {
    let mut text = Vec::new();
    spec.write_zone(&mut text).expect("write to a Vec");
    let text = String::from_utf8(text).expect("generated zone is ASCII");
    let origin = Name::from_text(&format!("{}.", spec.origin), None).expect("valid origin");
    let records = parse_str(&origin, &text, Path::new("bench.zone")).expect("zone parses");
    let zone = build_zone(&origin, records).expect("zone builds");
    let mut catalog = Catalog::new();
    catalog.insert(Arc::new(zone));
    catalog
}

/// Wire queries (as dnsperf sends them: RD set, no EDNS) for `kind`, or the
/// whole mix when `None`.
fn packets(spec: &ZoneSpec, kind: Option<Kind>) -> Vec<Vec<u8>> {
    let options = QueryOptions {
        recursion_desired: true,
        ..QueryOptions::default()
    };
    spec.queries(20 * BATCH as u64)
        .into_iter()
        .filter(|q| kind.is_none_or(|k| q.kind == k))
        .take(BATCH)
        .map(|q| {
            let code = type_code(q.qtype).expect("generator types are known");
            build_query(&q.name, code, options).expect("generator names are valid")
        })
        .collect()
}

/// Lowercased wire QNAME and QTYPE of each packet, as lookup wants them.
fn questions(packets: &[Vec<u8>]) -> Vec<(Vec<u8>, RType)> {
    packets
        .iter()
        .map(|p| match parse_request(p) {
            Parsed::Request(r) => {
                let q = r.question.expect("one question");
                (q.lower_name().to_vec(), q.qtype)
            }
            _ => panic!("generated query must parse"),
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let spec = spec();
    let catalog = catalog(&spec);
    let mix = packets(&spec, None);
    let mix_questions = questions(&mix);

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(mix.len() as u64));
    g.bench_function("parse_request/mix", |b| {
        b.iter(|| {
            for p in &mix {
                black_box(parse_request(black_box(p)));
            }
        })
    });
    g.finish();

    let peer: std::net::IpAddr = std::net::Ipv4Addr::LOCALHOST.into();
    let lua = LuaQuery::plain(peer);
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(mix.len() as u64));
    g.bench_function("resolve/mix", |b| {
        b.iter(|| {
            for (qname, qtype) in &mix_questions {
                let mut out = Outcome::default();
                resolve(
                    &catalog,
                    black_box(qname),
                    *qtype,
                    AnyUdp::Minimal,
                    false,
                    &lua,
                    &mut out,
                );
                black_box(&out);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("assemble");
    g.throughput(Throughput::Elements(mix.len() as u64));
    let outcomes: Vec<Outcome<'_>> = mix_questions
        .iter()
        .map(|(qname, qtype)| {
            let mut out = Outcome::default();
            resolve(
                &catalog,
                qname,
                *qtype,
                AnyUdp::Minimal,
                false,
                &lua,
                &mut out,
            );
            out
        })
        .collect();
    let mut assembler = Assembler::default();
    // Unsigned replies: no signatures to write.
    let signatures = ReplySignatures::default();
    let mut buf = Vec::with_capacity(4096);
    g.bench_function("write/mix", |b| {
        b.iter(|| {
            for ((p, (qname, _)), outcome) in mix.iter().zip(&mix_questions).zip(&outcomes) {
                let question_end = 12 + qname.len() + 4;
                let head = ReplyHead {
                    id: u16::from_be_bytes([p[0], p[1]]),
                    query_flags: dnsd::wire::Flags::from_header(p),
                    question: &p[12..question_end],
                    edns: None,
                    limit: 512,
                    over_tcp: false,
                };
                assembler.write(&head, black_box(outcome), &signatures, qname, &mut buf);
                black_box(&buf);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("answer");
    let mut responder = Responder::new(AnswerConfig::default());
    let cases = [
        ("mix", None),
        ("existing", Some(Kind::Existing)),
        ("nxdomain", Some(Kind::NxDomain)),
        ("wildcard", Some(Kind::Wildcard)),
        ("referral", Some(Kind::Referral)),
        ("nodata", Some(Kind::NoData)),
    ];
    for (label, kind) in cases {
        let set = if kind.is_none() {
            mix.clone()
        } else {
            packets(&spec, kind)
        };
        g.throughput(Throughput::Elements(set.len() as u64));
        g.bench_function(format!("udp/{label}"), |b| {
            b.iter(|| {
                for p in &set {
                    let answered =
                        responder.answer(black_box(p), &catalog, Transport::Udp, peer, &mut buf);
                    black_box(answered);
                }
            })
        });
    }
    // As a UDP worker answers: with reply templates, after the slice has
    // been seen twice (every repeated question replayed).
    let mut replaying = Responder::new(AnswerConfig::default()).with_templates();
    g.throughput(Throughput::Elements(mix.len() as u64));
    g.bench_function("udp-templates/mix", |b| {
        b.iter(|| {
            for p in &mix {
                replaying.prefetch(black_box(p));
                let answered =
                    replaying.answer(black_box(p), &catalog, Transport::Udp, peer, &mut buf);
                black_box(answered);
            }
        })
    });
    // Response-rate limiting's cost per reply (hardening issue, item 3:
    // at most 0.1 µs): classifying the replies of the mix and counting
    // them, with a rate no query here reaches (the common case).
    let replies: Vec<Vec<u8>> = mix
        .iter()
        .map(|p| {
            let mut out = Vec::new();
            replaying.answer(p, &catalog, Transport::Udp, peer, &mut out);
            out
        })
        .collect();
    let rrl = Rrl::new(RrlSettings::with_rate(u32::MAX));
    let second = rrl.second(std::time::Instant::now());
    g.throughput(Throughput::Elements(replies.len() as u64));
    g.bench_function("rrl/mix", |b| {
        b.iter(|| {
            for (i, reply) in replies.iter().enumerate() {
                // A different client network for each reply, as a busy
                // server sees: every check touches its own bucket.
                let client =
                    std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + ((i as u32) << 8)));
                black_box(rrl.check(client, black_box(reply), second));
            }
        })
    });
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
