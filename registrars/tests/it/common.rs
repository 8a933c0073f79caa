//! Helpers shared by every module of the test binary: fast retry options,
//! mock start-up, name constructors, task polling (the trace-log capture is
//! `testkit::captured_logs`). Everything runs on 127.0.0.1.

use std::time::Duration;

use registrars::http::{HttpConfig, RetryPolicy};
use registrars::mock::{Fault, MockServer, Seed};
use registrars::providers::ConnectOptions;
use registrars::{
    Change, Credentials, DomainName, HostName, Label, Provider, Registrar, RegistrarError, TaskRef,
    TaskStatus,
};

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

/// Retries of tens of milliseconds that honour a `Retry-After` of up to
/// five seconds.
pub fn retry_options() -> ConnectOptions {
    ConnectOptions {
        http: HttpConfig {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(40),
                max_retry_after: Duration::from_secs(5),
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

/// A bare HTTP answer with `status` and `body`, no `Retry-After`.
pub fn status_fault(status: u16, body: &str) -> Fault {
    Fault::Status {
        status,
        body: body.to_owned(),
        retry_after: None,
    }
}

/// The provider's own error envelope with `code` and `message`; `status`
/// overrides the HTTP status the provider would use.
pub fn provider_error(code: &str, message: &str, status: Option<u16>) -> Fault {
    Fault::ProviderError {
        code: code.to_owned(),
        message: message.to_owned(),
        status,
    }
}

/// Whether a journal entry is a write over HTTP: any method but GET (the
/// REST providers; Namecheap and Dynadot journal their commands).
pub fn http_write(entry: &str) -> bool {
    ["PUT ", "PATCH ", "POST ", "DELETE "]
        .iter()
        .any(|m| entry.starts_with(m))
}

/// Journal entries that are HTTP writes.
pub fn writes(server: &MockServer) -> Vec<String> {
    server
        .state()
        .journal()
        .into_iter()
        .filter(|e| http_write(e))
        .collect()
}

pub fn d(name: &str) -> DomainName {
    DomainName::new(name).unwrap()
}

pub fn h(name: &str) -> HostName {
    HostName::new(name).unwrap()
}

pub fn hosts(names: &[&str]) -> Vec<HostName> {
    names.iter().map(|n| h(n)).collect()
}

pub fn l(label: &str) -> Label {
    Label::new(label).unwrap()
}

/// The task of a pending change; panics on any other change.
pub fn pending(change: Change) -> TaskRef {
    match change {
        Change::Pending(task) => task,
        other => panic!("expected a pending task, got {other:?}"),
    }
}

/// Polls until the task is no longer pending.
pub async fn wait_task(registrar: &dyn Registrar, task: &TaskRef) -> TaskStatus {
    for _ in 0..10 {
        match registrar.task_status(task).await.expect("task status") {
            TaskStatus::Pending => continue,
            other => return other,
        }
    }
    panic!("task {task} never finished")
}

/// Asserts `err` is `Unsupported` and its "do this instead" text names
/// every one of `hints`.
#[track_caller]
pub fn assert_unsupported(err: &RegistrarError, hints: &[&str]) {
    match err {
        RegistrarError::Unsupported { instead, .. } => {
            for hint in hints {
                assert!(instead.contains(hint), "{hint:?} not in {instead:?}");
            }
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}
