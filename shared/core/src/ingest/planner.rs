//! The record model: what one webhook becomes in the records table, and the media jobs it implies.
//!
//! Planning is pure: a parsed notification, the time and the retention policy in, records out.
//! Nothing here knows DynamoDB; the adapter maps a [`Record`] to an item.

use crate::contact::{alias, ContactHasher, ContactIdKind, HashedPeople, RecordIdKind};
use crate::records::{MediaRef, Record, RecordKind};
use crate::retention::RetentionPolicy;
use crate::webhook::model::{Contact, Metadata, Notification};
use crate::webhook::parse::{
    parse_message_view, parse_messages_value, parse_status_view, raw_change, raw_entry, raw_field,
};
use crate::webhook::view::ErrorCodeView;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// What a webhook amounts to, with counts for metrics.
#[derive(Debug, Default)]
pub struct IngestPlan {
    pub records: Vec<Record>,
    /// `changes[]` whose `field` is not `messages` (kept in the journal only).
    pub unhandled_changes: usize,
    /// Elements that could not be identified: one [`RecordKind::Unreadable`] record each.
    pub malformed_elements: usize,
}

impl IngestPlan {
    pub fn count(&self, kind: RecordKind) -> usize {
        self.records.iter().filter(|r| r.kind == kind).count()
    }
}

/// The largest `raw` an unreadable record keeps (a DynamoDB item holds 400 KB): a larger one
/// is left to the journal object, which the record names (and its sort key says where in it).
pub const UNREADABLE_RAW_MAX_BYTES: usize = 256 * 1024;

/// Everything planning needs besides the notification.
pub struct PlanContext<'a> {
    pub received_at: i64,
    pub retention: RetentionPolicy,
    pub hasher: &'a ContactHasher,
    pub journal_key: &'a str,
    pub body_sha256_hex: &'a str,
    /// Days an inbound media id stays downloadable (`MEDIA_DEADLINE_DAYS`).
    pub media_deadline_days: u32,
    /// Everyone the body mentions, in any field ([`crate::contact::mentions`]), hashed: one
    /// journal link per person.
    pub people: &'a HashedPeople,
}

/// Where an element sits in a body: `<entry>.<change>.<array>.<index>`, `-` where a level does
/// not apply (an unreadable entry has no change; a field that is not a list has no index).
#[derive(Debug, Clone, Copy)]
struct Position {
    entry: Option<usize>,
    change: Option<usize>,
    array: &'static str,
    index: Option<usize>,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |f: &mut std::fmt::Formatter<'_>, at: Option<usize>| match at {
            Some(at) => write!(f, "{at}"),
            None => f.write_str("-"),
        };
        part(f, self.entry)?;
        f.write_str(".")?;
        part(f, self.change)?;
        write!(f, ".{}.", self.array)?;
        part(f, self.index)
    }
}

