//! [`decide`] and [`availability`] without a database: one test per row
//! of pdm-api.md that a decision produces (§3.3 check, §3.4 reserve, §3.5
//! commit, §3.6 release, §9 renew, and the §10 fixes), named after the row.

use super::*;

const T0: UnixTime = 1_800_000_000;
const TTL: i64 = 7200;
const TOKEN: &str = "9b2f0a6e-1c1e-4f7b-8d53-1b1d2a3c4e5f";
const OTHER: &str = "0d6f3c1a-2b4e-4c8d-9e0f-112233445566";
/// The identity that reserved the rows below.
const OWNER: &str = "catalyst-api";

/// `op` asked by [`OWNER`] with a caller token.
fn request(op: Op) -> Request {
    request_as(op, Actor::caller(OWNER))
}

fn request_as(op: Op, actor: Actor) -> Request {
    Request {
        pool: PoolDomain::new("omani.works"),
        label: Label::parse("omantel").unwrap(),
        op,
        actor,
    }
}

fn reserve_op(key: Option<&str>) -> Op {
    Op::Reserve(Reserve {
        created_by: "catalyst-api".into(),
        idempotency_key: key.and_then(IdempotencyKey::parse),
        ttl_secs: TTL,
        nameservers: vec!["ns1.openova.io".into(), "ns2.openova.io".into()],
        incarnation: "inc-new".into(),
        token: ReservationToken::parse(OTHER).unwrap(),
    })
}

fn commit_op(token: &str) -> Op {
    Op::Commit(Commit {
        token: ReservationToken::parse(token),
        sovereign_fqdn: Some("omantel.omani.works".into()),
        ipv4: LbIpv4::parse("203.0.113.7", LbIpPolicy::default()).unwrap(),
        ipv6: None,
    })
}

fn renew_op(token: &str) -> Op {
    Op::Renew {
        token: ReservationToken::parse(token),
        ttl_secs: TTL,
    }
}

/// A reservation made at `T0` with [`TOKEN`], optionally keyed.
fn reserved(key: Option<&str>) -> Allocation {
    Allocation {
        pool_domain: "omani.works".into(),
        subdomain: "omantel".into(),
        state: State::Reserved,
        incarnation: "inc-old".into(),
        reserved_at: T0,
        expires_at: Some(T0 + TTL),
        sovereign_fqdn: None,
        load_balancer_ip: None,
        load_balancer_ipv6: None,
        reservation_token_hash: Some(token_hash(TOKEN)),
        committed_token_hash: None,
        created_by: "catalyst-api".into(),
        idempotency_key: key.map(str::to_owned),
        owner: Some(OWNER.into()),
    }
}

/// The same row committed with [`TOKEN`].
fn active() -> Allocation {
    Allocation {
        state: State::Active,
        expires_at: None,
        reservation_token_hash: None,
        committed_token_hash: Some(token_hash(TOKEN)),
        load_balancer_ip: Some("192.0.2.1".into()),
        ..reserved(None)
    }
}

fn in_state(state: State) -> Allocation {
    Allocation {
        state,
        ..reserved(None)
    }
}

fn saved(d: Decision) -> Save {
    match d {
        Decision::Save(s) => s,
        other => panic!("expected a write, got {other:?}"),
    }
}

fn kinds(s: &Save) -> Vec<(&str, &'static str)> {
    s.effects
        .iter()
        .map(|(inc, e)| {
            let kind = match e {
                Effect::Provision { .. } => "provision",
                Effect::Publish { .. } => "publish",
                Effect::Teardown { .. } => "teardown",
            };
            (inc.as_str(), kind)
        })
        .collect()
}

//----------- §3.3 check -------------------------------------------------------

#[test]
fn check_row_4_free_without_a_row_or_after_expiry() {
    assert_eq!(availability(None, T0), Availability::Free);
    assert_eq!(
        availability(Some(&reserved(None)), T0 + TTL),
        Availability::Free
    );
    for state in [State::Releasing, State::Expiring] {
        assert_eq!(availability(Some(&in_state(state)), T0), Availability::Free);
    }
}

#[test]
fn check_row_5_reserved_state_while_not_expired() {
    let row = reserved(None);
    assert_eq!(
        availability(Some(&row), T0 + TTL - 1),
        Availability::Reserved
    );
}

#[test]
fn check_row_6_active_state() {
    assert_eq!(
        availability(Some(&active()), T0 + TTL * 100),
        Availability::Active
    );
}

//----------- §3.4 reserve -----------------------------------------------------

