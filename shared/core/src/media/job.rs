//! The message put on the media queue: ids and metadata only, never a token or user text.

use serde::{Deserialize, Serialize};

/// One media file to archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaJob {
    pub wamid: String,
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
    /// How log lines name the job's record: a wamid embeds the contact's phone number, so logs carry the same
    /// truncated hash of the record key the retention audit uses (lines of both correlate), never the wamid.
    pub fn record_log_id(&self) -> String {
        crate::records::hashed_key(&crate::records::ItemKey {
            wamid: self.wamid.clone(),
            sk: crate::records::RecordKind::Message.as_str().to_owned(),
        })
    }
}
