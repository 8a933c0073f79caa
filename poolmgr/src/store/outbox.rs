//! The DNS outbox: effects queued by state changes, applied in order per
//! allocation, each under a lease so that two workers (or a worker and a
//! request) never apply the same entry at once.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};
use crate::effects::Effect;
use crate::model::UnixTime;

/// One queued effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Queue position; entries of one allocation apply in `id` order.
    pub id: i64,
    /// The allocation's pool.
    pub pool_domain: String,
    /// The allocation's label.
    pub subdomain: String,
    /// The incarnation that queued it.
    pub incarnation: String,
    /// What to do.
    pub effect: Effect,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The last failure, for operators.
    pub last_error: Option<String>,
}

/// The `kind` column: lets SQL find a queued teardown without parsing JSON.
fn kind(effect: &Effect) -> &'static str {
    match effect {
        Effect::Provision { .. } => "provision",
        Effect::Publish { .. } => "publish",
        Effect::Teardown { .. } => "teardown",
    }
}

/// Queues `effect` inside the caller's transaction.
pub(super) async fn enqueue(
    conn: &mut AnyConnection,
    pool_domain: &str,
    subdomain: &str,
    incarnation: &str,
    effect: &Effect,
    now: UnixTime,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(effect).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO dns_outbox (pool_domain, subdomain, incarnation, kind, effect, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(pool_domain)
    .bind(subdomain)
    .bind(incarnation)
    .bind(kind(effect))
    .bind(json)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, pool_domain, subdomain, incarnation, effect, attempts, last_error";

fn entry_from_row(row: &AnyRow) -> Result<OutboxEntry, StoreError> {
    let effect: String = row.try_get("effect")?;
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        pool_domain: row.try_get("pool_domain")?,
        subdomain: row.try_get("subdomain")?,
        incarnation: row.try_get("incarnation")?,
        effect: serde_json::from_str(&effect)
            .map_err(|e| StoreError::Corrupt(format!("outbox effect {effect:?}: {e}")))?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    /// The first queued entry of one allocation, due or not.
    pub async fn outbox_head(
        &self,
        pool_domain: &str,
        subdomain: &str,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dns_outbox WHERE pool_domain = $1 AND subdomain = $2 ORDER BY id LIMIT 1"
        ))
        .bind(pool_domain)
        .bind(subdomain)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// Heads of every allocation's queue that are due and not leased,
    /// oldest first, at most `limit`.
    pub async fn outbox_due(
        &self,
        now: UnixTime,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dns_outbox o \
             WHERE o.next_attempt_at <= $1 AND o.lease_until <= $2 \
             AND NOT EXISTS (SELECT 1 FROM dns_outbox p \
                 WHERE p.pool_domain = o.pool_domain AND p.subdomain = o.subdomain AND p.id < o.id) \
             ORDER BY o.id LIMIT $3"
        ))
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Takes the lease on an entry until `lease_until`; false when someone
    /// else holds it or it is gone.
    pub async fn outbox_claim(
        &self,
        id: i64,
        now: UnixTime,
        lease_until: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE dns_outbox SET lease_until = $1 WHERE id = $2 AND lease_until <= $3",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether a teardown of the same incarnation is queued after `entry`:
    /// then provisioning or publishing it would only be undone, and must
    /// not hold up the teardown when it keeps failing.
    pub async fn outbox_superseded(&self, entry: &OutboxEntry) -> Result<bool, StoreError> {
        if matches!(entry.effect, Effect::Teardown { .. }) {
            return Ok(false);
        }
        let later: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM dns_outbox WHERE pool_domain = $1 AND subdomain = $2 \
             AND incarnation = $3 AND kind = 'teardown' AND id > $4 LIMIT 1",
        )
        .bind(&entry.pool_domain)
        .bind(&entry.subdomain)
        .bind(&entry.incarnation)
        .bind(entry.id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(later.is_some())
    }

    /// The entry was applied: remove it, and when it was a teardown, remove
    /// the allocation row it was tearing down (only that incarnation, and
    /// only if it is still on its way out), in one transaction.
    pub async fn outbox_complete(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM dns_outbox WHERE id = $1")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        if matches!(entry.effect, Effect::Teardown { .. }) {
            sqlx::query(
                "DELETE FROM pool_allocations WHERE pool_domain = $1 AND subdomain = $2 \
                 AND incarnation = $3 AND state IN ('releasing', 'expiring')",
            )
            .bind(&entry.pool_domain)
            .bind(&entry.subdomain)
            .bind(&entry.incarnation)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The entry failed: record why, release the lease, retry at `retry_at`.
    pub async fn outbox_fail(
        &self,
        id: i64,
        error: &str,
        retry_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE dns_outbox SET attempts = attempts + 1, last_error = $1, \
             next_attempt_at = $2, lease_until = 0 WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many entries are queued.
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dns_outbox")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Every queued entry, oldest first (operators, tests).
    pub async fn outbox_all(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM dns_outbox ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
