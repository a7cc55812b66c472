//! [`Ingest`]: one verified webhook call in, a durable journal object, records and media jobs out.

use crate::error::PortError;
use crate::ingest::{Origin, Recorder};
use crate::secrets::{MetaSecret, SecretCache, SecretError};
use crate::webhook::signature;
use crate::webhook::signature::SignatureError;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// An incoming webhook call, reduced to what matters.
#[derive(Debug)]
pub enum WebhookRequest<'a> {
    /// Meta's GET verification handshake.
    Handshake {
        mode: Option<&'a str>,
        verify_token: Option<&'a str>,
        challenge: Option<&'a str>,
    },
    /// A POSTed notification: the raw body bytes (already base64-decoded) and the signature header.
    Delivery {
        signature: Option<&'a str>,
        body: &'a [u8],
    },
}

/// What to answer. Internal errors are summarised by kind, never echoed to the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookResponse {
    /// 200 text/plain with the challenge, byte for byte.
    Challenge(String),
    /// 403: handshake refused.
    Forbidden,
    /// 401: missing or bad signature; nothing was stored.
    Unauthorized,
    /// 200: journaled (and recorded, when it parsed).
    Accepted(IngestReport),
    /// 500: something durable failed; Meta will redeliver.
    Unavailable,
}

/// What one delivery did (for logs, metrics and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub journal_key: String,
    pub journal_was_new: bool,
    pub parsed: bool,
    pub records_created: usize,
    pub records_duplicate: usize,
    pub messages: usize,
    pub statuses: usize,
    pub errors: usize,
    pub jobs_enqueued: usize,
    pub jobs_reenqueued: usize,
    pub unhandled_changes: usize,
    pub malformed_elements: usize,
    /// The body held old data of an erased contact, which was taken out before it was stored.
    pub redacted: bool,
    /// The body held nothing but an erased contact's old data (or was not JSON and named one):
    /// nothing was stored.
    pub withheld: bool,
}

/// Why a delivery could not be made durable (logged by kind; mapped to 500).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("reading a secret failed: {0}")]
    Secret(#[from] SecretError),
    #[error("journal write failed: {0}")]
    Journal(PortError),
    #[error("record write failed: {0}")]
    Records(PortError),
    #[error("media job enqueue failed: {0}")]
    Queue(PortError),
    #[error("not a journal key (journal/<sha256>.json or journal/unparsed/<sha256>.json)")]
    NotAJournalKey,
}

/// The webhook use case: the handshake, the signature check, then the [`Recorder`]; built once
/// per Lambda instance.
pub struct Ingest {
    pub recorder: Recorder,
    pub meta_secret: Arc<SecretCache<MetaSecret>>,
}

impl Ingest {
    /// Handles one request. Never panics; every failure becomes a response.
    pub async fn handle(&self, request: WebhookRequest<'_>) -> WebhookResponse {
        let response = match request {
            WebhookRequest::Handshake {
                mode,
                verify_token,
                challenge,
            } => self.handshake(mode, verify_token, challenge).await,
            WebhookRequest::Delivery { signature, body } => self.delivery(signature, body).await,
        };
        self.recorder.metrics.flush();
        response
    }

