//! The DNS outbox table.

/// One queued effect.
pub struct OutboxEntry {}
