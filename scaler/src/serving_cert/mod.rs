//! The metrics API's serving certificate when the operator makes it (install's default
//! `--cert-mode operator`): a CA and a serving certificate for the metrics API Service's DNS
//! names, kept in one Secret (`tls.crt`, `tls.key`, `ca.crt`, `ca.key`) and renewed before
//! they expire. The APIService's `caBundle` is the Secret's `ca.crt`.
//!
//! Rotation without a gap: a serving certificate is renewed under the same CA, so the bundle
//! does not change. A CA near its end is replaced in two steps: first the new CA joins the
//! bundle (`ca.crt` = new + old) while the serving certificate signed by the old CA stays; only
//! once the APIService carries that bundle is a serving certificate from the new CA issued.
//! A CA that has expired leaves the bundle at the next write.
//!
//! This module decides ([`decide`], pure, table-tested) and makes the material ([`apply`]);
//! `write::serving_cert` reads and writes the objects (leader only) and [`reload`] hands the
//! Secret to the TLS server of every replica.

pub mod reload;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::collections::BTreeMap;
use std::time::Duration;

pub const TLS_CRT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";

/// Where the serving certificate comes from, for `operator::run`.
#[derive(Debug, Clone)]
pub struct ServingCertConfig {
    /// The operator's namespace (the Secret lives here).
    pub namespace: String,
    /// The Secret every replica serves from (`tls.crt`, `tls.key`).
    pub secret: String,
    /// Set when the operator makes and renews the Secret itself (else cert-manager does).
    pub manage: Option<ManagedCert>,
}

/// What the leader keeps in step when it manages the certificate.
#[derive(Debug, Clone)]
pub struct ManagedCert {
    /// The metrics API Service (the certificate names it).
    pub service: String,
    /// The APIService whose `caBundle` follows `ca.crt`.
    pub api_service: String,
    /// The ValidatingWebhookConfiguration whose webhooks' `caBundle` follows `ca.crt` too
    /// (when the admission webhook is served).
    pub webhook_configuration: Option<String>,
    pub policy: Policy,
}

/// Lifetimes; each is renewed when a third of its lifetime is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub cert_validity: Duration,
    pub ca_validity: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            cert_validity: Duration::from_secs(90 * 24 * 3600),
            ca_validity: Duration::from_secs(10 * 365 * 24 * 3600),
        }
    }
}

/// The DNS names of the metrics API Service the certificate must carry.
pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// One certificate, as decisions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub dns_names: Vec<String>,
}

impl CertInfo {
    /// Whether a third or less of its lifetime is left at `now`.
    fn due(&self, now: i64) -> bool {
        now >= self.not_after - (self.not_after - self.not_before) / 3
    }
}

/// What the Secret holds: the CA bundle (current CA first) and the serving certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub cas: Vec<CertInfo>,
    pub cert: CertInfo,
}

fn parse_all(pem: &str, what: &str) -> Result<Vec<CertInfo>, String> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|e| format!("{what}: not PEM ({e})"))?;
        let cert = block
            .parse_x509()
            .map_err(|e| format!("{what}: not an X.509 certificate ({e})"))?;
        let dns_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            dns_names,
        });
    }
    if out.is_empty() {
        return Err(format!("{what}: no certificate"));
    }
    Ok(out)
}

/// Reads the Secret's data (PEM texts by key). Keys are checked to parse, never printed.
pub fn inspect(data: &BTreeMap<String, String>) -> Result<Material, String> {
    let get = |k: &str| data.get(k).ok_or_else(|| format!("{k} is missing"));
    KeyPair::from_pem(get(CA_KEY)?).map_err(|_| format!("{CA_KEY} is not a private key"))?;
    KeyPair::from_pem(get(TLS_KEY)?).map_err(|_| format!("{TLS_KEY} is not a private key"))?;
    Ok(Material {
        cas: parse_all(get(CA_CRT)?, CA_CRT)?,
        cert: parse_all(get(TLS_CRT)?, TLS_CRT)?.remove(0),
    })
}

/// What to do with the Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Keep,
    /// A new CA and a serving certificate signed by it (nothing usable is there).
    Fresh(String),
    /// A new CA joins the bundle; the serving certificate stays for now.
    NewCa(String),
    /// A new serving certificate from the current CA.
    NewCert(String),
}

