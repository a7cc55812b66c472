//! The message put on the media queue: the record's key and the media's ids and metadata only,
//! never a wamid (it embeds the contact's phone number), a token or user text.

use serde::{Deserialize, Serialize};

/// One media file to archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaJob {
    /// The partition key of the message's record (a keyed hash of its wamid): the fetcher finds
    /// the record by it without the contact-hash key.
    pub record: String,
    /// Meta's media id, which the fetcher asks Graph for (digits; no personal data).
    pub media_id: String,
    /// image | audio | video | document | sticker
    pub media_kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Meta's declared digest (base64 or hex, as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// When the webhook reached us (epoch seconds); the media deadline counts from here.
    pub received_at: i64,
}

impl MediaJob {
    /// The key of the job's record.
    pub fn item_key(&self) -> crate::records::ItemKey {
        crate::records::ItemKey::message(&self.record)
    }

    /// How log lines name the job's record: the same truncated hash of the record key the
    /// retention audit uses (lines of both correlate), never the key itself or a media id.
    pub fn record_log_id(&self) -> String {
        crate::records::hashed_key(&self.item_key())
    }
}
