//! `GET /openapi.json`: the API described as OpenAPI 3.0, written by hand
//! next to the handlers so the two change together; checked against the
//! served routes ([`super::routes`]) here and against the running binary in
//! `tests/e2e/poolmgr.rs`.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn body(schema: &str) -> Value {
    json!({ "required": true,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn domain_param() -> Value {
    json!({ "name": "domain", "in": "path", "required": true, "schema": { "type": "string" },
            "description": "A managed pool, e.g. omani.works" })
}

fn registrar_param() -> Value {
    json!({ "name": "registrar", "in": "path", "required": true,
            "schema": { "type": "string", "enum": ["cloudflare", "dynadot", "godaddy", "namecheap", "ovh"] } })
}

/// `/healthz`'s `fleet` object and `/fleet`'s body (see
/// [`crate::fleet::status`]).
fn fleet_schema() -> Value {
    json!({ "type": "object", "description": "Only with POOLMGR_FLEET_NAMESERVERS. A name server is current when it serves the pool zone's serial on the primary or a newer one (RFC 1982).",
            "properties": {
              "status": { "type": "string", "enum": ["current", "lagging"] },
              "checkedAt": { "type": "string", "format": "date-time" },
              "lagging": { "type": "integer", "description": "(pool, name server) pairs not current" },
              "pools": { "type": "object", "additionalProperties": { "type": "object", "properties": {
                "serial": { "type": "integer", "description": "the primary's serial" },
                "error": { "type": "string", "description": "why the primary's serial is unknown" },
                "current": { "type": "integer" }, "total": { "type": "integer" },
                "nameservers": { "type": "array", "items": { "type": "object", "properties": {
                  "address": { "type": "string" }, "serial": { "type": "integer" },
                  "error": { "type": "string", "description": "timeout, REFUSED, SERVFAIL, not authoritative, network: ..." },
                  "current": { "type": "boolean" } } } } } } } } })
}

/// The document.
pub fn spec() -> Value {
    let unauthorized = error_response("missing or unknown bearer token");
    json!({
      "openapi": "3.0.3",
      "info": {
        "title": "poolmgr",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Pool-domain manager, wire-compatible with the Go PDM. Every route but /healthz and /fleet needs Authorization: Bearer <token> unless authentication is switched off. An allocation belongs to the token identity that reserved it: commit, renew and release by another caller identity are 403 not-owner; operator tokens may act on every allocation. loadBalancerIP and loadBalancerIPv6 must be global unicast addresses (422 invalid-lb-ip; private ranges only with POOLMGR_ALLOW_PRIVATE_LB_IPS=true)."
      },
      "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        "schemas": {
          "Error": { "type": "object", "required": ["error"], "properties": {
            "error": { "type": "string" }, "detail": { "type": "string" },
            "registrar": { "type": "string" }, "domain": { "type": "string" } } },
          "Allocation": { "type": "object", "required": ["poolDomain", "subdomain", "state"], "properties": {
            "poolDomain": { "type": "string" }, "subdomain": { "type": "string" },
            "state": { "type": "string", "enum": ["reserved", "active"] },
            "reservedAt": { "type": "string", "format": "date-time" },
            "expiresAt": { "type": "string", "format": "date-time" },
            "sovereignFQDN": { "type": "string" }, "loadBalancerIP": { "type": "string" },
            "loadBalancerIPv6": { "type": "string" },
            "reservationToken": { "type": "string", "format": "uuid", "description": "only in the reserve response: shown once, stored hashed" },
            "createdBy": { "type": "string" },
            "owner": { "type": "string", "description": "operator reads only: the token identity that reserved it (absent: reserved without authentication or before owners were recorded)" } } },
          "Check": { "type": "object", "required": ["available"], "properties": {
            "available": { "type": "boolean" },
            "reason": { "type": "string", "enum": ["invalid-format", "unsupported-pool", "reserved", "reserved-state", "active-state", "unknown-state"] },
            "detail": { "type": "string" }, "fqdn": { "type": "string" } } },
          "ReserveRequest": { "type": "object", "required": ["subdomain"], "properties": {
            "subdomain": { "type": "string" }, "createdBy": { "type": "string" } } },
          "CommitRequest": { "type": "object", "required": ["subdomain", "reservationToken", "loadBalancerIP"], "properties": {
            "subdomain": { "type": "string" }, "reservationToken": { "type": "string", "format": "uuid" },
            "sovereignFQDN": { "type": "string" },
            "loadBalancerIP": { "type": "string", "format": "ipv4", "description": "global unicast: not loopback, unspecified, link-local, multicast, broadcast or reserved; private ranges (RFC 1918, 100.64/10, 198.18/15) only with POOLMGR_ALLOW_PRIVATE_LB_IPS; documentation ranges accepted" },
            "loadBalancerIPv6": { "type": "string", "format": "ipv6", "description": "same rules (unique local fc00::/7 is private)" } } },
          "RenewRequest": { "type": "object", "required": ["subdomain", "reservationToken"], "properties": {
            "subdomain": { "type": "string" }, "reservationToken": { "type": "string", "format": "uuid" } } },
          "ReleaseRequest": { "type": "object", "required": ["subdomain"], "properties": {
            "subdomain": { "type": "string" } } },
          "Accepted": { "type": "object", "properties": {
            "warning": { "type": "string" }, "detail": { "type": "string" },
            "freed": { "$ref": "#/components/schemas/Allocation" } } },
          "Released": { "type": "object", "properties": { "freed": { "$ref": "#/components/schemas/Allocation" } } },
          "List": { "type": "object", "properties": { "poolDomain": { "type": "string" },
            "allocations": { "type": "array", "items": { "$ref": "#/components/schemas/Allocation" } } } },
          "RegistrarRequest": { "type": "object", "required": ["domain", "token"], "properties": {
            "domain": { "type": "string" }, "token": { "type": "string", "writeOnly": true },
            "nameservers": { "type": "array", "items": { "type": "string" } } } },
          "Validated": { "type": "object", "properties": { "valid": { "type": "boolean" },
            "registrar": { "type": "string" }, "domain": { "type": "string" } } },
          "NameserversSet": { "type": "object", "properties": { "success": { "type": "boolean" },
            "registrar": { "type": "string" }, "domain": { "type": "string" },
            "nameservers": { "type": "array", "items": { "type": "string" } },
            "propagation": { "type": "string" } } },
          "ByoRequest": { "type": "object", "required": ["domain", "token"], "properties": {
            "domain": { "type": "string" }, "token": { "type": "string", "writeOnly": true },
            "nameservers": { "type": "array", "items": { "type": "string" } },
            "keepToken": { "type": "boolean", "description": "keep the token sealed so pending provider tasks are finished in the background (needs POOLMGR_TOKEN_SEALING_KEY)" } } },
          "ByoRefresh": { "type": "object", "required": ["token"], "properties": {
            "token": { "type": "string", "writeOnly": true } } },
          "ByoRecord": { "type": "object", "properties": {
            "domain": { "type": "string" }, "registrar": { "type": "string" },
            "state": { "type": "string", "enum": ["pending", "complete", "failed"] },
            "nameservers": { "type": "array", "items": { "type": "string" } },
            "ns": { "type": "object" }, "ds": { "type": "object" },
            "lastError": { "type": "string" }, "tokenKept": { "type": "boolean" },
            "createdAt": { "type": "string", "format": "date-time" },
            "updatedAt": { "type": "string", "format": "date-time" } } },
          "Health": { "type": "object", "properties": { "status": { "type": "string" },
            "managedDomains": { "type": "array", "items": { "type": "string" } },
            "registrars": { "type": "array", "items": { "type": "string" } },
            "ds": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } },
            "fleet": { "$ref": "#/components/schemas/Fleet" } } },
          "Fleet": fleet_schema()
        }
      },
      "security": [ { "bearer": [] } ],
      "paths": {
        "/healthz": { "get": { "security": [], "summary": "Liveness and database ping",
          "responses": { "200": json_response("healthy (a lagging fleet never changes this)", "Health"), "503": error_response("database unreachable") } } },
        "/fleet": { "get": { "security": [], "summary": "Whether every fleet name server serves every pool zone's current serial",
          "responses": { "200": json_response("all current", "Fleet"), "503": json_response("some name server lags or errs", "Fleet"),
            "404": error_response("fleet-not-configured") } } },
        "/api/v1/reserved": { "get": { "summary": "Reserved labels",
          "responses": { "200": { "description": "sorted labels" }, "401": unauthorized } } },
        "/api/v1/pool/{domain}/check": { "get": { "summary": "Availability (always 200 but on database errors)",
          "parameters": [ domain_param(), { "name": "sub", "in": "query", "required": true, "schema": { "type": "string" } } ],
          "responses": { "200": json_response("decision", "Check"), "401": unauthorized, "500": error_response("database error") } } },
        "/api/v1/pool/{domain}/reserve": { "post": { "summary": "Reserve a subdomain and build its DNSSEC-signed child zone",
          "parameters": [ domain_param(), { "name": "Idempotency-Key", "in": "header", "schema": { "type": "string" },
            "description": "a replay by the same token identity while the reservation lives answers 201 with the same reservation and a fresh reservationToken, which replaces the previous one (tokens are stored hashed, so the first cannot be shown again)" } ],
          "requestBody": body("ReserveRequest"),
          "responses": { "201": json_response("reserved (DNS finishing in the background if it was slow)", "Allocation"),
            "400": error_response("invalid JSON body"), "409": error_response("conflict"),
            "422": error_response("invalid-format, unsupported-pool or reserved"), "401": unauthorized } } },
        "/api/v1/pool/{domain}/commit": { "post": { "summary": "Activate a reservation and publish its records; a retry with the same token re-publishes",
          "parameters": [ domain_param() ], "requestBody": body("CommitRequest"),
          "responses": { "200": json_response("active", "Allocation"), "202": json_response("active; DNS retried in the background, or (POOLMGR_COMMIT_WAIT) not yet served by enough name servers", "Accepted"),
            "400": error_response("invalid JSON body"), "403": error_response("token-mismatch, or not-owner (another caller identity's allocation)"), "404": error_response("not-found"),
            "409": error_response("already-active"), "410": error_response("reservation-expired"),
            "422": error_response("invalid-format, missing-lb-ip, invalid-lb-ip, invalid-fqdn or unsupported-pool"), "401": unauthorized } } },
        "/api/v1/pool/{domain}/renew": { "post": { "summary": "Extend a reservation by the reservation TTL",
          "parameters": [ domain_param() ], "requestBody": body("RenewRequest"),
          "responses": { "200": json_response("renewed", "Allocation"), "403": error_response("token-mismatch, or not-owner (another caller identity's allocation)"),
            "404": error_response("not-found"), "409": error_response("already-active"), "410": error_response("reservation-expired"), "401": unauthorized } } },
        "/api/v1/pool/{domain}/release": { "delete": { "summary": "Release an allocation and tear down its DNS; idempotent",
          "parameters": [ domain_param(), { "name": "sub", "in": "query", "schema": { "type": "string" },
            "description": "used only when the body does not decode" } ],
          "requestBody": { "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ReleaseRequest" } } } },
          "responses": { "200": json_response("released", "Released"), "202": json_response("teardown retried in the background", "Accepted"),
            "403": error_response("not-owner: another caller identity's allocation, or one without an owner (operator tokens only)"),
            "404": error_response("not-found"), "422": error_response("invalid-format or unsupported-pool"), "401": unauthorized } } },
        "/api/v1/pool/{domain}/list": { "get": { "summary": "Allocations of a pool, with their owners (operator scope; no tokens shown)",
          "parameters": [ domain_param() ],
          "responses": { "200": json_response("allocations by subdomain", "List"), "403": error_response("operator scope needed"), "401": unauthorized } } },
        "/api/v1/pool/{domain}/allocation/{sub}": { "get": { "summary": "One allocation (operator scope)",
          "parameters": [ domain_param(), { "name": "sub", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "responses": { "200": json_response("the allocation", "Allocation"), "404": error_response("not-found"), "401": unauthorized } } },
        "/api/v1/registrar/{registrar}/validate": { "post": { "summary": "Check a customer's registrar credentials (read-only)",
          "parameters": [ registrar_param() ], "requestBody": body("RegistrarRequest"),
          "responses": { "200": json_response("valid", "Validated"), "400": error_response("invalid-body"),
            "401": error_response("invalid-token"), "403": error_response("domain-not-in-account"),
            "404": error_response("unsupported-registrar"), "422": error_response("missing-domain or missing-token"),
            "429": error_response("rate-limited"), "502": error_response("api-unavailable"), "500": error_response("registrar-error") } } },
        "/api/v1/registrar/{registrar}/set-ns": { "post": { "summary": "Set a customer domain's name servers at its registrar",
          "parameters": [ registrar_param() ], "requestBody": body("RegistrarRequest"),
          "responses": { "200": json_response("set (read back)", "NameserversSet"), "400": error_response("invalid-body"),
            "401": error_response("invalid-token"), "403": error_response("domain-not-in-account"),
            "404": error_response("unsupported-registrar"), "422": error_response("missing-domain, missing-token, missing-nameservers, foreign-nameservers or unsupported-operation"),
            "429": error_response("rate-limited"), "502": error_response("api-unavailable"), "500": error_response("registrar-error") } } },
        "/api/v1/byo/{registrar}/domains": { "post": { "summary": "Onboard a customer domain: zone with DNSSEC, NS flip, DS at the registrar where possible",
          "parameters": [ registrar_param() ], "requestBody": body("ByoRequest"),
          "responses": { "201": json_response("complete", "ByoRecord"), "202": json_response("a provider task is pending", "ByoRecord"),
            "400": error_response("invalid-body"), "401": error_response("invalid-token"), "403": error_response("domain-not-in-account"),
            "404": error_response("unsupported-registrar"), "422": error_response("missing-domain, missing-token, managed-pool, token-sealing-disabled, foreign-nameservers"),
            "429": error_response("rate-limited"), "502": error_response("api-unavailable or dns-unavailable") } } },
        "/api/v1/byo/domains/{domain}": { "get": { "summary": "A BYO domain's record",
          "parameters": [ domain_param() ],
          "responses": { "200": json_response("the record", "ByoRecord"), "404": error_response("not-found") } } },
        "/api/v1/byo/domains/{domain}/refresh": { "post": { "summary": "Poll pending provider tasks with the customer's token",
          "parameters": [ domain_param() ], "requestBody": body("ByoRefresh"),
          "responses": { "200": json_response("the record", "ByoRecord"), "404": error_response("not-found"),
            "401": error_response("invalid-token") } } },
        "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "text exposition format" }, "401": unauthorized } } },
        "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3" } } } }
      }
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let spec = super::spec();
        let served = crate::api::routes();
        assert!(served.len() > 10, "{served:?}");
        for (method, path) in served {
            let operation = spec["paths"][path].get(method.to_ascii_lowercase());
            assert!(
                operation.is_some(),
                "{method} {path} is served but not documented"
            );
        }
        // Every $ref resolves.
        let text = spec.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(spec["components"]["schemas"].get(name).is_some(), "{name}");
        }
    }
}
