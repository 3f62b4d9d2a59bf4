//! The Redis scalers against real redis-server processes: values by key type, activity,
//! failures (down, wrong password, timeout), recovery, TLS, cluster, sentinel, shared pools.

use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::redis::{RedisCluster, RedisOptions, RedisSentinel, RedisServer};
use prescale_testkit::tls::TlsFiles;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx() -> Context {
    Context {
        default_timeout: Duration::from_secs(2),
        ..Context::default()
    }
}

async fn scaler(ctx: &Context, input: TriggerInput) -> Result<Arc<dyn Scaler>, Error> {
    registry::parse(&input)?.connect(ctx).await
}

fn trigger(kind: &str, meta: &[(&str, &str)]) -> TriggerInput {
    TriggerInput::new(kind, 0, meta)
}

#[tokio::test]
async fn list_length_and_activity_follow_the_list() {
    let r = RedisServer::start();
    let ctx = ctx();
    let s = scaler(
        &ctx,
        trigger(
            "redis",
            &[
                ("address", &r.address()),
                ("listName", "jobs"),
                ("activationListLength", "2"),
            ],
        ),
    )
    .await
    .unwrap();
    let sample = s.sample().await.unwrap();
    assert_eq!(
        (sample.value, sample.active),
        (0.0, false),
        "missing key counts 0"
    );
    r.cli(&["RPUSH", "jobs", "a", "b"]);
    let sample = s.sample().await.unwrap();
    assert_eq!(
        (sample.value, sample.active),
        (2.0, false),
        "2 is not above the activation 2"
    );
    r.cli(&["RPUSH", "jobs", "c"]);
    let sample = s.sample().await.unwrap();
    assert_eq!((sample.value, sample.active), (3.0, true));
    r.cli(&["LPOP", "jobs"]);
    assert_eq!(s.sample().await.unwrap().value, 2.0);
}

#[tokio::test]
async fn counts_sets_sorted_sets_hashes_and_rejects_strings() {
    let r = RedisServer::start();
    let ctx = ctx();
    r.cli(&["SADD", "s", "a", "b", "c"]);
    r.cli(&["ZADD", "z", "1", "a", "2", "b"]);
    r.cli(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    r.cli(&["SET", "str", "x"]);
    for (key, want) in [("s", 3.0), ("z", 2.0), ("h", 4.0)] {
        let s = scaler(
            &ctx,
            trigger("redis", &[("address", &r.address()), ("listName", key)]),
        )
        .await
        .unwrap();
        assert_eq!(s.sample().await.unwrap().value, want, "{key}");
    }
    let s = scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "str")]),
    )
    .await
    .unwrap();
    let e = s.sample().await.unwrap_err().to_string();
    assert!(e.contains("unsupported key type: string"), "{e}");
}

#[tokio::test]
async fn wrong_password_fails_without_showing_it_and_right_one_works() {
    let r = RedisServer::start_with(RedisOptions {
        password: Some("right-pass".into()),
        user: Some(("worker".into(), "user-pass".into())),
        ..Default::default()
    });
    let ctx = ctx();
    let e = match scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "q")])
            .with_auth(&[("password", "wrong-pass-123")]),
    )
    .await
    {
        Err(e) => e.to_string(),
        Ok(_) => panic!("wrong password accepted"),
    };
    assert!(e.starts_with("connection to redis failed"), "{e}");
    assert!(!e.contains("wrong-pass-123"), "{e}");
    let ok = scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "q")])
            .with_auth(&[("password", "right-pass")]),
    )
    .await
    .unwrap();
    r.cli(&["RPUSH", "q", "1"]);
    assert_eq!(ok.sample().await.unwrap().value, 1.0);
    let acl = scaler(
        &ctx,
        trigger(
            "redis",
            &[
                ("address", &r.address()),
                ("listName", "q"),
                ("username", "worker"),
            ],
        )
        .with_auth(&[("password", "user-pass")]),
    )
    .await
    .unwrap();
    assert_eq!(acl.sample().await.unwrap().value, 1.0);
}

