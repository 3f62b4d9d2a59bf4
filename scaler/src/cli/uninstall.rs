//! `prescale uninstall`: lets go of every ScaledObject before the operator goes, so nothing is
//! left blocked on the operator's finalizer (a namespace's deletion would otherwise wait for
//! it forever). In order: the operator Deployment is scaled to 0 (so it does not put the
//! finalizer back) after the admission webhook's configuration is deleted (a stopped webhook
//! under `failurePolicy: Fail` would refuse the finalizer removals), each ScaledObject that asks for `restoreToOriginalReplicaCount` gets its
//! target back at the recorded count, and the finalizer comes off every ScaledObject. The
//! cluster objects themselves are then removed with `prescale install … | kubectl delete -f -`;
//! the HPAs go with their ScaledObjects (owner references).

use crate::api::{FINALIZER, ScaledObject};
use crate::kube_client::{ClientArgs, kube_error_text};
use crate::leader::Leadership;
use crate::target;
use crate::write::Writer;
use crate::write::events::Events;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Namespace of the operator (as given to `prescale install`).
    #[arg(long, default_value = "prescale")]
    namespace: String,

    #[command(flatten)]
    client: ClientArgs,
}

/// What an uninstall did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The ValidatingWebhookConfiguration was found and deleted.
    pub webhook_removed: bool,
    pub operator_stopped: bool,
    /// `namespace/name` of the ScaledObjects whose finalizer was removed.
    pub released: Vec<String>,
    /// `namespace/name → replicas` of the targets put back.
    pub restored: Vec<(String, i32)>,
    /// What could not be done, per object (the rest went on).
    pub problems: Vec<String>,
}

impl UninstallArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = rt.block_on(async {
            let client = self.client.client().await?;
            uninstall(&client, &self.namespace).await
        })?;
        super::print(&text(&report, &self.namespace));
        Ok(if report.problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Stops the operator, restores targets that ask for it and removes every finalizer.
pub async fn uninstall(client: &Client, namespace: &str) -> anyhow::Result<Report> {
    let writer = Writer::new(
        client.clone(),
        Leadership::always(),
        "prescale-uninstall".into(),
        Events::new(client.clone(), None),
    );
    let webhook = super::install_webhook::CONFIGURATION;
    let mut report = Report {
        webhook_removed: writer
            .delete_webhook_configuration(webhook)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot delete the ValidatingWebhookConfiguration {webhook}: {}",
                    e.text()
                )
            })?,
        ..Report::default()
    };
    let operator = target::resolve(client, namespace, "apps/v1", "Deployment", OPERATOR).await;
    match operator {
        Ok(t) => match writer.scale(&t, 0).await {
            Ok(()) => report.operator_stopped = true,
            Err(e) if e.is_not_found() => {}
            Err(e) => anyhow::bail!(
                "cannot stop the operator {namespace}/{OPERATOR}: {}",
                e.text()
            ),
        },
        Err(e) => anyhow::bail!(
            "cannot find the operator {namespace}/{OPERATOR}: {}",
            kube_error_text(&e)
        ),
    }
    let all: Api<ScaledObject> = Api::all(client.clone());
    let list = all
        .list(&ListParams::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot list ScaledObjects: {}", kube_error_text(&e)))?;
    for so in list
        .items
        .iter()
        .filter(|so| so.finalizers().iter().any(|f| f == FINALIZER))
    {
        let id = format!("{}/{}", so.namespace().unwrap_or_default(), so.name_any());
        if let Some(to) = restore(client, &writer, so, &mut report.problems).await {
            report.restored.push((id.clone(), to));
        }
        match writer.release(so).await {
            Ok(_) => report.released.push(id),
            Err(e) => report
                .problems
                .push(format!("{id}: finalizer not removed: {}", e.text())),
        }
    }
    Ok(report)
}

/// The operator Deployment's name (`prescale install`).
const OPERATOR: &str = "prescale-operator";

/// Puts the target back at `status.originalReplicaCount` when the ScaledObject asks for it.
async fn restore(
    client: &Client,
    writer: &Writer,
    so: &ScaledObject,
    problems: &mut Vec<String>,
) -> Option<i32> {
    let asks = so
        .spec
        .advanced
        .as_ref()
        .is_some_and(|a| a.restore_to_original_replica_count);
    let status = so.status.as_ref()?;
    let (original, gvkr) = (
        status.original_replica_count?,
        status.scale_target_gvkr.as_ref()?,
    );
    if !asks {
        return None;
    }
    let ns = so.namespace().unwrap_or_default();
    let api_version = if gvkr.group.is_empty() {
        gvkr.version.clone()
    } else {
        format!("{}/{}", gvkr.group, gvkr.version)
    };
    let name = &so.spec.scale_target_ref.name;
    let result = match target::resolve(client, &ns, &api_version, &gvkr.kind, name).await {
        Ok(t) => writer.scale(&t, original).await.map_err(|e| e.text()),
        Err(e) => Err(kube_error_text(&e)),
    };
    match result {
        Ok(()) => Some(original),
        Err(e) => {
            problems.push(format!(
                "{ns}/{}: target {name} not restored: {e}",
                so.name_any()
            ));
            None
        }
    }
}

fn text(r: &Report, namespace: &str) -> String {
    let mut out = String::new();
    if r.webhook_removed {
        out.push_str(&format!(
            "admission webhook configuration {} deleted\n",
            super::install_webhook::CONFIGURATION
        ));
    }
    if r.operator_stopped {
        out.push_str(&format!("operator {namespace}/{OPERATOR} scaled to 0\n"));
    } else {
        out.push_str(&format!(
            "operator {namespace}/{OPERATOR} not found (already gone)\n"
        ));
    }
    for (id, n) in &r.restored {
        out.push_str(&format!("restored the target of {id} to {n} replicas\n"));
    }
    out.push_str(&format!(
        "finalizer removed from {} ScaledObject(s)\n",
        r.released.len()
    ));
    for p in &r.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out.push_str(&format!(
        "now remove Prescale: prescale install --namespace {namespace} | kubectl delete -f -\n"
    ));
    out
}
