//! The typed model of a records-table item: every attribute the table layout documents
//! (docs/data.md "Records") is a field here, so its name and type are given once. The adapters'
//! codec turns this into DynamoDB attribute values and back (puts, gets, query results, delete
//! returns, stream images); erasure, export and retention read it instead of a map of names.

use super::{ItemKey, MediaStatus, Record, RecordKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The attribute names expressions must spell (conditions, key conditions, updates,
/// projections). Each is the serialized name of a [`StoredItem`] field; a unit test checks that
/// this list and the fields agree.
pub mod attributes {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const KIND: &str = "kind";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const EXPIRY_SLOT: &str = "expiry_slot";
    pub const RECEIVED_AT: &str = "received_at";
    pub const JOURNAL_KEY: &str = "journal_key";
    pub const WABA_ID: &str = "waba_id";
    pub const PHONE_NUMBER_ID: &str = "phone_number_id";
    pub const CONTACT_WA_HASH: &str = "contact_wa_hash";
    pub const CONTACT_USER_HASH: &str = "contact_user_hash";
    pub const CONTACT_PARENT_HASH: &str = "contact_parent_hash";
    pub const CONTACT_ALIASES: &str = "contact_aliases";
    pub const RAW: &str = "raw";
    pub const TYPE: &str = "type";
    pub const STATUS: &str = "status";
    pub const ERROR_CODE: &str = "error_code";
    pub const MEDIA_ID: &str = "media_id";
    pub const MEDIA_KIND: &str = "media_kind";
    pub const MEDIA_MIME_TYPE: &str = "media_mime_type";
    pub const MEDIA_DECLARED_SHA256: &str = "media_declared_sha256";
    pub const MEDIA_STATUS: &str = "media_status";
    pub const MEDIA_DEADLINE: &str = "media_deadline";
    pub const PENDING_SHARD: &str = "pending_shard";
    pub const MEDIA_KEY: &str = "media_key";
    pub const MEDIA_SHA256: &str = "media_sha256";
    pub const MEDIA_BYTES: &str = "media_bytes";
    pub const ARCHIVED_AT: &str = "archived_at";
    pub const MEDIA_ERROR: &str = "media_error";
    pub const FAILED_AT: &str = "failed_at";
    pub const MEDIA_NEXT_ATTEMPT_AT: &str = "media_next_attempt_at";
    pub const MEDIA_VERIFIED: &str = "media_verified";
    pub const ERASED_AT: &str = "erased_at";
    pub const NEXT_HOUR: &str = "next_hour";

    /// Every attribute above, in the order of [`super::StoredItem`]'s fields.
    pub const ALL: &[&str] = &[
        PK,
        SK,
        KIND,
        EXPIRES_AT,
        EXPIRY_SLOT,
        RECEIVED_AT,
        JOURNAL_KEY,
        WABA_ID,
        PHONE_NUMBER_ID,
        CONTACT_WA_HASH,
        CONTACT_USER_HASH,
        CONTACT_PARENT_HASH,
        CONTACT_ALIASES,
        RAW,
        TYPE,
        STATUS,
        ERROR_CODE,
        MEDIA_ID,
        MEDIA_KIND,
        MEDIA_MIME_TYPE,
        MEDIA_DECLARED_SHA256,
        MEDIA_STATUS,
        MEDIA_DEADLINE,
        PENDING_SHARD,
        MEDIA_KEY,
        MEDIA_SHA256,
        MEDIA_BYTES,
        ARCHIVED_AT,
        MEDIA_ERROR,
        FAILED_AT,
        MEDIA_NEXT_ATTEMPT_AT,
        MEDIA_VERIFIED,
        ERASED_AT,
        NEXT_HOUR,
    ];
}

/// What an item is (its `kind` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Message,
    Status,
    Error,
    /// See [`RecordKind::JournalLink`].
    JournalLink,
    /// See [`RecordKind::JournalBody`].
    JournalBody,
    /// See [`RecordKind::Unreadable`].
    Unreadable,
    /// What an erasure leaves per id of the contact ([`crate::contact::ErasureMarker`]).
    ErasedContact,
    /// The tombstone an erasure leaves in place of a record: the webhook's conditional puts then
    /// cannot recreate it from a redelivery, and the media fetcher treats it as a record gone.
    Erased,
    /// The retention sweep's checkpoint (no `expires_at`: neither TTL nor the sweep removes it).
    Checkpoint,
}

impl ItemKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemKind::Message => "message",
            ItemKind::Status => "status",
            ItemKind::Error => "error",
            ItemKind::JournalLink => "journal-link",
            ItemKind::JournalBody => "journal-body",
            ItemKind::Unreadable => "unreadable",
            ItemKind::ErasedContact => "erased-contact",
            ItemKind::Erased => "erased",
            ItemKind::Checkpoint => "checkpoint",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            ItemKind::Message,
            ItemKind::Status,
            ItemKind::Error,
            ItemKind::JournalLink,
            ItemKind::JournalBody,
            ItemKind::Unreadable,
            ItemKind::ErasedContact,
            ItemKind::Erased,
            ItemKind::Checkpoint,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

impl From<RecordKind> for ItemKind {
    fn from(kind: RecordKind) -> Self {
        kind.item_kind()
    }
}

/// Stored as its name ([`ItemKind::as_str`]), so the name is spelled once.
impl Serialize for ItemKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ItemKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        ItemKind::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown item kind {name:?}")))
    }
}

