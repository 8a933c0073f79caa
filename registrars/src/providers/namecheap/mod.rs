//! Namecheap adapter — being written; until then every operation returns
//! `Unsupported`. See registrars/README.md for the contract.

use async_trait::async_trait;

use crate::credentials::NamecheapCredentials;
use crate::error::RegistrarError;
use crate::providers::ConnectOptions;
use crate::types::{
    Capabilities, Capability, Change, Delegation, DomainName, DsInput, DsMaterial, Glue, HostName,
    Label, Provider,
};
use crate::{Registrar, op};

/// Production API root.
pub const DEFAULT_BASE_URL: &str = "https://api.namecheap.com/xml.response";

/// What Namecheap supports (spec §0).
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        &[
            Capability::GetNameservers,
            Capability::SetNameservers,
            Capability::ChildDelegation,
            Capability::Glue,
        ],
        DsInput::None,
        2,
        12,
    )
}

/// Builds the adapter.
pub fn new(
    base_url: &str,
    credentials: NamecheapCredentials,
    options: &ConnectOptions,
) -> Result<Namecheap, RegistrarError> {
    Ok(Namecheap {
        _base_url: base_url.to_owned(),
        _credentials: credentials,
        _http: options.client(Provider::Namecheap)?,
    })
}

/// The Namecheap adapter.
#[derive(Debug)]
pub struct Namecheap {
    _base_url: String,
    _credentials: NamecheapCredentials,
    _http: crate::http::HttpClient,
}

fn pending(operation: &'static str) -> RegistrarError {
    RegistrarError::unsupported(
        Provider::Namecheap,
        operation,
        "the Namecheap adapter is not written yet; use the provider's dashboard",
    )
}

#[async_trait]
impl Registrar for Namecheap {
    fn provider(&self) -> Provider {
        Provider::Namecheap
    }
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }
    async fn validate_credentials(&self) -> Result<(), RegistrarError> {
        Err(pending(op::VALIDATE_CREDENTIALS))
    }
    async fn get_nameservers(&self, _: &DomainName) -> Result<Vec<HostName>, RegistrarError> {
        Err(pending(op::GET_NAMESERVERS))
    }
    async fn set_nameservers(
        &self,
        _: &DomainName,
        _: &[HostName],
    ) -> Result<Change, RegistrarError> {
        Err(pending(op::SET_NAMESERVERS))
    }
    async fn get_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
    ) -> Result<Option<Delegation>, RegistrarError> {
        Err(pending(op::GET_CHILD_DELEGATION))
    }
    async fn set_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
        _: &Delegation,
    ) -> Result<Change, RegistrarError> {
        Err(pending(op::SET_CHILD_DELEGATION))
    }
    async fn delete_child_delegation(
        &self,
        _: &DomainName,
        _: &Label,
    ) -> Result<Change, RegistrarError> {
        Err(pending(op::DELETE_CHILD_DELEGATION))
    }
    async fn list_glue(&self, _: &DomainName) -> Result<Vec<Glue>, RegistrarError> {
        Err(pending(op::LIST_GLUE))
    }
    async fn upsert_glue(&self, _: &DomainName, _: &Glue) -> Result<Change, RegistrarError> {
        Err(pending(op::UPSERT_GLUE))
    }
    async fn delete_glue(&self, _: &DomainName, _: &HostName) -> Result<Change, RegistrarError> {
        Err(pending(op::DELETE_GLUE))
    }
    async fn get_ds(&self, _: &DomainName) -> Result<Vec<DsMaterial>, RegistrarError> {
        Err(pending(op::GET_DS))
    }
    async fn set_ds(&self, _: &DomainName, _: &[DsMaterial]) -> Result<Change, RegistrarError> {
        Err(pending(op::SET_DS))
    }
}
