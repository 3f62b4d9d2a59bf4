//! The admission webhook's configuration: deleted by `prescale uninstall` before it stops the
//! operator (`prescale install` creates it; the operator never writes it).

use super::{Error, Writer};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::Api;

impl Writer {
    /// Deletes the ValidatingWebhookConfiguration `name`; `Ok(false)` when there is none.
    pub async fn delete_webhook_configuration(&self, name: &str) -> Result<bool, Error> {
        self.check()?;
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        match api.delete(name, &Default::default()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
            Err(e) => Err(Error::Kube(e)),
        }
    }
}
