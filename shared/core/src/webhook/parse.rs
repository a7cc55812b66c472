//! Parsing a verified body. A body that is not a WhatsApp notification is not an error for the
//! caller to bounce: it is journaled and acknowledged, so the parser only says what it is. Inside
//! a notification every level is read leniently and each element on its own
//! ([`super::lenient`]): what cannot be read is said so (`None`, `unreadable`), never an error of
//! the body.

use super::model::{Message, MessagesValue, Notification, Status};
use super::view::{MessageView, StatusView};
use crate::lenient::is_object;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The object type of WhatsApp Business Account notifications.
pub const WHATSAPP_OBJECT: &str = "whatsapp_business_account";

/// Why a body could not be read as a WhatsApp notification. Never carries body text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not a JSON notification (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("notification object is not whatsapp_business_account")]
    UnexpectedObject,
}

/// Parses the envelope, borrowing from the body; `changes[].value` stays raw until planned.
pub fn parse_notification(body: &[u8]) -> Result<Notification<'_>, ParseError> {
    let mut notification: Notification<'_> =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
    if notification.object != WHATSAPP_OBJECT {
        return Err(ParseError::UnexpectedObject);
    }
    notification.body = body;
    Ok(notification)
}

/// Parses a `messages` change value; its array elements stay raw. `None` when the value is not an
/// object (or not readable at all, e.g. a field given twice).
pub fn parse_messages_value(raw: &str) -> Option<MessagesValue<'_>> {
    if !is_object(raw) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// The planning view of one raw `messages[]` element; `None` when it is not an object. Whether it
/// has an id is the planner's question ([`MessageView::message_id`]).
pub fn parse_message_view(raw: &str) -> Option<MessageView<'_>> {
    if !is_object(raw) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// The planning view of one raw `statuses[]` element; `None` when it is not an object.
pub fn parse_status_view(raw: &str) -> Option<StatusView<'_>> {
    if !is_object(raw) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// The full typed model of one raw `messages[]` element (records keep the raw JSON; this reads
/// it); `None` without a string `id`.
pub fn parse_message(raw: &str) -> Option<Message> {
    if !is_object(raw) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// The full typed model of one raw `statuses[]` element; `None` without a string `id` and
/// `status`.
pub fn parse_status(raw: &str) -> Option<Status> {
    if !is_object(raw) {
        return None;
    }
    serde_json::from_str(raw).ok()
}

/// The raw text of `entry[entry]` of a body, as sent (to keep an entry that could not be read).
pub fn raw_entry(body: &[u8], entry: usize) -> Option<&RawValue> {
    #[derive(Deserialize)]
    struct Entries<'a> {
        #[serde(borrow)]
        entry: Vec<&'a RawValue>,
    }
    serde_json::from_slice::<Entries<'_>>(body)
        .ok()?
        .entry
        .get(entry)
        .copied()
}

/// The raw text of `entry[entry].changes[change]` of a body, as sent.
pub fn raw_change(body: &[u8], entry: usize, change: usize) -> Option<&RawValue> {
    #[derive(Deserialize)]
    struct Changes<'a> {
        #[serde(borrow)]
        changes: Vec<&'a RawValue>,
    }
    serde_json::from_str::<Changes<'_>>(raw_entry(body, entry)?.get())
        .ok()?
        .changes
        .get(change)
        .copied()
}

/// The raw text of one field of an object, as sent (to keep a `messages`, `statuses` or `errors`
/// field that is not a list).
pub fn raw_field<'a>(object: &'a str, field: &str) -> Option<&'a RawValue> {
    serde_json::from_str::<std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue>>(object)
        .ok()?
        .get(field)
        .copied()
}
