//! The record model: what one webhook becomes in the records table, and the media jobs it implies.
//!
//! Planning is pure: a parsed notification, the time and the retention policy in, records out.
//! Nothing here knows DynamoDB; the adapter maps a [`Record`] to an item.

use crate::contact::{ContactHasher, ContactIdKind, RecordIdKind};
use crate::records::{MediaRef, Record, RecordKind};
use crate::retention::RetentionPolicy;
use crate::webhook::model::{Contact, Metadata, Notification};
use crate::webhook::parse::{parse_message_view, parse_messages_value, parse_status_view};
use std::collections::HashMap;

/// What a webhook amounts to, with counts for metrics.
#[derive(Debug, Default)]
pub struct IngestPlan {
    pub records: Vec<Record>,
    /// `changes[]` whose `field` is not `messages` (kept in the journal only).
    pub unhandled_changes: usize,
    /// Array elements that could not be read (kept in the journal only).
    pub malformed_elements: usize,
}

impl IngestPlan {
    pub fn count(&self, kind: RecordKind) -> usize {
        self.records.iter().filter(|r| r.kind == kind).count()
    }
}

/// Everything planning needs besides the notification.
pub struct PlanContext<'a> {
    pub received_at: i64,
    pub retention: RetentionPolicy,
    pub hasher: &'a ContactHasher,
    pub journal_key: &'a str,
    pub body_sha256_hex: &'a str,
    /// Days an inbound media id stays downloadable (`MEDIA_DEADLINE_DAYS`).
    pub media_deadline_days: u32,
}

/// Turns every `entry[] x changes[] x value.{messages,statuses,errors}[]` into records.
pub fn plan(notification: &Notification, ctx: &PlanContext<'_>) -> IngestPlan {
    let mut plan = IngestPlan::default();
    let mut contacts = ContactHashes::new(ctx.hasher);
    for (entry_index, entry) in notification.entry.iter().enumerate() {
        for (change_index, change) in entry.changes.iter().enumerate() {
            let value = match (&change.field, &change.value) {
                (Some(field), Some(value)) if field == "messages" => value,
                _ => {
                    plan.unhandled_changes += 1;
                    continue;
                }
            };
            let Some(value) = parse_messages_value(value.get()) else {
                plan.malformed_elements += 1;
                continue;
            };
            let base = RecordBase {
                ctx,
                waba_id: entry.id.as_deref(),
                metadata: value.metadata.as_ref(),
            };
            for raw in &value.messages {
                match parse_message_view(raw.get()) {
                    Some(message) => {
                        let (wa_hash, user_hash) = contacts.hashes(
                            &value.contacts,
                            message.from.as_deref(),
                            message.from_user_id.as_deref(),
                        );
                        let media = message.media().map(|(kind, media)| MediaRef {
                            media_id: media.id.to_string(),
                            kind: kind.as_str(),
                            mime_type: media.mime_type.as_deref().map(str::to_owned),
                            declared_sha256: media.sha256.as_deref().map(str::to_owned),
                            deadline: crate::media::media_deadline(
                                ctx.received_at,
                                ctx.media_deadline_days,
                            ),
                        });
                        let mut record = base.record(
                            ctx.hasher.record_key(RecordIdKind::Message, &message.id),
                            "message".to_owned(),
                            RecordKind::Message,
                            raw.get(),
                        );
                        record.contact_wa_hash = wa_hash;
                        record.contact_user_hash = user_hash;
                        record.message_type = Some(message.type_name().to_owned());
                        record.error_code = message.errors.first().and_then(|e| e.code);
                        record.media = media;
                        plan.records.push(record);
                    }
                    None => plan.malformed_elements += 1,
                }
            }
            for raw in &value.statuses {
                match parse_status_view(raw.get()) {
                    Some(status) => {
                        let (wa_hash, user_hash) = contacts.hashes(
                            &value.contacts,
                            status.recipient_id.as_deref(),
                            status.recipient_user_id.as_deref(),
                        );
                        // The message's id: a status shares its message's partition.
                        let mut record = base.record(
                            ctx.hasher.record_key(RecordIdKind::Message, &status.id),
                            format!("status#{}", status.status),
                            RecordKind::Status,
                            raw.get(),
                        );
                        record.contact_wa_hash = wa_hash;
                        record.contact_user_hash = user_hash;
                        record.error_code = status.errors.first().and_then(|e| e.code);
                        record.status = Some(status.status.into_owned());
                        plan.records.push(record);
                    }
                    None => plan.malformed_elements += 1,
                }
            }
            for (error_index, raw) in value.errors.iter().enumerate() {
                // Value-level errors have no id of their own: derive one from the body and the
                // position, so a redelivery of the same body maps to the same item.
                let id = format!(
                    "error.{}.{entry_index}.{change_index}.{error_index}",
                    &ctx.body_sha256_hex[..ctx.body_sha256_hex.len().min(32)]
                );
                let mut record = base.record(
                    ctx.hasher.record_key(RecordIdKind::Error, &id),
                    "error".to_owned(),
                    RecordKind::Error,
                    raw.get(),
                );
                record.error_code =
                    serde_json::from_str::<crate::webhook::GraphErrorDetail>(raw.get())
                        .ok()
                        .and_then(|e| e.code);
                plan.records.push(record);
            }
        }
    }
    add_journal_links(&mut plan, ctx);
    plan
}

