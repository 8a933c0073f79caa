//! OVH tasks in the mock: a write becomes a shared mock task plus the
//! change it will make, applied once, when a poll of
//! `GET /domain/{d}/task/{id}` first sees it done. Until then reads show
//! the old state; a task that fails (`Fault::FailTask`) changes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::mock::{MockState, MockTask, MockTaskState, World};
use crate::types::{Dnskey, Glue};

/// A change waiting for its task.
#[derive(Debug)]
pub(super) enum PendingChange {
    /// `DomainDnsUpdate`: the whole NS set, each with its optional `ip`.
    Nameservers(Vec<(String, Option<String>)>),
    /// `DomainHostCreate` / `DomainHostUpdate`.
    GluePut(Glue),
    /// `DomainHostDelete`.
    GlueDelete(String),
    /// `DomainDsUpdate`: the whole DNSKEY set.
    Keys(Vec<Dnskey>),
}

/// Task bookkeeping local to one OVH mock.
#[derive(Clone, Default)]
pub(super) struct Tasks {
    pending: Arc<Mutex<HashMap<String, PendingChange>>>,
}

fn task_json(task: &MockTask, status: &str, comment: Option<&str>) -> Value {
    let done = matches!(status, "done" | "error");
    json!({
        "id": task.id.parse::<u64>().unwrap_or(0),
        "function": task.kind,
        "status": status,
        "comment": comment,
        "creationDate": "2026-01-01T00:00:00+01:00",
        "todoDate": "2026-01-01T00:00:00+01:00",
        "lastUpdate": "2026-01-01T00:00:00+01:00",
        "doneDate": if done { json!("2026-01-01T00:01:00+01:00") } else { Value::Null },
        "canRelaunch": status == "error",
        "canAccelerate": false,
        "canCancel": status == "todo",
    })
}

impl Tasks {
    /// Starts a task of `function` that will make `change`; the body OVH
    /// answers the write with.
    pub(super) fn start(
        &self,
        state: &MockState,
        account: &str,
        domain: &str,
        function: &str,
        change: PendingChange,
    ) -> Value {
        let task = state.create_task(account, domain, function);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(task.id.clone(), change);
        state.note(format!("task {function} {domain}"));
        task_json(&task, "todo", None)
    }

    /// Polls a task of the domain; `None` when there is no such task.
    pub(super) fn poll(
        &self,
        state: &MockState,
        account: &str,
        domain: &str,
        id: &str,
    ) -> Option<Value> {
        let known = state
            .world()
            .tasks
            .iter()
            .any(|t| t.id == id && t.domain == domain);
        if !known {
            return None;
        }
        let (task, st) = state.poll_task(account, id)?;
        Some(match st {
            MockTaskState::Running if task.polls <= 1 => task_json(&task, "todo", None),
            MockTaskState::Running => task_json(&task, "doing", None),
            MockTaskState::Done => {
                let change = self
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
                if let Some(change) = change {
                    apply(&mut state.world(), account, domain, change);
                    state.note(format!("applied {} {domain}", task.kind));
                }
                task_json(&task, "done", None)
            }
            MockTaskState::Failed(message) => {
                self.pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(id);
                task_json(&task, "error", Some(&message))
            }
        })
    }
}

fn apply(world: &mut World, account: &str, domain: &str, change: PendingChange) {
    let Some(d) = world
        .account_mut(account)
        .and_then(|a| a.domain_mut(domain))
    else {
        return;
    };
    match change {
        PendingChange::Nameservers(entries) => {
            let ips: serde_json::Map<String, Value> = entries
                .iter()
                .filter_map(|(h, ip)| ip.as_ref().map(|ip| (h.clone(), json!(ip))))
                .collect();
            d.nameservers = entries.into_iter().map(|(h, _)| h).collect();
            d.extra.insert("ns_ips".into(), Value::Object(ips));
        }
        PendingChange::GluePut(glue) => {
            d.glue.retain(|g| g.host != glue.host);
            d.glue.push(glue);
        }
        PendingChange::GlueDelete(host) => d.glue.retain(|g| g.host.as_str() != host),
        PendingChange::Keys(keys) => d.dnskeys = keys,
    }
}
