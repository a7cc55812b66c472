//! Parsing a verified body. A body that is not a WhatsApp notification is not an error for the
//! caller to bounce: it is journaled and acknowledged, so the parser only says what it is.

use super::model::{Message, MessagesValue, Notification, Status};

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

/// Parses the envelope; array elements inside `messages` changes stay raw (see [`MessagesValue`]).
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let notification: Notification =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
    if notification.object != WHATSAPP_OBJECT {
        return Err(ParseError::UnexpectedObject);
    }
    Ok(notification)
}

/// Parses a `messages` change value borrowed from the notification.
pub fn parse_messages_value(raw: &str) -> Option<MessagesValue<'_>> {
    serde_json::from_str(raw).ok()
}

/// Parses one raw `messages[]` element; `None` when it lacks even an id.
pub fn parse_message(raw: &str) -> Option<Message> {
    serde_json::from_str(raw).ok()
}

/// Parses one raw `statuses[]` element; `None` when it lacks its id or status.
pub fn parse_status(raw: &str) -> Option<Status> {
    serde_json::from_str(raw).ok()
}
