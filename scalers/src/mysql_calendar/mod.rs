//! `mysql-calendar` (Prescale's own trigger): capacity for the events a MySQL/MariaDB table
//! already knows — classes with their student counts, sales with expected shoppers. A query
//! returns the upcoming events as rows `(starts_at, ends_at, load)`; the floor at instant t is
//!
//! ```text
//! floor(t) = ceil( sum of load of the events overlapping [t, t + leadTime] / loadPerReplica )
//! ```
//!
//! so capacity for an event is in place from `start − leadTime` until its end.
//!
//! | parameter | | |
//! |---|---|---|
//! | connection | as `mysql` | `connectionString` (Go DSN) or `host`/`port`/`username`/`password`/`dbName`, same sources |
//! | `query` | required | returns `(starts_at, ends_at, load)` rows; may use `:from` and `:to` |
//! | `loadPerReplica` | required | load one replica serves (e.g. 40 students), > 0 |
//! | `timezone` | default `Etc/UTC` | IANA zone of the date-times in the table (and of `:from`/`:to`) |
//! | `horizon` | default `24h` | `:to` = now + horizon; must be at least the lead time |
//! | `leadTime` | default `0s` | Go duration, milliseconds, or `auto` |
//!
//! `:from` (now) and `:to` (now + horizon) are bound as parameters of a prepared statement,
//! never spliced into the text. `starts_at`/`ends_at` may be `DATETIME`/`TIMESTAMP` or text like
//! `2026-12-02 19:00:00`; `load` any number. Each poll runs the query; when it fails, the error
//! goes to the operator's fallback rules for the metric, and the events read last are kept, so a
//! floor already in force is not dropped during its window. The metric
//! `s<i>-mysql-calendar-<dbName>` carries the floor now with target 1.

#[cfg(test)]
mod tests;

use crate::cron::window::{Zone, load_location};
use crate::error::{Error, Result};
use crate::input::TriggerInput;
use crate::metric::{MetricSpec, MetricTarget, MetricType, Sample, external_metric_name};
use crate::mysql::dsn::Dsn;
use crate::mysql::read_only::read_rows;
use crate::mysql::{MySqlPool, connection, describe, open_pool, to_f64};
use crate::params::{META, Need, Params};
use crate::prescale::{Bounds, LeadTime};
use crate::schedule::windows::local_instant_naive;
use crate::{Clock, Context, Scaler, TriggerDefinition};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rows beyond this many are an error (a calendar query should select a horizon); they are
/// not kept in memory (see `crate::mysql::read_only`).
pub const MAX_ROWS: usize = 10_000;

/// A validated `mysql-calendar` trigger. Debug hides the DSN's password.
#[derive(Debug, Clone)]
pub struct CalendarDefinition {
    dsn: std::result::Result<Dsn, String>,
    pub query: String,
    pub load_per_replica: f64,
    pub zone: Zone,
    pub horizon: Duration,
    pub lead_time: LeadTime,
    spec: MetricSpec,
}

/// Parses a `mysql-calendar` trigger.
pub fn parse(input: &TriggerInput) -> Result<Box<dyn TriggerDefinition>> {
    Ok(Box::new(CalendarDefinition::parse(input)?))
}

impl CalendarDefinition {
    pub fn parse(input: &TriggerInput) -> Result<Self> {
        let mut p = Params::new(input);
        let (dsn, metric_db) = connection(&mut p);
        let query = p.string(&["query"], META, Need::Required);
        let load_per_replica = p.get::<f64>(&["loadPerReplica"], META, Need::Required);
        if let Some(v) = load_per_replica
            && !(v > 0.0 && v.is_finite())
        {
            p.error(format!(
                "loadPerReplica must be a number greater than 0, got {v}"
            ));
        }
        let load_per_replica = load_per_replica.unwrap_or(1.0);
        let timezone = p.string(&["timezone"], META, Need::Default("Etc/UTC"));
        let zone = load_location(&timezone).unwrap_or_else(|e| {
            p.error(format!("timezone: {e}"));
            Zone::Local
        });
        let horizon = p
            .get::<Duration>(&["horizon"], META, Need::Default("24h"))
            .unwrap_or(Duration::from_secs(86_400));
        let lead_raw = p.string(&["leadTime"], META, Need::Default("0s"));
        let lead_time = LeadTime::parse(&lead_raw).unwrap_or_else(|e| {
            p.error(format!("unable to set param \"leadTime\": {e}"));
            LeadTime::Fixed(Duration::ZERO)
        });
        if let LeadTime::Fixed(lead) = lead_time
            && lead > horizon
        {
            p.error(format!(
                "horizon {} must be at least leadTime {}",
                crate::prescale::format_duration(horizon),
                crate::prescale::format_duration(lead)
            ));
        }
        let metric_type = MetricType::for_external(&input.metric_type).unwrap_or_else(|e| {
            p.error(e);
            MetricType::AverageValue
        });
        p.finish("mysql-calendar")?;
        let spec = MetricSpec::External {
            name: external_metric_name(input.index, &format!("mysql-calendar-{metric_db}")),
            target: MetricTarget::from_int(metric_type, 1),
        };
        Ok(Self {
            dsn,
            query,
            load_per_replica,
            zone,
            horizon,
            lead_time,
            spec,
        })
    }
}

