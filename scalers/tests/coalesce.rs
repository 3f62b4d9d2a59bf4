//! One upstream call per distinct query per cycle, against real servers, counted by the
//! servers themselves: many triggers with the same query on the same server sampled together
//! make one call (Prometheus `prometheus_http_requests_total`, Redis `INFO commandstats`,
//! MariaDB `Com_stmt_execute`); each trigger keeps its own activity and its own errors; Redis
//! counts of distinct keys go out pipelined (a counting proxy sees the writes).

use mysql_async::prelude::Queryable;
use prescale_scalers::{Context, Error, Sample, Scaler, TriggerInput, registry};
use prescale_testkit::mariadb::MariaDb;
use prescale_testkit::prometheus::{PrometheusServer, http_get};
use prescale_testkit::redis::RedisServer;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn ctx() -> Context {
    Context {
        default_timeout: Duration::from_secs(5),
        ..Context::default()
    }
}

async fn scaler(ctx: &Context, input: TriggerInput) -> Arc<dyn Scaler> {
    registry::parse(&input).unwrap().connect(ctx).await.unwrap()
}

/// One polling cycle: every scaler samples at the same moment (their tasks wait for one
/// signal, as the poller's tasks wait for the same timer instant).
async fn cycle(scalers: &[Arc<dyn Scaler>]) -> Vec<Result<Sample, Error>> {
    let (go, ready) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = scalers
        .iter()
        .map(|s| {
            let (s, mut ready) = (s.clone(), ready.clone());
            tokio::spawn(async move {
                let _ = ready.wait_for(|go| *go).await;
                s.sample().await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    go.send_replace(true);
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Instant queries Prometheus has answered (any status), from its own `/metrics`.
fn prometheus_queries(p: &PrometheusServer) -> u64 {
    http_get(p.port, "/metrics")
        .lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total")
                && l.contains("handler=\"/api/v1/query\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_one_query_per_distinct_query_per_cycle() {
    let p = PrometheusServer::start();
    p.exporter.set(6.0);
    p.wait_for_value(6.0);
    let ctx = ctx();
    let mut scalers = Vec::new();
    // 40 objects on one query with activation thresholds 0..39, 10 on another, 10 broken
    for i in 0..40 {
        let act = i.to_string();
        let meta = [
            ("serverAddress", p.address()),
            ("query", "sum(queue_depth)".into()),
            ("threshold", "10".into()),
            ("activationThreshold", act),
        ];
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        scalers.push(scaler(&ctx, TriggerInput::new("prometheus", 0, &meta)).await);
    }
    let address = p.address();
    for query in ["sum(queue_depth) * 2", "sum(queue_depth"] {
        for _ in 0..10 {
            let meta = [
                ("serverAddress", address.as_str()),
                ("query", query),
                ("threshold", "10"),
            ];
            scalers.push(scaler(&ctx, TriggerInput::new("prometheus", 0, &meta)).await);
        }
    }
    // a first cycle (every scaler's first sample reads the backend as it is now, joining only
    // calls in flight: not counted), then steady cycles
    cycle(&scalers).await;
    for round in 0..2 {
        let before = prometheus_queries(&p);
        let got = cycle(&scalers).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            prometheus_queries(&p) - before,
            3,
            "round {round}: one query per distinct query"
        );
        // the shared value (6, or 0 if a scrape under load was missed: the series is then
        // absent, which KEDA reads as 0)
        let v = got[0].as_ref().unwrap().value;
        assert!(v == 6.0 || v == 0.0, "{v}");
        for (i, r) in got.iter().enumerate() {
            match i {
                0..40 => {
                    let s = r.as_ref().unwrap();
                    assert_eq!(s.value, v);
                    // each object's own activation threshold
                    assert_eq!(s.active, v > i as f64, "object {i}");
                }
                40..50 => {
                    let w = r.as_ref().unwrap().value;
                    assert!(w == 12.0 || w == 0.0, "{w}");
                    assert_eq!(w, got[40].as_ref().unwrap().value);
                }
                _ => assert!(matches!(r, Err(Error::Query(_))), "{r:?}"),
            }
        }
    }
}

/// `calls=` of `cmd` in Redis `INFO commandstats` (0 when absent).
fn redis_calls(r: &RedisServer, cmd: &str) -> u64 {
    r.cli(&["INFO", "commandstats"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|v| v.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// A loopback proxy counting the reads it gets from clients (each pipelined batch of
/// commands is one write by the client, one read here).
async fn counting_proxy(upstream: u16) -> (u16, Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reads = Arc::new(AtomicU64::new(0));
    let counter = reads.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
                .await
                .unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 20];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
            });
        }
    });
    (port, reads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_one_count_per_key_per_cycle_in_one_pipeline() {
    let r = RedisServer::start();
    r.cli(&["RPUSH", "jobs", "a", "b", "c"]);
    r.cli(&["SET", "text", "not a list"]);
    for k in 0..50 {
        r.cli(&["RPUSH", &format!("k{k}"), "x"]);
    }
    let (port, reads) = counting_proxy(r.port).await;
    let address = format!("127.0.0.1:{port}");
    let ctx = ctx();
    let trigger = |key: &str, activation: &str| {
        let meta = [
            ("address", address.as_str()),
            ("listName", key),
            ("listLength", "5"),
            ("activationListLength", activation),
        ];
        TriggerInput::new("redis", 0, &meta)
    };
    // a first count of a set no other trigger reads loads the count script
    r.cli(&["SADD", "warm", "x"]);
    let warm = scaler(&ctx, trigger("warm", "0")).await;
    assert_eq!(warm.sample().await.unwrap().value, 1.0);
    let mut scalers = Vec::new();
    for i in 0..50 {
        scalers.push(scaler(&ctx, trigger("jobs", &(i % 5).to_string())).await);
    }
    for k in 0..50 {
        scalers.push(scaler(&ctx, trigger(&format!("k{k}"), "0")).await);
    }
    for _ in 0..5 {
        scalers.push(scaler(&ctx, trigger("text", "0")).await);
    }
    // a first cycle (every scaler's first sample reads the backend as it is now, joining only
    // calls in flight: not counted), then steady cycles
    cycle(&scalers).await;
    for round in 0..2 {
        let calls = (redis_calls(&r, "llen"), redis_calls(&r, "evalsha"));
        let batches = reads.load(Ordering::SeqCst);
        let got = cycle(&scalers).await;
        let batches = reads.load(Ordering::SeqCst) - batches;
        // a LLEN per distinct key; the string key's WRONGTYPE sends it to the count script
        assert_eq!(
            (
                redis_calls(&r, "llen") - calls.0,
                redis_calls(&r, "evalsha") - calls.1
            ),
            (52, 1),
            "round {round}: one count per distinct key"
        );
        // 52 counts from 105 triggers in a few writes (the pipelining task takes what is
        // queued when it runs; requests that come while a pipeline is out form the next; the
        // script's retry is one more)
        assert!(batches <= 3, "round {round}: {batches} writes");
        for (i, res) in got.iter().enumerate() {
            match i {
                0..50 => {
                    let s = res.as_ref().unwrap();
                    assert_eq!(s.value, 3.0);
                    assert_eq!(s.active, 3 > i % 5, "trigger {i}");
                }
                50..100 => assert_eq!(res.as_ref().unwrap().value, 1.0),
                _ => {
                    let e = res.as_ref().unwrap_err();
                    assert!(e.to_string().contains("unsupported key type"), "{e}");
                }
            }
        }
    }
}

async fn mysql_status(db: &MariaDb, name: &str) -> u64 {
    let mut c = mysql_async::Conn::new(db.client_opts()).await.unwrap();
    let row: Option<(String, String)> = c
        .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    row.unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_one_execute_per_distinct_query_per_cycle() {
    let db = MariaDb::start();
    db.sql(&[
        "CREATE TABLE jobs (id INT)",
        "INSERT INTO jobs VALUES (1), (2), (3), (4)",
    ])
    .await;
    let ctx = ctx();
    let trigger = |query: &str, activation: &str| {
        TriggerInput::new(
            "mysql",
            0,
            &[
                ("query", query),
                ("queryValue", "2"),
                ("activationQueryValue", activation),
            ],
        )
        .with_auth(&[("connectionString", &db.go_dsn(""))])
    };
    let mut scalers = Vec::new();
    for i in 0..30 {
        scalers.push(
            scaler(
                &ctx,
                trigger("SELECT COUNT(*) FROM jobs", &(i % 6).to_string()),
            )
            .await,
        );
    }
    for _ in 0..10 {
        scalers.push(scaler(&ctx, trigger("SELECT MAX(id) * 10 FROM jobs", "0")).await);
    }
    for _ in 0..5 {
        scalers.push(scaler(&ctx, trigger("SELECT COUNT(*) FROM missing", "0")).await);
    }
    // a first cycle (every scaler's first sample reads the backend as it is now, joining only
    // calls in flight: not counted), then steady cycles
    cycle(&scalers).await;
    for round in 0..2 {
        let before = mysql_status(&db, "Com_stmt_execute").await;
        let got = cycle(&scalers).await;
        // the failed query never gets to execute (its prepare fails), once per cycle too
        assert_eq!(
            mysql_status(&db, "Com_stmt_execute").await - before,
            2,
            "round {round}: one execute per distinct query"
        );
        for (i, res) in got.iter().enumerate() {
            match i {
                0..30 => {
                    let s = res.as_ref().unwrap();
                    assert_eq!(s.value, 4.0);
                    assert_eq!(s.active, 4 > i % 6, "trigger {i}");
                }
                30..40 => assert_eq!(res.as_ref().unwrap().value, 40.0),
                _ => {
                    let e = res.as_ref().unwrap_err();
                    assert!(matches!(e, Error::Query(_)), "{e:?}");
                    assert!(e.to_string().contains("missing"), "{e}");
                }
            }
        }
    }
}
