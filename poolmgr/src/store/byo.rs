//! The `byo_domains` table (migration 2): one row per bring-your-own
//! domain, with where its onboarding stands.
//!
//! Only error *codes* are stored (`invalid-token`, `dns-unavailable`, …),
//! never provider or DNS server text, which may quote request details.
//! A kept registrar token is stored only sealed (see [`crate::sealing`]).

use sqlx::Row;

use super::{Store, StoreError};
use crate::model::UnixTime;

/// Overall state of a BYO domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByoState {
    /// Work is waiting on the provider (an NS or DS task) or was
    /// interrupted by a transient error; a refresh moves it on.
    Pending,
    /// Zone created and signed, NS set, DS published or handed to the
    /// operator.
    Complete,
    /// A step failed for good; `last_error` says which. A new onboarding
    /// request retries from the start (every step is idempotent).
    Failed,
}

impl ByoState {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            ByoState::Pending => "pending",
            ByoState::Complete => "complete",
            ByoState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ByoState::Pending,
            "complete" => ByoState::Complete,
            "failed" => ByoState::Failed,
            _ => return None,
        })
    }
}

/// Where the registry name server change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsStatus {
    /// Not attempted yet (the DNS step failed first).
    NotStarted,
    /// The registry already had our name servers; nothing was written.
    Unchanged,
    /// Written and complete at the provider.
    Applied,
    /// Accepted as a provider task (`ns_task`).
    Pending,
    /// The write or its task failed.
    Failed,
}

impl NsStatus {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            NsStatus::NotStarted => "not-started",
            NsStatus::Unchanged => "unchanged",
            NsStatus::Applied => "applied",
            NsStatus::Pending => "pending",
            NsStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not-started" => NsStatus::NotStarted,
            "unchanged" => NsStatus::Unchanged,
            "applied" => NsStatus::Applied,
            "pending" => NsStatus::Pending,
            "failed" => NsStatus::Failed,
            _ => return None,
        })
    }

    /// True once the registry points at our name servers.
    pub fn is_effective(self) -> bool {
        matches!(self, NsStatus::Unchanged | NsStatus::Applied)
    }
}

/// Where DS publication at the registrar stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsStatus {
    /// Not attempted yet.
    NotStarted,
    /// Held back until the name server change is complete: a DS at the
    /// parent while the old, unsigned servers still answer would make
    /// the domain bogus for validating resolvers.
    WaitingNs,
    /// Published (written) at the registrar.
    Published,
    /// The registrar already had exactly these DS records.
    Unchanged,
    /// Accepted as a provider task (`ds_task`).
    Pending,
    /// The registrar's API cannot take our DS form (no DS API, or it wants
    /// the DNSKEY): the operator publishes `ds_records` by hand.
    Manual,
    /// The write or its task failed.
    Failed,
}

impl DsStatus {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            DsStatus::NotStarted => "not-started",
            DsStatus::WaitingNs => "waiting-ns",
            DsStatus::Published => "published",
            DsStatus::Unchanged => "unchanged",
            DsStatus::Pending => "pending",
            DsStatus::Manual => "manual",
            DsStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not-started" => DsStatus::NotStarted,
            "waiting-ns" => DsStatus::WaitingNs,
            "published" => DsStatus::Published,
            "unchanged" => DsStatus::Unchanged,
            "pending" => DsStatus::Pending,
            "manual" => DsStatus::Manual,
            "failed" => DsStatus::Failed,
            _ => return None,
        })
    }

    /// True when nothing more is to be done automatically.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            DsStatus::Published | DsStatus::Unchanged | DsStatus::Manual
        )
    }
}

/// A sealed registrar token (base64 nonce||ciphertext). Opaque; `Debug`
/// does not print it, so a logged record carries no ciphertext either.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken(pub String);

impl std::fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedToken(***)")
    }
}