#[async_trait]
impl TriggerDefinition for CalendarDefinition {
    fn trigger_type(&self) -> &str {
        "mysql-calendar"
    }

    fn metric_spec(&self) -> MetricSpec {
        self.spec.clone()
    }

    async fn connect(&self, ctx: &Context) -> Result<Arc<dyn Scaler>> {
        let (pool, timeout) = open_pool(&self.dsn, ctx).await?;
        Ok(Arc::new(self.scaler(Some(pool), timeout, ctx, Vec::new())))
    }

    /// The value is the floor: active while one holds.
    fn is_active(&self, value: f64) -> bool {
        value > 0.0
    }

    /// The trigger's own query with `:from`/`:to` bound to the range.
    async fn history(
        &self,
        ctx: &Context,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        _step: Duration,
    ) -> Option<Result<crate::replay::History>> {
        let read = async {
            let (pool, timeout) = open_pool(&self.dsn, ctx).await?;
            let scaler = self.scaler(Some(pool), timeout, ctx, Vec::new());
            scaler.fetch_between(from, to).await
        };
        Some(read.await.map(crate::replay::History::Events))
    }

    /// A scaler that serves `events` and never queries.
    fn replay(&self, events: Vec<Event>, ctx: &Context) -> Option<Arc<dyn Scaler>> {
        Some(Arc::new(self.scaler(
            None,
            ctx.default_timeout,
            ctx,
            events,
        )))
    }
}

impl CalendarDefinition {
    fn scaler(
        &self,
        pool: Option<Arc<MySqlPool>>,
        timeout: Duration,
        ctx: &Context,
        events: Vec<Event>,
    ) -> CalendarScaler {
        CalendarScaler {
            lead_ms: AtomicU64::new(self.lead_time.resolve(Duration::ZERO).as_millis() as u64),
            def: self.clone(),
            pool,
            timeout,
            clock: ctx.clock.clone(),
            events: Mutex::new(events),
        }
    }
}

/// One upcoming event, as UTC instants.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub load: f64,
}

/// The floor at `t`: events overlapping `[t, t + lead]`, their load summed and divided by the
/// load one replica serves, rounded up. Returns the floor and how many events count.
pub fn floor_at(
    events: &[Event],
    per_replica: f64,
    t: DateTime<Utc>,
    lead: Duration,
) -> (i64, usize, f64) {
    let lead = chrono::Duration::from_std(lead).unwrap_or_default();
    let counted: Vec<&Event> = events
        .iter()
        .filter(|e| e.start <= t + lead && e.end > t)
        .collect();
    let load: f64 = counted.iter().map(|e| e.load.max(0.0)).sum();
    let floor = if load > 0.0 {
        (load / per_replica).ceil() as i64
    } else {
        0
    };
    (floor, counted.len(), load)
}

/// A date-time cell as a UTC instant (local time in `zone`).
fn instant_of(v: &mysql_async::Value, zone: Zone) -> std::result::Result<DateTime<Utc>, String> {
    use mysql_async::Value;
    let naive = match v {
        Value::NULL => return Err("is NULL".into()),
        Value::Date(y, mo, d, h, mi, s, us) => {
            chrono::NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*mo), u32::from(*d))
                .and_then(|date| {
                    date.and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
                })
                .ok_or_else(|| format!("{v:?} is not a valid date-time"))?
        }
        Value::Bytes(b) => {
            let text = String::from_utf8_lossy(b);
            let t = text.trim();
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
                .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
                .map_err(|_| format!("{t:?} is not a date-time like 2026-12-02 19:00:00"))?
        }
        other => return Err(format!("{other:?} is not a date-time")),
    };
    local_instant_naive(naive, zone)
}

/// Rows `(starts_at, ends_at, load)` as events; errors name the row (1-based) and column.
pub fn events_of(
    rows: &[Vec<mysql_async::Value>],
    zone: Zone,
) -> std::result::Result<Vec<Event>, String> {
    if rows.len() > MAX_ROWS {
        return Err(format!(
            "the query returned {} rows, more than {MAX_ROWS}: select only the horizon (:from, :to)",
            rows.len()
        ));
    }
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let n = i + 1;
            if row.len() < 3 {
                return Err(format!(
                    "row {n} has {} columns; expected starts_at, ends_at, load",
                    row.len()
                ));
            }
            let cell = |c: usize| row.get(c).cloned().unwrap_or(mysql_async::Value::NULL);
            let start =
                instant_of(&cell(0), zone).map_err(|e| format!("row {n}: starts_at {e}"))?;
            let end = instant_of(&cell(1), zone).map_err(|e| format!("row {n}: ends_at {e}"))?;
            if end <= start {
                return Err(format!(
                    "row {n}: ends_at {end} is not after starts_at {start}"
                ));
            }
            let load = to_f64(&cell(2)).map_err(|e| format!("row {n}: load: {e}"))?;
            Ok(Event { start, end, load })
        })
        .collect()
}

