//! The client against real primaries on loopback: Knot (`knotd`) and BIND
//! (`named`), each run in a temporary directory with a minimal
//! configuration on a free port, killed when the test ends. AXFR of a
//! zone of about 1,100 records, then an edit of the zone file, a reload,
//! and an IXFR that must bring exactly that edit. Skipped, with the
//! reason printed, when the server is not installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::*;
use crate::dnssec::sign::canonical_rdata;
use crate::zone::load;

/// Longest a server may take to start or to load a changed zone.
const READY: Duration = Duration::from_secs(20);
/// Read timeout of each transfer.
const WAIT: Duration = Duration::from_secs(10);

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port free for both UDP and TCP on 127.0.0.1 (the server binds both).
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

use crate::test_dir::TempDir;

/// A running primary; killed on drop.
struct Server {
    child: Child,
    log: PathBuf,
    addr: SocketAddr,
    // Dropped after the child is killed.
    dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(program: &Path, args: &[&str], dir: TempDir, addr: SocketAddr) -> Server {
        let log = dir.0.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Server {
            child,
            log,
            addr,
            dir,
        }
    }

    fn primary(&self) -> Primary {
        Primary {
            addr: self.addr,
            key: None,
        }
    }

    fn zone_file(&self) -> PathBuf {
        self.dir.0.join("example.test.zone")
    }

