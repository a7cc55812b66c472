//! Serde model of WhatsApp Cloud API webhook payloads (`object: whatsapp_business_account`).
//!
//! Every documented message type has a typed field; anything we do not know (a new type, a new
//! field) is not an error: unknown fields are ignored by the typed view and the message's raw JSON
//! is kept beside it, so nothing Meta sent is lost. Optional everywhere Meta has been seen to omit
//! a field (e.g. `from` after the business-scoped user id rollout, `url` on media), and lenient
//! everywhere ([`super::lenient`]): a field of another type than documented (a number where a
//! string was, a string where an object was) reads as absent instead of failing its element. Only
//! what identifies an element is required: a message's `id`, a status's `id` and `status`.

use crate::lenient::{self, Elements, Listed};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The envelope Meta POSTs, borrowing from the body. Only `object` and a list `entry` are required
/// (without them the body is not a notification); below that everything is read leniently, each
/// element on its own ([`super::lenient`]).
#[derive(Debug, Deserialize)]
pub struct Notification<'a> {
    #[serde(borrow)]
    pub object: Cow<'a, str>,
    #[serde(default, borrow)]
    pub entry: Vec<Entry<'a>>,
    /// The body it was read from ([`super::parse_notification`] sets it): where the raw text of
    /// an entry or change that could not be read is found again.
    #[serde(skip)]
    pub body: &'a [u8],
}

/// One WhatsApp Business Account's changes.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    /// The account id (a string, or a number written as one).
    pub id: Option<Cow<'a, str>>,
    pub changes: Vec<Change<'a>>,
    /// Not an object, its `changes` is not a list, or it gives `id` or `changes` twice: nothing in
    /// it can be told apart, so the planner keeps it whole as one unreadable item.
    pub unreadable: bool,
}

#[derive(Deserialize)]
struct EntryFields<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::id")]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    changes: Listed<Change<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Entry<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(
            match lenient::object_once::<D, EntryFields<'a>>(deserializer, &["id", "changes"])? {
                Some(fields) => Entry {
                    id: fields.id,
                    unreadable: fields.changes.not_a_list,
                    changes: fields.changes.items,
                },
                None => Entry {
                    unreadable: true,
                    ..Entry::default()
                },
            },
        )
    }
}

/// One change; `value` is parsed according to `field` (only `messages` is modelled, other fields
/// are kept in the journal).
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub field: Option<Cow<'a, str>>,
    pub value: Option<&'a RawValue>,
    /// Not an object, a `field` that is not a string, or `field` or `value` given twice (what the
    /// change is cannot be told): the planner keeps it as one unreadable item.
    pub unreadable: bool,
}

#[derive(Deserialize)]
struct ChangeFields<'a> {
    /// `Some(None)`: present, but not a string.
    #[serde(default, borrow, deserialize_with = "present_text")]
    field: Option<Option<Cow<'a, str>>>,
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
}

fn present_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<Cow<'de, str>>>, D::Error> {
    lenient::text(deserializer).map(Some)
}

impl<'de: 'a, 'a> Deserialize<'de> for Change<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(
            match lenient::object_once::<D, ChangeFields<'a>>(deserializer, &["field", "value"])? {
                Some(ChangeFields {
                    field: Some(None), ..
                })
                | None => Change {
                    unreadable: true,
                    ..Change::default()
                },
                Some(ChangeFields { field, value }) => Change {
                    field: field.flatten(),
                    value,
                    unreadable: false,
                },
            },
        )
    }
}

/// `value` of a `messages` change. Array elements stay raw until planned so that each one is read
/// on its own and stored verbatim: a malformed element cannot hide its siblings. `metadata` and
/// each `contacts[]` entry are read leniently: a drifted field is absent, never a failure.
#[derive(Debug, Default, Deserialize)]
pub struct MessagesValue<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub messaging_product: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient::object")]
    pub metadata: Option<Metadata<'a>>,
    /// The objects of `contacts[]` (anything else in it is skipped).
    #[serde(default, borrow, deserialize_with = "lenient::list")]
    pub contacts: Vec<Contact<'a>>,
    #[serde(default, borrow)]
    pub messages: Elements<'a>,
    #[serde(default, borrow)]
    pub statuses: Elements<'a>,
    #[serde(default, borrow)]
    pub errors: Elements<'a>,
}

/// The business phone number the change is about.
#[derive(Debug, Deserialize, Clone)]
pub struct Metadata<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub display_phone_number: Option<Cow<'a, str>>,
    /// A string, or a number written as one.
    #[serde(default, borrow, deserialize_with = "lenient::id")]
    pub phone_number_id: Option<Cow<'a, str>>,
}

