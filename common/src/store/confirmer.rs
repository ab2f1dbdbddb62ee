//! Confirming provisional jobs (see `Store::create_provisional`), in batches. Every accepted submit
//! confirms its job once its publish is confirmed, and one script call each cost about a fifth of the
//! submit rate on the benchmark machine (docs/performance.md). Under load many confirms wait at once, so
//! one task sends them: whatever has queued up while the last call was out goes in the next, one script
//! call for all. Alone, a confirm waits for nothing but its own call.

use std::sync::{Arc, OnceLock};

use redis::Script;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

use super::link::Link;
use super::now_ms;

/// Most jobs one call confirms: a bound on the script's run, during which Redis serves nobody else.
const MOST_PER_CALL: usize = 512;

/// The queue of confirms waiting for the next call; its task starts with the first confirm.
#[derive(Default)]
pub(super) struct Confirmer {
    queue: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

struct Waiting {
    key: String,
    /// In this host's clock (Unix ms); past it the submitter has given up.
    deadline: i64,
    answer: oneshot::Sender<Result<String, StoreError>>,
}

impl Confirmer {
    /// Confirms the job at `key`: its state, `missing` if it is gone, or `late` if Redis ran the confirm
    /// only after its deadline.
    pub(super) async fn confirm(
        &self,
        link: &Arc<Link>,
        script: &Script,
        key: String,
    ) -> Result<String, StoreError> {
        let limit = link.limit;
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            key,
            deadline: now_ms() as i64 + limit.as_millis() as i64,
            answer,
        };
        let queue = self.queue.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            tokio::spawn(send_batches(link.clone(), script.clone(), waiting));
            queue
        });
        // The task lives as long as this queue's sender: it cannot be gone while `self` exists.
        queue
            .send(waiting)
            .map_err(|_| StoreError::Reconnecting("the confirming task has stopped".to_owned()))?;
        // A batch behind one that waits on a Redis that hangs would wait too: the limit holds for each
        // confirm, from when it was asked.
        match tokio::time::timeout(limit, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Reconnecting(
                "the confirming task has stopped".to_owned(),
            )),
            Err(_) => Err(StoreError::Timeout(limit)),
        }
    }
}

/// Sends the waiting confirms, a batch at a time, until every store that could queue one is gone.
async fn send_batches(
    link: Arc<Link>,
    script: Script,
    mut queue: mpsc::UnboundedReceiver<Waiting>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MOST_PER_CALL {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // Those that gave up meanwhile need no confirm: Redis would find them late anyway.
        batch.retain(|waiting| !waiting.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let states = confirm_all(&link, &script, &batch).await;
        for (i, waiting) in batch.into_iter().enumerate() {
            let state = match &states {
                Ok(states) => states.get(i).cloned().ok_or_else(|| {
                    StoreError::Corrupt("a batch of confirms came back short".to_owned())
                }),
                Err(error) => Err(error.clone()),
            };
            let _ = waiting.answer.send(state);
        }
    }
}

async fn confirm_all(
    link: &Link,
    script: &Script,
    batch: &[Waiting],
) -> Result<Vec<String>, StoreError> {
    link.call_with_clock(|mut conn, offset| async move {
        let mut invocation = script.prepare_invoke();
        for waiting in batch {
            invocation.key(&waiting.key).arg(waiting.deadline + offset);
        }
        Ok(invocation.invoke_async(&mut conn).await?)
    })
    .await
}
