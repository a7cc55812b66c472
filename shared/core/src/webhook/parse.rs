//! Parsing a verified body. A body that is not a WhatsApp notification is not an error for the
//! caller to bounce: it is journaled and acknowledged, so the parser only says what it is.

use super::model::{Message, MessagesValue, Notification, Status};
use super::view::{MessageView, StatusView};

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
    let notification: Notification<'_> =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
    if notification.object != WHATSAPP_OBJECT {
        return Err(ParseError::UnexpectedObject);
    }
    Ok(notification)
}

/// Parses a `messages` change value; its array elements stay raw.
pub fn parse_messages_value(raw: &str) -> Option<MessagesValue<'_>> {
    serde_json::from_str(raw).ok()
}

/// The planning view of one raw `messages[]` element; `None` when it lacks even an id.
pub fn parse_message_view(raw: &str) -> Option<MessageView<'_>> {
    serde_json::from_str(raw).ok()
}

/// The planning view of one raw `statuses[]` element; `None` without id or status.
pub fn parse_status_view(raw: &str) -> Option<StatusView<'_>> {
    serde_json::from_str(raw).ok()
}

/// The full typed model of one raw `messages[]` element (records keep the raw JSON; this reads it).
pub fn parse_message(raw: &str) -> Option<Message> {
    serde_json::from_str(raw).ok()
}

/// The full typed model of one raw `statuses[]` element.
pub fn parse_status(raw: &str) -> Option<Status> {
    serde_json::from_str(raw).ok()
}
