//! The catalog zone format (RFC 9432, schema version 2): how dnsd writes
//! one (as a producer) and reads one (as a consumer). Format only: which
//! zones are members, and what a consumer does with them, is decided
//! elsewhere (`catalog_producer.rs`, `xfr::catalog_consumer`).
//!
//! A catalog zone here is: the apex SOA and `NS invalid.`, `version TXT
//! "2"`, and one `<unique-id>.zones PTR <member>` per member. The unique
//! id is derived from the member's name alone ([`member_id`]), so it is
//! the same in every process, across restarts and on every producer.
//!
//! The optional `group` and `coo` properties are neither written nor
//! acted upon: a consumer here serves every member from the catalog's own
//! primaries, and a member's change of ownership is seen as a removal
//! from one catalog and an addition to another.

use std::collections::BTreeMap;

use ring::digest;

use crate::wire::rdata::{parse_str, txt_rdata};
use crate::wire::{Name, RType};
use crate::zone::{Record, Zone};

/// The only schema version read and written (RFC 9432 §4.2).
pub const VERSION: &str = "2";

/// TTL of every record: a catalog is not meant to be queried (RFC 9432
/// §4.1 leaves it free; 0 is what Knot writes too).
const TTL: u32 = 0;

/// One member of a catalog: its zone and its unique id (one DNS label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member zone, lower case.
    pub zone: Name,
    /// The label under `zones.<catalog>`, lower case.
    pub id: String,
}

/// Why a catalog zone is not processed at all (RFC 9432 §5.1: a consumer
/// keeps its current members when the catalog is unusable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog zone {0} has no version.{0} TXT record (RFC 9432 §4.2)")]
    NoVersion(Name),
    #[error("catalog zone {catalog} has schema version {found:?}; only \"2\" is understood")]
    WrongVersion { catalog: Name, found: String },
}

/// The unique id of `zone`: the SHA-256 of its lower-case wire name, the
/// first 16 octets in hex. 32 letters and digits: a valid label (at most
/// 63 octets), stable across restarts and processes, and the same for any
/// spelling of the name.
pub fn member_id(zone: &Name) -> String {
    let hash = digest::digest(&digest::SHA256, zone.to_lowercase().as_wire());
    data_encoding::HEXLOWER.encode(&hash.as_ref()[..16])
}

/// `<id>.zones.<catalog>`, the owner of a member's PTR.
pub fn member_owner(catalog: &Name, id: &str) -> Name {
    // Invariant: `zones` and a hex id of 32 octets are valid labels, and
    // a catalog name with room for two more labels is checked at start
    // (`CatalogProducer::open` fails otherwise).
    catalog
        .prepend_label(b"zones")
        .and_then(|zones| zones.prepend_label(id.as_bytes()))
        .unwrap_or_else(|_| catalog.clone())
}

/// The records of the catalog zone `catalog` at `serial` listing `members`
/// (lower-case names).
pub fn catalog_records<'a>(
    catalog: &Name,
    serial: u32,
    members: impl IntoIterator<Item = &'a Name>,
) -> Vec<Record> {
    let mut records = apex_records(catalog, serial);
    if let Ok(version) = catalog.prepend_label(b"version") {
        records.push(record(version, RType::TXT, txt_rdata(VERSION)));
    }
    records.extend(members.into_iter().map(|m| member_record(catalog, m)));
    records
}

/// The apex of catalog `catalog` at `serial`: its SOA and `NS invalid.`
/// (RFC 9432 §4.1).
pub fn apex_records(catalog: &Name, serial: u32) -> Vec<Record> {
    // A week of expiry, as BIND and Knot use for theirs; consumers follow
    // NOTIFY, the refresh is only the safety net.
    let soa = format!("invalid. invalid. {serial} 300 60 604800 0");
    vec![
        record(
            catalog.clone(),
            RType::SOA,
            // Invariant: the text above is a well-formed SOA.
            parse_str(RType::SOA, &soa, catalog)
                .expect("well-formed SOA")
                .into(),
        ),
        record(
            catalog.clone(),
            RType::NS,
            Name::from_labels([b"invalid".as_slice()])
                .expect("valid name")
                .as_wire()
                .into(),
        ),
    ]
}

/// The PTR listing `member` in catalog `catalog`.
pub fn member_record(catalog: &Name, member: &Name) -> Record {
    let id = member_id(member);
    record(
        member_owner(catalog, &id),
        RType::PTR,
        member.as_wire().into(),
    )
}

fn record(owner: Name, rtype: RType, rdata: Box<[u8]>) -> Record {
    Record {
        owner,
        rtype,
        class: 1,
        ttl: TTL,
        rdata,
        location: None,
    }
}

/// Everything a consumer takes from a catalog: its members, and the
/// problems it skipped (for the log).
#[derive(Debug, Default)]
pub struct Listing {
    /// By lower-case zone name.
    pub members: BTreeMap<Name, String>,
    /// Member nodes left out, and why.
    pub skipped: Vec<String>,
}

