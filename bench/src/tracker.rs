//! Outstanding-query bookkeeping for one socket or connection: message IDs,
//! send times, timeouts, loss and the latency histogram.
//!
//! IDs are handed out in sequence. A slot holds the send time (+1, so 0
//! means free); a FIFO of `(id, time)` in send order finds expired queries
//! without scanning. A query is *lost* when it times out, when its ID must
//! be reused while it is still outstanding, or when the run ends without
//! its answer. No allocation per query once the FIFO has grown.

use std::collections::VecDeque;

use crate::histogram::Histogram;

/// Per-flow counters and latency histogram.
pub struct Tracker {
    slots: Box<[u64]>,
    fifo: VecDeque<(u16, u64)>,
    next_id: u16,
    outstanding: usize,
    /// Queries sent.
    pub sent: u64,
    /// Answers matched to an outstanding query.
    pub answered: u64,
    /// Queries given up on.
    pub lost: u64,
    /// Answers that matched no outstanding query (late or foreign).
    pub unmatched: u64,
    /// Answers by RCODE.
    pub rcodes: [u64; 16],
    /// Latency of matched answers, nanoseconds.
    pub latency: Histogram,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(0)
    }
}

impl Tracker {
    /// A tracker whose IDs start at `first_id`.
    pub fn new(first_id: u16) -> Tracker {
        Tracker {
            slots: vec![0; 1 << 16].into_boxed_slice(),
            fifo: VecDeque::new(),
            next_id: first_id,
            outstanding: 0,
            sent: 0,
            answered: 0,
            lost: 0,
            unmatched: 0,
            rcodes: [0; 16],
            latency: Histogram::new(),
        }
    }

    /// Queries sent and neither answered nor given up on.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// The ID the `k`-th next query will get (0 = the next one).
    pub fn peek_id(&self, k: usize) -> u16 {
        self.next_id.wrapping_add(k as u16)
    }

    /// Records that the next query (ID [`Tracker::peek_id`]`(0)`) was sent
    /// at `now` (ns).
    pub fn sent_one(&mut self, now: u64) {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        let stamp = now + 1;
        let slot = &mut self.slots[usize::from(id)];
        if *slot != 0 {
            // ID space wrapped while the older query was still out.
            self.lost += 1;
            self.outstanding -= 1;
        }
        *slot = stamp;
        self.fifo.push_back((id, stamp));
        self.outstanding += 1;
        self.sent += 1;
    }

    /// Matches an answer with `id` and `rcode` received at `now`.
    pub fn answer(&mut self, id: u16, rcode: u8, now: u64) {
        let slot = &mut self.slots[usize::from(id)];
        if *slot == 0 {
            self.unmatched += 1;
            return;
        }
        let latency = (now + 1).saturating_sub(*slot);
        *slot = 0;
        self.latency.record(latency);
        self.outstanding -= 1;
        self.answered += 1;
        self.rcodes[usize::from(rcode & 0xf)] += 1;
    }

    /// Gives up on queries sent more than `timeout` ns before `now`.
    pub fn expire(&mut self, now: u64, timeout: u64) {
        while let Some(&(id, stamp)) = self.fifo.front() {
            let slot = &mut self.slots[usize::from(id)];
            if *slot != stamp {
                // Answered, or its ID was reused.
                self.fifo.pop_front();
                continue;
            }
            if (now + 1).saturating_sub(stamp) <= timeout {
                break;
            }
            *slot = 0;
            self.lost += 1;
            self.outstanding -= 1;
            self.fifo.pop_front();
        }
    }

    /// Gives up on every outstanding query (end of run, or a dead connection).
    pub fn abandon_all(&mut self) {
        for (id, stamp) in self.fifo.drain(..) {
            let slot = &mut self.slots[usize::from(id)];
            if *slot == stamp {
                *slot = 0;
                self.lost += 1;
            }
        }
        self.outstanding = 0;
    }

    /// Adds another tracker's counters and histogram into this one.
    pub fn merge_counts(&mut self, other: &Tracker) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.lost += other.lost;
        self.unmatched += other.unmatched;
        for (a, b) in self.rcodes.iter_mut().zip(other.rcodes) {
            *a += b;
        }
        self.latency.merge(&other.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_and_time() {
        let mut t = Tracker::new(7);
        assert_eq!(t.peek_id(0), 7);
        assert_eq!(t.peek_id(1), 8);
        t.sent_one(1_000);
        t.sent_one(2_000);
        t.answer(8, 0, 2_500);
        t.answer(7, 3, 5_000);
        assert_eq!((t.sent, t.answered, t.lost, t.outstanding()), (2, 2, 0, 0));
        assert_eq!(t.rcodes[3], 1);
        // Bucketed: at most 1/32 above the true 500 ns.
        assert!((500..=516).contains(&t.latency.quantile(0.0)));
        assert_eq!(t.latency.max(), 4_000);
        // A duplicate answer matches nothing.
        t.answer(7, 0, 6_000);
        assert_eq!(t.unmatched, 1);
    }

    #[test]
    fn expiry_and_end_count_loss() {
        let mut t = Tracker::new(0);
        for i in 0..10 {
            t.sent_one(i * 100);
        }
        t.answer(0, 0, 50);
        t.expire(1_000, 650); // sent at <= 349: ids 1, 2, 3
        assert_eq!(t.lost, 3);
        assert_eq!(t.outstanding(), 6);
        t.answer(2, 0, 1_100); // too late
        assert_eq!(t.unmatched, 1);
        t.abandon_all();
        assert_eq!(t.lost, 9);
        assert_eq!(t.sent, t.answered + t.lost);
    }

    #[test]
    fn id_wrap_counts_loss() {
        let mut t = Tracker::new(0);
        for i in 0..(1u64 << 16) + 5 {
            t.sent_one(i);
        }
        assert_eq!(t.lost, 5);
        assert_eq!(t.outstanding(), 1 << 16);
        t.expire(u64::MAX / 2, 1);
        assert_eq!(t.lost, 5 + (1 << 16));
        assert_eq!(t.sent, t.lost);
    }
}
