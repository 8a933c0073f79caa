//! Allocation state changes, each one transaction that also queues the DNS
//! work it implies (see [`super::outbox`]).
//!
//! Every transaction reads the row, decides, then writes with a condition
//! on the incarnation and state it read; if the write touches no row, a
//! concurrent change won and the decision is made again on fresh data.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::enqueue;
use super::{Store, StoreError};
use crate::effects::Effect;
use crate::model::{Allocation, State, UnixTime, token_hash};

/// How often a transaction is re-run after losing a race.
const RACE_RETRIES: usize = 5;

/// Result of [`Store::reserve`].
#[derive(Debug)]
pub enum ReserveOutcome {
    /// A new reservation; its provisioning is queued.
    Reserved(Allocation),
    /// The same `Idempotency-Key` already holds this live reservation.
    Replayed(Allocation),
    /// The name is reserved (not expired) or active.
    Conflict,
}

/// Result of [`Store::commit`] and [`Store::renew`].
#[derive(Debug)]
pub enum CommitOutcome {
    /// The row is (now) active; publishing the records is queued.
    Committed(Allocation),
    /// Renew: the reservation's expiry moved.
    Renewed(Allocation),
    /// No reservation (or it is being released).
    NotFound,
    /// Active, and the token is not the one it was committed with.
    AlreadyActive,
    /// The reservation lapsed before commit.
    Expired,
    /// The token is wrong.
    TokenMismatch,
}

/// Result of [`Store::release`].
#[derive(Debug)]
pub enum ReleaseOutcome {
    /// The row is releasing (as it was before this call, returned here);
    /// its teardown is queued and the row goes once it succeeds.
    Releasing(Box<Allocation>),
    /// No such allocation.
    NotFound,
}

/// What a commit stores.
#[derive(Clone, Debug)]
pub struct CommitRequest<'a> {
    /// The token from reserve.
    pub token: &'a str,
    /// As given; stored only.
    pub sovereign_fqdn: Option<&'a str>,
    /// A target (validated by the caller).
    pub ipv4: &'a str,
    /// AAAA target (validated by the caller).
    pub ipv6: Option<&'a str>,
}

const COLUMNS: &str = "pool_domain, subdomain, state, incarnation, reserved_at, expires_at, \
    sovereign_fqdn, load_balancer_ip, load_balancer_ipv6, reservation_token, \
    committed_token_hash, created_by, idempotency_key";

