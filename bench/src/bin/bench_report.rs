//! `bench-report`: turns `peers-full.csv` into the results section of
//! `BENCHMARKS.md`, keeping the hand-written text around it.
//!
//! ```sh
//! bench-report --csv target/bench/peers-full.csv --doc BENCHMARKS.md \
//!     --meta "Command=bench/peers.sh --quick" --meta "CPU=AMD EPYC"
//! ```

use std::path::PathBuf;

use anyhow::Context;
use bench::report;
use clap::Parser;

/// Regenerate the results section of BENCHMARKS.md from benchmark rows.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Rows written by peers.sh.
    #[arg(long)]
    csv: PathBuf,
    /// The markdown file whose results section is replaced.
    #[arg(long)]
    doc: PathBuf,
    /// `Key=Value` lines shown above the tables (command, date, CPU, ...).
    #[arg(long)]
    meta: Vec<String>,
    /// Free text appended after the tables (e.g. notes from the run).
    #[arg(long)]
    notes: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let csv = std::fs::read_to_string(&args.csv)
        .with_context(|| format!("read {}", args.csv.display()))?;
    let rows = report::parse_csv(&csv);
    let meta: Vec<(String, String)> = args
        .meta
        .iter()
        .map(|m| match m.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (m.clone(), String::new()),
        })
        .collect();
    let mut section = report::render(&report::summarise(&rows), &meta);
    if let Some(notes) = &args.notes {
        let text =
            std::fs::read_to_string(notes).with_context(|| format!("read {}", notes.display()))?;
        section.push('\n');
        section.push_str(&text);
    }
    let doc = std::fs::read_to_string(&args.doc).unwrap_or_default();
    std::fs::write(&args.doc, report::splice(&doc, &section))
        .with_context(|| format!("write {}", args.doc.display()))?;
    eprintln!(
        "bench-report: {} rows -> {}",
        rows.len(),
        args.doc.display()
    );
    Ok(())
}
