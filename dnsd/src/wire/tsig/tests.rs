//! TSIG tests: independent MAC vectors, round trips through our own
//! signer and verifier, kdig (Knot) as the other side, key text parsing and
//! secret redaction.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use data_encoding::BASE64;

use super::*;

const T0: u64 = 1_700_000_000;

fn name(text: &str) -> Name {
    text.parse().unwrap()
}

fn key(algorithm: Algorithm, secret: &[u8]) -> Arc<Key> {
    Arc::new(Key::new(name("test.key."), algorithm, secret.to_vec()))
}

fn keyring(keys: &[&Arc<Key>]) -> Keyring {
    let mut ring = Keyring::default();
    for key in keys {
        ring.insert(Key::clone(key));
    }
    ring
}

fn wire_name(text: &str) -> Vec<u8> {
    name(text).as_wire().to_vec()
}

/// `example. SOA IN` with ID 0x1234 and the given flags word.
fn message(flags: u16) -> Vec<u8> {
    let mut m = vec![0x12, 0x34];
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&wire_name("example."));
    m.extend_from_slice(&[0, 6, 0, 1]);
    m
}

/// A reply to the request's unsigned part: QR and AA set, the request's
/// TSIG RR dropped from ARCOUNT.
fn reply_to(request: &[u8], unsigned_len: usize) -> Vec<u8> {
    let mut reply = request[..unsigned_len].to_vec();
    reply[2] |= 0x84;
    let arcount = u16::from_be_bytes([reply[10], reply[11]]) - 1;
    reply[10..12].copy_from_slice(&arcount.to_be_bytes());
    reply
}

fn set_rcode(message: &mut [u8], rcode: u8) {
    message[3] = (message[3] & 0xF0) | rcode;
}

fn valid(verified: Verified) -> RequestSignature {
    match verified {
        Verified::Valid(signature) => signature,
        other => panic!("expected a valid signature, got {other:?}"),
    }
}

fn failed(verified: Verified) -> Failure {
    match verified {
        Verified::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn tsig_of(message: &[u8]) -> TsigRecord<'_> {
    find_tsig(message).unwrap().expect("a TSIG RR")
}

fn hex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
}

// ----------- independent vectors -----------

/// MACs computed with Python's `hmac` and `hashlib` over bytes laid out by
/// hand from RFC 8945 §4.3 (not with this module): the request of
/// [`message`] with flags 0, key `test.key.` with the 32-octet secret
/// `0123456789abcdef0123456789abcdef`, Time Signed 1700000000, Fudge 300;
/// then a reply (flags 0x8400, same question) signed at T0+1 over
/// request MAC + reply + variables, and a second reply message at T0+2
/// over prior MAC + message + timers only.
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const VECTORS: [(Algorithm, &str, &str, &str); 2] = [
    (
        Algorithm::HmacSha256,
        "7f9ba1690a8ed69050591eb5a281dae3253c33f749949c1d733a63e732c8f813",
        "53ec640487ea7a48f628b891ec4ef3a1eebea7a97ff4c49a2398f90f7d809e0a",
        "96c7e0a32607523f37e17d85d18c232ec41d15d4543dab7202f72f70dab91e91",
    ),
    (
        Algorithm::HmacSha1,
        "ac2caea301ec51c74995c60a3240922a4e1b2e04",
        "44abfe88d792a56f68e3a6f90bfc58db72507058",
        "82c7331690704f8b6dfde745f02a16b778941b26",
    ),
];

#[test]
fn macs_match_independent_vectors() {
    for (algorithm, request_mac, reply_mac, second_mac) in VECTORS {
        let key = key(algorithm, SECRET);
        let mut request = message(0);
        let unsigned = request.clone();
        let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
        let tsig = tsig_of(&request);
        assert_eq!(tsig.mac, hex(request_mac).as_slice(), "{algorithm}");
        assert_eq!(tsig.start, unsigned.len());
        assert_eq!(tsig.original_id, 0x1234);
        assert_eq!(tsig.time_signed, T0);
        assert_eq!(tsig.fudge, FUDGE);
        assert_eq!(&request[10..12], &[0, 1], "ARCOUNT counts the TSIG RR");
        assert_eq!(request.len() - unsigned.len(), key.tsig_rr_len());

        let signature = valid(verify_request(&request, &keyring(&[&key]), T0));
        let mut server = ResponseSigner::new(&signature);
        let mut first = message(0x8400);
        server.sign(&mut first, T0 + 1);
        assert_eq!(
            tsig_of(&first).mac,
            hex(reply_mac).as_slice(),
            "{algorithm}"
        );
        let mut second = message(0x8400);
        server.sign(&mut second, T0 + 2);
        assert_eq!(
            tsig_of(&second).mac,
            hex(second_mac).as_slice(),
            "{algorithm}"
        );

        assert_eq!(client.verify(&first, T0 + 1).unwrap(), message(0).len());
        assert_eq!(client.verify(&second, T0 + 2).unwrap(), message(0).len());
        client.finish().unwrap();
    }
}

#[test]
fn algorithm_names() {
    for algorithm in Algorithm::ALL {
        assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
        let upper = format!("{}.", algorithm.name().to_uppercase());
        assert_eq!(Algorithm::from_name(&upper), Some(algorithm));
        assert_eq!(
            Algorithm::from_wire_name(&wire_name(&upper)),
            Some(algorithm)
        );
        assert_eq!(wire_name(algorithm.name()), algorithm.wire_name());
        assert_eq!(
            hmac::Key::new(algorithm.ring(), b"k")
                .algorithm()
                .digest_algorithm()
                .output_len(),
            algorithm.output_len()
        );
    }
    assert_eq!(Algorithm::from_name("hmac-md5"), None);
    assert_eq!(Algorithm::from_name("hmac-md5.sig-alg.reg.int."), None);
    assert_eq!(Algorithm::from_name(""), None);
    assert_eq!(Algorithm::HmacSha1.min_mac_len(), 10);
    assert_eq!(Algorithm::HmacSha256.min_mac_len(), 16);
    assert_eq!(Algorithm::HmacSha512.min_mac_len(), 32);
}

// ----------- our own client against our own server -----------

#[test]
fn round_trip_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm, b"a shared secret of some length");
        let mut request = message(0);
        let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
        let signature = valid(verify_request(&request, &keyring(&[&key]), T0 + 10));
        assert_eq!(signature.unsigned_len, message(0).len());
        assert_eq!(signature.mac.len(), algorithm.output_len());
        let mut reply = reply_to(&request, signature.unsigned_len);
        let mut server = ResponseSigner::new(&signature);
        server.sign(&mut reply, T0 + 10);
        assert_eq!(client.verify(&reply, T0).unwrap(), message(0).len());
        client.finish().unwrap();
    }
}

