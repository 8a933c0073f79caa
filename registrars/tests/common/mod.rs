//! Helpers shared by the integration tests: fast retry options and mock
//! start-up. Everything runs on 127.0.0.1.

#![allow(dead_code)]

use std::time::Duration;

use registrars::http::{HttpConfig, RetryPolicy};
use registrars::mock::{MockServer, Seed};
use registrars::providers::ConnectOptions;
use registrars::{Credentials, Provider, Registrar};

/// Retries that finish in milliseconds.
pub fn fast_options() -> ConnectOptions {
    ConnectOptions {
        http: HttpConfig {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
                max_retry_after: Duration::from_secs(2),
            },
        },
        ..ConnectOptions::default()
    }
}

/// Starts a mock for `provider` from a JSON seed.
pub async fn start(provider: Provider, seed: &str) -> MockServer {
    let seed = Seed::from_json(seed).expect("seed parses");
    MockServer::start(provider, seed)
        .await
        .expect("mock starts")
}

/// An adapter pointed at `server`.
pub fn adapter(server: &MockServer, credentials: Credentials) -> Box<dyn Registrar> {
    let provider = credentials.provider();
    registrars::connect_with(
        provider,
        Some(&server.base_url()),
        credentials,
        &fast_options(),
    )
    .expect("adapter builds")
}

/// Journal entries that are writes (not GET).
pub fn writes(server: &MockServer) -> Vec<String> {
    server
        .state()
        .journal()
        .into_iter()
        .filter(|e| !e.starts_with("GET "))
        .collect()
}
