//! The HTTP edge: API Gateway HTTP API (payload 2.0) and Lambda Function URL events in, their
//! response shape out.
//!
//! Both event sources share the 2.0 shape, so one small serde model covers them. We decode the
//! body ourselves rather than through lambda_http, whose base64 decoding panics on a malformed
//! body; here a malformed body is a 400.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wavault_core::ingest::{Ingest, WebhookRequest, WebhookResponse};
use wavault_core::ports::Metrics;
use wavault_core::signature::SIGNATURE_HEADER;

/// The webhook answers at the latest this long before the invocation's deadline: enough for the
/// runtime to send the 500 and the EMF line to be written, so the invocation never times out
/// (a timeout is answered by API Gateway with a bare 503 and counts no `DeliveryFailed`).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

/// Time left for the handler: until `deadline_ms` (Lambda's `Lambda-Runtime-Deadline-Ms`, epoch
/// milliseconds) less [`DEADLINE_MARGIN`]; `None` when Lambda gave no deadline.
pub fn budget(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Some(Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN))
}

/// [`handle`] within `budget`: when the stores are too slow for the invocation (several slow AWS
/// calls, each within its own timeout), answer 500 before Lambda's timeout, counted as
/// `DeliveryFailed` and `DeliveryTimedOut`. Abandoning the delivery midway is safe: every write is
/// idempotent and Meta redelivers what was not acknowledged.
pub async fn handle_within(
    ingest: &Ingest,
    metrics: &dyn Metrics,
    event: HttpEvent,
    budget: Option<Duration>,
) -> HttpResponse {
    let Some(budget) = budget else {
        return handle(ingest, event).await;
    };
    match tokio::time::timeout(budget, handle(ingest, event)).await {
        Ok(response) => response,
        Err(_) => {
            metrics.count("DeliveryFailed", 1);
            metrics.count("DeliveryTimedOut", 1);
            metrics.flush();
            tracing::error!(
                event = "delivery_failed",
                error = "the stores did not answer within the invocation's time",
                budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX)
            );
            respond(WebhookResponse::Unavailable)
        }
    }
}

/// The fields of a payload-2.0 event the webhook reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEvent {
    #[serde(default)]
    pub request_context: RequestContext,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub query_string_parameters: HashMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestContext {
    #[serde(default)]
    pub http: HttpContext,
}

#[derive(Debug, Default, Deserialize)]
pub struct HttpContext {
    #[serde(default)]
    pub method: String,
}

/// A payload-2.0 response (also what Function URLs expect).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl HttpResponse {
    fn text(status_code: u16, body: impl Into<String>) -> Self {
        Self {
            status_code,
            headers: HashMap::from([(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )]),
            body: body.into(),
            is_base64_encoded: false,
        }
    }
}

impl HttpEvent {
    /// A header by name; API Gateway and Function URLs lowercase header names, but a test client
    /// or a proxy may not.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The raw body bytes, base64-decoded when the event says so.
    fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        let body = self.body.as_deref().unwrap_or("");
        if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD.decode(body)
        } else {
            Ok(body.as_bytes().to_vec())
        }
    }
}

/// Handles one event: the whole webhook behaviour seen from HTTP.
pub async fn handle(ingest: &Ingest, event: HttpEvent) -> HttpResponse {
    match event
        .request_context
        .http
        .method
        .to_ascii_uppercase()
        .as_str()
    {
        "GET" => {
            let query = |name: &str| event.query_string_parameters.get(name).map(String::as_str);
            respond(
                ingest
                    .handle(WebhookRequest::Handshake {
                        mode: query("hub.mode"),
                        verify_token: query("hub.verify_token"),
                        challenge: query("hub.challenge"),
                    })
                    .await,
            )
        }
        "POST" => {
            let Ok(body) = event.body_bytes() else {
                tracing::warn!(event = "bad_request", reason = "invalid base64 encoding"); // pii-checked: a constant reason, no request data
                return HttpResponse::text(400, "bad request");
            };
            respond(
                ingest
                    .handle(WebhookRequest::Delivery {
                        signature: event.header(SIGNATURE_HEADER),
                        body: &body,
                    })
                    .await,
            )
        }
        _ => {
            let mut response = HttpResponse::text(405, "method not allowed");
            response
                .headers
                .insert("allow".to_owned(), "GET, POST".to_owned());
            response
        }
    }
}

/// Maps the use case's answer to HTTP. Internal errors are never echoed.
fn respond(response: WebhookResponse) -> HttpResponse {
    match response {
        WebhookResponse::Challenge(challenge) => HttpResponse::text(200, challenge),
        WebhookResponse::Forbidden => HttpResponse::text(403, "forbidden"),
        WebhookResponse::Unauthorized => HttpResponse::text(401, "invalid signature"),
        WebhookResponse::Accepted(_) => HttpResponse::text(200, "ok"),
        WebhookResponse::Unavailable => HttpResponse::text(500, "temporarily unavailable"),
    }
}

#[cfg(test)]
#[path = "tests/http.rs"]
mod tests;
