//! A throwaway CA and a server certificate for `localhost`/127.0.0.1, as PEM files in a temp dir.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::PathBuf;

/// PEM files of a CA and a server certificate signed by it.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA certificate PEM (for clients).
    pub ca_pem: String,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Clone for TlsFiles {
    fn clone(&self) -> Self {
        Self {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            ca_pem: self.ca_pem.clone(),
            _dir: self._dir.clone(),
        }
    }
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "prescale test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("ca key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
            .expect("cert");
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("ca.crt"), ca_cert.pem()).expect("write ca");
        std::fs::write(p("tls.crt"), cert.pem()).expect("write cert");
        std::fs::write(p("tls.key"), key.serialize_pem()).expect("write key");
        Self {
            ca: p("ca.crt"),
            cert: p("tls.crt"),
            key: p("tls.key"),
            ca_pem: ca_cert.pem(),
            _dir: std::sync::Arc::new(dir),
        }
    }
}
