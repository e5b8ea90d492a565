//! `GET /api/jobs/:jobId/events`: Server-Sent Events from queued to decided.
//!
//! The stream replays the job's stored events after `Last-Event-ID` (or
//! `?after=`), then follows new ones: it wakes on in-process announcements and
//! re-reads the database at least every second (events written by other
//! processes). It ends after the last `completed`, `failed` or
//! `dispute_resolved` event, once no dispute of the job is open.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use verity_core::JobId;
use verity_store::JobEvent;

use super::AppState;
use super::jobs::load_job;
use crate::error::ApiError;

const REREAD: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
pub(super) struct After {
    after: Option<i64>,
}

/// `GET /api/jobs/:jobId/events`.
#[utoipa::path(get, path = "/api/jobs/{jobId}/events", tag = "jobs",
    summary = "Server-Sent Events from queued to decided",
    description = "Event names: `queued` {round, committee}, `enclave_started` {enclaveId, round}, \
        `enclave_finished` {enclaveId, round, verdict, confidence, reportDigest}, `equivocation`, \
        `consensus` {round, verdict, confidence, agreementRate, thresholdMet, participatingEnclaves, reportDigest}, \
        `completed` {round, verdict}, `failed` {round, reason}; every event's data also has `jobId` and `at`. \
        Each event has an `id`: reconnect with `Last-Event-ID` (or `?after=`) to resume. The stream ends after the decision.",
    params(("jobId" = String, Path, description = "A job id, `job_` followed by a ULID"),
        ("after" = Option<i64>, Query, description = "Replay events after this id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Replay events after this id (set by EventSource on reconnection)")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed job id", body = crate::http::openapi::ErrorBody),
        (status = 404, description = "No such job", body = crate::http::openapi::ErrorBody)))]
pub(super) async fn job_events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<After>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = load_job(&state, &raw).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(query.after)
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(64);
    let announcements = state.events.subscribe();
    tokio::spawn(follow(state, job.job_id, after, announcements, tx));
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn follow(
    state: AppState,
    job: JobId,
    mut last: i64,
    mut announcements: broadcast::Receiver<JobId>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
) {
    loop {
        let Ok(events) = state.repo.events_after(&job, last).await else {
            return;
        };
        let count = events.len();
        for (i, e) in events.into_iter().enumerate() {
            last = e.id;
            // The last decision ends the stream, unless a dispute is still open
            // (its re-verification and settlement follow).
            let terminal = i + 1 == count
                && matches!(e.kind.as_str(), "completed" | "failed" | "dispute_resolved")
                && !dispute_open(&state, &job).await;
            if tx.send(Ok(to_sse(&e))).await.is_err() || terminal {
                return;
            }
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(REREAD) => {}
            _ = wait_for(&mut announcements, &job) => {}
        }
    }
}

async fn dispute_open(state: &AppState, job: &JobId) -> bool {
    matches!(
        state.disputes.store().dispute_for_job(job).await,
        Ok(Some(d)) if d.state.is_open()
    )
}

async fn wait_for(announcements: &mut broadcast::Receiver<JobId>, job: &JobId) {
    loop {
        match announcements.recv().await {
            Ok(id) if &id == job => return,
            Ok(_) => {}
            // Missed announcements: re-read to be safe.
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

fn to_sse(e: &JobEvent) -> Event {
    let mut data = e.data.clone();
    if let Some(obj) = data.as_object_mut() {
        obj.insert("jobId".into(), serde_json::json!(e.job_id));
        obj.insert("at".into(), serde_json::json!(super::jobs::iso(e.at_ms)));
    }
    Event::default()
        .id(e.id.to_string())
        .event(&e.kind)
        .data(data.to_string())
}