/// Turns every `entry[] x changes[] x value.{messages,statuses,errors}[]` into records. Each
/// element is read on its own and leniently: a drifted field never costs an element, and one
/// that cannot be identified becomes an [`RecordKind::Unreadable`] record of its own.
pub fn plan(notification: &Notification, ctx: &PlanContext<'_>) -> IngestPlan {
    let mut plan = IngestPlan::default();
    let mut contacts = ContactHashes::new(ctx.hasher);
    let body = notification.body;
    for (entry_index, entry) in notification.entry.iter().enumerate() {
        let base = RecordBase {
            ctx,
            waba_id: entry.id.as_deref(),
            metadata: None,
        };
        if entry.unreadable {
            let raw = raw_entry(body, entry_index).map_or("", RawValue::get);
            plan.records.push(base.unreadable(
                Position {
                    entry: None,
                    change: None,
                    array: "entry",
                    index: Some(entry_index),
                },
                raw,
            ));
            continue;
        }
        for (change_index, change) in entry.changes.iter().enumerate() {
            let at = |array: &'static str, index: Option<usize>| Position {
                entry: Some(entry_index),
                change: Some(change_index),
                array,
                index,
            };
            if change.unreadable {
                let raw = raw_change(body, entry_index, change_index).map_or("", RawValue::get);
                plan.records.push(base.unreadable(
                    Position {
                        entry: Some(entry_index),
                        change: None,
                        array: "changes",
                        index: Some(change_index),
                    },
                    raw,
                ));
                continue;
            }
            let raw_value = match (&change.field, &change.value) {
                (Some(field), Some(value)) if field == "messages" => value.get(),
                _ => {
                    plan.unhandled_changes += 1;
                    continue;
                }
            };
            let Some(value) = parse_messages_value(raw_value) else {
                plan.records
                    .push(base.unreadable(at("value", None), raw_value));
                continue;
            };
            let base = RecordBase {
                metadata: value.metadata.as_ref(),
                ..base
            };
            for (array, elements) in [
                ("messages", &value.messages),
                ("statuses", &value.statuses),
                ("errors", &value.errors),
            ] {
                if elements.not_a_list {
                    let raw = raw_field(raw_value, array).map_or("", RawValue::get);
                    plan.records.push(base.unreadable(at(array, None), raw));
                }
            }
            for (index, raw) in value.messages.iter().enumerate() {
                let view = parse_message_view(raw.get());
                let Some((message, id)) =
                    view.as_ref().and_then(|m| m.message_id().map(|id| (m, id)))
                else {
                    let mut record = base.unreadable(at("messages", Some(index)), raw.get());
                    if let Some(message) = &view {
                        contacts
                            .hashes(
                                &value.contacts,
                                message.from.as_deref(),
                                message.from_user_id.as_deref(),
                                message.from_parent_user_id.as_deref(),
                            )
                            .apply(&mut record);
                    }
                    plan.records.push(record);
                    continue;
                };
                let person = contacts.hashes(
                    &value.contacts,
                    message.from.as_deref(),
                    message.from_user_id.as_deref(),
                    message.from_parent_user_id.as_deref(),
                );
                let media = message.media().map(|(kind, media, media_id)| MediaRef {
                    media_id: media_id.to_owned(),
                    kind: kind.as_str(),
                    mime_type: media.mime_type.as_deref().map(str::to_owned),
                    declared_sha256: media.sha256.as_deref().map(str::to_owned),
                    deadline: crate::media::media_deadline(
                        ctx.received_at,
                        ctx.media_deadline_days,
                    ),
                });
                let mut record = base.record(
                    ctx.hasher.record_key(RecordIdKind::Message, id),
                    "message".to_owned(),
                    RecordKind::Message,
                    raw.get(),
                );
                person.apply(&mut record);
                record.message_type = Some(message.type_name().to_owned());
                record.error_code = message.errors.first().and_then(|e| e.code);
                record.media = media;
                plan.records.push(record);
            }
            for (index, raw) in value.statuses.iter().enumerate() {
                let view = parse_status_view(raw.get());
                let Some((status, (id, state))) =
                    view.as_ref().and_then(|s| s.key().map(|key| (s, key)))
                else {
                    let mut record = base.unreadable(at("statuses", Some(index)), raw.get());
                    if let Some(status) = &view {
                        contacts
                            .hashes(
                                &value.contacts,
                                status.recipient_id.as_deref(),
                                status.recipient_user_id.as_deref(),
                                status.recipient_parent_user_id.as_deref(),
                            )
                            .apply(&mut record);
                    }
                    plan.records.push(record);
                    continue;
                };
                let person = contacts.hashes(
                    &value.contacts,
                    status.recipient_id.as_deref(),
                    status.recipient_user_id.as_deref(),
                    status.recipient_parent_user_id.as_deref(),
                );
                // The message's id: a status shares its message's partition.
                let mut record = base.record(
                    ctx.hasher.record_key(RecordIdKind::Message, id),
                    format!("status#{state}"),
                    RecordKind::Status,
                    raw.get(),
                );
                person.apply(&mut record);
                record.error_code = status.errors.first().and_then(|e| e.code);
                record.status = Some(state.to_owned());
                plan.records.push(record);
            }
            for (error_index, raw) in value.errors.iter().enumerate() {
                // Value-level errors have no id of their own: derive one from the body and the
                // position, so a redelivery of the same body maps to the same item.
                let id = format!(
                    "error.{}.{entry_index}.{change_index}.{error_index}",
                    digest(ctx)
                );
                let mut record = base.record(
                    ctx.hasher.record_key(RecordIdKind::Error, &id),
                    "error".to_owned(),
                    RecordKind::Error,
                    raw.get(),
                );
                record.error_code = crate::lenient::is_object(raw.get())
                    .then(|| serde_json::from_str::<ErrorCodeView>(raw.get()).ok())
                    .flatten()
                    .and_then(|e| e.code);
                plan.records.push(record);
            }
        }
    }
    plan.malformed_elements = plan.count(RecordKind::Unreadable);
    // The account and number of the first record read (as before unreadable records existed),
    // else of any.
    let (waba_id, phone_number_id) = plan
        .records
        .iter()
        .find(|r| r.kind != RecordKind::Unreadable)
        .or(plan.records.first())
        .map(|r| (r.waba_id.clone(), r.phone_number_id.clone()))
        .unwrap_or_default();
    let links = journal_links(
        &JournalItems {
            received_at: ctx.received_at,
            retention: ctx.retention,
            hasher: ctx.hasher,
            journal_key: ctx.journal_key,
            body_sha256_hex: ctx.body_sha256_hex,
            waba_id,
            phone_number_id,
        },
        ctx.people,
    );
    plan.records.extend(links);
    plan
}