#[test]
fn key_name_case_and_compression_do_not_matter() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let mut request = message(0);
    RequestSigner::sign(key.clone(), &mut request, T0);
    // Upper-case the key name on the wire: the MAC covers its canonical form.
    let start = tsig_of(&request).start;
    request[start + 1..start + 5].copy_from_slice(b"TEST");
    valid(verify_request(&request, &keyring(&[&key]), T0));

    // A key named like the question, its owner compressed to a pointer.
    let key = Arc::new(Key::new(
        name("example."),
        Algorithm::HmacSha256,
        SECRET.to_vec(),
    ));
    let mut request = message(0);
    RequestSigner::sign(key.clone(), &mut request, T0);
    let start = tsig_of(&request).start;
    let owner_len = wire_name("example.").len();
    request.splice(start..start + owner_len, [0xC0, 12]);
    assert_eq!(tsig_of(&request).key_name, name("example."));
    valid(verify_request(&request, &keyring(&[&key]), T0));
}

#[test]
fn failures_and_their_error_replies() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let ring = keyring(&[&key]);
    let mut request = message(0);
    let now = T0;

    // BADTIME: both sides of the window; the reply is signed and verifies.
    for skew in [-(i64::from(FUDGE) + 1), i64::from(FUDGE) + 1] {
        let mut request = message(0);
        let mut client = RequestSigner::sign(key.clone(), &mut request, now);
        let server_now = now.checked_add_signed(skew).unwrap();
        let failure = failed(verify_request(&request, &ring, server_now));
        assert_eq!(failure.error, BADTIME);
        let mut reply = reply_to(&request, failure.unsigned_len);
        set_rcode(&mut reply, 9);
        failure.append_to(&mut reply, server_now);
        let tsig = tsig_of(&reply);
        assert_eq!(tsig.error, BADTIME.0);
        assert_eq!(tsig.time_signed, now, "the client's time is echoed");
        assert_eq!(
            tsig.other,
            encode_time(server_now),
            "our time in Other Data"
        );
        assert_eq!(tsig.mac.len(), 32);
        // Error(18), not BadMac: the MAC was checked first and held.
        assert!(matches!(
            client.verify(&reply, now),
            Err(ReplyError::Error(18))
        ));
        // A forged BADTIME (any bit changed) is a bad MAC.
        let mut forged = reply.clone();
        forged[3] ^= 0x01;
        let mut client = RequestSigner::sign(key.clone(), &mut message(0), now);
        assert!(matches!(
            client.verify(&forged, now),
            Err(ReplyError::BadMac)
        ));
    }
    // Exactly at the edge of the window is still valid.
    RequestSigner::sign(key.clone(), &mut request, now);
    valid(verify_request(&request, &ring, now + u64::from(FUDGE)));
    valid(verify_request(&request, &ring, now - u64::from(FUDGE)));

    // BADSIG: another secret under the same name; the reply is unsigned.
    let impostor = Arc::new(Key::new(
        name("test.key."),
        Algorithm::HmacSha256,
        b"other".to_vec(),
    ));
    let failure = failed(verify_request(&request, &keyring(&[&impostor]), now));
    assert_eq!(failure.error, BADSIG);
    let mut client = RequestSigner::sign(key.clone(), &mut message(0), now);
    let mut reply = reply_to(&request, failure.unsigned_len);
    failure.append_to(&mut reply, now + 1000);
    let tsig = tsig_of(&reply);
    assert!(tsig.mac.is_empty());
    assert_eq!(tsig.time_signed, now);
    assert_eq!(tsig.key_name, name("test.key."));
    assert_eq!(
        Algorithm::from_wire_name(tsig.algorithm),
        Some(Algorithm::HmacSha256)
    );
    assert!(matches!(
        client.verify(&reply, now),
        Err(ReplyError::Error(16))
    ));

    // BADKEY: unknown name, or the right name with another algorithm.
    let other_name = Arc::new(Key::new(
        name("other.key."),
        Algorithm::HmacSha256,
        SECRET.to_vec(),
    ));
    let other_alg = Arc::new(Key::new(
        name("test.key."),
        Algorithm::HmacSha512,
        SECRET.to_vec(),
    ));
    for ring in [
        keyring(&[&other_name]),
        keyring(&[&other_alg]),
        Keyring::default(),
    ] {
        let failure = failed(verify_request(&request, &ring, now));
        assert_eq!(failure.error, BADKEY);
        let mut reply = reply_to(&request, failure.unsigned_len);
        failure.append_to(&mut reply, now);
        assert_eq!(tsig_of(&reply).error, BADKEY.0);
        assert!(tsig_of(&reply).mac.is_empty());
        assert_eq!(&reply[10..12], &[0, 1]);
    }

    // BADSIG wins over BADTIME (MAC before time, RFC 8945 §5.2).
    let failure = failed(verify_request(
        &request,
        &keyring(&[&impostor]),
        now + 10_000,
    ));
    assert_eq!(failure.error, BADSIG);
}

#[test]
fn any_changed_bit_is_badsig() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let ring = keyring(&[&key]);
    let mut request = message(0);
    RequestSigner::sign(key.clone(), &mut request, T0);
    let tsig_start = tsig_of(&request).start;
    // Every octet before the TSIG RR but the ID (replaced by Original ID)
    // and ARCOUNT (changing it makes the walk fail instead).
    for i in (2..tsig_start).filter(|&i| i != 10 && i != 11) {
        let mut changed = request.clone();
        changed[i] ^= 0x20;
        match verify_request(&changed, &ring, T0) {
            Verified::Failed(failure) => assert_eq!(failure.error, BADSIG, "octet {i}"),
            Verified::Malformed => {}
            other => panic!("octet {i}: {other:?}"),
        }
    }
    // Time, fudge, error and other data are covered too.
    let rdata =
        tsig_start + wire_name("test.key.").len() + 10 + Algorithm::HmacSha256.wire_name().len();
    for i in [rdata + 5, rdata + 7] {
        let mut changed = request.clone();
        changed[i] ^= 0x01;
        assert_eq!(failed(verify_request(&changed, &ring, T0)).error, BADSIG);
    }
    // A changed ID is fine: Original ID carries the signed one.
    let mut forwarded = request.clone();
    forwarded[0] = 0x77;
    valid(verify_request(&forwarded, &ring, T0));
}

