//! The DNS client and effects against the real dnsd binary (build it first:
//! `cargo build -p dnsd`, or set `$DNSD_BIN`), checked with real DNS
//! queries over UDP and with API reads; plus a scripted HTTP front on
//! 127.0.0.1 for retries, error text and key hygiene, and for routing one
//! client's calls to two dnsd instances (so the parent answers with a real
//! referral).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use e2e::delv::Delv;
use e2e::{Query, RecordType, Reply, Server, free_port, name_wire, rcode, scratch_dir};
use poolmgr::dns::{DnsError, PdnsClient, PdnsConfig, RrsetChange};
use poolmgr::effects::{self, CANONICAL_NAMES, Effect};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "pdns-test-key-9f3a";
const POOL: &str = "pool.test";
const CHILD: &str = "acme.pool.test";

fn nameservers() -> Vec<String> {
    // Out of bailiwick, so the delegation needs no glue.
    vec!["ns1.example.net".into(), "NS2.Example.NET.".into()]
}

//----------- dnsd with its API -------------------------------------------------------------

struct Dnsd {
    dns: Server,
    api: SocketAddr,
    _data: PathBuf,
}

impl Dnsd {
    fn start() -> Dnsd {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let api = SocketAddr::new(ip, free_port(ip));
        let data = scratch_dir("poolmgr-dns");
        let dns = Server::builder().api(api, KEY, &data).start();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&api, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "dnsd API on {api} never came up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Dnsd {
            dns,
            api,
            _data: data,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.api)
    }

    fn client(&self) -> PdnsClient {
        client_for(&self.base_url())
    }

    fn udp(&self, name: &str, qtype: RecordType) -> Reply {
        self.dns.udp(&Query::new(name, qtype))
    }

    fn udp_do(&self, name: &str, qtype: RecordType) -> Reply {
        self.dns.udp(&Query::new(name, qtype).edns().dnssec_ok())
    }
}

fn client_for(base_url: &str) -> PdnsClient {
    PdnsClient::new(PdnsConfig {
        base_url: base_url.to_string(),
        api_key: KEY.into(),
        server_id: "localhost".into(),
        ca_file: None,
    })
    .expect("client")
}

fn provision() -> Effect {
    Effect::Provision {
        zone: CHILD.into(),
        parent: POOL.into(),
        nameservers: nameservers(),
    }
}

fn teardown() -> Effect {
    Effect::Teardown {
        zone: CHILD.into(),
        parent: POOL.into(),
    }
}

fn publish(ipv4: &str, ipv6: Option<&str>) -> Effect {
    Effect::Publish {
        zone: CHILD.into(),
        ipv4: ipv4.into(),
        ipv6: ipv6.map(Into::into),
    }
}

/// The pool zone, signed, as poolmgr's bootstrap makes it.
async fn pool_zone(client: &PdnsClient) -> Vec<String> {
    let ds = client
        .ensure_zone(POOL, &nameservers())
        .await
        .expect("pool zone");
    assert!(!ds.is_empty(), "the pool zone is signed");
    ds
}

