//! The store's state machine and outbox, run against SQLite and a real
//! PostgreSQL server alike.

use crate::common;
use poolmgr::allocator::{
    Actor, Commit, IdempotencyKey, Label, LbIpPolicy, LbIpv4, Op, Outcome, PoolDomain, Refusal,
    Request, ReservationToken, Reserve,
};
use poolmgr::effects::Effect;
use poolmgr::model::{State, token_hash};
use poolmgr::store::Store;

const POOL: &str = "omani.works";
const NS: &[&str] = &["ns1.openova.io", "ns2.openova.io"];
const T0: i64 = 1_800_000_000;
const TTL: i64 = 7200;

fn ns() -> Vec<String> {
    NS.iter().map(|s| s.to_string()).collect()
}

/// The identity the helpers below act as (a caller token).
const OWNER: &str = "catalyst-api";

/// Decides and saves `op` on `<sub>.omani.works` at `now`, as [`OWNER`].
async fn apply(store: &Store, sub: &str, op: Op, now: i64) -> Outcome {
    apply_as(store, sub, op, now, Actor::caller(OWNER)).await
}

async fn apply_as(store: &Store, sub: &str, op: Op, now: i64, actor: Actor) -> Outcome {
    let request = Request {
        pool: PoolDomain::new(POOL),
        label: Label::parse(sub).unwrap(),
        op,
        actor,
    };
    store.apply(&request, now).await.unwrap()
}

/// A reserve's outcome and the token it issued (which the store keeps
/// only as a hash).
async fn reserve_keyed(
    store: &Store,
    sub: &str,
    by: &str,
    key: Option<&str>,
    now: i64,
) -> (Outcome, String) {
    let key = key.and_then(IdempotencyKey::parse);
    let r = Reserve::new(by, key, TTL, ns());
    let token = r.token.expose().to_owned();
    (apply(store, sub, Op::Reserve(r), now).await, token)
}

async fn reserve(store: &Store, sub: &str, now: i64) -> (Outcome, String) {
    reserve_keyed(store, sub, "catalyst-api", None, now).await
}

fn token_of((outcome, token): (Outcome, String)) -> String {
    match outcome {
        Outcome::Saved(_) => token,
        other => panic!("expected Saved, got {other:?}"),
    }
}

fn req(token: &str) -> Commit {
    req_ip(token, "203.0.113.7")
}

fn req_ip(token: &str, ipv4: &str) -> Commit {
    Commit {
        token: ReservationToken::parse(token),
        sovereign_fqdn: Some("omantel.omani.works".into()),
        ipv4: LbIpv4::parse(ipv4, LbIpPolicy::default()).unwrap(),
        ipv6: None,
    }
}

async fn commit(store: &Store, sub: &str, c: Commit, now: i64) -> Outcome {
    apply(store, sub, Op::Commit(c), now).await
}

async fn renew(store: &Store, sub: &str, token: &str, now: i64) -> Outcome {
    let op = Op::Renew {
        token: ReservationToken::parse(token),
        ttl_secs: TTL,
    };
    apply(store, sub, op, now).await
}

async fn release(store: &Store, sub: &str, now: i64) -> Outcome {
    apply(store, sub, Op::Release, now).await
}

fn refused(why: Refusal) -> Outcome {
    Outcome::Refused(why)
}

async fn kinds(store: &Store) -> Vec<(String, &'static str)> {
    store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let kind = match e.effect {
                Effect::Provision { .. } => "provision",
                Effect::Publish { .. } => "publish",
                Effect::Teardown { .. } => "teardown",
            };
            (e.subdomain, kind)
        })
        .collect()
}

/// Applies (without DNS) every queued entry, as a worker that succeeds.
async fn complete_all(store: &Store) {
    for e in store.outbox_all().await.unwrap() {
        store.outbox_complete(&e).await.unwrap();
    }
}

