//! The `poolmgr` binary: configuration and logging, then
//! [`poolmgr::server::run`].

use std::io::{Read, Write as _};
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
    if let Some(Command::HashToken { scope, name }) = cli.command {
        let mut token = String::new();
        if std::io::stdin().read_to_string(&mut token).is_err() {
            logsink::print_stderr(format_args!(
                "poolmgr: could not read the token from standard input"
            ));
            return ExitCode::from(2);
        }
        return match poolmgr::api::auth::hash_entry(&scope, &token, name.as_deref()) {
            Ok(line) => match logsink::print_stdout(format_args!("{line}")) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    logsink::print_stderr(format_args!("poolmgr: {e}"));
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                logsink::print_stderr(format_args!("poolmgr: {e}"));
                ExitCode::from(2)
            }
        };
    }
    let Some(settings) = cli.serve else {
        logsink::print_stderr(format_args!("poolmgr: nothing to do (see --help)"));
        return ExitCode::from(2);
    };
    // Settings that contradict each other are refused like bad flags.
    if let Err(e) = settings.fleet() {
        logsink::print_stderr(format_args!("poolmgr: {e}"));
        return ExitCode::from(2);
    }
    init_logging(&settings.log_level, &settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            logsink::print_stderr(format_args!("poolmgr: cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(poolmgr::server::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "poolmgr stopped");
            logsink::print_stderr(format_args!("poolmgr: {e:#}"));
            ExitCode::FAILURE
        }
    };
    // The last log lines are written before the writer thread goes.
    logsink::flush(std::time::Duration::from_secs(2));
    code
}

fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A closed or stalled stdout must never fail a request (see logsink).
    let sink = match logsink::LogSink::spawn(logsink::Stream::Stdout, logsink::DEFAULT_QUEUE) {
        Ok(sink) => sink,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "poolmgr: cannot start the log writer: {e}"
            );
            return;
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink);
    if format == "text" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}
