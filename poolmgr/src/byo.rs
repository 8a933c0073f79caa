//! The bring-your-own-domain lifecycle (PDM §10.8): serve a customer's
//! domain from our DNS server, signed, and point the registry at it.
//!
//! Onboarding ([`onboard`]), in this order so that no step exposes a
//! half-built state to resolvers:
//! 1. Check the token and that the domain is in the account (before any
//!    state is written: a bad token leaves nothing behind).
//! 2. Create the zone on the DNS server with our name servers, and turn
//!    DNSSEC on; read its DS (digest type 2). Before the NS flip, so the
//!    new servers already answer when the registry points at them.
//! 3. Read the registry's name servers; write ours only when they differ.
//!    OVH and GoDaddy queue the change as a task ([`NsStatus::Pending`]).
//! 4. Once the NS change is complete, publish the DS at the registrar in
//!    the form its API takes ([`Capabilities::ds_input`]); where it takes
//!    none we can give (no DS API, or DNSKEY only: OVH) the DS is left for
//!    the operator ([`DsStatus::Manual`]) and returned in the record.
//!
//! Tasks are moved on by [`refresh`] (the caller supplies the token
//! again) or by [`poll_pending`] for domains whose token was kept sealed.
//!
//! Known gap: the DS goes up as soon as the registry reports the NS change
//! done. Resolvers that cached the old (unsigned) delegation can, for up
//! to the parent's NS TTL, see our DS with the old servers' answers and
//! fail validation; a hold-down of that TTL before DS publication would
//! close it.

use registrars::{
    Capability, Change, DomainName, DsInput, DsMaterial, DsRecord, HostName, Provider, Registrar,
    RegistrarError, Secret, TaskRef, TaskStatus,
};

use crate::api::error::pdm_code;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::dns::DnsError;
use crate::dns::PdnsClient;
use crate::registrar_token::parse_token;
use crate::sealing::{SealError, SealingKey};
use crate::store::Store;
use crate::store::StoreError;
use crate::store::byo::{ByoRecord, ByoState, DsStatus, NsStatus, SealedToken};

/// What the BYO steps use of the application: the database, the DNS
/// server's API, the settings and the clock. Built by the API's state
/// (`AppState::byo_deps`) so this module does not depend on the API.
#[derive(Clone)]
pub struct ByoDeps {
    pub store: Store,
    pub dns: PdnsClient,
    pub settings: std::sync::Arc<Settings>,
    pub clock: SharedClock,
}

