//! Keys against the RFC 6605 and RFC 8080 examples, DNSKEY/DS/CDS text,
//! roles and the BIND key file formats; helpers other tests reuse.

use super::*;
use data_encoding::HEXLOWER;

pub(crate) fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

const RFC6605_PRIVATE: &str = "Private-key-format: v1.2\n\
    Algorithm: 13 (ECDSAP256SHA256)\n\
    PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
const RFC6605_KEY: &str = "example.net. 3600 IN DNSKEY 257 3 13 (\n\
    GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n\
    krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n";
const RFC8080_PRIVATE: &str = "Private-key-format: v1.2\n\
    Algorithm: 15 (ED25519)\n\
    PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n";

pub(crate) fn rfc6605_key() -> SigningKey {
    SigningKey::from_bind(&name("example.net."), RFC6605_KEY, RFC6605_PRIVATE)
        .unwrap()
        .0
}

pub(crate) fn rfc8080_key() -> SigningKey {
    let private = BASE64
        .decode(b"ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=")
        .unwrap();
    SigningKey::from_private_bytes(
        &name("example.com."),
        Algorithm::Ed25519,
        FLAGS_KSK,
        &private,
        None,
    )
    .unwrap()
}

#[test]
fn rfc6605_dnskey_tag_and_ds() {
    let key = rfc6605_key();
    assert_eq!(key.tag(), 55648);
    assert_eq!(
        key.dnskey_text(),
        "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
    );
    assert_eq!(
        key.ds_text(DigestType::Sha256),
        "55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"
    );
    // Spec §1: digest type 4 of the same key, computed.
    assert_eq!(
        key.ds_text(DigestType::Sha384),
        "55648 13 4 3be4b980b34443e569255f4a347d4c8e8e18de755fb8072d7b355c44c56b50a61e8050ae636041b9664a04f05aef2680"
    );
    // The DS and CDS RDATA parse back with the zone-file codec.
    let ds = key.ds_rdata(DigestType::Sha256);
    assert_eq!(
        crate::wire::rdata::to_text(RType::CDS, &ds).unwrap(),
        key.ds_text(DigestType::Sha256)
    );
}

#[test]
fn rfc8080_public_key_tag_and_ds() {
    let key = rfc8080_key();
    assert_eq!(
        key.dnskey_text(),
        "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="
    );
    assert_eq!(key.tag(), 3613);
    assert_eq!(
        key.ds_text(DigestType::Sha256),
        "3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b"
    );
}

#[test]
fn ds_owner_is_lowercased() {
    let key = rfc6605_key();
    let upper = ds_rdata(
        &name("EXAMPLE.Net."),
        key.dnskey_rdata(),
        DigestType::Sha256,
    );
    assert_eq!(upper, key.ds_rdata(DigestType::Sha256));
}

#[test]
fn generated_keys_have_right_shapes() {
    let zone = name("Example.TEST.");
    for (alg, flags) in [
        (Algorithm::EcdsaP256Sha256, FLAGS_KSK),
        (Algorithm::Ed25519, FLAGS_ZSK),
    ] {
        let key = SigningKey::generate(&zone, alg, flags).unwrap();
        assert_eq!(key.zone().as_wire(), name("example.test.").as_wire());
        assert_eq!(key.public_key().len(), alg.public_key_len());
        assert_eq!(
            &key.dnskey_rdata()[..4],
            &[(flags >> 8) as u8, flags as u8, 3, alg.number()]
        );
        assert_eq!(key.tag(), key_tag(key.dnskey_rdata()));
        assert_eq!(key.is_sep(), flags == FLAGS_KSK);
        assert_eq!(key.sign(b"hello").unwrap().as_ref().len(), 64);
        let again = SigningKey::generate(&zone, alg, flags).unwrap();
        assert_ne!(key.public_key(), again.public_key());
        assert_ne!(key.id(), again.id());
    }
    assert!(SigningKey::generate(&zone, Algorithm::Ed25519, 1).is_err());
}

