//! A child server process that cannot outlive its test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Finds a server binary, looking in `/usr/sbin` and `/usr/bin` as well as `PATH`.
pub fn find_binary(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// A running server: killed and waited for on drop; its temp dir is removed after.
pub struct ServerProcess {
    child: Option<Child>,
    name: String,
    /// The server's private working directory.
    pub dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Spawns `cmd` (stdout/stderr to `<dir>/<name>.log`) in `dir`.
    pub fn spawn(name: &str, mut cmd: Command, dir: tempfile::TempDir) -> Self {
        let log = std::fs::File::create(dir.path().join(format!("{name}.log")))
            .expect("create server log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e} (is it installed? see README set-up)"));
        Self {
            child: Some(child),
            name: name.to_string(),
            dir,
        }
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.log", self.name)))
            .unwrap_or_default()
    }

    /// Waits for `port`, panicking with the server log if it never opens.
    pub fn expect_port(&self, port: u16, timeout: Duration) {
        if !wait_for_port(port, timeout) {
            panic!(
                "{} did not open port {port} within {timeout:?}; log:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// Kills the server now (tests of "server down").
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
