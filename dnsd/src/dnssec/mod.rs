//! Online DNSSEC signing (issue 7): placeholder, rewritten below.

pub mod cache;
pub mod denial;
pub mod keys;
pub mod sign;
pub mod store;
pub mod timestamp;
