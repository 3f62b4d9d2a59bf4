//! `mysql`: the first cell of the first row of a query as the metric (spec §5.3), against a
//! pool shared per distinct DSN.

pub mod dsn;
pub(crate) mod read_only;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample, external_metric_name};
use crate::params::{META, Need, Params, Source};
use crate::{Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use dsn::Dsn;
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use std::time::Duration;

/// A validated `mysql` trigger. Debug hides the DSN's password.
#[derive(Debug, Clone)]
pub struct MySqlDefinition {
    /// None when the connection string could not be parsed (reported at connect, as KEDA
    /// reports a bad DSN when it opens the pool).
    dsn: std::result::Result<Dsn, String>,
    pub query: String,
    pub query_value: f64,
    pub activation_query_value: f64,
    pub metric_type: MetricType,
    spec: MetricSpec,
}

/// Parses a `mysql` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(MySqlDefinition::parse(input)?))
}

const AUTH_ENV: &[Source] = &[Source::Auth, Source::Env];
const META_AUTH: &[Source] = &[Source::Metadata, Source::Auth];
const META_AUTH_ENV: &[Source] = &[Source::Metadata, Source::Auth, Source::Env];

impl MySqlDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let (dsn, metric_db) = connection(&mut p);
        let query = p.string(&["query"], META, Need::Required);
        let query_value = p
            .get::<f64>(&["queryValue"], META, Need::Required)
            .unwrap_or(0.0);
        let activation_query_value = p
            .get::<f64>(&["activationQueryValue"], META, Need::Default("0"))
            .unwrap_or(0.0);
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });
        p.finish("MySQL")?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, &format!("mysql-{metric_db}")),
            target: MetricTarget::from_float(metric_type, query_value),
        };
        Ok(Self {
            dsn,
            query,
            query_value,
            activation_query_value,
            metric_type,
            spec,
        })
    }
}

/// The connection parameters (`connectionString` or `host`/`port`/`username`/`password`/
/// `dbName`) with KEDA's sources, and the database name used in metric names (with a
/// connection string, everything after its last `/`, as KEDA does).
pub(crate) fn connection(p: &mut Params) -> (std::result::Result<Dsn, String>, String) {
    let connection_string = p.string(&["connectionString"], AUTH_ENV, Need::Optional);
    let username = p.string(&["username"], META_AUTH_ENV, Need::Optional);
    let password = p.string(&["password"], AUTH_ENV, Need::Optional);
    let host = p.string(&["host"], META_AUTH, Need::Optional);
    let port = p.string(&["port"], META_AUTH, Need::Optional);
    let db_name = p.string(&["dbName"], META_AUTH, Need::Optional);
    if connection_string.is_empty() {
        (
            Ok(Dsn::from_parts(
                &username, &password, &host, &port, &db_name,
            )),
            db_name,
        )
    } else {
        let after_slash = connection_string
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        (Dsn::parse(&connection_string), after_slash)
    }
}

/// The shared pool for `dsn`, checked with a ping; and the call timeout.
pub(crate) async fn open_pool(
    dsn: &std::result::Result<Dsn, String>,
    ctx: &Context,
) -> Result<(Arc<MySqlPool>, Duration)> {
    let dsn = dsn
        .clone()
        .map_err(|e| Error::Connect(format!("error establishing MySQL connection: {e}")))?;
    let timeout = dsn.timeout.unwrap_or(ctx.default_timeout);
    let opts = dsn
        .opts()
        .map_err(|e| Error::Connect(format!("error establishing MySQL connection: {e}")))?;
    let pool = ctx
        .pools
        .get_or_create::<MySqlPool, _, _>(&pool_key(&dsn), || async move {
            Ok(MySqlPool(mysql_async::Pool::new(opts)))
        })
        .await?;
    let ping = async {
        let mut conn = pool.0.get_conn().await?;
        conn.ping().await
    };
    match tokio::time::timeout(timeout, ping).await {
        Ok(Ok(())) => Ok((pool, timeout)),
        Ok(Err(e)) => Err(Error::Connect(format!(
            "error establishing MySQL connection: {}",
            describe(&e)
        ))),
        Err(_) => Err(Error::Timeout {
            what: "MySQL ping".into(),
            after: timeout,
        }),
    }
}

/// A pool for one DSN; dropping the last user disconnects it.
pub struct MySqlPool(pub(crate) mysql_async::Pool);

impl Drop for MySqlPool {
    fn drop(&mut self) {
        let pool = self.0.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = pool.disconnect().await;
            });
        }
    }
}

fn pool_key(dsn: &Dsn) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dsn.hash(&mut h);
    format!("{}|{}|{:x}", dsn.addr, dsn.db_name, h.finish())
}