/// A WhatsApp user in `contacts[]` (the profile is left in the journal and never parsed). Ids that
/// are not strings are absent, as in [`crate::contact::mentions`].
#[derive(Debug, Deserialize, Clone)]
pub struct Contact<'a> {
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub wa_id: Option<Cow<'a, str>>,
    /// Business-scoped user id (from 2026-03-31).
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub user_id: Option<Cow<'a, str>>,
    /// Parent BSUID, when Meta enables it for linked portfolios.
    #[serde(default, borrow, deserialize_with = "lenient::text")]
    pub parent_user_id: Option<Cow<'a, str>>,
}

/// An inbound message. The object named by `type` carries the content.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub from_user_id: Option<String>,
    /// Unix seconds as a string; informational only (never used as a TTL).
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub timestamp: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::owned_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub context: Option<Context>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub referral: Option<Referral>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<GraphErrorDetail>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub text: Option<Text>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub image: Option<Media>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub audio: Option<Media>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub video: Option<Media>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub document: Option<Media>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub sticker: Option<Media>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub location: Option<Location>,
    #[serde(default, deserialize_with = "lenient::optional_list")]
    pub contacts: Option<Vec<SharedContact>>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub interactive: Option<Interactive>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub button: Option<Button>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub reaction: Option<Reaction>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub order: Option<Order>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub system: Option<System>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub edit: Option<Edit>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub revoke: Option<Revoke>,
}

/// Reply / forward information.
#[derive(Debug, Deserialize)]
pub struct Context {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub forwarded: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub frequently_forwarded: Option<bool>,
}

/// Click-to-WhatsApp ad referral.
#[derive(Debug, Deserialize)]
pub struct Referral {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub source_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub source_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub source_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub headline: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub ctwa_clid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Text {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub body: Option<String>,
}

/// Image, audio (incl. voice notes), video, document and sticker share this shape.
#[derive(Debug, Deserialize, Clone)]
pub struct Media {
    /// The media id (a string, or a number written as one); absent when Meta sent none readable.
    #[serde(default, deserialize_with = "lenient::owned_id")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub mime_type: Option<String>,
    /// Meta's digest of the file: base64 in webhooks, hex in some media-URL answers.
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub caption: Option<String>,
    /// User-controlled text: never used in keys or logs.
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub filename: Option<String>,
    /// Audio: true for voice notes.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub voice: Option<bool>,
    /// Sticker: true for animated stickers.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub animated: Option<bool>,
    /// Rolled out since 2025-11; may be absent and still needs the bearer token.
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    #[serde(default, deserialize_with = "lenient::float")]
    pub latitude: Option<f64>,
    #[serde(default, deserialize_with = "lenient::float")]
    pub longitude: Option<f64>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
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
    #[serde(rename = "type", default, deserialize_with = "lenient::owned_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub button_reply: Option<IdTitle>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub list_reply: Option<IdTitle>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub nfm_reply: Option<NfmReply>,
}

#[derive(Debug, Deserialize)]
pub struct IdTitle {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub description: Option<String>,
}

/// WhatsApp Flows reply; `response_json` is a JSON document encoded as a string.
#[derive(Debug, Deserialize)]
pub struct NfmReply {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub response_json: Option<String>,
}

/// Quick-reply button press on a template.
#[derive(Debug, Deserialize)]
pub struct Button {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub payload: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub text: Option<String>,
}

/// No `emoji` means the reaction was removed.
#[derive(Debug, Deserialize)]
pub struct Reaction {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub message_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub catalog_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub product_items: Vec<ProductItem>,
}

#[derive(Debug, Deserialize)]
pub struct ProductItem {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub product_retailer_id: Option<String>,
    #[serde(default)]
    pub quantity: Option<serde_json::Value>,
    #[serde(default)]
    pub item_price: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub currency: Option<String>,
}

/// System notices (e.g. the user changed number).
#[derive(Debug, Deserialize)]
pub struct System {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub body: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::owned_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub new_wa_id: Option<String>,
}

/// A user edited an earlier message; `message` holds the new content.
#[derive(Debug, Deserialize)]
pub struct Edit {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub original_message_id: Option<String>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
}

/// A user deleted an earlier message.
#[derive(Debug, Deserialize)]
pub struct Revoke {
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub original_message_id: Option<String>,
}

/// A Graph error object as it appears inside webhooks (`errors[]`).
#[derive(Debug, Deserialize, Clone)]
pub struct GraphErrorDetail {
    #[serde(default, deserialize_with = "lenient::number")]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub message: Option<String>,
}

/// Delivery status of a message the business sent.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub timestamp: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub recipient_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::owned_text")]
    pub recipient_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
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
