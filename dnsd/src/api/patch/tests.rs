//! PATCH and create rules, without HTTP or storage.

use serde_json::json;

use super::*;

const NOW: u64 = 1_795_780_800; // 2026-11-27

fn zone() -> ApiZone {
    let body: CreateZone = serde_json::from_value(json!({
        "name": "example.org.", "kind": "Native",
        "nameservers": ["ns1.example.org.", "ns2.example.net."]
    }))
    .unwrap();
    create_zone(&body, NOW).unwrap()
}

fn changes(value: serde_json::Value) -> Vec<RRsetChange> {
    serde_json::from_value(value).unwrap()
}

fn replace(name: &str, rtype: &str, contents: &[&str]) -> serde_json::Value {
    let records: Vec<_> = contents
        .iter()
        .map(|c| json!({"content": c, "disabled": false}))
        .collect();
    json!({"name": name, "type": rtype, "ttl": 300, "changetype": "REPLACE", "records": records})
}

fn message(err: ApiError) -> String {
    match err {
        ApiError::Multiple(errors) => errors.join("; "),
        other => other.to_string(),
    }
}

#[test]
fn create_fills_soa_and_ns() {
    let z = zone();
    assert_eq!(z.serial(), Some(2026112701));
    let soa = &z.rrsets[&RRsetKey {
        owner: z.name.clone(),
        rtype: RType::SOA,
    }]
        .records[0]
        .content;
    assert_eq!(
        soa,
        "ns1.example.org. hostmaster.example.org. 2026112701 10800 3600 604800 3600"
    );
    assert_eq!(z.settings.soa_edit_api, "DEFAULT");
}

#[test]
fn create_errors() {
    let bad = |v: serde_json::Value| {
        message(create_zone(&serde_json::from_value(v).unwrap(), NOW).unwrap_err())
    };
    assert!(bad(json!({"name": "example.org", "kind": "Native"})).contains("not canonical"));
    assert!(bad(json!({"name": "example.org."})).contains("Key 'kind'"));
    assert!(
        bad(json!({"name": "ex ample.org.", "kind": "Native"})).contains("unsupported characters")
    );
    assert!(
        bad(json!({"name": "example.org.", "kind": "Native", "nameservers": ["ns1.example.org"]}))
            .contains("not canonical")
    );
}

#[test]
fn replace_bumps_serial_and_is_atomic() {
    let z = zone();
    let ok = apply_patch(
        &z,
        &changes(json!([replace("www.example.org.", "A", &["192.0.2.1"])])),
        NOW,
    )
    .unwrap();
    assert!(ok.changed);
    assert_eq!((ok.old_serial, ok.new_serial), (2026112701, 2026112702));
    assert_eq!(ok.zone.serial(), Some(2026112702));

    // One bad RRset rejects the whole PATCH.
    let err = apply_patch(
        &z,
        &changes(json!([
            replace("a.example.org.", "A", &["192.0.2.1"]),
            replace("t.example.org.", "TXT", &["unquoted"]),
        ])),
        NOW,
    )
    .unwrap_err();
    assert!(message(err).contains("Not in expected format (parsed as '\"unquoted\"')"));
}

#[test]
fn content_must_be_canonical() {
    let z = zone();
    let err =
        |c: serde_json::Value| message(apply_patch(&z, &changes(json!([c])), NOW).unwrap_err());
    assert!(
        err(replace("c.example.org.", "CNAME", &["www.example.org"]))
            .contains("Not in expected format")
    );
    assert!(
        err(replace("m.example.org.", "MX", &["10  mail.example.org"]))
            .contains("Not in expected format")
    );
    assert!(err(replace("a.example.org.", "A", &["300.1.1.1"])).contains("Parsing record content"));
    // Whitespace runs are normalised before the check, and case is ignored.
    let ok = apply_patch(
        &z,
        &changes(json!([replace(
            "m.example.org.",
            "MX",
            &[" 10   Mail.Example.org. "]
        )])),
        NOW,
    )
    .unwrap();
    assert!(ok.changed);
    // AAAA is only checked for being an address; it is stored canonically.
    let ok = apply_patch(
        &z,
        &changes(json!([replace(
            "v6.example.org.",
            "AAAA",
            &["2001:DB8:0::1"]
        )])),
        NOW,
    )
    .unwrap();
    let key = RRsetKey {
        owner: Name::from_text("v6.example.org.", None).unwrap(),
        rtype: RType::AAAA,
    };
    assert_eq!(ok.zone.rrsets[&key].records[0].content, "2001:db8::1");
}

#[test]
fn delete_ignores_records_and_is_idempotent() {
    let z = apply_patch(
        &zone(),
        &changes(json!([replace("www.example.org.", "A", &["192.0.2.1"])])),
        NOW,
    )
    .unwrap()
    .zone;
    let delete = json!([{"name": "www.example.org.", "type": "A", "changetype": "DELETE",
                         "records": [{"content": "192.0.2.1", "disabled": false}]}]);
    let gone = apply_patch(&z, &changes(delete.clone()), NOW).unwrap();
    assert!(gone.changed);
    let again = apply_patch(&gone.zone, &changes(delete), NOW).unwrap();
    assert!(
        !again.changed,
        "deleting a missing RRset succeeds and changes nothing"
    );
    assert_eq!(again.new_serial, again.old_serial);
}

#[test]
fn empty_replace_deletes() {
    let z = apply_patch(
        &zone(),
        &changes(json!([replace("www.example.org.", "A", &["192.0.2.1"])])),
        NOW,
    )
    .unwrap()
    .zone;
    let out = apply_patch(
        &z,
        &changes(json!([replace("www.example.org.", "A", &[])])),
        NOW,
    )
    .unwrap();
    assert!(out.changed);
    assert!(!out.zone.rrsets.keys().any(|k| k.rtype == RType::A));
}

