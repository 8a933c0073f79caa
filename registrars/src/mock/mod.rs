//! Stateful loopback mock servers, one per provider, exact on the wire.
//!
//! This module is the shared plumbing; each provider module supplies only
//! its routes and how it signals errors:
//! - [`seed`]: the seed-file model, which is also the live state;
//! - [`faults`]: error injection and rate limiting;
//! - [`MockState`]: the state every handler shares (world, faults, tasks,
//!   a journal of requests);
//! - [`MockServer`]: binds 127.0.0.1, serves the provider's router behind
//!   the fault/rate-limit middleware plus the `/_mock/*` control routes, and
//!   tells tests its base URL.
//!
//! Control routes (outside every provider path):
//! - `GET /_mock/state` — the world, tasks and queued faults as JSON;
//! - `POST /_mock/faults` — body `{"fault":{…},"times":N}` queues a fault;
//! - `DELETE /_mock/faults` — clears them;
//! - `PUT /_mock/rate-limit` — body `{"requests":N,"per_seconds":S}` or `null`.
//!
//! Mocks bind to loopback only and never accept real credentials.

// Handlers short-circuit with the provider's error response as `Err`;
// boxing it would buy nothing in a test server.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::types::Provider;

/// Cloudflare API v4 mock.
pub mod cloudflare;
/// Dynadot api3 mock (R2).
pub mod dynadot;
/// Fault injection and rate limiting.
pub mod faults;
/// GoDaddy mock (R2).
pub mod godaddy;
/// Namecheap XML API mock.
pub mod namecheap;
/// OVH mock (R2).
pub mod ovh;
/// Seed file model and live state.
pub mod seed;

pub use faults::{Fault, Injection};
pub use seed::{Account, Domain, MockOptions, RateLimit, Record, Seed};

/// An asynchronous operation inside a mock (OVH task, GoDaddy action).
#[derive(Clone, Debug, Serialize)]
pub struct MockTask {
    /// Task id (numeric text for OVH).
    pub id: String,
    /// Owning account id.
    pub account: String,
    /// Domain the task is about.
    pub domain: String,
    /// Provider's task kind (`DomainDnsUpdate`, `DOMAIN_UPDATE_NAME_SERVERS`).
    pub kind: String,
    /// Polls seen so far.
    pub polls: u32,
    /// Polls needed before it finishes.
    pub polls_needed: u32,
    /// Set when the task will end in failure (from [`Fault::FailTask`]).
    pub failure: Option<String>,
}

/// Where a mock task stands after a poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockTaskState {
    /// Still running.
    Running,
    /// Finished successfully.
    Done,
    /// Finished with this failure message.
    Failed(String),
}

/// The mutable world: the seed (accounts, domains, …) plus tasks.
#[derive(Debug, Serialize)]
pub struct World {
    /// Accounts and their domains, as seeded and since mutated.
    pub accounts: Vec<Account>,
    /// Options from the seed.
    pub options: MockOptions,
    /// Asynchronous tasks ever created.
    pub tasks: Vec<MockTask>,
    next_id: u64,
}

impl World {
    fn new(seed: Seed) -> Self {
        let mut world = Self {
            accounts: seed.accounts,
            options: seed.options,
            tasks: Vec::new(),
            next_id: 1000,
        };
        // Every record gets an id so providers that address records by id
        // (Cloudflare, OVH, Namecheap HostId) can.
        let mut ids = Vec::new();
        for account in &world.accounts {
            for domain in &account.domains {
                ids.push(domain.records.iter().filter(|r| r.id.is_none()).count());
            }
        }
        let mut fresh = Vec::new();
        for n in ids {
            fresh.push((0..n).map(|_| world.next_id()).collect::<Vec<_>>());
        }
        let mut fresh = fresh.into_iter();
        for account in &mut world.accounts {
            for domain in &mut account.domains {
                let mut ids = fresh.next().unwrap_or_default().into_iter();
                for record in domain.records.iter_mut().filter(|r| r.id.is_none()) {
                    record.id = ids.next().map(|n| n.to_string());
                }
            }
        }
        world
    }

