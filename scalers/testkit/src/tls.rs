//! A throwaway CA, a server certificate for `localhost`/127.0.0.1 and a client certificate, as
//! PEM files in a temp dir.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::PathBuf;
use std::sync::Arc;

/// PEM files of a CA and a server certificate signed by it, plus a client certificate.
#[derive(Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA certificate PEM (for clients).
    pub ca_pem: String,
    /// A client certificate (CN `prescale-client`) signed by the CA, and its key, as PEM.
    pub client_cert_pem: String,
    pub client_key_pem: String,
    /// The CA's parameters and key (PEM), to sign more certificates ([`TlsFiles::client_cert_for`]).
    ca_params: CertificateParams,
    ca_key_pem: String,
    _dir: Arc<tempfile::TempDir>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

fn signed(names: Vec<String>, cn: &str, issuer: &Issuer<'_, &KeyPair>) -> (String, String) {
    let mut params = CertificateParams::new(names).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("cert");
    (cert.pem(), key.serialize_pem())
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
        let ca_pem = ca_params.self_signed(&ca_key).expect("ca cert").pem();
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let (cert, key) = signed(
            vec!["localhost".into(), "127.0.0.1".into()],
            "localhost",
            &issuer,
        );
        let (client_cert_pem, client_key_pem) = signed(Vec::new(), "prescale-client", &issuer);
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("ca.crt"), &ca_pem).expect("write ca");
        std::fs::write(p("tls.crt"), cert).expect("write cert");
        std::fs::write(p("tls.key"), key).expect("write key");
        let ca_key_pem = ca_key.serialize_pem();
        Self {
            ca_params,
            ca_key_pem,
            ca: p("ca.crt"),
            cert: p("tls.crt"),
            key: p("tls.key"),
            ca_pem,
            client_cert_pem,
            client_key_pem,
            _dir: Arc::new(dir),
        }
    }
}

impl TlsFiles {
    /// A client certificate (CN `cn`) for an existing key (PKCS#8 PEM, e.g. an RSA key made by
    /// `openssl genpkey`), signed by this CA.
    pub fn client_cert_for(&self, key_pem: &str, cn: &str) -> String {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).expect("ca key");
        let issuer = Issuer::from_params(&self.ca_params, &ca_key);
        let key = KeyPair::from_pem(key_pem).expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.signed_by(&key, &issuer).expect("cert").pem()
    }
}
