//! Allocation rows: loading them, and saving what [`crate::allocator`]
//! decided, in one transaction with the DNS work it implies (see
//! [`super::outbox`]). No rule lives here.
//!
//! Every transaction reads the row, asks the allocator, then writes with a
//! condition on the incarnation and state it read; if the write touches no
//! row, a concurrent change won and the decision is made again on fresh
//! data.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::enqueue;
use super::{Store, StoreError};
use crate::allocator::{self, Decision, Op, Outcome, Refusal, Request, Save, Write};
use crate::model::{Allocation, State, UnixTime, token_hash};

/// How often a transaction is re-run after losing a race.
const RACE_RETRIES: usize = 5;

const COLUMNS: &str = "pool_domain, subdomain, state, incarnation, reserved_at, expires_at, \
    sovereign_fqdn, load_balancer_ip, load_balancer_ipv6, reservation_token, \
    reservation_token_hash, committed_token_hash, created_by, idempotency_key, owner";

fn allocation_from_row(row: &AnyRow) -> Result<Allocation, StoreError> {
    let state: String = row.try_get("state")?;
    // A plaintext token in the legacy column (written by a replica still
    // on the old code during a rolling upgrade) is used by its hash only;
    // the next write of the row clears it, and every start hashes the
    // rest (see `migrate::hash_plaintext_tokens`).
    let legacy: Option<String> = row.try_get("reservation_token")?;
    let hash: Option<String> = row.try_get("reservation_token_hash")?;
    let reservation_token_hash = hash.or_else(|| legacy.as_deref().map(token_hash));
    Ok(Allocation {
        pool_domain: row.try_get("pool_domain")?,
        subdomain: row.try_get("subdomain")?,
        state: State::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown state {state:?}")))?,
        incarnation: row.try_get("incarnation")?,
        reserved_at: row.try_get("reserved_at")?,
        expires_at: row.try_get("expires_at")?,
        sovereign_fqdn: row.try_get("sovereign_fqdn")?,
        load_balancer_ip: row.try_get("load_balancer_ip")?,
        load_balancer_ipv6: row.try_get("load_balancer_ipv6")?,
        reservation_token_hash,
        committed_token_hash: row.try_get("committed_token_hash")?,
        created_by: row.try_get("created_by")?,
        idempotency_key: row.try_get("idempotency_key")?,
        owner: row.try_get("owner")?,
    })
}

async fn read(
    conn: &mut AnyConnection,
    pool_domain: &str,
    subdomain: &str,
) -> Result<Option<Allocation>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM pool_allocations WHERE pool_domain = $1 AND subdomain = $2"
    ))
    .bind(pool_domain)
    .bind(subdomain)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(allocation_from_row).transpose()
}

/// The columns a decision may change after insertion, bound in this
/// order by [`bind_changeable`] as `$1`–`$8`.
const CHANGEABLE: &str = "state, expires_at, sovereign_fqdn, load_balancer_ip, \
    load_balancer_ipv6, reservation_token_hash, committed_token_hash, owner";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `a`'s [`CHANGEABLE`] columns.
fn bind_changeable<'q>(q: AnyQuery<'q>, a: &'q Allocation) -> AnyQuery<'q> {
    q.bind(a.state.as_str())
        .bind(a.expires_at)
        .bind(a.sovereign_fqdn.as_deref())
        .bind(a.load_balancer_ip.as_deref())
        .bind(a.load_balancer_ipv6.as_deref())
        .bind(a.reservation_token_hash.as_deref())
        .bind(a.committed_token_hash.as_deref())
        .bind(a.owner.as_deref())
}

