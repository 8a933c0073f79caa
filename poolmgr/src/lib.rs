//! Pool-domain manager. Filled in by its own issue; nothing here yet.
