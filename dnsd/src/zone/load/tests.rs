//! Zone-file syntax and zone rules, each error checked with its
//! `file:line` and reason.

use std::path::{Path, PathBuf};

use super::*;
use crate::wire::RType;
use crate::wire::rdata;

fn name(text: &str) -> Name {
    // Test literals are valid absolute names.
    Name::from_text(text, None).unwrap()
}

fn origin() -> Name {
    name("example.test.")
}

fn parse(text: &str) -> Result<Vec<Record>, LoadErrors> {
    parse_str(&origin(), text, Path::new("zone.db"))
}

fn parse_ok(text: &str) -> Vec<Record> {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The errors of a text that must fail, as `file:line: reason` strings.
fn parse_errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(records) => panic!("parsed {} records, expected errors", records.len()),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// Parses (which must succeed) then validates.
fn validation_errors(text: &str) -> Vec<String> {
    let records = parse_ok(text);
    validate(&origin(), &records)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn text_of(record: &Record) -> String {
    format!(
        "{} {} {} {}",
        record.owner,
        record.ttl,
        record.rtype,
        rdata::to_text(record.rtype, &record.rdata).unwrap()
    )
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zones")
}

const HEAD: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n";

#[test]
fn syntax_features() {
    let text = r#"
$ORIGIN example.test.
$TTL 1w2d3h4m5s
@ IN SOA ns1 hostmaster ( 1 ; serial, comment inside parentheses
        3600 900
        ; a whole comment line inside parentheses
        604800 300 )
  NS ns1 ; blank owner means the previous owner
www.example.test. 60 IN A 192.0.2.1
www IN 70 A 192.0.2.2
www A 192.0.2.3

txt TXT "a \"quoted\" \065 \\ ;not a comment" unquoted
$ORIGIN sub
x CNAME @
$TTL 5
y.example.test. PTR y
"#;
    let records = parse_ok(text);
    let texts: Vec<String> = records.iter().map(text_of).collect();
    let week = 604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5;
    assert_eq!(
        texts,
        [
            format!(
                "example.test. {week} SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300"
            ),
            format!("example.test. {week} NS ns1.example.test."),
            "www.example.test. 60 A 192.0.2.1".to_string(),
            "www.example.test. 70 A 192.0.2.2".to_string(),
            format!("www.example.test. {week} A 192.0.2.3"),
            format!(
                r#"txt.example.test. {week} TXT "a \"quoted\" A \\ ;not a comment" "unquoted""#
            ),
            format!("x.sub.example.test. {week} CNAME sub.example.test."),
            "y.example.test. 5 PTR y.sub.example.test.".to_string(),
        ]
    );
    let lines: Vec<u32> = records
        .iter()
        .map(|r| r.location.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, [4, 8, 9, 10, 11, 13, 15, 17]);
    assert!(records.iter().all(|r| r.class == 1));
    assert_eq!(
        records[0].location.as_ref().unwrap().to_string(),
        "zone.db:4"
    );
}

#[test]
fn ttl_defaults_to_last_explicit_ttl_without_dollar_ttl() {
    let records = parse_ok("a 100 A 192.0.2.1\nb A 192.0.2.2\nc 7 A 192.0.2.3\nd A 192.0.2.4\n");
    let ttls: Vec<u32> = records.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, [100, 100, 7, 7]);
    // $TTL wins over the last explicit TTL once set.
    let records = parse_ok("a 100 A 192.0.2.1\n$TTL 9\nb A 192.0.2.2\n");
    assert_eq!(records[1].ttl, 9);
}

#[test]
fn entry_errors_name_file_line_and_reason() {
    let text = "\
a A 192.0.2.1
b 60 A 192.0.2.1
c 60 CH A 192.0.2.1
d 60 IN BOGUS x
e 60 IN MX 70000 mail
f 60 IN TXT \"unterminated
g 60 IN A ( 192.0.2.1
     192.0.2.2 )
h 60 IN ANY 192.0.2.1
  60 IN A 192.0.2.9
i 4294967296 A 192.0.2.1
j 60 IN NSEC a A
k..l 60 A 192.0.2.1
$GENERATE 1-10 host$ A 192.0.2.$
$FOO bar
$ORIGIN
$INCLUDE missing.inc
m 60 A 192.0.2.1 )
";
    assert_eq!(
        parse_errors(text),
        [
            "zone.db:1: no TTL: give the record a TTL or set $TTL",
            "zone.db:3: class CH is not supported; only IN",
            "zone.db:4: unknown record type \"BOGUS\"",
            "zone.db:5: invalid MX record: MX preference 70000 is out of range",
            "zone.db:6: unterminated quoted string",
            "zone.db:7: invalid A record: unexpected \"192.0.2.2\" after the end of the RDATA",
            "zone.db:9: ANY is not a record type that can be stored in a zone",
            "zone.db:11: TTL 4294967296 is out of range",
            "zone.db:12: invalid NSEC record: no text format is implemented for type NSEC; \
             write it as \\# <length> <hex>",
            "zone.db:13: bad domain name \"k..l\": empty label in name",
            "zone.db:14: $GENERATE is not supported; expand the records in the file",
            "zone.db:15: unknown directive $FOO",
            "zone.db:16: $ORIGIN takes exactly one domain name",
            "zone.db:17: cannot read missing.inc: No such file or directory (os error 2)",
            "zone.db:18: unmatched closing parenthesis",
        ]
    );
}

