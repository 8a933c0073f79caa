//! Registrar adapters and their loopback mock servers.
//!
//! # Brief overview
//!
//! - [`Registrar`] is the one trait every provider adapter implements:
//!   validate credentials, read/set a domain's name servers, manage the NS
//!   (and DS) RRset of a child label in a zone hosted at the provider, glue
//!   host objects, DS at the registry, and poll asynchronous tasks.
//!   Mutations return a [`Change`]: `Unchanged` (already so — every
//!   operation is idempotent), `Applied`, or `Pending(TaskRef)`.
//! - [`connect`] builds the adapter for a [`Provider`] from [`Credentials`]
//!   and an optional base URL (tests point it at a mock).
//! - [`RegistrarError`] is the single error type; [`RegistrarError::is_retryable`]
//!   and [`RegistrarError::retry_after`] say what callers do with it (what
//!   it means to a pool-domain-manager client is poolmgr's business).
//! - [`http`] is the shared client (timeouts, retries, redacted logging).
//! - [`mock`] holds the stateful mock servers, one per provider, also
//!   shipped as the `registrar-mock` binary.
//!
//! Credentials are [`credentials::Secret`]s: redacted in `Debug`/`Display`,
//! never serialised, never logged.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

use async_trait::async_trait;

pub mod clock;
pub mod credentials;
pub mod error;
pub mod http;
pub mod mock;
pub mod providers;
pub mod types;

pub use credentials::{Credentials, Secret};
pub use error::RegistrarError;
pub use providers::{ConnectOptions, connect, connect_with};
pub use types::{
    Capabilities, Capability, Change, Delegation, Dnskey, DomainName, DsInput, DsMaterial,
    DsRecord, Glue, HostName, Label, Provider, TaskRef, TaskStatus,
};

/// Operation names used in logs and in [`RegistrarError::Unsupported`].
pub mod op {
    /// [`super::Registrar::validate_credentials`].
    pub const VALIDATE_CREDENTIALS: &str = "validate_credentials";
    /// [`super::Registrar::get_nameservers`].
    pub const GET_NAMESERVERS: &str = "get_nameservers";
    /// [`super::Registrar::set_nameservers`].
    pub const SET_NAMESERVERS: &str = "set_nameservers";
    /// [`super::Registrar::get_child_delegation`].
    pub const GET_CHILD_DELEGATION: &str = "get_child_delegation";
    /// [`super::Registrar::set_child_delegation`].
    pub const SET_CHILD_DELEGATION: &str = "set_child_delegation";
    /// [`super::Registrar::delete_child_delegation`].
    pub const DELETE_CHILD_DELEGATION: &str = "delete_child_delegation";
    /// [`super::Registrar::list_glue`].
    pub const LIST_GLUE: &str = "list_glue";
    /// [`super::Registrar::upsert_glue`].
    pub const UPSERT_GLUE: &str = "upsert_glue";
    /// [`super::Registrar::delete_glue`].
    pub const DELETE_GLUE: &str = "delete_glue";
    /// [`super::Registrar::get_ds`].
    pub const GET_DS: &str = "get_ds";
    /// [`super::Registrar::set_ds`].
    pub const SET_DS: &str = "set_ds";
    /// [`super::Registrar::task_status`].
    pub const TASK_STATUS: &str = "task_status";
}

/// One registrar account, reached through its provider's API.
///
/// Object-safe: callers hold `Box<dyn Registrar>` from [`connect`].
///
/// Contract for every implementation:
/// - Every mutation is idempotent: when the provider already has the wanted
///   state, return `Ok(Change::Unchanged)` without writing.
/// - Where the provider replaces whole sets, read before write and keep
///   everything that is not ours.
/// - Where the provider cannot do something, return
///   [`RegistrarError::Unsupported`] saying what to do instead; never
///   pretend success.
/// - Never log or put in an error a credential, header or query string.
#[async_trait]
pub trait Registrar: Send + Sync {
    /// Which provider this is.
    fn provider(&self) -> Provider;

    /// What this provider can do, and its name server count limits: by
    /// default, what [`providers::capabilities`] declares for
    /// [`Registrar::provider`].
    fn capabilities(&self) -> Capabilities {
        providers::capabilities(self.provider())
    }

    /// Checks that the credentials work (one cheap authenticated call).
    async fn validate_credentials(&self) -> Result<(), RegistrarError>;

    /// The name servers the registry has for `domain`.
    async fn get_nameservers(&self, domain: &DomainName) -> Result<Vec<HostName>, RegistrarError>;

    /// Replaces the name servers of `domain`. `Unchanged` when the set
    /// (order-insensitive) is already `nameservers`. Enforces the count
    /// limits in [`Registrar::capabilities`].
    async fn set_nameservers(
        &self,
        domain: &DomainName,
        nameservers: &[HostName],
    ) -> Result<Change, RegistrarError>;

    /// The NS (and DS) RRsets at `label` inside `zone`, a zone hosted at the
    /// provider; `None` when there is no NS RRset there.
    async fn get_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Option<Delegation>, RegistrarError>;

    /// Creates or replaces the delegation of `label` inside `zone`: the NS
    /// RRset becomes exactly `delegation.nameservers` (and DS exactly
    /// `delegation.ds`), leaving every other record alone.
    async fn set_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
        delegation: &Delegation,
    ) -> Result<Change, RegistrarError>;

    /// Removes the NS (and DS) RRsets at `label` inside `zone`.
    /// `Unchanged` when there were none.
    async fn delete_child_delegation(
        &self,
        zone: &DomainName,
        label: &Label,
    ) -> Result<Change, RegistrarError>;

    /// Host objects (glue) registered under `domain`.
    async fn list_glue(&self, domain: &DomainName) -> Result<Vec<Glue>, RegistrarError>;

    /// Creates the host object, or updates its addresses.
    async fn upsert_glue(&self, domain: &DomainName, glue: &Glue)
    -> Result<Change, RegistrarError>;

    /// Deletes the host object. `Unchanged` when it did not exist.
    async fn delete_glue(
        &self,
        domain: &DomainName,
        host: &HostName,
    ) -> Result<Change, RegistrarError>;

    /// The DNSSEC material published at the registry for `domain`, in the
    /// form the provider keeps it.
    async fn get_ds(&self, domain: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError>;

    /// Replaces the DNSSEC material at the registry; an empty slice removes
    /// it. See [`Capabilities::ds_input`] for the form accepted.
    async fn set_ds(
        &self,
        domain: &DomainName,
        material: &[DsMaterial],
    ) -> Result<Change, RegistrarError>;

    /// Where an asynchronous task from [`Change::Pending`] stands.
    ///
    /// The default suits providers whose operations complete synchronously.
    async fn task_status(&self, task: &TaskRef) -> Result<TaskStatus, RegistrarError> {
        Err(RegistrarError::unsupported(
            self.provider(),
            op::TASK_STATUS,
            format!(
                "{} completes changes synchronously and never returns a task; {task} is not one of its tasks",
                self.provider()
            ),
        ))
    }
}