/// The first 32 hex of the body's digest, as synthetic ids carry it.
fn digest<'c>(ctx: &'c PlanContext<'_>) -> &'c str {
    &ctx.body_sha256_hex[..ctx.body_sha256_hex.len().min(32)]
}

/// What the items about a journal object (its links, its body item) are made of.
pub struct JournalItems<'a> {
    pub received_at: i64,
    pub retention: RetentionPolicy,
    pub hasher: &'a ContactHasher,
    pub journal_key: &'a str,
    pub body_sha256_hex: &'a str,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
}

impl JournalItems<'_> {
    fn item(&self, sk: String, kind: RecordKind) -> Record {
        Record {
            pk: journal_link_id(self.body_sha256_hex),
            sk,
            kind,
            received_at: self.received_at,
            expires_at: self.retention.expires_at(self.received_at),
            journal_key: self.journal_key.to_owned(),
            waba_id: self.waba_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
            contact_wa_hash: None,
            contact_user_hash: None,
            contact_parent_hash: None,
            contact_aliases: Vec::new(),
            message_type: None,
            status: None,
            error_code: None,
            raw: String::new(),
            media: None,
        }
    }

    /// The item that puts a journal object on the retention clock when nothing else points at it.
    pub fn body_item(&self) -> Record {
        self.item("body".to_owned(), RecordKind::JournalBody)
    }
}

/// One [`RecordKind::JournalLink`] per person the body mentions, in any field, so erasure and
/// export find the body from any id of theirs. A link carries one id of each kind in the index
/// attributes; a person with two ids of one kind (an old and a new number) gets a link per
/// extra id, each listing all the person's ids in `contact_aliases`.
pub fn journal_links(items: &JournalItems<'_>, people: &HashedPeople) -> Vec<Record> {
    let mut links = Vec::new();
    for hashes in &people.people {
        let of_kind = |kind: ContactIdKind| -> Vec<&str> {
            hashes
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, h)| h.as_str())
                .collect()
        };
        let (wa, user, parent) = (
            of_kind(ContactIdKind::WaId),
            of_kind(ContactIdKind::UserId),
            of_kind(ContactIdKind::ParentUserId),
        );
        let rows = wa.len().max(user.len()).max(parent.len());
        let aliases: Vec<String> = if rows > 1 {
            hashes
                .iter()
                .map(|(kind, hash)| alias(*kind, hash))
                .collect()
        } else {
            Vec::new()
        };
        for row in 0..rows {
            let (wa, user, parent) = (wa.get(row), user.get(row), parent.get(row));
            let Some(first) = wa.or(user).or(parent) else {
                continue;
            };
            let mut link = items.item(
                format!(
                    "contact#{}",
                    items.hasher.record_key(RecordIdKind::ContactLink, first)
                ),
                RecordKind::JournalLink,
            );
            link.contact_wa_hash = wa.map(|h| (*h).to_owned());
            link.contact_user_hash = user.map(|h| (*h).to_owned());
            link.contact_parent_hash = parent.map(|h| (*h).to_owned());
            link.contact_aliases = aliases.clone();
            links.push(link);
        }
    }
    links
}

