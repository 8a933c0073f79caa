//! `registrar-cli`: read and set a domain's name servers and DS at a
//! registrar, for operators.
//!
//! Thin binary: flags are parsed by clap, credentials come from environment
//! variables (listed in `--help`), `run` does one operation through the
//! `Registrar` trait, and `main` turns the outcome into an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use registrars::credentials::ENV_HELP;
use registrars::{
    Change, Credentials, DomainName, DsMaterial, HostName, Provider, Registrar, RegistrarError,
    TaskStatus,
};

const EXIT_HELP: &str = "\
Exit codes: 0 success; 1 other error; 2 usage or missing credentials; 3 invalid credentials or not permitted;
  4 domain not in account; 5 rate limited or provider unavailable (retry later);
  6 unsupported by this provider (the message says what to do instead);
  7 rejected by the provider (invalid value, conflict, failed task).";

#[derive(Parser, Debug)]
#[command(
    name = "registrar-cli",
    about = "Read and set a domain's name servers and DS at a registrar",
    after_help = format!("{ENV_HELP}\n\n{EXIT_HELP}")
)]
struct Cli {
    /// cloudflare, namecheap, godaddy, ovh or dynadot.
    #[arg(long, short = 'p', env = "REGISTRAR_PROVIDER")]
    provider: Provider,
    /// API root; defaults to the provider's production URL (tests: a mock).
    #[arg(long, env = "REGISTRAR_BASE_URL")]
    base_url: Option<String>,
    /// For asynchronous providers: poll the task until it finishes.
    #[arg(long)]
    wait: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check that the credentials work.
    Validate,
    /// Print the domain's name servers, one per line.
    GetNs {
        /// The registered domain.
        domain: DomainName,
    },
    /// Replace the domain's name servers (no change if already so).
    SetNs {
        /// The registered domain.
        domain: DomainName,
        /// Name servers (at least two).
        #[arg(required = true)]
        nameservers: Vec<HostName>,
    },
    /// Print the DS/DNSKEY material published at the registry.
    GetDs {
        /// The registered domain.
        domain: DomainName,
    },
    /// Replace the DS set at the registry.
    SetDs {
        /// The registered domain.
        domain: DomainName,
        /// A DS as "KEYTAG ALG DIGESTTYPE HEX" or a DNSKEY as "FLAGS 3 ALG BASE64"; repeatable.
        #[arg(long = "record", value_parser = parse_material)]
        records: Vec<DsMaterial>,
        /// Remove all DS (required instead of --record to withdraw DNSSEC).
        #[arg(long, conflicts_with = "records")]
        clear: bool,
    },
    /// Print what the provider supports.
    Capabilities,
}

fn parse_material(s: &str) -> Result<DsMaterial, String> {
    DsMaterial::parse(s).map_err(|e| e.to_string())
}

fn exit_code(err: &RegistrarError) -> u8 {
    match err {
        RegistrarError::InvalidCredentials { .. }
        | RegistrarError::NotPermitted { .. }
        | RegistrarError::ClientIpNotWhitelisted { .. } => 3,
        RegistrarError::DomainNotInAccount { .. } => 4,
        RegistrarError::RateLimited { .. }
        | RegistrarError::Unavailable { .. }
        | RegistrarError::ClockSkew { .. } => 5,
        RegistrarError::Unsupported { .. } => 6,
        _ => 7,
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Missing or malformed credentials are a usage problem, not the
    // provider's: say which variables are needed.
    let credentials = match &cli.command {
        Command::Capabilities => None,
        _ => match Credentials::from_env(cli.provider) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: {e}\n\n{ENV_HELP}");
                return ExitCode::from(2);
            }
        },
    };
    match runtime.block_on(run(cli, credentials)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit_code(&err))
        }
    }
}

async fn run(cli: Cli, credentials: Option<Credentials>) -> Result<(), RegistrarError> {
    let Some(credentials) = credentials else {
        let caps = registrars::providers::capabilities(cli.provider);
        for cap in caps.iter() {
            println!("{cap}");
        }
        println!("ds-input: {:?}", caps.ds_input);
        println!(
            "nameservers: {}..={}",
            caps.min_nameservers, caps.max_nameservers
        );
        return Ok(());
    };
    let registrar = registrars::connect(cli.provider, cli.base_url.as_deref(), credentials)?;
    match cli.command {
        Command::Capabilities => unreachable!("handled above"),
        Command::Validate => {
            registrar.validate_credentials().await?;
            println!("credentials valid for {}", cli.provider);
        }
        Command::GetNs { domain } => {
            for ns in registrar.get_nameservers(&domain).await? {
                println!("{ns}");
            }
        }
        Command::SetNs {
            domain,
            nameservers,
        } => {
            let change = registrar.set_nameservers(&domain, &nameservers).await?;
            report(registrar.as_ref(), change, cli.wait).await?;
        }
        Command::GetDs { domain } => {
            for m in registrar.get_ds(&domain).await? {
                println!("{m}");
            }
        }
        Command::SetDs {
            domain,
            records,
            clear,
        } => {
            if records.is_empty() && !clear {
                return Err(RegistrarError::Invalid {
                    field: "record".into(),
                    message: "give at least one --record, or --clear to remove all DS".into(),
                });
            }
            let change = registrar.set_ds(&domain, &records).await?;
            report(registrar.as_ref(), change, cli.wait).await?;
        }
    }
    Ok(())
}

async fn report(
    registrar: &dyn Registrar,
    change: Change,
    wait: bool,
) -> Result<(), RegistrarError> {
    match change {
        Change::Unchanged => println!("unchanged (already set)"),
        Change::Applied => println!("applied"),
        Change::Pending(task) if !wait => {
            println!("pending: task {task} (re-run with --wait to follow it)")
        }
        Change::Pending(task) => {
            // Bounded: 60 polls, 5 s apart, is five minutes.
            for _ in 0..60 {
                match registrar.task_status(&task).await? {
                    TaskStatus::Done => {
                        println!("applied (task {task} done)");
                        return Ok(());
                    }
                    TaskStatus::Failed { message } => {
                        return Err(RegistrarError::OperationFailed {
                            task: task.to_string(),
                            message,
                        });
                    }
                    TaskStatus::Pending => tokio::time::sleep(Duration::from_secs(5)).await,
                }
            }
            println!("still pending after 5 minutes: task {task}");
        }
    }
    Ok(())
}
