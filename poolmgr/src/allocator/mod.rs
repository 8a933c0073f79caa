//! The allocation rules of PDM §3.4–§3.6 and §5 (with our fixes of §10),
//! as one pure function: [`decide`] takes the row as read, the request and
//! the time, and says what to write, what DNS work to queue, and what to
//! answer. No SQL, no HTTP, no clock: the store loads and saves, the API
//! parses and renders, and both follow the [`Decision`].
//!
//! The store writes a decision under a condition on the row it read (its
//! incarnation and state); when that write touches nothing, another writer
//! won, and the store reads again and asks again.
//!
//! # Ownership (hardening issue #19)
//!
//! An allocation belongs to the [`Actor`] identity that reserved it. Commit,
//! renew and release by another identity are refused ([`Refusal::NotOwner`])
//! unless the actor may act on any allocation (an operator token, or
//! authentication switched off, PDM's behaviour). An allocation without an
//! owner (reserved without authentication, or before owners were
//! recorded) is the operators' until a caller proves it holds it: a commit
//! or renew with its token (or a commit retry with the committed token)
//! claims it for that caller. Release carries no token, so it never claims.
//!
//! Reservation tokens are kept as SHA-256 hashes only; the token is in the
//! reserve's answer and nowhere else.

mod lb_ip;
mod names;
#[cfg(test)]
mod tests;

pub use lb_ip::{AddressClass, LbIpError, LbIpPolicy, classify};
pub use names::{IdempotencyKey, Label, LbIpv4, LbIpv6, PoolDomain, ReservationToken};

use subtle::ConstantTimeEq;

use crate::effects::Effect;
use crate::model::{Allocation, State, UnixTime, token_hash};

/// One request on one `<label>.<pool>`.
#[derive(Clone, Debug)]
pub struct Request {
    /// The pool.
    pub pool: PoolDomain,
    /// The label.
    pub label: Label,
    /// What is asked.
    pub op: Op,
    /// Who asks.
    pub actor: Actor,
}

/// Who asks, as authentication established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The identity that owns what it reserves; `None` without
    /// authentication.
    pub identity: Option<String>,
    /// Operator scope, or no authentication: may act on every allocation.
    pub acts_on_any: bool,
}

impl Actor {
    /// Authentication switched off: acts on anything, owns nothing.
    pub fn unauthenticated() -> Actor {
        Actor {
            identity: None,
            acts_on_any: true,
        }
    }

    /// A caller-scope token speaking for `identity`.
    pub fn caller(identity: &str) -> Actor {
        Actor {
            identity: Some(identity.to_owned()),
            acts_on_any: false,
        }
    }

    /// An operator-scope token speaking for `identity`.
    pub fn operator(identity: &str) -> Actor {
        Actor {
            identity: Some(identity.to_owned()),
            acts_on_any: true,
        }
    }

    /// Whether this actor may commit, renew or release `row` as it stands
    /// (an ownerless row may still be claimed with its token).
    fn may_act_on(&self, row: &Allocation) -> bool {
        self.acts_on_any || (row.owner.is_some() && row.owner == self.identity)
    }

    /// The owner `row` gets when this actor proves it holds it: a caller
    /// claims an ownerless row; anything else keeps its owner.
    fn claim(&self, row: &Allocation) -> Option<String> {
        match &row.owner {
            None if !self.acts_on_any => self.identity.clone(),
            owner => owner.clone(),
        }
    }
}

/// What a request asks.
#[derive(Clone, Debug)]
pub enum Op {
    /// NULL → reserved (PDM §3.4).
    Reserve(Reserve),
    /// reserved → active, or a retry of it (PDM §3.5, §10.1).
    Commit(Commit),
    /// Extends a live reservation (our `/renew`, PDM §9).
    Renew {
        /// The reservation's token; `None` when the one sent is not a UUID.
        token: Option<ReservationToken>,
        /// The new lifetime from now.
        ttl_secs: i64,
    },
    /// Any live state → releasing (PDM §3.6, §10.1).
    Release,
}

/// A reserve's inputs.
#[derive(Clone, Debug)]
pub struct Reserve {
    /// Who reserves.
    pub created_by: String,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The reservation's lifetime.
    pub ttl_secs: i64,
    /// The child's apex NS and delegation.
    pub nameservers: Vec<String>,
    /// The new row's incarnation (a fresh UUID), chosen by the caller so
    /// that deciding stays deterministic.
    pub incarnation: String,
    /// The new reservation's token (fresh), likewise.
    pub token: ReservationToken,
}

