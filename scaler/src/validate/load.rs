//! Reading manifests for `prescale validate`: files, directories (recursively: `*.yaml`,
//! `*.yml`, `*.json`) or `-` for standard input; multi-document YAML.

use super::limits::{Limits, too_deep};
use crate::api::{ClusterTriggerAuthentication, ScaledJob, ScaledObject, TriggerAuthentication};
use crate::resolve::manifests::ManifestSource;
use k8s_openapi::api::core::v1::{ConfigMap, LimitRange, PodTemplateSpec, Secret};
use serde_yaml::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A ScaledObject and where it was read.
pub struct Located {
    pub file: String,
    /// 0-based index of the document in its file.
    pub document: usize,
    pub object: ScaledObject,
}

/// A ScaledJob and where it was read.
pub struct LocatedJob {
    pub file: String,
    pub document: usize,
    pub object: ScaledJob,
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Loaded {
    pub source: ManifestSource,
    pub scaled_objects: Vec<Located>,
    pub scaled_jobs: Vec<LocatedJob>,
    pub limit_ranges: Vec<LimitRange>,
    /// Files or documents that could not be read or decoded: (file, message).
    pub errors: Vec<(String, String)>,
    /// The limits files are read with.
    pub limits: Limits,
}

/// The `keda.sh` documents Prescale knows.
const KEDA_KINDS: &[&str] = &[
    "ScaledObject",
    "ScaledJob",
    "TriggerAuthentication",
    "ClusterTriggerAuthentication",
];

/// Why a document is of a `keda.sh` kind or version Prescale does not know, if it is.
fn unknown_keda(v: &Value) -> Option<String> {
    let api_version = v["apiVersion"].as_str().unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default();
    let keda = api_version == "keda.sh" || api_version.starts_with("keda.sh/");
    if !keda && kind != "ScaledObject" {
        return None;
    }
    if api_version == "keda.sh/v1alpha1" && KEDA_KINDS.contains(&kind) {
        return None;
    }
    Some(format!(
        "unknown kind {kind:?} of apiVersion {api_version:?} (known: keda.sh/v1alpha1 {})",
        KEDA_KINDS.join(", ")
    ))
}

fn files_of(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                files_of(&e, out)?;
            } else if e
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
            {
                out.push(e);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn namespace_of(v: &Value) -> String {
    v["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string()
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Adds one decoded document to the object index (not ScaledObjects).
pub fn index(source: &mut ManifestSource, v: &Value) {
    let (ns, name) = (namespace_of(v), name_of(v));
    match (
        v["apiVersion"].as_str().unwrap_or_default(),
        v["kind"].as_str().unwrap_or_default(),
    ) {
        ("v1", "Secret") => {
            if let Ok(s) = serde_yaml::from_value::<Secret>(v.clone()) {
                source.secrets.insert((ns, name), s);
            }
        }
        ("v1", "ConfigMap") => {
            if let Ok(c) = serde_yaml::from_value::<ConfigMap>(v.clone()) {
                source.config_maps.insert((ns, name), c);
            }
        }
        ("keda.sh/v1alpha1", "TriggerAuthentication") => {
            if let Ok(t) = serde_yaml::from_value::<TriggerAuthentication>(v.clone()) {
                source.trigger_authentications.insert((ns, name), t.spec);
            }
        }
        ("keda.sh/v1alpha1", "ClusterTriggerAuthentication") => {
            if let Ok(t) = serde_yaml::from_value::<ClusterTriggerAuthentication>(v.clone()) {
                source
                    .cluster_trigger_authentications
                    .insert(name, t.spec.spec);
            }
        }
        (api_version, kind)
            if !v["spec"]["template"].is_null()
                || kind == "Deployment"
                || kind == "StatefulSet" =>
        {
            let template =
                serde_yaml::from_value::<PodTemplateSpec>(v["spec"]["template"].clone()).ok();
            if let Some(n) = v["spec"]["replicas"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
            {
                let key = (ns.clone(), kind.to_string(), name.clone());
                source.replicas.insert(key, n);
            }
            source.workloads.insert(
                (ns, kind.to_string(), name),
                (api_version.to_string(), template),
            );
        }
        _ => {}
    }
}

impl Loaded {
    /// Reads every input with the default limits; `-` is standard input.
    pub fn read(inputs: &[String]) -> Self {
        Self::read_with(inputs, Limits::default())
    }

    /// Reads every input; `-` is standard input. A file larger than the limit is an error.
    pub fn read_with(inputs: &[String], limits: Limits) -> Self {
        let mut loaded = Loaded {
            limits,
            ..Loaded::default()
        };
        let mut files = Vec::new();
        for i in inputs {
            if i == "-" {
                let mut bytes = Vec::new();
                let read = std::io::stdin()
                    .take(limits.max_file_size.saturating_add(1))
                    .read_to_end(&mut bytes);
                loaded.add_bytes("<stdin>", read.map(|_| bytes));
                continue;
            }
            if let Err(e) = files_of(Path::new(i), &mut files) {
                loaded.errors.push((i.clone(), format!("cannot read: {e}")));
            }
        }
        for f in files {
            let read = std::fs::File::open(&f).and_then(|file| {
                let mut bytes = Vec::new();
                file.take(limits.max_file_size.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map(|_| bytes)
            });
            loaded.add_bytes(&f.display().to_string(), read);
        }
        loaded
    }

    fn add_bytes(&mut self, file: &str, read: std::io::Result<Vec<u8>>) {
        let max = self.limits.max_file_size;
        match read {
            Err(e) => self.error(file, format!("cannot read: {e}")),
            Ok(bytes) if bytes.len() as u64 > max => self.error(
                file,
                format!("larger than the limit of {max} bytes (--max-file-size)"),
            ),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.add_text(file, &text),
                Err(e) => self.error(file, format!("cannot read: not UTF-8: {e}")),
            },
        }
    }

    fn error(&mut self, file: &str, message: String) {
        self.errors.push((file.to_string(), message));
    }

    /// Adds the documents of one file.
    pub fn add_text(&mut self, file: &str, text: &str) {
        let max = self.limits.max_depth;
        if let Some(line) = too_deep(text, max) {
            let message = format!("line {line}: nested deeper than {max} levels; not parsed");
            return self.error(file, message);
        }
        for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let v: Value = match serde::Deserialize::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    self.errors
                        .push((file.to_string(), format!("document {i}: invalid YAML: {e}")));
                    // the stream cannot continue after a syntax error
                    return;
                }
            };
            // `kubectl get ... -o yaml` of several objects: a v1 List of them
            if v["kind"].as_str() == Some("List")
                && let Some(items) = v["items"].as_sequence()
            {
                for item in items {
                    self.add_document(file, i, item);
                }
                continue;
            }
            self.add_document(file, i, &v);
        }
    }

    /// Adds document `i` of `file` (or one item of a List in it).
    fn add_document(&mut self, file: &str, i: usize, v: &Value) {
        if v.is_null() {
            return;
        }
        if let Some(e) = unknown_keda(v) {
            return self.error(file, format!("document {i}: {e}"));
        }
        if v["kind"].as_str() == Some("LimitRange") {
            if let Ok(lr) = serde_yaml::from_value::<LimitRange>(v.clone()) {
                self.limit_ranges.push(lr);
            }
            return;
        }
        if v["kind"].as_str() == Some("ScaledObject")
            && v["apiVersion"].as_str() == Some("keda.sh/v1alpha1")
        {
            match serde_yaml::from_value::<ScaledObject>(v.clone()) {
                Ok(mut so) => {
                    so.metadata
                        .namespace
                        .get_or_insert_with(|| "default".into());
                    self.scaled_objects.push(Located {
                        file: file.to_string(),
                        document: i,
                        object: so,
                    });
                }
                Err(e) => self.errors.push((
                    file.to_string(),
                    format!(
                        "document {i}: ScaledObject {:?} cannot be decoded: {e}",
                        name_of(v)
                    ),
                )),
            }
            return;
        }
        if v["kind"].as_str() == Some("ScaledJob") {
            match serde_yaml::from_value::<ScaledJob>(v.clone()) {
                Ok(mut sj) => {
                    sj.metadata
                        .namespace
                        .get_or_insert_with(|| "default".into());
                    self.scaled_jobs.push(LocatedJob {
                        file: file.to_string(),
                        document: i,
                        object: sj,
                    });
                }
                Err(e) => self.errors.push((
                    file.to_string(),
                    format!(
                        "document {i}: ScaledJob {:?} cannot be decoded: {e}",
                        name_of(v)
                    ),
                )),
            }
            return;
        }
        if let Some(e) = auth_problems(v) {
            self.error(file, format!("document {i}: {e}"));
        }
        index(&mut self.source, v);
    }
}

/// KEDA's webhook checks of a (Cluster)TriggerAuthentication document (the admission webhook
/// makes the same), as one message; None when it passes or is of another kind.
fn auth_problems(v: &Value) -> Option<String> {
    if v["apiVersion"].as_str() != Some("keda.sh/v1alpha1") {
        return None;
    }
    let (kind, spec) = match v["kind"].as_str()? {
        "TriggerAuthentication" => (
            format!("TriggerAuthentication {}/{}", namespace_of(v), name_of(v)),
            serde_yaml::from_value::<TriggerAuthentication>(v.clone())
                .map(|t| t.spec)
                .ok()?,
        ),
        "ClusterTriggerAuthentication" => (
            format!("ClusterTriggerAuthentication {}", name_of(v)),
            serde_yaml::from_value::<ClusterTriggerAuthentication>(v.clone())
                .map(|t| t.spec.spec)
                .ok()?,
        ),
        _ => return None,
    };
    let problems = super::auth::check(&spec);
    (!problems.is_empty()).then(|| {
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        format!("{kind}: {}", list.join("; "))
    })
}
