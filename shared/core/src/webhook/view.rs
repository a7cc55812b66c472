//! Lean, borrowing views of message and status elements: only what planning needs (ids, type,
//! contact, media reference, error code). Everything else stays in the element's raw JSON, so the
//! hot path allocates nothing for text, captions or names. The full typed model is in
//! [`super::model`].

use serde::Deserialize;
use std::borrow::Cow;

/// What planning reads of a `messages[]` element.
#[derive(Debug, Deserialize)]
pub struct MessageView<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub from: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub from_user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub from_parent_user_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub errors: Vec<ErrorCodeView>,
    #[serde(default, borrow)]
    pub image: Option<MediaView<'a>>,
    #[serde(default, borrow)]
    pub audio: Option<MediaView<'a>>,
    #[serde(default, borrow)]
    pub video: Option<MediaView<'a>>,
    #[serde(default, borrow)]
    pub document: Option<MediaView<'a>>,
    #[serde(default, borrow)]
    pub sticker: Option<MediaView<'a>>,
}

/// The archive-relevant part of a media object (never the filename or caption).
#[derive(Debug, Deserialize)]
pub struct MediaView<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub mime_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub sha256: Option<Cow<'a, str>>,
}

/// The code of a Graph error object.
#[derive(Debug, Deserialize)]
pub struct ErrorCodeView {
    #[serde(default)]
    pub code: Option<i64>,
}

/// What planning reads of a `statuses[]` element.
#[derive(Debug, Deserialize)]
pub struct StatusView<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(default, borrow)]
    pub recipient_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub recipient_user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub recipient_parent_user_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub errors: Vec<ErrorCodeView>,
}

impl<'a> MessageView<'a> {
    /// The declared type, `"unknown"` when Meta sent none.
    pub fn type_name(&self) -> &str {
        self.kind.as_deref().unwrap_or("unknown")
    }

    /// The media object matching the declared type, for the five archived media types.
    pub fn media(&self) -> Option<(super::MediaKind, &MediaView<'a>)> {
        use super::MediaKind;
        let (kind, media) = match self.type_name() {
            "image" => (MediaKind::Image, &self.image),
            "audio" => (MediaKind::Audio, &self.audio),
            "video" => (MediaKind::Video, &self.video),
            "document" => (MediaKind::Document, &self.document),
            "sticker" => (MediaKind::Sticker, &self.sticker),
            _ => return None,
        };
        media.as_ref().map(|m| (kind, m))
    }
}
