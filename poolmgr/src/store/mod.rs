//! The database: SQLite (`sqlite://PATH`, the embedded default) or
//! PostgreSQL (`postgres://…`, for several replicas), through one SQL
//! dialect and `sqlx::Any`.
//!
//! Every state change that implies DNS work inserts that work into
//! `dns_outbox` in the same transaction, so a crash can lose neither.
//! Row-level races are settled by conditional statements (`UPDATE … WHERE
//! state = …`, `INSERT … ON CONFLICT DO NOTHING`) whose affected-row count
//! says who won, which behaves the same on both backends.
//!
//! Times are Unix seconds (`BIGINT`), passed in by the caller, so tests
//! can move the clock.

mod allocations;
pub mod byo;
/// The schema: `migrations/<backend>/` through `sqlx::migrate!`, under
/// PostgreSQL's advisory lock; old-scheme databases are baselined.
mod migrate;
mod outbox;
mod sqlite_file;

pub use outbox::OutboxEntry;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file; one connection, so writers never meet.
    Sqlite,
    /// A server; up to 8 connections, as PDM.
    Postgres,
}

/// Database errors, typed by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite://` nor `postgres://`, or is malformed.
    #[error("database URL: {0}")]
    Url(String),
    /// The database failed (connection, SQL, constraint).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (corrupt row).
    #[error("database row: {0}")]
    Corrupt(String),
    /// The SQLite file could not be created or restricted to its owner.
    #[error("database file {path}: {error}")]
    File {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects (30 s timeout) and applies pending migrations (see
    /// `store/migrate.rs`).
    ///
    /// `sqlite://PATH` creates the file if missing, readable by its owner
    /// only (0600, see [`sqlite_file`]), and turns on WAL.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(StoreError::Url("sqlite:// needs a file path".into()));
            }
            sqlite_file::prepare(path)?;
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}{sep}mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::Url(
                "expected sqlite://PATH or postgres://USER@HOST/DB".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 1,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for the modules that add their own tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        migrate::run(&mut conn, self.backend).await
    }
}
