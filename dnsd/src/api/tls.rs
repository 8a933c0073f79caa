//! TLS for the API (`--api-tls-cert`, `--api-tls-key`): the certificate
//! chain and private key are read from PEM files once at start, and a
//! file that is missing, empty, unreadable or whose key does not belong to
//! the certificate stops the start with an error naming the file.
//!
//! Why TLS: an edge fetches the zones' private keys from the primary's API
//! (`xfr::keysync`), and the API key itself travels in every request; on
//! anything but loopback both need an encrypted, authenticated channel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::ApiTls;

/// Why the API's TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiTlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("api-tls {what} {path}: {reason}")]
    File {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// rustls refused the pair (most often: the key is not the certificate's).
    #[error("api-tls: certificate {cert} and key {key} cannot be used together: {reason}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The acceptor for `settings`: HTTP/1.1 only, rustls on `ring`.
pub fn acceptor(settings: &ApiTls) -> Result<TlsAcceptor, ApiTlsError> {
    let chain = read_chain(&settings.cert)?;
    let key = read_key(&settings.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| ApiTlsError::Pair {
            cert: settings.cert.clone(),
            key: settings.key.clone(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Every certificate of a PEM file, leaf first.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, ApiTlsError> {
    let error = |reason: String| ApiTlsError::File {
        what: "certificate",
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if chain.is_empty() {
        return Err(error("no CERTIFICATE block".into()));
    }
    Ok(chain)
}

/// The first private key of a PEM file (PKCS#8, SEC1 or PKCS#1). The
/// error never quotes the file's content.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ApiTlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| ApiTlsError::File {
        what: "key",
        path: path.to_path_buf(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no PRIVATE KEY block".into(),
            rustls::pki_types::pem::Error::Io(io) => io.to_string(),
            _ => "not a PEM private key".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn unusable_files_are_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("dnsd-api-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let second = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(&dir, "cert.pem", &first.cert.pem());
        let key = write(&dir, "key.pem", &first.key_pair.serialize_pem());
        let other_key = write(&dir, "other.pem", &second.key_pair.serialize_pem());
        let empty = write(&dir, "empty.pem", "");

        assert!(
            acceptor(&ApiTls {
                cert: cert.clone(),
                key: key.clone()
            })
            .is_ok()
        );

        let err = acceptor(&ApiTls {
            cert: cert.clone(),
            key: other_key,
        })
        .err()
        .unwrap();
        assert!(matches!(err, ApiTlsError::Pair { .. }), "{err}");

        let err = acceptor(&ApiTls {
            cert: empty.clone(),
            key: key.clone(),
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("empty.pem"), "{err}");

        let err = acceptor(&ApiTls {
            cert: cert.clone(),
            key: empty,
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("no PRIVATE KEY"), "{err}");

        let missing = dir.join("missing.pem");
        let err = acceptor(&ApiTls { cert: missing, key }).err().unwrap();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