    async fn handshake(
        &self,
        mode: Option<&str>,
        verify_token: Option<&str>,
        challenge: Option<&str>,
    ) -> WebhookResponse {
        let (Some("subscribe"), Some(token), Some(challenge)) = (mode, verify_token, challenge)
        else {
            tracing::warn!(event = "handshake_refused", reason = "missing parameters");
            return WebhookResponse::Forbidden;
        };
        let secret = match self.meta_secret.get().await {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(event = "handshake_failed", error = %error);
                return WebhookResponse::Unavailable;
            }
        };
        if bool::from(token.as_bytes().ct_eq(secret.verify_token.as_bytes())) {
            tracing::info!(event = "handshake_accepted");
            WebhookResponse::Challenge(challenge.to_owned())
        } else {
            tracing::warn!(
                event = "handshake_refused",
                reason = "verify_token mismatch"
            );
            WebhookResponse::Forbidden
        }
    }

    async fn delivery(&self, signature: Option<&str>, body: &[u8]) -> WebhookResponse {
        match self.verify(signature, body).await {
            Ok(Verdict::Authentic) => {}
            Ok(Verdict::Rejected(reason)) => {
                self.recorder.metrics.count("SignatureRejected", 1);
                tracing::warn!(
                    event = "signature_rejected",
                    reason = %reason,
                    body_bytes = body.len()
                );
                return WebhookResponse::Unauthorized;
            }
            Err(error) => {
                // The secret could not be read (e.g. Secrets Manager timed out): a 500 like any
                // other store failure, and counted like one.
                self.recorder.metrics.count("DeliveryFailed", 1);
                tracing::error!(event = "delivery_failed", error = %error);
                return WebhookResponse::Unavailable;
            }
        }
        match self.recorder.record(body, Origin::Delivery).await {
            Ok(report) => {
                self.record_metrics(&report);
                tracing::info!(
                    event = "delivery_accepted",
                    journal_key = %report.journal_key,
                    journal_was_new = report.journal_was_new,
                    parsed = report.parsed,
                    messages = report.messages,
                    statuses = report.statuses,
                    errors = report.errors,
                    records_created = report.records_created,
                    records_duplicate = report.records_duplicate,
                    jobs_enqueued = report.jobs_enqueued,
                    jobs_reenqueued = report.jobs_reenqueued,
                    unhandled_changes = report.unhandled_changes,
                    malformed_elements = report.malformed_elements,
                    redacted = report.redacted,
                    withheld = report.withheld,
                );
                WebhookResponse::Accepted(report)
            }
            Err(error) => {
                self.recorder.metrics.count("DeliveryFailed", 1);
                tracing::error!(event = "delivery_failed", error = %error);
                WebhookResponse::Unavailable
            }
        }
    }

    /// The signature's verdict; `Err(_)` means we could not decide (the secret could not be read:
    /// answer 500).
    async fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<Verdict, SecretError> {
        let secret = self.meta_secret.get().await?;
        let verdict = check(&secret, header, body);
        if verdict != Err(SignatureError::Mismatch) {
            return Ok(Verdict::from(verdict));
        }
        // The app secret may just have been changed: read it again, at most once per TTL so a
        // stream of forgeries cannot hammer Secrets Manager.
        match self.meta_secret.refresh_rate_limited().await? {
            Some(fresh) => Ok(Verdict::from(check(&fresh, header, body))),
            None => Ok(Verdict::from(verdict)),
        }
    }

    fn record_metrics(&self, report: &IngestReport) {
        let m = &self.recorder.metrics;
        m.count("WebhookAccepted", 1);
        if !report.parsed {
            m.count("WebhookUnparsed", 1);
        }
        if !report.journal_was_new {
            m.count("WebhookRedelivered", 1);
        }
        m.count("RecordsCreated", report.records_created as u64);
        m.count("RecordsDuplicate", report.records_duplicate as u64);
        m.count("MediaJobsEnqueued", report.jobs_enqueued as u64);
        m.count("MediaJobsReenqueued", report.jobs_reenqueued as u64);
        m.count("UnhandledChanges", report.unhandled_changes as u64);
        m.count("MalformedElements", report.malformed_elements as u64);
        if report.redacted {
            m.count("WebhookRedacted", 1);
        }
    }
}

/// What the signature check decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Signed by Meta with the current (or previous) app secret.
    Authentic,
    /// Unsigned or forged: rejected, nothing stored.
    Rejected(SignatureError),
}

impl From<Result<(), SignatureError>> for Verdict {
    fn from(result: Result<(), SignatureError>) -> Self {
        match result {
            Ok(()) => Verdict::Authentic,
            Err(reason) => Verdict::Rejected(reason),
        }
    }
}

fn check(secret: &MetaSecret, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    signature::verify(
        body,
        header,
        secret.app_secret.as_bytes(),
        secret.previous_app_secret.as_deref().map(str::as_bytes),
    )
    .map(|matched| {
        if matched.previous_secret {
            tracing::info!(event = "signature_previous_secret");
        }
        if matched.escaped_body {
            tracing::info!(event = "signature_escaped_form");
        }
    })
}
