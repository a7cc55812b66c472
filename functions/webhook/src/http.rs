//! The HTTP edge: API Gateway HTTP API (payload 2.0) and Lambda Function URL events in, their
//! response shape out.
//!
//! Both event sources share the 2.0 shape, so `aws_lambda_events`' API Gateway v2 types cover
//! them. We decode the body ourselves rather than through lambda_http, whose base64 decoding
//! panics on a malformed body; here a malformed body is a 400.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{ALLOW, CONTENT_TYPE};
use aws_lambda_events::http::HeaderValue;
use base64::Engine;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wavault_core::ingest::{Ingest, WebhookRequest, WebhookResponse};
use wavault_core::metrics::Metrics;
use wavault_core::webhook::signature::SIGNATURE_HEADER;

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

/// A payload-2.0 event: API Gateway HTTP API and Lambda Function URLs both send this shape (a
/// Function URL event is the same document with fewer request-context fields).
pub type HttpEvent = ApiGatewayV2httpRequest;

/// A payload-2.0 response (also what Function URLs expect).
pub type HttpResponse = ApiGatewayV2httpResponse;

/// A plain-text response.
fn text(status_code: u16, body: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::default();
    response.status_code = i64::from(status_code);
    response.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.body = Some(Body::Text(body.into()));
    response
}

/// A header by name (the map's lookup ignores case); `None` when absent or not visible ASCII.
fn header<'a>(event: &'a HttpEvent, name: &str) -> Option<&'a str> {
    event
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// A query parameter as API Gateway sent it: the event's parser splits a value at its commas
/// (API Gateway joins repeated parameters with them), so the parts are joined back.
fn query(event: &HttpEvent, name: &str) -> Option<String> {
    event
        .query_string_parameters
        .all(name)
        .map(|values| values.join(","))
}

/// The raw body bytes, base64-decoded when the event says so. Decoded here, not by lambda_http,
/// whose decoding panics on a malformed body.
fn body_bytes(event: &HttpEvent) -> Result<Vec<u8>, base64::DecodeError> {
    let body = event.body.as_deref().unwrap_or("");
    if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(body)
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Handles one event: the whole webhook behaviour seen from HTTP.
pub async fn handle(ingest: &Ingest, event: HttpEvent) -> HttpResponse {
    match event
        .request_context
        .http
        .method
        .as_str()
        .to_ascii_uppercase()
        .as_str()
    {
        "GET" => {
            let (mode, verify_token, challenge) = (
                query(&event, "hub.mode"),
                query(&event, "hub.verify_token"),
                query(&event, "hub.challenge"),
            );
            respond(
                ingest
                    .handle(WebhookRequest::Handshake {
                        mode: mode.as_deref(),
                        verify_token: verify_token.as_deref(),
                        challenge: challenge.as_deref(),
                    })
                    .await,
            )
        }
        "POST" => {
            let Ok(body) = body_bytes(&event) else {
                tracing::warn!(event = "bad_request", reason = "invalid base64 encoding"); // pii-checked: a constant reason, no request data
                return text(400, "bad request");
            };
            respond(
                ingest
                    .handle(WebhookRequest::Delivery {
                        signature: header(&event, SIGNATURE_HEADER),
                        body: &body,
                    })
                    .await,
            )
        }
        _ => {
            let mut response = text(405, "method not allowed");
            response
                .headers
                .insert(ALLOW, HeaderValue::from_static("GET, POST"));
            response
        }
    }
}

/// Maps the use case's answer to HTTP. Internal errors are never echoed.
fn respond(response: WebhookResponse) -> HttpResponse {
    match response {
        WebhookResponse::Challenge(challenge) => text(200, challenge),
        WebhookResponse::Forbidden => text(403, "forbidden"),
        WebhookResponse::Unauthorized => text(401, "invalid signature"),
        WebhookResponse::Accepted(_) => text(200, "ok"),
        WebhookResponse::Unavailable => text(500, "temporarily unavailable"),
    }
}

#[cfg(test)]
#[path = "tests/http.rs"]
mod tests;