/// Stored as its name ([`MediaStatus::as_str`]).
impl Serialize for MediaStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MediaStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        MediaStatus::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown media status {name:?}")))
    }
}

/// One item of the records table as stored. Only the key is always there: which attributes an
/// item holds depends on its kind (and on the projection it was read with). An absent attribute
/// is `None` and is not written, which keeps the sparse indexes sparse.
///
/// Reading is lenient, as the adapters always were: an attribute of another type than its field
/// (or an empty string) reads as absent, and a number stored as a numeric string reads as that
/// number, so one odd attribute never makes an item unreadable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredItem {
    /// `pk` (partition) and `sk` (sort).
    #[serde(flatten)]
    pub key: ItemKey,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::kind"
    )]
    pub kind: Option<ItemKind>,
    /// Epoch seconds, a Number: the table's TTL attribute.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub expires_at: Option<i64>,
    /// `<expires_at / 3600>#<shard>`: the partition key of the `by-expiry-hour` index, sharded
    /// so one hour's writes spread over [`crate::retention::EXPIRY_SHARDS`] index partitions.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub expiry_slot: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub received_at: Option<i64>,
    /// The journal object holding the webhook this item came from.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub journal_key: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub waba_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub phone_number_id: Option<String>,
    /// Key of the sparse `by-contact-wa` index.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub contact_wa_hash: Option<String>,
    /// Key of the sparse `by-contact-user` index.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub contact_user_hash: Option<String>,
    /// Key of the sparse `by-contact-parent` index (parent BSUID).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub contact_parent_hash: Option<String>,
    /// Journal links: every other id of the link's person in that body, `<kind>:<hash>`
    /// ([`crate::contact::alias`]), so one id of a person leads to the others (old and new
    /// numbers, BSUIDs).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::texts"
    )]
    pub contact_aliases: Option<Vec<String>>,
    /// The element exactly as Meta sent it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub raw: Option<String>,
    /// Message type (`type`), for messages.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub message_type: Option<String>,
    /// Delivery status, for statuses.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub status: Option<String>,
    /// Graph error code, for errors and failed statuses.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub error_code: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_kind: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_mime_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_declared_sha256: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::media_status"
    )]
    pub media_status: Option<MediaStatus>,
    /// When Meta stops serving the media id (range key of the `media-pending` index).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub media_deadline: Option<i64>,
    /// Present only while pending (or dead-lettered, `dlq#N`; archived unverified, `unverified#N`): key of the
    /// sparse `media-pending` index.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub pending_shard: Option<String>,
    /// Where the archived file is.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_key: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_sha256: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub media_bytes: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub archived_at: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text"
    )]
    pub media_error: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub failed_at: Option<i64>,
    /// While pending: when the job's next delivery is expected at the latest (epoch seconds; absent
    /// = `received_at`). The fetcher moves it to the end of a retry's backoff, the media sweep to
    /// the moment it re-enqueues; the sweep re-enqueues only a job whose expected delivery is
    /// older than its stale window, so a job queued or backing off is never enqueued twice.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub media_next_attempt_at: Option<i64>,
    /// Archived media: whether the bytes matched a digest Meta declared (`false`: Meta declared
    /// none that decodes; `media_sha256` is then the digest of what was downloaded).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::boolean"
    )]
    pub media_verified: Option<bool>,
    /// Tombstones: when the record was erased.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub erased_at: Option<i64>,
    /// The sweep's checkpoint: the first expiry hour the next sweep reads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::number"
    )]
    pub next_hour: Option<i64>,
}

