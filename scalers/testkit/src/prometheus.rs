//! A real `prometheus` scraping a tiny exporter served by the test (a gauge whose value the test
//! sets), optionally behind a route prefix, TLS (with or without required client certificates)
//! and basic auth (`--web.config.file`).

use crate::process::{ServerProcess, find_binary, free_port};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The exporter: serves `/metrics` with `queue_depth <value>` and `ready 1`.
pub struct Exporter {
    pub port: u16,
    value: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Exporter {
    pub fn start(initial: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind exporter");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let value = Arc::new(AtomicU64::new(initial.to_bits()));
        let stop = Arc::new(AtomicBool::new(false));
        let (v, s) = (value.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let mut buf = [0u8; 2048];
                        let _ = conn.read(&mut buf);
                        let body = format!(
                            "# TYPE queue_depth gauge\nqueue_depth {}\nready 1\n",
                            f64::from_bits(v.load(Ordering::SeqCst))
                        );
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self { port, value, stop }
    }

    pub fn set(&self, v: f64) {
        self.value.store(v.to_bits(), Ordering::SeqCst);
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Options of the server's web endpoint.
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    /// `--web.route-prefix` (e.g. `/prom`).
    pub route_prefix: Option<String>,
    /// Serve HTTPS with these files.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Require a client certificate signed by the TLS CA.
    pub require_client_cert: bool,
    /// Basic auth `(user, password)`.
    pub basic_auth: Option<(String, String)>,
    /// More plain-HTTP scrape jobs `(job name, host:port)` besides the exporter's `app`
    /// (e.g. an operator's admin `/metrics`), scraped every second.
    pub scrape: Vec<(String, String)>,
}

/// A running Prometheus on 127.0.0.1.
pub struct PrometheusServer {
    pub port: u16,
    pub exporter: Exporter,
    pub options: PrometheusOptions,
    process: ServerProcess,
}

impl PrometheusServer {
    pub fn start() -> Self {
        Self::start_with(PrometheusOptions::default())
    }

    pub fn start_with(options: PrometheusOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::launch(options, dir, &[])
    }

    /// A plain HTTP server whose TSDB already holds `points` (`(unix seconds, value)`, in time
    /// order) of the gauge `metric` (no labels), written with `promtool tsdb
    /// create-blocks-from openmetrics` before the server starts. Retention is 400 days so
    /// that no backfilled block is dropped; `extra_args` go to `prometheus` as they are
    /// (e.g. `--query.max-samples=1000`). Returns once the server answers.
    pub fn start_with_backfill(metric: &str, points: &[(i64, f64)], extra_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("backfill.om");
        let mut text = String::with_capacity(points.len() * 32 + 64);
        text.push_str(&format!("# TYPE {metric} gauge\n"));
        for (t, v) in points {
            text.push_str(&format!("{metric} {v} {t}\n"));
        }
        text.push_str("# EOF\n");
        std::fs::write(&file, text).expect("write OpenMetrics file");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create data dir");
        let out = Command::new(find_binary("promtool"))
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg(&file)
            .arg(&data)
            .output()
            .expect("run promtool (is the prometheus package installed?)");
        assert!(
            out.status.success(),
            "promtool create-blocks-from failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut args = vec!["--storage.tsdb.retention.time=400d".to_string()];
        args.extend(extra_args.iter().map(|a| a.to_string()));
        Self::launch(PrometheusOptions::default(), dir, &args)
    }

    /// The body of an instant query (plain HTTP servers), e.g. to wait for backfilled blocks.
    pub fn instant_query(&self, promql: &str) -> String {
        let prefix = self.options.route_prefix.clone().unwrap_or_default();
        let q: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        http_get(self.port, &format!("{prefix}/api/v1/query?query={q}"))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    fn launch(options: PrometheusOptions, dir: tempfile::TempDir, extra_args: &[String]) -> Self {
        let exporter = Exporter::start(0.0);
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            exporter.port
        );
        for (job, target) in &options.scrape {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        let port = free_port();
        let mut cmd = Command::new(find_binary("prometheus"));
        cmd.arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(extra_args);
        if let Some(prefix) = &options.route_prefix {
            cmd.arg(format!("--web.route-prefix={prefix}")).arg(format!(
                "--web.external-url=http://127.0.0.1:{port}{prefix}"
            ));
        }
        let mut web = String::new();
        if let Some(t) = &options.tls {
            web.push_str(&format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                t.cert.display(),
                t.key.display()
            ));
            if options.require_client_cert {
                web.push_str(&format!(
                    "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
                    t.ca.display()
                ));
            }
        }
        if let Some((user, pass)) = &options.basic_auth {
            let hash = bcrypt::hash(pass, 4).expect("bcrypt");
            web.push_str(&format!("basic_auth_users:\n  {user}: {hash}\n"));
        }
        if !web.is_empty() {
            std::fs::write(dir.path().join("web.yml"), web).expect("write web config");
            cmd.arg(format!(
                "--web.config.file={}",
                dir.path().join("web.yml").display()
            ));
        }
        let process = ServerProcess::spawn("prometheus", cmd, dir);
        process.expect_port(port, Duration::from_secs(30));
        Self {
            port,
            exporter,
            options,
            process,
        }
    }

    /// `http(s)://127.0.0.1:<port><prefix>`, as a trigger's `serverAddress`.
    pub fn address(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let host = if self.options.tls.is_some() {
            "localhost"
        } else {
            "127.0.0.1"
        };
        format!(
            "{scheme}://{host}:{}{}",
            self.port,
            self.options.route_prefix.clone().unwrap_or_default()
        )
    }

    /// Waits until the scraped gauge equals `value` in an instant query (plain HTTP servers).
    pub fn wait_for_value(&self, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.instant_query("queue_depth");
            if body.contains(&format!("\"{value}\"")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus never saw queue_depth={value}: {body}\n{}",
                self.process.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits a few scrapes so a new exporter value is in the TSDB (for TLS/auth servers where
    /// [`Self::wait_for_value`] cannot ask).
    pub fn settle(&self) {
        std::thread::sleep(Duration::from_millis(3500));
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// A plain HTTP GET on 127.0.0.1 returning the body (test helper; no client crate needed).
pub fn http_get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}