/// Everything the API shows of a zone except the SOA (whose serial may
/// move): RRsets and keys, to compare states.
async fn snapshot(base_url: &str, zone: &str) -> Option<BTreeSet<String>> {
    let http = reqwest::Client::new();
    let url = format!("{base_url}/api/v1/servers/localhost/zones/{zone}.");
    let response = http
        .get(&url)
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    if response.status() == 404 {
        return None;
    }
    let detail: Value = response.json().await.unwrap();
    let mut out = BTreeSet::new();
    for set in detail["rrsets"].as_array().unwrap() {
        if set["type"] == "SOA" {
            continue;
        }
        let mut contents: Vec<String> = set["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["content"].as_str().unwrap().to_string())
            .collect();
        contents.sort();
        out.insert(format!(
            "{} {} {} {:?}",
            set["name"], set["type"], set["ttl"], contents
        ));
    }
    let keys: Value = http
        .get(format!("{url}/cryptokeys"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in keys.as_array().unwrap() {
        out.insert(format!(
            "key {} {} {}",
            key["keytype"], key["active"], key["dnskey"]
        ));
    }
    Some(out)
}

/// DS digest type 2 of a DNSKEY in presentation form (`257 3 13 <b64>`),
/// computed here (RFC 4034 §5.1.4) so the test does not trust the server's
/// own `ds` field.
fn ds_of(owner: &str, dnskey: &str) -> String {
    let fields: Vec<&str> = dnskey.split_whitespace().collect();
    let flags: u16 = fields[0].parse().unwrap();
    let protocol: u8 = fields[1].parse().unwrap();
    let algorithm: u8 = fields[2].parse().unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(fields[3..].concat())
        .unwrap();
    let mut rdata = flags.to_be_bytes().to_vec();
    rdata.push(protocol);
    rdata.push(algorithm);
    rdata.extend_from_slice(&key);
    // RFC 4034 Appendix B key tag.
    let mut acc: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        acc += if i & 1 == 1 {
            u32::from(*b)
        } else {
            u32::from(*b) << 8
        };
    }
    acc += (acc >> 16) & 0xffff;
    let tag = acc & 0xffff;
    let mut hash = Sha256::new();
    hash.update(name_wire(&owner.to_ascii_lowercase()));
    hash.update(&rdata);
    format!("{tag} {algorithm} 2 {}", hex::encode(hash.finalize()))
}

/// The SEP DNSKEYs (flags 257) a server answers for `zone`.
fn sep_keys(dnsd: &Dnsd, zone: &str) -> Vec<String> {
    let r = dnsd.udp_do(&format!("{zone}."), RecordType::DNSKEY);
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    // Not `Reply::answer`, which lower-cases RDATA (and so the base64).
    r.msg
        .answers
        .iter()
        .filter(|rec| rec.record_type() == RecordType::DNSKEY)
        .map(|rec| e2e::rdata_text(&rec.data))
        .filter(|k| k.starts_with("257 "))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

//----------- effects against one dnsd -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_publish_teardown_converge_and_repeat() {
    let dnsd = Dnsd::start();
    let client = dnsd.client();
    let base = dnsd.base_url();
    client.ping().await.expect("ping");
    pool_zone(&client).await;

    // Provision, twice: the second run changes nothing.
    effects::apply(&client, &provision())
        .await
        .expect("provision");
    let child_state = snapshot(&base, CHILD).await.expect("child exists");
    let parent_state = snapshot(&base, POOL).await.unwrap();
    effects::apply(&client, &provision())
        .await
        .expect("provision again");
    assert_eq!(snapshot(&base, CHILD).await.unwrap(), child_state);
    assert_eq!(snapshot(&base, POOL).await.unwrap(), parent_state);

    // The child answers SOA (explicit MNAME and RNAME) and NS.
    let soa = dnsd.udp(&format!("{CHILD}."), RecordType::SOA);
    assert_eq!(soa.rcode(), rcode::NOERROR, "{}", soa.summary());
    let soa_text = &soa.answer()[0].2;
    assert!(
        soa_text.starts_with(&format!("ns1.example.net. hostmaster.{CHILD}. ")),
        "{soa_text}"
    );
    assert!(soa_text.ends_with(" 10800 3600 604800 3600"), "{soa_text}");
    let ns = dnsd.udp(&format!("{CHILD}."), RecordType::NS);
    assert_eq!(
        sorted(ns.answer().into_iter().map(|rr| rr.2).collect()),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    // Signed: a DNSKEY with its RRSIG, and exactly one key (a CSK; no
    // separate ZSK is added).
    let dnskey = dnsd.udp_do(&format!("{CHILD}."), RecordType::DNSKEY);
    let types: Vec<String> = dnskey.answer().into_iter().map(|rr| rr.1).collect();
    assert_eq!(
        types.iter().filter(|t| *t == "DNSKEY").count(),
        1,
        "{}",
        dnskey.summary()
    );
    assert!(types.iter().any(|t| t == "RRSIG"), "{}", dnskey.summary());

    // The parent holds the delegation and the DS; a DS query at the child
    // name is answered from the parent, signed, matching the child's KSK.
    let keys = sep_keys(&dnsd, CHILD);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let want_ds = ds_of(CHILD, &keys[0]);
    assert_eq!(
        client.ds_records(CHILD).await.unwrap(),
        vec![want_ds.clone()]
    );
    let ds = dnsd.udp_do(&format!("{CHILD}."), RecordType::DS);
    assert_eq!(ds.rcode(), rcode::NOERROR, "{}", ds.summary());
    let answer = ds.answer();
    let got: Vec<&str> = answer
        .iter()
        .filter(|rr| rr.1 == "DS")
        .map(|rr| rr.2.as_str())
        .collect();
    assert_eq!(got, vec![want_ds.as_str()], "{}", ds.summary());
    assert!(answer.iter().any(|rr| rr.1 == "RRSIG"), "{}", ds.summary());
    let del_ns = client.get_rrset(POOL, CHILD, "NS").await.unwrap().unwrap();
    assert_eq!(del_ns.ttl, 3600);
    assert_eq!(
        sorted(del_ns.contents),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    let del_ds = client.get_rrset(POOL, CHILD, "DS").await.unwrap().unwrap();
    assert_eq!(del_ds.ttl, 3600);
    assert_eq!(del_ds.contents, vec![want_ds]);

    // Publish with IPv6, twice.
    effects::apply(&client, &publish("192.0.2.10", Some("2001:db8::10")))
        .await
        .expect("publish");
    let published = snapshot(&base, CHILD).await.unwrap();
    effects::apply(&client, &publish("192.0.2.10", Some("2001:DB8:0::10")))
        .await
        .expect("publish again");
    assert_eq!(snapshot(&base, CHILD).await.unwrap(), published);
    for label in CANONICAL_NAMES {
        // The wildcard is asked through a name it covers.
        let qname = match label {
            "" => format!("{CHILD}."),
            "*" => format!("anything.{CHILD}."),
            l => format!("{l}.{CHILD}."),
        };
        let a = dnsd.udp(&qname, RecordType::A);
        assert_eq!(a.rcode(), rcode::NOERROR, "{qname}: {}", a.summary());
        let ans = a.answer();
        assert_eq!(ans.len(), 1, "{qname}: {}", a.summary());
        assert_eq!(ans[0].2, "192.0.2.10");
        assert_eq!(a.raw_section(0)[0].ttl, 300, "{qname}");
        let aaaa = dnsd.udp(&qname, RecordType::AAAA);
        let ans = aaaa.answer();
        assert_eq!(ans.len(), 1, "{qname}: {}", aaaa.summary());
        assert_eq!(ans[0].2, "2001:db8::10");
        assert_eq!(aaaa.raw_section(0)[0].ttl, 300);
    }

    // Re-publish with a new IPv4 and no IPv6: A replaced, AAAA gone.
    effects::apply(&client, &publish("198.51.100.7", None))
        .await
        .expect("re-publish");
    for label in CANONICAL_NAMES {
        let qname = if label.is_empty() {
            format!("{CHILD}.")
        } else {
            format!("{label}.{CHILD}.")
        };
        let a = dnsd.udp(&qname, RecordType::A);
        assert_eq!(
            a.answer().into_iter().map(|rr| rr.2).collect::<Vec<_>>(),
            vec!["198.51.100.7"],
            "{qname}"
        );
        let aaaa = dnsd.udp(&qname, RecordType::AAAA);
        assert_eq!(aaaa.rcode(), rcode::NOERROR, "{}", aaaa.summary());
        assert!(aaaa.answer().is_empty(), "{qname}: {}", aaaa.summary());
    }

    // Teardown, twice: delegation, DS and child gone; the parent says
    // NXDOMAIN for the child's names.
    effects::apply(&client, &teardown())
        .await
        .expect("teardown");
    let parent_after = snapshot(&base, POOL).await.unwrap();
    effects::apply(&client, &teardown())
        .await
        .expect("teardown again");
    assert_eq!(snapshot(&base, POOL).await.unwrap(), parent_after);
    assert!(!client.zone_exists(CHILD).await.unwrap());
    assert_eq!(client.get_rrset(POOL, CHILD, "NS").await.unwrap(), None);
    assert_eq!(client.get_rrset(POOL, CHILD, "DS").await.unwrap(), None);
    for qname in [format!("{CHILD}."), format!("www.{CHILD}.")] {
        let r = dnsd.udp(&qname, RecordType::A);
        assert_eq!(r.rcode(), rcode::NXDOMAIN, "{qname}: {}", r.summary());
        assert!(
            r.authority()
                .iter()
                .any(|rr| rr.1 == "SOA" && rr.0 == format!("{POOL}."))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_and_foreign_states_converge() {
    let dnsd = Dnsd::start();
    let client = dnsd.client();
    let base = dnsd.base_url();

    // Teardown of something never provisioned, with and without a parent.
    effects::apply(&client, &teardown())
        .await
        .expect("teardown without parent");
    pool_zone(&client).await;
    effects::apply(&client, &teardown())
        .await
        .expect("teardown of nothing");

    // A crash after creating the child with other NS and before signing
    // it or delegating: Provision finishes the job and fixes the NS.
    client
        .create_zone(CHILD, &["old.example.org".to_string()])
        .await
        .unwrap();
    assert_eq!(
        client.ds_records(CHILD).await.unwrap(),
        Vec::<String>::new()
    );
    effects::apply(&client, &provision())
        .await
        .expect("provision");
    let ns = client.get_rrset(CHILD, CHILD, "NS").await.unwrap().unwrap();
    assert_eq!(
        sorted(ns.contents),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    let ds = client.ds_records(CHILD).await.unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(
        client
            .get_rrset(POOL, CHILD, "DS")
            .await
            .unwrap()
            .unwrap()
            .contents,
        ds
    );

    // A crash half-way through a teardown (parent cleaned, child left):
    // teardown again finishes; provisioning afresh gets new keys and the
    // parent's DS follows them.
    client
        .patch_rrsets(
            POOL,
            &[
                RrsetChange::Delete {
                    name: CHILD.into(),
                    rtype: "NS".into(),
                },
                RrsetChange::Delete {
                    name: CHILD.into(),
                    rtype: "DS".into(),
                },
            ],
        )
        .await
        .unwrap();
    effects::apply(&client, &teardown()).await.unwrap();
    assert!(snapshot(&base, CHILD).await.is_none());
    effects::apply(&client, &provision()).await.unwrap();
    let new_ds = client.ds_records(CHILD).await.unwrap();
    assert_eq!(new_ds.len(), 1);
    assert_ne!(new_ds, ds, "a recreated zone has a new key");
    assert_eq!(
        client
            .get_rrset(POOL, CHILD, "DS")
            .await
            .unwrap()
            .unwrap()
            .contents,
        new_ds
    );

    // Publish into a missing zone is an error (the outbox retries it after
    // the Provision), not a silent success.
    let err = effects::apply(
        &client,
        &Effect::Publish {
            zone: "nobody.pool.test".into(),
            ipv4: "192.0.2.1".into(),
            ipv6: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");

    // Bad addresses fail before anything is sent.
    for (v4, v6) in [("2001:db8::1", None), ("192.0.2.1", Some("192.0.2.1"))] {
        let err = effects::apply(&client, &publish(v4, v6)).await.unwrap_err();
        assert!(matches!(err, DnsError::Invalid { .. }), "{err}");
    }
    // A child that is not below its parent is refused: tearing it down
    // would delete the pool zone.
    let err = effects::apply(
        &client,
        &Effect::Teardown {
            zone: POOL.into(),
            parent: POOL.into(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DnsError::Invalid { .. }), "{err}");
    assert!(client.zone_exists(POOL).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_zone_and_host_address() {
    let dnsd = Dnsd::start();
    let client = dnsd.client();
    let ns = vec![format!("ns1.{POOL}"), format!("ns2.{POOL}")];
    let ds = client.ensure_zone(POOL, &ns).await.unwrap();
    assert_eq!(client.ensure_zone(POOL, &ns).await.unwrap(), ds);
    for host in &ns {
        client
            .ensure_host_address(POOL, host, Ipv4Addr::new(192, 0, 2, 53))
            .await
            .unwrap();
    }
    client
        .ensure_host_address(POOL, &ns[0], Ipv4Addr::new(192, 0, 2, 54))
        .await
        .unwrap();
    let a = dnsd.udp(&format!("ns1.{POOL}."), RecordType::A);
    assert_eq!(
        a.answer().into_iter().map(|rr| rr.2).collect::<Vec<_>>(),
        vec!["192.0.2.54"]
    );
    let a = dnsd.udp(&format!("ns2.{POOL}."), RecordType::A);
    assert_eq!(
        a.answer().into_iter().map(|rr| rr.2).collect::<Vec<_>>(),
        vec!["192.0.2.53"]
    );
    let err = client
        .ensure_host_address(POOL, "ns1.example.net", Ipv4Addr::LOCALHOST)
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::Invalid { .. }), "{err}");
}

/// A validator (delv, given only the pool zone's DS) fully validates an A
/// answer in the child: the DS Provision put in the parent matches the
/// child's key. delv (Debian bind9-dnsutils) is required, as by the e2e
/// DNSSEC tests: a validation check that skipped itself would look like a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delv_validates_the_child_from_the_pool_anchor() {
    let dnsd = Dnsd::start();
    let client = dnsd.client();
    let pool_ds = pool_zone(&client).await;
    effects::apply(&client, &provision()).await.unwrap();
    effects::apply(&client, &publish("192.0.2.80", None))
        .await
        .unwrap();
    let f: Vec<&str> = pool_ds[0].split_whitespace().collect();
    let dir = scratch_dir("delv");
    let out = Delv::new(dnsd.dns.addr(), POOL, &f, &dir).ask(&format!("console.{CHILD}"), "A");
    assert!(out.contains("; fully validated"), "{out}");
    assert!(out.contains("192.0.2.80"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

//----------- a scripted HTTP front -----------------------------------------------------------

/// One request as the front saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the front does with a request.
enum Act {
    Canned(u16, String),
    Forward(String),
}

type Script = dyn Fn(&Seen, usize) -> Act + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that answers each request by `script`
/// (given the request and its 0-based number), one request per connection.
struct Front {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Front {
    async fn start(script: impl Fn(&Seen, usize) -> Act + Send + Sync + 'static) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (script, log, count, http) =
                    (script.clone(), log.clone(), count.clone(), http.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut stream).await else {
                        return;
                    };
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    log.lock().unwrap().push(req.clone());
                    let (status, body) = match script(&req, n) {
                        Act::Canned(status, body) => (status, body),
                        Act::Forward(base) => {
                            let method =
                                reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
                            let mut fwd = http.request(method, format!("{base}{}", req.path));
                            for (name, value) in &req.headers {
                                if ["x-api-key", "content-type", "accept"]
                                    .contains(&name.to_ascii_lowercase().as_str())
                                {
                                    fwd = fwd.header(name, value);
                                }
                            }
                            let r = fwd.body(req.body.clone()).send().await.unwrap();
                            (r.status().as_u16(), r.text().await.unwrap())
                        }
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n{}\r\n",
                        body.len(),
                        if body.is_empty() {
                            ""
                        } else {
                            "Content-Type: application/json\r\n"
                        }
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Front { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

fn a_change() -> Vec<RrsetChange> {
    vec![RrsetChange::Replace {
        name: "WWW.Example.Test".into(),
        rtype: "a".into(),
        ttl: 300,
        contents: vec!["192.0.2.1".into()],
    }]
}

/// The key must not be in an error's Display or Debug.
fn assert_no_key(err: &DnsError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(KEY), "key leaked: {text}");
    }
}

#[tokio::test]
async fn two_5xx_then_success_takes_three_attempts() {
    let front = Front::start(|_, n| {
        if n < 2 {
            Act::Canned(503, r#"{"error":"busy"}"#.into())
        } else {
            Act::Canned(204, String::new())
        }
    })
    .await;
    let client = client_for(&front.url);
    let start = Instant::now();
    client
        .patch_rrsets("Example.Test", &a_change())
        .await
        .unwrap();
    let elapsed = start.elapsed();
    let seen = front.seen();
    assert_eq!(seen.len(), 3);
    // Back-off 0, 250 ms, 1 s.
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");
    // Headers, names lower-cased with a trailing dot in path and body.
    for s in &seen {
        assert_eq!(s.method, "PATCH");
        assert_eq!(s.path, "/api/v1/servers/localhost/zones/example.test.");
        assert_eq!(s.header("x-api-key"), Some(KEY));
        assert_eq!(s.header("accept"), Some("application/json"));
        assert_eq!(s.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"rrsets":[{"name":"www.example.test.","type":"A","ttl":300,
                "changetype":"REPLACE","records":[{"content":"192.0.2.1","disabled":false}]}]})
        );
    }
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_three_with_the_server_text() {
    let front = Front::start(|_, _| Act::Canned(500, "<html>internal trouble</html>".into())).await;
    let client = client_for(&front.url);
    let err = client.zone_exists("x.test").await.unwrap_err();
    assert_eq!(front.seen().len(), 3);
    match &err {
        DnsError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 500);
            assert_eq!(message, "<html>internal trouble</html>");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert_no_key(&err);
    // No body on GET, so no Content-Type.
    assert_eq!(front.seen()[0].header("content-type"), None);
}

#[tokio::test]
async fn client_errors_come_back_at_once_with_the_error_text() {
    let front = Front::start(|_, _| {
        Act::Canned(
            422,
            r#"{"error":"Record www.example.test./A '1.2.3': Not in expected format"}"#.into(),
        )
    })
    .await;
    let client = client_for(&front.url);
    let err = client
        .patch_rrsets("example.test", &a_change())
        .await
        .unwrap_err();
    assert_eq!(front.seen().len(), 1, "4xx is not retried");
    match &err {
        DnsError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 422);
            assert_eq!(
                message,
                "Record www.example.test./A '1.2.3': Not in expected format"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
    assert_no_key(&err);

    // A long non-JSON body is quoted up to 256 bytes.
    let front = Front::start(|_, _| Act::Canned(400, "x".repeat(1000))).await;
    let err = client_for(&front.url).ping().await.unwrap_err();
    match &err {
        DnsError::Status { message, .. } => assert_eq!(message.len(), 256),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_key_never_shows() {
    // A server (or proxy) that echoes the request into its error body.
    let front = Front::start(|req, _| {
        Act::Canned(
            401,
            serde_json::json!({"error": format!("bad key {:?}", req.headers)}).to_string(),
        )
    })
    .await;
    let client = client_for(&front.url);
    let err = client.ping().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_no_key(&err);
    assert!(!format!("{client:?}").contains(KEY));

    // Nothing listening: unreachable after three attempts.
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_port(ip);
    let client = client_for(&format!("http://127.0.0.1:{port}"));
    let start = Instant::now();
    let err = client.delete_zone("gone.test").await.unwrap_err();
    assert!(matches!(err, DnsError::Unreachable { .. }), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(1200));
    assert!(err.is_transient());
    assert_no_key(&err);
}

#[tokio::test]
async fn create_zone_body_has_an_explicit_soa() {
    let front = Front::start(|_, _| Act::Canned(409, r#"{"error":"Conflict"}"#.into())).await;
    let client = client_for(&format!("{}/api/v1/", front.url));
    client
        .create_zone("Acme.Pool.Test", &nameservers())
        .await
        .expect("409 is success");
    let seen = front.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert!(seen[0].path.starts_with("/api/v1/servers/localhost/zones"));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["name"], "acme.pool.test.");
    assert_eq!(body["kind"], "Native");
    assert_eq!(
        body["nameservers"],
        serde_json::json!(["ns1.example.net.", "ns2.example.net."])
    );
    let soa = &body["rrsets"][0];
    assert_eq!(soa["name"], "acme.pool.test.");
    assert_eq!(soa["type"], "SOA");
    assert_eq!(soa["ttl"], 3600);
    let content = soa["records"][0]["content"].as_str().unwrap();
    let f: Vec<&str> = content.split(' ').collect();
    assert_eq!(f[0], "ns1.example.net.");
    assert_eq!(f[1], "hostmaster.acme.pool.test.");
    assert_eq!(f[2].len(), 10, "YYYYMMDDnn serial: {content}");
    assert_eq!(&f[3..], ["10800", "3600", "604800", "3600"]);
    // Not PDM's INCEPTION-EPOCH (defect 12).
    assert_eq!(body["soa_edit_api"], "DEFAULT");
}

#[tokio::test]
async fn enable_dnssec_sends_a_valid_soa_edit_api_and_adds_a_key_only_when_needed() {
    // A server whose `dnssec:true` made no key: the client adds one CSK.
    let front = Front::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
        ("GET", p) if p.ends_with("/cryptokeys") => Act::Canned(200, "[]".into()),
        ("POST", _) => Act::Canned(201, "{}".into()),
        ("PUT", p) if p.ends_with("/rectify") => {
            Act::Canned(200, r#"{"result":"Rectified"}"#.into())
        }
        _ => Act::Canned(204, String::new()),
    })
    .await;
    client_for(&front.url)
        .enable_dnssec("z.test")
        .await
        .unwrap();
    let seen = front.seen();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    let zone = "/api/v1/servers/localhost/zones/z.test.";
    assert_eq!(
        calls,
        vec![
            ("PUT".into(), zone.to_string()),
            ("GET".into(), format!("{zone}/cryptokeys")),
            ("POST".into(), format!("{zone}/cryptokeys")),
            ("PUT".into(), format!("{zone}/rectify")),
        ]
    );
    let put: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        put,
        serde_json::json!({"dnssec":true,"soa_edit_api":"DEFAULT"})
    );
    let post: Value = serde_json::from_str(&seen[2].body).unwrap();
    assert_eq!(post["keytype"], "csk");
    assert_eq!(post["active"], true);
}

/// Parent and child on two dnsd instances, one client in front (routing by
/// zone): the parent answers the child's names with a referral carrying
/// the NS and, with DO, the DS that matches the child's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parent_refers_to_the_child_with_its_ds() {
    let parent = Dnsd::start();
    let child = Dnsd::start();
    let (to_parent, to_child) = (parent.base_url(), child.base_url());
    let front = Front::start(move |req, _| {
        let parent_zone = format!("/zones/{POOL}.");
        let path = req.path.split('?').next().unwrap_or_default();
        let is_parent = path.ends_with(&parent_zone)
            || path.contains(&format!("{parent_zone}/"))
            || (req.method == "POST"
                && serde_json::from_str::<Value>(&req.body)
                    .is_ok_and(|b| b["name"] == format!("{POOL}.")));
        Act::Forward(if is_parent {
            to_parent.clone()
        } else {
            to_child.clone()
        })
    })
    .await;
    let client = client_for(&front.url);
    pool_zone(&client).await;
    effects::apply(&client, &provision()).await.unwrap();
    effects::apply(&client, &publish("192.0.2.99", None))
        .await
        .unwrap();
    assert!(!child.client().zone_exists(POOL).await.unwrap());
    assert!(!parent.client().zone_exists(CHILD).await.unwrap());

    let want_ds = ds_of(CHILD, &sep_keys(&child, CHILD)[0]);
    let r = parent.udp_do(&format!("www.{CHILD}."), RecordType::A);
    assert_eq!(r.rcode(), rcode::NOERROR, "{}", r.summary());
    assert!(r.answer().is_empty(), "a referral: {}", r.summary());
    assert!(!r.has(e2e::flag::AA), "{}", r.summary());
    let auth = r.authority();
    let ns: Vec<String> = auth
        .iter()
        .filter(|rr| rr.1 == "NS")
        .map(|rr| rr.2.clone())
        .collect();
    assert_eq!(sorted(ns), vec!["ns1.example.net.", "ns2.example.net."]);
    let ds: Vec<String> = auth
        .iter()
        .filter(|rr| rr.1 == "DS")
        .map(|rr| rr.2.clone())
        .collect();
    assert_eq!(ds, vec![want_ds], "{}", r.summary());
    assert!(auth.iter().any(|rr| rr.1 == "RRSIG"), "{}", r.summary());
    // The child itself answers authoritatively.
    let a = child.udp(&format!("www.{CHILD}."), RecordType::A);
    assert!(a.has(e2e::flag::AA));
    assert_eq!(a.answer()[0].2, "192.0.2.99");

    effects::apply(&client, &teardown()).await.unwrap();
    let r = parent.udp(&format!("www.{CHILD}."), RecordType::A);
    assert_eq!(r.rcode(), rcode::NXDOMAIN, "{}", r.summary());
    assert!(!child.client().zone_exists(CHILD).await.unwrap());
}

/// `PDM_PDNS_CA_FILE` that cannot be read, or holds no certificate, stops
/// the client from being built (the start fails with the file named).
#[test]
fn a_bad_ca_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("poolmgr-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (file, says) in [
        (dir.join("missing.pem"), "cannot read CA file"),
        (not_pem, "holds no PEM certificate"),
    ] {
        let Err(err) = PdnsClient::new(PdnsConfig {
            base_url: "https://127.0.0.1:1".into(),
            api_key: KEY.into(),
            server_id: "localhost".into(),
            ca_file: Some(file.clone()),
        }) else {
            panic!("{} accepted", file.display());
        };
        let text = err.to_string();
        assert!(
            text.contains(says) && text.contains(&*file.to_string_lossy()),
            "{text}"
        );
    }
}
