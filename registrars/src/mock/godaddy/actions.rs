//! GoDaddy v2 actions in the mock: each v2 write becomes a shared mock
//! task plus the change it will make, applied once, when a poll first
//! sees the task succeed. GoDaddy addresses actions by type, so the latest
//! action of each type per domain is what `GET …/actions/{type}` reports.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Gd;
use crate::mock::seed::normalise;
use crate::mock::{MockTaskState, World};
use crate::types::{DsMaterial, Glue};

/// A change waiting for its action to succeed.
#[derive(Debug)]
pub(super) enum PendingChange {
    /// `DOMAIN_UPDATE_NAME_SERVERS`.
    Nameservers(Vec<String>),
    /// `HOST_CREATE`: create or replace the host object.
    HostPut(Glue),
    /// `HOST_DELETE`.
    HostDelete(String),
    /// `DNSSEC_CREATE`.
    DsAdd(Vec<DsMaterial>),
    /// `DNSSEC_DELETE`.
    DsRemove(Vec<DsMaterial>),
}

/// Action bookkeeping local to one GoDaddy mock.
#[derive(Debug, Default)]
pub(super) struct Actions {
    /// (account, domain, type) → id of the latest such action.
    latest: HashMap<(String, String, String), String>,
    /// Action id → the change it makes when it succeeds.
    pending: HashMap<String, PendingChange>,
    /// Action id → the client's `X-Request-Id`, echoed in the action.
    request_ids: HashMap<String, String>,
}

fn lock(gd: &Gd) -> std::sync::MutexGuard<'_, Actions> {
    gd.actions.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts an action of `kind` that will make `change`.
pub(super) fn start(
    gd: &Gd,
    account: &str,
    domain: &str,
    kind: &str,
    change: PendingChange,
    request_id: Option<String>,
) {
    let domain = normalise(domain);
    let task = gd.state.create_task(account, &domain, kind);
    let mut actions = lock(gd);
    actions.latest.insert(
        (account.to_owned(), domain, kind.to_owned()),
        task.id.clone(),
    );
    if let Some(rid) = request_id {
        actions.request_ids.insert(task.id.clone(), rid);
    }
    actions.pending.insert(task.id, change);
}

/// True while some action on the domain has not finished.
pub(super) fn busy(gd: &Gd, account: &str, domain: &str) -> bool {
    let domain = normalise(domain);
    let ids: Vec<String> = {
        let actions = lock(gd);
        actions
            .latest
            .iter()
            .filter(|((a, d, _), id)| {
                *a == account && *d == domain && actions.pending.contains_key(*id)
            })
            .map(|(_, id)| id.clone())
            .collect()
    };
    let world = gd.state.world();
    world
        .tasks
        .iter()
        .any(|t| ids.contains(&t.id) && t.polls < t.polls_needed)
}

fn action_json(
    kind: &str,
    status: &str,
    failure: Option<&str>,
    request_id: Option<&String>,
) -> Value {
    let mut body = json!({
        "type": kind,
        "origination": "USER",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "status": status,
    });
    if let Some(rid) = request_id {
        body["requestId"] = json!(rid);
    }
    if let Some(message) = failure {
        body["reason"] = json!({ "code": "ACTION_FAILED", "message": message });
    }
    body
}

/// Polls the latest action of `kind` on the domain, applying its change
/// the first time it is seen to succeed. `None` when there is none.
pub(super) fn poll(gd: &Gd, account: &str, domain: &str, kind: &str) -> Option<Value> {
    let domain = normalise(domain);
    let id = lock(gd)
        .latest
        .get(&(account.to_owned(), domain.clone(), kind.to_owned()))?
        .clone();
    let (_, state) = gd.state.poll_task(account, &id)?;
    let rid = lock(gd).request_ids.get(&id).cloned();
    let rid = rid.as_ref();
    Some(match state {
        MockTaskState::Running => action_json(kind, "PENDING", None, rid),
        MockTaskState::Done => {
            let change = lock(gd).pending.remove(&id);
            if let Some(change) = change {
                apply(&mut gd.state.world(), account, &domain, change);
                gd.state.note(format!("applied {kind} {domain}"));
            }
            action_json(kind, "SUCCESS", None, rid)
        }
        MockTaskState::Failed(message) => {
            lock(gd).pending.remove(&id);
            action_json(kind, "FAILED", Some(&message), rid)
        }
    })
}

/// The latest action of each type on the domain, without counting a poll
/// (the v2 domain's `actions[]`).
pub(super) fn summary(gd: &Gd, account: &str, domain: &str) -> Vec<Value> {
    let domain = normalise(domain);
    let (latest, rids): (Vec<(String, String)>, HashMap<String, String>) = {
        let actions = lock(gd);
        let latest = actions
            .latest
            .iter()
            .filter(|((a, d, _), _)| *a == account && *d == domain)
            .map(|((_, _, k), id)| (k.clone(), id.clone()))
            .collect();
        (latest, actions.request_ids.clone())
    };
    let world = gd.state.world();
    latest
        .into_iter()
        .filter_map(|(kind, id)| {
            let task = world.tasks.iter().find(|t| t.id == id)?;
            Some(match (&task.failure, task.polls >= task.polls_needed) {
                (_, false) => action_json(&kind, "PENDING", None, rids.get(&id)),
                (Some(msg), true) => action_json(&kind, "FAILED", Some(msg), rids.get(&id)),
                (None, true) => action_json(&kind, "SUCCESS", None, rids.get(&id)),
            })
        })
        .collect()
}

fn apply(world: &mut World, account: &str, domain: &str, change: PendingChange) {
    let Some(d) = world.domain_mut(account, domain) else {
        return;
    };
    match change {
        PendingChange::Nameservers(ns) => d.nameservers = ns,
        PendingChange::HostPut(glue) => d.put_glue(glue),
        PendingChange::HostDelete(host) => d.remove_glue(&host),
        PendingChange::DsAdd(items) => {
            for item in items {
                match item {
                    DsMaterial::Ds(ds) if !d.ds.contains(&ds) => d.ds.push(ds),
                    DsMaterial::Dnskey(k) if !d.dnskeys.contains(&k) => d.dnskeys.push(k),
                    _ => {}
                }
            }
        }
        PendingChange::DsRemove(items) => {
            for item in items {
                match item {
                    DsMaterial::Ds(ds) => d.ds.retain(|x| *x != ds),
                    DsMaterial::Dnskey(k) => d.dnskeys.retain(|x| *x != k),
                }
            }
        }
    }
}
