//! `scripts/image.sh` end to end on the test's own (debug) `prescale` binary: the root file
//! system, the OCI layout and its checks (digests, user, entrypoint, labels, no shell), and
//! the binary inside the unpacked image running as user 65532: `--version`, and `prescale run`
//! answering /livez and /readyz against the API stand-in (served here over TCP). The release
//! build is the only step skipped (`--binary`); `--fast` gzips at level 1.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_builds_checks_and_runs_from_its_root_file_system() {
    let api = prescale_kube_standin::ApiServer::new();
    let url = format!("http://{}", api.listen().await.unwrap());
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_path_buf();
    let run = tokio::task::spawn_blocking({
        let out = out.clone();
        move || {
            Command::new(root().join("scripts/image.sh"))
                .args([
                    "--binary",
                    env!("CARGO_BIN_EXE_prescale"),
                    "--fast",
                    "--standin-url",
                    &url,
                ])
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "image.sh failed:\n{stdout}\n{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        stdout.contains(&format!(
            "/prescale --version in the image: prescale {version}"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("answers /livez and /readyz"), "{stdout}");
    let image = prescale::cli::install::DEFAULT_IMAGE;
    assert!(
        stdout.contains(&format!("built {image}")),
        "install's default image is what image.sh builds: {stdout}"
    );
    assert!(out.join("prescale-image.tar").is_file());

    // the config as the checker read it
    let config_line = stdout
        .lines()
        .find(|l| l.starts_with("{\"config\""))
        .unwrap();
    let config: serde_json::Value = serde_json::from_str(config_line).unwrap();
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/prescale"])
    );
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        version
    );

    // the checker refuses a layout whose blob no longer matches its digest
    let blobs = out.join("oci/blobs/sha256");
    let biggest = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&biggest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&biggest, bytes).unwrap();
    let check = Command::new("python3")
        .arg(root().join("scripts/oci_image.py"))
        .args(["check"])
        .arg(out.join("oci"))
        .args(["--ref", image])
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("does not match its digest"));
}

/// The Dockerfile (for machines with an engine; not buildable here) makes the same image:
/// the same root file system recipe, a final stage from scratch, user 65532, the entrypoint
/// and labels image.sh sets.
#[test]
fn dockerfile_builds_the_same_image() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let final_stage = &text[text.rfind("\nFROM ").unwrap()..];
    assert!(final_stage.starts_with("\nFROM scratch\n"), "{final_stage}");
    assert!(text.contains("python3 scripts/oci_image.py rootfs target/release/prescale /rootfs"));
    for line in [
        "USER 65532:65532",
        "ENTRYPOINT [\"/prescale\"]",
        "CMD [\"run\"]",
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    ] {
        assert!(final_stage.contains(line), "{line}");
    }
    let script = std::fs::read_to_string(root().join("scripts/image.sh")).unwrap();
    for label in [
        "title",
        "description",
        "version",
        "revision",
        "source",
        "licenses",
    ] {
        let key = format!("org.opencontainers.image.{label}=");
        assert!(final_stage.contains(&key) && script.contains(&key), "{key}");
    }
    let toolchain = std::fs::read_to_string(root().join("rust-toolchain.toml")).unwrap();
    let rust = text
        .lines()
        .find_map(|l| l.strip_prefix("ARG RUST_VERSION="))
        .unwrap();
    assert!(
        toolchain.contains(&format!("\"{rust}\"")),
        "Dockerfile Rust {rust} is not rust-toolchain.toml's"
    );
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("ARG VERSION="))
        .unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
}
