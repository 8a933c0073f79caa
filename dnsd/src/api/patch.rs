//! RRset changes (PATCH), zone creation and content checks: pure functions
//! from an [`ApiZone`] and a request to a new `ApiZone`, so every rule can
//! be tested without HTTP or storage. A change is all-or-nothing: any
//! failed check rejects the whole request.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, unprocessable};
use crate::dynamic::{compile_rdata, settings};
use crate::wire::{Name, RType};
use crate::zone::load::{MAX_TTL, validate};
use crate::zones::model::{
    ApiZone, Comment, RRsetKey, StoredRRset, StoredRecord, ZoneSettings, content_text,
    parse_content,
};
use crate::zones::serial::next_serial;

/// One entry of `rrsets` in a PATCH (or a zone create).
#[derive(Debug, Clone, Deserialize)]
pub struct RRsetChange {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub changetype: Option<String>,
    #[serde(default)]
    pub ttl: Option<Value>,
    #[serde(default)]
    pub records: Option<Vec<RecordIn>>,
    #[serde(default)]
    pub comments: Option<Vec<CommentIn>>,
}

/// A record in a request.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordIn {
    pub content: String,
    #[serde(default)]
    pub disabled: bool,
    /// Legacy field PowerDNS refuses.
    #[serde(default)]
    pub priority: Option<Value>,
}

/// A comment in a request.
#[derive(Debug, Clone, Deserialize)]
pub struct CommentIn {
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub modified_at: Option<u64>,
}

