//! The scheduler and the status rules (spec §6.2–§6.4) on a paused clock,
//! with a fake network: every target answers up, down or never, as the test
//! sets it, and every probe is logged with the (virtual) time it started.
//! No sockets and no real time, so the bounds here are exact and a loaded
//! machine cannot move them.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::probe::FakeNet;
use super::tests::{info, url_key};
use super::{CheckError, CheckStatus, CheckerSettings, HealthChecker};
use crate::dynamic::{CheckKey, Health, HealthView};

const INTERVAL: Duration = Duration::from_millis(300);
const UP: Health = Health::Up { weight: 0 };
/// One step of the paused clock while waiting on state.
const STEP: Duration = Duration::from_millis(1);
/// tokio's timers fire on whole milliseconds, rounding up.
const SLACK: Duration = Duration::from_millis(5);

/// What a fake target does when probed.
#[derive(Clone, Copy, Debug)]
enum Target {
    Up(i32),
    Down,
    /// Never answers: the check ends at its timeout.
    Hang,
}

/// Targets by URL (unknown ones are up), and the probes made.
#[derive(Debug, Default)]
struct FakeTargets {
    targets: Mutex<HashMap<String, Target>>,
    probes: Mutex<Vec<(String, Instant)>>,
}

impl FakeTargets {
    fn set(&self, url: &str, target: Target) {
        self.targets.lock().unwrap().insert(url.to_string(), target);
    }

    /// When each probe of `url` started.
    fn probes_of(&self, url: &str) -> Vec<Instant> {
        let probes = self.probes.lock().unwrap();
        probes
            .iter()
            .filter(|(u, _)| u == url)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl FakeNet for FakeTargets {
    fn check(
        &self,
        key: &CheckKey,
    ) -> Pin<Box<dyn Future<Output = Result<i32, CheckError>> + Send>> {
        self.probes
            .lock()
            .unwrap()
            .push((key.url.clone(), Instant::now()));
        let target = self.targets.lock().unwrap().get(&key.url).copied();
        Box::pin(async move {
            match target.unwrap_or(Target::Up(0)) {
                Target::Up(weight) => Ok(weight),
                Target::Down => Err(CheckError::Request("fake target down".into())),
                Target::Hang => std::future::pending().await,
            }
        })
    }
}

fn start(settings: CheckerSettings) -> (Arc<HealthChecker>, Arc<FakeTargets>) {
    let net = Arc::new(FakeTargets::default());
    let fake: super::probe::FakeProbe = net.clone();
    let c = HealthChecker::spawn(settings, &tokio::runtime::Handle::current(), Some(fake)).unwrap();
    (c, net)
}

fn settings() -> CheckerSettings {
    CheckerSettings {
        interval: INTERVAL,
        ..CheckerSettings::default()
    }
}

fn ip() -> IpAddr {
    "192.0.2.1".parse().unwrap()
}

fn key(url: &str, opts: &str) -> CheckKey {
    url_key(ip(), url, opts)
}

/// Lets the paused clock run until `done` holds; returns the virtual time
/// it took. Panics after `within`.
async fn until(within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() <= within, "not within {within:?}");
        tokio::time::sleep(STEP).await;
    }
    t0.elapsed()
}

