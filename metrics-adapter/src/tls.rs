//! TLS for the API server (rustls, TLS 1.2+, ALPN h2 and http/1.1): the serving certificate
//! from mounted files (re-read when they change, no restart) or self-signed at start, and the
//! front-proxy client CA that decides which client certificates are trusted (swappable when
//! the `extension-apiserver-authentication` ConfigMap changes).
//!
//! The current `ServerConfig` lives behind an `ArcSwap`; every new connection uses the config
//! current at its handshake, so a swap never disturbs open connections.

use arc_swap::ArcSwap;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// A serving certificate chain and its key.
pub struct ServingCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl ServingCert {
    /// Parses PEM chain and key (the key is never printed).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = rustls_pemfile::certs(&mut &*cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Invalid(format!("serving certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(TlsError::Invalid(
                "serving certificate file holds no certificate".into(),
            ));
        }
        let key = rustls_pemfile::private_key(&mut &*key_pem)
            .map_err(|_| TlsError::Invalid("serving key PEM could not be parsed".into()))?
            .ok_or_else(|| TlsError::Invalid("serving key file holds no private key".into()))?;
        Ok(Self { chain, key })
    }
}

/// PEM CA certificates into a root store.
pub fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &*pem) {
        let cert = cert.map_err(|e| TlsError::Invalid(format!("client CA PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| TlsError::Invalid(format!("client CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Invalid(
            "client CA bundle holds no certificate".into(),
        ));
    }
    Ok(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A verifier of client certificates against the front-proxy CA.
pub fn client_verifier(roots: &RootCertStore) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Invalid(format!("client certificate verifier: {e}")))
}

/// Accepts any client certificate chain during the handshake (while still checking that the
/// client holds its key), so that an untrusted certificate is answered with a 401 `Status`
/// instead of a bare handshake failure. The chain is verified right after the handshake by
/// [`TlsState::verify_client`]; only a verified chain yields an identity.
#[derive(Debug)]
struct DeferredVerifier(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for DeferredVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Builds a server config: TLS 1.2+, ALPN h2 + http/1.1; client certificates are requested
/// (not required) when a client CA is configured.
pub fn server_config(
    cert: ServingCert,
    client_ca: Option<&RootCertStore>,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Invalid(format!("TLS versions: {e}")))?;
    let builder = match client_ca {
        Some(roots) => {
            builder.with_client_cert_verifier(Arc::new(DeferredVerifier(client_verifier(roots)?)))
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(cert.chain, cert.key)
        .map_err(|e| TlsError::Invalid(format!("serving certificate and key do not match: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    Files { cert: PathBuf, key: PathBuf },
    SelfSigned { names: Vec<String> },
}

/// The live TLS state: the serving certificate and the client CA, swapped atomically.
pub struct TlsState {
    source: CertSource,
    config: ArcSwap<ServerConfig>,
    /// The PEM of the current client CA (None: no client certificates are trusted).
    client_ca: ArcSwap<Option<Vec<u8>>>,
    /// The modification times the certificate files had when last loaded.
    loaded: std::sync::Mutex<Option<(SystemTime, SystemTime)>>,
    /// The certificate and key PEMs in force (the last good load), reused when only the
    /// client CA changes.
    serving: std::sync::Mutex<(Vec<u8>, Vec<u8>)>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl TlsState {
    /// Loads the certificate (or makes a self-signed one) and the optional client CA.
    pub fn new(source: CertSource, client_ca_pem: Option<Vec<u8>>) -> Result<Arc<Self>, TlsError> {
        let (cert_pem, key_pem) = match &source {
            CertSource::Files { cert, key } => (read(cert)?, read(key)?),
            CertSource::SelfSigned { names } => {
                let ck = rcgen::generate_simple_self_signed(names.clone())
                    .map_err(|e| TlsError::Invalid(format!("self-signed certificate: {e}")))?;
                (
                    ck.cert.pem().into_bytes(),
                    ck.signing_key.serialize_pem().into_bytes(),
                )
            }
        };
        let cfg = Self::build(&cert_pem, &key_pem, client_ca_pem.as_deref())?;
        let state = Self {
            loaded: std::sync::Mutex::new(match &source {
                CertSource::Files { cert, key } => mtime(cert).zip(mtime(key)),
                CertSource::SelfSigned { .. } => None,
            }),
            serving: std::sync::Mutex::new((cert_pem, key_pem)),
            source,
            config: ArcSwap::from_pointee(cfg),
            client_ca: ArcSwap::from_pointee(client_ca_pem),
        };
        Ok(Arc::new(state))
    }

    fn build(cert_pem: &[u8], key_pem: &[u8], ca: Option<&[u8]>) -> Result<ServerConfig, TlsError> {
        let roots = ca.map(roots_from_pem).transpose()?;
        server_config(ServingCert::from_pem(cert_pem, key_pem)?, roots.as_ref())
    }

    /// The config for the next handshake.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }

    /// Verifies a presented client chain against the current front-proxy CA.
    pub fn verify_client(&self, chain: &[CertificateDer<'_>]) -> bool {
        let Some(pem) = self.client_ca.load_full().as_ref().clone() else {
            return false;
        };
        let Some((leaf, intermediates)) = chain.split_first() else {
            return false;
        };
        let Ok(verifier) = roots_from_pem(&pem).and_then(|r| client_verifier(&r)) else {
            return false;
        };
        verifier
            .verify_client_cert(leaf, intermediates, rustls::pki_types::UnixTime::now())
            .is_ok()
    }

    /// Replaces the trusted front-proxy client CA. A bad bundle is rejected and the old one
    /// stays in force.
    pub fn set_client_ca(&self, pem: Option<Vec<u8>>) -> Result<(), TlsError> {
        if *self.client_ca.load_full() == pem {
            return Ok(());
        }
        let (cert, key) = self
            .serving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let cfg = Self::build(&cert, &key, pem.as_deref())?;
        self.client_ca.store(Arc::new(pem));
        self.config.store(Arc::new(cfg));
        tracing::info!("front-proxy client CA updated");
        Ok(())
    }

    /// Serves `cert_pem`/`key_pem` from the next handshake on (a certificate handed over by
    /// the operator, e.g. from a Secret it follows). Returns whether it differs from the one in
    /// force; a broken pair is rejected and the old one kept.
    pub fn set_serving(&self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Result<bool, TlsError> {
        let mut serving = self.serving.lock().unwrap_or_else(|e| e.into_inner());
        if serving.0 == cert_pem && serving.1 == key_pem {
            return Ok(false);
        }
        let ca = self.client_ca.load_full();
        let cfg = Self::build(&cert_pem, &key_pem, ca.as_deref())?;
        self.config.store(Arc::new(cfg));
        *serving = (cert_pem, key_pem);
        Ok(true)
    }

    /// Re-reads the certificate files if they changed since the last load. Returns whether a
    /// new certificate is now served. A broken pair is reported and the old one kept.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let CertSource::Files { cert, key } = &self.source else {
            return Ok(false);
        };
        let now = mtime(cert).zip(mtime(key));
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if now.is_none() || *loaded == now {
            return Ok(false);
        }
        let ca = self.client_ca.load_full();
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        let cfg = Self::build(&cert_pem, &key_pem, ca.as_deref())?;
        self.config.store(Arc::new(cfg));
        *self.serving.lock().unwrap_or_else(|e| e.into_inner()) = (cert_pem, key_pem);
        *loaded = now;
        tracing::info!(cert = %cert.display(), "serving certificate reloaded");
        Ok(true)
    }

    /// Polls the certificate files every `every` until the task is dropped (a Secret volume
    /// update swaps a symlink, which a poll sees reliably).
    pub async fn watch_files(self: Arc<Self>, every: std::time::Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.reload_if_changed() {
                tracing::warn!(error = %e, "serving certificate not reloaded; keeping the current one");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_when_no_files_and_bad_ca_rejected() {
        let state = TlsState::new(
            CertSource::SelfSigned {
                names: vec!["prescale-metrics-apiserver.prescale.svc".into()],
            },
            None,
        )
        .unwrap();
        assert_eq!(
            state.current().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(!state.verify_client(&[]));
        assert!(state.set_client_ca(Some(b"not pem".to_vec())).is_err());
        let missing = TlsState::new(
            CertSource::Files {
                cert: "/nonexistent/tls.crt".into(),
                key: "/nonexistent/tls.key".into(),
            },
            None,
        );
        assert!(matches!(missing, Err(TlsError::Read { .. })));
    }
}
