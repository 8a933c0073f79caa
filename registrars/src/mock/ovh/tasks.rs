//! OVH tasks in the mock: a write becomes a shared mock task plus the
//! change it will make, applied once, when a poll of
//! `GET /domain/{d}/task/{id}` first sees it done. Until then reads show
//! the old state; a task that fails (`Fault::FailTask`) changes nothing
//! until it is relaunched.
//!
//! Also served, as OVH documents them: the task listing
//! `GET /domain/{d}/task?function=…&status=…` (ids; a listing never moves a
//! task along) and `POST /domain/{d}/task/{id}/{accelerate|cancel|relaunch}`
//! (`null`; refused with 403 when the task's `can…` flag is false, a mock
//! convention for OVH's unpublished error text).

use std::collections::{HashMap, HashSet};
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
    cancelled: Arc<Mutex<HashSet<String>>>,
}

/// The three task actions OVH offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TaskAction {
    /// Run it now: the next poll finds it finished.
    Accelerate,
    /// Drop a task that has not started, and its change.
    Cancel,
    /// Run a failed task again.
    Relaunch,
}

impl TaskAction {
    pub(super) fn parse(name: &str) -> Option<Self> {
        match name {
            "accelerate" => Some(Self::Accelerate),
            "cancel" => Some(Self::Cancel),
            "relaunch" => Some(Self::Relaunch),
            _ => None,
        }
    }
}

/// Where a task stands by its polls so far, without counting one: the
/// same words a poll answers with.
fn status_of(task: &MockTask) -> &'static str {
    if task.polls < task.polls_needed || task.polls == 0 {
        if task.polls <= 1 { "todo" } else { "doing" }
    } else if task.failure.is_some() {
        "error"
    } else {
        "done"
    }
}

fn task_json(task: &MockTask, status: &str, comment: Option<&str>) -> Value {
    let done = matches!(status, "done" | "error" | "cancelled");
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
        "canAccelerate": matches!(status, "todo" | "doing"),
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
        lock(&self.pending).insert(task.id.clone(), change);
        state.note(format!("task {function} {domain}"));
        task_json(&task, "todo", None)
    }

    fn is_cancelled(&self, id: &str) -> bool {
        lock(&self.cancelled).contains(id)
    }

    /// The task `id` of `account` about `domain`, as it stands.
    fn find(state: &MockState, account: &str, domain: &str, id: &str) -> Option<MockTask> {
        state
            .world()
            .tasks
            .iter()
            .find(|t| t.id == id && t.account == account && t.domain == domain)
            .cloned()
    }

    /// Ids of the domain's tasks, filtered like OVH's listing (exact
    /// `function` and `status`).
    pub(super) fn list(
        &self,
        state: &MockState,
        account: &str,
        domain: &str,
        function: Option<&str>,
        status: Option<&str>,
    ) -> Vec<u64> {
        let world = state.world();
        world
            .tasks
            .iter()
            .filter(|t| t.account == account && t.domain == domain)
            .filter(|t| function.is_none_or(|f| t.kind == f))
            .filter(|t| {
                let now = if self.is_cancelled(&t.id) {
                    "cancelled"
                } else {
                    status_of(t)
                };
                status.is_none_or(|s| s == now)
            })
            .filter_map(|t| t.id.parse().ok())
            .collect()
    }

    /// Runs `action` on a task; `Err` with OVH's status and message when
    /// the task does not exist or the action is not open to it.
    pub(super) fn act(
        &self,
        state: &MockState,
        account: &str,
        domain: &str,
        id: &str,
        action: TaskAction,
    ) -> Result<(), (u16, &'static str)> {
        let task =
            Self::find(state, account, domain, id).ok_or((404, "This task does not exist"))?;
        let status = if self.is_cancelled(id) {
            "cancelled"
        } else {
            status_of(&task)
        };
        let allowed = match action {
            TaskAction::Accelerate => matches!(status, "todo" | "doing"),
            TaskAction::Cancel => status == "todo",
            TaskAction::Relaunch => status == "error",
        };
        if !allowed {
            return Err((
                403,
                "This action is not allowed on this task in its current status",
            ));
        }
        match action {
            TaskAction::Cancel => {
                lock(&self.pending).remove(id);
                lock(&self.cancelled).insert(id.to_owned());
            }
            TaskAction::Accelerate | TaskAction::Relaunch => {
                let mut world = state.world();
                if let Some(t) = world.tasks.iter_mut().find(|t| t.id == id) {
                    if action == TaskAction::Relaunch {
                        t.failure = None;
                        t.polls = 0;
                    }
                    // The next poll finishes it.
                    t.polls_needed = t.polls + 1;
                }
            }
        }
        state.note(format!("task {action:?} {id}"));
        Ok(())
    }

    /// Polls a task of the domain; `None` when there is no such task.
    pub(super) fn poll(
        &self,
        state: &MockState,
        account: &str,
        domain: &str,
        id: &str,
    ) -> Option<Value> {
        let task = Self::find(state, account, domain, id)?;
        if self.is_cancelled(id) {
            return Some(task_json(&task, "cancelled", None));
        }
        let (task, st) = state.poll_task(account, id)?;
        Some(match st {
            MockTaskState::Running if task.polls <= 1 => task_json(&task, "todo", None),
            MockTaskState::Running => task_json(&task, "doing", None),
            MockTaskState::Done => {
                let change = lock(&self.pending).remove(id);
                if let Some(change) = change {
                    apply(&mut state.world(), account, domain, change);
                    state.note(format!("applied {} {domain}", task.kind));
                }
                task_json(&task, "done", None)
            }
            // The change stays pending: a relaunch may still apply it.
            MockTaskState::Failed(message) => task_json(&task, "error", Some(&message)),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn apply(world: &mut World, account: &str, domain: &str, change: PendingChange) {
    let Some(d) = world.domain_mut(account, domain) else {
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
        PendingChange::GluePut(glue) => d.put_glue(glue),
        PendingChange::GlueDelete(host) => d.remove_glue(&host),
        PendingChange::Keys(keys) => d.dnskeys = keys,
    }
}
