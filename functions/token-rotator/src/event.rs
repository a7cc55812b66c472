//! The edge: which event this is, the request it makes, and the answer.
//!
//! - Secrets Manager rotation: `{"Step": "createSecret"|"setSecret"|"testSecret"|"finishSecret",
//!   "SecretId": <arn>, "ClientRequestToken": <version id>}` runs that step.
//! - EventBridge schedule: `{"detail-type": "Scheduled Event", ...}` or `{"action": "rotate"}` runs
//!   the whole rotation on `META_SECRET_ID` with a fresh version id (or resumes a pending one);
//!   `{"action": "check"}` only reports the current token's days to expiry.
//!
//! Anything else is refused without echoing it (an event is not logged: it could carry anything).

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use wavault_core::config::RotatorConfig;
use wavault_core::rotation::{RotationOutcome, RotationRequest, RotationStep, Rotator};

/// An event the rotator does not handle.
#[derive(Debug, PartialEq, Eq)]
pub enum EventError {
    /// Neither a rotation step nor a schedule.
    Unrecognised,
    /// A rotation event whose `Step` is not one of the four.
    UnknownStep,
    /// A rotation event without this field.
    Missing(&'static str),
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unrecognised => f.write_str(
                "unrecognised event: expected a Secrets Manager rotation step, a Scheduled Event or {\"action\":\"rotate\"|\"check\"}",
            ),
            Self::UnknownStep => f.write_str(
                "unknown rotation Step: expected createSecret, setSecret, testSecret or finishSecret",
            ),
            Self::Missing(field) => write!(f, "rotation event without {field}"),
        }
    }
}

impl std::error::Error for EventError {}

/// The request an event makes; `invocation_id` seeds the version id of a scheduled rotation.
pub fn request(
    payload: &Value,
    config: &RotatorConfig,
    invocation_id: &str,
) -> Result<RotationRequest, EventError> {
    let text = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(step) = payload.get("Step") {
        let step = step
            .as_str()
            .and_then(RotationStep::parse)
            .ok_or(EventError::UnknownStep)?;
        return Ok(RotationRequest::Step {
            secret_id: text("SecretId")
                .ok_or(EventError::Missing("SecretId"))?
                .to_owned(),
            step,
            version_id: text("ClientRequestToken")
                .ok_or(EventError::Missing("ClientRequestToken"))?
                .to_owned(),
        });
    }
    let secret_id = config.meta_secret_id.clone();
    match (text("action"), text("detail-type")) {
        (Some("check"), _) => Ok(RotationRequest::Check { secret_id }),
        (Some("rotate"), _) | (None, Some("Scheduled Event")) => Ok(RotationRequest::Rotate {
            secret_id,
            fresh_version_id: fresh_version_id(invocation_id),
        }),
        _ => Err(EventError::Unrecognised),
    }
}

/// A new version id (a `ClientRequestToken`, 32-64 characters): UUID-shaped, from two hashes
/// keyed by the process's random `RandomState` keys over the invocation id and the time.
pub fn fresh_version_id(invocation_id: &str) -> String {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let word = |lane: u8| {
        std::collections::hash_map::RandomState::new().hash_one((invocation_id, nanos, lane))
    };
    let (a, b) = (word(0), word(1));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// The answer: what was done, by ids and names only.
pub fn response(outcome: &RotationOutcome) -> Value {
    let mut answer = json!({});
    if let Some((step, done)) = outcome.step {
        answer["step"] = json!(step.as_str());
        answer["outcome"] = json!(done.as_str());
    }
    if let Some(report) = &outcome.rotation {
        answer["version_id"] = json!(report.version_id);
        answer["resumed"] = json!(report.resumed);
        answer["steps"] = report
            .steps
            .iter()
            .map(|(step, done)| json!({"step": step.as_str(), "outcome": done.as_str()}))
            .collect();
    }
    if let Some(days) = outcome.days_to_expiry {
        answer["days_to_expiry"] = json!(days);
    }
    answer
}

/// One invocation.
pub async fn handle(
    rotator: &Rotator,
    config: &RotatorConfig,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let request = match request(&event.payload, config, &event.context.request_id) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(event = "rotation_event_refused", error = %error);
            return Err(error.into());
        }
    };
    let outcome = rotator.handle(request).await?;
    Ok(response(&outcome))
}

#[cfg(test)]
#[path = "tests/event.rs"]
mod tests;
