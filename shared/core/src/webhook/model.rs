//! Serde model of WhatsApp Cloud API webhook payloads (`object: whatsapp_business_account`).
//!
//! Every documented message type has a typed field; anything we do not know (a new type, a new
//! field) is not an error: unknown fields are ignored by the typed view and the message's raw JSON
//! is kept beside it, so nothing Meta sent is lost. Optional everywhere Meta has been seen to omit
//! a field (e.g. `from` after the business-scoped user id rollout, `url` on media).

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The envelope Meta POSTs, borrowing from the body.
#[derive(Debug, Deserialize)]
pub struct Notification<'a> {
    #[serde(borrow)]
    pub object: Cow<'a, str>,
    #[serde(default, borrow)]
    pub entry: Vec<Entry<'a>>,
}

/// One WhatsApp Business Account's changes.
#[derive(Debug, Deserialize)]
pub struct Entry<'a> {
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub changes: Vec<Change<'a>>,
}

/// One change; `value` is parsed according to `field` (only `messages` is modelled, other fields
/// are kept in the journal).
#[derive(Debug, Deserialize)]
pub struct Change<'a> {
    #[serde(default, borrow)]
    pub field: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub value: Option<&'a RawValue>,
}

/// `value` of a `messages` change. Array elements stay raw until planned so that each one can be
/// stored verbatim and a malformed element cannot hide its siblings.
#[derive(Debug, Deserialize)]
pub struct MessagesValue<'a> {
    #[serde(default, borrow)]
    pub messaging_product: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub metadata: Option<Metadata<'a>>,
    #[serde(default, borrow)]
    pub contacts: Vec<Contact<'a>>,
    #[serde(default, borrow)]
    pub messages: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    pub statuses: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    pub errors: Vec<&'a RawValue>,
}

/// The business phone number the change is about.
#[derive(Debug, Deserialize, Clone)]
pub struct Metadata<'a> {
    #[serde(default, borrow)]
    pub display_phone_number: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub phone_number_id: Option<Cow<'a, str>>,
}

/// A WhatsApp user in `contacts[]` (the profile name is left in the journal and never parsed).
#[derive(Debug, Deserialize, Clone)]
pub struct Contact<'a> {
    #[serde(default, borrow)]
    pub wa_id: Option<Cow<'a, str>>,
    /// Business-scoped user id (from 2026-03-31).
    #[serde(default, borrow)]
    pub user_id: Option<Cow<'a, str>>,
    /// Parent BSUID, when Meta enables it for linked portfolios.
    #[serde(default, borrow)]
    pub parent_user_id: Option<Cow<'a, str>>,
}

/// An inbound message. The object named by `type` carries the content.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    /// Unix seconds as a string; informational only (never used as a TTL).
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub context: Option<Context>,
    #[serde(default)]
    pub referral: Option<Referral>,
    #[serde(default)]
    pub errors: Vec<GraphErrorDetail>,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
    #[serde(default)]
    pub document: Option<Media>,
    #[serde(default)]
    pub sticker: Option<Media>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub contacts: Option<Vec<SharedContact>>,
    #[serde(default)]
    pub interactive: Option<Interactive>,
    #[serde(default)]
    pub button: Option<Button>,
    #[serde(default)]
    pub reaction: Option<Reaction>,
    #[serde(default)]
    pub order: Option<Order>,
    #[serde(default)]
    pub system: Option<System>,
    #[serde(default)]
    pub edit: Option<Edit>,
    #[serde(default)]
    pub revoke: Option<Revoke>,
}

/// Reply / forward information.
#[derive(Debug, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub forwarded: Option<bool>,
    #[serde(default)]
    pub frequently_forwarded: Option<bool>,
}

/// Click-to-WhatsApp ad referral.
#[derive(Debug, Deserialize)]
pub struct Referral {
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub ctwa_clid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    #[serde(default)]
    pub body: Option<String>,
}