/// Rewrites the TSIG RR's MAC to its first `len` octets (or pads it).
fn with_mac_len(message: &[u8], len: usize) -> Vec<u8> {
    let tsig = tsig_of(message);
    let mut mac = tsig.mac.to_vec();
    mac.resize(len, 0xAA);
    let mut out = message[..tsig.start].to_vec();
    let rr = TsigFields {
        key_name: tsig.key_name.as_wire(),
        algorithm: tsig.algorithm,
        time_signed: tsig.time_signed,
        fudge: tsig.fudge,
        mac: &mac,
        original_id: tsig.original_id,
        error: tsig.error,
        other: tsig.other,
    };
    rr.append_to(&mut out);
    // append_to counted the RR again.
    let arcount = u16::from_be_bytes([out[10], out[11]]) - 1;
    out[10..12].copy_from_slice(&arcount.to_be_bytes());
    out
}

#[test]
fn truncated_macs() {
    // sha256: 16 of 32 octets is allowed; 15 is a format error; 33 too.
    let key256 = key(Algorithm::HmacSha256, SECRET);
    let mut request = message(0);
    let mut client = RequestSigner::sign(key256.clone(), &mut request, T0);
    let ring = keyring(&[&key256]);
    let truncated = with_mac_len(&request, 16);
    let signature = valid(verify_request(&truncated, &ring, T0));
    assert_eq!(signature.mac.len(), 16);
    assert!(matches!(
        verify_request(&with_mac_len(&request, 15), &ring, T0),
        Verified::Malformed
    ));
    assert!(matches!(
        verify_request(&with_mac_len(&request, 0), &ring, T0),
        Verified::Malformed
    ));
    assert!(matches!(
        verify_request(&with_mac_len(&request, 33), &ring, T0),
        Verified::Malformed
    ));
    // A wrong truncated MAC is still BADSIG.
    let mut wrong = truncated.clone();
    let at = wrong.len() - 7;
    wrong[at] ^= 1;
    assert_eq!(failed(verify_request(&wrong, &ring, T0)).error, BADSIG);
    // The reply covers the truncated request MAC; our client signed the
    // full one, so it must not accept it.
    let mut reply = reply_to(&truncated, signature.unsigned_len);
    ResponseSigner::new(&signature).sign(&mut reply, T0);
    assert!(matches!(client.verify(&reply, T0), Err(ReplyError::BadMac)));

    // sha1: 10 octets is what the RFC allows but our policy does not:
    // BADTRUNC, signed; 16 octets passes.
    let key1 = key(Algorithm::HmacSha1, SECRET);
    let ring = keyring(&[&key1]);
    let mut request = message(0);
    RequestSigner::sign(key1.clone(), &mut request, T0);
    let failure = failed(verify_request(&with_mac_len(&request, 10), &ring, T0));
    assert_eq!(failure.error, BADTRUNC);
    let mut reply = reply_to(&request, failure.unsigned_len);
    failure.append_to(&mut reply, T0);
    assert_eq!(tsig_of(&reply).mac.len(), 20);
    assert_eq!(tsig_of(&reply).error, BADTRUNC.0);
    valid(verify_request(&with_mac_len(&request, 16), &ring, T0));
    assert!(matches!(
        verify_request(&with_mac_len(&request, 9), &ring, T0),
        Verified::Malformed
    ));
}

#[test]
fn malformed_and_misplaced_tsig() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let ring = keyring(&[&key]);
    let mut request = message(0);
    RequestSigner::sign(key.clone(), &mut request, T0);
    let start = tsig_of(&request).start;

    // Not last: an A record after it.
    let mut not_last = request.clone();
    not_last.extend_from_slice(&wire_name("example."));
    not_last.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    not_last[11] += 1;
    assert!(matches!(
        verify_request(&not_last, &ring, T0),
        Verified::Malformed
    ));

    // In the answer section (ANCOUNT 1, ARCOUNT 0).
    let mut in_answer = request.clone();
    in_answer[7] = 1;
    in_answer[11] = 0;
    assert!(matches!(
        verify_request(&in_answer, &ring, T0),
        Verified::Malformed
    ));

    // Trailing garbage, and every truncation of the message.
    let mut trailing = request.clone();
    trailing.push(0);
    assert!(matches!(
        verify_request(&trailing, &ring, T0),
        Verified::Malformed
    ));
    for len in 0..request.len() {
        let verified = verify_request(&request[..len], &ring, T0);
        assert!(
            matches!(verified, Verified::Malformed | Verified::Unsigned),
            "{len}: {verified:?}"
        );
        let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
        assert!(client.verify(&request[..len], T0).is_err());
    }

    // Class other than ANY.
    let mut class_in = request.clone();
    let class_at = start + wire_name("test.key.").len() + 2;
    class_in[class_at..class_at + 2].copy_from_slice(&[0, 1]);
    assert!(matches!(
        verify_request(&class_in, &ring, T0),
        Verified::Malformed
    ));

    // A compression loop in the owner name.
    let mut looping = request.clone();
    looping.splice(
        start..start + wire_name("test.key.").len(),
        [0xC0, start as u8],
    );
    assert!(matches!(
        verify_request(&looping, &ring, T0),
        Verified::Malformed
    ));

    // Unsigned stays unsigned.
    assert!(matches!(
        verify_request(&message(0), &ring, T0),
        Verified::Unsigned
    ));
    assert!(matches!(
        verify_request(&[], &ring, T0),
        Verified::Unsigned | Verified::Malformed
    ));
}

// ----------- multi-message replies -----------

/// Three reply messages of a transfer, distinct in size and content.
fn transfer_messages() -> Vec<Vec<u8>> {
    (0..3u8)
        .map(|i| {
            let mut m = message(0x8400);
            m[7] = 1; // ANCOUNT
            m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 14, 16, 0, 4, 192, 0, 2, i]);
            m
        })
        .collect()
}

/// Signs `messages` as a reply to a request from `client`; message `i` is
/// left unsigned when `unsigned(i)`.
fn signed_transfer(
    key: &Arc<Key>,
    request: &[u8],
    unsigned: impl Fn(usize) -> bool,
) -> Vec<Vec<u8>> {
    let signature = valid(verify_request(request, &keyring(&[key]), T0));
    let mut server = ResponseSigner::new(&signature);
    transfer_messages()
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            if unsigned(i) {
                server.leave_unsigned(&m);
            } else {
                server.sign(&mut m, T0 + i as u64);
            }
            m
        })
        .collect()
}