    /// A fresh numeric id, unique within this mock.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account whose credentials satisfy `matches`.
    pub fn account_where(&self, matches: impl Fn(&Account) -> bool) -> Option<&Account> {
        self.accounts.iter().find(|a| matches(a))
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Mutable access to the account with this id.
    pub fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id == id)
    }

    /// The domain `name` of account `account`, to change it.
    pub fn domain_mut(&mut self, account: &str, name: &str) -> Option<&mut Domain> {
        self.account_mut(account)?.domain_mut(name)
    }
}

/// Everything a provider mock's handlers share. Cheap to clone.
#[derive(Clone)]
pub struct MockState {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Provider,
    world: Mutex<World>,
    faults: Mutex<faults::FaultQueue>,
    limiter: Mutex<faults::RateLimiter>,
    journal: Mutex<Vec<String>>,
}

/// Locks a mutex, ignoring poisoning: a panicking handler must not take
/// the whole mock down with it in tests.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MockState {
    /// State for `provider` seeded from `seed`.
    pub fn new(provider: Provider, seed: Seed) -> Self {
        let limit = seed.options.rate_limit;
        Self {
            inner: Arc::new(Inner {
                provider,
                world: Mutex::new(World::new(seed)),
                faults: Mutex::new(faults::FaultQueue::default()),
                limiter: Mutex::new(faults::RateLimiter::new(limit)),
                journal: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Which provider this mock imitates.
    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// The world, locked. Never hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }

    /// Queues `fault` for the next `times` provider requests.
    pub fn inject(&self, fault: Fault, times: u32) {
        lock(&self.inner.faults).push(fault, times);
    }

    /// Drops all queued faults.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Sets (or removes) the rate limit.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        lock(&self.inner.limiter).set(limit);
    }

    /// Appends an entry to the journal (handlers note provider commands).
    pub fn note(&self, entry: impl Into<String>) {
        lock(&self.inner.journal).push(entry.into());
    }

    /// Everything noted so far: `"METHOD /path"` for every provider request
    /// (no query string), plus whatever handlers noted.
    pub fn journal(&self) -> Vec<String> {
        lock(&self.inner.journal).clone()
    }

    /// Creates an asynchronous task that finishes after the configured
    /// number of polls, or fails if a [`Fault::FailTask`] is queued.
    pub fn create_task(&self, account: &str, domain: &str, kind: &str) -> MockTask {
        let failure = lock(&self.inner.faults).take_task_failure();
        let mut world = self.world();
        let id = world.next_id().to_string();
        let task = MockTask {
            id,
            account: account.to_owned(),
            domain: domain.to_owned(),
            kind: kind.to_owned(),
            polls: 0,
            polls_needed: world.options.task_polls,
            failure,
        };
        world.tasks.push(task.clone());
        task
    }

    /// Polls a task: counts the poll and returns the task and its state,
    /// or `None` when `account` has no such task.
    pub fn poll_task(&self, account: &str, id: &str) -> Option<(MockTask, MockTaskState)> {
        let mut world = self.world();
        let task = world
            .tasks
            .iter_mut()
            .find(|t| t.id == id && t.account == account)?;
        task.polls += 1;
        let state = if task.polls < task.polls_needed {
            MockTaskState::Running
        } else if let Some(msg) = &task.failure {
            MockTaskState::Failed(msg.clone())
        } else {
            MockTaskState::Done
        };
        Some((task.clone(), state))
    }

    fn take_fault(&self) -> Option<Fault> {
        lock(&self.inner.faults).take_request_fault()
    }

    fn check_rate(&self) -> Result<(), Duration> {
        lock(&self.inner.limiter).check()
    }

    fn dump(&self) -> serde_json::Value {
        let world = self.world();
        let faults = lock(&self.inner.faults).pending();
        serde_json::json!({
            "provider": self.provider(),
            "world": &*world,
            "faults": faults,
        })
    }
}

/// How a provider mock plugs in: its routes and how it renders faults.
pub struct ProviderMock {
    /// Path prefix of the API root, e.g. `/client/v4`; the base URL an
    /// adapter uses is `http://ADDR` + this.
    pub base_path: &'static str,
    /// The provider's routes (full paths, including `base_path`).
    pub router: fn(MockState) -> Router,
    /// Turns a request-level fault into the provider's response.
    pub render_fault: fn(&Fault) -> Response,
}

/// The plug-in for `provider`.
pub fn provider_mock(provider: Provider) -> ProviderMock {
    match provider {
        Provider::Cloudflare => cloudflare::mock(),
        Provider::Namecheap => namecheap::mock(),
        Provider::GoDaddy => godaddy::mock(),
        Provider::Ovh => ovh::mock(),
        Provider::Dynadot => dynadot::mock(),
    }
}

/// Renders [`Fault::Status`] the same way for every provider.
pub fn render_status_fault(status: u16, body: &str, retry_after: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (code, body.to_owned()).into_response();
    if let Some(ra) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, ra);
    }
    resp
}

