//! Text -> wire -> text vectors for every type with a codec, RFC examples
//! where the RFCs give them, and the error messages operators see.

use super::*;

fn origin() -> Name {
    // A literal absolute name always parses.
    Name::from_text("example.com.", None).unwrap()
}

fn h(hex: &str) -> Vec<u8> {
    let clean: String = hex.split_whitespace().collect();
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(clean.as_bytes())
        .expect("test hex is valid")
}

fn parse(rtype: RType, text: &str) -> Vec<u8> {
    parse_str(rtype, text, &origin()).unwrap_or_else(|e| panic!("{rtype} {text:?}: {e}"))
}

fn err(rtype: RType, text: &str) -> String {
    match parse_str(rtype, text, &origin()) {
        Ok(wire) => panic!("{rtype} {text:?} parsed to {wire:02x?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

/// `text` parses to `hex`, prints as `canonical`, and that parses back.
fn check(rtype: RType, text: &str, hex: &str, canonical: &str) {
    let wire = parse(rtype, text);
    assert_eq!(wire, h(hex), "{rtype} {text:?}");
    let printed = to_text(rtype, &wire).unwrap();
    assert_eq!(printed, canonical, "{rtype} {text:?}");
    assert_eq!(
        parse(rtype, &printed),
        wire,
        "{rtype} re-parse of {printed:?}"
    );
    check_wire(rtype, &wire).unwrap();
}

const EXAMPLE_COM: &str = "07 6578616d706c65 03 636f6d 00";

#[test]
fn addresses() {
    check(RType::A, "192.0.2.1", "c0000201", "192.0.2.1");
    check(
        RType::AAAA,
        "2001:DB8::1",
        "20010db8 00000000 00000000 00000001",
        "2001:db8::1",
    );
    check(
        RType::AAAA,
        "::ffff:192.0.2.1",
        "00000000 00000000 0000ffff c0000201",
        "::ffff:192.0.2.1",
    );
    assert_eq!(
        err(RType::A, "192.0.2"),
        r#"IPv4 address "192.0.2" is not valid"#
    );
    assert_eq!(
        err(RType::A, "192.0.2.1 5"),
        r#"unexpected "5" after the end of the RDATA"#
    );
    assert_eq!(err(RType::A, ""), "missing IPv4 address");
    assert_eq!(
        err(RType::AAAA, "1.2.3.4"),
        r#"IPv6 address "1.2.3.4" is not valid"#
    );
}

#[test]
fn single_names_are_relative_to_origin() {
    let ns1 = format!("03 6e7331 {EXAMPLE_COM}");
    check(RType::NS, "ns1", &ns1, "ns1.example.com.");
    check(RType::NS, "ns1.example.com.", &ns1, "ns1.example.com.");
    check(RType::CNAME, "@", EXAMPLE_COM, "example.com.");
    check(
        RType::PTR,
        "host.example.net.",
        "04686f7374 076578616d706c65 036e6574 00",
        "host.example.net.",
    );
    check(RType::DNAME, ".", "00", ".");
    // An escaped dot stays inside its label.
    check(
        RType::CNAME,
        r"a\.b",
        &format!("03 612e62 {EXAMPLE_COM}"),
        r"a\.b.example.com.",
    );
    assert!(err(RType::NS, "a..b").starts_with("bad name \"a..b\""));
    assert!(err(RType::NS, "\"quoted\"").contains("not quoted"));
}

#[test]
fn soa_with_units() {
    let text = "ns1 hostmaster 2024010101 1h 15m 1w 300";
    let wire = format!(
        "03 6e7331 {EXAMPLE_COM} 0a 686f73746d6173746572 {EXAMPLE_COM} 78a3f175 00000e10 00000384 00093a80 0000012c"
    );
    let canonical = "ns1.example.com. hostmaster.example.com. 2024010101 3600 900 604800 300";
    check(RType::SOA, text, &wire, canonical);
    assert_eq!(
        err(RType::SOA, "ns1 hostmaster 1 2 3 4"),
        "missing SOA minimum"
    );
    assert_eq!(
        err(RType::SOA, "ns1 hostmaster 4294967296 2 3 4 5"),
        "SOA serial 4294967296 is out of range"
    );
}

#[test]
fn mx_srv_uri_naptr() {
    check(
        RType::MX,
        "10 mail",
        &format!("000a 046d61696c {EXAMPLE_COM}"),
        "10 mail.example.com.",
    );
    assert_eq!(
        err(RType::MX, "70000 mail"),
        "MX preference 70000 is out of range"
    );
    assert_eq!(
        err(RType::MX, "ten mail"),
        r#"MX preference "ten" is not valid"#
    );
    assert_eq!(err(RType::MX, "10"), "missing MX exchange");
    check(
        RType::SRV,
        "0 5 5060 sip.example.com.",
        &format!("0000 0005 13c4 03736970 {EXAMPLE_COM}"),
        "0 5 5060 sip.example.com.",
    );
    // RFC 7553 §4.5 example.
    check(
        RType::URI,
        r#"10 1 "ftp://ftp1.example.com/public""#,
        "000a 0001 6674703a2f2f667470312e6578616d706c652e636f6d2f7075626c6963",
        r#"10 1 "ftp://ftp1.example.com/public""#,
    );
    assert_eq!(
        err(RType::URI, r#"10 1 """#),
        "URI target must not be empty"
    );
    // RFC 2915 §7.2 example.
    check(
        RType::NAPTR,
        r#"100 50 "s" "z3950+I2L+I2C" "" _z3950._tcp.gatech.edu."#,
        "0064 0032 0173 0d7a333935302b49324c2b493243 00 065f7a33393530045f746370066761746563680365647500",
        r#"100 50 "s" "z3950+I2L+I2C" "" _z3950._tcp.gatech.edu."#,
    );
    check(
        RType::NAPTR,
        r#"100 10 "" "" "!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i" ."#,
        "0064 000a 00 00 21 215e75726e3a6369643a2e2b40285b5e5c2e5d2b5c2e29282e2a2924215c322169 00",
        r#"100 10 "" "" "!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i" ."#,
    );
}

#[test]
fn strings() {
    check(
        RType::TXT,
        r#""hello world" "x\"y""#,
        "0b68656c6c6f20776f726c64 03782279",
        r#""hello world" "x\"y""#,
    );
    check(
        RType::TXT,
        "unquoted",
        "08756e71756f746564",
        r#""unquoted""#,
    );
    check(RType::TXT, r#""""#, "00", r#""""#);
    check(RType::TXT, r#""\255\000;""#, "03ff003b", r#""\255\000;""#);
    check(
        RType::SPF,
        r#""v=spf1 -all""#,
        "0b763d73706631202d616c6c",
        r#""v=spf1 -all""#,
    );
    check(
        RType::HINFO,
        "PC Linux",
        "025043 054c696e7578",
        r#""PC" "Linux""#,
    );
    let long = format!("\"{}\"", "a".repeat(256));
    assert_eq!(
        err(RType::TXT, &long),
        "character-string is 256 octets long; at most 255 are allowed"
    );
    assert_eq!(err(RType::TXT, ""), "missing TXT character-string");
    assert_eq!(err(RType::HINFO, "PC"), "missing HINFO OS");
    assert!(to_text(RType::TXT, &[]).is_err());
    assert!(to_text(RType::TXT, &h("05 6162")).is_err());
}

#[test]
fn caa() {
    // RFC 8659 §4.5 style example.
    check(
        RType::CAA,
        r#"0 issue "ca.example.net""#,
        "00 05 6973737565 63612e6578616d706c652e6e6574",
        r#"0 issue "ca.example.net""#,
    );
    check(
        RType::CAA,
        "128 tbs Unknown",
        "80 03 746273 556e6b6e6f776e",
        r#"128 tbs "Unknown""#,
    );
    check(
        RType::CAA,
        r#"0 issue """#,
        "00 05 6973737565",
        r#"0 issue """#,
    );
    assert_eq!(
        err(RType::CAA, r#"0 is-sue "x""#),
        r#"CAA tag "is-sue" is not valid"#
    );
    assert_eq!(
        err(RType::CAA, r#"256 issue "x""#),
        "CAA flags 256 is out of range"
    );
}

#[test]
fn ds_and_dnskey() {
    // RFC 4034 §5.4.
    check(
        RType::DS,
        "60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD 1A292118 )",
        "ec45 05 01 2bb183af5f22588179a53b0a98631fad1a292118",
        "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118",
    );
    assert_eq!(
        err(
            RType::DS,
            "60485 5 2 2BB183AF5F22588179A53B0A98631FAD1A292118"
        ),
        "DS digest type 2 needs 32 octets of digest, not 20"
    );
    assert_eq!(
        err(RType::DS, "60485 5 1 2BB1Z3"),
        r#"DS digest "2BB1Z3" is not valid"#
    );
    // RFC 8078 §4: the delete forms.
    check(RType::CDS, "0 0 0 00", "0000 00 00 00", "0 0 0 00");
    check(RType::CDNSKEY, "0 3 0 AA==", "0000 03 00 00", "0 3 0 AA==");
    // RFC 4034 §2.3: the key is base64 that may be split by blanks.
    let key = "AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/0PY1kxkmvHjcZc8nokfzj31GajIQKY+5CptLr3buXA10hWqTkF7H6RfoRqXQeogmMHfpftf6zMv1LyBUgia7za6ZEzOJBOztyvhjL742iU/TpPSEDhm2SNKLijfUppn1UaNvv4w==";
    let split = format!("256 3 5 ( {} {} )", &key[..40], &key[40..]);
    let wire = parse(RType::DNSKEY, &split);
    assert_eq!(&wire[..7], &h("0100 03 05 0103d2")[..]);
    assert_eq!(
        to_text(RType::DNSKEY, &wire).unwrap(),
        format!("256 3 5 {key}")
    );
    assert!(err(RType::DNSKEY, "256 3 13 !!!!").contains("DNSKEY public key"));
    assert_eq!(err(RType::DNSKEY, "256 3 13"), "missing DNSKEY public key");
}

#[test]
fn tlsa_and_sshfp() {
    check(
        RType::TLSA,
        "3 1 1 0C72AC70B745AC19998811B131D662C9 AC69DBDBE7CB23E5B514B56664C5D3D6",
        "03 01 01 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6",
        "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6",
    );
    // RFC 4255 §3.3.
    check(
        RType::SSHFP,
        "2 1 123456789abcdef67890123456789abcdef67890",
        "02 01 123456789abcdef67890123456789abcdef67890",
        "2 1 123456789abcdef67890123456789abcdef67890",
    );
    assert_eq!(
        err(RType::SSHFP, "2 1 abc"),
        r#"SSHFP fingerprint "abc" is not valid"#
    );
}

#[test]
fn lua_records() {
    let code = "ifportup(443, {'192.0.2.1', '192.0.2.2'})";
    let text = format!("A \"{code}\"");
    let wire = parse(RType::LUA, &text);
    let mut expected = vec![0, 1, code.len() as u8];
    expected.extend_from_slice(code.as_bytes());
    assert_eq!(wire, expected);
    assert_eq!(to_text(RType::LUA, &wire).unwrap(), text);
    check(
        RType::LUA,
        r#"TXT "a" "b""#,
        "0010 0161 0162",
        r#"TXT "a" "b""#,
    );
    check(
        RType::LUA,
        r#"TYPE65000 "x""#,
        "fde8 0178",
        r#"TYPE65000 "x""#,
    );
    assert_eq!(
        err(RType::LUA, r#"BOGUS "x""#),
        r#"LUA produced type "BOGUS" is not valid"#
    );
    assert_eq!(err(RType::LUA, "A"), "missing LUA code");
    // `LUA LUA` (code for include()) is a record like any other.
    check(RType::LUA, r#"LUA "x=1""#, "ff7a 0378 3d31", r#"LUA "x=1""#);
    // Fuzz regression (zonefile, crash-49fefcee): the generic form carried
    // a meta produced type (TYPE129) the text form refuses, so the record
    // printed as text that did not parse back.
    assert!(parse_str(RType::LUA, r"\# 5 0081020044", &Name::root()).is_err());
    assert!(parse_str(RType::LUA, "TYPE129 \"x\"", &Name::root()).is_err());
}

const FOO_EXAMPLE_COM: &str = "03666f6f 076578616d706c65 03636f6d 00";
const FOO_EXAMPLE_ORG: &str = "03666f6f 076578616d706c65 036f7267 00";

#[test]
fn svcb_rfc9460_appendix_d_vectors() {
    // D.1 AliasMode.
    check(
        RType::HTTPS,
        "0 foo.example.com.",
        &format!("0000 {FOO_EXAMPLE_COM}"),
        "0 foo.example.com.",
    );
    // D.2 ServiceMode.
    check(RType::SVCB, "1 .", "0001 00", "1 .");
    check(
        RType::SVCB,
        "16 foo.example.com. port=53",
        &format!("0010 {FOO_EXAMPLE_COM} 0003 0002 0035"),
        "16 foo.example.com. port=53",
    );
    check(
        RType::SVCB,
        "1 foo.example.com. key667=hello",
        &format!("0001 {FOO_EXAMPLE_COM} 029b 0005 68656c6c6f"),
        "1 foo.example.com. key667=hello",
    );
    check(
        RType::SVCB,
        r#"1 foo.example.com. key667="hello\210qoo""#,
        &format!("0001 {FOO_EXAMPLE_COM} 029b 0009 68656c6c6fd2716f6f"),
        r"1 foo.example.com. key667=hello\210qoo",
    );
    check(
        RType::SVCB,
        r#"1 foo.example.com. ( ipv6hint="2001:db8::1,2001:db8::53:1" )"#,
        &format!(
            "0001 {FOO_EXAMPLE_COM} 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001"
        ),
        "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1",
    );
    check(
        RType::SVCB,
        r#"1 example.com. ( ipv6hint="2001:db8:122:344::192.0.2.33" )"#,
        &format!("0001 {EXAMPLE_COM} 0006 0010 20010db8012203440000 0000c0000221"),
        "1 example.com. ipv6hint=2001:db8:122:344::c000:221",
    );
    check(
        RType::SVCB,
        "16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn\n ipv4hint=192.0.2.1 )",
        &format!(
            "0010 {FOO_EXAMPLE_ORG} 0000 0004 0001 0004 0001 0009 02 6832 05 68332d3139 0004 0004 c0000201"
        ),
        "16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1",
    );
    let escaped_alpn = format!("0010 {FOO_EXAMPLE_ORG} 0001 000c 08 665c6f6f2c626172 02 6832");
    let canonical = r"16 foo.example.org. alpn=f\\\\oo\\,bar,h2";
    check(
        RType::SVCB,
        r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2""#,
        &escaped_alpn,
        canonical,
    );
    check(
        RType::SVCB,
        r"16 foo.example.org. alpn=f\\\092oo\092,bar,h2",
        &escaped_alpn,
        canonical,
    );
}

#[test]
fn svcb_rfc9460_appendix_d_failures() {
    let cases = [
        (
            "1 foo.example.com. key123=abc key123=def",
            "SvcParamKey key123 appears more than once",
        ),
        (
            "1 foo.example.com. mandatory",
            "SvcParam mandatory needs a value",
        ),
        ("1 foo.example.com. alpn", "SvcParam alpn needs a value"),
        ("1 foo.example.com. port", "SvcParam port needs a value"),
        (
            "1 foo.example.com. ipv4hint",
            "SvcParam ipv4hint needs a value",
        ),
        (
            "1 foo.example.com. ipv6hint",
            "SvcParam ipv6hint needs a value",
        ),
        (
            "1 foo.example.com. alpn=h2 no-default-alpn=abc",
            "SvcParam no-default-alpn takes no value",
        ),
        (
            "1 foo.example.com. mandatory=key123",
            "mandatory lists key123, which is not present",
        ),
        (
            "1 foo.example.com. mandatory=mandatory",
            "mandatory must not list mandatory",
        ),
        (
            "1 foo.example.com. mandatory=key123,key123 key123=abc",
            "mandatory lists key123 twice",
        ),
    ];
    for (text, reason) in cases {
        assert_eq!(err(RType::SVCB, text), reason, "{text}");
    }
}

#[test]
fn svcb_other_keys_and_rules() {
    check(
        RType::HTTPS,
        r#"1 . alpn="h3,h2" no-default-alpn ech="AEP+DQA=" port=8443 dohpath=/q{?dns} ohttp key9"#,
        "0001 00 0001 0006 026833 026832 0002 0000 0003 0002 20fb 0005 0005 0043fe0d00 \
         0007 0008 2f717b3f646e737d 0008 0000 0009 0000",
        "1 . alpn=h3,h2 no-default-alpn port=8443 ech=AEP+DQA= dohpath=/q{?dns} ohttp key9",
    );
    check(
        RType::SVCB,
        r#"1 . key1000="a b""#,
        "0001 00 03e8 0003 612062",
        r#"1 . key1000="a b""#,
    );
    // keyNNNNN names a registered key by number.
    check(
        RType::SVCB,
        "1 . key3=80",
        "0001 00 0003 0002 0050",
        "1 . port=80",
    );
    assert_eq!(
        err(RType::SVCB, "1 . no-default-alpn"),
        "no-default-alpn requires alpn"
    );
    assert_eq!(
        err(RType::SVCB, "1 . key65535"),
        "SvcParamKey key65535 is out of range"
    );
    assert_eq!(
        err(RType::SVCB, "1 . bogus=1"),
        r#"SvcParamKey "bogus" is not valid"#
    );
    assert_eq!(
        err(RType::SVCB, "1 . alpn=h2,,h3"),
        "alpn has an empty protocol id"
    );
    assert_eq!(
        err(RType::SVCB, "1 . port=70000"),
        r#"SVCB port "70000" is not valid"#
    );
    assert_eq!(
        err(RType::SVCB, "1 . ipv4hint=1.2.3"),
        r#"ipv4hint address "1.2.3" is not valid"#
    );
    // Wire validation: keys out of order, bad lengths, missing mandatory key.
    assert!(check_wire(RType::SVCB, &h("0001 00 0003 0002 0050 0001 0003 026832")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0003 0001 50")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0000 0002 0001")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0001 0003 026832 0001 0003 026832")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0004 0005 c0000201ff")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0001 0000")).is_err());
    assert!(check_wire(RType::SVCB, &h("0001 00 0001 0004 026832")).is_err());
}

#[test]
fn generic_rfc3597_form() {
    let wire = parse(RType(65000), r"\# 4 0a000001");
    assert_eq!(wire, h("0a000001"));
    assert_eq!(to_text(RType(65000), &wire).unwrap(), r"\# 4 0a000001");
    assert_eq!(parse(RType(65000), r"\# 4 0A00 ( 0001 )"), h("0a000001"));
    assert_eq!(parse(RType(65000), r"\# 0"), Vec::<u8>::new());
    assert_eq!(to_text(RType(65000), &[]).unwrap(), r"\# 0");
    // Known types are checked against their format.
    assert_eq!(parse(RType::A, r"\# 4 C0000201"), h("c0000201"));
    assert_eq!(
        err(RType::A, r"\# 3 c00002"),
        "malformed A RDATA: RDATA is truncated"
    );
    assert_eq!(
        err(RType::A, r"\# 5 c000020101"),
        "malformed A RDATA: 1 octets left over"
    );
    assert_eq!(
        err(RType(65000), r"\# 3 0a000001"),
        "generic RDATA length 3 does not match the 4 octets given"
    );
    assert_eq!(
        err(RType(65000), r"\# 1 0g"),
        r#"generic RDATA hex "0g" is not valid"#
    );
    assert_eq!(err(RType(65000), r"\#"), "missing generic RDATA length");
    // A type without a codec: only the generic form, and it prints that way.
    let nsec = parse(RType::NSEC, r"\# 3 00 0140");
    assert_eq!(to_text(RType::NSEC, &nsec).unwrap(), r"\# 3 000140");
    assert_eq!(
        err(RType::NSEC, "host.example.com. A MX"),
        r"no text format is implemented for type NSEC; write it as \# <length> <hex>"
    );
    assert!(err(RType(65000), "abc").contains(r"TYPE65000; write it as \#"));
}

#[test]
fn wire_checks_reject_malformed_data() {
    let bad = [
        (RType::A, "c00002"),
        (RType::AAAA, "00"),
        (RType::MX, "000a"),
        (RType::MX, "000a 03616263"),
        (RType::NS, "c00c"),
        (RType::SOA, "00 00 00000001"),
        (RType::CAA, "00 00"),
        (RType::DS, "ec45 05 02 00"),
        (RType::DNSKEY, "0100 03 05"),
        (RType::LUA, "0001"),
        (RType::URI, "000a 0001"),
    ];
    for (rtype, hex) in bad {
        assert!(check_wire(rtype, &h(hex)).is_err(), "{rtype} {hex}");
    }
    assert!(check_wire(RType(65000), &h("ff")).is_ok());
    assert!(matches!(
        check_wire(RType(1234), &vec![0; 70_000]),
        Err(RdataError::TooLong(70_000))
    ));
}

#[test]
fn rdata_longer_than_65535_is_refused() {
    let chunk = format!("\"{}\" ", "a".repeat(255));
    let text = chunk.repeat(300);
    assert!(matches!(
        parse_str(RType::TXT, &text, &origin()),
        Err(RdataError::TooLong(_))
    ));
}

#[test]
fn loc_records() {
    // RFC 1876's example (size 30m; precisions default).
    check(
        RType::LOC,
        "42 21 54 N 71 06 18 W -24m 30m",
        "00 33 16 13 89172dd0 70be15f0 00988d20",
        "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
    );
    // What PowerDNS's latlonloc() prints, including a float error in
    // exponent form for whole-minute positions.
    check(
        RType::LOC,
        "47 54 46.8 N 122 18 15.12 W 0.00m 1.00m 10000.00m 10.00m",
        "00 12 16 13 8a47f090 65c1a130 00989680",
        "47 54 46.800 N 122 18 15.120 W 0.00m 1.00m 10000.00m 10.00m",
    );
    let tiny = parse(
        RType::LOC,
        "1 0 1.27898e-12 N 1 0 0 E 0.00m 1.00m 10000.00m 10.00m",
    );
    // Read as PowerDNS reads it: 1.278 s (the exponent is ignored).
    assert_eq!(
        to_text(RType::LOC, &tiny).unwrap(),
        "1 0 1.278 N 1 0 0.000 E 0.00m 1.00m 10000.00m 10.00m"
    );
    for bad in [
        "91 0 0 N 0 0 0 E 0m",
        "90 1 0 N 0 0 0 E 0m",
        "0 60 0 N 0 0 0 E 0m",
        "0 0 0 X 0 0 0 E 0m",
        "0 0 0 N 0 0 0 E",
        "0 0 0 N 181 0 0 E 0m",
        "0 0 0 N 0 0 0 E 0m 1m 1m 1m 1m",
        "0 0 0 N 0 0 0 E -100001m",
        "0 0 -0 S 0 0 0 W 0m",
    ] {
        assert!(parse_str(RType::LOC, bad, &Name::root()).is_err(), "{bad}");
    }
    // Wire that is not version 0, or a size octet that is not base·10^exp.
    assert!(check_wire(RType::LOC, &h("01 12 16 13 8a47f090 65c1a130 00989680")).is_err());
    assert!(check_wire(RType::LOC, &h("00 a2 16 13 8a47f090 65c1a130 00989680")).is_err());
}