#[test]
fn reserve_201_when_no_row() {
    let s = saved(decide(None, &request(reserve_op(None)), T0));
    assert_eq!(s.write, Write::Insert { replaces: None });
    assert_eq!(s.row.state, State::Reserved);
    assert_eq!(s.row.expires_at, Some(T0 + TTL));
    assert_eq!(s.row.reserved_at, T0);
    // Kept as its hash only; the API hands the token out once.
    assert_eq!(s.row.reservation_token_hash, Some(token_hash(OTHER)));
    assert_eq!(s.row.owner.as_deref(), Some(OWNER));
    assert_eq!(s.row.fqdn(), "omantel.omani.works");
    assert_eq!(s.answer, s.row);
    assert_eq!(kinds(&s), [("inc-new", "provision")]);
}

#[test]
fn reserve_409_conflict_when_reserved_and_not_expired() {
    let row = reserved(None);
    let d = decide(Some(&row), &request(reserve_op(None)), T0 + TTL - 1);
    assert_eq!(d, Decision::Refuse(Refusal::Conflict));
}

#[test]
fn reserve_409_conflict_when_active() {
    // Active rows never expire.
    let d = decide(Some(&active()), &request(reserve_op(None)), T0 + TTL * 100);
    assert_eq!(d, Decision::Refuse(Refusal::Conflict));
}

#[test]
fn reserve_201_replay_with_the_same_idempotency_key() {
    let row = reserved(Some("k1"));
    let s = saved(decide(Some(&row), &request(reserve_op(Some("k1"))), T0 + 5));
    // The same reservation, with a fresh token in place of the one that
    // was handed out once and not kept; nothing queued again.
    assert_eq!(
        s.write,
        Write::Update {
            from: State::Reserved
        }
    );
    assert_eq!(
        s.row,
        Allocation {
            reservation_token_hash: Some(token_hash(OTHER)),
            ..row.clone()
        }
    );
    assert!(s.effects.is_empty());
    // Another key, or none, is the 409 of any caller.
    for key in [Some("k2"), None] {
        let d = decide(Some(&row), &request(reserve_op(key)), T0 + 5);
        assert_eq!(d, Decision::Refuse(Refusal::Conflict), "{key:?}");
    }
    // So is the same key from another identity, operators included.
    for actor in [Actor::caller("crossplane"), Actor::operator("ops")] {
        let d = decide(
            Some(&row),
            &request_as(reserve_op(Some("k1")), actor.clone()),
            T0 + 5,
        );
        assert_eq!(d, Decision::Refuse(Refusal::Conflict), "{actor:?}");
    }
}

#[test]
fn reserve_201_replaces_a_lapsed_reservation_after_its_teardown() {
    let row = reserved(None);
    let s = saved(decide(Some(&row), &request(reserve_op(None)), T0 + TTL));
    assert_eq!(
        s.write,
        Write::Insert {
            replaces: Some(row)
        }
    );
    assert_eq!(s.row.incarnation, "inc-new");
    // The old zone goes first, so the new one is built from scratch (§10.3d).
    assert_eq!(
        kinds(&s),
        [("inc-old", "teardown"), ("inc-new", "provision")]
    );
}

#[test]
fn reserve_201_replaces_a_row_on_its_way_out_without_a_second_teardown() {
    for state in [State::Releasing, State::Expiring] {
        let row = in_state(state);
        let s = saved(decide(Some(&row), &request(reserve_op(None)), T0));
        assert_eq!(kinds(&s), [("inc-new", "provision")], "{state:?}");
    }
}

//----------- §3.5 commit ------------------------------------------------------

