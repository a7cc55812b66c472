//! [`Ingest`]: one verified webhook call in, a durable journal object, records and media jobs out.

use crate::clock::Clock;
use crate::contact::{
    mentions, redact, ContactHasher, ContactIdKind, ErasedContacts, ErasureMarker, HashedPeople,
    Redaction,
};
use crate::error::PortError;
use crate::ingest::{journal_links, IngestPlan, JournalItems, PlanContext};
use crate::ingest::{JobQueue, Journal, RecordStore, RecordWrite};
use crate::metrics::Metrics;
use crate::records;
use crate::records::{ItemKey, MediaStatus, RecordKind};
use crate::retention::RetentionPolicy;
use crate::secrets::{MetaSecret, SecretCache, SecretError};
use crate::webhook::parse_notification;
use crate::webhook::signature;
use crate::webhook::signature::SignatureError;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// DynamoDB conditional puts run this many at a time: enough to write a 1000-update batch well
/// inside Meta's latency guidance, few enough not to trip on-demand throttling on a cold table.
pub const RECORD_WRITE_CONCURRENCY: usize = 32;

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
}

/// The ports and settings the webhook needs; built once per Lambda instance.
pub struct Ingest {
    pub journal: Arc<dyn Journal>,
    pub records: Arc<dyn RecordStore>,
    pub queue: Arc<dyn JobQueue>,
    pub meta_secret: Arc<SecretCache<MetaSecret>>,
    pub contact_hash_key: Arc<SecretCache<Vec<u8>>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
    pub retention: RetentionPolicy,
    /// Days an inbound media id stays downloadable (Meta: 7).
    pub media_deadline_days: u32,
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
        self.metrics.flush();
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
                self.metrics.count("SignatureRejected", 1);
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
                self.metrics.count("DeliveryFailed", 1);
                tracing::error!(event = "delivery_failed", error = %error);
                return WebhookResponse::Unavailable;
            }
        }
        match self.ingest(body).await {
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
                self.metrics.count("DeliveryFailed", 1);
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

    async fn ingest(&self, body: &[u8]) -> Result<IngestReport, IngestError> {
        let received_at = self.clock.now_epoch_seconds();
        let body_sha = records::body_sha256_hex(body);
        let hash_key = self.contact_hash_key.get().await?;
        let hasher = ContactHasher::new(hash_key.as_slice());

        // 0. Erased contacts: a redelivered (or replayed) body must not bring back the old data
        //    of a contact erased since. Looked up before anything is stored.
        let mentioned = HashedPeople::of(&mentions(body), &hasher);
        let (stored, mentioned) = match self.erased_among(&hasher, &mentioned).await? {
            None => (Cow::Borrowed(body), mentioned),
            Some(erased_at) => {
                let erased = ErasedContacts {
                    hasher: &hasher,
                    erased_at: &erased_at,
                };
                match redact(body, &erased) {
                    Redaction::Unchanged => (Cow::Borrowed(body), mentioned),
                    Redaction::Rewrite(redacted) => {
                        let mentioned = HashedPeople::of(&mentions(&redacted), &hasher);
                        (Cow::Owned(redacted), mentioned)
                    }
                    // Nothing of anyone else, or not JSON: store nothing.
                    Redaction::Delete | Redaction::DeleteUnreadable => {
                        self.metrics.count("WebhookWithheld", 1);
                        tracing::info!(
                            event = "erased_contact_body_withheld",
                            body = %&body_sha[..16],
                        );
                        return Ok(IngestReport {
                            withheld: true,
                            ..IngestReport::default()
                        });
                    }
                }
            }
        };
        let redacted = matches!(stored, Cow::Owned(_));
        let notification = parse_notification(&stored);
        // The key of the body as Meta sent it: a second redelivery finds this object.
        let journal_key = records::journal_key(&body_sha, notification.is_ok());

        // 1. The journal first: from here on the webhook is replayable whatever else fails.
        let journal_write = self
            .journal
            .put_if_absent(&journal_key, &stored)
            .await
            .map_err(IngestError::Journal)?;
        let mut report = IngestReport {
            journal_key: journal_key.clone(),
            journal_was_new: journal_write == crate::ingest::JournalWrite::Created,
            parsed: notification.is_ok(),
            redacted,
            ..IngestReport::default()
        };
        let journal_items = JournalItems {
            received_at,
            retention: self.retention,
            hasher: &hasher,
            journal_key: &journal_key,
            body_sha256_hex: &body_sha,
            waba_id: None,
            phone_number_id: None,
        };
        let notification = match notification {
            Ok(notification) => notification,
            Err(reason) => {
                tracing::warn!(event = "unparsed_body_journaled", reason = %reason, journal_key = %journal_key);
                // Linked to everyone its text names, and on the retention clock either way.
                let mut plan = IngestPlan {
                    records: journal_links(&journal_items, &mentioned),
                    ..IngestPlan::default()
                };
                if plan.records.is_empty() {
                    plan.records.push(journal_items.body_item());
                }
                self.write_records(&plan).await?;
                return Ok(report);
            }
        };

        // 2. Records, conditionally: a redelivery creates nothing and overwrites nothing.
        let mut plan = crate::ingest::plan(
            &notification,
            &PlanContext {
                received_at,
                retention: self.retention,
                hasher: &hasher,
                journal_key: &journal_key,
                body_sha256_hex: &body_sha,
                media_deadline_days: self.media_deadline_days,
                people: &mentioned,
            },
        );
        if plan.records.is_empty() {
            plan.records.push(journal_items.body_item());
        }
        report.messages = plan.count(RecordKind::Message);
        report.statuses = plan.count(RecordKind::Status);
        report.errors = plan.count(RecordKind::Error);
        report.unhandled_changes = plan.unhandled_changes;
        report.malformed_elements = plan.malformed_elements;
        let writes = self.write_records(&plan).await?;

        // 3. Media jobs for new media messages, and again for known ones still pending: the first
        //    enqueue may have been lost, and a dedupe must never hide that.
        let mut jobs = Vec::new();
        for (record, write) in plan.records.iter().zip(&writes) {
            if matches!(
                record.kind,
                RecordKind::JournalLink | RecordKind::JournalBody
            ) {
                // Bookkeeping for erasure and retention, not a record of Meta's: not counted.
                continue;
            }
            match write {
                RecordWrite::Created => {
                    report.records_created += 1;
                    if let Some(job) = record.media_job() {
                        jobs.push(job);
                        report.jobs_enqueued += 1;
                    }
                }
                RecordWrite::AlreadyPresent {
                    media_status,
                    received_at,
                } => {
                    report.records_duplicate += 1;
                    if *media_status == Some(MediaStatus::Pending) {
                        if let Some(mut job) = record.media_job() {
                            // The stored receipt time: a redelivery on a later day must not move
                            // the object key (one record, one object; erasure computes it too).
                            job.received_at = received_at.unwrap_or(job.received_at);
                            jobs.push(job);
                            report.jobs_reenqueued += 1;
                        }
                    }
                }
            }
        }
        if !jobs.is_empty() {
            self.queue
                .enqueue(&jobs)
                .await
                .map_err(IngestError::Queue)?;
        }
        Ok(report)
    }

    /// When each erased contact among the mentioned people was erased, keyed by `(kind, contact
    /// hash)`; `None` when none is (the common case: one batched read of the markers).
    async fn erased_among(
        &self,
        hasher: &ContactHasher,
        mentioned: &HashedPeople,
    ) -> Result<Option<HashMap<(ContactIdKind, String), i64>>, IngestError> {
        let hashes: Vec<(ContactIdKind, String)> = mentioned.hashes().cloned().collect();
        if hashes.is_empty() {
            return Ok(None);
        }
        let keys: Vec<ItemKey> = hashes
            .iter()
            .map(|(_, hash)| ErasureMarker::key(hasher, hash))
            .collect();
        let found = self
            .records
            .erasure_markers(&keys)
            .await
            .map_err(IngestError::Records)?;
        if found.is_empty() {
            return Ok(None);
        }
        let erased: HashMap<(ContactIdKind, String), i64> = hashes
            .into_iter()
            .zip(keys)
            .filter_map(|(id, key)| found.get(&key.pk).map(|at| (id, *at)))
            .collect();
        Ok(Some(erased).filter(|e| !e.is_empty()))
    }

    /// Writes every record with bounded concurrency; outcomes come back in plan order.
    async fn write_records(&self, plan: &IngestPlan) -> Result<Vec<RecordWrite>, IngestError> {
        stream::iter(plan.records.iter())
            .map(|record| self.records.put_if_absent(record))
            .buffered(RECORD_WRITE_CONCURRENCY)
            .try_collect()
            .await
            .map_err(IngestError::Records)
    }

    fn record_metrics(&self, report: &IngestReport) {
        let m = &self.metrics;
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