/// What a PATCH did.
#[derive(Debug)]
pub struct Patched {
    pub zone: ApiZone,
    /// False when the request changed nothing (no serial bump, no write).
    pub changed: bool,
    pub old_serial: u32,
    pub new_serial: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangeType {
    Replace,
    Delete,
    Extend,
    Prune,
}

/// Checks a name from a request body: canonical (trailing dot) and made of
/// the characters PowerDNS allows. Returns it parsed and lowercased.
pub fn request_name(text: &str, allow_wildcard: bool) -> Result<Name, ApiError> {
    if !text.ends_with('.') {
        return Err(unprocessable(format!("DNS Name '{text}' is not canonical")));
    }
    let body = if allow_wildcard {
        text.strip_prefix("*.").unwrap_or(text)
    } else {
        text
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-');
    if (body != "." && body.is_empty()) || !body.chars().all(allowed) {
        return Err(unprocessable(format!(
            "Name '{text}' contains unsupported characters"
        )));
    }
    Name::from_text(text, None)
        .map(|name| name.to_lowercase())
        .map_err(|e| unprocessable(format!("DNS Name '{text}' is not valid: {e}")))
}

fn request_type(text: &str, name: &str) -> Result<RType, ApiError> {
    let rtype = RType::from_text(text)
        .ok_or_else(|| unprocessable(format!("RRset {name} IN {text}: unknown type given")))?;
    if rtype == RType::OPT || rtype == RType::TSIG || rtype.is_meta() && rtype != RType::ANY {
        return Err(unprocessable(format!(
            "RRset {name} IN {text}: invalid type given"
        )));
    }
    if rtype == RType::ANY || rtype == RType::RRSIG || rtype == RType::NSEC || rtype == RType::NSEC3
    {
        return Err(unprocessable(format!(
            "RRset {name} IN {text}: invalid type given"
        )));
    }
    Ok(rtype)
}

fn request_ttl(value: Option<&Value>, name: &str, rtype: RType) -> Result<u32, ApiError> {
    let bad = || {
        unprocessable(format!(
            "RRset {name} IN {rtype}: Key 'ttl' not an Integer or not present"
        ))
    };
    let ttl = match value.ok_or_else(bad)? {
        Value::Number(n) => n.as_u64().ok_or_else(bad)?,
        Value::String(s) => s.trim().parse::<u64>().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    if ttl > u64::from(MAX_TTL) {
        return Err(unprocessable(format!(
            "RRset {name} IN {rtype}: TTL {ttl} is out of range"
        )));
    }
    Ok(ttl as u32)
}

/// Longest zone text accepted in a zone creation, checked before parsing.
/// The request body is bounded too ([`super::MAX_BODY`]); this names the
/// limit in the 422 rather than leaving it to the body's.
pub const MAX_ZONE_TEXT: usize = super::MAX_BODY;
/// Longest record content accepted, checked before parsing: 65,535 octets
/// of RDATA written as `\DDD` escapes is under 256 KiB.
pub const MAX_CONTENT: usize = 256 * 1024;

/// Collapses whitespace runs and trims, as PowerDNS normalises content
/// before its canonical-form check.
fn normalise(content: &str) -> String {
    content.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses one record's content and requires the canonical form (absolute
/// names, quoted TXT...). LUA content is kept verbatim once it parses.
pub fn check_record(
    name: &str,
    rtype: RType,
    content: &str,
    origin: &Name,
) -> Result<StoredRecord, String> {
    let shown = rtype.to_string();
    if content.len() > MAX_CONTENT {
        return Err(format!(
            "Record {name}/{shown}: content is {} bytes; at most {MAX_CONTENT} are accepted",
            content.len()
        ));
    }
    let wire = parse_content(rtype, content, origin)
        .map_err(|e| format!("Record {name}/{shown} '{content}': Parsing record content: {e}"))?;
    if rtype == RType::LUA {
        match compile_rdata(&wire, settings::whitespace()) {
            Ok(rule) => {
                for warning in &rule.warnings {
                    tracing::warn!("LUA record {name}: {warning}");
                }
            }
            Err(e) if e.does_not_compile => {
                return Err(format!("Record {name}/{shown} '{content}': {e}"));
            }
            // Compiles but certain to fail: stored, and answers SERVFAIL (as PowerDNS).
            Err(e) => tracing::warn!("LUA record {name} will answer SERVFAIL: {e}"),
        }
        return Ok(StoredRecord {
            content: content.to_string(),
            disabled: false,
            wire: wire.into_boxed_slice(),
        });
    }
    let canonical = content_text(rtype, &wire)
        .map_err(|e| format!("Record {name}/{shown} '{content}': {e}"))?;
    let given = normalise(content);
    let same = if rtype == RType::AAAA {
        true
    } else {
        canonical.eq_ignore_ascii_case(&given)
    };
    if !same {
        return Err(format!(
            "Record {name}/{shown} '{content}': Not in expected format (parsed as '{canonical}')"
        ));
    }
    Ok(StoredRecord {
        content: if rtype == RType::AAAA {
            canonical
        } else {
            given
        },
        disabled: false,
        wire: wire.into_boxed_slice(),
    })
}

/// Builds an RRset from request records, collecting every content error.
fn build_rrset(
    change: &RRsetChange,
    rtype: RType,
    ttl: u32,
    origin: &Name,
    errors: &mut Vec<String>,
) -> StoredRRset {
    let mut records: Vec<StoredRecord> = Vec::new();
    for record in change.records.iter().flatten() {
        if record.priority.is_some() {
            errors.push(format!(
                "Record {}/{rtype}: the 'priority' key is not supported",
                change.name
            ));
            continue;
        }
        match check_record(&change.name, rtype, &record.content, origin) {
            Ok(mut stored) => {
                stored.disabled = record.disabled;
                if records.iter().any(|r| r.wire == stored.wire) {
                    errors.push(format!(
                        "RRset {} IN {rtype} has duplicate record '{}'",
                        change.name, record.content
                    ));
                } else {
                    records.push(stored);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    StoredRRset {
        ttl,
        records,
        comments: Vec::new(),
    }
}

fn comments_from(change: &RRsetChange, now: u64) -> Option<Vec<Comment>> {
    change.comments.as_ref().map(|list| {
        list.iter()
            .map(|c| Comment {
                content: c.content.clone(),
                account: c.account.clone(),
                modified_at: c.modified_at.unwrap_or(now),
            })
            .collect()
    })
}

/// Applies a PATCH body's `rrsets` to `zone`.
pub fn apply_patch(zone: &ApiZone, changes: &[RRsetChange], now: u64) -> Result<Patched, ApiError> {
    let mut next = zone.clone();
    let mut seen: BTreeSet<(RRsetKey, &'static str)> = BTreeSet::new();
    let mut requested: BTreeSet<RRsetKey> = BTreeSet::new();
    let mut soa_replaced = false;
    for change in changes {
        let kind = match change
            .changetype
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("REPLACE") => ChangeType::Replace,
            Some("DELETE") => ChangeType::Delete,
            Some("EXTEND") => ChangeType::Extend,
            Some("PRUNE") => ChangeType::Prune,
            other => {
                return Err(unprocessable(format!(
                    "Changetype '{}' is not a valid value",
                    other.unwrap_or("")
                )));
            }
        };
        let owner = request_name(&change.name, true)?;
        let rtype = request_type(&change.rtype, &change.name)?;
        let key = RRsetKey { owner, rtype };
        requested.insert(key.clone());
        if kind != ChangeType::Delete && !key.owner.is_subdomain_of(&zone.name) {
            return Err(unprocessable(format!(
                "RRset {} IN {rtype}: Name is out of zone",
                change.name
            )));
        }
        if matches!(kind, ChangeType::Replace | ChangeType::Delete) {
            let label = if kind == ChangeType::Replace {
                "REPLACE"
            } else {
                "DELETE"
            };
            if !seen.insert((key.clone(), label)) {
                return Err(unprocessable(format!(
                    "Duplicate RRset {} IN {rtype} with changetype: {label}",
                    change.name
                )));
            }
        }
        match kind {
            ChangeType::Delete => {
                next.rrsets.remove(&key);
            }
            ChangeType::Replace => {
                if change.records.is_none() && change.comments.is_none() {
                    return Err(unprocessable(format!(
                        "No change for RRset {} IN {rtype}",
                        change.name
                    )));
                }
                let comments = comments_from(change, now);
                if let Some(records) = &change.records {
                    if records.is_empty() {
                        next.rrsets.remove(&key);
                        continue;
                    }
                    let ttl = request_ttl(change.ttl.as_ref(), &change.name, rtype)?;
                    let mut errors = Vec::new();
                    let mut set = build_rrset(change, rtype, ttl, &zone.name, &mut errors);
                    raise(errors)?;
                    set.comments = comments.unwrap_or_else(|| {
                        next.rrsets
                            .get(&key)
                            .map(|s| s.comments.clone())
                            .unwrap_or_default()
                    });
                    if rtype == RType::SOA {
                        soa_replaced = true;
                    }
                    next.rrsets.insert(key, Arc::new(set));
                } else if let Some(comments) = comments {
                    match next.rrsets.get_mut(&key) {
                        Some(set) => Arc::make_mut(set).comments = comments,
                        None => {
                            return Err(unprocessable(format!(
                                "No change for RRset {} IN {rtype}",
                                change.name
                            )));
                        }
                    }
                }
            }
            ChangeType::Extend | ChangeType::Prune => {
                let records = change.records.as_deref().unwrap_or_default();
                if records.len() != 1 {
                    return Err(unprocessable(format!(
                        "RRset {} IN {rtype}: exactly one record is required with changetype {}",
                        change.name,
                        if kind == ChangeType::Extend {
                            "EXTEND"
                        } else {
                            "PRUNE"
                        }
                    )));
                }
                let stored = check_record(&change.name, rtype, &records[0].content, &zone.name)
                    .map_err(unprocessable)?;
                if kind == ChangeType::Extend {
                    let ttl = match change.ttl.as_ref() {
                        Some(value) => Some(request_ttl(Some(value), &change.name, rtype)?),
                        None => None,
                    };
                    let set = Arc::make_mut(next.rrsets.entry(key).or_insert_with(|| {
                        Arc::new(StoredRRset {
                            ttl: ttl.unwrap_or(3600),
                            records: Vec::new(),
                            comments: Vec::new(),
                        })
                    }));
                    if !set.records.iter().any(|r| r.wire == stored.wire) {
                        set.records.push(StoredRecord {
                            disabled: records[0].disabled,
                            ..stored
                        });
                    }
                } else if let Some(set) = next.rrsets.get_mut(&key) {
                    let set = Arc::make_mut(set);
                    set.records.retain(|r| r.wire != stored.wire);
                    if set.records.is_empty() {
                        next.rrsets.remove(&key);
                    }
                }
            }
        }
    }

    let old_serial = zone.serial().unwrap_or(0);
    let changed: BTreeSet<Name> = requested
        .into_iter()
        .filter(|key| zone.rrsets.get(key) != next.rrsets.get(key))
        .map(|key| key.owner)
        .collect();
    if changed.is_empty() {
        return Ok(Patched {
            zone: next,
            changed: false,
            old_serial,
            new_serial: old_serial,
        });
    }
    check_rules_near(&next, &changed)?;
    let written = next.serial().filter(|_| soa_replaced);
    let new_serial = next_serial(&next.settings.soa_edit_api, old_serial, written, now);
    next.set_serial(new_serial);
    Ok(Patched {
        zone: next,
        changed: true,
        old_serial,
        new_serial,
    })
}

fn raise(errors: Vec<String>) -> Result<(), ApiError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::Unprocessable(
            errors.into_iter().next().unwrap_or_default(),
        )),
        _ => Err(ApiError::Multiple(errors)),
    }
}

/// The zone-file rules (one SOA at the apex, CNAME exclusivity, NS and
/// DNAME, occlusion, TTLs) applied to a whole API zone. A zone without NS
/// is allowed here, as PowerDNS allows it.
pub fn check_zone_rules(zone: &ApiZone) -> Result<(), ApiError> {
    rule_errors(zone, &zone.all_records())
}

/// The same rules after a change at `owners`, looking only at the records
/// a change there can affect: the apex, each changed name, its ancestors
/// (a cut above it occludes it) and, where it now owns NS or DNAME, every
/// name below it. Descendants follow a name in canonical order, so that
/// part is one range scan. Violations elsewhere existed before and are not
/// this change's doing.
pub fn check_rules_near(zone: &ApiZone, owners: &BTreeSet<Name>) -> Result<(), ApiError> {
    let mut names: BTreeSet<Name> = BTreeSet::new();
    names.insert(zone.name.clone());
    let mut subtrees: Vec<&Name> = Vec::new();
    for owner in owners {
        let mut ancestor = Some(owner.clone());
        while let Some(name) = ancestor {
            if !name.is_subdomain_of(&zone.name) || !names.insert(name.clone()) {
                break;
            }
            ancestor = name.parent();
        }
        let cuts = [RType::NS, RType::DNAME].iter().any(|&rtype| {
            zone.rrsets.contains_key(&RRsetKey {
                owner: owner.clone(),
                rtype,
            })
        });
        if cuts && owner != &zone.name {
            subtrees.push(owner);
        }
    }
    let mut subset = ApiZone {
        name: zone.name.clone(),
        settings: Default::default(),
        rrsets: Default::default(),
    };
    for name in &names {
        let from = RRsetKey {
            owner: name.clone(),
            rtype: RType(0),
        };
        for (key, set) in zone
            .rrsets
            .range(from..)
            .take_while(|(k, _)| &k.owner == name)
        {
            subset.rrsets.insert(key.clone(), set.clone());
        }
    }
    for top in subtrees {
        let from = RRsetKey {
            owner: top.clone(),
            rtype: RType(0),
        };
        for (key, set) in zone
            .rrsets
            .range(from..)
            .take_while(|(k, _)| k.owner.is_subdomain_of(top))
        {
            subset.rrsets.insert(key.clone(), set.clone());
        }
    }
    rule_errors(zone, &subset.all_records())
}

fn rule_errors(zone: &ApiZone, records: &[crate::zone::Record]) -> Result<(), ApiError> {
    let errors: Vec<String> = validate(&zone.name, records)
        .into_iter()
        .map(|e| e.reason)
        .filter(|reason| !reason.contains("has no NS records at its apex"))
        .collect();
    raise(errors)
}

/// A POST …/zones body.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateZone {
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub rrsets: Option<Vec<RRsetChange>>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub masters: Vec<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub soa_edit_api: Option<String>,
    #[serde(default)]
    pub soa_edit: Option<String>,
    #[serde(default)]
    pub api_rectify: Option<bool>,
    #[serde(default)]
    pub dnssec: Option<bool>,
    #[serde(default)]
    pub nsec3param: Option<String>,
    #[serde(default)]
    pub nsec3narrow: Option<bool>,
}

/// Zone kinds accepted on input, mapped to how they are shown.
pub fn zone_kind(text: &str) -> Result<String, ApiError> {
    let kind = match text.to_ascii_lowercase().as_str() {
        "native" => "Native",
        "master" | "primary" => "Master",
        "slave" | "secondary" => "Slave",
        "producer" => "Producer",
        "consumer" => "Consumer",
        _ => return Err(unprocessable(format!("Invalid zone kind '{text}'"))),
    };
    Ok(kind.into())
}

/// Builds a new zone from a create request.
pub fn create_zone(body: &CreateZone, now: u64) -> Result<ApiZone, ApiError> {
    let name_text = body
        .name
        .as_deref()
        .ok_or_else(|| unprocessable("Key 'name' not present or not a String"))?;
    let name = request_name(name_text, false)?;
    let kind = zone_kind(
        body.kind
            .as_deref()
            .ok_or_else(|| unprocessable("Key 'kind' not present or not a String"))?,
    )?;
    if body.rrsets.is_some() && body.zone.is_some() {
        return Err(unprocessable(
            "You cannot give rrsets AND zone data as text",
        ));
    }
    if body.nsec3param.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(unprocessable(format!(
            "NSEC3PARAMs provided for zone '{name}' are invalid. NSEC3 is not supported"
        )));
    }
    let mut settings = ZoneSettings {
        kind,
        masters: body.masters.clone(),
        ..Default::default()
    };
    if let Some(v) = &body.account {
        settings.account = v.clone();
    }
    if let Some(v) = &body.catalog {
        settings.catalog = v.clone();
    }
    if let Some(v) = &body.soa_edit_api {
        settings.soa_edit_api = v.clone();
    }
    if let Some(v) = &body.soa_edit {
        settings.soa_edit = v.clone();
    }
    settings.api_rectify = body.api_rectify.unwrap_or(false);
    let mut zone = ApiZone {
        name: name.clone(),
        settings,
        rrsets: Default::default(),
    };

    if let Some(text) = &body.zone {
        if text.len() > MAX_ZONE_TEXT {
            return Err(unprocessable(format!(
                "Zone text is {} bytes; at most {MAX_ZONE_TEXT} are accepted",
                text.len()
            )));
        }
        let records = crate::zone::load::parse_untrusted(&name, text, "zone")
            .map_err(|e| unprocessable(e.to_string()))?;
        for record in records {
            let content = content_text(record.rtype, &record.rdata)
                .map_err(|e| unprocessable(e.to_string()))?;
            let key = RRsetKey {
                owner: record.owner.to_lowercase(),
                rtype: record.rtype,
            };
            let set = Arc::make_mut(zone.rrsets.entry(key).or_insert_with(|| {
                Arc::new(StoredRRset {
                    ttl: record.ttl,
                    records: Vec::new(),
                    comments: Vec::new(),
                })
            }));
            set.ttl = set.ttl.min(record.ttl);
            set.records.push(StoredRecord {
                content,
                disabled: false,
                wire: record.rdata,
            });
        }
    }
    if let Some(rrsets) = &body.rrsets {
        let mut errors = Vec::new();
        for change in rrsets {
            let owner = request_name(&change.name, true)?;
            let rtype = request_type(&change.rtype, &change.name)?;
            if !owner.is_subdomain_of(&name) {
                return Err(unprocessable(format!(
                    "RRset {} IN {rtype}: Name is out of zone",
                    change.name
                )));
            }
            let ttl = request_ttl(change.ttl.as_ref(), &change.name, rtype)?;
            let mut set = build_rrset(change, rtype, ttl, &name, &mut errors);
            set.comments = comments_from(change, now).unwrap_or_default();
            let key = RRsetKey { owner, rtype };
            if zone.rrsets.insert(key, Arc::new(set)).is_some() {
                errors.push(format!("Duplicate RRset {} IN {rtype}", change.name));
            }
        }
        raise(errors)?;
    }

    let apex_ns = RRsetKey {
        owner: name.clone(),
        rtype: RType::NS,
    };
    if !body.nameservers.is_empty() {
        if zone.rrsets.contains_key(&apex_ns) {
            return Err(unprocessable(
                "Nameservers list MUST NOT be mixed with zone-level NS in rrsets",
            ));
        }
        let mut records = Vec::new();
        for ns in &body.nameservers {
            if !ns.ends_with('.') {
                return Err(unprocessable(format!(
                    "Nameserver is not canonical: '{ns}'"
                )));
            }
            let stored = check_record(name_text, RType::NS, ns, &name).map_err(unprocessable)?;
            if !records.iter().any(|r: &StoredRecord| r.wire == stored.wire) {
                records.push(stored);
            }
        }
        zone.rrsets.insert(
            apex_ns.clone(),
            Arc::new(StoredRRset {
                ttl: 3600,
                records,
                comments: Vec::new(),
            }),
        );
    }

    let apex_soa = RRsetKey {
        owner: name.clone(),
        rtype: RType::SOA,
    };
    if !zone.rrsets.contains_key(&apex_soa) {
        // PowerDNS writes a.misconfigured.dns.server.invalid.; a real
        // primary name is more useful to resolvers and to operators.
        let primary = zone
            .rrsets
            .get(&apex_ns)
            .and_then(|set| set.records.first())
            .map(|r| r.content.clone())
            .unwrap_or_else(|| format!("ns1.{name}"));
        let serial = next_serial("DEFAULT", 0, None, now);
        let content = format!("{primary} hostmaster.{name} {serial} 10800 3600 604800 3600");
        let stored = check_record(name_text, RType::SOA, &content, &name).map_err(unprocessable)?;
        zone.rrsets.insert(
            apex_soa,
            Arc::new(StoredRRset {
                ttl: 3600,
                records: vec![stored],
                comments: Vec::new(),
            }),
        );
    }
    check_zone_rules(&zone)?;
    Ok(zone)
}

#[cfg(test)]
mod tests;