/// A live `mysql-calendar` trigger: the events read last, refreshed every poll (a replay's has
/// no pool and keeps the events it was given).
pub struct CalendarScaler {
    def: CalendarDefinition,
    pool: Option<Arc<MySqlPool>>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    events: Mutex<Vec<Event>>,
    lead_ms: AtomicU64,
}

impl CalendarScaler {
    fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The events of `[now, now + horizon]`; a replay's without a query.
    async fn fetch(&self, now: DateTime<Utc>) -> Result<Vec<Event>> {
        if self.pool.is_none() {
            return Ok(self.events());
        }
        let to = now + chrono::Duration::from_std(self.def.horizon).unwrap_or_default();
        self.fetch_between(now, to).await
    }

    /// The query's rows with `:from` and `:to` bound (local times of the trigger's zone).
    async fn fetch_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Event>> {
        let Some(pool) = &self.pool else {
            return Ok(self.events());
        };
        let tz = self.def.zone.tz();
        let from = from.with_timezone(&tz).naive_local();
        let to = to.with_timezone(&tz).naive_local();
        let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
        let query = self.def.query.clone();
        let uses = |name: &str| query.contains(&format!(":{name}"));
        let timeout = self.timeout;
        let run = async {
            let conn = pool.0.get_conn().await?;
            let mut named = std::collections::HashMap::new();
            if uses("from") {
                named.insert(b"from".to_vec(), mysql_async::Value::from(fmt(from)));
            }
            if uses("to") {
                named.insert(b"to".to_vec(), mysql_async::Value::from(fmt(to)));
            }
            let params = if named.is_empty() {
                mysql_async::Params::Empty
            } else {
                mysql_async::Params::Named(named)
            };
            read_rows(conn, &query, params, timeout, MAX_ROWS).await
        };
        let rows = match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                return Err(Error::Query(format!(
                    "error inspecting MySQL calendar: {}",
                    describe(&e)
                )));
            }
            Err(_) => {
                return Err(Error::Timeout {
                    what: "MySQL calendar query".into(),
                    after: self.timeout,
                });
            }
        };
        if rows.more {
            return Err(Error::Value(format!(
                "error inspecting MySQL calendar: the query returned more than {MAX_ROWS} rows: select only the horizon (:from, :to)"
            )));
        }
        let cells: Vec<Vec<mysql_async::Value>> =
            rows.rows.into_iter().map(|r| r.unwrap()).collect();
        events_of(&cells, self.def.zone)
            .map_err(|e| Error::Value(format!("error inspecting MySQL calendar: {e}")))
    }
}

#[async_trait]
impl Scaler for CalendarScaler {
    fn metric_spec(&self) -> &MetricSpec {
        &self.def.spec
    }

    fn lead_time(&self) -> Option<LeadTime> {
        Some(self.def.lead_time)
    }

    fn bounds_at(&self, at: DateTime<Utc>, lead: Duration) -> Bounds {
        self.lead_ms
            .store(lead.as_millis() as u64, Ordering::Relaxed);
        let (floor, n, load) = floor_at(&self.events(), self.def.load_per_replica, at, lead);
        Bounds {
            floor,
            floor_rule: (floor > 0).then(|| {
                format!(
                    "mysql-calendar: {n} event(s) with load {load} at {} per replica",
                    self.def.load_per_replica
                )
            }),
            ..Bounds::default()
        }
    }

    fn change_times(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        lead: Duration,
    ) -> Vec<DateTime<Utc>> {
        let lead = chrono::Duration::from_std(lead).unwrap_or_default();
        let times = self
            .events()
            .iter()
            .flat_map(|e| [e.start - lead, e.end])
            .filter(|t| *t >= from && *t <= to)
            .collect();
        crate::prescale::sorted_unique(times)
    }

    async fn sample(&self) -> Result<Sample> {
        let now = self.clock.now();
        let fresh = self.fetch(now).await?;
        let lead = Duration::from_millis(self.lead_ms.load(Ordering::Relaxed));
        let (floor, _, _) = floor_at(&fresh, self.def.load_per_replica, now, lead);
        *self.events.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(Sample {
            value: floor as f64,
            active: floor > 0,
        })
    }
}