/// Reads the members of catalog zone `zone`. A catalog without `version
/// TXT "2"` is refused whole. A member node with other than one PTR is
/// left out (RFC 9432 §4.3.1); a zone listed under two ids keeps the
/// first id in name order, so every consumer picks the same one.
pub fn read_members(zone: &Zone) -> Result<Listing, CatalogError> {
    let catalog = zone.origin.to_lowercase();
    let version_owner = catalog
        .prepend_label(b"version")
        .map_err(|_| CatalogError::NoVersion(catalog.clone()))?;
    let version = zone
        .node(version_owner.as_wire())
        .and_then(|node| node.rrset(RType::TXT))
        .ok_or_else(|| CatalogError::NoVersion(catalog.clone()))?;
    let found: Vec<String> = version.rdatas.iter().map(txt_text).collect();
    if found.len() != 1 || found[0] != VERSION {
        return Err(CatalogError::WrongVersion {
            catalog,
            found: found.join(" "),
        });
    }
    let zones = catalog
        .prepend_label(b"zones")
        .map_err(|_| CatalogError::NoVersion(catalog.clone()))?;
    let mut nodes: Vec<(String, &crate::zone::Node)> = zone
        .nodes()
        .filter(|node| {
            node.name
                .parent()
                .is_some_and(|p| p.to_lowercase() == zones)
        })
        .map(|node| {
            let id = node
                .name
                .to_lowercase()
                .labels()
                .next()
                .map_or_else(String::new, |label| {
                    String::from_utf8_lossy(label).into_owned()
                });
            (id, node)
        })
        .collect();
    nodes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut listing = Listing::default();
    for (id, node) in nodes {
        let owner = &node.name;
        let Some(ptr) = node.rrset(RType::PTR) else {
            continue; // properties of nothing, or an empty node: no member
        };
        if ptr.rdatas.len() != 1 {
            listing.skipped.push(format!(
                "{owner}: {} PTR records (one expected)",
                ptr.rdatas.len()
            ));
            continue;
        }
        let Ok(member) = Name::from_wire(&ptr.rdatas[0]) else {
            listing.skipped.push(format!("{owner}: PTR is not a name"));
            continue;
        };
        let member = member.to_lowercase();
        if let Some(first) = listing.members.get(&member) {
            listing.skipped.push(format!(
                "{owner}: {member} is listed already under id {first}"
            ));
            continue;
        }
        listing.members.insert(member, id);
    }
    Ok(listing)
}

/// The character-strings of TXT RDATA, joined (a version is one string).
fn txt_text(rdata: &[u8]) -> String {
    let mut text = Vec::with_capacity(rdata.len());
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        text.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::build_zone;

    fn name(text: &str) -> Name {
        Name::from_text(text, None).unwrap()
    }

    #[test]
    fn member_ids_are_stable_labels() {
        let id = member_id(&name("Example.TEST."));
        assert_eq!(
            id,
            member_id(&name("example.test.")),
            "case does not matter"
        );
        assert_ne!(id, member_id(&name("example2.test.")));
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        // Pinned: a change of the function would reset every member on
        // every consumer (RFC 9432 §5.4).
        assert_eq!(id, "1b4132c087a4d979c884bad48da2b84e", "{id}");
    }

    #[test]
    fn catalog_zone_contents() {
        let catalog = name("catalog.invalid.");
        let members = [name("a.test."), name("b.test.")];
        let zone = build_zone(&catalog, catalog_records(&catalog, 7, &members)).unwrap();
        assert_eq!(zone.serial, 7);
        let apex = zone.apex();
        assert!(apex.rrset(RType::NS).is_some());
        let version = zone
            .node(name("version.catalog.invalid.").as_wire())
            .unwrap();
        assert_eq!(txt_text(&version.rrset(RType::TXT).unwrap().rdatas[0]), "2");
        let listing = read_members(&zone).unwrap();
        assert_eq!(listing.members.len(), 2);
        assert_eq!(
            listing.members.get(&name("a.test.")),
            Some(&member_id(&name("a.test.")))
        );
        assert!(listing.skipped.is_empty());
        // SOA, NS, version, two PTRs.
        assert_eq!(zone.record_count, 5);
    }

    fn catalog_with(extra: &[(&str, RType, Box<[u8]>)], version: Option<&str>) -> Zone {
        let catalog = name("cat.test.");
        let mut records = catalog_records(&catalog, 1, &[]);
        records.retain(|r| r.rtype != RType::TXT);
        if let Some(v) = version {
            records.push(Record {
                owner: name("version.cat.test."),
                rtype: RType::TXT,
                class: 1,
                ttl: 0,
                rdata: txt_rdata(v),
                location: None,
            });
        }
        for (owner, rtype, rdata) in extra {
            records.push(Record {
                owner: name(owner),
                rtype: *rtype,
                class: 1,
                ttl: 0,
                rdata: rdata.clone(),
                location: None,
            });
        }
        build_zone(&catalog, records).unwrap()
    }

    #[test]
    fn version_must_be_two() {
        assert_eq!(
            read_members(&catalog_with(&[], None)).unwrap_err(),
            CatalogError::NoVersion(name("cat.test."))
        );
        assert!(matches!(
            read_members(&catalog_with(&[], Some("1"))),
            Err(CatalogError::WrongVersion { found, .. }) if found == "1"
        ));
        assert!(read_members(&catalog_with(&[], Some("2"))).is_ok());
    }

    #[test]
    fn broken_member_nodes_are_skipped() {
        let ptr = |t: &str| -> Box<[u8]> { name(t).as_wire().into() };
        let zone = catalog_with(
            &[
                ("one.zones.cat.test.", RType::PTR, ptr("A.test.")),
                ("two.zones.cat.test.", RType::PTR, ptr("b.test.")),
                ("two.zones.cat.test.", RType::PTR, ptr("c.test.")),
                ("zz.zones.cat.test.", RType::PTR, ptr("a.test.")),
                ("group.one.zones.cat.test.", RType::TXT, txt_rdata("g")),
            ],
            Some("2"),
        );
        let listing = read_members(&zone).unwrap();
        assert_eq!(listing.members.len(), 1);
        assert_eq!(listing.members.get(&name("a.test.")).unwrap(), "one");
        assert_eq!(listing.skipped.len(), 2, "{:?}", listing.skipped);
    }
}
