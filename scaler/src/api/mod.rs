//! `keda.sh/v1alpha1` types: ScaledObject, TriggerAuthentication, ClusterTriggerAuthentication.
