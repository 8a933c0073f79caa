//! How the OVH adapter talks to OVH: every request signed with the
//! timestamp offset learnt from `GET /auth/time` (learnt again, and the
//! request retried once, when OVH refuses a timestamp), answers decoded or
//! mapped to errors, and the two kinds of writes (those returning a task,
//! those returning `null`).

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::wire::{self, Task};
use super::{Ovh, encode_err, pending, signature};
use crate::error::RegistrarError;
use crate::http::HttpResponse;
use crate::types::{Change, DomainName};

impl Ovh {
    /// Reads OVH's clock and stores the offset to ours.
    pub(super) async fn sync_time(&self) -> Result<i64, RegistrarError> {
        let url = format!("{}/auth/time", self.base_url);
        let server: i64 = self
            .http
            .execute(
                "auth_time",
                |c| Ok(c.get(&url)),
                |resp| match resp.status_error() {
                    Some(e) => Err(e),
                    None if resp.status.is_success() => resp.text().trim().parse().map_err(|_| {
                        RegistrarError::protocol("/auth/time did not return an integer")
                    }),
                    None => Err(wire::error(&resp, "")),
                },
            )
            .await?;
        let delta = server - self.clock.now_unix();
        *self.delta.lock().await = Some(delta);
        Ok(delta)
    }

    pub(super) async fn delta(&self) -> Result<i64, RegistrarError> {
        let known = *self.delta.lock().await;
        match known {
            Some(d) => Ok(d),
            None => self.sync_time().await,
        }
    }

    /// Sends one signed request. `path` is relative to the API root and may
    /// carry a query; `context` names the domain for 404s.
    pub(super) async fn call<T>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        context: &str,
        ok: impl Fn(HttpResponse) -> Result<T, RegistrarError>,
    ) -> Result<T, RegistrarError> {
        let url = Url::parse(&format!("{}{}", self.base_url, path))
            .map_err(|e| RegistrarError::protocol(format!("bad request URL: {e}")))?;
        // Signed byte for byte, so serialised once, compactly.
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(encode_err)?,
            None => Vec::new(),
        };
        let mut resynced = false;
        loop {
            let delta = self.delta().await?;
            // Set when OVH refuses our timestamp: further tries with the same
            // offset are pointless, so the next build stops the retry loop
            // and we resynchronise below.
            let skewed = AtomicBool::new(false);
            let outcome = self
                .http
                .execute(
                    op,
                    |client| {
                        if skewed.load(Ordering::Relaxed) {
                            return Err(RegistrarError::ClockSkew {
                                message: "timestamp refused; resynchronising".into(),
                            });
                        }
                        let ts = self.clock.now_unix() + delta;
                        let sig = signature(
                            self.credentials.application_secret.expose(),
                            self.credentials.consumer_key.expose(),
                            method.as_str(),
                            url.as_str(),
                            &body,
                            ts,
                        );
                        let mut req = client
                            .request(method.clone(), url.clone())
                            .header("x-ovh-application", self.application.clone())
                            .header("x-ovh-consumer", self.consumer.clone())
                            .header("x-ovh-timestamp", ts.to_string())
                            .header("x-ovh-signature", sig)
                            .header("accept", "application/json");
                        if !body.is_empty() {
                            req = req
                                .header("content-type", "application/json")
                                .body(body.clone());
                        }
                        Ok(req)
                    },
                    |resp| {
                        if resp.status.is_success() {
                            return ok(resp);
                        }
                        let err = wire::error(&resp, context);
                        if matches!(err, RegistrarError::ClockSkew { .. }) {
                            skewed.store(true, Ordering::Relaxed);
                        }
                        Err(err)
                    },
                )
                .await;
            match outcome {
                Err(RegistrarError::ClockSkew { .. }) if !resynced => {
                    resynced = true;
                    self.sync_time().await?;
                }
                other => return other,
            }
        }
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        op: &'static str,
        path: &str,
        context: &str,
        what: &'static str,
    ) -> Result<T, RegistrarError> {
        self.call(op, Method::GET, path, None, context, |r| r.json(what))
            .await
    }

    /// A write that returns a task.
    pub(super) async fn task_call(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: &serde_json::Value,
        domain: &DomainName,
    ) -> Result<Change, RegistrarError> {
        let task: Task = self
            .call(op, method, path, Some(body), domain.as_str(), |r| {
                r.json("task")
            })
            .await?;
        Ok(pending(domain, task))
    }

    /// A write whose answer we do not need (OVH answers `null`).
    pub(super) async fn plain_call(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        context: &str,
    ) -> Result<(), RegistrarError> {
        self.call(op, method, path, body, context, |_| Ok(())).await
    }
}