#[test]
fn commit_200_moves_reserved_to_active() {
    let row = reserved(None);
    let s = saved(decide(Some(&row), &request(commit_op(TOKEN)), T0 + 10));
    assert_eq!(
        s.write,
        Write::Update {
            from: State::Reserved
        }
    );
    assert_eq!(s.row.state, State::Active);
    // expiresAt and reservationToken are cleared on commit.
    assert_eq!(s.row.expires_at, None);
    assert_eq!(s.row.reservation_token_hash, None);
    assert_eq!(s.row.committed_token_hash, Some(token_hash(TOKEN)));
    assert_eq!(s.row.load_balancer_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(s.row.sovereign_fqdn.as_deref(), Some("omantel.omani.works"));
    assert_eq!(kinds(&s), [("inc-old", "publish")]);
}

#[test]
fn commit_404_not_found_without_a_reservation() {
    let d = decide(None, &request(commit_op(TOKEN)), T0);
    assert_eq!(d, Decision::Refuse(Refusal::NotFound));
    // A row being released is no reservation either.
    let d = decide(
        Some(&in_state(State::Releasing)),
        &request(commit_op(TOKEN)),
        T0,
    );
    assert_eq!(d, Decision::Refuse(Refusal::NotFound));
}

#[test]
fn commit_409_already_active_with_another_token() {
    for token in [OTHER, "not-a-uuid"] {
        let d = decide(Some(&active()), &request(commit_op(token)), T0);
        assert_eq!(d, Decision::Refuse(Refusal::AlreadyActive), "{token}");
    }
}

#[test]
fn commit_200_retry_with_the_same_token_republishes() {
    // §10.1: after a 202, the retry re-applies DNS instead of 409.
    let s = saved(decide(Some(&active()), &request(commit_op(TOKEN)), T0 + 20));
    assert_eq!(
        s.write,
        Write::Update {
            from: State::Active
        }
    );
    assert_eq!(s.row.load_balancer_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(kinds(&s), [("inc-old", "publish")]);
}

#[test]
fn commit_410_reservation_expired_before_the_token_is_checked() {
    let row = reserved(None);
    for token in [TOKEN, OTHER] {
        let d = decide(Some(&row), &request(commit_op(token)), T0 + TTL);
        assert_eq!(d, Decision::Refuse(Refusal::Expired), "{token}");
    }
    let d = decide(
        Some(&in_state(State::Expiring)),
        &request(commit_op(TOKEN)),
        T0,
    );
    assert_eq!(d, Decision::Refuse(Refusal::Expired));
}

#[test]
fn commit_403_token_mismatch_when_wrong_or_not_a_uuid() {
    let row = reserved(None);
    for token in [OTHER, "not-a-uuid", ""] {
        let d = decide(Some(&row), &request(commit_op(token)), T0 + 10);
        assert_eq!(d, Decision::Refuse(Refusal::TokenMismatch), "{token:?}");
    }
}

//----------- §9 renew ---------------------------------------------------------

#[test]
fn renew_200_moves_the_expiry() {
    let row = reserved(None);
    let s = saved(decide(Some(&row), &request(renew_op(TOKEN)), T0 + 100));
    assert_eq!(s.row.expires_at, Some(T0 + 100 + TTL));
    assert_eq!(s.row.state, State::Reserved);
    assert!(s.effects.is_empty());
}

#[test]
fn renew_410_reservation_expired() {
    let row = reserved(None);
    let d = decide(Some(&row), &request(renew_op(TOKEN)), T0 + TTL);
    assert_eq!(d, Decision::Refuse(Refusal::Expired));
    let d = decide(
        Some(&in_state(State::Expiring)),
        &request(renew_op(TOKEN)),
        T0,
    );
    assert_eq!(d, Decision::Refuse(Refusal::Expired));
}

#[test]
fn renew_403_token_mismatch() {
    let d = decide(Some(&reserved(None)), &request(renew_op(OTHER)), T0);
    assert_eq!(d, Decision::Refuse(Refusal::TokenMismatch));
}

#[test]
fn renew_404_not_found_and_409_already_active() {
    assert_eq!(
        decide(None, &request(renew_op(TOKEN)), T0),
        Decision::Refuse(Refusal::NotFound)
    );
    assert_eq!(
        decide(Some(&active()), &request(renew_op(TOKEN)), T0),
        Decision::Refuse(Refusal::AlreadyActive)
    );
}

//----------- §3.6 release -----------------------------------------------------

#[test]
fn release_200_frees_any_live_state_and_queues_the_teardown() {
    for row in [reserved(None), active()] {
        let s = saved(decide(Some(&row), &request(Op::Release), T0));
        assert_eq!(s.write, Write::Update { from: row.state });
        assert_eq!(s.row.state, State::Releasing);
        // `freed` is the allocation as it was.
        assert_eq!(s.answer, row);
        assert_eq!(kinds(&s), [("inc-old", "teardown")]);
    }
}

#[test]
fn release_200_of_an_expiring_row_reuses_its_queued_teardown() {
    let s = saved(decide(
        Some(&in_state(State::Expiring)),
        &request(Op::Release),
        T0,
    ));
    assert_eq!(s.row.state, State::Releasing);
    assert!(s.effects.is_empty());
}

#[test]
fn release_retry_re_runs_the_teardown_instead_of_404() {
    // §10.1: the row stays releasing until its teardown succeeded.
    let row = in_state(State::Releasing);
    assert_eq!(
        decide(Some(&row), &request(Op::Release), T0),
        Decision::Unchanged(row.clone())
    );
}

#[test]
fn release_404_not_found() {
    assert_eq!(
        decide(None, &request(Op::Release), T0),
        Decision::Refuse(Refusal::NotFound)
    );
}

//----------- ownership (hardening issue #19) -----------------------------------

fn other_caller() -> Actor {
    Actor::caller("crossplane")
}

fn ownerless(row: Allocation) -> Allocation {
    Allocation { owner: None, ..row }
}

#[test]
fn reserve_records_the_identity_or_none_without_authentication() {
    let s = saved(decide(
        None,
        &request_as(reserve_op(None), Actor::operator("ops")),
        T0,
    ));
    assert_eq!(s.row.owner.as_deref(), Some("ops"));
    let s = saved(decide(
        None,
        &request_as(reserve_op(None), Actor::unauthenticated()),
        T0,
    ));
    assert_eq!(s.row.owner, None);
}

#[test]
fn another_caller_gets_403_not_owner_even_with_the_token() {
    let ops = [commit_op(TOKEN), renew_op(TOKEN), Op::Release];
    for row in [reserved(None), active(), in_state(State::Expiring)] {
        for op in ops.clone() {
            let d = decide(Some(&row), &request_as(op.clone(), other_caller()), T0 + 1);
            assert_eq!(
                d,
                Decision::Refuse(Refusal::NotOwner),
                "{:?} {op:?}",
                row.state
            );
        }
    }
    // A retried release of a row on its way out is the owner's too.
    let d = decide(
        Some(&in_state(State::Releasing)),
        &request_as(Op::Release, other_caller()),
        T0,
    );
    assert_eq!(d, Decision::Refuse(Refusal::NotOwner));
}

#[test]
fn not_owner_comes_after_not_found_and_before_the_state() {
    let d = decide(None, &request_as(Op::Release, other_caller()), T0);
    assert_eq!(d, Decision::Refuse(Refusal::NotFound));
    // A releasing row is no reservation, whoever asks.
    let d = decide(
        Some(&in_state(State::Releasing)),
        &request_as(commit_op(TOKEN), other_caller()),
        T0,
    );
    assert_eq!(d, Decision::Refuse(Refusal::NotFound));
    // Lapsed or not, wrong token or not: a non-owner learns nothing more.
    let d = decide(
        Some(&reserved(None)),
        &request_as(commit_op(OTHER), other_caller()),
        T0 + TTL,
    );
    assert_eq!(d, Decision::Refuse(Refusal::NotOwner));
}

#[test]
fn operators_and_unauthenticated_mode_act_on_any_allocation() {
    for actor in [Actor::operator("ops"), Actor::unauthenticated()] {
        let s = saved(decide(
            Some(&reserved(None)),
            &request_as(commit_op(TOKEN), actor.clone()),
            T0 + 1,
        ));
        // Acting for the owner does not take the allocation over.
        assert_eq!(s.row.owner.as_deref(), Some(OWNER), "{actor:?}");
        let s = saved(decide(
            Some(&reserved(None)),
            &request_as(renew_op(TOKEN), actor.clone()),
            T0 + 1,
        ));
        assert_eq!(s.row.owner.as_deref(), Some(OWNER));
        let s = saved(decide(
            Some(&active()),
            &request_as(Op::Release, actor.clone()),
            T0,
        ));
        assert_eq!(s.row.state, State::Releasing);
        // The token is still checked.
        let d = decide(
            Some(&reserved(None)),
            &request_as(commit_op(OTHER), actor.clone()),
            T0 + 1,
        );
        assert_eq!(d, Decision::Refuse(Refusal::TokenMismatch));
    }
}

#[test]
fn an_ownerless_row_is_claimed_by_the_caller_holding_its_token() {
    let row = ownerless(reserved(None));
    let s = saved(decide(
        Some(&row),
        &request_as(renew_op(TOKEN), other_caller()),
        T0 + 1,
    ));
    assert_eq!(s.row.owner.as_deref(), Some("crossplane"));
    let s = saved(decide(
        Some(&row),
        &request_as(commit_op(TOKEN), other_caller()),
        T0 + 1,
    ));
    assert_eq!(s.row.owner.as_deref(), Some("crossplane"));
    // A commit retry with the committed token proves it as well.
    let s = saved(decide(
        Some(&ownerless(active())),
        &request_as(commit_op(TOKEN), other_caller()),
        T0 + 1,
    ));
    assert_eq!(s.row.owner.as_deref(), Some("crossplane"));
    // Without the token, the usual refusals; nothing is claimed.
    let d = decide(
        Some(&row),
        &request_as(commit_op(OTHER), other_caller()),
        T0 + 1,
    );
    assert_eq!(d, Decision::Refuse(Refusal::TokenMismatch));
    // An operator acting on it leaves it ownerless.
    let s = saved(decide(
        Some(&row),
        &request_as(commit_op(TOKEN), Actor::operator("ops")),
        T0 + 1,
    ));
    assert_eq!(s.row.owner, None);
}

#[test]
fn an_ownerless_row_is_released_by_operators_only() {
    for row in [ownerless(reserved(None)), ownerless(active())] {
        let d = decide(Some(&row), &request_as(Op::Release, other_caller()), T0);
        assert_eq!(d, Decision::Refuse(Refusal::NotOwner));
        let s = saved(decide(
            Some(&row),
            &request_as(Op::Release, Actor::operator("ops")),
            T0,
        ));
        assert_eq!(s.row.state, State::Releasing);
    }
}