both_backends! {
    reserve_then_conflict_and_idempotent_replay => |store: Store| async move {
        let (first, issued) = reserve(&store, "omantel", T0).await;
        let Outcome::Saved(a) = first else { panic!("{first:?}") };
        assert_eq!(a.state, State::Reserved);
        assert_eq!(a.expires_at, Some(T0 + TTL));
        assert!(uuid::Uuid::parse_str(&issued).is_ok());
        assert_eq!(a.reservation_token_hash, Some(token_hash(&issued)));
        assert_eq!(kinds(&store).await, [("omantel".to_string(), "provision")]);
        assert_eq!(reserve(&store, "omantel", T0 + 1).await.0, refused(Refusal::Conflict));
        // Idempotency-Key: same key replays (the same reservation, with a
        // fresh token in place of the first), another key conflicts.
        let (keyed, first_token) = reserve_keyed(&store, "keyed", "crossplane", Some("k1"), T0).await;
        let Outcome::Saved(k) = keyed else { panic!() };
        let (again, second_token) =
            reserve_keyed(&store, "keyed", "crossplane", Some("k1"), T0 + 5).await;
        let Outcome::Saved(r) = again else { panic!("{again:?}") };
        assert_eq!((r.incarnation.as_str(), r.expires_at), (k.incarnation.as_str(), k.expires_at));
        assert_ne!(first_token, second_token);
        let other = reserve_keyed(&store, "keyed", "crossplane", Some("k2"), T0 + 5).await;
        assert_eq!(other.0, refused(Refusal::Conflict));
        // No second provision was queued by the replay.
        assert_eq!(kinds(&store).await.len(), 2);
        // Only the last token issued commits.
        assert_eq!(commit(&store, "keyed", req(&first_token), T0 + 6).await, refused(Refusal::TokenMismatch));
        assert!(matches!(commit(&store, "keyed", req(&second_token), T0 + 6).await, Outcome::Saved(_)));
    };

    commit_checks_in_pdm_order => |store: Store| async move {
        assert_eq!(commit(&store, "nobody", req("x"), T0).await, refused(Refusal::NotFound));
        let token = token_of(reserve(&store, "omantel", T0).await);
        assert_eq!(commit(&store, "omantel", req("not-a-uuid"), T0).await, refused(Refusal::TokenMismatch));
        let wrong = uuid::Uuid::new_v4().to_string();
        assert_eq!(commit(&store, "omantel", req(&wrong), T0).await, refused(Refusal::TokenMismatch));
        // Expiry is checked before the token.
        assert_eq!(commit(&store, "omantel", req(&wrong), T0 + TTL).await, refused(Refusal::Expired));
        let Outcome::Saved(a) = commit(&store, "omantel", req(&token), T0 + 10).await else { panic!() };
        assert_eq!(a.state, State::Active);
        assert_eq!(a.expires_at, None);
        assert_eq!(a.reservation_token_hash, None);
        let row = store.get(POOL, "omantel").await.unwrap().unwrap();
        assert_eq!(row.reservation_token_hash, None);
        assert_eq!(row.load_balancer_ip.as_deref(), Some("203.0.113.7"));
        // A retry with the same token re-queues the records (§10.1) ...
        let retry = req_ip(&token, "203.0.113.8");
        assert!(matches!(commit(&store, "omantel", retry, T0 + 20).await, Outcome::Saved(_)));
        assert_eq!(
            kinds(&store).await.iter().filter(|(_, k)| *k == "publish").count(),
            2
        );
        assert_eq!(store.get(POOL, "omantel").await.unwrap().unwrap().load_balancer_ip.as_deref(), Some("203.0.113.8"));
        // ... and another token is still 409. Active rows never expire.
        assert_eq!(commit(&store, "omantel", req(&wrong), T0 + TTL * 10).await, refused(Refusal::AlreadyActive));
        assert!(store.claim_expired(T0 + TTL * 10, 100).await.unwrap().is_empty());
    };

    release_is_retryable_and_row_goes_after_teardown => |store: Store| async move {
        assert_eq!(release(&store, "nobody", T0).await, refused(Refusal::NotFound));
        let token = token_of(reserve(&store, "omantel", T0).await);
        commit(&store, "omantel", req(&token), T0).await;
        complete_all(&store).await;
        let Outcome::Saved(freed) = release(&store, "omantel", T0 + 1).await else { panic!() };
        assert_eq!(freed.state, State::Active);
        // A retry finds it releasing and queues no second teardown.
        assert!(matches!(release(&store, "omantel", T0 + 2).await, Outcome::Unchanged(_)));
        assert_eq!(kinds(&store).await, [("omantel".to_string(), "teardown")]);
        assert_eq!(store.get(POOL, "omantel").await.unwrap().unwrap().state, State::Releasing);
        // Commit of a releasing row: not found.
        assert_eq!(commit(&store, "omantel", req(&token), T0 + 3).await, refused(Refusal::NotFound));
        complete_all(&store).await;
        assert!(store.get(POOL, "omantel").await.unwrap().is_none());
        assert_eq!(release(&store, "omantel", T0 + 4).await, refused(Refusal::NotFound));
    };

    sweeper_claims_only_lapsed_reservations => |store: Store| async move {
        let t_old = token_of(reserve(&store, "old", T0).await);
        let t_renewed = token_of(reserve(&store, "renewed", T0).await);
        let t_committed = token_of(reserve(&store, "committed", T0).await);
        token_of(reserve(&store, "fresh", T0 + TTL - 1).await);
        complete_all(&store).await;
        assert!(matches!(renew(&store, "renewed", &t_renewed, T0 + 100).await, Outcome::Saved(_)));
        commit(&store, "committed", req(&t_committed), T0 + 100).await;
        complete_all(&store).await;
        let claimed = store.claim_expired(T0 + TTL, 100).await.unwrap();
        let names: Vec<_> = claimed.iter().map(|a| a.subdomain.as_str()).collect();
        assert_eq!(names, ["old"]);
        assert_eq!(store.get(POOL, "old").await.unwrap().unwrap().state, State::Expiring);
        assert_eq!(kinds(&store).await, [("old".to_string(), "teardown")]);
        // Claimed once only.
        assert!(store.claim_expired(T0 + TTL, 100).await.unwrap().is_empty());
        // An expiring row cannot be committed or renewed.
        assert_eq!(commit(&store, "old", req(&t_old), T0 + TTL).await, refused(Refusal::Expired));
        assert_eq!(renew(&store, "old", &t_old, T0 + TTL).await, refused(Refusal::Expired));
        complete_all(&store).await;
        assert!(store.get(POOL, "old").await.unwrap().is_none());
    };

    re_reserving_a_lapsed_name_tears_the_old_zone_down_first => |store: Store| async move {
        let Outcome::Saved(old) = reserve(&store, "omantel", T0).await.0 else { panic!() };
        complete_all(&store).await;
        // Lapsed but not yet swept: reserve replaces it.
        let Outcome::Saved(new) = reserve(&store, "omantel", T0 + TTL + 1).await.0 else { panic!() };
        assert_ne!(old.incarnation, new.incarnation);
        let queue = store.outbox_all().await.unwrap();
        assert_eq!(queue.len(), 2);
        assert!(matches!(queue[0].effect, Effect::Teardown { .. }));
        assert_eq!(queue[0].incarnation, old.incarnation);
        assert!(matches!(queue[1].effect, Effect::Provision { .. }));
        // Only the teardown is due (queues apply in order).
        let due = store.outbox_due(T0 + TTL + 1, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, queue[0].id);
        // Completing the old teardown leaves the new row alone.
        store.outbox_complete(&queue[0]).await.unwrap();
        let row = store.get(POOL, "omantel").await.unwrap().unwrap();
        assert_eq!(row.incarnation, new.incarnation);
        assert_eq!(row.state, State::Reserved);
    };

    release_supersedes_pending_provisioning => |store: Store| async move {
        reserve(&store, "omantel", T0).await;
        release(&store, "omantel", T0).await;
        let queue = store.outbox_all().await.unwrap();
        assert!(store.outbox_superseded(&queue[0]).await.unwrap());
        assert!(!store.outbox_superseded(&queue[1]).await.unwrap());
    };

    leases_keep_appliers_apart => |store: Store| async move {
        reserve(&store, "a", T0).await;
        reserve(&store, "b", T0).await;
        let due = store.outbox_due(T0, 10).await.unwrap();
        assert_eq!(due.len(), 2);
        assert!(store.outbox_claim(due[0].id, T0, T0 + 120).await.unwrap());
        assert!(!store.outbox_claim(due[0].id, T0 + 1, T0 + 121).await.unwrap());
        assert_eq!(store.outbox_due(T0 + 1, 10).await.unwrap().len(), 1);
        // A failure releases the lease and schedules the retry.
        store.outbox_fail(due[0].id, "boom", T0 + 30).await.unwrap();
        assert_eq!(store.outbox_due(T0 + 29, 10).await.unwrap().len(), 1);
        let later = store.outbox_due(T0 + 30, 10).await.unwrap();
        assert_eq!(later.len(), 2);
        let failed = later.iter().find(|e| e.id == due[0].id).unwrap();
        assert_eq!(failed.attempts, 1);
        assert_eq!(failed.last_error.as_deref(), Some("boom"));
        // An expired lease can be taken over.
        assert!(store.outbox_claim(due[1].id, T0, T0 + 10).await.unwrap());
        assert!(store.outbox_claim(due[1].id, T0 + 10, T0 + 20).await.unwrap());
    };

    concurrent_reserves_of_one_name_have_one_winner => |store: Store| async move {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                reserve_keyed(&store, "race", &format!("caller-{i}"), None, T0).await.0
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Outcome::Saved(_) => won += 1,
                Outcome::Refused(Refusal::Conflict) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(store.outbox_all().await.unwrap().len(), 1);
    };

    owners_are_stored_and_enforced => |store: Store| async move {
        let token = token_of(reserve(&store, "omantel", T0).await);
        let row = store.get(POOL, "omantel").await.unwrap().unwrap();
        assert_eq!(row.owner.as_deref(), Some(OWNER));
        let other = || Actor::caller("crossplane");
        let op = Op::Commit(req(&token));
        assert_eq!(apply_as(&store, "omantel", op, T0 + 1, other()).await, refused(Refusal::NotOwner));
        assert_eq!(apply_as(&store, "omantel", Op::Release, T0 + 1, other()).await, refused(Refusal::NotOwner));
        assert!(matches!(commit(&store, "omantel", req(&token), T0 + 2).await, Outcome::Saved(_)));
        assert_eq!(store.get(POOL, "omantel").await.unwrap().unwrap().owner.as_deref(), Some(OWNER));
        let released = apply_as(&store, "omantel", Op::Release, T0 + 3, Actor::operator("ops")).await;
        assert!(matches!(released, Outcome::Saved(_)), "{released:?}");
    };

    plaintext_tokens_left_by_an_old_replica_are_used_by_hash_and_cleared => |store: Store| async move {
        // As a replica still on the old code writes a reservation during a
        // rolling upgrade: plaintext token, no hash, no owner.
        let token = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO pool_allocations (pool_domain, subdomain, state, incarnation, reserved_at, \
             expires_at, reservation_token, created_by) VALUES ($1, 'legacy', 'reserved', 'i', $2, $3, $4, 'catalyst-api')",
        )
        .bind(POOL)
        .bind(T0)
        .bind(T0 + TTL)
        .bind(&token)
        .execute(store.pool())
        .await
        .unwrap();
        let row = store.get(POOL, "legacy").await.unwrap().unwrap();
        assert_eq!(row.reservation_token_hash, Some(token_hash(&token)));
        // Ownerless: the caller holding the token claims it by renewing.
        let renewed = renew(&store, "legacy", &token, T0 + 1).await;
        assert!(matches!(renewed, Outcome::Saved(_)), "{renewed:?}");
        let (plain, hash, owner): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
            "SELECT reservation_token, reservation_token_hash, owner FROM pool_allocations WHERE subdomain = 'legacy'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!((plain, hash, owner.as_deref()), (None, Some(token_hash(&token)), Some(OWNER)));
    };

    counts_by_pool_and_state => |store: Store| async move {
        let t = token_of(reserve(&store, "a", T0).await);
        reserve(&store, "b", T0).await;
        commit(&store, "a", req(&t), T0).await;
        let mut counts = store.counts().await.unwrap();
        counts.sort();
        assert_eq!(counts, [(POOL.into(), "active".into(), 1), (POOL.into(), "reserved".into(), 1)]);
    };
}

