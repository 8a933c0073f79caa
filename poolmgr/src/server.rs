//! Start-up and the background tasks, in PDM's order: database and
//! schema, pool zones, workers, then HTTP.

use std::time::Duration;

use anyhow::Context;

use crate::api::auth::Auth;
use crate::api::{AppState, router};
use crate::config::Settings;
use crate::dns::{PdnsClient, PdnsConfig};
use crate::store::Store;

/// How long start-up may spend creating the pool zones (PDM's value).
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);
/// catalyst-api's HTTP timeout towards poolmgr (pdm-api.md §7): a commit
/// must answer well within it.
const CALLER_HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the pool zones' DS shown in `/healthz` is refreshed.
const POOL_DS_REFRESH: Duration = Duration::from_secs(300);

/// Runs poolmgr until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let auth = if settings.auth_disabled {
        tracing::warn!(
            "authentication is switched off (POOLMGR_AUTH_DISABLED): every route is open"
        );
        Auth::disabled()
    } else {
        Auth::from_settings(
            settings.auth_tokens.as_deref(),
            settings.auth_tokens_file.as_deref(),
        )?
    };
    let store = tokio::time::timeout(
        Duration::from_secs(30),
        Store::connect(&settings.database_url),
    )
    .await
    .context("database: no connection within 30 s")?
    .context("database")?;
    let dns = PdnsClient::new(PdnsConfig {
        base_url: settings.pdns_base_url.clone(),
        api_key: settings.pdns_api_key.clone(),
        server_id: settings.pdns_server_id.clone(),
        ca_file: settings.pdns_ca_file.clone(),
    })?;
    let listen = settings.listen_addr();
    let sweep_every = settings.sweeper_interval;
    let fleet = settings.fleet()?;
    if let Some(fleet) = &fleet {
        tracing::info!(
            nameservers = ?fleet.nameservers,
            commit_wait = fleet.commit_wait,
            commit_wait_timeout = ?fleet.commit_wait_timeout,
            "watching the fleet's name servers"
        );
        if fleet.commit_wait > 0
            && fleet.commit_wait_timeout + settings.inline_dns_timeout > CALLER_HTTP_TIMEOUT
        {
            tracing::warn!(
                "POOLMGR_INLINE_DNS_TIMEOUT plus POOLMGR_COMMIT_WAIT_TIMEOUT exceeds catalyst-api's \
                 {CALLER_HTTP_TIMEOUT:?} HTTP timeout: a slow commit may time out at the caller before its 202"
            );
        }
    }
    let state = AppState::new(store, dns, settings, auth).with_fleet(fleet);

    tokio::time::timeout(BOOTSTRAP_TIMEOUT, bootstrap(&state))
        .await
        .context("bootstrap of the pool zones: no success within 60 s")??;

    tokio::spawn(state.applier.clone().run_worker());
    tokio::spawn(state.applier.clone().run_sweeper(sweep_every));
    tokio::spawn(refresh_pool_ds(state.clone()));
    tokio::spawn(crate::byo::run_poller(state.byo_deps()));

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%listen, pools = ?state.pools, "poolmgr serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("HTTP server")?;
    Ok(())
}

/// Each pool zone exists with its name servers and DNSSEC on. Retries
/// until it works (the DNS server may start after us); the caller bounds
/// the time. DNSSEC failures are logged, as in PDM, and retried by the DS
/// refresher.
async fn bootstrap(state: &AppState) -> anyhow::Result<()> {
    let ns = &state.settings.nameservers.0;
    for pool in state.pools.iter() {
        let mut delay = Duration::from_millis(250);
        loop {
            match state.dns.create_zone(pool, ns).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(%pool, error = %e, "pool zone not ready; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        if let Err(e) = state.dns.enable_dnssec(pool).await {
            tracing::error!(%pool, error = %e, "enabling DNSSEC on the pool zone failed");
        }
        if let Some(ip) = state.settings.ns_glue_ip {
            for host in ns.iter().filter(|h| h.ends_with(&format!(".{pool}"))) {
                if let Err(e) = state.dns.ensure_host_address(pool, host, ip).await {
                    tracing::error!(%pool, %host, error = %e, "writing the name server's address failed");
                }
            }
        }
    }
    refresh_pool_ds_once(state).await;
    Ok(())
}

async fn refresh_pool_ds_once(state: &AppState) {
    for pool in state.pools.iter() {
        if let Err(e) = state.dns.enable_dnssec(pool).await {
            tracing::warn!(%pool, error = %e, "pool zone DNSSEC");
            continue;
        }
        match state.dns.ds_records(pool).await {
            Ok(ds) => {
                state
                    .pool_ds
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(pool.clone(), ds);
            }
            Err(e) => tracing::warn!(%pool, error = %e, "reading the pool zone's DS failed"),
        }
    }
}

async fn refresh_pool_ds(state: AppState) {
    loop {
        tokio::time::sleep(POOL_DS_REFRESH).await;
        refresh_pool_ds_once(&state).await;
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}