/// Image, audio (incl. voice notes), video, document and sticker share this shape.
#[derive(Debug, Deserialize, Clone)]
pub struct Media {
    pub id: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Meta's digest of the file: base64 in webhooks, hex in some media-URL answers.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    /// User-controlled text: never used in keys or logs.
    #[serde(default)]
    pub filename: Option<String>,
    /// Audio: true for voice notes.
    #[serde(default)]
    pub voice: Option<bool>,
    /// Sticker: true for animated stickers.
    #[serde(default)]
    pub animated: Option<bool>,
    /// Rolled out since 2025-11; may be absent and still needs the bearer token.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A contact card shared in a `contacts` message (vCard-like; kept raw beyond the name).
#[derive(Debug, Deserialize)]
pub struct SharedContact {
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub phones: Option<serde_json::Value>,
}

/// Replies to interactive messages.
#[derive(Debug, Deserialize)]
pub struct Interactive {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub button_reply: Option<IdTitle>,
    #[serde(default)]
    pub list_reply: Option<IdTitle>,
    #[serde(default)]
    pub nfm_reply: Option<NfmReply>,
}

#[derive(Debug, Deserialize)]
pub struct IdTitle {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// WhatsApp Flows reply; `response_json` is a JSON document encoded as a string.
#[derive(Debug, Deserialize)]
pub struct NfmReply {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub response_json: Option<String>,
}

/// Quick-reply button press on a template.
#[derive(Debug, Deserialize)]
pub struct Button {
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// No `emoji` means the reaction was removed.
#[derive(Debug, Deserialize)]
pub struct Reaction {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    #[serde(default)]
    pub catalog_id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub product_items: Vec<ProductItem>,
}

#[derive(Debug, Deserialize)]
pub struct ProductItem {
    #[serde(default)]
    pub product_retailer_id: Option<String>,
    #[serde(default)]
    pub quantity: Option<serde_json::Value>,
    #[serde(default)]
    pub item_price: Option<serde_json::Value>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// System notices (e.g. the user changed number).
#[derive(Debug, Deserialize)]
pub struct System {
    #[serde(default)]
    pub body: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub new_wa_id: Option<String>,
}

/// A user edited an earlier message; `message` holds the new content.
#[derive(Debug, Deserialize)]
pub struct Edit {
    #[serde(default)]
    pub original_message_id: Option<String>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
}

/// A user deleted an earlier message.
#[derive(Debug, Deserialize)]
pub struct Revoke {
    #[serde(default)]
    pub original_message_id: Option<String>,
}

/// A Graph error object as it appears inside webhooks (`errors[]`).
#[derive(Debug, Deserialize, Clone)]
pub struct GraphErrorDetail {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Delivery status of a message the business sent.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub errors: Vec<GraphErrorDetail>,
}

/// What a message is, borrowed from the typed fields. `Other` covers `unsupported`, `unknown`,
/// `request_welcome` and any type Meta adds later: they are stored, never rejected.
#[derive(Debug)]
pub enum Content<'a> {
    Text(&'a Text),
    Media(MediaKind, &'a Media),
    Location(&'a Location),
    Contacts(&'a [SharedContact]),
    Interactive(&'a Interactive),
    Button(&'a Button),
    Reaction(&'a Reaction),
    Order(&'a Order),
    System(&'a System),
    Edit(&'a Edit),
    Revoke(&'a Revoke),
    Other(&'a str),
}

/// The media message types whose file wavault archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }
}

impl Message {
    /// The declared type, `"unknown"` when Meta sent none.
    pub fn type_name(&self) -> &str {
        self.kind.as_deref().unwrap_or("unknown")
    }

    /// The content matching the declared `type`. A type whose object is missing is `Other`.
    pub fn content(&self) -> Content<'_> {
        let typed = match self.type_name() {
            "text" => self.text.as_ref().map(Content::Text),
            "image" => self
                .image
                .as_ref()
                .map(|m| Content::Media(MediaKind::Image, m)),
            "audio" => self
                .audio
                .as_ref()
                .map(|m| Content::Media(MediaKind::Audio, m)),
            "video" => self
                .video
                .as_ref()
                .map(|m| Content::Media(MediaKind::Video, m)),
            "document" => self
                .document
                .as_ref()
                .map(|m| Content::Media(MediaKind::Document, m)),
            "sticker" => self
                .sticker
                .as_ref()
                .map(|m| Content::Media(MediaKind::Sticker, m)),
            "location" => self.location.as_ref().map(Content::Location),
            "contacts" => self.contacts.as_deref().map(Content::Contacts),
            "interactive" => self.interactive.as_ref().map(Content::Interactive),
            "button" => self.button.as_ref().map(Content::Button),
            "reaction" => self.reaction.as_ref().map(Content::Reaction),
            "order" => self.order.as_ref().map(Content::Order),
            "system" => self.system.as_ref().map(Content::System),
            "edit" => self.edit.as_ref().map(Content::Edit),
            "revoke" => self.revoke.as_ref().map(Content::Revoke),
            _ => None,
        };
        typed.unwrap_or_else(|| Content::Other(self.type_name()))
    }

    /// The media object of an image, audio, video, document or sticker message.
    pub fn media(&self) -> Option<(MediaKind, &Media)> {
        match self.content() {
            Content::Media(kind, media) => Some((kind, media)),
            _ => None,
        }
    }
}
