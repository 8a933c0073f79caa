//! Fuzzes TSIG verification on both sides: any bytes as a signed request
//! to `verify_request` (a keyring of one key) and, when a failure or a
//! valid signature comes out, the error reply or signed reply built from
//! it; the same bytes as reply messages to `RequestSigner::verify`, after
//! a genuine signed reply and before it; the bytes signed as a request and
//! verified again; and as text to the key spec and key file readers.
//! Nothing may panic.
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run tsig`.

#![no_main]

use std::sync::Arc;

use dnsd::wire::tsig::{
    Algorithm, Key, Keyring, RequestSigner, ResponseSigner, Verified, verify_request,
};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_700_000_000;

/// `example. SOA IN`, ID 0x1234.
const QUERY: &[u8] =
    b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x00\x00\x06\x00\x01";

fuzz_target!(|data: &[u8]| {
    let key = Arc::new(Key::new(
        "fuzz.key.".parse().expect("a valid name"),
        Algorithm::HmacSha256,
        b"fuzzing secret".to_vec(),
    ));
    let mut keys = Keyring::default();
    keys.insert(Key::clone(&key));

    // Server side: the bytes as a request.
    match verify_request(data, &keys, NOW) {
        Verified::Valid(signature) => {
            let mut reply = data[..signature.unsigned_len].to_vec();
            ResponseSigner::new(&signature).sign(&mut reply, NOW);
        }
        Verified::Failed(failure) => {
            let mut reply = data[..failure.unsigned_len].to_vec();
            failure.append_to(&mut reply, NOW);
            let _ = verify_request(&reply, &keys, NOW);
        }
        Verified::Unsigned | Verified::Malformed => {}
    }

    // The bytes signed as a request, then verified.
    let mut signed = data.to_vec();
    RequestSigner::sign(key.clone(), &mut signed, NOW);
    let _ = verify_request(&signed, &keys, NOW);

    // Client side: the bytes as the first reply, then as a later message
    // of a transfer whose first message was genuine.
    let mut request = QUERY.to_vec();
    let mut client = RequestSigner::sign(key.clone(), &mut request, NOW);
    let _ = client.verify(data, NOW);
    let _ = client.finish();

    let mut request = QUERY.to_vec();
    let mut client = RequestSigner::sign(key.clone(), &mut request, NOW);
    if let Verified::Valid(signature) = verify_request(&request, &keys, NOW) {
        let mut server = ResponseSigner::new(&signature);
        let mut first = QUERY.to_vec();
        first[2] = 0x84;
        server.sign(&mut first, NOW);
        assert!(
            client.verify(&first, NOW).is_ok(),
            "a genuine reply must verify"
        );
        let _ = client.verify(data, NOW);
        let mut last = data.to_vec();
        server.sign(&mut last, NOW);
        let _ = client.verify(&last, NOW);
        let _ = client.finish();
    }

    // Key text.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Key::parse_spec(text);
        let _ = Key::parse_key_file(text);
    }
});