#[test]
fn load_errors_display_one_per_line() {
    let err = parse("a A 192.0.2.1\nb A 192.0.2.1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "zone.db:1: no TTL: give the record a TTL or set $TTL\nzone.db:2: no TTL: give the record a TTL or set $TTL"
    );
    let _: &dyn std::error::Error = &err;
    let _: &dyn std::error::Error = &err.0[0];
}

#[test]
fn blank_owner_needs_a_previous_owner() {
    assert_eq!(
        parse_errors("$TTL 5\n  A 192.0.2.1\n"),
        [
            "zone.db:2: line starts with a blank (same owner as before) but there is no previous owner"
        ]
    );
}

#[test]
fn unclosed_parenthesis_reports_the_first_line() {
    assert_eq!(
        parse_errors("$TTL 5\n\na TXT ( \"x\"\n \"y\"\n"),
        ["zone.db:3: unclosed parenthesis"]
    );
}

#[test]
fn error_count_is_capped() {
    let text = "a A 192.0.2.1\n".repeat(MAX_ERRORS + 50);
    assert_eq!(parse(&text).unwrap_err().0.len(), MAX_ERRORS);
}

#[test]
fn generic_and_lua_records() {
    let records =
        parse_ok("$TTL 5\nx TYPE65000 \\# 2 abcd\ny A \\# 4 c0000201\nz LUA A \"'192.0.2.1'\"\n");
    assert_eq!(records[0].rtype, RType(65000));
    assert_eq!(&records[0].rdata[..], &[0xab, 0xcd]);
    assert_eq!(&records[1].rdata[..], &[192, 0, 2, 1]);
    assert_eq!(
        text_of(&records[2]),
        "z.example.test. 5 LUA A \"'192.0.2.1'\""
    );
}

#[test]
fn include_is_relative_to_the_including_file_and_takes_an_origin() {
    let records = load_file(&origin(), &fixtures().join("example.test.zone"))
        .unwrap_or_else(|e| panic!("{e}"));
    let hosts: Vec<String> = records
        .iter()
        .filter(|r| r.owner.label_count() == 4)
        .map(text_of)
        .collect();
    assert!(
        hosts.contains(&"host1.sub.example.test. 3600 A 192.0.2.101".to_string()),
        "{hosts:?}"
    );
    let host2 = records
        .iter()
        .find(|r| r.owner == name("host2.sub.example.test."))
        .unwrap();
    let location = host2.location.as_ref().unwrap();
    assert!(location.file.ends_with("include/hosts.inc"));
    assert_eq!(location.line, 3);
    // The duplicate `dup A 192.0.2.7` was dropped silently.
    assert_eq!(
        records
            .iter()
            .filter(|r| r.owner == name("dup.example.test."))
            .count(),
        1
    );
    let mail: Vec<String> = records
        .iter()
        .filter(|r| r.owner == name("mail.example.test."))
        .map(text_of)
        .collect();
    assert_eq!(
        mail,
        [
            "mail.example.test. 300 A 192.0.2.25",
            "mail.example.test. 300 AAAA 2001:db8::25"
        ]
    );
}