/// One [`RecordKind::JournalLink`] per distinct contact of the body.
fn add_journal_links(plan: &mut IngestPlan, ctx: &PlanContext<'_>) {
    let mut seen = std::collections::HashSet::new();
    let mut links = Vec::new();
    let pk = journal_link_id(ctx.body_sha256_hex);
    let expires_at = ctx.retention.expires_at(ctx.received_at);
    for record in &plan.records {
        let (wa, user) = (&record.contact_wa_hash, &record.contact_user_hash);
        let Some(contact) = wa.as_deref().or(user.as_deref()) else {
            continue;
        };
        if !seen.insert(contact) {
            continue;
        }
        let link = Record {
            pk: pk.clone(),
            sk: format!("contact#{contact}"),
            kind: RecordKind::JournalLink,
            received_at: ctx.received_at,
            expires_at,
            journal_key: ctx.journal_key.to_owned(),
            waba_id: record.waba_id.clone(),
            phone_number_id: record.phone_number_id.clone(),
            contact_wa_hash: wa.clone(),
            contact_user_hash: user.clone(),
            message_type: None,
            status: None,
            error_code: None,
            raw: String::new(),
            media: None,
        };
        links.push(link);
    }
    plan.records.extend(links);
}

/// The partition key of a body's journal links.
pub fn journal_link_id(body_sha256_hex: &str) -> String {
    format!(
        "journal.{}",
        &body_sha256_hex[..body_sha256_hex.len().min(32)]
    )
}

struct RecordBase<'a> {
    ctx: &'a PlanContext<'a>,
    waba_id: Option<&'a str>,
    metadata: Option<&'a Metadata<'a>>,
}

impl RecordBase<'_> {
    /// A record under partition key `pk` (the element id's keyed hash).
    fn record(&self, pk: String, sk: String, kind: RecordKind, raw: &str) -> Record {
        Record {
            pk,
            sk,
            kind,
            received_at: self.ctx.received_at,
            expires_at: self.ctx.retention.expires_at(self.ctx.received_at),
            journal_key: self.ctx.journal_key.to_owned(),
            waba_id: self.waba_id.map(str::to_owned),
            phone_number_id: self
                .metadata
                .and_then(|m| m.phone_number_id.as_deref())
                .map(str::to_owned),
            contact_wa_hash: None,
            contact_user_hash: None,
            message_type: None,
            status: None,
            error_code: None,
            raw: raw.to_owned(),
            media: None,
        }
    }
}

/// Contact hashes for one plan, memoised: a batch often carries many elements of one contact.
struct ContactHashes<'h> {
    hasher: &'h ContactHasher,
    /// Hashes by id, one map per id kind (so lookups borrow the id instead of allocating).
    memo: [HashMap<String, String>; 2],
}

impl<'h> ContactHashes<'h> {
    fn new(hasher: &'h ContactHasher) -> Self {
        Self {
            hasher,
            memo: [HashMap::new(), HashMap::new()],
        }
    }

    fn hash(&mut self, kind: ContactIdKind, id: &str) -> Option<String> {
        if id.is_empty() {
            return None;
        }
        let memo = &mut self.memo[kind as usize];
        if let Some(hash) = memo.get(id) {
            return Some(hash.clone());
        }
        let hash = self.hasher.hash(kind, id);
        memo.insert(id.to_owned(), hash.clone());
        Some(hash)
    }

    /// Hashes of the contact's `wa_id` and user id, completing one from `contacts[]` when the
    /// element only names the other.
    fn hashes(
        &mut self,
        contacts: &[Contact<'_>],
        wa_id: Option<&str>,
        user_id: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let listed = contacts.iter().find(|c| {
            (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
                || (user_id.is_some() && c.user_id.as_deref() == user_id)
        });
        let wa_id = wa_id.or_else(|| listed.and_then(|c| c.wa_id.as_deref()));
        let user_id = user_id.or_else(|| listed.and_then(|c| c.user_id.as_deref()));
        (
            wa_id.and_then(|id| self.hash(ContactIdKind::WaId, id)),
            user_id.and_then(|id| self.hash(ContactIdKind::UserId, id)),
        )
    }
}
