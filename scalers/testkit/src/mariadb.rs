//! A real `mariadbd` with a fresh data directory, a database `app` and a user `scaler` whose
//! password contains `@`, `:` and `/` (to exercise DSN parsing), optionally serving TLS. The
//! user may create users of `app` (tests give them passwords of their own).

use crate::process::{ServerProcess, find_binary, free_port};
use std::process::Command;
use std::time::Duration;

pub const USER: &str = "scaler";
pub const PASSWORD: &str = "p@ss:w/rd";
pub const DATABASE: &str = "app";

/// A running MariaDB server on 127.0.0.1.
pub struct MariaDb {
    pub port: u16,
    pub tls: Option<crate::tls::TlsFiles>,
    process: ServerProcess,
}

impl MariaDb {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    pub fn start_with(tls: Option<crate::tls::TlsFiles>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // Each server gets its own tmpdir: parallel bootstraps sharing /tmp have been seen to
        // remove each other's temporary tables ("Unknown table 'mysql.tmp_user_nopasswd'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("create tmpdir");
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let _ = std::fs::remove_dir_all(&data);
            let out = Command::new(find_binary("mariadb-install-db"))
                .args([
                    "--no-defaults",
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ])
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--tmpdir={}", tmp.display()))
                .output()
                .expect("run mariadb-install-db (is mariadb-server installed? see README set-up)");
            if out.status.success() {
                last_err.clear();
                break;
            }
            last_err = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        assert!(last_err.is_empty(), "mariadb-install-db failed: {last_err}");
        let init = dir.path().join("init.sql");
        std::fs::write(
            &init,
            format!(
                "CREATE DATABASE IF NOT EXISTS {DATABASE};\n\
                 CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\n\
                 GRANT ALL ON {DATABASE}.* TO '{USER}'@'%' WITH GRANT OPTION;\n\
                 GRANT PROCESS, CREATE USER ON *.* TO '{USER}'@'%';\n"
            ),
        )
        .expect("write init.sql");
        let port = free_port();
        let mut cmd = Command::new(find_binary("mariadbd"));
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .arg(format!("--port={port}"))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg(format!("--init-file={}", init.display()))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--skip-log-bin",
            ]);
        if let Some(t) = &tls {
            cmd.arg(format!("--ssl-cert={}", t.cert.display()))
                .arg(format!("--ssl-key={}", t.key.display()))
                .arg(format!("--ssl-ca={}", t.ca.display()));
        }
        let process = ServerProcess::spawn("mariadbd", cmd, dir);
        process.expect_port(port, Duration::from_secs(60));
        Self { port, tls, process }
    }

    /// A Go-driver DSN for the test user, as KEDA users keep it in a Secret.
    pub fn go_dsn(&self, params: &str) -> String {
        let q = if params.is_empty() {
            String::new()
        } else {
            format!("?{params}")
        };
        format!(
            "{USER}:{PASSWORD}@tcp(127.0.0.1:{})/{DATABASE}{q}",
            self.port
        )
    }

    /// Stops the server ("server down" tests).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Client options for the test user and database (a real client, for loading data).
    pub fn client_opts(&self) -> mysql_async::OptsBuilder {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(USER))
            .pass(Some(PASSWORD))
            .db_name(Some(DATABASE))
    }

    /// Runs statements as the test user through a real client; panics on any error.
    pub async fn sql(&self, stmts: &[&str]) {
        use mysql_async::prelude::Queryable;
        let mut conn = mysql_async::Conn::new(self.client_opts())
            .await
            .expect("connect as the test user");
        for s in stmts {
            conn.query_drop(*s)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        conn.disconnect().await.expect("disconnect");
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}