/// The partition key of a body's journal links.
pub fn journal_link_id(body_sha256_hex: &str) -> String {
    format!(
        "journal.{}",
        &body_sha256_hex[..body_sha256_hex.len().min(32)]
    )
}

#[derive(Clone, Copy)]
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
            contact_parent_hash: None,
            contact_aliases: Vec::new(),
            message_type: None,
            status: None,
            error_code: None,
            raw: raw.to_owned(),
            media: None,
        }
    }

    /// The record of an element that could not be identified, keyed by its position in the body
    /// (a redelivery of the same bytes maps to the same item), holding it as sent.
    fn unreadable(&self, at: Position, raw: &str) -> Record {
        let id = format!("unreadable.{}.{at}", digest(self.ctx));
        let raw = if raw.len() <= UNREADABLE_RAW_MAX_BYTES {
            raw
        } else {
            ""
        };
        self.record(
            self.ctx.hasher.record_key(RecordIdKind::Unreadable, &id),
            format!("unreadable#{at}"),
            RecordKind::Unreadable,
            raw,
        )
    }
}

/// Contact hashes for one plan, memoised: a batch often carries many elements of one contact.
struct ContactHashes<'h> {
    hasher: &'h ContactHasher,
    /// Hashes by id, one map per id kind (so lookups borrow the id instead of allocating).
    memo: [HashMap<String, String>; 3],
}

/// The contact hashes of one element's person.
struct PersonHashes {
    wa: Option<String>,
    user: Option<String>,
    parent: Option<String>,
}

impl PersonHashes {
    fn apply(self, record: &mut Record) {
        record.contact_wa_hash = self.wa;
        record.contact_user_hash = self.user;
        record.contact_parent_hash = self.parent;
    }
}

impl<'h> ContactHashes<'h> {
    fn new(hasher: &'h ContactHasher) -> Self {
        Self {
            hasher,
            memo: [HashMap::new(), HashMap::new(), HashMap::new()],
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

    /// Hashes of the contact's `wa_id`, user id and parent user id, completing the missing ones
    /// from the `contacts[]` entry of the ids the element names.
    fn hashes(
        &mut self,
        contacts: &[Contact<'_>],
        wa_id: Option<&str>,
        user_id: Option<&str>,
        parent_user_id: Option<&str>,
    ) -> PersonHashes {
        let (wa_id, user_id) = (
            wa_id.filter(|id| !id.is_empty()),
            user_id.filter(|id| !id.is_empty()),
        );
        let listed = contacts.iter().find(|c| {
            (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
                || (user_id.is_some() && c.user_id.as_deref() == user_id)
        });
        let wa_id = wa_id.or_else(|| listed.and_then(|c| c.wa_id.as_deref()));
        let user_id = user_id.or_else(|| listed.and_then(|c| c.user_id.as_deref()));
        let parent_user_id = parent_user_id
            .filter(|id| !id.is_empty())
            .or_else(|| listed.and_then(|c| c.parent_user_id.as_deref()));
        PersonHashes {
            wa: wa_id.and_then(|id| self.hash(ContactIdKind::WaId, id)),
            user: user_id.and_then(|id| self.hash(ContactIdKind::UserId, id)),
            parent: parent_user_id.and_then(|id| self.hash(ContactIdKind::ParentUserId, id)),
        }
    }
}
