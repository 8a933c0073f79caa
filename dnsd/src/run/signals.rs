//! Signals while serving: SIGHUP reloads the zone files, the GeoIP
//! databases and the DNS cookie secrets (off the runtime's workers);
//! SIGTERM and SIGINT stop.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tracing::{error, info};

use crate::answer::cookies::Cookies;
use crate::zones::Registry;

/// SIGHUP reloads the zones; SIGTERM and SIGINT stop the server.
pub(super) struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    pub(super) fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hangup: signal(SignalKind::hangup()).context("installing SIGHUP handler")?,
            terminate: signal(SignalKind::terminate()).context("installing SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).context("installing SIGINT handler")?,
        })
    }

    pub(super) async fn run(
        mut self,
        zones: &Arc<Registry>,
        geo: &Arc<geo::SharedGeo>,
        cookies: Option<&Arc<Cookies>>,
    ) -> anyhow::Result<ExitCode> {
        loop {
            tokio::select! {
                _ = self.hangup.recv() => {
                    info!("SIGHUP: reloading zones and GeoIP databases");
                    let zones = zones.clone();
                    let geo = geo.clone();
                    let cookies = cookies.cloned();
                    // Loading is blocking work; keep it off the TCP runtime's workers.
                    let reload = tokio::task::spawn_blocking(move || {
                        zones.reload_files();
                        // On error the previous databases keep serving.
                        if let Err(err) = geo.reload() {
                            error!(%err, "GeoIP reload failed; keeping the previous databases");
                        }
                        match cookies.as_ref().map(|c| c.reload()) {
                            Some(Ok(true)) => info!("DNS cookie secrets re-read"),
                            Some(Err(err)) => error!(%err, "keeping the DNS cookie secrets in use"),
                            _ => {}
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
