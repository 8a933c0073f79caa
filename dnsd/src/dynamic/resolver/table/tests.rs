//! The table's rules, with time passed in.

use std::time::{Duration, Instant};

use super::*;

const WAIT: Duration = Duration::from_millis(10);

fn key(name: &str) -> Key {
    Key::new(
        &Name::from_labels(name.split('.').map(str::as_bytes)).unwrap(),
        RType::A,
    )
}

fn answer(text: &str, ttl: u64) -> Outcome {
    Outcome::Answer {
        answers: vec![Resolved {
            owner: key("svc.example").name,
            rtype: RType::A,
            ttl: ttl as u32,
            content: text.into(),
        }]
        .into(),
        ttl: Duration::from_secs(ttl),
    }
}

fn content(read: &Read) -> Option<&str> {
    match read {
        Read::Hit(a) | Read::Stale { answers: a, .. } => a.first().map(|r| r.content.as_str()),
        _ => None,
    }
}

#[test]
fn a_miss_starts_one_lookup_and_its_answer_is_a_hit_until_the_ttl() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    let k = key("svc.example");
    let Read::Wait {
        start, deadline, ..
    } = table.read(&k, t0)
    else {
        panic!("a miss waits");
    };
    assert!(start, "the first miss starts the lookup");
    assert_eq!(deadline, t0 + WAIT);
    // A second query joins the same lookup, with the same deadline.
    let Read::Wait {
        start, deadline, ..
    } = table.read(&k, t0 + Duration::from_millis(4))
    else {
        panic!("still pending");
    };
    assert!(!start);
    assert_eq!(
        deadline,
        t0 + WAIT,
        "the bound counts from the lookup's start"
    );
    assert_eq!(table.in_flight(), 1);

    table.complete(&k, answer("192.0.2.1", 30), t0 + Duration::from_millis(3));
    assert_eq!(table.in_flight(), 0);
    let at = |s| t0 + Duration::from_millis(3) + Duration::from_secs(s);
    assert!(matches!(table.read(&k, at(29)), Read::Hit(_)));
    assert_eq!(content(&table.read(&k, at(29))), Some("192.0.2.1"));
    // Past the TTL: still answered, and one refresh asked for.
    let Read::Stale { refresh, .. } = table.read(&k, at(30)) else {
        panic!("stale after the TTL");
    };
    assert!(refresh);
    let Read::Stale { refresh, .. } = table.read(&k, at(31)) else {
        panic!("stale");
    };
    assert!(!refresh, "one refresh at a time");
    table.complete(&k, answer("192.0.2.2", 60), at(31));
    assert!(matches!(table.read(&k, at(32)), Read::Hit(_)));
    assert_eq!(content(&table.read(&k, at(32))), Some("192.0.2.2"));
}

#[test]
fn a_pending_lookup_past_the_bound_fails_at_once() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    let k = key("slow.example");
    assert!(matches!(table.read(&k, t0), Read::Wait { start: true, .. }));
    assert!(matches!(table.read(&k, t0 + WAIT), Read::TimedOut));
    assert!(matches!(
        table.read(&k, t0 + Duration::from_secs(5)),
        Read::TimedOut
    ));
    // A lookup that never reports back is started again eventually.
    assert!(matches!(
        table.read(&k, t0 + LOOKUP_LOST_AFTER),
        Read::Busy | Read::Wait { start: true, .. }
    ));
}

#[test]
fn a_failure_is_remembered_for_the_hold_then_asked_again() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    let k = key("dead.example");
    table.read(&k, t0);
    table.complete(
        &k,
        Outcome::Failed("no reply".into()),
        t0 + Duration::from_secs(2),
    );
    let failed_at = t0 + Duration::from_secs(2);
    assert!(
        matches!(table.read(&k, failed_at + FAIL_HOLD - Duration::from_millis(1)), Read::Failed(r) if &*r == "no reply")
    );
    assert!(matches!(
        table.read(&k, failed_at + FAIL_HOLD),
        Read::Wait { start: true, .. }
    ));
}

#[test]
fn a_failed_refresh_keeps_the_old_answer_until_the_stale_limit() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    let k = key("svc.example");
    table.read(&k, t0);
    table.complete(&k, answer("192.0.2.1", 10), t0);
    let expiry = t0 + Duration::from_secs(10);
    assert!(matches!(
        table.read(&k, expiry),
        Read::Stale { refresh: true, .. }
    ));
    table.complete(
        &k,
        Outcome::Failed("timeout".into()),
        expiry + Duration::from_secs(2),
    );
    // Still answering, no new refresh before the hold is over.
    let after = expiry + Duration::from_secs(2);
    assert!(matches!(
        table.read(&k, after),
        Read::Stale { refresh: false, .. }
    ));
    assert!(matches!(
        table.read(&k, after + FAIL_HOLD),
        Read::Stale { refresh: true, .. }
    ));
    // Past the stale limit the old answer is not used.
    assert!(matches!(
        table.read(&k, expiry + STALE_LIMIT),
        Read::Wait { start: true, .. }
    ));
}