impl StoredItem {
    /// The tombstone left in place of an erased record or link: its key, `kind = erased`, when,
    /// and the original expiry, so TTL and the retention sweep still remove it; no contact hash,
    /// no content.
    pub fn tombstone(key: ItemKey, erased_at: i64, expires_at: Option<i64>) -> Self {
        Self {
            expiry_slot: expires_at
                .map(|at| crate::retention::ExpirySlot::of(&key, at).to_string()),
            key,
            kind: Some(ItemKind::Erased),
            erased_at: Some(erased_at),
            expires_at,
            ..Self::default()
        }
    }

    /// The retention sweep's checkpoint item.
    pub fn checkpoint(key: ItemKey, next_hour: i64) -> Self {
        Self {
            key,
            kind: Some(ItemKind::Checkpoint),
            next_hour: Some(next_hour),
            ..Self::default()
        }
    }

    pub fn is_tombstone(&self) -> bool {
        self.kind == Some(ItemKind::Erased)
    }

    pub fn is_journal_link(&self) -> bool {
        self.kind == Some(ItemKind::JournalLink)
    }

    /// Past its expiry at `now` (TTL deletes late; reads must not wait for it).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Neither a tombstone nor expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        !self.is_tombstone() && !self.is_expired(now)
    }
}

/// The item a webhook record is first written as (media `pending`, in the `media-pending` index).
impl From<&Record> for StoredItem {
    fn from(record: &Record) -> Self {
        let text = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let media = record.media.as_ref();
        let key = ItemKey {
            pk: record.pk.clone(),
            sk: record.sk.clone(),
        };
        Self {
            expiry_slot: Some(
                crate::retention::ExpirySlot::of(&key, record.expires_at).to_string(),
            ),
            key,
            kind: Some(record.kind.into()),
            expires_at: Some(record.expires_at),
            received_at: Some(record.received_at),
            journal_key: Some(record.journal_key.clone()),
            waba_id: text(&record.waba_id),
            phone_number_id: text(&record.phone_number_id),
            contact_wa_hash: text(&record.contact_wa_hash),
            contact_user_hash: text(&record.contact_user_hash),
            contact_parent_hash: text(&record.contact_parent_hash),
            contact_aliases: Some(record.contact_aliases.clone()).filter(|a| !a.is_empty()),
            raw: Some(record.raw.clone()).filter(|raw| !raw.is_empty()),
            message_type: text(&record.message_type),
            status: text(&record.status),
            error_code: record.error_code,
            media_id: media.map(|m| m.media_id.clone()),
            media_kind: media.map(|m| m.kind.to_owned()),
            media_mime_type: media.and_then(|m| text(&m.mime_type)),
            media_declared_sha256: media.and_then(|m| text(&m.declared_sha256)),
            media_status: media.map(|_| MediaStatus::Pending),
            media_deadline: media.map(|m| m.deadline),
            pending_shard: media.map(|_| crate::media::pending_shard(&record.pk)),
            ..Self::default()
        }
    }
}

/// Field deserializers that read an attribute of an unexpected type as absent instead of failing
/// the whole item: the crate's [`crate::lenient`] readers, with an empty string read as absent.
mod lenient {
    use super::{ItemKind, MediaStatus};
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    pub use crate::lenient::{boolean, number};

    /// A non-empty string.
    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(crate::lenient::owned_text(deserializer)?.filter(|text| !text.is_empty()))
    }

    /// A list of non-empty strings (a list or a string set); anything else reads as absent.
    pub fn texts<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<String>>, D::Error> {
        struct Texts;
        impl<'de> Visitor<'de> for Texts {
            type Value = Option<Vec<String>>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of strings")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut texts = Vec::new();
                while let Some(item) = seq.next_element_seed(TextSeed)? {
                    texts.extend(item);
                }
                Ok(Some(texts).filter(|t| !t.is_empty()))
            }

            fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
                inner.deserialize_any(self)
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        struct TextSeed;
        impl<'de> de::DeserializeSeed<'de> for TextSeed {
            type Value = Option<String>;
            fn deserialize<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
                text(inner)
            }
        }
        deserializer.deserialize_any(Texts)
    }

    pub fn kind<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ItemKind>, D::Error> {
        Ok(text(deserializer)?.as_deref().and_then(ItemKind::parse))
    }

    pub fn media_status<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<MediaStatus>, D::Error> {
        Ok(text(deserializer)?.as_deref().and_then(MediaStatus::parse))
    }
}

#[cfg(test)]
#[path = "tests/item.rs"]
mod tests;
