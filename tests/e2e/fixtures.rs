//! The records of `tests/data/zones/*.zone` that assertions name, in the form
//! [`e2e::rrs`] compares (owner, TYPE, rdata; lowercase).

/// A record as written in an expected section.
pub type Rr = (&'static str, &'static str, &'static str);

/// example.test SOA. Its TTL is 3600 and MINIMUM 300, so negative answers carry TTL 300.
pub const EX_SOA: Rr = (
    "example.test.",
    "SOA",
    "ns1.example.test. hostmaster.example.test. 2026112701 7200 3600 1209600 300",
);
/// Negative-answer TTL of example.test: min(3600, 300).
pub const EX_NEG_TTL: u32 = 300;
/// example.test apex NS.
pub const EX_NS: Rr = ("example.test.", "NS", "ns1.example.test.");
/// Address of the apex NS target.
pub const EX_NS1_A: Rr = ("ns1.example.test.", "A", "192.0.2.53");
/// www.example.test A.
pub const EX_WWW_A: Rr = ("www.example.test.", "A", "192.0.2.80");

/// wild.test SOA. Its TTL is 60 and MINIMUM 600, so negative answers carry TTL 60.
pub const WILD_SOA: Rr = (
    "wild.test.",
    "SOA",
    "ns1.wild.test. hostmaster.wild.test. 2026112701 7200 3600 1209600 600",
);
/// Negative-answer TTL of wild.test: min(60, 600).
pub const WILD_NEG_TTL: u32 = 60;

/// trunc.test SOA.
#[allow(dead_code)]
pub const TRUNC_SOA: Rr = (
    "trunc.test.",
    "SOA",
    "ns1.trunc.test. hostmaster.trunc.test. 1 7200 3600 1209600 300",
);

/// `count` A records `owner A 198.51.100.1..=count` (the big/mid RRsets of trunc.test).
pub fn a_run(owner: &str, count: u8) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = (1..=count)
        .map(|i| {
            (
                owner.to_string(),
                "A".to_string(),
                format!("198.51.100.{i}"),
            )
        })
        .collect();
    v.sort();
    v
}

/// The ten TXT records of huge.trunc.test.
pub fn huge_txt() -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = (0..10u8)
        .map(|i| {
            let c = char::from(b'a' + i);
            (
                "huge.trunc.test.".to_string(),
                "TXT".to_string(),
                format!("\"{}\"", c.to_string().repeat(200)),
            )
        })
        .collect();
    v.sort();
    v
}

/// The NS RRset of deleg.trunc.test.
pub fn deleg_ns() -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = (0..10)
        .map(|i| {
            (
                "deleg.trunc.test.".to_string(),
                "NS".to_string(),
                format!("ns{i}.deleg.trunc.test."),
            )
        })
        .collect();
    v.sort();
    v
}

/// The in-domain glue of deleg.trunc.test (10 A + 10 AAAA).
pub fn deleg_glue() -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for i in 0..10u32 {
        let n = format!("ns{i}.deleg.trunc.test.");
        v.push((n.clone(), "A".to_string(), format!("192.0.2.{}", 100 + i)));
        v.push((n, "AAAA".to_string(), format!("2001:db8::{:x}", 100 + i)));
    }
    v.sort();
    v
}

/// The MX RRset of mxbig.trunc.test.
pub fn mxbig_mx() -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = (0..10)
        .map(|i| {
            (
                "mxbig.trunc.test.".to_string(),
                "MX".to_string(),
                format!("{i} m{i}.trunc.test."),
            )
        })
        .collect();
    v.sort();
    v
}

/// The addresses of the mxbig targets (10 A + 10 AAAA).
pub fn mxbig_glue() -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for i in 0..10u32 {
        let n = format!("m{i}.trunc.test.");
        v.push((n.clone(), "A".to_string(), format!("192.0.2.{}", 200 + i)));
        v.push((n, "AAAA".to_string(), format!("2001:db8::{:x}", 200 + i)));
    }
    v.sort();
    v
}