#[tokio::test]
async fn server_down_is_an_error_and_the_same_scaler_recovers() {
    let mut r = RedisServer::start();
    let ctx = ctx();
    let s = scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "q")]),
    )
    .await
    .unwrap();
    r.cli(&["RPUSH", "q", "1"]);
    assert_eq!(s.sample().await.unwrap().value, 1.0);
    r.kill();
    let started = Instant::now();
    assert!(s.sample().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );
    r.restart();
    r.cli(&["RPUSH", "q", "1", "2"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match s.sample().await {
            Ok(v) => {
                assert_eq!(v.value, 2.0);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "never reconnected: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let down = prescale_testkit::free_port();
    let e = scaler(
        &ctx,
        trigger(
            "redis",
            &[("address", &format!("127.0.0.1:{down}")), ("listName", "q")],
        ),
    )
    .await;
    assert!(e.is_err());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // accepts TCP but never speaks RESP
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().take(8) {
            held.push(c);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let ctx = Context {
        default_timeout: Duration::from_millis(500),
        ..Context::default()
    };
    let started = Instant::now();
    let res = scaler(
        &ctx,
        trigger(
            "redis",
            &[("address", &addr.to_string()), ("listName", "q")],
        ),
    )
    .await;
    assert!(res.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn tls_with_ca_and_with_unsafe_ssl() {
    let files = TlsFiles::generate();
    let r = RedisServer::start_with(RedisOptions {
        tls: Some(files.clone()),
        ..Default::default()
    });
    r.cli(&["RPUSH", "secure", "a", "b", "c"]);
    let ctx = ctx();
    let with_ca = scaler(
        &ctx,
        trigger(
            "redis",
            &[
                ("host", "localhost"),
                ("port", &r.port.to_string()),
                ("listName", "secure"),
            ],
        )
        .with_auth(&[("tls", "enable"), ("ca", &files.ca_pem)]),
    )
    .await
    .unwrap();
    assert_eq!(with_ca.sample().await.unwrap().value, 3.0);
    let insecure = scaler(
        &ctx,
        trigger(
            "redis",
            &[
                ("address", &r.address()),
                ("listName", "secure"),
                ("enableTLS", "true"),
                ("unsafeSsl", "true"),
            ],
        ),
    )
    .await;
    assert_eq!(insecure.unwrap().sample().await.unwrap().value, 3.0);
    let plain = scaler(
        &ctx,
        trigger(
            "redis",
            &[("address", &r.address()), ("listName", "secure")],
        ),
    )
    .await;
    assert!(plain.is_err(), "plain TCP to a TLS port fails");
}

#[tokio::test]
async fn cluster_counts_keys_on_every_node() {
    let c = RedisCluster::start(Some("cluster-pass"));
    let ctx = ctx();
    // keys that hash to different slots (and so, nodes)
    let keys = ["queue-a", "queue-b", "queue-c", "queue-d", "queue-e"];
    for (i, k) in keys.iter().enumerate() {
        let items: Vec<String> = (0..=i).map(|n| n.to_string()).collect();
        let mut args = vec!["RPUSH", k];
        args.extend(items.iter().map(String::as_str));
        c.cli_for_key(&args);
    }
    for (i, k) in keys.iter().enumerate() {
        let s = scaler(
            &ctx,
            TriggerInput::new(
                "redis-cluster",
                0,
                &[("addresses", &c.addresses()), ("listName", k)],
            )
            .with_auth(&[("password", "cluster-pass")]),
        )
        .await
        .unwrap();
        assert_eq!(s.sample().await.unwrap().value, (i + 1) as f64, "{k}");
    }
}

#[tokio::test]
async fn sentinel_finds_the_master() {
    let s = RedisSentinel::start(Some("master-pass"), Some("sentinel-pass"));
    s.master.cli(&["RPUSH", "queue", "1", "2", "3", "4"]);
    let ctx = ctx();
    let sc = scaler(
        &ctx,
        TriggerInput::new(
            "redis-sentinel",
            0,
            &[
                ("addresses", &s.sentinel_address()),
                ("listName", "queue"),
                ("sentinelMaster", "mymaster"),
                ("activationListLength", "3"),
            ],
        )
        .with_auth(&[
            ("password", "master-pass"),
            ("sentinelPassword", "sentinel-pass"),
        ]),
    )
    .await
    .unwrap();
    let v = sc.sample().await.unwrap();
    assert_eq!((v.value, v.active), (4.0, true));
}

#[tokio::test]
async fn triggers_on_one_backend_share_one_pool() {
    let r = RedisServer::start();
    let other = RedisServer::start();
    let ctx = ctx();
    let _a = scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "a")]),
    )
    .await
    .unwrap();
    let _b = scaler(
        &ctx,
        trigger("redis", &[("address", &r.address()), ("listName", "b")]),
    )
    .await
    .unwrap();
    assert_eq!(
        ctx.pools
            .count::<prescale_scalers::redis::connection::RedisConn>(),
        1
    );
    let _c = scaler(
        &ctx,
        trigger("redis", &[("address", &other.address()), ("listName", "a")]),
    )
    .await
    .unwrap();
    assert_eq!(
        ctx.pools
            .count::<prescale_scalers::redis::connection::RedisConn>(),
        2
    );
    let clients = r.cli(&["CLIENT", "LIST"]).lines().count();
    assert!(
        clients <= 2,
        "one pooled connection (+ this redis-cli), got {clients}"
    );
}
