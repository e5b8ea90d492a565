//! Job events: stored in the repository (the source of truth, replayable by
//! id) and announced in-process so that live streams wake immediately.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;
use tracing::warn;
use verity_core::JobId;
use verity_store::{JobEvent, Repository};

/// Appends job events and announces them.
#[derive(Clone)]
pub struct EventBus {
    repo: Arc<dyn Repository>,
    announce: broadcast::Sender<JobId>,
}

impl EventBus {
    /// A bus over `repo`.
    pub fn new(repo: Arc<dyn Repository>) -> Self {
        EventBus {
            repo,
            announce: broadcast::channel(1024).0,
        }
    }

    /// Records `kind` for `job`; a failure to record is logged, not fatal
    /// (events describe progress, the job state is elsewhere).
    pub async fn emit(&self, job: &JobId, kind: &str, data: Value) -> Option<JobEvent> {
        match self.repo.append_event(job, kind, &data).await {
            Ok(event) => {
                self.announced(job);
                Some(event)
            }
            Err(e) => {
                warn!(%job, kind, error = %e, "could not record job event");
                None
            }
        }
    }

    /// Announces that `job` has new events (already stored by someone else).
    pub fn announced(&self, job: &JobId) {
        let _ = self.announce.send(job.clone());
    }

    /// Subscribes to announcements of new events (for every job).
    pub fn subscribe(&self) -> broadcast::Receiver<JobId> {
        self.announce.subscribe()
    }
}
