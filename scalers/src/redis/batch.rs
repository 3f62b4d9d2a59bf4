//! Automatic pipelining for a standalone Redis server: the counts that callers ask for at the
//! same moment (every Redis trigger on one server polls at the same instants, see the poller's
//! jitter) go out as one pipeline, one write and one round trip, instead of one round trip
//! each.
//!
//! A single task per server owns the sending. It waits for a first request, lets the tasks
//! woken with it queue theirs (scheduler yields while requests keep coming, at most
//! [`MAX_YIELDS`]; no timer: a lone request is delayed by one yield),
//! and sends everything queued, up to [`MAX_BATCH`], as one pipeline of `EVALSHA`s of the count
//! script. Requests that arrive while a pipeline is in flight form the next one. Each caller
//! gets its own reply: a wrong key type fails that key only. The task ends when the connection
//! is dropped.

use super::connection::ManagerCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Most counts in one pipeline.
pub const MAX_BATCH: usize = 1024;

/// Most scheduler yields spent gathering one pipeline.
const MAX_YIELDS: usize = 8;

type Request = (String, oneshot::Sender<redis::RedisResult<i64>>);

/// The sending side of a server's pipelining task.
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Request>,
    pipelines: Arc<AtomicU64>,
}

impl Batcher {
    /// Starts the task that sends the pipelines on `cell`'s connection.
    pub(crate) fn start(cell: Arc<ManagerCell>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let pipelines = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(cell, rx, pipelines.clone()));
        Self { tx, pipelines }
    }

    /// The number of members of `key`, sent in the next pipeline.
    pub(crate) async fn count(&self, key: &str) -> redis::RedisResult<i64> {
        let (tx, rx) = oneshot::channel();
        let gone =
            || redis::RedisError::from((redis::ErrorKind::Io, "the redis pipelining task stopped"));
        self.tx.send((key.to_string(), tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// How many pipelines were sent (for tests and benches).
    pub(crate) fn pipelines(&self) -> u64 {
        self.pipelines.load(Ordering::Relaxed)
    }
}

async fn run(
    cell: Arc<ManagerCell>,
    mut rx: mpsc::UnboundedReceiver<Request>,
    pipelines: Arc<AtomicU64>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        // let the callers woken with the first queue theirs: yield while more keep coming
        // (a lone request costs one yield)
        for _ in 0..MAX_YIELDS {
            tokio::task::yield_now().await;
            let before = batch.len();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if batch.len() == before || batch.len() == MAX_BATCH {
                break;
            }
        }
        // callers that gave up (their timeout) need no reply
        batch.retain(|(_, reply)| !reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        pipelines.fetch_add(1, Ordering::Relaxed);
        let keys: Vec<&str> = batch.iter().map(|(k, _)| k.as_str()).collect();
        let results = cell.counts(&keys).await;
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}
