//! Error injection and rate limiting for the mocks: "the next N requests
//! get status S / provider error E / the provider's throttle signal", and a
//! fixed-window limiter. How a fault looks on the wire is each provider's
//! business (its `render_fault`); this module only decides *whether*.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::seed::RateLimit;

/// Something to do to a request instead of answering it normally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// A bare HTTP status with an optional raw body and `Retry-After`.
    Status {
        /// HTTP status.
        status: u16,
        /// Raw body.
        #[serde(default)]
        body: String,
        /// `Retry-After` header value, verbatim.
        #[serde(default)]
        retry_after: Option<String>,
    },
    /// The provider's own error envelope with this code and message.
    /// `status` overrides the HTTP status the provider would use.
    ProviderError {
        /// Provider error code (number or name).
        code: String,
        /// Message text.
        message: String,
        /// HTTP status override.
        #[serde(default)]
        status: Option<u16>,
    },
    /// The provider's throttling signal (CF 429, Namecheap 405, …).
    RateLimited {
        /// Seconds to put in the provider's retry hint.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Answer normally, after a pause.
    Delay {
        /// Pause, milliseconds.
        ms: u64,
    },
    /// The next asynchronous task/action created ends in failure. Consumed
    /// by task creation, not by the request middleware.
    FailTask {
        /// The failure message the task reports.
        message: String,
    },
}

/// A queued fault and how many more requests it applies to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Injection {
    /// The fault.
    pub fault: Fault,
    /// Remaining uses.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The queue of injected faults, oldest first.
#[derive(Debug, Default)]
pub struct FaultQueue {
    queue: VecDeque<Injection>,
}

impl FaultQueue {
    /// Queues `fault` for the next `times` requests.
    pub fn push(&mut self, fault: Fault, times: u32) {
        if times > 0 {
            self.queue.push_back(Injection { fault, times });
        }
    }

    /// Drops every queued fault.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Takes one use of the first request-level fault (not `FailTask`).
    pub fn take_request_fault(&mut self) -> Option<Fault> {
        let pos = self
            .queue
            .iter()
            .position(|i| !matches!(i.fault, Fault::FailTask { .. }))?;
        Self::take_at(&mut self.queue, pos)
    }

    /// Takes one use of the first `FailTask`, returning its message.
    pub fn take_task_failure(&mut self) -> Option<String> {
        let pos = self
            .queue
            .iter()
            .position(|i| matches!(i.fault, Fault::FailTask { .. }))?;
        match Self::take_at(&mut self.queue, pos) {
            Some(Fault::FailTask { message }) => Some(message),
            _ => None,
        }
    }

    fn take_at(queue: &mut VecDeque<Injection>, pos: usize) -> Option<Fault> {
        let entry = queue.get_mut(pos)?;
        entry.times -= 1;
        let fault = entry.fault.clone();
        if entry.times == 0 {
            queue.remove(pos);
        }
        Some(fault)
    }

    /// What is queued, for `/_mock/state`.
    pub fn pending(&self) -> Vec<Injection> {
        self.queue.iter().cloned().collect()
    }
}

/// A fixed-window limiter.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Option<RateLimit>,
    window_start: Instant,
    count: u32,
}

impl RateLimiter {
    /// A limiter enforcing `limit` (none: unlimited).
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            window_start: Instant::now(),
            count: 0,
        }
    }

    /// Replaces the limit and starts a new window.
    pub fn set(&mut self, limit: Option<RateLimit>) {
        *self = Self::new(limit);
    }

    /// Counts one request; `Err(wait)` when it is over the limit, with the
    /// time left in the window.
    pub fn check(&mut self) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let window = Duration::from_secs(limit.per_seconds.max(1));
        let now = Instant::now();
        if now.duration_since(self.window_start) >= window {
            self.window_start = now;
            self.count = 0;
        }
        if self.count >= limit.requests {
            return Err(window.saturating_sub(now.duration_since(self.window_start)));
        }
        self.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_counted_and_task_failures_kept_apart() {
        let mut q = FaultQueue::default();
        q.push(
            Fault::FailTask {
                message: "boom".into(),
            },
            1,
        );
        q.push(
            Fault::Status {
                status: 503,
                body: String::new(),
                retry_after: None,
            },
            2,
        );
        assert!(matches!(
            q.take_request_fault(),
            Some(Fault::Status { status: 503, .. })
        ));
        assert!(matches!(
            q.take_request_fault(),
            Some(Fault::Status { status: 503, .. })
        ));
        assert_eq!(q.take_request_fault(), None);
        assert_eq!(q.take_task_failure().as_deref(), Some("boom"));
    }

    #[test]
    fn limiter_blocks_after_quota() {
        let mut l = RateLimiter::new(Some(RateLimit {
            requests: 2,
            per_seconds: 60,
        }));
        assert!(l.check().is_ok());
        assert!(l.check().is_ok());
        assert!(l.check().is_err());
    }
}
