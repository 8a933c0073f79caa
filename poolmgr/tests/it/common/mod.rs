//! Shared by poolmgr's integration tests: a fresh database of each
//! backend. PostgreSQL comes from `POOLMGR_TEST_POSTGRES_URL` (a role that
//! may create databases, e.g. `postgres://poolmgr:poolmgr@127.0.0.1/postgres`);
//! each test gets its own database, dropped when it ends.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use poolmgr::store::Store;
use sqlx::Executor;

/// A database for one test; dropped (PostgreSQL) or deleted (SQLite) after.
pub struct TestDb {
    /// The URL poolmgr connects with.
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh SQLite file.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("poolmgr.db").display());
        TestDb {
            url,
            admin_url: None,
            name: String::new(),
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured
    /// (outside CI only: in CI a missing server fails the test).
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("POOLMGR_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set POOLMGR_TEST_POSTGRES_URL so that the PostgreSQL backend is tested"
            );
            eprintln!("POOLMGR_TEST_POSTGRES_URL unset: skipping the PostgreSQL variant");
            return None;
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "poolmgr_t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut conn = connect_admin(&admin_url).await;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let (base, _) = admin_url.rsplit_once('/').expect("URL has a database part");
        Some(TestDb {
            url: format!("{base}/{name}"),
            admin_url: Some(admin_url),
            name,
            _dir: None,
        })
    }

    /// Connects poolmgr's store to it.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("connect store")
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to POOLMGR_TEST_POSTGRES_URL")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin) = self.admin_url.clone() else {
            return;
        };
        let name = self.name.clone();
        // A plain thread with its own runtime: Drop may run inside a
        // runtime that is shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = connect_admin(&admin).await;
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            });
        })
        .join();
    }
}

/// Runs `body` against SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:expr;)+) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::sqlite();
                    ($body)(db.store().await).await;
                }
            )+
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::common::TestDb::postgres().await else { return };
                    ($body)(db.store().await).await;
                }
            )+
        }
    };
}
