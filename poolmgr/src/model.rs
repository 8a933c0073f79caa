//! An allocation of `<subdomain>.<pool>` and its states, and how it looks
//! on the wire (the Go PDM's JSON field names).

use serde::Serialize;

/// Seconds since the Unix epoch: the one time representation in the
/// database, identical on SQLite and PostgreSQL.
pub type UnixTime = i64;

/// Where an allocation stands.
///
/// `Reserved` and `Active` are PDM's states. `Releasing` and `Expiring`
/// are ours: the row stays until its DNS teardown has succeeded, so a
/// failed teardown is retried instead of orphaning a zone (PDM §10.1, §10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Held for a caller until `expires_at`; DNS scaffolding exists.
    Reserved,
    /// Committed; the canonical records are published. Never expires.
    Active,
    /// Released by a caller; DNS teardown pending.
    Releasing,
    /// Reservation expired and claimed by the sweeper; teardown pending.
    Expiring,
}

impl State {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Reserved => "reserved",
            State::Active => "active",
            State::Releasing => "releasing",
            State::Expiring => "expiring",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "reserved" => State::Reserved,
            "active" => State::Active,
            "releasing" => State::Releasing,
            "expiring" => State::Expiring,
            _ => return None,
        })
    }
}

/// One row of `pool_allocations`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The pool, e.g. `omani.works`.
    pub pool_domain: String,
    /// The allocated label, e.g. `omantel`.
    pub subdomain: String,
    /// Where it stands.
    pub state: State,
    /// A fresh UUID per reservation: names this incarnation of the row, so
    /// that DNS work queued for an old incarnation never touches a newer one.
    pub incarnation: String,
    /// When it was reserved.
    pub reserved_at: UnixTime,
    /// While reserved: when the reservation lapses.
    pub expires_at: Option<UnixTime>,
    /// As given at commit; stored, not used.
    pub sovereign_fqdn: Option<String>,
    /// The IPv4 address the canonical A records point at.
    pub load_balancer_ip: Option<String>,
    /// The optional IPv6 address for AAAA records.
    pub load_balancer_ipv6: Option<String>,
    /// While reserved: SHA-256 (hex, [`token_hash`]) of the reservation
    /// token, the caller's proof for commit and renew. The token itself is
    /// never stored: it is handed out once, in the answer to the reserve
    /// that issued it.
    pub reservation_token_hash: Option<String>,
    /// After commit: SHA-256 (hex) of the token used, so that a retried
    /// commit with the same token can be recognised.
    pub committed_token_hash: Option<String>,
    /// Who reserved it.
    pub created_by: String,
    /// The `Idempotency-Key` of the reserve request, if it had one.
    pub idempotency_key: Option<String>,
    /// The identity of the token that reserved it (see
    /// [`crate::api::auth::Identity`]); only it, or an operator token, may
    /// commit, renew or release it. `None`: reserved without
    /// authentication or before owners were recorded.
    pub owner: Option<String>,
}

impl Allocation {
    /// `<subdomain>.<pool>`, no trailing dot.
    pub fn fqdn(&self) -> String {
        format!("{}.{}", self.subdomain, self.pool_domain)
    }

    /// The JSON object PDM returns to callers: never a reservation token
    /// (only [`Allocation::to_json_issuing`] has one) nor the owner.
    pub fn to_json(&self) -> AllocationJson {
        AllocationJson {
            pool_domain: self.pool_domain.clone(),
            subdomain: self.subdomain.clone(),
            state: match self.state {
                // Callers know only PDM's two states; a row on its way out
                // was theirs until a moment ago.
                State::Reserved | State::Expiring => "reserved",
                State::Active | State::Releasing => "active",
            },
            reserved_at: Some(rfc3339(self.reserved_at)),
            expires_at: self.expires_at.map(rfc3339),
            sovereign_fqdn: self.sovereign_fqdn.clone(),
            load_balancer_ip: self.load_balancer_ip.clone(),
            load_balancer_ipv6: self.load_balancer_ipv6.clone(),
            reservation_token: None,
            created_by: Some(self.created_by.clone()).filter(|s| !s.is_empty()),
            owner: None,
        }
    }

    /// The reserve response: the object with the token just issued, the
    /// one time it is shown.
    pub fn to_json_issuing(&self, token: &str) -> AllocationJson {
        AllocationJson {
            reservation_token: Some(token.to_owned()),
            ..self.to_json()
        }
    }

    /// What operators read (listings): the object with its owner.
    pub fn to_operator_json(&self) -> AllocationJson {
        AllocationJson {
            owner: self.owner.clone(),
            ..self.to_json()
        }
    }
}

/// The wire form of an allocation; unset fields are omitted.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationJson {
    /// The pool.
    pub pool_domain: String,
    /// The label.
    pub subdomain: String,
    /// `reserved` or `active`.
    pub state: &'static str,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_at: Option<String>,
    /// RFC 3339, only while reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// As given at commit.
    #[serde(rename = "sovereignFQDN", skip_serializing_if = "Option::is_none")]
    pub sovereign_fqdn: Option<String>,
    /// As given at commit.
    #[serde(rename = "loadBalancerIP", skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<String>,
    /// Our extension: AAAA target.
    #[serde(rename = "loadBalancerIPv6", skip_serializing_if = "Option::is_none")]
    pub load_balancer_ipv6: Option<String>,
    /// Only in the reserve response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_token: Option<String>,
    /// Who reserved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Our extension, in operator reads only: the owning identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// RFC 3339 with whole seconds and `Z`, as PDM writes timestamps.
pub fn rfc3339(t: UnixTime) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// SHA-256 of a token, hex: what we keep to recognise a token later.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_seconds_z() {
        assert_eq!(rfc3339(1_777_456_800), "2026-04-29T10:00:00Z");
    }

    #[test]
    fn listing_never_carries_the_token() {
        let a = Allocation {
            pool_domain: "omani.works".into(),
            subdomain: "omantel".into(),
            state: State::Reserved,
            incarnation: "i".into(),
            reserved_at: 0,
            expires_at: Some(600),
            sovereign_fqdn: None,
            load_balancer_ip: None,
            load_balancer_ipv6: None,
            reservation_token_hash: Some(token_hash("tok")),
            committed_token_hash: None,
            created_by: "catalyst-api".into(),
            idempotency_key: None,
            owner: Some("catalyst-api".into()),
        };
        let listed = serde_json::to_value(a.to_json()).unwrap();
        assert!(listed.get("reservationToken").is_none());
        assert!(listed.get("owner").is_none());
        assert!(!listed.to_string().contains(&token_hash("tok")));
        assert_eq!(listed["expiresAt"], "1970-01-01T00:10:00Z");
        let reserved = serde_json::to_value(a.to_json_issuing("tok")).unwrap();
        assert_eq!(reserved["reservationToken"], "tok");
        assert!(reserved.get("loadBalancerIP").is_none());
        let operator = serde_json::to_value(a.to_operator_json()).unwrap();
        assert_eq!(operator["owner"], "catalyst-api");
        assert!(operator.get("reservationToken").is_none());
    }
}