#[test]
fn debug_redacts_private_key() {
    let key = rfc6605_key();
    let debug = format!("{key:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains("GU6SnQ"), "{debug}");
    let secret_hex = HEXLOWER.encode(
        &BASE64
            .decode(b"GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=")
            .unwrap(),
    );
    assert!(!debug.to_ascii_lowercase().contains(&secret_hex[..8]));
    assert!(!debug.contains("25, 78"), "no byte list: {debug}");
}

#[test]
fn bind_export_import_round_trip() {
    let zone = name("example.test.");
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = SigningKey::generate(&zone, alg, FLAGS_KSK).unwrap();
        let timing = KeyTiming {
            created: Some(1_700_000_000),
            publish: Some(1_700_000_000),
            activate: Some(1_700_003_600),
            inactive: None,
            delete: Some(1_800_000_000),
        };
        let private = key.to_bind_private(&timing);
        assert!(private.starts_with("Private-key-format: v1.3\n"));
        assert!(private.contains(&format!(
            "Algorithm: {} ({})\n",
            alg.number(),
            alg.mnemonic()
        )));
        let (back, back_timing) =
            SigningKey::from_bind(&zone, &key.to_bind_key(), &private).unwrap();
        assert_eq!(back.dnskey_rdata(), key.dnskey_rdata());
        assert_eq!(back.to_bind_private(&timing), private);
        assert_eq!(back_timing, timing);
    }
}

#[test]
fn pdns_privatekey_is_v1_2_and_imports_back() {
    let zone = name("example.test.");
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = SigningKey::generate(&zone, alg, FLAGS_KSK).unwrap();
        let text = key.to_pdns_private();
        assert!(text.starts_with("Private-key-format: v1.2\n"), "{alg:?}");
        assert!(!text.contains("Created") && !text.contains("Activate"));
        let (back, timing) = SigningKey::from_bind(&zone, &key.to_bind_key(), &text).unwrap();
        assert_eq!(back.dnskey_rdata(), key.dnskey_rdata());
        assert_eq!(timing, KeyTiming::default(), "no timing travels");
    }
}

#[test]
fn bind_import_of_published_examples() {
    let (key, timing) =
        SigningKey::from_bind(&name("example.net."), RFC6605_KEY, RFC6605_PRIVATE).unwrap();
    assert_eq!(key.tag(), 55648);
    assert_eq!(timing, KeyTiming::default());
    assert_eq!(
        timing.state_at(0),
        KeyState {
            published: true,
            active: true
        }
    );
    let key_file = "example.com. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
    let (ed, _) = SigningKey::from_bind(&name("example.com."), key_file, RFC8080_PRIVATE).unwrap();
    assert_eq!(ed.dnskey_rdata(), rfc8080_key().dnskey_rdata());
}

#[test]
fn bind_import_rejects_bad_pairs() {
    let zone = name("example.net.");
    let cases: Vec<(String, String, &str)> = vec![
        (
            RFC6605_KEY.into(),
            RFC6605_PRIVATE.replace("GU6S", "HU6S"),
            "mismatch",
        ),
        (
            RFC6605_KEY.into(),
            RFC6605_PRIVATE.replace("v1.2", "v2.0"),
            "format",
        ),
        (
            RFC6605_KEY.into(),
            RFC6605_PRIVATE.replace("13 (", "8 ("),
            "algorithm",
        ),
        (
            RFC6605_KEY.into(),
            RFC6605_PRIVATE.replace("PrivateKey: GU6S", "PrivateKey: !!"),
            "base64",
        ),
        (
            RFC6605_KEY.into(),
            "Algorithm: 13\nPrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n".into(),
            "no format",
        ),
        (RFC6605_KEY.into(), RFC8080_PRIVATE.into(), "alg differs"),
        (
            RFC6605_KEY.replace("example.net.", "other.net."),
            RFC6605_PRIVATE.into(),
            "owner",
        ),
        (
            RFC6605_KEY.replace("257 3 13", "257 2 13"),
            RFC6605_PRIVATE.into(),
            "protocol",
        ),
        (
            RFC6605_KEY.replace("257 3 13", "1 3 13"),
            RFC6605_PRIVATE.into(),
            "flags",
        ),
        ("; nothing\n".into(), RFC6605_PRIVATE.into(), "no record"),
        (
            RFC6605_KEY.into(),
            format!("{RFC6605_PRIVATE}Activate: 2024\n"),
            "time",
        ),
    ];
    for (key_text, private_text, what) in cases {
        let err = SigningKey::from_bind(&zone, &key_text, &private_text);
        assert!(err.is_err(), "{what} accepted");
    }
}