#[test]
fn structural_errors() {
    let z = zone();
    let err = |c: serde_json::Value| message(apply_patch(&z, &changes(c), NOW).unwrap_err());
    assert!(
        err(json!([replace("www.other.org.", "A", &["192.0.2.1"])]))
            .contains("Name is out of zone")
    );
    assert!(
        err(json!([replace("www.example.org", "A", &["192.0.2.1"])])).contains("not canonical")
    );
    assert!(
        err(json!([{"name": "www.example.org.", "type": "A", "changetype": "BOGUS"}]))
            .contains("Changetype 'BOGUS'")
    );
    assert!(
        err(json!([{"name": "www.example.org.", "type": "A", "changetype": "REPLACE"}]))
            .contains("No change for RRset")
    );
    assert!(
        err(
            json!([{"name": "www.example.org.", "type": "A", "changetype": "REPLACE",
                        "records": [{"content": "192.0.2.1"}]}])
        )
        .contains("Key 'ttl'")
    );
    assert!(
        err(json!([
            replace("www.example.org.", "A", &["192.0.2.1"]),
            replace("www.example.org.", "A", &["192.0.2.2"])
        ]))
        .contains("Duplicate RRset")
    );
    assert!(
        err(json!([replace("www.example.org.", "BOGUS", &["x"])])).contains("unknown type given")
    );
    assert!(
        err(json!([replace("www.example.org.", "OPT", &["x"])])).contains("invalid type given")
    );
    assert!(
        err(json!([replace(
            "www.example.org.",
            "A",
            &["192.0.2.1", "192.0.2.1"]
        )]))
        .contains("duplicate record")
    );
    let cname_beside = json!([
        replace("www.example.org.", "A", &["192.0.2.1"]),
        replace("www.example.org.", "CNAME", &["x.example.org."])
    ]);
    assert!(err(cname_beside).contains("CNAME"));
}

#[test]
fn ttl_as_string_and_changetype_case() {
    let z = zone();
    let c = json!([{"name": "www.example.org.", "type": "A", "ttl": "120", "changetype": "replace",
                    "records": [{"content": "192.0.2.1"}]}]);
    let out = apply_patch(&z, &changes(c), NOW).unwrap();
    let key = RRsetKey {
        owner: Name::from_text("www.example.org.", None).unwrap(),
        rtype: RType::A,
    };
    assert_eq!(out.zone.rrsets[&key].ttl, 120);
}

#[test]
fn soa_replacement_applies_the_rule_to_the_new_serial() {
    let z = zone();
    let soa = replace(
        "example.org.",
        "SOA",
        &["ns1.example.org. hostmaster.example.org. 2030010100 10800 3600 604800 3600"],
    );
    let out = apply_patch(&z, &changes(json!([soa])), NOW).unwrap();
    assert_eq!(out.new_serial, 2030010101);
}

#[test]
fn lua_content_is_verbatim() {
    let z = zone();
    let content = "A \"ifportup(443, {'192.0.2.1', '192.0.2.2'})\"";
    let out = apply_patch(
        &z,
        &changes(json!([replace("geo.example.org.", "LUA", &[content])])),
        NOW,
    )
    .unwrap();
    let key = RRsetKey {
        owner: Name::from_text("geo.example.org.", None).unwrap(),
        rtype: RType::LUA,
    };
    assert_eq!(out.zone.rrsets[&key].records[0].content, content);
}

#[test]
fn extend_and_prune() {
    let z = zone();
    let one = |kind: &str, c: &str| {
        json!([{"name": "t.example.org.", "type": "TXT", "ttl": 60, "changetype": kind,
                                             "records": [{"content": c}]}])
    };
    let z = apply_patch(&z, &changes(one("EXTEND", "\"a\"")), NOW)
        .unwrap()
        .zone;
    let z = apply_patch(&z, &changes(one("EXTEND", "\"b\"")), NOW)
        .unwrap()
        .zone;
    let again = apply_patch(&z, &changes(one("EXTEND", "\"b\"")), NOW).unwrap();
    assert!(!again.changed);
    let key = RRsetKey {
        owner: Name::from_text("t.example.org.", None).unwrap(),
        rtype: RType::TXT,
    };
    assert_eq!(z.rrsets[&key].records.len(), 2);
    let z = apply_patch(&z, &changes(one("PRUNE", "\"a\"")), NOW)
        .unwrap()
        .zone;
    assert_eq!(z.rrsets[&key].records.len(), 1);
}

#[test]
fn lua_content_must_compile() {
    let z = zone();
    // Scripts compile (embedded engine); a wrong call is stored and fails
    // per query, as in PowerDNS.
    for content in [
        "A \";if continent('EU') then return '192.0.2.1' end return '192.0.2.2'\"",
        "A \"nosuchfunction()\"",
    ] {
        apply_patch(
            &z,
            &changes(json!([replace("geo.example.org.", "LUA", &[content])])),
            NOW,
        )
        .unwrap_or_else(|e| panic!("{content}: {e:?}"));
    }
    let err = apply_patch(
        &z,
        &changes(json!([replace(
            "geo.example.org.",
            "LUA",
            &["A \";return (\""]
        )])),
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, ApiError::Multiple(_) | ApiError::Unprocessable(_)),
        "{err:?}"
    );
    let msg = message(err);
    assert!(
        msg.contains("geo.example.org./LUA") && msg.contains("LUA record"),
        "{msg}"
    );
}
