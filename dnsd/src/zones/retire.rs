//! Frees replaced catalogs off the answer path.
//!
//! A UDP worker keeps the catalog it last loaded until its next packet. If
//! the writer let go of a replaced catalog first, that worker would free it
//! between two answers: after an API change, the copied shard's few hundred
//! entries; after a reload of large zones, millions of nodes. Every
//! replaced catalog goes to one long-lived thread instead, which drops it
//! once the workers have moved on to a newer one (or after a deadline: an
//! idle worker lets go only at its next packet).

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::zone::{Catalog, trim_heap};

/// How often the thread looks whether the workers have let go.
const POLL: Duration = Duration::from_millis(10);

/// How long a replaced catalog waits for an idle worker.
const WAIT_AT_MOST: Duration = Duration::from_secs(5);

/// The sending side; dropping it ends the thread once its catalogs are freed.
pub(super) struct Retirer(Option<Sender<Retired>>);

struct Retired {
    catalog: Arc<Catalog>,
    deadline: Instant,
    /// Give freed memory back to the system afterwards: glibc keeps it in
    /// its arenas, so after a reload of large zones the process would hold
    /// both generations' worth of RSS.
    trim: bool,
}

impl Retirer {
    /// Starts the thread. Without one (the system refuses a thread), the
    /// writer frees replaced catalogs itself.
    pub(super) fn start() -> Retirer {
        let (tx, rx) = mpsc::channel();
        match std::thread::Builder::new()
            .name("retire".into())
            .spawn(move || run(rx))
        {
            Ok(_) => Retirer(Some(tx)),
            Err(e) => {
                warn!(error = %e, "could not start the thread that frees replaced zones");
                Retirer(None)
            }
        }
    }

    /// Hands over `old`, just replaced; `trim`: it held large zones.
    pub(super) fn retire(&self, old: Arc<Catalog>, trim: bool) {
        let retired = Retired {
            catalog: old,
            deadline: Instant::now() + WAIT_AT_MOST,
            trim,
        };
        if let Some(tx) = &self.0
            && let Err(mpsc::SendError(retired)) = tx.send(retired)
        {
            drop(retired);
        }
    }
}

fn run(rx: Receiver<Retired>) {
    let mut pending: Vec<Retired> = Vec::new();
    loop {
        let received = if pending.is_empty() {
            match rx.recv() {
                Ok(retired) => Some(retired),
                Err(_) => return,
            }
        } else {
            match rx.recv_timeout(POLL) {
                Ok(retired) => Some(retired),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        pending.extend(received);
        let now = Instant::now();
        let mut trim = false;
        pending.retain(|retired| {
            let keep = Arc::strong_count(&retired.catalog) > 1 && now < retired.deadline;
            trim |= !keep && retired.trim;
            keep
        });
        if trim {
            trim_heap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replaced catalog is freed by the thread once the last other
    /// holder lets go, not before; and dropping the sender ends the thread.
    #[test]
    fn freed_after_the_last_reader_lets_go() {
        let retirer = Retirer::start();
        let old = Arc::new(Catalog::new());
        let reader = Arc::clone(&old);
        let watch = Arc::downgrade(&old);
        retirer.retire(old, false);
        std::thread::sleep(POLL * 5);
        assert!(watch.upgrade().is_some(), "a reader still holds it");
        drop(reader);
        let start = Instant::now();
        while watch.upgrade().is_some() {
            assert!(start.elapsed() < Duration::from_secs(2), "never freed");
            std::thread::sleep(POLL);
        }
        drop(retirer);
    }
}