fn verify_all(client: &mut RequestSigner, messages: &[Vec<u8>]) -> Result<(), ReplyError> {
    for m in messages {
        client.verify(m, T0)?;
    }
    client.finish()
}

#[test]
fn multi_message_replies() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm, SECRET);
        for middle_unsigned in [false, true] {
            let mut request = message(0);
            let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
            let messages = signed_transfer(&key, &request, |i| middle_unsigned && i == 1);
            let lens: Vec<usize> = messages
                .iter()
                .map(|m| client.verify(m, T0).unwrap())
                .collect();
            assert_eq!(lens, vec![transfer_messages()[0].len(); 3]);
            client.finish().unwrap();

            // Tampering with any message, signed or not, fails.
            for victim in 0..3 {
                for octet in [3, 20, transfer_messages()[0].len() - 1] {
                    let mut tampered = messages.clone();
                    tampered[victim][octet] ^= 0x04;
                    let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
                    assert!(
                        verify_all(&mut client, &tampered).is_err(),
                        "{algorithm} middle unsigned {middle_unsigned}: message {victim} octet {octet}"
                    );
                }
            }
            // Dropping or reordering messages fails too.
            let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
            let reordered = [
                messages[0].clone(),
                messages[2].clone(),
                messages[1].clone(),
            ];
            assert!(verify_all(&mut client, &reordered).is_err());
        }
    }
}

#[test]
fn unsigned_first_last_and_long_runs() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let mut request = message(0);
    let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
    // First message unsigned.
    let messages = signed_transfer(&key, &request, |i| i == 0);
    assert!(matches!(
        client.verify(&messages[0], T0),
        Err(ReplyError::Unsigned)
    ));
    // Last message unsigned.
    let mut request = message(0);
    let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
    let messages = signed_transfer(&key, &request, |i| i == 2);
    for m in &messages {
        client.verify(m, T0).unwrap();
    }
    assert!(matches!(client.finish(), Err(ReplyError::LastUnsigned)));
    // Nothing received.
    let client = RequestSigner::sign(key.clone(), &mut message(0), T0);
    assert!(matches!(client.finish(), Err(ReplyError::Unsigned)));

    // 99 unsigned in a row are fine, the 100th is not.
    for run in [MAX_UNSIGNED_RUN, MAX_UNSIGNED_RUN + 1] {
        let mut request = message(0);
        let mut client = RequestSigner::sign(key.clone(), &mut request, T0);
        let signature = valid(verify_request(&request, &keyring(&[&key]), T0));
        let mut server = ResponseSigner::new(&signature);
        let mut first = message(0x8400);
        server.sign(&mut first, T0);
        client.verify(&first, T0).unwrap();
        let plain = message(0x8400);
        let mut result = Ok(0);
        for _ in 0..run {
            server.leave_unsigned(&plain);
            result = client.verify(&plain, T0);
            if result.is_err() {
                break;
            }
        }
        if run == MAX_UNSIGNED_RUN {
            result.unwrap();
            let mut last = message(0x8400);
            server.sign(&mut last, T0);
            client.verify(&last, T0).unwrap();
            client.finish().unwrap();
        } else {
            assert!(matches!(result, Err(ReplyError::TooManyUnsigned)));
        }
    }
}

#[test]
fn reply_time_and_key_checks() {
    let key = key(Algorithm::HmacSha256, SECRET);
    let mut request = message(0);
    let signature = {
        RequestSigner::sign(key.clone(), &mut request, T0);
        valid(verify_request(&request, &keyring(&[&key]), T0))
    };
    let mut reply = reply_to(&request, signature.unsigned_len);
    ResponseSigner::new(&signature).sign(&mut reply, T0);
    let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
    assert!(matches!(
        client.verify(&reply, T0 + 301),
        Err(ReplyError::BadTime)
    ));
    // A reply signed with another key of the same name.
    let other = Arc::new(Key::new(
        name("test.key."),
        Algorithm::HmacSha256,
        b"x".to_vec(),
    ));
    let mut client = RequestSigner::sign(other, &mut message(0), T0);
    assert!(matches!(client.verify(&reply, T0), Err(ReplyError::BadMac)));
    // An unsigned reply.
    let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
    assert!(matches!(
        client.verify(&message(0x8400), T0),
        Err(ReplyError::Unsigned)
    ));
}

// ----------- keys from text, and secrets kept out of sight -----------

#[test]
fn key_specs() {
    let key = Key::parse_spec("hmac-sha384:Transfer.Key:c2VjcmV0").unwrap();
    assert_eq!(key.algorithm, Algorithm::HmacSha384);
    assert_eq!(key.name.as_wire(), wire_name("transfer.key.").as_slice());
    assert_eq!(key.secret(), b"secret");
    let key = Key::parse_spec("k.:c2VjcmV0").unwrap();
    assert_eq!(key.algorithm, Algorithm::HmacSha256);
    assert_eq!(key.name, name("k."));
    // Unpadded base64 is accepted too.
    assert_eq!(
        Key::parse_spec("k:c2VjcmV0cw").unwrap().secret(),
        b"secrets"
    );

    for (spec, expected) in [
        ("c2VjcmV0", "expected [ALGORITHM:]NAME:BASE64SECRET"),
        ("a:b:c:d", "expected [ALGORITHM:]NAME:BASE64SECRET"),
        ("hmac-md5:k:c2VjcmV0", "unknown algorithm \"hmac-md5\""),
        ("hmac-sha256::c2VjcmV0", "empty key name"),
        ("hmac-sha256:a..b:c2VjcmV0", "bad key name"),
        ("hmac-sha256:k:", "empty secret"),
        ("hmac-sha256:k:not base64!", "not valid base64"),
    ] {
        let error = Key::parse_spec(spec).unwrap_err().to_string();
        assert!(error.contains(expected), "{spec}: {error}");
    }
}

