//! The operator's architecture, checked: data flows one way (no module of `scaler/src` uses a
//! module above it in [`LAYERS`], and inside the poll loop no stage uses a later one), and each
//! kind of object has one writer (`src/write/`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate's top-level modules, lowest first: each may use only modules before it.
const LAYERS: &[&str] = &[
    "api",
    "time",
    "serving_cert",
    "api_health",
    "kube_client",
    "cache",
    "retry",
    "leader",
    "shutdown",
    "telemetry",
    "metric_store",
    "scaling",
    "trigger",
    "target",
    "hpa",
    "prescaling",
    "dependencies",
    "resolve",
    "validate",
    "write",
    "poller",
    "context",
    "jobs",
    "controller",
    "simulate",
    "explain",
    "metrics_api",
    "webhook",
    "operator",
    "cli",
];

/// The poll loop's own modules, in pipeline order.
const POLLER: &[&str] = &[
    "jitter", "evaluate", "plan", "env", "prescale", "step", "execute", "task",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its test modules.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module names that follow `prefix` in `code` (`crate::poller::x` → `poller`, and each
/// name of `crate::{a, b::c}` → `a`, `b`).
fn uses(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out.remove("");
    out
}

fn files() -> Vec<(String, PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    sources(&src, &mut all);
    all.into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().to_string();
            (rel, p)
        })
        .collect()
}

fn rank(layers: &[&str], name: &str) -> Option<usize> {
    layers.iter().position(|l| *l == name)
}

#[test]
fn every_module_has_its_place() {
    let tops: BTreeSet<String> = files()
        .iter()
        .map(|(rel, _)| {
            rel.split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|t| !["lib", "main"].contains(&t.as_str()))
        .collect();
    assert!(tops.len() > 20, "{tops:?}");
    for t in &tops {
        assert!(rank(LAYERS, t).is_some(), "{t} is not in LAYERS");
    }
    // the checker sees a use when there is one
    assert_eq!(
        uses(
            "use crate::{api::X, poller};\nlet a = crate::write::Writer;",
            "crate::"
        ),
        BTreeSet::from(["api".into(), "poller".into(), "write".into()])
    );
}

#[test]
fn no_module_uses_one_above_it() {
    let mut wrong = Vec::new();
    for (rel, path) in files() {
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if ["lib", "main"].contains(&top) {
            continue;
        }
        let own = rank(LAYERS, top).unwrap_or_else(|| panic!("{top} is not in LAYERS"));
        for used in uses(&code(&path), "crate::") {
            match rank(LAYERS, &used) {
                Some(r) if r > own => wrong.push(format!("{rel} uses crate::{used}")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn poll_stages_use_only_earlier_stages() {
    let mut wrong = Vec::new();
    for (rel, path) in files() {
        let Some(file) = rel.strip_prefix("poller/") else {
            continue;
        };
        let stage = file.split('/').next().unwrap().trim_end_matches(".rs");
        if stage == "mod" {
            continue;
        }
        let own = rank(POLLER, stage).unwrap_or_else(|| panic!("{stage} is not in POLLER"));
        let text = code(&path);
        let mut used = uses(&text, "crate::poller::");
        used.extend(uses(&text, "super::"));
        for u in used {
            match rank(POLLER, &u) {
                Some(r) if r > own => wrong.push(format!("{rel} uses {u}")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "later stages used:\n{}", wrong.join("\n"));
}

#[test]
fn each_kind_of_object_has_one_writer() {
    // the client calls that write; Leases are the election's own objects (`leader/` writes
    // its Leases and nothing else: it has no other Api)
    let writes = [
        "patch_scale(",
        "patch_status(",
        ".patch(",
        ".delete(",
        "Patch::Apply",
    ];
    let mut wrong = Vec::new();
    for (rel, path) in files() {
        if rel.starts_with("write/") {
            continue;
        }
        let text = code(&path);
        if rel.starts_with("leader/") {
            let apis: Vec<&str> = text
                .match_indices("Api<")
                .map(|(i, _)| &text[i..])
                .collect();
            assert!(
                apis.iter().all(|a| a.starts_with("Api<Lease>")),
                "{rel} writes something besides Leases"
            );
            continue;
        }
        for w in writes {
            if text.contains(w) {
                wrong.push(format!("{rel} calls {w}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "writes outside src/write:\n{}",
        wrong.join("\n")
    );
}