/// What the Secret needs at `now` (unix seconds). `current`: None when there is no Secret;
/// `bundle_published`: the APIService's `caBundle` equals the Secret's `ca.crt`.
pub fn decide(
    current: Option<&Result<Material, String>>,
    bundle_published: bool,
    names: &[String],
    now: i64,
) -> Action {
    let m = match current {
        None => return Action::Fresh("no serving certificate Secret yet".into()),
        Some(Err(e)) => return Action::Fresh(format!("the Secret is unusable: {e}")),
        Some(Ok(m)) => m,
    };
    let ca = &m.cas[0];
    if ca.not_after <= now {
        return Action::Fresh("the CA has expired".into());
    }
    if ca.due(now) {
        return Action::NewCa(format!("the CA expires at {}", ca.not_after));
    }
    if m.cert.issuer != ca.subject {
        return if bundle_published {
            Action::NewCert("the serving certificate is signed by the previous CA".into())
        } else {
            Action::Keep
        };
    }
    if m.cert.due(now) {
        return Action::NewCert(format!(
            "the serving certificate expires at {}",
            m.cert.not_after
        ));
    }
    if let Some(missing) = names.iter().find(|n| !m.cert.dns_names.contains(n)) {
        return Action::NewCert(format!("the serving certificate does not name {missing}"));
    }
    Action::Keep
}

fn at(unix: i64) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::from_unix_timestamp(unix).map_err(|e| e.to_string())
}

/// Validity from `now`, back-dated by a tenth of it (at most a minute) for clock skew.
fn window(params: &mut CertificateParams, now: i64, validity: Duration) -> Result<(), String> {
    let secs = validity.as_secs().max(1) as i64;
    params.not_before = at(now - (secs / 10).min(60))?;
    params.not_after = at(now + secs)?;
    Ok(())
}

fn new_ca(now: i64, policy: &Policy) -> Result<(String, KeyPair), String> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    // the time in the name tells CAs apart, so a certificate's issuer names its CA
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("prescale-metrics-apiserver-ca@{now}"),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    window(&mut ca, now, policy.ca_validity)?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let pem = ca.self_signed(&key).map_err(|e| e.to_string())?.pem();
    Ok((pem, key))
}

fn new_cert(
    ca_pem: &str,
    ca_key: &KeyPair,
    names: &[String],
    now: i64,
    policy: &Policy,
) -> Result<(String, String), String> {
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key).map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.get(2).cloned().unwrap_or_default(),
    );
    window(&mut params, now, policy.cert_validity)?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The PEM blocks of a bundle, each with its end.
fn still_valid(bundle: &str, now: i64) -> String {
    let ends = parse_all(bundle, CA_CRT).unwrap_or_default();
    pem_blocks(bundle)
        .into_iter()
        .zip(ends)
        .filter(|(_, info)| info.not_after > now)
        .map(|(b, _)| b)
        .collect()
}

fn pem_blocks(text: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    text.split_inclusive(END)
        .filter(|b| b.contains(END))
        .map(|b| format!("{}\n", b.trim_start()))
        .collect()
}

/// The Secret's new data for `action` (`old`: the current data, empty when none).
pub fn apply(
    action: &Action,
    old: &BTreeMap<String, String>,
    names: &[String],
    policy: &Policy,
    now: i64,
) -> Result<BTreeMap<String, String>, String> {
    let mut data = old.clone();
    let old_bundle = old.get(CA_CRT).cloned().unwrap_or_default();
    match action {
        Action::Keep => {}
        Action::Fresh(_) => {
            let (ca, key) = new_ca(now, policy)?;
            let (crt, crt_key) = new_cert(&ca, &key, names, now, policy)?;
            data = BTreeMap::from([
                (CA_CRT.into(), ca),
                (CA_KEY.into(), key.serialize_pem()),
                (TLS_CRT.into(), crt),
                (TLS_KEY.into(), crt_key),
            ]);
        }
        Action::NewCa(_) => {
            let (ca, key) = new_ca(now, policy)?;
            data.insert(
                CA_CRT.into(),
                format!("{ca}{}", still_valid(&old_bundle, now)),
            );
            data.insert(CA_KEY.into(), key.serialize_pem());
        }
        Action::NewCert(_) => {
            let current = pem_blocks(&old_bundle)
                .into_iter()
                .next()
                .ok_or("ca.crt holds no certificate")?;
            let key = KeyPair::from_pem(old.get(CA_KEY).map_or("", String::as_str))
                .map_err(|_| "ca.key is not a private key".to_string())?;
            let (crt, crt_key) = new_cert(&current, &key, names, now, policy)?;
            data.insert(CA_CRT.into(), still_valid(&old_bundle, now));
            data.insert(TLS_CRT.into(), crt);
            data.insert(TLS_KEY.into(), crt_key);
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
