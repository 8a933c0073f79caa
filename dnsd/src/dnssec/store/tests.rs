use std::os::unix::fs::PermissionsExt as _;

use super::*;
use crate::dnssec::keys::{FLAGS_KSK, FLAGS_ZSK};

const NOW: u64 = 1_700_000_000;

/// A fresh folder under the system temp dir, removed on drop.
use crate::test_dir::TempDir;

fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The zone's keys under the default policy, generated if missing.
fn default_keys(store: &KeyStore, zone: &Name, now: u64) -> ZoneKeys {
    store
        .ensure_keys_at(zone, &KeyPolicy::default(), now)
        .unwrap()
}

/// Marks the P-256 key `tag` published and active or not, at `now`.
fn set_active(store: &KeyStore, zone: &Name, tag: u16, active: bool, now: u64) {
    let state = KeyState {
        published: true,
        active,
    };
    store
        .set_state(zone, Algorithm::EcdsaP256Sha256, tag, state, now)
        .unwrap();
}

/// The tags of the keys that sign `rtype`.
fn signer_tags(keys: &ZoneKeys, rtype: RType) -> Vec<u16> {
    keys.signers(rtype).map(SigningKey::tag).collect()
}

#[test]
fn ensure_keys_generates_once_with_private_modes() {
    let tmp = TempDir::new("gen");
    let store = KeyStore::new(&tmp.0);
    let zone = name("Example.TEST.");
    let keys = default_keys(&store, &zone, NOW);
    assert_eq!(keys.keys().len(), 1);
    let csk = &keys.keys()[0];
    assert_eq!(csk.role, KeyRole::Csk);
    assert_eq!(csk.key.flags(), FLAGS_KSK);
    assert_eq!(csk.key.algorithm(), Algorithm::EcdsaP256Sha256);
    assert_eq!(
        csk.state,
        KeyState {
            published: true,
            active: true
        }
    );

    let dir = store.zone_dir(&zone);
    assert_eq!(dir, tmp.0.join("keys").join("example.test"));
    let stem = format!("Kexample.test.+013+{:05}", csk.key.tag());
    assert_eq!(
        files(&dir),
        [format!("{stem}.key"), format!("{stem}.private")]
    );
    assert_eq!(mode(&tmp.0.join("keys")), 0o700);
    assert_eq!(mode(&dir), 0o700);
    for f in files(&dir) {
        assert_eq!(mode(&dir.join(&f)), 0o600, "{f}");
    }
    let private = fs::read_to_string(dir.join(format!("{stem}.private"))).unwrap();
    assert!(private.starts_with("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"));
    assert!(private.contains("Activate: 20231114221320\n"), "{private}");

    // Loading again gives the same key and writes nothing.
    let again = default_keys(&store, &zone, NOW + 10);
    assert_eq!(again.keys()[0].key.dnskey_rdata(), csk.key.dnskey_rdata());
    assert_eq!(files(&dir).len(), 2);
}

#[test]
fn split_policy_makes_ksk_and_zsk() {
    let tmp = TempDir::new("split");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.test.");
    let policy = KeyPolicy {
        algorithm: Algorithm::Ed25519,
        split: true,
    };
    let keys = store.ensure_keys_at(&zone, &policy, NOW).unwrap();
    let ksk = keys
        .keys()
        .iter()
        .find(|k| k.key.flags() == FLAGS_KSK)
        .unwrap();
    let zsk = keys
        .keys()
        .iter()
        .find(|k| k.key.flags() == FLAGS_ZSK)
        .unwrap();
    assert_eq!((ksk.role, zsk.role), (KeyRole::Ksk, KeyRole::Zsk));
    assert_eq!(signer_tags(&keys, RType::DNSKEY), [ksk.key.tag()]);
    assert_eq!(signer_tags(&keys, RType::CDS), [ksk.key.tag()]);
    assert_eq!(signer_tags(&keys, RType::A), [zsk.key.tag()]);
    assert_eq!(signer_tags(&keys, RType::NSEC), [zsk.key.tag()]);
    assert_eq!(keys.dnskey_rdatas().count(), 2);
    assert_eq!(
        keys.cdnskey_rdatas().collect::<Vec<_>>(),
        [ksk.key.dnskey_rdata()]
    );
    assert_eq!(
        keys.cds_rdatas(&[DigestType::Sha256, DigestType::Sha384])
            .len(),
        2
    );
    let ds = keys.ds_lines(DigestType::Sha256);
    assert_eq!(ds.len(), 1);
    assert!(
        ds[0].starts_with(&format!("example.test. IN DS {} 15 2 ", ksk.key.tag())),
        "{}",
        ds[0]
    );
    assert_eq!(store.load(&zone).unwrap().len(), 2);
}