#[test]
fn include_loops_are_refused() {
    let path = fixtures().join("include/loop-a.zone");
    let err = load_file(&origin(), &path).unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("loop-b.inc:2: $INCLUDE loop:"), "{msg}");
    assert!(msg.contains("loop-a.zone is already being read"), "{msg}");
}

#[test]
fn include_of_a_device_is_refused() {
    assert_eq!(
        parse_errors("$INCLUDE /dev/zero\n"),
        ["zone.db:1: cannot read /dev/zero: not a regular file"]
    );
}

#[test]
fn untrusted_text_cannot_include() {
    let dir = std::env::temp_dir().join(format!("dnsd-untrusted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inc = dir.join("secret.inc");
    std::fs::write(&inc, "secret 60 A 192.0.2.77\n").unwrap();
    let text = format!("{HEAD}$INCLUDE {}\n", inc.display());
    // The operator's zone files keep $INCLUDE ...
    assert_eq!(parse_ok(&text).len(), 4);
    // ... text from a client does not, and the file's content is not quoted.
    let err = parse_untrusted(&origin(), &text, "zone").unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("zone:5: $INCLUDE is not allowed here"),
        "{msg}"
    );
    assert!(!msg.contains("192.0.2.77"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_regular_files_of_bounded_lines_are_read() {
    let dir = std::env::temp_dir().join(format!("dnsd-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A FIFO with no writer: opening it must not block.
    let fifo = dir.join("fifo.zone");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let err = load_file(&origin(), &fifo).unwrap_err().to_string();
    assert!(err.ends_with("not a regular file"), "{err}");
    let err = parse_errors(&format!("$INCLUDE {}\n", fifo.display()));
    assert!(err[0].ends_with("not a regular file"), "{err:?}");
    // A device as the zone file itself.
    let err = load_file(&origin(), Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "cannot read /dev/zero: not a regular file");
    // One endless line stops at the limit, naming the line.
    let long = dir.join("long.zone");
    let mut text = String::from(HEAD);
    text.push_str("txt TXT \"");
    text.push_str(&"a".repeat(MAX_LINE + 10));
    text.push_str("\"\n");
    std::fs::write(&long, &text).unwrap();
    let err = load_file(&origin(), &long).unwrap_err().to_string();
    assert!(
        err.ends_with(&format!("line 5 is longer than {MAX_LINE} bytes")),
        "{err}"
    );
    assert!(
        !err.contains("aaaa"),
        "content quoted: {}",
        &err[..err.len().min(200)]
    );
    // A line of exactly the limit (newline included) is still read.
    let exact = dir.join("exact.zone");
    let mut text = String::from(HEAD);
    let filler = MAX_LINE - "; \n".len();
    text.push_str("; ");
    text.push_str(&"b".repeat(filler));
    text.push('\n');
    std::fs::write(&exact, &text).unwrap();
    assert_eq!(load_file(&origin(), &exact).unwrap().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_file() {
    let err = load_file(&origin(), Path::new("/nonexistent/zone")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/zone: "),
        "{err}"
    );
}

#[test]
fn valid_zone_passes_validation() {
    let text = format!(
        "{HEAD}\
www A 192.0.2.2
alias CNAME www
alias RRSIG \\# 0
deleg NS ns.deleg
deleg DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.deleg A 192.0.2.3
ns.deleg AAAA 2001:db8::3
deep.ns.deleg A 192.0.2.4
@ DNAME other.test.
@ TXT hello
"
    );
    assert_eq!(validation_errors(&text), Vec::<String>::new());
}

#[test]
fn soa_rules() {
    assert_eq!(
        validation_errors("$TTL 5\n@ NS ns1\n"),
        ["zone example.test. has no SOA record at its apex"]
    );
    assert_eq!(
        validation_errors(&format!(
            "{HEAD}@ SOA ns2 h 2 2 3 4 5\nsub SOA ns1 h 1 2 3 4 5\n"
        )),
        [
            "zone.db:5: second SOA record; a zone has exactly one",
            "zone.db:6: SOA record at sub.example.test.; it belongs only at the zone apex example.test.",
        ]
    );
    assert_eq!(
        validation_errors("$TTL 5\n@ SOA ns1 h 1 2 3 4 5\nns1 A 192.0.2.1\n"),
        ["zone.db:2: zone example.test. has no NS records at its apex"]
    );
}

#[test]
fn cname_rules() {
    let text = format!("{HEAD}www A 192.0.2.1\nwww CNAME a\ntwo CNAME a\ntwo CNAME b\n@ CNAME x\n");
    assert_eq!(
        validation_errors(&text),
        [
            "zone.db:6: CNAME record at www.example.test. beside other data (A)",
            "zone.db:8: more than one CNAME record at two.example.test.",
            "zone.db:9: CNAME record at the zone apex example.test.",
        ]
    );
    // The order in the file does not matter.
    let text = format!("{HEAD}www CNAME a\nwww MX 10 a\n");
    assert_eq!(
        validation_errors(&text),
        ["zone.db:5: CNAME record at www.example.test. beside other data (MX)"]
    );
}

#[test]
fn out_of_zone_data() {
    let text = format!("{HEAD}www.example.org. A 192.0.2.1\nxexample.test. A 192.0.2.1\n");
    assert_eq!(
        validation_errors(&text),
        [
            "zone.db:5: www.example.org. is outside the zone example.test.",
            "zone.db:6: xexample.test. is outside the zone example.test.",
        ]
    );
}

#[test]
fn delegation_rules() {
    let text = format!(
        "{HEAD}\
d NS ns.d
d MX 10 mail
d A 192.0.2.1
ns.d A 192.0.2.2
www.d TXT occluded
a.b.d AAAA 2001:db8::1
x.d NS other.
"
    );
    assert_eq!(
        validation_errors(&text),
        [
            "zone.db:6: MX record at the delegation point d.example.test.; only NS, DS and glue A/AAAA belong there",
            "zone.db:9: TXT record at www.d.example.test. is occluded by the delegation at d.example.test.",
            "zone.db:11: NS record at x.d.example.test. is occluded by the delegation at d.example.test.",
        ]
    );
}

#[test]
fn dname_rules() {
    let text = format!(
        "{HEAD}\
d DNAME target.test.
a.d A 192.0.2.1
e NS ns.e
e DNAME x.test.
"
    );
    assert_eq!(
        validation_errors(&text),
        [
            "zone.db:6: A record at a.d.example.test. is occluded by the DNAME at d.example.test.",
            "zone.db:8: DNAME and NS records at e.example.test.; only the zone apex may have both",
            "zone.db:8: DNAME record at the delegation point e.example.test.; only NS, DS and glue A/AAAA belong there",
        ]
    );
}

#[test]
fn ttl_limit() {
    let text = format!("{HEAD}big 2147483648 A 192.0.2.1\nok 2147483647 A 192.0.2.1\n");
    assert_eq!(
        validation_errors(&text),
        ["zone.db:5: TTL 2147483648 is above the maximum of 2147483647 (RFC 2181)"]
    );
}

#[test]
fn load_file_treats_top_bit_ttls_as_zero() {
    let dir = std::env::temp_dir().join(format!("dnsd-ttl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zone.db");
    std::fs::write(
        &path,
        format!("{HEAD}big 2147483648 A 192.0.2.1\nok 2147483647 A 192.0.2.1\n"),
    )
    .unwrap();
    let origin = Name::from_text("example.test.", None).unwrap();
    let records = load_file(&origin, &path).unwrap();
    let ttl = |label: &str| {
        records
            .iter()
            .find(|r| r.owner.labels().next() == Some(label.as_bytes()))
            .unwrap()
            .ttl
    };
    assert_eq!((ttl("big"), ttl("ok")), (0, 2147483647));
    std::fs::write(&path, format!("{HEAD}huge 4294967296 A 192.0.2.1\n")).unwrap();
    assert!(
        load_file(&origin, &path).is_err(),
        "beyond 32 bits is an error"
    );
}

#[test]
fn mismatched_ttls_in_an_rrset_are_kept() {
    let records = parse_ok(&format!("{HEAD}www 10 A 192.0.2.1\nwww 20 A 192.0.2.2\n"));
    assert!(validate(&origin(), &records).is_empty());
    assert_eq!(records[4].ttl, 20);
}

#[test]
fn dedup_keeps_the_first_and_ignores_owner_case() {
    let records = parse_ok(&format!(
        "{HEAD}$TTL 5\nwww A 192.0.2.1\nWWW 9 A 192.0.2.1\nwww A 192.0.2.2\n"
    ));
    let (kept, errors) = dedup_and_validate(&origin(), records);
    assert!(errors.is_empty(), "{errors:?}");
    // HEAD holds three records.
    assert_eq!(kept.len(), 3 + 2);
    assert_eq!(kept[3].ttl, 5);
}

#[test]
fn duplicates_are_found_apart_and_in_large_rrsets() {
    // A small owner whose duplicate comes back after other names, and one
    // large enough for the hash table, with duplicates in mixed case.
    let mut text = String::from(HEAD);
    text.push_str("www A 192.0.2.1\nmail A 192.0.2.9\nWww A 192.0.2.1\nwww A 192.0.2.2\n");
    for i in 0..40 {
        text.push_str(&format!("big A 192.0.3.{i}\n"));
    }
    for i in (0..40).step_by(3) {
        text.push_str(&format!("BIG A 192.0.3.{i}\n"));
    }
    // The same data under another type or owner is no duplicate.
    text.push_str("big AAAA ::1\nother A 192.0.3.1\nalias CNAME www\nalias CNAME www\n");
    let records = parse_ok(&text);
    let before = records.len();
    let (kept, errors) = dedup_and_validate(&origin(), records.clone());
    // The repeated CNAME is one record, not a second CNAME.
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(validate(&origin(), &records).len(), 0);
    assert_eq!(before - kept.len(), 1 + 14 + 1);
    let count = |owner: &str, rtype: RType| {
        kept.iter()
            .filter(|r| {
                r.rtype == rtype
                    && r.owner.labels().next().map(|l| l.to_ascii_lowercase())
                        == Some(owner.as_bytes().to_vec())
            })
            .count()
    };
    assert_eq!(count("www", RType::A), 2);
    assert_eq!(count("big", RType::A), 40);
    assert_eq!(count("big", RType::AAAA), 1);
    assert_eq!(count("alias", RType::CNAME), 1);
    // The first occurrence is kept, with its case.
    assert!(
        kept.iter()
            .all(|r| r.owner.to_string() != "Www.example.test.")
    );
}

#[test]
fn large_zone_loads_in_linear_time() {
    let mut text = String::from(HEAD);
    for i in 0..100_000 {
        text.push_str(&format!(
            "h{i} A 192.0.{}.{}\nh{i} TXT \"host {i}\"\n",
            (i >> 8) & 255,
            i & 255
        ));
        if i % 10 == 0 {
            text.push_str(&format!("d{i} NS ns.d{i}\nns.d{i} A 192.0.2.1\n"));
        }
    }
    let start = std::time::Instant::now();
    let records = parse_ok(&text);
    let (records, errors) = dedup_and_validate(&origin(), records);
    assert!(errors.is_empty());
    assert!(records.len() > 200_000);
    // Generous even for a debug build on a busy machine; quadratic work
    // would take minutes.
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
}

#[test]
fn lua_records_that_cannot_answer_load_unless_strict() {
    let records = parse_ok(
        "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nok LUA A \"'192.0.2.1'\"\n\
         bad LUA A \"nosuchfunction(1)\"\nscript LUA A \";return '192.0.2.1'\"\n\
         broken LUA A \";return (\"\nnative LUA A \"pickrandom({})\"\n",
    );
    // As PowerDNS: the zone loads, the records answer SERVFAIL.
    assert!(check_lua(&records, false).is_empty());
    // --lua-strict and check-zone: every one of them, with file:line.
    let errors: Vec<String> = check_lua(&records, true)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("zone.db:4: LUA record"), "{errors:?}");
    assert!(
        errors[0].contains("unknown function nosuchfunction()"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("zone.db:6: LUA record"), "{errors:?}");
    assert!(errors[1].contains("Lua syntax error, line 1"), "{errors:?}");
    assert!(errors[2].starts_with("zone.db:7: LUA record"), "{errors:?}");
}