#[test]
fn a_negative_answer_is_cached_as_an_empty_answer() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    let k = key("none.example");
    table.read(&k, t0);
    let empty = Outcome::Answer {
        answers: Vec::new().into(),
        ttl: Duration::from_secs(5),
    };
    table.complete(&k, empty, t0);
    assert!(matches!(table.read(&k, t0 + Duration::from_secs(4)), Read::Hit(a) if a.is_empty()));
}

#[test]
fn lookups_in_flight_are_bounded() {
    let table = Table::new(64, 2, WAIT);
    let t0 = Instant::now();
    assert!(matches!(
        table.read(&key("a.example"), t0),
        Read::Wait { start: true, .. }
    ));
    assert!(matches!(
        table.read(&key("b.example"), t0),
        Read::Wait { start: true, .. }
    ));
    assert!(matches!(table.read(&key("c.example"), t0), Read::Busy));
    table.complete(&key("a.example"), answer("192.0.2.1", 10), t0);
    assert!(matches!(
        table.read(&key("c.example"), t0),
        Read::Wait { start: true, .. }
    ));
    // A request that could not be sent gives its place back.
    table.request_failed(&key("c.example"), t0);
    assert_eq!(table.in_flight(), 1);
    assert!(matches!(table.read(&key("c.example"), t0), Read::Failed(_)));
}

#[test]
fn entries_are_bounded_and_the_oldest_answer_goes_first() {
    // One entry per shard: every new name must make room.
    let table = Table::new(1, 1000, WAIT);
    let t0 = Instant::now();
    for i in 0..200u64 {
        let k = key(&format!("n{i}.example"));
        assert!(
            matches!(table.read(&k, t0), Read::Wait { start: true, .. }),
            "{i}"
        );
        table.complete(&k, answer("192.0.2.1", 10 + i), t0);
    }
    assert!(table.len() <= SHARDS, "{} entries", table.len());
    // Only pending lookups in a full shard: no room.
    let table = Table::new(1, 1000, WAIT);
    let mut busy = 0;
    for i in 0..200 {
        if matches!(table.read(&key(&format!("p{i}.example")), t0), Read::Busy) {
            busy += 1;
        }
    }
    assert!(busy >= 200 - SHARDS, "{busy}");
    assert!(table.len() <= SHARDS);
}

#[test]
fn names_match_without_case() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    table.read(&key("Svc.Example"), t0);
    table.complete(&key("svc.example"), answer("192.0.2.1", 10), t0);
    assert!(matches!(table.read(&key("SVC.example"), t0), Read::Hit(_)));
}

#[test]
fn waiting_ends_at_the_deadline_or_when_the_lookup_finishes() {
    let table = std::sync::Arc::new(Table::new(64, 8, Duration::from_millis(500)));
    let k = key("svc.example");
    let Read::Wait {
        waiter, deadline, ..
    } = table.read(&k, Instant::now())
    else {
        panic!("a miss waits");
    };
    let finisher = {
        let (table, k) = (table.clone(), k.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            table.complete(&k, answer("192.0.2.1", 10), Instant::now());
        })
    };
    let started = Instant::now();
    assert!(waiter.wait_until(deadline));
    assert!(started.elapsed() < Duration::from_millis(400));
    finisher.join().unwrap();

    let Read::Wait { waiter, .. } = table.read(&key("other.example"), Instant::now()) else {
        panic!("a miss waits");
    };
    let started = Instant::now();
    assert!(!waiter.wait_until(started + Duration::from_millis(30)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(30) && waited < Duration::from_millis(300),
        "{waited:?}"
    );
}

#[test]
fn after_a_wait_runs_out_misses_do_not_wait_until_an_answer_arrives() {
    let table = Table::new(64, 8, WAIT);
    let t0 = Instant::now();
    assert!(
        matches!(table.read(&key("a.example"), t0), Read::Wait { deadline, .. } if deadline == t0 + WAIT)
    );
    table.gave_up();
    assert!(table.is_behind());
    // A new name still starts its lookup, with no wait.
    assert!(matches!(
        table.read(&key("b.example"), t0),
        Read::Wait { start: true, deadline, .. } if deadline == t0
    ));
    // And a query joining a pending lookup fails at once.
    assert!(matches!(table.read(&key("a.example"), t0), Read::TimedOut));
    // The next answer puts waiting back.
    table.complete(&key("b.example"), answer("192.0.2.1", 10), t0);
    assert!(!table.is_behind());
    assert!(
        matches!(table.read(&key("c.example"), t0), Read::Wait { deadline, .. } if deadline == t0 + WAIT)
    );
}
