//! A ScaledJob checked as KEDA's controller checks it before it starts the scale loop: the
//! spec (`validate::scaled_job`), then every trigger resolved (TriggerAuthentication, Secrets,
//! the Job template's env) and parsed by its scaler. Any problem is one clear, secret-free
//! message for the Ready condition and the Event.

use crate::api::ScaledJob;
use crate::resolve::{ObjectSource, resolve_triggers};
use crate::validate::{check_trigger_inputs, scaled_job};
use prescale_scalers::TriggerDefinition;
use prescale_scalers::registry;

/// The parsed triggers of a ScaledJob that checked out, in trigger order.
pub struct Checked {
    pub definitions: Vec<Box<dyn TriggerDefinition>>,
    /// Per definition, the trigger it was parsed from.
    pub triggers: Vec<TriggerId>,
}

/// A trigger of `spec.triggers`: its position, `name` ("" when unset) and `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerId {
    pub index: usize,
    pub name: String,
    pub trigger_type: String,
}

/// Checks `sj`; the error is the message for `Ready=False` / `ScaledJobCheckFailed`.
pub async fn check(
    source: &dyn ObjectSource,
    sj: &ScaledJob,
    cluster_ns: &str,
) -> Result<Checked, String> {
    let problems = scaled_job::check_spec(sj);
    if let Some(p) = problems.first() {
        return Err(format!("{}: {}", p.field, p.message));
    }
    let ns = sj.metadata.namespace.clone().unwrap_or_default();
    let name = sj.metadata.name.clone().unwrap_or_default();
    let (containers, env) = sj.spec.env_sources();
    let used = vec![("ScaledJob".to_string(), ns.clone(), name.clone())];
    let resolved = resolve_triggers(
        source,
        &ns,
        used,
        &containers,
        env,
        &sj.spec.triggers,
        cluster_ns,
    )
    .await?;
    let found = check_trigger_inputs(&format!("ScaledJob {name}"), &resolved.inputs);
    if let Some(p) = found.problems.first() {
        return Err(format!("{}: {}", p.field, p.message));
    }
    let mut definitions = Vec::new();
    let triggers = resolved
        .inputs
        .iter()
        .map(|i| TriggerId {
            index: i.index,
            name: i.name.clone(),
            trigger_type: i.trigger_type.clone(),
        })
        .collect();
    for input in &resolved.inputs {
        definitions.push(
            registry::parse(input).map_err(|e| format!("spec.triggers[{}]: {e}", input.index))?,
        );
    }
    Ok(Checked {
        definitions,
        triggers,
    })
}
