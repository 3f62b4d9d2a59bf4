//! `prescale run` as a real process against an API server that is not there: a closed port is
//! one WARN and a backoff (not a log flood), /readyz says 503; a server that accepts and never
//! answers is a logged timeout; the first SIGTERM ends the process within the grace; a taken
//! admin, metrics API or webhook port is a fatal start-up error naming the address; the
//! webhook answers while the API is unreachable, saying what it could not check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `prescale run` whose log lines are collected.
struct Run {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Run {
    fn start(server: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = prescale_kube_standin::listen::kubeconfig(server, dir.path());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_prescale"));
        cmd.arg("run");
        for (flag, default) in [("--admin-addr", "127.0.0.1:0"), ("--metrics-api-addr", "")] {
            if !args.contains(&flag) {
                cmd.args([flag, default]);
            }
        }
        let mut child = cmd
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .env("PRESCALE_LOG_LEVEL", "info")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(strip_ansi(&line));
            }
        });
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn wait_for_line(&self, secs: f64, what: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < deadline {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(what)) {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The admin server's address, from its start-up log line.
    fn admin_addr(&self) -> SocketAddr {
        let line = self
            .wait_for_line(10.0, "admin server listening")
            .unwrap_or_else(|| panic!("no admin line: {:#?}", self.lines()));
        let addr = line.split("addr=").nth(1).expect("addr field");
        addr.split_whitespace().next().unwrap().parse().unwrap()
    }

    fn wait_exit(&mut self, secs: f64) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn api_errors(admin: SocketAddr) -> u64 {
    get(admin, "/metrics")
        .lines()
        .filter(|l| l.starts_with("prescale_api_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server that accepts connections and never answers; they stay open while it lives.
fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().map_while(Result::ok) {
            held.push(conn);
        }
    });
    addr
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM");
}

#[test]
fn an_unreachable_api_is_one_warning_a_backoff_and_not_ready() {
    let run = Run::start(&format!("http://127.0.0.1:{}", closed_port()), &[]);
    let admin = run.admin_addr();
    std::thread::sleep(Duration::from_secs(5));
    let lines = run.lines();
    let unreachable: Vec<_> = lines.iter().filter(|l| l.contains("unreachable")).collect();
    assert_eq!(unreachable.len(), 1, "{lines:#?}");
    assert!(unreachable[0].contains("WARN"), "{lines:#?}");
    assert!(
        unreachable[0].contains("Connection refused"),
        "names the cause: {lines:#?}"
    );
    assert!(lines.len() < 20, "a few lines, not a flood: {lines:#?}");
    let ready = get(admin, "/readyz");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    let metrics = get(admin, "/metrics");
    assert!(metrics.contains("prescale_api_reachable 0"), "{metrics}");
    let first = api_errors(admin);
    // unthrottled retries were ~200 a second (the client's rate limit)
    assert!((1..60).contains(&first), "{first} failed calls in 5 s");
    std::thread::sleep(Duration::from_secs(4));
    let later = api_errors(admin);
    assert!(later > first, "it keeps retrying: {first} then {later}");
    assert!(
        later - first < 40,
        "and keeps backing off: {first} then {later}"
    );
    assert_eq!(
        run.lines()
            .iter()
            .filter(|l| l.contains("unreachable"))
            .count(),
        1
    );
}

#[test]
fn a_server_that_never_answers_is_a_logged_timeout() {
    let server = silent_server();
    let run = Run::start(
        &format!("http://{server}"),
        &["--kube-api-request-timeout", "2s"],
    );
    let started = Instant::now();
    let line = run
        .wait_for_line(4.0, "unreachable")
        .unwrap_or_else(|| panic!("no timeout logged: {:#?}", run.lines()));
    assert!(line.contains("request timeout of 2s"), "{line}");
    assert!(line.contains("kind=\"timeout\""), "{line}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn the_first_sigterm_exits_within_the_grace() {
    // API calls hang on this server: the drain has in-flight work to give up on
    let server = silent_server();
    let mut run = Run::start(&format!("http://{server}"), &["--shutdown-grace", "3s"]);
    run.admin_addr();
    std::thread::sleep(Duration::from_secs(1));
    let sent = Instant::now();
    sigterm(&run.child);
    let status = run
        .wait_exit(5.0)
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM: {:#?}", run.lines()));
    assert!(status.success(), "{status:?}");
    assert!(sent.elapsed() < Duration::from_secs(5));
    let lines = run.lines();
    assert!(
        lines.iter().any(|l| l.contains("shutdown signal received")),
        "{lines:#?}"
    );
}

#[test]
fn a_taken_port_is_fatal_at_start_and_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let server = format!("http://127.0.0.1:{}", closed_port());
    for flag in ["--admin-addr", "--metrics-api-addr", "--webhook-addr"] {
        let mut run = Run::start(&server, &[flag, &addr]);
        let status = run
            .wait_exit(10.0)
            .unwrap_or_else(|| panic!("{flag} {addr} taken: still running"));
        assert!(!status.success(), "{flag}: {status:?}");
        let lines = run.lines().join("\n");
        assert!(lines.contains(&addr), "{flag}: {lines}");
        assert!(lines.contains("cannot listen"), "{flag}: {lines}");
        assert!(lines.contains("in use"), "{flag}: {lines}");
    }
}

#[test]
fn the_webhook_answers_while_the_api_is_unreachable_and_says_what_was_not_checked() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let server = format!("http://127.0.0.1:{}", closed_port());
    let run = Run::start(&server, &["--webhook-addr", &addr.to_string()]);
    run.wait_for_line(10.0, "admission webhook listening")
        .expect("the webhook started");
    let review = |so: serde_json::Value| {
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u1", "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
            "resource": {"group": "keda.sh", "version": "v1alpha1", "resource": "scaledobjects"},
            "name": "web", "namespace": "shop", "operation": "CREATE", "userInfo": {},
            "object": so, "oldObject": null}})
    };
    let so = |max: i64| {
        serde_json::json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"name": "web"}, "minReplicaCount": 2, "maxReplicaCount": max,
                     "triggers": [{"type": "cron", "metadata": {"timezone": "UTC", "start": "0 8 * * *", "end": "0 9 * * *", "desiredReplicas": "4"}}]}})
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answers = rt.block_on(async {
        // the self-signed certificate of a run without certificate files
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut out = Vec::new();
        for max in [10, 1] {
            let res = client
                .post(format!(
                    "https://{addr}/validate-keda-sh-v1alpha1-scaledobject"
                ))
                .json(&review(so(max)))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            out.push(res.json::<serde_json::Value>().await.unwrap()["response"].clone());
        }
        out
    });
    let (ok, bad) = (&answers[0], &answers[1]);
    assert_eq!(ok["allowed"], true, "{ok}");
    assert!(
        ok["warnings"]
            .to_string()
            .contains("not checked (failurePolicy Ignore): "),
        "{ok}"
    );
    assert_eq!(bad["allowed"], false, "{bad}");
    assert!(
        bad["status"]["message"]
            .to_string()
            .contains("MinReplicaCount=2 must be less than MaxReplicaCount=1"),
        "{bad}"
    );
}
