//! The item vocabulary of the records table: keys, kinds, media states, the journal's key scheme,
//! and the typed item ([`item`]) every adapter reads and writes. Nothing here knows DynamoDB; the
//! adapters' codec maps these to attribute values.

pub mod item;

pub use item::*;

use crate::media::MediaJob;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kinds of item a webhook produces (the `kind` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Message,
    Status,
    Error,
    /// "This journal object holds data of this contact": one per contact and webhook body, so an
    /// erasure finds every journal object of a contact (a redelivery may arrive in another body
    /// than the one a record points to). Key `journal.<body digest>` + `contact#<hash>`.
    JournalLink,
    /// "This journal object exists": written for a body that made no record and no link (an
    /// account update, a body that did not parse and names no one), so the retention clock finds
    /// its journal object like any other. Key `journal.<body digest>` + `body`.
    JournalBody,
    /// An element that could not be identified (not an object, no readable id, a message without
    /// `id`, a status without `id` or `status`), kept as sent beside its readable siblings, so it
    /// is counted, alarmed and found again. Key: the keyed hash of `unreadable.<body digest>.
    /// <entry>.<change>.<array>.<index>` + `unreadable#<entry>.<change>.<array>.<index>`.
    Unreadable,
}

impl RecordKind {
    /// The item kind a record of this kind is stored as.
    pub const fn item_kind(self) -> ItemKind {
        match self {
            RecordKind::Message => ItemKind::Message,
            RecordKind::Status => ItemKind::Status,
            RecordKind::Error => ItemKind::Error,
            RecordKind::JournalLink => ItemKind::JournalLink,
            RecordKind::JournalBody => ItemKind::JournalBody,
            RecordKind::Unreadable => ItemKind::Unreadable,
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.item_kind().as_str()
    }
}

/// Where a media file is in its life (`media_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStatus {
    Pending,
    Archived,
    Failed,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Pending => "pending",
            MediaStatus::Archived => "archived",
            MediaStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(MediaStatus::Pending),
            "archived" => Some(MediaStatus::Archived),
            "failed" => Some(MediaStatus::Failed),
            _ => None,
        }
    }
}

/// The media part of a media message record, as first written (`pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    pub media_id: String,
    /// image | audio | video | document | sticker
    pub kind: &'static str,
    pub mime_type: Option<String>,
    /// Meta's declared digest, as Meta sent it (base64 or hex).
    pub declared_sha256: Option<String>,
    /// Epoch seconds after which Meta no longer serves the media id.
    pub deadline: i64,
}

/// One item of the records table.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Partition key: the keyed hash of the element's id ([`crate::contact::ContactHasher::record_key`]:
    /// the message id, or a value-level error's or an unreadable element's synthetic
    /// `error.<digest>...` / `unreadable.<digest>...` id), never the id itself
    /// (a wamid embeds the contact's phone number; it stays inside `raw`). Journal links:
    /// `journal.<body digest>`.
    pub pk: String,
    /// Sort key: `message`, `status#<status>`, `error` or `unreadable#<position>`.
    pub sk: String,
    pub kind: RecordKind,
    pub received_at: i64,
    pub expires_at: i64,
    /// The journal object holding the webhook this record came from.
    pub journal_key: String,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub contact_wa_hash: Option<String>,
    pub contact_user_hash: Option<String>,
    pub contact_parent_hash: Option<String>,
    /// Journal links: the other ids of the link's person (`<kind>:<hash>`).
    pub contact_aliases: Vec<String>,
    /// Message type (`type`), for message items.
    pub message_type: Option<String>,
    /// Delivery status, for status items.
    pub status: Option<String>,
    /// Graph error code, for error items and failed statuses.
    pub error_code: Option<i64>,
    /// The element exactly as Meta sent it (keeps unknown types and fields); for an unreadable
    /// element, empty when it is too large for an item (the journal object holds it).
    pub raw: String,
    pub media: Option<MediaRef>,
}

impl Record {
    /// The media job for a media message, `None` for other records.
    pub fn media_job(&self) -> Option<MediaJob> {
        let media = self.media.as_ref()?;
        Some(MediaJob {
            record: self.pk.clone(),
            media_id: media.media_id.clone(),
            media_kind: media.kind.to_owned(),
            mime_type: media.mime_type.clone(),
            sha256: media.declared_sha256.clone(),
            phone_number_id: self.phone_number_id.clone(),
            received_at: self.received_at,
        })
    }
}

/// The content-addressed journal key of a body: a redelivery of the same bytes maps to the same
/// object. Bodies that do not parse live under `journal/unparsed/` so they can be found and
/// replayed after a fix.
pub fn journal_key(body_sha256_hex: &str, parsed: bool) -> String {
    if parsed {
        format!("journal/{body_sha256_hex}.json")
    } else {
        format!("journal/unparsed/{body_sha256_hex}.json")
    }
}

/// The body digest a journal key names (`journal/<sha256>.json`, `journal/unparsed/<sha256>.json`);
/// `None` for any other key.
pub fn journal_digest(key: &str) -> Option<&str> {
    let name = key
        .strip_prefix("journal/unparsed/")
        .or_else(|| key.strip_prefix("journal/"))?;
    let digest = name.strip_suffix(".json")?;
    (digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(digest)
}

/// Lowercase hex SHA-256 of a body.
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The key of a records-table item (`pk` + `sk`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemKey {
    /// The partition key (see [`Record::pk`]).
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    /// The key of a message's record under its partition key `pk` (its sort key is the kind's
    /// name).
    pub fn message(pk: &str) -> Self {
        Self {
            pk: pk.to_owned(),
            sk: RecordKind::Message.as_str().to_owned(),
        }
    }

    /// Which of `count` shards the item falls in (FNV-1a over `pk`, a separator and `sk`): the
    /// partition keys are hashes already, so any fixed mix spreads them evenly. Readers query
    /// every shard, so only `count` matters to them, never this function.
    pub fn shard(&self, count: u32) -> u32 {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in self.pk.bytes().chain([0]).chain(self.sk.bytes()) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        hash % count.max(1)
    }
}

/// The audit's and the logs' stand-in for an item key: a truncated SHA-256 of it, enough to
/// correlate entries (and lines of different functions), not to look the item up.
pub fn hashed_key(key: &ItemKey) -> String {
    let digest = Sha256::new()
        .chain_update(key.pk.as_bytes())
        .chain_update([0u8])
        .chain_update(key.sk.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}