/// What stops a BYO operation before or outside the recorded state.
#[derive(Debug, thiserror::Error)]
pub enum ByoError {
    /// The registrar refused or failed (token check, membership, or a
    /// transient error while polling); nothing was recorded for it.
    #[error("{provider}: {source}")]
    Registrar {
        /// Which registrar.
        provider: Provider,
        /// What it said (adapter messages never hold credentials).
        #[source]
        source: RegistrarError,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configured sealing key is unusable.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// AAD binding a sealed token to its domain and registrar.
pub fn token_context(domain: &str, registrar: &str) -> String {
    format!("poolmgr-byo|{domain}|{registrar}")
}

/// The code stored for a DNS server failure (never its text).
fn dns_code(err: &DnsError) -> &'static str {
    match err {
        DnsError::Unreachable { .. } => "dns-unavailable",
        // Refusals, bad answers, and any kind added later.
        _ => "dns-error",
    }
}

fn registrar_failure(provider: Provider) -> impl Fn(RegistrarError) -> ByoError {
    move |source| ByoError::Registrar { provider, source }
}

/// Runs the onboarding steps for `domain` and records the outcome.
///
/// `sealed` is the caller's token already sealed (keepToken), or `None`.
/// Returns the record in whatever state it reached; `Err` only when the
/// token check failed (nothing recorded) or the database failed.
pub async fn onboard(
    state: &ByoDeps,
    registrar: &dyn Registrar,
    domain: &DomainName,
    nameservers: &[HostName],
    sealed: Option<SealedToken>,
) -> Result<ByoRecord, ByoError> {
    let provider = registrar.provider();
    let fail = registrar_failure(provider);
    registrar.validate_credentials().await.map_err(&fail)?;
    let current = registrar.get_nameservers(domain).await.map_err(&fail)?;

    let at = state.clock.now();
    let created_at = match state.store.byo_get(domain.as_str()).await? {
        Some(old) => old.created_at,
        None => at,
    };
    let ns: Vec<String> = nameservers.iter().map(|h| h.as_str().to_owned()).collect();
    let mut record = ByoRecord {
        domain: domain.as_str().to_owned(),
        registrar: provider.name().to_owned(),
        state: ByoState::Pending,
        nameservers: ns.clone(),
        ns_status: NsStatus::NotStarted,
        ns_task: None,
        ds_status: DsStatus::NotStarted,
        ds_task: None,
        ds_records: Vec::new(),
        last_error: None,
        sealed_token: sealed,
        created_at,
        updated_at: at,
    };
    // Recorded before the first side effect, so a crash mid-way leaves a
    // row an operator can see and a retry can finish.
    state.store.byo_upsert(&record).await?;

    match dns_setup(state, domain, &ns).await {
        Ok(ds) => record.ds_records = ds,
        Err(e) => {
            tracing::warn!(domain = %domain, outcome = dns_code(&e), "BYO zone setup failed");
            return finish(state, record, Some(dns_code(&e))).await;
        }
    }

    if registrars::types::same_hosts(&current, nameservers) {
        record.ns_status = NsStatus::Unchanged;
    } else {
        match registrar.set_nameservers(domain, nameservers).await {
            Ok(Change::Unchanged) => record.ns_status = NsStatus::Unchanged,
            Ok(Change::Applied) => record.ns_status = NsStatus::Applied,
            Ok(Change::Pending(task)) => {
                record.ns_status = NsStatus::Pending;
                record.ns_task = Some(task.id);
            }
            Err(e) => {
                record.ns_status = NsStatus::Failed;
                return finish(state, record, Some(pdm_code(&e))).await;
            }
        }
    }
    advance_ds(registrar, domain, &mut record).await;
    let code = record.last_error.take();
    finish_with(state, record, code).await
}

/// Zone, DNSSEC, DS read-back.
async fn dns_setup(
    state: &ByoDeps,
    domain: &DomainName,
    nameservers: &[String],
) -> Result<Vec<String>, DnsError> {
    state.dns.create_zone(domain.as_str(), nameservers).await?;
    state.dns.enable_dnssec(domain.as_str()).await?;
    state.dns.ds_records(domain.as_str()).await
}

/// Publishes the DS when the NS change is effective and nothing is in
/// flight; sets `ds_status` (and `last_error` on failure).
async fn advance_ds(registrar: &dyn Registrar, domain: &DomainName, record: &mut ByoRecord) {
    if !record.ns_status.is_effective() {
        if record.ns_status == NsStatus::Pending {
            record.ds_status = DsStatus::WaitingNs;
        }
        return;
    }
    if record.ds_status.is_settled() || record.ds_status == DsStatus::Pending {
        return;
    }
    let caps = registrar.capabilities();
    let material: Option<Vec<DsMaterial>> = match caps.ds_input {
        _ if !caps.contains(Capability::SetDs) => None,
        DsInput::Digest | DsInput::Either => record
            .ds_records
            .iter()
            .map(|text| DsRecord::parse(text).map(DsMaterial::Ds))
            .collect::<Result<Vec<_>, _>>()
            .ok(),
        // OVH takes DNSKEYs only and a digest cannot be turned back into
        // a key: the operator publishes it.
        DsInput::Dnskey | DsInput::None => None,
    };
    let material = match material {
        Some(m) if !m.is_empty() => m,
        _ => {
            record.ds_status = DsStatus::Manual;
            return;
        }
    };
    match registrar.set_ds(domain, &material).await {
        Ok(Change::Unchanged) => record.ds_status = DsStatus::Unchanged,
        Ok(Change::Applied) => record.ds_status = DsStatus::Published,
        Ok(Change::Pending(task)) => {
            record.ds_status = DsStatus::Pending;
            record.ds_task = Some(task.id);
        }
        Err(e) if e.is_retryable() => {
            // Try again on the next refresh.
            record.ds_status = DsStatus::NotStarted;
            record.last_error = Some(pdm_code(&e).to_owned());
        }
        Err(e) => {
            record.ds_status = DsStatus::Failed;
            record.last_error = Some(pdm_code(&e).to_owned());
        }
    }
}

/// Sets the overall state from the steps and saves.
async fn finish(
    state: &ByoDeps,
    record: ByoRecord,
    error: Option<&str>,
) -> Result<ByoRecord, ByoError> {
    finish_with(state, record, error.map(str::to_owned)).await
}

async fn finish_with(
    state: &ByoDeps,
    mut record: ByoRecord,
    error: Option<String>,
) -> Result<ByoRecord, ByoError> {
    let failed = record.ns_status == NsStatus::Failed
        || record.ds_status == DsStatus::Failed
        || (record.ns_status == NsStatus::NotStarted && error.is_some());
    record.state = if failed {
        ByoState::Failed
    } else if record.ns_status.is_effective() && record.ds_status.is_settled() {
        ByoState::Complete
    } else {
        ByoState::Pending
    };
    record.last_error = error;
    if record.state != ByoState::Pending {
        // Nothing left to poll: a kept token has no further use.
        record.sealed_token = None;
    }
    record.updated_at = state.clock.now();
    state.store.byo_upsert(&record).await?;
    let outcome = record.last_error.as_deref().unwrap_or("ok");
    tracing::info!(
        registrar = %record.registrar,
        domain = %record.domain,
        state = record.state.as_str(),
        outcome,
        "BYO domain"
    );
    Ok(record)
}

fn task(provider: Provider, domain: &DomainName, id: &str) -> TaskRef {
    TaskRef {
        provider,
        domain: domain.clone(),
        id: id.to_owned(),
    }
}

/// Polls the record's pending provider tasks with `registrar` (built from
/// a token the caller supplied or the sealed one) and moves it on.
///
/// Transient registrar errors keep the record pending with `last_error`
/// set; a credential error is returned without touching the record.
pub async fn refresh(
    state: &ByoDeps,
    registrar: &dyn Registrar,
    mut record: ByoRecord,
) -> Result<ByoRecord, ByoError> {
    if record.state != ByoState::Pending {
        return Ok(record);
    }
    let provider = registrar.provider();
    let domain = DomainName::new(&record.domain).map_err(registrar_failure(provider))?;
    let mut error: Option<String> = None;

    if record.ns_status == NsStatus::NotStarted {
        // The DNS step failed on a transient error earlier: a refresh is
        // not the place to redo it; the caller re-posts the onboarding.
        return Ok(record);
    }
    if let (NsStatus::Pending, Some(id)) = (record.ns_status, record.ns_task.clone()) {
        match registrar.task_status(&task(provider, &domain, &id)).await {
            Ok(TaskStatus::Pending) => {}
            Ok(TaskStatus::Done) => {
                record.ns_status = NsStatus::Applied;
                record.ns_task = None;
                record.ds_status = DsStatus::NotStarted;
            }
            Ok(TaskStatus::Failed { .. }) => {
                record.ns_status = NsStatus::Failed;
                record.ns_task = None;
                error = Some("ns-task-failed".into());
            }
            Err(e) if is_credential_error(&e) => return Err(registrar_failure(provider)(e)),
            Err(e) => error = Some(pdm_code(&e).into()),
        }
    }
    if let (DsStatus::Pending, Some(id)) = (record.ds_status, record.ds_task.clone()) {
        match registrar.task_status(&task(provider, &domain, &id)).await {
            Ok(TaskStatus::Pending) => {}
            Ok(TaskStatus::Done) => {
                record.ds_status = DsStatus::Published;
                record.ds_task = None;
            }
            Ok(TaskStatus::Failed { .. }) => {
                record.ds_status = DsStatus::Failed;
                record.ds_task = None;
                error = Some("ds-task-failed".into());
            }
            Err(e) if is_credential_error(&e) => return Err(registrar_failure(provider)(e)),
            Err(e) => error = Some(pdm_code(&e).into()),
        }
    }
    if error.is_none() {
        advance_ds(registrar, &domain, &mut record).await;
        error = record.last_error.take();
    }
    finish_with(state, record, error).await
}

fn is_credential_error(e: &RegistrarError) -> bool {
    matches!(pdm_code(e), "invalid-token" | "domain-not-in-account")
}

/// The adapter for a stored record's registrar with `token`.
fn adapter_for(
    state: &ByoDeps,
    record: &ByoRecord,
    token: &Secret,
) -> Result<Box<dyn Registrar>, String> {
    let provider: Provider = record
        .registrar
        .parse()
        .map_err(|_| "unknown-registrar".to_owned())?;
    let creds = parse_token(provider, token.expose()).map_err(|_| "invalid-token".to_owned())?;
    let base = state
        .settings
        .registrar_base_urls
        .as_ref()
        .and_then(|urls| urls.0.get(&provider))
        .map(String::as_str);
    registrars::connect(provider, base, creds).map_err(|e| pdm_code(&e).to_owned())
}

/// How many pending domains one [`poll_pending`] pass looks at.
const POLL_BATCH: i64 = 100;

/// One background pass: polls the provider tasks of pending BYO domains
/// whose token was kept (sealed), with that token. Returns how many
/// domains it polled.
///
/// Does nothing without `POOLMGR_TOKEN_SEALING_KEY`. A token that no
/// longer opens (key rotated) or is refused by the registrar is dropped,
/// with `last_error` saying why; the domain can still be refreshed with a
/// token supplied by the caller.
pub async fn poll_pending(state: &ByoDeps) -> usize {
    let Some(secret) = state.settings.token_sealing_key.as_ref() else {
        return 0;
    };
    let key = match SealingKey::from_secret(secret) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "BYO poller: unusable POOLMGR_TOKEN_SEALING_KEY");
            return 0;
        }
    };
    let records = match state.store.byo_pending_with_token(POLL_BATCH).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "BYO poller: database");
            return 0;
        }
    };
    let mut polled = 0;
    for record in records {
        polled += 1;
        if let Err(e) = poll_one(state, &key, record).await {
            tracing::warn!(error = %e, "BYO poller: database");
        }
    }
    polled
}

