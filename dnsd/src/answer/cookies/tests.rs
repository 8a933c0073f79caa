//! The RFC 9018 Appendix A examples, SipHash's reference vector, and the
//! validity window.

use super::*;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn secret(text: &str) -> [u8; 16] {
    hex(text).try_into().unwrap()
}

fn client(text: &str) -> [u8; 8] {
    hex(text).try_into().unwrap()
}

#[test]
fn siphash_reference_vector() {
    // The SipHash paper, Appendix A: key 00..0f, message 00..0e.
    let key: [u8; 16] = std::array::from_fn(|i| i as u8);
    let message: Vec<u8> = (0..15).collect();
    assert_eq!(siphash24(&key, &message), 0xa129_ca61_49be_45e5);
}

#[test]
fn rfc9018_appendix_a_cookies() {
    let cases = [
        // A.1, A.2, A.3: IPv4 clients; A.4: IPv6, after a rotation.
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "2464c4abcf10c957",
            "198.51.100.100",
            1_559_731_985,
            "010000005cf79f111f8130c3eee29480",
        ),
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "2464c4abcf10c957",
            "198.51.100.100",
            1_559_734_385,
            "010000005cf7a871d4a564a1442aca77",
        ),
        (
            "e5e973e5a6b2a43f48e7dc849e37bfcf",
            "fc93fc62807ddb86",
            "203.0.113.203",
            1_559_734_700,
            "010000005cf7a9acf73a7810aca2381e",
        ),
        (
            "445536bcd2513298075a5d379663c962",
            "22681ab97d52c298",
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            1_559_741_961,
            "010000005cf7c609a6bb79d16625507a",
        ),
    ];
    for (key, cookie, ip, now, want) in cases {
        let made = make_server_cookie(&secret(key), &client(cookie), ip.parse().unwrap(), now);
        assert_eq!(made.to_vec(), hex(want), "{ip} at {now}");
    }
}

fn option(text: &str) -> ClientCookie {
    ClientCookie::parse(&hex(text)).unwrap()
}

#[test]
fn returned_cookies_are_checked_like_rfc9018_servers_do() {
    let cookies = Cookies::new(
        CookieSecrets {
            current: secret("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            previous: None,
        },
        None,
        false,
    );
    let ip: IpAddr = "198.51.100.100".parse().unwrap();
    // A.1: a client cookie alone gets a fresh server cookie.
    let first = cookies.check(&option("2464c4abcf10c957"), ip, 1_559_731_985);
    assert!(!first.valid);
    assert_eq!(
        first.reply.to_vec(),
        hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
    );
    // Returned within half an hour: valid, and kept as it is.
    let again = cookies.check(
        &option("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
        ip,
        1_559_731_985 + 600,
    );
    assert!(again.valid);
    assert_eq!(again.reply, first.reply);
    // A.2: forty minutes later, still valid, renewed.
    let renewed = cookies.check(
        &option("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
        ip,
        1_559_734_385,
    );
    assert!(renewed.valid);
    assert_eq!(
        renewed.reply.to_vec(),
        hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
    );
    // Over an hour old, from another address, or altered: not valid.
    let late = cookies.check(
        &option("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
        ip,
        1_559_731_985 + 3601,
    );
    assert!(!late.valid);
    let elsewhere = cookies.check(
        &option("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
        "198.51.100.101".parse().unwrap(),
        1_559_731_985,
    );
    assert!(!elsewhere.valid);
    let altered = cookies.check(
        &option("2464c4abcf10c957010000005cf79f111f8130c3eee29481"),
        ip,
        1_559_731_985,
    );
    assert!(!altered.valid);
    // A.3: the reserved octets the client sent are part of the hash (the
    // cookie checks within its hour), and at the example's time, 1 h 52 min
    // after it was made, it has expired and a fresh one is made.
    let a3_cookie = option("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
    let a3_client: IpAddr = "203.0.113.203".parse().unwrap();
    assert!(
        cookies
            .check(&a3_cookie, a3_client, 1_559_727_985 + 100)
            .valid
    );
    let a3 = cookies.check(&a3_cookie, a3_client, 1_559_734_700);
    assert!(!a3.valid);
    assert_eq!(
        a3.reply.to_vec(),
        hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
    );
}

#[test]
fn the_previous_secret_still_checks_but_never_makes_cookies() {
    // A.4: the server's secret rolled over from dd3b... to 4455....
    let cookies = Cookies::new(
        CookieSecrets {
            current: secret("445536bcd2513298075a5d379663c962"),
            previous: Some(secret("dd3bdf9344b678b185a6f5cb60fca715")),
        },
        None,
        false,
    );
    let verdict = cookies.check(
        &option("22681ab97d52c298010000005cf7c57926556bd0934c72f8"),
        "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap(),
        1_559_741_961,
    );
    assert!(verdict.valid);
    assert_eq!(
        verdict.reply.to_vec(),
        hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a")
    );
    let without_previous = Cookies::new(
        CookieSecrets {
            current: secret("445536bcd2513298075a5d379663c962"),
            previous: None,
        },
        None,
        false,
    );
    assert!(
        !without_previous
            .check(
                &option("22681ab97d52c298010000005cf7c57926556bd0934c72f8"),
                "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap(),
                1_559_741_961,
            )
            .valid
    );
}

#[test]
fn option_lengths_and_secret_files() {
    for len in [0, 7, 9, 15, 41] {
        assert!(ClientCookie::parse(&vec![1; len]).is_none(), "{len}");
    }
    for len in [8, 16, 24, 40] {
        assert_eq!(
            ClientCookie::parse(&vec![1; len]).unwrap().server().len(),
            len - 8
        );
    }
    let dir = std::env::temp_dir().join(format!("dnsd-cookies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret");
    std::fs::write(
        &path,
        "445536bcd2513298075a5d379663c962\ndd3bdf9344b678b185a6f5cb60fca715\n",
    )
    .unwrap();
    let secrets = CookieSecrets::read(&path).unwrap();
    assert_eq!(secrets.current, secret("445536bcd2513298075a5d379663c962"));
    assert!(!format!("{secrets:?}").contains("4455"));
    for bad in ["", "xyz", "445536bcd2513298075a5d379663c9", "a\nb\nc"] {
        std::fs::write(&path, bad).unwrap();
        assert!(CookieSecrets::read(&path).is_err(), "{bad:?}");
    }
    // A reload that fails keeps the secrets in use.
    let cookies = Cookies::new(secrets.clone(), Some(path.clone()), false);
    assert!(cookies.reload().is_err());
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let made = cookies.check(&ClientCookie::parse(&[7; 8]).unwrap(), ip, 1000);
    let mut returned = [0u8; 24];
    returned.copy_from_slice(&made.reply);
    assert!(
        cookies
            .check(&ClientCookie::parse(&returned).unwrap(), ip, 1001)
            .valid
    );
}