#[test]
fn key_files() {
    let text = r#"
# a comment
key "Transfer.Key." {
    algorithm hmac-sha256;   // another
    secret "c2VjcmV0";
};
/* a block
   comment */ key notify.key { secret "c2Vj
  cmV0cw=="; algorithm "HMAC-SHA512"; };
key "sha1" { algorithm hmac-sha1; secret c2VjcmV0; };
"#;
    let keys = Key::parse_key_file(text).unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0].name, name("transfer.key."));
    assert_eq!(
        keys[0].name.as_wire(),
        wire_name("transfer.key.").as_slice()
    );
    assert_eq!(keys[0].algorithm, Algorithm::HmacSha256);
    assert_eq!(keys[0].secret(), b"secret");
    assert_eq!(keys[1].name, name("notify.key."));
    assert_eq!(keys[1].algorithm, Algorithm::HmacSha512);
    assert_eq!(keys[1].secret(), b"secrets");
    assert_eq!(keys[2].algorithm, Algorithm::HmacSha1);
    assert!(Key::parse_key_file("# nothing\n").unwrap().is_empty());

    for (text, expected) in [
        (
            "key k {\n algorithm hmac-sha256;\n};",
            "line 1: key \"k.\" has no secret",
        ),
        (
            "key k { secret \"c2VjcmV0\"; };",
            "line 1: key \"k.\" has no algorithm",
        ),
        (
            "\n\nkey k {\n algorithm hmac-md5;\n secret \"c2VjcmV0\";\n};",
            "line 4: key \"k.\": unknown algorithm \"hmac-md5\"",
        ),
        (
            "key k {\n algorithm hmac-sha256;\n secret \"@@@\";\n};",
            "line 3: key \"k.\": the secret is not valid base64",
        ),
        (
            "key k {\n algorithm hmac-sha256\n secret \"c2VjcmV0\";\n};",
            "line 3: expected ';'",
        ),
        (
            "key k { algorithm hmac-sha256; secret \"c2VjcmV0\"; }",
            "file ends where ';'",
        ),
        ("options { };", "line 1: expected a 'key' statement"),
        (
            "key k {\n\n foo bar;\n};",
            "line 3: key \"k.\": unknown statement",
        ),
        (
            "key k { algorithm hmac-sha256; secret \"c2VjcmV0\n",
            "line 1: quoted string is never closed",
        ),
        ("\n/* open", "line 2: comment '/*' is never closed"),
        ("key \"a..b\" {};", "line 1: bad key name"),
        (
            "key k { algorithm hmac-sha1; secret \"c2VjcmV0\"; };\nkey K { algorithm hmac-sha1; secret \"c2VjcmV0\"; };",
            "line 2: key \"k.\" is defined twice",
        ),
    ] {
        let error = Key::parse_key_file(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn secrets_never_shown() {
    let raw: Vec<u8> = b"Top-Secret-Value-0123456789abcdef".to_vec();
    let b64 = BASE64.encode(&raw);
    let hexed = data_encoding::HEXLOWER.encode(&raw);
    let forms = [
        b64.clone(),
        hexed.to_string(),
        format!("{raw:?}"),
        String::from_utf8(raw.clone()).unwrap(),
    ];
    let assert_clean = |text: &str| {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "secret leaked in {text:?}");
        }
        // Also no long run of the raw bytes.
        assert!(!text.contains("Top-Secret"), "secret leaked in {text:?}");
    };

    let key = Key::parse_spec(&format!("hmac-sha256:k:{b64}")).unwrap();
    let shown = format!("{key:?} {key} {:?}", Keyring::default());
    assert!(shown.contains("<redacted>"));
    assert_clean(&shown);
    let mut ring = Keyring::default();
    ring.insert(key.clone());
    assert_clean(&format!("{ring:?}"));
    let mut request = message(0);
    RequestSigner::sign(Arc::new(key.clone()), &mut request, T0);
    assert_clean(&format!("{:?}", verify_request(&request, &ring, T0)));
    assert_clean(&format!("{:?}", verify_request(&request, &ring, T0 + 1000)));

    // Errors: the secret in every wrong place we can think of.
    let broken = format!("!{}", &b64[1..]);
    let specs = [
        format!("hmac-sha256:k:{broken}"),
        format!("{b64}:k:hmac-sha256"),
        format!("{b64}:k"),
        format!("{broken}:k"),
        format!("hmac-sha256:{b64}:{broken}"),
        b64.clone(),
        format!("k:{b64}:{b64}:x"),
    ];
    for spec in &specs {
        if let Err(error) = Key::parse_spec(spec) {
            assert_clean(&error.to_string());
            assert_clean(&format!("{error:?}"));
        }
    }
    let files = [
        format!("key k {{ algorithm hmac-sha256; secret \"{broken}\"; }};"),
        format!("key k {{ algorithm {b64}; secret \"{b64}\"; }};"),
        format!("key k {{ {b64}; }};"),
        format!("key k {{ secret {b64} }};"),
        format!("{b64} {{ }};"),
        format!("key k {{ algorithm hmac-sha256; secret \"{b64}\" \"{b64}\"; }};"),
        format!("key k {{ algorithm hmac-sha256; secret \"{b64}\"; secret \"{b64}\"; }};"),
        format!("key k {{ algorithm hmac-sha256; secret \"{b64}\"; }}"),
        format!("key k {{ algorithm hmac-sha256; secret \"{b64}"),
    ];
    for text in &files {
        let error = Key::parse_key_file(text).unwrap_err();
        assert_clean(&error.to_string());
        assert_clean(&format!("{error:?}"));
    }
}

// ----------- interoperability with kdig (Knot DNS) -----------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn kdig_missing() -> bool {
    let missing = Command::new("kdig").arg("--version").output().is_err();
    if missing {
        eprintln!("skipped: kdig is not on PATH (install knot-dnsutils)");
    }
    missing
}

/// Sees the raw request; returns the reply messages to send (none: close).
type Responder = Box<dyn FnOnce(&[u8]) -> Vec<Vec<u8>> + Send>;

/// Runs `kdig -y SPEC @127.0.0.1 -p PORT example. SOA +tcp` against a
/// one-shot TCP listener; `respond` sees the raw request and may answer.
/// Returns the request and kdig's output.
fn kdig_exchange(spec: &str, respond: Responder) -> (Vec<u8>, Output) {
    kdig_exchange_type(spec, "SOA", respond)
}

fn kdig_exchange_type(spec: &str, qtype: &str, respond: Responder) -> (Vec<u8>, Output) {
    exchange(
        "kdig",
        &["-y", spec, "example.", qtype, "+tcp", "+retry=0", "+time=3"],
        respond,
    )
}