#[tokio::test]
async fn migrations_apply_once_and_reopen() {
    let db = common::TestDb::sqlite();
    let store = db.store().await;
    reserve(&store, "kept", T0).await;
    drop(store);
    let again = db.store().await;
    assert!(again.get(POOL, "kept").await.unwrap().is_some());
}

/// The migrations as `sqlx::migrate!` recorded them: (version, whether
/// it ran here rather than being baselined).
async fn recorded_migrations(store: &Store) -> Vec<(i64, bool)> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT version, execution_time FROM _sqlx_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    rows.into_iter().map(|(v, t)| (v, t > 0)).collect()
}

/// Builds a database as the hand-rolled migrations before sqlx::migrate!
/// left it: the first `versions` of the schema (the same SQL as the files
/// with those numbers) recorded in `schema_migrations`, plus one row.
async fn old_scheme(url: &str, backend: &str, versions: &[i64]) {
    sqlx::any::install_default_drivers();
    let url = match backend {
        "sqlite" => format!("{url}?mode=rwc"),
        _ => url.to_owned(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let files: [&str; 2] = match backend {
        "sqlite" => [
            include_str!("../../migrations/sqlite/0001_allocations_and_outbox.sql"),
            include_str!("../../migrations/sqlite/0002_byo_domains.sql"),
        ],
        _ => [
            include_str!("../../migrations/postgres/0001_allocations_and_outbox.sql"),
            include_str!("../../migrations/postgres/0002_byo_domains.sql"),
        ],
    };
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for &v in versions {
        sqlx::raw_sql(files[v as usize - 1])
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(v)
            .bind(T0)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO pool_allocations (pool_domain, subdomain, state, incarnation, reserved_at, created_by) \
         VALUES ($1, 'kept', 'active', 'i', $2, 'catalyst-api')",
    )
    .bind(POOL)
    .bind(T0)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

/// An old-scheme database opens: what it applied is baselined (recorded,
/// not run again), the rest is applied, and its rows are kept.
async fn old_scheme_is_baselined(db: common::TestDb, backend: &str) {
    old_scheme(&db.url, backend, &[1]).await;
    let store = db.store().await;
    assert_eq!(
        recorded_migrations(&store).await,
        [(1, false), (2, true), (3, true)]
    );
    assert!(store.get(POOL, "kept").await.unwrap().is_some());
    // Version 2 (BYO) ran: its table works.
    assert!(store.byo_get("acme.com").await.unwrap().is_none());
    drop(store);
    // Reopening changes nothing.
    let again = db.store().await;
    assert_eq!(
        recorded_migrations(&again).await,
        [(1, false), (2, true), (3, true)]
    );
}

#[tokio::test]
async fn old_scheme_sqlite_database_is_baselined() {
    old_scheme_is_baselined(common::TestDb::sqlite(), "sqlite").await;
}

#[tokio::test]
async fn old_scheme_postgres_database_is_baselined() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    old_scheme_is_baselined(db, "postgres").await;
}

/// Replicas starting together on a fresh PostgreSQL database: the
/// advisory lock lets one migrate while the others wait, so every start
/// succeeds and the schema is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_on_postgres_migrate_once() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for s in starts {
        stores.push(s.await.unwrap().expect("every replica starts"));
    }
    assert_eq!(
        recorded_migrations(&stores[0]).await,
        [(1, true), (2, true), (3, true)]
    );
    // One schema: each replica sees the others' writes.
    token_of(reserve(&stores[1], "shared", T0).await);
    assert!(stores[3].get(POOL, "shared").await.unwrap().is_some());
}

