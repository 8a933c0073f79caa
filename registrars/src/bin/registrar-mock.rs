//! `registrar-mock`: serves one provider's mock on a loopback address.
//!
//! ```text
//! registrar-mock --provider cloudflare --listen 127.0.0.1:8443 --seed seed.json
//! ```
//!
//! Prints the base URL to give adapters (`--base-url` of registrar-cli) on
//! stdout, then serves until interrupted. The seed format is in
//! registrars/README.md.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use registrars::Provider;
use registrars::mock::{MockServer, Seed};

#[derive(Parser, Debug)]
#[command(
    name = "registrar-mock",
    about = "Stateful mock of a registrar API, on loopback only",
    after_help = "Control routes: GET /_mock/state, POST|DELETE /_mock/faults, PUT /_mock/rate-limit."
)]
struct Args {
    /// cloudflare, namecheap, godaddy, ovh or dynadot.
    #[arg(long)]
    provider: Provider,
    /// Loopback address and port to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed file (JSON): accounts, credentials, domains. Empty world if absent.
    #[arg(long)]
    seed: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => {
            Seed::from_file(path).with_context(|| format!("reading seed {}", path.display()))?
        }
        None => Seed::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args.provider, args.listen, seed))
}

async fn run(provider: Provider, listen: SocketAddr, seed: Seed) -> anyhow::Result<()> {
    let server = MockServer::start_on(provider, seed, listen)
        .await
        .with_context(|| format!("starting the {provider} mock on {listen}"))?;
    println!("{}", server.base_url());
    tracing::info!(%provider, addr = %server.addr(), "mock serving");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(())
}
