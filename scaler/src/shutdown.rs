//! One shutdown signal, fanned out: SIGTERM or SIGINT starts a graceful drain (readiness drops,
//! no new work is taken, in-flight writes finish, the lease is released) bounded by a grace
//! period after which the process exits anyway, naming what it abandoned; a second signal exits
//! at once.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A cloneable "shutdown has begun" handle, which also knows which parts are still stopping.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>, Stopping);

/// The names of the parts that have not finished stopping yet.
#[derive(Debug, Clone, Default)]
struct Stopping(Arc<Mutex<Vec<&'static str>>>);

/// Held while a part is still running; dropping it marks the part as stopped.
#[must_use]
pub struct Busy {
    stopping: Stopping,
    what: &'static str,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut parts = self.stopping.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = parts.iter().position(|p| *p == self.what) {
            parts.remove(i);
        }
    }
}

/// The sending side: [`Trigger::fire`] starts the shutdown.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx, Stopping::default()))
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

    /// Marks `what` as running until the returned guard is dropped; named in the log line if
    /// the grace period ends first.
    pub fn busy(&self, what: &'static str) -> Busy {
        let stopping = self.1.clone();
        stopping
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(what);
        Busy { stopping, what }
    }

    /// The parts still running.
    pub fn still_busy(&self) -> Vec<&'static str> {
        self.1.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// How [`within_grace`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drain {
    /// The work ended by itself.
    Finished,
    /// The grace period ran out first; these parts were still stopping.
    Abandoned(Vec<&'static str>),
}

/// Runs `work` to its end, but for no longer than `grace` once shutdown has begun: then logs
/// what was still stopping and returns (the caller exits, abandoning it).
pub async fn within_grace(
    work: impl Future<Output = anyhow::Result<()>>,
    shutdown: Shutdown,
    grace: Duration,
) -> anyhow::Result<Drain> {
    let deadline = async move {
        let parts = shutdown.clone();
        shutdown.wait().await;
        tokio::time::sleep(grace).await;
        // read before `work` (and the guards it holds) is dropped
        parts.still_busy()
    };
    tokio::select! {
        res = work => res.map(|()| Drain::Finished),
        abandoned = deadline => {
            let names = abandoned.join(", ");
            tracing::warn!(
                ?grace,
                abandoned = names,
                "shutdown grace period over: exiting without waiting for: {names}"
            );
            Ok(Drain::Abandoned(abandoned))
        }
    }
}

/// Fires `trigger` on the first SIGTERM/SIGINT and exits the process on the second.
pub fn on_signals(trigger: Trigger, grace: Duration) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            ?grace,
            "shutdown signal received: draining for at most {grace:?} (send again to exit at once)"
        );
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

    #[tokio::test(start_paused = true)]
    async fn the_grace_bounds_a_drain_that_never_ends() {
        let (trigger, shutdown) = channel();
        let done = shutdown.busy("done part");
        drop(done);
        let stuck = shutdown.busy("stuck part");
        let work = async move {
            let _stuck = stuck;
            std::future::pending::<()>().await;
            Ok(())
        };
        let start = tokio::time::Instant::now();
        trigger.fire();
        let drain = within_grace(work, shutdown.clone(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(drain, Drain::Abandoned(vec!["stuck part"]));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        // the work future is dropped with its guard
        assert!(shutdown.still_busy().is_empty());
    }

    #[tokio::test]
    async fn work_that_ends_returns_its_result() {
        let (_trigger, shutdown) = channel();
        let res = within_grace(
            async { Err(anyhow::anyhow!("boom")) },
            shutdown,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(res.unwrap_err().to_string(), "boom");
    }
}
