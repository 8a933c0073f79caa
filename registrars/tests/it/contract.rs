//! The `Registrar` contract, written once and run against every provider's
//! adapter and mock (`contract_suite!` in each provider module).
//!
//! Each case reads the adapter's [`Capabilities`] and checks either the
//! operation's behaviour (read-back after write, no write when the state is
//! already as wanted, count limits, task flows) or, where the provider
//! cannot do it, an `Unsupported` error with nothing written. Provider wire
//! details (envelopes, signatures, XML, quirks) stay in the provider
//! modules.
//!
//! What every [`Fixture`] seed holds, so the cases can rely on it:
//! - `example.com` in the account, a zone the provider hosts, with the name
//!   servers `Fixture::nameservers`, an apex `A` and a `www` CNAME;
//! - `Fixture::glue_domain` with glue `ns1.<glue_domain>` → `192.0.2.53`
//!   (Namecheap only sees glue of hosts in the NS set, so its glue domain
//!   lists ns1 and ns2 of itself as name servers);
//! - `Fixture::ds_domain` with no DNSSEC material (Cloudflare: DS from the
//!   zone's DNSSEC, `Fixture::seeded_ds`);
//! - no `not-mine.com`.

use registrars::mock::{Fault, MockServer, RateLimit};
use registrars::{
    Capabilities, Capability, Change, Credentials, Delegation, DomainName, DsInput, DsMaterial,
    Glue, Label, Provider, Registrar, RegistrarError, TaskRef, TaskStatus,
};

use testkit::captured_logs;

use crate::common::{adapter, d, h, hosts, http_write, l, pending, start, status_fault, wait_task};

/// Builds one set of credentials (a `fn`, so fixtures can be statics).
pub type MakeCredentials = fn() -> Credentials;

/// One provider's side of the contract: how to seed its mock, which
/// credentials it takes, and how its journal shows a write.
pub struct Fixture {
    /// The provider under test.
    pub provider: Provider,
    /// Seed JSON; the argument is `options.task_polls`.
    pub seed: fn(u32) -> String,
    /// Credentials the seed accepts.
    pub credentials: MakeCredentials,
    /// Credentials of the right shape that the provider refuses.
    pub wrong_credentials: MakeCredentials,
    /// Valid credentials without API access, and a domain of theirs, where
    /// the mock models that (token scope, account tier, IAM).
    pub denied: Option<(MakeCredentials, &'static str)>,
    /// Every secret in the credentials above: none may reach a log line,
    /// an error or a `Debug` rendering.
    pub secrets: &'static [&'static str],
    /// `example.com`'s name servers in the seed.
    pub nameservers: &'static [&'static str],
    /// The domain whose host objects the glue case changes.
    pub glue_domain: &'static str,
    /// The domain whose registry DNSSEC the DS case changes.
    pub ds_domain: &'static str,
    /// DS the seed publishes for `ds_domain` (read-only providers).
    pub seeded_ds: Option<&'static str>,
    /// Whether a journal entry of the mock is a write.
    pub is_write: fn(&str) -> bool,
}

/// A DNSKEY (KSK, ECDSA P-256) for providers that take keys.
pub const KSK: &str = "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

const WANTED_NS: [&str; 2] = ["ns1.openova.io", "ns2.openova.io"];

impl Fixture {
    async fn start(&self, task_polls: u32) -> (MockServer, Box<dyn Registrar>) {
        let server = start(self.provider, &(self.seed)(task_polls)).await;
        let registrar = adapter(&server, (self.credentials)());
        (server, registrar)
    }

    fn writes(&self, server: &MockServer) -> Vec<String> {
        server
            .state()
            .journal()
            .into_iter()
            .filter(|e| (self.is_write)(e))
            .collect()
    }

    /// The material this provider publishes: a DNSKEY where it takes keys,
    /// else a DS.
    fn ds_material(caps: &Capabilities) -> DsMaterial {
        match caps.ds_input {
            DsInput::Dnskey => DsMaterial::parse(KSK).unwrap(),
            _ => DsMaterial::parse(&format!("2371 13 2 {}", "ab".repeat(32))).unwrap(),
        }
    }
}

/// Waits for `change` to take effect: `Applied`, or (only where the
/// provider declares tasks) `Pending` polled to `Done`.
async fn applied(registrar: &dyn Registrar, change: Change, what: &str) {
    match change {
        Change::Applied => {}
        Change::Pending(task) => {
            assert!(
                registrar.capabilities().contains(Capability::AsyncTasks),
                "{what}: a task from a provider that declares none"
            );
            let status = wait_task(registrar, &task).await;
            assert_eq!(status, TaskStatus::Done, "{what}: task {task}");
        }
        Change::Unchanged => panic!("{what}: expected a change, got Unchanged"),
    }
}