#[derive(Clone)]
struct Gate {
    state: MockState,
    render: fn(&Fault) -> Response,
}

/// Runs before every provider route: journal, latency, injected faults,
/// rate limit.
async fn gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    gate.state
        .note(format!("{} {}", req.method(), req.uri().path()));
    let latency = gate.state.world().options.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match gate.state.take_fault() {
        Some(Fault::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::Status {
            status,
            body,
            retry_after,
        }) => return render_status_fault(status, &body, retry_after.as_deref()),
        Some(fault) => return (gate.render)(&fault),
        None => {}
    }
    if let Err(wait) = gate.state.check_rate() {
        let secs = wait.as_secs().max(1);
        return (gate.render)(&Fault::RateLimited {
            retry_after_secs: Some(secs),
        });
    }
    next.run(req).await
}

fn control_router(state: MockState) -> Router {
    async fn dump(State(s): State<MockState>) -> Response {
        axum::Json(s.dump()).into_response()
    }
    async fn add_fault(
        State(s): State<MockState>,
        axum::Json(inj): axum::Json<Injection>,
    ) -> StatusCode {
        s.inject(inj.fault, inj.times);
        StatusCode::NO_CONTENT
    }
    async fn clear(State(s): State<MockState>) -> StatusCode {
        s.clear_faults();
        StatusCode::NO_CONTENT
    }
    async fn rate(
        State(s): State<MockState>,
        axum::Json(limit): axum::Json<Option<RateLimit>>,
    ) -> StatusCode {
        s.set_rate_limit(limit);
        StatusCode::NO_CONTENT
    }
    Router::new()
        .route("/_mock/state", get(dump))
        .route("/_mock/faults", post(add_fault).delete(clear))
        .route("/_mock/rate-limit", put(rate))
        .with_state(state)
}

/// The full app for `provider`: provider routes behind the gate, plus the
/// control routes. Exposed so tests can drive it without a socket.
pub fn app(state: MockState) -> Router {
    let plug = provider_mock(state.provider());
    let gate_state = Gate {
        state: state.clone(),
        render: plug.render_fault,
    };
    (plug.router)(state.clone())
        .layer(middleware::from_fn_with_state(gate_state, gate))
        .merge(control_router(state))
}

/// A running mock server. Stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    base_path: &'static str,
    state: MockState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a mock for `provider` on 127.0.0.1 with an ephemeral port.
    pub async fn start(provider: Provider, seed: Seed) -> std::io::Result<Self> {
        Self::start_on(provider, seed, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock on `addr`, which must be a loopback address.
    pub async fn start_on(
        provider: Provider,
        seed: Seed,
        addr: SocketAddr,
    ) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("mock servers bind to loopback only, not {addr}"),
            ));
        }
        let state = MockState::new(provider, seed);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = app(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            base_path: provider_mock(provider).base_path,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API root to give the adapter, e.g.
    /// `http://127.0.0.1:PORT/client/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// The shared state (inject faults, inspect the world).
    pub fn state(&self) -> &MockState {
        &self.state
    }

    /// Waits until the server task ends (the binary serves forever).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