    /// Waits until the server serves `serial`; panics with its log if it
    /// does not within [`READY`] or exits.
    async fn wait_for_serial(&mut self, serial: u32) {
        let deadline = std::time::Instant::now() + READY;
        let mut last = None;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited ({status}):\n{}", self.log_text());
            }
            match soa_serial(&self.primary(), &origin(), Duration::from_millis(300)).await {
                Ok(got) if got == serial => return,
                other => last = Some(format!("{other:?}")),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "serial {serial} not served (last: {last:?}):\n{}",
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn origin() -> Name {
    Name::from_text("example.test.", None).unwrap()
}

/// The test zone: ~1,100 records of several types. `changed`: host7's A
/// deleted, host8's A replaced, a TXT added.
fn zone_text(serial: u32, changed: bool) -> String {
    let mut text = format!(
        "$ORIGIN example.test.\n$TTL 300\n\
         @ SOA ns1 hostmaster {serial} 7200 3600 1209600 60\n\
         @ NS ns1\n@ NS ns2\nns1 A 192.0.2.53\nns2 A 192.0.2.54\n\
         @ MX 10 mail\nmail A 192.0.2.25\nmail AAAA 2001:db8::25\n\
         _sip._tcp SRV 10 60 5060 sip\nsip A 192.0.2.26\n"
    );
    for i in 0..1000 {
        if changed && i == 7 {
            continue;
        }
        let address = if changed && i == 8 {
            "10.9.9.9".to_string()
        } else {
            format!("10.0.{}.{}", i / 250, i % 250)
        };
        text.push_str(&format!("host{i} A {address}\n"));
        if i % 10 == 0 {
            text.push_str(&format!("host{i} TXT \"record {i}\" \"second string\"\n"));
        }
        if i % 100 == 0 {
            text.push_str(&format!("alias{i} 60 CNAME host{i}\n"));
        }
    }
    if changed {
        text.push_str("fresh TXT \"new\"\n");
    }
    text
}

fn parse_zone(text: &str) -> Vec<Record> {
    load::parse_str(&origin(), text, Path::new("peer.zone")).unwrap()
}

/// A record as servers may rewrite it (names lower-cased), for comparing.
type Key = (Vec<u8>, u16, u16, u32, Vec<u8>);

fn keys(records: &[Record]) -> Vec<Key> {
    let mut keys: Vec<Key> = records
        .iter()
        .map(|r| {
            let mut rdata = Vec::new();
            canonical_rdata(r.rtype, &r.rdata, &mut rdata).unwrap();
            (
                r.owner.to_lowercase().as_wire().to_vec(),
                r.rtype.0,
                r.class,
                r.ttl,
                rdata,
            )
        })
        .collect();
    keys.sort();
    keys
}

/// AXFR equals the file; after an edit and a reload, IXFR from the old
/// serial brings exactly the edit, and IXFR from the new one nothing.
async fn check_primary(server: &mut Server, reload: impl Fn(&Server)) {
    server.wait_for_serial(1).await;
    let expected = parse_zone(&zone_text(1, false));
    assert!(expected.len() > 1000);

    let Fetched::Full(got) = fetch(&server.primary(), &origin(), None, WAIT)
        .await
        .unwrap()
    else {
        panic!("AXFR is not a full zone")
    };
    assert_eq!(got[0].rtype, RType::SOA, "SOA first");
    assert_eq!(
        got.iter().filter(|r| r.rtype == RType::SOA).count(),
        1,
        "SOA once"
    );
    assert_eq!(got.len(), expected.len());
    assert_eq!(keys(&got), keys(&expected));
    let mx = got.iter().find(|r| r.rtype == RType::MX).unwrap();
    assert_eq!(&mx.rdata[..], b"\x00\x0a\x04mail\x07example\x04test\x00");

    // Up to date at the current serial; a refresh is a single SOA.
    let fetched = fetch(&server.primary(), &origin(), Some(1), WAIT)
        .await
        .unwrap();
    assert!(
        matches!(fetched, Fetched::UpToDate { serial: 1 }),
        "{fetched:?}"
    );

    // The file changes (a second later, so its mtime does too).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(server.zone_file(), zone_text(2, true)).unwrap();
    reload(server);
    server.wait_for_serial(2).await;

    let fetched = fetch(&server.primary(), &origin(), Some(1), WAIT)
        .await
        .unwrap();
    let Fetched::Incremental(diffs) = fetched else {
        panic!("IXFR is not incremental: {fetched:?}")
    };
    assert_eq!(diffs.len(), 1);
    let diff = &diffs[0];
    assert_eq!((diff.old_serial(), diff.new_serial()), (1, 2));
    let deleted =
        parse_zone("$ORIGIN example.test.\n$TTL 300\nhost7 A 10.0.0.7\nhost8 A 10.0.0.8\n");
    let added =
        parse_zone("$ORIGIN example.test.\n$TTL 300\nhost8 A 10.9.9.9\nfresh TXT \"new\"\n");
    assert_eq!(keys(&diff.deleted), keys(&deleted));
    assert_eq!(keys(&diff.added), keys(&added));

    let fetched = fetch(&server.primary(), &origin(), Some(2), WAIT)
        .await
        .unwrap();
    assert!(
        matches!(fetched, Fetched::UpToDate { serial: 2 }),
        "{fetched:?}"
    );
    // A serial the primary has no history for: the whole zone, new version.
    let fetched = fetch(&server.primary(), &origin(), Some(0), WAIT)
        .await
        .unwrap();
    let Fetched::Full(got) = fetched else {
        panic!("IXFR from an unknown serial: {fetched:?}")
    };
    assert_eq!(keys(&got), keys(&parse_zone(&zone_text(2, true))));
}

#[tokio::test]
async fn knot_primary_axfr_and_ixfr() {
    let Some(knotd) = find_program("knotd") else {
        eprintln!("skipped: knotd is not installed");
        return;
    };
    let Some(knotc) = find_program("knotc") else {
        eprintln!("skipped: knotc is not installed");
        return;
    };
    let dir = TempDir::new("knot");
    let port = free_port();
    let root = dir.0.display().to_string();
    std::fs::create_dir_all(dir.0.join("db")).unwrap();
    std::fs::write(dir.0.join("example.test.zone"), zone_text(1, false)).unwrap();
    // zonefile-load: difference turns a reloaded file into a journal entry,
    // which is what IXFR serves.
    let conf = format!(
        "server:\n    rundir: \"{root}\"\n    listen: 127.0.0.1@{port}\n\
         \x20   udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
         database:\n    storage: \"{root}/db\"\n\
         log:\n  - target: stderr\n    any: info\n\
         acl:\n  - id: local\n    address: 127.0.0.0/8\n    action: transfer\n\
         template:\n  - id: default\n    storage: \"{root}\"\n    zonefile-sync: -1\n\
         \x20   zonefile-load: difference\n    journal-content: changes\n    semantic-checks: off\n\
         zone:\n  - domain: example.test.\n    file: \"example.test.zone\"\n    acl: local\n"
    );
    let conf_path = dir.0.join("knot.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let conf_arg = conf_path.display().to_string();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut server = Server::start(&knotd, &["-c", &conf_arg], dir, addr);
    check_primary(&mut server, |server| {
        let status = Command::new(&knotc)
            .args(["-c", &conf_arg, "zone-reload", "example.test."])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "knotc zone-reload:\n{}",
            server.log_text()
        );
    })
    .await;
}

#[tokio::test]
async fn bind_primary_axfr_and_ixfr() {
    let Some(named) = find_program("named") else {
        eprintln!("skipped: named is not installed");
        return;
    };
    let dir = TempDir::new("bind");
    let port = free_port();
    let root = dir.0.display().to_string();
    std::fs::write(dir.0.join("example.test.zone"), zone_text(1, false)).unwrap();
    // ixfr-from-differences: a reloaded file becomes a journal entry.
    let conf = format!(
        "options {{\n    directory \"{root}\";\n    pid-file \"{root}/named.pid\";\n\
         \x20   session-keyfile \"{root}/session.key\";\n    managed-keys-directory \"{root}\";\n\
         \x20   listen-on port {port} {{ 127.0.0.1; }};\n    listen-on-v6 {{ none; }};\n\
         \x20   recursion no;\n    allow-transfer {{ 127.0.0.0/8; }};\n    ixfr-from-differences yes;\n\
         \x20   notify no;\n    dnssec-validation no;\n}};\ncontrols {{ }};\n\
         zone \"example.test\" {{\n    type primary;\n    file \"example.test.zone\";\n}};\n"
    );
    let conf_path = dir.0.join("named.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let conf_arg = conf_path.display().to_string();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // -g: foreground, logs to stderr; -n 1: one worker thread.
    let mut server = Server::start(&named, &["-g", "-n", "1", "-c", &conf_arg], dir, addr);
    check_primary(&mut server, |server| {
        // SIGHUP: named reloads its configuration and changed zone files.
        let status = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    })
    .await;
}
