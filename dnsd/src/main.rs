//! The `dnsd` binary: parse the command line and set up logging, then
//! [`dnsd::run`] (serve) or one of [`dnsd::commands`] (`check-zone`, `ds`).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use dnsd::config::{Cli, Command, LogFormat, ServeArgs, Settings};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::CheckZone { origin, file }) => {
            init_check_logging();
            dnsd::commands::check_zone(&origin, file)
        }
        Some(Command::Ds { origin, data_dir }) => dnsd::commands::print_ds(&origin, data_dir),
        None => serve(cli.serve),
    };
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            logsink::print_stderr(format_args!("dnsd: {err:#}"));
            ExitCode::FAILURE
        }
    };
    // The last log lines are written before the writer thread goes.
    logsink::flush(Duration::from_secs(2));
    code
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_args(args)?;
    if tracing_subscriber::EnvFilter::try_new(&settings.log_level).is_err() {
        anyhow::bail!("invalid --log-level {:?}", settings.log_level);
    }
    init_logging(&settings);
    dnsd::run(settings)
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A closed or stalled stderr must never stop dnsd (see logsink); the
    // log writer thread is this process's only writer to stderr.
    let sink = match logsink::LogSink::spawn(logsink::Stream::Stderr, logsink::DEFAULT_QUEUE) {
        Ok(sink) => sink,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "dnsd: cannot start the log writer: {e}");
            return;
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(sink);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

/// `check-zone`: warnings (e.g. a TTL treated as 0) go to stderr beside
/// the errors, without times or colours.
fn init_check_logging() {
    let Ok(sink) = logsink::LogSink::spawn(logsink::Stream::Stderr, logsink::DEFAULT_QUEUE) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(sink)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .init();
}