/// Runs `program ARGS @127.0.0.1 -p PORT` against a one-shot TCP listener.
fn exchange(program: &str, args: &[&str], respond: Responder) -> (Vec<u8>, Output) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream: TcpStream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(error) => panic!("kdig never connected: {error}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut request = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut request).unwrap();
        for reply in respond(&request) {
            let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            stream.write_all(&framed).unwrap();
        }
        request
    });
    let output = Command::new(program)
        .args(["@127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    let request = server.join().expect("listener thread");
    (request, output)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn random_secret(len: usize) -> Vec<u8> {
    (0..len).map(|_| fastrand::u8(..)).collect()
}

#[test]
fn kdig_requests_verify() {
    if kdig_missing() {
        return;
    }
    for algorithm in Algorithm::ALL {
        let secret = random_secret(algorithm.output_len());
        let spec = format!("{}:kdig.Key.:{}", algorithm.name(), BASE64.encode(&secret));
        let (request, _) = kdig_exchange(&spec, Box::new(|_| Vec::new()));
        let now = unix_now();
        let right = Arc::new(Key::new(name("kdig.key."), algorithm, secret.clone()));
        let ring = keyring(&[&right]);
        let signature = valid(verify_request(&request, &ring, now));
        assert_eq!(signature.mac.len(), algorithm.output_len(), "{algorithm}");
        assert!(signature.unsigned_len < request.len());

        let mut wrong_secret = secret.clone();
        wrong_secret[0] ^= 1;
        let wrong = Arc::new(Key::new(name("kdig.key."), algorithm, wrong_secret));
        assert_eq!(
            failed(verify_request(&request, &keyring(&[&wrong]), now)).error,
            BADSIG
        );
        let renamed = Arc::new(Key::new(name("other.key."), algorithm, secret.clone()));
        assert_eq!(
            failed(verify_request(&request, &keyring(&[&renamed]), now)).error,
            BADKEY
        );
        let time_signed = tsig_of(&request).time_signed;
        assert_eq!(
            failed(verify_request(&request, &ring, time_signed + 301)).error,
            BADTIME
        );
        assert_eq!(
            failed(verify_request(&request, &ring, time_signed - 301)).error,
            BADTIME
        );
    }
}

/// What kdig said about the reply's TSIG: `Ok` when it printed no warning
/// and showed the TSIG RR, else the warning text.
fn kdig_verdict(output: &Output) -> Result<(), String> {
    let (stdout, stderr) = text(output);
    eprintln!("kdig said:\n{stdout}\n{stderr}");
    // kdig reports a reply it cannot verify on stderr and still exits 0.
    let warned = stderr
        .lines()
        .filter(|line| line.contains("WARNING") || line.contains("ERROR"))
        .collect::<Vec<_>>();
    if !warned.is_empty() {
        return Err(warned.join("\n"));
    }
    if !stdout.contains("TSIG PSEUDOSECTION") || !output.status.success() {
        return Err(format!("no TSIG shown or kdig failed:\n{stdout}\n{stderr}"));
    }
    Ok(())
}

#[test]
fn kdig_verifies_our_replies() {
    if kdig_missing() {
        return;
    }
    for algorithm in Algorithm::ALL {
        let secret = random_secret(24);
        let spec = format!("{}:kdig.key.:{}", algorithm.name(), BASE64.encode(&secret));
        for corrupt in [false, true] {
            let key = Arc::new(Key::new(name("kdig.key."), algorithm, secret.clone()));
            let respond: Responder = Box::new(move |request| {
                let signature = valid(verify_request(request, &keyring(&[&key]), unix_now()));
                let mut reply = reply_to(request, signature.unsigned_len);
                ResponseSigner::new(&signature).sign(&mut reply, unix_now());
                if corrupt {
                    // The last MAC octet sits 7 octets before the end.
                    let at = reply.len() - 7;
                    reply[at] ^= 0x01;
                }
                vec![reply]
            });
            let (_, output) = kdig_exchange(&spec, respond);
            let verdict = kdig_verdict(&output);
            if corrupt {
                let warning = verdict.expect_err("kdig accepted a corrupted MAC");
                assert!(
                    warning.contains("TSIG") || warning.contains("verif"),
                    "{warning}"
                );
            } else {
                verdict.unwrap_or_else(|warning| {
                    panic!("{algorithm}: kdig rejected our reply: {warning}")
                });
            }
        }
    }
}

#[test]
fn kdig_sees_our_error_replies() {
    if kdig_missing() {
        return;
    }
    let secret = random_secret(32);
    let spec = format!("hmac-sha256:kdig.key.:{}", BASE64.encode(&secret));
    // kdig checks the MAC before it looks at the error: "out of time
    // window" means it verified our signed BADTIME reply (a bad MAC reads
    // "failed to verify TSIG"). BADKEY replies carry no MAC to verify.
    for (shift, keyname, status, warning) in [
        (
            400i64,
            "kdig.key.",
            "status: BADTIME",
            Some("out of time window"),
        ),
        (0, "unknown.key.", "status: BADKEY", None),
    ] {
        let key = Arc::new(Key::new(
            name(keyname),
            Algorithm::HmacSha256,
            secret.clone(),
        ));
        let respond: Responder = Box::new(move |request| {
            let now = unix_now().checked_add_signed(shift).unwrap();
            let failure = failed(verify_request(request, &keyring(&[&key]), now));
            let mut reply = reply_to(request, failure.unsigned_len);
            set_rcode(&mut reply, 9);
            failure.append_to(&mut reply, now);
            vec![reply]
        });
        let (_, output) = kdig_exchange(&spec, respond);
        let (stdout, stderr) = text(&output);
        let all = format!("{stdout}\n{stderr}");
        eprintln!("kdig said:\n{all}");
        assert!(stdout.contains(status), "{status}: {all}");
        if let Some(warning) = warning {
            assert!(stderr.contains(warning), "{warning}: {all}");
        }
    }
}

/// An AXFR reply message for `example.`: the request's question and one
/// answer record (compressed owner, pointing at the question).
fn axfr_message(request_id: &[u8], rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut m = request_id.to_vec();
    m.extend_from_slice(&[0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend_from_slice(&wire_name("example."));
    m.extend_from_slice(&[0, 252, 0, 1]);
    m.extend_from_slice(&[0xC0, 12]);
    m.extend_from_slice(&rtype.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
    m
}

/// Serves a three-message AXFR signed by [`ResponseSigner`], with message
/// `corrupt` (if any) changed after signing: the middle one in its answer,
/// the last one in its MAC.
fn axfr_responder(secret: Vec<u8>, corrupt: Option<usize>) -> Responder {
    let mut soa = wire_name("ns.example.");
    soa.extend_from_slice(&wire_name("h.example."));
    for value in [7u32, 3600, 900, 604_800, 300] {
        soa.extend_from_slice(&value.to_be_bytes());
    }
    let key = Arc::new(Key::new(name("xfr.key."), Algorithm::HmacSha256, secret));
    Box::new(move |request| {
        let signature = valid(verify_request(request, &keyring(&[&key]), unix_now()));
        let mut signer = ResponseSigner::new(&signature);
        let mut messages = vec![
            axfr_message(&request[..2], 6, &soa),
            axfr_message(&request[..2], 1, &[192, 0, 2, 1]),
            axfr_message(&request[..2], 6, &soa),
        ];
        for message in &mut messages {
            signer.sign(message, unix_now());
        }
        if let Some(victim) = corrupt {
            // Octet 40 is the A record's last address octet; len - 7 the
            // last octet of the MAC.
            let at = if victim == 1 {
                40
            } else {
                messages[victim].len() - 7
            };
            messages[victim][at] ^= 0x01;
        }
        messages
    })
}

/// BIND's dig checks the TSIG of every message of a transfer (kdig 3.2
/// prints an AXFR without checking it), so dig is the judge here.
#[test]
fn dig_verifies_our_multi_message_transfer() {
    if Command::new("dig").arg("-v").output().is_err() {
        eprintln!("skipped: dig is not on PATH (install bind9-dnsutils)");
        return;
    }
    let secret = random_secret(32);
    let spec = format!("hmac-sha256:xfr.key.:{}", BASE64.encode(&secret));
    for corrupt in [None, Some(1usize), Some(2)] {
        let respond = axfr_responder(secret.clone(), corrupt);
        let args = [
            "-y",
            spec.as_str(),
            "example.",
            "AXFR",
            "+tries=1",
            "+time=3",
        ];
        let (_, output) = exchange("dig", &args, respond);
        let (stdout, stderr) = text(&output);
        eprintln!("dig said:\n{stdout}\n{stderr}");
        let complete = stdout.contains("XFR size: 3 records (messages 3");
        // dig prints the records either way, then these for a bad MAC.
        let failed = stdout.contains("Couldn't verify signature")
            || stdout.contains("TSIG could not be validated");
        if corrupt.is_none() {
            assert!(
                complete && !failed,
                "dig rejected our transfer:\n{stdout}\n{stderr}"
            );
            assert!(stdout.contains("192.0.2.1"), "{stdout}");
        } else {
            assert!(
                failed,
                "dig accepted a corrupted message {corrupt:?}:\n{stdout}\n{stderr}"
            );
        }
    }
}

// ----------- interoperability with BIND's named -----------

/// A `named` on a loopback port, serving `example.` (large enough for a
/// multi-message AXFR) and knowing one key; killed on drop.
struct Named {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const NAMED_SECRET: &[u8] = b"named interop secret, 32 octets!";

fn start_named() -> Option<Named> {
    let program = ["/usr/sbin/named", "named"]
        .into_iter()
        .find(|program| Command::new(program).arg("-v").output().is_ok());
    let Some(program) = program else {
        eprintln!("skipped: named is not installed (install bind9)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!(
        "dnsd-tsig-named-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        r#"key "named.key." {{ algorithm hmac-sha256; secret "{secret}"; }};
options {{
    directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    pid-file none;
}};
zone "example." {{ type primary; file "example.zone"; allow-transfer {{ key "named.key."; }}; }};
"#,
        secret = BASE64.encode(NAMED_SECRET),
        dir = dir.display(),
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let mut zone = String::from(
        "$TTL 300\n@ SOA ns.example. h.example. 1 3600 900 604800 300\n@ NS ns.example.\nns A 127.0.0.1\n",
    );
    for i in 0..4000 {
        zone.push_str(&format!(
            "host-{i:05}-with-a-longer-owner-name A 192.0.2.{}\n",
            i % 250
        ));
    }
    std::fs::write(dir.join("example.zone"), zone).unwrap();
    let child = Command::new(program)
        .args(["-g", "-n", "1", "-c"])
        .arg(dir.join("named.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("named.log")).unwrap())
        .spawn()
        .unwrap();
    let named = Named { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        // "running" is logged once the zones are loaded and sockets open.
        let log = std::fs::read_to_string(named.dir.join("named.log")).unwrap_or_default();
        if log.contains("running") && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(named);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(named.dir.join("named.log")).unwrap_or_default();
    panic!("named did not start:\n{log}");
}

/// `example.` with the given type (SOA 6, AXFR 252), ID 0x4242.
fn query(qtype: u16) -> Vec<u8> {
    let mut m = vec![0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&wire_name("example."));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

/// Sends `request` over TCP and reads reply messages until `done` says so.
fn tcp_exchange(port: u16, request: &[u8], mut done: impl FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut framed = (request.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    stream.write_all(&framed).unwrap();
    let mut messages = Vec::new();
    loop {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut message = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut message).unwrap();
        let finished = done(&message);
        messages.push(message);
        if finished {
            return messages;
        }
    }
}

/// The types of the answer section's records.
fn answer_types(message: &[u8]) -> Vec<u16> {
    let mut reader = Reader {
        message,
        pos: HEADER_LEN,
    };
    let qdcount = u16::from_be_bytes([message[4], message[5]]);
    let ancount = u16::from_be_bytes([message[6], message[7]]);
    for _ in 0..qdcount {
        reader.skip_name().unwrap();
        reader.take(4).unwrap();
    }
    (0..ancount)
        .map(|_| {
            reader.skip_name().unwrap();
            let rtype = reader.u16().unwrap();
            reader.take(6).unwrap();
            let rdlength = reader.u16().unwrap() as usize;
            reader.take(rdlength).unwrap();
            rtype
        })
        .collect()
}

#[test]
fn named_verifies_our_requests_and_we_verify_its_replies() {
    let Some(named) = start_named() else {
        return;
    };
    let key = Arc::new(Key::new(
        name("named.key."),
        Algorithm::HmacSha256,
        NAMED_SECRET.to_vec(),
    ));
    let now = unix_now();

    // A signed SOA query: named answers NOERROR, signed; we verify it.
    let mut request = query(6);
    let mut client = RequestSigner::sign(key.clone(), &mut request, now);
    let reply = tcp_exchange(named.port, &request, |_| true).remove(0);
    assert_eq!(reply[3] & 0x0F, 0, "NOERROR");
    assert_eq!(answer_types(&reply), vec![6]);
    assert!(client.verify(&reply, now).unwrap() < reply.len());
    client.finish().unwrap();
    // Tampered, it fails. (Signing the same query at the same time again
    // gives the same request MAC, so a fresh client stands in.)
    let mut tampered = reply.clone();
    tampered[HEADER_LEN + 3] ^= 0x20;
    let mut client = RequestSigner::sign(key.clone(), &mut query(6), now);
    assert!(matches!(
        client.verify(&tampered, now),
        Err(ReplyError::BadMac)
    ));

    // A signed AXFR: several messages, each verified in turn (named may
    // leave some unsigned; they are folded into the next MAC).
    let mut request = query(252);
    let mut client = RequestSigner::sign(key.clone(), &mut request, now);
    let mut soas = 0;
    let messages = tcp_exchange(named.port, &request, |message| {
        soas += answer_types(message).iter().filter(|&&t| t == 6).count();
        soas >= 2
    });
    assert!(
        messages.len() >= 3,
        "expected a multi-message AXFR, got {}",
        messages.len()
    );
    let records: usize = messages.iter().map(|m| answer_types(m).len()).sum();
    assert_eq!(records, 4000 + 4, "SOA, NS, ns A, 4000 hosts, SOA");
    for (i, message) in messages.iter().enumerate() {
        client
            .verify(message, now)
            .unwrap_or_else(|error| panic!("message {i}: {error}"));
    }
    client.finish().unwrap();
    // Any changed message breaks the chain.
    for victim in 0..messages.len() {
        let mut broken = messages.clone();
        let at = broken[victim].len() / 2;
        broken[victim][at] ^= 0x01;
        let mut client = RequestSigner::sign(key.clone(), &mut query(252), now);
        assert!(
            verify_all(&mut client, &broken).is_err(),
            "a change to message {victim} went unnoticed"
        );
    }

    // A wrong secret: named answers NOTAUTH/BADSIG, unsigned.
    let impostor = Arc::new(Key::new(
        name("named.key."),
        Algorithm::HmacSha256,
        b"not the secret".to_vec(),
    ));
    let mut request = query(6);
    let mut client = RequestSigner::sign(impostor, &mut request, now);
    let reply = tcp_exchange(named.port, &request, |_| true).remove(0);
    assert_eq!(reply[3] & 0x0F, 9, "NOTAUTH");
    assert!(matches!(
        client.verify(&reply, now),
        Err(ReplyError::Error(16))
    ));

    // Our clock off by 1000 s: named's BADTIME reply is signed, and its
    // MAC verifies (an error code, not BadMac).
    let mut request = query(6);
    let mut client = RequestSigner::sign(key.clone(), &mut request, now - 1000);
    let reply = tcp_exchange(named.port, &request, |_| true).remove(0);
    assert_eq!(reply[3] & 0x0F, 9, "NOTAUTH");
    let tsig = tsig_of(&reply);
    assert_eq!(tsig.error, BADTIME.0);
    assert_eq!(tsig.other.len(), 6);
    assert!(matches!(
        client.verify(&reply, now - 1000),
        Err(ReplyError::Error(18))
    ));

    // An unknown key name: BADKEY.
    let stranger = Arc::new(Key::new(
        name("stranger.key."),
        Algorithm::HmacSha256,
        NAMED_SECRET.to_vec(),
    ));
    let mut request = query(6);
    let mut client = RequestSigner::sign(stranger, &mut request, now);
    let reply = tcp_exchange(named.port, &request, |_| true).remove(0);
    assert_eq!(reply[3] & 0x0F, 9, "NOTAUTH");
    assert!(matches!(
        client.verify(&reply, now),
        Err(ReplyError::Error(17))
    ));
}

// ----------- hostile input (the fuzz target `tsig` goes further) -----------

proptest::proptest! {
    /// Random bytes, and signed messages with random octets changed, cut
    /// or added, never panic either side; a changed signed request is
    /// never valid unless only its ID or the TSIG RR's TTL changed.
    #[test]
    fn hostile_messages_never_panic(
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..6),
        cut in proptest::prelude::any::<usize>(),
    ) {
        let key = key(Algorithm::HmacSha256, SECRET);
        let ring = keyring(&[&key]);
        let _ = verify_request(&noise, &ring, T0);
        let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
        let _ = client.verify(&noise, T0);

        let mut request = message(0);
        RequestSigner::sign(key.clone(), &mut request, T0);
        let mut changed = request.clone();
        for &(at, xor) in &edits {
            let at = at % changed.len();
            changed[at] ^= xor;
        }
        let ttl_at = tsig_of(&request).start + wire_name("test.key.").len() + 4;
        let only_free_octets = (0..request.len())
            .filter(|&i| request[i] != changed[i])
            .all(|i| i < 2 || (ttl_at..ttl_at + 4).contains(&i));
        match verify_request(&changed, &ring, T0) {
            Verified::Valid(_) => proptest::prop_assert!(only_free_octets),
            Verified::Failed(failure) => {
                let mut reply = changed[..failure.unsigned_len].to_vec();
                failure.append_to(&mut reply, T0);
            }
            Verified::Unsigned | Verified::Malformed => {}
        }
        let _ = verify_request(&changed[..cut % (changed.len() + 1)], &ring, T0);

        // The reply side: a genuine first message, then a changed one.
        let signature = valid(verify_request(&request, &ring, T0));
        let mut server = ResponseSigner::new(&signature);
        let mut first = message(0x8400);
        server.sign(&mut first, T0);
        let mut client = RequestSigner::sign(key.clone(), &mut message(0), T0);
        proptest::prop_assert!(client.verify(&first, T0).is_ok());
        let mut second = message(0x8400);
        server.sign(&mut second, T0);
        let original = second.clone();
        for &(at, xor) in &edits {
            let at = at % second.len();
            second[at] ^= xor;
        }
        // A change can turn the message into an unsigned one, which is
        // fine mid-stream; only a finished, verified stream counts.
        let verified = client.verify(&second, T0).is_ok() && client.finish().is_ok();
        if second[2..] != original[2..] && verified {
            // Only the ID octets and the TSIG RR's TTL are outside the MAC.
            let ttl_at = tsig_of(&original).start + wire_name("test.key.").len() + 4;
            let free = (0..original.len())
                .filter(|&i| original[i] != second[i])
                .all(|i| i < 2 || (ttl_at..ttl_at + 4).contains(&i));
            proptest::prop_assert!(free);
        }
    }
}
