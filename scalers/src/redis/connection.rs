//! Connections to Redis, shared per distinct backend (mode, addresses, database, credentials,
//! TLS): standalone through a reconnecting ConnectionManager, cluster through the async cluster
//! client (all addresses are seeds), sentinel by asking the sentinels for the master.

use super::batch::Batcher;
use super::config::{Mode, RedisMetadata, split_address};
use crate::error::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    ClientTlsConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
    TlsCertificates, TlsMode,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// One shared connection (pool) to a Redis deployment.
pub enum RedisConn {
    Single(Box<SingleConn>),
    Cluster(ClusterConnection),
    Sentinel(Box<SentinelConn>),
}

/// A standalone server: its connection manager, and the task that pipelines the counts of
/// concurrent callers ([`super::batch`]).
pub struct SingleConn {
    cell: Arc<ManagerCell>,
    batch: Batcher,
}

/// A standalone server's connection manager. The manager reconnects by itself when the
/// connection drops, but keeps a connection whose stream can no longer be trusted: one that
/// sent a reply that did not parse (it stays stuck on it), or one with a reply still owed after
/// a timeout (a late answer to the last call would answer the next). Such a manager is
/// replaced by a fresh one (see [`RedisConn::discard`]).
pub(crate) struct ManagerCell {
    client: redis::Client,
    cfg: ConnectionManagerConfig,
    manager: std::sync::Mutex<ConnectionManager>,
}

impl ManagerCell {
    fn current(&self) -> ConnectionManager {
        self.manager
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A new manager that connects on its first call (the old one closes when its last call
    /// ends).
    fn replace(&self) {
        if let Ok(fresh) =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.cfg.clone())
        {
            *self.manager.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        }
    }

    /// Runs `call` on the current manager: a connection the server (or a load balancer)
    /// closed is found broken only when used, so the manager reconnects and the call is tried
    /// once more on the new one; a connection that failed otherwise is replaced.
    async fn with_retry<T, F, Fut>(&self, call: F) -> redis::RedisResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let c = self.current();
        let res = match call(c.clone()).await {
            Err(e) if e.is_connection_dropped() => call(c).await,
            r => r,
        };
        if let Err(e) = &res
            && !matches!(e.kind(), redis::ErrorKind::Server(_))
            && !e.is_connection_dropped()
        {
            self.replace();
        }
        res
    }

    /// The counts of `keys` in one pipeline, each key its own result: `LLEN` first (a list or
    /// a missing key, the usual case, costs a bare `LLEN`), then the count script, in a second
    /// pipeline, for the keys of another type (their `LLEN` answered WRONGTYPE).
    pub(crate) async fn counts(&self, keys: &[&str]) -> Vec<redis::RedisResult<i64>> {
        let mut out = self
            .pipeline(keys, |p, k| {
                p.cmd("LLEN").arg(k);
            })
            .await;
        let other: Vec<usize> = (0..keys.len())
            .filter(|&i| {
                out[i]
                    .as_ref()
                    .is_err_and(|e| e.code() == Some("WRONGTYPE"))
            })
            .collect();
        if !other.is_empty() {
            let other_keys: Vec<&str> = other.iter().map(|&i| keys[i]).collect();
            for (i, r) in other.into_iter().zip(self.scripted(&other_keys).await) {
                out[i] = r;
            }
        }
        out
    }

