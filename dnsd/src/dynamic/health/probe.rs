//! One check, start to finish: TCP connect (spec §6.5) or HTTP(S) GET
//! (§6.6), under one deadline, turned into an [`Outcome`].

use std::time::Duration;

use super::CheckError;
use super::connect::connect;
use super::http::{self, Fetch};
use super::policy::TargetPolicy;
use super::tls::TlsClient;
use crate::dynamic::{CheckKey, CheckKind, CheckOptions};

/// The result of one completed check.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Up; `weight` is the body's `stoi` for HTTP checks (0 if none).
    Up { weight: i32 },
    /// Failed, with the reason.
    Down(CheckError),
}

/// What every check needs besides its key.
#[derive(Debug)]
pub(super) struct ProbeEnv {
    /// TLS client settings (verification on or off).
    pub tls: TlsClient,
    /// Upper bound for any check, also used when `timeout` ≤ 0.
    pub hard_timeout: Duration,
    /// Most redirects followed.
    pub max_redirects: u32,
    /// Where checks may connect.
    pub targets: TargetPolicy,
    /// Tests: answers checks in place of the network (scheduling tests on
    /// a paused clock).
    #[cfg(test)]
    pub fake: Option<FakeProbe>,
}

/// Tests: a check's network side, replaced.
#[cfg(test)]
pub(super) trait FakeNet: std::fmt::Debug + Send + Sync {
    /// What the probe of `key` returns, and when.
    fn check(
        &self,
        key: &CheckKey,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<i32, CheckError>> + Send>>;
}

#[cfg(test)]
pub(super) type FakeProbe = std::sync::Arc<dyn FakeNet>;

/// The deadline of a check: the `timeout` option in seconds, capped by the
/// hard limit; ≤ 0 (no limit in libcurl) gives the hard limit. Returns the
/// limit and whether the option was overridden.
pub(super) fn deadline(options: &CheckOptions, hard: Duration) -> (Duration, bool) {
    match u64::try_from(options.timeout_secs) {
        Ok(s) if s > 0 => {
            let asked = Duration::from_secs(s);
            (asked.min(hard), asked > hard)
        }
        _ => (hard, true),
    }
}

/// Runs the check for `key` and classifies the result.
pub(super) async fn run(key: &CheckKey, env: &ProbeEnv) -> Outcome {
    let (limit, _) = deadline(&key.options, env.hard_timeout);
    match tokio::time::timeout(limit, probe(key, env)).await {
        Ok(Ok(weight)) => Outcome::Up { weight },
        Ok(Err(err)) => Outcome::Down(err),
        Err(_) => Outcome::Down(CheckError::Timeout { after: limit }),
    }
}

async fn probe(key: &CheckKey, env: &ProbeEnv) -> Result<i32, CheckError> {
    #[cfg(test)]
    if let Some(fake) = &env.fake {
        return fake.check(key).await;
    }
    let o = &key.options;
    match key.kind {
        CheckKind::Tcp => {
            let Some(addr) = key.addr else {
                return Err(CheckError::Request("TCP check without an address".into()));
            };
            // Up = connected; nothing is sent; closed at once (drop).
            connect(addr, o.source, &env.targets).await.map(|_| 0)
        }
        CheckKind::Http | CheckKind::HttpUnpinned => {
            let pin = match key.kind {
                CheckKind::Http => key.addr.map(|a| a.ip()),
                _ => None,
            };
            let fetch = Fetch {
                url: &key.url,
                pin,
                source: o.source,
                useragent: &o.useragent,
                headers: &o.headers,
                byteslimit: o.byteslimit,
                max_redirects: env.max_redirects,
                targets: &env.targets,
            };
            let resp = http::get(&fetch, &env.tls).await?;
            if i64::from(resp.status) != o.httpcode {
                return Err(CheckError::Status {
                    got: resp.status,
                    want: o.httpcode,
                });
            }
            if let Some(m) = &o.stringmatch
                && !contains(&resp.body, m.as_bytes())
            {
                return Err(CheckError::NoMatch(m.clone()));
            }
            Ok(stoi(&resp.body).unwrap_or(0))
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// C++ `std::stoi`: leading whitespace, optional sign, at least one digit,
/// then anything. `None` when there are no digits or the value leaves `int`.
pub(super) fn stoi(body: &[u8]) -> Option<i32> {
    let mut rest = body;
    while let [c, tail @ ..] = rest
        && matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
    {
        rest = tail;
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in &rest[..digits] {
        v = v * 10 + i64::from(c - b'0');
        if v > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if negative { -v } else { v }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stoi_matches_cpp() {
        assert_eq!(stoi(b"12"), Some(12));
        assert_eq!(stoi(b"12\n"), Some(12));
        assert_eq!(stoi(b"  \t\n12abc"), Some(12));
        assert_eq!(stoi(b"+7"), Some(7));
        assert_eq!(stoi(b"-5"), Some(-5));
        assert_eq!(stoi(b"2147483647"), Some(i32::MAX));
        assert_eq!(stoi(b"-2147483648"), Some(i32::MIN));
        assert_eq!(stoi(b"2147483648"), None);
        assert_eq!(stoi(b"99999999999999999999"), None);
        assert_eq!(stoi(b"abc"), None);
        assert_eq!(stoi(b""), None);
        assert_eq!(stoi(b"- 1"), None);
        assert_eq!(stoi(b"OK"), None);
    }

    #[test]
    fn deadline_caps_and_replaces_no_limit() {
        let hard = Duration::from_secs(30);
        let with = |t| CheckOptions {
            timeout_secs: t,
            ..CheckOptions::default()
        };
        assert_eq!(deadline(&with(2), hard), (Duration::from_secs(2), false));
        assert_eq!(deadline(&with(0), hard), (hard, true));
        assert_eq!(deadline(&with(-1), hard), (hard, true));
        assert_eq!(deadline(&with(3600), hard), (hard, true));
    }

    #[test]
    fn substring() {
        assert!(contains(b"all good here", b"good"));
        assert!(!contains(b"all good here", b"bad"));
        assert!(contains(b"x", b""));
        assert!(!contains(b"go", b"good"));
    }
}
