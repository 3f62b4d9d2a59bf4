//! redis `keyPassword`: a real redis-server that demands client certificates
//! (`tls-auth-clients yes`), reached with client keys encrypted by the real `openssl` CLI in
//! every form Prescale reads (PKCS#8 PBES2 with AES-CBC, DES-EDE3 and scrypt; the legacy
//! OpenSSL `Proc-Type: 4,ENCRYPTED` form for RSA and EC keys with AES and DES-EDE3), and
//! refused with a wrong password, with no password, and without a client certificate.

use prescale_scalers::{Context, Error, Scaler, TriggerInput, registry};
use prescale_testkit::redis::{RedisOptions, RedisServer};
use prescale_testkit::tls::TlsFiles;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "s3cret-key-pass";

fn ctx() -> Context {
    Context {
        default_timeout: Duration::from_secs(3),
        ..Context::default()
    }
}

/// Runs `openssl args…` in `dir` and returns the file `out` it wrote.
fn openssl(dir: &Path, args: &[&str], out: &str) -> String {
    let res = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        res.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read_to_string(dir.join(out)).expect("openssl output")
}

fn server(files: &TlsFiles) -> RedisServer {
    let r = RedisServer::start_with(RedisOptions {
        tls: Some(files.clone()),
        extra: vec![("tls-auth-clients".into(), "yes".into())],
        ..Default::default()
    });
    r.cli(&["RPUSH", "jobs", "a", "b", "c", "d"]);
    assert_eq!(r.cli(&["LLEN", "jobs"]), "4", "{}", r.log());
    r
}

async fn connect(
    r: &RedisServer,
    files: &TlsFiles,
    cert: &str,
    key: &str,
    password: &str,
) -> Result<Arc<dyn Scaler>, Error> {
    let mut auth = vec![("tls", "enable"), ("ca", files.ca_pem.as_str())];
    if !cert.is_empty() {
        auth.extend([("cert", cert), ("key", key)]);
    }
    if !password.is_empty() {
        auth.push(("keyPassword", password));
    }
    let input = TriggerInput::new(
        "redis",
        0,
        &[
            ("host", "localhost"),
            ("port", &r.port.to_string()),
            ("listName", "jobs"),
        ],
    )
    .with_auth(&auth);
    // a fresh context each time: a shared pool would hand back the first connection
    registry::parse(&input)?.connect(&ctx()).await
}

#[tokio::test]
async fn encrypted_client_keys_in_every_form_connect() {
    let files = TlsFiles::generate();
    let r = server(&files);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ec.pem"), &files.client_key_pem).unwrap();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
        "rsa.pem",
    );
    let rsa_key = std::fs::read_to_string(d.join("rsa.pem")).unwrap();
    let rsa_cert = files.client_cert_for(&rsa_key, "prescale-rsa-client");
    let pass = format!("pass:{PASSWORD}");
    let topk8 = |input: &str, extra: &[&str], out: &str| {
        let mut a = vec![
            "pkcs8", "-topk8", "-in", input, "-passout", &pass, "-out", out,
        ];
        a.extend_from_slice(extra);
        openssl(d, &a, out)
    };
    let legacy = |tool: &str, input: &str, cipher: &str, out: &str| {
        let mut a = vec![tool, "-in", input, cipher, "-passout", &pass, "-out", out];
        if tool == "rsa" {
            a.push("-traditional");
        }
        openssl(d, &a, out)
    };
    let cases = [
        (
            "EC PKCS#8 PBES2 aes-256-cbc",
            &files.client_cert_pem,
            topk8("ec.pem", &["-v2", "aes-256-cbc"], "ec-p8-aes256.pem"),
        ),
        (
            "RSA PKCS#8 PBES2 des3",
            &rsa_cert,
            topk8("rsa.pem", &["-v2", "des3"], "rsa-p8-des3.pem"),
        ),
        (
            "EC PKCS#8 PBES2 aes-128-cbc hmacWithSHA1",
            &files.client_cert_pem,
            topk8(
                "ec.pem",
                &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
                "ec-p8-sha1.pem",
            ),
        ),
        (
            "EC PKCS#8 scrypt",
            &files.client_cert_pem,
            topk8("ec.pem", &["-scrypt"], "ec-p8-scrypt.pem"),
        ),
        (
            "RSA legacy aes256",
            &rsa_cert,
            legacy("rsa", "rsa.pem", "-aes256", "rsa-l-aes256.pem"),
        ),
        (
            "RSA legacy aes128",
            &rsa_cert,
            legacy("rsa", "rsa.pem", "-aes128", "rsa-l-aes128.pem"),
        ),
        (
            "RSA legacy aes192",
            &rsa_cert,
            legacy("rsa", "rsa.pem", "-aes192", "rsa-l-aes192.pem"),
        ),
        (
            "RSA legacy des3",
            &rsa_cert,
            legacy("rsa", "rsa.pem", "-des3", "rsa-l-des3.pem"),
        ),
        (
            "EC legacy aes256",
            &files.client_cert_pem,
            legacy("ec", "ec.pem", "-aes256", "ec-l-aes256.pem"),
        ),
    ];
    for (name, cert, key) in &cases {
        let encrypted =
            key.contains("ENCRYPTED PRIVATE KEY") || key.contains("Proc-Type: 4,ENCRYPTED");
        assert!(encrypted, "{name}: openssl did not encrypt:\n{key}");
        let s = connect(&r, &files, cert, key, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let sample = s.sample().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sample.value, 4.0, "{name}");
    }
}

#[tokio::test]
async fn wrong_or_missing_passwords_and_missing_certificates_are_refused() {
    let files = TlsFiles::generate();
    let r = server(&files);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ec.pem"), &files.client_key_pem).unwrap();
    let pass = format!("pass:{PASSWORD}");
    let p8 = openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "ec.pem",
            "-passout",
            &pass,
            "-out",
            "p8.pem",
        ],
        "p8.pem",
    );
    let old = openssl(
        d,
        &[
            "ec", "-in", "ec.pem", "-aes256", "-passout", &pass, "-out", "old.pem",
        ],
        "old.pem",
    );
    let cert = &files.client_cert_pem;

    // the unencrypted key works: the server takes this certificate
    let plain = connect(&r, &files, cert, &files.client_key_pem, "").await;
    assert_eq!(plain.unwrap().sample().await.unwrap().value, 4.0);

    for (form, key) in [("pkcs8", &p8), ("legacy", &old)] {
        let wrong = "not-the-password";
        let err = connect(&r, &files, cert, key, wrong)
            .await
            .err()
            .unwrap_or_else(|| panic!("{form}: a wrong password connected"))
            .to_string();
        assert!(err.contains("wrong keyPassword"), "{form}: {err}");
        assert!(
            !err.contains(wrong) && !err.contains("BEGIN"),
            "{form}: {err}"
        );

        let err = connect(&r, &files, cert, key, "")
            .await
            .err()
            .unwrap_or_else(|| panic!("{form}: an encrypted key without password connected"))
            .to_string();
        assert!(!err.contains("BEGIN"), "{form}: {err}");
    }

    // a password for a key that is not encrypted is refused when parsing (as KEDA does)
    let err = connect(&r, &files, cert, &files.client_key_pem, PASSWORD)
        .await
        .err()
        .expect("a password for a plain key")
        .to_string();
    assert!(err.contains("is not encrypted"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");

    // and the server really demands a client certificate
    let err = connect(&r, &files, "", "", "")
        .await
        .err()
        .expect("no client certificate connected to tls-auth-clients yes");
    assert!(
        matches!(err, Error::Connect(_) | Error::Timeout { .. }),
        "{err}"
    );
}
