//! Delegated authorization: a SubjectAccessReview per (user, request) asks kube-apiserver
//! whether the caller may `get` that external metric in that namespace; answers are cached
//! briefly so the HPA's steady requests cost one review per TTL, not one per request.

use crate::auth::User;
use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is being asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attributes {
    /// `get` on an external metric (the resource is the metric name) in a namespace.
    Resource { namespace: String, resource: String },
    /// `get` on a non-resource path (discovery, OpenAPI).
    NonResource { path: String },
}

impl Attributes {
    /// The Forbidden message, in kube-apiserver's wording.
    pub fn denial(&self, user: &str) -> String {
        match self {
            Attributes::Resource {
                namespace,
                resource,
            } => format!(
                "user {user:?} cannot get resource {resource:?} in API group \"external.metrics.k8s.io\" in the namespace {namespace:?}"
            ),
            Attributes::NonResource { path } => format!("user {user:?} cannot get path {path:?}"),
        }
    }
}

/// Decides whether a user may do something.
#[async_trait]
pub trait Authorizer: Send + Sync {
    async fn allowed(&self, user: &User, attrs: &Attributes) -> Result<bool, String>;
}

/// Lets everyone through: local testing only (the flag that selects it logs a warning).
pub struct AllowAll;

#[async_trait]
impl Authorizer for AllowAll {
    async fn allowed(&self, _: &User, _: &Attributes) -> Result<bool, String> {
        Ok(true)
    }
}

type CacheKey = (String, Vec<String>, Attributes);

/// SubjectAccessReview against the API server, cached for `ttl`.
pub struct SubjectAccessReviewer {
    api: Api<SubjectAccessReview>,
    ttl: Duration,
    cache: Mutex<HashMap<CacheKey, (bool, Instant)>>,
}

impl SubjectAccessReviewer {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self {
            api: Api::all(client),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn review(user: &User, attrs: &Attributes) -> SubjectAccessReview {
        let (resource_attributes, non_resource_attributes) = match attrs {
            Attributes::Resource {
                namespace,
                resource,
            } => (
                Some(ResourceAttributes {
                    namespace: Some(namespace.clone()),
                    verb: Some("get".into()),
                    group: Some("external.metrics.k8s.io".into()),
                    version: Some("v1beta1".into()),
                    resource: Some(resource.clone()),
                    ..ResourceAttributes::default()
                }),
                None,
            ),
            Attributes::NonResource { path } => (
                None,
                Some(NonResourceAttributes {
                    path: Some(path.clone()),
                    verb: Some("get".into()),
                }),
            ),
        };
        SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(user.name.clone()),
                groups: Some(user.groups.clone()),
                extra: Some(user.extra.clone().into_iter().collect()),
                resource_attributes,
                non_resource_attributes,
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        }
    }
}

#[async_trait]
impl Authorizer for SubjectAccessReviewer {
    async fn allowed(&self, user: &User, attrs: &Attributes) -> Result<bool, String> {
        let key = (user.name.clone(), user.groups.clone(), attrs.clone());
        if let Some((allowed, at)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(*allowed);
        }
        let answer = self
            .api
            .create(&PostParams::default(), &Self::review(user, attrs))
            .await
            .map_err(|e| format!("SubjectAccessReview failed: {e}"))?;
        let allowed = answer.status.is_some_and(|s| s.allowed);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
        cache.insert(key, (allowed, Instant::now()));
        Ok(allowed)
    }
}
