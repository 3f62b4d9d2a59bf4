//! `redis`, `redis-cluster`, `redis-sentinel`: the length of a list (or set, sorted set, hash)
//! as the metric (spec §5.2). Value and activity come from one server-side script; the metric
//! is `s<i>-redis-<listName>` with target `listLength`.

mod batch;
pub mod config;
pub mod connection;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, Sample, external_metric_name};
use crate::{Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use config::{Mode, RedisMetadata};
use connection::{RedisConn, describe};
use std::sync::Arc;
use std::time::Duration;

/// A validated Redis trigger.
#[derive(Debug, Clone)]
pub struct RedisDefinition {
    pub meta: RedisMetadata,
    spec: MetricSpec,
}

/// Parses any of the three Redis trigger types.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(RedisDefinition::parse(input)?))
}

impl RedisDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let meta = RedisMetadata::parse(input)?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, &format!("redis-{}", meta.list_name)),
            target: MetricTarget::from_int(meta.metric_type, meta.list_length),
        };
        Ok(Self { meta, spec })
    }
}

fn connect_failed(mode: Mode, detail: &str) -> Error {
    let what = match mode {
        Mode::Standalone => "connection to redis failed",
        Mode::Cluster => "connection to redis cluster failed",
        Mode::Sentinel => "connection to redis sentinel failed",
    };
    Error::Connect(format!("{what}: {detail}"))
}

#[async_trait]
impl TriggerDefinition for RedisDefinition {
    fn trigger_type(&self) -> &str {
        match self.meta.mode {
            Mode::Standalone => "redis",
            Mode::Cluster => "redis-cluster",
            Mode::Sentinel => "redis-sentinel",
        }
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        let timeout = ctx.default_timeout;
        let meta = self.meta.clone();
        let conn = ctx
            .pools
            .get_or_create::<RedisConn, _, _>(&connection::pool_key(&self.meta), || async move {
                // key decryption (scrypt may take a while) is not network time
                let meta = connection::with_decrypted_key(meta).await?;
                Error::within(
                    "redis connect",
                    timeout,
                    connection::connect(&meta, timeout),
                )
                .await
            })
            .await?;
        // a PING at build time must succeed, as in KEDA
        match tokio::time::timeout(timeout, conn.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(connect_failed(self.meta.mode, &describe(&e))),
            Err(_) => {
                return Err(Error::Timeout {
                    what: "redis PING".into(),
                    after: timeout,
                });
            }
        }
        let backend = connection::pool_key(&self.meta);
        Ok(Arc::new(RedisScaler {
            spec: self.spec.clone(),
            meta: self.meta.clone(),
            conn,
            timeout,
            calls: crate::coalesce::for_backend(&ctx.pools, &backend, batch::MAX_BATCH).await,
            poll_key: crate::coalesce::digest(&("redis", backend)),
            consumer: crate::coalesce::consumer_id(),
            sampled: Default::default(),
        }))
    }

    /// The live scaler compares the integer length with `activationListLength`.
    fn is_active(&self, value: f64) -> bool {
        value > self.meta.activation_list_length as f64
    }
}

/// A live Redis trigger.
pub struct RedisScaler {
    spec: MetricSpec,
    meta: RedisMetadata,
    conn: Arc<RedisConn>,
    timeout: Duration,
    calls: Arc<crate::coalesce::Coalescer<i64>>,
    /// The server's pool key as a digest: every trigger on one server polls at the same
    /// instants, so their counts go out in one pipeline.
    poll_key: u64,
    consumer: u64,
    /// Whether this scaler sampled before (its first sample takes no finished result).
    sampled: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Scaler for RedisScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.spec
    }

    /// The key's length, shared with the triggers on the same key of the same server that poll
    /// at the same moment.
    async fn sample(&self) -> Result<Sample> {
        let n = Error::within(
            format!("redis length of {:?}", self.meta.list_name),
            self.timeout,
            self.calls.call(
                &self.meta.list_name,
                self.consumer,
                self.sampled
                    .swap(true, std::sync::atomic::Ordering::Relaxed),
                || self.count_now(),
            ),
        )
        .await?;
        Ok(Sample {
            value: n as f64,
            active: n > self.meta.activation_list_length,
        })
    }

    fn poll_key(&self) -> Option<u64> {
        Some(self.poll_key)
    }
}

impl RedisScaler {
    /// One count, sent now.
    async fn count_now(&self) -> Result<i64> {
        let what = || format!("redis length of {:?}", self.meta.list_name);
        let timed_out = || Error::Timeout {
            what: what(),
            after: self.timeout,
        };
        let n = match tokio::time::timeout(self.timeout, self.conn.count(&self.meta.list_name))
            .await
        {
            Ok(Ok(n)) => n,
            Ok(Err(e))
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError)
                    || e.to_string().contains("unsupported key type") =>
            {
                return Err(Error::Query(format!("{}: {}", what(), describe(&e))));
            }
            // the client's own response timeout (the same as ours) may fire first
            Ok(Err(e)) if e.is_timeout() => {
                self.conn.discard().await;
                return Err(timed_out());
            }
            Ok(Err(e)) => return Err(connect_failed(self.meta.mode, &describe(&e))),
            Err(_) => {
                self.conn.discard().await;
                return Err(timed_out());
            }
        };
        Ok(n)
    }
}
