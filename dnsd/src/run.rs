//! Serving: open the zone registry, start the LUA health checker, the
//! UDP and TCP transports and the control API, then wait for signals
//! (SIGHUP reloads, SIGTERM and SIGINT stop). The binary's `main` parses
//! the command line, sets up logging and calls [`run`].

/// SIGHUP, SIGTERM and SIGINT.
mod signals;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tracing::{error, info, warn};

use crate::answer::control::ControlHandle;
use crate::answer::cookies::{CookieSecrets, Cookies};
use crate::answer::{AnswerConfig, LuaViews};
use crate::api::{self, ApiKey, ApiState};
use crate::config::{CookieSettings, Settings};
use crate::dnssec::{KeyStore, Signer};
use crate::dynamic::health::{CheckerSettings, HealthChecker};
use crate::dynamic::{LuaCache, cache as lua_cache};
use crate::metrics::Metrics;
use crate::net::{tcp, udp};
use crate::parse::Transport;
use crate::wire::rdata::txt_rdata;
use crate::xfr::Replicator;
use crate::zones::store::Store;
use crate::zones::{Registry, ReplicationStores, ZoneSigning};
use signals::Signals;

/// Serves until SIGTERM or SIGINT. Everything is bound before anything is
/// served, so a bad address or an unreadable store fails the start.
pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    raise_file_limit(&settings);
    // Before any zone loads: LUA records compile under these settings.
    settings.lua.apply();
    // API zones live in the data directory; it is opened when the API is
    // on, or when an earlier run left zones there (they keep being served).
    let store = if settings.api_listen.is_some() || Store::exists_in(&settings.data_dir) {
        Some(Store::open(&settings.data_dir)?)
    } else {
        None
    };
    let signing = ZoneSigning {
        keys: KeyStore::new(&settings.data_dir),
        policy: settings.key_policy,
    };
    let replication = &settings.replication;
    let offers_transfers = !replication.allow_transfer.is_empty()
        || settings.zones.iter().any(|z| !z.allow_transfer.is_empty());
    let keeps_state = store.is_some() || settings.api_listen.is_some();
    // IXFR diffs are kept only when a client may ask for them.
    let records_history = keeps_state
        || offers_transfers
        || !replication.secondaries.is_empty()
        || !replication.catalog_consumers.is_empty();
    let stores = ReplicationStores {
        // A consumed catalog zone is a secondary zone like any other; its
        // members are added by the replicator as the catalog says.
        secondaries: replication
            .secondaries
            .iter()
            .chain(&replication.catalog_consumers)
            .cloned()
            .collect(),
        // Copies of secondary zones and IXFR histories live beside the API
        // zones; a server that neither keeps state nor replicates writes
        // nothing there.
        secondary_dir: (keeps_state
            || !replication.secondaries.is_empty()
            || !replication.catalog_consumers.is_empty())
        .then(|| settings.data_dir.join("secondary")),
        history_dir: records_history.then(|| settings.data_dir.join("ixfr")),
        record_history: records_history,
        history_limits: crate::xfr::history::Limits {
            max_diffs: replication.ixfr_max_diffs,
            ..Default::default()
        },
        edge_key_delay: replication.key_source.as_ref().map(|k| k.propagation_delay),
        catalog_consumers: replication.catalog_consumers.clone(),
        catalog: replication.catalog.clone(),
        // The produced catalog's serial survives restarts only with a
        // data directory in use; without one it restarts from the clock.
        catalog_dir: (keeps_state || offers_transfers).then(|| settings.data_dir.join("catalog")),
    };
    let zones = Arc::new(Registry::open(
        settings.zones.clone(),
        store,
        signing,
        stores,
    )?);
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
    let signer = Arc::new(Signer::with_negative_budget(
        settings.signature_cache_bytes,
        settings.negative_signatures_per_zone,
    ));
    let metrics = Arc::new(Metrics::new(Some(signer.clone())));
    let rrl = settings
        .rrl
        .clone()
        .map(|rrl| Arc::new(crate::net::rrl::Rrl::new(rrl)));
    if let Some(rrl) = &rrl {
        metrics.set_rrl(rrl.clone());
    }
    let replicator = Replicator::new(
        zones.clone(),
        settings.replication.clone(),
        &settings.zones,
        signer.clone(),
    );
    metrics.set_replication(replicator.clone());
    if let Some(source) = &settings.replication.key_source {
        let keysync = crate::xfr::keysync::KeySync::new(
            source,
            KeyStore::new(&settings.data_dir),
            zones.clone(),
        )
        .context("--key-source")?;
        replicator.set_keysync(keysync);
    }

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
            targets: settings.lua_health_targets.clone(),
            ..CheckerSettings::default()
        },
        runtime.handle(),
    )
    .context("starting the LUA health checker")?;
    metrics.set_health(health.clone());
    // resolve() in LUA records asks this resolver from a background task.
    if let Some(resolver) = settings.lua_resolver {
        info!(addr = %resolver.addr, wait_ms = resolver.wait.as_millis() as u64, "LUA resolve() through a resolver");
        crate::dynamic::resolver::install(crate::dynamic::resolver::Resolver::start(
            resolver,
            runtime.handle(),
        ));
    }
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
    let cookies = match &settings.cookies {
        CookieSettings::Off => None,
        CookieSettings::On {
            secret_file,
            require,
        } => {
            let secrets = match secret_file {
                Some(file) => CookieSecrets::read(file)?,
                None => CookieSecrets::random(),
            };
            Some(Arc::new(Cookies::new(
                secrets,
                secret_file.clone(),
                *require,
            )))
        }
    };
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
        control: Some(ControlHandle(replicator.clone())),
        cookies: cookies.clone(),
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
    let api_tls = settings
        .api_tls
        .as_ref()
        .map(api::tls::acceptor)
        .transpose()?;
    let api_listener = match settings.api_listen {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (api)"))?;
            listener.set_nonblocking(true)?;
            info!(%addr, tls = api_tls.is_some(), "api listening");
            Some(listener)
        }
        None => None,
    };

    runtime.block_on(async move {
        // Signal handlers first: a SIGHUP that arrives once queries are
        // answered must reload, not kill the process (its default action).
        let signals = Signals::install()?;
        replicator.start();
        for sockets in udp_sockets {
            udp::spawn_workers(sockets, zones.catalog(), &config, &metrics, rrl.as_ref());
        }
        let limits = tcp::TcpLimits {
            idle_timeout: settings.tcp_idle_timeout,
            max_connections: settings.tcp_max_connections,
            max_per_source: settings.tcp_max_per_source,
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
                replicator.clone(),
            ));
        }
        if let (Some(listener), Some(key)) = (api_listener, &settings.api_key) {
            let listener =
                tokio::net::TcpListener::from_std(listener).context("registering api listener")?;
            let state = ApiState {
                zones: zones.clone(),
                key: ApiKey::new(&key.0),
                metrics: metrics.clone(),
                replicator: replicator.clone(),
            };
            let header_timeout = settings.api_header_timeout;
            tokio::spawn(async move {
                let app = api::router(state).layer(axum::Extension(health));
                api::serve::serve(listener, app, header_timeout, api_tls).await;
            });
        }
        signals.run(&zones, &geo, cookies.as_ref()).await
    })
}

/// Descriptors kept free for everything but client connections: sockets
/// per UDP worker, zone and key files, the store, health checks, logs.
const SPARE_DESCRIPTORS: u64 = 256;

/// Raises the soft limit on open files to the hard one: the default soft
/// limit (often 1024) is below what the connection caps allow, and running
/// out of descriptors refuses DNS over TCP and the API alike. Warns when
/// even the hard limit is below what the configured caps may need.
fn raise_file_limit(settings: &Settings) {
    let needed = (settings.tcp_max_connections * settings.listen.len()
        + crate::api::serve::MAX_CONNECTIONS) as u64
        + (settings.workers * settings.listen.len()) as u64
        + SPARE_DESCRIPTORS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    if limit.rlim_cur < needed {
        warn!(
            limit = limit.rlim_cur,
            needed,
            "the open-file limit is below what --tcp-max-connections and the API may use; \
             raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower the caps"
        );
    }
}