impl Reserve {
    /// A reserve with fresh random incarnation and token.
    pub fn new(
        created_by: &str,
        idempotency_key: Option<IdempotencyKey>,
        ttl_secs: i64,
        nameservers: Vec<String>,
    ) -> Reserve {
        Reserve {
            created_by: created_by.to_owned(),
            idempotency_key,
            ttl_secs,
            nameservers,
            incarnation: uuid::Uuid::new_v4().to_string(),
            token: ReservationToken::generate(),
        }
    }
}

/// A commit's inputs, validated by the API.
#[derive(Clone, Debug)]
pub struct Commit {
    /// The token from reserve; `None` when the one sent is not a UUID.
    pub token: Option<ReservationToken>,
    /// As given; stored only.
    pub sovereign_fqdn: Option<String>,
    /// A target.
    pub ipv4: LbIpv4,
    /// AAAA target.
    pub ipv6: Option<LbIpv6>,
}

/// Why a request is refused; nothing is written. Each is one PDM status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Reserve: the name is reserved (not expired) or active (409).
    Conflict,
    /// No reservation or allocation (404); a releasing row counts as none.
    NotFound,
    /// Commit or renew of an active row, not with its token (409).
    AlreadyActive,
    /// The reservation lapsed (410).
    Expired,
    /// The token is wrong or not a UUID (403).
    TokenMismatch,
    /// The allocation belongs to another identity, and the actor may not
    /// act on every allocation (403 `not-owner`).
    NotOwner,
}

/// How the row is written.
#[allow(clippy::large_enum_variant)] // one per request, like `Decision`
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Insert the new row; `replaces` (a row on its way out, or a lapsed
    /// reservation) is deleted first, if it is still as read.
    Insert {
        /// The row read, deleted by (incarnation, state).
        replaces: Option<Allocation>,
    },
    /// Overwrite the row read with the new one, if it is still the same
    /// incarnation in the same state.
    Update {
        /// The state read.
        from: State,
    },
}

/// What to write and answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Save {
    /// How.
    pub write: Write,
    /// The row after the write.
    pub row: Allocation,
    /// DNS work queued in the same transaction, in order, each with the
    /// incarnation it belongs to.
    pub effects: Vec<(String, Effect)>,
    /// What the caller is answered with (release answers with the row as
    /// it was).
    pub answer: Allocation,
}

/// The outcome of [`decide`].
// One per request, built and consumed once: boxing the large variants
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Refused; nothing is written.
    Refuse(Refusal),
    /// Already done (a retried release): nothing is written or queued;
    /// answer with this row.
    Unchanged(Allocation),
    /// Write, queue, answer.
    Save(Save),
}

/// What the store answers after deciding and saving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written; the allocation to answer with ([`Save::answer`]).
    Saved(Allocation),
    /// Nothing to write ([`Decision::Unchanged`]).
    Unchanged(Allocation),
    /// Refused.
    Refused(Refusal),
}

/// Decides `request` on `row` (the current row of its `<label>.<pool>`, if
/// any) at `now`.
pub fn decide(row: Option<&Allocation>, request: &Request, now: UnixTime) -> Decision {
    let actor = &request.actor;
    match &request.op {
        Op::Reserve(r) => reserve(row, request, r, now),
        Op::Commit(c) => commit(row, actor, c, now),
        Op::Renew { token, ttl_secs } => renew(row, actor, token.as_ref(), *ttl_secs, now),
        Op::Release => release(row, actor),
    }
}

/// What `/check` says of a valid, unreserved label in a managed pool
/// (PDM §3.3 rows 4–6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// No row, a lapsed reservation, or a row on its way out: a reserve
    /// would succeed (after the old teardown).
    Free,
    /// Reserved and not expired.
    Reserved,
    /// Active.
    Active,
}

/// The availability of the name whose row is `row`, at `now`.
pub fn availability(row: Option<&Allocation>, now: UnixTime) -> Availability {
    match row.map(|r| (r.state, r)) {
        None | Some((State::Releasing | State::Expiring, _)) => Availability::Free,
        Some((State::Reserved, r)) if lapsed(r, now) => Availability::Free,
        Some((State::Reserved, _)) => Availability::Reserved,
        Some((State::Active, _)) => Availability::Active,
    }
}