/// Waits for the next completed check of `key`; returns its status.
async fn next_check(c: &HealthChecker, key: &CheckKey) -> CheckStatus {
    let before = info(c, key).checks;
    until(10 * INTERVAL, || info(c, key).checks > before).await;
    info(c, key).status
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn only_the_registering_call_sees_unknown() {
    let (c, net) = start(settings());
    net.set("http://hang.test/", Target::Hang);
    let k = key("http://hang.test/", "timeout=1");
    assert_eq!(c.status(&k), Health::Unknown);
    // Until the first check ends (at its 1 s timeout), queries see down.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(990) {
        assert_eq!(c.status(&k), Health::Down);
        assert_eq!(info(&c, &k).status, CheckStatus::Pending);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A key with other options is another check.
    let other = key("http://hang.test/", "timeout=2");
    assert_eq!(c.status(&other), Health::Unknown);
    assert_eq!(c.status(&other), Health::Down);
    assert_eq!(c.len(), 2);
    // The timeout completes the check: down, with the reason.
    until(Duration::from_millis(20), || info(&c, &k).checks == 1).await;
    assert!(t0.elapsed() >= Duration::from_secs(1));
    let i = info(&c, &k);
    assert_eq!(i.status, CheckStatus::Down);
    assert!(i.last_error.unwrap().contains("timed out"));
    assert_eq!(c.status(&k), Health::Down);
}

#[tokio::test(start_paused = true)]
async fn checks_run_every_interval_in_parallel() {
    let (c, net) = start(settings());
    net.set("http://slow.test/", Target::Hang);
    let slow = key("http://slow.test/", "timeout=1");
    let fast = key("http://fast.test/", "");
    // Registered together: one round, both checks at once.
    c.status(&slow);
    c.status(&fast);
    let took = until(Duration::from_secs(1), || c.status(&fast) == UP).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(info(&c, &slow).checks, 0, "the slow check is still running");
    // Each round waits for the slow check's 1 s timeout (§6.3): the fast
    // check runs again once per second, not once per 300 ms interval.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let fast_probes = net.probes_of("http://fast.test/");
    assert_eq!(fast_probes.len(), 5, "rounds at 0, 1, 2, 3, 4 s");
    for gap in gaps(&fast_probes) {
        assert!(
            gap >= Duration::from_secs(1) && gap < Duration::from_secs(1) + INTERVAL,
            "{gap:?}"
        );
    }
    assert_eq!(net.probes_of("http://slow.test/").len(), 5);
}

#[tokio::test(start_paused = true)]
async fn per_check_interval_runs_on_global_ticks() {
    // §6.3, §15.9: a per-check interval longer than the global one takes
    // effect on global ticks; checks without one run every tick.
    let (c, net) = start(settings());
    let every_tick = key("http://tick.test/", "");
    let every_second = key("http://second.test/", "interval=1");
    c.status(&every_tick);
    c.status(&every_second);
    tokio::time::sleep(Duration::from_millis(3050)).await;
    let ticks = net.probes_of("http://tick.test/");
    let seconds = net.probes_of("http://second.test/");
    assert_eq!(ticks.len(), 11, "0, 0.3, …, 3.0 s");
    assert!(gaps(&ticks).iter().all(|g| *g == INTERVAL), "{ticks:?}");
    // Due 1 s after its last tick: the 4th tick after it (1.2 s).
    assert_eq!(seconds.len(), 3, "0, 1.2, 2.4 s");
    assert!(
        gaps(&seconds).iter().all(|g| *g == 4 * INTERVAL),
        "{seconds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn minimum_failures_needs_n_consecutive_failures() {
    let (c, net) = start(settings());
    let url = "http://flaky.test/";
    net.set(url, Target::Down);
    let k = key(url, "minimumFailures=3");
    c.status(&k);
    // §6.4: a target that never succeeded reads up until the third failure.
    assert_eq!(next_check(&c, &k).await, CheckStatus::Up);
    assert_eq!(c.status(&k), UP);
    assert_eq!(next_check(&c, &k).await, CheckStatus::Up);
    assert_eq!(next_check(&c, &k).await, CheckStatus::Down);
    assert_eq!(info(&c, &k).consecutive_failures, 3);
    // One success brings it back.
    net.set(url, Target::Up(0));
    assert_eq!(next_check(&c, &k).await, CheckStatus::Up);
    assert_eq!(info(&c, &k).consecutive_failures, 0);
    // Two failures keep it up; the third takes it down.
    net.set(url, Target::Down);
    assert_eq!(next_check(&c, &k).await, CheckStatus::Up);
    assert_eq!(next_check(&c, &k).await, CheckStatus::Up);
    assert_eq!(c.status(&k), UP);
    assert_eq!(next_check(&c, &k).await, CheckStatus::Down);
    assert_eq!(c.status(&k), Health::Down);
}

#[tokio::test(start_paused = true)]
async fn changes_are_seen_within_interval_plus_timeout() {
    let (c, net) = start(settings());
    let url = "http://t.test/";
    let k = key(url, "timeout=1");
    c.status(&k);
    until(INTERVAL + SLACK, || c.status(&k) == UP).await;
    // A refused target: down at the next tick.
    net.set(url, Target::Down);
    let took = until(INTERVAL + SLACK, || c.status(&k) == Health::Down).await;
    assert!(took <= INTERVAL + SLACK, "{took:?}");
    net.set(url, Target::Up(0));
    until(INTERVAL + SLACK, || c.status(&k) == UP).await;
    // A silent target: down once its timeout ends the check.
    net.set(url, Target::Hang);
    let took = until(INTERVAL + Duration::from_secs(1) + SLACK, || {
        c.status(&k) == Health::Down
    })
    .await;
    assert!(
        took > Duration::from_secs(1),
        "not before the timeout: {took:?}"
    );
    let i = info(&c, &k);
    assert!(
        i.last_error.as_deref().unwrap().contains("timed out"),
        "{i:?}"
    );
    // Up again once it answers: the round that started as the timeout
    // ended may still be waiting on the silent target.
    net.set(url, Target::Up(7));
    until(INTERVAL + Duration::from_secs(1) + SLACK, || {
        c.status(&k) == Health::Up { weight: 7 }
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn generation_moves_on_changes_only() {
    let (c, net) = start(settings());
    let url = "http://gen.test/";
    let k = key(url, "");
    assert_eq!(c.generation(), 0);
    c.status(&k);
    next_check(&c, &k).await;
    assert_eq!(c.generation(), 1, "the first completed check");
    // Several rounds of the same answer: no movement.
    for _ in 0..3 {
        next_check(&c, &k).await;
    }
    assert_eq!(c.generation(), 1);
    net.set(url, Target::Down);
    next_check(&c, &k).await;
    assert_eq!(c.generation(), 2);
    net.set(url, Target::Up(0));
    next_check(&c, &k).await;
    assert_eq!(c.generation(), 3);
    // A new weight is a change; the same weight again is not.
    net.set(url, Target::Up(5));
    next_check(&c, &k).await;
    next_check(&c, &k).await;
    assert_eq!(c.generation(), 4);
}

#[tokio::test(start_paused = true)]
async fn unused_checks_expire_and_used_ones_stay() {
    let expire = Duration::from_millis(800);
    let (c, _net) = start(CheckerSettings {
        expire_delay: expire,
        ..settings()
    });
    let used = key("http://used.test/", "");
    let unused = key("http://unused.test/", "");
    c.status(&used);
    c.status(&unused);
    let gen_before = c.generation();
    let t0 = Instant::now();
    while c.len() == 2 {
        assert!(
            t0.elapsed() <= expire + INTERVAL,
            "not expired: {:#?}",
            c.snapshot()
        );
        c.status(&used);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Dropped by the first round that starts more than `expire` after the
    // last use (rounds at 0.3 s steps: 0.9 s).
    assert!(
        t0.elapsed() >= expire,
        "expired too early: {:?}",
        t0.elapsed()
    );
    let left = c.snapshot().checks;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].url.as_deref(), Some("http://used.test/"));
    assert!(c.generation() > gen_before, "expiry is a change");
    // Asking again registers it afresh.
    assert_eq!(c.status(&unused), Health::Unknown);
}

#[tokio::test(start_paused = true)]
async fn the_loop_stops_when_the_checker_is_dropped() {
    let (c, _net) = start(settings());
    c.status(&key("http://a.test/", ""));
    let weak = Arc::downgrade(&c.inner);
    drop(c);
    until(INTERVAL, || weak.upgrade().is_none()).await;
}
