//! Which trigger invoked the fetcher, as one untagged enum, and the work each one does.
//!
//! - SQS (`{"Records": [..]}`): archive the batch's media jobs; partial batch failures.
//! - `{"action": "sweep"}` (the EventBridge schedule's Input, or an operator) or a `Scheduled Event`
//!   (a schedule without Input): the media sweep.
//! - `{"action": "redrive-dead-lettered"}` (the operator, runbook "DLQ not empty"): the redrive.
//! - `{"action": "replay", ...}` (the operator, docs/operations.md "Replaying the journal"): one
//!   run of a journal replay ([`crate::replay`]); a replay request it cannot read fails the
//!   invocation rather than replaying something else.
//!
//! Anything else runs the sweep, as it always has (the sweep is idempotent); a `Records` document
//! that is not an SQS batch fails the invocation.

use crate::replay::ReplayRequest;
use crate::sqs::{self, Postpone};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use wavault_core::media::Archiver;
use wavault_core::media::MediaSweep;

/// One invocation's event. Serde tries the variants in this order: an SQS batch needs `Records`,
/// an action needs `action` (one of [`Action`]), a scheduled event `detail-type`, `source` and
/// `detail`; so no payload matches an earlier variant than its own.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// A batch of media jobs.
    Jobs(SqsEvent),
    /// A `Records` document that is not an SQS batch.
    UnreadableBatch {
        #[serde(rename = "Records")]
        _records: IgnoredAny,
    },
    /// `{"action": "replay", ..}` with readable fields.
    Replay(ReplayRequest),
    /// `{"action": ..}`.
    Action { action: Action },
    /// An EventBridge scheduled event (a schedule without Input): matched for its shape, its
    /// fields are not needed.
    #[allow(dead_code)]
    Scheduled(EventBridgeEvent),
    /// Anything else.
    Other(IgnoredAny),
}

/// What `{"action": ..}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Sweep,
    RedriveDeadLettered,
    /// Matched here only when its fields are not a [`ReplayRequest`].
    Replay,
}

/// A replay request whose fields cannot be read (a typo would otherwise replay everything).
#[derive(Debug)]
pub struct UnreadableReplay;

impl std::fmt::Display for UnreadableReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a replay request with fields other than since, until, unparsed, keys, start_after",
        )
    }
}

impl std::error::Error for UnreadableReplay {}

/// A `Records` document that is not an SQS batch (never sent by SQS).
#[derive(Debug)]
pub struct UnreadableBatch;

impl std::fmt::Display for UnreadableBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event with Records that is not an SQS batch")
    }
}

impl std::error::Error for UnreadableBatch {}

/// What the fetcher's invocations use.
pub struct Services {
    pub archiver: Archiver,
    pub replay: crate::wiring::ReplayWiring,
    pub sweep: MediaSweep,
    pub postpone: Box<dyn Postpone>,
}

/// One invocation: the batch response, or the sweep's or redrive's report. Sweep and redrive
/// errors fail the invocation (alarmed).
pub async fn handle(services: &Services, event: LambdaEvent<Invocation>) -> Result<Value, Error> {
    match event.payload {
        Invocation::Jobs(batch) => {
            let deadline = sqs::invocation_deadline(event.context.deadline);
            let response = sqs::handle(
                &services.archiver,
                services.postpone.as_ref(),
                batch,
                sqs::BatchTime::until(deadline),
            )
            .await;
            Ok(serde_json::to_value(response)?)
        }
        Invocation::UnreadableBatch { .. } => Err(UnreadableBatch.into()),
        Invocation::Replay(request) => {
            let deadline = sqs::invocation_deadline(event.context.deadline);
            let batch = crate::replay::run(&services.replay.replayer(), &request, deadline).await?;
            let r = &batch.report;
            tracing::info!(
                event = "journal_replay",
                objects = r.objects,
                records_created = r.records_created,
                records_already_present = r.records_already_present,
                media_jobs_enqueued = r.media_jobs_enqueued,
                still_unparsed = r.still_unparsed,
                done = batch.next.is_none()
            );
            Ok(serde_json::to_value(&batch)?)
        }
        Invocation::Action {
            action: Action::Replay,
        } => Err(UnreadableReplay.into()),
        Invocation::Action {
            action: Action::RedriveDeadLettered,
        } => {
            let redriven = services.sweep.redrive_dead_lettered().await?;
            tracing::info!(event = "media_redrive", redriven);
            Ok(json!({ "redriven": redriven }))
        }
        Invocation::Action {
            action: Action::Sweep,
        }
        | Invocation::Scheduled(_)
        | Invocation::Other(_) => {
            let report = services.sweep.run().await?;
            tracing::info!(
                event = "media_sweep",
                pending = report.pending,
                reenqueued = report.reenqueued,
                waiting = report.waiting,
                at_risk = report.at_risk,
                lost = report.lost,
                dead_lettered = report.dead_lettered,
                unverified = report.unverified
            );
            Ok(json!({
                "pending": report.pending, "reenqueued": report.reenqueued,
                "waiting": report.waiting,
                "at_risk": report.at_risk, "lost": report.lost,
                "dead_lettered": report.dead_lettered,
                "unverified": report.unverified,
            }))
        }
    }
}

#[cfg(test)]
#[path = "tests/invocation.rs"]
mod tests;