/// Writes `save.row` as `save.write` says; false when the row is no longer
/// as read (a concurrent change won).
async fn write(conn: &mut AnyConnection, save: &Save) -> Result<bool, StoreError> {
    let new = &save.row;
    match &save.write {
        Write::Insert { replaces } => {
            if let Some(old) = replaces {
                let gone = sqlx::query(
                    "DELETE FROM pool_allocations WHERE pool_domain = $1 AND subdomain = $2 \
                     AND incarnation = $3 AND state = $4",
                )
                .bind(&old.pool_domain)
                .bind(&old.subdomain)
                .bind(&old.incarnation)
                .bind(old.state.as_str())
                .execute(&mut *conn)
                .await?;
                if gone.rows_affected() != 1 {
                    return Ok(false);
                }
            }
            // ON CONFLICT: a concurrent reserve inserted first (PostgreSQL).
            let sql = format!(
                "INSERT INTO pool_allocations ({CHANGEABLE}, pool_domain, subdomain, incarnation, \
                 reserved_at, created_by, idempotency_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (pool_domain, subdomain) DO NOTHING"
            );
            let inserted = bind_changeable(sqlx::query(&sql), new)
                .bind(&new.pool_domain)
                .bind(&new.subdomain)
                .bind(&new.incarnation)
                .bind(new.reserved_at)
                .bind(&new.created_by)
                .bind(new.idempotency_key.as_deref())
                .execute(&mut *conn)
                .await?;
            Ok(inserted.rows_affected() == 1)
        }
        Write::Update { from } => {
            let sets: Vec<String> = CHANGEABLE
                .split(", ")
                .enumerate()
                .map(|(i, column)| format!("{column} = ${}", i + 1))
                .collect();
            // The legacy plaintext column is cleared by every write.
            let sql = format!(
                "UPDATE pool_allocations SET {}, reservation_token = NULL \
                 WHERE pool_domain = $9 AND subdomain = $10 AND incarnation = $11 AND state = $12",
                sets.join(", ")
            );
            let updated = bind_changeable(sqlx::query(&sql), new)
                .bind(&new.pool_domain)
                .bind(&new.subdomain)
                .bind(&new.incarnation)
                .bind(from.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(updated.rows_affected() == 1)
        }
    }
}

impl Store {
    /// One allocation, in any state.
    pub async fn get(
        &self,
        pool_domain: &str,
        subdomain: &str,
    ) -> Result<Option<Allocation>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        read(&mut conn, pool_domain, subdomain).await
    }

    /// A pool's allocations, ordered by label.
    pub async fn list(&self, pool_domain: &str) -> Result<Vec<Allocation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM pool_allocations WHERE pool_domain = $1 ORDER BY subdomain"
        ))
        .bind(pool_domain)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(allocation_from_row).collect()
    }

    /// Count of allocations per (pool, state), for metrics.
    pub async fn counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT pool_domain, state, COUNT(*) AS n FROM pool_allocations GROUP BY pool_domain, state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// Decides `request` on the current row ([`allocator::decide`]) and
    /// saves what the decision says, with its DNS work, in one
    /// transaction. A write conditioned on the row as read that touches
    /// nothing means a concurrent change won: read and decide again.
    pub async fn apply(&self, request: &Request, now: UnixTime) -> Result<Outcome, StoreError> {
        let (pool, label) = (request.pool.as_str(), request.label.as_str());
        for _ in 0..RACE_RETRIES {
            let mut tx = self.pool.begin().await?;
            let row = read(&mut tx, pool, label).await?;
            let save = match allocator::decide(row.as_ref(), request, now) {
                Decision::Refuse(why) => return Ok(Outcome::Refused(why)),
                Decision::Unchanged(row) => return Ok(Outcome::Unchanged(row)),
                Decision::Save(save) => save,
            };
            if !write(&mut tx, &save).await? {
                continue;
            }
            for (incarnation, effect) in &save.effects {
                enqueue(&mut tx, pool, label, incarnation, effect, now).await?;
            }
            tx.commit().await?;
            return Ok(Outcome::Saved(save.answer));
        }
        match request.op {
            // Every round lost to another reserve of the name: it is taken.
            Op::Reserve(_) => Ok(Outcome::Refused(Refusal::Conflict)),
            _ => Err(StoreError::Corrupt(format!(
                "{pool}/{label}: kept losing races"
            ))),
        }
    }

    /// The sweeper's step: atomically moves up to `limit` lapsed
    /// reservations to `expiring` and queues their teardown. A row renewed,
    /// committed or re-reserved meanwhile is left alone (the update's
    /// condition fails), and the row itself goes only when its teardown
    /// succeeds (PDM §10.3).
    pub async fn claim_expired(
        &self,
        now: UnixTime,
        limit: i64,
    ) -> Result<Vec<Allocation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM pool_allocations WHERE state = 'reserved' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for row in rows.iter().map(allocation_from_row) {
            let row = row?;
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE pool_allocations SET state = 'expiring' WHERE pool_domain = $1 \
                 AND subdomain = $2 AND incarnation = $3 AND state = 'reserved' AND expires_at <= $4",
            )
            .bind(&row.pool_domain)
            .bind(&row.subdomain)
            .bind(&row.incarnation)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                continue;
            }
            enqueue(
                &mut tx,
                &row.pool_domain,
                &row.subdomain,
                &row.incarnation,
                &allocator::teardown(&row),
                now,
            )
            .await?;
            tx.commit().await?;
            claimed.push(Allocation {
                state: State::Expiring,
                ..row
            });
        }
        Ok(claimed)
    }
}