/// Sets `want` at `label`, waits for it, and reads the same back.
async fn delegate_and_read_back(
    registrar: &dyn Registrar,
    zone: &DomainName,
    label: &Label,
    want: &Delegation,
) {
    let change = registrar
        .set_child_delegation(zone, label, want)
        .await
        .unwrap();
    applied(registrar, change, "set_child_delegation").await;
    let got = registrar
        .get_child_delegation(zone, label)
        .await
        .unwrap()
        .expect("a delegation after setting one");
    assert!(registrars::types::same_hosts(
        &got.nameservers,
        &want.nameservers
    ));
    assert_eq!((got.ttl, &got.ds), (want.ttl, &want.ds));
}

fn assert_unsupported(result: Result<impl std::fmt::Debug, RegistrarError>, what: &str) {
    match result {
        Err(RegistrarError::Unsupported { instead, .. }) => {
            assert!(!instead.is_empty(), "{what}: says what to do instead")
        }
        other => panic!("{what}: expected Unsupported, got {other:?}"),
    }
}

/// The invalid-token class: the provider refused who we are.
fn assert_auth_refused(err: &RegistrarError, what: &str) {
    assert!(
        matches!(err, RegistrarError::InvalidCredentials { .. }),
        "{what}: expected InvalidCredentials, got {err:?}"
    );
}

//----------- the cases --------------------------------------------------------

/// Good credentials validate; wrong ones (and a key without API access)
/// are refused with the invalid-token class of error, on every call.
pub async fn credentials(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    registrar.validate_credentials().await.unwrap();

    let wrong = adapter(&server, (f.wrong_credentials)());
    assert_auth_refused(&wrong.validate_credentials().await.unwrap_err(), "validate");
    assert_auth_refused(
        &wrong.get_nameservers(&d("example.com")).await.unwrap_err(),
        "get_nameservers",
    );
    assert!(f.writes(&server).is_empty());

    if let Some((denied, domain)) = f.denied {
        let err = adapter(&server, denied())
            .get_nameservers(&d(domain))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistrarError::NotPermitted { .. }),
            "no API access: {err:?}"
        );
    }
}

