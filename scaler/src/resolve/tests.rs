//! Resolution against manifests: precedence, env expansion, namespace isolation, missing refs.

use super::manifests::ManifestSource;
use super::{expand, resolve};
use crate::api::ScaledObject;
use std::collections::BTreeMap;

fn source(yaml: &str) -> ManifestSource {
    let mut s = ManifestSource::default();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).unwrap();
        crate::validate::load::index(&mut s, &v);
    }
    s
}

fn so(yaml: &str) -> ScaledObject {
    serde_yaml::from_str(yaml).unwrap()
}

const OBJECTS: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
data: {password: c2VjcmV0LWZyb20tc2VjcmV0}
stringData: {user: from-string-data}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: other}
stringData: {password: other-namespace-secret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {password: from-configmap, host: redis.shop}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: auth, namespace: shop}
spec:
  env: [{parameter: password, name: PASSWORD}]
  configMapTargetRef: [{parameter: password, name: cfg, key: password}, {parameter: host, name: cfg, key: host}]
  secretTargetRef: [{parameter: password, name: creds, key: password}, {parameter: username, name: creds, key: user}]
---
apiVersion: keda.sh/v1alpha1
kind: ClusterTriggerAuthentication
metadata: {name: cluster-auth}
spec:
  secretTargetRef: [{parameter: password, name: creds, key: password}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: app
        envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]
        env:
        - {name: PASSWORD, value: from-env}
        - {name: ADDR, value: "$(CFG_host):6379"}
        - {name: ESCAPED, value: "$$(CFG_host)"}
        - {name: FROM_SECRET, valueFrom: {secretKeyRef: {name: creds, key: password}}}
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
      - name: sidecar
        env: [{name: SIDE, value: "1"}]
"#;

#[tokio::test]
async fn precedence_env_expansion_and_secret_data() {
    let src = source(OBJECTS);
    let s = so(r#"
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: redis
    metadata: {listName: q}
    authenticationRef: {name: auth}
"#);
    let r = resolve(&src, &s, "prescale").await.unwrap();
    let input = &r.inputs[0];
    // secretTargetRef overwrites configMapTargetRef overwrites env
    assert_eq!(input.auth_params["password"], "secret-from-secret");
    assert_eq!(input.auth_params["host"], "redis.shop");
    assert_eq!(input.auth_params["username"], "from-string-data");
    let env = &input.resolved_env;
    assert_eq!(env["ADDR"], "redis.shop:6379");
    assert_eq!(env["ESCAPED"], "$(CFG_host)");
    assert_eq!(env["FROM_SECRET"], "secret-from-secret");
    assert!(!env.contains_key("POD"), "field references are skipped");
    assert!(!env.contains_key("SIDE"), "first container only");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        r.used
            .contains(&("Secret".into(), "shop".into(), "creds".into()))
    );
}

#[tokio::test]
async fn cluster_auth_reads_its_namespace_only_and_missing_refs_warn() {
    let src = source(OBJECTS);
    let s = so(r#"
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {name: web, envSourceContainerName: sidecar}
  triggers:
  - type: redis
    metadata: {listName: q}
    authenticationRef: {name: cluster-auth, kind: ClusterTriggerAuthentication}
  - type: redis
    metadata: {listName: q}
    authenticationRef: {name: no-such-auth}
"#);
    let r = resolve(&src, &s, "other").await.unwrap();
    assert_eq!(
        r.inputs[0].auth_params["password"],
        "other-namespace-secret"
    );
    assert_eq!(
        r.inputs[0].resolved_env.get("SIDE").map(String::as_str),
        Some("1")
    );
    assert!(r.inputs[1].auth_params.is_empty());
    assert!(
        r.warnings.iter().any(|w| w.contains("no-such-auth")),
        "{:?}",
        r.warnings
    );
    // a TriggerAuthentication in the ScaledObject's namespace cannot reach another namespace
    let other = so(r#"
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x, namespace: other}
spec:
  scaleTargetRef: {name: missing}
  triggers:
  - type: redis
    metadata: {listName: q}
    authenticationRef: {name: auth}
"#);
    let r = resolve(&src, &other, "prescale").await.unwrap();
    assert!(
        r.inputs[0].auth_params.is_empty(),
        "the shop TriggerAuthentication is not visible from other"
    );
    assert!(!format!("{:?} {:?}", r.inputs, r.warnings).contains("secret-from-secret"));
}

#[test]
fn dollar_expansion() {
    let env = BTreeMap::from([
        ("HOST".to_string(), "redis".to_string()),
        ("PORT".to_string(), "6379".to_string()),
    ]);
    assert_eq!(expand("$(HOST):$(PORT)", &env), "redis:6379");
    assert_eq!(expand("$$(HOST)", &env), "$(HOST)");
    assert_eq!(expand("$(MISSING)-x", &env), "$(MISSING)-x");
    assert_eq!(expand("cost $5 $(", &env), "cost $5 $(");
}