#[tokio::test]
async fn bad_database_urls_are_refused_clearly() {
    let err = Store::connect("mysql://x").await.unwrap_err().to_string();
    assert!(err.contains("sqlite://PATH or postgres://"), "{err}");
    let err = Store::connect("sqlite://").await.unwrap_err().to_string();
    assert!(err.contains("file path"), "{err}");
}

/// Version 3 on a database with plaintext reservation tokens: they are
/// hashed at the first start (SQLite has no SHA-256 in SQL, so poolmgr does
/// it after the migrations), the rows are ownerless, and the caller holding
/// a token claims its reservation by committing.
async fn plaintext_tokens_are_hashed_at_upgrade(db: common::TestDb, backend: &str) {
    old_scheme(&db.url, backend, &[1, 2]).await;
    let token = uuid::Uuid::new_v4().to_string();
    {
        let url = match backend {
            "sqlite" => format!("{}?mode=rwc", db.url),
            _ => db.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO pool_allocations (pool_domain, subdomain, state, incarnation, reserved_at, \
             expires_at, reservation_token, created_by) VALUES ($1, 'old', 'reserved', 'i', $2, $3, $4, 'catalyst-api')",
        )
        .bind(POOL)
        .bind(T0)
        .bind(T0 + TTL)
        .bind(&token)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let store = db.store().await;
    let (plain, hash, owner): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT reservation_token, reservation_token_hash, owner FROM pool_allocations WHERE subdomain = 'old'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((plain, hash, owner), (None, Some(token_hash(&token)), None));
    // Ownerless rows are the operators' to release ...
    assert_eq!(
        apply_as(
            &store,
            "old",
            Op::Release,
            T0 + 1,
            Actor::caller("crossplane")
        )
        .await,
        refused(Refusal::NotOwner)
    );
    // ... until the caller with the token claims it.
    let Outcome::Saved(a) = commit(&store, "old", req(&token), T0 + 1).await else {
        panic!()
    };
    assert_eq!(a.owner.as_deref(), Some(OWNER));
}

#[tokio::test]
async fn plaintext_tokens_are_hashed_at_upgrade_sqlite() {
    plaintext_tokens_are_hashed_at_upgrade(common::TestDb::sqlite(), "sqlite").await;
}

#[tokio::test]
async fn plaintext_tokens_are_hashed_at_upgrade_postgres() {
    let Some(db) = common::TestDb::postgres().await else {
        return;
    };
    plaintext_tokens_are_hashed_at_upgrade(db, "postgres").await;
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Hardening issue #19: the SQLite file and its `-wal` and `-shm` are
/// created readable by their owner only, whatever the umask lets through;
/// an existing file readable by others is narrowed at start.
#[tokio::test]
async fn the_sqlite_files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // A write, so that the WAL and its index exist.
    token_of(reserve(&store, "omantel", T0).await);
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        assert!(file.exists(), "{}", file.display());
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    store.pool().close().await;
    drop(store);

    // A database file made readable by others (a copy, a restore).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(store.get(POOL, "omantel").await.unwrap().is_some());
}
