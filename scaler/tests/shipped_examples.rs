//! Every manifest in `deploy/examples/` passes `prescale validate --strict` on its own (no
//! problem, no warning), `deploy/examples/README.md` lists each of them, and together they
//! cover the four use cases (class schedule in MySQL, sales event, Redis job queue, Prometheus
//! request rate) and CPU combined with another trigger.

use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "../deploy/examples"]
        .iter()
        .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
}

fn trigger_types(file: &PathBuf) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .filter(|v: &serde_yaml::Value| v["kind"].as_str() == Some("ScaledObject"))
        .flat_map(|v| {
            v["spec"]["triggers"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t["type"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn each_example_passes_strict_validation_without_warnings() {
    for file in examples() {
        let o = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .args(["validate", "--strict", "-f"])
            .arg(&file)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{}: {text}", file.display());
        assert!(
            text.contains(" 0 problem source(s)") && !text.contains(" 0 ScaledObject(s) checked"),
            "{}: {text}",
            file.display()
        );
        assert!(!text.contains("warning"), "{}: {text}", file.display());
    }
}

#[test]
fn the_readme_lists_every_example_and_only_those() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/examples/README.md"
    ))
    .unwrap();
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        assert!(
            readme.contains(&format!("[`{name}`]({name})")),
            "README.md does not list {name}"
        );
    }
    // every linked example exists
    for part in readme.split("](").skip(1) {
        let target = part.split(')').next().unwrap();
        if target.ends_with(".yaml") {
            assert!(names.iter().any(|n| n == target), "README links {target}");
        }
    }
}

#[test]
fn the_examples_cover_the_four_use_cases_and_cpu_combined() {
    let all: Vec<(PathBuf, Vec<String>)> = examples()
        .into_iter()
        .map(|f| {
            let t = trigger_types(&f);
            (f, t)
        })
        .collect();
    let has = |ty: &str| all.iter().any(|(_, t)| t.iter().any(|x| x == ty));
    assert!(
        has("mysql") && has("mysql-calendar"),
        "class schedule in MySQL"
    );
    assert!(has("schedule") && has("cron"), "sales event");
    assert!(has("redis") || has("redis-cluster"), "Redis job queue");
    assert!(has("prometheus"), "Prometheus request rate");
    let cpu_with_another: Vec<&PathBuf> = all
        .iter()
        .filter(|(_, t)| t.iter().any(|x| x == "cpu") && t.iter().any(|x| x != "cpu"))
        .map(|(f, _)| f)
        .collect();
    assert!(
        cpu_with_another
            .iter()
            .any(|f| f.ends_with("redis-queue-with-cpu.yaml")),
        "{cpu_with_another:?}"
    );
}
