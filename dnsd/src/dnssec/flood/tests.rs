//! The budget's state machine: into fallback past the budget within one
//! second, out after one whole second at or under it, one episode per
//! flood, and no cap at 0.

use super::*;

const T: u64 = 1_700_000_000;

fn zone() -> Name {
    Name::from_text("example.test.", None).unwrap()
}

/// Charges `n` fresh signatures at `now`; how many were allowed compact.
fn charge_n(budget: &NegativeBudget, now: u64, n: u32) -> u32 {
    (0..n)
        .filter(|_| budget.charge(&zone(), now).0 == Charge::Compact)
        .count() as u32
}

fn stats(budget: &NegativeBudget, now: u64) -> FloodStats {
    let all = budget.stats(now);
    assert_eq!(all.len(), 1);
    all[0].clone()
}

#[test]
fn past_the_budget_a_zone_falls_back_and_stays_while_the_flood_lasts() {
    let budget = NegativeBudget::new(5);
    assert_eq!(charge_n(&budget, T, 5), 5, "within budget: compact");
    assert!(!stats(&budget, T).active);
    assert_eq!(charge_n(&budget, T, 10), 0, "past it: ranges");
    let s = stats(&budget, T);
    assert!(s.active);
    assert_eq!((s.fresh_signatures, s.episodes), (5, 1));
    // The next second is still flooded: no fresh signature at all, even
    // within its first five.
    assert_eq!(charge_n(&budget, T + 1, 20), 0);
    assert!(stats(&budget, T + 1).active);
    // A second at the budget (all asked for are proven from ranges) ...
    assert_eq!(charge_n(&budget, T + 2, 5), 0);
    // ... ends the flood at the next second: compact again.
    assert_eq!(charge_n(&budget, T + 3, 1), 1);
    let s = stats(&budget, T + 3);
    assert!(!s.active);
    assert_eq!((s.fresh_signatures, s.episodes), (6, 1));
    // A new flood is a new episode.
    assert_eq!(charge_n(&budget, T + 3, 10), 4);
    let s = stats(&budget, T + 3);
    assert!(s.active);
    assert_eq!(s.episodes, 2);
}

#[test]
fn a_silent_second_ends_the_fallback_without_a_query() {
    let budget = NegativeBudget::new(2);
    charge_n(&budget, T, 10);
    assert!(stats(&budget, T).active);
    // The flooded second itself is over but was not quiet.
    assert!(stats(&budget, T + 1).active);
    // One whole second with nothing: over, seen by a scrape.
    assert!(!stats(&budget, T + 2).active);
    // Or by the next query after a gap.
    let budget = NegativeBudget::new(2);
    charge_n(&budget, T, 10);
    assert_eq!(charge_n(&budget, T + 5, 1), 1);
    assert!(!stats(&budget, T + 5).active);
}

#[test]
fn a_worker_with_an_older_clock_counts_in_the_current_second() {
    let budget = NegativeBudget::new(3);
    charge_n(&budget, T + 1, 3);
    // Read a hair before the second turned: must not reopen T's window
    // (which would hand out a fresh budget).
    assert_eq!(charge_n(&budget, T, 1), 0);
    assert!(stats(&budget, T + 1).active);
}

#[test]
fn zero_is_no_cap() {
    let budget = NegativeBudget::new(0);
    assert!(!budget.enabled());
    assert_eq!(charge_n(&budget, T, 100_000), 100_000);
    assert!(budget.stats(T).is_empty(), "nothing tracked");
}

#[test]
fn zones_have_budgets_of_their_own() {
    let budget = NegativeBudget::new(1);
    let other = Name::from_text("other.test.", None).unwrap();
    assert_eq!(charge_n(&budget, T, 3), 1);
    assert_eq!(budget.charge(&other, T).0, Charge::Compact);
    let all = budget.stats(T);
    assert_eq!(all.len(), 2);
    let by_zone = |z: &Name| all.iter().find(|s| &s.zone == z).unwrap().clone();
    assert!(by_zone(&zone()).active);
    assert!(!by_zone(&other).active);
}

#[test]
fn concurrent_workers_never_exceed_the_budget_in_a_second() {
    let budget = Arc::new(NegativeBudget::new(100));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || charge_n(&budget, T, 1_000))
        })
        .collect();
    let compact: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    // At most the budget; a worker that counted within it may still find
    // the fallback already entered by one that counted past it.
    assert!((1..=100).contains(&compact), "{compact}");
    assert_eq!(stats(&budget, T).episodes, 1, "logged and counted once");
}
