//! DNS Cookies (RFC 7873 with RFC 9018 server cookies; hardening issue,
//! item 4): a client cookie is answered with a server cookie, a returned
//! server cookie is checked, servers sharing a secret accept each other's
//! cookies, `--require-server-cookie` answers BADCOOKIE until the client
//! proves its address, secrets rotate on SIGHUP, and response-rate limiting
//! exempts clients with a valid cookie.

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Query, Reply, Server, rcode, scratch_dir};
use hickory_proto::rr::RecordType;

const CLIENT_COOKIE: [u8; 8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
const BADCOOKIE: u16 = 23;

fn query(cookie: &[u8]) -> Query {
    let cookie = cookie.to_vec();
    Query::new("www.example.test.", RecordType::A).edns_with(move |o| o.options.push((10, cookie)))
}

/// The COOKIE option of a reply (client cookie first).
fn cookie_of(reply: &Reply) -> Option<Vec<u8>> {
    let bytes = &reply.bytes;
    let at = bytes
        .windows(12)
        .position(|w| w[..4] == [0, 10, 0, 24] && w[4..12] == CLIENT_COOKIE)?;
    Some(bytes[at + 4..at + 28].to_vec())
}

fn write_secrets(path: &Path, lines: &[&str]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

#[test]
fn a_client_cookie_gets_a_server_cookie_that_is_then_accepted() {
    let s = Server::shared();
    let first = s.udp(&query(&CLIENT_COOKIE));
    assert_eq!(first.rcode(), rcode::NOERROR);
    let cookie = cookie_of(&first).expect("a COOKIE option in the reply");
    assert_eq!(cookie[8], 1, "RFC 9018 version 1");
    assert_eq!(&cookie[9..12], &[0, 0, 0]);
    let stamped = u32::from_be_bytes(cookie[12..16].try_into().unwrap());
    assert!(now().abs_diff(stamped) <= 2, "timestamp {stamped}");
    // Returned: the same server cookie comes back (fresh), and the answer.
    let second = s.udp(&query(&cookie));
    assert_eq!(second.rcode(), rcode::NOERROR);
    assert_eq!(second.msg.answers.len(), 1);
    assert_eq!(cookie_of(&second).unwrap(), cookie);
    // An altered one is replaced with a good one, and still answered.
    let mut forged = cookie.clone();
    forged[23] ^= 1;
    let third = s.udp(&query(&forged));
    assert_eq!(third.rcode(), rcode::NOERROR);
    assert_eq!(cookie_of(&third).unwrap()[..16], cookie[..16]);
    // Malformed lengths are FORMERR (RFC 7873 §5.2.2).
    for len in [7, 9, 15, 41] {
        assert_eq!(
            s.udp(&query(&vec![1; len])).rcode(),
            rcode::FORMERR,
            "{len}"
        );
    }
}

#[test]
fn dig_sees_a_good_cookie() {
    let s = Server::shared();
    let out = std::process::Command::new("dig")
        .args([
            "+cookie",
            "+norec",
            "-p",
            &s.addr().port().to_string(),
            "@127.0.0.1",
            "www.example.test",
            "A",
        ])
        .output()
        .expect("dig is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("COOKIE:") && text.contains("(good)"),
        "{text}"
    );
}

#[test]
fn a_fleet_sharing_a_secret_requires_and_rotates_cookies() {
    let dir = scratch_dir("cookies");
    let secrets = dir.join("cookie-secret");
    let old = "e5e973e5a6b2a43f48e7dc849e37bfcf";
    let new = "445536bcd2513298075a5d379663c962";
    write_secrets(&secrets, &[old]);
    let secret_arg = secrets.display().to_string();
    let a = Server::builder()
        .standard_zones()
        .args(["--cookie-secret-file", &secret_arg])
        .start();
    let b = Server::builder()
        .standard_zones()
        .args([
            "--cookie-secret-file",
            &secret_arg,
            "--require-server-cookie",
        ])
        .start();
    // B wants proof of address: a client cookie alone gets BADCOOKIE and a cookie.
    let refused = b.udp(&query(&CLIENT_COOKIE));
    assert_eq!(refused.rcode(), BADCOOKIE);
    assert!(refused.msg.answers.is_empty());
    let from_b = cookie_of(&refused).expect("a fresh cookie with BADCOOKIE");
    assert_eq!(b.udp(&query(&from_b)).rcode(), rcode::NOERROR);
    // A cookie A handed out is good at B: same secret.
    let from_a = cookie_of(&a.udp(&query(&CLIENT_COOKIE))).unwrap();
    let at_b = b.udp(&query(&from_a));
    assert_eq!(at_b.rcode(), rcode::NOERROR);
    assert_eq!(at_b.msg.answers.len(), 1);
    // Over TCP the address is proven by the handshake: answered anyway.
    assert_eq!(b.tcp(&query(&CLIENT_COOKIE)).rcode(), rcode::NOERROR);
    // Clients without cookies are answered as before.
    let plain = Query::new("www.example.test.", RecordType::A);
    assert_eq!(b.udp(&plain).rcode(), rcode::NOERROR);

    // Rotation: the new secret first, the old one still accepted.
    write_secrets(&secrets, &[new, old]);
    b.sighup();
    e2e::wait_until(Duration::from_secs(10), "the new secret in use", || {
        let reply = b.udp(&query(&from_a));
        reply.rcode() == rcode::NOERROR && cookie_of(&reply).unwrap()[8..] != from_a[8..]
    });
    // The old secret dropped: its cookies are refused.
    write_secrets(&secrets, &[new]);
    b.sighup();
    e2e::wait_until(Duration::from_secs(10), "the old secret dropped", || {
        b.udp(&query(&from_a)).rcode() == BADCOOKIE
    });
    // A bad file keeps what is in use.
    write_secrets(&secrets, &["not hex"]);
    b.sighup();
    std::thread::sleep(Duration::from_millis(300));
    let renewed = cookie_of(&b.udp(&query(&CLIENT_COOKIE))).unwrap();
    assert_eq!(b.udp(&query(&renewed)).rcode(), rcode::NOERROR);
}

#[test]
fn rate_limiting_exempts_clients_with_a_valid_cookie() {
    let s = Server::builder()
        .standard_zones()
        .args(["--rrl-rate", "5", "--rrl-slip", "0"])
        .start();
    let cookie = cookie_of(&s.udp(&query(&CLIENT_COOKIE))).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let count = |with: &[u8]| {
        for id in 0..100u16 {
            socket
                .send_to(&query(with).id(id).to_bytes(), s.addr())
                .unwrap();
        }
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while socket.recv_from(&mut buf).is_ok() {
            n += 1;
        }
        n
    };
    assert_eq!(count(&cookie), 100, "a proven address is never limited");
    assert!(
        count(&CLIENT_COOKIE) <= 10,
        "a client cookie alone proves nothing"
    );
}
