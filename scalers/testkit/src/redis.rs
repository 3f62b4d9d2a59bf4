//! Real `redis-server` instances: standalone (optionally with a password, an ACL user and TLS),
//! a cluster of three masters, and a master watched by a `redis-sentinel`.

use crate::process::{ServerProcess, find_binary, free_port, wait_for_port};
use std::process::Command;
use std::time::{Duration, Instant};

/// Options of a standalone server.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    pub password: Option<String>,
    /// An extra ACL user `(name, password)` with full access.
    pub user: Option<(String, String)>,
    /// Serve TLS only, with these PEM files (cert, key, CA).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Extra `--name value` arguments.
    pub extra: Vec<(String, String)>,
}

/// A running standalone server on 127.0.0.1.
pub struct RedisServer {
    pub port: u16,
    pub options: RedisOptions,
    process: ServerProcess,
}

fn args_for(port: u16, o: &RedisOptions, dir: &std::path::Path) -> Vec<String> {
    let mut a = vec![
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--protected-mode".into(),
        "no".into(),
    ];
    match &o.tls {
        Some(t) => a.extend([
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            t.cert.display().to_string(),
            "--tls-key-file".into(),
            t.key.display().to_string(),
            "--tls-ca-cert-file".into(),
            t.ca.display().to_string(),
            "--tls-auth-clients".into(),
            "no".into(),
        ]),
        None => a.extend(["--port".into(), port.to_string()]),
    }
    if let Some(p) = &o.password {
        a.extend(["--requirepass".into(), p.clone()]);
    }
    for (k, v) in &o.extra {
        a.extend([format!("--{k}"), v.clone()]);
    }
    a
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(RedisOptions::default())
    }

    pub fn start_with(options: RedisOptions) -> Self {
        Self::start_on(free_port(), options)
    }

    fn start_on(port: u16, options: RedisOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(find_binary("redis-server"));
        cmd.args(args_for(port, &options, dir.path()));
        let process = ServerProcess::spawn("redis-server", cmd, dir);
        process.expect_port(port, Duration::from_secs(10));
        let s = Self {
            port,
            options,
            process,
        };
        if let Some((user, pass)) = &s.options.user {
            s.cli(&[
                "ACL",
                "SETUSER",
                user,
                "on",
                &format!(">{pass}"),
                "~*",
                "&*",
                "+@all",
            ]);
        }
        s
    }

    /// `host:port` of the server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs one command with `redis-cli` (a real client) and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(
            self.port,
            self.options.password.as_deref(),
            self.options.tls.as_ref(),
            args,
        )
    }

    /// Stops the server (tests of "server down").
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts it again on the same port, with the same options and an empty data set.
    pub fn restart(&mut self) {
        self.kill();
        let again = Self::start_on(self.port, self.options.clone());
        *self = again;
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// `redis-cli` against 127.0.0.1:`port`.
pub fn redis_cli(
    port: u16,
    password: Option<&str>,
    tls: Option<&crate::tls::TlsFiles>,
    args: &[&str],
) -> String {
    let mut cmd = Command::new(find_binary("redis-cli"));
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--no-auth-warning",
    ]);
    if let Some(p) = password {
        cmd.args(["-a", p]);
    }
    if let Some(t) = tls {
        // the server's own certificate doubles as a client certificate (same CA), so the
        // CLI also works against a server with `tls-auth-clients yes`
        cmd.arg("--tls").arg("--cacert").arg(&t.ca);
        cmd.arg("--cert").arg(&t.cert).arg("--key").arg(&t.key);
    }
    cmd.args(args);
    let out = cmd.output().expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Three masters in one real cluster (`cluster-enabled yes`, slots assigned by
/// `redis-cli --cluster create`).
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(password: Option<&str>) -> Self {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let mut extra = vec![
                ("cluster-enabled".to_string(), "yes".to_string()),
                (
                    "cluster-config-file".to_string(),
                    format!("nodes-{port}.conf"),
                ),
                ("cluster-node-timeout".to_string(), "2000".to_string()),
            ];
            if let Some(p) = password {
                extra.push(("masterauth".into(), p.into()));
            }
            nodes.push(RedisServer::start_on(
                port,
                RedisOptions {
                    password: password.map(str::to_string),
                    extra,
                    ..Default::default()
                },
            ));
        }
        let mut cmd = Command::new(find_binary("redis-cli"));
        cmd.arg("--cluster").arg("create");
        for n in &nodes {
            cmd.arg(n.address());
        }
        cmd.args([
            "--cluster-replicas",
            "0",
            "--cluster-yes",
            "--no-auth-warning",
        ]);
        if let Some(p) = password {
            cmd.args(["-a", p]);
        }
        let out = cmd.output().expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        {
            assert!(
                Instant::now() < deadline,
                "cluster never reached cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { nodes }
    }

    /// Comma-separated seed addresses.
    pub fn addresses(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A command routed to the node owning `key` (`redis-cli -c`).
    pub fn cli_for_key(&self, args: &[&str]) -> String {
        let n = &self.nodes[0];
        let mut full = vec!["-c"];
        full.extend_from_slice(args);
        n.cli(&full)
    }
}

/// A master and one `redis-sentinel` watching it as `mymaster`.
pub struct RedisSentinel {
    pub master: RedisServer,
    pub sentinel_port: u16,
    _sentinel: ServerProcess,
}

impl RedisSentinel {
    /// `password` protects the master; `sentinel_password` the sentinel itself.
    pub fn start(password: Option<&str>, sentinel_password: Option<&str>) -> Self {
        let master = RedisServer::start_with(RedisOptions {
            password: password.map(str::to_string),
            ..Default::default()
        });
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conf = format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 1\nsentinel down-after-milliseconds mymaster 2000\n",
            dir.path().display(),
            master.port
        );
        if let Some(p) = password {
            conf.push_str(&format!("sentinel auth-pass mymaster {p}\n"));
        }
        if let Some(p) = sentinel_password {
            conf.push_str(&format!("requirepass {p}\n"));
        }
        let conf_path = dir.path().join("sentinel.conf");
        std::fs::write(&conf_path, conf).expect("write sentinel.conf");
        let mut cmd = Command::new(find_binary("redis-sentinel"));
        cmd.arg(&conf_path);
        let sentinel = ServerProcess::spawn("redis-sentinel", cmd, dir);
        sentinel.expect_port(port, Duration::from_secs(10));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = redis_cli(
                port,
                sentinel_password,
                None,
                &["SENTINEL", "get-master-addr-by-name", "mymaster"],
            );
            if out.contains(&master.port.to_string()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "sentinel never reported the master: {out}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(wait_for_port(port, Duration::from_secs(1)));
        Self {
            master,
            sentinel_port: port,
            _sentinel: sentinel,
        }
    }

    pub fn sentinel_address(&self) -> String {
        format!("127.0.0.1:{}", self.sentinel_port)
    }
}
