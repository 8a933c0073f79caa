//! The account's registered name servers in the Dynadot mock: glue under
//! the account's domains (with addresses), external hosts added with
//! `add_ns`, and hosts some domain already uses. `set_ns` accepts only
//! these, which is the precondition Dynadot enforces.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sha1::{Digest as _, Sha1};

use super::{Dd, Params, first};
use crate::mock::seed::normalise;
use crate::types::Glue;

/// A stable numeric server id for a host.
pub(super) fn server_id(host: &str) -> u64 {
    let h = Sha1::digest(normalise(host).as_bytes());
    u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % 10_000_000)
}

/// Whether `host` is `domain` or a name under it.
pub(super) fn within(host: &str, domain: &str) -> bool {
    let (host, domain) = (normalise(host), normalise(domain));
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// Every host the account knows, with its addresses.
pub(super) fn known(dd: &Dd, account: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let external = dd
        .local
        .external
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(account)
        .cloned()
        .unwrap_or_default();
    let world = dd.state.world();
    let Some(acct) = world.account(account) else {
        return out;
    };
    for d in &acct.domains {
        for host in &d.nameservers {
            out.entry(normalise(host)).or_insert_with(Vec::new);
        }
    }
    for host in external {
        out.entry(host).or_insert_with(Vec::new);
    }
    for d in &acct.domains {
        for g in &d.glue {
            out.insert(
                g.host.to_string(),
                g.ips.iter().map(IpAddr::to_string).collect(),
            );
        }
    }
    out
}

/// `add_ns`: an external host.
pub(super) fn add_external(dd: &Dd, account: &str, host: &str) -> Result<(), String> {
    if known(dd, account).contains_key(host) {
        return Err(format!("'{host}' is already registered"));
    }
    dd.local
        .external
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(account.to_owned())
        .or_default()
        .push(host.to_owned());
    Ok(())
}

/// `register_ns`: a host under one of the account's domains, with glue.
pub(super) fn register(dd: &Dd, account: &str, glue: Glue) -> Result<(), String> {
    let mut world = dd.state.world();
    let acct = world.account_mut(account).ok_or("account vanished")?;
    if acct
        .domains
        .iter()
        .any(|d| d.glue.iter().any(|g| g.host == glue.host))
    {
        return Err(format!("'{}' is already registered", glue.host));
    }
    let domain = acct
        .domains
        .iter_mut()
        .find(|d| within(glue.host.as_str(), &d.name))
        .ok_or_else(|| format!("'{}' is not under a domain in your account", glue.host))?;
    domain.glue.push(glue);
    Ok(())
}

/// The host a `server_id` (or host name) parameter names.
pub(super) fn resolve(dd: &Dd, account: &str, params: &Params) -> Result<String, String> {
    let known = known(dd, account);
    if let Some(id) = params.get("server_id") {
        return known
            .keys()
            .find(|h| server_id(h).to_string() == *id)
            .cloned()
            .ok_or_else(|| format!("could not find name server {id}"));
    }
    let host = first(params, &["host", "ns", "nameserver"])
        .map(normalise)
        .unwrap_or_default();
    if known.contains_key(&host) {
        Ok(host)
    } else {
        Err(format!("could not find name server {host}"))
    }
}

/// `set_ns_ip`: new addresses for a glue host.
pub(super) fn set_ips(dd: &Dd, account: &str, host: &str, ips: Vec<IpAddr>) -> Result<(), String> {
    let mut world = dd.state.world();
    let acct = world.account_mut(account).ok_or("account vanished")?;
    let glue = acct
        .domains
        .iter_mut()
        .flat_map(|d| d.glue.iter_mut())
        .find(|g| g.host.as_str() == host)
        .ok_or_else(|| format!("'{host}' is not under a domain in your account"))?;
    glue.ips = ips;
    Ok(())
}

/// `delete_ns`: only hosts no domain uses.
pub(super) fn delete(dd: &Dd, account: &str, host: &str) -> Result<(), String> {
    {
        let mut world = dd.state.world();
        let acct = world.account_mut(account).ok_or("account vanished")?;
        if acct
            .domains
            .iter()
            .any(|d| d.nameservers.iter().any(|n| normalise(n) == host))
        {
            return Err(format!(
                "'{host}' is in use by a domain and cannot be deleted"
            ));
        }
        for d in &mut acct.domains {
            d.glue.retain(|g| g.host.as_str() != host);
        }
    }
    if let Some(list) = dd
        .local
        .external
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(account)
    {
        list.retain(|h| h != host);
    }
    Ok(())
}
