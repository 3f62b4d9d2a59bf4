//! The Go MySQL driver's DSN, which KEDA users keep in Secrets
//! (`[user[:password]@][net[(addr)]]/dbname[?param=value&…]`, e.g.
//! `user:pw@tcp(db:3306)/shop?tls=true`), translated field by field into mysql_async options.
//! Parsed by hand: no crate reads this format. Error texts never include the password.

use std::collections::BTreeMap;
use std::time::Duration;

/// How to secure the connection (`tls=` of the Go driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// `false` or absent.
    Off,
    /// `true`: verified TLS.
    Verify,
    /// `skip-verify`: TLS without certificate verification.
    SkipVerify,
    /// `preferred`: the Go driver uses TLS without verification when the server offers it.
    /// Prescale always asks for TLS without verification (no plaintext fallback).
    Preferred,
}

/// A parsed DSN. Debug hides the password.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dsn {
    pub user: String,
    pub password: String,
    /// `tcp` or `unix`.
    pub net: String,
    /// `host:port` for tcp, a socket path for unix.
    pub addr: String,
    pub db_name: String,
    pub tls: TlsMode,
    /// `timeout` (dial), `readTimeout`, `writeTimeout`.
    pub timeout: Option<Duration>,
    /// Other parameters, kept for reference (`charset`, `parseTime`, … do not change what the
    /// scaler reads).
    pub params: BTreeMap<String, String>,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsn")
            .field("user", &self.user)
            .field("net", &self.net)
            .field("addr", &self.addr)
            .field("db_name", &self.db_name)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn go_duration(key: &str, v: &str) -> Result<Duration, String> {
    crate::params::parse_go_duration(v).map_err(|e| format!("invalid DSN: parameter {key}: {e}"))
}

