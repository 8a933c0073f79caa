//! The `dnsd` binary: parse the command line, then serve or check a zone.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tracing::{error, info};

use dnsd::answer::{AnswerConfig, LuaViews};
use dnsd::api::{self, ApiKey, ApiState, store::Store};
use dnsd::config::{Cli, Command, LogFormat, Settings, ZoneSource, origin_from_arg};
use dnsd::dnssec::{DigestType, KeyStore, Signer, ZoneKeys};
use dnsd::dynamic::health::{CheckerSettings, HealthChecker};
use dnsd::dynamic::{LuaCache, cache as lua_cache};
use dnsd::metrics::Metrics;
use dnsd::net::{tcp, udp};
use dnsd::parse::Transport;
use dnsd::server::{ZoneSigning, Zones, load_zone};
use dnsd::wire::rdata::txt_rdata;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::CheckZone { origin, file }) => check_zone(&origin, file),
        Some(Command::Ds { origin, data_dir }) => print_ds(&origin, data_dir),
        None => serve(cli.serve),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dnsd: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dnsd check-zone ORIGIN FILE`.
fn check_zone(origin: &str, file: std::path::PathBuf) -> anyhow::Result<ExitCode> {
    // Warnings (e.g. a TTL treated as 0) go to stderr beside the errors.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .init();
    let origin = origin_from_arg(origin).map_err(anyhow::Error::msg)?;
    let source = ZoneSource {
        origin,
        file,
        dnssec: false,
    };
    match load_zone(&source) {
        Ok(zone) => {
            println!(
                "{}: zone {} OK: serial {}, {} records",
                source.file.display(),
                source.origin,
                zone.serial,
                zone.record_count
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `dnsd ds ORIGIN`: the DS lines (digest type 2) of a signed zone's
/// key-signing keys. Reads the keys; never creates any.
fn print_ds(origin: &str, data_dir: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    let origin = origin_from_arg(origin).map_err(anyhow::Error::msg)?;
    let store = KeyStore::new(data_dir.unwrap_or_else(|| "data".into()));
    let keys = store.load(&origin)?;
    if keys.is_empty() {
        anyhow::bail!(
            "zone {origin} has no keys in {} (start dnsd with --dnssec {origin} to create them)",
            store.zone_dir(&origin).display()
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let keys = ZoneKeys::new(
        &origin,
        keys.iter()
            .map(|stored| (stored.key.clone(), stored.timing.state_at(now)))
            .collect(),
    );
    for line in keys.ds_lines(DigestType::Sha256) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

fn serve(args: dnsd::config::ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_args(args)?;
    if tracing_subscriber::EnvFilter::try_new(&settings.log_level).is_err() {
        anyhow::bail!("invalid --log-level {:?}", settings.log_level);
    }
    init_logging(&settings);

    // API zones live in the data directory; it is opened when the API is
    // on, or when an earlier run left zones there (they keep being served).
    let store_file = settings.data_dir.join("zones.redb");
    let store = if settings.api_listen.is_some() || store_file.exists() {
        Some(Store::open(&settings.data_dir)?)
    } else {
        None
    };
    let signing = ZoneSigning {
        keys: KeyStore::new(&settings.data_dir),
        policy: settings.key_policy,
    };
    let zones = Arc::new(Zones::open(settings.zones.clone(), store, signing)?);
    let geo = Arc::new(geo::SharedGeo::open(settings.geoip.iter().cloned()).context("GeoIP")?);
    for path in geo.paths() {
        info!(path = %path.display(), "GeoIP database loaded");
    }
    // A database replaced on disk (by rename) is picked up within seconds,
    // without SIGHUP; queries keep the old one until the swap.
    let _geo_watcher = (!geo.paths().is_empty())
        .then(|| {
            geo.spawn_watcher(std::time::Duration::from_secs(5), |result| match result {
                Ok(true) => info!("GeoIP database changed on disk; reloaded"),
                Ok(false) => {}
                Err(err) => {
                    error!(%err, "GeoIP reload failed; still serving the previous database")
                }
            })
        })
        .transpose()
        .context("starting the GeoIP file watcher")?;
    let signer = Arc::new(Signer::new(settings.signature_cache_bytes));
    let metrics = Arc::new(Metrics::new(Some(signer.clone())));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.workers.clamp(1, 4))
        .thread_name("tcp")
        .enable_all()
        .build()
        .context("starting the tcp runtime")?;
    // The LUA health checker runs whether or not the API does: LUA
    // records in zone files need it.
    let health = HealthChecker::start(
        CheckerSettings {
            interval: settings.lua_health_interval,
            expire_delay: settings.lua_health_expire,
            ..CheckerSettings::default()
        },
        runtime.handle(),
    )
    .context("starting the LUA health checker")?;
    metrics.set_health(health.clone());
    // Entries live shorter than the expire delay, so every check still in
    // use is asked about (and kept) by a re-evaluation (lua_cache.rs).
    let lua_cache = (settings.lua_cache_entries > 0).then(|| {
        Arc::new(LuaCache::new(
            settings.lua_cache_entries,
            lua_cache::max_age_for(settings.lua_health_expire),
        ))
    });
    if let Some(cache) = &lua_cache {
        metrics.set_lua_cache(cache.clone());
    }
    let config = AnswerConfig {
        edns_payload: settings.edns_payload,
        any_udp: settings.any_udp,
        chaos_version: settings.chaos_version.as_deref().map(txt_rdata),
        chaos_id: settings.chaos_id.as_deref().map(txt_rdata),
        nsid: settings.nsid.as_ref().map(|s| s.as_bytes().into()),
        signer,
        edns_client_subnet: settings.edns_client_subnet,
        lua: LuaViews {
            health: health.clone(),
            geo: geo.clone(),
            cache: lua_cache,
        },
        answer_templates: settings.answer_templates,
    };

    // Bind everything before serving anything, so a bad address fails the start.
    let mut udp_sockets = Vec::new();
    let mut tcp_listeners = Vec::new();
    for &addr in &settings.listen {
        let (sockets, bound) = udp::bind(addr, settings.workers)?;
        tcp_listeners.push(tcp::bind(bound)?);
        udp_sockets.push(sockets);
        info!(%bound, workers = settings.workers, "listening on udp and tcp");
    }
    let api_listener = match settings.api_listen {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (api)"))?;
            listener.set_nonblocking(true)?;
            info!(%addr, "api listening");
            Some(listener)
        }
        None => None,
    };

    runtime.block_on(async move {
        // Signal handlers first: a SIGHUP that arrives once queries are
        // answered must reload, not kill the process (its default action).
        let signals = Signals::install()?;
        for sockets in udp_sockets {
            udp::spawn_workers(sockets, zones.catalog(), &config, &metrics);
        }
        let limits = tcp::TcpLimits {
            idle_timeout: settings.tcp_idle_timeout,
            max_connections: settings.tcp_max_connections,
        };
        let tcp_stats = metrics.worker(Transport::Tcp);
        for listener in tcp_listeners {
            let listener =
                tokio::net::TcpListener::from_std(listener).context("registering tcp listener")?;
            tokio::spawn(tcp::serve(
                listener,
                zones.catalog().clone(),
                config.clone(),
                limits,
                tcp_stats.clone(),
            ));
        }
        if let (Some(listener), Some(key)) = (api_listener, &settings.api_key) {
            let listener =
                tokio::net::TcpListener::from_std(listener).context("registering api listener")?;
            let state = ApiState {
                zones: zones.clone(),
                key: ApiKey::new(&key.0),
                metrics: metrics.clone(),
            };
            tokio::spawn(async move {
                let app = api::router(state).layer(axum::Extension(health));
                if let Err(err) = axum::serve(listener, app).await {
                    error!(%err, "api server stopped");
                }
            });
        }
        signals.run(&zones, &geo).await
    })
}

/// SIGHUP reloads the zones; SIGTERM and SIGINT stop the server.
struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hangup: signal(SignalKind::hangup()).context("installing SIGHUP handler")?,
            terminate: signal(SignalKind::terminate()).context("installing SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).context("installing SIGINT handler")?,
        })
    }

    async fn run(
        mut self,
        zones: &Arc<Zones>,
        geo: &Arc<geo::SharedGeo>,
    ) -> anyhow::Result<ExitCode> {
        loop {
            tokio::select! {
                _ = self.hangup.recv() => {
                    info!("SIGHUP: reloading zones and GeoIP databases");
                    let zones = zones.clone();
                    let geo = geo.clone();
                    // Loading is blocking work; keep it off the TCP runtime's workers.
                    let reload = tokio::task::spawn_blocking(move || {
                        zones.reload_files();
                        // On error the previous databases keep serving.
                        if let Err(err) = geo.reload() {
                            error!(%err, "GeoIP reload failed; keeping the previous databases");
                        }
                    });
                    if let Err(err) = reload.await {
                        error!(%err, "reload task failed");
                    }
                }
                _ = self.terminate.recv() => break,
                _ = self.interrupt.recv() => break,
            }
        }
        info!("stopping");
        Ok(ExitCode::SUCCESS)
    }
}
