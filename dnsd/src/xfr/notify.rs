//! NOTIFY out (RFC 1996): when a zone is published with a new serial,
//! every `also-notify` target is told, over UDP, signed with its TSIG key
//! when it has one, and retried with back-off until it answers (at most
//! [`TRIES`] times). A newer change of the same zone supersedes the
//! retries of an older one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, warn};

use super::replicator::Replicator;
use super::stats::Event;
use crate::config::replication::Peer;
use crate::wire::Name;
use crate::wire::tsig::{Key, RequestSigner};
use crate::zones::ZoneChange;
use crate::zones::serial::unix_now;

/// Attempts per target and change.
pub const TRIES: u32 = 5;

/// Wait for an answer to the first try; doubled for each retry.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Sends NOTIFY for every change announced on `changes`, until the
/// registry goes away.
pub async fn send_on_changes(
    replicator: Arc<Replicator>,
    mut changes: UnboundedReceiver<ZoneChange>,
) {
    // The newest serial announced per zone: retries of an older one stop.
    let latest: Arc<Mutex<HashMap<Name, u32>>> = Arc::default();
    while let Some(change) = changes.recv().await {
        if replicator.settings.also_notify.is_empty() {
            continue;
        }
        let key = change.origin.to_lowercase();
        latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), change.serial);
        for target in replicator.settings.also_notify.clone() {
            let tsig = match &target.key {
                Some(name) => match replicator.settings.key(name) {
                    Ok(key) => Some(key),
                    Err(err) => {
                        warn!(%err, "NOTIFY not sent");
                        continue;
                    }
                },
                None => None,
            };
            tokio::spawn(notify_target(
                replicator.clone(),
                change.clone(),
                target,
                tsig,
                latest.clone(),
            ));
        }
    }
}

async fn notify_target(
    replicator: Arc<Replicator>,
    change: ZoneChange,
    target: Peer,
    key: Option<Arc<Key>>,
    latest: Arc<Mutex<HashMap<Name, u32>>>,
) {
    let zone = change.origin.to_lowercase();
    let mut wait = FIRST_WAIT;
    let mut last_error = String::new();
    for attempt in 1..=TRIES {
        let superseded = latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&zone)
            .is_some_and(|&newest| newest != change.serial);
        if superseded {
            return;
        }
        match send_once(&change.origin, target.addr, key.as_ref(), wait).await {
            Ok(()) => {
                debug!(zone = %change.origin, serial = change.serial, target = %target.addr, "NOTIFY answered");
                replicator.stats.count(&change.origin, Event::NotifySent);
                return;
            }
            Err(Failed { answered, reason }) => {
                debug!(zone = %change.origin, target = %target.addr, attempt, %reason, "NOTIFY not accepted yet");
                if attempt < TRIES {
                    // A refusal came back at once: wait out the back-off
                    // anyway, so the tries spread over the same time.
                    if answered {
                        tokio::time::sleep(wait).await;
                    }
                    wait *= 2;
                }
                last_error = reason;
            }
        }
    }
    warn!(zone = %change.origin, serial = change.serial, target = %target.addr, "NOTIFY not accepted after {TRIES} tries: {last_error}");
    replicator.stats.count(&change.origin, Event::NotifyFailed);
}

/// The NOTIFY message for `zone`: opcode NOTIFY, AA, the zone's SOA as
/// the question (RFC 1996 §3.7).
pub fn notify_message(id: u16, zone: &Name) -> Vec<u8> {
    let mut message = Vec::with_capacity(12 + zone.wire_len() + 4);
    message.extend_from_slice(&id.to_be_bytes());
    let flags: u16 = (4 << 11) | 0x0400;
    message.extend_from_slice(&flags.to_be_bytes());
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    message.extend_from_slice(zone.as_wire());
    message.extend_from_slice(&6u16.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message
}

/// Why one NOTIFY did not succeed: no answer in time (or a socket error),
/// or an answer that refused it.
struct Failed {
    answered: bool,
    reason: String,
}

impl From<String> for Failed {
    fn from(reason: String) -> Failed {
        Failed {
            answered: false,
            reason,
        }
    }
}

/// One NOTIFY and the wait for its answer.
async fn send_once(
    zone: &Name,
    target: SocketAddr,
    key: Option<&Arc<Key>>,
    wait: Duration,
) -> Result<(), Failed> {
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(target).await.map_err(|e| e.to_string())?;
    let id = fastrand::u16(..);
    let mut message = notify_message(id, zone);
    let now = unix_now();
    let mut signer = key.map(|key| RequestSigner::sign(key.clone(), &mut message, now));
    socket.send(&message).await.map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv(&mut buffer))
            .await
            .map_err(|_| "no answer".to_string())?
            .map_err(|e| e.to_string())?;
        let reply = &buffer[..received];
        // Our ID, QR set, opcode NOTIFY; anything else is not the answer.
        if reply.len() < 12
            || reply[..2] != id.to_be_bytes()
            || reply[2] & 0x80 == 0
            || (reply[2] >> 3) & 0x0F != 4
        {
            continue;
        }
        if let Some(signer) = &mut signer {
            signer.verify(reply, unix_now()).map_err(|e| Failed {
                answered: true,
                reason: format!("TSIG: {e}"),
            })?;
        }
        let rcode = reply[3] & 0x0F;
        return if rcode == 0 {
            Ok(())
        } else {
            Err(Failed {
                answered: true,
                reason: format!("answered RCODE {rcode}"),
            })
        };
    }
}
