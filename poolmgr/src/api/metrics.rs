//! Prometheus metrics: requests by route and status with latency, and the
//! state of allocations and of the DNS outbox (read at scrape time).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters; not on any hot path, so one mutex is enough.
#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl HttpMetrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = routes
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i] += 1;
            }
        }
        stats.count += 1;
        stats.sum += seconds;
    }
}

/// Middleware: counts and times every request, and logs it (method, route
/// template, status, milliseconds — never the query string, which may
/// carry a subdomain but never a secret, nor any header).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let seconds = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.http_metrics.record(&method, &route, status, seconds);
    tracing::info!(method = %method, route = %route, status, ms = seconds * 1000.0, "request");
    resp
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    {
        let routes = state
            .http_metrics
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP poolmgr_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE poolmgr_http_requests_total counter\n");
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "poolmgr_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP poolmgr_http_request_seconds Request latency.\n");
        out.push_str("# TYPE poolmgr_http_request_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "poolmgr_http_request_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "poolmgr_http_request_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "poolmgr_http_request_seconds_sum{{{labels}}} {}",
                stats.sum
            );
            let _ = writeln!(
                out,
                "poolmgr_http_request_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
    }
    let m = state.applier.metrics();
    out.push_str("# HELP poolmgr_dns_effects_applied_total DNS effects applied.\n");
    out.push_str("# TYPE poolmgr_dns_effects_applied_total counter\n");
    let _ = writeln!(
        out,
        "poolmgr_dns_effects_applied_total {}",
        m.applied.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP poolmgr_dns_effect_failures_total Failed attempts to apply a DNS effect.\n",
    );
    out.push_str("# TYPE poolmgr_dns_effect_failures_total counter\n");
    let _ = writeln!(
        out,
        "poolmgr_dns_effect_failures_total {}",
        m.failed.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP poolmgr_reservations_expired_total Reservations claimed by the sweeper.\n",
    );
    out.push_str("# TYPE poolmgr_reservations_expired_total counter\n");
    let _ = writeln!(
        out,
        "poolmgr_reservations_expired_total {}",
        m.swept.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP poolmgr_log_lines_dropped_total Log lines dropped: the log queue was full or the write failed.\n",
    );
    out.push_str("# TYPE poolmgr_log_lines_dropped_total counter\n");
    let _ = writeln!(
        out,
        "poolmgr_log_lines_dropped_total {}",
        logsink::dropped_lines()
    );
    if let Ok(pending) = state.store.outbox_len().await {
        out.push_str("# HELP poolmgr_dns_outbox_pending DNS effects waiting to be applied.\n");
        out.push_str("# TYPE poolmgr_dns_outbox_pending gauge\n");
        let _ = writeln!(out, "poolmgr_dns_outbox_pending {pending}");
    }
    if let Ok(counts) = state.store.counts().await {
        out.push_str("# HELP poolmgr_allocations Allocations by pool and state.\n");
        out.push_str("# TYPE poolmgr_allocations gauge\n");
        for (pool, st, n) in counts {
            let _ = writeln!(
                out,
                "poolmgr_allocations{{pool=\"{pool}\",state=\"{st}\"}} {n}"
            );
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
