//! Applies the DNS work queued in the outbox.
