//! The checks KEDA's admission webhook makes of a TriggerAuthentication or
//! ClusterTriggerAuthentication spec (`podIdentity` and `oauth2`), with KEDA's messages.
//! Pure; used by the admission webhook.

use super::Problem;
use crate::api::TriggerAuthenticationSpec;

fn empty(v: Option<&String>) -> bool {
    v.is_none_or(|s| s.is_empty())
}

/// What is wrong with a (Cluster)TriggerAuthentication spec.
///
/// Unlike KEDA, whose check returns as soon as a pod identity of another provider is seen,
/// `oauth2` is checked whatever the pod identity.
pub fn check(spec: &TriggerAuthenticationSpec) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(id) = &spec.pod_identity {
        let field = "spec.podIdentity";
        match id.provider.as_str() {
            "azure-workload" => {
                if id.identity_id.as_deref() == Some("") {
                    out.push(Problem::new(format!("{field}.identityId"), "identityId of PodIdentity should not be empty. If it's set, identityId has to be different than \"\""));
                } else if !empty(id.identity_authority_host.as_ref()) {
                    if empty(id.identity_tenant_id.as_ref()) {
                        out.push(Problem::new(format!("{field}.identityTenantId"), "identityTenantID of PodIdentity should not be nil or empty when identityAuthorityHost of PodIdentity is set"));
                    }
                } else if id.identity_tenant_id.as_deref() == Some("") {
                    out.push(Problem::new(format!("{field}.identityTenantId"), "identityTenantId of PodIdentity should not be empty. If it's set, identityTenantId has to be different than \"\""));
                }
            }
            "aws" => {
                if !empty(id.role_arn.as_ref()) && id.identity_owner.as_deref() == Some("workload")
                {
                    out.push(Problem::new(
                        format!("{field}.roleArn"),
                        "roleArn of PodIdentity can't be set if KEDA isn't identityOwner",
                    ));
                } else if !empty(id.aws_external_id.as_ref()) && empty(id.role_arn.as_ref()) {
                    out.push(Problem::new(
                        format!("{field}.awsExternalID"),
                        "externalID of PodIdentity requires roleArn to be set",
                    ));
                }
            }
            _ => {}
        }
    }
    if let Some(oauth2) = &spec.oauth2 {
        out.extend(oauth2_problem(oauth2));
    }
    out
}

/// `oauth2`: the client-credentials grant with a client id and an http(s) token URL.
fn oauth2_problem(v: &serde_json::Value) -> Option<Problem> {
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or_default();
    let field = |key: &str| format!("spec.oauth2.{key}");
    let kind = text("type");
    if kind != "clientCredentials" {
        return Some(Problem::new(
            field("type"),
            format!("oauth2.type must be 'clientCredentials', got '{kind}'"),
        ));
    }
    if text("clientId").is_empty() {
        return Some(Problem::new(
            field("clientId"),
            "oauth2.clientId is required when oauth2 is configured",
        ));
    }
    let url = text("tokenUrl");
    if url.is_empty() {
        return Some(Problem::new(
            field("tokenUrl"),
            "oauth2.tokenUrl is required when oauth2 is configured",
        ));
    }
    let valid = url::Url::parse(url).is_ok_and(|u| {
        ["http", "https"].contains(&u.scheme()) && u.host_str().is_some_and(|h| !h.is_empty())
    });
    (!valid).then(|| {
        Problem::new(
            field("tokenUrl"),
            "oauth2.tokenUrl must be a valid http or https URL",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(spec: serde_json::Value) -> Vec<String> {
        let spec: TriggerAuthenticationSpec = serde_json::from_value(spec).unwrap();
        check(&spec).into_iter().map(|p| p.message).collect()
    }

    #[test]
    fn keda_cases() {
        let one = |m: &str| vec![m.to_string()];
        let cases = vec![
            (
                json!({"secretTargetRef": [{"parameter": "p", "name": "s", "key": "k"}]}),
                vec![],
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload"}}),
                vec![],
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload", "identityId": "abc"}}),
                vec![],
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload", "identityId": ""}}),
                one(
                    "identityId of PodIdentity should not be empty. If it's set, identityId has to be different than \"\"",
                ),
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload", "identityTenantId": ""}}),
                one(
                    "identityTenantId of PodIdentity should not be empty. If it's set, identityTenantId has to be different than \"\"",
                ),
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload", "identityAuthorityHost": "https://login"}}),
                one(
                    "identityTenantID of PodIdentity should not be nil or empty when identityAuthorityHost of PodIdentity is set",
                ),
            ),
            (
                json!({"podIdentity": {"provider": "azure-workload", "identityAuthorityHost": "https://login", "identityTenantId": "t"}}),
                vec![],
            ),
            (
                json!({"podIdentity": {"provider": "aws", "roleArn": "arn:aws:iam::1:role/r"}}),
                vec![],
            ),
            (
                json!({"podIdentity": {"provider": "aws", "roleArn": "arn:aws:iam::1:role/r", "identityOwner": "workload"}}),
                one("roleArn of PodIdentity can't be set if KEDA isn't identityOwner"),
            ),
            (
                json!({"podIdentity": {"provider": "aws", "awsExternalID": "x"}}),
                one("externalID of PodIdentity requires roleArn to be set"),
            ),
            (
                json!({"podIdentity": {"provider": "aws", "awsExternalID": "x", "roleArn": "arn"}}),
                vec![],
            ),
            (
                json!({"oauth2": {"type": "clientCredentials", "clientId": "c", "tokenUrl": "https://auth.example/token"}}),
                vec![],
            ),
            (
                json!({"oauth2": {"type": "password", "clientId": "c", "tokenUrl": "https://a/t"}}),
                one("oauth2.type must be 'clientCredentials', got 'password'"),
            ),
            (
                json!({"oauth2": {"type": "clientCredentials", "tokenUrl": "https://a/t"}}),
                one("oauth2.clientId is required when oauth2 is configured"),
            ),
            (
                json!({"oauth2": {"type": "clientCredentials", "clientId": "c"}}),
                one("oauth2.tokenUrl is required when oauth2 is configured"),
            ),
            (
                json!({"oauth2": {"type": "clientCredentials", "clientId": "c", "tokenUrl": "ftp://a/t"}}),
                one("oauth2.tokenUrl must be a valid http or https URL"),
            ),
            (
                json!({"oauth2": {"type": "clientCredentials", "clientId": "c", "tokenUrl": "not a url"}}),
                one("oauth2.tokenUrl must be a valid http or https URL"),
            ),
        ];
        for (i, (spec, want)) in cases.into_iter().enumerate() {
            assert_eq!(messages(spec), want, "case {i}");
        }
    }
}