impl Dsn {
    /// Parses a Go-driver DSN.
    pub fn parse(dsn: &str) -> Result<Self, String> {
        // the last '/' before any '?' ends the address part (passwords may contain '/')
        let (before_params, query) = match dsn.rfind('?') {
            Some(q) if dsn[..q].contains('/') => (&dsn[..q], Some(&dsn[q + 1..])),
            _ => (dsn, None),
        };
        let slash = before_params.rfind('/').ok_or_else(|| {
            "invalid DSN: missing the slash separating the database name".to_string()
        })?;
        let (head, db_name) = (&before_params[..slash], &before_params[slash + 1..]);
        // the last '@' splits credentials from the address
        let (cred, netaddr) = match head.rfind('@') {
            Some(at) => (Some(&head[..at]), &head[at + 1..]),
            None => (None, head),
        };
        let (user, password) = match cred {
            Some(c) => match c.find(':') {
                Some(i) => (c[..i].to_string(), c[i + 1..].to_string()),
                None => (c.to_string(), String::new()),
            },
            None => (String::new(), String::new()),
        };
        let (net, addr) = match netaddr.find('(') {
            Some(open) => {
                if !netaddr.ends_with(')') {
                    return Err(
                        "invalid DSN: network address not terminated (missing closing brace)"
                            .into(),
                    );
                }
                (
                    netaddr[..open].to_string(),
                    netaddr[open + 1..netaddr.len() - 1].to_string(),
                )
            }
            None => (netaddr.to_string(), String::new()),
        };
        let net = if net.is_empty() {
            "tcp".to_string()
        } else {
            net
        };
        let addr = match (net.as_str(), addr.is_empty()) {
            ("tcp", true) => "127.0.0.1:3306".to_string(),
            ("unix", true) => "/tmp/mysql.sock".to_string(),
            ("tcp", false)
                if !addr.contains(':') || (addr.starts_with('[') && addr.ends_with(']')) =>
            {
                format!("{addr}:3306")
            }
            ("tcp" | "unix", false) => addr,
            (other, _) => {
                return Err(format!(
                    "invalid DSN: unsupported network {other:?} (use tcp or unix)"
                ));
            }
        };
        let mut out = Dsn {
            user,
            password,
            net,
            addr,
            db_name: db_name.to_string(),
            tls: TlsMode::Off,
            timeout: None,
            params: BTreeMap::new(),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("invalid DSN: parameter {pair:?} has no value"))?;
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            match k {
                "tls" => {
                    out.tls = match v.as_str() {
                        "true" | "1" => TlsMode::Verify,
                        "false" | "0" => TlsMode::Off,
                        "skip-verify" => TlsMode::SkipVerify,
                        "preferred" => TlsMode::Preferred,
                        other => {
                            return Err(format!(
                                "invalid DSN: tls={other:?} names a TLS config registered in a Go program; use true, skip-verify, preferred or false"
                            ));
                        }
                    }
                }
                "timeout" | "readTimeout" | "writeTimeout" => {
                    let d = go_duration(k, &v)?;
                    out.timeout = Some(out.timeout.map_or(d, |t| t.max(d)));
                }
                _ => {
                    out.params.insert(k.to_string(), v);
                }
            }
        }
        Ok(out)
    }

    /// The DSN KEDA builds from separate parameters:
    /// `<username>:<password>@tcp(<host>:<port>)/<dbName>` (IPv6 host bracketed).
    pub fn from_parts(user: &str, password: &str, host: &str, port: &str, db_name: &str) -> Self {
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Dsn {
            user: user.to_string(),
            password: password.to_string(),
            net: "tcp".into(),
            addr: format!("{host}:{port}"),
            db_name: db_name.to_string(),
            tls: TlsMode::Off,
            timeout: None,
            params: BTreeMap::new(),
        }
    }

    /// mysql_async options for this DSN.
    pub fn opts(&self) -> Result<mysql_async::Opts, String> {
        let mut b = mysql_async::OptsBuilder::default()
            .user((!self.user.is_empty()).then(|| self.user.clone()))
            .pass((!self.password.is_empty()).then(|| self.password.clone()))
            .db_name((!self.db_name.is_empty()).then(|| self.db_name.clone()))
            .prefer_socket(false)
            .pool_opts(
                // no reset on return: it would cost a round trip per sample and drop the
                // prepared statements (see `read_only`: every statement sets what it needs)
                mysql_async::PoolOpts::default()
                    .with_constraints(mysql_async::PoolConstraints::new(1, 8).unwrap_or_default())
                    .with_reset_connection(false),
            );
        if self.net == "unix" {
            b = b.socket(Some(self.addr.clone()));
        } else {
            let (host, port) = self
                .addr
                .rsplit_once(':')
                .ok_or_else(|| format!("invalid DSN: address {:?} has no port", self.addr))?;
            let port: u16 = port
                .parse()
                .map_err(|_| format!("invalid DSN: port {port:?} is not a number"))?;
            b = b
                .ip_or_hostname(host.trim_start_matches('[').trim_end_matches(']'))
                .tcp_port(port);
        }
        let ssl = match self.tls {
            TlsMode::Off => None,
            TlsMode::Verify => Some(mysql_async::SslOpts::default()),
            TlsMode::SkipVerify | TlsMode::Preferred => Some(
                mysql_async::SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
        };
        Ok(b.ssl_opts(ssl).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_driver_shapes() {
        let d = Dsn::parse("test-user:test-password@tcp(mysql.ns.svc.cluster.local:3306)/test_db")
            .unwrap();
        assert_eq!(
            (d.user.as_str(), d.password.as_str(), d.net.as_str()),
            ("test-user", "test-password", "tcp")
        );
        assert_eq!(
            (d.addr.as_str(), d.db_name.as_str(), d.tls),
            ("mysql.ns.svc.cluster.local:3306", "test_db", TlsMode::Off)
        );
        let d = Dsn::parse(
            "u:p@ss:w/rd@@tcp(db)/shop?tls=skip-verify&timeout=5s&charset=utf8mb4&parseTime=true",
        )
        .unwrap();
        assert_eq!((d.user.as_str(), d.password.as_str()), ("u", "p@ss:w/rd@"));
        assert_eq!(d.addr, "db:3306");
        assert_eq!(
            (d.tls, d.timeout),
            (TlsMode::SkipVerify, Some(Duration::from_secs(5)))
        );
        assert_eq!(d.params["charset"], "utf8mb4");
        let d = Dsn::parse("/db").unwrap();
        assert_eq!(
            (d.user.as_str(), d.addr.as_str(), d.db_name.as_str()),
            ("", "127.0.0.1:3306", "db")
        );
        let d = Dsn::parse("root@unix(/var/run/mysqld/mysqld.sock)/app").unwrap();
        assert_eq!(
            (d.net.as_str(), d.addr.as_str()),
            ("unix", "/var/run/mysqld/mysqld.sock")
        );
        let d = Dsn::parse("u:p@tcp([::1]:3307)/x?tls=true").unwrap();
        assert_eq!((d.addr.as_str(), d.tls), ("[::1]:3307", TlsMode::Verify));
        let d = Dsn::parse("u:p@tcp([::1])/x?tls=preferred").unwrap();
        assert_eq!((d.addr.as_str(), d.tls), ("[::1]:3306", TlsMode::Preferred));
        let d = Dsn::parse("u:p@tcp(h:1)/").unwrap();
        assert_eq!(d.db_name, "");
        assert!(Dsn::parse("u:p@tcp(h:1)/x").unwrap().opts().is_ok());
        assert!(Dsn::parse("u:p@unix(/s)/x").unwrap().opts().is_ok());
    }

    #[test]
    fn bad_dsns_say_why_without_the_password() {
        let cases = [
            ("user:secretpw@tcp(h:1)", "missing the slash"),
            ("user:secretpw@tcp(h:1/db", "missing closing brace"),
            ("user:secretpw@udp(h:1)/db", "unsupported network"),
            (
                "user:secretpw@tcp(h:1)/db?tls=custom",
                "registered in a Go program",
            ),
            ("user:secretpw@tcp(h:1)/db?timeout=5x", "parameter timeout"),
            ("user:secretpw@tcp(h:1)/db?novalue", "has no value"),
        ];
        for (dsn, want) in cases {
            let e = Dsn::parse(dsn).unwrap_err();
            assert!(e.contains(want), "{dsn}: {e}");
            assert!(!e.contains("secretpw"), "{e}");
        }
        let e = Dsn::parse("user:secretpw@tcp(h:x)/db")
            .unwrap()
            .opts()
            .unwrap_err();
        assert!(e.contains("not a number") && !e.contains("secretpw"), "{e}");
        assert!(
            !format!("{:?}", Dsn::parse("user:secretpw@tcp(h:1)/db").unwrap()).contains("secretpw")
        );
    }

    #[test]
    fn parts_form() {
        let d = Dsn::from_parts("u", "p", "::1", "3306", "db");
        assert_eq!(d.addr, "[::1]:3306");
        let d = Dsn::from_parts("u", "p", "db.local", "3307", "shop");
        assert_eq!(
            (d.addr.as_str(), d.db_name.as_str()),
            ("db.local:3307", "shop")
        );
    }
}
