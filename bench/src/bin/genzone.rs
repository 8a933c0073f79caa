//! `genzone`: writes the benchmark zone file and its dnsperf-format query
//! file, both fixed by `--seed`.
//!
//! ```sh
//! genzone --zone bench.zone --queries bench.queries            # ~1,700 records
//! genzone --records 1000000 --zone big.zone --queries big.queries
//! genzone --records 1000000 --mixed --lua-percent 10 --zone lua.zone --queries lua.queries
//! ```

use std::fs::File;
use std::io::BufWriter;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use bench::generate::ZoneSpec;
use clap::Parser;

/// Write a benchmark zone and query file.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Zone origin.
    #[arg(long, default_value = "bench.test")]
    origin: String,
    /// Host names in the zone (ignored with --records).
    #[arg(long, default_value_t = 1000)]
    names: u64,
    /// Delegated children with glue (ignored with --records).
    #[arg(long, default_value_t = 50)]
    delegations: u64,
    /// Size the zone by total record count instead (e.g. 1000000).
    #[arg(long)]
    records: Option<u64>,
    /// Number of queries to write.
    #[arg(long = "count", default_value_t = 100_000)]
    count: u64,
    /// Seed for the query mix and letter case (and which hosts are LUA).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Mixed record types: hosts in ten shapes (A+AAAA, MX, TXT, CNAME,
    /// SRV, CAA, wildcard `*.hostN`) instead of A and every other AAAA.
    #[arg(long)]
    mixed: bool,
    /// Percent of the A hosts written as LUA A records (implies --mixed).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    lua_percent: u64,
    /// Zone file to write.
    #[arg(long)]
    zone: PathBuf,
    /// Query file to write.
    #[arg(long)]
    queries: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mixed = args.mixed || args.lua_percent > 0;
    let spec = match args.records {
        Some(records) if mixed => {
            ZoneSpec::mixed_with_records(&args.origin, records, args.seed, args.lua_percent)
        }
        Some(records) => ZoneSpec::with_records(&args.origin, records, args.seed),
        None => ZoneSpec {
            origin: args.origin.trim_end_matches('.').to_owned(),
            names: args.names.max(1),
            delegations: args.delegations.max(1),
            seed: args.seed,
            mixed,
            lua_percent: args.lua_percent,
        },
    };
    let mut zone = BufWriter::new(
        File::create(&args.zone).with_context(|| format!("create {}", args.zone.display()))?,
    );
    spec.write_zone(&mut zone)?;
    zone.flush()?;
    let queries = spec.queries(args.count);
    let mut out = BufWriter::new(
        File::create(&args.queries)
            .with_context(|| format!("create {}", args.queries.display()))?,
    );
    ZoneSpec::write_queries(&queries, &mut out)?;
    out.flush()?;
    eprintln!(
        "genzone: {} records ({} hosts, {} delegations) in {}, {} queries in {}",
        spec.record_count(),
        spec.names,
        spec.delegations,
        args.zone.display(),
        queries.len(),
        args.queries.display()
    );
    Ok(())
}
