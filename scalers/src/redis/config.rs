//! `redis`, `redis-cluster`, `redis-sentinel` metadata (spec §5.2): parameters with KEDA's
//! source orders, defaults, host/port pairing and TLS rules.

use crate::error::Result;
use crate::input::TriggerInput;
use crate::metric::MetricType;
use crate::params::{AUTH, META, Need, Params, Source};

/// Which of the three trigger types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Standalone,
    Cluster,
    Sentinel,
}

impl Mode {
    pub fn from_type(t: &str) -> Self {
        match t {
            "redis-cluster" => Mode::Cluster,
            "redis-sentinel" => Mode::Sentinel,
            _ => Mode::Standalone,
        }
    }
}

/// TLS settings of a Redis connection.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Tls {
    pub enabled: bool,
    pub unsafe_ssl: bool,
    pub cert: String,
    pub key: String,
    pub key_password: String,
    pub ca: String,
}

/// A parsed Redis trigger. Debug hides credentials.
#[derive(Clone, PartialEq)]
pub struct RedisMetadata {
    pub mode: Mode,
    pub addresses: Vec<String>,
    pub username: String,
    pub password: String,
    pub sentinel_username: String,
    pub sentinel_password: String,
    pub sentinel_master: String,
    pub database_index: i64,
    pub list_name: String,
    pub list_length: i64,
    pub activation_list_length: i64,
    pub tls: Tls,
    pub metric_type: MetricType,
}

impl std::fmt::Debug for RedisMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisMetadata")
            .field("mode", &self.mode)
            .field("addresses", &self.addresses)
            .field("database_index", &self.database_index)
            .field("list_name", &self.list_name)
            .field("list_length", &self.list_length)
            .field("activation_list_length", &self.activation_list_length)
            .field("tls", &self.tls.enabled)
            .finish_non_exhaustive()
    }
}

const M_E_A: &[Source] = &[Source::Metadata, Source::Env, Source::Auth];
const M_A_E: &[Source] = &[Source::Metadata, Source::Auth, Source::Env];

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl RedisMetadata {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mode = Mode::from_type(&input.trigger_type);
        let mut p = Params::new(input);
        let list_name = p.string(&["listName"], META, Need::Required);
        let list_length = p
            .get::<i64>(&["listLength"], META, Need::Default("5"))
            .unwrap_or(5);
        let activation_list_length = p
            .get::<i64>(&["activationListLength"], META, Need::Default("0"))
            .unwrap_or(0);
        let database_index = p
            .get::<i64>(&["databaseIndex"], META, Need::Default("0"))
            .unwrap_or(0);
        let mut addresses = p
            .get::<Addresses>(&["address", "addresses"], M_A_E, Need::Optional)
            .map(|a| a.0)
            .unwrap_or_default();
        let hosts = p
            .get::<Vec<String>>(&["host", "hosts"], M_E_A, Need::Optional)
            .unwrap_or_default();
        let ports = p
            .get::<Vec<String>>(&["port", "ports"], M_E_A, Need::Optional)
            .unwrap_or_default();
        let username = p.string(&["username"], M_E_A, Need::Optional);
        let password = p.string(&["password"], M_E_A, Need::Optional);
        let (sentinel_username, sentinel_password, sentinel_master) = if mode == Mode::Sentinel {
            (
                p.string(&["sentinelUsername"], M_A_E, Need::Optional),
                p.string(&["sentinelPassword"], M_A_E, Need::Optional),
                p.string(&["sentinelMaster"], M_A_E, Need::Optional),
            )
        } else {
            Default::default()
        };
        let enable_tls_raw = p.lookup(&["enableTLS"], META).map(|f| f.raw);
        let tls_raw = p.lookup(&["tls"], AUTH).map(|f| f.raw);
        let unsafe_ssl = p
            .get::<bool>(&["unsafeSsl"], META, Need::Default("false"))
            .unwrap_or(false);
        let cert = p.string(&["cert", "Cert"], AUTH, Need::Optional);
        let key = p.string(&["key"], AUTH, Need::Optional);
        let key_password = p.string(&["keyPassword"], AUTH, Need::Optional);
        let ca = p.string(&["ca"], AUTH, Need::Optional);
        let metric_type = match MetricType::for_external(&input.metric_type) {
            Ok(t) => t,
            Err(e) => {
                p.error(e);
                MetricType::AverageValue
            }
        };

        if !hosts.is_empty() && !ports.is_empty() {
            if hosts.len() != ports.len() {
                p.error("not enough hosts or ports given. number of hosts should be equal to the number of ports");
            } else {
                for (h, port) in hosts.iter().zip(&ports) {
                    addresses.push(format!("{}:{port}", bracket(h)));
                }
            }
        }
        if addresses.first().is_none_or(|a| a.is_empty()) {
            p.error("no addresses or hosts given. address should be a comma separated list of host:port or set the host/port values");
        }
        let mut enabled = false;
        match (&enable_tls_raw, &tls_raw) {
            (Some(_), Some(_)) => p.error(
                "unable to set `tls` in both ScaledObject and TriggerAuthentication together",
            ),
            (Some(v), None) => match crate::params::parse_go_bool(v) {
                Some(b) => enabled = b,
                None => p.error(format!(
                    "EnableTLS parsing error strconv.ParseBool: parsing {v:?}: invalid syntax"
                )),
            },
            (None, Some(v)) => match v.as_str() {
                "enable" => enabled = true,
                "disable" => {}
                other => p.error(format!("error incorrect TLS value given, got {other}")),
            },
            (None, None) => {}
        }
        // the key is decrypted when connecting; here only its form is checked
        if !key_password.is_empty() && !key.is_empty() && !crate::tls_key::is_encrypted(&key) {
            p.error("keyPassword is set but the key is not encrypted (expected an ENCRYPTED PRIVATE KEY or a PEM key with Proc-Type: 4,ENCRYPTED)");
        }
        p.finish("redis")?;
        Ok(Self {
            mode,
            addresses,
            username,
            password,
            sentinel_username,
            sentinel_password,
            sentinel_master,
            database_index,
            list_name,
            list_length,
            activation_list_length,
            tls: Tls {
                enabled,
                unsafe_ssl,
                cert,
                key,
                key_password,
                ca,
            },
            metric_type,
        })
    }
}

/// Splits `host:port` (IPv6 in brackets) into its parts.
/// `address`/`addresses`: `host:port` items separated by `,`, checked when read so that a
/// bad one is reported by the parameter machinery (which never shows a value that came from a
/// Secret or the environment).
struct Addresses(Vec<String>);

impl crate::params::FromParam for Addresses {
    fn from_param(raw: &str) -> std::result::Result<Self, String> {
        let items = <Vec<String> as crate::params::FromParam>::from_param(raw)?;
        match items
            .iter()
            .find(|a| !a.is_empty() && split_address(a).is_none())
        {
            Some(bad) => Err(format!("{bad:?} is not host:port")),
            None => Ok(Self(items)),
        }
    }
}

pub fn split_address(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}