#[test]
fn timing_states() {
    let t = KeyTiming {
        created: Some(10),
        publish: Some(100),
        activate: Some(200),
        inactive: Some(300),
        delete: Some(400),
    };
    let s = |now| {
        let st = t.state_at(now);
        (st.published, st.active)
    };
    assert_eq!(s(50), (false, false));
    assert_eq!(s(150), (true, false));
    assert_eq!(s(250), (true, true));
    assert_eq!(s(350), (true, false));
    assert_eq!(s(450), (false, false));
    let off = KeyTiming::new_at(0).with_state(
        KeyState {
            published: true,
            active: false,
        },
        50,
    );
    assert_eq!(
        off.state_at(60),
        KeyState {
            published: true,
            active: false
        }
    );
    let on = off.with_state(
        KeyState {
            published: true,
            active: true,
        },
        70,
    );
    assert_eq!(
        on.state_at(80),
        KeyState {
            published: true,
            active: true
        }
    );
    assert_eq!(on.inactive, None);
}

#[test]
fn role_derivation_follows_powerdns() {
    use Algorithm::*;
    // A lone 257 key is a CSK; so is a lone 256 key.
    assert_eq!(
        derive_roles(&[(EcdsaP256Sha256, 257, true)]),
        [KeyRole::Csk]
    );
    assert_eq!(
        derive_roles(&[(EcdsaP256Sha256, 256, true)]),
        [KeyRole::Csk]
    );
    // Active 257 + active 256 of one algorithm: a split.
    assert_eq!(
        derive_roles(&[(EcdsaP256Sha256, 257, true), (EcdsaP256Sha256, 256, true)]),
        [KeyRole::Ksk, KeyRole::Zsk]
    );
    // An inactive ZSK (pre-published) does not split the CSK.
    assert_eq!(
        derive_roles(&[(EcdsaP256Sha256, 257, true), (EcdsaP256Sha256, 256, false)]),
        [KeyRole::Csk, KeyRole::Csk]
    );
    // Per algorithm: a 257 of one algorithm and a 256 of another are two CSKs.
    assert_eq!(
        derive_roles(&[(EcdsaP256Sha256, 257, true), (Ed25519, 256, true)]),
        [KeyRole::Csk, KeyRole::Csk]
    );
    assert!(KeyRole::Ksk.signs(RType::CDS) && !KeyRole::Ksk.signs(RType::A));
    assert!(KeyRole::Zsk.signs(RType::SOA) && !KeyRole::Zsk.signs(RType::DNSKEY));
    assert!(KeyRole::Csk.signs(RType::DNSKEY) && KeyRole::Csk.signs(RType::NSEC));
}

#[test]
fn delete_signal_rdata_prints_as_rfc8078() {
    use crate::wire::rdata::to_text;
    assert_eq!(to_text(RType::CDS, &CDS_DELETE).unwrap(), "0 0 0 00");
    assert_eq!(
        to_text(RType::CDNSKEY, &CDNSKEY_DELETE).unwrap(),
        "0 3 0 AA=="
    );
}