fn allocation_from_row(row: &AnyRow) -> Result<Allocation, StoreError> {
    let state: String = row.try_get("state")?;
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
        reservation_token: row.try_get("reservation_token")?,
        committed_token_hash: row.try_get("committed_token_hash")?,
        created_by: row.try_get("created_by")?,
        idempotency_key: row.try_get("idempotency_key")?,
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

fn teardown(a: &Allocation) -> Effect {
    Effect::Teardown {
        zone: a.fqdn(),
        parent: a.pool_domain.clone(),
    }
}

fn publish(a: &Allocation) -> Effect {
    Effect::Publish {
        zone: a.fqdn(),
        ipv4: a.load_balancer_ip.clone().unwrap_or_default(),
        ipv6: a.load_balancer_ipv6.clone(),
    }
}

/// Constant-time comparison of a presented token with the stored one.
fn same_token(presented: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// Whether `token` is the reservation's token. PDM answers a token that is
/// not even a UUID like a wrong one (403).
fn holds_reservation(row: &Allocation, token: &str) -> bool {
    uuid::Uuid::parse_str(token).is_ok()
        && row
            .reservation_token
            .as_deref()
            .is_some_and(|t| same_token(token, t))
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

    /// NULL → reserved. A lapsed reservation, or one on its way out, is
    /// replaced, its teardown queued first so the new child zone is built
    /// from scratch (fresh keys), never reused (PDM §10.3d).
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve(
        &self,
        pool_domain: &str,
        subdomain: &str,
        created_by: &str,
        idempotency_key: Option<&str>,
        nameservers: &[String],
        ttl_secs: i64,
        now: UnixTime,
    ) -> Result<ReserveOutcome, StoreError> {
        for _ in 0..RACE_RETRIES {
            let mut tx = self.pool.begin().await?;
            if let Some(old) = read(&mut tx, pool_domain, subdomain).await? {
                let live = old.state == State::Active
                    || (old.state == State::Reserved && old.expires_at.is_some_and(|e| e > now));
                if live {
                    let same_key = old.state == State::Reserved
                        && idempotency_key.is_some()
                        && old.idempotency_key.as_deref() == idempotency_key;
                    return Ok(if same_key {
                        ReserveOutcome::Replayed(old)
                    } else {
                        ReserveOutcome::Conflict
                    });
                }
                let gone = sqlx::query(
                    "DELETE FROM pool_allocations WHERE pool_domain = $1 AND subdomain = $2 \
                     AND incarnation = $3 AND state = $4",
                )
                .bind(pool_domain)
                .bind(subdomain)
                .bind(&old.incarnation)
                .bind(old.state.as_str())
                .execute(&mut *tx)
                .await?;
                if gone.rows_affected() != 1 {
                    continue;
                }
                // Releasing and expiring rows have their teardown queued
                // already; a lapsed reservation does not.
                if old.state == State::Reserved {
                    enqueue(
                        &mut tx,
                        pool_domain,
                        subdomain,
                        &old.incarnation,
                        &teardown(&old),
                        now,
                    )
                    .await?;
                }
            }
            let alloc = Allocation {
                pool_domain: pool_domain.to_owned(),
                subdomain: subdomain.to_owned(),
                state: State::Reserved,
                incarnation: uuid::Uuid::new_v4().to_string(),
                reserved_at: now,
                expires_at: Some(now + ttl_secs),
                sovereign_fqdn: None,
                load_balancer_ip: None,
                load_balancer_ipv6: None,
                reservation_token: Some(uuid::Uuid::new_v4().to_string()),
                committed_token_hash: None,
                created_by: created_by.to_owned(),
                idempotency_key: idempotency_key.map(str::to_owned),
            };
            let inserted = sqlx::query(
                "INSERT INTO pool_allocations (pool_domain, subdomain, state, incarnation, reserved_at, \
                 expires_at, reservation_token, created_by, idempotency_key) \
                 VALUES ($1, $2, 'reserved', $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (pool_domain, subdomain) DO NOTHING",
            )
            .bind(pool_domain)
            .bind(subdomain)
            .bind(&alloc.incarnation)
            .bind(alloc.reserved_at)
            .bind(alloc.expires_at)
            .bind(alloc.reservation_token.as_deref())
            .bind(created_by)
            .bind(idempotency_key)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() != 1 {
                // A concurrent reserve inserted first (PostgreSQL); decide
                // again on its row.
                continue;
            }
            let provision = Effect::Provision {
                zone: alloc.fqdn(),
                parent: pool_domain.to_owned(),
                nameservers: nameservers.to_vec(),
            };
            enqueue(
                &mut tx,
                pool_domain,
                subdomain,
                &alloc.incarnation,
                &provision,
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(ReserveOutcome::Reserved(alloc));
        }
        Ok(ReserveOutcome::Conflict)
    }

    /// reserved → active, or, for an active row committed with this same
    /// token, a re-commit that queues the records again (PDM §10.1).
    pub async fn commit(
        &self,
        pool_domain: &str,
        subdomain: &str,
        req: &CommitRequest<'_>,
        now: UnixTime,
    ) -> Result<CommitOutcome, StoreError> {
        let hash = token_hash(req.token);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.pool.begin().await?;
            let Some(row) = read(&mut tx, pool_domain, subdomain).await? else {
                return Ok(CommitOutcome::NotFound);
            };
            match row.state {
                State::Releasing => return Ok(CommitOutcome::NotFound),
                State::Expiring => return Ok(CommitOutcome::Expired),
                State::Active => {
                    let same = row
                        .committed_token_hash
                        .as_deref()
                        .is_some_and(|h| same_token(&hash, h));
                    if !same {
                        return Ok(CommitOutcome::AlreadyActive);
                    }
                }
                State::Reserved => {
                    if row.expires_at.is_none_or(|e| e <= now) {
                        return Ok(CommitOutcome::Expired);
                    }
                    if !holds_reservation(&row, req.token) {
                        return Ok(CommitOutcome::TokenMismatch);
                    }
                }
            }
            let updated = sqlx::query(
                "UPDATE pool_allocations SET state = 'active', expires_at = NULL, \
                 reservation_token = NULL, committed_token_hash = $1, sovereign_fqdn = $2, \
                 load_balancer_ip = $3, load_balancer_ipv6 = $4 \
                 WHERE pool_domain = $5 AND subdomain = $6 AND incarnation = $7 AND state = $8",
            )
            .bind(&hash)
            .bind(req.sovereign_fqdn)
            .bind(req.ipv4)
            .bind(req.ipv6)
            .bind(pool_domain)
            .bind(subdomain)
            .bind(&row.incarnation)
            .bind(row.state.as_str())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                continue;
            }
            let active = Allocation {
                state: State::Active,
                expires_at: None,
                reservation_token: None,
                committed_token_hash: Some(hash.clone()),
                sovereign_fqdn: req.sovereign_fqdn.map(str::to_owned),
                load_balancer_ip: Some(req.ipv4.to_owned()),
                load_balancer_ipv6: req.ipv6.map(str::to_owned),
                ..row
            };
            enqueue(
                &mut tx,
                pool_domain,
                subdomain,
                &active.incarnation,
                &publish(&active),
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(CommitOutcome::Committed(active));
        }
        Err(StoreError::Corrupt("commit kept losing races".into()))
    }

    /// Extends a live reservation to `now + ttl_secs` (our `/renew`).
    pub async fn renew(
        &self,
        pool_domain: &str,
        subdomain: &str,
        token: &str,
        ttl_secs: i64,
        now: UnixTime,
    ) -> Result<CommitOutcome, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = read(&mut conn, pool_domain, subdomain).await? else {
            return Ok(CommitOutcome::NotFound);
        };
        match row.state {
            State::Releasing => return Ok(CommitOutcome::NotFound),
            State::Expiring => return Ok(CommitOutcome::Expired),
            State::Active => return Ok(CommitOutcome::AlreadyActive),
            State::Reserved => {}
        }
        if row.expires_at.is_none_or(|e| e <= now) {
            return Ok(CommitOutcome::Expired);
        }
        if !holds_reservation(&row, token) {
            return Ok(CommitOutcome::TokenMismatch);
        }
        let expires = now + ttl_secs;
        // The expiry condition keeps the sweeper's claim and a renew from
        // both succeeding.
        let updated = sqlx::query(
            "UPDATE pool_allocations SET expires_at = $1 WHERE pool_domain = $2 AND subdomain = $3 \
             AND incarnation = $4 AND state = 'reserved' AND expires_at > $5",
        )
        .bind(expires)
        .bind(pool_domain)
        .bind(subdomain)
        .bind(&row.incarnation)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(CommitOutcome::Expired);
        }
        Ok(CommitOutcome::Renewed(Allocation {
            expires_at: Some(expires),
            ..row
        }))
    }

    /// Any live state → releasing, with the teardown queued. Releasing an
    /// allocation that is already releasing returns it again, so a retried
    /// release re-runs the teardown (PDM §10.1).
    pub async fn release(
        &self,
        pool_domain: &str,
        subdomain: &str,
        now: UnixTime,
    ) -> Result<ReleaseOutcome, StoreError> {
        for _ in 0..RACE_RETRIES {
            let mut tx = self.pool.begin().await?;
            let Some(row) = read(&mut tx, pool_domain, subdomain).await? else {
                return Ok(ReleaseOutcome::NotFound);
            };
            if row.state == State::Releasing {
                return Ok(ReleaseOutcome::Releasing(Box::new(row)));
            }
            let updated = sqlx::query(
                "UPDATE pool_allocations SET state = 'releasing' \
                 WHERE pool_domain = $1 AND subdomain = $2 AND incarnation = $3 AND state = $4",
            )
            .bind(pool_domain)
            .bind(subdomain)
            .bind(&row.incarnation)
            .bind(row.state.as_str())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                continue;
            }
            // An expiring row's teardown is queued already.
            if row.state != State::Expiring {
                enqueue(
                    &mut tx,
                    pool_domain,
                    subdomain,
                    &row.incarnation,
                    &teardown(&row),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(ReleaseOutcome::Releasing(Box::new(row)));
        }
        Err(StoreError::Corrupt("release kept losing races".into()))
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
                &teardown(&row),
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
