//! The edge: which event this is, the request it makes, and the answer.
//!
//! - Secrets Manager rotation: `{"Step": "createSecret"|"setSecret"|"testSecret"|"finishSecret",
//!   "SecretId": <arn>, "ClientRequestToken": <version id>}` runs that step.
//! - EventBridge schedule: `{"detail-type": "Scheduled Event", ...}` or `{"action": "rotate"}` runs
//!   the whole rotation on `META_SECRET_ID` with a fresh version id (or resumes a pending one);
//!   `{"action": "check"}` only reports the current token's days to expiry.
//!
//! The three are one untagged [`Invocation`] over `aws_lambda_events`' types. Anything else is
//! refused without echoing it (an event is not logged: it could carry anything).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;
use lambda_runtime::{Error, LambdaEvent};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use wavault_core::config::TokenRotatorSettings;
use wavault_core::rotation::{RotationOutcome, RotationRequest, RotationStep, Rotator};

/// One invocation's event. Serde tries the variants in this order: a rotation step needs `Step`,
/// `SecretId` and `ClientRequestToken` (one with `Step` but not the others is
/// [`Invocation::IncompleteRotation`], refused naming what it lacks), an action needs `action`, a
/// scheduled event `detail-type`, `source` and `detail`; so no payload matches an earlier variant
/// than its own.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// Not a JSON object (serde would otherwise read an array as any variant's fields in order).
    NotAnObject(NotAnObject),
    /// Secrets Manager's rotation step.
    Rotation(SecretsManagerSecretRotationEvent),
    /// A rotation event without one of its fields, or with one that is not text.
    IncompleteRotation(IncompleteRotation),
    /// `{"action": "rotate"|"check"}` (the schedules' Input, or an operator).
    Action { action: String },
    /// An EventBridge scheduled event (a schedule without Input).
    Scheduled(EventBridgeEvent),
    /// Anything else: refused.
    Other(IgnoredAny),
}

/// A document with `Step` that is not a whole rotation event: its fields as they came.
#[derive(Debug, Deserialize)]
#[serde(try_from = "serde_json::Map<String, Value>")]
pub struct IncompleteRotation {
    step: Value,
    secret_id: Option<Value>,
    client_request_token: Option<Value>,
}

impl TryFrom<serde_json::Map<String, Value>> for IncompleteRotation {
    type Error = &'static str;

    fn try_from(mut event: serde_json::Map<String, Value>) -> Result<Self, Self::Error> {
        Ok(Self {
            step: event.remove("Step").ok_or("not a rotation event")?,
            secret_id: event.remove("SecretId"),
            client_request_token: event.remove("ClientRequestToken"),
        })
    }
}

/// Any JSON value but an object.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct NotAnObject;

impl TryFrom<Value> for NotAnObject {
    type Error = &'static str;

    fn try_from(event: Value) -> Result<Self, Self::Error> {
        match event {
            Value::Object(_) => Err("an object"),
            _ => Ok(Self),
        }
    }
}

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
    event: &Invocation,
    settings: &TokenRotatorSettings,
    invocation_id: &str,
) -> Result<RotationRequest, EventError> {
    let secret_id = settings.meta_secret.id.clone();
    let rotate = || RotationRequest::Rotate {
        secret_id: secret_id.clone(),
        fresh_version_id: fresh_version_id(invocation_id),
    };
    match event {
        Invocation::Rotation(event) => step_request(
            Some(&event.step),
            Some(&event.secret_id),
            Some(&event.client_request_token),
        ),
        Invocation::IncompleteRotation(event) => step_request(
            event.step.as_str(),
            event.secret_id.as_ref().and_then(Value::as_str),
            event.client_request_token.as_ref().and_then(Value::as_str),
        ),
        Invocation::Action { action } => match action.trim() {
            "check" => Ok(RotationRequest::Check {
                secret_id: secret_id.clone(),
            }),
            "rotate" => Ok(rotate()),
            _ => Err(EventError::Unrecognised),
        },
        Invocation::Scheduled(event) if event.detail_type.trim() == "Scheduled Event" => {
            Ok(rotate())
        }
        Invocation::NotAnObject(_) | Invocation::Scheduled(_) | Invocation::Other(_) => {
            Err(EventError::Unrecognised)
        }
    }
}

/// A rotation step's request: the step first, then the secret and the version, each non-blank.
fn step_request(
    step: Option<&str>,
    secret_id: Option<&str>,
    version_id: Option<&str>,
) -> Result<RotationRequest, EventError> {
    let text = |value: Option<&str>, name: &'static str| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or(EventError::Missing(name))
    };
    let step = step
        .and_then(RotationStep::parse)
        .ok_or(EventError::UnknownStep)?;
    Ok(RotationRequest::Step {
        secret_id: text(secret_id, "SecretId")?,
        step,
        version_id: text(version_id, "ClientRequestToken")?,
    })
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
    settings: &TokenRotatorSettings,
    event: LambdaEvent<Invocation>,
) -> Result<Value, Error> {
    let request = match request(&event.payload, settings, &event.context.request_id) {
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
