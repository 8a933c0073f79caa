//! The registrars crate's one integration-test binary.
//!
//! `contract` is the `Registrar` contract, run against every provider's
//! mock from the provider modules; those also hold each provider's wire
//! tests (envelopes, signatures, quirks). `sdk` drives the mocks with the
//! providers' official Python SDKs. `common` is the shared helpers.

mod cli;
mod cloudflare;
mod common;
mod contract;
mod dynadot;
mod godaddy;
mod namecheap;
mod no_secrets_logged;
mod ovh;
mod retry;
mod sdk;