#[test]
fn corrupt_or_unreadable_keys_fail_and_are_never_replaced() {
    let tmp = TempDir::new("corrupt");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.test.");
    let keys = default_keys(&store, &zone, NOW);
    let dir = store.zone_dir(&zone);
    let stem = format!("Kexample.test.+013+{:05}", keys.keys()[0].key.tag());
    let key_path = dir.join(format!("{stem}.key"));
    let private_path = dir.join(format!("{stem}.private"));
    let good_private = fs::read_to_string(&private_path).unwrap();
    let good_key = fs::read_to_string(&key_path).unwrap();
    let expect_error = |what: &str, want_path: &Path| {
        let before = files(&dir);
        let err = store
            .ensure_keys_at(&zone, &KeyPolicy::default(), NOW)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&want_path.display().to_string()),
            "{what}: {text}"
        );
        assert_eq!(files(&dir), before, "{what}: files changed");
        err
    };

    // Garbage in the private key.
    fs::write(
        &private_path,
        "Private-key-format: v1.3\nAlgorithm: 13\nPrivateKey: %%%\n",
    )
    .unwrap();
    let err = expect_error("garbage", &private_path);
    assert!(matches!(err, KeyStoreError::Corrupt { .. }), "{err}");
    // A valid private key that is not this key's.
    let other = SigningKey::generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_KSK).unwrap();
    fs::write(&private_path, other.to_bind_private(&KeyTiming::default())).unwrap();
    let err = expect_error("mismatch", &private_path);
    assert!(err.to_string().contains("does not match"), "{err}");
    // Truncated to nothing.
    fs::write(&private_path, "").unwrap();
    expect_error("empty", &private_path);
    fs::write(&private_path, &good_private).unwrap();

    // The .key of another zone.
    fs::write(&key_path, good_key.replace("example.test.", "other.test.")).unwrap();
    expect_error("owner", &key_path);
    fs::write(&key_path, &good_key).unwrap();

    // Unreadable: a folder where the file should be (root can read any mode).
    fs::remove_file(&private_path).unwrap();
    fs::create_dir(&private_path).unwrap();
    let err = expect_error("unreadable", &private_path);
    assert!(matches!(err, KeyStoreError::Read { .. }), "{err}");
    fs::remove_dir(&private_path).unwrap();

    // Half a pair.
    let err = expect_error("unpaired", &key_path);
    assert!(
        matches!(
            err,
            KeyStoreError::Unpaired {
                missing: ".private",
                ..
            }
        ),
        "{err}"
    );
    fs::write(&private_path, &good_private).unwrap();

    // A file whose name does not match the key inside.
    let renamed = dir.join("Kexample.test.+013+00001.key");
    fs::rename(&key_path, &renamed).unwrap();
    fs::rename(&private_path, dir.join("Kexample.test.+013+00001.private")).unwrap();
    let err = expect_error("renamed", &renamed);
    assert!(matches!(err, KeyStoreError::Corrupt { .. }), "{err}");
}

#[test]
fn temporary_and_foreign_files_are_ignored() {
    let tmp = TempDir::new("stray");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.test.");
    let dir = store.zone_dir(&zone);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        dir.join(".Kexample.test.+013+00001.private.1.2.tmp"),
        "half",
    )
    .unwrap();
    fs::write(dir.join("README"), "notes").unwrap();
    // No key file at all: keys are generated, and the folder tightened.
    let keys = default_keys(&store, &zone, NOW);
    assert_eq!(keys.keys().len(), 1);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(store.load(&zone).unwrap().len(), 1);
    assert_eq!(files(&dir).len(), 4);
}

#[test]
fn writes_are_atomic_and_never_clobber() {
    let tmp = TempDir::new("atomic");
    write_atomic(&tmp.0, "f", b"one", false).unwrap();
    assert_eq!(fs::read(tmp.0.join("f")).unwrap(), b"one");
    assert_eq!(mode(&tmp.0.join("f")), 0o600);
    let err = write_atomic(&tmp.0, "f", b"two", false).unwrap_err();
    assert!(matches!(err, KeyStoreError::Exists { .. }), "{err}");
    assert_eq!(fs::read(tmp.0.join("f")).unwrap(), b"one");
    write_atomic(&tmp.0, "f", b"three", true).unwrap();
    assert_eq!(fs::read(tmp.0.join("f")).unwrap(), b"three");
    assert_eq!(files(&tmp.0), ["f"], "no temporary file left behind");
    // A read-only target folder is a write error naming the path.
    let missing = tmp.0.join("no-such-folder");
    let err = write_atomic(&missing, "f", b"x", true).unwrap_err();
    assert!(err.to_string().contains("no-such-folder"), "{err}");
}

