//! The one way a check opens a connection: the target policy first, then
//! an optional bind to the `source` address, then TCP connect. The probe,
//! the HTTP request and every redirect come through here, so no path can
//! skip the policy.

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

use super::CheckError;
use super::policy::TargetPolicy;

/// TCP connect to `addr`, bound to `source` first when given, when the
/// target policy allows `addr` (every connection of a check comes here).
pub(super) async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
    targets: &TargetPolicy,
) -> Result<TcpStream, CheckError> {
    targets
        .check(addr.ip())
        .map_err(|reason| CheckError::Denied { addr, reason })?;
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|err| CheckError::Connect { addr, err })?;
    if let Some(src) = source {
        sock.bind(SocketAddr::new(src, 0))
            .map_err(|err| CheckError::Bind {
                source_addr: src,
                err,
            })?;
    }
    sock.connect(addr)
        .await
        .map_err(|err| CheckError::Connect { addr, err })
}