/// A domain the account does not hold is `DomainNotInAccount`.
pub async fn unknown_domain(f: &Fixture) {
    let (_server, registrar) = f.start(1).await;
    let err = registrar
        .get_nameservers(&d("not-mine.com"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RegistrarError::DomainNotInAccount {
            domain: "not-mine.com".into()
        }
    );
}

/// NS: read, set, read back; the same set in another order writes
/// nothing; counts are enforced before anything is sent. Where the provider
/// cannot set NS, only the current set is accepted, as `Unchanged`.
pub async fn nameservers(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d("example.com");
    let seeded = hosts(f.nameservers);
    assert_eq!(registrar.get_nameservers(&zone).await.unwrap(), seeded);

    let caps = registrar.capabilities();
    let wanted = hosts(&WANTED_NS);
    if !caps.contains(Capability::SetNameservers) {
        let mut same = seeded.clone();
        same.reverse();
        assert_eq!(
            registrar.set_nameservers(&zone, &same).await.unwrap(),
            Change::Unchanged
        );
        assert_unsupported(
            registrar.set_nameservers(&zone, &wanted).await,
            "set_nameservers",
        );
        assert!(f.writes(&server).is_empty(), "{:?}", f.writes(&server));
        return;
    }

    let change = registrar.set_nameservers(&zone, &wanted).await.unwrap();
    applied(registrar.as_ref(), change, "set_nameservers").await;
    assert!(registrars::types::same_hosts(
        &registrar.get_nameservers(&zone).await.unwrap(),
        &wanted
    ));

    let before = f.writes(&server);
    let reordered = hosts(&[WANTED_NS[1], WANTED_NS[0]]);
    assert_eq!(
        registrar.set_nameservers(&zone, &reordered).await.unwrap(),
        Change::Unchanged
    );
    let too_many: Vec<_> = (0..=caps.max_nameservers)
        .map(|i| h(&format!("ns{i}.openova.io")))
        .collect();
    for count in [&wanted[..1], &too_many[..]] {
        let err = registrar.set_nameservers(&zone, count).await.unwrap_err();
        assert!(
            matches!(err, RegistrarError::Invalid { .. }),
            "{} servers: {err:?}",
            count.len()
        );
    }
    assert_eq!(f.writes(&server), before, "nothing more written");
}

/// Child delegation inside a hosted zone: absent, set, read back, same
/// again without a write, replaced, deleted, deleted again; every other
/// record of the zone stays. DS at the child only where declared.
pub async fn child_delegation(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d("example.com");
    let sub = l("sub");
    let caps = registrar.capabilities();
    let ds = registrars::DsRecord::new(12345, 13, 2, &"cd".repeat(32)).unwrap();
    let want = Delegation {
        nameservers: hosts(&WANTED_NS),
        ttl: 3600,
        ds: if caps.contains(Capability::ChildDs) {
            vec![ds.clone()]
        } else {
            vec![]
        },
    };
    if !caps.contains(Capability::ChildDelegation) {
        assert_unsupported(registrar.get_child_delegation(&zone, &sub).await, "get");
        assert_unsupported(
            registrar.set_child_delegation(&zone, &sub, &want).await,
            "set",
        );
        assert_unsupported(
            registrar.delete_child_delegation(&zone, &sub).await,
            "delete",
        );
        assert!(f.writes(&server).is_empty());
        return;
    }
    if !caps.contains(Capability::ChildDs) {
        let with_ds = Delegation {
            ds: vec![ds],
            ..want.clone()
        };
        assert_unsupported(
            registrar.set_child_delegation(&zone, &sub, &with_ds).await,
            "child DS",
        );
    }
    let others = |server: &MockServer| {
        let world = server.state().world();
        let mut records: Vec<_> = world.accounts[0]
            .domain("example.com")
            .unwrap()
            .records
            .iter()
            .filter(|r| r.name != "sub")
            .map(|r| (r.name.clone(), r.rtype.clone(), r.content.clone(), r.ttl))
            .collect();
        records.sort();
        records
    };
    let untouched = others(&server);
    let err = registrar
        .get_child_delegation(&d("not-mine.com"), &sub)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistrarError::DomainNotInAccount { .. }),
        "{err:?}"
    );

    assert_eq!(
        registrar.get_child_delegation(&zone, &sub).await.unwrap(),
        None
    );
    delegate_and_read_back(registrar.as_ref(), &zone, &sub, &want).await;

    let before = f.writes(&server);
    assert_eq!(
        registrar
            .set_child_delegation(&zone, &sub, &want)
            .await
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(f.writes(&server), before, "same delegation: no write");

    let next = Delegation {
        nameservers: hosts(&["ns1.openova.io", "ns3.openova.io"]),
        ttl: 7200,
        ds: vec![],
    };
    delegate_and_read_back(registrar.as_ref(), &zone, &sub, &next).await;
    assert_eq!(others(&server), untouched, "no other record changed");

    let change = registrar
        .delete_child_delegation(&zone, &sub)
        .await
        .unwrap();
    applied(registrar.as_ref(), change, "delete").await;
    assert_eq!(
        registrar.get_child_delegation(&zone, &sub).await.unwrap(),
        None
    );
    assert_eq!(
        registrar
            .delete_child_delegation(&zone, &sub)
            .await
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(others(&server), untouched);
}

/// Glue host objects: listed, the same again without a write, created,
/// moved, deleted, deleted again.
pub async fn glue(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d(f.glue_domain);
    let seeded = Glue {
        host: h(&format!("ns1.{}", f.glue_domain)),
        ips: vec!["192.0.2.53".parse().unwrap()],
    };
    let fresh = Glue {
        host: h(&format!("ns2.{}", f.glue_domain)),
        ips: vec!["192.0.2.54".parse().unwrap()],
    };
    if !registrar.capabilities().contains(Capability::Glue) {
        assert_unsupported(registrar.list_glue(&zone).await, "list_glue");
        assert_unsupported(registrar.upsert_glue(&zone, &fresh).await, "upsert_glue");
        assert_unsupported(
            registrar.delete_glue(&zone, &fresh.host).await,
            "delete_glue",
        );
        assert!(f.writes(&server).is_empty());
        return;
    }
    // GoDaddy lists host names without their addresses: there, an upsert
    // cannot know it would change nothing, and writes.
    let listed = registrar.list_glue(&zone).await.unwrap();
    let shows_addresses = listed.iter().any(|g| !g.ips.is_empty());
    let has = |listed: &[Glue], glue: &Glue| {
        listed
            .iter()
            .any(|g| g.host == glue.host && (!shows_addresses || g.ips == glue.ips))
    };
    assert!(has(&listed, &seeded), "{listed:?}");
    if shows_addresses {
        let before = f.writes(&server);
        assert_eq!(
            registrar.upsert_glue(&zone, &seeded).await.unwrap(),
            Change::Unchanged
        );
        assert_eq!(f.writes(&server), before, "same glue: no write");
    }

    let change = registrar.upsert_glue(&zone, &fresh).await.unwrap();
    applied(registrar.as_ref(), change, "create glue").await;
    assert!(has(&registrar.list_glue(&zone).await.unwrap(), &fresh));

    let moved = Glue {
        ips: vec!["192.0.2.55".parse().unwrap()],
        ..fresh.clone()
    };
    let change = registrar.upsert_glue(&zone, &moved).await.unwrap();
    applied(registrar.as_ref(), change, "move glue").await;
    let listed = registrar.list_glue(&zone).await.unwrap();
    assert!(has(&listed, &moved) && has(&listed, &seeded), "{listed:?}");

    let change = registrar.delete_glue(&zone, &fresh.host).await.unwrap();
    applied(registrar.as_ref(), change, "delete glue").await;
    assert!(
        !registrar
            .list_glue(&zone)
            .await
            .unwrap()
            .iter()
            .any(|g| g.host == fresh.host)
    );
    assert_eq!(
        registrar.delete_glue(&zone, &fresh.host).await.unwrap(),
        Change::Unchanged
    );
}

/// DNSSEC at the registry: published, read back, the same again without a
/// write, cleared. Read-only providers accept only what is there.
pub async fn ds(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d(f.ds_domain);
    let caps = registrar.capabilities();
    let material = Fixture::ds_material(&caps);
    if !caps.contains(Capability::GetDs) {
        assert_unsupported(registrar.get_ds(&zone).await, "get_ds");
        assert_unsupported(
            registrar
                .set_ds(&zone, std::slice::from_ref(&material))
                .await,
            "set_ds",
        );
        assert!(f.writes(&server).is_empty());
        return;
    }
    if !caps.contains(Capability::SetDs) {
        let current = registrar.get_ds(&zone).await.unwrap();
        let seeded = f.seeded_ds.map(|t| DsMaterial::parse(t).unwrap());
        assert_eq!(current, seeded.into_iter().collect::<Vec<_>>());
        assert_eq!(
            registrar.set_ds(&zone, &current).await.unwrap(),
            Change::Unchanged
        );
        assert_unsupported(registrar.set_ds(&zone, &[]).await, "set_ds");
        assert!(f.writes(&server).is_empty());
        return;
    }
    assert!(registrar.get_ds(&zone).await.unwrap().is_empty());
    let change = registrar
        .set_ds(&zone, std::slice::from_ref(&material))
        .await
        .unwrap();
    applied(registrar.as_ref(), change, "set_ds").await;
    assert_eq!(
        registrar.get_ds(&zone).await.unwrap(),
        vec![material.clone()]
    );
    let before = f.writes(&server);
    assert_eq!(
        registrar
            .set_ds(&zone, std::slice::from_ref(&material))
            .await
            .unwrap(),
        Change::Unchanged
    );
    assert_eq!(f.writes(&server), before, "same DS: no write");

    let change = registrar.set_ds(&zone, &[]).await.unwrap();
    applied(registrar.as_ref(), change, "clear DS").await;
    assert!(registrar.get_ds(&zone).await.unwrap().is_empty());
    assert_eq!(
        registrar.set_ds(&zone, &[]).await.unwrap(),
        Change::Unchanged
    );
}

/// Throttling in the provider's own signal is `RateLimited`, whether
/// injected or from the mock's configured window; a brief burst is retried.
pub async fn rate_limiting(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d("example.com");
    // Once (time synced, OVH) before any fault.
    registrar.get_nameservers(&zone).await.unwrap();

    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(0),
        },
        1,
    );
    registrar.get_nameservers(&zone).await.unwrap();

    server.state().inject(
        Fault::RateLimited {
            retry_after_secs: Some(300),
        },
        10,
    );
    let err = registrar.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
    if let Some(wait) = err.retry_after() {
        assert_eq!(
            wait,
            std::time::Duration::from_secs(300),
            "the provider's hint"
        );
    }
    server.state().clear_faults();

    // A window that fits exactly one call (OVH's takes several requests).
    let requests = || {
        server
            .state()
            .journal()
            .iter()
            .filter(|e| e.starts_with("GET /") || http_write(e))
            .count()
    };
    let before = requests();
    registrar.get_nameservers(&zone).await.unwrap();
    let per_call = u32::try_from(requests() - before).unwrap();
    server.state().set_rate_limit(Some(RateLimit {
        requests: per_call,
        per_seconds: 60,
    }));
    registrar.get_nameservers(&zone).await.unwrap();
    let err = registrar.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::RateLimited { .. }), "{err:?}");
}

