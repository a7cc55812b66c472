//! [`Recorder`]: a verified body made durable (the journal, records, media jobs), with what an
//! erased contact sent before the erasure taken out first. The webhook runs it for each delivery;
//! a replay runs it again over journal objects after a fix ([`super::replay`]).

use crate::clock::Clock;
use crate::contact::{
    mentions, redact, ContactHasher, ContactIdKind, ErasedContacts, ErasureMarker, HashedPeople,
    Redaction,
};
use crate::ingest::{journal_links, IngestPlan, JournalItems, PlanContext};
use crate::ingest::{IngestError, IngestReport};
use crate::ingest::{JobQueue, Journal, JournalWrite, RecordStore, RecordWrite};
use crate::metrics::Metrics;
use crate::records;
use crate::records::{ItemKey, MediaStatus, RecordKind};
use crate::retention::RetentionPolicy;
use crate::secrets::SecretCache;
use crate::webhook::parse_notification;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// DynamoDB conditional puts run this many at a time: enough to write a 1000-update batch well
/// inside Meta's latency guidance, few enough not to trip on-demand throttling on a cold table.
pub const RECORD_WRITE_CONCURRENCY: usize = 32;

/// Where a body comes from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// Meta delivered it now: it is journaled first, received now.
    Delivery,
    /// A journal object read back (a replay): not written again; its records are dated as the
    /// webhook first received it, so they expire when the original would have.
    Journal { key: &'a str, received_at: i64 },
}

/// The ports and settings that make a body durable.
pub struct Recorder {
    pub journal: Arc<dyn Journal>,
    pub records: Arc<dyn RecordStore>,
    pub queue: Arc<dyn JobQueue>,
    pub contact_hash_key: Arc<SecretCache<Vec<u8>>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
    pub retention: RetentionPolicy,
    /// Days an inbound media id stays downloadable (Meta: 7).
    pub media_deadline_days: u32,
}

impl Recorder {
    /// Makes one verified body durable (see [`Origin`]); idempotent: a second run with the same
    /// body creates nothing and overwrites nothing.
    pub async fn record(
        &self,
        body: &[u8],
        origin: Origin<'_>,
    ) -> Result<IngestReport, IngestError> {
        let (received_at, body_sha) = match origin {
            Origin::Delivery => (
                self.clock.now_epoch_seconds(),
                records::body_sha256_hex(body),
            ),
            Origin::Journal { key, received_at } => (
                received_at,
                records::journal_digest(key)
                    .ok_or(IngestError::NotAJournalKey)?
                    .to_owned(),
            ),
        };
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
        let (journal_key, journal_was_new) = match origin {
            Origin::Delivery => {
                // The key of the body as Meta sent it: a second redelivery finds this object.
                let journal_key = records::journal_key(&body_sha, notification.is_ok());
                // 1. The journal first: from here on the webhook is replayable whatever else
                //    fails.
                let journal_write = self
                    .journal
                    .put_if_absent(&journal_key, &stored, received_at)
                    .await
                    .map_err(IngestError::Journal)?;
                (journal_key, journal_write == JournalWrite::Created)
            }
            // A replay reads the journal: the records point at the object they come from, even
            // one under `journal/unparsed/` that parses now.
            Origin::Journal { key, .. } => (key.to_owned(), false),
        };
        let mut report = IngestReport {
            journal_key: journal_key.clone(),
            journal_was_new,
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
}