#[async_trait]
impl TriggerDefinition for MySqlDefinition {
    fn trigger_type(&self) -> &str {
        "mysql"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        let (pool, timeout) = open_pool(&self.dsn, ctx).await?;
        let backend = match &self.dsn {
            Ok(dsn) => pool_key(dsn),
            Err(_) => unreachable!("open_pool refuses a DSN that did not parse"),
        };
        Ok(Arc::new(MySqlScaler {
            spec: self.spec.clone(),
            pool,
            query_key: format!("{:x}", crate::coalesce::digest(&(&self.query, timeout))),
            poll_key: crate::coalesce::digest(&("mysql", &backend, &self.query)),
            calls: crate::coalesce::for_backend(
                &ctx.pools,
                &backend,
                crate::coalesce::MAX_IN_FLIGHT,
            )
            .await,
            consumer: crate::coalesce::consumer_id(),
            sampled: Default::default(),
            query: self.query.clone(),
            activation: self.activation_query_value,
            timeout,
        }))
    }

    fn is_active(&self, value: f64) -> bool {
        value > self.activation_query_value
    }
}

/// A MySQL error without anything secret (server messages name the user, never the password).
pub(crate) fn describe(e: &mysql_async::Error) -> String {
    let mut s = e.to_string();
    s.truncate(400);
    s
}

/// A live `mysql` trigger: the query runs read-only, cut at the timeout, and only its first
/// row is read (see [`read_only`]).
pub struct MySqlScaler {
    spec: MetricSpec,
    pool: Arc<MySqlPool>,
    query: String,
    activation: f64,
    timeout: Duration,
    calls: Arc<crate::coalesce::Coalescer<f64>>,
    query_key: String,
    poll_key: u64,
    consumer: u64,
    /// Whether this scaler sampled before (its first sample takes no finished result).
    sampled: std::sync::atomic::AtomicBool,
}

/// The first column of a row as a number (integers, decimals, floats, numeric strings).
pub(crate) fn to_f64(v: &mysql_async::Value) -> std::result::Result<f64, String> {
    use mysql_async::Value;
    match v {
        Value::NULL => Err("the query returned NULL".into()),
        Value::Int(i) => Ok(*i as f64),
        Value::UInt(u) => Ok(*u as f64),
        Value::Float(f) => Ok(f64::from(*f)),
        Value::Double(d) => Ok(*d),
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b);
            s.trim()
                .parse::<f64>()
                .map_err(|_| format!("the query returned {s:?}, not a number"))
        }
        other => Err(format!("the query returned {other:?}, not a number")),
    }
}

#[async_trait]
impl Scaler for MySqlScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    /// The query's value, shared with the triggers that run the same query on the same
    /// database at the same moment.
    async fn sample(&self) -> Result<Sample> {
        let value = Error::within(
            "MySQL query",
            self.timeout,
            self.calls.call(
                &self.query_key,
                self.consumer,
                self.sampled
                    .swap(true, std::sync::atomic::Ordering::Relaxed),
                || self.query_now(),
            ),
        )
        .await?;
        Ok(Sample {
            value,
            active: value > self.activation,
        })
    }

    fn poll_key(&self) -> Option<u64> {
        Some(self.poll_key)
    }
}

impl MySqlScaler {
    /// The query, run now.
    async fn query_now(&self) -> Result<f64> {
        let run = async {
            let conn = self.pool.0.get_conn().await?;
            let read = read_only::read_rows(
                conn,
                &self.query,
                mysql_async::Params::Empty,
                self.timeout,
                1,
            )
            .await?;
            Ok::<_, mysql_async::Error>(read.rows.into_iter().next())
        };
        let row = match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(row)) => row,
            // the server's own statement timer (max_statement_time, ERROR 1969) can fire just
            // before ours: the same timeout
            Ok(Err(mysql_async::Error::Server(e))) if e.code == 1969 => {
                return Err(Error::Timeout {
                    what: "MySQL query".into(),
                    after: self.timeout,
                });
            }
            Ok(Err(e)) => {
                return Err(Error::Query(format!(
                    "error inspecting MySQL: {}",
                    describe(&e)
                )));
            }
            Err(_) => {
                return Err(Error::Timeout {
                    what: "MySQL query".into(),
                    after: self.timeout,
                });
            }
        };
        let first = row.as_ref().and_then(|r| r.as_ref(0)).ok_or_else(|| {
            Error::Value("error inspecting MySQL: the query returned no rows".into())
        })?;
        to_f64(first).map_err(|e| Error::Value(format!("error inspecting MySQL: {e}")))
    }
}