/// One BYO domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByoRecord {
    /// The customer's domain, normalised; primary key.
    pub domain: String,
    /// Registrar name (`ovh`, `dynadot`, …).
    pub registrar: String,
    /// Overall state.
    pub state: ByoState,
    /// The name servers asked for.
    pub nameservers: Vec<String>,
    /// The NS change.
    pub ns_status: NsStatus,
    /// Provider task id of a pending NS change.
    pub ns_task: Option<String>,
    /// The DS publication.
    pub ds_status: DsStatus,
    /// Provider task id of a pending DS change.
    pub ds_task: Option<String>,
    /// The zone's DS records (`tag alg 2 hex`), as read from the DNS server.
    pub ds_records: Vec<String>,
    /// Code of the last error (never upstream text).
    pub last_error: Option<String>,
    /// The registrar token, sealed, when the caller asked to keep it.
    pub sealed_token: Option<SealedToken>,
    /// First onboarding request.
    pub created_at: UnixTime,
    /// Last change to this row.
    pub updated_at: UnixTime,
}

const COLUMNS: &str = "domain, registrar, state, nameservers, ns_status, ns_task, ds_status, ds_task, ds_records, last_error, sealed_token, created_at, updated_at";

fn join(list: &[String]) -> String {
    list.join(" ")
}

fn split(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// DS records contain spaces, so they are kept one per line.
fn join_lines(list: &[String]) -> String {
    list.join("\n")
}

fn split_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<ByoRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("byo_domains.{what}"));
    let state: String = row.try_get("state")?;
    let ns_status: String = row.try_get("ns_status")?;
    let ds_status: String = row.try_get("ds_status")?;
    let nameservers: String = row.try_get("nameservers")?;
    let ds_records: String = row.try_get("ds_records")?;
    Ok(ByoRecord {
        domain: row.try_get("domain")?,
        registrar: row.try_get("registrar")?,
        state: ByoState::parse(&state).ok_or_else(|| corrupt("state"))?,
        nameservers: split(&nameservers),
        ns_status: NsStatus::parse(&ns_status).ok_or_else(|| corrupt("ns_status"))?,
        ns_task: row.try_get("ns_task")?,
        ds_status: DsStatus::parse(&ds_status).ok_or_else(|| corrupt("ds_status"))?,
        ds_task: row.try_get("ds_task")?,
        ds_records: split_lines(&ds_records),
        last_error: row.try_get("last_error")?,
        sealed_token: row
            .try_get::<Option<String>, _>("sealed_token")?
            .map(SealedToken),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Inserts or replaces the row for `record.domain`, keeping the
    /// original `created_at`.
    pub async fn byo_upsert(&self, record: &ByoRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO byo_domains ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (domain) DO UPDATE SET registrar = excluded.registrar, state = excluded.state, \
             nameservers = excluded.nameservers, ns_status = excluded.ns_status, ns_task = excluded.ns_task, \
             ds_status = excluded.ds_status, ds_task = excluded.ds_task, ds_records = excluded.ds_records, \
             last_error = excluded.last_error, sealed_token = excluded.sealed_token, \
             updated_at = excluded.updated_at"
        );
        sqlx::query(&sql)
            .bind(&record.domain)
            .bind(&record.registrar)
            .bind(record.state.as_str())
            .bind(join(&record.nameservers))
            .bind(record.ns_status.as_str())
            .bind(record.ns_task.clone())
            .bind(record.ds_status.as_str())
            .bind(record.ds_task.clone())
            .bind(join_lines(&record.ds_records))
            .bind(record.last_error.clone())
            .bind(record.sealed_token.as_ref().map(|t| t.0.clone()))
            .bind(record.created_at)
            .bind(record.updated_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The row for `domain`, if any.
    pub async fn byo_get(&self, domain: &str) -> Result<Option<ByoRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM byo_domains WHERE domain = $1");
        let row = sqlx::query(&sql)
            .bind(domain)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Pending rows that kept a sealed token, oldest update first: what
    /// the background poller can move on by itself.
    pub async fn byo_pending_with_token(&self, limit: i64) -> Result<Vec<ByoRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM byo_domains WHERE state = $1 AND sealed_token IS NOT NULL \
             ORDER BY updated_at LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ByoState::Pending.as_str())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
