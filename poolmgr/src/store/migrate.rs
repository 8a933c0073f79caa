//! The schema: `migrations/sqlite/` and `migrations/postgres/`, embedded
//! by `sqlx::migrate!` and applied at start, append-only.
//!
//! On PostgreSQL every step runs under one session-level advisory lock
//! (sqlx's `pg_advisory_lock` for this database), so replicas starting
//! together apply each migration once and the others wait, then find
//! nothing left to do. SQLite serialises writers on its own.
//!
//! Databases created before sqlx::migrate! recorded their versions in
//! `schema_migrations`; its versions 1 and 2 are the same SQL as files
//! 0001 and 0002, so they are *baselined*: recorded in `_sqlx_migrations`
//! as applied, never run again. The old table is left in place, so a
//! replica still on the old code can open the database during a rolling
//! upgrade.
//!
//! After the migrations, reservation tokens still in plaintext (rows from
//! before version 3, or written by an old replica since) are hashed in
//! place ([`hash_plaintext_tokens`]): SQLite has no SHA-256 in SQL, so this
//! step is Rust, the same on both backends, and runs at every start.

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{AnyConnection, Row};

use super::{Backend, StoreError};
use crate::model::token_hash;

/// The migrations of `backend`, with sqlx's own locking off: [`run`]
/// holds the lock across the baseline step too.
fn migrator(backend: Backend) -> Migrator {
    let mut m = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    m.set_locking(false);
    m
}

/// Baselines an old-scheme database, then applies what is pending, all
/// under the database's migration lock.
pub(super) async fn run(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    let migrator = migrator(backend);
    conn.lock().await?;
    let result: Result<(), StoreError> = async {
        baseline(conn, backend, &migrator).await?;
        migrator.run_direct(&mut *conn).await?;
        hash_plaintext_tokens(conn).await?;
        Ok(())
    }
    .await;
    // Unlocked whatever happened; a lock left behind would stall every
    // later start until this connection closes.
    let unlocked = conn.unlock().await;
    result?;
    unlocked?;
    Ok(())
}

/// Whether `table` exists.
async fn has_table(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<bool, StoreError> {
    let sql = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).bind(table).fetch_one(conn).await?;
    Ok(n > 0)
}

/// Records the versions the old scheme applied (in `schema_migrations`)
/// as applied in `_sqlx_migrations`, with this build's checksums.
async fn baseline(
    conn: &mut AnyConnection,
    backend: Backend,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    if !has_table(conn, backend, "schema_migrations").await? {
        return Ok(());
    }
    conn.ensure_migrations_table().await?;
    let old: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let applied: Vec<i64> = conn
        .list_applied_migrations()
        .await?
        .iter()
        .map(|m| m.version)
        .collect();
    for m in migrator.iter() {
        if !old.contains(&m.version) || applied.contains(&m.version) {
            continue;
        }
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0)",
        )
        .bind(m.version)
        .bind(m.description.to_string())
        .bind(m.checksum.to_vec())
        .execute(&mut *conn)
        .await?;
        tracing::info!(
            version = m.version,
            "baselined a migration applied by the old scheme"
        );
    }
    Ok(())
}

/// Replaces every plaintext reservation token by its hash. Each row is
/// updated only if its token is still the one read, so a concurrent write
/// (which clears the column itself) is never overwritten.
async fn hash_plaintext_tokens(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT pool_domain, subdomain, reservation_token FROM pool_allocations \
         WHERE reservation_token IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut hashed = 0u64;
    for row in &rows {
        let pool: String = row.try_get(0)?;
        let sub: String = row.try_get(1)?;
        let token: String = row.try_get(2)?;
        hashed += sqlx::query(
            "UPDATE pool_allocations SET reservation_token_hash = $1, reservation_token = NULL \
             WHERE pool_domain = $2 AND subdomain = $3 AND reservation_token = $4",
        )
        .bind(token_hash(&token))
        .bind(&pool)
        .bind(&sub)
        .bind(&token)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    if hashed > 0 {
        tracing::info!(rows = hashed, "hashed plaintext reservation tokens");
    }
    Ok(())
}