/// Whether a reserved row's time is up.
fn lapsed(row: &Allocation, now: UnixTime) -> bool {
    row.expires_at.is_none_or(|e| e <= now)
}

/// Constant-time comparison of a presented secret with the stored one.
fn same_secret(presented: &str, stored: &str) -> bool {
    presented.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// Whether `token` is the reservation's token (compared by hash: the
/// token itself is not kept).
fn holds_reservation(row: &Allocation, token: Option<&ReservationToken>) -> bool {
    match (token, row.reservation_token_hash.as_deref()) {
        (Some(t), Some(stored)) => same_secret(&token_hash(t.expose()), stored),
        _ => false,
    }
}

/// The DNS work that removes `a`'s child zone and delegation (also what
/// the sweeper queues for a lapsed reservation).
pub fn teardown(a: &Allocation) -> Effect {
    Effect::Teardown {
        zone: a.fqdn(),
        parent: a.pool_domain.clone(),
    }
}

fn reserve(row: Option<&Allocation>, request: &Request, r: &Reserve, now: UnixTime) -> Decision {
    let mut effects = Vec::new();
    if let Some(old) = row {
        let live =
            old.state == State::Active || (old.state == State::Reserved && !lapsed(old, now));
        if live {
            // A replay is the same reservation, asked again by the same
            // identity with the same key. Its token was handed out once and
            // is not kept, so the replay issues a fresh one in its place
            // (the caller replays because it never got the first).
            let same_key = old.state == State::Reserved
                && r.idempotency_key.is_some()
                && old.idempotency_key.as_deref() == r.idempotency_key.as_ref().map(|k| k.as_str())
                && old.owner == request.actor.identity;
            return if same_key {
                let reissued = Allocation {
                    reservation_token_hash: Some(token_hash(r.token.expose())),
                    ..old.clone()
                };
                Decision::Save(Save {
                    write: Write::Update {
                        from: State::Reserved,
                    },
                    effects: Vec::new(),
                    answer: reissued.clone(),
                    row: reissued,
                })
            } else {
                Decision::Refuse(Refusal::Conflict)
            };
        }
        // A lapsed reservation is replaced, its teardown queued before the
        // new provisioning so the child zone is built from scratch, never
        // reused (§10.3d). Releasing and expiring rows have theirs queued.
        if old.state == State::Reserved {
            effects.push((old.incarnation.clone(), teardown(old)));
        }
    }
    let new = Allocation {
        pool_domain: request.pool.as_str().to_owned(),
        subdomain: request.label.as_str().to_owned(),
        state: State::Reserved,
        incarnation: r.incarnation.clone(),
        reserved_at: now,
        expires_at: Some(now + r.ttl_secs),
        sovereign_fqdn: None,
        load_balancer_ip: None,
        load_balancer_ipv6: None,
        reservation_token_hash: Some(token_hash(r.token.expose())),
        committed_token_hash: None,
        created_by: r.created_by.clone(),
        idempotency_key: r.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
        owner: request.actor.identity.clone(),
    };
    effects.push((
        new.incarnation.clone(),
        Effect::Provision {
            zone: new.fqdn(),
            parent: new.pool_domain.clone(),
            nameservers: r.nameservers.clone(),
        },
    ));
    Decision::Save(Save {
        write: Write::Insert {
            replaces: row.cloned(),
        },
        answer: new.clone(),
        row: new,
        effects,
    })
}

/// Whether `actor` is refused `row` for belonging to someone else: a row
/// with another owner, or an ownerless one when `claimable` is false.
fn foreign(row: &Allocation, actor: &Actor, claimable: bool) -> bool {
    !(actor.may_act_on(row) || (claimable && row.owner.is_none()))
}

/// PDM's commit order (§5): no row → 404, active → 409, expired → 410,
/// token → 403; plus ours: another owner → 403 `not-owner` right after
/// 404, and a retry with the committed token re-publishes.
fn commit(row: Option<&Allocation>, actor: &Actor, c: &Commit, now: UnixTime) -> Decision {
    let Some(row) = row else {
        return Decision::Refuse(Refusal::NotFound);
    };
    if row.state == State::Releasing {
        return Decision::Refuse(Refusal::NotFound);
    }
    // Before any state is told: a non-owner learns no more than /check
    // says. An ownerless row is claimed below if the token proves it.
    if foreign(row, actor, true) {
        return Decision::Refuse(Refusal::NotOwner);
    }
    // Hashed whether or not it is a UUID, so that a non-UUID token on an
    // active row is 409 like any other wrong one.
    let hash = c.token.as_ref().map(|t| token_hash(t.expose()));
    match row.state {
        State::Releasing => return Decision::Refuse(Refusal::NotFound),
        State::Expiring => return Decision::Refuse(Refusal::Expired),
        State::Active => {
            let same = match (&hash, row.committed_token_hash.as_deref()) {
                (Some(h), Some(stored)) => same_secret(h, stored),
                _ => false,
            };
            if !same {
                return Decision::Refuse(Refusal::AlreadyActive);
            }
        }
        State::Reserved => {
            if lapsed(row, now) {
                return Decision::Refuse(Refusal::Expired);
            }
            if !holds_reservation(row, c.token.as_ref()) {
                return Decision::Refuse(Refusal::TokenMismatch);
            }
        }
    }
    Decision::Save(commit_save(row, actor, c, hash))
}

fn commit_save(row: &Allocation, actor: &Actor, c: &Commit, hash: Option<String>) -> Save {
    let active = Allocation {
        state: State::Active,
        expires_at: None,
        reservation_token_hash: None,
        committed_token_hash: hash,
        owner: actor.claim(row),
        sovereign_fqdn: c.sovereign_fqdn.clone(),
        load_balancer_ip: Some(c.ipv4.as_str().to_owned()),
        load_balancer_ipv6: c.ipv6.as_ref().map(|v| v.as_str().to_owned()),
        ..row.clone()
    };
    let publish = Effect::Publish {
        zone: active.fqdn(),
        ipv4: c.ipv4.as_str().to_owned(),
        ipv6: c.ipv6.as_ref().map(|v| v.as_str().to_owned()),
    };
    Save {
        write: Write::Update { from: row.state },
        effects: vec![(active.incarnation.clone(), publish)],
        answer: active.clone(),
        row: active,
    }
}

fn renew(
    row: Option<&Allocation>,
    actor: &Actor,
    token: Option<&ReservationToken>,
    ttl_secs: i64,
    now: UnixTime,
) -> Decision {
    let Some(row) = row else {
        return Decision::Refuse(Refusal::NotFound);
    };
    if row.state == State::Releasing {
        return Decision::Refuse(Refusal::NotFound);
    }
    if foreign(row, actor, true) {
        return Decision::Refuse(Refusal::NotOwner);
    }
    match row.state {
        State::Releasing => return Decision::Refuse(Refusal::NotFound),
        State::Expiring => return Decision::Refuse(Refusal::Expired),
        State::Active => return Decision::Refuse(Refusal::AlreadyActive),
        State::Reserved => {}
    }
    if lapsed(row, now) {
        return Decision::Refuse(Refusal::Expired);
    }
    if !holds_reservation(row, token) {
        return Decision::Refuse(Refusal::TokenMismatch);
    }
    let renewed = Allocation {
        expires_at: Some(now + ttl_secs),
        owner: actor.claim(row),
        ..row.clone()
    };
    Decision::Save(Save {
        write: Write::Update {
            from: State::Reserved,
        },
        effects: Vec::new(),
        answer: renewed.clone(),
        row: renewed,
    })
}

/// Any live state → releasing, teardown queued; the row goes once the
/// teardown succeeds. A retry on a releasing row answers it again and
/// lets the queued teardown run (§10.1). Only the owner or an operator
/// may release; release has no token, so an ownerless row is the
/// operators'.
fn release(row: Option<&Allocation>, actor: &Actor) -> Decision {
    let Some(row) = row else {
        return Decision::Refuse(Refusal::NotFound);
    };
    if foreign(row, actor, false) {
        return Decision::Refuse(Refusal::NotOwner);
    }
    if row.state == State::Releasing {
        return Decision::Unchanged(row.clone());
    }
    let releasing = Allocation {
        state: State::Releasing,
        ..row.clone()
    };
    // An expiring row's teardown is queued already.
    let effects = if row.state == State::Expiring {
        Vec::new()
    } else {
        vec![(row.incarnation.clone(), teardown(row))]
    };
    Decision::Save(Save {
        write: Write::Update { from: row.state },
        effects,
        row: releasing,
        answer: row.clone(),
    })
}
