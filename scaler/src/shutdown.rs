//! One shutdown signal, fanned out: SIGTERM or SIGINT starts a graceful drain (readiness drops,
//! in-flight work finishes, the lease is released); a second signal exits at once.

use tokio::sync::watch;

/// A cloneable "shutdown has begun" handle.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side: [`Trigger::fire`] starts the shutdown.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub fn is_shutting_down(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has begun (or the trigger was dropped).
    pub async fn wait(mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Fires `trigger` on the first SIGTERM/SIGINT and exits the process on the second.
pub fn on_signals(trigger: Trigger) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received: draining (send again to exit at once)");
        trigger.fire();
        wait_for_signal().await;
        tracing::warn!("second shutdown signal: exiting now");
        std::process::exit(130);
    });
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fans_out_to_every_clone() {
        let (trigger, shutdown) = channel();
        let a = shutdown.clone();
        let b = shutdown.clone();
        assert!(!a.is_shutting_down());
        let wa = tokio::spawn(a.wait());
        let wb = tokio::spawn(b.wait());
        trigger.fire();
        tokio::time::timeout(std::time::Duration::from_secs(1), async {
            wa.await.unwrap();
            wb.await.unwrap();
        })
        .await
        .expect("every clone sees shutdown");
        assert!(shutdown.is_shutting_down());
    }
}
