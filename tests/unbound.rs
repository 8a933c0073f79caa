//! A real validating resolver for tests: unbound on a loopback port, with
//! dnsd as the stub for the zones under test, a DS trust anchor, and every
//! other name forwarded to a dead port (nothing leaves the machine).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::{Query, Reply, flag, free_port, scratch_dir, udp_exchange};

/// A system tool from Debian's packages, or a panic saying what to install.
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: apt-get install unbound bind9-dnsutils (.ci/run does this)");
}

/// A running unbound; killed on drop.
pub struct Unbound {
    child: Child,
    /// Where it answers.
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl Unbound {
    /// Starts unbound trusting `anchor_zone` through the DS fields
    /// `anchor_ds` (`tag alg digest-type hex`), sending every name under
    /// `stub_zones` to `dnsd`. The first stub zone's SOA is the readiness
    /// probe.
    pub fn start(
        dnsd: SocketAddr,
        anchor_zone: &str,
        anchor_ds: &[String],
        stub_zones: &[&str],
        aggressive_nsec: bool,
    ) -> Unbound {
        let dir = scratch_dir("unbound");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let port = free_port(ip);
        let mut conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  directory: \"{dir}\"\n  \
             pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  val-log-level: 2\n  \
             access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: \"validator iterator\"\n  \
             local-zone: \"test.\" nodefault\n  aggressive-nsec: {aggr}\n  qname-minimisation: no\n  \
             trust-anchor-signaling: no\n  \
             trust-anchor: \"{anchor_zone} DS {ds}\"\n",
            dir = dir.display(),
            aggr = if aggressive_nsec { "yes" } else { "no" },
            ds = anchor_ds.join(" "),
        );
        for zone in stub_zones {
            conf.push_str(&format!(
                "stub-zone:\n  name: \"{zone}\"\n  stub-addr: {}@{}\n",
                dnsd.ip(),
                dnsd.port()
            ));
        }
        conf.push_str(
            "forward-zone:\n  name: \".\"\n  forward-addr: 127.0.0.1@9\nremote-control:\n  control-enable: no\n",
        );
        let conf_path = dir.join("unbound.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let check = Command::new(tool("unbound-checkconf"))
            .arg(&conf_path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "unbound-checkconf: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let child = Command::new(tool("unbound"))
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("start unbound");
        let unbound = Unbound {
            child,
            addr: SocketAddr::new(ip, port),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe = Query::new(stub_zones[0], RecordType::SOA)
            .edns()
            .dnssec_ok()
            .to_bytes();
        while Instant::now() < deadline {
            if udp_exchange(unbound.addr, &probe, Duration::from_millis(300)).is_some() {
                return unbound;
            }
        }
        panic!("unbound did not start: {}", unbound.log());
    }

    /// unbound's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Resolves through unbound with DO set (and RD, as a stub resolver would).
    pub fn ask(&self, name: &str, qtype: RecordType) -> Reply {
        let q = Query::new(name, qtype).set(flag::RD).edns().dnssec_ok();
        let bytes = udp_exchange(self.addr, &q.to_bytes(), Duration::from_secs(5))
            .unwrap_or_else(|| panic!("unbound gave no answer for {name} {qtype}\n{}", self.log()));
        Reply::parse(bytes)
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