async fn poll_one(state: &ByoDeps, key: &SealingKey, record: ByoRecord) -> Result<(), ByoError> {
    let Some(sealed) = record.sealed_token.clone() else {
        return Ok(());
    };
    let context = token_context(&record.domain, &record.registrar);
    let adapter = key
        .open(&sealed.0, &context)
        .map_err(|_| "token-unsealable".to_owned())
        .and_then(|token| adapter_for(state, &record, &token));
    let adapter = match adapter {
        Ok(a) => a,
        Err(code) => return drop_token(state, record, &code).await,
    };
    match refresh(state, adapter.as_ref(), record.clone()).await {
        Ok(_) => Ok(()),
        Err(ByoError::Registrar { source, .. }) => {
            drop_token(state, record, pdm_code(&source)).await
        }
        Err(e) => Err(e),
    }
}

/// Forgets a kept token that cannot work any more, saying why.
async fn drop_token(state: &ByoDeps, mut record: ByoRecord, code: &str) -> Result<(), ByoError> {
    tracing::warn!(
        registrar = %record.registrar,
        domain = %record.domain,
        outcome = code,
        "BYO poller: kept token dropped"
    );
    record.sealed_token = None;
    record.last_error = Some(code.to_owned());
    record.updated_at = state.clock.now();
    state.store.byo_upsert(&record).await?;
    Ok(())
}

/// How often [`run_poller`] runs a pass. Provider tasks take minutes to
/// hours (OVH, GoDaddy), so a minute is prompt without hammering them.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs [`poll_pending`] every [`POLL_INTERVAL`], forever (spawn it).
pub async fn run_poller(state: ByoDeps) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        poll_pending(&state).await;
    }
}