/// Server errors are retried, then reported as `Unavailable`.
pub async fn server_errors(f: &Fixture) {
    let (server, registrar) = f.start(1).await;
    let zone = d("example.com");
    let fault = status_fault(503, "");
    server.state().inject(fault.clone(), 2);
    assert_eq!(
        registrar.get_nameservers(&zone).await.unwrap(),
        hosts(f.nameservers),
        "recovered within the retries"
    );
    server.state().inject(fault, 10);
    let err = registrar.get_nameservers(&zone).await.unwrap_err();
    assert!(matches!(err, RegistrarError::Unavailable { .. }), "{err:?}");
}

/// Asynchronous providers: a change is `Pending` and invisible until its
/// task is done; a failed task is `Failed` and changes nothing.
/// Synchronous ones never hand out tasks and refuse to poll one.
pub async fn tasks(f: &Fixture) {
    let (server, registrar) = f.start(3).await;
    let zone = d("example.com");
    let wanted = hosts(&WANTED_NS);
    if !registrar.capabilities().contains(Capability::AsyncTasks) {
        let task = TaskRef {
            provider: f.provider,
            domain: zone,
            id: "1".into(),
        };
        assert_unsupported(registrar.task_status(&task).await, "task_status");
        return;
    }
    let task = pending(registrar.set_nameservers(&zone, &wanted).await.unwrap());
    assert_eq!(
        registrar.get_nameservers(&zone).await.unwrap(),
        hosts(f.nameservers),
        "not applied before the task is done"
    );
    assert_eq!(
        registrar.task_status(&task).await.unwrap(),
        TaskStatus::Pending
    );
    assert_eq!(wait_task(registrar.as_ref(), &task).await, TaskStatus::Done);
    assert!(registrars::types::same_hosts(
        &registrar.get_nameservers(&zone).await.unwrap(),
        &wanted
    ));

    server.state().inject(
        Fault::FailTask {
            message: "registry refused the change".into(),
        },
        1,
    );
    let task = pending(
        registrar
            .set_nameservers(&zone, &hosts(f.nameservers))
            .await
            .unwrap(),
    );
    match wait_task(registrar.as_ref(), &task).await {
        TaskStatus::Failed { message } => {
            assert!(message.contains("registry refused"), "{message}")
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    assert!(registrars::types::same_hosts(
        &registrar.get_nameservers(&zone).await.unwrap(),
        &wanted
    ));
}

/// No secret reaches a trace line (ours or a dependency's), an error or a
/// `Debug`/`Display` rendering, through successes, retries and refusals.
pub async fn secrets_never_logged(f: &Fixture) {
    let _ = captured_logs();
    let (server, registrar) = f.start(1).await;
    let zone = d("example.com");
    let mut rendered = Vec::new();
    for credentials in [(f.credentials)(), (f.wrong_credentials)()] {
        rendered.push(format!("{credentials:?} {credentials}"));
    }
    server.state().inject(status_fault(500, ""), 1);
    rendered.push(format!("{:?}", registrar.get_nameservers(&zone).await));
    rendered.push(format!(
        "{:?}",
        registrar.set_nameservers(&zone, &hosts(&WANTED_NS)).await
    ));
    server.state().inject(status_fault(503, ""), 10);
    let err = registrar.get_ds(&zone).await.unwrap_err();
    rendered.push(format!("{err} {err:?}"));
    server.state().clear_faults();
    let err = adapter(&server, (f.wrong_credentials)())
        .validate_credentials()
        .await
        .unwrap_err();
    rendered.push(format!("{err} {err:?}"));

    let logs = captured_logs();
    assert!(logs.contains("127.0.0.1"), "requests were logged: {logs}");
    let all = format!("{logs}\n{}", rendered.join("\n"));
    for secret in f.secrets {
        let leaks: Vec<_> = all.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret:?} leaked:\n{}", leaks.join("\n"));
    }
}

/// Instantiates every contract case for one provider's [`Fixture`]: a
/// `contract` module of `#[tokio::test]`s beside the provider's wire tests.
macro_rules! contract_suite {
    ($fixture:ident) => {
        crate::contract::contract_cases!(
            $fixture;
            credentials,
            unknown_domain,
            nameservers,
            child_delegation,
            glue,
            ds,
            rate_limiting,
            server_errors,
            tasks,
            secrets_never_logged
        );
    };
}

/// One `#[tokio::test]` per named case, inside a `contract` module.
macro_rules! contract_cases {
    ($fixture:ident; $($case:ident),*) => {
        mod contract {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::contract::$case(&super::$fixture).await
                }
            )*
        }
    };
}
pub(crate) use {contract_cases, contract_suite};
