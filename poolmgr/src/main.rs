//! The `poolmgr` binary: configuration and logging, then
//! [`poolmgr::server::run`].

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use poolmgr::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // PDM exits 2 when required settings are missing.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    if let Some(Command::HashToken { scope }) = cli.command {
        let mut token = String::new();
        if std::io::stdin().read_to_string(&mut token).is_err() {
            eprintln!("poolmgr: could not read the token from standard input");
            return ExitCode::from(2);
        }
        return match poolmgr::api::auth::hash_entry(&scope, &token) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("poolmgr: {e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(settings) = cli.serve else {
        eprintln!("poolmgr: nothing to do (see --help)");
        return ExitCode::from(2);
    };
    init_logging(&settings.log_level, &settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("poolmgr: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(poolmgr::server::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "poolmgr stopped");
            eprintln!("poolmgr: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if format == "text" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}