#[test]
fn bind_import_export_round_trip() {
    let tmp = TempDir::new("import");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.net.");
    let key_text = "example.net. 3600 IN DNSKEY 257 3 13 (\n GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n";
    let private_text = "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
    let stored = store.import_bind(&zone, key_text, private_text).unwrap();
    assert_eq!(stored.stem, "Kexample.net.+013+55648");
    let dir = store.zone_dir(&zone);
    assert_eq!(
        files(&dir),
        [
            "Kexample.net.+013+55648.key",
            "Kexample.net.+013+55648.private"
        ]
    );
    // Importing the same key again is refused, not overwritten.
    assert!(matches!(
        store.import_bind(&zone, key_text, private_text),
        Err(KeyStoreError::Exists { .. })
    ));
    // Export (as PowerDNS's privatekey field) and import into another store.
    let keys = default_keys(&store, &zone, NOW);
    assert_eq!(
        keys.keys().len(),
        1,
        "the imported key counts: nothing generated"
    );
    let loaded = store.load(&zone).unwrap().remove(0);
    let exported_private = loaded.key.to_bind_private(&loaded.timing);
    assert!(
        exported_private.contains("PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n")
    );
    let tmp2 = TempDir::new("import2");
    let store2 = KeyStore::new(&tmp2.0);
    let again = store2
        .import_bind(&zone, &loaded.key.to_bind_key(), &exported_private)
        .unwrap();
    assert_eq!(again.key.dnskey_rdata(), loaded.key.dnskey_rdata());
    assert_eq!(again.timing, loaded.timing);
    // A bad pair is rejected before anything is written.
    let tmp3 = TempDir::new("import3");
    let store3 = KeyStore::new(&tmp3.0);
    assert!(
        store3
            .import_bind(&zone, key_text, &private_text.replace("GU6S", "HU6S"))
            .is_err()
    );
    assert!(!store3.zone_dir(&zone).exists());
}

#[test]
fn key_states_change_what_signs() {
    let tmp = TempDir::new("state");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.test.");
    let keys = default_keys(&store, &zone, NOW);
    let csk = Arc::clone(&keys.keys()[0].key);
    // Pre-publish a ZSK, inactive: the CSK still signs everything.
    let zsk = store
        .generate(&zone, Algorithm::EcdsaP256Sha256, FLAGS_ZSK, NOW)
        .unwrap();
    set_active(&store, &zone, zsk.key.tag(), false, NOW + 1);
    let keys = default_keys(&store, &zone, NOW + 2);
    assert_eq!(keys.dnskey_rdatas().count(), 2);
    assert_eq!(signer_tags(&keys, RType::A), [csk.tag()]);
    // Activate it: now a KSK/ZSK split.
    set_active(&store, &zone, zsk.key.tag(), true, NOW + 3);
    let keys = default_keys(&store, &zone, NOW + 4);
    assert_eq!(signer_tags(&keys, RType::A), [zsk.key.tag()]);
    assert_eq!(signer_tags(&keys, RType::DNSKEY), [csk.tag()]);
    // Deactivate the KSK: by PowerDNS's rule the lone active 256 key is
    // then a CSK and signs the DNSKEY RRset too.
    set_active(&store, &zone, csk.tag(), false, NOW + 5);
    let keys = default_keys(&store, &zone, NOW + 6);
    assert_eq!(signer_tags(&keys, RType::DNSKEY), [zsk.key.tag()]);
    assert_eq!(keys.sep_keys().count(), 0, "no active SEP key: no DS/CDS");
    // Remove a key; unknown tags are NotFound.
    store
        .remove(&zone, Algorithm::EcdsaP256Sha256, csk.tag())
        .unwrap();
    assert_eq!(store.load(&zone).unwrap().len(), 1);
    assert!(matches!(
        store.remove(&zone, Algorithm::EcdsaP256Sha256, csk.tag()),
        Err(KeyStoreError::NotFound { .. })
    ));
}

#[test]
fn no_active_key_is_a_load_error() {
    let tmp = TempDir::new("inactive");
    let store = KeyStore::new(&tmp.0);
    let zone = name("example.test.");
    let keys = default_keys(&store, &zone, NOW);
    let tag = keys.keys()[0].key.tag();
    set_active(&store, &zone, tag, false, NOW + 1);
    let err = store
        .ensure_keys_at(&zone, &KeyPolicy::default(), NOW + 2)
        .unwrap_err();
    assert!(matches!(err, KeyStoreError::NoActiveKey { .. }), "{err}");
    assert!(err.to_string().contains("example.test."), "{err}");
    // And nothing was generated to replace it.
    assert_eq!(store.load(&zone).unwrap().len(), 1);
}

#[test]
fn zone_folders_are_path_safe() {
    let store = KeyStore::new("/data");
    assert_eq!(store.zone_dir(&Name::root()), Path::new("/data/keys/%root"));
    assert_eq!(
        store.zone_dir(&name("A-b_c.Example.")),
        Path::new("/data/keys/a-b_c.example")
    );
    let odd = Name::from_labels([&b"a/b"[..], b"..", b"%"]).unwrap();
    assert_eq!(
        store.zone_dir(&odd),
        Path::new("/data/keys/a%2Fb.%2E%2E.%25")
    );
    assert_eq!(zone_file_text(&Name::root()), ".");
}
