//! Lean, borrowing views of message and status elements: only what planning needs (ids, type,
//! contact, media reference, error code). Everything else stays in the element's raw JSON, so the
//! hot path allocates nothing for text, captions or names. The full typed model is in
//! [`super::model`].
//!
//! Every field is read leniently ([`super::lenient`]): one of another type than documented is
//! absent, so a drifted field never costs the element. Even the identifying fields are optional
//! here; the planner decides: a message needs its `id`, a status its `id` and `status`, and an
//! element without them is kept as an unreadable item (with the sender or recipient read here).

use crate::lenient;
use serde::Deserialize;
use std::borrow::Cow;

/// What planning reads of a `messages[]` element.
#[derive(Debug, Deserialize)]
pub struct MessageView<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub from: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub from_user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub from_parent_user_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow, deserialize_with = "lenient::text")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<ErrorCodeView>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub image: Option<MediaView<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub audio: Option<MediaView<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub video: Option<MediaView<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub document: Option<MediaView<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub sticker: Option<MediaView<'a>>,
}

/// The archive-relevant part of a media object (never the filename or caption).
#[derive(Debug, Deserialize)]
pub struct MediaView<'a> {
    /// A string, or a number written as one (Graph's media ids are decimal numbers).
    #[serde(default, borrow, deserialize_with = "lenient::id")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub mime_type: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub sha256: Option<Cow<'a, str>>,
}

/// The code of a Graph error object.
#[derive(Debug, Deserialize)]
pub struct ErrorCodeView {
    #[serde(default, deserialize_with = "lenient::number")]
    pub code: Option<i64>,
}

/// What planning reads of a `statuses[]` element.
#[derive(Debug, Deserialize)]
pub struct StatusView<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub status: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub recipient_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub recipient_user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub recipient_parent_user_id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<ErrorCodeView>,
}

/// A non-empty id.
fn present<'s>(value: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl<'a> MessageView<'a> {
    /// The message id, when there is one to key the record by.
    pub fn message_id(&self) -> Option<&str> {
        present(&self.id)
    }

    /// The declared type, `"unknown"` when Meta sent none (or none readable).
    pub fn type_name(&self) -> &str {
        self.kind.as_deref().unwrap_or("unknown")
    }

    /// The media object matching the declared type, for the five archived media types, with its
    /// id (a media object without a readable id names nothing to fetch).
    pub fn media(&self) -> Option<(super::MediaKind, &MediaView<'a>, &str)> {
        use super::MediaKind;
        let (kind, media) = match self.type_name() {
            "image" => (MediaKind::Image, &self.image),
            "audio" => (MediaKind::Audio, &self.audio),
            "video" => (MediaKind::Video, &self.video),
            "document" => (MediaKind::Document, &self.document),
            "sticker" => (MediaKind::Sticker, &self.sticker),
            _ => return None,
        };
        let media = media.as_ref()?;
        Some((kind, media, present(&media.id)?))
    }
}

impl StatusView<'_> {
    /// `(id, status)`, when both are there to key the record by.
    pub fn key(&self) -> Option<(&str, &str)> {
        Some((present(&self.id)?, present(&self.status)?))
    }
}
