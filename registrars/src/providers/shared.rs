//! Steps several adapters take the same way: the idempotence check before
//! setting name servers, the checks on a delegation for a zone that cannot
//! hold DS, reading a delegation back from NS records, and the status
//! mapping REST providers share. Provider modules call these; nothing here
//! speaks a provider's wire format.

use crate::Registrar;
use crate::error::RegistrarError;
use crate::types::{Delegation, DomainName, Glue, HostName, Provider, same_hosts};

/// The wanted hosts, sorted and without duplicates (what goes on the wire).
pub(crate) fn distinct(nameservers: &[HostName]) -> Vec<&HostName> {
    let mut hosts: Vec<&HostName> = nameservers.iter().collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The start of every `set_nameservers` that reads the set back through
/// `get_nameservers`: the provider's count limits, then the current set.
/// `None` when it already is the wanted set (order-insensitive), else the
/// hosts to write.
pub(crate) async fn nameservers_to_write<'a, R: Registrar + ?Sized>(
    registrar: &R,
    domain: &DomainName,
    nameservers: &'a [HostName],
) -> Result<Option<Vec<&'a HostName>>, RegistrarError> {
    registrar.capabilities().check_ns_count(nameservers)?;
    let current = registrar.get_nameservers(domain).await?;
    Ok((!same_hosts(&current, nameservers)).then(|| distinct(nameservers)))
}

/// Checks a delegation for a zone whose records cannot hold DS: refuses
/// DS with `instead` (what to do about it), then the NS count limits.
pub(crate) fn plain_delegation(
    provider: Provider,
    operation: &'static str,
    delegation: &Delegation,
    instead: &str,
) -> Result<(), RegistrarError> {
    if !delegation.ds.is_empty() {
        return Err(RegistrarError::unsupported(provider, operation, instead));
    }
    super::capabilities(provider).check_ns_count(&delegation.nameservers)
}

/// Glue belongs to the domain its host is under: refuses any other.
pub(crate) fn glue_under(domain: &DomainName, glue: &Glue) -> Result<(), RegistrarError> {
    if glue.host.is_within(domain) {
        Ok(())
    } else {
        Err(RegistrarError::Invalid {
            field: "glue.host".into(),
            message: format!(
                "{} is not inside {domain}; glue belongs to the parent domain of the host",
                glue.host
            ),
        })
    }
}

/// The delegation a label's NS records make, `None` without records. The
/// TTL is the smallest a record gives, `default_ttl` when none gives one.
/// A host the provider stored that is not a name is a protocol error.
pub(crate) fn ns_delegation<'a>(
    records: impl IntoIterator<Item = (&'a str, Option<u32>)>,
    default_ttl: u32,
) -> Result<Option<Delegation>, RegistrarError> {
    let mut nameservers = Vec::new();
    let mut ttl: Option<u32> = None;
    for (host, record_ttl) in records {
        let host =
            HostName::new(host).map_err(|e| RegistrarError::protocol(format!("NS record: {e}")))?;
        nameservers.push(host);
        if let Some(t) = record_ttl {
            ttl = Some(ttl.map_or(t, |m| m.min(t)));
        }
    }
    Ok((!nameservers.is_empty()).then(|| Delegation {
        nameservers,
        ttl: ttl.unwrap_or(default_ttl),
        ds: Vec::new(),
    }))
}

/// How a REST provider's refusal maps once its own special cases are
/// handled (spec §1): 401 bad credentials, 403 not permitted, 404 the
/// domain is not in the account, 409 conflict, anything else rejected.
pub(crate) fn rest_refusal(
    status: u16,
    code: String,
    message: String,
    domain: &str,
) -> RegistrarError {
    match status {
        401 => RegistrarError::InvalidCredentials {
            message: format!("{code}: {message}"),
        },
        403 => RegistrarError::NotPermitted {
            message: format!("{code}: {message}"),
        },
        404 => RegistrarError::DomainNotInAccount {
            domain: domain.to_owned(),
        },
        409 => RegistrarError::Conflict { code, message },
        _ => RegistrarError::Rejected { code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_delegation_takes_the_smallest_ttl() {
        let got = ns_delegation(
            [
                ("ns2.example.net.", Some(7200)),
                ("NS1.example.net", Some(3600)),
            ],
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.ttl, 3600);
        assert_eq!(got.nameservers[1].as_str(), "ns1.example.net");
        assert_eq!(
            ns_delegation([("a.example.net", None)], 1800)
                .unwrap()
                .unwrap()
                .ttl,
            1800
        );
        assert_eq!(ns_delegation([], 1800).unwrap(), None);
        assert!(matches!(
            ns_delegation([("not a name", None)], 1),
            Err(RegistrarError::Protocol { .. })
        ));
    }

    #[test]
    fn rest_refusals_by_status() {
        let r = |s| rest_refusal(s, "C".into(), "m".into(), "example.com");
        assert!(matches!(r(401), RegistrarError::InvalidCredentials { .. }));
        assert!(matches!(r(403), RegistrarError::NotPermitted { .. }));
        assert!(matches!(r(404), RegistrarError::DomainNotInAccount { .. }));
        assert!(matches!(r(409), RegistrarError::Conflict { .. }));
        assert!(matches!(r(418), RegistrarError::Rejected { .. }));
    }
}