    /// The count script for `keys` in one pipeline (loaded once more when the server lost it).
    async fn scripted(&self, keys: &[&str]) -> Vec<redis::RedisResult<i64>> {
        let script = redis::Script::new(COUNT_SCRIPT);
        let hash = script.get_hash().to_string();
        let evalsha = |p: &mut redis::Pipeline, k: &str| {
            p.cmd("EVALSHA").arg(&hash).arg(1).arg(k);
        };
        let out = self.pipeline(keys, evalsha).await;
        let no_script = |r: &redis::RedisResult<i64>| {
            r.as_ref().is_err_and(|e| {
                e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
            })
        };
        if !out.iter().any(no_script) {
            return out;
        }
        let load = self
            .with_retry(|mut c| async move {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(COUNT_SCRIPT)
                    .query_async::<String>(&mut c)
                    .await
            })
            .await;
        match load {
            Ok(_) => self.pipeline(keys, evalsha).await,
            Err(e) => keys.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// One command per key built by `add`, sent as one pipeline; each key its own reply.
    async fn pipeline(
        &self,
        keys: &[&str],
        add: impl Fn(&mut redis::Pipeline, &str),
    ) -> Vec<redis::RedisResult<i64>> {
        let send = |mut c: ConnectionManager| {
            let mut p = redis::pipe();
            p.ignore_errors();
            for k in keys {
                add(&mut p, k);
            }
            async move { p.query_async::<Vec<redis::RedisResult<i64>>>(&mut c).await }
        };
        match self.with_retry(send).await {
            Ok(v) if v.len() == keys.len() => v,
            Ok(v) => {
                let e = redis::RedisError::from((
                    redis::ErrorKind::Parse,
                    "the pipeline's reply count does not match",
                    format!("{} replies for {} counts", v.len(), keys.len()),
                ));
                self.replace();
                keys.iter().map(|_| Err(e.clone())).collect()
            }
            Err(e) => keys.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

impl SingleConn {
    fn replace(&self) {
        self.cell.replace();
    }

    async fn run(&self, key: Option<&str>) -> redis::RedisResult<i64> {
        match key {
            None => {
                self.cell
                    .with_retry(|mut c| async move { op(&mut c, None).await })
                    .await
            }
            Some(k) => self.batch.count(k).await,
        }
    }
}

/// The sentinel client and the current master connection.
pub struct SentinelConn {
    client: Mutex<SentinelClient>,
    conn: Mutex<Option<MultiplexedConnection>>,
}

/// The pool key: everything that makes two triggers need different connections.
pub fn pool_key(m: &RedisMetadata) -> String {
    use std::hash::{Hash, Hasher};
    // credentials enter only through a hash; the key is never printed anyway
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &m.username,
        &m.password,
        &m.sentinel_username,
        &m.sentinel_password,
        &m.tls,
    )
        .hash(&mut h);
    format!(
        "{:?}|{}|{}|{}|{:x}",
        m.mode,
        m.addresses.join(","),
        m.database_index,
        m.sentinel_master,
        h.finish()
    )
}

fn failed(mode: Mode) -> &'static str {
    match mode {
        Mode::Standalone => "connection to redis failed",
        Mode::Cluster => "connection to redis cluster failed",
        Mode::Sentinel => "connection to redis sentinel failed",
    }
}

/// A redis error as text without the URL or credentials (redis-rs errors never carry the
/// password, but describe the failure kind and the server's reply).
/// Multi-line texts (parse errors) are joined into one line.
pub fn describe(e: &redis::RedisError) -> String {
    let mut s = e
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn node_info(
    m: &RedisMetadata,
    host: &str,
    port: u16,
    username: &str,
    password: &str,
    db: i64,
) -> Result<ConnectionInfo> {
    let addr = if m.tls.enabled {
        ConnectionAddr::TcpTls {
            host: host.to_string(),
            port,
            insecure: m.tls.unsafe_ssl,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_string(), port)
    };
    let mut redis = RedisConnectionInfo::default().set_db(db);
    if !username.is_empty() {
        redis = redis.set_username(username);
    }
    if !password.is_empty() {
        redis = redis.set_password(password);
    }
    let base = format!(
        "redis://{}:{port}",
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        }
    )
    .into_connection_info()
    .map_err(|e| Error::Connect(format!("{}: {}", failed(m.mode), describe(&e))))?;
    Ok(base.set_addr(addr).set_redis_settings(redis))
}

/// `m` with its client key decrypted with `keyPassword` (and the password cleared), on a
/// blocking thread: a scrypt-protected key takes tens of milliseconds to derive.
pub async fn with_decrypted_key(mut m: RedisMetadata) -> Result<RedisMetadata> {
    if m.tls.key_password.is_empty() || m.tls.key.is_empty() {
        return Ok(m);
    }
    let (key, password, mode) = (m.tls.key.clone(), m.tls.key_password.clone(), m.mode);
    let plain = tokio::task::spawn_blocking(move || crate::tls_key::decrypt_pem(&key, &password))
        .await
        .map_err(|_| Error::Connect(format!("{}: client key: decryption failed", failed(mode))))?
        .map_err(|e| Error::Connect(format!("{}: client key: {e}", failed(mode))))?;
    m.tls.key = plain;
    m.tls.key_password.clear();
    Ok(m)
}

/// The client certificate (its key decrypted with `keyPassword` when one is still set) and CA.
fn certificates(m: &RedisMetadata) -> Result<TlsCertificates> {
    let client_tls = if !m.tls.cert.is_empty() && !m.tls.key.is_empty() {
        let key = crate::tls_key::decrypt_pem(&m.tls.key, &m.tls.key_password)
            .map_err(|e| Error::Connect(format!("{}: client key: {e}", failed(m.mode))))?;
        Some(ClientTlsConfig {
            client_cert: m.tls.cert.clone().into_bytes(),
            client_key: key.into_bytes(),
        })
    } else {
        None
    };
    Ok(TlsCertificates {
        client_tls,
        root_cert: (!m.tls.ca.is_empty()).then(|| m.tls.ca.clone().into_bytes()),
    })
}

fn addresses(m: &RedisMetadata) -> Result<Vec<(String, u16)>> {
    m.addresses
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // the address may have come from a Secret: name its position, not its text
            split_address(a).ok_or_else(|| {
                Error::Connect(format!(
                    "{}: address #{} is not host:port",
                    failed(m.mode),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Connects (without the PING, which the caller does with its timeout).
pub async fn connect(m: &RedisMetadata, timeout: Duration) -> Result<RedisConn> {
    let err =
        |e: redis::RedisError| Error::Connect(format!("{}: {}", failed(m.mode), describe(&e)));
    let addrs = addresses(m)?;
    match m.mode {
        Mode::Standalone => {
            let (host, port) = &addrs[0];
            let info = node_info(m, host, *port, &m.username, &m.password, m.database_index)?;
            let client = if m.tls.enabled {
                redis::Client::build_with_tls(info, certificates(m)?)
            } else {
                redis::Client::open(info)
            }
            .map_err(err)?;
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1);
            let manager = ConnectionManager::new_with_config(client.clone(), cfg.clone())
                .await
                .map_err(err)?;
            let cell = Arc::new(ManagerCell {
                client,
                cfg,
                manager: std::sync::Mutex::new(manager),
            });
            Ok(RedisConn::Single(Box::new(SingleConn {
                batch: Batcher::start(cell.clone()),
                cell,
            })))
        }
        Mode::Cluster => {
            let nodes = addrs
                .iter()
                .map(|(h, p)| node_info(m, h, *p, "", "", 0))
                .collect::<Result<Vec<_>>>()?;
            let mut b = redis::cluster::ClusterClientBuilder::new(nodes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1);
            if !m.username.is_empty() {
                b = b.username(&m.username);
            }
            if !m.password.is_empty() {
                b = b.password(&m.password);
            }
            if m.tls.enabled {
                b = b
                    .tls(if m.tls.unsafe_ssl {
                        TlsMode::Insecure
                    } else {
                        TlsMode::Secure
                    })
                    .certs(certificates(m)?);
            }
            let client = b.build().map_err(err)?;
            Ok(RedisConn::Cluster(
                client.get_async_connection().await.map_err(err)?,
            ))
        }
        Mode::Sentinel => {
            let sentinels = addrs
                .iter()
                .map(|(h, p)| node_info(m, h, *p, &m.sentinel_username, &m.sentinel_password, 0))
                .collect::<Result<Vec<_>>>()?;
            let mut node = RedisConnectionInfo::default().set_db(m.database_index);
            if !m.username.is_empty() {
                node = node.set_username(&m.username);
            }
            if !m.password.is_empty() {
                node = node.set_password(&m.password);
            }
            let mut node_info =
                SentinelNodeConnectionInfo::default().set_redis_connection_info(node);
            if m.tls.enabled {
                node_info = node_info.set_tls_mode(if m.tls.unsafe_ssl {
                    TlsMode::Insecure
                } else {
                    TlsMode::Secure
                });
            }
            let client = SentinelClient::build(
                sentinels,
                m.sentinel_master.clone(),
                Some(node_info),
                SentinelServerType::Master,
            )
            .map_err(err)?;
            Ok(RedisConn::Sentinel(Box::new(SentinelConn {
                client: Mutex::new(client),
                conn: Mutex::new(None),
            })))
        }
    }
}

/// Counts the members of `key` by its type in one server-side script: list or missing →
/// LLEN (0), set → SCARD, zset → ZCARD, hash → HLEN, anything else → an error naming the type.
const COUNT_SCRIPT: &str = r"
local t = redis.call('TYPE', KEYS[1])
if type(t) == 'table' then t = t['ok'] end
if t == 'list' or t == 'none' then return redis.call('LLEN', KEYS[1]) end
if t == 'set' then return redis.call('SCARD', KEYS[1]) end
if t == 'zset' then return redis.call('ZCARD', KEYS[1]) end
if t == 'hash' then return redis.call('HLEN', KEYS[1]) end
return redis.error_reply('ERR unsupported key type: ' .. t)
";

/// PING (`key` None) or the count script on one connection.
async fn op<C: redis::aio::ConnectionLike + Send>(
    c: &mut C,
    key: Option<&str>,
) -> redis::RedisResult<i64> {
    match key {
        None => {
            let _: String = redis::cmd("PING").query_async(c).await?;
            Ok(0)
        }
        Some(k) => {
            redis::Script::new(COUNT_SCRIPT)
                .key(k)
                .invoke_async(c)
                .await
        }
    }
}

impl RedisConn {
    /// Checks that the server answers.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        self.run(None).await.map(|_| ())
    }

    /// The number of members of `key`.
    pub async fn count(&self, key: &str) -> redis::RedisResult<i64> {
        self.run(Some(key)).await
    }

    /// How many pipelines of counts were sent to a standalone server (`None` for cluster and
    /// sentinel connections, which send one call per count).
    pub fn pipelines(&self) -> Option<u64> {
        match self {
            RedisConn::Single(s) => Some(s.batch.pipelines()),
            _ => None,
        }
    }

    /// Drops a connection whose call timed out: a late reply must not answer the next call.
    pub async fn discard(&self) {
        match self {
            RedisConn::Single(s) => s.replace(),
            RedisConn::Cluster(_) => {}
            RedisConn::Sentinel(s) => *s.conn.lock().await = None,
        }
    }

    /// Sentinel connections are (re)made through the sentinels when missing or after a
    /// connection failure, so a failover is followed.
    async fn run(&self, key: Option<&str>) -> redis::RedisResult<i64> {
        match self {
            RedisConn::Single(s) => s.run(key).await,
            RedisConn::Cluster(c) => op(&mut c.clone(), key).await,
            RedisConn::Sentinel(s) => {
                let (client, conn) = (&s.client, &s.conn);
                let mut guard = conn.lock().await;
                let mut c = match guard.as_ref() {
                    Some(c) => c.clone(),
                    None => {
                        let c = client.lock().await.get_async_connection().await?;
                        *guard = Some(c.clone());
                        c
                    }
                };
                drop(guard);
                let res = op(&mut c, key).await;
                if res.as_ref().is_err_and(|e| {
                    e.is_io_error()
                        || e.is_connection_dropped()
                        || e.is_connection_refusal()
                        || e.is_timeout()
                }) {
                    *conn.lock().await = None;
                }
                res
            }
        }
    }
}
