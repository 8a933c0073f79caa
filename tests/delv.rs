//! delv, BIND's validating lookup tool, asking one server on loopback and
//! trusting one zone's DS only: a second validator beside unbound.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::unbound::tool;

/// delv pointed at one server, with one static DS as its only trust anchor.
pub struct Delv {
    server: SocketAddr,
    zone: String,
    anchors: PathBuf,
}

impl Delv {
    /// Trusts `zone` through the DS fields `ds` (`tag alg digest-type hex`);
    /// the anchor file is written into `dir`.
    pub fn new<S: AsRef<str>>(server: SocketAddr, zone: &str, ds: &[S], dir: &Path) -> Delv {
        let zone = zone.trim_end_matches('.').to_string();
        let [tag, alg, digest_type, digest] = ds else {
            panic!("a DS has four fields, got {}", ds.len());
        };
        let anchors = dir.join("delv-anchors.conf");
        std::fs::write(
            &anchors,
            format!(
                "trust-anchors {{ {zone}. static-ds {} {} {} \"{}\"; }};\n",
                tag.as_ref(),
                alg.as_ref(),
                digest_type.as_ref(),
                digest.as_ref()
            ),
        )
        .expect("write delv's trust anchor");
        Delv {
            server,
            zone,
            anchors,
        }
    }

    /// `delv name qtype`: stdout and stderr as one text; `; fully validated`
    /// in it when the answer validated.
    pub fn ask(&self, name: &str, qtype: &str) -> String {
        let out = Command::new(tool("delv"))
            .arg(format!("@{}", self.server.ip()))
            .args(["-p", &self.server.port().to_string(), "-a"])
            .arg(&self.anchors)
            .arg(format!("+root={}", self.zone))
            .args([name, qtype])
            .output()
            .expect("run delv");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}
